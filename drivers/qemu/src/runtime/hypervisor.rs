//! `HypervisorDriver` for an open `qemu:///` connection.

use super::domobj::{DomList, DomObj, Expect};
use super::{err, Driver};
use oxvirt::driver::{check_flags, HypervisorDriver};
use oxvirt::event::{lifecycle as lc, EventCallback, EventClass};
use oxvirt::*;
use oxvirt_conf::domain::FormatOptions;
use oxvirt_util::host;
use oxvirt_util::uuid::{self, Uuid};
use std::path::Path;
use std::sync::Arc;

const D: ErrorDomain = ErrorDomain::Qemu;

/// One open connection to a QEMU driver instance.
pub struct QemuConn {
    drv: Arc<Driver>,
}

impl std::fmt::Debug for QemuConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QemuConn").field("uri", &self.drv.paths.uri).finish()
    }
}

impl QemuConn {
    /// A connection to `drv`.
    pub fn new(drv: Arc<Driver>) -> QemuConn {
        QemuConn { drv }
    }

    /// The driver instance behind this connection.
    pub fn driver(&self) -> &Arc<Driver> {
        &self.drv
    }

    fn read<R>(&self, d: &DomainRef, f: impl FnOnce(&DomObj) -> Result<R>) -> Result<R> {
        self.drv.refresh(&d.uuid);
        let doms = self.drv.doms();
        f(doms.by_ref(d)?)
    }
}

fn no_name(name: &str) -> Error {
    Error::new(ErrorCode::NoDomain, D, format!("no domain with matching name '{name}'"))
}

/// Reject a name/uuid clash with another object (`virDomainObjListAddLocked`).
pub(super) fn check_conflict(doms: &DomList, name: &str, u: &Uuid) -> Result<()> {
    if let Some(o) = doms.get(u) {
        if o.def.name != name {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                D,
                format!("domain '{}' is already defined with uuid {}", o.def.name, uuid::format(u)),
            ));
        }
    } else if let Some(o) = doms.by_name(name) {
        return Err(Error::new(
            ErrorCode::OperationFailed,
            D,
            format!("domain '{}' already exists with uuid {}", name, uuid::format(&o.def.uuid)),
        ));
    }
    Ok(())
}

/// Seconds-resolution CPU time of `pid` in ns (`/proc/PID/stat` utime+stime, USER_HZ 100).
fn cpu_time_ns(pid: i32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields after the command: state is 0, utime 11, stime 12.
    (ticks(11) + ticks(12)).saturating_mul(10_000_000)
}

fn list_filter(o: &DomObj, flags: ListDomainsFlags, managed_save: bool, has_snapshot: bool) -> bool {
    use ListDomainsFlags as F;
    let pair = |a: F, b: F, x: bool| {
        let (ha, hb) = (flags.contains(a), flags.contains(b));
        !(ha || hb) || (ha && x) || (hb && !x)
    };
    if !pair(F::ACTIVE, F::INACTIVE, o.is_active()) || !pair(F::PERSISTENT, F::TRANSIENT, o.persistent) {
        return false;
    }
    if !pair(F::AUTOSTART, F::NO_AUTOSTART, o.autostart) || !pair(F::MANAGEDSAVE, F::NO_MANAGEDSAVE, managed_save) {
        return false;
    }
    if !pair(F::HAS_SNAPSHOT, F::NO_SNAPSHOT, has_snapshot) {
        return false;
    }
    let st = flags & (F::RUNNING | F::PAUSED | F::SHUTOFF | F::OTHER);
    if !st.is_empty() {
        let ok = match o.state {
            DomainState::Running => st.contains(F::RUNNING),
            DomainState::Paused => st.contains(F::PAUSED),
            DomainState::Shutoff => st.contains(F::SHUTOFF),
            _ => st.contains(F::OTHER),
        };
        if !ok {
            return false;
        }
    }
    true
}

impl HypervisorDriver for QemuConn {
    fn get_type(&self) -> Result<String> {
        Ok("QEMU".into())
    }

    fn get_version(&self) -> Result<u64> {
        let caps = super::capscache::lookup(super::DEFAULT_EMULATOR, &self.drv.paths.cache_dir)?;
        Ok(caps.version)
    }

