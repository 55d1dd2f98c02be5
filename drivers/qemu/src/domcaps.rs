//! Domain capabilities: libvirt's `<domainCapabilities>` document
//! (`virConnectGetDomainCapabilities`, `virsh domcapabilities`), built from one binary's
//! [`QemuCaps`] for an architecture, virtualization type and machine type, as libvirt
//! 9.0's `virQEMUCapsFillDomainCaps` does, and written as `virDomainCapsFormat` writes it.
//!
//! What the document says about the host (firmware descriptors, VFIO, swtpm, the CPU
//! model map) comes from a [`HostEnv`]: [`HostEnv::probe`] looks at the real host,
//! [`HostEnv::testsuite`] reproduces the fixed values of libvirt's `domaincapstest`.
//!
//! Submodules: [`cpumap`] (libvirt's CPU model map: model names, vendors, x86 host-model
//! decoding), [`firmware`] (QEMU firmware descriptors), `presets` (the non-QEMU documents
//! of the test suite).

pub mod cpumap;
pub mod firmware;
mod presets;

use crate::caps::{CpuPropValue, QemuCaps};
use crate::error::{QemuError, Result};
use oxvirt_conf::xml;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use presets::preset;

/// `virDomainOsDefFirmware`.
const FIRMWARE: &[&str] = &["none", "bios", "efi"];
/// `virDomainLoader`.
const LOADER_TYPE: &[&str] = &["none", "rom", "pflash"];
/// `virTristateBool`.
const TRISTATE_BOOL: &[&str] = &["absent", "yes", "no"];
/// `virTristateSwitch`.
const TRISTATE_SWITCH: &[&str] = &["absent", "on", "off"];
/// `virDomainMemorySource`.
const MEMORY_SOURCE: &[&str] = &["none", "file", "anonymous", "memfd"];
/// `virDomainDiskDevice`.
const DISK_DEVICE: &[&str] = &["disk", "cdrom", "floppy", "lun"];
/// `virDomainDiskBus`.
const DISK_BUS: &[&str] = &["none", "ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd"];
/// `virDomainDiskModel`.
const DISK_MODEL: &[&str] = &["default", "virtio", "virtio-transitional", "virtio-non-transitional"];
/// `virDomainGraphics`.
const GRAPHICS: &[&str] = &["sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus"];
/// `virDomainVideo`.
const VIDEO: &[&str] = &["default", "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels", "virtio", "gop", "none", "bochs", "ramfb"];
/// `virDomainHostdevMode`.
const HOSTDEV_MODE: &[&str] = &["subsystem", "capabilities"];
/// `virDomainStartupPolicy`.
const STARTUP_POLICY: &[&str] = &["default", "mandatory", "requisite", "optional"];
/// `virDomainHostdevSubsys`.
const HOSTDEV_SUBSYS: &[&str] = &["usb", "pci", "scsi", "scsi_host", "mdev"];
/// `virDomainHostdevCaps`.
const HOSTDEV_CAPS: &[&str] = &["storage", "misc", "net"];
/// `virDomainHostdevSubsysPCIBackend`.
const PCI_BACKEND: &[&str] = &["default", "kvm", "vfio", "xen"];
/// `virDomainRNGModel`.
const RNG_MODEL: &[&str] = &["virtio", "virtio-transitional", "virtio-non-transitional"];
/// `virDomainRNGBackend`.
const RNG_BACKEND: &[&str] = &["random", "egd", "builtin"];
/// `virDomainFSDriver`.
const FS_DRIVER: &[&str] = &["default", "path", "handle", "loop", "nbd", "ploop", "virtiofs"];
/// `virDomainTPMModel`.
const TPM_MODEL: &[&str] = &["default", "tpm-tis", "tpm-crb", "tpm-spapr", "spapr-tpm-proxy"];
/// `virDomainTPMBackend`.
const TPM_BACKEND: &[&str] = &["passthrough", "emulator", "external"];
/// `virDomainTPMVersion`.
const TPM_VERSION: &[&str] = &["default", "1.2", "2.0"];
/// `virDomainRedirdevBus`.
const REDIRDEV_BUS: &[&str] = &["usb"];
/// `virDomainChr`.
const CHR_TYPE: &[&str] =
    &["null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix", "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus"];
/// `virGICVersion`.
const GIC_VERSION: &[&str] = &["none", "host", "2", "3"];
/// `virDomainHyperv`: the Hyper-V enlightenments in libvirt's order.
use crate::caps::probe::HYPERV_FEATURES as HYPERV;

pub use oxvirt_conf::domain::VIRT_TYPES;

pub use oxvirt_conf::capabilities::ARCHES;

/// One `<enum name='...'>` of the document: a set of values of a libvirt enum, written
/// in the enum's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    /// The `name` attribute.
    pub name: &'static str,
    table: &'static [&'static str],
    /// Whether the enum is written at all (libvirt's `report`).
    pub report: bool,
    bits: u64,
}

impl Enum {
    /// An empty, reported enum over `table`.
    pub fn new(name: &'static str, table: &'static [&'static str]) -> Enum {
        Enum { name, table, report: true, bits: 0 }
    }

    /// Add value `v` (a name from the enum's table; unknown names are ignored).
    pub fn set(&mut self, v: &str) -> &mut Enum {
        if let Some(i) = self.table.iter().position(|t| *t == v) {
            self.bits |= 1 << i;
        }
        self
    }

    /// Add every value of `vs`.
    pub fn set_all(&mut self, vs: &[&str]) -> &mut Enum {
        for v in vs {
            self.set(v);
        }
        self
    }

    /// The values, in the enum's order.
    pub fn values(&self) -> Vec<&'static str> {
        self.table.iter().enumerate().filter(|(i, _)| self.bits & (1 << i) != 0).map(|(_, v)| *v).collect()
    }

    /// Whether no value is set.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    fn format(&self, o: &mut String, ind: usize) {
        if !self.report {
            return;
        }
        let pad = " ".repeat(ind);
        let vals = self.values();
        if vals.is_empty() {
            let _ = writeln!(o, "{pad}<enum name='{}'/>", self.name);
            return;
        }
        let _ = writeln!(o, "{pad}<enum name='{}'>", self.name);
        for v in vals {
            let _ = writeln!(o, "{pad}  <value>{v}</value>");
        }
        let _ = writeln!(o, "{pad}</enum>");
    }
}

