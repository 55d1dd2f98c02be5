//! Domain snapshot (`<domainsnapshot>`) XML: typed model, parse and canonical format,
//! following libvirt's `snapshot_conf.c`.
//!
//! The embedded `<domain>`/`<inactiveDomain>` definitions are typed
//! [`DomainDef`]s (parsed inactive, formatted inactive, as libvirt does), a disk's
//! `<source>` is the domain model's [`DiskSource`], and the hypervisor's `<cookie>` is
//! kept as an element tree.

use crate::domain::{DiskSource, DomainDef, FormatOptions, ParseOptions};
use crate::error::{ConfError, Result};
use crate::storage::FILE_FORMATS;
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use oxvirt_util::{uuid, ErrorCode};
use roxmltree::Node;

/// Snapshot states (`virDomainSnapshotState`); index 0 (`nostate`) is not valid input.
pub const SNAPSHOT_STATES: &[&str] =
    &["nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended", "disk-snapshot"];
/// Snapshot locations (`virDomainSnapshotLocation`); index 0 is `default`.
pub const LOCATIONS: &[&str] = &["default", "no", "internal", "external", "manual"];
const STORAGE_TYPES: &[&str] = &["none", "file", "block", "dir", "network", "volume", "nvme", "vhostuser", "vhostvdpa"];

/// Parse flags (libvirt's `VIR_DOMAIN_SNAPSHOT_PARSE_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotParseFlags {
    /// `REDEFINE`: the XML describes an existing snapshot (name, state, creation time
    /// and the domain are read).
    pub redefine: bool,
    /// `INTERNAL`: read `<active>` (whether this is the current snapshot).
    pub internal: bool,
    /// `OFFLINE`: the domain is not running.
    pub offline: bool,
}

/// Format options (libvirt's `VIR_DOMAIN_SNAPSHOT_FORMAT_*` and the domain UUID).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotFormatOptions {
    /// Owning domain's UUID, written as `<domain><uuid/></domain>` when the snapshot
    /// carries no full domain definition.
    pub domain_uuid: Option<String>,
    /// `INTERNAL`: write `<active>`.
    pub internal: bool,
    /// `SECURE`: include secrets (passwords) in the embedded domain definitions.
    pub secure: bool,
}

/// `<disk>` of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDisk {
    /// Disk target name (`vda`) or source path.
    pub name: String,
    /// Location (`no`, `internal`, `external`, `manual`); `None` = default.
    pub snapshot: Option<String>,
    /// Storage type (`file`, `block`, `network`, ...).
    pub disk_type: String,
    /// `<driver type=>` image format.
    pub format: Option<String>,
    /// `<driver><metadata_cache><max_size>` in bytes (0 = unset).
    pub metadata_cache_max_size: u64,
    /// `<source>`; its `path` is the file/block path (or the network name), used
    /// for validation.
    pub source: Option<DiskSource>,
    /// `<snapshotDeleteInProgress/>` (redefine only).
    pub delete_in_progress: bool,
}

/// A domain snapshot definition.
#[derive(Debug, Clone)]
pub struct SnapshotDef {
    /// Snapshot name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// State when taken (`running`, `shutoff`, `disk-snapshot`, ...).
    pub state: Option<String>,
    /// Creation time in seconds since the epoch.
    pub creation_time: Option<i64>,
    /// Parent snapshot name.
    pub parent: Option<String>,
    /// Memory location (`no`, `internal`, `external`); `None` = default.
    pub memory: Option<String>,
    /// External memory file.
    pub memory_file: Option<String>,
    /// Per-disk settings.
    pub disks: Vec<SnapshotDisk>,
    /// The domain definition at snapshot time (`<domain type=...>`).
    pub domain: Option<DomainDef>,
    /// The inactive definition of a running domain (`<inactiveDomain>`).
    pub inactive_domain: Option<DomainDef>,
    /// Hypervisor save cookie.
    pub cookie: Option<El>,
    /// `<active>` (internal parse): whether this is the current snapshot.
    pub current: bool,
}

fn location(n: Node<'_, '_>, attr: &str) -> Result<Option<String>> {
    match n.attribute(attr) {
        None => Ok(None),
        Some(v) if v != "default" && LOCATIONS.contains(&v) => Ok(Some(v.to_string())),
        Some(v) => Err(ConfError::xml(format!("Invalid value for attribute '{attr}' in element '{}': '{v}'.", n.tag_name().name()))),
    }
}

