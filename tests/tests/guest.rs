//! The tiny test guest (`scripts/build-test-guest.sh`, docs/test-guest.md) under plain
//! QEMU, without oxvirt: it boots to its marker, bumps the counter on its virtio disk once
//! per boot, answers the guest agent, and powers off on the ACPI button. Every QEMU-driver
//! test builds on these behaviours, so they are checked here on their own first.
//!
//! Needs these Debian packages (scripts/test.sh installs them; the test fails, it does
//! not skip, when they are missing): `qemu-system-x86` (qemu-system-x86_64, SeaBIOS),
//! and for the build script `apt`, `dpkg`, `gzip`, `util-linux` (flock) — all present on
//! any Debian — plus access to the Debian mirror the first time (`lz4` is optional: it is
//! downloaded when missing).
//!
//! Accelerator: TCG when `/sys/module/kvm_pvm` exists (PVM cannot run an unmodified
//! kernel, see ../shared/reference/qemu-test-guest.md §0), KVM when `kvm_intel` or
//! `kvm_amd` is loaded and `/dev/kvm` opens, TCG otherwise.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const READY: &str = "OXVIRT-GUEST-READY";
const PACKAGES: &str = "qemu-system-x86 (and apt, dpkg, gzip, util-linux)";
/// Generous: a boot takes ~2.5 s under TCG on an idle 2-core machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
const AGENT_TIMEOUT: Duration = Duration::from_secs(30);
const POWERDOWN_TIMEOUT: Duration = Duration::from_secs(20);

/// The guest's files, as printed by the build script.
pub(crate) struct Guest {
    pub(crate) kernel: PathBuf,
    pub(crate) initrd: PathBuf,
    pub(crate) cmdline: String,
}

/// The tiny test guest, built (or found up to date) by `scripts/build-test-guest.sh`.
pub(crate) fn build_guest() -> Guest {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-test-guest.sh");
    let t = Instant::now();
    let out = Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().expect("run scripts/build-test-guest.sh");
    assert!(out.status.success(), "scripts/build-test-guest.sh failed ({}); it needs {PACKAGES}", out.status);
    eprintln!("guest build/check: {:.2} s", t.elapsed().as_secs_f64());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let get = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("build script printed no {key}=: {stdout}"))
            .to_string()
    };
    let guest = Guest { kernel: get("KERNEL").into(), initrd: get("INITRD").into(), cmdline: get("CMDLINE") };
    assert!(guest.kernel.is_file() && guest.initrd.is_file());
    guest
}

/// `kvm` only with a real, usable KVM; `tcg` on PVM hosts (`kvm_pvm`) and elsewhere.
pub(crate) fn accel() -> &'static str {
    let module = |m: &str| Path::new("/sys/module").join(m).exists();
    if module("kvm_pvm") {
        return "tcg";
    }
    let kvm_usable = std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok();
    if kvm_usable && (module("kvm_intel") || module("kvm_amd")) {
        "kvm"
    } else {
        "tcg"
    }
}

/// A scratch directory under /tmp (short, for socket paths), removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("oxvirt-guest-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running QEMU; killed and reaped on drop, whatever path the test takes.
struct Qemu {
    child: Child,
    started: Instant,
    serial: PathBuf,
    qmp: PathBuf,
    agent: PathBuf,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Qemu {
    fn start(guest: &Guest, dir: &Path, disk: &Path) -> Qemu {
        let serial = dir.join("serial.log");
        let qmp = dir.join("qmp.sock");
        let agent = dir.join("agent.sock");
        let _ = std::fs::remove_file(&serial);
        let cmdline = format!("{} guest.counter=/dev/vda", guest.cmdline);
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args(["-machine", &format!("q35,accel={}", accel())])
            .args(["-m", "256", "-smp", "1", "-nodefaults", "-no-user-config"])
            .args(["-display", "none", "-monitor", "none"])
            .arg("-kernel")
            .arg(&guest.kernel)
            .arg("-initrd")
            .arg(&guest.initrd)
            .args(["-append", &cmdline])
            .arg("-chardev")
            .arg(format!("file,id=ser0,path={}", serial.display()))
            .args(["-serial", "chardev:ser0"])
            .arg("-chardev")
            .arg(format!("socket,id=qmp,path={},server=on,wait=off", qmp.display()))
            .args(["-mon", "chardev=qmp,mode=control"])
            .arg("-blockdev")
            .arg(format!("driver=file,filename={},node-name=disk0,cache.direct=off", disk.display()))
            .args(["-device", "virtio-blk-pci,drive=disk0,serial=counter"])
            .args(["-device", "virtio-serial-pci,id=vser0"])
            .arg("-chardev")
            .arg(format!("socket,id=qga0,path={},server=on,wait=off", agent.display()))
            .args(["-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot run qemu-system-x86_64 ({e}): install the Debian package {PACKAGES}"),
        };
        Qemu { child, started: Instant::now(), serial, qmp, agent }
    }

    fn console(&self) -> String {
        std::fs::read(&self.serial).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// Fails with QEMU's stderr if it exited.
    fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = self.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("QEMU exited early ({status}): {err}\nconsole:\n{}", self.console());
        }
    }

