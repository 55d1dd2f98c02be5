//! Domain statistics of running QEMU guests, as libvirt's QEMU driver gathers them:
//! block statistics from `query-blockstats` (per device, keyed by the format node
//! `libvirt-N-format` the command line gives each disk) and capacities from
//! `query-named-block-nodes`; memory statistics from `query-balloon` and the balloon's
//! `guest-stats` QOM property (enabled by `guest-stats-polling-interval`) plus the
//! QEMU process's RSS; vCPU placement and time from `query-cpus-fast` thread ids and
//! `/proc/PID/task/TID/{stat,sched,schedstat}`; interface statistics from
//! `/proc/net/dev` of the host-side interface (user-mode interfaces have none); and
//! the `virConnectGetAllDomainStats` records (groups state, cpu-total, balloon, vcpu,
//! interface, block) with libvirt's parameter names and order.
//!
//! The parsing functions take QMP replies as JSON values so that they can be tested
//! on recorded transcripts without a QEMU.

use super::domobj::{DomObj, Expect};
use super::Driver;
use oxvirt::stats::{memstat, stats_flags, stats_types, VCPU_RUNNING};
use oxvirt::*;
use oxvirt_conf::domain::DomainDef;
use serde_json::{json, Value};
use std::collections::HashMap;

const D: ErrorDomain = ErrorDomain::Qemu;

/// The QOM path of the memory balloon (the command line names it `balloon0`).
pub const BALLOON_PATH: &str = "/machine/peripheral/balloon0";

/// One device's `query-blockstats` entry (libvirt's `qemuBlockStats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockEntry {
    /// `rd_operations`.
    pub rd_req: u64,
    /// `rd_bytes`.
    pub rd_bytes: u64,
    /// `wr_operations`.
    pub wr_req: u64,
    /// `wr_bytes`.
    pub wr_bytes: u64,
    /// `rd_total_time_ns`.
    pub rd_total_times: u64,
    /// `wr_total_time_ns`.
    pub wr_total_times: u64,
    /// `flush_operations`.
    pub flush_req: u64,
    /// `flush_total_time_ns`.
    pub flush_total_times: u64,
    /// The storage node's `wr_highest_offset`, when reported.
    pub wr_highest_offset: Option<u64>,
    /// How many of the eight statistics QEMU reported (libvirt's `nstats`).
    pub nstats: usize,
}

/// `query-blockstats` → entries keyed by the root node name (`libvirt-N-format`)
/// and by the `qdev` path of the device.
pub fn parse_blockstats(reply: &Value) -> HashMap<String, BlockEntry> {
    let mut out = HashMap::new();
    for dev in reply.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(stats) = dev.get("stats") else { continue };
        let mut e = BlockEntry::default();
        let mut get = |k: &str, slot: &mut u64| {
            if let Some(v) = stats.get(k).and_then(Value::as_u64) {
                *slot = v;
                e.nstats += 1;
            }
        };
        get("rd_bytes", &mut e.rd_bytes);
        get("wr_bytes", &mut e.wr_bytes);
        get("rd_operations", &mut e.rd_req);
        get("wr_operations", &mut e.wr_req);
        get("rd_total_time_ns", &mut e.rd_total_times);
        get("wr_total_time_ns", &mut e.wr_total_times);
        get("flush_operations", &mut e.flush_req);
        get("flush_total_time_ns", &mut e.flush_total_times);
        e.wr_highest_offset = dev.pointer("/parent/stats/wr_highest_offset").and_then(Value::as_u64);
        for key in ["node-name", "qdev", "device"] {
            if let Some(k) = dev.get(key).and_then(Value::as_str).filter(|k| !k.is_empty()) {
                out.insert(k.to_string(), e.clone());
            }
        }
    }
    out
}

/// Capacity data of a format node from `query-named-block-nodes`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCapacity {
    /// `image.virtual-size`.
    pub capacity: u64,
    /// `image.actual-size`.
    pub physical: u64,
    /// `write_threshold`.
    pub write_threshold: u64,
}

/// `query-named-block-nodes` → capacities keyed by node name.
pub fn parse_named_nodes(reply: &Value) -> HashMap<String, NodeCapacity> {
    let mut out = HashMap::new();
    for n in reply.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(name) = n.get("node-name").and_then(Value::as_str) else { continue };
        let u = |p: &str| n.pointer(p).and_then(Value::as_u64).unwrap_or(0);
        out.insert(
            name.to_string(),
            NodeCapacity { capacity: u("/image/virtual-size"), physical: u("/image/actual-size"), write_threshold: u("/write_threshold") },
        );
    }
    out
}

/// `query-cpus-fast` → (vCPU index, host thread id), in QEMU's order.
pub fn parse_vcpu_threads(reply: &Value) -> Vec<(u32, i32)> {
    reply
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            let idx = c.get("cpu-index").and_then(Value::as_u64)?;
            let tid = c.get("thread-id").and_then(Value::as_i64)?;
            Some((u32::try_from(idx).ok()?, i32::try_from(tid).ok()?))
        })
        .collect()
}

