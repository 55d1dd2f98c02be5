//! The ADMIN program with Debian's real `virt-admin` (`libvirt-clients`): servers,
//! clients, client information and disconnection, limits, the worker pool, and log
//! filters and outputs.

use super::harness::{client_cmd, which, Daemon, TempDir};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};

const PYTHON: &str = "/usr/bin/python3";

/// Run `virt-admin -c libvirtd:///system?socket=ADMIN-SOCK ARGS...`: (success, stdout, stderr).
fn virt_admin(d: &Daemon, home: &TempDir, args: &[&str]) -> (bool, String, String) {
    which("virt-admin");
    let uri = format!("libvirtd:///system?socket={}", d.dir.0.join("libvirt-admin-sock").display());
    let out = client_cmd("timeout", &home.0).args(["30", "virt-admin", "-c", &uri]).args(args).output().expect("virt-admin runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn ok(d: &Daemon, home: &TempDir, args: &[&str]) -> String {
    let (success, out, err) = virt_admin(d, home, args);
    assert!(success, "virt-admin {args:?} failed:\n{out}\n{err}");
    out
}

fn fails(d: &Daemon, home: &TempDir, args: &[&str]) -> String {
    let (success, out, err) = virt_admin(d, home, args);
    assert!(!success, "virt-admin {args:?} succeeded:\n{out}");
    err
}

/// A libvirt-python client that opens `uri`, says "ready", and on each input line
/// lists the domains and prints "ok N" or "error MESSAGE".
struct PyClient(Child);

impl PyClient {
    fn start(uri: &str, home: &TempDir) -> (PyClient, BufReader<std::process::ChildStdout>) {
        let script = r#"
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    try:
        print("ok", len(c.listAllDomains()), flush=True)
    except libvirt.libvirtError as e:
        print("error", e.get_error_message(), flush=True)
"#;
        let mut child = client_cmd(PYTHON, &home.0)
            .args(["-c", script, uri])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("read");
        assert_eq!(line.trim(), "ready", "python client did not start (python3-libvirt installed?)");
        (PyClient(child), out)
    }

    fn ask(&mut self, out: &mut BufReader<std::process::ChildStdout>) -> String {
        let stdin = self.0.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").expect("write");
        stdin.flush().expect("flush");
        let mut line = String::new();
        out.read_line(&mut line).expect("read");
        line.trim().to_string()
    }
}

impl Drop for PyClient {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn servers_clients_info_and_disconnect() {
    let d = Daemon::start("admin-clients");
    let home = TempDir::new("admin-home");
    assert_eq!(ok(&d, &home, &["srv-list"]), " Id   Name\n----------------\n 0    libvirtd\n 1    admin\n\n");
    let version = ok(&d, &home, &["version"]);
    assert!(version.contains("Running against daemon: 9.0.0"), "{version}");

    let (mut py, mut py_out) = PyClient::start(&d.uri(), &home);
    assert_eq!(py.ask(&mut py_out), "ok 1");
    let list = ok(&d, &home, &["srv-clients-list", "libvirtd"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], " Id   Transport   Connected since", "{list}");
    assert!(lines[2].starts_with(" 1    unix        20"), "{list}");
    assert_eq!(lines.len(), 4, "{list}");
    // The admin server lists the virt-admin client itself.
    let admin_list = ok(&d, &home, &["srv-clients-list", "admin"]);
    assert_eq!(admin_list.lines().count(), 4, "{admin_list}");

    let info = ok(&d, &home, &["client-info", "libvirtd", "1"]);
    let pid = py.0.id().to_string();
    for want in ["id             : 1", "transport      : unix", "readonly       : no", "unix_process_id: "] {
        assert!(info.contains(want), "missing {want:?} in\n{info}");
    }
    assert!(info.contains(&format!("unix_process_id: {pid}\n")), "{info}");
    let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).expect("uid");
    assert!(info.contains(&format!("unix_user_id   : {uid}\n")), "{info}");

    // A read-only client says so.
    let ro_uri = format!("test+unix:///default?socket={}", d.sock_ro().display());
    let (mut ro, mut ro_out) = PyClient::start(&ro_uri, &home);
    assert_eq!(ro.ask(&mut ro_out), "ok 1");
    assert!(ok(&d, &home, &["client-info", "libvirtd", "2"]).contains("readonly       : yes"));

    assert_eq!(ok(&d, &home, &["client-disconnect", "libvirtd", "1"]), "Client '1' disconnected\n");
    let after = py.ask(&mut py_out);
    assert!(after.starts_with("error"), "the disconnected client still works: {after}");
    assert_eq!(ro.ask(&mut ro_out), "ok 1", "the other client was disconnected too");
    let list = ok(&d, &home, &["srv-clients-list", "libvirtd"]);
    assert!(!list.contains("\n 1 ") && list.contains("\n 2 "), "{list}");

    let err = fails(&d, &home, &["client-info", "libvirtd", "99"]);
    assert!(err.contains("Client not found: No client with matching ID '99'"), "{err}");
    let err = fails(&d, &home, &["srv-clients-list", "nope"]);
    assert!(err.contains("Server not found: No server named 'nope'"), "{err}");
}

#[test]
fn limits_and_worker_pool() {
    let d = Daemon::start("admin-limits");
    let home = TempDir::new("admin-home");
    let pool = ok(&d, &home, &["srv-threadpool-info", "libvirtd"]);
    let names: Vec<&str> = pool.lines().filter_map(|l| l.split(':').next()).map(str::trim).filter(|s| !s.is_empty()).collect();
    assert_eq!(names, ["minWorkers", "maxWorkers", "nWorkers", "freeWorkers", "prioWorkers", "jobQueueDepth"], "{pool}");
    assert!(pool.contains("maxWorkers     : 512\n"), "{pool}");
    // The pool cannot be resized; setting the current values is accepted.
    ok(&d, &home, &["srv-threadpool-set", "libvirtd", "--max-workers", "512"]);
    let err = fails(&d, &home, &["srv-threadpool-set", "libvirtd", "--max-workers", "10"]);
    assert!(err.contains("Operation not supported"), "{err}");

    let limits = ok(&d, &home, &["srv-clients-info", "libvirtd"]);
    assert_eq!(limits, "nclients_max        : 5000\nnclients            : 0\nnclients_unauth_max : 20\nnclients_unauth     : 0\n\n");
    ok(&d, &home, &["srv-clients-set", "libvirtd", "--max-clients", "100"]);
    assert!(ok(&d, &home, &["srv-clients-info", "libvirtd"]).starts_with("nclients_max        : 100\n"));
    let err = fails(&d, &home, &["srv-clients-set", "libvirtd", "--max-clients", "10"]);
    assert!(err.contains("must not be less than"), "{err}");
    let admin = ok(&d, &home, &["srv-clients-info", "admin"]);
    assert!(admin.contains("nclients            : 1\n"), "{admin}");
}

#[test]
fn log_filters_and_outputs() {
    let d = Daemon::start("admin-log");
    let home = TempDir::new("admin-home");
    assert_eq!(ok(&d, &home, &["daemon-log-filters"]), " Logging filters: \n\n");
    ok(&d, &home, &["daemon-log-filters", "1:qemu 3:remote"]);
    // libvirt keeps a filter as a substring glob and reads it back that way.
    assert_eq!(ok(&d, &home, &["daemon-log-filters"]), " Logging filters: 1:*qemu* 3:*remote* \n\n");
    assert_eq!(ok(&d, &home, &["daemon-log-outputs"]), " Logging outputs: 3:stderr\n\n");
    let err = fails(&d, &home, &["daemon-log-filters", "9:x"]);
    assert!(err.contains("Invalid priority '9' for filter '9:x'"), "{err}");

    // The filters and outputs apply to the daemon's own messages.
    let log = d.dir.0.join("daemon.log");
    let output = format!("1:file:{}", log.display());
    ok(&d, &home, &["daemon-log-outputs", &output]);
    assert_eq!(ok(&d, &home, &["daemon-log-outputs"]), format!(" Logging outputs: {output}\n\n"));
    ok(&d, &home, &["daemon-log-filters", "1:rpc"]);
    let (mut py, mut py_out) = PyClient::start(&d.uri(), &home);
    assert_eq!(py.ask(&mut py_out), "ok 1");
    drop(py);
    let text = std::fs::read_to_string(&log).expect("log file written");
    assert!(text.contains("info : rpc.server : server libvirtd: client 1 connected"), "{text}");
    ok(&d, &home, &["daemon-log-filters", ""]);
    assert_eq!(ok(&d, &home, &["daemon-log-filters"]), " Logging filters: \n\n");
    ok(&d, &home, &["daemon-log-outputs", ""]);
    assert_eq!(ok(&d, &home, &["daemon-log-outputs"]), " Logging outputs: 3:stderr\n\n");
}

/// Every REMOTE procedure `docs/rpc-coverage.md` lists as unserved, sent after
/// `CONNECT_OPEN` with an empty payload and with an all-zero one, gets an error reply
/// at once — "Unable to decode message payload" when the arguments do not decode (as
/// libvirtd, which decodes first), else libvirtd's "unknown procedure: N" — none hangs
/// or drops the connection, and the daemon keeps serving.
#[test]
fn unserved_procedures_answer_errors() {
    use oxvirt_rpc::message::{Header, REMOTE_PROGRAM};
    use oxvirt_rpc::proto::remote::{RemoteConnectOpenArgs, RemoteError};
    use oxvirt_rpc::{Decode, Encode, FrameDecoder, MessageStatus, MessageType, Packet};
    use std::io::Read;
    use std::time::Duration;

    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rpc-coverage.md")).expect("docs/rpc-coverage.md");
    let unserved: Vec<i32> = doc
        .lines()
        .filter(|l| l.contains("| **no** |"))
        .filter_map(|l| l.trim_start_matches('|').split('|').next()?.trim().parse().ok())
        .collect();
    assert!(unserved.len() > 10, "no unserved procedures found in docs/rpc-coverage.md");

    let d = Daemon::start("admin-unserved");
    let mut s = std::os::unix::net::UnixStream::connect(d.sock()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut dec = FrameDecoder::new();
    let mut call = |procedure: i32, serial: u32, payload: Vec<u8>| -> Packet {
        let bytes = Packet { header: Header::call(REMOTE_PROGRAM, procedure, serial), nfds: 0, payload }.to_bytes().expect("encode");
        s.write_all(&bytes).expect("send");
        let mut buf = [0u8; 65536];
        loop {
            while let Some(p) = dec.next_packet().expect("valid frames") {
                if p.header.msg_type == MessageType::REPLY && p.header.serial == serial {
                    return p;
                }
            }
            let n = s.read(&mut buf).unwrap_or_else(|e| panic!("procedure {procedure}: no reply within 5 s ({e})"));
            assert!(n > 0, "procedure {procedure}: the daemon closed the connection");
            dec.push(&buf[..n]);
        }
    };
    let open = RemoteConnectOpenArgs { name: Some("test:///default".into()), flags: 0 }.to_bytes().expect("encode");
    assert_eq!(call(1, 1, open).header.status, MessageStatus::OK);
    let mut serial = 1;
    let mut unknown = 0;
    for n in &unserved {
        for payload in [Vec::new(), vec![0u8; 4096]] {
            serial += 1;
            let r = call(*n, serial, payload);
            assert_eq!(r.header.status, MessageStatus::ERROR, "procedure {n}");
            let e = RemoteError::from_bytes(&r.payload).expect("remote_error");
            let msg = e.message.unwrap_or_default();
            assert!(msg == format!("unknown procedure: {n}") || msg == "Unable to decode message payload", "procedure {n}: {msg}");
            unknown += usize::from(msg.starts_with("unknown"));
        }
    }
    // Calls without arguments, and most with all-zero ones, reach the dispatcher.
    assert!(unknown > unserved.len() / 2, "only {unknown} 'unknown procedure' replies");
    // Still serving: CONNECT_GET_TYPE.
    let r = call(3, 100_000, Vec::new());
    assert_eq!(r.header.status, MessageStatus::OK);
}
