//! Guest-agent client (`org.qemu.guest_agent.0`): the `guest-sync-delimited`
//! handshake and one command per connection.
//!
//! The agent speaks line-delimited JSON over the channel's unix socket. A fresh
//! connection may find stale bytes in either direction (a half-written command of an
//! earlier client, a late reply), and before qemu-ga opens its port anything written
//! is held or dropped. So every exchange starts with a handshake: the byte 0xFF (which
//! makes the agent reset its JSON parser) followed by `guest-sync-delimited` with a
//! fresh id; the agent answers with 0xFF followed by the id. Everything before that
//! 0xFF is stale (including the agent's error reply about the 0xFF byte itself, which
//! comes first), and replies carrying another id answer an earlier attempt. The
//! handshake is repeated with new ids until answered or the deadline passes.

use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The channel name the agent listens on.
pub const AGENT_CHANNEL: &str = "org.qemu.guest_agent.0";

/// How long one handshake attempt waits before sending a new id.
const SYNC_RETRY: Duration = Duration::from_millis(500);

/// Why an agent exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The socket cannot be reached (QEMU gone, channel missing).
    #[error("cannot connect to the guest agent socket '{path}': {source}")]
    Connect {
        /// The channel's socket.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The agent did not answer the handshake or the command in time.
    #[error("guest agent is not responding: {0}")]
    Unresponsive(String),
    /// The agent answered the command with an error.
    #[error("unable to execute QEMU agent command '{command}': {desc}")]
    Command {
        /// Command that failed.
        command: String,
        /// The agent's description.
        desc: String,
    },
    /// The command text is not a JSON object with `execute`.
    #[error("{0}")]
    BadCommand(String),
}

impl From<AgentError> for oxvirt_util::VirError {
    fn from(e: AgentError) -> oxvirt_util::VirError {
        use oxvirt_util::{ErrorCode, ErrorDomain, VirError};
        let code = match e {
            AgentError::Connect { .. } | AgentError::Unresponsive(_) => ErrorCode::AgentUnresponsive,
            AgentError::Command { .. } => ErrorCode::InternalError,
            AgentError::BadCommand(_) => ErrorCode::InvalidArg,
        };
        VirError::new(code, ErrorDomain::Qemu, e.to_string())
    }
}

/// Buffered line reader over the agent socket with a deadline.
struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Read more bytes, waiting at most until `until` (or forever when `None`).
    /// Ok(false) on timeout.
    fn fill(&mut self, until: Option<Instant>) -> Result<bool, AgentError> {
        let wait = match until {
            Some(t) => {
                let left = t.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(false);
                }
                Some(left)
            }
            None => None,
        };
        self.stream.set_read_timeout(wait).map_err(|e| AgentError::Unresponsive(format!("cannot set a read timeout: {e}")))?;
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(AgentError::Unresponsive("the agent channel was closed".into())),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => Ok(false),
            Err(e) => Err(AgentError::Unresponsive(format!("cannot read from the agent: {e}"))),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        self.stream.write_all(bytes).map_err(|e| AgentError::Unresponsive(format!("cannot write to the agent: {e}")))
    }

    /// The handshake: returns once the agent echoed one of our ids after a 0xFF.
    fn sync(&mut self, deadline: Instant) -> Result<(), AgentError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let id = u64::from(std::process::id()) * 1_000_000 + NEXT.fetch_add(1, Ordering::Relaxed) % 1_000_000;
            let mut msg = vec![0xffu8];
            msg.extend_from_slice(json!({"execute": "guest-sync-delimited", "arguments": {"id": id}}).to_string().as_bytes());
            msg.push(b'\n');
            self.send(&msg)?;
            let attempt_end = (Instant::now() + SYNC_RETRY).min(deadline);
            loop {
                if let Some(found) = self.take_sync_reply(id) {
                    if found {
                        return Ok(());
                    }
                }
                if !self.fill(Some(attempt_end))? && Instant::now() >= attempt_end {
                    break;
                }
            }
            if Instant::now() >= deadline {
                return Err(AgentError::Unresponsive("no answer to guest-sync-delimited".into()));
            }
        }
    }

    /// Consume complete `0xFF{...}\n` replies in the buffer; Some(true) when one
    /// answers `id` (the buffer then holds what followed it).
    fn take_sync_reply(&mut self, id: u64) -> Option<bool> {
        loop {
            let ff = self.buf.iter().position(|&b| b == 0xff)?;
            let nl = self.buf[ff..].iter().position(|&b| b == b'\n').map(|p| ff + p)?;
            let reply: Option<Value> = serde_json::from_slice(&self.buf[ff + 1..nl]).ok();
            self.buf.drain(..=nl);
            if reply.as_ref().and_then(|r| r.get("return")).and_then(Value::as_u64) == Some(id) {
                return Some(true);
            }
        }
    }

    /// The next JSON object line carrying `return` or `error`.
    fn reply(&mut self, until: Option<Instant>) -> Result<Option<Value>, AgentError> {
        loop {
            while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                let text = line.iter().copied().filter(|&b| b != 0xff).collect::<Vec<u8>>();
                if let Ok(v) = serde_json::from_slice::<Value>(&text) {
                    if v.get("return").is_some() || v.get("error").is_some() {
                        return Ok(Some(v));
                    }
                }
            }
            if !self.fill(until)? && until.is_some_and(|t| Instant::now() >= t) {
                return Ok(None);
            }
        }
    }
}