/// The attribute of `<source>` holding the path for a storage type.
fn path_attr(disk_type: &str) -> Option<&'static str> {
    match disk_type {
        "file" => Some("file"),
        "block" => Some("dev"),
        _ => None,
    }
}

/// The path (file, block) or network name of a snapshot disk source.
fn source_path<'a>(s: &'a DiskSource, disk_type: &str) -> Option<&'a str> {
    match disk_type {
        "network" => s.name.as_deref(),
        _ => s.path.as_deref(),
    }
    .filter(|p| !p.is_empty())
}

/// Parse a snapshot disk's `<source>` into the domain model's [`DiskSource`]
/// (libvirt parses it with the same `virDomainStorageSourceParse`).
fn parse_source(s: Node<'_, '_>, disk_type: &str) -> Result<DiskSource> {
    let protocol = xml::prop(s, "protocol");
    if disk_type == "network" && protocol.is_none() {
        return Err(ConfError::xml("missing network source protocol type"));
    }
    Ok(DiskSource {
        path: path_attr(disk_type).and_then(|k| xml::prop(s, k)).filter(|p| !p.is_empty()),
        protocol,
        name: xml::prop(s, "name"),
        pool: xml::prop(s, "pool"),
        volume: xml::prop(s, "volume"),
        hosts: xml::children(s, "host").map(|h| (xml::prop(h, "name"), xml::prop(h, "port"))).collect(),
        raw: Some(El::from_node(s)),
    })
}

/// `<source>` as written, with the typed path applied.
fn source_el(s: &DiskSource, disk_type: &str) -> El {
    let mut e = s.raw.clone().unwrap_or_else(|| El::new("source"));
    if let Some(k) = path_attr(disk_type) {
        match (&s.path, e.attrs.iter().position(|(a, _)| a == k)) {
            (Some(p), Some(i)) => e.attrs[i].1 = p.clone(),
            (Some(p), None) => e.attrs.insert(0, (k.to_string(), p.clone())),
            (None, Some(i)) => {
                e.attrs.remove(i);
            }
            (None, None) => {}
        }
    }
    e
}

impl SnapshotDisk {
    fn from_node(n: Node<'_, '_>, flags: SnapshotParseFlags) -> Result<Self> {
        let name = xml::prop(n, "name").ok_or_else(|| ConfError::internal("missing name from disk snapshot element"))?;
        let mut snapshot = location(n, "snapshot")?;
        let disk_type = match n.attribute("type") {
            None => "file".to_string(),
            Some(t) if t != "none" && STORAGE_TYPES.contains(&t) => t.to_string(),
            Some(t) => return Err(ConfError::xml(format!("Invalid value for attribute 'type' in element 'disk': '{t}'."))),
        };
        if disk_type == "volume" || disk_type == "dir" {
            return Err(ConfError::xml(format!("unsupported disk snapshot type '{disk_type}'")));
        }
        let delete_in_progress = flags.redefine && xml::child(n, "snapshotDeleteInProgress").is_some();
        let source = match xml::child(n, "source") {
            Some(s) => Some(parse_source(s, &disk_type)?),
            None => None,
        };
        let path = source.as_ref().and_then(|s| source_path(s, &disk_type));
        let drv = xml::child(n, "driver");
        let format = match drv.and_then(|d| d.attribute("type")).filter(|s| !s.is_empty()) {
            None => None,
            Some(f) => match FILE_FORMATS.iter().position(|x| *x == f) {
                Some(i) if i > 0 => Some(f.to_string()),
                _ => return Err(ConfError::unsupported_config(format!("unknown disk snapshot driver '{f}'"))),
            },
        };
        let mut metadata_cache_max_size = 0;
        if let Some(ms) = drv.and_then(|d| xml::child(d, "metadata_cache")).and_then(|m| xml::child(m, "max_size")) {
            let t = xml::descendant_text(ms);
            let v: u64 = t.trim().parse().map_err(|_| ConfError::xml("invalid value for element 'max_size'".to_string()))?;
            metadata_cache_max_size = xml::scale_integer(v, ms.attribute("unit"), 1, u64::MAX)?;
        }
        if matches!(disk_type.as_str(), "file" | "block") {
            if let Some(p) = path {
                if !p.starts_with('/') {
                    return Err(ConfError::xml(format!("disk snapshot image path '{p}' must be absolute")));
                }
            }
        }
        if snapshot.is_none() && (path.is_some() || format.is_some()) {
            snapshot = Some("external".into());
        }
        Ok(SnapshotDisk { name, snapshot, disk_type, format, metadata_cache_max_size, source, delete_in_progress })
    }

