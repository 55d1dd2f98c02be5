//! The rpc crate's single integration test binary. Modules live in `tests/rpc/`;
//! reference tables in `data/`, captured sessions in `tests/data/captures/`.

// Test code may panic on unexpected results; that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "rpc/captures.rs"]
mod captures;
#[path = "rpc/codec.rs"]
mod codec;
#[path = "rpc/codegen.rs"]
mod codegen;
#[path = "rpc/schema.rs"]
mod schema;
#[path = "rpc/tables.rs"]
mod tables;
#[path = "rpc/tsv.rs"]
mod tsv;