/// How long a command may take: `timeout` in libvirt's convention (seconds; -2
/// blocks, -1 is the default of 5 s, 0 does not wait).
pub fn command_wait(timeout: i32) -> Option<Duration> {
    match timeout {
        -2 => None,
        t if t < 0 => Some(Duration::from_secs(5)),
        t => Some(Duration::from_secs(t.unsigned_abs().into())),
    }
}

/// Run `cmd` (a JSON object with `execute`) on the agent behind `socket`: connect,
/// handshake within `sync_timeout`, send, and wait `wait` (forever when `None`; zero
/// means send without waiting, giving `Ok(None)`). Returns the agent's whole reply.
pub fn command(socket: &Path, cmd: &str, sync_timeout: Duration, wait: Option<Duration>) -> Result<Option<Value>, AgentError> {
    let parsed: Value =
        serde_json::from_str(cmd).map_err(|e| AgentError::BadCommand(format!("cannot parse agent command '{cmd}': {e}")))?;
    let name = parsed
        .get("execute")
        .or_else(|| parsed.get("exec-oob"))
        .and_then(Value::as_str)
        .ok_or_else(|| AgentError::BadCommand(format!("agent command '{cmd}' has no 'execute' member")))?
        .to_string();
    let stream = UnixStream::connect(socket).map_err(|e| AgentError::Connect { path: socket.display().to_string(), source: e })?;
    stream
        .set_write_timeout(Some(sync_timeout.max(Duration::from_secs(1))))
        .map_err(|e| AgentError::Unresponsive(format!("cannot set a write timeout: {e}")))?;
    let mut conn = Conn { stream, buf: Vec::new() };
    conn.sync(Instant::now() + sync_timeout)?;
    let mut line = parsed.to_string().into_bytes();
    line.push(b'\n');
    conn.send(&line)?;
    if wait == Some(Duration::ZERO) {
        return Ok(None);
    }
    let reply =
        conn.reply(wait.map(|w| Instant::now() + w))?.ok_or_else(|| AgentError::Unresponsive(format!("no reply to '{name}' in time")))?;
    if let Some(e) = reply.get("error") {
        let desc = e.get("desc").and_then(Value::as_str).unwrap_or("unknown error").to_string();
        return Err(AgentError::Command { command: name, desc });
    }
    Ok(Some(reply))
}

/// One agent connection past the handshake, for several commands in a row (the
/// guest-information calls of libvirt run a series of commands under one agent job).
pub struct Session {
    conn: Conn,
    /// How long `exec` waits for a reply (`None`: forever).
    reply_timeout: Option<Duration>,
}

/// The command name of `cmd` (`execute` or `exec-oob`).
fn command_name(cmd: &Value) -> String {
    cmd.get("execute").or_else(|| cmd.get("exec-oob")).and_then(Value::as_str).unwrap_or("").to_string()
}

impl Session {
    /// Connect to `socket` and run the handshake within `sync_timeout`.
    pub fn open(socket: &Path, sync_timeout: Duration) -> Result<Session, AgentError> {
        let stream = UnixStream::connect(socket).map_err(|e| AgentError::Connect { path: socket.display().to_string(), source: e })?;
        stream
            .set_write_timeout(Some(sync_timeout.max(Duration::from_secs(1))))
            .map_err(|e| AgentError::Unresponsive(format!("cannot set a write timeout: {e}")))?;
        let mut conn = Conn { stream, buf: Vec::new() };
        conn.sync(Instant::now() + sync_timeout)?;
        Ok(Session { conn, reply_timeout: Some(Duration::from_secs(5)) })
    }

