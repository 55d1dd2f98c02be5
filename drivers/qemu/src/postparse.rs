//! The QEMU driver's definition rules, applied after the generic parse (libvirt's
//! `qemuDomainDefPostParse`, the per-device post-parse callbacks and
//! `qemuDomainAssignAddresses`): default emulator, architecture and machine type,
//! implicit controllers and devices, default device models, drive and PCI addresses.
//!
//! [`post_parse`] is shared by `xml format --driver qemu` (qemuxml2xml) and the
//! command-line builder (qemuxml2argv), which needs the same addresses.

use crate::caps::{Machine, QemuCaps};
use crate::error::{QemuError, Result};
use oxvirt_conf::domain::{Address, Controller, DeviceInfo, DomainDef, Input, Memballoon, Video};
use oxvirt_conf::xml::{El, XNode};
use std::collections::BTreeSet;

fn default_cpu(def: &mut DomainDef, caps: &QemuCaps, arch: &str, cpu_types: &[(String, String, String)]) -> Result<()> {
    if let Some(cpu) = &def.cpu {
        let mode = attr(cpu, "mode").unwrap_or("custom");
        if mode != "custom" || child(cpu, "model").is_some() {
            return Ok(());
        }
    }
    let supported = is_x86(arch)
        || arch.starts_with("ppc64")
        || arch.starts_with("s390")
        || matches!(arch, "aarch64" | "armv7l" | "armv6l" | "riscv64");
    if !supported {
        return Ok(());
    }
    if !is_x86(arch) && !arch.starts_with("s390") && !arch.starts_with("ppc64") && def.virt_type != "qemu" {
        return Ok(());
    }
    let Some(ty) = machine_of(def, caps).and_then(|m| m.default_cpu.clone()) else { return Ok(()) };
    let accel = accel_of(&def.virt_type);
    let model = if cpu_types.is_empty() {
        Some(ty.strip_suffix("-x86_64-cpu").or_else(|| ty.strip_suffix("-i386-cpu")).unwrap_or(&ty).to_string())
    } else {
        cpu_types.iter().find(|(a, _, t)| a == accel && *t == ty).map(|(_, n, _)| n.clone())
    };
    let Some(model) = model else { return Ok(()) };
    if model == "host" && def.virt_type != "kvm" {
        return Err(QemuError::Internal("QEMU reports invalid default CPU model \"host\" for non-kvm domain virt type".into()));
    }
    let mut cpu = def.cpu.take().unwrap_or_else(|| El::new("cpu"));
    cpu.attrs.retain(|(k, _)| !matches!(k.as_str(), "mode" | "match" | "check"));
    if model == "host" {
        cpu.attrs.insert(0, ("mode".into(), "host-passthrough".into()));
        cpu.attrs.insert(1, ("check".into(), "none".into()));
    } else {
        cpu.attrs.insert(0, ("mode".into(), "custom".into()));
        cpu.attrs.insert(1, ("match".into(), "exact".into()));
        cpu.attrs.insert(2, ("check".into(), "none".into()));
        cpu.children.insert(0, XNode::El(El::new("model").attr("fallback", "forbid").text(model)));
    }
    def.cpu = Some(cpu);
    Ok(())
}

/// Test-harness setup shared by `qemu argv` and `xml format --driver qemu`: the
/// capabilities to use and the options of the corpus manifests.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Capabilities (real, from `--qemu-caps`, or fake).
    pub caps: QemuCaps,
    /// Whether the capabilities are fake (`--fake-caps-flags`, no caps file).
    pub fake: bool,
    /// `--conf KEY=VALUE` settings (qemu.conf).
    pub conf: Vec<(String, String)>,
    /// Host architecture (`--host-arch`), x86_64 by default.
    pub host_arch: String,
    /// Parse a persistent definition (`--inactive`).
    pub inactive: bool,
    /// `--migrate-from URI`: the domain is started for an incoming migration.
    pub migrate_from: Option<String>,
    /// `--migrate-fd N`: the descriptor of a `stdio` incoming migration.
    pub migrate_fd: Option<String>,
    /// Generate identifiers (e.g. an empty `<genid/>`) the way libvirt's test suite
    /// does, deterministically; set by [`Setup::from_args`] (the offline tool).
    pub deterministic_ids: bool,
}

