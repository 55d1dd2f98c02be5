//! Per-client state and what libvirtd handles before procedure dispatch: the
//! connection lifecycle (`AUTH_LIST`, `CONNECT_SUPPORTS_FEATURE`, `CONNECT_OPEN`,
//! `CONNECT_CLOSE`, close callbacks), calls before open, and panics in dispatch.

use crate::dispatch::{self, args, ret, void, Reply};
use crate::events;
use crate::outbox::Out;
use crate::server::{encode, Server, SocketKind};
use oxvirt::{Connect, Error, ErrorCode, ErrorDomain, OpenFlags};
use oxvirt_rpc::message::{ADMIN_PROGRAM, LXC_PROGRAM, QEMU_PROGRAM, REMOTE_PROGRAM};
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::proto::{ProcInfo, Program};
use oxvirt_rpc::{MessageStatus, Packet};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// `VIR_DRV_FEATURE_*` numbers the daemon answers itself.
mod feature {
    pub const FD_PASSING: i32 = 8;
    pub const TYPED_PARAM_STRING: i32 = 9;
    pub const PROGRAM_KEEPALIVE: i32 = 10;
    pub const REMOTE_EVENT_CALLBACK: i32 = 14;
    pub const REMOTE_CLOSE_CALLBACK: i32 = 15;
    pub const NETWORK_UPDATE_HAS_CORRECT_ORDER: i32 = 16;
}

/// One connected client.
pub struct Client {
    /// The socket it came in on.
    pub kind: SocketKind,
    out: Out,
    conn: Mutex<Option<Connect>>,
    keepalive: AtomicBool,
    /// Held while an event registration is made and answered, and while an event is
    /// queued, so that no event of a new callback overtakes the registration's reply.
    event_gate: Mutex<()>,
    /// Event registrations: the callbackID the client knows → the API's id.
    pub(crate) callbacks: Mutex<HashMap<i32, i32>>,
    /// Legacy domain event registrations: (eventID, the API's id).
    pub(crate) legacy: Mutex<Vec<(i32, i32)>>,
    /// Open data streams (`crate::stream`).
    pub(crate) streams: crate::stream::Streams,
    /// A close callback is registered on the connection (`CONNECT_REGISTER_CLOSE_CALLBACK`).
    close_registered: AtomicBool,
    /// Authentication state (`crate::auth`).
    pub(crate) auth: crate::auth::ClientAuth,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Client {
    /// A new client writing through `out`.
    pub fn new(kind: SocketKind, out: impl Into<Out>) -> Client {
        Client {
            kind,
            out: out.into(),
            conn: Mutex::new(None),
            keepalive: AtomicBool::new(false),
            event_gate: Mutex::new(()),
            callbacks: Mutex::new(HashMap::new()),
            legacy: Mutex::new(Vec::new()),
            streams: crate::stream::Streams::default(),
            close_registered: AtomicBool::new(false),
            auth: crate::auth::ClientAuth::default(),
        }
    }

    /// Queue bytes for the socket.
    pub fn send(&self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.out.send(bytes);
        }
    }

    /// Queue an event packet, after any registration reply being sent.
    pub fn send_event(&self, bytes: Vec<u8>) {
        let _g = lock(&self.event_gate);
        self.send(bytes);
    }

    /// Take the event gate (see [`Client::send_event`]).
    pub(crate) fn gate(&self) -> MutexGuard<'_, ()> {
        lock(&self.event_gate)
    }

    /// Whether the client asked for keepalive (`CONNECT_SUPPORTS_FEATURE` 10), so the
    /// server may ping it.
    pub fn keepalive_enabled(&self) -> bool {
        self.keepalive.load(Ordering::SeqCst)
    }

    /// The open hypervisor connection, or libvirtd's error for calls before open.
    pub fn conn(&self) -> Result<Connect, Error> {
        lock(&self.conn).clone().ok_or_else(|| Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "hypervisor connection not open"))
    }

    /// Drop every event registration and the hypervisor connection (client gone or
    /// `CONNECT_CLOSE`).
    pub fn teardown(&self) {
        self.streams.close_all();
        let conn = lock(&self.conn).take();
        if self.close_registered.swap(false, Ordering::SeqCst) {
            if let Some(c) = &conn {
                let _ = c.unregister_close_callback();
            }
        }
        let ids: Vec<i32> =
            lock(&self.callbacks).drain().map(|(_, api)| api).chain(lock(&self.legacy).drain(..).map(|(_, api)| api)).collect();
        if let Some(c) = conn {
            for id in ids {
                let _ = c.event_deregister(id);
            }
        }
    }
}