/// `query-balloon` and the balloon's `guest-stats` → memory statistics in libvirt's
/// order (`qemuMonitorJSONGetMemoryStats`): the balloon size first, then what the
/// guest reported (sizes in KiB; values QEMU marks unknown, -1, are left out).
pub fn parse_balloon_stats(balloon: Option<&Value>, guest_stats: Option<&Value>) -> Vec<MemoryStat> {
    let mut out = Vec::new();
    if let Some(actual) = balloon.and_then(|b| b.get("actual")).and_then(Value::as_u64) {
        out.push(MemoryStat { tag: memstat::ACTUAL_BALLOON, val: actual / 1024 });
    }
    let Some(data) = guest_stats else { return out };
    let Some(stats) = data.get("stats") else { return out };
    let table: [(&Value, &str, i32, u64); 11] = [
        (stats, "stat-swap-in", memstat::SWAP_IN, 1024),
        (stats, "stat-swap-out", memstat::SWAP_OUT, 1024),
        (stats, "stat-major-faults", memstat::MAJOR_FAULT, 1),
        (stats, "stat-minor-faults", memstat::MINOR_FAULT, 1),
        (stats, "stat-free-memory", memstat::UNUSED, 1024),
        (stats, "stat-total-memory", memstat::AVAILABLE, 1024),
        (stats, "stat-available-memory", memstat::USABLE, 1024),
        (data, "last-update", memstat::LAST_UPDATE, 1),
        (stats, "stat-disk-caches", memstat::DISK_CACHES, 1024),
        (stats, "stat-htlb-pgalloc", memstat::HUGETLB_PGALLOC, 1),
        (stats, "stat-htlb-pgfail", memstat::HUGETLB_PGFAIL, 1),
    ];
    for (obj, key, tag, div) in table {
        if let Some(v) = obj.get(key).and_then(Value::as_u64) {
            out.push(MemoryStat { tag, val: v / div });
        }
    }
    out
}

/// Per-process (or per-thread) figures from `/proc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStat {
    /// utime + stime, ns.
    pub cpu_time: u64,
    /// utime, ns.
    pub user_time: u64,
    /// stime, ns.
    pub sys_time: u64,
    /// The CPU it last ran on.
    pub processor: i32,
}

/// `/proc/PID/stat` (or `/proc/PID/task/TID/stat`) text → [`ProcStat`]. Clock ticks
/// are USER_HZ (100 on Linux, fixed by the ABI of `/proc`).
pub fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let (_, rest) = text.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state is index 0, utime 11, stime 12, processor 36.
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    let (utime, stime) = (n(11)?, n(12)?);
    const NS_PER_TICK: u64 = 1_000_000_000 / 100;
    Some(ProcStat {
        cpu_time: (utime + stime).saturating_mul(NS_PER_TICK),
        user_time: utime.saturating_mul(NS_PER_TICK),
        sys_time: stime.saturating_mul(NS_PER_TICK),
        processor: f.get(36).and_then(|v| v.parse().ok()).unwrap_or(0),
    })
}

fn task_dir(pid: i32, tid: Option<i32>) -> String {
    match tid {
        Some(t) => format!("/proc/{pid}/task/{t}"),
        None => format!("/proc/{pid}"),
    }
}

fn proc_stat(pid: i32, tid: Option<i32>) -> Option<ProcStat> {
    parse_proc_stat(&std::fs::read_to_string(format!("{}/stat", task_dir(pid, tid))).ok()?)
}

/// `se.statistics.wait_sum` (ms, fractional) of `/proc/.../sched` in ns; 0 when the
/// kernel has no scheduler statistics (`virProcessGetSchedInfo`).
fn sched_wait(pid: i32, tid: i32) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("{}/sched", task_dir(pid, Some(tid)))) else { return 0 };
    text.lines()
        .find(|l| l.starts_with("se.statistics.wait_sum") || l.starts_with("se.wait_sum"))
        .and_then(|l| l.split_once(':'))
        .and_then(|(_, v)| v.trim().parse::<f64>().ok())
        .map(|ms| (ms * 1_000_000.0) as u64)
        .unwrap_or(0)
}

