//! The live driver against the real `qemu-system-x86_64`, in a private
//! `qemu:///embed?root=...` tree. Guests are `<domain type='qemu'>` (TCG) without a
//! kernel: SeaBIOS idling is enough for lifecycle tests. Every test kills what it
//! started in a Drop guard and checks that no process, socket or run file is left.

use oxvirt::event::{domain_event_id, lifecycle as lc};
use oxvirt::{
    Connect, DomainCreateFlags, DomainDestroyFlags, DomainEventData, DomainState, DomainUndefineFlags, DomainXmlFlags, ErrorCode,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

fn have_qemu() -> bool {
    if Path::new(QEMU).exists() {
        return true;
    }
    // scripts/test.sh installs QEMU (Debian qemu-system-x86); a missing emulator is a
    // broken setup, never a reason to pass.
    panic!("{QEMU} is missing: install qemu-system-x86 (scripts/test.sh does)")
}

/// A private embed root; on drop, kills every QEMU whose command line names it and
/// removes the tree.
struct Root {
    dir: PathBuf,
}

impl Root {
    fn new(tag: &str) -> Root {
        let dir = std::env::temp_dir().join(format!("oxq-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Root { dir }
    }

    fn uri(&self) -> String {
        format!("qemu:///embed?root={}", self.dir.display())
    }

    fn open(&self) -> Connect {
        oxvirt_driver_qemu::register();
        Connect::open(Some(&self.uri())).unwrap()
    }

    /// Pids of QEMUs started below this root.
    fn qemu_pids(&self) -> Vec<i32> {
        let needle = self.dir.display().to_string();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            let cmd = String::from_utf8_lossy(&cmd);
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().starts_with('Z')))
                .unwrap_or(true);
            if cmd.contains("qemu-system") && cmd.contains(&needle) && !zombie {
                out.push(pid);
            }
        }
        out
    }

    /// Files left in the run-time directories (state dir, per-domain dirs).
    fn run_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["run/qemu", "lib/qemu"] {
            if let Ok(rd) = std::fs::read_dir(self.dir.join(sub)) {
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if n != "autostarted" {
                        out.push(format!("{sub}/{n}"));
                    }
                }
            }
        }
        out
    }

    fn assert_clean(&self) {
        assert_eq!(self.qemu_pids(), Vec::<i32>::new(), "QEMU processes left behind");
        assert_eq!(self.run_files(), Vec::<String>::new(), "run files left behind");
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        for pid in self.qemu_pids() {
            let _ = std::process::Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn domain_xml(name: &str) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices><emulator>{QEMU}</emulator></devices>
</domain>"
    )
}

type Events = Arc<Mutex<Vec<(String, i32, i32)>>>;

fn record_events(c: &Connect) -> Events {
    let ev: Events = Arc::new(Mutex::new(Vec::new()));
    let e = ev.clone();
    c.domain_event_register_any(None, domain_event_id::LIFECYCLE, move |d, data| {
        if let DomainEventData::Lifecycle { event, detail } = data {
            e.lock().unwrap().push((d.name().to_string(), *event, *detail));
        }
    })
    .unwrap();
    ev
}

