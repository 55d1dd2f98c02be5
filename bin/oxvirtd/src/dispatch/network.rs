//! Dispatch of the `network` procedures, and the helpers the object-family modules
//! (network, storage, secret, nwfilter, interface, node device, snapshot) share: the
//! argument checks and error texts of libvirtd's generated list dispatchers.

use super::{args, conv, ret, void, Reply};
use oxvirt::{Connect, Error, ErrorCode, ErrorDomain, ListNetworksFlags, NetworkXmlFlags};
use oxvirt_rpc::consts::REMOTE_NETWORK_LIST_MAX;
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::Decode;

// ---- helpers shared by the object-family modules ----

/// The `maxnames` check of an old-style list call (`CONNECT_LIST_NETWORKS` & co.), as
/// libvirtd's generated dispatchers do it before calling the API: `field` is the name
/// of the returned array (`names`, `uuids`), `limit_name` the `.x` constant.
pub(super) fn check_max(max: i32, field: &str, limit: u32, limit_name: &str) -> Result<usize, Error> {
    if max < 0 {
        return Err(Error::new(ErrorCode::Rpc, ErrorDomain::Rpc, format!("max{field} must be non-negative")));
    }
    if max.unsigned_abs() > limit {
        return Err(Error::new(ErrorCode::Rpc, ErrorDomain::Rpc, format!("max{field} > {limit_name}")));
    }
    Ok(max.unsigned_abs() as usize)
}

/// The result count of a list-all call (`CONNECT_LIST_ALL_*`), refused above the
/// array limit with libvirtd's `Too many <kind>s` error. `kind` is the `.x` object
/// name (`network`, `storage_pool`, `domain_snapshot`, ...).
pub(super) fn check_count(n: usize, kind: &str, limit: u32) -> Result<u32, Error> {
    match u32::try_from(n) {
        Ok(c) if c <= limit => Ok(c),
        _ => Err(Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, format!("Too many {kind}s '{n}' for limit '{limit}'"))),
    }
}

/// Only the first `max` items of `items` (old-style list calls return at most
/// `maxnames` names).
pub(super) fn first<T>(mut items: Vec<T>, max: usize) -> Vec<T> {
    items.truncate(max);
    items
}

/// A count as the `int` the wire carries.
pub(super) fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A boolean as the `int` the wire carries.
pub(super) fn int(b: bool) -> i32 {
    i32::from(b)
}

/// `VIR_ERR_NO_SUPPORT` for a public API the `oxvirt` API (or its driver interface)
/// does not offer yet, worded as libvirt's `virReportUnsupportedError` in the public
/// API function `api`, raised in `domain` (the public API file's subsystem). The
/// arguments are decoded first: libvirtd refuses an undecodable payload before it
/// looks at the procedure.
pub(super) fn unsupported<A: Decode>(payload: &[u8], api: &str, domain: ErrorDomain) -> Reply {
    args::<A>(payload)?;
    Err(Error::no_support(domain, api))
}

/// [`unsupported`] for a call libvirt refuses on a read-only connection before it
/// looks for the driver method.
pub(super) fn unsupported_rw<A: Decode>(payload: &[u8], conn: &Connect, api: &str, domain: ErrorDomain) -> Reply {
    args::<A>(payload)?;
    conn.check_rw(api)?;
    Err(Error::no_support(domain, api))
}

