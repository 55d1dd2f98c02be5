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
