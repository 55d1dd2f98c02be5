//! Starting and stopping QEMU, the lifecycle calls, and what QMP events do
//! (libvirt's `qemuProcessStart`, `qemuProcessStop`, `qemuProcessKill` and the
//! `qemuProcessHandle*` event handlers).

use super::cgroups::{self, Tunes};
use super::domobj::{DomObj, Expect, Run};
use super::{dac, err, process, Driver, WorkerMsg, PAUSED_STARTING_UP, PAUSED_UNKNOWN, SHUTDOWN_UNKNOWN, SHUTOFF_CRASHED};
use crate::postparse::Setup;
use crate::qmp::{Qmp, QmpEvent, MONITOR_EOF};
use oxvirt::event::lifecycle as lc;
use oxvirt::types::reason;
use oxvirt::{DomainEventData, DomainRef, DomainState, ErrorCode, Event, Result};
use oxvirt_conf::domain::DomainDef;
use oxvirt_util::uuid::Uuid;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

/// How long a new QEMU may take to open its monitor.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long destroy waits after SIGTERM before SIGKILL.
const TERM_WAIT: Duration = Duration::from_secs(3);

fn not_running() -> oxvirt::Error {
    oxvirt::Error::new(ErrorCode::OperationInvalid, oxvirt::ErrorDomain::Domain, "domain is not running")
}

/// Kills a half-started QEMU, gives back its host resources (file owners, cgroup)
/// and removes its files unless disarmed.
struct StartGuard<'a> {
    drv: &'a Driver,
    pid: Option<i32>,
    lib_dir: PathBuf,
    /// Set once the host was prepared for this definition.
    host: Option<DomainDef>,
    /// Taps made for this start (deleted when it fails).
    taps: Vec<String>,
}

impl Drop for StartGuard<'_> {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = process::terminate(pid, false, Duration::from_secs(1));
            process::reap(pid);
        }
        if let Some(def) = self.host.take() {
            self.drv.release_host(&def);
        }
        for tap in self.taps.drain(..) {
            super::net::delete_tap(&tap);
        }
        if !self.lib_dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.lib_dir);
        }
    }
}

/// Add `-kernel`/`-initrd`/`-append` for `<os><kernel>` (direct kernel boot) unless
/// the command-line builder already wrote them.
fn with_direct_boot(mut args: Vec<String>, def: &DomainDef) -> Vec<String> {
    if args.iter().any(|a| a == "-kernel") {
        return args;
    }
    let os = &def.os;
    for (opt, val) in [("-kernel", &os.kernel), ("-initrd", &os.initrd), ("-append", &os.cmdline)] {
        if let Some(v) = val.as_ref().filter(|v| !v.is_empty() && os.kernel.is_some()) {
            args.push(opt.to_string());
            args.push(v.clone());
        }
    }
    args
}

/// libvirt's `qemuPrepareChardevDevice`: a `file` chardev's output file is created
/// (mode 0600) before QEMU starts, so that it can be labelled and QEMU, possibly
/// running as another user, can open it.
fn prepare_chardev_files(def: &DomainDef) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    for c in def.devices.chardevs.iter().filter(|c| c.source.chr_type == "file") {
        let Some(path) = c.source.path.as_deref().filter(|p| !p.is_empty()) else { continue };
        if Path::new(path).exists() {
            continue;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| err(ErrorCode::SystemError, format!("Unable to pre-create chardev file '{path}': {e}")))?;
    }
    Ok(())
}

impl Driver {
    /// The cgroup of running `def` (privileged driver only).
    pub(super) fn domain_cgroup(&self, def: &DomainDef) -> Option<oxvirt_util::cgroup::Cgroup> {
        if !self.paths.privileged {
            return None;
        }
        let machine = cgroups::machine_name(self.paths.root.as_deref(), def.id.unwrap_or(-1), &def.name);
        let g = cgroups::domain_group(&self.cgroup_layout, &machine, |c| self.qemu_conf.controller_allowed(c));
        let used = g.controllers().next().is_some();
        used.then_some(g)
    }

