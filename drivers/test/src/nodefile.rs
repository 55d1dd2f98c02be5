//! Loading a `<node>` description (libvirt's `testOpenFromFile` format): node CPU and
//! memory facts, domains, networks, interfaces, pools with volumes and node devices,
//! each given inline or in a file named by a `file` attribute (relative to the node
//! file). Domains may carry the `test:` namespace extensions `runstate`, `transient`
//! and `hasmanagedsave`.

use crate::domain::parse_domain;
use crate::nodedev::NodeDevObj;
use crate::state::{Cell, State};
use crate::storage::PoolObj;
use oxvirt::{DomainState, Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::interface::InterfaceDef;
use oxvirt_conf::network::NetworkDef;
use oxvirt_conf::storage::{PoolDef, VolDef, VolParseFlags};
use roxmltree::{Document, Node};
use std::path::{Path, PathBuf};

/// The namespace of the test driver's domain extensions.
const TEST_NS: &str = "http://libvirt.org/schemas/domain/test/1.0";
/// The default state's objects.
const DEFAULT_NODE: &str = include_str!("data/default_node.xml");

const D: ErrorDomain = ErrorDomain::Test;

fn xml_err(msg: impl AsRef<str>) -> Error {
    Error::new(ErrorCode::XmlError, D, msg)
}

/// The fresh `test:///default` state.
pub(crate) fn load_default() -> Result<State> {
    let mut st = State::new();
    st.cells = (0..2u64).map(|i| Cell { mem_kib: (i + 1) * 2048 * 1024, free_kib: (i + 1) * 1024 * 1024, ncpus: 8 }).collect();
    load(&mut st, DEFAULT_NODE, None)?;
    Ok(st)
}

/// A private state loaded from the node file at `path`.
pub(crate) fn load_file(path: &str) -> Result<State> {
    let text = read_node_file(path)?;
    let mut st = State::new();
    load(&mut st, &text, Some(Path::new(path)))?;
    Ok(st)
}

/// The text of the node file (or a file it references), failing as libvirt's `virXMLParse` does when the file
/// yields no document: an unreadable file is `failed to parse xml document`
/// (`VIR_ERR_XML_ERROR`); an empty file or a directory is libxml2's "Document is
/// empty" and a file of blanks its "Start tag expected", both reported as
/// `VIR_ERR_XML_DETAIL` with libvirt's `file:line: message` layout and an empty
/// context line.
fn read_node_file(path: &str) -> Result<String> {
    let detail = |line: usize, msg: &str| Error::new(ErrorCode::XmlDetail, D, format!("{path}:{line}: {msg}\n(null)\n^"));
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.raw_os_error() == Some(21) => return Err(detail(1, "Document is empty")),
        Err(_) => return Err(Error::new(ErrorCode::XmlError, D, format!("failed to parse xml document '{path}'"))),
    };
    if text.is_empty() {
        return Err(detail(1, "Document is empty"));
    }
    if text.iter().all(u8::is_ascii_whitespace) {
        let line = 1 + text.iter().filter(|b| **b == b'\n').count();
        return Err(detail(line, "Start tag expected, '<' not found"));
    }
    String::from_utf8(text).map_err(|_| Error::new(ErrorCode::XmlDetail, D, format!("{path}: input is not proper UTF-8")))
}

/// The XML text of an object element: the referenced file's content, or the element
/// itself (with the test namespace declared when it uses it).
fn object_text(node: Node<'_, '_>, src: &str, base: Option<&Path>) -> Result<String> {
    if let Some(file) = node.attribute("file") {
        let p = PathBuf::from(file);
        let full = if p.is_absolute() { p } else { base.and_then(Path::parent).map(|d| d.join(&p)).unwrap_or(p) };
        return read_node_file(&full.to_string_lossy());
    }
    let mut text = src[node.range()].to_string();
    let uses_test_ns = node.descendants().any(|n| n.tag_name().namespace() == Some(TEST_NS));
    if uses_test_ns && !text.contains("xmlns:test=") {
        if let Some(prefix) = node.lookup_prefix(TEST_NS) {
            let tag = node.tag_name().name();
            let at = 1 + tag.len();
            if text.len() >= at {
                text.insert_str(at, &format!(" xmlns:{prefix}='{TEST_NS}'"));
            }
        }
    }
    Ok(text)
}

fn parse_uint(ctx: Node<'_, '_>, path: &[&str], what: &str) -> Result<Option<u64>> {
    let mut n = ctx;
    for p in path {
        match n.children().find(|c| c.has_tag_name(*p)) {
            Some(c) => n = c,
            None => return Ok(None),
        }
    }
    let t = n.text().unwrap_or("").trim();
    t.parse::<u64>().map(Some).map_err(|_| xml_err(format!("invalid node {what} value")))
}

