//! `qemu:///system` served by oxvirtd with real QEMU guests, driven by Debian's `virsh`
//! and libvirt-python: the lifecycle with the test guest (marker on the serial console,
//! ACPI shutdown with events, guest-agent ping), a daemon killed with SIGKILL and
//! restarted, and faults (a frozen QEMU, a missing emulator, XML the driver cannot
//! honour). The daemon's QEMU driver lives below a private root (`OXVIRT_QEMU_ROOT`),
//! never in `/etc/libvirt`. QEMU is required: without it these tests fail.

use super::harness::{client_cmd, oxvirtd_bin, virsh, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(super) const QEMU: &str = "/usr/bin/qemu-system-x86_64";
pub(super) const PYTHON: &str = "/usr/bin/python3";
pub(super) const MARKER: &str = "OXVIRT-GUEST-READY";

/// The test guest's files, as printed by `scripts/build-test-guest.sh`.
pub(super) struct Guest {
    pub(super) kernel: String,
    pub(super) initrd: String,
    pub(super) cmdline: String,
}

pub(super) fn build_guest() -> Guest {
    assert!(Path::new(QEMU).exists(), "{QEMU} is required (Debian package qemu-system-x86)");
    let g = crate::guest::build_guest();
    let text = |p: PathBuf| p.display().to_string();
    Guest { kernel: text(g.kernel), initrd: text(g.initrd), cmdline: g.cmdline }
}

/// `kvm` only with a real KVM module; on PVM hosts (`kvm_pvm`) guests need TCG.
pub(super) fn domain_type() -> &'static str {
    if crate::guest::accel() == "kvm" {
        "kvm"
    } else {
        "qemu"
    }
}

/// oxvirtd serving `qemu:///system` below a private root. On drop: the daemon is
/// killed, then every QEMU whose command line names the root, then the tree goes.
pub(super) struct QemuDaemon {
    child: Option<Child>,
    pub(super) dir: TempDir,
    env: Vec<(String, String)>,
    /// A command the daemon runs under (`nsenter --net=...`), empty for none.
    wrap: Vec<String>,
}

impl QemuDaemon {
    pub(super) fn start(tag: &str, env: &[(&str, &str)]) -> QemuDaemon {
        QemuDaemon::start_wrapped(tag, env, &[])
    }

    /// [`QemuDaemon::start`], the daemon run as `WRAP... oxvirtd ...` (a wrapper that
    /// execs it, so the child's pid is the daemon's), also after [`QemuDaemon::spawn`].
    pub(super) fn start_wrapped(tag: &str, env: &[(&str, &str)], wrap: &[&str]) -> QemuDaemon {
        let mut d = QemuDaemon {
            child: None,
            dir: TempDir::new(tag),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            wrap: wrap.iter().map(|s| s.to_string()).collect(),
        };
        std::fs::write(d.dir.0.join("oxvirtd.conf"), "").expect("write config");
        d.spawn();
        d
    }

