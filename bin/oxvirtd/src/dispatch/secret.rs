//! Dispatch of the `secret` procedures.

use super::network::{check_count, check_max, count, first};
use super::{args, conv, ret, void, Reply};
use oxvirt::{Connect, Error, ErrorDomain, ListSecretsFlags, Secret};
use oxvirt_rpc::consts::REMOTE_SECRET_LIST_MAX;
use oxvirt_rpc::proto::remote::*;
use oxvirt_util::uuid;

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let p = payload;
    let c = conn;
    Some(match proc {
        P::ConnectListAllSecrets => list_all(p, c),
        P::ConnectNumOfSecrets => super::legacy(c.list_all_secrets(ListSecretsFlags::empty()), "virConnectNumOfSecrets")
            .and_then(|s| ret(&RemoteConnectNumOfSecretsRet { num: count(s.len()) })),
        P::ConnectListSecrets => list_uuids(p, c),
        P::SecretLookupByUuid => args::<RemoteSecretLookupByUuidArgs>(p)
            .and_then(|a| c.secret_lookup_by_uuid(&a.uuid))
            .and_then(|s| ret(&RemoteSecretLookupByUuidRet { secret: wire(&s) })),
        P::SecretLookupByUsage => args::<RemoteSecretLookupByUsageArgs>(p)
            .and_then(|a| c.secret_lookup_by_usage(a.usage_type, &a.usage_id))
            .and_then(|s| ret(&RemoteSecretLookupByUsageRet { secret: wire(&s) })),
        P::SecretDefineXml => args::<RemoteSecretDefineXmlArgs>(p)
            .and_then(|a| c.secret_define_xml(&a.xml, a.flags))
            .and_then(|s| ret(&RemoteSecretDefineXmlRet { secret: wire(&s) })),
        P::SecretGetXmlDesc => args::<RemoteSecretGetXmlDescArgs>(p)
            .and_then(|a| secret(c, &a.secret).xml_desc(a.flags))
            .and_then(|xml| ret(&RemoteSecretGetXmlDescRet { xml })),
        P::SecretSetValue => set_value(p, c),
        P::SecretGetValue => args::<RemoteSecretGetValueArgs>(p)
            .and_then(|a| secret(c, &a.secret).value(a.flags))
            .and_then(|value| ret(&RemoteSecretGetValueRet { value })),
        P::SecretUndefine => args::<RemoteSecretUndefineArgs>(p).and_then(|a| secret(c, &a.secret).undefine()).and_then(|()| void()),
        _ => return None,
    })
}

fn secret(conn: &Connect, s: &RemoteNonnullSecret) -> Secret {
    conn.secret_from_ref(conv::secret(s))
}

fn wire(s: &Secret) -> RemoteNonnullSecret {
    conv::wire_secret(s.raw())
}

fn list_all(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListAllSecretsArgs = args(p)?;
    let secrets = conn.list_all_secrets(ListSecretsFlags::from_bits_retain(a.flags))?;
    let n = check_count(secrets.len(), "secret", REMOTE_SECRET_LIST_MAX)?;
    let secrets = if a.need_results != 0 { secrets.iter().map(wire).collect() } else { Vec::new() };
    ret(&RemoteConnectListAllSecretsRet { secrets, ret: n })
}

fn list_uuids(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListSecretsArgs = args(p)?;
    let max = check_max(a.maxuuids, "uuids", REMOTE_SECRET_LIST_MAX, "REMOTE_SECRET_LIST_MAX")?;
    let secrets = first(super::legacy(conn.list_all_secrets(ListSecretsFlags::empty()), "virConnectListSecrets")?, max);
    ret(&RemoteConnectListSecretsRet { uuids: secrets.iter().map(|s| uuid::format(&s.uuid())).collect() })
}

/// libvirtd hands the API the decoded opaque: XDR leaves an empty value as a NULL
/// pointer, which `virSecretSetValue` refuses (after its read-only check).
fn set_value(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteSecretSetValueArgs = args(p)?;
    if a.value.is_empty() {
        conn.check_rw("virSecretSetValue")?;
        return Err(Error::invalid_arg(ErrorDomain::Secret, "value in virSecretSetValue must not be NULL"));
    }
    secret(conn, &a.secret).set_value(&a.value, a.flags)?;
    void()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/secret.rs"]
mod tests;
