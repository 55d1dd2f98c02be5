//! `<network>` XML: typed model, parse, validation and canonical format, following
//! libvirt's `network_conf.c`.
//!
//! The pieces a network shares with domain interfaces and network ports
//! (`<bandwidth>`, `<vlan>`, `<virtualport>`, MAC and PCI addresses) live here too and
//! are public so those models can reuse them.

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;
use crate::xml::{self, El, XNode};
use oxvirt_util::uuid::{self, Uuid};
use oxvirt_util::ErrorCode;
use roxmltree::Node;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The dnsmasq namespace of `<dnsmasq:options>`.
pub const DNSMASQ_NS: &str = "http://libvirt.org/schemas/network/dnsmasq/1.0";

// ---------------------------------------------------------------------------
// Shared pieces: MAC and IP addresses, PCI address, bandwidth, vlan, virtualport.
// ---------------------------------------------------------------------------

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Parse like libvirt's `virMacAddrParse`: six `:`-separated groups of one or two
    /// hex digits.
    pub fn parse(s: &str) -> Option<MacAddr> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for (i, b) in out.iter_mut().enumerate() {
            let p = parts.next()?;
            let p = if i == 5 { p.split(|c: char| c <= ' ').next().unwrap_or(p) } else { p };
            if p.is_empty() || p.len() > 2 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            *b = u8::from_str_radix(p, 16).ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(MacAddr(out))
    }

    /// True for a multicast address (low bit of the first byte set).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// Parse a numeric IPv4 or IPv6 address (libvirt's `virSocketAddrParse`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok()
}

fn prefix_of(address: &IpAddr, netmask: Option<&IpAddr>, prefix: u32) -> Option<u32> {
    if prefix > 0 {
        return Some(prefix);
    }
    if let Some(m) = netmask {
        return match m {
            IpAddr::V4(m) => Some(u32::from(*m).count_ones()),
            IpAddr::V6(m) => Some(u128::from(*m).count_ones()),
        };
    }
    match address {
        IpAddr::V4(a) => {
            let v = u32::from(*a);
            if v == 0 {
                return Some(0);
            }
            let octet = v >> 24;
            if octet & 0x80 == 0 {
                Some(8)
            } else if octet & 0xC0 == 0x80 {
                Some(16)
            } else if octet & 0xE0 == 0xC0 {
                Some(24)
            } else {
                None
            }
        }
        IpAddr::V6(a) => Some(if a.is_unspecified() { 0 } else { 64 }),
    }
}

fn mask_ip(a: &IpAddr, prefix: u32) -> IpAddr {
    match a {
        IpAddr::V4(a) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix.min(32)) };
            IpAddr::V4(Ipv4Addr::from(u32::from(*a) & m))
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix.min(128)) };
            IpAddr::V6(Ipv6Addr::from(u128::from(*a) & m))
        }
    }
}

fn ip_num(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

/// A PCI address `<address domain='0x0000' bus='0x00' slot='0x00' function='0x0'/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PciAddress {
    /// PCI domain.
    pub domain: u32,
    /// Bus number.
    pub bus: u32,
    /// Slot number.
    pub slot: u32,
    /// Function number.
    pub function: u32,
}

impl PciAddress {
    /// Parse the attributes of an `<address>` element (libvirt's
    /// `virPCIDeviceAddressParseXML`, range-checked like `virPCIDeviceAddressIsValid`).
    pub fn from_node(node: Node<'_, '_>) -> Result<PciAddress> {
        let a = PciAddress {
            domain: xml::prop_uint(node, "domain", 0)?.unwrap_or(0),
            bus: xml::prop_uint(node, "bus", 0)?.unwrap_or(0),
            slot: xml::prop_uint(node, "slot", 0)?.unwrap_or(0),
            function: xml::prop_uint(node, "function", 0)?.unwrap_or(0),
        };
        if let Some(v) = node.attribute("multifunction") {
            if v != "on" && v != "off" {
                return Err(xml::invalid_prop(node, "multifunction", v));
            }
        }
        if a != PciAddress::default() {
            if a.domain > 0xFFFF {
                return Err(ConfError::xml(format!("Invalid PCI address domain='0x{:x}', must be <= 0xFFFF", a.domain)));
            }
            if a.bus > 0xFF {
                return Err(ConfError::xml(format!("Invalid PCI address bus='0x{:x}', must be <= 0xFF", a.bus)));
            }
            if a.slot > 0x1F {
                return Err(ConfError::xml(format!("Invalid PCI address slot='0x{:x}', must be <= 0x1F", a.slot)));
            }
            if a.function > 7 {
                return Err(ConfError::xml(format!("Invalid PCI address function=0x{:x}, must be <= 7", a.function)));
            }
        }
        Ok(a)
    }

    /// The `<address>` element, with `type='pci'` when `with_type`.
    pub fn to_el(&self, with_type: bool) -> El {
        let mut e = El::new("address");
        if with_type {
            e.push_attr("type", "pci");
        }
        e.attr("domain", format!("0x{:04x}", self.domain))
            .attr("bus", format!("0x{:02x}", self.bus))
            .attr("slot", format!("0x{:02x}", self.slot))
            .attr("function", format!("0x{}", self.function))
    }
}

/// One direction of `<bandwidth>` (`<inbound>`/`<outbound>`); 0 means unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BandwidthRate {
    /// Average rate (KiB/s).
    pub average: u64,
    /// Peak rate (KiB/s).
    pub peak: u64,
    /// Guaranteed minimum (inbound only).
    pub floor: u64,
    /// Burst size (KiB).
    pub burst: u64,
}

impl BandwidthRate {
    fn from_node(node: Node<'_, '_>) -> Result<BandwidthRate> {
        let num = |name: &str| -> Result<Option<u64>> {
            match node.attribute(name) {
                None => Ok(None),
                Some(v) => v
                    .trim_start()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| ConfError::unsupported_config(format!("could not convert bandwidth {name} value '{v}'"))),
            }
        };
        let has = |n: &str| node.attribute(n).is_some();
        if !has("average") && !has("floor") {
            return Err(ConfError::Invalid { code: ErrorCode::XmlDetail, message: "Missing mandatory average or floor attributes".into() });
        }
        let average = num("average")?;
        if (has("peak") || has("burst")) && !has("average") {
            return Err(ConfError::unsupported_config("'peak' and 'burst' require 'average' attribute"));
        }
        Ok(BandwidthRate {
            average: average.unwrap_or(0),
            peak: num("peak")?.unwrap_or(0),
            burst: num("burst")?.unwrap_or(0),
            floor: num("floor")?.unwrap_or(0),
        })
    }

    fn to_el(self, name: &str) -> Option<El> {
        if self.average == 0 && self.floor == 0 {
            return None;
        }
        let nz = |v: u64| (v != 0).then_some(v);
        Some(
            El::new(name)
                .attr_opt("average", nz(self.average))
                .attr_opt("peak", nz(self.peak))
                .attr_opt("floor", nz(self.floor))
                .attr_opt("burst", nz(self.burst)),
        )
    }
}

/// `<bandwidth>`: traffic shaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bandwidth {
    /// `<inbound>`.
    pub inbound: Option<BandwidthRate>,
    /// `<outbound>`.
    pub outbound: Option<BandwidthRate>,
}

impl Bandwidth {
    /// Parse `<bandwidth>` (libvirt's `virNetDevBandwidthParse`). Returns the
    /// bandwidth (None when it has neither direction) and the `classID` when
    /// `allow_class_id`.
    pub fn parse(node: Node<'_, '_>, allow_class_id: bool, allow_floor: bool) -> Result<(Option<Bandwidth>, Option<u32>)> {
        let mut class_id = None;
        if let Some(c) = node.attribute("classID") {
            if !allow_class_id {
                return Err(ConfError::Invalid {
                    code: ErrorCode::XmlDetail,
                    message: "classID attribute not supported on <bandwidth> in this usage context".into(),
                });
            }
            class_id = Some(xml::parse_uint(c, 10).ok_or_else(|| ConfError::internal(format!("Unable to parse class id '{c}'")))?);
        }
        let (mut inb, mut outb) = (None, None);
        for c in xml::elements(node) {
            match c.tag_name().name() {
                "inbound" => {
                    if inb.is_some() {
                        return Err(ConfError::Invalid {
                            code: ErrorCode::XmlDetail,
                            message: "Only one child <inbound> element allowed".into(),
                        });
                    }
                    inb = Some(c);
                }
                "outbound" => {
                    if outb.is_some() {
                        return Err(ConfError::Invalid {
                            code: ErrorCode::XmlDetail,
                            message: "Only one child <outbound> element allowed".into(),
                        });
                    }
                    outb = Some(c);
                }
                _ => {}
            }
        }
        let mut bw = Bandwidth::default();
        if let Some(n) = inb {
            let r = BandwidthRate::from_node(n)?;
            if r.floor != 0 && !allow_floor {
                return Err(ConfError::unsupported_config("floor attribute is not supported for this config"));
            }
            bw.inbound = Some(r);
        }
        if let Some(n) = outb {
            let r = BandwidthRate::from_node(n)?;
            if r.floor != 0 {
                return Err(ConfError::unsupported_config("'floor' attribute allowed only in <inbound> element"));
            }
            bw.outbound = Some(r);
        }
        let bw = (bw.inbound.is_some() || bw.outbound.is_some()).then_some(bw);
        Ok((bw, class_id))
    }

