//! Storage pools and volumes (`virStorageDriver`).

use crate::conn::TestConn;
use crate::state::State;
use oxvirt::driver::{check_flags, StorageDriver};
use oxvirt::event::object_lifecycle as ol;
use oxvirt::stream::StreamDriver;
use oxvirt::*;
use oxvirt_conf::storage::{PoolDef, VolDef, VolParseFlags};
use oxvirt_util::uuid::{self, Uuid};
use std::collections::HashMap;

const D: ErrorDomain = ErrorDomain::Test;
/// Capacity every test pool reports: 100 GiB.
const POOL_CAPACITY: u64 = 100 * 1024 * 1024 * 1024;

/// One pool with its volumes.
#[derive(Debug, Clone)]
pub(crate) struct PoolObj {
    /// Definition (capacity/allocation/available are kept current).
    pub def: PoolDef,
    /// Running.
    pub active: bool,
    /// Has a persistent configuration.
    pub persistent: bool,
    /// Autostart flag.
    pub autostart: bool,
    /// Volumes, in creation order.
    pub vols: Vec<VolDef>,
    /// Contents written by `virStorageVolUpload`, by volume name; bytes past the end
    /// (up to the capacity) read as zeros.
    pub data: HashMap<String, Vec<u8>>,
}

impl PoolObj {
    /// A pool with libvirt's test defaults (`testStoragePoolObjSetDefaults`).
    pub(crate) fn new(mut def: PoolDef) -> PoolObj {
        def.capacity = POOL_CAPACITY;
        def.allocation = 0;
        def.available = POOL_CAPACITY;
        PoolObj { def, active: false, persistent: false, autostart: false, vols: Vec::new(), data: HashMap::new() }
    }

    fn pref(&self) -> StoragePoolRef {
        StoragePoolRef { name: self.def.name.clone(), uuid: self.def.uuid }
    }

    fn target_path(&self) -> String {
        self.def.target.as_ref().map(|t| t.path.clone()).unwrap_or_default()
    }

    /// Add a volume, filling in path and key like libvirt, and account for it.
    pub(crate) fn add_vol(&mut self, mut v: VolDef, force_path: bool) {
        if force_path || v.target.path.is_none() {
            v.target.path = Some(format!("{}/{}", self.target_path(), v.name));
        }
        if force_path || v.key.is_none() {
            v.key = v.target.path.clone();
        }
        self.def.allocation += v.allocation;
        self.def.available = self.def.capacity.saturating_sub(self.def.allocation);
        self.vols.push(v);
    }

    fn vref(&self, v: &VolDef) -> StorageVolRef {
        StorageVolRef { pool: self.def.name.clone(), name: v.name.clone(), key: v.key.clone().unwrap_or_default() }
    }

    fn vol_type(&self) -> StorageVolType {
        match self.def.pool_type.as_str() {
            "dir" | "fs" | "netfs" | "vstorage" => StorageVolType::File,
            "rbd" | "sheepdog" | "gluster" => StorageVolType::Network,
            _ => StorageVolType::Block,
        }
    }
}

fn parse_pool(xml: &str) -> Result<PoolDef> {
    PoolDef::parse(xml).map_err(|e| e.into_vir(ErrorDomain::Storage))
}

fn event(p: &PoolObj, ev: i32) -> Event {
    Event::StoragePool { pool: p.pref(), event_id: 0, event: ev, detail: 0 }
}

fn no_vol(name: &str) -> Error {
    Error::new(ErrorCode::NoStorageVol, D, format!("no storage vol with matching name '{name}'"))
}

impl State {
    fn pool_index(&self, p: &StoragePoolRef) -> Result<usize> {
        self.pools.iter().position(|o| o.def.uuid == p.uuid).ok_or_else(|| {
            Error::new(ErrorCode::NoStoragePool, D, format!("no storage pool with matching uuid '{}' ({})", uuid::format(&p.uuid), p.name))
        })
    }

