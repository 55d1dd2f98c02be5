//! Events: libvirt's event ids and lifecycle codes, and [`EventBus`], the dispatcher
//! every driver uses. Callbacks run on the bus's own thread, never under a driver lock,
//! in the order the events were emitted.

use crate::types::{DomainRef, NetworkRef, NodeDeviceRef, SecretRef, StoragePoolRef};
use crate::{Error, Result};
use oxvirt_util::{ErrorCode, ErrorDomain};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// `virDomainEventID` numbers.
pub mod domain_event_id {
    /// VIR_DOMAIN_EVENT_ID_LIFECYCLE
    pub const LIFECYCLE: i32 = 0;
    /// VIR_DOMAIN_EVENT_ID_REBOOT
    pub const REBOOT: i32 = 1;
    /// VIR_DOMAIN_EVENT_ID_RTC_CHANGE
    pub const RTC_CHANGE: i32 = 2;
    /// VIR_DOMAIN_EVENT_ID_WATCHDOG
    pub const WATCHDOG: i32 = 3;
    /// VIR_DOMAIN_EVENT_ID_IO_ERROR
    pub const IO_ERROR: i32 = 4;
    /// VIR_DOMAIN_EVENT_ID_GRAPHICS
    pub const GRAPHICS: i32 = 5;
    /// VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON
    pub const IO_ERROR_REASON: i32 = 6;
    /// VIR_DOMAIN_EVENT_ID_CONTROL_ERROR
    pub const CONTROL_ERROR: i32 = 7;
    /// VIR_DOMAIN_EVENT_ID_BLOCK_JOB
    pub const BLOCK_JOB: i32 = 8;
    /// VIR_DOMAIN_EVENT_ID_DISK_CHANGE
    pub const DISK_CHANGE: i32 = 9;
    /// VIR_DOMAIN_EVENT_ID_TRAY_CHANGE
    pub const TRAY_CHANGE: i32 = 10;
    /// VIR_DOMAIN_EVENT_ID_PMWAKEUP
    pub const PMWAKEUP: i32 = 11;
    /// VIR_DOMAIN_EVENT_ID_PMSUSPEND
    pub const PMSUSPEND: i32 = 12;
    /// VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE
    pub const BALLOON_CHANGE: i32 = 13;
    /// VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK
    pub const PMSUSPEND_DISK: i32 = 14;
    /// VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED
    pub const DEVICE_REMOVED: i32 = 15;
    /// VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2
    pub const BLOCK_JOB_2: i32 = 16;
    /// VIR_DOMAIN_EVENT_ID_TUNABLE
    pub const TUNABLE: i32 = 17;
    /// VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE
    pub const AGENT_LIFECYCLE: i32 = 18;
    /// VIR_DOMAIN_EVENT_ID_DEVICE_ADDED
    pub const DEVICE_ADDED: i32 = 19;
    /// VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION
    pub const MIGRATION_ITERATION: i32 = 20;
    /// VIR_DOMAIN_EVENT_ID_JOB_COMPLETED
    pub const JOB_COMPLETED: i32 = 21;
    /// VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED
    pub const DEVICE_REMOVAL_FAILED: i32 = 22;
    /// VIR_DOMAIN_EVENT_ID_METADATA_CHANGE
    pub const METADATA_CHANGE: i32 = 23;
    /// VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD
    pub const BLOCK_THRESHOLD: i32 = 24;
    /// VIR_DOMAIN_EVENT_ID_MEMORY_FAILURE
    pub const MEMORY_FAILURE: i32 = 25;
    /// VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE
    pub const MEMORY_DEVICE_SIZE_CHANGE: i32 = 26;
    /// Number of ids (VIR_DOMAIN_EVENT_ID_LAST).
    pub const LAST: i32 = 27;
}

