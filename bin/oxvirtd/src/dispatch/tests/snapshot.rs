//! Domain snapshot procedures through `dispatch_call`.

use super::super::network::test_support::*;
use crate::dispatch::conv;
use oxvirt::ErrorCode;
use oxvirt_rpc::proto::remote::*;
use RemoteProcedure as P;

fn test_dom(c: &oxvirt::Connect) -> RemoteNonnullDomain {
    conv::wire_dom(&c.domain_lookup_by_name("test").unwrap().raw())
}

fn create(c: &oxvirt::Connect, dom: &RemoteNonnullDomain, name: &str) -> RemoteNonnullDomainSnapshot {
    let xml = format!("<domainsnapshot><name>{name}</name></domainsnapshot>");
    let r: RemoteDomainSnapshotCreateXmlRet =
        call(c, P::DomainSnapshotCreateXml, &RemoteDomainSnapshotCreateXmlArgs { dom: dom.clone(), xml_desc: xml, flags: 0 }).unwrap();
    r.snap
}

#[test]
fn snapshot_tree() {
    let c = open();
    let dom = test_dom(&c);
    let h: RemoteDomainHasCurrentSnapshotRet =
        call(&c, P::DomainHasCurrentSnapshot, &RemoteDomainHasCurrentSnapshotArgs { dom: dom.clone(), flags: 0 }).unwrap();
    assert_eq!(h.result, 0);
    let r = call::<_, RemoteDomainSnapshotCurrentRet>(
        &c,
        P::DomainSnapshotCurrent,
        &RemoteDomainSnapshotCurrentArgs { dom: dom.clone(), flags: 0 },
    );
    assert_err(r, ErrorCode::NoDomainSnapshot, "does not have a current snapshot");

    let s1 = create(&c, &dom, "s1");
    assert_eq!((s1.name.as_str(), &s1.dom), ("s1", &dom));
    let s2 = create(&c, &dom, "s2");
    let n: RemoteDomainSnapshotNumRet =
        call(&c, P::DomainSnapshotNum, &RemoteDomainSnapshotNumArgs { dom: dom.clone(), flags: 0 }).unwrap();
    assert_eq!(n.num, 2);
    let l: RemoteDomainSnapshotListNamesRet =
        call(&c, P::DomainSnapshotListNames, &RemoteDomainSnapshotListNamesArgs { dom: dom.clone(), maxnames: 1, flags: 0 }).unwrap();
    assert_eq!(l.names.len(), 1);
    let all: RemoteDomainListAllSnapshotsRet =
        call(&c, P::DomainListAllSnapshots, &RemoteDomainListAllSnapshotsArgs { dom: dom.clone(), need_results: 1, flags: 0 }).unwrap();
    assert_eq!(all.ret, 2);
    assert!(all.snapshots.contains(&s1) && all.snapshots.contains(&s2));
    let all: RemoteDomainListAllSnapshotsRet =
        call(&c, P::DomainListAllSnapshots, &RemoteDomainListAllSnapshotsArgs { dom: dom.clone(), need_results: 0, flags: 0 }).unwrap();
    assert_eq!((all.ret, all.snapshots.len()), (2, 0));

    let cur: RemoteDomainSnapshotCurrentRet =
        call(&c, P::DomainSnapshotCurrent, &RemoteDomainSnapshotCurrentArgs { dom: dom.clone(), flags: 0 }).unwrap();
    assert_eq!(cur.snap, s2);
    let by_name: RemoteDomainSnapshotLookupByNameRet =
        call(&c, P::DomainSnapshotLookupByName, &RemoteDomainSnapshotLookupByNameArgs { dom: dom.clone(), name: "s1".into(), flags: 0 })
            .unwrap();
    assert_eq!(by_name.snap, s1);
    let par: RemoteDomainSnapshotGetParentRet =
        call(&c, P::DomainSnapshotGetParent, &RemoteDomainSnapshotGetParentArgs { snap: s2.clone(), flags: 0 }).unwrap();
    assert_eq!(par.snap, s1);
    let r = call::<_, RemoteDomainSnapshotGetParentRet>(
        &c,
        P::DomainSnapshotGetParent,
        &RemoteDomainSnapshotGetParentArgs { snap: s1.clone(), flags: 0 },
    );
    assert_err(r, ErrorCode::NoDomainSnapshot, "does not have a parent");
    let k: RemoteDomainSnapshotNumChildrenRet =
        call(&c, P::DomainSnapshotNumChildren, &RemoteDomainSnapshotNumChildrenArgs { snap: s1.clone(), flags: 0 }).unwrap();
    assert_eq!(k.num, 1);
    let k: RemoteDomainSnapshotListChildrenNamesRet = call(
        &c,
        P::DomainSnapshotListChildrenNames,
        &RemoteDomainSnapshotListChildrenNamesArgs { snap: s1.clone(), maxnames: 5, flags: 0 },
    )
    .unwrap();
    assert_eq!(k.names, ["s2"]);
    let k: RemoteDomainSnapshotListAllChildrenRet = call(
        &c,
        P::DomainSnapshotListAllChildren,
        &RemoteDomainSnapshotListAllChildrenArgs { snapshot: s1.clone(), need_results: 1, flags: 0 },
    )
    .unwrap();
    assert_eq!((k.ret, k.snapshots.clone()), (1, vec![s2.clone()]));
    let ic: RemoteDomainSnapshotIsCurrentRet =
        call(&c, P::DomainSnapshotIsCurrent, &RemoteDomainSnapshotIsCurrentArgs { snap: s1.clone(), flags: 0 }).unwrap();
    assert_eq!(ic.current, 0);
    let hm: RemoteDomainSnapshotHasMetadataRet =
        call(&c, P::DomainSnapshotHasMetadata, &RemoteDomainSnapshotHasMetadataArgs { snap: s1.clone(), flags: 0 }).unwrap();
    assert_eq!(hm.metadata, 1);
    let x: RemoteDomainSnapshotGetXmlDescRet =
        call(&c, P::DomainSnapshotGetXmlDesc, &RemoteDomainSnapshotGetXmlDescArgs { snap: s1.clone(), flags: 0 }).unwrap();
    assert!(x.xml.contains("<name>s1</name>"), "{}", x.xml);

    // Flags reach the driver even where the API handle takes none.
    let r = call::<_, RemoteDomainSnapshotLookupByNameRet>(
        &c,
        P::DomainSnapshotLookupByName,
        &RemoteDomainSnapshotLookupByNameArgs { dom: dom.clone(), name: "s1".into(), flags: 4 },
    );
    assert_err(r, ErrorCode::InvalidArg, "unsupported flags (0x4)");

    call_void(&c, P::DomainRevertToSnapshot, &RemoteDomainRevertToSnapshotArgs { snap: s1.clone(), flags: 0 }).unwrap();
    let ic: RemoteDomainSnapshotIsCurrentRet =
        call(&c, P::DomainSnapshotIsCurrent, &RemoteDomainSnapshotIsCurrentArgs { snap: s1.clone(), flags: 0 }).unwrap();
    assert_eq!(ic.current, 1);
    call_void(&c, P::DomainSnapshotDelete, &RemoteDomainSnapshotDeleteArgs { snap: s1.clone(), flags: 1 }).unwrap();
    let n: RemoteDomainSnapshotNumRet =
        call(&c, P::DomainSnapshotNum, &RemoteDomainSnapshotNumArgs { dom: dom.clone(), flags: 0 }).unwrap();
    assert_eq!(n.num, 0, "children deleted with their parent");
    let r = call::<_, RemoteDomainSnapshotLookupByNameRet>(
        &c,
        P::DomainSnapshotLookupByName,
        &RemoteDomainSnapshotLookupByNameArgs { dom: dom.clone(), name: "s1".into(), flags: 0 },
    );
    assert_err(r, ErrorCode::NoDomainSnapshot, "no domain snapshot with matching name 's1'");
    let r = call::<_, RemoteDomainSnapshotListNamesRet>(
        &c,
        P::DomainSnapshotListNames,
        &RemoteDomainSnapshotListNamesArgs { dom, maxnames: 16385, flags: 0 },
    );
    assert_err(r, ErrorCode::Rpc, "maxnames > REMOTE_DOMAIN_SNAPSHOT_LIST_MAX");
}

#[test]
fn unknown_domain() {
    let c = open();
    let ghost = RemoteNonnullDomain { name: "ghost".into(), uuid: [3; 16], id: -1 };
    let r = call::<_, RemoteDomainSnapshotNumRet>(&c, P::DomainSnapshotNum, &RemoteDomainSnapshotNumArgs { dom: ghost, flags: 0 });
    assert_err(r, ErrorCode::NoDomain, "");
}

#[test]
fn secure_xml_is_refused_read_only() {
    let c = open_ro();
    let dom = test_dom(&c);
    let s = RemoteNonnullDomainSnapshot { name: "s1".into(), dom };
    let r = call::<_, RemoteDomainSnapshotGetXmlDescRet>(
        &c,
        P::DomainSnapshotGetXmlDesc,
        &RemoteDomainSnapshotGetXmlDescArgs { snap: s.clone(), flags: 1 },
    );
    assert_err(r, ErrorCode::OperationDenied, "virDomainSnapshotGetXMLDesc with secure flag");
    let r = call_void(&c, P::DomainSnapshotDelete, &RemoteDomainSnapshotDeleteArgs { snap: s, flags: 0 });
    assert_err(r, ErrorCode::OperationDenied, "virDomainSnapshotDelete");
}
