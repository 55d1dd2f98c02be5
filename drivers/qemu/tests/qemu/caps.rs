//! Capabilities against libvirt 9.0's data in the shared conformance corpus
//! (`$OXVIRT_SHARED/conformance/corpus`, default `../shared` beside the checkout):
//! cache-document round trips, transcript replay (`qemucapabilitiestest`) and the host
//! capabilities derived from a binary (`qemucaps2xmltest`). These tests fail when the
//! corpus is not there.

use oxvirt_driver_qemu::caps::QemuCaps;
use oxvirt_driver_qemu::tool;
use std::path::{Path, PathBuf};

pub fn corpus() -> Option<PathBuf> {
    let found = match std::env::var_os("OXVIRT_SHARED") {
        Some(s) => Some(PathBuf::from(s).join("conformance/corpus")),
        // The nearest `shared` folder beside an ancestor of the crate (checkouts and
        // worktrees sit at different depths).
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|a| a.join("shared/conformance/corpus"))
            .find(|d| d.join("qemucapabilitiesdata").is_dir()),
    };
    match found {
        Some(dir) if dir.join("qemucapabilitiesdata").is_dir() => Some(dir),
        // A missing corpus is a broken setup, not a reason to pass: fail loudly.
        _ => panic!("the conformance corpus was not found; set OXVIRT_SHARED to the workplace's shared folder"),
    }
}

/// (input, expected, options) of every case of a manifest.
fn cases(root: &Path, program: &str) -> Vec<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(root.join("manifests").join(format!("{program}.jsonl"))).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            let opts = v["options"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_string()).collect();
            (s("input"), s("expected"), opts)
        })
        .collect()
}

fn run_cases(program: &str, family: &str) {
    let Some(root) = corpus() else { return };
    let mut failed = Vec::new();
    let all = cases(&root, program);
    for (input, expected, opts) in &all {
        let mut args = vec![family.to_string()];
        args.extend(opts.iter().cloned());
        args.push(root.join(input).display().to_string());
        let want = std::fs::read_to_string(root.join(expected)).unwrap();
        match tool::run(&args) {
            Ok(got) if got.trim_end() == want.trim_end() => {}
            Ok(_) => failed.push(format!("{input}: output differs")),
            Err(e) => failed.push(format!("{input}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{} of {} {program} cases failed:\n{}", failed.len(), all.len(), failed.join("\n"));
}

#[test]
fn cache_documents_round_trip() {
    let Some(root) = corpus() else { return };
    let mut n = 0;
    for e in std::fs::read_dir(root.join("qemucapabilitiesdata")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("xml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let caps = QemuCaps::parse(&text).unwrap();
        assert_eq!(caps.format(), text, "{}", p.display());
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn replies_replay_to_libvirts_cache_documents() {
    run_cases("qemucapabilities", "caps-from-replies");
}

#[test]
fn host_capabilities_from_binary_caps() {
    run_cases("qemucaps2xml", "host-capabilities");
}

#[test]
fn replay_rejects_a_transcript_out_of_order() {
    let dir = std::env::temp_dir().join(format!("oxvirt-qemu-caps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("caps_9.9.0.x86_64.replies");
    std::fs::write(&f, "{\"execute\": \"qmp_capabilities\", \"id\": \"libvirt-1\"}\n\n{\"return\": {}, \"id\": \"libvirt-1\"}\n\n{\"execute\": \"query-target\", \"id\": \"libvirt-2\"}\n\n{\"return\": {\"arch\": \"x86_64\"}, \"id\": \"libvirt-2\"}\n").unwrap();
    let err = tool::run(&["caps-from-replies".into(), f.display().to_string()]).unwrap_err();
    assert!(err.to_string().contains("expects command 'query-target' but got 'query-version'"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_cache_document_is_an_error_not_a_panic() {
    assert!(QemuCaps::parse("<qemuCaps><version>x</version></qemuCaps>").is_err());
    assert!(QemuCaps::parse("<qemuCaps><hostCPU type='kvm'><property name='a' type='number' value='q'/></hostCPU></qemuCaps>").is_err());
    assert!(QemuCaps::parse("<nope/>").is_err());
}
