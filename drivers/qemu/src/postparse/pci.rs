//! PCI address assignment (libvirt's `qemuDomainAssignPCIAddresses` with the bus
//! model of `domain_addr.c`): every bus knows which kinds of device it accepts
//! (legacy PCI, PCI Express, the various controllers), devices are placed in a fixed
//! order on the first compatible free slot, and a dry run first counts how many
//! buses are missing so that the right controllers (pci-bridge, pcie-root-port,
//! dmi-to-pci-bridge, pcie-to-pci-bridge) can be added to the definition.

use super::{attr, child, el_address, el_set_address, is_i440fx, is_q35};
use crate::caps::QemuCaps;
use crate::error::{QemuError, Result};
use oxvirt_conf::domain::{Address, Controller, DomainDef};
use oxvirt_conf::xml::El;

// Connect flags: what a device needs, or what a bus accepts.
const HOTPLUG: u32 = 1 << 0;
const AUTO: u32 = 1 << 1;
const PCI_DEV: u32 = 1 << 2;
const PCIE_DEV: u32 = 1 << 3;
const ROOT_PORT: u32 = 1 << 4;
const UPSTREAM: u32 = 1 << 5;
const DOWNSTREAM: u32 = 1 << 6;
const DMI_BRIDGE: u32 = 1 << 7;
const PCI_EXPANDER: u32 = 1 << 8;
const PCIE_EXPANDER: u32 = 1 << 9;
const PCI_BRIDGE: u32 = 1 << 10;
const PCIE_PCI_BRIDGE: u32 = 1 << 11;
const AGGREGATE: u32 = 1 << 12;
const INTEGRATED: u32 = 1 << 13;
const TYPES: u32 =
    PCI_DEV | PCIE_DEV | ROOT_PORT | UPSTREAM | DOWNSTREAM | DMI_BRIDGE | PCI_EXPANDER | PCIE_EXPANDER | PCI_BRIDGE | PCIE_PCI_BRIDGE;
const ENDPOINT: u32 = PCI_DEV | PCIE_DEV;

#[derive(Debug, Clone, Default)]
struct Bus {
    model: String,
    flags: u32,
    min_slot: u32,
    max_slot: u32,
    functions: [u8; 32],
    aggregate: [bool; 32],
}

impl Bus {
    fn new(model: &str, hotplug: bool) -> Bus {
        let hp = if hotplug { HOTPLUG } else { 0 };
        let (flags, min, max) = match model {
            "pci-root" => (AUTO | PCI_DEV | PCI_BRIDGE | PCI_EXPANDER | hp, 1, 31),
            "pci-bridge" => (AUTO | PCI_DEV | PCI_BRIDGE | hp, 1, 31),
            "pci-expander-bus" => (AUTO | PCI_DEV | PCI_BRIDGE | hp, 0, 31),
            "pcie-root" => (PCIE_DEV | ROOT_PORT | DMI_BRIDGE | PCIE_EXPANDER, 1, 31),
            "dmi-to-pci-bridge" => (PCI_DEV | PCI_BRIDGE, 0, 31),
            "pcie-to-pci-bridge" => (AUTO | PCI_DEV | PCI_BRIDGE | hp, 1, 31),
            "pcie-root-port" | "pcie-switch-downstream-port" => (AUTO | PCIE_DEV | UPSTREAM | PCIE_PCI_BRIDGE | hp, 0, 0),
            "pcie-switch-upstream-port" => (DOWNSTREAM, 0, 31),
            "pcie-expander-bus" => (ROOT_PORT | DMI_BRIDGE, 0, 31),
            _ => (AUTO | PCI_DEV | PCI_BRIDGE | hp, 1, 31),
        };
        Bus { model: model.to_string(), flags, min_slot: min, max_slot: max, ..Bus::default() }
    }

    fn full(&self) -> bool {
        (self.min_slot..=self.max_slot).all(|s| self.functions[s as usize] != 0)
    }
}

/// The connect type of a PCI controller model (what it plugs into).
fn controller_connect(model: &str) -> u32 {
    match model {
        "pci-bridge" => PCI_BRIDGE,
        "pci-expander-bus" => PCI_EXPANDER,
        "pcie-expander-bus" => PCIE_EXPANDER,
        "dmi-to-pci-bridge" => DMI_BRIDGE,
        "pcie-to-pci-bridge" => PCIE_PCI_BRIDGE,
        "pcie-root-port" => ROOT_PORT | AGGREGATE,
        "pcie-switch-upstream-port" => UPSTREAM,
        "pcie-switch-downstream-port" => DOWNSTREAM,
        _ => 0,
    }
}

fn addr_str(bus: u32, slot: u32, function: u32) -> String {
    format!("0000:{bus:02x}:{slot:02x}.{function}")
}

fn flags_compatible(bus: u32, slot: u32, bus_flags: u32, dev_flags: u32, from_config: bool) -> std::result::Result<(), String> {
    let _ = slot;
    let mut bus_flags = bus_flags;
    let mut dev_flags = dev_flags;
    if dev_flags & INTEGRATED != 0 {
        if bus == 0 {
            bus_flags |= AUTO;
        } else {
            return Err("needs to be an integrated device (bus=0)".into());
        }
    }
    if from_config {
        if bus_flags & ENDPOINT != 0 {
            bus_flags |= ENDPOINT;
        }
        if dev_flags & PCI_BRIDGE != 0 {
            dev_flags |= PCI_DEV;
        }
    } else if dev_flags & AUTO != 0 && bus_flags & AUTO == 0 {
        return Err("auto".into());
    }
    if dev_flags & HOTPLUG != 0 && bus_flags & HOTPLUG == 0 {
        return Err("hotplug".into());
    }
    if dev_flags & bus_flags & TYPES == 0 {
        return Err("type".into());
    }
    Ok(())
}

