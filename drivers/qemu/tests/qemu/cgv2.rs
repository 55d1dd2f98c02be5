//! cgroup v2 for real: the driver's per-domain cgroup code (`oxvirt_util::cgroup`,
//! `runtime::cgroups`) run against a kernel whose only hierarchy is cgroup2 — inside
//! the tiny test guest (docs/test-guest.md), because this host (and CI) is hybrid: its
//! v1 hierarchies hold every controller and cannot give them up without disturbing it.
//!
//! Host side ([`cgroup_v2_in_the_test_guest`]): boots the test guest under plain QEMU
//! (TCG when `/sys/module/kvm_pvm` exists, as the other guest tests) with one more
//! initramfs appended — a newc cpio holding this very test binary as
//! `/cgv2/qemu-test` plus the shared libraries `ldd` lists for it at their paths —
//! and a small raw virtio disk (`/dev/vda`, a real block device for `<blkiotune>`).
//! The guest's `guest.exec=` runs the binary's [`guest_side`] test and powers off;
//! the host asserts the `OXVIRT-CGV2 PASS` line on the serial console and shows the
//! console otherwise.
//!
//! Guest side ([`guest_side`], `#[ignore]`d; it does nothing unless the kernel command
//! line has `oxvirt.cgv2=1`): prepares the host as a systemd-less one would (cgroup2
//! at `/sys/fs/cgroup`, `+cpu +memory +io +pids` in the root's
//! `cgroup.subtree_control`, the io.cost controller on for `/dev/vda` so per-device
//! weights are accepted), then does what the runtime does at a guest start —
//! `Tunes::from_def`, `domain_group`, `setup` with a stand-in process (this binary
//! again, with two extra threads as "vCPUs"), `place_vcpu_threads` (the QMP-less seam
//! of `place_vcpus`) — reads the kernel's files back against the XML, and removes
//! the group with `teardown` after the stand-in exited. It prints one line,
//! `OXVIRT-CGV2 PASS` or `OXVIRT-CGV2 FAIL <what>`.

use oxvirt_conf::domain::{DomainDef, ParseOptions};
use oxvirt_driver_qemu::runtime::cgroups::{self, Tunes};
use oxvirt_util::cgroup::{self as ucg, Layout};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The guest's kernel command line flag that turns [`guest_side`] on.
const GUEST_FLAG: &str = "oxvirt.cgv2=1";
/// Set for the stand-in process (the "QEMU" of the guest side).
const STANDIN_ENV: &str = "OXVIRT_CGV2_STANDIN";
/// This test's name inside the binary (`--exact`).
const GUEST_TEST: &str = "cgv2::guest_side";
/// Where the binary goes in the guest.
const GUEST_EXE: &str = "/cgv2/qemu-test";
/// Generous: boot ~2.5 s, the run well under a second, all under TCG on a busy host.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

const XML: &str = "<domain type='qemu'><name>cgv2</name><memory>65536</memory><os><type>hvm</type></os>\
    <memtune><hard_limit unit='MiB'>256</hard_limit><soft_limit unit='MiB'>128</soft_limit>\
    <swap_hard_limit unit='MiB'>512</swap_hard_limit></memtune>\
    <cputune><shares>2048</shares><period>20000</period><quota>10000</quota>\
    <emulator_period>50000</emulator_period><emulator_quota>25000</emulator_quota></cputune>\
    <blkiotune><weight>500</weight><device><path>/dev/vda</path><weight>300</weight>\
    <read_bytes_sec>1048576</read_bytes_sec><write_bytes_sec>2097152</write_bytes_sec>\
    <read_iops_sec>100</read_iops_sec><write_iops_sec>200</write_iops_sec></device></blkiotune></domain>";

