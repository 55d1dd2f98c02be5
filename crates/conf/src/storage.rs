//! Storage pool (`<pool>`) and volume (`<volume>`) XML: typed models, parse and
//! canonical format, following libvirt's `storage_conf.c` rules (per-pool-type source
//! elements and format enums, volume formats that depend on the parent pool).

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use oxvirt_util::{uuid, ErrorCode};
use roxmltree::Node;

/// Namespace of the `fs`/`netfs` pool mount options.
pub const FS_NS: &str = "http://libvirt.org/schemas/storagepool/fs/1.0";
/// Namespace of the `rbd` pool config options.
pub const RBD_NS: &str = "http://libvirt.org/schemas/storagepool/rbd/1.0";

const SRC_HOST: u32 = 1;
const SRC_DEVICE: u32 = 2;
const SRC_DIR: u32 = 4;
const SRC_ADAPTER: u32 = 8;
const SRC_NAME: u32 = 16;
const SRC_IQN: u32 = 32;
const SRC_NETWORK: u32 = 64;

/// Pool types libvirt knows, in `virStoragePoolType` order.
pub const POOL_TYPES: &[&str] =
    &["dir", "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct", "scsi", "mpath", "rbd", "sheepdog", "gluster", "zfs", "vstorage"];

const FS_FORMATS: &[&str] =
    &["auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat", "hfs+", "xfs", "ocfs2", "vmfs"];
const NETFS_FORMATS: &[&str] = &["auto", "nfs", "glusterfs", "cifs"];
const DISK_FORMATS: &[&str] = &["unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2"];
const LOGICAL_FORMATS: &[&str] = &["unknown", "lvm2"];

/// Image file formats (`virStorageFileFormat`); index 0 (`none`) is not accepted on input.
pub const FILE_FORMATS: &[&str] =
    &["none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop", "cow", "qcow", "qcow2", "qed", "vmdk"];
/// Partition formats of volumes in `disk` pools (`virStorageVolFormatDisk`).
pub const DISK_VOL_FORMATS: &[&str] = &["none", "linux", "fat16", "fat32", "linux-swap", "linux-lvm", "linux-raid", "extended"];
const VOL_TYPES: &[&str] = &["file", "block", "dir", "network", "netdir", "ploop"];
const FILE_FEATURES: &[&str] = &["lazy_refcounts", "extended_l2"];

/// Which volume format enum a pool type uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VolFormats {
    None,
    File,
    Disk,
}

struct PoolTypeInfo {
    flags: u32,
    /// Source format names and the default's index.
    formats: Option<(&'static [&'static str], usize)>,
    vol: VolFormats,
}

fn type_info(t: &str) -> PoolTypeInfo {
    let (flags, formats, vol) = match t {
        "logical" => (SRC_NAME | SRC_DEVICE, Some((LOGICAL_FORMATS, 1)), VolFormats::None),
        "dir" => (0, None, VolFormats::File),
        "fs" => (SRC_DEVICE, Some((FS_FORMATS, 0)), VolFormats::File),
        "netfs" => (SRC_HOST | SRC_DIR, Some((NETFS_FORMATS, 0)), VolFormats::File),
        "iscsi" => (SRC_HOST | SRC_DEVICE | SRC_IQN, None, VolFormats::None),
        "iscsi-direct" => (SRC_HOST | SRC_DEVICE | SRC_NETWORK | SRC_IQN, None, VolFormats::None),
        "scsi" => (SRC_ADAPTER, None, VolFormats::None),
        "rbd" | "sheepdog" => (SRC_HOST | SRC_NETWORK | SRC_NAME, None, if t == "rbd" { VolFormats::File } else { VolFormats::None }),
        "gluster" => (SRC_HOST | SRC_NETWORK | SRC_NAME | SRC_DIR, None, VolFormats::File),
        "disk" => (SRC_DEVICE, Some((DISK_FORMATS, 0)), VolFormats::Disk),
        "zfs" => (SRC_NAME | SRC_DEVICE, None, VolFormats::None),
        "vstorage" => (SRC_NAME, None, VolFormats::File),
        _ => (0, None, VolFormats::None),
    };
    PoolTypeInfo { flags, formats, vol }
}

/// `<host name= port=>` of a pool source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSourceHost {
    /// Host name or address.
    pub name: String,
    /// Port; 0 means unset.
    pub port: i32,
}

/// `<freeExtent>` of a source device (filled by pool refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeExtent {
    /// First byte.
    pub start: u64,
    /// Byte after the last.
    pub end: u64,
}

/// `<device path= part_separator=>` of a pool source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSourceDevice {
    /// Device path.
    pub path: String,
    /// `part_separator` (tristate).
    pub part_separator: Option<bool>,
    /// Free extents (output only).
    pub free_extents: Vec<FreeExtent>,
}

/// PCI address (`<address domain= bus= slot= function=/>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PciAddress {
    /// PCI domain.
    pub domain: u32,
    /// Bus.
    pub bus: u32,
    /// Slot.
    pub slot: u32,
    /// Function.
    pub function: u32,
}

impl PciAddress {
    fn parse(n: Node<'_, '_>) -> Result<Self> {
        let get = |a: &str| -> Result<u32> {
            match n.attribute(a) {
                None => Ok(0),
                Some(v) => xml::parse_u64(v)
                    .and_then(|x| u32::try_from(x).ok())
                    .ok_or_else(|| ConfError::xml(format!("Invalid value for attribute '{a}' in element 'address': '{v}'"))),
            }
        };
        Ok(PciAddress { domain: get("domain")?, bus: get("bus")?, slot: get("slot")?, function: get("function")? })
    }

    /// `<address .../>` as libvirt's `virPCIDeviceAddressFormat` writes it.
    pub fn to_el(&self) -> El {
        El::new("address")
            .attr("domain", format!("0x{:04x}", self.domain))
            .attr("bus", format!("0x{:02x}", self.bus))
            .attr("slot", format!("0x{:02x}", self.slot))
            .attr("function", format!("0x{}", self.function))
    }
}

