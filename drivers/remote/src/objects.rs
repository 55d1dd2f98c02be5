//! Network, storage, secret, nwfilter, interface and node device drivers over the
//! wire. Where a public API has a flag-less and a `*Flags` procedure, flags 0 use the
//! older one, as libvirt's client does for the matching API.

use crate::conv::*;
use crate::RemoteConn;
use oxvirt::driver::{InterfaceDriver, NWFilterDriver, NetworkDriver, NodeDeviceDriver, SecretDriver, StorageDriver};
use oxvirt::stream::StreamDriver;
use oxvirt::types::*;
use oxvirt::Result;
use oxvirt::{VolDownloadFlags, VolUploadFlags};
use oxvirt_rpc::proto::remote::*;
use oxvirt_util::uuid::Uuid;
use RemoteProcedure as P;

impl NetworkDriver for RemoteConn {
    fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        let r: RemoteConnectListAllNetworksRet =
            self.call(P::ConnectListAllNetworks, &RemoteConnectListAllNetworksArgs { need_results: 1, flags })?;
        Ok(r.nets.into_iter().map(net_ref).collect())
    }
    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        let args = RemoteNetworkLookupByNameArgs { name: name.to_string() };
        Ok(net_ref(self.call::<_, RemoteNetworkLookupByNameRet>(P::NetworkLookupByName, &args)?.net))
    }
    fn network_lookup_by_uuid(&self, uuid: &Uuid) -> Result<NetworkRef> {
        Ok(net_ref(
            self.call::<_, RemoteNetworkLookupByUuidRet>(P::NetworkLookupByUuid, &RemoteNetworkLookupByUuidArgs { uuid: *uuid })?.net,
        ))
    }
    fn network_define_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        let n = if flags == 0 {
            self.call::<_, RemoteNetworkDefineXmlRet>(P::NetworkDefineXml, &RemoteNetworkDefineXmlArgs { xml: xml.to_string() })?.net
        } else {
            let args = RemoteNetworkDefineXmlFlagsArgs { xml: xml.to_string(), flags };
            self.call::<_, RemoteNetworkDefineXmlFlagsRet>(P::NetworkDefineXmlFlags, &args)?.net
        };
        Ok(net_ref(n))
    }
    fn network_create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        let n = if flags == 0 {
            self.call::<_, RemoteNetworkCreateXmlRet>(P::NetworkCreateXml, &RemoteNetworkCreateXmlArgs { xml: xml.to_string() })?.net
        } else {
            let args = RemoteNetworkCreateXmlFlagsArgs { xml: xml.to_string(), flags };
            self.call::<_, RemoteNetworkCreateXmlFlagsRet>(P::NetworkCreateXmlFlags, &args)?.net
        };
        Ok(net_ref(n))
    }
    fn network_undefine(&self, n: &NetworkRef) -> Result<()> {
        self.call0(P::NetworkUndefine, &RemoteNetworkUndefineArgs { net: net(n) })
    }
    fn network_create(&self, n: &NetworkRef) -> Result<()> {
        self.call0(P::NetworkCreate, &RemoteNetworkCreateArgs { net: net(n) })
    }
    fn network_destroy(&self, n: &NetworkRef) -> Result<()> {
        self.call0(P::NetworkDestroy, &RemoteNetworkDestroyArgs { net: net(n) })
    }
    fn network_get_xml_desc(&self, n: &NetworkRef, flags: u32) -> Result<String> {
        Ok(self.call::<_, RemoteNetworkGetXmlDescRet>(P::NetworkGetXmlDesc, &RemoteNetworkGetXmlDescArgs { net: net(n), flags })?.xml)
    }
    fn network_get_bridge_name(&self, n: &NetworkRef) -> Result<String> {
        Ok(self.call::<_, RemoteNetworkGetBridgeNameRet>(P::NetworkGetBridgeName, &RemoteNetworkGetBridgeNameArgs { net: net(n) })?.name)
    }
    fn network_get_autostart(&self, n: &NetworkRef) -> Result<bool> {
        Ok(self.call::<_, RemoteNetworkGetAutostartRet>(P::NetworkGetAutostart, &RemoteNetworkGetAutostartArgs { net: net(n) })?.autostart
            != 0)
    }
    fn network_set_autostart(&self, n: &NetworkRef, on: bool) -> Result<()> {
        self.call0(P::NetworkSetAutostart, &RemoteNetworkSetAutostartArgs { net: net(n), autostart: i32::from(on) })
    }
    fn network_is_active(&self, n: &NetworkRef) -> Result<bool> {
        Ok(self.call::<_, RemoteNetworkIsActiveRet>(P::NetworkIsActive, &RemoteNetworkIsActiveArgs { net: net(n) })?.active != 0)
    }
    fn network_is_persistent(&self, n: &NetworkRef) -> Result<bool> {
        Ok(self.call::<_, RemoteNetworkIsPersistentRet>(P::NetworkIsPersistent, &RemoteNetworkIsPersistentArgs { net: net(n) })?.persistent
            != 0)
    }
    fn network_update(&self, n: &NetworkRef, command: u32, section: u32, parent_index: i32, xml: &str, flags: u32) -> Result<()> {
        let args = RemoteNetworkUpdateArgs { net: net(n), command, section, parent_index, xml: xml.to_string(), flags };
        self.call0(P::NetworkUpdate, &args)
    }
}