/// A PCI address set (libvirt's `virDomainPCIAddressSet`).
struct AddrSet {
    buses: Vec<Bus>,
    dry_run: bool,
    multiple_roots: bool,
    pcie_pci_bridge: bool,
}

type Pci = (u32, u32, u32);

impl AddrSet {
    fn validate(&self, (bus, slot, function): Pci, flags: u32, from_config: bool) -> Result<()> {
        let s = addr_str(bus, slot, function);
        let err = |m: String| if from_config { xml_err(m) } else { QemuError::Internal(m) };
        if self.buses.is_empty() {
            return Err(err("No PCI buses available".into()));
        }
        let Some(b) = self.buses.get(bus as usize) else {
            return Err(err(format!("Invalid PCI address {s}. Only PCI buses up to {} are available", self.buses.len() - 1)));
        };
        if let Err(why) = flags_compatible(bus, slot, b.flags, flags, from_config) {
            return Err(err(match why.as_str() {
                "auto" => format!(
                    "The device at PCI address {s} was auto-assigned this address, but the PCI controller with index='{bus}' doesn't allow auto-assignment"
                ),
                "hotplug" => format!(
                    "The device at PCI address {s} requires hotplug capability, but the PCI controller with index='{bus}' doesn't support hotplug"
                ),
                "type" => format!(
                    "The device at PCI address {s} cannot be plugged into the PCI controller with index='{bus}'. It requires a controller that accepts a {}.",
                    connect_name(flags)
                ),
                _ => format!("The device at PCI address {s} {why}"),
            }));
        }
        if b.min_slot != 0 && slot < b.min_slot {
            return Err(err(format!("Invalid PCI address {s}. slot must be >= {}", b.min_slot)));
        }
        if slot > b.max_slot {
            return Err(err(format!("Invalid PCI address {s}. slot must be <= {}", b.max_slot)));
        }
        if function > 7 {
            return Err(err(format!("Invalid PCI address {s}. function must be <= 7")));
        }
        Ok(())
    }

    fn grow(&mut self, addr: &mut Pci, flags: u32) -> Result<()> {
        let mut add = addr.0 as i64 - self.buses.len() as i64 + 1;
        if add <= 0 {
            return Ok(());
        }
        let (mut need_dmi, mut need_pcie_pci) = (false, false);
        let model;
        if flags & PCI_DEV != 0 {
            if self.multiple_roots {
                model = "pci-root";
            } else {
                model = "pci-bridge";
                let have = self.buses.iter().any(|b| b.flags & PCI_BRIDGE != 0);
                need_dmi = !have && !self.pcie_pci_bridge;
                need_pcie_pci = !have && self.pcie_pci_bridge;
                if (need_dmi || need_pcie_pci) && add == 1 {
                    add += 1;
                    addr.0 += 1;
                }
            }
        } else if flags & (PCIE_DEV | UPSTREAM) != 0 {
            model = "pcie-root-port";
        } else {
            let name = match flags & TYPES {
                f if f & ROOT_PORT != 0 => Some("pcie-root-port"),
                f if f & UPSTREAM != 0 => Some("pcie-switch-upstream-port"),
                f if f & DOWNSTREAM != 0 => Some("pcie-switch-downstream-port"),
                f if f & DMI_BRIDGE != 0 => Some("dmi-to-pci-bridge"),
                f if f & PCI_EXPANDER != 0 => Some("pci-expander-bus"),
                f if f & PCIE_EXPANDER != 0 => Some("pcie-expander-bus"),
                f if f & PCI_BRIDGE != 0 => Some("pci-bridge"),
                _ => None,
            };
            return Err(QemuError::Internal(match name {
                Some(m) => format!(
                    "a PCI slot is needed to connect a PCI controller model='{m}', but none is available, and it cannot be automatically added"
                ),
                None => format!("Cannot automatically add a new PCI bus for a device with connect flags {flags:02x}"),
            }));
        }
        let target = self.buses.len() + add as usize;
        if need_dmi {
            self.buses.push(Bus::new("dmi-to-pci-bridge", false));
        }
        if need_pcie_pci {
            let mut rp = Bus::new("pcie-root-port", true);
            rp.flags = PCIE_PCI_BRIDGE;
            self.buses.push(rp);
            self.buses.push(Bus::new("pcie-to-pci-bridge", true));
        }
        while self.buses.len() < target {
            self.buses.push(Bus::new(model, true));
        }
        Ok(())
    }

    fn slot_in_use(&self, bus: u32, slot: u32) -> bool {
        self.buses.get(bus as usize).is_some_and(|b| b.functions[slot as usize & 31] != 0)
    }

    fn reserve(&mut self, addr: Pci, flags: u32, from_config: bool) -> Result<()> {
        let mut addr = addr;
        if self.dry_run {
            self.grow(&mut addr, flags)?;
        }
        self.validate(addr, flags, from_config)?;
        let (bus, slot, function) = addr;
        let b = &mut self.buses[bus as usize];
        let s = slot as usize;
        if b.functions[s] & (1 << function) != 0 {
            let m = format!("Attempted double use of PCI Address {}", addr_str(bus, slot, function));
            return Err(if from_config { xml_err(m) } else { QemuError::Internal(m) });
        }
        if b.functions[s] == 0 && flags & AGGREGATE != 0 {
            b.aggregate[s] = true;
        }
        b.functions[s] |= 1 << function;
        Ok(())
    }

