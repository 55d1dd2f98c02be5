//! Checks libvirt makes before it builds a command line (`qemu_validate.c` and the
//! parse-time checks of the QEMU driver): configurations QEMU cannot run, or that
//! this binary's capabilities rule out, fail with the same message libvirt gives.

use super::{attr, child, elements, unsupported};
use crate::error::{QemuError, Result};
use crate::postparse::{is_arm_virt, is_pseries, is_q35, Setup};
use oxvirt_conf::domain::{Address, DomainDef};

fn xml_error(msg: impl Into<String>) -> QemuError {
    QemuError::Internal(msg.into())
}

/// Run every check; the first failure is returned.
pub(super) fn validate(def: &DomainDef, setup: &Setup) -> Result<()> {
    boot(def)?;
    features(def, setup)?;
    cpu(def)?;
    disks(def)?;
    controllers(def, setup)?;
    chardevs(def)?;
    videos(def)?;
    hostdevs(def)?;
    timers(def)?;
    panics(def)?;
    Ok(())
}

fn panics(def: &DomainDef) -> Result<()> {
    for p in def.devices.other.iter().filter(|e| e.name == "panic") {
        let model = attr(p, "model").unwrap_or(if is_pseries(def) { "pseries" } else { "" });
        if matches!(model, "pseries" | "hyperv" | "s390") && child(p, "address").is_some() {
            return Err(unsupported(format!("setting the panic device address is not supported for model '{model}'")));
        }
    }
    Ok(())
}

fn timers(def: &DomainDef) -> Result<()> {
    let arch = def.os.arch.as_deref().unwrap_or("");
    if crate::postparse::is_x86(arch) {
        return Ok(());
    }
    let Some(clock) = &def.clock else { return Ok(()) };
    for t in elements(clock, "timer") {
        let name = attr(t, "name").unwrap_or("");
        if matches!(name, "tsc" | "kvmclock" | "hypervclock") && attr(t, "present") == Some("yes") {
            return Err(unsupported(format!(
                "Configuring the '{name}' timer is not supported for virtType={} arch={arch} machine={} guests",
                def.virt_type,
                def.os.machine.as_deref().unwrap_or("")
            )));
        }
    }
    Ok(())
}

fn hostdevs(def: &DomainDef) -> Result<()> {
    let mut uuids = std::collections::BTreeSet::new();
    let mut ramfbs = 0;
    for h in def.devices.other.iter().filter(|e| e.name == "hostdev") {
        if child(h, "address").is_some_and(|a| child(a, "zpci").is_some()) || def.os.arch.as_deref().is_some_and(|a| a.starts_with("s390"))
        {
            return Err(unsupported("zPCI hostdevs are not supported by this driver yet"));
        }
        if attr(h, "type") != Some("mdev") {
            continue;
        }
        if let Some(u) = child(h, "source").and_then(|s| child(s, "address")).and_then(|a| attr(a, "uuid")) {
            if !uuids.insert(u.to_string()) {
                return Err(unsupported(format!("Hostdev already exists in the domain configuration: mdev {u}")));
            }
        }
        if attr(h, "display") == Some("on") && def.devices.graphics.is_empty() {
            return Err(unsupported("graphics device is needed for attribute value 'display=on' in <hostdev>"));
        }
        if attr(h, "ramfb") == Some("on") {
            ramfbs += 1;
            if ramfbs > 1 {
                return Err(unsupported("Only one vgpu device can have 'ramfb' enabled"));
            }
        }
    }
    Ok(())
}

fn boot(def: &DomainDef) -> Result<()> {
    if let Some(t) = def.os.other.iter().find(|o| o.name == "bootmenu").and_then(|b| attr(b, "timeout")) {
        if t.parse::<u32>().map_or(true, |v| v > 65535) {
            return Err(unsupported("invalid value for boot menu timeout, must be in range [0,65535]"));
        }
    }
    let mut loadparms = def.devices.disks.iter().filter_map(|d| d.info.boot_loadparm.as_deref()).collect::<Vec<_>>();
    loadparms.extend(def.devices.interfaces.iter().filter_map(|n| n.info.boot_loadparm.as_deref()));
    for lp in loadparms {
        if lp.is_empty() || lp.chars().count() > 8 {
            return Err(xml_error(format!("loadparm value '{lp}' must be between 1 and 8 characters")));
        }
        if !lp.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ') {
            return Err(xml_error(format!("invalid loadparm value '{lp}', expecting chars in set of [a-zA-Z0-9.] and blank spaces")));
        }
    }
    Ok(())
}

