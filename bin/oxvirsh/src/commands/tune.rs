//! Tuning and pinning commands (`schedinfo`, `memtune`, `blkiotune`, `vcpupin`,
//! `emulatorpin`) and the node's CPU and memory commands (`nodecpustats`, `nodememstats`, `nodecpumap`,
//! `cpu-models`), with virsh's options, output layout and error lines.

use super::*;
use crate::parse::{b, n, s, CmdDef, CmdResult, Needs, OptDef, OptKind, DOMAIN, EMPTY_OK, REQ, REQ_OPT};
use crate::table::Table;
use oxvirt::typedparam::{TypedParam, TypedValue, MEMORY_PARAM_UNLIMITED};
use oxvirt::DomainModFlags;
use std::collections::BTreeSet;

const CONFIG: OptDef = b("config", "affect next boot");
const LIVE: OptDef = b("live", "affect running domain");
const CURRENT: OptDef = b("current", "affect current domain");

macro_rules! cmd {
    ($name:expr, $group:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: $group, help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Tuning and node CPU commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "schedinfo",
        "domain",
        "show/set scheduler parameters",
        &[
            DOMAIN,
            n("weight", REQ_OPT, "weight for XEN_CREDIT"),
            n("cap", REQ_OPT, "cap for XEN_CREDIT"),
            b("current", "get/set current scheduler info"),
            b("config", "get/set value to be used on next boot"),
            b("live", "get/set value from running domain"),
            OptDef { name: "set", kind: OptKind::Argv, flags: 0, help: "parameter=value", complete: crate::parse::Complete::None },
        ],
        cmd_schedinfo
    ),
    cmd!(
        "memtune",
        "domain",
        "Get or set memory parameters",
        &[
            DOMAIN,
            n("hard-limit", 0, "Max memory, as scaled integer (default KiB)"),
            n("soft-limit", 0, "Memory during contention, as scaled integer (default KiB)"),
            n("swap-hard-limit", 0, "Max memory plus swap, as scaled integer (default KiB)"),
            n("min-guarantee", 0, "Min guaranteed memory, as scaled integer (default KiB)"),
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_memtune
    ),
    cmd!(
        "blkiotune",
        "domain",
        "Get or set blkio parameters",
        &[
            DOMAIN,
            n("weight", 0, "IO Weight"),
            s("device-weights", 0, "per-device IO Weights, in the form of /path/to/device,weight,..."),
            s("device-read-iops-sec", 0, "per-device read I/O limit per second, in the form of /path/to/device,read_iops_sec,..."),
            s("device-write-iops-sec", 0, "per-device write I/O limit per second, in the form of /path/to/device,write_iops_sec,..."),
            s("device-read-bytes-sec", 0, "per-device bytes read per second, in the form of /path/to/device,read_bytes_sec,..."),
            s("device-write-bytes-sec", 0, "per-device bytes wrote per second, in the form of /path/to/device,write_bytes_sec,..."),
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_blkiotune
    ),
    cmd!(
        "numatune",
        "domain",
        "Get or set numa parameters",
        &[
            DOMAIN,
            s("mode", 0, "NUMA mode, one of strict, preferred and interleave or a number from the virDomainNumatuneMemMode enum"),
            s("nodeset", 0, "NUMA node selections to set"),
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_numatune
    ),
    cmd!(
        "perf",
        "domain",
        "Get or set perf event",
        &[
            DOMAIN,
            s("enable", 0, "perf events which will be enabled"),
            s("disable", 0, "perf events which will be disabled"),
            CONFIG,
            LIVE,
            CURRENT
        ],
        cmd_perf
    ),
    cmd!(
        "set-lifecycle-action",
        "domain",
        "change lifecycle actions",
        &[
            DOMAIN,
            OptDef {
                name: "type",
                kind: OptKind::Data,
                flags: REQ,
                help: "lifecycle type to modify",
                complete: crate::parse::Complete::None
            },
            OptDef {
                name: "action",
                kind: OptKind::Data,
                flags: REQ,
                help: "lifecycle action to set",
                complete: crate::parse::Complete::None
            },
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_set_lifecycle_action
    ),
    cmd!(
        "dump",
        "domain",
        "dump the core of a domain to a file for analysis",
        &[
            DOMAIN,
            OptDef {
                name: "file",
                kind: OptKind::Data,
                flags: REQ,
                help: "where to dump the core",
                complete: crate::parse::Complete::None
            },
            b("live", "perform a live core dump if supported"),
            b("crash", "crash the domain after core dump"),
            b("bypass-cache", "avoid file system cache when dumping"),
            b("reset", "reset the domain after core dump"),
            b("verbose", "display the progress of dump"),
            b("memory-only", "dump domain's memory only"),
            s("format", 0, "specify the format of memory-only dump"),
        ],
        cmd_dump
    ),
    cmd!(
        "vcpupin",
        "domain",
        "control or query domain vcpu affinity",
        &[
            DOMAIN,
            n("vcpu", 0, "vcpu number"),
            s("cpulist", EMPTY_OK, "host cpu number(s) to set, or omit option to query"),
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_vcpupin
    ),
    cmd!(
        "emulatorpin",
        "domain",
        "control or query domain emulator affinity",
        &[DOMAIN, s("cpulist", EMPTY_OK, "host cpu number(s) to set, or omit option to query"), CONFIG, LIVE, CURRENT],
        cmd_emulatorpin
    ),
    cmd!(
        "nodecpustats",
        "host",
        "Prints cpu stats of the node.",
        &[n("cpu", 0, "prints specified cpu statistics only."), b("percent", "prints by percentage during 1 second.")],
        cmd_nodecpustats
    ),
    cmd!(
        "nodememstats",
        "host",
        "Prints memory stats of the node.",
        &[n("cell", 0, "prints specified cell statistics only.")],
        cmd_nodememstats
    ),
    cmd!(
        "freepages",
        "host",
        "NUMA free pages",
        &[n("cellno", 0, "NUMA cell number"), n("pagesize", 0, "page size (in kibibytes)"), b("all", "show free pages for all NUMA cells")],
        cmd_freepages
    ),
    cmd!(
        "domiftune",
        "domain",
        "get/set parameters of a virtual interface",
        &[
            DOMAIN,
            OptDef {
                name: "interface",
                kind: OptKind::Data,
                flags: REQ,
                help: "interface device (MAC Address)",
                complete: crate::parse::Complete::None
            },
            s("inbound", 0, "control domain's incoming traffics"),
            s("outbound", 0, "control domain's outgoing traffics"),
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_domiftune
    ),
    cmd!(
        "save-image-define",
        "domain",
        "redefine the XML for a domain's saved state file",
        &[
            OptDef {
                name: "file",
                kind: OptKind::Data,
                flags: REQ,
                help: "saved state file to modify",
                complete: crate::parse::Complete::None
            },
            OptDef {
                name: "xml",
                kind: OptKind::Data,
                flags: REQ,
                help: "filename containing updated XML for the target",
                complete: crate::parse::Complete::None,
            },
            b("running", "set domain to be running on restore"),
            b("paused", "set domain to be paused on restore"),
        ],
        cmd_save_image_define
    ),
    cmd!(
        "save-image-dumpxml",
        "domain",
        "saved state domain information in XML",
        &[
            OptDef {
                name: "file",
                kind: OptKind::Data,
                flags: REQ,
                help: "saved state file to read",
                complete: crate::parse::Complete::None
            },
            b("security-info", "include security sensitive information in XML dump"),
        ],
        cmd_save_image_dumpxml
    ),
    cmd!("iothreadinfo", "domain", "view domain IOThreads", &[DOMAIN, CONFIG, LIVE, CURRENT], cmd_iothreadinfo),
    cmd!(
        "iothreadpin",
        "domain",
        "control domain IOThread affinity",
        &[
            DOMAIN,
            n("iothread", REQ, "IOThread ID number"),
            OptDef {
                name: "cpulist",
                kind: OptKind::Data,
                flags: REQ,
                help: "host cpu number(s) to set",
                complete: crate::parse::Complete::None
            },
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_iothreadpin
    ),
    cmd!(
        "iothreadadd",
        "domain",
        "add an IOThread to the guest domain",
        &[DOMAIN, n("id", REQ, "iothread for the new IOThread"), CONFIG, LIVE, CURRENT],
        cmd_iothreadadd
    ),
    cmd!(
        "iothreaddel",
        "domain",
        "delete an IOThread from the guest domain",
        &[DOMAIN, n("id", REQ, "iothread_id for the IOThread to delete"), CONFIG, LIVE, CURRENT],
        cmd_iothreaddel
    ),
    cmd!(
        "iothreadset",
        "domain",
        "modifies an existing IOThread of the guest domain",
        &[
            DOMAIN,
            n("id", REQ, "iothread id of existing IOThread"),
            n("poll-max-ns", 0, "set the maximum IOThread polling time in ns"),
            n("poll-grow", 0, "set the value to increase the IOThread polling time"),
            n("poll-shrink", 0, "set the value for reduction of the IOThread polling time"),
            n("thread-pool-min", 0, "lower boundary for worker thread pool"),
            n("thread-pool-max", 0, "upper boundary for worker thread pool"),
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_iothreadset
    ),
    cmd!("nodecpumap", "host", "node cpu map", &[b("pretty", "return human readable output")], cmd_nodecpumap),
    cmd!(
        "cpu-models",
        "host",
        "CPU models",
        &[OptDef { name: "arch", kind: OptKind::Data, flags: REQ, help: "architecture", complete: crate::parse::Complete::None }],
        cmd_cpu_models
    ),
];

use super::info::param_value;

/// `virTypedParamsAddFromString`: `value` parsed as the type of `like`.
fn param_from_string(like: &TypedParam, value: &str) -> Result<TypedParam, oxvirt::Error> {
    let bad = |what: &str| {
        oxvirt::Error::new(
            oxvirt::ErrorCode::InvalidArg,
            oxvirt::ErrorDomain::None,
            format!("Invalid value for field '{}': expected {what}", like.field),
        )
    };
    let v = match like.value {
        TypedValue::Int(_) => TypedValue::Int(value.parse().map_err(|_| bad("int"))?),
        TypedValue::UInt(_) => TypedValue::UInt(value.parse().map_err(|_| bad("unsigned int"))?),
        TypedValue::LLong(_) => TypedValue::LLong(value.parse().map_err(|_| bad("long long"))?),
        TypedValue::ULLong(_) => TypedValue::ULLong(value.parse().map_err(|_| bad("unsigned long long"))?),
        TypedValue::Double(_) => TypedValue::Double(value.parse().map_err(|_| bad("double"))?),
        TypedValue::Boolean(_) => TypedValue::Boolean(if value.eq_ignore_ascii_case("true") || value == "1" {
            true
        } else if value.eq_ignore_ascii_case("false") || value == "0" {
            false
        } else {
            return Err(oxvirt::Error::new(
                oxvirt::ErrorCode::InvalidArg,
                oxvirt::ErrorDomain::None,
                format!("Invalid boolean value for field '{}'", like.field),
            ));
        }),
        TypedValue::String(_) => TypedValue::String(value.to_string()),
    };
    Ok(TypedParam::new(&like.field, v))
}

fn cmd_schedinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let (current, config, live) = (cmd.has("current"), cmd.has("config"), cmd.has("live"));
    // --live and --config together: query the current definition
    let queryflags = if config && live { DomainModFlags::empty() } else { flags };
    let with_flags = !flags.is_empty() || current;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let (typ, nparams) = match dom.scheduler_type() {
        Ok(t) => t,
        Err(e) => {
            ctl.print(&format!("{:<15}: Unknown\n", "Scheduler"));
            return Err(Fail::Api(e));
        }
    };
    ctl.print(&format!("{:<15}: {typ}\n", "Scheduler"));
    if nparams == 0 {
        return Ok(());
    }
    let get = |d: &oxvirt::Domain| if with_flags { d.scheduler_parameters_flags(queryflags) } else { d.scheduler_parameters() };
    let mut params = get(&dom)?;
    params.truncate(nparams.max(0) as usize);
    // --set name=value..., then --cap and --weight
    let mut updates = Vec::new();
    let mut wanted: Vec<(String, String)> = Vec::new();
    for kv in cmd.all("set") {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(ctl.fail_msg("Invalid syntax for --set, expecting name=value"));
        };
        wanted.push((k.to_string(), v.to_string()));
    }
    for name in ["cap", "weight"] {
        if let Some(v) = opt_str(ctl, cmd, name)? {
            wanted.push((name.to_string(), v.to_string()));
        }
    }
    for (k, v) in wanted {
        let Some(like) = params.iter().find(|p| p.field == k) else {
            return Err(ctl.fail_msg(format!("invalid scheduler option: {k}")));
        };
        updates.push(param_from_string(like, &v)?);
    }
    if !updates.is_empty() {
        dom.set_scheduler_parameters(&updates, if with_flags { flags } else { DomainModFlags::empty() })?;
        params = get(&dom)?;
        params.truncate(nparams.max(0) as usize);
    } else if live && config {
        return Err(ctl.fail_msg("cannot query both live and config at once"));
    }
    let mut o = String::new();
    for p in &params {
        o += &format!("{:<15}: {}\n", p.field, param_value(p));
    }
    ctl.print(&o);
    Ok(())
}

/// `virshMemtuneGetSize`: KiB from a scaled integer (default KiB); negative means
/// unlimited. `None` when the option is absent, `Err(())` when it does not parse.
fn memtune_size(cmd: &Cmd, name: &str) -> Result<Option<u64>, ()> {
    let Some(v) = cmd.get(name) else { return Ok(None) };
    let digits = v.strip_prefix('-').unwrap_or(v);
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 {
        return Err(());
    }
    if v.starts_with('-') {
        let _: i64 = v[..end + 1].parse().map_err(|_| ())?;
        return Ok(Some(MEMORY_PARAM_UNLIMITED));
    }
    let bytes = crate::parse::parse_scaled(v, 1024).ok_or(())?;
    if bytes > i64::MAX as u64 {
        return Err(());
    }
    Ok(Some(bytes.div_ceil(1024)))
}

fn cmd_memtune(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut params = Vec::new();
    for (opt, field) in [
        ("hard-limit", "hard_limit"),
        ("soft-limit", "soft_limit"),
        ("swap-hard-limit", "swap_hard_limit"),
        ("min-guarantee", "min_guarantee"),
    ] {
        match memtune_size(cmd, opt) {
            Ok(Some(kib)) => params.push(TypedParam::new(field, TypedValue::ULLong(kib))),
            Ok(None) => {}
            Err(()) => return Err(ctl.fail_msg(format!("Unable to parse integer parameter {opt}"))),
        }
    }
    if !params.is_empty() {
        dom.set_memory_parameters(&params, flags).map_err(|e| ctl.fail("Unable to change memory parameters", e))?;
        return Ok(());
    }
    // libvirt's first call (the count) fails on these flags before the driver is asked
    oxvirt::typedparam::live_config_exclusive(flags.bits()).map_err(|e| ctl.fail("Unable to get number of memory parameters", e))?;
    let params = dom.memory_parameters(flags).map_err(|e| ctl.fail("Unable to get memory parameters", e))?;
    let mut o = String::new();
    for p in &params {
        let v = match p.value {
            TypedValue::ULLong(MEMORY_PARAM_UNLIMITED) => "unlimited".to_string(),
            _ => param_value(p),
        };
        o += &format!("{:<15}: {v}\n", p.field);
    }
    ctl.print(&o);
    Ok(())
}

fn cmd_blkiotune(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut params = Vec::new();
    if let Some(w) = cmd.int("weight").map_err(|m| ctl.fail_msg(m))? {
        if w <= 0 || w > i64::from(u32::MAX) {
            return Err(ctl.fail_msg(format!("Invalid value of {} for I/O weight", w as i32)));
        }
        params.push(TypedParam::new("weight", TypedValue::UInt(w as u32)));
    }
    for (opt, field) in [
        ("device-weights", "device_weight"),
        ("device-read-iops-sec", "device_read_iops_sec"),
        ("device-write-iops-sec", "device_write_iops_sec"),
        ("device-read-bytes-sec", "device_read_bytes_sec"),
        ("device-write-bytes-sec", "device_write_bytes_sec"),
    ] {
        if let Some(v) = opt_str(ctl, cmd, opt)? {
            params.push(TypedParam::new(field, TypedValue::String(v.to_string())));
        }
    }
    if !params.is_empty() {
        dom.set_blkio_parameters(&params, flags).map_err(|e| ctl.fail("Unable to change blkio parameters", e))?;
        return Ok(());
    }
    oxvirt::typedparam::live_config_exclusive(flags.bits()).map_err(|e| ctl.fail("Unable to get number of blkio parameters", e))?;
    let params = dom.blkio_parameters(flags).map_err(|e| ctl.fail("Unable to get blkio parameters", e))?;
    let mut o = String::new();
    for p in &params {
        o += &format!("{:<15}: {}\n", p.field, param_value(p));
    }
    ctl.print(&o);
    Ok(())
}

/// `virBitmapParse` (at most 1024 bits): `0-3,^2,7`.
fn parse_cpulist(s: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let (neg, part) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let v = part.parse::<u32>().ok()?;
                (v, v)
            }
        };
        if b < a || b >= 1024 || (neg && a != b) {
            return None;
        }
        for i in a..=b {
            if neg {
                set.remove(&i);
            } else {
                set.insert(i);
            }
        }
    }
    Some(set)
}

/// `virBitmapDataFormat`: the set bits of a cpumap as ranges.
fn format_map(map: &[u8]) -> String {
    let mut bits = Vec::new();
    for (i, byte) in map.iter().enumerate() {
        for bit in 0..8 {
            if byte & (1 << bit) != 0 {
                bits.push(i as u32 * 8 + bit);
            }
        }
    }
    let mut out = Vec::new();
    let mut k = 0;
    while k < bits.len() {
        let start = bits[k];
        let mut end = start;
        while k + 1 < bits.len() && bits[k + 1] == end + 1 {
            end += 1;
            k += 1;
        }
        out.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        k += 1;
    }
    out.join(",")
}

/// `virshNodeGetCPUCount`: the map's CPU count, else from the node info.
fn node_cpu_count(ctl: &Ctl, conn: &oxvirt::Connect) -> Result<i32, Fail> {
    match conn.node_cpu_map(0) {
        Ok((n, _, _)) => Ok(n),
        Err(_) => match conn.node_info() {
            Ok(i) => Ok((i.nodes * i.sockets * i.cores * i.threads) as i32),
            Err(e) => Err(ctl.fail("Unable to get cpu count", e)),
        },
    }
}

/// `virshParseCPUList`: a cpumap for `cpulist` (`r`: every CPU).
fn parse_cpumap(ctl: &Ctl, cpulist: &str, maxcpu: i32) -> Result<Vec<u8>, Fail> {
    let maxcpu = maxcpu.max(0) as u32;
    let set: BTreeSet<u32> = if cpulist.starts_with('r') {
        (0..maxcpu).collect()
    } else {
        let set = match parse_cpulist(cpulist) {
            Some(s) if !s.is_empty() => s,
            Some(_) => return Err(ctl.fail_msg(format!("Invalid cpulist '{cpulist}'"))),
            None => {
                let e = oxvirt::Error::new(
                    oxvirt::ErrorCode::InvalidArg,
                    oxvirt::ErrorDomain::None,
                    format!("Failed to parse bitmap '{cpulist}'"),
                );
                return Err(ctl.fail(format!("Invalid cpulist '{cpulist}'"), e));
            }
        };
        if let Some(&last) = set.iter().next_back() {
            if last >= maxcpu {
                return Err(ctl.fail_msg(format!("CPU {last} in cpulist '{cpulist}' exceed the maxcpu {maxcpu}")));
            }
        }
        set
    };
    // virBitmapToData: just enough bytes for the highest set bit
    let len = (set.iter().next_back().map(|b| b + 1).unwrap_or(1) as usize).div_ceil(8);
    let mut map = vec![0u8; len];
    for b in set {
        map[(b / 8) as usize] |= 1 << (b % 8);
    }
    Ok(map)
}

fn cmd_vcpupin(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    exclusive(ctl, cmd, "current", "live")?;
    exclusive(ctl, cmd, "current", "config")?;
    let (config, live, current) = (cmd.has("config"), cmd.has("live"), cmd.has("current"));
    let mut flags = DomainModFlags::empty();
    if config {
        flags |= DomainModFlags::CONFIG;
    }
    if live {
        flags |= DomainModFlags::LIVE;
    }
    let cpulist = opt_str(ctl, cmd, "cpulist")?;
    if cpulist.is_none() {
        exclusive(ctl, cmd, "live", "config")?;
    }
    let vcpu = cmd.uint("vcpu").map_err(|m| ctl.fail_msg(m))?;
    let vcpu = match vcpu {
        Some(v) => Some(
            u32::try_from(v).map_err(|_| ctl.fail_msg(format!("Numeric value '{v}' for <vcpu> option is malformed or out of range")))?,
        ),
        None => None,
    };
    if cpulist.is_some() && vcpu.is_none() {
        return Err(ctl.fail_msg("vcpupin: Missing vCPU number in pin mode."));
    }
    let conn = ctl.conn()?;
    let maxcpu = node_cpu_count(ctl, &conn)?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let Some(cpulist) = cpulist else {
        // query mode
        let live_ok = !live || dom.is_active().unwrap_or(false);
        let config_ok = !config || dom.is_persistent().unwrap_or(false);
        if !live_ok || !config_ok {
            return Err(ctl.fail_msg(if live {
                "cannot get vcpupin for offline domain"
            } else {
                "cannot get vcpupin for transient domain"
            }));
        }
        let ncpus = dom.vcpus_flags(flags | DomainModFlags::MAXIMUM)?;
        if let Some(v) = vcpu {
            if v as i32 >= ncpus {
                let live_count = live || (!config && dom.is_active().unwrap_or(false));
                return Err(ctl.fail_msg(if live_count {
                    format!("vcpu {v} is out of range of live cpu count {ncpus}")
                } else {
                    format!("vcpu {v} is out of range of persistent cpu count {ncpus}")
                }));
            }
        }
        let maplen = (maxcpu.max(0) as usize).div_ceil(8) as i32;
        let (maps, n) = dom.vcpu_pin_info(ncpus, maplen, flags)?;
        let mut t = Table::new(&["VCPU", "CPU Affinity"]);
        for i in 0..n.max(0) as usize {
            if vcpu.is_some_and(|v| v as usize != i) {
                continue;
            }
            let m = maps.get(i * maplen as usize..(i + 1) * maplen as usize).unwrap_or(&[]);
            t.row(&[i.to_string(), format_map(m)]);
        }
        ctl.print_table(&t);
        return Ok(());
    };
    let map = parse_cpumap(ctl, cpulist, maxcpu)?;
    let vcpu = vcpu.unwrap_or(0);
    // without any option virsh uses the older virDomainPinVcpu; with --current,
    // virDomainPinVcpuFlags with no flags, which reaches the driver the same way
    let _ = current;
    dom.pin_vcpu(vcpu, &map, flags)?;
    Ok(())
}

fn cmd_emulatorpin(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let none = !cmd.has("current") && !cmd.has("live") && !cmd.has("config");
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let cpulist = opt_str(ctl, cmd, "cpulist")?;
    let maxcpu = node_cpu_count(ctl, &conn)?;
    let Some(cpulist) = cpulist else {
        let maplen = (maxcpu.max(0) as usize).div_ceil(8) as i32;
        let map = dom.emulator_pin_info(maplen, flags)?;
        ctl.extra("emulator: CPU Affinity\n");
        ctl.extra("----------------------------------\n");
        ctl.extra("       *: ");
        ctl.print(&format!("{}\n", format_map(&map)));
        return Ok(());
    };
    let map = parse_cpumap(ctl, cpulist, maxcpu)?;
    dom.pin_emulator(&map, if none { DomainModFlags::LIVE } else { flags })?;
    Ok(())
}

fn cmd_nodememstats(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let cell = match cmd.int("cell").map_err(|m| ctl.fail_msg(m))? {
        Some(v) => {
            i32::try_from(v).map_err(|_| ctl.fail_msg(format!("Numeric value '{v}' for <cell> option is malformed or out of range")))?
        }
        None => -1, // VIR_NODE_MEMORY_STATS_ALL_CELLS
    };
    let conn = ctl.conn()?;
    let stats = conn.node_memory_stats(cell, 0).map_err(|e| ctl.fail("Unable to get number of memory stats", e))?;
    let out: String = stats.iter().map(|(f, v)| format!("{f:<7}: {v:>20} KiB\n")).collect();
    ctl.print(&out);
    Ok(())
}

fn cmd_nodecpustats(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let cpu = match cmd.int("cpu").map_err(|m| ctl.fail_msg(m))? {
        Some(v) => {
            i32::try_from(v).map_err(|_| ctl.fail_msg(format!("Numeric value '{v}' for <cpu> option is malformed or out of range")))?
        }
        None => -1, // VIR_NODE_CPU_STATS_ALL_CPUS
    };
    let percent = cmd.has("percent");
    let conn = ctl.conn()?;
    // user, system (kernel), idle, iowait, intr, usage (utilization)
    const FIELDS: [&str; 6] = ["user", "kernel", "idle", "iowait", "intr", "utilization"];
    const LABELS: [&str; 6] = ["user:", "system:", "idle:", "iowait:", "intr:", "usage:"];
    let first = conn.node_cpu_stats(cpu, 0).map_err(|e| ctl.fail("Unable to get number of cpu stats", e))?;
    if first.is_empty() {
        return Ok(());
    }
    let mut stats = [0u64; 6];
    let mut present = [false; 6];
    for (f, v) in &first {
        if let Some(i) = FIELDS.iter().position(|x| x == f) {
            stats[i] = *v;
            present[i] = true;
        }
    }
    if percent && !present[5] {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let second = conn.node_cpu_stats(cpu, 0).map_err(|e| ctl.fail("Unable to get node cpu stats", e))?;
        for (f, v) in &second {
            if let Some(i) = FIELDS.iter().position(|x| x == f) {
                if present[i] {
                    stats[i] = v.wrapping_sub(stats[i]);
                }
            }
        }
    }
    let mut o = String::new();
    if !percent {
        for i in 0..5 {
            if present[i] {
                o += &format!("{:<15} {:>20}\n", LABELS[i], stats[i]);
            }
        }
    } else if present[5] {
        o += &format!("{:<15} {:>5}%\n", "usage:", stats[5]);
        o += &format!("{:<15} {:>5}%\n", "idle:", 100u64.wrapping_sub(stats[5]));
    } else {
        let total: f64 = stats[..5].iter().map(|v| *v as f64).sum();
        let pct = |v: f64| {
            let p = v / total * 100.0;
            if p.is_nan() {
                " -nan".to_string()
            } else {
                format!("{p:>5.1}")
            }
        };
        o += &format!("{:<15} {}%\n", "usage:", pct((stats[0] + stats[1]) as f64));
        for i in 0..5 {
            if present[i] {
                o += &format!("{:<15} {}%\n", LABELS[i], pct(stats[i] as f64));
            }
        }
    }
    ctl.print(&o);
    Ok(())
}

fn cmd_nodecpumap(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let (n, map, online) = conn.node_cpu_map(0).map_err(|e| ctl.fail("Unable to get cpu map", e))?;
    let mut o = format!("{:<15} {n}\n{:<15} {online}\n{:<15} ", "CPUs present:", "CPUs online:", "CPU map:");
    if cmd.has("pretty") {
        o += &format_map(&map[..map.len().min((n.max(0) as usize).div_ceil(8))]);
    } else {
        for cpu in 0..n.max(0) as usize {
            let used = map.get(cpu / 8).is_some_and(|b| b & (1 << (cpu % 8)) != 0);
            o.push(if used { 'y' } else { '-' });
        }
    }
    o.push('\n');
    ctl.print(&o);
    Ok(())
}

fn cmd_cpu_models(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let arch = req_str(ctl, cmd, "arch")?.to_string();
    let conn = ctl.conn()?;
    let models = conn.cpu_model_names(&arch, 0).map_err(|e| ctl.fail("failed to get CPU model names", e))?;
    if models.is_empty() {
        ctl.extra("all CPU models are accepted\n");
    } else {
        let mut o = String::new();
        for m in models {
            o += &m;
            o.push('\n');
        }
        ctl.print(&o);
    }
    Ok(())
}

const NUMA_MODES: [&str; 4] = ["strict", "preferred", "interleave", "restrictive"];

fn cmd_numatune(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut params = Vec::new();
    if let Some(ns) = opt_str(ctl, cmd, "nodeset")? {
        params.push(TypedParam::new("numa_nodeset", TypedValue::String(ns.to_string())));
    }
    if let Some(m) = opt_str(ctl, cmd, "mode")? {
        let mode = match NUMA_MODES.iter().position(|x| *x == m) {
            Some(i) => i as i32,
            None => parse_c_int(m).ok_or_else(|| ctl.fail_msg(format!("Invalid mode: {m}")))?,
        };
        params.push(TypedParam::new("numa_mode", TypedValue::Int(mode)));
    }
    if !params.is_empty() {
        dom.set_numa_parameters(&params, flags).map_err(|e| ctl.fail("Unable to change numa parameters", e))?;
        return Ok(());
    }
    // (unlike memtune's, libvirt's count call here does not check the flags)
    let params = dom.numa_parameters(flags).map_err(|e| ctl.fail("Unable to get numa parameters", e))?;
    let mut o = String::new();
    for p in &params {
        let v = match p.value {
            TypedValue::Int(m) if p.field == "numa_mode" => {
                NUMA_MODES.get(m as usize).map(|s| s.to_string()).unwrap_or_else(|| "(null)".into())
            }
            _ => param_value(p),
        };
        o += &format!("{:<15}: {v}\n", p.field);
    }
    ctl.print(&o);
    Ok(())
}

/// `virStrToLong_i(s, NULL, 0)`: decimal, `0x` hex or `0` octal.
fn parse_c_int(s: &str) -> Option<i32> {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<i64>().ok()?
    };
    i32::try_from(if neg { -v } else { v }).ok()
}

fn print_perf(ctl: &mut Ctl, params: &[TypedParam]) {
    let mut o = String::new();
    for p in params {
        let on = matches!(p.value, TypedValue::Boolean(true));
        o += &format!("{:<15}: {}\n", p.field, if on { "enabled" } else { "disabled" });
    }
    ctl.extra(&o);
}

fn cmd_perf(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let enable = opt_str(ctl, cmd, "enable")?.map(str::to_string);
    let disable = opt_str(ctl, cmd, "disable")?.map(str::to_string);
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut params = Vec::new();
    for (list, on) in [(enable, true), (disable, false)] {
        for ev in list.iter().flat_map(|l| l.split(',')).filter(|e| !e.is_empty()) {
            params.push(TypedParam::new(ev, TypedValue::Boolean(on)));
        }
    }
    if params.is_empty() {
        let params = dom.perf_events(flags).map_err(|e| ctl.fail("Unable to get perf events", e))?;
        print_perf(ctl, &params);
    } else {
        dom.set_perf_events(&params, flags).map_err(|e| ctl.fail("Unable to enable/disable perf events", e))?;
        print_perf(ctl, &params);
    }
    Ok(())
}

fn cmd_set_lifecycle_action(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let typ = req_str(ctl, cmd, "type")?;
    let action = req_str(ctl, cmd, "action")?;
    let Some(t) = ["poweroff", "reboot", "crash"].iter().position(|x| *x == typ) else {
        return Err(ctl.fail_msg(format!("Invalid lifecycle type '{typ}'.")));
    };
    let actions = ["destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart"];
    let Some(a) = actions.iter().position(|x| *x == action) else {
        return Err(ctl.fail_msg(format!("Invalid lifecycle action '{action}'.")));
    };
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.set_lifecycle_action(t as u32, a as u32, flags).map_err(|e| ctl.fail("Unable to change lifecycle action.", e))?;
    Ok(())
}

fn cmd_dump(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let to = req_str(ctl, cmd, "file")?.to_string();
    let name = dom.name().to_string();
    // VIR_DUMP_CRASH 1, LIVE 2, BYPASS_CACHE 4, RESET 8, MEMORY_ONLY 16
    let mut flags = 0;
    for (o, bit) in [("live", 2), ("crash", 1), ("bypass-cache", 4), ("reset", 8), ("memory-only", 16)] {
        if cmd.has(o) {
            flags |= bit;
        }
    }
    let mut dumpformat = 0;
    if cmd.has("format") {
        if flags & 16 == 0 {
            return Err(ctl.fail_msg("--format only works with --memory-only"));
        }
        if let Some(f) = cmd.get("format").filter(|f| !f.is_empty()) {
            dumpformat = match ["elf", "kdump-zlib", "kdump-lzo", "kdump-snappy", "win-dmp"].iter().position(|x| *x == f) {
                Some(i) => i as u32,
                None => {
                    return Err(ctl.fail_msg(format!(
                        "format '{f}' is not supported, expecting 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp' or 'elf'"
                    )))
                }
            };
        }
    }
    // libvirt's client library passes an absolute path
    let abs = if to.starts_with('/') {
        to.clone()
    } else {
        std::env::current_dir().map(|d| d.join(&to).to_string_lossy().into_owned()).unwrap_or_else(|_| to.clone())
    };
    dom.core_dump(&abs, dumpformat, flags).map_err(|e| ctl.fail(format!("Failed to core dump domain '{name}' to {to}"), e))?;
    ctl.extra(&format!("\nDomain '{name}' dumped to {to}\n"));
    Ok(())
}

/// The `size` attributes of `<pages>` elements under `path` (`a/b/c`) of the
/// capabilities XML.
fn caps_page_sizes(doc: &roxmltree::Document<'_>, path: &[&str]) -> Vec<String> {
    let mut nodes = vec![doc.root_element()];
    if doc.root_element().tag_name().name() != path[0] {
        return Vec::new();
    }
    for step in &path[1..] {
        nodes = nodes.iter().flat_map(|n| n.children().filter(|c| c.has_tag_name(*step))).collect();
    }
    nodes.iter().filter_map(|n| n.attribute("size").map(str::to_string)).collect()
}

fn cmd_freepages(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    exclusive(ctl, cmd, "all", "cellno")?;
    let kib = match cmd.get("pagesize") {
        Some(v) => {
            let bytes = crate::parse::parse_scaled(v, 1024)
                .filter(|b| *b <= u64::from(u32::MAX))
                .ok_or_else(|| ctl.fail_msg(format!("Scaled numeric value '{v}' for <pagesize> option is malformed or out of range")))?;
            bytes.div_ceil(1024) as u32
        }
        None => 0,
    };
    let conn = ctl.conn()?;
    if cmd.has("all") {
        let caps = conn.capabilities().map_err(|e| ctl.fail("unable to get node capabilities", e))?;
        let doc = roxmltree::Document::parse(&caps).map_err(|_| ctl.fail_msg("unable to parse node capabilities"))?;
        let mut sizes: Vec<u32> = if cmd.has("pagesize") {
            vec![kib]
        } else {
            let mut raw = caps_page_sizes(&doc, &["capabilities", "host", "cpu", "pages"]);
            if raw.is_empty() {
                raw = caps_page_sizes(&doc, &["capabilities", "host", "topology", "cells", "cell", "pages"]);
            }
            if raw.is_empty() {
                return Err(ctl.fail_msg("could not get information about supported page sizes"));
            }
            let mut v = Vec::new();
            for r in raw {
                v.push(r.parse::<u32>().map_err(|_| ctl.fail_msg(format!("unable to parse page size: {r}")))?);
            }
            v
        };
        sizes.sort_unstable();
        sizes.dedup();
        let cells: Vec<String> = doc
            .root_element()
            .children()
            .filter(|n| n.has_tag_name("host"))
            .flat_map(|h| h.children().filter(|n| n.has_tag_name("topology")))
            .flat_map(|t| t.children().filter(|n| n.has_tag_name("cells")))
            .flat_map(|c| c.children().filter(|n| n.has_tag_name("cell")))
            .filter_map(|c| c.attribute("id").map(str::to_string))
            .collect();
        for id in cells {
            let cell: i32 = id.parse().map_err(|_| ctl.fail_msg(format!("unable to parse numa node id: {id}")))?;
            let (counts, _) = conn.node_free_pages(&sizes, cell, 1, 0)?;
            let mut o = format!("Node {cell}:\n");
            for (j, size) in sizes.iter().enumerate() {
                o += &format!("{size}KiB: {}\n", counts.get(j).copied().unwrap_or(0) as i64);
            }
            o.push('\n');
            ctl.print(&o);
        }
        return Ok(());
    }
    if !cmd.has("cellno") {
        return Err(ctl.fail_msg("missing cellno argument"));
    }
    let cell = cmd.int("cellno").map_err(|m| ctl.fail_msg(m))?.unwrap_or(0);
    let cell = i32::try_from(cell)
        .map_err(|_| ctl.fail_msg(format!("Numeric value '{cell}' for <cellno> option is malformed or out of range")))?;
    if cell < -1 {
        return Err(ctl.fail_msg("cell number must be non-negative integer or -1"));
    }
    if !cmd.has("pagesize") {
        return Err(ctl.fail_msg("missing pagesize argument"));
    }
    let (counts, _) = conn.node_free_pages(&[kib], cell, 1, 0)?;
    ctl.print(&format!("{kib}KiB: {}\n", counts.first().copied().unwrap_or(0) as i64));
    Ok(())
}

/// `virshParseRateStr`: average, peak, burst, floor.
fn parse_rate(ctl: &Ctl, s: &str) -> Result<[u64; 4], Fail> {
    let tok: Vec<&str> = s.split(',').collect();
    if tok.len() > 4 {
        return Err(ctl.fail_msg(format!("Rate string '{s}' has too many fields")));
    }
    let mut r = [0u64; 4];
    for (i, name) in ["average", "peak", "burst", "floor"].iter().enumerate() {
        if let Some(t) = tok.get(i).filter(|t| !t.is_empty()) {
            r[i] = t.parse().map_err(|_| ctl.fail_msg(format!("field '{name}' is malformed")))?;
        }
    }
    Ok(r)
}

fn cmd_domiftune(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let device = req_str(ctl, cmd, "interface")?.to_string();
    let inbound = opt_str(ctl, cmd, "inbound")?.map(str::to_string);
    let outbound = opt_str(ctl, cmd, "outbound")?.map(str::to_string);
    let mut params = Vec::new();
    let uint = |f: &str, v: u64| TypedParam::new(f, TypedValue::UInt(v as u32));
    if let Some(s) = inbound {
        let r = parse_rate(ctl, &s)?;
        if r[..3].iter().any(|v| *v > u64::from(u32::MAX)) {
            return Err(ctl.fail_msg(format!("inbound rate larger than maximum {}", u32::MAX)));
        }
        if r[0] == 0 && (r[2] != 0 || r[1] != 0) && r[3] == 0 {
            return Err(ctl.fail_msg("either inbound average or floor is mandatory"));
        }
        params.push(uint("inbound.average", r[0]));
        for (i, f) in [(1, "inbound.peak"), (2, "inbound.burst"), (3, "inbound.floor")] {
            if r[i] != 0 {
                params.push(uint(f, r[i]));
            }
        }
    }
    if let Some(s) = outbound {
        let r = parse_rate(ctl, &s)?;
        if r[..3].iter().any(|v| *v > u64::from(u32::MAX)) {
            return Err(ctl.fail_msg(format!("outbound rate larger than maximum {}", u32::MAX)));
        }
        if r[0] == 0 && (r[2] != 0 || r[1] != 0) {
            return Err(ctl.fail_msg("outbound average is mandatory"));
        }
        if r[3] != 0 {
            return Err(ctl.fail_msg("outbound floor is unsupported yet"));
        }
        params.push(uint("outbound.average", r[0]));
        for (i, f) in [(1, "outbound.peak"), (2, "outbound.burst")] {
            if r[i] != 0 {
                params.push(uint(f, r[i]));
            }
        }
    }
    if !params.is_empty() {
        dom.set_interface_parameters(&device, &params, flags).map_err(|e| ctl.fail("Unable to set interface parameters", e))?;
        return Ok(());
    }
    let params = dom.interface_parameters(&device, flags).map_err(|e| ctl.fail("Unable to get interface parameters", e))?;
    let mut o = String::new();
    for p in &params {
        o += &format!("{:<15}: {}\n", p.field, param_value(p));
    }
    ctl.print(&o);
    Ok(())
}

/// libvirt's client library passes absolute paths for save images and dumps.
fn abs_path(p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    std::env::current_dir().map(|d| d.join(p).to_string_lossy().into_owned()).unwrap_or_else(|_| p.to_string())
}

fn cmd_save_image_define(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let mut flags = 0;
    if cmd.has("running") {
        flags |= 2;
    }
    if cmd.has("paused") {
        flags |= 4;
    }
    let file = req_str(ctl, cmd, "file")?.to_string();
    let xmlfile = req_str(ctl, cmd, "xml")?.to_string();
    let conn = ctl.conn()?;
    let xml = read_file(ctl, &xmlfile)?;
    conn.domain_save_image_define_xml(&abs_path(&file), &xml, flags).map_err(|e| ctl.fail(format!("Failed to update {file}"), e))?;
    ctl.extra(&format!("State file {file} updated.\n"));
    Ok(())
}

fn cmd_save_image_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let file = req_str(ctl, cmd, "file")?.to_string();
    let flags = if cmd.has("security-info") { oxvirt::DomainXmlFlags::SECURE } else { oxvirt::DomainXmlFlags::empty() };
    let conn = ctl.conn()?;
    let xml = conn.domain_save_image_xml(&abs_path(&file), flags)?;
    ctl.print(&xml);
    Ok(())
}

fn cmd_iothreadinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let info = dom.iothread_info(flags).map_err(|e| ctl.fail("Unable to get domain IOThreads information", e))?;
    if info.is_empty() {
        ctl.extra("No IOThreads found for the domain");
        return Ok(());
    }
    let mut t = Table::new(&["IOThread ID", "CPU Affinity"]);
    for (id, map) in info {
        t.row(&[id.to_string(), format_map(&map)]);
    }
    ctl.print_table(&t);
    Ok(())
}