    /// The path of the new image (file or block device) or, for a network disk, the
    /// source name.
    pub fn path(&self) -> Option<&str> {
        self.source.as_ref().and_then(|s| source_path(s, &self.disk_type))
    }

    fn to_el(&self) -> El {
        let mut e = El::new("disk").attr("name", &self.name).attr_opt("snapshot", self.snapshot.as_deref());
        if self.delete_in_progress {
            e.push(El::new("snapshotDeleteInProgress"));
        }
        if self.path().is_some() || self.format.is_some() {
            e.push_attr("type", &self.disk_type);
            let mut d = El::new("driver").attr_opt("type", self.format.as_deref());
            if self.metadata_cache_max_size > 0 {
                d.push(El::new("metadata_cache").child(El::new("max_size").attr("unit", "bytes").text(self.metadata_cache_max_size)));
            }
            e = e.child_nonempty(d);
            if let Some(s) = &self.source {
                e = e.child_nonempty(source_el(s, &self.disk_type));
            }
        }
        e
    }
}

impl SnapshotDef {
    /// Parse a `<domainsnapshot>` document.
    pub fn parse(text: &str, flags: SnapshotParseFlags) -> Result<Self> {
        let doc = xml::parse_root(text, "domainsnapshot")?;
        Self::from_node(doc.root_element(), flags)
    }

    /// Parse from a `<domainsnapshot>` element (libvirt's `virDomainSnapshotDefParse`).
    pub fn from_node(n: Node<'_, '_>, flags: SnapshotParseFlags) -> Result<Self> {
        Self::from_node_with(n, flags, None)
    }

    /// Parse from a `<domainsnapshot>` element, reading the embedded domain
    /// definitions with the rules of `driver` (`qemu`, `test`, ...; `None` for the
    /// generic rules).
    pub fn from_node_with(n: Node<'_, '_>, flags: SnapshotParseFlags, driver: Option<&str>) -> Result<Self> {
        // libvirt reads the embedded definitions as inactive ones.
        let domain_opts = ParseOptions { driver: driver.map(str::to_string), inactive: true };
        let mut offline = flags.offline;
        let name = xml::xpath_string(n, "name");
        if name.is_none() && flags.redefine {
            return Err(ConfError::xml("a redefined snapshot must have a name"));
        }
        let mut def = SnapshotDef {
            name,
            description: xml::xpath_string(n, "description"),
            state: None,
            creation_time: None,
            parent: None,
            memory: None,
            memory_file: None,
            disks: Vec::new(),
            domain: None,
            inactive_domain: None,
            cookie: None,
            current: false,
        };
        if flags.redefine {
            let ct = xml::xpath_string(n, "creationTime")
                .and_then(|t| t.trim().parse::<i64>().ok())
                .ok_or_else(|| ConfError::internal("missing creationTime from existing snapshot"))?;
            def.creation_time = Some(ct);
            def.parent = xml::child(n, "parent").and_then(|p| xml::xpath_string(p, "name"));
            let state = xml::xpath_string(n, "state").ok_or_else(|| ConfError::xml("missing state from existing snapshot"))?;
            if state == "nostate" || !SNAPSHOT_STATES.contains(&state.as_str()) {
                return Err(ConfError::unsupported_config(format!("Invalid state '{state}' in domain snapshot XML")));
            }
            offline = state == "shutoff" || state == "disk-snapshot";
            def.state = Some(state);
            // Older snapshots carry only `<domain><uuid/></domain>`, without a type:
            // there is no definition to read then.
            if let Some(d) = xml::child(n, "domain").filter(|d| d.attribute("type").is_some_and(|t| !t.is_empty())) {
                def.domain = Some(DomainDef::from_node(d, &domain_opts)?);
            }
            if let Some(d) = xml::child(n, "inactiveDomain") {
                def.inactive_domain = Some(DomainDef::from_node(d, &domain_opts)?);
            }
        }
        if let Some(m) = xml::child(n, "memory") {
            def.memory_file = xml::prop(m, "file");
            def.memory = location(m, "snapshot")?;
            if def.memory.as_deref() == Some("manual") {
                return Err(ConfError::xml("'manual' memory snapshot mode not supported"));
            }
        }
        if def.memory.is_none() {
            if def.memory_file.is_some() {
                def.memory = Some("external".into());
            } else if flags.redefine {
                def.memory = Some(if offline { "no" } else { "internal" }.into());
            }
        }
        let external = def.memory.as_deref() == Some("external");
        if let (Some(f), false) = (&def.memory_file, external) {
            return Err(ConfError::xml(format!("memory filename '{f}' requires external snapshot")));
        }
        if def.memory_file.is_none() && external {
            return Err(ConfError::xml("external memory snapshots require a filename"));
        }
        if offline && !matches!(def.memory.as_deref(), None | Some("no")) {
            return Err(ConfError::xml("memory state cannot be saved with offline or disk-only snapshot"));
        }
        if let Some(f) = &def.memory_file {
            if !f.starts_with('/') {
                return Err(ConfError::xml(format!("memory snapshot file path ({f}) must be absolute")));
            }
        }
        if let Some(ds) = xml::child(n, "disks") {
            for d in xml::elements(ds) {
                def.disks.push(SnapshotDisk::from_node(d, flags)?);
            }
        }
        if flags.internal {
            let active = xml::xpath_string(n, "active")
                .and_then(|a| a.trim().parse::<i32>().ok())
                .ok_or_else(|| ConfError::internal("Could not find 'active' element"))?;
            def.current = active != 0;
        }
        if !offline {
            def.cookie = xml::child(n, "cookie").map(El::from_node);
        }
        Ok(def)
    }

