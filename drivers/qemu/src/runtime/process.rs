//! QEMU processes: spawning with a sanitized environment and a log file, waiting
//! for the monitor socket, signals, liveness and reaping.
//!
//! Processes are tracked by pid only, whether this process spawned them or found
//! them in a status file, so a restarted driver treats both alike. Reaping uses
//! `waitpid(WNOHANG)`, which collects our own children and is harmless for others.

use crate::error::{QemuError, Result};
use crate::qmp::{EventCallback, Qmp};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How much of a log the error of a failed start quotes.
const LOG_TAIL_BYTES: u64 = 4096;

/// Collect `pid` if it is our exited child; never blocks.
pub fn reap(pid: i32) {
    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
}

/// Whether `pid` is a live (non-zombie) process.
pub fn is_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    reap(pid);
    match kill(Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return false,
    }
    // A zombie still answers signal 0. When it is ours, collect it now: it may have
    // exited since the first waitpid, or its leader may be a zombie while its other
    // threads are still exiting, which a non-blocking waitpid does not wait for.
    // For a zombie of another parent waitpid fails at once (ECHILD).
    let live = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    };
    if !live {
        let _ = waitpid(Pid::from_raw(pid), None);
    }
    live
}

/// Whether live `pid` runs `binary` for guest `name` (guards against pid reuse).
pub fn is_qemu_of(pid: i32, binary: &str, name: &str) -> bool {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    let args: Vec<String> = raw.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let guest = format!("guest={},", name.replace(',', ",,"));
    let binary_ok = args.first().is_some_and(|a| binary.is_empty() || a == binary);
    binary_ok && args.windows(2).any(|w| w[0] == "-name" && w[1].starts_with(&guest))
}

/// Send `sig` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: i32, sig: Signal) -> Result<()> {
    match kill(Pid::from_raw(pid), sig) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(QemuError::Internal(format!("cannot send {sig} to process {pid}: {e}"))),
    }
}

/// Wait up to `timeout` for `pid` to go away; true when it did.
pub fn wait_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        if !is_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Make sure `pid` is gone and, when it is our child, reaped: SIGKILL if needed.
pub fn ensure_gone(pid: i32) {
    if is_alive(pid) {
        let _ = signal(pid, Signal::SIGKILL);
        wait_gone(pid, Duration::from_secs(5));
    }
}

/// libvirt's `qemuProcessKill`: SIGTERM, wait, then (unless `graceful`) SIGKILL.
/// Returns whether the process is gone.
pub fn terminate(pid: i32, graceful: bool, term_wait: Duration) -> Result<bool> {
    Ok(terminate_how(pid, graceful, term_wait)?.is_some())
}

/// How [`terminate_how`] ended a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It was gone before any signal.
    Already,
    /// It exited on SIGTERM (QEMU then reports a host-initiated SHUTDOWN first).
    Term,
    /// It needed SIGKILL.
    Kill,
}

/// [`terminate`], telling how the process ended (`None`: still alive).
pub fn terminate_how(pid: i32, graceful: bool, term_wait: Duration) -> Result<Option<Ended>> {
    if !is_alive(pid) {
        return Ok(Some(Ended::Already));
    }
    signal(pid, Signal::SIGTERM)?;
    if wait_gone(pid, term_wait) {
        return Ok(Some(Ended::Term));
    }
    if graceful {
        return Ok(None);
    }
    signal(pid, Signal::SIGKILL)?;
    Ok(wait_gone(pid, Duration::from_secs(5)).then_some(Ended::Kill))
}

/// The last bytes of `log` from `offset` on (what this start wrote), trimmed.
pub fn log_tail(log: &Path, offset: u64) -> String {
    let Ok(mut f) = std::fs::File::open(log) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = offset.max(len.saturating_sub(LOG_TAIL_BYTES));
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).trim().to_string()
}

/// The environment QEMU gets (libvirt's `virCommandAddEnvPassCommon` plus the
/// per-domain `HOME` and XDG directories): nothing else of ours leaks into it.
pub fn sanitized_env(home: &Path) -> Vec<(String, String)> {
    let h = home.display().to_string();
    let mut env = vec![("LC_ALL".to_string(), "C".to_string())];
    // libvirt's `virCommandAddEnvPassCommon` passes the dynamic loader's variables on.
    for var in ["LD_PRELOAD", "LD_LIBRARY_PATH"] {
        if let Ok(v) = std::env::var(var) {
            env.push((var.into(), v));
        }
    }
    let path = std::env::var("PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string());
    env.push(("PATH".into(), path));
    env.push(("HOME".into(), h.clone()));
    for var in ["USER", "LOGNAME", "TMPDIR"] {
        if let Ok(v) = std::env::var(var) {
            env.push((var.into(), v));
        }
    }
    env.push(("XDG_DATA_HOME".into(), format!("{h}/.local/share")));
    env.push(("XDG_CACHE_HOME".into(), format!("{h}/.cache")));
    env.push(("XDG_CONFIG_HOME".into(), format!("{h}/.config")));
    env
}

/// util-linux's privilege switcher (Debian: `util-linux`, an essential package).
const SETPRIV: &str = "/usr/bin/setpriv";

/// The groups of the user owning `uid` (libvirt's `virGetGroupList`), its primary
/// `gid` included; empty when no user has that uid.
fn supplementary_groups(uid: u32, gid: u32) -> Vec<u32> {
    let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) else { return Vec::new() };
    let Ok(name) = std::ffi::CString::new(user.name) else { return Vec::new() };
    nix::unistd::getgrouplist(&name, nix::unistd::Gid::from_raw(gid))
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default()
}

