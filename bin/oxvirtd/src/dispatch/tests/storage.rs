//! Storage pool and volume procedures through `dispatch_call`.

use super::super::network::test_support::*;
use oxvirt::ErrorCode;
use oxvirt_rpc::proto::remote::*;
use RemoteProcedure as P;

const VOL: &str = "<volume><name>v1.img</name><capacity unit='MiB'>1</capacity></volume>";
const VOL2: &str = "<volume><name>v2.img</name><capacity unit='MiB'>1</capacity></volume>";
const POOL2: &str = "<pool type='dir'><name>p2</name><uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>\
<target><path>/p2</path></target></pool>";

fn default_pool(c: &oxvirt::Connect) -> RemoteNonnullStoragePool {
    let r: RemoteStoragePoolLookupByNameRet =
        call(c, P::StoragePoolLookupByName, &RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() }).unwrap();
    r.pool
}

#[test]
fn pools() {
    let c = open();
    let pool = default_pool(&c);
    let r: RemoteStoragePoolLookupByUuidRet =
        call(&c, P::StoragePoolLookupByUuid, &RemoteStoragePoolLookupByUuidArgs { uuid: pool.uuid }).unwrap();
    assert_eq!(r.pool, pool);
    let info: RemoteStoragePoolGetInfoRet = call(&c, P::StoragePoolGetInfo, &RemoteStoragePoolGetInfoArgs { pool: pool.clone() }).unwrap();
    assert_eq!(info.state, 2, "running");
    assert_eq!(info.capacity, 100 << 30);
    let xml: RemoteStoragePoolGetXmlDescRet =
        call(&c, P::StoragePoolGetXmlDesc, &RemoteStoragePoolGetXmlDescArgs { pool: pool.clone(), flags: 0 }).unwrap();
    assert!(xml.xml.contains("<name>default-pool</name>"));
    let a: RemoteStoragePoolIsActiveRet = call(&c, P::StoragePoolIsActive, &RemoteStoragePoolIsActiveArgs { pool: pool.clone() }).unwrap();
    assert_eq!(a.active, 1);
    let a: RemoteStoragePoolIsPersistentRet =
        call(&c, P::StoragePoolIsPersistent, &RemoteStoragePoolIsPersistentArgs { pool: pool.clone() }).unwrap();
    assert_eq!(a.persistent, 1);
    call_void(&c, P::StoragePoolSetAutostart, &RemoteStoragePoolSetAutostartArgs { pool: pool.clone(), autostart: 1 }).unwrap();
    let a: RemoteStoragePoolGetAutostartRet =
        call(&c, P::StoragePoolGetAutostart, &RemoteStoragePoolGetAutostartArgs { pool: pool.clone() }).unwrap();
    assert_eq!(a.autostart, 1);
    call_void(&c, P::StoragePoolRefresh, &RemoteStoragePoolRefreshArgs { pool, flags: 0 }).unwrap();

    let d: RemoteStoragePoolDefineXmlRet =
        call(&c, P::StoragePoolDefineXml, &RemoteStoragePoolDefineXmlArgs { xml: POOL2.into(), flags: 0 }).unwrap();
    let n: RemoteConnectNumOfDefinedStoragePoolsRet = call0(&c, P::ConnectNumOfDefinedStoragePools).unwrap();
    assert_eq!(n.num, 1);
    let l: RemoteConnectListDefinedStoragePoolsRet =
        call(&c, P::ConnectListDefinedStoragePools, &RemoteConnectListDefinedStoragePoolsArgs { maxnames: 5 }).unwrap();
    assert_eq!(l.names, ["p2"]);
    call_void(&c, P::StoragePoolBuild, &RemoteStoragePoolBuildArgs { pool: d.pool.clone(), flags: 0 }).unwrap();
    call_void(&c, P::StoragePoolCreate, &RemoteStoragePoolCreateArgs { pool: d.pool.clone(), flags: 0 }).unwrap();
    let n: RemoteConnectNumOfStoragePoolsRet = call0(&c, P::ConnectNumOfStoragePools).unwrap();
    assert_eq!(n.num, 2);
    let l: RemoteConnectListStoragePoolsRet =
        call(&c, P::ConnectListStoragePools, &RemoteConnectListStoragePoolsArgs { maxnames: 5 }).unwrap();
    assert_eq!(l.names.len(), 2);
    let all: RemoteConnectListAllStoragePoolsRet =
        call(&c, P::ConnectListAllStoragePools, &RemoteConnectListAllStoragePoolsArgs { need_results: 1, flags: 0 }).unwrap();
    assert_eq!((all.ret, all.pools.len()), (2, 2));
    call_void(&c, P::StoragePoolDestroy, &RemoteStoragePoolDestroyArgs { pool: d.pool.clone() }).unwrap();
    call_void(&c, P::StoragePoolDelete, &RemoteStoragePoolDeleteArgs { pool: d.pool.clone(), flags: 0 }).unwrap();
    call_void(&c, P::StoragePoolUndefine, &RemoteStoragePoolUndefineArgs { pool: d.pool }).unwrap();
    let t: RemoteStoragePoolCreateXmlRet =
        call(&c, P::StoragePoolCreateXml, &RemoteStoragePoolCreateXmlArgs { xml: POOL2.into(), flags: 0 }).unwrap();
    assert_eq!(t.pool.name, "p2");

    let r = call::<_, RemoteStoragePoolLookupByNameRet>(
        &c,
        P::StoragePoolLookupByName,
        &RemoteStoragePoolLookupByNameArgs { name: "nope".into() },
    );
    assert_err(r, ErrorCode::NoStoragePool, "nope");
    let r =
        call::<_, RemoteConnectListStoragePoolsRet>(&c, P::ConnectListStoragePools, &RemoteConnectListStoragePoolsArgs { maxnames: 16385 });
    assert_err(r, ErrorCode::Rpc, "maxnames > REMOTE_STORAGE_POOL_LIST_MAX");
    let s: RemoteConnectFindStoragePoolSourcesRet = call(
        &c,
        P::ConnectFindStoragePoolSources,
        &RemoteConnectFindStoragePoolSourcesArgs {
            r#type: "netfs".into(),
            src_spec: Some("<source><host name='nfs1'/></source>".into()),
            flags: 0,
        },
    )
    .unwrap();
    assert!(s.xml.contains("<host name='nfs1'/>"), "{}", s.xml);
    let r = call::<_, RemoteConnectFindStoragePoolSourcesRet>(
        &c,
        P::ConnectFindStoragePoolSources,
        &RemoteConnectFindStoragePoolSourcesArgs { r#type: "netfs".into(), src_spec: None, flags: 0 },
    );
    assert_err(r, ErrorCode::InvalidArg, "hostname must be specified");
}

#[test]
fn volumes() {
    let c = open();
    let pool = default_pool(&c);
    let v: RemoteStorageVolCreateXmlRet =
        call(&c, P::StorageVolCreateXml, &RemoteStorageVolCreateXmlArgs { pool: pool.clone(), xml: VOL.into(), flags: 0 }).unwrap();
    assert_eq!((v.vol.pool.as_str(), v.vol.name.as_str()), ("default-pool", "v1.img"));
    let v2: RemoteStorageVolCreateXmlFromRet = call(
        &c,
        P::StorageVolCreateXmlFrom,
        &RemoteStorageVolCreateXmlFromArgs { pool: pool.clone(), xml: VOL2.into(), clonevol: v.vol.clone(), flags: 0 },
    )
    .unwrap();
    let n: RemoteStoragePoolNumOfVolumesRet =
        call(&c, P::StoragePoolNumOfVolumes, &RemoteStoragePoolNumOfVolumesArgs { pool: pool.clone() }).unwrap();
    assert_eq!(n.num, 2);
    let l: RemoteStoragePoolListVolumesRet =
        call(&c, P::StoragePoolListVolumes, &RemoteStoragePoolListVolumesArgs { pool: pool.clone(), maxnames: 1 }).unwrap();
    assert_eq!(l.names, ["v1.img"]);
    let r = call::<_, RemoteStoragePoolListVolumesRet>(
        &c,
        P::StoragePoolListVolumes,
        &RemoteStoragePoolListVolumesArgs { pool: pool.clone(), maxnames: -3 },
    );
    assert_err(r, ErrorCode::Rpc, "maxnames must be non-negative");
    let all: RemoteStoragePoolListAllVolumesRet =
        call(&c, P::StoragePoolListAllVolumes, &RemoteStoragePoolListAllVolumesArgs { pool: pool.clone(), need_results: 0, flags: 0 })
            .unwrap();
    assert_eq!((all.ret, all.vols.len()), (2, 0));

    let path: RemoteStorageVolGetPathRet = call(&c, P::StorageVolGetPath, &RemoteStorageVolGetPathArgs { vol: v.vol.clone() }).unwrap();
    assert_eq!(path.name, "/default-pool/v1.img");
    let by_path: RemoteStorageVolLookupByPathRet =
        call(&c, P::StorageVolLookupByPath, &RemoteStorageVolLookupByPathArgs { path: path.name.clone() }).unwrap();
    assert_eq!(by_path.vol, v.vol);
    let by_key: RemoteStorageVolLookupByKeyRet =
        call(&c, P::StorageVolLookupByKey, &RemoteStorageVolLookupByKeyArgs { key: v.vol.key.clone() }).unwrap();
    assert_eq!(by_key.vol, v.vol);
    let by_name: RemoteStorageVolLookupByNameRet =
        call(&c, P::StorageVolLookupByName, &RemoteStorageVolLookupByNameArgs { pool: pool.clone(), name: "v2.img".into() }).unwrap();
    assert_eq!(by_name.vol, v2.vol);
    let owner: RemoteStoragePoolLookupByVolumeRet =
        call(&c, P::StoragePoolLookupByVolume, &RemoteStoragePoolLookupByVolumeArgs { vol: v.vol.clone() }).unwrap();
    assert_eq!(owner.pool, pool);
    let info: RemoteStorageVolGetInfoRet = call(&c, P::StorageVolGetInfo, &RemoteStorageVolGetInfoArgs { vol: v.vol.clone() }).unwrap();
    assert_eq!((info.r#type, info.capacity), (0, 1 << 20));
    // libvirt's test driver has no virStorageVolGetInfoFlags either.
    let r = call::<_, RemoteStorageVolGetInfoFlagsRet>(
        &c,
        P::StorageVolGetInfoFlags,
        &RemoteStorageVolGetInfoFlagsArgs { vol: v.vol.clone(), flags: 0 },
    );
    assert_err(r, ErrorCode::NoSupport, "virStorageVolGetInfoFlags");
    let xml: RemoteStorageVolGetXmlDescRet =
        call(&c, P::StorageVolGetXmlDesc, &RemoteStorageVolGetXmlDescArgs { vol: v.vol.clone(), flags: 0 }).unwrap();
    assert!(xml.xml.contains("<name>v1.img</name>"));
    call_void(&c, P::StorageVolResize, &RemoteStorageVolResizeArgs { vol: v.vol.clone(), capacity: 2 << 20, flags: 0 }).unwrap();
    call_void(&c, P::StorageVolWipe, &RemoteStorageVolWipeArgs { vol: v.vol.clone(), flags: 0 }).unwrap();
    call_void(&c, P::StorageVolDelete, &RemoteStorageVolDeleteArgs { vol: v.vol.clone(), flags: 0 }).unwrap();
    let r =
        call::<_, RemoteStorageVolLookupByPathRet>(&c, P::StorageVolLookupByPath, &RemoteStorageVolLookupByPathArgs { path: path.name });
    assert_err(r, ErrorCode::NoStorageVol, "no storage vol with matching path");
    let r = call_void(&c, P::StorageVolWipePattern, &RemoteStorageVolWipePatternArgs { vol: v2.vol, algorithm: 0, flags: 0 });
    assert_err(r, ErrorCode::NoSupport, "virStorageVolWipePattern");
}