fn features(def: &DomainDef, setup: &Setup) -> Result<()> {
    let arch = def.os.arch.as_deref().unwrap_or("");
    let machine = def.os.machine.as_deref().unwrap_or("");
    let Some(f) = &def.features else { return Ok(()) };
    let not_for =
        |name: &str| unsupported(format!("The '{name}' feature is not supported for architecture '{arch}' or machine type '{machine}'"));
    if let Some(g) = child(f, "gic") {
        if let Some(v) = attr(g, "version") {
            if !matches!(v, "2" | "3" | "host") {
                return Err(xml_error(format!("Invalid value for attribute 'version' in element 'gic': '{v}'.")));
            }
        }
        if !is_arm_virt(def) {
            return Err(not_for("gic"));
        }
    }
    let pseries_caps = [
        ("hpt", "maxpagesize", "machine.pseries.cap-hpt-max-page-size", "Configuring the page size for HPT guests"),
        ("htm", "", "machine.pseries.cap-htm", "HTM configuration"),
        ("nested-hv", "", "machine.pseries.cap-nested-hv", "Nested HV configuration"),
        ("ccf-assist", "", "machine.pseries.cap-ccf-assist", "ccf-assist configuration"),
        ("cfpc", "", "machine.pseries.cap-cfpc", "cfpc configuration"),
        ("sbbc", "", "machine.pseries.cap-sbbc", "sbbc configuration"),
        ("ibs", "", "machine.pseries.cap-ibs", "ibs configuration"),
    ];
    for (name, sub, cap, what) in pseries_caps {
        let Some(e) = child(f, name) else { continue };
        if !is_pseries(def) {
            return Err(not_for(name));
        }
        let used = if sub.is_empty() { true } else { child(e, sub).is_some() };
        if used && !setup.caps.has(cap) {
            return Err(unsupported(format!("{what} is not supported by this QEMU binary")));
        }
    }
    if let Some(s) = child(f, "smm") {
        if child(s, "tseg").is_some() && !is_q35(def) {
            return Err(unsupported("SMM TSEG is only supported with q35 machine type"));
        }
    }
    if arch == "aarch64" && child(f, "acpi").is_some() {
        let efi = def.os.firmware.as_deref() == Some("efi") || def.os.loader.is_some();
        if !efi {
            return Err(unsupported("ACPI requires UEFI on this architecture"));
        }
    }
    if def.virt_type == "hvf" && !setup.caps.has("hvf") {
        let emu = def.devices.emulator.as_deref().unwrap_or("");
        return Err(unsupported(format!("Emulator '{emu}' does not support virt type 'hvf'")));
    }
    Ok(())
}

fn cpu(def: &DomainDef) -> Result<()> {
    let Some(cpu) = &def.cpu else { return Ok(()) };
    if let Some(numa) = child(cpu, "numa") {
        for (i, cell) in elements(numa, "cell").enumerate() {
            if let Some(id) = attr(cell, "id") {
                if id.parse::<usize>().ok() != Some(i) {
                    return Err(xml_error(
                        "Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous ranges or ranges not starting from 0 are not allowed",
                    ));
                }
            }
        }
    }
    if let Some(c) = child(cpu, "cache") {
        if attr(c, "mode") == Some("passthrough") && attr(c, "level").is_some() {
            return Err(unsupported("unsupported CPU cache level for mode 'passthrough'"));
        }
    }
    if let Some(m) = child(cpu, "maxphysaddr") {
        match (attr(m, "mode"), attr(m, "bits")) {
            (Some("emulate"), None) => {
                return Err(unsupported("if using CPU maximum physical address mode='emulate', bits= must be specified too"))
            }
            (Some("passthrough"), Some(_)) => {
                return Err(unsupported("CPU maximum physical address bits number specification cannot be used with mode='passthrough'"))
            }
            _ => {}
        }
    }
    if def.os.arch.as_deref() == Some("aarch64") {
        let mut sve_off = false;
        let mut sve_len = false;
        for f in elements(cpu, "feature") {
            let name = attr(f, "name").unwrap_or("");
            let policy = attr(f, "policy").unwrap_or("require");
            if name == "sve" && matches!(policy, "disable" | "forbid") {
                sve_off = true;
            } else if name.strip_prefix("sve").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
                if matches!(policy, "require" | "force") {
                    sve_len = true;
                }
            } else if !matches!(name, "sve" | "aarch64" | "pmu") {
                return Err(unsupported(format!("unknown CPU feature: {name}")));
            }
        }
        if sve_off && sve_len {
            return Err(unsupported("SVE disabled, but SVE vector lengths provided"));
        }
    }
    Ok(())
}

