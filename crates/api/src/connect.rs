//! [`Connect`] and the object handles (`Domain`, `Network`, ...). Handles are cheap
//! values naming an object; every call goes to the driver serving the connection.

use crate::driver::{self, ConnectDrivers, Probe};
use crate::event::{Event, EventClass};
use crate::flags::*;
use crate::stats::*;
use crate::stream::Stream;
use crate::types::*;
use crate::uri::{self, Uri};
use crate::{Error, Result};
use oxvirt_util::uuid::{self as uuidfmt, Uuid};
use oxvirt_util::{ErrorCode, ErrorDomain};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Weak};

mod tune;

struct ConnInner {
    uri: Uri,
    read_only: bool,
    drivers: ConnectDrivers,
    callbacks: Mutex<Vec<i32>>,
}

impl Drop for ConnInner {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut *self.callbacks.lock().unwrap_or_else(|p| p.into_inner()));
        for id in ids {
            let _ = self.drivers.hypervisor.event_deregister(id);
        }
        self.drivers.hypervisor.close();
    }
}

/// An open connection (`virConnectPtr`). Clones share the connection; it closes when
/// the last clone and the last handle made from it are dropped.
#[derive(Clone)]
pub struct Connect {
    inner: Arc<ConnInner>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect").field("uri", &self.inner.uri.to_string()).field("read_only", &self.inner.read_only).finish()
    }
}

/// Stands in for a driver kind the connection lacks: every method keeps its
/// default body, failing with `VIR_ERR_NO_SUPPORT`.
struct NoDriver;

impl driver::NetworkDriver for NoDriver {}
impl driver::StorageDriver for NoDriver {}
impl driver::SecretDriver for NoDriver {}
impl driver::NWFilterDriver for NoDriver {}
impl driver::InterfaceDriver for NoDriver {}
impl driver::NodeDeviceDriver for NoDriver {}

impl Connect {
    /// `virConnectOpen`: open `uri` read-write. `None` uses `LIBVIRT_DEFAULT_URI`, the
    /// client config's `uri_default`, then the first driver that accepts an empty URI.
    pub fn open(uri: Option<&str>) -> Result<Connect> {
        Self::open_flags(uri, OpenFlags::empty())
    }

    /// `virConnectOpenReadOnly`.
    pub fn open_read_only(uri: Option<&str>) -> Result<Connect> {
        Self::open_flags(uri, OpenFlags::READ_ONLY)
    }

    /// `virConnectOpenAuth` without credentials: open with `flags`.
    pub fn open_flags(uri: Option<&str>, flags: OpenFlags) -> Result<Connect> {
        let given = match uri {
            Some(u) if !u.is_empty() => Some(u.to_string()),
            _ => uri::default_uri(),
        };
        let Some(mut text) = given else {
            return Err(Error::new(ErrorCode::NoConnect, ErrorDomain::None, "no default URI; pass one with -c or set LIBVIRT_DEFAULT_URI"));
        };
        if !flags.contains(OpenFlags::NO_ALIASES) && std::env::var_os("LIBVIRT_AUTOCONFIG").is_none() {
            let (aliases, _) = uri::client_config();
            if let Some(resolved) = uri::resolve_alias(&text, &aliases) {
                text = resolved;
            }
        }
        let parsed = Uri::parse(&text)?;
        for d in driver::registered() {
            if d.probe(&parsed) == Probe::Accept {
                let mut drivers = d.open(&parsed, flags.bits())?;
                if d.uses_shared_drivers() {
                    driver::fill_shared(&mut drivers);
                }
                return Ok(Connect {
                    inner: Arc::new(ConnInner {
                        uri: parsed,
                        read_only: flags.contains(OpenFlags::READ_ONLY),
                        drivers,
                        callbacks: Mutex::new(Vec::new()),
                    }),
                });
            }
        }
        Err(Error::new(ErrorCode::NoConnect, ErrorDomain::None, text))
    }

    /// Build a connection directly from driver objects (used by drivers' own tests and
    /// by the daemon, which resolves URIs itself).
    pub fn from_drivers(uri: Uri, read_only: bool, drivers: ConnectDrivers) -> Connect {
        Connect { inner: Arc::new(ConnInner { uri, read_only, drivers, callbacks: Mutex::new(Vec::new()) }) }
    }

    /// The drivers behind this connection.
    pub fn drivers(&self) -> &ConnectDrivers {
        &self.inner.drivers
    }

    fn hv(&self) -> &dyn driver::HypervisorDriver {
        self.inner.drivers.hypervisor.as_ref()
    }
    // A connection without a driver of some kind answers every call of that kind
    // with `VIR_ERR_NO_SUPPORT` naming the public function, as libvirt does when the
    // driver table has no such driver.
    fn net(&self) -> Result<&dyn driver::NetworkDriver> {
        Ok(self.inner.drivers.network.as_deref().unwrap_or(&NoDriver))
    }
    fn stor(&self) -> Result<&dyn driver::StorageDriver> {
        Ok(self.inner.drivers.storage.as_deref().unwrap_or(&NoDriver))
    }
    fn sec(&self) -> Result<&dyn driver::SecretDriver> {
        Ok(self.inner.drivers.secret.as_deref().unwrap_or(&NoDriver))
    }
    fn nwf(&self) -> Result<&dyn driver::NWFilterDriver> {
        Ok(self.inner.drivers.nwfilter.as_deref().unwrap_or(&NoDriver))
    }
    fn iface(&self) -> Result<&dyn driver::InterfaceDriver> {
        Ok(self.inner.drivers.interface.as_deref().unwrap_or(&NoDriver))
    }
    fn nodedev(&self) -> Result<&dyn driver::NodeDeviceDriver> {
        Ok(self.inner.drivers.nodedev.as_deref().unwrap_or(&NoDriver))
    }

    /// Fail with `VIR_ERR_OPERATION_DENIED` on a read-only connection.
    pub fn check_rw(&self, api: &str) -> Result<()> {
        if self.inner.read_only {
            return Err(Error::new(ErrorCode::OperationDenied, driver::api_error_domain(api), format!("read only access prevents {api}")));
        }
        Ok(())
    }

    /// True when opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// `virConnectGetURI`.
    pub fn uri(&self) -> String {
        self.inner.uri.to_string()
    }

    /// The parsed URI.
    pub fn parsed_uri(&self) -> &Uri {
        &self.inner.uri
    }