    fn find_on_bus(&self, bus: u32, flags: u32, function: Option<u32>) -> Option<Pci> {
        let b = &self.buses[bus as usize];
        flags_compatible(bus, b.min_slot, b.flags, flags, false).ok()?;
        for slot in b.min_slot..=b.max_slot {
            let s = slot as usize;
            let f = function.unwrap_or(0);
            if b.functions[s] == 0 {
                return Some((bus, slot, f));
            }
            if flags & AGGREGATE != 0 && b.aggregate[s] {
                if b.functions[s] & (1 << f) == 0 {
                    return Some((bus, slot, f));
                }
                if function.is_none() {
                    if let Some(fx) = (0..8).find(|fx| b.functions[s] & (1 << fx) == 0) {
                        return Some((bus, slot, fx));
                    }
                }
            }
        }
        None
    }

    fn next_addr(&mut self, flags: u32, function: Option<u32>) -> Result<Pci> {
        if self.buses.is_empty() {
            return Err(xml_err("No PCI buses available".into()));
        }
        for bus in 0..self.buses.len() as u32 {
            if let Some(a) = self.find_on_bus(bus, flags, function) {
                return Ok(a);
            }
        }
        if self.dry_run {
            let mut a = (self.buses.len() as u32, 0, function.unwrap_or(0));
            self.grow(&mut a, flags)?;
            a.1 = self.buses[a.0 as usize].min_slot;
            return Ok(a);
        }
        Err(QemuError::Internal("No more available PCI slots".into()))
    }

    /// Reserve the next free address; returns it (devices get it only outside a dry run).
    fn reserve_next(&mut self, flags: u32, function: Option<u32>) -> Result<Pci> {
        let a = self.next_addr(flags, function)?;
        self.reserve(a, flags, false)?;
        Ok(a)
    }
}

fn connect_name(flags: u32) -> &'static str {
    if flags & PCI_DEV != 0 {
        "standard PCI device"
    } else if flags & PCIE_DEV != 0 {
        "PCI Express device"
    } else if flags & ROOT_PORT != 0 {
        "pcie-root-port"
    } else if flags & UPSTREAM != 0 {
        "pcie-switch-upstream-port"
    } else if flags & DOWNSTREAM != 0 {
        "pcie-switch-downstream-port"
    } else if flags & DMI_BRIDGE != 0 {
        "dmi-to-pci-bridge"
    } else if flags & PCIE_PCI_BRIDGE != 0 {
        "pcie-to-pci-bridge"
    } else if flags & PCI_EXPANDER != 0 {
        "pci-expander-bus"
    } else if flags & PCIE_EXPANDER != 0 {
        "pcie-expander-bus"
    } else {
        "pci-bridge"
    }
}

/// A device of the definition that may have a PCI address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dev {
    Controller(usize),
    Disk(usize),
    Net(usize),
    Video(usize),
    Input(usize),
    Rng(usize),
    Chr(usize),
    Balloon,
    Other(usize),
}

fn get_addr(def: &DomainDef, d: Dev) -> Option<Address> {
    let v = &def.devices;
    match d {
        Dev::Controller(i) => v.controllers.get(i)?.info.address.clone(),
        Dev::Disk(i) => v.disks.get(i)?.info.address.clone(),
        Dev::Net(i) => v.interfaces.get(i)?.info.address.clone(),
        Dev::Video(i) => v.videos.get(i)?.info.address.clone(),
        Dev::Input(i) => v.inputs.get(i)?.info.address.clone(),
        Dev::Rng(i) => v.rngs.get(i)?.info.address.clone(),
        Dev::Chr(i) => v.chardevs.get(i)?.info.address.clone(),
        Dev::Balloon => v.memballoon.as_ref()?.info.address.clone(),
        Dev::Other(i) => el_address(v.other.get(i)?),
    }
}

fn set_addr(def: &mut DomainDef, d: Dev, (bus, slot, function): Pci, multi: Option<&str>) {
    let old = get_addr(def, d);
    let (keep_multi, zpci) = match old {
        Some(Address::Pci { multifunction, zpci, .. }) => (multifunction, zpci),
        _ => (None, None),
    };
    let a = Address::Pci { domain: 0, bus, slot, function, multifunction: multi.map(str::to_string).or(keep_multi), zpci };
    let v = &mut def.devices;
    let info = match d {
        Dev::Controller(i) => v.controllers.get_mut(i).map(|x| &mut x.info),
        Dev::Disk(i) => v.disks.get_mut(i).map(|x| &mut x.info),
        Dev::Net(i) => v.interfaces.get_mut(i).map(|x| &mut x.info),
        Dev::Video(i) => v.videos.get_mut(i).map(|x| &mut x.info),
        Dev::Input(i) => v.inputs.get_mut(i).map(|x| &mut x.info),
        Dev::Rng(i) => v.rngs.get_mut(i).map(|x| &mut x.info),
        Dev::Chr(i) => v.chardevs.get_mut(i).map(|x| &mut x.info),
        Dev::Balloon => v.memballoon.as_mut().map(|x| &mut x.info),
        Dev::Other(i) => {
            if let Some(e) = v.other.get_mut(i) {
                el_set_address(e, &a);
            }
            None
        }
    };
    if let Some(info) = info {
        info.address = Some(a);
    }
}

fn pci_of(a: &Option<Address>) -> Option<(Pci, Option<String>)> {
    match a {
        Some(Address::Pci { bus, slot, function, multifunction, .. }) => Some(((*bus, *slot, *function), multifunction.clone())),
        _ => None,
    }
}