/// The `<cpu type= name= typename=>` entries of a `<qemuCaps>` document.
/// SVE vector lengths imply SVE itself (libvirt's `qemuDomainDefCPUPostParse`).
fn sve_post_parse(def: &mut DomainDef) -> Result<()> {
    let Some(cpu) = def.cpu.as_mut() else { return Ok(()) };
    let is_feature =
        |n: &XNode, pred: &dyn Fn(&str) -> bool| matches!(n, XNode::El(x) if x.name == "feature" && attr(x, "name").is_some_and(pred));
    let lengths = cpu.children.iter().any(|n| is_feature(n, &|name| name != "sve" && name.starts_with("sve")));
    if !lengths {
        return Ok(());
    }
    let sve = cpu.children.iter_mut().find_map(|n| match n {
        XNode::El(x) if x.name == "feature" && attr(x, "name") == Some("sve") => Some(x),
        _ => None,
    });
    match sve {
        Some(f) => {
            if matches!(attr(f, "policy"), Some("disable" | "forbid")) {
                return Err(QemuError::Unsupported("SVE disabled, but SVE vector lengths provided".into()));
            }
            f.attrs.retain(|(k, _)| k != "policy");
            f.attrs.insert(0, ("policy".into(), "require".into()));
        }
        None => cpu.push(El::new("feature").attr("policy", "require").attr("name", "sve")),
    }
    Ok(())
}

impl Setup {
    /// Parse manifest options; returns the setup and the input file.
    pub fn from_args(args: &[String]) -> Result<(Setup, String)> {
        let mut s = Setup { host_arch: "x86_64".into(), deterministic_ids: true, ..Setup::default() };
        let mut caps_file: Option<String> = None;
        let mut fake_flags: Vec<String> = Vec::new();
        let mut add_flags: Vec<String> = Vec::new();
        let mut strip = false;
        let mut gic: Option<String> = None;
        let mut file = None;
        let mut i = 0;
        let value = |i: &mut usize| -> Result<String> {
            *i += 1;
            args.get(*i).cloned().ok_or_else(|| QemuError::Internal(format!("option '{}' needs a value", args[*i - 1])))
        };
        while i < args.len() {
            match args[i].as_str() {
                "--qemu-caps" => caps_file = Some(value(&mut i)?),
                "--fake-caps-flags" => {
                    s.fake = true;
                    fake_flags.extend(value(&mut i)?.split(',').filter(|f| *f != "none" && !f.is_empty()).map(str::to_string));
                }
                "--add-caps-flags" => add_flags.extend(value(&mut i)?.split(',').map(str::to_string)),
                "--strip-machine-aliases" => strip = true,
                "--inactive" => s.inactive = true,
                "--conf" => {
                    let v = value(&mut i)?;
                    let (k, val) = v.split_once('=').unwrap_or((v.as_str(), ""));
                    s.conf.push((k.to_string(), val.to_string()));
                }
                "--host-arch" => s.host_arch = value(&mut i)?,
                "--migrate-from" => s.migrate_from = Some(value(&mut i)?),
                "--migrate-fd" => s.migrate_fd = Some(value(&mut i)?),
                "--gic" => gic = Some(value(&mut i)?),
                "--driver" | "--kind" | "--host-cpu" | "--host-os" | "--env" | "--parse-flag" | "--fd-group" | "--slirp-helper" => {
                    value(&mut i)?;
                }
                a if a.starts_with("--") => {}
                a => file = Some(a.to_string()),
            }
            i += 1;
        }
        let file = file.ok_or_else(|| QemuError::Internal("missing input file".into()))?;
        if let Some(cf) = caps_file {
            let text = std::fs::read_to_string(&cf).map_err(|source| QemuError::Io { path: cf.clone(), source })?;
            s.caps = QemuCaps::parse(&text)?;
            s.fake = false;
            if strip {
                strip_machine_aliases(&mut s.caps);
            }
        }
        s.caps.flags.extend(fake_flags);
        s.caps.flags.extend(add_flags);
        // The test suite's GIC capabilities: both implementations of each version.
        let versions: &[u32] = match gic.as_deref() {
            Some("v2") => &[2],
            Some("v3") => &[3],
            Some("both") => &[2, 3],
            _ => &[],
        };
        for v in versions {
            s.caps.gic.push(crate::caps::Gic { version: *v, kernel: true, emulated: true });
        }
        Ok((s, file))
    }

