//! Link settings of the daemon's release binary, for its idle footprint (see
//! `docs/benchmarks.md`, "Idle RSS"). No code is generated here.
//!
//! * `-z pack-relative-relocs` (DT_RELR, glibc ≥ 2.36): the position-independent
//!   binary's relative relocations take a few KiB instead of hundreds, so the dynamic
//!   loader reads far fewer pages of the file at start;
//! * `--symbol-ordering-file=startup.order`: the functions run from start-up through
//!   a client's first calls are placed together at the start of `.text`. The kernel
//!   maps 64 KiB of the file around each page fault, so with the code spread over the
//!   whole text most of the binary becomes resident; grouped, only those pages do.
//!   `scripts/bench/oxvirtd-order.sh` regenerates the list; names that no longer
//!   exist are skipped, so a stale list costs footprint, never correctness.
//!
//! Both are options of LLD, the default linker of `x86_64-unknown-linux-gnu` since
//! Rust 1.90; other targets and debug builds link as before. `OXVIRT_NO_ORDER=1`
//! turns them off (e.g. to build the order list itself).

fn main() {
    println!("cargo:rerun-if-changed=startup.order");
    println!("cargo:rerun-if-env-changed=OXVIRT_NO_ORDER");
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let off = std::env::var_os("OXVIRT_NO_ORDER").is_some_and(|v| !v.is_empty() && v != "0");
    if target != "x86_64-unknown-linux-gnu" || profile != "release" || off {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = std::path::Path::new(&dir).join("startup.order");
    if order.is_file() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
