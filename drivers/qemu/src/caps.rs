//! Per-binary QEMU capabilities: libvirt's `<qemuCaps>` cache document (the format of
//! the corpus's `qemucapabilitiesdata/caps_*.xml`), probing over QMP ([`probe`]) and the
//! host `<capabilities>` derived from a binary ([`host`]).
//!
//! [`QemuCaps::format`] writes the cache document byte for byte as libvirt 9.0 does:
//! header numbers, flags in libvirt's enum order ([`tables::FLAGS`]), version data, then
//! per accelerator (`kvm` first when the binary has it, then `tcg`) the host CPU model
//! expansion, the CPU models and the machine types, then GIC, SEV, SGX and Hyper-V data.

pub mod host;
pub mod hostcpu;
mod json_keys;
pub mod numa;
pub mod probe;
pub mod replies;
mod schema;
pub mod tables;

use crate::error::{QemuError, Result};
use oxvirt_conf::xml;
use roxmltree::Node;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// One machine type the binary offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    /// Accelerator this entry is for (`kvm` or `tcg`).
    pub accel: String,
    /// Canonical name (`pc-i440fx-8.0`).
    pub name: String,
    /// Alias (`pc`), if any.
    pub alias: Option<String>,
    /// Maximum vCPUs.
    pub max_cpus: u32,
    /// Whether this is the binary's default machine.
    pub default: bool,
    /// Default CPU model type name.
    pub default_cpu: Option<String>,
    /// Default RAM id.
    pub default_ram_id: Option<String>,
    /// Whether it is deprecated.
    pub deprecated: bool,
    /// Whether vCPUs can be hot-plugged.
    pub hotplug_cpus: bool,
    /// Whether `-numa node,mem=` is still supported.
    pub numa_mem_supported: bool,
}

/// Value of a host CPU model property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuPropValue {
    /// `type='boolean'`.
    Bool(bool),
    /// `type='string'`.
    Str(String),
    /// `type='number'`.
    Number(i64),
}

/// A property of the expanded host CPU model (`<hostCPU><property .../>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuProp {
    /// Property (feature) name as QEMU spells it.
    pub name: String,
    /// Value.
    pub value: CpuPropValue,
    /// Migratability (`Some(false)` when the feature blocks migration), if known.
    pub migratable: Option<bool>,
}

/// The host CPU model as QEMU expands it for one accelerator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostCpu {
    /// Accelerator (`kvm`, `hvf`, `tcg`).
    pub accel: String,
    /// Model name the expansion started from (`host`, `max`, `base`).
    pub model: String,
    /// Whether migratability data was collected.
    pub migratability: bool,
    /// Properties in QEMU's order.
    pub props: Vec<CpuProp>,
}

/// A CPU model QEMU offers (`query-cpu-definitions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuModel {
    /// Accelerator (`kvm`, `hvf`, `tcg`).
    pub accel: String,
    /// Model name.
    pub name: String,
    /// QOM type name.
    pub typename: Option<String>,
    /// Usability on this host: `Some(true)` yes, `Some(false)` no, `None` unknown.
    pub usable: Option<bool>,
    /// Whether QEMU marks it deprecated.
    pub deprecated: bool,
    /// Features blocking its use (QEMU names); `None` when QEMU reported none at all.
    pub blockers: Option<Vec<String>>,
}

/// One GIC version an aarch64 binary supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gic {
    /// GIC version (2, 3, ...).
    pub version: u32,
    /// Implemented in the kernel (KVM).
    pub kernel: bool,
    /// Emulated by QEMU.
    pub emulated: bool,
}

/// AMD SEV platform data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sev {
    /// C-bit position.
    pub cbitpos: u32,
    /// Physical address bit reduction.
    pub reduced_phys_bits: u32,
    /// Platform Diffie-Hellman key (base64).
    pub pdh: String,
    /// Certificate chain (base64).
    pub cert_chain: String,
    /// Unique id of CPU 0, if reported.
    pub cpu0_id: Option<String>,
}

