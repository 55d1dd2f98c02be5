//! Tuning and pinning calls of the test driver (libvirt 9.0's `testDomainGet/Set*`
//! for scheduler, memory and blkio parameters, vCPU and emulator pinning) and the
//! node's fixed CPU statistics, CPU map and CPU model names.
//!
//! The tunables live in the domain definition (`<memtune>`, `<blkiotune>`,
//! `<cputune>`), so they show in the XML and follow libvirt's live/config rules.

use crate::conn::TestConn;
use crate::domain::one_def;
use oxvirt::driver::check_flags;
use oxvirt::typedparam::{self, TypedParam, TypedType, TypedValue, MEMORY_PARAM_UNLIMITED, TYPED_PARAM_STRING_OKAY};
use oxvirt::{DomainRef, Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::DomainDef;
use oxvirt_conf::xml::{El, XNode};
use std::collections::BTreeSet;

const D: ErrorDomain = ErrorDomain::Test;
const LIVE_CONFIG: u32 = 1 | 2;

/// libvirt's x86 CPU models (`src/cpu_map/index.xml`, architecture `x86`), in order.
const X86_MODELS: &[&str] = &[
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "pentiumpro",
    "coreduo",
    "n270",
    "core2duo",
    "qemu32",
    "kvm32",
    "cpu64-rhel5",
    "cpu64-rhel6",
    "qemu64",
    "kvm64",
    "Conroe",
    "Penryn",
    "Nehalem",
    "Nehalem-IBRS",
    "Westmere",
    "Westmere-IBRS",
    "SandyBridge",
    "SandyBridge-IBRS",
    "IvyBridge",
    "IvyBridge-IBRS",
    "Haswell-noTSX",
    "Haswell-noTSX-IBRS",
    "Haswell",
    "Haswell-IBRS",
    "Broadwell-noTSX",
    "Broadwell-noTSX-IBRS",
    "Broadwell",
    "Broadwell-IBRS",
    "Skylake-Client",
    "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS",
    "Skylake-Server",
    "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS",
    "Cascadelake-Server",
    "Cascadelake-Server-noTSX",
    "Icelake-Client",
    "Icelake-Client-noTSX",
    "Icelake-Server",
    "Icelake-Server-noTSX",
    "Cooperlake",
    "Snowridge",
    "athlon",
    "phenom",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "EPYC",
    "EPYC-IBPB",
    "EPYC-Rome",
    "EPYC-Milan",
    "Dhyana",
];

/// libvirt's ppc64 CPU models (`src/cpu_map/index.xml`, architecture `ppc64`).
const PPC64_MODELS: &[&str] = &["POWER6", "POWER7", "POWER8", "POWER9", "POWER10", "POWERPC_e5500", "POWERPC_e6500"];

use oxvirt_conf::capabilities::ARCHES;

/// `testConnectGetCPUModelNames`: libvirt's CPU driver models for `arch`.
pub(crate) fn cpu_model_names(arch: &str, flags: u32) -> Result<Vec<String>> {
    check_flags(flags, 0, "testConnectGetCPUModelNames", D)?;
    if !ARCHES.contains(&arch) {
        return Err(Error::new(ErrorCode::InvalidArg, D, format!("cannot find architecture {arch}")));
    }
    let models: &[&str] = match arch {
        "i686" | "x86_64" => X86_MODELS,
        "ppc64" | "ppc64le" => PPC64_MODELS,
        // the s390 and arm CPU drivers list no models: any model is accepted
        "s390" | "s390x" | "armv6l" | "armv7b" | "armv7l" | "aarch64" => &[],
        _ => {
            return Err(Error::new(ErrorCode::NoSupport, ErrorDomain::Cpu, format!("'{arch}' architecture is not supported by CPU driver")))
        }
    };
    Ok(models.iter().map(|m| m.to_string()).collect())
}

/// `testNodeGetCPUStats`: libvirt's fixed figures (the same for every CPU).
pub(crate) fn node_cpu_stats(flags: u32) -> Result<Vec<(String, u64)>> {
    check_flags(flags, 0, "testNodeGetCPUStats", D)?;
    Ok(vec![
        ("user".into(), 9_797_400_000),
        ("kernel".into(), 34_678_723_400_000),
        ("idle".into(), 87_264_900_000),
        ("iowait".into(), 763_600_000),
    ])
}

/// `testNodeGetCPUMap`: 8 CPUs, of which 0, 2 and 4 are online.
pub(crate) fn node_cpu_map(flags: u32) -> Result<(i32, Vec<u8>, u32)> {
    check_flags(flags, 0, "testNodeGetCPUMap", D)?;
    Ok((8, vec![0x15], 3))
}

/// `testNodeGetFreePages`: libvirt's made-up counts (19, 45, 97, ... continuing across
/// cells); the return value is 0, as libvirt's.
pub(crate) fn node_free_pages(npages: usize, cell_count: u32, flags: u32) -> Result<(Vec<u64>, i32)> {
    check_flags(flags, 0, "testNodeGetFreePages", D)?;
    let mut x: i32 = 6;
    let mut out = Vec::with_capacity(npages.saturating_mul(cell_count as usize).min(1 << 16));
    for _ in 0..cell_count {
        for _ in 0..npages {
            x = x.wrapping_mul(2).wrapping_add(7);
            // an int stored into an unsigned long long: sign-extended
            out.push(i64::from(x) as u64);
        }
    }
    Ok((out, 0))
}

/// A CPU set in libvirt's bitmap syntax (`0-3,^2,7`), as bit numbers.
fn parse_cpuset(s: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (neg, part) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let v = part.parse::<u32>().ok()?;
                (v, v)
            }
        };
        if b < a || b >= 65536 {
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

/// `virBitmapFormat`: ranges joined by commas (`0-3,5`).
fn format_cpuset(set: &BTreeSet<u32>) -> String {
    let mut out = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        out.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
    }
    out.join(",")
}

