//! Statistics and guest information returned by the domain information calls
//! (`virDomainBlockStats`, `virDomainMemoryStats`, `virConnectGetAllDomainStats`,
//! `virDomainGetGuestInfo`, ...): typed parameters (`virTypedParameter`) and the
//! fixed-layout structs, with libvirt's field names and enum numbers.

use crate::types::DomainRef;

pub use crate::typedparam::{TypedParam, TypedValue};

/// Builder of a typed-parameter list in insertion order (libvirt's `virTypedParamList`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypedParamList(pub Vec<TypedParam>);

impl TypedParamList {
    /// Add an `int`.
    pub fn int(&mut self, field: impl Into<String>, v: i32) {
        self.0.push(TypedParam::new(field, TypedValue::Int(v)));
    }
    /// Add an `unsigned int`.
    pub fn uint(&mut self, field: impl Into<String>, v: u32) {
        self.0.push(TypedParam::new(field, TypedValue::UInt(v)));
    }
    /// Add a `long long`.
    pub fn llong(&mut self, field: impl Into<String>, v: i64) {
        self.0.push(TypedParam::new(field, TypedValue::LLong(v)));
    }
    /// Add an `unsigned long long`.
    pub fn ullong(&mut self, field: impl Into<String>, v: u64) {
        self.0.push(TypedParam::new(field, TypedValue::ULLong(v)));
    }
    /// Add a boolean.
    pub fn boolean(&mut self, field: impl Into<String>, v: bool) {
        self.0.push(TypedParam::new(field, TypedValue::Boolean(v)));
    }
    /// Add a string.
    pub fn string(&mut self, field: impl Into<String>, v: impl Into<String>) {
        self.0.push(TypedParam::new(field, TypedValue::String(v.into())));
    }
}

/// `virDomainBlockStatsStruct` (-1: not supported by the hypervisor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockStats {
    /// Read requests.
    pub rd_req: i64,
    /// Bytes read.
    pub rd_bytes: i64,
    /// Write requests.
    pub wr_req: i64,
    /// Bytes written.
    pub wr_bytes: i64,
    /// Errors.
    pub errs: i64,
}

/// `virDomainInterfaceStatsStruct` (-1: not supported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InterfaceStats {
    /// Bytes received.
    pub rx_bytes: i64,
    /// Packets received.
    pub rx_packets: i64,
    /// Receive errors.
    pub rx_errs: i64,
    /// Received packets dropped.
    pub rx_drop: i64,
    /// Bytes sent.
    pub tx_bytes: i64,
    /// Packets sent.
    pub tx_packets: i64,
    /// Send errors.
    pub tx_errs: i64,
    /// Sent packets dropped.
    pub tx_drop: i64,
}

/// `virDomainMemoryStatTags`.
pub mod memstat {
    /// `VIR_DOMAIN_MEMORY_STAT_SWAP_IN` (KiB).
    pub const SWAP_IN: i32 = 0;
    /// `VIR_DOMAIN_MEMORY_STAT_SWAP_OUT` (KiB).
    pub const SWAP_OUT: i32 = 1;
    /// `VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT`.
    pub const MAJOR_FAULT: i32 = 2;
    /// `VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT`.
    pub const MINOR_FAULT: i32 = 3;
    /// `VIR_DOMAIN_MEMORY_STAT_UNUSED` (KiB).
    pub const UNUSED: i32 = 4;
    /// `VIR_DOMAIN_MEMORY_STAT_AVAILABLE` (KiB).
    pub const AVAILABLE: i32 = 5;
    /// `VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON` (KiB).
    pub const ACTUAL_BALLOON: i32 = 6;
    /// `VIR_DOMAIN_MEMORY_STAT_RSS` (KiB).
    pub const RSS: i32 = 7;
    /// `VIR_DOMAIN_MEMORY_STAT_USABLE` (KiB).
    pub const USABLE: i32 = 8;
    /// `VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE` (seconds since the epoch).
    pub const LAST_UPDATE: i32 = 9;
    /// `VIR_DOMAIN_MEMORY_STAT_DISK_CACHES` (KiB).
    pub const DISK_CACHES: i32 = 10;
    /// `VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGALLOC`.
    pub const HUGETLB_PGALLOC: i32 = 11;
    /// `VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGFAIL`.
    pub const HUGETLB_PGFAIL: i32 = 12;
    /// `VIR_DOMAIN_MEMORY_STAT_NR`: the number of tags.
    pub const NR: u32 = 13;
}

