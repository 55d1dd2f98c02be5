//! libvirt's secret driver (`src/secret/secret_driver.c`): secrets kept on disk and
//! shared by every hypervisor driver that asks for the shared secondary drivers.
//!
//! Layout of the root directory (`/etc/libvirt/secrets` for root,
//! `$XDG_CONFIG_HOME/libvirt/secrets` otherwise, `$OXVIRT_SECRET_ROOT` when set):
//! `<uuid>.xml` holds the canonical `<secret>` definition and `<uuid>.base64` the value
//! (standard base64, no line break), both mode 0600 and written atomically. Ephemeral
//! secrets live in memory only. A private secret's value is never returned to a client;
//! only a driver of the same process gets it, with
//! [`oxvirt::driver::SECRET_GET_VALUE_INTERNAL_CALL`].
//!
//! The on-disk state is read on first use, so registering the driver costs nothing.
//! Files that do not parse, or whose `<uuid>` does not match their name, are skipped
//! (libvirt logs and skips them too). Secret events are not emitted: event
//! registration lives on the hypervisor driver, which cannot see this driver.
//!
//! Layer: driver; depends on util, conf and api only.

pub use oxvirt_util::base64;

use oxvirt::driver::{check_flags, SecretDriver, SECRET_GET_VALUE_INTERNAL_CALL};
use oxvirt::{Error, ErrorCode, ErrorDomain, ListSecretsFlags, Result, SecretRef};
use oxvirt_conf::secret::{SecretDef, SecretUsage};
use oxvirt_util::uuid::{self, Uuid};
use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

const D: ErrorDomain = ErrorDomain::Secret;

/// Environment variable naming a private root directory (tests).
pub const ROOT_ENV: &str = "OXVIRT_SECRET_ROOT";

/// Mode of the secret files.
const FILE_MODE: u32 = 0o600;

/// The directory secrets are kept in: `$OXVIRT_SECRET_ROOT` when set and not empty,
/// else libvirt's `/etc/libvirt/secrets` for root and
/// `$XDG_CONFIG_HOME/libvirt/secrets` (default `~/.config`) for other users.
pub fn default_root() -> PathBuf {
    if let Some(root) = std::env::var_os(ROOT_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/etc/libvirt/secrets");
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"));
    config.join("libvirt").join("secrets")
}

/// One secret: its definition and, once set, its value.
#[derive(Debug, Clone)]
struct SecretObj {
    def: SecretDef,
    value: Option<Vec<u8>>,
}

/// The usage type and id of a definition; the id is `None` for usage type none
/// (libvirt keeps a NULL `usage_id` then).
fn usage_of(def: &SecretDef) -> (i32, Option<String>) {
    match &def.usage {
        None | Some(SecretUsage::None) => (0, None),
        Some(u) => (u.usage_type(), Some(u.usage_id())),
    }
}

fn sref(def: &SecretDef) -> SecretRef {
    let (usage_type, usage_id) = usage_of(def);
    SecretRef { uuid: def.uuid, usage_type, usage_id: usage_id.unwrap_or_default() }
}

fn no_secret_uuid(u: &Uuid) -> Error {
    Error::new(ErrorCode::NoSecret, D, format!("no secret with matching uuid '{}'", uuid::format(u)))
}

fn sys_err(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorCode::SystemError, D, format!("{what} '{}': {e}", path.display()))
}

/// The secrets, loaded from disk on first use.
#[derive(Default)]
struct State {
    loaded: bool,
    secrets: BTreeMap<Uuid, SecretObj>,
}

/// The file-backed secret driver (libvirt's `virSecretDriverState`). One instance per
/// directory; every connection using it sees the same secrets.
pub struct SecretStore {
    dir: PathBuf,
    state: Mutex<State>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print values.
        f.debug_struct("SecretStore").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl SecretStore {
    /// A driver keeping its secrets in `dir` (created, mode 0700, when the first
    /// persistent secret is saved). Nothing is read until the first call.
    pub fn new(dir: impl Into<PathBuf>) -> SecretStore {
        SecretStore { dir: dir.into(), state: Mutex::new(State::default()) }
    }

    /// The directory the secrets are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn config_file(&self, u: &Uuid) -> PathBuf {
        self.dir.join(format!("{}.xml", uuid::format(u)))
    }

    fn base64_file(&self, u: &Uuid) -> PathBuf {
        self.dir.join(format!("{}.base64", uuid::format(u)))
    }

