//! Domain objects and the domain list with O(1) name, UUID and id indexes
//! (libvirt's `virDomainObj` / `virDomainObjList`).

use crate::qmp::Qmp;
use oxvirt::{DomainRef, DomainState, Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::DomainDef;
use oxvirt_util::uuid::{self, Uuid};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The live part of a running domain.
#[derive(Debug)]
pub struct Run {
    /// QEMU's pid.
    pub pid: i32,
    /// Monitor socket.
    pub monitor_path: PathBuf,
    /// Private directory (`domain-ID-NAME`).
    pub lib_dir: PathBuf,
    /// The monitor, once connected.
    pub qmp: Option<Arc<Qmp>>,
    /// A destroy is in progress: the end of the process is its business.
    pub being_destroyed: bool,
    /// STOP events our own `stop` commands will cause (already accounted for).
    pub expect_stop: u32,
    /// RESUME events our own `cont` commands will cause.
    pub expect_resume: u32,
}

/// An event a monitor command of ours causes, so the event handler does not apply
/// it a second time (possibly after a later change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No state event.
    Nothing,
    /// `stop` → STOP.
    Stop,
    /// `cont` → RESUME.
    Resume,
}

impl Run {
    /// Count (`up`) or uncount an expected event.
    pub fn expect(&mut self, e: Expect, up: bool) {
        let slot = match e {
            Expect::Nothing => return,
            Expect::Stop => &mut self.expect_stop,
            Expect::Resume => &mut self.expect_resume,
        };
        *slot = if up { slot.saturating_add(1) } else { slot.saturating_sub(1) };
    }
}

/// One domain.
#[derive(Debug)]
pub struct DomObj {
    /// The current definition: the live one while running.
    pub def: DomainDef,
    /// The persistent definition while a persistent domain runs.
    pub new_def: Option<DomainDef>,
    /// Id while active, -1 otherwise.
    pub id: i32,
    /// State.
    pub state: DomainState,
    /// Reason of the state.
    pub reason: i32,
    /// Has a persistent configuration.
    pub persistent: bool,
    /// Autostart flag.
    pub autostart: bool,
    /// Live process data while active.
    pub run: Option<Run>,
    /// Serializes the jobs (start, destroy, ...) on this domain.
    pub job: Arc<Mutex<()>>,
    /// Serializes guest-agent exchanges (the channel takes one client at a time);
    /// separate from `job`, as libvirt's agent jobs are.
    pub agent: Arc<Mutex<()>>,
}

impl DomObj {
    /// A new inactive object.
    pub fn new(def: DomainDef) -> DomObj {
        DomObj {
            def,
            new_def: None,
            id: -1,
            state: DomainState::Shutoff,
            reason: 0,
            persistent: false,
            autostart: false,
            run: None,
            job: Arc::new(Mutex::new(())),
            agent: Arc::new(Mutex::new(())),
        }
    }

    /// Running, paused or shutting down (has an id).
    pub fn is_active(&self) -> bool {
        self.id >= 0
    }

    /// The API reference.
    pub fn dref(&self) -> DomainRef {
        DomainRef { name: self.def.name.clone(), uuid: self.def.uuid, id: self.id }
    }

    /// The unix socket of the guest-agent channel (`org.qemu.guest_agent.0`), if
    /// the definition has one.
    pub fn agent_socket(&self) -> Option<PathBuf> {
        self.def.devices.chardevs.iter().find_map(|c| {
            let name = c.target.as_ref().and_then(|t| t.attrs.iter().find(|(k, _)| k == "name")).map(|(_, v)| v.as_str());
            (c.device == "channel" && name == Some(crate::agent::AGENT_CHANNEL) && c.source.chr_type == "unix")
                .then(|| c.source.path.as_ref().map(PathBuf::from))
                .flatten()
        })
    }

