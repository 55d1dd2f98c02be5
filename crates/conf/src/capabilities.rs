//! Host and guest capabilities (`<capabilities>`): a typed model built by drivers (the
//! test driver's `virConnectGetCapabilities`), formatted like libvirt's
//! `virCapabilitiesFormatXML` (with its blank lines between sections), and parsed back
//! for round trips.
//!
//! The host CPU's model details (`<model>`, `<vendor>`, `<topology>`, `<feature>`, ...),
//! the cache/memory-bandwidth sections and NUMA interconnects are kept as element
//! trees.

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use roxmltree::Node;

/// Guest feature names in libvirt's output order (`virCapsGuestFeatureInfos`).
pub const GUEST_FEATURES: &[&str] = &["pae", "nonpae", "ia64_be", "acpi", "apic", "cpuselection", "deviceboot", "disksnapshot", "hap"];
/// Power management targets in output order.
pub const PM_TARGETS: &[&str] = &["suspend_mem", "suspend_disk", "suspend_hybrid"];

/// Output order of the host CPU definition's elements (`virCPUDefFormatBuf`).
const CPU_DEF_ORDER: &[&str] = &["model", "vendor", "microcode", "signature", "counter", "topology", "cache", "maxphysaddr", "feature"];

/// One logical CPU of a NUMA cell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CellCpu {
    /// CPU id.
    pub id: u32,
    /// Socket, die, core ids and the siblings list; `None` when topology is unknown.
    pub topology: Option<(u32, u32, u32, String)>,
}

/// A NUMA cell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumaCell {
    /// Cell id.
    pub id: u32,
    /// Memory in KiB (0 = unknown).
    pub memory_kib: u64,
    /// Pages: (size KiB, available count).
    pub pages: Vec<(u32, u64)>,
    /// Distances: (sibling id, value).
    pub distances: Vec<(u32, u32)>,
    /// Memory-side caches, as given.
    pub caches: Vec<El>,
    /// CPUs.
    pub cpus: Vec<CellCpu>,
}

/// A security model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecModel {
    /// Model name (`selinux`, `dac`, ...).
    pub model: String,
    /// Domain of interpretation.
    pub doi: String,
    /// Base labels: (virt type, label).
    pub base_labels: Vec<(String, String)>,
}

/// The `<host>` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostCaps {
    /// Host UUID.
    pub uuid: Option<[u8; 16]>,
    /// Host architecture.
    pub arch: Option<String>,
    /// Legacy `<features>` of the host CPU (`<pae/>`, `<vmx/>`, ...).
    pub cpu_features: Vec<String>,
    /// Host CPU definition elements (`<model>`, `<vendor>`, `<topology>`, ...).
    pub cpu_def: Vec<El>,
    /// Supported page sizes in KiB.
    pub page_sizes: Vec<u32>,
    /// Supported power management targets (`suspend_mem`, ...).
    pub power_management: Vec<String>,
    /// IOMMU support.
    pub iommu: bool,
    /// Offline migration support (writes `<migration_features>`).
    pub offline_migrate: bool,
    /// Live migration support.
    pub live_migrate: bool,
    /// Migration URI transports.
    pub migrate_transports: Vec<String>,
    /// Prefix of generated interface names.
    pub netprefix: Option<String>,
    /// NUMA cells; `None` means no `<topology>`.
    pub cells: Option<Vec<NumaCell>>,
    /// NUMA interconnects, as given.
    pub interconnects: Option<El>,
    /// `<cache>` section, as given.
    pub cache: Option<El>,
    /// `<memory_bandwidth>` section, as given.
    pub memory_bandwidth: Option<El>,
    /// Security models.
    pub secmodels: Vec<SecModel>,
}

/// A machine type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Machine {
    /// Machine name.
    pub name: String,
    /// Canonical name this is an alias of.
    pub canonical: Option<String>,
    /// Maximum vCPUs (0 = unset).
    pub max_cpus: u32,
    /// Deprecated machine type (only written for the arch's default machines).
    pub deprecated: bool,
}