/// A `<NAME supported='yes|no'>` element with string values, enums and sub-elements
/// (`os`, `loader`, `memoryBacking`, each device, `gic`, `hyperv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Element name.
    pub name: &'static str,
    /// `None`: not written; `Some(false)`: `supported='no'` and nothing else.
    pub supported: Option<bool>,
    /// `<value>` children before the enums (the loader paths).
    pub values: Vec<String>,
    /// The enums.
    pub enums: Vec<Enum>,
    /// Sub-elements after the enums (the loader inside `os`).
    pub sub: Vec<Section>,
}

impl Section {
    /// A supported section with `enums`.
    pub fn new(name: &'static str, enums: Vec<Enum>) -> Section {
        Section { name, supported: Some(true), values: Vec::new(), enums, sub: Vec::new() }
    }

    /// An unsupported section.
    pub fn no(name: &'static str) -> Section {
        Section { name, supported: Some(false), values: Vec::new(), enums: Vec::new(), sub: Vec::new() }
    }

    /// A section that is not written.
    pub fn absent(name: &'static str) -> Section {
        Section { name, supported: None, values: Vec::new(), enums: Vec::new(), sub: Vec::new() }
    }

    /// The enum called `name`, if any.
    pub fn enum_mut(&mut self, name: &str) -> Option<&mut Enum> {
        self.enums.iter_mut().find(|e| e.name == name)
    }

    /// The enum called `name`, if any.
    pub fn get_enum(&self, name: &str) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == name)
    }

    fn format(&self, o: &mut String, ind: usize) {
        let pad = " ".repeat(ind);
        match self.supported {
            None => {}
            Some(false) => {
                let _ = writeln!(o, "{pad}<{} supported='no'/>", self.name);
            }
            Some(true) => {
                let _ = writeln!(o, "{pad}<{} supported='yes'>", self.name);
                for v in &self.values {
                    let _ = writeln!(o, "{pad}  <value>{}</value>", xml::escape(v));
                }
                for e in &self.enums {
                    e.format(o, ind + 2);
                }
                for s in &self.sub {
                    s.format(o, ind + 2);
                }
                let _ = writeln!(o, "{pad}</{}>", self.name);
            }
        }
    }
}

/// The host-model CPU (`<mode name='host-model'>` content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostModel {
    /// Model name.
    pub model: String,
    /// `fallback` attribute (`forbid` or `allow`).
    pub fallback: &'static str,
    /// Vendor, if known.
    pub vendor: Option<String>,
    /// Features as (policy, name), in output order.
    pub features: Vec<(&'static str, String)>,
}

/// One CPU model of the `custom` mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomModel {
    /// Model name.
    pub name: String,
    /// `Some(true)` yes, `Some(false)` no, `None` unknown.
    pub usable: Option<bool>,
    /// Deprecated by QEMU.
    pub deprecated: bool,
    /// Vendor from the CPU map, if known.
    pub vendor: Option<String>,
}

/// The `<cpu>` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuCaps {
    /// `host-passthrough` supported, with its `hostPassthroughMigratable` enum.
    pub host_passthrough: Option<Enum>,
    /// `maximum` supported, with its `maximumMigratable` enum.
    pub maximum: Option<Enum>,
    /// The host-model CPU, when supported.
    pub host_model: Option<HostModel>,
    /// The custom models (empty: not supported).
    pub custom: Vec<CustomModel>,
}

/// SEV data (`<sev supported='yes'>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SevCaps {
    /// C-bit position.
    pub cbitpos: u32,
    /// Reduced physical address bits.
    pub reduced_phys_bits: u32,
    /// Maximum SEV guests.
    pub max_guests: u32,
    /// Maximum SEV-ES guests.
    pub max_es_guests: u32,
    /// CPU 0's id, if reported.
    pub cpu0_id: Option<String>,
}

/// A whole `<domainCapabilities>` document (libvirt's `virDomainCaps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainCaps {
    /// Emulator path.
    pub path: String,
    /// Virtualization type (`kvm`, `qemu`, ...).
    pub virttype: String,
    /// Canonical machine type.
    pub machine: Option<String>,
    /// Architecture.
    pub arch: String,
    /// Maximum vCPUs (0: not written).
    pub max_vcpus: u32,
    /// `<iothreads supported=...>`.
    pub iothreads: Option<bool>,
    /// `<os>` with its `<loader>`.
    pub os: Section,
    /// `<cpu>`.
    pub cpu: CpuCaps,
    /// `<memoryBacking>`.
    pub memory_backing: Section,
    /// Devices, in output order.
    pub devices: Vec<Section>,
    /// `<gic>`.
    pub gic: Section,
    /// Simple features in libvirt's order: vmcoreinfo, genid, backingStoreInput,
    /// backup, s390-pv (`None`: not written).
    pub features: Vec<(&'static str, Option<bool>)>,
    /// SEV.
    pub sev: Option<SevCaps>,
    /// SGX.
    pub sgx: Option<crate::caps::Sgx>,
    /// Hyper-V enlightenments.
    pub hyperv: Option<Section>,
}

impl DomainCaps {
    /// An empty document (`virDomainCapsNew`).
    pub fn new(path: &str, machine: Option<&str>, arch: &str, virttype: &str) -> DomainCaps {
        DomainCaps {
            path: path.to_string(),
            virttype: virttype.to_string(),
            machine: machine.map(str::to_string),
            arch: arch.to_string(),
            max_vcpus: 0,
            iothreads: None,
            os: Section::absent("os"),
            cpu: CpuCaps::default(),
            memory_backing: Section::absent("memoryBacking"),
            devices: Vec::new(),
            gic: Section::absent("gic"),
            features: ["vmcoreinfo", "genid", "backingStoreInput", "backup", "s390-pv"].iter().map(|n| (*n, None)).collect(),
            sev: None,
            sgx: None,
            hyperv: None,
        }
    }

    /// Set simple feature `name`.
    pub fn set_feature(&mut self, name: &str, v: bool) {
        if let Some(f) = self.features.iter_mut().find(|(n, _)| *n == name) {
            f.1 = Some(v);
        }
    }