/// `virBitmapNewData`: the bits of a cpumap.
fn set_from_map(map: &[u8]) -> BTreeSet<u32> {
    let mut set = BTreeSet::new();
    for (i, byte) in map.iter().enumerate() {
        for bit in 0..8 {
            if byte & (1 << bit) != 0 {
                set.insert(i as u32 * 8 + bit);
            }
        }
    }
    set
}

/// `virBitmapToDataBuf`: `set` into `maplen` bytes (bits beyond are dropped).
fn map_from_set(set: &BTreeSet<u32>, maplen: usize) -> Vec<u8> {
    let mut out = vec![0u8; maplen];
    for &b in set {
        if let Some(byte) = out.get_mut((b / 8) as usize) {
            *byte |= 1 << (b % 8);
        }
    }
    out
}

/// The text content of an element.
fn text(e: &El) -> String {
    e.children
        .iter()
        .filter_map(|c| match c {
            XNode::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn attr<'a>(e: &'a El, name: &str) -> Option<&'a str> {
    e.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn child<'a>(e: &'a El, name: &str) -> Option<&'a El> {
    e.children.iter().find_map(|c| match c {
        XNode::El(c) if c.name == name => Some(c),
        _ => None,
    })
}

fn children<'a>(e: &'a El, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
    e.children.iter().filter_map(move |c| match c {
        XNode::El(c) if c.name == name => Some(c),
        _ => None,
    })
}

fn top<'a>(def: &'a DomainDef, name: &str) -> Option<&'a El> {
    def.other.iter().find(|e| e.name == name)
}

/// Replace (or with `None`, remove) a top-level element kept verbatim.
fn set_top(def: &mut DomainDef, name: &str, el: Option<El>) {
    match (def.other.iter().position(|e| e.name == name), el) {
        (Some(i), Some(el)) => def.other[i] = el,
        (Some(i), None) => {
            def.other.remove(i);
        }
        (None, Some(el)) => def.other.push(el),
        (None, None) => {}
    }
}

/// The memory tunables of `<memtune>` in KiB: hard, soft, swap_hard, min_guarantee.
#[derive(Debug, Clone, Copy)]
struct Memtune {
    hard: u64,
    soft: u64,
    swap: u64,
    min_guarantee: u64,
}

fn memtune(def: &DomainDef) -> Memtune {
    let mut m = Memtune { hard: MEMORY_PARAM_UNLIMITED, soft: MEMORY_PARAM_UNLIMITED, swap: MEMORY_PARAM_UNLIMITED, min_guarantee: 0 };
    let Some(mt) = top(def, "memtune") else { return m };
    let kib = |name: &str| -> Option<u64> {
        let e = child(mt, name)?;
        let v = text(e).trim().parse::<u64>().ok()?;
        let unit = attr(e, "unit").unwrap_or("KiB");
        oxvirt_conf::xml::scale_to_bytes(v, Some(unit)).ok().map(|b| b / 1024)
    };
    if let Some(v) = kib("hard_limit") {
        m.hard = v;
    }
    if let Some(v) = kib("soft_limit") {
        m.soft = v;
    }
    if let Some(v) = kib("swap_hard_limit") {
        m.swap = v;
    }
    if let Some(v) = kib("min_guarantee") {
        m.min_guarantee = v;
    }
    m
}

/// `virDomainMemtuneFormat`: set limits only, in libvirt's order.
fn memtune_el(m: &Memtune) -> Option<El> {
    let mut el = El::new("memtune");
    let mut add = |name: &str, v: u64, set: bool| {
        if set {
            el.push(El::new(name).attr("unit", "KiB").text(v));
        }
    };
    add("hard_limit", m.hard, m.hard < MEMORY_PARAM_UNLIMITED);
    add("soft_limit", m.soft, m.soft < MEMORY_PARAM_UNLIMITED);
    add("min_guarantee", m.min_guarantee, m.min_guarantee != 0);
    add("swap_hard_limit", m.swap, m.swap < MEMORY_PARAM_UNLIMITED);
    if el.children.is_empty() {
        None
    } else {
        Some(el)
    }
}

/// The host CPUs the test driver reports (`VIR_NODEINFO_MAXCPUS`): all set.
fn host_cpus(conn: &TestConn) -> Result<BTreeSet<u32>> {
    conn.with(|st| {
        let i = &st.node_info;
        Ok((0..i.nodes * i.sockets * i.cores * i.threads).collect())
    })
}

