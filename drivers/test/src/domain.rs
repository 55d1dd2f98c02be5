//! Domains, the connection-level calls and snapshots (`virHypervisorDriver`).

use crate::caps;
use crate::conn::TestConn;
use crate::domlist::DomObj;
use crate::snapshot::Snap;
use crate::state::State;
use oxvirt::driver::{check_flags, HypervisorDriver};
use oxvirt::event::{lifecycle as lc, EventCallback, EventClass};
use oxvirt::types::reason;
use oxvirt::*;
use oxvirt_conf::domain::{DomainDef, FormatOptions, ParseOptions};
use oxvirt_conf::snapshot::{SnapshotDef, SnapshotParseFlags};
use oxvirt_util::uuid::Uuid;

const D: ErrorDomain = ErrorDomain::Test;
/// The test driver's fixed maximum of vCPUs per guest.
const MAX_VCPUS: i32 = 32;
/// Magic header of save images.
pub(crate) const SAVE_MAGIC: &[u8] = b"TestGuestMagic\0";
/// The architecture the test driver gives guests that do not name one.
const DEFAULT_ARCH: &str = "i686";

/// Parse a domain definition with the test driver's defaults.
pub(crate) fn parse_domain(xml: &str) -> Result<DomainDef> {
    let mut def = DomainDef::parse(xml, &ParseOptions { driver: Some("test".into()), inactive: true })
        .map_err(|e| e.into_vir(ErrorDomain::Domain))?;
    if !names_arch(xml) {
        def.os.arch = Some(DEFAULT_ARCH.into());
    }
    generate_ifnames(&mut def);
    Ok(def)
}

/// Whether the XML gives `<os><type arch=...>` itself.
fn names_arch(xml: &str) -> bool {
    let Ok(doc) = roxmltree::Document::parse(xml) else { return false };
    let root = doc.root_element();
    root.children()
        .filter(|n| n.has_tag_name("os"))
        .flat_map(|os| os.children().filter(|n| n.has_tag_name("type")))
        .any(|t| t.attribute("arch").is_some())
}

/// Name interfaces without a target `testnetN`, as libvirt's test driver does.
fn generate_ifnames(def: &mut DomainDef) {
    for i in 0..def.devices.interfaces.len() {
        if def.devices.interfaces[i].target_dev.is_some() {
            continue;
        }
        let name =
            (0..1024).map(|n| format!("testnet{n}")).find(|n| !def.devices.interfaces.iter().any(|x| x.target_dev.as_deref() == Some(n)));
        def.devices.interfaces[i].target_dev = name;
    }
}

fn dom_event(obj: &DomObj, event: i32, detail: i32) -> Event {
    Event::Domain { dom: obj.dref(), data: DomainEventData::Lifecycle { event, detail } }
}

/// `virDomainObjCheckActive`.
pub(crate) fn check_active(obj: &DomObj) -> Result<()> {
    if !obj.is_active() {
        return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
    }
    Ok(())
}

impl State {
    /// Move a domain to running (`testDomainStartState`).
    pub(crate) fn start_domain(&mut self, u: &Uuid, why: i32) {
        let id = self.next_dom_id;
        self.next_dom_id += 1;
        self.domains.set_id(u, id);
        if let Some(obj) = self.domains.get_mut(u) {
            obj.state = DomainState::Running;
            obj.reason = why;
            if obj.persistent && obj.new_def.is_none() {
                obj.new_def = Some(obj.def.clone());
            }
            obj.managed_save = false;
        }
    }

    /// Move a domain to shut off (`testDomainShutdownState`).
    pub(crate) fn stop_domain(&mut self, u: &Uuid, why: i32) {
        self.domains.set_id(u, -1);
        if let Some(obj) = self.domains.get_mut(u) {
            if let Some(nd) = obj.new_def.take() {
                obj.def = nd;
            }
            obj.state = DomainState::Shutoff;
            obj.reason = why;
        }
    }

    /// Stop a domain, emit STOPPED/`detail` and drop it when transient.
    pub(crate) fn stop_and_reap(&mut self, u: &Uuid, why: i32, detail: i32) {
        self.stop_domain(u, why);
        if let Some(obj) = self.domains.get(u) {
            let ev = dom_event(obj, lc::STOPPED, detail);
            let persistent = obj.persistent;
            self.emit(ev);
            if !persistent {
                self.domains.remove(u);
            }
        }
    }

    /// Add a domain as running from `def` (create, restore).
    fn add_running(&mut self, def: DomainDef, why: i32, detail: i32) -> Result<DomainRef> {
        let (u, _) = self.domains.add(def, true, true)?;
        self.start_domain(&u, why);
        let obj = self.domains.get(&u).ok_or_else(|| Error::internal(D, "domain vanished"))?;
        let ev = dom_event(obj, lc::STARTED, detail);
        let r = obj.dref();
        self.emit(ev);
        Ok(r)
    }
}

/// Resolve `virDomainModificationImpact` flags for `obj`: (live, config).
pub(crate) fn impact(obj: &DomObj, flags: u32) -> Result<(bool, bool)> {
    let mut live = flags & DomainModFlags::LIVE.bits() != 0;
    let mut config = flags & DomainModFlags::CONFIG.bits() != 0;
    if !live && !config {
        if obj.is_active() {
            live = true;
        } else {
            config = true;
        }
    }
    if live && !obj.is_active() {
        return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
    }
    if config && !obj.persistent {
        return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "transient domains do not have any persistent config"));
    }
    Ok((live, config))
}

/// `virDomainObjGetOneDef`: the single definition `flags` select, mutable.
pub(crate) fn one_def(obj: &mut DomObj, flags: u32) -> Result<(&mut DomainDef, bool)> {
    if flags & DomainModFlags::LIVE.bits() != 0 && flags & DomainModFlags::CONFIG.bits() != 0 {
        // virReportInvalidArg: the message carries no code prefix
        return Err(Error::raw(
            ErrorCode::InvalidArg,
            ErrorDomain::Domain,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
        ));
    }
    let (live, _) = impact(obj, flags)?;
    let active = obj.is_active();
    if active && !live {
        if obj.new_def.is_none() {
            obj.new_def = Some(obj.def.clone());
        }
        if let Some(nd) = obj.new_def.as_mut() {
            return Ok((nd, false));
        }
    }
    Ok((&mut obj.def, live))
}

