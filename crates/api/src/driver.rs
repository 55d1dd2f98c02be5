//! Driver interfaces and the driver registry.
//!
//! A driver is a set of trait impls, one per object family (libvirt's
//! `virHypervisorDriver`, `virNetworkDriver`, ...). Every method has a default body that
//! fails with `VIR_ERR_NO_SUPPORT`, like a NULL slot in libvirt's tables. Methods take
//! raw `u32` flag bits, exactly as they cross the wire; drivers reject bits they do not
//! know with `VIR_ERR_INVALID_ARG` (see [`check_flags`]).

use crate::event::{EventCallback, EventClass};
use crate::stats::*;
use crate::stream::StreamDriver;
use crate::typedparam::TypedParam;
use crate::types::*;
use crate::uri::Uri;
use crate::{Error, Result};
use oxvirt_util::uuid::Uuid;
use oxvirt_util::{ErrorCode, ErrorDomain};
use std::sync::{Arc, Mutex};

/// `VIR_ERR_NO_SUPPORT` for `api`, reported from the subsystem of libvirt's public API
/// file that defines `api` (see [`api_error_domain`]).
pub fn no_support(api: &str) -> Error {
    Error::new(ErrorCode::NoSupport, api_error_domain(api), api)
}

/// The error domain libvirt's public API layer reports from for `api` (each
/// `src/libvirt-*.c` file has its own `VIR_FROM_THIS`): snapshots, networks, storage,
/// secrets, nwfilters, interfaces, node devices and streams have theirs; the domain
/// and host calls use `VIR_FROM_DOMAIN`; anything else `VIR_FROM_NONE`.
pub fn api_error_domain(api: &str) -> ErrorDomain {
    let Some(rest) = api.strip_prefix("vir") else { return ErrorDomain::None };
    const TABLE: &[(&str, ErrorDomain)] = &[
        ("DomainSnapshot", ErrorDomain::DomainSnapshot),
        ("DomainRevertToSnapshot", ErrorDomain::DomainSnapshot),
        ("DomainHasCurrentSnapshot", ErrorDomain::DomainSnapshot),
        ("DomainListAllSnapshots", ErrorDomain::DomainSnapshot),
        ("Domain", ErrorDomain::Domain),
        ("ConnectListAllNetworks", ErrorDomain::Network),
        ("Network", ErrorDomain::Network),
        ("ConnectListAllStoragePools", ErrorDomain::Storage),
        ("ConnectFindStoragePoolSources", ErrorDomain::Storage),
        ("Storage", ErrorDomain::Storage),
        ("ConnectListAllSecrets", ErrorDomain::Secret),
        ("Secret", ErrorDomain::Secret),
        ("ConnectListAllNWFilters", ErrorDomain::Nwfilter),
        ("NWFilter", ErrorDomain::Nwfilter),
        ("ConnectListAllInterfaces", ErrorDomain::Interface),
        ("Interface", ErrorDomain::Interface),
        ("ConnectListAllNodeDevices", ErrorDomain::Nodedev),
        ("NodeDevice", ErrorDomain::Nodedev),
        ("Stream", ErrorDomain::Streams),
        ("Connect", ErrorDomain::Domain),
        ("Node", ErrorDomain::Domain),
    ];
    TABLE.iter().find(|(p, _)| rest.starts_with(p)).map(|(_, d)| *d).unwrap_or(ErrorDomain::None)
}

/// Fail with libvirt's `virCheckFlags` error when `flags` has bits outside `allowed`.
pub fn check_flags(flags: u32, allowed: u32, func: &str, domain: ErrorDomain) -> Result<()> {
    let bad = flags & !allowed;
    if bad != 0 {
        return Err(Error::unsupported_flags(domain, func, u64::from(bad)));
    }
    Ok(())
}

macro_rules! nosup {
    ($name:literal) => {
        Err(no_support($name))
    };
}