    fn get_domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        let cache = &self.drv.paths.cache_dir;
        let lookup = |b: &str| super::capscache::lookup(b, cache);
        crate::domcaps::connect_get(lookup, self.drv.paths.privileged, emulator, arch, machine, virttype, flags)
    }

    // host capabilities (hostcaps): the document is built in caps/host.rs.
    fn node_get_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        check_flags(flags, 0, "virNodeGetCPUMap", D)?;
        super::stats::node_cpu_map()
    }

    fn node_get_cpu_stats(&self, cpu: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        check_flags(flags, 0, "virHostCPUGetStats", D)?;
        let stat = std::fs::read_to_string(host::PROC_STAT)
            .map_err(|e| Error::new(ErrorCode::SystemError, D, format!("cannot read {}: {e}", host::PROC_STAT)))?;
        host::cpu_stats(&stat, cpu)
    }

    fn node_get_memory_stats(&self, cell: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        check_flags(flags, 0, "virHostMemGetStats", D)?;
        host::node_memory_stats(Path::new(host::MEMINFO), Path::new(host::NODE_DIR), cell)
    }

    fn node_get_free_memory(&self) -> Result<u64> {
        host::free_memory(Path::new(host::NODE_DIR))
    }

    fn node_get_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        host::cells_free_memory(Path::new(host::NODE_DIR), start, max)
    }

    fn node_get_free_pages(&self, pages: &[u32], start_cell: i32, cell_count: u32, flags: u32) -> Result<(Vec<u64>, i32)> {
        check_flags(flags, 0, "qemuNodeGetFreePages", D)?;
        let counts = host::free_pages(Path::new(host::NODE_DIR), pages, start_cell, cell_count)?;
        let n = i32::try_from(counts.len()).unwrap_or(i32::MAX);
        Ok((counts, n))
    }

    fn get_max_vcpus(&self, typ: Option<&str>) -> Result<i32> {
        match typ {
            None => Ok(16),
            Some(t) if t.eq_ignore_ascii_case("qemu") => Ok(16),
            Some(t) if t.eq_ignore_ascii_case("kvm") => {
                // libvirt asks KVM_CAP_MAX_VCPUS with an ioctl, which needs `unsafe`
                // here; it answers x86_64 Linux's KVM_MAX_VCPUS (1024 since 5.15)
                // whenever /dev/kvm opens (docs/differences.md).
                std::fs::File::open("/dev/kvm").map_err(|e| {
                    Error::new(ErrorCode::SystemError, D, format!("Unable to open /dev/kvm: {}", oxvirt_util::error::io_text(&e)))
                })?;
                Ok(1024)
            }
            Some(t) => Err(Error::new(ErrorCode::InvalidArg, D, format!("unknown type '{t}'"))),
        }
    }

    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        check_flags(flags, 0, "qemuConnectDomainXMLToNative", D)?;
        if format != "qemu-argv" {
            return Err(Error::new(ErrorCode::InvalidArg, D, format!("unsupported config type {format}")));
        }
        self.drv.xml_to_native(xml)
    }

    fn get_capabilities(&self) -> Result<String> {
        let conf = &self.drv.qemu_conf;
        // libvirt stacks the configured drivers (the default one, `none` here, when
        // none is configured) and always DAC last.
        let mut security_drivers: Vec<String> = conf.security_drivers.iter().filter(|n| *n != "dac").cloned().collect();
        if security_drivers.is_empty() {
            security_drivers.push("none".into());
        }
        security_drivers.push("dac".into());
        let node = super::stats::node_info()?;
        let inputs = crate::caps::host::HostInputs {
            arch: crate::domcaps::host_arch(),
            topology: (node.sockets, node.cores, node.threads),
            nodes: node.nodes,
            memory_kib: node.memory_kib,
            security_drivers,
            // The session driver runs QEMU as its own user (virQEMUDriverConfigNew).
            user: if self.drv.paths.privileged { conf.user } else { nix::unistd::geteuid().as_raw() },
            group: if self.drv.paths.privileged { conf.group } else { nix::unistd::getegid().as_raw() },
        };
        let cache = &self.drv.paths.cache_dir;
        let map = crate::domcaps::shared_cpu_map();
        Ok(crate::caps::host::host_capabilities(&inputs, map.as_ref(), |b| super::capscache::lookup(b, cache)).format())
    }

    fn get_hostname(&self) -> Result<String> {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::new(ErrorCode::SystemError, D, format!("cannot get the host name: {e}")))
    }

    fn is_alive(&self) -> bool {
        true
    }

    fn is_secure(&self) -> bool {
        true
    }

    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        check_flags(flags, 0xffff, "qemuConnectListAllDomains", D)?;
        let f = ListDomainsFlags::from_bits_truncate(flags);
        let uuids: Vec<Uuid> = self.drv.doms().iter().filter(|o| o.is_active()).map(|o| o.def.uuid).collect();
        for u in uuids {
            self.drv.refresh(&u);
        }
        let doms = self.drv.doms();
        // The managed save image is looked for only when the flags ask.
        let ms = |o: &DomObj| {
            f.intersects(ListDomainsFlags::MANAGEDSAVE | ListDomainsFlags::NO_MANAGEDSAVE)
                && self.drv.managed_save_path(&o.def.name).exists()
        };
        // Snapshot metadata is read only when the flags ask.
        let snaps = |o: &DomObj| {
            f.intersects(ListDomainsFlags::HAS_SNAPSHOT | ListDomainsFlags::NO_SNAPSHOT) && self.drv.snapshot_count(&o.def.name) > 0
        };
        let mut out: Vec<DomainRef> = doms.iter().filter(|o| list_filter(o, f, ms(o), snaps(o))).map(DomObj::dref).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn num_of_domains(&self) -> Result<i32> {
        Ok(self.list_all_domains(ListDomainsFlags::ACTIVE.bits())?.len() as i32)
    }

    fn num_of_defined_domains(&self) -> Result<i32> {
        Ok(self.list_all_domains(ListDomainsFlags::INACTIVE.bits())?.len() as i32)
    }

    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        let u = self.drv.doms().by_id(id).map(|o| o.def.uuid);
        if let Some(u) = u {
            self.drv.refresh(&u);
        }
        self.drv
            .doms()
            .by_id(id)
            .map(DomObj::dref)
            .ok_or_else(|| Error::new(ErrorCode::NoDomain, D, format!("no domain with matching id {id}")))
    }

    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        let u = self.drv.doms().by_name(name).map(|o| o.def.uuid).ok_or_else(|| no_name(name))?;
        self.drv.refresh(&u);
        self.drv.doms().get(&u).map(DomObj::dref).ok_or_else(|| no_name(name))
    }

    fn domain_lookup_by_uuid(&self, u: &Uuid) -> Result<DomainRef> {
        self.drv.refresh(u);
        self.drv
            .doms()
            .get(u)
            .map(DomObj::dref)
            .ok_or_else(|| Error::new(ErrorCode::NoDomain, D, format!("no domain with matching uuid '{}'", uuid::format(u))))
    }

    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        // VIR_DOMAIN_DEFINE_VALIDATE is accepted; the parse always validates.
        check_flags(flags, 1, "qemuDomainDefineXMLFlags", D)?;
        let def = self.drv.parse_def(xml)?;
        let mut doms = self.drv.doms();
        check_conflict(&doms, &def.name, &def.uuid)?;
        self.drv.save_config(&def)?;
        let u = def.uuid;
        let detail = match doms.get_mut(&u) {
            Some(obj) => {
                let was_persistent = obj.persistent;
                obj.persistent = true;
                if obj.is_active() {
                    obj.new_def = Some(def);
                } else {
                    obj.def = def;
                }
                if was_persistent {
                    lc::DEFINED_UPDATED
                } else {
                    lc::DEFINED_ADDED
                }
            }
            None => {
                let mut obj = DomObj::new(def);
                obj.persistent = true;
                doms.insert(obj);
                lc::DEFINED_ADDED
            }
        };
        let obj = doms.get(&u).ok_or_else(|| err(ErrorCode::InternalError, "domain vanished"))?;
        self.drv.emit(obj, lc::DEFINED, detail);
        Ok(obj.dref())
    }

    fn domain_undefine(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0x7f, "qemuDomainUndefineFlags", D)?;
        let mut doms = self.drv.doms();
        let obj = doms.by_ref_mut(d)?;
        if !obj.persistent {
            return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot undefine transient domain"));
        }
        let name = obj.def.name.clone();
        // Snapshot metadata refuses the undefine of an inactive domain or goes with it.
        self.drv.undefine_snapshots(&name, obj.is_active(), flags)?;
        // A managed save image refuses the undefine or goes with it.
        self.drv.undefine_managed_save(&name, flags)?;
        let _ = std::fs::remove_file(self.drv.paths.autostart_link(&name));
        let file = self.drv.paths.config_file(&name);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::new(ErrorCode::SystemError, D, format!("cannot remove config '{}': {e}", file.display()))),
        }
        obj.autostart = false;
        obj.persistent = false;
        obj.new_def = None;
        self.drv.emit(obj, lc::UNDEFINED, lc::UNDEFINED_REMOVED);
        if !obj.is_active() {
            doms.remove(&d.uuid);
        }
        Ok(())
    }

    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        check_flags(flags, DomainCreateFlags::START_PAUSED.bits(), "qemuDomainCreateXML", D)?;
        let def = self.drv.parse_def(xml)?;
        let u = def.uuid;
        {
            let mut doms = self.drv.doms();
            check_conflict(&doms, &def.name, &u)?;
            match doms.get(&u) {
                Some(o) if o.is_active() => {
                    return Err(Error::new(ErrorCode::OperationInvalid, D, format!("domain '{}' is already active", o.def.name)))
                }
                Some(_) => {}
                None => doms.insert(DomObj::new(def.clone())),
            }
        }
        let r = self.drv.start(&u, flags & DomainCreateFlags::START_PAUSED.bits() != 0, Some(def));
        if r.is_err() {
            let mut doms = self.drv.doms();
            if doms.get(&u).is_some_and(|o| !o.persistent && !o.is_active()) {
                doms.remove(&u);
            }
        }
        r
    }

    fn domain_create(&self, d: &DomainRef, flags: u32) -> Result<DomainRef> {
        // FORCE_BOOT: boot instead of restoring a managed save image.
        check_flags(flags, (DomainCreateFlags::START_PAUSED | DomainCreateFlags::FORCE_BOOT).bits(), "qemuDomainCreateWithFlags", D)?;
        self.drv.doms().by_ref(d)?;
        if flags & DomainCreateFlags::FORCE_BOOT.bits() != 0 {
            self.drv.force_boot(d)?;
        }
        self.drv.start(&d.uuid, flags & DomainCreateFlags::START_PAUSED.bits() != 0, None)
    }

    fn domain_destroy(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, DomainDestroyFlags::GRACEFUL.bits(), "qemuDomainDestroyFlags", D)?;
        self.drv.refresh(&d.uuid);
        self.drv.destroy(d, flags & DomainDestroyFlags::GRACEFUL.bits() != 0)
    }

    fn domain_shutdown(&self, d: &DomainRef, flags: u32) -> Result<()> {
        // ACPI_POWER_BTN = 1, GUEST_AGENT = 2.
        check_flags(flags, 0x3, "qemuDomainShutdownFlags", D)?;
        // Agent mode (qinfo): libvirt's rules in guestinfo::shutdown_flags.
        if super::guestinfo::shutdown_by_agent(&self.drv, d, flags, false)? {
            return Ok(());
        }
        self.drv.monitor_query(
            d,
            Expect::Nothing,
            |o| {
                if o.state == DomainState::Running {
                    Ok(())
                } else {
                    Err(Error::new(ErrorCode::OperationInvalid, D, "domain is not running"))
                }
            },
            |q| q.execute("system_powerdown", None),
        )?;
        Ok(())
    }

    fn domain_reboot(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0x1f, "qemuDomainReboot", D)?;
        // Agent mode (qinfo): libvirt's rules in guestinfo::shutdown_by_agent.
        if (flags & 2 != 0 || flags == 0) && super::guestinfo::shutdown_by_agent(&self.drv, d, flags & 3, true)? {
            return Ok(());
        }
        if flags & !3 != 0 {
            return Err(Error::new(ErrorCode::NoSupport, D, "this reboot mode is not supported yet"));
        }
        self.drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("system_reset", None))?;
        Ok(())
    }

    fn domain_reset(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "qemuDomainReset", D)?;
        self.drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("system_reset", None))?;
        Ok(())
    }

    fn domain_suspend(&self, d: &DomainRef) -> Result<()> {
        self.drv
            .monitor_job(
                d,
                Expect::Stop,
                |o| match o.state {
                    DomainState::PmSuspended => Err(Error::new(ErrorCode::OperationInvalid, D, "domain is pmsuspended")),
                    _ => Ok(()),
                },
                |q| q.execute("stop", None),
                |drv, o| {
                    if o.state != DomainState::Paused {
                        o.state = DomainState::Paused;
                        o.reason = types::reason::PAUSED_USER;
                        drv.emit(o, lc::SUSPENDED, lc::SUSPENDED_PAUSED);
                    }
                },
            )
            .map(|_| ())
    }

    fn domain_resume(&self, d: &DomainRef) -> Result<()> {
        self.drv
            .monitor_job(
                d,
                Expect::Resume,
                |o| match o.state {
                    DomainState::PmSuspended => Err(Error::new(ErrorCode::OperationInvalid, D, "domain is pmsuspended")),
                    DomainState::Shutdown => Err(Error::new(ErrorCode::OperationInvalid, D, "domain is shutting down")),
                    _ => Ok(()),
                },
                |q| q.execute("cont", None),
                |drv, o| {
                    if o.state == DomainState::Paused {
                        o.state = DomainState::Running;
                        o.reason = types::reason::RUNNING_UNPAUSED;
                        drv.emit(o, lc::RESUMED, lc::RESUMED_UNPAUSED);
                    }
                },
            )
            .map(|_| ())
    }

    fn domain_get_info(&self, d: &DomainRef) -> Result<DomainInfo> {
        self.read(d, |o| {
            Ok(DomainInfo {
                state: o.state,
                max_mem_kib: o.def.memory_kib,
                memory_kib: if o.def.current_memory_kib > 0 { o.def.current_memory_kib } else { o.def.memory_kib },
                nr_virt_cpu: o.def.vcpus_current,
                cpu_time_ns: o.run.as_ref().map(|r| cpu_time_ns(r.pid)).unwrap_or(0),
            })
        })
    }

    fn domain_get_state(&self, d: &DomainRef, flags: u32) -> Result<(DomainState, i32)> {
        check_flags(flags, 0, "qemuDomainGetState", D)?;
        self.read(d, |o| Ok((o.state, o.reason)))
    }

    fn domain_get_xml_desc(&self, d: &DomainRef, flags: u32) -> Result<String> {
        // SECURE 1, INACTIVE 2, UPDATE_CPU 4, MIGRATABLE 8.
        check_flags(flags, 0xf, "qemuDomainGetXMLDesc", D)?;
        self.read(d, |o| {
            let inactive = flags & 2 != 0;
            let (def, id) = if inactive || !o.is_active() { (o.persistent_def(), None) } else { (&o.def, Some(o.id)) };
            Ok(def.format(&FormatOptions { id, inactive: inactive || !o.is_active(), secure: flags & 1 != 0 }))
        })
    }

    fn domain_get_os_type(&self, d: &DomainRef) -> Result<String> {
        self.read(d, |o| Ok(o.def.os.os_type.clone()))
    }

    fn domain_get_max_memory(&self, d: &DomainRef) -> Result<u64> {
        self.read(d, |o| Ok(o.def.memory_kib))
    }

    fn domain_get_vcpus_flags(&self, d: &DomainRef, flags: u32) -> Result<i32> {
        // LIVE 1, CONFIG 2, MAXIMUM 4, GUEST 8.
        check_flags(flags, 0xf, "qemuDomainGetVcpusFlags", D)?;
        if flags & 3 == 3 {
            return Err(Error::new(ErrorCode::InvalidArg, D, "flags 'affect live' and 'affect config' are mutually exclusive"));
        }
        if flags & 8 != 0 {
            // VIR_DOMAIN_VCPU_GUEST: the agent's count.
            return super::tune::guest_vcpu_count(&self.drv, d, flags);
        }
        self.read(d, |o| {
            let def = if flags & 2 != 0 {
                o.persistent_def()
            } else if flags & 1 != 0 && !o.is_active() {
                return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
            } else {
                &o.def
            };
            let n = if flags & 4 != 0 { def.vcpus_max } else { def.vcpus_current };
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        })
    }

    fn domain_get_max_vcpus(&self, d: &DomainRef) -> Result<i32> {
        self.domain_get_vcpus_flags(d, 4)
    }

    fn domain_get_autostart(&self, d: &DomainRef) -> Result<bool> {
        self.read(d, |o| Ok(o.autostart))
    }

    fn domain_set_autostart(&self, d: &DomainRef, on: bool) -> Result<()> {
        let mut doms = self.drv.doms();
        let obj = doms.by_ref_mut(d)?;
        if !obj.persistent {
            return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot set autostart for transient domain"));
        }
        let link = self.drv.paths.autostart_link(&obj.def.name);
        if on {
            let target = self.drv.paths.config_file(&obj.def.name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    D,
                    format!("Failed to create symlink '{}' to '{}': {e}", link.display(), target.display()),
                )
            })?;
        } else {
            match std::fs::remove_file(&link) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::new(ErrorCode::SystemError, D, format!("Failed to delete symlink '{}': {e}", link.display()))),
            }
        }
        obj.autostart = on;
        Ok(())
    }

    fn domain_is_active(&self, d: &DomainRef) -> Result<bool> {
        self.read(d, |o| Ok(o.is_active()))
    }

    fn domain_is_persistent(&self, d: &DomainRef) -> Result<bool> {
        self.read(d, |o| Ok(o.persistent))
    }

    fn domain_is_updated(&self, d: &DomainRef) -> Result<bool> {
        self.read(d, |_| Ok(false))
    }

    fn domain_qemu_monitor_command(&self, d: &DomainRef, cmd: &str, flags: u32) -> Result<String> {
        check_flags(flags, 1, "qemuDomainQemuMonitorCommand", D)?;
        self.monitor_command(d, cmd, None, flags)
    }

    fn domain_qemu_monitor_command_with_files(
        &self,
        d: &DomainRef,
        cmd: &str,
        fds: Vec<std::os::fd::OwnedFd>,
        flags: u32,
    ) -> Result<(String, Vec<std::os::fd::OwnedFd>)> {
        check_flags(flags, 1, "qemuDomainQemuMonitorCommandWithFiles", D)?;
        if fds.len() > 1 {
            return Err(Error::new(ErrorCode::InvalidArg, D, "at most 1 fd can be passed to qemu along with a command"));
        }
        // QEMU passes no descriptors back (neither does libvirt).
        let fd = fds.first().map(std::os::fd::AsFd::as_fd);
        Ok((self.monitor_command(d, cmd, fd, flags)?, Vec::new()))
    }

    fn domain_qemu_agent_command(&self, d: &DomainRef, cmd: &str, timeout: i32, flags: u32) -> Result<Option<String>> {
        check_flags(flags, 0, "qemuDomainQemuAgentCommand", D)?;
        if timeout < -2 {
            return Err(Error::new(ErrorCode::InvalidArg, D, format!("guest agent timeout '{timeout}' is less than the minimum '-2'")));
        }
        self.drv.refresh(&d.uuid);
        let (socket, lock) = self.read(d, |o| {
            if !o.is_active() {
                return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
            }
            let socket =
                o.agent_socket().ok_or_else(|| Error::new(ErrorCode::ArgumentUnsupported, D, "QEMU guest agent is not configured"))?;
            Ok((socket, o.agent.clone()))
        })?;
        // libvirt's availability rules (qinfo): running, and qemu-ga's port open.
        super::guestinfo::require_available(&self.drv, d)?;
        let _agent = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let wait = crate::agent::command_wait(timeout);
        let sync = wait.filter(|w| !w.is_zero()).unwrap_or(std::time::Duration::from_secs(5));
        let reply = crate::agent::command(&socket, cmd, sync, wait)?;
        Ok(reply.map(|r| r.to_string()))
    }

    fn domain_open_console(&self, d: &DomainRef, dev_name: Option<&str>, flags: u32) -> Result<Box<dyn StreamDriver>> {
        let force = DomainConsoleFlags::FORCE.bits();
        check_flags(flags, force | DomainConsoleFlags::SAFE.bits(), "qemuDomainOpenConsole", D)?;
        self.drv.refresh(&d.uuid);
        let path = self.read(d, |o| {
            if !o.is_active() {
                return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
            }
            super::console::pty_of(&o.def, dev_name)
        })?;
        super::console::open(&self.drv.consoles, &path, flags & force != 0)
    }

    fn domain_open_graphics(&self, d: &DomainRef, idx: u32, fd: std::os::fd::OwnedFd, flags: u32) -> Result<()> {
        let skip = DomainOpenGraphicsFlags::SKIPAUTH.bits();
        check_flags(flags, skip, "qemuDomainOpenGraphics", D)?;
        super::graphics::open(&self.drv, d, idx, fd, flags & skip != 0)
    }

    fn domain_open_graphics_fd(&self, d: &DomainRef, idx: u32, flags: u32) -> Result<std::os::fd::OwnedFd> {
        let skip = DomainOpenGraphicsFlags::SKIPAUTH.bits();
        check_flags(flags, skip, "qemuDomainOpenGraphicsFD", D)?;
        super::graphics::open_fd(&self.drv, d, idx, flags & skip != 0)
    }

    // information and statistics (qinfo): thin wiring to runtime/stats.rs and
    // runtime/guestinfo.rs.
    fn node_get_info(&self) -> Result<NodeInfo> {
        super::stats::node_info()
    }

    fn domain_block_stats(&self, d: &DomainRef, path: &str) -> Result<BlockStats> {
        super::stats::block_stats(&self.drv, d, path)
    }

    fn domain_block_stats_flags(&self, d: &DomainRef, path: &str, flags: u32) -> Result<Vec<TypedParam>> {
        super::stats::block_stats_flags(&self.drv, d, path, flags)
    }

    fn domain_interface_stats(&self, d: &DomainRef, device: &str) -> Result<InterfaceStats> {
        super::stats::interface_stats(&self.drv, d, device)
    }

    fn domain_memory_stats(&self, d: &DomainRef, nr: u32, flags: u32) -> Result<Vec<MemoryStat>> {
        super::stats::memory_stats(&self.drv, d, nr, flags)
    }

    fn domain_get_metadata(&self, d: &DomainRef, typ: i32, uri: Option<&str>, flags: u32) -> Result<String> {
        super::metadata::get(&self.drv, d, typ, uri, flags)
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
        super::metadata::set(&self.drv, d, typ, metadata, key, uri, flags)
    }

    fn domain_set_memory_stats_period(&self, d: &DomainRef, period: i32, flags: u32) -> Result<()> {
        super::stats::set_memory_stats_period(&self.drv, d, period, flags)
    }

    fn domain_get_block_info(&self, d: &DomainRef, path: &str, flags: u32) -> Result<BlockInfo> {
        super::stats::block_info(&self.drv, d, path, flags)
    }

    fn domain_get_vcpus(&self, d: &DomainRef, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        super::stats::vcpus(&self.drv, d, maxinfo, maplen)
    }

    fn get_all_domain_stats(&self, doms: &[DomainRef], stats: u32, flags: u32) -> Result<Vec<DomainStatsRecord>> {
        super::stats::all_domain_stats(&self.drv, doms, stats, flags, |f| self.list_all_domains(f))
    }

    fn domain_get_time(&self, d: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        super::guestinfo::get_time(&self.drv, d, flags)
    }

    fn domain_set_time(&self, d: &DomainRef, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
        super::guestinfo::set_time(&self.drv, d, seconds, nseconds, flags)
    }

    fn domain_get_hostname(&self, d: &DomainRef, flags: u32) -> Result<String> {
        super::guestinfo::hostname(&self.drv, d, flags)
    }

    fn domain_interface_addresses(&self, d: &DomainRef, source: u32, flags: u32) -> Result<Vec<DomainInterface>> {
        super::guestinfo::interface_addresses(&self.drv, d, source, flags)
    }

    fn domain_get_guest_info(&self, d: &DomainRef, types: u32, flags: u32) -> Result<Vec<TypedParam>> {
        super::guestinfo::guest_info(&self.drv, d, types, flags)
    }

    fn domain_get_control_info(&self, d: &DomainRef, flags: u32) -> Result<ControlInfo> {
        super::stats::control_info(&self.drv, d, flags)
    }

    fn domain_get_job_info(&self, d: &DomainRef) -> Result<JobInfo> {
        super::stats::job_info(&self.drv, d)
    }

    fn domain_get_job_stats(&self, d: &DomainRef, flags: u32) -> Result<(i32, Vec<TypedParam>)> {
        super::stats::job_stats(&self.drv, d, flags)
    }

    fn domain_get_disk_errors(&self, d: &DomainRef, maxerrors: u32, flags: u32) -> Result<(i32, Vec<DiskError>)> {
        super::stats::disk_errors(&self.drv, d, maxerrors, flags)
    }

    fn domain_inject_nmi(&self, d: &DomainRef, flags: u32) -> Result<()> {
        super::stats::inject_nmi(&self.drv, d, flags)
    }

    fn domain_fs_freeze(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        super::guestinfo::fs_freeze(&self.drv, d, mountpoints, flags, true)
    }

    fn domain_fs_thaw(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        super::guestinfo::fs_freeze(&self.drv, d, mountpoints, flags, false)
    }

    fn domain_get_fs_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        super::guestinfo::get_fs_info(&self.drv, d, flags)
    }

    fn domain_set_user_password(&self, d: &DomainRef, user: &str, password: &str, flags: u32) -> Result<()> {
        super::guestinfo::set_user_password(&self.drv, d, user, password, flags)
    }

    fn domain_agent_set_response_timeout(&self, d: &DomainRef, timeout: i32, flags: u32) -> Result<()> {
        super::guestinfo::set_response_timeout(&self.drv, d, timeout, flags)
    }

    fn domain_get_guest_vcpus(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        super::guestinfo::get_guest_vcpus(&self.drv, d, flags)
    }

    fn domain_set_guest_vcpus(&self, d: &DomainRef, cpumap: &str, state: i32, flags: u32) -> Result<()> {
        super::guestinfo::set_guest_vcpus(&self.drv, d, cpumap, state, flags)
    }
    // end of information and statistics (qinfo)

    // save, restore and managed save: runtime/save.rs.
    fn domain_save(&self, d: &DomainRef, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        // BYPASS_CACHE 1 (accepted, the page cache is used), RUNNING 2, PAUSED 4.
        check_flags(flags, 0x7, "qemuDomainSaveFlags", D)?;
        self.drv.save_domain(d, Some(Path::new(path)), dxml, flags)
    }

    fn domain_restore(&self, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        // RESET_NVRAM 8 is accepted: no NVRAM is kept for these guests.
        check_flags(flags, 0xf, "qemuDomainRestoreFlags", D)?;
        self.drv.restore_domain(Path::new(path), dxml, flags)
    }

    fn domain_save_image_get_xml_desc(&self, path: &str, flags: u32) -> Result<String> {
        check_flags(flags, 1, "qemuDomainSaveImageGetXMLDesc", D)?;
        self.drv.save_image_xml(Path::new(path), flags)
    }

    fn domain_save_image_define_xml(&self, path: &str, dxml: &str, flags: u32) -> Result<()> {
        check_flags(flags, 0x6, "qemuDomainSaveImageDefineXML", D)?;
        self.drv.save_image_define(Path::new(path), dxml, flags)
    }

    fn domain_managed_save(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0x7, "qemuDomainManagedSave", D)?;
        self.drv.save_domain(d, None, None, flags)
    }

    fn domain_has_managed_save(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "qemuDomainHasManagedSaveImage", D)?;
        self.drv.has_managed_save(d)
    }

    fn domain_managed_save_remove(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "qemuDomainManagedSaveRemove", D)?;
        self.drv.managed_save_remove(d)
    }

    fn domain_managed_save_get_xml_desc(&self, d: &DomainRef, flags: u32) -> Result<String> {
        check_flags(flags, 1, "qemuDomainManagedSaveGetXMLDesc", D)?;
        self.drv.managed_save_xml(d, flags)
    }

    fn domain_managed_save_define_xml(&self, d: &DomainRef, dxml: Option<&str>, flags: u32) -> Result<()> {
        // libvirt checks the flags in qemuDomainSaveImageDefineXML, which it calls.
        check_flags(flags, 0x6, "qemuDomainSaveImageDefineXML", D)?;
        self.drv.managed_save_define(d, dxml, flags)
    }
    // size and tuning: thin wiring to runtime/tune.rs.
    fn domain_set_memory(&self, d: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        super::tune::set_memory(&self.drv, d, kib, flags)
    }

    fn domain_set_max_memory(&self, d: &DomainRef, kib: u64) -> Result<()> {
        // VIR_DOMAIN_MEM_MAXIMUM, as libvirt's qemuDomainSetMaxMemory.
        super::tune::set_memory(&self.drv, d, kib, 4)
    }

    fn domain_set_vcpus(&self, d: &DomainRef, n: u32, flags: u32) -> Result<()> {
        super::tune::set_vcpus(&self.drv, d, n, flags)
    }

    fn domain_get_scheduler_type(&self, d: &DomainRef) -> Result<(String, i32)> {
        super::tune::get_scheduler_type(&self.drv, d)
    }

    fn domain_get_scheduler_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        super::tune::get_scheduler_parameters(&self.drv, d, flags)
    }

    fn domain_set_scheduler_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        super::tune::set_scheduler_parameters(&self.drv, d, params, flags)
    }

    fn domain_get_memory_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        super::tune::get_memory_parameters(&self.drv, d, flags)
    }

    fn domain_set_memory_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        super::tune::set_memory_parameters(&self.drv, d, params, flags)
    }

    fn domain_get_blkio_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        super::tune::get_blkio_parameters(&self.drv, d, flags)
    }

    fn domain_set_blkio_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        super::tune::set_blkio_parameters(&self.drv, d, params, flags)
    }

    fn domain_pin_vcpu(&self, d: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        super::tune::pin_vcpu(&self.drv, d, vcpu, cpumap, flags)
    }

    fn domain_get_vcpu_pin_info(&self, d: &DomainRef, ncpumaps: i32, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        super::tune::get_vcpu_pin_info(&self.drv, d, ncpumaps, maplen, flags)
    }

    fn domain_pin_emulator(&self, d: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
        super::tune::pin_emulator(&self.drv, d, cpumap, flags)
    }

    fn domain_get_emulator_pin_info(&self, d: &DomainRef, maplen: i32, flags: u32) -> Result<(Vec<u8>, i32)> {
        super::tune::get_emulator_pin_info(&self.drv, d, maplen, flags)
    }
    // send-key, screenshot, PM suspend/wakeup: thin wiring.
    fn domain_send_key(&self, d: &DomainRef, codeset: u32, holdtime: u32, keycodes: &[u32], flags: u32) -> Result<()> {
        super::keys::send_key(&self.drv, d, codeset, holdtime, keycodes, flags)
    }

    fn domain_screenshot(&self, d: &DomainRef, screen: u32, flags: u32) -> Result<(String, Box<dyn StreamDriver>)> {
        super::screenshot::screenshot(&self.drv, d, screen, flags)
    }

    fn domain_pm_suspend_for_duration(&self, d: &DomainRef, target: u32, duration: u64, flags: u32) -> Result<()> {
        super::pm::suspend(&self.drv, d, target, duration, flags)
    }

    fn domain_pm_wakeup(&self, d: &DomainRef, flags: u32) -> Result<()> {
        super::pm::wakeup(&self.drv, d, flags)
    }

    // ---- device hotplug (runtime/hotplug.rs) ----
    fn domain_attach_device(&self, d: &DomainRef, xml: &str) -> Result<()> {
        super::hotplug::attach(&self.drv, d, xml, 1, "qemuDomainAttachDeviceFlags")
    }
    fn domain_attach_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        super::hotplug::attach(&self.drv, d, xml, flags, "qemuDomainAttachDeviceFlags")
    }
    fn domain_detach_device(&self, d: &DomainRef, xml: &str) -> Result<()> {
        super::hotplug::detach(&self.drv, d, xml, 1, "qemuDomainDetachDeviceFlags")
    }
    fn domain_detach_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        super::hotplug::detach(&self.drv, d, xml, flags, "qemuDomainDetachDeviceFlags")
    }
    fn domain_detach_device_alias(&self, d: &DomainRef, alias: &str, flags: u32) -> Result<()> {
        super::hotplug::detach_alias(&self.drv, d, alias, flags)
    }
    fn domain_update_device_flags(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        super::hotplug::update(&self.drv, d, xml, flags)
    }
    // ---- end of device hotplug ----
    // domain snapshots: runtime/snapshot.rs.
    fn snapshot_create_xml(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<SnapshotRef> {
        check_flags(flags, 0x3ff, "qemuDomainSnapshotCreateXML", D)?;
        self.drv.snapshot_create(d, xml, flags)
    }

    fn snapshot_list_all(&self, d: &DomainRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        check_flags(flags, 0x7ff, "qemuDomainListAllSnapshots", D)?;
        self.drv.snapshot_list(d, flags)
    }

    fn snapshot_list_children(&self, s: &SnapshotRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        check_flags(flags, 0x7ff, "qemuDomainSnapshotListAllChildren", D)?;
        self.drv.snapshot_children(s, flags)
    }

    fn snapshot_lookup_by_name(&self, d: &DomainRef, name: &str, flags: u32) -> Result<SnapshotRef> {
        check_flags(flags, 0, "qemuDomainSnapshotLookupByName", D)?;
        let s = SnapshotRef { domain: d.clone(), name: name.to_string() };
        self.drv.snapshot_get(&s)?;
        Ok(s)
    }

    fn snapshot_has_current(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "qemuDomainHasCurrentSnapshot", D)?;
        Ok(self.drv.snapshot_current_name(d)?.is_some())
    }

    fn snapshot_current(&self, d: &DomainRef, flags: u32) -> Result<SnapshotRef> {
        check_flags(flags, 0, "qemuDomainSnapshotCurrent", D)?;
        let name = self.drv.snapshot_current_name(d)?.ok_or_else(super::snapshot::no_current)?;
        Ok(SnapshotRef { domain: d.clone(), name })
    }

    fn snapshot_get_parent(&self, s: &SnapshotRef, flags: u32) -> Result<SnapshotRef> {
        check_flags(flags, 0, "qemuDomainSnapshotGetParent", D)?;
        let (def, _, _) = self.drv.snapshot_get(s)?;
        let name = def.parent.ok_or_else(|| super::snapshot::no_parent(&s.name))?;
        Ok(SnapshotRef { domain: s.domain.clone(), name })
    }

    fn snapshot_get_xml_desc(&self, s: &SnapshotRef, flags: u32) -> Result<String> {
        check_flags(flags, DomainXmlFlags::SECURE.bits(), "qemuDomainSnapshotGetXMLDesc", D)?;
        let (def, _, uuid) = self.drv.snapshot_get(s)?;
        let opts = oxvirt_conf::snapshot::SnapshotFormatOptions {
            domain_uuid: Some(uuid),
            internal: false,
            secure: flags & DomainXmlFlags::SECURE.bits() != 0,
        };
        Ok(def.format(&opts))
    }

    fn snapshot_is_current(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "qemuDomainSnapshotIsCurrent", D)?;
        Ok(self.drv.snapshot_get(s)?.1)
    }

    fn snapshot_has_metadata(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "qemuDomainSnapshotHasMetadata", D)?;
        self.drv.snapshot_get(s)?;
        Ok(true)
    }

    fn snapshot_revert(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        check_flags(flags, 0xf, "qemuDomainRevertToSnapshot", D)?;
        self.drv.snapshot_revert(s, flags)
    }

    fn snapshot_delete(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        check_flags(flags, 0x7, "qemuDomainSnapshotDelete", D)?;
        self.drv.snapshot_delete(s, flags)
    }

    fn event_register(&self, class: EventClass, event_id: i32, filter: Option<Vec<u8>>, cb: EventCallback) -> Result<i32> {
        if class != EventClass::Domain {
            return Err(Error::new(ErrorCode::NoSupport, D, "only domain events are served by the QEMU driver"));
        }
        Ok(self.drv.bus().register(class, event_id, filter, cb))
    }

    fn event_deregister(&self, callback_id: i32) -> Result<()> {
        self.drv.bus().deregister(callback_id)
    }
}

