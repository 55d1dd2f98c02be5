//! Start a private libvirtd for one test and stop it when the guard drops.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// libvirtd binary under test.
pub const LIBVIRTD: &str = "/usr/sbin/libvirtd";

/// A running libvirtd with its own socket directory; killed on drop.
pub struct Daemon {
    child: Child,
    dir: PathBuf,
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Daemon {
    /// Start libvirtd with `unix_sock_dir` in a fresh temp dir and no authentication.
    /// Only the drivers built into libvirt.so (test, remote) are loaded: the driver
    /// module directory points at an empty folder, so the QEMU/network/storage state
    /// drivers (which need system users and services) stay out of the way.
    pub fn start() -> Daemon {
        assert!(
            Path::new(LIBVIRTD).exists(),
            "{LIBVIRTD} is missing: these tests need libvirt 9.0's daemon (apt-get install -y libvirt-daemon)"
        );
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("oxvirt-remote-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("drivers")).unwrap();
        let conf = dir.join("libvirtd.conf");
        std::fs::write(&conf, format!("unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n", dir.display()))
            .unwrap();
        let log = std::fs::File::create(dir.join("libvirtd.log")).unwrap();
        let child = Command::new(LIBVIRTD)
            .arg("-f")
            .arg(&conf)
            .arg("--pid-file")
            .arg(dir.join("pid"))
            .env("LIBVIRT_DRIVER_DIR", dir.join("drivers"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {LIBVIRTD}: {e}"));
        let mut d = Daemon { child, dir };
        let sock = d.socket();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            if let Ok(Some(st)) = d.child.try_wait() {
                let log = std::fs::read_to_string(d.dir.join("libvirtd.log")).unwrap_or_default();
                panic!("libvirtd exited with {st}: {log}");
            }
            assert!(Instant::now() < deadline, "libvirtd did not create {sock} in time");
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// The read-write socket.
    pub fn socket(&self) -> String {
        self.dir.join("libvirt-sock").display().to_string()
    }

    /// `test+unix:///default?socket=...`.
    pub fn uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.socket())
    }

    /// Kill the daemon now (its clients see end of file).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Open the test driver's default state through the remote driver.
    pub fn open(&self) -> oxvirt::Connect {
        oxvirt_driver_remote::register();
        oxvirt::Connect::open(Some(&self.uri())).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
