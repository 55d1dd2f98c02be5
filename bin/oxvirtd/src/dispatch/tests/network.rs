//! Network procedures through `dispatch_call` on a private test node.

use super::test_support::*;
use oxvirt::ErrorCode;
use oxvirt_rpc::proto::remote::*;
use RemoteProcedure as P;

const NET2: &str = "<network><name>net2</name><uuid>0e8c81f2-7ff0-4a5c-a1c2-3c4e5e6f7a8b</uuid>\
<bridge name='virbr9'/><ip address='192.168.9.1' netmask='255.255.255.0'/></network>";

fn lookup(conn: &oxvirt::Connect, name: &str) -> Result<RemoteNonnullNetwork, oxvirt::Error> {
    call::<_, RemoteNetworkLookupByNameRet>(conn, P::NetworkLookupByName, &RemoteNetworkLookupByNameArgs { name: name.into() })
        .map(|r| r.net)
}

#[test]
fn lookup_and_query_default_network() {
    let c = open();
    let net = lookup(&c, "default").unwrap();
    assert_eq!(net.name, "default");
    let by_uuid: RemoteNetworkLookupByUuidRet =
        call(&c, P::NetworkLookupByUuid, &RemoteNetworkLookupByUuidArgs { uuid: net.uuid }).unwrap();
    assert_eq!(by_uuid.net, net);
    let br: RemoteNetworkGetBridgeNameRet =
        call(&c, P::NetworkGetBridgeName, &RemoteNetworkGetBridgeNameArgs { net: net.clone() }).unwrap();
    assert_eq!(br.name, "virbr0");
    let act: RemoteNetworkIsActiveRet = call(&c, P::NetworkIsActive, &RemoteNetworkIsActiveArgs { net: net.clone() }).unwrap();
    assert_eq!(act.active, 1);
    let pers: RemoteNetworkIsPersistentRet = call(&c, P::NetworkIsPersistent, &RemoteNetworkIsPersistentArgs { net: net.clone() }).unwrap();
    assert_eq!(pers.persistent, 1);
    let xml: RemoteNetworkGetXmlDescRet =
        call(&c, P::NetworkGetXmlDesc, &RemoteNetworkGetXmlDescArgs { net: net.clone(), flags: 0 }).unwrap();
    assert!(xml.xml.contains("<name>default</name>"), "{}", xml.xml);
    call_void(&c, P::NetworkSetAutostart, &RemoteNetworkSetAutostartArgs { net: net.clone(), autostart: 1 }).unwrap();
    let auto: RemoteNetworkGetAutostartRet = call(&c, P::NetworkGetAutostart, &RemoteNetworkGetAutostartArgs { net }).unwrap();
    assert_eq!(auto.autostart, 1);
}

#[test]
fn unknown_network_is_no_network() {
    let c = open();
    assert_err(lookup(&c, "nope"), ErrorCode::NoNetwork, "no network with matching name 'nope'");
    let r = call::<_, RemoteNetworkLookupByUuidRet>(&c, P::NetworkLookupByUuid, &RemoteNetworkLookupByUuidArgs { uuid: [7; 16] });
    assert_err(r, ErrorCode::NoNetwork, "no network with matching uuid");
    let ghost = RemoteNonnullNetwork { name: "ghost".into(), uuid: [9; 16] };
    assert_err(call_void(&c, P::NetworkCreate, &RemoteNetworkCreateArgs { net: ghost }), ErrorCode::NoNetwork, "ghost");
}

#[test]
fn define_start_stop_undefine_and_lists() {
    let c = open();
    let def: RemoteNetworkDefineXmlFlagsRet =
        call(&c, P::NetworkDefineXmlFlags, &RemoteNetworkDefineXmlFlagsArgs { xml: NET2.into(), flags: 0 }).unwrap();
    assert_eq!(def.net.name, "net2");
    let n: RemoteConnectNumOfDefinedNetworksRet = call0(&c, P::ConnectNumOfDefinedNetworks).unwrap();
    assert_eq!(n.num, 1);
    let names: RemoteConnectListDefinedNetworksRet =
        call(&c, P::ConnectListDefinedNetworks, &RemoteConnectListDefinedNetworksArgs { maxnames: 10 }).unwrap();
    assert_eq!(names.names, ["net2"]);
    call_void(&c, P::NetworkCreate, &RemoteNetworkCreateArgs { net: def.net.clone() }).unwrap();
    let n: RemoteConnectNumOfNetworksRet = call0(&c, P::ConnectNumOfNetworks).unwrap();
    assert_eq!(n.num, 2);
    let names: RemoteConnectListNetworksRet = call(&c, P::ConnectListNetworks, &RemoteConnectListNetworksArgs { maxnames: 1 }).unwrap();
    assert_eq!(names.names.len(), 1, "maxnames bounds the answer");
    let all: RemoteConnectListAllNetworksRet =
        call(&c, P::ConnectListAllNetworks, &RemoteConnectListAllNetworksArgs { need_results: 1, flags: 0 }).unwrap();
    assert_eq!(all.ret, 2);
    assert_eq!(all.nets.len(), 2);
    // Without need_results libvirtd returns only the count.
    let all: RemoteConnectListAllNetworksRet =
        call(&c, P::ConnectListAllNetworks, &RemoteConnectListAllNetworksArgs { need_results: 0, flags: 0 }).unwrap();
    assert_eq!((all.ret, all.nets.len()), (2, 0));
    // Undefining a running network fails; stop it first.
    let r = call_void(&c, P::NetworkUndefine, &RemoteNetworkUndefineArgs { net: def.net.clone() });
    assert_err(r, ErrorCode::OperationInvalid, "still running");
    call_void(&c, P::NetworkDestroy, &RemoteNetworkDestroyArgs { net: def.net.clone() }).unwrap();
    call_void(&c, P::NetworkUndefine, &RemoteNetworkUndefineArgs { net: def.net }).unwrap();
    assert_err(lookup(&c, "net2"), ErrorCode::NoNetwork, "net2");
}