/// Intel SGX data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sgx {
    /// Flexible launch control.
    pub flc: bool,
    /// SGX1 support.
    pub sgx1: bool,
    /// SGX2 support.
    pub sgx2: bool,
    /// EPC section size in KiB.
    pub section_size: u64,
    /// EPC sections: (NUMA node, size KiB).
    pub sections: Vec<(u32, u64)>,
}

/// Hyper-V enlightenments the host supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hyperv {
    /// `supported` attribute (`yes`, `no`, or absent).
    pub supported: Option<bool>,
    /// Supported enlightenment names in libvirt's order.
    pub caps: Vec<String>,
}

/// Capabilities of one QEMU binary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QemuCaps {
    /// Emulator path.
    pub emulator: String,
    /// Version as libvirt encodes it (`major * 1_000_000 + minor * 1_000 + micro`).
    pub version: u64,
    /// KVM version (0 if not applicable).
    pub kvm_version: u64,
    /// Package string.
    pub package: String,
    /// Whether `<package>` is written even when [`QemuCaps::package`] is empty (QEMU
    /// reported an empty package string).
    pub has_package: bool,
    /// Target architecture.
    pub arch: String,
    /// Capability flag names (`blockdev`, `device.json`, ...).
    pub flags: BTreeSet<String>,
    /// Machine types.
    pub machines: Vec<Machine>,
    /// ctime of the binary when probed.
    pub qemu_ctime: u64,
    /// mtime of QEMU's module directory, if any.
    pub mod_dir_mtime: Option<u64>,
    /// ctime of the prober's own binary.
    pub self_ctime: u64,
    /// Version of the prober.
    pub self_vers: u64,
    /// Host CPU microcode version.
    pub microcode_version: u64,
    /// Host CPU signature.
    pub host_cpu_signature: Option<String>,
    /// Host kernel version.
    pub kernel_version: Option<String>,
    /// Host CPU model expansions (one per accelerator).
    pub host_cpus: Vec<HostCpu>,
    /// CPU models per accelerator.
    pub cpu_models: Vec<CpuModel>,
    /// GIC capabilities.
    pub gic: Vec<Gic>,
    /// SEV data.
    pub sev: Option<Sev>,
    /// SGX data.
    pub sgx: Option<Sgx>,
    /// Hyper-V data.
    pub hyperv: Option<Hyperv>,
    /// KVM supports nested virtualization.
    pub kvm_supports_nesting: bool,
    /// KVM supports secure guests.
    pub kvm_supports_secure_guest: bool,
}

/// Index of a flag name in [`tables::FLAGS`].
pub fn flag_index(name: &str) -> Option<usize> {
    static MAP: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    MAP.get_or_init(|| tables::FLAGS.iter().enumerate().map(|(i, n)| (*n, i)).collect()).get(name).copied()
}

fn caps_err(msg: String) -> QemuError {
    QemuError::Caps(msg)
}

fn num_attr<T: std::str::FromStr>(n: Node<'_, '_>, a: &str) -> Result<Option<T>> {
    match n.attribute(a) {
        None => Ok(None),
        Some(v) => {
            v.trim().parse().map(Some).map_err(|_| caps_err(format!("invalid value '{v}' of attribute '{a}' in <{}>", n.tag_name().name())))
        }
    }
}

fn yes(n: Node<'_, '_>, a: &str) -> bool {
    n.attribute(a) == Some("yes")
}