    /// The daemon's pid (from its pid file).
    pub(super) fn pid(&self) -> u32 {
        std::fs::read_to_string(self.dir.0.join("oxvirtd.pid")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }

    pub(super) fn root(&self) -> PathBuf {
        self.dir.0.join("root")
    }

    pub(super) fn sock(&self) -> PathBuf {
        self.dir.0.join("libvirt-sock")
    }

    pub(super) fn uri(&self) -> String {
        format!("qemu+unix:///system?socket={}", self.sock().display())
    }

    pub(super) fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.sock());
        let mut cmd = match self.wrap.split_first() {
            Some((w, rest)) => {
                let mut c = Command::new(w);
                c.args(rest).arg(oxvirtd_bin());
                c
            }
            None => Command::new(oxvirtd_bin()),
        };
        let child = cmd
            .arg("--socket-dir")
            .arg(&self.dir.0)
            .arg("-f")
            .arg(self.dir.0.join("oxvirtd.conf"))
            .arg("-p")
            .arg(self.dir.0.join("oxvirtd.pid"))
            .env("OXVIRT_QEMU_ROOT", self.root())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .spawn()
            .expect("start oxvirtd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.sock().exists() {
            assert!(Instant::now() < deadline, "oxvirtd did not create its socket");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL the daemon (guests must survive) and wait for it.
    pub(super) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(super) fn virsh(&self, line: &str) -> Output {
        virsh(&self.uri(), line, &self.dir.0)
    }

    /// `virsh LINE`, which must succeed; returns stdout.
    pub(super) fn virsh_ok(&self, line: &str) -> String {
        let out = self.virsh(line);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "virsh {line} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    /// Run a libvirt-python script with the URI as argv[1]; it must succeed.
    pub(super) fn python(&self, script: &str) -> String {
        assert!(Path::new(PYTHON).exists(), "{PYTHON} with python3-libvirt is required");
        let out = client_cmd(PYTHON, &self.dir.0).arg("-c").arg(script).arg(self.uri()).output().expect("python runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "script failed:\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    /// Live QEMUs started below this root: (pid, command line).
    pub(super) fn qemus(&self) -> Vec<(i32, String)> {
        let needle = self.root().display().to_string();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").expect("read /proc").flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().starts_with('Z')))
                .unwrap_or(true);
            if cmd.contains("qemu-system") && cmd.contains(&needle) && !zombie {
                out.push((pid, cmd));
            }
        }
        out
    }

    /// The pid of guest `name`'s QEMU.
    pub(super) fn qemu_pid(&self, name: &str) -> i32 {
        let tag = format!("guest={name},");
        self.qemus().into_iter().find(|(_, c)| c.contains(&tag)).map(|(p, _)| p).unwrap_or_else(|| panic!("no QEMU for {name}"))
    }

    /// Files left in the run-time directories.
    fn run_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["run/qemu", "lib/qemu"] {
            if let Ok(rd) = std::fs::read_dir(self.root().join(sub)) {
                out.extend(
                    rd.flatten().map(|e| format!("{sub}/{}", e.file_name().to_string_lossy())).filter(|n| !n.ends_with("autostarted")),
                );
            }
        }
        out
    }

    pub(super) fn assert_clean(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.qemus().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(self.qemus(), Vec::new(), "QEMU processes left behind");
        assert_eq!(self.run_files(), Vec::<String>::new(), "run files left behind");
    }
}

impl Drop for QemuDaemon {
    fn drop(&mut self) {
        self.kill9();
        for (pid, _) in self.qemus() {
            let _ = Command::new("kill").args(["-CONT", &pid.to_string()]).status();
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// A test-guest domain: direct kernel boot, serial log file + console, a virtio disk,
/// the guest-agent channel (socket path chosen by the driver).
pub(super) fn guest_xml(g: &Guest, dir: &Path, name: &str) -> String {
    let disk = dir.join(format!("{name}.img"));
    std::fs::File::create(&disk).and_then(|f| f.set_len(4 << 20)).expect("create disk image");
    let serial = dir.join(format!("{name}.serial"));
    format!(
        "<domain type='{ty}'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>{QEMU}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='{serial}'/><target port='0'/></serial>
    <console type='file'><source path='{serial}'/><target type='serial' port='0'/></console>
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
  </devices>
</domain>",
        ty = domain_type(),
        kernel = g.kernel,
        initrd = g.initrd,
        cmdline = g.cmdline,
        disk = disk.display(),
        serial = serial.display(),
    )
}

/// A firmware-only guest (SeaBIOS idles): cheap, for tests that need no OS.
pub(super) fn idle_xml(name: &str) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>{QEMU}</emulator></devices>
</domain>"
    )
}

pub(super) fn define(d: &QemuDaemon, name: &str, xml: &str) {
    let file = d.dir.0.join(format!("{name}.xml"));
    std::fs::write(&file, xml).expect("write XML");
    d.virsh_ok(&format!("define {}", file.display()));
}

/// Wait for the marker in the serial log of `name`; returns how long it took.
pub(super) fn wait_marker(d: &QemuDaemon, name: &str, since: Instant) -> Duration {
    let log = d.dir.0.join(format!("{name}.serial"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::fs::read_to_string(&log).is_ok_and(|t| t.contains(MARKER)) {
            return since.elapsed();
        }
        assert!(Instant::now() < deadline, "no {MARKER} in {}", log.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Events recorded by a libvirt-python script: a helper prepended to scripts.
pub(super) const PY_EVENTS: &str = r#"
import sys, threading, time, libvirt
libvirt.virEventRegisterDefaultImpl()
def _loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=_loop, daemon=True).start()
c = libvirt.open(sys.argv[1])
EVENTS = []
def _cb(conn, dom, event, detail, opaque):
    EVENTS.append((dom.name(), event, detail))
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, _cb, None)
def wait_event(name, event, detail=None, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if any(n == name and e == event and (detail is None or d == detail) for n, e, d in EVENTS):
            return
        time.sleep(0.02)
    raise SystemExit("no event %s/%s for %s; got %r" % (event, detail, name, EVENTS))
"#;

#[test]
fn real_clients_drive_the_test_guest() {
    let g = build_guest();
    let d = QemuDaemon::start("qemu-life", &[]);
    define(&d, "life", &guest_xml(&g, &d.dir.0, "life"));
    let t = Instant::now();
    d.virsh_ok("start life");
    let started = t.elapsed();
    let list = d.virsh_ok("list");
    assert!(list.lines().any(|l| l.contains("life") && l.contains("running")), "{list}");
    let info = d.virsh_ok("dominfo life");
    assert!(info.contains("State:          running") && info.contains("Persistent:     yes"), "{info}");
    let ready = wait_marker(&d, "life", t);
    d.virsh_ok("suspend life");
    assert_eq!(d.virsh_ok("domstate life --reason").trim(), "paused (user)");
    d.virsh_ok("resume life");
    assert_eq!(d.virsh_ok("domstate life --reason").trim(), "running (unpaused)");
    let blk = d.virsh_ok("domblklist life");
    assert!(blk.contains("vda"), "{blk}");

    // ACPI shutdown with events, then a second boot.
    let out = d.python(&format!(
        "{PY_EVENTS}
dom = c.lookupByName('life')
t = time.time()
dom.shutdown()
wait_event('life', libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST)
wait_event('life', libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
off = time.time() - t
assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN], dom.state()
dom.create()
wait_event('life', libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED)
print('ok %.2f' % off)
"
    ));
    assert!(out.starts_with("ok"), "{out}");
    let t2 = Instant::now();
    wait_marker(&d, "life", t2);

    // The agent answers a little after the marker.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ping = loop {
        let out = d.virsh(r#"qemu-agent-command life '{"execute":"guest-ping"}'"#);
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        assert!(Instant::now() < deadline, "agent never answered: {}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ping, r#"{"return":{}}"#);
    let status = d.virsh_ok(r#"qemu-monitor-command life '{"execute":"query-status"}'"#);
    assert!(status.contains(r#""running": true"#), "{status}");
    assert_eq!(d.virsh_ok("qemu-monitor-command life --hmp 'info status'").trim(), "VM status: running");

    let t = Instant::now();
    d.virsh_ok("destroy life");
    let destroyed = t.elapsed();
    d.virsh_ok("undefine life");
    assert!(!d.virsh_ok("list --all").contains("life"));
    d.assert_clean();
    eprintln!(
        "qemu e2e timings: start {:.2} s, start→{MARKER} {:.2} s, ACPI shutdown→STOPPED {}, destroy {:.2} s",
        started.as_secs_f64(),
        ready.as_secs_f64(),
        out.trim().trim_start_matches("ok "),
        destroyed.as_secs_f64()
    );
}

#[test]
fn guests_survive_a_killed_daemon() {
    let mut d = QemuDaemon::start("qemu-crash", &[]);
    let names = ["c1", "c2", "c3"];
    for n in names {
        define(&d, n, &idle_xml(n));
        d.virsh_ok(&format!("start {n}"));
    }
    let pids: Vec<i32> = names.iter().map(|n| d.qemu_pid(n)).collect();
    d.kill9();
    d.spawn();
    assert_eq!(names.iter().map(|n| d.qemu_pid(n)).collect::<Vec<_>>(), pids, "QEMUs changed across the daemon restart");
    let list = d.virsh_ok("list");
    for n in names {
        assert!(list.lines().any(|l| l.contains(n) && l.contains("running")), "{list}");
        assert!(d.virsh_ok(&format!("dominfo {n}")).contains("State:          running"));
    }
    let out = d.python(&format!(
        "{PY_EVENTS}
for n in ('c1', 'c2', 'c3'):
    dom = c.lookupByName(n)
    dom.suspend()
    wait_event(n, libvirt.VIR_DOMAIN_EVENT_SUSPENDED)
    assert dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED
    dom.resume()
    wait_event(n, libvirt.VIR_DOMAIN_EVENT_RESUMED)
    dom.destroy()
    wait_event(n, libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
    dom.undefine()
print('ok')
"
    ));
    assert_eq!(out.trim(), "ok");
    d.assert_clean();
}

#[test]
fn a_frozen_qemu_times_out_without_stalling_others() {
    // Long enough for a start on a loaded machine; the other calls must all be done
    // while the frozen one still waits (an ordering, not a latency bound).
    let d = QemuDaemon::start("qemu-fault", &[("OXVIRT_QEMU_MONITOR_TIMEOUT_MS", "5000")]);
    for n in ["frozen", "fine"] {
        define(&d, n, &idle_xml(n));
        d.virsh_ok(&format!("start {n}"));
    }
    let pid = d.qemu_pid("frozen").to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().expect("kill runs").success());
    let out = d.python(
        r#"
import sys, threading, time, libvirt
c = libvirt.open(sys.argv[1])
frozen, fine = c.lookupByName('frozen'), c.lookupByName('fine')
res = {}
# The stuck call gets a connection of its own: libvirt's client library may hold a
# second call on the same connection behind a pending one.
def stuck():
    t = time.time()
    try:
        libvirt.open(sys.argv[1]).lookupByName('frozen').suspend()
        res['err'] = 'suspend of a frozen QEMU succeeded'
    except libvirt.libvirtError as e:
        res['code'] = e.get_error_code()
    res['t'] = time.time() - t
th = threading.Thread(target=stuck)
th.start()
time.sleep(0.2)
worst, times = 0, []
calls = [('list', lambda: c.listAllDomains()), ('suspend', lambda: fine.suspend()), ('resume', lambda: fine.resume()),
         ('info', lambda: fine.info()), ('info-frozen', lambda: frozen.info())]
for _ in range(3):
    for name, f in calls:
        t = time.time(); f(); dt = time.time() - t
        times.append('%s=%.3f' % (name, dt)); worst = max(worst, dt)
assert th.is_alive(), ('the other calls waited for the frozen one', res, times)
th.join()
assert 'err' not in res, res
assert res['code'] == libvirt.VIR_ERR_OPERATION_TIMEOUT, res
print('ok %.2f %.3f' % (res['t'], worst))
"#,
    );
    assert!(Command::new("kill").args(["-CONT", &pid]).status().expect("kill runs").success());
    assert!(out.starts_with("ok"), "{out}");
    eprintln!("frozen QEMU: timeout after / slowest other call (s): {}", out.trim().trim_start_matches("ok "));
    for n in ["frozen", "fine"] {
        d.virsh_ok(&format!("destroy {n}"));
        d.virsh_ok(&format!("undefine {n}"));
    }
    d.assert_clean();
}

#[test]
fn bad_setups_give_clear_errors() {
    let d = QemuDaemon::start("qemu-bad", &[]);
    let out = d.python(
        r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
xml = """<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>%s</devices></domain>"""
try:
    c.defineXML(xml % ('noemu', "<emulator>/nonexistent/qemu-system-x86_64</emulator>"))
    raise SystemExit('a missing emulator was accepted')
except libvirt.libvirtError as e:
    assert '/nonexistent/qemu-system-x86_64' in e.get_error_message(), e.get_error_message()
    print('missing emulator:', e.get_error_code(), e.get_error_message())
dom = c.defineXML(xml % ('bridged', "<emulator>/usr/bin/qemu-system-x86_64</emulator><interface type='network'><source network='default'/></interface>"))
try:
    dom.create()
    raise SystemExit('an unsupported interface was started')
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_CONFIG_UNSUPPORTED, (e.get_error_code(), e.get_error_message())
    assert 'interface' in e.get_error_message(), e.get_error_message()
    print('unsupported:', e.get_error_message())
assert dom.isActive() == 0
dom.undefine()
print('ok')
"#,
    );
    assert!(out.trim_end().ends_with("ok"), "{out}");
    d.assert_clean();
}

/// The test guest with its serial port and console on a pty (no log file).
fn pty_guest_xml(g: &Guest, dir: &Path, name: &str) -> String {
    let serial = dir.join(format!("{name}.serial")).display().to_string();
    guest_xml(g, dir, name)
        .replace(
            &format!("<serial type='file'><source path='{serial}'/><target port='0'/></serial>"),
            "<serial type='pty'><target port='0'/></serial>",
        )
        .replace(
            &format!("<console type='file'><source path='{serial}'/><target type='serial' port='0'/></console>"),
            "<console type='pty'><target type='serial' port='0'/></console>",
        )
}

/// libvirt-python's console stream: the guest's output, typed input, one session
/// unless forced, and the end of data when the guest goes away.
const PY_CONSOLE: &str = r#"
import sys, time, signal, libvirt
signal.alarm(150)
c = libvirt.open(sys.argv[1])
dom = c.lookupByName('con')
MARK = b'OXVIRT-GUEST-READY'

def read_until(st, want, typing=None, timeout=60):
    buf, end, next_type = b'', time.time() + timeout, 0
    while want not in buf:
        if time.time() > end:
            raise SystemExit('no %r in %r' % (want, buf[-2000:]))
        if typing is not None and time.time() > next_type:
            st.send(typing)
            next_type = time.time() + 2
        r = st.recv(4096)
        if r == -2:
            time.sleep(0.02)
            continue
        if len(r) == 0:
            raise SystemExit('console ended before %r: %r' % (want, buf[-2000:]))
        buf += r
    return buf

if sys.argv[2] == 'first':
    dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
    xml = dom.XMLDesc(0)
    assert xml.count("<source path='/dev/pts/") == 2, xml
    st = c.newStream(0)
    dom.openConsole(None, st, 0)
    st2 = c.newStream(0)
    try:
        dom.openConsole('serial0', st2, 0)
        raise SystemExit('a second console session was allowed')
    except libvirt.libvirtError as e:
        assert 'Active console session exists' in str(e), e
        assert e.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED, e.get_error_code()
    # QEMU looks for a pty client about once a second.
    time.sleep(1.5)
    t = time.time()
    dom.resume()
    read_until(st, MARK)
    ready = time.time() - t
    # The guest's shell gets what is sent; only its output has 42.
    read_until(st, b'OXVIRT-42', typing=b'echo OXVIRT-$((6*7))\r')
    # A forced session takes over; the old one ends with an error.
    st3 = c.newStream(0)
    dom.openConsole(None, st3, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
    end = time.time() + 10
    while True:
        try:
            r = st.recv(4096)
        except libvirt.libvirtError as e:
            break
        if time.time() > end:
            raise SystemExit('the old session still works after a forced open')
    read_until(st3, b'OXVIRT-49', typing=b'echo OXVIRT-$((7*7))\r')
    st3.abort()
    print('ok %.2f' % ready)
else:
    # The console is free again; it ends when the guest goes away.
    st = c.newStream(0)
    dom.openConsole(None, st, 0)
    read_until(st, b'OXVIRT-81', typing=b'echo OXVIRT-$((9*9))\r')
    dom.destroy()
    end = time.time() + 20
    while True:
        r = st.recv(4096)
        if isinstance(r, bytes) and len(r) == 0:
            break
        if time.time() > end:
            raise SystemExit('no end of data after destroy')
    st.finish()
    print('ok')
"#;

// covers: DOMAIN_OPEN_CONSOLE
#[test]
fn the_console_is_a_stream() {
    let g = build_guest();
    let d = QemuDaemon::start("qemu-console", &[]);
    define(&d, "con", &pty_guest_xml(&g, &d.dir.0, "con"));
    let first = d.python(&PY_CONSOLE.replace("sys.argv[2]", "'first'"));
    assert!(first.starts_with("ok"), "{first}");
    let xml = d.virsh_ok("dumpxml con");
    assert!(xml.contains("<serial type='pty'>") && xml.contains("<source path='/dev/pts/"), "{xml}");

    // `virsh console` needs a terminal: run it under script(1), type a command, then ^].
    super::harness::which("script");
    let mut child = client_cmd("timeout", &d.dir.0)
        .args(["60", "script", "-qec", &format!("virsh -c {} console con", d.uri()), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let out = {
        use std::io::Write;
        std::thread::sleep(Duration::from_secs(2));
        for _ in 0..3 {
            let _ = stdin.write_all(b"echo OXVIRT-$((8*8))\r");
            let _ = stdin.flush();
            std::thread::sleep(Duration::from_secs(1));
        }
        let _ = stdin.write_all(&[0x1d]);
        let _ = stdin.flush();
        let out = child.wait_with_output().expect("script ends");
        drop(stdin);
        out
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "virsh console failed ({}):\n{text}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Connected to domain") && text.contains("OXVIRT-64"), "{text}");

    let second = d.python(&PY_CONSOLE.replace("sys.argv[2]", "'second'"));
    assert!(second.starts_with("ok"), "{second}");
    d.virsh_ok("undefine con");
    d.assert_clean();
    eprintln!("console e2e: resume→{MARKER} on the console {}", first.trim().trim_start_matches("ok "));
}