/// The run-queue delay (second field of `/proc/.../schedstat`), ns.
fn sched_delay(pid: i32, tid: i32) -> u64 {
    std::fs::read_to_string(format!("{}/schedstat", task_dir(pid, Some(tid))))
        .ok()
        .and_then(|t| t.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// `VmRSS` of `pid` in KiB.
fn rss_kib(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One line of `/proc/net/dev` for `ifname` → its counters (libvirt's
/// `virNetDevTapInterfaceStats`; `swapped`: the host's receive is the guest's send).
pub fn parse_net_dev(text: &str, ifname: &str, swapped: bool) -> Option<InterfaceStats> {
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else { continue };
        if name.trim() != ifname {
            continue;
        }
        let v: Vec<i64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if v.len() < 12 {
            return None;
        }
        // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
        let (rx, tx) = ((v[0], v[1], v[2], v[3]), (v[8], v[9], v[10], v[11]));
        let (a, b) = if swapped { (tx, rx) } else { (rx, tx) };
        return Some(InterfaceStats {
            rx_bytes: a.0,
            rx_packets: a.1,
            rx_errs: a.2,
            rx_drop: a.3,
            tx_bytes: b.0,
            tx_packets: b.1,
            tx_errs: b.2,
            tx_drop: b.3,
        });
    }
    None
}

/// The format node name the command line gives each disk (`libvirt-N-format`;
/// disks with a source are numbered from the last one down), as `command.rs` does, or
/// the one recorded in the live definition (hotplug).
pub fn disk_nodes(def: &DomainDef) -> Vec<Option<String>> {
    let total = def.devices.disks.iter().filter(|d| d.source.path.is_some() || d.disk_type == "network").count();
    let mut n = total;
    def.devices
        .disks
        .iter()
        .map(|d| {
            d.source.path.is_some().then(|| {
                // A hot-plugged disk (and every disk once hotplug touched the live
                // definition) records its node in `<source index='N'>`.
                let recorded = d.source.raw.as_ref().and_then(|r| r.attrs.iter().find(|(k, _)| k == "index")).map(|(_, v)| v.as_str());
                let name = format!("libvirt-{}-format", recorded.map(str::to_string).unwrap_or_else(|| n.to_string()));
                n = n.saturating_sub(1);
                name
            })
        })
        .collect()
}

/// `virDomainDiskByName`: a disk by target name or source path.
pub fn disk_by_name(def: &DomainDef, path: &str) -> Option<usize> {
    def.devices
        .disks
        .iter()
        .position(|d| d.target_dev == path)
        .or_else(|| def.devices.disks.iter().position(|d| d.source.path.as_deref() == Some(path)))
}

fn not_running() -> Error {
    Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running")
}

fn overflow(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::new(ErrorCode::Overflow, D, format!("value of '{what}' is too large")))
}

/// The block statistics of disk `path` ("" sums all disks).
fn gather_block(drv: &Driver, d: &DomainRef, path: &str) -> Result<(BlockEntry, usize)> {
    let def = read_def(drv, d)?;
    let nodes = disk_nodes(&def);
    let wanted = if path.is_empty() {
        None
    } else {
        let i = disk_by_name(&def, path).ok_or_else(|| Error::new(ErrorCode::InvalidArg, D, format!("invalid path: {path}")))?;
        let node = nodes.get(i).cloned().flatten().ok_or_else(|| {
            Error::new(ErrorCode::InternalError, D, format!("missing disk device alias name for {}", def.devices.disks[i].target_dev))
        })?;
        Some(node)
    };
    let reply = drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("query-blockstats", None))?;
    let stats = parse_blockstats(&reply);
    let nstats = stats.values().map(|e| e.nstats).max().unwrap_or(0);
    match wanted {
        Some(node) => {
            let e = stats
                .get(&node)
                .cloned()
                .ok_or_else(|| Error::new(ErrorCode::InternalError, D, format!("cannot find statistics for device '{node}'")))?;
            Ok((e, nstats))
        }
        None => {
            let mut total = BlockEntry::default();
            for node in nodes.iter().flatten() {
                let e = stats
                    .get(node)
                    .ok_or_else(|| Error::new(ErrorCode::InternalError, D, format!("cannot find statistics for device '{node}'")))?;
                total.rd_req += e.rd_req;
                total.rd_bytes += e.rd_bytes;
                total.wr_req += e.wr_req;
                total.wr_bytes += e.wr_bytes;
                total.flush_req += e.flush_req;
                total.rd_total_times += e.rd_total_times;
                total.wr_total_times += e.wr_total_times;
                total.flush_total_times += e.flush_total_times;
            }
            Ok((total, nstats))
        }
    }
}

/// The live definition of an active domain.
fn read_def(drv: &Driver, d: &DomainRef) -> Result<DomainDef> {
    drv.refresh(&d.uuid);
    let doms = drv.doms();
    let o = doms.by_ref(d)?;
    if !o.is_active() {
        return Err(not_running());
    }
    Ok(o.def.clone())
}

/// `virDomainBlockStats`.
pub fn block_stats(drv: &Driver, d: &DomainRef, path: &str) -> Result<BlockStats> {
    let (e, _) = gather_block(drv, d, path)?;
    let big = |v: u64| i64::try_from(v).map_err(|_| Error::new(ErrorCode::Overflow, D, "statistic value too large"));
    // QEMU does not count errors.
    Ok(BlockStats { rd_req: big(e.rd_req)?, rd_bytes: big(e.rd_bytes)?, wr_req: big(e.wr_req)?, wr_bytes: big(e.wr_bytes)?, errs: -1 })
}

/// `virDomainBlockStatsFlags`: libvirt's eight `long long` fields, in its order.
pub fn block_stats_flags(drv: &Driver, d: &DomainRef, path: &str, flags: u32) -> Result<Vec<TypedParam>> {
    // VIR_TYPED_PARAM_STRING_OKAY is accepted (no strings here).
    oxvirt::driver::check_flags(flags, 1 << 2, "qemuDomainBlockStatsFlags", D)?;
    let (e, nstats) = gather_block(drv, d, path)?;
    let mut p = TypedParamList::default();
    let all = [
        (e.wr_bytes, "wr_bytes"),
        (e.wr_req, "wr_operations"),
        (e.rd_bytes, "rd_bytes"),
        (e.rd_req, "rd_operations"),
        (e.flush_req, "flush_operations"),
        (e.wr_total_times, "wr_total_times"),
        (e.rd_total_times, "rd_total_times"),
        (e.flush_total_times, "flush_total_times"),
    ];
    for (v, name) in all.into_iter().take(nstats) {
        p.llong(name, overflow(v, name)?);
    }
    Ok(p.0)
}

/// `virDomainGetBlockInfo`.
pub fn block_info(drv: &Driver, d: &DomainRef, path: &str, flags: u32) -> Result<BlockInfo> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainGetBlockInfo", D)?;
    drv.refresh(&d.uuid);
    let (def, active) = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        (o.def.clone(), o.is_active())
    };
    let i = disk_by_name(&def, path)
        .ok_or_else(|| Error::new(ErrorCode::InvalidArg, D, format!("invalid path {path} not assigned to domain")))?;
    let disk = &def.devices.disks[i];
    let Some(src) = disk.source.path.clone() else {
        return Err(Error::new(ErrorCode::InvalidArg, D, format!("disk '{path}' does not currently have a source assigned")));
    };
    let meta = std::fs::metadata(&src);
    if !active {
        let m = meta.map_err(|e| Error::new(ErrorCode::SystemError, D, format!("cannot stat file '{src}': {e}")))?;
        use std::os::unix::fs::MetadataExt;
        let capacity = if disk.driver_type() == Some("qcow2") { qcow2_size(&src).unwrap_or(m.len()) } else { m.len() };
        return Ok(BlockInfo { capacity, allocation: m.blocks() * 512, physical: m.len() });
    }
    let node = disk_nodes(&def).get(i).cloned().flatten().unwrap_or_default();
    let (stats, caps) = drv.monitor_query(
        d,
        Expect::Nothing,
        |_| Ok(()),
        |q| Ok((q.execute("query-blockstats", None)?, q.execute("query-named-block-nodes", Some(json!({"flat": true})))?)),
    )?;
    let entry = parse_blockstats(&stats)
        .get(&node)
        .cloned()
        .ok_or_else(|| Error::new(ErrorCode::InternalError, D, format!("cannot find statistics for device '{node}'")))?;
    let cap = parse_named_nodes(&caps).get(&node).copied().unwrap_or_default();
    let mut allocation = match entry.wr_highest_offset {
        Some(off) if disk.driver_type() != Some("qcow2") => off,
        _ => cap.physical,
    };
    let physical = if cap.physical == 0 || allocation == 0 || allocation == cap.physical {
        if allocation == 0 {
            allocation = cap.physical;
        }
        meta.map(|m| m.len()).unwrap_or(cap.physical)
    } else {
        cap.physical
    };
    Ok(BlockInfo { capacity: cap.capacity, allocation, physical })
}

