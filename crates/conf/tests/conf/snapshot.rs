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
    // The embedded domain is typed, and read as an inactive definition.
    let dom = def.domain.as_ref().unwrap();
    assert_eq!(dom.name, "test");
    assert_eq!(dom.memory_kib, 8192);
    assert_eq!(dom.devices.disks[0].source_path(), Some("/var/lib/images/vdb.qcow2"));
    assert_eq!(def.disks[1].path(), Some("/var/lib/images/vdb.snap1"));
    assert_eq!(def.disks[1].source.as_ref().unwrap().path.as_deref(), Some("/var/lib/images/vdb.snap1"));
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
fn old_snapshot_without_domain_type_keeps_only_the_uuid() {
    let flags = SnapshotParseFlags { redefine: true, ..Default::default() };
    let text = "<domainsnapshot><name>s</name><state>shutoff</state>\
        <creationTime>1</creationTime><domain><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\
        </domain></domainsnapshot>";
    let def = SnapshotDef::parse(text, flags).unwrap();
    assert!(def.domain.is_none());
    let out = def.format(&SnapshotFormatOptions { domain_uuid: Some("6695eb01-f6a4-8304-79aa-97f2502e193f".into()), ..Default::default() });
    assert!(out.contains("  <domain>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n  </domain>\n"), "{out}");
}

#[test]
fn inactive_domain_is_typed_and_keeps_its_root_name() {
    let flags = SnapshotParseFlags { redefine: true, ..Default::default() };
    let dom = "<name>d</name><memory>1024</memory><os><type>hvm</type></os>";
    let text = format!(
        "<domainsnapshot><name>s</name><state>running</state><creationTime>1</creationTime>\
         <memory snapshot='external' file='/m.img'/>\
         <domain type='kvm' id='7'>{dom}</domain><inactiveDomain type='kvm'>{dom}</inactiveDomain>\
         </domainsnapshot>"
    );
    let def = SnapshotDef::parse(&text, flags).unwrap();
    // Read as inactive definitions: the live id is dropped.
    assert_eq!(def.domain.as_ref().unwrap().id, None);
    assert_eq!(def.inactive_domain.as_ref().unwrap().name, "d");
    let out = def.format(&SnapshotFormatOptions::default());
    assert!(out.contains("  <domain type='kvm'>\n    <name>d</name>"), "{out}");
    assert!(out.contains("  <inactiveDomain type='kvm'>\n    <name>d</name>"), "{out}");
    assert!(out.contains("  </inactiveDomain>\n"), "{out}");
    // A bad embedded definition fails the snapshot, as in libvirt.
    let bad = text.replace("<memory>1024</memory>", "");
    assert_eq!(SnapshotDef::parse(&bad, flags).unwrap_err().code(), ErrorCode::XmlError);
}

#[test]
fn network_disk_source_is_typed() {
    let text = "<domainsnapshot><disks><disk name='vda' type='network'>\
        <source protocol='rbd' name='pool/img'><host name='mon1' port='6789'/></source>\
        </disk></disks></domainsnapshot>";
    let def = SnapshotDef::parse(text, SnapshotParseFlags::default()).unwrap();
    let d = &def.disks[0];
    assert_eq!(d.snapshot.as_deref(), Some("external"));
    assert_eq!(d.path(), Some("pool/img"));
    let src = d.source.as_ref().unwrap();
    assert_eq!(src.protocol.as_deref(), Some("rbd"));
    assert_eq!(src.hosts, vec![(Some("mon1".to_string()), Some("6789".to_string()))]);
    let out = def.format(&SnapshotFormatOptions::default());
    assert!(out.contains("<source protocol='rbd' name='pool/img'>\n        <host name='mon1' port='6789'/>"), "{out}");
    let e = SnapshotDef::parse(&text.replace(" protocol='rbd'", ""), SnapshotParseFlags::default()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
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
            let _ = d.format(&SnapshotFormatOptions { domain_uuid: None, internal: true, secure: true });
        }
    }
}
