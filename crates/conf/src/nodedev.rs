//! Node device (`<device>`) XML: the device header (name, sysfs path, device nodes,
//! parent, driver) is typed; each `<capability>` is typed by its type name, with typed
//! data for `mdev` and `scsi_host` and the body of the other capability types kept as
//! element trees (re-indented on output).

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use roxmltree::Node;

/// Capability types (`virNodeDevCapType`).
pub const CAP_TYPES: &[&str] = &[
    "system",
    "pci",
    "usb_device",
    "usb",
    "net",
    "scsi_host",
    "scsi_target",
    "scsi",
    "storage",
    "fc_host",
    "vports",
    "scsi_generic",
    "drm",
    "mdev_types",
    "mdev",
    "ccw",
    "css",
    "vdpa",
    "ap_card",
    "ap_queue",
    "ap_matrix",
    "vpd",
];

/// Data of a `scsi_host` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScsiHostCap {
    /// Host number.
    pub host: u32,
    /// Unique id.
    pub unique_id: Option<i32>,
    /// FC host names: (wwnn, wwpn, fabric_wwn).
    pub fc_host: Option<(Option<String>, Option<String>, Option<String>)>,
    /// Vport operations: (max_vports, vports). Runtime values; not read from XML.
    pub vport_ops: Option<(i32, i32)>,
}

/// Data of an `mdev` capability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MdevCap {
    /// Mediated device type id.
    pub type_id: Option<String>,
    /// UUID.
    pub uuid: Option<String>,
    /// Parent address (for CCW/AP parents).
    pub parent_addr: Option<String>,
    /// IOMMU group number.
    pub iommu_group: u32,
    /// Attributes: (name, value).
    pub attrs: Vec<(String, String)>,
}

/// Typed part of a capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeDevCapData {
    /// `scsi_host`.
    ScsiHost(ScsiHostCap),
    /// `mdev`.
    Mdev(MdevCap),
    /// Any other type: the capability's child elements as given.
    Other(Vec<El>),
}

/// One `<capability type=>` of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDevCap {
    /// Capability type (one of [`CAP_TYPES`]).
    pub cap_type: String,
    /// Data.
    pub data: NodeDevCapData,
}

/// A node device definition (`<device>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDeviceDef {
    /// Device name.
    pub name: String,
    /// sysfs path.
    pub path: Option<String>,
    /// `<devnode type='dev'>`.
    pub devnode: Option<String>,
    /// `<devnode type='link'>` entries.
    pub devlinks: Vec<String>,
    /// Parent device name.
    pub parent: Option<String>,
    /// Bound driver name.
    pub driver: Option<String>,
    /// Capabilities, in document order.
    pub capabilities: Vec<NodeDevCap>,
}

fn child_u32(n: Node<'_, '_>, name: &str) -> Result<Option<u32>> {
    match xml::xpath_string(n, name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| ConfError::xml(format!("invalid value '{v}' for element '{name}'"))),
    }
}

impl NodeDevCap {
    fn from_node(c: Node<'_, '_>, dev: &str) -> Result<Self> {
        let cap_type = match c.attribute("type") {
            None => return Err(ConfError::xml(format!("missing capability type for '{dev}'"))),
            Some(t) if CAP_TYPES.contains(&t) => t.to_string(),
            Some(t) => return Err(ConfError::xml(format!("unknown capability type '{t}' for '{dev}'"))),
        };
        let data = match cap_type.as_str() {
            "scsi_host" => {
                let host = child_u32(c, "host")?.ok_or_else(|| ConfError::xml(format!("no SCSI host ID supplied for '{dev}'")))?;
                let unique_id = match xml::xpath_string(c, "unique_id") {
                    None => None,
                    Some(v) => {
                        Some(v.trim().parse::<i32>().map_err(|_| ConfError::xml(format!("invalid unique_id supplied for '{dev}'")))?)
                    }
                };
                let mut cap = ScsiHostCap { host, unique_id, ..Default::default() };
                for sub in xml::children(c, "capability") {
                    match sub.attribute("type") {
                        Some("fc_host") => {
                            cap.fc_host =
                                Some((xml::xpath_string(sub, "wwnn"), xml::xpath_string(sub, "wwpn"), xml::xpath_string(sub, "fabric_wwn")))
                        }
                        Some("vport_ops") => cap.vport_ops = Some((0, 0)),
                        Some(t) => return Err(ConfError::xml(format!("unknown SCSI host capability type '{t}' for '{dev}'"))),
                        None => return Err(ConfError::xml(format!("missing SCSI host capability type for '{dev}'"))),
                    }
                }
                NodeDevCapData::ScsiHost(cap)
            }
            "mdev" => {
                let mut cap = MdevCap {
                    type_id: xml::child(c, "type").and_then(|t| xml::prop(t, "id")),
                    uuid: xml::xpath_string(c, "uuid"),
                    parent_addr: xml::xpath_string(c, "parent_addr"),
                    ..Default::default()
                };
                if let Some(g) = xml::child(c, "iommuGroup") {
                    let v = g.attribute("number").unwrap_or("");
                    cap.iommu_group =
                        v.trim().parse().map_err(|_| ConfError::xml(format!("invalid iommuGroup number attribute for '{dev}'")))?;
                }
                for a in xml::children(c, "attr") {
                    let (Some(n), Some(v)) = (xml::prop(a, "name"), xml::prop(a, "value")) else {
                        return Err(ConfError::xml("mediated device's 'attr' elements must contain both 'name' and 'value'"));
                    };
                    cap.attrs.push((n, v));
                }
                NodeDevCapData::Mdev(cap)
            }
            _ => NodeDevCapData::Other(xml::elements(c).map(El::from_node).collect()),
        };
        Ok(NodeDevCap { cap_type, data })
    }

