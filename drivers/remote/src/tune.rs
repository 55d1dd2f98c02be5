//! The tuning and pinning calls over the wire (scheduler, memory and blkio
//! parameters, vCPU and emulator pinning, the node's CPU statistics, CPU map and CPU
//! model names), sent as libvirt's `remote_driver.c` sends them: "get" calls with
//! `nparams = 0` first to learn the count, then with that count.

use crate::conv::dom;
use crate::RemoteConn;
use oxvirt::typedparam::{TypedParam, TypedValue};
use oxvirt::types::DomainRef;
use oxvirt::Result;
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::proto::RemoteTypedParamValue as V;
use RemoteProcedure as P;

/// Wire typed parameters → API ones (`remoteDeserializeTypedParameters`).
pub(crate) fn from_wire(params: Vec<RemoteTypedParam>) -> Vec<TypedParam> {
    params
        .into_iter()
        .map(|p| {
            let value = match p.value {
                V::Int(v) => TypedValue::Int(v),
                V::UInt(v) => TypedValue::UInt(v),
                V::LLong(v) => TypedValue::LLong(v),
                V::ULLong(v) => TypedValue::ULLong(v),
                V::Double(v) => TypedValue::Double(v),
                V::Boolean(v) => TypedValue::Boolean(v != 0),
                V::String(v) => TypedValue::String(v),
            };
            TypedParam { field: p.field, value }
        })
        .collect()
}

/// API typed parameters → wire ones.
fn to_wire(params: &[TypedParam]) -> Vec<RemoteTypedParam> {
    params
        .iter()
        .map(|p| RemoteTypedParam {
            field: p.field.clone(),
            value: match &p.value {
                TypedValue::Int(v) => V::Int(*v),
                TypedValue::UInt(v) => V::UInt(*v),
                TypedValue::LLong(v) => V::LLong(*v),
                TypedValue::ULLong(v) => V::ULLong(*v),
                TypedValue::Double(v) => V::Double(*v),
                TypedValue::Boolean(v) => V::Boolean(i32::from(*v)),
                TypedValue::String(v) => V::String(v.clone()),
            },
        })
        .collect()
}

impl RemoteConn {
    pub(crate) fn tune_node_cpu_stats(&self, cpu_num: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        let count: RemoteNodeGetCpuStatsRet = self.call(P::NodeGetCpuStats, &RemoteNodeGetCpuStatsArgs { cpu_num, nparams: 0, flags })?;
        if count.nparams <= 0 {
            return Ok(Vec::new());
        }
        let r: RemoteNodeGetCpuStatsRet =
            self.call(P::NodeGetCpuStats, &RemoteNodeGetCpuStatsArgs { cpu_num, nparams: count.nparams, flags })?;
        Ok(r.params.into_iter().map(|p| (p.field, p.value)).collect())
    }

    pub(crate) fn tune_node_memory_stats(&self, cell_num: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        let count: RemoteNodeGetMemoryStatsRet =
            self.call(P::NodeGetMemoryStats, &RemoteNodeGetMemoryStatsArgs { cell_num, nparams: 0, flags })?;
        if count.nparams <= 0 {
            return Ok(Vec::new());
        }
        let r: RemoteNodeGetMemoryStatsRet =
            self.call(P::NodeGetMemoryStats, &RemoteNodeGetMemoryStatsArgs { cell_num, nparams: count.nparams, flags })?;
        Ok(r.params.into_iter().map(|p| (p.field, p.value)).collect())
    }

