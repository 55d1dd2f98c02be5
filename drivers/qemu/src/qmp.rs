//! The QMP client: one QEMU monitor over a unix socket.
//!
//! [`Qmp::connect`] reads QEMU's greeting and negotiates capabilities
//! (`qmp_capabilities`); then a reader thread owns the receiving side. Each command
//! gets a unique id (`oxvirt-N`); its caller waits on a private channel for the reply
//! with that id, up to a per-command timeout, so many threads can issue commands on
//! one monitor at once and a monitor that stops answering fails only the commands sent
//! to it. Asynchronous events go to the callback given at connect time, called on the
//! reader thread in arrival order. When the connection ends, every waiting command
//! fails with [`QemuError::Monitor`] and the callback gets a last [`MONITOR_EOF`] event.
//!
//! [`Qmp::execute_with_fd`] sends a command with a descriptor attached to its bytes
//! (`SCM_RIGHTS`), as QEMU's `getfd`/`add-fd` expect (libvirt's
//! `qemuMonitorSendFileHandle`).
//!
//! Malformed input from QEMU never panics: a line that is not a JSON object is
//! skipped, a reply without a known id is dropped.

use crate::caps::probe::{Monitor, Reply};
use crate::error::{QemuError, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::Shutdown;
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// An asynchronous QMP event.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpEvent {
    /// Event name (`STOP`, `SHUTDOWN`, ...).
    pub name: String,
    /// `data` member (`Null` when absent).
    pub data: Value,
    /// `timestamp` as (seconds, microseconds), when present.
    pub timestamp: Option<(i64, i64)>,
}

/// Name of the synthetic last event a callback receives when the connection ends
/// (QEMU exited or closed the monitor); it carries no data.
pub const MONITOR_EOF: &str = "oxvirt-monitor-eof";

/// Callback receiving events on the reader thread. It must not block for long and
/// must not wait for a reply from the same monitor (the reader is waiting for it).
pub type EventCallback = Box<dyn FnMut(QmpEvent) + Send + 'static>;

type Pending = Arc<Mutex<HashMap<String, Sender<Result<String>>>>>;

/// A connected, negotiated QMP monitor.
pub struct Qmp {
    writer: Mutex<UnixStream>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    next_id: AtomicU64,
    timeout: Duration,
    greeting: Value,
    reader: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Qmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qmp").field("timeout", &self.timeout).field("greeting", &self.greeting).finish_non_exhaustive()
    }
}

fn io_err(what: &str, e: std::io::Error) -> QemuError {
    QemuError::Monitor(format!("{what}: {e}"))
}

impl Qmp {
    /// Connect to the monitor socket at `path`, read the greeting and negotiate.
    /// `timeout` bounds the greeting and every command; `on_event` receives events.
    pub fn connect(path: &Path, timeout: Duration, on_event: EventCallback) -> Result<Qmp> {
        let stream = UnixStream::connect(path).map_err(|e| io_err(&format!("cannot connect to '{}'", path.display()), e))?;
        Qmp::from_stream(stream, timeout, on_event)
    }

