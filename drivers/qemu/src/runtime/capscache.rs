//! Capabilities of real QEMU binaries, probed once per binary and kept on disk
//! (libvirt's `virQEMUCapsCache` over `virFileCache`): a short-lived
//! `qemu -S -machine none` answers the probe over QMP, and the result is written
//! atomically as the `<qemuCaps>` document to `CACHE_DIR/capabilities/<sha256 of the
//! binary's path>.xml` (`/var/cache/libvirt/qemu/capabilities` for `qemu:///system`,
//! `$XDG_CACHE_HOME/libvirt/qemu/cache/capabilities` for the session, `ROOT/cache/qemu/
//! capabilities` when embedded). A later lookup — in this process or after a daemon
//! restart — reuses the document while it is valid by libvirt's rules
//! (`virQEMUCapsIsValid`, [`check_valid`]): the binary's ctime, QEMU's module
//! directory, the prober's own binary and version, `/dev/kvm` usability, and, when
//! an accelerator was probed, the host CPU, microcode, kernel and KVM nesting.
//! Anything else makes the binary probed again and the file rewritten.

use super::process;
use crate::caps::{probe, QemuCaps};
use crate::error::{QemuError, Result};
use crate::qmp::Qmp;
use oxvirt_util::{ErrorCode, ErrorDomain, VirError};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// In-memory cache by (cache directory, binary path); an instance with another cache
/// directory reuses a valid entry of the same binary instead of probing it again.
type CapsMap = HashMap<(PathBuf, PathBuf), Arc<QemuCaps>>;

/// Process-wide cache: probing is the same for every driver instance.
static CACHE: Mutex<Option<CapsMap>> = Mutex::new(None);

/// How many binaries this process has probed (tests and benchmarks read it).
static PROBES: AtomicU64 = AtomicU64::new(0);

/// How long one probing QEMU may take to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// QEMU's module directory on Debian (libvirt's `QEMU_MODDIR`).
const QEMU_MODDIR: &str = "/usr/lib/x86_64-linux-gnu/qemu";

/// Number of probes run by this process so far.
pub fn probe_count() -> u64 {
    PROBES.load(Ordering::Relaxed)
}

/// The error libvirt gives for a binary it cannot use (`VIR_ERR_SYSTEM_ERROR`,
/// "Cannot check QEMU binary PATH: REASON").
pub fn missing_binary(binary: &str, e: &std::io::Error) -> VirError {
    let reason = match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    };
    VirError::new(ErrorCode::SystemError, ErrorDomain::Qemu, format!("Cannot check QEMU binary {binary}: {reason}"))
}

/// The cache file of `binary` below the driver's cache directory.
pub fn cache_file(cache_dir: &Path, binary: &str) -> PathBuf {
    cache_dir.join("capabilities").join(format!("{}.xml", sha256_hex(binary.as_bytes())))
}

/// The prober's version as libvirt encodes versions (`major * 1_000_000 + minor * 1_000 +
/// micro`), from this crate's version.
pub fn self_version() -> u64 {
    let mut parts = env!("CARGO_PKG_VERSION").split(['.', '-']).map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b, c) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    a * 1_000_000 + b * 1_000 + c
}

/// What validity depends on, as observed now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// ctime of the binary (`None`: it cannot be stat'ed).
    pub binary_ctime: Option<u64>,
    /// mtime of QEMU's module directory, when it exists.
    pub mod_dir_mtime: Option<u64>,
    /// ctime of the running prober's own executable.
    pub self_ctime: u64,
    /// The prober's version.
    pub self_vers: u64,
    /// Whether `/dev/kvm` can be opened for reading and writing.
    pub kvm_usable: bool,
    /// Whether the binary's guests are native to the host (KVM checks apply).
    pub native: bool,
    /// Host CPU signature (x86: vendor, model name, family, model, stepping).
    pub cpu_signature: Option<String>,
    /// Host CPU microcode revision.
    pub microcode: u64,
    /// Kernel release and version (`uname -r`, `uname -v`).
    pub kernel_version: Option<String>,
    /// Whether KVM offers nested virtualization.
    pub kvm_nesting: bool,
}