/// `<adapter>` of a scsi pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adapter {
    /// `type='scsi_host'` by name or by parent PCI address.
    ScsiHost {
        /// `name='scsi_hostN'`.
        name: Option<String>,
        /// `<parentaddr unique_id=><address/></parentaddr>`.
        parent_addr: Option<(i32, PciAddress)>,
    },
    /// `type='fc_host'`.
    FcHost {
        /// Parent HBA name.
        parent: Option<String>,
        /// Parent WWNN.
        parent_wwnn: Option<String>,
        /// Parent WWPN.
        parent_wwpn: Option<String>,
        /// Parent fabric WWN.
        parent_fabric_wwn: Option<String>,
        /// `managed` tristate.
        managed: Option<bool>,
        /// Node name.
        wwnn: Option<String>,
        /// Port name.
        wwpn: Option<String>,
    },
}

/// Secret reference (`<secret uuid=|usage= type=/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// `type` attribute as written.
    pub secret_type: Option<String>,
    /// Lookup by UUID.
    pub uuid: Option<[u8; 16]>,
    /// Lookup by usage.
    pub usage: Option<String>,
}

impl SecretRef {
    /// Parse like `virSecretLookupParseSecret`.
    pub fn parse(n: Node<'_, '_>) -> Result<Self> {
        let u = n.attribute("uuid");
        let usage = n.attribute("usage");
        match (u, usage) {
            (None, None) => Err(ConfError::xml("missing secret uuid or usage attribute")),
            (Some(_), Some(_)) => Err(ConfError::xml("either secret uuid or usage expected")),
            (Some(u), None) => {
                let uuid = uuid::parse(u).ok_or_else(|| ConfError::xml(format!("invalid secret uuid '{u}'")))?;
                Ok(SecretRef { secret_type: xml::prop(n, "type"), uuid: Some(uuid), usage: None })
            }
            (None, Some(s)) => Ok(SecretRef { secret_type: xml::prop(n, "type"), uuid: None, usage: Some(s.to_string()) }),
        }
    }

    /// `<secret .../>`.
    pub fn to_el(&self) -> El {
        El::new("secret")
            .attr_opt("type", self.secret_type.as_deref())
            .attr_opt("uuid", self.uuid.as_ref().map(uuid::format))
            .attr_opt("usage", self.usage.as_deref())
    }
}

/// `<auth type= username=><secret/></auth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthDef {
    /// `chap` or `ceph` (None for a domain disk's `<auth>` without type).
    pub auth_type: Option<String>,
    /// User name.
    pub username: String,
    /// Secret lookup.
    pub secret: SecretRef,
}

impl AuthDef {
    /// Parse like `virStorageAuthDefParse`.
    pub fn parse(n: Node<'_, '_>) -> Result<Self> {
        let username = xml::prop(n, "username").filter(|s| !s.is_empty()).ok_or_else(|| ConfError::xml("missing username for auth"))?;
        let auth_type = match n.attribute("type") {
            None | Some("") => None,
            Some(t @ ("chap" | "ceph")) => Some(t.to_string()),
            Some("none") => None,
            Some(t) => return Err(ConfError::unsupported_config(format!("unknown auth type '{t}'"))),
        };
        let s = xml::child(n, "secret").ok_or_else(|| ConfError::xml("Missing <secret> element in auth"))?;
        Ok(AuthDef { auth_type, username, secret: SecretRef::parse(s)? })
    }

    /// `<auth>` element.
    pub fn to_el(&self) -> El {
        El::new("auth").attr_opt("type", self.auth_type.as_deref()).attr("username", &self.username).child(self.secret.to_el())
    }
}

/// `<source>` of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolSource {
    /// `<host>` elements.
    pub hosts: Vec<PoolSourceHost>,
    /// `<device>` elements.
    pub devices: Vec<PoolSourceDevice>,
    /// `<dir path=>` (sanitized).
    pub dir: Option<String>,
    /// `<adapter>`.
    pub adapter: Option<Adapter>,
    /// `<name>`.
    pub name: Option<String>,
    /// `<initiator><iqn name=/></initiator>`.
    pub initiator_iqn: Option<String>,
    /// `<format type=>` (validated against the pool type's enum).
    pub format: Option<String>,
    /// `<auth>`.
    pub auth: Option<AuthDef>,
    /// `<protocol ver=>`.
    pub protocol_ver: Option<String>,
    /// `<vendor name=>`.
    pub vendor: Option<String>,
    /// `<product name=>`.
    pub product: Option<String>,
}

/// `<permissions>` of a pool target or volume.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Perms {
    /// Octal mode (`<mode>`).
    pub mode: Option<u32>,
    /// Owner uid.
    pub owner: Option<u32>,
    /// Group gid.
    pub group: Option<u32>,
    /// Security label.
    pub label: Option<String>,
}

impl Perms {
    /// Parse like `virStorageDefParsePerms`; `None` node gives all-unset.
    pub fn parse(n: Option<Node<'_, '_>>) -> Result<Self> {
        let Some(n) = n else {
            return Ok(Perms::default());
        };
        let mut p = Perms::default();
        if let Some(m) = xml::xpath_string(n, "mode") {
            let v = parse_c_long(&m, 8).filter(|v| (0..=0o777).contains(v)).ok_or_else(|| ConfError::xml("malformed octal mode"))?;
            p.mode = u32::try_from(v).ok();
        }
        let id = |name: &str, what: &str| -> Result<Option<u32>> {
            if xml::child(n, name).is_none() {
                return Ok(None);
            }
            let t = xml::child(n, name).map(xml::descendant_text).unwrap_or_default();
            let v = parse_c_long(&t, 10).ok_or_else(|| ConfError::xml(format!("malformed {what} element")))?;
            if v == -1 || v == i64::from(u32::MAX) {
                return Ok(None);
            }
            u32::try_from(v).map(Some).map_err(|_| ConfError::xml(format!("malformed {what} element")))
        };
        p.owner = id("owner", "owner")?;
        p.group = id("group", "group")?;
        p.label = xml::xpath_string(n, "label");
        Ok(p)
    }