fn opt_yes_no(n: Node<'_, '_>, a: &str) -> Option<bool> {
    match n.attribute(a) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

fn esc(s: &str) -> String {
    xml::escape(s)
}

impl QemuCaps {
    /// Whether the binary has capability `flag` (libvirt's `virQEMUCapsGet`).
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }

    /// Set capability `flag`.
    pub fn set(&mut self, flag: &str) {
        debug_assert!(flag_index(flag).is_some(), "unknown capability flag {flag}");
        self.flags.insert(flag.to_string());
    }

    /// Clear capability `flag`.
    pub fn clear(&mut self, flag: &str) {
        self.flags.remove(flag);
    }

    /// Parse the `<qemuCaps>` cache document.
    pub fn parse(text: &str) -> Result<QemuCaps> {
        let doc = xml::parse_root(text, "qemuCaps")?;
        let root = doc.root_element();
        let num = |name: &str| -> Result<u64> {
            match xml::child_text_trim(root, name) {
                None => Ok(0),
                Some(v) => v.parse().map_err(|_| caps_err(format!("invalid <{name}> '{v}' in qemu capabilities"))),
            }
        };
        let mut caps = QemuCaps {
            emulator: xml::child_text_trim(root, "emulator").unwrap_or_default(),
            version: num("version")?,
            kvm_version: num("kvmVersion")?,
            package: xml::child_text(root, "package").unwrap_or_default(),
            has_package: xml::child(root, "package").is_some(),
            arch: xml::child_text_trim(root, "arch").unwrap_or_default(),
            qemu_ctime: num("qemuctime")?,
            mod_dir_mtime: xml::child(root, "qemumoddirmtime").map(|_| num("qemumoddirmtime")).transpose()?,
            self_ctime: num("selfctime")?,
            self_vers: num("selfvers")?,
            microcode_version: num("microcodeVersion")?,
            host_cpu_signature: xml::child_text(root, "hostCPUSignature"),
            kernel_version: xml::child_text(root, "kernelVersion"),
            kvm_supports_nesting: xml::child(root, "kvmSupportsNesting").is_some(),
            kvm_supports_secure_guest: xml::child(root, "kvmSupportsSecureGuest").is_some(),
            ..Default::default()
        };
        for f in xml::children(root, "flag") {
            if let Some(n) = f.attribute("name") {
                caps.flags.insert(n.to_string());
            }
        }
        for h in xml::children(root, "hostCPU") {
            caps.host_cpus.push(parse_host_cpu(h)?);
        }
        for c in xml::children(root, "cpu") {
            let has_children = c.children().next().is_some();
            caps.cpu_models.push(CpuModel {
                accel: c.attribute("type").unwrap_or("kvm").to_string(),
                name: c.attribute("name").unwrap_or_default().to_string(),
                typename: c.attribute("typename").map(str::to_string),
                usable: opt_yes_no(c, "usable"),
                deprecated: yes(c, "deprecated"),
                blockers: has_children
                    .then(|| xml::children(c, "blocker").filter_map(|b| b.attribute("name")).map(str::to_string).collect()),
            });
        }
        for m in xml::children(root, "machine") {
            caps.machines.push(Machine {
                accel: m.attribute("type").unwrap_or("kvm").to_string(),
                name: m.attribute("name").unwrap_or_default().to_string(),
                alias: m.attribute("alias").map(str::to_string),
                max_cpus: num_attr(m, "maxCpus")?.unwrap_or(0),
                default: yes(m, "default"),
                default_cpu: m.attribute("defaultCPU").map(str::to_string),
                default_ram_id: m.attribute("defaultRAMid").map(str::to_string),
                deprecated: yes(m, "deprecated"),
                hotplug_cpus: yes(m, "hotplugCpus"),
                numa_mem_supported: yes(m, "numaMemSupported"),
            });
        }
        for g in xml::children(root, "gic") {
            caps.gic.push(Gic { version: num_attr(g, "version")?.unwrap_or(0), kernel: yes(g, "kernel"), emulated: yes(g, "emulated") });
        }
        if let Some(s) = xml::child(root, "sev") {
            let n = |name: &str| -> Result<u32> {
                let v = xml::child_text_trim(s, name).unwrap_or_default();
                v.parse().map_err(|_| caps_err(format!("invalid <{name}> '{v}' in <sev>")))
            };
            caps.sev = Some(Sev {
                cbitpos: n("cbitpos")?,
                reduced_phys_bits: n("reducedPhysBits")?,
                pdh: xml::child_text(s, "pdh").unwrap_or_default(),
                cert_chain: xml::child_text(s, "certChain").unwrap_or_default(),
                cpu0_id: xml::child_text(s, "cpu0Id"),
            });
        }
        if let Some(s) = xml::child(root, "sgx") {
            let b = |name: &str| xml::child_text_trim(s, name).as_deref() == Some("yes");
            let size = xml::child_text_trim(s, "section_size").unwrap_or_default();
            let mut sgx = Sgx {
                flc: b("flc"),
                sgx1: b("sgx1"),
                sgx2: b("sgx2"),
                section_size: size.parse().map_err(|_| caps_err(format!("invalid <section_size> '{size}' in <sgx>")))?,
                sections: Vec::new(),
            };
            if let Some(secs) = xml::child(s, "sections") {
                for sec in xml::children(secs, "section") {
                    sgx.sections.push((num_attr(sec, "node")?.unwrap_or(0), num_attr(sec, "size")?.unwrap_or(0)));
                }
            }
            caps.sgx = Some(sgx);
        }
        if let Some(h) = xml::child(root, "hypervCapabilities") {
            caps.hyperv = Some(Hyperv {
                supported: opt_yes_no(h, "supported"),
                caps: xml::children(h, "cap").filter_map(|c| c.attribute("name")).map(str::to_string).collect(),
            });
        }
        Ok(caps)
    }

    /// The CPU models that carry a QOM type name, as (accelerator, model, type name):
    /// what the default-CPU rule of post-parse looks up.
    pub fn cpu_types(&self) -> Vec<(String, String, String)> {
        self.cpu_models.iter().filter_map(|c| c.typename.as_ref().map(|t| (c.accel.clone(), c.name.clone(), t.clone()))).collect()
    }

    /// Resolve a machine alias (`pc` → `pc-i440fx-8.0`) for accelerator `accel`.
    pub fn canonical_machine(&self, accel: &str, name: &str) -> Option<&Machine> {
        self.machines.iter().filter(|m| m.accel == accel).find(|m| m.alias.as_deref() == Some(name) || m.name == name)
    }

    /// Accelerators in the cache document's order: `kvm` (if the binary has KVM), `hvf`
    /// (if it has HVF), then `tcg`.
    pub fn accels(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.has("kvm") {
            v.push("kvm");
        }
        if self.has("hvf") {
            v.push("hvf");
        }
        v.push("tcg");
        v
    }

    /// The cache document as libvirt's `virQEMUCapsFormatCache` writes it.
    pub fn format(&self) -> String {
        let mut o = String::from("<qemuCaps>\n");
        let _ = writeln!(o, "  <emulator>{}</emulator>", esc(&self.emulator));
        let _ = writeln!(o, "  <qemuctime>{}</qemuctime>", self.qemu_ctime);
        if let Some(m) = self.mod_dir_mtime.filter(|m| *m > 0) {
            let _ = writeln!(o, "  <qemumoddirmtime>{m}</qemumoddirmtime>");
        }
        let _ = writeln!(o, "  <selfctime>{}</selfctime>", self.self_ctime);
        let _ = writeln!(o, "  <selfvers>{}</selfvers>", self.self_vers);
        let mut known: Vec<(usize, &str)> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for f in &self.flags {
            match flag_index(f) {
                Some(i) => known.push((i, f)),
                None => unknown.push(f),
            }
        }
        known.sort_unstable();
        for f in known.iter().map(|(_, f)| *f).chain(unknown) {
            let _ = writeln!(o, "  <flag name='{}'/>", esc(f));
        }
        let _ = writeln!(o, "  <version>{}</version>", self.version);
        let _ = writeln!(o, "  <kvmVersion>{}</kvmVersion>", self.kvm_version);
        let _ = writeln!(o, "  <microcodeVersion>{}</microcodeVersion>", self.microcode_version);
        if let Some(s) = &self.host_cpu_signature {
            let _ = writeln!(o, "  <hostCPUSignature>{}</hostCPUSignature>", esc(s));
        }
        if self.has_package || !self.package.is_empty() {
            let _ = writeln!(o, "  <package>{}</package>", self.package);
        }
        if let Some(k) = &self.kernel_version {
            let _ = writeln!(o, "  <kernelVersion>{k}</kernelVersion>");
        }
        let _ = writeln!(o, "  <arch>{}</arch>", self.arch);
        for accel in self.accels() {
            self.format_accel(&mut o, accel);
        }
        for g in &self.gic {
            let _ =
                writeln!(o, "  <gic version='{}' kernel='{}' emulated='{}'/>", g.version, xml::yes_no(g.kernel), xml::yes_no(g.emulated));
        }
        if let Some(s) = &self.sev {
            o.push_str("  <sev>\n");
            let _ = writeln!(o, "    <cbitpos>{}</cbitpos>", s.cbitpos);
            let _ = writeln!(o, "    <reducedPhysBits>{}</reducedPhysBits>", s.reduced_phys_bits);
            let _ = writeln!(o, "    <pdh>{}</pdh>", esc(&s.pdh));
            let _ = writeln!(o, "    <certChain>{}</certChain>", esc(&s.cert_chain));
            if let Some(c) = &s.cpu0_id {
                let _ = writeln!(o, "    <cpu0Id>{}</cpu0Id>", esc(c));
            }
            o.push_str("  </sev>\n");
        }
        if let Some(s) = &self.sgx {
            o.push_str("  <sgx supported='yes'>\n");
            let _ = writeln!(o, "    <flc>{}</flc>", xml::yes_no(s.flc));
            let _ = writeln!(o, "    <sgx1>{}</sgx1>", xml::yes_no(s.sgx1));
            let _ = writeln!(o, "    <sgx2>{}</sgx2>", xml::yes_no(s.sgx2));
            let _ = writeln!(o, "    <section_size unit='KiB'>{}</section_size>", s.section_size);
            if !s.sections.is_empty() {
                o.push_str("    <sections>\n");
                for (node, size) in &s.sections {
                    let _ = writeln!(o, "      <section node='{node}' size='{size}' unit='KiB'/>");
                }
                o.push_str("    </sections>\n");
            }
            o.push_str("  </sgx>\n");
        }
        if let Some(h) = &self.hyperv {
            o.push_str("  <hypervCapabilities");
            if let Some(s) = h.supported {
                let _ = write!(o, " supported='{}'", xml::yes_no(s));
            }
            let caps: &[String] = if h.supported == Some(true) { &h.caps } else { &[] };
            if caps.is_empty() {
                o.push_str("/>\n");
            } else {
                o.push_str(">\n");
                for c in caps {
                    let _ = writeln!(o, "    <cap name='{c}'/>");
                }
                o.push_str("  </hypervCapabilities>\n");
            }
        }
        if self.kvm_supports_nesting {
            o.push_str("  <kvmSupportsNesting/>\n");
        }
        if self.kvm_supports_secure_guest {
            o.push_str("  <kvmSupportsSecureGuest/>\n");
        }
        o.push_str("</qemuCaps>\n");
        o
    }

    fn format_accel(&self, o: &mut String, accel: &str) {
        if let Some(h) = self.host_cpus.iter().find(|h| h.accel == accel) {
            let _ = writeln!(o, "  <hostCPU type='{accel}' model='{}' migratability='{}'>", h.model, xml::yes_no(h.migratability));
            for p in &h.props {
                let _ = write!(o, "    <property name='{}' type=", p.name);
                match &p.value {
                    CpuPropValue::Bool(b) => {
                        let _ = write!(o, "'boolean' value='{b}'");
                    }
                    CpuPropValue::Str(s) => {
                        let _ = write!(o, "'string' value='{}'", esc(s));
                    }
                    CpuPropValue::Number(n) => {
                        let _ = write!(o, "'number' value='{n}'");
                    }
                }
                if let Some(m) = p.migratable {
                    let _ = write!(o, " migratable='{}'", xml::yes_no(m));
                }
                o.push_str("/>\n");
            }
            o.push_str("  </hostCPU>\n");
        }
        for c in self.cpu_models.iter().filter(|c| c.accel == accel) {
            let _ = write!(o, "  <cpu type='{accel}' name='{}'", esc(&c.name));
            if let Some(t) = &c.typename {
                let _ = write!(o, " typename='{}'", esc(t));
            }
            if let Some(u) = c.usable {
                let _ = write!(o, " usable='{}'", xml::yes_no(u));
            }
            if c.deprecated {
                o.push_str(" deprecated='yes'");
            }
            match &c.blockers {
                Some(bl) => {
                    o.push_str(">\n");
                    for b in bl {
                        let _ = writeln!(o, "    <blocker name='{b}'/>");
                    }
                    o.push_str("  </cpu>\n");
                }
                None => o.push_str("/>\n"),
            }
        }
        for m in self.machines.iter().filter(|m| m.accel == accel) {
            let _ = write!(o, "  <machine type='{accel}' name='{}'", esc(&m.name));
            if let Some(a) = &m.alias {
                let _ = write!(o, " alias='{}'", esc(a));
            }
            if m.hotplug_cpus {
                o.push_str(" hotplugCpus='yes'");
            }
            let _ = write!(o, " maxCpus='{}'", m.max_cpus);
            if m.default {
                o.push_str(" default='yes'");
            }
            if let Some(c) = &m.default_cpu {
                let _ = write!(o, " defaultCPU='{}'", esc(c));
            }
            if m.numa_mem_supported {
                o.push_str(" numaMemSupported='yes'");
            }
            if let Some(r) = &m.default_ram_id {
                let _ = write!(o, " defaultRAMid='{}'", esc(r));
            }
            if m.deprecated {
                o.push_str(" deprecated='yes'");
            }
            o.push_str("/>\n");
        }
    }
}

