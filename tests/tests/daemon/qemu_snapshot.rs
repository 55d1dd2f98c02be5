//! Internal snapshots of the real test guest through oxvirtd (`qemu:///system` below
//! a private root), driven by Debian's `virsh` and libvirt-python: an offline
//! snapshot (`qemu-img snapshot` on the qcow2 disk), a running checkpoint with
//! memory (`savevm`), reverts to both (the guest goes on with the same boot: the
//! agent answers, no new ready marker; the disk counter is rolled back), the tree
//! calls, metadata that survives a daemon killed with SIGKILL, deletion, the
//! undefine rule and libvirt's errors. The guest bumps a counter on its disk at
//! each boot and prints it (`OXVIRT-COUNTER N`) on its serial log, which is opened
//! in append mode, so the log tells every boot apart.

use super::qemu::{build_guest, define, guest_xml, wait_marker, Guest, QemuDaemon, MARKER, PY_EVENTS};
use std::path::Path;
use std::time::{Duration, Instant};

/// The test guest on a qcow2 disk that counts its boots, with its serial log
/// appended to rather than truncated by each QEMU.
fn snap_guest_xml(g: &Guest, dir: &Path, name: &str) -> String {
    let xml = guest_xml(g, dir, name);
    let disk = dir.join(format!("{name}.img"));
    let out =
        std::process::Command::new("qemu-img").args(["create", "-q", "-f", "qcow2"]).arg(&disk).arg("4M").output().expect("qemu-img runs");
    assert!(out.status.success(), "qemu-img create: {}", String::from_utf8_lossy(&out.stderr));
    let serial = dir.join(format!("{name}.serial")).display().to_string();
    xml.replace("type='raw'", "type='qcow2'")
        .replace(&format!("<source path='{serial}'/>"), &format!("<source path='{serial}' append='on'/>"))
        .replace("</cmdline>", " guest.counter=/dev/vda</cmdline>")
}

