//! Domain information of the test driver, with the fake values libvirt 9.0's test
//! driver returns (`testDomainMemoryStats`, `testDomainGetBlockInfo`,
//! `testDomainInterfaceAddresses`, ...), so that outputs match libvirt's. The block,
//! interface and vCPU counters are derived from the wall clock, as libvirt's are.

use crate::conn::TestConn;
use crate::domlist::DomObj;
use crate::state::State;
use oxvirt::driver::check_flags;
use oxvirt::stats::{ifaddr_source, memstat, stats_flags as F, stats_types as T, IP_ADDR_TYPE_IPV4, VCPU_RUNNING};
use oxvirt::*;

const D: ErrorDomain = ErrorDomain::Test;

/// The guest clock of a new domain object (libvirt's `testDomainObjPrivateAlloc`).
pub(crate) const INITIAL_GUEST_TIME: (i64, u32) = (627_319_920, 0);

fn check_active(obj: &DomObj) -> Result<()> {
    if !obj.is_active() {
        return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
    }
    Ok(())
}

/// Microseconds since the epoch (`g_get_real_time`).
fn real_time_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// `virDomainDiskByName`: a disk by target or source path.
fn has_disk(obj: &DomObj, path: &str) -> Option<usize> {
    let disks = &obj.def.devices.disks;
    disks.iter().position(|d| d.target_dev == path).or_else(|| disks.iter().position(|d| d.source.path.as_deref() == Some(path)))
}

fn has_balloon(def: &oxvirt_conf::domain::DomainDef) -> bool {
    def.devices.memballoon.as_ref().is_some_and(|m| m.model != "none")
}

/// `virDomainNetFind`: by MAC address, else by host-side name.
fn find_net<'a>(obj: &'a DomObj, device: &str) -> Result<&'a oxvirt_conf::domain::Interface> {
    let nets = &obj.def.devices.interfaces;
    nets.iter()
        .find(|n| n.mac.eq_ignore_ascii_case(device))
        .or_else(|| nets.iter().find(|n| n.target_dev.as_deref() == Some(device)))
        .ok_or_else(|| Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("'{device}' is not a known interface")))
}