/// Why a cached document is stale (libvirt's debug messages of `virQEMUCapsIsValid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The module directory changed.
    ModDir,
    /// oxvirt's binary or version changed.
    SelfChanged,
    /// The binary is gone.
    BinaryMissing,
    /// The binary changed (its ctime differs).
    BinaryChanged,
    /// KVM became usable after a probe without it.
    KvmAppeared,
    /// KVM was probed but is no longer usable.
    KvmGone,
    /// Host CPU, microcode or kernel changed.
    HostChanged,
    /// KVM nesting changed.
    NestingChanged,
}

/// libvirt's `virQEMUCapsIsValid`: whether `caps` still describe the binary on this host.
pub fn check_valid(caps: &QemuCaps, now: &HostFacts) -> std::result::Result<(), Stale> {
    if let Some(m) = now.mod_dir_mtime {
        if caps.mod_dir_mtime != Some(m) {
            return Err(Stale::ModDir);
        }
    }
    if caps.self_ctime != now.self_ctime || caps.self_vers != now.self_vers {
        return Err(Stale::SelfChanged);
    }
    match now.binary_ctime {
        None => return Err(Stale::BinaryMissing),
        Some(c) if c != caps.qemu_ctime => return Err(Stale::BinaryChanged),
        Some(_) => {}
    }
    if !now.native {
        return Ok(());
    }
    let kvm = caps.has("kvm");
    if !kvm && now.kvm_usable {
        return Err(Stale::KvmAppeared);
    }
    if kvm && !now.kvm_usable {
        return Err(Stale::KvmGone);
    }
    let host_changed = caps.host_cpu_signature != now.cpu_signature
        || caps.microcode_version != now.microcode
        || caps.kernel_version != now.kernel_version;
    if (kvm || caps.has("hvf")) && host_changed {
        return Err(Stale::HostChanged);
    }
    if kvm && caps.kvm_supports_nesting != now.kvm_nesting {
        return Err(Stale::NestingChanged);
    }
    Ok(())
}

fn ctime_of(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| u64::try_from(m.ctime()).unwrap_or(0))
}

/// The host facts that do not change while the process runs.
struct StaticFacts {
    self_ctime: u64,
    cpu_signature: Option<String>,
    microcode: u64,
    kernel_version: Option<String>,
    kvm_nesting: bool,
}

fn static_facts() -> &'static StaticFacts {
    static F: OnceLock<StaticFacts> = OnceLock::new();
    F.get_or_init(|| {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo.lines().take_while(|l| !l.trim().is_empty()).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
        };
        let cpu_signature = match (field("vendor_id"), field("model name"), field("cpu family"), field("model"), field("stepping")) {
            (Some(v), Some(n), Some(f), Some(m), Some(s)) => Some(format!("{v}, {n}, family: {f}, model: {m}, stepping: {s}")),
            _ => None,
        };
        let microcode = field("microcode")
            .and_then(|m| {
                let h = m.trim_start_matches("0x");
                u64::from_str_radix(h, 16).ok()
            })
            .unwrap_or(0);
        let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
        let kernel_version = match (read("/proc/sys/kernel/osrelease"), read("/proc/sys/kernel/version")) {
            (Some(r), Some(v)) => Some(format!("{r} {v}")),
            _ => None,
        };
        let nested = |m: &str| read(&format!("/sys/module/{m}/parameters/nested")).is_some_and(|v| v == "Y" || v == "1");
        StaticFacts {
            self_ctime: ctime_of(Path::new("/proc/self/exe")).unwrap_or(0),
            cpu_signature,
            microcode,
            kernel_version,
            kvm_nesting: nested("kvm_intel") || nested("kvm_amd"),
        }
    })
}