#[test]
fn create_transient_and_old_define() {
    let c = open();
    let r: RemoteNetworkCreateXmlRet = call(&c, P::NetworkCreateXml, &RemoteNetworkCreateXmlArgs { xml: NET2.into() }).unwrap();
    let p: RemoteNetworkIsPersistentRet = call(&c, P::NetworkIsPersistent, &RemoteNetworkIsPersistentArgs { net: r.net.clone() }).unwrap();
    assert_eq!(p.persistent, 0);
    call_void(&c, P::NetworkDestroy, &RemoteNetworkDestroyArgs { net: r.net }).unwrap();
    let r: RemoteNetworkCreateXmlFlagsRet =
        call(&c, P::NetworkCreateXmlFlags, &RemoteNetworkCreateXmlFlagsArgs { xml: NET2.into(), flags: 0 }).unwrap();
    call_void(&c, P::NetworkDestroy, &RemoteNetworkDestroyArgs { net: r.net }).unwrap();
    let r: RemoteNetworkDefineXmlRet = call(&c, P::NetworkDefineXml, &RemoteNetworkDefineXmlArgs { xml: NET2.into() }).unwrap();
    assert_eq!(r.net.name, "net2");
    let bad = call::<_, RemoteNetworkDefineXmlFlagsRet>(
        &c,
        P::NetworkDefineXmlFlags,
        &RemoteNetworkDefineXmlFlagsArgs { xml: NET2.into(), flags: 0x100 },
    );
    assert_err(bad, ErrorCode::InvalidArg, "unsupported flags (0x100)");
}

#[test]
fn list_limits_follow_libvirtd() {
    let c = open();
    let r = call::<_, RemoteConnectListNetworksRet>(&c, P::ConnectListNetworks, &RemoteConnectListNetworksArgs { maxnames: 16385 });
    let e = assert_err(r, ErrorCode::Rpc, "maxnames > REMOTE_NETWORK_LIST_MAX");
    assert_eq!(e.message, "maxnames > REMOTE_NETWORK_LIST_MAX");
    assert_eq!(e.domain, oxvirt::ErrorDomain::Rpc);
    let r = call::<_, RemoteConnectListDefinedNetworksRet>(
        &c,
        P::ConnectListDefinedNetworks,
        &RemoteConnectListDefinedNetworksArgs { maxnames: -1 },
    );
    assert_err(r, ErrorCode::Rpc, "maxnames must be non-negative");
    let ok: RemoteConnectListNetworksRet = call(&c, P::ConnectListNetworks, &RemoteConnectListNetworksArgs { maxnames: 16384 }).unwrap();
    assert_eq!(ok.names, ["default"]);
    let e = super::check_count(16385, "network", 16384).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::InternalError, "internal error: Too many networks '16385' for limit '16384'"));
}

#[test]
fn read_only_and_undecodable() {
    let c = open_ro();
    let net = lookup(&c, "default").unwrap();
    assert_err(call_void(&c, P::NetworkDestroy, &RemoteNetworkDestroyArgs { net }), ErrorCode::OperationDenied, "virNetworkDestroy");
    assert_err(call_raw(&c, P::NetworkLookupByName, &[0, 0]), ErrorCode::Rpc, "Unable to decode message payload");
    // Unserved calls still decode their arguments first, as libvirtd does.
    assert_err(call_raw(&c, P::NetworkGetDhcpLeases, &[]), ErrorCode::Rpc, "Unable to decode message payload");
    let a = RemoteNetworkGetDhcpLeasesArgs { net: RemoteNonnullNetwork::default(), mac: None, need_results: 1, flags: 0 };
    let r = call::<_, RemoteNetworkGetDhcpLeasesRet>(&c, P::NetworkGetDhcpLeases, &a);
    let e = assert_err(r, ErrorCode::NoSupport, "virNetworkGetDHCPLeases");
    assert_eq!(e.message, "this function is not supported by the connection driver: virNetworkGetDHCPLeases");
    assert_eq!(e.domain, oxvirt::ErrorDomain::Network);
}

#[test]
fn update_reaches_the_driver() {
    let c = open();
    let net = lookup(&c, "default").unwrap();
    let a = RemoteNetworkUpdateArgs { net, command: 1, section: 4, parent_index: -1, xml: "<host/>".into(), flags: 0 };
    // The test driver has no virNetworkUpdate, like libvirt's.
    assert_err(call_void(&c, P::NetworkUpdate, &a), ErrorCode::NoSupport, "virNetworkUpdate");
}
