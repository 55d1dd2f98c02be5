//! Domain snapshot golden tests (`tests/data/snapshot`).

use crate::storage::{golden, read};
use oxvirt_conf::snapshot::{SnapshotDef, SnapshotFormatOptions, SnapshotParseFlags};
use oxvirt_util::ErrorCode;
use proptest::prelude::*;

#[test]
fn redefine_round_trip() {
    let flags = SnapshotParseFlags { redefine: true, ..Default::default() };
    let def = SnapshotDef::parse(&read("snapshot", "redefine-in.xml"), flags).unwrap();
    assert_eq!(def.parent.as_deref(), Some("snap0"));
    assert_eq!(def.memory.as_deref(), Some("no"));
    golden("snapshot", "redefine-out.xml", &def.format(&SnapshotFormatOptions::default()));
}

#[test]
fn new_snapshot_ignores_redefine_only_fields() {
    let def = SnapshotDef::parse(&read("snapshot", "redefine-in.xml"), SnapshotParseFlags::default()).unwrap();
    assert_eq!(def.state, None);
    assert_eq!(def.creation_time, None);
    assert!(def.domain.is_none());
}

#[test]
fn errors() {
    let flags = SnapshotParseFlags { redefine: true, ..Default::default() };
    let e = SnapshotDef::parse("<domainsnapshot><state>running</state></domainsnapshot>", flags).unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    let e = SnapshotDef::parse("<domainsnapshot><memory file='rel'/></domainsnapshot>", SnapshotParseFlags::default()).unwrap_err();
    assert!(e.to_string().contains("absolute"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn mutated_snapshots_never_panic(cut in 0usize..700, del in 0usize..6, insert in "[<>/='a-z0-9 \"-]{0,12}", redefine: bool) {
        let base = read("snapshot", "redefine-in.xml");
        let mut s: Vec<char> = base.chars().collect();
        let at = cut.min(s.len());
        let end = (at + del).min(s.len());
        s.splice(at..end, insert.chars());
        let text: String = s.into_iter().collect();
        let flags = SnapshotParseFlags { redefine, ..Default::default() };
        if let Ok(d) = SnapshotDef::parse(&text, flags) {
            let _ = d.format(&SnapshotFormatOptions { domain_uuid: None, internal: true });
        }
    }
}
