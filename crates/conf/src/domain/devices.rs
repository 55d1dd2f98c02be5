//! `<devices>`: typed models of the devices drivers act on (disks, controllers,
//! interfaces, graphics, video, inputs, character devices, memballoon, rng), and a
//! verbatim fallback for the rest, emitted at libvirt's canonical position.

use super::common::{check_enum, other_attrs, other_children, rank_in, req_attr, sort_children, Address, DeviceInfo, INFO_NAMES};
use crate::error::{ConfError, Result};
use crate::xml::{self, El};
use roxmltree::Node;

/// Device element names in libvirt's output order (`virDomainDefFormatInternal`).
pub const DEVICE_ORDER: &[&str] = &[
    "emulator",
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "serial",
    "parallel",
    "console",
    "channel",
    "input",
    "tpm",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "redirdev",
    "redirfilter",
    "hub",
    "watchdog",
    "memballoon",
    "rng",
    "nvram",
    "panic",
    "shmem",
    "memory",
    "iommu",
    "vsock",
    "crypto",
];

/// Everything under `<devices>`.
#[derive(Debug, Clone, Default)]
pub struct Devices {
    /// `<emulator>` path.
    pub emulator: Option<String>,
    /// `<disk>` elements.
    pub disks: Vec<Disk>,
    /// `<controller>` elements, ordered like libvirt (by type, then index).
    pub controllers: Vec<Controller>,
    /// `<interface>` elements.
    pub interfaces: Vec<Interface>,
    /// `<smartcard>` elements.
    pub smartcards: Vec<Smartcard>,
    /// `<serial>`, `<parallel>`, `<console>` and `<channel>` elements.
    pub chardevs: Vec<Chardev>,
    /// `<input>` elements.
    pub inputs: Vec<Input>,
    /// `<graphics>` elements.
    pub graphics: Vec<Graphics>,
    /// `<video>` elements (primary first).
    pub videos: Vec<Video>,
    /// `<redirdev>` elements.
    pub redirdevs: Vec<Redirdev>,
    /// `<memballoon>`.
    pub memballoon: Option<Memballoon>,
    /// `<rng>` elements.
    pub rngs: Vec<Rng>,
    /// Other devices (filesystem, hostdev, sound, watchdog, tpm, ...), kept verbatim
    /// and emitted at their canonical position.
    pub other: Vec<El>,
    /// The guest is HVM: its first `<console>` of target type serial is an alias of
    /// the first `<serial>` (libvirt's console compatibility rules).
    pub hvm: bool,
}

// ---------------------------------------------------------------- disks

/// Where a disk's data lives (`<source>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskSource {
    /// `file=` / `dev=` / `dir=` path for file, block and dir disks.
    pub path: Option<String>,
    /// Network protocol (`nbd`, `rbd`, `iscsi`, ...).
    pub protocol: Option<String>,
    /// Network source name / image.
    pub name: Option<String>,
    /// Storage pool for `type='volume'`.
    pub pool: Option<String>,
    /// Volume name for `type='volume'`.
    pub volume: Option<String>,
    /// Network hosts as (name, port).
    pub hosts: Vec<(Option<String>, Option<String>)>,
    /// The element as written (other attributes and children are re-emitted).
    pub raw: Option<El>,
}

/// A `<disk>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// `type=`: file, block, dir, network, volume, nvme, vhostuser.
    pub disk_type: String,
    /// `device=`: disk, cdrom, floppy, lun.
    pub device: String,
    /// Other attributes of `<disk>` (model, rawio, sgio, snapshot).
    pub attrs: Vec<(String, String)>,
    /// `<driver>` kept as written.
    pub driver: Option<El>,
    /// `<source>`.
    pub source: DiskSource,
    /// `<target dev=..>`.
    pub target_dev: String,
    /// `<target bus=..>` (derived from the device name when absent).
    pub target_bus: String,
    /// Other attributes of `<target>` (tray, removable, rotation_rate).
    pub target_attrs: Vec<(String, String)>,
    /// `<readonly/>`.
    pub readonly: bool,
    /// `<shareable/>`.
    pub shareable: bool,
    /// `<serial>`.
    pub serial: Option<String>,
    /// Other children kept verbatim (backingStore, backenddomain, geometry, blockio,
    /// iotune, transient, wwn, vendor, product, encryption, auth, mirror).
    pub other: Vec<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

const DISK_ORDER: &[&str] = &[
    "driver",
    "auth",
    "source",
    "backingStore",
    "backenddomain",
    "geometry",
    "blockio",
    "mirror",
    "target",
    "iotune",
    "readonly",
    "shareable",
    "transient",
    "serial",
    "wwn",
    "vendor",
    "product",
    "encryption",
    "boot",
    "alias",
    "master",
    "rom",
    "acpi",
    "address",
];

impl Disk {
    /// The host path of a file/block/dir source, if any.
    pub fn source_path(&self) -> Option<&str> {
        self.source.path.as_deref()
    }

    /// `<driver type=..>` (image format), if given.
    pub fn driver_type(&self) -> Option<&str> {
        self.driver.as_ref().and_then(|d| d.attrs.iter().find(|(k, _)| k == "type")).map(|(_, v)| v.as_str())
    }

