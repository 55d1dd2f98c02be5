//! The SASL password database: oxvirtd's replacement for cyrus-sasl's sasldb (a
//! Berkeley DB oxvirtd cannot read). A text file, mode 0600, written atomically; one
//! line per user and mechanism:
//!
//! ```text
//! # comment
//! USER:SCRAM-SHA-256:ITERATIONS:SALT:STOREDKEY:SERVERKEY
//! ```
//!
//! with the last three fields in base64. Passwords themselves are never stored.
//! `oxvirtd --sasl-passwd USER` (password on stdin) adds or replaces a user with
//! entries for every mechanism; `--sasl-passwd-delete USER` removes one. The file is
//! read at every authentication, so changes apply without a restart.

use super::scram::{Hash, StoredCredential};
use anyhow::{bail, Context, Result};
use oxvirt_util::base64;
use std::path::Path;

/// The database's file name beside the configuration file.
pub const FILE_NAME: &str = "oxvirtd-sasl.passwd";

/// One parsed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    user: String,
    cred: StoredCredential,
}

/// The entries of a database file.
#[derive(Debug, Default)]
pub struct PasswdDb {
    entries: Vec<Entry>,
}

/// Whether `user` can be stored (no `:`, no control characters, not empty).
pub fn valid_user(user: &str) -> bool {
    !user.is_empty() && !user.chars().any(|c| c == ':' || c.is_control())
}

fn parse_line(line: &str) -> Option<Entry> {
    let f: Vec<&str> = line.split(':').collect();
    let [user, mech, iters, salt, stored, server] = f[..] else { return None };
    let hash = Hash::from_mechanism(mech)?;
    let cred = StoredCredential {
        hash,
        salt: base64::decode(salt)?,
        iterations: iters.parse().ok().filter(|i| *i > 0)?,
        stored_key: base64::decode(stored)?,
        server_key: base64::decode(server)?,
    };
    valid_user(user).then(|| Entry { user: user.to_string(), cred })
}

impl PasswdDb {
    /// Parse the text of a database; malformed lines are errors.
    pub fn parse(text: &str) -> Result<PasswdDb> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Some(e) => entries.push(e),
                None => bail!("malformed entry on line {}", n + 1),
            }
        }
        Ok(PasswdDb { entries })
    }

    /// Read `path`; a missing file is an empty database.
    pub fn load(path: &Path) -> Result<PasswdDb> {
        match std::fs::read_to_string(path) {
            Ok(t) => Self::parse(&t).with_context(|| format!("Failed to parse SASL password file {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PasswdDb::default()),
            Err(e) => Err(e).with_context(|| format!("Failed to read SASL password file {}", path.display())),
        }
    }

    /// The credential of `user` for `hash`.
    pub fn lookup(&self, user: &str, hash: Hash) -> Option<StoredCredential> {
        self.entries.iter().find(|e| e.user == user && e.cred.hash == hash).map(|e| e.cred.clone())
    }

    /// The file's text.
    fn format(&self) -> String {
        let mut s = String::from("# oxvirtd SASL SCRAM credentials: USER:MECH:ITERATIONS:SALT:STOREDKEY:SERVERKEY\n");
        for e in &self.entries {
            let c = &e.cred;
            s.push_str(&format!(
                "{}:{}:{}:{}:{}:{}\n",
                e.user,
                c.hash.mechanism(),
                c.iterations,
                base64::encode(&c.salt),
                base64::encode(&c.stored_key),
                base64::encode(&c.server_key)
            ));
        }
        s
    }

    fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("Failed to create directory {}", dir.display()))?;
        }
        oxvirt_util::fs::atomic_write_mode(path, self.format().as_bytes(), 0o600)
            .with_context(|| format!("Failed to write SASL password file {}", path.display()))
    }
}

/// Add `user` with `password` to the database at `path` (replacing any entries of the
/// user), with a credential for every SCRAM mechanism.
pub fn set_user(path: &Path, user: &str, password: &[u8]) -> Result<()> {
    if !valid_user(user) {
        bail!("invalid user name '{user}': it must not be empty or contain ':' or control characters");
    }
    if password.is_empty() {
        bail!("empty password");
    }
    let mut db = PasswdDb::load(path)?;
    db.entries.retain(|e| e.user != user);
    for hash in Hash::ALL {
        db.entries.push(Entry { user: user.to_string(), cred: StoredCredential::new(hash, password)? });
    }
    db.save(path)
}

/// Remove `user` from the database at `path`.
pub fn delete_user(path: &Path, user: &str) -> Result<()> {
    let mut db = PasswdDb::load(path)?;
    let before = db.entries.len();
    db.entries.retain(|e| e.user != user);
    if db.entries.len() == before {
        bail!("user '{user}' not found in {}", path.display());
    }
    db.save(path)
}

/// `--sasl-passwd USER`: read the password (its first line) from stdin.
pub fn set_user_from_stdin(path: &Path, user: &str) -> Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("Failed to read the password from stdin")?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    set_user(path, user, password.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn add_replace_delete() {
        let dir = std::env::temp_dir().join(format!("oxvirtd-passwd-{}", std::process::id()));
        let path = dir.join("db");
        set_user(&path, "fred", b"one").unwrap();
        set_user(&path, "bob@EXAMPLE", b"two").unwrap();
        let db = PasswdDb::load(&path).unwrap();
        let c = db.lookup("fred", Hash::Sha256).unwrap();
        assert_eq!(c, StoredCredential::derive(Hash::Sha256, b"one", &c.salt, c.iterations).unwrap());
        assert!(db.lookup("fred", Hash::Sha1).is_some());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("one"), "password stored");
        set_user(&path, "fred", b"three").unwrap();
        let c = PasswdDb::load(&path).unwrap().lookup("fred", Hash::Sha256).unwrap();
        assert_eq!(c, StoredCredential::derive(Hash::Sha256, b"three", &c.salt, c.iterations).unwrap());
        delete_user(&path, "fred").unwrap();
        assert!(PasswdDb::load(&path).unwrap().lookup("fred", Hash::Sha256).is_none());
        assert!(PasswdDb::load(&path).unwrap().lookup("bob@EXAMPLE", Hash::Sha256).is_some());
        assert!(delete_user(&path, "fred").is_err());
        assert!(set_user(&path, "a:b", b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_files_are_errors() {
        assert!(PasswdDb::parse("fred:SCRAM-SHA-256:0:AA==:AA==:AA==\n").is_err());
        assert!(PasswdDb::parse("fred:PLAIN:1:AA==:AA==:AA==\n").is_err());
        assert!(PasswdDb::parse("# only a comment\n\n").unwrap().entries.is_empty());
    }
}
