//! `domain` XML: typed model, parse and canonical format (libvirt's
//! `virDomainDefParseXML` / `virDomainDefFormatInternal`).
//!
//! The parts drivers act on (identity, memory, vCPUs, OS boot, lifecycle actions and
//! the devices in [`devices`]) are typed. Sections that are only stored and echoed
//! (features, cpu, clock, numatune, sysinfo, seclabel, ...) are kept as [`El`] trees
//! and written back at libvirt's canonical position, so output follows libvirt's
//! element order whatever the input order.

pub mod common;
pub mod devices;

pub use common::{Address, DeviceInfo};
pub use devices::parse_device;
pub use devices::{
    Chardev, ChrSource, Controller, Devices, Disk, DiskSource, Graphics, GraphicsListen, Input, Interface, Memballoon, Redirdev, Rng,
    Smartcard, Video,
};

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use common::{rank_in, sort_children};
use oxvirt_util::ErrorCode;
use roxmltree::Node;

/// Options of [`DomainDef::parse`].
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Driver whose rules apply (`test`, `qemu`, ...); `None` for generic rules.
    pub driver: Option<String>,
    /// Parse as a persistent (inactive) definition: live-only data is ignored.
    pub inactive: bool,
}

/// Options of [`DomainDef::format`].
#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    /// Domain id to print (`id='N'` on the root), for a running domain.
    pub id: Option<i32>,
    /// Format the inactive definition (no live-only data).
    pub inactive: bool,
    /// Include secrets (passwords).
    pub secure: bool,
}

/// `<os>`.
#[derive(Debug, Clone, Default)]
pub struct DomainOs {
    /// `<type>` text: hvm, xen, linux, exe, uml, xenpvh.
    pub os_type: String,
    /// `<type arch=..>`.
    pub arch: Option<String>,
    /// `<type machine=..>`.
    pub machine: Option<String>,
    /// `<os firmware=..>` (bios, efi).
    pub firmware: Option<String>,
    /// `<boot dev=..>` in order (hd, cdrom, fd, network).
    pub boot_devs: Vec<String>,
    /// `<kernel>`.
    pub kernel: Option<String>,
    /// `<initrd>`.
    pub initrd: Option<String>,
    /// `<cmdline>`.
    pub cmdline: Option<String>,
    /// `<dtb>`.
    pub dtb: Option<String>,
    /// `<root>`.
    pub root: Option<String>,
    /// `<loader>` kept as written.
    pub loader: Option<El>,
    /// `<nvram>` kept as written.
    pub nvram: Option<El>,
    /// Other children (firmware, init*, acpi, bootmenu, bios, smbios) as written.
    pub other: Vec<El>,
    /// `<bootloader>` (outside `<os>`).
    pub bootloader: Option<String>,
    /// `<bootloader_args>`.
    pub bootloader_args: Option<String>,
}

