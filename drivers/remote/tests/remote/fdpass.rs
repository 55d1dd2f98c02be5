//! fd passing and close callbacks of the remote driver against libvirtd 9.0: files
//! passed with `virDomainCreateXMLWithFiles` reach the daemon (whose test driver
//! ignores and closes them), `virDomainOpenGraphicsFD` comes back with the test
//! driver's error, and a close callback hears end of file when the daemon dies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::daemon::Daemon;
use oxvirt::{DomainCreateFlags, DomainOpenGraphicsFlags, ErrorCode};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

fn closed_by_peer(mut s: UnixStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Ok(0))
}

#[test]
fn files_cross_the_wire_and_are_closed() {
    let d = Daemon::start();
    let c = d.open();
    let (a, b) = UnixStream::pair().unwrap();
    let xml = "<domain type='test'><name>rfiles</name><memory>65536</memory><os><type>hvm</type></os></domain>";
    let dom = c.domain_create_xml_with_files(xml, vec![a.into()], DomainCreateFlags::empty()).unwrap();
    assert_eq!(dom.name(), "rfiles");
    assert!(dom.is_active().unwrap());
    assert!(closed_by_peer(b), "libvirtd did not get (and close) the descriptor");
    // Start the (running) default domain with files: the test driver's own error.
    let (a, b) = UnixStream::pair().unwrap();
    let e = c.domain_lookup_by_name("test").unwrap().create_with_files(vec![a.into()], DomainCreateFlags::empty()).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::InternalError, "internal error: Domain 'test' is already running"));
    assert!(closed_by_peer(b));
    // No graphics in the test driver.
    let e = dom.open_graphics_fd(0, DomainOpenGraphicsFlags::empty()).unwrap_err();
    assert_eq!(e.code, ErrorCode::NoSupport);
    assert_eq!(e.message, "this function is not supported by the connection driver: virDomainOpenGraphicsFD");
    let (a, _b) = UnixStream::pair().unwrap();
    let e = dom.open_graphics(0, a.into(), DomainOpenGraphicsFlags::empty()).unwrap_err();
    assert_eq!(e.message, "this function is not supported by the connection driver: virDomainOpenGraphics");
}

#[test]
fn close_callback_hears_the_daemon_go() {
    let mut d = Daemon::start();
    let c = d.open();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    c.register_close_callback(move |reason| {
        let _ = tx.lock().unwrap().send(reason);
    })
    .unwrap();
    let e = c.register_close_callback(|_| {}).unwrap_err();
    assert_eq!(e.message, "Requested operation is not valid: A close callback is already registered");
    c.unregister_close_callback().unwrap();
    let (tx, rx2) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    c.register_close_callback(move |reason| {
        let _ = tx.lock().unwrap().send(reason);
    })
    .unwrap();
    d.kill();
    // VIR_CONNECT_CLOSE_REASON_EOF, once; the unregistered callback is not called.
    assert_eq!(rx2.recv_timeout(Duration::from_secs(30)), Ok(1));
    assert!(rx.try_recv().is_err());
}