    /// The `<bandwidth>` element, with `classID` when nonzero.
    pub fn to_el(&self, class_id: Option<u32>) -> El {
        El::new("bandwidth")
            .attr_opt("classID", class_id.filter(|c| *c != 0))
            .child_opt(self.inbound.and_then(|r| r.to_el("inbound")))
            .child_opt(self.outbound.and_then(|r| r.to_el("outbound")))
            .keep_open()
    }
}

/// `<vlan>`: VLAN tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vlan {
    /// Tag ids in order.
    pub tags: Vec<u32>,
    /// `trunk='yes'` (implied by more than one tag).
    pub trunk: bool,
    /// `nativeMode` (`tagged`/`untagged`) and the tag it applies to.
    pub native: Option<(String, u32)>,
}

impl Vlan {
    /// Parse `<vlan>` (libvirt's `virNetDevVlanParse`).
    pub fn from_node(node: Node<'_, '_>) -> Result<Vlan> {
        let tags: Vec<Node> = xml::children(node, "tag").collect();
        if tags.is_empty() {
            return Err(ConfError::xml("missing tag id - each <vlan> must have at least one <tag id='n'/> subelement"));
        }
        let mut v = Vlan::default();
        for t in &tags {
            let id = xml::prop_uint(*t, "id", 10)?.ok_or_else(|| ConfError::xml("Missing required attribute 'id' in element 'tag'"))?;
            if id > 4095 {
                return Err(ConfError::xml(format!("vlan tag id {id} too large (maximum 4095)")));
            }
            if let Some(m) = t.attribute("nativeMode") {
                if m != "tagged" && m != "untagged" {
                    return Err(xml::invalid_prop(*t, "nativeMode", m));
                }
                if v.native.is_some() {
                    return Err(ConfError::xml("duplicate native vlan setting"));
                }
                v.native = Some((m.to_string(), id));
            }
            v.tags.push(id);
        }
        v.trunk = tags.len() > 1;
        if let Some(trunk) = node.attribute("trunk") {
            v.trunk = trunk.eq_ignore_ascii_case("yes");
            if !v.trunk {
                if tags.len() > 1 {
                    return Err(ConfError::xml(format!(
                        "invalid \"trunk='{trunk}'\" in <vlan> - trunk='yes' is required for more than one vlan tag"
                    )));
                }
                if v.native.is_some() {
                    return Err(ConfError::xml("invalid configuration in <vlan> - \"trunk='no'\" is not allowed with a native vlan id"));
                }
                if !trunk.eq_ignore_ascii_case("no") {
                    return Err(ConfError::xml(format!("invalid \"trunk='{trunk}'\" in <vlan> - must be yes or no")));
                }
            }
        }
        Ok(v)
    }

    /// The `<vlan>` element (None when there are no tags).
    pub fn to_el(&self) -> Option<El> {
        if self.tags.is_empty() {
            return None;
        }
        let mut e = El::new("vlan");
        if self.trunk {
            e.push_attr("trunk", "yes");
        }
        for t in &self.tags {
            let mut te = El::new("tag").attr("id", t);
            if let Some((mode, tag)) = &self.native {
                if tag == t {
                    te.push_attr("nativeMode", mode);
                }
            }
            e.push(te);
        }
        Some(e)
    }
}

/// `<virtualport>`: a virtual port profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualPort {
    /// `type`: `802.1Qbg`, `802.1Qbh`, `openvswitch`, `midonet`; None when absent.
    pub vtype: Option<String>,
    /// `managerid` (802.1Qbg).
    pub manager_id: Option<u8>,
    /// `typeid` (802.1Qbg, 24 bits).
    pub type_id: Option<u32>,
    /// `typeidversion` (802.1Qbg).
    pub type_id_version: Option<u8>,
    /// `instanceid` (802.1Qbg).
    pub instance_id: Option<Uuid>,
    /// `profileid` (802.1Qbh, openvswitch).
    pub profile_id: Option<String>,
    /// `interfaceid` (openvswitch, midonet).
    pub interface_id: Option<Uuid>,
}

impl VirtualPort {
    /// Parse `<virtualport>` (libvirt's `virNetDevVPortProfileParse`);
    /// `require_type` makes a missing `type` an error.
    pub fn from_node(node: Node<'_, '_>, require_type: bool) -> Result<VirtualPort> {
        let mut vp = VirtualPort::default();
        if let Some(t) = node.attribute("type") {
            if !matches!(t, "802.1Qbg" | "802.1Qbh" | "openvswitch" | "midonet") {
                return Err(ConfError::unsupported_config(format!("unknown virtualport type {t}")));
            }
            vp.vtype = Some(t.to_string());
        }
        if vp.vtype.is_none() && require_type {
            return Err(ConfError::xml("missing required virtualport type"));
        }
        if let Some(p) = xml::child(node, "parameters") {
            let num = |name: &str, max: u32, what: &str| -> Result<Option<u32>> {
                match p.attribute(name) {
                    None => Ok(None),
                    Some(v) => {
                        let n = xml::parse_uint(v, 0).ok_or_else(|| ConfError::xml(format!("cannot parse value of {name} parameter")))?;
                        if n > max {
                            return Err(ConfError::xml(format!("value {what} out of range")));
                        }
                        Ok(Some(n))
                    }
                }
            };
            vp.manager_id = num("managerid", 0xff, "of managerid")?.map(|v| v as u8);
            vp.type_id = num("typeid", 0xff_ffff, "for typeid")?;
            vp.type_id_version = num("typeidversion", 0xff, "of typeidversion")?.map(|v| v as u8);
            if let Some(v) = p.attribute("instanceid") {
                vp.instance_id = Some(uuid::parse(v).ok_or_else(|| ConfError::xml("cannot parse instanceid parameter as a uuid"))?);
            }
            if let Some(v) = p.attribute("profileid") {
                if v.len() >= 40 {
                    return Err(ConfError::xml("profileid parameter too long"));
                }
                vp.profile_id = Some(v.to_string()).filter(|s| !s.is_empty());
            }
            if let Some(v) = p.attribute("interfaceid") {
                vp.interface_id = Some(uuid::parse(v).ok_or_else(|| ConfError::xml("cannot parse interfaceid parameter as a uuid"))?);
            }
        }
        let extra = match vp.vtype.as_deref() {
            Some("802.1Qbg") => {
                if vp.profile_id.is_some() {
                    Some("profileid")
                } else if vp.interface_id.is_some() {
                    Some("interfaceid")
                } else {
                    None
                }
            }
            Some("802.1Qbh") | Some("openvswitch") => {
                if vp.manager_id.is_some() {
                    Some("managerid")
                } else if vp.type_id.is_some() {
                    Some("typeid")
                } else if vp.type_id_version.is_some() {
                    Some("typeidversion")
                } else if vp.instance_id.is_some() {
                    Some("instanceid")
                } else if vp.interface_id.is_some() && vp.vtype.as_deref() == Some("802.1Qbh") {
                    Some("interfaceid")
                } else {
                    None
                }
            }
            _ => None,
        };
        if let (Some(x), Some(t)) = (extra, &vp.vtype) {
            return Err(ConfError::xml(format!("extra {x} unsupported in <virtualport type='{t}'>")));
        }
        Ok(vp)
    }

    /// The `<virtualport>` element (None for an untyped port without parameters).
    pub fn to_el(&self) -> Option<El> {
        let no_params = self.manager_id.is_none()
            && self.type_id.is_none()
            && self.type_id_version.is_none()
            && self.instance_id.is_none()
            && self.profile_id.is_none()
            && self.interface_id.is_none();
        let t = self.vtype.as_deref();
        let mut e = El::new("virtualport").attr_opt("type", t);
        if no_params {
            return t.map(|_| e);
        }
        let qbg = matches!(t, None | Some("802.1Qbg"));
        let mut p = El::new("parameters");
        if qbg {
            p = p
                .attr_opt("managerid", self.manager_id)
                .attr_opt("typeid", self.type_id)
                .attr_opt("typeidversion", self.type_id_version)
                .attr_opt("instanceid", self.instance_id.as_ref().map(uuid::format));
        }
        if matches!(t, None | Some("midonet") | Some("openvswitch")) {
            p = p.attr_opt("interfaceid", self.interface_id.as_ref().map(uuid::format));
        }
        if matches!(t, None | Some("openvswitch") | Some("802.1Qbh")) {
            p = p.attr_opt("profileid", self.profile_id.as_deref());
        }
        e.push(p);
        Some(e)
    }
}