    fn is_set(&self) -> bool {
        self.mode.is_some() || self.owner.is_some() || self.group.is_some() || self.label.is_some()
    }

    /// `<permissions>`, or `None` when nothing is set.
    pub fn to_el(&self) -> Option<El> {
        if !self.is_set() {
            return None;
        }
        Some(
            El::new("permissions")
                .text_child_opt("mode", self.mode.map(|m| format!("0{m:o}")))
                .text_child_opt("owner", self.owner)
                .text_child_opt("group", self.group)
                .text_child_opt("label", self.label.as_deref()),
        )
    }
}

/// Parse an integer like `strtol` with full consumption (leading blanks and sign
/// allowed).
fn parse_c_long(s: &str, radix: u32) -> Option<i64> {
    let t = s.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `<target>` of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolTarget {
    /// Target path (sanitized).
    pub path: String,
    /// Permissions of the target directory.
    pub perms: Perms,
}

/// Namespaced extra options of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolNamespace {
    /// `<fs:mount_opts><fs:option name=/>...` (fs and netfs pools).
    FsMountOpts(Vec<String>),
    /// `<rbd:config_opts><rbd:option name= value=/>...` (rbd pools).
    RbdConfigOpts(Vec<(String, String)>),
}

/// A storage pool definition (`<pool>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDef {
    /// Pool type (`dir`, `fs`, `netfs`, `logical`, ...).
    pub pool_type: String,
    /// Pool name.
    pub name: String,
    /// Pool UUID (generated when absent).
    pub uuid: [u8; 16],
    /// Capacity in bytes.
    pub capacity: u64,
    /// Allocation in bytes.
    pub allocation: u64,
    /// Available bytes.
    pub available: u64,
    /// `<features><cow state=/></features>`.
    pub cow: Option<bool>,
    /// `<source>`.
    pub source: PoolSource,
    /// `<target>`; absent for network pools (rbd, sheepdog, gluster, iscsi-direct).
    pub target: Option<PoolTarget>,
    /// `<refresh><volume allocation=/></refresh>` (`default` or `capacity`).
    pub refresh_allocation: Option<String>,
    /// Backend namespace data.
    pub namespace: Option<PoolNamespace>,
}

fn tristate(n: Node<'_, '_>, a: &str) -> Result<Option<bool>> {
    match n.attribute(a) {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(v) => Err(ConfError::xml(format!("Invalid value for attribute '{a}' in element '{}': '{v}'.", n.tag_name().name()))),
    }
}

fn enum_index(list: &[&str], v: &str) -> Option<usize> {
    list.iter().position(|x| *x == v)
}

impl PoolSource {
    fn parse(n: Node<'_, '_>, pool_type: &str) -> Result<Self> {
        let info = type_info(pool_type);
        let mut s = PoolSource { name: xml::xpath_string(n, "name"), ..Default::default() };
        if pool_type == "rbd" && s.name.is_none() {
            return Err(ConfError::xml("element 'name' is mandatory for RBD pool"));
        }
        let mut format_idx = 0usize;
        if let Some((list, def)) = info.formats {
            let f = xml::child(n, "format").and_then(|f| f.attribute("type"));
            format_idx = match f {
                None => def,
                Some(f) => enum_index(list, f).ok_or_else(|| ConfError::unsupported_config(format!("unknown pool format type {f}")))?,
            };
            s.format = list.get(format_idx).map(|x| x.to_string());
        }
        for h in xml::children(n, "host") {
            let name = xml::prop(h, "name").ok_or_else(|| ConfError::xml("missing storage pool host name"))?;
            let port = match h.attribute("port") {
                None => 0,
                Some(p) => p.parse::<i32>().map_err(|_| {
                    ConfError::xml(format!("Invalid value for attribute 'port' in element 'host': '{p}'. Expected integer value"))
                })?,
            };
            s.hosts.push(PoolSourceHost { name, port });
        }
        s.initiator_iqn =
            xml::child(n, "initiator").and_then(|i| xml::child(i, "iqn")).and_then(|q| xml::prop(q, "name")).filter(|s| !s.is_empty());
        for d in xml::children(n, "device") {
            let path = xml::prop(d, "path").ok_or_else(|| ConfError::xml("missing storage pool source device path"))?;
            let part_separator = tristate(d, "part_separator")?;
            // <freeExtent> is output only (filled by pool refresh), never parsed.
            s.devices.push(PoolSourceDevice { path, part_separator, free_extents: Vec::new() });
        }
        s.dir = xml::child(n, "dir").and_then(|d| d.attribute("path")).filter(|p| !p.is_empty()).map(xml::sanitize_path);
        if s.dir.is_none() && pool_type == "gluster" {
            s.dir = Some("/".into());
        }
        if let Some(a) = xml::child(n, "adapter") {
            s.adapter = parse_adapter(a)?;
        }
        if let Some(a) = xml::child(n, "auth") {
            let auth = AuthDef::parse(a)?;
            if auth.auth_type.is_none() {
                return Err(ConfError::unsupported_config("storage pool missing auth type"));
            }
            s.auth = Some(auth);
        }
        s.protocol_ver = xml::child(n, "protocol").and_then(|p| xml::prop(p, "ver")).filter(|s| !s.is_empty());
        if let Some(v) = &s.protocol_ver {
            if format_idx > 1 {
                return Err(ConfError::unsupported_config(format!(
                    "storage pool protocol ver unsupported for pool type '{}'",
                    NETFS_FORMATS.get(format_idx).copied().unwrap_or("")
                )));
            }
            if v.contains(',') {
                return Err(ConfError::Invalid {
                    code: ErrorCode::XmlDetail,
                    message: format!("storage pool protocol ver '{v}' must not contain ','"),
                });
            }
        }
        s.vendor = xml::child(n, "vendor").and_then(|p| xml::prop(p, "name")).filter(|s| !s.is_empty());
        s.product = xml::child(n, "product").and_then(|p| xml::prop(p, "name")).filter(|s| !s.is_empty());
        Ok(s)
    }

