//! Domains through libvirtd's test driver.

#![allow(clippy::unwrap_used)]

use crate::daemon::Daemon;
use oxvirt::*;

const RS1: &str = "<domain type='test'><name>rs1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
<memory>65536</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>";

#[test]
fn open_and_list_all() {
    let d = Daemon::start();
    let c = d.open();
    assert_eq!(c.get_type().unwrap(), "TEST");
    assert_eq!(c.uri(), d.uri());
    let doms = c.list_all_domains(ListDomainsFlags::empty()).unwrap();
    let names: Vec<&str> = doms.iter().map(|d| d.name()).collect();
    assert_eq!(names, ["test"]);
    assert_eq!(doms[0].id(), Some(1));
    assert_eq!(doms[0].state().unwrap(), (DomainState::Running, 0));
    assert!(c.is_alive());
    assert_eq!(c.num_of_domains().unwrap(), 1);
    assert_eq!(c.num_of_defined_domains().unwrap(), 0);
    assert!(!c.hostname().unwrap().is_empty());
    assert!(c.capabilities().unwrap().contains("<capabilities>"));
    let ni = c.node_info().unwrap();
    assert_eq!((ni.model.as_str(), ni.cpus, ni.mhz), ("i686", 16, 1400));
}

#[test]
fn lookup_info_xml() {
    let d = Daemon::start();
    let c = d.open();
    let dom = c.domain_lookup_by_name("test").unwrap();
    assert_eq!(dom.uuid_string(), "6695eb01-f6a4-8304-79aa-97f2502e193f");
    let by_id = c.domain_lookup_by_id(1).unwrap();
    assert_eq!(by_id.name(), "test");
    let by_uuid = c.domain_lookup_by_uuid(&dom.uuid()).unwrap();
    assert_eq!(by_uuid.id(), Some(1));
    let info = dom.info().unwrap();
    assert_eq!(info.state, DomainState::Running);
    assert_eq!((info.max_mem_kib, info.memory_kib, info.nr_virt_cpu), (8388608, 2097152, 2));
    let xml = dom.xml_desc(DomainXmlFlags::empty()).unwrap();
    assert!(xml.starts_with("<domain type='test' id='1'>"), "{xml}");
    assert_eq!(dom.os_type().unwrap(), "linux");
    assert!(dom.is_active().unwrap());
    assert!(dom.is_persistent().unwrap());
    assert!(!dom.autostart().unwrap());
    assert_eq!(dom.max_memory().unwrap(), 8388608);
}

#[test]
fn destroy_start_define_undefine() {
    let d = Daemon::start();
    let c = d.open();
    let dom = c.domain_lookup_by_name("test").unwrap();
    dom.destroy(DomainDestroyFlags::empty()).unwrap();
    let dom = c.domain_lookup_by_name("test").unwrap();
    assert_eq!(dom.id(), None);
    assert_eq!(dom.state().unwrap().0, DomainState::Shutoff);
    // Destroying an inactive domain: libvirtd's error passes through verbatim.
    let e = dom.destroy(DomainDestroyFlags::empty()).unwrap_err();
    assert_eq!((e.code, e.domain), (ErrorCode::OperationInvalid, ErrorDomain::Domain));
    assert_eq!(e.message, "Requested operation is not valid: domain is not running");
    dom.create(DomainCreateFlags::empty()).unwrap();
    let dom = c.domain_lookup_by_name("test").unwrap();
    assert_eq!(dom.id(), Some(2));

    let rs1 = c.domain_define_xml(RS1, DomainDefineFlags::empty()).unwrap();
    assert_eq!(rs1.uuid_string(), "11111111-2222-3333-4444-555555555555");
    assert_eq!(rs1.id(), None);
    let all = c.list_all_domains(ListDomainsFlags::empty()).unwrap();
    let mut names: Vec<&str> = all.iter().map(|d| d.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["rs1", "test"]);
    assert_eq!(c.list_all_domains(ListDomainsFlags::INACTIVE).unwrap().len(), 1);
    rs1.create(DomainCreateFlags::empty()).unwrap();
    let rs1 = c.domain_lookup_by_name("rs1").unwrap();
    assert_eq!(rs1.id(), Some(3));
    rs1.suspend().unwrap();
    assert_eq!(rs1.state().unwrap().0, DomainState::Paused);
    rs1.resume().unwrap();
    rs1.destroy(DomainDestroyFlags::empty()).unwrap();
    rs1.undefine(DomainUndefineFlags::empty()).unwrap();
    let e = c.domain_lookup_by_name("rs1").unwrap_err();
    assert_eq!(e.code, ErrorCode::NoDomain);
}

#[test]
fn errors_pass_through_verbatim() {
    let d = Daemon::start();
    let c = d.open();
    let e = c.domain_lookup_by_name("nosuch").unwrap_err();
    assert_eq!((e.code, e.domain, e.level), (ErrorCode::NoDomain, ErrorDomain::Test, ErrorLevel::Error));
    assert_eq!(e.message, "Domain not found");
    let e = c.domain_lookup_by_id(99).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::NoDomain, "Domain not found"));
    let e = c.domain_define_xml("<domain", DomainDefineFlags::empty()).unwrap_err();
    assert_eq!((e.code, e.domain), (ErrorCode::XmlDetail, ErrorDomain::Domain), "{e:?}");
    assert_eq!(e.message, "(domain_definition):1: Couldn't find end of Start Tag domain line 1\n<domain\n-------^");
    // A driver libvirt's test driver does not have: NO_SUPPORT from libvirtd.
    let e = c.secret_define_xml("<secret/>", 0).err().unwrap();
    assert_eq!((e.code, e.domain), (ErrorCode::NoSupport, ErrorDomain::Secret), "{e:?}");
    assert_eq!(e.message, "this function is not supported by the connection driver: virSecretDefineXML");
}

#[test]
fn read_only_connection() {
    let d = Daemon::start();
    oxvirt_driver_remote::register();
    let c = Connect::open_read_only(Some(&d.uri())).unwrap();
    assert_eq!(c.list_all_domains(ListDomainsFlags::empty()).unwrap().len(), 1);
    let dom = c.domain_lookup_by_name("test").unwrap();
    // Refused locally by the API layer, as libvirt's client does.
    let e = dom.suspend().unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationDenied);
    // Refused by libvirtd when a raw call gets through.
    let e = c.drivers().hypervisor.domain_suspend(&dom.raw()).unwrap_err();
    assert_eq!((e.code, e.domain), (ErrorCode::OperationDenied, ErrorDomain::Domain));
    assert_eq!(e.message, "operation forbidden: read only access prevents virDomainSuspend");
}
