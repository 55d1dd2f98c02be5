//! Memory, vCPU and tuning changes on `qemu:///system` served by oxvirtd, with real
//! QEMU, Debian's `virsh` and libvirt-python: `setmem` through the balloon of the test
//! guest (the live `<currentMemory>` follows QEMU's BALLOON_CHANGE), `setvcpus`
//! hotplug and unplug seen by the guest (its agent's `guest-get-vcpus`), the config
//! side of both (`dumpxml --inactive`, across a daemon restart), and `memtune`,
//! `schedinfo`, `blkiotune` written to the guest's cgroup and read back from it, kept
//! in the status file across `kill -9` of the daemon and in the config file; libvirt's
//! errors for bad values. Needs root (CI runs as root).

use super::qemu::{build_guest, define, guest_xml, idle_xml, wait_marker, QemuDaemon};
use super::qemu_host::{block_device, cgroup_dir, pure_v2, read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `virsh LINE` must fail; returns stderr.
fn virsh_err(d: &QemuDaemon, line: &str) -> String {
    let out = d.virsh(line);
    assert!(!out.status.success(), "virsh {line} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `NAME : VALUE` lines of virsh's tuning commands.
fn field(out: &str, key: &str) -> String {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

/// Poll `f` until it is true (30 s at most; the guest runs under TCG).
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The guest's domain group in v1 hierarchy `controller` (QEMU's main thread sits
/// in the `emulator` sub-group of `cpu`).
fn domain_dir(pid: i32, controller: &str) -> PathBuf {
    let dir = cgroup_dir(pid, controller).unwrap_or_else(|| panic!("QEMU has no {controller} cgroup"));
    if dir.ends_with("emulator") {
        dir.parent().map(PathBuf::from).unwrap_or(dir)
    } else {
        dir
    }
}

const PY_ERRORS: &str = r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
dom = c.lookupByName('tune')
def err(f):
    try:
        f()
    except libvirt.libvirtError as e:
        return '%d %d %s' % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
    raise SystemExit('no error')
L = libvirt.VIR_DOMAIN_AFFECT_LIVE
print(err(lambda: dom.setMemoryFlags(4 << 20, L)))
print(err(lambda: dom.setMaxMemory(131072)))
print(err(lambda: dom.setVcpusFlags(3, L)))
print(err(lambda: dom.setVcpusFlags(4, L | libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)))
print(dom.vcpusFlags(L), dom.vcpusFlags(L | libvirt.VIR_DOMAIN_VCPU_MAXIMUM), dom.maxVcpus(), dom.info()[3])
"#;

#[test]
fn balloon_and_vcpu_hotplug_on_the_test_guest() {
    let g = build_guest();
    let mut d = QemuDaemon::start("qemu-tune", &[]);
    let xml = guest_xml(&g, &d.dir.0, "tune")
        .replace("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>")
        .replace("  </devices>", "    <memballoon model='virtio'/>\n  </devices>");
    define(&d, "tune", &xml);
    let t = Instant::now();
    d.virsh_ok("start tune");
    wait_marker(&d, "tune", t);
    let qemu = d.qemu_pid("tune");
    assert!(std::fs::read_to_string(format!("/proc/{qemu}/cmdline")).unwrap_or_default().contains("1,maxcpus=2"));

    // Balloon: the guest driver gives the memory back; the live XML and dominfo show
    // what QEMU reports, as libvirt's BALLOON_CHANGE handler does.
    d.virsh_ok("setmem tune 196608 --live");
    wait_for("the balloon", || d.virsh_ok("dominfo tune").contains("Used memory:    196608 KiB"));
    let stat = d.virsh_ok("dommemstat tune");
    assert!(stat.lines().any(|l| l.trim() == "actual 196608"), "{stat}");
    assert!(d.virsh_ok("dumpxml tune").contains("<currentMemory unit='KiB'>196608</currentMemory>"));
    assert!(d.virsh_ok("dumpxml tune --inactive").contains("<currentMemory unit='KiB'>262144</currentMemory>"));
    assert!(virsh_err(&d, "setmem tune 524288 --live").contains("cannot set memory higher than max memory"));
    assert!(virsh_err(&d, "setmaxmem tune 131072 --live").contains("cannot resize the maximum memory on an active domain"));

    // vCPU hotplug: the guest onlines the new CPU (its agent says so).
    d.virsh_ok("setvcpus tune 2 --live");
    let count = d.virsh_ok("vcpucount tune");
    assert!(count.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["current", "live", "2"]), "{count}");
    assert!(count.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["current", "config", "1"]), "{count}");
    wait_for("the guest to online vCPU 1", || {
        let out = d.virsh("guestvcpus tune");
        out.status.success() && field(&String::from_utf8_lossy(&out.stdout), "online") == "0-1"
    });
    // Through the agent (VIR_DOMAIN_VCPU_GUEST): the guest offlines and onlines CPU 1.
    assert_eq!(d.virsh_ok("vcpucount tune --guest").trim(), "2");
    d.virsh_ok("setvcpus tune 1 --guest");
    assert_eq!(d.virsh_ok("vcpucount tune --guest").trim(), "1");
    assert!(virsh_err(&d, "setvcpus tune 3 --guest")
        .contains("requested vcpu count is greater than the count of enabled vcpus in the domain: 3 > 2"));
    d.virsh_ok("setvcpus tune 2 --guest");
    assert_eq!(field(&d.virsh_ok("guestvcpus tune"), "online"), "0-1");
    let live = d.virsh_ok("dumpxml tune");
    assert!(live.contains("<vcpu id='1' enabled='yes' hotpluggable='yes' order='2'/>"), "{live}");
    if !pure_v2() {
        let vcpu1 = domain_dir(qemu, "cpu").join("vcpu1/tasks");
        assert!(!read(&vcpu1).is_empty(), "the new vCPU thread is in {}", vcpu1.display());
    }
    let errs = d.python(PY_ERRORS);
    let lines: Vec<&str> = errs.lines().collect();
    assert_eq!(lines[0], "8 10 invalid argument: cannot set memory higher than max memory", "{errs}");
    assert_eq!(lines[1], "55 10 Requested operation is not valid: cannot resize the maximum memory on an active domain", "{errs}");
    assert_eq!(lines[2], "8 10 invalid argument: requested vcpus is greater than max allowable vcpus for the live domain: 3 > 2", "{errs}");
    assert_eq!(lines[3], "84 10 Operation not supported: maximum vcpu count of a live domain can't be modified", "{errs}");
    assert_eq!(lines[4], "2 2 2 2", "{errs}");

    // Everything live is in the status file: a killed daemon finds it again, and the
    // hot-added vCPU can still be unplugged.
    d.kill9();
    d.spawn();
    assert!(d.virsh_ok("dominfo tune").contains("Used memory:    196608 KiB"));
    assert!(d.virsh_ok("dumpxml tune").contains("<vcpu id='1' enabled='yes' hotpluggable='yes' order='2'/>"));
    d.virsh_ok("setvcpus tune 1 --live");
    assert!(d.virsh_ok("vcpucount tune --live --active").trim() == "1");
    wait_for("the guest to lose vCPU 1", || {
        let out = d.virsh("guestvcpus tune");
        out.status.success() && field(&String::from_utf8_lossy(&out.stdout), "vcpus") == "0"
    });

    // Config changes: the persistent definition only, in the config file.
    d.virsh_ok("setmem tune 131072 --config");
    d.virsh_ok("setmaxmem tune 524288 --config");
    d.virsh_ok("setvcpus tune 4 --config --maximum");
    d.virsh_ok("setvcpus tune 3 --config");
    assert!(virsh_err(&d, "setvcpus tune 5 --config")
        .contains("requested vcpus is greater than max allowable vcpus for the persistent domain: 5 > 4"));
    d.kill9();
    d.spawn();
    let inactive = d.virsh_ok("dumpxml tune --inactive");
    assert!(inactive.contains("<memory unit='KiB'>524288</memory>"), "{inactive}");
    assert!(inactive.contains("<currentMemory unit='KiB'>131072</currentMemory>"), "{inactive}");
    assert!(inactive.contains(" current='3'>4</vcpu>"), "{inactive}");
    let live = d.virsh_ok("dumpxml tune");
    assert!(live.contains("<memory unit='KiB'>262144</memory>") && live.contains(" current='1'>2</vcpu>"), "{live}");
    d.virsh_ok("destroy tune");
    assert!(d.virsh_ok("dumpxml tune").contains("<memory unit='KiB'>524288</memory>"));
    // The next start balloons down to <currentMemory> and boots 3 of 4 vCPUs.
    let t = Instant::now();
    d.virsh_ok("start tune");
    wait_marker(&d, "tune", t);
    wait_for("the start-up balloon", || d.virsh_ok("dominfo tune").contains("Used memory:    131072 KiB"));
    assert_eq!(d.virsh_ok("vcpucount tune --live --active").trim(), "3");
    d.virsh_ok("destroy tune");
    d.assert_clean();
}

#[test]
fn tunables_go_to_the_cgroup_and_the_definitions() {
    let mut d = QemuDaemon::start("qemu-tunables", &[]);
    define(&d, "tunes", &idle_xml("tunes"));
    // Inactive: libvirt's answers from the definition.
    assert_eq!(field(&d.virsh_ok("schedinfo tunes"), "Scheduler"), "posix");
    assert_eq!(field(&d.virsh_ok("memtune tunes"), "hard_limit"), "unlimited");
    d.virsh_ok("start tunes");
    let qemu = d.qemu_pid("tunes");

    d.virsh_ok("memtune tunes --hard-limit 262144 --soft-limit 131072 --live");
    d.virsh_ok("schedinfo tunes --live --set cpu_shares=2048 --set vcpu_quota=50000 --set emulator_period=200000 --set global_quota=80000");
    let dev = block_device();
    if let Some((path, _)) = &dev {
        d.virsh_ok(&format!("blkiotune tunes --device-read-iops-sec {path},100 --live"));
    }
    if !pure_v2() {
        let mem = domain_dir(qemu, "memory");
        assert_eq!(read(&mem.join("memory.limit_in_bytes")), "268435456");
        assert_eq!(read(&mem.join("memory.soft_limit_in_bytes")), "134217728");
        let cpu = domain_dir(qemu, "cpu");
        assert_eq!(read(&cpu.join("cpu.shares")), "2048");
        assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "80000");
        assert_eq!(read(&cpu.join("vcpu0/cpu.cfs_quota_us")), "50000");
        assert_eq!(read(&cpu.join("emulator/cpu.cfs_period_us")), "200000");
        if let Some((_, majmin)) = &dev {
            let blk = read(&domain_dir(qemu, "blkio").join("blkio.throttle.read_iops_device"));
            assert!(blk.lines().any(|l| l == format!("{majmin} 100")), "{blk}");
        }
    }
    // Read back from the cgroup.
    let mt = d.virsh_ok("memtune tunes");
    assert_eq!((field(&mt, "hard_limit"), field(&mt, "soft_limit")), ("262144".into(), "131072".into()), "{mt}");
    let si = d.virsh_ok("schedinfo tunes");
    for (k, v) in [("cpu_shares", "2048"), ("vcpu_quota", "50000"), ("emulator_period", "200000"), ("global_quota", "80000")] {
        assert_eq!(field(&si, k), v, "{si}");
    }
    // libvirt's errors.
    let err = virsh_err(&d, "memtune tunes --hard-limit 1048576 --swap-hard-limit 524288");
    assert!(err.contains("memory hard_limit tunable value must be lower than or equal to swap_hard_limit"), "{err}");
    assert!(virsh_err(&d, "schedinfo tunes --set vcpu_period=10").contains("value of 'vcpu_period' is out of range [1000, 1000000]"));
    assert!(virsh_err(&d, "schedinfo tunes --set cpu_shares=1 --live").contains("must be in range [2, 262144]"));
    let err = virsh_err(&d, "blkiotune tunes --device-read-iops-sec /dev/null,100 --live");
    assert!(err.contains("must be a block device"), "{err}");

    // Pinning: the vCPU thread's and QEMU's affinity, `<vcpupin>`/`<emulatorpin>`.
    let cpus = d.virsh_ok("qemu-monitor-command tunes '{\"execute\":\"query-cpus-fast\"}'");
    let cpus: serde_json::Value = serde_json::from_str(cpus.trim()).expect("QMP reply");
    let tid = cpus["return"][0]["thread-id"].as_i64().expect("vCPU thread");
    let allowed = |task: i64| {
        let status = std::fs::read_to_string(format!("/proc/{qemu}/task/{task}/status")).expect("task status");
        status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).map(|v| v.trim().to_string()).unwrap_or_default()
    };
    let last = std::fs::read_to_string("/sys/devices/system/cpu/online").expect("online CPUs");
    let last = last.trim().rsplit(['-', ',']).next().unwrap_or("0").to_string();
    d.virsh_ok(&format!("vcpupin tunes 0 {last} --live"));
    d.virsh_ok(&format!("emulatorpin tunes {last} --live"));
    assert_eq!(allowed(tid), last);
    assert_eq!(allowed(i64::from(qemu)), last);
    let pins = d.virsh_ok("vcpupin tunes");
    assert!(pins.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["0", last.as_str()]), "{pins}");
    assert_eq!(field(&d.virsh_ok("emulatorpin tunes"), "*"), last);
    assert!(virsh_err(&d, "vcpupin tunes 1 0 --live").contains("vcpu 1 is out of range of live cpu count 1"));

    // The live values are in the status file: a killed daemon shows them again.
    d.kill9();
    d.spawn();
    let live = d.virsh_ok("dumpxml tunes");
    assert!(live.contains("<hard_limit unit='KiB'>262144</hard_limit>"), "{live}");
    assert!(live.contains("<shares>2048</shares>") && live.contains("<quota>50000</quota>"), "{live}");
    if let Some((path, _)) = &dev {
        assert!(live.contains(&format!("<path>{path}</path>")) && live.contains("<read_iops_sec>100</read_iops_sec>"), "{live}");
    }
    assert!(
        live.contains(&format!("<vcpupin vcpu='0' cpuset='{last}'/>")) && live.contains(&format!("<emulatorpin cpuset='{last}'/>")),
        "{live}"
    );
    assert!(!d.virsh_ok("dumpxml tunes --inactive").contains("<memtune>"));

    // Config: the persistent definition, used by the next start.
    d.virsh_ok("memtune tunes --config --hard-limit 524288");
    d.virsh_ok("schedinfo tunes --config --set cpu_shares=512 --set vcpu_period=20000");
    d.virsh_ok("blkiotune tunes --config --weight 500");
    d.virsh_ok("vcpupin tunes 0 0 --config");
    let conf = std::fs::read_to_string(d.root().join("etc/qemu/tunes.xml")).expect("config file");
    assert!(conf.contains("<hard_limit unit='KiB'>524288</hard_limit>") && conf.contains("<weight>500</weight>"), "{conf}");
    assert_eq!(field(&d.virsh_ok("blkiotune tunes --config"), "weight"), "500");
    assert_eq!(field(&d.virsh_ok("schedinfo tunes --config"), "cpu_shares"), "512");
    assert_eq!(field(&d.virsh_ok("memtune tunes"), "hard_limit"), "262144", "the live value stays");
    d.virsh_ok("destroy tunes");
    // virsh refuses weight 0 (unset); this host has no weight file for a start to write.
    d.python(
        "import sys, libvirt\nc = libvirt.open(sys.argv[1])\n\
         c.lookupByName('tunes').setBlkioParameters({'weight': 0}, libvirt.VIR_DOMAIN_AFFECT_CONFIG)",
    );
    assert!(!d.virsh_ok("dumpxml tunes --inactive").contains("<weight>"));
    d.virsh_ok("start tunes");
    let si = d.virsh_ok("schedinfo tunes --live");
    assert_eq!((field(&si, "cpu_shares"), field(&si, "vcpu_period")), ("512".into(), "20000".into()), "{si}");
    assert_eq!(field(&d.virsh_ok("memtune tunes --live"), "hard_limit"), "524288");
    // <vcpupin> applies at start.
    let qemu = d.qemu_pid("tunes");
    let cpus = d.virsh_ok("qemu-monitor-command tunes '{\"execute\":\"query-cpus-fast\"}'");
    let cpus: serde_json::Value = serde_json::from_str(cpus.trim()).expect("QMP reply");
    let tid = cpus["return"][0]["thread-id"].as_i64().expect("vCPU thread");
    let status = std::fs::read_to_string(format!("/proc/{qemu}/task/{tid}/status")).expect("task status");
    assert!(status.lines().any(|l| l.starts_with("Cpus_allowed_list:") && l.ends_with("\t0")), "{status}");
    d.virsh_ok("destroy tunes");
    d.assert_clean();
}

