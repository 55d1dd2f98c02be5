//! Event registration procedures and event delivery (libvirtd's
//! `remoteDispatchConnect*Event*` and `remoteRelay*Event*`).
//!
//! Every registration gets a daemon-wide callbackID (from 0, like libvirtd) that the
//! client uses to find its local callbacks; the driver's own id stays inside the
//! [`Client`]. Events are encoded on the driver's event thread and queued on the
//! client's writer channel as MESSAGE packets (status OK, serial 1).

use crate::dispatch::conv;
use crate::dispatch::{args, ret, void, Reply};
use crate::server::{encode, Server};
use crate::session::{reply_packet, Client};
use oxvirt::event::domain_event_id;
use oxvirt::{DomainEventData, Error, ErrorCode, ErrorDomain, Event, EventClass};
use oxvirt_rpc::message::{Header, REMOTE_PROGRAM};
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::{Encode, Packet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

fn internal(msg: String) -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, msg)
}

fn event_packet<T: Encode>(procedure: RemoteProcedure, body: &T) -> Vec<u8> {
    match Packet::with_body(Header::event(REMOTE_PROGRAM, procedure as i32), body) {
        Ok(p) => encode(&p),
        Err(_) => Vec::new(),
    }
}

/// The message for a domain event sent to a modern (callback) registration.
fn domain_callback_msg(callback_id: i32, ev: &Event) -> Option<Vec<u8>> {
    let Event::Domain { dom, data } = ev else { return None };
    let dom = conv::wire_dom(dom);
    Some(match data {
        DomainEventData::Lifecycle { event, detail } => event_packet(
            RemoteProcedure::DomainEventCallbackLifecycle,
            &RemoteDomainEventCallbackLifecycleMsg {
                callback_id,
                msg: RemoteDomainEventLifecycleMsg { dom, event: *event, detail: *detail },
            },
        ),
        DomainEventData::Reboot => event_packet(
            RemoteProcedure::DomainEventCallbackReboot,
            &RemoteDomainEventCallbackRebootMsg { callback_id, msg: RemoteDomainEventRebootMsg { dom } },
        ),
        DomainEventData::MetadataChange { typ, nsuri } => event_packet(
            RemoteProcedure::DomainEventCallbackMetadataChange,
            &RemoteDomainEventCallbackMetadataChangeMsg { callback_id, dom, r#type: *typ, nsuri: nsuri.clone() },
        ),
        DomainEventData::DeviceAdded { alias } => event_packet(
            RemoteProcedure::DomainEventCallbackDeviceAdded,
            &RemoteDomainEventCallbackDeviceAddedMsg { callback_id, dom, dev_alias: alias.clone() },
        ),
        DomainEventData::DeviceRemoved { alias } => event_packet(
            RemoteProcedure::DomainEventCallbackDeviceRemoved,
            &RemoteDomainEventCallbackDeviceRemovedMsg {
                callback_id,
                msg: RemoteDomainEventDeviceRemovedMsg { dom, dev_alias: alias.clone() },
            },
        ),
        // PM, balloon and tunable events.
        DomainEventData::PmWakeup { reason } => event_packet(
            RemoteProcedure::DomainEventCallbackPmwakeup,
            &RemoteDomainEventCallbackPmwakeupMsg { callback_id, reason: *reason, msg: RemoteDomainEventPmwakeupMsg { dom } },
        ),
        DomainEventData::PmSuspend { reason } => event_packet(
            RemoteProcedure::DomainEventCallbackPmsuspend,
            &RemoteDomainEventCallbackPmsuspendMsg { callback_id, reason: *reason, msg: RemoteDomainEventPmsuspendMsg { dom } },
        ),
        DomainEventData::PmSuspendDisk { reason } => event_packet(
            RemoteProcedure::DomainEventCallbackPmsuspendDisk,
            &RemoteDomainEventCallbackPmsuspendDiskMsg { callback_id, reason: *reason, msg: RemoteDomainEventPmsuspendDiskMsg { dom } },
        ),
        DomainEventData::BalloonChange { actual } => event_packet(
            RemoteProcedure::DomainEventCallbackBalloonChange,
            &RemoteDomainEventCallbackBalloonChangeMsg { callback_id, msg: RemoteDomainEventBalloonChangeMsg { dom, actual: *actual } },
        ),
        DomainEventData::Tunable { params } => event_packet(
            RemoteProcedure::DomainEventCallbackTunable,
            &RemoteDomainEventCallbackTunableMsg { callback_id, dom, params: params.iter().cloned().map(conv::wire_param).collect() },
        ),
    })
}

/// The message for a domain event sent to a legacy registration (no callbackID).
fn domain_legacy_msg(ev: &Event) -> Option<Vec<u8>> {
    let Event::Domain { dom, data } = ev else { return None };
    let dom = conv::wire_dom(dom);
    Some(match data {
        DomainEventData::Lifecycle { event, detail } => {
            event_packet(RemoteProcedure::DomainEventLifecycle, &RemoteDomainEventLifecycleMsg { dom, event: *event, detail: *detail })
        }
        DomainEventData::Reboot => event_packet(RemoteProcedure::DomainEventReboot, &RemoteDomainEventRebootMsg { dom }),
        // Events newer than the callback protocol have no legacy message.
        DomainEventData::MetadataChange { .. } => return None,
        DomainEventData::DeviceAdded { .. } | DomainEventData::DeviceRemoved { .. } => return None,
        // the legacy messages of the PM and balloon events (no tunable one).
        DomainEventData::PmWakeup { .. } => event_packet(RemoteProcedure::DomainEventPmwakeup, &RemoteDomainEventPmwakeupMsg { dom }),
        DomainEventData::PmSuspend { .. } => event_packet(RemoteProcedure::DomainEventPmsuspend, &RemoteDomainEventPmsuspendMsg { dom }),
        DomainEventData::PmSuspendDisk { .. } => {
            event_packet(RemoteProcedure::DomainEventPmsuspendDisk, &RemoteDomainEventPmsuspendDiskMsg { dom })
        }
        DomainEventData::BalloonChange { actual } => {
            event_packet(RemoteProcedure::DomainEventBalloonChange, &RemoteDomainEventBalloonChangeMsg { dom, actual: *actual })
        }
        DomainEventData::Tunable { .. } => return None,
    })
}

/// The message for a network, pool, node device or secret event.
fn object_msg(callback_id: i32, ev: &Event) -> Option<Vec<u8>> {
    Some(match ev {
        Event::Domain { .. } => return None,
        Event::Network { net, event, detail } => event_packet(
            RemoteProcedure::NetworkEventLifecycle,
            &RemoteNetworkEventLifecycleMsg { callback_id, net: conv::wire_net(net), event: *event, detail: *detail },
        ),
        Event::StoragePool { pool, event_id: 0, event, detail } => event_packet(
            RemoteProcedure::StoragePoolEventLifecycle,
            &RemoteStoragePoolEventLifecycleMsg { callback_id, pool: conv::wire_pool(pool), event: *event, detail: *detail },
        ),
        Event::StoragePool { pool, .. } => event_packet(
            RemoteProcedure::StoragePoolEventRefresh,
            &RemoteStoragePoolEventRefreshMsg { callback_id, pool: conv::wire_pool(pool) },
        ),
        Event::NodeDevice { dev, event_id: 0, event, detail } => event_packet(
            RemoteProcedure::NodeDeviceEventLifecycle,
            &RemoteNodeDeviceEventLifecycleMsg { callback_id, dev: conv::wire_nodedev(dev), event: *event, detail: *detail },
        ),
        Event::NodeDevice { dev, .. } => event_packet(
            RemoteProcedure::NodeDeviceEventUpdate,
            &RemoteNodeDeviceEventUpdateMsg { callback_id, dev: conv::wire_nodedev(dev) },
        ),
        Event::Secret { secret, event_id: 0, event, detail } => event_packet(
            RemoteProcedure::SecretEventLifecycle,
            &RemoteSecretEventLifecycleMsg { callback_id, secret: conv::wire_secret(secret), event: *event, detail: *detail },
        ),
        Event::Secret { secret, .. } => event_packet(
            RemoteProcedure::SecretEventValueChanged,
            &RemoteSecretEventValueChangedMsg { callback_id, secret: conv::wire_secret(secret) },
        ),
    })
}

/// A modern registration: `class`/`event_id`/`filter` → a new callbackID, answered
/// before any event for it can be queued.
fn register(server: &Server, client: &Arc<Client>, p: &Packet, class: EventClass, event_id: i32, filter: Option<Vec<u8>>) -> Option<Reply> {
    let conn = match client.conn() {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    let callback_id = server.next_callback_id.fetch_add(1, Ordering::SeqCst);
    let weak: Weak<Client> = Arc::downgrade(client);
    let gate = client.gate();
    let registered = conn.event_register_raw(class, event_id, filter, move |ev| {
        let msg = if class == EventClass::Domain { domain_callback_msg(callback_id, ev) } else { object_msg(callback_id, ev) };
        if let (Some(c), Some(bytes)) = (weak.upgrade(), msg) {
            c.send_event(bytes);
        }
    });
    let reply = match registered {
        Ok(api_id) => {
            client.callbacks.lock().unwrap_or_else(|p| p.into_inner()).insert(callback_id, api_id);
            // Every *_register_any_ret is `{ int callbackID }`.
            ret(&RemoteConnectDomainEventCallbackRegisterAnyRet { callback_id })
        }
        Err(e) => Err(e),
    };
    client.send(reply_packet(p, reply));
    drop(gate);
    None
}

fn deregister(client: &Client, callback_id: i32, what: &str) -> Reply {
    let conn = client.conn()?;
    let api = client.callbacks.lock().unwrap_or_else(|p| p.into_inner()).remove(&callback_id);
    let Some(api) = api else { return Err(internal(format!("{what} event callback {callback_id} not registered"))) };
    conn.event_deregister(api)?;
    void()
}

fn register_legacy(client: &Arc<Client>, event_id: i32) -> Reply {
    let conn = client.conn()?;
    if !(0..=domain_event_id::DEVICE_REMOVED).contains(&event_id) {
        return Err(internal(format!("unsupported event ID {event_id}")));
    }
    let weak: Weak<Client> = Arc::downgrade(client);
    let _gate = client.gate();
    let api = conn.event_register_raw(EventClass::Domain, event_id, None, move |ev| {
        if let (Some(c), Some(bytes)) = (weak.upgrade(), domain_legacy_msg(ev)) {
            c.send_event(bytes);
        }
    })?;
    client.legacy.lock().unwrap_or_else(|p| p.into_inner()).push((event_id, api));
    void()
}

fn deregister_legacy(client: &Client, event_id: i32) -> Reply {
    let conn = client.conn()?;
    let api = {
        let mut legacy = client.legacy.lock().unwrap_or_else(|p| p.into_inner());
        let pos = legacy.iter().position(|(e, _)| *e == event_id);
        pos.map(|i| legacy.remove(i).1)
    };
    let Some(api) = api else { return Err(internal(format!("domain event {event_id} not registered"))) };
    conn.event_deregister(api)?;
    void()
}

fn check_id(event_id: i32, last: i32, what: &str) -> Result<(), Error> {
    if (0..last).contains(&event_id) {
        Ok(())
    } else {
        Err(internal(format!("unsupported {what}event ID {event_id}")))
    }
}

/// Serve an event (de)registration procedure. `None`: the reply was already sent.
pub fn call(server: &Server, client: &Arc<Client>, proc: RemoteProcedure, p: &Packet) -> Option<Reply> {
    use RemoteProcedure as P;
    let payload = &p.payload;
    macro_rules! try_args {
        ($t:ty) => {
            match args::<$t>(payload) {
                Ok(a) => a,
                Err(e) => return Some(Err(e)),
            }
        };
    }
    macro_rules! try_ok {
        ($e:expr) => {
            if let Err(e) = $e {
                return Some(Err(e));
            }
        };
    }
    Some(match proc {
        P::ConnectDomainEventCallbackRegisterAny => {
            let a = try_args!(RemoteConnectDomainEventCallbackRegisterAnyArgs);
            try_ok!(client.conn());
            try_ok!(check_id(a.event_id, domain_event_id::LAST, ""));
            return register(server, client, p, EventClass::Domain, a.event_id, a.dom.map(|d| d.uuid.to_vec()));
        }
        P::ConnectDomainEventCallbackDeregisterAny => {
            let a = try_args!(RemoteConnectDomainEventCallbackDeregisterAnyArgs);
            deregister(client, a.callback_id, "domain")
        }
        P::ConnectNetworkEventRegisterAny => {
            let a = try_args!(RemoteConnectNetworkEventRegisterAnyArgs);
            try_ok!(client.conn());
            try_ok!(check_id(a.event_id, 1, "network "));
            return register(server, client, p, EventClass::Network, a.event_id, a.net.map(|n| n.uuid.to_vec()));
        }
        P::ConnectNetworkEventDeregisterAny => {
            let a = try_args!(RemoteConnectNetworkEventDeregisterAnyArgs);
            deregister(client, a.callback_id, "network")
        }
        P::ConnectStoragePoolEventRegisterAny => {
            let a = try_args!(RemoteConnectStoragePoolEventRegisterAnyArgs);
            try_ok!(client.conn());
            try_ok!(check_id(a.event_id, 2, "storage pool "));
            return register(server, client, p, EventClass::StoragePool, a.event_id, a.pool.map(|n| n.uuid.to_vec()));
        }
        P::ConnectStoragePoolEventDeregisterAny => {
            let a = try_args!(RemoteConnectStoragePoolEventDeregisterAnyArgs);
            deregister(client, a.callback_id, "storage pool")
        }
        P::ConnectNodeDeviceEventRegisterAny => {
            let a = try_args!(RemoteConnectNodeDeviceEventRegisterAnyArgs);
            try_ok!(client.conn());
            try_ok!(check_id(a.event_id, 2, "node device "));
            return register(server, client, p, EventClass::NodeDevice, a.event_id, a.dev.map(|d| d.name.into_bytes()));
        }
        P::ConnectNodeDeviceEventDeregisterAny => {
            let a = try_args!(RemoteConnectNodeDeviceEventDeregisterAnyArgs);
            deregister(client, a.callback_id, "node device")
        }
        P::ConnectSecretEventRegisterAny => {
            let a = try_args!(RemoteConnectSecretEventRegisterAnyArgs);
            try_ok!(client.conn());
            try_ok!(check_id(a.event_id, 2, "secret "));
            return register(server, client, p, EventClass::Secret, a.event_id, a.secret.map(|s| s.uuid.to_vec()));
        }
        P::ConnectSecretEventDeregisterAny => {
            let a = try_args!(RemoteConnectSecretEventDeregisterAnyArgs);
            // libvirt 9.0 says "node device" here too.
            deregister(client, a.callback_id, "node device")
        }
        P::ConnectDomainEventRegisterAny => {
            let a = try_args!(RemoteConnectDomainEventRegisterAnyArgs);
            register_legacy(client, a.event_id)
        }
        P::ConnectDomainEventDeregisterAny => {
            let a = try_args!(RemoteConnectDomainEventDeregisterAnyArgs);
            deregister_legacy(client, a.event_id)
        }
        P::ConnectDomainEventRegister => {
            register_legacy(client, domain_event_id::LIFECYCLE).and_then(|_| ret(&RemoteConnectDomainEventRegisterRet { cb_registered: 1 }))
        }
        P::ConnectDomainEventDeregister => deregister_legacy(client, domain_event_id::LIFECYCLE)
            .and_then(|_| ret(&RemoteConnectDomainEventDeregisterRet { cb_registered: 1 })),
        _ => return None,
    })
}
