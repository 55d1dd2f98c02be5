//! The client transport (libvirt's `virNetClient`): one byte stream to the daemon, a
//! reader thread per connection, calls from any number of threads matched to their
//! replies by serial, keepalive, and event MESSAGE packets handed to a callback.
//!
//! fd passing: on unix sockets the reader uses `recvmsg` and an
//! [`oxvirt_rpc::frame::FdFrameDecoder`], so a `REPLY_WITH_FDS` reaches its caller with
//! its descriptors as `OwnedFd`s; [`Client::call_fds`] sends `CALL_WITH_FDS`, each
//! descriptor on its own one-byte message after the packet, as libvirt does. A close
//! hook ([`Client::set_close_hook`]) learns why the connection ended (libvirt's
//! `VIR_CONNECT_CLOSE_REASON_*`), unless the application closed it.

use oxvirt::{Error, ErrorCode, ErrorDomain, ErrorLevel, Result};
use oxvirt_rpc::frame::FdFrameDecoder;
use oxvirt_rpc::message::{KEEPALIVE_PROGRAM, PROTOCOL_VERSION};
use oxvirt_rpc::proto::keepalive::{KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG};
use oxvirt_rpc::proto::remote::RemoteError;
use oxvirt_rpc::xdr::{Reader, Writer, XdrError};
use oxvirt_rpc::{Decode, Encode, Header, MessageStatus, MessageType, Packet};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A void payload (`xdr_void`): encodes to nothing, decodes from nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Void;

impl Encode for Void {
    fn encode(&self, _w: &mut Writer) -> std::result::Result<(), XdrError> {
        Ok(())
    }
}

impl Decode for Void {
    const MIN_WIRE_SIZE: usize = 0;
    fn decode(_r: &mut Reader<'_>) -> std::result::Result<Self, XdrError> {
        Ok(Void)
    }
}

/// A byte stream to a daemon: the read half (owned by the reader thread), the write
/// half, and how to tear it down from another thread so the reader wakes up.
pub struct Transport {
    /// Read half.
    pub reader: Box<dyn Read + Send>,
    /// Write half.
    pub writer: Box<dyn Write + Send>,
    /// Shut the stream down (socket shutdown, or killing the tunnel process).
    pub closer: Box<dyn Fn() + Send + Sync>,
    /// The unix socket itself, when the transport is one: descriptors can then be
    /// passed, and the reader receives with `recvmsg` on it instead of `reader`.
    pub unix: Option<UnixStream>,
}

/// `VIR_CONNECT_CLOSE_REASON_ERROR`.
pub const CLOSE_REASON_ERROR: i32 = 0;
/// `VIR_CONNECT_CLOSE_REASON_EOF`.
pub const CLOSE_REASON_EOF: i32 = 1;
/// `VIR_CONNECT_CLOSE_REASON_KEEPALIVE`.
pub const CLOSE_REASON_KEEPALIVE: i32 = 2;

/// Told once why the connection ended, on the thread that noticed.
pub type CloseHook = Box<dyn Fn(i32) + Send + Sync>;

/// A reply and the descriptors that came with it.
type Delivery = Result<(Packet, Vec<OwnedFd>)>;

/// Receives every event MESSAGE packet (REMOTE and QEMU programs), on the reader thread.
pub type EventSink = Box<dyn Fn(&Packet) + Send + Sync>;

struct Waiter {
    procedure: i32,
    prog: u32,
    tx: mpsc::Sender<Delivery>,
}

#[derive(Default)]
struct Pending {
    waiters: HashMap<u32, Waiter>,
    /// Open streams by serial of their opening call: where their packets go.
    streams: HashMap<u32, mpsc::Sender<Packet>>,
    /// Set once the connection is gone; every later call fails with it.
    closed: Option<Error>,
}

pub(crate) struct Shared {
    writer: Mutex<Box<dyn Write + Send>>,
    pending: Mutex<Pending>,
    closer: Box<dyn Fn() + Send + Sync>,
    last_rx: Mutex<Instant>,
    keepalive_stop: Mutex<bool>,
    keepalive_cv: Condvar,
    /// The unix socket, for sending descriptors (under the writer lock).
    unix: Option<UnixStream>,
    close_hook: Mutex<Option<CloseHook>>,
}

