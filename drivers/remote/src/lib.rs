//! `oxvirt-driver-remote`: the remote driver — a client of libvirt's wire protocol that
//! serves `driver+unix://`, `driver+ssh://`, `driver+ext://`, `driver+tcp://` and
//! `driver+tls://` URIs ([`tls`]), URIs naming a host, and — registered after the in-process
//! drivers — every URI no other driver accepted, against `oxvirtd` or libvirt's
//! `libvirtd`.
//!
//! [`client`] is the transport (libvirt's `virNetClient`): a blocking byte stream with
//! one reader thread per connection, calls from any thread matched to replies by
//! serial, keepalive and event packets. [`uri`] turns a client URI into a socket or
//! tunnel command and the URI sent in CONNECT_OPEN. The driver traits are implemented
//! in `hypervisor.rs` and `objects.rs` over the typed structs of
//! `oxvirt_rpc::proto::remote`; events are in `events.rs`; [`stream`] is the client side
//! of data streams (volume upload/download). On unix transports descriptors cross
//! the connection (`CALL_WITH_FDS`/`REPLY_WITH_FDS`: graphics sockets, `*WithFiles`,
//! `virDomainFDAssociate`), and a connection close callback is told when the
//! connection ends under the application (end of file, keepalive, error) or when the
//! server relays its own connection's close (`CONNECT_EVENT_CONNECTION_CLOSED`).
//! `auth.rs` authenticates at open (polkit, SASL with [`auth_scram`] and credentials
//! from [`auth_conf`]).
//!
//! Layer: driver. May depend on `oxvirt` (api), `oxvirt-rpc`, `oxvirt-conf` and
//! `oxvirt-util`; never on another driver.

mod auth;
pub mod auth_conf;
pub mod auth_scram;
pub mod client;
pub mod conv;
mod events;
mod hypervisor;
mod objects;
pub mod stream;
pub mod tls;
mod tune;
pub mod uri;

use client::{Client, Void};
use oxvirt::driver::{ConnectDriver, ConnectDrivers, Probe};
use oxvirt::uri::Uri;
use oxvirt::{Error, ErrorCode, ErrorDomain, EventBus, Result};
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::{Decode, Encode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uri::TransportKind;

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;
/// `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`.
const FEATURE_REMOTE_EVENT_CALLBACK: i32 = 14;
/// `VIR_DRV_FEATURE_FD_PASSING`.
const FEATURE_FD_PASSING: i32 = 8;
/// `VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK`.
const FEATURE_REMOTE_CLOSE_CALLBACK: i32 = 15;
/// virsh's keepalive defaults: PING after 5 s of silence, give up after 6 unanswered.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_COUNT: u32 = 6;

/// The `remote` connection driver. Register it after every in-process driver.
pub struct RemoteConnectDriver;

/// Register the remote driver with the API's driver registry.
pub fn register() {
    oxvirt::driver::register(Arc::new(RemoteConnectDriver));
}

impl ConnectDriver for RemoteConnectDriver {
    fn name(&self) -> &'static str {
        "remote"
    }

    /// Accepts everything: URIs with a transport or a host are the remote driver's by
    /// definition, and any other URI reaching it was declined by the local drivers.
    fn probe(&self, _uri: &Uri) -> Probe {
        Probe::Accept
    }

    fn open(&self, uri: &Uri, flags: u32) -> Result<ConnectDrivers> {
        let conn = Arc::new(RemoteConn::open(uri, flags)?);
        Ok(ConnectDrivers {
            hypervisor: conn.clone(),
            network: Some(conn.clone()),
            storage: Some(conn.clone()),
            secret: Some(conn.clone()),
            nwfilter: Some(conn.clone()),
            interface: Some(conn.clone()),
            nodedev: Some(conn),
        })
    }
}

/// One open remote connection; implements every driver trait.
pub struct RemoteConn {
    client: Client,
    events: Arc<events::EventState>,
    closed: AtomicBool,
    transport: TransportKind,
    /// The connection's close callback (one at a time, called at most once).
    close_cb: CloseSlot,
    /// The server relays its own connection's close (feature 15).
    server_close_callback: bool,
}

/// Where a connection's close callback lives; shared with the transport's hook and
/// the event sink.
type CloseSlot = Arc<std::sync::Mutex<Option<oxvirt::driver::CloseCallback>>>;

/// Call and forget the callback in `slot` (libvirt resets it after one call).
fn fire_close(slot: &CloseSlot, reason: i32) {
    let cb = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(cb) = cb {
        cb(reason);
    }
}