    /// `<capability type=>` element.
    pub fn to_el(&self) -> El {
        let mut e = El::new("capability").attr("type", &self.cap_type);
        match &self.data {
            NodeDevCapData::ScsiHost(s) => {
                e = e.text_child("host", s.host).text_child_opt("unique_id", s.unique_id);
                if let Some((wwnn, wwpn, fabric)) = &s.fc_host {
                    e.push(
                        El::new("capability")
                            .attr("type", "fc_host")
                            .text_child_opt("wwnn", wwnn.as_deref())
                            .text_child_opt("wwpn", wwpn.as_deref())
                            .text_child_opt("fabric_wwn", fabric.as_deref())
                            .keep_open(),
                    );
                }
                if let Some((max, n)) = s.vport_ops {
                    e.push(El::new("capability").attr("type", "vport_ops").text_child("max_vports", max).text_child("vports", n));
                }
            }
            NodeDevCapData::Mdev(m) => {
                if let Some(t) = &m.type_id {
                    e.push(El::new("type").attr("id", t));
                }
                e = e
                    .text_child_opt("uuid", m.uuid.as_deref())
                    .text_child_opt("parent_addr", m.parent_addr.as_deref())
                    .child(El::new("iommuGroup").attr("number", m.iommu_group));
                for (n, v) in &m.attrs {
                    e.push(El::new("attr").attr("name", n).attr("value", v));
                }
            }
            NodeDevCapData::Other(children) => {
                for c in children {
                    e.push(c.clone());
                }
            }
        }
        e.keep_open()
    }
}

impl NodeDeviceDef {
    /// Parse a `<device>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "device")?;
        Self::from_node(doc.root_element())
    }

    /// Parse from a `<device>` element.
    pub fn from_node(n: Node<'_, '_>) -> Result<Self> {
        let name = xml::xpath_string(n, "name").map(|s| s.trim().to_string()).ok_or_else(|| ConfError::xml("no device name"))?;
        let mut devnode = None;
        let mut devlinks = Vec::new();
        for d in xml::children(n, "devnode") {
            let v = xml::descendant_text(d);
            match d.attribute("type") {
                Some("dev") => {
                    if devnode.is_some() {
                        return Err(ConfError::xml(format!("more than one dev node type for '{name}'")));
                    }
                    devnode = Some(v);
                }
                Some("link") => devlinks.push(v),
                Some(t) => return Err(ConfError::xml(format!("unknown devnode type '{t}'"))),
                None => return Err(ConfError::xml(format!("missing devnode type for '{name}'"))),
            }
        }
        let parent = xml::xpath_string(n, "parent");
        let driver = xml::child(n, "driver").and_then(|d| xml::xpath_string(d, "name"));
        let mut capabilities = Vec::new();
        for c in xml::children(n, "capability") {
            capabilities.push(NodeDevCap::from_node(c, &name)?);
        }
        if capabilities.is_empty() {
            return Err(ConfError::xml(format!("no device capabilities for '{name}'")));
        }
        Ok(NodeDeviceDef { name, path: xml::xpath_string(n, "path"), devnode, devlinks, parent, driver, capabilities })
    }

    /// The canonical element tree.
    pub fn to_el(&self) -> El {
        let mut e = El::new("device")
            .text_child("name", &self.name)
            .text_child_opt("path", self.path.as_deref())
            .child_opt(self.devnode.as_ref().map(|d| El::new("devnode").attr("type", "dev").text(d)));
        for l in &self.devlinks {
            e.push(El::new("devnode").attr("type", "link").text(l));
        }
        e = e.text_child_opt("parent", self.parent.as_deref());
        if let Some(d) = &self.driver {
            e.push(El::new("driver").text_child("name", d));
        }
        for c in &self.capabilities {
            e.push(c.to_el());
        }
        e
    }

    /// Canonical XML text, as `virsh nodedev-dumpxml` prints it.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }
}

/// `xml format --kind nodedev`: parse and print the canonical form.
pub fn tool_format(text: &str, _opts: &ToolOptions) -> Result<String> {
    Ok(NodeDeviceDef::parse(text)?.format())
}