    /// `virConnectGetType`.
    pub fn get_type(&self) -> Result<String> {
        self.hv().get_type()
    }
    /// `virConnectGetVersion`.
    pub fn version(&self) -> Result<u64> {
        self.hv().get_version()
    }
    /// `virConnectGetLibVersion`.
    pub fn lib_version(&self) -> u64 {
        LIB_VERSION
    }
    /// `virConnectGetHostname`.
    pub fn hostname(&self) -> Result<String> {
        self.hv().get_hostname()
    }
    /// `virConnectGetCapabilities`.
    pub fn capabilities(&self) -> Result<String> {
        self.hv().get_capabilities()
    }
    /// `virConnectDomainXMLToNative` (refused on read-only connections, as libvirt does).
    pub fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        self.check_rw("virConnectDomainXMLToNative")?;
        self.hv().domain_xml_to_native(format, xml, flags)
    }
    /// `virConnectGetDomainCapabilities` (refused on read-only connections, as libvirt
    /// does).
    pub fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        if self.inner.read_only {
            return Err(Error::new(
                ErrorCode::OperationDenied,
                ErrorDomain::Domain,
                "read only access prevents virConnectGetDomainCapabilities",
            ));
        }
        self.hv().get_domain_capabilities(emulator, arch, machine, virttype, flags)
    }
    /// `virConnectGetMaxVcpus`.
    pub fn max_vcpus(&self, typ: Option<&str>) -> Result<i32> {
        self.hv().get_max_vcpus(typ)
    }
    /// `virNodeGetInfo`.
    pub fn node_info(&self) -> Result<NodeInfo> {
        self.hv().node_get_info()
    }
    /// `virNodeGetFreeMemory`.
    pub fn node_free_memory(&self) -> Result<u64> {
        self.hv().node_get_free_memory()
    }
    /// `virNodeGetCellsFreeMemory`.
    pub fn node_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        self.hv().node_get_cells_free_memory(start, max)
    }
    /// `virNodeGetSecurityModel`.
    pub fn node_security_model(&self) -> Result<SecurityModel> {
        self.hv().node_get_security_model()
    }
    /// `virConnectIsAlive`.
    pub fn is_alive(&self) -> bool {
        self.hv().is_alive()
    }
    /// `virConnectGetSysinfo`.
    pub fn sysinfo(&self, flags: u32) -> Result<String> {
        self.hv().get_sysinfo(flags)
    }

    // information and statistics (qinfo)
    /// `virConnectGetAllDomainStats` (`doms` empty) or `virDomainListGetStats`:
    /// `stats` are [`crate::stats::stats_types`] bits, `flags`
    /// [`crate::stats::stats_flags`].
    pub fn all_domain_stats(&self, doms: &[Domain], stats: u32, flags: u32) -> Result<Vec<DomainStatsRecord>> {
        let refs: Vec<DomainRef> = doms.iter().map(Domain::raw).collect();
        self.hv().get_all_domain_stats(&refs, stats, flags)
    }

    // ---- handles from references (libvirt's virGetDomain & co.) ----

    /// A domain handle for `r` without asking the driver (as libvirt's `virGetDomain`):
    /// the daemon uses this for the `remote_nonnull_domain` a client sends.
    pub fn domain_from_ref(&self, r: DomainRef) -> Domain {
        self.dom(r)
    }
    /// A network handle for `r` without asking the driver.
    pub fn network_from_ref(&self, r: NetworkRef) -> Network {
        self.netw(r)
    }
    /// A storage pool handle for `r` without asking the driver.
    pub fn storage_pool_from_ref(&self, r: StoragePoolRef) -> StoragePool {
        self.pool(r)
    }
    /// A storage volume handle for `r` without asking the driver.
    pub fn storage_vol_from_ref(&self, r: StorageVolRef) -> StorageVol {
        self.vol(r)
    }
    /// A secret handle for `r` without asking the driver.
    pub fn secret_from_ref(&self, r: SecretRef) -> Secret {
        self.secret(r)
    }
    /// A network filter handle for `r` without asking the driver.
    pub fn nwfilter_from_ref(&self, r: NWFilterRef) -> NWFilter {
        self.filter(r)
    }
    /// An interface handle for `r` without asking the driver.
    pub fn interface_from_ref(&self, r: InterfaceRef) -> Interface {
        self.ifc(r)
    }
    /// A node device handle for `r` without asking the driver.
    pub fn node_device_from_ref(&self, r: NodeDeviceRef) -> NodeDevice {
        self.ndev(r)
    }
    /// A snapshot handle for `r` without asking the driver.
    pub fn snapshot_from_ref(&self, r: SnapshotRef) -> DomainSnapshot {
        DomainSnapshot { dom: self.dom(r.domain), name: r.name }
    }

    // ---- domains ----

    fn dom(&self, r: DomainRef) -> Domain {
        Domain { conn: self.clone(), id: Arc::new(AtomicI32::new(r.id)), name: r.name, uuid: r.uuid }
    }

    /// `virConnectListAllDomains`.
    pub fn list_all_domains(&self, flags: ListDomainsFlags) -> Result<Vec<Domain>> {
        Ok(self.hv().list_all_domains(flags.bits())?.into_iter().map(|r| self.dom(r)).collect())
    }
    /// `virConnectNumOfDomains`.
    pub fn num_of_domains(&self) -> Result<i32> {
        self.hv().num_of_domains()
    }
    /// `virConnectNumOfDefinedDomains`.
    pub fn num_of_defined_domains(&self) -> Result<i32> {
        self.hv().num_of_defined_domains()
    }
    /// `virDomainLookupByID`.
    pub fn domain_lookup_by_id(&self, id: i32) -> Result<Domain> {
        Ok(self.dom(self.hv().domain_lookup_by_id(id)?))
    }
    /// `virDomainLookupByName`.
    pub fn domain_lookup_by_name(&self, name: &str) -> Result<Domain> {
        Ok(self.dom(self.hv().domain_lookup_by_name(name)?))
    }
    /// `virDomainLookupByUUID`.
    pub fn domain_lookup_by_uuid(&self, uuid: &Uuid) -> Result<Domain> {
        Ok(self.dom(self.hv().domain_lookup_by_uuid(uuid)?))
    }
    /// `virDomainLookupByUUIDString`.
    pub fn domain_lookup_by_uuid_string(&self, s: &str) -> Result<Domain> {
        let u = uuidfmt::parse(s).ok_or_else(|| {
            Error::raw(ErrorCode::InvalidArg, ErrorDomain::Domain, "uuidstr in virDomainLookupByUUIDString must be a valid UUID")
        })?;
        self.domain_lookup_by_uuid(&u)
    }
    /// `virDomainDefineXMLFlags`.
    pub fn domain_define_xml(&self, xml: &str, flags: DomainDefineFlags) -> Result<Domain> {
        self.check_rw("virDomainDefineXMLFlags")?;
        Ok(self.dom(self.hv().domain_define_xml(xml, flags.bits())?))
    }
    /// `virDomainCreateXML`.
    pub fn domain_create_xml(&self, xml: &str, flags: DomainCreateFlags) -> Result<Domain> {
        self.check_rw("virDomainCreateXML")?;
        Ok(self.dom(self.hv().domain_create_xml(xml, flags.bits())?))
    }
    /// `virDomainRestoreFlags`; without flags and XML, `virDomainRestore`.
    pub fn domain_restore(&self, path: &str, dxml: Option<&str>, flags: DomainSaveRestoreFlags) -> Result<()> {
        self.check_rw(if flags.is_empty() && dxml.is_none() { "virDomainRestore" } else { "virDomainRestoreFlags" })?;
        self.hv().domain_restore(path, dxml, flags.bits())
    }
    /// `virDomainSaveImageGetXMLDesc`.
    pub fn domain_save_image_xml(&self, path: &str, flags: DomainXmlFlags) -> Result<String> {
        self.hv().domain_save_image_get_xml_desc(path, flags.bits())
    }

    /// `virConnectDomainEventRegisterAny` for every domain (`dom` = None) or one domain.
    /// The callback gets the connection's domain handle and the event.
    pub fn domain_event_register_any<F>(&self, dom: Option<&Domain>, event_id: i32, cb: F) -> Result<i32>
    where
        F: Fn(&Domain, &crate::event::DomainEventData) + Send + Sync + 'static,
    {
        if !(0..crate::event::domain_event_id::LAST).contains(&event_id) {
            return Err(Error::invalid_arg(
                ErrorDomain::None,
                format!(
                    "eventID in virConnectDomainEventRegisterAny must be less than {}, but got {event_id}",
                    crate::event::domain_event_id::LAST
                ),
            ));
        }
        let weak: Weak<ConnInner> = Arc::downgrade(&self.inner);
        let filter = dom.map(|d| d.uuid.to_vec());
        let id = self.hv().event_register(
            EventClass::Domain,
            event_id,
            filter,
            Arc::new(move |ev: &Event| {
                if let (Some(inner), Event::Domain { dom, data }) = (weak.upgrade(), ev) {
                    let conn = Connect { inner };
                    let d = conn.dom(dom.clone());
                    cb(&d, data);
                }
            }),
        )?;
        self.track(id);
        Ok(id)
    }

    /// Register for network/pool/nodedev/secret (or raw domain) events; the callback
    /// gets the raw [`Event`].
    pub fn event_register_raw<F>(&self, class: EventClass, event_id: i32, filter: Option<Vec<u8>>, cb: F) -> Result<i32>
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        let id = self.hv().event_register(class, event_id, filter, Arc::new(cb))?;
        self.track(id);
        Ok(id)
    }

    fn track(&self, id: i32) {
        self.inner.callbacks.lock().unwrap_or_else(|p| p.into_inner()).push(id);
    }

    /// `virConnectRegisterCloseCallback`: `cb` gets a `VIR_CONNECT_CLOSE_REASON_*`
    /// (0 error, 1 end of file, 2 keepalive, 3 client) when the connection closes
    /// under the caller (remote connections; local drivers never call it).
    pub fn register_close_callback<F>(&self, cb: F) -> Result<()>
    where
        F: Fn(i32) + Send + Sync + 'static,
    {
        self.hv().connect_register_close_callback(Arc::new(cb))
    }

    /// `virConnectUnregisterCloseCallback`.
    pub fn unregister_close_callback(&self) -> Result<()> {
        self.hv().connect_unregister_close_callback()
    }

    /// `VIR_DRV_FEATURE_FD_PASSING` as libvirt's API layer checks it: an error when
    /// the connection cannot pass descriptors.
    fn check_fd_passing(&self) -> Result<()> {
        if self.hv().supports_fd_passing()? {
            return Ok(());
        }
        Err(Error::raw(ErrorCode::ArgumentUnsupported, ErrorDomain::Domain, "fd passing is not supported by this connection"))
    }

    /// `virDomainCreateXMLWithFiles`: start a transient domain, passing `files` to it.
    pub fn domain_create_xml_with_files(&self, xml: &str, files: Vec<std::os::fd::OwnedFd>, flags: DomainCreateFlags) -> Result<Domain> {
        self.check_rw("virDomainCreateXMLWithFiles")?;
        if !files.is_empty() {
            self.check_fd_passing()?;
        }
        Ok(self.dom(self.hv().domain_create_xml_with_files(xml, files, flags.bits())?))
    }

    /// `virConnectDomainEventDeregisterAny` (and the other object kinds).
    pub fn event_deregister(&self, id: i32) -> Result<()> {
        let mut cbs = self.inner.callbacks.lock().unwrap_or_else(|p| p.into_inner());
        let Some(pos) = cbs.iter().position(|c| *c == id) else {
            return Err(Error::invalid_arg(ErrorDomain::None, format!("could not find event callback {id} for deletion")));
        };
        cbs.remove(pos);
        drop(cbs);
        self.hv().event_deregister(id)
    }

    // ---- networks ----

    fn netw(&self, r: NetworkRef) -> Network {
        Network { conn: self.clone(), r }
    }
    /// `virConnectListAllNetworks`.
    pub fn list_all_networks(&self, flags: ListNetworksFlags) -> Result<Vec<Network>> {
        Ok(self.net()?.list_all_networks(flags.bits())?.into_iter().map(|r| self.netw(r)).collect())
    }
    /// `virNetworkLookupByName`.
    pub fn network_lookup_by_name(&self, name: &str) -> Result<Network> {
        Ok(self.netw(self.net()?.network_lookup_by_name(name)?))
    }
    /// `virNetworkLookupByUUID`.
    pub fn network_lookup_by_uuid(&self, uuid: &Uuid) -> Result<Network> {
        Ok(self.netw(self.net()?.network_lookup_by_uuid(uuid)?))
    }
    /// `virNetworkDefineXMLFlags`.
    pub fn network_define_xml(&self, xml: &str, flags: u32) -> Result<Network> {
        self.check_rw("virNetworkDefineXML")?;
        Ok(self.netw(self.net()?.network_define_xml(xml, flags)?))
    }
    /// `virNetworkCreateXMLFlags`.
    pub fn network_create_xml(&self, xml: &str, flags: u32) -> Result<Network> {
        self.check_rw("virNetworkCreateXML")?;
        Ok(self.netw(self.net()?.network_create_xml(xml, flags)?))
    }

    // ---- storage ----

    fn pool(&self, r: StoragePoolRef) -> StoragePool {
        StoragePool { conn: self.clone(), r }
    }
    /// `virConnectListAllStoragePools`.
    pub fn list_all_storage_pools(&self, flags: ListPoolsFlags) -> Result<Vec<StoragePool>> {
        Ok(self.stor()?.list_all_pools(flags.bits())?.into_iter().map(|r| self.pool(r)).collect())
    }
    /// `virStoragePoolLookupByName`.
    pub fn storage_pool_lookup_by_name(&self, name: &str) -> Result<StoragePool> {
        Ok(self.pool(self.stor()?.pool_lookup_by_name(name)?))
    }
    /// `virStoragePoolLookupByUUID`.
    pub fn storage_pool_lookup_by_uuid(&self, uuid: &Uuid) -> Result<StoragePool> {
        Ok(self.pool(self.stor()?.pool_lookup_by_uuid(uuid)?))
    }
    /// `virStoragePoolDefineXML`.
    pub fn storage_pool_define_xml(&self, xml: &str, flags: u32) -> Result<StoragePool> {
        self.check_rw("virStoragePoolDefineXML")?;
        Ok(self.pool(self.stor()?.pool_define_xml(xml, flags)?))
    }
    /// `virStoragePoolCreateXML`.
    pub fn storage_pool_create_xml(&self, xml: &str, flags: u32) -> Result<StoragePool> {
        self.check_rw("virStoragePoolCreateXML")?;
        Ok(self.pool(self.stor()?.pool_create_xml(xml, flags)?))
    }
    /// `virConnectFindStoragePoolSources`.
    pub fn find_storage_pool_sources(&self, typ: &str, spec: Option<&str>, flags: u32) -> Result<String> {
        self.stor()?.find_pool_sources(typ, spec, flags)
    }
    fn vol(&self, r: StorageVolRef) -> StorageVol {
        StorageVol { conn: self.clone(), r }
    }
    /// `virStorageVolLookupByKey`.
    pub fn storage_vol_lookup_by_key(&self, key: &str) -> Result<StorageVol> {
        Ok(self.vol(self.stor()?.vol_lookup_by_key(key)?))
    }
    /// `virStorageVolLookupByPath`.
    pub fn storage_vol_lookup_by_path(&self, path: &str) -> Result<StorageVol> {
        Ok(self.vol(self.stor()?.vol_lookup_by_path(path)?))
    }

    // ---- secrets ----

    fn secret(&self, r: SecretRef) -> Secret {
        Secret { conn: self.clone(), r }
    }
    /// `virConnectListAllSecrets`.
    pub fn list_all_secrets(&self, flags: ListSecretsFlags) -> Result<Vec<Secret>> {
        Ok(self.sec()?.list_all_secrets(flags.bits())?.into_iter().map(|r| self.secret(r)).collect())
    }
    /// `virSecretLookupByUUIDString`.
    pub fn secret_lookup_by_uuid_string(&self, s: &str) -> Result<Secret> {
        let u = uuidfmt::parse(s).ok_or_else(|| {
            Error::raw(ErrorCode::InvalidArg, ErrorDomain::Secret, "uuidstr in virSecretLookupByUUIDString must be a valid UUID")
        })?;
        self.secret_lookup_by_uuid(&u)
    }
    /// `virSecretLookupByUUID`.
    pub fn secret_lookup_by_uuid(&self, uuid: &Uuid) -> Result<Secret> {
        Ok(self.secret(self.sec()?.secret_lookup_by_uuid(uuid)?))
    }
    /// `virSecretLookupByUsage`.
    pub fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> Result<Secret> {
        Ok(self.secret(self.sec()?.secret_lookup_by_usage(usage_type, usage_id)?))
    }
    /// `virSecretDefineXML`.
    pub fn secret_define_xml(&self, xml: &str, flags: u32) -> Result<Secret> {
        self.check_rw("virSecretDefineXML")?;
        Ok(self.secret(self.sec()?.secret_define_xml(xml, flags)?))
    }

    // ---- nwfilters ----

    fn filter(&self, r: NWFilterRef) -> NWFilter {
        NWFilter { conn: self.clone(), r }
    }
    /// `virConnectListAllNWFilters`.
    pub fn list_all_nwfilters(&self, flags: u32) -> Result<Vec<NWFilter>> {
        Ok(self.nwf()?.list_all_nwfilters(flags)?.into_iter().map(|r| self.filter(r)).collect())
    }
    /// `virNWFilterLookupByName`.
    pub fn nwfilter_lookup_by_name(&self, name: &str) -> Result<NWFilter> {
        Ok(self.filter(self.nwf()?.nwfilter_lookup_by_name(name)?))
    }
    /// `virNWFilterLookupByUUID`.
    pub fn nwfilter_lookup_by_uuid(&self, uuid: &Uuid) -> Result<NWFilter> {
        Ok(self.filter(self.nwf()?.nwfilter_lookup_by_uuid(uuid)?))
    }
    /// `virNWFilterDefineXMLFlags`.
    pub fn nwfilter_define_xml(&self, xml: &str, flags: u32) -> Result<NWFilter> {
        self.check_rw("virNWFilterDefineXML")?;
        Ok(self.filter(self.nwf()?.nwfilter_define_xml(xml, flags)?))
    }

    // ---- interfaces ----

    fn ifc(&self, r: InterfaceRef) -> Interface {
        Interface { conn: self.clone(), r }
    }
    /// `virConnectListAllInterfaces`.
    pub fn list_all_interfaces(&self, flags: ListInterfacesFlags) -> Result<Vec<Interface>> {
        Ok(self.iface()?.list_all_interfaces(flags.bits())?.into_iter().map(|r| self.ifc(r)).collect())
    }
    /// `virInterfaceLookupByName`.
    pub fn interface_lookup_by_name(&self, name: &str) -> Result<Interface> {
        Ok(self.ifc(self.iface()?.interface_lookup_by_name(name)?))
    }
    /// `virInterfaceLookupByMACString`.
    pub fn interface_lookup_by_mac(&self, mac: &str) -> Result<Interface> {
        Ok(self.ifc(self.iface()?.interface_lookup_by_mac(mac)?))
    }
    /// `virInterfaceDefineXML`.
    pub fn interface_define_xml(&self, xml: &str, flags: u32) -> Result<Interface> {
        self.check_rw("virInterfaceDefineXML")?;
        Ok(self.ifc(self.iface()?.interface_define_xml(xml, flags)?))
    }
    /// `virInterfaceChangeBegin`.
    pub fn interface_change_begin(&self, flags: u32) -> Result<()> {
        self.check_rw("virInterfaceChangeBegin")?;
        self.iface()?.interface_change_begin(flags)
    }
    /// `virInterfaceChangeCommit`.
    pub fn interface_change_commit(&self, flags: u32) -> Result<()> {
        self.check_rw("virInterfaceChangeCommit")?;
        self.iface()?.interface_change_commit(flags)
    }
    /// `virInterfaceChangeRollback`.
    pub fn interface_change_rollback(&self, flags: u32) -> Result<()> {
        self.check_rw("virInterfaceChangeRollback")?;
        self.iface()?.interface_change_rollback(flags)
    }

    // ---- node devices ----

    fn ndev(&self, r: NodeDeviceRef) -> NodeDevice {
        NodeDevice { conn: self.clone(), r }
    }
    /// `virConnectListAllNodeDevices`.
    pub fn list_all_node_devices(&self, flags: ListNodeDevicesFlags) -> Result<Vec<NodeDevice>> {
        Ok(self.nodedev()?.list_all_node_devices(flags.bits())?.into_iter().map(|r| self.ndev(r)).collect())
    }
    /// `virNodeDeviceLookupByName`.
    pub fn node_device_lookup_by_name(&self, name: &str) -> Result<NodeDevice> {
        Ok(self.ndev(self.nodedev()?.nodedev_lookup_by_name(name)?))
    }
    /// `virNodeDeviceCreateXML`.
    pub fn node_device_create_xml(&self, xml: &str, flags: u32) -> Result<NodeDevice> {
        self.check_rw("virNodeDeviceCreateXML")?;
        Ok(self.ndev(self.nodedev()?.nodedev_create_xml(xml, flags)?))
    }
    /// `virNodeDeviceDefineXML`.
    pub fn node_device_define_xml(&self, xml: &str, flags: u32) -> Result<NodeDevice> {
        self.check_rw("virNodeDeviceDefineXML")?;
        Ok(self.ndev(self.nodedev()?.nodedev_define_xml(xml, flags)?))
    }
}

