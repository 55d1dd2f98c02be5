//! How a client URI becomes a connection: the transport, the UNIX socket path and the
//! URI the daemon is asked to open (`remote_sockets.c` and `doRemoteOpen` in libvirt).

use oxvirt::uri::Uri;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use std::path::Path;

/// How the bytes reach the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// A local UNIX socket.
    Unix,
    /// TCP, no encryption (port 16509).
    Tcp,
    /// TLS (port 16514); the default when a host is given.
    Tls,
    /// An `ssh` process running `virt-ssh-helper` or `nc` on the host.
    Ssh,
    /// libssh2 (served by the `ssh` binary here).
    Libssh2,
    /// libssh (served by the `ssh` binary here).
    Libssh,
    /// An arbitrary command given by `?command=`.
    Ext,
}

/// `REMOTE_DRIVER_OPEN_RO`: open read-only (also selects the `-ro` socket).
pub const OPEN_RO: u32 = 1;
/// `REMOTE_DRIVER_OPEN_USER`: the per-user session daemon.
pub const OPEN_USER: u32 = 2;
/// `REMOTE_DRIVER_OPEN_AUTOSTART`: the client may spawn the session daemon.
pub const OPEN_AUTOSTART: u32 = 4;

/// Query parameters consumed by the client and not passed to the daemon.
const CLIENT_PARAMS: &[&str] = &[
    "name",
    "command",
    "socket",
    "auth",
    "sshauth",
    "netcat",
    "keyfile",
    "pkipath",
    "known_hosts",
    "known_hosts_verify",
    "tls_priority",
    "mode",
    "proxy",
    "no_sanity",
    "no_verify",
    "no_tty",
    "authfile",
];

/// Split the scheme into driver and transport (`remoteSplitURIScheme`).
pub fn transport_of(uri: &Uri) -> Result<TransportKind> {
    let Some(t) = &uri.transport else {
        return Ok(if uri.server.is_some() { TransportKind::Tls } else { TransportKind::Unix });
    };
    let kind = match t.to_ascii_lowercase().as_str() {
        "unix" => TransportKind::Unix,
        "tcp" => TransportKind::Tcp,
        "tls" => TransportKind::Tls,
        "ssh" => TransportKind::Ssh,
        "libssh2" => TransportKind::Libssh2,
        "libssh" => TransportKind::Libssh,
        "ext" => TransportKind::Ext,
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Remote,
                "remote_open: transport in URL not recognised (should be tls|unix|ssh|ext|tcp|libssh2|libssh)",
            ))
        }
    };
    if kind == TransportKind::Unix {
        if let Some(server) = &uri.server {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Remote,
                format!("using unix socket and remote server '{server}' is not supported."),
            ));
        }
    }
    Ok(kind)
}

/// The `REMOTE_DRIVER_OPEN_*` flags of `uri` (`remoteGetURIDaemonInfo`) for a process
/// with effective uid `euid`.
pub fn daemon_flags(uri: &Uri, transport: TransportKind, read_only: bool, euid: u32) -> u32 {
    let mut flags = 0;
    if (uri.path == "/session" || uri.scheme.starts_with("test+")) && euid > 0 {
        flags |= OPEN_USER;
        let autostart = std::env::var("LIBVIRT_AUTOSTART").map(|v| v != "0").unwrap_or(true);
        if uri.server.is_none() && transport == TransportKind::Unix && autostart {
            flags |= OPEN_AUTOSTART;
        }
    }
    if read_only {
        flags |= OPEN_RO;
    }
    flags
}

/// The URI sent in CONNECT_OPEN: `?name=` if given; `""` for `remote` schemes (the
/// daemon picks); otherwise the driver part of the scheme with the path and the query
/// parameters the client does not consume.
pub fn remote_name(uri: &Uri) -> String {
    if let Some(n) = uri.param("name") {
        return n.to_string();
    }
    if uri.driver == "remote" {
        return String::new();
    }
    let kept: Vec<String> = uri
        .params
        .iter()
        .filter(|(k, _)| !CLIENT_PARAMS.iter().any(|c| c.eq_ignore_ascii_case(k)))
        .map(|(k, v)| format!("{}={}", uri_escape(k), uri_escape(v)))
        .collect();
    let mut s = format!("{}://{}", uri.driver, uri.path);
    if !kept.is_empty() {
        s.push('?');
        s.push_str(&kept.join("&"));
    }
    s
}

fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `$XDG_RUNTIME_DIR/libvirt`, else `$HOME/.cache/libvirt` (`virGetUserRuntimeDirectory`).
fn user_runtime_dir() -> String {
    match std::env::var("XDG_RUNTIME_DIR") {
        Ok(d) if !d.is_empty() => format!("{d}/libvirt"),
        _ => format!("{}/.cache/libvirt", std::env::var("HOME").unwrap_or_else(|_| "/".into())),
    }
}

fn socket_for(prefix: &str, flags: u32) -> String {
    if flags & OPEN_USER != 0 {
        format!("{}/{prefix}-sock", user_runtime_dir())
    } else {
        format!("/var/run/libvirt/{prefix}-{}", if flags & OPEN_RO != 0 { "sock-ro" } else { "sock" })
    }
}

