//! The daemon's settings: `libvirtd.conf` keys (parsed with
//! [`oxvirt_util::virconf`]) merged with libvirtd's defaults.

use anyhow::{bail, Context, Result};
use oxvirt_util::virconf::VirConf;
use std::path::{Path, PathBuf};

/// Settings read from the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `unix_sock_dir`: where the three sockets live.
    pub unix_sock_dir: PathBuf,
    /// `unix_sock_group`: group owning the sockets (none: the daemon's group).
    pub unix_sock_group: Option<String>,
    /// `unix_sock_rw_perms` (default 0700).
    pub unix_sock_rw_perms: u32,
    /// `unix_sock_ro_perms` (default 0777).
    pub unix_sock_ro_perms: u32,
    /// `unix_sock_admin_perms` (default 0700).
    pub unix_sock_admin_perms: u32,
    /// `listen_tcp` (default off; honoured with `--listen`).
    pub listen_tcp: bool,
    /// `listen_tls` (default on; honoured with `--listen`).
    pub listen_tls: bool,
    /// `auth_unix_rw`: "none" (default), "sasl" or "polkit" (see `crate::auth`).
    pub auth_unix_rw: String,
    /// `auth_unix_ro` (same values and default as `auth_unix_rw`).
    pub auth_unix_ro: String,
    /// `sasl_allowed_username_list`: glob patterns of SASL user names let in (none:
    /// everyone with a valid password).
    pub sasl_allowed_username_list: Option<Vec<String>>,
    /// `sasl_passwd_file` (oxvirtd's own key): the SCRAM credential file
    /// (`crate::auth::passwd`); default `oxvirtd-sasl.passwd` beside the config file.
    pub sasl_passwd_file: PathBuf,
    /// `max_clients` (default 5000): further connections wait in the listen backlog.
    pub max_clients: usize,
    /// `max_client_requests` (default 5): calls of one client running at once.
    pub max_client_requests: usize,
    /// `keepalive_interval` in seconds (default 5; -1 disables server pings).
    pub keepalive_interval: i64,
    /// `keepalive_count` (default 5).
    pub keepalive_count: u32,
    /// `log_filters` (stored; logging is to stderr for now).
    pub log_filters: Option<String>,
    /// `log_outputs` (stored; logging is to stderr for now).
    pub log_outputs: Option<String>,
    /// TCP and TLS listener settings.
    pub ip: crate::tcp::IpConfig,
}

/// True when the daemon runs as root (libvirtd's "privileged" mode).
pub fn privileged() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self is owned by the effective uid.
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// libvirtd's default socket directory: `/var/run/libvirt` for root,
/// `$XDG_RUNTIME_DIR/libvirt` otherwise.
pub fn default_socket_dir() -> PathBuf {
    if privileged() {
        return PathBuf::from("/var/run/libvirt");
    }
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")).unwrap_or_else(|| PathBuf::from("/tmp")));
    base.join("libvirt")
}

/// libvirtd's default configuration file.
pub fn default_config_file() -> PathBuf {
    if privileged() {
        return PathBuf::from("/etc/libvirt/libvirtd.conf");
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")).unwrap_or_else(|| PathBuf::from("/tmp")));
    base.join("libvirt").join("libvirtd.conf")
}

/// The default of `auth_unix_rw`/`auth_unix_ro`: "none". (libvirtd's is "polkit"
/// when privileged; see docs/differences.md.)
fn default_unix_auth() -> String {
    "none".to_string()
}

/// The SCRAM credential file beside the configuration file `config`.
pub fn default_passwd_file(config: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new(".")).join(crate::auth::passwd::FILE_NAME)
}

/// An `auth_*` value: "none", "sasl" or "polkit" (libvirtd refuses to start on others).
fn auth(conf: &VirConf, file: &str, key: &str, default: String) -> Result<String> {
    match conf.get_str(key)? {
        None => Ok(default),
        Some(v) if crate::auth::Method::parse(v).is_some() => Ok(v.to_string()),
        Some(v) => bail!("{file}: {key}: unsupported auth {v}"),
    }
}

impl Default for Config {
    fn default() -> Self {
        let unix_auth = default_unix_auth();
        Config {
            unix_sock_dir: default_socket_dir(),
            unix_sock_group: None,
            // libvirtd opens the socket to everyone when polkit decides.
            unix_sock_rw_perms: if unix_auth == "polkit" { 0o777 } else { 0o700 },
            unix_sock_ro_perms: 0o777,
            unix_sock_admin_perms: 0o700,
            listen_tcp: false,
            listen_tls: true,
            auth_unix_rw: unix_auth.clone(),
            auth_unix_ro: unix_auth,
            sasl_allowed_username_list: None,
            sasl_passwd_file: default_passwd_file(&default_config_file()),
            max_clients: 5000,
            max_client_requests: 5,
            keepalive_interval: 5,
            keepalive_count: 5,
            log_filters: None,
            log_outputs: None,
            ip: crate::tcp::IpConfig::default(),
        }
    }
}

fn perms(conf: &VirConf, key: &str, default: u32) -> Result<u32> {
    match conf.get_str(key)? {
        None => Ok(default),
        Some(s) => u32::from_str_radix(s, 8).ok().filter(|p| *p <= 0o7777).with_context(|| format!("Failed to parse mode '{s}' of {key}")),
    }
}

fn positive(conf: &VirConf, key: &str, default: usize) -> Result<usize> {
    match conf.get_int(key)? {
        None => Ok(default),
        Some(v) if v > 0 => Ok(usize::try_from(v).unwrap_or(usize::MAX)),
        Some(v) => bail!("config key '{key}' must be positive, got {v}"),
    }
}

