//! The malformed-input table of the protocol brief (§1.7) against oxvirtd over raw
//! sockets: every bad client gets libvirtd's answer (or is dropped), and the daemon
//! and its other clients carry on.

use super::harness::Daemon;
use oxvirt_rpc::message::{Header, REMOTE_PROGRAM};
use oxvirt_rpc::proto::remote::{
    RemoteConnectOpenArgs, RemoteDomainLookupByNameArgs, RemoteDomainLookupByNameRet, RemoteError, RemoteNonnullDomain,
};
use oxvirt_rpc::{Decode, Encode, FrameDecoder, MessageStatus, MessageType, Packet};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

pub(super) struct Raw {
    s: UnixStream,
    dec: FrameDecoder,
    serial: u32,
}

impl Raw {
    pub(super) fn connect(path: &Path) -> Raw {
        let s = UnixStream::connect(path).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Raw { s, dec: FrameDecoder::new(), serial: 0 }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.s.write_all(bytes);
    }

    fn send(&mut self, header: Header, payload: Vec<u8>) {
        let bytes = Packet { header, nfds: 0, payload }.to_bytes().expect("encode");
        self.send_raw(&bytes);
    }

    /// The next packet; `None` when the daemon closed the connection.
    fn recv(&mut self) -> Option<Packet> {
        let mut buf = [0u8; 65536];
        loop {
            if let Ok(Some(p)) = self.dec.next_packet() {
                return Some(p);
            }
            match self.s.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.dec.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                    panic!("no answer from the daemon within 10 s")
                }
                Err(_) => return None,
            }
        }
    }

    /// Call a REMOTE procedure and return the reply.
    pub(super) fn call<T: Encode>(&mut self, procedure: i32, args: &T) -> Packet {
        self.serial += 1;
        let serial = self.serial;
        self.send(Header::call(REMOTE_PROGRAM, procedure, serial), args.to_bytes().expect("encode args"));
        loop {
            let p = self.recv().expect("reply before close");
            if p.header.msg_type == MessageType::REPLY && p.header.serial == serial {
                assert_eq!(p.header.procedure, procedure);
                return p;
            }
        }
    }

    fn open(&mut self) {
        let r = self.call(1, &RemoteConnectOpenArgs { name: Some("test:///default".into()), flags: 0 });
        assert_eq!(r.header.status, MessageStatus::OK, "open failed: {:?}", RemoteError::from_bytes(&r.payload));
    }
}

pub(super) fn error_of(p: &Packet) -> RemoteError {
    assert_eq!(p.header.status, MessageStatus::ERROR);
    RemoteError::from_bytes(&p.payload).expect("remote_error decodes")
}

/// A healthy client: open and ask the hypervisor type.
fn healthy(path: &Path) {
    let mut c = Raw::connect(path);
    c.open();
    let r = c.call(3, &[0u8; 0]);
    assert_eq!(r.header.status, MessageStatus::OK);
}

