//! Control groups, v1 and v2 (libvirt's `vircgroup.c`, `vircgroupv1.c`,
//! `vircgroupv2.c`), for any hypervisor driver.
//!
//! [`Layout`] says where the hierarchies are mounted: each v1 controller's mount point
//! and the cgroup2 mount with the controllers it offers. As in libvirt, a controller is
//! used through v2 when the unified hierarchy offers it and through v1 otherwise, so a
//! hybrid host (v1 controllers plus an empty `/sys/fs/cgroup/unified`) works entirely
//! through v1 and a pure v2 host entirely through v2. [`Cgroup`] is one group below
//! every hierarchy it uses, by a path relative to the hierarchies' roots
//! (`machine/qemu-1-vm.libvirt-qemu`).
//!
//! Everything goes through plain file operations below the layout's mount points, so
//! the logic runs unprivileged against a directory tree that imitates cgroupfs
//! ([`Layout::fake_v1`], [`Layout::fake_v2`]); the kernel's own rules (ranges,
//! `EBUSY` on removal, threaded sub-trees) only show on a real mount: v1 is exercised
//! on the host by the daemon tests, v2 inside the test guest, whose kernel has cgroup2
//! only (`drivers/qemu/tests/qemu/cgv2.rs`, docs/qemu-driver.md).

use crate::{ErrorCode, ErrorDomain, VirError};
use std::path::{Path, PathBuf};

/// libvirt's `VIR_CGROUP_CPU_SHARES_MIN`/`MAX` (v1 `cpu.shares`).
pub const CPU_SHARES_RANGE: (u64, u64) = (2, 262_144);
/// `cpu.weight` of v2 as the kernel takes it. libvirt 9.0 checks shares against
/// [`CPU_SHARES_RANGE`] on v2 too and leaves the narrower range to the kernel
/// (`ERANGE`), so this is informational.
pub const CPU_WEIGHT_RANGE: (u64, u64) = (1, 10_000);
/// libvirt's `VIR_CGROUP_CPU_PERIOD_MIN`/`MAX`, microseconds.
pub const CPU_PERIOD_RANGE: (u64, u64) = (1000, 1_000_000);
/// libvirt's `VIR_CGROUP_CPU_QUOTA_MIN`/`MAX`, microseconds.
pub const CPU_QUOTA_RANGE: (i64, i64) = (1000, 17_592_186_044_415);
/// libvirt's `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED` in KiB: "no limit".
pub const MEMORY_UNLIMITED: u64 = 9_007_199_254_740_991;

/// libvirt's `virReportSystemError`: `MESSAGE: strerror(errno)` (without Rust's
/// ` (os error N)` suffix, so a kernel refusal reads as libvirt's does).
fn sys_err(msg: String, e: &std::io::Error) -> VirError {
    let text = e.to_string();
    let text = match (text.rfind(" (os error "), e.raw_os_error()) {
        (Some(i), Some(_)) => &text[..i],
        _ => text.as_str(),
    };
    VirError::new(ErrorCode::SystemError, ErrorDomain::Cgroup, format!("{msg}: {text}"))
}

/// Where the hierarchies are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// v1 hierarchies: (controller, mount point); co-mounted controllers share one.
    pub v1: Vec<(String, PathBuf)>,
    /// The cgroup2 mount and the controllers its root offers (`cgroup.controllers`).
    pub v2: Option<(PathBuf, Vec<String>)>,
}

/// The v1 controller names a mount's options may list.
const V1_CONTROLLERS: [&str; 10] = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "net_cls", "perf_event", "pids"];

impl Layout {
    /// The layout of this host, from `/proc/self/mounts`.
    pub fn detect() -> Layout {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        Layout::from_mounts(&mounts)
    }

    /// The layout described by a `/proc/mounts` text.
    pub fn from_mounts(mounts: &str) -> Layout {
        let mut l = Layout::default();
        for line in mounts.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [_, dir, fstype, opts, ..] = f[..] else { continue };
            let dir = PathBuf::from(dir.replace("\\040", " "));
            match fstype {
                "cgroup" => {
                    for o in opts.split(',') {
                        if V1_CONTROLLERS.contains(&o) && !l.v1.iter().any(|(c, _)| c == o) {
                            l.v1.push((o.to_string(), dir.clone()));
                        }
                    }
                }
                "cgroup2" if l.v2.is_none() => {
                    let ctrls = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
                    l.v2 = Some((dir, ctrls.split_whitespace().map(str::to_string).collect()));
                }
                _ => {}
            }
        }
        l
    }

    /// A pure v2 layout rooted at `root`, offering `controllers` (for tests over a
    /// directory tree imitating cgroupfs).
    pub fn fake_v2(root: &Path, controllers: &[&str]) -> Layout {
        Layout { v1: Vec::new(), v2: Some((root.to_path_buf(), controllers.iter().map(|c| c.to_string()).collect())) }
    }

    /// A v1 layout with one directory per controller below `root`.
    pub fn fake_v1(root: &Path, controllers: &[&str]) -> Layout {
        Layout { v1: controllers.iter().map(|c| (c.to_string(), root.join(c))).collect(), v2: None }
    }

    /// The v2 name of a controller: `blkio` is `io` there.
    fn v2_name(controller: &str) -> &str {
        if controller == "blkio" {
            "io"
        } else {
            controller
        }
    }

    /// Whether `controller` goes through v2.
    fn on_v2(&self, controller: &str) -> bool {
        self.v2.as_ref().is_some_and(|(_, c)| c.iter().any(|n| n == Layout::v2_name(controller)))
    }
}