fn parse_host_cpu(h: Node<'_, '_>) -> Result<HostCpu> {
    let mut cpu = HostCpu {
        accel: h.attribute("type").unwrap_or("kvm").to_string(),
        model: h.attribute("model").unwrap_or_default().to_string(),
        migratability: yes(h, "migratability"),
        props: Vec::new(),
    };
    for p in xml::children(h, "property") {
        let name = p.attribute("name").unwrap_or_default().to_string();
        let v = p.attribute("value").unwrap_or_default();
        let value = match p.attribute("type") {
            Some("boolean") => CpuPropValue::Bool(v == "true"),
            Some("string") => CpuPropValue::Str(v.to_string()),
            Some("number") => {
                CpuPropValue::Number(v.parse().map_err(|_| caps_err(format!("invalid number '{v}' of CPU property '{name}'")))?)
            }
            other => return Err(caps_err(format!("unknown type '{}' of CPU property '{name}'", other.unwrap_or("")))),
        };
        cpu.props.push(CpuProp { name, value, migratable: opt_yes_no(p, "migratable") });
    }
    Ok(cpu)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_version_and_machines() {
        let c = QemuCaps::parse(
            "<qemuCaps><emulator>/usr/bin/qemu-system-x86_64</emulator><version>7002050</version><arch>x86_64</arch>\
             <flag name='blockdev'/><machine type='kvm' name='pc-i440fx-8.0' alias='pc' maxCpus='255' default='yes'/></qemuCaps>",
        )
        .unwrap();
        assert!(c.has("blockdev") && !c.has("nope"));
        assert_eq!(c.version, 7_002_050);
        assert_eq!(c.canonical_machine("kvm", "pc").map(|m| m.name.as_str()), Some("pc-i440fx-8.0"));
    }

    #[test]
    fn flags_format_in_enum_order() {
        let mut c = QemuCaps { arch: "x86_64".into(), ..Default::default() };
        c.set("blockdev");
        c.set("kvm");
        let out = c.format();
        let kvm = out.find("'kvm'").unwrap();
        let bd = out.find("'blockdev'").unwrap();
        assert!(flag_index("kvm").unwrap() < flag_index("blockdev").unwrap());
        assert!(kvm < bd);
    }
}