fn tristate_str(b: bool) -> &'static str {
    xml::yes_no(b)
}

// ---------------------------------------------------------------------------
// Network model.
// ---------------------------------------------------------------------------

/// `<forward mode=...>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardMode {
    /// No forwarding (isolated network; no `<forward>` element).
    #[default]
    None,
    /// NAT to the host's network.
    Nat,
    /// Routed.
    Route,
    /// Routed, with no firewall rules.
    Open,
    /// A host bridge.
    Bridge,
    /// macvtap private.
    Private,
    /// macvtap vepa.
    Vepa,
    /// macvtap passthrough.
    Passthrough,
    /// SR-IOV VF assignment.
    Hostdev,
}

impl ForwardMode {
    const NAMES: [(&'static str, ForwardMode); 9] = [
        ("none", ForwardMode::None),
        ("nat", ForwardMode::Nat),
        ("route", ForwardMode::Route),
        ("open", ForwardMode::Open),
        ("bridge", ForwardMode::Bridge),
        ("private", ForwardMode::Private),
        ("vepa", ForwardMode::Vepa),
        ("passthrough", ForwardMode::Passthrough),
        ("hostdev", ForwardMode::Hostdev),
    ];

    /// The XML name.
    pub fn as_str(&self) -> &'static str {
        Self::NAMES.iter().find(|(_, m)| m == self).map(|(n, _)| *n).unwrap_or("none")
    }

    /// Parse an XML name.
    pub fn from_name(s: &str) -> Option<ForwardMode> {
        Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
    }

    /// Modes that put a libvirt-managed bridge in front of the network.
    pub fn has_bridge(&self) -> bool {
        matches!(self, ForwardMode::None | ForwardMode::Nat | ForwardMode::Route | ForwardMode::Open)
    }
}

/// A device in the forward pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardIf {
    /// `<interface dev='...'/>` (or `<forward dev='...'>`).
    Netdev(String),
    /// `<address type='pci' .../>`.
    Pci(PciAddress),
}

/// `<nat>` inside `<forward mode='nat'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForwardNat {
    /// `ipv6='yes|no'`.
    pub ipv6: Option<bool>,
    /// SNAT address range start.
    pub addr_start: Option<Ipv4Addr>,
    /// SNAT address range end.
    pub addr_end: Option<Ipv4Addr>,
    /// Port range start (0 = unset).
    pub port_start: u32,
    /// Port range end (0 = unset).
    pub port_end: u32,
}

/// `<forward>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forward {
    /// Forwarding mode.
    pub mode: ForwardMode,
    /// `managed='yes'` (hostdev).
    pub managed: bool,
    /// `<driver name='kvm|vfio'/>`.
    pub driver: Option<String>,
    /// The device pool.
    pub ifs: Vec<ForwardIf>,
    /// `<pf dev='...'/>` (at most one).
    pub pfs: Vec<String>,
    /// NAT settings.
    pub nat: ForwardNat,
}

/// `<bridge>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bridge {
    /// Bridge device name.
    pub name: Option<String>,
    /// firewalld zone.
    pub zone: Option<String>,
    /// Spanning tree: None when the attribute is absent (formatted as `on`).
    pub stp: Option<bool>,
    /// Forward delay in seconds.
    pub delay: u64,
    /// `macTableManager` (`kernel`/`libvirt`).
    pub mac_table_manager: Option<String>,
}

/// `<lease expiry=... unit=...>` of a DHCP range or host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpLease {
    /// Expiry; 0 means infinite.
    pub expiry: u64,
    /// `seconds`, `minutes` (default) or `hours`.
    pub unit: String,
}

impl DhcpLease {
    fn parse(node: Node<'_, '_>) -> Result<Option<DhcpLease>> {
        let expiry = match node.attribute("expiry") {
            None => return Ok(None),
            Some(v) => v.trim_start().parse::<u64>().map_err(|_| {
                ConfError::xml(format!(
                    "Invalid value for attribute 'expiry' in element 'lease': '{v}'. Expected non-negative integer value"
                ))
            })?,
        };
        let unit = match node.attribute("unit") {
            None => "minutes".to_string(),
            Some(u @ ("seconds" | "minutes" | "hours")) => u.to_string(),
            Some(u) => return Err(xml::invalid_prop(node, "unit", u)),
        };
        if expiry > 0 && ((unit == "seconds" && expiry < 120) || (unit == "minutes" && expiry < 2)) {
            return Err(ConfError::unsupported_config("The minimum lease time should be greater than 2 minutes"));
        }
        Ok(Some(DhcpLease { expiry, unit }))
    }

    fn to_el(&self) -> El {
        if self.expiry == 0 {
            El::new("lease").attr("expiry", "0")
        } else {
            El::new("lease").attr("expiry", self.expiry).attr("unit", &self.unit)
        }
    }
}

/// `<range start=... end=...>` in `<dhcp>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpRange {
    /// First address.
    pub start: IpAddr,
    /// Last address.
    pub end: IpAddr,
    /// Lease time.
    pub lease: Option<DhcpLease>,
}

/// `<host>` in `<dhcp>`: a static lease.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DhcpHost {
    /// MAC address as written.
    pub mac: Option<String>,
    /// DHCPv6 client id.
    pub id: Option<String>,
    /// Host name.
    pub name: Option<String>,
    /// Address.
    pub ip: Option<IpAddr>,
    /// Lease time.
    pub lease: Option<DhcpLease>,
}

/// `<bootp file=... server=...>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootp {
    /// Boot file name.
    pub file: String,
    /// TFTP server.
    pub server: Option<IpAddr>,
}

/// `<ip>`: an address of the network, with its DHCP configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkIp {
    /// `family` as written (`ipv4`/`ipv6`).
    pub family: Option<String>,
    /// The host-side address.
    pub address: IpAddr,
    /// IPv4 netmask.
    pub netmask: Option<IpAddr>,
    /// Prefix length (0 = unset).
    pub prefix: u32,
    /// `localPtr`.
    pub local_ptr: Option<bool>,
    /// `<tftp root=...>`.
    pub tftp_root: Option<String>,
    /// DHCP ranges.
    pub ranges: Vec<DhcpRange>,
    /// DHCP static hosts.
    pub hosts: Vec<DhcpHost>,
    /// `<bootp>`.
    pub bootp: Option<Bootp>,
}

impl NetworkIp {
    /// The effective prefix (explicit, from the netmask, or the class default).
    pub fn effective_prefix(&self) -> Option<u32> {
        prefix_of(&self.address, self.netmask.as_ref(), self.prefix)
    }
}

/// `<forwarder>` in `<dns>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsForwarder {
    /// Domain to forward.
    pub domain: Option<String>,
    /// Upstream server.
    pub addr: Option<IpAddr>,
}

/// `<txt>` in `<dns>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTxt {
    /// Record name.
    pub name: String,
    /// Record value.
    pub value: String,
}

/// `<srv>` in `<dns>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsSrv {
    /// Service name.
    pub service: String,
    /// Protocol.
    pub protocol: String,
    /// Domain.
    pub domain: Option<String>,
    /// Target host.
    pub target: Option<String>,
    /// Port (0 = unset).
    pub port: u32,
    /// Priority (0 = unset).
    pub priority: u32,
    /// Weight (0 = unset).
    pub weight: u32,
}

/// `<host>` in `<dns>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsHost {
    /// Address.
    pub ip: IpAddr,
    /// Host names.
    pub hostnames: Vec<String>,
}

/// `<dns>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dns {
    /// `enable`.
    pub enable: Option<bool>,
    /// `forwardPlainNames`.
    pub forward_plain_names: Option<bool>,
    /// Forwarders.
    pub forwarders: Vec<DnsForwarder>,
    /// TXT records.
    pub txts: Vec<DnsTxt>,
    /// SRV records.
    pub srvs: Vec<DnsSrv>,
    /// Host records.
    pub hosts: Vec<DnsHost>,
}

/// `<route>`: a static route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `family` as written.
    pub family: Option<String>,
    /// Destination network.
    pub address: IpAddr,
    /// IPv4 netmask.
    pub netmask: Option<IpAddr>,
    /// Prefix, when given.
    pub prefix: Option<u32>,
    /// Gateway.
    pub gateway: IpAddr,
    /// Metric, when given (nonzero).
    pub metric: Option<u32>,
}

/// `<portgroup>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortGroup {
    /// Name.
    pub name: String,
    /// `default='yes'`.
    pub is_default: bool,
    /// `trustGuestRxFilters`.
    pub trust_guest_rx_filters: Option<bool>,
    /// `<virtualport>`.
    pub virtualport: Option<VirtualPort>,
    /// `<bandwidth>`.
    pub bandwidth: Option<Bandwidth>,
    /// `<vlan>`.
    pub vlan: Option<Vlan>,
}