/// Which version a controller of a group is used through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Legacy per-controller hierarchies.
    V1,
    /// The unified hierarchy.
    V2,
}

/// One group: its directory in each hierarchy it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// Path relative to the hierarchies' roots, without a leading `/`.
    pub rel: String,
    /// (controller, version, directory) for each controller in use.
    dirs: Vec<(String, Version, PathBuf)>,
}

impl Cgroup {
    /// The group `rel` with the controllers `wanted` allows, as the layout offers them
    /// (not created; see [`Cgroup::create`]).
    pub fn new(layout: &Layout, rel: &str, wanted: impl Fn(&str) -> bool) -> Cgroup {
        let rel = rel.trim_matches('/').to_string();
        let mut dirs = Vec::new();
        for c in ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"] {
            if !wanted(c) {
                continue;
            }
            if layout.on_v2(c) {
                if let Some((root, _)) = &layout.v2 {
                    dirs.push((c.to_string(), Version::V2, root.join(&rel)));
                }
            } else if let Some((_, mount)) = layout.v1.iter().find(|(n, _)| n == c) {
                dirs.push((c.to_string(), Version::V1, mount.join(&rel)));
            }
        }
        Cgroup { rel, dirs }
    }

    /// The controllers this group uses.
    pub fn controllers(&self) -> impl Iterator<Item = &str> {
        self.dirs.iter().map(|(c, _, _)| c.as_str())
    }

    /// Whether `controller` is in use, and through which version.
    pub fn version_of(&self, controller: &str) -> Option<Version> {
        self.dirs.iter().find(|(c, _, _)| c == controller).map(|(_, v, _)| *v)
    }

    /// The directory of `controller`.
    pub fn dir_of(&self, controller: &str) -> Option<&Path> {
        self.dirs.iter().find(|(c, _, _)| c == controller).map(|(_, _, d)| d.as_path())
    }

    /// Every distinct directory of the group.
    fn distinct_dirs(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        for (_, _, d) in &self.dirs {
            if !out.contains(&d.as_path()) {
                out.push(d);
            }
        }
        out
    }

    /// A sub-group `name` of this group (libvirt's `emulator`, `vcpuN`), limited to
    /// the controllers `wanted` allows.
    pub fn child(&self, name: &str, wanted: impl Fn(&str) -> bool) -> Cgroup {
        Cgroup {
            rel: format!("{}/{name}", self.rel),
            dirs: self.dirs.iter().filter(|(c, _, _)| wanted(c)).map(|(c, v, d)| (c.clone(), *v, d.join(name))).collect(),
        }
    }

    /// Create the group's directories (and parents). On v2 the controllers it uses
    /// are enabled in each ancestor's `cgroup.subtree_control`, as libvirt does.
    pub fn create(&self, layout: &Layout) -> Result<(), VirError> {
        for (c, v, d) in &self.dirs {
            if *v == Version::V2 {
                if let Some((root, _)) = &layout.v2 {
                    let mut at = root.clone();
                    for comp in Path::new(&self.rel).components() {
                        enable_v2(&at, c)?;
                        at.push(comp);
                        mkdir(&at)?;
                    }
                }
            }
            mkdir(d)?;
        }
        Ok(())
    }

    /// Whether every directory of the group exists.
    pub fn exists(&self) -> bool {
        !self.dirs.is_empty() && self.dirs.iter().all(|(_, _, d)| d.is_dir())
    }

    /// Move process `pid` (all its threads) into the group.
    pub fn add_process(&self, pid: i32) -> Result<(), VirError> {
        for d in self.distinct_dirs() {
            write_raw(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Create a thread sub-group (libvirt's `virCgroupNewThread`: `emulator`,
    /// `vcpuN`). On v1 it is [`Cgroup::create`]. On v2, as libvirt's
    /// `virCgroupV2MakeGroup` with `VIR_CGROUP_THREAD`: the directory is made, its
    /// `cgroup.type` becomes `threaded` (the parent, which holds the guest's process,
    /// becomes the threaded domain root — allowed because no domain controller is on
    /// in its `cgroup.subtree_control`), then the threaded controllers it uses (`cpu`,
    /// `cpuset`) are enabled in the parent's `cgroup.subtree_control`.
    pub fn create_threaded(&self) -> Result<(), VirError> {
        let mut v2_done = false;
        for (c, v, d) in &self.dirs {
            if *v == Version::V1 {
                mkdir(d)?;
                continue;
            }
            if !v2_done {
                mkdir(d)?;
                let ty = d.join("cgroup.type");
                if std::fs::read_to_string(&ty).map(|t| t.trim() != "threaded").unwrap_or(true) {
                    write_raw(&ty, "threaded")?;
                }
                v2_done = true;
            }
            if c == "cpu" || c == "cpuset" {
                if let Some(parent) = d.parent() {
                    enable_v2(parent, c)?;
                }
            }
        }
        Ok(())
    }

    /// Move thread `tid` into the group: v1 `tasks`, v2 `cgroup.threads` (libvirt's
    /// `virCgroupAddThread`; on v2 the group must be in the thread's threaded
    /// sub-tree, see [`Cgroup::create_threaded`]).
    pub fn add_thread(&self, tid: i32) -> Result<(), VirError> {
        let mut v2_done = false;
        for (_, v, d) in &self.dirs {
            match v {
                Version::V1 => write_raw(&d.join("tasks"), &tid.to_string())?,
                Version::V2 if !v2_done => {
                    write_raw(&d.join("cgroup.threads"), &tid.to_string())?;
                    v2_done = true;
                }
                Version::V2 => {}
            }
        }
        Ok(())
    }

    /// The threads in the group (v1 `tasks`, v2 `cgroup.threads`, de-duplicated).
    pub fn threads(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for (_, v, d) in &self.dirs {
            let file = if *v == Version::V1 { "tasks" } else { "cgroup.threads" };
            for t in std::fs::read_to_string(d.join(file)).unwrap_or_default().lines() {
                if let Ok(t) = t.trim().parse::<i32>() {
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
            }
        }
        out
    }

    /// The processes in the group (its `cgroup.procs` files, de-duplicated).
    pub fn processes(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for d in self.distinct_dirs() {
            for p in std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default().lines() {
                if let Ok(p) = p.trim().parse::<i32>() {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    fn file(&self, controller: &str, v1: &str, v2: &str) -> Result<(Version, PathBuf), VirError> {
        let (_, ver, dir) = self.dirs.iter().find(|(c, _, _)| c == controller).ok_or_else(|| {
            VirError::new(
                ErrorCode::OperationInvalid,
                ErrorDomain::Cgroup,
                format!("cgroup {controller} controller is not mounted or not enabled"),
            )
        })?;
        Ok((*ver, dir.join(if *ver == Version::V1 { v1 } else { v2 })))
    }

    /// Write `value` to the file of `controller` (v1 or v2 name).
    pub fn set(&self, controller: &str, v1: &str, v2: &str, value: impl Fn(Version) -> String) -> Result<(), VirError> {
        let (ver, path) = self.file(controller, v1, v2)?;
        write_raw(&path, &value(ver))
    }

    /// `<memtune><hard_limit>` in KiB: v1 `memory.limit_in_bytes`, v2 `memory.max`.
    pub fn set_memory_hard_limit(&self, kib: u64) -> Result<(), VirError> {
        self.set("memory", "memory.limit_in_bytes", "memory.max", |v| mem_value(v, kib))
    }

    /// `<memtune><soft_limit>`: v1 `memory.soft_limit_in_bytes`, v2 `memory.high`.
    pub fn set_memory_soft_limit(&self, kib: u64) -> Result<(), VirError> {
        self.set("memory", "memory.soft_limit_in_bytes", "memory.high", |v| mem_value(v, kib))
    }

    /// `<memtune><swap_hard_limit>`: v1 `memory.memsw.limit_in_bytes` (memory plus
    /// swap), v2 `memory.swap.max`.
    pub fn set_memory_swap_hard_limit(&self, kib: u64) -> Result<(), VirError> {
        self.set("memory", "memory.memsw.limit_in_bytes", "memory.swap.max", |v| mem_value(v, kib))
    }

    /// `<cputune><shares>`: v1 `cpu.shares`, v2 `cpu.weight` (the same number, as
    /// libvirt 9.0 writes it), range-checked like libvirt: against
    /// [`CPU_SHARES_RANGE`] on both versions; on v2 the kernel itself refuses a value
    /// above 10000 (`ERANGE`, reported as a system error).
    pub fn set_cpu_shares(&self, shares: u64) -> Result<(), VirError> {
        let (_, path) = self.file("cpu", "cpu.shares", "cpu.weight")?;
        let (lo, hi) = CPU_SHARES_RANGE;
        if !(lo..=hi).contains(&shares) {
            return Err(VirError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Cgroup,
                format!("shares '{shares}' must be in range [{lo}, {hi}]"),
            ));
        }
        write_raw(&path, &shares.to_string())
    }

    /// CFS bandwidth: `period` (0: unchanged) and `quota` (None: unchanged, negative:
    /// unlimited). v1 `cpu.cfs_period_us`/`cpu.cfs_quota_us`, v2 `cpu.max`.
    pub fn set_cpu_bandwidth(&self, period: u64, quota: Option<i64>) -> Result<(), VirError> {
        let (ver, _) = self.file("cpu", "cpu.shares", "cpu.max")?;
        if period != 0 && !(CPU_PERIOD_RANGE.0..=CPU_PERIOD_RANGE.1).contains(&period) {
            return Err(VirError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Cgroup,
                format!("cfs_period '{period}' must be in range ({}, {})", CPU_PERIOD_RANGE.0, CPU_PERIOD_RANGE.1),
            ));
        }
        if let Some(q) = quota.filter(|q| *q >= 0 && !(CPU_QUOTA_RANGE.0..=CPU_QUOTA_RANGE.1).contains(q)) {
            return Err(VirError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Cgroup,
                format!("cfs_quota '{q}' must be in range ({}, {})", CPU_QUOTA_RANGE.0, CPU_QUOTA_RANGE.1),
            ));
        }
        match ver {
            Version::V1 => {
                if period != 0 {
                    self.set("cpu", "cpu.cfs_period_us", "", |_| period.to_string())?;
                }
                if let Some(q) = quota {
                    self.set("cpu", "cpu.cfs_quota_us", "", |_| if q < 0 { "-1".into() } else { q.to_string() })?;
                }
                Ok(())
            }
            Version::V2 => {
                let (_, path) = self.file("cpu", "", "cpu.max")?;
                let cur = std::fs::read_to_string(&path).unwrap_or_default();
                let mut it = cur.split_whitespace();
                let cur_quota = it.next().unwrap_or("max").to_string();
                let cur_period = it.next().unwrap_or("100000").to_string();
                let q = match quota {
                    None => cur_quota,
                    Some(q) if q < 0 || q == CPU_QUOTA_RANGE.1 => "max".into(),
                    Some(q) => q.to_string(),
                };
                let p = if period == 0 { cur_period } else { period.to_string() };
                write_raw(&path, &format!("{q} {p}"))
            }
        }
    }

    /// `<blkiotune><weight>`, as libvirt 9.0 picks the file: v1 `blkio.bfq.weight`
    /// or else `blkio.weight` (`N`); v2 `io.bfq.weight` (`N`) or else `io.weight`
    /// (`default N`). Neither present fails with libvirt's message (whose v1 wording
    /// says "device weight").
    pub fn set_blkio_weight(&self, weight: u64) -> Result<(), VirError> {
        let (ver, dir) = self.blkio_dir()?;
        let (bfq, plain, plain_value, what) = match ver {
            Version::V1 => ("blkio.bfq.weight", "blkio.weight", weight.to_string(), "blkio device weight"),
            Version::V2 => ("io.bfq.weight", "io.weight", format!("default {weight}"), "blkio weight"),
        };
        if dir.join(bfq).exists() {
            write_raw(&dir.join(bfq), &weight.to_string())
        } else if dir.join(plain).exists() {
            write_raw(&dir.join(plain), &plain_value)
        } else {
            Err(VirError::new(ErrorCode::OperationInvalid, ErrorDomain::Cgroup, format!("{what} is valid only for bfq or cfq scheduler")))
        }
    }

    /// `<blkiotune><device><weight>` for the block device `dev` (`MAJ:MIN`): v1
    /// `blkio.weight_device`, v2 `io.weight` (`MAJ:MIN N`) — never the bfq files,
    /// as libvirt 9.0. On v2 the kernel takes a per-device weight only when the
    /// io.cost controller is enabled on that device (`io.cost.qos` of the root),
    /// `EOPNOTSUPP` otherwise.
    pub fn set_blkio_device_weight(&self, dev: &str, weight: u64) -> Result<(), VirError> {
        let (ver, dir) = self.blkio_dir()?;
        let path = dir.join(if ver == Version::V1 { "blkio.weight_device" } else { "io.weight" });
        if !path.exists() {
            return Err(VirError::new(
                ErrorCode::OperationInvalid,
                ErrorDomain::Cgroup,
                "blkio device weight is valid only for cfq scheduler",
            ));
        }
        write_raw(&path, &format!("{dev} {weight}"))
    }

    fn blkio_dir(&self) -> Result<(Version, PathBuf), VirError> {
        match self.dirs.iter().find(|(c, _, _)| c == "blkio") {
            Some((_, v, d)) => Ok((*v, d.clone())),
            None => self.file("blkio", "", ""),
        }
    }

    /// A throttle of block device `dev` (`MAJ:MIN`): `kind` is `read_bps`,
    /// `write_bps`, `read_iops` or `write_iops`; 0 is unlimited. v1
    /// `blkio.throttle.KIND_device`, v2 `io.max` (`rbps=`, `wbps=`, `riops=`, `wiops=`).
    pub fn set_blkio_throttle(&self, dev: &str, kind: &str, value: u64) -> Result<(), VirError> {
        let v2_key = match kind {
            "read_bps" => "rbps",
            "write_bps" => "wbps",
            "read_iops" => "riops",
            "write_iops" => "wiops",
            other => return Err(VirError::new(ErrorCode::InternalError, ErrorDomain::Cgroup, format!("unknown blkio throttle '{other}'"))),
        };
        let v1_file = format!("blkio.throttle.{kind}_device");
        self.set("blkio", &v1_file, "io.max", |ver| match ver {
            Version::V1 => format!("{dev} {value}"),
            Version::V2 if value == 0 => format!("{dev} {v2_key}=max"),
            Version::V2 => format!("{dev} {v2_key}={value}"),
        })
    }

    // Read-back of the tunables (libvirt's `virCgroupGet*`), for the live values of
    // `virDomainGet{Memory,Scheduler,Blkio}Parameters`.

    /// The trimmed content of the file of `controller` (v1 or v2 name).
    pub fn get(&self, controller: &str, v1: &str, v2: &str) -> Result<String, VirError> {
        let (_, path) = self.file(controller, v1, v2)?;
        read_raw(&path)
    }

    fn get_memory(&self, v1: &str, v2: &str) -> Result<u64, VirError> {
        let (ver, path) = self.file("memory", v1, v2)?;
        let raw = read_raw(&path)?;
        if ver == Version::V2 && raw == "max" {
            return Ok(MEMORY_UNLIMITED);
        }
        let bytes: u64 = parse_num(&raw, &path)?;
        // v1's "no limit" is the largest page-aligned i64 (libvirt compares with the
        // value a fresh group shows, which is that number).
        if ver == Version::V1 && bytes >= V1_MEMORY_UNLIMITED_BYTES {
            return Ok(MEMORY_UNLIMITED);
        }
        Ok((bytes >> 10).min(MEMORY_UNLIMITED))
    }

    /// `hard_limit` in KiB ([`MEMORY_UNLIMITED`] for none): v1
    /// `memory.limit_in_bytes`, v2 `memory.max`.
    pub fn get_memory_hard_limit(&self) -> Result<u64, VirError> {
        self.get_memory("memory.limit_in_bytes", "memory.max")
    }

    /// `soft_limit` in KiB: v1 `memory.soft_limit_in_bytes`, v2 `memory.high`.
    pub fn get_memory_soft_limit(&self) -> Result<u64, VirError> {
        self.get_memory("memory.soft_limit_in_bytes", "memory.high")
    }

    /// `swap_hard_limit` in KiB: v1 `memory.memsw.limit_in_bytes`, v2
    /// `memory.swap.max`. `Ok(None)` when the file does not exist (no swap
    /// accounting), which libvirt reports as unlimited.
    pub fn get_memory_swap_hard_limit(&self) -> Result<Option<u64>, VirError> {
        let (_, path) = self.file("memory", "memory.memsw.limit_in_bytes", "memory.swap.max")?;
        if !path.exists() {
            return Ok(None);
        }
        self.get_memory("memory.memsw.limit_in_bytes", "memory.swap.max").map(Some)
    }

    /// `cpu_shares`: v1 `cpu.shares`, v2 `cpu.weight`.
    pub fn get_cpu_shares(&self) -> Result<u64, VirError> {
        let (_, path) = self.file("cpu", "cpu.shares", "cpu.weight")?;
        parse_num(&read_raw(&path)?, &path)
    }

    /// CFS bandwidth as (period, quota), quota -1 for none on v1 and libvirt's
    /// `VIR_CGROUP_CPU_QUOTA_MAX` for `max` on v2 (as libvirt 9.0 reads them).
    pub fn get_cpu_bandwidth(&self) -> Result<(u64, i64), VirError> {
        let (ver, _) = self.file("cpu", "cpu.shares", "cpu.max")?;
        match ver {
            Version::V1 => {
                let (_, p) = self.file("cpu", "cpu.cfs_period_us", "")?;
                let (_, q) = self.file("cpu", "cpu.cfs_quota_us", "")?;
                Ok((parse_num(&read_raw(&p)?, &p)?, parse_num(&read_raw(&q)?, &q)?))
            }
            Version::V2 => {
                let (_, path) = self.file("cpu", "", "cpu.max")?;
                let raw = read_raw(&path)?;
                let mut it = raw.split_whitespace();
                let q = it.next().unwrap_or("max");
                let quota = if q == "max" { CPU_QUOTA_RANGE.1 } else { parse_num(q, &path)? };
                let period = match it.next() {
                    Some(p) => parse_num(p, &path)?,
                    None => 100_000,
                };
                Ok((period, quota))
            }
        }
    }

    /// The group's block I/O weight: the bfq file when there is one, else the plain
    /// one (`default N` on v2), as libvirt 9.0 reads it.
    pub fn get_blkio_weight(&self) -> Result<u64, VirError> {
        let (ver, dir) = self.blkio_dir()?;
        let (bfq, plain, what) = match ver {
            Version::V1 => ("blkio.bfq.weight", "blkio.weight", "blkio device weight"),
            Version::V2 => ("io.bfq.weight", "io.weight", "blkio weight"),
        };
        let path = if dir.join(bfq).exists() { dir.join(bfq) } else { dir.join(plain) };
        if !path.exists() {
            return Err(VirError::new(
                ErrorCode::OperationInvalid,
                ErrorDomain::Cgroup,
                format!("{what} is valid only for bfq or cfq scheduler"),
            ));
        }
        let raw = read_raw(&path)?;
        let first = raw.lines().next().unwrap_or("");
        let v = first.strip_prefix("default ").unwrap_or(first);
        parse_num(v.trim(), &path)
    }

    /// Remove the group and its sub-groups (deepest first). A directory that is
    /// already gone is fine; one still holding processes fails with the kernel's
    /// `EBUSY`.
    pub fn remove(&self) -> Result<(), VirError> {
        for d in self.distinct_dirs() {
            remove_tree(d)?;
        }
        Ok(())
    }
}

/// Enable v2 `controller` for the children of directory `dir` (`+NAME` in its
/// `cgroup.subtree_control`) unless it is on already (libvirt's
/// `virCgroupV2EnableController`).
fn enable_v2(dir: &Path, controller: &str) -> Result<(), VirError> {
    let name = Layout::v2_name(controller);
    let ctl = dir.join("cgroup.subtree_control");
    let on = std::fs::read_to_string(&ctl).unwrap_or_default();
    if on.split_whitespace().any(|w| w == name) {
        return Ok(());
    }
    write_file(&ctl, &format!("+{name}")).map_err(|e| sys_err(format!("Failed to enable controller '+{name}' for '{}'", ctl.display()), &e))
}

fn mem_value(v: Version, kib: u64) -> String {
    match v {
        Version::V2 if kib >= MEMORY_UNLIMITED => "max".into(),
        Version::V1 if kib >= MEMORY_UNLIMITED => "-1".into(),
        _ => (kib.saturating_mul(1024)).to_string(),
    }
}

fn mkdir(d: &Path) -> Result<(), VirError> {
    match std::fs::create_dir(d) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(p) = d.parent() {
                mkdir(p)?;
            }
            std::fs::create_dir(d)
                .or_else(|e| if e.kind() == std::io::ErrorKind::AlreadyExists { Ok(()) } else { Err(e) })
                .map_err(|e| sys_err(format!("Failed to create cgroup '{}'", d.display()), &e))
        }
        Err(e) => Err(sys_err(format!("Failed to create cgroup '{}'", d.display()), &e)),
    }
}

/// libvirt's `virCgroupSetValueRaw`: one write of `value` to the file opened with
/// `O_TRUNC` (cgroupfs files take one write each; no temp file, so no atomic_write).
fn write_raw(path: &Path, value: &str) -> Result<(), VirError> {
    write_file(path, value).map_err(|e| sys_err(format!("Unable to write to '{}'", path.display()), &e))
}

/// v1's "no memory limit": `PAGE_COUNTER_MAX` pages of 4 KiB, the largest page-aligned
/// `i64` (9223372036854771712).
const V1_MEMORY_UNLIMITED_BYTES: u64 = (i64::MAX as u64) & !4095;

/// libvirt's `virCgroupGetValueRaw`: the file's content without the final newline.
fn read_raw(path: &Path) -> Result<String, VirError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| sys_err(format!("Unable to read from '{}'", path.display()), &e))
}

fn parse_num<T: std::str::FromStr>(raw: &str, path: &Path) -> Result<T, VirError> {
    raw.trim().parse().map_err(|_| {
        VirError::new(ErrorCode::InternalError, ErrorDomain::Cgroup, format!("Unable to parse '{raw}' from '{}'", path.display()))
    })
}

fn write_file(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new().write(true).truncate(true).open(path)?.write_all(value.as_bytes())
}

/// Remove directory `d` after its sub-directories. Only directories are removed
/// (cgroupfs's files vanish with their directory; a fake tree's files are removed too).
fn remove_tree(d: &Path) -> Result<(), VirError> {
    let rd = match std::fs::read_dir(d) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(sys_err(format!("Unable to remove cgroup '{}'", d.display()), &e)),
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&p)?;
        }
    }
    match std::fs::remove_dir(d) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        // Not cgroupfs (a fake tree for tests): its files must go first.
        Err(e) if e.raw_os_error() == Some(39) => {
            for f in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let _ = std::fs::remove_file(f.path());
            }
            std::fs::remove_dir(d).map_err(|e| sys_err(format!("Unable to remove cgroup '{}'", d.display()), &e))
        }
        Err(e) => Err(sys_err(format!("Unable to remove cgroup '{}'", d.display()), &e)),
    }
}