/// The facts about `binary` (of architecture `arch`) and the host right now.
pub fn host_facts(binary: &str, arch: &str) -> HostFacts {
    let s = static_facts();
    let mod_dir = Path::new(QEMU_MODDIR);
    HostFacts {
        binary_ctime: ctime_of(Path::new(binary)),
        mod_dir_mtime: std::fs::metadata(mod_dir).ok().map(|m| u64::try_from(m.mtime()).unwrap_or(0)),
        self_ctime: s.self_ctime,
        self_vers: self_version(),
        kvm_usable: std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok(),
        native: crate::domcaps::guest_is_native(&crate::domcaps::host_arch(), arch),
        cpu_signature: s.cpu_signature.clone(),
        microcode: s.microcode,
        kernel_version: s.kernel_version.clone(),
        kvm_nesting: s.kvm_nesting,
    }
}

/// Record `now` in freshly probed `caps` (what [`check_valid`] compares later).
fn stamp(caps: &mut QemuCaps, now: &HostFacts) {
    caps.qemu_ctime = now.binary_ctime.unwrap_or(0);
    caps.mod_dir_mtime = now.mod_dir_mtime;
    caps.self_ctime = now.self_ctime;
    caps.self_vers = now.self_vers;
    if caps.has("kvm") || caps.has("hvf") {
        caps.host_cpu_signature = now.cpu_signature.clone();
        caps.microcode_version = now.microcode;
        caps.kernel_version = now.kernel_version.clone();
    }
    caps.kvm_supports_nesting = caps.has("kvm") && now.kvm_nesting;
}

fn check_binary(binary: &str) -> std::result::Result<(), VirError> {
    let md = std::fs::metadata(binary).map_err(|e| missing_binary(binary, &e))?;
    if !md.is_file() {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
        return Err(missing_binary(binary, &e));
    }
    Ok(())
}

/// The stored document of `binary`, if there is one for it and it is still valid.
fn load_valid(file: &Path, binary: &str) -> Option<QemuCaps> {
    let text = std::fs::read_to_string(file).ok()?;
    let caps = QemuCaps::parse(&text).ok()?;
    if caps.emulator != binary {
        return None;
    }
    check_valid(&caps, &host_facts(binary, &caps.arch)).ok().map(|_| caps)
}

/// The capabilities of `binary`: from memory or the cache file of `cache_dir` when
/// still valid, else probed (and stored). `cache_dir` also holds the probe's monitor
/// socket and log while it runs.
pub fn lookup(binary: &str, cache_dir: &Path) -> std::result::Result<Arc<QemuCaps>, VirError> {
    check_binary(binary)?;
    let key = (cache_dir.to_path_buf(), PathBuf::from(binary));
    let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(caps) = map.get(&key) {
        if check_valid(caps, &host_facts(binary, &caps.arch)).is_ok() {
            return Ok(caps.clone());
        }
        map.remove(&key);
    }
    let file = cache_file(cache_dir, binary);
    if let Some(caps) = load_valid(&file, binary) {
        let caps = Arc::new(caps);
        map.insert(key, caps.clone());
        return Ok(caps);
    }
    // Another driver instance of this process may hold valid capabilities of the same
    // binary (probing is the same for every instance): store them here too.
    let shared = map.iter().find(|((_, b), c)| b == Path::new(binary) && check_valid(c, &host_facts(binary, &c.arch)).is_ok());
    if let Some((_, caps)) = shared {
        let caps = caps.clone();
        store(&file, &caps)?;
        map.insert(key, caps.clone());
        return Ok(caps);
    }
    // Probing holds the lock: concurrent starts of the same new binary probe once.
    let before = host_facts(binary, "");
    let mut caps = probe_binary(binary, cache_dir)?;
    PROBES.fetch_add(1, Ordering::Relaxed);
    let mut now = host_facts(binary, &caps.arch);
    now.binary_ctime = before.binary_ctime;
    stamp(&mut caps, &now);
    store(&file, &caps)?;
    let caps = Arc::new(caps);
    map.insert(key, caps.clone());
    Ok(caps)
}

