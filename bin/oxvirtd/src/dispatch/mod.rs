//! Procedure dispatch (libvirt's `remote_daemon_dispatch.c`): decode a call's
//! arguments, run it through the public `oxvirt` API on the client's connection, and
//! encode the return struct.
//!
//! Contract shared by every module here: `pub fn dispatch(proc, payload, conn) ->
//! Option<Reply>` returns `None` for a procedure the module does not handle, so
//! [`dispatch_call`] can try the modules in turn. Connection-less procedures
//! (`CONNECT_OPEN`, `CONNECT_CLOSE`, keepalive, auth) are handled by the server before
//! dispatch; read-only enforcement happens in the API layer (`Connect::check_rw`).

pub mod conv;
pub mod domain;
pub mod domain_info;
pub mod domain_tune;
pub mod fds;
pub mod host;
pub mod iface;
pub mod network;
pub mod nodedev;
pub mod nwfilter;
pub mod qemu_prog;
pub mod secret;
pub mod snapshot;
pub mod storage;

use oxvirt::{Connect, Error, ErrorCode, ErrorDomain};
use oxvirt_rpc::proto::remote::RemoteProcedure;
use oxvirt_rpc::{Decode, Encode};

/// The encoded return struct of a call (empty for `void`), or the error to send.
pub type Reply = Result<Vec<u8>, Error>;

/// Decode call arguments; libvirtd ignores trailing bytes after the arguments and
/// answers an undecodable payload with `VIR_ERR_RPC` "Unable to decode message payload".
pub fn args<T: Decode>(payload: &[u8]) -> Result<T, Error> {
    T::from_bytes_prefix(payload).map(|(v, _)| v).map_err(|_| undecodable())
}

/// libvirtd's error for arguments that do not decode.
pub fn undecodable() -> Error {
    Error::raw(ErrorCode::Rpc, ErrorDomain::Rpc, "Unable to decode message payload")
}

/// Encode a return struct.
pub fn ret<T: Encode>(v: &T) -> Reply {
    v.to_bytes().map_err(|e| Error::new(ErrorCode::Rpc, ErrorDomain::Rpc, format!("cannot encode reply: {e}")))
}

/// Old-style calls (`virConnectNumOfSecrets`, `virConnectListNWFilters`, ...) are
/// served through the list-all API; when the driver lacks the family, report the
/// old call's own name, as libvirt's API layer does for a missing driver slot.
pub fn legacy<T>(r: Result<T, Error>, api: &str) -> Result<T, Error> {
    r.map_err(|e| if e.code == ErrorCode::NoSupport { oxvirt::driver::no_support(api) } else { e })
}

/// The empty reply of a `void` procedure.
pub fn void() -> Reply {
    Ok(Vec::new())
}

/// Run `proc` on `conn`. `None`: no module serves it (the server answers like libvirtd
/// for an unsupported procedure).
pub fn dispatch_call(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    host::dispatch(proc, payload, conn)
        .or_else(|| domain::dispatch(proc, payload, conn))
        .or_else(|| domain_info::dispatch(proc, payload, conn))
        .or_else(|| snapshot::dispatch(proc, payload, conn))
        .or_else(|| network::dispatch(proc, payload, conn))
        .or_else(|| storage::dispatch(proc, payload, conn))
        .or_else(|| secret::dispatch(proc, payload, conn))
        .or_else(|| nwfilter::dispatch(proc, payload, conn))
        .or_else(|| iface::dispatch(proc, payload, conn))
        .or_else(|| nodedev::dispatch(proc, payload, conn))
        .or_else(|| domain_tune::dispatch(proc, payload, conn))
}
