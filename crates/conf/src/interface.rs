//! Host `<interface>` XML (the interface driver's format, not a domain's NIC): typed
//! model for ethernet, bridge, bond and vlan interfaces with IPv4/IPv6 protocols.

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use roxmltree::Node;

/// Interface types, in libvirt's `virInterfaceType` order.
pub const IFACE_TYPES: &[&str] = &["ethernet", "bridge", "bond", "vlan"];
/// Link states (`virNetDevIfState`); index 0 means unset.
pub const LINK_STATES: &[&str] = &["", "unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"];
const BOND_MODES: &[&str] = &["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];

/// `<link speed= state=/>` (shared with node devices).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetLink {
    /// Speed in Mbit/s (0 = unset).
    pub speed: u32,
    /// Link state name (`up`, `down`, ...).
    pub state: Option<String>,
}

impl NetLink {
    /// Parse like `virInterfaceLinkParseXML`.
    pub fn from_node(n: Node<'_, '_>) -> Result<Self> {
        let state = match n.attribute("state") {
            None => None,
            Some(s) if !s.is_empty() && LINK_STATES.contains(&s) => Some(s.to_string()),
            Some(s) => return Err(ConfError::xml(format!("Invalid value for attribute 'state' in element 'link': '{s}'."))),
        };
        let speed = match n.attribute("speed") {
            None => 0,
            Some(s) => s.parse::<u32>().map_err(|_| {
                ConfError::xml(format!("Invalid value for attribute 'speed' in element 'link': '{s}'. Expected non-negative integer value"))
            })?,
        };
        Ok(NetLink { speed, state })
    }

    /// `<link/>`, or `None` when nothing is set.
    pub fn to_el(&self) -> Option<El> {
        if self.speed == 0 && self.state.is_none() {
            return None;
        }
        Some(El::new("link").attr_opt("speed", (self.speed != 0).then_some(self.speed)).attr_opt("state", self.state.as_deref()))
    }
}

/// `<ip address= prefix=/>` of a protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceIp {
    /// Address; entries without one are dropped on output.
    pub address: Option<String>,
    /// Prefix length (0 = unset).
    pub prefix: i32,
}

/// `<protocol family=>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceProtocol {
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// `<autoconf/>` (IPv6).
    pub autoconf: bool,
    /// `<dhcp>` present.
    pub dhcp: bool,
    /// `<dhcp peerdns=>`.
    pub peerdns: Option<bool>,
    /// Addresses.
    pub ips: Vec<IfaceIp>,
    /// First `<route gateway=>`.
    pub gateway: Option<String>,
}

/// Bond link monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BondMonitor {
    /// `<miimon freq= downdelay= updelay= carrier=/>`.
    Mii {
        /// Frequency in ms.
        freq: i32,
        /// Down delay (0 = unset).
        downdelay: i32,
        /// Up delay (0 = unset).
        updelay: i32,
        /// `ioctl` or `netif`.
        carrier: Option<String>,
    },
    /// `<arpmon interval= target= validate=/>`.
    Arp {
        /// Interval in ms.
        interval: i32,
        /// Target address.
        target: String,
        /// `active`, `backup` or `all`.
        validate: Option<String>,
    },
}

/// Type-specific part of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfaceKind {
    /// `type='ethernet'`.
    Ethernet,
    /// `type='bridge'` with `<bridge stp= delay=>` and member interfaces.
    Bridge {
        /// Spanning tree (on/off).
        stp: Option<bool>,
        /// Forward delay, as written.
        delay: Option<String>,
        /// Member interfaces.
        interfaces: Vec<InterfaceDef>,
    },
    /// `type='bond'` with `<bond mode=>`.
    Bond {
        /// Bonding mode.
        mode: Option<String>,
        /// Link monitor.
        monitor: Option<BondMonitor>,
        /// Member interfaces (ethernet).
        interfaces: Vec<InterfaceDef>,
    },
    /// `type='vlan'` with `<vlan tag=><interface name=/></vlan>`.
    Vlan {
        /// VLAN tag as written.
        tag: String,
        /// Underlying device.
        dev_name: Option<String>,
    },
}

