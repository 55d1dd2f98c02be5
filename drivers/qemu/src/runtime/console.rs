//! Console streams (`virDomainOpenConsole`): a guest's pty-backed serial port or
//! console opened for one client at a time (libvirt keeps the same rule in
//! `virchrdev.c`).
//!
//! QEMU creates the pty (`-chardev pty`); its path, read from `query-chardev` after
//! start, is in the live definition (`<source path='/dev/pts/N'/>`). A console stream
//! opens that path in raw mode: what the guest writes is received from the stream,
//! what is sent is typed into the guest. A second session on the same pty is refused
//! unless forced, in which case the first session ends with an error on its next read
//! or write. The stream ends (end of data) when QEMU closes its side.

use super::err;
use oxvirt::stream::{StreamChunk, StreamDriver};
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::{Chardev, DomainDef};
use serde_json::Value;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long one wait for guest output lasts before the session's state is checked.
const SLICE: Duration = Duration::from_millis(100);
/// The most a single read from the pty takes.
const READ_MAX: usize = 64 * 1024;

/// The open console sessions of a driver instance, by pty path: each session's
/// "taken over" flag.
#[derive(Default, Clone)]
pub struct Sessions(Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>);

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<AtomicBool>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The alias a character device has (or gets from the command-line builder):
/// `serialN`, `consoleN`, `channelN`, `parallelN`.
fn alias_of(c: &Chardev, n: usize) -> String {
    c.info.alias.clone().unwrap_or_else(|| format!("{}{n}", c.device))
}

/// The chardevs of `def` with their index among devices of the same kind.
fn numbered(def: &DomainDef) -> Vec<(usize, &Chardev)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    def.devices
        .chardevs
        .iter()
        .map(|c| {
            let n = counts.entry(c.device.as_str()).or_default();
            *n += 1;
            (*n - 1, c)
        })
        .collect()
}

/// Whether console `c` is the HVM alias of the serial port with the same index.
fn is_serial_console(def: &DomainDef, c: &Chardev) -> bool {
    c.device == "console" && def.devices.hvm && matches!(c.target_type(), None | Some("serial"))
}

/// The pty path of the device `dev_name` names (an alias), or of the first console,
/// else the first serial port (libvirt's `qemuDomainOpenConsole` choice).
pub fn pty_of(def: &DomainDef, dev_name: Option<&str>) -> Result<String> {
    let all = numbered(def);
    let serial = |n: usize| all.iter().find(|(i, c)| c.device == "serial" && *i == n).map(|(_, c)| *c);
    let chosen: Option<(String, &Chardev)> = match dev_name {
        Some(name) => ["console", "serial", "parallel"].iter().find_map(|kind| {
            all.iter().filter(|(_, c)| c.device == *kind).find(|(n, c)| alias_of(c, *n) == name).map(|(n, c)| (alias_of(c, *n), *c))
        }),
        None => all
            .iter()
            .find(|(_, c)| c.device == "console")
            .or_else(|| all.iter().find(|(_, c)| c.device == "serial"))
            .map(|(n, c)| (alias_of(c, *n), *c)),
    };
    let Some((alias, mut chr)) = chosen else {
        return Err(err(ErrorCode::InternalError, format!("cannot find character device {}", dev_name.unwrap_or("<null>"))));
    };
    // A serial-type console of an HVM guest is the serial port itself.
    if is_serial_console(def, chr) {
        let n = all.iter().filter(|(_, c)| c.device == "console").position(|(_, c)| std::ptr::eq(*c, chr)).unwrap_or(0);
        if let Some(s) = serial(n) {
            chr = s;
        }
    }
    if chr.source.chr_type != "pty" {
        return Err(err(ErrorCode::InternalError, format!("character device {alias} is not using a PTY")));
    }
    chr.source
        .path
        .clone()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| err(ErrorCode::InternalError, format!("character device {alias} has no PTY path yet")))
}