/// Connection-level and domain calls (`virHypervisorDriver`).
#[allow(unused_variables)]
pub trait HypervisorDriver: Send + Sync {
    /// Called once when the last handle of the connection goes away.
    fn close(&self) {}
    /// `virConnectGetType` (e.g. "Test", "QEMU").
    fn get_type(&self) -> Result<String>;
    /// `virConnectGetVersion`: hypervisor version number.
    fn get_version(&self) -> Result<u64> {
        nosup!("virConnectGetVersion")
    }
    /// `virConnectGetHostname`.
    fn get_hostname(&self) -> Result<String> {
        nosup!("virConnectGetHostname")
    }
    /// `virConnectGetCapabilities`.
    fn get_capabilities(&self) -> Result<String> {
        nosup!("virConnectGetCapabilities")
    }
    /// `virConnectDomainXMLToNative`: `xml` as the hypervisor's native configuration
    /// in `format` (the QEMU driver: `qemu-argv`, the command line it would run).
    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        nosup!("virConnectDomainXMLToNative")
    }
    /// `virConnectGetMaxVcpus`.
    fn get_max_vcpus(&self, typ: Option<&str>) -> Result<i32> {
        nosup!("virConnectGetMaxVcpus")
    }
    /// `virNodeGetInfo`.
    fn node_get_info(&self) -> Result<NodeInfo> {
        nosup!("virNodeGetInfo")
    }
    /// `virNodeGetFreeMemory` in bytes.
    fn node_get_free_memory(&self) -> Result<u64> {
        nosup!("virNodeGetFreeMemory")
    }
    /// `virNodeGetCellsFreeMemory` in bytes, per cell from `start`.
    fn node_get_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        nosup!("virNodeGetCellsFreeMemory")
    }
    /// `virNodeGetSecurityModel`.
    fn node_get_security_model(&self) -> Result<SecurityModel> {
        nosup!("virNodeGetSecurityModel")
    }
    /// `virConnectIsAlive`.
    fn is_alive(&self) -> bool {
        true
    }
    /// `virConnectIsEncrypted`.
    fn is_encrypted(&self) -> bool {
        false
    }
    /// `virConnectIsSecure`.
    fn is_secure(&self) -> bool {
        true
    }
    /// `virConnectGetSysinfo`.
    fn get_sysinfo(&self, flags: u32) -> Result<String> {
        nosup!("virConnectGetSysinfo")
    }
    // domain capabilities (qcaps)
    /// `virConnectGetDomainCapabilities`: the `<domainCapabilities>` document for an
    /// emulator binary, architecture, machine type and virtualization type (each
    /// optional: the driver picks its defaults).
    fn get_domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        nosup!("virConnectGetDomainCapabilities")
    }

    /// `virConnectListAllDomains` (`ListDomainsFlags` bits).
    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        nosup!("virConnectListAllDomains")
    }
    /// `virConnectNumOfDomains` (active).
    fn num_of_domains(&self) -> Result<i32> {
        Ok(self.list_all_domains(1)?.len() as i32)
    }
    /// `virConnectNumOfDefinedDomains` (inactive).
    fn num_of_defined_domains(&self) -> Result<i32> {
        Ok(self.list_all_domains(2)?.len() as i32)
    }
    /// `virDomainLookupByID`.
    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        nosup!("virDomainLookupByID")
    }
    /// `virDomainLookupByName`.
    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        nosup!("virDomainLookupByName")
    }
    /// `virDomainLookupByUUID`.
    fn domain_lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainRef> {
        nosup!("virDomainLookupByUUID")
    }
    /// `virDomainDefineXMLFlags`.
    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        nosup!("virDomainDefineXMLFlags")
    }
    /// `virDomainUndefineFlags`.
    fn domain_undefine(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainUndefineFlags")
    }
    /// `virDomainCreateXML` (transient).
    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        nosup!("virDomainCreateXML")
    }
    /// `virDomainCreateWithFlags`; returns the refreshed reference (new id).
    fn domain_create(&self, d: &DomainRef, flags: u32) -> Result<DomainRef> {
        nosup!("virDomainCreateWithFlags")
    }
    /// `virDomainDestroyFlags`.
    fn domain_destroy(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainDestroyFlags")
    }
    /// `virDomainShutdownFlags`.
    fn domain_shutdown(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainShutdownFlags")
    }
    /// `virDomainReboot`.
    fn domain_reboot(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainReboot")
    }
    /// `virDomainReset`.
    fn domain_reset(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainReset")
    }
    /// `virDomainQemuMonitorCommand` (libvirt-qemu): `cmd` is QMP JSON, or an HMP
    /// command line with flag 1 (`VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`); returns the reply text.
    fn domain_qemu_monitor_command(&self, d: &DomainRef, cmd: &str, flags: u32) -> Result<String> {
        nosup!("virDomainQemuMonitorCommand")
    }
    /// `virDomainQemuAgentCommand` (libvirt-qemu): `cmd` is guest-agent JSON; `timeout`
    /// is seconds or -2 (block), -1 (default), 0 (no wait). Returns the reply text.
    fn domain_qemu_agent_command(&self, d: &DomainRef, cmd: &str, timeout: i32, flags: u32) -> Result<Option<String>> {
        nosup!("virDomainQemuAgentCommand")
    }
    /// `virDomainOpenConsole`: an interactive stream on the domain's console or serial
    /// port `dev_name` (an alias; `None`: the first console, else the first serial).
    /// What the guest writes comes out of the stream, what is sent goes to the guest.
    /// `flags`: [`crate::flags::DomainConsoleFlags`].
    fn domain_open_console(&self, d: &DomainRef, dev_name: Option<&str>, flags: u32) -> Result<Box<dyn StreamDriver>> {
        nosup!("virDomainOpenConsole")
    }
    /// `virDomainSuspend`.
    fn domain_suspend(&self, d: &DomainRef) -> Result<()> {
        nosup!("virDomainSuspend")
    }
    /// `virDomainResume`.
    fn domain_resume(&self, d: &DomainRef) -> Result<()> {
        nosup!("virDomainResume")
    }
    /// `virDomainSaveFlags`.
    fn domain_save(&self, d: &DomainRef, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        nosup!("virDomainSaveFlags")
    }
    /// `virDomainRestoreFlags`.
    fn domain_restore(&self, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        nosup!("virDomainRestoreFlags")
    }
    /// `virDomainSaveImageGetXMLDesc`.
    fn domain_save_image_get_xml_desc(&self, path: &str, flags: u32) -> Result<String> {
        nosup!("virDomainSaveImageGetXMLDesc")
    }
    /// `virDomainManagedSave`.
    fn domain_managed_save(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainManagedSave")
    }
    /// `virDomainHasManagedSaveImage`.
    fn domain_has_managed_save(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        nosup!("virDomainHasManagedSaveImage")
    }
    /// `virDomainManagedSaveRemove`.
    fn domain_managed_save_remove(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainManagedSaveRemove")
    }
    /// `virDomainManagedSaveGetXMLDesc`: the XML in the managed save image.
    fn domain_managed_save_get_xml_desc(&self, d: &DomainRef, flags: u32) -> Result<String> {
        nosup!("virDomainManagedSaveGetXMLDesc")
    }
    /// `virDomainManagedSaveDefineXML`: replace the XML in the managed save image.
    fn domain_managed_save_define_xml(&self, d: &DomainRef, dxml: Option<&str>, flags: u32) -> Result<()> {
        nosup!("virDomainManagedSaveDefineXML")
    }
    /// `virDomainGetInfo`.
    fn domain_get_info(&self, d: &DomainRef) -> Result<DomainInfo> {
        nosup!("virDomainGetInfo")
    }
    /// `virDomainGetSecurityLabel`.
    fn domain_get_security_label(&self, d: &DomainRef) -> Result<SecurityLabel> {
        nosup!("virDomainGetSecurityLabel")
    }
    /// `virDomainGetState`: (state, reason).
    fn domain_get_state(&self, d: &DomainRef, flags: u32) -> Result<(DomainState, i32)> {
        nosup!("virDomainGetState")
    }
    /// `virDomainGetXMLDesc`.
    fn domain_get_xml_desc(&self, d: &DomainRef, flags: u32) -> Result<String> {
        nosup!("virDomainGetXMLDesc")
    }
    /// `virDomainGetOSType`.
    fn domain_get_os_type(&self, d: &DomainRef) -> Result<String> {
        nosup!("virDomainGetOSType")
    }
    /// `virDomainGetMaxMemory` in KiB.
    fn domain_get_max_memory(&self, d: &DomainRef) -> Result<u64> {
        nosup!("virDomainGetMaxMemory")
    }
    /// `virDomainSetMaxMemory` in KiB.
    fn domain_set_max_memory(&self, d: &DomainRef, kib: u64) -> Result<()> {
        nosup!("virDomainSetMaxMemory")
    }
    /// `virDomainSetMemoryFlags` in KiB (`DomainModFlags` bits).
    fn domain_set_memory(&self, d: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        nosup!("virDomainSetMemoryFlags")
    }
    /// `virDomainSetVcpusFlags`.
    fn domain_set_vcpus(&self, d: &DomainRef, n: u32, flags: u32) -> Result<()> {
        nosup!("virDomainSetVcpusFlags")
    }
    /// `virDomainGetVcpusFlags`.
    fn domain_get_vcpus_flags(&self, d: &DomainRef, flags: u32) -> Result<i32> {
        nosup!("virDomainGetVcpusFlags")
    }
    /// `virDomainGetMaxVcpus`.
    fn domain_get_max_vcpus(&self, d: &DomainRef) -> Result<i32> {
        self.domain_get_vcpus_flags(d, 4 | 1)
    }
    /// `virDomainGetAutostart`.
    fn domain_get_autostart(&self, d: &DomainRef) -> Result<bool> {
        nosup!("virDomainGetAutostart")
    }
    /// `virDomainSetAutostart`.
    fn domain_set_autostart(&self, d: &DomainRef, on: bool) -> Result<()> {
        nosup!("virDomainSetAutostart")
    }
    /// `virDomainIsActive`.
    fn domain_is_active(&self, d: &DomainRef) -> Result<bool> {
        nosup!("virDomainIsActive")
    }
    /// `virDomainIsPersistent`.
    fn domain_is_persistent(&self, d: &DomainRef) -> Result<bool> {
        nosup!("virDomainIsPersistent")
    }
    /// `virDomainIsUpdated`.
    fn domain_is_updated(&self, d: &DomainRef) -> Result<bool> {
        nosup!("virDomainIsUpdated")
    }
    /// `virDomainGetHostname`.
    fn domain_get_hostname(&self, d: &DomainRef, flags: u32) -> Result<String> {
        nosup!("virDomainGetHostname")
    }
    /// `virDomainRename`.
    fn domain_rename(&self, d: &DomainRef, new_name: &str, flags: u32) -> Result<DomainRef> {
        nosup!("virDomainRename")
    }
    /// `virDomainGetSchedulerType`: (type, nparams).
    fn domain_get_scheduler_type(&self, d: &DomainRef) -> Result<(String, i32)> {
        nosup!("virDomainGetSchedulerType")
    }
    /// `virDomainSetMetadata`.
    fn domain_set_metadata(
        &self,
        d: &DomainRef,
        typ: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        nosup!("virDomainSetMetadata")
    }
    /// `virDomainGetMetadata`.
    fn domain_get_metadata(&self, d: &DomainRef, typ: i32, uri: Option<&str>, flags: u32) -> Result<String> {
        nosup!("virDomainGetMetadata")
    }
    // ---- device hotplug (virDomainAttachDevice* / DetachDevice* / UpdateDeviceFlags) ----
    /// `virDomainAttachDevice`.
    fn domain_attach_device(&self, d: &DomainRef, xml: &str) -> Result<()> {
        nosup!("virDomainAttachDevice")
    }
    /// `virDomainAttachDeviceFlags`.
    fn domain_attach_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        nosup!("virDomainAttachDeviceFlags")
    }
    /// `virDomainDetachDevice`.
    fn domain_detach_device(&self, d: &DomainRef, xml: &str) -> Result<()> {
        nosup!("virDomainDetachDevice")
    }
    /// `virDomainDetachDeviceFlags`.
    fn domain_detach_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        nosup!("virDomainDetachDeviceFlags")
    }
    /// `virDomainDetachDeviceAlias`.
    fn domain_detach_device_alias(&self, d: &DomainRef, alias: &str, flags: u32) -> Result<()> {
        nosup!("virDomainDetachDeviceAlias")
    }
    /// `virDomainUpdateDeviceFlags`.
    fn domain_update_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        nosup!("virDomainUpdateDeviceFlags")
    }
    // ---- end of device hotplug ----

    // information and statistics (qinfo)
    /// `virDomainBlockStats` for disk `path` (target or source; "" sums all disks).
    fn domain_block_stats(&self, d: &DomainRef, path: &str) -> Result<BlockStats> {
        nosup!("virDomainBlockStats")
    }
    /// `virDomainBlockStatsFlags`: every statistic the driver has for `path`.
    fn domain_block_stats_flags(&self, d: &DomainRef, path: &str, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainBlockStatsFlags")
    }
    /// `virDomainInterfaceStats` for interface `device` (name or MAC).
    fn domain_interface_stats(&self, d: &DomainRef, device: &str) -> Result<InterfaceStats> {
        nosup!("virDomainInterfaceStats")
    }
    /// `virDomainMemoryStats`: at most `nr` statistics.
    fn domain_memory_stats(&self, d: &DomainRef, nr: u32, flags: u32) -> Result<Vec<MemoryStat>> {
        nosup!("virDomainMemoryStats")
    }
    /// `virDomainSetMemoryStatsPeriod` (seconds; `DomainModFlags` bits).
    fn domain_set_memory_stats_period(&self, d: &DomainRef, period: i32, flags: u32) -> Result<()> {
        nosup!("virDomainSetMemoryStatsPeriod")
    }
    /// `virDomainGetBlockInfo` for disk `path`.
    fn domain_get_block_info(&self, d: &DomainRef, path: &str, flags: u32) -> Result<BlockInfo> {
        nosup!("virDomainGetBlockInfo")
    }
    /// `virDomainGetVcpus`: at most `maxinfo` vCPUs, with their CPU maps of `maplen`
    /// bytes each (empty when `maplen` is 0).
    fn domain_get_vcpus(&self, d: &DomainRef, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        nosup!("virDomainGetVcpus")
    }
    /// `virDomainGetTime`: the guest's clock (seconds, nanoseconds).
    fn domain_get_time(&self, d: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        nosup!("virDomainGetTime")
    }
    /// `virDomainSetTime` (`VIR_DOMAIN_TIME_SYNC` = 1 reads the RTC instead).
    fn domain_set_time(&self, d: &DomainRef, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
        nosup!("virDomainSetTime")
    }
    /// `virDomainInterfaceAddresses` from `source` ([`crate::stats::ifaddr_source`]).
    fn domain_interface_addresses(&self, d: &DomainRef, source: u32, flags: u32) -> Result<Vec<DomainInterface>> {
        nosup!("virDomainInterfaceAddresses")
    }
    /// `virConnectGetAllDomainStats` (`doms` empty) / `virDomainListGetStats` (`doms`
    /// given): `stats` are [`crate::stats::stats_types`] bits, `flags`
    /// [`crate::stats::stats_flags`].
    fn get_all_domain_stats(&self, doms: &[DomainRef], stats: u32, flags: u32) -> Result<Vec<DomainStatsRecord>> {
        nosup!("virConnectGetAllDomainStats")
    }
    /// `virDomainGetGuestInfo`: `types` are [`crate::stats::guest_info_types`] bits.
    fn domain_get_guest_info(&self, d: &DomainRef, types: u32, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetGuestInfo")
    }
    /// `virDomainGetControlInfo`.
    fn domain_get_control_info(&self, d: &DomainRef, flags: u32) -> Result<ControlInfo> {
        nosup!("virDomainGetControlInfo")
    }
    /// `virDomainGetJobInfo`.
    fn domain_get_job_info(&self, d: &DomainRef) -> Result<JobInfo> {
        nosup!("virDomainGetJobInfo")
    }
    /// `virDomainGetJobStats`: (`virDomainJobType`, parameters).
    fn domain_get_job_stats(&self, d: &DomainRef, flags: u32) -> Result<(i32, Vec<TypedParam>)> {
        nosup!("virDomainGetJobStats")
    }
    /// `virDomainGetDiskErrors`: at most `maxerrors` errors; with 0, the number of
    /// disks that could have one, as an empty list of that length is not useful:
    /// `Err` aside, `Ok((count, errors))`.
    fn domain_get_disk_errors(&self, d: &DomainRef, maxerrors: u32, flags: u32) -> Result<(i32, Vec<DiskError>)> {
        nosup!("virDomainGetDiskErrors")
    }
    /// `virDomainInjectNMI`.
    fn domain_inject_nmi(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainInjectNMI")
    }
    // send-key, screenshot, PM suspend/wakeup.
    /// `virDomainSendKey`: press `keycodes` (of `codeset`, `virKeycodeSet`) together,
    /// for `holdtime` ms (0: the hypervisor's default).
    fn domain_send_key(&self, d: &DomainRef, codeset: u32, holdtime: u32, keycodes: &[u32], flags: u32) -> Result<()> {
        nosup!("virDomainSendKey")
    }
    /// `virDomainScreenshot`: the MIME type of the image of `screen` and a download
    /// stream carrying it.
    fn domain_screenshot(&self, d: &DomainRef, screen: u32, flags: u32) -> Result<(String, Box<dyn StreamDriver>)> {
        nosup!("virDomainScreenshot")
    }
    /// `virDomainPMSuspendForDuration`: `target` is `virNodeSuspendTarget` (0 mem,
    /// 1 disk, 2 hybrid), `duration` seconds (0: until woken up).
    fn domain_pm_suspend_for_duration(&self, d: &DomainRef, target: u32, duration: u64, flags: u32) -> Result<()> {
        nosup!("virDomainPMSuspendForDuration")
    }
    /// `virDomainPMWakeup`.
    fn domain_pm_wakeup(&self, d: &DomainRef, flags: u32) -> Result<()> {
        nosup!("virDomainPMWakeup")
    }
    /// `virDomainFSFreeze` (all file systems when `mountpoints` is empty): the number frozen.
    fn domain_fs_freeze(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        nosup!("virDomainFSFreeze")
    }
    /// `virDomainFSThaw`: the number thawed.
    fn domain_fs_thaw(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        nosup!("virDomainFSThaw")
    }
    /// `virDomainGetFSInfo`.
    fn domain_get_fs_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        nosup!("virDomainGetFSInfo")
    }
    /// `virDomainSetUserPassword` (`VIR_DOMAIN_PASSWORD_ENCRYPTED` = 1).
    fn domain_set_user_password(&self, d: &DomainRef, user: &str, password: &str, flags: u32) -> Result<()> {
        nosup!("virDomainSetUserPassword")
    }
    /// `virDomainAgentSetResponseTimeout` (seconds; -2 block, -1 default, 0 no wait).
    fn domain_agent_set_response_timeout(&self, d: &DomainRef, timeout: i32, flags: u32) -> Result<()> {
        nosup!("virDomainAgentSetResponseTimeout")
    }
    /// `virDomainGetGuestVcpus`: `vcpus`, `online`, `offlinable` as CPU lists.
    fn domain_get_guest_vcpus(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetGuestVcpus")
    }
    /// `virDomainSetGuestVcpus`: bring the vCPUs of `cpumap` (`0-3,^2`) online
    /// (`state` 1) or offline (0) inside the guest.
    fn domain_set_guest_vcpus(&self, d: &DomainRef, cpumap: &str, state: i32, flags: u32) -> Result<()> {
        nosup!("virDomainSetGuestVcpus")
    }
    // end of information and statistics (qinfo)

    /// `virDomainSnapshotCreateXML`.
    fn snapshot_create_xml(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<SnapshotRef> {
        nosup!("virDomainSnapshotCreateXML")
    }
    /// `virDomainListAllSnapshots` (names, in the driver's order).
    fn snapshot_list_all(&self, d: &DomainRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        nosup!("virDomainListAllSnapshots")
    }
    /// `virDomainSnapshotListAllChildren`.
    fn snapshot_list_children(&self, s: &SnapshotRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        nosup!("virDomainSnapshotListAllChildren")
    }
    /// `virDomainSnapshotLookupByName`.
    fn snapshot_lookup_by_name(&self, d: &DomainRef, name: &str, flags: u32) -> Result<SnapshotRef> {
        nosup!("virDomainSnapshotLookupByName")
    }
    /// `virDomainHasCurrentSnapshot`.
    fn snapshot_has_current(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        nosup!("virDomainHasCurrentSnapshot")
    }
    /// `virDomainSnapshotCurrent`.
    fn snapshot_current(&self, d: &DomainRef, flags: u32) -> Result<SnapshotRef> {
        nosup!("virDomainSnapshotCurrent")
    }
    /// `virDomainSnapshotGetParent`.
    fn snapshot_get_parent(&self, s: &SnapshotRef, flags: u32) -> Result<SnapshotRef> {
        nosup!("virDomainSnapshotGetParent")
    }
    /// `virDomainSnapshotGetXMLDesc`.
    fn snapshot_get_xml_desc(&self, s: &SnapshotRef, flags: u32) -> Result<String> {
        nosup!("virDomainSnapshotGetXMLDesc")
    }
    /// `virDomainSnapshotIsCurrent`.
    fn snapshot_is_current(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        nosup!("virDomainSnapshotIsCurrent")
    }
    /// `virDomainSnapshotHasMetadata`.
    fn snapshot_has_metadata(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        nosup!("virDomainSnapshotHasMetadata")
    }
    /// `virDomainRevertToSnapshot`.
    fn snapshot_revert(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        nosup!("virDomainRevertToSnapshot")
    }
    /// `virDomainSnapshotDelete`.
    fn snapshot_delete(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        nosup!("virDomainSnapshotDelete")
    }

    // tuning, pinning, devices (rss)
    /// `virNodeGetCPUStats`: every statistic of `cpu` (-1: all CPUs) as (field, value).
    fn node_get_cpu_stats(&self, cpu: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        nosup!("virNodeGetCPUStats")
    }
    /// `virNodeGetMemoryStats`: every statistic of NUMA cell `cell` (-1: the whole
    /// host) in KiB as (field, value).
    fn node_get_memory_stats(&self, cell: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        nosup!("virNodeGetMemoryStats")
    }
    /// `virNodeGetCPUMap`: (number of host CPUs, map of the online ones, online count).
    fn node_get_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        nosup!("virNodeGetCPUMap")
    }
    /// `virConnectGetCPUModelNames` for architecture `arch`.
    fn connect_get_cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<String>> {
        nosup!("virConnectGetCPUModelNames")
    }
    /// `virDomainGetSchedulerParametersFlags` (every parameter).
    fn domain_get_scheduler_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetSchedulerParametersFlags")
    }
    /// `virDomainSetSchedulerParametersFlags`.
    fn domain_set_scheduler_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        nosup!("virDomainSetSchedulerParametersFlags")
    }
    /// `virDomainGetMemoryParameters` (every parameter).
    fn domain_get_memory_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetMemoryParameters")
    }
    /// `virDomainSetMemoryParameters`.
    fn domain_set_memory_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        nosup!("virDomainSetMemoryParameters")
    }
    /// `virDomainGetBlkioParameters` (every parameter).
    fn domain_get_blkio_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetBlkioParameters")
    }
    /// `virDomainPinVcpuFlags` (`virDomainPinVcpu` passes no flags).
    fn domain_pin_vcpu(&self, d: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        nosup!("virDomainPinVcpuFlags")
    }
    /// `virDomainGetVcpuPinInfo`: `ncpumaps` maps of `maplen` bytes; returns the maps
    /// (`ncpumaps * maplen` bytes) and the number of vCPUs filled in.
    fn domain_get_vcpu_pin_info(&self, d: &DomainRef, ncpumaps: i32, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        nosup!("virDomainGetVcpuPinInfo")
    }
    /// `virDomainPinEmulator`.
    fn domain_pin_emulator(&self, d: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
        nosup!("virDomainPinEmulator")
    }
    /// `virDomainGetEmulatorPinInfo`: the map (`maplen` bytes) and libvirt's return value.
    fn domain_get_emulator_pin_info(&self, d: &DomainRef, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        nosup!("virDomainGetEmulatorPinInfo")
    }
    /// `virDomainSetBlkioParameters`.
    fn domain_set_blkio_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        nosup!("virDomainSetBlkioParameters")
    }
    /// `virDomainGetNumaParameters` (every parameter).
    fn domain_get_numa_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetNumaParameters")
    }
    /// `virDomainSetNumaParameters`.
    fn domain_set_numa_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        nosup!("virDomainSetNumaParameters")
    }
    /// `virDomainGetPerfEvents`.
    fn domain_get_perf_events(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetPerfEvents")
    }
    /// `virDomainSetPerfEvents`.
    fn domain_set_perf_events(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        nosup!("virDomainSetPerfEvents")
    }
    /// `virDomainSetLifecycleAction` (`typ`: `virDomainLifecycle`, `action`:
    /// `virDomainLifecycleAction`).
    fn domain_set_lifecycle_action(&self, d: &DomainRef, typ: u32, action: u32, flags: u32) -> Result<()> {
        nosup!("virDomainSetLifecycleAction")
    }
    /// `virDomainMemoryPeek`: `size` bytes from `start`.
    fn domain_memory_peek(&self, d: &DomainRef, start: u64, size: u32, flags: u32) -> Result<Vec<u8>> {
        nosup!("virDomainMemoryPeek")
    }
    /// `virDomainGetMessages`.
    fn domain_get_messages(&self, d: &DomainRef, flags: u32) -> Result<Vec<String>> {
        nosup!("virDomainGetMessages")
    }
    /// `virDomainCoreDumpWithFormat` (`virDomainCoreDump` is format 0, raw).
    fn domain_core_dump(&self, d: &DomainRef, to: &str, dumpformat: u32, flags: u32) -> Result<()> {
        nosup!("virDomainCoreDump")
    }
    /// `virNodeGetFreePages`: `counts` (`pages.len() * cell_count`, cell-major) and the
    /// driver's return value (libvirt's test driver returns 0, not the count).
    fn node_get_free_pages(&self, pages: &[u32], start_cell: i32, cell_count: u32, flags: u32) -> Result<(Vec<u64>, i32)> {
        nosup!("virNodeGetFreePages")
    }
    /// `virDomainGetInterfaceParameters` of interface `device` (MAC or target name).
    fn domain_get_interface_parameters(&self, d: &DomainRef, device: &str, flags: u32) -> Result<Vec<TypedParam>> {
        nosup!("virDomainGetInterfaceParameters")
    }
    /// `virDomainSetInterfaceParameters`.
    fn domain_set_interface_parameters(&self, d: &DomainRef, device: &str, params: &[TypedParam], flags: u32) -> Result<()> {
        nosup!("virDomainSetInterfaceParameters")
    }
    /// `virDomainSaveImageDefineXML`: replace the domain XML inside a save image.
    fn domain_save_image_define_xml(&self, path: &str, dxml: &str, flags: u32) -> Result<()> {
        nosup!("virDomainSaveImageDefineXML")
    }
    /// `virDomainGetIOThreadInfo`: (IOThread id, cpumap) of each IOThread.
    fn domain_get_iothread_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        nosup!("virDomainGetIOThreadInfo")
    }
    /// `virDomainAddIOThread`.
    fn domain_add_iothread(&self, d: &DomainRef, id: u32, flags: u32) -> Result<()> {
        nosup!("virDomainAddIOThread")
    }
    /// `virDomainDelIOThread`.
    fn domain_del_iothread(&self, d: &DomainRef, id: u32, flags: u32) -> Result<()> {
        nosup!("virDomainDelIOThread")
    }
    /// `virDomainPinIOThread`.
    fn domain_pin_iothread(&self, d: &DomainRef, id: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        nosup!("virDomainPinIOThread")
    }
    /// `virDomainSetIOThreadParams`.
    fn domain_set_iothread_params(&self, d: &DomainRef, id: u32, params: &[TypedParam], flags: u32) -> Result<()> {
        nosup!("virDomainSetIOThreadParams")
    }
    // end of tuning, pinning, devices (rss)

    /// Register an event callback (`virConnectDomainEventRegisterAny` and the
    /// network/pool/nodedev/secret equivalents, which drivers without those
    /// sub-drivers may serve from the same bus). `filter` is the object's UUID bytes
    /// (name bytes for node devices).
    fn event_register(&self, class: EventClass, event_id: i32, filter: Option<Vec<u8>>, cb: EventCallback) -> Result<i32> {
        nosup!("virConnectDomainEventRegisterAny")
    }
    /// Deregister an event callback.
    fn event_deregister(&self, callback_id: i32) -> Result<()> {
        nosup!("virConnectDomainEventDeregisterAny")
    }

    // ---- fd passing and close callbacks ----
    /// `VIR_DRV_FEATURE_FD_PASSING`: whether descriptors reach the driver. Local
    /// drivers always can (libvirt treats it as a global feature); a remote connection
    /// asks its server.
    fn supports_fd_passing(&self) -> Result<bool> {
        Ok(true)
    }
    /// `virDomainOpenGraphics`: hand the connected socket `fd` to graphics device
    /// `idx` (flag 1: `VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH`). The driver owns `fd`.
    fn domain_open_graphics(&self, d: &DomainRef, idx: u32, fd: std::os::fd::OwnedFd, flags: u32) -> Result<()> {
        nosup!("virDomainOpenGraphics")
    }
    /// `virDomainOpenGraphicsFD`: a new socket connected to graphics device `idx`.
    fn domain_open_graphics_fd(&self, d: &DomainRef, idx: u32, flags: u32) -> Result<std::os::fd::OwnedFd> {
        nosup!("virDomainOpenGraphicsFD")
    }
    /// `virDomainCreateXMLWithFiles` (transient, with descriptors for the guest).
    fn domain_create_xml_with_files(&self, xml: &str, files: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<DomainRef> {
        nosup!("virDomainCreateXMLWithFiles")
    }
    /// `virDomainCreateWithFiles`; returns the refreshed reference (new id).
    fn domain_create_with_files(&self, d: &DomainRef, files: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<DomainRef> {
        nosup!("virDomainCreateWithFiles")
    }
    /// `virDomainFDAssociate`: keep `fds` under `name` for `fdgroup` disk sources.
    fn domain_fd_associate(&self, d: &DomainRef, name: &str, fds: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<()> {
        nosup!("virDomainFDAssociate")
    }
    /// `virDomainQemuMonitorCommandWithFiles` (libvirt-qemu): like
    /// [`HypervisorDriver::domain_qemu_monitor_command`], passing `fds` to QEMU with the
    /// command; returns the reply text and the descriptors QEMU passed back.
    fn domain_qemu_monitor_command_with_files(
        &self,
        d: &DomainRef,
        cmd: &str,
        fds: Vec<std::os::fd::OwnedFd>,
        flags: u32,
    ) -> Result<(String, Vec<std::os::fd::OwnedFd>)> {
        nosup!("virDomainQemuMonitorCommandWithFiles")
    }
    /// `virConnectRegisterCloseCallback`: call `cb` with a `VIR_CONNECT_CLOSE_REASON_*`
    /// when the connection closes other than by the caller. Drivers without a
    /// transport never close on their own; like libvirt's empty slot, registering
    /// then succeeds and the callback is never called.
    fn connect_register_close_callback(&self, cb: CloseCallback) -> Result<()> {
        Ok(())
    }
    /// `virConnectUnregisterCloseCallback`.
    fn connect_unregister_close_callback(&self) -> Result<()> {
        Ok(())
    }
}

/// A connection close callback; the argument is a `VIR_CONNECT_CLOSE_REASON_*`
/// (0 error, 1 end of file, 2 keepalive timeout, 3 client).
pub type CloseCallback = Arc<dyn Fn(i32) + Send + Sync>;

/// `virNetworkDriver`.
#[allow(unused_variables)]
pub trait NetworkDriver: Send + Sync {
    /// `virConnectListAllNetworks`.
    fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        nosup!("virConnectListAllNetworks")
    }
    /// `virNetworkLookupByName`.
    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        nosup!("virNetworkLookupByName")
    }
    /// `virNetworkLookupByUUID`.
    fn network_lookup_by_uuid(&self, uuid: &Uuid) -> Result<NetworkRef> {
        nosup!("virNetworkLookupByUUID")
    }
    /// `virNetworkDefineXMLFlags`.
    fn network_define_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        nosup!("virNetworkDefineXML")
    }
    /// `virNetworkCreateXMLFlags` (transient).
    fn network_create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        nosup!("virNetworkCreateXML")
    }
    /// `virNetworkUndefine`.
    fn network_undefine(&self, n: &NetworkRef) -> Result<()> {
        nosup!("virNetworkUndefine")
    }
    /// `virNetworkCreate` (start).
    fn network_create(&self, n: &NetworkRef) -> Result<()> {
        nosup!("virNetworkCreate")
    }
    /// `virNetworkDestroy`.
    fn network_destroy(&self, n: &NetworkRef) -> Result<()> {
        nosup!("virNetworkDestroy")
    }
    /// `virNetworkGetXMLDesc`.
    fn network_get_xml_desc(&self, n: &NetworkRef, flags: u32) -> Result<String> {
        nosup!("virNetworkGetXMLDesc")
    }
    /// `virNetworkGetBridgeName`.
    fn network_get_bridge_name(&self, n: &NetworkRef) -> Result<String> {
        nosup!("virNetworkGetBridgeName")
    }
    /// `virNetworkGetAutostart`.
    fn network_get_autostart(&self, n: &NetworkRef) -> Result<bool> {
        nosup!("virNetworkGetAutostart")
    }
    /// `virNetworkSetAutostart`.
    fn network_set_autostart(&self, n: &NetworkRef, on: bool) -> Result<()> {
        nosup!("virNetworkSetAutostart")
    }
    /// `virNetworkIsActive`.
    fn network_is_active(&self, n: &NetworkRef) -> Result<bool> {
        nosup!("virNetworkIsActive")
    }
    /// `virNetworkIsPersistent`.
    fn network_is_persistent(&self, n: &NetworkRef) -> Result<bool> {
        nosup!("virNetworkIsPersistent")
    }
    /// `virNetworkUpdate`.
    fn network_update(&self, n: &NetworkRef, command: u32, section: u32, parent_index: i32, xml: &str, flags: u32) -> Result<()> {
        nosup!("virNetworkUpdate")
    }
}