impl TestConn {
    /// `testDomainBlockStats`.
    pub(crate) fn stats_block(&self, d: &DomainRef, path: &str) -> Result<BlockStats> {
        if path.is_empty() {
            return Err(Error::new(ErrorCode::OperationUnsupported, D, "summary statistics are not supported yet"));
        }
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            has_disk(obj, path).ok_or_else(|| Error::new(ErrorCode::InvalidArg, D, format!("invalid path: {path}")))?;
            let base = real_time_us();
            Ok(BlockStats { rd_req: base / 10, rd_bytes: base / 20, wr_req: base / 30, wr_bytes: base / 40, errs: base / 2_000_000 })
        })
    }

    /// `testDomainInterfaceStats`.
    pub(crate) fn stats_interface(&self, d: &DomainRef, device: &str) -> Result<InterfaceStats> {
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            find_net(obj, device)?;
            let b = real_time_us();
            Ok(InterfaceStats {
                rx_bytes: b / 10,
                rx_packets: b / 100,
                rx_errs: b / 1_000_000,
                rx_drop: b / 2_000_000,
                tx_bytes: b / 20,
                tx_packets: b / 110,
                tx_errs: b / 3_000_000,
                tx_drop: b / 4_000_000,
            })
        })
    }

    /// `testDomainMemoryStats`.
    pub(crate) fn stats_memory(&self, d: &DomainRef, nr: u32, flags: u32) -> Result<Vec<MemoryStat>> {
        check_flags(flags, 0, "testDomainMemoryStats", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            if !has_balloon(&obj.def) {
                return Ok(Vec::new());
            }
            let cur = obj.def.current_memory_kib;
            let all = [
                (memstat::ACTUAL_BALLOON, cur),
                (memstat::SWAP_IN, 0),
                (memstat::SWAP_OUT, 0),
                (memstat::MAJOR_FAULT, 0),
                (memstat::MINOR_FAULT, 0),
                (memstat::UNUSED, cur / 2),
                (memstat::AVAILABLE, cur),
                (memstat::USABLE, cur / 2),
                (memstat::LAST_UPDATE, 627_319_920),
                (memstat::DISK_CACHES, cur / 8),
                (memstat::HUGETLB_PGALLOC, 0),
                (memstat::HUGETLB_PGFAIL, 0),
                (memstat::RSS, cur / 2),
            ];
            Ok(all.into_iter().take(nr as usize).map(|(tag, val)| MemoryStat { tag, val }).collect())
        })
    }

    /// `testDomainSetMemoryStatsPeriod` (the test driver keeps no period).
    pub(crate) fn stats_set_period(&self, d: &DomainRef, period: i32, flags: u32) -> Result<()> {
        check_flags(flags, 3, "testDomainSetMemoryStatsPeriod", D)?;
        let _ = period;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            let def = one_def(obj, flags)?;
            if !has_balloon(def) {
                return Err(Error::new(
                    ErrorCode::InternalError,
                    D,
                    "No memory balloon device configured, can not set the collection period",
                ));
            }
            Ok(())
        })
    }

    /// `testDomainGetBlockInfo`.
    pub(crate) fn stats_block_info(&self, d: &DomainRef, path: &str, flags: u32) -> Result<BlockInfo> {
        check_flags(flags, 0, "testDomainGetBlockInfo", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            let i = has_disk(obj, path)
                .ok_or_else(|| Error::new(ErrorCode::InvalidArg, D, format!("invalid path {path} not assigned to domain")))?;
            if obj.def.devices.disks[i].source.path.is_none() {
                return Err(Error::new(ErrorCode::InvalidArg, D, format!("disk '{path}' does not currently have a source assigned")));
            }
            Ok(BlockInfo { capacity: 1_099_506_450_432, allocation: 1_099_511_627_776, physical: 1_099_511_627_776 })
        })
    }

    /// `testDomainGetVcpus`.
    pub(crate) fn stats_vcpus(&self, d: &DomainRef, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        self.with(|st| {
            let host_cpus = st.node_info.nodes * st.node_info.sockets * st.node_info.cores * st.node_info.threads;
            let obj = st.domains.by_ref(d)?;
            if !obj.is_active() {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot list vcpus for an inactive domain"));
            }
            let n = usize::try_from(maxinfo).unwrap_or(0).min(obj.def.vcpus_current as usize);
            let maplen = usize::try_from(maplen).unwrap_or(0);
            let base = real_time_us() as u64;
            let mut infos = Vec::new();
            let mut maps = vec![0u8; n * maplen];
            for i in 0..n {
                // Every host CPU (no pinning in the test driver's definitions here).
                for cpu in 0..host_cpus as usize {
                    if let Some(b) = maps.get_mut(i * maplen + cpu / 8).filter(|_| cpu / 8 < maplen) {
                        *b |= 1 << (cpu % 8);
                    }
                }
                infos.push(VcpuInfo { number: i as u32, state: VCPU_RUNNING, cpu_time: base / 10, cpu: host_cpus as i32 - 1 });
            }
            Ok((infos, maps))
        })
    }

    /// `testDomainGetTime`.
    pub(crate) fn stats_get_time(&self, d: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        check_flags(flags, 0, "testDomainGetTime", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            if obj.state != DomainState::Running {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "domain is not running"));
            }
            Ok(obj.guest_time)
        })
    }

    /// `testDomainSetTime`.
    pub(crate) fn stats_set_time(&self, d: &DomainRef, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
        check_flags(flags, 1, "testDomainSetTime", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            check_active(obj)?;
            obj.guest_time = (seconds, nseconds);
            Ok(())
        })
    }

    /// `testDomainInterfaceAddresses`.
    pub(crate) fn stats_ifaddr(&self, d: &DomainRef, source: u32, flags: u32) -> Result<Vec<DomainInterface>> {
        check_flags(flags, 0, "testDomainInterfaceAddresses", D)?;
        if source > ifaddr_source::ARP {
            return Err(Error::new(ErrorCode::ArgumentUnsupported, D, format!("Unknown IP address data source {source}")));
        }
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            let mut out = Vec::new();
            for (i, n) in obj.def.devices.interfaces.iter().enumerate() {
                let addr = if n.iface_type == "network" {
                    let offset = 20 * (i64::from(obj.id) - 1) + i as i64 + 1;
                    network_addr(st, n.source_network.as_deref().unwrap_or(""), offset)?
                } else {
                    IpAddress { typ: IP_ADDR_TYPE_IPV4, addr: format!("192.168.0.{}", i + 1), prefix: 24 }
                };
                out.push(DomainInterface {
                    name: n.target_dev.clone().unwrap_or_default(),
                    hwaddr: Some(n.mac.to_lowercase()),
                    addrs: vec![addr],
                });
            }
            Ok(out)
        })
    }

    /// `testConnectGetAllDomainStats`: the state and iothread groups.
    pub(crate) fn stats_all(&self, doms: &[DomainRef], stats: u32, flags: u32) -> Result<Vec<DomainStatsRecord>> {
        let list = F::ACTIVE | F::INACTIVE | F::PERSISTENT | F::TRANSIENT | F::RUNNING | F::PAUSED | F::SHUTOFF | F::OTHER;
        check_flags(flags, list | F::NOWAIT | F::BACKING | F::ENFORCE_STATS, "testConnectGetAllDomainStats", D)?;
        let supported = T::STATE | T::IOTHREAD;
        let stats = if stats == 0 {
            supported
        } else if flags & F::ENFORCE_STATS != 0 && stats & !supported != 0 {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                D,
                format!("Stats types bits 0x{:x} are not supported by this daemon", stats & !supported),
            ));
        } else {
            stats
        };
        let refs = if doms.is_empty() { oxvirt::driver::HypervisorDriver::list_all_domains(self, flags & list)? } else { doms.to_vec() };
        self.with(|st| {
            let mut out = Vec::new();
            for r in &refs {
                // Domains that went away are skipped, as libvirt does.
                let Ok(obj) = st.domains.by_ref(r) else { continue };
                let mut p = TypedParamList::default();
                if stats & T::STATE != 0 {
                    p.int("state.state", obj.state as i32);
                    p.int("state.reason", obj.reason);
                }
                out.push(DomainStatsRecord { dom: obj.dref(), params: p.0 });
            }
            Ok(out)
        })
    }
}