/// A domain handle (`virDomainPtr`).
#[derive(Clone)]
pub struct Domain {
    conn: Connect,
    name: String,
    uuid: Uuid,
    id: Arc<AtomicI32>,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain")
            .field("name", &self.name)
            .field("uuid", &uuidfmt::format(&self.uuid))
            .field("id", &self.id.load(Ordering::Relaxed))
            .finish()
    }
}

impl Domain {
    fn r(&self) -> DomainRef {
        DomainRef { name: self.name.clone(), uuid: self.uuid, id: self.id.load(Ordering::Relaxed) }
    }
    fn hv(&self) -> &dyn driver::HypervisorDriver {
        self.conn.hv()
    }
    /// The connection this handle belongs to.
    pub fn connect(&self) -> &Connect {
        &self.conn
    }
    /// Raw reference (for the daemon and tests).
    pub fn raw(&self) -> DomainRef {
        self.r()
    }
    /// `virDomainGetName`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `virDomainGetUUID`.
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }
    /// `virDomainGetUUIDString`.
    pub fn uuid_string(&self) -> String {
        uuidfmt::format(&self.uuid)
    }
    /// `virDomainGetID`: None when not running (libvirt's `(unsigned)-1`).
    pub fn id(&self) -> Option<u32> {
        u32::try_from(self.id.load(Ordering::Relaxed)).ok()
    }
    /// `virDomainGetInfo`.
    pub fn info(&self) -> Result<DomainInfo> {
        self.hv().domain_get_info(&self.r())
    }
    /// `virDomainGetState`.
    pub fn state(&self) -> Result<(DomainState, i32)> {
        self.hv().domain_get_state(&self.r(), 0)
    }
    /// `virDomainGetXMLDesc`.
    pub fn xml_desc(&self, flags: DomainXmlFlags) -> Result<String> {
        if flags.contains(DomainXmlFlags::SECURE) && self.conn.is_read_only() {
            return Err(Error::new(ErrorCode::OperationDenied, ErrorDomain::Domain, "virDomainGetXMLDesc with secure flag"));
        }
        self.hv().domain_get_xml_desc(&self.r(), flags.bits())
    }
    /// `virDomainGetOSType`.
    pub fn os_type(&self) -> Result<String> {
        self.hv().domain_get_os_type(&self.r())
    }
    /// `virDomainGetMaxMemory` (KiB).
    pub fn max_memory(&self) -> Result<u64> {
        self.hv().domain_get_max_memory(&self.r())
    }
    /// `virDomainGetMaxVcpus`.
    pub fn max_vcpus(&self) -> Result<i32> {
        self.hv().domain_get_max_vcpus(&self.r())
    }
    /// `virDomainGetVcpusFlags`.
    pub fn vcpus_flags(&self, flags: DomainModFlags) -> Result<i32> {
        self.hv().domain_get_vcpus_flags(&self.r(), flags.bits())
    }
    /// `virDomainCreateWithFlags` (start); without flags, `virDomainCreate`.
    pub fn create(&self, flags: DomainCreateFlags) -> Result<()> {
        self.conn.check_rw(if flags.is_empty() { "virDomainCreate" } else { "virDomainCreateWithFlags" })?;
        let r = self.hv().domain_create(&self.r(), flags.bits())?;
        self.id.store(r.id, Ordering::Relaxed);
        Ok(())
    }
    /// `virDomainDestroyFlags`; without flags, `virDomainDestroy`.
    pub fn destroy(&self, flags: DomainDestroyFlags) -> Result<()> {
        self.conn.check_rw(if flags.is_empty() { "virDomainDestroy" } else { "virDomainDestroyFlags" })?;
        self.hv().domain_destroy(&self.r(), flags.bits())?;
        self.id.store(-1, Ordering::Relaxed);
        Ok(())
    }
    /// `virDomainShutdownFlags`; without flags, `virDomainShutdown`.
    pub fn shutdown(&self, flags: DomainShutdownFlags) -> Result<()> {
        self.conn.check_rw(if flags.is_empty() { "virDomainShutdown" } else { "virDomainShutdownFlags" })?;
        self.hv().domain_shutdown(&self.r(), flags.bits())
    }
    /// `virDomainReboot`.
    pub fn reboot(&self, flags: DomainRebootFlags) -> Result<()> {
        self.conn.check_rw("virDomainReboot")?;
        self.hv().domain_reboot(&self.r(), flags.bits())
    }
    /// `virDomainReset`.
    pub fn reset(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainReset")?;
        self.hv().domain_reset(&self.r(), flags)
    }
    /// `virDomainQemuMonitorCommand` (libvirt-qemu): run a QMP command (or, with flag 1,
    /// an HMP command line) on the domain's monitor and return the reply text.
    pub fn qemu_monitor_command(&self, cmd: &str, flags: u32) -> Result<String> {
        self.conn.check_rw("virDomainQemuMonitorCommand")?;
        self.hv().domain_qemu_monitor_command(&self.r(), cmd, flags)
    }
    /// `virDomainQemuMonitorCommandWithFiles` (libvirt-qemu): [`Domain::qemu_monitor_command`]
    /// with `fds` passed to QEMU along with the command (QMP `getfd`, `add-fd`); returns
    /// the reply text and any descriptors passed back.
    pub fn qemu_monitor_command_with_files(
        &self,
        cmd: &str,
        fds: Vec<std::os::fd::OwnedFd>,
        flags: u32,
    ) -> Result<(String, Vec<std::os::fd::OwnedFd>)> {
        // The caller can always receive descriptors, so libvirt checks the feature.
        self.conn.check_fd_passing()?;
        self.conn.check_rw("virDomainQemuMonitorCommandWithFiles")?;
        self.hv().domain_qemu_monitor_command_with_files(&self.r(), cmd, fds, flags)
    }
    /// `virDomainQemuAgentCommand` (libvirt-qemu): run a guest-agent command and return
    /// the reply text; `timeout` in seconds, or -2 block, -1 default, 0 no wait.
    pub fn qemu_agent_command(&self, cmd: &str, timeout: i32, flags: u32) -> Result<Option<String>> {
        self.conn.check_rw("virDomainQemuAgentCommand")?;
        self.hv().domain_qemu_agent_command(&self.r(), cmd, timeout, flags)
    }
    /// `virDomainOpenConsole`: an interactive stream on console or serial port
    /// `dev_name` (its alias; `None`: the domain's first console or serial port).
    /// Receive with [`Stream::recv_timeout`] to interleave sending; the stream ends
    /// ([`crate::StreamChunk::Eof`]) when the guest's side closes.
    pub fn open_console(&self, dev_name: Option<&str>, flags: DomainConsoleFlags) -> Result<Stream> {
        self.conn.check_rw("virDomainOpenConsole")?;
        let drv = self.hv().domain_open_console(&self.r(), dev_name, flags.bits())?;
        Ok(Stream::new(drv, false))
    }
    /// `virDomainOpenGraphics`: connect the socket `fd` (one end of a socketpair, say)
    /// to graphics device `idx`; the VNC/SPICE server talks on it.
    pub fn open_graphics(&self, idx: u32, fd: std::os::fd::OwnedFd, flags: DomainOpenGraphicsFlags) -> Result<()> {
        use std::os::unix::fs::FileTypeExt;
        let file = std::fs::File::from(fd);
        let is_socket = file
            .metadata()
            .map_err(|e| Error::new(ErrorCode::SystemError, ErrorDomain::None, format!("Unable to access file descriptor: {e}")))?
            .file_type()
            .is_socket();
        if !is_socket {
            return Err(Error::invalid_arg(ErrorDomain::Domain, "fd must be a socket"));
        }
        self.conn.check_rw("virDomainOpenGraphics")?;
        self.conn.check_fd_passing()?;
        self.hv().domain_open_graphics(&self.r(), idx, file.into(), flags.bits())
    }
    /// `virDomainOpenGraphicsFD`: a socket connected to graphics device `idx`.
    pub fn open_graphics_fd(&self, idx: u32, flags: DomainOpenGraphicsFlags) -> Result<std::os::fd::OwnedFd> {
        self.conn.check_rw("virDomainOpenGraphicsFD")?;
        self.conn.check_fd_passing()?;
        self.hv().domain_open_graphics_fd(&self.r(), idx, flags.bits())
    }
    /// `virDomainCreateWithFiles`: start the domain, passing `files` to it.
    pub fn create_with_files(&self, files: Vec<std::os::fd::OwnedFd>, flags: DomainCreateFlags) -> Result<()> {
        self.conn.check_rw("virDomainCreateWithFiles")?;
        if !files.is_empty() {
            self.conn.check_fd_passing()?;
        }
        let r = self.hv().domain_create_with_files(&self.r(), files, flags.bits())?;
        self.id.store(r.id, Ordering::Relaxed);
        Ok(())
    }
    /// `virDomainFDAssociate`: associate `fds` with `name` for the domain's
    /// `fdgroup='name'` disk sources.
    pub fn fd_associate(&self, name: &str, fds: Vec<std::os::fd::OwnedFd>, flags: DomainFdAssociateFlags) -> Result<()> {
        self.conn.check_fd_passing()?;
        if fds.is_empty() {
            return Err(Error::invalid_arg(ErrorDomain::Domain, "nfds in virDomainFDAssociate must not be zero"));
        }
        self.conn.check_rw("virDomainFDAssociate")?;
        self.hv().domain_fd_associate(&self.r(), name, fds, flags.bits())
    }
    /// `virDomainSuspend`.
    pub fn suspend(&self) -> Result<()> {
        self.conn.check_rw("virDomainSuspend")?;
        self.hv().domain_suspend(&self.r())
    }
    /// `virDomainResume`.
    pub fn resume(&self) -> Result<()> {
        self.conn.check_rw("virDomainResume")?;
        self.hv().domain_resume(&self.r())
    }
    /// `virDomainSaveFlags`; without flags and XML, `virDomainSave`.
    pub fn save(&self, path: &str, dxml: Option<&str>, flags: DomainSaveRestoreFlags) -> Result<()> {
        self.conn.check_rw(if flags.is_empty() && dxml.is_none() { "virDomainSave" } else { "virDomainSaveFlags" })?;
        self.hv().domain_save(&self.r(), path, dxml, flags.bits())?;
        self.id.store(-1, Ordering::Relaxed);
        Ok(())
    }
    /// `virDomainManagedSave`.
    pub fn managed_save(&self, flags: DomainSaveRestoreFlags) -> Result<()> {
        self.conn.check_rw("virDomainManagedSave")?;
        self.hv().domain_managed_save(&self.r(), flags.bits())?;
        self.id.store(-1, Ordering::Relaxed);
        Ok(())
    }
    /// `virDomainHasManagedSaveImage`.
    pub fn has_managed_save(&self) -> Result<bool> {
        self.hv().domain_has_managed_save(&self.r(), 0)
    }
    /// `virDomainGetSecurityLabel`.
    pub fn security_label(&self) -> Result<SecurityLabel> {
        self.hv().domain_get_security_label(&self.r())
    }
    /// `virDomainManagedSaveRemove`.
    pub fn managed_save_remove(&self) -> Result<()> {
        self.conn.check_rw("virDomainManagedSaveRemove")?;
        self.hv().domain_managed_save_remove(&self.r(), 0)
    }
    /// `virDomainManagedSaveGetXMLDesc` (`flags`: `VIR_DOMAIN_SAVE_IMAGE_XML_SECURE` = 1).
    pub fn managed_save_xml(&self, flags: u32) -> Result<String> {
        if flags & 1 != 0 && self.conn.is_read_only() {
            return Err(Error::new(ErrorCode::OperationDenied, ErrorDomain::Domain, "virDomainManagedSaveGetXMLDesc with secure flag"));
        }
        self.hv().domain_managed_save_get_xml_desc(&self.r(), flags)
    }
    /// `virDomainManagedSaveDefineXML` (`flags`: `VIR_DOMAIN_SAVE_RUNNING`/`PAUSED`).
    pub fn managed_save_define_xml(&self, dxml: Option<&str>, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainManagedSaveDefineXML")?;
        self.hv().domain_managed_save_define_xml(&self.r(), dxml, flags)
    }
    /// `virDomainUndefineFlags`.
    pub fn undefine(&self, flags: DomainUndefineFlags) -> Result<()> {
        self.conn.check_rw("virDomainUndefineFlags")?;
        self.hv().domain_undefine(&self.r(), flags.bits())
    }
    /// `virDomainGetAutostart`.
    pub fn autostart(&self) -> Result<bool> {
        self.hv().domain_get_autostart(&self.r())
    }
    /// `virDomainSetAutostart`.
    pub fn set_autostart(&self, on: bool) -> Result<()> {
        self.conn.check_rw("virDomainSetAutostart")?;
        self.hv().domain_set_autostart(&self.r(), on)
    }
    /// `virDomainSetMemoryFlags` (KiB).
    pub fn set_memory(&self, kib: u64, flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetMemoryFlags")?;
        self.hv().domain_set_memory(&self.r(), kib, flags.bits())
    }
    /// `virDomainSetMaxMemory` (KiB).
    pub fn set_max_memory(&self, kib: u64) -> Result<()> {
        self.conn.check_rw("virDomainSetMaxMemory")?;
        self.hv().domain_set_max_memory(&self.r(), kib)
    }
    /// `virDomainSetVcpus`: the live vCPU count.
    pub fn set_vcpus_live(&self, n: u32) -> Result<()> {
        self.conn.check_rw("virDomainSetVcpus")?;
        self.hv().domain_set_vcpus(&self.r(), n, DomainModFlags::LIVE.bits())
    }
    /// `virDomainSetVcpusFlags`.
    pub fn set_vcpus(&self, n: u32, flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetVcpusFlags")?;
        self.hv().domain_set_vcpus(&self.r(), n, flags.bits())
    }
    /// `virDomainIsActive`.
    pub fn is_active(&self) -> Result<bool> {
        self.hv().domain_is_active(&self.r())
    }
    /// `virDomainIsPersistent`.
    pub fn is_persistent(&self) -> Result<bool> {
        self.hv().domain_is_persistent(&self.r())
    }
    /// `virDomainIsUpdated`.
    pub fn is_updated(&self) -> Result<bool> {
        self.hv().domain_is_updated(&self.r())
    }
    /// `virDomainGetHostname`.
    pub fn hostname(&self, flags: u32) -> Result<String> {
        self.hv().domain_get_hostname(&self.r(), flags)
    }
    /// `virDomainGetSchedulerType`.
    pub fn scheduler_type(&self) -> Result<(String, i32)> {
        self.hv().domain_get_scheduler_type(&self.r())
    }
    /// `virDomainRename`.
    pub fn rename(&mut self, new_name: &str, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainRename")?;
        let r = self.hv().domain_rename(&self.r(), new_name, flags)?;
        self.name = r.name;
        Ok(())
    }
    /// `virDomainSetMetadata`.
    pub fn set_metadata(&self, typ: i32, metadata: Option<&str>, key: Option<&str>, uri: Option<&str>, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainSetMetadata")?;
        let arg = |what: String| Error::raw(ErrorCode::InvalidArg, ErrorDomain::Domain, what);
        let null = |v: Option<&str>, name: &str| match v {
            Some(_) => Err(arg(format!("{name} in virDomainSetMetadata must be NULL"))),
            None => Ok(()),
        };
        let non_null = |v: Option<&str>, name: &str| match v {
            None => Err(arg(format!("{name} in virDomainSetMetadata must not be NULL"))),
            Some(_) => Ok(()),
        };
        match typ {
            oxvirt_conf::metadata::TITLE | oxvirt_conf::metadata::DESCRIPTION => {
                if typ == oxvirt_conf::metadata::TITLE && metadata.is_some_and(|m| m.contains('\n')) {
                    return Err(arg("metadata title can't contain newlines".into()));
                }
                null(uri, "uri")?;
                null(key, "key")?;
            }
            oxvirt_conf::metadata::ELEMENT => {
                non_null(uri, "uri")?;
                if metadata.is_some() {
                    non_null(key, "key")?;
                }
            }
            _ => {}
        }
        self.hv().domain_set_metadata(&self.r(), typ, metadata, key, uri, flags)
    }
    // ---- device hotplug ----
    /// `virDomainAttachDevice` (the live domain).
    pub fn attach_device(&self, xml: &str) -> Result<()> {
        self.conn.check_rw("virDomainAttachDevice")?;
        self.hv().domain_attach_device(&self.r(), xml)
    }
    /// `virDomainAttachDeviceFlags` (`virDomainDeviceModifyFlags` bits).
    pub fn attach_device_flags(&self, xml: &str, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainAttachDeviceFlags")?;
        self.hv().domain_attach_device_flags(&self.r(), xml, flags)
    }
    /// `virDomainDetachDevice` (the live domain).
    pub fn detach_device(&self, xml: &str) -> Result<()> {
        self.conn.check_rw("virDomainDetachDevice")?;
        self.hv().domain_detach_device(&self.r(), xml)
    }
    /// `virDomainDetachDeviceFlags`.
    pub fn detach_device_flags(&self, xml: &str, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainDetachDeviceFlags")?;
        self.hv().domain_detach_device_flags(&self.r(), xml, flags)
    }
    /// `virDomainDetachDeviceAlias`.
    pub fn detach_device_alias(&self, alias: &str, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainDetachDeviceAlias")?;
        self.hv().domain_detach_device_alias(&self.r(), alias, flags)
    }
    /// `virDomainUpdateDeviceFlags`.
    pub fn update_device_flags(&self, xml: &str, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainUpdateDeviceFlags")?;
        self.hv().domain_update_device_flags(&self.r(), xml, flags)
    }
    // ---- end of device hotplug ----
    /// `virDomainGetMetadata`.
    pub fn metadata(&self, typ: i32, uri: Option<&str>, flags: u32) -> Result<String> {
        crate::typedparam::live_config_exclusive(flags)?;
        let wrong = match (typ, uri) {
            (oxvirt_conf::metadata::TITLE | oxvirt_conf::metadata::DESCRIPTION, Some(_)) => Some("must be NULL"),
            (oxvirt_conf::metadata::ELEMENT, None) => Some("must not be NULL"),
            _ => None,
        };
        if let Some(w) = wrong {
            return Err(Error::raw(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("uri in virDomainGetMetadata {w}")));
        }
        self.hv().domain_get_metadata(&self.r(), typ, uri, flags)
    }

    // information and statistics (qinfo)
    /// `virDomainBlockStats` of disk `path` ("" sums every disk).
    pub fn block_stats(&self, path: &str) -> Result<BlockStats> {
        self.hv().domain_block_stats(&self.r(), path)
    }
    /// `virDomainBlockStatsFlags`: every statistic of disk `path`.
    pub fn block_stats_flags(&self, path: &str, flags: u32) -> Result<Vec<TypedParam>> {
        self.hv().domain_block_stats_flags(&self.r(), path, flags)
    }
    /// `virDomainInterfaceStats` of interface `device` (name or MAC address).
    pub fn interface_stats(&self, device: &str) -> Result<InterfaceStats> {
        self.hv().domain_interface_stats(&self.r(), device)
    }
    /// `virDomainMemoryStats`: at most `nr` statistics.
    pub fn memory_stats(&self, nr: u32, flags: u32) -> Result<Vec<MemoryStat>> {
        self.hv().domain_memory_stats(&self.r(), nr, flags)
    }
    /// `virDomainSetMemoryStatsPeriod`: the balloon's statistics period in seconds.
    pub fn set_memory_stats_period(&self, period: i32, flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetMemoryStatsPeriod")?;
        if period < 0 {
            return Err(Error::invalid_arg(ErrorDomain::Domain, "period in virDomainSetMemoryStatsPeriod must be >= 0"));
        }
        self.hv().domain_set_memory_stats_period(&self.r(), period, flags.bits())
    }
    /// `virDomainGetBlockInfo` of disk `path`.
    pub fn block_info(&self, path: &str, flags: u32) -> Result<BlockInfo> {
        if path.is_empty() {
            return Err(Error::invalid_arg(ErrorDomain::Domain, "disk in virDomainGetBlockInfo must not be empty"));
        }
        self.hv().domain_get_block_info(&self.r(), path, flags)
    }
    /// `virDomainGetVcpus`: at most `maxinfo` vCPUs and, when `maplen` > 0, their CPU
    /// maps (`maplen` bytes each, concatenated).
    pub fn vcpus(&self, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        if maxinfo <= 0 {
            return Err(Error::invalid_arg(ErrorDomain::Domain, "maxinfo in virDomainGetVcpus must be greater than zero"));
        }
        if maplen < 0 {
            return Err(Error::invalid_arg(ErrorDomain::Domain, "maplen in virDomainGetVcpus must be greater than zero"));
        }
        self.hv().domain_get_vcpus(&self.r(), maxinfo, maplen)
    }
    /// `virDomainGetTime`: the guest's clock (seconds since the epoch, nanoseconds).
    pub fn time(&self, flags: u32) -> Result<(i64, u32)> {
        self.conn.check_rw("virDomainGetTime")?;
        self.hv().domain_get_time(&self.r(), flags)
    }
    /// `virDomainSetTime` (flag `VIR_DOMAIN_TIME_SYNC` = 1: from the host's RTC).
    pub fn set_time(&self, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainSetTime")?;
        self.hv().domain_set_time(&self.r(), seconds, nseconds, flags)
    }
    /// `virDomainInterfaceAddresses` from `source` ([`crate::stats::ifaddr_source`]);
    /// the agent source needs a read-write connection.
    pub fn interface_addresses(&self, source: u32, flags: u32) -> Result<Vec<DomainInterface>> {
        if source == crate::stats::ifaddr_source::AGENT {
            self.conn.check_rw("virDomainInterfaceAddresses")?;
        }
        self.hv().domain_interface_addresses(&self.r(), source, flags)
    }
    /// `virDomainGetGuestInfo`: `types` are [`crate::stats::guest_info_types`] bits (0: all).
    pub fn guest_info(&self, types: u32, flags: u32) -> Result<Vec<TypedParam>> {
        self.conn.check_rw("virDomainGetGuestInfo")?;
        self.hv().domain_get_guest_info(&self.r(), types, flags)
    }
    /// `virDomainGetControlInfo`.
    pub fn control_info(&self, flags: u32) -> Result<ControlInfo> {
        self.hv().domain_get_control_info(&self.r(), flags)
    }
    /// `virDomainGetJobInfo`.
    pub fn job_info(&self) -> Result<JobInfo> {
        self.hv().domain_get_job_info(&self.r())
    }
    /// `virDomainGetJobStats`: (`virDomainJobType`, parameters).
    pub fn job_stats(&self, flags: u32) -> Result<(i32, Vec<TypedParam>)> {
        self.hv().domain_get_job_stats(&self.r(), flags)
    }
    /// `virDomainGetDiskErrors`: (count, errors); `maxerrors` 0 asks for the count.
    pub fn disk_errors(&self, maxerrors: u32, flags: u32) -> Result<(i32, Vec<DiskError>)> {
        self.hv().domain_get_disk_errors(&self.r(), maxerrors, flags)
    }
    /// `virDomainInjectNMI`.
    pub fn inject_nmi(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainInjectNMI")?;
        self.hv().domain_inject_nmi(&self.r(), flags)
    }
    // send-key, screenshot, PM suspend/wakeup.
    /// `virDomainSendKey`: press `keycodes` of `codeset` (`virKeycodeSet`: 0 linux,
    /// ..., 9 qnum) together for `holdtime` ms; at most
    /// [`crate::types::SEND_KEY_MAX_KEYS`] keys, as libvirt checks them.
    pub fn send_key(&self, codeset: u32, holdtime: u32, keycodes: &[u32], flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainSendKey")?;
        if keycodes.is_empty() {
            return Err(Error::invalid_arg(ErrorDomain::Domain, "nkeycodes in virDomainSendKey must be greater than zero"));
        }
        if codeset >= KEYCODE_SET_LAST {
            return Err(Error::invalid_arg(ErrorDomain::Domain, format!("Unsupported codeset '{codeset}'")));
        }
        if keycodes.len() > SEND_KEY_MAX_KEYS {
            return Err(Error::invalid_arg(ErrorDomain::Domain, format!("nkeycodes must be <= {SEND_KEY_MAX_KEYS}")));
        }
        self.hv().domain_send_key(&self.r(), codeset, holdtime, keycodes, flags)
    }
    /// `virDomainScreenshot`: the image's MIME type and a stream carrying it (read it
    /// to the end, then finish).
    pub fn screenshot(&self, screen: u32, flags: u32) -> Result<(String, Stream)> {
        self.conn.check_rw("virDomainScreenshot")?;
        let (mime, drv) = self.hv().domain_screenshot(&self.r(), screen, flags)?;
        Ok((mime, Stream::new(drv, false)))
    }
    /// `virDomainPMSuspendForDuration`: `target` 0 mem, 1 disk, 2 hybrid.
    pub fn pm_suspend_for_duration(&self, target: u32, duration: u64, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainPMSuspendForDuration")?;
        self.hv().domain_pm_suspend_for_duration(&self.r(), target, duration, flags)
    }
    /// `virDomainPMWakeup`.
    pub fn pm_wakeup(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainPMWakeup")?;
        self.hv().domain_pm_wakeup(&self.r(), flags)
    }
    /// `virDomainFSFreeze`: the number of file systems frozen.
    pub fn fs_freeze(&self, mountpoints: &[String], flags: u32) -> Result<i32> {
        self.conn.check_rw("virDomainFSFreeze")?;
        self.hv().domain_fs_freeze(&self.r(), mountpoints, flags)
    }
    /// `virDomainFSThaw`: the number of file systems thawed.
    pub fn fs_thaw(&self, mountpoints: &[String], flags: u32) -> Result<i32> {
        self.conn.check_rw("virDomainFSThaw")?;
        self.hv().domain_fs_thaw(&self.r(), mountpoints, flags)
    }
    /// `virDomainGetFSInfo`.
    pub fn fs_info(&self, flags: u32) -> Result<Vec<FsInfo>> {
        self.conn.check_rw("virDomainGetFSInfo")?;
        self.hv().domain_get_fs_info(&self.r(), flags)
    }
    /// `virDomainSetUserPassword`.
    pub fn set_user_password(&self, user: &str, password: &str, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainSetUserPassword")?;
        self.hv().domain_set_user_password(&self.r(), user, password, flags)
    }
    /// `virDomainAgentSetResponseTimeout`.
    pub fn agent_set_response_timeout(&self, timeout: i32, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainAgentSetResponseTimeout")?;
        self.hv().domain_agent_set_response_timeout(&self.r(), timeout, flags)
    }
    /// `virDomainGetGuestVcpus`.
    pub fn guest_vcpus(&self, flags: u32) -> Result<Vec<TypedParam>> {
        self.conn.check_rw("virDomainGetGuestVcpus")?;
        self.hv().domain_get_guest_vcpus(&self.r(), flags)
    }
    /// `virDomainSetGuestVcpus`.
    pub fn set_guest_vcpus(&self, cpumap: &str, state: i32, flags: u32) -> Result<()> {
        self.conn.check_rw("virDomainSetGuestVcpus")?;
        self.hv().domain_set_guest_vcpus(&self.r(), cpumap, state, flags)
    }
    // end of information and statistics (qinfo)

    fn snap(&self, r: SnapshotRef) -> DomainSnapshot {
        DomainSnapshot { dom: self.clone(), name: r.name }
    }
    /// `virDomainSnapshotCreateXML`.
    pub fn snapshot_create_xml(&self, xml: &str, flags: SnapshotCreateFlags) -> Result<DomainSnapshot> {
        self.conn.check_rw("virDomainSnapshotCreateXML")?;
        Ok(self.snap(self.hv().snapshot_create_xml(&self.r(), xml, flags.bits())?))
    }
    /// `virDomainListAllSnapshots`.
    pub fn list_all_snapshots(&self, flags: SnapshotListFlags) -> Result<Vec<DomainSnapshot>> {
        Ok(self.hv().snapshot_list_all(&self.r(), flags.bits())?.into_iter().map(|r| self.snap(r)).collect())
    }
    /// `virDomainSnapshotNum`.
    pub fn snapshot_num(&self, flags: SnapshotListFlags) -> Result<i32> {
        Ok(self.hv().snapshot_list_all(&self.r(), flags.bits())?.len() as i32)
    }
    /// `virDomainSnapshotLookupByName`.
    pub fn snapshot_lookup_by_name(&self, name: &str) -> Result<DomainSnapshot> {
        Ok(self.snap(self.hv().snapshot_lookup_by_name(&self.r(), name, 0)?))
    }
    /// `virDomainHasCurrentSnapshot`.
    pub fn has_current_snapshot(&self) -> Result<bool> {
        self.hv().snapshot_has_current(&self.r(), 0)
    }
    /// `virDomainSnapshotCurrent`.
    pub fn snapshot_current(&self) -> Result<DomainSnapshot> {
        Ok(self.snap(self.hv().snapshot_current(&self.r(), 0)?))
    }
}

