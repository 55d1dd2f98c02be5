//! Domain capabilities and the persistent capabilities cache of `qemu:///system`
//! served by oxvirtd (private root, see `qemu.rs`), with Debian's `virsh` and
//! libvirt-python: the `<domainCapabilities>` document is valid against libvirt's
//! `domaincaps.rng` and agrees with the probed `<qemuCaps>` cache document; libvirt's
//! argument errors; the cache file is written once, reused by a restarted daemon and
//! rewritten when the binary changes; and side by side with the real libvirtd 9.0
//! (`qemu_vs_libvirtd.rs`'s private-namespace daemon), the same `virsh domcapabilities`
//! lines give byte-identical output and errors. QEMU, virsh, xmllint, libvirt's schemas
//! and libvirtd's QEMU driver are required.

use super::harness::{client_cmd, TempDir};
use super::qemu::QemuDaemon;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const QEMU: &str = "/usr/bin/qemu-system-x86_64";
const SCHEMA: &str = "/usr/share/libvirt/schemas/domaincaps.rng";

/// Validate `xml` against libvirt's domain capabilities schema.
fn assert_valid(xml: &str, dir: &Path) {
    assert!(Path::new(SCHEMA).exists(), "{SCHEMA} is required (Debian package libvirt0)");
    let file = dir.join("domcaps.xml");
    std::fs::write(&file, xml).expect("write domcaps");
    let out = client_cmd("xmllint", dir)
        .args(["--noout", "--relaxng", SCHEMA])
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils)");
    assert!(out.status.success(), "not valid against {SCHEMA}:\n{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

fn doc(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("bad XML ({e}):\n{xml}"))
}

fn text<'a>(d: &'a roxmltree::Document<'_>, tag: &str) -> &'a str {
    d.descendants().find(|n| n.has_tag_name(tag)).and_then(|n| n.text()).unwrap_or_default()
}