fn cmd_iothreadpin(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let id = cmd.uint("iothread").map_err(|m| ctl.fail_msg(m))?.unwrap_or(0);
    let id =
        u32::try_from(id).map_err(|_| ctl.fail_msg(format!("Numeric value '{id}' for <iothread> option is malformed or out of range")))?;
    let cpulist = req_str(ctl, cmd, "cpulist")?.to_string();
    let maxcpu = node_cpu_count(ctl, &conn)?;
    let map = parse_cpumap(ctl, &cpulist, maxcpu)?;
    dom.pin_iothread(id, &map, flags)?;
    Ok(())
}

/// `--id` of iothreadadd/iothreaddel: a positive int.
fn iothread_id(ctl: &Ctl, cmd: &Cmd) -> Result<u32, Fail> {
    let id = cmd.int("id").map_err(|m| ctl.fail_msg(m))?.unwrap_or(0);
    let id = i32::try_from(id).map_err(|_| ctl.fail_msg(format!("Numeric value '{id}' for <id> option is malformed or out of range")))?;
    if id <= 0 {
        return Err(ctl.fail_msg(format!("Invalid IOThread id value: '{id}'")));
    }
    Ok(id as u32)
}

fn cmd_iothreadadd(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let id = iothread_id(ctl, cmd)?;
    dom.add_iothread(id, flags)?;
    Ok(())
}