/// A snapshot handle (`virDomainSnapshotPtr`).
#[derive(Clone, Debug)]
pub struct DomainSnapshot {
    dom: Domain,
    name: String,
}

impl DomainSnapshot {
    fn r(&self) -> SnapshotRef {
        SnapshotRef { domain: self.dom.r(), name: self.name.clone() }
    }
    /// Raw reference.
    pub fn raw(&self) -> SnapshotRef {
        self.r()
    }
    /// `virDomainSnapshotGetName`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `virDomainSnapshotGetDomain`.
    pub fn domain(&self) -> &Domain {
        &self.dom
    }
    /// `virDomainSnapshotGetXMLDesc` (`VIR_DOMAIN_SNAPSHOT_XML_SECURE` is refused on
    /// read-only connections, as libvirt does).
    pub fn xml_desc(&self, flags: u32) -> Result<String> {
        if flags & DomainXmlFlags::SECURE.bits() != 0 && self.dom.conn.is_read_only() {
            return Err(Error::new(
                ErrorCode::OperationDenied,
                ErrorDomain::DomainSnapshot,
                "virDomainSnapshotGetXMLDesc with secure flag",
            ));
        }
        self.dom.hv().snapshot_get_xml_desc(&self.r(), flags)
    }
    /// `virDomainSnapshotGetParent`.
    pub fn parent(&self) -> Result<DomainSnapshot> {
        Ok(self.dom.snap(self.dom.hv().snapshot_get_parent(&self.r(), 0)?))
    }
    /// `virDomainSnapshotListAllChildren`.
    pub fn list_all_children(&self, flags: SnapshotListFlags) -> Result<Vec<DomainSnapshot>> {
        Ok(self.dom.hv().snapshot_list_children(&self.r(), flags.bits())?.into_iter().map(|r| self.dom.snap(r)).collect())
    }
    /// `virDomainSnapshotIsCurrent`.
    pub fn is_current(&self) -> Result<bool> {
        self.dom.hv().snapshot_is_current(&self.r(), 0)
    }
    /// `virDomainSnapshotHasMetadata`.
    pub fn has_metadata(&self) -> Result<bool> {
        self.dom.hv().snapshot_has_metadata(&self.r(), 0)
    }
    /// `virDomainRevertToSnapshot`.
    pub fn revert(&self, flags: SnapshotRevertFlags) -> Result<()> {
        self.dom.conn.check_rw("virDomainRevertToSnapshot")?;
        self.dom.hv().snapshot_revert(&self.r(), flags.bits())
    }
    /// `virDomainSnapshotDelete`.
    pub fn delete(&self, flags: SnapshotDeleteFlags) -> Result<()> {
        self.dom.conn.check_rw("virDomainSnapshotDelete")?;
        self.dom.hv().snapshot_delete(&self.r(), flags.bits())
    }
}