    fn send(&mut self, cmd: &Value) -> Result<(), AgentError> {
        let mut line = cmd.to_string().into_bytes();
        line.push(b'\n');
        self.conn.send(&line)
    }

    /// How long [`Session::exec`] waits (`None`: forever; default 5 s).
    pub fn set_reply_timeout(&mut self, wait: Option<Duration>) {
        self.reply_timeout = wait;
    }

    /// Run `cmd` and return the agent's whole reply (`return` or `error`).
    pub fn exec(&mut self, cmd: &Value) -> Result<Value, AgentError> {
        self.send(cmd)?;
        self.conn
            .reply(self.reply_timeout.map(|w| Instant::now() + w))?
            .ok_or_else(|| AgentError::Unresponsive(format!("no reply to '{}' in time", command_name(cmd))))
    }

    /// Run a command after which the guest goes away (`guest-shutdown`): it succeeds
    /// when the agent answers, when the channel closes, or when `gone()` says the
    /// guest stopped or reset; checked every 100 ms until `wait` passes.
    pub fn exec_until_gone(&mut self, cmd: &Value, wait: Duration, gone: impl Fn() -> bool) -> Result<Option<Value>, AgentError> {
        self.send(cmd)?;
        let deadline = Instant::now() + wait;
        loop {
            let step = (Instant::now() + Duration::from_millis(100)).min(deadline);
            match self.conn.reply(Some(step)) {
                Ok(Some(v)) => return Ok(Some(v)),
                Ok(None) => {}
                // The guest closed the channel (QEMU exited): it is shutting down.
                Err(AgentError::Unresponsive(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
            if gone() {
                return Ok(None);
            }
            if Instant::now() >= deadline {
                return Err(AgentError::Unresponsive(format!("no reply to '{}' in time", command_name(cmd))));
            }
        }
    }
}

/// The error of an agent reply as (class, description), if it is one.
pub fn reply_error(reply: &Value) -> Option<(String, String)> {
    let e = reply.get("error")?;
    let class = e.get("class").and_then(Value::as_str).unwrap_or("").to_string();
    let desc = e.get("desc").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| class.clone());
    Some((class, desc))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::os::unix::net::UnixListener;

    /// A fake agent: answers the first sync attempt only after garbage, then the command.
    #[test]
    fn handshake_skips_stale_output_and_other_ids() {
        let dir = std::env::temp_dir().join(format!("oxq-agent-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let sock = dir.join("a.sock");
        let _ = std::fs::remove_file(&sock);
        let l = UnixListener::bind(&sock).unwrap();
        let h = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = std::io::BufReader::new(s);
            let mut line = Vec::new();
            r.read_until(b'\n', &mut line).unwrap();
            assert_eq!(line[0], 0xff);
            let v: Value = serde_json::from_slice(&line[1..]).unwrap();
            let id = v["arguments"]["id"].as_u64().unwrap();
            // The error about the 0xFF byte, a stale reply, then ours.
            w.write_all(b"{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid JSON syntax\"}}\n").unwrap();
            w.write_all(b"\xff{\"return\": 7}\n").unwrap();
            w.write_all(b"\0\n").unwrap();
            let mut ours = vec![0xffu8];
            ours.extend_from_slice(format!("{{\"return\": {id}}}\n").as_bytes());
            w.write_all(&ours).unwrap();
            line.clear();
            r.read_until(b'\n', &mut line).unwrap();
            let v: Value = serde_json::from_slice(&line).unwrap();
            assert_eq!(v["execute"], "guest-ping");
            w.write_all(b"{\"return\": {}}\n").unwrap();
        });
        let r = command(&sock, r#"{"execute":"guest-ping"}"#, Duration::from_secs(5), Some(Duration::from_secs(5))).unwrap();
        assert_eq!(r.unwrap().to_string(), r#"{"return":{}}"#);
        h.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_silent_agent_is_unresponsive() {
        let dir = std::env::temp_dir().join(format!("oxq-agent2-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let sock = dir.join("a.sock");
        let _ = std::fs::remove_file(&sock);
        let _l = UnixListener::bind(&sock).unwrap();
        let e = command(&sock, r#"{"execute":"guest-ping"}"#, Duration::from_millis(300), None).unwrap_err();
        assert!(matches!(e, AgentError::Unresponsive(_)), "{e}");
        let e = command(&sock, "nope", Duration::from_millis(300), None).unwrap_err();
        assert!(matches!(e, AgentError::BadCommand(_)), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
