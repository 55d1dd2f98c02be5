//! Tuning and pinning commands (`schedinfo`, `memtune`, `blkiotune`, `vcpupin`,
//! `emulatorpin`) and the node's CPU commands (`nodecpustats`, `nodecpumap`,
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
    cmd!("blkiotune", "domain", "Get or set blkio parameters", &[DOMAIN, CONFIG, LIVE, CURRENT], cmd_blkiotune),
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
    cmd!("nodecpumap", "host", "node cpu map", &[b("pretty", "return human readable output")], cmd_nodecpumap),
    cmd!(
        "cpu-models",
        "host",
        "CPU models",
        &[OptDef { name: "arch", kind: OptKind::Data, flags: REQ, help: "architecture", complete: crate::parse::Complete::None }],
        cmd_cpu_models
    ),
];

/// `vshGetTypedParamValue`.
fn param_value(p: &TypedParam) -> String {
    match &p.value {
        TypedValue::Int(v) => v.to_string(),
        TypedValue::UInt(v) => v.to_string(),
        TypedValue::LLong(v) => v.to_string(),
        TypedValue::ULLong(v) => v.to_string(),
        TypedValue::Double(v) => format!("{v:.6}"),
        TypedValue::Boolean(v) => yes_no(*v).to_string(),
        TypedValue::String(v) => v.clone(),
    }
}

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
