//! The cross-crate and end-to-end suites, linked as one test binary (each file in
//! `tests/` would otherwise be its own link step): the architecture rule over
//! `cargo metadata`, the daemon with real libvirt clients, and the tiny test guest
//! under plain QEMU.

#[path = "arch.rs"]
mod arch;
#[path = "daemon.rs"]
mod daemon;
#[path = "guest.rs"]
mod guest;
