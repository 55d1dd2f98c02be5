//! `<secret>` golden tests and usage accessors.

use oxvirt_conf::secret::{SecretDef, SecretUsage};
use oxvirt_util::ErrorCode;

#[test]
fn golden_secret() {
    crate::golden("secret", |t| SecretDef::parse(t).map(|s| s.format()));
}

#[test]
fn usage_type_and_id() {
    let s = SecretDef::parse("<secret><usage type='iscsi'><target>iqn.x</target></usage></secret>").unwrap();
    assert!(!s.ephemeral && !s.private);
    let u = s.usage.as_ref().unwrap();
    assert_eq!((u.usage_type(), u.usage_id()), (3, "iqn.x".to_string()));
    assert_eq!(SecretUsage::Vtpm("v".into()).usage_type(), 5);
    assert_eq!(SecretUsage::None.usage_type(), 0);
}

#[test]
fn secret_errors() {
    let e = SecretDef::parse("<secret private='maybe'/>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::XmlError);
    let e = SecretDef::parse("<secret><usage type='disk'/></secret>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigUnsupported);
    let e = SecretDef::parse("<secret><usage type='volume'/></secret>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InternalError);
    let e = SecretDef::parse("<secret><uuid>nope</uuid></secret>").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InternalError);
}