fn list_filter(obj: &DomObj, f: ListDomainsFlags) -> bool {
    use ListDomainsFlags as L;
    let pair = |a: L, b: L, va: bool| -> bool { !(f.contains(a) ^ f.contains(b)) || (f.contains(a) == va) };
    let active = obj.is_active();
    if !pair(L::ACTIVE, L::INACTIVE, active) || !pair(L::PERSISTENT, L::TRANSIENT, obj.persistent) {
        return false;
    }
    if f.intersects(L::RUNNING | L::PAUSED | L::SHUTOFF | L::OTHER) {
        let ok = match obj.state {
            DomainState::Running => f.contains(L::RUNNING),
            DomainState::Paused => f.contains(L::PAUSED),
            DomainState::Shutoff => f.contains(L::SHUTOFF),
            _ => f.contains(L::OTHER),
        };
        if !ok {
            return false;
        }
    }
    pair(L::MANAGEDSAVE, L::NO_MANAGEDSAVE, obj.managed_save)
        && pair(L::AUTOSTART, L::NO_AUTOSTART, obj.autostart)
        && pair(L::HAS_SNAPSHOT, L::NO_SNAPSHOT, !obj.snapshots.is_empty())
        && pair(L::HAS_CHECKPOINT, L::NO_CHECKPOINT, false)
}

pub(crate) fn write_save_image(path: &str, def: &DomainDef) -> Result<()> {
    let xml = def.format(&FormatOptions { id: None, inactive: true, secure: true });
    let len = i32::try_from(xml.len()).map_err(|_| Error::internal(D, "domain XML too large"))?;
    let mut data = Vec::with_capacity(SAVE_MAGIC.len() + 4 + xml.len());
    data.extend_from_slice(SAVE_MAGIC);
    data.extend_from_slice(&len.to_ne_bytes());
    data.extend_from_slice(xml.as_bytes());
    std::fs::write(path, data).map_err(|e| {
        let _ = std::fs::remove_file(path);
        Error::new(ErrorCode::SystemError, D, format!("saving domain '{}' to '{}': write failed: {e}", def.name, path))
    })
}

pub(crate) fn read_save_image(path: &str) -> Result<DomainDef> {
    let data = std::fs::read(path).map_err(|e| {
        let e = oxvirt_util::error::io_text(&e);
        Error::raw(ErrorCode::SystemError, D, format!("cannot read domain image '{path}': {e}"))
    })?;
    if data.len() < SAVE_MAGIC.len() {
        return Err(Error::raw(ErrorCode::SystemError, D, format!("incomplete save header in '{path}'")));
    }
    if &data[..SAVE_MAGIC.len()] != SAVE_MAGIC {
        return Err(Error::internal(D, "mismatched header magic"));
    }
    let rest = &data[SAVE_MAGIC.len()..];
    let len_bytes: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::raw(ErrorCode::SystemError, D, format!("failed to read metadata length in '{path}'")))?;
    let len = i32::from_ne_bytes(len_bytes);
    if !(1..=8192).contains(&len) {
        return Err(Error::internal(D, "length of metadata out of range"));
    }
    let xml =
        rest.get(4..4 + len as usize).ok_or_else(|| Error::raw(ErrorCode::SystemError, D, format!("incomplete metadata in '{path}'")))?;
    let xml = std::str::from_utf8(xml).map_err(|_| Error::internal(D, "save image metadata is not UTF-8"))?;
    parse_domain(xml)
}

fn snap_ref(obj: &DomObj, name: &str) -> SnapshotRef {
    SnapshotRef { domain: obj.dref(), name: name.to_string() }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn state_word(s: DomainState) -> &'static str {
    match s {
        DomainState::Running => "running",
        DomainState::Blocked => "blocked",
        DomainState::Paused => "paused",
        DomainState::Shutdown => "shutdown",
        DomainState::Shutoff => "shutoff",
        DomainState::Crashed => "crashed",
        DomainState::PmSuspended => "pmsuspended",
        DomainState::NoState => "nostate",
    }
}

impl HypervisorDriver for TestConn {
    fn close(&self) {}

    fn get_type(&self) -> Result<String> {
        Ok("TEST".into())
    }

    fn get_version(&self) -> Result<u64> {
        Ok(2)
    }

    fn get_hostname(&self) -> Result<String> {
        caps::hostname()
    }

    fn get_capabilities(&self) -> Result<String> {
        self.with(|st| Ok(caps::capabilities_xml(&st.cells)))
    }

    fn get_max_vcpus(&self, _typ: Option<&str>) -> Result<i32> {
        Ok(MAX_VCPUS)
    }

    fn node_get_info(&self) -> Result<NodeInfo> {
        self.with(|st| Ok(st.node_info.clone()))
    }

    fn node_get_free_memory(&self) -> Result<u64> {
        // libvirt sums the cells' free KiB and returns that number as is.
        self.with(|st| Ok(st.cells.iter().map(|c| c.free_kib).sum::<u64>() as u32 as u64))
    }

