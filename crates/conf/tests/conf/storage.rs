//! Storage pool and volume golden tests (`tests/data/pool`, `tests/data/vol`).
//! Set `OXVIRT_REGENERATE=1` to rewrite the expected files from the current output.

use oxvirt_conf::storage::{PoolDef, VolDef, VolParseFlags};
use oxvirt_util::ErrorCode;
use proptest::prelude::*;
use std::path::PathBuf;

pub fn data(kind: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(kind).join(name)
}

/// Compare `actual` with the expected file, or rewrite it under `OXVIRT_REGENERATE`.
pub fn golden(kind: &str, name: &str, actual: &str) {
    let path = data(kind, name);
    if std::env::var_os("OXVIRT_REGENERATE").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(actual, expected, "{}", path.display());
}

pub fn read(kind: &str, name: &str) -> String {
    std::fs::read_to_string(data(kind, name)).unwrap()
}

#[test]
fn test_driver_default_pool_round_trips() {
    let text = read("pool", "default-pool.xml");
    let pool = PoolDef::parse(&text).unwrap();
    assert_eq!(pool.pool_type, "dir");
    assert_eq!(pool.target.as_ref().unwrap().path, "/default-pool");
    // The test driver fills sizes in after parsing.
    let pool = PoolDef { capacity: 107374182400, available: 107374182400, ..pool };
    golden("pool", "default-pool.xml", &pool.format());
}

#[test]
fn pool_goldens() {
    for name in ["logical", "netfs"] {
        let pool = PoolDef::parse(&read("pool", &format!("{name}-in.xml"))).unwrap();
        golden("pool", &format!("{name}-out.xml"), &pool.format());
    }
}

#[test]
fn volume_in_default_pool() {
    let pool = PoolDef::parse(&read("pool", "default-pool.xml")).unwrap();
    let vol = VolDef::parse(&read("vol", "file-in.xml"), &pool, VolParseFlags::default()).unwrap();
    assert_eq!(vol.capacity, 10 << 30);
    golden("vol", "file-out.xml", &vol.format());
}

#[test]
fn volume_formats_follow_pool_type() {
    let disk = PoolDef::parse(
        "<pool type='disk'><name>d</name><source><device path='/dev/sda'/></source><target><path>/dev</path></target></pool>",
    )
    .unwrap();
    let dir = PoolDef::parse(&read("pool", "default-pool.xml")).unwrap();
    let vol = "<volume><name>p1</name><capacity>1</capacity><target><format type='linux-swap'/></target></volume>";
    assert_eq!(VolDef::parse(vol, &disk, VolParseFlags::default()).unwrap().target.format.as_deref(), Some("linux-swap"));
    let e = VolDef::parse(vol, &dir, VolParseFlags::default()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigUnsupported);
}

#[test]
fn volume_capacity_rules() {
    let pool = PoolDef::parse(&read("pool", "default-pool.xml")).unwrap();
    let vol = "<volume><name>v</name></volume>";
    let e = VolDef::parse(vol, &pool, VolParseFlags::default()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    assert!(e.to_string().contains("capacity"), "{e}");
    let v = VolDef::parse(vol, &pool, VolParseFlags { no_capacity: true, ..Default::default() }).unwrap();
    assert_eq!(v.capacity, 0);
}

#[test]
fn pool_errors_carry_libvirt_codes() {
    let e = PoolDef::parse("<pool type='dir'><target><path>/x</path></target></pool>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    assert!(e.to_string().contains("name"), "{e}");
    let e = PoolDef::parse("<pool type='bogus'><name>x</name></pool>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    assert!(e.to_string().contains("type"), "{e}");
    let e = PoolDef::parse(
        "<pool type='fs'><name>x</name><source><device path='/dev/a'/><format type='zz'/></source><target><path>/x</path></target></pool>",
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigUnsupported);
    let e = PoolDef::parse("<pool type='dir'><name>x</name>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlDetail);
}

fn mutate(base: &str, cut: usize, insert: &str) -> String {
    let mut s: Vec<char> = base.chars().collect();
    let at = cut % (s.len() + 1);
    let end = (at + insert.len() % 5).min(s.len());
    s.splice(at..end, insert.chars());
    s.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pool_and_vol_parsers_never_panic(cut in 0usize..2000, insert in "[<>/='a-z0-9 \"-]{0,12}", which in 0usize..3) {
        let bases = [read("pool", "logical-in.xml"), read("pool", "netfs-in.xml"), read("pool", "default-pool.xml")];
        let text = mutate(&bases[which], cut, &insert);
        if let Ok(pool) = PoolDef::parse(&text) {
            let _ = PoolDef::parse(&pool.format());
        }
        let pool = PoolDef::parse(&bases[2]).unwrap();
        let vtext = mutate(&read("vol", "file-in.xml"), cut, &insert);
        let _ = VolDef::parse(&vtext, &pool, VolParseFlags::default());
    }

    #[test]
    fn garbage_never_panics(s in "\\PC{0,200}") {
        let _ = PoolDef::parse(&s);
        let pool = PoolDef::parse(&read("pool", "default-pool.xml")).unwrap();
        let _ = VolDef::parse(&s, &pool, VolParseFlags::default());
        let _ = oxvirt_conf::interface::InterfaceDef::parse(&s);
        let _ = oxvirt_conf::snapshot::SnapshotDef::parse(&s, Default::default());
        let _ = oxvirt_conf::capabilities::CapsDef::parse(&s);
        let _ = oxvirt_conf::nodedev::NodeDeviceDef::parse(&s);
    }
}
