//! Save, restore and managed save of the real test guest through oxvirtd
//! (`qemu:///system` below a private root), driven by Debian's `virsh` and
//! libvirt-python, and compared with libvirtd 9.0: the same states, reasons, events
//! and errors for the same calls, and images written by either daemon restore under
//! the other. The guest's serial log is opened in append mode, so a restored guest
//! that booted again would show a second ready marker.

use super::harness::{client_cmd, TempDir};
use super::qemu::{build_guest, define, guest_xml, wait_marker, Guest, QemuDaemon, MARKER, PYTHON};
use super::qemu_vs_libvirtd::Libvirtd;
use std::path::Path;
use std::time::{Duration, Instant};

/// The test guest with its serial log appended to rather than truncated by each QEMU.
fn save_guest_xml(g: &Guest, dir: &Path, name: &str) -> String {
    let serial = dir.join(format!("{name}.serial")).display().to_string();
    guest_xml(g, dir, name).replace(&format!("<source path='{serial}'/>"), &format!("<source path='{serial}' append='on'/>"))
}

/// How many times guest `name` printed its ready marker into `dir`.
fn boots(dir: &Path, name: &str) -> usize {
    std::fs::read_to_string(dir.join(format!("{name}.serial"))).unwrap_or_default().matches(MARKER).count()
}

