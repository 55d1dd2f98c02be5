//! Pieces shared by several device kinds: device addresses, the `<boot>`/`<alias>`/
//! `<address>` trailer every device carries, and ordering helpers.

use crate::error::{ConfError, Result};
use crate::xml::{self, El, XNode};
use roxmltree::Node;

/// A device address (`<address type='...'/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `type='pci'`; all-zero means "type only" (let the driver assign).
    Pci {
        /// PCI domain.
        domain: u32,
        /// PCI bus.
        bus: u32,
        /// PCI slot.
        slot: u32,
        /// PCI function.
        function: u32,
        /// `multifunction` attribute as written (`on`/`off`).
        multifunction: Option<String>,
        /// `<zpci>` child kept verbatim.
        zpci: Option<El>,
    },
    /// `type='drive'`.
    Drive {
        /// Controller index.
        controller: u32,
        /// Bus.
        bus: u32,
        /// Target.
        target: u32,
        /// Unit.
        unit: u32,
    },
    /// `type='virtio-serial'`.
    VirtioSerial {
        /// Controller index.
        controller: u32,
        /// Bus.
        bus: u32,
        /// Port.
        port: u32,
    },
    /// `type='ccid'`.
    Ccid {
        /// Controller index.
        controller: u32,
        /// Slot.
        slot: u32,
    },
    /// `type='usb'`.
    Usb {
        /// Bus.
        bus: u32,
        /// Port path (`1.2.3`) when given.
        port: Option<String>,
    },
    /// `type='ccw'`.
    Ccw {
        /// Channel subsystem id.
        cssid: u32,
        /// Subchannel set id.
        ssid: u32,
        /// Device number.
        devno: u32,
    },
    /// Any other address type, kept verbatim.
    Other(El),
}

fn num(node: Node<'_, '_>, name: &str, max: u64) -> Result<u32> {
    match xml::attr_u64(node, name)? {
        None => Ok(0),
        Some(v) if v <= max => Ok(v as u32),
        Some(v) => Err(ConfError::xml(format!("Invalid value for attribute '{name}' in element 'address': '{v}'."))),
    }
}

impl Address {
    /// Parse an `<address>` element.
    pub fn parse(node: Node<'_, '_>) -> Result<Address> {
        let ty = node.attribute("type").ok_or_else(|| ConfError::xml("No type specified for device address"))?;
        Ok(match ty {
            "pci" => Address::Pci {
                domain: num(node, "domain", 0xffff)?,
                bus: num(node, "bus", 0xff)?,
                slot: num(node, "slot", 0x1f)?,
                function: num(node, "function", 7)?,
                multifunction: xml::attr_s(node, "multifunction"),
                zpci: xml::child(node, "zpci").map(El::from_node),
            },
            "drive" => Address::Drive {
                controller: num(node, "controller", u32::MAX as u64)?,
                bus: num(node, "bus", u32::MAX as u64)?,
                target: num(node, "target", u32::MAX as u64)?,
                unit: num(node, "unit", u32::MAX as u64)?,
            },
            "virtio-serial" => Address::VirtioSerial {
                controller: num(node, "controller", u32::MAX as u64)?,
                bus: num(node, "bus", u32::MAX as u64)?,
                port: num(node, "port", u32::MAX as u64)?,
            },
            "ccid" => Address::Ccid { controller: num(node, "controller", u32::MAX as u64)?, slot: num(node, "slot", u32::MAX as u64)? },
            "usb" => Address::Usb { bus: num(node, "bus", u32::MAX as u64)?, port: xml::attr_s(node, "port") },
            "ccw" => Address::Ccw { cssid: num(node, "cssid", 0xfe)?, ssid: num(node, "ssid", 3)?, devno: num(node, "devno", 0xffff)? },
            "isa" | "spapr-vio" | "virtio-mmio" | "virtio-s390" | "dimm" | "unassigned" => Address::Other(El::from_node(node)),
            other => return Err(ConfError::unsupported_config(format!("unknown address type '{other}'"))),
        })
    }

    /// Format as an `<address>` element.
    pub fn to_el(&self) -> El {
        match self {
            Address::Pci { domain, bus, slot, function, multifunction, zpci } => {
                let mut e = El::new("address").attr("type", "pci");
                if *domain != 0 || *bus != 0 || *slot != 0 || *function != 0 {
                    e = e
                        .attr("domain", format!("0x{domain:04x}"))
                        .attr("bus", format!("0x{bus:02x}"))
                        .attr("slot", format!("0x{slot:02x}"))
                        .attr("function", format!("0x{function}"));
                }
                e.attr_opt("multifunction", multifunction.as_deref()).child_opt(zpci.clone())
            }
            Address::Drive { controller, bus, target, unit } => El::new("address")
                .attr("type", "drive")
                .attr("controller", controller)
                .attr("bus", bus)
                .attr("target", target)
                .attr("unit", unit),
            Address::VirtioSerial { controller, bus, port } => {
                El::new("address").attr("type", "virtio-serial").attr("controller", controller).attr("bus", bus).attr("port", port)
            }
            Address::Ccid { controller, slot } => El::new("address").attr("type", "ccid").attr("controller", controller).attr("slot", slot),
            Address::Usb { bus, port } => El::new("address").attr("type", "usb").attr("bus", bus).attr_opt("port", port.as_deref()),
            Address::Ccw { cssid, ssid, devno } => El::new("address")
                .attr("type", "ccw")
                .attr("cssid", format!("0x{cssid:x}"))
                .attr("ssid", format!("0x{ssid:x}"))
                .attr("devno", format!("0x{devno:04x}")),
            Address::Other(e) => e.clone(),
        }
    }
}

