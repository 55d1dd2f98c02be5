#![allow(clippy::unwrap_used)]
//! Integration tests of the QEMU driver (one binary, one module per area).

#[path = "qemu/argv.rs"]
mod argv;
