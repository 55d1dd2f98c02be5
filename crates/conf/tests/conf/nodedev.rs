//! Node device golden tests (`tests/data/nodedev`, captured from the test driver).

use crate::storage::{golden, read};
use oxvirt_conf::nodedev::{NodeDevCapData, NodeDeviceDef};
use oxvirt_util::ErrorCode;

#[test]
fn test_driver_devices_round_trip() {
    for name in ["computer.xml", "scsi_host1.xml"] {
        let def = NodeDeviceDef::parse(&read("nodedev", name)).unwrap();
        golden("nodedev", name, &def.format());
    }
    let def = NodeDeviceDef::parse(&read("nodedev", "scsi_host1.xml")).unwrap();
    assert_eq!(def.parent.as_deref(), Some("computer"));
    assert!(matches!(&def.capabilities[0].data, NodeDevCapData::ScsiHost(s) if s.host == 1 && s.fc_host.is_some()));
}

#[test]
fn errors() {
    let e = NodeDeviceDef::parse("<device><name>x</name><capability type='bogus'/></device>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    assert!(e.to_string().contains("bogus"), "{e}");
    let e = NodeDeviceDef::parse("<device><name>x</name></device>").unwrap_err();
    assert!(e.to_string().contains("capabilities"), "{e}");
}