/// The same tuning calls through libvirt-python against oxvirtd and against libvirtd
/// 9.0 (`qemu_vs_libvirtd.rs`'s harness) on a firmware-only guest: the answers, the
/// live `<vcpus>` list after a hotplug and the errors (code, domain, message) must be
/// identical. The unplug of a vCPU SeaBIOS never ejects times out in both.
#[test]
fn tuning_matches_libvirtd() {
    const SCRIPT: &str = r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
L, C = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG
dom = c.defineXML(sys.argv[2])
def show(what, f):
    try:
        r = f()
    except libvirt.libvirtError as e:
        r = 'error %d %d %s' % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
    print(what, r)
def vcpus_xml(flags=0):
    return [l.strip() for l in dom.XMLDesc(flags).splitlines() if '<vcpu' in l]
show('type', lambda: dom.schedulerType())
show('mem config', lambda: dom.memoryParameters(C))
show('set mem config', lambda: dom.setMemoryParameters({'hard_limit': 262144, 'swap_hard_limit': 524288}, C))
show('mem config', lambda: dom.memoryParameters(C))
show('bad mem', lambda: dom.setMemoryParameters({'hard_limit': 1048576}, C))
show('sched config', lambda: dom.schedulerParametersFlags(C))
show('set sched config', lambda: dom.setSchedulerParametersFlags({'cpu_shares': 512, 'vcpu_period': 20000, 'emulator_quota': -1}, C))
show('sched config', lambda: dom.schedulerParametersFlags(C))
show('bad sched', lambda: dom.setSchedulerParametersFlags({'vcpu_quota': 10}, C))
show('blkio config', lambda: dom.blkioParameters(C))
show('bad blkio', lambda: dom.setBlkioParameters({'device_read_iops_sec': '/dev/null'}, C))
show('set maxmem', lambda: dom.setMaxMemory(98304))
show('set mem', lambda: dom.setMemoryFlags(200000, C))
show('set vcpus', lambda: dom.setVcpusFlags(3, C))
show('set vcpus hp', lambda: dom.setVcpusFlags(2, C | libvirt.VIR_DOMAIN_VCPU_HOTPLUGGABLE))
print(vcpus_xml(libvirt.VIR_DOMAIN_XML_INACTIVE))
show('set max vcpus', lambda: dom.setVcpusFlags(3, C | libvirt.VIR_DOMAIN_VCPU_MAXIMUM))
print(vcpus_xml(libvirt.VIR_DOMAIN_XML_INACTIVE))
show('set max vcpus', lambda: dom.setVcpusFlags(2, C | libvirt.VIR_DOMAIN_VCPU_MAXIMUM))
show('set vcpus', lambda: dom.setVcpusFlags(1, C))
print(vcpus_xml(libvirt.VIR_DOMAIN_XML_INACTIVE))
show('pin config', lambda: dom.pinVcpuFlags(0, (True, False), C))
show('pin info config', lambda: dom.vcpuPinInfo(C))
show('emulator pin info', lambda: dom.emulatorPinInfo(C))
dom.setMemoryParameters({'hard_limit': 9007199254740991, 'swap_hard_limit': 9007199254740991}, C)
dom.create()
show('live type', lambda: dom.schedulerType())
show('mem live', lambda: dom.memoryParameters(L))
show('set mem live', lambda: dom.setMemoryParameters({'soft_limit': 131072}, L))
show('mem live', lambda: dom.memoryParameters(L))
show('sched live', lambda: dom.schedulerParametersFlags(L))
show('set sched live', lambda: dom.setSchedulerParametersFlags({'cpu_shares': 2048, 'vcpu_quota': 50000, 'global_period': 50000}, L))
show('sched live', lambda: dom.schedulerParametersFlags(L))
show('blkio live', lambda: dom.blkioParameters(L))
show('setmem live', lambda: dom.setMemoryFlags(1 << 20, L))
show('setmaxmem live', lambda: dom.setMemoryFlags(65536, L | libvirt.VIR_DOMAIN_MEM_MAXIMUM))
show('setvcpus live', lambda: dom.setVcpusFlags(2, L))
show('vcpus', lambda: (dom.vcpusFlags(L), dom.vcpusFlags(C)))
print(vcpus_xml())
show('pin info live', lambda: dom.vcpuPinInfo(L))
show('pin live', lambda: dom.pinVcpuFlags(1, (False, True), L))
show('pin info live', lambda: dom.vcpuPinInfo(L))
show('bad pin', lambda: dom.pinVcpuFlags(0, (False, False), L))
show('unplug', lambda: dom.setVcpusFlags(1, L))
show('too many', lambda: dom.setVcpusFlags(3, L))
dom.destroy()
dom.undefine()
"#;
    let xml = format!(
        "<domain type='qemu'>
  <name>tunediff</name>
  <uuid>8c1f53a2-0d3e-4f8b-9b61-7f5e2f0c6a11</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>{}</emulator><memballoon model='virtio'/></devices>
</domain>",
        super::qemu::QEMU
    );
    let run = |uri: &str| {
        let home = super::harness::TempDir::new("qemu-tune-py");
        let out = super::harness::client_cmd(super::qemu::PYTHON, &home.0)
            .arg("-c")
            .arg(SCRIPT)
            .arg(uri)
            .arg(&xml)
            .output()
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "tuning script failed against {uri}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let ours = {
        let d = QemuDaemon::start("qemu-tune-diff", &[]);
        let t = run(&d.uri());
        d.assert_clean();
        t
    };
    let theirs = {
        let l = super::qemu_vs_libvirtd::Libvirtd::start();
        run(&l.uri())
    };
    eprintln!("oxvirtd:\n{ours}\nlibvirtd 9.0:\n{theirs}");
    assert_eq!(ours, theirs, "tuning calls differ from libvirtd's");
}