/// Run `virsh -c URI LINE` in `home`; (success, stdout, stderr).
fn virsh_at(uri: &str, line: &str, home: &Path) -> (bool, String, String) {
    let out = super::harness::virsh(uri, line, home);
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Wait until the guest agent of `name` answers a ping (it does right after a restore).
fn agent_answers(uri: &str, name: &str, home: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, out, err) = virsh_at(uri, &format!(r#"qemu-agent-command {name} '{{"execute":"guest-ping"}}'"#), home);
        if ok {
            assert_eq!(out.trim(), r#"{"return":{}}"#);
            return;
        }
        assert!(Instant::now() < deadline, "the agent of {name} never answered: {err}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The first 20 bytes of a file: libvirt's magic and the header version.
fn image_head(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    bytes.get(..20).unwrap_or_default().to_vec()
}

fn expect_head(path: &Path) {
    let mut want = b"LibvirtQemudSave".to_vec();
    want.extend_from_slice(&2u32.to_ne_bytes());
    assert_eq!(image_head(path), want, "{} is no complete libvirt save image", path.display());
}

/// A copy of raw image `src` at `dst` with its migration stream gzip'ed and the
/// header's `compressed` set to 1, as libvirt writes with `save_image_format = "gzip"`.
fn gzip_image(src: &Path, dst: &Path) -> std::path::PathBuf {
    super::harness::which("gzip");
    let bytes = std::fs::read(src).expect("read image");
    let data_len = u32::from_ne_bytes(bytes[20..24].try_into().expect("4 bytes")) as usize;
    let (head, stream) = bytes.split_at(92 + data_len);
    let mut head = head.to_vec();
    head[28..32].copy_from_slice(&1u32.to_ne_bytes());
    let mut child = std::process::Command::new("gzip")
        .args(["-c", "-1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let stream = stream.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &stream));
    let out = child.wait_with_output().expect("gzip ends");
    writer.join().expect("writer thread").expect("feed gzip");
    assert!(out.status.success());
    head.extend_from_slice(&out.stdout);
    std::fs::write(dst, &head).expect("write compressed image");
    dst.to_path_buf()
}

// covers: DOMAIN_SAVE, DOMAIN_SAVE_FLAGS, DOMAIN_RESTORE, DOMAIN_SAVE_IMAGE_GET_XML_DESC, DOMAIN_SAVE_IMAGE_DEFINE_XML
// covers: DOMAIN_MANAGED_SAVE, DOMAIN_HAS_MANAGED_SAVE_IMAGE, DOMAIN_MANAGED_SAVE_REMOVE
// covers: DOMAIN_MANAGED_SAVE_GET_XML_DESC, DOMAIN_MANAGED_SAVE_DEFINE_XML
#[test]
fn save_restore_and_managed_save_keep_the_guest_running() {
    let g = build_guest();
    let mut d = QemuDaemon::start("qemu-save", &[]);
    let dir = d.dir.0.clone();
    define(&d, "sv", &save_guest_xml(&g, &dir, "sv"));
    let t = Instant::now();
    d.virsh_ok("start sv");
    wait_marker(&d, "sv", t);
    agent_answers(&d.uri(), "sv", &dir);

    // save: shut off (saved), a complete libvirt image and nothing beside it.
    let img = dir.join("sv.img.save");
    d.virsh_ok(&format!("save sv {}", img.display()));
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "shut off (saved)");
    expect_head(&img);
    let beside: Vec<String> =
        std::fs::read_dir(&dir).expect("read dir").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!beside.iter().any(|n| n.contains("partial")), "{beside:?}");
    assert!(d.qemus().is_empty(), "QEMU still runs after save");
    let xml = d.virsh_ok(&format!("save-image-dumpxml {}", img.display()));
    assert!(xml.contains("<name>sv</name>") && xml.contains("<channel type='unix'>"), "{xml}");
    assert!(!xml.contains("domain-1-sv"), "the run's private paths leaked into the image: {xml}");

    // restore: the same boot goes on.
    d.virsh_ok(&format!("restore {}", img.display()));
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "running (restored)");
    agent_answers(&d.uri(), "sv", &dir);
    assert_eq!(boots(&dir, "sv"), 1, "the restored guest booted again");

    // save-image-define: new XML and the paused flag; the restore then stays paused.
    d.virsh_ok(&format!("save sv {}", img.display()));
    let edited = dir.join("sv-edited.xml");
    let xml = d.virsh_ok(&format!("save-image-dumpxml {} --security-info", img.display()));
    std::fs::write(&edited, xml.replace("</name>", "</name>\n  <description>saved once</description>")).expect("write XML");
    d.virsh_ok(&format!("save-image-define {} {} --paused", img.display(), edited.display()));
    assert!(d.virsh_ok(&format!("save-image-dumpxml {}", img.display())).contains("<description>saved once</description>"));
    d.virsh_ok(&format!("restore {}", img.display()));
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "paused (migrating)");
    d.virsh_ok("resume sv");
    agent_answers(&d.uri(), "sv", &dir);

    // A save that cannot write its file leaves the guest running.
    let (ok, _, err) = virsh_at(&d.uri(), "save sv /nonexistent-dir/sv.save", &dir);
    assert!(!ok && err.contains("/nonexistent-dir/sv.save") && err.contains("No such file or directory"), "{err}");
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "running (save canceled)");
    agent_answers(&d.uri(), "sv", &dir);

    // save --xml: the image carries the given XML; another domain's is refused.
    let other = dir.join("other.xml");
    std::fs::write(&other, save_guest_xml(&g, &dir, "other")).expect("write XML");
    let (ok, _, err) = virsh_at(&d.uri(), &format!("save sv {} --xml {}", img.display(), other.display()), &dir);
    assert!(!ok && err.contains("Target domain name 'other' does not match source 'sv'"), "{err}");
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "running (save canceled)", "a refused --xml touched the guest");
    d.virsh_ok(&format!("save sv {} --xml {}", img.display(), edited.display()));
    d.virsh_ok(&format!("restore {}", img.display()));
    assert!(d.virsh_ok("dumpxml sv").contains("<description>saved once</description>"));
    agent_answers(&d.uri(), "sv", &dir);

    // A gzip-compressed image (libvirt's save_image_format = "gzip") restores too.
    d.virsh_ok(&format!("save sv {}", img.display()));
    let gz = gzip_image(&img, &dir.join("sv-gz.save"));
    d.virsh_ok(&format!("restore {}", gz.display()));
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "running (restored)");
    agent_answers(&d.uri(), "sv", &dir);

    // Bad images: libvirt's errors.
    let bad = dir.join("bad.save");
    std::fs::write(&bad, vec![b'x'; 200]).expect("write");
    let (ok, _, err) = virsh_at(&d.uri(), &format!("restore {}", bad.display()), &dir);
    assert!(!ok && err.contains("operation failed: image magic is incorrect"), "{err}");
    let mut partial = std::fs::read(&img).expect("read image").get(..4096).unwrap_or_default().to_vec();
    partial[..16].copy_from_slice(b"LibvirtQemudPart");
    std::fs::write(&bad, &partial).expect("write");
    let (ok, _, err) = virsh_at(&d.uri(), &format!("save-image-dumpxml {}", bad.display()), &dir);
    assert!(!ok && err.contains("operation failed: save image is incomplete"), "{err}");
    std::fs::write(&bad, b"LibvirtQemudSave").expect("write");
    let (ok, _, err) = virsh_at(&d.uri(), &format!("restore {}", bad.display()), &dir);
    assert!(!ok && err.contains("operation failed: failed to read qemu header"), "{err}");
    assert_eq!(d.virsh_ok("domstate sv").trim(), "running");

    // managedsave: the image in the lib dir, dominfo and list know it, undefine refuses.
    d.virsh_ok("managedsave sv");
    let managed = d.root().join("lib/qemu/save/sv.save");
    expect_head(&managed);
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "shut off (saved)");
    assert!(d.virsh_ok("dominfo sv").contains("Managed save:   yes"));
    let list = d.virsh_ok("list --all --managed-save");
    assert!(list.lines().any(|l| l.contains("sv") && l.contains("saved")), "{list}");
    assert!(d.virsh_ok("list --all --with-managed-save --name").contains("sv"));
    assert!(!d.virsh_ok("list --all --without-managed-save --name").contains("sv"));
    let (ok, _, err) = virsh_at(&d.uri(), "undefine sv", &dir);
    assert!(!ok && err.contains("Refusing to undefine while domain managed save image exists"), "{err}");
    // managedsave-dumpxml / managedsave-define edit the image's XML.
    let xml = d.virsh_ok("managedsave-dumpxml sv --security-info");
    assert!(xml.contains("<name>sv</name>") && xml.contains("<description>saved once</description>"), "{xml}");
    std::fs::write(&edited, xml.replace("saved once", "managed once")).expect("write XML");
    d.virsh_ok(&format!("managedsave-define sv {} --running", edited.display()));
    assert!(d.virsh_ok("managedsave-dumpxml sv").contains("<description>managed once</description>"));

    // A daemon killed with SIGKILL and restarted still restores the managed save.
    d.kill9();
    d.spawn();
    assert!(d.virsh_ok("dominfo sv").contains("Managed save:   yes"));
    d.virsh_ok("start sv");
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "running (restored)");
    assert!(!managed.exists(), "the managed save image outlived its restore");
    assert!(d.virsh_ok("dominfo sv").contains("Managed save:   no"));
    agent_answers(&d.uri(), "sv", &dir);

    // managedsave-remove, then start boots afresh.
    d.virsh_ok("managedsave sv");
    d.virsh_ok("managedsave-remove sv");
    assert!(!managed.exists());
    let (ok, _, err) = virsh_at(&d.uri(), "managedsave-remove sv", &dir);
    assert!(ok, "virsh answers a missing image itself: {err}");
    let (ok, _, err) = virsh_at(&d.uri(), "managedsave-dumpxml sv", &dir);
    assert!(!ok && err.contains("Requested operation is not valid: domain does not have managed save image"), "{err}");
    assert_eq!(boots(&dir, "sv"), 1, "a restore booted the guest again");
    d.virsh_ok("start sv");
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "running (booted)");
    let deadline = Instant::now() + Duration::from_secs(60);
    while boots(&dir, "sv") < 2 {
        assert!(Instant::now() < deadline, "no second boot after managedsave-remove");
        std::thread::sleep(Duration::from_millis(50));
    }

    // start --force-boot drops the image and boots.
    d.virsh_ok("managedsave sv");
    d.virsh_ok("start sv --force-boot");
    assert_eq!(d.virsh_ok("domstate sv --reason").trim(), "running (booted)");
    assert!(!managed.exists(), "start --force-boot kept the managed save image");

    // undefine --managed-save takes the image along.
    d.virsh_ok("managedsave sv");
    d.virsh_ok("undefine sv --managed-save");
    assert!(!managed.exists());
    assert!(!d.virsh_ok("list --all --name").contains("sv"));
    // libvirt keeps its save directory.
    let _ = std::fs::remove_dir(d.root().join("lib/qemu/save"));
    d.assert_clean();
}

