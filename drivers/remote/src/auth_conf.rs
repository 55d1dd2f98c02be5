//! libvirt's client credential file, `auth.conf` (`virauthconfig.c`): a GLib key file
//! with `[auth-SERVICE-HOST]` groups (falling back to `[auth-SERVICE-default]`) naming
//! a `credentials` set, and `[credentials-NAME]` groups holding `username`,
//! `authname`, `password` and `realm`. Found through `LIBVIRT_AUTH_FILE`, the URI's
//! `authfile` parameter, `$XDG_CONFIG_HOME/libvirt/auth.conf` (or
//! `~/.config/libvirt/auth.conf`), then `/etc/libvirt/auth.conf`.

use oxvirt::uri::Uri;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A parsed `auth.conf`.
#[derive(Debug, Default)]
pub struct AuthConfig {
    path: PathBuf,
    groups: HashMap<String, HashMap<String, String>>,
}

/// GLib key-file value escapes (`\s`, `\n`, `\t`, `\r`, `\\`).
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

impl AuthConfig {
    /// Parse key-file text; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<AuthConfig> {
        let mut groups: HashMap<String, HashMap<String, String>> = HashMap::new();
        let mut current: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(g) = line.strip_prefix('[') {
                let name = g.trim_end().strip_suffix(']').ok_or_else(|| syntax(path, n))?;
                groups.entry(name.to_string()).or_default();
                current = Some(name.to_string());
                continue;
            }
            let (Some(group), Some((k, v))) = (&current, line.split_once('=')) else { return Err(syntax(path, n)) };
            groups.entry(group.clone()).or_default().insert(k.trim().to_string(), unescape(v.trim_start()));
        }
        Ok(AuthConfig { path: path.to_path_buf(), groups })
    }

    /// Read `path`.
    pub fn load(path: &Path) -> Result<AuthConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(ErrorCode::AuthFailed, ErrorDomain::Remote, format!("Unable to read auth file {}: {e}", path.display()))
        })?;
        Self::parse(path, &text)
    }

    /// The file to use for `uri`, if any (`virAuthGetConfigFilePathURI`).
    pub fn locate(uri: &Uri) -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("LIBVIRT_AUTH_FILE") {
            return Some(PathBuf::from(p));
        }
        if let Some(p) = uri.param("authfile") {
            return Some(PathBuf::from(p));
        }
        let user_dir = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|d| d.join("libvirt/auth.conf"));
        [user_dir, Some(PathBuf::from("/etc/libvirt/auth.conf"))].into_iter().flatten().find(|p| std::fs::File::open(p).is_ok())
    }

    /// `virAuthConfigLookup`: credential `credname` for `service` on `host`
    /// (`localhost` when none).
    pub fn lookup(&self, service: &str, host: Option<&str>, credname: &str) -> Result<Option<String>> {
        let host = host.unwrap_or("localhost");
        let mut group = format!("auth-{service}-{host}");
        if !self.groups.contains_key(&group) {
            group = format!("auth-{service}-default");
        }
        let Some(auth) = self.groups.get(&group) else { return Ok(None) };
        let Some(cred) = auth.get("credentials") else {
            return Err(Error::new(
                ErrorCode::ConfSyntax,
                ErrorDomain::Remote,
                format!("Missing item 'credentials' in group '{group}' in '{}'", self.path.display()),
            ));
        };
        let Some(creds) = self.groups.get(&format!("credentials-{cred}")) else {
            return Err(Error::new(
                ErrorCode::ConfSyntax,
                ErrorDomain::Remote,
                format!("Missing group 'credentials-{cred}' referenced from group '{group}' in '{}'", self.path.display()),
            ));
        };
        Ok(creds.get(credname).cloned())
    }
}

fn syntax(path: &Path, line: usize) -> Error {
    Error::new(ErrorCode::ConfSyntax, ErrorDomain::Remote, format!("{}:{}: invalid key file syntax", path.display(), line + 1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TEXT: &str = "# comment\n[credentials-test]\nauthname = fred\npassword=two\\swords\n\n\
                        [auth-libvirt-h1]\ncredentials=test\n[auth-libvirt-default]\ncredentials=other\n\
                        [auth-libvirt-bad]\nx=y\n";

    #[test]
    fn lookup_like_libvirt() {
        let c = AuthConfig::parse(Path::new("a.conf"), TEXT).unwrap();
        assert_eq!(c.lookup("libvirt", Some("h1"), "authname").unwrap().as_deref(), Some("fred"));
        assert_eq!(c.lookup("libvirt", Some("h1"), "password").unwrap().as_deref(), Some("two words"));
        assert_eq!(c.lookup("libvirt", Some("h1"), "realm").unwrap(), None);
        assert_eq!(c.lookup("ssh", Some("h1"), "authname").unwrap(), None);
        let e = c.lookup("libvirt", None, "authname").unwrap_err();
        assert_eq!(
            e.message,
            "configuration file syntax error: Missing group 'credentials-other' referenced from group 'auth-libvirt-default' in 'a.conf'"
        );
        let e = c.lookup("libvirt", Some("bad"), "authname").unwrap_err();
        assert!(e.message.contains("Missing item 'credentials' in group 'auth-libvirt-bad'"), "{}", e.message);
        assert!(AuthConfig::parse(Path::new("a"), "k=v\n").is_err());
    }
}
