//! `oxvirt-driver-test`: libvirt's `test:///` driver — a complete in-memory
//! hypervisor with libvirt's semantics, used to exercise clients without a real host.
//!
//! `test:///default` opens a state shared by every connection of the process that
//! starts with libvirt's default objects (running domain `test`, network `default`,
//! pool `default-pool`, interface `eth1`, a few node devices) and is discarded when
//! its last connection closes. `test:///ABS/PATH.xml` loads a `<node>` description
//! file in libvirt's format into a state private to that connection.
//!
//! Layer: driver. May depend only on `oxvirt` (the public API and driver traits),
//! `oxvirt-conf` and `oxvirt-util` — never on another driver.

mod caps;
mod conn;
mod domain;
mod domlist;
mod iface;
mod network;
mod nodedev;
mod nodefile;
mod nwfilter;
mod secret;
mod snapshot;
mod state;
mod stats;
mod storage;
mod tune;
mod volstream;

use oxvirt::driver::{ConnectDriver, ConnectDrivers, Probe};
use oxvirt::uri::Uri;
use oxvirt::{Error, ErrorCode, ErrorDomain, OpenFlags, Result};
use std::sync::{Arc, Mutex, Weak};

pub use conn::TestConn;

/// The `test` connection driver (libvirt's `testConnectDriver`).
#[derive(Debug, Default, Clone, Copy)]
pub struct TestConnectDriver;

/// The shared `test:///default` state while at least one connection uses it.
static DEFAULT_STATE: Mutex<Weak<state::Driver>> = Mutex::new(Weak::new());

impl ConnectDriver for TestConnectDriver {
    fn name(&self) -> &'static str {
        "test"
    }

    fn probe(&self, uri: &Uri) -> Probe {
        if uri.driver == "test" && uri.is_local() {
            Probe::Accept
        } else {
            Probe::Decline
        }
    }

    fn open(&self, uri: &Uri, flags: u32) -> Result<ConnectDrivers> {
        // libvirt's test driver registers no secret or nwfilter driver, so on test:///
        // those families fail with VIR_ERR_NO_SUPPORT, as with virsh.
        open_drivers(uri, flags, false)
    }
}

fn open_drivers(uri: &Uri, flags: u32, with_secret_nwfilter: bool) -> Result<ConnectDrivers> {
    oxvirt::driver::check_flags(flags, OpenFlags::READ_ONLY.bits(), "testConnectOpen", ErrorDomain::Test)?;
    let path = uri.path.as_str();
    if path.is_empty() || path == "/" {
        return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Test, "testOpen: supply a path or use test:///default"));
    }
    let drv = if path == "/default" { open_default()? } else { Arc::new(state::Driver::new(nodefile::load_file(path)?)) };
    let conn = Arc::new(TestConn::new(drv));
    let mut drivers = ConnectDrivers {
        hypervisor: conn.clone(),
        network: Some(conn.clone()),
        storage: Some(conn.clone()),
        secret: None,
        nwfilter: None,
        interface: Some(conn.clone()),
        nodedev: Some(conn.clone()),
    };
    if with_secret_nwfilter {
        drivers.secret = Some(conn.clone());
        drivers.nwfilter = Some(conn);
    }
    Ok(drivers)
}

/// Open a `test:///` URI with the test driver's secret and nwfilter drivers enabled as
/// well. libvirt's test driver has neither, so `Connect::open("test:///...")` leaves
/// them out to behave like virsh; embedders and the daemon's own tests that want an
/// in-memory secret store or filter list use this instead.
pub fn open_with_secrets_and_nwfilters(uri: &str, read_only: bool) -> Result<oxvirt::Connect> {
    let parsed = Uri::parse(uri)?;
    let flags = if read_only { OpenFlags::READ_ONLY.bits() } else { 0 };
    let drivers = open_drivers(&parsed, flags, true)?;
    Ok(oxvirt::Connect::from_drivers(parsed, read_only, drivers))
}

/// The default state: reuse the live one, or build a fresh one.
fn open_default() -> Result<Arc<state::Driver>> {
    let mut slot = DEFAULT_STATE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(drv) = slot.upgrade() {
        return Ok(drv);
    }
    let drv = Arc::new(state::Driver::new(nodefile::load_default()?));
    *slot = Arc::downgrade(&drv);
    Ok(drv)
}

/// Register the `test` driver with the public API's driver registry.
pub fn register() {
    oxvirt::driver::register(Arc::new(TestConnectDriver));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use oxvirt::{secret_usage, Connect};

    /// A connection whose secret and nwfilter slots use `TestConn`, as an embedder may.
    fn conn_with_all_drivers() -> Connect {
        let drv = Arc::new(state::Driver::new(nodefile::load_default().unwrap()));
        let c = Arc::new(TestConn::new(drv));
        let drivers = ConnectDrivers {
            hypervisor: c.clone(),
            network: None,
            storage: None,
            secret: Some(c.clone()),
            nwfilter: Some(c.clone()),
            interface: None,
            nodedev: None,
        };
        Connect::from_drivers(Uri::parse("test:///default").unwrap(), false, drivers)
    }

    #[test]
    fn secrets_and_nwfilters_through_test_conn() {
        let c = conn_with_all_drivers();
        let s = c
            .secret_define_xml("<secret ephemeral='no' private='no'><uuid>0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f</uuid><usage type='volume'><volume>/var/lib/a.img</volume></usage></secret>", 0)
            .unwrap();
        assert_eq!(s.value(0).unwrap_err().code, ErrorCode::NoSecret);
        s.set_value(b"s3cr3t", 0).unwrap();
        assert_eq!(s.value(0).unwrap(), b"s3cr3t");
        assert_eq!(c.secret_lookup_by_usage(secret_usage::VOLUME, "/var/lib/a.img").unwrap().uuid(), s.uuid());
        s.undefine().unwrap();
        assert_eq!(c.secret_lookup_by_uuid(&s.uuid()).err().map(|e| e.code), Some(ErrorCode::NoSecret));
        let f = c
            .nwfilter_define_xml(
                "<filter name='f1' chain='root'><rule action='accept' direction='out' priority='500'><all/></rule></filter>",
                0,
            )
            .unwrap();
        assert_eq!(c.nwfilter_lookup_by_name("f1").unwrap().uuid(), f.uuid());
        f.undefine().unwrap();
        assert_eq!(c.nwfilter_lookup_by_name("f1").err().map(|e| e.code), Some(ErrorCode::NoNwfilter));
    }
}