/// The trailer common to devices: boot order, alias, and address (plus `<master>`,
/// `<rom>`, `<acpi>` kept verbatim).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `<boot order='N'/>`.
    pub boot_order: Option<u32>,
    /// `loadparm` of `<boot>`.
    pub boot_loadparm: Option<String>,
    /// `<alias name='..'/>`.
    pub alias: Option<String>,
    /// `<master>`, `<rom>`, `<acpi>` kept verbatim.
    pub extra: Vec<El>,
    /// `<address>`.
    pub address: Option<Address>,
}

impl DeviceInfo {
    /// Parse the info children of a device element.
    pub fn parse(node: Node<'_, '_>, inactive: bool) -> Result<DeviceInfo> {
        let mut info = DeviceInfo::default();
        if let Some(b) = xml::child(node, "boot") {
            let order = xml::attr_u64(b, "order")?.ok_or_else(|| ConfError::xml("missing boot order attribute"))?;
            if order == 0 || order > u32::MAX as u64 {
                return Err(ConfError::xml(format!("incorrect boot order '{order}', expecting positive integer")));
            }
            info.boot_order = Some(order as u32);
            info.boot_loadparm = xml::attr_s(b, "loadparm");
        }
        if let Some(a) = xml::child(node, "alias") {
            if let Some(n) = a.attribute("name") {
                if !inactive || n.starts_with("ua-") {
                    info.alias = Some(n.to_string());
                }
            }
        }
        for name in ["master", "rom", "acpi"] {
            if let Some(c) = xml::child(node, name) {
                info.extra.push(El::from_node(c));
            }
        }
        if let Some(a) = xml::child(node, "address") {
            info.address = Some(Address::parse(a)?);
        }
        Ok(info)
    }

    /// Append the info children to `e`.
    pub fn format_into(&self, e: &mut El) {
        if let Some(o) = self.boot_order {
            e.push(El::new("boot").attr("order", o).attr_opt("loadparm", self.boot_loadparm.as_deref()));
        }
        if let Some(a) = &self.alias {
            e.push(El::new("alias").attr("name", a));
        }
        for x in &self.extra {
            e.push(x.clone());
        }
        if let Some(a) = &self.address {
            e.push(a.to_el());
        }
    }
}

/// Names of the device-info children (skipped when copying other children verbatim).
pub const INFO_NAMES: &[&str] = &["boot", "alias", "master", "rom", "acpi", "address"];

/// Copy the element children of `node` verbatim except those named in `skip`.
pub fn other_children(node: Node<'_, '_>, skip: &[&str]) -> Vec<El> {
    xml::elements(node).filter(|c| c.tag_name().namespace().is_some() || !skip.contains(&c.tag_name().name())).map(El::from_node).collect()
}

/// Stable-sort the element children of `e` by `rank(name)`; text children keep
/// their place at the front.
pub fn sort_children(e: &mut El, rank: impl Fn(&str) -> usize) {
    let mut texts = Vec::new();
    let mut els = Vec::new();
    for c in std::mem::take(&mut e.children) {
        match c {
            XNode::El(x) => els.push(x),
            t => texts.push(t),
        }
    }
    els.sort_by_key(|x| rank(&x.name));
    e.children = texts;
    e.children.extend(els.into_iter().map(XNode::El));
}

/// Rank of `name` in `order` (unknown names sort last, keeping their order).
pub fn rank_in(order: &[&str], name: &str) -> usize {
    order.iter().position(|n| *n == name).unwrap_or(order.len())
}

/// Required attribute, with libvirt's wording.
pub fn req_attr(node: Node<'_, '_>, name: &str) -> Result<String> {
    node.attribute(name)
        .map(str::to_string)
        .ok_or_else(|| ConfError::xml(format!("Missing required attribute '{name}' in element '{}'", node.tag_name().name())))
}

/// Check an attribute's value against an enumeration, with libvirt's wording.
pub fn check_enum(node: Node<'_, '_>, name: &str, allowed: &[&str]) -> Result<Option<String>> {
    match node.attribute(name) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        Some(v) => Err(ConfError::xml(format!("Invalid value for attribute '{name}' in element '{}': '{v}'.", node.tag_name().name()))),
    }
}

/// Copy of the attributes of `node` in document order, skipping those in `skip`.
pub fn other_attrs(node: Node<'_, '_>, skip: &[&str]) -> Vec<(String, String)> {
    node.attributes()
        .filter(|a| a.namespace().is_some() || !skip.contains(&a.name()))
        .map(|a| (a.name().to_string(), a.value().to_string()))
        .collect()
}
