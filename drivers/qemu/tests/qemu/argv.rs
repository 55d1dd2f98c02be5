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