/// A spawned QEMU.
#[derive(Debug)]
pub struct Spawned {
    /// Its pid.
    pub pid: i32,
    /// Where its log of this start begins.
    pub log_offset: u64,
}

/// Start `binary args` with exactly `env`, stdin from /dev/null, stdout and stderr
/// appended to `log` after a header line with the command, in a process group of its
/// own (so a terminal's ^C to the daemon does not reach guests).
pub fn spawn(binary: &str, args: &[String], env: &[(String, String)], log: &Path) -> Result<Spawned> {
    spawn_as(binary, args, env, log, None)
}

/// [`spawn`], running the program as `creds` (uid, gid) when given, with the
/// supplementary groups of that uid's user (none for an id without a passwd entry)
/// and no capabilities, even as root: libvirt's `virCommandSetUID`/`SetGID` and
/// `virCommandClearCaps` (`clear_emulator_capabilities`). The switch happens in the
/// child before `exec`, through util-linux's `setpriv`, which then execs the program
/// (same pid, the program's own command line), since the workspace denies the
/// `unsafe` of a `pre_exec` hook. The log file is opened here, by the caller, so it
/// need not be writable by that user.
pub fn spawn_as(binary: &str, args: &[String], env: &[(String, String)], log: &Path, creds: Option<(u32, u32)>) -> Result<Spawned> {
    let io = |what: &str, e: std::io::Error| QemuError::Internal(format!("{what} '{}': {e}", log.display()));
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(|e| io("cannot open log file", e))?;
    let mut header = String::from("starting up\n");
    for (k, v) in env {
        header.push_str(&format!("{k}={v} \\\n"));
    }
    header.push_str(binary);
    for a in args {
        header.push_str(" \\\n");
        header.push_str(a);
    }
    header.push('\n');
    f.write_all(header.as_bytes()).map_err(|e| io("cannot write log file", e))?;
    let log_offset = f.metadata().map(|m| m.len()).unwrap_or(0);
    let err = f.try_clone().map_err(|e| io("cannot duplicate log file", e))?;
    let mut cmd = match creds {
        None => std::process::Command::new(binary),
        Some((uid, gid)) => {
            let mut c = std::process::Command::new(SETPRIV);
            c.arg(format!("--reuid={uid}")).arg(format!("--regid={gid}"));
            let groups = supplementary_groups(uid, gid);
            if groups.is_empty() {
                c.arg("--clear-groups");
            } else {
                c.arg(format!("--groups={}", groups.iter().map(u32::to_string).collect::<Vec<_>>().join(",")));
            }
            c.args(["--inh-caps=-all", "--bounding-set=-all", "--", binary]);
            c
        }
    };
    let child = cmd
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(f)
        .stderr(err)
        .current_dir("/")
        .process_group(0)
        .spawn()
        .map_err(|e| match creds {
            Some(_) => QemuError::Internal(format!("cannot execute '{SETPRIV}' to run '{binary}': {e}")),
            None => QemuError::Internal(format!("cannot execute '{binary}': {e}")),
        })?;
    let pid = i32::try_from(child.id()).map_err(|_| QemuError::Internal("child pid out of range".into()))?;
    // Dropping `Child` neither kills nor waits; reaping goes through `reap`.
    drop(child);
    Ok(Spawned { pid, log_offset })
}

/// Connect to the monitor of a starting QEMU: retry until the socket accepts or
/// `timeout` passes, failing at once when the process exits. The error quotes the
/// tail of the log.
pub fn connect_monitor(
    pid: i32,
    socket: &Path,
    log: &Path,
    log_offset: u64,
    timeout: Duration,
    cmd_timeout: Duration,
    on_event: EventCallback,
) -> Result<Qmp> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(500);
    let failed = |what: String| {
        let tail = log_tail(log, log_offset);
        QemuError::Internal(if tail.is_empty() { what } else { format!("{what}: {tail}") })
    };
    let stream = loop {
        if !is_alive(pid) {
            return Err(failed("QEMU exited while connecting to its monitor".into()));
        }
        match UnixStream::connect(socket) {
            Ok(s) => break s,
            Err(e) if Instant::now() >= deadline => {
                return Err(failed(format!("cannot connect to the monitor socket '{}': {e}", socket.display())))
            }
            Err(_) => {}
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    Qmp::from_stream(stream, cmd_timeout, on_event).map_err(|e| failed(format!("cannot talk to the QEMU monitor: {e}")))
}
