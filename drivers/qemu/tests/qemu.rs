//! The QEMU driver's single integration test binary. Modules live in `tests/qemu/`.

// Test code may panic on unexpected results; that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "qemu/argv.rs"]
mod argv;
#[path = "qemu/caps.rs"]
mod caps;
#[path = "qemu/cgv2.rs"]
mod cgv2;
#[path = "qemu/domcaps.rs"]
mod domcaps;
#[path = "qemu/hostcpu.rs"]
mod hostcpu;
#[path = "qemu/qmp.rs"]
mod qmp;
#[path = "qemu/runtime.rs"]
mod runtime;
#[path = "qemu/stats.rs"]
mod stats;
