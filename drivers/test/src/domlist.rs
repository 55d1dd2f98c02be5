//! The domain list: objects keyed by UUID with name and id indexes, so lookups are
//! O(1) and listing is linear (libvirt's `virDomainObjList`).

use crate::snapshot::SnapList;
use oxvirt::{DomainRef, DomainState, Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::DomainDef;
use oxvirt_util::uuid::{self, Uuid};
use std::collections::HashMap;

/// One domain (libvirt's `virDomainObj`).
#[derive(Debug, Clone)]
pub(crate) struct DomObj {
    /// The current definition: the live one while running.
    pub def: DomainDef,
    /// The persistent definition while a persistent domain runs (`newDef`).
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
    /// A managed save image exists.
    pub managed_save: bool,
    /// Snapshot metadata.
    pub snapshots: SnapList,
    /// The guest clock of `virDomainGetTime`/`SetTime` (seconds, nanoseconds).
    pub guest_time: (i64, u32),
    /// Frozen state of the two fake guest file systems `/` and `/boot`.
    pub fs_frozen: [bool; 2],
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
            managed_save: false,
            snapshots: SnapList::default(),
            guest_time: crate::stats::INITIAL_GUEST_TIME,
            fs_frozen: [false; 2],
        }
    }

    /// Running or paused (has an id).
    pub fn is_active(&self) -> bool {
        self.id >= 0
    }

    /// The API reference.
    pub fn dref(&self) -> DomainRef {
        DomainRef { name: self.def.name.clone(), uuid: self.def.uuid, id: self.id }
    }

    /// The persistent definition (libvirt's `virDomainObjGetPersistentDef`).
    pub fn persistent_def(&self) -> &DomainDef {
        self.new_def.as_ref().unwrap_or(&self.def)
    }

    /// Replace the definition as `virDomainObjAssignDef` does; returns the replaced
    /// persistent definition, if any.
    pub fn assign_def(&mut self, def: DomainDef, live: bool) -> Option<DomainDef> {
        if self.is_active() {
            return self.new_def.replace(def);
        }
        if live {
            let old = std::mem::replace(&mut self.def, def);
            if self.new_def.is_none() {
                self.new_def = Some(old);
            }
            return None;
        }
        Some(std::mem::replace(&mut self.def, def))
    }
}

/// The error for a domain reference that no longer resolves.
pub(crate) fn no_domain_ref(d: &DomainRef) -> Error {
    Error::new(ErrorCode::NoDomain, ErrorDomain::Test, format!("no domain with matching uuid '{}' ({})", uuid::format(&d.uuid), d.name))
}

/// Domains indexed by UUID, name and id.
#[derive(Debug, Default, Clone)]
pub(crate) struct DomList {
    by_uuid: HashMap<Uuid, DomObj>,
    by_name: HashMap<String, Uuid>,
    by_id: HashMap<i32, Uuid>,
}

impl DomList {
    /// By UUID.
    pub fn get(&self, u: &Uuid) -> Option<&DomObj> {
        self.by_uuid.get(u)
    }

    /// By UUID, mutable. Callers that change the id must use [`DomList::set_id`].
    pub fn get_mut(&mut self, u: &Uuid) -> Option<&mut DomObj> {
        self.by_uuid.get_mut(u)
    }

    /// The object behind an API reference, or libvirt's lookup error.
    pub fn by_ref(&self, d: &DomainRef) -> Result<&DomObj> {
        self.by_uuid.get(&d.uuid).ok_or_else(|| no_domain_ref(d))
    }

    /// Mutable object behind an API reference.
    pub fn by_ref_mut(&mut self, d: &DomainRef) -> Result<&mut DomObj> {
        self.by_uuid.get_mut(&d.uuid).ok_or_else(|| no_domain_ref(d))
    }

    /// UUID by name.
    pub fn uuid_by_name(&self, name: &str) -> Option<Uuid> {
        self.by_name.get(name).copied()
    }

    /// UUID by id.
    pub fn uuid_by_id(&self, id: i32) -> Option<Uuid> {
        self.by_id.get(&id).copied()
    }

    /// All objects, unordered.
    pub fn iter(&self) -> impl Iterator<Item = &DomObj> {
        self.by_uuid.values()
    }

    /// Change the id of a domain, keeping the index right.
    pub fn set_id(&mut self, u: &Uuid, id: i32) {
        if let Some(obj) = self.by_uuid.get_mut(u) {
            if obj.id >= 0 {
                self.by_id.remove(&obj.id);
            }
            obj.id = id;
            if id >= 0 {
                self.by_id.insert(id, *u);
            }
        }
    }

    /// Remove a domain.
    pub fn remove(&mut self, u: &Uuid) -> Option<DomObj> {
        let obj = self.by_uuid.remove(u)?;
        self.by_name.remove(&obj.def.name);
        if obj.id >= 0 {
            self.by_id.remove(&obj.id);
        }
        Some(obj)
    }

    /// Add or update a domain as `virDomainObjListAdd` does. `live` assigns the
    /// definition as the running one; `check_live` refuses active or starting
    /// domains. Returns the UUID and whether a previous persistent definition was
    /// replaced (for DEFINED_UPDATED vs DEFINED_ADDED).
    pub fn add(&mut self, def: DomainDef, live: bool, check_live: bool) -> Result<(Uuid, bool)> {
        let u = def.uuid;
        if let Some(obj) = self.by_uuid.get_mut(&u) {
            if obj.def.name != def.name {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Domain,
                    format!("domain '{}' is already defined with uuid {}", obj.def.name, uuid::format(&u)),
                ));
            }
            if check_live {
                if obj.is_active() {
                    return Err(Error::new(
                        ErrorCode::OperationInvalid,
                        ErrorDomain::Domain,
                        format!("domain '{}' is already active", obj.def.name),
                    ));
                }
                if !obj.persistent {
                    return Err(Error::new(
                        ErrorCode::OperationInvalid,
                        ErrorDomain::Domain,
                        format!("domain '{}' is already being started", obj.def.name),
                    ));
                }
            }
            let old = obj.assign_def(def, live);
            return Ok((u, old.is_some()));
        }
        if let Some(other) = self.by_name.get(&def.name) {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Domain,
                format!("domain '{}' already exists with uuid {}", def.name, uuid::format(other)),
            ));
        }
        self.by_name.insert(def.name.clone(), u);
        self.by_uuid.insert(u, DomObj::new(def));
        Ok((u, false))
    }

    /// Rename a domain in the name index.
    pub fn rename(&mut self, u: &Uuid, new_name: &str) {
        if let Some(obj) = self.by_uuid.get_mut(u) {
            self.by_name.remove(&obj.def.name);
            obj.def.name = new_name.to_string();
            if let Some(nd) = obj.new_def.as_mut() {
                nd.name = new_name.to_string();
            }
            self.by_name.insert(new_name.to_string(), *u);
        }
    }
}