    /// The locked state, loaded from disk if it was not yet.
    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !st.loaded {
            st.secrets = self.load_all()?;
            st.loaded = true;
        }
        Ok(st)
    }

    /// libvirt's `virSecretLoadAllConfigs`: every `<uuid>.xml` with its value.
    fn load_all(&self) -> Result<BTreeMap<Uuid, SecretObj>> {
        let mut out = BTreeMap::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(sys_err("cannot open directory", &self.dir, &e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') || !name.ends_with(".xml") {
                continue;
            }
            if let Some(obj) = self.load_one(name, &entry.path()) {
                if usage_of(&obj.def).1.is_some() && out.values().any(|o: &SecretObj| usage_of(&o.def) == usage_of(&obj.def)) {
                    continue;
                }
                out.insert(obj.def.uuid, obj);
            }
        }
        Ok(out)
    }

    /// One secret from `path` (named `file`), or None when it cannot be used.
    fn load_one(&self, file: &str, path: &Path) -> Option<SecretObj> {
        let text = std::fs::read_to_string(path).ok()?;
        let def = SecretDef::parse(&text).ok()?;
        if file.strip_suffix(".xml") != Some(uuid::format(&def.uuid).as_str()) {
            return None;
        }
        let value = match std::fs::read_to_string(self.base64_file(&def.uuid)) {
            Ok(b64) => Some(base64::decode(&b64)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => return None,
        };
        Some(SecretObj { def, value })
    }

    fn ensure_dir(&self) -> Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| sys_err("cannot create directory", &self.dir, &e))
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> Result<()> {
        self.ensure_dir()?;
        oxvirt_util::fs::atomic_write_mode(path, data, FILE_MODE).map_err(|e| sys_err("cannot write", path, &e))
    }

    /// `virSecretObjSaveConfig`.
    fn save_config(&self, def: &SecretDef) -> Result<()> {
        self.write_file(&self.config_file(&def.uuid), def.format().as_bytes())
    }

    /// `virSecretObjSaveData`: nothing to do without a value.
    fn save_data(&self, u: &Uuid, value: Option<&[u8]>) -> Result<()> {
        match value {
            Some(v) => self.write_file(&self.base64_file(u), base64::encode(v).as_bytes()),
            None => Ok(()),
        }
    }

    /// `virSecretObjDeleteConfig`: a missing file is fine.
    fn delete_config(&self, u: &Uuid) -> Result<()> {
        let path = self.config_file(u);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(sys_err("cannot unlink", &path, &e)),
            _ => Ok(()),
        }
    }

    /// `virSecretObjDeleteData`: errors are ignored (the definition is gone already,
    /// so the value is never loaded again).
    fn delete_data(&self, u: &Uuid) {
        let _ = std::fs::remove_file(self.base64_file(u));
    }
}

impl SecretDriver for SecretStore {
    fn list_all_secrets(&self, flags: u32) -> Result<Vec<SecretRef>> {
        check_flags(flags, ListSecretsFlags::all().bits(), "secretConnectListAllSecrets", D)?;
        let f = ListSecretsFlags::from_bits_truncate(flags);
        // A filter pair with neither bit set lets everything through.
        let pass = |yes: ListSecretsFlags, no: ListSecretsFlags, v: bool| {
            !(f.contains(yes) || f.contains(no)) || (f.contains(yes) && v) || (f.contains(no) && !v)
        };
        let st = self.lock()?;
        Ok(st
            .secrets
            .values()
            .filter(|o| {
                pass(ListSecretsFlags::EPHEMERAL, ListSecretsFlags::NO_EPHEMERAL, o.def.ephemeral)
                    && pass(ListSecretsFlags::PRIVATE, ListSecretsFlags::NO_PRIVATE, o.def.private)
            })
            .map(|o| sref(&o.def))
            .collect())
    }

    fn secret_lookup_by_uuid(&self, u: &Uuid) -> Result<SecretRef> {
        let st = self.lock()?;
        st.secrets.get(u).map(|o| sref(&o.def)).ok_or_else(|| no_secret_uuid(u))
    }

    fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> Result<SecretRef> {
        let st = self.lock()?;
        st.secrets
            .values()
            .find(|o| {
                let (t, id) = usage_of(&o.def);
                t == usage_type && usage_type != 0 && id.as_deref() == Some(usage_id)
            })
            .map(|o| sref(&o.def))
            .ok_or_else(|| Error::new(ErrorCode::NoSecret, D, format!("no secret with matching usage '{usage_id}'")))
    }

    fn secret_define_xml(&self, xml: &str, flags: u32) -> Result<SecretRef> {
        // VIR_SECRET_DEFINE_VALIDATE: the parser is the validator.
        check_flags(flags, 1, "secretDefineXML", D)?;
        let def = SecretDef::parse(xml).map_err(|e| e.into_vir(D))?;
        let (new_type, new_id) = usage_of(&def);
        let mut st = self.lock()?;
        let backup = match st.secrets.get(&def.uuid) {
            Some(old) => {
                let (_, old_id) = usage_of(&old.def);
                if old_id != new_id {
                    return Err(Error::new(
                        ErrorCode::InternalError,
                        D,
                        format!(
                            "a secret with UUID {} is already defined for use with {}",
                            uuid::format(&def.uuid),
                            old_id.as_deref().unwrap_or("(null)")
                        ),
                    ));
                }
                if old.def.private && !def.private {
                    return Err(Error::new(ErrorCode::InternalError, D, "cannot change private flag on existing secret"));
                }
                Some(old.clone())
            }
            None => {
                if let Some(other) = st.secrets.values().find(|o| {
                    let (t, id) = usage_of(&o.def);
                    new_type != 0 && t == new_type && id == new_id
                }) {
                    return Err(Error::new(
                        ErrorCode::InternalError,
                        D,
                        format!(
                            "a secret with UUID {} already defined for use with {}",
                            uuid::format(&other.def.uuid),
                            new_id.as_deref().unwrap_or("(null)")
                        ),
                    ));
                }
                None
            }
        };
        let value = backup.as_ref().and_then(|b| b.value.clone());
        let was_ephemeral = backup.as_ref().map(|b| b.def.ephemeral);
        // The files first: on failure the in-memory state is unchanged.
        if !def.ephemeral {
            if was_ephemeral == Some(true) {
                self.save_data(&def.uuid, value.as_deref())?;
            }
            if let Err(e) = self.save_config(&def) {
                if was_ephemeral == Some(true) {
                    self.delete_data(&def.uuid);
                }
                return Err(e);
            }
        } else if was_ephemeral == Some(false) {
            self.delete_config(&def.uuid)?;
            self.delete_data(&def.uuid);
        }
        let r = sref(&def);
        st.secrets.insert(def.uuid, SecretObj { def, value });
        Ok(r)
    }

