//! `<network>` and `<networkport>` golden tests, error codes, and no-panic properties
//! for every parser of this area.

use oxvirt_conf::network::{ForwardIf, ForwardMode, NetworkDef};
use oxvirt_conf::networkport::{NetworkPortDef, PortPlug};
use oxvirt_conf::nwfilter::NWFilterDef;
use oxvirt_conf::secret::SecretDef;
use oxvirt_util::ErrorCode;
use proptest::prelude::*;

#[test]
fn golden_network() {
    crate::golden("network", |t| NetworkDef::parse(t).map(|n| n.format()));
}

#[test]
fn golden_networkport() {
    crate::golden("networkport", |t| NetworkPortDef::parse(t).map(|n| n.format()));
}

#[test]
fn default_network_model() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/network/default.xml")).unwrap();
    let n = NetworkDef::parse(&text).unwrap();
    assert_eq!(n.name, "default");
    assert_eq!(oxvirt_util::uuid::format(&n.uuid), "dd8fe884-6c02-601e-7551-cca97df1c5df");
    assert_eq!(n.forward.as_ref().unwrap().mode, ForwardMode::Nat);
    assert_eq!(n.bridge.as_ref().unwrap().name.as_deref(), Some("virbr0"));
    assert_eq!(n.ips[0].ranges.len(), 1);
    assert_eq!(n.format(), text);
}

#[test]
fn missing_uuid_is_generated() {
    let a = NetworkDef::parse("<network><name>n</name></network>").unwrap();
    let b = NetworkDef::parse("<network><name>n</name></network>").unwrap();
    assert!(!a.uuid_specified);
    assert_ne!(a.uuid, b.uuid);
    // An isolated network still gets a bridge element with the stp defaults.
    assert!(a.format().contains("<bridge stp='on' delay='0'/>"));
}

#[test]
fn network_errors_carry_libvirt_codes() {
    let e = NetworkDef::parse("<network><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::NoName);
    let e = NetworkDef::parse("<network><name>n</name><forward mode='bogus'/></network>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigUnsupported);
    assert!(e.to_string().contains("bogus"));
    let e = NetworkDef::parse("<network><name>n</name><dns enable='no'><txt name='a' value='b'/></dns></network>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    let e = NetworkDef::parse("<network><name>n</name><ip address='10.0.0.1' prefix='40'/></network>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigUnsupported);
    let e = NetworkDef::parse("<network><name>n</name><port isolated='maybe'/></network>").unwrap_err();
    assert!(e.to_string().contains("'isolated'") && e.to_string().contains("'port'"), "{e}");
    let e = NetworkDef::parse("<domain/>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    let e = NetworkDef::parse("<network><name>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlDetail);
}

#[test]
fn network_inactive_hides_pool_with_pf() {
    // The pool of a <pf> network is filled in at runtime; it is live-only state.
    let x = "<network><name>p</name><forward mode='passthrough'><pf dev='eth0'/></forward></network>";
    let mut n = NetworkDef::parse(x).unwrap();
    n.forward.as_mut().unwrap().ifs.push(ForwardIf::Netdev("eth1".into()));
    assert!(n.format_with(false).contains("<interface dev='eth1'/>"));
    assert!(!n.format_with(true).contains("<interface"));
}

#[test]
fn networkport_model() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/networkport/direct.xml")).unwrap();
    let p = NetworkPortDef::parse(&text).unwrap();
    assert_eq!(p.owner_name, "guest1");
    assert_eq!(p.plug, Some(PortPlug::Direct { dev: "eth0".into(), mode: "bridge".into() }));
    let e = NetworkPortDef::parse("<networkport><uuid>3f0c2e1a-9b8d-4e7f-a6b5-c4d3e2f1a0b9</uuid></networkport>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InternalError);
}

/// Documents to mutate: the golden inputs of every kind.
fn seeds() -> Vec<String> {
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut out = Vec::new();
    for kind in ["network", "networkport", "nwfilter", "secret"] {
        let dir = std::path::Path::new(base).join(kind);
        for e in std::fs::read_dir(dir).unwrap() {
            out.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
    }
    out
}

fn parse_all(text: &str) {
    // Only the absence of panics matters; formatting a parsed model must not panic
    // either, and must reparse.
    if let Ok(n) = NetworkDef::parse(text) {
        let _ = NetworkDef::parse(&n.format_with(true));
    }
    if let Ok(n) = NetworkPortDef::parse(text) {
        let _ = NetworkPortDef::parse(&n.format());
    }
    if let Ok(n) = NWFilterDef::parse(text) {
        let _ = NWFilterDef::parse(&n.format());
    }
    if let Ok(n) = SecretDef::parse(text) {
        let _ = SecretDef::parse(&n.format());
    }
}

/// Replace the value of the `n`th attribute (counting `='`/`="` openings) with `v`.
fn replace_attr(text: &str, n: usize, v: &str) -> String {
    let starts: Vec<usize> = text.match_indices("=\"").chain(text.match_indices("='")).map(|(i, _)| i + 2).collect();
    if starts.is_empty() {
        return text.to_string();
    }
    let mut starts = starts;
    starts.sort();
    let s = starts[n % starts.len()];
    let q = text.as_bytes()[s - 1] as char;
    let Some(len) = text[s..].find(q) else {
        return text.to_string();
    };
    let v: String = v.chars().filter(|c| *c != q && *c != '<' && *c != '&').collect();
    format!("{}{}{}", &text[..s], v, &text[s + len..])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics(s in "\\PC{0,200}") {
        parse_all(&s);
        parse_all(&format!("<network>{s}</network>"));
        parse_all(&format!("<filter name='f'><rule action='accept' direction='in'>{s}</rule></filter>"));
    }

    #[test]
    fn mutated_attributes_never_panic(seed in 0usize..64, n in 0usize..200, v in "(\\PC{0,12}|[0-9]{1,12}|0x[0-9a-f]{1,9}|-[0-9]{1,5}|\\$[A-Z]{1,3}\\[ ?@?[0-9]{0,5} ?\\]?)") {
        let seeds = seeds();
        let text = &seeds[seed % seeds.len()];
        parse_all(&replace_attr(text, n, &v));
    }

    #[test]
    fn truncated_documents_never_panic(seed in 0usize..64, cut in 0usize..4000) {
        let seeds = seeds();
        let text = &seeds[seed % seeds.len()];
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        parse_all(&text[..cut]);
    }
}