/// Wait until `events` holds `want` (in order), or fail after a few seconds.
fn wait_events(events: &Events, want: &[(i32, i32)]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got: Vec<(i32, i32)> = events.lock().unwrap().iter().map(|(_, e, d)| (*e, *d)).collect();
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline && got.len() <= want.len(), "events {got:?}, expected {want:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `pid` is gone and reaped (no zombie left: these QEMUs are our children).
fn reaped(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn pid_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')))
            .unwrap_or(true)
}

#[test]
fn define_start_suspend_resume_destroy_undefine() {
    if !have_qemu() {
        return;
    }
    let root = Root::new("life");
    let c = root.open();
    let events = record_events(&c);
    let d = c.domain_define_xml(&domain_xml("life"), Default::default()).unwrap();
    assert!(root.dir.join("etc/qemu/life.xml").exists());
    assert_eq!(d.state().unwrap(), (DomainState::Shutoff, 0));
    assert!(d.is_persistent().unwrap());
    assert!(!d.is_active().unwrap());
    // The stored definition went through the driver's rules (machine expanded).
    let inactive = d.xml_desc(DomainXmlFlags::empty()).unwrap();
    assert!(inactive.contains("machine='pc-i440fx-"), "{inactive}");

    d.create(DomainCreateFlags::empty()).unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Running, 1));
    let id = d.id().unwrap();
    assert!(id >= 1);
    assert_eq!(c.domain_lookup_by_id(id as i32).unwrap().name(), "life");
    let live = d.xml_desc(DomainXmlFlags::empty()).unwrap();
    assert!(live.contains(&format!("<domain type='qemu' id='{id}'>")), "{live}");
    let info = d.info().unwrap();
    assert_eq!((info.state, info.max_mem_kib, info.nr_virt_cpu), (DomainState::Running, 65536, 1));
    assert_eq!(d.max_memory().unwrap(), 65536);
    let status = std::fs::read_to_string(root.dir.join("run/qemu/life.xml")).unwrap();
    assert!(status.starts_with("<domstatus state='running' reason='booted' pid='"), "{status}");
    let pids = root.qemu_pids();
    assert_eq!(pids.len(), 1);
    assert!(status.contains(&format!("pid='{}'", pids[0])));
    // QEMU's environment is the sanitized one.
    let env = std::fs::read(format!("/proc/{}/environ", pids[0])).unwrap();
    let env = String::from_utf8_lossy(&env);
    assert!(env.contains("LC_ALL=C") && env.contains("HOME=") && !env.contains("CARGO"), "{env}");

    d.suspend().unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Paused, 1));
    d.resume().unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Running, 5));

    d.destroy(DomainDestroyFlags::empty()).unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Shutoff, 2));
    assert!(reaped(pids[0]));
    root.assert_clean();

    d.create(DomainCreateFlags::START_PAUSED).unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Paused, 1));
    d.destroy(DomainDestroyFlags::GRACEFUL).unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Shutoff, 2));
    d.undefine(DomainUndefineFlags::empty()).unwrap();
    assert!(!root.dir.join("etc/qemu/life.xml").exists());
    assert_eq!(c.domain_lookup_by_name("life").err().map(|e| e.code), Some(ErrorCode::NoDomain));
    wait_events(
        &events,
        &[
            (lc::DEFINED, lc::DEFINED_ADDED),
            // As libvirt: the initial `cont` is reported before STARTED, and QEMU's
            // host-initiated SHUTDOWN (its answer to SIGTERM) before STOPPED.
            (lc::RESUMED, lc::RESUMED_UNPAUSED),
            (lc::STARTED, lc::STARTED_BOOTED),
            (lc::SUSPENDED, lc::SUSPENDED_PAUSED),
            (lc::RESUMED, lc::RESUMED_UNPAUSED),
            (lc::SHUTDOWN, lc::SHUTDOWN_HOST),
            (lc::STOPPED, lc::STOPPED_DESTROYED),
            (lc::STARTED, lc::STARTED_BOOTED),
            (lc::SUSPENDED, lc::SUSPENDED_PAUSED),
            (lc::SHUTDOWN, lc::SHUTDOWN_HOST),
            (lc::STOPPED, lc::STOPPED_DESTROYED),
            (lc::UNDEFINED, lc::UNDEFINED_REMOVED),
        ],
    );
    root.assert_clean();
}

