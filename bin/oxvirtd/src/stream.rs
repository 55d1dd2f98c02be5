//! Data streams (libvirtd's `remote_daemon_stream.c`): the packets of type STREAM and
//! STREAM_HOLE that follow a stream-opening call (`STORAGE_VOL_UPLOAD`,
//! `STORAGE_VOL_DOWNLOAD`, `DOMAIN_OPEN_CONSOLE`, `DOMAIN_SCREENSHOT`).
//!
//! Each open stream has a worker thread that owns the [`oxvirt::Stream`] and a bounded
//! queue of the client's packets for it, filled by the client's reader task. A full
//! queue makes the reader wait, so a client uploading faster than the driver writes is
//! slowed down through the socket, as with libvirtd. The worker
//!
//! * applies data (`STREAM`/`CONTINUE`) and holes (`STREAM_HOLE`, sparse streams only)
//!   to the driver stream; the server never acknowledges them;
//! * sends the driver's data (and holes, when sparse) for downloads, then an empty
//!   `STREAM`/`CONTINUE` at the end of the data;
//! * for consoles, does both at once: the guest's output is sent as it comes (the
//!   worker waits for it at most [`POLL`] at a time, then looks at the client's
//!   packets), the client's data is typed into the guest;
//! * answers the client's finish (`STREAM`/`OK`) and abort (`STREAM`/`ERROR`) with an
//!   empty `STREAM`/`OK`, or `STREAM`/`ERROR` with a `remote_error`;
//! * on any failure sends `STREAM`/`ERROR` with a `remote_error` and forgets the stream.
//!
//! Packets for a stream that is not open are dropped silently. When the client goes
//! away ([`Streams::close_all`]), every worker aborts its driver stream.

use crate::dispatch::{self, void};
use crate::server::encode;
use crate::session::{reply_packet, Client};
use oxvirt::{Error, ErrorCode, ErrorDomain, Stream, StreamChunk};
use oxvirt_rpc::proto::remote::RemoteProcedure;
use oxvirt_rpc::proto::virnet::VirNetStreamHole;
use oxvirt_rpc::{Header, MessageStatus, MessageType, Packet};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// Packets queued per stream before the client's reader waits.
const QUEUE: usize = 8;
/// The longest a console worker waits for guest output before it looks at the
/// client's packets again.
const POLL: Duration = Duration::from_millis(20);

/// Which stream a packet belongs to: program, procedure and serial of the opening call.
type Key = (u32, i32, u32);

/// The open streams of one client.
#[derive(Default)]
pub struct Streams {
    map: Mutex<HashMap<Key, mpsc::Sender<Packet>>>,
}

impl Streams {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, mpsc::Sender<Packet>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forget every stream: their workers see the queue close and abort.
    pub fn close_all(&self) {
        self.lock().clear();
    }
}

fn key(h: &Header) -> Key {
    (h.prog, h.procedure, h.serial)
}

/// Hand a client's STREAM or STREAM_HOLE packet to its stream's worker (waiting while
/// the worker's queue is full); drop it if no such stream is open.
pub async fn incoming(client: &Client, p: Packet) {
    let tx = client.streams.lock().get(&key(&p.header)).cloned();
    if let Some(tx) = tx {
        // A closed queue means the stream just ended: drop the packet.
        let _ = tx.send(p).await;
    }
}

