//! Events over the wire. Each (class, event id) the application listens to is
//! registered once with the server, without an object filter; the server's event
//! messages are decoded by procedure number and emitted on the connection's
//! [`EventBus`], which filters per object and delivers to the local callbacks — as
//! libvirt's client does with its local event state.

use crate::conv;
use crate::RemoteConn;
use oxvirt::driver::no_support;
use oxvirt::event::{DomainEventData, Event, EventCallback, EventClass};
use oxvirt::{EventBus, Result};
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::{Decode, Packet};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct Regs {
    /// (class, event id) → (server callback id, local registrations).
    server: HashMap<(EventClass, i32), (i32, usize)>,
    /// Local callback id → (class, event id).
    local: HashMap<i32, (EventClass, i32)>,
}

/// Event bookkeeping of one connection.
pub struct EventState {
    bus: EventBus,
    regs: Mutex<Regs>,
    legacy_server: AtomicBool,
}

fn decode<T: Decode>(p: &Packet) -> Option<T> {
    p.body_lenient::<T>().ok()
}

impl EventState {
    /// Bookkeeping delivering on `bus`.
    pub fn new(bus: EventBus) -> Self {
        EventState { bus, regs: Mutex::new(Regs::default()), legacy_server: AtomicBool::new(false) }
    }

    /// The server lacks `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`.
    pub fn set_legacy_server(&self) {
        self.legacy_server.store(true, Ordering::Relaxed);
    }