impl TestConn {
    pub(crate) fn tune_get_scheduler_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        check_flags(flags, 0, "testDomainGetSchedulerParametersFlags", D)?;
        self.with(|st| {
            st.domains.by_ref(d)?;
            Ok(vec![TypedParam::new("weight", TypedValue::UInt(50))])
        })
    }

    pub(crate) fn tune_set_scheduler_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainSetSchedulerParametersFlags", D)?;
        typedparam::validate(params, &[("weight", TypedType::UInt)])?;
        // libvirt's test driver accepts the weight and does not keep it
        self.with(|st| st.domains.by_ref(d).map(|_| ()))
    }

    pub(crate) fn tune_get_memory_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        check_flags(flags, LIVE_CONFIG | TYPED_PARAM_STRING_OKAY, "testDomainGetMemoryParameters", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags & LIVE_CONFIG)?;
            let m = memtune(def);
            Ok(vec![
                TypedParam::new("hard_limit", TypedValue::ULLong(m.hard)),
                TypedParam::new("soft_limit", TypedValue::ULLong(m.soft)),
                TypedParam::new("swap_hard_limit", TypedValue::ULLong(m.swap)),
            ])
        })
    }

    pub(crate) fn tune_set_memory_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainSetMemoryParameters", D)?;
        typedparam::validate(
            params,
            &[("hard_limit", TypedType::ULLong), ("soft_limit", TypedType::ULLong), ("swap_hard_limit", TypedType::ULLong)],
        )?;
        let hard = typedparam::get_ullong(params, "hard_limit");
        let soft = typedparam::get_ullong(params, "soft_limit");
        let swap = typedparam::get_ullong(params, "swap_hard_limit");
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            // libvirt compares against the current (live when running) definition
            let cur = memtune(&obj.def);
            let (def, _) = one_def(obj, flags)?;
            if swap.is_some() || hard.is_some() {
                let mem_limit = hard.unwrap_or(cur.hard);
                let swap_limit = swap.unwrap_or(cur.swap);
                if mem_limit > swap_limit {
                    return Err(Error::new(
                        ErrorCode::InvalidArg,
                        D,
                        "memory hard_limit tunable value must be lower than or equal to swap_hard_limit",
                    ));
                }
            }
            let mut m = memtune(def);
            if let Some(v) = soft {
                m.soft = v;
            }
            if let Some(v) = hard {
                m.hard = v;
            }
            if let Some(v) = swap {
                m.swap = v;
            }
            set_top(def, "memtune", memtune_el(&m));
            Ok(())
        })
    }

    pub(crate) fn tune_get_blkio_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        check_flags(flags, LIVE_CONFIG | TYPED_PARAM_STRING_OKAY, "testDomainGetBlkioParameters", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags & LIVE_CONFIG)?;
            let bt = top(def, "blkiotune");
            let weight = bt.and_then(|b| child(b, "weight")).and_then(|w| text(w).trim().parse::<u32>().ok()).unwrap_or(0);
            let mut out = vec![TypedParam::new("weight", TypedValue::UInt(weight))];
            for (field, el) in [
                ("device_weight", "weight"),
                ("device_read_iops_sec", "read_iops_sec"),
                ("device_write_iops_sec", "write_iops_sec"),
                ("device_read_bytes_sec", "read_bytes_sec"),
                ("device_write_bytes_sec", "write_bytes_sec"),
            ] {
                let mut parts = Vec::new();
                for dev in bt.into_iter().flat_map(|b| children(b, "device")) {
                    let path = child(dev, "path").map(text).unwrap_or_default();
                    let v = child(dev, el).map(|e| text(e).trim().to_string()).unwrap_or_default();
                    if !v.is_empty() && v != "0" {
                        parts.push(format!("{path},{v}"));
                    }
                }
                out.push(TypedParam::new(field, TypedValue::String(parts.join(","))));
            }
            Ok(out)
        })
    }

    pub(crate) fn tune_pin_vcpu(&self, d: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainPinVcpuFlags", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            if !obj.is_active() {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot pin vcpus on an inactive domain"));
            }
            if vcpu >= obj.def.vcpus_current {
                return Err(Error::new(ErrorCode::InvalidArg, D, format!("requested vcpu '{vcpu}' is not present in the domain")));
            }
            let cpuset = format_cpuset(&set_from_map(cpumap));
            let def = &mut obj.def;
            def.cputune.retain(|e| !(e.name == "vcpupin" && attr(e, "vcpu") == Some(vcpu.to_string().as_str())));
            def.cputune.push(El::new("vcpupin").attr("vcpu", vcpu).attr("cpuset", cpuset));
            def.sort_cputune();
            Ok(())
        })
    }

    pub(crate) fn tune_get_vcpu_pin_info(&self, d: &DomainRef, ncpumaps: i32, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        let hostcpus = host_cpus(self)?;
        let (ncpumaps, maplen) = (ncpumaps.max(0) as usize, maplen.max(0) as usize);
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let cpumask = def.vcpu_cpuset.as_deref().and_then(parse_cpuset);
            let mut out = vec![0u8; ncpumaps * maplen];
            let n = (def.vcpus_max as usize).min(ncpumaps);
            for i in 0..n {
                let pin = def
                    .cputune
                    .iter()
                    .find(|e| e.name == "vcpupin" && attr(e, "vcpu") == Some(i.to_string().as_str()))
                    .and_then(|e| attr(e, "cpuset"))
                    .and_then(parse_cpuset);
                let set = pin.as_ref().or(cpumask.as_ref()).unwrap_or(&hostcpus);
                out[i * maplen..(i + 1) * maplen].copy_from_slice(&map_from_set(set, maplen));
            }
            Ok((out, n as i32))
        })
    }

    pub(crate) fn tune_pin_emulator(&self, d: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainPinEmulator", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let set = set_from_map(cpumap);
            if set.is_empty() {
                return Err(Error::new(ErrorCode::InvalidArg, D, "Empty cpu list for pinning"));
            }
            def.cputune.retain(|e| e.name != "emulatorpin");
            def.cputune.push(El::new("emulatorpin").attr("cpuset", format_cpuset(&set)));
            def.sort_cputune();
            Ok(())
        })
    }

    pub(crate) fn tune_get_emulator_pin_info(&self, d: &DomainRef, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        check_flags(flags, LIVE_CONFIG, "testDomainGetEmulatorPinInfo", D)?;
        let hostcpus = host_cpus(self)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let pin = def.cputune.iter().find(|e| e.name == "emulatorpin").and_then(|e| attr(e, "cpuset")).and_then(parse_cpuset);
            let cpumask = def.vcpu_cpuset.as_deref().and_then(parse_cpuset);
            let set = pin.as_ref().or(cpumask.as_ref()).unwrap_or(&hostcpus);
            Ok((map_from_set(set, maplen.max(0) as usize), 1))
        })
    }
}

