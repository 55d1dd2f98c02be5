//! Capabilities of real QEMU binaries, probed once per binary (libvirt's
//! `virQEMUCapsCache`): a short-lived `qemu -S -machine none` answers the probe
//! over QMP, and the result is kept in memory keyed by the binary's path, size and
//! modification time, so an upgraded binary is probed again.

use super::process;
use crate::caps::{probe, QemuCaps};
use crate::error::{QemuError, Result};
use crate::qmp::Qmp;
use oxvirt_util::{ErrorCode, ErrorDomain, VirError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

type Key = (u64, SystemTime);
type CapsMap = HashMap<PathBuf, (Key, Arc<QemuCaps>)>;

/// Process-wide cache: probing is the same for every driver instance.
static CACHE: Mutex<Option<CapsMap>> = Mutex::new(None);

/// How long one probing QEMU may take to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The error libvirt gives for a binary it cannot use (`VIR_ERR_SYSTEM_ERROR`,
/// "Cannot check QEMU binary PATH: REASON").
pub fn missing_binary(binary: &str, e: &std::io::Error) -> VirError {
    VirError::new(ErrorCode::SystemError, ErrorDomain::Qemu, format!("Cannot check QEMU binary {binary}: {e}"))
}

fn key_of(binary: &str) -> std::result::Result<Key, VirError> {
    let md = std::fs::metadata(binary).map_err(|e| missing_binary(binary, &e))?;
    if !md.is_file() {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
        return Err(missing_binary(binary, &e));
    }
    Ok((md.len(), md.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
}

/// The capabilities of `binary`, probing it when not cached or changed. `scratch`
/// is a directory for the probe's monitor socket and log.
pub fn lookup(binary: &str, scratch: &Path) -> std::result::Result<Arc<QemuCaps>, VirError> {
    let key = key_of(binary)?;
    let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some((k, caps)) = map.get(Path::new(binary)) {
        if *k == key {
            return Ok(caps.clone());
        }
    }
    // Probing holds the lock: concurrent starts of the same new binary probe once.
    let caps = Arc::new(probe_binary(binary, scratch)?);
    map.insert(PathBuf::from(binary), (key, caps.clone()));
    Ok(caps)
}

/// One probing QEMU, killed (and its files removed) when dropped.
struct ProbeProcess {
    pid: i32,
    dir: PathBuf,
}

impl Drop for ProbeProcess {
    fn drop(&mut self) {
        let _ = process::terminate(self.pid, false, Duration::from_millis(500));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_probe(binary: &str, scratch: &Path, accel: &str, n: u32) -> Result<(ProbeProcess, Qmp)> {
    let dir = scratch.join(format!("probe-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|source| QemuError::Io { path: dir.display().to_string(), source })?;
    let sock = dir.join("qmp.monitor");
    let log = dir.join("probe.log");
    let args: Vec<String> = [
        "-S",
        "-no-user-config",
        "-nodefaults",
        "-nographic",
        "-machine",
        &format!("none,accel={accel}"),
        "-qmp",
        &format!("unix:{},server=on,wait=off", sock.display()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let env = process::sanitized_env(&dir);
    let spawned = match process::spawn(binary, &args, &env, &log) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    let guard = ProbeProcess { pid: spawned.pid, dir };
    let qmp = process::connect_monitor(spawned.pid, &sock, &log, spawned.log_offset, PROBE_TIMEOUT, PROBE_TIMEOUT, Box::new(|_| {}))
        .map_err(|e| QemuError::Internal(format!("cannot probe the capabilities of {binary}: {e}")))?;
    Ok((guard, qmp))
}

fn probe_binary(binary: &str, scratch: &Path) -> Result<QemuCaps> {
    let mut caps = QemuCaps { emulator: binary.to_string(), ..Default::default() };
    {
        let (_proc, mut qmp) = start_probe(binary, scratch, "kvm:tcg", 0)?;
        probe::probe_main(&mut caps, &mut qmp)?;
    }
    if caps.has("kvm") {
        let (_proc, mut qmp) = start_probe(binary, scratch, "tcg", 1)?;
        probe::probe_tcg(&mut caps, &mut qmp)?;
    }
    Ok(caps)
}
