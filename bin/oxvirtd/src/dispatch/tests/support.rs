//! Helpers for the dispatch unit tests: a private `test:///` connection and typed
//! calls through [`dispatch_call`](crate::dispatch::dispatch_call).
//!
//! Tests open a private copy of libvirt's default test node (`test:///PATH.xml`
//! loads a state owned by that connection), so they can run in parallel without
//! seeing each other's objects; the content is the same as `test:///default`.

use crate::dispatch::dispatch_call;
use oxvirt::{Connect, Error, ErrorCode};
use oxvirt_rpc::proto::remote::RemoteProcedure;
use oxvirt_rpc::{Decode, Encode};

/// The default test node file shipped with the test driver.
pub fn default_node() -> String {
    format!("{}/../../drivers/test/src/data/default_node.xml", env!("CARGO_MANIFEST_DIR"))
}

/// A read-write connection to a private copy of the default test node.
pub fn open() -> Connect {
    oxvirt_driver_test::register();
    Connect::open(Some(&format!("test://{}", default_node()))).expect("open private test node")
}

/// Like [`open`], with the test driver's secret and nwfilter drivers enabled
/// (libvirt's test driver has neither, so plain `test:///` URIs leave them out).
pub fn open_full() -> Connect {
    oxvirt_driver_test::open_with_secrets_and_nwfilters(&format!("test://{}", default_node()), false).expect("open private test node")
}

/// A read-only connection to a private copy of the default test node.
pub fn open_ro() -> Connect {
    oxvirt_driver_test::register();
    Connect::open_read_only(Some(&format!("test://{}", default_node()))).expect("open private test node")
}

/// Call `proc` with encoded `args` and decode the reply as `R`.
pub fn call<A: Encode, R: Decode>(conn: &Connect, proc: RemoteProcedure, args: &A) -> Result<R, Error> {
    let bytes = call_raw(conn, proc, &args.to_bytes().expect("encode args"))?;
    Ok(R::from_bytes(&bytes).expect("decode reply"))
}

/// Call a procedure without arguments and decode the reply as `R`.
pub fn call0<R: Decode>(conn: &Connect, proc: RemoteProcedure) -> Result<R, Error> {
    let bytes = call_raw(conn, proc, &[])?;
    Ok(R::from_bytes(&bytes).expect("decode reply"))
}

/// Call a `void` procedure with encoded `args`; the reply must be empty.
pub fn call_void<A: Encode>(conn: &Connect, proc: RemoteProcedure, args: &A) -> Result<(), Error> {
    let bytes = call_raw(conn, proc, &args.to_bytes().expect("encode args"))?;
    assert!(bytes.is_empty(), "{proc:?}: void reply carries {} bytes", bytes.len());
    Ok(())
}

/// Call `proc` with a raw payload; panics when nothing serves it.
pub fn call_raw(conn: &Connect, proc: RemoteProcedure, payload: &[u8]) -> Result<Vec<u8>, Error> {
    dispatch_call(proc, payload, conn).unwrap_or_else(|| panic!("{proc:?} is not served"))
}

/// Assert that `r` failed with `code` and a message containing `text`.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(r: Result<T, Error>, code: ErrorCode, text: &str) -> Error {
    let e = r.expect_err("call should fail");
    assert_eq!(e.code, code, "unexpected error: {e:?}");
    assert!(e.message.contains(text), "message {:?} lacks {text:?}", e.message);
    e
}