    /// Give back what a run of `def` took from the host (libvirt's
    /// `qemuSecurityRestoreAllLabel` and `qemuRemoveCgroup` in `qemuProcessStop`):
    /// its cgroup goes, its files get their owners back. Called whoever notices the
    /// end — destroy, shutdown, a crash seen live or after a daemon restart.
    pub(super) fn release_host(&self, def: &DomainDef) {
        super::net::teardown(def);
        if !self.paths.privileged {
            return;
        }
        if let Some(g) = self.domain_cgroup(def) {
            cgroups::teardown(&g);
        }
        let Ok(label) = dac::domain_label(def, self.qemu_conf.user, self.qemu_conf.group) else { return };
        if self.qemu_conf.dynamic_ownership && label.relabel {
            dac::restore_labels(&self.paths.dac_store(), &dac::files_of(def), self.qemu_conf.remember_owner);
        }
    }
}

fn write_master_key(lib_dir: &Path) -> Result<()> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| err(ErrorCode::SystemError, format!("cannot read random bytes: {e}")))?;
    let path = lib_dir.join("master-key.aes");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| err(ErrorCode::SystemError, format!("cannot create '{}': {e}", path.display())))?;
    std::io::Write::write_all(&mut f, &key).map_err(|e| err(ErrorCode::SystemError, format!("cannot write '{}': {e}", path.display())))
}

/// Give every listening unix `<channel>` without a path one in the run's private
/// directory, named after its target (libvirt's `channelTargetDir` rule).
fn assign_channel_paths(def: &mut DomainDef, lib_dir: &Path) {
    for (n, c) in def.devices.chardevs.iter_mut().enumerate() {
        if c.device != "channel" || c.source.chr_type != "unix" || c.source.path.is_some() {
            continue;
        }
        let name = c.target.as_ref().and_then(|t| t.attrs.iter().find(|(k, _)| k == "name")).map(|(_, v)| v.clone());
        let file = name.unwrap_or_else(|| format!("channel{n}"));
        c.source.path = Some(lib_dir.join(file).display().to_string());
        c.source.listen = true;
    }
}

impl Driver {
    /// What the argv builder needs to know about this driver and `caps`' binary.
    fn run_setup(&self, caps: &crate::caps::QemuCaps) -> Setup {
        Setup {
            caps: caps.clone(),
            fake: false,
            conf: vec![("seccomp_sandbox".into(), self.qemu_conf.seccomp_sandbox.to_string())],
            host_arch: "x86_64".into(),
            inactive: false,
            migrate_from: None,
            migrate_fd: None,
            deterministic_ids: false,
        }
    }

    /// `virConnectDomainXMLToNative` with `qemu-argv`: the command line a start of
    /// `xml` would run (libvirt's pretend start: id -1, its private directory and
    /// sockets named as a real start names them, nothing created).
    pub(super) fn xml_to_native(&self, xml: &str) -> Result<String> {
        let mut def = self.parse_def(xml)?;
        let caps = super::capscache::lookup(&Driver::emulator_of(&def), &self.paths.cache_dir)?;
        def.id = Some(-1);
        let lib_dir = self.paths.domain_lib_dir(-1, &def.name);
        let monitor = lib_dir.join("monitor.sock");
        assign_channel_paths(&mut def, &lib_dir);
        let mut cmd = crate::command::build(&def, &self.run_setup(&caps), &crate::command::RunPaths::real(&lib_dir, &monitor))?;
        cmd.args = with_direct_boot(cmd.args, &def);
        cmd.env = process::sanitized_env(&lib_dir);
        Ok(cmd.to_line())
    }

    /// Start inactive domain `u` (its persistent definition, or `live` for a
    /// create-from-XML), paused when `paused`. Returns its new reference.
    pub(super) fn start(self: &Arc<Self>, u: &Uuid, paused: bool, live: Option<DomainDef>) -> Result<DomainRef> {
        // A managed save image is restored instead of a boot (save.rs).
        if live.is_none() {
            if let Some(r) = self.start_managed(u, paused) {
                return r;
            }
        }
        self.start_restoring(u, paused, live, None)
    }