/// `<domain name=... localOnly=...>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDomain {
    /// DNS domain name.
    pub name: String,
    /// `localOnly`.
    pub local_only: Option<bool>,
}

/// A parsed `<network>` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDef {
    /// Network name.
    pub name: String,
    /// UUID (generated when absent).
    pub uuid: Uuid,
    /// True when the XML gave the UUID.
    pub uuid_specified: bool,
    /// Active connections (formatted only for the live definition).
    pub connections: u32,
    /// `ipv6='yes'`: guest-to-guest IPv6 without a gateway address.
    pub ipv6: bool,
    /// `trustGuestRxFilters`.
    pub trust_guest_rx_filters: Option<bool>,
    /// `<metadata>` subtree (sanitized as libvirt does).
    pub metadata: Option<El>,
    /// `<forward>`; None for an isolated network.
    pub forward: Option<Forward>,
    /// `<bridge>`.
    pub bridge: Option<Bridge>,
    /// `<mtu size=...>`.
    pub mtu: Option<u32>,
    /// `<mac address=...>` of the bridge.
    pub mac: Option<MacAddr>,
    /// `<domain>`.
    pub domain: Option<NetDomain>,
    /// `<dns>`.
    pub dns: Dns,
    /// `<vlan>`.
    pub vlan: Option<Vlan>,
    /// `<bandwidth>`.
    pub bandwidth: Option<Bandwidth>,
    /// `<port isolated=...>`.
    pub isolated_port: Option<bool>,
    /// `<ip>` elements.
    pub ips: Vec<NetworkIp>,
    /// `<route>` elements.
    pub routes: Vec<Route>,
    /// `<virtualport>`.
    pub virtualport: Option<VirtualPort>,
    /// `<portgroup>` elements.
    pub portgroups: Vec<PortGroup>,
    /// `<dnsmasq:options>` values.
    pub dnsmasq_options: Vec<String>,
}

fn ip_attr(node: Node<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_string)
}

fn parse_lease_child(node: Node<'_, '_>) -> Result<Option<DhcpLease>> {
    let mut lease = None;
    for c in xml::children(node, "lease") {
        if let Some(l) = DhcpLease::parse(c)? {
            lease = Some(l);
        }
    }
    Ok(lease)
}

fn check_range(start: &IpAddr, end: &IpAddr, network: Option<(&IpAddr, Option<u32>)>) -> Result<()> {
    let (s, e) = (start.to_string(), end.to_string());
    if start.is_ipv4() != end.is_ipv4() {
        return Err(ConfError::internal(format!("mismatch of address family in range {s} - {e}")));
    }
    if let Some((net, prefix)) = network {
        if net.is_ipv4() != start.is_ipv4() {
            return Err(ConfError::internal(format!("mismatch of address family in range {s} - {e} for network {net}")));
        }
        let p = prefix.ok_or_else(|| ConfError::internal(format!("bad prefix -1 for network {net} when  checking range {s} - {e}")))?;
        let pi = p as i64;
        if (net.is_ipv4() && p > 32) || p > 128 {
            return Err(ConfError::internal(format!("bad prefix {pi} for network {net} when  checking range {s} - {e}")));
        }
        let netaddr = mask_ip(net, p);
        if mask_ip(start, p) != netaddr || mask_ip(end, p) != netaddr {
            return Err(ConfError::internal(format!("range {s} - {e} is not entirely within network {net}/{p}")));
        }
        if let IpAddr::V4(n) = net {
            let hostmask = if p == 0 { u32::MAX } else { !(u32::MAX << (32 - p)) };
            let bcast = IpAddr::V4(Ipv4Addr::from(u32::from(*n) | hostmask));
            if *start == netaddr {
                return Err(ConfError::internal(format!("start of range {s} - {e} in network {net}/{p} is the network address")));
            }
            if *end == bcast {
                return Err(ConfError::internal(format!("end of range {s} - {e} in network {net}/{p} is the broadcast address")));
            }
        }
    }
    if ip_num(end) < ip_num(start) {
        return Err(ConfError::internal(format!("range {s} - {e} is reversed ")));
    }
    Ok(())
}