/// libvirt's "address is wanted": no address, or a PCI one without a location.
fn wanted(a: &Option<Address>) -> bool {
    matches!(a, None | Some(Address::Pci { domain: 0, bus: 0, slot: 0, function: 0, .. }))
}

/// libvirt's "address is present": a PCI address with a location.
fn present(a: &Option<Address>) -> bool {
    matches!(a, Some(Address::Pci { .. })) && !wanted(a)
}

fn all_devices(def: &DomainDef) -> Vec<Dev> {
    let v = &def.devices;
    let mut out = Vec::new();
    out.extend((0..v.disks.len()).map(Dev::Disk));
    out.extend((0..v.controllers.len()).map(Dev::Controller));
    out.extend((0..v.other.len()).map(Dev::Other));
    out.extend((0..v.interfaces.len()).map(Dev::Net));
    out.extend((0..v.inputs.len()).map(Dev::Input));
    out.extend((0..v.videos.len()).map(Dev::Video));
    out.extend((0..v.chardevs.len()).map(Dev::Chr));
    if v.memballoon.is_some() {
        out.push(Dev::Balloon);
    }
    out.extend((0..v.rngs.len()).map(Dev::Rng));
    out
}

struct Flags {
    pcie: u32,
    virtio: u32,
    pci: u32,
}

fn is_transitional(m: Option<&str>) -> bool {
    m == Some("virtio-transitional")
}

fn dev_flags(def: &DomainDef, d: Dev, f: &Flags) -> u32 {
    let v = &def.devices;
    let virtio_model = |m: Option<&str>| if is_transitional(m) { f.pci } else { f.virtio };
    match d {
        Dev::Controller(i) => {
            let Some(c) = v.controllers.get(i) else { return 0 };
            let m = c.model.as_deref();
            match c.controller_type.as_str() {
                "pci" => controller_connect(m.unwrap_or("")),
                "sata" | "ide" => f.pci,
                "usb" => match m {
                    None => f.pci,
                    Some("nec-xhci") | Some("qemu-xhci") => f.pcie,
                    Some("none") | Some("qusb1") | Some("qusb2") => 0,
                    Some(_) => f.pci,
                },
                "scsi" => match m {
                    None | Some("ncr53c90") => 0,
                    Some("virtio-scsi") | Some("virtio-non-transitional") => f.virtio,
                    Some(_) => f.pci,
                },
                "virtio-serial" => virtio_model(m),
                _ => 0,
            }
        }
        Dev::Disk(i) => match v.disks.get(i) {
            Some(x) if x.target_bus == "virtio" => virtio_model(x.attrs.iter().find(|(k, _)| k == "model").map(|(_, m)| m.as_str())),
            _ => 0,
        },
        Dev::Net(i) => {
            let Some(n) = v.interfaces.get(i) else { return 0 };
            match n.model.as_deref() {
                _ if n.iface_type == "hostdev" => 0,
                Some("usb-net") => 0,
                Some("virtio") | Some("virtio-non-transitional") => f.virtio,
                Some("virtio-transitional") => f.pci,
                Some("e1000e") | None => f.pcie,
                Some(_) => f.pci,
            }
        }
        Dev::Video(i) => match v.videos.get(i).and_then(|x| x.model.as_deref()) {
            Some("virtio") => f.virtio,
            Some("vga") | Some("cirrus") | Some("vmvga") | Some("xen") | Some("vbox") | Some("qxl") | Some("parallels") => f.pci,
            Some("bochs") => f.pcie,
            _ => 0,
        },
        Dev::Input(i) => match v.inputs.get(i) {
            Some(x) if x.bus.as_deref() == Some("virtio") => {
                virtio_model(x.attrs.iter().find(|(k, _)| k == "model").map(|(_, m)| m.as_str()))
            }
            _ => 0,
        },
        Dev::Rng(i) => match v.rngs.get(i) {
            Some(r) => virtio_model(Some(r.model.as_str())),
            None => 0,
        },
        Dev::Chr(i) => match v.chardevs.get(i) {
            Some(c) if c.device == "serial" && c.target_type() == Some("pci-serial") => f.pci,
            _ => 0,
        },
        Dev::Balloon => match v.memballoon.as_ref().map(|m| m.model.as_str()) {
            Some("virtio-transitional") => f.pci,
            Some("virtio") | Some("virtio-non-transitional") => f.virtio,
            _ => 0,
        },
        Dev::Other(i) => {
            let Some(e) = v.other.get(i) else { return 0 };
            other_flags(e, f)
        }
    }
}

fn other_flags(e: &El, f: &Flags) -> u32 {
    let model = attr(e, "model");
    match e.name.as_str() {
        "filesystem" => {
            let drv = child(e, "driver").and_then(|d| attr(d, "type"));
            match drv {
                None | Some("path") | Some("handle") => {
                    if is_transitional(model) {
                        f.pci
                    } else {
                        f.virtio
                    }
                }
                Some("virtiofs") => f.virtio,
                _ => 0,
            }
        }
        "sound" => match model {
            Some("es1370") | Some("ac97") | Some("ich6") | Some("ich9") => f.pci,
            _ => 0,
        },
        "hostdev" => {
            let mode = attr(e, "mode").unwrap_or("subsystem");
            let ty = attr(e, "type").unwrap_or("");
            if ty != "mdev" && (mode != "subsystem" || !matches!(ty, "pci" | "scsi_host")) {
                return 0;
            }
            if f.pci == f.pcie {
                return f.pci;
            }
            if ty == "scsi_host" {
                return if is_transitional(model) { f.pci } else { f.virtio };
            }
            if ty == "mdev" && model != Some("vfio-pci") {
                return 0;
            }
            f.pcie
        }
        "watchdog" if model == Some("i6300esb") => f.pci,
        "shmem" => f.pci,
        "iommu" if model == Some("virtio") => f.virtio | INTEGRATED,
        "vsock" => {
            if is_transitional(model) {
                f.pci
            } else {
                f.virtio
            }
        }
        "memory" => {
            if matches!(model, Some("virtio-pmem") | Some("virtio-mem")) {
                f.virtio
            } else {
                0
            }
        }
        _ => 0,
    }
}