    /// The device section called `name`.
    pub fn device(&self, name: &str) -> Option<&Section> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// The document as `virDomainCapsFormat` writes it.
    pub fn format(&self) -> String {
        let mut o = String::from("<domainCapabilities>\n");
        let _ = writeln!(o, "  <path>{}</path>", xml::escape(&self.path));
        let _ = writeln!(o, "  <domain>{}</domain>", self.virttype);
        if let Some(m) = &self.machine {
            let _ = writeln!(o, "  <machine>{m}</machine>");
        }
        let _ = writeln!(o, "  <arch>{}</arch>", self.arch);
        if self.max_vcpus > 0 {
            let _ = writeln!(o, "  <vcpu max='{}'/>", self.max_vcpus);
        }
        if let Some(io) = self.iothreads {
            let _ = writeln!(o, "  <iothreads supported='{}'/>", xml::yes_no(io));
        }
        self.os.format(&mut o, 2);
        self.format_cpu(&mut o);
        self.memory_backing.format(&mut o, 2);
        o.push_str("  <devices>\n");
        for d in &self.devices {
            d.format(&mut o, 4);
        }
        o.push_str("  </devices>\n");
        let mut f = String::new();
        self.gic.format(&mut f, 4);
        for (name, v) in &self.features {
            if let Some(v) = v {
                let _ = writeln!(f, "    <{name} supported='{}'/>", xml::yes_no(*v));
            }
        }
        match &self.sev {
            None => f.push_str("    <sev supported='no'/>\n"),
            Some(s) => {
                f.push_str("    <sev supported='yes'>\n");
                let _ = writeln!(f, "      <cbitpos>{}</cbitpos>", s.cbitpos);
                let _ = writeln!(f, "      <reducedPhysBits>{}</reducedPhysBits>", s.reduced_phys_bits);
                let _ = writeln!(f, "      <maxGuests>{}</maxGuests>", s.max_guests);
                let _ = writeln!(f, "      <maxESGuests>{}</maxESGuests>", s.max_es_guests);
                if let Some(id) = &s.cpu0_id {
                    let _ = writeln!(f, "      <cpu0Id>{id}</cpu0Id>");
                }
                f.push_str("    </sev>\n");
            }
        }
        match &self.sgx {
            None => f.push_str("    <sgx supported='no'/>\n"),
            Some(s) => {
                f.push_str("    <sgx supported='yes'>\n");
                let _ = writeln!(f, "      <flc>{}</flc>", xml::yes_no(s.flc));
                let _ = writeln!(f, "      <sgx1>{}</sgx1>", xml::yes_no(s.sgx1));
                let _ = writeln!(f, "      <sgx2>{}</sgx2>", xml::yes_no(s.sgx2));
                let _ = writeln!(f, "      <section_size unit='KiB'>{}</section_size>", s.section_size);
                if !s.sections.is_empty() {
                    f.push_str("      <sections>\n");
                    for (node, size) in &s.sections {
                        let _ = writeln!(f, "        <section node='{node}' size='{size}' unit='KiB'/>");
                    }
                    f.push_str("      </sections>\n");
                }
                f.push_str("    </sgx>\n");
            }
        }
        if let Some(h) = &self.hyperv {
            h.format(&mut f, 4);
        }
        if f.is_empty() {
            o.push_str("  <features/>\n");
        } else {
            o.push_str("  <features>\n");
            o.push_str(&f);
            o.push_str("  </features>\n");
        }
        o.push_str("</domainCapabilities>\n");
        o
    }

    fn format_cpu(&self, o: &mut String) {
        let c = &self.cpu;
        o.push_str("  <cpu>\n");
        for (name, mode) in [("host-passthrough", &c.host_passthrough), ("maximum", &c.maximum)] {
            match mode {
                None => {
                    let _ = writeln!(o, "    <mode name='{name}' supported='no'/>");
                }
                Some(e) if !e.report => {
                    let _ = writeln!(o, "    <mode name='{name}' supported='yes'/>");
                }
                Some(e) => {
                    let _ = writeln!(o, "    <mode name='{name}' supported='yes'>");
                    e.format(o, 6);
                    o.push_str("    </mode>\n");
                }
            }
        }
        match &c.host_model {
            None => o.push_str("    <mode name='host-model' supported='no'/>\n"),
            Some(h) => {
                o.push_str("    <mode name='host-model' supported='yes'>\n");
                let _ = writeln!(o, "      <model fallback='{}'>{}</model>", h.fallback, xml::escape(&h.model));
                if let Some(v) = &h.vendor {
                    let _ = writeln!(o, "      <vendor>{}</vendor>", xml::escape(v));
                }
                for (policy, name) in &h.features {
                    let _ = writeln!(o, "      <feature policy='{policy}' name='{}'/>", xml::escape(name));
                }
                o.push_str("    </mode>\n");
            }
        }
        if c.custom.is_empty() {
            o.push_str("    <mode name='custom' supported='no'/>\n");
        } else {
            o.push_str("    <mode name='custom' supported='yes'>\n");
            for m in &c.custom {
                let usable = match m.usable {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "unknown",
                };
                let _ = write!(o, "      <model usable='{usable}'");
                if m.deprecated {
                    o.push_str(" deprecated='yes'");
                }
                let _ = writeln!(o, " vendor='{}'>{}</model>", m.vendor.as_deref().unwrap_or("unknown"), xml::escape(&m.name));
            }
            o.push_str("    </mode>\n");
        }
        o.push_str("  </cpu>\n");
    }
}

/// Facts about the host the document depends on.
#[derive(Debug, Clone, Default)]
pub struct HostEnv {
    /// The host's architecture.
    pub host_arch: String,
    /// Whether the driver is privileged (system): no per-user firmware descriptors.
    pub privileged: bool,
    /// Firmware descriptor directories, lowest priority first (`/usr/share/qemu/firmware`,
    /// `/etc/qemu/firmware`, then the user's).
    pub firmware_dirs: Vec<PathBuf>,
    /// Whether loader files must exist to be listed (false in the test suite).
    pub check_loader_files: bool,
    /// Loader paths that replace the computed list (the test suite's fixed values).
    pub loader_override: Option<Vec<String>>,
    /// Whether VFIO PCI passthrough is usable.
    pub vfio: bool,
    /// Report the `default` and `vfio` PCI backends whatever the binary has (the test
    /// suite sets them by hand, as it cannot mock the host's VFIO check).
    pub fixed_pci_backend: bool,
    /// swtpm present, with the TPM versions `swtpm_setup` supports (1.2, 2.0).
    pub swtpm: Option<(bool, bool)>,
    /// KVM's vCPU limit (`KVM_CAP_MAX_VCPUS`), when known.
    pub kvm_max_vcpus: Option<u32>,
    /// SEV guest limits (SEV, SEV-ES) from CPUID.
    pub sev_limits: (u32, u32),
    /// libvirt's CPU model map, when available.
    pub cpu_map: Option<cpumap::CpuMap>,
    /// The host CPU model detected without QEMU's help (ppc64 hosts), if any.
    pub host_cpu: Option<HostModel>,
    /// Whether KVM secure guests are supported by the kernel (s390 PV).
    pub kvm_secure_guest: Option<bool>,
}

