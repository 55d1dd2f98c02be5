//! The message header of every packet (`virNetMessageHeader`), its type and status
//! words, and the `remote_error` payload of failed replies.

use crate::proto::remote::RemoteError;
use crate::xdr::{Decode, Encode, Reader, Writer, XdrError};
use oxvirt_util::{ErrorCode, ErrorDomain, ErrorLevel, VirError};
use std::fmt;

/// `REMOTE_PROGRAM`.
pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
/// `QEMU_PROGRAM`.
pub const QEMU_PROGRAM: u32 = 0x2000_8087;
/// `LXC_PROGRAM`.
pub const LXC_PROGRAM: u32 = 0x0006_8000;
/// `ADMIN_PROGRAM`.
pub const ADMIN_PROGRAM: u32 = 0x0690_0690;
/// `KEEPALIVE_PROGRAM`.
pub const KEEPALIVE_PROGRAM: u32 = crate::proto::keepalive::KEEPALIVE_PROGRAM;
/// The version of every program above.
pub const PROTOCOL_VERSION: u32 = 1;
/// Serial libvirtd puts in event MESSAGE packets.
pub const EVENT_SERIAL: u32 = 1;

macro_rules! wire_word {
    ($(#[$m:meta])* $name:ident = $xdr:literal { $($(#[$vm:meta])* $c:ident = $v:literal $cname:literal,)* }) => {
        $(#[$m])*
        ///
        /// Kept as the raw word because libvirt decodes any value here and reacts to
        /// unknown ones at dispatch time (see [`crate::dispatch`]).
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub i32);

        impl $name {
            $( $(#[$vm])* pub const $c: Self = Self($v); )*
            /// The XDR enum name.
            pub const XDR_NAME: &'static str = $xdr;
            /// `(C name, value)` of every defined member.
            pub const MEMBERS: &'static [(&'static str, i32)] = &[$(($cname, $v)),*];

            /// The C name of a defined value.
            pub fn name(self) -> Option<&'static str> {
                Self::MEMBERS.iter().find(|(_, v)| *v == self.0).map(|(n, _)| *n)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", $xdr, self.0),
                }
            }
        }
    };
}

wire_word! {
    /// `virNetMessageType`: what a packet is.
    MessageType = "virNetMessageType" {
        /// Client → server call; payload is the args struct.
        CALL = 0 "VIR_NET_CALL",
        /// Server → client reply; payload is the ret struct or a `remote_error`.
        REPLY = 1 "VIR_NET_REPLY",
        /// Event or keepalive, either direction.
        MESSAGE = 2 "VIR_NET_MESSAGE",
        /// Stream data or control.
        STREAM = 3 "VIR_NET_STREAM",
        /// Call followed by file descriptors; payload starts with the fd count.
        CALL_WITH_FDS = 4 "VIR_NET_CALL_WITH_FDS",
        /// Reply followed by file descriptors; payload starts with the fd count.
        REPLY_WITH_FDS = 5 "VIR_NET_REPLY_WITH_FDS",
        /// A hole in a sparse stream (`virNetStreamHole`).
        STREAM_HOLE = 6 "VIR_NET_STREAM_HOLE",
    }
}

wire_word! {
    /// `virNetMessageStatus`.
    MessageStatus = "virNetMessageStatus" {
        /// Success; always for CALL and MESSAGE.
        OK = 0 "VIR_NET_OK",
        /// Failure; a REPLY carries `remote_error`.
        ERROR = 1 "VIR_NET_ERROR",
        /// Stream data follows.
        CONTINUE = 2 "VIR_NET_CONTINUE",
    }
}

impl MessageType {
    /// Whether the payload starts with a file-descriptor count.
    pub fn has_fds(self) -> bool {
        self == Self::CALL_WITH_FDS || self == Self::REPLY_WITH_FDS
    }
}

/// `virNetMessageHeader`: the six words after the length word of every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number within the program.
    pub procedure: i32,
    /// Message type.
    pub msg_type: MessageType,
    /// Request id chosen by the client, echoed in replies and stream packets.
    pub serial: u32,
    /// Status.
    pub status: MessageStatus,
}

impl Header {
    /// Encoded size of a header.
    pub const LEN: usize = 24;

    /// `(name:type)` of the fields in wire order, in reference-table notation.
    pub const FIELDS: [&'static str; 6] = [
        "prog:unsigned int",
        "vers:unsigned int",
        "proc:int",
        "type:virNetMessageType",
        "serial:unsigned int",
        "status:virNetMessageStatus",
    ];

    /// A CALL header.
    pub fn call(prog: u32, procedure: i32, serial: u32) -> Self {
        Header { prog, vers: PROTOCOL_VERSION, procedure, msg_type: MessageType::CALL, serial, status: MessageStatus::OK }
    }

    /// The header of the reply to this call: same prog/vers/proc/serial.
    pub fn reply(&self, status: MessageStatus) -> Self {
        Header { msg_type: MessageType::REPLY, status, ..*self }
    }

    /// An event MESSAGE header (serial 1, like libvirtd).
    pub fn event(prog: u32, procedure: i32) -> Self {
        Header { prog, vers: PROTOCOL_VERSION, procedure, msg_type: MessageType::MESSAGE, serial: EVENT_SERIAL, status: MessageStatus::OK }
    }

    /// A keepalive PING or PONG (serial 0).
    pub fn keepalive(procedure: i32) -> Self {
        Header { serial: 0, ..Header::event(KEEPALIVE_PROGRAM, procedure) }
    }
}

impl Encode for Header {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        self.procedure.encode(w)?;
        self.msg_type.0.encode(w)?;
        w.put_u32(self.serial);
        self.status.0.encode(w)
    }
}

impl Decode for Header {
    const MIN_WIRE_SIZE: usize = Header::LEN;
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(Header {
            prog: r.read_u32()?,
            vers: r.read_u32()?,
            procedure: i32::decode(r)?,
            msg_type: MessageType(i32::decode(r)?),
            serial: r.read_u32()?,
            status: MessageStatus(i32::decode(r)?),
        })
    }
}

impl RemoteError {
    /// The `remote_error` libvirtd sends for `e`: message present, `str1` the `%s`
    /// template, `str2` the text, `int1 = int2 = -1`, no domain/network.
    pub fn from_vir_error(e: &VirError) -> Self {
        RemoteError {
            code: e.code as i32,
            domain: e.domain as i32,
            message: Some(e.message.clone()),
            level: e.level as i32,
            dom: None,
            str1: Some("%s".to_string()),
            str2: Some(e.message.clone()),
            str3: None,
            int1: -1,
            int2: -1,
            net: None,
        }
    }

    /// The error a client reports for this payload. An unknown code becomes
    /// `VIR_ERR_INTERNAL_ERROR`, an unknown domain `VIR_FROM_NONE`, a missing message
    /// "unknown error".
    pub fn to_vir_error(&self) -> VirError {
        VirError {
            code: ErrorCode::from_i32(self.code).unwrap_or(ErrorCode::InternalError),
            domain: ErrorDomain::from_i32(self.domain).unwrap_or(ErrorDomain::None),
            level: ErrorLevel::from_i32(self.level).unwrap_or(ErrorLevel::Error),
            message: self.message.clone().unwrap_or_else(|| "unknown error".to_string()),
        }
    }
}