/// The virtual size in a qcow2 header (bytes 24..32, big endian).
fn qcow2_size(path: &str) -> Option<u64> {
    use std::io::Read;
    let mut head = [0u8; 32];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    (head[..4] == *b"QFI\xfb").then(|| u64::from_be_bytes(head[24..32].try_into().unwrap_or_default()))
}

/// `virDomainInterfaceStats`.
pub fn interface_stats(drv: &Driver, d: &DomainRef, device: &str) -> Result<InterfaceStats> {
    let def = read_def(drv, d)?;
    let net = find_net(&def, device)?;
    let Some(ifname) = net.target_dev.clone() else {
        return Err(Error::new(ErrorCode::InternalError, ErrorDomain::None, "Interface name not provided"));
    };
    let text = std::fs::read_to_string("/proc/net/dev")
        .map_err(|e| Error::new(ErrorCode::SystemError, ErrorDomain::None, format!("Could not open /proc/net/dev: {e}")))?;
    // Tap devices see the guest's traffic reversed.
    parse_net_dev(&text, &ifname, true)
        .ok_or_else(|| Error::new(ErrorCode::InternalError, ErrorDomain::None, "/proc/net/dev: Interface not found"))
}

/// `virDomainNetFind`: by host-side name or MAC address.
fn find_net<'a>(def: &'a DomainDef, device: &str) -> Result<&'a oxvirt_conf::domain::Interface> {
    let by_mac = def.devices.interfaces.iter().find(|n| n.mac.eq_ignore_ascii_case(device));
    by_mac
        .or_else(|| def.devices.interfaces.iter().find(|n| n.target_dev.as_deref() == Some(device)))
        .ok_or_else(|| Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("'{device}' is not a known interface")))
}

/// Balloon and RSS statistics of an active domain (`qemuDomainMemoryStatsInternal`).
fn memory_stats_internal(drv: &Driver, d: &DomainRef, def: &DomainDef, pid: i32, nr: u32) -> Result<Vec<MemoryStat>> {
    let mut out = Vec::new();
    if has_balloon(def) {
        let (balloon, guest) = drv.monitor_query(
            d,
            Expect::Nothing,
            |_| Ok(()),
            |q| {
                let b = q.execute("query-balloon", None).ok();
                let g = q.execute("qom-get", Some(json!({"path": BALLOON_PATH, "property": "guest-stats"}))).ok();
                Ok((b, g))
            },
        )?;
        out = parse_balloon_stats(balloon.as_ref(), guest.as_ref());
        out.truncate(nr as usize);
        if out.len() >= nr as usize {
            return Ok(out);
        }
    }
    let rss = rss_kib(pid).ok_or_else(|| Error::new(ErrorCode::OperationFailed, D, "cannot get RSS for domain"))?;
    out.push(MemoryStat { tag: memstat::RSS, val: rss });
    Ok(out)
}

fn has_balloon(def: &DomainDef) -> bool {
    def.devices.memballoon.as_ref().is_some_and(|m| m.model != "none")
}

fn pid_of(drv: &Driver, d: &DomainRef) -> Result<(DomainDef, i32)> {
    drv.refresh(&d.uuid);
    let doms = drv.doms();
    let o = doms.by_ref(d)?;
    let pid = o.run.as_ref().filter(|_| o.is_active()).map(|r| r.pid).ok_or_else(not_running)?;
    Ok((o.def.clone(), pid))
}

/// `virDomainMemoryStats`.
pub fn memory_stats(drv: &Driver, d: &DomainRef, nr: u32, flags: u32) -> Result<Vec<MemoryStat>> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainMemoryStats", D)?;
    let (def, pid) = pid_of(drv, d)?;
    memory_stats_internal(drv, d, &def, pid, nr)
}

/// `virDomainSetMemoryStatsPeriod` (live: the balloon's polling interval; config:
/// `<memballoon><stats period=.../>` of the persistent definition).
pub fn set_memory_stats_period(drv: &Driver, d: &DomainRef, period: i32, flags: u32) -> Result<()> {
    oxvirt::driver::check_flags(flags, 3, "qemuDomainSetMemoryStatsPeriod", D)?;
    drv.refresh(&d.uuid);
    let (active, persistent) = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        (o.is_active(), o.persistent)
    };
    // CURRENT (0) means live when running, config otherwise.
    let live = flags & 1 != 0 || (flags & 3 == 0 && active);
    let config = flags & 2 != 0 || (flags & 3 == 0 && !active);
    if live && !active {
        return Err(not_running());
    }
    if config && !persistent {
        return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot change persistent config of a transient domain"));
    }
    let no_balloon =
        || Error::new(ErrorCode::OperationInvalid, D, "No memory balloon device configured, can not set the collection period");
    if live {
        let def = read_def(drv, d)?;
        if !has_balloon(&def) {
            return Err(no_balloon());
        }
        drv.monitor_job(
            d,
            Expect::Nothing,
            |_| Ok(()),
            |q| q.execute("qom-set", Some(json!({"path": BALLOON_PATH, "property": "guest-stats-polling-interval", "value": period}))),
            |_, o| set_period(&mut o.def, period),
        )?;
    }
    if config {
        let mut doms = drv.doms();
        let o = doms.by_ref_mut(d)?;
        let def = o.new_def.as_mut().unwrap_or(&mut o.def);
        if !has_balloon(def) {
            return Err(no_balloon());
        }
        set_period(def, period);
        drv.save_config(def)?;
    }
    Ok(())
}

