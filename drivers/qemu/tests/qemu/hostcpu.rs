//! The host CPU of the host capabilities against libvirt 9.0's `cputest` data in the
//! shared conformance corpus (see `caps.rs` for where it is found): every
//! `x86_64-cpuid-NAME.xml` CPUID/MSR dump with an `x86_64-cpuid-NAME-host.xml` result
//! decodes, with libvirt's CPU map (`/usr/share/libvirt/cpu_map`, Debian `libvirt0`, or
//! `OXVIRT_CPU_MAP_DIR`), to the same model, vendor, signature and features as
//! libvirt's `cpuDecode` of a host CPU.

use super::caps::corpus;
use oxvirt_driver_qemu::domcaps::cpumap::CpuMap;
use std::collections::HashMap;
use std::path::PathBuf;

fn num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

/// The host CPU document as libvirt's cputest writes it.
fn format(cpu: &oxvirt_driver_qemu::domcaps::cpumap::HostCpu) -> String {
    let mut s = String::from("<cpu>\n  <arch>x86_64</arch>\n");
    s += &format!("  <model>{}</model>\n", cpu.model);
    if let Some(v) = &cpu.vendor {
        s += &format!("  <vendor>{v}</vendor>\n");
    }
    let (f, m, st) = cpu.signature;
    s += &format!("  <signature family='{f}' model='{m}' stepping='{st}'/>\n");
    for name in &cpu.features {
        s += &format!("  <feature name='{name}'/>\n");
    }
    s + "</cpu>\n"
}

#[test]
fn every_cpuid_host_case_matches_libvirt() {
    let Some(root) = corpus() else { return };
    let dir = root.join("cputestdata");
    let map_dir = std::env::var_os("OXVIRT_CPU_MAP_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/share/libvirt/cpu_map"));
    let map = CpuMap::load(&map_dir).unwrap_or_else(|e| panic!("libvirt's CPU map is required (Debian package libvirt0): {e}"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("x86_64-cpuid-")?.strip_suffix("-host.xml").map(str::to_string))
        .collect();
    names.sort();
    let mut failed = Vec::new();
    for name in &names {
        let data = std::fs::read_to_string(dir.join(format!("x86_64-cpuid-{name}.xml"))).unwrap();
        let doc = roxmltree::Document::parse(&data).unwrap();
        let mut cpuid: HashMap<(u32, u32), [u32; 4]> = HashMap::new();
        let mut msr: HashMap<u32, u64> = HashMap::new();
        for n in doc.descendants().filter(|n| n.is_element()) {
            let a = |k: &str| num(n.attribute(k).unwrap_or("0"));
            match n.tag_name().name() {
                "cpuid" => {
                    cpuid.insert(
                        (a("eax_in") as u32, a("ecx_in") as u32),
                        [a("eax") as u32, a("ebx") as u32, a("ecx") as u32, a("edx") as u32],
                    );
                }
                "msr" => {
                    msr.insert(a("index") as u32, a("eax") | (a("edx") << 32));
                }
                _ => {}
            }
        }
        let got = map.x86_decode_host(|l, s| cpuid.get(&(l, s)).copied().unwrap_or([0; 4]), |i| msr.get(&i).copied());
        let want = std::fs::read_to_string(dir.join(format!("x86_64-cpuid-{name}-host.xml"))).unwrap();
        match got {
            Some(cpu) if format(&cpu) == want => {}
            Some(cpu) => failed.push(format!("{name}:\n{}\nwant:\n{want}", format(&cpu))),
            None => failed.push(format!("{name}: no model")),
        }
    }
    assert!(names.len() >= 40, "only {} cases found in {}", names.len(), dir.display());
    assert!(failed.is_empty(), "{} of {} host CPU cases differ:\n{}", failed.len(), names.len(), failed.join("\n"));
}

/// The banks of a `<cache>` as (attributes) rows, without resctrl's `<control>` and
/// `<monitor>` children (resctrl is not read).
fn banks(cache: Option<&oxvirt_conf::xml::El>) -> Vec<Vec<(String, String)>> {
    cache
        .map(|c| {
            c.children
                .iter()
                .filter_map(|n| match n {
                    oxvirt_conf::xml::XNode::El(e) if e.name == "bank" => Some(e.attrs.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// NUMA cells and caches against libvirt 9.0's `vircaps2xml` data: its fake
/// `/sys/devices/system` trees (those stored as directories) give the same cells
/// (ids, CPUs with socket/die/core/siblings) and cache banks as libvirt's expected
/// documents. Memory and page pools there come from libvirt's NUMA mock, not the tree,
/// so they are not compared.
#[test]
fn numa_cells_and_caches_match_vircaps2xml() {
    use oxvirt_driver_qemu::caps::numa;
    let Some(root) = corpus() else { return };
    let dir = root.join("vircaps2xmldata");
    let mut n = 0;
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok()?.strip_prefix("linux-").map(str::to_string))
        .collect();
    cases.sort();
    for case in &cases {
        let sys = dir.join(format!("linux-{case}/system"));
        // libvirt's symbolic links (one tree shared by several cases) reach the corpus
        // as plain files naming their target; those cases are left out.
        if !sys.join("node").is_dir() || !sys.join("cpu").is_dir() {
            continue;
        }
        let want = std::fs::read_to_string(dir.join(format!("vircaps-x86_64-{case}.xml"))).unwrap();
        let want = oxvirt_conf::capabilities::CapsDef::parse(&want).unwrap().host;
        let got = numa::cells(&sys, &[]).unwrap_or_else(|| panic!("{case}: no cells"));
        let strip = |c: &oxvirt_conf::capabilities::NumaCell| (c.id, c.cpus.clone());
        let want_cells: Vec<_> = want.cells.as_ref().unwrap().iter().map(strip).collect();
        assert_eq!(got.iter().map(strip).collect::<Vec<_>>(), want_cells, "{case}: cells differ");
        assert_eq!(banks(numa::cache(&sys).as_ref()), banks(want.cache.as_ref()), "{case}: cache banks differ");
        n += 1;
    }
    assert!(n >= 3, "only {n} vircaps2xml trees found in {}", dir.display());
}