/// `virStorageDriver`.
#[allow(unused_variables)]
pub trait StorageDriver: Send + Sync {
    /// `virConnectListAllStoragePools`.
    fn list_all_pools(&self, flags: u32) -> Result<Vec<StoragePoolRef>> {
        nosup!("virConnectListAllStoragePools")
    }
    /// `virStoragePoolLookupByName`.
    fn pool_lookup_by_name(&self, name: &str) -> Result<StoragePoolRef> {
        nosup!("virStoragePoolLookupByName")
    }
    /// `virStoragePoolLookupByUUID`.
    fn pool_lookup_by_uuid(&self, uuid: &Uuid) -> Result<StoragePoolRef> {
        nosup!("virStoragePoolLookupByUUID")
    }
    /// `virStoragePoolLookupByVolume`.
    fn pool_lookup_by_volume(&self, v: &StorageVolRef) -> Result<StoragePoolRef> {
        self.pool_lookup_by_name(&v.pool)
    }
    /// `virStoragePoolDefineXML`.
    fn pool_define_xml(&self, xml: &str, flags: u32) -> Result<StoragePoolRef> {
        nosup!("virStoragePoolDefineXML")
    }
    /// `virStoragePoolCreateXML` (transient).
    fn pool_create_xml(&self, xml: &str, flags: u32) -> Result<StoragePoolRef> {
        nosup!("virStoragePoolCreateXML")
    }
    /// `virStoragePoolBuild`.
    fn pool_build(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        nosup!("virStoragePoolBuild")
    }
    /// `virStoragePoolUndefine`.
    fn pool_undefine(&self, p: &StoragePoolRef) -> Result<()> {
        nosup!("virStoragePoolUndefine")
    }
    /// `virStoragePoolCreate` (start).
    fn pool_create(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        nosup!("virStoragePoolCreate")
    }
    /// `virStoragePoolDestroy`.
    fn pool_destroy(&self, p: &StoragePoolRef) -> Result<()> {
        nosup!("virStoragePoolDestroy")
    }
    /// `virStoragePoolDelete`.
    fn pool_delete(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        nosup!("virStoragePoolDelete")
    }
    /// `virStoragePoolRefresh`.
    fn pool_refresh(&self, p: &StoragePoolRef, flags: u32) -> Result<()> {
        nosup!("virStoragePoolRefresh")
    }
    /// `virStoragePoolGetInfo`.
    fn pool_get_info(&self, p: &StoragePoolRef) -> Result<StoragePoolInfo> {
        nosup!("virStoragePoolGetInfo")
    }
    /// `virStoragePoolGetXMLDesc`.
    fn pool_get_xml_desc(&self, p: &StoragePoolRef, flags: u32) -> Result<String> {
        nosup!("virStoragePoolGetXMLDesc")
    }
    /// `virStoragePoolGetAutostart`.
    fn pool_get_autostart(&self, p: &StoragePoolRef) -> Result<bool> {
        nosup!("virStoragePoolGetAutostart")
    }
    /// `virStoragePoolSetAutostart`.
    fn pool_set_autostart(&self, p: &StoragePoolRef, on: bool) -> Result<()> {
        nosup!("virStoragePoolSetAutostart")
    }
    /// `virStoragePoolIsActive`.
    fn pool_is_active(&self, p: &StoragePoolRef) -> Result<bool> {
        nosup!("virStoragePoolIsActive")
    }
    /// `virStoragePoolIsPersistent`.
    fn pool_is_persistent(&self, p: &StoragePoolRef) -> Result<bool> {
        nosup!("virStoragePoolIsPersistent")
    }
    /// `virConnectFindStoragePoolSources`.
    fn find_pool_sources(&self, typ: &str, spec: Option<&str>, flags: u32) -> Result<String> {
        nosup!("virConnectFindStoragePoolSources")
    }
    /// `virStoragePoolListAllVolumes`.
    fn pool_list_all_volumes(&self, p: &StoragePoolRef, flags: u32) -> Result<Vec<StorageVolRef>> {
        nosup!("virStoragePoolListAllVolumes")
    }
    /// `virStorageVolLookupByName`.
    fn vol_lookup_by_name(&self, p: &StoragePoolRef, name: &str) -> Result<StorageVolRef> {
        nosup!("virStorageVolLookupByName")
    }
    /// `virStorageVolLookupByKey`.
    fn vol_lookup_by_key(&self, key: &str) -> Result<StorageVolRef> {
        nosup!("virStorageVolLookupByKey")
    }
    /// `virStorageVolLookupByPath`.
    fn vol_lookup_by_path(&self, path: &str) -> Result<StorageVolRef> {
        nosup!("virStorageVolLookupByPath")
    }
    /// `virStorageVolCreateXML`.
    fn vol_create_xml(&self, p: &StoragePoolRef, xml: &str, flags: u32) -> Result<StorageVolRef> {
        nosup!("virStorageVolCreateXML")
    }
    /// `virStorageVolCreateXMLFrom` (clone).
    fn vol_create_xml_from(&self, p: &StoragePoolRef, xml: &str, clone_from: &StorageVolRef, flags: u32) -> Result<StorageVolRef> {
        nosup!("virStorageVolCreateXMLFrom")
    }
    /// `virStorageVolDelete`.
    fn vol_delete(&self, v: &StorageVolRef, flags: u32) -> Result<()> {
        nosup!("virStorageVolDelete")
    }
    /// `virStorageVolWipe`.
    fn vol_wipe(&self, v: &StorageVolRef, flags: u32) -> Result<()> {
        nosup!("virStorageVolWipe")
    }
    /// `virStorageVolGetInfo`.
    fn vol_get_info(&self, v: &StorageVolRef) -> Result<StorageVolInfo> {
        nosup!("virStorageVolGetInfo")
    }
    /// `virStorageVolGetInfoFlags` (`VIR_STORAGE_VOL_GET_PHYSICAL`: allocation is the
    /// host's physical size).
    fn vol_get_info_flags(&self, v: &StorageVolRef, flags: u32) -> Result<StorageVolInfo> {
        nosup!("virStorageVolGetInfoFlags")
    }
    /// `virStorageVolGetXMLDesc`.
    fn vol_get_xml_desc(&self, v: &StorageVolRef, flags: u32) -> Result<String> {
        nosup!("virStorageVolGetXMLDesc")
    }
    /// `virStorageVolGetPath`.
    fn vol_get_path(&self, v: &StorageVolRef) -> Result<String> {
        nosup!("virStorageVolGetPath")
    }
    /// `virStorageVolResize`.
    fn vol_resize(&self, v: &StorageVolRef, capacity: u64, flags: u32) -> Result<()> {
        nosup!("virStorageVolResize")
    }
    /// `virStorageVolUpload`: a stream that writes the volume's bytes from `offset`,
    /// at most `length` of them (0: no limit). The returned stream takes data (and
    /// holes when `flags` has `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`).
    fn vol_upload(&self, v: &StorageVolRef, offset: u64, length: u64, flags: u32) -> Result<Box<dyn StreamDriver>> {
        nosup!("virStorageVolUpload")
    }
    /// `virStorageVolDownload`: a stream that yields the volume's bytes from `offset`,
    /// at most `length` of them (0: to the end), with holes when `flags` has
    /// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
    fn vol_download(&self, v: &StorageVolRef, offset: u64, length: u64, flags: u32) -> Result<Box<dyn StreamDriver>> {
        nosup!("virStorageVolDownload")
    }
}