    fn path_attr(&self) -> Option<&'static str> {
        match self.disk_type.as_str() {
            "file" => Some("file"),
            "block" => Some("dev"),
            "dir" => Some("dir"),
            _ => None,
        }
    }

    fn parse(node: Node<'_, '_>, inactive: bool) -> Result<Disk> {
        let disk_type =
            check_enum(node, "type", &["file", "block", "dir", "network", "volume", "nvme", "vhostuser"])?.unwrap_or_else(|| "file".into());
        let device = match node.attribute("device") {
            None => "disk".to_string(),
            Some(d @ ("disk" | "cdrom" | "floppy" | "lun")) => d.to_string(),
            Some(d) => return Err(ConfError::xml(format!("Invalid value for attribute 'device' in element 'disk': '{d}'."))),
        };
        let mut source = DiskSource::default();
        if let Some(s) = xml::child(node, "source") {
            let key = match disk_type.as_str() {
                "file" => Some("file"),
                "block" => Some("dev"),
                "dir" => Some("dir"),
                _ => None,
            };
            source.path = key.and_then(|k| xml::attr_s(s, k)).filter(|p| !p.is_empty());
            source.protocol = xml::attr_s(s, "protocol");
            source.name = xml::attr_s(s, "name");
            source.pool = xml::attr_s(s, "pool");
            source.volume = xml::attr_s(s, "volume");
            source.hosts = xml::children(s, "host").map(|h| (xml::attr_s(h, "name"), xml::attr_s(h, "port"))).collect();
            if disk_type == "network" && source.protocol.is_none() {
                return Err(ConfError::xml("missing network source protocol type"));
            }
            let mut raw = El::from_node(s);
            if inactive {
                raw.attrs.retain(|(k, _)| k != "index");
            }
            source.raw = Some(raw);
        }
        let target = xml::child(node, "target").ok_or_else(|| ConfError::xml("missing target information for device"))?;
        let target_dev = xml::attr_s(target, "dev").ok_or_else(|| ConfError::xml("missing target information for device"))?;
        let target_bus = match xml::attr_s(target, "bus") {
            Some(b) => b,
            None => {
                let d = target_dev.as_str();
                if device == "floppy" {
                    "fdc"
                } else if d.starts_with("hd") {
                    "ide"
                } else if d.starts_with("sd") {
                    "scsi"
                } else if d.starts_with("vd") {
                    "virtio"
                } else if d.starts_with("xvd") {
                    "xen"
                } else if d.starts_with("ub") {
                    "usb"
                } else {
                    "ide"
                }
                .to_string()
            }
        };
        if !["ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd", "none"].contains(&target_bus.as_str()) {
            return Err(ConfError::xml(format!("Invalid value for attribute 'bus' in element 'target': '{target_bus}'.")));
        }
        let skip = ["driver", "source", "target", "readonly", "shareable", "serial", "boot", "alias", "master", "rom", "acpi", "address"];
        Ok(Disk {
            attrs: other_attrs(node, &["type", "device"]),
            driver: xml::child(node, "driver").map(El::from_node).filter(|d| !d.is_empty()),
            target_attrs: other_attrs(target, &["dev", "bus"]),
            readonly: xml::child(node, "readonly").is_some(),
            shareable: xml::child(node, "shareable").is_some(),
            serial: xml::child_text(node, "serial").filter(|s| !s.is_empty()),
            other: other_children(node, &skip),
            info: DeviceInfo::parse(node, inactive)?,
            disk_type,
            device,
            source,
            target_dev,
            target_bus,
        })
    }

    fn source_el(&self) -> El {
        let mut e = self.source.raw.clone().unwrap_or_else(|| El::new("source"));
        if let Some(k) = self.path_attr() {
            match (&self.source.path, e.attrs.iter().position(|(a, _)| a == k)) {
                (Some(p), Some(i)) => e.attrs[i].1 = p.clone(),
                (Some(p), None) => e.attrs.insert(0, (k.to_string(), p.clone())),
                (None, Some(i)) => {
                    e.attrs.remove(i);
                }
                (None, None) => {}
            }
        }
        e
    }

    /// Format as `<disk>`.
    pub fn to_el(&self) -> El {
        let mut e = El::new("disk").attr("type", &self.disk_type).attr("device", &self.device);
        e.attrs.extend(self.attrs.iter().cloned());
        if let Some(d) = &self.driver {
            e.push(d.clone());
        }
        e = e.child_nonempty(self.source_el());
        let mut t = El::new("target").attr("dev", &self.target_dev).attr("bus", &self.target_bus);
        t.attrs.extend(self.target_attrs.iter().cloned());
        e.push(t);
        if self.readonly {
            e.push(El::new("readonly"));
        }
        if self.shareable {
            e.push(El::new("shareable"));
        }
        if let Some(s) = &self.serial {
            e.push(El::new("serial").text(s));
        }
        for o in &self.other {
            e.push(o.clone());
        }
        self.info.format_into(&mut e);
        sort_children(&mut e, |n| rank_in(DISK_ORDER, n));
        e
    }
}

// ---------------------------------------------------------------- controllers

/// A `<controller>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// `type=`: ide, fdc, scsi, sata, usb, pci, virtio-serial, ccid, xenbus, isa.
    pub controller_type: String,
    /// `index=`; `None` until assigned.
    pub index: Option<u32>,
    /// `model=`.
    pub model: Option<String>,
    /// Other attributes (ports, vectors, ...).
    pub attrs: Vec<(String, String)>,
    /// Children other than the device info (model, target, driver, pcihole64).
    pub other: Vec<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

const CONTROLLER_TYPES: &[&str] = &["ide", "fdc", "scsi", "sata", "virtio-serial", "ccid", "usb", "pci", "xenbus", "isa"];

impl Controller {
    /// A new controller of `ty` with `index`.
    pub fn new(ty: &str, index: u32) -> Controller {
        Controller {
            controller_type: ty.to_string(),
            index: Some(index),
            model: None,
            attrs: Vec::new(),
            other: Vec::new(),
            info: DeviceInfo::default(),
        }
    }

    fn parse(node: Node<'_, '_>, inactive: bool) -> Result<Controller> {
        let ty = check_enum(node, "type", CONTROLLER_TYPES)?.unwrap_or_else(|| "ide".into());
        let index = match node.attribute("index") {
            None => None,
            Some(v) => Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|i| *i <= i32::MAX as u32)
                    .ok_or_else(|| ConfError::xml(format!("Invalid value for attribute 'index' in element 'controller': '{v}'.")))?,
            ),
        };
        Ok(Controller {
            controller_type: ty,
            index,
            model: xml::attr_s(node, "model"),
            attrs: other_attrs(node, &["type", "index", "model"]),
            other: other_children(node, INFO_NAMES),
            info: DeviceInfo::parse(node, inactive)?,
        })
    }

    /// Format as `<controller>`.
    pub fn to_el(&self) -> El {
        let mut e = El::new("controller").attr("type", &self.controller_type).attr("index", self.index.unwrap_or(0));
        e = e.attr_opt("model", self.model.as_deref());
        e.attrs.extend(self.attrs.iter().cloned());
        for o in &self.other {
            e.push(o.clone());
        }
        self.info.format_into(&mut e);
        e
    }
}

impl Devices {
    /// Insert a controller the way libvirt does: after the controllers of the same
    /// type with a lower index, or at the end.
    pub fn insert_controller(&mut self, c: Controller) {
        let mut insert_at: Option<usize> = None;
        for (i, cur) in self.controllers.iter().enumerate().rev() {
            if cur.controller_type != c.controller_type {
                continue;
            }
            match c.index {
                None => {
                    insert_at = Some(i + 1);
                    break;
                }
                Some(ci) => {
                    if cur.index.is_some_and(|x| x > ci) {
                        insert_at = Some(i);
                    } else if insert_at.is_none() {
                        insert_at = Some(i + 1);
                        break;
                    }
                }
            }
        }
        match insert_at {
            Some(i) if i <= self.controllers.len() => self.controllers.insert(i, c),
            _ => self.controllers.push(c),
        }
    }

