//! Dispatch of the domain snapshot procedures.
//!
//! Snapshots returned to the client carry the domain the client named in its call
//! (as libvirtd's `make_nonnull_domain_snapshot` does with the `virDomain` built from
//! the call's arguments). The API methods that take no flags (lookup by name,
//! current, parent, is-current, has-metadata, has-current) are called on the
//! connection's hypervisor driver directly so that the wire flags reach the driver
//! as in libvirt; all of them are read-only calls.

use super::network::{check_count, check_max, count, first, int};
use super::{args, conv, ret, void, Reply};
use oxvirt::driver::HypervisorDriver;
use oxvirt::{Connect, Domain, DomainRef, DomainSnapshot, SnapshotCreateFlags, SnapshotDeleteFlags, SnapshotListFlags};
use oxvirt::{SnapshotRef, SnapshotRevertFlags};
use oxvirt_rpc::consts::REMOTE_DOMAIN_SNAPSHOT_LIST_MAX;
use oxvirt_rpc::proto::remote::*;

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let p = payload;
    let c = conn;
    Some(match proc {
        P::DomainSnapshotCreateXml => args::<RemoteDomainSnapshotCreateXmlArgs>(p)
            .and_then(|a| dom(c, &a.dom).snapshot_create_xml(&a.xml_desc, SnapshotCreateFlags::from_bits_retain(a.flags)))
            .and_then(|s| ret(&RemoteDomainSnapshotCreateXmlRet { snap: wire(&s) })),
        P::DomainListAllSnapshots => list_all(p, c),
        P::DomainSnapshotNum => args::<RemoteDomainSnapshotNumArgs>(p)
            .and_then(|a| dom(c, &a.dom).snapshot_num(SnapshotListFlags::from_bits_retain(a.flags)))
            .and_then(|num| ret(&RemoteDomainSnapshotNumRet { num })),
        P::DomainSnapshotListNames => list_names(p, c),
        P::DomainSnapshotLookupByName => lookup_by_name(p, c),
        P::DomainHasCurrentSnapshot => args::<RemoteDomainHasCurrentSnapshotArgs>(p)
            .and_then(|a| hv(c).snapshot_has_current(&conv::dom(&a.dom), a.flags))
            .and_then(|b| ret(&RemoteDomainHasCurrentSnapshotRet { result: int(b) })),
        P::DomainSnapshotCurrent => current(p, c),
        P::DomainSnapshotGetParent => parent(p, c),
        P::DomainSnapshotGetXmlDesc => args::<RemoteDomainSnapshotGetXmlDescArgs>(p)
            .and_then(|a| snap(c, &a.snap).xml_desc(a.flags))
            .and_then(|xml| ret(&RemoteDomainSnapshotGetXmlDescRet { xml })),
        P::DomainSnapshotNumChildren => args::<RemoteDomainSnapshotNumChildrenArgs>(p)
            .and_then(|a| snap(c, &a.snap).list_all_children(SnapshotListFlags::from_bits_retain(a.flags)))
            .and_then(|v| ret(&RemoteDomainSnapshotNumChildrenRet { num: count(v.len()) })),
        P::DomainSnapshotListChildrenNames => list_children_names(p, c),
        P::DomainSnapshotListAllChildren => list_all_children(p, c),
        P::DomainSnapshotIsCurrent => args::<RemoteDomainSnapshotIsCurrentArgs>(p)
            .and_then(|a| hv(c).snapshot_is_current(&conv::snap(&a.snap), a.flags))
            .and_then(|b| ret(&RemoteDomainSnapshotIsCurrentRet { current: int(b) })),
        P::DomainSnapshotHasMetadata => args::<RemoteDomainSnapshotHasMetadataArgs>(p)
            .and_then(|a| hv(c).snapshot_has_metadata(&conv::snap(&a.snap), a.flags))
            .and_then(|b| ret(&RemoteDomainSnapshotHasMetadataRet { metadata: int(b) })),
        P::DomainRevertToSnapshot => args::<RemoteDomainRevertToSnapshotArgs>(p)
            .and_then(|a| snap(c, &a.snap).revert(SnapshotRevertFlags::from_bits_retain(a.flags)))
            .and_then(|()| void()),
        P::DomainSnapshotDelete => args::<RemoteDomainSnapshotDeleteArgs>(p)
            .and_then(|a| snap(c, &a.snap).delete(SnapshotDeleteFlags::from_bits_retain(a.flags)))
            .and_then(|()| void()),
        _ => return None,
    })
}