fn open_transport(uri: &Uri, transport: TransportKind, rflags: u32, name: &str) -> Result<client::Transport> {
    let socket = uri.param("socket").map(str::to_string);
    let driver = (!uri.driver.is_empty()).then_some(uri.driver.as_str());
    match transport {
        TransportKind::Unix => {
            let path = match socket {
                Some(s) => s,
                None => uri::default_socket(driver, transport, uri.param("mode"), rflags)?,
            };
            client::connect_unix(&path)
        }
        TransportKind::Ssh | TransportKind::Libssh | TransportKind::Libssh2 => {
            let host = uri.server.clone().unwrap_or_else(|| "localhost".into());
            let path = match &socket {
                Some(s) => s.clone(),
                None => uri::default_socket(driver, transport, uri.param("mode"), rflags)?,
            };
            let bool_param = |k: &str| uri.param(k).map(|v| v.trim().parse::<i64>().unwrap_or(0) != 0).unwrap_or(false);
            let mut cmd = std::process::Command::new(uri.param("command").unwrap_or("ssh"));
            if let Some(p) = uri.port {
                cmd.arg("-p").arg(p.to_string());
            }
            if let Some(u) = &uri.user {
                cmd.arg("-l").arg(u);
            }
            if let Some(k) = uri.param("keyfile") {
                cmd.arg("-i").arg(k);
            }
            cmd.args(["-T", "-e", "none"]);
            if bool_param("no_tty") {
                cmd.args(["-o", "BatchMode=yes"]);
            }
            if bool_param("no_verify") {
                cmd.args(["-o", "StrictHostKeyChecking=no"]);
            }
            let force_nc = socket.is_some() || uri.param("proxy") == Some("netcat");
            let remote = uri::ssh_remote_command(uri.param("netcat"), &path, name, rflags & uri::OPEN_RO != 0, force_nc);
            cmd.arg("--").arg(host).arg(remote);
            client::connect_command(cmd)
        }
        TransportKind::Ext => {
            let Some(command) = uri.param("command") else {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    ErrorDomain::Remote,
                    "remote_open: for 'ext' transport, command is required",
                ));
            };
            client::connect_command(std::process::Command::new(command))
        }
        TransportKind::Tcp => {
            let host = uri.server.as_deref().unwrap_or("localhost");
            tls::connect_tcp(host, uri.port.unwrap_or(tls::TCP_PORT))
        }
        TransportKind::Tls => {
            let host = uri.server.as_deref().unwrap_or("localhost");
            let no_verify = uri.param("no_verify").is_some_and(|v| v.trim().parse::<i64>().unwrap_or(0) != 0);
            tls::connect_tls(host, uri.port.unwrap_or(tls::TLS_PORT), uri.param("pkipath"), !no_verify, uri::euid() == 0)
        }
    }
}

impl RemoteConn {
    /// Connect and run libvirt's handshake: AUTH_LIST, keepalive probe, CONNECT_OPEN,
    /// event-callback probe.
    pub fn open(uri: &Uri, flags: u32) -> Result<RemoteConn> {
        let transport = uri::transport_of(uri)?;
        let read_only = flags & oxvirt::OpenFlags::READ_ONLY.bits() != 0;
        let rflags = uri::daemon_flags(uri, transport, read_only, uri::euid());
        let name = uri::remote_name(uri);
        let stream = open_transport(uri, transport, rflags, &name)?;
        let events = Arc::new(events::EventState::new(EventBus::new()));
        let sink = events.clone();
        let close_cb: CloseSlot = Arc::default();
        let slot = close_cb.clone();
        let client = Client::new(
            stream,
            Box::new(move |p| {
                if p.header.prog == oxvirt_rpc::REMOTE_PROGRAM && p.header.procedure == RemoteProcedure::ConnectEventConnectionClosed as i32
                {
                    if let Ok(m) = p.body_lenient::<RemoteConnectEventConnectionClosedMsg>() {
                        fire_close(&slot, m.reason);
                    }
                    return;
                }
                sink.dispatch(p)
            }),
        )?;
        let slot = close_cb.clone();
        client.set_close_hook(Box::new(move |reason| fire_close(&slot, reason)));
        let mut conn = RemoteConn { client, events, closed: AtomicBool::new(false), transport, close_cb, server_close_callback: false };
        // libvirt's `priv->is_secure`: everything but plain TCP and `ext`.
        let secure = !matches!(transport, TransportKind::Tcp | TransportKind::Ext);
        auth::authenticate(&conn, uri, secure)?;
        let keepalive = conn.supports_feature(FEATURE_PROGRAM_KEEPALIVE);
        conn.call::<_, Void>(RemoteProcedure::ConnectOpen, &RemoteConnectOpenArgs { name: Some(name), flags: rflags })?;
        if !conn.supports_feature(FEATURE_REMOTE_EVENT_CALLBACK) {
            conn.events.set_legacy_server();
        }
        conn.server_close_callback = conn.supports_feature(FEATURE_REMOTE_CLOSE_CALLBACK);
        if keepalive {
            conn.client.start_keepalive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT);
        }
        Ok(conn)
    }

    fn supports_feature(&self, feature: i32) -> bool {
        self.call::<_, RemoteConnectSupportsFeatureRet>(
            RemoteProcedure::ConnectSupportsFeature,
            &RemoteConnectSupportsFeatureArgs { feature },
        )
        .map(|r| r.supported != 0)
        .unwrap_or(false)
    }

    /// Call a REMOTE procedure.
    fn call<A: Encode, R: Decode>(&self, p: RemoteProcedure, args: &A) -> Result<R> {
        self.client.call(p as i32, args)
    }

    /// Call a procedure with a void reply.
    fn call0<A: Encode>(&self, p: RemoteProcedure, args: &A) -> Result<()> {
        self.client.call::<A, Void>(p as i32, args).map(|_| ())
    }

    /// CONNECT_CLOSE, then close the socket. Idempotent.
    fn shutdown(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.call0(RemoteProcedure::ConnectClose, &Void);
        self.client.close();
    }
}

impl Drop for RemoteConn {
    fn drop(&mut self) {
        self.shutdown();
    }
}