fn set_period(def: &mut DomainDef, period: i32) {
    let Some(m) = def.devices.memballoon.as_mut() else { return };
    m.other.retain(|e| e.name != "stats");
    if period > 0 {
        m.other.insert(0, oxvirt_conf::xml::El::new("stats").attr("period", period.to_string()));
    }
}

/// The stats polling period set in `<memballoon><stats period=.../>`.
pub fn configured_period(def: &DomainDef) -> Option<i64> {
    let m = def.devices.memballoon.as_ref()?;
    let stats = m.other.iter().find(|e| e.name == "stats")?;
    stats.attrs.iter().find(|(k, _)| k == "period").and_then(|(_, v)| v.parse().ok())
}

/// vCPU info of an active domain: (info, wait, delay) per online vCPU.
fn vcpu_details(drv: &Driver, d: &DomainRef, pid: i32) -> Result<Vec<(VcpuInfo, i32, u64, u64)>> {
    let reply = drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("query-cpus-fast", None))?;
    let mut out = Vec::new();
    for (idx, tid) in parse_vcpu_threads(&reply) {
        let st = proc_stat(pid, Some(tid)).ok_or_else(|| Error::new(ErrorCode::SystemError, D, "cannot get vCPU placement & pCPU time"))?;
        let info = VcpuInfo { number: idx, state: VCPU_RUNNING, cpu_time: st.cpu_time, cpu: st.processor };
        out.push((info, tid, sched_wait(pid, tid), sched_delay(pid, tid)));
    }
    Ok(out)
}

/// The CPU affinity of thread `tid` as a bitmap of `maplen` bytes (from the
/// `Cpus_allowed_list` line of its status file).
fn affinity(pid: i32, tid: i32, maplen: usize) -> Vec<u8> {
    let mut map = vec![0u8; maplen];
    let text = std::fs::read_to_string(format!("{}/status", task_dir(pid, Some(tid)))).unwrap_or_default();
    let list = text.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or("").trim();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else { continue };
        for cpu in a..=b {
            if let Some(byte) = map.get_mut(cpu / 8) {
                *byte |= 1 << (cpu % 8);
            }
        }
    }
    map
}

/// `virDomainGetVcpus`.
pub fn vcpus(drv: &Driver, d: &DomainRef, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
    let (_, pid) = pid_of(drv, d)?;
    let details = vcpu_details(drv, d, pid)?;
    let maplen = usize::try_from(maplen).unwrap_or(0);
    let mut infos = Vec::new();
    let mut maps = Vec::new();
    for (info, tid, _, _) in details.into_iter().take(usize::try_from(maxinfo).unwrap_or(0)) {
        infos.push(info);
        if maplen > 0 {
            maps.extend(affinity(pid, tid, maplen));
        }
    }
    Ok((infos, maps))
}

/// `virDomainGetControlInfo`: no monitor error and no job is tracked, so a running
/// domain's control interface is `ok`.
pub fn control_info(drv: &Driver, d: &DomainRef, flags: u32) -> Result<ControlInfo> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainGetControlInfo", D)?;
    read_def(drv, d)?;
    Ok(ControlInfo::default())
}

/// `virDomainGetJobInfo`: no background jobs (migration, dump, backup) run here, so
/// an active domain has `VIR_DOMAIN_JOB_NONE`.
pub fn job_info(drv: &Driver, d: &DomainRef) -> Result<JobInfo> {
    read_def(drv, d)?;
    Ok(JobInfo::default())
}

/// `virDomainGetJobStats` (`COMPLETED` = 1, `KEEP_COMPLETED` = 2): type none, no
/// parameters.
pub fn job_stats(drv: &Driver, d: &DomainRef, flags: u32) -> Result<(i32, Vec<TypedParam>)> {
    oxvirt::driver::check_flags(flags, 3, "qemuDomainGetJobStats", D)?;
    if flags & 1 != 0 {
        drv.doms().by_ref(d)?;
    } else {
        read_def(drv, d)?;
    }
    Ok((0, Vec::new()))
}

/// `query-block` → (format node name, `io-status`) of each device that has one.
pub fn parse_io_status(reply: &Value) -> Vec<(String, String)> {
    reply
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|b| {
            let node = b.pointer("/inserted/node-name").and_then(Value::as_str)?;
            let st = b.get("io-status").and_then(Value::as_str)?;
            Some((node.to_string(), st.to_string()))
        })
        .collect()
}

/// `virDomainGetDiskErrors` from `query-block`'s `io-status` (`nospace` → 2, `failed`
/// → 1); `maxerrors` 0 gives the number of disks.
pub fn disk_errors(drv: &Driver, d: &DomainRef, maxerrors: u32, flags: u32) -> Result<(i32, Vec<DiskError>)> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainGetDiskErrors", D)?;
    let def = read_def(drv, d)?;
    if maxerrors == 0 {
        return Ok((def.devices.disks.len() as i32, Vec::new()));
    }
    let reply = drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("query-block", None))?;
    let status = parse_io_status(&reply);
    let mut out = Vec::new();
    for (disk, node) in def.devices.disks.iter().zip(disk_nodes(&def)) {
        let Some(node) = node else { continue };
        let code = match status.iter().find(|(n, _)| *n == node).map(|(_, s)| s.as_str()) {
            Some("nospace") => 2,
            Some("failed") => 1,
            _ => continue,
        };
        if out.len() < maxerrors as usize {
            out.push(DiskError { disk: disk.target_dev.clone(), error: code });
        }
    }
    Ok((out.len() as i32, out))
}

/// `virDomainInjectNMI`: `inject-nmi`.
pub fn inject_nmi(drv: &Driver, d: &DomainRef, flags: u32) -> Result<()> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainInjectNMI", D)?;
    drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("inject-nmi", None))?;
    Ok(())
}

