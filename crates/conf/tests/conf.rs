//! The conf crate's single integration test binary: golden XML round trips per kind.
//! Modules live in `tests/conf/<kind>.rs`; data in `tests/data/<kind>/`.

// Test code may panic on unexpected results; that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "conf/capabilities.rs"]
mod capabilities;
#[path = "conf/interface.rs"]
mod interface;
#[path = "conf/nodedev.rs"]
mod nodedev;
#[path = "conf/snapshot.rs"]
mod snapshot;
#[path = "conf/storage.rs"]
mod storage;