/// Emulator, loader and machines (per arch or per domain type).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestDomainInfo {
    /// Emulator binary.
    pub emulator: Option<String>,
    /// Loader.
    pub loader: Option<String>,
    /// Machine types.
    pub machines: Vec<Machine>,
}

/// `<domain type=>` under a guest arch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestDomain {
    /// Virtualization type (`qemu`, `kvm`, `test`, ...).
    pub virt_type: String,
    /// Overrides for this virtualization type.
    pub info: GuestDomainInfo,
}

/// A guest feature.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestFeature {
    /// Feature name (one of [`GUEST_FEATURES`]).
    pub name: String,
    /// `default='on|off'`.
    pub default_on: Option<bool>,
    /// `toggle='yes|no'`.
    pub toggle: Option<bool>,
}

/// A `<guest>` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestCaps {
    /// OS type (`hvm`, `xen`, `exe`, ...).
    pub os_type: String,
    /// Architecture name.
    pub arch: String,
    /// Word size in bits.
    pub wordsize: u32,
    /// Default emulator, loader and machines.
    pub info: GuestDomainInfo,
    /// Supported virtualization types.
    pub domains: Vec<GuestDomain>,
    /// Features.
    pub features: Vec<GuestFeature>,
}

/// The whole capabilities document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CapsDef {
    /// Host section.
    pub host: HostCaps,
    /// Guests.
    pub guests: Vec<GuestCaps>,
    /// Storage pool types supported (`<pool><enum name='type'>`).
    pub pool_types: Vec<String>,
}

fn u32_attr(n: Node<'_, '_>, a: &str) -> Result<u32> {
    let v = n.attribute(a).ok_or_else(|| ConfError::Missing(format!("missing attribute '{a}' of element '{}'", n.tag_name().name())))?;
    v.trim().parse().map_err(|_| ConfError::xml(format!("invalid value '{v}' for attribute '{a}' of element '{}'", n.tag_name().name())))
}

fn text_u64(n: Node<'_, '_>) -> Result<u64> {
    let t = xml::descendant_text(n);
    t.trim().parse().map_err(|_| ConfError::xml(format!("invalid value '{t}' for element '{}'", n.tag_name().name())))
}

fn parse_info(n: Node<'_, '_>) -> GuestDomainInfo {
    GuestDomainInfo {
        emulator: xml::xpath_string(n, "emulator"),
        loader: xml::xpath_string(n, "loader"),
        machines: xml::children(n, "machine")
            .map(|m| Machine {
                name: xml::descendant_text(m),
                canonical: xml::prop(m, "canonical"),
                max_cpus: m.attribute("maxCpus").and_then(|v| v.parse().ok()).unwrap_or(0),
                deprecated: m.attribute("deprecated") == Some("yes"),
            })
            .collect(),
    }
}

fn info_els(e: &mut El, info: &GuestDomainInfo, with_deprecated: bool) {
    if let Some(x) = &info.emulator {
        e.push(El::new("emulator").text(x));
    }
    if let Some(x) = &info.loader {
        e.push(El::new("loader").text(x));
    }
    for m in &info.machines {
        e.push(
            El::new("machine")
                .attr_opt("canonical", m.canonical.as_deref())
                .attr_opt("maxCpus", (m.max_cpus > 0).then_some(m.max_cpus))
                .attr_opt("deprecated", (with_deprecated && m.deprecated).then_some("yes"))
                .text(&m.name),
        );
    }
}

