//! Every procedure of the object families is served (`Some`), whatever the API
//! offers: nothing falls through to "unknown procedure". The families are taken from
//! the protocol table by name, so a procedure added to the tables later shows up here.

use super::test_support::*;
use crate::dispatch::dispatch_call;
use oxvirt::ErrorCode;
use oxvirt_rpc::proto::remote::{RemoteProcedure, PROCEDURES};
use oxvirt_rpc::proto::ProcKind;

/// Name prefixes (after `REMOTE_PROC_`) of the families served by the network,
/// storage, secret, nwfilter, interface, node device and snapshot modules.
const PREFIXES: &[&str] = &["NETWORK_", "STORAGE_", "SECRET_", "NWFILTER_", "INTERFACE_", "NODE_DEVICE_", "DOMAIN_SNAPSHOT_"];

/// Family members whose names do not start with a family prefix.
const OTHERS: &[&str] = &[
    "CONNECT_LIST_ALL_NETWORKS",
    "CONNECT_NUM_OF_NETWORKS",
    "CONNECT_NUM_OF_DEFINED_NETWORKS",
    "CONNECT_LIST_NETWORKS",
    "CONNECT_LIST_DEFINED_NETWORKS",
    "CONNECT_LIST_ALL_STORAGE_POOLS",
    "CONNECT_NUM_OF_STORAGE_POOLS",
    "CONNECT_NUM_OF_DEFINED_STORAGE_POOLS",
    "CONNECT_LIST_STORAGE_POOLS",
    "CONNECT_LIST_DEFINED_STORAGE_POOLS",
    "CONNECT_FIND_STORAGE_POOL_SOURCES",
    "CONNECT_GET_STORAGE_POOL_CAPABILITIES",
    "CONNECT_LIST_ALL_SECRETS",
    "CONNECT_NUM_OF_SECRETS",
    "CONNECT_LIST_SECRETS",
    "CONNECT_LIST_ALL_NWFILTERS",
    "CONNECT_NUM_OF_NWFILTERS",
    "CONNECT_LIST_NWFILTERS",
    "CONNECT_LIST_ALL_NWFILTER_BINDINGS",
    "CONNECT_LIST_ALL_INTERFACES",
    "CONNECT_NUM_OF_INTERFACES",
    "CONNECT_NUM_OF_DEFINED_INTERFACES",
    "CONNECT_LIST_INTERFACES",
    "CONNECT_LIST_DEFINED_INTERFACES",
    "CONNECT_LIST_ALL_NODE_DEVICES",
    "NODE_NUM_OF_DEVICES",
    "NODE_LIST_DEVICES",
    "DOMAIN_LIST_ALL_SNAPSHOTS",
    "DOMAIN_HAS_CURRENT_SNAPSHOT",
    "DOMAIN_REVERT_TO_SNAPSHOT",
];

/// The calls of the object families, from the protocol table.
fn family() -> Vec<(RemoteProcedure, &'static str)> {
    PROCEDURES
        .iter()
        .filter(|p| p.kind == ProcKind::Call)
        .filter_map(|p| {
            let short = p.name.strip_prefix("REMOTE_PROC_")?;
            let mine = PREFIXES.iter().any(|x| short.starts_with(x)) || OTHERS.contains(&short);
            mine.then(|| (RemoteProcedure::from_number(p.number).expect("table number"), short))
        })
        .collect()
}

#[test]
fn every_family_procedure_is_served() {
    let c = open_ro();
    let procs = family();
    assert_eq!(procs.len(), 150, "family size changed: {procs:?}");
    let unserved: Vec<_> = procs.iter().filter(|(p, _)| dispatch_call(*p, &[], &c).is_none()).map(|(_, n)| *n).collect();
    assert!(unserved.is_empty(), "not served: {unserved:?}");
}

#[test]
fn every_family_procedure_refuses_a_truncated_payload() {
    // A payload cut short must be refused like libvirtd ("Unable to decode message
    // payload"), never panic or be silently accepted — except for the calls that
    // take no arguments.
    let c = open_ro();
    for (p, name) in family() {
        let takes_args = PROCEDURES.iter().find(|i| i.number == p as i32).is_some_and(|i| i.args.is_some());
        let r = dispatch_call(p, &[0, 0, 0], &c).expect("served");
        if takes_args {
            let e = r.expect_err(name);
            assert_eq!((e.code, e.message.as_str()), (ErrorCode::Rpc, "Unable to decode message payload"), "{name}");
        }
    }
}

#[test]
fn other_procedures_are_left_to_other_modules() {
    let c = open_ro();
    let mine = [
        super::dispatch(RemoteProcedure::ConnectNetworkEventRegisterAny, &[], &c),
        crate::dispatch::storage::dispatch(RemoteProcedure::DomainGetXmlDesc, &[], &c),
        crate::dispatch::snapshot::dispatch(RemoteProcedure::DomainCheckpointCreateXml, &[], &c),
    ];
    assert!(mine.iter().all(Option::is_none));
}