impl DomainOs {
    /// Path of the firmware loader, if any.
    pub fn loader_path(&self) -> Option<String> {
        self.loader.as_ref().map(|l| {
            l.children
                .iter()
                .filter_map(|c| match c {
                    xml::XNode::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect::<String>()
        })
    }
}

/// `<cachetune>` / `<memorytune>` under `<cputune>`.
#[derive(Debug, Clone)]
pub struct ResctrlTune {
    /// Element name (cachetune or memorytune).
    pub kind: String,
    /// vCPUs it applies to.
    pub vcpus: Vec<u32>,
    /// `id=` (live only).
    pub id: Option<String>,
    /// Children (cache/node, then monitor).
    pub children: Vec<El>,
}

/// The whole domain definition.
#[derive(Debug, Clone)]
pub struct DomainDef {
    /// `<domain type=..>`.
    pub virt_type: String,
    /// `<domain id=..>` of a running domain, when parsed from live XML.
    pub id: Option<i32>,
    /// `<name>`.
    pub name: String,
    /// `<uuid>` (generated when absent).
    pub uuid: [u8; 16],
    /// `<genid>` kept as written.
    pub genid: Option<El>,
    /// `<title>`.
    pub title: Option<String>,
    /// `<description>`.
    pub description: Option<String>,
    /// `<metadata>`, sanitized as libvirt keeps it ([`crate::metadata`]).
    pub metadata: Option<El>,
    /// Total memory in KiB.
    pub memory_kib: u64,
    /// `dumpCore=` on `<memory>`.
    pub memory_dump_core: Option<String>,
    /// Balloon target in KiB.
    pub current_memory_kib: u64,
    /// `<maxMemory>` in KiB.
    pub max_memory_kib: Option<u64>,
    /// `<maxMemory slots=..>`.
    pub max_memory_slots: Option<u32>,
    /// Maximum vCPUs.
    pub vcpus_max: u32,
    /// Online vCPUs.
    pub vcpus_current: u32,
    /// `<vcpu placement=..>` (static, auto).
    pub vcpu_placement: String,
    /// `<vcpu cpuset=..>`.
    pub vcpu_cpuset: Option<String>,
    /// `<cputune>` children other than cachetune/memorytune, as written.
    pub cputune: Vec<El>,
    /// cachetune and memorytune entries.
    pub resctrl: Vec<ResctrlTune>,
    /// `<os>`.
    pub os: DomainOs,
    /// `<features>` as written.
    pub features: Option<El>,
    /// `<cpu>` as written.
    pub cpu: Option<El>,
    /// `<clock>` as written (`offset='utc'` when absent).
    pub clock: Option<El>,
    /// `<on_poweroff>`.
    pub on_poweroff: String,
    /// `<on_reboot>`.
    pub on_reboot: String,
    /// `<on_crash>`.
    pub on_crash: String,
    /// `<on_lockfailure>`.
    pub on_lockfailure: Option<String>,
    /// `<devices>`.
    pub devices: Devices,
    /// Other top-level elements (blkiotune, memtune, memoryBacking, iothreads,
    /// numatune, resource, sysinfo, idmap, pm, perf, seclabel, keywrap,
    /// launchSecurity, namespaced driver data), emitted at their canonical position.
    pub other: Vec<El>,
    /// Namespace declarations to put on the root (`xmlns:qemu`).
    pub namespaces: Vec<(String, String)>,
}

const TOP_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

const OS_ORDER: &[&str] = &[
    "type",
    "firmware",
    "init",
    "initarg",
    "initenv",
    "initdir",
    "inituser",
    "initgroup",
    "loader",
    "nvram",
    "kernel",
    "initrd",
    "cmdline",
    "dtb",
    "root",
    "acpi",
    "boot",
    "bootmenu",
    "bios",
    "smbios",
];

const CPUTUNE_ORDER: &[&str] = &[
    "shares",
    "period",
    "quota",
    "global_period",
    "global_quota",
    "emulator_period",
    "emulator_quota",
    "iothread_period",
    "iothread_quota",
    "vcpupin",
    "emulatorpin",
    "iothreadpin",
    "emulatorsched",
    "vcpusched",
    "iothreadsched",
    "cachetune",
    "memorytune",
];

/// libvirt's virtualization type names (`virDomainVirtType`), index = enum value.
pub const VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
    "hvf",
];

const QEMU_NS: &str = "http://libvirt.org/schemas/domain/qemu/1.0";

/// Parse a libvirt bitmap (`0-3,^2,5`).
pub fn parse_bitmap(s: &str) -> Option<Vec<u32>> {
    let mut set: Vec<u32> = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let (neg, p) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (a, b) = match p.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let v = p.parse::<u32>().ok()?;
                (v, v)
            }
        };
        if b < a || b > 65535 || (neg && a != b) {
            return None;
        }
        for v in a..=b {
            if neg {
                set.retain(|x| *x != v);
            } else if !set.contains(&v) {
                set.push(v);
            }
        }
    }
    set.sort_unstable();
    Some(set)
}

