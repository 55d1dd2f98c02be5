//! Dispatch of the tuning and pinning procedures (scheduler, memory and blkio
//! parameters, vCPU and emulator pinning) and of the node's CPU statistics, CPU map
//! and CPU model names, with libvirtd's argument checks and its typed-parameter
//! encoding (`virTypedParamsSerialize` / `virTypedParamsDeserialize`).

use super::conv::{dom, param, wire_param};
use super::{args, ret, void, Reply};
use oxvirt::typedparam::TYPED_PARAM_STRING_OKAY;
use oxvirt::*;
use oxvirt_rpc::proto::remote::*;

/// `REMOTE_DOMAIN_SCHEDULER_PARAMETERS_MAX`, `..._MEMORY_...`, `..._BLKIO_...`.
const PARAMS_MAX: i32 = 16;
/// `REMOTE_NODE_CPU_STATS_MAX`.
const NODE_CPU_STATS_MAX: i32 = 16;
/// `REMOTE_NODE_MEMORY_STATS_MAX`.
const NODE_MEMORY_STATS_MAX: i32 = 16;
/// `REMOTE_VCPUINFO_MAX`.
const VCPUINFO_MAX: i32 = 16384;
/// `REMOTE_CPUMAPS_MAX`.
const CPUMAPS_MAX: i64 = 8_388_608;
/// `REMOTE_DOMAIN_PERF_EVENTS_MAX`.
const PERF_PARAMS_MAX: usize = 64;
/// `REMOTE_DOMAIN_MEMORY_PEEK_BUFFER_MAX`.
const MEMORY_PEEK_MAX: u32 = 4_194_304;
/// `REMOTE_NODE_MAX_CELLS`.
const NODE_MAX_CELLS: u64 = 1024;
/// `REMOTE_CONNECT_CPU_MODELS_MAX`.
const CPU_MODELS_MAX: usize = 8192;

fn handle(conn: &Connect, d: &RemoteNonnullDomain) -> Domain {
    conn.domain_from_ref(dom(d))
}

fn internal(msg: &str) -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, msg)
}

/// libvirtd's checks of a "get" call's `nparams`.
fn check_nparams(n: i32, max: i32) -> Result<()> {
    if n < 0 {
        return Err(internal("nparams must be non-negative"));
    }
    if n > max {
        return Err(internal("nparams too large"));
    }
    Ok(())
}

/// `virTypedParamsSerialize`: at most `n` parameters; string ones only when the
/// caller's flags carry `VIR_TYPED_PARAM_STRING_OKAY`.
pub fn serialize(params: Vec<TypedParam>, n: usize, flags: u32) -> Vec<RemoteTypedParam> {
    params
        .into_iter()
        .take(n)
        .filter(|p| flags & TYPED_PARAM_STRING_OKAY != 0 || !matches!(p.value, TypedValue::String(_)))
        .map(wire_param)
        .collect()
}

/// `virTypedParamsDeserialize`.
pub fn deserialize(params: Vec<RemoteTypedParam>) -> Result<Vec<TypedParam>> {
    params
        .into_iter()
        .map(|p| {
            if p.field.len() >= typedparam::TYPED_PARAM_FIELD_LENGTH {
                return Err(internal(&format!("Parameter name '{}' too big", p.field)));
            }
            Ok(param(p))
        })
        .collect()
}