/// Unlimited values and unset tunables: "max" and the kernel's defaults.
const XML_DEFAULTS: &str = "<domain type='qemu'><name>cgv2-defaults</name><memory>65536</memory><os><type>hvm</type></os>\
    <memtune><hard_limit>9007199254740991</hard_limit><soft_limit unit='GiB'>1</soft_limit></memtune>\
    <cputune><period>30000</period><quota>-1</quota><emulator_quota>-1</emulator_quota></cputune></domain>";

// --- host side ------------------------------------------------------------------------

/// The test guest's files, as printed by `scripts/build-test-guest.sh`.
struct Guest {
    kernel: PathBuf,
    initrd: PathBuf,
    cmdline: String,
}

fn build_guest() -> Guest {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-test-guest.sh");
    let out = Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().expect("run scripts/build-test-guest.sh");
    assert!(out.status.success(), "scripts/build-test-guest.sh failed ({})", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let get = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("build script printed no {key}=: {stdout}"))
            .to_string()
    };
    Guest { kernel: get("KERNEL").into(), initrd: get("INITRD").into(), cmdline: get("CMDLINE") }
}

/// TCG when PVM is loaded (it cannot run an unmodified kernel), KVM when usable.
fn accel() -> &'static str {
    let module = |m: &str| Path::new("/sys/module").join(m).exists();
    if module("kvm_pvm") {
        return "tcg";
    }
    let kvm = std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok();
    if kvm && (module("kvm_intel") || module("kvm_amd")) {
        "kvm"
    } else {
        "tcg"
    }
}

/// A newc ("070701") cpio archive, as the kernel's initramfs unpacker reads it.
#[derive(Default)]
struct Cpio {
    out: Vec<u8>,
    ino: u32,
    dirs: Vec<String>,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.ino += 1;
        let nlink = if mode & 0o040000 != 0 { 2 } else { 1 };
        let fields = [self.ino, mode, 0, 0, nlink, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    /// Directory entries for every ancestor of `path` not added yet (the unpacker
    /// creates no parents; an existing directory is left as it is).
    fn parents(&mut self, path: &str) {
        let mut at = String::new();
        let comps: Vec<&str> = path.split('/').collect();
        for c in &comps[..comps.len() - 1] {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(c);
            if !self.dirs.contains(&at) {
                self.dirs.push(at.clone());
                let name = at.clone();
                self.entry(&name, 0o040755, &[]);
            }
        }
    }

    fn file(&mut self, path: &str, data: &[u8]) {
        self.parents(path);
        self.entry(path, 0o100755, data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[]);
        self.out
    }
}

/// The shared libraries of `exe` (and the dynamic loader), by `ldd`.
fn shared_libraries(exe: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(exe).output().expect("run ldd (Debian libc-bin)");
    assert!(out.status.success(), "ldd {} failed: {}", exe.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, r)) => r.trim(),
                None => l,
            };
            let path = path.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Waits for `child` to exit (killing it after [`RUN_TIMEOUT`]).
