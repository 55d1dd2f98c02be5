//! Per-binary QEMU capabilities: libvirt's `<qemuCaps>` cache document (the format of
//! the corpus's `qemucapabilitiesdata/caps_*.xml`) and, later, probing over QMP.

use crate::error::{QemuError, Result};
use oxvirt_conf::xml;
use std::collections::BTreeSet;

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
    /// Target architecture.
    pub arch: String,
    /// Capability flag names (`blockdev`, `device.json`, ...).
    pub flags: BTreeSet<String>,
    /// Machine types.
    pub machines: Vec<Machine>,
}

impl QemuCaps {
    /// Whether the binary has capability `flag` (libvirt's `virQEMUCapsGet`).
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }

    /// Parse the `<qemuCaps>` cache document. Elements this model does not keep yet are
    /// ignored.
    pub fn parse(text: &str) -> Result<QemuCaps> {
        let doc = xml::parse_root(text, "qemuCaps")?;
        let root = doc.root_element();
        let num = |name: &str| -> Result<u64> {
            match xml::child_text_trim(root, name) {
                None => Ok(0),
                Some(v) => v.parse().map_err(|_| QemuError::Caps(format!("invalid <{name}> '{v}' in qemu capabilities"))),
            }
        };
        let mut caps = QemuCaps {
            emulator: xml::child_text_trim(root, "emulator").unwrap_or_default(),
            version: num("version")?,
            kvm_version: num("kvmVersion")?,
            package: xml::child_text(root, "package").unwrap_or_default(),
            arch: xml::child_text_trim(root, "arch").unwrap_or_default(),
            ..Default::default()
        };
        for f in xml::children(root, "flag") {
            if let Some(n) = f.attribute("name") {
                caps.flags.insert(n.to_string());
            }
        }
        for m in xml::children(root, "machine") {
            caps.machines.push(Machine {
                accel: m.attribute("type").unwrap_or("kvm").to_string(),
                name: m.attribute("name").unwrap_or_default().to_string(),
                alias: m.attribute("alias").map(str::to_string),
                max_cpus: m.attribute("maxCpus").and_then(|v| v.parse().ok()).unwrap_or(0),
                default: m.attribute("default") == Some("yes"),
                default_cpu: m.attribute("defaultCPU").map(str::to_string),
                default_ram_id: m.attribute("defaultRAMid").map(str::to_string),
                deprecated: m.attribute("deprecated") == Some("yes"),
            });
        }
        Ok(caps)
    }

    /// Resolve a machine alias (`pc` → `pc-i440fx-8.0`) for accelerator `accel`.
    pub fn canonical_machine(&self, accel: &str, name: &str) -> Option<&Machine> {
        self.machines.iter().filter(|m| m.accel == accel).find(|m| m.alias.as_deref() == Some(name) || m.name == name)
    }
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
}
