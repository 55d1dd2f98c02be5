//! Tap-backed NICs (`<interface type='bridge'>` and `type='ethernet'`) on real QEMU
//! guests served by oxvirtd, driven by Debian's `virsh` and libvirt-python, with real
//! iproute2. Each test makes a private network namespace (`ip netns add`) and runs the
//! daemon in it (`nsenter --net=...`), so every tap and bridge lives there and the
//! host's own namespace is never touched; the namespace is deleted at the end.
//!
//! The bridged test guest (static 192.0.2.2/24) is pinged from the namespace's bridge
//! (192.0.2.1/24); `domiflist`, `domifstat` (by name and by MAC), libvirt-python's
//! `interfaceStats` and `domstats --interface` are checked against the tap's own sysfs
//! counters (swapped: the host's receive is the guest's send). The daemon is killed
//! with SIGKILL and restarted in the same namespace, and the tap keeps working and
//! goes at destroy. Cheap firmware-only guests cover ethernet taps (generated,
//! managed and unmanaged names, MTU), libvirt's errors, and that no tap outlives its
//! guest: destroy, a crash, a QEMU that died while the daemon was down, a failed start
//! (a failing `<script>`, a missing bridge, QEMU refusing to start).

use super::qemu::{build_guest, define, guest_xml, idle_xml, wait_marker, QemuDaemon};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const MAC: &str = "52:54:00:4f:58:42";

/// A network namespace of the test's own (`ip netns add`), deleted on drop.
pub(super) struct NetNs {
    name: String,
}

