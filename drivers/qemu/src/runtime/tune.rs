//! Size and tuning changes of QEMU domains, live and persistent (libvirt 9.0's
//! `qemuDomainSetMemoryFlags`, `qemuDomainSetVcpusFlags` with `qemu_hotplug.c`'s vCPU
//! hotplug, `qemuDomainGet/SetMemoryParameters`, `qemuDomainGetSchedulerType`,
//! `qemuDomainGet/SetSchedulerParametersFlags` and `qemuDomainGet/SetBlkioParameters`).
//!
//! * Memory: the balloon target goes to QEMU (`balloon`); the live definition's
//!   `<currentMemory>` follows QEMU's `BALLOON_CHANGE` events ([`balloon_changed`]), as
//!   libvirt's does. The initial size (`setmaxmem`) changes the persistent
//!   definition only.
//! * vCPUs: hotplug is `device_add` of the entity `query-hotpluggable-cpus` offers for
//!   the vCPU (id `vcpuN`, libvirt's alias), then its thread goes to the `vcpuN`
//!   cgroup; unplug is `device_del` of a vCPU added that way, confirmed by polling
//!   `query-hotpluggable-cpus` (QEMU 7.2 under TCG sends no `DEVICE_DELETED` for a
//!   CPU). The per-vCPU state (`<vcpus>`) is kept in the definition, as libvirt's
//!   `individualvcpus`.
//! * Pinning: `sched_setaffinity` of the vCPU threads and QEMU (nix's safe wrapper),
//!   `<vcpupin>`/`<emulatorpin>` in the definitions, applied at start too.
//! * Tunables: written to the guest's cgroup (`runtime/cgroups.rs`) and recorded in
//!   `<memtune>`, `<cputune>`, `<blkiotune>`; the live values are read back from the
//!   cgroup, as libvirt does.
//!
//! Live changes end in the status file, persistent ones in the config file (written
//! atomically by [`Driver::save_config`]).

use super::cgroups::{self, Tunes};
use super::domobj::{DomObj, Expect};
use super::Driver;
use oxvirt::driver::check_flags;
use oxvirt::typedparam::{self, TypedParam, TypedType, TypedValue, MEMORY_PARAM_UNLIMITED, TYPED_PARAM_STRING_OKAY};
use oxvirt::{DomainRef, Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::DomainDef;
use oxvirt_conf::xml::{El, XNode};
use oxvirt_util::cgroup::{Cgroup, CPU_PERIOD_RANGE, CPU_QUOTA_RANGE};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

const D: ErrorDomain = ErrorDomain::Qemu;
const LIVE: u32 = 1;
const CONFIG: u32 = 2;
/// `VIR_DOMAIN_MEM_MAXIMUM`.
const MEM_MAXIMUM: u32 = 4;
/// `VIR_DOMAIN_VCPU_MAXIMUM`, `VIR_DOMAIN_VCPU_GUEST`, `VIR_DOMAIN_VCPU_HOTPLUGGABLE`.
const VCPU_MAXIMUM: u32 = 4;
const VCPU_GUEST: u32 = 8;
const VCPU_HOTPLUGGABLE: u32 = 16;
/// libvirt's `QEMU_UNPLUG_TIMEOUT`: how long an unplug may take before it is
/// reported as timed out.
const UNPLUG_TIMEOUT: Duration = Duration::from_secs(5);

fn e(code: ErrorCode, msg: impl AsRef<str>) -> Error {
    Error::new(code, D, msg)
}

/// The persistent definition of `o`, mutable.
fn persistent_mut(o: &mut DomObj) -> &mut DomainDef {
    match o.new_def.as_mut() {
        Some(d) => d,
        None => &mut o.def,
    }
}

impl Driver {
    /// The existing cgroup of a running `def` (none on session instances or when no
    /// controller is in use).
    fn tune_cgroup(&self, def: &DomainDef) -> Option<Cgroup> {
        self.domain_cgroup(def).filter(Cgroup::exists)
    }

    /// For a `live` change: the running `def`'s cgroup with `controller`, or
    /// OPERATION_INVALID `missing` (libvirt's wording per controller); `None` otherwise.
    fn live_group(&self, def: &DomainDef, live: bool, controller: &str, missing: &str) -> Result<Option<Cgroup>> {
        if !live {
            return Ok(None);
        }
        let g = self.tune_cgroup(def).filter(|g| g.version_of(controller).is_some());
        g.map(Some).ok_or_else(|| e(ErrorCode::OperationInvalid, missing))
    }

    /// Run `f` under `d`'s job lock (after noticing a dead QEMU).
    fn tune_job<R>(&self, d: &DomainRef, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let job = self.job_of(&d.uuid).ok_or_else(|| super::domobj::no_domain_ref(d))?;
        let _job = job.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&d.uuid);
        f()
    }

    /// Apply `change` to the live (`live`) and persistent (`config`) definitions of
    /// `d`, then save the status and config files.
    fn tune_update(&self, d: &DomainRef, live: bool, config: bool, change: impl Fn(&mut DomainDef)) -> Result<()> {
        let mut doms = self.doms();
        let o = doms.by_ref_mut(d)?;
        if live && o.is_active() {
            change(&mut o.def);
            self.save_status(o);
        }
        if config {
            let def = persistent_mut(o);
            change(def);
            self.save_config(def)?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------ memory

/// `virDomainSetMemoryFlags` (`VIR_DOMAIN_MEM_MAXIMUM`: `virDomainSetMaxMemory`).
pub fn set_memory(drv: &Driver, d: &DomainRef, kib: u64, flags: u32) -> Result<()> {
    check_flags(flags, LIVE | CONFIG | MEM_MAXIMUM, "qemuDomainSetMemoryFlags", D)?;
    drv.refresh(&d.uuid);
    let (live, config, live_max, config_max) = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        let (live, config) = o.impact(flags)?;
        (live, config, o.def.memory_kib, o.persistent_def().memory_kib)
    };
    if flags & MEM_MAXIMUM != 0 {
        if live {
            return Err(e(ErrorCode::OperationInvalid, "cannot resize the maximum memory on an active domain"));
        }
        return drv.tune_job(d, || {
            let mut doms = drv.doms();
            let def = persistent_mut(doms.by_ref_mut(d)?);
            let numa = def.cpu.as_ref().is_some_and(|c| c.children.iter().any(|n| matches!(n, XNode::El(x) if x.name == "numa")));
            if numa {
                return Err(e(
                    ErrorCode::OperationInvalid,
                    "initial memory size of a domain with NUMA nodes cannot be modified with this API",
                ));
            }
            if def.max_memory_kib.is_some_and(|m| m > 0 && m < kib) {
                return Err(e(ErrorCode::OperationInvalid, "cannot set initial memory size greater than the maximum memory size"));
            }
            def.memory_kib = kib;
            if def.current_memory_kib > kib {
                def.current_memory_kib = kib;
            }
            drv.save_config(def)
        });
    }
    let mut oldmax = if live { live_max } else { 0 };
    if config && (!live || oldmax > config_max) {
        oldmax = config_max;
    }
    if kib > oldmax {
        return Err(e(ErrorCode::InvalidArg, "cannot set memory higher than max memory"));
    }
    if live {
        let soft_failed = drv.monitor_query(
            d,
            Expect::Nothing,
            |_| Ok(()),
            |q| match q.execute("balloon", Some(json!({ "value": kib.saturating_mul(1024) }))) {
                Ok(_) => Ok(false),
                Err(crate::error::QemuError::Qmp { class, .. }) if class == "DeviceNotActive" || class == "KVMMissingCap" => Ok(true),
                Err(x) => Err(x),
            },
        )?;
        if soft_failed {
            return Err(e(
                ErrorCode::OperationInvalid,
                "Unable to change memory of active domain without the balloon device and guest OS balloon driver",
            ));
        }
    }
    if config {
        drv.tune_job(d, || drv.tune_update(d, false, true, |def| def.current_memory_kib = kib))?;
    }
    Ok(())
}

/// QEMU's `BALLOON_CHANGE` (libvirt's `qemuProcessHandleBalloonChange`): the live
/// definition's `<currentMemory>` becomes the balloon's actual size.
pub(super) fn balloon_changed(drv: &Driver, o: &mut DomObj, data: &Value) {
    let Some(actual) = data.get("actual").and_then(Value::as_u64) else { return };
    o.def.current_memory_kib = actual / 1024;
    drv.save_status(o);
}

/// At start, before the guest runs (libvirt's `qemuProcessSetupBalloon`): the balloon
/// target is the definition's `<currentMemory>`.
pub(super) fn setup_balloon(def: &DomainDef, q: &crate::qmp::Qmp) -> Result<()> {
    if def.devices.memballoon.as_ref().is_none_or(|m| m.model == "none") {
        return Ok(());
    }
    let kib = if def.current_memory_kib > 0 { def.current_memory_kib } else { def.memory_kib };
    match q.execute("balloon", Some(json!({ "value": kib.saturating_mul(1024) }))) {
        Ok(_) => Ok(()),
        Err(crate::error::QemuError::Qmp { class, .. }) if class == "DeviceNotActive" || class == "KVMMissingCap" => Ok(()),
        Err(x) => Err(x.into()),
    }
}

// ------------------------------------------------------------------------- vCPUs

/// One vCPU of a definition (libvirt's `virDomainVcpuDef`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Vcpu {
    online: bool,
    /// `hotpluggable=`; `None` when absent (a vCPU added by `--maximum`, as libvirt's
    /// `VIR_TRISTATE_BOOL_ABSENT` until the next post-parse).
    hotpluggable: Option<bool>,
    order: u32,
}

impl Vcpu {
    /// Hotpluggable, with libvirt's post-parse default for an absent attribute.
    fn hp(&self) -> bool {
        self.hotpluggable.unwrap_or(!self.online)
    }
}

fn attr<'a>(e: &'a El, name: &str) -> Option<&'a str> {
    e.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn children<'a>(e: &'a El, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
    e.children.iter().filter_map(move |c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
}

