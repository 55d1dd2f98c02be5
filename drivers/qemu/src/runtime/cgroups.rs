//! A guest's cgroup (libvirt's `virDomainCgroupSetupCgroup` on its non-systemd path,
//! `qemuSetupCgroupForEmulator`, `qemuSetupCgroupForVcpu`) and the tunables
//! `<memtune>`, `<cputune>` and `<blkiotune>` applied to it.
//!
//! The group is `/machine/MACHINE.libvirt-qemu` in every hierarchy used, where
//! `MACHINE` is libvirt's machine name: `qemu-ID-NAME`, or
//! `qemu-embed-HASH-ID-NAME` for a driver with its own root (so two roots never share
//! a group). Controllers used: `cpu`, `cpuacct`, `memory`, `blkio`, `freezer`, as
//! `qemu.conf`'s `cgroup_controllers` allows (`cpuset` and `devices` are not
//! managed). With the `cpu` controller, QEMU's threads go to an `emulator`
//! sub-group and each vCPU thread to `vcpuN`, which carry `emulator_period/quota` and
//! `period/quota` (libvirt's `qemuProcessSetupPid`). On v1 these are plain groups of
//! the `cpu`/`cpuacct` hierarchies; on v2 they are *threaded* groups (libvirt's
//! `virCgroupNewThread`): the domain group keeps the process in `cgroup.procs` and
//! becomes the threaded domain root that `memory` and `io` apply to, with `+cpu` in
//! its `cgroup.subtree_control`, and threads move with `cgroup.threads`.
//!
//! v2 is checked against a real cgroup2-only kernel inside the test guest
//! (`tests/qemu/cgv2.rs` of this crate's test binary; `docs/qemu-driver.md`).
//!
//! The group is found again by name after a daemon restart; it is removed when the
//! guest stops, whoever notices.

use crate::qmp::Qmp;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::DomainDef;
use oxvirt_conf::xml::{El, XNode};
use oxvirt_util::cgroup::{self, Cgroup, Layout};
use std::path::{Path, PathBuf};

/// The controllers a guest's group uses (when the host and `qemu.conf` allow).
const USED: [&str; 5] = ["cpu", "cpuacct", "memory", "blkio", "freezer"];

/// One `<blkiotune><device>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioDevice {
    /// `<path>`: a block device.
    pub path: PathBuf,
    /// `<weight>`.
    pub weight: Option<u64>,
    /// (`read_bps`/`write_bps`/`read_iops`/`write_iops`, value) throttles.
    pub throttles: Vec<(&'static str, u64)>,
}

/// The tunables of a definition, parsed and checked as libvirt does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tunes {
    /// `<memtune><hard_limit>`, KiB.
    pub hard_limit: Option<u64>,
    /// `<memtune><soft_limit>`, KiB.
    pub soft_limit: Option<u64>,
    /// `<memtune><swap_hard_limit>`, KiB.
    pub swap_hard_limit: Option<u64>,
    /// `<cputune><shares>`.
    pub shares: Option<u64>,
    /// `<cputune><period>`, µs.
    pub period: Option<u64>,
    /// `<cputune><quota>`, µs.
    pub quota: Option<i64>,
    /// `<cputune><emulator_period>`.
    pub emulator_period: Option<u64>,
    /// `<cputune><emulator_quota>`.
    pub emulator_quota: Option<i64>,
    /// `<cputune><global_period>`: the whole guest's group.
    pub global_period: Option<u64>,
    /// `<cputune><global_quota>`.
    pub global_quota: Option<i64>,
    /// `<cputune><iothread_period>` (checked only: no IOThread has its own group).
    pub iothread_period: Option<u64>,
    /// `<cputune><iothread_quota>` (checked only).
    pub iothread_quota: Option<i64>,
    /// `<blkiotune><weight>`.
    pub blkio_weight: Option<u64>,
    /// `<blkiotune><device>`s.
    pub blkio_devices: Vec<BlkioDevice>,
}