impl TestConn {
    /// `testDomainGetControlInfo`: derived from the guest clock's seconds, as libvirt's.
    pub(crate) fn stats_control_info(&self, d: &DomainRef, flags: u32) -> Result<ControlInfo> {
        check_flags(flags, 0, "testDomainGetControlInfo", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            let s = obj.guest_time.0;
            let u = |v: i64| u64::try_from(v).unwrap_or(0);
            Ok(match s {
                1..=9_999 => ControlInfo { state: 1, details: 0, state_time: u(s) },
                10_000..=29_999 => ControlInfo { state: 2, details: 0, state_time: u(s - 10_000) },
                30_000..=59_999 => ControlInfo { state: 3, details: (s % 4) as u32, state_time: u(s - 30_000) },
                _ => ControlInfo::default(),
            })
        })
    }

    /// `testDomainGetDiskErrors`: every disk reports an error, alternating the codes.
    pub(crate) fn stats_disk_errors(&self, d: &DomainRef, maxerrors: u32, flags: u32) -> Result<(i32, Vec<DiskError>)> {
        check_flags(flags, 0, "testDomainGetDiskErrors", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            let disks = &obj.def.devices.disks;
            if maxerrors == 0 {
                return Ok((disks.len() as i32, Vec::new()));
            }
            let errors: Vec<DiskError> = disks
                .iter()
                .take(maxerrors as usize)
                .enumerate()
                .map(|(i, dk)| DiskError { disk: dk.target_dev.clone(), error: (i % 2) as i32 + 1 })
                .collect();
            Ok((errors.len() as i32, errors))
        })
    }

    /// `testDomainInjectNMI`, `testDomainSetUserPassword`: the domain must run.
    pub(crate) fn stats_check_running(&self, d: &DomainRef, flags: u32, allowed: u32, func: &str) -> Result<()> {
        check_flags(flags, allowed, func, D)?;
        self.with(|st| check_active(st.domains.by_ref(d)?))
    }

    /// `testDomainFSFreeze` / `testDomainFSThaw` on the fake `/` and `/boot`.
    pub(crate) fn stats_fs_freeze(&self, d: &DomainRef, mountpoints: &[String], flags: u32, freeze: bool) -> Result<i32> {
        check_flags(flags, 0, if freeze { "testDomainFSFreeze" } else { "testDomainFSThaw" }, D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            check_active(obj)?;
            if mountpoints.is_empty() {
                let changed = obj.fs_frozen.iter().filter(|f| **f != freeze).count() as i32;
                obj.fs_frozen = [freeze; 2];
                return Ok(changed);
            }
            let mut state = obj.fs_frozen;
            let mut n = 0;
            for m in mountpoints {
                let i = match m.as_str() {
                    "/" => 0,
                    "/boot" => 1,
                    other => return Err(Error::new(ErrorCode::OperationInvalid, D, format!("mount point not found: {other}"))),
                };
                if state[i] != freeze {
                    state[i] = freeze;
                    n += 1;
                }
            }
            obj.fs_frozen = state;
            Ok(n)
        })
    }

    /// `testDomainGetFSInfo`: `/` and `/boot` on the first disk.
    pub(crate) fn stats_fs_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        check_flags(flags, 0, "testDomainGetFSInfo", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            let Some(disk) = obj.def.devices.disks.iter().find(|dk| dk.device == "disk") else { return Ok(Vec::new()) };
            let name = &disk.target_dev;
            Ok(vec![
                FsInfo { mountpoint: "/".into(), name: format!("{name}1"), fstype: "ext4".into(), dev_aliases: vec![name.clone()] },
                FsInfo { mountpoint: "/boot".into(), name: format!("{name}2"), fstype: "ext4".into(), dev_aliases: vec![name.clone()] },
            ])
        })
    }
}

