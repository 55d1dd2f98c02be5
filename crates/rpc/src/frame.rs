//! Packet framing: a 4-byte big-endian length (counting itself), the 24-byte
//! [`Header`], an fd count for `*_WITH_FDS` packets, then the payload.
//!
//! [`FrameDecoder`] accepts bytes in chunks of any size and yields whole packets. Every
//! [`FrameError`] is fatal for the connection: libvirtd drops a client whose length
//! word or header cannot be trusted, and so must we.

use crate::consts::{VIR_NET_MESSAGE_HEADER_MAX, VIR_NET_MESSAGE_LEN_MAX, VIR_NET_MESSAGE_MAX, VIR_NET_MESSAGE_NUM_FDS_MAX};
use crate::message::Header;
use crate::xdr::{Decode, Encode, Reader, Writer, XdrError};
use oxvirt_util::{ErrorCode, ErrorDomain, VirError};

/// Size of the length word.
pub const LEN_WORD: usize = VIR_NET_MESSAGE_LEN_MAX as usize;
/// Smallest valid packet: length word + header, void payload.
pub const MIN_PACKET: usize = LEN_WORD + VIR_NET_MESSAGE_HEADER_MAX as usize;
/// Largest valid packet: `VIR_NET_MESSAGE_MAX` plus the length word.
pub const MAX_PACKET: usize = VIR_NET_MESSAGE_MAX as usize + LEN_WORD;

/// A packet that cannot be framed. Each one ends the connection (libvirtd closes the
/// socket); the message texts follow libvirt's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length word is below 4.
    #[error("packet {len} bytes received too small, want {min}", min = LEN_WORD)]
    TooSmall {
        /// The length word.
        len: u32,
    },
    /// `length - 4` exceeds `VIR_NET_MESSAGE_MAX`.
    #[error("packet {len} bytes received too large, want {max}", len = *len as u64 - LEN_WORD as u64, max = VIR_NET_MESSAGE_MAX)]
    TooLarge {
        /// The length word.
        len: u32,
    },
    /// The packet is too short to hold a header.
    #[error("Unable to decode message header")]
    HeaderTruncated {
        /// The length word.
        len: u32,
    },
    /// A `*_WITH_FDS` packet has no room for its fd count.
    #[error("Unable to decode number of FDs")]
    MissingFdCount,
    /// A `*_WITH_FDS` packet announces more than `VIR_NET_MESSAGE_NUM_FDS_MAX` fds.
    #[error("Received too many FDs {nfds}, expected {max} maximum", max = VIR_NET_MESSAGE_NUM_FDS_MAX)]
    TooManyFds {
        /// The announced count.
        nfds: u32,
    },
    /// A packet to send carries more than `VIR_NET_MESSAGE_NUM_FDS_MAX` fds.
    #[error("Too many FDs to send {nfds}, expected {max} maximum", max = VIR_NET_MESSAGE_NUM_FDS_MAX)]
    TooManyFdsToSend {
        /// The count.
        nfds: usize,
    },
    /// A `*_WITH_FDS` packet with fds arrived on a transport that cannot carry them
    /// (TCP, TLS, a pipe): libvirtd drops the client.
    #[error("Receiving file descriptors is not supported on this socket")]
    FdPassingUnsupported,
    /// A byte that should have carried one of a packet's fds came without one.
    #[error("Failed to recv file descriptor")]
    MissingFd,
    /// The stream ended inside a packet.
    #[error("connection closed inside a packet: {buffered} bytes buffered, {expected} expected")]
    TruncatedAtEof {
        /// Bytes received of the unfinished packet.
        buffered: usize,
        /// Bytes the packet needs (4 while the length word is incomplete).
        expected: usize,
    },
    /// The packet to send would exceed `VIR_NET_MESSAGE_MAX`.
    #[error("Unable to encode message payload")]
    PayloadTooLarge {
        /// Size the packet would have had.
        len: usize,
    },
    /// The payload to send could not be encoded.
    #[error("Unable to encode message payload")]
    Encode(#[source] XdrError),
}

