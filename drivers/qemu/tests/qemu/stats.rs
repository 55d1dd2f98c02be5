//! Statistics parsers against replies recorded by libvirt 9.0's test suite
//! (`qemumonitorjsondata` in the shared conformance corpus): the vCPU threads of
//! `query-cpus-fast`, which `virDomainGetVcpus` and the `vcpu` group of `domstats`
//! read `/proc` through.

use oxvirt_driver_qemu::runtime::stats::parse_vcpu_threads;

#[test]
fn vcpu_threads_of_recorded_query_cpus_fast_replies() {
    let dir = super::caps::corpus().unwrap().join("qemumonitorjsondata");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("qemumonitorjson-cpuinfo-x86") && name.ends_with("-cpus.json")) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        let reply = v.get("return").unwrap();
        let threads = parse_vcpu_threads(reply);
        // Every entry with a thread id is a vCPU; the indexes are distinct.
        let with_tid = reply.as_array().unwrap().iter().filter(|c| c.get("thread-id").is_some()).count();
        assert_eq!(threads.len(), with_tid, "{name}");
        let mut idx: Vec<u32> = threads.iter().map(|t| t.0).collect();
        idx.sort_unstable();
        idx.dedup();
        assert_eq!(idx.len(), threads.len(), "{name}");
        assert!(threads.iter().all(|(_, tid)| *tid > 0), "{name}: {threads:?}");
        seen += 1;
    }
    assert!(seen >= 4, "only {seen} recorded x86 query-cpus-fast replies");
}
