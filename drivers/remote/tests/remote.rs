//! The remote driver against a real libvirtd 9.0 (started per test with a private
//! config and socket directory). These tests fail — never skip — when libvirtd is
//! missing: install it with `apt-get install -y libvirt-daemon`.

#[path = "remote/daemon.rs"]
mod daemon;
#[path = "remote/domains.rs"]
mod domains;
#[path = "remote/events.rs"]
mod events;
#[path = "remote/fdpass.rs"]
mod fdpass;
#[path = "remote/objects.rs"]
mod objects;
#[path = "remote/transport.rs"]
mod transport;
