//! `<filter>` golden tests and libvirt's rejection rules.

use oxvirt_conf::nwfilter::{AttrValue, FilterEntry, NWFilterDef};
use oxvirt_util::ErrorCode;

#[test]
fn golden_nwfilter() {
    crate::golden("nwfilter", |t| NWFilterDef::parse(t).map(|n| n.format()));
}

#[test]
fn model_and_defaults() {
    let f = NWFilterDef::parse(
        "<filter name='f' chain='arp-x'><rule action='accept' direction='in'><tcp srcportstart='0x50'/></rule></filter>",
    )
    .unwrap();
    assert_eq!(f.chain, "arp-x");
    assert_eq!(f.priority, -500);
    let FilterEntry::Rule(r) = &f.entries[0] else { panic!("not a rule") };
    assert_eq!(r.priority, 500);
    let p = r.protocol.as_ref().unwrap();
    assert_eq!(p.get("srcportstart").unwrap().value, AttrValue::Uint { value: 0x50, datatype: 4 });
    assert!(f.format().contains("srcportstart='0x50'"));
}

#[test]
fn invalid_values_are_rejected() {
    for (attrs, what) in [
        ("<arp hwtype='65536'/>", "hwtype"),
        ("<ip dscp='64'/>", "dscp"),
        ("<tcp-ipv6 srcipmask='129'/>", "srcipmask"),
        ("<mac protocolid='15'/>", "protocolid"),
        ("<vlan vlanid='4096'/>", "vlanid"),
        ("<icmp type='256'/>", "type"),
        ("<mac srcmacmask='ff:00:ff:00:00:00'/>", "srcmacmask"),
    ] {
        let x = format!("<filter name='f'><rule action='accept' direction='in'>{attrs}</rule></filter>");
        let e = NWFilterDef::parse(&x).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InternalError, "{attrs}");
        assert!(e.to_string().contains(what), "{attrs}: {e}");
    }
    let e = NWFilterDef::parse("<filter name='f' chain='bogus'/>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArg);
    let e = NWFilterDef::parse("<filter name='f'><rule direction='in'/></filter>").unwrap_err();
    assert!(e.to_string().contains("action"));
}

#[test]
fn negation_switch_splits_element() {
    // Two elements of the same protocol merge; attributes with different match
    // settings come out as separate elements, in table order.
    let f = NWFilterDef::parse(
        "<filter name='f'><rule action='drop' direction='in'><udp srcportstart='1'/><udp match='no' srcipaddr='10.0.0.1'/></rule></filter>",
    )
    .unwrap();
    let out = f.format();
    assert!(out.contains("<udp match='no' srcipaddr='10.0.0.1'/>\n    <udp srcportstart='1'/>"), "{out}");
}
