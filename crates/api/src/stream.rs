//! Data streams (`virStreamPtr`): bulk data between a client and a driver, such as a
//! volume's contents for `virStorageVolUpload` / `virStorageVolDownload`.
//!
//! The design is minimal and synchronous. A driver call that opens a stream returns a
//! driver-side object implementing [`StreamDriver`] (libvirt's `virStreamDriver`
//! table); the API wraps it in a [`Stream`], which tracks the stream's state the way
//! libvirt's public `virStream*` functions do: data can be sent or received until the
//! stream is finished or aborted, and dropping an open stream aborts it.
//!
//! Sparse streams (`VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`,
//! `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`) carry holes — runs of zero bytes sent as a
//! length only — besides data. On a stream opened without the sparse flag, a driver
//! never yields a [`StreamChunk::Hole`] and [`Stream::send_hole`] fails.

use crate::driver::no_support;
use crate::{Error, Result};
use oxvirt_util::{ErrorCode, ErrorDomain};
use std::time::Duration;

/// The largest chunk both sides of libvirt's wire protocol put in one stream packet
/// (`VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`); a good size for [`Stream::recv`].
pub const CHUNK: usize = 262_120;

/// One piece of what a stream carries, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamChunk {
    /// Bytes of data (never empty).
    Data(Vec<u8>),
    /// A hole: this many bytes that read as zeros (sparse streams only).
    Hole(u64),
    /// The sender has no more data.
    Eof,
}

/// The driver side of a stream (libvirt's `virStreamDriver`). Every method but
/// [`StreamDriver::abort`] defaults to `VIR_ERR_NO_SUPPORT`, so a download-only stream
/// implements `recv`, an upload-only one `send`.
#[allow(unused_variables)]
pub trait StreamDriver: Send {
    /// Consume `data` (upload direction). All of it is taken or the call fails.
    fn send(&mut self, data: &[u8]) -> Result<()> {
        Err(no_support("virStreamSend"))
    }
    /// Consume a hole of `length` zero bytes (sparse upload).
    fn send_hole(&mut self, length: u64) -> Result<()> {
        Err(no_support("virStreamSendHole"))
    }
    /// Produce the next chunk, at most `max` bytes of data (download direction).
    fn recv(&mut self, max: usize) -> Result<StreamChunk> {
        Err(no_support("virStreamRecv"))
    }
    /// Like [`StreamDriver::recv`], but wait at most `timeout`: `None` when nothing
    /// came in time. Interactive streams (consoles) implement it so that a caller can
    /// send between reads; the default simply waits in `recv`.
    fn recv_timeout(&mut self, max: usize, timeout: Duration) -> Result<Option<StreamChunk>> {
        let _ = timeout;
        self.recv(max).map(Some)
    }
    /// Complete the transfer: commit what was sent, or confirm all was received.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    /// Give up the transfer; the driver discards what it can.
    fn abort(&mut self) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Finished,
    Aborted,
    Failed,
}

/// A stream handle (`virStreamPtr`), returned by the calls that open one, such as
/// [`crate::StorageVol::upload`] and [`crate::StorageVol::download`].
pub struct Stream {
    drv: Box<dyn StreamDriver>,
    sparse: bool,
    state: State,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("sparse", &self.sparse).field("state", &self.state).finish_non_exhaustive()
    }
}

fn closed() -> Error {
    Error::new(ErrorCode::OperationInvalid, ErrorDomain::Streams, "stream is not open")
}

impl Stream {
    /// Wrap a driver's stream; `sparse` says whether holes may be exchanged.
    pub fn new(drv: Box<dyn StreamDriver>, sparse: bool) -> Stream {
        Stream { drv, sparse, state: State::Open }
    }

    /// Whether the stream was opened sparse.
    pub fn is_sparse(&self) -> bool {
        self.sparse
    }

    fn check(&self) -> Result<()> {
        if self.state == State::Open {
            Ok(())
        } else {
            Err(closed())
        }
    }