/// Where libvirt's CPU model map lives.
pub const CPU_MAP_DIR: &str = "/usr/share/libvirt/cpu_map";

/// libvirt's built-in loader list (the code images of `DEFAULT_LOADER_NVRAM`), used when
/// no firmware descriptor matches.
const DEFAULT_LOADERS: &[&str] = &[
    "/usr/share/OVMF/OVMF_CODE.fd",
    "/usr/share/OVMF/OVMF_CODE.secboot.fd",
    "/usr/share/AAVMF/AAVMF_CODE.fd",
    "/usr/share/AAVMF/AAVMF32_CODE.fd",
];

/// The test suite's fixed loader paths (libvirt's `domaincapstest`).
const TEST_LOADERS: &[&str] = &["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF32_CODE.fd", "/usr/share/OVMF/OVMF_CODE.fd"];

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn in_path(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into());
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

/// The host architecture as libvirt names it.
pub fn host_arch() -> String {
    match std::env::consts::ARCH {
        "x86" => "i686".into(),
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le".into(),
        "powerpc64" => "ppc64".into(),
        "arm" => "armv7l".into(),
        a => a.to_string(),
    }
}

impl HostEnv {
    /// What the real host offers (without the CPU map, which callers load once).
    pub fn probe(privileged: bool) -> HostEnv {
        let mut dirs = vec![PathBuf::from("/usr/share/qemu/firmware"), PathBuf::from("/etc/qemu/firmware")];
        if !privileged {
            if let Some(c) = env_path("XDG_CONFIG_HOME").or_else(|| env_path("HOME").map(|h| h.join(".config"))) {
                dirs.push(c.join("qemu/firmware"));
            }
        }
        let iommu = std::fs::read_dir("/sys/kernel/iommu_groups").map(|mut d| d.next().is_some()).unwrap_or(false);
        let vfio = iommu && Path::new("/dev/vfio/vfio").exists();
        let swtpm = if ["swtpm", "swtpm_setup", "swtpm_ioctl"].iter().all(|p| in_path(p).is_some()) {
            let out = std::process::Command::new("swtpm_setup").arg("--print-capabilities").output().ok();
            let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
            Some((text.contains("\"tpm-1.2\""), text.contains("\"tpm-2.0\"")))
        } else {
            None
        };
        HostEnv {
            host_arch: host_arch(),
            privileged,
            firmware_dirs: dirs,
            check_loader_files: true,
            loader_override: None,
            vfio,
            fixed_pci_backend: false,
            swtpm,
            kvm_max_vcpus: None,
            sev_limits: (0, 0),
            cpu_map: None,
            host_cpu: None,
            kvm_secure_guest: None,
        }
    }

    /// The fixed host of libvirt's `domaincapstest` for binaries of `arch` at QEMU
    /// `version` (`major * 1_000_000 + ...`): firmware descriptors from
    /// `firmware_root` (the corpus's `qemufirmwaredata`), VFIO usable, swtpm with
    /// TPM 1.2 before QEMU 6, both in 6.x and 2.0 after, the fixed loader list, SEV
    /// limits 59/450 and the fake host CPU of ppc64.
    pub fn testsuite(arch: &str, version: u64, firmware_root: &Path, cpu_map: Option<cpumap::CpuMap>) -> HostEnv {
        let major = version / 1_000_000;
        let swtpm = match major {
            0..=5 => (true, false),
            6 => (true, true),
            _ => (false, true),
        };
        let host_cpu =
            arch.starts_with("ppc64").then(|| HostModel { model: "POWER8".into(), fallback: "allow", vendor: None, features: Vec::new() });
        HostEnv {
            host_arch: arch.to_string(),
            privileged: false,
            firmware_dirs: vec![
                firmware_root.join("usr/share/qemu/firmware"),
                firmware_root.join("etc/qemu/firmware"),
                firmware_root.join("home/user/.config/qemu/firmware"),
            ],
            check_loader_files: false,
            loader_override: Some(TEST_LOADERS.iter().map(|s| s.to_string()).collect()),
            vfio: true,
            fixed_pci_backend: true,
            swtpm: Some(swtpm),
            kvm_max_vcpus: None,
            sev_limits: (59, 450),
            cpu_map,
            host_cpu,
            kvm_secure_guest: Some(true),
        }
    }
}

/// libvirt's `virQEMUCapsGuestIsNative`.
pub fn guest_is_native(host: &str, guest: &str) -> bool {
    let is_ppc64 = |a: &str| matches!(a, "ppc64" | "ppc64le");
    host == guest
        || (host == "x86_64" && guest == "i686")
        || (host == "aarch64" && guest == "armv7l")
        || (is_ppc64(host) && is_ppc64(guest))
}

/// The accelerator a virtualization type uses.
pub fn accel_of(virttype: &str) -> &'static str {
    match virttype {
        "kvm" => "kvm",
        "hvf" => "hvf",
        _ => "tcg",
    }
}

/// The virtualization type the binary offers best (`virQEMUCapsGetVirtType`).
pub fn caps_virttype(caps: &QemuCaps) -> &'static str {
    if caps.has("kvm") {
        "kvm"
    } else if caps.has("hvf") {
        "hvf"
    } else if caps.has("tcg") {
        "qemu"
    } else {
        "none"
    }
}

/// Resolve a machine alias for `virttype` (`virQEMUCapsGetCanonicalMachine`).
pub fn canonical_machine(caps: &QemuCaps, virttype: &str, name: &str) -> String {
    let accel = accel_of(virttype);
    caps.machines
        .iter()
        .filter(|m| m.accel == accel)
        .find(|m| m.alias.as_deref() == Some(name))
        .map(|m| m.name.clone())
        .unwrap_or_else(|| name.to_string())
}

/// The first machine of `virttype` (`virQEMUCapsGetPreferredMachine`).
pub fn preferred_machine(caps: &QemuCaps, virttype: &str) -> Option<String> {
    let accel = accel_of(virttype);
    caps.machines.iter().find(|m| m.accel == accel).map(|m| m.name.clone())
}

/// Whether `machine` (canonical) exists for `virttype`.
pub fn machine_supported(caps: &QemuCaps, virttype: &str, machine: &str) -> bool {
    let accel = accel_of(virttype);
    caps.machines.iter().any(|m| m.accel == accel && m.name == machine)
}