/// One `virDomainMemoryStatStruct`: a [`memstat`] tag and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStat {
    /// [`memstat`] tag.
    pub tag: i32,
    /// Value.
    pub val: u64,
}

/// `virDomainBlockInfo`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockInfo {
    /// Logical size as the guest sees it.
    pub capacity: u64,
    /// Highest allocated extent / bytes in use on the host.
    pub allocation: u64,
    /// Physical size of the container on the host.
    pub physical: u64,
}

/// `virVcpuInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VcpuInfo {
    /// Virtual CPU number.
    pub number: u32,
    /// `virVcpuState`: 0 offline, 1 running, 2 blocked.
    pub state: i32,
    /// CPU time used, nanoseconds.
    pub cpu_time: u64,
    /// Host CPU it runs on (-1 when offline).
    pub cpu: i32,
}

/// `virVcpuState` running.
pub const VCPU_RUNNING: i32 = 1;

/// `virDomainInterfaceAddressesSource`.
pub mod ifaddr_source {
    /// `VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE`.
    pub const LEASE: u32 = 0;
    /// `VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT`.
    pub const AGENT: u32 = 1;
    /// `VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP`.
    pub const ARP: u32 = 2;
}

/// `virIPAddrType` IPv4.
pub const IP_ADDR_TYPE_IPV4: i32 = 0;
/// `virIPAddrType` IPv6.
pub const IP_ADDR_TYPE_IPV6: i32 = 1;

/// `virDomainIPAddress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAddress {
    /// [`IP_ADDR_TYPE_IPV4`] or [`IP_ADDR_TYPE_IPV6`].
    pub typ: i32,
    /// The address.
    pub addr: String,
    /// Prefix length.
    pub prefix: u32,
}

/// `virDomainInterface`: a guest interface and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInterface {
    /// Interface name in the guest (or host-side name for lease/arp).
    pub name: String,
    /// Hardware address.
    pub hwaddr: Option<String>,
    /// Addresses.
    pub addrs: Vec<IpAddress>,
}

/// One `virDomainStatsRecord`: a domain and its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainStatsRecord {
    /// The domain.
    pub dom: DomainRef,
    /// Its statistics, in libvirt's order (`state.state`, `cpu.time`, ...).
    pub params: Vec<TypedParam>,
}

/// `virDomainStatsTypes` bits (`virConnectGetAllDomainStats`).
pub mod stats_types {
    /// `VIR_DOMAIN_STATS_STATE`.
    pub const STATE: u32 = 1 << 0;
    /// `VIR_DOMAIN_STATS_CPU_TOTAL`.
    pub const CPU_TOTAL: u32 = 1 << 1;
    /// `VIR_DOMAIN_STATS_BALLOON`.
    pub const BALLOON: u32 = 1 << 2;
    /// `VIR_DOMAIN_STATS_VCPU`.
    pub const VCPU: u32 = 1 << 3;
    /// `VIR_DOMAIN_STATS_INTERFACE`.
    pub const INTERFACE: u32 = 1 << 4;
    /// `VIR_DOMAIN_STATS_BLOCK`.
    pub const BLOCK: u32 = 1 << 5;
    /// `VIR_DOMAIN_STATS_PERF`.
    pub const PERF: u32 = 1 << 6;
    /// `VIR_DOMAIN_STATS_IOTHREAD`.
    pub const IOTHREAD: u32 = 1 << 7;
    /// `VIR_DOMAIN_STATS_MEMORY`.
    pub const MEMORY: u32 = 1 << 8;
    /// `VIR_DOMAIN_STATS_DIRTYRATE`.
    pub const DIRTYRATE: u32 = 1 << 9;
    /// `VIR_DOMAIN_STATS_VM`.
    pub const VM: u32 = 1 << 10;
}