fn text(e: &El) -> String {
    e.children
        .iter()
        .filter_map(|c| match c {
            XNode::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

fn child<'a>(e: &'a El, name: &str) -> Option<&'a El> {
    e.children.iter().find_map(|c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
}

fn xml_err(msg: impl AsRef<str>) -> Error {
    Error::new(ErrorCode::XmlError, ErrorDomain::Domain, msg)
}

fn unsupported(msg: impl AsRef<str>) -> Error {
    Error::new(ErrorCode::ConfigUnsupported, ErrorDomain::Domain, msg)
}

/// libvirt's `virDomainParseMemoryLimit`: a scaled value (`unit=`, KiB by default),
/// rounded up to KiB.
fn memory_limit(e: &El, xpath: &str) -> Result<u64> {
    let raw = text(e);
    let n: u64 = raw.parse().map_err(|_| xml_err(format!("Invalid value '{raw}' for element or attribute '{xpath}'")))?;
    let unit = e.attrs.iter().find(|(k, _)| k == "unit").map(|(_, v)| v.as_str()).unwrap_or("KiB");
    let scale: u64 = match unit {
        "b" | "byte" | "bytes" | "B" => 1,
        "KB" => 1000,
        "k" | "K" | "KiB" => 1024,
        "MB" => 1000u64.pow(2),
        "m" | "M" | "MiB" => 1024u64.pow(2),
        "GB" => 1000u64.pow(3),
        "g" | "G" | "GiB" => 1024u64.pow(3),
        "TB" => 1000u64.pow(4),
        "t" | "T" | "TiB" => 1024u64.pow(4),
        "PB" => 1000u64.pow(5),
        "p" | "P" | "PiB" => 1024u64.pow(5),
        other => return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("unknown suffix '{other}'"))),
    };
    let bytes =
        n.checked_mul(scale).ok_or_else(|| Error::new(ErrorCode::Overflow, ErrorDomain::None, format!("value too large: {raw}{unit}")))?;
    Ok(bytes.div_ceil(1024).min(cgroup::MEMORY_UNLIMITED))
}

impl Tunes {
    /// Parse and check the tunables of `def` (libvirt's parse-time messages and
    /// `virDomainDefCputuneValidate` ranges).
    pub fn from_def(def: &DomainDef) -> Result<Tunes> {
        let mut t = Tunes::default();
        if let Some(m) = def.other.iter().find(|e| e.name == "memtune") {
            for (name, slot) in
                [("hard_limit", &mut t.hard_limit), ("soft_limit", &mut t.soft_limit), ("swap_hard_limit", &mut t.swap_hard_limit)]
            {
                if let Some(e) = child(m, name) {
                    let v = memory_limit(e, &format!("./memtune/{name}[1]"))?;
                    *slot = (v < cgroup::MEMORY_UNLIMITED).then_some(v);
                }
            }
            if let (Some(h), Some(s)) = (t.hard_limit, t.swap_hard_limit) {
                if h > s {
                    return Err(Error::new(
                        ErrorCode::XmlError,
                        ErrorDomain::Domain,
                        "memory hard_limit tunable value must be lower than or equal to swap_hard_limit",
                    ));
                }
            }
        }
        let ct = |name: &str| def.cputune.iter().find(|e| e.name == name).map(text);
        let ull = |name: &str, what: &str| -> Result<Option<u64>> {
            ct(name).map(|v| v.parse::<u64>().map_err(|_| xml_err(format!("can't parse cputune {what} value")))).transpose()
        };
        let ll = |name: &str, what: &str| -> Result<Option<i64>> {
            ct(name).map(|v| v.parse::<i64>().map_err(|_| xml_err(format!("can't parse cputune {what} value")))).transpose()
        };
        t.shares = ull("shares", "shares")?;
        t.period = ull("period", "period")?.filter(|p| *p > 0);
        t.quota = ll("quota", "quota")?.filter(|q| *q != 0);
        t.emulator_period = ull("emulator_period", "emulator period")?.filter(|p| *p > 0);
        t.emulator_quota = ll("emulator_quota", "emulator quota")?.filter(|q| *q != 0);
        t.global_period = ull("global_period", "global period")?.filter(|p| *p > 0);
        t.global_quota = ll("global_quota", "global quota")?.filter(|q| *q != 0);
        t.iothread_period = ull("iothread_period", "iothread period")?.filter(|p| *p > 0);
        t.iothread_quota = ll("iothread_quota", "iothread quota")?.filter(|q| *q != 0);
        if let Some(s) = t.shares.filter(|s| *s > 0) {
            let (lo, hi) = cgroup::CPU_SHARES_RANGE;
            if !(lo..=hi).contains(&s) {
                return Err(unsupported(format!("Value of cputune 'shares' must be in range [{lo}, {hi}]")));
            }
        }
        for (name, v) in [
            ("period", t.period),
            ("global_period", t.global_period),
            ("emulator_period", t.emulator_period),
            ("iothread_period", t.iothread_period),
        ] {
            let (lo, hi) = cgroup::CPU_PERIOD_RANGE;
            if v.is_some_and(|v| !(lo..=hi).contains(&v)) {
                return Err(unsupported(format!("Value of cputune '{name}' must be in range [{lo}, {hi}]")));
            }
        }
        for (name, v) in [
            ("quota", t.quota),
            ("global_quota", t.global_quota),
            ("emulator_quota", t.emulator_quota),
            ("iothread_quota", t.iothread_quota),
        ] {
            let (lo, hi) = cgroup::CPU_QUOTA_RANGE;
            if v.is_some_and(|v| v > 0 && !(lo..=hi).contains(&v)) {
                return Err(unsupported(format!("Value of cputune '{name}' must be in range [{lo}, {hi}]")));
            }
        }
        if let Some(b) = def.other.iter().find(|e| e.name == "blkiotune") {
            t.blkio_weight = child(b, "weight").and_then(|w| text(w).parse::<u64>().ok()).filter(|w| *w > 0);
            for d in b.children.iter().filter_map(|c| match c {
                XNode::El(x) if x.name == "device" => Some(x),
                _ => None,
            }) {
                let path = child(d, "path").map(text).filter(|p| !p.is_empty()).ok_or_else(|| unsupported("missing per-device path"))?;
                let mut dev = BlkioDevice { path: PathBuf::from(path), ..BlkioDevice::default() };
                if let Some(w) = child(d, "weight") {
                    let v = text(w);
                    dev.weight = Some(v.parse().map_err(|_| unsupported(format!("could not parse weight {v}")))?);
                }
                for (el, key, what) in [
                    ("read_bytes_sec", "read_bps", "read bytes sec"),
                    ("write_bytes_sec", "write_bps", "write bytes sec"),
                    ("read_iops_sec", "read_iops", "read iops sec"),
                    ("write_iops_sec", "write_iops", "write iops sec"),
                ] {
                    if let Some(e) = child(d, el) {
                        let v = text(e);
                        dev.throttles.push((key, v.parse().map_err(|_| unsupported(format!("could not parse {what} {v}")))?));
                    }
                }
                t.blkio_devices.push(dev);
            }
        }
        Ok(t)
    }