/// libvirt's answer for a procedure nobody serves.
pub fn unknown_procedure(n: i32) -> Error {
    Error::raw(ErrorCode::Rpc, ErrorDomain::Rpc, format!("unknown procedure: {n}"))
}

/// The `remote_error` libvirtd sends for `e`: like [`RemoteError::from_vir_error`],
/// but with `str1` = the code's message template and `str2` = the detail when the
/// message was built from the template (libvirtd's `virRaiseError` arguments).
pub fn remote_error(e: &Error) -> RemoteError {
    let mut r = RemoteError::from_vir_error(e);
    // virNetMessageSaveError's fallback when a dispatcher failed without reporting an
    // error (e.g. AUTH_POLKIT on a socket without polkit): no strings, no ints.
    if e.message == crate::auth::NO_ERROR_SET {
        r.str1 = None;
        r.str2 = None;
        r.int1 = 0;
        r.int2 = 0;
        return r;
    }
    if e.code != ErrorCode::Rpc {
        let template = oxvirt_util::error::prefix(e.code, true);
        if let Some((head, tail)) = template.split_once("%s") {
            if let Some(detail) = e.message.strip_prefix(head).and_then(|m| m.strip_suffix(tail)) {
                if !detail.is_empty() {
                    r.str1 = Some(template.to_string());
                    r.str2 = Some(detail.to_string());
                }
            }
        }
    }
    r
}

/// The reply packet for a call's result.
pub fn reply_packet(p: &Packet, r: Reply) -> Vec<u8> {
    let pkt = match r {
        Ok(payload) => Packet { header: p.header.reply(MessageStatus::OK), nfds: 0, payload },
        Err(e) => match Packet::with_body(p.header.reply(MessageStatus::ERROR), &remote_error(&e)) {
            Ok(pkt) => pkt,
            Err(_) => return Vec::new(),
        },
    };
    encode(&pkt)
}

/// Execute one call and queue its reply. Runs on the blocking pool; a panic becomes
/// `VIR_ERR_INTERNAL_ERROR` for this call only.
pub fn handle_call(
    server: &Arc<Server>,
    client: &Arc<Client>,
    program: &'static Program,
    procedure: &'static ProcInfo,
    p: &Packet,
    fds: Vec<OwnedFd>,
) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match program.number {
        // libvirtd decodes the arguments before anything else looks at the call.
        _ if !args_decode(procedure, &p.payload) => Some(Err(dispatch::undecodable())),
        // Procedures with descriptors answer themselves (REPLY_WITH_FDS); the fds of
        // any other call are dropped (closed) here, as libvirtd closes them.
        REMOTE_PROGRAM if fd_procedure(procedure.number) => {
            fd_call(client, procedure.number, p, fds);
            None
        }
        QEMU_PROGRAM if dispatch::fds::handles_qemu(procedure.number) => {
            let result = client.conn().and_then(|c| dispatch::fds::dispatch_qemu(&p.payload, fds, &c));
            send_fd_reply(client, p, result);
            None
        }
        REMOTE_PROGRAM => remote_call(server, client, procedure.number, p),
        ADMIN_PROGRAM => crate::admin::call(server, client, procedure.number, p),
        QEMU_PROGRAM => Some(client.conn().and_then(|c| {
            dispatch::qemu_prog::dispatch(procedure.number, &p.payload, &c).unwrap_or_else(|| Err(unknown_procedure(procedure.number)))
        })),
        LXC_PROGRAM => Some(client.conn().and_then(|_| Err(unknown_procedure(procedure.number)))),
        _ => Some(Err(unknown_procedure(procedure.number))),
    }));
    match result {
        Ok(Some(r)) => client.send(reply_packet(p, r)),
        // Already answered (event registrations answer under the event gate).
        Ok(None) => {}
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_string());
            let e = Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, format!("{} failed unexpectedly: {what}", procedure.name));
            client.send(reply_packet(p, Err(e)));
        }
    }
}