/// `virSecretDriver`.
#[allow(unused_variables)]
pub trait SecretDriver: Send + Sync {
    /// `virConnectListAllSecrets`.
    fn list_all_secrets(&self, flags: u32) -> Result<Vec<SecretRef>> {
        nosup!("virConnectListAllSecrets")
    }
    /// `virSecretLookupByUUID`.
    fn secret_lookup_by_uuid(&self, uuid: &Uuid) -> Result<SecretRef> {
        nosup!("virSecretLookupByUUID")
    }
    /// `virSecretLookupByUsage`.
    fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> Result<SecretRef> {
        nosup!("virSecretLookupByUsage")
    }
    /// `virSecretDefineXML`.
    fn secret_define_xml(&self, xml: &str, flags: u32) -> Result<SecretRef> {
        nosup!("virSecretDefineXML")
    }
    /// `virSecretGetXMLDesc`.
    fn secret_get_xml_desc(&self, s: &SecretRef, flags: u32) -> Result<String> {
        nosup!("virSecretGetXMLDesc")
    }
    /// `virSecretSetValue`.
    fn secret_set_value(&self, s: &SecretRef, value: &[u8], flags: u32) -> Result<()> {
        nosup!("virSecretSetValue")
    }
    /// `virSecretGetValue`.
    fn secret_get_value(&self, s: &SecretRef, flags: u32) -> Result<Vec<u8>> {
        nosup!("virSecretGetValue")
    }
    /// `virSecretUndefine`.
    fn secret_undefine(&self, s: &SecretRef) -> Result<()> {
        nosup!("virSecretUndefine")
    }
}