    /// Whether no tunable is set (then a host whose cgroups cannot be used still runs
    /// the guest, without a group).
    pub fn is_empty(&self) -> bool {
        !self.memory() && !self.cpu() && !self.blkio()
    }

    fn memory(&self) -> bool {
        self.hard_limit.is_some() || self.soft_limit.is_some() || self.swap_hard_limit.is_some()
    }

    fn cpu(&self) -> bool {
        self.shares.is_some()
            || self.period.is_some()
            || self.quota.is_some()
            || self.emulator_period.is_some()
            || self.emulator_quota.is_some()
            || self.global_period.is_some()
            || self.global_quota.is_some()
    }

    fn blkio(&self) -> bool {
        self.blkio_weight.is_some() || !self.blkio_devices.is_empty()
    }

    /// libvirt's session-mode check: no cgroups, so no tunables.
    pub fn check_session(&self) -> Result<()> {
        if self.memory() {
            return Err(unsupported("Memory tuning is not available in session mode"));
        }
        if self.blkio_weight.is_some() {
            return Err(unsupported("Block I/O tuning is not available in session mode"));
        }
        if self.cpu() {
            return Err(unsupported("CPU tuning is not available in session mode"));
        }
        Ok(())
    }
}

/// libvirt's `virDomainDriverGenerateMachineName` for the QEMU driver (privileged).
pub fn machine_name(root: Option<&Path>, id: i32, name: &str) -> String {
    let mut out = match root {
        Some(r) => {
            let digest = ring::digest::digest(&ring::digest::SHA256, r.as_os_str().as_encoded_bytes());
            let hex: String = digest.as_ref().iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!("qemu-embed-{hex}-")
        }
        None => "qemu-".to_string(),
    };
    out.push_str(&format!("{id}-"));
    let mut skip = true;
    for c in name.chars() {
        if out.len() >= 64 {
            break;
        }
        if c == '.' || c == '-' {
            if !skip {
                out.push(c);
                skip = true;
            }
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            continue;
        }
        out.push(c);
        skip = false;
    }
    out.trim_end_matches(['-', '.']).to_string()
}

