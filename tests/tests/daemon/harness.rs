//! Starting and stopping a daemon, scratch directories, running clients.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `oxvirtd` binary, built once per test run (`OXVIRTD` overrides).
pub fn oxvirtd_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("OXVIRTD") {
            return PathBuf::from(p);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status =
            cargo_cmd(&cargo).args(["build", "-q", "-p", "oxvirtd"]).current_dir(&root).status().expect("cargo build -p oxvirtd runs");
        assert!(status.success(), "building oxvirtd failed");
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
        target.join("debug").join("oxvirtd")
    })
    .clone()
}

/// `cargo` for building the binaries under test, without the package variables the
/// test runner sets for this test binary (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...):
/// build scripts that watch them (ring's) would otherwise rerun, and every build from
/// a shell and from the tests would rebuild them and everything above them.
pub fn cargo_cmd(cargo: &str) -> Command {
    let mut c = Command::new(cargo);
    for (k, _) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        let per_package = k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_BIN_EXE_")
            || matches!(
                k,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
            );
        if per_package {
            c.env_remove(k);
        }
    }
    c
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory under the system temp dir.
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("oxvirtd-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running daemon; killed (SIGTERM, then SIGKILL) on drop.
pub struct Daemon {
    child: Child,
    /// Its socket directory.
    pub dir: TempDir,
}

impl Daemon {
    /// Start `oxvirtd --socket-dir DIR` and wait for its sockets.
    pub fn start(tag: &str) -> Daemon {
        Self::start_with(tag, "")
    }

    /// Start with `config` as the configuration file's text.
    pub fn start_with(tag: &str, config: &str) -> Daemon {
        Self::start_args(tag, config, &[])
    }

    /// Start with `config` as the configuration file's text and extra arguments.
    pub fn start_args(tag: &str, config: &str, args: &[&str]) -> Daemon {
        Self::start_env(tag, config, args, &[])
    }

    /// Start with `config`, extra arguments and extra environment variables.
    pub fn start_env(tag: &str, config: &str, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = TempDir::new(tag);
        let conf = dir.0.join("oxvirtd.conf");
        std::fs::write(&conf, config).expect("write config");
        let child = Command::new(oxvirtd_bin())
            .arg("--socket-dir")
            .arg(&dir.0)
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.0.join("oxvirtd.pid"))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .spawn()
            .expect("start oxvirtd");
        let d = Daemon { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(d.sock().exists() && d.dir.0.join("oxvirtd.pid").exists()) {
            assert!(Instant::now() < deadline, "oxvirtd did not create its sockets");
            std::thread::sleep(Duration::from_millis(10));
        }
        d
    }

    /// The read-write socket.
    pub fn sock(&self) -> PathBuf {
        self.dir.0.join("libvirt-sock")
    }

    /// The read-only socket.
    pub fn sock_ro(&self) -> PathBuf {
        self.dir.0.join("libvirt-sock-ro")
    }

    /// `test+unix:///default?socket=...` for this daemon.
    pub fn uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.sock().display())
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait for the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.alive() {
            let _ = self.terminate();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client environment that ignores the developer's settings.
pub fn client_cmd(program: &str, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.env("LC_ALL", "C")
        .env("LANG", "C")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VIRSH_DEFAULT_CONNECT_URI")
        .env_remove("LIBVIRT_LOG_OUTPUTS")
        .stdin(Stdio::null());
    c
}

/// Run `virsh -c URI LINE` (LINE may chain commands with `;`). virsh 9.0 sometimes
/// hangs in its job-progress loop (`save`, `managedsave`), with the in-process driver
/// as well; such a run is killed after 30 s and retried.
pub fn virsh(uri: &str, line: &str, home: &Path) -> Output {
    which("virsh");
    for _ in 0..3 {
        let out = client_cmd("timeout", home).args(["30", "virsh", "-c", uri, line]).output().expect("virsh runs");
        if out.status.code() != Some(124) {
            return out;
        }
    }
    panic!("virsh -c {uri} '{line}' hung three times");
}

/// Fail (not skip) when a required client program is missing.
pub fn which(program: &str) {
    let found = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file())).unwrap_or(false);
    assert!(found, "{program} is required for the daemon tests (Debian package libvirt-clients); install it");
}
