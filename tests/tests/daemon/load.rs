//! Load (issue 3, "Load"): 64 concurrent raw clients, each making a mix of reads and
//! lifecycle calls on its own private domain of the shared `test:///default` state,
//! must all complete with zero errors, and every reply must match the client's own
//! model of its domain (state after create/suspend/resume/destroy).
//!
//! The default run is 64 × 2,000 calls (fast enough for a debug build on 2 cores);
//! `OXVIRT_LOAD_FULL=1` (set by `scripts/test.sh`) runs the 64 × 10,000.
//!
//! [`Raw`] is the small synchronous client the other raw-socket modules share.

use super::harness::Daemon;
use oxvirt_rpc::message::{Header, REMOTE_PROGRAM};
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::{Decode, Encode, FrameDecoder, MessageStatus, MessageType, Packet};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A synchronous raw-protocol client: one call at a time, events skipped.
pub struct Raw {
    /// The socket.
    pub s: UnixStream,
    dec: FrameDecoder,
    serial: u32,
    buf: Vec<u8>,
}

impl Raw {
    /// Connect to `path` (10 s read timeout).
    pub fn connect(path: &Path) -> std::io::Result<Raw> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Raw { s, dec: FrameDecoder::new(), serial: 0, buf: vec![0u8; 64 * 1024] })
    }

    /// Write a packet.
    pub fn send(&mut self, p: &Packet) -> std::io::Result<()> {
        let bytes = p.to_bytes().map_err(std::io::Error::other)?;
        self.s.write_all(&bytes)
    }

    /// The next packet; `None` when the daemon closed the connection.
    pub fn recv(&mut self) -> std::io::Result<Option<Packet>> {
        loop {
            if let Some(p) = self.dec.next_packet().map_err(std::io::Error::other)? {
                return Ok(Some(p));
            }
            let n = self.s.read(&mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.dec.push(&self.buf[..n]);
        }
    }

    /// The reply to `serial` of program `prog` (events and keepalives are skipped).
    pub fn reply_to(&mut self, prog: u32, serial: u32) -> std::io::Result<Packet> {
        loop {
            match self.recv()? {
                None => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "daemon closed the connection")),
                Some(p) if p.header.msg_type == MessageType::REPLY && p.header.prog == prog && p.header.serial == serial => return Ok(p),
                Some(_) => {}
            }
        }
    }

    /// Call a REMOTE procedure with raw argument bytes; the reply packet.
    pub fn call_raw(&mut self, procedure: RemoteProcedure, payload: Vec<u8>) -> std::io::Result<Packet> {
        self.serial += 1;
        let serial = self.serial;
        self.send(&Packet { header: Header::call(REMOTE_PROGRAM, procedure as i32, serial), nfds: 0, payload })?;
        self.reply_to(REMOTE_PROGRAM, serial)
    }

    /// Call a REMOTE procedure; `Ok(payload)` or the decoded `remote_error`.
    pub fn call<A: Encode>(&mut self, procedure: RemoteProcedure, args: &A) -> Result<Vec<u8>, String> {
        let payload = args.to_bytes().map_err(|e| e.to_string())?;
        let p = self.call_raw(procedure, payload).map_err(|e| format!("{procedure:?}: {e}"))?;
        if p.header.status == MessageStatus::OK {
            Ok(p.payload)
        } else {
            Err(format!("{procedure:?}: {:?}", RemoteError::from_bytes(&p.payload)))
        }
    }

    /// Call and decode the return value.
    pub fn call_ret<A: Encode, R: Decode>(&mut self, procedure: RemoteProcedure, args: &A) -> Result<R, String> {
        let bytes = self.call(procedure, args)?;
        R::from_bytes(&bytes).map_err(|e| format!("{procedure:?}: reply does not decode: {e}"))
    }

    /// `CONNECT_OPEN` of `uri`.
    pub fn open(&mut self, uri: &str) -> Result<(), String> {
        self.call(RemoteProcedure::ConnectOpen, &RemoteConnectOpenArgs { name: Some(uri.into()), flags: 0 }).map(|_| ())
    }
}

/// Void arguments.
pub struct Void;

impl Encode for Void {
    fn encode(&self, _: &mut oxvirt_rpc::xdr::Writer) -> Result<(), oxvirt_rpc::xdr::XdrError> {
        Ok(())
    }
}

/// The XML of a minimal test-driver domain.
pub fn domain_xml(name: &str) -> String {
    format!("<domain type='test'><name>{name}</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>")
}

const RUNNING: i32 = 1;
const PAUSED: i32 = 3;
const SHUTOFF: i32 = 5;