/// libvirt's perf events (`virPerfEvent`), in order.
const PERF_EVENTS: &[&str] = &[
    "cmt",
    "mbmt",
    "mbml",
    "cpu_cycles",
    "instructions",
    "cache_references",
    "cache_misses",
    "branch_instructions",
    "branch_misses",
    "bus_cycles",
    "stalled_cycles_frontend",
    "stalled_cycles_backend",
    "ref_cpu_cycles",
    "cpu_clock",
    "task_clock",
    "page_faults",
    "context_switches",
    "cpu_migrations",
    "page_faults_min",
    "page_faults_maj",
    "alignment_faults",
    "emulation_faults",
];

/// `virDomainNumatuneMemMode` names.
const NUMA_MODES: &[&str] = &["strict", "preferred", "interleave", "restrictive"];

/// `virDomainLifecycle` and `virDomainLifecycleAction` names.
const LIFECYCLE_TYPES: &[&str] = &["poweroff", "reboot", "crash"];
const LIFECYCLE_ACTIONS: &[&str] = &["destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart"];

/// The `<blkiotune><device>` fields, in libvirt's output order.
const BLKIO_DEVICE_FIELDS: &[(&str, &str)] = &[
    ("device_weight", "weight"),
    ("device_read_iops_sec", "read_iops_sec"),
    ("device_write_iops_sec", "write_iops_sec"),
    ("device_read_bytes_sec", "read_bytes_sec"),
    ("device_write_bytes_sec", "write_bytes_sec"),
];

/// `<numatune><memory mode nodeset>`: (mode index, nodeset) when given.
fn numatune(def: &DomainDef) -> (Option<i32>, Option<BTreeSet<u32>>) {
    let Some(mem) = top(def, "numatune").and_then(|n| child(n, "memory")) else { return (None, None) };
    let mode = attr(mem, "mode").map(|m| NUMA_MODES.iter().position(|x| *x == m).map(|i| i as i32).unwrap_or(0)).or(Some(0));
    (mode, attr(mem, "nodeset").and_then(parse_cpuset))
}

/// One `<blkiotune><device>` (path and its five values).
#[derive(Debug, Clone, Default)]
struct BlkioDevice {
    path: String,
    values: [u64; 5],
}

fn blkio_devices(def: &DomainDef) -> Vec<BlkioDevice> {
    let mut out = Vec::new();
    for dev in top(def, "blkiotune").into_iter().flat_map(|b| children(b, "device")) {
        let mut d = BlkioDevice { path: child(dev, "path").map(text).unwrap_or_default(), values: [0; 5] };
        for (i, (_, el)) in BLKIO_DEVICE_FIELDS.iter().enumerate() {
            d.values[i] = child(dev, el).and_then(|e| text(e).trim().parse().ok()).unwrap_or(0);
        }
        out.push(d);
    }
    out
}

fn blkiotune_el(weight: u32, devices: &[BlkioDevice]) -> Option<El> {
    let mut el = El::new("blkiotune");
    if weight != 0 {
        el.push(El::new("weight").text(weight));
    }
    for d in devices.iter().filter(|d| d.values.iter().any(|v| *v != 0)) {
        let mut de = El::new("device").child(El::new("path").text(&d.path));
        for (i, (_, name)) in BLKIO_DEVICE_FIELDS.iter().enumerate() {
            if d.values[i] != 0 {
                de.push(El::new(*name).text(d.values[i]));
            }
        }
        el.push(de);
    }
    if el.children.is_empty() {
        None
    } else {
        Some(el)
    }
}