fn kill(pid: i32, sig: &str) {
    assert!(std::process::Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap().success());
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_restarted_driver_reconnects_and_controls_the_guest() {
    if !have_qemu() {
        return;
    }
    let root = Root::new("reco");
    let c1 = root.open();
    let d = c1.domain_define_xml(&domain_xml("reco"), Default::default()).unwrap();
    d.create(DomainCreateFlags::empty()).unwrap();
    let id = d.id().unwrap();
    let pids = root.qemu_pids();
    assert_eq!(pids.len(), 1);
    drop(d);
    drop(c1);
    // The driver is gone (once its event worker let go of it), the guest is not.
    wait_until("the driver to close", || !oxvirt_driver_qemu::runtime::instance_is_open(&root.uri()));
    assert!(pid_alive(pids[0]));
    assert!(root.dir.join("run/qemu/reco.xml").exists());

    let c2 = root.open();
    let events = record_events(&c2);
    let d = c2.domain_lookup_by_name("reco").unwrap();
    assert_eq!(d.id(), Some(id));
    assert_eq!(d.state().unwrap(), (DomainState::Running, 1));
    assert!(d.is_persistent().unwrap());
    d.suspend().unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Paused, 1));
    // A new start gets a fresh id.
    let d2 = c2.domain_define_xml(&domain_xml("reco2"), Default::default()).unwrap();
    d2.create(DomainCreateFlags::empty()).unwrap();
    assert!(d2.id().unwrap() > id);
    d2.destroy(DomainDestroyFlags::empty()).unwrap();
    d2.undefine(DomainUndefineFlags::empty()).unwrap();
    d.destroy(DomainDestroyFlags::empty()).unwrap();
    assert!(reaped(pids[0]));
    wait_events(
        &events,
        &[
            (lc::SUSPENDED, lc::SUSPENDED_PAUSED),
            (lc::DEFINED, lc::DEFINED_ADDED),
            (lc::RESUMED, lc::RESUMED_UNPAUSED),
            (lc::STARTED, lc::STARTED_BOOTED),
            (lc::SHUTDOWN, lc::SHUTDOWN_HOST),
            (lc::STOPPED, lc::STOPPED_DESTROYED),
            (lc::UNDEFINED, lc::UNDEFINED_REMOVED),
            (lc::SHUTDOWN, lc::SHUTDOWN_HOST),
            (lc::STOPPED, lc::STOPPED_DESTROYED),
        ],
    );
    root.assert_clean();
    d.undefine(DomainUndefineFlags::empty()).unwrap();
}

#[test]
fn qemu_killed_behind_the_drivers_back_is_shut_off_as_crashed() {
    if !have_qemu() {
        return;
    }
    let root = Root::new("kill");
    let c = root.open();
    let events = record_events(&c);
    let d = c.domain_define_xml(&domain_xml("kill"), Default::default()).unwrap();
    d.create(DomainCreateFlags::empty()).unwrap();
    let pid = root.qemu_pids()[0];
    kill(pid, "KILL");
    wait_until("the process to die", || !pid_alive(pid));
    // The very next query sees it.
    assert_eq!(d.state().unwrap(), (DomainState::Shutoff, 3));
    assert!(reaped(pid));
    assert!(!d.is_active().unwrap());
    wait_events(
        &events,
        &[
            (lc::DEFINED, lc::DEFINED_ADDED),
            (lc::RESUMED, lc::RESUMED_UNPAUSED),
            (lc::STARTED, lc::STARTED_BOOTED),
            (lc::STOPPED, lc::STOPPED_FAILED),
        ],
    );
    root.assert_clean();

    // Killed while no driver watched: the next driver shuts it off as crashed.
    d.create(DomainCreateFlags::empty()).unwrap();
    let pid = root.qemu_pids()[0];
    drop(d);
    drop(c);
    kill(pid, "KILL");
    wait_until("the process to die", || !pid_alive(pid));
    let c = root.open();
    let d = c.domain_lookup_by_name("kill").unwrap();
    assert_eq!(d.state().unwrap(), (DomainState::Shutoff, 3));
    assert!(reaped(pid));
    root.assert_clean();
    d.undefine(DomainUndefineFlags::empty()).unwrap();
}

