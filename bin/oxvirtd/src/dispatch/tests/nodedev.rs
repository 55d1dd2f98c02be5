//! Node device procedures through `dispatch_call`.

use super::super::network::test_support::*;
use oxvirt::ErrorCode;
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::Encode;
use RemoteProcedure as P;

fn num(c: &oxvirt::Connect, cap: Option<&str>) -> i32 {
    call::<_, RemoteNodeNumOfDevicesRet>(c, P::NodeNumOfDevices, &RemoteNodeNumOfDevicesArgs { cap: cap.map(Into::into), flags: 0 })
        .unwrap()
        .num
}

#[test]
fn devices_by_capability() {
    let c = open();
    let all: RemoteConnectListAllNodeDevicesRet =
        call(&c, P::ConnectListAllNodeDevices, &RemoteConnectListAllNodeDevicesArgs { need_results: 1, flags: 0 }).unwrap();
    assert_eq!(all.ret as usize, all.devices.len());
    assert_eq!(num(&c, None), all.ret as i32);
    assert_eq!(num(&c, Some("system")), 1);
    assert_eq!(num(&c, Some("scsi_host")), 3);
    assert_eq!(num(&c, Some("fc_host")), 3, "a sub-capability counts");
    assert_eq!(num(&c, Some("no-such-cap")), 0);
    let l: RemoteNodeListDevicesRet =
        call(&c, P::NodeListDevices, &RemoteNodeListDevicesArgs { cap: Some("system".into()), maxnames: 10, flags: 0 }).unwrap();
    assert_eq!(l.names, ["computer"]);
    let l: RemoteNodeListDevicesRet =
        call(&c, P::NodeListDevices, &RemoteNodeListDevicesArgs { cap: None, maxnames: 2, flags: 0 }).unwrap();
    assert_eq!(l.names.len(), 2);
    let r =
        call::<_, RemoteNodeListDevicesRet>(&c, P::NodeListDevices, &RemoteNodeListDevicesArgs { cap: None, maxnames: 65537, flags: 0 });
    assert_err(r, ErrorCode::Rpc, "maxnames > REMOTE_NODE_DEVICE_LIST_MAX");
    let r = call::<_, RemoteNodeNumOfDevicesRet>(&c, P::NodeNumOfDevices, &RemoteNodeNumOfDevicesArgs { cap: None, flags: 1 });
    assert_err(r, ErrorCode::InvalidArg, "unsupported flags (0x1)");
}

#[test]
fn one_device() {
    let c = open();
    let d: RemoteNodeDeviceLookupByNameRet =
        call(&c, P::NodeDeviceLookupByName, &RemoteNodeDeviceLookupByNameArgs { name: "scsi_host11".into() }).unwrap();
    assert_eq!(d.dev.name, "scsi_host11");
    let x: RemoteNodeDeviceGetXmlDescRet =
        call(&c, P::NodeDeviceGetXmlDesc, &RemoteNodeDeviceGetXmlDescArgs { name: "scsi_host11".into(), flags: 0 }).unwrap();
    assert!(x.xml.contains("<name>scsi_host11</name>"));
    let par: RemoteNodeDeviceGetParentRet =
        call(&c, P::NodeDeviceGetParent, &RemoteNodeDeviceGetParentArgs { name: "scsi_host11".into() }).unwrap();
    assert_eq!(par.parent_name.as_deref(), Some("scsi_host1"));
    // The root device has no parent: a null string, not an error.
    let par: RemoteNodeDeviceGetParentRet =
        call(&c, P::NodeDeviceGetParent, &RemoteNodeDeviceGetParentArgs { name: "computer".into() }).unwrap();
    assert_eq!(par.parent_name, None);
    let n: RemoteNodeDeviceNumOfCapsRet =
        call(&c, P::NodeDeviceNumOfCaps, &RemoteNodeDeviceNumOfCapsArgs { name: "scsi_host1".into() }).unwrap();
    let l: RemoteNodeDeviceListCapsRet =
        call(&c, P::NodeDeviceListCaps, &RemoteNodeDeviceListCapsArgs { name: "scsi_host1".into(), maxnames: 100 }).unwrap();
    assert_eq!(l.names.len() as i32, n.num);
    assert_eq!(l.names[0], "scsi_host");
    let l: RemoteNodeDeviceListCapsRet =
        call(&c, P::NodeDeviceListCaps, &RemoteNodeDeviceListCapsArgs { name: "scsi_host1".into(), maxnames: 1 }).unwrap();
    assert_eq!(l.names, ["scsi_host"]);
    let r =
        call::<_, RemoteNodeDeviceListCapsRet>(&c, P::NodeDeviceListCaps, &RemoteNodeDeviceListCapsArgs { name: "x".into(), maxnames: -1 });
    assert_err(r, ErrorCode::Rpc, "maxnames must be non-negative");

    for proc in [P::NodeDeviceLookupByName, P::NodeDeviceGetParent, P::NodeDeviceNumOfCaps] {
        let r = call_raw(&c, proc, &RemoteNodeDeviceLookupByNameArgs { name: "nope".into() }.to_bytes().unwrap());
        assert_err(r, ErrorCode::NoNodeDevice, "no node device with matching name 'nope'");
    }
    let r = call_void(&c, P::NodeDeviceReset, &RemoteNodeDeviceResetArgs { name: "computer".into() });
    assert_err(r, ErrorCode::NoSupport, "virNodeDeviceReset");
}
