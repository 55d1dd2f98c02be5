//! Host interface golden tests (`tests/data/interface`).

use crate::storage::{golden, read};
use oxvirt_conf::interface::InterfaceDef;
use oxvirt_util::ErrorCode;
use proptest::prelude::*;

#[test]
fn test_driver_eth1_round_trips() {
    let text = read("interface", "eth1.xml");
    let def = InterfaceDef::parse(&text).unwrap();
    assert_eq!(def.mac.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
    assert_eq!(def.start_mode.as_deref(), Some("onboot"));
    golden("interface", "eth1.xml", &def.format());
}

#[test]
fn bridge_with_bond() {
    let def = InterfaceDef::parse(&read("interface", "bridge-bond-in.xml")).unwrap();
    golden("interface", "bridge-bond-out.xml", &def.format());
}

#[test]
fn errors() {
    let e = InterfaceDef::parse("<interface type='vlan' name='v'><vlan/></interface>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    assert!(e.to_string().contains("tag"), "{e}");
    let e =
        InterfaceDef::parse("<interface type='bond' name='b'><bond><interface type='bridge' name='x'/></bond></interface>").unwrap_err();
    assert!(e.to_string().contains("unsupported type"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn mutated_interfaces_never_panic(cut in 0usize..800, del in 0usize..6, insert in "[<>/='a-z0-9 \"-]{0,12}") {
        let base = read("interface", "bridge-bond-in.xml");
        let mut s: Vec<char> = base.chars().collect();
        let at = cut.min(s.len());
        let end = (at + del).min(s.len());
        s.splice(at..end, insert.chars());
        let text: String = s.into_iter().collect();
        if let Ok(d) = InterfaceDef::parse(&text) {
            prop_assert_eq!(InterfaceDef::parse(&d.format()).unwrap(), d);
        }
    }
}