fn pci_controller_index(def: &DomainDef, idx: u32) -> Option<usize> {
    def.devices.controllers.iter().position(|c| c.controller_type == "pci" && c.index == Some(idx))
}

fn has_root(def: &DomainDef, model: &str) -> bool {
    def.devices.controllers.iter().any(|c| c.controller_type == "pci" && c.model.as_deref() == Some(model))
}

fn controller_hotplug(c: &Controller) -> bool {
    c.other.iter().find(|e| e.name == "target").and_then(|t| attr(t, "hotplug")) != Some("off")
}

fn create_set(def: &DomainDef, caps: &QemuCaps, nbuses: usize, dry_run: bool, f: &Flags) -> Result<AddrSet> {
    let pseries = def.os.machine.as_deref().is_some_and(|m| m.starts_with("pseries"));
    let mut set =
        AddrSet { buses: vec![Bus::default(); nbuses], dry_run, multiple_roots: pseries, pcie_pci_bridge: caps.has("pcie-pci-bridge") };
    let mut set_models = vec![false; nbuses];
    let mut pcie_root = false;
    for c in def.devices.controllers.iter().filter(|c| c.controller_type == "pci") {
        let idx = c.index.unwrap_or(0) as usize;
        if idx >= nbuses {
            return Err(QemuError::Internal(format!("Inappropriate new pci controller index {idx} exceeds addrs array length")));
        }
        let model = c.model.as_deref().unwrap_or("");
        if model.is_empty() {
            return Err(QemuError::Internal("PCI controller model was not set correctly".into()));
        }
        set.buses[idx] = Bus::new(model, controller_hotplug(c));
        set_models[idx] = true;
        pcie_root |= model == "pcie-root";
    }
    if nbuses > 0 && !set_models[0] {
        set.buses[0] = Bus::new("pci-root", true);
        set_models[0] = true;
    }
    let default = if pseries {
        "pci-root"
    } else if pcie_root {
        "pcie-root-port"
    } else {
        "pci-bridge"
    };
    for (bus, has_model) in set.buses.iter_mut().zip(set_models.iter()).skip(1) {
        if !has_model {
            *bus = Bus::new(default, true);
        }
    }
    // Collect the addresses already in the definition.
    let i440 = is_i440fx(def);
    for d in all_devices(def) {
        let a = get_addr(def, d);
        if !present(&a) {
            continue;
        }
        let Some(((bus, slot, function), _)) = pci_of(&a) else { continue };
        if let Some(Address::Pci { domain, .. }) = &a {
            if *domain != 0 {
                return Err(xml_err(format!(
                    "Invalid PCI address {:04x}:{bus:02x}:{slot:02x}.{function}. Only PCI domain 0 is available",
                    domain
                )));
            }
        }
        let mut flags = dev_flags(def, d, f);
        if flags == 0 {
            flags = PCI_DEV;
        }
        if let Dev::Controller(i) = d {
            let c = &def.devices.controllers[i];
            if bus == 0 && slot == 1 && c.index == Some(0) {
                let piix = (c.controller_type == "ide" && function == 1)
                    || (c.controller_type == "usb" && matches!(c.model.as_deref(), None | Some("piix3-uhci")) && function == 2);
                if piix {
                    if !set.buses.is_empty() && set.buses[0].flags & PCI_DEV == 0 {
                        return Err(QemuError::Internal("Bus 0 must be PCI for integrated PIIX3 USB or IDE controllers".into()));
                    }
                    continue;
                }
            }
        }
        let _ = i440;
        set.reserve((bus, slot, function), flags, true)?;
    }
    Ok(set)
}

fn validate_piix3(def: &mut DomainDef, set: &mut AddrSet, f: &Flags) -> Result<()> {
    let flags = AUTO | PCI_DEV;
    for i in 0..def.devices.controllers.len() {
        let c = &def.devices.controllers[i];
        let want = match (c.controller_type.as_str(), c.index) {
            ("ide", Some(0)) => (1, "Primary IDE controller must have PCI address 0:0:1.1"),
            ("usb", Some(0)) if matches!(c.model.as_deref(), None | Some("piix3-uhci")) => {
                (2, "PIIX3 USB controller at index 0 must have PCI address 0:0:1.2")
            }
            _ => continue,
        };
        if present(&c.info.address) {
            if !matches!(pci_of(&c.info.address), Some(((0, 1, fx), _)) if fx == want.0) {
                return Err(QemuError::Internal(want.1.into()));
            }
        } else {
            set_addr(def, Dev::Controller(i), (0, 1, want.0), None);
        }
        if !set.buses.is_empty() {
            set.reserve((0, 1, want.0), flags, true)?;
        }
    }
    if !set.buses.is_empty() {
        set.reserve((0, 1, 0), flags, true)?;
        set.reserve((0, 1, 3), flags, true)?;
    }
    primary_video(def, set, 2, flags, f)
}