/// Answer `p` on the calling thread if it is one of the calls the daemon answers
/// itself, without the driver and without waiting on anything that a slow call may
/// hold (`AUTH_LIST`, `CONNECT_GET_LIB_VERSION`, `CONNECT_GET_URI`). The reader task
/// runs these inline: no thread hand-off, and no way for them to hang the reader.
/// `false`: the call must go to the worker pool ([`handle_call`]).
pub fn try_inline(client: &Client, program: &'static Program, procedure: &'static ProcInfo, p: &Packet) -> bool {
    use RemoteProcedure as P;
    // Authentication (crate::auth): calls before it completes are refused here.
    if let Some(e) = crate::auth::gate(client, program, procedure) {
        client.send(reply_packet(p, Err(e)));
        return true;
    }
    if program.number != REMOTE_PROGRAM {
        return false;
    }
    let not_open = || Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "hypervisor connection not open");
    let reply = match RemoteProcedure::from_number(procedure.number) {
        Some(P::AuthList) => crate::auth::auth_list(client),
        // The connection is looked at under its lock (never held across driver
        // calls) and not cloned, so that the last reference to it is never dropped
        // (a driver close) here.
        Some(P::ConnectGetLibVersion) => match lock(&client.conn).as_ref() {
            Some(c) => ret(&RemoteConnectGetLibVersionRet { lib_ver: c.lib_version() }),
            None => Err(not_open()),
        },
        Some(P::ConnectGetUri) => match lock(&client.conn).as_ref() {
            Some(c) => ret(&RemoteConnectGetUriRet { uri: c.uri() }),
            None => Err(not_open()),
        },
        _ => return false,
    };
    client.send(reply_packet(p, reply));
    true
}

/// Whether the call's payload decodes as its argument struct (trailing bytes allowed).
fn args_decode(procedure: &ProcInfo, payload: &[u8]) -> bool {
    match procedure.args {
        None => true,
        Some(info) => (info.decode)(&mut oxvirt_rpc::xdr::Reader::new(payload)).is_ok(),
    }
}

/// Whether `n` is a REMOTE procedure that takes or returns descriptors.
fn fd_procedure(n: i32) -> bool {
    RemoteProcedure::from_number(n).is_some_and(dispatch::fds::handles)
}

/// Run a descriptor procedure and send its reply: `REPLY_WITH_FDS` with the
/// descriptors after it when there are any. A client that cannot receive descriptors
/// (TCP, TLS) gets an error instead and the descriptors are closed.
fn fd_call(client: &Client, n: i32, p: &Packet, fds: Vec<OwnedFd>) {
    let result = match (client.conn(), RemoteProcedure::from_number(n)) {
        (Ok(conn), Some(rp)) => dispatch::fds::dispatch(rp, &p.payload, fds, &conn),
        (Err(e), _) => Err(e),
        (_, None) => Err(unknown_procedure(n)),
    };
    send_fd_reply(client, p, result);
}

/// Send a descriptor procedure's reply (see [`fd_call`]).
fn send_fd_reply(client: &Client, p: &Packet, result: dispatch::fds::FdReply) {
    let (payload, out_fds) = match result {
        Ok(r) => r,
        Err(e) => return client.send(reply_packet(p, Err(e))),
    };
    if out_fds.is_empty() {
        return client.send(reply_packet(p, Ok(payload)));
    }
    if !client.out.passes_fds() {
        let e = Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "Sending file descriptors is not supported on this socket");
        return client.send(reply_packet(p, Err(e)));
    }
    let mut header = p.header.reply(MessageStatus::OK);
    header.msg_type = oxvirt_rpc::MessageType::REPLY_WITH_FDS;
    let pkt = Packet { header, nfds: out_fds.len() as u32, payload };
    match pkt.to_bytes() {
        Ok(bytes) => {
            // Only refused on TCP/TLS, which was checked above.
            let _ = client.out.send_with_fds(bytes, out_fds);
        }
        Err(e) => client.send(reply_packet(p, Err(e.to_vir_error()))),
    }
}

/// `CONNECT_REGISTER_CLOSE_CALLBACK`: relay the connection's close callback to the
/// client as `CONNECT_EVENT_CONNECTION_CLOSED` (remoteRelayConnectionClosedEvent).
fn register_close(client: &Arc<Client>) -> Reply {
    let conn = client.conn()?;
    let weak = Arc::downgrade(client);
    conn.register_close_callback(move |reason| {
        let Some(c) = weak.upgrade() else { return };
        let header = oxvirt_rpc::Header::event(REMOTE_PROGRAM, RemoteProcedure::ConnectEventConnectionClosed as i32);
        if let Ok(pkt) = Packet::with_body(header, &RemoteConnectEventConnectionClosedMsg { reason }) {
            c.send_event(encode(&pkt));
        }
    })?;
    client.close_registered.store(true, Ordering::SeqCst);
    void()
}