/// The group of guest `machine` (libvirt's `/machine/MACHINE.libvirt-qemu`).
pub fn domain_group(layout: &Layout, machine: &str, allowed: impl Fn(&str) -> bool) -> Cgroup {
    Cgroup::new(layout, &format!("machine/{machine}.libvirt-qemu"), |c| USED.contains(&c) && allowed(c))
}

/// Create the group of a starting guest, put `pid` in it and apply `tunes`; on v1
/// with `cpu`, QEMU's threads go to the `emulator` sub-group. On failure the group
/// is removed again.
pub fn setup(group: &Cgroup, layout: &Layout, tunes: &Tunes, pid: i32) -> Result<()> {
    let r = setup_inner(group, layout, tunes, pid);
    if r.is_err() {
        // Out of the group first, or it cannot go.
        if let Some((root, _)) = &layout.v2 {
            let _ = std::fs::write(root.join("cgroup.procs"), pid.to_string());
        }
        for (_, mount) in &layout.v1 {
            let _ = std::fs::write(mount.join("cgroup.procs"), pid.to_string());
        }
        let _ = group.remove();
    }
    r
}

fn setup_inner(group: &Cgroup, layout: &Layout, tunes: &Tunes, pid: i32) -> Result<()> {
    let has = |c: &str| group.version_of(c).is_some();
    if tunes.blkio() && !has("blkio") {
        return Err(unsupported("Block I/O tuning is not available on this host"));
    }
    if tunes.memory() && !has("memory") {
        return Err(unsupported("Memory cgroup is not available on this host"));
    }
    if tunes.shares.is_some() && !has("cpu") {
        return Err(unsupported("CPU tuning is not available on this host"));
    }
    if tunes.cpu() && !has("cpu") {
        return Err(unsupported("cgroup cpu is required for scheduler tuning"));
    }
    group.create(layout)?;
    group.add_process(pid)?;
    if let Some(w) = tunes.blkio_weight {
        group.set_blkio_weight(w)?;
    }
    for d in &tunes.blkio_devices {
        let dev = cgroup::block_dev_string(&d.path)?;
        // libvirt's virDomainCgroupSetupBlkio: weight, then the throttles in this
        // order; a 0 (unset) is not written.
        if let Some(w) = d.weight.filter(|w| *w != 0) {
            group.set_blkio_device_weight(&dev, w)?;
        }
        for key in ["read_iops", "write_iops", "read_bps", "write_bps"] {
            for (_, v) in d.throttles.iter().filter(|(k, v)| *k == key && *v != 0) {
                group.set_blkio_throttle(&dev, key, *v)?;
            }
        }
    }
    if let Some(h) = tunes.hard_limit {
        group.set_memory_hard_limit(h)?;
    }
    if let Some(s) = tunes.soft_limit {
        group.set_memory_soft_limit(s)?;
    }
    if let Some(s) = tunes.swap_hard_limit {
        group.set_memory_swap_hard_limit(s)?;
    }
    if let Some(s) = tunes.shares {
        group.set_cpu_shares(s)?;
    }
    if tunes.global_period.is_some() || tunes.global_quota.is_some() {
        // libvirt's virDomainCgroupSetupGlobalCpuCgroup: the domain group itself.
        group.set_cpu_bandwidth(tunes.global_period.unwrap_or(0), tunes.global_quota)?;
    }
    if group.version_of("cpu").is_some() {
        // libvirt's emulator sub-group (qemuProcessSetupEmulator): created, its
        // bandwidth set, then QEMU's threads moved in (libvirt moves the one thread
        // of the child before exec; QEMU here already runs, so all of its threads).
        let emulator = group.child("emulator", cpu_only);
        emulator.create_threaded()?;
        if tunes.emulator_period.is_some() || tunes.emulator_quota.is_some() {
            emulator.set_cpu_bandwidth(tunes.emulator_period.unwrap_or(0), tunes.emulator_quota)?;
        }
        for tid in threads_of(pid) {
            emulator.add_thread(tid)?;
        }
    }
    Ok(())
}

/// The sub-groups' controllers: libvirt's thread groups use `cpu`, `cpuacct` (and
/// `cpuset`, not managed here).
fn cpu_only(c: &str) -> bool {
    c == "cpu" || c == "cpuacct"
}

