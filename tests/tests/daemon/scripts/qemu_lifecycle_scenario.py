"""The QEMU lifecycle scenario of issue #4, as a transcript.

Run by tests/tests/daemon/qemu_vs_libvirtd.rs with /usr/bin/python3 against oxvirtd
and against libvirtd 9.0 (same script, same guest); the two transcripts must be
identical. Arguments: URI, domain XML file, the guest's serial log file.

Each step prints the domain's state [state, reason] after it and the lifecycle
events (event, detail) that arrived for it, in order.
"""
import sys, threading, time, libvirt, libvirt_qemu

MARKER = b"OXVIRT-GUEST-READY"
uri, xmlfile, serial = sys.argv[1], sys.argv[2], sys.argv[3]

libvirt.virEventRegisterDefaultImpl()


def _loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=_loop, daemon=True).start()
conn = libvirt.open(uri)
EVENTS = []
LOCK = threading.Lock()


def _cb(_conn, _dom, event, detail, _opaque):
    with LOCK:
        EVENTS.append((event, detail))


conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, _cb, None)


def step(name, dom, nevents, timeout=60):
    """Wait for `nevents` events (plus a short settle time for extras), then report."""
    end = time.time() + timeout
    while time.time() < end:
        with LOCK:
            if len(EVENTS) >= nevents:
                break
        time.sleep(0.01)
    time.sleep(0.3)
    with LOCK:
        got = list(EVENTS)
        EVENTS.clear()
    state = dom.state() if dom is not None else None
    print("%-9s state=%s events=%s" % (name, state, got), flush=True)


def wait_marker():
    end = time.time() + 90
    while time.time() < end:
        try:
            with open(serial, "rb") as f:
                if MARKER in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise SystemExit("the guest never printed its marker on %s" % serial)


with open(xmlfile) as f:
    xml = f.read()
dom = conn.defineXML(xml)
step("define", dom, 1)
dom.create()
step("start", dom, 1)
wait_marker()
dom.suspend()
step("suspend", dom, 1)
dom.resume()
step("resume", dom, 1)
dom.shutdown()
step("shutdown", dom, 2)
open(serial, "w").close()
dom.create()
step("start", dom, 1)
wait_marker()
deadline = time.time() + 60
while True:
    try:
        reply = libvirt_qemu.qemuAgentCommand(dom, '{"execute":"guest-ping"}', 5, 0)
        break
    except libvirt.libvirtError:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
print("agent     %s" % reply, flush=True)
dom.destroy()
step("destroy", dom, 1)
dom.undefine()
step("undefine", None, 1)
try:
    conn.lookupByName(dom.name())
except libvirt.libvirtError as e:
    print("lookup    code=%d domain=%d" % (e.get_error_code(), e.get_error_domain()))