/// The capabilities cache files below the daemon's root.
fn cache_files(root: &Path) -> Vec<PathBuf> {
    let dir = root.join("cache/qemu/capabilities");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// The cache file whose `<emulator>` is `binary`, with its text.
fn cache_of(root: &Path, binary: &str) -> (PathBuf, String) {
    let want = format!("<emulator>{binary}</emulator>");
    cache_files(root)
        .into_iter()
        .map(|p| {
            let t = std::fs::read_to_string(&p).expect("read cache file");
            (p, t)
        })
        .find(|(_, t)| t.contains(&want))
        .unwrap_or_else(|| panic!("no cache file for {binary} in {:?}", cache_files(root)))
}

fn sha256_hex(s: &str) -> String {
    let out = Command::new("sha256sum").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn();
    let mut child = out.expect("sha256sum runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(s.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("sha256sum output");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

#[test]
fn domcapabilities_agree_with_the_probed_binary() {
    assert!(Path::new(QEMU).exists(), "{QEMU} is required (Debian package qemu-system-x86)");
    let d = QemuDaemon::start("qcaps-dc", &[]);
    let scratch = TempDir::new("qcaps-dc-files");

    let xml = d.virsh_ok("domcapabilities");
    assert_valid(&xml, &scratch.0);
    let dc = doc(&xml);
    assert_eq!(text(&dc, "path"), QEMU);
    assert_eq!(text(&dc, "arch"), "x86_64");

    // The cache document of the default binary, as probed by this daemon, named by the
    // SHA-256 of the binary's path.
    let (file, caps_text) = cache_of(&d.root(), QEMU);
    assert_eq!(file.file_stem().and_then(|s| s.to_str()), Some(sha256_hex(QEMU).as_str()));
    let caps = doc(&caps_text);
    let has = |flag: &str| caps.descendants().any(|n| n.has_tag_name("flag") && n.attribute("name") == Some(flag));
    let virt = if has("kvm") { "kvm" } else { "qemu" };
    let accel = if has("kvm") { "kvm" } else { "tcg" };
    assert_eq!(text(&dc, "domain"), virt);
    // The machine is the binary's first machine type of that accelerator, and the vCPU
    // limit is that machine's.
    let first = caps.descendants().find(|n| n.has_tag_name("machine") && n.attribute("type") == Some(accel)).expect("probed machine types");
    assert_eq!(text(&dc, "machine"), first.attribute("name").unwrap_or_default());
    let vcpu = dc.descendants().find(|n| n.has_tag_name("vcpu")).and_then(|n| n.attribute("max"));
    assert_eq!(vcpu, first.attribute("maxCpus"));
    // Custom CPU models are QEMU's models for the accelerator with its usability.
    let custom = dc.descendants().find(|n| n.has_tag_name("mode") && n.attribute("name") == Some("custom")).expect("custom mode");
    assert_eq!(custom.attribute("supported"), Some("yes"));
    for m in custom.children().filter(|n| n.has_tag_name("model")) {
        let name = m.text().unwrap_or_default();
        let q = caps
            .descendants()
            .find(|n| n.has_tag_name("cpu") && n.attribute("type") == Some(accel) && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("custom model {name} is not one of QEMU's"));
        assert_eq!(m.attribute("usable"), Some(q.attribute("usable").unwrap_or("unknown")), "usability of {name}");
    }
    // Devices follow the binary's flags.
    let video = dc.descendants().find(|n| n.has_tag_name("video")).expect("video");
    let has_value = |n: roxmltree::Node<'_, '_>, v: &str| n.descendants().any(|x| x.has_tag_name("value") && x.text() == Some(v));
    assert_eq!(has_value(video, "virtio"), has("virtio-gpu"));
    assert_eq!(has_value(video, "qxl"), has("qxl"));
    let redir = dc.descendants().find(|n| n.has_tag_name("redirdev")).expect("redirdev");
    assert_eq!(redir.attribute("supported"), Some(if has("usb-redir") { "yes" } else { "no" }));

    // TCG with an aliased machine: canonical name, no host-passthrough.
    let tcg = d.virsh_ok("domcapabilities --virttype qemu --machine q35");
    assert_valid(&tcg, &scratch.0);
    let t = doc(&tcg);
    assert_eq!(text(&t, "domain"), "qemu");
    assert!(text(&t, "machine").starts_with("pc-q35-"), "{tcg}");
    let hp = t.descendants().find(|n| n.attribute("name") == Some("host-passthrough")).expect("host-passthrough");
    assert_eq!(hp.attribute("supported"), Some("no"));

    // oxvirsh prints exactly what virsh prints.
    let ox = client_cmd(&super::streams::oxvirsh_bin().display().to_string(), &scratch.0)
        .args(["-c", &d.uri(), "domcapabilities"])
        .output()
        .expect("oxvirsh runs");
    assert!(ox.status.success(), "oxvirsh domcapabilities failed: {}", String::from_utf8_lossy(&ox.stderr));
    assert_eq!(String::from_utf8_lossy(&ox.stdout), xml);

    // libvirt-python sees the same document.
    let py = d.python(
        "import libvirt, sys\nc = libvirt.open(sys.argv[1])\nsys.stdout.write(c.getDomainCapabilities(None, None, None, None, 0))\n",
    );
    assert_eq!(py.trim_end(), xml.trim_end());

    // libvirt's errors.
    let err = |line: &str| {
        let out = d.virsh(line);
        assert!(!out.status.success(), "{line} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(err("domcapabilities --arch vax").contains("invalid argument: unknown architecture: vax"));
    assert!(err("domcapabilities --virttype foo").contains("invalid argument: unknown virttype: foo"));
    assert!(err("domcapabilities --arch aarch64 --emulatorbin /usr/bin/qemu-system-x86_64")
        .contains("architecture from emulator 'x86_64' doesn't match given architecture 'aarch64'"));
    assert!(
        err("domcapabilities --machine nosuch").contains("the machine 'nosuch' is not supported by emulator '/usr/bin/qemu-system-x86_64'")
    );
    assert!(err("domcapabilities --emulatorbin /nonexistent/qemu").contains("Cannot check QEMU binary /nonexistent/qemu: No such file"));
    let ro = format!("qemu+unix:///system?socket={}", d.sock().with_file_name("libvirt-sock-ro").display());
    let out = super::harness::virsh(&ro, "domcapabilities", &scratch.0);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("read only access prevents virConnectGetDomainCapabilities"));
}

#[test]
fn the_capabilities_cache_survives_restarts_and_follows_the_binary() {
    assert!(Path::new(QEMU).exists(), "{QEMU} is required (Debian package qemu-system-x86)");
    // A wrapper of the emulator, so that "the binary" can be changed. (A plain copy
    // would not find QEMU's modules: QEMU looks for them relative to its executable.)
    let bin_dir = TempDir::new("qcaps-bin");
    let copy = bin_dir.0.join("qemu-system-x86_64");
    std::fs::write(&copy, format!("#!/bin/sh\nexec {QEMU} \"$@\"\n")).expect("write the wrapper");
    let st = Command::new("chmod").arg("755").arg(&copy).status().expect("chmod runs");
    assert!(st.success());
    let copy_s = copy.display().to_string();
    let line = format!("domcapabilities --emulatorbin {copy_s}");

    let mut d = QemuDaemon::start("qcaps-cache", &[]);
    let first = d.virsh_ok(&line);
    let (file, text1) = cache_of(&d.root(), &copy_s);
    let md1 = std::fs::metadata(&file).expect("cache file");
    assert_eq!(md1.mode() & 0o777, 0o600, "cache file mode");
    let ctime = std::fs::metadata(&copy).expect("copy").ctime();
    assert!(text1.contains(&format!("<qemuctime>{ctime}</qemuctime>")), "qemuctime of the copy not recorded");

    // Same daemon: answered from memory; restarted daemon: from the file. Neither
    // probes (the file is never rewritten: same inode, same mtime).
    assert_eq!(d.virsh_ok(&line), first);
    d.kill9();
    d.spawn();
    assert_eq!(d.virsh_ok(&line), first);
    let md2 = std::fs::metadata(&file).expect("cache file");
    assert_eq!((md2.ino(), md2.mtime(), md2.mtime_nsec()), (md1.ino(), md1.mtime(), md1.mtime_nsec()), "cache file rewritten");

    // A changed binary (new ctime) is probed again and the file replaced.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let st = Command::new("touch").arg(&copy).status().expect("touch runs");
    assert!(st.success());
    let ctime2 = std::fs::metadata(&copy).expect("copy").ctime();
    assert_ne!(ctime, ctime2);
    assert_eq!(d.virsh_ok(&line), first);
    let (_, text2) = cache_of(&d.root(), &copy_s);
    let md3 = std::fs::metadata(&file).expect("cache file");
    assert_ne!(md3.ino(), md1.ino(), "cache file not replaced after the binary changed");
    assert!(text2.contains(&format!("<qemuctime>{ctime2}</qemuctime>")), "new qemuctime not recorded");

    // A removed binary is an error, not stale data.
    std::fs::remove_file(&copy).expect("remove the copy");
    let out = d.virsh(&line);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("Cannot check QEMU binary {copy_s}")));
}

#[test]
fn domcapabilities_match_libvirtd() {
    assert!(Path::new(QEMU).exists(), "{QEMU} is required (Debian package qemu-system-x86)");
    let lines = [
        "domcapabilities",
        "domcapabilities --virttype qemu",
        "domcapabilities --machine q35",
        "domcapabilities --virttype qemu --machine q35",
        "domcapabilities --machine isapc",
        "domcapabilities --arch i686",
        "domcapabilities --emulatorbin /usr/bin/qemu-system-i386 --arch x86_64",
        "domcapabilities --arch aarch64",
        "domcapabilities --arch vax",
        "domcapabilities --virttype foo",
        "domcapabilities --virttype xen",
        "domcapabilities --machine nosuch",
        "domcapabilities --emulatorbin /nonexistent/qemu",
    ];
    let run = |uri: &str, dir: &Path| -> Vec<String> {
        let mut out: Vec<String> = lines
            .iter()
            .map(|l| {
                let o = super::harness::virsh(uri, l, dir);
                format!("{l}: exit {:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
            })
            .collect();
        let ro = uri.replace("libvirt-sock", "libvirt-sock-ro");
        let o = super::harness::virsh(&ro, "domcapabilities", dir);
        out.push(format!("read-only: exit {:?}\n{}", o.status.code(), String::from_utf8_lossy(&o.stderr)));
        out
    };
    let ours = {
        let d = QemuDaemon::start("qcaps-vs-ours", &[]);
        run(&d.uri(), &d.dir.0)
    };
    let theirs = {
        let l = super::qemu_vs_libvirtd::Libvirtd::start();
        let scratch = TempDir::new("qcaps-vs-theirs");
        run(&l.uri(), &scratch.0)
    };
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t, "oxvirtd and libvirtd 9.0 differ");
    }
    assert_eq!(ours.len(), theirs.len());
}
