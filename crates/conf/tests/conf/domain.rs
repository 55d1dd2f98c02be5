//! Domain XML: golden files under `tests/data/domain/` (set `OXVIRT_REGENERATE=1` to
//! rewrite the expected outputs), libvirt's error codes, and property tests.

#![allow(clippy::unwrap_used)] // tests may panic

use oxvirt_conf::domain::{DomainDef, FormatOptions, ParseOptions};
use oxvirt_util::ErrorCode;
use proptest::prelude::*;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/domain").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parse `input`, format, compare with `expected` (or rewrite it when regenerating),
/// then check that the output is a fixpoint.
fn golden(input: &str, expected: &str, popts: &ParseOptions) {
    let def = DomainDef::parse(&read(input), popts).unwrap_or_else(|e| panic!("{input}: {e}"));
    let fopts = FormatOptions { id: def.id, inactive: popts.inactive, secure: true };
    let out = def.format(&fopts);
    if std::env::var_os("OXVIRT_REGENERATE").is_some() {
        std::fs::write(data(expected), &out).unwrap();
    } else {
        assert_eq!(out, read(expected), "{input} -> {expected}");
    }
    let again = DomainDef::parse(&out, popts).unwrap().format(&fopts);
    assert_eq!(again, out, "{expected} is not a fixpoint");
}

fn test_opts() -> ParseOptions {
    ParseOptions { driver: Some("test".into()), inactive: false }
}

#[test]
fn test_driver_default_domain_round_trips() {
    let text = read("test-default.xml");
    let def = DomainDef::parse(&text, &ParseOptions::default()).unwrap();
    assert_eq!(def.name, "test");
    assert_eq!(def.memory_kib, 8388608);
    assert_eq!(def.current_memory_kib, 2097152);
    assert_eq!((def.vcpus_max, def.vcpus_current), (2, 2));
    assert_eq!(def.os.os_type, "hvm");
    assert_eq!(def.os.arch.as_deref(), Some("i686"));
    assert_eq!(def.devices.disks[0].target_dev, "vda");
    assert_eq!(def.devices.disks[0].source_path(), Some("/guest/diskimage1"));
    assert_eq!(def.devices.interfaces[0].source_network.as_deref(), Some("default"));
    assert_eq!(def.format(&FormatOptions { id: Some(1), ..Default::default() }), text);
    // Inactive output drops the id.
    let inactive = def.format(&FormatOptions { id: Some(1), inactive: true, secure: false });
    assert!(inactive.starts_with("<domain type='test'>\n"));
}

#[test]
fn golden_minimal_gets_defaults() {
    golden("minimal.in.xml", "minimal.out.xml", &test_opts());
}

#[test]
fn golden_full_reorders_and_keeps_foreign_data() {
    golden("full.in.xml", "full.out.xml", &ParseOptions { driver: Some("qemu".into()), inactive: true });
}

#[test]
fn golden_chardevs_and_implicit_controllers() {
    golden("chardev-tcp.in.xml", "chardev-tcp.out.xml", &test_opts());
}

fn err(xml: &str) -> (ErrorCode, String) {
    let e = DomainDef::parse(xml, &test_opts()).expect_err("must fail");
    (e.code(), e.to_string())
}

const BASE: &str = "<domain type='test'><name>a</name><memory>1024</memory>DEV</domain>";

fn with(dev: &str) -> String {
    BASE.replace("DEV", dev)
}

#[test]
fn errors_carry_libvirt_codes() {
    assert_eq!(err("<domain type='test'><memory>1</memory></domain>").0, ErrorCode::NoName);
    assert_eq!(
        err("<domain><name>a</name><memory>1</memory></domain>"),
        (ErrorCode::InternalError, "missing domain type attribute".into())
    );
    assert_eq!(err("<domain type='bogus'><name>a</name></domain>").0, ErrorCode::ConfigUnsupported);
    let (code, msg) = err(&with("<uuid>not-a-uuid</uuid>"));
    assert_eq!((code, msg.as_str()), (ErrorCode::InternalError, "malformed uuid element"));
    assert_eq!(err("<domain type='test'><name>a/b</name><memory>1</memory></domain>").0, ErrorCode::XmlError);
    assert_eq!(err("<domain type='test'><name>a</name>").0, ErrorCode::XmlDetail);
    assert_eq!(err("<network/>").0, ErrorCode::XmlError);
    let (code, msg) = err(&with("<devices><disk device='tape'><target dev='vda'/></disk></devices>"));
    assert_eq!(code, ErrorCode::XmlError);
    assert!(msg.contains("'device'") && msg.contains("'disk'") && msg.contains("tape"), "{msg}");
    let (_, msg) = err(&with("<devices><disk type='file'><source file='/x'/></disk></devices>"));
    assert!(msg.contains("target"), "{msg}");
    assert_eq!(err("<domain type='test'><name>a</name></domain>").0, ErrorCode::XmlError);
    let (_, msg) = err(&with("<devices><interface type='network'/></devices>"));
    assert!(msg.contains("network"), "{msg}");
    let (_, msg) = err(&with("<vcpu current='3'>2</vcpu>"));
    assert!(msg.contains("current vcpus"), "{msg}");
    let (code, _) = err(&with("<devices><graphics type='vnc' socket='/a'><listen type='socket' socket='/b'/></graphics></devices>"));
    assert_eq!(code, ErrorCode::ConfigUnsupported);
    let (code, _) = err(&with("<devices><disk><target dev='vda'/><boot order='1'/></disk></devices><os><boot dev='hd'/></os>"));
    assert_eq!(code, ErrorCode::ConfigUnsupported);
}

