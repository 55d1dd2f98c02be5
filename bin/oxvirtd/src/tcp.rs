//! TCP and TLS listeners (`-l/--listen` with `listen_tcp`/`listen_tls`): the settings
//! of `libvirtd.conf` that concern them, binding, and the accept loops. An accepted
//! client is served by [`server::run_client`] exactly like a unix-socket client (as on
//! libvirtd's read-write socket); TLS clients first go through the handshake and the
//! checks of [`crate::tls`].
//!
//! Authentication follows `auth_tcp` (default `sasl`) and `auth_tls` (default `none`)
//! (`crate::auth`). oxvirtd's SASL mechanisms (SCRAM) have no security layer, so on
//! plain TCP — where libvirt requires an SSF of 56 — no mechanism is offered; SASL
//! works over TLS. `auth_tcp = "none"` gives anyone who can reach the port full
//! access — for tests and trusted networks only.

use crate::auth::Transport;
use crate::config::{self, Config};
use crate::server::{self, Server};
use crate::tls::{ServerFiles, TlsContext};
use anyhow::{bail, Context, Result};
use oxvirt_util::virconf::VirConf;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Log a warning of the `rpc` module.
macro_rules! warn {
    ($($arg:tt)*) => { crate::admin::logging::log(crate::admin::logging::Priority::Warning, "rpc", format_args!($($arg)*)) };
}

/// Log an error of the `rpc` module.
macro_rules! error {
    ($($arg:tt)*) => { crate::admin::logging::log(crate::admin::logging::Priority::Error, "rpc", format_args!($($arg)*)) };
}

/// How long a TLS client may take for its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// `libvirtd.conf` keys of the TCP and TLS listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    /// `listen_addr`: address or host name to bind (none: every address).
    pub listen_addr: Option<String>,
    /// `tcp_port` (default "16509").
    pub tcp_port: String,
    /// `tls_port` (default "16514").
    pub tls_port: String,
    /// `auth_tcp` (default "sasl").
    pub auth_tcp: String,
    /// `auth_tls` (default "none").
    pub auth_tls: String,
    /// `key_file`: the server's private key.
    pub key_file: Option<PathBuf>,
    /// `cert_file`: the server's certificate.
    pub cert_file: Option<PathBuf>,
    /// `ca_file`: the CA certificate.
    pub ca_file: Option<PathBuf>,
    /// `crl_file`: the certificate revocation list.
    pub crl_file: Option<PathBuf>,
    /// `tls_no_verify_certificate`: accept clients without a valid certificate.
    pub tls_no_verify_certificate: bool,
    /// `tls_no_sanity_certificate` (accepted; oxvirtd runs no sanity checks of its own
    /// certificate beyond loading it).
    pub tls_no_sanity_certificate: bool,
    /// `tls_allowed_dn_list`: glob patterns of client DNs allowed in.
    pub tls_allowed_dn_list: Option<Vec<String>>,
    /// `tls_priority` (accepted; rustls's safe defaults apply).
    pub tls_priority: Option<String>,
}

impl Default for IpConfig {
    fn default() -> Self {
        IpConfig {
            listen_addr: None,
            tcp_port: "16509".into(),
            tls_port: "16514".into(),
            auth_tcp: "sasl".into(),
            auth_tls: "none".into(),
            key_file: None,
            cert_file: None,
            ca_file: None,
            crl_file: None,
            tls_no_verify_certificate: false,
            tls_no_sanity_certificate: false,
            tls_allowed_dn_list: None,
            tls_priority: None,
        }
    }
}

/// A port given as a string or a number.
fn port(conf: &VirConf, key: &str, default: String) -> Result<String> {
    if let Ok(Some(v)) = conf.get_int(key) {
        return Ok(v.to_string());
    }
    Ok(conf.get_str(key)?.map_or(default, str::to_string))
}

