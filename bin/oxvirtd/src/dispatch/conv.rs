//! Conversions between wire identities (`remote_nonnull_*`) and API references.
// The object modules (networks, storage, ...) use the rest.
#![allow(dead_code)]

use oxvirt::types::*;
use oxvirt_rpc::proto::remote::*;

/// `remote_nonnull_domain` → [`DomainRef`].
pub fn dom(d: &RemoteNonnullDomain) -> DomainRef {
    DomainRef { name: d.name.clone(), uuid: d.uuid, id: d.id }
}
/// [`DomainRef`] → `remote_nonnull_domain`.
pub fn wire_dom(d: &DomainRef) -> RemoteNonnullDomain {
    RemoteNonnullDomain { name: d.name.clone(), uuid: d.uuid, id: d.id }
}
/// `remote_nonnull_network` → [`NetworkRef`].
pub fn net(n: &RemoteNonnullNetwork) -> NetworkRef {
    NetworkRef { name: n.name.clone(), uuid: n.uuid }
}
/// [`NetworkRef`] → `remote_nonnull_network`.
pub fn wire_net(n: &NetworkRef) -> RemoteNonnullNetwork {
    RemoteNonnullNetwork { name: n.name.clone(), uuid: n.uuid }
}
/// `remote_nonnull_storage_pool` → [`StoragePoolRef`].
pub fn pool(p: &RemoteNonnullStoragePool) -> StoragePoolRef {
    StoragePoolRef { name: p.name.clone(), uuid: p.uuid }
}
/// [`StoragePoolRef`] → `remote_nonnull_storage_pool`.
pub fn wire_pool(p: &StoragePoolRef) -> RemoteNonnullStoragePool {
    RemoteNonnullStoragePool { name: p.name.clone(), uuid: p.uuid }
}
/// `remote_nonnull_storage_vol` → [`StorageVolRef`].
pub fn vol(v: &RemoteNonnullStorageVol) -> StorageVolRef {
    StorageVolRef { pool: v.pool.clone(), name: v.name.clone(), key: v.key.clone() }
}
/// [`StorageVolRef`] → `remote_nonnull_storage_vol`.
pub fn wire_vol(v: &StorageVolRef) -> RemoteNonnullStorageVol {
    RemoteNonnullStorageVol { pool: v.pool.clone(), name: v.name.clone(), key: v.key.clone() }
}
/// `remote_nonnull_secret` → [`SecretRef`].
pub fn secret(s: &RemoteNonnullSecret) -> SecretRef {
    SecretRef { uuid: s.uuid, usage_type: s.usage_type, usage_id: s.usage_id.clone() }
}
/// [`SecretRef`] → `remote_nonnull_secret`.
pub fn wire_secret(s: &SecretRef) -> RemoteNonnullSecret {
    RemoteNonnullSecret { uuid: s.uuid, usage_type: s.usage_type, usage_id: s.usage_id.clone() }
}
/// `remote_nonnull_nwfilter` → [`NWFilterRef`].
pub fn nwfilter(f: &RemoteNonnullNwfilter) -> NWFilterRef {
    NWFilterRef { name: f.name.clone(), uuid: f.uuid }
}
/// [`NWFilterRef`] → `remote_nonnull_nwfilter`.
pub fn wire_nwfilter(f: &NWFilterRef) -> RemoteNonnullNwfilter {
    RemoteNonnullNwfilter { name: f.name.clone(), uuid: f.uuid }
}
/// `remote_nonnull_interface` → [`InterfaceRef`].
pub fn iface(i: &RemoteNonnullInterface) -> InterfaceRef {
    InterfaceRef { name: i.name.clone(), mac: i.mac.clone() }
}
/// [`InterfaceRef`] → `remote_nonnull_interface`.
pub fn wire_iface(i: &InterfaceRef) -> RemoteNonnullInterface {
    RemoteNonnullInterface { name: i.name.clone(), mac: i.mac.clone() }
}
/// `remote_nonnull_node_device` → [`NodeDeviceRef`].
pub fn nodedev(d: &RemoteNonnullNodeDevice) -> NodeDeviceRef {
    NodeDeviceRef { name: d.name.clone() }
}
/// [`NodeDeviceRef`] → `remote_nonnull_node_device`.
pub fn wire_nodedev(d: &NodeDeviceRef) -> RemoteNonnullNodeDevice {
    RemoteNonnullNodeDevice { name: d.name.clone() }
}
/// `remote_nonnull_domain_snapshot` → [`SnapshotRef`].
pub fn snap(s: &RemoteNonnullDomainSnapshot) -> SnapshotRef {
    SnapshotRef { domain: dom(&s.dom), name: s.name.clone() }
}
/// [`SnapshotRef`] → `remote_nonnull_domain_snapshot`.
pub fn wire_snap(s: &SnapshotRef) -> RemoteNonnullDomainSnapshot {
    RemoteNonnullDomainSnapshot { name: s.name.clone(), dom: wire_dom(&s.domain) }
}

/// One API typed parameter as `remote_typed_param` (`virTypedParamsSerialize`'s value copy).
pub fn wire_param(p: oxvirt::TypedParam) -> RemoteTypedParam {
    use oxvirt::TypedValue as T;
    use oxvirt_rpc::proto::RemoteTypedParamValue as V;
    let value = match p.value {
        T::Int(v) => V::Int(v),
        T::UInt(v) => V::UInt(v),
        T::LLong(v) => V::LLong(v),
        T::ULLong(v) => V::ULLong(v),
        T::Double(v) => V::Double(v),
        T::Boolean(v) => V::Boolean(i32::from(v)),
        T::String(v) => V::String(v),
    };
    RemoteTypedParam { field: p.field, value }
}

/// One `remote_typed_param` as the API's typed parameter.
pub fn param(p: RemoteTypedParam) -> oxvirt::TypedParam {
    use oxvirt::TypedValue as T;
    use oxvirt_rpc::proto::RemoteTypedParamValue as V;
    let value = match p.value {
        V::Int(v) => T::Int(v),
        V::UInt(v) => T::UInt(v),
        V::LLong(v) => T::LLong(v),
        V::ULLong(v) => T::ULLong(v),
        V::Double(v) => T::Double(v),
        V::Boolean(v) => T::Boolean(v != 0),
        V::String(v) => T::String(v),
    };
    oxvirt::TypedParam { field: p.field, value }
}