    /// Remember a failure: like libvirt, a stream whose transfer failed is dead.
    fn track<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.state = State::Failed;
            let _ = self.drv.abort();
        }
        r
    }

    /// `virStreamSend`: send all of `data`. Sending nothing is a no-op.
    pub fn send(&mut self, data: &[u8]) -> Result<()> {
        self.check()?;
        if data.is_empty() {
            return Ok(());
        }
        let r = self.drv.send(data);
        self.track(r)
    }

    /// `virStreamSendHole`: send a hole of `length` zero bytes (sparse streams only).
    pub fn send_hole(&mut self, length: u64) -> Result<()> {
        self.check()?;
        if !self.sparse {
            return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Streams, "stream is not sparse"));
        }
        if length == 0 {
            return Ok(());
        }
        let r = self.drv.send_hole(length);
        self.track(r)
    }

    /// `virStreamRecvFlags` with `VIR_STREAM_RECV_STOP_AT_HOLE`: the next chunk, at
    /// most `max` bytes of data (`max` 0 means [`CHUNK`]). Holes are only returned by
    /// sparse streams.
    pub fn recv(&mut self, max: usize) -> Result<StreamChunk> {
        self.check()?;
        let max = if max == 0 { CHUNK } else { max };
        let r = self.drv.recv(max);
        let r = self.track(r)?;
        match r {
            StreamChunk::Data(d) if d.is_empty() => Ok(StreamChunk::Eof),
            StreamChunk::Hole(_) if !self.sparse => self.track(Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Streams,
                "driver sent a hole on a stream that is not sparse",
            ))),
            StreamChunk::Hole(0) => self.recv(max),
            c => Ok(c),
        }
    }

    /// [`Stream::recv`] waiting at most `timeout`: `Ok(None)` when no data came in
    /// time (the stream stays open). Meant for interactive streams such as consoles.
    pub fn recv_timeout(&mut self, max: usize, timeout: Duration) -> Result<Option<StreamChunk>> {
        self.check()?;
        let max = if max == 0 { CHUNK } else { max };
        let r = self.drv.recv_timeout(max, timeout);
        match self.track(r)? {
            None => Ok(None),
            Some(StreamChunk::Data(d)) if d.is_empty() => Ok(Some(StreamChunk::Eof)),
            Some(StreamChunk::Hole(_)) if !self.sparse => self.track(Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Streams,
                "driver sent a hole on a stream that is not sparse",
            ))),
            Some(c) => Ok(Some(c)),
        }
    }

    /// `virStreamSendAll` / `virStreamSparseSendAll`: send everything `src` yields,
    /// then finish. `src` returns the next chunk; [`StreamChunk::Eof`] ends the data.
    /// On error the stream is aborted.
    pub fn send_all(mut self, mut src: impl FnMut() -> Result<StreamChunk>) -> Result<()> {
        loop {
            let step = match src() {
                Ok(StreamChunk::Data(d)) => self.send(&d),
                Ok(StreamChunk::Hole(n)) => self.send_hole(n),
                Ok(StreamChunk::Eof) => break,
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                let _ = self.abort();
                return Err(e);
            }
        }
        self.finish()
    }

    /// `virStreamRecvAll` / `virStreamSparseRecvAll`: hand every chunk to `sink` until
    /// the end of data, then finish. On error the stream is aborted.
    pub fn recv_all(mut self, mut sink: impl FnMut(StreamChunk) -> Result<()>) -> Result<()> {
        loop {
            let step = match self.recv(CHUNK) {
                Ok(StreamChunk::Eof) => break,
                Ok(c) => sink(c),
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                let _ = self.abort();
                return Err(e);
            }
        }
        self.finish()
    }

    /// `virStreamFinish`: complete the transfer and close the stream.
    pub fn finish(&mut self) -> Result<()> {
        self.check()?;
        let r = self.drv.finish();
        self.state = if r.is_ok() { State::Finished } else { State::Failed };
        r
    }

    /// `virStreamAbort`: give up the transfer and close the stream. Aborting a stream
    /// that already failed is not an error.
    pub fn abort(&mut self) -> Result<()> {
        match self.state {
            State::Open => {
                self.state = State::Aborted;
                self.drv.abort()
            }
            State::Failed | State::Aborted => Ok(()),
            State::Finished => Err(closed()),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.state == State::Open {
            let _ = self.drv.abort();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Mem {
        buf: Vec<u8>,
        pos: usize,
        finished: bool,
    }

    impl StreamDriver for Mem {
        fn send(&mut self, data: &[u8]) -> Result<()> {
            self.buf.extend_from_slice(data);
            Ok(())
        }
        fn send_hole(&mut self, length: u64) -> Result<()> {
            self.buf.resize(self.buf.len() + usize::try_from(length).unwrap(), 0);
            Ok(())
        }
        fn recv(&mut self, max: usize) -> Result<StreamChunk> {
            let end = (self.pos + max).min(self.buf.len());
            let d = self.buf[self.pos..end].to_vec();
            self.pos = end;
            Ok(StreamChunk::Data(d))
        }
        fn finish(&mut self) -> Result<()> {
            self.finished = true;
            Ok(())
        }
    }

    #[test]
    fn state_rules() {
        let mut s = Stream::new(Box::<Mem>::default(), false);
        s.send(b"abc").unwrap();
        assert_eq!(s.send_hole(3).unwrap_err().code, ErrorCode::InvalidArg);
        assert_eq!(s.recv(2).unwrap(), StreamChunk::Data(b"ab".to_vec()));
        assert_eq!(s.recv(0).unwrap(), StreamChunk::Data(b"c".to_vec()));
        assert_eq!(s.recv(0).unwrap(), StreamChunk::Eof);
        s.finish().unwrap();
        assert!(s.send(b"x").is_err());
        assert!(s.abort().is_err());
        let mut s = Stream::new(Box::<Mem>::default(), true);
        s.send_hole(2).unwrap();
        s.abort().unwrap();
        s.abort().unwrap();
        assert!(s.recv(1).is_err());
    }

    #[test]
    fn send_all_and_recv_all() {
        let mut chunks = vec![StreamChunk::Data(b"ab".to_vec()), StreamChunk::Hole(2), StreamChunk::Eof].into_iter();
        let s = Stream::new(Box::<Mem>::default(), true);
        s.send_all(|| Ok(chunks.next().unwrap_or(StreamChunk::Eof))).unwrap();
        let s = Stream::new(Box::new(Mem { buf: vec![1, 2, 3], ..Default::default() }), false);
        let mut got = Vec::new();
        s.recv_all(|c| {
            if let StreamChunk::Data(d) = c {
                got.extend(d);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(got, [1, 2, 3]);
    }
}