/// Format a sorted set as libvirt does (`0-1,3`).
pub fn format_bitmap(set: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < set.len() {
        let start = set[i];
        let mut end = start;
        while i + 1 < set.len() && set[i + 1] == end + 1 {
            i += 1;
            end = set[i];
        }
        out.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    out.join(",")
}

fn parse_memory(node: Node<'_, '_>) -> Result<u64> {
    let name = node.tag_name().name();
    let text = xml::text_of(node);
    let v = text
        .trim()
        .parse::<u64>()
        .map_err(|_| ConfError::xml(format!("Invalid value '{}' for element or attribute './{name}[1]'", text.trim())))?;
    let unit = node.attribute("unit").unwrap_or("KiB");
    let bytes = xml::scale_to_bytes(v, Some(unit)).map_err(|e| ConfError::xml(format!("invalid value for element '{name}': {e}")))?;
    Ok(bytes.div_ceil(1024))
}

fn lifecycle(node: Node<'_, '_>, name: &str, default: &str, allowed: &[&str]) -> Result<String> {
    match xml::child_text(node, name) {
        None => Ok(default.to_string()),
        Some(v) if allowed.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(ConfError::internal(format!("unknown {name} action: {v}"))),
    }
}

impl DomainDef {
    /// Put the `<cputune>` children in libvirt's canonical order
    /// (`virDomainCputuneDefFormat`: shares, periods and quotas, pins by vCPU, then the
    /// schedulers), after a driver added or changed one.
    pub fn sort_cputune(&mut self) {
        fn rank(e: &El) -> (u32, u32) {
            const ORDER: [&str; 15] = [
                "shares",
                "global_period",
                "global_quota",
                "period",
                "quota",
                "emulator_period",
                "emulator_quota",
                "iothread_period",
                "iothread_quota",
                "vcpupin",
                "emulatorpin",
                "iothreadpin",
                "vcpusched",
                "iothreadsched",
                "emulatorsched",
            ];
            let rank = ORDER.iter().position(|n| *n == e.name).map_or(ORDER.len() as u32, |p| p as u32);
            let vcpu = || e.attrs.iter().find(|(k, _)| k == "vcpu").and_then(|(_, v)| v.parse().ok()).unwrap_or(u32::MAX);
            (rank, if e.name == "vcpupin" { vcpu() } else { 0 })
        }
        self.cputune.sort_by_key(rank);
    }

    /// Parse a `<domain>` document.
    pub fn parse(text: &str, opts: &ParseOptions) -> Result<DomainDef> {
        let doc = xml::parse_root(text, "domain")?;
        DomainDef::from_node(doc.root_element(), opts)
    }

    /// Parse a `<domain>` document without adding the implicit devices (controllers
    /// for disk addresses, virtio-serial, ccid); a hypervisor driver that adds its
    /// default devices first calls [`Devices::add_implicit`] itself afterwards.
    pub fn parse_without_implicit(text: &str, opts: &ParseOptions) -> Result<DomainDef> {
        let doc = xml::parse_root(text, "domain")?;
        DomainDef::from_node_inner(doc.root_element(), opts, false)
    }

    /// Parse a `<domain>` element (also when embedded in snapshot XML).
    pub fn from_node(node: Node<'_, '_>, opts: &ParseOptions) -> Result<DomainDef> {
        DomainDef::from_node_inner(node, opts, true)
    }

    fn from_node_inner(node: Node<'_, '_>, opts: &ParseOptions, implicit: bool) -> Result<DomainDef> {
        let inactive = opts.inactive;
        let virt_type = match node.attribute("type") {
            None => return Err(ConfError::internal("missing domain type attribute")),
            Some(t) if VIRT_TYPES.contains(&t) => t.to_string(),
            Some(t) => return Err(ConfError::unsupported_config(format!("invalid domain type {t}"))),
        };
        let id = if inactive {
            None
        } else {
            match node.attribute("id") {
                None => None,
                Some(v) => Some(
                    v.parse::<i32>()
                        .ok()
                        .filter(|i| *i >= 0)
                        .ok_or_else(|| ConfError::xml(format!("Invalid value for attribute 'id' in element 'domain': '{v}'.")))?,
                ),
            }
        };
        let name = xml::child_text(node, "name")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfError::Invalid { code: ErrorCode::NoName, message: "missing name information".into() })?;
        if name.contains('/') {
            return Err(ConfError::xml(format!("name {name} cannot contain '/'")));
        }
        let uuid = match xml::child_text(node, "uuid").filter(|s| !s.is_empty()) {
            None => oxvirt_util::uuid::generate(),
            Some(u) => oxvirt_util::uuid::parse(&u).ok_or_else(|| ConfError::internal("malformed uuid element"))?,
        };
        let title = xml::child_text(node, "title").filter(|s| !s.is_empty());
        if title.as_deref().is_some_and(|t| t.contains('\n')) {
            return Err(ConfError::xml("Domain title can't contain newlines"));
        }
        let description = xml::child_text(node, "description").filter(|s| !s.is_empty());

        // os
        let os_node = xml::child(node, "os");
        let type_node = os_node.and_then(|o| xml::child(o, "type"));
        let bootloader = xml::child_text(node, "bootloader").filter(|s| !s.is_empty());
        let mut os_type = match type_node.map(|t| xml::text_of(t).trim().to_string()).filter(|s| !s.is_empty()) {
            Some(t) => t,
            None if bootloader.is_some() => "xen".to_string(),
            None => "hvm".to_string(),
        };
        if os_type == "linux" {
            os_type = "xen".into();
        }
        if !["hvm", "xen", "linux", "exe", "uml", "xenpvh"].contains(&os_type.as_str()) {
            return Err(ConfError::Invalid { code: ErrorCode::OsType, message: format!("unknown OS type '{os_type}'") });
        }
        let hvm = os_type == "hvm";
        let mut os = DomainOs {
            arch: type_node.and_then(|t| xml::attr_s(t, "arch")).or_else(|| hvm.then(|| "x86_64".to_string())),
            machine: type_node.and_then(|t| xml::attr_s(t, "machine")),
            os_type,
            bootloader,
            bootloader_args: xml::child_text(node, "bootloader_args").filter(|s| !s.is_empty()),
            ..Default::default()
        };
        if let Some(o) = os_node {
            os.firmware = common::check_enum(o, "firmware", &["bios", "efi"])?;
            for b in xml::children(o, "boot") {
                let dev = common::req_attr(b, "dev")?;
                if !["fd", "cdrom", "hd", "network"].contains(&dev.as_str()) {
                    return Err(ConfError::xml(format!("unknown boot device '{dev}'")));
                }
                if os.boot_devs.len() < 4 {
                    os.boot_devs.push(dev);
                }
            }
            let t = |n: &str| xml::child_text(o, n).filter(|s| !s.is_empty());
            os.kernel = t("kernel");
            os.initrd = t("initrd");
            os.cmdline = t("cmdline");
            os.dtb = t("dtb");
            os.root = t("root");
            os.loader = xml::child(o, "loader").map(El::from_node);
            os.nvram = xml::child(o, "nvram").map(El::from_node);
            os.other = common::other_children(o, &["type", "boot", "kernel", "initrd", "cmdline", "dtb", "root", "loader", "nvram"]);
        }

        // memory
        let memory_node = xml::child(node, "memory");
        let mut memory_kib = match memory_node {
            Some(m) => parse_memory(m)?,
            None => 0,
        };
        if memory_kib == 0 {
            let numa_total: u64 = xml::child(node, "cpu")
                .and_then(|c| xml::child(c, "numa"))
                .map(|n| {
                    xml::children(n, "cell")
                        .filter_map(|c| {
                            let v = c.attribute("memory")?.parse::<u64>().ok()?;
                            xml::scale_to_bytes(v, Some(c.attribute("unit").unwrap_or("KiB"))).ok().map(|b| b.div_ceil(1024))
                        })
                        .sum()
                })
                .unwrap_or(0);
            memory_kib = numa_total;
        }
        if memory_kib == 0 {
            return Err(ConfError::xml("Memory size must be specified via <memory> or in the <numa> configuration"));
        }
        let mut current_memory_kib = match xml::child(node, "currentMemory") {
            Some(m) => parse_memory(m)?,
            None => 0,
        };
        if current_memory_kib == 0 || current_memory_kib > memory_kib {
            current_memory_kib = memory_kib;
        }
        let (max_memory_kib, max_memory_slots) = match xml::child(node, "maxMemory") {
            Some(m) => {
                let slots = xml::attr_u64(m, "slots")?
                    .ok_or_else(|| ConfError::xml("Missing required attribute 'slots' in element 'maxMemory'"))?;
                (Some(parse_memory(m)?), Some(slots.min(u32::MAX as u64) as u32))
            }
            None => (None, None),
        };

        // vcpus
        let (mut vcpus_max, mut vcpus_current, mut vcpu_placement, mut vcpu_cpuset) = (1u32, 1u32, "static".to_string(), None);
        if let Some(v) = xml::child(node, "vcpu") {
            let t = xml::text_of(v);
            let t = t.trim();
            if !t.is_empty() {
                vcpus_max =
                    t.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| ConfError::xml("maximum vcpus count must be an integer"))?;
            }
            vcpus_current = match xml::attr_u64(v, "current")? {
                Some(c) if c as u32 > vcpus_max || c > u32::MAX as u64 => {
                    return Err(ConfError::invalid_arg(format!("maxvcpus must not be less than current vcpus ({vcpus_max} < {c})")))
                }
                Some(0) | None => vcpus_max,
                Some(c) => c as u32,
            };
            if let Some(p) = common::check_enum(v, "placement", &["static", "auto"])? {
                vcpu_placement = p;
            }
            vcpu_cpuset = xml::attr_s(v, "cpuset");
            if let Some(cs) = &vcpu_cpuset {
                if parse_bitmap(cs).is_none() {
                    return Err(ConfError::xml(format!("Invalid value of 'cpuset': {cs}")));
                }
            }
        }

        // cputune
        let mut cputune = Vec::new();
        let mut resctrl: Vec<ResctrlTune> = Vec::new();
        if let Some(ct) = xml::child(node, "cputune") {
            for c in xml::elements(ct) {
                match c.tag_name().name() {
                    "cachetune" | "memorytune" => {
                        if let Some(t) = parse_resctrl(c, vcpus_max, inactive, &resctrl)? {
                            resctrl.push(t);
                        }
                    }
                    _ => cputune.push(El::from_node(c)),
                }
            }
        }

        let on = |n: &str, d: &str| lifecycle(node, n, d, &["destroy", "restart", "rename-restart", "preserve"]);
        let on_poweroff = on("on_poweroff", "destroy")?;
        let on_reboot = on("on_reboot", "restart")?;
        let on_crash = lifecycle(
            node,
            "on_crash",
            "destroy",
            &["destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart"],
        )?;
        let on_lockfailure = match xml::child_text(node, "on_lockfailure") {
            None => None,
            Some(v) if ["poweroff", "restart", "pause", "ignore"].contains(&v.as_str()) => Some(v),
            Some(v) => return Err(ConfError::internal(format!("unknown on_lockfailure action: {v}"))),
        };

        let mut devices = match xml::child(node, "devices") {
            Some(d) => Devices::parse(d, inactive, hvm)?,
            None => Devices::default(),
        };
        if implicit {
            devices.add_implicit();
        }

        // Boot order: per-device boot and <os><boot> exclude each other.
        let mut orders: Vec<u32> = Vec::new();
        for o in devices.disks.iter().filter_map(|d| d.info.boot_order).chain(devices.interfaces.iter().filter_map(|i| i.info.boot_order)) {
            if orders.contains(&o) {
                return Err(ConfError::unsupported_config(format!("boot order '{o}' used for more than one device")));
            }
            orders.push(o);
        }
        let other_boot = devices.other.iter().any(|e| e.children.iter().any(|c| matches!(c, xml::XNode::El(b) if b.name == "boot")));
        if hvm {
            if !os.boot_devs.is_empty() && (!orders.is_empty() || other_boot) {
                return Err(ConfError::unsupported_config("per-device boot elements cannot be used together with os/boot elements"));
            }
            if os.boot_devs.is_empty() && orders.is_empty() && !other_boot {
                os.boot_devs.push("hd".into());
            }
        }

        // Everything else at top level.
        let qemu_ns = opts.driver.as_deref() == Some("qemu");
        let mut other = Vec::new();
        let mut namespaces = Vec::new();
        const KEEP: &[&str] = &[
            "blkiotune",
            "memtune",
            "memoryBacking",
            "vcpus",
            "iothreads",
            "iothreadids",
            "defaultiothread",
            "numatune",
            "resource",
            "sysinfo",
            "idmap",
            "pm",
            "perf",
            "seclabel",
            "keywrap",
            "launchSecurity",
        ];
        for c in xml::elements(node) {
            match c.tag_name().namespace() {
                Some(ns) if qemu_ns && ns == QEMU_NS => {
                    let mut e = El::from_node(c);
                    e.attrs.retain(|(k, _)| !k.starts_with("xmlns"));
                    if namespaces.is_empty() {
                        let p = node.lookup_prefix(ns).unwrap_or("qemu").to_string();
                        namespaces.push((format!("xmlns:{p}"), ns.to_string()));
                    }
                    other.push(e);
                }
                Some(_) => {}
                None if KEEP.contains(&c.tag_name().name()) => other.push(El::from_node(c)),
                None => {}
            }
        }

        let def = DomainDef {
            virt_type,
            id,
            name,
            uuid,
            genid: xml::child(node, "genid").map(El::from_node),
            title,
            description,
            metadata: xml::child(node, "metadata").map(crate::metadata::from_node),
            memory_kib,
            memory_dump_core: memory_node.and_then(|m| xml::attr_s(m, "dumpCore")),
            current_memory_kib,
            max_memory_kib,
            max_memory_slots,
            vcpus_max,
            vcpus_current,
            vcpu_placement,
            vcpu_cpuset,
            cputune,
            resctrl,
            os,
            features: xml::child(node, "features").map(El::from_node),
            cpu: xml::child(node, "cpu").map(El::from_node).filter(|c| !c.is_empty()),
            clock: xml::child(node, "clock").map(El::from_node),
            on_poweroff,
            on_reboot,
            on_crash,
            on_lockfailure,
            devices,
            other,
            namespaces,
        };
        Ok(def)
    }

    /// The `<domain>` element (`id='N'` only with `opts.id` on active output).
    pub fn to_el(&self, opts: &FormatOptions) -> El {
        let mut root = El::new("domain").attr("type", &self.virt_type);
        if let (Some(id), false) = (opts.id, opts.inactive) {
            root.push_attr("id", id);
        }
        for (k, v) in &self.namespaces {
            root.push_attr(k.clone(), v);
        }
        let mut kids: Vec<El> = Vec::new();
        kids.push(El::new("name").text(&self.name));
        kids.push(El::new("uuid").text(oxvirt_util::uuid::format(&self.uuid)));
        kids.extend(self.genid.clone());
        if let Some(t) = &self.title {
            kids.push(El::new("title").text(t));
        }
        if let Some(d) = &self.description {
            kids.push(El::new("description").text(d));
        }
        kids.extend(self.metadata.as_ref().map(crate::metadata::format));
        if let (Some(m), Some(s)) = (self.max_memory_kib, self.max_memory_slots) {
            kids.push(El::new("maxMemory").attr("slots", s).attr("unit", "KiB").text(m));
        }
        kids.push(El::new("memory").attr_opt("dumpCore", self.memory_dump_core.as_deref()).attr("unit", "KiB").text(self.memory_kib));
        kids.push(El::new("currentMemory").attr("unit", "KiB").text(self.current_memory_kib));
        let mut vcpu = El::new("vcpu").attr("placement", &self.vcpu_placement).attr_opt("cpuset", self.vcpu_cpuset.as_deref());
        if self.vcpus_current != self.vcpus_max {
            vcpu.push_attr("current", self.vcpus_current);
        }
        kids.push(vcpu.text(self.vcpus_max));
        if !self.cputune.is_empty() || !self.resctrl.is_empty() {
            let mut ct = El::new("cputune");
            for c in &self.cputune {
                ct.push(c.clone());
            }
            for r in &self.resctrl {
                let mut e = El::new(&r.kind).attr("vcpus", format_bitmap(&r.vcpus));
                if !opts.inactive {
                    e = e.attr_opt("id", r.id.as_deref());
                }
                for c in &r.children {
                    e.push(c.clone());
                }
                ct.push(e);
            }
            sort_children(&mut ct, |n| rank_in(CPUTUNE_ORDER, n));
            kids.push(ct);
        }
        if let Some(b) = &self.os.bootloader {
            kids.push(El::new("bootloader").text(b));
            if let Some(a) = &self.os.bootloader_args {
                kids.push(El::new("bootloader_args").text(a));
            }
        }
        kids.push(self.os_el());
        kids.extend(self.features.clone());
        kids.extend(self.cpu.clone());
        kids.push(self.clock.clone().unwrap_or_else(|| El::new("clock").attr("offset", "utc")));
        kids.push(El::new("on_poweroff").text(&self.on_poweroff));
        kids.push(El::new("on_reboot").text(&self.on_reboot));
        kids.push(El::new("on_crash").text(&self.on_crash));
        if let Some(l) = &self.on_lockfailure {
            kids.push(El::new("on_lockfailure").text(l));
        }
        let mut devices = self.devices.to_el(opts.inactive);
        if !opts.secure {
            // Passwords only appear in secure output (VIR_DOMAIN_XML_SECURE).
            for c in devices.children.iter_mut() {
                if let xml::XNode::El(g) = c {
                    if g.name == "graphics" {
                        g.attrs.retain(|(k, _)| k != "passwd");
                    }
                }
            }
        }
        kids.push(devices);
        kids.extend(self.other.iter().cloned());
        kids.sort_by_key(|e| rank_in(TOP_ORDER, &e.name));
        for k in kids {
            root.push(k);
        }
        root
    }

    fn os_el(&self) -> El {
        let os = &self.os;
        let mut e = El::new("os").attr_opt("firmware", os.firmware.as_deref());
        e.push(El::new("type").attr_opt("arch", os.arch.as_deref()).attr_opt("machine", os.machine.as_deref()).text(&os.os_type));
        e = e.child_opt(os.loader.clone()).child_opt(os.nvram.clone());
        e = e
            .text_child_opt("kernel", os.kernel.as_deref())
            .text_child_opt("initrd", os.initrd.as_deref())
            .text_child_opt("cmdline", os.cmdline.as_deref())
            .text_child_opt("dtb", os.dtb.as_deref())
            .text_child_opt("root", os.root.as_deref());
        if os.bootloader.is_none() {
            for b in &os.boot_devs {
                e.push(El::new("boot").attr("dev", b));
            }
        }
        for o in &os.other {
            e.push(o.clone());
        }
        sort_children(&mut e, |n| rank_in(OS_ORDER, n));
        e
    }

    /// Canonical XML text.
    pub fn format(&self, opts: &FormatOptions) -> String {
        self.to_el(opts).to_xml()
    }
}