    fn to_el(&self, pool_type: &str) -> El {
        let info = type_info(pool_type);
        let mut e = El::new("source");
        if info.flags & SRC_HOST != 0 {
            for h in &self.hosts {
                e.push(El::new("host").attr("name", &h.name).attr_opt("port", (h.port != 0).then_some(h.port)));
            }
        }
        if info.flags & SRC_DEVICE != 0 {
            for d in &self.devices {
                let mut de = El::new("device").attr("path", &d.path).attr_opt("part_separator", d.part_separator.map(xml::yes_no));
                for f in &d.free_extents {
                    de.push(El::new("freeExtent").attr("start", f.start).attr("end", f.end));
                }
                e.push(de);
            }
        }
        if info.flags & SRC_DIR != 0 {
            if let Some(d) = &self.dir {
                e.push(El::new("dir").attr("path", d));
            }
        }
        if info.flags & SRC_ADAPTER != 0 {
            if let Some(a) = &self.adapter {
                e.push(adapter_el(a));
            }
        }
        if info.flags & SRC_NAME != 0 {
            e = e.text_child_opt("name", self.name.as_deref());
        }
        if info.flags & SRC_IQN != 0 {
            if let Some(q) = &self.initiator_iqn {
                e.push(El::new("initiator").child(El::new("iqn").attr("name", q)));
            }
        }
        if info.formats.is_some() {
            if let Some(f) = &self.format {
                e.push(El::new("format").attr("type", f));
            }
        }
        if let Some(a) = &self.auth {
            e.push(a.to_el());
        }
        if let Some(v) = &self.protocol_ver {
            e.push(El::new("protocol").attr("ver", v));
        }
        if let Some(v) = &self.vendor {
            e.push(El::new("vendor").attr("name", v));
        }
        if let Some(v) = &self.product {
            e.push(El::new("product").attr("name", v));
        }
        e
    }
}

fn parse_adapter(a: Node<'_, '_>) -> Result<Option<Adapter>> {
    match a.attribute("type") {
        None => {
            if a.attribute("wwnn").is_some() || a.attribute("wwpn").is_some() || a.attribute("parent").is_some() {
                return Err(ConfError::xml("Use of 'wwnn', 'wwpn', and 'parent' attributes requires use of the adapter 'type'"));
            }
            if xml::child(a, "parentaddr").is_some() {
                return Err(ConfError::xml("Use of 'parentaddr' element requires use of the adapter 'type'"));
            }
            Ok(xml::prop(a, "name").map(|name| Adapter::ScsiHost { name: Some(name), parent_addr: None }))
        }
        Some("fc_host") => Ok(Some(Adapter::FcHost {
            parent: xml::prop(a, "parent"),
            parent_wwnn: xml::prop(a, "parent_wwnn"),
            parent_wwpn: xml::prop(a, "parent_wwpn"),
            parent_fabric_wwn: xml::prop(a, "parent_fabric_wwn"),
            managed: tristate(a, "managed")?,
            wwnn: xml::prop(a, "wwnn"),
            wwpn: xml::prop(a, "wwpn"),
        })),
        Some("scsi_host") => {
            let mut parent_addr = None;
            if let Some(pa) = xml::child(a, "parentaddr") {
                let addr = xml::child(pa, "address").ok_or_else(|| ConfError::xml("Missing scsi_host PCI address element"))?;
                let addr = PciAddress::parse(addr)?;
                let uid = pa
                    .attribute("unique_id")
                    .and_then(|u| parse_c_long(u, 10))
                    .and_then(|u| i32::try_from(u).ok())
                    .filter(|u| *u >= 0)
                    .ok_or_else(|| ConfError::xml("Missing or invalid scsi adapter 'unique_id' value"))?;
                parent_addr = Some((uid, addr));
            }
            Ok(Some(Adapter::ScsiHost { name: xml::prop(a, "name"), parent_addr }))
        }
        Some(t) => Err(ConfError::xml(format!("Invalid value for attribute 'type' in element 'adapter': '{t}'."))),
    }
}

fn valid_wwn(w: &str) -> Result<()> {
    let h = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")).unwrap_or(w);
    if h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ConfError::xml(format!("Malformed wwn: {w}")))
    }
}

fn validate_adapter(a: Option<&Adapter>) -> Result<()> {
    match a {
        None => Err(ConfError::xml("missing storage pool source adapter")),
        Some(Adapter::FcHost { wwnn, wwpn, parent_wwnn, parent_wwpn, parent_fabric_wwn, .. }) => {
            let (Some(wwnn), Some(wwpn)) = (wwnn, wwpn) else {
                return Err(ConfError::xml("'wwnn' and 'wwpn' must be specified for adapter type 'fchost'"));
            };
            valid_wwn(wwnn)?;
            valid_wwn(wwpn)?;
            match (parent_wwnn, parent_wwpn) {
                (Some(n), None) => {
                    return Err(ConfError::xml(format!("when providing parent_wwnn='{n}', the parent_wwpn must also be provided")))
                }
                (None, Some(p)) => {
                    return Err(ConfError::xml(format!("when providing parent_wwpn='{p}', the parent_wwnn must also be provided")))
                }
                (Some(n), Some(p)) => {
                    valid_wwn(n)?;
                    valid_wwn(p)?;
                }
                (None, None) => {}
            }
            if let Some(f) = parent_fabric_wwn {
                valid_wwn(f)?;
            }
            Ok(())
        }
        Some(Adapter::ScsiHost { name, parent_addr }) => match (name, parent_addr) {
            (None, None) => Err(ConfError::xml("Either 'name' or 'parent' must be specified for the 'scsi_host' adapter")),
            (Some(_), Some(_)) => Err(ConfError::xml("Both 'name' and 'parent' cannot be specified for the 'scsi_host' adapter")),
            _ => Ok(()),
        },
    }
}

