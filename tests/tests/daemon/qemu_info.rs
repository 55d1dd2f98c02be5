//! Domain information calls on real QEMU guests served by oxvirtd, driven by Debian's
//! `virsh` and libvirt-python: statistics (`domstats`, `domblkstat`, `domblkinfo`,
//! `dommemstat`, `vcpuinfo`, `domifstat`), the guest agent's answers (`domtime`,
//! `domhostname`, `domifaddr --source agent`, `guestinfo`), agent-mode reboot and
//! shutdown, and libvirt's errors when the agent is not configured or not
//! connected. The test guest has a user-mode NIC (no traffic leaves QEMU) with a
//! static address, a virtio disk, a balloon and the agent channel.

use super::qemu::{build_guest, define, guest_xml, wait_marker, Guest, QemuDaemon, MARKER, PY_EVENTS, QEMU};
use std::path::Path;
use std::time::{Duration, Instant};

const MAC: &str = "52:54:00:4f:58:01";

/// The test guest of `qemu.rs` (`guest_xml`) plus a user-mode NIC with a fixed MAC, the
/// guest's address on its kernel command line, and an explicit virtio balloon.
fn info_guest_xml(g: &Guest, dir: &Path, name: &str) -> String {
    let xml = guest_xml(g, dir, name);
    let cmdline = format!("<cmdline>{}</cmdline>", g.cmdline);
    assert!(xml.contains(&cmdline) && xml.contains("    <serial type='file'>"), "unexpected guest XML: {xml}");
    xml.replace(&cmdline, &format!("<cmdline>{} guest.ip=10.0.2.15/24</cmdline>", g.cmdline))
        .replace(
            "    <serial type='file'>",
            &format!(
                "    <interface type='user'>\n      <mac address='{MAC}'/>\n      <model type='virtio'/>\n    </interface>\n    <serial type='file'>"
            ),
        )
        .replace("  </devices>", "    <memballoon model='virtio'/>\n  </devices>")
}

/// A firmware-only guest (SeaBIOS idles), with or without an agent channel that no
/// agent ever opens.
fn idle_xml(name: &str, channel: bool) -> String {
    let chan = if channel {
        "<channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    } else {
        ""
    };
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>{QEMU}</emulator>{chan}</devices>
</domain>"
    )
}

