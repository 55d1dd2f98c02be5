//! `<networkport>` XML: typed model, parse and canonical format, following libvirt's
//! `virnetworkportdef.c`.

use crate::error::{ConfError, Result};
use crate::network::{Bandwidth, MacAddr, PciAddress, VirtualPort, Vlan};
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use oxvirt_util::uuid::{self, Uuid};
use roxmltree::Node;

/// How the port is plugged into the host (`<plug type=...>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortPlug {
    /// `type='network'`: a libvirt-managed bridge.
    Network {
        /// Bridge device.
        bridge: String,
        /// `macTableManager` (`kernel`/`libvirt`).
        mac_table_manager: Option<String>,
    },
    /// `type='bridge'`: a host bridge.
    Bridge {
        /// Bridge device.
        bridge: String,
        /// `macTableManager` (`kernel`/`libvirt`).
        mac_table_manager: Option<String>,
    },
    /// `type='direct'`: macvtap on a host device.
    Direct {
        /// Link device.
        dev: String,
        /// macvtap mode (`vepa`, `private`, `bridge`, `passthrough`).
        mode: String,
    },
    /// `type='hostdev-pci'`: an assigned PCI function.
    HostdevPci {
        /// `managed`.
        managed: Option<bool>,
        /// `<driver name='kvm|vfio'/>`.
        driver: Option<String>,
        /// PCI address.
        addr: PciAddress,
    },
}

/// A parsed `<networkport>` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPortDef {
    /// Port UUID.
    pub uuid: Uuid,
    /// Owning domain's name.
    pub owner_name: String,
    /// Owning domain's UUID.
    pub owner_uuid: Uuid,
    /// Port group.
    pub group: Option<String>,
    /// Guest MAC address.
    pub mac: MacAddr,
    /// `<virtualport>`.
    pub virtualport: Option<VirtualPort>,
    /// `<bandwidth>`.
    pub bandwidth: Option<Bandwidth>,
    /// `classID` of the bandwidth.
    pub class_id: Option<u32>,
    /// `<vlan>`.
    pub vlan: Option<Vlan>,
    /// `<port isolated=...>`.
    pub isolated_port: Option<bool>,
    /// `<rxfilters trustGuest=...>`.
    pub trust_guest_rx_filters: Option<bool>,
    /// `<plug>`; None for `type='none'`.
    pub plug: Option<PortPlug>,
}

fn parse_uuid(s: &str) -> Result<Uuid> {
    uuid::parse(s).ok_or_else(|| ConfError::internal(format!("Unable to parse UUID '{s}'")))
}