fn is_pseries(machine: &str, arch: &str) -> bool {
    arch.starts_with("ppc64") && (machine == "pseries" || machine.starts_with("pseries-"))
}

fn has_builtin_ide(machine: &str, arch: &str) -> bool {
    let i440fx = matches!(arch, "i686" | "x86_64")
        && (machine == "pc" || machine.starts_with("pc-0.") || machine.starts_with("pc-1.") || machine.starts_with("pc-i440"));
    i440fx || machine == "malta" || machine == "sun4u" || machine == "g3beige"
}

fn is_arm_virt(machine: &str, arch: &str) -> bool {
    matches!(arch, "armv6l" | "armv7l" | "armv7b" | "aarch64") && (machine == "virt" || machine.starts_with("virt-"))
}

fn is_s390(arch: &str) -> bool {
    matches!(arch, "s390" | "s390x")
}

const S390_HOST_PASSTHROUGH_ONLY: &[&str] = &["s390-ccw-virtio-2.4", "s390-ccw-virtio-2.5", "s390-ccw-virtio-2.6", "s390-ccw-virtio-2.7"];

/// QEMU's names for x86 features that libvirt spells differently.
pub(crate) fn x86_feature_from_qemu(name: &str) -> &str {
    match name {
        "cmp-legacy" => "cmp_legacy",
        "ds-cpl" => "ds_cpl",
        "fxsr-opt" => "fxsr_opt",
        "kvm-pv-eoi" => "kvm_pv_eoi",
        "kvm-pv-unhalt" => "kvm_pv_unhalt",
        "lahf-lm" => "lahf_lm",
        "nodeid-msr" => "nodeid_msr",
        "pclmulqdq" => "pclmuldq",
        "perfctr-core" => "perfctr_core",
        "perfctr-nb" => "perfctr_nb",
        "tsc-adjust" => "tsc_adjust",
        other => other,
    }
}

/// Build the document for `caps` (libvirt's `virQEMUDriverGetDomainCapabilities` after
/// argument resolution): `machine` must be canonical, `arch` and `virttype` valid.
pub fn fill(caps: &QemuCaps, path: &str, arch: &str, virttype: &str, machine: Option<&str>, env: &HostEnv) -> Result<DomainCaps> {
    let mut dc = DomainCaps::new(path, machine, arch, virttype);
    let accel = accel_of(virttype);
    let has = |f: &str| caps.has(f);
    let mach = machine.unwrap_or("");

    // Features from flags.
    dc.iothreads = Some(has("iothread"));
    dc.set_feature("vmcoreinfo", has("vmcoreinfo"));
    dc.set_feature("genid", has("vmgenid"));
    dc.set_feature("backingStoreInput", true);
    dc.set_feature("backup", has("incremental-backup"));

    dc.max_vcpus = caps.machines.iter().filter(|m| m.accel == accel && m.max_cpus > 0).find(|m| m.name == mach).map_or(0, |m| m.max_cpus);
    if virttype == "kvm" {
        if let Some(limit) = env.kvm_max_vcpus {
            dc.max_vcpus = dc.max_vcpus.min(limit);
        }
    }

    dc.os = fill_os(mach, arch, env)?;
    dc.cpu = fill_cpu(caps, arch, virttype, mach, env)?;

    let mut mb = Section::new("memoryBacking", vec![Enum::new("sourceType", MEMORY_SOURCE)]);
    if let Some(e) = mb.enum_mut("sourceType") {
        if has("memory-backend-memfd") {
            e.set("memfd");
        }
        e.set_all(&["anonymous", "file"]);
    }
    dc.memory_backing = mb;

    // Disk.
    let mut device = Enum::new("diskDevice", DISK_DEVICE);
    device.set_all(&["disk", "cdrom", "lun"]);
    let mut bus = Enum::new("bus", DISK_BUS);
    if !is_pseries(mach, &caps.arch) {
        device.set("floppy");
        bus.set("fdc");
    }
    if has_builtin_ide(mach, &caps.arch) {
        bus.set("ide");
    }
    bus.set_all(&["scsi", "virtio"]);
    if has("usb-storage") {
        bus.set("usb");
    }
    if has("ich9-ahci") {
        bus.set("sata");
    }
    let mut model = Enum::new("model", DISK_MODEL);
    model.set("virtio");
    if has("virtio-pci-non-transitional") {
        model.set_all(&["virtio-transitional", "virtio-non-transitional"]);
    }
    dc.devices.push(Section::new("disk", vec![device, bus, model]));

    // Graphics.
    let mut g = Enum::new("type", GRAPHICS);
    for (flag, v) in [("sdl", "sdl"), ("vnc", "vnc"), ("spice", "spice"), ("egl-headless", "egl-headless"), ("display-dbus", "dbus")] {
        if has(flag) {
            g.set(v);
        }
    }
    dc.devices.push(Section::new("graphics", vec![g]));

    // Video.
    let mut v = Enum::new("modelType", VIDEO);
    v.set("none");
    for (flag, val) in [
        ("VGA", "vga"),
        ("cirrus-vga", "cirrus"),
        ("vmware-svga", "vmvga"),
        ("qxl", "qxl"),
        ("virtio-gpu", "virtio"),
        ("bochs-display", "bochs"),
        ("ramfb", "ramfb"),
    ] {
        if has(flag) {
            v.set(val);
        }
    }
    dc.devices.push(Section::new("video", vec![v]));

    // Host devices.
    let mut mode = Enum::new("mode", HOSTDEV_MODE);
    mode.set("subsystem");
    let mut policy = Enum::new("startupPolicy", STARTUP_POLICY);
    policy.set_all(STARTUP_POLICY);
    let mut subsys = Enum::new("subsysType", HOSTDEV_SUBSYS);
    subsys.set_all(&["pci", "scsi"]);
    let usb =
        ["piix3-usb-uhci", "piix4-usb-uhci", "usb-ehci", "ich9-usb-ehci1", "vt82c686b-usb-uhci", "pci-ohci", "nec-usb-xhci", "qemu-xhci"];
    if usb.iter().any(|f| has(f)) {
        subsys.set("usb");
    }
    let mut backend = Enum::new("pciBackend", PCI_BACKEND);
    if (env.vfio && has("vfio-pci")) || env.fixed_pci_backend {
        backend.set_all(&["default", "vfio"]);
    }
    dc.devices.push(Section::new("hostdev", vec![mode, policy, subsys, Enum::new("capsType", HOSTDEV_CAPS), backend]));

    // RNG.
    let mut rm = Enum::new("model", RNG_MODEL);
    if has("virtio-rng") {
        rm.set("virtio");
        if has("virtio-pci-non-transitional") {
            rm.set_all(&["virtio-transitional", "virtio-non-transitional"]);
        }
    }
    let mut rb = Enum::new("backendModel", RNG_BACKEND);
    for (flag, val) in [("rng-egd", "egd"), ("rng-random", "random"), ("rng-builtin", "builtin")] {
        if has(flag) {
            rb.set(val);
        }
    }
    dc.devices.push(Section::new("rng", vec![rm, rb]));

    // Filesystem.
    let mut fs = Enum::new("driverType", FS_DRIVER);
    if has("vhost-user-fs") {
        fs.set("virtiofs");
    }
    fs.set_all(&["path", "handle"]);
    dc.devices.push(Section::new("filesystem", vec![fs]));

    // TPM.
    let mut tm = Enum::new("model", TPM_MODEL);
    for (flag, val) in [("tpm-tis", "tpm-tis"), ("tpm-crb", "tpm-crb"), ("tpm-spapr", "tpm-spapr"), ("spapr-tpm-proxy", "spapr-tpm-proxy")]
    {
        if has(flag) {
            tm.set(val);
        }
    }
    let mut tb = Enum::new("backendModel", TPM_BACKEND);
    if has("tpm-passthrough") {
        tb.set("passthrough");
    }
    let mut tv = Enum::new("backendVersion", TPM_VERSION);
    tv.report = false;
    if let Some((v12, v20)) = env.swtpm {
        if has("tpm-emulator") {
            tb.set_all(&["emulator", "external"]);
        }
        if v12 {
            tv.set("1.2");
            tv.report = true;
        }
        if v20 {
            tv.set("2.0");
            tv.report = true;
        }
    }
    if tm.is_empty() {
        dc.devices.push(Section::no("tpm"));
    } else {
        dc.devices.push(Section::new("tpm", vec![tm, tb, tv]));
    }

    // Redirdev.
    if has("usb-redir") {
        let mut b = Enum::new("bus", REDIRDEV_BUS);
        b.set("usb");
        dc.devices.push(Section::new("redirdev", vec![b]));
    } else {
        dc.devices.push(Section::no("redirdev"));
    }

    // Channel.
    let mut ch = Enum::new("type", CHR_TYPE);
    ch.set_all(&["pty", "unix"]);
    if has("spice") {
        ch.set("spicevmc");
    }
    dc.devices.push(Section::new("channel", vec![ch]));

    // GIC.
    dc.gic = Section::no("gic");
    if is_arm_virt(mach, arch) {
        let mut ver = Enum::new("version", GIC_VERSION);
        for g in &caps.gic {
            let ok = (virttype == "kvm" && g.kernel) || (virttype == "qemu" && g.emulated);
            if ok {
                ver.set(&g.version.to_string());
            }
        }
        if !ver.is_empty() {
            dc.gic = Section::new("gic", vec![ver]);
        }
    }

    // SEV, s390 PV, SGX, Hyper-V.
    dc.sev = caps.sev.as_ref().map(|s| SevCaps {
        cbitpos: s.cbitpos,
        reduced_phys_bits: s.reduced_phys_bits,
        max_guests: env.sev_limits.0,
        max_es_guests: env.sev_limits.1,
        cpu0_id: s.cpu0_id.clone(),
    });
    if is_s390(&caps.arch) {
        let secure = env.kvm_secure_guest.unwrap_or(caps.kvm_supports_secure_guest);
        let pv = has("confidential-guest-support") && has("s390-pv-guest") && secure;
        dc.set_feature("s390-pv", pv);
    }
    dc.sgx = caps.sgx.clone();
    dc.hyperv = caps.hyperv.as_ref().map(|h| {
        let mut sec = Section::new("hyperv", vec![Enum::new("features", HYPERV)]);
        match h.supported {
            Some(true) => {
                if let Some(e) = sec.enum_mut("features") {
                    for c in &h.caps {
                        e.set(c);
                    }
                }
            }
            Some(false) => sec = Section::no("hyperv"),
            None => sec = Section::absent("hyperv"),
        }
        sec
    });
    Ok(dc)
}