/// A network handle (`virNetworkPtr`).
#[derive(Clone)]
pub struct Network {
    conn: Connect,
    r: NetworkRef,
}

impl Network {
    fn d(&self) -> Result<&dyn driver::NetworkDriver> {
        self.conn.net()
    }
    /// Raw reference.
    pub fn raw(&self) -> &NetworkRef {
        &self.r
    }
    /// `virNetworkGetName`.
    pub fn name(&self) -> &str {
        &self.r.name
    }
    /// `virNetworkGetUUID`.
    pub fn uuid(&self) -> Uuid {
        self.r.uuid
    }
    /// `virNetworkGetUUIDString`.
    pub fn uuid_string(&self) -> String {
        uuidfmt::format(&self.r.uuid)
    }
    /// `virNetworkGetXMLDesc`.
    pub fn xml_desc(&self, flags: NetworkXmlFlags) -> Result<String> {
        self.d()?.network_get_xml_desc(&self.r, flags.bits())
    }
    /// `virNetworkGetBridgeName`.
    pub fn bridge_name(&self) -> Result<String> {
        self.d()?.network_get_bridge_name(&self.r)
    }
    /// `virNetworkCreate`.
    pub fn create(&self) -> Result<()> {
        self.conn.check_rw("virNetworkCreate")?;
        self.d()?.network_create(&self.r)
    }
    /// `virNetworkDestroy`.
    pub fn destroy(&self) -> Result<()> {
        self.conn.check_rw("virNetworkDestroy")?;
        self.d()?.network_destroy(&self.r)
    }
    /// `virNetworkUndefine`.
    pub fn undefine(&self) -> Result<()> {
        self.conn.check_rw("virNetworkUndefine")?;
        self.d()?.network_undefine(&self.r)
    }
    /// `virNetworkGetAutostart`.
    pub fn autostart(&self) -> Result<bool> {
        self.d()?.network_get_autostart(&self.r)
    }
    /// `virNetworkSetAutostart`.
    pub fn set_autostart(&self, on: bool) -> Result<()> {
        self.conn.check_rw("virNetworkSetAutostart")?;
        self.d()?.network_set_autostart(&self.r, on)
    }
    /// `virNetworkIsActive`.
    pub fn is_active(&self) -> Result<bool> {
        self.d()?.network_is_active(&self.r)
    }
    /// `virNetworkIsPersistent`.
    pub fn is_persistent(&self) -> Result<bool> {
        self.d()?.network_is_persistent(&self.r)
    }
    /// `virNetworkUpdate`.
    pub fn update(&self, command: u32, section: u32, parent_index: i32, xml: &str, flags: u32) -> Result<()> {
        self.conn.check_rw("virNetworkUpdate")?;
        self.d()?.network_update(&self.r, command, section, parent_index, xml, flags)
    }
}

