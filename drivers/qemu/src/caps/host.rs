//! The host `<capabilities>` guest section libvirt derives from one binary's
//! capabilities (`virQEMUCapsInitGuestFromBinary`), and the skeleton host section the
//! capabilities tests use (`qemucaps2xml`).

use super::QemuCaps;
use oxvirt_conf::capabilities::{CapsDef, GuestCaps, GuestDomain, GuestDomainInfo, GuestFeature, HostCaps, Machine};

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