impl TestConn {
    pub(crate) fn tune_set_blkio_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainSetBlkioParameters", D)?;
        let mut allowed = vec![("weight", TypedType::UInt)];
        allowed.extend(BLKIO_DEVICE_FIELDS.iter().map(|(f, _)| (*f, TypedType::String)));
        typedparam::validate(params, &allowed)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let bt = top(def, "blkiotune");
            let mut weight = bt.and_then(|b| child(b, "weight")).and_then(|w| text(w).trim().parse::<u32>().ok()).unwrap_or(0);
            let mut devices = blkio_devices(def);
            for p in params {
                match (&p.value, BLKIO_DEVICE_FIELDS.iter().position(|(f, _)| *f == p.field)) {
                    (TypedValue::UInt(w), _) if p.field == "weight" => weight = *w,
                    (TypedValue::String(s), Some(idx)) => {
                        // "path,value[,path,value...]" (virDomainDriverParseBlkioDeviceStr)
                        let parts: Vec<&str> = s.split(',').collect();
                        if !parts.len().is_multiple_of(2) {
                            return Err(Error::new(
                                ErrorCode::InvalidArg,
                                ErrorDomain::Domain,
                                format!("unable to parse blkio device '{}' '{s}'", p.field),
                            ));
                        }
                        for pair in parts.chunks(2) {
                            let value: u64 = pair[1].parse().map_err(|_| {
                                Error::new(
                                    ErrorCode::InvalidArg,
                                    ErrorDomain::Domain,
                                    format!("invalid value '{}' for parameter '{}' of device '{}'", pair[1], p.field, pair[0]),
                                )
                            })?;
                            match devices.iter_mut().find(|d| d.path == pair[0]) {
                                Some(dev) => dev.values[idx] = value,
                                None => {
                                    let mut dev = BlkioDevice { path: pair[0].to_string(), values: [0; 5] };
                                    dev.values[idx] = value;
                                    devices.push(dev);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            set_top(def, "blkiotune", blkiotune_el(weight, &devices));
            Ok(())
        })
    }

    pub(crate) fn tune_get_numa_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        check_flags(flags, LIVE_CONFIG | TYPED_PARAM_STRING_OKAY, "testDomainGetNumaParameters", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags & LIVE_CONFIG)?;
            let (mode, nodeset) = numatune(def);
            Ok(vec![
                TypedParam::new("numa_mode", TypedValue::Int(mode.unwrap_or(0))),
                TypedParam::new("numa_nodeset", TypedValue::String(nodeset.map(|n| format_cpuset(&n)).unwrap_or_default())),
            ])
        })
    }

    pub(crate) fn tune_set_numa_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainSetNumaParameters", D)?;
        typedparam::validate(params, &[("numa_mode", TypedType::Int), ("numa_nodeset", TypedType::String)])?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, live) = one_def(obj, flags)?;
            let mut mode = None;
            let mut nodeset = None;
            for p in params {
                match &p.value {
                    TypedValue::Int(m) if p.field == "numa_mode" => {
                        if *m < 0 || *m as usize >= NUMA_MODES.len() {
                            return Err(Error::new(ErrorCode::InvalidArg, D, format!("unsupported numatune mode: '{m}'")));
                        }
                        mode = Some(*m);
                    }
                    TypedValue::String(s) if p.field == "numa_nodeset" => {
                        let set = parse_cpuset(s)
                            .ok_or_else(|| Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("Failed to parse bitmap '{s}'")))?;
                        if set.is_empty() {
                            return Err(Error::new(ErrorCode::OperationInvalid, D, format!("Invalid nodeset of 'numatune': {s}")));
                        }
                        nodeset = Some(set);
                    }
                    _ => {}
                }
            }
            let (cur_mode, cur_nodeset) = numatune(def);
            if live {
                if let (Some(m), Some(c)) = (mode, cur_mode) {
                    if m != c {
                        return Err(Error::new(ErrorCode::OperationInvalid, D, "can't change numatune mode for running domain"));
                    }
                }
            }
            let nodeset = nodeset.or(cur_nodeset);
            let Some(nodeset) = nodeset else {
                if mode.is_some() {
                    return Err(Error::new(
                        ErrorCode::ConfigUnsupported,
                        ErrorDomain::Domain,
                        "nodeset for NUMA memory tuning must be set if 'placement' is 'static'",
                    ));
                }
                return Ok(());
            };
            let mode = mode.or(cur_mode).unwrap_or(0);
            let mem = El::new("memory").attr("mode", NUMA_MODES[mode as usize]).attr("nodeset", format_cpuset(&nodeset));
            let mut nt = top(def, "numatune").cloned().unwrap_or_else(|| El::new("numatune"));
            nt.children.retain(|c| !matches!(c, XNode::El(e) if e.name == "memory"));
            nt.children.insert(0, XNode::El(mem));
            set_top(def, "numatune", Some(nt));
            Ok(())
        })
    }

    pub(crate) fn tune_get_perf_events(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        check_flags(flags, LIVE_CONFIG | TYPED_PARAM_STRING_OKAY, "testDomainGetPerfEvents", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags & LIVE_CONFIG)?;
            let perf = top(def, "perf");
            Ok(PERF_EVENTS
                .iter()
                .map(|ev| {
                    let on = perf
                        .into_iter()
                        .flat_map(|p| children(p, "event"))
                        .any(|e| attr(e, "name") == Some(ev) && attr(e, "enabled") == Some("yes"));
                    TypedParam::new(*ev, TypedValue::Boolean(on))
                })
                .collect())
        })
    }

    pub(crate) fn tune_set_perf_events(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainSetPerfEvents", D)?;
        let allowed: Vec<(&str, TypedType)> = PERF_EVENTS.iter().map(|e| (*e, TypedType::Boolean)).collect();
        typedparam::validate(params, &allowed)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            // current state: absent, yes or no per event
            let mut state: Vec<Option<bool>> = PERF_EVENTS
                .iter()
                .map(|ev| {
                    top(def, "perf")
                        .into_iter()
                        .flat_map(|p| children(p, "event"))
                        .find(|e| attr(e, "name") == Some(ev))
                        .map(|e| attr(e, "enabled") == Some("yes"))
                })
                .collect();
            for p in params {
                if let (Some(i), TypedValue::Boolean(on)) = (PERF_EVENTS.iter().position(|e| *e == p.field), &p.value) {
                    state[i] = Some(*on);
                }
            }
            let mut perf = El::new("perf");
            for (ev, st) in PERF_EVENTS.iter().zip(&state) {
                if let Some(on) = st {
                    perf.push(El::new("event").attr("name", *ev).attr("enabled", if *on { "yes" } else { "no" }));
                }
            }
            set_top(def, "perf", if perf.children.is_empty() { None } else { Some(perf) });
            Ok(())
        })
    }

    pub(crate) fn tune_set_lifecycle_action(&self, d: &DomainRef, typ: u32, action: u32, flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainSetLifecycleAction", D)?;
        let (Some(tname), Some(aname)) = (LIFECYCLE_TYPES.get(typ as usize), LIFECYCLE_ACTIONS.get(action as usize)) else {
            return Ok(());
        };
        if typ != 2 && action >= 4 {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Domain,
                format!("Lifecycle event '{tname}' doesn't support '{aname}' action"),
            ));
        }
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (live, config) = crate::domain::impact(obj, flags)?;
            let set = |def: &mut DomainDef| match typ {
                0 => def.on_poweroff = aname.to_string(),
                1 => def.on_reboot = aname.to_string(),
                _ => def.on_crash = aname.to_string(),
            };
            if live {
                set(&mut obj.def);
            }
            if config {
                if obj.is_active() {
                    let nd = obj.new_def.get_or_insert_with(|| obj.def.clone());
                    set(nd);
                } else {
                    set(&mut obj.def);
                }
            }
            Ok(())
        })
    }

    pub(crate) fn tune_memory_peek(&self, d: &DomainRef, start: u64, size: u32, flags: u32) -> Result<Vec<u8>> {
        check_flags(flags, 1 | 2, "testDomainMemoryPeek", D)?;
        if flags != 1 && flags != 2 {
            return Err(Error::new(ErrorCode::InvalidArg, D, "flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL"));
        }
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            crate::domain::check_active(obj)?;
            // libvirt's test driver: consecutive bytes counting up from the start address
            Ok((0..size as u64).map(|i| start.wrapping_add(i) as u8).collect())
        })
    }

    pub(crate) fn tune_get_messages(&self, d: &DomainRef, flags: u32) -> Result<Vec<String>> {
        check_flags(flags, 1 | 2, "testDomainGetMessages", D)?;
        // the test driver never taints a domain nor uses deprecated features
        self.with(|st| st.domains.by_ref(d).map(|_| Vec::new()))
    }

    pub(crate) fn tune_core_dump(&self, d: &DomainRef, to: &str, dumpformat: u32, flags: u32) -> Result<()> {
        const DUMP_CRASH: u32 = 1;
        check_flags(flags, DUMP_CRASH, "testDomainCoreDumpWithFormat", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            crate::domain::check_active(obj)?;
            let name = obj.def.name.clone();
            let u = obj.def.uuid;
            let sys = |what: &str, e: std::io::Error| {
                let e = oxvirt_util::error::io_text(&e);
                Error::new(ErrorCode::SystemError, D, format!("domain '{name}' coredump: {what} {to}: {e}"))
            };
            {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(to)
                    .map_err(|e| sys("failed to open", e))?;
                f.write_all(crate::domain::SAVE_MAGIC).map_err(|e| sys("failed to write header to", e))?;
            }
            if dumpformat != 0 {
                return Err(Error::new(ErrorCode::OperationUnsupported, D, "kdump-compressed format is not supported here"));
            }
            if flags & DUMP_CRASH != 0 {
                // VIR_DOMAIN_SHUTOFF_CRASHED, VIR_DOMAIN_EVENT_STOPPED_CRASHED
                st.stop_and_reap(&u, 3, oxvirt::event::lifecycle::STOPPED_CRASHED);
            }
            Ok(())
        })
    }
}

