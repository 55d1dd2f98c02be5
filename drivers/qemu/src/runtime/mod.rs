//! The live QEMU driver: `qemu:///system`, `qemu:///session` and the embedded
//! `qemu:///embed?root=DIR`, served in-process.
//!
//! One [`Driver`] instance exists per URI while connections use it. Opening a new
//! instance is what a daemon start is: persistent definitions are loaded from the
//! config directory, every domain whose status file names a live QEMU with a
//! connectable monitor is taken over again, the others are shut off (reason
//! `crashed`) and their run files removed, and autostart domains are started once
//! per host boot. Dropping the instance closes the monitors but never kills guests.
//!
//! Threads: API calls run on the caller's thread. A domain's jobs (start, destroy,
//! suspend, ...) are serialized by its job lock; the domain list lock is only held
//! for short bookkeeping, never across a QMP command or a wait, so a monitor that
//! stops answering delays only calls about its own domain. QMP events and monitor
//! EOF go from each monitor's reader thread through a channel to one worker thread,
//! which applies them under the domain's job lock, in order.
//!
//! Modules: [`paths`] (directory layout), [`process`] (spawn, signals, monitor
//! connect), [`capscache`] (probed capabilities per binary), [`status`] (status
//! files), [`domobj`] (domain list), `graphics` (graphics connections over passed
//! descriptors), `hypervisor` (the API implementation), and the
//! host integration of the privileged driver: [`qemuconf`] (`qemu.conf`), [`dac`]
//! (QEMU's user and group, file ownership), [`cgroups`] (the guest's cgroup and
//! tunables), [`net`] (the persistent taps of ethernet and bridge NICs); and the
//! guest-changing calls: [`save`] (save images, save/restore and managed save), `tune`
//! (memory, vCPU and tuning changes of running and defined guests), `hotplug` (device
//! attach, detach and update on live guests and persistent definitions),
//! `metadata` (title, description and application XML), `keys`
//! (`virDomainSendKey`), `screenshot` (`virDomainScreenshot`), `pm` (guest power
//! management and its events) and `snapshot` (snapshots and their metadata).

pub mod capscache;
pub mod cgroups;
mod console;
pub mod dac;
pub mod domobj;
mod graphics;
mod guestinfo;
mod hotplug;
mod hypervisor;
mod keys;
mod lifecycle;
mod metadata;
pub mod net;
pub mod paths;
mod pm;
pub mod process;
pub mod qemuconf;
pub mod save;
mod screenshot;
mod snapshot;
pub mod stats;
pub mod status;
pub(crate) mod tune;

use crate::qmp::QmpEvent;
use domobj::{DomList, DomObj, Run};
use oxvirt::driver::{ConnectDriver, ConnectDrivers, Probe};
use oxvirt::event::lifecycle as lc;
use oxvirt::types::reason;
use oxvirt::uri::Uri;
use oxvirt::{DomainEventData, DomainState, Error, ErrorCode, ErrorDomain, Event, EventBus, OpenFlags, Result};
use oxvirt_conf::domain::{DomainDef, ParseOptions};
use oxvirt_util::uuid::Uuid;
use paths::Paths;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

pub use hypervisor::QemuConn;

/// The emulator used when a definition names none.
pub const DEFAULT_EMULATOR: &str = "/usr/bin/qemu-system-x86_64";

/// Environment variable overriding the per-command monitor timeout, in milliseconds.
pub const MONITOR_TIMEOUT_ENV: &str = "OXVIRT_QEMU_MONITOR_TIMEOUT_MS";

/// Environment variable that moves `qemu:///system` and `qemu:///session` below one
/// directory (`session` below it for the latter), with the layout of
/// `qemu:///embed?root=DIR` (for tests of the daemon, which must not touch `/etc/libvirt`).
pub const ROOT_ENV: &str = "OXVIRT_QEMU_ROOT";