#[test]
fn sigterm_from_outside_is_a_host_shutdown() {
    if !have_qemu() {
        return;
    }
    let root = Root::new("term");
    let c = root.open();
    let events = record_events(&c);
    let d = c.domain_create_xml(&domain_xml("term"), DomainCreateFlags::empty()).unwrap();
    assert!(!d.is_persistent().unwrap());
    let pid = root.qemu_pids()[0];
    kill(pid, "TERM");
    wait_events(
        &events,
        &[
            (lc::RESUMED, lc::RESUMED_UNPAUSED),
            (lc::STARTED, lc::STARTED_BOOTED),
            (lc::SHUTDOWN, lc::SHUTDOWN_HOST),
            (lc::STOPPED, lc::STOPPED_SHUTDOWN),
        ],
    );
    // Transient: gone with its process.
    assert_eq!(c.domain_lookup_by_name("term").err().map(|e| e.code), Some(ErrorCode::NoDomain));
    root.assert_clean();
}

#[test]
fn a_missing_emulator_is_a_clear_error() {
    let root = Root::new("noemu");
    let c = root.open();
    let xml = domain_xml("noemu").replace(QEMU, "/nonexistent/qemu-system-x86_64");
    let e = c.domain_define_xml(&xml, Default::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::SystemError);
    assert!(e.message.contains("Cannot check QEMU binary /nonexistent/qemu-system-x86_64"), "{}", e.message);
    let e = c.domain_create_xml(&xml, DomainCreateFlags::empty()).unwrap_err();
    assert!(e.message.contains("/nonexistent/qemu-system-x86_64"), "{}", e.message);
    assert!(c.list_all_domains(Default::default()).unwrap().is_empty());
}

#[test]
fn a_qemu_that_fails_to_start_reports_its_log() {
    if !have_qemu() {
        return;
    }
    let root = Root::new("fail");
    // Probes go to the real QEMU; a guest start fails like a bad configuration would.
    let wrapper = root.dir.join("qemu-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \"$*\" in *'-machine none'*) exec {QEMU} \"$@\";; esac\necho 'qemu-system-x86_64: simulated failure: no such device' >&2\nexit 1\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let c = root.open();
    let xml = domain_xml("fail").replace(QEMU, &wrapper.display().to_string());
    let d = c.domain_define_xml(&xml, Default::default()).unwrap();
    let e = d.create(DomainCreateFlags::empty()).unwrap_err();
    assert_eq!(e.code, ErrorCode::InternalError);
    assert!(e.message.contains("simulated failure: no such device"), "{}", e.message);
    assert_eq!(d.state().unwrap().0, DomainState::Shutoff);
    root.assert_clean();
    d.undefine(DomainUndefineFlags::empty()).unwrap();
}

/// Regression: `suspend` once registered the QMP `STOP` it causes as an expected
/// `RESUME`, so a `STOP` event handled after a quick `resume` produced a second,
/// bogus SUSPENDED event. Quick cycles must give exactly one SUSPENDED and one
/// RESUMED each, and the domain must end up running.
#[test]
fn quick_suspend_resume_cycles_give_exactly_one_event_each() {
    if !have_qemu() {
        return;
    }
    let root = Root::new("cycles");
    let c = root.open();
    let events = record_events(&c);
    let d = c.domain_define_xml(&domain_xml("cycles"), Default::default()).unwrap();
    d.create(DomainCreateFlags::empty()).unwrap();
    let mut want = vec![(lc::DEFINED, lc::DEFINED_ADDED), (lc::RESUMED, lc::RESUMED_UNPAUSED), (lc::STARTED, lc::STARTED_BOOTED)];
    for _ in 0..20 {
        d.suspend().unwrap();
        d.resume().unwrap();
        want.push((lc::SUSPENDED, lc::SUSPENDED_PAUSED));
        want.push((lc::RESUMED, lc::RESUMED_UNPAUSED));
    }
    wait_events(&events, &want);
    // Late QMP events have had time to arrive: nothing more may follow.
    std::thread::sleep(Duration::from_millis(300));
    wait_events(&events, &want);
    assert_eq!(d.state().unwrap().0, DomainState::Running);
    d.destroy(Default::default()).unwrap();
    d.undefine(Default::default()).unwrap();
    root.assert_clean();
}