impl NetNs {
    pub(super) fn new(tag: &str) -> NetNs {
        let name = format!("oxvt-{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let out = Command::new("ip").args(["netns", "add", &name]).output().expect("run ip (Debian package iproute2)");
        assert!(out.status.success(), "ip netns add {name}: {}", String::from_utf8_lossy(&out.stderr));
        let ns = NetNs { name };
        ns.ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The wrapper that runs the daemon in this namespace (only the network one).
    fn wrap(&self) -> Vec<String> {
        vec!["nsenter".into(), format!("--net=/run/netns/{}", self.name)]
    }

    /// `ip netns exec NS ARGS` (its own sysfs, so `/sys/class/net` is the namespace's).
    fn run(&self, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", &self.name]).args(args).output().expect("run ip netns exec")
    }

    pub(super) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} in {} failed: {}", self.name, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The namespace's network devices.
    fn devices(&self) -> Vec<String> {
        self.ok(&["cat", "/proc/net/dev"]).lines().skip(2).filter_map(|l| l.split_once(':')).map(|(n, _)| n.trim().to_string()).collect()
    }

    pub(super) fn taps(&self) -> Vec<String> {
        self.devices().into_iter().filter(|d| d != "lo" && !d.starts_with("br")).collect()
    }

    /// A counter of `dev` from sysfs (`rx_bytes`, `tx_packets`, ...).
    fn counter(&self, dev: &str, name: &str) -> i64 {
        self.ok(&["cat", &format!("/sys/class/net/{dev}/statistics/{name}")]).trim().parse().expect("a counter")
    }

    /// A bridge `name` with `addr`, up.
    pub(super) fn bridge(&self, name: &str, addr: &str) {
        self.ok(&["ip", "link", "add", name, "type", "bridge"]);
        self.ok(&["ip", "addr", "add", addr, "dev", name]);
        self.ok(&["ip", "link", "set", name, "up"]);
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

pub(super) fn daemon_in(ns: &NetNs, tag: &str) -> QemuDaemon {
    let wrap = ns.wrap();
    QemuDaemon::start_wrapped(tag, &[], &wrap.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `virsh LINE` must fail; returns stderr.
fn virsh_err(d: &QemuDaemon, line: &str) -> String {
    let out = d.virsh(line);
    assert!(!out.status.success(), "virsh {line} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `KEY VALUE` (domifstat) or `KEY=VALUE` (domstats) lines → the value of `key`.
fn value(out: &str, key: &str, sep: char) -> i64 {
    out.lines()
        .filter_map(|l| if sep == ' ' { l.trim().rsplit_once(sep) } else { l.trim().split_once(sep) })
        .find(|(k, _)| k.trim().ends_with(key))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

/// Counters the driver reported (guest's view) checked against the tap's sysfs
/// counters read just before (`lo`) and after (`hi`): the guest's rx is the tap's tx.
fn within(what: &str, got: &[(&str, i64)], lo: &[(String, i64)], hi: &[(String, i64)]) {
    for (k, v) in got {
        let host = if let Some(r) = k.strip_prefix("rx_") { format!("tx_{r}") } else { format!("rx_{}", &k[3..]) };
        let l = lo.iter().find(|(n, _)| *n == host).map(|x| x.1).unwrap_or(0);
        let h = hi.iter().find(|(n, _)| *n == host).map(|x| x.1).unwrap_or(0);
        assert!(l <= *v && *v <= h, "{what}: {k}={v} is not within the tap's {host} {l}..={h}");
    }
}

fn snapshot(ns: &NetNs, dev: &str) -> Vec<(String, i64)> {
    ["rx_bytes", "rx_packets", "tx_bytes", "tx_packets"].iter().map(|c| (c.to_string(), ns.counter(dev, c))).collect()
}

#[test]
fn a_bridged_guest_is_reached_and_counted_through_its_tap() {
    let g = build_guest();
    let ns = NetNs::new("br");
    ns.bridge("br0", "192.0.2.1/24");
    let mut d = daemon_in(&ns, "qemu-net");
    let xml = guest_xml(&g, &d.dir.0, "nic");
    let cmdline = format!("<cmdline>{}</cmdline>", g.cmdline);
    assert!(xml.contains(&cmdline), "unexpected guest XML: {xml}");
    let xml = xml.replace(&cmdline, &format!("<cmdline>{} guest.ip=192.0.2.2/24</cmdline>", g.cmdline)).replace(
        "    <serial type='file'>",
        &format!(
            "    <interface type='bridge'>\n      <mac address='{MAC}'/>\n      <source bridge='br0'/>\n      <model type='virtio'/>\n    </interface>\n    <serial type='file'>"
        ),
    );
    define(&d, "nic", &xml);
    let since = Instant::now();
    d.virsh_ok("start nic");
    wait_marker(&d, "nic", since);

    // The tap: generated name, on the bridge, the guest's MAC with 0xfe, the bridge's MTU.
    assert_eq!(ns.taps(), vec!["vnet0".to_string()]);
    let link = ns.ok(&["ip", "-o", "link", "show", "vnet0"]);
    assert!(link.contains("master br0") && link.contains("fe:54:00:4f:58:42") && link.contains("mtu 1500"), "{link}");
    assert!(link.contains(",UP"), "{link}");

    // The guest answers from behind the bridge.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ns.run(&["ping", "-c", "1", "-W", "1", "192.0.2.2"]).status.success() {
        assert!(Instant::now() < deadline, "the guest never answered a ping");
    }
    ns.ok(&["ping", "-c", "3", "-i", "0.2", "192.0.2.2"]);

    let list = d.virsh_ok("domiflist nic");
    assert!(
        list.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w == ["vnet0", "bridge", "br0", "virtio", MAC]
        }),
        "{list}"
    );
    assert!(d.virsh_ok("dumpxml nic").contains("<target dev='vnet0'/>"));
    assert!(!d.virsh_ok("dumpxml --inactive nic").contains("vnet0"));

    let keys = ["rx_bytes", "rx_packets", "tx_bytes", "tx_packets"];
    for dev in ["vnet0", MAC] {
        let lo = snapshot(&ns, "vnet0");
        let out = d.virsh_ok(&format!("domifstat nic {dev}"));
        let hi = snapshot(&ns, "vnet0");
        let got: Vec<(&str, i64)> = keys.iter().map(|k| (*k, value(&out, k, ' '))).collect();
        within(&format!("domifstat {dev}"), &got, &lo, &hi);
        assert!(value(&out, "rx_packets", ' ') > 0 && value(&out, "tx_packets", ' ') > 0, "{out}");
    }

    let lo = snapshot(&ns, "vnet0");
    let py = d.python(
        "import sys, libvirt
c = libvirt.open(sys.argv[1])
dom = c.lookupByName('nic')
s = dom.interfaceStats('vnet0')
print(' '.join(str(x) for x in s))
",
    );
    let hi = snapshot(&ns, "vnet0");
    let v: Vec<i64> = py.split_whitespace().map(|x| x.parse().expect("a number")).collect();
    assert_eq!(v.len(), 8, "{py}");
    within("interfaceStats", &[("rx_bytes", v[0]), ("rx_packets", v[1]), ("tx_bytes", v[4]), ("tx_packets", v[5])], &lo, &hi);
    assert!(v[1] > 0 && v[5] > 0, "{py}");

    let lo = snapshot(&ns, "vnet0");
    let stats = d.virsh_ok("domstats --interface nic");
    let hi = snapshot(&ns, "vnet0");
    assert_eq!(value(&stats, "net.count", '='), 1, "{stats}");
    assert!(stats.contains("net.0.name=vnet0"), "{stats}");
    let got: Vec<(&str, i64)> = [("rx_bytes", "rx.bytes"), ("rx_packets", "rx.pkts"), ("tx_bytes", "tx.bytes"), ("tx_packets", "tx.pkts")]
        .iter()
        .map(|(k, s)| (*k, value(&stats, &format!("net.0.{s}"), '=')))
        .collect();
    within("domstats", &got, &lo, &hi);
    assert!(value(&stats, "net.0.rx.pkts", '=') > 0, "{stats}");

    // A daemon killed with SIGKILL comes back in the same namespace and still knows the tap.
    d.kill9();
    d.spawn();
    assert!(value(&d.virsh_ok("domifstat nic vnet0"), "rx_packets", ' ') > 0);
    assert!(d.virsh_ok("domiflist nic").contains("vnet0"));
    d.virsh_ok("destroy nic");
    assert_eq!(ns.taps(), Vec::<String>::new(), "a tap outlived its guest");
    d.virsh_ok("undefine nic");
    d.assert_clean();
}

/// A firmware-only guest with `ifaces` (interface XML).
fn idle_with(name: &str, ifaces: &str) -> String {
    idle_xml(name).replace("</devices>", &format!("{ifaces}</devices>"))
}

#[test]
fn ethernet_taps_and_failed_starts_leave_nothing_behind() {
    let ns = NetNs::new("eth");
    let mut d = daemon_in(&ns, "qemu-net-eth");

    // Managed names: one given, one generated; MTU applied; host-side address and
    // route; up and down scripts called with the tap's name; both taps go at destroy.
    let log = d.dir.0.join("scripts.log");
    let script = |name: &str| {
        let path = d.dir.0.join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho \"{name} $1\" >>{}\n", log.display())).expect("write script");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod script");
        path.display().to_string()
    };
    let (up, down) = (script("up"), script("down"));
    define(
        &d,
        "eth",
        &idle_with(
            "eth",
            &format!(
                "<interface type='ethernet'><mac address='52:54:00:00:00:01'/>\
                 <source><ip address='192.0.2.10' prefix='24'/>\
                 <route family='ipv4' address='198.51.100.0' prefix='24' gateway='192.0.2.20'/></source>\
                 <target dev='mytap0'/><mtu size='1400'/><script path='{up}'/><downscript path='{down}'/></interface>\
                 <interface type='ethernet'><mac address='fe:54:00:00:00:02'/><model type='e1000'/></interface>"
            ),
        ),
    );
    d.virsh_ok("start eth");
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "up mytap0\n");
    assert!(ns.ok(&["ip", "-o", "addr", "show", "dev", "mytap0"]).contains("inet 192.0.2.10/24"));
    let routes = ns.ok(&["ip", "route", "show"]);
    assert!(routes.contains("198.51.100.0/24 via 192.0.2.20 dev mytap0"), "{routes}");
    let mut taps = ns.taps();
    taps.sort();
    assert_eq!(taps, vec!["mytap0".to_string(), "vnet0".to_string()]);
    let l0 = ns.ok(&["ip", "-o", "link", "show", "mytap0"]);
    assert!(l0.contains("mtu 1400") && l0.contains("fe:54:00:00:00:01") && l0.contains(",UP"), "{l0}");
    assert!(ns.ok(&["ip", "-o", "link", "show", "vnet0"]).contains("fa:54:00:00:00:02"));
    let list = d.virsh_ok("domiflist eth");
    assert!(
        list.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["mytap0", "ethernet", "-", "rtl8139", "52:54:00:00:00:01"]),
        "{list}"
    );
    assert!(
        list.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["vnet0", "ethernet", "-", "e1000", "fe:54:00:00:00:02"]),
        "{list}"
    );
    let st = d.virsh_ok("domifstat eth mytap0");
    assert!(st.contains("mytap0 rx_bytes"), "{st}");