fn parse_resctrl(node: Node<'_, '_>, maxvcpus: u32, inactive: bool, prev: &[ResctrlTune]) -> Result<Option<ResctrlTune>> {
    let kind = node.tag_name().name().to_string();
    let vs = common::req_attr(node, "vcpus")?;
    let mut vcpus = parse_bitmap(&vs).ok_or_else(|| ConfError::xml(format!("Invalid {kind} attribute 'vcpus' value '{vs}'")))?;
    vcpus.retain(|v| *v < maxvcpus);
    if vcpus.is_empty() {
        return Ok(None);
    }
    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut main = Vec::new();
    let mut monitors = Vec::new();
    for c in xml::elements(node) {
        match (kind.as_str(), c.tag_name().name()) {
            ("cachetune", "cache") => {
                let key = (
                    c.attribute("id").unwrap_or("").to_string(),
                    c.attribute("level").unwrap_or("").to_string(),
                    c.attribute("type").unwrap_or("").to_string(),
                );
                for a in ["id", "level", "type", "size"] {
                    common::req_attr(c, a)?;
                }
                common::check_enum(c, "type", &["both", "code", "data"])?;
                if seen.contains(&key) {
                    return Err(ConfError::xml(format!(
                        "Cache with id {} and level {} and type {} is already defined",
                        key.0, key.1, key.2
                    )));
                }
                seen.push(key);
                main.push(El::from_node(c));
            }
            ("memorytune", "node") => {
                let key = (c.attribute("id").unwrap_or("").to_string(), String::new(), String::new());
                common::req_attr(c, "id")?;
                common::req_attr(c, "bandwidth")?;
                if seen.contains(&key) {
                    return Err(ConfError::xml(format!("Memory bandwidth for node {} is already defined", key.0)));
                }
                seen.push(key);
                main.push(El::from_node(c));
            }
            (_, "monitor") => {
                let mv = common::req_attr(c, "vcpus")?;
                let set = parse_bitmap(&mv).ok_or_else(|| ConfError::xml(format!("Invalid monitor attribute 'vcpus' value '{mv}'")))?;
                if set.iter().any(|v| !vcpus.contains(v)) {
                    return Err(ConfError::xml("Monitor vcpus conflicts with allocation"));
                }
                monitors.push(El::from_node(c));
            }
            _ => {}
        }
    }
    for p in prev {
        let overlap = p.vcpus.iter().any(|v| vcpus.contains(v));
        if !overlap {
            continue;
        }
        if p.kind == kind || p.vcpus != vcpus {
            return Err(ConfError::xml(format!("Overlapping vcpus in {kind}s")));
        }
    }
    main.extend(monitors);
    let id = if inactive { None } else { xml::attr_s(node, "id") };
    Ok(Some(ResctrlTune { kind, vcpus, id, children: main }))
}

/// `xml format --kind domain`: parse and print the canonical form.
pub fn tool_format(text: &str, opts: &ToolOptions) -> Result<String> {
    let popts = ParseOptions { driver: opts.driver.clone(), inactive: opts.inactive };
    let def = DomainDef::parse(text, &popts)?;
    let fopts = FormatOptions { id: def.id, inactive: opts.inactive, secure: true };
    Ok(def.format(&fopts))
}