    /// The canonical element tree.
    pub fn to_el(&self, opts: &SnapshotFormatOptions) -> El {
        let mut e = El::new("domainsnapshot")
            .text_child_opt("name", self.name.as_deref())
            .text_child_opt("description", self.description.as_deref())
            .text_child_opt("state", self.state.as_deref());
        if let Some(p) = &self.parent {
            e.push(El::new("parent").text_child("name", p));
        }
        e = e.text_child_opt("creationTime", self.creation_time.filter(|t| *t != 0));
        if let Some(m) = &self.memory {
            e.push(El::new("memory").attr("snapshot", m).attr_opt("file", self.memory_file.as_deref()));
        }
        if !self.disks.is_empty() {
            let mut d = El::new("disks");
            for disk in &self.disks {
                d.push(disk.to_el());
            }
            e.push(d);
        }
        // libvirt writes the embedded definitions as inactive ones.
        let dom_opts = FormatOptions { id: None, inactive: true, secure: opts.secure };
        if let Some(d) = &self.domain {
            e.push(d.to_el(&dom_opts));
        } else if let Some(u) = &opts.domain_uuid {
            e.push(El::new("domain").text_child("uuid", u));
        }
        if let Some(d) = &self.inactive_domain {
            let mut el = d.to_el(&dom_opts);
            el.name = "inactiveDomain".into();
            e.push(el);
        }
        if let Some(c) = &self.cookie {
            e.push(c.clone());
        }
        if opts.internal {
            e = e.text_child("active", i32::from(self.current));
        }
        e.keep_open()
    }

    /// Canonical XML text.
    pub fn format(&self, opts: &SnapshotFormatOptions) -> String {
        self.to_el(opts).to_xml()
    }
}

/// `xml format --kind snapshot`: parse and print the canonical form. Options follow
/// libvirt's snapshot xml2xml test: `--redefine`, `--internal`, `--domain-uuid U`,
/// `--creation-time T` (stands in for the clock: sets the creation time, and the name
/// when absent, of a new snapshot) and `--set-state-running`.
pub fn tool_format(text: &str, opts: &ToolOptions) -> Result<String> {
    let flags = SnapshotParseFlags { redefine: opts.redefine, internal: opts.internal, offline: false };
    let doc = xml::parse_root(text, "domainsnapshot")?;
    let mut def = SnapshotDef::from_node_with(doc.root_element(), flags, opts.driver.as_deref())?;
    if !opts.redefine {
        if let Some(t) = &opts.creation_time {
            let t: i64 = t.parse().map_err(|_| ConfError::invalid_arg(format!("invalid --creation-time '{t}'")))?;
            if t != 0 {
                def.creation_time = Some(t);
                if def.name.is_none() {
                    def.name = Some(t.to_string());
                }
            }
        }
    }
    if opts.set_state_running {
        if def.state.is_some() {
            return Err(ConfError::Invalid { code: ErrorCode::OperationInvalid, message: "snapshot already has a state".into() });
        }
        def.state = Some("running".into());
    }
    let domain_uuid = match &opts.domain_uuid {
        Some(u) => Some(uuid::format(&uuid::parse(u).ok_or_else(|| ConfError::invalid_arg(format!("invalid domain UUID '{u}'")))?)),
        None => None,
    };
    // libvirt's snapshot xml2xml test formats with `SECURE`.
    Ok(def.format(&SnapshotFormatOptions { domain_uuid, internal: opts.internal, secure: true }))
}