impl IpConfig {
    /// The keys of a parsed configuration file, with libvirtd's defaults.
    pub fn parse(conf: &VirConf) -> Result<IpConfig> {
        let d = IpConfig::default();
        let path = |k: &str| -> Result<Option<PathBuf>> { Ok(conf.get_str(k)?.filter(|s| !s.is_empty()).map(PathBuf::from)) };
        Ok(IpConfig {
            listen_addr: conf.get_str("listen_addr")?.map(str::to_string),
            tcp_port: port(conf, "tcp_port", d.tcp_port)?,
            tls_port: port(conf, "tls_port", d.tls_port)?,
            auth_tcp: conf.get_str("auth_tcp")?.map_or(d.auth_tcp, str::to_string),
            auth_tls: conf.get_str("auth_tls")?.map_or(d.auth_tls, str::to_string),
            key_file: path("key_file")?,
            cert_file: path("cert_file")?,
            ca_file: path("ca_file")?,
            crl_file: path("crl_file")?,
            tls_no_verify_certificate: conf.get_int("tls_no_verify_certificate")?.is_some_and(|v| v != 0),
            tls_no_sanity_certificate: conf.get_int("tls_no_sanity_certificate")?.is_some_and(|v| v != 0),
            tls_allowed_dn_list: conf.get_str_list("tls_allowed_dn_list")?,
            tls_priority: conf.get_str("tls_priority")?.map(str::to_string),
        })
    }
}

/// A bound TCP or TLS listener.
pub struct IpListener {
    /// The bound address.
    pub addr: SocketAddr,
    listener: std::net::TcpListener,
    tls: Option<Arc<TlsContext>>,
}

impl IpListener {
    /// "tcp" or "tls".
    pub fn kind(&self) -> &'static str {
        if self.tls.is_some() {
            "tls"
        } else {
            "tcp"
        }
    }
}

/// The addresses to bind for `port`: each address `listen_addr` resolves to, or the
/// IPv6 and IPv4 wildcards.
fn addresses(listen_addr: Option<&str>, port: &str) -> Result<Vec<SocketAddr>> {
    let port: u16 = port.trim().parse().with_context(|| format!("Invalid port '{port}': only numeric ports are supported"))?;
    match listen_addr {
        Some(host) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let addrs: Vec<SocketAddr> =
                (host, port).to_socket_addrs().with_context(|| format!("Unable to resolve address '{host}' service '{port}'"))?.collect();
            if addrs.is_empty() {
                bail!("No addresses to bind to for '{host}'");
            }
            Ok(addrs)
        }
        None => Ok(vec![SocketAddr::from(([0u16; 8], port)), SocketAddr::from(([0u8; 4], port))]),
    }
}

fn bind(addrs: &[SocketAddr], wildcard: bool, tls: Option<Arc<TlsContext>>) -> Result<Vec<IpListener>> {
    let mut out = Vec::new();
    for a in addrs {
        match std::net::TcpListener::bind(a) {
            Ok(l) => {
                l.set_nonblocking(true).context("Failed to make the socket non-blocking")?;
                out.push(IpListener { addr: *a, listener: l, tls: tls.clone() });
            }
            // The IPv6 wildcard usually covers IPv4 too (dual stack).
            Err(e) if wildcard && e.kind() == std::io::ErrorKind::AddrInUse && !out.is_empty() => {}
            Err(e) if wildcard && a.is_ipv6() => warn!("cannot bind {a}: {e}"),
            Err(e) => return Err(e).with_context(|| format!("Failed to bind socket to {a}")),
        }
    }
    Ok(out)
}

/// Bind the TCP and TLS listeners that are enabled: with `--listen`, `listen_tls`
/// (default on) and `listen_tcp`, as libvirtd. Clients authenticate as `auth_tcp` /
/// `auth_tls` say (`crate::auth`).
pub fn bind_all(cfg: &Config, listen: bool) -> Result<Vec<IpListener>> {
    let ip = &cfg.ip;
    let mut out = Vec::new();
    if !listen {
        return Ok(out);
    }
    let wildcard = ip.listen_addr.is_none();
    if cfg.listen_tcp {
        if ip.auth_tcp == "none" {
            warn!(
                "listening for unencrypted TCP connections without authentication (auth_tcp = \"none\"); \
                 anyone who can reach the port has full access"
            );
        } else if ip.auth_tcp == "sasl" {
            // libvirtd asks for an SSF of at least 56 on plain TCP; oxvirtd's SCRAM
            // mechanisms have none, so AUTH_SASL_INIT fails there, as libvirtd's would
            // with only SCRAM configured.
            warn!("auth_tcp = \"sasl\": no SASL mechanism of oxvirtd has the security layer plain TCP requires; use TLS");
        }
        let addrs = addresses(ip.listen_addr.as_deref(), &ip.tcp_port)?;
        out.extend(bind(&addrs, wildcard, None)?);
    }
    if cfg.listen_tls {
        if ip.tls_priority.is_some() {
            warn!("tls_priority is ignored; rustls's safe defaults apply");
        }
        let files = ServerFiles::locate(ip, config::privileged())?;
        let ctx = Arc::new(TlsContext::new(ip, &files)?);
        let addrs = addresses(ip.listen_addr.as_deref(), &ip.tls_port)?;
        out.extend(bind(&addrs, wildcard, Some(ctx))?);
    }
    Ok(out)
}

