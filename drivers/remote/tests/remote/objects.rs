//! Networks, storage, secrets, node devices, interfaces and nwfilters through
//! libvirtd's test driver.

#![allow(clippy::unwrap_used)]

use crate::daemon::Daemon;
use oxvirt::*;

#[test]
fn networks() {
    let d = Daemon::start();
    let c = d.open();
    let nets = c.list_all_networks(ListNetworksFlags::empty()).unwrap();
    assert_eq!(nets.iter().map(|n| n.name()).collect::<Vec<_>>(), ["default"]);
    let n = c.network_lookup_by_name("default").unwrap();
    assert_eq!(c.network_lookup_by_uuid(&n.uuid()).unwrap().name(), "default");
    assert_eq!(n.bridge_name().unwrap(), "virbr0");
    assert!(n.xml_desc(NetworkXmlFlags::empty()).unwrap().contains("<name>default</name>"));
    assert!(n.is_active().unwrap());
    n.destroy().unwrap();
    assert!(!n.is_active().unwrap());
    n.create().unwrap();
    let e = c.network_lookup_by_name("nosuch").err().unwrap();
    assert_eq!((e.code, e.domain), (ErrorCode::NoNetwork, ErrorDomain::Test));
    let x = "<network><name>n2</name><uuid>22222222-2222-3333-4444-555555555555</uuid>\
             <bridge name='br9'/><ip address='10.9.0.1' netmask='255.255.255.0'/></network>";
    let n2 = c.network_define_xml(x, 0).unwrap();
    assert_eq!(n2.name(), "n2");
    assert!(!n2.is_active().unwrap());
    n2.undefine().unwrap();
}

#[test]
fn pools_and_volumes() {
    let d = Daemon::start();
    let c = d.open();
    let pools = c.list_all_storage_pools(ListPoolsFlags::empty()).unwrap();
    assert_eq!(pools.iter().map(|p| p.name()).collect::<Vec<_>>(), ["default-pool"]);
    let p = c.storage_pool_lookup_by_name("default-pool").unwrap();
    let info = p.info().unwrap();
    assert_eq!(info.state, StoragePoolState::Running);
    assert_eq!(info.capacity, 107374182400);
    assert!(p.is_active().unwrap());
    assert!(p.xml_desc(0).unwrap().contains("<name>default-pool</name>"));
    let vx = "<volume><name>v1.img</name><capacity unit='M'>10</capacity></volume>";
    let v = p.vol_create_xml(vx, VolCreateFlags::empty()).unwrap();
    assert_eq!(v.name(), "v1.img");
    assert_eq!(v.path().unwrap(), "/default-pool/v1.img");
    let vi = v.info().unwrap();
    assert_eq!(vi.capacity, 10 * 1024 * 1024);
    let vols = p.list_all_volumes(0).unwrap();
    assert_eq!(vols.iter().map(|v| v.name()).collect::<Vec<_>>(), ["v1.img"]);
    assert_eq!(c.storage_vol_lookup_by_path("/default-pool/v1.img").unwrap().name(), "v1.img");
    v.delete(VolDeleteFlags::empty()).unwrap();
    let e = p.vol_lookup_by_name("v1.img").err().unwrap();
    assert_eq!((e.code, e.domain), (ErrorCode::NoStorageVol, ErrorDomain::Test));
    let e = c.storage_pool_lookup_by_name("nosuch").err().unwrap();
    assert_eq!(e.code, ErrorCode::NoStoragePool);
}

#[test]
fn secrets_nodedevs_interfaces_nwfilters() {
    let d = Daemon::start();
    let c = d.open();
    // libvirt 9.0's test driver has no secret driver: libvirtd reports it.
    let e = c.list_all_secrets(ListSecretsFlags::empty()).err().unwrap();
    assert_eq!(e.code, ErrorCode::NoSupport, "{e:?}");
    let devs = c.list_all_node_devices(ListNodeDevicesFlags::empty()).unwrap();
    assert!(devs.iter().any(|d| d.name() == "computer"));
    let dev = c.node_device_lookup_by_name("scsi_host1").unwrap();
    assert_eq!(dev.parent().unwrap().as_deref(), Some("computer"));
    assert_eq!(dev.list_caps().unwrap(), ["scsi_host"]);
    assert!(dev.xml_desc(0).unwrap().contains("<name>scsi_host1</name>"));
    let ifaces = c.list_all_interfaces(ListInterfacesFlags::empty()).unwrap();
    assert_eq!(ifaces.iter().map(|i| i.name()).collect::<Vec<_>>(), ["eth1"]);
    let i = c.interface_lookup_by_mac("aa:bb:cc:dd:ee:ff").unwrap();
    assert_eq!(i.name(), "eth1");
    let e = c.list_all_nwfilters(0).err().unwrap();
    assert_eq!(e.code, ErrorCode::NoSupport, "{e:?}");
}