/// `CONNECT_UNREGISTER_CLOSE_CALLBACK`.
fn unregister_close(client: &Client) -> Reply {
    client.conn()?.unregister_close_callback()?;
    client.close_registered.store(false, Ordering::SeqCst);
    void()
}

fn remote_call(server: &Arc<Server>, client: &Arc<Client>, n: i32, p: &Packet) -> Option<Reply> {
    use RemoteProcedure as P;
    let payload = &p.payload;
    let Some(rp) = RemoteProcedure::from_number(n) else { return Some(Err(unknown_procedure(n))) };
    Some(match rp {
        P::AuthList | P::AuthSaslInit | P::AuthSaslStart | P::AuthSaslStep | P::AuthPolkit => {
            crate::auth::dispatch(server, client, rp, payload)
        }
        P::ConnectSupportsFeature => supports_feature(client, payload),
        P::ConnectOpen => open(client, payload),
        P::ConnectClose => {
            client.teardown();
            void()
        }
        P::ConnectRegisterCloseCallback => register_close(client),
        P::ConnectUnregisterCloseCallback => unregister_close(client),
        P::ConnectDomainEventCallbackRegisterAny
        | P::ConnectDomainEventCallbackDeregisterAny
        | P::ConnectDomainEventRegisterAny
        | P::ConnectDomainEventDeregisterAny
        | P::ConnectDomainEventRegister
        | P::ConnectDomainEventDeregister
        | P::ConnectNetworkEventRegisterAny
        | P::ConnectNetworkEventDeregisterAny
        | P::ConnectStoragePoolEventRegisterAny
        | P::ConnectStoragePoolEventDeregisterAny
        | P::ConnectNodeDeviceEventRegisterAny
        | P::ConnectNodeDeviceEventDeregisterAny
        | P::ConnectSecretEventRegisterAny
        | P::ConnectSecretEventDeregisterAny => return events::call(server, client, rp, p),
        P::StorageVolUpload | P::StorageVolDownload | P::DomainOpenConsole | P::DomainScreenshot => {
            return crate::stream::open(client, rp, p)
        }
        _ => match client.conn() {
            Err(e) => Err(e),
            Ok(conn) => dispatch::dispatch_call(rp, payload, &conn).unwrap_or_else(|| Err(unknown_procedure(n))),
        },
    })
}

fn supports_feature(client: &Client, payload: &[u8]) -> Reply {
    let a: RemoteConnectSupportsFeatureArgs = args(payload)?;
    // Keepalive is answered before open, and from now on the server may ping.
    if a.feature == feature::PROGRAM_KEEPALIVE {
        client.keepalive.store(true, Ordering::SeqCst);
        return ret(&RemoteConnectSupportsFeatureRet { supported: 1 });
    }
    client.conn()?;
    let supported = match a.feature {
        feature::REMOTE_EVENT_CALLBACK | feature::REMOTE_CLOSE_CALLBACK => 1,
        // Global features every libvirt 9.0 driver reports.
        feature::TYPED_PARAM_STRING | feature::NETWORK_UPDATE_HAS_CORRECT_ORDER => 1,
        // libvirtd says 1 on every transport (and drops TCP clients that use it).
        feature::FD_PASSING => 1,
        _ => 0,
    };
    ret(&RemoteConnectSupportsFeatureRet { supported })
}

