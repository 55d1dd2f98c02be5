//! Dispatch of the `nwfilter` procedures.

use super::network::{check_count, check_max, count, first, unsupported, unsupported_rw};
use super::{args, conv, ret, void, Reply};
use oxvirt::{Connect, ErrorDomain, NWFilter};
use oxvirt_rpc::consts::REMOTE_NWFILTER_LIST_MAX;
use oxvirt_rpc::proto::remote::*;

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let p = payload;
    let c = conn;
    Some(match proc {
        P::ConnectListAllNwfilters => list_all(p, c),
        P::ConnectNumOfNwfilters => super::legacy(c.list_all_nwfilters(0), "virConnectNumOfNWFilters")
            .and_then(|f| ret(&RemoteConnectNumOfNwfiltersRet { num: count(f.len()) })),
        P::ConnectListNwfilters => list_names(p, c),
        P::NwfilterLookupByName => args::<RemoteNwfilterLookupByNameArgs>(p)
            .and_then(|a| c.nwfilter_lookup_by_name(&a.name))
            .and_then(|f| ret(&RemoteNwfilterLookupByNameRet { nwfilter: wire(&f) })),
        P::NwfilterLookupByUuid => args::<RemoteNwfilterLookupByUuidArgs>(p)
            .and_then(|a| c.nwfilter_lookup_by_uuid(&a.uuid))
            .and_then(|f| ret(&RemoteNwfilterLookupByUuidRet { nwfilter: wire(&f) })),
        P::NwfilterDefineXml => args::<RemoteNwfilterDefineXmlArgs>(p)
            .and_then(|a| c.nwfilter_define_xml(&a.xml, 0))
            .and_then(|f| ret(&RemoteNwfilterDefineXmlRet { nwfilter: wire(&f) })),
        P::NwfilterDefineXmlFlags => args::<RemoteNwfilterDefineXmlFlagsArgs>(p)
            .and_then(|a| c.nwfilter_define_xml(&a.xml, a.flags))
            .and_then(|f| ret(&RemoteNwfilterDefineXmlFlagsRet { nwfilter: wire(&f) })),
        P::NwfilterUndefine => args::<RemoteNwfilterUndefineArgs>(p).and_then(|a| filter(c, &a.nwfilter).undefine()).and_then(|()| void()),
        P::NwfilterGetXmlDesc => args::<RemoteNwfilterGetXmlDescArgs>(p)
            .and_then(|a| filter(c, &a.nwfilter).xml_desc(a.flags))
            .and_then(|xml| ret(&RemoteNwfilterGetXmlDescRet { xml })),
        // Filter bindings are not in the `oxvirt` API yet.
        P::ConnectListAllNwfilterBindings => {
            unsupported::<RemoteConnectListAllNwfilterBindingsArgs>(p, "virConnectListAllNWFilterBindings", ErrorDomain::Nwfilter)
        }
        P::NwfilterBindingLookupByPortDev => {
            unsupported::<RemoteNwfilterBindingLookupByPortDevArgs>(p, "virNWFilterBindingLookupByPortDev", ErrorDomain::Nwfilter)
        }
        P::NwfilterBindingGetXmlDesc => {
            unsupported::<RemoteNwfilterBindingGetXmlDescArgs>(p, "virNWFilterBindingGetXMLDesc", ErrorDomain::Nwfilter)
        }
        P::NwfilterBindingCreateXml => {
            unsupported_rw::<RemoteNwfilterBindingCreateXmlArgs>(p, c, "virNWFilterBindingCreateXML", ErrorDomain::Nwfilter)
        }
        P::NwfilterBindingDelete => {
            unsupported_rw::<RemoteNwfilterBindingDeleteArgs>(p, c, "virNWFilterBindingDelete", ErrorDomain::Nwfilter)
        }
        _ => return None,
    })
}

fn filter(conn: &Connect, f: &RemoteNonnullNwfilter) -> NWFilter {
    conn.nwfilter_from_ref(conv::nwfilter(f))
}

fn wire(f: &NWFilter) -> RemoteNonnullNwfilter {
    conv::wire_nwfilter(f.raw())
}

fn list_all(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListAllNwfiltersArgs = args(p)?;
    let filters = conn.list_all_nwfilters(a.flags)?;
    let n = check_count(filters.len(), "nwfilter", REMOTE_NWFILTER_LIST_MAX)?;
    let filters = if a.need_results != 0 { filters.iter().map(wire).collect() } else { Vec::new() };
    ret(&RemoteConnectListAllNwfiltersRet { filters, ret: n })
}

fn list_names(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListNwfiltersArgs = args(p)?;
    let max = check_max(a.maxnames, "names", REMOTE_NWFILTER_LIST_MAX, "REMOTE_NWFILTER_LIST_MAX")?;
    let filters = first(super::legacy(conn.list_all_nwfilters(0), "virConnectListNWFilters")?, max);
    ret(&RemoteConnectListNwfiltersRet { names: filters.iter().map(|f| f.name().to_string()).collect() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/nwfilter.rs"]
mod tests;
