//! Real libvirt-python (`/usr/bin/python3`, Debian `python3-libvirt`) against oxvirtd.

use super::harness::{client_cmd, Daemon, TempDir};

const PYTHON: &str = "/usr/bin/python3";

pub(super) fn run_python(d: &Daemon, script: &str) -> String {
    assert!(std::path::Path::new(PYTHON).exists(), "{PYTHON} is required for the daemon tests");
    let home = TempDir::new("py-home");
    let probe = client_cmd(PYTHON, &home.0).args(["-c", "import libvirt"]).output().expect("python runs");
    assert!(
        probe.status.success(),
        "libvirt-python is required (Debian package python3-libvirt): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let out = client_cmd(PYTHON, &home.0).arg("-c").arg(script).arg(d.uri()).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "script failed:\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn basic_api() {
    let d = Daemon::start("py-basic");
    let out = run_python(
        &d,
        r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
assert c.getType() == "TEST", c.getType()
assert c.getLibVersion() >= 9000000
assert c.getVersion() > 0
assert c.getHostname()
d = c.lookupByName("test")
assert d.name() == "test" and d.ID() == 1
assert d.UUIDString() == "6695eb01-f6a4-8304-79aa-97f2502e193f"
info = d.info()
assert info[0] == libvirt.VIR_DOMAIN_RUNNING and info[1] == 8388608 and info[3] == 2, info
assert d.state() == [1, 0], d.state()
assert "<name>test</name>" in d.XMLDesc(0)
assert d.isActive() == 1 and d.isPersistent() == 1
assert [x.name() for x in c.listAllDomains()] == ["test"]
assert c.listDomainsID() == [1] and c.numOfDomains() == 1 and c.numOfDefinedDomains() == 0
assert c.lookupByID(1).name() == "test"
assert c.lookupByUUIDString("6695eb01-f6a4-8304-79aa-97f2502e193f").name() == "test"
try:
    c.lookupByName("nosuch")
    raise SystemExit("lookup of a missing domain succeeded")
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN, e.get_error_code()
d.suspend(); assert d.info()[0] == libvirt.VIR_DOMAIN_PAUSED
d.resume(); d.destroy(); assert d.isActive() == 0 and d.ID() == -1
d.create(); assert d.isActive() == 1
print("ok", c.getURI())
c.close()
"#,
    );
    assert!(out.starts_with("ok test+unix:///default"), "{out}");
}

#[test]
fn lifecycle_events_of_suspend_resume_arrive() {
    let d = Daemon::start("py-events");
    let out = run_python(
        &d,
        r#"
import sys, threading, time, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
got = []
def cb(conn, dom, event, detail, opaque):
    got.append((dom.name(), event, detail))
cid = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
c.setKeepAlive(1, 3)
d = c.lookupByName("test")
N = 1000
for i in range(N):
    d.suspend(); d.resume()
deadline = time.time() + 30
while len(got) < 2 * N and time.time() < deadline:
    time.sleep(0.01)
want = [("test", libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0), ("test", libvirt.VIR_DOMAIN_EVENT_RESUMED, 0)] * N
assert got == want, (len(got), got[:4])
# A filtered registration only sees its domain; deregistration stops delivery.
c.domainEventDeregisterAny(cid)
d.suspend(); d.resume(); time.sleep(0.2)
assert len(got) == 2 * N, len(got)
print("events", len(got))
c.close()
"#,
    );
    assert_eq!(out.trim(), "events 2000");
}

#[test]
fn networks_pools_and_volumes() {
    let d = Daemon::start("py-objects");
    let out = run_python(
        &d,
        r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
# Networks: the default one, then a full define/start/destroy/undefine cycle.
n = c.networkLookupByName("default")
assert n.isActive() == 1 and n.bridgeName() == "virbr0", n.bridgeName()
assert "<forward mode='nat'/>" in n.XMLDesc(0)
assert [x.name() for x in c.listAllNetworks()] == ["default"]
xml = "<network><name>pynet</name><bridge name='pybr0'/><ip address='10.9.8.1' netmask='255.255.255.0'/></network>"
m = c.networkDefineXML(xml)
assert m.isActive() == 0 and m.isPersistent() == 1
m.create(); assert m.isActive() == 1
m.setAutostart(1); assert m.autostart() == 1
assert sorted(x.name() for x in c.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)) == ["default", "pynet"]
m.destroy(); m.undefine()
try:
    c.networkLookupByName("pynet")
    raise SystemExit("undefined network still found")
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_NO_NETWORK, e.get_error_code()
# Pools and volumes: create, clone, resize, delete.
p = c.storagePoolLookupByName("default-pool")
assert p.isActive() == 1 and p.info()[0] == libvirt.VIR_STORAGE_POOL_RUNNING
v = p.createXML("<volume><name>a.img</name><capacity unit='MiB'>10</capacity></volume>", 0)
assert v.name() == "a.img" and v.info()[1] == 10 * 1024 * 1024, v.info()
w = p.createXMLFrom("<volume><name>b.img</name><capacity unit='MiB'>10</capacity></volume>", v, 0)
assert sorted(x.name() for x in p.listAllVolumes()) == ["a.img", "b.img"]
assert p.numOfVolumes() == 2
assert c.storageVolLookupByPath(v.path()).name() == "a.img"
w.resize(20 * 1024 * 1024, 0); assert w.info()[1] == 20 * 1024 * 1024
w.delete(0); v.delete(0)
assert p.listAllVolumes() == []
print("ok")
c.close()
"#,
    );
    assert_eq!(out.trim(), "ok");
}

// tuning, pinning, devices (rss)
/// Typed-parameter and cpumap calls through libvirt-python: the encodings must be
/// libvirt's for the client library to decode them.
#[test]
fn tuning_and_pinning_calls() {
    let d = Daemon::start("py-tune");
    let out = run_python(
        &d,
        r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
assert c.getCPUStats(-1, 0) == {"user": 9797400000, "kernel": 34678723400000, "idle": 87264900000, "iowait": 763600000}, c.getCPUStats(-1, 0)
assert c.getCPUMap() == (8, [True, False, True, False, True, False, False, False], 3), c.getCPUMap()
assert c.getCPUModelNames("x86_64")[:3] == ["486", "pentium", "pentium2"]
assert c.getCPUModelNames("aarch64") == []
try:
    c.getCPUModelNames("bogus")
    raise SystemExit("bogus arch accepted")
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_INVALID_ARG, e.get_error_code()
d = c.lookupByName("test")
assert d.schedulerType() == ("fair", 1), d.schedulerType()
assert d.schedulerParameters() == {"weight": 50}, d.schedulerParameters()
d.setSchedulerParameters({"weight": 10})
try:
    d.schedulerParametersFlags(0)
    raise SystemExit("test driver accepted VIR_TYPED_PARAM_STRING_OKAY")
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_INVALID_ARG, e.get_error_code()
unl = 9007199254740991  # VIR_DOMAIN_MEMORY_PARAM_UNLIMITED
assert d.memoryParameters(0) == {"hard_limit": unl, "soft_limit": unl, "swap_hard_limit": unl}, d.memoryParameters(0)
d.setMemoryParameters({"hard_limit": 1000, "swap_hard_limit": 2000}, 0)
assert d.memoryParameters(0)["hard_limit"] == 1000
try:
    d.setMemoryParameters({"hard_limit": 3000}, 0)
    raise SystemExit("hard_limit above swap_hard_limit accepted")
except libvirt.libvirtError as e:
    assert "must be lower than or equal to swap_hard_limit" in str(e), str(e)
b = d.blkioParameters(0)
assert b["weight"] == 0 and b["device_weight"] == "", b
d.pinVcpu(1, (False, True, True))
assert d.vcpuPinInfo(0) == [(True,) * 8, (False, True, True) + (False,) * 5], d.vcpuPinInfo(0)
d.pinEmulator((True, False, True), 0)
assert d.emulatorPinInfo(0) == (True, False, True) + (False,) * 5, d.emulatorPinInfo(0)
assert d.numaParameters(0) == {"numa_mode": 0, "numa_nodeset": ""}, d.numaParameters(0)
d.setNumaParameters({"numa_nodeset": "0-1"}, 0)
assert d.numaParameters(0)["numa_nodeset"] == "0-1"
perf = d.perfEvents(0)
assert len(perf) == 22 and perf["cmt"] is False, perf
d.setPerfEvents({"cmt": True}, 0)
assert d.perfEvents(0)["cmt"] is True
d.setLifecycleAction(libvirt.VIR_DOMAIN_LIFECYCLE_POWEROFF, libvirt.VIR_DOMAIN_LIFECYCLE_ACTION_RESTART, 0)
assert "<on_poweroff>restart</on_poweroff>" in d.XMLDesc(0)
assert d.memoryPeek(250, 8, libvirt.VIR_MEMORY_VIRTUAL) == bytes([250, 251, 252, 253, 254, 255, 0, 1])
assert d.messages(0) == [], d.messages(0)
try:
    # libvirt's test driver returns 0 here, which libvirtd reports as an error
    c.getFreePages([4], 0, 1, 0)
    raise SystemExit("getFreePages succeeded")
except libvirt.libvirtError as e:
    assert (e.get_error_code(), e.get_error_domain()) == (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_RPC), str(e)
print("ok")
c.close()
"#,
    );
    assert_eq!(out.trim(), "ok");
}
// end of tuning, pinning, devices (rss)
