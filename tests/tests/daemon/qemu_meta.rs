//! Domain metadata on `qemu:///system` served by oxvirtd: title, description and
//! application XML set through real virsh and libvirt-python, on the persistent
//! definition (kept across a daemon restart, in the config file) and on the live one
//! (kept in the status file across `kill -9` of the daemon, gone after the guest
//! stops), with METADATA_CHANGE events and libvirt's errors.

use super::qemu::{define, idle_xml, QemuDaemon, PY_EVENTS};

const NS: &str = "http://example.org/app/";

#[test]
fn metadata_lives_in_the_live_and_persistent_definitions() {
    let mut d = QemuDaemon::start("qemu-meta", &[]);
    define(&d, "meta", &idle_xml("meta"));
    // Inactive: the persistent definition, written to the config file.
    assert_eq!(d.virsh_ok("desc meta --title --new-desc Web server").trim(), "Domain title updated successfully");
    d.virsh_ok(&format!("metadata meta {NS} --key app --set '<app role=\"web\"><tier>1</tier></app>'"));
    let conf = std::fs::read_to_string(d.root().join("etc/qemu/meta.xml")).expect("config file");
    assert!(conf.contains("<title>Web server</title>"), "{conf}");
    assert!(conf.contains(&format!("<app:app xmlns:app=\"{NS}\" role=\"web\">")), "{conf}");
    d.kill9();
    d.spawn();
    assert_eq!(d.virsh_ok("desc meta --title").trim(), "Web server");
    assert_eq!(d.virsh_ok(&format!("metadata meta {NS}")).trim(), "<app role=\"web\">\n  <tier>1</tier>\n</app>");

    // Running: live changes go to the status file and survive a killed daemon; config
    // changes do not touch the live definition. Events name the type and namespace.
    d.virsh_ok("start meta");
    let out = d.python(&format!(
        "{PY_EVENTS}
META = []
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                         lambda conn, dom, typ, uri, op: META.append((dom.name(), typ, uri)), None)
dom = c.lookupByName('meta')
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, 'live only', None, None, libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, '<run id=\"7\"/>', 'r', 'http://example.org/run/', libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, 'Next boot', None, None, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
end = time.time() + 10
while len(META) < 3 and time.time() < end:
    time.sleep(0.02)
print(sorted(META, key=lambda m: m[1]))
print(dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0))
try:
    dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, 'http://nothing/', 0)
except libvirt.libvirtError as e:
    print(e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA, e.get_error_domain() == libvirt.VIR_FROM_DOMAIN, e)
try:
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, 'two\\nlines', None, None, 0)
except libvirt.libvirtError as e:
    print(e.get_error_code() == libvirt.VIR_ERR_INVALID_ARG, e)
"
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "[('meta', 0, None), ('meta', 1, None), ('meta', 2, 'http://example.org/run/')]",
            "Web server",
            "True True metadata not found: Requested metadata element is not present",
            "True metadata title can't contain newlines",
        ],
        "{out}"
    );
    d.kill9();
    d.spawn();
    assert_eq!(d.virsh_ok("desc meta").trim(), "live only");
    assert_eq!(d.virsh_ok("metadata meta http://example.org/run/").trim(), "<run id=\"7\"/>");
    assert_eq!(d.virsh_ok("desc meta --config --title").trim(), "Next boot");
    let live = d.virsh_ok("dumpxml meta");
    assert!(live.contains("<description>live only</description>") && live.contains("<title>Web server</title>"), "{live}");

    // Stopped: the live values are gone, the persistent ones stay.
    d.virsh_ok("destroy meta");
    assert_eq!(d.virsh_ok("desc meta --title").trim(), "Next boot");
    assert_eq!(d.virsh_ok("desc meta").trim(), "No description for domain: meta");
    assert!(!d.virsh("metadata meta http://example.org/run/").status.success());
    assert_eq!(d.virsh_ok(&format!("metadata meta {NS} --remove")).trim(), "Metadata removed");
    let err = d.virsh("desc meta --live --new-desc x");
    assert!(String::from_utf8_lossy(&err.stderr).contains("domain is not running"), "{err:?}");
    d.virsh_ok("undefine meta");
    d.assert_clean();
}