/// One RPC connection.
pub struct Client {
    shared: Arc<Shared>,
    serial: AtomicU32,
    reader: Mutex<Option<JoinHandle<()>>>,
    keepalive: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `VIR_ERR_RPC` in `VIR_FROM_RPC` with `msg` verbatim.
pub fn rpc_error(msg: impl Into<String>) -> Error {
    Error::raw(ErrorCode::Rpc, ErrorDomain::Rpc, msg)
}

fn closed_error() -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "client socket is closed")
}

/// The error a REPLY/ERROR payload stands for. libvirt's client rewrites the server's
/// "unknown procedure" RPC error into `VIR_ERR_NO_SUPPORT`, and so do we.
pub fn decode_remote_error(payload: &[u8]) -> Error {
    match RemoteError::from_bytes_prefix(payload) {
        Ok((re, _)) => {
            let mut e = re.to_vir_error();
            if e.code == ErrorCode::Rpc
                && matches!(e.domain, ErrorDomain::Rpc | ErrorDomain::Remote)
                && e.level == ErrorLevel::Error
                && e.message.starts_with("unknown procedure")
            {
                e.code = ErrorCode::NoSupport;
            }
            e
        }
        Err(_) => rpc_error("Unable to decode message payload"),
    }
}

impl Client {
    /// Start the reader thread on `transport`; `events` gets every event packet.
    pub fn new(transport: Transport, events: EventSink) -> Result<Client> {
        let Transport { mut reader, writer, closer, unix } = transport;
        let rx_unix = match &unix {
            Some(u) => Some(
                u.try_clone()
                    .map_err(|e| Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Unable to duplicate socket: {e}")))?,
            ),
            None => None,
        };
        let shared = Arc::new(Shared {
            writer: Mutex::new(writer),
            pending: Mutex::new(Pending::default()),
            closer,
            last_rx: Mutex::new(Instant::now()),
            keepalive_stop: Mutex::new(false),
            keepalive_cv: Condvar::new(),
            unix,
            close_hook: Mutex::new(None),
        });
        let sh = shared.clone();
        let handle = std::thread::Builder::new()
            .name("oxvirt-remote-rx".into())
            .spawn(move || {
                let (err, reason) = read_loop(&sh, &mut *reader, rx_unix.as_ref(), &events);
                sh.fail(err, reason);
            })
            .map_err(|e| Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Unable to start reader thread: {e}")))?;
        Ok(Client { shared, serial: AtomicU32::new(0), reader: Mutex::new(Some(handle)), keepalive: Mutex::new(None) })
    }

    /// Whether descriptors can be passed (a unix-socket transport).
    pub fn passes_fds(&self) -> bool {
        self.shared.unix.is_some()
    }

    /// Install the hook told why the connection ends (not called after [`Client::close`]).
    pub fn set_close_hook(&self, hook: CloseHook) {
        *lock(&self.shared.close_hook) = Some(hook);
    }

    /// Call `procedure` of the REMOTE program passing `fds` (`CALL_WITH_FDS` when there
    /// are any); the decoded return value and the descriptors of the reply.
    pub fn call_fds<A: Encode, R: Decode>(&self, procedure: i32, args: &A, fds: &[BorrowedFd<'_>]) -> Result<(R, Vec<OwnedFd>)> {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        self.call_serial_fds(oxvirt_rpc::REMOTE_PROGRAM, procedure, serial, args, fds)
    }

    /// True until the connection is closed or lost.
    pub fn is_alive(&self) -> bool {
        lock(&self.shared.pending).closed.is_none()
    }

    /// Call `procedure` of the REMOTE program.
    pub fn call<A: Encode, R: Decode>(&self, procedure: i32, args: &A) -> Result<R> {
        self.call_prog(oxvirt_rpc::REMOTE_PROGRAM, procedure, args)
    }

    /// Call `procedure` of program `prog` and wait for its reply.
    pub fn call_prog<A: Encode, R: Decode>(&self, prog: u32, procedure: i32, args: &A) -> Result<R> {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        self.call_serial(prog, procedure, serial, args)
    }

    /// Call a stream-opening `procedure` of the REMOTE program (void reply). The
    /// stream's packets are routed to it from before the call is sent, so none is
    /// lost; `sparse` says whether holes may be exchanged.
    pub fn open_stream<A: Encode>(&self, procedure: i32, args: &A, sparse: bool) -> Result<crate::stream::RemoteStream> {
        self.open_stream_ret::<A, Void>(procedure, args, sparse).map(|(s, _)| s)
    }

    /// [`Self::open_stream`] for a call whose reply carries a value (`DOMAIN_SCREENSHOT`).
    pub fn open_stream_ret<A: Encode, R: Decode>(
        &self,
        procedure: i32,
        args: &A,
        sparse: bool,
    ) -> Result<(crate::stream::RemoteStream, R)> {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        {
            let mut p = lock(&self.shared.pending);
            if let Some(e) = &p.closed {
                return Err(e.clone());
            }
            p.streams.insert(serial, tx);
        }
        let r = match self.call_serial::<A, R>(oxvirt_rpc::REMOTE_PROGRAM, procedure, serial, args) {
            Ok(r) => r,
            Err(e) => {
                lock(&self.shared.pending).streams.remove(&serial);
                return Err(e);
            }
        };
        let header = Header::call(oxvirt_rpc::REMOTE_PROGRAM, procedure, serial);
        Ok((crate::stream::RemoteStream::new(self.shared.clone(), header, rx, sparse), r))
    }

    fn call_serial<A: Encode, R: Decode>(&self, prog: u32, procedure: i32, serial: u32, args: &A) -> Result<R> {
        // Descriptors a server sends with an ordinary reply are closed here.
        self.call_serial_fds(prog, procedure, serial, args, &[]).map(|(r, _)| r)
    }

    fn call_serial_fds<A: Encode, R: Decode>(
        &self,
        prog: u32,
        procedure: i32,
        serial: u32,
        args: &A,
        fds: &[BorrowedFd<'_>],
    ) -> Result<(R, Vec<OwnedFd>)> {
        let mut header = Header::call(prog, procedure, serial);
        if !fds.is_empty() {
            if self.shared.unix.is_none() {
                return Err(Error::new(
                    ErrorCode::InternalError,
                    ErrorDomain::Rpc,
                    "Sending file descriptors is not supported on this socket",
                ));
            }
            header.msg_type = MessageType::CALL_WITH_FDS;
        }
        let bytes = Packet::with_body(header, args)
            .and_then(|mut p| {
                p.nfds = u32::try_from(fds.len()).unwrap_or(u32::MAX);
                p.to_bytes()
            })
            .map_err(|e| e.to_vir_error())?;
        let (tx, rx) = mpsc::channel();
        {
            let mut p = lock(&self.shared.pending);
            if let Some(e) = &p.closed {
                return Err(e.clone());
            }
            p.waiters.insert(serial, Waiter { procedure, prog, tx });
        }
        if let Err(e) = self.shared.send_bytes_fds(&bytes, fds) {
            lock(&self.shared.pending).waiters.remove(&serial);
            return Err(e);
        }
        let (reply, got) = rx.recv().map_err(|_| closed_error())??;
        if reply.header.status == MessageStatus::ERROR {
            return Err(decode_remote_error(&reply.payload));
        }
        if reply.header.status != MessageStatus::OK {
            return Err(rpc_error(format!("Unexpected message status {}", reply.header.status.0)));
        }
        let r = reply.body::<R>().map_err(|_| rpc_error("Unable to decode message payload"))?;
        Ok((r, got))
    }

    /// Start libvirt-style client keepalive: PING after `interval` without receiving
    /// anything; give up after `count` unanswered PINGs.
    pub fn start_keepalive(&self, interval: Duration, count: u32) {
        let weak = Arc::downgrade(&self.shared);
        let spawned = std::thread::Builder::new().name("oxvirt-remote-ka".into()).spawn(move || loop {
            let Some(sh) = weak.upgrade() else { return };
            {
                let stop = lock(&sh.keepalive_stop);
                if *stop {
                    return;
                }
                let (stop, _) = sh.keepalive_cv.wait_timeout(stop, interval).unwrap_or_else(|p| p.into_inner());
                if *stop {
                    return;
                }
            }
            if lock(&sh.pending).closed.is_some() {
                return;
            }
            let idle = lock(&sh.last_rx).elapsed();
            if idle >= interval * (count + 1) {
                sh.fail(
                    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "connection closed due to keepalive timeout"),
                    CLOSE_REASON_KEEPALIVE,
                );
                return;
            }
            if idle >= interval {
                let _ = sh.send_packet(&Packet { header: Header::keepalive(KEEPALIVE_PROC_PING), nfds: 0, payload: Vec::new() });
            }
        });
        if let Ok(h) = spawned {
            *lock(&self.keepalive) = Some(h);
        }
    }

    /// Close the connection: wake and join the reader and keepalive threads. Pending
    /// and later calls fail.
    pub fn close(&self) {
        // The application closes: its close callback is not told (as libvirt's
        // remoteConnectClose drops it first).
        lock(&self.shared.close_hook).take();
        *lock(&self.shared.keepalive_stop) = true;
        self.shared.keepalive_cv.notify_all();
        self.shared.fail_all(closed_error());
        if let Some(h) = lock(&self.reader).take() {
            let _ = h.join();
        }
        if let Some(h) = lock(&self.keepalive).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    /// Stop routing packets to the stream opened by call `serial`.
    pub(crate) fn forget_stream(&self, serial: u32) {
        lock(&self.pending).streams.remove(&serial);
    }

    pub(crate) fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        self.send_bytes_fds(bytes, &[])
    }

    /// Write a packet, then its descriptors (one per one-byte message), under the
    /// writer lock so nothing comes between them.
    fn send_bytes_fds(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> Result<()> {
        let mut w = lock(&self.writer);
        let mut res = w.write_all(bytes).and_then(|_| w.flush());
        if let (Ok(()), Some(u)) = (&res, &self.unix) {
            for fd in fds {
                res = oxvirt_util::fdpass::send_fd(u, fd.as_fd());
                if res.is_err() {
                    break;
                }
            }
        }
        drop(w);
        res.map_err(|e| {
            let err = Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Cannot write data: {e}"));
            self.fail_all(err.clone());
            err
        })
    }

    pub(crate) fn send_packet(&self, p: &Packet) -> Result<()> {
        let bytes = p.to_bytes().map_err(|e| e.to_vir_error())?;
        self.send_bytes(&bytes)
    }

    /// Mark the connection closed with `err` (first error wins), fail every waiter and
    /// shut the stream down.
    fn fail_all(&self, err: Error) {
        self.fail(err, CLOSE_REASON_ERROR);
    }

    /// [`Shared::fail_all`], telling the close hook `reason` the first time.
    fn fail(&self, err: Error, reason: i32) {
        let waiters = {
            let mut p = lock(&self.pending);
            let first = p.closed.is_none();
            if first {
                p.closed = Some(err.clone());
                drop(p);
                if let Some(hook) = lock(&self.close_hook).take() {
                    hook(reason);
                }
                p = lock(&self.pending);
            }
            let w = std::mem::take(&mut p.waiters);
            // Streams see their queue close and report the connection as gone.
            p.streams.clear();
            if !first && w.is_empty() {
                return;
            }
            w
        };
        for (_, w) in waiters {
            let _ = w.tx.send(Err(err.clone()));
        }
        (self.closer)();
    }
}

/// Read until the connection fails: the error and the close reason to report.
fn read_loop(sh: &Shared, reader: &mut dyn Read, unix: Option<&UnixStream>, events: &EventSink) -> (Error, i32) {
    let mut dec = FdFrameDecoder::<OwnedFd>::new(MessageType::REPLY_WITH_FDS, unix.is_some());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let got = match unix {
            Some(u) => oxvirt_util::fdpass::recv_with_fds(u, &mut buf),
            None => reader.read(&mut buf).map(|n| (n, Vec::new())),
        };
        let (n, fds) = match got {
            Ok((0, _)) => {
                return match dec.finish() {
                    Ok(()) => (
                        Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "End of file while reading data: Input/output error"),
                        CLOSE_REASON_EOF,
                    ),
                    Err(e) => (e.to_vir_error(), CLOSE_REASON_ERROR),
                }
            }
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return (Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Cannot recv data: {e}")), CLOSE_REASON_ERROR),
        };
        *lock(&sh.last_rx) = Instant::now();
        dec.push(&buf[..n], fds);
        loop {
            match dec.next_packet() {
                Ok(Some((p, fds))) => {
                    if let Err(e) = handle_packet(sh, p, fds, events) {
                        return (e, CLOSE_REASON_ERROR);
                    }
                }
                Ok(None) => break,
                Err(e) => return (e.to_vir_error(), CLOSE_REASON_ERROR),
            }
        }
    }
}

fn handle_packet(sh: &Shared, p: Packet, fds: Vec<OwnedFd>, events: &EventSink) -> Result<()> {
    let h = p.header;
    if h.prog == KEEPALIVE_PROGRAM {
        if h.msg_type == MessageType::MESSAGE && h.procedure == KEEPALIVE_PROC_PING {
            sh.send_packet(&Packet { header: Header::keepalive(KEEPALIVE_PROC_PONG), nfds: 0, payload: Vec::new() })?;
        }
        return Ok(());
    }
    if h.vers != PROTOCOL_VERSION {
        return Err(rpc_error(format!("Cannot find program {} version {}", h.prog, h.vers)));
    }
    match h.msg_type {
        MessageType::REPLY | MessageType::REPLY_WITH_FDS => {
            let waiter = lock(&sh.pending).waiters.remove(&h.serial);
            let Some(w) = waiter else {
                return Err(rpc_error(format!("No call waiting for reply with prog {} vers {} serial {}", h.prog, h.vers, h.serial)));
            };
            if w.procedure != h.procedure || w.prog != h.prog {
                let e = rpc_error(format!("Unexpected reply for procedure {} serial {}", h.procedure, h.serial));
                let _ = w.tx.send(Err(e.clone()));
                return Err(e);
            }
            let _ = w.tx.send(Ok((p, fds)));
            Ok(())
        }
        MessageType::MESSAGE => {
            events(&p);
            Ok(())
        }
        MessageType::STREAM | MessageType::STREAM_HOLE => {
            // Packets of a stream that is not open (any more) are dropped, as libvirt does.
            let tx = lock(&sh.pending).streams.get(&h.serial).cloned();
            if let Some(tx) = tx {
                let _ = tx.send(p);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A transport over a UNIX socket.
pub fn connect_unix(path: &str) -> Result<Transport> {
    let sock = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Failed to connect socket to '{path}': {}", io_text(&e)))
    })?;
    let clone = |s: &std::os::unix::net::UnixStream| {
        s.try_clone().map_err(|e| Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Unable to duplicate socket: {e}")))
    };
    let reader = clone(&sock)?;
    let closer_sock = clone(&sock)?;
    let unix = clone(&sock)?;
    Ok(Transport {
        reader: Box::new(reader),
        writer: Box::new(sock),
        closer: Box::new(move || {
            let _ = closer_sock.shutdown(std::net::Shutdown::Both);
        }),
        unix: Some(unix),
    })
}

/// A transport over the stdin/stdout of a child process (ssh, ext).
pub fn connect_command(mut cmd: std::process::Command) -> Result<Transport> {
    use std::process::Stdio;
    let prog = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Cannot run {prog}: {}", io_text(&e))))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, format!("Cannot talk to {prog}")));
    };
    let child = Mutex::new(Some(child));
    Ok(Transport {
        reader: Box::new(stdout),
        writer: Box::new(stdin),
        closer: Box::new(move || {
            if let Some(mut c) = lock(&child).take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }),
        unix: None,
    })
}

pub(crate) use oxvirt_util::error::io_text;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use oxvirt_rpc::proto::remote::RemoteError;

    #[test]
    fn unknown_procedure_becomes_no_support() {
        let re = RemoteError {
            code: 39,
            domain: 7,
            message: Some("unknown procedure: 9999".into()),
            level: 2,
            str1: Some("%s".into()),
            ..Default::default()
        };
        let e = decode_remote_error(&re.to_bytes().unwrap());
        assert_eq!(e.code, ErrorCode::NoSupport);
        assert_eq!(e.message, "unknown procedure: 9999");
        let re = RemoteError { code: 42, domain: 12, message: Some("Domain not found".into()), level: 2, ..Default::default() };
        let e = decode_remote_error(&re.to_bytes().unwrap());
        assert_eq!((e.code, e.domain, e.message.as_str()), (ErrorCode::NoDomain, ErrorDomain::Test, "Domain not found"));
        assert_eq!(decode_remote_error(&[0, 0]).code, ErrorCode::Rpc);
    }

    #[test]
    fn io_text_strips_os_error() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_text(&e), "No such file or directory");
    }

    /// A client on one end of a socket pair; the test plays the server on the other.
    fn pair() -> (Client, std::os::unix::net::UnixStream, Arc<Mutex<Vec<Packet>>>) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let r = a.try_clone().unwrap();
        let c = a.try_clone().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        let t = Transport {
            reader: Box::new(r),
            writer: Box::new(a),
            closer: Box::new(move || {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }),
            unix: None,
        };
        let client = Client::new(t, Box::new(move |p| ev.lock().unwrap().push(p.clone()))).unwrap();
        (client, b, events)
    }

    fn read_packet(s: &mut std::os::unix::net::UnixStream) -> Packet {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).unwrap();
        let n = u32::from_be_bytes(len) as usize;
        let mut rest = vec![0u8; n - 4];
        s.read_exact(&mut rest).unwrap();
        let mut all = len.to_vec();
        all.extend(rest);
        Packet::from_frame(&all).unwrap()
    }