    /// Give controllers without an index the lowest free one of their type; a USB2
    /// companion following another USB2 controller joins its group's index.
    pub fn assign_controller_indexes(&mut self) {
        let usb2 = |c: &Controller| {
            c.controller_type == "usb" && matches!(c.model.as_deref(), Some("ich9-ehci1" | "ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3"))
        };
        for i in 0..self.controllers.len() {
            if self.controllers[i].index.is_some() {
                continue;
            }
            let mut idx = None;
            if i > 0 && usb2(&self.controllers[i]) {
                let prev = self.controllers[..i].iter().rev().find(|c| c.controller_type == "usb");
                if let Some(p) = prev.filter(|p| usb2(p)) {
                    let model = self.controllers[i].model.clone();
                    let taken = self.controllers.iter().any(|c| c.controller_type == "usb" && c.index == p.index && c.model == model);
                    if !taken {
                        idx = p.index;
                    }
                }
            }
            let idx = idx.unwrap_or_else(|| {
                let ty = &self.controllers[i].controller_type;
                // PCI index 0 is the root bus (pci-root/pcie-root), which the driver
                // adds after parsing: other PCI controllers number from 1, as in
                // libvirt, where the root exists before indexes are assigned.
                let root = matches!(self.controllers[i].model.as_deref(), Some("pci-root" | "pcie-root"));
                let mut n = u32::from(ty == "pci" && !root);
                while self.controllers.iter().any(|c| &c.controller_type == ty && c.index == Some(n)) {
                    n += 1;
                }
                n
            });
            self.controllers[i].index = Some(idx);
        }
    }

    /// Add a controller of `ty`/`index` unless one exists.
    pub fn maybe_add_controller(&mut self, ty: &str, index: u32) {
        if !self.controllers.iter().any(|c| c.controller_type == ty && c.index == Some(index)) {
            self.insert_controller(Controller::new(ty, index));
        }
    }
}

// ---------------------------------------------------------------- interfaces

/// An `<interface>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// `type=`: network, bridge, user, direct, ethernet, vhostuser, hostdev, ...
    pub iface_type: String,
    /// Other attributes of `<interface>` (trustGuestRxFilters, managed).
    pub attrs: Vec<(String, String)>,
    /// `<mac address=..>` (generated when absent).
    pub mac: String,
    /// Other attributes of `<mac>` (type, check).
    pub mac_attrs: Vec<(String, String)>,
    /// `<source network=..>`.
    pub source_network: Option<String>,
    /// `<source bridge=..>`.
    pub source_bridge: Option<String>,
    /// `<source dev=..>` (direct, ethernet, hostdev).
    pub source_dev: Option<String>,
    /// `<source mode=..>` (direct).
    pub source_mode: Option<String>,
    /// `<source portgroup=..>`.
    pub source_portgroup: Option<String>,
    /// The `<source>` element as written (re-emitted with the fields above applied).
    pub source_raw: Option<El>,
    /// `<target dev=..>`.
    pub target_dev: Option<String>,
    /// `<model type=..>`.
    pub model: Option<String>,
    /// Other children kept verbatim, emitted in libvirt's order.
    pub other: Vec<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

const IFACE_ORDER: &[&str] = &[
    "mac",
    "source",
    "vlan",
    "virtualport",
    "bandwidth",
    "port",
    "actual",
    "ip",
    "route",
    "portForward",
    "script",
    "downscript",
    "backenddomain",
    "target",
    "guest",
    "model",
    "driver",
    "backend",
    "filterref",
    "tune",
    "teaming",
    "link",
    "mtu",
    "coalesce",
    "boot",
    "alias",
    "master",
    "rom",
    "acpi",
    "address",
];

/// Every `<interface type=...>` libvirt knows (`virDomainNetType`).
pub const IFACE_TYPES: &[&str] = &[
    "user",
    "ethernet",
    "vhostuser",
    "server",
    "client",
    "mcast",
    "network",
    "bridge",
    "internal",
    "direct",
    "hostdev",
    "udp",
    "vdpa",
    "null",
    "vds",
];

/// A random locally administered MAC in QEMU's `52:54:00` range.
pub fn generate_mac() -> String {
    let u = oxvirt_util::uuid::generate();
    format!("52:54:00:{:02x}:{:02x}:{:02x}", u[0], u[1], u[2])
}

fn parse_mac(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut bytes = Vec::with_capacity(6);
    for p in parts {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        bytes.push(u8::from_str_radix(p, 16).ok()?);
    }
    if bytes[0] & 1 == 1 {
        return None;
    }
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
}

impl Interface {
    fn parse(node: Node<'_, '_>, inactive: bool) -> Result<Interface> {
        let iface_type = match node.attribute("type") {
            None => "user".to_string(),
            Some(t) if IFACE_TYPES.contains(&t) => t.to_string(),
            Some(t) => return Err(ConfError::xml(format!("Invalid value for attribute 'type' in element 'interface': '{t}'."))),
        };
        let (mac, mac_attrs) = match xml::child(node, "mac") {
            Some(m) => {
                let a = m.attribute("address").unwrap_or("");
                let mac = if a.is_empty() {
                    generate_mac()
                } else {
                    parse_mac(a).ok_or_else(|| ConfError::xml(format!("unable to parse mac address '{a}'")))?
                };
                (mac, other_attrs(m, &["address"]))
            }
            None => (generate_mac(), Vec::new()),
        };
        let src = xml::child(node, "source");
        let sa = |k: &str| src.and_then(|s| xml::attr_s(s, k));
        match iface_type.as_str() {
            "network" if sa("network").is_none() => {
                return Err(ConfError::xml("No <source> 'network' attribute specified with <interface type='network'/>"))
            }
            "bridge" if sa("bridge").is_none() => {
                return Err(ConfError::xml("No <source> 'bridge' attribute specified with <interface type='bridge'/>"))
            }
            "direct" if sa("dev").is_none() => {
                return Err(ConfError::xml("No <source> 'dev' attribute specified with <interface type='direct'/>"))
            }
            _ => {}
        }
        let target_dev = xml::child(node, "target").and_then(|t| xml::attr_s(t, "dev"));
        let mut skip = vec!["mac", "source", "model"];
        skip.extend_from_slice(INFO_NAMES);
        let mut other = other_children(node, &skip);
        if inactive {
            // An auto-generated tap name (vnetN, macvtapN) is not part of the config.
            other.retain(|e| {
                !(e.name == "target"
                    && e.attrs
                        .iter()
                        .any(|(k, v)| k == "dev" && (v.starts_with("vnet") || v.starts_with("macvtap") || v.starts_with("macvlan"))))
            });
            other.retain(|e| e.name != "actual");
        }
        Ok(Interface {
            attrs: other_attrs(node, &["type"]),
            mac,
            mac_attrs,
            source_network: sa("network"),
            // Only `type='bridge'` reads `bridge=` from <source>; libvirt drops it elsewhere.
            source_bridge: if iface_type == "bridge" { sa("bridge") } else { None },
            source_dev: sa("dev"),
            source_mode: sa("mode"),
            source_portgroup: sa("portgroup"),
            source_raw: src.map(El::from_node),
            target_dev,
            model: xml::child(node, "model").and_then(|m| xml::attr_s(m, "type")),
            other,
            info: DeviceInfo::parse(node, inactive)?,
            iface_type,
        })
    }