fn wait_exit(child: &mut Child) -> bool {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait for QEMU") {
            return st.success();
        }
        if t.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn cgroup_v2_in_the_test_guest() {
    let qemu = "/usr/bin/qemu-system-x86_64";
    assert!(Path::new(qemu).exists(), "{qemu} is missing: install qemu-system-x86 (scripts/test.sh does)");
    let guest = build_guest();
    let dir = std::env::temp_dir().join(format!("oxq-cgv2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // The guest's initramfs, then ours: the kernel unpacks concatenated archives in
    // order (ours overrides the guest's copies of the same libraries).
    let exe = std::env::current_exe().unwrap();
    let mut cpio = Cpio::default();
    cpio.file(GUEST_EXE.trim_start_matches('/'), &std::fs::read(&exe).unwrap());
    for lib in shared_libraries(&exe) {
        let data = std::fs::read(&lib).unwrap_or_else(|e| panic!("read {}: {e}", lib.display()));
        cpio.file(lib.to_str().unwrap().trim_start_matches('/'), &data);
    }
    let mut initrd = std::fs::read(&guest.initrd).unwrap();
    while !initrd.len().is_multiple_of(4) {
        initrd.push(0);
    }
    initrd.extend_from_slice(&cpio.finish());
    let initrd_path = dir.join("initrd.img");
    std::fs::write(&initrd_path, &initrd).unwrap();
    let disk = dir.join("disk.raw");
    std::fs::File::create(&disk).unwrap().set_len(16 << 20).unwrap();
    let serial = dir.join("serial.log");

    let exec = [GUEST_EXE, "--ignored", "--exact", GUEST_TEST, "--test-threads=1", "--nocapture", "-q"].join(",");
    let cmdline = format!("{} guest.qga=0 guest.shell=0 {GUEST_FLAG} guest.exec={exec}", guest.cmdline);
    let mut child = Command::new(qemu)
        .args(["-machine", &format!("q35,accel={}", accel())])
        .args(["-m", "512", "-smp", "1", "-nodefaults", "-no-user-config", "-no-reboot"])
        .args(["-display", "none", "-monitor", "none"])
        .arg("-kernel")
        .arg(&guest.kernel)
        .arg("-initrd")
        .arg(&initrd_path)
        .args(["-append", &cmdline])
        .arg("-chardev")
        .arg(format!("file,id=ser0,path={}", serial.display()))
        .args(["-serial", "chardev:ser0"])
        .arg("-blockdev")
        .arg(format!("driver=file,filename={},node-name=disk0", disk.display()))
        .args(["-device", "virtio-blk-pci,drive=disk0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qemu-system-x86_64");
    let exited = wait_exit(&mut child);
    let mut qemu_err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut qemu_err);
    }
    let console = std::fs::read(&serial).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        console.contains("OXVIRT-CGV2 PASS"),
        "no OXVIRT-CGV2 PASS from the guest (QEMU exited cleanly: {exited}; stderr: {qemu_err})\nconsole:\n{console}"
    );
    assert!(exited, "QEMU did not power off cleanly: {qemu_err}\nconsole:\n{console}");
}

// --- guest side -----------------------------------------------------------------------

/// Runs inside the test guest only (see the module doc); elsewhere it returns at once.
#[test]
#[ignore = "runs inside the test guest, started by cgroup_v2_in_the_test_guest"]
fn guest_side() {
    if std::env::var_os(STANDIN_ENV).is_some() {
        standin();
        return;
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    if !cmdline.split_whitespace().any(|w| w == GUEST_FLAG) {
        return;
    }
    let mut fails = Vec::new();
    in_guest(&mut fails);
    if fails.is_empty() {
        println!("OXVIRT-CGV2 PASS");
    } else {
        println!("OXVIRT-CGV2 FAIL {}", fails.join(" | "));
    }
    let _ = std::io::stdout().flush();
    assert!(fails.is_empty());
}

/// The stand-in "QEMU": two more threads (its "vCPUs"); prints
/// `OXVIRT-CGV2-TIDS <pid> <tid0> <tid1>` and lives until its stdin closes.
fn standin() {
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..2 {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(tid());
            loop {
                std::thread::park();
            }
        });
    }
    let tids: Vec<i32> = rx.iter().take(2).collect();
    println!("OXVIRT-CGV2-TIDS {} {} {}", std::process::id(), tids[0], tids[1]);
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    std::process::exit(0);
}

/// This thread's id (`/proc/thread-self` links to `PID/task/TID`).
fn tid() -> i32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok()))
        .unwrap_or(-1)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_else(|e| format!("<{}: {e}>", path.display()))
}

fn words(path: &Path) -> Vec<String> {
    read(path).split_whitespace().map(str::to_string).collect()
}