fn pool_state(v: u8) -> StoragePoolState {
    StoragePoolState::from_i32(i32::from(v)).unwrap_or(StoragePoolState::Inactive)
}

impl StorageDriver for RemoteConn {
    fn list_all_pools(&self, flags: u32) -> Result<Vec<StoragePoolRef>> {
        let args = RemoteConnectListAllStoragePoolsArgs { need_results: 1, flags };
        Ok(self
            .call::<_, RemoteConnectListAllStoragePoolsRet>(P::ConnectListAllStoragePools, &args)?
            .pools
            .into_iter()
            .map(pool_ref)
            .collect())
    }
    fn pool_lookup_by_name(&self, name: &str) -> Result<StoragePoolRef> {
        let args = RemoteStoragePoolLookupByNameArgs { name: name.to_string() };
        Ok(pool_ref(self.call::<_, RemoteStoragePoolLookupByNameRet>(P::StoragePoolLookupByName, &args)?.pool))
    }
    fn pool_lookup_by_uuid(&self, uuid: &Uuid) -> Result<StoragePoolRef> {
        let args = RemoteStoragePoolLookupByUuidArgs { uuid: *uuid };
        Ok(pool_ref(self.call::<_, RemoteStoragePoolLookupByUuidRet>(P::StoragePoolLookupByUuid, &args)?.pool))
    }
    fn pool_lookup_by_volume(&self, v: &StorageVolRef) -> Result<StoragePoolRef> {
        let args = RemoteStoragePoolLookupByVolumeArgs { vol: vol(v) };
        Ok(pool_ref(self.call::<_, RemoteStoragePoolLookupByVolumeRet>(P::StoragePoolLookupByVolume, &args)?.pool))
    }
    fn pool_define_xml(&self, xml: &str, flags: u32) -> Result<StoragePoolRef> {
        let args = RemoteStoragePoolDefineXmlArgs { xml: xml.to_string(), flags };
        Ok(pool_ref(self.call::<_, RemoteStoragePoolDefineXmlRet>(P::StoragePoolDefineXml, &args)?.pool))
    }
    fn pool_create_xml(&self, xml: &str, flags: u32) -> Result<StoragePoolRef> {
        let args = RemoteStoragePoolCreateXmlArgs { xml: xml.to_string(), flags };
        Ok(pool_ref(self.call::<_, RemoteStoragePoolCreateXmlRet>(P::StoragePoolCreateXml, &args)?.pool))
    }
    fn pool_build(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        self.call0(P::StoragePoolBuild, &RemoteStoragePoolBuildArgs { pool: pool(p), flags })
    }
    fn pool_undefine(&self, p: &StoragePoolRef) -> Result<()> {
        self.call0(P::StoragePoolUndefine, &RemoteStoragePoolUndefineArgs { pool: pool(p) })
    }
    fn pool_create(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        self.call0(P::StoragePoolCreate, &RemoteStoragePoolCreateArgs { pool: pool(p), flags })
    }
    fn pool_destroy(&self, p: &StoragePoolRef) -> Result<()> {
        self.call0(P::StoragePoolDestroy, &RemoteStoragePoolDestroyArgs { pool: pool(p) })
    }
    fn pool_delete(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        self.call0(P::StoragePoolDelete, &RemoteStoragePoolDeleteArgs { pool: pool(p), flags })
    }
    fn pool_refresh(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        self.call0(P::StoragePoolRefresh, &RemoteStoragePoolRefreshArgs { pool: pool(p), flags })
    }
    fn pool_get_info(&self, p: &StoragePoolRef) -> Result<StoragePoolInfo> {
        let r: RemoteStoragePoolGetInfoRet = self.call(P::StoragePoolGetInfo, &RemoteStoragePoolGetInfoArgs { pool: pool(p) })?;
        Ok(StoragePoolInfo { state: pool_state(r.state), capacity: r.capacity, allocation: r.allocation, available: r.available })
    }
    fn pool_get_xml_desc(&self, p: &StoragePoolRef, flags: u32) -> Result<String> {
        let args = RemoteStoragePoolGetXmlDescArgs { pool: pool(p), flags };
        Ok(self.call::<_, RemoteStoragePoolGetXmlDescRet>(P::StoragePoolGetXmlDesc, &args)?.xml)
    }
    fn pool_get_autostart(&self, p: &StoragePoolRef) -> Result<bool> {
        let args = RemoteStoragePoolGetAutostartArgs { pool: pool(p) };
        Ok(self.call::<_, RemoteStoragePoolGetAutostartRet>(P::StoragePoolGetAutostart, &args)?.autostart != 0)
    }
    fn pool_set_autostart(&self, p: &StoragePoolRef, on: bool) -> Result<()> {
        self.call0(P::StoragePoolSetAutostart, &RemoteStoragePoolSetAutostartArgs { pool: pool(p), autostart: i32::from(on) })
    }
    fn pool_is_active(&self, p: &StoragePoolRef) -> Result<bool> {
        Ok(self.call::<_, RemoteStoragePoolIsActiveRet>(P::StoragePoolIsActive, &RemoteStoragePoolIsActiveArgs { pool: pool(p) })?.active
            != 0)
    }
    fn pool_is_persistent(&self, p: &StoragePoolRef) -> Result<bool> {
        let args = RemoteStoragePoolIsPersistentArgs { pool: pool(p) };
        Ok(self.call::<_, RemoteStoragePoolIsPersistentRet>(P::StoragePoolIsPersistent, &args)?.persistent != 0)
    }
    fn find_pool_sources(&self, typ: &str, spec: Option<&str>, flags: u32) -> Result<String> {
        let args = RemoteConnectFindStoragePoolSourcesArgs { r#type: typ.to_string(), src_spec: opt(spec), flags };
        Ok(self.call::<_, RemoteConnectFindStoragePoolSourcesRet>(P::ConnectFindStoragePoolSources, &args)?.xml)
    }
    fn pool_list_all_volumes(&self, p: &StoragePoolRef, flags: u32) -> Result<Vec<StorageVolRef>> {
        let args = RemoteStoragePoolListAllVolumesArgs { pool: pool(p), need_results: 1, flags };
        Ok(self.call::<_, RemoteStoragePoolListAllVolumesRet>(P::StoragePoolListAllVolumes, &args)?.vols.into_iter().map(vol_ref).collect())
    }
    fn vol_lookup_by_name(&self, p: &StoragePoolRef, name: &str) -> Result<StorageVolRef> {
        let args = RemoteStorageVolLookupByNameArgs { pool: pool(p), name: name.to_string() };
        Ok(vol_ref(self.call::<_, RemoteStorageVolLookupByNameRet>(P::StorageVolLookupByName, &args)?.vol))
    }
    fn vol_lookup_by_key(&self, key: &str) -> Result<StorageVolRef> {
        let args = RemoteStorageVolLookupByKeyArgs { key: key.to_string() };
        Ok(vol_ref(self.call::<_, RemoteStorageVolLookupByKeyRet>(P::StorageVolLookupByKey, &args)?.vol))
    }
    fn vol_lookup_by_path(&self, path: &str) -> Result<StorageVolRef> {
        let args = RemoteStorageVolLookupByPathArgs { path: path.to_string() };
        Ok(vol_ref(self.call::<_, RemoteStorageVolLookupByPathRet>(P::StorageVolLookupByPath, &args)?.vol))
    }
    fn vol_create_xml(&self, p: &StoragePoolRef, xml: &str, flags: u32) -> Result<StorageVolRef> {
        let args = RemoteStorageVolCreateXmlArgs { pool: pool(p), xml: xml.to_string(), flags };
        Ok(vol_ref(self.call::<_, RemoteStorageVolCreateXmlRet>(P::StorageVolCreateXml, &args)?.vol))
    }
    fn vol_create_xml_from(&self, p: &StoragePoolRef, xml: &str, clone_from: &StorageVolRef, flags: u32) -> Result<StorageVolRef> {
        let args = RemoteStorageVolCreateXmlFromArgs { pool: pool(p), xml: xml.to_string(), clonevol: vol(clone_from), flags };
        Ok(vol_ref(self.call::<_, RemoteStorageVolCreateXmlFromRet>(P::StorageVolCreateXmlFrom, &args)?.vol))
    }
    fn vol_delete(&self, v: &StorageVolRef, flags: u32) -> Result<()> {
        self.call0(P::StorageVolDelete, &RemoteStorageVolDeleteArgs { vol: vol(v), flags })
    }
    fn vol_wipe(&self, v: &StorageVolRef, flags: u32) -> Result<()> {
        self.call0(P::StorageVolWipe, &RemoteStorageVolWipeArgs { vol: vol(v), flags })
    }
    fn vol_get_info(&self, v: &StorageVolRef) -> Result<StorageVolInfo> {
        let r: RemoteStorageVolGetInfoRet = self.call(P::StorageVolGetInfo, &RemoteStorageVolGetInfoArgs { vol: vol(v) })?;
        Ok(StorageVolInfo {
            vol_type: StorageVolType::from_i32(i32::from(r.r#type)).unwrap_or(StorageVolType::File),
            capacity: r.capacity,
            allocation: r.allocation,
        })
    }
    fn vol_get_xml_desc(&self, v: &StorageVolRef, flags: u32) -> Result<String> {
        Ok(self
            .call::<_, RemoteStorageVolGetXmlDescRet>(P::StorageVolGetXmlDesc, &RemoteStorageVolGetXmlDescArgs { vol: vol(v), flags })?
            .xml)
    }
    fn vol_get_path(&self, v: &StorageVolRef) -> Result<String> {
        Ok(self.call::<_, RemoteStorageVolGetPathRet>(P::StorageVolGetPath, &RemoteStorageVolGetPathArgs { vol: vol(v) })?.name)
    }
    fn vol_resize(&self, v: &StorageVolRef, capacity: u64, flags: u32) -> Result<()> {
        self.call0(P::StorageVolResize, &RemoteStorageVolResizeArgs { vol: vol(v), capacity, flags })
    }
    fn vol_upload(&self, v: &StorageVolRef, offset: u64, length: u64, flags: u32) -> Result<Box<dyn StreamDriver>> {
        let args = RemoteStorageVolUploadArgs { vol: vol(v), offset, length, flags };
        let sparse = flags & VolUploadFlags::SPARSE_STREAM.bits() != 0;
        Ok(Box::new(self.client.open_stream(P::StorageVolUpload as i32, &args, sparse)?))
    }
    fn vol_download(&self, v: &StorageVolRef, offset: u64, length: u64, flags: u32) -> Result<Box<dyn StreamDriver>> {
        let args = RemoteStorageVolDownloadArgs { vol: vol(v), offset, length, flags };
        let sparse = flags & VolDownloadFlags::SPARSE_STREAM.bits() != 0;
        Ok(Box::new(self.client.open_stream(P::StorageVolDownload as i32, &args, sparse)?))
    }
}

impl SecretDriver for RemoteConn {
    fn list_all_secrets(&self, flags: u32) -> Result<Vec<SecretRef>> {
        let args = RemoteConnectListAllSecretsArgs { need_results: 1, flags };
        Ok(self.call::<_, RemoteConnectListAllSecretsRet>(P::ConnectListAllSecrets, &args)?.secrets.into_iter().map(secret_ref).collect())
    }
    fn secret_lookup_by_uuid(&self, uuid: &Uuid) -> Result<SecretRef> {
        let args = RemoteSecretLookupByUuidArgs { uuid: *uuid };
        Ok(secret_ref(self.call::<_, RemoteSecretLookupByUuidRet>(P::SecretLookupByUuid, &args)?.secret))
    }
    fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> Result<SecretRef> {
        let args = RemoteSecretLookupByUsageArgs { usage_type, usage_id: usage_id.to_string() };
        Ok(secret_ref(self.call::<_, RemoteSecretLookupByUsageRet>(P::SecretLookupByUsage, &args)?.secret))
    }
    fn secret_define_xml(&self, xml: &str, flags: u32) -> Result<SecretRef> {
        let args = RemoteSecretDefineXmlArgs { xml: xml.to_string(), flags };
        Ok(secret_ref(self.call::<_, RemoteSecretDefineXmlRet>(P::SecretDefineXml, &args)?.secret))
    }
    fn secret_get_xml_desc(&self, s: &SecretRef, flags: u32) -> Result<String> {
        let args = RemoteSecretGetXmlDescArgs { secret: secret(s), flags };
        Ok(self.call::<_, RemoteSecretGetXmlDescRet>(P::SecretGetXmlDesc, &args)?.xml)
    }
    fn secret_set_value(&self, s: &SecretRef, value: &[u8], flags: u32) -> Result<()> {
        self.call0(P::SecretSetValue, &RemoteSecretSetValueArgs { secret: secret(s), value: value.to_vec(), flags })
    }
    fn secret_get_value(&self, s: &SecretRef, flags: u32) -> Result<Vec<u8>> {
        let args = RemoteSecretGetValueArgs { secret: secret(s), flags };
        Ok(self.call::<_, RemoteSecretGetValueRet>(P::SecretGetValue, &args)?.value)
    }
    fn secret_undefine(&self, s: &SecretRef) -> Result<()> {
        self.call0(P::SecretUndefine, &RemoteSecretUndefineArgs { secret: secret(s) })
    }
}

impl NWFilterDriver for RemoteConn {
    fn list_all_nwfilters(&self, flags: u32) -> Result<Vec<NWFilterRef>> {
        let args = RemoteConnectListAllNwfiltersArgs { need_results: 1, flags };
        Ok(self
            .call::<_, RemoteConnectListAllNwfiltersRet>(P::ConnectListAllNwfilters, &args)?
            .filters
            .into_iter()
            .map(nwfilter_ref)
            .collect())
    }
    fn nwfilter_lookup_by_name(&self, name: &str) -> Result<NWFilterRef> {
        let args = RemoteNwfilterLookupByNameArgs { name: name.to_string() };
        Ok(nwfilter_ref(self.call::<_, RemoteNwfilterLookupByNameRet>(P::NwfilterLookupByName, &args)?.nwfilter))
    }
    fn nwfilter_lookup_by_uuid(&self, uuid: &Uuid) -> Result<NWFilterRef> {
        let args = RemoteNwfilterLookupByUuidArgs { uuid: *uuid };
        Ok(nwfilter_ref(self.call::<_, RemoteNwfilterLookupByUuidRet>(P::NwfilterLookupByUuid, &args)?.nwfilter))
    }
    fn nwfilter_define_xml(&self, xml: &str, flags: u32) -> Result<NWFilterRef> {
        let f = if flags == 0 {
            self.call::<_, RemoteNwfilterDefineXmlRet>(P::NwfilterDefineXml, &RemoteNwfilterDefineXmlArgs { xml: xml.to_string() })?
                .nwfilter
        } else {
            let args = RemoteNwfilterDefineXmlFlagsArgs { xml: xml.to_string(), flags };
            self.call::<_, RemoteNwfilterDefineXmlFlagsRet>(P::NwfilterDefineXmlFlags, &args)?.nwfilter
        };
        Ok(nwfilter_ref(f))
    }
    fn nwfilter_undefine(&self, f: &NWFilterRef) -> Result<()> {
        self.call0(P::NwfilterUndefine, &RemoteNwfilterUndefineArgs { nwfilter: nwfilter(f) })
    }
    fn nwfilter_get_xml_desc(&self, f: &NWFilterRef, flags: u32) -> Result<String> {
        let args = RemoteNwfilterGetXmlDescArgs { nwfilter: nwfilter(f), flags };
        Ok(self.call::<_, RemoteNwfilterGetXmlDescRet>(P::NwfilterGetXmlDesc, &args)?.xml)
    }
}

impl InterfaceDriver for RemoteConn {
    fn list_all_interfaces(&self, flags: u32) -> Result<Vec<InterfaceRef>> {
        let args = RemoteConnectListAllInterfacesArgs { need_results: 1, flags };
        Ok(self
            .call::<_, RemoteConnectListAllInterfacesRet>(P::ConnectListAllInterfaces, &args)?
            .ifaces
            .into_iter()
            .map(iface_ref)
            .collect())
    }
    fn interface_lookup_by_name(&self, name: &str) -> Result<InterfaceRef> {
        let args = RemoteInterfaceLookupByNameArgs { name: name.to_string() };
        Ok(iface_ref(self.call::<_, RemoteInterfaceLookupByNameRet>(P::InterfaceLookupByName, &args)?.iface))
    }
    fn interface_lookup_by_mac(&self, mac: &str) -> Result<InterfaceRef> {
        let args = RemoteInterfaceLookupByMacStringArgs { mac: mac.to_string() };
        Ok(iface_ref(self.call::<_, RemoteInterfaceLookupByMacStringRet>(P::InterfaceLookupByMacString, &args)?.iface))
    }
    fn interface_define_xml(&self, xml: &str, flags: u32) -> Result<InterfaceRef> {
        let args = RemoteInterfaceDefineXmlArgs { xml: xml.to_string(), flags };
        Ok(iface_ref(self.call::<_, RemoteInterfaceDefineXmlRet>(P::InterfaceDefineXml, &args)?.iface))
    }
    fn interface_undefine(&self, i: &InterfaceRef) -> Result<()> {
        self.call0(P::InterfaceUndefine, &RemoteInterfaceUndefineArgs { iface: iface(i) })
    }
    fn interface_create(&self, i: &InterfaceRef, flags: u32) -> Result<()> {
        self.call0(P::InterfaceCreate, &RemoteInterfaceCreateArgs { iface: iface(i), flags })
    }
    fn interface_destroy(&self, i: &InterfaceRef, flags: u32) -> Result<()> {
        self.call0(P::InterfaceDestroy, &RemoteInterfaceDestroyArgs { iface: iface(i), flags })
    }
    fn interface_get_xml_desc(&self, i: &InterfaceRef, flags: u32) -> Result<String> {
        let args = RemoteInterfaceGetXmlDescArgs { iface: iface(i), flags };
        Ok(self.call::<_, RemoteInterfaceGetXmlDescRet>(P::InterfaceGetXmlDesc, &args)?.xml)
    }
    fn interface_is_active(&self, i: &InterfaceRef) -> Result<bool> {
        Ok(self.call::<_, RemoteInterfaceIsActiveRet>(P::InterfaceIsActive, &RemoteInterfaceIsActiveArgs { iface: iface(i) })?.active != 0)
    }
    fn interface_change_begin(&self, flags: u32) -> Result<()> {
        self.call0(P::InterfaceChangeBegin, &RemoteInterfaceChangeBeginArgs { flags })
    }
    fn interface_change_commit(&self, flags: u32) -> Result<()> {
        self.call0(P::InterfaceChangeCommit, &RemoteInterfaceChangeCommitArgs { flags })
    }
    fn interface_change_rollback(&self, flags: u32) -> Result<()> {
        self.call0(P::InterfaceChangeRollback, &RemoteInterfaceChangeRollbackArgs { flags })
    }
}

impl NodeDeviceDriver for RemoteConn {
    fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDeviceRef>> {
        let args = RemoteConnectListAllNodeDevicesArgs { need_results: 1, flags };
        let r: RemoteConnectListAllNodeDevicesRet = self.call(P::ConnectListAllNodeDevices, &args)?;
        Ok(r.devices.into_iter().map(nodedev_ref).collect())
    }
    fn nodedev_lookup_by_name(&self, name: &str) -> Result<NodeDeviceRef> {
        let args = RemoteNodeDeviceLookupByNameArgs { name: name.to_string() };
        Ok(nodedev_ref(self.call::<_, RemoteNodeDeviceLookupByNameRet>(P::NodeDeviceLookupByName, &args)?.dev))
    }
    fn nodedev_get_xml_desc(&self, d: &NodeDeviceRef, flags: u32) -> Result<String> {
        let args = RemoteNodeDeviceGetXmlDescArgs { name: d.name.clone(), flags };
        Ok(self.call::<_, RemoteNodeDeviceGetXmlDescRet>(P::NodeDeviceGetXmlDesc, &args)?.xml)
    }
    fn nodedev_get_parent(&self, d: &NodeDeviceRef) -> Result<Option<String>> {
        let args = RemoteNodeDeviceGetParentArgs { name: d.name.clone() };
        Ok(self.call::<_, RemoteNodeDeviceGetParentRet>(P::NodeDeviceGetParent, &args)?.parent_name)
    }
    fn nodedev_list_caps(&self, d: &NodeDeviceRef) -> Result<Vec<String>> {
        let n = self
            .call::<_, RemoteNodeDeviceNumOfCapsRet>(P::NodeDeviceNumOfCaps, &RemoteNodeDeviceNumOfCapsArgs { name: d.name.clone() })?
            .num;
        let args = RemoteNodeDeviceListCapsArgs { name: d.name.clone(), maxnames: n.max(0) };
        Ok(self.call::<_, RemoteNodeDeviceListCapsRet>(P::NodeDeviceListCaps, &args)?.names)
    }
    fn nodedev_create_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        let args = RemoteNodeDeviceCreateXmlArgs { xml_desc: xml.to_string(), flags };
        Ok(nodedev_ref(self.call::<_, RemoteNodeDeviceCreateXmlRet>(P::NodeDeviceCreateXml, &args)?.dev))
    }
    fn nodedev_define_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        let args = RemoteNodeDeviceDefineXmlArgs { xml_desc: xml.to_string(), flags };
        Ok(nodedev_ref(self.call::<_, RemoteNodeDeviceDefineXmlRet>(P::NodeDeviceDefineXml, &args)?.dev))
    }
    fn nodedev_destroy(&self, d: &NodeDeviceRef) -> Result<()> {
        self.call0(P::NodeDeviceDestroy, &RemoteNodeDeviceDestroyArgs { name: d.name.clone() })
    }
    fn nodedev_undefine(&self, d: &NodeDeviceRef, flags: u32) -> Result<()> {
        self.call0(P::NodeDeviceUndefine, &RemoteNodeDeviceUndefineArgs { name: d.name.clone(), flags })
    }
}