/// A storage pool handle (`virStoragePoolPtr`).
#[derive(Clone)]
pub struct StoragePool {
    conn: Connect,
    r: StoragePoolRef,
}

impl StoragePool {
    fn d(&self) -> Result<&dyn driver::StorageDriver> {
        self.conn.stor()
    }
    /// Raw reference.
    pub fn raw(&self) -> &StoragePoolRef {
        &self.r
    }
    /// `virStoragePoolGetName`.
    pub fn name(&self) -> &str {
        &self.r.name
    }
    /// `virStoragePoolGetUUID`.
    pub fn uuid(&self) -> Uuid {
        self.r.uuid
    }
    /// `virStoragePoolGetUUIDString`.
    pub fn uuid_string(&self) -> String {
        uuidfmt::format(&self.r.uuid)
    }
    /// `virStoragePoolGetInfo`.
    pub fn info(&self) -> Result<StoragePoolInfo> {
        self.d()?.pool_get_info(&self.r)
    }
    /// `virStoragePoolGetXMLDesc`.
    pub fn xml_desc(&self, flags: u32) -> Result<String> {
        self.d()?.pool_get_xml_desc(&self.r, flags)
    }
    /// `virStoragePoolBuild`.
    pub fn build(&self, flags: PoolBuildFlags) -> Result<()> {
        self.conn.check_rw("virStoragePoolBuild")?;
        self.d()?.pool_build(&self.r, flags.bits())
    }
    /// `virStoragePoolCreate`.
    pub fn create(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virStoragePoolCreate")?;
        self.d()?.pool_create(&self.r, flags)
    }
    /// `virStoragePoolDestroy`.
    pub fn destroy(&self) -> Result<()> {
        self.conn.check_rw("virStoragePoolDestroy")?;
        self.d()?.pool_destroy(&self.r)
    }
    /// `virStoragePoolDelete`.
    pub fn delete(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virStoragePoolDelete")?;
        self.d()?.pool_delete(&self.r, flags)
    }
    /// `virStoragePoolUndefine`.
    pub fn undefine(&self) -> Result<()> {
        self.conn.check_rw("virStoragePoolUndefine")?;
        self.d()?.pool_undefine(&self.r)
    }
    /// `virStoragePoolRefresh`.
    pub fn refresh(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virStoragePoolRefresh")?;
        self.d()?.pool_refresh(&self.r, flags)
    }
    /// `virStoragePoolGetAutostart`.
    pub fn autostart(&self) -> Result<bool> {
        self.d()?.pool_get_autostart(&self.r)
    }
    /// `virStoragePoolSetAutostart`.
    pub fn set_autostart(&self, on: bool) -> Result<()> {
        self.conn.check_rw("virStoragePoolSetAutostart")?;
        self.d()?.pool_set_autostart(&self.r, on)
    }
    /// `virStoragePoolIsActive`.
    pub fn is_active(&self) -> Result<bool> {
        self.d()?.pool_is_active(&self.r)
    }
    /// `virStoragePoolIsPersistent`.
    pub fn is_persistent(&self) -> Result<bool> {
        self.d()?.pool_is_persistent(&self.r)
    }
    /// `virStoragePoolNumOfVolumes`.
    pub fn num_of_volumes(&self) -> Result<i32> {
        Ok(self.d()?.pool_list_all_volumes(&self.r, 0)?.len() as i32)
    }
    /// `virStoragePoolListAllVolumes`.
    pub fn list_all_volumes(&self, flags: u32) -> Result<Vec<StorageVol>> {
        Ok(self.d()?.pool_list_all_volumes(&self.r, flags)?.into_iter().map(|r| self.conn.vol(r)).collect())
    }
    /// `virStorageVolLookupByName`.
    pub fn vol_lookup_by_name(&self, name: &str) -> Result<StorageVol> {
        Ok(self.conn.vol(self.d()?.vol_lookup_by_name(&self.r, name)?))
    }
    /// `virStorageVolCreateXML`.
    pub fn vol_create_xml(&self, xml: &str, flags: VolCreateFlags) -> Result<StorageVol> {
        self.conn.check_rw("virStorageVolCreateXML")?;
        Ok(self.conn.vol(self.d()?.vol_create_xml(&self.r, xml, flags.bits())?))
    }
    /// `virStorageVolCreateXMLFrom`.
    pub fn vol_create_xml_from(&self, xml: &str, clone_from: &StorageVol, flags: VolCreateFlags) -> Result<StorageVol> {
        self.conn.check_rw("virStorageVolCreateXMLFrom")?;
        Ok(self.conn.vol(self.d()?.vol_create_xml_from(&self.r, xml, &clone_from.r, flags.bits())?))
    }
}

