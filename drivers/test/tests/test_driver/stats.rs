//! The information calls of the test driver (libvirt's fake values and errors):
//! what the golden lines cannot see — records of `virDomainListGetStats`, the vCPU
//! maps, truncation to the caller's maximum, the file-system freeze state.

use super::{code, default_conn, private_conn};
use oxvirt::stats::{memstat, stats_flags, stats_types};
use oxvirt::*;

#[test]
fn memory_stats_block_info_and_time() {
    let (_g, c) = default_conn();
    let d = c.domain_lookup_by_name("test").unwrap();
    let m = d.memory_stats(memstat::NR, 0).unwrap();
    assert_eq!(m.len(), 13);
    assert_eq!((m[0].tag, m[0].val), (memstat::ACTUAL_BALLOON, 2_097_152));
    assert_eq!(m.last().map(|s| (s.tag, s.val)), Some((memstat::RSS, 1_048_576)));
    assert_eq!(d.memory_stats(2, 0).unwrap().len(), 2);
    assert_eq!(code(d.memory_stats(0, 1)), ErrorCode::InvalidArg);
    let b = d.block_info("vda", 0).unwrap();
    assert_eq!((b.capacity, b.allocation, b.physical), (1_099_506_450_432, 1_099_511_627_776, 1_099_511_627_776));
    assert_eq!(d.block_info("/guest/diskimage1", 0).unwrap(), b);
    assert_eq!(code(d.block_info("", 0)), ErrorCode::InvalidArg);
    assert_eq!(d.time(0).unwrap(), (627_319_920, 0));
    d.set_time(5, 7, 0).unwrap();
    assert_eq!(d.time(0).unwrap(), (5, 7));
    assert_eq!(d.control_info(0).unwrap(), ControlInfo { state: 1, details: 0, state_time: 5 });
    d.set_time(627_319_920, 0, 0).unwrap();
    let s = d.block_stats("vda").unwrap();
    assert!(s.rd_req > 0 && s.rd_req > s.wr_req);
    assert_eq!(code(d.block_stats("")), ErrorCode::OperationUnsupported);
    assert_eq!(code(d.block_stats_flags("vda", 0)), ErrorCode::NoSupport);
}

#[test]
fn vcpus_interfaces_and_stats_records() {
    let (_g, c) = default_conn();
    let d = c.domain_lookup_by_name("test").unwrap();
    let (info, maps) = d.vcpus(8, 2).unwrap();
    assert_eq!(info.len(), 2);
    assert_eq!((info[1].number, info[1].state, info[1].cpu), (1, 1, 15));
    assert_eq!(maps, vec![0xff, 0xff, 0xff, 0xff]);
    assert_eq!(code(d.vcpus(0, 1)), ErrorCode::InvalidArg);
    let ifs = d.interface_addresses(stats::ifaddr_source::LEASE, 0).unwrap();
    assert_eq!(ifs.len(), 1);
    assert_eq!((ifs[0].addrs[0].addr.as_str(), ifs[0].addrs[0].prefix), ("192.168.122.3", 24));
    assert_eq!(code(d.interface_addresses(7, 0)), ErrorCode::ArgumentUnsupported);
    let recs = c.all_domain_stats(std::slice::from_ref(&d), stats_types::STATE, 0).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0].params,
        vec![TypedParam::new("state.state", TypedValue::Int(1)), TypedParam::new("state.reason", TypedValue::Int(0))]
    );
    let enforced = c.all_domain_stats(&[], stats_types::BLOCK, stats_flags::ENFORCE_STATS);
    assert_eq!(code(enforced), ErrorCode::ArgumentUnsupported);
    assert!(c.all_domain_stats(&[], 0, stats_flags::INACTIVE).unwrap().is_empty());
    assert_eq!(code(d.guest_info(0, 0)), ErrorCode::NoSupport);
}

#[test]
fn file_systems_freeze_and_thaw() {
    let (_g, c) = default_conn();
    let d = c.domain_lookup_by_name("test").unwrap();
    let fs = d.fs_info(0).unwrap();
    assert_eq!(fs.iter().map(|f| f.mountpoint.as_str()).collect::<Vec<_>>(), ["/", "/boot"]);
    assert_eq!(d.fs_freeze(&["/boot".into()], 0).unwrap(), 1);
    assert_eq!(d.fs_freeze(&[], 0).unwrap(), 1);
    assert_eq!(code(d.fs_thaw(&["/nope".into()], 0)), ErrorCode::OperationInvalid);
    assert_eq!(d.fs_thaw(&[], 0).unwrap(), 2);
    let (n, errs) = d.disk_errors(0, 0).unwrap();
    assert_eq!((n, errs.len()), (1, 0));
    assert_eq!(d.disk_errors(5, 0).unwrap().1, vec![DiskError { disk: "vda".into(), error: 1 }]);
}

#[test]
fn inactive_domains_refuse_the_live_calls() {
    let p = private_conn();
    let off = p.domain_define_xml(&super::dom_xml("qinfo-off"), DomainDefineFlags::empty()).unwrap();
    assert_eq!(code(off.memory_stats(13, 0)), ErrorCode::OperationInvalid);
    let (_g, c) = default_conn();
    let d = c.domain_define_xml(&super::dom_xml("qinfo-off"), DomainDefineFlags::empty()).unwrap();
    assert_eq!(code(d.memory_stats(13, 0)), ErrorCode::OperationInvalid);
    assert_eq!(code(d.time(0)), ErrorCode::OperationInvalid);
    assert_eq!(code(d.vcpus(1, 0)), ErrorCode::OperationInvalid);
    assert_eq!(code(d.inject_nmi(0)), ErrorCode::OperationInvalid);
    assert_eq!(code(d.hostname(0)), ErrorCode::OperationInvalid);
    let ro = Connect::open_read_only(Some("test:///default")).unwrap();
    let rd = ro.domain_lookup_by_name("qinfo-off").unwrap();
    assert_eq!(code(rd.time(0)), ErrorCode::OperationDenied);
    assert_eq!(code(rd.set_user_password("root", "x", 0)), ErrorCode::OperationDenied);
    d.undefine(DomainUndefineFlags::empty()).unwrap();
}
