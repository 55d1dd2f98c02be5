//! The conf crate's single integration test binary: golden XML round trips per kind.
//! Modules live in `tests/conf/<kind>.rs`; data in `tests/data/<kind>/`.

// Test code may panic on unexpected results; that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "conf/capabilities.rs"]
mod capabilities;
#[path = "conf/domain.rs"]
mod domain;
#[path = "conf/interface.rs"]
mod interface;
#[path = "conf/network.rs"]
mod network;
#[path = "conf/nodedev.rs"]
mod nodedev;
#[path = "conf/nwfilter.rs"]
mod nwfilter;
#[path = "conf/schema.rs"]
mod schema;
#[path = "conf/secret.rs"]
mod secret;
#[path = "conf/snapshot.rs"]
mod snapshot;
#[path = "conf/storage.rs"]
mod storage;

// Golden layout used by the network, nwfilter and secret modules: `NAME.xml` is parsed
// and formatted; the result must equal `NAME.out.xml` when that file exists, else the
// input itself. `OXVIRT_REGENERATE=1` rewrites the `.out.xml` files.
use std::path::{Path, PathBuf};

/// Run `format` over every `*.xml` (not `*.out.xml`) in `tests/data/<kind>/`.
pub fn golden(kind: &str, format: impl Fn(&str) -> Result<String, oxvirt_conf::ConfError>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(kind);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("data dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml") && !p.to_string_lossy().ends_with(".out.xml"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no golden inputs in {}", dir.display());
    let regenerate = std::env::var_os("OXVIRT_REGENERATE").is_some();
    for input in inputs {
        let text = std::fs::read_to_string(&input).expect("read input");
        let actual = format(&text).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let out = input.with_extension("out.xml");
        if regenerate && (out.exists() || actual != text) {
            std::fs::write(&out, &actual).expect("write expected");
            continue;
        }
        let expected = if out.exists() { std::fs::read_to_string(&out).expect("read expected") } else { text.clone() };
        assert_eq!(actual, expected, "golden mismatch for {}", input.display());
        // The canonical form is a fixed point.
        assert_eq!(format(&actual).expect("reparse"), actual, "not idempotent: {}", input.display());
    }
}