fn open(client: &Client, payload: &[u8]) -> Reply {
    let a: RemoteConnectOpenArgs = args(payload)?;
    let already = || Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "connection already open");
    // The lock is not held while the driver opens (which may take long), so that
    // calls answered on the reader task never wait for it.
    if lock(&client.conn).is_some() {
        return Err(already());
    }
    // Only VIR_CONNECT_RO matters to the server; the read-only socket forces it.
    let mut flags = OpenFlags::from_bits_truncate(a.flags & OpenFlags::READ_ONLY.bits());
    if client.kind == SocketKind::ReadOnly {
        flags |= OpenFlags::READ_ONLY;
    }
    let name = a.name.as_deref().filter(|s| !s.is_empty());
    let conn = Connect::open_flags(name, flags)?;
    let mut guard = lock(&client.conn);
    if guard.is_some() {
        // A concurrent open won; this connection is dropped (closed) unused.
        drop(guard);
        drop(conn);
        return Err(already());
    }
    *guard = Some(conn);
    void()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod close_callback_tests {
    //! The close-callback relay with a driver whose connection can close under the
    //! client (no built-in local driver does; the remote driver would).
    use super::*;
    use oxvirt::driver::{CloseCallback, ConnectDriver, ConnectDrivers, HypervisorDriver, Probe};
    use oxvirt::uri::Uri;
    use oxvirt_rpc::proto::remote::PROGRAM as REMOTE;
    use oxvirt_rpc::proto::Program;
    use oxvirt_rpc::{Encode, FrameDecoder, Header};

    /// A driver that keeps the registered close callback where the test can fire it.
    struct Closable(Arc<Mutex<Option<CloseCallback>>>);

    impl HypervisorDriver for Closable {
        fn get_type(&self) -> oxvirt::Result<String> {
            Ok("Closable".into())
        }
        fn connect_register_close_callback(&self, cb: CloseCallback) -> oxvirt::Result<()> {
            *lock(&self.0) = Some(cb);
            Ok(())
        }
        fn connect_unregister_close_callback(&self) -> oxvirt::Result<()> {
            lock(&self.0).take();
            Ok(())
        }
    }

    struct ClosableDriver(Arc<Mutex<Option<CloseCallback>>>);

    impl ConnectDriver for ClosableDriver {
        fn name(&self) -> &'static str {
            "closable"
        }
        fn probe(&self, uri: &Uri) -> Probe {
            if uri.driver == "closable" {
                Probe::Accept
            } else {
                Probe::Decline
            }
        }
        fn open(&self, _uri: &Uri, _flags: u32) -> oxvirt::Result<ConnectDrivers> {
            Ok(ConnectDrivers {
                hypervisor: Arc::new(Closable(self.0.clone())),
                network: None,
                storage: None,
                secret: None,
                nwfilter: None,
                interface: None,
                nodedev: None,
            })
        }
    }

    static PROGRAM: &Program = &REMOTE;

    #[test]
    fn the_connections_close_reaches_the_client_as_event_362() {
        let slot: Arc<Mutex<Option<CloseCallback>>> = Arc::default();
        oxvirt::driver::register(Arc::new(ClosableDriver(slot.clone())));
        let server = Server::new(crate::config::Config::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let client = Arc::new(Client::new(SocketKind::ReadWrite, tx));
        let call = |procedure: RemoteProcedure, serial: u32, payload: Vec<u8>| {
            let info = PROGRAM.procedures.iter().find(|i| i.number == procedure as i32).expect("procedure in the table");
            let p = Packet { header: Header::call(REMOTE_PROGRAM, procedure as i32, serial), nfds: 0, payload };
            handle_call(&server, &client, PROGRAM, info, &p, Vec::new());
        };
        let open = RemoteConnectOpenArgs { name: Some("closable:///".into()), flags: 0 }.to_bytes().expect("encode");
        call(RemoteProcedure::ConnectOpen, 1, open);
        call(RemoteProcedure::ConnectRegisterCloseCallback, 2, Vec::new());
        let fire = |reason| {
            if let Some(cb) = lock(&slot).clone() {
                cb(reason);
            }
        };
        fire(2);
        call(RemoteProcedure::ConnectUnregisterCloseCallback, 3, Vec::new());
        fire(1);
        let mut dec = FrameDecoder::new();
        let mut seen = Vec::new();
        while let Ok(bytes) = rx.try_recv() {
            dec.push(&bytes);
            while let Ok(Some(p)) = dec.next_packet() {
                let reason = p.body::<RemoteConnectEventConnectionClosedMsg>().map(|m| m.reason).ok();
                seen.push((p.header.msg_type, p.header.procedure, p.header.status, reason.filter(|_| p.header.procedure == 362)));
            }
        }
        use oxvirt_rpc::MessageType as T;
        assert_eq!(
            seen,
            [
                (T::REPLY, 1, MessageStatus::OK, None),
                (T::REPLY, 360, MessageStatus::OK, None),
                (T::MESSAGE, 362, MessageStatus::OK, Some(2)),
                (T::REPLY, 361, MessageStatus::OK, None),
            ]
        );
        client.teardown();
    }
}