/// `VIR_DOMAIN_PAUSED_STARTING_UP`.
const PAUSED_STARTING_UP: i32 = 11;
/// `VIR_DOMAIN_PAUSED_UNKNOWN`.
const PAUSED_UNKNOWN: i32 = 0;
/// `VIR_DOMAIN_SHUTOFF_CRASHED`.
const SHUTOFF_CRASHED: i32 = 3;
/// `VIR_DOMAIN_SHUTOFF_FAILED`.
const SHUTOFF_FAILED: i32 = 6;
/// `VIR_DOMAIN_SHUTDOWN_UNKNOWN`.
const SHUTDOWN_UNKNOWN: i32 = 0;

/// The `qemu` connection driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct QemuConnectDriver;

/// Live driver instances by URI.
static INSTANCES: Mutex<Vec<(String, Weak<Driver>)>> = Mutex::new(Vec::new());

/// Register the `qemu` driver with the public API's driver registry.
pub fn register() {
    oxvirt::driver::register(Arc::new(QemuConnectDriver));
}

/// Instances a daemon keeps for its whole life (see [`state_initialize`]).
static KEPT: Mutex<Vec<Arc<Driver>>> = Mutex::new(Vec::new());

/// What a daemon does at start-up (libvirt's `qemuStateInitialize`): open the
/// instance it serves — `qemu:///system` as root, `qemu:///session` otherwise — and
/// keep it until exit, so that monitors, events and `on_poweroff` actions are
/// handled while no client is connected, and guests left running by an earlier
/// daemon (even one killed with SIGKILL) are taken over now. Returns the URI.
pub fn state_initialize() -> Result<String> {
    let path = if nix::unistd::geteuid().is_root() { "/system" } else { "/session" };
    let uri = Uri::parse(&format!("qemu://{path}"))?;
    let drv = Driver::instance(paths_for(&uri)?)?;
    let name = drv.paths.uri.clone();
    KEPT.lock().unwrap_or_else(PoisonError::into_inner).push(drv);
    Ok(name)
}

/// Whether a driver instance for `uri` (as [`Paths::uri`] spells it) is open in this
/// process. Tests use it to be sure a reopen is a fresh start.
pub fn instance_is_open(uri: &str) -> bool {
    INSTANCES.lock().unwrap_or_else(PoisonError::into_inner).iter().any(|(u, w)| u == uri && w.strong_count() > 0)
}

fn err(code: ErrorCode, msg: impl AsRef<str>) -> Error {
    Error::new(code, ErrorDomain::Qemu, msg)
}

/// The paths a URI names, or why it is not ours.
pub fn paths_for(uri: &Uri) -> Result<Paths> {
    match uri.path.as_str() {
        "/system" => Ok(root_override("qemu:///system", "", true).unwrap_or_else(Paths::system)),
        "/session" => Ok(root_override("qemu:///session", "session", false).unwrap_or_else(Paths::session)),
        "/embed" => {
            let root = uri.param("root").ok_or_else(|| err(ErrorCode::InvalidArg, "root parameter is required for embedded driver"))?;
            if !root.starts_with('/') {
                return Err(err(ErrorCode::InvalidArg, format!("root path must be absolute: '{root}'")));
            }
            Ok(Paths::embed(Path::new(root)))
        }
        p => Err(err(ErrorCode::InvalidArg, format!("unexpected QEMU URI path '{p}', try qemu:///system or qemu:///session"))),
    }
}

/// The layout below `$OXVIRT_QEMU_ROOT/sub`, answering to `uri`, when the variable is set.
fn root_override(uri: &str, sub: &str, privileged: bool) -> Option<Paths> {
    let root = std::env::var_os(ROOT_ENV).filter(|v| !v.is_empty())?;
    let mut p = Paths::embed(&Path::new(&root).join(sub));
    p.uri = uri.to_string();
    p.privileged = privileged;
    Some(p)
}

impl ConnectDriver for QemuConnectDriver {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn probe(&self, uri: &Uri) -> Probe {
        if uri.driver == "qemu" && uri.is_local() && matches!(uri.path.as_str(), "/system" | "/session" | "/embed") {
            Probe::Accept
        } else {
            Probe::Decline
        }
    }

    fn uses_shared_drivers(&self) -> bool {
        true
    }