/// `virNWFilterDriver`.
#[allow(unused_variables)]
pub trait NWFilterDriver: Send + Sync {
    /// `virConnectListAllNWFilters`.
    fn list_all_nwfilters(&self, flags: u32) -> Result<Vec<NWFilterRef>> {
        nosup!("virConnectListAllNWFilters")
    }
    /// `virNWFilterLookupByName`.
    fn nwfilter_lookup_by_name(&self, name: &str) -> Result<NWFilterRef> {
        nosup!("virNWFilterLookupByName")
    }
    /// `virNWFilterLookupByUUID`.
    fn nwfilter_lookup_by_uuid(&self, uuid: &Uuid) -> Result<NWFilterRef> {
        nosup!("virNWFilterLookupByUUID")
    }
    /// `virNWFilterDefineXMLFlags`.
    fn nwfilter_define_xml(&self, xml: &str, flags: u32) -> Result<NWFilterRef> {
        nosup!("virNWFilterDefineXML")
    }
    /// `virNWFilterUndefine`.
    fn nwfilter_undefine(&self, f: &NWFilterRef) -> Result<()> {
        nosup!("virNWFilterUndefine")
    }
    /// `virNWFilterGetXMLDesc`.
    fn nwfilter_get_xml_desc(&self, f: &NWFilterRef, flags: u32) -> Result<String> {
        nosup!("virNWFilterGetXMLDesc")
    }
}

