//! The secret driver through the public API over a private directory: persistence
//! across driver instances, libvirt's usage-conflict errors, the private and ephemeral
//! rules, file modes and the base64 value files. Unprivileged; no daemon.

#![allow(clippy::unwrap_used)]

use oxvirt::driver::{ConnectDrivers, HypervisorDriver};
use oxvirt::uri::Uri;
use oxvirt::{secret_usage, Connect, ErrorCode, ErrorDomain, ListSecretsFlags, Result};
use oxvirt_driver_secret::{base64, SecretStore};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Hv;
impl HypervisorDriver for Hv {
    fn get_type(&self) -> Result<String> {
        Ok("Test".into())
    }
}

/// A scratch directory removed on drop.
struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("oxvirt-secret-it-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Dir(p)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A connection whose secret driver is a fresh `SecretStore` over `dir`.
fn conn(dir: &Path, read_only: bool) -> Connect {
    let drivers = ConnectDrivers {
        hypervisor: Arc::new(Hv),
        network: None,
        storage: None,
        secret: Some(Arc::new(SecretStore::new(dir.join("secrets")))),
        nwfilter: None,
        interface: None,
        nodedev: None,
    };
    Connect::from_drivers(Uri::parse("qemu:///system").unwrap(), read_only, drivers)
}

const U1: &str = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f";
const U2: &str = "1b92a6c3-9514-8c34-d9e7-32ddd3a91e70";

fn volume_xml(uuid: &str, path: &str, extra: &str) -> String {
    format!("<secret {extra}><uuid>{uuid}</uuid><usage type='volume'><volume>{path}</volume></usage></secret>")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn persists_across_driver_instances_with_0600_files() {
    let d = Dir::new("persist");
    let value = b"\x00binary\xffvalue\n".to_vec();
    {
        let c = conn(&d.0, false);
        let s = c.secret_define_xml(&volume_xml(U1, "/var/lib/a.img", ""), 0).unwrap();
        s.set_value(&value, 0).unwrap();
        c.secret_define_xml("<secret ephemeral='yes'><usage type='ceph'><name>client.admin</name></usage></secret>", 0).unwrap();
        assert_eq!(c.list_all_secrets(ListSecretsFlags::empty()).unwrap().len(), 2);
    }
    let xml = d.0.join(format!("secrets/{U1}.xml"));
    let b64 = d.0.join(format!("secrets/{U1}.base64"));
    assert_eq!(mode(&xml), 0o600);
    assert_eq!(mode(&b64), 0o600);
    assert_eq!(mode(&d.0.join("secrets")), 0o700);
    assert_eq!(std::fs::read_to_string(&b64).unwrap(), base64::encode(&value));
    assert_eq!(std::fs::read_dir(d.0.join("secrets")).unwrap().count(), 2, "only the persistent secret's two files");
    assert!(std::fs::read_to_string(&xml).unwrap().contains("<volume>/var/lib/a.img</volume>"));

    // A new instance (a restarted daemon) sees the persistent secret only.
    let c = conn(&d.0, false);
    let all = c.list_all_secrets(ListSecretsFlags::empty()).unwrap();
    assert_eq!(all.len(), 1);
    let s = c.secret_lookup_by_usage(secret_usage::VOLUME, "/var/lib/a.img").unwrap();
    assert_eq!(s.uuid_string(), U1);
    assert_eq!(s.value(0).unwrap(), value);
    assert_eq!(
        s.xml_desc(0).unwrap(),
        format!(
            "<secret ephemeral='no' private='no'>\n  <uuid>{U1}</uuid>\n  <usage type='volume'>\n    <volume>/var/lib/a.img</volume>\n  </usage>\n</secret>\n"
        )
    );

    // Undefine removes both files.
    s.undefine().unwrap();
    assert!(!xml.exists() && !b64.exists());
    assert!(conn(&d.0, false).list_all_secrets(ListSecretsFlags::empty()).unwrap().is_empty());
}

#[test]
fn usage_conflicts_use_libvirts_errors() {
    let d = Dir::new("conflict");
    let c = conn(&d.0, false);
    c.secret_define_xml(&volume_xml(U1, "/a.img", ""), 0).unwrap();
    // Another UUID with the same usage.
    let e = c.secret_define_xml(&volume_xml(U2, "/a.img", ""), 0).err().unwrap();
    assert_eq!((e.code, e.domain), (ErrorCode::InternalError, ErrorDomain::Secret));
    assert_eq!(e.message, format!("internal error: a secret with UUID {U1} already defined for use with /a.img"));
    // The same UUID with another usage.
    let e = c.secret_define_xml(&volume_xml(U1, "/b.img", ""), 0).err().unwrap();
    assert_eq!(e.code, ErrorCode::InternalError);
    assert_eq!(e.message, format!("internal error: a secret with UUID {U1} is already defined for use with /a.img"));
    // Redefining with the same usage updates the description and keeps the value.
    let s = c.secret_lookup_by_uuid_string(U1).unwrap();
    s.set_value(b"v", 0).unwrap();
    c.secret_define_xml(
        &format!("<secret><uuid>{U1}</uuid><description>d</description><usage type='volume'><volume>/a.img</volume></usage></secret>"),
        0,
    )
    .unwrap();
    assert!(s.xml_desc(0).unwrap().contains("<description>d</description>"));
    assert_eq!(s.value(0).unwrap(), b"v");
    // Lookups that find nothing.
    let e = c.secret_lookup_by_uuid_string(U2).err().unwrap();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::NoSecret, &*format!("Secret not found: no secret with matching uuid '{U2}'")));
    let e = c.secret_lookup_by_usage(secret_usage::CEPH, "/a.img").err().unwrap();
    assert_eq!(e.code, ErrorCode::NoSecret);
}