/// States, reasons and lifecycle events of save, restore and managed save, printed
/// one step a line by libvirt-python (argv: URI, image, a bad image).
const SCENARIO: &str = r#"
import sys, threading, time, libvirt as E
E.virEventRegisterDefaultImpl()
def _loop():
    while True:
        E.virEventRunDefaultImpl()
threading.Thread(target=_loop, daemon=True).start()
c = E.open(sys.argv[1])
EVENTS = []
def _cb(conn, dom, event, detail, opaque):
    EVENTS.append((event, detail))
c.domainEventRegisterAny(None, E.VIR_DOMAIN_EVENT_ID_LIFECYCLE, _cb, None)
def wait_event(event, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if any(e == event for e, d in EVENTS):
            return
        time.sleep(0.02)
    raise SystemExit("no event %s; got %r" % (event, EVENTS))
dom = c.lookupByName('scen')
img = sys.argv[2]
def quiet():
    # Events arrive asynchronously (libvirtd sends RESUMED before STARTED): wait until
    # none came for a while, so that no event of a step lands in the next one's.
    seen, end = -1, time.time() + 10
    while len(EVENTS) != seen and time.time() < end:
        seen = len(EVENTS)
        time.sleep(0.3)
def step(label, f, last):
    global dom
    del EVENTS[:]
    f()
    wait_event(last)
    quiet()
    dom = c.lookupByName('scen')
    print(label, EVENTS, dom.state(), dom.hasManagedSaveImage(0))
def error(label, f):
    try:
        f()
        print(label, 'ok')
    except E.libvirtError as e:
        print(label, e.get_error_code(), e.get_error_domain(), e.get_error_message())
S, R, P, ST = E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_RESUMED, E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_STARTED
step('save', lambda: dom.save(img), S)
step('restore', lambda: c.restore(img), R)
step('save-paused', lambda: dom.saveFlags(img, None, E.VIR_DOMAIN_SAVE_PAUSED), S)
step('restore-recorded-paused', lambda: c.restore(img), P)
step('resume', lambda: dom.resume(), R)
step('save-again', lambda: dom.save(img), S)
step('restore-flag-paused', lambda: c.restoreFlags(img, None, E.VIR_DOMAIN_SAVE_PAUSED), P)
error('restore-active', lambda: c.restore(img))
step('managedsave-of-paused', lambda: dom.managedSave(0), S)
step('start-managed', lambda: dom.create(), P)
step('managedsave-running-flag', lambda: dom.managedSave(E.VIR_DOMAIN_SAVE_RUNNING), S)
step('start-managed-paused', lambda: dom.createWithFlags(E.VIR_DOMAIN_START_PAUSED), P)
step('resume', lambda: dom.resume(), R)
step('managedsave', lambda: dom.managedSave(0), S)
step('start', lambda: dom.create(), R)
error('managedsave-remove-none', lambda: dom.managedSaveRemove(0))
error('restore-bad', lambda: c.restore(sys.argv[3]))
error('save-image-xml-bad', lambda: c.saveImageGetXMLDesc(sys.argv[3], 0))
step('destroy', lambda: dom.destroy(), S)
error('save-inactive', lambda: dom.save(img))
error('managedsave-inactive', lambda: dom.managedSave(0))
dom.create()
wait_event(R)
quiet()
step('managedsave-for-undefine', lambda: dom.managedSave(0), S)
error('undefine', lambda: dom.undefine())
print('lists', [d.name() for d in c.listAllDomains(E.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)],
      [d.name() for d in c.listAllDomains(E.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE)])
error('undefine-managed-save', lambda: dom.undefineFlags(E.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE))
print('left', [d.name() for d in c.listAllDomains(0)])
"#;

fn run_scenario(uri: &str, dir: &Path, g: &Guest) -> String {
    let xml = dir.join("scen.xml");
    std::fs::write(&xml, save_guest_xml(g, dir, "scen")).expect("write XML");
    let (ok, _, err) = virsh_at(uri, &format!("define {}", xml.display()), dir);
    assert!(ok, "define failed against {uri}: {err}");
    let (ok, _, err) = virsh_at(uri, "start scen", dir);
    assert!(ok, "start failed against {uri}: {err}");
    let bad = dir.join("bad.save");
    std::fs::write(&bad, vec![0u8; 300]).expect("write");
    let out = client_cmd(PYTHON, dir).arg("-c").arg(SCENARIO).arg(uri).arg(dir.join("scen.save")).arg(&bad).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "scenario failed against {uri}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The scenario gives the same transcript under oxvirtd and libvirtd 9.0, and a guest
/// saved by libvirtd restores under oxvirtd (and back), the same boot going on.
#[test]
fn save_and_restore_match_libvirtd() {
    let g = build_guest();
    let d = QemuDaemon::start("qemu-save-vs", &[]);
    let ours = run_scenario(&d.uri(), &d.dir.0, &g).replace(&d.root().join("lib/qemu/save").display().to_string(), "@SAVE@");
    let l = Libvirtd::start();
    let scratch = TempDir::new("qemu-save-libvirtd");
    let theirs = run_scenario(&l.uri(), &scratch.0, &g).replace("/var/lib/libvirt/qemu/save", "@SAVE@");
    eprintln!("oxvirtd:\n{ours}\nlibvirtd 9.0:\n{theirs}");
    assert!(ours.starts_with("save [(3, 0), (5, 4)] [5, 5] 0\nrestore [(2, 2), (4, 2)] [1, 3] 0\n"), "{ours}");
    assert_eq!(ours, theirs, "save/restore states, events or errors differ from libvirtd's");

    // libvirtd saves, oxvirtd restores (a transient domain), saves; libvirtd restores.
    let dir = &scratch.0;
    let xml = dir.join("cross.xml");
    std::fs::write(&xml, save_guest_xml(&g, dir, "cross")).expect("write XML");
    let lv = |line: &str| {
        let (ok, out, err) = virsh_at(&l.uri(), line, dir);
        assert!(ok, "libvirtd: virsh {line} failed: {err}");
        out
    };
    lv(&format!("define {}", xml.display()));
    lv("start cross");
    let deadline = Instant::now() + Duration::from_secs(60);
    while boots(dir, "cross") < 1 {
        assert!(Instant::now() < deadline, "no {MARKER} from the guest under libvirtd");
        std::thread::sleep(Duration::from_millis(50));
    }
    agent_answers(&l.uri(), "cross", dir);
    let img = dir.join("cross.save");
    lv(&format!("save cross {}", img.display()));
    let dumped = d.virsh_ok(&format!("save-image-dumpxml {}", img.display()));
    assert!(dumped.contains("<name>cross</name>"), "{dumped}");
    d.virsh_ok(&format!("restore {}", img.display()));
    assert_eq!(d.virsh_ok("domstate cross --reason").trim(), "running (restored)");
    agent_answers(&d.uri(), "cross", dir);
    let back = dir.join("cross-back.save");
    d.virsh_ok(&format!("save cross {}", back.display()));
    assert!(!d.virsh_ok("list --all --name").contains("cross"), "the transient domain outlived its save");
    assert!(lv(&format!("save-image-dumpxml {}", back.display())).contains("<name>cross</name>"));
    lv(&format!("restore {}", back.display()));
    assert_eq!(lv("domstate cross --reason").trim(), "running (restored)");
    agent_answers(&l.uri(), "cross", dir);
    assert_eq!(boots(dir, "cross"), 1, "the guest booted again on its way between the daemons");
    lv("destroy cross");
    lv("undefine cross");
    let _ = std::fs::remove_dir(d.root().join("lib/qemu/save"));
    d.assert_clean();
}