    /// Waits for `marker` on the serial console; returns the console text.
    fn wait_console(&mut self, marker: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.console();
            if text.contains(marker) {
                return text;
            }
            self.check_alive();
            assert!(Instant::now() < deadline, "no {marker} on the console within {timeout:?}:\n{text}");
            sleep(Duration::from_millis(20));
        }
    }

    /// Waits for QEMU to exit; returns how long that took.
    fn wait_exit(&mut self, timeout: Duration) -> Duration {
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for QEMU") {
                assert!(status.success(), "QEMU exited with {status}");
                return t.elapsed();
            }
            assert!(t.elapsed() < timeout, "QEMU still runs {timeout:?} after the power button:\n{}", self.console());
            sleep(Duration::from_millis(5));
        }
    }
}

/// A minimal QMP client: one command at a time, events collected on the way.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    events: Vec<Value>,
}

impl Qmp {
    fn connect(path: &Path) -> Qmp {
        let stream = UnixStream::connect(path).expect("connect to QMP");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("QMP read timeout");
        let writer = stream.try_clone().expect("clone QMP stream");
        let mut qmp = Qmp { reader: BufReader::new(stream), writer, events: Vec::new() };
        let greeting = qmp.read().expect("QMP greeting");
        assert!(greeting.get("QMP").is_some(), "not a QMP greeting: {greeting}");
        qmp.execute("qmp_capabilities", json!({}));
        qmp
    }

    /// The next message, or None at end of stream.
    fn read(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad QMP line {line:?}: {e}"))),
            Err(e) => panic!("reading QMP: {e}"),
        }
    }

    fn execute(&mut self, command: &str, arguments: Value) -> Value {
        let msg = json!({"execute": command, "arguments": arguments});
        writeln!(self.writer, "{msg}").expect("write to QMP");
        loop {
            let reply = self.read().unwrap_or_else(|| panic!("QMP closed during {command}"));
            if reply.get("event").is_some() {
                self.events.push(reply);
            } else if let Some(ret) = reply.get("return") {
                return ret.clone();
            } else {
                panic!("{command} failed: {reply}");
            }
        }
    }

    /// Reads events until the stream closes (QEMU exited).
    fn drain(&mut self) {
        while let Some(msg) = self.read() {
            if msg.get("event").is_some() {
                self.events.push(msg);
            }
        }
    }
}

/// Connects to the guest agent and synchronises with `guest-sync-delimited`:
/// - until qemu-ga opens its port, bytes sent to the socket are held or lost, so the
///   handshake is retried with a fresh id until one is answered;
/// - a leading 0xFF resets the agent's JSON parser (stale partial input), and the agent
///   puts 0xFF before its reply, so anything before that byte is stale output;
/// - replies carrying another id answer an earlier attempt and are skipped.
///
/// Returns the stream and any bytes read past the sync reply.
fn agent_sync(path: &Path, timeout: Duration) -> (UnixStream, Vec<u8>) {
    let deadline = Instant::now() + timeout;
    let mut stream = UnixStream::connect(path).expect("connect to the agent socket");
    stream.set_read_timeout(Some(Duration::from_millis(100))).expect("agent read timeout");
    let mut id = u64::from(std::process::id()) * 1000;
    loop {
        id += 1;
        let msg = json!({"execute": "guest-sync-delimited", "arguments": {"id": id}});
        stream.write_all(format!("\u{ff}{msg}\n").as_bytes()).ok();
        let mut buf = Vec::new();
        let attempt = Instant::now();
        while attempt.elapsed() < Duration::from_secs(1) {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk) {
                Ok(0) => panic!("the agent socket closed"),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("reading the agent socket: {e}"),
            }
            // Every complete "\xff{...}\n" reply so far; ours ends the handshake.
            let mut start = 0;
            while let Some(ff) = buf[start..].iter().position(|&b| b == 0xff).map(|p| start + p) {
                let Some(nl) = buf[ff..].iter().position(|&b| b == b'\n').map(|p| ff + p) else {
                    break;
                };
                let reply: Option<Value> = serde_json::from_slice(&buf[ff + 1..nl]).ok();
                if reply.as_ref().and_then(|r| r.get("return")).and_then(Value::as_u64) == Some(id) {
                    return (stream, buf[nl + 1..].to_vec());
                }
                start = nl + 1;
            }
        }
        assert!(Instant::now() < deadline, "the guest agent did not answer guest-sync-delimited within {timeout:?}");
    }
}