    fn pool_by_name(&self, name: &str) -> Result<usize> {
        self.pools
            .iter()
            .position(|o| o.def.name == name)
            .ok_or_else(|| Error::new(ErrorCode::NoStoragePool, D, format!("no storage pool with matching name '{name}'")))
    }

    fn active_pool(&self, name: &str) -> Result<usize> {
        let i = self.pool_by_name(name)?;
        if !self.pools[i].active {
            return Err(Error::new(ErrorCode::OperationInvalid, D, format!("storage pool '{name}' is not active")));
        }
        Ok(i)
    }

    fn inactive_pool(&self, name: &str) -> Result<usize> {
        let i = self.pool_by_name(name)?;
        if self.pools[i].active {
            return Err(Error::new(ErrorCode::OperationInvalid, D, format!("storage pool '{name}' is active")));
        }
        Ok(i)
    }

    /// Add a pool as `virStoragePoolObjListAdd` does (no redefinition of active pools).
    pub(crate) fn pool_add(&mut self, def: PoolDef) -> Result<usize> {
        if let Some(i) = self.pools.iter().position(|o| o.def.uuid == def.uuid) {
            let o = &self.pools[i];
            if o.def.name != def.name {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Storage,
                    format!("pool '{}' is already defined with uuid {}", o.def.name, uuid::format(&o.def.uuid)),
                ));
            }
            if o.active {
                return Err(Error::new(
                    ErrorCode::OperationInvalid,
                    ErrorDomain::Storage,
                    format!("storage pool '{}' is already active", o.def.name),
                ));
            }
            let vols = std::mem::take(&mut self.pools[i].vols);
            let data = std::mem::take(&mut self.pools[i].data);
            let mut n = PoolObj::new(def);
            n.persistent = self.pools[i].persistent;
            n.autostart = self.pools[i].autostart;
            for v in vols {
                n.add_vol(v, false);
            }
            n.data = data;
            self.pools[i] = n;
            return Ok(i);
        }
        if let Some(o) = self.pools.iter().find(|o| o.def.name == def.name) {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Storage,
                format!("pool '{}' already exists with uuid {}", def.name, uuid::format(&o.def.uuid)),
            ));
        }
        self.pools.push(PoolObj::new(def));
        Ok(self.pools.len() - 1)
    }

    pub(crate) fn vol_pos(&self, v: &StorageVolRef) -> Result<(usize, usize)> {
        let p = self.active_pool(&v.pool)?;
        let j = self.pools[p].vols.iter().position(|x| x.name == v.name).ok_or_else(|| no_vol(&v.name))?;
        Ok((p, j))
    }
}

fn filter(o: &PoolObj, flags: u32) -> bool {
    use ListPoolsFlags as L;
    let f = L::from_bits_truncate(flags);
    let pair = |a: L, b: L, v: bool| !(f.contains(a) ^ f.contains(b)) || f.contains(a) == v;
    if !(pair(L::ACTIVE, L::INACTIVE, o.active)
        && pair(L::PERSISTENT, L::TRANSIENT, o.persistent)
        && pair(L::AUTOSTART, L::NO_AUTOSTART, o.autostart))
    {
        return false;
    }
    let types = flags & L::TYPES.bits();
    if types == 0 {
        return true;
    }
    // Bit order of VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE> from 1 << 6.
    const ORDER: [&str; 14] = [
        "dir",
        "fs",
        "netfs",
        "logical",
        "disk",
        "iscsi",
        "scsi",
        "mpath",
        "rbd",
        "sheepdog",
        "gluster",
        "zfs",
        "vstorage",
        "iscsi-direct",
    ];
    ORDER.iter().position(|t| *t == o.def.pool_type).is_some_and(|i| types & (1 << (6 + i)) != 0)
}

impl StorageDriver for TestConn {
    fn list_all_pools(&self, flags: u32) -> Result<Vec<StoragePoolRef>> {
        check_flags(flags, 0x000F_FFFF, "testConnectListAllStoragePools", D)?;
        self.with(|st| Ok(st.pools.iter().filter(|o| filter(o, flags)).map(PoolObj::pref).collect()))
    }

