//! `oxvirt-rpc`: libvirt's RPC wire protocol — XDR encoding, packet framing, the
//! procedure tables of the REMOTE/QEMU/LXC/KEEPALIVE/ADMIN programs, and client and
//! server transports.
//!
//! Layer: util-level library. May depend on `oxvirt-util` only; the daemon and the
//! remote driver build on it. (Filled in by the daemon issue; this crate holds the
//! framing constants so the layout is fixed from the start.)

/// Maximum size of one RPC message (`VIR_NET_MESSAGE_MAX`), 32 MiB.
pub const MESSAGE_MAX: usize = 32 * 1024 * 1024;
/// Size of the length word plus header (`VIR_NET_MESSAGE_HEADER_XDR_LEN` + 4).
pub const HEADER_LEN: usize = 28;
/// The REMOTE program number.
pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
