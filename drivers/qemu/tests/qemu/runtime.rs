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
    // CI installs QEMU; a developer machine without it skips loudly.
    assert!(std::env::var_os("CI").is_none(), "{QEMU} is missing in CI");
    eprintln!("skipping: {QEMU} is not installed");
    false
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
    assert!(!pid_alive(pids[0]));
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
            (lc::STARTED, lc::STARTED_BOOTED),
            (lc::SUSPENDED, lc::SUSPENDED_PAUSED),
            (lc::RESUMED, lc::RESUMED_UNPAUSED),
            (lc::STOPPED, lc::STOPPED_DESTROYED),
            (lc::STARTED, lc::STARTED_BOOTED),
            (lc::SUSPENDED, lc::SUSPENDED_PAUSED),
            (lc::STOPPED, lc::STOPPED_DESTROYED),
            (lc::UNDEFINED, lc::UNDEFINED_REMOVED),
        ],
    );
    root.assert_clean();
}