    /// A qemu.conf setting given with `--conf`.
    pub fn conf(&self, key: &str) -> Option<&str> {
        self.conf.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// libvirt's `virQEMUCapsStripMachineAliases`: every alias becomes a machine of its own.
fn strip_machine_aliases(caps: &mut QemuCaps) {
    let mut extra = Vec::new();
    for m in caps.machines.iter_mut() {
        if let Some(a) = m.alias.take() {
            extra.push(Machine { name: a, alias: None, ..m.clone() });
        }
    }
    caps.machines.extend(extra);
}

/// Whether `arch` is 32- or 64-bit x86.
pub fn is_x86(arch: &str) -> bool {
    arch == "x86_64" || arch == "i686"
}

/// Whether the machine type is a Q35 one.
pub fn is_q35(def: &DomainDef) -> bool {
    def.os.machine.as_deref().is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

/// Whether the machine type is an i440FX one.
pub fn is_i440fx(def: &DomainDef) -> bool {
    def.os.machine.as_deref().is_some_and(|m| m == "pc" || m.starts_with("pc-i440fx") || m.starts_with("pc-0.") || m.starts_with("pc-1."))
}

/// Whether the machine type is a pSeries one.
pub fn is_pseries(def: &DomainDef) -> bool {
    def.os.machine.as_deref().is_some_and(|m| m.starts_with("pseries"))
}

/// Whether the domain is an ARM `virt` machine.
pub fn is_arm_virt(def: &DomainDef) -> bool {
    matches!(def.os.arch.as_deref(), Some("aarch64" | "armv7l" | "armv6l"))
        && def.os.machine.as_deref().is_some_and(|m| m == "virt" || m.starts_with("virt-"))
}

/// Whether the domain is a RISC-V `virt` machine.
pub fn is_riscv_virt(def: &DomainDef) -> bool {
    def.os.arch.as_deref().is_some_and(|a| a.starts_with("riscv"))
        && def.os.machine.as_deref().is_some_and(|m| m == "virt" || m.starts_with("virt-"))
}

/// The accelerator entries of the caps a domain type uses.
pub fn accel_of(virt_type: &str) -> &'static str {
    if virt_type == "kvm" {
        "kvm"
    } else {
        "tcg"
    }
}

/// The machine entry of the caps matching the domain's machine type.
pub fn machine_of<'a>(def: &DomainDef, caps: &'a QemuCaps) -> Option<&'a Machine> {
    let m = def.os.machine.as_deref()?;
    caps.machines.iter().filter(|x| x.accel == accel_of(&def.virt_type)).find(|x| x.name == m)
}

fn emulator_for(arch: &str) -> String {
    let bin = match arch {
        "i686" => "i386",
        "armv7l" | "armv6l" => "arm",
        a => a,
    };
    format!("/usr/bin/qemu-system-{bin}")
}

fn fake_machines(arch: &str) -> &'static [&'static str] {
    match arch {
        "i686" => &["pc"],
        "x86_64" => &["pc", "q35"],
        "aarch64" => &["virt", "virt-2.6", "versatilepb"],
        "armv7l" => &["vexpress-a9", "virt"],
        "ppc64" => &["pseries"],
        "ppc" => &["ppce500"],
        "riscv32" | "riscv64" => &["virt"],
        "s390x" => &["s390-ccw-virtio"],
        "sparc" => &["SS-5"],
        _ => &[],
    }
}

fn has_attr(e: &El, k: &str) -> bool {
    e.attrs.iter().any(|(a, _)| a == k)
}

fn attr<'a>(e: &'a El, k: &str) -> Option<&'a str> {
    e.attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn child<'a>(e: &'a El, name: &str) -> Option<&'a El> {
    e.children.iter().find_map(|c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
}

/// Apply the QEMU driver's post-parse rules to `def`.
pub fn post_parse(def: &mut DomainDef, caps: &mut QemuCaps, fake: bool) -> Result<()> {
    // Architecture, emulator and machine type.
    if def.os.arch.is_none() {
        let a = if caps.arch.is_empty() { "x86_64".to_string() } else { caps.arch.clone() };
        def.os.arch = Some(a);
    }
    let arch = def.os.arch.clone().unwrap_or_default();
    if fake {
        caps.arch = arch.clone();
        // Flags every binary of the architecture has (virQEMUCapsInitQMPBasicArch).
        let basic: &[&str] = match arch.as_str() {
            "i686" | "x86_64" => &["no-acpi", "no-hpet"],
            "aarch64" => &["no-acpi", "aarch64-off", "mach-virt.gic-version"],
            "s390" | "s390x" => &["aes-key-wrap", "dea-key-wrap", "loadparm"],
            _ => &[],
        };
        caps.flags.extend(basic.iter().map(|f| f.to_string()));
        if caps.machines.is_empty() {
            for accel in ["tcg", "kvm"] {
                for m in fake_machines(&arch) {
                    caps.machines.push(Machine { accel: accel.into(), name: (*m).into(), ..Machine::default() });
                }
            }
        }
    } else if !caps.arch.is_empty() && caps.arch != arch && !(caps.arch == "x86_64" && arch == "i686") {
        return Err(QemuError::Unsupported(format!("No emulator found for arch '{arch}'")));
    }
    if def.devices.emulator.is_none() {
        def.devices.emulator = Some(if caps.emulator.is_empty() { emulator_for(&arch) } else { caps.emulator.clone() });
    }
    let accel = accel_of(&def.virt_type);
    match def.os.machine.clone() {
        None => {
            let m = caps.machines.iter().filter(|m| m.accel == accel).find(|m| m.default).map(|m| m.name.clone());
            def.os.machine = m;
        }
        Some(name) => {
            if let Some(m) = caps.canonical_machine(accel, &name) {
                def.os.machine = Some(m.name.clone());
            }
        }
    }
    if def.os.machine.is_none() {
        return Err(QemuError::Unsupported(format!("missing machine type for arch '{arch}'")));
    }

    // Default CPU model of the machine type (qemuDomainDefSetDefaultCPU).
    default_cpu(def, caps, &arch, &caps.cpu_types())?;
    sve_post_parse(def)?;

    def.devices.assign_controller_indexes();
    // UHCI companions without <master> get their usual start port.
    for c in def.devices.controllers.iter_mut().filter(|c| c.controller_type == "usb") {
        let port = match c.model.as_deref() {
            Some("ich9-uhci1") => 0,
            Some("ich9-uhci2") => 2,
            Some("ich9-uhci3") => 4,
            _ => continue,
        };
        if !c.info.extra.iter().any(|e| e.name == "master") {
            c.info.extra.insert(0, El::new("master").attr("startport", port));
        }
    }
    add_default_devices(def, caps, &arch);
    gic_default(def, caps);
    device_post_parse(def, caps, &arch);
    assign_drive_addresses(def);
    def.devices.add_implicit();
    serial_defaults(def);
    controller_defaults(def, caps, &arch);
    assign_virtio_serial_ports(def);
    ccw::assign_ccw_addresses(def, caps.has("vfio-ccw"))?;
    pci::assign_pci_addresses(def, caps)?;
    Ok(())
}

