//! Host capabilities (`virConnectGetCapabilities`) of `qemu:///system` served by
//! oxvirtd (private root, see `qemu.rs`): `virsh capabilities` is valid against
//! libvirt's `capability.rng`, libvirt-python's `getCapabilities()` and `oxvirsh
//! capabilities` print the same document, and side by side with the real libvirtd 9.0
//! (`qemu_vs_libvirtd.rs`'s private-namespace daemon, also running QEMU as root with
//! `security_driver = "none"`) the documents are identical but for the host UUID when
//! the host has no SMBIOS UUID. virsh, libvirt-python, xmllint, libvirt's schemas, QEMU
//! and libvirtd's QEMU driver are required.

use super::harness::{client_cmd, virsh, TempDir};
use super::qemu::{QemuDaemon, PYTHON};
use super::qemu_vs_libvirtd::Libvirtd;
use super::tls::oxvirsh;
use std::path::Path;

const SCHEMA: &str = "/usr/share/libvirt/schemas/capability.rng";
const SMBIOS_UUID: [&str; 2] = ["/sys/devices/virtual/dmi/id/product_uuid", "/sys/class/dmi/id/product_uuid"];

/// Validate `xml` against libvirt's capabilities schema. libvirt 9.0's `hostcpu`
/// definition (cputypes.rng) restricts a host CPU `<feature name>` to
/// `[a-zA-Z0-9\-_]+`, while its own CPU map names `sse4.1` and `sse4.2`, so libvirtd's
/// own `virsh capabilities` fails the schema on any host with SSE4; the dots in those
/// names are replaced before validating.
fn assert_valid(xml: &str, dir: &Path, name: &str) {
    assert!(Path::new(SCHEMA).exists(), "{SCHEMA} is required (Debian package libvirt0)");
    let file = dir.join(name);
    let checked: String = xml
        .lines()
        .map(|l| if l.trim_start().starts_with("<feature name='") { l.replace('.', "_") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&file, checked).expect("write capabilities");
    let out = client_cmd("xmllint", dir)
        .args(["--noout", "--relaxng", SCHEMA])
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils)");
    assert!(out.status.success(), "not valid against {SCHEMA}:\n{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

fn virsh_ok(uri: &str, line: &str, home: &Path) -> String {
    let out = virsh(uri, line, home);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "virsh {line} against {uri} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn host_uuid(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("bad XML ({e}):\n{xml}"));
    doc.descendants().find(|n| n.has_tag_name("uuid")).and_then(|n| n.text()).unwrap_or_default().to_string()
}

/// The document with its `<host><uuid>` replaced by a marker.
fn without_uuid(xml: &str) -> String {
    let uuid = host_uuid(xml);
    assert_eq!(uuid.len(), 36, "no host UUID in:\n{xml}");
    xml.replacen(&format!("<uuid>{uuid}</uuid>"), "<uuid>@HOST-UUID@</uuid>", 1)
}

#[test]
fn capabilities_match_libvirtd() {
    let scratch = TempDir::new("hostcaps-vs");
    let ours = {
        let d = QemuDaemon::start("hostcaps-ours", &[]);
        d.virsh_ok("capabilities")
    };
    let theirs = {
        let l = Libvirtd::start();
        virsh_ok(&l.uri(), "capabilities", &scratch.0)
    };
    assert_valid(&ours, &scratch.0, "ours.xml");
    assert_valid(&theirs, &scratch.0, "theirs.xml");
    // The one normalisation: without an SMBIOS system UUID, libvirtd (virGetHostUUID)
    // and oxvirtd each make up a random host UUID at start, so the values differ; with
    // one both read it and must agree.
    let smbios = SMBIOS_UUID.iter().any(|p| std::fs::read_to_string(p).is_ok_and(|t| !t.trim().is_empty()));
    let (ours, theirs) = if smbios { (ours, theirs) } else { (without_uuid(&ours), without_uuid(&theirs)) };
    if ours != theirs {
        let a = scratch.0.join("ours.xml");
        let b = scratch.0.join("theirs.xml");
        std::fs::write(&a, &ours).expect("write");
        std::fs::write(&b, &theirs).expect("write");
        let diff = client_cmd("diff", &scratch.0).arg("-u").arg(&b).arg(&a).output().expect("diff runs");
        panic!("capabilities differ from libvirtd's (- libvirtd, + oxvirtd):\n{}", String::from_utf8_lossy(&diff.stdout));
    }
}

#[test]
fn capabilities_agree_across_clients() {
    let d = QemuDaemon::start("hostcaps-clients", &[]);
    let first = d.virsh_ok("capabilities");
    assert_valid(&first, &d.dir.0, "caps.xml");
    // The host UUID stays the same for the daemon's life.
    assert_eq!(d.virsh_ok("capabilities"), first, "a second call gave another document");
    assert!(Path::new(PYTHON).exists(), "{PYTHON} with python3-libvirt is required");
    let py = d.python("import sys, libvirt\nsys.stdout.write(libvirt.open(sys.argv[1]).getCapabilities())\n");
    // virNodeGetCPUMap (what libvirt-python's vcpus() needs): as many online CPUs as
    // the host has, per sysfs.
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").expect("read sysfs");
    let n: usize = online
        .trim()
        .split(',')
        .map(|p| p.split_once('-').map_or(1, |(a, b)| b.parse::<usize>().unwrap_or(0) - a.parse::<usize>().unwrap_or(0) + 1))
        .sum();
    let map = d.python("import sys, libvirt\nn, m, online = libvirt.open(sys.argv[1]).getCPUMap()\nprint(sum(m), online)\n");
    assert_eq!(map.trim(), format!("{n} {n}"), "getCPUMap: {map}");
    // The document ends with one newline, as libvirt's; virsh adds blank lines of its own.
    assert!(py.ends_with("</capabilities>\n"), "the document does not end as libvirt's:\n{py}");
    assert_eq!(py.trim_end(), first.trim_end(), "libvirt-python's getCapabilities() differs from virsh capabilities");
    let out = oxvirsh(&d.uri(), &["capabilities"], &d.dir.0);
    assert!(out.status.success(), "oxvirsh capabilities failed: {}", String::from_utf8_lossy(&out.stderr));
    // Compared without trailing blank lines: oxvirsh prints one newline fewer than virsh
    // after the document (on every driver, test:///default too).
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), first.trim_end(), "oxvirsh capabilities differs from virsh capabilities");
    // Facts the host section must carry on this machine.
    let doc = roxmltree::Document::parse(&first).expect("XML");
    let cpus = doc.descendants().filter(|n| n.has_tag_name("cpu") && n.attribute("siblings").is_some()).count();
    let online = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default().lines().filter(|l| l.starts_with("processor")).count();
    assert_eq!(cpus, online, "NUMA cells do not list every CPU:\n{first}");
    assert!(first.contains("<emulator>/usr/bin/qemu-system-x86_64</emulator>"), "no x86_64 guest:\n{first}");
    assert!(first.contains("<baselabel type='qemu'>+0:+0</baselabel>"), "no DAC base label for root:\n{first}");
}
