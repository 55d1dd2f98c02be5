//! The client side of data streams (libvirt's `virNetClientStream`): after a
//! stream-opening call succeeded, data goes out as `STREAM`/`CONTINUE` packets (holes
//! as `STREAM_HOLE`), arrives the same way, and the stream ends with the finish
//! (`STREAM`/`OK`) or abort (`STREAM`/`ERROR`) handshake, whose answer is awaited.
//! Data packets are never acknowledged; a `STREAM`/`ERROR` from the server at any
//! time kills the stream with the server's error.

use crate::client::{decode_remote_error, rpc_error, Shared};
use oxvirt::stream::{StreamChunk, StreamDriver, CHUNK};
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_rpc::proto::virnet::VirNetStreamHole;
use oxvirt_rpc::{Header, MessageStatus, MessageType, Packet};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// An open stream of a remote connection.
pub struct RemoteStream {
    shared: Arc<Shared>,
    /// Header of the opening call: its program, procedure and serial name the stream.
    call: Header,
    rx: mpsc::Receiver<Packet>,
    sparse: bool,
    /// Data received beyond what the caller asked for.
    pending: Vec<u8>,
    eof: bool,
    /// The server reported an error or the stream was closed: nothing more is sent.
    dead: Option<Error>,
}

fn gone() -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "stream is closed: the connection was lost")
}

impl RemoteStream {
    pub(crate) fn new(shared: Arc<Shared>, call: Header, rx: mpsc::Receiver<Packet>, sparse: bool) -> RemoteStream {
        RemoteStream { shared, call, rx, sparse, pending: Vec::new(), eof: false, dead: None }
    }

    fn packet(&self, msg_type: MessageType, status: MessageStatus, payload: Vec<u8>) -> Packet {
        Packet { header: Header { msg_type, status, ..self.call }, nfds: 0, payload }
    }

