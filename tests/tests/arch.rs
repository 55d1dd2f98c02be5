//! Architecture rule, enforced over `cargo metadata`: drivers never depend on another
//! driver; conf never depends on the API; libraries never depend on binaries; util
//! depends on no oxvirt crate.

use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Util,
    Conf,
    Rpc,
    Api,
    DriverLib,
    Driver,
    Bin,
    Tests,
}

fn tier_of(manifest: &str) -> Option<Tier> {
    let m = manifest.replace('\\', "/");
    let rel = m.rsplit_once("/Cargo.toml").map(|(d, _)| d)?;
    Some(if rel.ends_with("/crates/util") {
        Tier::Util
    } else if rel.ends_with("/crates/conf") {
        Tier::Conf
    } else if rel.ends_with("/crates/rpc") {
        Tier::Rpc
    } else if rel.ends_with("/crates/api") {
        Tier::Api
    } else if rel.ends_with("/crates/driverlib") {
        Tier::DriverLib
    } else if rel.contains("/drivers/") {
        Tier::Driver
    } else if rel.contains("/bin/") {
        Tier::Bin
    } else if rel.ends_with("/tests") {
        Tier::Tests
    } else {
        return None;
    })
}

/// Which tiers a tier may depend on (normal and build dependencies).
fn allowed(from: Tier, to: Tier) -> bool {
    use Tier::*;
    match from {
        Util => false,
        Conf => matches!(to, Util),
        Rpc => matches!(to, Util),
        Api => matches!(to, Util | Conf),
        DriverLib => matches!(to, Util | Conf | Api),
        Driver => matches!(to, Util | Conf | Api | DriverLib | Rpc),
        Bin => !matches!(to, Bin | Tests),
        Tests => !matches!(to, Tests),
    }
}

fn edges() -> Vec<(String, Tier, String, Tier, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let pkgs = meta["packages"].as_array().expect("packages");
    let by_name: HashMap<&str, Tier> =
        pkgs.iter().filter_map(|p| Some((p["name"].as_str()?, tier_of(p["manifest_path"].as_str()?)?))).collect();
    let mut edges = Vec::new();
    for p in pkgs {
        let name = p["name"].as_str().unwrap_or("");
        let Some(&from) = by_name.get(name) else { continue };
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"].as_str().unwrap_or("");
            let kind = d["kind"].as_str().unwrap_or("normal").to_string();
            if let Some(&to) = by_name.get(dep) {
                edges.push((name.to_string(), from, dep.to_string(), to, kind));
            }
        }
    }
    edges
}

#[test]
fn workspace_layers_are_respected() {
    let edges = edges();
    assert!(!edges.is_empty(), "no workspace edges found");
    let bad: Vec<String> = edges
        .iter()
        // dev-dependencies may reach further (e.g. a driver's tests using the CLI is still
        // forbidden, but conf tests may use util helpers only), so they follow the same
        // rule except that nothing may dev-depend on a binary either.
        .filter(|(_, from, _, to, _)| !allowed(*from, *to))
        .map(|(a, _, b, _, kind)| format!("{a} -> {b} ({kind})"))
        .collect();
    assert!(bad.is_empty(), "forbidden dependency edges:\n{}", bad.join("\n"));
}

#[test]
fn rule_rejects_the_forbidden_shapes() {
    use Tier::*;
    assert!(!allowed(Driver, Driver), "driver -> driver");
    assert!(!allowed(Conf, Api), "conf -> api");
    assert!(!allowed(Api, Driver), "api -> driver");
    assert!(!allowed(Util, Conf), "util -> anything");
    for lib in [Util, Conf, Rpc, Api, DriverLib, Driver] {
        assert!(!allowed(lib, Bin), "library -> bin");
    }
    assert!(allowed(Bin, Driver));
    assert!(allowed(Driver, Api));
}

#[test]
fn every_workspace_crate_has_a_tier_and_a_crate_doc() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
    for dir in ["crates", "drivers", "bin"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("dir exists") {
            let path = entry.expect("entry").path();
            let manifest = path.join("Cargo.toml");
            if !manifest.exists() {
                continue;
            }
            assert!(tier_of(&manifest.to_string_lossy()).is_some(), "{} has no tier", path.display());
            let src = ["src/lib.rs", "src/main.rs"].iter().map(|f| path.join(f)).find(|p| p.exists()).expect("crate root");
            let text = std::fs::read_to_string(&src).expect("read crate root");
            assert!(text.trim_start().starts_with("//!"), "{} does not start with a //! doc", src.display());
        }
    }
}