fn parse_dhcp(net: &str, node: Node<'_, '_>, ip: &mut NetworkIp) -> Result<()> {
    for c in xml::elements(node) {
        match c.tag_name().name() {
            "range" => {
                let start = c
                    .attribute("start")
                    .ok_or_else(|| ConfError::xml(format!("Missing 'start' attribute in dhcp range for network '{net}'")))?;
                let start = parse_ip(start).ok_or_else(|| ConfError::invalid_arg(format!("Cannot parse socket address '{start}'")))?;
                let end = c
                    .attribute("end")
                    .ok_or_else(|| ConfError::xml(format!("Missing 'end' attribute in dhcp range for network '{net}'")))?;
                let end = parse_ip(end).ok_or_else(|| ConfError::invalid_arg(format!("Cannot parse socket address '{end}'")))?;
                check_range(&start, &end, Some((&ip.address, ip.effective_prefix())))?;
                let lease = parse_lease_child(c)?;
                ip.ranges.push(DhcpRange { start, end, lease });
            }
            "host" => {
                let host = parse_dhcp_host(net, ip, c)?;
                ip.hosts.push(host);
            }
            "bootp" if ip.address.is_ipv4() => {
                let Some(file) = ip_attr(c, "file") else {
                    continue;
                };
                let server = match c.attribute("server") {
                    None => None,
                    Some(s) => Some(parse_ip(s).ok_or_else(|| ConfError::invalid_arg(format!("Cannot parse socket address '{s}'")))?),
                };
                ip.bootp = Some(Bootp { file, server });
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_dhcp_host(net: &str, ip: &NetworkIp, c: Node<'_, '_>) -> Result<DhcpHost> {
    let v6 = ip.address.is_ipv6();
    let mac = ip_attr(c, "mac");
    if let Some(m) = &mac {
        if v6 {
            return Err(ConfError::xml(format!("Invalid to specify MAC address '{m}' in network '{net}' IPv6 static host definition")));
        }
        let a = MacAddr::parse(m).ok_or_else(|| ConfError::xml(format!("Cannot parse MAC address '{m}' in network '{net}'")))?;
        if a.is_multicast() {
            return Err(ConfError::xml(format!("expected unicast mac address, found multicast '{m}' in network '{net}'")));
        }
    }
    let id = ip_attr(c, "id");
    if let Some(id) = &id {
        if let Some(ch) = id.chars().find(|ch| !(ch.is_ascii_hexdigit() || *ch == ':')) {
            return Err(ConfError::xml(format!("Invalid character '{ch}' in id '{id}' of network '{net}'")));
        }
    }
    let name = ip_attr(c, "name");
    if let Some(n) = &name {
        if !n.chars().next().is_some_and(|ch| ch.is_ascii_alphanumeric()) {
            return Err(ConfError::xml(format!("Cannot use host name '{n}' in network '{net}'")));
        }
    }
    let hip = match c.attribute("ip") {
        None => None,
        Some(s) => {
            Some(parse_ip(s).ok_or_else(|| ConfError::xml(format!("Invalid IP address in static host definition for network '{net}'")))?)
        }
    };
    if v6 {
        if id.is_none() && name.is_none() {
            return Err(ConfError::xml(format!("Static host definition in IPv6 network '{net}' must have id or name attribute")));
        }
    } else if mac.is_none() && name.is_none() {
        return Err(ConfError::xml(format!("Static host definition in IPv4 network '{net}' must have mac or name attribute")));
    }
    if hip.is_none() {
        return Err(ConfError::xml(format!("Missing IP address in static host definition for network '{net}'")));
    }
    let lease = parse_lease_child(c)?;
    Ok(DhcpHost { mac, id, name, ip: hip, lease })
}

fn parse_ip_def(net: &str, node: Node<'_, '_>) -> Result<NetworkIp> {
    let family = node.attribute("family").filter(|s| !s.is_empty()).map(str::to_string);
    let address_s = node
        .attribute("address")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConfError::xml(format!("Missing required address attribute in network '{net}'")))?;
    let address = parse_ip(address_s).ok_or_else(|| ConfError::xml(format!("Invalid address '{address_s}' in network '{net}'")))?;
    let netmask_s = node.attribute("netmask").filter(|s| !s.is_empty());
    let netmask = match netmask_s {
        None => None,
        Some(m) => Some(parse_ip(m).ok_or_else(|| ConfError::xml(format!("Invalid netmask '{m}' in network '{net}'")))?),
    };
    let prefix = xml::prop_uint(node, "prefix", 10)?.unwrap_or(0);
    let local_ptr = xml::prop_tristate(node, "localPtr")?;
    match family.as_deref() {
        None | Some("ipv4") => {
            let fam = if family.is_none() { "no" } else { "ipv4" };
            if !address.is_ipv4() {
                return Err(ConfError::unsupported_config(format!(
                    "{fam} family specified for non-IPv4 address '{address_s}' in network '{net}'"
                )));
            }
            if let (Some(m), Some(ms)) = (&netmask, netmask_s) {
                if !m.is_ipv4() {
                    return Err(ConfError::unsupported_config(format!(
                        "Invalid netmask '{ms}' for address '{address_s}' in network '{net}' (both must be IPv4)"
                    )));
                }
                if prefix > 0 {
                    return Err(ConfError::unsupported_config(format!(
                        "Network '{net}' IP address cannot have both a prefix and a netmask"
                    )));
                }
            } else if prefix > 32 {
                return Err(ConfError::unsupported_config(format!("Invalid IPv4 prefix '{prefix}' in network '{net}'")));
            }
        }
        Some("ipv6") => {
            if !address.is_ipv6() {
                return Err(ConfError::unsupported_config(format!(
                    "Family 'ipv6' specified for non-IPv6 address '{address_s}' in network '{net}'"
                )));
            }
            if netmask.is_some() {
                return Err(ConfError::unsupported_config(format!(
                    "netmask not allowed for IPv6 address '{address_s}' in network '{net}'"
                )));
            }
            if prefix > 128 {
                return Err(ConfError::unsupported_config(format!("Invalid IPv6 prefix '{prefix}' in network '{net}'")));
            }
        }
        Some(f) => return Err(ConfError::xml(format!("Unrecognized family '{f}' in network '{net}'"))),
    }
    let mut ip =
        NetworkIp { family, address, netmask, prefix, local_ptr, tftp_root: None, ranges: Vec::new(), hosts: Vec::new(), bootp: None };
    if let Some(d) = xml::child(node, "dhcp") {
        parse_dhcp(net, d, &mut ip)?;
    }
    if let Some(t) = xml::child(node, "tftp") {
        if !ip.address.is_ipv4() {
            return Err(ConfError::unsupported_config(format!("Unsupported <tftp> element in an IPv6 element in network '{net}'")));
        }
        ip.tftp_root = t.attribute("root").filter(|s| !s.is_empty()).map(str::to_string);
    }
    Ok(ip)
}

fn xml_detail(message: String) -> ConfError {
    ConfError::Invalid { code: ErrorCode::XmlDetail, message }
}

fn srv_uint(c: Node<'_, '_>, name: &str) -> std::result::Result<Option<u32>, ()> {
    match c.attribute(name) {
        None | Some("") => Ok(None),
        Some(v) => xml::parse_uint(v, 10).map(Some).ok_or(()),
    }
}

fn parse_dns(net: &str, node: Node<'_, '_>) -> Result<Dns> {
    let mut dns = Dns {
        enable: xml::prop_tristate(node, "enable")?,
        forward_plain_names: xml::prop_tristate(node, "forwardPlainNames")?,
        ..Default::default()
    };
    for f in xml::children(node, "forwarder") {
        let addr = match f.attribute("addr") {
            None => None,
            Some(a) => Some(parse_ip(a).ok_or_else(|| ConfError::xml(format!("Invalid forwarder IP address '{a}' in network '{net}'")))?),
        };
        let domain = ip_attr(f, "domain");
        if addr.is_none() && domain.is_none() {
            return Err(ConfError::xml("Invalid forwarder element, must contain at least one of addr or domain"));
        }
        dns.forwarders.push(DnsForwarder { domain, addr });
    }
    for h in xml::children(node, "host") {
        let ip_s = h.attribute("ip").ok_or_else(|| xml_detail(format!("Missing IP address in network '{net}' DNS HOST record")))?;
        let ip = parse_ip(ip_s).ok_or_else(|| xml_detail(format!("Invalid IP address in network '{net}' DNS HOST record")))?;
        let mut hostnames = Vec::new();
        for hn in xml::children(h, "hostname") {
            if hn.first_child().is_some() {
                let name = xml::text_of(hn);
                if name.is_empty() {
                    return Err(xml_detail(format!("Missing hostname in network '{net}' DNS HOST record")));
                }
                hostnames.push(name);
            }
        }
        if hostnames.is_empty() {
            return Err(xml_detail(format!("Missing hostname in network '{net}' DNS HOST record")));
        }
        dns.hosts.push(DnsHost { ip, hostnames });
    }
    for s in xml::children(node, "srv") {
        const PROTO: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+/";
        const SERVICE: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/*";
        let service = ip_attr(s, "service")
            .ok_or_else(|| xml_detail(format!("missing required service attribute in DNS SRV record of network '{net}'")))?;
        if service.len() > 32 {
            return Err(xml_detail(format!("service attribute '{service}' in network '{net}' is too long, limit is 32 bytes")));
        }
        if !service.chars().all(|c| SERVICE.contains(c)) {
            return Err(xml_detail(format!("invalid character in service attribute '{service}' in DNS SRV record of network '{net}'")));
        }
        let protocol = ip_attr(s, "protocol")
            .ok_or_else(|| xml_detail(format!("missing required protocol attribute in DNS SRV record '{service}' of network '{net}'")))?;
        if !protocol.chars().all(|c| PROTO.contains(c)) {
            return Err(xml_detail(format!("invalid character in protocol attribute '{protocol}' in DNS SRV record of network '{net}'")));
        }
        let domain = ip_attr(s, "domain");
        let target = ip_attr(s, "target");
        let mut srv = DnsSrv { service, protocol, domain, target, ..Default::default() };
        for (attr, max, min) in [("port", 65535u32, 1u32), ("priority", 65535, 0), ("weight", 65535, 0)] {
            let r = srv_uint(s, attr);
            if matches!(r, Ok(Some(_))) && srv.target.is_none() {
                return Err(xml_detail(format!(
                    "DNS SRV {attr} attribute not permitted without target for service '{}' in network '{net}'",
                    srv.service
                )));
            }
            let v = match r {
                Ok(Some(v)) if v >= min && v <= max => v,
                Ok(None) => 0,
                _ => return Err(xml_detail(format!("invalid DNS SRV {attr} attribute for service '{}' in network '{net}'", srv.service))),
            };
            match attr {
                "port" => srv.port = v,
                "priority" => srv.priority = v,
                _ => srv.weight = v,
            }
        }
        dns.srvs.push(srv);
    }
    for t in xml::children(node, "txt") {
        let name =
            ip_attr(t, "name").ok_or_else(|| xml_detail(format!("missing required name attribute in DNS TXT record of network {net}")))?;
        if name.contains([' ', ',']) {
            return Err(xml_detail(format!("prohibited character in DNS TXT record name '{name}' of network {net}")));
        }
        let value = ip_attr(t, "value")
            .ok_or_else(|| xml_detail(format!("missing required value attribute in DNS TXT record named '{name}' of network {net}")))?;
        dns.txts.push(DnsTxt { name, value });
    }
    if dns.enable == Some(false) && (!dns.forwarders.is_empty() || !dns.hosts.is_empty() || !dns.srvs.is_empty() || !dns.txts.is_empty()) {
        return Err(ConfError::xml(format!("Extra data in disabled network '{net}'")));
    }
    Ok(dns)
}

fn parse_route(net: &str, node: Node<'_, '_>) -> Result<Route> {
    let family = ip_attr(node, "family");
    let prefix = xml::prop_uint(node, "prefix", 10)?;
    let metric = xml::prop_uint(node, "metric", 10)?;
    if metric == Some(0) {
        return Err(ConfError::xml("Invalid value for attribute 'metric' in element 'route': Zero is not permitted"));
    }
    let address_s = node
        .attribute("address")
        .ok_or_else(|| ConfError::xml(format!("{net}: Missing required address attribute in route definition")))?;
    let gateway_s = node
        .attribute("gateway")
        .ok_or_else(|| ConfError::xml(format!("{net}: Missing required gateway attribute in route definition")))?;
    let address =
        parse_ip(address_s).ok_or_else(|| ConfError::xml(format!("{net}: Bad network address '{address_s}' in route definition")))?;
    let gateway =
        parse_ip(gateway_s).ok_or_else(|| ConfError::xml(format!("{net}: Bad gateway address '{gateway_s}' in route definition")))?;
    let mut netmask = None;
    let p = prefix.unwrap_or(0);
    match family.as_deref() {
        None | Some("ipv4") => {
            let fam = if family.is_none() { "No" } else { "IPv4" };
            if !address.is_ipv4() {
                return Err(ConfError::xml(format!(
                    "{net}: {fam} family specified for non-IPv4 address '{address_s}' in route definition"
                )));
            }
            if !gateway.is_ipv4() {
                return Err(ConfError::xml(format!(
                    "{net}: {fam} family specified for non-IPv4 gateway '{address_s}' in route definition"
                )));
            }
            if let Some(m) = node.attribute("netmask") {
                let mi = parse_ip(m).ok_or_else(|| ConfError::xml(format!("{net}: Bad netmask address '{m}' in route definition")))?;
                if !mi.is_ipv4() {
                    return Err(ConfError::xml(format!("{net}: Invalid netmask '{m}' for address '{address_s}' (both must be IPv4)")));
                }
                if prefix.is_some() {
                    return Err(ConfError::xml(format!("{net}: Route definition cannot have both a prefix and a netmask")));
                }
                netmask = Some(mi);
            }
            if p > 32 {
                return Err(ConfError::xml(format!("{net}: Invalid prefix {p} specified in route definition, must be 0 - 32")));
            }
        }
        Some("ipv6") => {
            if !address.is_ipv6() {
                return Err(ConfError::xml(format!("{net}: ipv6 family specified for non-IPv6 address '{address_s}' in route definition")));
            }
            if node.attribute("netmask").is_some() {
                return Err(ConfError::xml(format!(
                    "{net}: Specifying netmask invalid for IPv6 address '{address_s}' in route definition"
                )));
            }
            if !gateway.is_ipv6() {
                return Err(ConfError::xml(format!(
                    "{net}: ipv6 specified for non-IPv6 gateway address '{gateway_s}' in route definition"
                )));
            }
            if p > 128 {
                return Err(ConfError::xml(format!("{net}: Invalid prefix {p} specified in route definition, must be 0 - 128")));
            }
        }
        Some(f) => return Err(ConfError::xml(format!("{net}: Unrecognized family '{f}' in route definition"))),
    }
    let masked = match &netmask {
        Some(IpAddr::V4(m)) => match address {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::from(*m))),
            other => other,
        },
        _ => mask_ip(&address, p),
    };
    if masked != address {
        return Err(ConfError::xml(format!("{net}: Address '{address_s}' in route definition is not a network address")));
    }
    Ok(Route { family, address, netmask, prefix, gateway, metric })
}

fn parse_nat(net: &str, node: Node<'_, '_>, fwd: &mut Forward) -> Result<()> {
    if fwd.mode != ForwardMode::Nat {
        return Err(ConfError::xml(format!("The <nat> element can only be used when <forward> 'mode' is 'nat' in network {net}")));
    }
    fwd.nat.ipv6 = xml::prop_tristate(node, "ipv6")?;
    let addrs: Vec<Node> = xml::children(node, "address").collect();
    if addrs.len() > 1 {
        return Err(ConfError::xml(format!("Only one <address> element is allowed in <nat> in <forward> in network {net}")));
    }
    if let Some(a) = addrs.first() {
        let s = a.attribute("start").ok_or_else(|| {
            ConfError::xml(format!("missing 'start' attribute in <address> element in <nat> in <forward> in network {net}"))
        })?;
        let e = a.attribute("end").ok_or_else(|| {
            ConfError::xml(format!("missing 'end' attribute in <address> element in <nat> in <forward> in network {net}"))
        })?;
        let si: Ipv4Addr =
            s.parse().map_err(|_| ConfError::xml(format!("Bad ipv4 start address '{s}' in <nat> in <forward> in network '{net}'")))?;
        let ei: Ipv4Addr =
            e.parse().map_err(|_| ConfError::xml(format!("Bad ipv4 end address '{e}' in <nat> in <forward> in network '{net}'")))?;
        check_range(&IpAddr::V4(si), &IpAddr::V4(ei), None)?;
        fwd.nat.addr_start = Some(si);
        fwd.nat.addr_end = Some(ei);
    }
    let ports: Vec<Node> = xml::children(node, "port").collect();
    if ports.len() > 1 {
        return Err(ConfError::xml(format!("Only one <port> element is allowed in <nat> in <forward> in network {net}")));
    }
    if let Some(p) = ports.first() {
        let start =
            p.attribute("start").and_then(|v| xml::parse_uint(v, 10)).filter(|v| *v <= 65535).ok_or_else(|| {
                xml_detail(format!("Missing or invalid 'start' attribute in <port> in <nat> in <forward> in network {net}"))
            })?;
        let end =
            p.attribute("end").and_then(|v| xml::parse_uint(v, 10)).filter(|v| *v <= 65535 && *v >= start).ok_or_else(|| {
                xml_detail(format!("Missing or invalid 'end' attribute in <port> in <nat> in <forward> in network {net}"))
            })?;
        fwd.nat.port_start = start;
        fwd.nat.port_end = end;
    }
    Ok(())
}

fn parse_forward(net: &str, node: Node<'_, '_>) -> Result<Forward> {
    let mode = match node.attribute("mode").filter(|s| !s.is_empty()) {
        None => ForwardMode::Nat,
        Some(m) => ForwardMode::from_name(m).ok_or_else(|| ConfError::unsupported_config(format!("unknown forwarding type '{m}'")))?,
    };
    let mut fwd = Forward { mode, ..Default::default() };
    fwd.managed = node.attribute("managed").is_some_and(|m| m.eq_ignore_ascii_case("yes"));
    if let Some(d) = xml::child(node, "driver").and_then(|d| d.attribute("name")).filter(|s| !s.is_empty()) {
        if d != "kvm" && d != "vfio" {
            return Err(ConfError::unsupported_config(format!("Unknown forward <driver name='{d}'/> in network {net}")));
        }
        fwd.driver = Some(d.to_string());
    }
    let ifs: Vec<Node> = xml::children(node, "interface").collect();
    let addrs: Vec<Node> = xml::children(node, "address").collect();
    let pfs: Vec<Node> = xml::children(node, "pf").collect();
    let nats: Vec<Node> = xml::children(node, "nat").collect();
    if nats.len() > 1 {
        return Err(ConfError::xml(format!("Only one <nat> element is allowed in <forward> of network {net}")));
    }
    if let Some(n) = nats.first() {
        parse_nat(net, *n, &mut fwd)?;
    }
    let dev = node.attribute("dev").filter(|s| !s.is_empty());
    if dev.is_some() && (!addrs.is_empty() || !pfs.is_empty()) {
        return Err(ConfError::xml(format!(
            "the <forward> 'dev' attribute cannot be used when <address> or <pf> sub-elements are present in network {net}"
        )));
    }
    if !ifs.is_empty() || dev.is_some() {
        if let Some(d) = dev {
            fwd.ifs.push(ForwardIf::Netdev(d.to_string()));
        }
        for (i, n) in ifs.iter().enumerate() {
            let d = n.attribute("dev").ok_or_else(|| {
                ConfError::xml(format!("Missing required dev attribute in <forward> <interface> element of network {net}"))
            })?;
            if i == 0 && dev.is_some() {
                if Some(d) != dev {
                    return Err(ConfError::xml(format!(
                        "<forward dev='{}'> must match first <interface dev='{d}'/> in network {net}",
                        dev.unwrap_or_default()
                    )));
                }
                continue;
            }
            if fwd.ifs.iter().any(|f| matches!(f, ForwardIf::Netdev(x) if x == d)) {
                return Err(ConfError::xml(format!("interface '{d}' can only be listed once in network {net}")));
            }
            fwd.ifs.push(ForwardIf::Netdev(d.to_string()));
        }
    } else if !addrs.is_empty() {
        for a in &addrs {
            let t = a.attribute("type").ok_or_else(|| ConfError::xml(format!("missing address type in network {net}")))?;
            match t {
                "pci" => {
                    let pci = PciAddress::from_node(*a)?;
                    if fwd.ifs.iter().any(|f| matches!(f, ForwardIf::Pci(p) if *p == pci)) {
                        return Err(ConfError::xml(format!(
                            "PCI device '{:04x}:{:02x}:{:02x}.{:x}' can only be listed once in network {net}",
                            pci.domain, pci.bus, pci.slot, pci.function
                        )));
                    }
                    fwd.ifs.push(ForwardIf::Pci(pci));
                }
                "none" | "netdev" => {
                    return Err(ConfError::xml(format!("unsupported address type '{t}' in network {net}")));
                }
                _ => {
                    return Err(ConfError::unsupported_config(format!("unknown address type '{t}' in network {net}")));
                }
            }
        }
    } else if pfs.len() > 1 {
        return Err(ConfError::xml(format!("Only one <pf> element is allowed in <forward> of network {net}")));
    } else if let Some(p) = pfs.first() {
        let d = p
            .attribute("dev")
            .ok_or_else(|| ConfError::xml(format!("Missing required dev attribute in <pf> element of network '{net}'")))?;
        fwd.pfs.push(d.to_string());
    }
    Ok(fwd)
}

fn parse_portgroup(node: Node<'_, '_>) -> Result<PortGroup> {
    let name = node
        .attribute("name")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConfError::xml("Missing required name attribute in portgroup"))?
        .to_string();
    let is_default = node.attribute("default").is_some_and(|d| d.eq_ignore_ascii_case("yes"));
    let trust_guest_rx_filters = xml::prop_tristate(node, "trustGuestRxFilters")?;
    let virtualport = match xml::child(node, "virtualport") {
        Some(v) => Some(VirtualPort::from_node(v, false)?),
        None => None,
    };
    let bandwidth = match xml::child(node, "bandwidth") {
        Some(b) => Bandwidth::parse(b, false, false)?.0,
        None => None,
    };
    let vlan = match xml::child(node, "vlan") {
        Some(v) => Some(Vlan::from_node(v)?),
        None => None,
    };
    Ok(PortGroup { name, is_default, trust_guest_rx_filters, virtualport, bandwidth, vlan })
}

impl NetworkDef {
    /// Parse a `<network>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "network")?;
        Self::from_node(doc.root_element())
    }

    /// Parse from the `<network>` element (libvirt's `virNetworkDefParseXML`).
    pub fn from_node(node: Node<'_, '_>) -> Result<Self> {
        let name = xml::child_string(node, "name")
            .ok_or_else(|| ConfError::Invalid { code: ErrorCode::NoName, message: "missing name information".into() })?;
        if name.contains('/') {
            return Err(ConfError::xml(format!("name {name} cannot contain '/'")));
        }
        let (uuid, uuid_specified) = match xml::child_string(node, "uuid") {
            None => (uuid::generate(), false),
            Some(s) => (uuid::parse(&s).ok_or_else(|| ConfError::internal("malformed uuid element"))?, true),
        };
        let ipv6 = match node.attribute("ipv6") {
            None | Some("") => false,
            Some("yes") => true,
            Some("no") => false,
            Some(v) => return Err(ConfError::xml(format!("Invalid ipv6 setting '{v}' in network '{name}'"))),
        };
        let trust_guest_rx_filters = xml::prop_tristate(node, "trustGuestRxFilters")?;
        let domain = match xml::child(node, "domain") {
            None => None,
            Some(d) => {
                let local_only = xml::prop_tristate(d, "localOnly")?;
                d.attribute("name").map(|n| NetDomain { name: n.to_string(), local_only })
            }
        };
        let bandwidth = match xml::child(node, "bandwidth") {
            Some(b) => Bandwidth::parse(b, false, false)?.0,
            None => None,
        };
        let vlan = match xml::child(node, "vlan") {
            Some(v) => Some(Vlan::from_node(v)?),
            None => None,
        };
        let isolated_port = match xml::child(node, "port") {
            Some(p) => xml::prop_tristate(p, "isolated")?,
            None => None,
        };
        let mut stp_given = false;
        let bridge = match xml::child(node, "bridge") {
            None => None,
            Some(b) => {
                let nz = |a: &str| b.attribute(a).filter(|s| !s.is_empty()).map(str::to_string);
                let stp = nz("stp").map(|s| s != "off");
                stp_given = stp.is_some();
                let delay = match nz("delay") {
                    None => 0,
                    Some(d) => {
                        d.trim_start().parse::<u64>().map_err(|_| ConfError::xml(format!("Invalid delay value in network '{name}'")))?
                    }
                };
                let mtm = nz("macTableManager");
                if let Some(m) = &mtm {
                    if m != "kernel" && m != "libvirt" {
                        return Err(ConfError::xml(format!("Invalid macTableManager setting '{m}' in network '{name}'")));
                    }
                }
                Some(Bridge { name: nz("name"), zone: nz("zone"), stp, delay, mac_table_manager: mtm })
            }
        };
        let mac = match xml::child(node, "mac").and_then(|m| m.attribute("address")).filter(|s| !s.is_empty()) {
            None => None,
            Some(m) => {
                let a = MacAddr::parse(m).ok_or_else(|| ConfError::xml(format!("Invalid bridge mac address '{m}' in network '{name}'")))?;
                if a.is_multicast() {
                    return Err(ConfError::xml(format!("Invalid multicast bridge mac address '{m}' in network '{name}'")));
                }
                Some(a)
            }
        };
        let mtu = match xml::child(node, "mtu").and_then(|m| m.attribute("size")).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(xml::parse_uint(s, 10).ok_or_else(|| ConfError::xml(format!("Invalid mtu size '{s}' in network '{name}'")))?),
        };
        let dns = match xml::child(node, "dns") {
            Some(d) => parse_dns(&name, d)?,
            None => Dns::default(),
        };
        let virtualport = match xml::child(node, "virtualport") {
            Some(v) => Some(VirtualPort::from_node(v, true)?),
            None => None,
        };
        let portgroups = xml::children(node, "portgroup").map(parse_portgroup).collect::<Result<Vec<_>>>()?;
        let ips = xml::children(node, "ip").map(|n| parse_ip_def(&name, n)).collect::<Result<Vec<_>>>()?;
        let routes = xml::children(node, "route").map(|n| parse_route(&name, n)).collect::<Result<Vec<_>>>()?;
        for r in &routes {
            let reachable = ips.iter().any(|ip| {
                if ip.address.is_ipv4() != r.gateway.is_ipv4() {
                    return false;
                }
                match ip.effective_prefix() {
                    Some(p) => mask_ip(&ip.address, p) == mask_ip(&r.gateway, p),
                    None => false,
                }
            });
            if !reachable {
                return Err(ConfError::unsupported_config(format!(
                    "unreachable static route gateway '{}' specified for network '{name}'",
                    r.gateway
                )));
            }
        }
        let forward = match xml::child(node, "forward") {
            Some(f) => Some(parse_forward(&name, f)?),
            None => None,
        };
        let def = NetworkDef {
            name,
            uuid,
            uuid_specified,
            connections: 0,
            ipv6,
            trust_guest_rx_filters,
            metadata: xml::child(node, "metadata").map(crate::metadata::from_node),
            forward,
            bridge,
            mtu,
            mac,
            domain,
            dns,
            vlan,
            bandwidth,
            isolated_port,
            ips,
            routes,
            virtualport,
            portgroups,
            dnsmasq_options: parse_dnsmasq(node)?,
        };
        def.validate(stp_given)?;
        Ok(def)
    }

    /// The forward mode (`None` when there is no `<forward>`).
    pub fn forward_mode(&self) -> ForwardMode {
        self.forward.as_ref().map(|f| f.mode).unwrap_or_default()
    }

    fn validate(&self, stp_given: bool) -> Result<()> {
        let name = &self.name;
        let mode = self.forward_mode();
        let m = mode.as_str();
        let (nifs, npfs) = self.forward.as_ref().map(|f| (f.ifs.len(), f.pfs.len())).unwrap_or((0, 0));
        let br = self.bridge.clone().unwrap_or_default();
        match mode {
            ForwardMode::None => {}
            ForwardMode::Route | ForwardMode::Nat | ForwardMode::Open => {
                if self.ips.is_empty() {
                    return Err(ConfError::xml(format!("{m} forwarding requested, but no IP address provided for network '{name}'")));
                }
                if nifs > 1 {
                    return Err(ConfError::xml(format!(
                        "multiple forwarding interfaces specified for network '{name}', only one is supported"
                    )));
                }
                if mode == ForwardMode::Open && nifs > 0 {
                    return Err(ConfError::xml(format!("forward dev not allowed for network '{name}' with forward mode='{m}'")));
                }
            }
            _ => {
                if mode != ForwardMode::Bridge {
                    if br.name.is_some() {
                        return Err(ConfError::xml(format!("bridge name not allowed in {m} mode (network '{name}')")));
                    }
                    if br.zone.is_some() {
                        return Err(ConfError::xml(format!("bridge zone not allowed in {m} mode (network '{name}')")));
                    }
                    if br.mac_table_manager.is_some() {
                        return Err(ConfError::xml(format!("bridge macTableManager setting not allowed in {m} mode (network '{name}')")));
                    }
                }
                if br.delay != 0 || stp_given || br.zone.is_some() {
                    return Err(ConfError::xml(format!(
                        "bridge delay/stp/zone options only allowed in route, nat, and isolated mode, not in {m} (network '{name}')"
                    )));
                }
                if br.name.is_some() && (nifs > 0 || npfs > 0) {
                    return Err(ConfError::xml(format!(
                        "A network with forward mode='{m}' can specify a bridge name or a forward dev, but not both (network '{name}')"
                    )));
                }
            }
        }
        if self.mtu.is_some_and(|m| m != 0) && !mode.has_bridge() {
            return Err(ConfError::xml(format!(
                "mtu size only allowed in open, route, nat, and isolated mode, not in {m} (network '{name}')"
            )));
        }
        Ok(())
    }

    /// The canonical element tree of the live definition.
    pub fn to_el(&self) -> El {
        self.to_el_with(false)
    }

    /// The canonical element tree; `inactive` is libvirt's `VIR_NETWORK_XML_INACTIVE`
    /// (no connection counts, no pool devices when a `<pf>` is given).
    pub fn to_el_with(&self, inactive: bool) -> El {
        let mut e = El::new("network");
        if !self.dnsmasq_options.is_empty() {
            e.push_attr("xmlns:dnsmasq", DNSMASQ_NS);
        }
        if !inactive && self.connections > 0 {
            e.push_attr("connections", self.connections);
        }
        if self.ipv6 {
            e.push_attr("ipv6", "yes");
        }
        if let Some(t) = self.trust_guest_rx_filters {
            e.push_attr("trustGuestRxFilters", tristate_str(t));
        }
        e = e.text_child("name", &self.name).text_child("uuid", uuid::format(&self.uuid));
        if let Some(md) = &self.metadata {
            e.children.push(XNode::Raw(xml::libxml_dump(md)));
        }
        let mode = self.forward_mode();
        if let Some(f) = self.forward.as_ref().filter(|f| f.mode != ForwardMode::None) {
            e.push(forward_el(f, inactive));
        }
        let br = self.bridge.clone().unwrap_or_default();
        let hasbridge = mode.has_bridge();
        if hasbridge || br.name.is_some() || br.mac_table_manager.is_some() {
            let mut b = El::new("bridge").attr_opt("name", br.name.as_deref()).attr_opt("zone", br.zone.as_deref());
            if hasbridge {
                b = b.attr("stp", if br.stp.unwrap_or(true) { "on" } else { "off" }).attr("delay", br.delay);
            }
            e.push(b.attr_opt("macTableManager", br.mac_table_manager.as_deref()));
        }
        if let Some(m) = self.mtu.filter(|m| *m != 0) {
            e.push(El::new("mtu").attr("size", m));
        }
        if let Some(m) = &self.mac {
            e.push(El::new("mac").attr("address", m));
        }
        if let Some(d) = &self.domain {
            e.push(El::new("domain").attr("name", &d.name).attr_opt("localOnly", d.local_only.map(tristate_str)));
        }
        e = e.child_opt(dns_el(&self.dns));
        e = e.child_opt(self.vlan.as_ref().and_then(Vlan::to_el));
        e = e.child_opt(self.bandwidth.as_ref().map(|b| b.to_el(None)));
        if let Some(p) = self.isolated_port {
            e.push(El::new("port").attr("isolated", tristate_str(p)));
        }
        for ip in &self.ips {
            e.push(ip_el(ip));
        }
        for r in &self.routes {
            e.push(
                El::new("route")
                    .attr_opt("family", r.family.as_deref())
                    .attr("address", r.address)
                    .attr_opt("netmask", r.netmask)
                    .attr_opt("prefix", r.prefix)
                    .attr("gateway", r.gateway)
                    .attr_opt("metric", r.metric.filter(|m| *m > 0)),
            );
        }
        e = e.child_opt(self.virtualport.as_ref().and_then(VirtualPort::to_el));
        for pg in &self.portgroups {
            let mut p = El::new("portgroup").attr("name", &pg.name);
            if pg.is_default {
                p.push_attr("default", "yes");
            }
            if let Some(t) = pg.trust_guest_rx_filters {
                p.push_attr("trustGuestRxFilters", tristate_str(t));
            }
            p = p
                .child_opt(pg.vlan.as_ref().and_then(Vlan::to_el))
                .child_opt(pg.virtualport.as_ref().and_then(VirtualPort::to_el))
                .child_opt(pg.bandwidth.as_ref().map(|b| b.to_el(None)));
            e.push(p.keep_open());
        }
        if !self.dnsmasq_options.is_empty() {
            let mut o = El::new("dnsmasq:options");
            for v in &self.dnsmasq_options {
                o.push(El::new("dnsmasq:option").attr("value", v));
            }
            e.push(o);
        }
        e
    }

    /// The canonical XML of the live definition.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }

    /// The canonical XML; `inactive` is libvirt's `VIR_NETWORK_XML_INACTIVE`.
    pub fn format_with(&self, inactive: bool) -> String {
        self.to_el_with(inactive).to_xml()
    }
}

fn parse_dnsmasq(node: Node<'_, '_>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let is_ns = |n: &Node, local: &str| n.is_element() && n.tag_name().name() == local && n.tag_name().namespace() == Some(DNSMASQ_NS);
    for opts in node.children().filter(|n| is_ns(n, "options")) {
        for o in opts.children().filter(|n| is_ns(n, "option")) {
            let v = o.attribute("value").ok_or_else(|| ConfError::internal("No dnsmasq options value specified"))?;
            out.push(v.to_string());
        }
    }
    Ok(out)
}

fn forward_el(f: &Forward, inactive: bool) -> El {
    let mut e = El::new("forward");
    if f.pfs.is_empty() {
        if let Some(ForwardIf::Netdev(d)) = f.ifs.first() {
            e.push_attr("dev", d);
        }
    }
    e.push_attr("mode", f.mode.as_str());
    if f.mode == ForwardMode::Hostdev {
        e.push_attr("managed", xml::yes_no(f.managed));
    }
    if let Some(d) = &f.driver {
        e.push(El::new("driver").attr("name", d));
    }
    if f.mode == ForwardMode::Nat {
        let n = &f.nat;
        let has_range = n.addr_start.is_some() || n.addr_end.is_some() || n.port_start != 0 || n.port_end != 0;
        if has_range || n.ipv6.is_some() {
            let mut ne = El::new("nat").attr_opt("ipv6", n.ipv6.map(tristate_str));
            if let Some(s) = n.addr_start {
                ne.push(El::new("address").attr("start", s).attr_opt("end", n.addr_end));
            }
            if n.port_start != 0 || n.port_end != 0 {
                ne.push(El::new("port").attr("start", n.port_start).attr_opt("end", (n.port_end != 0).then_some(n.port_end)));
            }
            e.push(ne);
        }
    }
    if let Some(p) = f.pfs.first() {
        e.push(El::new("pf").attr("dev", p));
    }
    if !f.ifs.is_empty() && (f.pfs.is_empty() || !inactive) {
        for i in &f.ifs {
            match i {
                ForwardIf::Netdev(d) => e.push(El::new("interface").attr("dev", d)),
                ForwardIf::Pci(p) => e.push(p.to_el(true)),
            }
        }
    }
    e
}

fn dns_el(d: &Dns) -> Option<El> {
    let has_records = !(d.forwarders.is_empty() && d.hosts.is_empty() && d.srvs.is_empty() && d.txts.is_empty());
    if d.enable.is_none() && d.forward_plain_names.is_none() && !has_records {
        return None;
    }
    let mut e = El::new("dns")
        .attr_opt("enable", d.enable.map(tristate_str))
        .attr_opt("forwardPlainNames", d.forward_plain_names.map(tristate_str));
    for f in &d.forwarders {
        e.push(El::new("forwarder").attr_opt("domain", f.domain.as_deref()).attr_opt("addr", f.addr));
    }
    for t in &d.txts {
        e.push(El::new("txt").attr("name", &t.name).attr("value", &t.value));
    }
    for s in &d.srvs {
        let nz = |v: u32| (v != 0).then_some(v);
        e.push(
            El::new("srv")
                .attr("service", &s.service)
                .attr("protocol", &s.protocol)
                .attr_opt("domain", s.domain.as_deref())
                .attr_opt("target", s.target.as_deref())
                .attr_opt("port", nz(s.port))
                .attr_opt("priority", nz(s.priority))
                .attr_opt("weight", nz(s.weight)),
        );
    }
    for h in &d.hosts {
        let mut he = El::new("host").attr("ip", h.ip);
        for n in &h.hostnames {
            he = he.text_child("hostname", n);
        }
        e.push(he.keep_open());
    }
    Some(e)
}

fn ip_el(ip: &NetworkIp) -> El {
    let mut e = El::new("ip")
        .attr_opt("family", ip.family.as_deref())
        .attr("address", ip.address)
        .attr_opt("netmask", ip.netmask)
        .attr_opt("prefix", (ip.prefix > 0).then_some(ip.prefix))
        .attr_opt("localPtr", ip.local_ptr.map(tristate_str));
    if let Some(t) = &ip.tftp_root {
        e.push(El::new("tftp").attr("root", t));
    }
    if !ip.ranges.is_empty() || !ip.hosts.is_empty() {
        let mut d = El::new("dhcp");
        for r in &ip.ranges {
            d.push(El::new("range").attr("start", r.start).attr("end", r.end).child_opt(r.lease.as_ref().map(DhcpLease::to_el)));
        }
        for h in &ip.hosts {
            d.push(
                El::new("host")
                    .attr_opt("mac", h.mac.as_deref())
                    .attr_opt("id", h.id.as_deref())
                    .attr_opt("name", h.name.as_deref())
                    .attr_opt("ip", h.ip)
                    .child_opt(h.lease.as_ref().map(DhcpLease::to_el)),
            );
        }
        if let Some(b) = &ip.bootp {
            d.push(El::new("bootp").attr("file", &b.file).attr_opt("server", b.server));
        }
        e.push(d);
    }
    e.keep_open()
}

/// `xml format --kind network`: parse and print the canonical form.
pub fn tool_format(text: &str, opts: &ToolOptions) -> Result<String> {
    Ok(NetworkDef::parse(text)?.format_with(opts.inactive))
}