/// A storage volume handle (`virStorageVolPtr`).
#[derive(Clone)]
pub struct StorageVol {
    conn: Connect,
    r: StorageVolRef,
}

impl StorageVol {
    fn d(&self) -> Result<&dyn driver::StorageDriver> {
        self.conn.stor()
    }
    /// Raw reference.
    pub fn raw(&self) -> &StorageVolRef {
        &self.r
    }
    /// `virStorageVolGetName`.
    pub fn name(&self) -> &str {
        &self.r.name
    }
    /// `virStorageVolGetKey`.
    pub fn key(&self) -> &str {
        &self.r.key
    }
    /// Name of the pool holding the volume.
    pub fn pool_name(&self) -> &str {
        &self.r.pool
    }
    /// `virStoragePoolLookupByVolume`.
    pub fn pool(&self) -> Result<StoragePool> {
        Ok(self.conn.pool(self.d()?.pool_lookup_by_volume(&self.r)?))
    }
    /// `virStorageVolGetInfo`.
    pub fn info(&self) -> Result<StorageVolInfo> {
        self.d()?.vol_get_info(&self.r)
    }
    /// `virStorageVolGetInfoFlags`.
    pub fn info_flags(&self, flags: u32) -> Result<StorageVolInfo> {
        self.d()?.vol_get_info_flags(&self.r, flags)
    }
    /// `virStorageVolGetXMLDesc`.
    pub fn xml_desc(&self, flags: u32) -> Result<String> {
        self.d()?.vol_get_xml_desc(&self.r, flags)
    }
    /// `virStorageVolGetPath`.
    pub fn path(&self) -> Result<String> {
        self.d()?.vol_get_path(&self.r)
    }
    /// `virStorageVolDelete`.
    pub fn delete(&self, flags: VolDeleteFlags) -> Result<()> {
        self.conn.check_rw("virStorageVolDelete")?;
        self.d()?.vol_delete(&self.r, flags.bits())
    }
    /// `virStorageVolWipe`.
    pub fn wipe(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virStorageVolWipe")?;
        self.d()?.vol_wipe(&self.r, flags)
    }
    /// `virStorageVolResize`.
    pub fn resize(&self, capacity: u64, flags: VolResizeFlags) -> Result<()> {
        self.conn.check_rw("virStorageVolResize")?;
        self.d()?.vol_resize(&self.r, capacity, flags.bits())
    }
    /// `virStorageVolUpload`: a stream writing the volume from `offset`, at most
    /// `length` bytes (0: no limit). Send the data, then [`Stream::finish`].
    pub fn upload(&self, offset: u64, length: u64, flags: VolUploadFlags) -> Result<Stream> {
        self.conn.check_rw("virStorageVolUpload")?;
        let drv = self.d()?.vol_upload(&self.r, offset, length, flags.bits())?;
        Ok(Stream::new(drv, flags.contains(VolUploadFlags::SPARSE_STREAM)))
    }
    /// `virStorageVolDownload`: a stream reading the volume from `offset`, at most
    /// `length` bytes (0: to the end). Receive until [`StreamChunk::Eof`], then
    /// [`Stream::finish`].
    ///
    /// [`StreamChunk::Eof`]: crate::StreamChunk::Eof
    pub fn download(&self, offset: u64, length: u64, flags: VolDownloadFlags) -> Result<Stream> {
        // libvirt refuses downloads on read-only connections too.
        self.conn.check_rw("virStorageVolDownload")?;
        let drv = self.d()?.vol_download(&self.r, offset, length, flags.bits())?;
        Ok(Stream::new(drv, flags.contains(VolDownloadFlags::SPARSE_STREAM)))
    }
}