/// `virConnectGetAllDomainStatsFlags` bits.
pub mod stats_flags {
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE`.
    pub const ACTIVE: u32 = 1 << 0;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE`.
    pub const INACTIVE: u32 = 1 << 1;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT`.
    pub const PERSISTENT: u32 = 1 << 2;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT`.
    pub const TRANSIENT: u32 = 1 << 3;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING`.
    pub const RUNNING: u32 = 1 << 4;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED`.
    pub const PAUSED: u32 = 1 << 5;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF`.
    pub const SHUTOFF: u32 = 1 << 6;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER`.
    pub const OTHER: u32 = 1 << 7;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT`.
    pub const NOWAIT: u32 = 1 << 29;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING`.
    pub const BACKING: u32 = 1 << 30;
    /// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS`.
    pub const ENFORCE_STATS: u32 = 1 << 31;
}

/// `virDomainGuestInfoTypes` bits (`virDomainGetGuestInfo`).
pub mod guest_info_types {
    /// `VIR_DOMAIN_GUEST_INFO_USERS`.
    pub const USERS: u32 = 1 << 0;
    /// `VIR_DOMAIN_GUEST_INFO_OS`.
    pub const OS: u32 = 1 << 1;
    /// `VIR_DOMAIN_GUEST_INFO_TIMEZONE`.
    pub const TIMEZONE: u32 = 1 << 2;
    /// `VIR_DOMAIN_GUEST_INFO_HOSTNAME`.
    pub const HOSTNAME: u32 = 1 << 3;
    /// `VIR_DOMAIN_GUEST_INFO_FILESYSTEM`.
    pub const FILESYSTEM: u32 = 1 << 4;
    /// `VIR_DOMAIN_GUEST_INFO_DISKS`.
    pub const DISKS: u32 = 1 << 5;
    /// `VIR_DOMAIN_GUEST_INFO_INTERFACES`.
    pub const INTERFACES: u32 = 1 << 6;
}

/// `virDomainControlInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlInfo {
    /// `virDomainControlState`: 0 ok, 1 job, 2 occupied, 3 error.
    pub state: u32,
    /// `virDomainControlErrorReason` when `state` is error.
    pub details: u32,
    /// Milliseconds in this state.
    pub state_time: u64,
}

/// `virDomainJobInfo` (type `VIR_DOMAIN_JOB_NONE` = 0 and zeros when idle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobInfo {
    /// `virDomainJobType`.
    pub typ: i32,
    /// Milliseconds since the job started.
    pub time_elapsed: u64,
    /// Milliseconds expected to remain.
    pub time_remaining: u64,
    /// Data to process, bytes.
    pub data_total: u64,
    /// Data processed.
    pub data_processed: u64,
    /// Data remaining.
    pub data_remaining: u64,
    /// Memory to process.
    pub mem_total: u64,
    /// Memory processed.
    pub mem_processed: u64,
    /// Memory remaining.
    pub mem_remaining: u64,
    /// File data to process.
    pub file_total: u64,
    /// File data processed.
    pub file_processed: u64,
    /// File data remaining.
    pub file_remaining: u64,
}

/// `virDomainDiskError`: a disk target and its `virDomainDiskErrorCode`
/// (1 unspecified, 2 no space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskError {
    /// Disk target (`vda`).
    pub disk: String,
    /// Error code.
    pub error: i32,
}

/// `virDomainFSInfo`: a mounted guest file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    /// Mount point.
    pub mountpoint: String,
    /// Device name in the guest.
    pub name: String,
    /// File system type.
    pub fstype: String,
    /// Disk targets it lives on.
    pub dev_aliases: Vec<String>,
}