    fn pool_lookup_by_name(&self, name: &str) -> Result<StoragePoolRef> {
        self.with(|st| Ok(st.pools[st.pool_by_name(name)?].pref()))
    }

    fn pool_lookup_by_uuid(&self, u: &Uuid) -> Result<StoragePoolRef> {
        self.with(|st| {
            st.pools
                .iter()
                .find(|o| o.def.uuid == *u)
                .map(PoolObj::pref)
                .ok_or_else(|| Error::new(ErrorCode::NoStoragePool, D, format!("no storage pool with matching uuid '{}'", uuid::format(u))))
        })
    }

    fn pool_define_xml(&self, xml: &str, flags: u32) -> Result<StoragePoolRef> {
        check_flags(flags, 1, "testStoragePoolDefineXML", D)?;
        let def = parse_pool(xml)?;
        self.with(|st| {
            let i = st.pool_add(def)?;
            st.pools[i].persistent = true;
            let ev = event(&st.pools[i], ol::DEFINED);
            let r = st.pools[i].pref();
            st.emit(ev);
            Ok(r)
        })
    }

    fn pool_create_xml(&self, xml: &str, flags: u32) -> Result<StoragePoolRef> {
        check_flags(flags, 0, "testStoragePoolCreateXML", D)?;
        let def = parse_pool(xml)?;
        self.with(|st| {
            if let Some(o) = st.pools.iter().find(|o| o.def.uuid == def.uuid || o.def.name == def.name) {
                return Err(Error::new(ErrorCode::StoragePoolBuilt, D, format!("storage pool '{}' is already defined", o.def.name)));
            }
            let i = st.pool_add(def)?;
            st.pools[i].active = true;
            let ev = event(&st.pools[i], ol::STARTED);
            let r = st.pools[i].pref();
            st.emit(ev);
            Ok(r)
        })
    }

    fn pool_build(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testStoragePoolBuild", D)?;
        self.with(|st| {
            let i = st.inactive_pool(&p.name)?;
            let ev = event(&st.pools[i], ol::POOL_CREATED);
            st.emit(ev);
            Ok(())
        })
    }

    fn pool_undefine(&self, p: &StoragePoolRef) -> Result<()> {
        self.with(|st| {
            let i = st.inactive_pool(&p.name)?;
            let ev = event(&st.pools[i], ol::UNDEFINED);
            st.pools.remove(i);
            st.emit(ev);
            Ok(())
        })
    }

    fn pool_create(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testStoragePoolCreate", D)?;
        self.with(|st| {
            let i = st.inactive_pool(&p.name)?;
            st.pools[i].active = true;
            let ev = event(&st.pools[i], ol::STARTED);
            st.emit(ev);
            Ok(())
        })
    }

    fn pool_destroy(&self, p: &StoragePoolRef) -> Result<()> {
        self.with(|st| {
            let i = st.active_pool(&p.name)?;
            st.pools[i].active = false;
            let ev = event(&st.pools[i], ol::STOPPED);
            if !st.pools[i].persistent {
                st.pools.remove(i);
            }
            st.emit(ev);
            Ok(())
        })
    }

    fn pool_delete(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testStoragePoolDelete", D)?;
        self.with(|st| {
            let i = st.inactive_pool(&p.name)?;
            let ev = event(&st.pools[i], ol::POOL_DELETED);
            st.emit(ev);
            Ok(())
        })
    }

    fn pool_refresh(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testStoragePoolRefresh", D)?;
        self.with(|st| {
            let i = st.active_pool(&p.name)?;
            let ev = Event::StoragePool { pool: st.pools[i].pref(), event_id: 1, event: 0, detail: 0 };
            st.emit(ev);
            Ok(())
        })
    }

    fn pool_get_info(&self, p: &StoragePoolRef) -> Result<StoragePoolInfo> {
        self.with(|st| {
            let o = &st.pools[st.pool_by_name(&p.name)?];
            Ok(StoragePoolInfo {
                state: if o.active { StoragePoolState::Running } else { StoragePoolState::Inactive },
                capacity: o.def.capacity,
                allocation: o.def.allocation,
                available: o.def.available,
            })
        })
    }