    /// Fail with the stream's error, if it has one.
    fn check(&self) -> Result<()> {
        match &self.dead {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Record a server error (or a lost connection) and stop routing packets here.
    fn kill(&mut self, e: Error) -> Error {
        self.shared.forget_stream(self.call.serial);
        self.dead = Some(e.clone());
        e
    }

    /// Look at what the server sent without waiting: an error ends the stream.
    /// Data that arrives on an upload is kept for `recv`.
    fn poll(&mut self) -> Result<()> {
        loop {
            match self.rx.try_recv() {
                Ok(p) => self.take(p)?,
                Err(mpsc::TryRecvError::Empty) => return Ok(()),
                Err(mpsc::TryRecvError::Disconnected) => return Err(self.kill(gone())),
            }
        }
    }

    /// Account for one incoming packet while not waiting for data.
    fn take(&mut self, p: Packet) -> Result<()> {
        match self.classify(p)? {
            StreamChunk::Data(d) => self.pending.extend(d),
            StreamChunk::Eof => self.eof = true,
            // Holes only come in answer to recv; outside it they are dropped.
            StreamChunk::Hole(_) => {}
        }
        Ok(())
    }

    /// What an incoming packet means; a server error kills the stream.
    fn classify(&mut self, p: Packet) -> Result<StreamChunk> {
        let h = p.header;
        match (h.msg_type, h.status) {
            (MessageType::STREAM, MessageStatus::CONTINUE) if p.payload.is_empty() => Ok(StreamChunk::Eof),
            (MessageType::STREAM, MessageStatus::CONTINUE) => Ok(StreamChunk::Data(p.payload)),
            (MessageType::STREAM_HOLE, MessageStatus::CONTINUE) if self.sparse => {
                let hole: VirNetStreamHole = p.body().map_err(|_| self.kill(rpc_error("Unable to decode message payload")))?;
                u64::try_from(hole.length).map(StreamChunk::Hole).map_err(|_| self.kill(rpc_error("negative hole length")))
            }
            (MessageType::STREAM_HOLE, _) => Err(self.kill(rpc_error("Unexpected stream hole"))),
            (MessageType::STREAM, MessageStatus::ERROR) => Err(self.kill(decode_remote_error(&p.payload))),
            (_, status) => Err(self.kill(rpc_error(format!("Unexpected stream status {}", status.0)))),
        }
    }

    /// The next chunk, waiting for the server at most `timeout` (`None`: no limit);
    /// `Ok(None)` when nothing came in time.
    fn recv_within(&mut self, max: usize, timeout: Option<Duration>) -> Result<Option<StreamChunk>> {
        self.check()?;
        if self.pending.is_empty() && !self.eof {
            let p = match timeout {
                None => self.rx.recv().map_err(|_| ()),
                Some(t) => match self.rx.recv_timeout(t) {
                    Ok(p) => Ok(p),
                    Err(mpsc::RecvTimeoutError::Timeout) => return Ok(None),
                    Err(mpsc::RecvTimeoutError::Disconnected) => Err(()),
                },
            };
            let Ok(p) = p else { return Err(self.kill(gone())) };
            match self.classify(p)? {
                StreamChunk::Data(d) => self.pending = d,
                StreamChunk::Eof => self.eof = true,
                hole => return Ok(Some(hole)),
            }
        }
        if self.pending.is_empty() {
            return Ok(Some(StreamChunk::Eof));
        }
        let rest = if self.pending.len() > max { self.pending.split_off(max) } else { Vec::new() };
        Ok(Some(StreamChunk::Data(std::mem::replace(&mut self.pending, rest))))
    }

    /// Send finish (`OK`) or abort (`ERROR`) and wait for the server's answer.
    fn close(&mut self, status: MessageStatus) -> Result<()> {
        let sent = self.shared.send_packet(&self.packet(MessageType::STREAM, status, Vec::new()));
        let r = sent.and_then(|()| loop {
            let Ok(p) = self.rx.recv() else { break Err(gone()) };
            match (p.header.msg_type, p.header.status) {
                (MessageType::STREAM, MessageStatus::OK) => break Ok(()),
                (MessageType::STREAM, MessageStatus::ERROR) => break Err(decode_remote_error(&p.payload)),
                // Data still in flight from before the abort.
                _ => continue,
            }
        });
        let e =
            r.as_ref().err().cloned().unwrap_or_else(|| Error::new(ErrorCode::OperationInvalid, ErrorDomain::Streams, "stream is closed"));
        self.kill(e);
        r
    }
}

impl StreamDriver for RemoteStream {
    fn send(&mut self, data: &[u8]) -> Result<()> {
        self.check()?;
        self.poll()?;
        for chunk in data.chunks(CHUNK) {
            let p = self.packet(MessageType::STREAM, MessageStatus::CONTINUE, chunk.to_vec());
            self.shared.send_packet(&p).map_err(|e| self.kill(e))?;
        }
        Ok(())
    }

    fn send_hole(&mut self, length: u64) -> Result<()> {
        self.check()?;
        self.poll()?;
        let hole = VirNetStreamHole {
            length: i64::try_from(length)
                .map_err(|_| Error::new(ErrorCode::InvalidArg, ErrorDomain::Streams, "hole length is too large"))?,
            flags: 0,
        };
        let p = Packet::with_body(Header { msg_type: MessageType::STREAM_HOLE, status: MessageStatus::CONTINUE, ..self.call }, &hole)
            .map_err(|e| e.to_vir_error())?;
        self.shared.send_packet(&p).map_err(|e| self.kill(e))
    }

    fn recv(&mut self, max: usize) -> Result<StreamChunk> {
        self.recv_within(max, None).map(|c| c.unwrap_or(StreamChunk::Eof))
    }

    fn recv_timeout(&mut self, max: usize, timeout: Duration) -> Result<Option<StreamChunk>> {
        self.recv_within(max, Some(timeout))
    }

    fn finish(&mut self) -> Result<()> {
        self.check()?;
        self.close(MessageStatus::OK)
    }

    fn abort(&mut self) -> Result<()> {
        // After a server error the server has already forgotten the stream.
        if self.dead.is_some() {
            return Ok(());
        }
        self.close(MessageStatus::ERROR)
    }
}

impl Drop for RemoteStream {
    fn drop(&mut self) {
        self.shared.forget_stream(self.call.serial);
    }
}