    fn send(s: &mut std::os::unix::net::UnixStream, p: &Packet) {
        s.write_all(&p.to_bytes().unwrap()).unwrap();
    }

    #[test]
    fn replies_out_of_order_events_and_keepalive() {
        let (client, mut srv, events) = pair();
        let client = Arc::new(client);
        let c1 = client.clone();
        let c2 = client.clone();
        let t1 = std::thread::spawn(move || c1.call::<_, u32>(3, &7u32));
        let t2 = std::thread::spawn(move || c2.call::<_, u32>(4, &8u32));
        let p1 = read_packet(&mut srv);
        let p2 = read_packet(&mut srv);
        // Server PING first: the client answers PONG at once.
        send(&mut srv, &Packet { header: Header::keepalive(KEEPALIVE_PROC_PING), nfds: 0, payload: Vec::new() });
        let pong = read_packet(&mut srv);
        assert_eq!((pong.header.prog, pong.header.procedure), (KEEPALIVE_PROGRAM, KEEPALIVE_PROC_PONG));
        // An event between the replies.
        send(&mut srv, &Packet::with_body(Header::event(oxvirt_rpc::REMOTE_PROGRAM, 318), &5u32).unwrap());
        // Reply in reverse order; each carries its args plus 100.
        for p in [&p2, &p1] {
            let arg: u32 = p.body().unwrap();
            send(&mut srv, &Packet::with_body(p.header.reply(MessageStatus::OK), &(arg + 100)).unwrap());
        }
        let mut got = [t1.join().unwrap().unwrap(), t2.join().unwrap().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [107, 108]);
        assert_eq!(events.lock().unwrap().len(), 1);
        // Client keepalive: silence makes it PING.
        client.start_keepalive(Duration::from_millis(50), 100);
        let ping = read_packet(&mut srv);
        assert_eq!((ping.header.prog, ping.header.procedure), (KEEPALIVE_PROGRAM, KEEPALIVE_PROC_PING));
        client.close();
        assert!(!client.is_alive());
        assert_eq!(client.call::<_, Void>(3, &Void).unwrap_err().message, "internal error: client socket is closed");
    }

