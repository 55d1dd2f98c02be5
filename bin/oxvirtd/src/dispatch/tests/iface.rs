//! Host interface procedures through `dispatch_call`.

use super::super::network::test_support::*;
use oxvirt::ErrorCode;
use oxvirt_rpc::proto::remote::*;
use RemoteProcedure as P;

const ETH2: &str = "<interface type='ethernet' name='eth2'><mac address='aa:bb:cc:dd:ee:01'/></interface>";

#[test]
fn interfaces() {
    let c = open();
    let eth1: RemoteInterfaceLookupByNameRet =
        call(&c, P::InterfaceLookupByName, &RemoteInterfaceLookupByNameArgs { name: "eth1".into() }).unwrap();
    assert_eq!(eth1.iface.mac, "aa:bb:cc:dd:ee:ff");
    let by_mac: RemoteInterfaceLookupByMacStringRet =
        call(&c, P::InterfaceLookupByMacString, &RemoteInterfaceLookupByMacStringArgs { mac: "aa:bb:cc:dd:ee:ff".into() }).unwrap();
    assert_eq!(by_mac.iface, eth1.iface);
    let a: RemoteInterfaceIsActiveRet = call(&c, P::InterfaceIsActive, &RemoteInterfaceIsActiveArgs { iface: eth1.iface.clone() }).unwrap();
    assert_eq!(a.active, 1);
    let x: RemoteInterfaceGetXmlDescRet =
        call(&c, P::InterfaceGetXmlDesc, &RemoteInterfaceGetXmlDescArgs { iface: eth1.iface.clone(), flags: 0 }).unwrap();
    assert!(x.xml.contains("name='eth1'"), "{}", x.xml);

    call_void(&c, P::InterfaceChangeBegin, &RemoteInterfaceChangeBeginArgs { flags: 0 }).unwrap();
    let d: RemoteInterfaceDefineXmlRet =
        call(&c, P::InterfaceDefineXml, &RemoteInterfaceDefineXmlArgs { xml: ETH2.into(), flags: 0 }).unwrap();
    assert_eq!(d.iface.name, "eth2");
    let n: RemoteConnectNumOfDefinedInterfacesRet = call0(&c, P::ConnectNumOfDefinedInterfaces).unwrap();
    assert_eq!(n.num, 1);
    let l: RemoteConnectListDefinedInterfacesRet =
        call(&c, P::ConnectListDefinedInterfaces, &RemoteConnectListDefinedInterfacesArgs { maxnames: 3 }).unwrap();
    assert_eq!(l.names, ["eth2"]);
    call_void(&c, P::InterfaceCreate, &RemoteInterfaceCreateArgs { iface: d.iface.clone(), flags: 0 }).unwrap();
    let n: RemoteConnectNumOfInterfacesRet = call0(&c, P::ConnectNumOfInterfaces).unwrap();
    assert_eq!(n.num, 2);
    let l: RemoteConnectListInterfacesRet = call(&c, P::ConnectListInterfaces, &RemoteConnectListInterfacesArgs { maxnames: 0 }).unwrap();
    assert!(l.names.is_empty());
    let all: RemoteConnectListAllInterfacesRet =
        call(&c, P::ConnectListAllInterfaces, &RemoteConnectListAllInterfacesArgs { need_results: 1, flags: 0 }).unwrap();
    assert_eq!((all.ret, all.ifaces.len()), (2, 2));
    call_void(&c, P::InterfaceDestroy, &RemoteInterfaceDestroyArgs { iface: d.iface.clone(), flags: 0 }).unwrap();
    call_void(&c, P::InterfaceUndefine, &RemoteInterfaceUndefineArgs { iface: d.iface.clone() }).unwrap();
    call_void(&c, P::InterfaceChangeRollback, &RemoteInterfaceChangeRollbackArgs { flags: 0 }).unwrap();
    let r = call_void(&c, P::InterfaceChangeCommit, &RemoteInterfaceChangeCommitArgs { flags: 0 });
    assert_err(r, ErrorCode::OperationInvalid, "no transaction running");

    let r =
        call::<_, RemoteInterfaceLookupByNameRet>(&c, P::InterfaceLookupByName, &RemoteInterfaceLookupByNameArgs { name: "eth9".into() });
    assert_err(r, ErrorCode::NoInterface, "eth9");
    let r = call::<_, RemoteConnectListInterfacesRet>(&c, P::ConnectListInterfaces, &RemoteConnectListInterfacesArgs { maxnames: 16385 });
    assert_err(r, ErrorCode::Rpc, "maxnames > REMOTE_INTERFACE_LIST_MAX");
}
