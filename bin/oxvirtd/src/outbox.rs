//! A client's outgoing packets.
//!
//! Two forms, picked by the kind of stream:
//!
//! * **Unix sockets** get an [`Outbox`]: the thread that produced a packet (a call on
//!   the blocking pool, the reader answering inline, an event thread) writes it to the
//!   socket itself with a non-blocking write when nothing is queued before it. Only
//!   what the socket does not take at once is queued, and the client's writer task
//!   drains that queue when the socket becomes writable again. This saves waking the
//!   writer task (one thread hand-off) per reply.
//! * **TCP and TLS** streams (any `AsyncRead + AsyncWrite`, whose writes need the
//!   runtime or a TLS session) keep a channel to a writer task that owns the write half.
//!
//! Either way packets leave in the order they were queued, and a packet is written
//! whole before the next one starts. A `REPLY_WITH_FDS` packet's descriptors follow
//! its bytes on unix sockets, one per one-byte `sendmsg` as libvirt sends them
//! (`oxvirt_util::fdpass::send_fd`), and are closed once sent or when the client goes
//! away; a TCP/TLS client cannot get descriptors (see [`Out::send_with_fds`]).

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::Interest;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;

/// Where a client's packets go.
pub enum Out {
    /// A writer task fed by a channel (TCP, TLS, tests).
    Channel(UnboundedSender<Vec<u8>>),
    /// Direct non-blocking writes with a queue behind them (unix sockets).
    Direct(OutboxHandle),
}

impl From<UnboundedSender<Vec<u8>>> for Out {
    fn from(tx: UnboundedSender<Vec<u8>>) -> Out {
        Out::Channel(tx)
    }
}

impl Out {
    /// Queue (or write) one encoded packet. Packets for a client that is gone are
    /// dropped.
    pub fn send(&self, bytes: Vec<u8>) {
        match self {
            Out::Channel(tx) => {
                let _ = tx.send(bytes);
            }
            Out::Direct(h) => h.0.send(bytes, Vec::new()),
        }
    }

    /// Queue one encoded packet followed by descriptors. `Err` gives the descriptors
    /// back when the transport cannot carry them (TCP, TLS); nothing is sent then.
    pub fn send_with_fds(&self, bytes: Vec<u8>, fds: Vec<OwnedFd>) -> Result<(), Vec<OwnedFd>> {
        match self {
            Out::Channel(_) if !fds.is_empty() => Err(fds),
            Out::Channel(tx) => {
                let _ = tx.send(bytes);
                Ok(())
            }
            Out::Direct(h) => {
                h.0.send(bytes, fds);
                Ok(())
            }
        }
    }

    /// Whether descriptors can be sent to this client (unix sockets).
    pub fn passes_fds(&self) -> bool {
        matches!(self, Out::Direct(_))
    }
}

/// The client's reference to its [`Outbox`]; dropping it (the client is gone) lets
/// the writer task flush what is queued and stop, as dropping a channel's last sender
/// does.
pub struct OutboxHandle(Arc<Outbox>);

impl Drop for OutboxHandle {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[derive(Default)]
struct State {
    /// Packets not yet written, the first one from `offset` on; a packet's descriptors
    /// go after its last byte (sent ones are removed from the front).
    queue: VecDeque<(Vec<u8>, Vec<OwnedFd>)>,
    offset: usize,
    /// No more packets will come (the client is gone).
    closed: bool,
    /// A write failed: the peer is gone, drop everything.
    broken: bool,
}

/// Outgoing packets of a unix-socket client (see the module documentation).
pub struct Outbox {
    /// Always `Some` until the outbox drops (see its `Drop`).
    wr: Option<OwnedWriteHalf>,
    state: Mutex<State>,
    wake: Notify,
}

impl Outbox {
    /// An outbox writing to `wr`, the client's handle to it, and the writer task's
    /// future (spawn it on the runtime).
    pub fn open(wr: OwnedWriteHalf) -> (OutboxHandle, impl std::future::Future<Output = ()> + Send + 'static) {
        let ob = Arc::new(Outbox { wr: Some(wr), state: Mutex::new(State::default()), wake: Notify::new() });
        (OutboxHandle(ob.clone()), ob.run())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, bytes: Vec<u8>, mut fds: Vec<OwnedFd>) {
        let mut st = self.lock();
        if st.broken || st.closed {
            return;
        }
        if st.queue.is_empty() {
            // Nothing before this packet: try to write it now, from this thread.
            match self.write_some(&mut st, &bytes, 0) {
                Some(n) if n == bytes.len() => match self.send_fds(&mut st, &mut fds) {
                    Some(true) => return,
                    Some(false) => st.offset = n,
                    None => return,
                },
                Some(n) => st.offset = n,
                None => return,
            }
            st.queue.push_back((bytes, fds));
            drop(st);
            self.wake.notify_one();
        } else {
            // The writer task is behind; it drains the queue in order.
            st.queue.push_back((bytes, fds));
        }
    }