/// `virNodeGetCPUMap` from sysfs (libvirt's `virHostCPUGetMap`): the number of CPUs the
/// host can have (highest present id + 1), the map of the online ones, their count.
pub fn node_cpu_map() -> Result<(i32, Vec<u8>, u32)> {
    let read = |f: &str| {
        let path = format!("/sys/devices/system/cpu/{f}");
        std::fs::read_to_string(&path).map_err(|e| Error::new(ErrorCode::SystemError, D, format!("cannot read {path}: {e}")))
    };
    let present = crate::caps::numa::parse_list(&read("present")?);
    let online = crate::caps::numa::parse_list(&read("online")?);
    let n = present.iter().max().map_or(0, |m| m + 1) as usize;
    let mut map = vec![0u8; n.div_ceil(8)];
    let mut count = 0u32;
    for c in online.into_iter().map(|c| c as usize).filter(|c| *c < n) {
        map[c / 8] |= 1 << (c % 8);
        count += 1;
    }
    Ok((i32::try_from(n).unwrap_or(i32::MAX), map, count))
}

/// `virNodeGetInfo` of this host (libvirt's `virCapabilitiesGetNodeInfo`): the
/// machine, memory and online CPUs from `/proc`, the topology from sysfs.
pub fn node_info() -> Result<NodeInfo> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| Error::new(ErrorCode::SystemError, D, format!("cannot read /proc/meminfo: {e}")))?;
    let memory_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count().max(1) as u32;
    let mhz = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("cpu MHz"))
        .and_then(|v| v.split(':').nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0) as u32;
    let threads = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list")
        .map(|s| {
            s.trim()
                .split(',')
                .map(|p| p.split_once('-').map_or(1, |(a, b)| b.parse::<u32>().unwrap_or(0).saturating_sub(a.parse().unwrap_or(0)) + 1))
                .sum::<u32>()
        })
        .unwrap_or(1)
        .max(1);
    Ok(NodeInfo {
        model: std::env::consts::ARCH.to_string(),
        memory_kib,
        cpus,
        mhz,
        nodes: 1,
        sockets: 1,
        cores: (cpus / threads).max(1),
        threads,
    })
}

/// `virConnectGetAllDomainStats` / `virDomainListGetStats`: `list` gives the
/// domains when `doms` is empty (its argument: `virConnectListAllDomains` flags).
pub fn all_domain_stats(
    drv: &Driver,
    doms: &[DomainRef],
    stats: u32,
    flags: u32,
    list: impl FnOnce(u32) -> Result<Vec<DomainRef>>,
) -> Result<Vec<DomainStatsRecord>> {
    use stats_flags as F;
    let allowed = F::ACTIVE
        | F::INACTIVE
        | F::PERSISTENT
        | F::TRANSIENT
        | F::RUNNING
        | F::PAUSED
        | F::SHUTOFF
        | F::OTHER
        | F::NOWAIT
        | F::BACKING
        | F::ENFORCE_STATS;
    oxvirt::driver::check_flags(flags, allowed, "qemuConnectGetAllDomainStats", D)?;
    use stats_types as T;
    // Every group is supported with the QEMU versions this driver runs (libvirt checks
    // capabilities per group; perf, iothread, memory and vm have nothing to report
    // here: no perf events, no iothreads, no resctrl, no KVM statistics under TCG).
    let supported =
        T::STATE | T::CPU_TOTAL | T::BALLOON | T::VCPU | T::INTERFACE | T::BLOCK | T::PERF | T::IOTHREAD | T::MEMORY | T::DIRTYRATE | T::VM;
    if flags & F::ENFORCE_STATS != 0 && stats & !supported != 0 {
        return Err(Error::new(
            ErrorCode::ArgumentUnsupported,
            D,
            format!("Stats types bits 0x{:x} are not supported by this daemon or QEMU", stats & !supported),
        ));
    }
    let wanted = if stats == 0 { supported } else { stats & supported };
    let refs = if doms.is_empty() { list(translate_list_flags(flags & 0xff))? } else { doms.to_vec() };
    let mut out = Vec::new();
    for r in refs {
        drv.refresh(&r.uuid);
        // Domains that went away meanwhile are skipped, as libvirt does.
        let Some(s) = drv.doms().by_ref(&r).ok().map(snap) else { continue };
        let params = domain_stats(drv, &s, wanted);
        out.push(DomainStatsRecord { dom: s.dref, params });
    }
    Ok(out)
}

/// `virConnectGetAllDomainStats` list flags are `virConnectListAllDomains` flags with
/// other bit values.
fn translate_list_flags(f: u32) -> u32 {
    use stats_flags as F;
    let mut out = ListDomainsFlags::empty();
    for (a, b) in [
        (F::ACTIVE, ListDomainsFlags::ACTIVE),
        (F::INACTIVE, ListDomainsFlags::INACTIVE),
        (F::PERSISTENT, ListDomainsFlags::PERSISTENT),
        (F::TRANSIENT, ListDomainsFlags::TRANSIENT),
        (F::RUNNING, ListDomainsFlags::RUNNING),
        (F::PAUSED, ListDomainsFlags::PAUSED),
        (F::SHUTOFF, ListDomainsFlags::SHUTOFF),
        (F::OTHER, ListDomainsFlags::OTHER),
    ] {
        if f & a != 0 {
            out |= b;
        }
    }
    out.bits()
}

/// What the statistics of one domain are computed from.
struct Snap {
    dref: DomainRef,
    def: DomainDef,
    state: DomainState,
    reason: i32,
    pid: Option<i32>,
}

fn snap(o: &DomObj) -> Snap {
    Snap {
        dref: o.dref(),
        def: o.def.clone(),
        state: o.state,
        reason: o.reason,
        pid: o.run.as_ref().filter(|_| o.is_active()).map(|r| r.pid),
    }
}

