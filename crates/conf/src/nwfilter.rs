//! `<filter>` (nwfilter) XML: typed model, parse and canonical format, following
//! libvirt's `nwfilter_conf.c`.
//!
//! Each protocol element of a rule (`<tcp>`, `<arp>`, `<ipv6>`, ...) is described by a
//! table of attributes with their accepted datatypes, tried in libvirt's order. A
//! parsed value keeps the datatype it was read as, because that decides how it is
//! written back (`0x1f` stays hex, `31` stays decimal).

use crate::error::{ConfError, Result};
use crate::network::MacAddr;
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use oxvirt_util::uuid::{self, Uuid};
use oxvirt_util::ErrorCode;
use roxmltree::Node;
use std::net::IpAddr;

/// Attribute datatypes, numbered like libvirt's `enum attrDatatype` (the bit order is
/// the order in which they are tried).
pub mod dt {
    /// Decimal 16-bit integer.
    pub const UINT16: u32 = 1 << 0;
    /// Decimal 8-bit integer.
    pub const UINT8: u32 = 1 << 1;
    /// Hexadecimal 16-bit integer.
    pub const UINT16_HEX: u32 = 1 << 2;
    /// Hexadecimal 8-bit integer.
    pub const UINT8_HEX: u32 = 1 << 3;
    /// MAC address.
    pub const MACADDR: u32 = 1 << 4;
    /// MAC mask.
    pub const MACMASK: u32 = 1 << 5;
    /// IPv4 address.
    pub const IPADDR: u32 = 1 << 6;
    /// IPv4 mask (prefix length or dotted quad).
    pub const IPMASK: u32 = 1 << 7;
    /// String checked by a validator.
    pub const STRING: u32 = 1 << 8;
    /// IPv6 address.
    pub const IPV6ADDR: u32 = 1 << 9;
    /// IPv6 mask (prefix length or address).
    pub const IPV6MASK: u32 = 1 << 10;
    /// Free text (comments).
    pub const STRINGCOPY: u32 = 1 << 11;
    /// Boolean.
    pub const BOOLEAN: u32 = 1 << 12;
    /// Decimal 32-bit integer.
    pub const UINT32: u32 = 1 << 13;
    /// Hexadecimal 32-bit integer.
    pub const UINT32_HEX: u32 = 1 << 14;
    /// ipset name.
    pub const IPSETNAME: u32 = 1 << 15;
    /// ipset flags.
    pub const IPSETFLAGS: u32 = 1 << 16;
    /// One past the last datatype.
    pub const LAST: u32 = 1 << 17;
}

/// Extra checking/formatting an attribute gets beyond its datatype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    MacProto,
    VlanId,
    VlanProto,
    ArpOpcode,
    IpProto,
    Dscp,
    State,
    TcpFlags,
    IpSet,
    IpSetFlags,
}

#[derive(Debug, Clone, Copy)]
struct AttrSpec {
    name: &'static str,
    types: u32,
    kind: Kind,
}

const fn a(name: &'static str, types: u32) -> AttrSpec {
    AttrSpec { name, types, kind: Kind::Plain }
}

const fn k(name: &'static str, types: u32, kind: Kind) -> AttrSpec {
    AttrSpec { name, types, kind }
}

const U8: u32 = dt::UINT8 | dt::UINT8_HEX;
const U16: u32 = dt::UINT16 | dt::UINT16_HEX;
const U32: u32 = dt::UINT32 | dt::UINT32_HEX;
const COMMENT: AttrSpec = a("comment", dt::STRINGCOPY);

const MAC_ATTRS: &[AttrSpec] = &[
    a("srcmacaddr", dt::MACADDR),
    a("srcmacmask", dt::MACMASK),
    a("dstmacaddr", dt::MACADDR),
    a("dstmacmask", dt::MACMASK),
    k("protocolid", U16 | dt::STRING, Kind::MacProto),
    COMMENT,
];

const VLAN_ATTRS: &[AttrSpec] = &[
    a("srcmacaddr", dt::MACADDR),
    a("srcmacmask", dt::MACMASK),
    a("dstmacaddr", dt::MACADDR),
    a("dstmacmask", dt::MACMASK),
    k("vlanid", U16, Kind::VlanId),
    k("encap-protocol", U16 | dt::STRING, Kind::VlanProto),
    COMMENT,
];

const STP_ATTRS: &[AttrSpec] = &[
    a("srcmacaddr", dt::MACADDR),
    a("srcmacmask", dt::MACMASK),
    a("type", U8),
    a("flags", U8),
    a("root-priority", U16),
    a("root-priority-hi", U16),
    a("root-address", dt::MACADDR),
    a("root-address-mask", dt::MACMASK),
    a("root-cost", U32),
    a("root-cost-hi", U32),
    a("sender-priority", U16),
    a("sender-priority-hi", U16),
    a("sender-address", dt::MACADDR),
    a("sender-address-mask", dt::MACMASK),
    a("port", U16),
    a("port-hi", U16),
    a("age", U16),
    a("age-hi", U16),
    a("max-age", U16),
    a("max-age-hi", U16),
    a("hello-time", U16),
    a("hello-time-hi", U16),
    a("forward-delay", U16),
    a("forward-delay-hi", U16),
    COMMENT,
];