// ---- network procedures ----

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let p = payload;
    Some(match proc {
        P::ConnectListAllNetworks => list_all(p, conn),
        P::ConnectNumOfNetworks => num_of(conn, ListNetworksFlags::ACTIVE),
        P::ConnectNumOfDefinedNetworks => num_of(conn, ListNetworksFlags::INACTIVE),
        P::ConnectListNetworks => args::<RemoteConnectListNetworksArgs>(p)
            .and_then(|a| list_names(conn, a.maxnames, ListNetworksFlags::ACTIVE))
            .and_then(|names| ret(&RemoteConnectListNetworksRet { names })),
        P::ConnectListDefinedNetworks => args::<RemoteConnectListDefinedNetworksArgs>(p)
            .and_then(|a| list_names(conn, a.maxnames, ListNetworksFlags::INACTIVE))
            .and_then(|names| ret(&RemoteConnectListDefinedNetworksRet { names })),
        P::NetworkLookupByName => lookup_by_name(p, conn),
        P::NetworkLookupByUuid => lookup_by_uuid(p, conn),
        P::NetworkDefineXml => define_xml(p, conn),
        P::NetworkDefineXmlFlags => define_xml_flags(p, conn),
        P::NetworkCreateXml => create_xml(p, conn),
        P::NetworkCreateXmlFlags => create_xml_flags(p, conn),
        P::NetworkUndefine => args::<RemoteNetworkUndefineArgs>(p).and_then(|a| net(conn, &a.net).undefine()).and_then(|()| void()),
        P::NetworkCreate => args::<RemoteNetworkCreateArgs>(p).and_then(|a| net(conn, &a.net).create()).and_then(|()| void()),
        P::NetworkDestroy => args::<RemoteNetworkDestroyArgs>(p).and_then(|a| net(conn, &a.net).destroy()).and_then(|()| void()),
        P::NetworkGetXmlDesc => get_xml_desc(p, conn),
        P::NetworkGetBridgeName => args::<RemoteNetworkGetBridgeNameArgs>(p)
            .and_then(|a| net(conn, &a.net).bridge_name())
            .and_then(|name| ret(&RemoteNetworkGetBridgeNameRet { name })),
        P::NetworkGetAutostart => args::<RemoteNetworkGetAutostartArgs>(p)
            .and_then(|a| net(conn, &a.net).autostart())
            .and_then(|on| ret(&RemoteNetworkGetAutostartRet { autostart: int(on) })),
        P::NetworkSetAutostart => {
            args::<RemoteNetworkSetAutostartArgs>(p).and_then(|a| net(conn, &a.net).set_autostart(a.autostart != 0)).and_then(|()| void())
        }
        P::NetworkIsActive => args::<RemoteNetworkIsActiveArgs>(p)
            .and_then(|a| net(conn, &a.net).is_active())
            .and_then(|on| ret(&RemoteNetworkIsActiveRet { active: int(on) })),
        P::NetworkIsPersistent => args::<RemoteNetworkIsPersistentArgs>(p)
            .and_then(|a| net(conn, &a.net).is_persistent())
            .and_then(|on| ret(&RemoteNetworkIsPersistentRet { persistent: int(on) })),
        P::NetworkUpdate => update(p, conn),
        // Not in the `oxvirt` API yet.
        P::NetworkGetDhcpLeases => unsupported::<RemoteNetworkGetDhcpLeasesArgs>(p, "virNetworkGetDHCPLeases", ErrorDomain::Network),
        P::NetworkListAllPorts => unsupported::<RemoteNetworkListAllPortsArgs>(p, "virNetworkListAllPorts", ErrorDomain::Network),
        P::NetworkPortLookupByUuid => {
            unsupported::<RemoteNetworkPortLookupByUuidArgs>(p, "virNetworkPortLookupByUUID", ErrorDomain::Network)
        }
        P::NetworkPortCreateXml => {
            unsupported_rw::<RemoteNetworkPortCreateXmlArgs>(p, conn, "virNetworkPortCreateXML", ErrorDomain::Network)
        }
        P::NetworkPortGetParameters => {
            unsupported::<RemoteNetworkPortGetParametersArgs>(p, "virNetworkPortGetParameters", ErrorDomain::Network)
        }
        P::NetworkPortSetParameters => {
            unsupported_rw::<RemoteNetworkPortSetParametersArgs>(p, conn, "virNetworkPortSetParameters", ErrorDomain::Network)
        }
        P::NetworkPortGetXmlDesc => unsupported::<RemoteNetworkPortGetXmlDescArgs>(p, "virNetworkPortGetXMLDesc", ErrorDomain::Network),
        P::NetworkPortDelete => unsupported_rw::<RemoteNetworkPortDeleteArgs>(p, conn, "virNetworkPortDelete", ErrorDomain::Network),
        _ => return None,
    })
}

fn net(conn: &Connect, n: &RemoteNonnullNetwork) -> oxvirt::Network {
    conn.network_from_ref(conv::net(n))
}

fn wire(n: &oxvirt::Network) -> RemoteNonnullNetwork {
    conv::wire_net(n.raw())
}

fn list_all(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListAllNetworksArgs = args(p)?;
    let nets = conn.list_all_networks(ListNetworksFlags::from_bits_retain(a.flags))?;
    let n = check_count(nets.len(), "network", REMOTE_NETWORK_LIST_MAX)?;
    let nets = if a.need_results != 0 { nets.iter().map(wire).collect() } else { Vec::new() };
    ret(&RemoteConnectListAllNetworksRet { nets, ret: n })
}

fn num_of(conn: &Connect, which: ListNetworksFlags) -> Reply {
    let num = count(conn.list_all_networks(which)?.len());
    ret(&RemoteConnectNumOfNetworksRet { num })
}

fn list_names(conn: &Connect, maxnames: i32, which: ListNetworksFlags) -> Result<Vec<String>, Error> {
    let max = check_max(maxnames, "names", REMOTE_NETWORK_LIST_MAX, "REMOTE_NETWORK_LIST_MAX")?;
    Ok(first(conn.list_all_networks(which)?, max).iter().map(|n| n.name().to_string()).collect())
}

fn lookup_by_name(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkLookupByNameArgs = args(p)?;
    ret(&RemoteNetworkLookupByNameRet { net: wire(&conn.network_lookup_by_name(&a.name)?) })
}

fn lookup_by_uuid(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkLookupByUuidArgs = args(p)?;
    ret(&RemoteNetworkLookupByUuidRet { net: wire(&conn.network_lookup_by_uuid(&a.uuid)?) })
}

fn define_xml(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkDefineXmlArgs = args(p)?;
    ret(&RemoteNetworkDefineXmlRet { net: wire(&conn.network_define_xml(&a.xml, 0)?) })
}

fn define_xml_flags(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkDefineXmlFlagsArgs = args(p)?;
    ret(&RemoteNetworkDefineXmlFlagsRet { net: wire(&conn.network_define_xml(&a.xml, a.flags)?) })
}

fn create_xml(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkCreateXmlArgs = args(p)?;
    ret(&RemoteNetworkCreateXmlRet { net: wire(&conn.network_create_xml(&a.xml, 0)?) })
}

fn create_xml_flags(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkCreateXmlFlagsArgs = args(p)?;
    ret(&RemoteNetworkCreateXmlFlagsRet { net: wire(&conn.network_create_xml(&a.xml, a.flags)?) })
}

fn get_xml_desc(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkGetXmlDescArgs = args(p)?;
    let xml = net(conn, &a.net).xml_desc(NetworkXmlFlags::from_bits_retain(a.flags))?;
    ret(&RemoteNetworkGetXmlDescRet { xml })
}

fn update(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNetworkUpdateArgs = args(p)?;
    net(conn, &a.net).update(a.command, a.section, a.parent_index, &a.xml, a.flags)?;
    void()
}

#[cfg(test)]
#[path = "tests/support.rs"]
pub(super) mod test_support;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/network.rs"]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/coverage.rs"]
mod coverage;