fn store(file: &Path, caps: &QemuCaps) -> std::result::Result<(), VirError> {
    let fail = |e: std::io::Error| {
        let reason = match e.raw_os_error() {
            Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
            None => e.to_string(),
        };
        VirError::new(
            ErrorCode::SystemError,
            ErrorDomain::Qemu,
            format!("Failed to save '{}' for '{}': {reason}", file.display(), caps.emulator),
        )
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    // Mode 0600, as libvirt's virQEMUCapsSaveFile.
    oxvirt_util::fs::atomic_write_mode(file, caps.format().as_bytes(), 0o600).map_err(fail)
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

/// SHA-256 (FIPS 180-4) of `data` as lowercase hex: the cache file name of a binary's
/// path, as libvirt's `virFileCacheGetFileName` derives it.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
        0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
        0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
        0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
        0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
        0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate().take(16) {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(v);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn facts() -> HostFacts {
        HostFacts {
            binary_ctime: Some(100),
            mod_dir_mtime: Some(50),
            self_ctime: 7,
            self_vers: 1_000,
            kvm_usable: true,
            native: true,
            cpu_signature: Some("GenuineIntel, X, family: 6, model: 85, stepping: 7".into()),
            microcode: 0x42,
            kernel_version: Some("6.1.0 #1 SMP".into()),
            kvm_nesting: false,
        }
    }

    fn probed(now: &HostFacts) -> QemuCaps {
        let mut c = QemuCaps { emulator: "/q".into(), arch: "x86_64".into(), ..Default::default() };
        c.set("kvm");
        c.set("tcg");
        stamp(&mut c, now);
        c
    }

    #[test]
    fn sha256_matches_known_vectors() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(sha256_hex(long), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        assert!(cache_file(Path::new("/c"), "/usr/bin/qemu-system-x86_64").starts_with("/c/capabilities"));
    }

    #[test]
    fn fresh_caps_are_valid_and_survive_a_round_trip() {
        let now = facts();
        let c = probed(&now);
        assert_eq!(check_valid(&c, &now), Ok(()));
        let back = QemuCaps::parse(&c.format()).unwrap();
        assert_eq!(check_valid(&back, &now), Ok(()));
    }

    #[test]
    fn a_changed_binary_prober_or_host_invalidates() {
        let now = facts();
        let c = probed(&now);
        let with = |f: &dyn Fn(&mut HostFacts)| {
            let mut n = now.clone();
            f(&mut n);
            check_valid(&c, &n)
        };
        assert_eq!(with(&|n| n.binary_ctime = Some(101)), Err(Stale::BinaryChanged));
        assert_eq!(with(&|n| n.binary_ctime = None), Err(Stale::BinaryMissing));
        assert_eq!(with(&|n| n.mod_dir_mtime = Some(51)), Err(Stale::ModDir));
        assert_eq!(with(&|n| n.self_ctime = 8), Err(Stale::SelfChanged));
        assert_eq!(with(&|n| n.self_vers = 1_001), Err(Stale::SelfChanged));
        assert_eq!(with(&|n| n.kvm_usable = false), Err(Stale::KvmGone));
        assert_eq!(with(&|n| n.microcode = 0x43), Err(Stale::HostChanged));
        assert_eq!(with(&|n| n.kernel_version = Some("6.2".into())), Err(Stale::HostChanged));
        assert_eq!(with(&|n| n.kvm_nesting = true), Err(Stale::NestingChanged));
        // Foreign-architecture binaries skip the KVM and host checks.
        assert_eq!(
            with(&|n| {
                n.native = false;
                n.kvm_usable = false;
            }),
            Ok(())
        );
    }

    #[test]
    fn kvm_appearing_invalidates_a_tcg_only_probe() {
        let mut now = facts();
        now.kvm_usable = false;
        let mut c = QemuCaps { emulator: "/q".into(), arch: "x86_64".into(), ..Default::default() };
        c.set("tcg");
        stamp(&mut c, &now);
        assert_eq!(check_valid(&c, &now), Ok(()));
        now.kvm_usable = true;
        assert_eq!(check_valid(&c, &now), Err(Stale::KvmAppeared));
    }
}