/// Sends one agent command after the handshake and returns its reply.
fn agent_command(stream: &mut UnixStream, mut pending: Vec<u8>, command: &str) -> Value {
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("agent read timeout");
    writeln!(stream, "{}", json!({"execute": command})).expect("write to the agent");
    loop {
        if let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let line = &pending[..nl];
            if let Ok(v) = serde_json::from_slice::<Value>(line) {
                return v;
            }
            pending.drain(..=nl);
            continue;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).unwrap_or_else(|e| panic!("no agent reply to {command}: {e}"));
        assert!(n > 0, "the agent socket closed during {command}");
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// One boot: waits for the marker, returns the counter value the guest printed, then
/// optionally pings the agent, and powers off with the ACPI button.
fn boot_once(guest: &Guest, dir: &Path, disk: &Path, ping_agent: bool) -> u64 {
    let mut qemu = Qemu::start(guest, dir, disk);
    let console = qemu.wait_console(READY, BOOT_TIMEOUT);
    let ready = qemu.started.elapsed();
    eprintln!("QEMU start -> {READY}: {:.2} s ({})", ready.as_secs_f64(), accel());
    let counter = console
        .lines()
        .find_map(|l| l.split("OXVIRT-COUNTER ").nth(1))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no OXVIRT-COUNTER line before {READY}:\n{console}"));

    if ping_agent {
        let (mut stream, pending) = agent_sync(&qemu.agent, AGENT_TIMEOUT);
        let synced = qemu.started.elapsed().saturating_sub(ready);
        eprintln!("{READY} -> agent synced: {:.2} s", synced.as_secs_f64());
        let reply = agent_command(&mut stream, pending, "guest-ping");
        assert_eq!(reply, json!({"return": {}}), "guest-ping");
    }

    // The guest reached READY, so button.ko has armed the power button (pitfall 2).
    let mut qmp = Qmp::connect(&qemu.qmp);
    let t = Instant::now();
    qmp.execute("system_powerdown", json!({}));
    let exited = qemu.wait_exit(POWERDOWN_TIMEOUT);
    eprintln!("system_powerdown -> QEMU exit: {:.3} s (after the reply: {:.3} s)", t.elapsed().as_secs_f64(), exited.as_secs_f64());
    qmp.drain();
    let shutdown = qmp.events.iter().find(|e| e["event"] == "SHUTDOWN").unwrap_or_else(|| panic!("no SHUTDOWN event: {:?}", qmp.events));
    assert_eq!(shutdown["data"]["guest"], json!(true), "{shutdown}");
    assert_eq!(shutdown["data"]["reason"], json!("guest-shutdown"), "{shutdown}");
    assert!(qemu.console().contains("OXVIRT-GUEST-SHUTDOWN poweroff"), "{}", qemu.console());
    counter
}

#[test]
fn test_guest_boots_counts_answers_the_agent_and_powers_off() {
    let guest = build_guest();
    let scratch = Scratch::new("boot");
    let disk = scratch.0.join("disk.raw");
    std::fs::write(&disk, vec![0u8; 1 << 20]).expect("create the disk image");

    assert_eq!(boot_once(&guest, &scratch.0, &disk, true), 1, "first boot");
    assert_eq!(boot_once(&guest, &scratch.0, &disk, false), 2, "second boot");
    let head = std::fs::read(&disk).expect("read the disk image");
    assert!(head.starts_with(b"2\n\0"), "disk holds {:?}", &head[..16]);
}
