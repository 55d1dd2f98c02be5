//! Plain data returned by the API: object references, states, info structs and the
//! libvirt enum numbers they carry.

use oxvirt_util::uuid::Uuid;

/// Identity of a domain as it crosses the API and the wire (`remote_nonnull_domain`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainRef {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
    /// Id when running, -1 otherwise.
    pub id: i32,
}

/// Identity of a network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkRef {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
}

/// Identity of a storage pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoragePoolRef {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
}

/// Identity of a storage volume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageVolRef {
    /// Name of the pool holding it.
    pub pool: String,
    /// Volume name.
    pub name: String,
    /// Unique key (usually the path).
    pub key: String,
}

/// Identity of a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef {
    /// UUID.
    pub uuid: Uuid,
    /// `VIR_SECRET_USAGE_TYPE_*`.
    pub usage_type: i32,
    /// Usage id (volume path, ceph name, ...).
    pub usage_id: String,
}

/// Identity of a network filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NWFilterRef {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
}

/// Identity of a host interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceRef {
    /// Name.
    pub name: String,
    /// MAC address string.
    pub mac: String,
}

/// Identity of a node device.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeDeviceRef {
    /// Name.
    pub name: String,
}

/// Identity of a domain snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnapshotRef {
    /// Owning domain.
    pub domain: DomainRef,
    /// Snapshot name.
    pub name: String,
}

macro_rules! int_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:expr => $s:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $name { $($(#[$vm])* $v = $n),* }
        impl $name {
            /// Number as in libvirt's headers.
            pub fn as_i32(self) -> i32 { self as i32 }
            /// From libvirt's number.
            pub fn from_i32(v: i32) -> Option<Self> { match v { $($n => Some(Self::$v),)* _ => None } }
            /// The word virsh prints for it.
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
        }
    };
}

int_enum!(
    /// `virDomainState`.
    DomainState {
        /// no state
        NoState = 0 => "no state",
        /// running
        Running = 1 => "running",
        /// blocked on resource
        Blocked = 2 => "idle",
        /// paused by user
        Paused = 3 => "paused",
        /// being shut down
        Shutdown = 4 => "in shutdown",
        /// shut off
        Shutoff = 5 => "shut off",
        /// crashed
        Crashed = 6 => "crashed",
        /// suspended by guest power management
        PmSuspended = 7 => "pmsuspended",
    }
);

/// The reason word virsh prints for a (state, reason) pair (`virshDomainStateReasonToString`).
pub fn state_reason_str(state: DomainState, reason: i32) -> &'static str {
    use DomainState as S;
    let table: &[&str] = match state {
        S::NoState => &["unknown"],
        S::Running => &[
            "unknown",
            "booted",
            "migrated",
            "restored",
            "from snapshot",
            "unpaused",
            "migration canceled",
            "save canceled",
            "event wakeup",
            "crashed",
            "post-copy",
        ],
        S::Blocked => &["unknown"],
        S::Paused => &[
            "unknown",
            "user",
            "migrating",
            "saving",
            "dumping",
            "I/O error",
            "watchdog",
            "from snapshot",
            "shutting down",
            "creating snapshot",
            "crashed",
            "starting up",
            "post-copy",
            "post-copy failed",
        ],
        S::Shutdown => &["unknown", "user"],
        S::Shutoff => &["unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot", "daemon"],
        S::Crashed => &["unknown", "panicked"],
        S::PmSuspended => &["unknown"],
    };
    usize::try_from(reason).ok().and_then(|r| table.get(r)).copied().unwrap_or("unknown")
}

/// `virDomainRunningReason` etc. — the reason numbers drivers report.
pub mod reason {
    /// VIR_DOMAIN_RUNNING_BOOTED
    pub const RUNNING_BOOTED: i32 = 1;
    /// VIR_DOMAIN_RUNNING_RESTORED
    pub const RUNNING_RESTORED: i32 = 3;
    /// VIR_DOMAIN_RUNNING_FROM_SNAPSHOT
    pub const RUNNING_FROM_SNAPSHOT: i32 = 4;
    /// VIR_DOMAIN_RUNNING_UNPAUSED
    pub const RUNNING_UNPAUSED: i32 = 5;
    /// VIR_DOMAIN_PAUSED_USER
    pub const PAUSED_USER: i32 = 1;
    /// VIR_DOMAIN_PAUSED_FROM_SNAPSHOT
    pub const PAUSED_FROM_SNAPSHOT: i32 = 7;
    /// VIR_DOMAIN_SHUTOFF_UNKNOWN
    pub const SHUTOFF_UNKNOWN: i32 = 0;
    /// VIR_DOMAIN_SHUTOFF_SHUTDOWN
    pub const SHUTOFF_SHUTDOWN: i32 = 1;
    /// VIR_DOMAIN_SHUTOFF_DESTROYED
    pub const SHUTOFF_DESTROYED: i32 = 2;
    /// VIR_DOMAIN_SHUTOFF_SAVED
    pub const SHUTOFF_SAVED: i32 = 5;
    /// VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT
    pub const SHUTOFF_FROM_SNAPSHOT: i32 = 7;
}