/// Serve a stream-opening call: open the driver stream, register it, answer the call
/// and start the worker. Returns `None`: the reply is already queued.
pub fn open(client: &Arc<Client>, proc: RemoteProcedure, call: &Packet) -> Option<dispatch::Reply> {
    let mode = match proc {
        RemoteProcedure::StorageVolDownload | RemoteProcedure::DomainScreenshot => Mode::Download,
        RemoteProcedure::DomainOpenConsole => Mode::Interactive,
        _ => Mode::Upload,
    };
    let opened = client.conn().and_then(|conn| match proc {
        RemoteProcedure::DomainOpenConsole => dispatch::domain::open_console(&call.payload, &conn).map(|s| (s, void())),
        // the screenshot's reply carries the image's MIME type.
        RemoteProcedure::DomainScreenshot => dispatch::domain::screenshot(&call.payload, &conn),
        _ => dispatch::storage::open_vol_stream(proc, &call.payload, &conn).map(|s| (s, void())),
    });
    let (stream, reply) = match opened {
        Ok(s) => s,
        Err(e) => return Some(Err(e)),
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    let k = key(&call.header);
    // Registered before the reply leaves, so data sent right after it finds the stream.
    client.streams.lock().insert(k, tx);
    client.send(reply_packet(call, reply));
    let w = Worker { client: client.clone(), header: call.header, key: k, rx, stream };
    let spawned = std::thread::Builder::new().name("oxvirtd-stream".into()).spawn(move || w.run(mode));
    if let Err(e) = spawned {
        client.streams.lock().remove(&k);
        let e = Error::new(ErrorCode::SystemError, ErrorDomain::Streams, format!("cannot start the stream: {e}"));
        client.send(stream_error(&call.header, &e));
    }
    None
}

/// A STREAM packet of the stream opened by the call with header `h`.
fn stream_packet(h: &Header, msg_type: MessageType, status: MessageStatus, payload: Vec<u8>) -> Vec<u8> {
    encode(&Packet { header: Header { msg_type, status, ..*h }, nfds: 0, payload })
}

/// `STREAM`/`ERROR` carrying `e`.
fn stream_error(h: &Header, e: &Error) -> Vec<u8> {
    let header = Header { msg_type: MessageType::STREAM, status: MessageStatus::ERROR, ..*h };
    Packet::with_body(header, &crate::session::remote_error(e)).map(|p| encode(&p)).unwrap_or_default()
}

/// Which way data flows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Client to driver only.
    Upload,
    /// Driver to client, then the client finishes.
    Download,
    /// Both ways at once (consoles).
    Interactive,
}

/// What a client packet did to the stream.
enum Step {
    /// The stream goes on.
    Continue,
    /// The stream is over (answered, or failed and reported).
    Done,
}

struct Worker {
    client: Arc<Client>,
    header: Header,
    key: Key,
    rx: mpsc::Receiver<Packet>,
    stream: Stream,
}