fn domain_stats(drv: &Driver, s: &Snap, wanted: u32) -> Vec<TypedParam> {
    use stats_types as T;
    let mut p = TypedParamList::default();
    let active = s.pid.is_some();
    if wanted & T::STATE != 0 {
        p.int("state.state", s.state as i32);
        p.int("state.reason", s.reason);
    }
    if wanted & T::CPU_TOTAL != 0 {
        if let Some(st) = s.pid.and_then(|pid| proc_stat(pid, None)) {
            p.ullong("cpu.time", st.cpu_time);
            p.ullong("cpu.user", st.user_time);
            p.ullong("cpu.system", st.sys_time);
        }
    }
    if wanted & T::BALLOON != 0 {
        let total = s.def.memory_kib;
        let current = if has_balloon(&s.def) && s.def.current_memory_kib > 0 { s.def.current_memory_kib } else { total };
        p.ullong("balloon.current", current);
        p.ullong("balloon.maximum", total);
        if let Some(pid) = s.pid {
            if let Ok(stats) = memory_stats_internal(drv, &s.dref, &s.def, pid, memstat::NR) {
                let name = |tag: i32| match tag {
                    memstat::SWAP_IN => Some("swap_in"),
                    memstat::SWAP_OUT => Some("swap_out"),
                    memstat::MAJOR_FAULT => Some("major_fault"),
                    memstat::MINOR_FAULT => Some("minor_fault"),
                    memstat::UNUSED => Some("unused"),
                    memstat::AVAILABLE => Some("available"),
                    memstat::RSS => Some("rss"),
                    memstat::LAST_UPDATE => Some("last-update"),
                    memstat::USABLE => Some("usable"),
                    memstat::DISK_CACHES => Some("disk_caches"),
                    memstat::HUGETLB_PGALLOC => Some("hugetlb_pgalloc"),
                    memstat::HUGETLB_PGFAIL => Some("hugetlb_pgfail"),
                    _ => None,
                };
                for st in stats {
                    if let Some(n) = name(st.tag) {
                        p.ullong(format!("balloon.{n}"), st.val);
                    }
                }
            }
        }
    }
    if wanted & T::VCPU != 0 {
        p.uint("vcpu.current", s.def.vcpus_current);
        p.uint("vcpu.maximum", s.def.vcpus_max);
        if let Some(pid) = s.pid {
            if let Ok(details) = vcpu_details(drv, &s.dref, pid) {
                for (v, _, wait, delay) in details {
                    let n = v.number;
                    p.int(format!("vcpu.{n}.state"), v.state);
                    p.ullong(format!("vcpu.{n}.time"), v.cpu_time);
                    p.ullong(format!("vcpu.{n}.wait"), wait);
                    p.ullong(format!("vcpu.{n}.delay"), delay);
                }
            }
        }
    }
    if wanted & T::INTERFACE != 0 && active {
        p.uint("net.count", s.def.devices.interfaces.len() as u32);
        let text = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
        for (i, n) in s.def.devices.interfaces.iter().enumerate() {
            let Some(ifname) = &n.target_dev else { continue };
            p.string(format!("net.{i}.name"), ifname.clone());
            let Some(st) = parse_net_dev(&text, ifname, true) else { continue };
            for (name, v) in [
                ("rx.bytes", st.rx_bytes),
                ("rx.pkts", st.rx_packets),
                ("rx.errs", st.rx_errs),
                ("rx.drop", st.rx_drop),
                ("tx.bytes", st.tx_bytes),
                ("tx.pkts", st.tx_packets),
                ("tx.errs", st.tx_errs),
                ("tx.drop", st.tx_drop),
            ] {
                if let Ok(v) = u64::try_from(v) {
                    p.ullong(format!("net.{i}.{name}"), v);
                }
            }
        }
    }
    if wanted & T::BLOCK != 0 {
        block_group(drv, s, &mut p);
    }
    if wanted & T::DIRTYRATE != 0 && active {
        if let Ok(v) = drv.monitor_query(&s.dref, Expect::Nothing, |_| Ok(()), |q| q.execute("query-dirty-rate", None)) {
            dirtyrate_group(&v, &mut p);
        }
    }
    p.0
}

/// `query-dirty-rate` → the `dirtyrate` group (`qemuDomainGetStatsDirtyRate`).
pub fn dirtyrate_group(v: &Value, p: &mut TypedParamList) {
    let status = match v.get("status").and_then(Value::as_str) {
        Some("unstarted") => 0,
        Some("measuring") => 1,
        Some("measured") => 2,
        _ => return,
    };
    let mode = v.get("mode").and_then(Value::as_str).unwrap_or("page-sampling");
    p.int("dirtyrate.calc_status", status);
    p.llong("dirtyrate.calc_start_time", v.get("start-time").and_then(Value::as_i64).unwrap_or(0));
    p.int("dirtyrate.calc_period", v.get("calc-time").and_then(Value::as_i64).and_then(|t| i32::try_from(t).ok()).unwrap_or(0));
    p.string("dirtyrate.calc_mode", mode);
    if status == 2 {
        p.llong("dirtyrate.megabytes_per_second", v.get("dirty-rate").and_then(Value::as_i64).unwrap_or(0));
        if mode == "dirty-ring" {
            for r in v.get("vcpu-dirty-rate").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                if let (Some(id), Some(rate)) = (r.get("id").and_then(Value::as_i64), r.get("dirty-rate").and_then(Value::as_u64)) {
                    p.ullong(format!("dirtyrate.vcpu.{id}.megabytes_per_second"), rate);
                }
            }
        }
    }
}

