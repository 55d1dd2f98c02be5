//! End-to-end tests of `oxvirtd` with real libvirt clients: Debian's `virsh`
//! (`libvirt-clients`) and libvirt-python (`python3-libvirt`, run with
//! `/usr/bin/python3`), plus raw malformed input. Each test starts its own daemon on a
//! private socket directory. The clients are required: a missing one fails the test.

#[path = "daemon/admin.rs"]
mod admin;
#[path = "daemon/auth.rs"]
mod auth;
#[path = "daemon/captures.rs"]
mod captures;
#[path = "daemon/fdpass.rs"]
mod fdpass;
#[path = "daemon/harness.rs"]
mod harness;
#[path = "daemon/load.rs"]
mod load;
#[path = "daemon/malformed.rs"]
mod malformed;
#[path = "daemon/python.rs"]
mod python;
#[path = "daemon/qemu.rs"]
mod qemu;
#[path = "daemon/qemu_caps.rs"]
mod qemu_caps;
#[path = "daemon/qemu_host.rs"]
mod qemu_host;
#[path = "daemon/qemu_hostcaps.rs"]
mod qemu_hostcaps;
#[path = "daemon/qemu_hotplug.rs"]
mod qemu_hotplug;
#[path = "daemon/qemu_info.rs"]
mod qemu_info;
#[path = "daemon/qemu_meta.rs"]
mod qemu_meta;
#[path = "daemon/qemu_misc.rs"]
mod qemu_misc;
#[path = "daemon/qemu_net.rs"]
mod qemu_net;
#[path = "daemon/qemu_save.rs"]
mod qemu_save;
#[path = "daemon/qemu_snapshot.rs"]
mod qemu_snapshot;
#[path = "daemon/qemu_tune.rs"]
mod qemu_tune;
#[path = "daemon/qemu_vs_libvirtd.rs"]
mod qemu_vs_libvirtd;
#[path = "daemon/robust.rs"]
mod robust;
#[path = "daemon/secrets.rs"]
mod secrets;
#[path = "daemon/streams.rs"]
mod streams;
#[path = "daemon/tls.rs"]
mod tls;
#[path = "daemon/virsh.rs"]
mod virsh;