fn disks(def: &DomainDef) -> Result<()> {
    for d in &def.devices.disks {
        let fmt = d.driver.as_ref().and_then(|e| attr(e, "type")).unwrap_or("raw");
        match fmt {
            "cow" => return Err(unsupported("'cow' storage format is not supported")),
            "dir" if d.disk_type != "dir" => {
                return Err(unsupported("'directory' storage format is not directly supported by QEMU, use 'dir' disk type instead"))
            }
            _ => {}
        }
        let encrypted =
            d.other.iter().any(|e| e.name == "encryption") || d.source.raw.as_ref().is_some_and(|r| child(r, "encryption").is_some());
        if encrypted && !matches!(fmt, "raw" | "qcow2") {
            return Err(unsupported("encryption is supported only with 'raw' and 'qcow2' image format"));
        }
        if d.target_dev.bytes().last().is_some_and(|b| b.is_ascii_digit())
            && ["hd", "sd", "vd", "xvd", "ub"].iter().any(|p| d.target_dev.starts_with(p))
        {
            return Err(unsupported(format!("invalid disk target '{}', partitions can't appear in disk targets", d.target_dev)));
        }
    }
    Ok(())
}

fn controllers(def: &DomainDef, setup: &Setup) -> Result<()> {
    let ctrls = &def.devices.controllers;
    let cells = def.cpu.as_ref().and_then(|c| child(c, "numa")).map_or(0, |n| elements(n, "cell").count());
    let mut pci_seen = std::collections::BTreeSet::new();
    for c in ctrls {
        let model = c.model.as_deref().unwrap_or("");
        let target = c.other.iter().find(|e| e.name == "target");
        match c.controller_type.as_str() {
            "pci" => {
                let idx = c.index.unwrap_or(0);
                if !pci_seen.insert(idx) {
                    return Err(xml_error(format!("Multiple 'pci' controllers with index '{idx}'")));
                }
                if model == "pci-root" || model == "pcie-root" {
                    if c.info.address.is_some() {
                        return Err(unsupported("pci-root and pcie-root controllers should not have an address"));
                    }
                    if idx != 0 && !is_pseries(def) {
                        return Err(xml_error("pci-root and pcie-root controllers should have index 0"));
                    }
                    if let Some(t) = target {
                        if attr(t, "hotplug").is_some() && model == "pci-root" && !setup.caps.has("piix4.acpi-root-pci-hotplug") {
                            return Err(unsupported(
                                "setting the 'hotplug' property on a 'pci-root' device is not supported by this QEMU binary",
                            ));
                        }
                        if is_pseries(def) {
                            if let Some(ti) = attr(t, "index").and_then(|v| v.parse::<u32>().ok()) {
                                if ti > 30 {
                                    return Err(unsupported(format!("PCI controller target index '{ti}' out of range - must be 0-30")));
                                }
                                if (ti == 0) != (idx == 0) {
                                    return Err(unsupported(
                                        "Only the PCI controller with index 0 can have target index 0, and vice versa",
                                    ));
                                }
                            }
                        }
                    }
                }
                if model == "pci-expander-bus" || model == "pcie-expander-bus" {
                    if let Some(node) = target.and_then(|t| child(t, "node")).map(super::text) {
                        let n: usize = node.trim().parse().unwrap_or(usize::MAX);
                        if n >= cells {
                            return Err(xml_error(format!(
                                "{model} with index {idx} is configured for a NUMA node ({n}) not present in the domain's <cpu><numa> array ({cells})"
                            )));
                        }
                    }
                }
            }
            "usb" => {
                if model == "none" && ctrls.iter().filter(|o| o.controller_type == "usb").count() > 1 {
                    return Err(unsupported("Can't add another USB controller: USB is disabled for this domain"));
                }
                let cap = match model {
                    "nec-xhci" => Some("nec-usb-xhci"),
                    "qemu-xhci" => Some("qemu-xhci"),
                    _ => None,
                };
                if let Some(cap) = cap {
                    if !setup.caps.has(cap) {
                        return Err(unsupported(format!("USB controller model '{model}' not supported in this QEMU binary")));
                    }
                    if let Some(p) = c.attrs.iter().find(|(k, _)| k == "ports").and_then(|(_, v)| v.parse::<u32>().ok()) {
                        if p > 15 {
                            return Err(unsupported(format!("'{model}' controller only supports up to '15' ports")));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn chardevs(def: &DomainDef) -> Result<()> {
    for c in &def.devices.chardevs {
        if c.source.listen && c.source.reconnect.as_ref().is_some_and(|r| attr(r, "enabled") == Some("yes")) {
            return Err(QemuError::Internal("chardev reconnect is possible only for connect mode".into()));
        }
    }
    Ok(())
}

fn videos(def: &DomainDef) -> Result<()> {
    let v = &def.devices.videos;
    if v.len() > 1 && v.iter().any(|x| x.model.as_deref() == Some("none")) {
        return Err(unsupported("a 'none' video type must be the only video device defined for the domain"));
    }
    for x in v {
        if x.model.as_deref() == Some("ramfb") && matches!(x.info.address, Some(Address::Pci { .. })) {
            return Err(unsupported("address not supported for video type ramfb"));
        }
    }
    Ok(())
}
