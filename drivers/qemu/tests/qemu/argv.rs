//! `qemu argv` and `xml format --driver qemu` on small definitions.

use oxvirt_driver_qemu::tool;

const DOMAIN: &str = "<domain type='qemu'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\
<memory unit='KiB'>219100</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>\
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk></devices></domain>";

fn write(name: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("oxvirt-qemu-test-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn argv_has_blockdev_and_pci_addresses() {
    let f = write("argv.xml", DOMAIN);
    let out = tool::argv(&["--fake-caps-flags".into(), "none".into(), f]).unwrap();
    assert!(out.starts_with("LC_ALL=C \\\n"));
    assert!(out.contains("-blockdev '{\"driver\":\"file\",\"filename\":\"/a.img\",\"node-name\":\"libvirt-1-storage\""));
    assert!(out.contains("-device virtio-blk-pci,bus=pci.0,addr=0x2,drive=libvirt-1-format,id=virtio-disk0,bootindex=1"));
    assert!(out.contains("-device virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3"));
}

#[test]
fn xml_format_adds_implicit_devices() {
    let f = write("fmt.xml", DOMAIN);
    let out = tool::xml_format(&["--driver".into(), "qemu".into(), "--fake-caps-flags".into(), "none".into(), f]).unwrap();
    assert!(out.contains("<controller type='pci' index='0' model='pci-root'/>"));
    assert!(out.contains("<input type='mouse' bus='ps2'/>"));
    assert!(out.contains("<audio id='1' type='none'/>"));
}

#[test]
fn unsupported_device_is_config_unsupported() {
    let f = write("bad.xml", &DOMAIN.replace("</devices>", "<shmem name='x'/></devices>"));
    let e = tool::argv(&["--fake-caps-flags".into(), "none".into(), f]).unwrap_err();
    let v: oxvirt_util::VirError = e.into();
    assert_eq!(v.code, oxvirt_util::ErrorCode::ConfigUnsupported);
}

const Q35: &str = "<domain type='qemu'><name>q</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\
<memory unit='KiB'>1048576</memory><vcpu>2</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os>\
<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>\
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
<disk type='file' device='disk'><source file='/q.img'/><target dev='vda' bus='virtio'/></disk>\
<controller type='usb' model='qemu-xhci'/>\
<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface></devices></domain>";

const Q35_CAPS: &str = "pcie-root-port,pcie-pci-bridge,qemu-xhci,virtio-pci-non-transitional,device.json+hotplug";

#[test]
fn q35_devices_get_pcie_root_ports_plus_one_for_hotplug() {
    let f = write("q35.xml", Q35);
    let out = tool::argv(&["--fake-caps-flags".into(), Q35_CAPS.into(), f]).unwrap();
    // net, usb, disk, balloon: four ports, a fifth left free for hotplug.
    let ports: Vec<&str> = out.lines().filter(|l| l.contains("\"driver\":\"pcie-root-port\"")).collect();
    assert_eq!(ports.len(), 5, "{out}");
    assert_eq!(
        ports[0],
        "-device '{\"driver\":\"pcie-root-port\",\"port\":8,\"chassis\":1,\"id\":\"pci.1\",\"bus\":\"pcie.0\",\"multifunction\":true,\"addr\":\"0x1\"}' \\"
    );
    assert!(ports[4].contains("\"port\":12,\"chassis\":5,\"id\":\"pci.5\",\"bus\":\"pcie.0\",\"addr\":\"0x1.0x4\""));
    assert!(out.contains("\"driver\":\"virtio-net-pci\",\"netdev\":\"hostnet0\",\"id\":\"net0\",\"mac\":\"52:54:00:00:00:01\",\"bus\":\"pci.1\",\"addr\":\"0x0\""));
    assert!(out.contains("\"driver\":\"qemu-xhci\",\"id\":\"usb\",\"bus\":\"pci.2\",\"addr\":\"0x0\""));
    assert!(out.contains("\"driver\":\"virtio-blk-pci\",\"bus\":\"pci.3\",\"addr\":\"0x0\""));
    assert!(out.contains("-rtc base=utc,driftfix=slew \\\n"));
    // The built-in SATA controller is not on the command line.
    assert!(!out.contains("ahci"));
}

#[test]
fn q35_legacy_pci_device_gets_a_pcie_to_pci_bridge() {
    let f = write("q35-legacy.xml", &Q35.replace("<model type='virtio'/>", "<model type='rtl8139'/>"));
    let out = tool::xml_format(&["--driver".into(), "qemu".into(), "--fake-caps-flags".into(), Q35_CAPS.into(), f]).unwrap();
    assert!(out.contains("<controller type='pci' index='1' model='pcie-root-port'>"), "{out}");
    assert!(out.contains("<controller type='pci' index='2' model='pcie-to-pci-bridge'>"), "{out}");
    assert!(out.contains("<model name='pcie-pci-bridge'/>"));
    assert!(out.contains("<target chassis='1' port='0x8'/>"));
    // The rtl8139 sits in the first slot of the bridge.
    assert!(out.contains("<address type='pci' domain='0x0000' bus='0x02' slot='0x01' function='0x0'/>"), "{out}");
}

#[test]
fn i440fx_full_bus_gets_a_pci_bridge() {
    // 31 virtio disks (vda..vdz, vdaa..vdae) fill pci.0 beyond its 29 free slots.
    let names = (b'a'..=b'z').map(|c| format!("vd{}", c as char)).chain((b'a'..=b'e').map(|c| format!("vda{}", c as char)));
    let disks: String = names
        .enumerate()
        .map(|(i, n)| format!("<disk type='file' device='disk'><source file='/d{i}.img'/><target dev='{n}' bus='virtio'/></disk>"))
        .collect();
    let f = write(
        "full.xml",
        &DOMAIN.replace("<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>", &disks),
    );
    let out = tool::xml_format(&["--driver".into(), "qemu".into(), "--fake-caps-flags".into(), "none".into(), f]).unwrap();
    assert!(out.contains("<controller type='pci' index='1' model='pci-bridge'>"), "{out}");
    assert!(out.contains("<target chassisNr='1'/>"));
}

/// Regression: PCI controllers without an index (as virt-install writes root ports)
/// took index 0, the root bus's, and the definition failed with "Invalid PCI address
/// 0000:00:1f.0. slot must be <= 0".
#[test]
fn unindexed_root_ports_number_after_the_root_bus() {
    let q35 = DOMAIN
        .replace("machine='pc'", "machine='q35'")
        .replace("</devices>", "<controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/></devices>");
    let f = write("rootports.xml", &q35);
    let out = tool::xml_format(&["--driver".into(), "qemu".into(), "--fake-caps-flags".into(), "none".into(), f]).unwrap();
    assert!(out.contains("<controller type='pci' index='0' model='pcie-root'/>"), "{out}");
    assert!(out.contains("<controller type='pci' index='1' model='pcie-root-port'>"), "{out}");
    assert!(out.contains("<controller type='pci' index='2' model='pcie-root-port'>"), "{out}");
}
