//! The non-QEMU documents of libvirt's `domaincapstest` (`--testsuite --preset NAME`):
//! an empty document and the ones the libxl and bhyve drivers fill for the test
//! suite's fixed inputs. They exercise the formatter with sections QEMU never leaves
//! out or always reports.

use super::*;

fn simple_features(dc: &mut DomainCaps) {
    dc.gic = Section::no("gic");
    dc.set_feature("vmcoreinfo", false);
    dc.set_feature("genid", false);
}

fn hostdev(subsys: &[&str], backend: &[&str]) -> Section {
    let mut mode = Enum::new("mode", HOSTDEV_MODE);
    mode.set("subsystem");
    let mut policy = Enum::new("startupPolicy", STARTUP_POLICY);
    policy.set_all(STARTUP_POLICY);
    let mut s = Enum::new("subsysType", HOSTDEV_SUBSYS);
    s.set_all(subsys);
    let mut b = Enum::new("pciBackend", PCI_BACKEND);
    b.set_all(backend);
    Section::new("hostdev", vec![mode, policy, s, Enum::new("capsType", HOSTDEV_CAPS), b])
}

fn disk(devices: &[&str], buses: &[&str]) -> Section {
    let mut d = Enum::new("diskDevice", DISK_DEVICE);
    d.set_all(devices);
    let mut b = Enum::new("bus", DISK_BUS);
    b.set_all(buses);
    Section::new("disk", vec![d, b, Enum::new("model", DISK_MODEL)])
}

fn one_enum(section: &'static str, name: &'static str, table: &'static [&'static str], vals: &[&str]) -> Section {
    let mut e = Enum::new(name, table);
    e.set_all(vals);
    Section::new(section, vec![e])
}

fn libxl_xenpv() -> DomainCaps {
    let mut dc = DomainCaps::new("/usr/bin/qemu-system-x86_64", Some("xenpv"), "x86_64", "xen");
    dc.max_vcpus = 512;
    dc.iothreads = Some(false);
    let mut os = Section::new("os", Vec::new());
    os.sub.push(Section::no("loader"));
    dc.os = os;
    dc.devices.push(disk(&["disk", "cdrom"], &["ide", "scsi", "xen"]));
    dc.devices.push(one_enum("graphics", "type", GRAPHICS, &["sdl", "vnc", "spice"]));
    dc.devices.push(one_enum("video", "modelType", VIDEO, &["vga", "cirrus", "xen"]));
    dc.devices.push(hostdev(&["usb", "pci"], &["xen"]));
    simple_features(&mut dc);
    dc
}

fn bhyve(uefi: bool) -> DomainCaps {
    let mut dc = DomainCaps::new("/usr/sbin/bhyve", None, "x86_64", "bhyve");
    dc.iothreads = Some(false);
    let mut os = Section::new("os", Vec::new());
    if uefi {
        let mut t = Enum::new("type", LOADER_TYPE);
        t.set("pflash");
        let mut ro = Enum::new("readonly", TRISTATE_BOOL);
        ro.set("yes");
        let mut loader = Section::new("loader", vec![t, ro]);
        loader.values = vec!["/foo/bar".into(), "/foo/baz".into()];
        os.sub.push(loader);
    } else {
        os.sub.push(Section::no("loader"));
    }
    dc.os = os;
    dc.devices.push(disk(&["disk", "cdrom"], &["virtio", "sata"]));
    dc.devices.push(Section::no("graphics"));
    dc.devices.push(Section::no("video"));
    dc.devices.push(Section::no("hostdev"));
    simple_features(&mut dc);
    dc
}

/// The preset document `name` of the test suite.
pub fn preset(name: &str) -> Result<DomainCaps> {
    match name {
        "empty" => Ok(DomainCaps::new("/bin/emulatorbin", Some("my-machine-type"), "x86_64", "kvm")),
        "libxl-xenpv" => Ok(libxl_xenpv()),
        "bhyve_basic.x86_64" => Ok(bhyve(false)),
        "bhyve_uefi.x86_64" => Ok(bhyve(true)),
        other => Err(QemuError::Unsupported(format!("unknown domain capabilities preset '{other}'"))),
    }
}