/// `virInterfaceDriver`.
#[allow(unused_variables)]
pub trait InterfaceDriver: Send + Sync {
    /// `virConnectListAllInterfaces`.
    fn list_all_interfaces(&self, flags: u32) -> Result<Vec<InterfaceRef>> {
        nosup!("virConnectListAllInterfaces")
    }
    /// `virInterfaceLookupByName`.
    fn interface_lookup_by_name(&self, name: &str) -> Result<InterfaceRef> {
        nosup!("virInterfaceLookupByName")
    }
    /// `virInterfaceLookupByMACString`.
    fn interface_lookup_by_mac(&self, mac: &str) -> Result<InterfaceRef> {
        nosup!("virInterfaceLookupByMACString")
    }
    /// `virInterfaceDefineXML`.
    fn interface_define_xml(&self, xml: &str, flags: u32) -> Result<InterfaceRef> {
        nosup!("virInterfaceDefineXML")
    }
    /// `virInterfaceUndefine`.
    fn interface_undefine(&self, i: &InterfaceRef) -> Result<()> {
        nosup!("virInterfaceUndefine")
    }
    /// `virInterfaceCreate` (bring up).
    fn interface_create(&self, i: &InterfaceRef, flags: u32) -> Result<()> {
        nosup!("virInterfaceCreate")
    }
    /// `virInterfaceDestroy` (bring down).
    fn interface_destroy(&self, i: &InterfaceRef, flags: u32) -> Result<()> {
        nosup!("virInterfaceDestroy")
    }
    /// `virInterfaceGetXMLDesc`.
    fn interface_get_xml_desc(&self, i: &InterfaceRef, flags: u32) -> Result<String> {
        nosup!("virInterfaceGetXMLDesc")
    }
    /// `virInterfaceIsActive`.
    fn interface_is_active(&self, i: &InterfaceRef) -> Result<bool> {
        nosup!("virInterfaceIsActive")
    }
    /// `virInterfaceChangeBegin`.
    fn interface_change_begin(&self, flags: u32) -> Result<()> {
        nosup!("virInterfaceChangeBegin")
    }
    /// `virInterfaceChangeCommit`.
    fn interface_change_commit(&self, flags: u32) -> Result<()> {
        nosup!("virInterfaceChangeCommit")
    }
    /// `virInterfaceChangeRollback`.
    fn interface_change_rollback(&self, flags: u32) -> Result<()> {
        nosup!("virInterfaceChangeRollback")
    }
}

