//! Dispatch of the `host` procedures.

use super::Reply;
use oxvirt::Connect;
use oxvirt_rpc::proto::remote::RemoteProcedure;

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    let _ = (proc, payload, conn);
    None
}