    /// [`Driver::start`]; with `incoming` (a restore) QEMU loads the saved state and
    /// the guest is resumed only when it was running and `paused` is false.
    pub(super) fn start_restoring(
        self: &Arc<Self>,
        u: &Uuid,
        paused: bool,
        live: Option<DomainDef>,
        incoming: Option<super::save::Incoming>,
    ) -> Result<DomainRef> {
        self.start_full(u, paused, live, incoming, None)
    }

    /// [`Driver::start_restoring`]; with `revert` the start is a snapshot
    /// revert's: QEMU loads the snapshot's state with `-loadvm NAME` when it has one,
    /// and the states and events are libvirt's for a revert (snapshot.rs).
    pub(super) fn start_full(
        self: &Arc<Self>,
        u: &Uuid,
        paused: bool,
        live: Option<DomainDef>,
        incoming: Option<super::save::Incoming>,
        revert: Option<super::snapshot::RevertStart<'_>>,
    ) -> Result<DomainRef> {
        let job = self.job_of(u).ok_or_else(|| err(ErrorCode::NoDomain, "no domain with matching uuid"))?;
        let _job = job.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut def, persistent) = {
            let doms = self.doms();
            let obj = doms.get(u).ok_or_else(|| err(ErrorCode::NoDomain, "no domain with matching uuid"))?;
            if obj.is_active() {
                return Err(err(ErrorCode::OperationInvalid, "domain is already running"));
            }
            (live.unwrap_or_else(|| obj.persistent_def().clone()), obj.persistent)
        };
        let emulator = Driver::emulator_of(&def);
        let caps = super::capscache::lookup(&emulator, &self.paths.cache_dir)?;
        let tunes = Tunes::from_def(&def)?;
        let label = if self.paths.privileged {
            Some(dac::domain_label(&def, self.qemu_conf.user, self.qemu_conf.group)?)
        } else {
            tunes.check_session()?;
            None
        };
        let id = self.doms().alloc_id();
        def.id = Some(id);
        let name = def.name.clone();
        let lib_dir = self.paths.domain_lib_dir(id, &name);
        let monitor = lib_dir.join("monitor.sock");
        let log = self.paths.log_file(&name);
        let _ = std::fs::remove_dir_all(&lib_dir);
        std::fs::create_dir_all(&lib_dir)
            .map_err(|e| err(ErrorCode::SystemError, format!("cannot create '{}': {e}", lib_dir.display())))?;
        let mut guard = StartGuard { drv: self, pid: None, lib_dir: lib_dir.clone(), host: None, taps: Vec::new() };
        let creds = label.as_ref().map(|l| (l.uid, l.gid));
        if let Some((uid, gid)) = creds {
            // QEMU creates its monitor and channel sockets here, as its user.
            dac::set_path_owner(&lib_dir, uid, gid)?;
        }
        if monitor.as_os_str().len() >= 108 {
            return Err(err(ErrorCode::InternalError, format!("monitor socket path '{}' is too long", monitor.display())));
        }
        assign_channel_paths(&mut def, &lib_dir);
        let mut setup = self.run_setup(&caps);
        if incoming.is_some() {
            setup.migrate_from = Some("defer".into());
        }
        // Check the whole command line before any tap is made, then build it again
        // with the taps' names.
        crate::command::build(&def, &setup, &crate::command::RunPaths::real(&lib_dir, &monitor))?;
        super::net::prepare(&mut def, creds, &mut guard.taps)?;
        let cmd = crate::command::build(&def, &setup, &crate::command::RunPaths::real(&lib_dir, &monitor))?;
        let mut args = with_direct_boot(cmd.args, &def);
        if let Some(snap) = revert.and_then(|r| r.loadvm) {
            // libvirt's qemuBuildCommandLine adds `-loadvm` for a revert.
            args.extend(["-loadvm".to_string(), snap.to_string()]);
        }
        write_master_key(&lib_dir)?;
        prepare_chardev_files(&def)?;
        if let Some(l) = &label {
            dac::set_path_owner(&lib_dir.join("master-key.aes"), l.uid, l.gid)?;
            if self.qemu_conf.dynamic_ownership && l.relabel {
                dac::set_labels(&self.paths.dac_store(), &dac::files_of(&def), l.uid, l.gid, self.qemu_conf.remember_owner)?;
            }
            guard.host = Some(def.clone());
            dac::add_live_label(&mut def, l);
        }
        let env = process::sanitized_env(&lib_dir);
        let spawned = process::spawn_as(&emulator, &args, &env, &log, creds)?;
        guard.pid = Some(spawned.pid);
        let group = self.domain_cgroup(&def);
        if let Some(g) = &group {
            // Without tunables a host whose cgroups cannot be written (a container's
            // read-only cgroupfs) runs the guest without a group, as libvirt does
            // when it cannot create one.
            if let Err(e) = cgroups::setup(g, &self.cgroup_layout, &tunes, spawned.pid) {
                if !tunes.is_empty() {
                    return Err(e);
                }
            }
        }
        let tx = self.worker_sender();
        let uuid = *u;
        let cb: crate::qmp::EventCallback = Box::new(move |ev| {
            let _ = tx.send(WorkerMsg { uuid, id, ev });
        });
        let qmp = process::connect_monitor(spawned.pid, &monitor, &log, spawned.log_offset, START_TIMEOUT, self.monitor_timeout, cb)
            .map_err(|e| err(ErrorCode::InternalError, format!("QEMU failed to start: {e}")))?;
        let qmp = Arc::new(qmp);
        // enabled hotpluggable vCPUs of <vcpus> are added now, as libvirt does.
        super::tune::setup_hotpluggable_vcpus(&def, &qmp)?;
        if let Some(g) = group.as_ref().filter(|g| g.exists()) {
            if let Err(e) = cgroups::place_vcpus(g, &self.cgroup_layout, &tunes, &qmp) {
                if !tunes.is_empty() {
                    return Err(e);
                }
            }
        }
        // the balloon starts at <currentMemory> (libvirt's qemuProcessSetupBalloon);
        // <vcpupin>/<emulatorpin> become the threads' affinity.
        super::tune::setup_balloon(&def, &qmp)?;
        super::tune::apply_pins(&def, spawned.pid, &qmp)?;
        if def.devices.chardevs.iter().any(|c| c.source.chr_type == "pty") {
            // Where QEMU put the ptys: the live XML shows them, consoles open them.
            let chardevs =
                qmp.execute("query-chardev", None).map_err(|e| err(ErrorCode::InternalError, format!("cannot find the pty paths: {e}")))?;
            super::console::assign_pty_paths(&mut def, &chardevs);
        }
        if let Some(inc) = &incoming {
            super::save::load_incoming(&qmp, inc).map_err(|e| match qmp.is_closed() {
                true => err(
                    ErrorCode::OperationFailed,
                    format!("QEMU failed to load the saved state: {}", process::log_tail(&log, spawned.log_offset)),
                ),
                false => e,
            })?;
        }
        // A restore resumes the guest only when it was running (libvirt's
        // qemuSaveImageStartVM).
        let resume = !paused && incoming.as_ref().is_none_or(|i| i.was_running);
        {
            let mut doms = self.doms();
            let obj = doms.get_mut(u).ok_or_else(|| err(ErrorCode::NoDomain, "domain disappeared while starting"))?;
            if persistent {
                obj.new_def = Some(obj.def.clone());
            }
            obj.def = def;
            obj.state = DomainState::Paused;
            obj.reason = PAUSED_STARTING_UP;
            obj.run = Some(Run {
                pid: spawned.pid,
                monitor_path: monitor.clone(),
                lib_dir: lib_dir.clone(),
                qmp: Some(qmp.clone()),
                being_destroyed: false,
                expect_stop: 0,
                expect_resume: u32::from(resume),
            });
            doms.set_id(u, id);
        }
        guard.pid = None;
        guard.lib_dir = PathBuf::new();
        guard.host = None;
        guard.taps.clear();
        let resumed = if resume { qmp.execute("cont", None) } else { Ok(Value::Null) };
        let mut doms = self.doms();
        if let Err(e) = resumed {
            if let Some(run) = doms.get_mut(u).and_then(|o| o.run.as_mut()) {
                run.being_destroyed = true;
            }
            drop(doms);
            let _ = process::terminate(spawned.pid, false, Duration::from_secs(1));
            let mut doms = self.doms();
            self.stop_locked(&mut doms, u, super::SHUTOFF_FAILED, lc::STOPPED_FAILED);
            return Err(e.into());
        }
        let obj = doms.get_mut(u).ok_or_else(|| err(ErrorCode::NoDomain, "domain disappeared while starting"))?;
        if let Some(r) = revert {
            // libvirt's qemuSnapshotRevertActive / qemuSnapshotRevertInactive.
            (obj.state, obj.reason) = match (resume, r.loadvm.is_some()) {
                (true, true) => (DomainState::Running, reason::RUNNING_FROM_SNAPSHOT),
                (true, false) => (DomainState::Running, reason::RUNNING_BOOTED),
                (false, true) => (DomainState::Paused, reason::PAUSED_FROM_SNAPSHOT),
                (false, false) => (DomainState::Paused, reason::PAUSED_USER),
            };
            let obj = &*obj;
            self.save_status(obj);
            if resume && r.loadvm.is_none() {
                self.emit(obj, lc::RESUMED, lc::RESUMED_UNPAUSED);
            }
            self.emit(obj, lc::STARTED, lc::STARTED_FROM_SNAPSHOT);
            if !resume {
                self.emit(obj, lc::SUSPENDED, lc::SUSPENDED_FROM_SNAPSHOT);
            } else if r.loadvm.is_some() {
                self.emit(obj, lc::RESUMED, lc::RESUMED_FROM_SNAPSHOT);
            }
            return Ok(obj.dref());
        }
        if incoming.is_some() {
            // libvirt: STARTED/RESTORED, then RESUMED (detail from-snapshot, its
            // mapping of the `restored` reason) or SUSPENDED/RESTORED (PAUSED when
            // the caller asked for a paused guest).
            (obj.state, obj.reason) = if resume {
                (DomainState::Running, reason::RUNNING_RESTORED)
            } else {
                (DomainState::Paused, super::save::PAUSED_MIGRATION)
            };
            let obj = &*obj;
            self.save_status(obj);
            self.emit(obj, lc::STARTED, lc::STARTED_RESTORED);
            match (resume, paused) {
                (true, _) => self.emit(obj, lc::RESUMED, lc::RESUMED_FROM_SNAPSHOT),
                (false, true) => self.emit(obj, lc::SUSPENDED, lc::SUSPENDED_PAUSED),
                (false, false) => self.emit(obj, lc::SUSPENDED, lc::SUSPENDED_RESTORED),
            }
            return Ok(obj.dref());
        }
        if paused {
            obj.state = DomainState::Paused;
            obj.reason = reason::PAUSED_USER;
        } else {
            obj.state = DomainState::Running;
            obj.reason = reason::RUNNING_BOOTED;
        }
        let obj = &*obj;
        self.save_status(obj);
        if !paused {
            // libvirt reports the initial `cont` (QEMU's RESUME) before STARTED.
            self.emit(obj, lc::RESUMED, lc::RESUMED_UNPAUSED);
        }
        self.emit(obj, lc::STARTED, lc::STARTED_BOOTED);
        if paused {
            self.emit(obj, lc::SUSPENDED, lc::SUSPENDED_PAUSED);
        }
        Ok(obj.dref())
    }

    /// `virDomainDestroyFlags`: SIGTERM, then SIGKILL unless `graceful`.
    pub(super) fn destroy(&self, d: &DomainRef, graceful: bool) -> Result<()> {
        let job = self.job_of(&d.uuid).ok_or_else(|| super::domobj::no_domain_ref(d))?;
        let _job = job.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = {
            let mut doms = self.doms();
            let obj = doms.by_ref_mut(d)?;
            let run = obj.run.as_mut().ok_or_else(not_running)?;
            run.being_destroyed = true;
            run.pid
        };
        let gone = process::terminate_how(pid, graceful, TERM_WAIT);
        let mut doms = self.doms();
        match gone {
            Ok(Some(how)) => {
                if how == process::Ended::Term {
                    // QEMU answers SIGTERM with a host-initiated SHUTDOWN before it
                    // exits; libvirt reports it (SHUTDOWN/HOST, then STOPPED/DESTROYED).
                    if let Some(obj) = doms.get_mut(&d.uuid) {
                        self.emit(obj, lc::SHUTDOWN, lc::SHUTDOWN_HOST);
                    }
                }
                self.stop_locked(&mut doms, &d.uuid, reason::SHUTOFF_DESTROYED, lc::STOPPED_DESTROYED);
                Ok(())
            }
            other => {
                if let Some(run) = doms.get_mut(&d.uuid).and_then(|o| o.run.as_mut()) {
                    run.being_destroyed = false;
                }
                match other {
                    Err(e) => Err(e.into()),
                    _ => Err(err(ErrorCode::OperationFailed, format!("Failed to terminate process {pid} with SIGTERM"))),
                }
            }
        }
    }

    /// Run `f` with the monitor of active `d` under its job lock, then update the
    /// object with `after` (under the list lock) and save its status file.
    pub(super) fn monitor_job<T>(
        &self,
        d: &DomainRef,
        expect: Expect,
        check: impl FnOnce(&DomObj) -> Result<()>,
        f: impl FnOnce(&Qmp) -> crate::error::Result<T>,
        after: impl FnOnce(&Driver, &mut DomObj),
    ) -> Result<T> {
        self.monitor_run(d, expect, check, f, Some(after))
    }

    /// [`Driver::monitor_job`] for a command that changes nothing the daemon records
    /// (queries, resets, key presses): no update, no status file write.
    pub(super) fn monitor_query<T>(
        &self,
        d: &DomainRef,
        expect: Expect,
        check: impl FnOnce(&DomObj) -> Result<()>,
        f: impl FnOnce(&Qmp) -> crate::error::Result<T>,
    ) -> Result<T> {
        self.monitor_run(d, expect, check, f, None::<fn(&Driver, &mut DomObj)>)
    }

    fn monitor_run<T>(
        &self,
        d: &DomainRef,
        expect: Expect,
        check: impl FnOnce(&DomObj) -> Result<()>,
        f: impl FnOnce(&Qmp) -> crate::error::Result<T>,
        after: Option<impl FnOnce(&Driver, &mut DomObj)>,
    ) -> Result<T> {
        let job = self.job_of(&d.uuid).ok_or_else(|| super::domobj::no_domain_ref(d))?;
        let _job = job.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&d.uuid);
        let qmp = {
            let mut doms = self.doms();
            let obj = doms.by_ref_mut(d)?;
            let qmp = obj.run.as_ref().and_then(|r| r.qmp.clone()).ok_or_else(not_running)?;
            check(obj)?;
            if let Some(run) = obj.run.as_mut() {
                run.expect(expect, true);
            }
            qmp
        };
        let out = f(&qmp);
        let mut doms = self.doms();
        let out = match out {
            Ok(v) => v,
            Err(e) => {
                if let Some(run) = doms.get_mut(&d.uuid).and_then(|o| o.run.as_mut()) {
                    run.expect(expect, false);
                }
                return Err(e.into());
            }
        };
        if let (Ok(obj), Some(after)) = (doms.by_ref_mut(d), after) {
            if obj.is_active() {
                after(self, obj);
                self.save_status(obj);
            }
        }
        Ok(out)
    }
}

