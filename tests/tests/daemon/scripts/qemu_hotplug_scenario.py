# The hotplug scenario run against oxvirtd and libvirtd 9.0 (qemu_hotplug.rs,
# hotplug_matches_libvirtd): argv = URI, domain XML file, serial log, scratch dir.
# Prints results, errors (code, domain, message) and DEVICE_ADDED/REMOVED events with
# the scratch dir replaced by @DIR@, so the two transcripts must be identical.
import sys, threading, time, libvirt
import xml.etree.ElementTree as ET

libvirt.virEventRegisterDefaultImpl()
def _loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=_loop, daemon=True).start()
uri, xml_file, serial, scratch = sys.argv[1:5]
c = libvirt.open(uri)
EVENTS = []
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, lambda conn, d, a, o: EVENTS.append(('added', a)), None)
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, lambda conn, d, a, o: EVENTS.append(('removed', a)), None)
LIVE, CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG

def out(*a):
    print(' '.join(str(x) for x in a).replace(scratch, '@DIR@'))
    sys.stdout.flush()

def wait(ev):
    end = time.time() + 30
    while ev not in EVENTS and time.time() < end:
        time.sleep(0.02)
    out('event', ev in EVENTS, ev)

def call(what, f):
    try:
        f()
        out(what, 'ok')
    except libvirt.libvirtError as e:
        out(what, e.get_error_code(), e.get_error_domain(), e)

def disk_info(dom, flags, target):
    root = ET.fromstring(dom.XMLDesc(flags))
    for d in root.findall('./devices/disk'):
        if d.find('target').get('dev') == target:
            a = d.find('alias')
            return (a.get('name') if a is not None else None, d.find('source').get('file') if d.find('source') is not None else None)
    return None

dom = c.defineXML(open(xml_file).read())
call('attach inactive live', lambda: dom.attachDeviceFlags("<disk type='file'><source file='%s/a.img'/><target dev='vdb'/></disk>" % scratch, LIVE))
dom.create()
end = time.time() + 60
while 'OXVIRT-GUEST-READY' not in open(serial, errors='replace').read():
    assert time.time() < end, 'no marker'
    time.sleep(0.05)

disk = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s/a.img'/><target dev='vdb' bus='virtio'/></disk>" % scratch
call('attach vdb', lambda: dom.attachDeviceFlags(disk, LIVE))
wait(('added', 'virtio-disk1'))
out('live vdb', disk_info(dom, 0, 'vdb'), 'config vdb', disk_info(dom, libvirt.VIR_DOMAIN_XML_INACTIVE, 'vdb'))
call('dup live', lambda: dom.attachDeviceFlags(disk.replace('vdb', 'vda'), LIVE))
call('dup config', lambda: dom.attachDeviceFlags(disk.replace('vdb', 'vda'), CONFIG))
call('sata live', lambda: dom.attachDeviceFlags(disk.replace("dev='vdb' bus='virtio'", "dev='sdb' bus='sata'"), LIVE))
call('hub live', lambda: dom.attachDeviceFlags("<hub type='usb'/>", LIVE))
call('hub config', lambda: dom.attachDeviceFlags("<hub type='usb'/>", CONFIG))
call('detach vdz live', lambda: dom.detachDeviceFlags(disk.replace('vdb', 'vdz'), LIVE))
call('detach vdz config', lambda: dom.detachDeviceFlags(disk.replace('vdb', 'vdz'), CONFIG))
call('update vdz config', lambda: dom.updateDeviceFlags(disk.replace('vdb', 'vdz'), CONFIG))
call('alias nothere', lambda: dom.detachDeviceAlias('nothere', LIVE))
nic = "<interface type='user'><mac address='52:54:00:48:50:09'/><model type='virtio'/></interface>"
call('detach missing nic', lambda: dom.detachDeviceFlags(nic, LIVE))
call('detach vdb', lambda: dom.detachDeviceFlags(disk, LIVE))
wait(('removed', 'virtio-disk1'))
out('live vdb after', disk_info(dom, 0, 'vdb'))
call('attach nic', lambda: dom.attachDeviceFlags(nic, LIVE))
wait(('added', 'net0'))
# Link state (virsh domif-setlink's way: the interface XML with <link state>).
import libvirt_qemu
def links():
    hmp = libvirt_qemu.qemuMonitorCommand(dom, 'info network', 1)
    return [l.get('state') for l in ET.fromstring(dom.XMLDesc(0)).findall('./devices/interface/link')], \
        [l.strip() for l in hmp.splitlines() if 'net0' in l]