impl NetworkPortDef {
    /// Parse a `<networkport>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "networkport")?;
        Self::from_node(doc.root_element())
    }

    /// Parse from the `<networkport>` element.
    pub fn from_node(node: Node<'_, '_>) -> Result<Self> {
        let uuid = parse_uuid(&xml::child_string(node, "uuid").ok_or_else(|| ConfError::internal("network port has no uuid"))?)?;
        let owner = xml::child(node, "owner");
        let owner_name =
            owner.and_then(|o| xml::child_string(o, "name")).ok_or_else(|| ConfError::internal("network port has no owner name"))?;
        let owner_uuid = parse_uuid(
            &owner.and_then(|o| xml::child_string(o, "uuid")).ok_or_else(|| ConfError::internal("network port has no owner UUID"))?,
        )?;
        let group = xml::child_string(node, "group");
        let virtualport = match xml::child(node, "virtualport") {
            Some(v) => Some(VirtualPort::from_node(v, false)?),
            None => None,
        };
        let mac_s = xml::child(node, "mac")
            .and_then(|m| m.attribute("address"))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfError::internal("network port has no mac"))?;
        let mac = MacAddr::parse(mac_s).ok_or_else(|| ConfError::internal(format!("Unable to parse MAC '{mac_s}'")))?;
        let (bandwidth, class_id) = match xml::child(node, "bandwidth") {
            Some(b) => Bandwidth::parse(b, true, true)?,
            None => (None, None),
        };
        let vlan = match xml::child(node, "vlan") {
            Some(v) => Some(Vlan::from_node(v)?),
            None => None,
        };
        let isolated_port = match xml::child(node, "port") {
            Some(p) => xml::prop_tristate(p, "isolated")?,
            None => None,
        };
        let trust_guest_rx_filters = match xml::child(node, "rxfilters") {
            Some(r) => xml::prop_tristate(r, "trustGuest")?,
            None => None,
        };
        let plug = match xml::child(node, "plug") {
            Some(p) => parse_plug(p)?,
            None => None,
        };
        Ok(NetworkPortDef {
            uuid,
            owner_name,
            owner_uuid,
            group,
            mac,
            virtualport,
            bandwidth,
            class_id,
            vlan,
            isolated_port,
            trust_guest_rx_filters,
            plug,
        })
    }

    /// The canonical element tree.
    pub fn to_el(&self) -> El {
        let mut e = El::new("networkport")
            .text_child("uuid", uuid::format(&self.uuid))
            .child(El::new("owner").text_child("name", &self.owner_name).text_child("uuid", uuid::format(&self.owner_uuid)));
        e = e
            .text_child_opt("group", self.group.as_deref())
            .child(El::new("mac").attr("address", self.mac))
            .child_opt(self.virtualport.as_ref().and_then(VirtualPort::to_el))
            .child_opt(self.bandwidth.as_ref().map(|b| b.to_el(self.class_id)))
            .child_opt(self.vlan.as_ref().and_then(Vlan::to_el));
        if let Some(i) = self.isolated_port {
            e.push(El::new("port").attr("isolated", xml::yes_no(i)));
        }
        if let Some(t) = self.trust_guest_rx_filters {
            e.push(El::new("rxfilters").attr("trustGuest", xml::yes_no(t)));
        }
        if let Some(p) = &self.plug {
            let pe = match p {
                PortPlug::Network { bridge, mac_table_manager } | PortPlug::Bridge { bridge, mac_table_manager } => {
                    let t = if matches!(p, PortPlug::Network { .. }) { "network" } else { "bridge" };
                    El::new("plug").attr("type", t).attr("bridge", bridge).attr_opt("macTableManager", mac_table_manager.as_deref())
                }
                PortPlug::Direct { dev, mode } => El::new("plug").attr("type", "direct").attr("dev", dev).attr("mode", mode),
                PortPlug::HostdevPci { managed, driver, addr } => El::new("plug")
                    .attr("type", "hostdev-pci")
                    .attr_opt("managed", managed.map(xml::yes_no))
                    .child_opt(driver.as_ref().map(|d| El::new("driver").attr("name", d)))
                    .child(addr.to_el(false)),
            };
            e.push(pe);
        }
        e
    }

    /// The canonical XML text.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }
}

fn parse_plug(p: Node<'_, '_>) -> Result<Option<PortPlug>> {
    let Some(t) = p.attribute("type") else {
        return Ok(None);
    };
    let bridge_plug = |network: bool| -> Result<PortPlug> {
        let bridge = p.attribute("bridge").ok_or_else(|| ConfError::xml("Missing network port bridge name"))?.to_string();
        let mac_table_manager = match p.attribute("macTableManager") {
            None => None,
            Some(m @ ("kernel" | "libvirt")) => Some(m.to_string()),
            Some(m) => return Err(ConfError::xml(format!("Invalid macTableManager setting '{m}' in network port"))),
        };
        Ok(if network { PortPlug::Network { bridge, mac_table_manager } } else { PortPlug::Bridge { bridge, mac_table_manager } })
    };
    Ok(Some(match t {
        "none" => return Ok(None),
        "network" => bridge_plug(true)?,
        "bridge" => bridge_plug(false)?,
        "direct" => {
            let dev = p.attribute("dev").ok_or_else(|| ConfError::xml("Missing network port link device name"))?.to_string();
            let mode = match p.attribute("mode") {
                None => "vepa".to_string(),
                Some(m @ ("vepa" | "private" | "bridge" | "passthrough")) => m.to_string(),
                Some(m) => return Err(ConfError::xml(format!("Invalid mode setting '{m}' in network port"))),
            };
            PortPlug::Direct { dev, mode }
        }
        "hostdev-pci" => {
            let managed = xml::prop_tristate(p, "managed")?;
            let driver = match xml::child(p, "driver").and_then(|d| d.attribute("name")).filter(|s| !s.is_empty()) {
                None => None,
                Some(d @ ("kvm" | "vfio")) => Some(d.to_string()),
                Some(_) => return Err(ConfError::xml("Missing network port driver name")),
            };
            let a = xml::child(p, "address").ok_or_else(|| ConfError::xml("Missing network port PCI address"))?;
            PortPlug::HostdevPci { managed, driver, addr: PciAddress::from_node(a)? }
        }
        other => return Err(xml::invalid_prop(p, "type", other)),
    }))
}

/// `xml format --kind networkport`: parse and print the canonical form.
pub fn tool_format(text: &str, _opts: &ToolOptions) -> Result<String> {
    Ok(NetworkPortDef::parse(text)?.format())
}