/// What a QMP event (or the end of the monitor) does to domain `u`'s run `id`.
pub(super) fn apply_event(drv: &Arc<Driver>, u: &Uuid, id: i32, ev: &QmpEvent) {
    let mut doms = drv.doms();
    let Some(obj) = doms.get_mut(u) else { return };
    if obj.id != id {
        return;
    }
    let Some(run) = obj.run.as_ref() else { return };
    let (being_destroyed, pid, qmp) = (run.being_destroyed, run.pid, run.qmp.clone());
    if being_destroyed {
        // Whatever QEMU says while dying is the destroy's business.
        return;
    }
    match ev.name.as_str() {
        MONITOR_EOF => {
            let (why, detail) = if obj.state == DomainState::Shutdown {
                (reason::SHUTOFF_SHUTDOWN, lc::STOPPED_SHUTDOWN)
            } else {
                (SHUTOFF_CRASHED, lc::STOPPED_FAILED)
            };
            // Make sure the process is really gone before its files go.
            drop(doms);
            let _ = process::terminate(pid, false, Duration::from_secs(1));
            let mut doms = drv.doms();
            if doms.get(u).is_some_and(|o| o.id == id) {
                drv.stop_locked(&mut doms, u, why, detail);
            }
        }
        "SHUTDOWN" => {
            if obj.state == DomainState::Shutdown {
                return;
            }
            obj.state = DomainState::Shutdown;
            obj.reason = SHUTDOWN_UNKNOWN;
            let detail = match ev.data.get("guest").and_then(Value::as_bool) {
                Some(true) => lc::SHUTDOWN_GUEST,
                Some(false) => lc::SHUTDOWN_HOST,
                None => lc::SHUTDOWN_FINISHED,
            };
            let is_reboot = ev.data.get("reason").and_then(Value::as_str) == Some("guest-reset");
            let action = if is_reboot { obj.def.on_reboot.clone() } else { obj.def.on_poweroff.clone() };
            drv.emit(obj, lc::SHUTDOWN, detail);
            drv.save_status(obj);
            drop(doms);
            match action.as_str() {
                "preserve" => {}
                "restart" | "restart-renamed" => {
                    if let Some(q) = qmp {
                        let ok = q.execute("system_reset", None).and_then(|_| q.execute("cont", None));
                        let mut doms = drv.doms();
                        if let Some(o) = doms.get_mut(u).filter(|o| o.id == id) {
                            if ok.is_ok() {
                                o.state = DomainState::Running;
                                o.reason = reason::RUNNING_BOOTED;
                                drv.save_status(o);
                            }
                        }
                    }
                }
                _ => {
                    // The EOF that follows reports STOPPED/SHUTDOWN.
                    let _ = process::signal(pid, nix::sys::signal::Signal::SIGTERM);
                }
            }
        }
        "STOP" if obj.run.as_ref().is_some_and(|r| r.expect_stop > 0) => {
            if let Some(r) = obj.run.as_mut() {
                r.expect(Expect::Stop, false);
            }
        }
        "RESUME" if obj.run.as_ref().is_some_and(|r| r.expect_resume > 0) => {
            if let Some(r) = obj.run.as_mut() {
                r.expect(Expect::Resume, false);
            }
        }
        "STOP" if obj.state == DomainState::Running => {
            obj.state = DomainState::Paused;
            obj.reason = PAUSED_UNKNOWN;
            drv.emit(obj, lc::SUSPENDED, lc::SUSPENDED_PAUSED);
            drv.save_status(obj);
        }
        "RESUME" if obj.state == DomainState::Paused => {
            obj.state = DomainState::Running;
            obj.reason = reason::RUNNING_UNPAUSED;
            drv.emit(obj, lc::RESUMED, lc::RESUMED_UNPAUSED);
            drv.save_status(obj);
        }
        "RESET" => {
            drv.bus.emit(Event::Domain { dom: obj.dref(), data: DomainEventData::Reboot });
        }
        // the live <currentMemory> follows the balloon.
        "BALLOON_CHANGE" => {
            super::tune::balloon_changed(drv, obj, &ev.data);
            // and the event to clients.
            super::pm::balloon_event(drv, obj, &ev.data);
        }
        // guest power management.
        "SUSPEND" => super::pm::suspended(drv, obj, false),
        "SUSPEND_DISK" => super::pm::suspended(drv, obj, true),
        "WAKEUP" => super::pm::woke_up(drv, obj),
        _ => {}
    }
}