fn block_group(drv: &Driver, s: &Snap, p: &mut TypedParamList) {
    let queried = s.pid.and_then(|_| {
        drv.monitor_query(
            &s.dref,
            Expect::Nothing,
            |_| Ok(()),
            |q| Ok((q.execute("query-blockstats", None)?, q.execute("query-named-block-nodes", Some(json!({"flat": true})))?)),
        )
        .ok()
    });
    let (stats, caps) = match &queried {
        Some((st, c)) => (parse_blockstats(st), parse_named_nodes(c)),
        None => (HashMap::new(), HashMap::new()),
    };
    let disks = &s.def.devices.disks;
    p.uint("block.count", disks.len() as u32);
    for (i, (disk, node)) in disks.iter().zip(disk_nodes(&s.def)).enumerate() {
        p.string(format!("block.{i}.name"), disk.target_dev.clone());
        let local = matches!(disk.disk_type.as_str(), "file" | "block" | "dir");
        if let (true, Some(path)) = (local, &disk.source.path) {
            p.string(format!("block.{i}.path"), path.clone());
        }
        if s.pid.is_none() {
            // Offline: what the image files say.
            let Some(path) = &disk.source.path else { continue };
            let Ok(m) = std::fs::metadata(path) else { continue };
            use std::os::unix::fs::MetadataExt;
            let capacity = if disk.driver_type() == Some("qcow2") { qcow2_size(path).unwrap_or(m.len()) } else { m.len() };
            for (name, v) in [("allocation", m.blocks() * 512), ("capacity", capacity), ("physical", m.len())] {
                if v != 0 {
                    p.ullong(format!("block.{i}.{name}"), v);
                }
            }
            continue;
        }
        let Some(node) = node else { continue };
        let Some(e) = stats.get(&node) else { continue };
        for (name, v) in [
            ("rd.reqs", e.rd_req),
            ("rd.bytes", e.rd_bytes),
            ("rd.times", e.rd_total_times),
            ("wr.reqs", e.wr_req),
            ("wr.bytes", e.wr_bytes),
            ("wr.times", e.wr_total_times),
            ("fl.reqs", e.flush_req),
            ("fl.times", e.flush_total_times),
        ] {
            p.ullong(format!("block.{i}.{name}"), v);
        }
        let cap = caps.get(&node).copied().unwrap_or_default();
        p.ullong(format!("block.{i}.allocation"), e.wr_highest_offset.unwrap_or(0));
        if cap.capacity != 0 {
            p.ullong(format!("block.{i}.capacity"), cap.capacity);
        }
        if cap.physical != 0 {
            p.ullong(format!("block.{i}.physical"), cap.physical);
        } else if let Some(m) = disk.source.path.as_ref().and_then(|path| std::fs::metadata(path).ok()) {
            p.ullong(format!("block.{i}.physical"), m.len());
        }
        let storage = node.replace("-format", "-storage");
        if let Some(t) = caps.get(&storage).map(|c| c.write_threshold).filter(|t| *t != 0) {
            p.ullong(format!("block.{i}.threshold"), t);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn blockstats_are_keyed_by_node_and_device() {
        let reply = json!([{
            "device": "", "node-name": "libvirt-1-format",
            "qdev": "/machine/peripheral/virtio-disk0/virtio-backend",
            "stats": {"rd_bytes": 4096, "wr_bytes": 512, "rd_operations": 3, "wr_operations": 1,
                      "rd_total_time_ns": 10, "wr_total_time_ns": 20, "flush_operations": 2, "flush_total_time_ns": 30},
            "parent": {"node-name": "libvirt-1-storage", "stats": {"wr_highest_offset": 1024}}
        }]);
        let s = parse_blockstats(&reply);
        let e = &s["libvirt-1-format"];
        assert_eq!((e.rd_req, e.rd_bytes, e.wr_req, e.wr_bytes, e.flush_req), (3, 4096, 1, 512, 2));
        assert_eq!((e.wr_highest_offset, e.nstats), (Some(1024), 8));
        assert_eq!(s["/machine/peripheral/virtio-disk0/virtio-backend"], *e);
    }

    #[test]
    fn balloon_stats_follow_libvirts_units_and_order() {
        let b = json!({"actual": 268435456});
        let g = json!({"last-update": 1700000000, "stats": {
            "stat-swap-in": 0, "stat-swap-out": 0, "stat-major-faults": 5, "stat-minor-faults": 70,
            "stat-free-memory": 104857600, "stat-total-memory": 209715200, "stat-available-memory": 157286400,
            "stat-disk-caches": 1048576, "stat-htlb-pgalloc": 0, "stat-htlb-pgfail": -1}});
        let s = parse_balloon_stats(Some(&b), Some(&g));
        let tags: Vec<(i32, u64)> = s.iter().map(|m| (m.tag, m.val)).collect();
        assert_eq!(
            tags,
            vec![(6, 262144), (0, 0), (1, 0), (2, 5), (3, 70), (4, 102400), (5, 204800), (8, 153600), (9, 1700000000), (10, 1024), (11, 0)]
        );
        assert_eq!(parse_balloon_stats(None, None), vec![]);
    }

    #[test]
    fn dirtyrate_group_follows_libvirt() {
        let mut p = TypedParamList::default();
        dirtyrate_group(&json!({"status": "unstarted", "start-time": 0, "calc-time": 0, "mode": "page-sampling"}), &mut p);
        let names: Vec<&str> = p.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(names, ["dirtyrate.calc_status", "dirtyrate.calc_start_time", "dirtyrate.calc_period", "dirtyrate.calc_mode"]);
        let mut p = TypedParamList::default();
        dirtyrate_group(&json!({"status": "measured", "start-time": 5, "calc-time": 1, "dirty-rate": 12}), &mut p);
        assert_eq!(
            p.0.last().map(|x| (x.field.as_str(), x.value.clone())),
            Some(("dirtyrate.megabytes_per_second", TypedValue::LLong(12)))
        );
    }

    #[test]
    fn proc_stat_and_net_dev_parse() {
        let stat = "1234 (qemu-system-x86) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 3 0 100 1000000 5000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        let p = parse_proc_stat(stat).unwrap();
        assert_eq!((p.cpu_time, p.user_time, p.sys_time, p.processor), (2_000_000_000, 1_500_000_000, 500_000_000, 1));
        let dev = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n  vnet0: 100 2 0 0 0 0 0 0 300 4 0 1 0 0 0 0\n";
        let s = parse_net_dev(dev, "vnet0", true).unwrap();
        assert_eq!((s.rx_bytes, s.rx_packets, s.tx_bytes, s.tx_packets, s.rx_drop), (300, 4, 100, 2, 1));
        assert!(parse_net_dev(dev, "eth9", true).is_none());
    }
}