/// The `MAJ:MIN` of block device `path` (libvirt's `virCgroupGetBlockDevString`).
pub fn block_dev_string(path: &Path) -> Result<String, VirError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md = std::fs::metadata(path).map_err(|e| sys_err(format!("Unable to get device ID '{}'", path.display()), &e))?;
    if !md.file_type().is_block_device() {
        return Err(VirError::new(
            ErrorCode::OperationInvalid,
            ErrorDomain::Cgroup,
            format!("Path '{}' must be a block device", path.display()),
        ));
    }
    let rdev = md.rdev();
    // glibc's gnu_dev_major/minor.
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    Ok(format!("{major}:{minor}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("oxvirt-cgroup-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn hybrid_hosts_use_v1_and_pure_v2_hosts_v2() {
        let mounts = "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n\
                      cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n\
                      cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n";
        let l = Layout::from_mounts(mounts);
        assert_eq!(l.v1.len(), 3);
        let g = Cgroup::new(&l, "/machine/x.libvirt-qemu", |_| true);
        assert_eq!(g.version_of("memory"), Some(Version::V1));
        assert_eq!(g.dir_of("cpuacct"), Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/machine/x.libvirt-qemu")));
        assert_eq!(g.version_of("blkio"), None);
        let v2 = Layout { v1: l.v1.clone(), v2: Some((PathBuf::from("/u"), vec!["memory".into(), "io".into()])) };
        let g = Cgroup::new(&v2, "machine/x", |c| c != "cpu");
        assert_eq!(g.version_of("memory"), Some(Version::V2));
        assert_eq!(g.version_of("blkio"), Some(Version::V2));
        assert_eq!(g.version_of("cpu"), None);
        assert_eq!(g.version_of("cpuacct"), Some(Version::V1));
    }

    #[test]
    fn v2_tunes_go_to_the_unified_files() {
        let root = tmp("v2");
        let l = Layout::fake_v2(&root, &["cpu", "memory", "io"]);
        std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        std::fs::create_dir_all(root.join("machine")).unwrap();
        std::fs::write(root.join("machine/cgroup.subtree_control"), "").unwrap();
        let g = Cgroup::new(&l, "machine/vm.libvirt-qemu", |_| true);
        g.create(&l).unwrap();
        let d = root.join("machine/vm.libvirt-qemu");
        for f in ["memory.max", "memory.high", "memory.swap.max", "cpu.weight", "cpu.max", "io.weight", "io.max", "cgroup.procs"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        std::fs::write(d.join("cpu.max"), "max 100000").unwrap();
        g.set_memory_hard_limit(262_144).unwrap();
        g.set_memory_soft_limit(MEMORY_UNLIMITED).unwrap();
        g.set_memory_swap_hard_limit(1024).unwrap();
        g.set_cpu_shares(2048).unwrap();
        g.set_cpu_bandwidth(20_000, Some(10_000)).unwrap();
        g.set_blkio_weight(500).unwrap();
        g.set_blkio_throttle("8:0", "read_iops", 0).unwrap();
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("memory.max"), "268435456");
        assert_eq!(read("memory.high"), "max");
        assert_eq!(read("memory.swap.max"), "1048576");
        assert_eq!(read("cpu.weight"), "2048");
        assert_eq!(read("cpu.max"), "10000 20000");
        assert_eq!(read("io.weight"), "default 500");
        assert_eq!(read("io.max"), "8:0 riops=max");
        assert_eq!(read(&format!("{}/../cgroup.subtree_control", d.display())), "+io");
        // libvirt 9.0 checks v2 shares against the v1 range and lets the kernel
        // refuse what cpu.weight cannot take.
        assert_eq!(g.set_cpu_shares(1).unwrap_err().message, "invalid argument: shares '1' must be in range [2, 262144]");
        g.set_cpu_shares(20_000).unwrap();
        assert_eq!(read("cpu.weight"), "20000");
        g.add_process(42).unwrap();
        assert_eq!(g.processes(), vec![42]);
        std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
        let child = g.child("emulator", |c| c == "cpu");
        child.create(&l).unwrap();
        assert!(child.exists());
        g.remove().unwrap();
        assert!(!d.exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn v1_tunes_and_missing_weight_files() {
        let root = tmp("v1");
        let l = Layout::fake_v1(&root, &["cpu", "memory", "blkio"]);
        let g = Cgroup::new(&l, "machine/vm", |_| true);
        g.create(&l).unwrap();
        for (c, f) in [
            ("memory", "memory.limit_in_bytes"),
            ("cpu", "cpu.shares"),
            ("cpu", "cpu.cfs_quota_us"),
            ("blkio", "blkio.throttle.write_bps_device"),
        ] {
            std::fs::write(root.join(c).join("machine/vm").join(f), "").unwrap();
        }
        g.set_memory_hard_limit(1024).unwrap();
        g.set_cpu_shares(1024).unwrap();
        g.set_cpu_bandwidth(0, Some(-1)).unwrap();
        g.set_blkio_throttle("8:0", "write_bps", 1000).unwrap();
        let read = |c: &str, f: &str| std::fs::read_to_string(root.join(c).join("machine/vm").join(f)).unwrap();
        assert_eq!(read("memory", "memory.limit_in_bytes"), "1048576");
        assert_eq!(read("cpu", "cpu.cfs_quota_us"), "-1");
        assert_eq!(read("blkio", "blkio.throttle.write_bps_device"), "8:0 1000");
        let e = g.set_blkio_weight(100).unwrap_err();
        assert_eq!(e.code, ErrorCode::OperationInvalid);
        // libvirt's v1 wording (sic: "device").
        assert!(e.message.contains("blkio device weight is valid only for bfq or cfq scheduler"), "{}", e.message);
        let e = g.set_blkio_device_weight("8:0", 100).unwrap_err();
        assert!(e.message.contains("blkio device weight is valid only for cfq scheduler"), "{}", e.message);
        assert_eq!(g.set_cpu_shares(1).unwrap_err().code, ErrorCode::InvalidArg);
        g.remove().unwrap();
        assert!(!root.join("cpu/machine/vm").exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn tunables_read_back_as_libvirt_reads_them() {
        let root = tmp("get");
        let l1 = Layout::fake_v1(&root.join("a"), &["cpu", "memory", "blkio"]);
        let g = Cgroup::new(&l1, "vm", |_| true);
        g.create(&l1).unwrap();
        let put = |base: &str, c: &str, f: &str, v: &str| std::fs::write(root.join(base).join(c).join("vm").join(f), v).unwrap();
        put("a", "memory", "memory.limit_in_bytes", "9223372036854771712\n");
        put("a", "memory", "memory.soft_limit_in_bytes", "1048576\n");
        put("a", "cpu", "cpu.shares", "2048\n");
        put("a", "cpu", "cpu.cfs_period_us", "100000\n");
        put("a", "cpu", "cpu.cfs_quota_us", "-1\n");
        put("a", "blkio", "blkio.weight", "300\n");
        assert_eq!(g.get_memory_hard_limit().unwrap(), MEMORY_UNLIMITED);
        assert_eq!(g.get_memory_soft_limit().unwrap(), 1024);
        assert_eq!(g.get_memory_swap_hard_limit().unwrap(), None, "no swap accounting");
        assert_eq!(g.get_cpu_shares().unwrap(), 2048);
        assert_eq!(g.get_cpu_bandwidth().unwrap(), (100_000, -1));
        assert_eq!(g.get_blkio_weight().unwrap(), 300);
        let l2 = Layout::fake_v2(&root.join("b"), &["cpu", "memory", "io"]);
        let g = Cgroup::new(&l2, "vm", |_| true);
        std::fs::create_dir_all(root.join("b/vm")).unwrap();
        let put2 = |f: &str, v: &str| std::fs::write(root.join("b/vm").join(f), v).unwrap();
        put2("memory.max", "max\n");
        put2("memory.high", "2097152\n");
        put2("memory.swap.max", "max\n");
        put2("cpu.weight", "100\n");
        put2("cpu.max", "max 100000\n");
        put2("io.weight", "default 100\n8:0 50\n");
        assert_eq!(g.get_memory_hard_limit().unwrap(), MEMORY_UNLIMITED);
        assert_eq!(g.get_memory_soft_limit().unwrap(), 2048);
        assert_eq!(g.get_memory_swap_hard_limit().unwrap(), Some(MEMORY_UNLIMITED));
        assert_eq!(g.get_cpu_shares().unwrap(), 100);
        assert_eq!(g.get_cpu_bandwidth().unwrap(), (100_000, CPU_QUOTA_RANGE.1));
        assert_eq!(g.get_blkio_weight().unwrap(), 100);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn v2_thread_groups_are_threaded_and_take_threads() {
        // Regression (real cgroup2, tests/qemu/cgv2.rs): vCPU and emulator groups on
        // v2 are threaded children of the domain group, as libvirt's
        // virCgroupNewThread makes them.
        let root = tmp("v2thr");
        let l = Layout::fake_v2(&root, &["cpu", "memory"]);
        std::fs::create_dir_all(root.join("machine")).unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        std::fs::write(root.join("machine/cgroup.subtree_control"), "").unwrap();
        let g = Cgroup::new(&l, "machine/vm", |_| true);
        g.create(&l).unwrap();
        let d = root.join("machine/vm");
        std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
        let t = g.child("vcpu0", |c| c == "cpu");
        std::fs::create_dir_all(d.join("vcpu0")).unwrap();
        for f in ["cgroup.type", "cgroup.threads"] {
            std::fs::write(d.join("vcpu0").join(f), "").unwrap();
        }
        t.create_threaded().unwrap();
        assert_eq!(std::fs::read_to_string(d.join("vcpu0/cgroup.type")).unwrap(), "threaded");
        assert_eq!(std::fs::read_to_string(d.join("cgroup.subtree_control")).unwrap(), "+cpu");
        t.add_thread(77).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("vcpu0/cgroup.threads")).unwrap(), "77");
        assert_eq!(t.threads(), vec![77]);
        // Already threaded and already delegated: nothing is rewritten.
        std::fs::write(d.join("cgroup.subtree_control"), "cpu").unwrap();
        t.create_threaded().unwrap();
        assert_eq!(std::fs::read_to_string(d.join("cgroup.subtree_control")).unwrap(), "cpu");
        // v1: a plain directory, threads through `tasks`.
        let l1 = Layout::fake_v1(&root.join("v1"), &["cpu"]);
        let g1 = Cgroup::new(&l1, "machine/vm", |_| true);
        g1.create(&l1).unwrap();
        let t1 = g1.child("vcpu0", |_| true);
        t1.create_threaded().unwrap();
        std::fs::write(root.join("v1/cpu/machine/vm/vcpu0/tasks"), "").unwrap();
        t1.add_thread(5).unwrap();
        assert_eq!(t1.threads(), vec![5]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn device_weights_never_use_bfq_files_and_kernel_errors_read_as_libvirts() {
        // libvirt 9.0: the domain weight prefers the bfq file, device weights never do.
        let root = tmp("bfq");
        let l = Layout::fake_v2(&root, &["io"]);
        std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        let g = Cgroup::new(&l, "vm", |_| true);
        g.create(&l).unwrap();
        for f in ["io.bfq.weight", "io.weight"] {
            std::fs::write(root.join("vm").join(f), "").unwrap();
        }
        g.set_blkio_weight(300).unwrap();
        g.set_blkio_device_weight("254:0", 200).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("vm/io.bfq.weight")).unwrap(), "300");
        assert_eq!(std::fs::read_to_string(root.join("vm/io.weight")).unwrap(), "254:0 200");
        let l1 = Layout::fake_v1(&root.join("v1"), &["blkio"]);
        let g1 = Cgroup::new(&l1, "vm", |_| true);
        g1.create(&l1).unwrap();
        for f in ["blkio.bfq.weight_device", "blkio.weight_device"] {
            std::fs::write(root.join("v1/blkio/vm").join(f), "").unwrap();
        }
        g1.set_blkio_device_weight("8:0", 100).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("v1/blkio/vm/blkio.weight_device")).unwrap(), "8:0 100");
        assert_eq!(std::fs::read_to_string(root.join("v1/blkio/vm/blkio.bfq.weight_device")).unwrap(), "");
        // A refused write is "MESSAGE: strerror" without Rust's "(os error N)".
        let e = g.set_memory_hard_limit(1).unwrap_err();
        assert_eq!(e.code, ErrorCode::OperationInvalid);
        let e = sys_err("Unable to write to 'x'".into(), &std::io::Error::from_raw_os_error(34));
        assert_eq!(e.code, ErrorCode::SystemError);
        assert!(e.message.ends_with("Unable to write to 'x': Numerical result out of range"), "{}", e.message);
        let _ = std::fs::remove_dir_all(&root);
    }
}
