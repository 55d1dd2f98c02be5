//! `HypervisorDriver` over the wire: one REMOTE procedure per method, as libvirt's
//! `remote_driver.c` does, choosing the same procedure libvirt's client sends for the
//! matching public API (e.g. DOMAIN_DESTROY for flags 0, DOMAIN_DESTROY_FLAGS otherwise).

use crate::client::Void;
use crate::conv::{chars_to_string, dom, dom_ref, opt, snap, snap_ref};
use crate::uri::TransportKind;
use crate::RemoteConn;
use oxvirt::driver::HypervisorDriver;
use oxvirt::event::{EventCallback, EventClass};
use oxvirt::types::*;
use oxvirt::Result;
use oxvirt_rpc::proto::remote::*;
use oxvirt_util::uuid::Uuid;
use RemoteProcedure as P;

fn state(v: i32) -> DomainState {
    DomainState::from_i32(v).unwrap_or(DomainState::NoState)
}

impl HypervisorDriver for RemoteConn {
    fn close(&self) {
        self.shutdown();
    }
    fn get_type(&self) -> Result<String> {
        Ok(self.call::<_, RemoteConnectGetTypeRet>(P::ConnectGetType, &Void)?.r#type)
    }
    fn get_version(&self) -> Result<u64> {
        Ok(self.call::<_, RemoteConnectGetVersionRet>(P::ConnectGetVersion, &Void)?.hv_ver)
    }
    fn get_hostname(&self) -> Result<String> {
        Ok(self.call::<_, RemoteConnectGetHostnameRet>(P::ConnectGetHostname, &Void)?.hostname)
    }
    fn get_capabilities(&self) -> Result<String> {
        Ok(self.call::<_, RemoteConnectGetCapabilitiesRet>(P::ConnectGetCapabilities, &Void)?.capabilities)
    }
    fn get_max_vcpus(&self, typ: Option<&str>) -> Result<i32> {
        Ok(self
            .call::<_, RemoteConnectGetMaxVcpusRet>(P::ConnectGetMaxVcpus, &RemoteConnectGetMaxVcpusArgs { r#type: opt(typ) })?
            .max_vcpus)
    }
    fn node_get_info(&self) -> Result<NodeInfo> {
        let r: RemoteNodeGetInfoRet = self.call(P::NodeGetInfo, &Void)?;
        Ok(NodeInfo {
            model: chars_to_string(&r.model),
            memory_kib: r.memory,
            cpus: r.cpus as u32,
            mhz: r.mhz as u32,
            nodes: r.nodes as u32,
            sockets: r.sockets as u32,
            cores: r.cores as u32,
            threads: r.threads as u32,
        })
    }
    fn node_get_free_memory(&self) -> Result<u64> {
        Ok(self.call::<_, RemoteNodeGetFreeMemoryRet>(P::NodeGetFreeMemory, &Void)?.free_mem)
    }
    fn node_get_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        let args = RemoteNodeGetCellsFreeMemoryArgs { start_cell: start, maxcells: max };
        Ok(self.call::<_, RemoteNodeGetCellsFreeMemoryRet>(P::NodeGetCellsFreeMemory, &args)?.cells)
    }
    fn is_alive(&self) -> bool {
        self.client.is_alive()
    }
    fn is_encrypted(&self) -> bool {
        false
    }
    fn is_secure(&self) -> bool {
        let local = matches!(self.transport, TransportKind::Unix | TransportKind::Ssh | TransportKind::Libssh | TransportKind::Libssh2);
        local && self.call::<_, RemoteConnectIsSecureRet>(P::ConnectIsSecure, &Void).map(|r| r.secure != 0).unwrap_or(false)
    }
    fn get_sysinfo(&self, flags: u32) -> Result<String> {
        Ok(self.call::<_, RemoteConnectGetSysinfoRet>(P::ConnectGetSysinfo, &RemoteConnectGetSysinfoArgs { flags })?.sysinfo)
    }

    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        let r: RemoteConnectListAllDomainsRet =
            self.call(P::ConnectListAllDomains, &RemoteConnectListAllDomainsArgs { need_results: 1, flags })?;
        Ok(r.domains.into_iter().map(dom_ref).collect())
    }
    fn num_of_domains(&self) -> Result<i32> {
        Ok(self.call::<_, RemoteConnectNumOfDomainsRet>(P::ConnectNumOfDomains, &Void)?.num)
    }
    fn num_of_defined_domains(&self) -> Result<i32> {
        Ok(self.call::<_, RemoteConnectNumOfDefinedDomainsRet>(P::ConnectNumOfDefinedDomains, &Void)?.num)
    }
    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        Ok(dom_ref(self.call::<_, RemoteDomainLookupByIdRet>(P::DomainLookupById, &RemoteDomainLookupByIdArgs { id })?.dom))
    }
    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        let args = RemoteDomainLookupByNameArgs { name: name.to_string() };
        Ok(dom_ref(self.call::<_, RemoteDomainLookupByNameRet>(P::DomainLookupByName, &args)?.dom))
    }
    fn domain_lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainRef> {
        Ok(dom_ref(self.call::<_, RemoteDomainLookupByUuidRet>(P::DomainLookupByUuid, &RemoteDomainLookupByUuidArgs { uuid: *uuid })?.dom))
    }
    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        let r = if flags == 0 {
            self.call::<_, RemoteDomainDefineXmlRet>(P::DomainDefineXml, &RemoteDomainDefineXmlArgs { xml: xml.to_string() })?.dom
        } else {
            let args = RemoteDomainDefineXmlFlagsArgs { xml: xml.to_string(), flags };
            self.call::<_, RemoteDomainDefineXmlFlagsRet>(P::DomainDefineXmlFlags, &args)?.dom
        };
        Ok(dom_ref(r))
    }
    fn domain_undefine(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.call0(P::DomainUndefineFlags, &RemoteDomainUndefineFlagsArgs { dom: dom(d), flags })
    }
    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        let args = RemoteDomainCreateXmlArgs { xml_desc: xml.to_string(), flags };
        Ok(dom_ref(self.call::<_, RemoteDomainCreateXmlRet>(P::DomainCreateXml, &args)?.dom))
    }
    fn domain_create(&self, d: &DomainRef, flags: u32) -> Result<DomainRef> {
        let args = RemoteDomainCreateWithFlagsArgs { dom: dom(d), flags };
        Ok(dom_ref(self.call::<_, RemoteDomainCreateWithFlagsRet>(P::DomainCreateWithFlags, &args)?.dom))
    }
    fn domain_destroy(&self, d: &DomainRef, flags: u32) -> Result<()> {
        if flags == 0 {
            self.call0(P::DomainDestroy, &RemoteDomainDestroyArgs { dom: dom(d) })
        } else {
            self.call0(P::DomainDestroyFlags, &RemoteDomainDestroyFlagsArgs { dom: dom(d), flags })
        }
    }
    fn domain_shutdown(&self, d: &DomainRef, flags: u32) -> Result<()> {
        if flags == 0 {
            self.call0(P::DomainShutdown, &RemoteDomainShutdownArgs { dom: dom(d) })
        } else {
            self.call0(P::DomainShutdownFlags, &RemoteDomainShutdownFlagsArgs { dom: dom(d), flags })
        }
    }
    fn domain_reboot(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.call0(P::DomainReboot, &RemoteDomainRebootArgs { dom: dom(d), flags })
    }
    fn domain_reset(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.call0(P::DomainReset, &RemoteDomainResetArgs { dom: dom(d), flags })
    }
    fn domain_open_console(&self, d: &DomainRef, dev_name: Option<&str>, flags: u32) -> Result<Box<dyn oxvirt::StreamDriver>> {
        let args = RemoteDomainOpenConsoleArgs { dom: dom(d), dev_name: opt(dev_name), flags };
        Ok(Box::new(self.client.open_stream(P::DomainOpenConsole as i32, &args, false)?))
    }
    fn domain_suspend(&self, d: &DomainRef) -> Result<()> {
        self.call0(P::DomainSuspend, &RemoteDomainSuspendArgs { dom: dom(d) })
    }
    fn domain_resume(&self, d: &DomainRef) -> Result<()> {
        self.call0(P::DomainResume, &RemoteDomainResumeArgs { dom: dom(d) })
    }
    fn domain_save(&self, d: &DomainRef, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        if dxml.is_none() && flags == 0 {
            self.call0(P::DomainSave, &RemoteDomainSaveArgs { dom: dom(d), to: path.to_string() })
        } else {
            self.call0(P::DomainSaveFlags, &RemoteDomainSaveFlagsArgs { dom: dom(d), to: path.to_string(), dxml: opt(dxml), flags })
        }
    }
    fn domain_restore(&self, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        if dxml.is_none() && flags == 0 {
            self.call0(P::DomainRestore, &RemoteDomainRestoreArgs { from: path.to_string() })
        } else {
            self.call0(P::DomainRestoreFlags, &RemoteDomainRestoreFlagsArgs { from: path.to_string(), dxml: opt(dxml), flags })
        }
    }
    fn domain_save_image_get_xml_desc(&self, path: &str, flags: u32) -> Result<String> {
        let args = RemoteDomainSaveImageGetXmlDescArgs { file: path.to_string(), flags };
        Ok(self.call::<_, RemoteDomainSaveImageGetXmlDescRet>(P::DomainSaveImageGetXmlDesc, &args)?.xml)
    }
    fn domain_managed_save(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.call0(P::DomainManagedSave, &RemoteDomainManagedSaveArgs { dom: dom(d), flags })
    }
    fn domain_has_managed_save(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        let args = RemoteDomainHasManagedSaveImageArgs { dom: dom(d), flags };
        Ok(self.call::<_, RemoteDomainHasManagedSaveImageRet>(P::DomainHasManagedSaveImage, &args)?.result != 0)
    }
    fn domain_managed_save_remove(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.call0(P::DomainManagedSaveRemove, &RemoteDomainManagedSaveRemoveArgs { dom: dom(d), flags })
    }
    fn domain_get_info(&self, d: &DomainRef) -> Result<DomainInfo> {
        let r: RemoteDomainGetInfoRet = self.call(P::DomainGetInfo, &RemoteDomainGetInfoArgs { dom: dom(d) })?;
        Ok(DomainInfo {
            state: state(i32::from(r.state)),
            max_mem_kib: r.max_mem,
            memory_kib: r.memory,
            nr_virt_cpu: u32::from(r.nr_virt_cpu),
            cpu_time_ns: r.cpu_time,
        })
    }
    fn domain_get_state(&self, d: &DomainRef, flags: u32) -> Result<(DomainState, i32)> {
        let r: RemoteDomainGetStateRet = self.call(P::DomainGetState, &RemoteDomainGetStateArgs { dom: dom(d), flags })?;
        Ok((state(r.state), r.reason))
    }
    fn domain_get_xml_desc(&self, d: &DomainRef, flags: u32) -> Result<String> {
        Ok(self.call::<_, RemoteDomainGetXmlDescRet>(P::DomainGetXmlDesc, &RemoteDomainGetXmlDescArgs { dom: dom(d), flags })?.xml)
    }
    fn node_get_security_model(&self) -> Result<SecurityModel> {
        let r: RemoteNodeGetSecurityModelRet = self.call(P::NodeGetSecurityModel, &Void)?;
        Ok(SecurityModel { model: chars_to_string(&r.model), doi: chars_to_string(&r.doi) })
    }
    fn domain_get_security_label(&self, d: &DomainRef) -> Result<SecurityLabel> {
        let r: RemoteDomainGetSecurityLabelRet = self.call(P::DomainGetSecurityLabel, &RemoteDomainGetSecurityLabelArgs { dom: dom(d) })?;
        Ok(SecurityLabel { label: chars_to_string(&r.label), enforcing: r.enforcing != 0 })
    }
    fn domain_get_os_type(&self, d: &DomainRef) -> Result<String> {
        Ok(self.call::<_, RemoteDomainGetOsTypeRet>(P::DomainGetOsType, &RemoteDomainGetOsTypeArgs { dom: dom(d) })?.r#type)
    }
    fn domain_get_max_memory(&self, d: &DomainRef) -> Result<u64> {
        Ok(self.call::<_, RemoteDomainGetMaxMemoryRet>(P::DomainGetMaxMemory, &RemoteDomainGetMaxMemoryArgs { dom: dom(d) })?.memory)
    }
    fn domain_set_max_memory(&self, d: &DomainRef, kib: u64) -> Result<()> {
        self.call0(P::DomainSetMaxMemory, &RemoteDomainSetMaxMemoryArgs { dom: dom(d), memory: kib })
    }
    fn domain_set_memory(&self, d: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        if flags == 0 {
            self.call0(P::DomainSetMemory, &RemoteDomainSetMemoryArgs { dom: dom(d), memory: kib })
        } else {
            self.call0(P::DomainSetMemoryFlags, &RemoteDomainSetMemoryFlagsArgs { dom: dom(d), memory: kib, flags })
        }
    }
    fn domain_set_vcpus(&self, d: &DomainRef, n: u32, flags: u32) -> Result<()> {
        if flags == 0 {
            self.call0(P::DomainSetVcpus, &RemoteDomainSetVcpusArgs { dom: dom(d), nvcpus: n })
        } else {
            self.call0(P::DomainSetVcpusFlags, &RemoteDomainSetVcpusFlagsArgs { dom: dom(d), nvcpus: n, flags })
        }
    }
    fn domain_get_vcpus_flags(&self, d: &DomainRef, flags: u32) -> Result<i32> {
        let args = RemoteDomainGetVcpusFlagsArgs { dom: dom(d), flags };
        Ok(self.call::<_, RemoteDomainGetVcpusFlagsRet>(P::DomainGetVcpusFlags, &args)?.num)
    }
    fn domain_get_max_vcpus(&self, d: &DomainRef) -> Result<i32> {
        Ok(self.call::<_, RemoteDomainGetMaxVcpusRet>(P::DomainGetMaxVcpus, &RemoteDomainGetMaxVcpusArgs { dom: dom(d) })?.num)
    }
    fn domain_get_autostart(&self, d: &DomainRef) -> Result<bool> {
        Ok(self.call::<_, RemoteDomainGetAutostartRet>(P::DomainGetAutostart, &RemoteDomainGetAutostartArgs { dom: dom(d) })?.autostart
            != 0)
    }
    fn domain_set_autostart(&self, d: &DomainRef, on: bool) -> Result<()> {
        self.call0(P::DomainSetAutostart, &RemoteDomainSetAutostartArgs { dom: dom(d), autostart: i32::from(on) })
    }
    fn domain_is_active(&self, d: &DomainRef) -> Result<bool> {
        Ok(self.call::<_, RemoteDomainIsActiveRet>(P::DomainIsActive, &RemoteDomainIsActiveArgs { dom: dom(d) })?.active != 0)
    }
    fn domain_is_persistent(&self, d: &DomainRef) -> Result<bool> {
        Ok(self.call::<_, RemoteDomainIsPersistentRet>(P::DomainIsPersistent, &RemoteDomainIsPersistentArgs { dom: dom(d) })?.persistent
            != 0)
    }
    fn domain_is_updated(&self, d: &DomainRef) -> Result<bool> {
        Ok(self.call::<_, RemoteDomainIsUpdatedRet>(P::DomainIsUpdated, &RemoteDomainIsUpdatedArgs { dom: dom(d) })?.updated != 0)
    }
    fn domain_get_hostname(&self, d: &DomainRef, flags: u32) -> Result<String> {
        Ok(self.call::<_, RemoteDomainGetHostnameRet>(P::DomainGetHostname, &RemoteDomainGetHostnameArgs { dom: dom(d), flags })?.hostname)
    }
    fn domain_rename(&self, d: &DomainRef, new_name: &str, flags: u32) -> Result<DomainRef> {
        let args = RemoteDomainRenameArgs { dom: dom(d), new_name: Some(new_name.to_string()), flags };
        self.call::<_, RemoteDomainRenameRet>(P::DomainRename, &args)?;
        Ok(DomainRef { name: new_name.to_string(), ..d.clone() })
    }
    // tuning, pinning, devices (rss): see tune.rs
    fn node_get_cpu_stats(&self, cpu: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        self.tune_node_cpu_stats(cpu, flags)
    }
    fn node_get_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        self.tune_node_cpu_map(flags)
    }
    fn connect_get_cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<String>> {
        self.tune_cpu_model_names(arch, flags)
    }
    fn domain_get_scheduler_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<oxvirt::TypedParam>> {
        self.tune_get_scheduler_parameters(d, flags)
    }
    fn domain_set_scheduler_parameters(&self, d: &DomainRef, params: &[oxvirt::TypedParam], flags: u32) -> Result<()> {
        self.tune_set_scheduler_parameters(d, params, flags)
    }
    fn domain_get_memory_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<oxvirt::TypedParam>> {
        self.tune_get_memory_parameters(d, flags)
    }
    fn domain_set_memory_parameters(&self, d: &DomainRef, params: &[oxvirt::TypedParam], flags: u32) -> Result<()> {
        self.tune_set_memory_parameters(d, params, flags)
    }
    fn domain_get_blkio_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<oxvirt::TypedParam>> {
        self.tune_get_blkio_parameters(d, flags)
    }
    fn domain_pin_vcpu(&self, d: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        self.tune_pin_vcpu(d, vcpu, cpumap, flags)
    }
    fn domain_get_vcpu_pin_info(&self, d: &DomainRef, ncpumaps: i32, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        self.tune_get_vcpu_pin_info(d, ncpumaps, maplen, flags)
    }
    fn domain_pin_emulator(&self, d: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
        self.tune_pin_emulator(d, cpumap, flags)
    }
    fn domain_get_emulator_pin_info(&self, d: &DomainRef, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        self.tune_get_emulator_pin_info(d, maplen, flags)
    }
    fn domain_set_blkio_parameters(&self, d: &DomainRef, params: &[oxvirt::TypedParam], flags: u32) -> Result<()> {
        self.tune_set_blkio_parameters(d, params, flags)
    }
    fn domain_get_numa_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<oxvirt::TypedParam>> {
        self.tune_get_numa_parameters(d, flags)
    }
    fn domain_set_numa_parameters(&self, d: &DomainRef, params: &[oxvirt::TypedParam], flags: u32) -> Result<()> {
        self.tune_set_numa_parameters(d, params, flags)
    }
    fn domain_get_perf_events(&self, d: &DomainRef, flags: u32) -> Result<Vec<oxvirt::TypedParam>> {
        self.tune_get_perf_events(d, flags)
    }
    fn domain_set_perf_events(&self, d: &DomainRef, params: &[oxvirt::TypedParam], flags: u32) -> Result<()> {
        self.tune_set_perf_events(d, params, flags)
    }
    fn domain_set_lifecycle_action(&self, d: &DomainRef, typ: u32, action: u32, flags: u32) -> Result<()> {
        self.tune_set_lifecycle_action(d, typ, action, flags)
    }
    fn domain_memory_peek(&self, d: &DomainRef, start: u64, size: u32, flags: u32) -> Result<Vec<u8>> {
        self.tune_memory_peek(d, start, size, flags)
    }
    fn domain_get_messages(&self, d: &DomainRef, flags: u32) -> Result<Vec<String>> {
        self.tune_get_messages(d, flags)
    }
    fn domain_core_dump(&self, d: &DomainRef, to: &str, dumpformat: u32, flags: u32) -> Result<()> {
        self.tune_core_dump(d, to, dumpformat, flags)
    }
    fn node_get_free_pages(&self, pages: &[u32], start_cell: i32, cell_count: u32, flags: u32) -> Result<(Vec<u64>, i32)> {
        self.tune_node_free_pages(pages, start_cell, cell_count, flags)
    }
    fn domain_get_interface_parameters(&self, d: &DomainRef, device: &str, flags: u32) -> Result<Vec<oxvirt::TypedParam>> {
        self.tune_get_interface_parameters(d, device, flags)
    }
    fn domain_set_interface_parameters(&self, d: &DomainRef, device: &str, params: &[oxvirt::TypedParam], flags: u32) -> Result<()> {
        self.tune_set_interface_parameters(d, device, params, flags)
    }
    fn domain_save_image_define_xml(&self, path: &str, dxml: &str, flags: u32) -> Result<()> {
        self.tune_save_image_define_xml(path, dxml, flags)
    }
    fn domain_get_iothread_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        self.tune_get_iothread_info(d, flags)
    }
    fn domain_add_iothread(&self, d: &DomainRef, id: u32, flags: u32) -> Result<()> {
        self.tune_add_iothread(d, id, flags)
    }
    fn domain_del_iothread(&self, d: &DomainRef, id: u32, flags: u32) -> Result<()> {
        self.tune_del_iothread(d, id, flags)
    }
    fn domain_pin_iothread(&self, d: &DomainRef, id: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        self.tune_pin_iothread(d, id, cpumap, flags)
    }
    fn domain_set_iothread_params(&self, d: &DomainRef, id: u32, params: &[oxvirt::TypedParam], flags: u32) -> Result<()> {
        self.tune_set_iothread_params(d, id, params, flags)
    }
    // end of tuning, pinning, devices (rss)
    fn domain_get_scheduler_type(&self, d: &DomainRef) -> Result<(String, i32)> {
        let r: RemoteDomainGetSchedulerTypeRet = self.call(P::DomainGetSchedulerType, &RemoteDomainGetSchedulerTypeArgs { dom: dom(d) })?;
        Ok((r.r#type, r.nparams))
    }
    fn domain_set_metadata(
        &self,
        d: &DomainRef,
        typ: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        let args = RemoteDomainSetMetadataArgs { dom: dom(d), r#type: typ, metadata: opt(metadata), key: opt(key), uri: opt(uri), flags };
        self.call0(P::DomainSetMetadata, &args)
    }
    fn domain_get_metadata(&self, d: &DomainRef, typ: i32, uri: Option<&str>, flags: u32) -> Result<String> {
        let args = RemoteDomainGetMetadataArgs { dom: dom(d), r#type: typ, uri: opt(uri), flags };
        Ok(self.call::<_, RemoteDomainGetMetadataRet>(P::DomainGetMetadata, &args)?.metadata)
    }

    fn snapshot_create_xml(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<SnapshotRef> {
        let args = RemoteDomainSnapshotCreateXmlArgs { dom: dom(d), xml_desc: xml.to_string(), flags };
        Ok(snap_ref(self.call::<_, RemoteDomainSnapshotCreateXmlRet>(P::DomainSnapshotCreateXml, &args)?.snap))
    }
    fn snapshot_list_all(&self, d: &DomainRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        let args = RemoteDomainListAllSnapshotsArgs { dom: dom(d), need_results: 1, flags };
        Ok(self.call::<_, RemoteDomainListAllSnapshotsRet>(P::DomainListAllSnapshots, &args)?.snapshots.into_iter().map(snap_ref).collect())
    }
    fn snapshot_list_children(&self, s: &SnapshotRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        let args = RemoteDomainSnapshotListAllChildrenArgs { snapshot: snap(s), need_results: 1, flags };
        let r: RemoteDomainSnapshotListAllChildrenRet = self.call(P::DomainSnapshotListAllChildren, &args)?;
        Ok(r.snapshots.into_iter().map(snap_ref).collect())
    }
    fn snapshot_lookup_by_name(&self, d: &DomainRef, name: &str, flags: u32) -> Result<SnapshotRef> {
        let args = RemoteDomainSnapshotLookupByNameArgs { dom: dom(d), name: name.to_string(), flags };
        Ok(snap_ref(self.call::<_, RemoteDomainSnapshotLookupByNameRet>(P::DomainSnapshotLookupByName, &args)?.snap))
    }
    fn snapshot_has_current(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        let args = RemoteDomainHasCurrentSnapshotArgs { dom: dom(d), flags };
        Ok(self.call::<_, RemoteDomainHasCurrentSnapshotRet>(P::DomainHasCurrentSnapshot, &args)?.result != 0)
    }
    fn snapshot_current(&self, d: &DomainRef, flags: u32) -> Result<SnapshotRef> {
        let args = RemoteDomainSnapshotCurrentArgs { dom: dom(d), flags };
        Ok(snap_ref(self.call::<_, RemoteDomainSnapshotCurrentRet>(P::DomainSnapshotCurrent, &args)?.snap))
    }
    fn snapshot_get_parent(&self, s: &SnapshotRef, flags: u32) -> Result<SnapshotRef> {
        let args = RemoteDomainSnapshotGetParentArgs { snap: snap(s), flags };
        Ok(snap_ref(self.call::<_, RemoteDomainSnapshotGetParentRet>(P::DomainSnapshotGetParent, &args)?.snap))
    }
    fn snapshot_get_xml_desc(&self, s: &SnapshotRef, flags: u32) -> Result<String> {
        let args = RemoteDomainSnapshotGetXmlDescArgs { snap: snap(s), flags };
        Ok(self.call::<_, RemoteDomainSnapshotGetXmlDescRet>(P::DomainSnapshotGetXmlDesc, &args)?.xml)
    }
    fn snapshot_is_current(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        let args = RemoteDomainSnapshotIsCurrentArgs { snap: snap(s), flags };
        Ok(self.call::<_, RemoteDomainSnapshotIsCurrentRet>(P::DomainSnapshotIsCurrent, &args)?.current != 0)
    }
    fn snapshot_has_metadata(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        let args = RemoteDomainSnapshotHasMetadataArgs { snap: snap(s), flags };
        Ok(self.call::<_, RemoteDomainSnapshotHasMetadataRet>(P::DomainSnapshotHasMetadata, &args)?.metadata != 0)
    }
    fn snapshot_revert(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        self.call0(P::DomainRevertToSnapshot, &RemoteDomainRevertToSnapshotArgs { snap: snap(s), flags })
    }
    fn snapshot_delete(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        self.call0(P::DomainSnapshotDelete, &RemoteDomainSnapshotDeleteArgs { snap: snap(s), flags })
    }

    fn event_register(&self, class: EventClass, event_id: i32, filter: Option<Vec<u8>>, cb: EventCallback) -> Result<i32> {
        self.events_register(class, event_id, filter, cb)
    }
    fn event_deregister(&self, callback_id: i32) -> Result<()> {
        self.events_deregister(callback_id)
    }
}