/// `virDomainEventType` and the detail codes of each type.
pub mod lifecycle {
    /// VIR_DOMAIN_EVENT_DEFINED
    pub const DEFINED: i32 = 0;
    /// VIR_DOMAIN_EVENT_UNDEFINED
    pub const UNDEFINED: i32 = 1;
    /// VIR_DOMAIN_EVENT_STARTED
    pub const STARTED: i32 = 2;
    /// VIR_DOMAIN_EVENT_SUSPENDED
    pub const SUSPENDED: i32 = 3;
    /// VIR_DOMAIN_EVENT_RESUMED
    pub const RESUMED: i32 = 4;
    /// VIR_DOMAIN_EVENT_STOPPED
    pub const STOPPED: i32 = 5;
    /// VIR_DOMAIN_EVENT_SHUTDOWN
    pub const SHUTDOWN: i32 = 6;
    /// VIR_DOMAIN_EVENT_PMSUSPENDED
    pub const PMSUSPENDED: i32 = 7;
    /// VIR_DOMAIN_EVENT_CRASHED
    pub const CRASHED: i32 = 8;

    /// VIR_DOMAIN_EVENT_DEFINED_ADDED
    pub const DEFINED_ADDED: i32 = 0;
    /// VIR_DOMAIN_EVENT_DEFINED_UPDATED
    pub const DEFINED_UPDATED: i32 = 1;
    /// VIR_DOMAIN_EVENT_DEFINED_RENAMED
    pub const DEFINED_RENAMED: i32 = 2;
    /// VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT
    pub const DEFINED_FROM_SNAPSHOT: i32 = 3;
    /// VIR_DOMAIN_EVENT_UNDEFINED_REMOVED
    pub const UNDEFINED_REMOVED: i32 = 0;
    /// VIR_DOMAIN_EVENT_UNDEFINED_RENAMED
    pub const UNDEFINED_RENAMED: i32 = 1;
    /// VIR_DOMAIN_EVENT_STARTED_BOOTED
    pub const STARTED_BOOTED: i32 = 0;
    /// VIR_DOMAIN_EVENT_STARTED_MIGRATED
    pub const STARTED_MIGRATED: i32 = 1;
    /// VIR_DOMAIN_EVENT_STARTED_RESTORED
    pub const STARTED_RESTORED: i32 = 2;
    /// VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT
    pub const STARTED_FROM_SNAPSHOT: i32 = 3;
    /// VIR_DOMAIN_EVENT_STARTED_WAKEUP
    pub const STARTED_WAKEUP: i32 = 4;
    /// VIR_DOMAIN_EVENT_SUSPENDED_PAUSED
    pub const SUSPENDED_PAUSED: i32 = 0;
    /// VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED
    pub const SUSPENDED_MIGRATED: i32 = 1;
    /// VIR_DOMAIN_EVENT_SUSPENDED_IOERROR
    pub const SUSPENDED_IOERROR: i32 = 2;
    /// VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG
    pub const SUSPENDED_WATCHDOG: i32 = 3;
    /// VIR_DOMAIN_EVENT_SUSPENDED_RESTORED
    pub const SUSPENDED_RESTORED: i32 = 4;
    /// VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT
    pub const SUSPENDED_FROM_SNAPSHOT: i32 = 5;
    /// VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR
    pub const SUSPENDED_API_ERROR: i32 = 6;
    /// VIR_DOMAIN_EVENT_RESUMED_UNPAUSED
    pub const RESUMED_UNPAUSED: i32 = 0;
    /// VIR_DOMAIN_EVENT_RESUMED_MIGRATED
    pub const RESUMED_MIGRATED: i32 = 1;
    /// VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT
    pub const RESUMED_FROM_SNAPSHOT: i32 = 2;
    /// VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN
    pub const STOPPED_SHUTDOWN: i32 = 0;
    /// VIR_DOMAIN_EVENT_STOPPED_DESTROYED
    pub const STOPPED_DESTROYED: i32 = 1;
    /// VIR_DOMAIN_EVENT_STOPPED_CRASHED
    pub const STOPPED_CRASHED: i32 = 2;
    /// VIR_DOMAIN_EVENT_STOPPED_MIGRATED
    pub const STOPPED_MIGRATED: i32 = 3;
    /// VIR_DOMAIN_EVENT_STOPPED_SAVED
    pub const STOPPED_SAVED: i32 = 4;
    /// VIR_DOMAIN_EVENT_STOPPED_FAILED
    pub const STOPPED_FAILED: i32 = 5;
    /// VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT
    pub const STOPPED_FROM_SNAPSHOT: i32 = 6;
    /// VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED
    pub const SHUTDOWN_FINISHED: i32 = 0;
    /// VIR_DOMAIN_EVENT_SHUTDOWN_GUEST
    pub const SHUTDOWN_GUEST: i32 = 1;
    /// VIR_DOMAIN_EVENT_SHUTDOWN_HOST
    pub const SHUTDOWN_HOST: i32 = 2;
}