const ARP_ATTRS: &[AttrSpec] = &[
    a("srcmacaddr", dt::MACADDR),
    a("srcmacmask", dt::MACMASK),
    a("dstmacaddr", dt::MACADDR),
    a("dstmacmask", dt::MACMASK),
    a("hwtype", U16),
    a("protocoltype", U16),
    k("opcode", U16 | dt::STRING, Kind::ArpOpcode),
    a("arpsrcmacaddr", dt::MACADDR),
    a("arpdstmacaddr", dt::MACADDR),
    a("arpsrcipaddr", dt::IPADDR),
    a("arpsrcipmask", dt::IPMASK),
    a("arpdstipaddr", dt::IPADDR),
    a("arpdstipmask", dt::IPMASK),
    a("gratuitous", dt::BOOLEAN),
    COMMENT,
];

const IP_ATTRS: &[AttrSpec] = &[
    a("srcmacaddr", dt::MACADDR),
    a("srcmacmask", dt::MACMASK),
    a("dstmacaddr", dt::MACADDR),
    a("dstmacmask", dt::MACMASK),
    a("srcipaddr", dt::IPADDR),
    a("srcipmask", dt::IPMASK),
    a("dstipaddr", dt::IPADDR),
    a("dstipmask", dt::IPMASK),
    k("protocol", dt::STRING | U8, Kind::IpProto),
    a("srcportstart", U16),
    a("srcportend", U16),
    a("dstportstart", U16),
    a("dstportend", U16),
    k("dscp", U8, Kind::Dscp),
    COMMENT,
];

const IPV6_ATTRS: &[AttrSpec] = &[
    a("srcmacaddr", dt::MACADDR),
    a("srcmacmask", dt::MACMASK),
    a("dstmacaddr", dt::MACADDR),
    a("dstmacmask", dt::MACMASK),
    a("srcipaddr", dt::IPV6ADDR),
    a("srcipmask", dt::IPV6MASK),
    a("dstipaddr", dt::IPV6ADDR),
    a("dstipmask", dt::IPV6MASK),
    k("protocol", dt::STRING | U8, Kind::IpProto),
    a("srcportstart", U16),
    a("srcportend", U16),
    a("dstportstart", U16),
    a("dstportend", U16),
    a("type", U8),
    a("typeend", U8),
    a("code", U8),
    a("codeend", U8),
    COMMENT,
];

macro_rules! l3_attrs {
    ($addr:expr, $mask:expr; $($extra:expr),* $(,)?) => {
        &[
            a("srcmacaddr", dt::MACADDR),
            a("srcipaddr", $addr),
            a("srcipmask", $mask),
            a("dstipaddr", $addr),
            a("dstipmask", $mask),
            a("srcipfrom", $addr),
            a("srcipto", $addr),
            a("dstipfrom", $addr),
            // libvirt declares dstipto as IPv4 for every protocol.
            a("dstipto", dt::IPADDR),
            k("dscp", U8, Kind::Dscp),
            a("connlimit-above", dt::UINT16),
            k("state", dt::STRING, Kind::State),
            k("ipset", dt::IPSETNAME, Kind::IpSet),
            k("ipsetflags", dt::IPSETFLAGS, Kind::IpSetFlags),
            $($extra,)*
        ]
    };
}

const PORTS: [AttrSpec; 4] = [a("srcportstart", U16), a("srcportend", U16), a("dstportstart", U16), a("dstportend", U16)];

const TCP_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPADDR, dt::IPMASK; PORTS[0], PORTS[1], PORTS[2], PORTS[3],
    a("option", U8), k("flags", dt::STRING, Kind::TcpFlags), COMMENT);
const UDP_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPADDR, dt::IPMASK; PORTS[0], PORTS[1], PORTS[2], PORTS[3], COMMENT);
const L3_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPADDR, dt::IPMASK; COMMENT);
const ICMP_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPADDR, dt::IPMASK; a("type", U8), a("code", U8), COMMENT);
const TCP6_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPV6ADDR, dt::IPV6MASK; PORTS[0], PORTS[1], PORTS[2], PORTS[3],
    a("option", U8), COMMENT);
const UDP6_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPV6ADDR, dt::IPV6MASK; PORTS[0], PORTS[1], PORTS[2], PORTS[3], COMMENT);
const L3V6_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPV6ADDR, dt::IPV6MASK; COMMENT);
const ICMP6_ATTRS: &[AttrSpec] = l3_attrs!(dt::IPV6ADDR, dt::IPV6MASK; a("type", U8), a("code", U8), COMMENT);

/// Protocol elements in libvirt's lookup order: (element name, attribute table).
const PROTOCOLS: &[(&str, &[AttrSpec])] = &[
    ("arp", ARP_ATTRS),
    ("rarp", ARP_ATTRS),
    ("mac", MAC_ATTRS),
    ("vlan", VLAN_ATTRS),
    ("stp", STP_ATTRS),
    ("ip", IP_ATTRS),
    ("ipv6", IPV6_ATTRS),
    ("tcp", TCP_ATTRS),
    ("udp", UDP_ATTRS),
    ("udplite", L3_ATTRS),
    ("esp", L3_ATTRS),
    ("ah", L3_ATTRS),
    ("sctp", UDP_ATTRS),
    ("icmp", ICMP_ATTRS),
    ("all", L3_ATTRS),
    ("igmp", L3_ATTRS),
    ("tcp-ipv6", TCP6_ATTRS),
    ("udp-ipv6", UDP6_ATTRS),
    ("udplite-ipv6", L3V6_ATTRS),
    ("esp-ipv6", L3V6_ATTRS),
    ("ah-ipv6", L3V6_ATTRS),
    ("sctp-ipv6", UDP6_ATTRS),
    ("icmpv6", ICMP6_ATTRS),
    ("all-ipv6", L3V6_ATTRS),
];