#[test]
fn private_values_are_for_drivers_only() {
    let d = Dir::new("private");
    let c = conn(&d.0, false);
    let s = c.secret_define_xml(&volume_xml(U1, "/p.img", "private='yes'"), 0).unwrap();
    // The private check comes first, as in libvirt: even without a value.
    assert_eq!(s.value(0).err().map(|e| e.code), Some(ErrorCode::InvalidSecret));
    assert_eq!(s.value_internal().err().map(|e| e.code), Some(ErrorCode::NoSecret));
    s.set_value(b"top secret", 0).unwrap();
    let e = s.value(0).err().unwrap();
    assert_eq!((e.code, e.domain), (ErrorCode::InvalidSecret, ErrorDomain::Secret));
    assert!(e.message.ends_with("secret is private"), "{}", e.message);
    // A client cannot pass the internal-call bit.
    let e = s.value(oxvirt::driver::SECRET_GET_VALUE_INTERNAL_CALL).err().unwrap();
    assert_eq!(e.message, "unsupported flags (0x1) in function secretGetValue");
    // A driver of this process can.
    assert_eq!(s.value_internal().unwrap(), b"top secret");
    // The value is still persisted.
    assert!(d.0.join(format!("secrets/{U1}.base64")).exists());
    // private cannot be dropped on redefinition.
    let e = c.secret_define_xml(&volume_xml(U1, "/p.img", "private='no'"), 0).err().unwrap();
    assert_eq!(e.message, "internal error: cannot change private flag on existing secret");
    // Filters.
    c.secret_define_xml(&volume_xml(U2, "/q.img", "ephemeral='yes'"), 0).unwrap();
    let uuids = |f: ListSecretsFlags| c.list_all_secrets(f).unwrap().iter().map(|s| s.uuid_string()).collect::<Vec<_>>();
    assert_eq!(uuids(ListSecretsFlags::PRIVATE), vec![U1.to_string()]);
    assert_eq!(uuids(ListSecretsFlags::NO_PRIVATE), vec![U2.to_string()]);
    assert_eq!(uuids(ListSecretsFlags::EPHEMERAL), vec![U2.to_string()]);
    assert_eq!(uuids(ListSecretsFlags::NO_EPHEMERAL | ListSecretsFlags::PRIVATE), vec![U1.to_string()]);
    assert_eq!(uuids(ListSecretsFlags::EPHEMERAL | ListSecretsFlags::NO_EPHEMERAL).len(), 2);
    // Read-only connections get no values at all.
    let ro = conn(&d.0, true);
    let e = ro.secret_lookup_by_uuid_string(U1).unwrap().value(0).err().unwrap();
    assert_eq!(e.code, ErrorCode::OperationDenied);
}

#[test]
fn ephemeral_secrets_stay_in_memory_and_switching_moves_files() {
    let d = Dir::new("ephemeral");
    let c = conn(&d.0, false);
    let s = c.secret_define_xml(&volume_xml(U1, "/e.img", "ephemeral='yes'"), 0).unwrap();
    s.set_value(b"e", 0).unwrap();
    assert!(!d.0.join("secrets").exists() || std::fs::read_dir(d.0.join("secrets")).unwrap().count() == 0);
    // ephemeral -> persistent: the value is saved as well.
    c.secret_define_xml(&volume_xml(U1, "/e.img", "ephemeral='no'"), 0).unwrap();
    assert_eq!(std::fs::read_to_string(d.0.join(format!("secrets/{U1}.base64"))).unwrap(), "ZQ==");
    assert_eq!(conn(&d.0, false).secret_lookup_by_uuid_string(U1).unwrap().value(0).unwrap(), b"e");
    // persistent -> ephemeral: the files go, the value stays in memory.
    c.secret_define_xml(&volume_xml(U1, "/e.img", "ephemeral='yes'"), 0).unwrap();
    assert_eq!(std::fs::read_dir(d.0.join("secrets")).unwrap().count(), 0);
    assert_eq!(s.value(0).unwrap(), b"e");
    assert!(conn(&d.0, false).list_all_secrets(ListSecretsFlags::empty()).unwrap().is_empty());
}

#[test]
fn bad_files_are_skipped_on_load() {
    let d = Dir::new("badfiles");
    let dir = d.0.join("secrets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{U2}.xml")), volume_xml(U1, "/x.img", "")).unwrap(); // name mismatch
    std::fs::write(dir.join("junk.xml"), "<not-a-secret/>").unwrap();
    std::fs::write(dir.join(format!("{U1}.xml")), volume_xml(U1, "/y.img", "")).unwrap();
    std::fs::write(dir.join(format!("{U1}.base64")), base64::encode(&[0, 255, 1])).unwrap();
    let c = conn(&d.0, false);
    let all = c.list_all_secrets(ListSecretsFlags::empty()).unwrap();
    assert_eq!(all.iter().map(|s| s.uuid_string()).collect::<Vec<_>>(), vec![U1.to_string()]);
    assert_eq!(all[0].value(0).unwrap(), vec![0, 255, 1]);
}