    fn regs(&self) -> std::sync::MutexGuard<'_, Regs> {
        self.regs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Decode an event MESSAGE and emit it. Unknown or undecodable events are dropped
    /// (libvirt's client logs and ignores them too).
    pub fn dispatch(&self, p: &Packet) {
        if p.header.prog != oxvirt_rpc::REMOTE_PROGRAM {
            return;
        }
        let Some(procedure) = RemoteProcedure::from_number(p.header.procedure) else { return };
        use RemoteProcedure as P;
        let ev = match procedure {
            P::DomainEventCallbackLifecycle => decode::<RemoteDomainEventCallbackLifecycleMsg>(p).map(|m| Event::Domain {
                dom: conv::dom_ref(m.msg.dom),
                data: DomainEventData::Lifecycle { event: m.msg.event, detail: m.msg.detail },
            }),
            P::DomainEventCallbackReboot => decode::<RemoteDomainEventCallbackRebootMsg>(p)
                .map(|m| Event::Domain { dom: conv::dom_ref(m.msg.dom), data: DomainEventData::Reboot }),
            P::DomainEventCallbackMetadataChange => decode::<RemoteDomainEventCallbackMetadataChangeMsg>(p).map(|m| Event::Domain {
                dom: conv::dom_ref(m.dom),
                data: DomainEventData::MetadataChange { typ: m.r#type, nsuri: m.nsuri },
            }),
            P::DomainEventCallbackDeviceAdded => decode::<RemoteDomainEventCallbackDeviceAddedMsg>(p)
                .map(|m| Event::Domain { dom: conv::dom_ref(m.dom), data: DomainEventData::DeviceAdded { alias: m.dev_alias } }),
            P::DomainEventCallbackDeviceRemoved => decode::<RemoteDomainEventCallbackDeviceRemovedMsg>(p)
                .map(|m| Event::Domain { dom: conv::dom_ref(m.msg.dom), data: DomainEventData::DeviceRemoved { alias: m.msg.dev_alias } }),
            // PM, balloon and tunable events.
            P::DomainEventCallbackPmwakeup => decode::<RemoteDomainEventCallbackPmwakeupMsg>(p)
                .map(|m| Event::Domain { dom: conv::dom_ref(m.msg.dom), data: DomainEventData::PmWakeup { reason: m.reason } }),
            P::DomainEventCallbackPmsuspend => decode::<RemoteDomainEventCallbackPmsuspendMsg>(p)
                .map(|m| Event::Domain { dom: conv::dom_ref(m.msg.dom), data: DomainEventData::PmSuspend { reason: m.reason } }),
            P::DomainEventCallbackPmsuspendDisk => decode::<RemoteDomainEventCallbackPmsuspendDiskMsg>(p)
                .map(|m| Event::Domain { dom: conv::dom_ref(m.msg.dom), data: DomainEventData::PmSuspendDisk { reason: m.reason } }),
            P::DomainEventCallbackBalloonChange => decode::<RemoteDomainEventCallbackBalloonChangeMsg>(p)
                .map(|m| Event::Domain { dom: conv::dom_ref(m.msg.dom), data: DomainEventData::BalloonChange { actual: m.msg.actual } }),
            P::DomainEventCallbackTunable => decode::<RemoteDomainEventCallbackTunableMsg>(p).map(|m| Event::Domain {
                dom: conv::dom_ref(m.dom),
                data: DomainEventData::Tunable { params: crate::tune::from_wire(m.params) },
            }),
            P::DomainEventLifecycle => decode::<RemoteDomainEventLifecycleMsg>(p).map(|m| Event::Domain {
                dom: conv::dom_ref(m.dom),
                data: DomainEventData::Lifecycle { event: m.event, detail: m.detail },
            }),
            P::DomainEventReboot => {
                decode::<RemoteDomainEventRebootMsg>(p).map(|m| Event::Domain { dom: conv::dom_ref(m.dom), data: DomainEventData::Reboot })
            }
            P::NetworkEventLifecycle => decode::<RemoteNetworkEventLifecycleMsg>(p).map(|m| Event::Network {
                net: conv::net_ref(m.net),
                event: m.event,
                detail: m.detail,
            }),
            P::StoragePoolEventLifecycle => decode::<RemoteStoragePoolEventLifecycleMsg>(p).map(|m| Event::StoragePool {
                pool: conv::pool_ref(m.pool),
                event_id: 0,
                event: m.event,
                detail: m.detail,
            }),
            P::StoragePoolEventRefresh => decode::<RemoteStoragePoolEventRefreshMsg>(p).map(|m| Event::StoragePool {
                pool: conv::pool_ref(m.pool),
                event_id: 1,
                event: 0,
                detail: 0,
            }),
            P::NodeDeviceEventLifecycle => decode::<RemoteNodeDeviceEventLifecycleMsg>(p).map(|m| Event::NodeDevice {
                dev: conv::nodedev_ref(m.dev),
                event_id: 0,
                event: m.event,
                detail: m.detail,
            }),
            P::NodeDeviceEventUpdate => decode::<RemoteNodeDeviceEventUpdateMsg>(p).map(|m| Event::NodeDevice {
                dev: conv::nodedev_ref(m.dev),
                event_id: 1,
                event: 0,
                detail: 0,
            }),
            P::SecretEventLifecycle => decode::<RemoteSecretEventLifecycleMsg>(p).map(|m| Event::Secret {
                secret: conv::secret_ref(m.secret),
                event_id: 0,
                event: m.event,
                detail: m.detail,
            }),
            P::SecretEventValueChanged => decode::<RemoteSecretEventValueChangedMsg>(p).map(|m| Event::Secret {
                secret: conv::secret_ref(m.secret),
                event_id: 1,
                event: 0,
                detail: 0,
            }),
            _ => None,
        };
        if let Some(ev) = ev {
            self.bus.emit(ev);
        }
    }

    /// Wait until every event received so far has been delivered.
    pub fn flush(&self) {
        self.bus.flush();
    }
}

impl RemoteConn {
    fn server_register(&self, class: EventClass, event_id: i32) -> Result<i32> {
        use RemoteProcedure as P;
        if self.events.legacy_server.load(Ordering::Relaxed) {
            return Err(no_support("virConnectDomainEventRegisterAny"));
        }
        let id = match class {
            EventClass::Domain => {
                let args = RemoteConnectDomainEventCallbackRegisterAnyArgs { event_id, dom: None };
                self.call::<_, RemoteConnectDomainEventCallbackRegisterAnyRet>(P::ConnectDomainEventCallbackRegisterAny, &args)?.callback_id
            }
            EventClass::Network => {
                let args = RemoteConnectNetworkEventRegisterAnyArgs { event_id, net: None };
                self.call::<_, RemoteConnectNetworkEventRegisterAnyRet>(P::ConnectNetworkEventRegisterAny, &args)?.callback_id
            }
            EventClass::StoragePool => {
                let args = RemoteConnectStoragePoolEventRegisterAnyArgs { event_id, pool: None };
                self.call::<_, RemoteConnectStoragePoolEventRegisterAnyRet>(P::ConnectStoragePoolEventRegisterAny, &args)?.callback_id
            }
            EventClass::NodeDevice => {
                let args = RemoteConnectNodeDeviceEventRegisterAnyArgs { event_id, dev: None };
                self.call::<_, RemoteConnectNodeDeviceEventRegisterAnyRet>(P::ConnectNodeDeviceEventRegisterAny, &args)?.callback_id
            }
            EventClass::Secret => {
                let args = RemoteConnectSecretEventRegisterAnyArgs { event_id, secret: None };
                self.call::<_, RemoteConnectSecretEventRegisterAnyRet>(P::ConnectSecretEventRegisterAny, &args)?.callback_id
            }
        };
        Ok(id)
    }