fn table(protocol: &str) -> &'static [AttrSpec] {
    PROTOCOLS.iter().find(|(n, _)| *n == protocol).map(|(_, t)| *t).unwrap_or(&[])
}

const MAC_PROTO_MAP: &[(u32, &str)] = &[(0x0806, "arp"), (0x8035, "rarp"), (0x0800, "ipv4"), (0x86DD, "ipv6"), (0x8100, "vlan")];
const ARP_OPCODE_MAP: &[(u32, &str)] = &[
    (1, "Request"),
    (2, "Reply"),
    (3, "Request_Reverse"),
    (4, "Reply_Reverse"),
    (5, "DRARP_Request"),
    (6, "DRARP_Reply"),
    (7, "DRARP_Error"),
    (8, "InARP_Request"),
    (9, "ARP_NAK"),
];
const IP_PROTO_MAP: &[(u32, &str)] =
    &[(6, "tcp"), (17, "udp"), (136, "udplite"), (50, "esp"), (51, "ah"), (1, "icmp"), (2, "igmp"), (132, "sctp"), (58, "icmpv6")];
const STATE_MAP: &[(u32, &str)] = &[(1 << 1, "NEW"), (1 << 2, "ESTABLISHED"), (1 << 3, "RELATED"), (1 << 4, "INVALID"), (1 << 5, "NONE")];
const STATE_NONE: u32 = 1 << 5;
const TCP_FLAGS_MAP: &[(u32, &str)] =
    &[(0x1, "FIN"), (0x2, "SYN"), (0x4, "RST"), (0x8, "PSH"), (0x10, "ACK"), (0x20, "URG"), (0x3F, "ALL"), (0x0, "NONE")];

fn map_by_name(map: &[(u32, &str)], s: &str) -> Option<u32> {
    map.iter().find(|(_, n)| n.eq_ignore_ascii_case(s)).map(|(v, _)| *v)
}

fn map_by_value(map: &[(u32, &'static str)], v: u32) -> Option<&'static str> {
    map.iter().find(|(x, _)| *x == v).map(|(_, n)| *n)
}

/// A variable reference (`$NAME`, `$NAME[3]`, `$NAME[@1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarAccess {
    /// Variable name.
    pub name: String,
    /// `[N]`: a fixed element.
    pub index: Option<u32>,
    /// `[@N]`: an iterator id (0 when not given).
    pub iterator: u32,
}

impl VarAccess {
    /// Parse the text after `$` (libvirt's `virNWFilterVarAccessParse`).
    pub fn parse(s: &str) -> Result<VarAccess> {
        let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let end = s.find(|c: char| !is_name(c)).unwrap_or(s.len());
        let name = s[..end].to_string();
        let rest = &s[end..];
        if rest.is_empty() {
            return Ok(VarAccess { name, index: None, iterator: 0 });
        }
        let Some(inner) = rest.strip_prefix('[') else {
            return Err(ConfError::invalid_arg("Malformatted variable"));
        };
        let ws = |c: char| c.is_ascii_whitespace();
        let inner = inner.trim_start_matches(ws);
        let (iter, body) = match inner.strip_prefix('@') {
            Some(b) => (true, b),
            None => (false, inner),
        };
        // Like strtoul: leading blanks, then digits; then blanks and ']' (anything
        // after the bracket is ignored, as libvirt does).
        let body = body.trim_start_matches(ws);
        let body = body.strip_prefix('+').unwrap_or(body);
        let digits_end = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
        let num = body[..digits_end].parse::<u32>().ok();
        let tail = body[digits_end..].trim_start_matches(ws);
        let msg = if iter { "Malformatted iterator id" } else { "Malformatted array index" };
        let Some(num) = num.filter(|_| tail.starts_with(']')) else {
            return Err(ConfError::invalid_arg(msg));
        };
        if iter {
            if num > 1000 {
                return Err(ConfError::invalid_arg("Iterator ID exceeds maximum ID of 1000"));
            }
            Ok(VarAccess { name, index: None, iterator: num })
        } else {
            Ok(VarAccess { name, index: Some(num), iterator: 0 })
        }
    }
}

impl std::fmt::Display for VarAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        match self.index {
            Some(i) => write!(f, "[{i}]"),
            None if self.iterator != 0 => write!(f, "[@{}]", self.iterator),
            None => Ok(()),
        }
    }
}

/// A parsed attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// A variable reference.
    Var(VarAccess),
    /// An integer and the datatype it was read as (one of the `dt::UINT*` bits).
    Uint {
        /// The value.
        value: u32,
        /// The datatype, deciding decimal or hex output.
        datatype: u32,
    },
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A mask as a prefix length.
    Mask(u8),
    /// A MAC address or mask.
    Mac(MacAddr),
    /// Free text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// Connection-tracking states (`RULE_FLAG_STATE_*` bits).
    State(u32),
    /// TCP flags `MASK/FLAGS`.
    TcpFlags {
        /// Flags examined.
        mask: u8,
        /// Flags that must be set.
        flags: u8,
    },
    /// An ipset name.
    IpSet(String),
    /// ipset flags: `count` entries, bit i set for `src`.
    IpSetFlags {
        /// Number of entries.
        count: u8,
        /// Bit i set when entry i is `src`.
        flags: u8,
    },
}