/// `virNodeDeviceDriver`.
#[allow(unused_variables)]
pub trait NodeDeviceDriver: Send + Sync {
    /// `virConnectListAllNodeDevices`.
    fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDeviceRef>> {
        nosup!("virConnectListAllNodeDevices")
    }
    /// `virNodeDeviceLookupByName`.
    fn nodedev_lookup_by_name(&self, name: &str) -> Result<NodeDeviceRef> {
        nosup!("virNodeDeviceLookupByName")
    }
    /// `virNodeDeviceGetXMLDesc`.
    fn nodedev_get_xml_desc(&self, d: &NodeDeviceRef, flags: u32) -> Result<String> {
        nosup!("virNodeDeviceGetXMLDesc")
    }
    /// `virNodeDeviceGetParent`.
    fn nodedev_get_parent(&self, d: &NodeDeviceRef) -> Result<Option<String>> {
        nosup!("virNodeDeviceGetParent")
    }
    /// `virNodeDeviceListCaps`.
    fn nodedev_list_caps(&self, d: &NodeDeviceRef) -> Result<Vec<String>> {
        nosup!("virNodeDeviceListCaps")
    }
    /// `virNodeDeviceCreateXML`.
    fn nodedev_create_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        nosup!("virNodeDeviceCreateXML")
    }
    /// `virNodeDeviceDefineXML`.
    fn nodedev_define_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        nosup!("virNodeDeviceDefineXML")
    }
    /// `virNodeDeviceDestroy`.
    fn nodedev_destroy(&self, d: &NodeDeviceRef) -> Result<()> {
        nosup!("virNodeDeviceDestroy")
    }
    /// `virNodeDeviceUndefine`.
    fn nodedev_undefine(&self, d: &NodeDeviceRef, flags: u32) -> Result<()> {
        nosup!("virNodeDeviceUndefine")
    }
}

/// The drivers serving one open connection. Secondary drivers are optional: calls to
/// a missing one fail with `VIR_ERR_NO_SUPPORT`.
#[derive(Clone)]
pub struct ConnectDrivers {
    /// Domains and connection-level calls.
    pub hypervisor: Arc<dyn HypervisorDriver>,
    /// Networks.
    pub network: Option<Arc<dyn NetworkDriver>>,
    /// Storage pools and volumes.
    pub storage: Option<Arc<dyn StorageDriver>>,
    /// Secrets.
    pub secret: Option<Arc<dyn SecretDriver>>,
    /// Network filters.
    pub nwfilter: Option<Arc<dyn NWFilterDriver>>,
    /// Host interfaces.
    pub interface: Option<Arc<dyn InterfaceDriver>>,
    /// Node devices.
    pub nodedev: Option<Arc<dyn NodeDeviceDriver>>,
}