/// Addresses for devices added to a running guest's definition (those without one):
/// drive addresses, virtio-serial ports, then PCI addresses by the same rules as a definition's (libvirt's
/// `qemuDomainEnsurePCIAddress` for hotplug). The hotplug code refuses the result when
/// a PCI controller had to be added for it.
pub fn assign_hotplug_addresses(def: &mut DomainDef, caps: &QemuCaps) -> Result<()> {
    assign_drive_addresses(def);
    assign_virtio_serial_ports(def);
    pci::assign_pci_addresses(def, caps)
}

fn add_default_devices(def: &mut DomainDef, caps: &QemuCaps, arch: &str) {
    let machine = def.os.machine.clone().unwrap_or_default();
    let q35 = is_q35(def);
    let i440 = is_i440fx(def);
    let d = &mut def.devices;
    if is_x86(arch) {
        for ty in ["mouse", "keyboard"] {
            if !d.inputs.iter().any(|i| i.input_type == ty && i.bus.as_deref() == Some("ps2")) {
                d.inputs.push(Input {
                    input_type: ty.into(),
                    bus: Some("ps2".into()),
                    attrs: Vec::new(),
                    other: Vec::new(),
                    info: DeviceInfo::default(),
                });
            }
        }
    }
    let mut add_usb = true;
    let mut usb_model: Option<&str> = None;
    let (mut pci_root, mut pcie_root, mut sata, mut balloon) = (false, false, false, true);
    match arch {
        "i686" | "x86_64" => {
            if machine == "isapc" {
                add_usb = false;
            } else if q35 {
                pcie_root = true;
                sata = true;
                usb_model = if caps.has("qemu-xhci") {
                    Some("qemu-xhci")
                } else if caps.has("nec-usb-xhci") {
                    Some("nec-xhci")
                } else if caps.has("ich9-usb-ehci1") {
                    Some("ich9-ehci1")
                } else {
                    add_usb = false;
                    None
                };
            }
            if i440 {
                pci_root = true;
            }
        }
        "armv6l" | "armv7l" | "aarch64" => {
            add_usb = false;
            balloon = false;
            pcie_root = machine.starts_with("virt") && caps.has("gpex-pcihost");
        }
        "ppc64" | "ppc64le" | "ppc" | "sparc64" => pci_root = true,
        "riscv32" | "riscv64" => {
            add_usb = false;
            pcie_root = machine.starts_with("virt") && caps.has("gpex-pcihost");
        }
        "s390" | "s390x" => {
            add_usb = false;
            pci_root = caps.has("zpci");
        }
        "sparc" => {
            add_usb = false;
            balloon = false;
        }
        _ => {}
    }
    if add_usb && !d.controllers.iter().any(|c| c.controller_type == "usb" && c.index == Some(0)) {
        let mut c = Controller::new("usb", 0);
        c.model = usb_model.map(str::to_string);
        d.insert_controller(c);
        if usb_model == Some("ich9-ehci1") {
            // The EHCI controller comes with its three UHCI companions.
            for (m, port) in [("ich9-uhci1", 0), ("ich9-uhci2", 2), ("ich9-uhci3", 4)] {
                let mut c = Controller::new("usb", 0);
                c.model = Some(m.into());
                c.info.extra.push(El::new("master").attr("startport", port));
                d.insert_controller(c);
            }
        }
    }
    if sata {
        d.maybe_add_controller("sata", 0);
    }
    let has_pci0 = d.controllers.iter().any(|c| c.controller_type == "pci" && c.index == Some(0));
    if (pci_root || pcie_root) && !has_pci0 {
        let mut c = Controller::new("pci", 0);
        c.model = Some(if pcie_root { "pcie-root" } else { "pci-root" }.into());
        d.insert_controller(c);
    }
    if balloon && d.memballoon.is_none() {
        d.memballoon = Some(Memballoon { model: "virtio".into(), attrs: Vec::new(), other: Vec::new(), info: DeviceInfo::default() });
    }
    // Default audio backend.
    if !d.other.iter().any(|e| e.name == "audio") {
        let mut add = None;
        for g in &d.graphics {
            match g.graphics_type.as_str() {
                "vnc" => add = Some("none"),
                "spice" => add = Some("spice"),
                "sdl" => add = None,
                _ => {}
            }
        }
        if d.graphics.is_empty() {
            add = Some("none");
        }
        if let Some(t) = add {
            d.other.push(El::new("audio").attr("id", 1).attr("type", t));
        }
    }
    // Implicit video for graphics.
    if d.videos.is_empty() && d.graphics.iter().any(|g| g.graphics_type != "egl-headless" && g.graphics_type != "dbus") {
        d.videos.push(Video {
            model: None,
            model_attrs: Vec::new(),
            model_children: Vec::new(),
            primary: true,
            driver: None,
            info: DeviceInfo::default(),
        });
    }
}