/// One attribute of a rule's protocol element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleAttr {
    /// Attribute name.
    pub name: &'static str,
    /// `match='no'`.
    pub negate: bool,
    /// Value.
    pub value: AttrValue,
}

/// A rule's protocol element with its attributes in libvirt's table order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProtocol {
    /// Element name (`tcp`, `arp`, `all-ipv6`, ...).
    pub name: String,
    /// One slot per attribute of the protocol's table.
    pub attrs: Vec<Option<RuleAttr>>,
}

impl RuleProtocol {
    /// The attribute called `name`, if set.
    pub fn get(&self, name: &str) -> Option<&RuleAttr> {
        self.attrs.iter().flatten().find(|a| a.name == name)
    }
}

/// `<rule>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `drop`, `accept`, `reject`, `return`, `continue`.
    pub action: String,
    /// `in`, `out`, `inout`.
    pub direction: String,
    /// Priority (-1000..1000, default 500).
    pub priority: i32,
    /// `statematch='false'`.
    pub no_statematch: bool,
    /// The protocol element, if any.
    pub protocol: Option<RuleProtocol>,
}

/// `<filterref>`: another filter with parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRef {
    /// Referenced filter name.
    pub filter: String,
    /// Parameters: name and its values, in document order of first appearance.
    pub params: Vec<(String, Vec<String>)>,
}

/// An entry of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterEntry {
    /// A rule.
    Rule(Rule),
    /// A reference to another filter.
    Ref(FilterRef),
}

/// A parsed `<filter>` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NWFilterDef {
    /// Filter name.
    pub name: String,
    /// UUID (generated when absent).
    pub uuid: Uuid,
    /// True when the XML gave the UUID.
    pub uuid_specified: bool,
    /// Chain (`root` by default).
    pub chain: String,
    /// Chain priority (0 = not formatted).
    pub priority: i32,
    /// Rules and filter references in order.
    pub entries: Vec<FilterEntry>,
}

/// libvirt's `virStrToLong_ui` with base 10 or 16 (whole string, `-N` wraps).
fn str_to_ui(s: &str, base: u32) -> Option<u32> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = if base == 16 {
        match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(r) if r.starts_with(|c: char| c.is_ascii_hexdigit()) => r,
            _ => t,
        }
    } else {
        t
    };
    if t.is_empty() || !t.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    let v = u64::from_str_radix(t, base).ok()?;
    if neg {
        if v > u32::MAX as u64 {
            return None;
        }
        Some((v as u32).wrapping_neg())
    } else {
        u32::try_from(v).ok()
    }
}

fn mask_bits(bytes: &[u8]) -> Option<u8> {
    let mut ones = 0u32;
    let mut seen_zero = false;
    for b in bytes {
        for i in (0..8).rev() {
            if b & (1 << i) != 0 {
                if seen_zero {
                    return None;
                }
                ones += 1;
            } else {
                seen_zero = true;
            }
        }
    }
    u8::try_from(ones).ok()
}

fn parse_state(s: &str) -> Option<u32> {
    let flags = parse_items(STATE_MAP, s)?;
    Some(if flags & STATE_NONE != 0 { STATE_NONE } else { flags })
}

/// libvirt's `parseStringItems`: `,`-separated names, case-insensitive prefixes.
fn parse_items(map: &[(u32, &str)], s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut flags = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let rest = &s[i..];
        let (v, n) =
            map.iter().find(|(_, n)| rest.len() >= n.len() && rest.is_char_boundary(n.len()) && rest[..n.len()].eq_ignore_ascii_case(n))?;
        flags |= v;
        i += n.len();
    }
    Some(flags)
}