    fn server_deregister(&self, class: EventClass, callback_id: i32) -> Result<()> {
        use RemoteProcedure as P;
        match class {
            EventClass::Domain => {
                self.call0(P::ConnectDomainEventCallbackDeregisterAny, &RemoteConnectDomainEventCallbackDeregisterAnyArgs { callback_id })
            }
            EventClass::Network => {
                self.call0(P::ConnectNetworkEventDeregisterAny, &RemoteConnectNetworkEventDeregisterAnyArgs { callback_id })
            }
            EventClass::StoragePool => {
                self.call0(P::ConnectStoragePoolEventDeregisterAny, &RemoteConnectStoragePoolEventDeregisterAnyArgs { callback_id })
            }
            EventClass::NodeDevice => {
                self.call0(P::ConnectNodeDeviceEventDeregisterAny, &RemoteConnectNodeDeviceEventDeregisterAnyArgs { callback_id })
            }
            EventClass::Secret => {
                self.call0(P::ConnectSecretEventDeregisterAny, &RemoteConnectSecretEventDeregisterAnyArgs { callback_id })
            }
        }
    }

    /// Register a local callback; the first one of its (class, id) registers with the
    /// server. The registration lock is held across the call so concurrent
    /// registrations of the same id cannot both reach the server.
    pub(crate) fn events_register(&self, class: EventClass, event_id: i32, filter: Option<Vec<u8>>, cb: EventCallback) -> Result<i32> {
        let mut regs = self.events.regs();
        let local = self.events.bus.register(class, event_id, filter, cb);
        let key = (class, event_id);
        if let Some(entry) = regs.server.get_mut(&key) {
            entry.1 += 1;
        } else {
            match self.server_register(class, event_id) {
                Ok(server_id) => {
                    regs.server.insert(key, (server_id, 1));
                }
                Err(e) => {
                    let _ = self.events.bus.deregister(local);
                    return Err(e);
                }
            }
        }
        regs.local.insert(local, key);
        Ok(local)
    }

    /// Deregister a local callback; the last one of its (class, id) deregisters with
    /// the server.
    pub(crate) fn events_deregister(&self, local: i32) -> Result<()> {
        let mut regs = self.events.regs();
        self.events.bus.deregister(local)?;
        let Some(key) = regs.local.remove(&local) else { return Ok(()) };
        let last = match regs.server.get_mut(&key) {
            Some(entry) => {
                entry.1 = entry.1.saturating_sub(1);
                entry.1 == 0
            }
            None => false,
        };
        if last {
            if let Some((server_id, _)) = regs.server.remove(&key) {
                if !self.closed.load(Ordering::SeqCst) {
                    self.server_deregister(key.0, server_id)?;
                }
            }
        }
        Ok(())
    }

    /// Flush pending event deliveries (for tests).
    pub fn flush_events(&self) {
        self.events.flush();
    }
}
