//! Lifecycle events from libvirtd reach local callbacks.

#![allow(clippy::unwrap_used)]

use crate::daemon::Daemon;
use oxvirt::event::{domain_event_id, lifecycle};
use oxvirt::*;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn lifecycle_events_via_suspend_resume() {
    let d = Daemon::start();
    let c = d.open();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let id = c
        .domain_event_register_any(None, domain_event_id::LIFECYCLE, move |dom, data| {
            let _ = tx.lock().unwrap().send((dom.name().to_string(), data.clone()));
        })
        .unwrap();
    let dom = c.domain_lookup_by_name("test").unwrap();
    // A second, filtered registration shares the server-side one.
    let (tx2, rx2) = mpsc::channel();
    let tx2 = std::sync::Mutex::new(tx2);
    let id2 = c
        .domain_event_register_any(Some(&dom), domain_event_id::LIFECYCLE, move |_, data| {
            let _ = tx2.lock().unwrap().send(data.clone());
        })
        .unwrap();
    dom.suspend().unwrap();
    dom.resume().unwrap();
    let t = Duration::from_secs(10);
    let got: Vec<_> = (0..2).map(|_| rx.recv_timeout(t).unwrap()).collect();
    assert_eq!(
        got,
        [
            ("test".to_string(), DomainEventData::Lifecycle { event: lifecycle::SUSPENDED, detail: lifecycle::SUSPENDED_PAUSED }),
            ("test".to_string(), DomainEventData::Lifecycle { event: lifecycle::RESUMED, detail: lifecycle::RESUMED_UNPAUSED }),
        ]
    );
    assert_eq!(rx2.recv_timeout(t).unwrap(), DomainEventData::Lifecycle { event: 3, detail: 0 });
    assert_eq!(rx2.recv_timeout(t).unwrap(), DomainEventData::Lifecycle { event: 4, detail: 0 });
    c.event_deregister(id2).unwrap();
    c.event_deregister(id).unwrap();
    dom.suspend().unwrap();
    dom.resume().unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn network_events() {
    let d = Daemon::start();
    let c = d.open();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    c.event_register_raw(EventClass::Network, 0, None, move |ev| {
        let _ = tx.lock().unwrap().send(ev.clone());
    })
    .unwrap();
    let n = c.network_lookup_by_name("default").unwrap();
    n.destroy().unwrap();
    match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
        Event::Network { net, event, .. } => assert_eq!((net.name.as_str(), event), ("default", 3)),
        other => panic!("{other:?}"),
    }
}
