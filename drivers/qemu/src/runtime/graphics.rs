//! Graphics connections over passed descriptors (`virDomainOpenGraphics`,
//! `virDomainOpenGraphicsFD`), as libvirt's `qemuDomainOpenGraphics*`: the socket is
//! handed to QEMU over the monitor (`getfd` with the descriptor attached, name
//! `graphicsfd`), then `add_client` attaches it to the VNC (or SPICE) server; if that
//! fails, `closefd` drops it again. For `OpenGraphicsFD` the driver makes a
//! socketpair, gives QEMU one end and returns the other.

use super::domobj::Expect;
use super::Driver;
use oxvirt::types::DomainRef;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::DomainDef;
use serde_json::json;
use std::os::fd::{AsFd, OwnedFd};

const D: ErrorDomain = ErrorDomain::Qemu;
/// The name the descriptor gets inside QEMU (libvirt's).
const FDNAME: &str = "graphicsfd";

/// The `add_client` protocol of graphics device `idx`, or libvirt's error.
fn protocol(def: &DomainDef, idx: u32) -> Result<&'static str> {
    let g = usize::try_from(idx)
        .ok()
        .and_then(|i| def.devices.graphics.get(i))
        .ok_or_else(|| Error::new(ErrorCode::InternalError, D, format!("No graphics backend with index {idx}")))?;
    match g.graphics_type.as_str() {
        "vnc" => Ok("vnc"),
        "spice" => Ok("spice"),
        "dbus" => Ok("@dbus-display"),
        other => Err(Error::new(
            ErrorCode::ConfigUnsupported,
            D,
            format!("Can only open VNC, SPICE or D-Bus p2p graphics backends, not {other}"),
        )),
    }
}

/// Connect the socket `fd` to graphics device `idx` of running domain `d`.
pub(super) fn open(drv: &Driver, d: &DomainRef, idx: u32, fd: OwnedFd, skipauth: bool) -> Result<()> {
    // Set by the check (under the domain list lock), read by the monitor step.
    let proto = std::cell::Cell::new("vnc");
    drv.monitor_query(
        d,
        Expect::Nothing,
        |o| {
            proto.set(protocol(&o.def, idx)?);
            Ok(())
        },
        |q| {
            q.execute_with_fd("getfd", Some(json!({ "fdname": FDNAME })), fd.as_fd())?;
            let added = q.execute("add_client", Some(json!({ "protocol": proto.get(), "fdname": FDNAME, "skipauth": skipauth })));
            if added.is_err() {
                let _ = q.execute("closefd", Some(json!({ "fdname": FDNAME })));
            }
            added.map(|_| ())
        },
    )
    // Our copy of the descriptor is closed here; QEMU keeps its own.
}

/// A new socket connected to graphics device `idx` of running domain `d`.
pub(super) fn open_fd(drv: &Driver, d: &DomainRef, idx: u32, skipauth: bool) -> Result<OwnedFd> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()
        .map_err(|e| Error::new(ErrorCode::SystemError, D, format!("Failed to create socket pair: {e}")))?;
    open(drv, d, idx, theirs.into(), skipauth)?;
    Ok(ours.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(graphics: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>g</name><memory>65536</memory><os><type>hvm</type></os><devices>{graphics}</devices></domain>"
        );
        oxvirt_conf::domain::DomainDef::parse(&xml, &Default::default()).map_err(|e| e.to_string()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn protocol_follows_libvirt() {
        let d = def("<graphics type='vnc' autoport='yes'/><graphics type='sdl'/>");
        assert_eq!(protocol(&d, 0).ok(), Some("vnc"));
        let e = protocol(&d, 1).err();
        assert_eq!(e.as_ref().map(|e| e.code), Some(ErrorCode::ConfigUnsupported));
        assert_eq!(
            e.map(|e| e.message).unwrap_or_default(),
            "unsupported configuration: Can only open VNC, SPICE or D-Bus p2p graphics backends, not sdl"
        );
        let e = protocol(&d, 2).err().map(|e| e.message).unwrap_or_default();
        assert_eq!(e, "internal error: No graphics backend with index 2");
    }
}
