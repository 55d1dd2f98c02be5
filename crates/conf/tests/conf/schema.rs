//! Every golden output file in `tests/data/` (what our formatter writes; the golden
//! tests check it byte for byte) must be valid against libvirt's own RelaxNG schemas.
//!
//! Needs `xmllint` (Debian `libxml2-utils`) and libvirt's schemas in
//! `/usr/share/libvirt/schemas` (Debian `libvirt0`, pulled in by `libvirt-clients`).
//! Missing tools are a failure, not a skip: this test is part of CI.

use std::path::{Path, PathBuf};
use std::process::Command;

const SCHEMA_DIR: &str = "/usr/share/libvirt/schemas";
const INSTALL_HINT: &str = "install Debian packages libxml2-utils (xmllint) and libvirt0 (schemas), \
     e.g. `apt-get install libxml2-utils libvirt0`";

/// The schema (file stem in [`SCHEMA_DIR`]) for each data folder.
fn schema_for(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "domain" => "domain",
        "snapshot" => "domainsnapshot",
        "checkpoint" => "domaincheckpoint",
        "backup" => "domainbackup",
        "capabilities" => "capability",
        "domaincaps" => "domaincaps",
        "network" => "network",
        "networkport" => "networkport",
        "pool" => "storagepool",
        "vol" => "storagevol",
        "secret" => "secret",
        "nwfilter" => "nwfilter",
        "nwfilterbinding" => "nwfilterbinding",
        "interface" => "interface",
        "nodedev" => "nodedev",
        _ => return None,
    })
}

/// Golden outputs: `NAME-out.xml`, and files without an `-in`/`-out` suffix (their
/// expected output is the input itself).
fn is_output(name: &str) -> bool {
    name.ends_with(".xml") && !name.ends_with("-in.xml")
}

fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

fn require_tools() {
    match Command::new("xmllint").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("`xmllint --version` failed ({}); {INSTALL_HINT}", o.status),
        Err(e) => panic!("cannot run xmllint ({e}); {INSTALL_HINT}"),
    }
    let probe = Path::new(SCHEMA_DIR).join("domain.rng");
    assert!(probe.is_file(), "libvirt's RelaxNG schemas are missing ({} not found); {INSTALL_HINT}", probe.display());
}

#[test]
fn golden_outputs_are_valid_against_libvirt_schemas() {
    require_tools();
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in sorted_entries(&data_root()).into_iter().filter(|p| p.is_dir()) {
        let kind = dir.file_name().unwrap().to_string_lossy().into_owned();
        let schema = schema_for(&kind)
            .unwrap_or_else(|| panic!("tests/data/{kind}: no libvirt schema known for this folder; add it to schema_for()"));
        let rng = Path::new(SCHEMA_DIR).join(format!("{schema}.rng"));
        assert!(rng.is_file(), "{} not found; {INSTALL_HINT}", rng.display());
        let files: Vec<PathBuf> =
            sorted_entries(&dir).into_iter().filter(|p| p.file_name().is_some_and(|n| is_output(&n.to_string_lossy()))).collect();
        if files.is_empty() {
            continue;
        }
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--relaxng")
            .arg(&rng)
            .args(&files)
            .output()
            .unwrap_or_else(|e| panic!("cannot run xmllint ({e}); {INSTALL_HINT}"));
        checked += files.len();
        if !out.status.success() {
            failures.push(format!(
                "{kind} against {}:\n{}{}",
                rng.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "golden outputs that libvirt's schemas reject:\n{}", failures.join("\n"));
    assert!(checked >= 8, "only {checked} golden outputs found under {}", data_root().display());
}

#[test]
fn output_file_naming() {
    assert!(is_output("logical-out.xml"));
    assert!(is_output("default-pool.xml"));
    assert!(!is_output("logical-in.xml"));
    assert!(!is_output("notes.txt"));
}