    /// Format as `<interface>`.
    pub fn to_el(&self) -> El {
        let mut e = El::new("interface").attr("type", &self.iface_type);
        e.attrs.extend(self.attrs.iter().cloned());
        let mut m = El::new("mac").attr("address", &self.mac);
        m.attrs.extend(self.mac_attrs.iter().cloned());
        e.push(m);
        let mut s = self.source_raw.clone().unwrap_or_else(|| El::new("source"));
        for (k, v) in [
            ("network", &self.source_network),
            ("bridge", &self.source_bridge),
            ("dev", &self.source_dev),
            ("mode", &self.source_mode),
            ("portgroup", &self.source_portgroup),
        ] {
            let pos = s.attrs.iter().position(|(a, _)| a == k);
            match (v, pos) {
                (Some(v), Some(i)) => s.attrs[i].1 = v.clone(),
                (Some(v), None) => s.attrs.push((k.to_string(), v.clone())),
                (None, Some(i)) => {
                    s.attrs.remove(i);
                }
                (None, None) => {}
            }
        }
        e = e.child_nonempty(s);
        let mut target_done = false;
        for o in &self.other {
            if o.name == "target" {
                target_done = true;
                let mut t = o.clone();
                match (&self.target_dev, t.attrs.iter().position(|(k, _)| k == "dev")) {
                    (Some(d), Some(i)) => t.attrs[i].1 = d.clone(),
                    (Some(d), None) => t.attrs.insert(0, ("dev".into(), d.clone())),
                    (None, Some(i)) => {
                        t.attrs.remove(i);
                    }
                    (None, None) => {}
                }
                e = e.child_nonempty(t);
            } else {
                e.push(o.clone());
            }
        }
        if !target_done {
            if let Some(d) = &self.target_dev {
                e.push(El::new("target").attr("dev", d));
            }
        }
        if let Some(m) = &self.model {
            e.push(El::new("model").attr("type", m));
        }
        self.info.format_into(&mut e);
        sort_children(&mut e, |n| rank_in(IFACE_ORDER, n));
        e
    }
}

// ---------------------------------------------------------------- character devices

/// The host side of a character device (`<source>`, `<protocol>`, `<log>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChrSource {
    /// Backend type: pty, file, dev, pipe, unix, tcp, udp, null, vc, stdio,
    /// spicevmc, spiceport, nmdm, qemu-vdagent, dbus.
    pub chr_type: String,
    /// Path for file/dev/pipe/pty/unix.
    pub path: Option<String>,
    /// `mode='bind'` (listen) for tcp/unix.
    pub listen: bool,
    /// TCP host.
    pub host: Option<String>,
    /// TCP service (port).
    pub service: Option<String>,
    /// `tls=` attribute for tcp.
    pub tls: Option<String>,
    /// `append=` for file.
    pub append: Option<String>,
    /// `<reconnect>` for tcp/unix.
    pub reconnect: Option<El>,
    /// TCP `<protocol type=..>` (default raw).
    pub protocol: Option<String>,
    /// `<log>` kept verbatim.
    pub log: Option<El>,
    /// Attributes kept verbatim for the remaining types (udp, spiceport, nmdm, ...),
    /// one list per `<source>` element.
    pub raw_sources: Vec<El>,
    /// `<seclabel>` children of `<source>`.
    pub seclabels: Vec<El>,
}

const CHR_TYPES: &[&str] =
    &["null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix", "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus"];

impl ChrSource {
    /// Parse the source part of `node` (the device element), with backend `ty`.
    pub fn parse(node: Node<'_, '_>, ty: &str, inactive: bool) -> Result<ChrSource> {
        if !CHR_TYPES.contains(&ty) {
            return Err(ConfError::xml(format!("Invalid value for attribute 'type' in element '{}': '{ty}'.", node.tag_name().name())));
        }
        let mut s = ChrSource { chr_type: ty.to_string(), ..Default::default() };
        let sources: Vec<_> = xml::children(node, "source").collect();
        if sources.len() > 1 && ty != "udp" {
            return Err(ConfError::xml("only one source element is allowed for character device"));
        }
        if sources.len() > 2 {
            return Err(ConfError::xml("only two source elements are allowed for character device"));
        }
        if let Some(src) = sources.first().copied() {
            let mode = check_enum(src, "mode", &["connect", "bind"])?;
            match ty {
                "file" | "dev" | "pipe" => s.path = xml::attr_s(src, "path"),
                "pty" if !inactive => s.path = xml::attr_s(src, "path"),
                "unix" => {
                    s.listen = mode.as_deref() == Some("bind");
                    s.path = xml::attr_s(src, "path");
                }
                "tcp" => {
                    s.listen = mode.as_deref() == Some("bind");
                    s.host = xml::attr_s(src, "host");
                    s.service = xml::attr_s(src, "service");
                    s.tls = check_enum(src, "tls", &["yes", "no"])?;
                }
                "udp" | "spiceport" | "dbus" | "nmdm" | "qemu-vdagent" => {
                    s.raw_sources = sources.iter().map(|n| El::from_node(*n)).collect()
                }
                _ => {}
            }
            if ty == "file" {
                s.append = check_enum(src, "append", &["on", "off"])?;
            }
            if ty == "tcp" || ty == "unix" {
                if let Some(r) = xml::child(src, "reconnect") {
                    let en = check_enum(r, "enabled", &["yes", "no"])?;
                    if en.as_deref() == Some("yes") && xml::attr_u64(r, "timeout")?.is_none() {
                        return Err(ConfError::xml("Missing required attribute 'timeout' in element 'reconnect'"));
                    }
                    s.reconnect = Some(El::from_node(r));
                }
            }
            s.seclabels = xml::children(src, "seclabel").map(El::from_node).collect();
        }
        if ty == "tcp" {
            if let Some(p) = xml::child(node, "protocol") {
                if let Some(t) = p.attribute("type") {
                    if !["raw", "telnet", "telnets", "tls"].contains(&t) {
                        return Err(ConfError::unsupported_config(format!("Unknown protocol '{t}'")));
                    }
                    s.protocol = Some(t.to_string());
                }
            }
        }
        s.log = xml::child(node, "log").map(El::from_node);
        Ok(s)
    }

    /// libvirt's validation of a character device source.
    pub fn validate(&self, virtio_channel: bool) -> Result<()> {
        let missing_path = || ConfError::internal("Missing source path attribute for char device");
        match self.chr_type.as_str() {
            "file" | "dev" | "pipe" if self.path.is_none() => Err(missing_path()),
            "tcp" if self.host.is_none() => Err(ConfError::internal("Missing source host attribute for char device")),
            "tcp" if self.service.is_none() => Err(ConfError::internal("Missing source service attribute for char device")),
            "unix" if self.path.is_none() && !virtio_channel => Err(missing_path()),
            "tcp" | "unix" if self.listen && self.reconnect_enabled() => {
                Err(ConfError::internal("chardev reconnect is possible only for connect mode"))
            }
            _ => Ok(()),
        }
    }

    fn reconnect_enabled(&self) -> bool {
        self.reconnect.as_ref().is_some_and(|r| r.attrs.iter().any(|(k, v)| k == "enabled" && v == "yes"))
    }