    fn secret_get_xml_desc(&self, s: &SecretRef, flags: u32) -> Result<String> {
        check_flags(flags, 0, "secretGetXMLDesc", D)?;
        let st = self.lock()?;
        st.secrets.get(&s.uuid).map(|o| o.def.format()).ok_or_else(|| no_secret_uuid(&s.uuid))
    }

    fn secret_set_value(&self, s: &SecretRef, value: &[u8], flags: u32) -> Result<()> {
        check_flags(flags, 0, "secretSetValue", D)?;
        let mut st = self.lock()?;
        let obj = st.secrets.get_mut(&s.uuid).ok_or_else(|| no_secret_uuid(&s.uuid))?;
        if !obj.def.ephemeral {
            self.save_data(&s.uuid, Some(value))?;
        }
        obj.value = Some(value.to_vec());
        Ok(())
    }

    fn secret_get_value(&self, s: &SecretRef, flags: u32) -> Result<Vec<u8>> {
        check_flags(flags, SECRET_GET_VALUE_INTERNAL_CALL, "secretGetValue", D)?;
        let st = self.lock()?;
        let obj = st.secrets.get(&s.uuid).ok_or_else(|| no_secret_uuid(&s.uuid))?;
        if obj.def.private && flags & SECRET_GET_VALUE_INTERNAL_CALL == 0 {
            return Err(Error::new(ErrorCode::InvalidSecret, D, "secret is private"));
        }
        obj.value
            .clone()
            .ok_or_else(|| Error::new(ErrorCode::NoSecret, D, format!("secret '{}' does not have a value", uuid::format(&s.uuid))))
    }

    fn secret_undefine(&self, s: &SecretRef) -> Result<()> {
        let mut st = self.lock()?;
        let obj = st.secrets.get(&s.uuid).ok_or_else(|| no_secret_uuid(&s.uuid))?;
        if !obj.def.ephemeral {
            self.delete_config(&s.uuid)?;
        }
        self.delete_data(&s.uuid);
        st.secrets.remove(&s.uuid);
        Ok(())
    }
}

/// The process's instance, over [`default_root`].
static SHARED: OnceLock<Arc<SecretStore>> = OnceLock::new();

/// Register the secret driver as the process's shared secret driver (libvirt's
/// `secretRegister`), used by every hypervisor driver that asks for shared drivers
/// (QEMU; not the test driver). Calling it again is a no-op.
pub fn register() {
    let store = SHARED.get_or_init(|| Arc::new(SecretStore::new(default_root())));
    oxvirt::driver::register_shared_secret(store.clone());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("oxvirt-secret-unit-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    const U: &str = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f";

    #[test]
    fn nothing_is_read_or_written_until_needed() {
        let dir = tmp("lazy");
        let s = SecretStore::new(&dir);
        assert!(s.list_all_secrets(0).unwrap().is_empty());
        assert!(!dir.exists());
        s.secret_define_xml(&format!("<secret ephemeral='yes'><uuid>{U}</uuid></secret>"), 0).unwrap();
        assert!(!dir.exists(), "ephemeral secrets are not saved");
    }

    #[test]
    fn usage_none_never_conflicts_and_has_an_empty_usage_id() {
        let dir = tmp("none");
        let s = SecretStore::new(&dir);
        let a = s.secret_define_xml("<secret><usage type='none'/></secret>", 0).unwrap();
        let b = s.secret_define_xml("<secret/>", 0).unwrap();
        assert_ne!(a.uuid, b.uuid);
        assert_eq!((a.usage_type, a.usage_id.as_str()), (0, ""));
        assert_eq!(s.secret_lookup_by_usage(0, "").err().map(|e| e.code), Some(ErrorCode::NoSecret));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flags_are_checked() {
        let s = SecretStore::new(tmp("flags"));
        let e = s.list_all_secrets(1 << 4).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
        assert_eq!(e.message, "unsupported flags (0x10) in function secretConnectListAllSecrets");
        assert_eq!(s.secret_define_xml("<secret/>", 2).unwrap_err().code, ErrorCode::InvalidArg);
    }
}