fn print_items(map: &[(u32, &'static str)], flags: u32) -> String {
    let mut out = Vec::new();
    let mut f = flags;
    let mut mask = 1u32;
    while mask != 0 && f != 0 {
        if f & mask != 0 {
            if let Some(n) = map_by_value(map, mask) {
                out.push(n);
            }
            f ^= mask;
        }
        mask <<= 1;
    }
    out.join(",")
}

fn tcp_flags_str(f: u8) -> String {
    match f {
        0 => "NONE".into(),
        0x3f => "ALL".into(),
        f => print_items(TCP_FLAGS_MAP, f as u32),
    }
}

fn parse_ipset_flags(s: &str) -> Option<(u8, u8)> {
    let b = s.as_bytes();
    let (mut idx, mut count, mut flags) = (0usize, 0u8, 0u8);
    while count < 6 {
        let word = b.get(idx..idx + 3)?;
        if word.eq_ignore_ascii_case(b"src") {
            flags |= 1 << count;
        } else if !word.eq_ignore_ascii_case(b"dst") {
            return None;
        }
        count += 1;
        idx += 3;
        if b.get(idx) != Some(&b',') {
            break;
        }
        idx += 1;
    }
    (idx == b.len()).then_some((count, flags))
}

/// Try one datatype; `Ok(None)` means "does not parse as this type".
fn try_type(spec: &AttrSpec, t: u32, prop: &str) -> Result<Option<AttrValue>> {
    let uint = |base: u32, max: u32| str_to_ui(prop, base).filter(|v| *v <= max).map(|v| AttrValue::Uint { value: v, datatype: t });
    Ok(match t {
        dt::UINT8 => uint(10, 0xff),
        dt::UINT8_HEX => uint(16, 0xff),
        dt::UINT16 => uint(10, 0xffff),
        dt::UINT16_HEX => uint(16, 0xffff),
        dt::UINT32 => uint(10, u32::MAX),
        dt::UINT32_HEX => uint(16, u32::MAX),
        dt::IPADDR => prop.parse::<std::net::Ipv4Addr>().ok().map(|a| AttrValue::Ip(IpAddr::V4(a))),
        dt::IPV6ADDR => prop.parse::<std::net::Ipv6Addr>().ok().map(|a| AttrValue::Ip(IpAddr::V6(a))),
        dt::IPMASK | dt::IPV6MASK => {
            let max = if t == dt::IPMASK { 32 } else { 128 };
            match str_to_ui(prop, 10) {
                Some(v) => (v <= max).then_some(AttrValue::Mask(v as u8)),
                None => {
                    let bits = if t == dt::IPMASK {
                        prop.parse::<std::net::Ipv4Addr>().ok().and_then(|a| mask_bits(&a.octets()))
                    } else {
                        prop.parse::<std::net::Ipv6Addr>().ok().and_then(|a| mask_bits(&a.octets()))
                    };
                    bits.map(AttrValue::Mask)
                }
            }
        }
        dt::MACADDR => MacAddr::parse(prop).map(AttrValue::Mac),
        dt::MACMASK => MacAddr::parse(prop).filter(|m| mask_bits(&m.0).is_some()).map(AttrValue::Mac),
        dt::STRINGCOPY => {
            let mut end = prop.len().min(256);
            while !prop.is_char_boundary(end) {
                end -= 1;
            }
            Some(AttrValue::Text(prop[..end].to_string()))
        }
        dt::BOOLEAN => Some(AttrValue::Bool(matches!(prop, "true" | "1" | "yes"))),
        dt::STRING => match spec.kind {
            Kind::MacProto | Kind::VlanProto => {
                map_by_name(MAC_PROTO_MAP, prop).map(|v| AttrValue::Uint { value: v, datatype: dt::UINT16 })
            }
            Kind::ArpOpcode => map_by_name(ARP_OPCODE_MAP, prop).map(|v| AttrValue::Uint { value: v, datatype: dt::UINT16 }),
            Kind::IpProto => map_by_name(IP_PROTO_MAP, prop).map(|v| AttrValue::Uint { value: v, datatype: dt::UINT8_HEX }),
            Kind::State => parse_state(prop).map(AttrValue::State),
            Kind::TcpFlags => {
                let (m, f) = prop.split_once('/').unwrap_or((prop, "\u{0}"));
                match (parse_items(TCP_FLAGS_MAP, m), parse_items(TCP_FLAGS_MAP, f)) {
                    (Some(m), Some(f)) if prop.contains('/') => {
                        Some(AttrValue::TcpFlags { mask: (m & 0x3f) as u8, flags: (f & 0x3f) as u8 })
                    }
                    _ => None,
                }
            }
            _ => None,
        },
        dt::IPSETNAME => {
            const OK: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-+ ";
            if prop.len() >= 32 {
                return Err(ConfError::invalid_arg("ipset name is too long"));
            }
            if !prop.chars().all(|c| OK.contains(c)) {
                return Err(ConfError::invalid_arg("ipset name contains invalid characters"));
            }
            Some(AttrValue::IpSet(prop.to_string()))
        }
        dt::IPSETFLAGS => match parse_ipset_flags(prop) {
            Some((count, flags)) => Some(AttrValue::IpSetFlags { count, flags }),
            None => return Err(ConfError::invalid_arg("malformed ipset flags")),
        },
        _ => None,
    })
}

/// Range checks of attributes with a validator in libvirt.
fn validate_value(kind: Kind, v: &AttrValue) -> bool {
    let AttrValue::Uint { value, .. } = v else {
        return true;
    };
    match kind {
        // Every named protocol is above these limits too.
        Kind::MacProto => *value >= 0x600,
        Kind::VlanProto => *value >= 0x3c,
        Kind::VlanId => *value <= 4095,
        Kind::Dscp => *value <= 63,
        _ => true,
    }
}

fn parse_attr(spec: &AttrSpec, prop: &str) -> Result<AttrValue> {
    let illegal = || ConfError::internal(format!("{} has illegal value {prop}", spec.name));
    if let Some(var) = prop.strip_prefix('$') {
        return Ok(AttrValue::Var(VarAccess::parse(var)?));
    }
    let mut remaining = spec.types;
    let mut t = 1u32;
    while t < dt::LAST {
        if remaining & t != 0 {
            remaining ^= t;
            match try_type(spec, t, prop) {
                Ok(Some(v)) => {
                    return if validate_value(spec.kind, &v) { Ok(v) } else { Err(illegal()) };
                }
                Ok(None) if remaining != 0 => {}
                Ok(None) => return Err(illegal()),
                Err(e) if remaining != 0 => drop(e),
                Err(e) => return Err(e),
            }
        }
        t <<= 1;
    }
    Err(illegal())
}

/// (target, source) pairs of libvirt's `COPY_NEG_SIGN` fixups per protocol.
fn neg_fixups(protocol: &str) -> &'static [(&'static str, &'static str)] {
    const MACV: &[(&str, &str)] = &[("srcmacmask", "srcmacaddr"), ("dstmacmask", "dstmacaddr")];
    const STP: &[(&str, &str)] = &[
        ("srcmacmask", "srcmacaddr"),
        ("root-priority-hi", "root-priority"),
        ("root-address-mask", "root-address"),
        ("root-cost-hi", "root-cost"),
        ("sender-priority-hi", "sender-priority"),
        ("sender-address-mask", "sender-address"),
        ("port-hi", "port"),
        ("age-hi", "age"),
        ("max-age-hi", "max-age"),
        ("hello-time-hi", "hello-time"),
        ("forward-delay-hi", "forward-delay"),
    ];
    const IP: &[(&str, &str)] = &[("srcipmask", "srcipaddr"), ("dstipmask", "dstipaddr")];
    const IPV6: &[(&str, &str)] =
        &[("srcipmask", "srcipaddr"), ("dstipmask", "dstipaddr"), ("typeend", "type"), ("code", "type"), ("codeend", "type")];
    const PORTS: &[(&str, &str)] = &[
        ("srcipmask", "srcipaddr"),
        ("dstipmask", "dstipaddr"),
        ("srcipto", "srcipfrom"),
        ("dstipto", "dstipfrom"),
        ("srcportend", "srcportstart"),
        ("dstportstart", "srcportstart"),
        ("dstportend", "srcportstart"),
    ];
    const L3: &[(&str, &str)] =
        &[("srcipmask", "srcipaddr"), ("dstipmask", "dstipaddr"), ("srcipto", "srcipfrom"), ("dstipto", "dstipfrom")];
    const ICMP: &[(&str, &str)] =
        &[("srcipmask", "srcipaddr"), ("dstipmask", "dstipaddr"), ("srcipto", "srcipfrom"), ("dstipto", "dstipfrom"), ("code", "type")];
    match protocol {
        "mac" | "vlan" => MACV,
        "stp" => STP,
        "ip" => IP,
        "ipv6" => IPV6,
        "tcp" | "tcp-ipv6" | "udp" | "udp-ipv6" | "sctp" | "sctp-ipv6" => PORTS,
        "udplite" | "udplite-ipv6" | "esp" | "esp-ipv6" | "ah" | "ah-ipv6" | "all" | "all-ipv6" | "igmp" => L3,
        "icmp" | "icmpv6" => ICMP,
        _ => &[],
    }
}

impl Rule {
    fn from_node(node: Node<'_, '_>) -> Result<Rule> {
        let action = node.attribute("action").ok_or_else(|| ConfError::internal("rule node requires action attribute"))?;
        if !matches!(action, "drop" | "accept" | "reject" | "return" | "continue") {
            return Err(ConfError::unsupported_config("unknown rule action attribute value"));
        }
        let direction = node.attribute("direction").ok_or_else(|| ConfError::internal("rule node requires direction attribute"))?;
        if !matches!(direction, "in" | "out" | "inout") {
            return Err(ConfError::unsupported_config("unknown rule direction attribute value"));
        }
        let priority = node
            .attribute("priority")
            .and_then(|p| p.trim_start().parse::<i32>().ok())
            .filter(|p| (-1000..=1000).contains(p))
            .unwrap_or(500);
        let no_statematch = node.attribute("statematch").is_some_and(|s| s == "0" || s.eq_ignore_ascii_case("false"));
        let mut rule = Rule { action: action.into(), direction: direction.into(), priority, no_statematch, protocol: None };
        for c in xml::elements(node) {
            let cname = c.tag_name().name();
            let pname = match &rule.protocol {
                Some(p) if p.name == cname => p.name.clone(),
                Some(_) => continue,
                None => match PROTOCOLS.iter().find(|(n, _)| *n == cname) {
                    Some((n, _)) => n.to_string(),
                    None => continue,
                },
            };
            let tbl = table(&pname);
            let proto = rule.protocol.get_or_insert_with(|| RuleProtocol { name: pname.clone(), attrs: vec![None; tbl.len()] });
            let negate = c.attribute("match") == Some("no");
            let mut first_err = None;
            for (i, spec) in tbl.iter().enumerate() {
                let Some(prop) = c.attribute(spec.name) else {
                    continue;
                };
                match parse_attr(spec, prop) {
                    Ok(value) => proto.attrs[i] = Some(RuleAttr { name: spec.name, negate, value }),
                    Err(e) => {
                        proto.attrs[i] = None;
                        first_err.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_err {
                return Err(e);
            }
            validate_ports(proto)?;
        }
        if let Some(p) = &mut rule.protocol {
            fixup(p);
        }
        Ok(rule)
    }

    fn to_el(&self) -> El {
        let mut e = El::new("rule").attr("action", &self.action).attr("direction", &self.direction).attr("priority", self.priority);
        if self.no_statematch {
            e.push_attr("statematch", "false");
        }
        if let Some(p) = &self.protocol {
            for c in details_els(p) {
                e.push(c);
            }
        }
        e
    }
}

fn validate_ports(p: &RuleProtocol) -> Result<()> {
    let label = match p.name.as_str() {
        "ip" => "IP",
        "ipv6" => "IPv6",
        _ => return Ok(()),
    };
    let has_ports = ["srcportstart", "dstportstart", "srcportend", "dstportend"].iter().any(|n| p.get(n).is_some());
    if !has_ports {
        return Ok(());
    }
    let ok = match p.get("protocol").map(|a| &a.value) {
        Some(AttrValue::Uint { value, .. }) => matches!(value, 6 | 17 | 33 | 132),
        // A variable's value is stored as zero in libvirt, which is not allowed.
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ConfError::internal(format!(
            "{label} rule with port specification requires protocol specification with protocol to be either one of tcp(6), udp(17), dccp(33), or sctp(132)"
        )))
    }
}

fn fixup(p: &mut RuleProtocol) {
    let tbl = table(&p.name);
    let idx = |n: &str| tbl.iter().position(|s| s.name == n);
    for (target, source) in neg_fixups(&p.name) {
        let (Some(ti), Some(si)) = (idx(target), idx(source)) else {
            continue;
        };
        let neg = p.attrs[si].as_ref().is_some_and(|a| a.negate);
        if let Some(t) = p.attrs[ti].as_mut() {
            t.negate = neg;
        }
    }
    let has_ipset_fixup = !matches!(p.name.as_str(), "arp" | "rarp" | "mac" | "vlan" | "stp" | "all" | "all-ipv6");
    if has_ipset_fixup {
        if let (Some(si), Some(fi)) = (idx("ipset"), idx("ipsetflags")) {
            if p.attrs[si].is_some() && p.attrs[fi].is_none() {
                // libvirt: an ipset without flags matches on the source.
                p.attrs[fi] = Some(RuleAttr { name: "ipsetflags", negate: false, value: AttrValue::IpSetFlags { count: 1, flags: 1 } });
            } else {
                p.attrs[si] = None;
                p.attrs[fi] = None;
            }
        }
    }
}

fn format_value(spec: &AttrSpec, v: &AttrValue) -> String {
    match v {
        AttrValue::Var(va) => format!("${va}"),
        AttrValue::Uint { value, datatype } => {
            let named = match spec.kind {
                Kind::MacProto | Kind::VlanProto => map_by_value(MAC_PROTO_MAP, *value),
                Kind::ArpOpcode => return map_by_value(ARP_OPCODE_MAP, *value).map(str::to_string).unwrap_or_else(|| value.to_string()),
                Kind::IpProto => map_by_value(IP_PROTO_MAP, *value),
                _ => None,
            };
            if let Some(n) = named {
                return n.to_string();
            }
            let hex = match spec.kind {
                Kind::MacProto | Kind::VlanProto => *datatype != dt::UINT16,
                Kind::IpProto => *datatype != dt::UINT8,
                _ => matches!(*datatype, dt::UINT8_HEX | dt::UINT16_HEX | dt::UINT32_HEX),
            };
            if hex {
                format!("0x{value:x}")
            } else {
                value.to_string()
            }
        }
        AttrValue::Ip(ip) => ip.to_string(),
        AttrValue::Mask(m) => m.to_string(),
        AttrValue::Mac(m) => m.to_string(),
        AttrValue::Text(t) => t.clone(),
        AttrValue::Bool(b) => (if *b { "true" } else { "false" }).to_string(),
        AttrValue::State(f) => print_items(STATE_MAP, *f),
        AttrValue::TcpFlags { mask, flags } => {
            format!("{}/{}", tcp_flags_str(*mask), tcp_flags_str(*flags))
        }
        AttrValue::IpSet(s) => s.clone(),
        AttrValue::IpSetFlags { count, flags } => {
            (0..*count).map(|i| if flags & (1 << i) != 0 { "src" } else { "dst" }).collect::<Vec<_>>().join(",")
        }
    }
}

/// libvirt's `virNWFilterRuleDefDetailsFormat`: one element per run of attributes
/// with the same `match` setting.
fn details_els(p: &RuleProtocol) -> Vec<El> {
    let tbl = table(&p.name);
    let mut out = Vec::new();
    let mut cur: Option<El> = None;
    let mut shown_neg: Option<bool> = None;
    let mut i = 0;
    while i < tbl.len() {
        let Some(attr) = p.attrs.get(i).and_then(Option::as_ref) else {
            i += 1;
            continue;
        };
        let el = cur.get_or_insert_with(|| El::new(p.name.clone()));
        match shown_neg {
            None => {
                if attr.negate {
                    el.push_attr("match", "no");
                }
                shown_neg = Some(attr.negate);
            }
            Some(n) if n != attr.negate => {
                if let Some(done) = cur.take() {
                    out.push(done);
                }
                shown_neg = None;
                continue;
            }
            Some(_) => {}
        }
        el.push_attr(attr.name, format_value(&tbl[i], &attr.value));
        i += 1;
    }
    if let Some(done) = cur {
        out.push(done);
    }
    if out.is_empty() {
        out.push(El::new(p.name.clone()));
    }
    out
}

fn is_valid_chain(chain: &str) -> Result<()> {
    const OK: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-";
    if chain.len() > 12 {
        return Err(ConfError::invalid_arg("Name of chain is longer than 12 characters"));
    }
    if !chain.chars().all(|c| OK.contains(c)) {
        return Err(ConfError::invalid_arg("Chain name contains invalid characters"));
    }
    Ok(())
}

/// The chain-name prefix a chain is allowed by (`root` only as a whole name).
fn allowed_chain_prefix(chain: &str) -> Result<&'static str> {
    is_valid_chain(chain)?;
    const SUFFIXES: [&str; 8] = ["root", "mac", "vlan", "stp", "arp", "rarp", "ipv4", "ipv6"];
    for s in SUFFIXES {
        if s == "root" {
            if chain == s {
                return Ok(s);
            }
            if chain.starts_with(s) {
                return Err(invalid_chain(chain));
            }
        }
        if chain.starts_with(s) {
            return Ok(s);
        }
    }
    Err(invalid_chain(chain))
}

fn invalid_chain(chain: &str) -> ConfError {
    ConfError::invalid_arg(format!(
        "Invalid chain name '{chain}'. Please use a chain name called 'root' or any of the following prefixes: mac, vlan, stp, arp, rarp, ipv4, ipv6"
    ))
}

fn default_chain_priority(prefix: &str) -> i32 {
    match prefix {
        "root" => 0,
        "mac" => -800,
        "vlan" => -750,
        "ipv4" => -700,
        "ipv6" => -600,
        "arp" => -500,
        "rarp" => -400,
        _ => 0,
    }
}

fn parse_filterref(node: Node<'_, '_>) -> Result<FilterRef> {
    let filter = node.attribute("filter").ok_or_else(|| ConfError::internal("rule node requires action attribute"))?.to_string();
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    for p in xml::children(node, "parameter") {
        let (Some(name), Some(value)) = (p.attribute("name"), p.attribute("value")) else {
            continue;
        };
        let name_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let value_ok = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "_.:".contains(c));
        if !name_ok || !value_ok {
            continue;
        }
        match params.iter_mut().find(|(n, _)| n == name) {
            Some((_, vals)) => vals.push(value.to_string()),
            None => params.push((name.to_string(), vec![value.to_string()])),
        }
    }
    Ok(FilterRef { filter, params })
}

impl FilterRef {
    fn to_el(&self) -> El {
        let mut e = El::new("filterref").attr("filter", &self.filter);
        let mut sorted: Vec<&(String, Vec<String>)> = self.params.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (n, vals) in sorted {
            for v in vals {
                e.push(El::new("parameter").attr("name", n).attr("value", v));
            }
        }
        e
    }
}

impl NWFilterDef {
    /// Parse a `<filter>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "filter")?;
        Self::from_node(doc.root_element())
    }

    /// Parse from the `<filter>` element (libvirt's `virNWFilterDefParseXML`).
    pub fn from_node(node: Node<'_, '_>) -> Result<Self> {
        let name = node.attribute("name").filter(|s| !s.is_empty()).ok_or_else(|| ConfError::internal("filter has no name"))?.to_string();
        let prio_s = node.attribute("priority").filter(|s| !s.is_empty());
        let prio = match prio_s {
            None => None,
            Some(p) => {
                let v =
                    p.trim_start().parse::<i32>().map_err(|_| ConfError::invalid_arg(format!("Could not parse chain priority '{p}'")))?;
                if !(-1000..=1000).contains(&v) {
                    return Err(ConfError::invalid_arg(format!("Priority '{v}' is outside valid range of [-1000,1000]")));
                }
                Some(v)
            }
        };
        let (chain, priority) = match node.attribute("chain").filter(|s| !s.is_empty()) {
            Some(c) => {
                let prefix = allowed_chain_prefix(c)?;
                (c.to_string(), prio.unwrap_or_else(|| default_chain_priority(prefix)))
            }
            None => ("root".to_string(), 0),
        };
        let (uuid, uuid_specified) = match xml::child_string(node, "uuid") {
            None => (uuid::generate(), false),
            Some(s) => (
                uuid::parse(&s)
                    .ok_or_else(|| ConfError::Invalid { code: ErrorCode::XmlError, message: "malformed uuid element".into() })?,
                true,
            ),
        };
        let mut entries = Vec::new();
        for c in xml::elements(node) {
            match c.tag_name().name() {
                "rule" => entries.push(FilterEntry::Rule(Rule::from_node(c)?)),
                "filterref" => entries.push(FilterEntry::Ref(parse_filterref(c)?)),
                _ => {}
            }
        }
        Ok(NWFilterDef { name, uuid, uuid_specified, chain, priority, entries })
    }

    /// The canonical element tree.
    pub fn to_el(&self) -> El {
        let mut e = El::new("filter").attr("name", &self.name).attr("chain", &self.chain);
        if self.priority != 0 {
            e.push_attr("priority", self.priority);
        }
        e = e.text_child("uuid", uuid::format(&self.uuid));
        for en in &self.entries {
            match en {
                FilterEntry::Rule(r) => e.push(r.to_el()),
                FilterEntry::Ref(f) => e.push(f.to_el()),
            }
        }
        e
    }

    /// The canonical XML text.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }
}

/// `xml format --kind nwfilter`: parse and print the canonical form.
pub fn tool_format(text: &str, _opts: &ToolOptions) -> Result<String> {
    Ok(NWFilterDef::parse(text)?.format())
}