/// Put the pty paths QEMU chose (`query-chardev`: `filename` `pty:/dev/pts/N`) into
/// the live definition: serial ports (`charserialN`), channels (`charchannelN`),
/// non-serial consoles (`charconsoleN`), and serial-type consoles as their serial port.
pub fn assign_pty_paths(def: &mut DomainDef, chardevs: &Value) {
    let ptys: HashMap<&str, &str> = chardevs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("label")?.as_str()?, c.get("filename")?.as_str()?.strip_prefix("pty:")?)))
        .collect();
    let hvm = def.devices.hvm;
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut serial_paths: Vec<Option<String>> = Vec::new();
    for c in def.devices.chardevs.iter_mut() {
        let counter = counts.entry(c.device.clone()).or_default();
        let n = *counter;
        *counter += 1;
        if c.device == "serial" {
            serial_paths.push(None);
        }
        if c.source.chr_type != "pty" || (c.device == "console" && hvm && matches!(c.target_type(), None | Some("serial"))) {
            continue;
        }
        if let Some(p) = ptys.get(format!("char{}{n}", c.device).as_str()) {
            c.source.path = Some((*p).to_string());
            if c.device == "serial" {
                if let Some(last) = serial_paths.last_mut() {
                    *last = Some((*p).to_string());
                }
            }
        }
    }
    for (n, c) in def.devices.chardevs.iter_mut().filter(|c| c.device == "console").enumerate() {
        if c.source.chr_type == "pty" && hvm && matches!(c.target_type(), None | Some("serial")) {
            if let Some(Some(p)) = serial_paths.get(n) {
                c.source.path = Some(p.clone());
            }
        }
    }
}

/// Open `path` (a pty) for a new console session.
pub fn open(sessions: &Sessions, path: &str, force: bool) -> Result<Box<dyn StreamDriver>> {
    let mut map = sessions.lock();
    if let Some(old) = map.get(path) {
        if !force {
            return Err(err(ErrorCode::OperationFailed, "Active console session exists for this domain"));
        }
        old.store(true, Ordering::SeqCst);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| err(ErrorCode::SystemError, format!("Unable to open '{path}': {e}")))?;
    let mut tio = nix::sys::termios::tcgetattr(file.as_fd())
        .map_err(|e| err(ErrorCode::SystemError, format!("unable to get tty attributes of '{path}': {e}")))?;
    nix::sys::termios::cfmakeraw(&mut tio);
    nix::sys::termios::tcsetattr(file.as_fd(), nix::sys::termios::SetArg::TCSADRAIN, &tio)
        .map_err(|e| err(ErrorCode::SystemError, format!("unable to set tty attributes of '{path}': {e}")))?;
    let kicked = Arc::new(AtomicBool::new(false));
    map.insert(path.to_string(), kicked.clone());
    Ok(Box::new(ConsoleStream { file: Some(file), path: path.to_string(), kicked, sessions: sessions.clone(), eof: false }))
}

/// One console session.
struct ConsoleStream {
    /// The pty; `None` once closed.
    file: Option<File>,
    path: String,
    /// Set when another session took the console over.
    kicked: Arc<AtomicBool>,
    sessions: Sessions,
    /// The guest's side closed.
    eof: bool,
}

fn taken_over() -> Error {
    Error::new(ErrorCode::OperationAborted, ErrorDomain::Streams, "the console was taken over by another session")
}

impl ConsoleStream {
    fn file(&mut self) -> Result<&mut File> {
        if self.kicked.load(Ordering::SeqCst) {
            self.close();
            return Err(taken_over());
        }
        self.file.as_mut().ok_or_else(|| Error::new(ErrorCode::OperationInvalid, ErrorDomain::Streams, "stream is not open"))
    }

    /// Close the pty and end the session (unless another one replaced it).
    fn close(&mut self) {
        self.file = None;
        let mut map = self.sessions.lock();
        if map.get(&self.path).is_some_and(|k| Arc::ptr_eq(k, &self.kicked)) {
            map.remove(&self.path);
        }
    }

    /// The guest's side is gone: the pty is closed and the console free for a new
    /// session at once, though this stream is only finished by its client.
    fn ended(&mut self) -> StreamChunk {
        self.eof = true;
        self.close();
        StreamChunk::Eof
    }

    /// Wait up to `timeout` (`None`: forever) for guest output.
    fn read_within(&mut self, max: usize, timeout: Option<Duration>) -> Result<Option<StreamChunk>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let max = max.clamp(1, READ_MAX);
        loop {
            if self.eof {
                return Ok(Some(StreamChunk::Eof));
            }
            let file = self.file()?;
            let mut buf = vec![0u8; max];
            match file.read(&mut buf) {
                Ok(0) => return Ok(Some(self.ended())),
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(Some(StreamChunk::Data(buf)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: QEMU closed the pty's other side (the guest is gone).
                Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => return Ok(Some(self.ended())),
                Err(e) => return Err(err(ErrorCode::SystemError, format!("cannot read from '{}': {e}", self.path))),
            }
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    left.min(SLICE)
                }
                None => SLICE,
            };
            let ms = u16::try_from(slice.as_millis()).unwrap_or(u16::MAX).max(1);
            let file = self.file()?;
            let mut fds = [nix::poll::PollFd::new(file.as_fd(), nix::poll::PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, ms) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(err(ErrorCode::SystemError, format!("cannot wait for '{}': {e}", self.path))),
            }
        }
    }
}