/// A host interface definition (`<interface>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceDef {
    /// Interface name.
    pub name: String,
    /// `ethernet`, `bridge`, `bond` or `vlan`.
    pub iface_type: String,
    /// `<mac address=>` (ethernet only).
    pub mac: Option<String>,
    /// `<start mode=>`: `onboot`, `hotplug` or `none` (top level only).
    pub start_mode: Option<String>,
    /// `<mtu size=>` (0 = unset; top level only).
    pub mtu: u32,
    /// `<protocol>` elements (top level only).
    pub protocols: Vec<IfaceProtocol>,
    /// `<link>` (not for bridges).
    pub link: NetLink,
    /// Type-specific data.
    pub kind: IfaceKind,
}

/// `strtol`-style integer with base auto-detection (`0x` hex, leading `0` octal).
fn parse_int_base0(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, d) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = d.strip_prefix("0x").or_else(|| d.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if d.len() > 1 && d.starts_with('0') {
        i64::from_str_radix(&d[1..], 8).ok()?
    } else {
        if d.is_empty() || d.starts_with(['+', '-']) {
            return None;
        }
        d.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// XPath-number style integer attribute: `Ok(None)` when absent or empty, error when
/// not an `int`.
fn xpath_int(n: Option<Node<'_, '_>>, attr: &str) -> std::result::Result<Option<i32>, ()> {
    match n.and_then(|n| n.attribute(attr)).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<i32>().map(Some).map_err(|_| ()),
    }
}

fn parse_protocol(p: Node<'_, '_>) -> Result<IfaceProtocol> {
    let family = xml::prop(p, "family").ok_or_else(|| ConfError::xml("protocol misses the family attribute"))?;
    if family != "ipv4" && family != "ipv6" {
        return Err(ConfError::xml(format!("unsupported protocol family '{family}'")));
    }
    let mut proto = IfaceProtocol {
        gateway: xml::child(p, "route").and_then(|r| xml::prop(r, "gateway")).filter(|s| !s.is_empty()),
        autoconf: family == "ipv6" && xml::child(p, "autoconf").is_some(),
        family,
        dhcp: false,
        peerdns: None,
        ips: Vec::new(),
    };
    if let Some(d) = xml::child(p, "dhcp") {
        proto.dhcp = true;
        proto.peerdns = match d.attribute("peerdns") {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(v) => return Err(ConfError::xml(format!("Invalid value for attribute 'peerdns' in element 'dhcp': '{v}'."))),
        };
    }
    for ip in xml::children(p, "ip") {
        let Some(address) = xml::prop(ip, "address") else {
            proto.ips.push(IfaceIp { address: None, prefix: 0 });
            continue;
        };
        let prefix = match ip.attribute("prefix") {
            None => 0,
            Some(v) => parse_int_base0(v).and_then(|x| i32::try_from(x).ok()).ok_or_else(|| {
                ConfError::xml(format!("Invalid value for attribute 'prefix' in element 'ip': '{v}'. Expected integer value"))
            })?,
        };
        proto.ips.push(IfaceIp { address: Some(address), prefix });
    }
    Ok(proto)
}

fn parse_bond(b: Node<'_, '_>) -> Result<IfaceKind> {
    let mode = match b.attribute("mode").filter(|s| !s.is_empty()) {
        None => None,
        Some(m) if BOND_MODES.contains(&m) => Some(m.to_string()),
        Some(m) => return Err(ConfError::xml(format!("unknown bonding mode {m}"))),
    };
    let mut interfaces = Vec::new();
    for i in xml::children(b, "interface") {
        interfaces.push(InterfaceDef::parse_node(i, Some("bond"))?);
    }
    let monitor = if let Some(m) = xml::child(b, "miimon") {
        let freq =
            xpath_int(Some(m), "freq").ok().flatten().ok_or_else(|| ConfError::xml("bond interface miimon freq missing or invalid"))?;
        let downdelay =
            xpath_int(Some(m), "downdelay").map_err(|_| ConfError::xml("bond interface miimon downdelay invalid"))?.unwrap_or(0);
        let updelay = xpath_int(Some(m), "updelay").map_err(|_| ConfError::xml("bond interface miimon updelay invalid"))?.unwrap_or(0);
        let carrier = match m.attribute("carrier").filter(|s| !s.is_empty()) {
            None => None,
            Some(c @ ("ioctl" | "netif")) => Some(c.to_string()),
            Some(c) => return Err(ConfError::xml(format!("unknown mii bonding carrier {c}"))),
        };
        Some(BondMonitor::Mii { freq, downdelay, updelay, carrier })
    } else if let Some(a) = xml::child(b, "arpmon") {
        let interval = xpath_int(Some(a), "interval")
            .ok()
            .flatten()
            .ok_or_else(|| ConfError::xml("bond interface arpmon interval missing or invalid"))?;
        let target =
            xml::prop(a, "target").filter(|s| !s.is_empty()).ok_or_else(|| ConfError::xml("bond interface arpmon target missing"))?;
        let validate = match a.attribute("validate").filter(|s| !s.is_empty()) {
            None => None,
            Some(v @ ("active" | "backup" | "all")) => Some(v.to_string()),
            Some(v) => return Err(ConfError::xml(format!("unknown arp bonding validate {v}"))),
        };
        Some(BondMonitor::Arp { interval, target, validate })
    } else {
        None
    };
    Ok(IfaceKind::Bond { mode, monitor, interfaces })
}

impl InterfaceDef {
    /// Parse an `<interface>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "interface")?;
        Self::from_node(doc.root_element())
    }

    /// Parse a top-level `<interface>` element.
    pub fn from_node(n: Node<'_, '_>) -> Result<Self> {
        Self::parse_node(n, None)
    }

    fn parse_node(n: Node<'_, '_>, parent: Option<&str>) -> Result<Self> {
        let iface_type = match n.attribute("type") {
            None => return Err(ConfError::Missing("Missing required attribute 'type' in element 'interface'".into())),
            Some(t) if IFACE_TYPES.contains(&t) => t.to_string(),
            Some(t) => return Err(ConfError::xml(format!("Invalid value for attribute 'type' in element 'interface': '{t}'."))),
        };
        let allowed = match parent {
            None => true,
            Some("bond") => iface_type == "ethernet",
            Some("bridge") => iface_type != "bridge",
            Some(_) => false,
        };
        if !allowed {
            return Err(ConfError::xml(format!("interface has unsupported type '{iface_type}'")));
        }
        let name = xml::prop(n, "name").ok_or_else(|| ConfError::xml("interface has no name"))?;
        let mut def = InterfaceDef {
            name,
            iface_type,
            mac: None,
            start_mode: None,
            mtu: 0,
            protocols: Vec::new(),
            link: NetLink::default(),
            kind: IfaceKind::Ethernet,
        };
        if parent.is_none() {
            def.start_mode = match xml::child(n, "start").and_then(|s| s.attribute("mode")).filter(|s| !s.is_empty()) {
                None => None,
                Some(m @ ("onboot" | "hotplug" | "none")) => Some(m.to_string()),
                Some(m) => return Err(ConfError::xml(format!("unknown interface startmode {m}"))),
            };
            if let Some(s) = xml::child(n, "mtu").and_then(|m| m.attribute("size")).filter(|s| !s.is_empty()) {
                def.mtu = s.trim().parse::<u32>().map_err(|_| ConfError::xml(format!("invalid mtu size '{s}'")))?;
                if def.mtu > 100000 {
                    return Err(ConfError::xml("value of the 'size' attribute of 'mtu' element must be at most 100000"));
                }
            }
            for p in xml::children(n, "protocol") {
                def.protocols.push(parse_protocol(p)?);
            }
        }
        if def.iface_type != "bridge" {
            if let Some(l) = xml::child(n, "link") {
                def.link = NetLink::from_node(l)?;
            }
        }
        def.kind = match def.iface_type.as_str() {
            "ethernet" => {
                def.mac = xml::child(n, "mac").and_then(|m| xml::prop(m, "address")).filter(|s| !s.is_empty());
                IfaceKind::Ethernet
            }
            "bridge" => {
                let b = xml::child(n, "bridge").ok_or_else(|| ConfError::xml("bridge interface misses the bridge element"))?;
                let stp = match b.attribute("stp") {
                    None => None,
                    Some("on") => Some(true),
                    Some("off") => Some(false),
                    Some(v) => return Err(ConfError::xml(format!("bridge interface stp should be on or off got {v}"))),
                };
                let mut interfaces = Vec::new();
                for i in xml::children(b, "interface") {
                    interfaces.push(InterfaceDef::parse_node(i, Some("bridge"))?);
                }
                IfaceKind::Bridge { stp, delay: xml::prop(b, "delay"), interfaces }
            }
            "bond" => parse_bond(xml::child(n, "bond").ok_or_else(|| ConfError::xml("bond interface misses the bond element"))?)?,
            _ => {
                let v = xml::child(n, "vlan").ok_or_else(|| ConfError::xml("vlan interface misses the vlan element"))?;
                let tag = xml::prop(v, "tag")
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| ConfError::xml("vlan interface misses the tag attribute"))?;
                let dev_name = xml::child(v, "interface")
                    .and_then(|i| xml::prop(i, "name"))
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| ConfError::xml("vlan interface misses name attribute"))?;
                IfaceKind::Vlan { tag, dev_name: Some(dev_name) }
            }
        };
        Ok(def)
    }

    /// The canonical element tree.
    pub fn to_el(&self) -> El {
        self.dev_el(true)
    }

    fn dev_el(&self, top: bool) -> El {
        let mut e = El::new("interface").attr("type", &self.iface_type).attr("name", &self.name);
        if top {
            if let Some(m) = &self.start_mode {
                e.push(El::new("start").attr("mode", m));
            }
            if self.mtu != 0 {
                e.push(El::new("mtu").attr("size", self.mtu));
            }
            for p in &self.protocols {
                let mut pe = El::new("protocol").attr("family", &p.family);
                if p.autoconf {
                    pe.push(El::new("autoconf"));
                }
                if p.dhcp {
                    pe.push(El::new("dhcp").attr_opt("peerdns", p.peerdns.map(xml::yes_no)));
                }
                for ip in &p.ips {
                    if let Some(a) = &ip.address {
                        pe.push(El::new("ip").attr("address", a).attr_opt("prefix", (ip.prefix != 0).then_some(ip.prefix)));
                    }
                }
                if let Some(g) = &p.gateway {
                    pe.push(El::new("route").attr("gateway", g));
                }
                e.push(pe.keep_open());
            }
        }
        if self.iface_type != "bridge" {
            e = e.child_opt(self.link.to_el());
        }
        match &self.kind {
            IfaceKind::Ethernet => {
                if let Some(m) = &self.mac {
                    e.push(El::new("mac").attr("address", m));
                }
            }
            IfaceKind::Bridge { stp, delay, interfaces } => {
                let mut b =
                    El::new("bridge").attr_opt("stp", stp.map(|s| if s { "on" } else { "off" })).attr_opt("delay", delay.as_deref());
                for i in interfaces {
                    b.push(i.dev_el(false));
                }
                e.push(b.keep_open());
            }
            IfaceKind::Bond { mode, monitor, interfaces } => {
                let mut b = El::new("bond").attr_opt("mode", mode.as_deref());
                match monitor {
                    Some(BondMonitor::Mii { freq, downdelay, updelay, carrier }) => b.push(
                        El::new("miimon")
                            .attr("freq", freq)
                            .attr_opt("downdelay", (*downdelay > 0).then_some(downdelay))
                            .attr_opt("updelay", (*updelay > 0).then_some(updelay))
                            .attr_opt("carrier", carrier.as_deref()),
                    ),
                    Some(BondMonitor::Arp { interval, target, validate }) => b.push(
                        El::new("arpmon").attr("interval", interval).attr("target", target).attr_opt("validate", validate.as_deref()),
                    ),
                    None => {}
                }
                for i in interfaces {
                    b.push(i.dev_el(false));
                }
                e.push(b.keep_open());
            }
            IfaceKind::Vlan { tag, dev_name } => {
                let mut v = El::new("vlan").attr("tag", tag);
                if let Some(d) = dev_name {
                    v.push(El::new("interface").attr("name", d));
                }
                e.push(v);
            }
        }
        e.keep_open()
    }

    /// Canonical XML text, as `virsh iface-dumpxml --inactive` prints it.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }
}

/// `xml format --kind interface`: parse and print the canonical form.
pub fn tool_format(text: &str, _opts: &ToolOptions) -> Result<String> {
    Ok(InterfaceDef::parse(text)?.format())
}