fn default_video_model(arch: &str, machine: &str, caps: &QemuCaps) -> Option<&'static str> {
    if arch.starts_with("ppc64") {
        return Some("vga");
    }
    if (arch.starts_with("arm") || arch == "aarch64" || arch.starts_with("riscv")) && machine.starts_with("virt")
        || arch.starts_with("s390")
    {
        return Some("virtio");
    }
    if caps.has("cirrus-vga") {
        return Some("cirrus");
    }
    if caps.has("VGA") {
        return Some("vga");
    }
    None
}

fn video_defaults(model: &str) -> (Option<u32>, Option<u32>, Option<u32>) {
    // (vram, heads, vgamem); ram is qxl only.
    match model {
        "vga" | "cirrus" | "vmvga" => (Some(16384), Some(1), None),
        "qxl" => (Some(65536), Some(1), Some(16384)),
        "virtio" | "bochs" => (None, Some(1), None),
        "xen" => (Some(16384), Some(1), None),
        _ => (None, Some(1), None),
    }
}

fn device_post_parse(def: &mut DomainDef, caps: &QemuCaps, arch: &str) {
    let machine = def.os.machine.clone().unwrap_or_default();
    let d = &mut def.devices;
    // The "random" RNG backend reads /dev/random unless told otherwise.
    for r in d.rngs.iter_mut().filter(|r| r.backend_model == "random" && r.backend_path.is_none()) {
        r.backend_path = Some("/dev/random".into());
    }
    // Disks: driver name and format.
    for disk in d.disks.iter_mut() {
        let drv = disk.driver.get_or_insert_with(|| El::new("driver"));
        if !has_attr(drv, "name") {
            drv.attrs.insert(0, ("name".into(), "qemu".into()));
        }
        if !has_attr(drv, "type") && disk.disk_type != "volume" {
            let pos = drv.attrs.iter().position(|(k, _)| k == "name").map_or(0, |p| p + 1);
            drv.attrs.insert(pos, ("type".into(), "raw".into()));
        }
    }
    // Interfaces: default model.
    interface_defaults(d, arch, &machine);
    video_post_parse(d, arch, &machine, caps);
}

/// The order libvirt writes `<features>` children in.
const FEATURE_ORDER: &[&str] = &[
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "hyperv",
    "kvm",
    "pvspinlock",
    "capabilities",
    "pmu",
    "vmport",
    "gic",
    "smm",
    "ioapic",
    "hpt",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "msrs",
    "ccf-assist",
    "xen",
    "cfpc",
    "sbbc",
    "ibs",
    "tcg",
    "async-teardown",
];

/// ARM `virt` guests get the highest GIC version the binary supports for the
/// accelerator (libvirt skips the emulated GICv3 for TCG), else version 2.
fn gic_default(def: &mut DomainDef, caps: &QemuCaps) {
    let existing = def.features.as_ref().and_then(|f| child(f, "gic")).map(|g| attr(g, "version").is_some());
    if existing == Some(true) || (existing.is_none() && !is_arm_virt(def)) {
        return;
    }
    let kvm = def.virt_type == "kvm";
    let mut version = 2;
    for v in [3u32, 2] {
        if v == 3 && def.virt_type == "qemu" {
            continue;
        }
        if caps.gic.iter().any(|g| g.version == v && if kvm { g.kernel } else { g.emulated }) {
            version = v;
            break;
        }
    }
    let f = def.features.get_or_insert_with(|| El::new("features"));
    match f.children.iter_mut().find_map(|c| match c {
        XNode::El(x) if x.name == "gic" => Some(x),
        _ => None,
    }) {
        Some(g) => g.attrs.push(("version".into(), version.to_string())),
        None => {
            let rank = |n: &str| FEATURE_ORDER.iter().position(|o| *o == n).unwrap_or(FEATURE_ORDER.len());
            let gic_rank = rank("gic");
            let pos = f.children.iter().position(|c| matches!(c, XNode::El(x) if rank(&x.name) > gic_rank)).unwrap_or(f.children.len());
            f.children.insert(pos, XNode::El(El::new("gic").attr("version", version)));
        }
    }
}