impl Config {
    /// Settings from the text of a configuration file.
    pub fn parse(file: &str, text: &str) -> Result<Config> {
        let conf = VirConf::parse(file, text)?;
        let d = Config::default();
        let keepalive_count = match conf.get_int("keepalive_count")? {
            None => d.keepalive_count,
            Some(v) => u32::try_from(v).with_context(|| format!("keepalive_count must be between 0 and {}", u32::MAX))?,
        };
        let auth_unix_rw = auth(&conf, file, "auth_unix_rw", d.auth_unix_rw)?;
        // As libvirtd: polkit on the read-write socket opens it to everyone unless
        // unix_sock_rw_perms says otherwise.
        let rw_perms_default = if auth_unix_rw == "polkit" { 0o777 } else { 0o700 };
        let ip = crate::tcp::IpConfig::parse(&conf)?;
        auth(&conf, file, "auth_tcp", String::new())?;
        auth(&conf, file, "auth_tls", String::new())?;
        Ok(Config {
            unix_sock_dir: conf.get_str("unix_sock_dir")?.map(PathBuf::from).unwrap_or(d.unix_sock_dir),
            unix_sock_group: conf.get_str("unix_sock_group")?.map(str::to_string),
            unix_sock_rw_perms: perms(&conf, "unix_sock_rw_perms", rw_perms_default)?,
            unix_sock_ro_perms: perms(&conf, "unix_sock_ro_perms", d.unix_sock_ro_perms)?,
            unix_sock_admin_perms: perms(&conf, "unix_sock_admin_perms", d.unix_sock_admin_perms)?,
            listen_tcp: conf.get_int("listen_tcp")?.map_or(d.listen_tcp, |v| v != 0),
            listen_tls: conf.get_int("listen_tls")?.map_or(d.listen_tls, |v| v != 0),
            auth_unix_rw,
            auth_unix_ro: auth(&conf, file, "auth_unix_ro", d.auth_unix_ro)?,
            sasl_allowed_username_list: conf.get_str_list("sasl_allowed_username_list")?,
            sasl_passwd_file: conf
                .get_str("sasl_passwd_file")?
                .filter(|s| !s.is_empty())
                .map_or_else(|| default_passwd_file(Path::new(file)), PathBuf::from),
            max_clients: positive(&conf, "max_clients", d.max_clients)?,
            max_client_requests: positive(&conf, "max_client_requests", d.max_client_requests)?,
            keepalive_interval: conf.get_int("keepalive_interval")?.unwrap_or(d.keepalive_interval),
            keepalive_count,
            log_filters: conf.get_str("log_filters")?.map(str::to_string),
            log_outputs: conf.get_str("log_outputs")?.map(str::to_string),
            ip,
        })
    }

    /// Read `path`. A missing file is an error when it was named explicitly
    /// (`required`), libvirtd's defaults otherwise.
    pub fn load(path: &Path, required: bool) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&path.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Config::default()),
            Err(e) => Err(e).with_context(|| format!("Failed to read config file {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_override_defaults() {
        let c = Config::parse(
            "t",
            "unix_sock_dir = \"/tmp/s\"\nunix_sock_rw_perms = \"0770\"\nmax_clients = 2\nmax_client_requests = 1\nkeepalive_interval = -1\nlisten_tcp = 1\n",
        )
        .expect("valid");
        assert_eq!(c.unix_sock_dir, PathBuf::from("/tmp/s"));
        assert_eq!(c.unix_sock_rw_perms, 0o770);
        assert_eq!(c.unix_sock_ro_perms, 0o777);
        assert_eq!(c.max_clients, 2);
        assert_eq!(c.max_client_requests, 1);
        assert_eq!(c.keepalive_interval, -1);
        assert!(c.listen_tcp);
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Config::parse("t", "unix_sock_rw_perms = \"99\"").is_err());
        assert!(Config::parse("t", "max_clients = 0").is_err());
        assert!(Config::parse("t", "max_clients = \"x\"").is_err());
        assert!(Config::parse("t", "keepalive_count = -2").is_err());
        let e = Config::parse("/etc/x.conf", "auth_unix_rw = \"kerberos\"").expect_err("invalid").to_string();
        assert_eq!(e, "/etc/x.conf: auth_unix_rw: unsupported auth kerberos");
        assert!(Config::parse("t", "auth_tls = \"x\"").is_err());
    }

    #[test]
    fn auth_keys() {
        let c = Config::parse(
            "/etc/oxvirt/oxvirtd.conf",
            "auth_unix_rw = \"polkit\"\nauth_unix_ro = \"sasl\"\nsasl_allowed_username_list = [\"fred\", \"a*\"]\n",
        )
        .expect("valid");
        assert_eq!((c.auth_unix_rw.as_str(), c.auth_unix_ro.as_str()), ("polkit", "sasl"));
        assert_eq!(c.unix_sock_rw_perms, 0o777);
        assert_eq!(c.sasl_allowed_username_list, Some(vec!["fred".to_string(), "a*".to_string()]));
        assert_eq!(c.sasl_passwd_file, PathBuf::from("/etc/oxvirt/oxvirtd-sasl.passwd"));
        let c = Config::parse("t", "auth_unix_rw = \"none\"\nsasl_passwd_file = \"/p/db\"").expect("valid");
        assert_eq!((c.unix_sock_rw_perms, c.sasl_passwd_file), (0o700, PathBuf::from("/p/db")));
    }
}
