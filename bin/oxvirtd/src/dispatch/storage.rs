//! Dispatch of the storage pool and volume procedures.

use super::network::{check_count, check_max, count, first, int, unsupported, unsupported_rw};
use super::{args, conv, ret, void, Reply};
use oxvirt::{Connect, Error, ErrorCode, ErrorDomain, ListPoolsFlags, PoolBuildFlags, Stream, VolCreateFlags, VolDeleteFlags};
use oxvirt::{StoragePool, StorageVol, StorageVolInfo};
use oxvirt::{VolDownloadFlags, VolResizeFlags, VolUploadFlags};
use oxvirt_rpc::consts::{REMOTE_STORAGE_POOL_LIST_MAX, REMOTE_STORAGE_VOL_LIST_MAX};
use oxvirt_rpc::proto::remote::*;

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let p = payload;
    let c = conn;
    Some(match proc {
        P::ConnectListAllStoragePools => list_all_pools(p, c),
        P::ConnectNumOfStoragePools => num_of_pools(c, ListPoolsFlags::ACTIVE),
        P::ConnectNumOfDefinedStoragePools => num_of_pools(c, ListPoolsFlags::INACTIVE),
        P::ConnectListStoragePools => args::<RemoteConnectListStoragePoolsArgs>(p)
            .and_then(|a| pool_names(c, a.maxnames, ListPoolsFlags::ACTIVE))
            .and_then(|names| ret(&RemoteConnectListStoragePoolsRet { names })),
        P::ConnectListDefinedStoragePools => args::<RemoteConnectListDefinedStoragePoolsArgs>(p)
            .and_then(|a| pool_names(c, a.maxnames, ListPoolsFlags::INACTIVE))
            .and_then(|names| ret(&RemoteConnectListDefinedStoragePoolsRet { names })),
        P::ConnectFindStoragePoolSources => find_sources(p, c),
        P::StoragePoolLookupByName => args::<RemoteStoragePoolLookupByNameArgs>(p)
            .and_then(|a| c.storage_pool_lookup_by_name(&a.name))
            .and_then(|pool| ret(&RemoteStoragePoolLookupByNameRet { pool: wire_pool(&pool) })),
        P::StoragePoolLookupByUuid => args::<RemoteStoragePoolLookupByUuidArgs>(p)
            .and_then(|a| c.storage_pool_lookup_by_uuid(&a.uuid))
            .and_then(|pool| ret(&RemoteStoragePoolLookupByUuidRet { pool: wire_pool(&pool) })),
        P::StoragePoolLookupByVolume => args::<RemoteStoragePoolLookupByVolumeArgs>(p)
            .and_then(|a| vol(c, &a.vol).pool())
            .and_then(|pool| ret(&RemoteStoragePoolLookupByVolumeRet { pool: wire_pool(&pool) })),
        P::StoragePoolDefineXml => args::<RemoteStoragePoolDefineXmlArgs>(p)
            .and_then(|a| c.storage_pool_define_xml(&a.xml, a.flags))
            .and_then(|pool| ret(&RemoteStoragePoolDefineXmlRet { pool: wire_pool(&pool) })),
        P::StoragePoolCreateXml => args::<RemoteStoragePoolCreateXmlArgs>(p)
            .and_then(|a| c.storage_pool_create_xml(&a.xml, a.flags))
            .and_then(|pool| ret(&RemoteStoragePoolCreateXmlRet { pool: wire_pool(&pool) })),
        P::StoragePoolBuild => args::<RemoteStoragePoolBuildArgs>(p)
            .and_then(|a| pool(c, &a.pool).build(PoolBuildFlags::from_bits_retain(a.flags)))
            .and_then(|()| void()),
        P::StoragePoolUndefine => args::<RemoteStoragePoolUndefineArgs>(p).and_then(|a| pool(c, &a.pool).undefine()).and_then(|()| void()),
        P::StoragePoolCreate => args::<RemoteStoragePoolCreateArgs>(p).and_then(|a| pool(c, &a.pool).create(a.flags)).and_then(|()| void()),
        P::StoragePoolDestroy => args::<RemoteStoragePoolDestroyArgs>(p).and_then(|a| pool(c, &a.pool).destroy()).and_then(|()| void()),
        P::StoragePoolDelete => args::<RemoteStoragePoolDeleteArgs>(p).and_then(|a| pool(c, &a.pool).delete(a.flags)).and_then(|()| void()),
        P::StoragePoolRefresh => {
            args::<RemoteStoragePoolRefreshArgs>(p).and_then(|a| pool(c, &a.pool).refresh(a.flags)).and_then(|()| void())
        }
        P::StoragePoolGetInfo => pool_info(p, c),
        P::StoragePoolGetXmlDesc => args::<RemoteStoragePoolGetXmlDescArgs>(p)
            .and_then(|a| pool(c, &a.pool).xml_desc(a.flags))
            .and_then(|xml| ret(&RemoteStoragePoolGetXmlDescRet { xml })),
        P::StoragePoolGetAutostart => args::<RemoteStoragePoolGetAutostartArgs>(p)
            .and_then(|a| pool(c, &a.pool).autostart())
            .and_then(|on| ret(&RemoteStoragePoolGetAutostartRet { autostart: int(on) })),
        P::StoragePoolSetAutostart => args::<RemoteStoragePoolSetAutostartArgs>(p)
            .and_then(|a| pool(c, &a.pool).set_autostart(a.autostart != 0))
            .and_then(|()| void()),
        P::StoragePoolIsActive => args::<RemoteStoragePoolIsActiveArgs>(p)
            .and_then(|a| pool(c, &a.pool).is_active())
            .and_then(|on| ret(&RemoteStoragePoolIsActiveRet { active: int(on) })),
        P::StoragePoolIsPersistent => args::<RemoteStoragePoolIsPersistentArgs>(p)
            .and_then(|a| pool(c, &a.pool).is_persistent())
            .and_then(|on| ret(&RemoteStoragePoolIsPersistentRet { persistent: int(on) })),
        P::StoragePoolNumOfVolumes => args::<RemoteStoragePoolNumOfVolumesArgs>(p)
            .and_then(|a| pool(c, &a.pool).num_of_volumes())
            .and_then(|num| ret(&RemoteStoragePoolNumOfVolumesRet { num })),
        P::StoragePoolListVolumes => list_volumes(p, c),
        P::StoragePoolListAllVolumes => list_all_volumes(p, c),
        P::StorageVolLookupByName => args::<RemoteStorageVolLookupByNameArgs>(p)
            .and_then(|a| pool(c, &a.pool).vol_lookup_by_name(&a.name))
            .and_then(|v| ret(&RemoteStorageVolLookupByNameRet { vol: wire_vol(&v) })),
        P::StorageVolLookupByKey => args::<RemoteStorageVolLookupByKeyArgs>(p)
            .and_then(|a| c.storage_vol_lookup_by_key(&a.key))
            .and_then(|v| ret(&RemoteStorageVolLookupByKeyRet { vol: wire_vol(&v) })),
        P::StorageVolLookupByPath => args::<RemoteStorageVolLookupByPathArgs>(p)
            .and_then(|a| c.storage_vol_lookup_by_path(&a.path))
            .and_then(|v| ret(&RemoteStorageVolLookupByPathRet { vol: wire_vol(&v) })),
        P::StorageVolCreateXml => args::<RemoteStorageVolCreateXmlArgs>(p)
            .and_then(|a| pool(c, &a.pool).vol_create_xml(&a.xml, VolCreateFlags::from_bits_retain(a.flags)))
            .and_then(|v| ret(&RemoteStorageVolCreateXmlRet { vol: wire_vol(&v) })),
        P::StorageVolCreateXmlFrom => vol_create_from(p, c),
        P::StorageVolDelete => args::<RemoteStorageVolDeleteArgs>(p)
            .and_then(|a| vol(c, &a.vol).delete(VolDeleteFlags::from_bits_retain(a.flags)))
            .and_then(|()| void()),
        P::StorageVolWipe => args::<RemoteStorageVolWipeArgs>(p).and_then(|a| vol(c, &a.vol).wipe(a.flags)).and_then(|()| void()),
        P::StorageVolGetInfo => args::<RemoteStorageVolGetInfoArgs>(p).and_then(|a| vol(c, &a.vol).info()).and_then(|i| {
            let (r#type, capacity, allocation) = vol_info(&i);
            ret(&RemoteStorageVolGetInfoRet { r#type, capacity, allocation })
        }),
        P::StorageVolGetInfoFlags => {
            args::<RemoteStorageVolGetInfoFlagsArgs>(p).and_then(|a| vol(c, &a.vol).info_flags(a.flags)).and_then(|i| {
                let (r#type, capacity, allocation) = vol_info(&i);
                ret(&RemoteStorageVolGetInfoFlagsRet { r#type, capacity, allocation })
            })
        }
        P::StorageVolGetXmlDesc => args::<RemoteStorageVolGetXmlDescArgs>(p)
            .and_then(|a| vol(c, &a.vol).xml_desc(a.flags))
            .and_then(|xml| ret(&RemoteStorageVolGetXmlDescRet { xml })),
        P::StorageVolGetPath => args::<RemoteStorageVolGetPathArgs>(p)
            .and_then(|a| vol(c, &a.vol).path())
            .and_then(|name| ret(&RemoteStorageVolGetPathRet { name })),
        P::StorageVolResize => args::<RemoteStorageVolResizeArgs>(p)
            .and_then(|a| vol(c, &a.vol).resize(a.capacity, VolResizeFlags::from_bits_retain(a.flags)))
            .and_then(|()| void()),
        // Not in the `oxvirt` API yet.
        P::StorageVolWipePattern => {
            unsupported_rw::<RemoteStorageVolWipePatternArgs>(p, c, "virStorageVolWipePattern", ErrorDomain::Storage)
        }
        // Stream-opening calls reach `open_vol_stream` through `crate::stream`, which
        // owns the client's streams; without a client there is nothing to attach to.
        P::StorageVolUpload => args::<RemoteStorageVolUploadArgs>(p).and_then(|_| Err(needs_client())),
        P::StorageVolDownload => args::<RemoteStorageVolDownloadArgs>(p).and_then(|_| Err(needs_client())),
        P::StoragePoolLookupByTargetPath => {
            unsupported::<RemoteStoragePoolLookupByTargetPathArgs>(p, "virStoragePoolLookupByTargetPath", ErrorDomain::Storage)
        }
        P::ConnectGetStoragePoolCapabilities => {
            unsupported::<RemoteConnectGetStoragePoolCapabilitiesArgs>(p, "virConnectGetStoragePoolCapabilities", ErrorDomain::Storage)
        }
        _ => return None,
    })
}

fn needs_client() -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "stream procedures are served by the client's stream table")
}

/// `STORAGE_VOL_UPLOAD` / `STORAGE_VOL_DOWNLOAD`: open the volume's stream. The reply
/// is void; the caller registers the stream before sending it.
pub fn open_vol_stream(proc: RemoteProcedure, payload: &[u8], c: &Connect) -> Result<Stream, Error> {
    match proc {
        RemoteProcedure::StorageVolUpload => {
            let a: RemoteStorageVolUploadArgs = args(payload)?;
            vol(c, &a.vol).upload(a.offset, a.length, VolUploadFlags::from_bits_retain(a.flags))
        }
        RemoteProcedure::StorageVolDownload => {
            let a: RemoteStorageVolDownloadArgs = args(payload)?;
            vol(c, &a.vol).download(a.offset, a.length, VolDownloadFlags::from_bits_retain(a.flags))
        }
        _ => Err(needs_client()),
    }
}

fn pool(conn: &Connect, p: &RemoteNonnullStoragePool) -> StoragePool {
    conn.storage_pool_from_ref(conv::pool(p))
}

fn vol(conn: &Connect, v: &RemoteNonnullStorageVol) -> StorageVol {
    conn.storage_vol_from_ref(conv::vol(v))
}

fn wire_pool(p: &StoragePool) -> RemoteNonnullStoragePool {
    conv::wire_pool(p.raw())
}

fn wire_vol(v: &StorageVol) -> RemoteNonnullStorageVol {
    conv::wire_vol(v.raw())
}

/// `virStorageVolInfo` as `(type, capacity, allocation)` of the wire struct.
fn vol_info(i: &StorageVolInfo) -> (i8, u64, u64) {
    (i8::try_from(i.vol_type.as_i32()).unwrap_or(i8::MAX), i.capacity, i.allocation)
}

fn list_all_pools(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListAllStoragePoolsArgs = args(p)?;
    let pools = conn.list_all_storage_pools(ListPoolsFlags::from_bits_retain(a.flags))?;
    let n = check_count(pools.len(), "storage_pool", REMOTE_STORAGE_POOL_LIST_MAX)?;
    let pools = if a.need_results != 0 { pools.iter().map(wire_pool).collect() } else { Vec::new() };
    ret(&RemoteConnectListAllStoragePoolsRet { pools, ret: n })
}

fn num_of_pools(conn: &Connect, which: ListPoolsFlags) -> Reply {
    let num = count(conn.list_all_storage_pools(which)?.len());
    ret(&RemoteConnectNumOfStoragePoolsRet { num })
}

fn pool_names(conn: &Connect, maxnames: i32, which: ListPoolsFlags) -> Result<Vec<String>, Error> {
    let max = check_max(maxnames, "names", REMOTE_STORAGE_POOL_LIST_MAX, "REMOTE_STORAGE_POOL_LIST_MAX")?;
    Ok(first(conn.list_all_storage_pools(which)?, max).iter().map(|p| p.name().to_string()).collect())
}

fn find_sources(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectFindStoragePoolSourcesArgs = args(p)?;
    let xml = conn.find_storage_pool_sources(&a.r#type, a.src_spec.as_deref(), a.flags)?;
    ret(&RemoteConnectFindStoragePoolSourcesRet { xml })
}

fn pool_info(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteStoragePoolGetInfoArgs = args(p)?;
    let i = pool(conn, &a.pool).info()?;
    let state = u8::try_from(i.state.as_i32()).unwrap_or(u8::MAX);
    ret(&RemoteStoragePoolGetInfoRet { state, capacity: i.capacity, allocation: i.allocation, available: i.available })
}

fn list_volumes(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteStoragePoolListVolumesArgs = args(p)?;
    let max = check_max(a.maxnames, "names", REMOTE_STORAGE_VOL_LIST_MAX, "REMOTE_STORAGE_VOL_LIST_MAX")?;
    let vols = pool(conn, &a.pool).list_all_volumes(0)?;
    ret(&RemoteStoragePoolListVolumesRet { names: first(vols, max).iter().map(|v| v.name().to_string()).collect() })
}

fn list_all_volumes(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteStoragePoolListAllVolumesArgs = args(p)?;
    let vols = pool(conn, &a.pool).list_all_volumes(a.flags)?;
    let n = check_count(vols.len(), "storage_vol", REMOTE_STORAGE_VOL_LIST_MAX)?;
    let vols = if a.need_results != 0 { vols.iter().map(wire_vol).collect() } else { Vec::new() };
    ret(&RemoteStoragePoolListAllVolumesRet { vols, ret: n })
}

fn vol_create_from(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteStorageVolCreateXmlFromArgs = args(p)?;
    let clone_from = vol(conn, &a.clonevol);
    let v = pool(conn, &a.pool).vol_create_xml_from(&a.xml, &clone_from, VolCreateFlags::from_bits_retain(a.flags))?;
    ret(&RemoteStorageVolCreateXmlFromRet { vol: wire_vol(&v) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/storage.rs"]
mod tests;
