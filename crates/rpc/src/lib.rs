//! `oxvirt-rpc`: libvirt's RPC wire protocol, synchronous and transport-free.
//!
//! * [`xdr`] — XDR encoding ([`xdr::Encode`], [`xdr::Decode`]) with libvirt's rules
//!   (widened chars, lenient booleans, bounded strings and arrays, no unchecked
//!   allocation while decoding).
//! * [`frame`] — packet framing and an incremental decoder ([`frame::FrameDecoder`]).
//! * [`message`] — the packet header, message types/statuses, `remote_error`.
//! * [`proto`] — every program as data: the REMOTE (443 procedures), QEMU, LXC,
//!   ADMIN and KEEPALIVE procedure tables and the Rust struct of every payload,
//!   generated from the reference tables in `data/` and checked in.
//! * [`dispatch`] — how libvirtd reacts to unknown programs, procedures, statuses and
//!   message types, as a pure function.
//! * [`consts`] — every `const` of the `.x` files (message and array limits).
//! * [`scram`] — the SASL SCRAM primitives both ends of the authentication share.
//!
//! Layer: util-level library. Depends on `oxvirt-util` (error numbering),
//! `thiserror` and `ring` (SCRAM's hashes) only; the daemon (`oxvirtd`) and the remote driver build their
//! transports on it. `docs/wire-protocol.md` describes the design.

#[rustfmt::skip]
pub mod consts;
pub mod dispatch;
pub mod frame;
pub mod message;
pub mod proto;
pub mod scram;
pub mod xdr;

pub use frame::{FrameDecoder, FrameError, Packet};
pub use message::{Header, MessageStatus, MessageType};
pub use xdr::{Decode, Encode, XdrError};

/// Maximum size of one RPC message without its length word (`VIR_NET_MESSAGE_MAX`).
pub const MESSAGE_MAX: usize = consts::VIR_NET_MESSAGE_MAX as usize;
/// Size of the length word plus header.
pub const HEADER_LEN: usize = frame::MIN_PACKET;
/// The REMOTE program number.
pub const REMOTE_PROGRAM: u32 = message::REMOTE_PROGRAM;