/// Once the monitor is up (QEMU still paused): with `cpu`, each vCPU thread goes to
/// its `vcpuN` sub-group, which carries `period`/`quota`.
pub fn place_vcpus(group: &Cgroup, _layout: &Layout, tunes: &Tunes, qmp: &Qmp) -> Result<()> {
    if group.version_of("cpu").is_none() {
        return Ok(());
    }
    place_vcpu_threads(group, tunes, &vcpu_threads(qmp))
}

/// [`place_vcpus`] for a known (vCPU index, thread id) list — what
/// `query-cpus-fast` answers (the seam the cgroup v2 guest test uses, without QMP).
/// libvirt's `qemuProcessSetupVcpu`: the thread group is created, its bandwidth
/// set, then the thread moved in.
pub fn place_vcpu_threads(group: &Cgroup, tunes: &Tunes, vcpus: &[(i64, i32)]) -> Result<()> {
    if group.version_of("cpu").is_none() {
        return Ok(());
    }
    for (n, tid) in vcpus {
        let vcpu = group.child(&format!("vcpu{n}"), cpu_only);
        vcpu.create_threaded()?;
        if tunes.period.is_some() || tunes.quota.is_some() {
            vcpu.set_cpu_bandwidth(tunes.period.unwrap_or(0), tunes.quota)?;
        }
        vcpu.add_thread(*tid)?;
    }
    Ok(())
}

/// The `vcpuN` thread group of a guest's group (libvirt's
/// `virCgroupNewThread(VIR_CGROUP_THREAD_VCPU)`), for live changes.
pub fn vcpu_group(group: &Cgroup, n: u32) -> Cgroup {
    group.child(&format!("vcpu{n}"), cpu_only)
}

/// The `emulator` thread group of a guest's group, for live changes.
pub fn emulator_group(group: &Cgroup) -> Cgroup {
    group.child("emulator", cpu_only)
}

/// The thread ids of `pid`.
fn threads_of(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|rd| rd.flatten().filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok())).collect())
        .unwrap_or_default()
}