/// A secret handle (`virSecretPtr`).
#[derive(Clone)]
pub struct Secret {
    conn: Connect,
    r: SecretRef,
}

impl Secret {
    fn d(&self) -> Result<&dyn driver::SecretDriver> {
        self.conn.sec()
    }
    /// Raw reference.
    pub fn raw(&self) -> &SecretRef {
        &self.r
    }
    /// `virSecretGetUUID`.
    pub fn uuid(&self) -> Uuid {
        self.r.uuid
    }
    /// `virSecretGetUUIDString`.
    pub fn uuid_string(&self) -> String {
        uuidfmt::format(&self.r.uuid)
    }
    /// `virSecretGetUsageType`.
    pub fn usage_type(&self) -> i32 {
        self.r.usage_type
    }
    /// `virSecretGetUsageID`.
    pub fn usage_id(&self) -> &str {
        &self.r.usage_id
    }
    /// `virSecretGetXMLDesc`.
    pub fn xml_desc(&self, flags: u32) -> Result<String> {
        self.d()?.secret_get_xml_desc(&self.r, flags)
    }
    /// `virSecretSetValue`.
    pub fn set_value(&self, value: &[u8], flags: u32) -> Result<()> {
        self.conn.check_rw("virSecretSetValue")?;
        self.d()?.secret_set_value(&self.r, value, flags)
    }
    /// `virSecretGetValue` (refused on read-only connections, as libvirt does). This is
    /// the clients' entry: the internal-call bit
    /// ([`driver::SECRET_GET_VALUE_INTERNAL_CALL`]) is refused like any unknown flag,
    /// so a private secret's value is never returned through it.
    pub fn value(&self, flags: u32) -> Result<Vec<u8>> {
        self.conn.check_rw("virSecretGetValue")?;
        if flags & driver::SECRET_GET_VALUE_INTERNAL_CALL != 0 {
            return Err(Error::unsupported_flags(ErrorDomain::Secret, "secretGetValue", u64::from(flags)));
        }
        self.d()?.secret_get_value(&self.r, flags)
    }
    /// The value for a driver of this process that needs it to run a guest, private
    /// secrets included (libvirt's `virSecretGetSecretString`, which calls the driver
    /// with `VIR_SECRET_GET_VALUE_INTERNAL_CALL`). Never reachable from a client.
    pub fn value_internal(&self) -> Result<Vec<u8>> {
        self.d()?.secret_get_value(&self.r, driver::SECRET_GET_VALUE_INTERNAL_CALL)
    }
    /// `virSecretUndefine`.
    pub fn undefine(&self) -> Result<()> {
        self.conn.check_rw("virSecretUndefine")?;
        self.d()?.secret_undefine(&self.r)
    }
}

/// A network filter handle (`virNWFilterPtr`).
#[derive(Clone)]
pub struct NWFilter {
    conn: Connect,
    r: NWFilterRef,
}

impl NWFilter {
    fn d(&self) -> Result<&dyn driver::NWFilterDriver> {
        self.conn.nwf()
    }
    /// Raw reference.
    pub fn raw(&self) -> &NWFilterRef {
        &self.r
    }
    /// `virNWFilterGetName`.
    pub fn name(&self) -> &str {
        &self.r.name
    }
    /// `virNWFilterGetUUID`.
    pub fn uuid(&self) -> Uuid {
        self.r.uuid
    }
    /// `virNWFilterGetUUIDString`.
    pub fn uuid_string(&self) -> String {
        uuidfmt::format(&self.r.uuid)
    }
    /// `virNWFilterGetXMLDesc`.
    pub fn xml_desc(&self, flags: u32) -> Result<String> {
        self.d()?.nwfilter_get_xml_desc(&self.r, flags)
    }
    /// `virNWFilterUndefine`.
    pub fn undefine(&self) -> Result<()> {
        self.conn.check_rw("virNWFilterUndefine")?;
        self.d()?.nwfilter_undefine(&self.r)
    }
}

/// A host interface handle (`virInterfacePtr`).
#[derive(Clone)]
pub struct Interface {
    conn: Connect,
    r: InterfaceRef,
}

impl Interface {
    fn d(&self) -> Result<&dyn driver::InterfaceDriver> {
        self.conn.iface()
    }
    /// Raw reference.
    pub fn raw(&self) -> &InterfaceRef {
        &self.r
    }
    /// `virInterfaceGetName`.
    pub fn name(&self) -> &str {
        &self.r.name
    }
    /// `virInterfaceGetMACString`.
    pub fn mac(&self) -> &str {
        &self.r.mac
    }
    /// `virInterfaceGetXMLDesc`.
    pub fn xml_desc(&self, flags: InterfaceXmlFlags) -> Result<String> {
        self.d()?.interface_get_xml_desc(&self.r, flags.bits())
    }
    /// `virInterfaceCreate`.
    pub fn create(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virInterfaceCreate")?;
        self.d()?.interface_create(&self.r, flags)
    }
    /// `virInterfaceDestroy`.
    pub fn destroy(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virInterfaceDestroy")?;
        self.d()?.interface_destroy(&self.r, flags)
    }
    /// `virInterfaceUndefine`.
    pub fn undefine(&self) -> Result<()> {
        self.conn.check_rw("virInterfaceUndefine")?;
        self.d()?.interface_undefine(&self.r)
    }
    /// `virInterfaceIsActive`.
    pub fn is_active(&self) -> Result<bool> {
        self.d()?.interface_is_active(&self.r)
    }
}

/// A node device handle (`virNodeDevicePtr`).
#[derive(Clone)]
pub struct NodeDevice {
    conn: Connect,
    r: NodeDeviceRef,
}

impl NodeDevice {
    fn d(&self) -> Result<&dyn driver::NodeDeviceDriver> {
        self.conn.nodedev()
    }
    /// Raw reference.
    pub fn raw(&self) -> &NodeDeviceRef {
        &self.r
    }
    /// `virNodeDeviceGetName`.
    pub fn name(&self) -> &str {
        &self.r.name
    }
    /// `virNodeDeviceGetParent`.
    pub fn parent(&self) -> Result<Option<String>> {
        self.d()?.nodedev_get_parent(&self.r)
    }
    /// `virNodeDeviceGetXMLDesc`.
    pub fn xml_desc(&self, flags: u32) -> Result<String> {
        self.d()?.nodedev_get_xml_desc(&self.r, flags)
    }
    /// `virNodeDeviceListCaps`.
    pub fn list_caps(&self) -> Result<Vec<String>> {
        self.d()?.nodedev_list_caps(&self.r)
    }
    /// `virNodeDeviceDestroy`.
    pub fn destroy(&self) -> Result<()> {
        self.conn.check_rw("virNodeDeviceDestroy")?;
        self.d()?.nodedev_destroy(&self.r)
    }
    /// `virNodeDeviceUndefine`.
    pub fn undefine(&self, flags: u32) -> Result<()> {
        self.conn.check_rw("virNodeDeviceUndefine")?;
        self.d()?.nodedev_undefine(&self.r, flags)
    }
}
