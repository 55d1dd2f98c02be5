//! Host integration of `qemu:///system` served by oxvirtd, with real QEMU and virsh:
//! `qemu.conf`'s user and group (a throw-away user and group made by the test with
//! `useradd`/`groupadd` and deleted afterwards), DAC ownership of the guest's files
//! while it runs and given back afterwards — after `destroy`, after a QEMU killed
//! behind the daemon's back (while it watches, and while it is down), and after a
//! daemon killed with SIGKILL and restarted —,
//! the guest's cgroup with `<memtune>`/`<cputune>`/`<blkiotune>` (v1 files on hybrid
//! hosts, v2 files on unified ones), removed when the guest stops, QEMU's seccomp
//! sandbox, and libvirt's errors for bad settings. Needs root (CI runs as root).

use super::qemu::{build_guest, define, guest_xml, idle_xml, wait_marker, Guest, QemuDaemon, QEMU};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A user and group made for one test run; deleted on drop.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl TestUser {
    fn create() -> TestUser {
        // At most 8 characters, so that `ps` prints the name rather than `name+`.
        let name = format!("oxq{}", std::process::id() % 100_000);
        let run = |cmd: &str, args: &[&str]| {
            let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd} runs (package passwd): {e}"));
            assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let _ = Command::new("userdel").arg(&name).output();
        let _ = Command::new("groupdel").arg(&name).output();
        run("groupadd", &["--system", &name]);
        run("useradd", &["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "-g", &name, &name]);
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, &name]).output().expect("id runs");
            String::from_utf8_lossy(&out.stdout).trim().parse().expect("numeric id")
        };
        let (uid, gid) = (id("-u"), id("-g"));
        TestUser { name, uid, gid }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
        let _ = Command::new("groupdel").arg(&self.name).output();
    }
}

fn owner(p: &Path) -> (u32, u32) {
    let md = std::fs::metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
    (md.uid(), md.gid())
}

/// `qemu.conf` of the daemon's root; the daemon is restarted to read it.
fn configure(d: &mut QemuDaemon, conf: &str) {
    let etc = d.root().join("etc");
    std::fs::create_dir_all(&etc).expect("create etc");
    std::fs::write(etc.join("qemu.conf"), conf).expect("write qemu.conf");
    d.kill9();
    d.spawn();
}

/// The cgroup directory of `pid` for v1 `controller` (from `/proc/PID/cgroup` and the
/// mount table), or for the unified hierarchy when the host is cgroup v2 only.
pub(super) fn cgroup_dir(pid: i32, controller: &str) -> Option<PathBuf> {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("read mounts");
    for line in cg.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        if ctrls.split(',').any(|c| c == controller) {
            let mount = mounts.lines().find_map(|m| {
                let w: Vec<&str> = m.split_whitespace().collect();
                (w.len() > 3 && w[2] == "cgroup" && w[3].split(',').any(|o| o == controller)).then(|| w[1].to_string())
            })?;
            return Some(PathBuf::from(format!("{mount}{path}")));
        }
    }
    None
}

/// Whether the host has only the unified hierarchy.
pub(super) fn pure_v2() -> bool {
    std::fs::read_to_string("/proc/self/mounts").unwrap_or_default().lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.len() > 2 && w[1] == "/sys/fs/cgroup" && w[2] == "cgroup2"
    })
}

fn v2_dir(pid: i32) -> PathBuf {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read cgroup");
    let path = cg.lines().find_map(|l| l.strip_prefix("0::")).expect("unified line").to_string();
    PathBuf::from(format!("/sys/fs/cgroup{path}"))
}

pub(super) fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())).trim().to_string()
}

/// The first block device of the host (`/proc/partitions`), with its `MAJ:MIN`.
pub(super) fn block_device() -> Option<(String, String)> {
    let parts = std::fs::read_to_string("/proc/partitions").ok()?;
    parts.lines().skip(2).find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        let dev = format!("/dev/{}", w.get(3)?);
        Path::new(&dev).exists().then(|| (dev, format!("{}:{}", w[0], w[1])))
    })
}

