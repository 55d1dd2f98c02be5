//! libvirt connection URIs: `driver[+transport]://[user@][host][:port]/path[?query]`,
//! plus `LIBVIRT_DEFAULT_URI` and `uri_aliases` resolution.

use crate::{Error, Result};
use oxvirt_util::{ErrorCode, ErrorDomain};

/// A parsed connection URI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uri {
    /// The full scheme, e.g. `qemu+ssh`.
    pub scheme: String,
    /// The driver part of the scheme (`qemu`).
    pub driver: String,
    /// The transport part of the scheme (`ssh`), if any.
    pub transport: Option<String>,
    /// `user@` part.
    pub user: Option<String>,
    /// Host name; None for local URIs.
    pub server: Option<String>,
    /// Port number.
    pub port: Option<u16>,
    /// Path (`/system`, `/default`, `/abs/file.xml`); may be empty.
    pub path: String,
    /// Decoded query parameters in order.
    pub params: Vec<(String, String)>,
    /// The raw query string.
    pub query: Option<String>,
}

impl Uri {
    /// Parse a URI. Accepts the `scheme:///path` and `scheme://host/path` forms.
    pub fn parse(s: &str) -> Result<Uri> {
        let bad = |why: &str| Error::new(ErrorCode::InvalidArg, ErrorDomain::Uri, format!("Unable to parse URI {s}: {why}"));
        let (scheme, rest) = s.split_once(':').ok_or_else(|| bad("missing scheme"))?;
        if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
            return Err(bad("invalid scheme"));
        }
        let (driver, transport) = match scheme.split_once('+') {
            Some((d, t)) => (d.to_string(), Some(t.to_string())),
            None => (scheme.to_string(), None),
        };
        let mut uri = Uri { scheme: scheme.to_string(), driver, transport, ..Default::default() };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let path_part = if let Some(auth_and_path) = rest.strip_prefix("//") {
            let (auth, path) = match auth_and_path.find('/') {
                Some(i) => (&auth_and_path[..i], &auth_and_path[i..]),
                None => (auth_and_path, ""),
            };
            let hostport = match auth.rsplit_once('@') {
                Some((u, h)) => {
                    uri.user = Some(percent_decode(u));
                    h
                }
                None => auth,
            };
            let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
                match v6.split_once(']') {
                    Some((h, p)) => (h, p.strip_prefix(':')),
                    None => return Err(bad("unterminated IPv6 address")),
                }
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
            if !host.is_empty() {
                uri.server = Some(host.to_string());
            }
            if let Some(p) = port.filter(|p| !p.is_empty()) {
                uri.port = Some(p.parse().map_err(|_| bad("invalid port"))?);
            }
            path
        } else {
            rest
        };
        uri.path = percent_decode(path_part);
        if let Some(q) = query {
            uri.query = Some(q.to_string());
            for kv in q.split(['&', ';']).filter(|kv| !kv.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                uri.params.push((percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " "))));
            }
        }
        Ok(uri)
    }

    /// Value of query parameter `name` (last wins, as in libvirt).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// True when the URI names no remote host and no transport.
    pub fn is_local(&self) -> bool {
        self.server.is_none() && self.transport.is_none()
    }

    /// Format back to text (`scheme://[user@][host][:port]path[?query]`).
    pub fn to_string_full(&self) -> String {
        let mut s = format!("{}://", self.scheme);
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        if let Some(h) = &self.server {
            if h.contains(':') {
                s.push_str(&format!("[{h}]"));
            } else {
                s.push_str(h);
            }
        }
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s.push_str(&self.path);
        if let Some(q) = &self.query {
            s.push('?');
            s.push_str(q);
        }
        s
    }
}