/// Lifecycle codes of networks, pools, node devices and secrets
/// (`virNetworkEventLifecycleType` and friends).
pub mod object_lifecycle {
    /// DEFINED
    pub const DEFINED: i32 = 0;
    /// UNDEFINED
    pub const UNDEFINED: i32 = 1;
    /// STARTED (networks, pools) / CREATED (node devices)
    pub const STARTED: i32 = 2;
    /// STOPPED (networks, pools) / DELETED (node devices)
    pub const STOPPED: i32 = 3;
    /// VIR_STORAGE_POOL_EVENT_CREATED
    pub const POOL_CREATED: i32 = 4;
    /// VIR_STORAGE_POOL_EVENT_DELETED
    pub const POOL_DELETED: i32 = 5;
}

/// What happened to a domain.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEventData {
    /// VIR_DOMAIN_EVENT_ID_LIFECYCLE: (type, detail) from [`lifecycle`].
    Lifecycle {
        /// `virDomainEventType`.
        event: i32,
        /// Detail code of that type.
        detail: i32,
    },
    /// VIR_DOMAIN_EVENT_ID_REBOOT.
    Reboot,
    /// VIR_DOMAIN_EVENT_ID_METADATA_CHANGE: the title, description or an element
    /// (`virDomainMetadataType`) changed.
    MetadataChange {
        /// `virDomainMetadataType`.
        typ: i32,
        /// The element's namespace URI (element changes only).
        nsuri: Option<String>,
    },
    /// VIR_DOMAIN_EVENT_ID_DEVICE_ADDED: a device (by alias) was hot-plugged.
    DeviceAdded {
        /// The device's alias (`virtio-disk1`, `net1`, ...).
        alias: String,
    },
    /// VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED: the guest released a device (by alias).
    DeviceRemoved {
        /// The device's alias.
        alias: String,
    },
    // PM, balloon and tunable events.
    /// VIR_DOMAIN_EVENT_ID_PMWAKEUP: the guest woke up (`reason` is always 0 in 9.0).
    PmWakeup {
        /// Reason (unused by libvirt 9.0: 0).
        reason: i32,
    },
    /// VIR_DOMAIN_EVENT_ID_PMSUSPEND: the guest suspended to memory.
    PmSuspend {
        /// Reason (unused by libvirt 9.0: 0).
        reason: i32,
    },
    /// VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK: the guest suspended to disk.
    PmSuspendDisk {
        /// Reason (unused by libvirt 9.0: 0).
        reason: i32,
    },
    /// VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE: the balloon's current size changed.
    BalloonChange {
        /// The guest's memory, KiB.
        actual: u64,
    },
    /// VIR_DOMAIN_EVENT_ID_TUNABLE: tunables changed (`cputune.*`, `blkdeviotune.*`).
    Tunable {
        /// The changed tunables with their new values.
        params: Vec<crate::typedparam::TypedParam>,
    },
}