fn child<'a>(e: &'a El, name: &str) -> Option<&'a El> {
    e.children.iter().find_map(|c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
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

/// The vCPUs of `def` and whether they are listed one by one (`<vcpus>`). Without
/// `<vcpus>`, libvirt's post-parse rule: online ones are not hotpluggable, the others are.
fn vcpus_of(def: &DomainDef) -> (Vec<Vcpu>, bool) {
    let max = def.vcpus_max as usize;
    let mut out: Vec<Vcpu> = (0..max)
        .map(|i| Vcpu { online: i < def.vcpus_current as usize, hotpluggable: Some(i >= def.vcpus_current as usize), order: 0 })
        .collect();
    let Some(list) = def.other.iter().find(|e| e.name == "vcpus") else { return (out, false) };
    for v in children(list, "vcpu") {
        let Some(i) = attr(v, "id").and_then(|s| s.parse::<usize>().ok()).filter(|i| *i < max) else { continue };
        let online = attr(v, "enabled") == Some("yes");
        out[i] = Vcpu {
            online,
            hotpluggable: attr(v, "hotpluggable").map(|h| h == "yes"),
            order: attr(v, "order").and_then(|s| s.parse().ok()).unwrap_or(0),
        };
    }
    (out, true)
}

/// Store `vcpus` in `def`: the current count, and `<vcpus>` when `individual`.
fn store_vcpus(def: &mut DomainDef, vcpus: &[Vcpu], individual: bool) {
    def.vcpus_current = u32::try_from(vcpus.iter().filter(|v| v.online).count()).unwrap_or(u32::MAX);
    let el = individual.then(|| {
        let mut list = El::new("vcpus");
        for (i, v) in vcpus.iter().enumerate() {
            let mut e = El::new("vcpu").attr("id", i).attr("enabled", if v.online { "yes" } else { "no" });
            if let Some(h) = v.hotpluggable {
                e.push_attr("hotpluggable", if h { "yes" } else { "no" });
            }
            if v.order != 0 {
                e.push_attr("order", v.order);
            }
            list.push(e);
        }
        list
    });
    set_top(def, "vcpus", el);
}

/// How many vCPUs QEMU starts with (`-smp N`): the enabled non-hotpluggable ones.
pub(crate) fn boot_vcpus(def: &DomainDef) -> u32 {
    u32::try_from(vcpus_of(def).0.iter().filter(|v| v.online && !v.hp()).count()).unwrap_or(u32::MAX)
}

/// At start, before the vCPUs are put in their cgroups (libvirt's
/// `qemuProcessSetupHotpluggableVcpus`): `device_add` of each enabled hotpluggable vCPU,
/// in index order, with libvirt's alias `vcpuN`.
pub(super) fn setup_hotpluggable_vcpus(def: &DomainDef, q: &crate::qmp::Qmp) -> Result<()> {
    let (vcpus, _) = vcpus_of(def);
    if !vcpus.iter().any(|v| v.online && v.hp()) {
        return Ok(());
    }
    let topo = topology(def);
    let entities = hotpluggable_cpus(q, topo)?;
    for (i, _) in vcpus.iter().enumerate().filter(|(_, v)| v.online && v.hp()) {
        let Some(ent) = entities.iter().find(|x| x.index == i && x.qom_path.is_none()) else {
            return Err(e(ErrorCode::InternalError, format!("failed to find hotpluggable vcpu entity for vcpu '{i}'")));
        };
        q.execute("device_add", Some(device_add_args(ent, i)))?;
    }
    Ok(())
}

fn device_add_args(ent: &Entity, i: usize) -> Value {
    let mut args = json!({ "driver": ent.driver, "id": format!("vcpu{i}") });
    if let (Some(a), Some(p)) = (args.as_object_mut(), ent.props.as_object()) {
        for (k, v) in p {
            a.insert(k.clone(), v.clone());
        }
    }
    args
}

/// libvirt's `qemuDomainSetVcpusConfig`: cold (un)plug in the persistent definition.
fn set_vcpus_config(def: &mut DomainDef, n: u32, mut hotpluggable: bool) {
    let (mut vcpus, mut individual) = vcpus_of(def);
    // Ordering information may become invalid.
    for v in &mut vcpus {
        v.order = 0;
    }
    let mut cur = vcpus.iter().filter(|v| v.online).count();
    let n = n as usize;
    if cur < n {
        for v in vcpus.iter_mut() {
            if v.online {
                // Non-hotpluggable vCPUs must come first.
                hotpluggable |= v.hotpluggable == Some(true);
                continue;
            }
            v.online = true;
            v.hotpluggable = Some(hotpluggable);
            individual |= hotpluggable;
            cur += 1;
            if cur == n {
                break;
            }
        }
    } else {
        for v in vcpus.iter_mut().rev() {
            if cur == n {
                break;
            }
            if v.online {
                v.online = false;
                v.hotpluggable = Some(true);
                cur -= 1;
            }
        }
    }
    store_vcpus(def, &vcpus, individual);
}

/// `(sockets, dies, cores, threads)` of `def` (`-smp` without `<topology>`: one
/// socket per vCPU).
fn topology(def: &DomainDef) -> (u64, u64, u64, u64) {
    match def.cpu.as_ref().and_then(|c| child(c, "topology")) {
        Some(t) => {
            let n = |k: &str| attr(t, k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(1).max(1);
            (n("sockets"), n("dies"), n("cores"), n("threads"))
        }
        None => (u64::from(def.vcpus_max).max(1), 1, 1, 1),
    }
}

/// The vCPU index of a CPU entity's `props` (socket, die, core and thread ids).
fn vcpu_index(props: &Value, topo: (u64, u64, u64, u64)) -> Option<usize> {
    let (_, dies, cores, threads) = topo;
    let id = |k: &str| props.get(k).and_then(Value::as_u64).unwrap_or(0);
    let n = ((id("socket-id") * dies + id("die-id")) * cores + id("core-id")) * threads + id("thread-id");
    usize::try_from(n).ok()
}

/// One entry of `query-hotpluggable-cpus`.
#[derive(Debug, Clone)]
struct Entity {
    index: usize,
    driver: String,
    props: Value,
    /// `/machine/peripheral/ALIAS` for a CPU added with `device_add`; the boot CPUs
    /// live below `/machine/unattached`.
    qom_path: Option<String>,
}

impl Entity {
    fn alias(&self) -> Option<&str> {
        self.qom_path.as_deref().and_then(|p| p.strip_prefix("/machine/peripheral/"))
    }
}

fn hotpluggable_cpus(q: &crate::qmp::Qmp, topo: (u64, u64, u64, u64)) -> crate::error::Result<Vec<Entity>> {
    let v = q.execute("query-hotpluggable-cpus", None)?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    let props = c.get("props")?.clone();
                    Some(Entity {
                        index: vcpu_index(&props, topo)?,
                        driver: c.get("type")?.as_str()?.to_string(),
                        props,
                        qom_path: c.get("qom-path").and_then(Value::as_str).map(str::to_string),
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The thread of vCPU `index` (`query-cpus-fast`).
fn vcpu_thread(q: &crate::qmp::Qmp, index: usize, topo: (u64, u64, u64, u64)) -> Option<i32> {
    let v = q.execute("query-cpus-fast", None).ok()?;
    v.as_array()?.iter().find_map(|c| {
        let props = c.get("props")?;
        (vcpu_index(props, topo)? == index).then(|| c.get("thread-id")?.as_i64().and_then(|t| i32::try_from(t).ok()))?
    })
}

/// What a live vCPU change needs to know about the running domain.
struct LiveVcpus {
    vcpus: Vec<Vcpu>,
    topo: (u64, u64, u64, u64),
    tunes: Tunes,
    cgroup: Option<Cgroup>,
    /// The affinity of each vCPU (`<vcpupin>` or `<vcpu cpuset>`), if pinned.
    pins: Vec<Option<Vec<u32>>>,
}

/// libvirt's `qemuDomainSetVcpusLive` over QMP. Returns the new vCPU list, and the
/// error that stopped it part-way (what was done stays recorded).
fn set_vcpus_live(q: &crate::qmp::Qmp, st: &LiveVcpus, n: usize) -> crate::error::Result<(Vec<Vcpu>, Result<()>)> {
    let entities = hotpluggable_cpus(q, st.topo)?;
    let mut vcpus = st.vcpus.clone();
    // What QEMU has is the truth (a daemon restarted after a change, say).
    for ent in &entities {
        if let Some(v) = vcpus.get_mut(ent.index) {
            v.online = ent.qom_path.is_some();
        }
    }
    let ent_of = |i: usize| entities.iter().find(|e| e.index == i);
    let mut cur = vcpus.iter().filter(|v| v.online).count();
    let enable = n > cur;
    let mut pick = Vec::new();
    if enable {
        for (i, v) in vcpus.iter().enumerate() {
            if cur >= n {
                break;
            }
            if v.online || ent_of(i).is_none() {
                continue;
            }
            cur += 1;
            pick.push(i);
        }
    } else {
        for (i, v) in vcpus.iter().enumerate().rev() {
            if cur <= n {
                break;
            }
            if !v.online || ent_of(i).and_then(Entity::alias).is_none() {
                continue;
            }
            cur -= 1;
            pick.push(i);
        }
    }
    if cur != n {
        return Ok((
            vcpus,
            Err(e(ErrorCode::ConfigUnsupported, "failed to find appropriate hotpluggable vcpus to reach the desired target vcpu count")),
        ));
    }
    for i in pick {
        let Some(ent) = ent_of(i) else { continue };
        let r = if enable { add_vcpu(q, st, ent, i) } else { del_vcpu(q, st, ent, i) };
        match r {
            Ok(()) => {
                if let Some(v) = vcpus.get_mut(i) {
                    v.online = enable;
                    v.hotpluggable = Some(true);
                }
            }
            Err(x) => return Ok((persist_order(vcpus), Err(x))),
        }
    }
    Ok((persist_order(vcpus), Ok(())))
}

/// libvirt's `qemuDomainVcpuPersistOrder`: online vCPUs get the order of their
/// entity (their index + 1 here, one vCPU per entity on x86), offline ones none.
fn persist_order(mut vcpus: Vec<Vcpu>) -> Vec<Vcpu> {
    for (i, v) in vcpus.iter_mut().enumerate() {
        v.order = if v.online { u32::try_from(i + 1).unwrap_or(0) } else { 0 };
    }
    vcpus
}

/// libvirt's `qemuDomainHotplugAddVcpu`: `device_add`, then the new thread goes to
/// its cgroup with the vCPU bandwidth.
fn add_vcpu(q: &crate::qmp::Qmp, st: &LiveVcpus, ent: &Entity, i: usize) -> Result<()> {
    q.execute("device_add", Some(device_add_args(ent, i)))?;
    if st.cgroup.is_none() && st.pins.get(i).is_none_or(Option::is_none) {
        return Ok(());
    }
    let tid =
        vcpu_thread(q, i, st.topo).ok_or_else(|| e(ErrorCode::InternalError, format!("qemu didn't report thread id for vcpu '{i}'")))?;
    if let Some(g) = &st.cgroup {
        cgroups::place_vcpu_threads(g, &st.tunes, &[(i as i64, tid)])?;
    }
    if let Some(Some(bits)) = st.pins.get(i) {
        set_affinity(tid, bits)?;
    }
    Ok(())
}

/// libvirt's `qemuDomainHotplugDelVcpu`: `device_del`, then wait until QEMU no longer
/// lists the CPU (QEMU 7.2 under TCG sends no `DEVICE_DELETED` for CPUs).
fn del_vcpu(q: &crate::qmp::Qmp, st: &LiveVcpus, ent: &Entity, i: usize) -> Result<()> {
    let Some(alias) = ent.alias() else {
        return Err(e(ErrorCode::OperationUnsupported, format!("vcpu '{i}' can't be unplugged")));
    };
    q.execute("device_del", Some(json!({ "id": alias })))?;
    let deadline = Instant::now() + UNPLUG_TIMEOUT;
    loop {
        let gone = hotpluggable_cpus(q, st.topo)?.iter().any(|x| x.index == i && x.qom_path.is_none());
        if gone {
            break;
        }
        if Instant::now() >= deadline {
            return Err(e(
                ErrorCode::OperationTimeout,
                "vcpu unplug request timed out. Unplug result must be manually inspected in the domain",
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(g) = &st.cgroup {
        let _ = cgroups::vcpu_group(g, u32::try_from(i).unwrap_or(u32::MAX)).remove();
    }
    Ok(())
}

/// The guest's vCPUs as its agent reports them: (id, online, offlinable).
fn agent_vcpus(drv: &Driver, d: &DomainRef) -> Result<Vec<(u32, bool, bool)>> {
    let p = super::guestinfo::get_guest_vcpus(drv, d, 0)?;
    let list = |name: &str| -> Result<Vec<u32>> {
        match p.iter().find(|x| x.field == name).map(|x| &x.value) {
            Some(TypedValue::String(s)) if !s.is_empty() => super::guestinfo::parse_ids(s, u32::MAX),
            _ => Ok(Vec::new()),
        }
    };
    let (online, offlinable) = (list("online")?, list("offlinable")?);
    Ok(list("vcpus")?.into_iter().map(|id| (id, online.contains(&id), offlinable.contains(&id))).collect())
}

/// `virDomainGetVcpusFlags` with `VIR_DOMAIN_VCPU_GUEST`: what the guest agent counts
/// (all its vCPUs with `VIR_DOMAIN_VCPU_MAXIMUM`, the online ones otherwise).
pub fn guest_vcpu_count(drv: &Driver, d: &DomainRef, flags: u32) -> Result<i32> {
    drv.refresh(&d.uuid);
    if !drv.doms().by_ref(d)?.is_active() {
        return Err(e(ErrorCode::InvalidArg, "vCPU count provided by the guest agent can only be requested for live domains"));
    }
    let info = agent_vcpus(drv, d)?;
    let n = if flags & VCPU_MAXIMUM != 0 { info.len() } else { info.iter().filter(|v| v.1).count() };
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// libvirt's `qemuDomainSetVcpusAgent` + `qemuAgentUpdateCPUInfo`: online or offline
/// vCPUs inside the guest until `n` are online (vCPU 0 is the last to go).
fn set_vcpus_agent(drv: &Driver, d: &DomainRef, n: u32) -> Result<()> {
    let enabled = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        if !o.is_active() {
            return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
        }
        o.def.vcpus_current
    };
    if n > enabled {
        return Err(e(
            ErrorCode::InvalidArg,
            format!("requested vcpu count is greater than the count of enabled vcpus in the domain: {n} > {enabled}"),
        ));
    }
    let mut info = agent_vcpus(drv, d)?;
    if info.iter().any(|(_, online, off)| !online && !off) {
        return Err(e(ErrorCode::InternalError, "Invalid data provided by guest agent"));
    }
    let mut online = info.iter().filter(|v| v.1).count();
    let mut offlinable = info.iter().filter(|v| v.1 && v.2).count();
    if offlinable == online {
        if let Some(cpu0) = info.iter_mut().find(|v| v.0 == 0 && v.1) {
            cpu0.2 = false;
            offlinable -= 1;
        }
    }
    let n = n as usize;
    if n > info.len() {
        return Err(e(ErrorCode::InternalError, "guest agent reports less cpu than requested"));
    }
    if n < online - offlinable {
        return Err(e(ErrorCode::InvalidArg, "Cannot offline enough CPUs"));
    }
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for (id, on, off) in &info {
        if n < online && *off && *on {
            down.push(*id);
            online -= 1;
        } else if n > online && !*on {
            up.push(*id);
            online += 1;
        } else if n == online {
            break;
        }
    }
    for (ids, state) in [(down, 0), (up, 1)] {
        if !ids.is_empty() {
            let list: Vec<String> = ids.iter().map(u32::to_string).collect();
            super::guestinfo::set_guest_vcpus(drv, d, &list.join(","), state, 0)?;
        }
    }
    Ok(())
}

/// `virDomainSetVcpusFlags`.
pub fn set_vcpus(drv: &Driver, d: &DomainRef, n: u32, flags: u32) -> Result<()> {
    check_flags(flags, LIVE | CONFIG | VCPU_MAXIMUM | VCPU_GUEST | VCPU_HOTPLUGGABLE, "qemuDomainSetVcpusFlags", D)?;
    drv.refresh(&d.uuid);
    if flags & VCPU_GUEST != 0 {
        {
            let doms = drv.doms();
            doms.by_ref(d)?.impact(flags)?;
        }
        return set_vcpus_agent(drv, d, n);
    }
    let (live, config, live_max, config_max, topo_cpus) = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        let (live, config) = o.impact(flags)?;
        let p = o.persistent_def();
        let topo = p.cpu.as_ref().and_then(|c| child(c, "topology")).map(|_| {
            let (s, di, c, t) = topology(p);
            s * di * c * t
        });
        (live, config, o.def.vcpus_max, p.vcpus_max, topo)
    };
    if flags & VCPU_MAXIMUM != 0 {
        if live {
            return Err(e(ErrorCode::OperationUnsupported, "maximum vcpu count of a live domain can't be modified"));
        }
        if topo_cpus.is_some_and(|t| t != u64::from(n)) {
            return Err(e(ErrorCode::InvalidArg, "CPU topology doesn't match the desired vcpu count"));
        }
        return drv.tune_job(d, || {
            drv.tune_update(d, false, true, |def| {
                let (mut vcpus, individual) = vcpus_of(def);
                vcpus.resize(n as usize, Vcpu { online: false, hotpluggable: None, order: 0 });
                for v in &mut vcpus {
                    v.order = 0;
                }
                def.vcpus_max = n;
                store_vcpus(def, &vcpus, individual);
            })
        });
    }
    if live && n > live_max {
        return Err(e(
            ErrorCode::InvalidArg,
            format!("requested vcpus is greater than max allowable vcpus for the live domain: {n} > {live_max}"),
        ));
    }
    if config && n > config_max {
        return Err(e(
            ErrorCode::InvalidArg,
            format!("requested vcpus is greater than max allowable vcpus for the persistent domain: {n} > {config_max}"),
        ));
    }
    if live {
        let state: RefCell<Option<LiveVcpus>> = RefCell::new(None);
        let result: RefCell<Option<Vec<Vcpu>>> = RefCell::new(None);
        let inner = drv.monitor_job(
            d,
            Expect::Nothing,
            |o| {
                let tunes = Tunes::from_def(&o.def).unwrap_or_default();
                let cgroup = drv.tune_cgroup(&o.def).filter(|g| g.version_of("cpu").is_some());
                let pins = (0..o.def.vcpus_max).map(|i| vcpupin_of(&o.def, i).or_else(|| def_cpumask(&o.def))).collect();
                *state.borrow_mut() = Some(LiveVcpus { vcpus: vcpus_of(&o.def).0, topo: topology(&o.def), tunes, cgroup, pins });
                Ok(())
            },
            |q| {
                let st = state.borrow();
                let Some(st) = st.as_ref() else { return Ok(Err(e(ErrorCode::InternalError, "no live vCPU state"))) };
                let (vcpus, r) = set_vcpus_live(q, st, n as usize)?;
                *result.borrow_mut() = Some(vcpus);
                Ok(r)
            },
            |_, o| {
                if let Some(vcpus) = result.borrow_mut().take() {
                    let changed = vcpus != vcpus_of(&o.def).0;
                    if changed {
                        // Hot-added vCPUs stay unpluggable: the list goes in the XML.
                        store_vcpus(&mut o.def, &vcpus, true);
                    }
                }
            },
        )?;
        inner?;
    }
    if config {
        drv.tune_job(d, || drv.tune_update(d, false, true, |def| set_vcpus_config(def, n, flags & VCPU_HOTPLUGGABLE != 0)))?;
    }
    Ok(())
}

// ---------------------------------------------------------- memory parameters

fn session_check(drv: &Driver, code: ErrorCode, what: &str) -> Result<()> {
    if drv.paths.privileged {
        Ok(())
    } else {
        Err(e(code, format!("{what} tuning is not available in session mode")))
    }
}

/// The single definition a "get" call reads: (live, the domain object's data).
fn get_live(o: &DomObj, flags: u32) -> Result<bool> {
    let (live, config) = o.impact(flags & (LIVE | CONFIG))?;
    Ok(live && !config)
}

/// For a get call: whether `flags` select the live definition of `d`, and a copy of
/// the selected one (after noticing a dead QEMU).
fn selected_def(drv: &Driver, d: &DomainRef, flags: u32) -> Result<(bool, DomainDef)> {
    drv.refresh(&d.uuid);
    let doms = drv.doms();
    let o = doms.by_ref(d)?;
    let live = get_live(o, flags)?;
    Ok((live, if live { o.def.clone() } else { o.persistent_def().clone() }))
}

/// `<memtune>` with `hard`/`soft`/`swap` (KiB, [`MEMORY_PARAM_UNLIMITED`] for none)
/// replacing the given limits; other children (`min_guarantee`) stay.
fn set_memtune(def: &mut DomainDef, limits: &[(&str, u64)]) {
    let old = def.other.iter().find(|e| e.name == "memtune").cloned();
    let get = |name: &str| -> Option<El> {
        if let Some((_, v)) = limits.iter().find(|(n, _)| *n == name) {
            return (*v < MEMORY_PARAM_UNLIMITED).then(|| El::new(name).attr("unit", "KiB").text(v));
        }
        old.as_ref().and_then(|m| child(m, name)).cloned()
    };
    let mut el = El::new("memtune");
    for name in ["hard_limit", "soft_limit", "min_guarantee", "swap_hard_limit"] {
        if let Some(c) = get(name) {
            el.push(c);
        }
    }
    set_top(def, "memtune", (!el.children.is_empty()).then_some(el));
}

/// `virDomainGetMemoryParameters`.
pub fn get_memory_parameters(drv: &Driver, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
    check_flags(flags, LIVE | CONFIG | TYPED_PARAM_STRING_OKAY, "qemuDomainGetMemoryParameters", D)?;
    session_check(drv, ErrorCode::OperationUnsupported, "Memory")?;
    let (live, def) = selected_def(drv, d, flags)?;
    let (hard, soft, swap) = if live {
        let g = drv
            .tune_cgroup(&def)
            .filter(|g| g.version_of("memory").is_some())
            .ok_or_else(|| e(ErrorCode::OperationInvalid, "cgroup memory controller is not mounted"))?;
        (g.get_memory_hard_limit()?, g.get_memory_soft_limit()?, g.get_memory_swap_hard_limit()?.unwrap_or(MEMORY_PARAM_UNLIMITED))
    } else {
        let t = Tunes::from_def(&def)?;
        let u = |v: Option<u64>| v.unwrap_or(MEMORY_PARAM_UNLIMITED);
        (u(t.hard_limit), u(t.soft_limit), u(t.swap_hard_limit))
    };
    Ok(vec![
        TypedParam::new("hard_limit", TypedValue::ULLong(hard)),
        TypedParam::new("soft_limit", TypedValue::ULLong(soft)),
        TypedParam::new("swap_hard_limit", TypedValue::ULLong(swap)),
    ])
}

/// `virDomainSetMemoryParameters` (libvirt's `virDomainCgroupSetMemoryLimitParameters`).
pub fn set_memory_parameters(drv: &Driver, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
    check_flags(flags, LIVE | CONFIG, "qemuDomainSetMemoryParameters", D)?;
    typedparam::validate(
        params,
        &[("hard_limit", TypedType::ULLong), ("soft_limit", TypedType::ULLong), ("swap_hard_limit", TypedType::ULLong)],
    )?;
    session_check(drv, ErrorCode::OperationUnsupported, "Memory")?;
    let hard = typedparam::get_ullong(params, "hard_limit");
    let soft = typedparam::get_ullong(params, "soft_limit");
    let swap = typedparam::get_ullong(params, "swap_hard_limit");
    drv.tune_job(d, || {
        let (live, config, cur, group) = {
            let doms = drv.doms();
            let o = doms.by_ref(d)?;
            let (live, config) = o.impact(flags)?;
            let group = drv.live_group(&o.def, live, "memory", "cgroup memory controller is not mounted")?;
            (live, config, Tunes::from_def(&o.def)?, group)
        };
        let unl = MEMORY_PARAM_UNLIMITED;
        let (cur_hard, cur_swap) = (cur.hard_limit.unwrap_or(unl), cur.swap_hard_limit.unwrap_or(unl));
        if (swap.is_some() || hard.is_some()) && hard.unwrap_or(cur_hard) > swap.unwrap_or(cur_swap) {
            // hypervisor/domain_cgroup.c: VIR_FROM_DOMAIN.
            return Err(Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                "memory hard_limit tunable value must be lower than or equal to swap_hard_limit",
            ));
        }
        let mut done: Vec<(&str, u64)> = Vec::new();
        let r = (|| -> Result<()> {
            if let Some(g) = group.as_ref().filter(|_| live) {
                if let Some(v) = soft {
                    g.set_memory_soft_limit(v)?;
                    done.push(("soft_limit", v));
                }
                // A lower hard limit first, a higher one after the swap limit.
                let hard_first = hard.is_some_and(|h| cur_hard > h);
                if let Some(v) = hard.filter(|_| hard_first) {
                    g.set_memory_hard_limit(v)?;
                    done.push(("hard_limit", v));
                }
                if let Some(v) = swap {
                    g.set_memory_swap_hard_limit(v)?;
                    done.push(("swap_hard_limit", v));
                }
                if let Some(v) = hard.filter(|_| !hard_first) {
                    g.set_memory_hard_limit(v)?;
                    done.push(("hard_limit", v));
                }
            }
            Ok(())
        })();
        if live {
            drv.tune_update(d, true, false, |def| set_memtune(def, &done))?;
        }
        r?;
        if config {
            let mut all = Vec::new();
            all.extend(soft.map(|v| ("soft_limit", v)));
            all.extend(hard.map(|v| ("hard_limit", v)));
            all.extend(swap.map(|v| ("swap_hard_limit", v)));
            drv.tune_update(d, false, true, |def| set_memtune(def, &all))?;
        }
        Ok(())
    })
}

// ------------------------------------------------------------------- scheduler

/// The scheduler parameters in libvirt's order: (name, `<cputune>` element, signed).
const SCHED: [(&str, &str, bool); 9] = [
    ("cpu_shares", "shares", false),
    ("vcpu_period", "period", false),
    ("vcpu_quota", "quota", true),
    ("emulator_period", "emulator_period", false),
    ("emulator_quota", "emulator_quota", true),
    ("global_period", "global_period", false),
    ("global_quota", "global_quota", true),
    ("iothread_period", "iothread_period", false),
    ("iothread_quota", "iothread_quota", true),
];

/// `virDomainGetSchedulerType`: `posix` with 9 parameters.
pub fn get_scheduler_type(drv: &Driver, d: &DomainRef) -> Result<(String, i32)> {
    session_check(drv, ErrorCode::OperationUnsupported, "CPU")?;
    drv.refresh(&d.uuid);
    let def = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        if !o.is_active() {
            return Ok(("posix".into(), 9));
        }
        o.def.clone()
    };
    if drv.tune_cgroup(&def).filter(|g| g.version_of("cpu").is_some()).is_none() {
        return Err(e(ErrorCode::OperationInvalid, "cgroup CPU controller is not mounted"));
    }
    Ok(("posix".into(), 9))
}

/// Set `<cputune><el>` to `v` (a zero period or quota is not written, as libvirt).
fn set_cputune(def: &mut DomainDef, el: &str, v: i128) {
    def.cputune.retain(|e| e.name != el);
    if v != 0 || el == "shares" {
        def.cputune.push(El::new(el).text(v));
        def.sort_cputune();
    }
}

/// `virDomainGetSchedulerParametersFlags`.
pub fn get_scheduler_parameters(drv: &Driver, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
    check_flags(flags, LIVE | CONFIG | TYPED_PARAM_STRING_OKAY, "qemuDomainGetSchedulerParametersFlags", D)?;
    session_check(drv, ErrorCode::ConfigUnsupported, "CPU")?;
    let (live, def) = selected_def(drv, d, flags)?;
    let online = vcpus_of(&def).0.iter().position(|v| v.online).unwrap_or(0);
    let mut vals: [i128; 9] = [0; 9];
    if live {
        let g = drv
            .tune_cgroup(&def)
            .filter(|g| g.version_of("cpu").is_some())
            .ok_or_else(|| e(ErrorCode::OperationInvalid, "cgroup CPU controller is not mounted"))?;
        vals[0] = i128::from(g.get_cpu_shares()?);
        let vcpu = cgroups::vcpu_group(&g, u32::try_from(online).unwrap_or(0));
        let (p, q) = if vcpu.exists() { vcpu.get_cpu_bandwidth()? } else { g.get_cpu_bandwidth()? };
        (vals[1], vals[2]) = (i128::from(p), i128::from(q));
        let (p, q) = cgroups::emulator_group(&g).get_cpu_bandwidth()?;
        (vals[3], vals[4]) = (i128::from(p), i128::from(q));
        let (p, q) = g.get_cpu_bandwidth()?;
        (vals[5], vals[6]) = (i128::from(p), i128::from(q));
        // No IOThread groups: libvirt reads the domain group then.
        (vals[7], vals[8]) = (i128::from(p), i128::from(q));
    } else {
        for (i, (_, el, _)) in SCHED.iter().enumerate() {
            vals[i] = def.cputune.iter().find(|e| e.name == *el).and_then(|e| text(e).parse::<i128>().ok()).unwrap_or(0);
        }
    }
    Ok(SCHED
        .iter()
        .zip(vals)
        .map(|((name, _, signed), v)| {
            let value = if *signed {
                TypedValue::LLong(i64::try_from(v).unwrap_or(i64::MAX))
            } else {
                TypedValue::ULLong(u64::try_from(v).unwrap_or(0))
            };
            TypedParam::new(*name, value)
        })
        .collect())
}

/// `virDomainSetSchedulerParametersFlags`.
pub fn set_scheduler_parameters(drv: &Driver, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
    check_flags(flags, LIVE | CONFIG, "qemuDomainSetSchedulerParametersFlags", D)?;
    let allowed: Vec<(&str, TypedType)> =
        SCHED.iter().map(|(n, _, signed)| (*n, if *signed { TypedType::LLong } else { TypedType::ULLong })).collect();
    typedparam::validate(params, &allowed)?;
    session_check(drv, ErrorCode::ConfigUnsupported, "CPU")?;
    drv.tune_job(d, || {
        let (live, config, group, online) = {
            let doms = drv.doms();
            let o = doms.by_ref(d)?;
            let (live, config) = o.impact(flags)?;
            let group = drv.live_group(&o.def, live, "cpu", "cgroup CPU controller is not mounted")?;
            let online: Vec<u32> =
                vcpus_of(&o.def).0.iter().enumerate().filter(|(_, v)| v.online).filter_map(|(i, _)| u32::try_from(i).ok()).collect();
            (live, config, group, online)
        };
        let mut live_done: Vec<(&str, i128)> = Vec::new();
        let mut config_set: Vec<(&str, i128)> = Vec::new();
        let r = (|| -> Result<()> {
            for p in params {
                let Some((name, el, _)) = SCHED.iter().find(|(n, _, _)| *n == p.field) else { continue };
                let v: i128 = match p.value {
                    TypedValue::ULLong(v) => i128::from(v),
                    TypedValue::LLong(v) => i128::from(v),
                    _ => continue,
                };
                let (range, is_period) = if name.ends_with("_period") {
                    ((i128::from(CPU_PERIOD_RANGE.0), i128::from(CPU_PERIOD_RANGE.1)), true)
                } else {
                    ((i128::from(CPU_QUOTA_RANGE.0), i128::from(CPU_QUOTA_RANGE.1)), false)
                };
                if *name != "cpu_shares" && ((v > 0 && v < range.0) || v > range.1) {
                    return Err(e(ErrorCode::InvalidArg, format!("value of '{name}' is out of range [{}, {}]", range.0, range.1)));
                }
                if let Some(g) = group.as_ref().filter(|_| live) {
                    let (period, quota) =
                        if is_period { (u64::try_from(v).unwrap_or(0), None) } else { (0, Some(i64::try_from(v).unwrap_or(-1))) };
                    let applied = match *name {
                        "cpu_shares" => {
                            g.set_cpu_shares(u64::try_from(v).unwrap_or(0))?;
                            true
                        }
                        _ if v == 0 => false,
                        "vcpu_period" | "vcpu_quota" => {
                            for n in &online {
                                let vg = cgroups::vcpu_group(g, *n);
                                if vg.exists() {
                                    vg.set_cpu_bandwidth(period, quota)?;
                                }
                            }
                            true
                        }
                        "emulator_period" | "emulator_quota" => {
                            cgroups::emulator_group(g).set_cpu_bandwidth(period, quota)?;
                            true
                        }
                        "global_period" | "global_quota" => {
                            g.set_cpu_bandwidth(period, quota)?;
                            true
                        }
                        // No IOThreads run in their own groups: only the definition changes.
                        _ => true,
                    };
                    if applied {
                        live_done.push((el, v));
                    }
                }
                config_set.push((el, v));
            }
            Ok(())
        })();
        if live {
            drv.tune_update(d, true, false, |def| {
                for (el, v) in &live_done {
                    set_cputune(def, el, *v);
                }
            })?;
        }
        r?;
        // the TUNABLE event of what changed live (`cputune.<parameter>`).
        if live && !live_done.is_empty() {
            let params = live_done
                .iter()
                .filter_map(|(el, v)| SCHED.iter().find(|(_, e, _)| e == el).map(|(name, _, signed)| (*name, *signed, *v)))
                .map(|(name, signed, v)| {
                    let value = if signed {
                        TypedValue::LLong(i64::try_from(v).unwrap_or(0))
                    } else {
                        TypedValue::ULLong(u64::try_from(v).unwrap_or(0))
                    };
                    TypedParam { field: format!("cputune.{name}"), value }
                })
                .collect();
            super::pm::tunable_event(drv, d, params);
        }
        if config {
            drv.tune_update(d, false, true, |def| {
                for (el, v) in &config_set {
                    set_cputune(def, el, *v);
                }
            })?;
        }
        Ok(())
    })
}

// ----------------------------------------------------------------------- blkio

/// The `<blkiotune><device>` fields: (parameter, element, cgroup throttle).
const BLKIO_DEVICE: [(&str, &str, Option<&str>); 5] = [
    ("device_weight", "weight", None),
    ("device_read_iops_sec", "read_iops_sec", Some("read_iops")),
    ("device_write_iops_sec", "write_iops_sec", Some("write_iops")),
    ("device_read_bytes_sec", "read_bytes_sec", Some("read_bps")),
    ("device_write_bytes_sec", "write_bytes_sec", Some("write_bps")),
];

/// `<blkiotune>`: weight and per-device values (path, values in [`BLKIO_DEVICE`] order).
#[derive(Debug, Clone, Default)]
struct Blkio {
    weight: u64,
    devices: Vec<(String, [u64; 5])>,
}

fn blkio_of(def: &DomainDef) -> Blkio {
    let mut b = Blkio::default();
    let Some(bt) = def.other.iter().find(|e| e.name == "blkiotune") else { return b };
    b.weight = child(bt, "weight").and_then(|w| text(w).parse().ok()).unwrap_or(0);
    for dev in children(bt, "device") {
        let path = child(dev, "path").map(text).unwrap_or_default();
        let mut vals = [0u64; 5];
        for (i, (_, el, _)) in BLKIO_DEVICE.iter().enumerate() {
            vals[i] = child(dev, el).and_then(|e| text(e).parse().ok()).unwrap_or(0);
        }
        b.devices.push((path, vals));
    }
    b
}

fn store_blkio(def: &mut DomainDef, b: &Blkio) {
    let mut el = El::new("blkiotune");
    if b.weight != 0 {
        el.push(El::new("weight").text(b.weight));
    }
    for (path, vals) in b.devices.iter().filter(|(_, v)| v.iter().any(|x| *x != 0)) {
        let mut de = El::new("device").child(El::new("path").text(path));
        for (i, (_, name, _)) in BLKIO_DEVICE.iter().enumerate() {
            if vals[i] != 0 {
                de.push(El::new(*name).text(vals[i]));
            }
        }
        el.push(de);
    }
    set_top(def, "blkiotune", (!el.children.is_empty()).then_some(el));
}

/// libvirt's `virDomainDriverParseBlkioDeviceStr`: `path,value[,path,value...]`.
fn parse_blkio_devices(field: &str, s: &str) -> Result<Vec<(String, u64)>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let parse_err = || Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("unable to parse blkio device '{field}' '{s}'"));
    if s.matches(',').count().is_multiple_of(2) {
        return Err(parse_err());
    }
    let parts: Vec<&str> = s.split(',').collect();
    let mut out = Vec::new();
    for (k, pair) in parts.chunks(2).enumerate() {
        let [path, value] = pair else { return Err(parse_err()) };
        let uint = field == "device_weight" || field.ends_with("iops_sec");
        let ok = if uint { value.parse::<u32>().ok().map(u64::from) } else { value.parse::<u64>().ok() };
        let Some(v) = ok else {
            let rest = parts[k * 2 + 1..].join(",");
            return Err(Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                format!("invalid value '{rest}' for parameter '{field}' of device '{path}'"),
            ));
        };
        out.push((path.to_string(), v));
    }
    Ok(out)
}

/// libvirt's `virDomainDriverMergeBlkioDevice`.
fn merge_blkio(b: &mut Blkio, idx: usize, devs: &[(String, u64)]) {
    for (path, v) in devs {
        match b.devices.iter_mut().find(|(p, _)| p == path) {
            Some((_, vals)) => vals[idx] = *v,
            None => {
                let mut vals = [0u64; 5];
                vals[idx] = *v;
                b.devices.push((path.clone(), vals));
            }
        }
    }
}

/// `virDomainGetBlkioParameters`.
pub fn get_blkio_parameters(drv: &Driver, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
    check_flags(flags, LIVE | CONFIG | TYPED_PARAM_STRING_OKAY, "qemuDomainGetBlkioParameters", D)?;
    session_check(drv, ErrorCode::ConfigUnsupported, "Block I/O")?;
    let (live, def) = selected_def(drv, d, flags)?;
    let b = blkio_of(&def);
    let weight = if live {
        let g = drv
            .tune_cgroup(&def)
            .filter(|g| g.version_of("blkio").is_some())
            .ok_or_else(|| e(ErrorCode::OperationInvalid, "blkio cgroup isn't mounted"))?;
        g.get_blkio_weight()?
    } else {
        b.weight
    };
    let mut out = vec![TypedParam::new("weight", TypedValue::UInt(u32::try_from(weight).unwrap_or(u32::MAX)))];
    for (i, (field, _, _)) in BLKIO_DEVICE.iter().enumerate() {
        let s: Vec<String> = b.devices.iter().filter(|(_, v)| v[i] != 0).map(|(p, v)| format!("{p},{}", v[i])).collect();
        out.push(TypedParam::new(*field, TypedValue::String(s.join(","))));
    }
    Ok(out)
}

/// `virDomainSetBlkioParameters`.
pub fn set_blkio_parameters(drv: &Driver, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
    check_flags(flags, LIVE | CONFIG, "qemuDomainSetBlkioParameters", D)?;
    let mut allowed = vec![("weight", TypedType::UInt)];
    allowed.extend(BLKIO_DEVICE.iter().map(|(f, _, _)| (*f, TypedType::String)));
    typedparam::validate(params, &allowed)?;
    session_check(drv, ErrorCode::ConfigUnsupported, "Block I/O")?;
    drv.tune_job(d, || {
        let (live, config, group, mut live_b) = {
            let doms = drv.doms();
            let o = doms.by_ref(d)?;
            let (live, config) = o.impact(flags)?;
            let group = drv.live_group(&o.def, live, "blkio", "blkio cgroup isn't mounted")?;
            (live, config, group, blkio_of(&o.def))
        };
        let mut first_err: Option<Error> = None;
        if let Some(g) = group.as_ref().filter(|_| live) {
            // As libvirt: every parameter is tried; the first failure is reported.
            for p in params {
                let r = (|| -> Result<()> {
                    match (&p.value, BLKIO_DEVICE.iter().position(|(f, _, _)| *f == p.field)) {
                        (TypedValue::UInt(w), _) if p.field == "weight" => {
                            g.set_blkio_weight(u64::from(*w))?;
                            live_b.weight = g.get_blkio_weight()?;
                        }
                        (TypedValue::String(s), Some(idx)) => {
                            let devs = parse_blkio_devices(&p.field, s)?;
                            for (path, v) in &devs {
                                let dev = oxvirt_util::cgroup::block_dev_string(std::path::Path::new(path))?;
                                match BLKIO_DEVICE[idx].2 {
                                    None => g.set_blkio_device_weight(&dev, *v)?,
                                    Some(kind) => g.set_blkio_throttle(&dev, kind, *v)?,
                                }
                            }
                            merge_blkio(&mut live_b, idx, &devs);
                        }
                        _ => {}
                    }
                    Ok(())
                })();
                if let Err(x) = r {
                    first_err.get_or_insert(x);
                }
            }
            drv.tune_update(d, true, false, |def| store_blkio(def, &live_b))?;
        }
        if let Some(x) = first_err {
            return Err(x);
        }
        if config {
            let mut doms = drv.doms();
            let def = persistent_mut(doms.by_ref_mut(d)?);
            let mut b = blkio_of(def);
            for p in params {
                match (&p.value, BLKIO_DEVICE.iter().position(|(f, _, _)| *f == p.field)) {
                    (TypedValue::UInt(w), _) if p.field == "weight" => b.weight = u64::from(*w),
                    (TypedValue::String(s), Some(idx)) => merge_blkio(&mut b, idx, &parse_blkio_devices(&p.field, s)?),
                    _ => {}
                }
            }
            store_blkio(def, &b);
            drv.save_config(def)?;
        }
        Ok(())
    })
}

// --------------------------------------------------------------------- pinning

/// The CPU numbers of a cpumap (`virBitmapNewData`).
fn bits_of_map(map: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, byte) in map.iter().enumerate() {
        for bit in 0..8u32 {
            if byte & (1 << bit) != 0 {
                out.push(u32::try_from(i).unwrap_or(u32::MAX).saturating_mul(8).saturating_add(bit));
            }
        }
    }
    out
}

/// `bits` into `maplen` bytes (`virBitmapToDataBuf`; bits beyond are dropped).
fn map_of_bits(bits: &[u32], maplen: usize) -> Vec<u8> {
    let mut out = vec![0u8; maplen];
    for b in bits {
        if let Some(byte) = out.get_mut((*b / 8) as usize) {
            *byte |= 1 << (b % 8);
        }
    }
    out
}

/// The host's online CPUs (`virHostCPUGetAvailableCPUsBitmap`).
fn host_cpus() -> Result<Vec<u32>> {
    let (_, map, _) = super::stats::node_cpu_map()?;
    Ok(bits_of_map(&map))
}

/// The `<vcpupin>` CPUs of vCPU `i`, if any.
fn vcpupin_of(def: &DomainDef, i: u32) -> Option<Vec<u32>> {
    def.cputune
        .iter()
        .find(|e| e.name == "vcpupin" && attr(e, "vcpu").and_then(|v| v.parse::<u32>().ok()) == Some(i))
        .and_then(|e| attr(e, "cpuset"))
        .and_then(oxvirt_conf::domain::parse_bitmap)
}

/// The `<emulatorpin>` CPUs, if any.
fn emulatorpin_of(def: &DomainDef) -> Option<Vec<u32>> {
    def.cputune.iter().find(|e| e.name == "emulatorpin").and_then(|e| attr(e, "cpuset")).and_then(oxvirt_conf::domain::parse_bitmap)
}

/// `<vcpu cpuset=...>`, the default of every pin.
fn def_cpumask(def: &DomainDef) -> Option<Vec<u32>> {
    def.vcpu_cpuset.as_deref().and_then(oxvirt_conf::domain::parse_bitmap)
}

/// Replace `<vcpupin vcpu='i'>` (or `<emulatorpin>` when `vcpu` is `None`).
fn set_pin(def: &mut DomainDef, vcpu: Option<u32>, bits: &[u32]) {
    let cpuset = oxvirt_conf::domain::format_bitmap(bits);
    match vcpu {
        Some(i) => {
            def.cputune.retain(|e| !(e.name == "vcpupin" && attr(e, "vcpu").and_then(|v| v.parse::<u32>().ok()) == Some(i)));
            def.cputune.push(El::new("vcpupin").attr("vcpu", i).attr("cpuset", cpuset));
        }
        None => {
            def.cputune.retain(|e| e.name != "emulatorpin");
            def.cputune.push(El::new("emulatorpin").attr("cpuset", cpuset));
        }
    }
    def.sort_cputune();
}

/// libvirt's `virProcessSetAffinity` for one thread (`sched_setaffinity`).
fn set_affinity(tid: i32, bits: &[u32]) -> Result<()> {
    let sys = |e: nix::Error| Error::new(ErrorCode::SystemError, D, format!("cannot set CPU affinity on process {tid}: {}", e.desc()));
    let mut set = nix::sched::CpuSet::new();
    for b in bits {
        set.set(*b as usize).map_err(sys)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(tid), &set).map_err(sys)
}

/// At start, once the vCPU threads are known (libvirt's `qemuProcessSetupVcpu` and
/// `qemuProcessSetupEmulator`): each vCPU thread gets its `<vcpupin>` (or `<vcpu
/// cpuset>`), QEMU's other threads the `<emulatorpin>` (or `<vcpu cpuset>`). Nothing
/// pinned: nothing done.
pub(super) fn apply_pins(def: &DomainDef, pid: i32, q: &crate::qmp::Qmp) -> Result<()> {
    let mask = def_cpumask(def);
    let any_vcpupin = def.cputune.iter().any(|e| e.name == "vcpupin");
    let emulator = emulatorpin_of(def).or_else(|| mask.clone());
    if !any_vcpupin && emulator.is_none() {
        return Ok(());
    }
    let topo = topology(def);
    let cpus = q.execute("query-cpus-fast", None)?;
    let mut vcpu_tids = Vec::new();
    for c in cpus.as_array().into_iter().flatten() {
        let (Some(props), Some(tid)) = (c.get("props"), c.get("thread-id").and_then(Value::as_i64)) else { continue };
        let (Some(i), Ok(tid)) = (vcpu_index(props, topo), i32::try_from(tid)) else { continue };
        vcpu_tids.push(tid);
        if let Some(bits) = vcpupin_of(def, u32::try_from(i).unwrap_or(u32::MAX)).or_else(|| mask.clone()) {
            set_affinity(tid, &bits)?;
        }
    }
    if let Some(bits) = emulator {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| {
            Error::new(ErrorCode::SystemError, D, format!("cannot list the threads of process {pid}: {}", oxvirt_util::error::io_text(&e)))
        })?;
        for tid in tasks.flatten().filter_map(|t| t.file_name().to_str().and_then(|s| s.parse::<i32>().ok())) {
            if !vcpu_tids.contains(&tid) {
                set_affinity(tid, &bits)?;
            }
        }
    }
    Ok(())
}

/// The monitor and QEMU's pid of active `d` (the caller holds the job lock).
fn monitor_of(drv: &Driver, d: &DomainRef) -> Result<(std::sync::Arc<crate::qmp::Qmp>, i32)> {
    let doms = drv.doms();
    let o = doms.by_ref(d)?;
    let run = o.run.as_ref().ok_or_else(|| Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"))?;
    let q = run.qmp.clone().ok_or_else(|| Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"))?;
    Ok((q, run.pid))
}

/// `virDomainPinVcpuFlags`.
pub fn pin_vcpu(drv: &Driver, d: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
    check_flags(flags, LIVE | CONFIG, "qemuDomainPinVcpuFlags", D)?;
    drv.tune_job(d, || {
        let (live, config, live_def) = {
            let doms = drv.doms();
            let o = doms.by_ref(d)?;
            let (live, config) = o.impact(flags)?;
            let p = o.persistent_def();
            if config && vcpu >= p.vcpus_max {
                return Err(e(ErrorCode::InvalidArg, format!("vcpu {vcpu} is out of range of persistent cpu count {}", p.vcpus_current)));
            }
            (live, config, o.def.clone())
        };
        let bits = bits_of_map(cpumap);
        if bits.is_empty() {
            return Err(e(ErrorCode::InvalidArg, "Empty cpu list for pinning"));
        }
        if live {
            if vcpu >= live_def.vcpus_max {
                return Err(e(ErrorCode::InvalidArg, format!("vcpu {vcpu} is out of range of live cpu count {}", live_def.vcpus_max)));
            }
            if vcpus_of(&live_def).0.get(vcpu as usize).is_some_and(|v| v.online) {
                let (q, _) = monitor_of(drv, d)?;
                let tid = vcpu_thread(&q, vcpu as usize, topology(&live_def))
                    .ok_or_else(|| e(ErrorCode::OperationInvalid, "cpu affinity is not supported"))?;
                set_affinity(tid, &bits)?;
            }
            drv.tune_update(d, true, false, |def| set_pin(def, Some(vcpu), &bits))?;
            // the TUNABLE event.
            let cpuset = oxvirt_conf::domain::format_bitmap(&bits);
            super::pm::tunable_event(
                drv,
                d,
                vec![TypedParam { field: format!("cputune.vcpupin{vcpu}"), value: TypedValue::String(cpuset) }],
            );
        }
        if config {
            drv.tune_update(d, false, true, |def| set_pin(def, Some(vcpu), &bits))?;
        }
        Ok(())
    })
}

/// `virDomainGetVcpuPinInfo`: `ncpumaps` maps of `maplen` bytes and how many were filled.
pub fn get_vcpu_pin_info(drv: &Driver, d: &DomainRef, ncpumaps: i32, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
    check_flags(flags, LIVE | CONFIG, "qemuDomainGetVcpuPinInfo", D)?;
    drv.refresh(&d.uuid);
    let def = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        if get_live(o, flags)? {
            o.def.clone()
        } else {
            o.persistent_def().clone()
        }
    };
    let hostcpus = host_cpus()?;
    let (ncpumaps, maplen) = (usize::try_from(ncpumaps).unwrap_or(0), usize::try_from(maplen).unwrap_or(0));
    let n = (def.vcpus_max as usize).min(ncpumaps);
    let mask = def_cpumask(&def);
    let mut out = Vec::with_capacity(n.saturating_mul(maplen).min(1 << 20));
    for i in 0..n {
        let bits = vcpupin_of(&def, u32::try_from(i).unwrap_or(u32::MAX)).or_else(|| mask.clone()).unwrap_or_else(|| hostcpus.clone());
        out.extend(map_of_bits(&bits, maplen));
    }
    Ok((out, i32::try_from(n).unwrap_or(i32::MAX)))
}

/// `virDomainPinEmulator`: live, QEMU's main thread (as libvirt's
/// `virProcessSetAffinity(vm->pid)`); `<emulatorpin>` in the definitions.
pub fn pin_emulator(drv: &Driver, d: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
    check_flags(flags, LIVE | CONFIG, "qemuDomainPinEmulator", D)?;
    drv.tune_job(d, || {
        let (live, config) = {
            let doms = drv.doms();
            doms.by_ref(d)?.impact(flags)?
        };
        let bits = bits_of_map(cpumap);
        if bits.is_empty() {
            return Err(e(ErrorCode::InvalidArg, "Empty cpu list for pinning"));
        }
        if live {
            let (_, pid) = monitor_of(drv, d)?;
            set_affinity(pid, &bits)?;
            drv.tune_update(d, true, false, |def| set_pin(def, None, &bits))?;
            // the TUNABLE event.
            let cpuset = oxvirt_conf::domain::format_bitmap(&bits);
            super::pm::tunable_event(drv, d, vec![TypedParam { field: "cputune.emulatorpin".into(), value: TypedValue::String(cpuset) }]);
        }
        if config {
            drv.tune_update(d, false, true, |def| set_pin(def, None, &bits))?;
        }
        Ok(())
    })
}

/// `virDomainGetEmulatorPinInfo`: the map, and libvirt's return value 1.
pub fn get_emulator_pin_info(drv: &Driver, d: &DomainRef, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
    check_flags(flags, LIVE | CONFIG, "qemuDomainGetEmulatorPinInfo", D)?;
    drv.refresh(&d.uuid);
    let def = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        if get_live(o, flags)? {
            o.def.clone()
        } else {
            o.persistent_def().clone()
        }
    };
    let bits = match emulatorpin_of(&def).or_else(|| def_cpumask(&def)) {
        Some(b) => b,
        None => host_cpus()?,
    };
    Ok((map_of_bits(&bits, usize::try_from(maplen).unwrap_or(0)), 1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use oxvirt_conf::domain::{FormatOptions, ParseOptions};

    fn def(extra: &str, vcpu: &str) -> DomainDef {
        let xml = format!("<domain type='qemu'><name>a</name><memory>65536</memory>{vcpu}<os><type>hvm</type></os>{extra}</domain>");
        DomainDef::parse(&xml, &ParseOptions { driver: Some("qemu".into()), inactive: true }).unwrap()
    }

    fn fmt(d: &DomainDef) -> String {
        d.format(&FormatOptions { id: None, inactive: true, secure: true })
    }

    #[test]
    fn config_vcpu_changes_follow_libvirt() {
        let mut d = def("", "<vcpu current='1'>4</vcpu>");
        set_vcpus_config(&mut d, 3, false);
        assert_eq!(d.vcpus_current, 3);
        assert!(!fmt(&d).contains("<vcpus>"), "{}", fmt(&d));
        set_vcpus_config(&mut d, 1, false);
        assert_eq!(d.vcpus_current, 1);
        // --hotpluggable: the new vCPUs are listed as hotpluggable.
        set_vcpus_config(&mut d, 2, true);
        let x = fmt(&d);
        assert!(x.contains(" current='2'>4</vcpu>"), "{x}");
        assert!(x.contains("<vcpu id='0' enabled='yes' hotpluggable='no'/>"), "{x}");
        assert!(x.contains("<vcpu id='1' enabled='yes' hotpluggable='yes'/>"), "{x}");
        assert!(x.contains("<vcpu id='3' enabled='no' hotpluggable='yes'/>"), "{x}");
        let back = DomainDef::parse(&x, &ParseOptions { driver: Some("qemu".into()), inactive: true }).unwrap();
        assert_eq!(vcpus_of(&back).0, vcpus_of(&d).0);
    }

    #[test]
    fn pins_are_cpumaps_and_cputune_elements() {
        assert_eq!(bits_of_map(&[0b101, 0b1]), vec![0, 2, 8]);
        assert_eq!(map_of_bits(&[0, 2, 8, 30], 2), vec![0b101, 0b1]);
        let mut d = def("<cputune><shares>100</shares></cputune>", "<vcpu cpuset='0-1'>2</vcpu>");
        set_pin(&mut d, Some(1), &[0]);
        set_pin(&mut d, None, &[1]);
        set_pin(&mut d, Some(0), &[0, 1]);
        assert_eq!(vcpupin_of(&d, 1), Some(vec![0]));
        assert_eq!(emulatorpin_of(&d), Some(vec![1]));
        assert_eq!(def_cpumask(&d), Some(vec![0, 1]));
        let x = fmt(&d);
        assert!(
            x.contains("<shares>100</shares>\n    <vcpupin vcpu='0' cpuset='0-1'/>\n    <vcpupin vcpu='1' cpuset='0'/>\n    <emulatorpin cpuset='1'/>"),
            "{x}"
        );
    }

    #[test]
    fn hotplug_entities_map_to_vcpu_indexes() {
        let d = def("<cpu><topology sockets='2' dies='1' cores='2' threads='2'/></cpu>", "<vcpu current='1'>8</vcpu>");
        let topo = topology(&d);
        assert_eq!(topo, (2, 1, 2, 2));
        assert_eq!(vcpu_index(&json!({"socket-id": 1, "core-id": 1, "thread-id": 0}), topo), Some(6));
        let flat = def("", "<vcpu current='1'>2</vcpu>");
        assert_eq!(vcpu_index(&json!({"socket-id": 1, "core-id": 0, "thread-id": 0}), topology(&flat)), Some(1));
    }

    #[test]
    fn tunable_xml_is_libvirts() {
        let mut d = def("<memtune><min_guarantee>10</min_guarantee></memtune>", "<vcpu>1</vcpu>");
        set_memtune(&mut d, &[("hard_limit", 262_144), ("swap_hard_limit", MEMORY_PARAM_UNLIMITED)]);
        let x = fmt(&d);
        assert!(x.contains("<hard_limit unit='KiB'>262144</hard_limit>"), "{x}");
        assert!(x.contains("<min_guarantee"), "{x}");
        assert!(!x.contains("swap_hard_limit"), "{x}");
        set_cputune(&mut d, "quota", 5000);
        set_cputune(&mut d, "shares", 2048);
        set_cputune(&mut d, "period", 0);
        assert!(fmt(&d).contains("<cputune>\n    <shares>2048</shares>\n    <quota>5000</quota>\n  </cputune>"), "{}", fmt(&d));
        let mut b = blkio_of(&d);
        b.weight = 500;
        merge_blkio(&mut b, 1, &parse_blkio_devices("device_read_iops_sec", "/dev/vda,100").unwrap());
        store_blkio(&mut d, &b);
        let x = fmt(&d);
        assert!(x.contains("<weight>500</weight>") && x.contains("<read_iops_sec>100</read_iops_sec>"), "{x}");
        let err = parse_blkio_devices("device_read_iops_sec", "/dev/vda").unwrap_err();
        assert_eq!(err.message, "invalid argument: unable to parse blkio device 'device_read_iops_sec' '/dev/vda'");
        let err = parse_blkio_devices("device_weight", "/dev/vda,x").unwrap_err();
        assert!(err.message.ends_with("invalid value 'x' for parameter 'device_weight' of device '/dev/vda'"), "{}", err.message);
    }
}
