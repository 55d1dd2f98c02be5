//! `oxvirt-driver-remote`: the remote driver — a client of libvirt's wire protocol that
//! serves `driver+unix://`, `driver+tcp://`, `driver+tls://`, `driver+ssh://` URIs and
//! plain URIs whose driver is not in-process, against `oxvirtd` or libvirt's `libvirtd`.
//!
//! Layer: driver. May depend on `oxvirt` (api), `oxvirt-rpc`, `oxvirt-conf` and
//! `oxvirt-util`; never on another driver.