    /// Send the descriptors left in `fds`, one per one-byte message, closing each one
    /// sent: `Some(true)` all sent, `Some(false)` the socket is full, `None` failed
    /// (then the outbox is broken).
    fn send_fds(&self, st: &mut State, fds: &mut Vec<OwnedFd>) -> Option<bool> {
        while let Some(fd) = fds.first() {
            let Some(wr) = &self.wr else { return None };
            let sock = wr.as_ref();
            match sock.try_io(Interest::WRITABLE, || oxvirt_util::fdpass::send_fd(sock, fd.as_fd())) {
                Ok(()) => {
                    fds.remove(0);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Some(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    st.broken = true;
                    st.queue.clear();
                    return None;
                }
            }
        }
        Some(true)
    }

    /// Write as much of `buf[from..]` as the socket takes without blocking; the new
    /// offset, or `None` when the socket failed (then the outbox is broken).
    fn write_some(&self, st: &mut State, buf: &[u8], mut from: usize) -> Option<usize> {
        while from < buf.len() {
            let Some(wr) = &self.wr else { return None };
            match wr.try_write(&buf[from..]) {
                Ok(0) => {
                    st.broken = true;
                    st.queue.clear();
                    return None;
                }
                Ok(n) => from += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    st.broken = true;
                    st.queue.clear();
                    return None;
                }
            }
        }
        Some(from)
    }

    /// Write queued packets until the queue is empty (`Ok(true)`), the socket is full
    /// (`Ok(false)`), or the socket failed (`Err`).
    fn flush(&self) -> Result<bool, ()> {
        let mut st = self.lock();
        loop {
            if st.broken {
                return Err(());
            }
            let Some((front, mut fds)) = st.queue.pop_front() else { return Ok(true) };
            let from = st.offset;
            match self.write_some(&mut st, &front, from) {
                None => return Err(()),
                Some(n) if n == front.len() => match self.send_fds(&mut st, &mut fds) {
                    None => return Err(()),
                    Some(true) => st.offset = 0,
                    Some(false) => {
                        st.offset = n;
                        st.queue.push_front((front, fds));
                        return Ok(false);
                    }
                },
                Some(n) => {
                    st.offset = n;
                    st.queue.push_front((front, fds));
                    return Ok(false);
                }
            }
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    /// The writer task: drain the queue whenever packets are left behind, until the
    /// client is gone and everything is written (or the socket failed).
    async fn run(self: Arc<Self>) {
        loop {
            match self.flush() {
                Err(()) => return,
                Ok(false) => {
                    let Some(wr) = &self.wr else { return };
                    if wr.writable().await.is_err() {
                        self.lock().broken = true;
                        return;
                    }
                }
                Ok(true) => {
                    let (queued, closed) = {
                        let st = self.lock();
                        (!st.queue.is_empty(), st.closed)
                    };
                    if queued {
                        // Left behind since the flush.
                        continue;
                    }
                    if closed {
                        // Nothing is queued after `closed`, so this is the end.
                        return;
                    }
                    self.wake.notified().await;
                }
            }
        }
    }
}

impl Drop for Outbox {
    /// Dropping the write half would shut the socket down for writing while the reader
    /// still holds it, and a client waking in between would see end of file without
    /// the hang-up of a closed socket (libvirt's client then reports its close
    /// callback's reason as an error instead of end of file). Forgetting it leaves the
    /// socket to close at once with whichever half goes last.
    fn drop(&mut self) {
        if let Some(wr) = self.wr.take() {
            wr.forget();
        }
    }
}