impl QemuConn {
    /// `virDomainQemuMonitorCommand(WithFiles)`: a QMP command (or an HMP command line
    /// with flag 1), with `fd` passed along when given; the reply text.
    fn monitor_command(&self, d: &DomainRef, cmd: &str, fd: Option<std::os::fd::BorrowedFd<'_>>, flags: u32) -> Result<String> {
        let hmp = flags & 1 != 0;
        let (name, args) = if hmp {
            ("human-monitor-command".to_string(), Some(serde_json::json!({ "command-line": cmd })))
        } else {
            let v: serde_json::Value =
                serde_json::from_str(cmd).map_err(|e| Error::new(ErrorCode::InternalError, D, format!("cannot parse json {cmd}: {e}")))?;
            let name = v
                .get("execute")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| Error::new(ErrorCode::InternalError, D, format!("cannot parse json {cmd}: no 'execute' member")))?
                .to_string();
            (name, v.get("arguments").cloned())
        };
        let timeout = self.drv.monitor_timeout;
        let raw = self.drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute_raw_with_fd(&name, args, timeout, fd))?;
        if !hmp {
            return Ok(raw);
        }
        let v: serde_json::Value = serde_json::from_str(&raw)
            .map_err(|e| Error::new(ErrorCode::InternalError, D, format!("cannot parse the monitor reply: {e}")))?;
        if let Some(e) = v.get("error") {
            let desc = e.get("desc").and_then(serde_json::Value::as_str).unwrap_or("unknown error");
            return Err(Error::new(ErrorCode::InternalError, D, format!("unable to execute QEMU command '{name}': {desc}")));
        }
        Ok(v.get("return").and_then(serde_json::Value::as_str).unwrap_or("").to_string())
    }
}
