//! `HypervisorDriver` over the wire: one REMOTE procedure per method, as libvirt's
//! `remote_driver.c` does, choosing the same procedure libvirt's client sends for the
//! matching public API (e.g. DOMAIN_DESTROY for flags 0, DOMAIN_DESTROY_FLAGS otherwise).

use crate::client::Void;
use crate::conv::{chars_to_string, dom, dom_ref, opt, snap, snap_ref};
use crate::uri::TransportKind;
use crate::RemoteConn;
use oxvirt::driver::HypervisorDriver;
use oxvirt::event::{EventCallback, EventClass};
use oxvirt::stats::*;
use oxvirt::types::*;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_rpc::proto::remote::*;
use oxvirt_util::uuid::Uuid;
use RemoteProcedure as P;

/// `remoteDeserializeTypedParameters`.
fn typed_params(params: Vec<RemoteTypedParam>) -> Vec<TypedParam> {
    crate::tune::from_wire(params)
}

fn state(v: i32) -> DomainState {
    DomainState::from_i32(v).unwrap_or(DomainState::NoState)
}

impl HypervisorDriver for RemoteConn {
    fn close(&self) {
        self.shutdown();
    }

    // ---- fd passing and close callbacks (remote_driver.c's hand-written calls) ----
    fn supports_fd_passing(&self) -> Result<bool> {
        // libvirtd answers 1 on every transport and then drops a TCP/TLS client that
        // sends descriptors; refuse early instead.
        Ok(self.client.passes_fds() && self.supports_feature(crate::FEATURE_FD_PASSING))
    }
    fn domain_open_graphics(&self, d: &DomainRef, idx: u32, fd: std::os::fd::OwnedFd, flags: u32) -> Result<()> {
        let args = RemoteDomainOpenGraphicsArgs { dom: dom(d), idx, flags };
        self.client.call_fds::<_, Void>(P::DomainOpenGraphics as i32, &args, &[std::os::fd::AsFd::as_fd(&fd)]).map(|_| ())
    }
    fn domain_open_graphics_fd(&self, d: &DomainRef, idx: u32, flags: u32) -> Result<std::os::fd::OwnedFd> {
        let args = RemoteDomainOpenGraphicsFdArgs { dom: dom(d), idx, flags };
        let (Void, mut fds) = self.client.call_fds::<_, Void>(P::DomainOpenGraphicsFd as i32, &args, &[])?;
        match fds.len() {
            1 => Ok(fds.remove(0)),
            0 => Err(Error::new(ErrorCode::InternalError, ErrorDomain::Remote, "no file descriptor received")),
            _ => Err(Error::new(ErrorCode::InternalError, ErrorDomain::Remote, "too many file descriptors received")),
        }
    }
    fn domain_create_xml_with_files(&self, xml: &str, files: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<DomainRef> {
        let args = RemoteDomainCreateXmlWithFilesArgs { xml_desc: xml.to_string(), flags };
        let borrowed: Vec<_> = files.iter().map(std::os::fd::AsFd::as_fd).collect();
        let (r, _) = self.client.call_fds::<_, RemoteDomainCreateXmlWithFilesRet>(P::DomainCreateXmlWithFiles as i32, &args, &borrowed)?;
        Ok(dom_ref(r.dom))
    }
    fn domain_create_with_files(&self, d: &DomainRef, files: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<DomainRef> {
        let args = RemoteDomainCreateWithFilesArgs { dom: dom(d), flags };
        let borrowed: Vec<_> = files.iter().map(std::os::fd::AsFd::as_fd).collect();
        let (r, _) = self.client.call_fds::<_, RemoteDomainCreateWithFilesRet>(P::DomainCreateWithFiles as i32, &args, &borrowed)?;
        Ok(dom_ref(r.dom))
    }
    fn domain_fd_associate(&self, d: &DomainRef, name: &str, fds: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<()> {
        let args = RemoteDomainFdAssociateArgs { dom: dom(d), name: name.to_string(), flags };
        let borrowed: Vec<_> = fds.iter().map(std::os::fd::AsFd::as_fd).collect();
        self.client.call_fds::<_, Void>(P::DomainFdAssociate as i32, &args, &borrowed).map(|_| ())
    }
    fn connect_register_close_callback(&self, cb: oxvirt::driver::CloseCallback) -> Result<()> {
        // The slot's lock is never held across a call: the reader thread takes it to
        // fire the callback when the connection dies.
        let taken = || self.close_cb.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        let already = || Error::new(ErrorCode::OperationInvalid, ErrorDomain::Remote, "A close callback is already registered");
        if taken() {
            return Err(already());
        }
        if self.server_close_callback {
            self.call0(P::ConnectRegisterCloseCallback, &Void)?;
        }
        let mut slot = self.close_cb.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Err(already());
        }
        *slot = Some(cb);
        Ok(())
    }
    fn connect_unregister_close_callback(&self) -> Result<()> {
        let cb = self.close_cb.lock().unwrap_or_else(|p| p.into_inner()).take();
        if cb.is_none() {
            return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Remote, "A different callback was requested"));
        }
        if self.server_close_callback {
            self.call0(P::ConnectUnregisterCloseCallback, &Void)?;
        }
        Ok(())
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
    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        let a = RemoteConnectDomainXmlToNativeArgs { native_format: format.to_string(), domain_xml: xml.to_string(), flags };
        Ok(self.call::<_, RemoteConnectDomainXmlToNativeRet>(P::ConnectDomainXmlToNative, &a)?.native_config)
    }
    fn get_domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        let a = RemoteConnectGetDomainCapabilitiesArgs {
            emulatorbin: opt(emulator),
            arch: opt(arch),
            machine: opt(machine),
            virttype: opt(virttype),
            flags,
        };
        Ok(self.call::<_, RemoteConnectGetDomainCapabilitiesRet>(P::ConnectGetDomainCapabilities, &a)?.capabilities)
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
    // information and statistics (qinfo)
    fn domain_block_stats(&self, d: &DomainRef, path: &str) -> Result<BlockStats> {
        let r: RemoteDomainBlockStatsRet =
            self.call(P::DomainBlockStats, &RemoteDomainBlockStatsArgs { dom: dom(d), path: path.to_string() })?;
        Ok(BlockStats { rd_req: r.rd_req, rd_bytes: r.rd_bytes, wr_req: r.wr_req, wr_bytes: r.wr_bytes, errs: r.errs })
    }
    fn domain_block_stats_flags(&self, d: &DomainRef, path: &str, flags: u32) -> Result<Vec<TypedParam>> {
        // As virsh does: ask for the count, then for that many.
        let args = |nparams| RemoteDomainBlockStatsFlagsArgs { dom: dom(d), path: path.to_string(), nparams, flags };
        let n = self.call::<_, RemoteDomainBlockStatsFlagsRet>(P::DomainBlockStatsFlags, &args(0))?.nparams;
        let r: RemoteDomainBlockStatsFlagsRet = self.call(P::DomainBlockStatsFlags, &args(n.clamp(0, 16)))?;
        Ok(typed_params(r.params))
    }
    fn domain_interface_stats(&self, d: &DomainRef, device: &str) -> Result<InterfaceStats> {
        let r: RemoteDomainInterfaceStatsRet =
            self.call(P::DomainInterfaceStats, &RemoteDomainInterfaceStatsArgs { dom: dom(d), device: device.to_string() })?;
        Ok(InterfaceStats {
            rx_bytes: r.rx_bytes,
            rx_packets: r.rx_packets,
            rx_errs: r.rx_errs,
            rx_drop: r.rx_drop,
            tx_bytes: r.tx_bytes,
            tx_packets: r.tx_packets,
            tx_errs: r.tx_errs,
            tx_drop: r.tx_drop,
        })
    }
    fn domain_memory_stats(&self, d: &DomainRef, nr: u32, flags: u32) -> Result<Vec<MemoryStat>> {
        let r: RemoteDomainMemoryStatsRet =
            self.call(P::DomainMemoryStats, &RemoteDomainMemoryStatsArgs { dom: dom(d), max_stats: nr, flags })?;
        Ok(r.stats.into_iter().map(|s| MemoryStat { tag: s.tag, val: s.val }).collect())
    }
    fn domain_set_memory_stats_period(&self, d: &DomainRef, period: i32, flags: u32) -> Result<()> {
        self.call::<_, Void>(P::DomainSetMemoryStatsPeriod, &RemoteDomainSetMemoryStatsPeriodArgs { dom: dom(d), period, flags })?;
        Ok(())
    }
    fn domain_get_block_info(&self, d: &DomainRef, path: &str, flags: u32) -> Result<BlockInfo> {
        let r: RemoteDomainGetBlockInfoRet =
            self.call(P::DomainGetBlockInfo, &RemoteDomainGetBlockInfoArgs { dom: dom(d), path: path.to_string(), flags })?;
        Ok(BlockInfo { capacity: r.capacity, allocation: r.allocation, physical: r.physical })
    }
    fn domain_get_vcpus(&self, d: &DomainRef, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        let r: RemoteDomainGetVcpusRet = self.call(P::DomainGetVcpus, &RemoteDomainGetVcpusArgs { dom: dom(d), maxinfo, maplen })?;
        let info = r.info.into_iter().map(|v| VcpuInfo { number: v.number, state: v.state, cpu_time: v.cpu_time, cpu: v.cpu }).collect();
        Ok((info, r.cpumaps))
    }
    fn domain_get_time(&self, d: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        let r: RemoteDomainGetTimeRet = self.call(P::DomainGetTime, &RemoteDomainGetTimeArgs { dom: dom(d), flags })?;
        Ok((r.seconds, r.nseconds))
    }
    fn domain_set_time(&self, d: &DomainRef, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
        self.call::<_, Void>(P::DomainSetTime, &RemoteDomainSetTimeArgs { dom: dom(d), seconds, nseconds, flags })?;
        Ok(())
    }
    fn domain_interface_addresses(&self, d: &DomainRef, source: u32, flags: u32) -> Result<Vec<DomainInterface>> {
        let r: RemoteDomainInterfaceAddressesRet =
            self.call(P::DomainInterfaceAddresses, &RemoteDomainInterfaceAddressesArgs { dom: dom(d), source, flags })?;
        Ok(r.ifaces
            .into_iter()
            .map(|i| DomainInterface {
                name: i.name,
                hwaddr: i.hwaddr,
                addrs: i.addrs.into_iter().map(|a| IpAddress { typ: a.r#type, addr: a.addr, prefix: a.prefix }).collect(),
            })
            .collect())
    }
    fn get_all_domain_stats(&self, doms: &[DomainRef], stats: u32, flags: u32) -> Result<Vec<DomainStatsRecord>> {
        let args = RemoteConnectGetAllDomainStatsArgs { doms: doms.iter().map(dom).collect(), stats, flags };
        let r: RemoteConnectGetAllDomainStatsRet = self.call(P::ConnectGetAllDomainStats, &args)?;
        Ok(r.ret_stats.into_iter().map(|s| DomainStatsRecord { dom: dom_ref(s.dom), params: typed_params(s.params) }).collect())
    }
    fn domain_get_guest_info(&self, d: &DomainRef, types: u32, flags: u32) -> Result<Vec<TypedParam>> {
        let r: RemoteDomainGetGuestInfoRet =
            self.call(P::DomainGetGuestInfo, &RemoteDomainGetGuestInfoArgs { dom: dom(d), types, flags })?;
        Ok(typed_params(r.params))
    }
    fn domain_get_control_info(&self, d: &DomainRef, flags: u32) -> Result<ControlInfo> {
        let r: RemoteDomainGetControlInfoRet =
            self.call(P::DomainGetControlInfo, &RemoteDomainGetControlInfoArgs { dom: dom(d), flags })?;
        Ok(ControlInfo { state: r.state, details: r.details, state_time: r.state_time })
    }
    fn domain_get_job_info(&self, d: &DomainRef) -> Result<JobInfo> {
        let r: RemoteDomainGetJobInfoRet = self.call(P::DomainGetJobInfo, &RemoteDomainGetJobInfoArgs { dom: dom(d) })?;
        Ok(JobInfo {
            typ: r.r#type,
            time_elapsed: r.time_elapsed,
            time_remaining: r.time_remaining,
            data_total: r.data_total,
            data_processed: r.data_processed,
            data_remaining: r.data_remaining,
            mem_total: r.mem_total,
            mem_processed: r.mem_processed,
            mem_remaining: r.mem_remaining,
            file_total: r.file_total,
            file_processed: r.file_processed,
            file_remaining: r.file_remaining,
        })
    }
    fn domain_get_job_stats(&self, d: &DomainRef, flags: u32) -> Result<(i32, Vec<TypedParam>)> {
        let r: RemoteDomainGetJobStatsRet = self.call(P::DomainGetJobStats, &RemoteDomainGetJobStatsArgs { dom: dom(d), flags })?;
        Ok((r.r#type, typed_params(r.params)))
    }
    fn domain_get_disk_errors(&self, d: &DomainRef, maxerrors: u32, flags: u32) -> Result<(i32, Vec<DiskError>)> {
        let r: RemoteDomainGetDiskErrorsRet =
            self.call(P::DomainGetDiskErrors, &RemoteDomainGetDiskErrorsArgs { dom: dom(d), maxerrors, flags })?;
        Ok((r.nerrors, r.errors.into_iter().map(|e| DiskError { disk: e.disk, error: e.error }).collect()))
    }
    fn domain_inject_nmi(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.call::<_, Void>(P::DomainInjectNmi, &RemoteDomainInjectNmiArgs { dom: dom(d), flags })?;
        Ok(())
    }
    // send-key, screenshot, PM suspend/wakeup.
    fn domain_send_key(&self, d: &DomainRef, codeset: u32, holdtime: u32, keycodes: &[u32], flags: u32) -> Result<()> {
        let args = RemoteDomainSendKeyArgs { dom: dom(d), codeset, holdtime, keycodes: keycodes.to_vec(), flags };
        self.call::<_, Void>(P::DomainSendKey, &args)?;
        Ok(())
    }
    fn domain_screenshot(&self, d: &DomainRef, screen: u32, flags: u32) -> Result<(String, Box<dyn oxvirt::StreamDriver>)> {
        let args = RemoteDomainScreenshotArgs { dom: dom(d), screen, flags };
        let (s, r): (_, RemoteDomainScreenshotRet) = self.client.open_stream_ret(P::DomainScreenshot as i32, &args, false)?;
        Ok((r.mime.unwrap_or_default(), Box::new(s)))
    }
    fn domain_pm_suspend_for_duration(&self, d: &DomainRef, target: u32, duration: u64, flags: u32) -> Result<()> {
        let args = RemoteDomainPmSuspendForDurationArgs { dom: dom(d), target, duration, flags };
        self.call::<_, Void>(P::DomainPmSuspendForDuration, &args)?;
        Ok(())
    }
    fn domain_pm_wakeup(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.call::<_, Void>(P::DomainPmWakeup, &RemoteDomainPmWakeupArgs { dom: dom(d), flags })?;
        Ok(())
    }
    fn domain_fs_freeze(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        let args = RemoteDomainFsfreezeArgs { dom: dom(d), mountpoints: mountpoints.to_vec(), flags };
        Ok(self.call::<_, RemoteDomainFsfreezeRet>(P::DomainFsfreeze, &args)?.filesystems)
    }
    fn domain_fs_thaw(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        let args = RemoteDomainFsthawArgs { dom: dom(d), mountpoints: mountpoints.to_vec(), flags };
        Ok(self.call::<_, RemoteDomainFsthawRet>(P::DomainFsthaw, &args)?.filesystems)
    }
    fn domain_get_fs_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        let r: RemoteDomainGetFsinfoRet = self.call(P::DomainGetFsinfo, &RemoteDomainGetFsinfoArgs { dom: dom(d), flags })?;
        Ok(r.info
            .into_iter()
            .map(|f| FsInfo { mountpoint: f.mountpoint, name: f.name, fstype: f.fstype, dev_aliases: f.dev_aliases })
            .collect())
    }
    fn domain_set_user_password(&self, d: &DomainRef, user: &str, password: &str, flags: u32) -> Result<()> {
        let args =
            RemoteDomainSetUserPasswordArgs { dom: dom(d), user: Some(user.to_string()), password: Some(password.to_string()), flags };
        self.call::<_, Void>(P::DomainSetUserPassword, &args)?;
        Ok(())
    }
    fn domain_agent_set_response_timeout(&self, d: &DomainRef, timeout: i32, flags: u32) -> Result<()> {
        let args = RemoteDomainAgentSetResponseTimeoutArgs { dom: dom(d), timeout, flags };
        self.call::<_, RemoteDomainAgentSetResponseTimeoutRet>(P::DomainAgentSetResponseTimeout, &args)?;
        Ok(())
    }
    fn domain_get_guest_vcpus(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        let r: RemoteDomainGetGuestVcpusRet = self.call(P::DomainGetGuestVcpus, &RemoteDomainGetGuestVcpusArgs { dom: dom(d), flags })?;
        Ok(typed_params(r.params))
    }
    fn domain_set_guest_vcpus(&self, d: &DomainRef, cpumap: &str, state: i32, flags: u32) -> Result<()> {
        let args = RemoteDomainSetGuestVcpusArgs { dom: dom(d), cpumap: cpumap.to_string(), state, flags };
        self.call::<_, Void>(P::DomainSetGuestVcpus, &args)?;
        Ok(())
    }
    // end of information and statistics (qinfo)
    fn domain_rename(&self, d: &DomainRef, new_name: &str, flags: u32) -> Result<DomainRef> {
        let args = RemoteDomainRenameArgs { dom: dom(d), new_name: Some(new_name.to_string()), flags };
        self.call::<_, RemoteDomainRenameRet>(P::DomainRename, &args)?;
        Ok(DomainRef { name: new_name.to_string(), ..d.clone() })
    }
    // tuning, pinning, devices (rss): see tune.rs
    fn node_get_cpu_stats(&self, cpu: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        self.tune_node_cpu_stats(cpu, flags)
    }
    fn node_get_memory_stats(&self, cell: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        self.tune_node_memory_stats(cell, flags)
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
    // ---- device hotplug ----
    fn domain_attach_device(&self, d: &DomainRef, xml: &str) -> Result<()> {
        self.call0(P::DomainAttachDevice, &RemoteDomainAttachDeviceArgs { dom: dom(d), xml: xml.to_string() })
    }
    fn domain_attach_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        self.call0(P::DomainAttachDeviceFlags, &RemoteDomainAttachDeviceFlagsArgs { dom: dom(d), xml: xml.to_string(), flags })
    }
    fn domain_detach_device(&self, d: &DomainRef, xml: &str) -> Result<()> {
        self.call0(P::DomainDetachDevice, &RemoteDomainDetachDeviceArgs { dom: dom(d), xml: xml.to_string() })
    }
    fn domain_detach_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        self.call0(P::DomainDetachDeviceFlags, &RemoteDomainDetachDeviceFlagsArgs { dom: dom(d), xml: xml.to_string(), flags })
    }
    fn domain_detach_device_alias(&self, d: &DomainRef, alias: &str, flags: u32) -> Result<()> {
        self.call0(P::DomainDetachDeviceAlias, &RemoteDomainDetachDeviceAliasArgs { dom: dom(d), alias: alias.to_string(), flags })
    }
    fn domain_update_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        self.call0(P::DomainUpdateDeviceFlags, &RemoteDomainUpdateDeviceFlagsArgs { dom: dom(d), xml: xml.to_string(), flags })
    }
    // ---- end of device hotplug ----
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