#[test]
fn typed_accessors_for_drivers() {
    let def = DomainDef::parse(&read("full.in.xml"), &ParseOptions { driver: Some("qemu".into()), inactive: true }).unwrap();
    let vda = def.devices.disks.iter().find(|d| d.target_dev == "vda").unwrap();
    assert_eq!(vda.driver_type(), Some("qcow2"));
    assert_eq!(vda.info.boot_order, Some(1));
    assert!(vda.shareable);
    let vol = def.devices.disks.iter().find(|d| d.device == "cdrom").unwrap();
    assert_eq!((vol.source.pool.as_deref(), vol.source.volume.as_deref()), (Some("default"), Some("install.iso")));
    assert!(vol.readonly);
    assert_eq!(def.devices.interfaces[1].source_bridge.as_deref(), Some("br0"));
    assert_eq!(def.devices.interfaces[2].source_mode.as_deref(), Some("vepa"));
    assert_eq!(def.devices.graphics[1].port, 5905);
    assert_eq!(def.memory_kib, 1024 * 1024);
    assert_eq!(def.max_memory_kib, Some(4 * 1024 * 1024));
    assert_eq!((def.vcpus_max, def.vcpus_current), (4, 2));
    assert_eq!(def.os.kernel.as_deref(), Some("/boot/vmlinuz"));
    assert_eq!(def.os.loader_path().as_deref(), Some("/usr/share/OVMF/OVMF_CODE.fd"));
}

#[test]
fn console_aliases_first_serial_and_passwd_needs_secure() {
    let def =
        DomainDef::parse(&with("<devices><console type='pty'/><graphics type='vnc' passwd='s3cret'/></devices>"), &test_opts()).unwrap();
    let out = def.format(&FormatOptions::default());
    assert!(out.contains("<serial type='pty'>\n      <target port='0'/>"), "{out}");
    assert!(out.contains("<console type='pty'>\n      <target type='serial' port='0'/>"), "{out}");
    assert!(!out.contains("s3cret"));
    let secure = def.format(&FormatOptions { secure: true, ..Default::default() });
    assert!(secure.contains("passwd='s3cret'"));
}

#[test]
fn generated_uuid_and_mac_when_absent() {
    let def = DomainDef::parse(&with("<devices><interface type='user'/></devices>"), &test_opts()).unwrap();
    assert_ne!(def.uuid, [0u8; 16]);
    assert!(def.devices.interfaces[0].mac.starts_with("52:54:00:"));
}

// ------------------------------------------------------------------ properties

fn simple_domain() -> impl Strategy<Value = String> {
    (
        "[a-zA-Z][a-zA-Z0-9_.-]{0,15}",
        1u64..(1 << 24),
        1u32..64,
        proptest::collection::vec(("[a-z]{1,3}", 0u8..4, "/[a-z]{1,8}"), 0..4),
        proptest::collection::vec((0u8..4, "[0-9a-f]{2}"), 0..3),
        any::<bool>(),
        proptest::option::of("[ -~]{0,20}"),
    )
        .prop_map(|(name, mem, vcpus, disks, nets, vnc, title)| {
            let mut s = format!("<domain type='test'><name>{name}</name><memory unit='KiB'>{mem}</memory><vcpu>{vcpus}</vcpu>");
            if let Some(t) = title {
                s.push_str(&format!("<title>{}</title>", oxvirt_conf::xml::escape(&t)));
            }
            s.push_str("<devices>");
            for (i, (dev, bus, path)) in disks.iter().enumerate() {
                let bus = ["virtio", "ide", "scsi", "sata"][*bus as usize];
                s.push_str(&format!("<disk type='file' device='disk'><source file='{path}'/><target dev='{dev}{i}' bus='{bus}'/></disk>"));
            }
            for (ty, b) in nets {
                let (t, src) =
                    [("network", "<source network='default'/>"), ("bridge", "<source bridge='br0'/>"), ("user", ""), ("ethernet", "")]
                        [ty as usize];
                s.push_str(&format!("<interface type='{t}'><mac address='52:54:00:00:00:{b}'/>{src}</interface>"));
            }
            if vnc {
                s.push_str("<graphics type='vnc'/><video><model type='vga' heads='1'/></video>");
            }
            s.push_str("</devices></domain>");
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics(s in "\\PC{0,200}") {
        let _ = DomainDef::parse(&s, &ParseOptions::default());
    }

    #[test]
    fn mutated_documents_never_panic(pos in any::<prop::sample::Index>(), len in 0usize..40, ins in "[<>/='a-z0-9 \"&;-]{0,8}") {
        let base = read("full.in.xml");
        let mut b: Vec<char> = base.chars().collect();
        let p = pos.index(b.len());
        let end = (p + len).min(b.len());
        b.splice(p..end, ins.chars());
        let text: String = b.into_iter().collect();
        let _ = DomainDef::parse(&text, &ParseOptions { driver: Some("qemu".into()), inactive: false });
        let _ = DomainDef::parse(&text, &ParseOptions { driver: None, inactive: true });
    }

    #[test]
    fn format_is_a_fixpoint(xml in simple_domain()) {
        let opts = ParseOptions::default();
        let def = DomainDef::parse(&xml, &opts).unwrap();
        let once = def.format(&FormatOptions::default());
        let twice = DomainDef::parse(&once, &opts).unwrap().format(&FormatOptions::default());
        prop_assert_eq!(once, twice);
    }
}