impl HostCaps {
    fn from_node(h: Node<'_, '_>) -> Result<Self> {
        let mut host = HostCaps {
            uuid: match xml::xpath_string(h, "uuid") {
                Some(u) => Some(oxvirt_util::uuid::parse(&u).ok_or_else(|| ConfError::xml("malformed uuid element"))?),
                None => None,
            },
            ..Default::default()
        };
        if let Some(c) = xml::child(h, "cpu") {
            for e in xml::elements(c) {
                match e.tag_name().name() {
                    "arch" => host.arch = Some(xml::descendant_text(e)),
                    "features" => host.cpu_features = xml::elements(e).map(|f| f.tag_name().name().to_string()).collect(),
                    "pages" => host.page_sizes.push(u32_attr(e, "size")?),
                    _ => host.cpu_def.push(El::from_node(e)),
                }
            }
        }
        if let Some(pm) = xml::child(h, "power_management") {
            host.power_management = xml::elements(pm).map(|f| f.tag_name().name().to_string()).collect();
        }
        host.iommu = xml::child(h, "iommu").and_then(|i| i.attribute("support")) == Some("yes");
        if let Some(m) = xml::child(h, "migration_features") {
            host.offline_migrate = true;
            host.live_migrate = xml::child(m, "live").is_some();
            if let Some(t) = xml::child(m, "uri_transports") {
                host.migrate_transports = xml::children(t, "uri_transport").map(xml::descendant_text).collect();
            }
        }
        host.netprefix = xml::xpath_string(h, "netprefix");
        if let Some(t) = xml::child(h, "topology") {
            let mut cells = Vec::new();
            if let Some(cs) = xml::child(t, "cells") {
                for c in xml::children(cs, "cell") {
                    let mut cell = NumaCell { id: u32_attr(c, "id")?, ..Default::default() };
                    for e in xml::elements(c) {
                        match e.tag_name().name() {
                            "memory" => cell.memory_kib = text_u64(e)?,
                            "pages" => cell.pages.push((u32_attr(e, "size")?, text_u64(e)?)),
                            "distances" => {
                                for s in xml::children(e, "sibling") {
                                    cell.distances.push((u32_attr(s, "id")?, u32_attr(s, "value")?));
                                }
                            }
                            "cache" => cell.caches.push(El::from_node(e)),
                            "cpus" => {
                                for p in xml::children(e, "cpu") {
                                    let topology = match p.attribute("siblings") {
                                        Some(s) => Some((
                                            u32_attr(p, "socket_id")?,
                                            p.attribute("die_id").and_then(|v| v.parse().ok()).unwrap_or(0),
                                            u32_attr(p, "core_id")?,
                                            s.to_string(),
                                        )),
                                        None => None,
                                    };
                                    cell.cpus.push(CellCpu { id: u32_attr(p, "id")?, topology });
                                }
                            }
                            _ => {}
                        }
                    }
                    cells.push(cell);
                }
            }
            host.cells = Some(cells);
            host.interconnects = xml::child(t, "interconnects").map(El::from_node);
        }
        host.cache = xml::child(h, "cache").map(El::from_node);
        host.memory_bandwidth = xml::child(h, "memory_bandwidth").map(El::from_node);
        for s in xml::children(h, "secmodel") {
            host.secmodels.push(SecModel {
                model: xml::child(s, "model").map(xml::descendant_text).unwrap_or_default(),
                doi: xml::child(s, "doi").map(xml::descendant_text).unwrap_or_default(),
                base_labels: xml::children(s, "baselabel")
                    .map(|b| (b.attribute("type").unwrap_or("").to_string(), xml::descendant_text(b)))
                    .collect(),
            });
        }
        Ok(host)
    }