impl std::fmt::Display for Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string_full())
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolve an alias from `uri_aliases` lines (`"name=uri"`), as libvirt's
/// `virURIResolveAlias`: an alias name has no `:` or `/`.
pub fn resolve_alias(name: &str, aliases: &[String]) -> Option<String> {
    if name.contains([':', '/']) {
        return None;
    }
    aliases.iter().find_map(|a| {
        let (k, v) = a.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Read `uri_aliases` and `uri_default` from a libvirt client config file
/// (`$XDG_CONFIG_HOME/libvirt/libvirt.conf` or `/etc/libvirt/libvirt.conf`).
/// Only the two settings oxvirt uses are understood.
pub fn client_config() -> (Vec<String>, Option<String>) {
    let path = if rustix_like_is_root() {
        std::path::PathBuf::from("/etc/libvirt/libvirt.conf")
    } else {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")))
            .unwrap_or_default();
        base.join("libvirt/libvirt.conf")
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    parse_client_config(&text)
}

fn rustix_like_is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false) || std::env::var_os("HOME").map(|h| h == "/root").unwrap_or(false)
}

/// Parse `uri_aliases = [ "a=b", ... ]` and `uri_default = "..."` from config text.
pub fn parse_client_config(text: &str) -> (Vec<String>, Option<String>) {
    let cleaned: String = text.lines().map(|l| l.split('#').next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut aliases = Vec::new();
    let mut default = None;
    let quoted = |s: &str| -> Vec<String> { s.split('"').skip(1).step_by(2).map(str::to_string).collect() };
    if let Some(i) = cleaned.find("uri_aliases") {
        let rest = &cleaned[i..];
        if let (Some(a), Some(b)) = (rest.find('['), rest.find(']')) {
            if a < b {
                aliases = quoted(&rest[a..b]);
            }
        }
    }
    if let Some(i) = cleaned.find("uri_default") {
        let line = cleaned[i..].lines().next().unwrap_or("");
        default = quoted(line).into_iter().next();
    }
    (aliases, default)
}

/// The URI to use when the caller gave none: `LIBVIRT_DEFAULT_URI`, then the
/// config's `uri_default`.
pub fn default_uri() -> Option<String> {
    if let Ok(u) = std::env::var("LIBVIRT_DEFAULT_URI") {
        if !u.is_empty() {
            return Some(u);
        }
    }
    client_config().1
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_libvirt_uri_forms() {
        let u = Uri::parse("qemu+ssh://root@host.example:2222/system?socket=/tmp/s&no_verify=1").unwrap();
        assert_eq!(u.driver, "qemu");
        assert_eq!(u.transport.as_deref(), Some("ssh"));
        assert_eq!(u.user.as_deref(), Some("root"));
        assert_eq!(u.server.as_deref(), Some("host.example"));
        assert_eq!(u.port, Some(2222));
        assert_eq!(u.path, "/system");
        assert_eq!(u.param("socket"), Some("/tmp/s"));
        assert_eq!(u.param("no_verify"), Some("1"));
        let t = Uri::parse("test:///default").unwrap();
        assert!(t.is_local());
        assert_eq!(t.path, "/default");
        assert_eq!(t.to_string(), "test:///default");
        let v6 = Uri::parse("qemu+tcp://[::1]:16509/system").unwrap();
        assert_eq!(v6.server.as_deref(), Some("::1"));
        assert!(Uri::parse("nocolon").is_err());
        assert!(Uri::parse("qemu+tcp://h:notaport/system").is_err());
        assert_eq!(Uri::parse("test:///a%20b").unwrap().path, "/a b");
    }

    #[test]
    fn aliases_and_config() {
        let (aliases, def) = parse_client_config("uri_aliases = [\n  \"hail=qemu+ssh://root@hail/system\", # c\n  \"sleet=qemu:///system\",\n]\nuri_default = \"test:///default\"\n");
        assert_eq!(resolve_alias("sleet", &aliases).as_deref(), Some("qemu:///system"));
        assert_eq!(resolve_alias("qemu:///x", &aliases), None);
        assert_eq!(def.as_deref(), Some("test:///default"));
    }
}
