//! Capabilities golden tests (`tests/data/capabilities`).

use crate::storage::{golden, read};
use oxvirt_conf::capabilities::CapsDef;

#[test]
fn test_driver_capabilities_round_trip() {
    let caps = CapsDef::parse(&read("capabilities", "test-driver.xml")).unwrap();
    assert_eq!(caps.host.cells.as_ref().map(Vec::len), Some(2));
    assert_eq!(caps.guests.len(), 2);
    golden("capabilities", "test-driver.xml", &caps.format());
}