/// (vCPU index, thread id) from `query-cpus-fast`.
fn vcpu_threads(q: &Qmp) -> Vec<(i64, i32)> {
    let Ok(v) = q.execute("query-cpus-fast", None) else { return Vec::new() };
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    let idx = c.get("cpu-index")?.as_i64()?;
                    let tid = i32::try_from(c.get("thread-id")?.as_i64()?).ok()?;
                    Some((idx, tid))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Remove a stopped guest's group (its processes are gone). Sub-groups go first; a
/// group that is already gone is fine.
pub fn teardown(group: &Cgroup) {
    // The kernel may still be tearing the exited process down: retry briefly.
    for _ in 0..50 {
        if group.remove().is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use oxvirt_conf::domain::ParseOptions;

    fn def(extra: &str) -> DomainDef {
        let xml = format!("<domain type='qemu'><name>a</name><memory>65536</memory><os><type>hvm</type></os>{extra}</domain>");
        DomainDef::parse(&xml, &ParseOptions { driver: Some("qemu".into()), inactive: true }).unwrap()
    }

    #[test]
    fn tunes_parse_with_units_and_ranges() {
        let t = Tunes::from_def(&def(
            "<memtune><hard_limit unit='MiB'>256</hard_limit><soft_limit>1000</soft_limit><swap_hard_limit unit='G'>1</swap_hard_limit></memtune>\
             <cputune><shares>2048</shares><period>20000</period><quota>10000</quota><emulator_period>50000</emulator_period><emulator_quota>-1</emulator_quota></cputune>\
             <blkiotune><weight>500</weight><device><path>/dev/null</path><read_iops_sec>100</read_iops_sec></device></blkiotune>",
        ))
        .unwrap();
        assert_eq!((t.hard_limit, t.soft_limit, t.swap_hard_limit), (Some(262_144), Some(1000), Some(1_048_576)));
        assert_eq!(
            (t.shares, t.period, t.quota, t.emulator_period, t.emulator_quota),
            (Some(2048), Some(20000), Some(10000), Some(50000), Some(-1))
        );
        assert_eq!(t.blkio_weight, Some(500));
        assert_eq!(t.blkio_devices[0].throttles, vec![("read_iops", 100)]);
        let e = |x: &str| Tunes::from_def(&def(x)).unwrap_err();
        let x = e("<cputune><shares>1</shares></cputune>");
        assert_eq!(x.code, ErrorCode::ConfigUnsupported);
        assert!(x.message.contains("Value of cputune 'shares' must be in range [2, 262144]"), "{}", x.message);
        assert!(e("<cputune><period>10</period></cputune>").message.contains("'period' must be in range [1000, 1000000]"));
        assert_eq!(e("<cputune><quota>x</quota></cputune>").code, ErrorCode::XmlError);
        assert!(e("<cputune><global_period>10</global_period></cputune>")
            .message
            .contains("'global_period' must be in range [1000, 1000000]"));
        assert!(e("<cputune><iothread_quota>x</iothread_quota></cputune>").message.contains("can't parse cputune iothread quota value"));
        let x = e("<memtune><hard_limit>lots</hard_limit></memtune>");
        assert_eq!(x.code, ErrorCode::XmlError);
        assert!(x.message.contains("Invalid value 'lots' for element or attribute './memtune/hard_limit[1]'"), "{}", x.message);
        assert!(e("<blkiotune><device><weight>5</weight></device></blkiotune>").message.contains("missing per-device path"));
        assert!(Tunes::from_def(&def("<memtune><hard_limit>1</hard_limit></memtune>")).unwrap().check_session().is_err());
    }

    #[test]
    fn machine_names_are_libvirts() {
        assert_eq!(machine_name(None, 1, "my_vm.x--y."), "qemu-1-myvm.x-y");
        let embed = machine_name(Some(Path::new("/r")), 3, "a");
        assert!(embed.starts_with("qemu-embed-") && embed.ends_with("-3-a") && embed.len() == "qemu-embed-12345678-3-a".len(), "{embed}");
    }

    #[test]
    fn v2_setup_uses_threaded_emulator_and_vcpu_groups() {
        // Regression (real cgroup2, tests/qemu/cgv2.rs): on v2 the bandwidths go to
        // threaded `emulator`/`vcpuN` groups as libvirt 9.0 does, not merged into the
        // domain group.
        let root = std::env::temp_dir().join(format!("oxvirt-qcg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let d = root.join("machine/qemu-1-a.libvirt-qemu");
        let files = ["cgroup.procs", "cgroup.type", "cgroup.threads", "cgroup.subtree_control", "cpu.max", "cpu.weight", "memory.max"];
        for dir in [d.join("emulator"), d.join("vcpu0")] {
            std::fs::create_dir_all(&dir).unwrap();
            for f in files {
                std::fs::write(dir.join(f), "").unwrap();
            }
            std::fs::write(dir.join("cpu.max"), "max 100000").unwrap();
        }
        for f in files {
            std::fs::write(d.join(f), "").unwrap();
        }
        std::fs::write(d.join("cpu.max"), "max 100000").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        std::fs::write(root.join("machine/cgroup.subtree_control"), "").unwrap();
        let layout = Layout::fake_v2(&root, &["cpu", "memory", "io", "pids"]);
        let g = domain_group(&layout, "qemu-1-a", |_| true);
        let t =
            Tunes::from_def(&def("<memtune><hard_limit>1024</hard_limit></memtune><cputune><shares>4096</shares><period>20000</period>\
             <quota>10000</quota><emulator_period>50000</emulator_period><emulator_quota>25000</emulator_quota></cputune>"))
            .unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        setup(&g, &layout, &t, me).unwrap();
        place_vcpu_threads(&g, &t, &[(0, 4242)]).unwrap();
        let read = |p: &str| std::fs::read_to_string(d.join(p)).unwrap();
        assert_eq!(read("cgroup.procs"), me.to_string());
        assert_eq!(read("memory.max"), "1048576");
        assert_eq!(read("cpu.weight"), "4096");
        assert_eq!(read("cpu.max"), "max 100000", "the domain group's bandwidth is left alone");
        assert_eq!(read("cgroup.subtree_control"), "+cpu");
        assert_eq!(read("emulator/cgroup.type"), "threaded");
        assert_eq!(read("emulator/cpu.max"), "25000 50000");
        assert!(!read("emulator/cgroup.threads").is_empty());
        assert_eq!(read("vcpu0/cgroup.type"), "threaded");
        assert_eq!(read("vcpu0/cpu.max"), "10000 20000");
        assert_eq!(read("vcpu0/cgroup.threads"), "4242");
        teardown(&g);
        assert!(!d.exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