    fn open(&self, uri: &Uri, flags: u32) -> Result<ConnectDrivers> {
        oxvirt::driver::check_flags(flags, OpenFlags::READ_ONLY.bits(), "qemuConnectOpen", ErrorDomain::Qemu)?;
        let paths = paths_for(uri)?;
        if paths.privileged && !nix::unistd::geteuid().is_root() {
            return Err(err(ErrorCode::OperationDenied, "qemu:///system needs root; use qemu:///session"));
        }
        let drv = Driver::instance(paths)?;
        let conn = Arc::new(QemuConn::new(drv));
        Ok(ConnectDrivers { hypervisor: conn, network: None, storage: None, secret: None, nwfilter: None, interface: None, nodedev: None })
    }
}

/// A QMP event or the end of a monitor, for the worker thread.
struct WorkerMsg {
    uuid: Uuid,
    /// Domain id of the run the monitor belongs to (stale runs are ignored).
    id: i32,
    ev: QmpEvent,
}

/// One driver instance (libvirt's `virQEMUDriver`).
pub struct Driver {
    /// Directory layout.
    pub paths: Paths,
    doms: Mutex<DomList>,
    bus: EventBus,
    worker_tx: Mutex<Sender<WorkerMsg>>,
    monitor_timeout: Duration,
    /// Open console sessions, by pty path.
    consoles: console::Sessions,
    /// `qemu.conf`.
    qemu_conf: qemuconf::QemuConf,
    /// Where the cgroup hierarchies are (used by the privileged driver).
    cgroup_layout: oxvirt_util::cgroup::Layout,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("paths", &self.paths).finish_non_exhaustive()
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    err(ErrorCode::SystemError, format!("{what} '{}': {e}", path.display()))
}

impl Driver {
    /// The live instance for `paths`, or a new one (loading state and reconnecting).
    pub fn instance(paths: Paths) -> Result<Arc<Driver>> {
        let mut reg = INSTANCES.lock().unwrap_or_else(PoisonError::into_inner);
        reg.retain(|(_, w)| w.strong_count() > 0);
        if let Some(d) = reg.iter().find(|(u, _)| *u == paths.uri).and_then(|(_, w)| w.upgrade()) {
            return Ok(d);
        }
        let drv = Driver::new(paths)?;
        reg.push((drv.paths.uri.clone(), Arc::downgrade(&drv)));
        drop(reg);
        drv.autostart();
        Ok(drv)
    }

    fn new(paths: Paths) -> Result<Arc<Driver>> {
        paths.create_all().map_err(|e| io_err("cannot create driver directories under", &paths.config_dir, e))?;
        let qemu_conf = qemuconf::QemuConf::load(&paths.qemu_conf)?;
        let cgroup_layout = if paths.privileged { oxvirt_util::cgroup::Layout::detect() } else { Default::default() };
        if paths.privileged {
            // libvirt's qemuStateInitialize: QEMU, running as qemu.conf's user, must
            // reach the per-domain directories below lib_dir.
            let (uid, gid) = (qemu_conf.user, qemu_conf.group);
            std::os::unix::fs::chown(&paths.lib_dir, Some(uid), Some(gid)).map_err(|e| {
                err(ErrorCode::SystemError, format!("unable to set ownership of '{}' to user {uid}:{gid}: {e}", paths.lib_dir.display()))
            })?;
        }
        let monitor_timeout = std::env::var(MONITOR_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(30));
        let (tx, rx) = mpsc::channel::<WorkerMsg>();
        let drv = Arc::new(Driver {
            paths,
            doms: Mutex::new(DomList::default()),
            bus: EventBus::new(),
            worker_tx: Mutex::new(tx),
            monitor_timeout,
            consoles: console::Sessions::default(),
            qemu_conf,
            cgroup_layout,
        });
        let weak = Arc::downgrade(&drv);
        std::thread::Builder::new()
            .name("qemu-events".into())
            .spawn(move || {
                while let Ok(msg) = rx.recv() {
                    let Some(d) = weak.upgrade() else { break };
                    d.handle_event(msg);
                }
            })
            .map_err(|e| err(ErrorCode::InternalError, format!("cannot start the event worker: {e}")))?;
        drv.load_configs();
        drv.reconnect_all();
        Ok(drv)
    }

