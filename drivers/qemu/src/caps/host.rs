//! The host `<capabilities>` document of the QEMU driver (`virConnectGetCapabilities`,
//! libvirt's `virQEMUDriverCreateCapabilities`): the host section (UUID, CPU from
//! [`super::hostcpu`], power management, IOMMU, migration, NUMA cells and caches from
//! [`super::numa`], security models), one guest section per architecture a QEMU binary
//! serves (`virQEMUCapsInitGuestFromBinary`), and the skeleton host section the
//! capabilities tests use (`qemucaps2xml`).

use super::QemuCaps;
use oxvirt_conf::capabilities::{CapsDef, GuestCaps, GuestDomain, GuestDomainInfo, GuestFeature, HostCaps, Machine, SecModel};
use std::sync::Arc;

/// libvirt's architectures in `virArch` order: the order of the guest sections.
pub use oxvirt_conf::capabilities::ARCHES;

/// The host's UUID (`virGetHostUUID`): the SMBIOS system UUID from sysfs, else — as
/// libvirtd does where there is none — a random UUID generated once per process.
pub fn host_uuid() -> [u8; 16] {
    static UUID: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    *UUID.get_or_init(|| {
        ["/sys/devices/virtual/dmi/id/product_uuid", "/sys/class/dmi/id/product_uuid"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .find_map(|t| oxvirt_util::uuid::parse(t.trim()).filter(|u| u.iter().any(|b| *b != 0) && u.iter().any(|b| *b != 0xff)))
            .unwrap_or_else(oxvirt_util::uuid::generate)
    })
}

/// Power management targets the host supports (`virNodeSuspendGetTargetMask`): what
/// `pm-is-supported` says, nothing without it.
fn power_management() -> Vec<String> {
    let mut out = Vec::new();
    for (target, arg) in [("suspend_mem", "--suspend"), ("suspend_disk", "--hibernate"), ("suspend_hybrid", "--suspend-hybrid")] {
        let ok = std::process::Command::new("pm-is-supported")
            .arg(arg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            out.push(target.to_string());
        }
    }
    out
}

/// What the host section needs from the driver.
#[derive(Debug, Clone, Default)]
pub struct HostInputs {
    /// Host architecture (libvirt's name).
    pub arch: String,
    /// Sockets (per node), cores per socket, threads per core.
    pub topology: (u32, u32, u32),
    /// NUMA nodes and memory in KiB of the node information (for the made-up cell of a
    /// host without NUMA information).
    pub nodes: u32,
    /// Memory in KiB.
    pub memory_kib: u64,
    /// The configured security drivers in stacking order (`none`, `dac`, ...).
    pub security_drivers: Vec<String>,
    /// QEMU's user and group (the DAC base label).
    pub user: u32,
    /// QEMU's group.
    pub group: u32,
}

/// The host capabilities document: the host section of `inputs` and the live host,
/// and a guest section for every architecture a QEMU binary in `PATH` serves, with its
/// capabilities from `lookup` (binaries whose capabilities fail are left out, as
/// libvirt does).
pub fn host_capabilities(
    inputs: &HostInputs,
    cpu_map: Option<&crate::domcaps::cpumap::CpuMap>,
    lookup: impl Fn(&str) -> std::result::Result<Arc<QemuCaps>, oxvirt_util::VirError>,
) -> CapsDef {
    let page_sizes = super::hostcpu::page_sizes();
    let sys = std::path::Path::new(super::numa::SYSTEM_DIR);
    let secmodels = inputs
        .security_drivers
        .iter()
        .map(|m| SecModel {
            model: m.clone(),
            doi: "0".into(),
            base_labels: if m == "dac" {
                let l = format!("+{}:+{}", inputs.user, inputs.group);
                vec![("kvm".into(), l.clone()), ("qemu".into(), l)]
            } else {
                Vec::new()
            },
        })
        .collect();
    let host = HostCaps {
        uuid: Some(host_uuid()),
        arch: Some(inputs.arch.clone()),
        cpu_def: super::hostcpu::host_cpu_def(cpu_map, &inputs.arch, inputs.topology),
        cells: Some(super::numa::cells(sys, &page_sizes).unwrap_or_else(|| {
            let (sockets, cores, threads) = inputs.topology;
            super::numa::fake_cells(sys, inputs.nodes, sockets, cores, threads, inputs.memory_kib)
        })),
        page_sizes,
        power_management: power_management(),
        iommu: std::fs::read_dir("/sys/kernel/iommu_groups").map(|mut d| d.next().is_some()).unwrap_or(false),
        offline_migrate: true,
        live_migrate: true,
        migrate_transports: vec!["tcp".into(), "rdma".into()],
        cache: super::numa::cache(sys),
        secmodels,
        ..Default::default()
    };
    let mut guests = Vec::new();
    for arch in ARCHES {
        let Some(binary) = crate::domcaps::default_emulator(&inputs.arch, arch) else { continue };
        let Ok(caps) = lookup(&binary) else { continue };
        guests.push(guest_caps(&caps, &binary, arch));
    }
    CapsDef { host, guests, pool_types: Vec::new() }
}

/// Word size in bits of a libvirt architecture name.
pub fn arch_wordsize(arch: &str) -> u32 {
    match arch {
        "i686" | "armv6l" | "armv7l" | "armv7b" | "cris" | "m68k" | "microblaze" | "microblazeel" | "mips" | "mipsel" | "openrisc"
        | "parisc" | "ppc" | "ppcle" | "ppcemb" | "riscv32" | "s390" | "sh4" | "sh4eb" | "sparc" | "unicore32" | "xtensa" | "xtensaeb" => {
            32
        }
        _ => 64,
    }
}

fn is_x86(arch: &str) -> bool {
    matches!(arch, "i686" | "x86_64")
}

/// Machine types as the guest section lists them: the first probed accelerator's list
/// (KVM, else HVF, else TCG), aliases first with their canonical name, and every
/// canonical name also listed on its own.
pub fn guest_machines(caps: &QemuCaps) -> Vec<Machine> {
    let accel = if caps.has("kvm") {
        "kvm"
    } else if caps.has("hvf") {
        "hvf"
    } else {
        "tcg"
    };
    let mut out: Vec<Machine> = caps
        .machines
        .iter()
        .filter(|m| m.accel == accel)
        .map(|m| match &m.alias {
            Some(a) => Machine { name: a.clone(), canonical: Some(m.name.clone()), max_cpus: m.max_cpus, deprecated: m.deprecated },
            None => Machine { name: m.name.clone(), canonical: None, max_cpus: m.max_cpus, deprecated: m.deprecated },
        })
        .collect();
    let mut i = 0;
    while i < out.len() {
        if let Some(canon) = out[i].canonical.clone() {
            if !out.iter().any(|m| m.name == canon) {
                let entry = Machine { name: canon, canonical: None, max_cpus: out[i].max_cpus, deprecated: out[i].deprecated };
                out.insert(i, entry);
                i += 1;
            }
        }
        i += 1;
    }
    out
}

/// The `<guest>` section for `binary` running `arch` guests.
pub fn guest_caps(caps: &QemuCaps, binary: &str, arch: &str) -> GuestCaps {
    let mut g = GuestCaps {
        os_type: "hvm".into(),
        arch: arch.into(),
        wordsize: arch_wordsize(arch),
        info: GuestDomainInfo { emulator: Some(binary.into()), loader: None, machines: guest_machines(caps) },
        ..Default::default()
    };
    let feat = |name: &str, default_on: Option<bool>, toggle: Option<bool>| GuestFeature { name: name.into(), default_on, toggle };
    g.features.push(feat("cpuselection", None, None));
    g.features.push(feat("deviceboot", None, None));
    g.features.push(feat("disksnapshot", Some(true), Some(false)));
    for (flag, virt) in [("tcg", "qemu"), ("kvm", "kvm"), ("hvf", "hvf")] {
        if caps.has(flag) {
            g.domains.push(GuestDomain { virt_type: virt.into(), info: GuestDomainInfo::default() });
        }
    }
    if is_x86(arch) || arch == "aarch64" {
        g.features.push(feat("acpi", Some(true), Some(true)));
    }
    if is_x86(arch) {
        g.features.push(feat("apic", Some(true), Some(false)));
    }
    if arch == "i686" {
        g.features.push(feat("pae", None, None));
        g.features.push(feat("nonpae", None, None));
    }
    g
}

/// The capabilities document libvirt's `qemucaps2xml` test builds: an empty host of
/// `arch` plus the guest section of `/usr/bin/qemu-system-ARCH`.
pub fn test_host_capabilities(caps: &QemuCaps, arch: &str) -> CapsDef {
    let binary = format!("/usr/bin/qemu-system-{arch}");
    CapsDef {
        host: HostCaps { arch: Some(arch.into()), ..Default::default() },
        guests: vec![guest_caps(caps, &binary, arch)],
        pool_types: Vec::new(),
    }
}
