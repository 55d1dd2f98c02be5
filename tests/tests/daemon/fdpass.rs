//! fd passing (`CALL_WITH_FDS` / `REPLY_WITH_FDS`) and connection close callbacks.
//!
//! Raw sockets: descriptors sent with `*_WITH_FILES` calls reach the daemon and are
//! closed by it (libvirtd's answer for drivers without the call), and the malformed
//! rows — fewer descriptors than announced, a byte without a descriptor, more than
//! 32, descriptors on TCP — drop the client, leave the daemon serving and leak no
//! descriptor. libvirt-python: `registerCloseCallback` against oxvirtd.
// covers: QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES, DOMAIN_CREATE_WITH_FILES, DOMAIN_CREATE_XML_WITH_FILES, CONNECT_REGISTER_CLOSE_CALLBACK, CONNECT_UNREGISTER_CLOSE_CALLBACK

use super::harness::{client_cmd, Daemon, TempDir};
use super::load::{domain_xml, Raw};
use oxvirt_rpc::message::{Header, REMOTE_PROGRAM};
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::{Decode, Encode, MessageStatus, MessageType, Packet};
use oxvirt_util::fdpass::send_fd;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Wait (at most 10 s) until the daemon's descriptor count is back to `base`.
fn settles_to(pid: u32, base: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if fd_count(pid) == base {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    fd_count(pid) == base
}

/// A `CALL_WITH_FDS` packet announcing `nfds`.
fn call_with_fds(procedure: RemoteProcedure, serial: u32, nfds: u32, payload: Vec<u8>) -> Vec<u8> {
    let mut header = Header::call(REMOTE_PROGRAM, procedure as i32, serial);
    header.msg_type = MessageType::CALL_WITH_FDS;
    Packet { header, nfds, payload }.to_bytes().expect("encode")
}

/// Whether the daemon closed the connection (EOF within 10 s, skipping packets).
fn dropped(s: &mut UnixStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

fn error_of(p: &Packet) -> RemoteError {
    assert_eq!(p.header.status, MessageStatus::ERROR);
    RemoteError::from_bytes(&p.payload).expect("remote_error")
}

#[test]
fn with_files_calls_close_the_fds_and_answer_like_libvirtd() {
    let d = Daemon::start("fd-files");
    let mut c = Raw::connect(&d.sock()).expect("connect");
    c.open("test:///default").expect("open");
    // libvirtd says 1 for VIR_DRV_FEATURE_FD_PASSING.
    let r: RemoteConnectSupportsFeatureRet =
        c.call_ret(RemoteProcedure::ConnectSupportsFeature, &RemoteConnectSupportsFeatureArgs { feature: 8 }).expect("feature");
    assert_eq!(r.supported, 1);
    let base = fd_count(d.pid());

    // DOMAIN_CREATE_XML_WITH_FILES with two descriptors: libvirt's test driver
    // creates the domain and ignores the files, which the daemon closes.
    let (a1, mut b1) = UnixStream::pair().expect("pair");
    let (a2, mut b2) = UnixStream::pair().expect("pair");
    let args = RemoteDomainCreateXmlWithFilesArgs { xml_desc: domain_xml("fdfiles"), flags: 0 };
    c.s.write_all(&call_with_fds(RemoteProcedure::DomainCreateXmlWithFiles, 100, 2, args.to_bytes().expect("args"))).expect("send");
    send_fd(&c.s, a1.as_fd()).expect("send fd");
    send_fd(&c.s, a2.as_fd()).expect("send fd");
    drop((a1, a2));
    let p = c.reply_to(REMOTE_PROGRAM, 100).expect("reply");
    assert_eq!(p.header.msg_type, MessageType::REPLY);
    let r = RemoteDomainCreateXmlWithFilesRet::from_bytes(&p.payload).expect("ret");
    assert_eq!(r.dom.name, "fdfiles");
    assert!(r.dom.id > 0);
    assert!(dropped(&mut b1) && dropped(&mut b2), "the daemon kept a passed descriptor open");

    // DOMAIN_CREATE_WITH_FILES on the running default domain: the driver's error
    // (libvirtd 9.0: "internal error: Domain 'test' is already running"), and the
    // descriptor is closed.
    let (a, mut b) = UnixStream::pair().expect("pair");
    let lookup: RemoteDomainLookupByNameRet =
        c.call_ret(RemoteProcedure::DomainLookupByName, &RemoteDomainLookupByNameArgs { name: "test".into() }).expect("lookup");
    let args = RemoteDomainCreateWithFilesArgs { dom: lookup.dom, flags: 0 };
    c.s.write_all(&call_with_fds(RemoteProcedure::DomainCreateWithFiles, 101, 1, args.to_bytes().expect("args"))).expect("send");
    send_fd(&c.s, a.as_fd()).expect("send fd");
    drop(a);
    let e = error_of(&c.reply_to(REMOTE_PROGRAM, 101).expect("reply"));
    assert_eq!((e.code, e.domain), (1, 12), "{e:?}"); // VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST
    assert_eq!(e.message.as_deref(), Some("internal error: Domain 'test' is already running"));
    assert!(dropped(&mut b));

    // DOMAIN_OPEN_GRAPHICS_FD / DOMAIN_FD_ASSOCIATE: not in the test driver.
    let e = error_of(
        &c.call_raw(
            RemoteProcedure::DomainOpenGraphicsFd,
            RemoteDomainOpenGraphicsFdArgs { dom: args.dom.clone(), idx: 0, flags: 0 }.to_bytes().expect("args"),
        )
        .expect("reply"),
    );
    assert_eq!((e.code, e.domain), (3, 20), "{e:?}"); // VIR_ERR_NO_SUPPORT, VIR_FROM_DOMAIN
    assert_eq!(e.message.as_deref(), Some("this function is not supported by the connection driver: virDomainOpenGraphicsFD"));
    let (a, mut b) = UnixStream::pair().expect("pair");
    let assoc = RemoteDomainFdAssociateArgs { dom: args.dom.clone(), name: "grp".into(), flags: 0 };
    c.s.write_all(&call_with_fds(RemoteProcedure::DomainFdAssociate, 103, 1, assoc.to_bytes().expect("args"))).expect("send");
    send_fd(&c.s, a.as_fd()).expect("send fd");
    drop(a);
    let e = error_of(&c.reply_to(REMOTE_PROGRAM, 103).expect("reply"));
    assert_eq!(e.message.as_deref(), Some("this function is not supported by the connection driver: virDomainFDAssociate"));
    assert!(dropped(&mut b));
    // DOMAIN_OPEN_GRAPHICS without its descriptor: libvirtd's "No FD available at slot 0".
    let og = RemoteDomainOpenGraphicsArgs { dom: args.dom.clone(), idx: 0, flags: 0 };
    let e = error_of(&c.call_raw(RemoteProcedure::DomainOpenGraphics, og.to_bytes().expect("args")).expect("reply"));
    assert_eq!(e.message.as_deref(), Some("internal error: No FD available at slot 0"), "{e:?}");

    // A descriptor on a call that takes none is closed too.
    let (a, mut b) = UnixStream::pair().expect("pair");
    c.s.write_all(&call_with_fds(RemoteProcedure::ConnectGetType, 102, 1, Vec::new())).expect("send");
    send_fd(&c.s, a.as_fd()).expect("send fd");
    drop(a);
    let p = c.reply_to(REMOTE_PROGRAM, 102).expect("reply");
    assert_eq!(p.header.status, MessageStatus::OK);
    assert!(dropped(&mut b));
    assert!(settles_to(d.pid(), base), "descriptor leak: {} before, {} after", base, fd_count(d.pid()));
}

#[test]
fn malformed_fd_messages_drop_the_client_without_leaks() {
    let mut d = Daemon::start("fd-malformed");
    let sock = d.sock();
    let mut steady = Raw::connect(&sock).expect("connect");
    steady.open("test:///default").expect("open");
    let base = fd_count(d.pid());
    let get_type = |serial, nfds| call_with_fds(RemoteProcedure::ConnectGetType, serial, nfds, Vec::new());

    // Two announced, one sent, then a byte without a descriptor (libvirt: EACCES).
    let mut s = UnixStream::connect(&sock).expect("connect");
    let (a, _b) = UnixStream::pair().expect("pair");
    s.write_all(&get_type(1, 2)).expect("send");
    send_fd(&s, a.as_fd()).expect("send fd");
    s.write_all(&[0]).expect("send");
    assert!(dropped(&mut s), "a byte without its descriptor did not drop the client");

    // Two announced, one sent, then the client goes away.
    let mut s = UnixStream::connect(&sock).expect("connect");
    s.write_all(&get_type(1, 2)).expect("send");
    send_fd(&s, a.as_fd()).expect("send fd");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    assert!(dropped(&mut s));

    // More than VIR_NET_MESSAGE_NUM_FDS_MAX (32).
    let mut s = UnixStream::connect(&sock).expect("connect");
    let mut bytes = get_type(1, 32);
    bytes[28..32].copy_from_slice(&33u32.to_be_bytes());
    s.write_all(&bytes).expect("send");
    assert!(dropped(&mut s));

    // Several descriptors on one carrier byte: the first counts, the rest are closed.
    let mut c = Raw::connect(&sock).expect("connect");
    c.open("test:///default").expect("open");
    let (x, mut y) = UnixStream::pair().expect("pair");
    c.s.write_all(&get_type(50, 1)).expect("send");
    oxvirt_util::fdpass::send_with_fds(&c.s, &[0], &[a.as_fd(), x.as_fd()]).expect("send fds");
    drop(x);
    assert_eq!(c.reply_to(REMOTE_PROGRAM, 50).expect("reply").header.status, MessageStatus::OK);
    assert!(dropped(&mut y));
    drop(c);

    assert!(d.alive());
    let r: RemoteConnectGetTypeRet = steady.call_ret(RemoteProcedure::ConnectGetType, &super::load::Void).expect("steady client");
    assert_eq!(r.r#type, "TEST");
    assert!(settles_to(d.pid(), base), "descriptor leak: {} before, {} after", base, fd_count(d.pid()));
}

#[test]
fn fds_on_tcp_drop_the_client() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
    let conf = format!("listen_addr = \"127.0.0.1\"\nlisten_tcp = 1\nlisten_tls = 0\nauth_tcp = \"none\"\ntcp_port = \"{port}\"\n");
    let mut d = Daemon::start_args("fd-tcp", &conf, &["--listen"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) => assert!(Instant::now() < deadline, "TCP listener: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // With no descriptors announced the call is served, as by libvirtd.
    s.write_all(&call_with_fds(RemoteProcedure::AuthList, 1, 0, Vec::new())).expect("send");
    let mut dec = oxvirt_rpc::FrameDecoder::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let reply = loop {
        if let Ok(Some(p)) = dec.next_packet() {
            break p;
        }
        let n = s.read(&mut buf).expect("reply");
        assert!(n > 0, "dropped on a call without descriptors");
        dec.push(&buf[..n]);
    };
    assert_eq!((reply.header.serial, reply.header.status), (1, MessageStatus::OK));
    // Announcing one: "Receiving file descriptors is not supported on this socket".
    s.write_all(&call_with_fds(RemoteProcedure::AuthList, 2, 1, Vec::new())).expect("send");
    let dropped = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(e) => break e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    };
    assert!(dropped, "fds announced on TCP did not drop the client");
    assert!(d.alive());
}

#[test]
fn python_passes_files_and_gets_close_callbacks() {
    let mut d = Daemon::start("fd-python");
    let home = TempDir::new("fd-py-home");
    let script = r#"
import sys, socket, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
a, b = socket.socketpair()
dom = c.createXMLWithFiles("<domain type='test'><name>pyfiles</name><memory>65536</memory><os><type>hvm</type></os></domain>", [a.fileno()], 0)
assert dom.name() == "pyfiles" and dom.isActive() == 1
a.close()
b.settimeout(10)
assert b.recv(1) == b"", "the daemon kept the passed descriptor"
closed = []
def cb(conn, reason, opaque):
    closed.append(reason)
assert c.registerCloseCallback(cb, None) == 0
c.unregisterCloseCallback()
assert c.registerCloseCallback(cb, None) == 0
print("registered", flush=True)
while not closed:
    libvirt.virEventRunDefaultImpl()
print("closed", closed[0], flush=True)
"#;
    let mut child = client_cmd("/usr/bin/python3", &home.0)
        .arg("-c")
        .arg(script)
        .arg(d.uri())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).expect("read");
    if line.trim() != "registered" {
        let _ = child.kill();
        let mut err = String::new();
        let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        panic!("script failed before registering: {line}{err}");
    }
    // The daemon goes away: the client library reports VIR_CONNECT_CLOSE_REASON_EOF.
    d.terminate();
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).expect("read");
    let _ = child.wait();
    assert_eq!(line.trim(), "closed 1");
}

#[test]
fn virsh_create_and_start_pass_fds() {
    super::harness::which("virsh");
    let d = Daemon::start("fd-virsh");
    let home = TempDir::new("fd-virsh-home");
    let xml = d.dir.0.join("vfds.xml");
    std::fs::write(&xml, domain_xml("vfds")).expect("write XML");
    // Real virsh sends descriptors 3 and 4 (virDomainCreateXMLWithFiles, then
    // virDomainCreateWithFiles after a destroy).
    let line = format!(
        "virsh -c '{uri}' 'create {xml} --pass-fds 3,4; destroy vfds; define {xml}; start vfds --pass-fds 3' 3</dev/null 4</dev/null",
        uri = d.uri(),
        xml = xml.display()
    );
    let out = client_cmd("bash", &home.0).arg("-c").arg(&line).output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Domain 'vfds' created from") && stdout.contains("Domain 'vfds' started"), "{stdout}");
}

/// A firmware-only QEMU guest with a VNC server that listens nowhere (`listen
/// type='none'`): clients reach it only through passed sockets.
fn vnc_guest_xml(name: &str) -> String {
    super::qemu::idle_xml(name)
        .replace("</devices>", "<graphics type='vnc'><listen type='none'/></graphics><video><model type='vga'/></video></devices>")
}

#[test]
fn python_opens_vnc_graphics_over_passed_sockets() {
    let d = super::qemu::QemuDaemon::start("fd-graphics", &[]);
    super::qemu::define(&d, "gfx", &vnc_guest_xml("gfx"));
    super::qemu::define(&d, "plain", &super::qemu::idle_xml("plain"));
    d.virsh_ok("start gfx");
    d.virsh_ok("start plain");
    // Warm up (the first calls open the connection's driver state), then count.
    d.python("import sys, libvirt\nlibvirt.open(sys.argv[1]).lookupByName('gfx').info()\n");
    let base = fd_count(d.pid());
    let out = d.python(
        r#"
import sys, os, socket, libvirt
c = libvirt.open(sys.argv[1])
dom = c.lookupByName("gfx")
def greeting(s):
    s.settimeout(30)
    data = b""
    while len(data) < 12:
        chunk = s.recv(12 - len(data))
        if not chunk:
            break
        data += chunk
    return data
# virDomainOpenGraphicsFD: the daemon passes back a socket QEMU's VNC server talks on.
fd = dom.openGraphicsFD(0, 0)
s = socket.socket(fileno=fd)
assert greeting(s) == b"RFB 003.008\n", "openGraphicsFD"
s.close()
# virDomainOpenGraphics: our end of a socketpair goes to QEMU.
a, b = socket.socketpair()
dom.openGraphics(0, a.fileno(), libvirt.VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH)
a.close()
assert greeting(b) == b"RFB 003.008\n", "openGraphics"
b.close()
def err(f):
    try:
        f()
    except libvirt.libvirtError as e:
        return (e.get_error_code(), e.get_error_message())
    raise SystemExit("no error")
# virDomainQemuMonitorCommandWithFiles: getfd with the socket, then add_client.
import libvirt_qemu
a, b = socket.socketpair()
res, files = libvirt_qemu.qemuMonitorCommandWithFiles(dom, '{"execute":"getfd","arguments":{"fdname":"mine"}}', [a.fileno()], 0)
assert '"return"' in res and files == [], (res, files)
a.close()
libvirt_qemu.qemuMonitorCommand(dom, '{"execute":"add_client","arguments":{"protocol":"vnc","fdname":"mine"}}', 0)
assert greeting(b) == b"RFB 003.008\n", "qemuMonitorCommandWithFiles"
b.close()
x, y = socket.socketpair()
print(err(lambda: libvirt_qemu.qemuMonitorCommandWithFiles(dom, '{"execute":"query-status"}', [x.fileno(), y.fileno()], 0)))
print(err(lambda: dom.openGraphicsFD(1, 0)))
print(err(lambda: c.lookupByName("plain").openGraphicsFD(0, 0)))
print(err(lambda: dom.openGraphicsFD(0, 2)))
print("ok")
"#,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "(8, 'invalid argument: at most 1 fd can be passed to qemu along with a command')",
            "(1, 'internal error: No graphics backend with index 1')",
            "(1, 'internal error: No graphics backend with index 0')",
            "(8, 'unsupported flags (0x2) in function qemuDomainOpenGraphicsFD')",
            "ok"
        ],
        "{out}"
    );
    assert!(settles_to(d.pid(), base), "descriptor leak: {} before, {} after", base, fd_count(d.pid()));
    // oxvirt's own client (the remote driver) makes the same calls.
    oxvirt_driver_remote::register();
    let conn = oxvirt::Connect::open(Some(&d.uri())).expect("oxvirt connects to oxvirtd");
    let dom = conn.domain_lookup_by_name("gfx").expect("lookup");
    let greeting = |s: UnixStream| {
        let mut s = s;
        s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).map(|_| buf.to_vec()).unwrap_or_default()
    };
    let fd = dom.open_graphics_fd(0, oxvirt::DomainOpenGraphicsFlags::empty()).expect("open_graphics_fd");
    assert_eq!(greeting(UnixStream::from(fd)), b"RFB 003.008\n");
    let (a, b) = UnixStream::pair().expect("pair");
    dom.open_graphics(0, a.into(), oxvirt::DomainOpenGraphicsFlags::SKIPAUTH).expect("open_graphics");
    assert_eq!(greeting(b), b"RFB 003.008\n");
    let e = dom.open_graphics_fd(3, oxvirt::DomainOpenGraphicsFlags::empty()).expect_err("index 3");
    assert_eq!(e.message, "internal error: No graphics backend with index 3");
    drop((dom, conn));
    assert!(settles_to(d.pid(), base), "descriptor leak: {} before, {} after", base, fd_count(d.pid()));
    d.virsh_ok("destroy plain");
    let out = d.python(
        r#"
import sys, libvirt
try:
    libvirt.open(sys.argv[1]).lookupByName("plain").openGraphicsFD(0, 0)
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_message())
"#,
    );
    assert_eq!(out.trim(), "55 Requested operation is not valid: domain is not running");
    d.virsh_ok("destroy gfx");
    d.assert_clean();
}

#[test]
fn oxvirt_client_passes_files_and_hears_the_close() {
    let mut d = Daemon::start("fd-oxvirt");
    oxvirt_driver_remote::register();
    let conn = oxvirt::Connect::open(Some(&d.uri())).expect("oxvirt connects to oxvirtd");
    let (a, mut b) = UnixStream::pair().expect("pair");
    let dom = conn
        .domain_create_xml_with_files(&domain_xml("oxfiles"), vec![a.into()], oxvirt::DomainCreateFlags::empty())
        .expect("create with files");
    assert_eq!(dom.name(), "oxfiles");
    assert!(dropped(&mut b), "the daemon kept the passed descriptor");
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    conn.register_close_callback(move |reason| {
        let _ = tx.lock().map(|t| t.send(reason));
    })
    .expect("register");
    d.terminate();
    // VIR_CONNECT_CLOSE_REASON_EOF.
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(1));
}