    pub(crate) fn tune_node_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        let r: RemoteNodeGetCpuMapRet = self.call(P::NodeGetCpuMap, &RemoteNodeGetCpuMapArgs { need_map: 1, need_online: 1, flags })?;
        Ok((r.ret, r.cpumap, r.online))
    }

    pub(crate) fn tune_cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<String>> {
        let args = RemoteConnectGetCpuModelNamesArgs { arch: arch.to_string(), need_results: 1, flags };
        Ok(self.call::<_, RemoteConnectGetCpuModelNamesRet>(P::ConnectGetCpuModelNames, &args)?.models)
    }

    pub(crate) fn tune_get_scheduler_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        let t: RemoteDomainGetSchedulerTypeRet = self.call(P::DomainGetSchedulerType, &RemoteDomainGetSchedulerTypeArgs { dom: dom(d) })?;
        let params = if flags == 0 {
            let args = RemoteDomainGetSchedulerParametersArgs { dom: dom(d), nparams: t.nparams };
            self.call::<_, RemoteDomainGetSchedulerParametersRet>(P::DomainGetSchedulerParameters, &args)?.params
        } else {
            let args = RemoteDomainGetSchedulerParametersFlagsArgs { dom: dom(d), nparams: t.nparams, flags };
            self.call::<_, RemoteDomainGetSchedulerParametersFlagsRet>(P::DomainGetSchedulerParametersFlags, &args)?.params
        };
        Ok(from_wire(params))
    }

    pub(crate) fn tune_set_scheduler_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        if flags == 0 {
            self.call0(P::DomainSetSchedulerParameters, &RemoteDomainSetSchedulerParametersArgs { dom: dom(d), params: to_wire(params) })
        } else {
            let args = RemoteDomainSetSchedulerParametersFlagsArgs { dom: dom(d), params: to_wire(params), flags };
            self.call0(P::DomainSetSchedulerParametersFlags, &args)
        }
    }

    pub(crate) fn tune_get_memory_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        let count: RemoteDomainGetMemoryParametersRet =
            self.call(P::DomainGetMemoryParameters, &RemoteDomainGetMemoryParametersArgs { dom: dom(d), nparams: 0, flags })?;
        if count.nparams <= 0 {
            return Ok(Vec::new());
        }
        let args = RemoteDomainGetMemoryParametersArgs { dom: dom(d), nparams: count.nparams, flags };
        Ok(from_wire(self.call::<_, RemoteDomainGetMemoryParametersRet>(P::DomainGetMemoryParameters, &args)?.params))
    }

    pub(crate) fn tune_set_memory_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        let args = RemoteDomainSetMemoryParametersArgs { dom: dom(d), params: to_wire(params), flags };
        self.call0(P::DomainSetMemoryParameters, &args)
    }

    pub(crate) fn tune_get_blkio_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        let count: RemoteDomainGetBlkioParametersRet =
            self.call(P::DomainGetBlkioParameters, &RemoteDomainGetBlkioParametersArgs { dom: dom(d), nparams: 0, flags })?;
        if count.nparams <= 0 {
            return Ok(Vec::new());
        }
        let args = RemoteDomainGetBlkioParametersArgs { dom: dom(d), nparams: count.nparams, flags };
        Ok(from_wire(self.call::<_, RemoteDomainGetBlkioParametersRet>(P::DomainGetBlkioParameters, &args)?.params))
    }

    pub(crate) fn tune_pin_vcpu(&self, d: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        if flags == 0 {
            self.call0(P::DomainPinVcpu, &RemoteDomainPinVcpuArgs { dom: dom(d), vcpu, cpumap: cpumap.to_vec() })
        } else {
            self.call0(P::DomainPinVcpuFlags, &RemoteDomainPinVcpuFlagsArgs { dom: dom(d), vcpu, cpumap: cpumap.to_vec(), flags })
        }
    }

    pub(crate) fn tune_get_vcpu_pin_info(&self, d: &DomainRef, ncpumaps: i32, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        let args = RemoteDomainGetVcpuPinInfoArgs { dom: dom(d), ncpumaps, maplen, flags };
        let r: RemoteDomainGetVcpuPinInfoRet = self.call(P::DomainGetVcpuPinInfo, &args)?;
        Ok((r.cpumaps, r.num))
    }

    pub(crate) fn tune_pin_emulator(&self, d: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
        self.call0(P::DomainPinEmulator, &RemoteDomainPinEmulatorArgs { dom: dom(d), cpumap: cpumap.to_vec(), flags })
    }

    pub(crate) fn tune_get_emulator_pin_info(&self, d: &DomainRef, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        let args = RemoteDomainGetEmulatorPinInfoArgs { dom: dom(d), maplen, flags };
        let r: RemoteDomainGetEmulatorPinInfoRet = self.call(P::DomainGetEmulatorPinInfo, &args)?;
        Ok((r.cpumaps, r.ret))
    }

    pub(crate) fn tune_set_blkio_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        self.call0(P::DomainSetBlkioParameters, &RemoteDomainSetBlkioParametersArgs { dom: dom(d), params: to_wire(params), flags })
    }

    pub(crate) fn tune_get_numa_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        let count: RemoteDomainGetNumaParametersRet =
            self.call(P::DomainGetNumaParameters, &RemoteDomainGetNumaParametersArgs { dom: dom(d), nparams: 0, flags })?;
        if count.nparams <= 0 {
            return Ok(Vec::new());
        }
        let args = RemoteDomainGetNumaParametersArgs { dom: dom(d), nparams: count.nparams, flags };
        Ok(from_wire(self.call::<_, RemoteDomainGetNumaParametersRet>(P::DomainGetNumaParameters, &args)?.params))
    }

    pub(crate) fn tune_set_numa_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        self.call0(P::DomainSetNumaParameters, &RemoteDomainSetNumaParametersArgs { dom: dom(d), params: to_wire(params), flags })
    }

    pub(crate) fn tune_get_perf_events(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        let r: RemoteDomainGetPerfEventsRet = self.call(P::DomainGetPerfEvents, &RemoteDomainGetPerfEventsArgs { dom: dom(d), flags })?;
        Ok(from_wire(r.params))
    }

    pub(crate) fn tune_set_perf_events(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        self.call0(P::DomainSetPerfEvents, &RemoteDomainSetPerfEventsArgs { dom: dom(d), params: to_wire(params), flags })
    }

    pub(crate) fn tune_set_lifecycle_action(&self, d: &DomainRef, typ: u32, action: u32, flags: u32) -> Result<()> {
        self.call0(P::DomainSetLifecycleAction, &RemoteDomainSetLifecycleActionArgs { dom: dom(d), r#type: typ, action, flags })
    }

    pub(crate) fn tune_memory_peek(&self, d: &DomainRef, offset: u64, size: u32, flags: u32) -> Result<Vec<u8>> {
        let r: RemoteDomainMemoryPeekRet =
            self.call(P::DomainMemoryPeek, &RemoteDomainMemoryPeekArgs { dom: dom(d), offset, size, flags })?;
        Ok(r.buffer)
    }

    pub(crate) fn tune_get_messages(&self, d: &DomainRef, flags: u32) -> Result<Vec<String>> {
        Ok(self.call::<_, RemoteDomainGetMessagesRet>(P::DomainGetMessages, &RemoteDomainGetMessagesArgs { dom: dom(d), flags })?.msgs)
    }

    pub(crate) fn tune_core_dump(&self, d: &DomainRef, to: &str, dumpformat: u32, flags: u32) -> Result<()> {
        if dumpformat == 0 {
            self.call0(P::DomainCoreDump, &RemoteDomainCoreDumpArgs { dom: dom(d), to: to.to_string(), flags })
        } else {
            let args = RemoteDomainCoreDumpWithFormatArgs { dom: dom(d), to: to.to_string(), dumpformat, flags };
            self.call0(P::DomainCoreDumpWithFormat, &args)
        }
    }

    pub(crate) fn tune_node_free_pages(&self, pages: &[u32], start_cell: i32, cell_count: u32, flags: u32) -> Result<(Vec<u64>, i32)> {
        let args = RemoteNodeGetFreePagesArgs { pages: pages.to_vec(), start_cell, cell_count, flags };
        let r: RemoteNodeGetFreePagesRet = self.call(P::NodeGetFreePages, &args)?;
        let n = r.counts.len() as i32;
        Ok((r.counts, n))
    }

    pub(crate) fn tune_get_interface_parameters(&self, d: &DomainRef, device: &str, flags: u32) -> Result<Vec<TypedParam>> {
        let args = |nparams| RemoteDomainGetInterfaceParametersArgs { dom: dom(d), device: device.to_string(), nparams, flags };
        let count: RemoteDomainGetInterfaceParametersRet = self.call(P::DomainGetInterfaceParameters, &args(0))?;
        if count.nparams <= 0 {
            return Ok(Vec::new());
        }
        Ok(from_wire(self.call::<_, RemoteDomainGetInterfaceParametersRet>(P::DomainGetInterfaceParameters, &args(count.nparams))?.params))
    }

    pub(crate) fn tune_set_interface_parameters(&self, d: &DomainRef, device: &str, params: &[TypedParam], flags: u32) -> Result<()> {
        let args = RemoteDomainSetInterfaceParametersArgs { dom: dom(d), device: device.to_string(), params: to_wire(params), flags };
        self.call0(P::DomainSetInterfaceParameters, &args)
    }

    pub(crate) fn tune_save_image_define_xml(&self, file: &str, dxml: &str, flags: u32) -> Result<()> {
        let args = RemoteDomainSaveImageDefineXmlArgs { file: file.to_string(), dxml: dxml.to_string(), flags };
        self.call0(P::DomainSaveImageDefineXml, &args)
    }

    pub(crate) fn tune_get_iothread_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        let r: RemoteDomainGetIothreadInfoRet =
            self.call(P::DomainGetIothreadInfo, &RemoteDomainGetIothreadInfoArgs { dom: dom(d), flags })?;
        Ok(r.info.into_iter().map(|i| (i.iothread_id, i.cpumap)).collect())
    }

    pub(crate) fn tune_add_iothread(&self, d: &DomainRef, iothread_id: u32, flags: u32) -> Result<()> {
        self.call0(P::DomainAddIothread, &RemoteDomainAddIothreadArgs { dom: dom(d), iothread_id, flags })
    }

    pub(crate) fn tune_del_iothread(&self, d: &DomainRef, iothread_id: u32, flags: u32) -> Result<()> {
        self.call0(P::DomainDelIothread, &RemoteDomainDelIothreadArgs { dom: dom(d), iothread_id, flags })
    }

    pub(crate) fn tune_pin_iothread(&self, d: &DomainRef, iothreads_id: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        self.call0(P::DomainPinIothread, &RemoteDomainPinIothreadArgs { dom: dom(d), iothreads_id, cpumap: cpumap.to_vec(), flags })
    }

    pub(crate) fn tune_set_iothread_params(&self, d: &DomainRef, iothread_id: u32, params: &[TypedParam], flags: u32) -> Result<()> {
        let args = RemoteDomainSetIothreadParamsArgs { dom: dom(d), iothread_id, params: to_wire(params), flags };
        self.call0(P::DomainSetIothreadParams, &args)
    }
}