    // A second guest gets the next free generated name; a daemon restart after its
    // QEMU died meanwhile deletes its tap.
    define(&d, "eth2", &idle_with("eth2", "<interface type='ethernet'/>"));
    d.virsh_ok("start eth2");
    assert!(ns.taps().contains(&"vnet1".to_string()), "{:?}", ns.taps());
    let pid = d.qemu_pid("eth2");
    d.kill9();
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.qemus().iter().any(|(p, _)| *p == pid) {
        assert!(Instant::now() < deadline, "QEMU {pid} did not die");
        std::thread::sleep(Duration::from_millis(20));
    }
    d.spawn();
    assert!(!ns.taps().contains(&"vnet1".to_string()), "the tap of a guest that died while the daemon was down was left: {:?}", ns.taps());
    // A QEMU that dies under a running daemon (a crash) takes its tap along.
    d.virsh_ok("start eth2");
    assert!(ns.taps().contains(&"vnet1".to_string()), "{:?}", ns.taps());
    let pid = d.qemu_pid("eth2");
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.virsh_ok("domstate eth2").contains("shut off") {
        assert!(Instant::now() < deadline, "the crash of eth2 was not noticed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!ns.taps().contains(&"vnet1".to_string()), "a crashed guest's tap was left: {:?}", ns.taps());
    d.virsh_ok("destroy eth");
    assert_eq!(ns.taps(), Vec::<String>::new());
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "up mytap0\ndown mytap0\n");

    // An unmanaged tap is used as it is and survives the guest.
    ns.ok(&["ip", "tuntap", "add", "dev", "ext0", "mode", "tap"]);
    define(&d, "ext", &idle_with("ext", "<interface type='ethernet'><target dev='ext0' managed='no'/></interface>"));
    d.virsh_ok("start ext");
    assert!(d.virsh_ok("domiflist ext").contains("ext0"));
    d.virsh_ok("destroy ext");
    assert_eq!(ns.taps(), vec!["ext0".to_string()]);
    ns.ok(&["ip", "link", "del", "ext0"]);
    let e = virsh_err(&d, "start ext");
    assert!(e.contains("internal error: target managed='no' but specified dev doesn't exist"), "{e}");

    // A missing bridge: libvirt's error, and the tap made for it is gone.
    define(&d, "nobr", &idle_with("nobr", "<interface type='bridge'><source bridge='nosuchbr'/></interface>"));
    let e = virsh_err(&d, "start nobr");
    assert!(e.contains("Cannot get interface MTU on 'nosuchbr': No such device"), "{e}");
    assert_eq!(ns.taps(), Vec::<String>::new());

    // A failing script, and a QEMU that fails after the tap was made: no tap left.
    define(&d, "script", &idle_with("script", "<interface type='ethernet'><script path='/bin/false'/></interface>"));
    let e = virsh_err(&d, "start script");
    assert!(e.contains("Child process (/bin/false vnet0) unexpected exit status 1"), "{e}");
    assert_eq!(ns.taps(), Vec::<String>::new());
    // (an empty file that is no qcow2 image: QEMU refuses it)
    let img = d.dir.0.join("broken.qcow2");
    std::fs::write(&img, b"").expect("write image");
    let broken = idle_with("broken", "<interface type='ethernet'/>").replace(
        "</devices>",
        &format!(
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='hda' bus='ide'/></disk></devices>",
            img.display()
        ),
    );
    define(&d, "broken", &broken);
    let e = virsh_err(&d, "start broken");
    assert!(e.contains("QEMU failed to start") && e.contains("Image is not in qcow2 format"), "{e}");
    assert_eq!(ns.taps(), Vec::<String>::new());

    // What has no host side here yet is refused, naming it, before any tap is made.
    define(&d, "ovs", &idle_with("ovs", "<interface type='bridge'><source bridge='br0'/><virtualport type='openvswitch'/></interface>"));
    let e = virsh_err(&d, "start ovs");
    assert!(e.contains("unsupported configuration") && e.contains("<virtualport>"), "{e}");
    define(&d, "netw", &idle_with("netw", "<interface type='network'><source network='default'/></interface>"));
    let e = virsh_err(&d, "start netw");
    assert!(e.contains("unsupported configuration") && e.contains("interface type 'network'"), "{e}");
    assert_eq!(ns.taps(), Vec::<String>::new());
    // Guests started at the same time get distinct generated names.
    for n in ["p1", "p2", "p3"] {
        define(&d, n, &idle_with(n, "<interface type='ethernet'/>"));
    }
    let out = d.python(
        "import sys, threading, libvirt
c = libvirt.open(sys.argv[1])
errs = []
def start(n):
    try:
        c.lookupByName(n).create()
    except libvirt.libvirtError as e:
        errs.append(str(e))
ts = [threading.Thread(target=start, args=(n,)) for n in ('p1', 'p2', 'p3')]
for t in ts: t.start()
for t in ts: t.join()
assert not errs, errs
print('ok')
",
    );
    assert_eq!(out.trim(), "ok");
    let mut taps = ns.taps();
    taps.sort();
    assert_eq!(taps, ["vnet0", "vnet1", "vnet2"].map(String::from).to_vec());
    let mut named: Vec<String> = ["p1", "p2", "p3"]
        .iter()
        .flat_map(|n| {
            d.virsh_ok(&format!("domiflist {n}")).split_whitespace().filter(|w| w.starts_with("vnet")).map(String::from).collect::<Vec<_>>()
        })
        .collect();
    named.sort();
    assert_eq!(named, taps);
    for n in ["p1", "p2", "p3"] {
        d.virsh_ok(&format!("destroy {n}"));
        d.virsh_ok(&format!("undefine {n}"));
    }
    assert_eq!(ns.taps(), Vec::<String>::new());
    for n in ["eth", "eth2", "ext", "nobr", "script", "broken", "ovs", "netw"] {
        d.virsh_ok(&format!("undefine {n}"));
    }
    d.assert_clean();
}
