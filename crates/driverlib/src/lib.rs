//! `oxvirt-driverlib`: code shared by hypervisor drivers (libvirt's `src/hypervisor`,
//! `src/security`, `src/cpu`, `src/storage_file`, `src/locking` tier).
//!
//! Layer: between the public API and the drivers. May depend on `oxvirt-util`,
//! `oxvirt-conf` and `oxvirt` (the API crate); never on a driver or a binary.
//! It starts small: the domain state/reason rules every hypervisor driver shares.
