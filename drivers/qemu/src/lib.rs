//! `oxvirt-driver-qemu`: the QEMU/KVM driver (`qemu:///system`, `qemu:///session`).
//!
//! Modules: [`caps`] — the per-binary capabilities (`<qemuCaps>` cache XML, probing
//! over QMP); [`qmp`] — the QMP client; [`postparse`] — the QEMU driver's definition
//! rules (machine-type expansion, implicit devices, address assignment); [`command`] —
//! domain XML → QEMU argv; [`domcaps`] — the `<domainCapabilities>` document;
//! [`runtime`] — the live driver (`qemu:///system`,
//! `qemu:///session`, `qemu:///embed?root=DIR`: processes, monitors, status files,
//! lifecycle, events), registered with [`register`]; [`tool`] — the offline entry points behind
//! `oxvirsh qemu ...` and `oxvirsh xml format --driver qemu`.
//!
//! Layer: driver. May depend on `oxvirt` (api), `oxvirt-conf`, `oxvirt-util` and
//! `oxvirt-driverlib`; never on another driver.

pub mod agent;
pub mod caps;
pub mod command;
pub mod domcaps;
pub mod error;
pub mod postparse;
pub mod qmp;
pub mod runtime;
pub mod tool;

pub use error::{QemuError, Result};
pub use runtime::{register, QemuConnectDriver};
