//! The KEEPALIVE program (`virkeepaliveprotocol.x`): PING and PONG, empty MESSAGE
//! packets with serial 0 that either side may send. The receiver of a PING answers
//! with a PONG at once.

use super::{FdPassing, Priority, ProcInfo, ProcKind, Program};

/// `KEEPALIVE_PROGRAM` ("keep").
pub const KEEPALIVE_PROGRAM: u32 = 0x6b65_6570;
/// `KEEPALIVE_PROTOCOL_VERSION`.
pub const KEEPALIVE_PROTOCOL_VERSION: u32 = 1;
/// `KEEPALIVE_PROC_PING`.
pub const KEEPALIVE_PROC_PING: i32 = 1;
/// `KEEPALIVE_PROC_PONG`.
pub const KEEPALIVE_PROC_PONG: i32 = 2;

const fn message(number: i32, name: &'static str) -> ProcInfo {
    ProcInfo {
        number,
        name,
        kind: ProcKind::Event,
        args: None,
        ret: None,
        msg: None,
        priority: Priority::High,
        acl: "",
        aclfilter: "",
        stream: None,
        sparse_flag: None,
        fds: FdPassing::None,
    }
}

/// The KEEPALIVE procedures (both are void MESSAGE packets).
pub static PROCEDURES: [ProcInfo; 2] = [message(1, "KEEPALIVE_PROC_PING"), message(2, "KEEPALIVE_PROC_PONG")];

/// The KEEPALIVE program.
pub static PROGRAM: super::Program =
    Program { name: "KEEPALIVE_PROGRAM", number: KEEPALIVE_PROGRAM, version: KEEPALIVE_PROTOCOL_VERSION, procedures: &PROCEDURES };