fn primary_video(def: &mut DomainDef, set: &mut AddrSet, slot: u32, flags: u32, f: &Flags) -> Result<()> {
    let Some(v) = def.devices.videos.first() else { return Ok(()) };
    if matches!(v.model.as_deref(), Some("none") | Some("ramfb")) || !wanted(&v.info.address) {
        return Ok(());
    }
    set.validate((0, slot, 0), flags, true)?;
    if set.slot_in_use(0, slot) {
        let vf = dev_flags(def, Dev::Video(0), f);
        let a = set.reserve_next(vf, None)?;
        if !set.dry_run {
            set_addr(def, Dev::Video(0), a, None);
        }
    } else {
        set.reserve((0, slot, 0), flags, true)?;
        set_addr(def, Dev::Video(0), (0, slot, 0), None);
    }
    Ok(())
}

fn validate_q35(def: &mut DomainDef, set: &mut AddrSet, f: &Flags) -> Result<()> {
    let flags = PCIE_DEV;
    for i in 0..def.devices.controllers.len() {
        let c = &def.devices.controllers[i];
        match c.controller_type.as_str() {
            "sata" if c.index == Some(0) => {
                if present(&c.info.address) {
                    if !matches!(pci_of(&c.info.address), Some(((0, 0x1f, 2), _))) {
                        return Err(QemuError::Internal("Primary SATA controller must have PCI address 0:0:1f.2".into()));
                    }
                } else {
                    set_addr(def, Dev::Controller(i), (0, 0x1f, 2), None);
                }
            }
            "usb" if c.model.as_deref() == Some("ich9-uhci1") && c.info.address.is_none() => {
                let slot = if !set.slot_in_use(0, 0x1d) {
                    Some(0x1d)
                } else if !set.slot_in_use(0, 0x1a) {
                    Some(0x1a)
                } else {
                    None
                };
                if let Some(s) = slot {
                    set.reserve((0, s, 0), flags, true)?;
                    set_addr(def, Dev::Controller(i), (0, s, 0), Some("on"));
                }
            }
            "pci" if c.model.as_deref() == Some("dmi-to-pci-bridge") && c.info.address.is_none() && !set.slot_in_use(0, 0x1e) => {
                set.reserve((0, 0x1e, 0), flags, true)?;
                set_addr(def, Dev::Controller(i), (0, 0x1e, 0), None);
            }
            _ => {}
        }
    }
    if !set.buses.is_empty() {
        set.reserve((0, 0x1f, 0), flags, true)?;
        set.reserve((0, 0x1f, 3), flags, true)?;
    }
    primary_video(def, set, 1, flags, f)?;
    if !set.slot_in_use(0, 0x1b) {
        let idx = def.devices.other.iter().position(|e| e.name == "sound" && attr(e, "model") == Some("ich9") && el_address(e).is_none());
        if let Some(i) = idx {
            set.reserve((0, 0x1b, 0), flags, true)?;
            set_addr(def, Dev::Other(i), (0, 0x1b, 0), None);
        }
    }
    Ok(())
}

fn next_for(def: &mut DomainDef, set: &mut AddrSet, d: Dev, f: &Flags) -> Result<()> {
    let flags = dev_flags(def, d, f);
    let a = set.reserve_next(flags, None)?;
    if !set.dry_run {
        set_addr(def, d, a, None);
    }
    Ok(())
}

fn is_usb2(c: &Controller) -> bool {
    c.controller_type == "usb" && matches!(c.model.as_deref(), Some("ich9-ehci1" | "ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3"))
}