fn load(st: &mut State, text: &str, base: Option<&Path>) -> Result<()> {
    let doc = Document::parse(text).map_err(|e| {
        Error::new(
            ErrorCode::XmlDetail,
            D,
            format!("{}: {e}", base.map(|p| p.display().to_string()).unwrap_or_else(|| "(test driver)".into())),
        )
    })?;
    let root = doc.root_element();
    if !root.has_tag_name("node") {
        return Err(Error::new(
            ErrorCode::XmlError,
            ErrorDomain::Xml,
            format!("expecting root element of 'node', not '{}'", root.tag_name().name()),
        ));
    }
    node_info(st, root)?;
    for n in root.children().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "domain" => add_domain(st, n, text, base)?,
            "network" => {
                let def = NetworkDef::parse(&object_text(n, text, base)?).map_err(|e| e.into_vir(ErrorDomain::Network))?;
                let i = st.net_assign(def, false)?;
                st.networks[i].persistent = true;
                st.networks[i].active = true;
            }
            "interface" => {
                let def = InterfaceDef::parse(&object_text(n, text, base)?).map_err(|e| e.into_vir(ErrorDomain::Interface))?;
                let i = st.iface_assign(def);
                st.ifaces[i].active = true;
            }
            "pool" => add_pool(st, n, text, base)?,
            "device" => {
                let t = object_text(n, text, base)?;
                let d = Document::parse(&t).map_err(|e| Error::new(ErrorCode::XmlDetail, ErrorDomain::Nodedev, e.to_string()))?;
                let dev = NodeDevObj::from_node(d.root_element())?;
                st.nodedevs.retain(|x| x.name != dev.name);
                st.nodedevs.push(dev);
            }
            _ => {}
        }
    }
    Ok(())
}

fn node_info(st: &mut State, root: Node<'_, '_>) -> Result<()> {
    let ni = &mut st.node_info;
    let get = |path: &[&str], what: &str| parse_uint(root, path, what);
    if let Some(v) = get(&["cpu", "nodes"], "cpu nodes")? {
        ni.nodes = v as u32;
    }
    if let Some(v) = get(&["cpu", "sockets"], "cpu sockets")? {
        ni.sockets = v as u32;
    }
    if let Some(v) = get(&["cpu", "cores"], "cpu cores")? {
        ni.cores = v as u32;
    }
    if let Some(v) = get(&["cpu", "threads"], "cpu threads")? {
        ni.threads = v as u32;
    }
    ni.cpus = ni.cores * ni.threads * ni.sockets * ni.nodes;
    if let Some(v) = get(&["cpu", "active"], "cpu active")? {
        ni.cpus = ni.cpus.min(v as u32);
    }
    if let Some(v) = get(&["cpu", "mhz"], "cpu mhz")? {
        ni.mhz = v as u32;
    }
    if let Some(m) = root.children().find(|c| c.has_tag_name("cpu")).and_then(|c| c.children().find(|x| x.has_tag_name("model"))) {
        ni.model = m.text().unwrap_or("").trim().to_string();
    }
    if let Some(v) = get(&["memory"], "memory")? {
        ni.memory_kib = v;
    }
    Ok(())
}

fn add_domain(st: &mut State, n: Node<'_, '_>, src: &str, base: Option<&Path>) -> Result<()> {
    let text = object_text(n, src, base)?;
    let def = parse_domain(&text)?;
    let doc = Document::parse(&text).map_err(|e| xml_err(e.to_string()))?;
    let dom = doc.root_element();
    let ext = |name: &str| dom.children().find(|c| c.tag_name().namespace() == Some(TEST_NS) && c.tag_name().name() == name);
    let transient = ext("transient").is_some();
    let managed_save = ext("hasmanagedsave").is_some();
    let runstate = match ext("runstate") {
        Some(r) => {
            let v: i32 = r.text().unwrap_or("").trim().parse().map_err(|_| xml_err("invalid runstate"))?;
            DomainState::from_i32(v).ok_or_else(|| xml_err(format!("runstate '{v}' out of range'")))?
        }
        None => DomainState::Running,
    };
    if transient && runstate == DomainState::Shutoff {
        return Err(xml_err("transient domain cannot have runstate 'shutoff'"));
    }
    if managed_save && runstate != DomainState::Shutoff {
        return Err(xml_err("domain with managedsave data can only have runstate 'shutoff'"));
    }
    let (u, _) = st.domains.add(def, false, false)?;
    if let Some(o) = st.domains.get_mut(&u) {
        o.persistent = !transient;
        o.managed_save = managed_save;
    }
    if runstate != DomainState::Shutoff {
        st.start_domain(&u, 1);
    } else {
        st.stop_domain(&u, 0);
    }
    if let Some(o) = st.domains.get_mut(&u) {
        o.state = runstate;
        o.reason = 0;
        o.managed_save = managed_save;
    }
    Ok(())
}

fn add_pool(st: &mut State, n: Node<'_, '_>, src: &str, base: Option<&Path>) -> Result<()> {
    let text = object_text(n, src, base)?;
    let def = PoolDef::parse(&text).map_err(|e| e.into_vir(ErrorDomain::Storage))?;
    let i = st.pool_add(def)?;
    st.pools[i].persistent = true;
    st.pools[i].active = true;
    // Like libvirt, volumes are read from the element that replaced <pool>: the
    // referenced file's root when `file` is given, else the inline element.
    let pool_doc = Document::parse(&text).map_err(|e| xml_err(e.to_string()))?;
    let (vol_parent, vol_src) = if n.attribute("file").is_some() { (pool_doc.root_element(), text.as_str()) } else { (n, src) };
    for v in vol_parent.children().filter(|c| c.has_tag_name("volume")) {
        let vt = object_text(v, vol_src, base)?;
        let pool: &mut PoolObj = &mut st.pools[i];
        let vol = VolDef::parse(&vt, &pool.def, VolParseFlags::default()).map_err(|e| e.into_vir(ErrorDomain::Storage))?;
        pool.add_vol(vol, false);
    }
    Ok(())
}