fn wait_shut_off(d: &QemuDaemon, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.virsh_ok(&format!("domstate {name}")).contains("shut off") {
        assert!(Instant::now() < deadline, "{name} did not shut off");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn qemu_runs_as_the_configured_user_with_labels_cgroup_and_sandbox() {
    let g = build_guest();
    let user = TestUser::create();
    let mut d = QemuDaemon::start("qemu-host", &[]);
    configure(
        &mut d,
        &format!("user = \"{0}\"\ngroup = \"{0}\"\ndynamic_ownership = 1\nremember_owner = 1\nunknown_key = \"ignored\"\n", user.name),
    );
    // Private copies of the kernel and initrd: they are labelled too, and the shared
    // build output must not change owners under other tests.
    let kernel = d.dir.0.join("vmlinuz");
    let initrd = d.dir.0.join("initrd.img");
    std::fs::copy(&g.kernel, &kernel).expect("copy kernel");
    std::fs::copy(&g.initrd, &initrd).expect("copy initrd");
    let mine = Guest { kernel: kernel.display().to_string(), initrd: initrd.display().to_string(), cmdline: g.cmdline.clone() };
    let mut tunes = String::from(
        "<vcpu>1</vcpu>
  <memtune><hard_limit unit='MiB'>512</hard_limit><soft_limit unit='MiB'>384</soft_limit></memtune>
  <cputune><shares>2048</shares><period>100000</period><quota>50000</quota>\
<emulator_period>100000</emulator_period><emulator_quota>80000</emulator_quota></cputune>",
    );
    let blk = block_device();
    if let Some((dev, _)) = &blk {
        tunes.push_str(&format!("\n  <blkiotune><device><path>{dev}</path><read_iops_sec>1000</read_iops_sec></device></blkiotune>"));
    }
    let xml = guest_xml(&mine, &d.dir.0, "host").replacen("<vcpu>1</vcpu>", &tunes, 1);
    define(&d, "host", &xml);
    let disk = d.dir.0.join("host.img");
    let serial = d.dir.0.join("host.serial");
    // An original owner that is neither root nor the QEMU user.
    std::os::unix::fs::chown(&disk, Some(4242), Some(4343)).expect("chown disk");
    let orig_kernel = owner(&kernel);

    let t = Instant::now();
    d.virsh_ok("start host");
    let pid = d.qemu_pid("host");
    let ps = Command::new("ps").args(["-o", "user=,group=", "-p", &pid.to_string()]).output().expect("ps runs (package procps)");
    let ps = String::from_utf8_lossy(&ps.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(ps, format!("{0} {0}", user.name), "QEMU's user and group");
    for f in [&disk, &serial, &kernel, &initrd] {
        assert_eq!(owner(f), (user.uid, user.gid), "{} while running", f.display());
    }
    // The sandbox is on: the argument as libvirt 9.0 writes it, and seccomp filters.
    let cmdline = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline")).replace('\0', " ");
    assert!(cmdline.contains(" -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny "), "{cmdline}");
    let status = read(Path::new(&format!("/proc/{pid}/status")));
    assert!(status.lines().any(|l| l.starts_with("Seccomp:") && l.ends_with('2')), "{status}");
    // The user's groups, no capabilities (libvirt's clear_emulator_capabilities).
    let field = |k: &str| status.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("").trim().to_string();
    assert_eq!(field("Groups:"), user.gid.to_string(), "{status}");
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    assert_eq!(field("CapBnd:"), "0000000000000000", "{status}");
    wait_marker(&d, "host", t);
    let live = d.virsh_ok("dumpxml host");
    let label = format!("<seclabel type='dynamic' model='dac' relabel='yes'>\n    <label>+{0}:+{1}</label>\n    <imagelabel>+{0}:+{1}</imagelabel>\n  </seclabel>", user.uid, user.gid);
    assert!(live.contains(&label), "{live}");
    assert!(!d.virsh_ok("dumpxml --inactive host").contains("<seclabel"), "the label is live only");
    // QEMU, not root, made the monitor and agent sockets: both still work.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = d.virsh(r#"qemu-agent-command host '{"execute":"guest-ping"}'"#);
        if out.status.success() {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"{"return":{}}"#);
            break;
        }
        assert!(Instant::now() < deadline, "agent never answered: {}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
    }
    let agent = std::fs::read_dir(d.root().join("lib/qemu"))
        .expect("lib dir")
        .flatten()
        .map(|e| e.path().join("org.qemu.guest_agent.0"))
        .find(|p| p.exists())
        .expect("agent socket");
    assert_eq!(owner(&agent), (user.uid, user.gid), "the agent socket is QEMU's");

    // The cgroup and its tunables.
    let groups: Vec<PathBuf> = if pure_v2() {
        // QEMU's threads are in the threaded `emulator` sub-group (as libvirt's
        // virCgroupNewThread makes it), the vCPU in `vcpu0`; the domain group above
        // them carries memory and the weight.
        let emu = v2_dir(pid);
        assert!(emu.ends_with("emulator"), "{}", emu.display());
        let dir = emu.parent().expect("domain group").to_path_buf();
        assert!(
            dir.display().to_string().contains("/machine/") && dir.display().to_string().ends_with(".libvirt-qemu"),
            "{}",
            dir.display()
        );
        assert_eq!(read(&dir.join("memory.max")), (512u64 << 20).to_string());
        assert_eq!(read(&dir.join("memory.high")), (384u64 << 20).to_string());
        assert_eq!(read(&dir.join("cpu.weight")), "2048");
        assert_eq!(read(&emu.join("cgroup.type")), "threaded");
        assert_eq!(read(&emu.join("cpu.max")), "80000 100000");
        assert_eq!(read(&dir.join("vcpu0/cpu.max")), "50000 100000");
        assert!(!read(&dir.join("vcpu0/cgroup.threads")).is_empty(), "the vCPU thread is in vcpu0");
        vec![dir]
    } else {
        let mem = cgroup_dir(pid, "memory").expect("QEMU has a memory cgroup");
        let name = mem.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        assert!(name.ends_with(".libvirt-qemu") && mem.parent().is_some_and(|p| p.ends_with("machine")), "{}", mem.display());
        assert_eq!(read(&mem.join("memory.limit_in_bytes")), (512u64 << 20).to_string());
        assert_eq!(read(&mem.join("memory.soft_limit_in_bytes")), (384u64 << 20).to_string());
        // QEMU's main thread is in the emulator sub-group; the vCPU in vcpu0.
        let emu = cgroup_dir(pid, "cpu").expect("QEMU has a cpu cgroup");
        assert!(emu.ends_with(format!("{name}/emulator")), "{}", emu.display());
        let dom = emu.parent().expect("domain group").to_path_buf();
        assert_eq!(read(&dom.join("cpu.shares")), "2048");
        assert_eq!(read(&emu.join("cpu.cfs_quota_us")), "80000");
        assert_eq!(read(&dom.join("vcpu0/cpu.cfs_quota_us")), "50000");
        assert_eq!(read(&dom.join("vcpu0/cpu.cfs_period_us")), "100000");
        assert!(!read(&dom.join("vcpu0/tasks")).is_empty(), "the vCPU thread is in vcpu0");
        let mut all = vec![mem, dom];
        if let Some((_, majmin)) = &blk {
            let b = cgroup_dir(pid, "blkio").expect("QEMU has a blkio cgroup");
            assert_eq!(read(&b.join("blkio.throttle.read_iops_device")), format!("{majmin} 1000"));
            all.push(b);
        }
        all
    };

    // A plain destroy gives everything back.
    d.virsh_ok("destroy host");
    assert_eq!(owner(&disk), (4242, 4343), "disk owner after destroy");
    assert_eq!(owner(&kernel), orig_kernel, "kernel owner after destroy");
    for g in &groups {
        assert!(!g.exists(), "{} removed after destroy", g.display());
    }

    // A QEMU killed behind the daemon's back: the owners come back when it notices.
    d.virsh_ok("start host");
    let pid = d.qemu_pid("host");
    assert_eq!(owner(&disk), (user.uid, user.gid));
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    wait_shut_off(&d, "host");
    assert_eq!(owner(&disk), (4242, 4343), "disk owner after a crash");
    for g in &groups {
        assert!(!g.exists(), "{} removed after a crash", g.display());
    }

    // A daemon killed with SIGKILL: the restarted one finds the guest, its cgroup and
    // the remembered owners, and a destroy gives them back.
    d.virsh_ok("start host");
    let pid = d.qemu_pid("host");
    let mem_before = cgroup_dir(pid, "memory").or_else(|| pure_v2().then(|| v2_dir(pid).parent().map(Path::to_path_buf)).flatten());
    d.kill9();
    d.spawn();
    assert_eq!(d.qemu_pid("host"), pid);
    assert_eq!(owner(&disk), (user.uid, user.gid));
    d.virsh_ok("destroy host");
    assert_eq!(owner(&disk), (4242, 4343), "disk owner after restart + destroy");
    assert_eq!(owner(&serial), (0, 0), "the pre-created serial file was root's");
    if let Some(m) = mem_before {
        assert!(!m.exists(), "{} removed after restart + destroy", m.display());
    }

    // A QEMU that dies while no daemon watches: the restarted daemon shuts the guest
    // off as crashed and gives everything back.
    d.virsh_ok("start host");
    let pid = d.qemu_pid("host");
    let mem_before = cgroup_dir(pid, "memory").or_else(|| pure_v2().then(|| v2_dir(pid).parent().map(Path::to_path_buf)).flatten());
    d.kill9();
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    d.spawn();
    assert_eq!(d.virsh_ok("domstate host --reason").trim(), "shut off (crashed)");
    assert_eq!(owner(&disk), (4242, 4343), "disk owner after a crash seen at restart");
    assert_eq!(owner(&kernel), orig_kernel, "kernel owner after a crash seen at restart");
    if let Some(m) = mem_before {
        assert!(!m.exists(), "{} removed after a crash seen at restart", m.display());
    }
    d.virsh_ok("undefine host");
    d.assert_clean();
}

#[test]
fn bad_host_settings_give_libvirts_errors() {
    let mut d = QemuDaemon::start("qemu-host-bad", &[]);
    let fails = |d: &QemuDaemon, line: &str| -> String {
        let out = d.virsh(line);
        assert!(!out.status.success(), "virsh {line} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // Settings the driver cannot honour: the driver does not come up, and says why.
    configure(&mut d, "user = \"no-such-user-oxvirt\"\n");
    let e = fails(&d, "list --all");
    assert!(e.contains("Failed to parse user 'no-such-user-oxvirt'"), "{e}");
    configure(&mut d, "cgroup_controllers = [ \"cpu\", \"bogus\" ]\n");
    let e = fails(&d, "list --all");
    assert!(e.contains("Unknown cgroup controller 'bogus'"), "{e}");
    configure(&mut d, "dynamic_ownership = 2\n");
    let e = fails(&d, "list --all");
    assert!(e.contains("value for 'dynamic_ownership' parameter must be 0 or 1"), "{e}");

    // No sandbox, and no memory controller.
    configure(&mut d, "seccomp_sandbox = 0\ncgroup_controllers = [ \"cpu\" ]\n");
    let bad = |what: &str, tune: &str| {
        let xml = idle_xml(what).replacen("<vcpu>1</vcpu>", &format!("<vcpu>1</vcpu>{tune}"), 1);
        let file = d.dir.0.join(format!("{what}.xml"));
        std::fs::write(&file, xml).expect("write XML");
        fails(&d, &format!("define {}", file.display()))
    };
    let e = bad("shares", "<cputune><shares>1</shares></cputune>");
    assert!(e.contains("Value of cputune 'shares' must be in range [2, 262144]"), "{e}");
    let e = bad("period", "<cputune><period>5</period></cputune>");
    assert!(e.contains("Value of cputune 'period' must be in range [1000, 1000000]"), "{e}");
    let e = bad("hard", "<memtune><hard_limit>lots</hard_limit></memtune>");
    assert!(e.contains("Invalid value 'lots' for element or attribute './memtune/hard_limit[1]'"), "{e}");

    define(&d, "mem", &idle_xml("mem").replacen("<vcpu>1</vcpu>", "<vcpu>1</vcpu><memtune><hard_limit>262144</hard_limit></memtune>", 1));
    let e = fails(&d, "start mem");
    assert!(e.contains("Memory cgroup is not available on this host"), "{e}");
    define(&d, "idle", &idle_xml("idle"));
    d.virsh_ok("start idle");
    let pid = d.qemu_pid("idle");
    let cmdline = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline")).replace('\0', " ");
    assert!(cmdline.starts_with(QEMU) && cmdline.contains(" -sandbox off "), "{cmdline}");
    // QEMU as root (the default user) still has no capabilities.
    let status = read(Path::new(&format!("/proc/{pid}/status")));
    assert!(status.lines().any(|l| l.starts_with("CapEff:") && l.ends_with("0000000000000000")), "{status}");
    assert!(status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")), "{status}");
    d.virsh_ok("destroy idle");
    d.virsh_ok("undefine idle");

    // A static DAC label of the domain's own: QEMU runs as that uid and gid.
    let xml =
        idle_xml("static").replacen("<devices>", "<seclabel type='static' model='dac'><label>+4242:+4343</label></seclabel><devices>", 1);
    define(&d, "static", &xml);
    d.virsh_ok("start static");
    let pid = d.qemu_pid("static");
    let ps = Command::new("ps").args(["-o", "uid=,gid=", "-p", &pid.to_string()]).output().expect("ps runs");
    assert_eq!(String::from_utf8_lossy(&ps.stdout).split_whitespace().collect::<Vec<_>>(), ["4242", "4343"]);
    d.virsh_ok("destroy static");
    d.virsh_ok("undefine static");
    d.virsh_ok("undefine mem");
    d.assert_clean();
}