fn fill_os(machine: &str, arch: &str, env: &HostEnv) -> Result<Section> {
    let fw = firmware::supported(&env.firmware_dirs, machine, arch)?;
    let mut firmware = Enum::new("firmware", FIRMWARE);
    if fw.bios {
        firmware.set("bios");
    }
    if fw.efi {
        firmware.set("efi");
    }
    let mut loader = Section::new(
        "loader",
        vec![Enum::new("type", LOADER_TYPE), Enum::new("readonly", TRISTATE_BOOL), Enum::new("secure", TRISTATE_BOOL)],
    );
    loader.values = match &env.loader_override {
        Some(v) => v.clone(),
        None => {
            // Without a matching descriptor, libvirt lists its built-in loader list
            // (`DEFAULT_LOADER_NVRAM`, qemu.conf's `nvram` default).
            let exes = if fw.executables.is_empty() { DEFAULT_LOADERS.iter().map(|s| s.to_string()).collect() } else { fw.executables };
            let mut out: Vec<String> = Vec::new();
            for p in exes {
                if (!env.check_loader_files || Path::new(&p).exists()) && !out.contains(&p) {
                    out.push(p);
                }
            }
            out
        }
    };
    if let Some(e) = loader.enum_mut("type") {
        e.set_all(&["rom", "pflash"]);
    }
    if let Some(e) = loader.enum_mut("readonly") {
        e.set_all(&["yes", "no"]);
    }
    if let Some(e) = loader.enum_mut("secure") {
        e.set("no");
        if fw.secure {
            e.set("yes");
        }
    }
    let mut os = Section::new("os", vec![firmware]);
    os.sub.push(loader);
    Ok(os)
}