/// One client's run: define its domain, `calls` mixed calls, undefine. Returns the
/// number of calls made.
fn client(sock: &Path, idx: usize, calls: usize) -> Result<usize, String> {
    use RemoteProcedure as P;
    let mut c = Raw::connect(sock).map_err(|e| format!("connect: {e}"))?;
    c.open("test:///default")?;
    let name = format!("load-{idx}");
    let def: RemoteDomainDefineXmlRet = c.call_ret(P::DomainDefineXml, &RemoteDomainDefineXmlArgs { xml: domain_xml(&name) })?;
    let mut dom = def.dom;
    let mut state = SHUTOFF;
    let mut made = 1;
    while made < calls {
        let step = made % 10;
        match step {
            // Lifecycle: shutoff → running → paused → running → shutoff → ...
            0 | 5 => {
                let (procedure, next) = match state {
                    SHUTOFF => (P::DomainCreate, RUNNING),
                    RUNNING if step == 0 => (P::DomainSuspend, PAUSED),
                    RUNNING => (P::DomainDestroy, SHUTOFF),
                    _ => (P::DomainResume, RUNNING),
                };
                c.call(procedure, &RemoteDomainCreateArgs { dom: dom.clone() })?;
                state = next;
                if state == SHUTOFF {
                    dom.id = -1;
                }
            }
            1 => {
                c.call(P::ConnectGetLibVersion, &Void)?;
            }
            2 => {
                let r: RemoteDomainLookupByNameRet =
                    c.call_ret(P::DomainLookupByName, &RemoteDomainLookupByNameArgs { name: name.clone() })?;
                if r.dom.uuid != dom.uuid || r.dom.name != name {
                    return Err(format!("lookup of {name} returned {:?}", r.dom));
                }
                dom = r.dom;
            }
            3 => {
                let r: RemoteDomainGetStateRet = c.call_ret(P::DomainGetState, &RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 })?;
                if r.state != state {
                    return Err(format!("{name}: state {} where {state} was expected", r.state));
                }
            }
            4 => {
                let r: RemoteDomainGetInfoRet = c.call_ret(P::DomainGetInfo, &RemoteDomainGetInfoArgs { dom: dom.clone() })?;
                if i32::from(r.state) != state {
                    return Err(format!("{name}: info state {} where {state} was expected", r.state));
                }
            }
            6 => {
                let r: RemoteDomainGetXmlDescRet =
                    c.call_ret(P::DomainGetXmlDesc, &RemoteDomainGetXmlDescArgs { dom: dom.clone(), flags: 0 })?;
                if !r.xml.contains(&format!("<name>{name}</name>")) {
                    return Err(format!("{name}: XML of another domain"));
                }
            }
            7 => {
                let r: RemoteDomainIsActiveRet = c.call_ret(P::DomainIsActive, &RemoteDomainIsActiveArgs { dom: dom.clone() })?;
                if (r.active == 1) != (state != SHUTOFF) {
                    return Err(format!("{name}: active={} in state {state}", r.active));
                }
            }
            8 => {
                let r: RemoteConnectListAllDomainsRet =
                    c.call_ret(P::ConnectListAllDomains, &RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 })?;
                if !r.domains.iter().any(|d| d.name == name) {
                    return Err(format!("{name} missing from listAllDomains"));
                }
            }
            _ => {
                c.call(P::ConnectGetVersion, &Void)?;
            }
        }
        made += 1;
    }
    if state != SHUTOFF {
        c.call(P::DomainDestroy, &RemoteDomainDestroyArgs { dom: dom.clone() })?;
        made += 1;
    }
    c.call(P::DomainUndefine, &RemoteDomainUndefineArgs { dom })?;
    c.call(P::ConnectClose, &Void)?;
    Ok(made + 2)
}

#[test]
fn sixty_four_clients_mixed_calls_zero_errors() {
    let full = std::env::var("OXVIRT_LOAD_FULL").is_ok_and(|v| v == "1");
    let (clients, calls) = (64, if full { 10_000 } else { 2_000 });
    let d = Daemon::start("load");
    // A holder keeps test:///default alive so all clients share one state.
    let mut holder = Raw::connect(&d.sock()).expect("connect holder");
    holder.open("test:///default").expect("holder opens");
    let sock = d.sock();
    let t0 = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            let sock = sock.clone();
            std::thread::spawn(move || client(&sock, i, calls))
        })
        .collect();
    let mut total = 0;
    let mut errors = Vec::new();
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => errors.push(format!("client {i}: {e}")),
            Err(_) => errors.push(format!("client {i} panicked")),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("load: {clients} clients, {total} calls in {secs:.1} s ({:.0} calls/s)", total as f64 / secs);
    assert!(errors.is_empty(), "{} clients failed: {:#?}", errors.len(), errors);
    assert!(total >= clients * calls);
    // Every private domain is gone again; the shared state is what it was.
    let r: RemoteConnectListAllDomainsRet = holder
        .call_ret(RemoteProcedure::ConnectListAllDomains, &RemoteConnectListAllDomainsArgs { need_results: 1, flags: 0 })
        .expect("list");
    let names: Vec<_> = r.domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["test"]);
}