fn ids(path: &Path) -> Vec<i32> {
    read(path).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Records a mismatch unless `cond` holds.
macro_rules! check {
    ($fails:expr, $cond:expr, $($fmt:tt)*) => {
        if !$cond {
            $fails.push(format!($($fmt)*));
        }
    };
}

fn in_guest(fails: &mut Vec<String>) {
    // The host's part, as a systemd-less host does it.
    let root = Path::new("/sys/fs/cgroup");
    let st = Command::new("mount").args(["-t", "cgroup2", "cgroup2"]).arg(root).status();
    if !st.as_ref().is_ok_and(|s| s.success()) {
        fails.push(format!("mount -t cgroup2 failed: {st:?}"));
        return;
    }
    if let Err(e) = std::fs::write(root.join("cgroup.subtree_control"), "+cpu +memory +io +pids") {
        fails.push(format!("enabling the root's controllers: {e}"));
        return;
    }
    let dev = match ucg::block_dev_string(Path::new("/dev/vda")) {
        Ok(d) => d,
        Err(e) => {
            fails.push(format!("/dev/vda: {}", e.message));
            return;
        }
    };
    // Per-device io weights need the io.cost controller on that device (without it
    // the kernel answers EOPNOTSUPP to "MAJ:MIN N" in io.weight).
    if let Err(e) = std::fs::write(root.join("io.cost.qos"), format!("{dev} enable=1")) {
        fails.push(format!("enabling io.cost on {dev}: {e}"));
    }

    let layout = Layout::detect();
    check!(fails, layout.v1.is_empty(), "v1 hierarchies found: {:?}", layout.v1);
    match &layout.v2 {
        Some((mount, ctrls)) => {
            check!(fails, mount == root, "cgroup2 at {}", mount.display());
            for c in ["cpu", "memory", "io", "pids"] {
                check!(fails, ctrls.iter().any(|x| x == c), "the root offers no {c}: {ctrls:?}");
            }
        }
        None => {
            fails.push("no cgroup2 mount detected".into());
            return;
        }
    }

    if let Some(run) = start(fails, &layout, root, 1, XML) {
        check_tunes(fails, root, &dev, &run);
        stop(fails, root, run);
    }
    if let Some(run) = start(fails, &layout, root, 2, XML_DEFAULTS) {
        check_defaults(fails, &run);
        stop(fails, root, run);
    }
}

/// One guest start: the stand-in process and its group, set up as the runtime does.
struct Run {
    standin: Child,
    group: ucg::Cgroup,
    /// The domain group's directory.
    d: PathBuf,
    pid: i32,
    vcpus: [i32; 2],
}

fn start(fails: &mut Vec<String>, layout: &Layout, root: &Path, id: i32, xml: &str) -> Option<Run> {
    let def = match DomainDef::parse(xml, &ParseOptions { driver: Some("qemu".into()), inactive: true }) {
        Ok(d) => d,
        Err(e) => {
            fails.push(format!("domain XML: {e}"));
            return None;
        }
    };
    let tunes = match Tunes::from_def(&def) {
        Ok(t) => t,
        Err(e) => {
            fails.push(format!("Tunes::from_def: {e}"));
            return None;
        }
    };
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from(GUEST_EXE));
    let mut standin = match Command::new(exe)
        .args(["--ignored", "--exact", GUEST_TEST, "--test-threads=1", "--nocapture", "-q"])
        .env(STANDIN_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            fails.push(format!("stand-in: {e}"));
            return None;
        }
    };
    let mut tids = Vec::new();
    if let Some(out) = standin.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("OXVIRT-CGV2-TIDS ") {
                tids = rest.split_whitespace().filter_map(|t| t.parse::<i32>().ok()).collect();
                break;
            }
        }
    }
    if tids.len() != 3 {
        fails.push(format!("stand-in gave no thread ids: {tids:?}"));
        let _ = standin.kill();
        let _ = standin.wait();
        return None;
    }
    let machine = cgroups::machine_name(None, id, &def.name);
    let group = cgroups::domain_group(layout, &machine, |_| true);
    let d = root.join("machine").join(format!("{machine}.libvirt-qemu"));
    check!(fails, group.dir_of("memory") == Some(d.as_path()), "group directory {:?}", group.dir_of("memory"));
    let run = Run { standin, group, d, pid: tids[0], vcpus: [tids[1], tids[2]] };
    let set_up = match cgroups::setup(&run.group, layout, &tunes, run.pid) {
        Ok(()) => cgroups::place_vcpu_threads(&run.group, &tunes, &[(0, run.vcpus[0]), (1, run.vcpus[1])])
            .map_err(|e| format!("place_vcpu_threads: {e}")),
        Err(e) => Err(format!("setup: {e}")),
    };
    if let Err(e) = set_up {
        fails.push(format!("{}: {e}", def.name));
        stop(fails, root, run);
        return None;
    }
    Some(run)
}