/// The counter values the guest printed, one per boot, in order.
fn counters(dir: &Path, name: &str) -> Vec<u32> {
    std::fs::read_to_string(dir.join(format!("{name}.serial")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split("OXVIRT-COUNTER ").nth(1))
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn wait_counters(dir: &Path, name: &str, want: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while counters(dir, name) != want {
        assert!(Instant::now() < deadline, "counters of {name}: {:?}, want {want:?}", counters(dir, name));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn boots(dir: &Path, name: &str) -> usize {
    std::fs::read_to_string(dir.join(format!("{name}.serial"))).unwrap_or_default().matches(MARKER).count()
}

/// `qemu-img snapshot -l` of `disk` (shared lock: QEMU may hold the image).
fn qemu_img_list(disk: &Path) -> String {
    let out = std::process::Command::new("qemu-img").args(["snapshot", "-U", "-l"]).arg(disk).output().expect("qemu-img runs");
    assert!(out.status.success(), "qemu-img snapshot -l: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stderr of a `virsh` call that must fail.
fn virsh_err(d: &QemuDaemon, line: &str) -> String {
    let out = d.virsh(line);
    assert!(!out.status.success(), "virsh {line} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn agent_answers(d: &QemuDaemon, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = d.virsh(&format!(r#"qemu-agent-command {name} '{{"execute":"guest-ping"}}'"#));
        if out.status.success() {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"{"return":{}}"#);
            return;
        }
        assert!(Instant::now() < deadline, "the agent of {name} never answered: {}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn names(out: &str) -> Vec<String> {
    out.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

// covers: DOMAIN_SNAPSHOT_CREATE_XML, DOMAIN_LIST_ALL_SNAPSHOTS, DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN
// covers: DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, DOMAIN_HAS_CURRENT_SNAPSHOT, DOMAIN_SNAPSHOT_CURRENT
// covers: DOMAIN_SNAPSHOT_GET_PARENT, DOMAIN_SNAPSHOT_GET_XML_DESC, DOMAIN_SNAPSHOT_IS_CURRENT
// covers: DOMAIN_SNAPSHOT_HAS_METADATA, DOMAIN_REVERT_TO_SNAPSHOT, DOMAIN_SNAPSHOT_DELETE
// covers: DOMAIN_SNAPSHOT_NUM, DOMAIN_SNAPSHOT_LIST_NAMES
#[test]
fn internal_snapshots_checkpoint_and_revert_the_real_guest() {
    let g = build_guest();
    let mut d = QemuDaemon::start("qemu-snap", &[]);
    let dir = d.dir.0.clone();
    define(&d, "sn", &snap_guest_xml(&g, &dir, "sn"));
    let disk = dir.join("sn.img");

    // An offline snapshot: qemu-img's, on the disk; libvirt's XML.
    d.virsh_ok("snapshot-create-as sn off0 --description 'before boot'");
    assert!(qemu_img_list(&disk).contains("off0"), "{}", qemu_img_list(&disk));
    let xml = d.virsh_ok("snapshot-dumpxml sn off0");
    for want in [
        "<name>off0</name>",
        "<description>before boot</description>",
        "<state>shutoff</state>",
        "<creationTime>",
        "<memory snapshot='no'/>",
        "<disk name='vda' snapshot='internal'/>",
        "<domain type=",
        "<name>sn</name>",
    ] {
        assert!(xml.contains(want), "no {want} in {xml}");
    }
    assert!(!xml.contains("<active>") && !xml.contains("<parent>"), "{xml}");
    let stored = d.root().join("lib/qemu/snapshot/sn/off0.xml");
    assert!(std::fs::read_to_string(&stored).expect("metadata file").contains("<active>1</active>"));

    // A running checkpoint with memory.
    let t = Instant::now();
    d.virsh_ok("start sn");
    wait_marker(&d, "sn", t);
    wait_counters(&dir, "sn", &[1]);
    agent_answers(&d, "sn");
    d.virsh_ok("snapshot-create-as sn run1");
    assert_eq!(d.virsh_ok("domstate sn --reason").trim(), "running (unpaused)");
    let xml = d.virsh_ok("snapshot-dumpxml sn run1");
    for want in [
        "<state>running</state>",
        "<parent>\n    <name>off0</name>",
        "<memory snapshot='internal'/>",
        "<disk name='vda' snapshot='internal'/>",
    ] {
        assert!(xml.contains(want), "no {want} in {xml}");
    }
    assert!(!xml.contains("domain-1-sn"), "the run's private paths leaked into the snapshot: {xml}");
    assert!(qemu_img_list(&disk).contains("run1"));
    agent_answers(&d, "sn");

    // The guest moves on: a reset boots it again and bumps the counter.
    d.virsh_ok("reset sn");
    wait_counters(&dir, "sn", &[1, 2]);
    agent_answers(&d, "sn");
    assert_eq!(boots(&dir, "sn"), 2);

    // Revert to the checkpoint: libvirt's events, the same boot goes on.
    let out = d.python(&format!(
        "{PY_EVENTS}
dom = c.lookupByName('sn')
snap = dom.snapshotLookupByName('run1')
dom.revertToSnapshot(snap)
wait_event('sn', libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT)
print([(e, d) for n, e, d in EVENTS if n == 'sn'])
print(dom.state())
print(snap.isCurrent(), snap.hasMetadata(), dom.hasCurrentSnapshot(), dom.snapshotNum(), sorted(dom.snapshotListNames()))
print([s.getName() for s in dom.snapshotLookupByName('off0').listAllChildren()])
"
    ));
    let lines: Vec<&str> = out.lines().collect();
    // STOPPED/FROM_SNAPSHOT, STARTED/FROM_SNAPSHOT, RESUMED/FROM_SNAPSHOT, DEFINED/FROM_SNAPSHOT.
    assert_eq!(lines.first().copied(), Some("[(5, 6), (2, 3), (4, 2), (0, 3)]"), "{out}");
    assert_eq!(lines.get(1).copied(), Some("[1, 4]"), "running (from snapshot): {out}");
    assert_eq!(lines.get(2).copied(), Some("1 1 1 2 ['off0', 'run1']"), "{out}");
    assert_eq!(lines.get(3).copied(), Some("['run1']"), "{out}");
    agent_answers(&d, "sn");
    assert_eq!(boots(&dir, "sn"), 2, "the reverted guest booted again");
    // The disk went back with it: the next boot counts 2 again.
    d.virsh_ok("reset sn");
    wait_counters(&dir, "sn", &[1, 2, 2]);
    agent_answers(&d, "sn");

    // The tree calls, through virsh.
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --name")), ["off0", "run1"]);
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --roots --name")), ["off0"]);
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --leaves --name")), ["run1"]);
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --inactive --name")), ["off0"]);
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --active --name")), ["run1"]);
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --internal --name")), ["off0", "run1"]);
    assert!(names(&d.virsh_ok("snapshot-list sn --external --name")).is_empty());
    // --current lists the current snapshot's children (none).
    assert!(names(&d.virsh_ok("snapshot-list sn --current --name")).is_empty());
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --from off0 --name")), ["run1"]);
    let tree = d.virsh_ok("snapshot-list sn --tree");
    assert!(tree.contains("off0") && tree.contains("  +- run1"), "{tree}");
    let parents = d.virsh_ok("snapshot-list sn --parent");
    assert!(parents.lines().any(|l| l.contains("run1") && l.trim_end().ends_with("off0")), "{parents}");
    assert_eq!(d.virsh_ok("snapshot-current sn --name").trim(), "run1");
    assert_eq!(d.virsh_ok("snapshot-parent sn run1").trim(), "off0");
    let info = d.virsh_ok("snapshot-info sn run1");
    for want in [
        "Name:           run1",
        "Domain:         sn",
        "Current:        yes",
        "State:          running",
        "Location:       internal",
        "Parent:         off0",
        "Children:       0",
        "Metadata:       yes",
    ] {
        assert!(info.contains(want), "no {want} in {info}");
    }

    // Revert to the offline snapshot from the running guest: shut off, the disk
    // rolled back by qemu-img (the next boot counts 1 again).
    d.virsh_ok("snapshot-revert sn off0");
    assert_eq!(d.virsh_ok("domstate sn --reason").trim(), "shut off (from snapshot)");
    assert_eq!(d.virsh_ok("snapshot-current sn --name").trim(), "off0");
    d.virsh_ok("start sn");
    wait_counters(&dir, "sn", &[1, 2, 2, 1]);
    agent_answers(&d, "sn");
    d.virsh_ok("destroy sn");

    // A daemon killed with SIGKILL finds the metadata again.
    d.kill9();
    d.spawn();
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --name")), ["off0", "run1"]);
    assert_eq!(d.virsh_ok("snapshot-current sn --name").trim(), "off0");
    assert_eq!(d.virsh_ok("snapshot-parent sn run1").trim(), "off0");
    assert!(d.virsh_ok("list --all --with-snapshot --name").contains("sn"));

    // Revert a shut-off guest to the checkpoint, paused: QEMU loads it (-loadvm).
    d.virsh_ok("snapshot-revert sn run1 --paused");
    assert_eq!(d.virsh_ok("domstate sn --reason").trim(), "paused (from snapshot)");
    d.virsh_ok("resume sn");
    agent_answers(&d, "sn");
    assert_eq!(counters(&dir, "sn"), [1, 2, 2, 1], "the guest booted instead of loading its checkpoint");

    // Errors, as libvirt words them.
    let e = virsh_err(&d, "snapshot-create-as sn run1");
    assert!(e.contains("domain moment run1 already exists"), "{e}");
    let e = virsh_err(&d, "snapshot-info sn nosuch");
    assert!(e.contains("Domain snapshot not found: no domain snapshot with matching name 'nosuch'"), "{e}");
    // virsh reads the parent from the XML and words this one itself.
    let e = virsh_err(&d, "snapshot-parent sn off0");
    assert!(e.contains("snapshot 'off0' has no parent"), "{e}");
    let e = virsh_err(&d, &format!("snapshot-create-as sn ext --memspec file={}/sn.mem,snapshot=external", dir.display()));
    assert!(e.contains("unsupported configuration") && e.contains("<memory snapshot='external'/>"), "{e}");
    let e = virsh_err(&d, "snapshot-create-as sn 'a/b'");
    assert!(e.contains("invalid snapshot name 'a/b': name can't contain '/'"), "{e}");
    define(&d, "rawg", &guest_xml(&g, &dir, "rawg"));
    let e = virsh_err(&d, "snapshot-create-as rawg x");
    assert!(e.contains("unsupported configuration: internal snapshot for disk vda unsupported for storage type raw"), "{e}");
    d.virsh_ok("undefine rawg");

    // Delete: a snapshot of the running guest (delvm), metadata only, children.
    d.virsh_ok("snapshot-create-as sn run2");
    assert_eq!(d.virsh_ok("snapshot-parent sn run2").trim(), "run1");
    d.virsh_ok("snapshot-delete sn run2");
    assert!(!qemu_img_list(&disk).contains("run2"), "{}", qemu_img_list(&disk));
    assert_eq!(d.virsh_ok("snapshot-current sn --name").trim(), "run1", "the parent of the deleted current became current");
    d.virsh_ok("destroy sn");
    d.virsh_ok("snapshot-create-as sn off3");
    d.virsh_ok("snapshot-delete sn off3 --metadata");
    assert!(qemu_img_list(&disk).contains("off3"), "--metadata touched the disk");
    assert_eq!(names(&d.virsh_ok("snapshot-list sn --name")), ["off0", "run1"]);
    let e = virsh_err(&d, "undefine sn");
    assert!(e.contains("cannot delete inactive domain with 2 snapshots"), "{e}");
    d.virsh_ok("snapshot-delete sn off0 --children");
    assert!(names(&d.virsh_ok("snapshot-list sn --name")).is_empty());
    let list = qemu_img_list(&disk);
    assert!(!list.contains("off0") && !list.contains("run1"), "{list}");
    // virsh asks virDomainHasCurrentSnapshot first and words this one itself.
    let e = virsh_err(&d, "snapshot-current sn");
    assert!(e.contains("domain 'sn' has no current snapshot"), "{e}");

    // A transient guest keeps its snapshots through a revert, and they go with it.
    let tr = dir.join("tr.xml");
    std::fs::write(&tr, snap_guest_xml(&g, &dir, "tr")).expect("write XML");
    let t = Instant::now();
    d.virsh_ok(&format!("create {}", tr.display()));
    wait_marker(&d, "tr", t);
    d.virsh_ok("snapshot-create-as tr t1");
    d.virsh_ok("snapshot-revert tr t1");
    assert_eq!(d.virsh_ok("domstate tr --reason").trim(), "running (from snapshot)");
    assert_eq!(names(&d.virsh_ok("snapshot-list tr --name")), ["t1"]);
    d.virsh_ok("destroy tr");
    assert!(!d.root().join("lib/qemu/snapshot/tr").exists(), "the transient domain's snapshots outlived it");

    // undefine --snapshots-metadata drops what is left.
    d.virsh_ok("snapshot-create-as sn off4");
    d.virsh_ok("undefine sn --snapshots-metadata");
    assert!(!d.root().join("lib/qemu/snapshot/sn").exists());
    d.assert_clean();
}

/// The differential scenario: the same snapshot calls on the same guest (a qcow2
/// disk) against oxvirtd and libvirtd 9.0, printing states, reasons, events, the
/// snapshot XML's libvirt-defined parts and errors.
const SCENARIO: &str = r#"
import sys, threading, time, libvirt
import xml.etree.ElementTree as ET
libvirt.virEventRegisterDefaultImpl()
def _loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=_loop, daemon=True).start()
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
EVENTS = []
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                         lambda conn, dom, e, d, o: EVENTS.append((e, d)), None)
dom = c.defineXML(open(sys.argv[2]).read())
def settle(n):
    end = time.time() + 60
    while len(EVENTS) < n and time.time() < end:
        time.sleep(0.05)
    time.sleep(0.3)
def step(what, f):
    before = len(EVENTS)
    try:
        r = f()
    except libvirt.libvirtError as e:
        print(what, 'error', e.get_error_code(), e.get_error_domain(), e.get_error_message())
        return None
    # Events arrive asynchronously: wait until none came for a while.
    seen, end = -1, time.time() + 10
    while len(EVENTS) != seen and time.time() < end:
        seen = len(EVENTS)
        time.sleep(0.3)
    plain = r if isinstance(r, (int, str)) else ''
    print(what, plain, 'state', dom.state(), 'events', EVENTS[before:])
    return r
def xml(s):
    x = ET.fromstring(s.getXMLDesc())
    parent = x.findtext('parent/name')
    mem = x.find('memory').get('snapshot')
    disks = [(d.get('name'), d.get('snapshot')) for d in x.findall('disks/disk')]
    return (x.findtext('name'), x.findtext('state'), parent, mem, disks, x.find('domain/name').text)
# The definition's own event is delivered asynchronously: let it pass first.
settle(1)
off0 = step('create off0', lambda: dom.snapshotCreateXML('<domainsnapshot><name>off0</name></domainsnapshot>'))
print('off0', xml(off0))
step('start', dom.create)
run1 = step('create run1', lambda: dom.snapshotCreateXML('<domainsnapshot><name>run1</name></domainsnapshot>'))
print('run1', xml(run1))
step('dup', lambda: dom.snapshotCreateXML('<domainsnapshot><name>run1</name></domainsnapshot>'))
step('slash', lambda: dom.snapshotCreateXML('<domainsnapshot><name>a/b</name></domainsnapshot>'))
step('nomem', lambda: dom.snapshotCreateXML("<domainsnapshot><name>x</name><memory snapshot='no'/></domainsnapshot>"))
step('bad root', lambda: dom.snapshotCreateXML('<snapshot/>'))
step('bad state', lambda: dom.snapshotCreateXML('<domainsnapshot><name>r</name><state>bogus</state><creationTime>1</creationTime></domainsnapshot>',
                                                 libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
step('quiesce alone', lambda: dom.snapshotCreateXML('<domainsnapshot/>', libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE))
step('live', lambda: dom.snapshotCreateXML('<domainsnapshot/>', libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE))
step('no disk', lambda: dom.snapshotCreateXML("<domainsnapshot><disks><disk name='vdz'/></disks></domainsnapshot>"))
step('parent of off0', lambda: off0.getParent())
step('lookup', lambda: dom.snapshotLookupByName('nosuch'))
print('current', dom.snapshotCurrent().getName(), run1.isCurrent(), off0.isCurrent(), dom.snapshotNum(),
      [s.getName() for s in dom.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)],
      [s.getName() for s in off0.listAllChildren()])
step('revert run1', lambda: dom.revertToSnapshot(run1))
step('revert run1 paused', lambda: dom.revertToSnapshot(run1, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED))
def redefine():
    text = off0.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE)
    text = text.replace('<name>off0</name>', '<name>off0</name>\n  <description>edited</description>', 1)
    s = dom.snapshotCreateXML(text, libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
    return ET.fromstring(s.getXMLDesc()).findtext('description') + ' ' + str(s.isCurrent())
step('redefine off0', redefine)
step('redefine orphan', lambda: dom.snapshotCreateXML(
    '<domainsnapshot><name>o</name><state>shutoff</state><parent><name>nope</name></parent><creationTime>1</creationTime></domainsnapshot>',
    libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
def redefine_with(snap, old, new):
    return lambda: dom.snapshotCreateXML(snap.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE).replace(old, new, 1),
                                         libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
step('redefine cycle', redefine_with(off0, '<name>off0</name>', '<name>off0</name><parent><name>run1</name></parent>'))
step('redefine offline', redefine_with(run1, '<state>running</state>', '<state>shutoff</state>'))
step('redefine disk-only', lambda: dom.snapshotCreateXML(off0.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE),
     libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY))
run2 = step('create run2', lambda: dom.snapshotCreateXML('<domainsnapshot><name>run2</name></domainsnapshot>'))
step('delete run2', lambda: run2.delete())
print('current', dom.snapshotCurrent().getName())
step('revert off0', lambda: dom.revertToSnapshot(off0))
print('current', dom.snapshotCurrent().getName())
step('revert off0 running', lambda: dom.revertToSnapshot(off0, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING))
dsk = step('disk-only', lambda: dom.snapshotCreateXML('<domainsnapshot><name>dsk</name></domainsnapshot>',
                                                      libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY))
top = lambda x: x.find('devices/disk/source').get('file').rsplit('/', 1)[-1]
print('dsk', xml(dsk), ET.fromstring(dsk.getXMLDesc()).find('disks/disk/source').get('file').rsplit('/', 1)[-1],
      top(ET.fromstring(dom.XMLDesc())), top(ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))),
      [s.getName() for s in dom.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL)])
step('revert dsk', lambda: dom.revertToSnapshot(dsk))
step('delete off0 under overlay', lambda: off0.delete())
step('delete dsk', lambda: dsk.delete())
step('delete dsk metadata', lambda: dsk.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY))
print('current', dom.snapshotCurrent().getName())
step('halt', lambda: dom.snapshotCreateXML('<domainsnapshot><name>h</name></domainsnapshot>', libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_HALT).getName())
step('delete h metadata', lambda: dom.snapshotLookupByName('h').delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY))
print('current', dom.snapshotCurrent().getName())
step('destroy', dom.destroy)
step('undefine', dom.undefine)
step('delete run1', lambda: run1.delete())
print('current', dom.snapshotCurrent().getName(), [s.getName() for s in dom.listAllSnapshots()])
step('delete off0', lambda: off0.delete())
step('has current', dom.hasCurrentSnapshot)
step('current', dom.snapshotCurrent)
dom.undefine()
print('undefined')
"#;

#[test]
fn snapshots_match_libvirtd() {
    let g = build_guest();
    let run = |uri: &str, dir: &Path| -> String {
        let xml = snap_guest_xml(&g, dir, "dsn");
        let file = dir.join("dsn.xml");
        std::fs::write(&file, xml).expect("write XML");
        let out =
            super::harness::client_cmd(super::qemu::PYTHON, dir).arg("-c").arg(SCENARIO).arg(uri).arg(&file).output().expect("python runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "scenario failed against {uri}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let ours = {
        let d = QemuDaemon::start("qemu-snap-diff", &[]);
        let out = run(&d.uri(), &d.dir.0);
        d.assert_clean();
        out
    };
    let theirs = {
        let l = super::qemu_vs_libvirtd::Libvirtd::start();
        let dir = super::harness::TempDir::new("libvirtd-snap");
        run(&l.uri(), &dir.0)
    };
    assert_eq!(ours, theirs, "oxvirtd:\n{ours}\nlibvirtd 9.0:\n{theirs}");
}

/// `qemu-img info --backing-chain` of `disk`: the files of its chain, top first.
fn chain(disk: &Path) -> Vec<String> {
    let out = std::process::Command::new("qemu-img")
        .args(["info", "-U", "--backing-chain", "--output=json"])
        .arg(disk)
        .output()
        .expect("qemu-img runs");
    assert!(out.status.success(), "qemu-img info: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("qemu-img JSON");
    v.as_array().into_iter().flatten().filter_map(|i| i.get("filename").and_then(|f| f.as_str()).map(str::to_string)).collect()
}

#[test]
fn external_disk_only_snapshots_add_overlays() {
    let g = build_guest();
    let mut d = QemuDaemon::start("qemu-snap-ext", &[]);
    let dir = d.dir.0.clone();
    define(&d, "ex", &snap_guest_xml(&g, &dir, "ex"));
    let base = dir.join("ex.img");
    let off = dir.join("ex.off");
    let live = dir.join("ex-live.qcow2");

    // Offline: a qcow2 overlay named after the snapshot; the definition follows it.
    d.virsh_ok("snapshot-create-as ex off --disk-only");
    assert_eq!(chain(&off), [off.display().to_string(), base.display().to_string()]);
    let dom = d.virsh_ok("dumpxml ex");
    assert!(dom.contains(&format!("<source file='{}'/>", off.display())) && dom.contains("type='qcow2'"), "{dom}");
    let xml = d.virsh_ok("snapshot-dumpxml ex off");
    for want in [
        "<state>shutoff</state>",
        "<memory snapshot='no'/>",
        "<disk name='vda' snapshot='external' type='file'>",
        &format!("<source file='{}'/>", off.display()),
    ] {
        assert!(xml.contains(want), "no {want} in {xml}");
    }
    assert!(xml.contains(&format!("<source file='{}'/>", base.display())), "the snapshot's <domain> keeps the old image: {xml}");

    // The guest boots from the overlay; a running disk-only snapshot adds another.
    let t = Instant::now();
    d.virsh_ok("start ex");
    wait_marker(&d, "ex", t);
    wait_counters(&dir, "ex", &[1]);
    d.virsh_ok(&format!("snapshot-create-as ex live --disk-only --diskspec vda,file={}", live.display()));
    assert_eq!(d.virsh_ok("domstate ex --reason").trim(), "running (booted)");
    assert_eq!(chain(&live), [live.display().to_string(), off.display().to_string(), base.display().to_string()]);
    assert!(d.virsh_ok("dumpxml ex").contains(&format!("<source file='{}'/>", live.display())));
    assert!(d.virsh_ok("dumpxml ex --inactive").contains(&format!("<source file='{}'/>", live.display())));
    let xml = d.virsh_ok("snapshot-dumpxml ex live");
    assert!(xml.contains("<state>disk-snapshot</state>") && xml.contains("<parent>\n    <name>off</name>"), "{xml}");
    // --quiesce asks the guest agent to freeze the file systems around it.
    agent_answers(&d, "ex");
    let quiet = dir.join("ex-quiet.qcow2");
    d.virsh_ok(&format!("snapshot-create-as ex quiet --disk-only --quiesce --diskspec vda,file={}", quiet.display()));
    assert_eq!(chain(&quiet).len(), 4);
    d.virsh_ok("snapshot-delete ex quiet --metadata");
    // The guest writes to the new top: a reset counts on.
    d.virsh_ok("reset ex");
    wait_counters(&dir, "ex", &[1, 2]);
    agent_answers(&d, "ex");
    // virsh sorts by name.
    assert_eq!(names(&d.virsh_ok("snapshot-list ex --external --name")), ["live", "off"]);
    assert!(names(&d.virsh_ok("snapshot-list ex --internal --name")).is_empty());
    assert_eq!(names(&d.virsh_ok("snapshot-list ex --disk-only --name")), ["live"]);

    // libvirt 9.0's refusals.
    let e = virsh_err(&d, "snapshot-revert ex off");
    assert!(e.contains("unsupported configuration: revert to external snapshot not supported yet"), "{e}");
    let e = virsh_err(&d, &format!("snapshot-create-as ex again --disk-only --diskspec vda,file={}", live.display()));
    assert!(e.contains("already exists and is not a block device"), "{e}");
    let e = virsh_err(&d, "snapshot-create-as ex mix --diskspec vda,snapshot=internal --disk-only");
    assert!(e.contains("active qemu domains require external disk snapshots; disk vda requested internal"), "{e}");
    let e = virsh_err(&d, "snapshot-delete ex live");
    assert!(e.contains("unsupported configuration"), "{e}");

    // A restarted daemon and a fresh QEMU run on the overlays.
    d.kill9();
    d.spawn();
    d.virsh_ok("destroy ex");
    let t = Instant::now();
    d.virsh_ok("start ex");
    wait_marker(&d, "ex", t);
    wait_counters(&dir, "ex", &[1, 2, 3]);
    d.virsh_ok("destroy ex");
    d.virsh_ok("snapshot-delete ex off --children --metadata");
    d.virsh_ok("undefine ex");
    d.assert_clean();
}