    fn doms(&self) -> MutexGuard<'_, DomList> {
        self.doms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The event bus of this instance.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    fn emit(&self, obj: &DomObj, event: i32, detail: i32) {
        self.bus.emit(Event::Domain { dom: obj.dref(), data: DomainEventData::Lifecycle { event, detail } });
    }

    /// Parse a definition with the QEMU driver's rules: the binary's capabilities
    /// (probed when needed) and post-parse.
    pub fn parse_def(&self, xml: &str) -> Result<DomainDef> {
        // As libvirt and the offline tool: the driver's default devices (post-parse)
        // come before the implicit ones (virtio-serial, disk controllers), which
        // decides their order and so their PCI addresses.
        let mut def = DomainDef::parse_without_implicit(xml, &ParseOptions { driver: Some("qemu".into()), inactive: true })
            .map_err(|e| e.into_vir(ErrorDomain::Domain))?;
        self.prepare_def(&mut def)?;
        Ok(def)
    }

    fn emulator_of(def: &DomainDef) -> String {
        def.devices.emulator.clone().filter(|e| !e.is_empty()).unwrap_or_else(|| DEFAULT_EMULATOR.to_string())
    }

    fn prepare_def(&self, def: &mut DomainDef) -> Result<()> {
        let emulator = Self::emulator_of(def);
        let caps = capscache::lookup(&emulator, &self.paths.cache_dir)?;
        let mut caps = (*caps).clone();
        crate::postparse::post_parse(def, &mut caps, false)?;
        // Tunables are checked when the definition is parsed, as libvirt does.
        cgroups::Tunes::from_def(def)?;
        Ok(())
    }