    fn reconnect_el(&self) -> Option<El> {
        self.reconnect.as_ref().map(|r| {
            let en = r.attrs.iter().find(|(k, _)| k == "enabled").map(|(_, v)| v.clone());
            let mut e = El::new("reconnect").attr_opt("enabled", en.as_deref());
            if en.as_deref() == Some("yes") {
                if let Some((_, t)) = r.attrs.iter().find(|(k, _)| k == "timeout") {
                    e.push_attr("timeout", t);
                }
            }
            e
        })
    }

    /// Append the source children to the device element `e`.
    pub fn format_into(&self, e: &mut El, inactive: bool) {
        match self.chr_type.as_str() {
            "pty" | "dev" | "file" | "pipe" => {
                if self.chr_type != "pty" || (self.path.is_some() && !inactive) {
                    let mut s = El::new("source").attr_opt("path", self.path.as_deref());
                    if self.chr_type == "file" {
                        s = s.attr_opt("append", self.append.as_deref());
                    }
                    for l in &self.seclabels {
                        s.push(l.clone());
                    }
                    *e = std::mem::take(e).child_nonempty(s);
                }
            }
            "tcp" => {
                let mut s = El::new("source")
                    .attr("mode", if self.listen { "bind" } else { "connect" })
                    .attr_opt("host", self.host.as_deref())
                    .attr_opt("service", self.service.as_deref())
                    .attr_opt("tls", self.tls.as_deref());
                if let Some(r) = self.reconnect_el() {
                    s.push(r);
                }
                e.push(s);
                e.push(El::new("protocol").attr("type", self.protocol.as_deref().unwrap_or("raw")));
            }
            "unix" => {
                if let Some(p) = &self.path {
                    let mut s = El::new("source").attr("mode", if self.listen { "bind" } else { "connect" }).attr("path", p);
                    for l in &self.seclabels {
                        s.push(l.clone());
                    }
                    if let Some(r) = self.reconnect_el() {
                        s.push(r);
                    }
                    e.push(s);
                }
            }
            _ => {
                for s in &self.raw_sources {
                    e.push(s.clone());
                }
            }
        }
        if let Some(l) = &self.log {
            e.push(l.clone());
        }
    }
}

/// A `<serial>`, `<parallel>`, `<console>` or `<channel>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chardev {
    /// Element name: serial, parallel, console, channel.
    pub device: String,
    /// Host side.
    pub source: ChrSource,
    /// `<target>` kept as written.
    pub target: Option<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

impl Chardev {
    /// `<target type=..>`.
    pub fn target_type(&self) -> Option<&str> {
        self.target.as_ref().and_then(|t| t.attrs.iter().find(|(k, _)| k == "type")).map(|(_, v)| v.as_str())
    }

    /// `<target port=..>`.
    pub fn target_port(&self) -> Option<u32> {
        self.target.as_ref().and_then(|t| t.attrs.iter().find(|(k, _)| k == "port")).and_then(|(_, v)| v.parse().ok())
    }

    fn set_target_port(&mut self, port: u32) {
        let t = self.target.get_or_insert_with(|| El::new("target"));
        match t.attrs.iter().position(|(k, _)| k == "port") {
            Some(i) => t.attrs[i].1 = port.to_string(),
            None => {
                let at = t.attrs.iter().position(|(k, _)| k == "type").map_or(0, |i| i + 1);
                t.attrs.insert(at, ("port".into(), port.to_string()));
            }
        }
    }

    fn parse(node: Node<'_, '_>, inactive: bool) -> Result<Chardev> {
        let device = node.tag_name().name().to_string();
        let ty = node.attribute("type").unwrap_or("null");
        let source = ChrSource::parse(node, ty, inactive)?;
        let target = xml::child(node, "target").map(El::from_node);
        let c = Chardev { device, source, target, info: DeviceInfo::parse(node, inactive)? };
        let virtio_chan = c.device == "channel" && matches!(c.target_type(), Some("virtio") | Some("xen"));
        c.source.validate(virtio_chan)?;
        Ok(c)
    }

    /// Format the element.
    pub fn to_el(&self, inactive: bool) -> El {
        let mut e = El::new(&self.device).attr("type", &self.source.chr_type);
        self.source.format_into(&mut e, inactive);
        if let Some(t) = &self.target {
            e.push(t.clone());
        }
        self.info.format_into(&mut e);
        e
    }
}

/// A `<smartcard>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smartcard {
    /// `mode=`: host, host-certificates, passthrough.
    pub mode: String,
    /// Passthrough backend.
    pub source: Option<ChrSource>,
    /// Children of host-certificates mode kept verbatim.
    pub other: Vec<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

/// A `<redirdev>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirdev {
    /// `bus=` (usb).
    pub bus: String,
    /// Host side.
    pub source: ChrSource,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

/// An `<rng>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    /// `model=` (virtio, virtio-transitional, ...).
    pub model: String,
    /// `<rate>` kept verbatim.
    pub rate: Option<El>,
    /// `<backend model=..>`: random, egd, builtin.
    pub backend_model: String,
    /// Random backend device path.
    pub backend_path: Option<String>,
    /// egd backend chardev.
    pub backend_source: Option<ChrSource>,
    /// `<driver>` kept verbatim.
    pub driver: Option<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

// ---------------------------------------------------------------- graphics, video, input

/// A `<listen>` of a graphics device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphicsListen {
    /// address, network, socket, none.
    pub listen_type: String,
    /// Listen address.
    pub address: Option<String>,
    /// Network name.
    pub network: Option<String>,
    /// Socket path.
    pub socket: Option<String>,
}

/// A `<graphics>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphics {
    /// `type=`: vnc, spice, sdl, rdp, desktop, egl-headless, dbus.
    pub graphics_type: String,
    /// VNC port (0 = none / automatic).
    pub port: i32,
    /// VNC autoport.
    pub autoport: bool,
    /// VNC websocket port.
    pub websocket: Option<String>,
    /// Listens (VNC).
    pub listens: Vec<GraphicsListen>,
    /// Other attributes (keymap, sharePolicy, passwd, ...), as written.
    pub attrs: Vec<(String, String)>,
    /// Other children, as written.
    pub other: Vec<El>,
    /// For types other than VNC: the element as written.
    pub raw: Option<El>,
}