/// `virDomainObjGetOneDef`: the live or persistent definition `flags` names.
fn one_def(obj: &DomObj, flags: u32) -> Result<&oxvirt_conf::domain::DomainDef> {
    let (live, config) = (flags & 1 != 0, flags & 2 != 0);
    if live && config {
        // virReportInvalidArg: the message has no "invalid argument" prefix.
        return Err(Error::raw(
            ErrorCode::InvalidArg,
            ErrorDomain::Domain,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
        ));
    }
    if live && !obj.is_active() {
        return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
    }
    Ok(if config || !obj.is_active() { obj.persistent_def() } else { &obj.def })
}

/// The address `testDomainInterfaceAddressFromNet` makes: the first DHCP range start
/// (or the network's address) plus `offset`, with the network's prefix.
fn network_addr(st: &State, name: &str, offset: i64) -> Result<IpAddress> {
    let net = st
        .networks
        .iter()
        .find(|n| n.def.name == name)
        .ok_or_else(|| Error::new(ErrorCode::NoNetwork, ErrorDomain::Network, format!("no network with matching name '{name}'")))?;
    let ip = net.def.ips.first().ok_or_else(|| Error::new(ErrorCode::InternalError, D, format!("network '{name}' has no address")))?;
    let start = ip.ranges.first().map(|r| r.start).unwrap_or(ip.address);
    let prefix = ip.effective_prefix().unwrap_or(0);
    let (typ, addr) = match start {
        std::net::IpAddr::V4(a) => (IP_ADDR_TYPE_IPV4, std::net::Ipv4Addr::from(u32::from(a).wrapping_add(offset as u32)).to_string()),
        std::net::IpAddr::V6(a) => {
            let mut o = a.octets();
            o[15] = o[15].wrapping_add(offset as u8);
            (oxvirt::stats::IP_ADDR_TYPE_IPV6, std::net::Ipv6Addr::from(o).to_string())
        }
    };
    Ok(IpAddress { typ, addr, prefix })
}