impl DomainEventData {
    /// The `virDomainEventID` this data belongs to.
    pub fn event_id(&self) -> i32 {
        match self {
            DomainEventData::Lifecycle { .. } => domain_event_id::LIFECYCLE,
            DomainEventData::Reboot => domain_event_id::REBOOT,
            DomainEventData::MetadataChange { .. } => domain_event_id::METADATA_CHANGE,
            DomainEventData::DeviceAdded { .. } => domain_event_id::DEVICE_ADDED,
            DomainEventData::DeviceRemoved { .. } => domain_event_id::DEVICE_REMOVED,
            DomainEventData::PmWakeup { .. } => domain_event_id::PMWAKEUP,
            DomainEventData::PmSuspend { .. } => domain_event_id::PMSUSPEND,
            DomainEventData::PmSuspendDisk { .. } => domain_event_id::PMSUSPEND_DISK,
            DomainEventData::BalloonChange { .. } => domain_event_id::BALLOON_CHANGE,
            DomainEventData::Tunable { .. } => domain_event_id::TUNABLE,
        }
    }
}

/// An event raised by a driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A domain event.
    Domain {
        /// The domain.
        dom: DomainRef,
        /// What happened.
        data: DomainEventData,
    },
    /// Network lifecycle (event id 0).
    Network {
        /// The network.
        net: NetworkRef,
        /// [`object_lifecycle`] code.
        event: i32,
        /// Detail (always 0 in libvirt 9.0).
        detail: i32,
    },
    /// Storage pool lifecycle (id 0) or refresh (id 1, event/detail 0).
    StoragePool {
        /// The pool.
        pool: StoragePoolRef,
        /// Event id: 0 lifecycle, 1 refresh.
        event_id: i32,
        /// [`object_lifecycle`] code.
        event: i32,
        /// Detail.
        detail: i32,
    },
    /// Node device lifecycle (id 0) or update (id 1).
    NodeDevice {
        /// The device.
        dev: NodeDeviceRef,
        /// Event id.
        event_id: i32,
        /// Code: 0 created, 1 deleted, 2 defined, 3 undefined.
        event: i32,
        /// Detail.
        detail: i32,
    },
    /// Secret lifecycle (id 0) or value changed (id 1).
    Secret {
        /// The secret.
        secret: SecretRef,
        /// Event id.
        event_id: i32,
        /// Code: 0 defined, 1 undefined.
        event: i32,
        /// Detail.
        detail: i32,
    },
}

/// Which kind of object a registration listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventClass {
    /// Domains.
    Domain,
    /// Networks.
    Network,
    /// Storage pools.
    StoragePool,
    /// Node devices.
    NodeDevice,
    /// Secrets.
    Secret,
}

impl Event {
    fn class_id_key(&self) -> (EventClass, i32, Vec<u8>) {
        match self {
            Event::Domain { dom, data } => (EventClass::Domain, data.event_id(), dom.uuid.to_vec()),
            Event::Network { net, .. } => (EventClass::Network, 0, net.uuid.to_vec()),
            Event::StoragePool { pool, event_id, .. } => (EventClass::StoragePool, *event_id, pool.uuid.to_vec()),
            Event::NodeDevice { dev, event_id, .. } => (EventClass::NodeDevice, *event_id, dev.name.as_bytes().to_vec()),
            Event::Secret { secret, event_id, .. } => (EventClass::Secret, *event_id, secret.uuid.to_vec()),
        }
    }
}

/// A registered callback.
pub type EventCallback = Arc<dyn Fn(&Event) + Send + Sync>;

struct Registration {
    id: i32,
    class: EventClass,
    event_id: i32,
    /// UUID bytes (domain, network, pool, secret) or name bytes (node device).
    filter: Option<Vec<u8>>,
    cb: EventCallback,
}

#[derive(Default)]
struct BusState {
    next_id: i32,
    regs: Vec<Registration>,
}

enum Msg {
    Event(Event),
    Flush(mpsc::Sender<()>),
}

/// Per-driver event dispatcher. Cheap to clone; all clones share registrations.
#[derive(Clone)]
pub struct EventBus {
    state: Arc<Mutex<BusState>>,
    tx: Arc<Mutex<Option<mpsc::Sender<Msg>>>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with no registrations; its dispatch thread starts on first registration.
    pub fn new() -> Self {
        EventBus { state: Arc::new(Mutex::new(BusState { next_id: 1, regs: Vec::new() })), tx: Arc::new(Mutex::new(None)) }
    }