fn assign_slots(def: &mut DomainDef, set: &mut AddrSet, f: &Flags) -> Result<()> {
    // PCI controllers.
    for i in 0..def.devices.controllers.len() {
        let c = &def.devices.controllers[i];
        if c.controller_type == "pci" && !matches!(c.model.as_deref(), Some("pci-root" | "pcie-root")) && wanted(&c.info.address) {
            next_for(def, set, Dev::Controller(i), f)?;
        }
    }
    let others = |def: &DomainDef, name: &str| -> Vec<usize> {
        def.devices.other.iter().enumerate().filter(|(_, e)| e.name == name).map(|(i, _)| i).collect()
    };
    for i in others(def, "filesystem") {
        if wanted(&get_addr(def, Dev::Other(i))) && dev_flags(def, Dev::Other(i), f) != 0 {
            next_for(def, set, Dev::Other(i), f)?;
        }
    }
    for i in 0..def.devices.interfaces.len() {
        let n = &def.devices.interfaces[i];
        if n.iface_type == "hostdev" || !wanted(&n.info.address) || dev_flags(def, Dev::Net(i), f) == 0 {
            continue;
        }
        next_for(def, set, Dev::Net(i), f)?;
    }
    for i in others(def, "sound") {
        let e = &def.devices.other[i];
        if !wanted(&el_address(e)) || matches!(attr(e, "model"), Some("sb16" | "pcspk" | "usb")) {
            continue;
        }
        next_for(def, set, Dev::Other(i), f)?;
    }
    for i in 0..def.devices.controllers.len() {
        let c = def.devices.controllers[i].clone();
        match (c.controller_type.as_str(), c.model.as_deref()) {
            ("pci", _) | ("usb", Some("none")) | ("fdc" | "ccid", _) | ("scsi", Some("ncr53c90")) => continue,
            ("ide", _) if c.index == Some(0) => continue,
            _ => {}
        }
        if !wanted(&c.info.address) {
            continue;
        }
        let flags = dev_flags(def, Dev::Controller(i), f);
        if flags == 0 {
            continue;
        }
        if is_usb2(&c) {
            let found = def.devices.controllers.iter().find_map(|o| {
                if is_usb2(o) && o.index == c.index && present(&o.info.address) {
                    pci_of(&o.info.address).map(|x| x.0)
                } else {
                    None
                }
            });
            let (func, multi) = match c.model.as_deref() {
                Some("ich9-ehci1") => (7, None),
                Some("ich9-uhci1") => (0, Some("on")),
                Some("ich9-uhci2") => (1, None),
                _ => (2, None),
            };
            match found {
                Some((b, s, _)) => {
                    set.reserve((b, s, func), flags, true)?;
                    set_addr(def, Dev::Controller(i), (b, s, func), multi);
                }
                None => {
                    let a = set.reserve_next(flags, Some(func))?;
                    if !set.dry_run {
                        set_addr(def, Dev::Controller(i), a, multi);
                    }
                }
            }
        } else {
            next_for(def, set, Dev::Controller(i), f)?;
        }
    }
    for i in 0..def.devices.disks.len() {
        let x = &def.devices.disks[i];
        if x.target_bus != "virtio" || present(&x.info.address) {
            continue;
        }
        if !wanted(&x.info.address) {
            if matches!(x.info.address, Some(Address::Ccw { .. })) {
                continue;
            }
            if let Some(Address::Other(e)) = &x.info.address {
                if matches!(attr(e, "type"), Some("ccw" | "virtio-mmio")) {
                    continue;
                }
            }
            return Err(QemuError::Unsupported("virtio disk cannot have an address of type other than pci".into()));
        }
        next_for(def, set, Dev::Disk(i), f)?;
    }
    for i in others(def, "hostdev") {
        let e = &def.devices.other[i];
        if !wanted(&el_address(e)) || attr(e, "mode").unwrap_or("subsystem") != "subsystem" {
            continue;
        }
        let ty = attr(e, "type").unwrap_or("");
        let mdev_pci = ty == "mdev" && attr(e, "model") == Some("vfio-pci");
        if ty != "pci" && ty != "scsi_host" && !mdev_pci {
            continue;
        }
        next_for(def, set, Dev::Other(i), f)?;
    }
    if let Some(m) = &def.devices.memballoon {
        if m.model != "none" && wanted(&m.info.address) && dev_flags(def, Dev::Balloon, f) != 0 {
            next_for(def, set, Dev::Balloon, f)?;
        }
    }
    for i in 0..def.devices.rngs.len() {
        if wanted(&def.devices.rngs[i].info.address) {
            next_for(def, set, Dev::Rng(i), f)?;
        }
    }
    for i in others(def, "watchdog") {
        let e = &def.devices.other[i];
        if attr(e, "model") == Some("i6300esb") && wanted(&el_address(e)) {
            next_for(def, set, Dev::Other(i), f)?;
        }
    }
    for i in 0..def.devices.videos.len() {
        let v = &def.devices.videos[i];
        if matches!(v.model.as_deref(), Some("none" | "ramfb")) || !wanted(&v.info.address) || dev_flags(def, Dev::Video(i), f) == 0 {
            continue;
        }
        next_for(def, set, Dev::Video(i), f)?;
    }
    for i in others(def, "shmem") {
        if wanted(&get_addr(def, Dev::Other(i))) {
            next_for(def, set, Dev::Other(i), f)?;
        }
    }
    for i in 0..def.devices.inputs.len() {
        let x = &def.devices.inputs[i];
        if x.bus.as_deref() == Some("virtio") && wanted(&x.info.address) {
            next_for(def, set, Dev::Input(i), f)?;
        }
    }
    for i in 0..def.devices.chardevs.len() {
        let c = &def.devices.chardevs[i];
        if c.device == "serial" && c.target_type() == Some("pci-serial") && wanted(&c.info.address) {
            next_for(def, set, Dev::Chr(i), f)?;
        }
    }
    for name in ["iommu", "vsock", "memory"] {
        for i in others(def, name) {
            if wanted(&get_addr(def, Dev::Other(i))) && dev_flags(def, Dev::Other(i), f) != 0 {
                next_for(def, set, Dev::Other(i), f)?;
            }
        }
    }
    Ok(())
}

fn validate_chipsets(def: &mut DomainDef, set: &mut AddrSet, f: &Flags) -> Result<()> {
    if is_i440fx(def) {
        validate_piix3(def, set, f)?;
    }
    if is_q35(def) {
        validate_q35(def, set, f)?;
    }
    Ok(())
}

/// Whether the machine has a PCI bus at all (libvirt's `qemuDomainSupportsPCI`).
fn supports_pci(def: &DomainDef, caps: &QemuCaps) -> bool {
    let arch = def.os.arch.as_deref().unwrap_or("");
    let machine = def.os.machine.as_deref().unwrap_or("");
    if !matches!(arch, "armv6l" | "armv7l" | "aarch64" | "riscv32" | "riscv64") {
        return true;
    }
    machine == "versatilepb" || (machine.starts_with("virt") && caps.has("gpex-pcihost"))
}