fn flags(bits: u32) -> DomainModFlags {
    DomainModFlags::from_bits_retain(bits)
}

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    macro_rules! a {
        ($t:ty) => {
            match args::<$t>(payload) {
                Ok(a) => a,
                Err(e) => return Some(Err(e)),
            }
        };
    }
    Some(match proc {
        P::NodeGetCpuStats => {
            let a = a!(RemoteNodeGetCpuStatsArgs);
            check_nparams(a.nparams, NODE_CPU_STATS_MAX).and_then(|_| conn.node_cpu_stats(a.cpu_num, a.flags)).and_then(|stats| {
                if a.nparams == 0 {
                    return ret(&RemoteNodeGetCpuStatsRet { params: Vec::new(), nparams: stats.len() as i32 });
                }
                let params: Vec<RemoteNodeGetCpuStats> =
                    stats.into_iter().take(a.nparams as usize).map(|(field, value)| RemoteNodeGetCpuStats { field, value }).collect();
                ret(&RemoteNodeGetCpuStatsRet { params, nparams: 0 })
            })
        }
        P::NodeGetMemoryStats => {
            let a = a!(RemoteNodeGetMemoryStatsArgs);
            check_nparams(a.nparams, NODE_MEMORY_STATS_MAX).and_then(|_| conn.node_memory_stats(a.cell_num, a.flags)).and_then(|stats| {
                if a.nparams == 0 {
                    return ret(&RemoteNodeGetMemoryStatsRet { params: Vec::new(), nparams: stats.len() as i32 });
                }
                let params: Vec<RemoteNodeGetMemoryStats> =
                    stats.into_iter().take(a.nparams as usize).map(|(field, value)| RemoteNodeGetMemoryStats { field, value }).collect();
                ret(&RemoteNodeGetMemoryStatsRet { params, nparams: 0 })
            })
        }
        P::NodeGetCpuMap => {
            let a = a!(RemoteNodeGetCpuMapArgs);
            conn.node_cpu_map(a.flags).and_then(|(n, mut map, online)| {
                let cpumap = if a.need_map != 0 {
                    map.resize((n.max(0) as usize).div_ceil(8), 0);
                    map
                } else {
                    Vec::new()
                };
                ret(&RemoteNodeGetCpuMapRet { cpumap, online: if a.need_online != 0 { online } else { 0 }, ret: n })
            })
        }
        P::ConnectGetCpuModelNames => {
            let a = a!(RemoteConnectGetCpuModelNamesArgs);
            conn.cpu_model_names(&a.arch, a.flags).and_then(|models| {
                if models.len() > CPU_MODELS_MAX {
                    return Err(Error::new(
                        ErrorCode::Rpc,
                        ErrorDomain::Rpc,
                        format!("Too many CPU models '{}' for limit '{CPU_MODELS_MAX}'", models.len()),
                    ));
                }
                let n = models.len() as i32;
                ret(&RemoteConnectGetCpuModelNamesRet { models: if a.need_results != 0 { models } else { Vec::new() }, ret: n })
            })
        }
        P::DomainGetSchedulerParameters => {
            let a = a!(RemoteDomainGetSchedulerParametersArgs);
            check_nparams(a.nparams, PARAMS_MAX)
                .and_then(|_| positive_nparams(a.nparams, "virDomainGetSchedulerParameters"))
                .and_then(|_| handle(conn, &a.dom).scheduler_parameters())
                .and_then(|p| ret(&RemoteDomainGetSchedulerParametersRet { params: serialize(p, a.nparams as usize, 0) }))
        }
        P::DomainGetSchedulerParametersFlags => {
            let a = a!(RemoteDomainGetSchedulerParametersFlagsArgs);
            check_nparams(a.nparams, PARAMS_MAX)
                .and_then(|_| positive_nparams(a.nparams, "virDomainGetSchedulerParametersFlags"))
                .and_then(|_| handle(conn, &a.dom).scheduler_parameters_flags(flags(a.flags)))
                .and_then(|p| ret(&RemoteDomainGetSchedulerParametersFlagsRet { params: serialize(p, a.nparams as usize, a.flags) }))
        }
        P::DomainSetSchedulerParameters => {
            let a = a!(RemoteDomainSetSchedulerParametersArgs);
            deserialize(a.params)
                .and_then(|p| handle(conn, &a.dom).set_scheduler_parameters(&p, DomainModFlags::empty()))
                .and_then(|_| void())
        }
        P::DomainSetSchedulerParametersFlags => {
            let a = a!(RemoteDomainSetSchedulerParametersFlagsArgs);
            deserialize(a.params).and_then(|p| handle(conn, &a.dom).set_scheduler_parameters(&p, flags(a.flags))).and_then(|_| void())
        }
        P::DomainGetMemoryParameters => {
            let a = a!(RemoteDomainGetMemoryParametersArgs);
            check_nparams(a.nparams, PARAMS_MAX).and_then(|_| handle(conn, &a.dom).memory_parameters(flags(a.flags))).and_then(|p| {
                if a.nparams == 0 {
                    return ret(&RemoteDomainGetMemoryParametersRet { params: Vec::new(), nparams: p.len() as i32 });
                }
                ret(&RemoteDomainGetMemoryParametersRet { params: serialize(p, a.nparams as usize, a.flags), nparams: 0 })
            })
        }
        P::DomainSetMemoryParameters => {
            let a = a!(RemoteDomainSetMemoryParametersArgs);
            deserialize(a.params).and_then(|p| handle(conn, &a.dom).set_memory_parameters(&p, flags(a.flags))).and_then(|_| void())
        }
        P::DomainGetBlkioParameters => {
            let a = a!(RemoteDomainGetBlkioParametersArgs);
            check_nparams(a.nparams, PARAMS_MAX).and_then(|_| handle(conn, &a.dom).blkio_parameters(flags(a.flags))).and_then(|p| {
                if a.nparams == 0 {
                    return ret(&RemoteDomainGetBlkioParametersRet { params: Vec::new(), nparams: p.len() as i32 });
                }
                ret(&RemoteDomainGetBlkioParametersRet { params: serialize(p, a.nparams as usize, a.flags), nparams: 0 })
            })
        }
        P::DomainPinVcpu => {
            let a = a!(RemoteDomainPinVcpuArgs);
            handle(conn, &a.dom).pin_vcpu(a.vcpu, &a.cpumap, DomainModFlags::empty()).and_then(|_| void())
        }
        P::DomainPinVcpuFlags => {
            let a = a!(RemoteDomainPinVcpuFlagsArgs);
            let d = handle(conn, &a.dom);
            // virDomainPinVcpuFlags with flags 0 reaches the driver like virDomainPinVcpu
            d.pin_vcpu(a.vcpu, &a.cpumap, flags(a.flags)).and_then(|_| void())
        }
        P::DomainGetVcpuPinInfo => {
            let a = a!(RemoteDomainGetVcpuPinInfoArgs);
            let checked = if a.ncpumaps < 0 {
                Err(internal("ncpumaps must be non-negative"))
            } else if a.maplen < 0 {
                Err(internal("maplen must be non-negative"))
            } else if a.ncpumaps > VCPUINFO_MAX {
                Err(internal("ncpumaps > REMOTE_VCPUINFO_MAX"))
            } else if i64::from(a.ncpumaps) * i64::from(a.maplen) > CPUMAPS_MAX {
                Err(internal("maxinfo * maplen > REMOTE_CPUMAPS_MAX"))
            } else {
                Ok(())
            };
            checked
                .and_then(|_| handle(conn, &a.dom).vcpu_pin_info(a.ncpumaps, a.maplen, flags(a.flags)))
                .and_then(|(cpumaps, num)| ret(&RemoteDomainGetVcpuPinInfoRet { cpumaps, num }))
        }
        P::DomainPinEmulator => {
            let a = a!(RemoteDomainPinEmulatorArgs);
            handle(conn, &a.dom).pin_emulator(&a.cpumap, flags(a.flags)).and_then(|_| void())
        }
        P::DomainGetEmulatorPinInfo => {
            let a = a!(RemoteDomainGetEmulatorPinInfoArgs);
            let checked = if a.maplen < 0 { Err(internal("maplen must be non-negative")) } else { Ok(()) };
            checked
                .and_then(|_| handle(conn, &a.dom).emulator_pin_info(a.maplen, flags(a.flags)))
                .and_then(|cpumaps| ret(&RemoteDomainGetEmulatorPinInfoRet { cpumaps, ret: 1 }))
        }
        P::DomainSetBlkioParameters => {
            let a = a!(RemoteDomainSetBlkioParametersArgs);
            deserialize(a.params).and_then(|p| handle(conn, &a.dom).set_blkio_parameters(&p, flags(a.flags))).and_then(|_| void())
        }
        P::DomainGetNumaParameters => {
            let a = a!(RemoteDomainGetNumaParametersArgs);
            // libvirt's drivers answer the count request (nparams 0) before they look
            // at the live/config flags, so a conflicting pair fails only on the fetch
            let f = if a.nparams == 0 && a.flags & 3 == 3 { a.flags & !2 } else { a.flags };
            check_nparams(a.nparams, PARAMS_MAX).and_then(|_| handle(conn, &a.dom).numa_parameters(flags(f))).and_then(|p| {
                if a.nparams == 0 {
                    return ret(&RemoteDomainGetNumaParametersRet { params: Vec::new(), nparams: p.len() as i32 });
                }
                ret(&RemoteDomainGetNumaParametersRet { params: serialize(p, a.nparams as usize, a.flags), nparams: 0 })
            })
        }
        P::DomainSetNumaParameters => {
            let a = a!(RemoteDomainSetNumaParametersArgs);
            deserialize(a.params).and_then(|p| handle(conn, &a.dom).set_numa_parameters(&p, flags(a.flags))).and_then(|_| void())
        }
        P::DomainGetPerfEvents => {
            let a = a!(RemoteDomainGetPerfEventsArgs);
            handle(conn, &a.dom)
                .perf_events(flags(a.flags))
                .and_then(|p| ret(&RemoteDomainGetPerfEventsRet { params: serialize(p, PERF_PARAMS_MAX, a.flags) }))
        }
        P::DomainSetPerfEvents => {
            let a = a!(RemoteDomainSetPerfEventsArgs);
            deserialize(a.params).and_then(|p| handle(conn, &a.dom).set_perf_events(&p, flags(a.flags))).and_then(|_| void())
        }
        P::DomainSetLifecycleAction => {
            let a = a!(RemoteDomainSetLifecycleActionArgs);
            handle(conn, &a.dom).set_lifecycle_action(a.r#type, a.action, flags(a.flags)).and_then(|_| void())
        }
        P::DomainMemoryPeek => {
            let a = a!(RemoteDomainMemoryPeekArgs);
            if a.size > MEMORY_PEEK_MAX {
                Err(internal("size > maximum buffer size"))
            } else {
                handle(conn, &a.dom).memory_peek(a.offset, a.size, a.flags).and_then(|buffer| ret(&RemoteDomainMemoryPeekRet { buffer }))
            }
        }
        P::DomainGetMessages => {
            let a = a!(RemoteDomainGetMessagesArgs);
            handle(conn, &a.dom).messages(a.flags).and_then(|msgs| ret(&RemoteDomainGetMessagesRet { msgs }))
        }
        P::DomainCoreDump => {
            let a = a!(RemoteDomainCoreDumpArgs);
            handle(conn, &a.dom).core_dump(&a.to, 0, a.flags).and_then(|_| void())
        }
        P::DomainCoreDumpWithFormat => {
            let a = a!(RemoteDomainCoreDumpWithFormatArgs);
            handle(conn, &a.dom).core_dump(&a.to, a.dumpformat, a.flags).and_then(|_| void())
        }
        P::NodeGetFreePages => {
            let a = a!(RemoteNodeGetFreePagesArgs);
            if (a.pages.len() as u64) * u64::from(a.cell_count) > NODE_MAX_CELLS {
                Err(internal("the result won't fit into REMOTE_NODE_MAX_CELLS"))
            } else {
                conn.node_free_pages(&a.pages, a.start_cell, a.cell_count, a.flags).and_then(|(counts, len)| {
                    // libvirtd fails when the driver returns 0 (as libvirt's test driver
                    // does) without an error of its own
                    if len <= 0 {
                        return Err(internal("Library function returned error but did not set virError"));
                    }
                    ret(&RemoteNodeGetFreePagesRet { counts: counts.into_iter().take(len as usize).collect() })
                })
            }
        }
        P::DomainGetInterfaceParameters => {
            let a = a!(RemoteDomainGetInterfaceParametersArgs);
            // as for NUMA: the count request does not look at the live/config flags
            let f = if a.nparams == 0 && a.flags & 3 == 3 { a.flags & !2 } else { a.flags };
            check_nparams(a.nparams, PARAMS_MAX).and_then(|_| handle(conn, &a.dom).interface_parameters(&a.device, flags(f))).and_then(
                |p| {
                    if a.nparams == 0 {
                        return ret(&RemoteDomainGetInterfaceParametersRet { params: Vec::new(), nparams: p.len() as i32 });
                    }
                    ret(&RemoteDomainGetInterfaceParametersRet { params: serialize(p, a.nparams as usize, a.flags), nparams: 0 })
                },
            )
        }
        P::DomainSetInterfaceParameters => {
            let a = a!(RemoteDomainSetInterfaceParametersArgs);
            deserialize(a.params)
                .and_then(|p| handle(conn, &a.dom).set_interface_parameters(&a.device, &p, flags(a.flags)))
                .and_then(|_| void())
        }
        P::DomainSaveImageDefineXml => {
            let a = a!(RemoteDomainSaveImageDefineXmlArgs);
            conn.domain_save_image_define_xml(&a.file, &a.dxml, a.flags).and_then(|_| void())
        }
        P::DomainManagedSaveGetXmlDesc => {
            let a = a!(RemoteDomainManagedSaveGetXmlDescArgs);
            handle(conn, &a.dom).managed_save_xml(a.flags).and_then(|xml| ret(&RemoteDomainManagedSaveGetXmlDescRet { xml }))
        }
        P::DomainManagedSaveDefineXml => {
            let a = a!(RemoteDomainManagedSaveDefineXmlArgs);
            handle(conn, &a.dom).managed_save_define_xml(a.dxml.as_deref(), a.flags).and_then(|_| void())
        }
        P::DomainGetIothreadInfo => {
            let a = a!(RemoteDomainGetIothreadInfoArgs);
            handle(conn, &a.dom).iothread_info(flags(a.flags)).and_then(|info| {
                let n = info.len() as u32;
                let info = info.into_iter().map(|(iothread_id, cpumap)| RemoteDomainIothreadInfo { iothread_id, cpumap }).collect();
                ret(&RemoteDomainGetIothreadInfoRet { info, ret: n })
            })
        }
        P::DomainAddIothread => {
            let a = a!(RemoteDomainAddIothreadArgs);
            handle(conn, &a.dom).add_iothread(a.iothread_id, flags(a.flags)).and_then(|_| void())
        }
        P::DomainDelIothread => {
            let a = a!(RemoteDomainDelIothreadArgs);
            handle(conn, &a.dom).del_iothread(a.iothread_id, flags(a.flags)).and_then(|_| void())
        }
        P::DomainPinIothread => {
            let a = a!(RemoteDomainPinIothreadArgs);
            handle(conn, &a.dom).pin_iothread(a.iothreads_id, &a.cpumap, flags(a.flags)).and_then(|_| void())
        }
        P::DomainSetIothreadParams => {
            let a = a!(RemoteDomainSetIothreadParamsArgs);
            deserialize(a.params)
                .and_then(|p| handle(conn, &a.dom).set_iothread_params(a.iothread_id, &p, flags(a.flags)))
                .and_then(|_| void())
        }
        _ => return None,
    })
}

/// libvirt's public API: `virCheckPositiveArgGoto(*nparams)`.
fn positive_nparams(n: i32, func: &str) -> Result<()> {
    if n <= 0 {
        return Err(Error::raw(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("*nparams in {func} must be greater than zero")));
    }
    Ok(())
}