fn adapter_el(a: &Adapter) -> El {
    match a {
        Adapter::FcHost { parent, parent_wwnn, parent_wwpn, parent_fabric_wwn, managed, wwnn, wwpn } => El::new("adapter")
            .attr("type", "fc_host")
            .attr_opt("parent", parent.as_deref())
            .attr_opt("parent_wwnn", parent_wwnn.as_deref())
            .attr_opt("parent_wwpn", parent_wwpn.as_deref())
            .attr_opt("parent_fabric_wwn", parent_fabric_wwn.as_deref())
            .attr_opt("managed", managed.map(xml::yes_no))
            .attr("wwnn", wwnn.as_deref().unwrap_or("(null)"))
            .attr("wwpn", wwpn.as_deref().unwrap_or("(null)")),
        Adapter::ScsiHost { name: Some(n), .. } => El::new("adapter").attr("type", "scsi_host").attr("name", n),
        Adapter::ScsiHost { name: None, parent_addr } => {
            let (uid, addr) = parent_addr.unwrap_or_default();
            El::new("adapter").attr("type", "scsi_host").child(El::new("parentaddr").attr("unique_id", uid).child(addr.to_el()))
        }
    }
}

fn parse_uuid_el(n: Node<'_, '_>) -> Result<[u8; 16]> {
    match xml::xpath_string(n, "uuid") {
        None => Ok(uuid::generate()),
        Some(u) => uuid::parse(&u).ok_or_else(|| ConfError::xml("malformed uuid element")),
    }
}

impl PoolDef {
    /// Parse a `<pool>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "pool")?;
        Self::from_node(doc.root_element())
    }

    /// Parse from a `<pool>` element (libvirt's `virStoragePoolDefParseXML`).
    pub fn from_node(n: Node<'_, '_>) -> Result<Self> {
        let pool_type = match n.attribute("type") {
            None => return Err(ConfError::Missing("Missing required attribute 'type' in element 'pool'".into())),
            Some(t) if POOL_TYPES.contains(&t) => t.to_string(),
            Some(t) => return Err(ConfError::xml(format!("Invalid value for attribute 'type' in element 'pool': '{t}'."))),
        };
        let info = type_info(&pool_type);
        let mut source = match xml::child(n, "source") {
            Some(s) => PoolSource::parse(s, &pool_type)?,
            None => PoolSource {
                format: info.formats.and_then(|(l, d)| l.get(d)).map(|s| s.to_string()),
                dir: (pool_type == "gluster").then(|| "/".to_string()),
                ..Default::default()
            },
        };
        let mut name = xml::xpath_string(n, "name");
        if name.is_none() && info.flags & SRC_NAME != 0 {
            name.clone_from(&source.name);
        }
        let name = name.ok_or_else(|| ConfError::xml("missing pool source name element"))?;
        if name.contains('/') {
            return Err(ConfError::xml(format!("name {name} cannot contain '/'")));
        }
        let uuid = parse_uuid_el(n)?;
        let mut cow = None;
        if let Some(c) = xml::child(n, "features").and_then(|f| xml::child(f, "cow")) {
            cow = tristate(c, "state")?;
            if cow.is_some() && pool_type != "fs" && pool_type != "dir" {
                return Err(ConfError::Invalid {
                    code: ErrorCode::NoSupport,
                    message: "cow feature may only be used for 'fs' and 'dir' pools".into(),
                });
            }
        }
        if info.flags & SRC_HOST != 0 && source.hosts.is_empty() {
            return Err(ConfError::xml("missing storage pool source host name"));
        }
        if info.flags & SRC_DIR != 0 && source.dir.is_none() {
            return Err(ConfError::xml("missing storage pool source path"));
        }
        if info.flags & SRC_NAME != 0 && source.name.is_none() {
            source.name = Some(name.clone());
        }
        if info.flags & SRC_ADAPTER != 0 {
            validate_adapter(source.adapter.as_ref())?;
        }
        if info.flags == SRC_DEVICE && source.devices.is_empty() {
            return Err(ConfError::xml("missing storage pool source device name"));
        }
        let mut target = None;
        if info.flags & SRC_NETWORK == 0 {
            let path = match pool_type.as_str() {
                "logical" => format!("/dev/{}", source.name.as_deref().unwrap_or("")),
                "zfs" => format!("/dev/zvol/{}", source.name.as_deref().unwrap_or("")),
                _ => xml::child(n, "target")
                    .and_then(|t| xml::xpath_string(t, "path"))
                    .ok_or_else(|| ConfError::xml("missing storage pool target path"))?,
            };
            let perms = Perms::parse(xml::child(n, "target").and_then(|t| xml::child(t, "permissions")))?;
            target = Some(PoolTarget { path: xml::sanitize_path(&path), perms });
        }
        if pool_type == "iscsi-direct" && source.initiator_iqn.is_none() {
            return Err(ConfError::unsupported_config("missing initiator IQN"));
        }
        let refresh_allocation = match xml::child(n, "refresh")
            .and_then(|r| xml::child(r, "volume"))
            .and_then(|v| v.attribute("allocation"))
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(a @ ("default" | "capacity")) => Some(a.to_string()),
            Some(a) => return Err(ConfError::unsupported_config(format!("unknown storage pool volume refresh allocation type {a}"))),
        };
        let namespace = parse_pool_namespace(n, &pool_type)?;
        Ok(PoolDef { pool_type, name, uuid, capacity: 0, allocation: 0, available: 0, cow, source, target, refresh_allocation, namespace })
    }

    /// The canonical element tree.
    pub fn to_el(&self) -> El {
        let mut e = El::new("pool").attr("type", &self.pool_type);
        match &self.namespace {
            Some(PoolNamespace::FsMountOpts(_)) => e.push_attr("xmlns:fs", FS_NS),
            Some(PoolNamespace::RbdConfigOpts(_)) => e.push_attr("xmlns:rbd", RBD_NS),
            None => {}
        }
        e = e
            .text_child("name", &self.name)
            .text_child("uuid", uuid::format(&self.uuid))
            .child(El::new("capacity").attr("unit", "bytes").text(self.capacity))
            .child(El::new("allocation").attr("unit", "bytes").text(self.allocation))
            .child(El::new("available").attr("unit", "bytes").text(self.available));
        if let Some(c) = self.cow {
            e.push(El::new("features").child(El::new("cow").attr("state", xml::yes_no(c))));
        }
        e.push(self.source.to_el(&self.pool_type).keep_open());
        if !matches!(self.pool_type.as_str(), "rbd" | "sheepdog" | "gluster" | "iscsi-direct") {
            let t = self.target.clone().unwrap_or_default();
            let mut te = El::new("target");
            if !t.path.is_empty() {
                te = te.text_child("path", &t.path);
            }
            e.push(te.child_opt(t.perms.to_el()).keep_open());
        }
        if let Some(a) = &self.refresh_allocation {
            e.push(El::new("refresh").child(El::new("volume").attr("allocation", a)));
        }
        match &self.namespace {
            Some(PoolNamespace::FsMountOpts(opts)) => {
                let mut m = El::new("fs:mount_opts");
                for o in opts {
                    m.push(El::new("fs:option").attr("name", o));
                }
                e.push(m);
            }
            Some(PoolNamespace::RbdConfigOpts(opts)) => {
                let mut m = El::new("rbd:config_opts");
                for (k, v) in opts {
                    m.push(El::new("rbd:option").attr("name", k).attr("value", v));
                }
                e.push(m);
            }
            None => {}
        }
        e
    }

    /// Canonical XML text, as `virsh pool-dumpxml` prints it.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }
}