    fn load_configs(&self) {
        let Ok(rd) = std::fs::read_dir(&self.paths.config_dir) else { return };
        let mut doms = self.doms();
        for entry in rd.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("xml") || !path.is_file() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            // Stored definitions already went through post-parse.
            let Ok(def) = DomainDef::parse(&text, &ParseOptions { driver: Some("qemu".into()), inactive: true }) else { continue };
            if path.file_stem().and_then(|s| s.to_str()) != Some(def.name.as_str()) {
                continue;
            }
            let mut obj = DomObj::new(def);
            obj.persistent = true;
            obj.autostart = self.paths.autostart_link(&obj.def.name).exists();
            doms.insert(obj);
        }
    }

    /// Take over every domain whose status file names a live QEMU.
    fn reconnect_all(self: &Arc<Self>) {
        let Ok(rd) = std::fs::read_dir(&self.paths.state_dir) else { return };
        let files: Vec<PathBuf> =
            rd.flatten().map(|e| e.path()).filter(|p| p.extension().and_then(|e| e.to_str()) == Some("xml") && p.is_file()).collect();
        for file in files {
            self.reconnect(&file);
        }
        // Devices QEMU released while the daemon was down (hotplug).
        let running: Vec<Uuid> = self.doms().iter().filter(|o| o.run.is_some()).map(|o| o.def.uuid).collect();
        for u in running {
            hotplug::reconcile(self, &u);
        }
    }

    fn reconnect(self: &Arc<Self>, file: &Path) {
        let st = match std::fs::read_to_string(file).map_err(|e| e.to_string()).and_then(|t| status::Status::parse(&t)) {
            Ok(s) => s,
            Err(_) => {
                let _ = std::fs::remove_file(file);
                return;
            }
        };
        let name = st.def.name.clone();
        let uuid = st.def.uuid;
        let id = st.def.id.unwrap_or(-1);
        let emulator = Self::emulator_of(&st.def);
        let alive = id >= 0 && process::is_alive(st.pid) && process::is_qemu_of(st.pid, &emulator, &name);
        let qmp = if alive {
            let tx = self.worker_sender();
            let cb: crate::qmp::EventCallback = Box::new(move |ev| {
                let _ = tx.send(WorkerMsg { uuid, id, ev });
            });
            crate::qmp::Qmp::connect(&st.monitor, self.monitor_timeout.min(Duration::from_secs(10)), cb).ok()
        } else {
            None
        };
        let mut doms = self.doms();
        let existing = doms.remove(&uuid);
        let (persistent, autostart, new_def) = match existing {
            Some(o) => (o.persistent, o.autostart, Some(o.persistent_def().clone())),
            None => (false, false, None),
        };
        let Some(qmp) = qmp else {
            // The QEMU died (or cannot be reached) while nobody watched it: libvirt
            // kills what is left and calls it crashed (the guest ran with -no-shutdown).
            if alive {
                let _ = process::terminate(st.pid, false, Duration::from_secs(3));
            }
            process::reap(st.pid);
            self.release_host(&st.def);
            remove_run_files(&self.paths, &name, &st.lib_dir, &st.monitor);
            if let Some(def) = new_def {
                let mut obj = DomObj::new(def);
                obj.persistent = persistent;
                obj.autostart = autostart;
                obj.reason = SHUTOFF_CRASHED;
                doms.insert(obj);
            }
            return;
        };
        let qmp = Arc::new(qmp);
        // The status file may be stale about paused/running: ask QEMU.
        let (state, reason) = match qmp.execute("query-status", None) {
            Ok(v) if v.get("running").and_then(|r| r.as_bool()) == Some(true) => {
                if st.state == DomainState::Running {
                    (st.state, st.reason)
                } else {
                    (DomainState::Running, reason::RUNNING_UNPAUSED)
                }
            }
            Ok(v) => {
                let status = v.get("status").and_then(|s| s.as_str()).unwrap_or("");
                if status == "shutdown" {
                    (DomainState::Shutdown, SHUTDOWN_UNKNOWN)
                } else if st.state == DomainState::Paused {
                    (st.state, st.reason)
                } else {
                    (DomainState::Paused, PAUSED_UNKNOWN)
                }
            }
            Err(_) => (st.state, st.reason),
        };
        let mut obj = DomObj::new(st.def);
        obj.persistent = persistent;
        obj.autostart = autostart;
        obj.new_def = if persistent { new_def } else { None };
        obj.state = state;
        obj.reason = reason;
        obj.run = Some(Run {
            pid: st.pid,
            monitor_path: st.monitor,
            lib_dir: st.lib_dir,
            qmp: Some(qmp),
            being_destroyed: false,
            expect_stop: 0,
            expect_resume: 0,
        });
        obj.id = id;
        // A guest that powered off while nobody watched: finish its shutdown now
        // (libvirt's reconnect does the same); the monitor's EOF then stops it.
        let finish_shutdown =
            state == DomainState::Shutdown && !matches!(obj.def.on_poweroff.as_str(), "preserve" | "restart" | "restart-renamed");
        doms.insert(obj);
        if let Some(o) = doms.get(&uuid) {
            self.save_status(o);
        }
        if finish_shutdown {
            let _ = process::signal(st.pid, nix::sys::signal::Signal::SIGTERM);
        }
    }

    fn worker_sender(&self) -> Sender<WorkerMsg> {
        self.worker_tx.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Autostart once per host boot (libvirt's `autostarted` marker in the state dir).
    fn autostart(self: &Arc<Self>) {
        let marker = self.paths.state_dir.join("autostarted");
        if marker.exists() {
            return;
        }
        let _ = std::fs::write(&marker, b"");
        let todo: Vec<Uuid> = self.doms().iter().filter(|o| o.autostart && !o.is_active()).map(|o| o.def.uuid).collect();
        for u in todo {
            let _ = self.start(&u, false, None);
        }
    }

    /// Write the persistent definition `def` to its config file, atomically.
    fn save_config(&self, def: &DomainDef) -> Result<()> {
        let file = self.paths.config_file(&def.name);
        let text = def.format(&oxvirt_conf::domain::FormatOptions { id: None, inactive: true, secure: true });
        oxvirt_util::fs::atomic_write(&file, text.as_bytes())
            .map_err(|e| Error::new(ErrorCode::SystemError, ErrorDomain::Qemu, format!("cannot write '{}': {e}", file.display())))
    }

    /// Write the status file of active `obj`.
    fn save_status(&self, obj: &DomObj) {
        let Some(run) = &obj.run else { return };
        let st = status::Status {
            state: obj.state,
            reason: obj.reason,
            pid: run.pid,
            monitor: run.monitor_path.clone(),
            lib_dir: run.lib_dir.clone(),
            def: obj.def.clone(),
        };
        let _ = oxvirt_util::fs::atomic_write(&self.paths.status_file(&obj.def.name), st.format().as_bytes());
    }

    /// Bring active `obj` to shut off: close the monitor, reap, remove run files, put
    /// the persistent definition back; a transient domain leaves the list. Emits
    /// STOPPED/`detail`.
    fn stop_locked(&self, doms: &mut DomList, u: &Uuid, why: i32, detail: i32) {
        let Some(obj) = doms.get_mut(u) else { return };
        if let Some(run) = obj.run.take() {
            drop(run.qmp);
            process::ensure_gone(run.pid);
            self.release_host(&obj.def);
            remove_run_files(&self.paths, &obj.def.name, &run.lib_dir, &run.monitor_path);
        }
        if let Some(nd) = obj.new_def.take() {
            obj.def = nd;
        }
        obj.def.id = None;
        obj.state = DomainState::Shutoff;
        obj.reason = why;
        doms.set_id(u, -1);
        if let Some(obj) = doms.get(u) {
            self.emit(obj, lc::STOPPED, detail);
            if !obj.persistent {
                // a transient domain's snapshot metadata goes with it.
                self.drop_snapshot_metadata(&obj.def.name);
                doms.remove(u);
            }
        }
    }

    /// The job lock of `u`, for a job on it.
    fn job_of(&self, u: &Uuid) -> Option<Arc<Mutex<()>>> {
        self.doms().get(u).map(|o| o.job.clone())
    }

    /// Apply one QMP event (or monitor EOF) to the domain it belongs to.
    fn handle_event(self: &Arc<Self>, msg: WorkerMsg) {
        // A detach waiting for this DEVICE_DELETED holds the job lock: hand it over.
        if msg.ev.name == "DEVICE_DELETED" && hotplug::claim_deleted(&msg.uuid, &msg.ev) {
            return;
        }
        let Some(job) = self.job_of(&msg.uuid) else { return };
        let _job = job.lock().unwrap_or_else(PoisonError::into_inner);
        if msg.ev.name == "DEVICE_DELETED" {
            hotplug::device_deleted(self, &msg.uuid, msg.id, &msg.ev);
            return;
        }
        lifecycle::apply_event(self, &msg.uuid, msg.id, &msg.ev);
    }

    /// Shut off active `u` now if its QEMU is gone (a synchronous EOF, so a query
    /// right after the process died already sees it).
    fn refresh(&self, u: &Uuid) {
        let mut doms = self.doms();
        let Some(obj) = doms.get(u) else { return };
        let Some(run) = &obj.run else { return };
        if run.being_destroyed || run.qmp.is_none() {
            return;
        }
        let closed = run.qmp.as_ref().is_some_and(|q| q.is_closed());
        if closed || !process::is_alive(run.pid) {
            let (why, detail) = if obj.state == DomainState::Shutdown {
                (reason::SHUTOFF_SHUTDOWN, lc::STOPPED_SHUTDOWN)
            } else {
                (SHUTOFF_CRASHED, lc::STOPPED_FAILED)
            };
            self.stop_locked(&mut doms, u, why, detail);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Guests outlive the driver: only the monitors close.
        let mut doms = self.doms.lock().unwrap_or_else(PoisonError::into_inner);
        let uuids: Vec<Uuid> = doms.iter().map(|o| o.def.uuid).collect();
        for u in uuids {
            if let Some(run) = doms.get_mut(&u).and_then(|o| o.run.as_mut()) {
                run.qmp = None;
            }
        }
    }
}

/// Remove what a run leaves behind: status file, monitor socket, private directory.
fn remove_run_files(paths: &Paths, name: &str, lib_dir: &Path, monitor: &Path) {
    let _ = std::fs::remove_file(paths.status_file(name));
    let _ = std::fs::remove_file(monitor);
    if lib_dir.starts_with(&paths.lib_dir) {
        let _ = std::fs::remove_dir_all(lib_dir);
    }
}