impl StreamDriver for ConsoleStream {
    fn send(&mut self, data: &[u8]) -> Result<()> {
        let path = self.path.clone();
        let mut rest = data;
        while !rest.is_empty() {
            let file = self.file()?;
            match file.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let mut fds = [nix::poll::PollFd::new(file.as_fd(), nix::poll::PollFlags::POLLOUT)];
                    let _ = nix::poll::poll(&mut fds, 100u16);
                }
                Err(e) => return Err(err(ErrorCode::SystemError, format!("cannot write to '{path}': {e}"))),
            }
        }
        Ok(())
    }

    fn recv(&mut self, max: usize) -> Result<StreamChunk> {
        self.read_within(max, None).map(|c| c.unwrap_or(StreamChunk::Eof))
    }

    fn recv_timeout(&mut self, max: usize, timeout: Duration) -> Result<Option<StreamChunk>> {
        self.read_within(max, Some(timeout))
    }

    fn finish(&mut self) -> Result<()> {
        self.close();
        Ok(())
    }

    fn abort(&mut self) -> Result<()> {
        self.close();
        Ok(())
    }
}

impl Drop for ConsoleStream {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use oxvirt_conf::domain::ParseOptions;

    fn def(devices: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>c</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os><devices>{devices}</devices></domain>"
        );
        DomainDef::parse(&xml, &ParseOptions::default()).unwrap()
    }

    #[test]
    fn pty_paths_from_query_chardev() {
        let mut d = def("<serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>");
        assert!(pty_of(&d, None).unwrap_err().to_string().contains("no PTY path"));
        let q = serde_json::json!([
            {"label": "charmonitor", "filename": "unix:/x,server=on"},
            {"label": "charserial0", "filename": "pty:/dev/pts/7"}
        ]);
        assign_pty_paths(&mut d, &q);
        assert_eq!(pty_of(&d, None).unwrap(), "/dev/pts/7");
        assert_eq!(pty_of(&d, Some("serial0")).unwrap(), "/dev/pts/7");
        assert!(pty_of(&d, Some("serial1")).unwrap_err().to_string().contains("cannot find character device serial1"));
        let xml = d.format(&Default::default());
        assert_eq!(xml.matches("<source path='/dev/pts/7'/>").count(), 2, "{xml}");
        let f = def("<serial type='file'><source path='/tmp/s'/><target port='0'/></serial>");
        assert!(pty_of(&f, None).unwrap_err().to_string().contains("is not using a PTY"));
    }

    #[test]
    fn one_session_unless_forced() {
        let Ok(pt) = nix::pty::openpty(None, None) else { return };
        let path = nix::unistd::ttyname(&pt.slave).unwrap().display().to_string();
        let s = Sessions::default();
        let mut first = open(&s, &path, false).unwrap();
        assert_eq!(open(&s, &path, false).err().unwrap().code, ErrorCode::OperationFailed);
        let mut second = open(&s, &path, true).unwrap();
        assert_eq!(first.recv_timeout(10, Duration::from_millis(10)).unwrap_err().code, ErrorCode::OperationAborted);
        nix::unistd::write(&pt.master, b"hello").unwrap();
        assert_eq!(second.recv_timeout(10, Duration::from_secs(5)).unwrap(), Some(StreamChunk::Data(b"hello".to_vec())));
        assert_eq!(second.recv_timeout(10, Duration::from_millis(10)).unwrap(), None);
        second.send(b"typed").unwrap();
        let mut buf = [0u8; 16];
        let n = nix::unistd::read(&pt.master, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"typed");
        drop(first);
        assert!(open(&s, &path, false).is_err());
        drop(second);
        let mut third = open(&s, &path, false).unwrap();
        drop(pt.master);
        assert_eq!(third.recv(10).unwrap(), StreamChunk::Eof);
        assert_eq!(third.recv(10).unwrap(), StreamChunk::Eof);
        assert!(s.lock().is_empty(), "the session ends with the guest's side");
    }
}
