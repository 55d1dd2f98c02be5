//! Secret procedures through `dispatch_call`.

use super::super::network::test_support::*;
use oxvirt::{ErrorCode, ErrorDomain};
use oxvirt_rpc::proto::remote::*;
use RemoteProcedure as P;

const SECRET: &str = "<secret ephemeral='no' private='no'><uuid>b8a1a2c4-6bd8-4c3e-9b2a-1f0e2d3c4b5a</uuid>\
<usage type='ceph'><name>client.admin secret</name></usage></secret>";

#[test]
fn secret_lifecycle() {
    let c = open_full();
    let d: RemoteSecretDefineXmlRet = call(&c, P::SecretDefineXml, &RemoteSecretDefineXmlArgs { xml: SECRET.into(), flags: 0 }).unwrap();
    assert_eq!((d.secret.usage_type, d.secret.usage_id.as_str()), (2, "client.admin secret"));
    let n: RemoteConnectNumOfSecretsRet = call0(&c, P::ConnectNumOfSecrets).unwrap();
    assert_eq!(n.num, 1);
    let l: RemoteConnectListSecretsRet = call(&c, P::ConnectListSecrets, &RemoteConnectListSecretsArgs { maxuuids: 4 }).unwrap();
    assert_eq!(l.uuids, ["b8a1a2c4-6bd8-4c3e-9b2a-1f0e2d3c4b5a"]);
    let all: RemoteConnectListAllSecretsRet =
        call(&c, P::ConnectListAllSecrets, &RemoteConnectListAllSecretsArgs { need_results: 1, flags: 0 }).unwrap();
    assert_eq!((all.ret, all.secrets.clone()), (1, vec![d.secret.clone()]));
    let u: RemoteSecretLookupByUuidRet = call(&c, P::SecretLookupByUuid, &RemoteSecretLookupByUuidArgs { uuid: d.secret.uuid }).unwrap();
    assert_eq!(u.secret, d.secret);
    let u: RemoteSecretLookupByUsageRet =
        call(&c, P::SecretLookupByUsage, &RemoteSecretLookupByUsageArgs { usage_type: 2, usage_id: "client.admin secret".into() }).unwrap();
    assert_eq!(u.secret, d.secret);
    let x: RemoteSecretGetXmlDescRet =
        call(&c, P::SecretGetXmlDesc, &RemoteSecretGetXmlDescArgs { secret: d.secret.clone(), flags: 0 }).unwrap();
    assert!(x.xml.contains("<usage type='ceph'>"), "{}", x.xml);

    let r = call::<_, RemoteSecretGetValueRet>(&c, P::SecretGetValue, &RemoteSecretGetValueArgs { secret: d.secret.clone(), flags: 0 });
    assert_err(r, ErrorCode::NoSecret, "does not have a value");
    let value = b"s3cr3t\0bytes".to_vec();
    call_void(&c, P::SecretSetValue, &RemoteSecretSetValueArgs { secret: d.secret.clone(), value: value.clone(), flags: 0 }).unwrap();
    let v: RemoteSecretGetValueRet = call(&c, P::SecretGetValue, &RemoteSecretGetValueArgs { secret: d.secret.clone(), flags: 0 }).unwrap();
    assert_eq!(v.value, value);
    // An empty opaque reaches virSecretSetValue as NULL in libvirtd.
    let r = call_void(&c, P::SecretSetValue, &RemoteSecretSetValueArgs { secret: d.secret.clone(), value: Vec::new(), flags: 0 });
    let e = assert_err(r, ErrorCode::InvalidArg, "value in virSecretSetValue must not be NULL");
    assert_eq!(e.domain, ErrorDomain::Secret);

    call_void(&c, P::SecretUndefine, &RemoteSecretUndefineArgs { secret: d.secret.clone() }).unwrap();
    let r = call::<_, RemoteSecretLookupByUuidRet>(&c, P::SecretLookupByUuid, &RemoteSecretLookupByUuidArgs { uuid: d.secret.uuid });
    assert_err(r, ErrorCode::NoSecret, "");
    let r = call::<_, RemoteConnectListSecretsRet>(&c, P::ConnectListSecrets, &RemoteConnectListSecretsArgs { maxuuids: 16385 });
    let e = assert_err(r, ErrorCode::Rpc, "");
    assert_eq!(e.message, "maxuuids > REMOTE_SECRET_LIST_MAX");
}

#[test]
fn secret_value_is_refused_read_only() {
    let c = open_ro();
    let s = RemoteNonnullSecret { uuid: [1; 16], usage_type: 0, usage_id: String::new() };
    let r = call::<_, RemoteSecretGetValueRet>(&c, P::SecretGetValue, &RemoteSecretGetValueArgs { secret: s.clone(), flags: 0 });
    assert_err(r, ErrorCode::OperationDenied, "virSecretGetValue");
    let r = call_void(&c, P::SecretSetValue, &RemoteSecretSetValueArgs { secret: s, value: Vec::new(), flags: 0 });
    assert_err(r, ErrorCode::OperationDenied, "virSecretSetValue");
}
