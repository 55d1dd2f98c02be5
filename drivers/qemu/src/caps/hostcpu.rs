//! The host CPU of the `<capabilities>` host section, read as libvirt's
//! `virCPUGetHost` reads it on x86: CPUID (and the `IA32_ARCH_CAPABILITIES` MSR through
//! `/dev/cpu/0/msr` when readable) decoded with libvirt's CPU map
//! ([`crate::domcaps::cpumap::CpuMap::x86_decode_host`]), the microcode version and
//! physical address size from `/proc/cpuinfo`, the invariant TSC's frequency, the
//! topology of the node information, and the supported page sizes.

use crate::domcaps::cpumap::CpuMap;
use oxvirt_conf::xml::El;

/// The value of the first `/proc/cpuinfo` line starting with `key`.
fn cpuinfo_value<'a>(cpuinfo: &'a str, key: &str) -> Option<&'a str> {
    cpuinfo.lines().find(|l| l.split(':').next().is_some_and(|k| k.trim() == key)).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim())
}

/// libvirt's `virHostCPUGetMicrocodeVersion`: the first `microcode` value.
fn microcode(cpuinfo: &str) -> Option<u64> {
    let v = cpuinfo_value(cpuinfo, "microcode")?;
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// libvirt's `virHostCPUGetPhysAddrSize`: bits of `address sizes : N bits physical`.
fn phys_addr_bits(cpuinfo: &str) -> Option<u32> {
    cpuinfo_value(cpuinfo, "address sizes")?.split_whitespace().next()?.parse().ok()
}

/// The invariant TSC: frequency in Hz and whether KVM can scale it. libvirt asks KVM
/// (`KVM_GET_TSC_KHZ` on a scratch vCPU, `KVM_CAP_TSC_CONTROL`), which needs ioctls
/// this crate cannot issue without `unsafe`; the kernel's TSC frequency is what KVM
/// reports for a new vCPU and is what `/proc/cpuinfo` shows as `cpu MHz` on a host
/// with a constant TSC, and TSC scaling is the CPU flag KVM checks (`tsc_scale` on
/// AMD, the VMX `tsc_scaling` control on Intel). Nothing without `/dev/kvm`, as
/// libvirt.
fn tsc(cpuinfo: &str) -> Option<(u64, bool)> {
    if !std::path::Path::new("/dev/kvm").exists() {
        return None;
    }
    let mhz = cpuinfo_value(cpuinfo, "cpu MHz")?;
    let (int, frac) = mhz.split_once('.').unwrap_or((mhz, "0"));
    let frac = format!("{frac:0<3}");
    let khz = int.parse::<u64>().ok()? * 1000 + frac.get(..3)?.parse::<u64>().ok()?;
    let flags = |key: &str| cpuinfo_value(cpuinfo, key).unwrap_or_default().split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let scaling = flags("flags").iter().any(|f| f == "tsc_scale") || flags("vmx flags").iter().any(|f| f == "tsc_scaling");
    Some((khz * 1000, scaling))
}

#[cfg(target_arch = "x86_64")]
fn cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, sub);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// An MSR through the `msr` driver's device (`virHostCPUGetMSR`'s first source):
/// only `IA32_ARCH_CAPABILITIES` (0x10a), and only when CPUID announces it (leaf 7 EDX
/// bit 29), as libvirt's `virCPUx86GetHost`.
#[cfg(target_arch = "x86_64")]
fn msr(index: u32) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    if index != 0x10a || cpuid(7, 0)[3] & (1 << 29) == 0 {
        return None;
    }
    let f = std::fs::File::open("/dev/cpu/0/msr").ok()?;
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, u64::from(index)).ok()?;
    Some(u64::from_le_bytes(b))
}

/// Supported page sizes in KiB (`virNumaGetPages` of the host): the system page, then
/// every huge page size the kernel offers, ascending.
pub fn page_sizes() -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("hugepages-")?.strip_suffix("kB")?.parse().ok())
        .collect();
    v.sort_unstable();
    v.insert(0, 4);
    v
}

/// The host CPU's definition elements (`<model>`, `<vendor>`, `<microcode>`,
/// `<signature>`, `<counter>`, `<topology>`, `<maxphysaddr>`, `<feature>`s) for `arch`,
/// with the topology (sockets, cores, threads) of the node information; empty when the
/// CPU cannot be decoded (libvirt then prints only `<arch>`).
pub fn host_cpu_def(map: Option<&CpuMap>, arch: &str, topology: (u32, u32, u32)) -> Vec<El> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    if arch == "x86_64" {
        if let Some(host) = map.and_then(|m| m.x86_decode_host(cpuid, msr)) {
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            out.push(El::new("model").text(&host.model));
            if let Some(v) = &host.vendor {
                out.push(El::new("vendor").text(v));
            }
            if let Some(m) = microcode(&cpuinfo) {
                out.push(El::new("microcode").attr("version", m));
            }
            let (f, m, s) = host.signature;
            out.push(El::new("signature").attr("family", f).attr("model", m).attr("stepping", s));
            if host.invtsc {
                if let Some((hz, scaling)) = tsc(&cpuinfo) {
                    out.push(
                        El::new("counter").attr("name", "tsc").attr("frequency", hz).attr("scaling", if scaling { "yes" } else { "no" }),
                    );
                }
            }
            let (sockets, cores, threads) = topology;
            out.push(El::new("topology").attr("sockets", sockets).attr("dies", 1).attr("cores", cores).attr("threads", threads));
            if let Some(bits) = phys_addr_bits(&cpuinfo) {
                out.push(El::new("maxphysaddr").attr("mode", "emulate").attr("bits", bits));
            }
            for name in &host.features {
                out.push(El::new("feature").attr("name", name));
            }
        }
    }
    let _ = (map, arch, topology);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_fields() {
        let ci = "processor\t: 0\nmicrocode\t: 0x1000065\ncpu MHz\t\t: 2596.15\naddress sizes\t: 48 bits physical, 48 bits virtual\nflags\t\t: fpu tsc_scale\n";
        assert_eq!(microcode(ci), Some(16777317));
        assert_eq!(phys_addr_bits(ci), Some(48));
        if std::path::Path::new("/dev/kvm").exists() {
            assert_eq!(tsc(ci), Some((2_596_150_000, true)));
        }
    }
}
