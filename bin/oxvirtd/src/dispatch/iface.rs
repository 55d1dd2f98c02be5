//! Dispatch of the host `interface` procedures.

use super::network::{check_count, check_max, count, first, int};
use super::{args, conv, ret, void, Reply};
use oxvirt::{Connect, Error, Interface, InterfaceXmlFlags, ListInterfacesFlags};
use oxvirt_rpc::consts::REMOTE_INTERFACE_LIST_MAX;
use oxvirt_rpc::proto::remote::*;

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let p = payload;
    let c = conn;
    Some(match proc {
        P::ConnectListAllInterfaces => list_all(p, c),
        P::ConnectNumOfInterfaces => num_of(c, ListInterfacesFlags::ACTIVE),
        P::ConnectNumOfDefinedInterfaces => num_of(c, ListInterfacesFlags::INACTIVE),
        P::ConnectListInterfaces => args::<RemoteConnectListInterfacesArgs>(p)
            .and_then(|a| names(c, a.maxnames, ListInterfacesFlags::ACTIVE))
            .and_then(|names| ret(&RemoteConnectListInterfacesRet { names })),
        P::ConnectListDefinedInterfaces => args::<RemoteConnectListDefinedInterfacesArgs>(p)
            .and_then(|a| names(c, a.maxnames, ListInterfacesFlags::INACTIVE))
            .and_then(|names| ret(&RemoteConnectListDefinedInterfacesRet { names })),
        P::InterfaceLookupByName => args::<RemoteInterfaceLookupByNameArgs>(p)
            .and_then(|a| c.interface_lookup_by_name(&a.name))
            .and_then(|i| ret(&RemoteInterfaceLookupByNameRet { iface: wire(&i) })),
        P::InterfaceLookupByMacString => args::<RemoteInterfaceLookupByMacStringArgs>(p)
            .and_then(|a| c.interface_lookup_by_mac(&a.mac))
            .and_then(|i| ret(&RemoteInterfaceLookupByMacStringRet { iface: wire(&i) })),
        P::InterfaceDefineXml => args::<RemoteInterfaceDefineXmlArgs>(p)
            .and_then(|a| c.interface_define_xml(&a.xml, a.flags))
            .and_then(|i| ret(&RemoteInterfaceDefineXmlRet { iface: wire(&i) })),
        P::InterfaceUndefine => args::<RemoteInterfaceUndefineArgs>(p).and_then(|a| iface(c, &a.iface).undefine()).and_then(|()| void()),
        P::InterfaceCreate => args::<RemoteInterfaceCreateArgs>(p).and_then(|a| iface(c, &a.iface).create(a.flags)).and_then(|()| void()),
        P::InterfaceDestroy => {
            args::<RemoteInterfaceDestroyArgs>(p).and_then(|a| iface(c, &a.iface).destroy(a.flags)).and_then(|()| void())
        }
        P::InterfaceGetXmlDesc => args::<RemoteInterfaceGetXmlDescArgs>(p)
            .and_then(|a| iface(c, &a.iface).xml_desc(InterfaceXmlFlags::from_bits_retain(a.flags)))
            .and_then(|xml| ret(&RemoteInterfaceGetXmlDescRet { xml })),
        P::InterfaceIsActive => args::<RemoteInterfaceIsActiveArgs>(p)
            .and_then(|a| iface(c, &a.iface).is_active())
            .and_then(|on| ret(&RemoteInterfaceIsActiveRet { active: int(on) })),
        P::InterfaceChangeBegin => {
            args::<RemoteInterfaceChangeBeginArgs>(p).and_then(|a| c.interface_change_begin(a.flags)).and_then(|()| void())
        }
        P::InterfaceChangeCommit => {
            args::<RemoteInterfaceChangeCommitArgs>(p).and_then(|a| c.interface_change_commit(a.flags)).and_then(|()| void())
        }
        P::InterfaceChangeRollback => {
            args::<RemoteInterfaceChangeRollbackArgs>(p).and_then(|a| c.interface_change_rollback(a.flags)).and_then(|()| void())
        }
        _ => return None,
    })
}

fn iface(conn: &Connect, i: &RemoteNonnullInterface) -> Interface {
    conn.interface_from_ref(conv::iface(i))
}

fn wire(i: &Interface) -> RemoteNonnullInterface {
    conv::wire_iface(i.raw())
}

fn list_all(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListAllInterfacesArgs = args(p)?;
    let ifaces = conn.list_all_interfaces(ListInterfacesFlags::from_bits_retain(a.flags))?;
    let n = check_count(ifaces.len(), "interface", REMOTE_INTERFACE_LIST_MAX)?;
    let ifaces = if a.need_results != 0 { ifaces.iter().map(wire).collect() } else { Vec::new() };
    ret(&RemoteConnectListAllInterfacesRet { ifaces, ret: n })
}

fn num_of(conn: &Connect, which: ListInterfacesFlags) -> Reply {
    let num = count(conn.list_all_interfaces(which)?.len());
    ret(&RemoteConnectNumOfInterfacesRet { num })
}

fn names(conn: &Connect, maxnames: i32, which: ListInterfacesFlags) -> Result<Vec<String>, Error> {
    let max = check_max(maxnames, "names", REMOTE_INTERFACE_LIST_MAX, "REMOTE_INTERFACE_LIST_MAX")?;
    Ok(first(conn.list_all_interfaces(which)?, max).iter().map(|i| i.name().to_string()).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/iface.rs"]
mod tests;