/// The bandwidth parameters, in libvirt's order: (field, inbound?, attribute).
const BANDWIDTH_FIELDS: &[(&str, bool, &str)] = &[
    ("inbound.average", true, "average"),
    ("inbound.peak", true, "peak"),
    ("inbound.burst", true, "burst"),
    ("inbound.floor", true, "floor"),
    ("outbound.average", false, "average"),
    ("outbound.peak", false, "peak"),
    ("outbound.burst", false, "burst"),
];

/// `virDomainNetFind`: by MAC address when `device` is one, else by target name.
fn net_find<'a>(def: &'a mut DomainDef, device: &str) -> Result<&'a mut oxvirt_conf::domain::Interface> {
    let is_mac =
        device.split(':').count() == 6 && device.split(':').all(|p| !p.is_empty() && p.len() <= 2 && u8::from_str_radix(p, 16).is_ok());
    let norm = |m: &str| m.split(':').map(|p| u8::from_str_radix(p, 16).unwrap_or(0)).collect::<Vec<u8>>();
    let pos =
        def.devices.interfaces.iter().position(
            |n| {
                if is_mac {
                    norm(&n.mac) == norm(device)
                } else {
                    n.target_dev.as_deref() == Some(device)
                }
            },
        );
    match pos {
        Some(i) => Ok(&mut def.devices.interfaces[i]),
        None => Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("'{device}' is not a known interface"))),
    }
}

/// (inbound, outbound) rates of an interface's `<bandwidth>`: average, peak, burst, floor.
fn bandwidth(net: &oxvirt_conf::domain::Interface) -> (Option<[u32; 4]>, Option<[u32; 4]>) {
    let Some(bw) = net.other.iter().find(|e| e.name == "bandwidth") else { return (None, None) };
    let rate = |name: &str| {
        child(bw, name).map(|e| {
            let v = |a: &str| attr(e, a).and_then(|x| x.parse::<u32>().ok()).unwrap_or(0);
            [v("average"), v("peak"), v("burst"), v("floor")]
        })
    };
    (rate("inbound"), rate("outbound"))
}