fn ns_children<'a, 'i>(n: Node<'a, 'i>, ns: &'a str, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| c.is_element() && c.tag_name().namespace() == Some(ns) && c.tag_name().name() == name)
}

fn parse_pool_namespace(n: Node<'_, '_>, pool_type: &str) -> Result<Option<PoolNamespace>> {
    match pool_type {
        "fs" | "netfs" => {
            let mut opts = Vec::new();
            for m in ns_children(n, FS_NS, "mount_opts") {
                for o in ns_children(m, FS_NS, "option") {
                    opts.push(xml::prop(o, "name").ok_or_else(|| ConfError::xml("no fs mount option name specified"))?);
                }
            }
            Ok((!opts.is_empty()).then_some(PoolNamespace::FsMountOpts(opts)))
        }
        "rbd" => {
            let mut opts = Vec::new();
            for m in ns_children(n, RBD_NS, "config_opts") {
                for o in ns_children(m, RBD_NS, "option") {
                    let name = xml::prop(o, "name").ok_or_else(|| ConfError::xml("no rbd option name specified"))?;
                    if name.is_empty() {
                        return Err(ConfError::xml("empty rbd option name specified"));
                    }
                    let value =
                        xml::prop(o, "value").ok_or_else(|| ConfError::xml(format!("no rbd option value specified for name '{name}'")))?;
                    if value.is_empty() {
                        return Err(ConfError::xml(format!("empty rbd option value specified for name '{name}'")));
                    }
                    opts.push((name, value));
                }
            }
            Ok((!opts.is_empty()).then_some(PoolNamespace::RbdConfigOpts(opts)))
        }
        _ => Ok(None),
    }
}

/// Volume parse flags (libvirt's `VIR_VOL_XML_PARSE_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VolParseFlags {
    /// `VIR_VOL_XML_PARSE_NO_CAPACITY`: `<capacity>` may be absent.
    pub no_capacity: bool,
    /// `VIR_VOL_XML_PARSE_OPT_CAPACITY`: `<capacity>` may be absent when there is a
    /// backing store.
    pub opt_capacity: bool,
}

/// `<encryption>` secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionSecret {
    /// Secret lookup (its `secret_type` is the encryption secret type, `passphrase`).
    pub secret: SecretRef,
}

/// LUKS cipher details (`<cipher>`, `<ivgen>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncryptionInfo {
    /// Cipher name.
    pub cipher_name: String,
    /// Key size.
    pub cipher_size: u32,
    /// Cipher mode.
    pub cipher_mode: Option<String>,
    /// Cipher hash.
    pub cipher_hash: Option<String>,
    /// IV generator name.
    pub ivgen_name: Option<String>,
    /// IV generator hash.
    pub ivgen_hash: Option<String>,
}

/// `<encryption format= engine=>` of a volume or disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    /// `default`, `qcow`, `luks`, `luks2`.
    pub format: String,
    /// `qemu` or `librbd`.
    pub engine: Option<String>,
    /// Secrets.
    pub secrets: Vec<EncryptionSecret>,
    /// LUKS cipher details.
    pub info: Option<EncryptionInfo>,
}

impl Encryption {
    /// Parse like `virStorageEncryptionParseNode`.
    pub fn from_node(n: Node<'_, '_>) -> Result<Self> {
        let format = match n.attribute("format") {
            None | Some("") => return Err(ConfError::xml("unknown volume encryption format")),
            Some(f @ ("default" | "qcow" | "luks" | "luks2")) => f.to_string(),
            Some(f) => return Err(ConfError::unsupported_config(format!("unknown volume encryption format type {f}"))),
        };
        let engine = match n.attribute("engine") {
            None => None,
            Some(e @ ("qemu" | "librbd")) => Some(e.to_string()),
            Some(e) => return Err(ConfError::xml(format!("Invalid value for attribute 'engine' in element 'encryption': '{e}'."))),
        };
        let mut secrets = Vec::new();
        for s in xml::children(n, "secret") {
            match s.attribute("type") {
                None | Some("") => return Err(ConfError::xml("unknown volume encryption secret type")),
                Some("passphrase") => {}
                Some(t) => return Err(ConfError::unsupported_config(format!("unknown volume encryption secret type {t}"))),
            }
            secrets.push(EncryptionSecret { secret: SecretRef::parse(s)? });
        }
        let mut info = None;
        if format == "luks" {
            if let Some(c) = xml::child(n, "cipher") {
                let cipher_name = xml::prop(c, "name").ok_or_else(|| ConfError::xml("cipher info missing 'name' attribute"))?;
                let size = c
                    .attribute("size")
                    .ok_or_else(|| ConfError::Missing("Missing required attribute 'size' in element 'cipher'".into()))?;
                let cipher_size = size.parse::<u32>().map_err(|_| {
                    ConfError::xml(format!(
                        "Invalid value for attribute 'size' in element 'cipher': '{size}'. Expected non-negative integer value"
                    ))
                })?;
                info = Some(EncryptionInfo {
                    cipher_name,
                    cipher_size,
                    cipher_mode: xml::prop(c, "mode"),
                    cipher_hash: xml::prop(c, "hash"),
                    ..Default::default()
                });
            }
            if let Some(iv) = xml::child(n, "ivgen") {
                let Some(i) = info.as_mut() else {
                    return Err(ConfError::xml("ivgen element found, but cipher is missing"));
                };
                i.ivgen_name = Some(xml::prop(iv, "name").ok_or_else(|| ConfError::xml("missing ivgen info name string"))?);
                i.ivgen_hash = xml::prop(iv, "hash");
            }
        }
        Ok(Encryption { format, engine, secrets, info })
    }