fn cmd_iothreaddel(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let id = iothread_id(ctl, cmd)?;
    dom.del_iothread(id, flags)?;
    Ok(())
}

fn cmd_iothreadset(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let id = iothread_id(ctl, cmd)?;
    let mut params = Vec::new();
    if let Some(v) = cmd.uint("poll-max-ns").map_err(|m| ctl.fail_msg(m))? {
        params.push(TypedParam::new("poll_max_ns", TypedValue::ULLong(v)));
    }
    for (opt, field) in [("poll-grow", "poll_grow"), ("poll-shrink", "poll_shrink")] {
        if let Some(v) = cmd.uint(opt).map_err(|m| ctl.fail_msg(m))? {
            let v = u32::try_from(v)
                .map_err(|_| ctl.fail_msg(format!("Numeric value '{v}' for <{opt}> option is malformed or out of range")))?;
            params.push(TypedParam::new(field, TypedValue::UInt(v)));
        }
    }
    for (opt, field) in [("thread-pool-min", "thread_pool_min"), ("thread-pool-max", "thread_pool_max")] {
        if let Some(v) = cmd.int(opt).map_err(|m| ctl.fail_msg(m))? {
            let v = i32::try_from(v)
                .map_err(|_| ctl.fail_msg(format!("Numeric value '{v}' for <{opt}> option is malformed or out of range")))?;
            params.push(TypedParam::new(field, TypedValue::Int(v)));
        }
    }
    if params.is_empty() {
        return Err(ctl.fail_msg("Not enough arguments passed, nothing to set"));
    }
    dom.set_iothread_params(id, &params, flags)?;
    Ok(())
}
