//! Dispatch of the domain information and statistics procedures: block, interface
//! and memory statistics, block info, vCPU info, guest time, interface addresses,
//! all-domain statistics, guest information, control and job info, disk errors,
//! NMI, guest file systems (info, freeze, thaw), user passwords and the agent's
//! response timeout. Typed parameters cross the wire as
//! `remote_typed_param`, converted here from the API's [`TypedParam`].

use super::conv::{dom, wire_dom, wire_param};
use super::{args, ret, void, Reply};
use oxvirt::*;
use oxvirt_rpc::proto::remote::*;

fn handle(conn: &Connect, d: &RemoteNonnullDomain) -> Domain {
    conn.domain_from_ref(dom(d))
}

/// `remoteSerializeTypedParameters`.
pub fn wire_params(params: Vec<TypedParam>) -> Vec<RemoteTypedParam> {
    params.into_iter().map(wire_param).collect()
}

fn internal(msg: &str) -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, msg)
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
        P::DomainBlockStats => {
            let a = a!(RemoteDomainBlockStatsArgs);
            handle(conn, &a.dom).block_stats(&a.path).and_then(|s| {
                ret(&RemoteDomainBlockStatsRet {
                    rd_req: s.rd_req,
                    rd_bytes: s.rd_bytes,
                    wr_req: s.wr_req,
                    wr_bytes: s.wr_bytes,
                    errs: s.errs,
                })
            })
        }
        P::DomainBlockStatsFlags => {
            let a = a!(RemoteDomainBlockStatsFlagsArgs);
            if a.nparams > 16 {
                return Some(Err(internal("nparams too large")));
            }
            if a.nparams < 0 {
                return Some(Err(Error::invalid_arg(ErrorDomain::Domain, "nparams in virDomainBlockStatsFlags must be >= 0")));
            }
            handle(conn, &a.dom).block_stats_flags(&a.path, a.flags).and_then(|mut params| {
                if a.nparams == 0 {
                    return ret(&RemoteDomainBlockStatsFlagsRet { params: Vec::new(), nparams: params.len() as i32 });
                }
                params.truncate(a.nparams as usize);
                let nparams = params.len() as i32;
                ret(&RemoteDomainBlockStatsFlagsRet { params: wire_params(params), nparams })
            })
        }
        P::DomainInterfaceStats => {
            let a = a!(RemoteDomainInterfaceStatsArgs);
            handle(conn, &a.dom).interface_stats(&a.device).and_then(|s| {
                ret(&RemoteDomainInterfaceStatsRet {
                    rx_bytes: s.rx_bytes,
                    rx_packets: s.rx_packets,
                    rx_errs: s.rx_errs,
                    rx_drop: s.rx_drop,
                    tx_bytes: s.tx_bytes,
                    tx_packets: s.tx_packets,
                    tx_errs: s.tx_errs,
                    tx_drop: s.tx_drop,
                })
            })
        }
        P::DomainMemoryStats => {
            let a = a!(RemoteDomainMemoryStatsArgs);
            if a.max_stats > 1024 {
                return Some(Err(internal("maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX")));
            }
            handle(conn, &a.dom).memory_stats(a.max_stats, a.flags).and_then(|mut stats| {
                stats.truncate(a.max_stats as usize);
                ret(&RemoteDomainMemoryStatsRet {
                    stats: stats.into_iter().map(|s| RemoteDomainMemoryStat { tag: s.tag, val: s.val }).collect(),
                })
            })
        }
        P::DomainSetMemoryStatsPeriod => {
            let a = a!(RemoteDomainSetMemoryStatsPeriodArgs);
            handle(conn, &a.dom).set_memory_stats_period(a.period, DomainModFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainGetBlockInfo => {
            let a = a!(RemoteDomainGetBlockInfoArgs);
            handle(conn, &a.dom)
                .block_info(&a.path, a.flags)
                .and_then(|i| ret(&RemoteDomainGetBlockInfoRet { allocation: i.allocation, capacity: i.capacity, physical: i.physical }))
        }
        P::DomainGetVcpus => {
            let a = a!(RemoteDomainGetVcpusArgs);
            if a.maxinfo < 0 || a.maplen < 0 {
                return Some(Err(internal("maxinfo must be non-negative")));
            }
            if a.maxinfo > 16384 {
                return Some(Err(internal("maxinfo > REMOTE_VCPUINFO_MAX")));
            }
            if i64::from(a.maxinfo) * i64::from(a.maplen) > 8_388_608 {
                return Some(Err(internal("maxinfo * maplen > REMOTE_CPUMAPS_MAX")));
            }
            handle(conn, &a.dom).vcpus(a.maxinfo, a.maplen).and_then(|(info, mut cpumaps)| {
                let len = (a.maxinfo as usize) * (a.maplen as usize);
                cpumaps.resize(len, 0);
                ret(&RemoteDomainGetVcpusRet {
                    info: info
                        .into_iter()
                        .map(|v| RemoteVcpuInfo { number: v.number, state: v.state, cpu_time: v.cpu_time, cpu: v.cpu })
                        .collect(),
                    cpumaps,
                })
            })
        }
        P::DomainGetTime => {
            let a = a!(RemoteDomainGetTimeArgs);
            handle(conn, &a.dom).time(a.flags).and_then(|(seconds, nseconds)| ret(&RemoteDomainGetTimeRet { seconds, nseconds }))
        }
        P::DomainSetTime => {
            let a = a!(RemoteDomainSetTimeArgs);
            handle(conn, &a.dom).set_time(a.seconds, a.nseconds, a.flags).and_then(|_| void())
        }
        P::DomainInterfaceAddresses => {
            let a = a!(RemoteDomainInterfaceAddressesArgs);
            handle(conn, &a.dom).interface_addresses(a.source, a.flags).and_then(|ifaces| {
                if ifaces.len() > 2048 {
                    return Err(internal(&format!("Number of interfaces, {}, exceeds the max limit: 2048", ifaces.len())));
                }
                ret(&RemoteDomainInterfaceAddressesRet {
                    ifaces: ifaces
                        .into_iter()
                        .map(|i| RemoteDomainInterface {
                            name: i.name,
                            hwaddr: i.hwaddr,
                            addrs: i
                                .addrs
                                .into_iter()
                                .map(|x| RemoteDomainIpAddr { r#type: x.typ, addr: x.addr, prefix: x.prefix })
                                .collect(),
                        })
                        .collect(),
                })
            })
        }
        P::ConnectGetAllDomainStats => {
            let a = a!(RemoteConnectGetAllDomainStatsArgs);
            let doms: Vec<Domain> = a.doms.iter().map(|d| handle(conn, d)).collect();
            conn.all_domain_stats(&doms, a.stats, a.flags).and_then(|records| {
                ret(&RemoteConnectGetAllDomainStatsRet {
                    ret_stats: records
                        .into_iter()
                        .map(|r| RemoteDomainStatsRecord { dom: wire_dom(&r.dom), params: wire_params(r.params) })
                        .collect(),
                })
            })
        }
        P::DomainGetGuestInfo => {
            let a = a!(RemoteDomainGetGuestInfoArgs);
            handle(conn, &a.dom).guest_info(a.types, a.flags).and_then(|params| {
                if params.len() > 2048 {
                    return Err(internal("nparams too large"));
                }
                ret(&RemoteDomainGetGuestInfoRet { params: wire_params(params) })
            })
        }
        P::DomainGetControlInfo => {
            let a = a!(RemoteDomainGetControlInfoArgs);
            handle(conn, &a.dom)
                .control_info(a.flags)
                .and_then(|i| ret(&RemoteDomainGetControlInfoRet { state: i.state, details: i.details, state_time: i.state_time }))
        }
        P::DomainGetJobInfo => {
            let a = a!(RemoteDomainGetJobInfoArgs);
            handle(conn, &a.dom).job_info().and_then(|j| {
                ret(&RemoteDomainGetJobInfoRet {
                    r#type: j.typ,
                    time_elapsed: j.time_elapsed,
                    time_remaining: j.time_remaining,
                    data_total: j.data_total,
                    data_processed: j.data_processed,
                    data_remaining: j.data_remaining,
                    mem_total: j.mem_total,
                    mem_processed: j.mem_processed,
                    mem_remaining: j.mem_remaining,
                    file_total: j.file_total,
                    file_processed: j.file_processed,
                    file_remaining: j.file_remaining,
                })
            })
        }
        P::DomainGetJobStats => {
            let a = a!(RemoteDomainGetJobStatsArgs);
            handle(conn, &a.dom)
                .job_stats(a.flags)
                .and_then(|(r#type, params)| ret(&RemoteDomainGetJobStatsRet { r#type, params: wire_params(params) }))
        }
        P::DomainGetDiskErrors => {
            let a = a!(RemoteDomainGetDiskErrorsArgs);
            if a.maxerrors > 256 {
                return Some(Err(internal("maxerrors too large")));
            }
            handle(conn, &a.dom).disk_errors(a.maxerrors, a.flags).and_then(|(nerrors, errors)| {
                ret(&RemoteDomainGetDiskErrorsRet {
                    errors: errors.into_iter().map(|e| RemoteDomainDiskError { disk: e.disk, error: e.error }).collect(),
                    nerrors,
                })
            })
        }
        P::DomainInjectNmi => {
            let a = a!(RemoteDomainInjectNmiArgs);
            handle(conn, &a.dom).inject_nmi(a.flags).and_then(|_| void())
        }
        // send-key and PM suspend/wakeup (the screenshot is a stream: crate::stream).
        P::DomainSendKey => {
            let a = a!(RemoteDomainSendKeyArgs);
            handle(conn, &a.dom).send_key(a.codeset, a.holdtime, &a.keycodes, a.flags).and_then(|_| void())
        }
        P::DomainPmSuspendForDuration => {
            let a = a!(RemoteDomainPmSuspendForDurationArgs);
            handle(conn, &a.dom).pm_suspend_for_duration(a.target, a.duration, a.flags).and_then(|_| void())
        }
        P::DomainPmWakeup => {
            let a = a!(RemoteDomainPmWakeupArgs);
            handle(conn, &a.dom).pm_wakeup(a.flags).and_then(|_| void())
        }
        P::DomainFsfreeze => {
            let a = a!(RemoteDomainFsfreezeArgs);
            handle(conn, &a.dom).fs_freeze(&a.mountpoints, a.flags).and_then(|filesystems| ret(&RemoteDomainFsfreezeRet { filesystems }))
        }
        P::DomainFsthaw => {
            let a = a!(RemoteDomainFsthawArgs);
            handle(conn, &a.dom).fs_thaw(&a.mountpoints, a.flags).and_then(|filesystems| ret(&RemoteDomainFsthawRet { filesystems }))
        }
        P::DomainGetFsinfo => {
            let a = a!(RemoteDomainGetFsinfoArgs);
            handle(conn, &a.dom).fs_info(a.flags).and_then(|info| {
                if info.len() > 256 {
                    return Err(internal(&format!("Too many mountpoints in fsinfo: {} for limit {}", info.len(), 256)));
                }
                let n = info.len() as u32;
                ret(&RemoteDomainGetFsinfoRet {
                    info: info
                        .into_iter()
                        .map(|f| RemoteDomainFsinfo {
                            mountpoint: f.mountpoint,
                            name: f.name,
                            fstype: f.fstype,
                            dev_aliases: f.dev_aliases,
                        })
                        .collect(),
                    ret: n,
                })
            })
        }
        P::DomainSetUserPassword => {
            let a = a!(RemoteDomainSetUserPasswordArgs);
            handle(conn, &a.dom)
                .set_user_password(a.user.as_deref().unwrap_or(""), a.password.as_deref().unwrap_or(""), a.flags)
                .and_then(|_| void())
        }
        P::DomainAgentSetResponseTimeout => {
            let a = a!(RemoteDomainAgentSetResponseTimeoutArgs);
            handle(conn, &a.dom)
                .agent_set_response_timeout(a.timeout, a.flags)
                .and_then(|_| ret(&RemoteDomainAgentSetResponseTimeoutRet { result: 0 }))
        }
        P::DomainGetGuestVcpus => {
            let a = a!(RemoteDomainGetGuestVcpusArgs);
            handle(conn, &a.dom).guest_vcpus(a.flags).and_then(|params| ret(&RemoteDomainGetGuestVcpusRet { params: wire_params(params) }))
        }
        P::DomainSetGuestVcpus => {
            let a = a!(RemoteDomainSetGuestVcpusArgs);
            handle(conn, &a.dom).set_guest_vcpus(&a.cpumap, a.state, a.flags).and_then(|_| void())
        }
        _ => return None,
    })
}