fn controller_defaults(def: &mut DomainDef, caps: &QemuCaps, arch: &str) {
    let machine = def.os.machine.clone().unwrap_or_default();
    let d = &mut def.devices;
    let scsi_model = if caps.has("lsi") {
        Some("lsilogic")
    } else if caps.has("virtio-scsi-pci") {
        Some("virtio-scsi")
    } else {
        None
    };
    for c in d.controllers.iter_mut() {
        match c.controller_type.as_str() {
            "usb" if c.model.is_none() => {
                if caps.has("piix3-usb-uhci") && is_x86(arch) {
                    c.model = Some("piix3-uhci".into());
                }
                if arch.starts_with("s390") && c.info.address.is_none() {
                    c.model = Some("none".into());
                } else if arch.starts_with("ppc64") {
                    // Keeps the ABI of existing pseries guests; without pci-ohci
                    // the legacy controller is used.
                    c.model = caps.has("pci-ohci").then(|| "pci-ohci".into());
                } else if arch == "aarch64" {
                    if caps.has("qemu-xhci") {
                        c.model = Some("qemu-xhci".into());
                    } else if caps.has("nec-usb-xhci") {
                        c.model = Some("nec-xhci".into());
                    }
                }
            }
            "scsi" if c.model.is_none() => {
                c.model = if machine.starts_with("pseries") {
                    Some("ibmvscsi".into())
                } else if arch.starts_with("s390") || arch == "aarch64" {
                    Some("virtio-scsi".into())
                } else {
                    scsi_model.map(str::to_string)
                };
            }
            _ => {}
        }
    }
}

fn interface_defaults(d: &mut oxvirt_conf::domain::Devices, arch: &str, machine: &str) {
    for n in d.interfaces.iter_mut() {
        if n.model.is_none() && n.iface_type != "hostdev" {
            n.model = Some(
                if arch.starts_with("s390") || ((arch == "aarch64" || arch.starts_with("arm")) && machine.starts_with("virt")) {
                    "virtio"
                } else if arch.starts_with("ppc64") {
                    "spapr-vlan"
                } else {
                    "rtl8139"
                }
                .into(),
            );
        }
    }
}

fn video_post_parse(d: &mut oxvirt_conf::domain::Devices, arch: &str, machine: &str, caps: &QemuCaps) {
    let default_video = default_video_model(arch, machine, caps);
    for v in d.videos.iter_mut() {
        if v.model.is_none() {
            v.model = default_video.map(str::to_string);
        }
        let Some(model) = v.model.clone() else { continue };
        let (vram, heads, vgamem) = video_defaults(&model);
        if model == "qxl" && !v.model_attrs.iter().any(|(k, _)| k == "ram") {
            v.model_attrs.insert(0, ("ram".into(), "65536".into()));
        }
        let mut put = |k: &str, val: Option<u32>| {
            if let Some(x) = val {
                if !v.model_attrs.iter().any(|(a, _)| a == k) {
                    v.model_attrs.push((k.into(), x.to_string()));
                }
            }
        };
        put("vram", vram);
        if model == "qxl" {
            put("vgamem", vgamem);
        }
        put("heads", heads);
        let order = ["ram", "vram", "vram64", "vgamem", "heads"];
        v.model_attrs.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
    }
}

/// The register of a spapr-vio address: `None` for other addresses, `Some(None)`
/// for a spapr-vio address without one.
fn spapr_vio_reg(a: &Option<Address>) -> Option<Option<u64>> {
    match a {
        Some(Address::Other(e)) if attr(e, "type") == Some("spapr-vio") => {
            Some(attr(e, "reg").and_then(|r| oxvirt_conf::xml::parse_uint(r, 0).map(u64::from)))
        }
        _ => None,
    }
}