    /// `<encryption>` element.
    pub fn to_el(&self) -> El {
        let mut e = El::new("encryption").attr("format", &self.format).attr_opt("engine", self.engine.as_deref());
        for s in &self.secrets {
            e.push(s.secret.to_el());
        }
        if let (Some(i), "luks") = (&self.info, self.format.as_str()) {
            e.push(
                El::new("cipher")
                    .attr("name", &i.cipher_name)
                    .attr("size", i.cipher_size)
                    .attr_opt("mode", i.cipher_mode.as_deref())
                    .attr_opt("hash", i.cipher_hash.as_deref()),
            );
            if let Some(n) = &i.ivgen_name {
                e.push(El::new("ivgen").attr("name", n).attr_opt("hash", i.ivgen_hash.as_deref()));
            }
        }
        e.keep_open()
    }
}

/// `<target>` (or `<backingStore>`) of a volume.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolTarget {
    /// Path.
    pub path: Option<String>,
    /// Format name from the pool type's volume format enum; `None` when the pool type
    /// has no volume formats.
    pub format: Option<String>,
    /// Permissions.
    pub perms: Perms,
    /// Encryption.
    pub encryption: Option<Encryption>,
    /// qcow2 compat level.
    pub compat: Option<String>,
    /// `<nocow/>`.
    pub nocow: bool,
    /// Cluster size in bytes (0 = unset).
    pub cluster_size: u64,
    /// `<features>`: `None` when absent, else the feature names set.
    pub features: Option<Vec<String>>,
}

/// A storage volume definition (`<volume>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolDef {
    /// Volume name.
    pub name: String,
    /// Key.
    pub key: Option<String>,
    /// Volume type (`file`, `block`, `dir`, `network`, `netdir`, `ploop`); `None`
    /// means unset, formatted as `file`.
    pub vol_type: Option<String>,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Allocation in bytes.
    pub allocation: u64,
    /// Whether `<allocation>` was given.
    pub has_allocation: bool,
    /// Physical size (output only; 0 = unset).
    pub physical: u64,
    /// `<target>`.
    pub target: VolTarget,
    /// `<backingStore>`.
    pub backing_store: Option<VolTarget>,
    /// The parent pool's type, which decides the format enum.
    pub pool_type: String,
}

fn vol_format(kind: VolFormats, f: Option<&str>) -> Result<Option<String>> {
    let (list, def): (&[&str], usize) = match kind {
        VolFormats::None => return Ok(None),
        VolFormats::File => (FILE_FORMATS, 1),
        VolFormats::Disk => (DISK_VOL_FORMATS, 0),
    };
    match f {
        None => Ok(list.get(def).map(|s| s.to_string())),
        Some(f) => match enum_index(list, f) {
            Some(0) if kind == VolFormats::File => Err(ConfError::unsupported_config(format!("unknown volume format type {f}"))),
            Some(_) => Ok(Some(f.to_string())),
            None => Err(ConfError::unsupported_config(format!("unknown volume format type {f}"))),
        },
    }
}

fn storage_size(n: Node<'_, '_>) -> Result<Option<u64>> {
    let Some(v) = Some(xml::descendant_text(n)).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let t = v.trim_start();
    let num: u64 = if t.starts_with('-') { None } else { t.strip_prefix('+').unwrap_or(t).parse().ok() }
        .ok_or_else(|| ConfError::xml("malformed capacity element"))?;
    let unit = n.attribute("unit").filter(|u| !u.is_empty());
    xml::scale_integer(num, unit, 1, i64::MAX as u64).map(Some)
}

impl VolDef {
    /// Parse a `<volume>` document for a volume of `pool`.
    pub fn parse(text: &str, pool: &PoolDef, flags: VolParseFlags) -> Result<Self> {
        let doc = xml::parse_root(text, "volume")?;
        Self::from_node(doc.root_element(), pool, flags)
    }

