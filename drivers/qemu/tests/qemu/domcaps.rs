//! Domain capabilities against libvirt 9.0's `domaincapstest` data in the shared
//! conformance corpus (see `caps.rs` for where it is found): every case of the
//! `domaincaps` manifest, in process, through the offline entry point behind
//! `oxvirsh domcapabilities`. The x86 host-model CPUs need libvirt's CPU map
//! (`/usr/share/libvirt/cpu_map`, Debian `libvirt0`).

use super::caps::corpus;
use oxvirt_driver_qemu::tool;

#[test]
fn every_domaincaps_case_matches_libvirt() {
    let Some(root) = corpus() else { return };
    let text = std::fs::read_to_string(root.join("manifests/domaincaps.jsonl")).unwrap();
    let mut failed = Vec::new();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        n += 1;
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut args: Vec<String> = v["options"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_string()).collect();
        // The manifest's paths are relative to the corpus.
        if let Some(i) = args.iter().position(|a| a == "--qemu-caps") {
            args[i + 1] = root.join(&args[i + 1]).display().to_string();
        }
        let want = std::fs::read_to_string(root.join(v["expected"].as_str().unwrap())).unwrap();
        let id = v["id"].as_str().unwrap();
        match tool::domcapabilities(&args) {
            Ok(got) if got.trim_end() == want.trim_end() => {}
            Ok(got) => {
                let line = got.lines().zip(want.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
                failed.push(format!("{id}: output differs from line {line}"));
            }
            Err(e) => failed.push(format!("{id}: {e}")),
        }
    }
    assert_eq!(n, 46, "the manifest has 46 cases");
    assert!(failed.is_empty(), "{} of {n} domaincaps cases failed:\n{}", failed.len(), failed.join("\n"));
}

#[test]
fn unknown_presets_and_options_are_errors() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(tool::domcapabilities(&s(&["--testsuite", "--preset", "nope"])).is_err());
    assert!(tool::domcapabilities(&s(&["--testsuite", "--bogus"])).is_err());
    assert!(tool::domcapabilities(&s(&["--qemu-caps", "/nonexistent.xml", "--testsuite"])).is_err());
    assert!(tool::domcapabilities(&s(&["--qemu-caps"])).is_err());
}
