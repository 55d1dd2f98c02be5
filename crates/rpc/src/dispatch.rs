//! What a server does with an incoming packet, before any driver is involved.
//!
//! These are libvirtd's reactions to unexpected input (protocol brief §1.7), as a pure
//! function from header to [`Incoming`]: answer with an RPC error, ignore silently, or
//! hand on to the procedure's handler.

use crate::message::{Header, MessageStatus, MessageType};
use crate::proto::keepalive::{KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM};
use crate::proto::remote::RemoteError;
use crate::proto::{ProcInfo, ProcKind, Program};
use crate::xdr::XdrError;
use oxvirt_util::{ErrorCode, ErrorDomain, VirError};

/// A call libvirtd answers with a REPLY/ERROR (`VIR_ERR_RPC`, `VIR_FROM_RPC`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No program with this number and version is served on the socket.
    // libvirt formats both numbers with %d.
    #[error("Cannot find program {} version {}", *prog as i32, *vers as i32)]
    UnknownProgram {
        /// Program number of the call.
        prog: u32,
        /// Version of the call.
        vers: u32,
    },
    /// The CALL's status is not OK.
    #[error("Unexpected message status {}", *.0 as u32)]
    UnexpectedStatus(i32),
    /// No such procedure, or an event-only number.
    #[error("unknown procedure: {0}")]
    UnknownProcedure(i32),
    /// The arguments do not decode (trailing bytes are not an error).
    #[error("Unable to decode message payload")]
    UndecodableArgs(#[source] XdrError),
}

impl CallError {
    /// The error as libvirt reports it.
    pub fn to_vir_error(&self) -> VirError {
        VirError::raw(ErrorCode::Rpc, ErrorDomain::Rpc, self.to_string())
    }

    /// The `remote_error` payload of the reply, byte-identical to libvirtd's.
    pub fn to_remote_error(&self) -> RemoteError {
        RemoteError::from_vir_error(&self.to_vir_error())
    }
}

/// The server's decision for one incoming packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A call to dispatch; decode its arguments with `procedure.args`.
    Call {
        /// The program called.
        program: &'static Program,
        /// The procedure called.
        procedure: &'static ProcInfo,
    },
    /// Answer with a REPLY (same prog/vers/proc/serial), status ERROR, and this error.
    ReplyError(CallError),
    /// A keepalive PING: answer with a PONG at once.
    Ping,
    /// A keepalive PONG: proof of life, nothing to send.
    Pong,
    /// A stream packet for the stream identified by (proc, serial); drop it silently
    /// if no such stream is open.
    Stream,
    /// Anything else a client may send that libvirtd ignores without answering (a
    /// REPLY, a non-keepalive MESSAGE, an unknown type).
    Ignore,
}

impl PartialEq for Program {
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number && self.version == other.version
    }
}

impl PartialEq for ProcInfo {
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number && self.name == other.name
    }
}

/// Classify a packet received by a server that serves `programs`.
pub fn classify(programs: &[&'static Program], header: &Header) -> Incoming {
    let t = header.msg_type;
    if header.prog == KEEPALIVE_PROGRAM && t == MessageType::MESSAGE {
        return match header.procedure {
            KEEPALIVE_PROC_PING => Incoming::Ping,
            KEEPALIVE_PROC_PONG => Incoming::Pong,
            _ => Incoming::Ignore,
        };
    }
    let is_call = t == MessageType::CALL || t == MessageType::CALL_WITH_FDS;
    if t == MessageType::STREAM || t == MessageType::STREAM_HOLE {
        return Incoming::Stream;
    }
    if !is_call {
        return Incoming::Ignore;
    }
    let Some(program) =
        programs.iter().copied().find(|p| p.number == header.prog && p.version == header.vers && p.number != KEEPALIVE_PROGRAM)
    else {
        return Incoming::ReplyError(CallError::UnknownProgram { prog: header.prog, vers: header.vers });
    };
    if header.status != MessageStatus::OK {
        return Incoming::ReplyError(CallError::UnexpectedStatus(header.status.0));
    }
    match program.procedure(header.procedure) {
        Some(procedure) if procedure.kind == ProcKind::Call => Incoming::Call { program, procedure },
        _ => Incoming::ReplyError(CallError::UnknownProcedure(header.procedure)),
    }
}