impl Worker {
    fn run(mut self, mode: Mode) {
        if mode == Mode::Interactive {
            return self.run_interactive();
        }
        let mut eof_sent = mode == Mode::Upload;
        loop {
            // Downloads produce data until the end, looking at the client's packets
            // (finish, abort) between chunks; afterwards, and for uploads, the
            // worker only waits for the client.
            let next = if eof_sent {
                self.rx.blocking_recv()
            } else {
                match self.rx.try_recv() {
                    Ok(p) => Some(p),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        eof_sent = self.produce();
                        if self.finished() {
                            return;
                        }
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            };
            let Some(p) = next else {
                // The client went away (or closed the connection): abort.
                let _ = self.stream.abort();
                return;
            };
            if let Step::Done = self.handle(p) {
                self.forget();
                return;
            }
        }
    }

    /// A console: the client's packets are handled as they come, and between them
    /// the guest's output is forwarded, waiting at most [`POLL`] for it each time.
    /// After the end of the guest's data only the client's packets are awaited.
    fn run_interactive(mut self) {
        let mut eof_sent = false;
        loop {
            let next = if eof_sent {
                self.rx.blocking_recv()
            } else {
                match self.rx.try_recv() {
                    Ok(p) => Some(p),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        eof_sent = self.forward();
                        if self.finished() {
                            return;
                        }
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            };
            let Some(p) = next else {
                let _ = self.stream.abort();
                return;
            };
            if let Step::Done = self.handle(p) {
                self.forget();
                return;
            }
        }
    }

    /// Send what the guest wrote within [`POLL`]; true once its end of data was sent.
    fn forward(&mut self) -> bool {
        let h = self.header;
        match self.stream.recv_timeout(oxvirt::stream::CHUNK, POLL) {
            Ok(None) => false,
            Ok(Some(StreamChunk::Data(d))) => {
                self.send(stream_packet(&h, MessageType::STREAM, MessageStatus::CONTINUE, d));
                false
            }
            // Consoles are not sparse: the API layer turns holes into errors.
            Ok(Some(StreamChunk::Hole(_))) => false,
            Ok(Some(StreamChunk::Eof)) => {
                self.send(stream_packet(&h, MessageType::STREAM, MessageStatus::CONTINUE, Vec::new()));
                true
            }
            Err(e) => {
                self.fail(&e);
                true
            }
        }
    }

    /// Whether the stream failed while producing (and was forgotten).
    fn finished(&self) -> bool {
        !self.client.streams.lock().contains_key(&self.key)
    }

    fn forget(&self) {
        self.client.streams.lock().remove(&self.key);
    }

    fn send(&self, bytes: Vec<u8>) {
        self.client.send(bytes);
    }

    /// Send the next chunk of a download; true once the end of data was sent.
    fn produce(&mut self) -> bool {
        let h = self.header;
        match self.stream.recv(oxvirt::stream::CHUNK) {
            Ok(StreamChunk::Data(d)) => {
                self.send(stream_packet(&h, MessageType::STREAM, MessageStatus::CONTINUE, d));
                false
            }
            Ok(StreamChunk::Hole(n)) => {
                let hole = VirNetStreamHole { length: i64::try_from(n).unwrap_or(i64::MAX), flags: 0 };
                match Packet::with_body(Header { msg_type: MessageType::STREAM_HOLE, status: MessageStatus::CONTINUE, ..h }, &hole) {
                    Ok(p) => self.send(encode(&p)),
                    Err(e) => self.fail(&e.to_vir_error()),
                }
                false
            }
            Ok(StreamChunk::Eof) => {
                self.send(stream_packet(&h, MessageType::STREAM, MessageStatus::CONTINUE, Vec::new()));
                true
            }
            Err(e) => {
                self.fail(&e);
                true
            }
        }
    }

    /// Report `e` to the client and forget the stream (the driver stream is dead).
    fn fail(&mut self, e: &Error) {
        let _ = self.stream.abort();
        self.forget();
        self.send(stream_error(&self.header, e));
    }

    fn handle(&mut self, p: Packet) -> Step {
        let h = self.header;
        let ok = || stream_packet(&h, MessageType::STREAM, MessageStatus::OK, Vec::new());
        let r = match (p.header.msg_type, p.header.status) {
            (MessageType::STREAM_HOLE, MessageStatus::CONTINUE) => {
                if !self.stream.is_sparse() {
                    Err(Error::raw(ErrorCode::Rpc, ErrorDomain::Rpc, "Unexpected stream hole"))
                } else {
                    match p.body::<VirNetStreamHole>() {
                        Ok(hole) => match u64::try_from(hole.length) {
                            Ok(n) => self.stream.send_hole(n),
                            Err(_) => Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Streams, "negative hole length")),
                        },
                        Err(_) => Err(dispatch::undecodable()),
                    }
                }
            }
            (MessageType::STREAM, MessageStatus::CONTINUE) => self.stream.send(&p.payload),
            (MessageType::STREAM, MessageStatus::OK) => {
                match self.stream.finish() {
                    Ok(()) => self.send(ok()),
                    Err(e) => self.send(stream_error(&h, &e)),
                }
                return Step::Done;
            }
            (MessageType::STREAM, MessageStatus::ERROR) => {
                match self.stream.abort() {
                    Ok(()) => self.send(ok()),
                    Err(e) => self.send(stream_error(&h, &e)),
                }
                return Step::Done;
            }
            (_, status) => {
                let _ = self.stream.abort();
                let e = Error::raw(ErrorCode::Rpc, ErrorDomain::Rpc, format!("stream aborted with unexpected status {}", status.0));
                self.send(stream_error(&h, &e));
                return Step::Done;
            }
        };
        match r {
            Ok(()) => Step::Continue,
            Err(e) => {
                let _ = self.stream.abort();
                self.send(stream_error(&h, &e));
                Step::Done
            }
        }
    }
}