/// Serial target type and model defaults (libvirt's `qemuDomainChrDefPostParse`);
/// pSeries serials get their spapr-vio register.
fn serial_defaults(def: &mut DomainDef) {
    let arch = def.os.arch.clone().unwrap_or_default();
    let (pseries, arm_virt, riscv_virt) = (is_pseries(def), is_arm_virt(def), is_riscv_virt(def));
    let mut reg = 0x3000_0000u64;
    // Registers given explicitly are never handed out again.
    let d = &def.devices;
    let used: std::collections::HashSet<u64> = d
        .chardevs
        .iter()
        .map(|c| &c.info.address)
        .chain(d.interfaces.iter().map(|n| &n.info.address))
        .chain(d.controllers.iter().map(|c| &c.info.address))
        .filter_map(|a| spapr_vio_reg(a).flatten())
        .collect();
    for c in def.devices.chardevs.iter_mut().filter(|c| c.device == "serial") {
        let t = c.target.get_or_insert_with(|| El::new("target"));
        let given = attr(t, "type").filter(|t| *t != "isa-serial").map(str::to_string);
        let ty = match given {
            Some(t) => Some(t),
            None if is_x86(&arch) => Some("isa-serial".to_string()),
            None if pseries => Some("spapr-vio-serial".to_string()),
            None if arm_virt || riscv_virt => Some("system-serial".to_string()),
            None if arch.starts_with("s390") => Some("sclp-serial".to_string()),
            None => None,
        };
        t.attrs.retain(|(k, _)| k != "type");
        if let Some(ty) = &ty {
            t.attrs.insert(0, ("type".into(), ty.clone()));
        }
        if child(t, "model").is_none() {
            let model = match ty.as_deref() {
                Some("isa-serial") => Some("isa-serial"),
                Some("usb-serial") => Some("usb-serial"),
                Some("pci-serial") => Some("pci-serial"),
                Some("spapr-vio-serial") => Some("spapr-vty"),
                Some("system-serial") if arm_virt => Some("pl011"),
                Some("system-serial") if riscv_virt => Some("16550a"),
                Some("sclp-serial") => Some("sclpconsole"),
                Some("isa-debug") => Some("isa-debugcon"),
                _ => None,
            };
            if let Some(m) = model {
                t.push(El::new("model").attr("name", m));
            }
        }
        let vty = t.children.iter().any(|n| matches!(n, XNode::El(x) if x.name == "model" && attr(x, "name") == Some("spapr-vty")));
        if vty && (c.info.address.is_none() || spapr_vio_reg(&c.info.address) == Some(None)) {
            while used.contains(&reg) {
                reg += 0x1000;
            }
            c.info.address = Some(Address::Other(El::new("address").attr("type", "spapr-vio").attr("reg", format!("0x{reg:x}"))));
            reg += 0x1000;
        }
    }
    // The console that mirrors the first serial shows its address too.
    let first = def.devices.chardevs.iter().find(|c| c.device == "serial").and_then(|c| c.info.address.clone());
    if let (Some(a @ Address::Other(_)), Some(con)) =
        (first, def.devices.chardevs.iter_mut().find(|c| c.device == "console" && matches!(c.target_type(), None | Some("serial"))))
    {
        if con.info.address.is_none() {
            con.info.address = Some(a);
        }
    }
}

fn assign_drive_addresses(def: &mut DomainDef) {
    let scsi_lsi = def.devices.controllers.iter().any(|c| c.controller_type == "scsi" && c.model.as_deref() == Some("lsilogic"));
    for disk in def.devices.disks.iter_mut() {
        if disk.info.address.is_some() {
            continue;
        }
        let Some(idx) = disk_index(&disk.target_dev) else { continue };
        disk.info.address = match disk.target_bus.as_str() {
            "ide" => Some(Address::Drive { controller: idx / 4, bus: (idx % 4) / 2, target: 0, unit: idx % 2 }),
            "sata" => Some(Address::Drive { controller: idx / 6, bus: 0, target: 0, unit: idx % 6 }),
            "fdc" => Some(Address::Drive { controller: idx / 2, bus: 0, target: 0, unit: idx % 2 }),
            "scsi" => {
                let units = if scsi_lsi { 7 } else { 16 };
                Some(Address::Drive { controller: idx / units, bus: 0, target: 0, unit: idx % units })
            }
            _ => None,
        };
    }
}

/// The disk index of a target name (`hda` → 0, `sdab` → 27).
pub fn disk_index(dev: &str) -> Option<u32> {
    let letters = ["hd", "sd", "vd", "xvd", "fd", "ub"].iter().find_map(|p| dev.strip_prefix(p))?;
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut idx: u32 = 0;
    for (i, b) in letters.bytes().enumerate() {
        let v = (b - b'a') as u32;
        idx = if i == 0 { v } else { (idx + 1).checked_mul(26)?.checked_add(v)? };
    }
    Some(idx)
}