/// The outcome of asking a driver about a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The URI belongs to this driver.
    Accept,
    /// Not this driver's URI.
    Decline,
}

/// A registered connection driver (libvirt's `virConnectDriver`).
pub trait ConnectDriver: Send + Sync {
    /// Driver name as in URIs (`test`, `qemu`).
    fn name(&self) -> &'static str;
    /// Whether this driver serves `uri`. Only called for local URIs.
    fn probe(&self, uri: &Uri) -> Probe;
    /// Open a connection (flags: `OpenFlags` bits).
    fn open(&self, uri: &Uri, flags: u32) -> Result<ConnectDrivers>;
    /// Whether [`crate::Connect::open_flags`] fills the empty secondary-driver slots of
    /// this driver's connections with the shared ones ([`register_shared_secret`] and
    /// friends), like `virRegisterConnectDriver(driver, setSharedDrivers)`: true for
    /// the stateful hypervisor drivers (QEMU), false for the test driver, which libvirt
    /// registers without them.
    fn uses_shared_drivers(&self) -> bool {
        false
    }
}

/// `virSecretGetValue` flag a driver may only see from another driver of the same
/// process (libvirt's `VIR_SECRET_GET_VALUE_INTERNAL_CALL`, used by
/// `virSecretGetSecretString`): it lets a hypervisor driver read a private secret's
/// value. The public API refuses it from clients ([`crate::Secret::value`]); drivers
/// ask with [`crate::Secret::value_internal`].
pub const SECRET_GET_VALUE_INTERNAL_CALL: u32 = 1 << 0;

/// The shared secondary drivers (libvirt's `virSharedSecretDriver`, ...): registered
/// once per process by the stateful secondary drivers, handed to the connections of
/// every hypervisor driver whose [`ConnectDriver::uses_shared_drivers`] is true.
#[derive(Clone, Default)]
struct SharedDrivers {
    network: Option<Arc<dyn NetworkDriver>>,
    storage: Option<Arc<dyn StorageDriver>>,
    secret: Option<Arc<dyn SecretDriver>>,
    nwfilter: Option<Arc<dyn NWFilterDriver>>,
    interface: Option<Arc<dyn InterfaceDriver>>,
    nodedev: Option<Arc<dyn NodeDeviceDriver>>,
}

static SHARED: Mutex<SharedDrivers> =
    Mutex::new(SharedDrivers { network: None, storage: None, secret: None, nwfilter: None, interface: None, nodedev: None });

macro_rules! shared_slot {
    ($fn:ident, $field:ident, $tr:ident, $what:literal) => {
        #[doc = concat!("Register the shared ", $what, " driver; the first registration wins.")]
        pub fn $fn(driver: Arc<dyn $tr>) {
            let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
            if shared.$field.is_none() {
                shared.$field = Some(driver);
            }
        }
    };
}

shared_slot!(register_shared_network, network, NetworkDriver, "network");
shared_slot!(register_shared_storage, storage, StorageDriver, "storage");
shared_slot!(register_shared_secret, secret, SecretDriver, "secret");
shared_slot!(register_shared_nwfilter, nwfilter, NWFilterDriver, "network filter");
shared_slot!(register_shared_interface, interface, InterfaceDriver, "host interface");
shared_slot!(register_shared_nodedev, nodedev, NodeDeviceDriver, "node device");

/// Fill the empty secondary slots of `drivers` with the shared drivers registered so
/// far (the `setSharedDrivers` branch of libvirt's `virRegisterConnectDriver`).
pub fn fill_shared(drivers: &mut ConnectDrivers) {
    let shared = SHARED.lock().unwrap_or_else(|p| p.into_inner()).clone();
    fn fill<T: ?Sized>(slot: &mut Option<Arc<T>>, shared: Option<Arc<T>>) {
        if slot.is_none() {
            *slot = shared;
        }
    }
    fill(&mut drivers.network, shared.network);
    fill(&mut drivers.storage, shared.storage);
    fill(&mut drivers.secret, shared.secret);
    fill(&mut drivers.nwfilter, shared.nwfilter);
    fill(&mut drivers.interface, shared.interface);
    fill(&mut drivers.nodedev, shared.nodedev);
}

static REGISTRY: Mutex<Vec<Arc<dyn ConnectDriver>>> = Mutex::new(Vec::new());

/// Register a connection driver. Registering the same name twice is a no-op.
pub fn register(driver: Arc<dyn ConnectDriver>) {
    let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    if !reg.iter().any(|d| d.name() == driver.name()) {
        reg.push(driver);
    }
}

/// The registered drivers, in registration order.
pub fn registered() -> Vec<Arc<dyn ConnectDriver>> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn error_domains_follow_libvirts_api_files() {
        assert_eq!(api_error_domain("virDomainDestroy"), ErrorDomain::Domain);
        assert_eq!(api_error_domain("virDomainSnapshotCreateXML"), ErrorDomain::DomainSnapshot);
        assert_eq!(api_error_domain("virDomainRevertToSnapshot"), ErrorDomain::DomainSnapshot);
        assert_eq!(api_error_domain("virNetworkCreate"), ErrorDomain::Network);
        assert_eq!(api_error_domain("virConnectListAllSecrets"), ErrorDomain::Secret);
        assert_eq!(api_error_domain("virNodeDeviceCreateXML"), ErrorDomain::Nodedev);
        assert_eq!(api_error_domain("virNodeGetInfo"), ErrorDomain::Domain);
        assert_eq!(api_error_domain("virConnectGetCapabilities"), ErrorDomain::Domain);
        assert_eq!(api_error_domain("nonsense"), ErrorDomain::None);
        assert_eq!(no_support("virStorageVolWipe").domain, ErrorDomain::Storage);
    }

    struct Hv;
    impl HypervisorDriver for Hv {
        fn get_type(&self) -> Result<String> {
            Ok("shared-test".into())
        }
    }
    struct Sec;
    impl SecretDriver for Sec {
        fn list_all_secrets(&self, _flags: u32) -> Result<Vec<SecretRef>> {
            Ok(Vec::new())
        }
    }
    struct Drv(&'static str, bool);
    impl ConnectDriver for Drv {
        fn name(&self) -> &'static str {
            self.0
        }
        fn probe(&self, uri: &Uri) -> Probe {
            if uri.driver == self.0 {
                Probe::Accept
            } else {
                Probe::Decline
            }
        }
        fn open(&self, _uri: &Uri, _flags: u32) -> Result<ConnectDrivers> {
            Ok(ConnectDrivers {
                hypervisor: Arc::new(Hv),
                network: None,
                storage: None,
                secret: None,
                nwfilter: None,
                interface: None,
                nodedev: None,
            })
        }
        fn uses_shared_drivers(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn shared_secret_driver_fills_only_drivers_that_ask() {
        use crate::{Connect, ListSecretsFlags};
        register_shared_secret(Arc::new(Sec));
        register(Arc::new(Drv("sharedyes", true)));
        register(Arc::new(Drv("sharedno", false)));
        let yes = Connect::open(Some("sharedyes:///x")).unwrap();
        assert!(yes.list_all_secrets(ListSecretsFlags::empty()).unwrap().is_empty());
        let no = Connect::open(Some("sharedno:///x")).unwrap();
        assert_eq!(no.list_all_secrets(ListSecretsFlags::empty()).err().map(|e| e.code), Some(ErrorCode::NoSupport));
    }
}