    fn pool_get_xml_desc(&self, p: &StoragePoolRef, flags: u32) -> Result<String> {
        check_flags(flags, 0, "testStoragePoolGetXMLDesc", D)?;
        self.with(|st| Ok(st.pools[st.pool_by_name(&p.name)?].def.format()))
    }

    fn pool_get_autostart(&self, p: &StoragePoolRef) -> Result<bool> {
        self.with(|st| {
            let o = &st.pools[st.pool_by_name(&p.name)?];
            Ok(o.persistent && o.autostart)
        })
    }

    fn pool_set_autostart(&self, p: &StoragePoolRef, on: bool) -> Result<()> {
        self.with(|st| {
            let i = st.pool_by_name(&p.name)?;
            if !st.pools[i].persistent {
                return Err(Error::new(ErrorCode::InvalidArg, D, "pool has no config file"));
            }
            st.pools[i].autostart = on;
            Ok(())
        })
    }

    fn pool_is_active(&self, p: &StoragePoolRef) -> Result<bool> {
        self.with(|st| Ok(st.pools[st.pool_index(p)?].active))
    }

    fn pool_is_persistent(&self, p: &StoragePoolRef) -> Result<bool> {
        self.with(|st| Ok(st.pools[st.pool_index(p)?].persistent))
    }

    fn find_pool_sources(&self, typ: &str, spec: Option<&str>, flags: u32) -> Result<String> {
        check_flags(flags, 0, "testConnectFindStoragePoolSources", D)?;
        match typ {
            "logical" => Ok("<sources>\n  <source>\n    <device path='/dev/sda20'/>\n    <name>testvg1</name>\n    <format type='lvm2'/>\n  </source>\n  <source>\n    <device path='/dev/sda21'/>\n    <name>testvg2</name>\n    <format type='lvm2'/>\n  </source>\n</sources>\n".into()),
            "netfs" => {
                let host = spec
                    .and_then(|s| roxmltree::Document::parse(s).ok().and_then(|d| d.descendants().find(|n| n.has_tag_name("host")).and_then(|h| h.attribute("name").map(str::to_string))))
                    .ok_or_else(|| Error::new(ErrorCode::InvalidArg, D, "hostname must be specified for netfs sources"))?;
                Ok(format!("<sources>\n  <source>\n    <host name='{host}'/>\n    <dir path='/testshare'/>\n    <format type='nfs'/>\n  </source>\n</sources>\n"))
            }
            t if oxvirt_conf::storage::POOL_TYPES.contains(&t) => Err(Error::new(ErrorCode::NoSupport, D, format!("pool type '{t}' does not support source discovery"))),
            t => Err(Error::internal(D, format!("unknown storage pool type {t}"))),
        }
    }