/// `virsh LINE` must fail; returns stderr.
fn virsh_err(d: &QemuDaemon, line: &str) -> String {
    let out = d.virsh(line);
    assert!(!out.status.success(), "virsh {line} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `KEY=VALUE` lines of `virsh domstats` (and `KEY VALUE` of `domblkstat`).
fn fields(out: &str, sep: char) -> Vec<(String, String)> {
    out.lines().filter_map(|l| l.trim().split_once(sep)).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

fn num(f: &[(String, String)], key: &str) -> u64 {
    let v = f.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key} in {f:?}"));
    v.1.parse().unwrap_or_else(|_| panic!("{key}={} is not a number", v.1))
}

#[test]
fn statistics_and_agent_information_of_a_real_guest() {
    let g = build_guest();
    let d = QemuDaemon::start("qemu-info", &[]);
    define(&d, "info", &info_guest_xml(&g, &d.dir.0, "info"));
    let t = Instant::now();
    d.virsh_ok("start info");
    wait_marker(&d, "info", t);

    // The agent answers once qemu-ga opened its port; before that libvirt's error.
    let deadline = Instant::now() + Duration::from_secs(30);
    let time = loop {
        let out = d.virsh("domtime info");
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains("QEMU guest agent is not connected"), "{err}");
        assert!(Instant::now() < deadline, "the agent never connected: {err}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let guest_secs: i64 = time.trim().strip_prefix("Time: ").and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{time}"));
    let host_secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    assert!((guest_secs - host_secs).abs() < 3600, "guest clock {guest_secs}, host {host_secs}");
    d.virsh_ok("domtime info --sync");
    assert_eq!(d.virsh_ok("domhostname info").trim(), "testguest");
    assert_eq!(d.virsh_ok("domhostname info --source agent").trim(), "testguest");

    let addrs = d.virsh_ok("domifaddr info --source agent");
    assert!(addrs.lines().any(|l| l.contains("eth0") && l.contains(MAC) && l.contains("ipv4") && l.contains("10.0.2.15/24")), "{addrs}");
    assert!(addrs.lines().any(|l| l.contains("lo") && l.contains("127.0.0.1/8")), "{addrs}");
    // Without a libvirt network there are no DHCP leases.
    assert!(!d.virsh_ok("domifaddr info").contains("10.0.2.15"));

    let gi = d.virsh_ok("guestinfo info");
    let gif = fields(&gi, ':');
    let get = |k: &str| gif.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {k} in {gi}"));
    assert_eq!(get("hostname"), "testguest");
    assert!(get("os.kernel-release").starts_with("6."), "{gi}");
    assert_eq!(get("if.count").parse::<u32>().ok().map(|n| n >= 2), Some(true), "{gi}");
    let hn = d.virsh_ok("guestinfo info --hostname");
    assert_eq!(fields(&hn, ':'), vec![("hostname".to_string(), "testguest".to_string())]);

    // Control and job state, disk errors, NMI, agent timeout, file systems, passwords.
    assert_eq!(d.virsh_ok("domcontrol info").trim(), "ok");
    assert_eq!(d.virsh_ok("domjobinfo info").trim(), "Job type:         None");
    assert_eq!(d.virsh_ok("domblkerror info").trim(), "No errors found");
    d.virsh_ok("inject-nmi info");
    d.virsh_ok("guest-agent-timeout info --timeout 10");
    assert!(virsh_err(&d, "guest-agent-timeout info --timeout -3").contains("guest agent timeout '-3' is less than the minimum '-2'"));
    // Guest vCPUs: the boot CPU cannot go offline; CPU 3 does not exist.
    let gv = fields(&d.virsh_ok("guestvcpus info"), ':');
    let get_gv = |k: &str| gv.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {k} in {gv:?}"));
    assert_eq!((get_gv("vcpus"), get_gv("online")), ("0".to_string(), "0".to_string()));
    d.virsh_ok("guestvcpus info --cpulist 0 --enable");
    if get_gv("offlinable").is_empty() {
        assert!(virsh_err(&d, "guestvcpus info --cpulist 0 --disable").contains("vCPU '0' is not offlinable"));
    }
    assert!(virsh_err(&d, "guestvcpus info --cpulist 3 --enable").contains("guest is missing vCPUs '3'"));
    // The test guest runs from its initramfs: no disk file systems to list or freeze.
    assert_eq!(d.virsh_ok("domfsinfo info").trim(), "No filesystems are mounted in the domain");
    assert_eq!(d.virsh_ok("domfsfreeze info").trim(), "Froze 0 filesystem(s)");
    assert_eq!(d.virsh_ok("domfsthaw info").trim(), "Thawed 0 filesystem(s)");
    // qemu-ga needs chpasswd in the guest, which the tiny guest lacks: the agent's
    // error comes back in libvirt's words.
    let pw = d.virsh("set-user-password info root s3cret");
    let err = String::from_utf8_lossy(&pw.stderr);
    assert!(pw.status.success() || err.contains("unable to execute QEMU agent command 'guest-set-user-password'"), "{err}");

    // Block statistics: the guest read its disk while booting (the counter).
    let blk = fields(&d.virsh_ok("domblkstat info vda"), ' ');
    assert_eq!(blk.first().map(|(k, _)| k.as_str()), Some("vda"), "{blk:?}");
    let blk: Vec<(String, String)> =
        blk.into_iter().map(|(_, kv)| kv.split_once(' ').map(|(k, v)| (k.to_string(), v.trim().to_string())).unwrap_or_default()).collect();
    assert!(num(&blk, "rd_req") > 0 && num(&blk, "rd_bytes") > 0, "{blk:?}");
    for k in ["wr_req", "wr_bytes", "flush_operations", "rd_total_times", "wr_total_times", "flush_total_times"] {
        num(&blk, k);
    }
    let bi = d.virsh_ok("domblkinfo info vda");
    assert!(bi.contains("Capacity:       4194304"), "{bi}");
    assert!(virsh_err(&d, "domblkstat info vdz").contains("invalid path: vdz"));

    // A user-mode interface has no host-side device, so no counters (as libvirt).
    assert!(virsh_err(&d, &format!("domifstat info {MAC}")).contains("Interface name not provided"));
    assert!(virsh_err(&d, "domifstat info nosuch0").contains("'nosuch0' is not a known interface"));

    // Memory: balloon size and RSS at once; the guest's figures once polled.
    d.virsh_ok("dommemstat info --period 1 --live");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mem = loop {
        let m = fields(&d.virsh_ok("dommemstat info"), ' ');
        if m.iter().any(|(k, _)| k == "usable") {
            break m;
        }
        assert!(Instant::now() < deadline, "the balloon never reported guest statistics: {m:?}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(num(&mem, "actual"), 262144, "{mem:?}");
    assert!(num(&mem, "rss") > 1024 && num(&mem, "available") > 0 && num(&mem, "last_update") > 0, "{mem:?}");

    let vi = d.virsh_ok("vcpuinfo info");
    assert!(vi.contains("VCPU:           0") && vi.contains("State:          running") && vi.contains("CPU time:"), "{vi}");

    let ds = d.virsh_ok("domstats info");
    assert!(ds.starts_with("Domain: 'info'"), "{ds}");
    let st = fields(&ds, '=');
    assert_eq!(num(&st, "state.state"), 1);
    assert!(num(&st, "cpu.time") > 0);
    assert_eq!(num(&st, "balloon.maximum"), 262144);
    assert!(num(&st, "balloon.rss") > 0 && num(&st, "balloon.usable") > 0);
    assert_eq!((num(&st, "vcpu.current"), num(&st, "vcpu.maximum")), (1, 1));
    assert!(num(&st, "vcpu.0.time") > 0);
    assert_eq!(num(&st, "vcpu.0.state"), 1);
    assert_eq!(num(&st, "net.count"), 1);
    assert_eq!(num(&st, "block.count"), 1);
    assert!(ds.contains("block.0.name=vda"), "{ds}");
    assert!(num(&st, "block.0.rd.reqs") > 0 && num(&st, "block.0.rd.bytes") > 0);
    assert_eq!(num(&st, "block.0.capacity"), 4 << 20);
    assert_eq!(num(&st, "dirtyrate.calc_status"), 0);
    eprintln!("domstats:\n{ds}\nguestinfo:\n{gi}\ndomifaddr:\n{addrs}");
    let only = d.virsh_ok("domstats --state --block info");
    assert!(only.contains("state.state=1") && only.contains("block.count=1") && !only.contains("cpu.time"), "{only}");

    // libvirt-python: the same calls through the bindings.
    let out = d.python(
        "
import sys, time, libvirt
c = libvirt.open(sys.argv[1])
dom = c.lookupByName('info')
rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats('vda')
assert rd_req > 0 and rd_bytes > 0 and errs == -1, (rd_req, rd_bytes, errs)
flags = dom.blockStatsFlags('vda')
assert flags['rd_operations'] == rd_req or flags['rd_operations'] >= rd_req, flags
assert set(flags) >= {'rd_bytes', 'wr_bytes', 'flush_operations'}, flags
cap, alloc, phys = dom.blockInfo('vda')
assert cap == 4 << 20, (cap, alloc, phys)
mem = dom.memoryStats()
assert mem['actual'] == 262144 and mem['rss'] > 0, mem
secs, nsecs = dom.getTime()['seconds'], dom.getTime()['nseconds']
assert abs(secs - time.time()) < 3600, secs
assert dom.hostname() == 'testguest'
ifaces = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
assert ifaces['eth0']['hwaddr'] == '52:54:00:4f:58:01', ifaces
assert {'type': libvirt.VIR_IP_ADDR_TYPE_IPV4, 'addr': '10.0.2.15', 'prefix': 24} in ifaces['eth0']['addrs'], ifaces
gi = dom.guestInfo(libvirt.VIR_DOMAIN_GUEST_INFO_HOSTNAME | libvirt.VIR_DOMAIN_GUEST_INFO_OS)
assert gi['hostname'] == 'testguest' and 'os.kernel-release' in gi, gi
recs = c.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BLOCK | libvirt.VIR_DOMAIN_STATS_VCPU)
(d2, st), = [r for r in recs if r[0].name() == 'info']
assert st['state.state'] == libvirt.VIR_DOMAIN_RUNNING and st['block.0.name'] == 'vda' and st['vcpu.current'] == 1, st
(d3, st2), = c.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_BALLOON)
assert st2['balloon.maximum'] == 262144 and 'balloon.rss' in st2, st2
dom.setMemoryStatsPeriod(0, libvirt.VIR_DOMAIN_AFFECT_LIVE)
ro = libvirt.openReadOnly(sys.argv[1])
try:
    ro.lookupByName('info').getTime()
    raise SystemExit('getTime on a read-only connection succeeded')
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED, e
print('ok')
",
    );
    assert_eq!(out.trim(), "ok");

    // Agent errors as libvirt's: a channel nobody opens, and no channel at all.
    define(&d, "noagent", &idle_xml("noagent", true));
    define(&d, "nochan", &idle_xml("nochan", false));
    d.virsh_ok("start noagent");
    d.virsh_ok("start nochan");
    let e = virsh_err(&d, "domtime noagent");
    assert!(e.contains("Guest agent is not responding: QEMU guest agent is not connected"), "{e}");
    let e = virsh_err(&d, "shutdown noagent --mode agent");
    assert!(e.contains("QEMU guest agent is not connected"), "{e}");
    let e = virsh_err(&d, "domhostname nochan");
    assert!(e.contains("argument unsupported: QEMU guest agent is not configured"), "{e}");
    let e = virsh_err(&d, "reboot nochan --mode agent");
    assert!(e.contains("QEMU guest agent is not configured"), "{e}");
    // Every group is supported; perf has nothing to report.
    assert_eq!(d.virsh_ok("domstats --enforce --perf nochan").trim(), "Domain: 'nochan'");
    d.virsh_ok("destroy noagent");
    d.virsh_ok("destroy nochan");
    assert!(virsh_err(&d, "domtime nochan").contains("domain is not running"));
    d.virsh_ok("undefine noagent");
    d.virsh_ok("undefine nochan");

    // Agent-mode reboot: the guest boots again in the same QEMU; then agent-mode
    // shutdown stops it.
    let log = d.dir.0.join("info.serial");
    let markers = || std::fs::read_to_string(&log).map(|t| t.matches(MARKER).count()).unwrap_or(0);
    assert_eq!(markers(), 1);
    d.virsh_ok("reboot info --mode agent");
    let deadline = Instant::now() + Duration::from_secs(60);
    while markers() < 2 {
        assert!(Instant::now() < deadline, "the guest did not boot again after the agent reboot");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(std::fs::read_to_string(&log).unwrap_or_default().contains("OXVIRT-GUEST-SHUTDOWN reboot"));
    let out = d.python(&format!(
        "{PY_EVENTS}
dom = c.lookupByName('info')
end = time.time() + 30
while True:
    try:
        dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT)
        break
    except libvirt.libvirtError as e:
        # Until qemu-ga of the second boot opened its port.
        if e.get_error_code() != libvirt.VIR_ERR_AGENT_UNRESPONSIVE or time.time() > end:
            raise
        time.sleep(0.2)
wait_event('info', libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
assert dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN], dom.state()
print('ok')
"
    ));
    assert_eq!(out.trim(), "ok");
    assert!(std::fs::read_to_string(&log).unwrap_or_default().contains("OXVIRT-GUEST-SHUTDOWN poweroff"));
    // Offline block info comes from the image file.
    assert!(d.virsh_ok("domblkinfo info vda").contains("Capacity:       4194304"));
    d.virsh_ok("undefine info");
    d.assert_clean();
}