    /// Register `cb` for `event_id` of `class`, optionally only for one object.
    /// Returns the callback id (> 0) used to deregister.
    pub fn register(&self, class: EventClass, event_id: i32, filter: Option<Vec<u8>>, cb: EventCallback) -> i32 {
        let id = {
            let mut st = lock(&self.state);
            let id = st.next_id;
            st.next_id += 1;
            st.regs.push(Registration { id, class, event_id, filter, cb });
            id
        };
        self.ensure_thread();
        id
    }

    /// Remove a registration; `VIR_ERR_INVALID_ARG` when the id is unknown.
    pub fn deregister(&self, id: i32) -> Result<()> {
        let mut st = lock(&self.state);
        let before = st.regs.len();
        st.regs.retain(|r| r.id != id);
        if st.regs.len() == before {
            return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("could not find event callback {id} for deletion")));
        }
        Ok(())
    }

    /// Number of registrations (for tests and the daemon's bookkeeping).
    pub fn len(&self) -> usize {
        lock(&self.state).regs.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queue an event for delivery. Never blocks on callbacks.
    pub fn emit(&self, ev: Event) {
        if lock(&self.state).regs.is_empty() {
            return;
        }
        if let Some(tx) = lock(&self.tx).as_ref() {
            let _ = tx.send(Msg::Event(ev));
        }
    }

    /// Wait until every event emitted before this call has been delivered.
    pub fn flush(&self) {
        let (ftx, frx) = mpsc::channel();
        let sent = lock(&self.tx).as_ref().map(|tx| tx.send(Msg::Flush(ftx)).is_ok()).unwrap_or(false);
        if sent {
            let _ = frx.recv();
        }
    }

    fn ensure_thread(&self) {
        let mut tx = lock(&self.tx);
        if tx.is_some() {
            return;
        }
        let (stx, srx) = mpsc::channel::<Msg>();
        let state = Arc::downgrade(&self.state);
        let spawned = std::thread::Builder::new().name("oxvirt-events".into()).spawn(move || {
            while let Ok(msg) = srx.recv() {
                match msg {
                    Msg::Flush(done) => {
                        let _ = done.send(());
                    }
                    Msg::Event(ev) => {
                        let Some(state) = state.upgrade() else { break };
                        let (class, event_id, key) = ev.class_id_key();
                        let cbs: Vec<EventCallback> = lock(&state)
                            .regs
                            .iter()
                            .filter(|r| r.class == class && r.event_id == event_id && r.filter.as_ref().is_none_or(|f| *f == key))
                            .map(|r| r.cb.clone())
                            .collect();
                        drop(state);
                        for cb in cbs {
                            // A panicking callback must not take the dispatcher down.
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&ev)));
                        }
                    }
                }
            }
        });
        if spawned.is_ok() {
            *tx = Some(stx);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn delivers_in_order_with_filter() {
        let bus = EventBus::new();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let id = bus.register(
            EventClass::Domain,
            domain_event_id::LIFECYCLE,
            Some(vec![1; 16]),
            Arc::new(move |e| g.lock().unwrap().push(e.clone())),
        );
        let dom = |u: u8| DomainRef { name: "d".into(), uuid: [u; 16], id: 1 };
        for i in 0..100 {
            bus.emit(Event::Domain { dom: dom(1), data: DomainEventData::Lifecycle { event: i, detail: 0 } });
            bus.emit(Event::Domain { dom: dom(2), data: DomainEventData::Lifecycle { event: i, detail: 0 } });
        }
        bus.flush();
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 100);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, e)| matches!(e, Event::Domain { data: DomainEventData::Lifecycle { event, .. }, .. } if *event == i as i32)));
        bus.deregister(id).unwrap();
        assert_eq!(bus.deregister(id).unwrap_err().code, ErrorCode::InvalidArg);
    }
}