fn fill_cpu(caps: &QemuCaps, arch: &str, virttype: &str, machine: &str, env: &HostEnv) -> Result<CpuCaps> {
    let accel = accel_of(virttype);
    let mut cpu = CpuCaps::default();
    let s390_old = is_s390(&caps.arch) && virttype == "kvm" && S390_HOST_PASSTHROUGH_ONLY.contains(&machine);
    if virttype != "qemu" && guest_is_native(&env.host_arch, &caps.arch) {
        let mut e = Enum::new("hostPassthroughMigratable", TRISTATE_SWITCH);
        if caps.has("cpu.migratable") {
            e.set("on");
        }
        e.set("off");
        cpu.host_passthrough = Some(e);
    }
    if s390_old {
        return Ok(cpu);
    }
    if caps.has("cpu-max") {
        let mut e = Enum::new("maximumMigratable", TRISTATE_SWITCH);
        e.set_all(&["on", "off"]);
        cpu.maximum = Some(e);
    }
    if guest_is_native(&env.host_arch, &caps.arch) {
        cpu.host_model = host_model(caps, accel, env)?;
    }
    let allowed = env.cpu_map.as_ref().and_then(|m| m.models_for(arch));
    for m in caps.cpu_models.iter().filter(|m| m.accel == accel) {
        if m.name == "host" {
            continue;
        }
        if let Some(allowed) = &allowed {
            if !allowed.iter().any(|a| *a == m.name) {
                continue;
            }
        }
        cpu.custom.push(CustomModel {
            name: m.name.clone(),
            usable: m.usable,
            deprecated: m.deprecated,
            vendor: env.cpu_map.as_ref().and_then(|map| map.vendor_of(arch, &m.name)),
        });
    }
    Ok(cpu)
}

/// The host-model CPU of `accel` (`virQEMUCapsInitHostCPUModel`, reported variant).
fn host_model(caps: &QemuCaps, accel: &str, env: &HostEnv) -> Result<Option<HostModel>> {
    let info = caps.host_cpus.iter().find(|h| h.accel == accel);
    if is_s390(&caps.arch) {
        let Some(info) = info else {
            if accel == "kvm" {
                return Err(QemuError::Internal(format!(
                    "missing host CPU model info from QEMU capabilities for binary {}",
                    caps.emulator
                )));
            }
            return Ok(None);
        };
        let features = info
            .props
            .iter()
            .filter_map(|p| match p.value {
                CpuPropValue::Bool(b) => Some((if b { "require" } else { "disable" }, p.name.clone())),
                _ => None,
            })
            .collect();
        return Ok(Some(HostModel { model: info.model.clone(), fallback: "forbid", vendor: None, features }));
    }
    if matches!(caps.arch.as_str(), "i686" | "x86_64") {
        let (Some(info), Some(map)) = (info, env.cpu_map.as_ref()) else { return Ok(None) };
        let usable: Vec<&crate::caps::CpuModel> = caps.cpu_models.iter().filter(|m| m.accel == accel).collect();
        let props: Vec<(String, CpuPropValue)> =
            info.props.iter().map(|p| (x86_feature_from_qemu(&p.name).to_string(), p.value.clone())).collect();
        let drop_msr = !caps.has("cpu-unavailable-features");
        return Ok(map.x86_decode(&props, &usable, drop_msr));
    }
    if matches!(caps.arch.as_str(), "armv6l" | "armv7l" | "armv7b" | "aarch64") {
        return Ok(None);
    }
    Ok(env.host_cpu.clone())
}

/// Resolve `virConnectGetDomainCapabilities`' arguments as libvirt's
/// `virQEMUCapsCacheLookupDefault` + `virQEMUDriverGetDomainCapabilities` do, given the
/// capabilities of the binary (looked up by the caller from `emulator`, or the
/// default binary of `arch`). Returns (arch, virttype, canonical machine).
pub fn resolve_args(
    caps: &QemuCaps,
    binary: &str,
    arch: Option<&str>,
    virttype: Option<&str>,
    machine: Option<&str>,
    host_arch: &str,
) -> std::result::Result<(String, String, Option<String>), oxvirt_util::VirError> {
    use oxvirt_util::{ErrorCode, ErrorDomain, VirError};
    let inval = |code: ErrorCode, m: String| VirError::new(code, ErrorDomain::Qemu, m);
    let arch = arch.unwrap_or(host_arch).to_string();
    let family = |a: &str| -> &'static str {
        match a {
            "i686" | "x86_64" => "x86",
            "ppc" | "ppcle" | "ppc64" | "ppc64le" | "ppcemb" => "ppc",
            "armv6l" | "armv7l" | "armv7b" | "aarch64" => "arm",
            "s390" | "s390x" => "s390",
            _ => "",
        }
    };
    if caps.arch != arch && (family(&arch).is_empty() || family(&arch) != family(&caps.arch)) {
        return Err(inval(
            ErrorCode::InvalidArg,
            format!("architecture from emulator '{}' doesn't match given architecture '{arch}'", caps.arch),
        ));
    }
    let caps_type = caps_virttype(caps);
    let virttype = virttype.unwrap_or(caps_type).to_string();
    if virttype != "qemu" && caps_type == "qemu" {
        return Err(inval(
            ErrorCode::InvalidArg,
            format!("the accel '{}' is not supported by '{binary}' on this host", accel_name(&virttype)),
        ));
    }
    let machine = match machine {
        Some(m) => {
            let canon = canonical_machine(caps, &virttype, m);
            if !machine_supported(caps, &virttype, &canon) {
                return Err(inval(ErrorCode::InvalidArg, format!("the machine '{canon}' is not supported by emulator '{binary}'")));
            }
            Some(canon)
        }
        None => preferred_machine(caps, &virttype),
    };
    let arch_ok = arch == caps.arch
        || (caps.arch == "x86_64" && arch == "i686")
        || (caps.arch == "aarch64" && arch == "armv7l")
        || (caps.arch == "armv7l" && arch == "armv6l")
        || (caps.arch == "ppc64" && arch == "ppc64le");
    if !arch_ok {
        return Err(inval(ErrorCode::InvalidArg, format!("Emulator '{binary}' does not support arch '{arch}'")));
    }
    let type_ok =
        (virttype == "qemu" && caps.has("tcg")) || (virttype == "hvf" && caps.has("hvf")) || (virttype == "kvm" && caps.has("kvm"));
    if !type_ok {
        return Err(inval(ErrorCode::InvalidArg, format!("Emulator '{binary}' does not support virt type '{virttype}'")));
    }
    match &machine {
        Some(m) if machine_supported(caps, &virttype, m) => {}
        m => {
            return Err(inval(
                ErrorCode::ConfigUnsupported,
                format!("Emulator '{binary}' does not support machine type '{}'", m.as_deref().unwrap_or("<null>")),
            ))
        }
    }
    Ok((arch, virttype, machine))
}