fn hv(conn: &Connect) -> &dyn HypervisorDriver {
    conn.drivers().hypervisor.as_ref()
}

fn dom(conn: &Connect, d: &RemoteNonnullDomain) -> Domain {
    conn.domain_from_ref(conv::dom(d))
}

fn snap(conn: &Connect, s: &RemoteNonnullDomainSnapshot) -> DomainSnapshot {
    conn.snapshot_from_ref(conv::snap(s))
}

fn wire(s: &DomainSnapshot) -> RemoteNonnullDomainSnapshot {
    conv::wire_snap(&s.raw())
}

/// The snapshot `name` of the domain the client named.
fn wire_named(d: &RemoteNonnullDomain, name: String) -> RemoteNonnullDomainSnapshot {
    RemoteNonnullDomainSnapshot { name, dom: d.clone() }
}

fn list_all(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteDomainListAllSnapshotsArgs = args(p)?;
    let snaps = dom(conn, &a.dom).list_all_snapshots(SnapshotListFlags::from_bits_retain(a.flags))?;
    let n = check_count(snaps.len(), "domain_snapshot", REMOTE_DOMAIN_SNAPSHOT_LIST_MAX)?;
    let snapshots = if a.need_results != 0 { snaps.iter().map(wire).collect() } else { Vec::new() };
    ret(&RemoteDomainListAllSnapshotsRet { snapshots, ret: count(n as usize) })
}

fn list_names(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteDomainSnapshotListNamesArgs = args(p)?;
    let max = check_max(a.maxnames, "names", REMOTE_DOMAIN_SNAPSHOT_LIST_MAX, "REMOTE_DOMAIN_SNAPSHOT_LIST_MAX")?;
    let snaps = dom(conn, &a.dom).list_all_snapshots(SnapshotListFlags::from_bits_retain(a.flags))?;
    ret(&RemoteDomainSnapshotListNamesRet { names: first(snaps, max).iter().map(|s| s.name().to_string()).collect() })
}

fn lookup_by_name(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteDomainSnapshotLookupByNameArgs = args(p)?;
    let s: SnapshotRef = hv(conn).snapshot_lookup_by_name(&conv::dom(&a.dom), &a.name, a.flags)?;
    ret(&RemoteDomainSnapshotLookupByNameRet { snap: wire_named(&a.dom, s.name) })
}

fn current(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteDomainSnapshotCurrentArgs = args(p)?;
    let d: DomainRef = conv::dom(&a.dom);
    let s = hv(conn).snapshot_current(&d, a.flags)?;
    ret(&RemoteDomainSnapshotCurrentRet { snap: wire_named(&a.dom, s.name) })
}

fn parent(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteDomainSnapshotGetParentArgs = args(p)?;
    let s = hv(conn).snapshot_get_parent(&conv::snap(&a.snap), a.flags)?;
    ret(&RemoteDomainSnapshotGetParentRet { snap: wire_named(&a.snap.dom, s.name) })
}

fn list_children_names(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteDomainSnapshotListChildrenNamesArgs = args(p)?;
    let max = check_max(a.maxnames, "names", REMOTE_DOMAIN_SNAPSHOT_LIST_MAX, "REMOTE_DOMAIN_SNAPSHOT_LIST_MAX")?;
    let kids = snap(conn, &a.snap).list_all_children(SnapshotListFlags::from_bits_retain(a.flags))?;
    ret(&RemoteDomainSnapshotListChildrenNamesRet { names: first(kids, max).iter().map(|s| s.name().to_string()).collect() })
}

fn list_all_children(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteDomainSnapshotListAllChildrenArgs = args(p)?;
    let kids = snap(conn, &a.snapshot).list_all_children(SnapshotListFlags::from_bits_retain(a.flags))?;
    let n = check_count(kids.len(), "domain_snapshot", REMOTE_DOMAIN_SNAPSHOT_LIST_MAX)?;
    let snapshots = if a.need_results != 0 { kids.iter().map(wire).collect() } else { Vec::new() };
    ret(&RemoteDomainSnapshotListAllChildrenRet { snapshots, ret: count(n as usize) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/snapshot.rs"]
mod tests;