impl FrameError {
    /// The error as libvirt reports it (`VIR_ERR_RPC`, `VIR_FROM_RPC`).
    pub fn to_vir_error(&self) -> VirError {
        VirError::new(ErrorCode::Rpc, ErrorDomain::Rpc, self.to_string())
    }
}

/// One framed packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet {
    /// The header.
    pub header: Header,
    /// Number of file descriptors that follow the packet out of band (only for
    /// `CALL_WITH_FDS`/`REPLY_WITH_FDS`; 0 otherwise).
    pub nfds: u32,
    /// The payload after the header (and after the fd count).
    pub payload: Vec<u8>,
}

impl Packet {
    /// A packet carrying `body` encoded as XDR.
    pub fn with_body<T: Encode + ?Sized>(header: Header, body: &T) -> Result<Self, FrameError> {
        let mut w = Writer::new();
        body.encode(&mut w).map_err(FrameError::Encode)?;
        Ok(Packet { header, nfds: 0, payload: w.into_bytes() })
    }

    /// Decode the payload as `T`, requiring it to be consumed exactly.
    pub fn body<T: Decode>(&self) -> Result<T, XdrError> {
        T::from_bytes(&self.payload)
    }

    /// Decode the payload as `T`, ignoring trailing bytes (how libvirtd reads call
    /// arguments).
    pub fn body_lenient<T: Decode>(&self) -> Result<T, XdrError> {
        T::from_bytes_prefix(&self.payload).map(|(v, _)| v)
    }

    /// The whole packet on the wire, length word included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FrameError> {
        let fds_word = if self.header.msg_type.has_fds() { 4 } else { 0 };
        if self.nfds > VIR_NET_MESSAGE_NUM_FDS_MAX {
            return Err(FrameError::TooManyFdsToSend { nfds: self.nfds as usize });
        }
        let len = MIN_PACKET + fds_word + self.payload.len();
        if len > MAX_PACKET {
            return Err(FrameError::PayloadTooLarge { len });
        }
        let mut w = Writer::with_buffer(Vec::with_capacity(len));
        w.put_u32(len as u32);
        self.header.encode(&mut w).map_err(FrameError::Encode)?;
        if fds_word != 0 {
            w.put_u32(self.nfds);
        }
        let mut out = w.into_bytes();
        out.extend_from_slice(&self.payload);
        Ok(out)
    }

    /// Parse one complete packet (length word included, nothing after it).
    pub fn from_frame(frame: &[u8]) -> Result<Self, FrameError> {
        let mut r = Reader::new(frame);
        let len = r.read_u32().map_err(|_| FrameError::TruncatedAtEof { buffered: frame.len(), expected: LEN_WORD })?;
        check_length(len)?;
        if frame.len() != len as usize {
            return Err(FrameError::TruncatedAtEof { buffered: frame.len(), expected: len as usize });
        }
        let header = Header::decode(&mut r).map_err(|_| FrameError::HeaderTruncated { len })?;
        let mut nfds = 0;
        if header.msg_type.has_fds() {
            nfds = r.read_u32().map_err(|_| FrameError::MissingFdCount)?;
            if nfds > VIR_NET_MESSAGE_NUM_FDS_MAX {
                return Err(FrameError::TooManyFds { nfds });
            }
        }
        let payload = r.take(r.remaining()).map_err(FrameError::Encode)?.to_vec();
        Ok(Packet { header, nfds, payload })
    }
}

/// Check a length word the way libvirt's `virNetMessageDecodeLength` does, plus the
/// header-size check that follows it.
pub fn check_length(len: u32) -> Result<(), FrameError> {
    if (len as usize) < LEN_WORD {
        return Err(FrameError::TooSmall { len });
    }
    if len as usize - LEN_WORD > VIR_NET_MESSAGE_MAX as usize {
        return Err(FrameError::TooLarge { len });
    }
    if (len as usize) < MIN_PACKET {
        return Err(FrameError::HeaderTruncated { len });
    }
    Ok(())
}