/// The UNIX socket to use without `?socket=` (`remoteGetUNIXSocket`): the modular
/// daemon's (`virt<driver>d-sock`) if it exists, else the monolithic libvirtd's.
/// `mode` is the `?mode=` parameter (`auto`, `legacy`, `direct`).
pub fn default_socket(driver: Option<&str>, transport: TransportKind, mode: Option<&str>, flags: u32) -> Result<String> {
    let direct = driver.filter(|d| !d.is_empty() && *d != "remote").map(|d| socket_for(&format!("virt{d}d"), flags));
    let legacy = socket_for("libvirt", flags);
    let mode = mode.unwrap_or("auto");
    match mode {
        "legacy" => Ok(legacy),
        "direct" => {
            if transport != TransportKind::Unix {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    ErrorDomain::Remote,
                    "Cannot use direct socket mode for ssh transport",
                ));
            }
            direct.ok_or_else(|| Error::new(ErrorCode::InvalidArg, ErrorDomain::Remote, "Cannot use direct socket mode if no URI is set"))
        }
        "auto" => {
            if transport == TransportKind::Unix {
                if let Some(d) = direct.filter(|d| Path::new(d).exists()) {
                    return Ok(d);
                }
            }
            Ok(legacy)
        }
        other => Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Remote, format!("Unknown remote mode '{other}'"))),
    }
}

/// Effective uid of this process (the owner of `/proc/self`).
pub fn euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0)
}

/// Quote `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The command run on the ssh host (`virNetClientSSHHelperCommand`): `virt-ssh-helper`
/// when it exists there, else `nc -U SOCKET`; only `nc` when a socket or netcat binary
/// is given.
pub fn ssh_remote_command(netcat: Option<&str>, socket: &str, name: &str, read_only: bool, force_netcat: bool) -> String {
    let nc = shell_quote(netcat.unwrap_or("nc"));
    let nccmd = format!(
        "if {nc} -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0; else ARG=; fi; {nc} $ARG -U {}",
        shell_quote(socket)
    );
    let helper = format!("virt-ssh-helper{}{}", if read_only { " -r " } else { " " }, shell_quote(name));
    let script = if force_netcat || netcat.is_some() {
        nccmd
    } else {
        format!("which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then {helper}; else {nccmd}; fi")
    };
    format!("sh -c {}", shell_quote(&script))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> Uri {
        Uri::parse(s).unwrap()
    }

    #[test]
    fn names_sent_in_connect_open() {
        assert_eq!(remote_name(&p("test+unix:///default?socket=/x")), "test:///default");
        assert_eq!(remote_name(&p("test+unix:///default?socket=/x&foo=bar")), "test:///default?foo=bar");
        assert_eq!(remote_name(&p("qemu+unix:///system?socket=/x")), "qemu:///system");
        assert_eq!(remote_name(&p("qemu+ssh://root@host:22/system?keyfile=k&no_tty=1")), "qemu:///system");
        assert_eq!(remote_name(&p("remote+unix:///?socket=/x")), "");
        assert_eq!(remote_name(&p("qemu+unix:///system?name=lxc:///")), "lxc:///");
    }

    #[test]
    fn transports() {
        assert_eq!(transport_of(&p("test+unix:///default")).unwrap(), TransportKind::Unix);
        assert_eq!(transport_of(&p("qemu://host/system")).unwrap(), TransportKind::Tls);
        assert_eq!(transport_of(&p("qemu:///system")).unwrap(), TransportKind::Unix);
        assert_eq!(transport_of(&p("qemu+SSH://h/system")).unwrap(), TransportKind::Ssh);
        let e = transport_of(&p("qemu+bogus:///system")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
        assert!(transport_of(&p("qemu+unix://host/system")).unwrap_err().message.contains("'host'"));
    }

    #[test]
    fn sockets_and_flags() {
        let u = p("qemu:///system");
        assert_eq!(daemon_flags(&u, TransportKind::Unix, true, 0), OPEN_RO);
        assert_eq!(daemon_flags(&p("test+unix:///default"), TransportKind::Unix, false, 0), 0);
        assert_eq!(daemon_flags(&p("test+tcp://h/default"), TransportKind::Tcp, false, 1000), OPEN_USER);
        assert_eq!(default_socket(Some("test"), TransportKind::Unix, Some("legacy"), OPEN_RO).unwrap(), "/var/run/libvirt/libvirt-sock-ro");
        assert_eq!(default_socket(Some("qemu"), TransportKind::Unix, Some("direct"), 0).unwrap(), "/var/run/libvirt/virtqemud-sock");
        assert_eq!(default_socket(Some("nosuchdrv"), TransportKind::Unix, None, 0).unwrap(), "/var/run/libvirt/libvirt-sock");
        assert!(default_socket(None, TransportKind::Unix, Some("weird"), 0).is_err());
    }

    #[test]
    fn ssh_command() {
        let c = ssh_remote_command(None, "/var/run/libvirt/libvirt-sock", "qemu:///system", false, false);
        assert!(c.starts_with("sh -c '"));
        assert!(c.contains("virt-ssh-helper"));
        let c = ssh_remote_command(None, "/s", "qemu:///system", false, true);
        assert!(!c.contains("virt-ssh-helper") && c.contains("-U"));
    }
}