    /// `<host>` element; `None` when there is nothing to write (no UUID, arch, power
    /// management or IOMMU).
    pub fn to_el(&self) -> Option<El> {
        if self.uuid.is_none() && self.arch.is_none() && self.power_management.is_empty() && !self.iommu {
            return None;
        }
        let mut h = El::new("host");
        if let Some(u) = &self.uuid {
            h = h.text_child("uuid", oxvirt_util::uuid::format(u));
        }
        let mut cpu = El::new("cpu").text_child_opt("arch", self.arch.as_deref());
        if !self.cpu_features.is_empty() {
            let mut f = El::new("features");
            for x in &self.cpu_features {
                f.push(El::new(x.as_str()));
            }
            cpu.push(f);
        }
        let rank = |e: &El| CPU_DEF_ORDER.iter().position(|n| *n == e.name).unwrap_or(CPU_DEF_ORDER.len());
        let mut def: Vec<&El> = self.cpu_def.iter().collect();
        def.sort_by_key(|e| rank(e));
        for e in def {
            cpu.push(e.clone());
        }
        for p in &self.page_sizes {
            cpu.push(El::new("pages").attr("unit", "KiB").attr("size", p));
        }
        h.push(cpu.keep_open());
        let mut pm = El::new("power_management");
        for t in PM_TARGETS {
            if self.power_management.iter().any(|x| x == t) {
                pm.push(El::new(*t));
            }
        }
        h.push(pm);
        h.push(El::new("iommu").attr("support", xml::yes_no(self.iommu)));
        if self.offline_migrate {
            let mut m = El::new("migration_features");
            if self.live_migrate {
                m.push(El::new("live"));
            }
            if !self.migrate_transports.is_empty() {
                let mut t = El::new("uri_transports");
                for x in &self.migrate_transports {
                    t.push(El::new("uri_transport").text(x));
                }
                m.push(t);
            }
            h.push(m.keep_open());
        }
        h = h.text_child_opt("netprefix", self.netprefix.as_deref());
        if let Some(cells) = &self.cells {
            let mut cs = El::new("cells").attr("num", cells.len());
            for c in cells {
                let mut ce = El::new("cell").attr("id", c.id);
                if c.memory_kib != 0 {
                    ce.push(El::new("memory").attr("unit", "KiB").text(c.memory_kib));
                }
                for (size, avail) in &c.pages {
                    ce.push(El::new("pages").attr("unit", "KiB").attr("size", size).text(avail));
                }
                if !c.distances.is_empty() {
                    let mut d = El::new("distances");
                    for (id, v) in &c.distances {
                        d.push(El::new("sibling").attr("id", id).attr("value", v));
                    }
                    ce.push(d);
                }
                for x in &c.caches {
                    ce.push(x.clone());
                }
                let mut cpus = El::new("cpus").attr("num", c.cpus.len());
                for p in &c.cpus {
                    let mut pe = El::new("cpu").attr("id", p.id);
                    if let Some((s, d, core, sib)) = &p.topology {
                        pe = pe.attr("socket_id", s).attr("die_id", d).attr("core_id", core).attr("siblings", sib);
                    }
                    cpus.push(pe);
                }
                ce.push(cpus);
                cs.push(ce.keep_open());
            }
            h.push(El::new("topology").child(cs.keep_open()).child_opt(self.interconnects.clone()));
        }
        h = h.child_opt(self.cache.clone()).child_opt(self.memory_bandwidth.clone());
        for s in &self.secmodels {
            let mut se = El::new("secmodel").text_child("model", &s.model).text_child("doi", &s.doi);
            for (t, l) in &s.base_labels {
                se.push(El::new("baselabel").attr("type", t).text(l));
            }
            h.push(se);
        }
        Some(h)
    }
}

impl GuestCaps {
    fn from_node(g: Node<'_, '_>) -> Result<Self> {
        let mut guest = GuestCaps {
            os_type: xml::xpath_string(g, "os_type").ok_or_else(|| ConfError::xml("missing os_type element of guest"))?,
            ..Default::default()
        };
        if let Some(a) = xml::child(g, "arch") {
            guest.arch = xml::prop(a, "name").unwrap_or_default();
            guest.wordsize = xml::xpath_string(a, "wordsize").and_then(|w| w.trim().parse().ok()).unwrap_or(0);
            guest.info = parse_info(a);
            for d in xml::children(a, "domain") {
                guest.domains.push(GuestDomain { virt_type: xml::prop(d, "type").unwrap_or_default(), info: parse_info(d) });
            }
        }
        if let Some(f) = xml::child(g, "features") {
            for e in xml::elements(f) {
                guest.features.push(GuestFeature {
                    name: e.tag_name().name().to_string(),
                    default_on: e.attribute("default").map(|v| v == "on"),
                    toggle: e.attribute("toggle").map(|v| v == "yes"),
                });
            }
        }
        Ok(guest)
    }