/// Assign PCI addresses to every device that needs one, adding the PCI controllers
/// the topology is missing.
pub fn assign_pci_addresses(def: &mut DomainDef, caps: &QemuCaps) -> Result<()> {
    let max_idx: i64 =
        def.devices.controllers.iter().filter(|c| c.controller_type == "pci").map(|c| c.index.unwrap_or(0) as i64).max().unwrap_or(-1);
    let mut nbuses = (max_idx + 1) as usize;
    let pcie_root = has_root(def, "pcie-root");
    let pcie = if pcie_root { PCIE_DEV | AUTO } else { PCI_DEV | AUTO };
    let virtio = if caps.has("virtio-pci-non-transitional") { pcie } else { PCI_DEV | AUTO };
    let f = Flags { pcie, virtio, pci: PCI_DEV | AUTO };
    if nbuses > 0 {
        let mut set = create_set(def, caps, nbuses, true, &f)?;
        validate_chipsets(def, &mut set, &f)?;
        if has_root(def, "pci-root") && !set.buses.iter().all(Bus::full) {
            set.reserve_next(PCI_DEV | AUTO, None)?;
        }
        assign_slots(def, &mut set, &f)?;
        if max_idx <= 0 && set.buses.len() as i64 > max_idx + 1 && pcie_root {
            set.reserve_next(PCIE_DEV | AUTO, None)?;
        }
        let mut i = 1;
        while i < set.buses.len() {
            if pci_controller_index(def, i as u32).is_none() {
                let mut c = Controller::new("pci", i as u32);
                c.model = Some(set.buses[i].model.clone());
                def.devices.insert_controller(c);
                let model = set.buses[i].model.clone();
                if model != "pci-root" && model != "pcie-root" {
                    set.reserve_next(controller_connect(&model), None)?;
                }
            }
            i += 1;
        }
        nbuses = set.buses.len();
    }
    let mut set = create_set(def, caps, nbuses, false, &f)?;
    if nbuses == 0 || !supports_pci(def, caps) {
        return Ok(());
    }
    validate_chipsets(def, &mut set, &f)?;
    assign_slots(def, &mut set, &f)?;
    set_all_multi(def);
    controller_options(def, caps);
    Ok(())
}

/// libvirt's `virDomainPCIAddressSetAllMulti`: function 0 of a slot with several
/// functions in use gets `multifunction='on'` unless set.
fn set_all_multi(def: &mut DomainDef) {
    let devs = all_devices(def);
    let addrs: Vec<Pci> = devs.iter().filter_map(|d| pci_of(&get_addr(def, *d)).map(|x| x.0)).collect();
    for d in devs {
        let a = get_addr(def, d);
        if let Some(((bus, slot, 0), None)) = pci_of(&a) {
            if !present(&a) && bus == 0 && slot == 0 {
                continue;
            }
            if addrs.iter().any(|(b, s, fx)| *b == bus && *s == slot && *fx != 0) {
                set_addr(def, d, (bus, slot, 0), Some("on"));
            }
        }
    }
}

fn set_attr(e: &mut El, k: &str, v: String) {
    if !e.attrs.iter().any(|(a, _)| a == k) {
        e.attrs.push((k.to_string(), v));
    }
}

/// Default `<model name>` and `<target>` options of PCI controllers.
fn controller_options(def: &mut DomainDef, caps: &QemuCaps) {
    let pseries = def.os.machine.as_deref().is_some_and(|m| m.starts_with("pseries"));
    for c in def.devices.controllers.iter_mut().filter(|c| c.controller_type == "pci") {
        let idx = c.index.unwrap_or(0);
        let model = c.model.clone().unwrap_or_default();
        let name = match model.as_str() {
            "pci-bridge" => Some("pci-bridge"),
            "dmi-to-pci-bridge" => Some("i82801b11-bridge"),
            "pcie-to-pci-bridge" => Some("pcie-pci-bridge"),
            "pcie-root-port" => Some(if caps.has("pcie-root-port") { "pcie-root-port" } else { "ioh3420" }),
            "pcie-switch-upstream-port" => Some("x3130-upstream"),
            "pcie-switch-downstream-port" => Some("xio3130-downstream"),
            "pci-expander-bus" => Some("pxb"),
            "pcie-expander-bus" => Some("pxb-pcie"),
            "pci-root" if pseries => Some("spapr-pci-host-bridge"),
            _ => None,
        };
        let (slot, function) = match pci_of(&c.info.address) {
            Some(((_, s, fx), _)) => (s, fx),
            None => (0, 0),
        };
        let mut target: Vec<(&str, String)> = Vec::new();
        match model.as_str() {
            "pci-bridge" => target.push(("chassisNr", idx.to_string())),
            "pcie-root-port" => {
                target.push(("chassis", idx.to_string()));
                target.push(("port", format!("0x{:x}", (slot << 3) + function)));
            }
            "pcie-switch-downstream-port" => {
                target.push(("chassis", idx.to_string()));
                target.push(("port", format!("0x{slot:x}")));
            }
            "pci-root" if pseries => target.push(("index", idx.to_string())),
            _ => {}
        }
        if let Some(n) = name {
            if !c.other.iter().any(|e| e.name == "model") {
                c.other.insert(0, El::new("model").attr("name", n));
            }
        }
        if !target.is_empty() {
            let pos = c.other.iter().position(|e| e.name == "target");
            let t = match pos {
                Some(p) => &mut c.other[p],
                None => {
                    let at = c.other.iter().position(|e| e.name == "model").map_or(0, |p| p + 1);
                    c.other.insert(at, El::new("target"));
                    &mut c.other[at]
                }
            };
            for (k, v) in target {
                set_attr(t, k, v);
            }
            let order = ["chassisNr", "chassis", "port", "busNr", "index", "hotplug", "memReserve"];
            t.attrs.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
        }
    }
}

pub(super) fn xml_err(m: String) -> QemuError {
    QemuError::Conf(oxvirt_conf::ConfError::xml(m))
}