/// Incremental packet decoder: push bytes as they arrive, pull whole packets.
///
/// It never reserves memory for a packet before its bytes arrive, and after the first
/// error it keeps returning that error.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        FrameDecoder::default()
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes buffered and not yet returned as packets.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes complete the current packet (or its length word); 0 when a
    /// packet is ready or an error is pending. A reader
    /// that must not read past a packet boundary (fd passing) reads at most this much.
    pub fn wanted(&self) -> usize {
        match self.length_word() {
            Some(len) if check_length(len).is_ok() => (len as usize).saturating_sub(self.buf.len()),
            Some(_) => 0,
            None => LEN_WORD - self.buf.len(),
        }
    }

    fn length_word(&self) -> Option<u32> {
        self.buf.get(..LEN_WORD).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The next complete packet, `Ok(None)` if more bytes are needed.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(len) = self.length_word() else { return Ok(None) };
        if let Err(e) = check_length(len) {
            return Err(self.fail(e));
        }
        let len = len as usize;
        if self.buf.len() < len {
            return Ok(None);
        }
        match Packet::from_frame(&self.buf[..len]) {
            Ok(p) => {
                self.buf.drain(..len);
                Ok(Some(p))
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Drop up to `n` bytes from the front of the buffer (the 1-byte carriers of a
    /// packet's fds, which are not part of any packet); how many were dropped.
    pub fn discard(&mut self, n: usize) -> usize {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        n
    }

    /// Call at end of input: fails if a packet was cut off.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let expected = self.length_word().map_or(LEN_WORD, |l| l as usize);
        Err(FrameError::TruncatedAtEof { buffered: self.buf.len(), expected })
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        self.buf = Vec::new();
        self.failed = Some(e.clone());
        e
    }
}

/// A [`FrameDecoder`] for transports that pass file descriptors (`SCM_RIGHTS` on unix
/// sockets), generic over the descriptor type so the logic stays pure and testable.
///
/// libvirt sends a `*_WITH_FDS` packet's descriptors after the packet, one per
/// `sendmsg` of a single byte (not counted in the length word). The kernel hands a
/// descriptor to the reader together with the last byte of the `recvmsg` that returned
/// it, so [`FdFrameDecoder::push`] records each descriptor at the stream offset of the
/// last byte pushed with it. After a packet of the expected type announcing `nfds`,
/// the next `nfds` bytes of the stream must each carry one descriptor (the first one
/// is taken; extra ones are dropped, as libvirt's one-fd control buffer truncates
/// them); a byte without one is [`FrameError::MissingFd`], which drops the
/// connection like libvirt's `EACCES`. Descriptors that arrive with packet bytes are
/// dropped (closed), as a plain `read()` discards them.
#[derive(Debug)]
pub struct FdFrameDecoder<F> {
    dec: FrameDecoder,
    /// Which message type brings fds: `CALL_WITH_FDS` on a server,
    /// `REPLY_WITH_FDS` on a client.
    expect: crate::message::MessageType,
    /// Whether the transport can carry fds at all.
    can_pass: bool,
    /// Bytes pushed so far (stream offset of the next byte).
    pushed: u64,
    /// Descriptors received, with the offset of the byte they came with.
    fds: std::collections::VecDeque<(u64, F)>,
    /// A packet waiting for its descriptors, and those collected.
    pending: Option<(Packet, Vec<F>)>,
}

impl<F> FdFrameDecoder<F> {
    /// A decoder that collects the fds of `expect` packets (`CALL_WITH_FDS` for a
    /// server, `REPLY_WITH_FDS` for a client). `can_pass`: the transport carries fds;
    /// when false, a packet announcing any is [`FrameError::FdPassingUnsupported`].
    pub fn new(expect: crate::message::MessageType, can_pass: bool) -> Self {
        FdFrameDecoder { dec: FrameDecoder::new(), expect, can_pass, pushed: 0, fds: std::collections::VecDeque::new(), pending: None }
    }

    /// Append received bytes and the descriptors that came with them.
    ///
    /// Only the first descriptor of a chunk can count (they all belong to its last
    /// byte), so the others are dropped at once; and at most
    /// `VIR_NET_MESSAGE_NUM_FDS_MAX` are kept waiting (the oldest go first), so a
    /// client attaching descriptors to packet bytes cannot make the reader hold many.
    pub fn push(&mut self, bytes: &[u8], fds: Vec<F>) {
        self.dec.push(bytes);
        self.pushed += bytes.len() as u64;
        let first = fds.into_iter().next();
        if let (false, Some(f)) = (bytes.is_empty(), first) {
            self.fds.push_back((self.pushed - 1, f));
            while self.fds.len() > VIR_NET_MESSAGE_NUM_FDS_MAX as usize {
                self.fds.pop_front();
            }
        }
    }

    /// Stream offset of the first buffered byte.
    fn consumed(&self) -> u64 {
        self.pushed - self.dec.buffered() as u64
    }

    /// Drop descriptors that came with bytes already consumed.
    fn drop_stale(&mut self) {
        let consumed = self.consumed();
        while self.fds.front().is_some_and(|(at, _)| *at < consumed) {
            self.fds.pop_front();
        }
    }

    /// How many more bytes complete the current packet or its descriptors' carrier
    /// bytes (a reader must not read past them before it knows where fds belong;
    /// reading more is allowed, the offsets keep things straight).
    pub fn wanted(&self) -> usize {
        match &self.pending {
            Some((p, got)) => (p.nfds as usize - got.len()).saturating_sub(self.dec.buffered()),
            None => self.dec.wanted(),
        }
    }

    /// The next complete packet with its descriptors, `Ok(None)` if more input is
    /// needed. Errors are fatal for the connection (the pending packet's descriptors
    /// are dropped).
    pub fn next_packet(&mut self) -> Result<Option<(Packet, Vec<F>)>, FrameError> {
        if self.pending.is_none() {
            self.drop_stale();
            let Some(p) = self.dec.next_packet()? else { return Ok(None) };
            if p.header.msg_type != self.expect || p.nfds == 0 {
                return Ok(Some((p, Vec::new())));
            }
            if !self.can_pass {
                return Err(FrameError::FdPassingUnsupported);
            }
            let n = p.nfds as usize;
            self.pending = Some((p, Vec::with_capacity(n)));
        }
        loop {
            let (want, have) = match &self.pending {
                Some((p, got)) => (p.nfds as usize, got.len()),
                None => return Ok(None),
            };
            if have == want {
                return Ok(self.pending.take());
            }
            if self.dec.buffered() == 0 {
                return Ok(None);
            }
            self.drop_stale();
            let at = self.consumed();
            let mut carried = None;
            while self.fds.front().is_some_and(|(o, _)| *o == at) {
                if let Some((_, f)) = self.fds.pop_front() {
                    // The first descriptor of the byte counts; the rest are dropped.
                    carried = carried.or(Some(f));
                }
            }
            self.dec.discard(1);
            match (carried, self.pending.as_mut()) {
                (Some(f), Some((_, got))) => got.push(f),
                _ => {
                    self.pending = None;
                    return Err(FrameError::MissingFd);
                }
            }
        }
    }

    /// Call at end of input: fails if a packet or its descriptors were cut off.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.pending.is_some() {
            return Err(FrameError::MissingFd);
        }
        self.dec.finish()
    }
}