fn assign_virtio_serial_ports(def: &mut DomainDef) {
    let mut used: BTreeSet<(u32, u32)> = BTreeSet::new();
    for c in &def.devices.chardevs {
        if let Some(Address::VirtioSerial { controller, port, .. }) = c.info.address {
            used.insert((controller, port));
        }
    }
    for c in def.devices.chardevs.iter_mut() {
        // Consoles keep no address: libvirt never shows one.
        let virtio = c.device == "channel" && c.target_type() == Some("virtio");
        if !virtio || c.info.address.is_some() {
            continue;
        }
        let mut port = 1;
        while used.contains(&(0, port)) {
            port += 1;
        }
        used.insert((0, port));
        c.info.address = Some(Address::VirtioSerial { controller: 0, bus: 0, port });
    }
}

// ---------------------------------------------------------------- PCI

mod ccw;
mod pci;

fn el_address(e: &El) -> Option<Address> {
    let a = child(e, "address")?;
    if attr(a, "type") != Some("pci") {
        return Some(Address::Other(a.clone()));
    }
    let n = |k: &str| attr(a, k).and_then(|v| oxvirt_conf::xml::parse_uint(v, 0)).unwrap_or(0);
    Some(Address::Pci {
        domain: n("domain"),
        bus: n("bus"),
        slot: n("slot"),
        function: n("function"),
        multifunction: attr(a, "multifunction").map(str::to_string),
        zpci: None,
    })
}

fn el_set_address(e: &mut El, a: &Address) {
    let pos = e.children.iter().position(|c| matches!(c, XNode::El(x) if x.name == "address"));
    match pos {
        Some(p) => e.children[p] = XNode::El(a.to_el()),
        None => e.push(a.to_el()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_indexes() {
        assert_eq!(disk_index("hda"), Some(0));
        assert_eq!(disk_index("sdb"), Some(1));
        assert_eq!(disk_index("sdaa"), Some(26));
        assert_eq!(disk_index("vd1"), None);
    }

    #[test]
    fn spapr_vio_serials_skip_given_registers() {
        let xml = "<domain type='qemu'><name>g</name><memory>1024</memory>\
            <os><type arch='ppc64' machine='pseries'>hvm</type></os><devices>\
            <serial type='pty'><address type='spapr-vio'/></serial>\
            <serial type='pty'><address type='spapr-vio' reg='0x30000000'/></serial>\
            </devices></domain>";
        let mut def = match DomainDef::parse(xml, &oxvirt_conf::domain::ParseOptions::default()) {
            Ok(d) => d,
            Err(e) => panic!("bad test XML: {e}"),
        };
        serial_defaults(&mut def);
        let regs: Vec<Option<Option<u64>>> =
            def.devices.chardevs.iter().filter(|c| c.device == "serial").map(|c| spapr_vio_reg(&c.info.address)).collect();
        assert_eq!(regs, vec![Some(Some(0x3000_1000)), Some(Some(0x3000_0000))]);
    }

    #[test]
    fn random_rng_backend_defaults_to_dev_random() {
        let xml = "<domain type='qemu'><name>g</name><memory>1024</memory>\
            <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
            <rng model='virtio'><backend model='random'/></rng>\
            <rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng>\
            </devices></domain>";
        let mut def = match DomainDef::parse(xml, &oxvirt_conf::domain::ParseOptions::default()) {
            Ok(d) => d,
            Err(e) => panic!("bad test XML: {e}"),
        };
        device_post_parse(&mut def, &QemuCaps::default(), "x86_64");
        let paths: Vec<Option<&str>> = def.devices.rngs.iter().map(|r| r.backend_path.as_deref()).collect();
        assert_eq!(paths, vec![Some("/dev/random"), Some("/dev/hwrng")]);
    }

    #[test]
    fn sve_lengths_add_sve_and_reject_disabled_sve() {
        let parse = |features: &str| {
            let xml = format!(
                "<domain type='kvm'><name>g</name><memory>1024</memory>\
                 <os><type arch='aarch64' machine='virt'>hvm</type></os><cpu mode='host-passthrough'>{features}</cpu></domain>"
            );
            match DomainDef::parse(&xml, &oxvirt_conf::domain::ParseOptions::default()) {
                Ok(d) => d,
                Err(e) => panic!("bad test XML: {e}"),
            }
        };
        let mut def = parse("<feature policy='require' name='sve256'/>");
        sve_post_parse(&mut def).expect("post-parse");
        let cpu = def.cpu.as_ref().expect("cpu");
        let names: Vec<(Option<&str>, Option<&str>)> = cpu
            .children
            .iter()
            .filter_map(|n| match n {
                XNode::El(x) if x.name == "feature" => Some((attr(x, "name"), attr(x, "policy"))),
                _ => None,
            })
            .collect();
        assert_eq!(names, vec![(Some("sve256"), Some("require")), (Some("sve"), Some("require"))]);
        let mut def = parse("<feature policy='disable' name='sve'/><feature policy='require' name='sve128'/>");
        assert!(sve_post_parse(&mut def).is_err());
    }
}