    /// Like [`Qmp::connect`] over an already connected stream.
    pub fn from_stream(stream: UnixStream, timeout: Duration, mut on_event: EventCallback) -> Result<Qmp> {
        let read_half = stream.try_clone().map_err(|e| io_err("cannot clone the monitor socket", e))?;
        read_half.set_read_timeout(Some(timeout)).map_err(|e| io_err("cannot set a read timeout", e))?;
        stream.set_write_timeout(Some(timeout)).map_err(|e| io_err("cannot set a write timeout", e))?;
        let mut reader = BufReader::new(read_half);
        let greeting = loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return Err(QemuError::Monitor("connection closed before the QMP greeting".into())),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Err(QemuError::Timeout { command: "(greeting)".into(), timeout_ms: ms(timeout) });
                }
                Err(e) => return Err(io_err("cannot read the QMP greeting", e)),
            }
            match serde_json::from_str::<Value>(line.trim()) {
                Ok(v) if v.get("QMP").is_some() => break v,
                Ok(v) if v.get("event").is_some() => on_event(to_event(&v)),
                _ if line.trim().is_empty() => {}
                _ => return Err(QemuError::Monitor(format!("expected the QMP greeting, got '{}'", line.trim()))),
            }
        };
        reader.get_ref().set_read_timeout(None).map_err(|e| io_err("cannot clear the read timeout", e))?;
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let handle = {
            let (pending, closed) = (pending.clone(), closed.clone());
            std::thread::Builder::new()
                .name("qmp-reader".into())
                .spawn(move || read_loop(reader, pending, closed, on_event))
                .map_err(|e| io_err("cannot start the monitor reader", e))?
        };
        let qmp = Qmp { writer: Mutex::new(stream), pending, closed, next_id: AtomicU64::new(1), timeout, greeting, reader: Some(handle) };
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// QEMU's greeting (`{"QMP": {"version": ..., "capabilities": [...]}}`).
    pub fn greeting(&self) -> &Value {
        &self.greeting
    }

    /// The default per-command timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Execute `command`; returns its `return` value, or [`QemuError::Qmp`] when QEMU
    /// answers with an error.
    pub fn execute(&self, command: &str, arguments: Option<Value>) -> Result<Value> {
        self.execute_timeout(command, arguments, self.timeout)
    }

    /// [`Qmp::execute`] with its own timeout.
    pub fn execute_timeout(&self, command: &str, arguments: Option<Value>, timeout: Duration) -> Result<Value> {
        let raw = self.execute_raw_timeout(command, arguments, timeout)?;
        Reply::parse(command, raw)?.ret().cloned()
    }

    /// Execute `command`; returns the raw text of QEMU's whole reply (with `return` or
    /// `error`) so callers can inspect error classes or key order.
    pub fn execute_raw_timeout(&self, command: &str, arguments: Option<Value>, timeout: Duration) -> Result<String> {
        self.send_and_wait(command, arguments, timeout, None)
    }

    /// Execute `command` with `fd` passed along (`SCM_RIGHTS` on the command's first
    /// byte), e.g. `getfd` with an `fdname`; returns its `return` value.
    pub fn execute_with_fd(&self, command: &str, arguments: Option<Value>, fd: BorrowedFd<'_>) -> Result<Value> {
        let raw = self.send_and_wait(command, arguments, self.timeout, Some(fd))?;
        Reply::parse(command, raw)?.ret().cloned()
    }

    /// [`Qmp::execute_raw_timeout`] with `fd` passed along (when given).
    pub fn execute_raw_with_fd(
        &self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
        fd: Option<BorrowedFd<'_>>,
    ) -> Result<String> {
        self.send_and_wait(command, arguments, timeout, fd)
    }

    fn send_and_wait(&self, command: &str, arguments: Option<Value>, timeout: Duration, fd: Option<BorrowedFd<'_>>) -> Result<String> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(QemuError::Monitor("connection closed".into()));
        }
        let id = format!("oxvirt-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let mut msg = json!({ "execute": command, "id": id });
        if let (Some(a), Some(m)) = (arguments, msg.as_object_mut()) {
            m.insert("arguments".into(), a);
        }
        let (tx, rx) = mpsc::channel();
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).insert(id.clone(), tx);
        // A reader that ended between the check above and the insertion left nobody
        // to answer; look again now that the entry is visible to it.
        if self.closed.load(Ordering::SeqCst) {
            self.forget(&id);
            return Err(QemuError::Monitor("connection closed".into()));
        }
        let mut line = msg.to_string();
        line.push('\n');
        let written = {
            let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            match fd {
                None => w.write_all(line.as_bytes()),
                // The descriptor rides on the first bytes; the rest follows plainly.
                Some(fd) => oxvirt_util::fdpass::send_with_fds(&*w, line.as_bytes(), &[fd])
                    .and_then(|n| w.write_all(line.as_bytes().get(n..).unwrap_or_default())),
            }
        };
        if let Err(e) = written {
            self.forget(&id);
            return Err(io_err(&format!("cannot send '{command}'"), e));
        }
        match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => {
                self.forget(&id);
                Err(QemuError::Timeout { command: command.to_string(), timeout_ms: ms(timeout) })
            }
            Err(RecvTimeoutError::Disconnected) => Err(QemuError::Monitor("connection closed".into())),
        }
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn forget(&self, id: &str) {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

impl Monitor for Qmp {
    fn execute_raw(&mut self, command: &str, arguments: Option<Value>) -> Result<String> {
        self.execute_raw_timeout(command, arguments, self.timeout)
    }
}

impl Drop for Qmp {
    fn drop(&mut self) {
        let _ = self.writer.get_mut().unwrap_or_else(PoisonError::into_inner).shutdown(Shutdown::Both);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn to_event(v: &Value) -> QmpEvent {
    let ts = v.get("timestamp").and_then(|t| Some((t.get("seconds")?.as_i64()?, t.get("microseconds")?.as_i64()?)));
    QmpEvent {
        name: v.get("event").and_then(Value::as_str).unwrap_or("").to_string(),
        data: v.get("data").cloned().unwrap_or(Value::Null),
        timestamp: ts,
    }
}

fn read_loop(mut reader: BufReader<UnixStream>, pending: Pending, closed: Arc<AtomicBool>, mut on_event: EventCallback) {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = line.trim();
        let Ok(v) = serde_json::from_str::<Value>(text) else { continue };
        if v.get("event").is_some() {
            on_event(to_event(&v));
            continue;
        }
        let id = match v.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => continue,
        };
        let waiter = pending.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        if let Some(tx) = waiter {
            let _ = tx.send(Ok(text.to_string()));
        }
    }
    closed.store(true, Ordering::SeqCst);
    let waiters: Vec<_> = pending.lock().unwrap_or_else(PoisonError::into_inner).drain().collect();
    for (_, tx) in waiters {
        let _ = tx.send(Err(QemuError::Monitor("connection closed".into())));
    }
    on_event(QmpEvent { name: MONITOR_EOF.to_string(), data: Value::Null, timestamp: None });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::caps::replies;
    use std::io::BufRead;
    use std::os::unix::net::UnixListener;
    use std::path::PathBuf;
    use std::time::Instant;

    /// A snippet of a libvirt transcript (`caps_8.0.0.x86_64.replies`).
    const SNIPPET: &str = r#"{
  "execute": "qmp_capabilities",
  "id": "libvirt-1"
}

{
  "return": {
  },
  "id": "libvirt-1"
}

{
  "execute": "query-version",
  "id": "libvirt-2"
}

{
  "return": {
    "qemu": {
      "micro": 50,
      "minor": 2,
      "major": 7
    },
    "package": "v7.2.0-333-g222059a0fc"
  },
  "id": "libvirt-2"
}

{
  "execute": "query-target",
  "id": "libvirt-3"
}

{
  "return": {
    "arch": "x86_64"
  },
  "id": "libvirt-3"
}
"#;

    const GREETING: &str =
        r#"{"QMP": {"version": {"qemu": {"micro": 50, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#;

    /// What the fake server does for one received command.
    enum Act {
        /// Reply with the transcript's reply, after sending these raw lines first.
        Reply(Vec<String>),
        /// Never answer.
        Ignore,
        /// Close the connection.
        Hangup,
    }

    struct Fake {
        dir: PathBuf,
        sock: PathBuf,
        server: Option<std::thread::JoinHandle<Vec<String>>>,
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// A QMP server on a unix socket in a temp dir answering from the transcript
    /// `script` (commands in order), acting on each command as `acts` says. Returns the
    /// commands it received when it ends.
    fn fake(name: &str, script: &str, mut acts: Vec<Act>) -> Fake {
        let dir = std::env::temp_dir().join(format!("oxvirt-qmp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("qmp.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let exchanges = replies::parse(script).unwrap();
        acts.reverse();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            writeln!(s, "{GREETING}").unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut seen = Vec::new();
            for ex in exchanges {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let cmd: Value = serde_json::from_str(&line).unwrap();
                seen.push(cmd["execute"].as_str().unwrap().to_string());
                assert_eq!(cmd["execute"], ex.request["execute"]);
                let mut reply: Value = serde_json::from_str(&ex.reply).unwrap();
                reply["id"] = cmd["id"].clone();
                match acts.pop().unwrap_or(Act::Reply(Vec::new())) {
                    Act::Reply(before) => {
                        for b in before {
                            writeln!(s, "{b}").unwrap();
                        }
                        writeln!(s, "{reply}").unwrap();
                    }
                    Act::Ignore => {}
                    Act::Hangup => {
                        let _ = s.shutdown(Shutdown::Both);
                        break;
                    }
                }
            }
            // Hold the connection until the client goes away.
            let mut rest = String::new();
            while r.read_line(&mut rest).unwrap_or(0) > 0 {
                rest.clear();
            }
            seen
        });
        Fake { dir, sock, server: Some(server) }
    }

    fn no_events() -> EventCallback {
        Box::new(|_| {})
    }

    #[test]
    fn negotiates_and_replays_a_transcript() {
        let mut f = fake("replay", SNIPPET, vec![]);
        let qmp = Qmp::connect(&f.sock, Duration::from_secs(5), no_events()).unwrap();
        assert_eq!(qmp.greeting()["QMP"]["capabilities"][0], "oob");
        let v = qmp.execute("query-version", None).unwrap();
        assert_eq!(v["qemu"]["minor"], 2);
        assert_eq!(v["package"], "v7.2.0-333-g222059a0fc");
        let t = qmp.execute("query-target", None).unwrap();
        assert_eq!(t["arch"], "x86_64");
        drop(qmp);
        let seen = f.server.take().unwrap().join().unwrap();
        assert_eq!(seen, ["qmp_capabilities", "query-version", "query-target"]);
    }

    #[test]
    fn delivers_events_in_order_before_the_reply() {
        let ev1 = r#"{"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "STOP"}"#.to_string();
        let ev2 = r#"{"event": "RESUME", "data": {"x": 1}}"#.to_string();
        let f = fake("events", SNIPPET, vec![Act::Reply(vec![]), Act::Reply(vec![ev1, "not json".into(), ev2])]);
        let (tx, rx) = mpsc::channel();
        let qmp = Qmp::connect(
            &f.sock,
            Duration::from_secs(5),
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        )
        .unwrap();
        qmp.execute("query-version", None).unwrap();
        let a = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let b = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((a.name.as_str(), a.timestamp), ("STOP", Some((1_700_000_000, 5))));
        assert_eq!((b.name.as_str(), &b.data), ("RESUME", &json!({"x": 1})));
    }

    #[test]
    fn a_silent_monitor_times_out_and_later_commands_still_work() {
        let f = fake("timeout", SNIPPET, vec![Act::Reply(vec![]), Act::Ignore]);
        let qmp = Qmp::connect(&f.sock, Duration::from_secs(5), no_events()).unwrap();
        let start = Instant::now();
        let err = qmp.execute_timeout("query-version", None, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, QemuError::Timeout { ref command, timeout_ms: 200 } if command == "query-version"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));
        assert_eq!(qmp.execute("query-target", None).unwrap()["arch"], "x86_64");
    }

    #[test]
    fn hangup_fails_the_waiting_command() {
        let f = fake("hangup", SNIPPET, vec![Act::Reply(vec![]), Act::Hangup]);
        let qmp = Qmp::connect(&f.sock, Duration::from_secs(5), no_events()).unwrap();
        let err = qmp.execute("query-version", None).unwrap_err();
        assert!(matches!(err, QemuError::Monitor(_)), "{err}");
        assert!(qmp.is_closed());
        assert!(matches!(qmp.execute("query-target", None), Err(QemuError::Monitor(_))));
    }

    #[test]
    fn qmp_errors_keep_their_class() {
        let script = SNIPPET.replace(
            "\"return\": {\n    \"arch\": \"x86_64\"\n  }",
            "\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command query-target has not been found\"}",
        );
        let f = fake("error", &script, vec![]);
        let mut qmp = Qmp::connect(&f.sock, Duration::from_secs(5), no_events()).unwrap();
        qmp.execute("query-version", None).unwrap();
        let raw = qmp.execute_raw("query-target", None).unwrap();
        let reply = Reply::parse("query-target", raw).unwrap();
        assert!(reply.has_error("CommandNotFound"));
        let err = reply.ret().unwrap_err();
        assert_eq!(err.to_string(), "unable to execute QEMU command 'query-target': The command query-target has not been found");
    }

    #[test]
    fn a_descriptor_travels_with_its_command() {
        let dir = std::env::temp_dir().join(format!("oxvirt-qmp-fd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("qmp.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            writeln!(s, "{GREETING}").unwrap();
            let mut fds = Vec::new();
            let mut buf = Vec::new();
            // qmp_capabilities, then getfd with its descriptor.
            for _ in 0..2 {
                let line = loop {
                    if let Some(i) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=i).collect();
                        break line;
                    }
                    let mut chunk = [0u8; 4096];
                    let (n, got) = oxvirt_util::fdpass::recv_with_fds(&s, &mut chunk).unwrap();
                    assert!(n > 0);
                    buf.extend_from_slice(&chunk[..n]);
                    fds.extend(got);
                };
                let cmd: Value = serde_json::from_slice(&line).unwrap();
                writeln!(s, "{}", json!({"return": {}, "id": cmd["id"]})).unwrap();
            }
            let mut passed = std::fs::File::from(fds.pop().unwrap());
            let mut text = String::new();
            std::io::Read::read_to_string(&mut passed, &mut text).unwrap();
            (fds.len(), text)
        });
        let qmp = Qmp::connect(&sock, Duration::from_secs(5), no_events()).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        qmp.execute_with_fd("getfd", Some(json!({"fdname": "x"})), std::os::fd::AsFd::as_fd(&a)).unwrap();
        drop(a);
        (&b).write_all(b"through").unwrap();
        drop(b);
        let (extra, text) = server.join().unwrap();
        assert_eq!((extra, text.as_str()), (0, "through"));
        drop(qmp);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn garbage_instead_of_a_greeting_is_an_error() {
        let dir = std::env::temp_dir().join(format!("oxvirt-qmp-garbage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("qmp.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            writeln!(s, "hello").unwrap();
        });
        let err = Qmp::connect(&sock, Duration::from_secs(5), no_events()).unwrap_err();
        assert!(err.to_string().contains("expected the QMP greeting"), "{err}");
        server.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