#[cfg(test)]
mod fd_tests {
    use super::*;
    use crate::message::{Header, MessageType};

    fn call(nfds: u32, serial: u32) -> Vec<u8> {
        let mut h = Header::call(crate::REMOTE_PROGRAM, 1, serial);
        h.msg_type = MessageType::CALL_WITH_FDS;
        Packet { header: h, nfds, payload: vec![0, 0, 0, 7] }.to_bytes().unwrap_or_default()
    }

    #[test]
    fn fds_ride_on_bytes_after_their_packet() {
        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, true);
        let mut bytes = call(2, 5);
        d.push(&bytes, vec![]);
        assert_eq!(d.next_packet(), Ok(None));
        assert_eq!(d.wanted(), 2);
        d.push(&[0], vec![10]);
        assert_eq!(d.next_packet(), Ok(None));
        // Second carrier byte and the next packet arrive in one read.
        bytes = vec![0];
        d.push(&bytes, vec![11, 12]);
        let plain = Packet { header: Header::call(crate::REMOTE_PROGRAM, 2, 6), nfds: 0, payload: vec![] };
        d.push(&plain.to_bytes().unwrap_or_default(), vec![99]);
        let (p, fds) = d.next_packet().ok().flatten().unwrap_or_default();
        assert_eq!((p.header.serial, p.nfds, p.payload.as_slice()), (5, 2, &[0u8, 0, 0, 7][..]));
        assert_eq!(fds, vec![10, 11]);
        // The fd that came with packet bytes is dropped, not handed out.
        let (p, fds) = d.next_packet().ok().flatten().unwrap_or_default();
        assert_eq!((p.header.serial, fds.len()), (6, 0));
        assert_eq!(d.next_packet(), Ok(None));
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn one_read_may_hold_packet_and_carrier() {
        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, true);
        let mut bytes = call(1, 1);
        bytes.push(0);
        d.push(&bytes, vec![3]);
        assert_eq!(d.next_packet().map(|o| o.map(|(_, f)| f)), Ok(Some(vec![3])));
    }

    #[test]
    fn missing_fd_and_unsupported_transport_are_fatal() {
        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, true);
        d.push(&call(2, 1), vec![]);
        d.push(&[0], vec![4]);
        d.push(&[0], vec![]);
        assert_eq!(d.next_packet(), Err(FrameError::MissingFd));

        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, true);
        d.push(&call(1, 1), vec![]);
        assert_eq!(d.next_packet(), Ok(None));
        assert_eq!(d.finish(), Err(FrameError::MissingFd));

        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, false);
        d.push(&call(1, 1), vec![]);
        assert_eq!(d.next_packet(), Err(FrameError::FdPassingUnsupported));
        // Zero fds are fine anywhere.
        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, false);
        d.push(&call(0, 1), vec![]);
        assert!(matches!(d.next_packet(), Ok(Some((_, f))) if f.is_empty()));
    }

    #[test]
    fn stray_descriptors_are_not_hoarded() {
        let mut d = FdFrameDecoder::<std::rc::Rc<()>>::new(MessageType::CALL_WITH_FDS, true);
        let token = std::rc::Rc::new(());
        // A packet dribbled one byte at a time, each byte with three descriptors.
        let bytes = call(0, 1);
        for b in &bytes[..bytes.len() - 1] {
            d.push(&[*b], vec![token.clone(), token.clone(), token.clone()]);
            assert!(std::rc::Rc::strong_count(&token) <= 1 + VIR_NET_MESSAGE_NUM_FDS_MAX as usize);
        }
        d.push(&bytes[bytes.len() - 1..], vec![]);
        assert!(matches!(d.next_packet(), Ok(Some((_, f))) if f.is_empty()));
        // Everything that came with packet bytes is gone.
        assert_eq!(d.next_packet().map(|o| o.is_none()), Ok(true));
        assert_eq!(std::rc::Rc::strong_count(&token), 1);
    }

    #[test]
    fn counts_and_limits() {
        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, true);
        let mut bytes = call(32, 1);
        bytes[28..32].copy_from_slice(&33u32.to_be_bytes());
        d.push(&bytes, vec![]);
        assert_eq!(d.next_packet(), Err(FrameError::TooManyFds { nfds: 33 }));
        let mut h = Header::call(crate::REMOTE_PROGRAM, 1, 1);
        h.msg_type = MessageType::REPLY_WITH_FDS;
        let e = Packet { header: h, nfds: 33, payload: vec![] }.to_bytes();
        assert_eq!(e, Err(FrameError::TooManyFdsToSend { nfds: 33 }));
        assert_eq!(e.err().map(|e| e.to_string()).unwrap_or_default(), "Too many FDs to send 33, expected 32 maximum");
        // Replies with fds on a server's decoder are not waited for.
        let mut d = FdFrameDecoder::<u32>::new(MessageType::CALL_WITH_FDS, true);
        d.push(&Packet { header: h, nfds: 2, payload: vec![] }.to_bytes().unwrap_or_default(), vec![]);
        assert!(matches!(d.next_packet(), Ok(Some((p, f))) if p.nfds == 2 && f.is_empty()));
    }
}