/// The process-wide CPU map (loaded once; `OXVIRT_CPU_MAP_DIR` overrides its place).
pub(crate) fn shared_cpu_map() -> Option<cpumap::CpuMap> {
    static MAP: std::sync::OnceLock<Option<cpumap::CpuMap>> = std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        let dir = env_path("OXVIRT_CPU_MAP_DIR").unwrap_or_else(|| PathBuf::from(CPU_MAP_DIR));
        cpumap::CpuMap::load(&dir).ok()
    })
    .clone()
}

/// `virConnectGetDomainCapabilities` of a QEMU driver instance (libvirt's
/// `qemuConnectGetDomainCapabilities`): arguments checked and defaulted as libvirt does,
/// the binary's capabilities from `lookup` (the driver's capabilities cache).
pub fn connect_get(
    lookup: impl Fn(&str) -> std::result::Result<std::sync::Arc<QemuCaps>, oxvirt_util::VirError>,
    privileged: bool,
    emulator: Option<&str>,
    arch: Option<&str>,
    machine: Option<&str>,
    virttype: Option<&str>,
    flags: u32,
) -> std::result::Result<String, oxvirt_util::VirError> {
    use oxvirt_util::{ErrorCode, ErrorDomain, VirError};
    oxvirt::driver::check_flags(flags, 0, "qemuConnectGetDomainCapabilities", ErrorDomain::Qemu)?;
    check_names(arch, virttype)?;
    let host = host_arch();
    let binary = match emulator {
        Some(e) => e.to_string(),
        None => default_emulator(&host, arch.unwrap_or(&host)).ok_or_else(|| {
            VirError::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Qemu,
                format!("unable to find any emulator to serve '{}' architecture", arch.unwrap_or("(null)")),
            )
        })?,
    };
    let caps = lookup(&binary)?;
    let (arch, virttype, machine) = resolve_args(&caps, &binary, arch, virttype, machine, &host)?;
    let mut env = HostEnv::probe(privileged);
    env.cpu_map = shared_cpu_map();
    let dc = fill(&caps, &binary, &arch, &virttype, machine.as_deref(), &env).map_err(oxvirt_util::VirError::from)?;
    Ok(dc.format())
}

/// libvirt's `virQEMUCapsAccelStr`.
fn accel_name(virttype: &str) -> &'static str {
    match virttype {
        "kvm" => "kvm",
        "hvf" => "hvf",
        _ => "tcg",
    }
}

/// Check a `virttype` and `arch` argument against libvirt's names, with libvirt's errors.
pub fn check_names(arch: Option<&str>, virttype: Option<&str>) -> std::result::Result<(), oxvirt_util::VirError> {
    use oxvirt_util::{ErrorCode, ErrorDomain, VirError};
    if let Some(v) = virttype {
        if !VIRT_TYPES.contains(&v) {
            return Err(VirError::new(ErrorCode::InvalidArg, ErrorDomain::Qemu, format!("unknown virttype: {v}")));
        }
    }
    if let Some(a) = arch {
        if !ARCHES.contains(&a) {
            return Err(VirError::new(ErrorCode::InvalidArg, ErrorDomain::Qemu, format!("unknown architecture: {a}")));
        }
    }
    Ok(())
}

/// QEMU's name for a libvirt architecture (`virQEMUCapsArchToString`).
pub fn qemu_arch_name(arch: &str) -> &str {
    match arch {
        "i686" => "i386",
        "armv6l" | "armv7l" => "arm",
        "openrisc" => "or32",
        a => a,
    }
}

/// The emulator serving `arch` on this host (`virQEMUCapsGetDefaultEmulator`):
/// `qemu-system-ARCH` in `PATH`, else the binary of the target libvirt's
/// `virQEMUCapsFindTarget` picks (the host's own for native guests, `ppc64` for both
/// ppc64 flavours).
pub fn default_emulator(host: &str, arch: &str) -> Option<String> {
    let find = |a: &str| in_path(&format!("qemu-system-{}", qemu_arch_name(a))).map(|p| p.display().to_string());
    if host == "aarch64" && arch == "armv7l" {
        if let Some(b) = find(host) {
            return Some(b);
        }
    }
    if let Some(b) = find(arch) {
        return Some(b);
    }
    let mut target = if guest_is_native(host, arch) { host } else { arch };
    if matches!(target, "ppc64" | "ppc64le") {
        target = "ppc64";
    }
    if target != arch {
        find(target)
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn enums_format_in_libvirt_order() {
        let mut e = Enum::new("bus", DISK_BUS);
        e.set("sata").set("ide").set("bogus");
        assert_eq!(e.values(), vec!["ide", "sata"]);
        let mut o = String::new();
        Enum::new("capsType", HOSTDEV_CAPS).format(&mut o, 0);
        assert_eq!(o, "<enum name='capsType'/>\n");
    }

    #[test]
    fn arguments_resolve_like_libvirt() {
        let caps = QemuCaps::parse(
            "<qemuCaps><arch>x86_64</arch><flag name='kvm'/><flag name='tcg'/>\
             <machine type='kvm' name='pc-i440fx-8.0' alias='pc' maxCpus='255'/>\
             <machine type='tcg' name='pc-i440fx-8.0' alias='pc' maxCpus='255'/>\
             <machine type='tcg' name='pc-q35-8.0' alias='q35' maxCpus='288'/></qemuCaps>",
        )
        .unwrap();
        let (a, v, m) = resolve_args(&caps, "/q", None, None, None, "x86_64").unwrap();
        assert_eq!((a.as_str(), v.as_str(), m.as_deref()), ("x86_64", "kvm", Some("pc-i440fx-8.0")));
        let (_, _, m) = resolve_args(&caps, "/q", Some("i686"), Some("qemu"), Some("q35"), "x86_64").unwrap();
        assert_eq!(m.as_deref(), Some("pc-q35-8.0"));
        let e = resolve_args(&caps, "/q", Some("aarch64"), None, None, "x86_64").unwrap_err();
        assert_eq!(e.message, "invalid argument: architecture from emulator 'x86_64' doesn't match given architecture 'aarch64'");
        let e = resolve_args(&caps, "/q", None, Some("kvm"), Some("q35"), "x86_64").unwrap_err();
        assert_eq!(e.message, "invalid argument: the machine 'q35' is not supported by emulator '/q'");
        assert!(check_names(Some("x86_64"), Some("kvm")).is_ok());
        assert_eq!(check_names(Some("vax"), None).unwrap_err().message, "invalid argument: unknown architecture: vax");
        assert_eq!(check_names(None, Some("foo")).unwrap_err().message, "invalid argument: unknown virttype: foo");
    }
}