    fn node_get_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        self.with(|st| {
            if start < 0 || start as usize >= st.cells.len() {
                return Err(Error::new(ErrorCode::InvalidArg, D, "Range exceeds available cells"));
            }
            Ok(st.cells.iter().skip(start as usize).take(max.max(0) as usize).map(|c| c.mem_kib).collect())
        })
    }

    fn node_get_security_model(&self) -> Result<SecurityModel> {
        // The test driver's capabilities always carry one secmodel (see caps.rs).
        Ok(SecurityModel { model: "testSecurity".into(), doi: String::new() })
    }

    fn get_sysinfo(&self, flags: u32) -> Result<String> {
        check_flags(flags, 0, "testConnectGetSysinfo", D)?;
        Ok("<sysinfo type='smbios'>\n</sysinfo>\n".into())
    }

    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        check_flags(flags, 0xffff, "testConnectListAllDomains", D)?;
        let f = ListDomainsFlags::from_bits_truncate(flags);
        self.with(|st| {
            let mut v: Vec<DomainRef> = st.domains.iter().filter(|o| list_filter(o, f)).map(DomObj::dref).collect();
            // Names are unique, so an unstable sort gives the same order, without
            // the stable sort's scratch buffer.
            v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
            Ok(v)
        })
    }

    fn num_of_domains(&self) -> Result<i32> {
        self.with(|st| Ok(st.domains.iter().filter(|o| o.is_active()).count() as i32))
    }

    fn num_of_defined_domains(&self) -> Result<i32> {
        self.with(|st| Ok(st.domains.iter().filter(|o| !o.is_active()).count() as i32))
    }

    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        self.with(|st| {
            st.domains
                .uuid_by_id(id)
                .and_then(|u| st.domains.get(&u))
                .map(DomObj::dref)
                .ok_or_else(|| Error::new(ErrorCode::NoDomain, D, ""))
        })
    }

    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        self.with(|st| {
            st.domains
                .uuid_by_name(name)
                .and_then(|u| st.domains.get(&u))
                .map(DomObj::dref)
                .ok_or_else(|| Error::new(ErrorCode::NoDomain, D, ""))
        })
    }

    fn domain_lookup_by_uuid(&self, uuid: &Uuid) -> Result<DomainRef> {
        self.with(|st| st.domains.get(uuid).map(DomObj::dref).ok_or_else(|| Error::new(ErrorCode::NoDomain, D, "")))
    }

    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        check_flags(flags, DomainDefineFlags::VALIDATE.bits(), "testDomainDefineXMLFlags", D)?;
        let def = parse_domain(xml)?;
        if def.name.contains('\n') {
            return Err(Error::new(ErrorCode::XmlError, ErrorDomain::Xml, format!("name {} cannot contain '\\n'", def.name)));
        }
        self.with(|st| {
            let (u, replaced) = st.domains.add(def, false, false)?;
            let obj = st.domains.get_mut(&u).ok_or_else(|| Error::internal(D, "domain vanished"))?;
            obj.persistent = true;
            let ev = dom_event(obj, lc::DEFINED, if replaced { lc::DEFINED_UPDATED } else { lc::DEFINED_ADDED });
            let r = obj.dref();
            st.emit(ev);
            Ok(r)
        })
    }

    fn domain_undefine(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(
            flags,
            (DomainUndefineFlags::MANAGED_SAVE | DomainUndefineFlags::SNAPSHOTS_METADATA).bits(),
            "testDomainUndefineFlags",
            D,
        )?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            if obj.managed_save && flags & DomainUndefineFlags::MANAGED_SAVE.bits() == 0 {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "Refusing to undefine while domain managed save image exists"));
            }
            let n = obj.snapshots.len();
            if !obj.is_active() && n > 0 && flags & DomainUndefineFlags::SNAPSHOTS_METADATA.bits() == 0 {
                return Err(Error::new(ErrorCode::OperationInvalid, D, format!("cannot delete inactive domain with {n} snapshots")));
            }
            let ev = dom_event(obj, lc::UNDEFINED, lc::UNDEFINED_REMOVED);
            obj.managed_save = false;
            let u = obj.def.uuid;
            if obj.is_active() {
                obj.persistent = false;
                obj.new_def = None;
            } else {
                st.domains.remove(&u);
            }
            st.emit(ev);
            Ok(())
        })
    }

    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        check_flags(flags, DomainCreateFlags::VALIDATE.bits(), "testDomainCreateXML", D)?;
        let def = parse_domain(xml)?;
        self.with(|st| st.add_running(def, reason::RUNNING_BOOTED, lc::STARTED_BOOTED))
    }

    fn domain_create(&self, d: &DomainRef, flags: u32) -> Result<DomainRef> {
        check_flags(flags, 0, "testDomainCreateWithFlags", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            if obj.state != DomainState::Shutoff {
                return Err(Error::internal(D, format!("Domain '{}' is already running", d.name)));
            }
            let u = obj.def.uuid;
            st.start_domain(&u, reason::RUNNING_BOOTED);
            let obj = st.domains.by_ref(d)?;
            let ev = dom_event(obj, lc::STARTED, lc::STARTED_BOOTED);
            let r = obj.dref();
            st.emit(ev);
            Ok(r)
        })
    }

    // libvirt's test driver accepts the *WithFiles calls and ignores the files
    // (closed when the vector drops).
    fn domain_create_xml_with_files(&self, xml: &str, _files: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<DomainRef> {
        self.domain_create_xml(xml, flags)
    }

    fn domain_create_with_files(&self, d: &DomainRef, _files: Vec<std::os::fd::OwnedFd>, flags: u32) -> Result<DomainRef> {
        self.domain_create(d, flags)
    }

    fn domain_destroy(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, DomainDestroyFlags::GRACEFUL.bits(), "testDomainDestroyFlags", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            let u = obj.def.uuid;
            st.stop_and_reap(&u, reason::SHUTOFF_DESTROYED, lc::STOPPED_DESTROYED);
            Ok(())
        })
    }

    fn domain_shutdown(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainShutdownFlags", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            if obj.state == DomainState::Shutoff {
                return Err(Error::internal(D, format!("domain '{}' not running", d.name)));
            }
            let action = obj.def.on_poweroff.clone();
            let u = obj.def.uuid;
            lifecycle_action(st, &u, &action);
            Ok(())
        })
    }

    fn domain_reboot(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0x1f, "testDomainReboot", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            let action = obj.def.on_reboot.clone();
            let u = obj.def.uuid;
            lifecycle_action(st, &u, &action);
            Ok(())
        })
    }

    fn domain_reset(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainReset", D)?;
        self.with(|st| check_active(st.domains.by_ref(d)?))
    }

    fn domain_suspend(&self, d: &DomainRef) -> Result<()> {
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            if matches!(obj.state, DomainState::Shutoff | DomainState::Paused) {
                return Err(Error::internal(D, format!("domain '{}' not running", d.name)));
            }
            obj.state = DomainState::Paused;
            obj.reason = reason::PAUSED_USER;
            let ev = dom_event(obj, lc::SUSPENDED, lc::SUSPENDED_PAUSED);
            st.emit(ev);
            Ok(())
        })
    }

    fn domain_resume(&self, d: &DomainRef) -> Result<()> {
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            if obj.state != DomainState::Paused {
                return Err(Error::internal(D, format!("domain '{}' not paused", d.name)));
            }
            obj.state = DomainState::Running;
            obj.reason = reason::RUNNING_UNPAUSED;
            let ev = dom_event(obj, lc::RESUMED, lc::RESUMED_UNPAUSED);
            st.emit(ev);
            Ok(())
        })
    }

    fn domain_save(&self, d: &DomainRef, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainSaveFlags", D)?;
        if dxml.is_some() {
            return Err(Error::new(ErrorCode::ArgumentUnsupported, D, "xml modification unsupported"));
        }
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            write_save_image(path, &obj.def)?;
            let u = obj.def.uuid;
            st.stop_and_reap(&u, reason::SHUTOFF_SAVED, lc::STOPPED_SAVED);
            Ok(())
        })
    }

    fn domain_restore(&self, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainRestoreFlags", D)?;
        if dxml.is_some() {
            return Err(Error::new(ErrorCode::ArgumentUnsupported, D, "xml modification unsupported"));
        }
        let def = read_save_image(path)?;
        self.with(|st| {
            let (u, _) = st.domains.add(def, true, false)?;
            st.start_domain(&u, reason::RUNNING_RESTORED);
            let obj = st.domains.get(&u).ok_or_else(|| Error::internal(D, "domain vanished"))?;
            let ev = dom_event(obj, lc::STARTED, lc::STARTED_RESTORED);
            st.emit(ev);
            Ok(())
        })
    }

    fn domain_save_image_get_xml_desc(&self, path: &str, flags: u32) -> Result<String> {
        check_flags(flags, DomainXmlFlags::SECURE.bits(), "testDomainSaveImageGetXMLDesc", D)?;
        let def = read_save_image(path)?;
        Ok(def.format(&FormatOptions { id: None, inactive: true, secure: flags & 1 != 0 }))
    }

    fn domain_managed_save(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0x7, "testDomainManagedSave", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            check_active(obj)?;
            if !obj.persistent {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot do managed save for transient domain"));
            }
            let u = obj.def.uuid;
            st.stop_and_reap(&u, reason::SHUTOFF_SAVED, lc::STOPPED_SAVED);
            if let Some(obj) = st.domains.get_mut(&u) {
                obj.managed_save = true;
            }
            Ok(())
        })
    }

    fn domain_has_managed_save(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "testDomainHasManagedSaveImage", D)?;
        self.with(|st| Ok(st.domains.by_ref(d)?.managed_save))
    }

    fn domain_managed_save_remove(&self, d: &DomainRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testDomainManagedSaveRemove", D)?;
        self.with(|st| {
            st.domains.by_ref_mut(d)?.managed_save = false;
            Ok(())
        })
    }

    fn domain_get_info(&self, d: &DomainRef) -> Result<DomainInfo> {
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            let cpu_time_ns =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|t| t.as_micros() as u64 * 1000).unwrap_or(0);
            Ok(DomainInfo {
                state: obj.state,
                max_mem_kib: obj.def.memory_kib,
                memory_kib: obj.def.current_memory_kib,
                nr_virt_cpu: obj.def.vcpus_current,
                cpu_time_ns,
            })
        })
    }

    fn domain_get_security_label(&self, d: &DomainRef) -> Result<SecurityLabel> {
        // Running domains carry a fixed enforcing label, inactive ones none.
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            if obj.is_active() {
                Ok(SecurityLabel { label: "libvirt-test".into(), enforcing: true })
            } else {
                Ok(SecurityLabel::default())
            }
        })
    }

    fn domain_get_state(&self, d: &DomainRef, flags: u32) -> Result<(DomainState, i32)> {
        check_flags(flags, 0, "testDomainGetState", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            Ok((obj.state, obj.reason))
        })
    }

    fn domain_get_xml_desc(&self, d: &DomainRef, flags: u32) -> Result<String> {
        check_flags(flags, 0xf, "testDomainGetXMLDesc", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            let inactive = flags & DomainXmlFlags::INACTIVE.bits() != 0;
            let def = if inactive { obj.persistent_def() } else { &obj.def };
            let id = (obj.is_active() && !inactive).then_some(obj.id);
            Ok(def.format(&FormatOptions { id, inactive, secure: flags & DomainXmlFlags::SECURE.bits() != 0 }))
        })
    }

    fn domain_get_metadata(&self, d: &DomainRef, typ: i32, uri: Option<&str>, flags: u32) -> Result<String> {
        check_flags(flags, 0x3, "testDomainGetMetadata", D)?;
        self.with(|st| {
            let (def, _) = one_def(st.domains.by_ref_mut(d)?, flags)?;
            oxvirt_conf::metadata::domain_get(def, typ, uri).map_err(|e| e.into_vir(ErrorDomain::Domain))
        })
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
        check_flags(flags, 0x3, "testDomainSetMetadata", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (live, config) = impact(obj, flags)?;
            let set = |def: &mut DomainDef| {
                oxvirt_conf::metadata::domain_set(def, typ, metadata, key, uri).map_err(|e| e.into_vir(ErrorDomain::Domain))
            };
            if live {
                set(&mut obj.def)?;
            }
            if config {
                set(if obj.is_active() { obj.new_def.get_or_insert_with(|| obj.def.clone()) } else { &mut obj.def })?;
            }
            let ev = Event::Domain { dom: obj.dref(), data: DomainEventData::MetadataChange { typ, nsuri: uri.map(str::to_string) } };
            st.emit(ev);
            Ok(())
        })
    }

    fn domain_get_os_type(&self, d: &DomainRef) -> Result<String> {
        self.with(|st| {
            st.domains.by_ref(d)?;
            // libvirt's test driver answers "linux" for every guest.
            Ok("linux".into())
        })
    }

    fn domain_get_max_memory(&self, d: &DomainRef) -> Result<u64> {
        self.with(|st| Ok(st.domains.by_ref(d)?.def.memory_kib))
    }

    fn domain_set_max_memory(&self, d: &DomainRef, kib: u64) -> Result<()> {
        self.domain_set_memory(d, kib, DomainModFlags::MAXIMUM.bits())
    }

    fn domain_set_memory(&self, d: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        check_flags(flags, 0x7, "testDomainSetMemoryFlags", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, live) = one_def(obj, flags)?;
            if flags & DomainModFlags::MAXIMUM.bits() != 0 {
                if live {
                    return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot resize the maximum memory on an active domain"));
                }
                if def.max_memory_kib.is_some_and(|m| m < kib) {
                    return Err(Error::new(
                        ErrorCode::OperationInvalid,
                        D,
                        "cannot set initial memory size greater than the maximum memory size",
                    ));
                }
                def.memory_kib = kib;
                if def.current_memory_kib > kib {
                    def.current_memory_kib = kib;
                }
            } else {
                if kib > def.memory_kib {
                    return Err(Error::new(ErrorCode::InvalidArg, D, "cannot set memory higher than max memory"));
                }
                def.current_memory_kib = kib;
            }
            Ok(())
        })
    }

    fn domain_set_vcpus(&self, d: &DomainRef, n: u32, flags: u32) -> Result<()> {
        check_flags(flags, 0x7, "testDomainSetVcpusFlags", D)?;
        if n > MAX_VCPUS as u32 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                D,
                format!("requested cpu amount exceeds maximum supported amount ({n} > {MAX_VCPUS})"),
            ));
        }
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (live, config) = impact(obj, flags)?;
            let maximum = flags & DomainModFlags::MAXIMUM.bits() != 0;
            if live && obj.def.vcpus_max < n {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    D,
                    format!("requested cpu amount exceeds maximum ({n} > {})", obj.def.vcpus_max),
                ));
            }
            if config && !maximum && obj.persistent_def().vcpus_max < n {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    D,
                    format!("requested cpu amount exceeds maximum ({n} > {})", obj.persistent_def().vcpus_max),
                ));
            }
            if n == 0 {
                return Err(Error::new(ErrorCode::InvalidArg, D, "domain config must have at least one vCPU"));
            }
            if live {
                obj.def.vcpus_current = n;
            }
            if config {
                let pd = if obj.is_active() { obj.new_def.get_or_insert_with(|| obj.def.clone()) } else { &mut obj.def };
                if maximum {
                    pd.vcpus_max = n;
                    if pd.vcpus_current > n {
                        pd.vcpus_current = n;
                    }
                } else {
                    pd.vcpus_current = n;
                }
            }
            Ok(())
        })
    }

    fn domain_get_vcpus_flags(&self, d: &DomainRef, flags: u32) -> Result<i32> {
        check_flags(flags, 0x7, "testDomainGetVcpusFlags", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(d)?;
            let (def, _) = one_def(obj, flags)?;
            Ok(if flags & DomainModFlags::MAXIMUM.bits() != 0 { def.vcpus_max } else { def.vcpus_current } as i32)
        })
    }

    fn domain_get_max_vcpus(&self, d: &DomainRef) -> Result<i32> {
        self.domain_get_vcpus_flags(d, (DomainModFlags::LIVE | DomainModFlags::MAXIMUM).bits())
    }

    fn domain_get_autostart(&self, d: &DomainRef) -> Result<bool> {
        self.with(|st| Ok(st.domains.by_ref(d)?.autostart))
    }

    fn domain_set_autostart(&self, d: &DomainRef, on: bool) -> Result<()> {
        self.with(|st| {
            st.domains.by_ref_mut(d)?.autostart = on;
            Ok(())
        })
    }

    fn domain_is_active(&self, d: &DomainRef) -> Result<bool> {
        self.with(|st| Ok(st.domains.by_ref(d)?.is_active()))
    }

    fn domain_is_persistent(&self, d: &DomainRef) -> Result<bool> {
        self.with(|st| Ok(st.domains.by_ref(d)?.persistent))
    }

    fn domain_is_updated(&self, d: &DomainRef) -> Result<bool> {
        self.with(|st| {
            st.domains.by_ref(d)?;
            Ok(false)
        })
    }

    fn domain_get_hostname(&self, d: &DomainRef, flags: u32) -> Result<String> {
        check_flags(flags, 0x3, "testDomainGetHostname", D)?;
        self.with(|st| {
            check_active(st.domains.by_ref(d)?)?;
            Ok(format!("{}host", d.name))
        })
    }

    fn domain_rename(&self, d: &DomainRef, new_name: &str, flags: u32) -> Result<DomainRef> {
        check_flags(flags, 0, "testDomainRename", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            if obj.is_active() {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot rename active domain"));
            }
            if !obj.persistent {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot rename a transient domain"));
            }
            if obj.state != DomainState::Shutoff {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "domain has to be shutoff before renaming"));
            }
            if let Some(other) = st.domains.uuid_by_name(new_name) {
                return Err(Error::new(
                    ErrorCode::OperationInvalid,
                    ErrorDomain::Domain,
                    format!("domain with name '{new_name}' already exists ({})", oxvirt_util::uuid::format(&other)),
                ));
            }
            if new_name.contains('/') {
                return Err(Error::new(ErrorCode::XmlError, D, format!("name {new_name} cannot contain '/'")));
            }
            let old_ev = dom_event(obj, lc::UNDEFINED, lc::UNDEFINED_RENAMED);
            let u = obj.def.uuid;
            st.domains.rename(&u, new_name);
            let obj = st.domains.by_ref(d)?;
            let new_ev = dom_event(obj, lc::DEFINED, lc::DEFINED_RENAMED);
            let r = obj.dref();
            st.emit(old_ev);
            st.emit(new_ev);
            Ok(r)
        })
    }

    // tuning, pinning, devices (rss): see tune.rs
    fn node_get_cpu_stats(&self, _cpu: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        crate::tune::node_cpu_stats(flags)
    }

    fn node_get_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        crate::tune::node_cpu_map(flags)
    }

    fn connect_get_cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<String>> {
        crate::tune::cpu_model_names(arch, flags)
    }

    fn domain_get_scheduler_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        self.tune_get_scheduler_parameters(d, flags)
    }

    fn domain_set_scheduler_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        self.tune_set_scheduler_parameters(d, params, flags)
    }

    fn domain_get_memory_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        self.tune_get_memory_parameters(d, flags)
    }

    fn domain_set_memory_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        self.tune_set_memory_parameters(d, params, flags)
    }

    fn domain_get_blkio_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
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
    fn domain_set_blkio_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        self.tune_set_blkio_parameters(d, params, flags)
    }

    fn domain_get_numa_parameters(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        self.tune_get_numa_parameters(d, flags)
    }

    fn domain_set_numa_parameters(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
        self.tune_set_numa_parameters(d, params, flags)
    }

    fn domain_get_perf_events(&self, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
        self.tune_get_perf_events(d, flags)
    }

    fn domain_set_perf_events(&self, d: &DomainRef, params: &[TypedParam], flags: u32) -> Result<()> {
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
    fn node_get_free_pages(&self, pages: &[u32], _start_cell: i32, cell_count: u32, flags: u32) -> Result<(Vec<u64>, i32)> {
        crate::tune::node_free_pages(pages.len(), cell_count, flags)
    }
    fn domain_get_interface_parameters(&self, d: &DomainRef, device: &str, flags: u32) -> Result<Vec<TypedParam>> {
        self.tune_get_interface_parameters(d, device, flags)
    }

    fn domain_set_interface_parameters(&self, d: &DomainRef, device: &str, params: &[TypedParam], flags: u32) -> Result<()> {
        self.tune_set_interface_parameters(d, device, params, flags)
    }
    fn domain_save_image_define_xml(&self, path: &str, dxml: &str, flags: u32) -> Result<()> {
        crate::tune::save_image_define_xml(path, dxml, flags)
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
    fn domain_set_iothread_params(&self, d: &DomainRef, id: u32, params: &[TypedParam], flags: u32) -> Result<()> {
        self.tune_set_iothread_params(d, id, params, flags)
    }
    // end of tuning, pinning, devices (rss)

    fn domain_get_scheduler_type(&self, d: &DomainRef) -> Result<(String, i32)> {
        self.with(|st| {
            st.domains.by_ref(d)?;
            Ok(("fair".into(), 1))
        })
    }

    // information and statistics (qinfo): see stats.rs.
    fn domain_block_stats(&self, d: &DomainRef, path: &str) -> Result<BlockStats> {
        self.stats_block(d, path)
    }

    fn domain_interface_stats(&self, d: &DomainRef, device: &str) -> Result<InterfaceStats> {
        self.stats_interface(d, device)
    }

    fn domain_memory_stats(&self, d: &DomainRef, nr: u32, flags: u32) -> Result<Vec<MemoryStat>> {
        self.stats_memory(d, nr, flags)
    }

    fn domain_set_memory_stats_period(&self, d: &DomainRef, period: i32, flags: u32) -> Result<()> {
        self.stats_set_period(d, period, flags)
    }

    fn domain_get_block_info(&self, d: &DomainRef, path: &str, flags: u32) -> Result<BlockInfo> {
        self.stats_block_info(d, path, flags)
    }

    fn domain_get_vcpus(&self, d: &DomainRef, maxinfo: i32, maplen: i32) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        self.stats_vcpus(d, maxinfo, maplen)
    }

    fn domain_get_time(&self, d: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        self.stats_get_time(d, flags)
    }

    fn domain_set_time(&self, d: &DomainRef, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
        self.stats_set_time(d, seconds, nseconds, flags)
    }

    fn domain_interface_addresses(&self, d: &DomainRef, source: u32, flags: u32) -> Result<Vec<DomainInterface>> {
        self.stats_ifaddr(d, source, flags)
    }

    fn get_all_domain_stats(&self, doms: &[DomainRef], stats: u32, flags: u32) -> Result<Vec<DomainStatsRecord>> {
        self.stats_all(doms, stats, flags)
    }

    fn domain_get_control_info(&self, d: &DomainRef, flags: u32) -> Result<ControlInfo> {
        self.stats_control_info(d, flags)
    }

    fn domain_get_disk_errors(&self, d: &DomainRef, maxerrors: u32, flags: u32) -> Result<(i32, Vec<DiskError>)> {
        self.stats_disk_errors(d, maxerrors, flags)
    }

    fn domain_inject_nmi(&self, d: &DomainRef, flags: u32) -> Result<()> {
        self.stats_check_running(d, flags, 0, "testDomainInjectNMI")
    }

    fn domain_set_user_password(&self, d: &DomainRef, _user: &str, _password: &str, flags: u32) -> Result<()> {
        self.stats_check_running(d, flags, 1, "testDomainSetUserPassword")
    }

    fn domain_fs_freeze(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        self.stats_fs_freeze(d, mountpoints, flags, true)
    }

    fn domain_fs_thaw(&self, d: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        self.stats_fs_freeze(d, mountpoints, flags, false)
    }

    fn domain_get_fs_info(&self, d: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        self.stats_fs_info(d, flags)
    }
    // end of information and statistics (qinfo)

    fn snapshot_create_xml(&self, d: &DomainRef, xml: &str, flags: u32) -> Result<SnapshotRef> {
        use SnapshotCreateFlags as F;
        let allowed = F::REDEFINE | F::CURRENT | F::HALT | F::QUIESCE | F::ATOMIC | F::LIVE | F::VALIDATE;
        check_flags(flags, allowed.bits(), "testDomainSnapshotCreateXML", D)?;
        let f = F::from_bits_truncate(flags);
        let redefine = f.contains(F::REDEFINE);
        let update_current = !redefine || f.contains(F::CURRENT);
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            if !obj.persistent && f.contains(F::HALT) {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "cannot halt after transient domain snapshot"));
            }
            let offline = !obj.is_active();
            let mut def = SnapshotDef::parse(xml, SnapshotParseFlags { redefine, internal: false, offline })
                .map_err(|e| e.into_vir(ErrorDomain::DomainSnapshot))?;
            let u = obj.def.uuid;
            let snap = if redefine {
                let name = def.name.clone().unwrap_or_default();
                if let Some(p) = def.parent.as_deref() {
                    if obj.snapshots.get(p).is_none() && p != name {
                        return Err(Error::new(
                            ErrorCode::InvalidArg,
                            ErrorDomain::DomainSnapshot,
                            format!("parent {p} for snapshot {name} not found"),
                        ));
                    }
                }
                Snap { name, def, dom: Some(obj.def.clone()) }
            } else {
                let now = now_secs();
                if let Some(n) = &def.name {
                    if obj.snapshots.get(n).is_some() {
                        return Err(Error::new(
                            ErrorCode::OperationInvalid,
                            ErrorDomain::DomainSnapshot,
                            format!("domain snapshot '{n}' already exists"),
                        ));
                    }
                }
                let name = def.name.clone().unwrap_or_else(|| now.to_string());
                def.name = Some(name.clone());
                def.creation_time = Some(now);
                def.state = Some(state_word(obj.state).into());
                if def.memory.is_none() {
                    def.memory = Some(if offline { "no" } else { "internal" }.into());
                }
                def.parent = obj.snapshots.current.clone();
                def.domain = Some(obj.def.clone());
                Snap { name, def, dom: Some(obj.def.clone()) }
            };
            let name = snap.name.clone();
            let obj = st.domains.get_mut(&u).ok_or_else(|| Error::internal(D, "domain vanished"))?;
            obj.snapshots.insert(snap);
            if update_current {
                obj.snapshots.current = Some(name.clone());
            }
            let r = snap_ref(obj, &name);
            if f.contains(F::HALT) && obj.is_active() {
                st.stop_and_reap(&u, reason::SHUTOFF_FROM_SNAPSHOT, lc::STOPPED_FROM_SNAPSHOT);
            }
            Ok(r)
        })
    }

    fn snapshot_list_all(&self, d: &DomainRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        check_flags(flags, 0x7ff, "testDomainListAllSnapshots", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            Ok(obj.snapshots.list(flags).into_iter().map(|s| snap_ref(obj, &s.name)).collect())
        })
    }

    fn snapshot_list_children(&self, s: &SnapshotRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        check_flags(flags, 0x7ff, "testDomainSnapshotListAllChildren", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(&s.domain)?;
            obj.snapshots.find(&s.name)?;
            let set = if flags & SnapshotListFlags::ROOTS.bits() != 0 {
                obj.snapshots.descendants(&s.name)
            } else {
                obj.snapshots.children(Some(&s.name))
            };
            Ok(obj.snapshots.filter(set, flags).into_iter().map(|c| snap_ref(obj, &c.name)).collect())
        })
    }

    fn snapshot_lookup_by_name(&self, d: &DomainRef, name: &str, flags: u32) -> Result<SnapshotRef> {
        check_flags(flags, 0, "testDomainSnapshotLookupByName", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            obj.snapshots.find(name)?;
            Ok(snap_ref(obj, name))
        })
    }

    fn snapshot_has_current(&self, d: &DomainRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "testDomainHasCurrentSnapshot", D)?;
        self.with(|st| Ok(st.domains.by_ref(d)?.snapshots.current.is_some()))
    }

    fn snapshot_current(&self, d: &DomainRef, flags: u32) -> Result<SnapshotRef> {
        check_flags(flags, 0, "testDomainSnapshotCurrent", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(d)?;
            let cur = obj
                .snapshots
                .current
                .as_deref()
                .ok_or_else(|| Error::new(ErrorCode::NoDomainSnapshot, D, "the domain does not have a current snapshot"))?;
            Ok(snap_ref(obj, cur))
        })
    }

    fn snapshot_get_parent(&self, s: &SnapshotRef, flags: u32) -> Result<SnapshotRef> {
        check_flags(flags, 0, "testDomainSnapshotGetParent", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(&s.domain)?;
            let snap = obj.snapshots.find(&s.name)?;
            let p = snap
                .parent()
                .ok_or_else(|| Error::new(ErrorCode::NoDomainSnapshot, D, format!("snapshot '{}' does not have a parent", s.name)))?;
            Ok(snap_ref(obj, p))
        })
    }

    fn snapshot_get_xml_desc(&self, s: &SnapshotRef, flags: u32) -> Result<String> {
        check_flags(flags, DomainXmlFlags::SECURE.bits(), "testDomainSnapshotGetXMLDesc", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(&s.domain)?;
            let snap = obj.snapshots.find(&s.name)?;
            let opts = oxvirt_conf::snapshot::SnapshotFormatOptions {
                domain_uuid: Some(oxvirt_util::uuid::format(&obj.def.uuid)),
                internal: false,
                secure: flags & DomainXmlFlags::SECURE.bits() != 0,
            };
            Ok(snap.def.format(&opts))
        })
    }

    fn snapshot_is_current(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "testDomainSnapshotIsCurrent", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref(&s.domain)?;
            obj.snapshots.find(&s.name)?;
            Ok(obj.snapshots.current.as_deref() == Some(s.name.as_str()))
        })
    }

    fn snapshot_has_metadata(&self, s: &SnapshotRef, flags: u32) -> Result<bool> {
        check_flags(flags, 0, "testDomainSnapshotHasMetadata", D)?;
        self.with(|st| {
            st.domains.by_ref(&s.domain)?.snapshots.find(&s.name)?;
            Ok(true)
        })
    }

    fn snapshot_revert(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        use SnapshotRevertFlags as F;
        check_flags(flags, (F::RUNNING | F::PAUSED | F::FORCE | F::RESET_NVRAM).bits(), "testDomainRevertToSnapshot", D)?;
        let f = F::from_bits_truncate(flags);
        self.with(|st| {
            let obj = st.domains.by_ref(&s.domain)?;
            let snap = obj.snapshots.find(&s.name)?;
            let snap_state = snap.state().to_string();
            let live_snap = snap_state == "running" || snap_state == "paused";
            if !obj.persistent && !live_snap && !f.intersects(F::RUNNING | F::PAUSED) {
                return Err(Error::new(
                    ErrorCode::OperationInvalid,
                    D,
                    "transient domain needs to request run or pause to revert to inactive snapshot",
                ));
            }
            let config = snap.dom.clone().ok_or_else(|| {
                Error::new(
                    ErrorCode::SnapshotRevertRisky,
                    D,
                    format!("snapshot '{}' lacks domain '{}' rollback info", s.name, s.domain.name),
                )
            })?;
            let u = obj.def.uuid;
            if let Some(o) = st.domains.get_mut(&u) {
                o.snapshots.current = None;
            }
            let active = st.domains.get(&u).is_some_and(DomObj::is_active);
            if live_snap {
                if active {
                    st.stop_domain(&u, reason::SHUTOFF_FROM_SNAPSHOT);
                    if let Some(o) = st.domains.get(&u) {
                        let ev = dom_event(o, lc::STOPPED, lc::STOPPED_FROM_SNAPSHOT);
                        st.emit(ev);
                    }
                }
                if let Some(o) = st.domains.get_mut(&u) {
                    o.assign_def(config, false);
                }
                st.start_domain(&u, reason::RUNNING_FROM_SNAPSHOT);
                if let Some(o) = st.domains.get(&u) {
                    let ev = dom_event(o, lc::STARTED, lc::STARTED_FROM_SNAPSHOT);
                    st.emit(ev);
                }
                if !f.contains(F::RUNNING) && (snap_state == "paused" || f.contains(F::PAUSED)) {
                    pause_from_snapshot(st, &u);
                }
            } else {
                if let Some(o) = st.domains.get_mut(&u) {
                    o.assign_def(config, false);
                }
                if active {
                    st.stop_domain(&u, reason::SHUTOFF_FROM_SNAPSHOT);
                    if let Some(o) = st.domains.get(&u) {
                        let ev = dom_event(o, lc::STOPPED, lc::STOPPED_FROM_SNAPSHOT);
                        st.emit(ev);
                    }
                }
                if f.intersects(F::RUNNING | F::PAUSED) {
                    st.start_domain(&u, reason::RUNNING_FROM_SNAPSHOT);
                    if let Some(o) = st.domains.get(&u) {
                        let ev = dom_event(o, lc::STARTED, lc::STARTED_FROM_SNAPSHOT);
                        st.emit(ev);
                    }
                    if f.contains(F::PAUSED) {
                        pause_from_snapshot(st, &u);
                    }
                }
            }
            if let Some(o) = st.domains.get_mut(&u) {
                o.snapshots.current = Some(s.name.clone());
            }
            Ok(())
        })
    }

    fn snapshot_delete(&self, s: &SnapshotRef, flags: u32) -> Result<()> {
        use SnapshotDeleteFlags as F;
        check_flags(flags, (F::CHILDREN | F::METADATA_ONLY | F::CHILDREN_ONLY).bits(), "testDomainSnapshotDelete", D)?;
        self.with(|st| {
            let obj = st.domains.by_ref_mut(&s.domain)?;
            let snap = obj.snapshots.find(&s.name)?;
            let parent = snap.def.parent.clone();
            let list = &mut obj.snapshots;
            if flags & (F::CHILDREN | F::CHILDREN_ONLY).bits() != 0 {
                let desc: Vec<String> = list.descendants(&s.name).into_iter().map(|c| c.name.clone()).collect();
                let had_current = desc.iter().any(|n| list.current.as_deref() == Some(n.as_str()));
                for n in &desc {
                    list.remove(n);
                }
                if had_current {
                    list.current = Some(s.name.clone());
                }
            } else {
                list.reparent_children(&s.name, parent.clone());
            }
            if flags & F::CHILDREN_ONLY.bits() == 0 {
                if list.current.as_deref() == Some(s.name.as_str()) {
                    list.current = parent.filter(|p| list.get(p).is_some());
                }
                list.remove(&s.name);
            }
            Ok(())
        })
    }

    fn event_register(&self, class: EventClass, event_id: i32, filter: Option<Vec<u8>>, cb: EventCallback) -> Result<i32> {
        Ok(self.drv.bus.register(class, event_id, filter, cb))
    }

    fn event_deregister(&self, callback_id: i32) -> Result<()> {
        self.drv.bus.deregister(callback_id)
    }
}

fn pause_from_snapshot(st: &mut State, u: &Uuid) {
    if let Some(o) = st.domains.get_mut(u) {
        o.state = DomainState::Paused;
        o.reason = reason::PAUSED_FROM_SNAPSHOT;
        let ev = dom_event(o, lc::SUSPENDED, lc::SUSPENDED_FROM_SNAPSHOT);
        st.emit(ev);
    }
}

/// Apply an `on_poweroff`/`on_reboot` action (`testDomainActionSetState`).
fn lifecycle_action(st: &mut State, u: &Uuid, action: &str) {
    match action {
        "restart" | "rename-restart" => {
            if let Some(o) = st.domains.get_mut(u) {
                o.state = DomainState::Running;
                o.reason = reason::RUNNING_BOOTED;
            }
        }
        _ => st.stop_and_reap(u, reason::SHUTOFF_SHUTDOWN, lc::STOPPED_SHUTDOWN),
    }
}