    fn pool_list_all_volumes(&self, p: &StoragePoolRef, flags: u32) -> Result<Vec<StorageVolRef>> {
        check_flags(flags, 0, "testStoragePoolListAllVolumes", D)?;
        self.with(|st| {
            let o = &st.pools[st.pool_index(p)?];
            if !o.active {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "storage pool is not active"));
            }
            Ok(o.vols.iter().map(|v| o.vref(v)).collect())
        })
    }

    fn vol_lookup_by_name(&self, p: &StoragePoolRef, name: &str) -> Result<StorageVolRef> {
        self.with(|st| {
            let o = &st.pools[st.active_pool(&p.name)?];
            o.vols.iter().find(|v| v.name == name).map(|v| o.vref(v)).ok_or_else(|| no_vol(name))
        })
    }

    fn vol_lookup_by_key(&self, key: &str) -> Result<StorageVolRef> {
        self.with(|st| {
            st.pools
                .iter()
                .filter(|o| o.active)
                .find_map(|o| o.vols.iter().find(|v| v.key.as_deref() == Some(key)).map(|v| o.vref(v)))
                .ok_or_else(|| Error::new(ErrorCode::NoStorageVol, D, format!("no storage vol with matching key '{key}'")))
        })
    }

    fn vol_lookup_by_path(&self, path: &str) -> Result<StorageVolRef> {
        self.with(|st| {
            st.pools
                .iter()
                .filter(|o| o.active)
                .find_map(|o| o.vols.iter().find(|v| v.target.path.as_deref() == Some(path)).map(|v| o.vref(v)))
                .ok_or_else(|| Error::new(ErrorCode::NoStorageVol, D, format!("no storage vol with matching path '{path}'")))
        })
    }

    fn vol_create_xml(&self, p: &StoragePoolRef, xml: &str, flags: u32) -> Result<StorageVolRef> {
        check_flags(flags, VolCreateFlags::VALIDATE.bits(), "testStorageVolCreateXML", D)?;
        self.with(|st| {
            let i = st.active_pool(&p.name)?;
            let o = &mut st.pools[i];
            let v = VolDef::parse(xml, &o.def, VolParseFlags::default()).map_err(|e| e.into_vir(ErrorDomain::Storage))?;
            create_vol(o, v)
        })
    }

    fn vol_create_xml_from(&self, p: &StoragePoolRef, xml: &str, clone_from: &StorageVolRef, flags: u32) -> Result<StorageVolRef> {
        check_flags(flags, VolCreateFlags::VALIDATE.bits(), "testStorageVolCreateXMLFrom", D)?;
        self.with(|st| {
            let i = st.active_pool(&p.name)?;
            let o = &mut st.pools[i];
            let v = VolDef::parse(xml, &o.def, VolParseFlags::default()).map_err(|e| e.into_vir(ErrorDomain::Storage))?;
            if o.vols.iter().any(|x| x.name == v.name) {
                return Err(Error::new(ErrorCode::OperationFailed, D, "storage vol already exists"));
            }
            if !o.vols.iter().any(|x| x.name == clone_from.name) {
                return Err(no_vol(&clone_from.name));
            }
            create_vol(o, v)
        })
    }

    fn vol_delete(&self, v: &StorageVolRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testStorageVolDelete", D)?;
        self.with(|st| {
            let (p, j) = st.vol_pos(v)?;
            let o = &mut st.pools[p];
            let vol = o.vols.remove(j);
            o.data.remove(&vol.name);
            o.def.allocation = o.def.allocation.saturating_sub(vol.allocation);
            o.def.available = o.def.capacity.saturating_sub(o.def.allocation);
            Ok(())
        })
    }

    fn vol_wipe(&self, v: &StorageVolRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testStorageVolWipe", D)?;
        self.with(|st| {
            let (p, j) = st.vol_pos(v)?;
            let o = &mut st.pools[p];
            let name = o.vols[j].name.clone();
            o.data.remove(&name);
            Ok(())
        })
    }

    fn vol_get_info(&self, v: &StorageVolRef) -> Result<StorageVolInfo> {
        self.with(|st| {
            let (p, j) = st.vol_pos(v)?;
            let o = &st.pools[p];
            Ok(StorageVolInfo { vol_type: o.vol_type(), capacity: o.vols[j].capacity, allocation: o.vols[j].allocation })
        })
    }

    fn vol_get_xml_desc(&self, v: &StorageVolRef, flags: u32) -> Result<String> {
        check_flags(flags, 0, "testStorageVolGetXMLDesc", D)?;
        self.with(|st| {
            let (p, j) = st.vol_pos(v)?;
            Ok(st.pools[p].vols[j].format())
        })
    }

    fn vol_get_path(&self, v: &StorageVolRef) -> Result<String> {
        self.with(|st| {
            let (p, j) = st.vol_pos(v)?;
            Ok(st.pools[p].vols[j].target.path.clone().unwrap_or_default())
        })
    }

    /// Resize as libvirt's storage driver does (`storageVolResize`); libvirt 9.0's test
    /// driver has no resize at all, oxvirt's does (see `docs/differences.md`).
    fn vol_resize(&self, v: &StorageVolRef, capacity: u64, flags: u32) -> Result<()> {
        check_flags(flags, VolResizeFlags::all().bits(), "testStorageVolResize", D)?;
        let f = VolResizeFlags::from_bits_truncate(flags);
        let invalid = |m: &str| Error::new(ErrorCode::InvalidArg, ErrorDomain::Storage, m);
        self.with(|st| {
            let (p, j) = st.vol_pos(v)?;
            let o = &mut st.pools[p];
            let vol = &o.vols[j];
            let new_cap = match (f.contains(VolResizeFlags::DELTA), f.contains(VolResizeFlags::SHRINK)) {
                (true, true) => vol.capacity - capacity.min(vol.capacity),
                (true, false) => vol.capacity.saturating_add(capacity),
                (false, _) => capacity,
            };
            if new_cap < vol.allocation {
                return Err(invalid("can't shrink capacity below existing allocation"));
            }
            if new_cap < vol.capacity && !f.contains(VolResizeFlags::SHRINK) {
                return Err(invalid("Can't shrink capacity below current capacity unless shrink flag explicitly specified"));
            }
            let grow = if f.contains(VolResizeFlags::ALLOCATE) { new_cap - vol.allocation } else { 0 };
            if grow > o.def.available {
                return Err(Error::new(ErrorCode::OperationFailed, ErrorDomain::Storage, "Not enough space left in storage pool"));
            }
            let vol = &mut o.vols[j];
            vol.capacity = new_cap;
            if f.contains(VolResizeFlags::ALLOCATE) {
                vol.allocation = new_cap;
                o.def.allocation += grow;
                o.def.available -= grow;
            }
            Ok(())
        })
    }

    /// libvirt 9.0's test driver has no upload; oxvirt's keeps the bytes in memory
    /// (see `docs/differences.md` and [`crate::volstream`]).
    fn vol_upload(&self, v: &StorageVolRef, offset: u64, length: u64, flags: u32) -> Result<Box<dyn StreamDriver>> {
        check_flags(flags, VolUploadFlags::SPARSE_STREAM.bits(), "testStorageVolUpload", D)?;
        self.with(|st| st.vol_pos(v).map(|_| ()))?;
        Ok(Box::new(crate::volstream::Upload::new(self.drv.clone(), v.clone(), offset, length)))
    }

    /// libvirt 9.0's test driver has no download; see [`TestConn::vol_upload`].
    fn vol_download(&self, v: &StorageVolRef, offset: u64, length: u64, flags: u32) -> Result<Box<dyn StreamDriver>> {
        check_flags(flags, VolDownloadFlags::SPARSE_STREAM.bits(), "testStorageVolDownload", D)?;
        let size = self.with(|st| {
            let (p, j) = st.vol_pos(v)?;
            Ok(crate::volstream::vol_size(&st.pools[p], j))
        })?;
        if offset > size {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Storage,
                format!("offset {offset} is beyond the end of volume '{}' ({size} bytes)", v.name),
            ));
        }
        let end = if length == 0 { size } else { offset.saturating_add(length).min(size) };
        let sparse = flags & VolDownloadFlags::SPARSE_STREAM.bits() != 0;
        Ok(Box::new(crate::volstream::Download::new(self.drv.clone(), v.clone(), offset, end, sparse)))
    }
}

fn create_vol(o: &mut PoolObj, v: VolDef) -> Result<StorageVolRef> {
    if o.vols.iter().any(|x| x.name == v.name) {
        return Err(Error::new(ErrorCode::OperationFailed, D, "storage vol already exists"));
    }
    if o.def.allocation + v.allocation > o.def.capacity {
        return Err(Error::internal(D, format!("Not enough free space in pool for volume '{}'", v.name)));
    }
    o.add_vol(v, true);
    let last = o.vols.last().ok_or_else(|| Error::internal(D, "volume vanished"))?;
    Ok(o.vref(last))
}