/// Start the accept loops; they end at [`Server::shutdown`].
pub fn spawn(server: &Arc<Server>, listeners: Vec<IpListener>) -> Result<()> {
    for l in listeners {
        let tl = TcpListener::from_std(l.listener).context("Failed to register the socket with the runtime")?;
        tokio::spawn(accept_loop(server.clone(), tl, l.tls));
    }
    Ok(())
}

async fn accept_loop(server: Arc<Server>, listener: TcpListener, tls: Option<Arc<TlsContext>>) {
    let mut stop = server.shutdown_signal();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => return,
        };
        // max_clients, as on the unix sockets.
        let slot = tokio::select! {
            s = server.slots.clone().acquire_owned() => match s { Ok(s) => s, Err(_) => return },
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let server = server.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => server::run_client(server, Transport::Tcp, stream, None).await,
                        Some(ctx) => serve_tls(server, ctx, stream, peer).await,
                    }
                    drop(slot);
                });
            }
            Err(e) => {
                error!("accept failed on a TCP socket: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Handshake, libvirt's certificate checks, the `\1` confirmation byte, then RPC.
async fn serve_tls(server: Arc<Server>, ctx: Arc<TlsContext>, stream: tokio::net::TcpStream, peer: SocketAddr) {
    let mut tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, ctx.acceptor().accept(stream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            error!("TLS handshake with {peer} failed: {e}");
            return;
        }
        Err(_) => {
            error!("TLS handshake with {peer} timed out");
            return;
        }
    };
    if let Err(e) = ctx.check_peer(tls.get_ref().1.peer_certificates()) {
        error!("refusing TLS client {peer}: {e}");
        let _ = tls.shutdown().await;
        return;
    }
    if tls.write_all(&[1]).await.is_err() || tls.flush().await.is_err() {
        return;
    }
    server::run_client(server, Transport::Tls, tls, None).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_defaults() {
        let c = Config::parse(
            "t",
            "listen_addr = \"127.0.0.1\"\ntcp_port = \"5000\"\ntls_port = 5001\nauth_tcp = \"none\"\n\
             tls_allowed_dn_list = [\"C=GB,CN=*\", \"CN=x\"]\ntls_no_verify_certificate = 1\nca_file = \"/ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(c.ip.listen_addr.as_deref(), Some("127.0.0.1"));
        assert_eq!((c.ip.tcp_port.as_str(), c.ip.tls_port.as_str()), ("5000", "5001"));
        assert_eq!(c.ip.auth_tcp, "none");
        assert_eq!(c.ip.tls_allowed_dn_list, Some(vec!["C=GB,CN=*".to_string(), "CN=x".to_string()]));
        assert!(c.ip.tls_no_verify_certificate);
        assert_eq!(c.ip.ca_file, Some(PathBuf::from("/ca.pem")));
        let d = Config::parse("t", "").unwrap();
        assert_eq!(
            (d.ip.tcp_port.as_str(), d.ip.tls_port.as_str(), d.ip.auth_tcp.as_str(), d.ip.auth_tls.as_str()),
            ("16509", "16514", "sasl", "none")
        );
        assert!(d.listen_tls && !d.listen_tcp);
    }

    #[test]
    fn addresses_to_bind() {
        assert_eq!(addresses(Some("127.0.0.1"), "16509").unwrap(), vec!["127.0.0.1:16509".parse::<SocketAddr>().unwrap()]);
        assert_eq!(addresses(None, "1").unwrap().len(), 2);
        assert!(addresses(None, "libvirt").is_err());
    }
}
