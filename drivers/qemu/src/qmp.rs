//! `qmp` (being written; see the crate docs).