impl Graphics {
    fn parse(node: Node<'_, '_>, inactive: bool) -> Result<Graphics> {
        let ty = check_enum(node, "type", &["sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus"])?
            .ok_or_else(|| ConfError::xml("Missing required attribute 'type' in element 'graphics'"))?;
        let mut g = Graphics {
            graphics_type: ty.clone(),
            port: 0,
            autoport: false,
            websocket: None,
            listens: Vec::new(),
            attrs: Vec::new(),
            other: Vec::new(),
            raw: None,
        };
        let mut listens = Vec::new();
        for (i, l) in xml::children(node, "listen").enumerate() {
            let lt = check_enum(l, "type", &["address", "network", "socket", "none"])?
                .ok_or_else(|| ConfError::xml("Missing required attribute 'type' in element 'listen'"))?;
            if (lt == "socket" || lt == "none") && ty != "vnc" && ty != "spice" {
                return Err(ConfError::unsupported_config(format!("listen type '{lt}' is not available for graphics type '{ty}'")));
            }
            let mut address = xml::attr_s(l, "address");
            let mut socket = xml::attr_s(l, "socket");
            let network = xml::attr_s(l, "network").filter(|s| !s.is_empty());
            if i == 0 {
                let compat_addr = xml::attr_s(node, "listen");
                let compat_sock = xml::attr_s(node, "socket");
                if lt == "address" {
                    if let (Some(a), Some(c)) = (&address, &compat_addr) {
                        if a != c {
                            return Err(ConfError::unsupported_config(format!(
                                "graphics 'listen' attribute '{c}' must match 'address' attribute of first listen element (found '{a}')"
                            )));
                        }
                    }
                    if address.is_none() {
                        address = compat_addr;
                    }
                }
                if lt == "socket" {
                    if let (Some(a), Some(c)) = (&socket, &compat_sock) {
                        if a != c {
                            return Err(ConfError::unsupported_config(format!(
                                "graphics 'socket' attribute '{c}' must match 'socket' attribute of first listen element (found '{a}')"
                            )));
                        }
                    }
                    if socket.is_none() {
                        socket = compat_sock;
                    }
                }
            }
            let address = address.filter(|a| !a.is_empty() && (lt == "address" || (lt == "network" && !inactive)));
            if network.is_some() && lt != "network" {
                return Err(ConfError::xml("'network' attribute is valid only for listen type 'network'"));
            }
            let socket = socket.filter(|s| !s.is_empty());
            if socket.is_some() && lt != "socket" {
                return Err(ConfError::xml("'socket' attribute is valid only for listen type 'socket'"));
            }
            if lt == "network" && network.is_none() && inactive {
                return Err(ConfError::xml("'network' attribute is required for listen type 'network'"));
            }
            listens.push(GraphicsListen { listen_type: lt, address, network, socket });
        }
        if ty != "vnc" {
            g.listens = listens;
            g.raw = Some(El::from_node(node));
            return Ok(g);
        }
        let compat = match xml::attr_s(node, "socket") {
            Some(s) => GraphicsListen { listen_type: "socket".into(), address: None, network: None, socket: Some(s) },
            None => GraphicsListen {
                listen_type: "address".into(),
                address: xml::attr_s(node, "listen").filter(|a| !a.is_empty()),
                network: None,
                socket: None,
            },
        };
        if listens.is_empty() {
            listens.push(compat);
        } else if (listens[0].listen_type == "address" || listens[0].listen_type == "network") && compat.listen_type == "socket" {
            listens[0] = compat;
        }
        g.listens = listens;
        match node.attribute("port") {
            Some(p) => {
                g.port = p.trim().parse().map_err(|_| ConfError::internal(format!("cannot parse vnc port {p}")))?;
                if g.port == -1 {
                    g.port = 0;
                    g.autoport = true;
                }
            }
            None => g.autoport = true,
        }
        if let Some(a) = node.attribute("autoport") {
            match a {
                "yes" => g.autoport = true,
                "no" => g.autoport = false,
                _ => {}
            }
            if g.autoport {
                g.port = 0;
            }
        }
        g.websocket = xml::attr_s(node, "websocket");
        g.attrs = other_attrs(node, &["type", "port", "autoport", "websocket", "listen", "socket", "websocketGenerated"]);
        g.other = other_children(node, &["listen"]);
        Ok(g)
    }

    /// Format as `<graphics>`.
    pub fn to_el(&self, inactive: bool) -> El {
        if let Some(r) = &self.raw {
            return r.clone();
        }
        let mut e = El::new("graphics").attr("type", &self.graphics_type);
        let first = self.listens.first();
        match first.map(|l| l.listen_type.as_str()) {
            Some("socket") => {
                e = e.attr_opt("socket", first.and_then(|l| l.socket.as_deref()));
            }
            Some("address") | Some("network") => {
                if self.port != 0 && (!self.autoport || !inactive) {
                    e.push_attr("port", self.port);
                } else if self.autoport {
                    e.push_attr("port", "-1");
                }
                e.push_attr("autoport", xml::yes_no(self.autoport));
                e = e.attr_opt("websocket", self.websocket.as_deref());
                if let Some(l) = first {
                    if !(l.listen_type == "network" && inactive) {
                        e = e.attr_opt("listen", l.address.as_deref());
                    }
                }
            }
            _ => {}
        }
        e.attrs.extend(self.attrs.iter().cloned());
        for l in &self.listens {
            let mut le = El::new("listen").attr("type", &l.listen_type);
            if l.listen_type == "address" || (l.listen_type == "network" && !inactive) {
                le = le.attr_opt("address", l.address.as_deref());
            }
            if l.listen_type == "network" {
                le = le.attr_opt("network", l.network.as_deref());
            }
            if l.listen_type == "socket" {
                le = le.attr_opt("socket", l.socket.as_deref());
            }
            e.push(le);
        }
        for o in &self.other {
            e.push(o.clone());
        }
        e
    }
}

/// A `<video>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    /// `<model type=..>`.
    pub model: Option<String>,
    /// Other attributes of `<model>` (vram, ram, heads, ...).
    pub model_attrs: Vec<(String, String)>,
    /// Children of `<model>` (acceleration, resolution).
    pub model_children: Vec<El>,
    /// `primary='yes'`.
    pub primary: bool,
    /// `<driver>` kept verbatim.
    pub driver: Option<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

impl Video {
    fn parse(node: Node<'_, '_>, inactive: bool) -> Result<Video> {
        let m = xml::child(node, "model");
        Ok(Video {
            model: m.and_then(|m| xml::attr_s(m, "type")),
            model_attrs: m.map(|m| other_attrs(m, &["type", "primary"])).unwrap_or_default(),
            model_children: m.map(|m| other_children(m, &[])).unwrap_or_default(),
            primary: m.and_then(|m| m.attribute("primary")) == Some("yes"),
            driver: xml::child(node, "driver").map(El::from_node),
            info: DeviceInfo::parse(node, inactive)?,
        })
    }

    /// Format as `<video>`.
    pub fn to_el(&self) -> El {
        let mut e = El::new("video");
        if let Some(d) = &self.driver {
            e.push(d.clone());
        }
        if self.model.is_some() || !self.model_attrs.is_empty() {
            let mut m = El::new("model").attr_opt("type", self.model.as_deref());
            m.attrs.extend(self.model_attrs.iter().cloned());
            if self.primary {
                m.push_attr("primary", "yes");
            }
            for c in &self.model_children {
                m.push(c.clone());
            }
            e.push(m);
        }
        self.info.format_into(&mut e);
        e
    }
}

/// An `<input>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `type=`: mouse, tablet, keyboard, passthrough, evdev.
    pub input_type: String,
    /// `bus=`.
    pub bus: Option<String>,
    /// Other attributes (model).
    pub attrs: Vec<(String, String)>,
    /// Other children (source, driver).
    pub other: Vec<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

