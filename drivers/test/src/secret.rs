//! Secrets with values (`virSecretDriver`). libvirt's test driver has none; this
//! follows libvirt's secret driver semantics, kept in memory.

use crate::conn::TestConn;
use crate::state::State;
use oxvirt::driver::{check_flags, SecretDriver};
use oxvirt::*;
use oxvirt_conf::secret::SecretDef;
use oxvirt_util::uuid::{self, Uuid};

const D: ErrorDomain = ErrorDomain::Secret;

/// One secret.
#[derive(Debug, Clone)]
pub(crate) struct SecretObj {
    /// Definition.
    pub def: SecretDef,
    /// Value, once set.
    pub value: Option<Vec<u8>>,
}

impl SecretObj {
    fn sref(&self) -> SecretRef {
        let (usage_type, usage_id) =
            self.def.usage.as_ref().map(|u| (u.usage_type(), u.usage_id())).unwrap_or((secret_usage::NONE, String::new()));
        SecretRef { uuid: self.def.uuid, usage_type, usage_id }
    }
}

fn event(s: &SecretObj, event_id: i32, ev: i32) -> Event {
    Event::Secret { secret: s.sref(), event_id, event: ev, detail: 0 }
}

impl State {
    fn secret_index(&self, u: &Uuid) -> Result<usize> {
        self.secrets
            .iter()
            .position(|s| s.def.uuid == *u)
            .ok_or_else(|| Error::new(ErrorCode::NoSecret, D, format!("no secret with matching uuid '{}'", uuid::format(u))))
    }
}

impl SecretDriver for TestConn {
    fn list_all_secrets(&self, flags: u32) -> Result<Vec<SecretRef>> {
        check_flags(flags, 0xf, "secretConnectListAllSecrets", D)?;
        let f = ListSecretsFlags::from_bits_truncate(flags);
        let pair = |a: ListSecretsFlags, b: ListSecretsFlags, v: bool| !(f.contains(a) ^ f.contains(b)) || f.contains(a) == v;
        self.with(|st| {
            Ok(st
                .secrets
                .iter()
                .filter(|s| {
                    pair(ListSecretsFlags::EPHEMERAL, ListSecretsFlags::NO_EPHEMERAL, s.def.ephemeral)
                        && pair(ListSecretsFlags::PRIVATE, ListSecretsFlags::NO_PRIVATE, s.def.private)
                })
                .map(SecretObj::sref)
                .collect())
        })
    }

    fn secret_lookup_by_uuid(&self, u: &Uuid) -> Result<SecretRef> {
        self.with(|st| Ok(st.secrets[st.secret_index(u)?].sref()))
    }

    fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> Result<SecretRef> {
        self.with(|st| {
            st.secrets
                .iter()
                .map(SecretObj::sref)
                .find(|r| r.usage_type == usage_type && r.usage_id == usage_id)
                .ok_or_else(|| Error::new(ErrorCode::NoSecret, D, format!("no secret with matching usage '{usage_id}'")))
        })
    }

    fn secret_define_xml(&self, xml: &str, flags: u32) -> Result<SecretRef> {
        check_flags(flags, 1, "secretDefineXML", D)?;
        let def = SecretDef::parse(xml).map_err(|e| e.into_vir(D))?;
        self.with(|st| {
            let new_ref = SecretObj { def: def.clone(), value: None }.sref();
            if let Some(other) = st.secrets.iter().find(|s| {
                s.def.uuid != def.uuid
                    && def.usage.is_some()
                    && s.sref().usage_type == new_ref.usage_type
                    && s.sref().usage_id == new_ref.usage_id
            }) {
                return Err(Error::new(
                    ErrorCode::InternalError,
                    D,
                    format!("a secret with UUID {} already defined for use with {}", uuid::format(&other.def.uuid), new_ref.usage_id),
                ));
            }
            let i = match st.secrets.iter().position(|s| s.def.uuid == def.uuid) {
                Some(i) => {
                    let old = st.secrets[i].sref();
                    if old.usage_type != new_ref.usage_type || old.usage_id != new_ref.usage_id {
                        return Err(Error::new(
                            ErrorCode::InternalError,
                            D,
                            format!("a secret with UUID {} is already defined for use with {}", uuid::format(&def.uuid), old.usage_id),
                        ));
                    }
                    if st.secrets[i].def.private && !def.private {
                        return Err(Error::new(ErrorCode::InvalidSecret, D, "cannot change private flag on existing secret"));
                    }
                    st.secrets[i].def = def;
                    i
                }
                None => {
                    st.secrets.push(SecretObj { def, value: None });
                    st.secrets.len() - 1
                }
            };
            let ev = event(&st.secrets[i], 0, 0);
            let r = st.secrets[i].sref();
            st.emit(ev);
            Ok(r)
        })
    }

    fn secret_get_xml_desc(&self, s: &SecretRef, flags: u32) -> Result<String> {
        check_flags(flags, 0, "secretGetXMLDesc", D)?;
        self.with(|st| Ok(st.secrets[st.secret_index(&s.uuid)?].def.format()))
    }

    fn secret_set_value(&self, s: &SecretRef, value: &[u8], flags: u32) -> Result<()> {
        check_flags(flags, 0, "secretSetValue", D)?;
        self.with(|st| {
            let i = st.secret_index(&s.uuid)?;
            st.secrets[i].value = Some(value.to_vec());
            let ev = event(&st.secrets[i], 1, 0);
            st.emit(ev);
            Ok(())
        })
    }

    fn secret_get_value(&self, s: &SecretRef, flags: u32) -> Result<Vec<u8>> {
        check_flags(flags, 0, "secretGetValue", D)?;
        self.with(|st| {
            let o = &st.secrets[st.secret_index(&s.uuid)?];
            if o.def.private {
                return Err(Error::new(ErrorCode::InvalidSecret, D, "secret is private"));
            }
            o.value
                .clone()
                .ok_or_else(|| Error::new(ErrorCode::NoSecret, D, format!("secret '{}' does not have a value", uuid::format(&s.uuid))))
        })
    }

    fn secret_undefine(&self, s: &SecretRef) -> Result<()> {
        self.with(|st| {
            let i = st.secret_index(&s.uuid)?;
            let ev = event(&st.secrets[i], 0, 1);
            st.secrets.remove(i);
            st.emit(ev);
            Ok(())
        })
    }
}