/// `virNetDevBandwidthFormat`: average, peak, floor, burst when non-zero.
fn bandwidth_el(inb: Option<[u32; 4]>, outb: Option<[u32; 4]>) -> Option<El> {
    let mut el = El::new("bandwidth");
    for (name, r) in [("inbound", inb), ("outbound", outb)] {
        if let Some(r) = r {
            let mut e = El::new(name);
            for (attr, v) in [("average", r[0]), ("peak", r[1]), ("floor", r[3]), ("burst", r[2])] {
                if v != 0 {
                    e.push_attr(attr, v);
                }
            }
            el.push(e);
        }
    }
    if el.children.is_empty() {
        None
    } else {
        Some(el)
    }
}

impl TestConn {
    pub(crate) fn tune_get_interface_parameters(&self, d: &DomainRef, device: &str, flags: u32) -> Result<Vec<TypedParam>> {
        check_flags(flags, LIVE_CONFIG | TYPED_PARAM_STRING_OKAY, "testDomainGetInterfaceParameters", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags & LIVE_CONFIG)?;
            let net = net_find(def, device)?;
            let (inb, outb) = bandwidth(net);
            let (i, o) = (inb.unwrap_or([0; 4]), outb.unwrap_or([0; 4]));
            let vals = [i[0], i[1], i[2], i[3], o[0], o[1], o[2]];
            Ok(BANDWIDTH_FIELDS.iter().zip(vals).map(|((f, _, _), v)| TypedParam::new(*f, TypedValue::UInt(v))).collect())
        })
    }

    pub(crate) fn tune_set_interface_parameters(&self, d: &DomainRef, device: &str, params: &[TypedParam], flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainSetInterfaceParameters", D)?;
        let allowed: Vec<(&str, TypedType)> = BANDWIDTH_FIELDS.iter().map(|(f, _, _)| (*f, TypedType::UInt)).collect();
        typedparam::validate(params, &allowed)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let net = net_find(def, device)?;
            let (mut inb_new, mut outb_new) = ([0u32; 4], [0u32; 4]);
            let (mut in_spec, mut out_spec) = (false, false);
            for p in params {
                let TypedValue::UInt(v) = p.value else { continue };
                match p.field.as_str() {
                    "inbound.average" => {
                        inb_new[0] = v;
                        in_spec = true;
                    }
                    "inbound.peak" => inb_new[1] = v,
                    "inbound.burst" => inb_new[2] = v,
                    "inbound.floor" => {
                        inb_new[3] = v;
                        in_spec = true;
                    }
                    "outbound.average" => {
                        outb_new[0] = v;
                        out_spec = true;
                    }
                    "outbound.peak" => outb_new[1] = v,
                    "outbound.burst" => outb_new[2] = v,
                    _ => {}
                }
            }
            // average or floor are mandatory, peak and burst are optional
            let inb = (inb_new[0] != 0 || inb_new[3] != 0).then_some(inb_new);
            let outb = (outb_new[0] != 0).then_some(outb_new);
            let (cur_in, cur_out) = bandwidth(net);
            let had = net.other.iter().any(|e| e.name == "bandwidth");
            let (fin_in, fin_out) = if !had {
                (inb, outb)
            } else {
                (
                    if inb.is_some() {
                        inb
                    } else if in_spec {
                        None
                    } else {
                        cur_in
                    },
                    if outb.is_some() {
                        outb
                    } else if out_spec {
                        None
                    } else {
                        cur_out
                    },
                )
            };
            let new_el = bandwidth_el(fin_in, fin_out);
            match (net.other.iter().position(|e| e.name == "bandwidth"), new_el) {
                (Some(i), Some(el)) => net.other[i] = el,
                (Some(i), None) => {
                    net.other.remove(i);
                }
                (None, Some(el)) => net.other.push(el),
                (None, None) => {}
            }
            Ok(())
        })
    }
}

/// `testDomainSaveImageDefineXML`: the image must be readable; its XML is replaced.
pub(crate) fn save_image_define_xml(path: &str, dxml: &str, flags: u32) -> Result<()> {
    check_flags(flags, 2 | 4, "testDomainSaveImageDefineXML", D)?;
    crate::domain::read_save_image(path)?;
    let def = crate::domain::parse_domain(dxml)?;
    crate::domain::write_save_image(path, &def)
}

/// The IOThread ids of a definition: (id, explicit `<iothread>` element or None when
/// autofilled from `<iothreads>N</iothreads>`), in libvirt's order (explicit ones as
/// written, then the autofilled lowest free ids).
fn iothread_ids(def: &DomainDef) -> Vec<(u32, Option<El>)> {
    let mut ids: Vec<(u32, Option<El>)> = top(def, "iothreadids")
        .into_iter()
        .flat_map(|e| children(e, "iothread"))
        .filter_map(|e| attr(e, "id").and_then(|v| v.parse().ok()).map(|id| (id, Some(e.clone()))))
        .collect();
    let n: usize = top(def, "iothreads").and_then(|e| text(e).trim().parse().ok()).unwrap_or(0);
    let mut next = 1;
    while ids.len() < n {
        while ids.iter().any(|(id, _)| *id == next) {
            next += 1;
        }
        ids.push((next, None));
    }
    ids
}

