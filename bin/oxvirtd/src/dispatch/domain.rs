//! Dispatch of the domain procedures: listing, lookup, lifecycle, inspection and
//! simple tuning. Objects in arguments are identified by UUID (the name and id in a
//! `remote_nonnull_domain` may be stale); returned handles carry the current id.

use super::conv::{dom, wire_dom};
use super::{args, ret, void, Reply};
use oxvirt::*;
use oxvirt_rpc::proto::remote::*;

fn handle(conn: &Connect, d: &RemoteNonnullDomain) -> Domain {
    conn.domain_from_ref(dom(d))
}

fn b(v: bool) -> i32 {
    i32::from(v)
}

/// Truncate a list to the client's maximum (`maxids`, `maxnames`), as libvirt does.
fn cap<T>(mut v: Vec<T>, max: i32) -> Vec<T> {
    v.truncate(usize::try_from(max).unwrap_or(0));
    v
}

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let hv = conn.drivers().hypervisor.as_ref();
    macro_rules! a {
        ($t:ty) => {
            match args::<$t>(payload) {
                Ok(a) => a,
                Err(e) => return Some(Err(e)),
            }
        };
    }
    Some(match proc {
        // ---- listing ----
        P::ConnectListAllDomains => {
            let a = a!(RemoteConnectListAllDomainsArgs);
            // Straight from the driver's references to the wire structs (names moved,
            // not copied; no `Domain` handles): this reply may have 10,000s of items.
            hv.list_all_domains(a.flags).and_then(|refs| {
                let n = refs.len() as u32;
                let domains = if a.need_results != 0 {
                    refs.into_iter().map(|r| RemoteNonnullDomain { name: r.name, uuid: r.uuid, id: r.id }).collect()
                } else {
                    Vec::new()
                };
                ret(&RemoteConnectListAllDomainsRet { domains, ret: n })
            })
        }
        P::ConnectNumOfDomains => conn.num_of_domains().and_then(|num| ret(&RemoteConnectNumOfDomainsRet { num })),
        P::ConnectNumOfDefinedDomains => conn.num_of_defined_domains().and_then(|num| ret(&RemoteConnectNumOfDefinedDomainsRet { num })),
        P::ConnectListDomains => {
            let a = a!(RemoteConnectListDomainsArgs);
            conn.list_all_domains(ListDomainsFlags::ACTIVE).and_then(|doms| {
                let mut ids: Vec<i32> = doms.iter().map(|d| d.raw().id).filter(|id| *id >= 0).collect();
                ids.sort_unstable();
                ret(&RemoteConnectListDomainsRet { ids: cap(ids, a.maxids) })
            })
        }
        P::ConnectListDefinedDomains => {
            let a = a!(RemoteConnectListDefinedDomainsArgs);
            conn.list_all_domains(ListDomainsFlags::INACTIVE).and_then(|doms| {
                let mut names: Vec<String> = doms.iter().map(|d| d.name().to_string()).collect();
                names.sort();
                ret(&RemoteConnectListDefinedDomainsRet { names: cap(names, a.maxnames) })
            })
        }
        // ---- lookup ----
        P::DomainLookupById => {
            let a = a!(RemoteDomainLookupByIdArgs);
            conn.domain_lookup_by_id(a.id).and_then(|d| ret(&RemoteDomainLookupByIdRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainLookupByName => {
            let a = a!(RemoteDomainLookupByNameArgs);
            conn.domain_lookup_by_name(&a.name).and_then(|d| ret(&RemoteDomainLookupByNameRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainLookupByUuid => {
            let a = a!(RemoteDomainLookupByUuidArgs);
            conn.domain_lookup_by_uuid(&a.uuid).and_then(|d| ret(&RemoteDomainLookupByUuidRet { dom: wire_dom(&d.raw()) }))
        }
        // ---- define / create / undefine ----
        P::DomainDefineXml => {
            let a = a!(RemoteDomainDefineXmlArgs);
            conn.domain_define_xml(&a.xml, DomainDefineFlags::empty())
                .and_then(|d| ret(&RemoteDomainDefineXmlRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainDefineXmlFlags => {
            let a = a!(RemoteDomainDefineXmlFlagsArgs);
            conn.domain_define_xml(&a.xml, DomainDefineFlags::from_bits_retain(a.flags))
                .and_then(|d| ret(&RemoteDomainDefineXmlFlagsRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainCreateXml => {
            let a = a!(RemoteDomainCreateXmlArgs);
            conn.domain_create_xml(&a.xml_desc, DomainCreateFlags::from_bits_retain(a.flags))
                .and_then(|d| ret(&RemoteDomainCreateXmlRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainCreate => {
            let a = a!(RemoteDomainCreateArgs);
            handle(conn, &a.dom).create(DomainCreateFlags::empty()).and_then(|_| void())
        }
        P::DomainCreateWithFlags => {
            let a = a!(RemoteDomainCreateWithFlagsArgs);
            let d = handle(conn, &a.dom);
            d.create(DomainCreateFlags::from_bits_retain(a.flags))
                .and_then(|_| ret(&RemoteDomainCreateWithFlagsRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainUndefine => {
            let a = a!(RemoteDomainUndefineArgs);
            handle(conn, &a.dom).undefine(DomainUndefineFlags::empty()).and_then(|_| void())
        }
        P::DomainUndefineFlags => {
            let a = a!(RemoteDomainUndefineFlagsArgs);
            handle(conn, &a.dom).undefine(DomainUndefineFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        // ---- lifecycle ----
        P::DomainDestroy => {
            let a = a!(RemoteDomainDestroyArgs);
            handle(conn, &a.dom).destroy(DomainDestroyFlags::empty()).and_then(|_| void())
        }
        P::DomainDestroyFlags => {
            let a = a!(RemoteDomainDestroyFlagsArgs);
            handle(conn, &a.dom).destroy(DomainDestroyFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainShutdown => {
            let a = a!(RemoteDomainShutdownArgs);
            handle(conn, &a.dom).shutdown(DomainShutdownFlags::empty()).and_then(|_| void())
        }
        P::DomainShutdownFlags => {
            let a = a!(RemoteDomainShutdownFlagsArgs);
            handle(conn, &a.dom).shutdown(DomainShutdownFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainReboot => {
            let a = a!(RemoteDomainRebootArgs);
            handle(conn, &a.dom).reboot(DomainRebootFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainReset => {
            let a = a!(RemoteDomainResetArgs);
            handle(conn, &a.dom).reset(a.flags).and_then(|_| void())
        }
        P::DomainSuspend => {
            let a = a!(RemoteDomainSuspendArgs);
            handle(conn, &a.dom).suspend().and_then(|_| void())
        }
        P::DomainResume => {
            let a = a!(RemoteDomainResumeArgs);
            handle(conn, &a.dom).resume().and_then(|_| void())
        }
        P::DomainSave => {
            let a = a!(RemoteDomainSaveArgs);
            handle(conn, &a.dom).save(&a.to, None, DomainSaveRestoreFlags::empty()).and_then(|_| void())
        }
        P::DomainSaveFlags => {
            let a = a!(RemoteDomainSaveFlagsArgs);
            handle(conn, &a.dom).save(&a.to, a.dxml.as_deref(), DomainSaveRestoreFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainRestore => {
            let a = a!(RemoteDomainRestoreArgs);
            conn.domain_restore(&a.from, None, DomainSaveRestoreFlags::empty()).and_then(|_| void())
        }
        P::DomainRestoreFlags => {
            let a = a!(RemoteDomainRestoreFlagsArgs);
            conn.domain_restore(&a.from, a.dxml.as_deref(), DomainSaveRestoreFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainSaveImageGetXmlDesc => {
            let a = a!(RemoteDomainSaveImageGetXmlDescArgs);
            conn.domain_save_image_xml(&a.file, DomainXmlFlags::from_bits_retain(a.flags))
                .and_then(|xml| ret(&RemoteDomainSaveImageGetXmlDescRet { xml }))
        }
        P::DomainManagedSave => {
            let a = a!(RemoteDomainManagedSaveArgs);
            handle(conn, &a.dom).managed_save(DomainSaveRestoreFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainHasManagedSaveImage => {
            let a = a!(RemoteDomainHasManagedSaveImageArgs);
            hv.domain_has_managed_save(&dom(&a.dom), a.flags).and_then(|r| ret(&RemoteDomainHasManagedSaveImageRet { result: b(r) }))
        }
        P::DomainManagedSaveRemove => {
            let a = a!(RemoteDomainManagedSaveRemoveArgs);
            match conn.check_rw("virDomainManagedSaveRemove") {
                Err(e) => Err(e),
                Ok(()) => hv.domain_managed_save_remove(&dom(&a.dom), a.flags).and_then(|_| void()),
            }
        }
        // ---- inspection ----
        P::DomainGetInfo => {
            let a = a!(RemoteDomainGetInfoArgs);
            handle(conn, &a.dom).info().and_then(|i| {
                ret(&RemoteDomainGetInfoRet {
                    state: i.state.as_i32() as u8,
                    max_mem: i.max_mem_kib,
                    memory: i.memory_kib,
                    nr_virt_cpu: i.nr_virt_cpu as u16,
                    cpu_time: i.cpu_time_ns,
                })
            })
        }
        P::DomainGetState => {
            let a = a!(RemoteDomainGetStateArgs);
            hv.domain_get_state(&dom(&a.dom), a.flags).and_then(|(s, reason)| ret(&RemoteDomainGetStateRet { state: s.as_i32(), reason }))
        }
        P::DomainGetXmlDesc => {
            let a = a!(RemoteDomainGetXmlDescArgs);
            handle(conn, &a.dom).xml_desc(DomainXmlFlags::from_bits_retain(a.flags)).and_then(|xml| ret(&RemoteDomainGetXmlDescRet { xml }))
        }
        P::DomainGetOsType => {
            let a = a!(RemoteDomainGetOsTypeArgs);
            handle(conn, &a.dom).os_type().and_then(|t| ret(&RemoteDomainGetOsTypeRet { r#type: t }))
        }
        P::DomainGetMaxMemory => {
            let a = a!(RemoteDomainGetMaxMemoryArgs);
            handle(conn, &a.dom).max_memory().and_then(|memory| ret(&RemoteDomainGetMaxMemoryRet { memory }))
        }
        P::DomainGetMaxVcpus => {
            let a = a!(RemoteDomainGetMaxVcpusArgs);
            handle(conn, &a.dom).max_vcpus().and_then(|num| ret(&RemoteDomainGetMaxVcpusRet { num }))
        }
        P::DomainGetVcpusFlags => {
            let a = a!(RemoteDomainGetVcpusFlagsArgs);
            handle(conn, &a.dom)
                .vcpus_flags(DomainModFlags::from_bits_retain(a.flags))
                .and_then(|num| ret(&RemoteDomainGetVcpusFlagsRet { num }))
        }
        P::DomainGetAutostart => {
            let a = a!(RemoteDomainGetAutostartArgs);
            handle(conn, &a.dom).autostart().and_then(|v| ret(&RemoteDomainGetAutostartRet { autostart: b(v) }))
        }
        P::DomainIsActive => {
            let a = a!(RemoteDomainIsActiveArgs);
            handle(conn, &a.dom).is_active().and_then(|v| ret(&RemoteDomainIsActiveRet { active: b(v) }))
        }
        P::DomainIsPersistent => {
            let a = a!(RemoteDomainIsPersistentArgs);
            handle(conn, &a.dom).is_persistent().and_then(|v| ret(&RemoteDomainIsPersistentRet { persistent: b(v) }))
        }
        P::DomainIsUpdated => {
            let a = a!(RemoteDomainIsUpdatedArgs);
            handle(conn, &a.dom).is_updated().and_then(|v| ret(&RemoteDomainIsUpdatedRet { updated: b(v) }))
        }
        P::DomainGetSchedulerType => {
            let a = a!(RemoteDomainGetSchedulerTypeArgs);
            handle(conn, &a.dom).scheduler_type().and_then(|(t, nparams)| ret(&RemoteDomainGetSchedulerTypeRet { r#type: t, nparams }))
        }
        P::DomainGetHostname => {
            let a = a!(RemoteDomainGetHostnameArgs);
            handle(conn, &a.dom).hostname(a.flags).and_then(|hostname| ret(&RemoteDomainGetHostnameRet { hostname }))
        }
        P::DomainGetMetadata => {
            let a = a!(RemoteDomainGetMetadataArgs);
            handle(conn, &a.dom)
                .metadata(a.r#type, a.uri.as_deref(), a.flags)
                .and_then(|metadata| ret(&RemoteDomainGetMetadataRet { metadata }))
        }
        P::DomainGetSecurityLabel => {
            let a = a!(RemoteDomainGetSecurityLabelArgs);
            handle(conn, &a.dom)
                .security_label()
                .and_then(|l| ret(&RemoteDomainGetSecurityLabelRet { label: super::host::c_char_vec(&l.label), enforcing: b(l.enforcing) }))
        }
        P::DomainGetSecurityLabelList => {
            let a = a!(RemoteDomainGetSecurityLabelListArgs);
            // One security driver: the list is the single label.
            handle(conn, &a.dom).security_label().and_then(|l| {
                let labels = vec![RemoteDomainGetSecurityLabelRet { label: super::host::c_char_vec(&l.label), enforcing: b(l.enforcing) }];
                ret(&RemoteDomainGetSecurityLabelListRet { labels, ret: 1 })
            })
        }
        // ---- modification ----
        P::DomainSetAutostart => {
            let a = a!(RemoteDomainSetAutostartArgs);
            handle(conn, &a.dom).set_autostart(a.autostart != 0).and_then(|_| void())
        }
        P::DomainSetMaxMemory => {
            let a = a!(RemoteDomainSetMaxMemoryArgs);
            handle(conn, &a.dom).set_max_memory(a.memory).and_then(|_| void())
        }
        P::DomainSetMemory => {
            let a = a!(RemoteDomainSetMemoryArgs);
            handle(conn, &a.dom).set_memory(a.memory, DomainModFlags::empty()).and_then(|_| void())
        }
        P::DomainSetMemoryFlags => {
            let a = a!(RemoteDomainSetMemoryFlagsArgs);
            handle(conn, &a.dom).set_memory(a.memory, DomainModFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainSetVcpus => {
            let a = a!(RemoteDomainSetVcpusArgs);
            handle(conn, &a.dom).set_vcpus(a.nvcpus, DomainModFlags::empty()).and_then(|_| void())
        }
        P::DomainSetVcpusFlags => {
            let a = a!(RemoteDomainSetVcpusFlagsArgs);
            handle(conn, &a.dom).set_vcpus(a.nvcpus, DomainModFlags::from_bits_retain(a.flags)).and_then(|_| void())
        }
        P::DomainSetMetadata => {
            let a = a!(RemoteDomainSetMetadataArgs);
            handle(conn, &a.dom)
                .set_metadata(a.r#type, a.metadata.as_deref(), a.key.as_deref(), a.uri.as_deref(), a.flags)
                .and_then(|_| void())
        }
        // ---- device hotplug ----
        P::DomainAttachDevice => {
            let a = a!(RemoteDomainAttachDeviceArgs);
            handle(conn, &a.dom).attach_device(&a.xml).and_then(|_| void())
        }
        P::DomainAttachDeviceFlags => {
            let a = a!(RemoteDomainAttachDeviceFlagsArgs);
            handle(conn, &a.dom).attach_device_flags(&a.xml, a.flags).and_then(|_| void())
        }
        P::DomainDetachDevice => {
            let a = a!(RemoteDomainDetachDeviceArgs);
            handle(conn, &a.dom).detach_device(&a.xml).and_then(|_| void())
        }
        P::DomainDetachDeviceFlags => {
            let a = a!(RemoteDomainDetachDeviceFlagsArgs);
            handle(conn, &a.dom).detach_device_flags(&a.xml, a.flags).and_then(|_| void())
        }
        P::DomainDetachDeviceAlias => {
            let a = a!(RemoteDomainDetachDeviceAliasArgs);
            handle(conn, &a.dom).detach_device_alias(&a.alias, a.flags).and_then(|_| void())
        }
        P::DomainUpdateDeviceFlags => {
            let a = a!(RemoteDomainUpdateDeviceFlagsArgs);
            handle(conn, &a.dom).update_device_flags(&a.xml, a.flags).and_then(|_| void())
        }
        // ---- end of device hotplug ----
        P::DomainRename => {
            let a = a!(RemoteDomainRenameArgs);
            let mut d = handle(conn, &a.dom);
            match a.new_name {
                // libvirt's client always sends a name; NULL is the API's invalid-arg case.
                None => Err(Error::invalid_arg(ErrorDomain::Domain, "new_name in virDomainRename must not be NULL")),
                Some(n) => d.rename(&n, a.flags).and_then(|_| ret(&RemoteDomainRenameRet { retcode: 0 })),
            }
        }
        // Served by `crate::stream`, which attaches the console to the client.
        // (Without a client the stream has nowhere to go: it is closed at once.)
        P::DomainOpenConsole => open_console(payload, conn).and_then(|_| {
            Err(Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "stream procedures are served by the client's stream table"))
        }),
        _ => return None,
    })
}

// screenshots.
/// `DOMAIN_SCREENSHOT`: open the image's download stream; the reply (the MIME type)
/// is sent by the caller once the stream is registered.
pub fn screenshot(payload: &[u8], conn: &Connect) -> Result<(Stream, Reply)> {
    let a: RemoteDomainScreenshotArgs = args(payload)?;
    let (mime, stream) = handle(conn, &a.dom).screenshot(a.screen, a.flags)?;
    Ok((stream, ret(&RemoteDomainScreenshotRet { mime: Some(mime) })))
}

/// `DOMAIN_OPEN_CONSOLE`: open the console stream. The reply is void; the caller
/// registers the stream before sending it.
pub fn open_console(payload: &[u8], conn: &Connect) -> Result<Stream> {
    let a: RemoteDomainOpenConsoleArgs = args(payload)?;
    handle(conn, &a.dom).open_console(a.dev_name.as_deref(), DomainConsoleFlags::from_bits_retain(a.flags))
}