impl Input {
    fn parse(node: Node<'_, '_>, inactive: bool, hvm: bool) -> Result<Input> {
        let ty = check_enum(node, "type", &["mouse", "tablet", "keyboard", "passthrough", "evdev"])?
            .ok_or_else(|| ConfError::xml("missing input device type"))?;
        let bus = check_enum(node, "bus", &["ps2", "usb", "xen", "parallels", "virtio", "none"])?;
        let bus = bus.or_else(|| match (ty.as_str(), hvm) {
            ("mouse" | "keyboard", true) => Some("ps2".into()),
            ("tablet", true) => Some("usb".into()),
            ("mouse" | "keyboard", false) => Some("xen".into()),
            _ => None,
        });
        Ok(Input {
            input_type: ty,
            bus,
            attrs: other_attrs(node, &["type", "bus"]),
            other: other_children(node, INFO_NAMES),
            info: DeviceInfo::parse(node, inactive)?,
        })
    }

    /// Format as `<input>`.
    pub fn to_el(&self) -> El {
        let mut e = El::new("input").attr("type", &self.input_type).attr_opt("bus", self.bus.as_deref());
        e.attrs.extend(self.attrs.iter().cloned());
        for o in &self.other {
            e.push(o.clone());
        }
        self.info.format_into(&mut e);
        e
    }
}

/// The `<memballoon>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memballoon {
    /// `model=`: virtio, xen, none, virtio-(non-)transitional.
    pub model: String,
    /// Other attributes (autodeflate, freePageReporting).
    pub attrs: Vec<(String, String)>,
    /// Other children (stats, driver).
    pub other: Vec<El>,
    /// boot/alias/address.
    pub info: DeviceInfo,
}

impl Memballoon {
    /// Format as `<memballoon>`.
    pub fn to_el(&self) -> El {
        let mut e = El::new("memballoon").attr("model", &self.model);
        e.attrs.extend(self.attrs.iter().cloned());
        for o in &self.other {
            e.push(o.clone());
        }
        self.info.format_into(&mut e);
        e
    }
}

// ---------------------------------------------------------------- the whole section

/// One device element as the hotplug calls take it (libvirt's
/// `virDomainDeviceDefParse`): the element's name and a [`Devices`] holding just it
/// (device kinds without a typed model land in [`Devices::other`]).
pub fn parse_device(text: &str, inactive: bool) -> Result<(String, Devices)> {
    let doc = xml::parse_doc(text)?;
    let root = doc.root_element();
    let name = root.tag_name().name().to_string();
    if !DEVICE_ORDER.contains(&name.as_str()) || name == "emulator" {
        return Err(ConfError::xml(format!("unknown device type '{name}'")));
    }
    let wrapped = format!("<devices>{}</devices>", &text[root.range()]);
    let doc = xml::parse_doc(&wrapped)?;
    Ok((name, Devices::parse(doc.root_element(), inactive, true)?))
}

impl Devices {
    /// Parse `<devices>`.
    pub fn parse(node: Node<'_, '_>, inactive: bool, hvm: bool) -> Result<Devices> {
        let mut d = Devices { hvm, ..Devices::default() };
        for c in xml::elements(node) {
            if c.tag_name().namespace().is_some() {
                d.other.push(El::from_node(c));
                continue;
            }
            match c.tag_name().name() {
                "emulator" => {
                    if d.emulator.is_none() {
                        d.emulator = Some(xml::text_of(c)).filter(|s| !s.is_empty());
                    }
                }
                "disk" => d.disks.push(Disk::parse(c, inactive)?),
                "controller" => {
                    let ctl = Controller::parse(c, inactive)?;
                    d.insert_controller(ctl);
                }
                "interface" => d.interfaces.push(Interface::parse(c, inactive)?),
                "serial" | "parallel" | "console" | "channel" => d.chardevs.push(Chardev::parse(c, inactive)?),
                "smartcard" => {
                    let mode = check_enum(c, "mode", &["host", "host-certificates", "passthrough"])?
                        .ok_or_else(|| ConfError::xml("missing smartcard device mode"))?;
                    let source = if mode == "passthrough" {
                        let ty = req_attr(c, "type")?;
                        let s = ChrSource::parse(c, &ty, inactive)?;
                        s.validate(false)?;
                        Some(s)
                    } else {
                        None
                    };
                    let mut skip = vec!["source", "protocol", "log"];
                    skip.extend_from_slice(INFO_NAMES);
                    d.smartcards.push(Smartcard { mode, source, other: other_children(c, &skip), info: DeviceInfo::parse(c, inactive)? });
                }
                "redirdev" => {
                    let bus = check_enum(c, "bus", &["usb"])?.unwrap_or_else(|| "usb".into());
                    let ty = req_attr(c, "type")?;
                    let s = ChrSource::parse(c, &ty, inactive)?;
                    s.validate(false)?;
                    d.redirdevs.push(Redirdev { bus, source: s, info: DeviceInfo::parse(c, inactive)? });
                }
                "rng" => {
                    let model = req_attr(c, "model")?;
                    let b = xml::child(c, "backend").ok_or_else(|| ConfError::xml("missing RNG device backend"))?;
                    let bm = check_enum(b, "model", &["random", "egd", "builtin"])?
                        .ok_or_else(|| ConfError::xml("missing RNG device backend model"))?;
                    let (path, source) = match bm.as_str() {
                        "random" => (Some(xml::text_of(b).trim().to_string()).filter(|s| !s.is_empty()), None),
                        "egd" => {
                            let ty = req_attr(b, "type")?;
                            let s = ChrSource::parse(b, &ty, inactive)?;
                            s.validate(false)?;
                            (None, Some(s))
                        }
                        _ => (None, None),
                    };
                    d.rngs.push(Rng {
                        model,
                        rate: xml::child(c, "rate").map(El::from_node),
                        backend_model: bm,
                        backend_path: path,
                        backend_source: source,
                        driver: xml::child(c, "driver").map(El::from_node),
                        info: DeviceInfo::parse(c, inactive)?,
                    });
                }
                "graphics" => d.graphics.push(Graphics::parse(c, inactive)?),
                "video" => {
                    let v = Video::parse(c, inactive)?;
                    if v.primary {
                        if d.videos.iter().any(|x| x.primary) {
                            return Err(ConfError::xml("Only one primary video device is supported"));
                        }
                        d.videos.insert(0, v);
                    } else {
                        d.videos.push(v);
                    }
                }
                "input" => d.inputs.push(Input::parse(c, inactive, hvm)?),
                "memballoon" => {
                    if d.memballoon.is_none() {
                        let model = req_attr(c, "model")?;
                        d.memballoon = Some(Memballoon {
                            model,
                            attrs: other_attrs(c, &["model"]),
                            other: other_children(c, INFO_NAMES),
                            info: DeviceInfo::parse(c, inactive)?,
                        });
                    }
                }
                name if DEVICE_ORDER.contains(&name) => d.other.push(El::from_node(c)),
                other => return Err(ConfError::xml(format!("unknown device type '{other}'"))),
            }
        }
        Ok(d)
    }