    /// `<guest>` element.
    pub fn to_el(&self) -> El {
        let mut a = El::new("arch");
        if !self.arch.is_empty() {
            a.push_attr("name", &self.arch);
        }
        a.push(El::new("wordsize").text(self.wordsize));
        info_els(&mut a, &self.info, true);
        for d in &self.domains {
            let mut de = El::new("domain").attr("type", &d.virt_type);
            info_els(&mut de, &d.info, false);
            a.push(de);
        }
        let mut f = El::new("features");
        for name in GUEST_FEATURES {
            if let Some(x) = self.features.iter().find(|x| x.name == *name) {
                f.push(
                    El::new(*name)
                        .attr_opt("default", x.default_on.map(|b| if b { "on" } else { "off" }))
                        .attr_opt("toggle", x.toggle.map(xml::yes_no)),
                );
            }
        }
        El::new("guest").text_child("os_type", &self.os_type).child(a).child_nonempty(f)
    }
}

impl CapsDef {
    /// Parse a `<capabilities>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "capabilities")?;
        Self::from_node(doc.root_element())
    }

    /// Parse from a `<capabilities>` element.
    pub fn from_node(n: Node<'_, '_>) -> Result<Self> {
        let host = match xml::child(n, "host") {
            Some(h) => HostCaps::from_node(h)?,
            None => HostCaps::default(),
        };
        let mut guests = Vec::new();
        for g in xml::children(n, "guest") {
            guests.push(GuestCaps::from_node(g)?);
        }
        let pool_types = xml::child(n, "pool")
            .and_then(|p| xml::children(p, "enum").find(|e| e.attribute("name") == Some("type")))
            .map(|e| xml::children(e, "value").map(xml::descendant_text).collect())
            .unwrap_or_default();
        Ok(CapsDef { host, guests, pool_types })
    }

    /// The element tree (without libvirt's blank separator lines; see [`CapsDef::format`]).
    pub fn to_el(&self) -> El {
        let mut e = El::new("capabilities").child_opt(self.host.to_el());
        for g in &self.guests {
            e.push(g.to_el());
        }
        if let Some(p) = self.pool_el() {
            e.push(p);
        }
        e.keep_open()
    }

    fn pool_el(&self) -> Option<El> {
        if self.pool_types.is_empty() {
            return None;
        }
        let mut en = El::new("enum").attr("name", "type");
        for t in &self.pool_types {
            en.push(El::new("value").text(t));
        }
        Some(El::new("pool").child(en))
    }

    /// Canonical XML text as `virsh capabilities` prints it: a blank line after the
    /// opening tag and after each top-level section.
    pub fn format(&self) -> String {
        let mut out = String::from("<capabilities>\n\n");
        let sections = self.host.to_el().into_iter().chain(self.guests.iter().map(GuestCaps::to_el)).chain(self.pool_el());
        for s in sections {
            s.write(&mut out, 1);
            out.push('\n');
        }
        out.push_str("</capabilities>\n");
        out
    }
}

/// `xml format --kind capabilities`: parse and print the canonical form.
pub fn tool_format(text: &str, _opts: &ToolOptions) -> Result<String> {
    Ok(CapsDef::parse(text)?.format())
}

/// libvirt's architecture names (`virArch`, `virArchFromString`; "none" is not one).
pub const ARCHES: &[&str] = &[
    "alpha",
    "armv6l",
    "armv7l",
    "armv7b",
    "aarch64",
    "cris",
    "i686",
    "ia64",
    "lm32",
    "m68k",
    "microblaze",
    "microblazeel",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "openrisc",
    "parisc",
    "parisc64",
    "ppc",
    "ppcle",
    "ppc64",
    "ppc64le",
    "ppcemb",
    "riscv32",
    "riscv64",
    "s390",
    "s390x",
    "sh4",
    "sh4eb",
    "sparc",
    "sparc64",
    "unicore32",
    "x86_64",
    "xtensa",
    "xtensaeb",
];