    /// Parse from a `<volume>` element (libvirt's `virStorageVolDefParseXML`).
    pub fn from_node(n: Node<'_, '_>, pool: &PoolDef, flags: VolParseFlags) -> Result<Self> {
        let kind = type_info(&pool.pool_type).vol;
        let name = xml::xpath_string(n, "name").ok_or_else(|| ConfError::xml("missing volume name element"))?;
        let key = xml::xpath_string(n, "key");
        let vol_type = match n.attribute("type").filter(|s| !s.is_empty()) {
            None => None,
            Some(t) if VOL_TYPES.contains(&t) => Some(t.to_string()),
            Some(t) => return Err(ConfError::unsupported_config(format!("unknown volume type '{t}'"))),
        };
        let mut backing_store = None;
        if let Some(b) = xml::child(n, "backingStore") {
            if let Some(path) = xml::xpath_string(b, "path") {
                let format = vol_format(kind, xml::child(b, "format").and_then(|f| f.attribute("type")).filter(|s| !s.is_empty()))?;
                let perms = Perms::parse(xml::child(b, "permissions"))?;
                backing_store = Some(VolTarget { path: Some(path), format, perms, ..Default::default() });
            }
        }
        let capacity = match xml::child(n, "capacity") {
            Some(c) => storage_size(c)?,
            None => None,
        };
        let capacity = match capacity {
            Some(c) => c,
            None if flags.no_capacity || (flags.opt_capacity && backing_store.is_some()) => 0,
            None => return Err(ConfError::xml("missing capacity element")),
        };
        let (allocation, has_allocation) = match xml::child(n, "allocation").map(storage_size).transpose()?.flatten() {
            Some(a) => (a, true),
            None => (capacity, false),
        };
        let tn = xml::child(n, "target");
        let mut target = VolTarget {
            path: tn.and_then(|t| xml::xpath_string(t, "path")),
            format: vol_format(kind, tn.and_then(|t| xml::child(t, "format")).and_then(|f| f.attribute("type")).filter(|s| !s.is_empty()))?,
            perms: Perms::parse(tn.and_then(|t| xml::child(t, "permissions")))?,
            ..Default::default()
        };
        if let Some(t) = tn {
            if let Some(e) = xml::child(t, "encryption") {
                target.encryption = Some(Encryption::from_node(e)?);
            }
            target.compat = xml::xpath_string(t, "compat");
            if let Some(c) = &target.compat {
                let ok = c.split_once('.').is_some_and(|(a, b)| {
                    a.parse::<u32>().is_ok() && b.split('.').next().is_some_and(|x| !x.is_empty()) && parse_c_long(b, 10).is_some()
                });
                if !ok {
                    return Err(ConfError::xml("forbidden characters in 'compat' attribute"));
                }
            }
            target.nocow = xml::child(t, "nocow").is_some();
            if let Some(cs) = xml::child(t, "clusterSize") {
                let v = xml::descendant_text(cs);
                let num: u64 = v.trim().parse().map_err(|_| ConfError::xml("invalid value for element 'clusterSize'"))?;
                target.cluster_size = xml::scale_integer(num, cs.attribute("unit"), 1, u64::MAX)?;
            }
            if let Some(f) = xml::child(t, "features") {
                if target.compat.is_none() {
                    target.compat = Some("1.1".into());
                }
                let mut set = Vec::new();
                for c in xml::elements(f) {
                    let nm = c.tag_name().name();
                    if !FILE_FEATURES.contains(&nm) {
                        return Err(ConfError::unsupported_config(format!("unsupported feature {nm}")));
                    }
                    set.push(nm.to_string());
                }
                target.features = Some(set);
            }
        }
        Ok(VolDef {
            name,
            key,
            vol_type,
            capacity,
            allocation,
            has_allocation,
            physical: 0,
            target,
            backing_store,
            pool_type: pool.pool_type.clone(),
        })
    }

    fn target_el(&self, t: &VolTarget, name: &str) -> El {
        let mut e = El::new(name).text_child_opt("path", t.path.as_deref());
        if type_info(&self.pool_type).vol != VolFormats::None {
            if let Some(f) = &t.format {
                e.push(El::new("format").attr("type", f));
            }
        }
        e = e.child_opt(t.perms.to_el());
        if let Some(enc) = &t.encryption {
            e.push(enc.to_el());
        }
        e = e.text_child_opt("compat", t.compat.as_deref());
        if t.cluster_size > 0 {
            e.push(El::new("clusterSize").attr("unit", "B").text(t.cluster_size));
        }
        if let Some(fs) = &t.features {
            let mut fe = El::new("features");
            for f in FILE_FEATURES {
                if fs.iter().any(|x| x == f) {
                    fe.push(El::new(*f));
                }
            }
            e.push(fe);
        }
        e
    }

    /// The canonical element tree.
    pub fn to_el(&self) -> El {
        let mut e = El::new("volume")
            .attr("type", self.vol_type.as_deref().unwrap_or("file"))
            .text_child("name", &self.name)
            .text_child_opt("key", self.key.as_deref())
            .child(El::new("capacity").attr("unit", "bytes").text(self.capacity))
            .child(El::new("allocation").attr("unit", "bytes").text(self.allocation));
        if self.physical > 0 {
            e.push(El::new("physical").attr("unit", "bytes").text(self.physical));
        }
        e.push(self.target_el(&self.target, "target").keep_open());
        if let Some(b) = &self.backing_store {
            e.push(self.target_el(b, "backingStore").keep_open());
        }
        e
    }

    /// Canonical XML text, as `virsh vol-dumpxml` prints it.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }
}

/// `xml format --kind pool`.
pub fn tool_format_pool(text: &str, _opts: &ToolOptions) -> Result<String> {
    Ok(PoolDef::parse(text)?.format())
}

/// `xml format --kind vol --pool POOL.xml`.
pub fn tool_format_vol(text: &str, pool: Option<&str>, opts: &ToolOptions) -> Result<String> {
    let pool = pool.ok_or_else(|| ConfError::invalid_arg("volume XML needs the parent pool (--pool POOL.xml)"))?;
    let pool = PoolDef::parse(pool)?;
    let flags = VolParseFlags { no_capacity: opts.no_capacity, opt_capacity: false };
    Ok(VolDef::parse(text, &pool, flags)?.format())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_long() {
        assert_eq!(parse_c_long(" 0755", 8), Some(0o755));
        assert_eq!(parse_c_long("-1", 10), Some(-1));
        assert_eq!(parse_c_long("1x", 10), None);
    }

    #[test]
    fn sanitize() {
        assert_eq!(xml::sanitize_path("/foo///bar/"), "/foo/bar");
        assert_eq!(xml::sanitize_path("//foo"), "//foo");
        assert_eq!(xml::sanitize_path("///foo"), "/foo");
        assert_eq!(xml::sanitize_path("/"), "/");
        assert_eq!(xml::sanitize_path("gluster://a//b"), "gluster://a//b");
    }
}