    /// `virDomainObjUpdateModificationImpact`: (live, config) of
    /// `VIR_DOMAIN_AFFECT_*` `flags` (neither: live when running, config otherwise).
    pub fn impact(&self, flags: u32) -> Result<(bool, bool)> {
        let active = self.is_active();
        let live = flags & 1 != 0 || (flags & 3 == 0 && active);
        let config = flags & 2 != 0 || (flags & 3 == 0 && !active);
        if live && !active {
            return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
        }
        if config && !self.persistent {
            return Err(Error::new(
                ErrorCode::OperationInvalid,
                ErrorDomain::Domain,
                "transient domains do not have any persistent config",
            ));
        }
        Ok((live, config))
    }

    /// The persistent definition.
    pub fn persistent_def(&self) -> &DomainDef {
        self.new_def.as_ref().unwrap_or(&self.def)
    }
}

/// `VIR_ERR_NO_DOMAIN` for a reference.
pub fn no_domain_ref(d: &DomainRef) -> Error {
    Error::new(ErrorCode::NoDomain, ErrorDomain::Qemu, format!("no domain with matching uuid '{}' ({})", uuid::format(&d.uuid), d.name))
}

/// The domain list.
#[derive(Debug, Default)]
pub struct DomList {
    by_uuid: HashMap<Uuid, DomObj>,
    by_name: HashMap<String, Uuid>,
    by_id: HashMap<i32, Uuid>,
    next_id: i32,
}

impl DomList {
    /// Insert or replace an object.
    pub fn insert(&mut self, obj: DomObj) {
        let u = obj.def.uuid;
        self.remove(&u);
        self.by_name.insert(obj.def.name.clone(), u);
        if obj.id >= 0 {
            self.by_id.insert(obj.id, u);
            self.next_id = self.next_id.max(obj.id);
        }
        self.by_uuid.insert(u, obj);
    }

    /// Remove an object.
    pub fn remove(&mut self, u: &Uuid) -> Option<DomObj> {
        let obj = self.by_uuid.remove(u)?;
        self.by_name.remove(&obj.def.name);
        if obj.id >= 0 {
            self.by_id.remove(&obj.id);
        }
        Some(obj)
    }

    /// A fresh domain id.
    pub fn alloc_id(&mut self) -> i32 {
        self.next_id = self.next_id.saturating_add(1);
        self.next_id
    }

    /// Give `u` the id `id` (-1 when it stops).
    pub fn set_id(&mut self, u: &Uuid, id: i32) {
        if let Some(obj) = self.by_uuid.get_mut(u) {
            if obj.id >= 0 {
                self.by_id.remove(&obj.id);
            }
            obj.id = id;
            if id >= 0 {
                self.by_id.insert(id, *u);
                self.next_id = self.next_id.max(id);
            }
        }
    }

    /// By UUID.
    pub fn get(&self, u: &Uuid) -> Option<&DomObj> {
        self.by_uuid.get(u)
    }

    /// By UUID, mutable.
    pub fn get_mut(&mut self, u: &Uuid) -> Option<&mut DomObj> {
        self.by_uuid.get_mut(u)
    }

    /// By reference (UUID), or `VIR_ERR_NO_DOMAIN`.
    pub fn by_ref(&self, d: &DomainRef) -> Result<&DomObj> {
        self.by_uuid.get(&d.uuid).ok_or_else(|| no_domain_ref(d))
    }

    /// By reference, mutable.
    pub fn by_ref_mut(&mut self, d: &DomainRef) -> Result<&mut DomObj> {
        self.by_uuid.get_mut(&d.uuid).ok_or_else(|| no_domain_ref(d))
    }

    /// By name.
    pub fn by_name(&self, name: &str) -> Option<&DomObj> {
        self.by_name.get(name).and_then(|u| self.by_uuid.get(u))
    }

    /// By id.
    pub fn by_id(&self, id: i32) -> Option<&DomObj> {
        self.by_id.get(&id).and_then(|u| self.by_uuid.get(u))
    }

    /// Every object.
    pub fn iter(&self) -> impl Iterator<Item = &DomObj> {
        self.by_uuid.values()
    }
}