/// `virDomainInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainInfo {
    /// State.
    pub state: DomainState,
    /// Maximum memory in KiB.
    pub max_mem_kib: u64,
    /// Current memory in KiB.
    pub memory_kib: u64,
    /// Number of virtual CPUs.
    pub nr_virt_cpu: u32,
    /// CPU time used, nanoseconds.
    pub cpu_time_ns: u64,
}

/// `virNodeInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// CPU model string.
    pub model: String,
    /// Memory in KiB.
    pub memory_kib: u64,
    /// Number of active CPUs.
    pub cpus: u32,
    /// Expected CPU frequency, MHz.
    pub mhz: u32,
    /// NUMA nodes.
    pub nodes: u32,
    /// Sockets per node.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
}

/// `virSecurityModel`: the host's security driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityModel {
    /// Security model name; empty when no security driver is active.
    pub model: String,
    /// Domain of interpretation of the model's labels.
    pub doi: String,
}

/// `virSecurityLabel`: a running domain's security label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityLabel {
    /// The label; empty when the domain has none (for example when inactive).
    pub label: String,
    /// Whether the security policy is enforced.
    pub enforcing: bool,
}

int_enum!(
    /// `virStoragePoolState`.
    StoragePoolState {
        /// Not running
        Inactive = 0 => "inactive",
        /// Initializing pool, not available
        Building = 1 => "building",
        /// Running normally
        Running = 2 => "running",
        /// Running degraded
        Degraded = 3 => "degraded",
        /// Running, but not accessible
        Inaccessible = 4 => "inaccessible",
    }
);

/// `virStoragePoolInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoragePoolInfo {
    /// State.
    pub state: StoragePoolState,
    /// Logical size, bytes.
    pub capacity: u64,
    /// Current allocation, bytes.
    pub allocation: u64,
    /// Remaining free space, bytes.
    pub available: u64,
}

int_enum!(
    /// `virStorageVolType`.
    StorageVolType {
        /// Regular file
        File = 0 => "file",
        /// Block device
        Block = 1 => "block",
        /// Directory-passthrough
        Dir = 2 => "dir",
        /// Network volume
        Network = 3 => "network",
        /// Network-accessible directory
        NetDir = 4 => "netdir",
        /// Ploop
        Ploop = 5 => "ploop",
    }
);

/// `virStorageVolInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageVolInfo {
    /// Type.
    pub vol_type: StorageVolType,
    /// Logical size, bytes.
    pub capacity: u64,
    /// Current allocation, bytes.
    pub allocation: u64,
}

/// `VIR_SECRET_USAGE_TYPE_*`.
pub mod secret_usage {
    /// none
    pub const NONE: i32 = 0;
    /// volume
    pub const VOLUME: i32 = 1;
    /// ceph
    pub const CEPH: i32 = 2;
    /// iscsi
    pub const ISCSI: i32 = 3;
    /// tls
    pub const TLS: i32 = 4;
    /// vtpm
    pub const VTPM: i32 = 5;
}

/// A node's free and total memory of one NUMA cell, etc. — kept simple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version {
    /// major
    pub major: u64,
    /// minor
    pub minor: u64,
    /// micro (release)
    pub micro: u64,
}

impl Version {
    /// Decode libvirt's `major * 1_000_000 + minor * 1_000 + micro`.
    pub fn from_number(n: u64) -> Self {
        Version { major: n / 1_000_000, minor: (n / 1000) % 1000, micro: n % 1000 }
    }
    /// Encode as libvirt's number.
    pub fn number(&self) -> u64 {
        self.major * 1_000_000 + self.minor * 1000 + self.micro
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// The libvirt version oxvirt implements and reports as its library version.
pub const LIB_VERSION: u64 = 9_000_000;

// send-key limits.
/// `VIR_DOMAIN_SEND_KEY_MAX_KEYS`: the most keys one `virDomainSendKey` presses.
pub const SEND_KEY_MAX_KEYS: usize = 16;
/// `VIR_KEYCODE_SET_LAST`: codesets are 0 (linux) to 9 (qnum).
pub const KEYCODE_SET_LAST: u32 = 10;