    /// Port numbers for serial/parallel/console targets without one, and the
    /// console/serial aliasing of HVM guests (libvirt's `virDomainDefAddConsoleCompat`).
    fn chardev_compat(&mut self) {
        if self.hvm {
            let first_console = self.chardevs.iter().position(|c| c.device == "console");
            let first_serial = self.chardevs.iter().position(|c| c.device == "serial");
            match (first_console, first_serial) {
                (Some(ci), None) if matches!(self.chardevs[ci].target_type(), None | Some("serial")) => {
                    let mut s = self.chardevs[ci].clone();
                    s.device = "serial".into();
                    s.target = Some(El::new("target").attr("port", 0));
                    self.chardevs.insert(ci, s);
                    self.chardevs[ci + 1].target = Some(El::new("target").attr("type", "serial").attr("port", 0));
                }
                // The console already aliases the first serial port.
                (Some(ci), Some(_)) if matches!(self.chardevs[ci].target_type(), None | Some("serial")) => {}
                (_, Some(si))
                    if matches!(
                        self.chardevs[si].target_type(),
                        None | Some("isa-serial") | Some("spapr-vio-serial") | Some("system-serial") | Some("sclp-serial")
                    ) =>
                {
                    let stub = Chardev {
                        device: "console".into(),
                        source: self.chardevs[si].source.clone(),
                        target: Some(El::new("target").attr("type", "serial").attr("port", 0)),
                        info: DeviceInfo::default(),
                    };
                    match first_console {
                        Some(ci) => self.chardevs.insert(ci, stub),
                        None => self.chardevs.push(stub),
                    }
                }
                _ => {}
            }
        }
        for kind in ["serial", "parallel", "console"] {
            let mut next = self.chardevs.iter().filter(|c| c.device == kind).filter_map(Chardev::target_port).max().map_or(0, |m| m + 1);
            for c in self.chardevs.iter_mut().filter(|c| c.device == kind) {
                if c.target_port().is_none() {
                    c.set_target_port(next);
                    next += 1;
                }
            }
        }
    }

    /// Libvirt's implicit devices: controllers implied by disk addresses, virtio
    /// channels and smartcards; an index for controllers without one; the primary
    /// video.
    pub fn add_implicit(&mut self) {
        self.chardev_compat();
        for (ctl, bus) in [("scsi", "scsi"), ("fdc", "fdc"), ("ide", "ide"), ("sata", "sata")] {
            let max = self
                .disks
                .iter()
                .filter(|d| d.target_bus == bus)
                .filter_map(|d| match d.info.address {
                    Some(Address::Drive { controller, .. }) => Some(controller),
                    _ => None,
                })
                .max();
            if let Some(m) = max {
                for i in 0..=m.min(64) {
                    self.maybe_add_controller(ctl, i);
                }
            }
        }
        let mut vs = Vec::new();
        for c in &self.chardevs {
            if (c.device == "channel" || c.device == "console") && c.target_type() == Some("virtio") {
                vs.push(match c.info.address {
                    Some(Address::VirtioSerial { controller, .. }) => controller,
                    _ => 0,
                });
            }
        }
        for i in vs {
            self.maybe_add_controller("virtio-serial", i);
        }
        let mut ccid = Vec::new();
        for i in 0..self.smartcards.len() {
            let idx = match self.smartcards[i].info.address {
                Some(Address::Ccid { controller, .. }) => controller,
                None => {
                    let max = self
                        .smartcards
                        .iter()
                        .filter_map(|s| match s.info.address {
                            Some(Address::Ccid { controller: 0, slot }) => Some(slot as i64),
                            _ => None,
                        })
                        .max()
                        .unwrap_or(-1);
                    self.smartcards[i].info.address = Some(Address::Ccid { controller: 0, slot: (max + 1) as u32 });
                    0
                }
                _ => 0,
            };
            ccid.push(idx);
        }
        for i in ccid {
            self.maybe_add_controller("ccid", i);
        }
        self.assign_controller_indexes();
        if let Some(v) = self.videos.first_mut() {
            if v.model.as_deref() != Some("none") {
                v.primary = true;
            }
        }
    }

    /// Format `<devices>`.
    pub fn to_el(&self, inactive: bool) -> El {
        let mut out: Vec<El> = Vec::new();
        if let Some(e) = &self.emulator {
            out.push(El::new("emulator").text(e));
        }
        out.extend(self.disks.iter().map(Disk::to_el));
        out.extend(self.controllers.iter().map(Controller::to_el));
        out.extend(self.interfaces.iter().map(Interface::to_el));
        for s in &self.smartcards {
            let mut e = El::new("smartcard").attr("mode", &s.mode);
            if let Some(src) = &s.source {
                e.push_attr("type", &src.chr_type);
                src.format_into(&mut e, inactive);
            }
            for o in &s.other {
                e.push(o.clone());
            }
            s.info.format_into(&mut e);
            out.push(e);
        }
        let serials: Vec<&Chardev> = self.chardevs.iter().filter(|c| c.device == "serial").collect();
        let mut console_n = 0;
        for c in &self.chardevs {
            if c.device == "console" {
                let n = console_n;
                console_n += 1;
                if self.hvm && matches!(c.target_type(), None | Some("serial")) {
                    if let Some(s) = serials.get(n) {
                        let mut alias = (*s).clone();
                        alias.device = "console".into();
                        let port = s.target_port().unwrap_or(0);
                        alias.target = Some(El::new("target").attr("type", "serial").attr("port", port));
                        out.push(alias.to_el(inactive));
                        continue;
                    }
                }
            }
            out.push(c.to_el(inactive));
        }
        out.extend(self.inputs.iter().map(Input::to_el));
        out.extend(self.graphics.iter().map(|g| g.to_el(inactive)));
        out.extend(self.videos.iter().map(Video::to_el));
        for r in &self.redirdevs {
            let mut e = El::new("redirdev").attr("bus", &r.bus).attr("type", &r.source.chr_type);
            r.source.format_into(&mut e, inactive);
            r.info.format_into(&mut e);
            out.push(e);
        }
        if let Some(m) = &self.memballoon {
            out.push(m.to_el());
        }
        for r in &self.rngs {
            let mut e = El::new("rng").attr("model", &r.model);
            if let Some(rate) = &r.rate {
                e.push(rate.clone());
            }
            let mut b = El::new("backend").attr("model", &r.backend_model);
            match (&r.backend_path, &r.backend_source) {
                (Some(p), _) => b = b.text(p),
                (None, Some(s)) => {
                    b.push_attr("type", &s.chr_type);
                    s.format_into(&mut b, inactive);
                }
                _ => {}
            }
            e.push(b);
            if let Some(d) = &r.driver {
                e.push(d.clone());
            }
            r.info.format_into(&mut e);
            out.push(e);
        }
        out.extend(self.other.iter().cloned());
        // serial/parallel/console/channel interleave by kind; other devices slot in.
        out.sort_by_key(|e| rank_in(DEVICE_ORDER, &e.name));
        let mut d = El::new("devices");
        for e in out {
            d.push(e);
        }
        d.keep_open()
    }
}