#[test]
fn answers_like_libvirtd_and_survives_bad_clients() {
    let mut d = Daemon::start("malformed");
    let sock = d.sock();
    // A client that stays connected through everything below.
    let mut steady = Raw::connect(&sock);
    steady.open();

    // Unknown program, version and procedure: libvirtd's exact replies.
    let mut c = Raw::connect(&sock);
    c.send(Header::call(0x1234_5678, 1, 7), Vec::new());
    let e = error_of(&c.recv().expect("reply"));
    assert_eq!((e.code, e.domain, e.message.as_deref()), (39, 7, Some("Cannot find program 305419896 version 1")));
    c.send(Header { vers: 2, ..Header::call(REMOTE_PROGRAM, 1, 8) }, Vec::new());
    let e = error_of(&c.recv().expect("reply"));
    assert_eq!(e.message.as_deref(), Some("Cannot find program 536903814 version 2"));
    // The brief's byte-exact reply for procedure 9999, serial 3.
    c.send(Header::call(REMOTE_PROGRAM, 9999, 3), Vec::new());
    let reply = c.recv().expect("reply").to_bytes().expect("bytes");
    let mut want = hex("00000088 20008086 00000001 0000270f 00000001 00000003 00000001 00000027 00000007 00000001 00000017");
    want.extend_from_slice(b"unknown procedure: 9999\0");
    want.extend(hex("00000002 00000000 00000001 00000002"));
    want.extend_from_slice(b"%s\0\0");
    want.extend(hex("00000001 00000017"));
    want.extend_from_slice(b"unknown procedure: 9999\0");
    want.extend(hex("00000000 ffffffff ffffffff 00000000"));
    assert_eq!(reply, want);

    // A call before CONNECT_OPEN.
    let r = c.call(3, &[0u8; 0]);
    let e = error_of(&r);
    assert_eq!((e.code, e.domain), (1, 7));
    assert_eq!(e.message.as_deref(), Some("internal error: hypervisor connection not open"));
    assert_eq!(e.str1.as_deref(), Some("internal error: %s"));
    // Undecodable arguments.
    let r = c.call(23, &100u32);
    assert_eq!(error_of(&r).message.as_deref(), Some("Unable to decode message payload"));
    // A CALL with a non-OK status.
    c.send(Header { status: MessageStatus::ERROR, ..Header::call(REMOTE_PROGRAM, 3, 50) }, Vec::new());
    assert_eq!(error_of(&c.recv().expect("reply")).message.as_deref(), Some("Unexpected message status 1"));
    // Keepalive PING is answered with PONG.
    c.send(Header::keepalive(1), Vec::new());
    let pong = c.recv().expect("pong");
    assert_eq!((pong.header.prog, pong.header.procedure, pong.header.msg_type), (0x6b65_6570, 2, MessageType::MESSAGE));

    // Length word below 4, above 32 MiB, too short for a header: dropped.
    for bad in [hex("00000002"), hex("7fffffff"), hex("00000010 00000000 00000000 00000000")] {
        let mut c = Raw::connect(&sock);
        c.send_raw(&bad);
        assert!(c.recv().is_none(), "the daemon answered a bad length word");
    }
    // Garbage after a valid packet: the packet is answered, then the client is dropped.
    let mut c = Raw::connect(&sock);
    let mut bytes = Packet { header: Header::call(REMOTE_PROGRAM, 66, 0), nfds: 0, payload: Vec::new() }.to_bytes().expect("encode");
    bytes.extend(hex("ffffffff deadbeef"));
    c.send_raw(&bytes);
    let r = c.recv().expect("AUTH_LIST reply");
    assert_eq!(r.header.status, MessageStatus::OK);
    assert!(c.recv().is_none());
    // A client vanishing in the middle of a packet.
    let mut c = Raw::connect(&sock);
    c.send_raw(&hex("00000100 20008086"));
    drop(c);
    // Many connections opened and dropped.
    for _ in 0..200 {
        let _ = UnixStream::connect(&sock).expect("connect");
    }

    // Writes on the read-only socket are refused by the server itself.
    let mut ro = Raw::connect(&d.sock_ro());
    ro.open();
    let r = ro.call(23, &RemoteDomainLookupByNameArgs { name: "test".into() });
    let dom: RemoteNonnullDomain = RemoteDomainLookupByNameRet::from_bytes(&r.payload).expect("dom").dom;
    let e = error_of(&ro.call(34, &dom));
    assert_eq!(e.code, 29, "{e:?}");
    assert!(e.message.as_deref().unwrap_or("").starts_with("operation forbidden: read only access prevents"), "{e:?}");

    // Everyone else still works.
    assert!(d.alive());
    let r = steady.call(3, &[0u8; 0]);
    assert_eq!(r.header.status, MessageStatus::OK);
    healthy(&sock);
}

#[test]
fn sigterm_stops_gracefully() {
    let mut d = Daemon::start("sigterm");
    healthy(&d.sock());
    let st = d.terminate().expect("exits after SIGTERM");
    assert!(st.success(), "{st:?}");
    assert!(!d.sock().exists(), "socket removed");
    assert!(!d.dir.0.join("oxvirtd.pid").exists(), "pid file removed");
    let _ = d.pid();
}

#[test]
fn max_client_requests_one_still_serves_pipelined_calls() {
    let d = Daemon::start_with("limits", "max_client_requests = 1\nmax_clients = 2\nkeepalive_interval = 1\nkeepalive_count = 1\n");
    let mut c = Raw::connect(&d.sock());
    c.open();
    // Pipeline 20 calls; all are answered, with their serials.
    for serial in 100..120 {
        c.send(Header::call(REMOTE_PROGRAM, 3, serial), Vec::new());
    }
    let mut serials: Vec<u32> = (0..20).map(|_| c.recv().expect("reply").header.serial).collect();
    serials.sort_unstable();
    assert_eq!(serials, (100..120).collect::<Vec<_>>());
    // Two clients are served, a third waits until one leaves.
    let second = Raw::connect(&d.sock());
    drop(second);
    healthy(&d.sock());
}

#[test]
fn server_pings_keepalive_clients_and_drops_dead_ones() {
    let d = Daemon::start_with("keepalive", "keepalive_interval = 1\nkeepalive_count = 1\n");
    let mut c = Raw::connect(&d.sock());
    // Ask for keepalive (feature 10) without answering pings afterwards.
    let r = c.call(60, &10i32);
    assert_eq!(i32::from_bytes(&r.payload).expect("ret"), 1);
    let ping = c.recv().expect("a PING");
    assert_eq!((ping.header.prog, ping.header.procedure), (0x6b65_6570, 1));
    // No PONG: dropped after interval × (count + 1).
    let start = std::time::Instant::now();
    while c.recv().is_some() {}
    assert!(start.elapsed() < Duration::from_secs(8));
    // A client that never asked for keepalive is never pinged.
    let mut quiet = Raw::connect(&d.sock());
    quiet.open();
    quiet.s.set_read_timeout(Some(Duration::from_millis(2500))).expect("timeout");
    let mut buf = [0u8; 64];
    match quiet.s.read(&mut buf) {
        Err(e) => assert!(matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        Ok(n) => panic!("unexpected {n} bytes to a client without keepalive"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}