/// `virDomainDefIOThreadsFormat`: the count, and the ids when any was given explicitly.
fn set_iothread_ids(def: &mut DomainDef, ids: &[(u32, Option<El>)]) {
    if ids.is_empty() {
        set_top(def, "iothreads", None);
        set_top(def, "iothreadids", None);
        return;
    }
    set_top(def, "iothreads", Some(El::new("iothreads").text(ids.len())));
    if ids.iter().all(|(_, e)| e.is_none()) {
        set_top(def, "iothreadids", None);
        return;
    }
    let mut el = El::new("iothreadids");
    for (id, e) in ids {
        el.push(e.clone().unwrap_or_else(|| El::new("iothread").attr("id", id)));
    }
    set_top(def, "iothreadids", Some(el));
}

impl TestConn {
    pub(crate) fn tune_get_iothread_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        check_flags(flags, LIVE_CONFIG, "testDomainGetIOThreadInfo", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let cpumask = def.vcpu_cpuset.as_deref().and_then(parse_cpuset);
            // libvirt's fallback: a bitmap as wide as the guest's vCPU count, all set
            let fallback: BTreeSet<u32> = (0..def.vcpus_current).collect();
            Ok(iothread_ids(def)
                .into_iter()
                .map(|(id, _)| {
                    let pin = def
                        .cputune
                        .iter()
                        .find(|e| e.name == "iothreadpin" && attr(e, "iothread") == Some(id.to_string().as_str()))
                        .and_then(|e| attr(e, "cpuset"))
                        .and_then(parse_cpuset);
                    let set = pin.as_ref().or(cpumask.as_ref()).unwrap_or(&fallback);
                    // virBitmapToData: up to the last set bit
                    let len = set.iter().next_back().map(|b| (*b as usize + 8) / 8).unwrap_or(1);
                    (id, map_from_set(set, len))
                })
                .collect())
        })
    }

    pub(crate) fn tune_add_iothread(&self, d: &DomainRef, id: u32, flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainAddIOThread", D)?;
        if id == 0 {
            return Err(Error::new(ErrorCode::InvalidArg, D, "invalid value of 0 for iothread_id"));
        }
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let mut ids = iothread_ids(def);
            if ids.iter().any(|(i, _)| *i == id) {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    ErrorDomain::Domain,
                    format!("an IOThread is already using iothread_id '{id}'"),
                ));
            }
            ids.push((id, Some(El::new("iothread").attr("id", id))));
            set_iothread_ids(def, &ids);
            Ok(())
        })
    }

    pub(crate) fn tune_del_iothread(&self, d: &DomainRef, id: u32, flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainDelIOThread", D)?;
        if id == 0 {
            return Err(Error::new(ErrorCode::InvalidArg, D, "invalid value of 0 for iothread_id"));
        }
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let mut ids = iothread_ids(def);
            let Some(pos) = ids.iter().position(|(i, _)| *i == id) else {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    ErrorDomain::Domain,
                    format!("cannot find IOThread '{id}' in iothreadids list"),
                ));
            };
            ids.remove(pos);
            set_iothread_ids(def, &ids);
            def.cputune.retain(|e| !(e.name == "iothreadpin" && attr(e, "iothread") == Some(id.to_string().as_str())));
            Ok(())
        })
    }

    pub(crate) fn tune_pin_iothread(&self, d: &DomainRef, id: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        check_flags(flags, LIVE_CONFIG, "testDomainPinIOThread", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            let set = set_from_map(cpumap);
            if set.is_empty() {
                return Err(Error::new(ErrorCode::InvalidArg, D, "Empty iothread cpumap list for pinning"));
            }
            let mut ids = iothread_ids(def);
            let Some(pos) = ids.iter().position(|(i, _)| *i == id) else {
                return Err(Error::new(ErrorCode::InvalidArg, D, format!("iothreadid {id} not found")));
            };
            // a pinned IOThread is no longer autofilled
            if ids[pos].1.is_none() {
                ids[pos].1 = Some(El::new("iothread").attr("id", id));
                set_iothread_ids(def, &ids);
            }
            let key = id.to_string();
            def.cputune.retain(|e| !(e.name == "iothreadpin" && attr(e, "iothread") == Some(key.as_str())));
            def.cputune.push(El::new("iothreadpin").attr("iothread", id).attr("cpuset", format_cpuset(&set)));
            def.sort_cputune();
            Ok(())
        })
    }
}

impl TestConn {
    /// `testDomainSetIOThreadParams`: live only; the IOThread must exist; the polling
    /// values are checked (libvirt's test driver keeps them where nothing reads them).
    pub(crate) fn tune_set_iothread_params(&self, d: &DomainRef, id: u32, params: &[TypedParam], flags: u32) -> Result<()> {
        check_flags(flags, 1, "testDomainSetIOThreadParams", D)?;
        if id == 0 {
            return Err(Error::new(ErrorCode::InvalidArg, D, "invalid value of 0 for iothread_id"));
        }
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            if !iothread_ids(def).iter().any(|(i, _)| *i == id) {
                return Err(Error::new(ErrorCode::InvalidArg, D, format!("cannot find IOThread '{id}' in iothreadids")));
            }
            typedparam::validate(
                params,
                &[("poll_max_ns", TypedType::ULLong), ("poll_grow", TypedType::UInt), ("poll_shrink", TypedType::UInt)],
            )
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpusets() {
        let s = parse_cpuset("0-3,^2,7").unwrap();
        assert_eq!(format_cpuset(&s), "0-1,3,7");
        assert_eq!(map_from_set(&s, 1), vec![0b1000_1011]);
        assert_eq!(set_from_map(&[0x15]), parse_cpuset("0,2,4").unwrap());
        assert!(parse_cpuset("3-1").is_none());
    }
}