/// The stand-in ends (its stdin closes), then the group goes with `teardown`.
fn stop(fails: &mut Vec<String>, root: &Path, mut run: Run) {
    drop(run.standin.stdin.take());
    let _ = run.standin.wait();
    cgroups::teardown(&run.group);
    check!(fails, !run.d.exists(), "{} still exists after teardown", run.d.display());
    check!(fails, root.join("machine").is_dir(), "the machine partition went too");
}

/// The first domain: every tunable of [`XML`] in the kernel's files.
fn check_tunes(fails: &mut Vec<String>, root: &Path, dev: &str, run: &Run) {
    let (d, pid, [t0, t1]) = (&run.d, run.pid, run.vcpus);
    // Delegation at each level: the root and the partition hand the controllers down;
    // the domain group (which holds the process) only the threaded `cpu`.
    for c in ["cpu", "memory", "io"] {
        check!(fails, words(&root.join("cgroup.subtree_control")).iter().any(|w| w == c), "root subtree_control lacks {c}");
        check!(
            fails,
            words(&root.join("machine/cgroup.subtree_control")).iter().any(|w| w == c),
            "machine subtree_control lacks {c}: {:?}",
            read(&root.join("machine/cgroup.subtree_control"))
        );
    }
    check!(
        fails,
        words(&d.join("cgroup.subtree_control")) == ["cpu"],
        "domain subtree_control {:?}",
        read(&d.join("cgroup.subtree_control"))
    );
    check!(fails, read(&d.join("cgroup.type")) == "domain threaded", "domain cgroup.type {:?}", read(&d.join("cgroup.type")));
    check!(fails, ids(&d.join("cgroup.procs")) == [pid], "domain cgroup.procs {:?}, want [{pid}]", read(&d.join("cgroup.procs")));
    check!(fails, run.group.processes() == [pid], "Cgroup::processes {:?}", run.group.processes());
    // <memtune>
    check!(fails, read(&d.join("memory.max")) == (256u64 << 20).to_string(), "memory.max {:?}", read(&d.join("memory.max")));
    check!(fails, read(&d.join("memory.high")) == (128u64 << 20).to_string(), "memory.high {:?}", read(&d.join("memory.high")));
    check!(fails, read(&d.join("memory.swap.max")) == (512u64 << 20).to_string(), "memory.swap.max {:?}", read(&d.join("memory.swap.max")));
    // <cputune>: shares on the domain, bandwidth on the thread groups; the domain
    // group's own bandwidth stays the kernel's default.
    check!(fails, read(&d.join("cpu.weight")) == "2048", "cpu.weight {:?}", read(&d.join("cpu.weight")));
    check!(fails, read(&d.join("cpu.max")) == "max 100000", "domain cpu.max {:?}", read(&d.join("cpu.max")));
    let emu = d.join("emulator");
    check!(fails, read(&emu.join("cgroup.type")) == "threaded", "emulator cgroup.type {:?}", read(&emu.join("cgroup.type")));
    check!(fails, read(&emu.join("cpu.max")) == "25000 50000", "emulator cpu.max {:?}", read(&emu.join("cpu.max")));
    let emu_threads = ids(&emu.join("cgroup.threads"));
    check!(
        fails,
        emu_threads.contains(&pid) && !emu_threads.contains(&t0) && !emu_threads.contains(&t1),
        "emulator cgroup.threads {emu_threads:?} (pid {pid}, vcpus {t0} {t1})"
    );
    for (n, t) in [(0, t0), (1, t1)] {
        let v = d.join(format!("vcpu{n}"));
        check!(fails, read(&v.join("cgroup.type")) == "threaded", "vcpu{n} cgroup.type {:?}", read(&v.join("cgroup.type")));
        check!(fails, read(&v.join("cpu.max")) == "10000 20000", "vcpu{n} cpu.max {:?}", read(&v.join("cpu.max")));
        check!(fails, ids(&v.join("cgroup.threads")) == [t], "vcpu{n} cgroup.threads {:?}, want [{t}]", read(&v.join("cgroup.threads")));
    }
    // <blkiotune>: libvirt 9.0 writes the weight to io.bfq.weight when the bfq
    // scheduler provides it and to io.weight ("default N") otherwise; device weights
    // always go to io.weight.
    let io_weight = read(&d.join("io.weight"));
    if d.join("io.bfq.weight").exists() {
        check!(fails, read(&d.join("io.bfq.weight")).starts_with("default 500"), "io.bfq.weight {:?}", read(&d.join("io.bfq.weight")));
    } else {
        check!(fails, io_weight.lines().any(|l| l == "default 500"), "io.weight {io_weight:?} lacks 'default 500'");
    }
    check!(fails, io_weight.lines().any(|l| l == format!("{dev} 300")), "io.weight {io_weight:?} lacks '{dev} 300'");
    let io_max = read(&d.join("io.max"));
    let want = format!("{dev} rbps=1048576 wbps=2097152 riops=100 wiops=200");
    check!(fails, io_max.lines().any(|l| l == want), "io.max {io_max:?}, want {want:?}");
    // What only the kernel says: libvirt's shares range passes 20000, cpu.weight
    // refuses it (ERANGE), reported as a system error.
    match run.group.set_cpu_shares(20_000) {
        Err(e) => check!(
            fails,
            e.code == oxvirt_util::ErrorCode::SystemError && e.message.ends_with("Numerical result out of range"),
            "cpu.weight 20000: {e:?}"
        ),
        Ok(()) => fails.push("cpu.weight took 20000".into()),
    }
    // A populated group cannot go (EBUSY) and stays intact.
    match run.group.remove() {
        Err(e) => check!(fails, e.message.ends_with("Device or resource busy"), "removal while populated: {}", e.message),
        Ok(()) => fails.push("a populated group was removed".into()),
    }
    check!(fails, run.group.exists() && d.join("vcpu0").is_dir(), "the populated group lost directories");
}

/// The second domain ([`XML_DEFAULTS`]): "unlimited" is the kernel's "max", a quota of
/// -1 keeps the period, and what the XML leaves out keeps the kernel's default.
fn check_defaults(fails: &mut Vec<String>, run: &Run) {
    let d = &run.d;
    for (file, want) in [
        ("memory.max", "max".to_string()),
        ("memory.high", (1u64 << 30).to_string()),
        ("memory.swap.max", "max".to_string()),
        ("cpu.weight", "100".to_string()),
        ("cpu.max", "max 100000".to_string()),
        ("emulator/cpu.max", "max 100000".to_string()),
        ("vcpu0/cpu.max", "max 30000".to_string()),
        ("vcpu1/cpu.max", "max 30000".to_string()),
        ("io.max", String::new()),
    ] {
        check!(fails, read(&d.join(file)) == want, "{file} {:?}, want {want:?}", read(&d.join(file)));
    }
    check!(fails, read(&d.join("io.weight")).lines().next() == Some("default 100"), "io.weight {:?}", read(&d.join("io.weight")));
}