    #[test]
    fn descriptors_both_ways_on_a_unix_transport() {
        use std::os::fd::AsFd;
        let (a, mut srv) = std::os::unix::net::UnixStream::pair().unwrap();
        let closer = a.try_clone().unwrap();
        let t = Transport {
            reader: Box::new(a.try_clone().unwrap()),
            writer: Box::new(a.try_clone().unwrap()),
            closer: Box::new(move || {
                let _ = closer.shutdown(std::net::Shutdown::Both);
            }),
            unix: Some(a),
        };
        let client = Arc::new(Client::new(t, Box::new(|_| {})).unwrap());
        let (mine, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let c = client.clone();
        let call = std::thread::spawn(move || c.call_fds::<_, Void>(249, &7u32, &[mine.as_fd()]).map(|(_, fds)| fds.len()));
        // The server side: a CALL_WITH_FDS announcing 1, then the descriptor on a byte.
        let p = read_packet(&mut srv);
        assert_eq!((p.header.msg_type, p.nfds), (MessageType::CALL_WITH_FDS, 1));
        let got = oxvirt_util::fdpass::recv_fd(&srv).unwrap();
        drop(got);
        send(&mut srv, &Packet { header: p.header.reply(MessageStatus::OK), nfds: 0, payload: Vec::new() });
        assert_eq!(call.join().unwrap().unwrap(), 0);
        // The daemon closed its copy; ours was dropped by the caller's thread.
        let mut b = [0u8; 1];
        assert_eq!(theirs.read(&mut b).unwrap(), 0);
        // A REPLY_WITH_FDS: the caller gets the descriptor.
        let c = client.clone();
        let call = std::thread::spawn(move || c.call_fds::<_, Void>(343, &Void, &[]).map(|(_, mut fds)| fds.pop()));
        let p = read_packet(&mut srv);
        let (x, mut y) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut h = p.header.reply(MessageStatus::OK);
        h.msg_type = MessageType::REPLY_WITH_FDS;
        send(&mut srv, &Packet { header: h, nfds: 1, payload: Vec::new() });
        oxvirt_util::fdpass::send_fd(&srv, x.as_fd()).unwrap();
        drop(x);
        let fd = call.join().unwrap().unwrap().unwrap();
        std::os::unix::net::UnixStream::from(fd).write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        y.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        // Descriptors cannot be sent over a transport without fd passing.
        let (client2, _srv2, _) = pair();
        let e = client2.call_fds::<_, Void>(249, &Void, &[y.as_fd()]).unwrap_err();
        assert_eq!(e.message, "internal error: Sending file descriptors is not supported on this socket");
    }

    #[test]
    fn malformed_server_data_fails_calls_with_rpc_error() {
        // A reply that does not decode as the expected type.
        let (client, mut srv, _) = pair();
        let client = Arc::new(client);
        let c = client.clone();
        let t = std::thread::spawn(move || c.call::<_, String>(3, &Void));
        let p = read_packet(&mut srv);
        send(&mut srv, &Packet { header: p.header.reply(MessageStatus::OK), nfds: 0, payload: vec![0, 0, 0, 9, 1] });
        let e = t.join().unwrap().unwrap_err();
        assert_eq!((e.code, e.domain), (ErrorCode::Rpc, ErrorDomain::Rpc));
        // A reply nobody waits for kills the connection; so does a bad length word.
        let c = client.clone();
        let t = std::thread::spawn(move || c.call::<_, Void>(3, &Void));
        let p = read_packet(&mut srv);
        let mut bogus = p.header.reply(MessageStatus::OK);
        bogus.serial += 1000;
        send(&mut srv, &Packet { header: bogus, nfds: 0, payload: Vec::new() });
        let e = t.join().unwrap().unwrap_err();
        assert_eq!(e.code, ErrorCode::Rpc, "{e:?}");
        assert!(!client.is_alive());

        let (client, mut srv, _) = pair();
        let client = Arc::new(client);
        let c = client.clone();
        let t = std::thread::spawn(move || c.call::<_, Void>(3, &Void));
        let _ = read_packet(&mut srv);
        srv.write_all(&[0, 0, 0, 2]).unwrap();
        let e = t.join().unwrap().unwrap_err();
        assert_eq!(e.code, ErrorCode::Rpc, "{e:?}");
    }
}
