//! Node devices (`virNodeDeviceDriver`). The device XML is kept as given (in
//! canonical layout); only name, parent and capability types are interpreted.

use crate::conn::TestConn;
use crate::state::State;
use oxvirt::driver::{check_flags, NodeDeviceDriver};
use oxvirt::*;
use oxvirt_conf::xml::El;

const D: ErrorDomain = ErrorDomain::Test;

/// Capability names in the bit order of `VIR_CONNECT_LIST_NODE_DEVICES_CAP_*`.
const CAP_BITS: &[&str] = oxvirt_conf::nodedev::CAP_TYPES;

/// One node device.
#[derive(Debug, Clone)]
pub(crate) struct NodeDevObj {
    /// Name.
    pub name: String,
    /// Parent device name.
    pub parent: Option<String>,
    /// Capability names as `virNodeDeviceListCaps` reports them.
    pub caps: Vec<String>,
    /// Canonical XML.
    pub xml: String,
}

impl NodeDevObj {
    /// Parse a `<device>` element.
    pub(crate) fn from_node(n: roxmltree::Node<'_, '_>) -> Result<NodeDevObj> {
        let child_text = |name: &str| n.children().find(|c| c.has_tag_name(name)).and_then(|c| c.text()).map(|t| t.trim().to_string());
        let name = child_text("name")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::new(ErrorCode::XmlError, ErrorDomain::Nodedev, "missing device name"))?;
        let parent = child_text("parent").filter(|s| !s.is_empty());
        let mut caps = Vec::new();
        for c in n.children().filter(|c| c.has_tag_name("capability")) {
            let Some(t) = c.attribute("type") else { continue };
            caps.push(t.to_string());
            for sub in c.children().filter(|s| s.has_tag_name("capability")) {
                match sub.attribute("type") {
                    Some("fc_host") => caps.push("fc_host".into()),
                    Some("vport_ops") => caps.push("vports".into()),
                    Some("mdev_types") => caps.push("mdev_types".into()),
                    _ => {}
                }
            }
        }
        if caps.is_empty() {
            return Err(Error::new(ErrorCode::XmlError, ErrorDomain::Nodedev, format!("no capabilities found for device '{name}'")));
        }
        let xml = zero_vport_counts(&El::from_node(n).to_xml());
        Ok(NodeDevObj { name, parent, caps, xml })
    }

    fn dref(&self) -> NodeDeviceRef {
        NodeDeviceRef { name: self.name.clone() }
    }
}

/// libvirt does not take `max_vports`/`vports` from XML (they come from sysfs), so
/// a test device always reports them as 0.
fn zero_vport_counts(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut in_vport = false;
    for line in xml.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("<capability type='vport_ops'") {
            in_vport = true;
        } else if in_vport && t.starts_with("</capability>") {
            in_vport = false;
        } else if in_vport {
            let indent = &line[..line.len() - t.len()];
            for tag in ["max_vports", "vports"] {
                if t.starts_with(&format!("<{tag}>")) {
                    out.push_str(&format!("{indent}<{tag}>0</{tag}>\n"));
                }
            }
            continue;
        }
        out.push_str(line);
    }
    out
}

impl State {
    fn nodedev(&self, name: &str) -> Result<&NodeDevObj> {
        self.nodedevs
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| Error::new(ErrorCode::NoNodeDevice, D, format!("no node device with matching name '{name}'")))
    }
}

impl NodeDeviceDriver for TestConn {
    fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDeviceRef>> {
        check_flags(flags, (1 << CAP_BITS.len()) - 1, "testConnectListAllNodeDevices", D)?;
        self.with(|st| {
            Ok(st
                .nodedevs
                .iter()
                .filter(|d| {
                    flags == 0 || d.caps.iter().any(|c| CAP_BITS.iter().position(|b| b == c).is_some_and(|i| flags & (1 << i) != 0))
                })
                .map(NodeDevObj::dref)
                .collect())
        })
    }

    fn nodedev_lookup_by_name(&self, name: &str) -> Result<NodeDeviceRef> {
        self.with(|st| Ok(st.nodedev(name)?.dref()))
    }

    fn nodedev_get_xml_desc(&self, d: &NodeDeviceRef, flags: u32) -> Result<String> {
        check_flags(flags, 0, "testNodeDeviceGetXMLDesc", D)?;
        self.with(|st| Ok(st.nodedev(&d.name)?.xml.clone()))
    }

    fn nodedev_get_parent(&self, d: &NodeDeviceRef) -> Result<Option<String>> {
        self.with(|st| {
            let dev = st.nodedev(&d.name)?;
            dev.parent.clone().map(Some).ok_or_else(|| Error::internal(D, "no parent for this device"))
        })
    }

    fn nodedev_list_caps(&self, d: &NodeDeviceRef) -> Result<Vec<String>> {
        self.with(|st| Ok(st.nodedev(&d.name)?.caps.clone()))
    }
}
