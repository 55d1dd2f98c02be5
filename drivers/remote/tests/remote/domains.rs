//! Domains through libvirtd's test driver.

#![allow(clippy::unwrap_used)]

use crate::daemon::Daemon;
use oxvirt::{DomainState, ListDomainsFlags};

#[test]
fn open_and_list_all() {
    let d = Daemon::start();
    let c = d.open();
    assert_eq!(c.get_type().unwrap(), "TEST");
    let doms = c.list_all_domains(ListDomainsFlags::empty()).unwrap();
    let names: Vec<&str> = doms.iter().map(|d| d.name()).collect();
    assert_eq!(names, ["test"]);
    assert_eq!(doms[0].id(), Some(1));
    assert_eq!(doms[0].state().unwrap(), (DomainState::Running, 0));
    assert!(c.is_alive());
}
