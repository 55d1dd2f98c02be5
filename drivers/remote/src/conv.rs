//! Conversions between API references and their wire forms (`remote_nonnull_*`).

use oxvirt::types::*;
use oxvirt_rpc::proto::remote::*;

/// `DomainRef` → `remote_nonnull_domain`.
pub fn dom(d: &DomainRef) -> RemoteNonnullDomain {
    RemoteNonnullDomain { name: d.name.clone(), uuid: d.uuid, id: d.id }
}
/// `remote_nonnull_domain` → `DomainRef`.
pub fn dom_ref(d: RemoteNonnullDomain) -> DomainRef {
    DomainRef { name: d.name, uuid: d.uuid, id: d.id }
}
/// `NetworkRef` → wire.
pub fn net(n: &NetworkRef) -> RemoteNonnullNetwork {
    RemoteNonnullNetwork { name: n.name.clone(), uuid: n.uuid }
}
/// Wire → `NetworkRef`.
pub fn net_ref(n: RemoteNonnullNetwork) -> NetworkRef {
    NetworkRef { name: n.name, uuid: n.uuid }
}
/// `StoragePoolRef` → wire.
pub fn pool(p: &StoragePoolRef) -> RemoteNonnullStoragePool {
    RemoteNonnullStoragePool { name: p.name.clone(), uuid: p.uuid }
}
/// Wire → `StoragePoolRef`.
pub fn pool_ref(p: RemoteNonnullStoragePool) -> StoragePoolRef {
    StoragePoolRef { name: p.name, uuid: p.uuid }
}
/// `StorageVolRef` → wire.
pub fn vol(v: &StorageVolRef) -> RemoteNonnullStorageVol {
    RemoteNonnullStorageVol { pool: v.pool.clone(), name: v.name.clone(), key: v.key.clone() }
}
/// Wire → `StorageVolRef`.
pub fn vol_ref(v: RemoteNonnullStorageVol) -> StorageVolRef {
    StorageVolRef { pool: v.pool, name: v.name, key: v.key }
}
/// `SecretRef` → wire.
pub fn secret(s: &SecretRef) -> RemoteNonnullSecret {
    RemoteNonnullSecret { uuid: s.uuid, usage_type: s.usage_type, usage_id: s.usage_id.clone() }
}
/// Wire → `SecretRef`.
pub fn secret_ref(s: RemoteNonnullSecret) -> SecretRef {
    SecretRef { uuid: s.uuid, usage_type: s.usage_type, usage_id: s.usage_id }
}
/// `NWFilterRef` → wire.
pub fn nwfilter(f: &NWFilterRef) -> RemoteNonnullNwfilter {
    RemoteNonnullNwfilter { name: f.name.clone(), uuid: f.uuid }
}
/// Wire → `NWFilterRef`.
pub fn nwfilter_ref(f: RemoteNonnullNwfilter) -> NWFilterRef {
    NWFilterRef { name: f.name, uuid: f.uuid }
}
/// `InterfaceRef` → wire.
pub fn iface(i: &InterfaceRef) -> RemoteNonnullInterface {
    RemoteNonnullInterface { name: i.name.clone(), mac: i.mac.clone() }
}
/// Wire → `InterfaceRef`.
pub fn iface_ref(i: RemoteNonnullInterface) -> InterfaceRef {
    InterfaceRef { name: i.name, mac: i.mac }
}
/// `NodeDeviceRef` → wire.
pub fn nodedev(d: &NodeDeviceRef) -> RemoteNonnullNodeDevice {
    RemoteNonnullNodeDevice { name: d.name.clone() }
}
/// Wire → `NodeDeviceRef`.
pub fn nodedev_ref(d: RemoteNonnullNodeDevice) -> NodeDeviceRef {
    NodeDeviceRef { name: d.name }
}
/// `SnapshotRef` → wire.
pub fn snap(s: &SnapshotRef) -> RemoteNonnullDomainSnapshot {
    RemoteNonnullDomainSnapshot { name: s.name.clone(), dom: dom(&s.domain) }
}
/// Wire → `SnapshotRef`.
pub fn snap_ref(s: RemoteNonnullDomainSnapshot) -> SnapshotRef {
    SnapshotRef { name: s.name, domain: dom_ref(s.dom) }
}

/// A `char[N]` field (one widened char per slot, NUL-terminated) as a string.
pub fn chars_to_string(c: &[i8]) -> String {
    let bytes: Vec<u8> = c.iter().map(|&b| b as u8).take_while(|&b| b != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// An optional string argument.
pub fn opt(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}