call('link down', lambda: dom.updateDeviceFlags(nic.replace('</interface>', "<link state='down'/></interface>"), LIVE))
out('links', links())
call('link up', lambda: dom.updateDeviceFlags(nic.replace('</interface>', "<link state='up'/></interface>"), LIVE))
out('links', links())
call('model change', lambda: dom.updateDeviceFlags(nic.replace('virtio', 'e1000'), LIVE))
call('detach nic', lambda: dom.detachDeviceFlags(nic, LIVE))
wait(('removed', 'net0'))
call('config vdc', lambda: dom.attachDeviceFlags(disk.replace('vdb', 'vdc'), CONFIG))
out('config vdc', disk_info(dom, libvirt.VIR_DOMAIN_XML_INACTIVE, 'vdc'), 'live vdc', disk_info(dom, 0, 'vdc'))
call('config vdc again', lambda: dom.attachDeviceFlags(disk.replace('vdb', 'vdc'), CONFIG))
call('detach config vdc', lambda: dom.detachDeviceFlags(disk.replace('vdb', 'vdc'), CONFIG))
# A user alias names the device (and its events); it must be unique.
ua = disk.replace('vdb', 'vdd').replace('</disk>', "<alias name='ua-extra'/></disk>")
call('attach ua', lambda: dom.attachDeviceFlags(ua, LIVE))
wait(('added', 'ua-extra'))
out('live vdd', disk_info(dom, 0, 'vdd'))
call('dup ua', lambda: dom.attachDeviceFlags(ua.replace('vdd', 'vde'), LIVE))
call('detach ua', lambda: dom.detachDeviceAlias('ua-extra', LIVE))
wait(('removed', 'ua-extra'))
# Live and config at once: one MAC for both (a generated one too).
both = "<interface type='user'><model type='virtio'/></interface>"
call('attach nic both', lambda: dom.attachDeviceFlags(both, LIVE | CONFIG))
wait(('added', 'net0'))
def macs(flags):
    return [m.get('address') for m in ET.fromstring(dom.XMLDesc(flags)).findall('./devices/interface/mac')]
out('same mac', len(macs(0)) == 1 and macs(0) == macs(libvirt.VIR_DOMAIN_XML_INACTIVE))
mac_xml = "<interface type='user'><mac address='%s'/><model type='virtio'/></interface>" % macs(0)[0]
call('detach nic both', lambda: dom.detachDeviceFlags(mac_xml, LIVE | CONFIG))
wait(('removed', 'net0'))
out('macs after', macs(0), macs(libvirt.VIR_DOMAIN_XML_INACTIVE))
# cdrom media.
def cdrom(src):
    s = "<source file='%s'/>" % src if src else ''
    return "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>%s<target dev='sda' bus='sata'/><readonly/></disk>" % s
call('insert', lambda: dom.updateDeviceFlags(cdrom(scratch + '/a.img'), LIVE))
out('sda', disk_info(dom, 0, 'sda'))
call('eject', lambda: dom.updateDeviceFlags(cdrom(None), LIVE))
out('sda', disk_info(dom, 0, 'sda'))
call('media vda', lambda: dom.updateDeviceFlags(disk.replace('vdb', 'vda'), LIVE))
call('update missing', lambda: dom.updateDeviceFlags(cdrom(None).replace('sda', 'sdz'), LIVE))
out('events', EVENTS)
dom.destroy()
dom.undefine()
