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
