//! Device hotplug commands: `attach-device`, `detach-device`, `detach-device-alias`,
//! `update-device`, `attach-disk`, `detach-disk`, `attach-interface`,
//! `detach-interface` and `change-media`, with virsh 9.0's options, the XML virsh
//! builds (or finds in the domain's XML), its choice between the legacy and the flags
//! calls, and its messages.

use super::*;
use crate::parse::{b, s, CmdDef, CmdResult, Needs, DOMAIN, FILE, REQ};
use oxvirt::DomainXmlFlags;
use oxvirt_conf::xml::{El, XNode};

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "domain", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

const PERSISTENT: crate::parse::OptDef = b("persistent", "make live change persistent");
const CONFIG: crate::parse::OptDef = b("config", "affect next boot");
const LIVE: crate::parse::OptDef = b("live", "affect running domain");
const CURRENT: crate::parse::OptDef = b("current", "affect current domain");

/// `VIR_DOMAIN_AFFECT_LIVE`.
const AFFECT_LIVE: u32 = 1;
/// `VIR_DOMAIN_AFFECT_CONFIG`.
const AFFECT_CONFIG: u32 = 2;
/// `VIR_DOMAIN_DEVICE_MODIFY_FORCE`.
const MODIFY_FORCE: u32 = 4;

/// The hotplug commands.
pub const CMDS: &[CmdDef] = &[
    cmd!("attach-device", "attach device from an XML file", &[DOMAIN, FILE, PERSISTENT, CONFIG, LIVE, CURRENT], cmd_attach_device),
    cmd!(
        "attach-disk",
        "attach disk device",
        &[
            DOMAIN,
            crate::parse::OptDef {
                flags: REQ | crate::parse::EMPTY_OK,
                ..crate::parse::d("source", "source of disk device or name of network disk")
            },
            crate::parse::d("target", "target of disk device"),
            s("targetbus", 0, "target bus of disk device"),
            s("driver", 0, "driver of disk device"),
            s("subdriver", 0, "subdriver of disk device"),
            s("cache", 0, "cache mode of disk device"),
            s("type", 0, "target device type"),
            crate::parse::alias("shareable", "mode=shareable"),
            s("mode", 0, "mode of device reading and writing"),
            s("sourcetype", 0, "type of source (block|file|network)"),
            s("serial", 0, "serial of disk device"),
            s("alias", 0, "custom alias name of disk device"),
            b("print-xml", "print XML document rather than attach the disk"),
            PERSISTENT,
            CONFIG,
            LIVE,
            CURRENT,
        ],
        cmd_attach_disk
    ),
    cmd!(
        "attach-interface",
        "attach network interface",
        &[
            DOMAIN,
            crate::parse::d("type", "network interface type"),
            crate::parse::d("source", "source of network interface"),
            s("target", 0, "target network name"),
            s("mac", 0, "MAC address"),
            s("script", 0, "script used to bridge network interface"),
            s("model", 0, "model type"),
            s("alias", 0, "custom alias name of interface device"),
            PERSISTENT,
            CONFIG,
            LIVE,
            CURRENT,
            b("print-xml", "print XML document rather than attach the interface"),
            b("managed", "libvirt will automatically detach/attach the device from/to host"),
        ],
        cmd_attach_interface
    ),
    cmd!(
        "change-media",
        "Change media of CD or floppy drive",
        &[
            DOMAIN,
            crate::parse::d("path", "Fully-qualified path or target of disk device"),
            s("source", 0, "source of the media"),
            b("eject", "Eject the media"),
            b("insert", "Insert the media"),
            b("update", "Update the media"),
            b("current", "can be either or both of --live and --config, depends on implementation hypervisor driver"),
            b("live", "alter live configuration of running domain"),
            b("config", "alter persistent configuration, effect observed on next boot"),
            b("force", "force media changing"),
            b("print-xml", "print XML document rather than change media"),
            b("block", "source media is a block device"),
        ],
        cmd_change_media
    ),
    cmd!("detach-device", "detach device from an XML file", &[DOMAIN, FILE, PERSISTENT, CONFIG, LIVE, CURRENT], cmd_detach_device),
    cmd!(
        "detach-device-alias",
        "detach device from an alias",
        &[DOMAIN, crate::parse::d("alias", "device alias"), CONFIG, LIVE, CURRENT],
        cmd_detach_device_alias
    ),
    cmd!(
        "detach-disk",
        "detach disk device",
        &[
            DOMAIN,
            crate::parse::d("target", "target of disk device"),
            PERSISTENT,
            CONFIG,
            LIVE,
            CURRENT,
            b("print-xml", "print XML document rather than detach the disk"),
        ],
        cmd_detach_disk
    ),
    cmd!(
        "detach-interface",
        "detach network interface",
        &[
            DOMAIN,
            crate::parse::d("type", "network interface type"),
            s("mac", 0, "MAC address"),
            PERSISTENT,
            CONFIG,
            LIVE,
            CURRENT,
            b("print-xml", "print XML document rather than detach the interface"),
        ],
        cmd_detach_interface
    ),
    cmd!(
        "update-device",
        "update device from an XML file",
        &[DOMAIN, FILE, PERSISTENT, CONFIG, LIVE, CURRENT, b("force", "force device update")],
        cmd_update_device
    ),
];

/// virsh's flags of the attach/detach commands: (flags, current, persistent).
fn modify_flags(ctl: &Ctl, cmd: &Cmd, with_persistent: bool) -> Result<(u32, bool, bool), Fail> {
    if with_persistent {
        exclusive(ctl, cmd, "persistent", "current")?;
    }
    exclusive(ctl, cmd, "current", "live")?;
    exclusive(ctl, cmd, "current", "config")?;
    let persistent = with_persistent && cmd.has("persistent");
    let mut flags = 0;
    if cmd.has("config") || persistent {
        flags |= AFFECT_CONFIG;
    }
    if cmd.has("live") {
        flags |= AFFECT_LIVE;
    }
    Ok((flags, cmd.has("current"), persistent))
}

/// `--persistent` on a running domain also affects it live.
fn persistent_live(dom: &Domain, persistent: bool, flags: &mut u32) {
    if persistent && dom.is_active().unwrap_or(false) {
        *flags |= AFFECT_LIVE;
    }
}

fn attach(dom: &Domain, xml: &str, flags: u32, current: bool) -> oxvirt::Result<()> {
    if flags != 0 || current {
        dom.attach_device_flags(xml, flags)
    } else {
        dom.attach_device(xml)
    }
}

fn detach(dom: &Domain, xml: &str, flags: u32, current: bool) -> oxvirt::Result<()> {
    if flags != 0 || current {
        dom.detach_device_flags(xml, flags)
    } else {
        dom.detach_device(xml)
    }
}

fn cmd_attach_device(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, current, persistent) = modify_flags(ctl, cmd, true)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let from = req_str(ctl, cmd, "file")?;
    persistent_live(&dom, persistent, &mut flags);
    let xml = read_file(ctl, from)?;
    attach(&dom, &xml, flags, current).map_err(|e| ctl.fail(format!("Failed to attach device from {from}"), e))?;
    ctl.extra("Device attached successfully\n");
    Ok(())
}

fn cmd_detach_device(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, current, persistent) = modify_flags(ctl, cmd, true)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let from = req_str(ctl, cmd, "file")?;
    persistent_live(&dom, persistent, &mut flags);
    let xml = read_file(ctl, from)?;
    detach(&dom, &xml, flags, current).map_err(|e| ctl.fail(format!("Failed to detach device from {from}"), e))?;
    ctl.extra("Device detached successfully\n");
    Ok(())
}

fn cmd_detach_device_alias(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (flags, _, _) = modify_flags(ctl, cmd, false)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let alias = req_str(ctl, cmd, "alias")?;
    dom.detach_device_alias(alias, flags).map_err(|e| ctl.fail(format!("Failed to detach device with alias {alias}"), e))?;
    ctl.extra("Device detach request sent successfully\n");
    Ok(())
}

fn cmd_update_device(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, _, persistent) = modify_flags(ctl, cmd, true)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let from = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, from)?;
    persistent_live(&dom, persistent, &mut flags);
    if cmd.has("force") {
        flags |= MODIFY_FORCE;
    }
    dom.update_device_flags(&xml, flags).map_err(|e| ctl.fail(format!("Failed to update device from {from}"), e))?;
    ctl.extra("Device updated successfully\n");
    Ok(())
}

fn esc(v: &str) -> String {
    oxvirt_conf::xml::escape(v)
}

fn cmd_attach_disk(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, current, persistent) = modify_flags(ctl, cmd, true)?;
    let opt = |n: &str| opt_str(ctl, cmd, n);
    let source = cmd.string("source").map_err(|m| ctl.fail_msg(m))?.unwrap_or("");
    let target = req_str(ctl, cmd, "target")?;
    let (driver, subdriver, cache, device, mode) = (opt("driver")?, opt("subdriver")?, opt("cache")?, opt("type")?, opt("mode")?);
    let (stype, serial, alias, targetbus) = (opt("sourcetype")?, opt("serial")?, opt("alias")?, opt("targetbus")?);
    let block = match stype {
        Some("file") => false,
        Some("block") => true,
        Some(other) => return Err(ctl.fail_msg(format!("Unknown source type: '{other}'"))),
        None => {
            use std::os::unix::fs::FileTypeExt;
            !matches!(driver, Some("file" | "tap"))
                && !source.is_empty()
                && std::fs::metadata(source).is_ok_and(|m| m.file_type().is_block_device())
        }
    };
    if let Some(m) = mode.filter(|m| *m != "readonly" && *m != "shareable") {
        return Err(ctl.fail_msg(format!("No support for {m} in command 'attach-disk'")));
    }
    let mut xml = format!("<disk type='{}'", if block { "block" } else { "file" });
    if let Some(d) = device {
        xml.push_str(&format!(" device='{}'", esc(d)));
    }
    xml.push_str(">\n");
    let drv: String = [("name", driver), ("type", subdriver), ("cache", cache)]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!(" {k}='{}'", esc(v))))
        .collect();
    if !drv.is_empty() {
        xml.push_str(&format!("  <driver{drv}/>\n"));
    }
    if !source.is_empty() {
        xml.push_str(&format!("  <source {}='{}'/>\n", if block { "dev" } else { "file" }, esc(source)));
    }
    xml.push_str(&format!("  <target dev='{target}'"));
    if let Some(b) = targetbus {
        xml.push_str(&format!(" bus='{b}'"));
    }
    xml.push_str("/>\n");
    if let Some(m) = mode {
        xml.push_str(&format!("  <{m}/>\n"));
    }
    if let Some(s) = serial {
        xml.push_str(&format!("  <serial>{s}</serial>\n"));
    }
    if let Some(a) = alias {
        xml.push_str(&format!("  <alias name='{a}'/>\n"));
    }
    xml.push_str("</disk>\n");
    if cmd.has("print-xml") {
        ctl.print(&xml);
        return Ok(());
    }
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    persistent_live(&dom, persistent, &mut flags);
    attach(&dom, &xml, flags, current).map_err(|e| ctl.fail("Failed to attach disk", e))?;
    ctl.extra("Disk attached successfully\n");
    Ok(())
}

fn cmd_attach_interface(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, current, persistent) = modify_flags(ctl, cmd, true)?;
    let typ = req_str(ctl, cmd, "type")?;
    let source = req_str(ctl, cmd, "source")?;
    let opt = |n: &str| opt_str(ctl, cmd, n);
    let (target, mac, script, model, alias) = (opt("target")?, opt("mac")?, opt("script")?, opt("model")?, opt("alias")?);
    let mut xml = format!("<interface type='{typ}'{}>\n", if cmd.has("managed") { " managed='yes'" } else { "" });
    match typ {
        "network" | "bridge" => xml.push_str(&format!("  <source {typ}='{source}'/>\n")),
        "direct" => xml.push_str(&format!("  <source dev='{source}'/>\n")),
        _ => return Err(ctl.fail_msg(format!("No support for {typ} in command 'attach-interface'"))),
    }
    for (fmt_name, v) in
        [("target dev", target), ("mac address", mac), ("script path", script), ("model type", model), ("alias name", alias)]
    {
        if let Some(v) = v {
            let (el, at) = fmt_name.split_once(' ').unwrap_or((fmt_name, ""));
            xml.push_str(&format!("  <{el} {at}='{v}'/>\n"));
        }
    }
    xml.push_str("</interface>\n");
    if cmd.has("print-xml") {
        ctl.print(&xml);
        return Ok(());
    }
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    persistent_live(&dom, persistent, &mut flags);
    attach(&dom, &xml, flags, current).map_err(|e| ctl.fail("Failed to attach interface", e))?;
    ctl.extra("Interface attached successfully\n");
    Ok(())
}

fn attr<'a>(e: &'a El, k: &str) -> Option<&'a str> {
    e.attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn child<'a>(e: &'a El, name: &str) -> Option<&'a El> {
    e.children.iter().find_map(|c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
}

/// The `<devices>` children called `name` of a domain document.
fn devices(doc: &str, name: &str) -> Option<Vec<El>> {
    let d = roxmltree::Document::parse(doc).ok()?;
    let devs = d.root_element().children().find(|c| c.has_tag_name("devices"))?;
    Some(devs.children().filter(|c| c.has_tag_name(name)).map(El::from_node).collect())
}

/// `virshFindDisk`: the disk whose target or source is `path` (`changeable`: only
/// cdroms and floppies), without its `<backingStore>`.
fn find_disk(ctl: &Ctl, doc: &str, path: &str, changeable: bool) -> Result<El, Fail> {
    let disks = devices(doc, "disk").filter(|d| !d.is_empty()).ok_or_else(|| ctl.fail_msg("Failed to get disk information"))?;
    for mut d in disks {
        if changeable && attr(&d, "device").is_some_and(|v| v != "cdrom" && v != "floppy") {
            continue;
        }
        let src = child(&d, "source");
        let hit = child(&d, "target").and_then(|t| attr(t, "dev")) == Some(path)
            || ["file", "dev", "dir", "name"].iter().any(|k| src.and_then(|s| attr(s, k)) == Some(path));
        if hit {
            d.children.retain(|c| !matches!(c, XNode::El(x) if x.name == "backingStore"));
            return Ok(d);
        }
    }
    Err(ctl.fail_msg(format!("No disk found whose source path or target is {path}")))
}

fn cmd_detach_disk(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, current, persistent) = modify_flags(ctl, cmd, true)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let target = req_str(ctl, cmd, "target")?;
    let doc = dom.xml_desc(if flags == AFFECT_CONFIG { DomainXmlFlags::INACTIVE } else { DomainXmlFlags::empty() })?;
    persistent_live(&dom, persistent, &mut flags);
    let disk = find_disk(ctl, &doc, target, false)?.to_xml();
    if cmd.has("print-xml") {
        ctl.print(&disk);
        return Ok(());
    }
    detach(&dom, &disk, flags, current).map_err(|e| ctl.fail("Failed to detach disk", e))?;
    ctl.extra("Disk detached successfully\n");
    Ok(())
}

/// `virshDomainDetachInterface` over one document.
fn detach_iface(ctl: &mut Ctl, dom: &Domain, doc: &str, typ: &str, mac: Option<&str>, flags: u32, current: bool) -> Result<bool, Fail> {
    let nodes: Vec<El> = devices(doc, "interface").unwrap_or_default().into_iter().filter(|i| attr(i, "type") == Some(typ)).collect();
    if nodes.is_empty() {
        ctl.error(&format!("No interface found whose type is {typ}"));
        return Ok(false);
    }
    let found = match mac {
        Some(mac) => {
            let want = mac.to_ascii_lowercase();
            let hits: Vec<&El> = nodes
                .iter()
                .filter(|n| child(n, "mac").and_then(|m| attr(m, "address")).is_some_and(|a| a.to_ascii_lowercase() == want))
                .collect();
            if hits.len() > 1 {
                ctl.error(&format!(
                    "Domain has multiple interfaces matching MAC address {mac}. You must use detach-device and specify the device pci address to remove it."
                ));
                return Ok(false);
            }
            match hits.first() {
                Some(n) => (*n).clone(),
                None => {
                    ctl.error(&format!("No interface with MAC address {mac} was found"));
                    return Ok(false);
                }
            }
        }
        None if nodes.len() > 1 => {
            ctl.error(&format!("Domain has {} interfaces. Please specify which one to detach using --mac", nodes.len()));
            return Ok(false);
        }
        None => nodes[0].clone(),
    };
    let xml = found.to_xml();
    if cmd_print_xml(ctl) {
        ctl.print(&xml);
        return Ok(true);
    }
    match detach(dom, &xml, flags, current) {
        Ok(()) => Ok(true),
        Err(e) => {
            ctl.error("Failed to detach interface");
            Err(Fail::Api(e))
        }
    }
}

thread_local! {
    static PRINT_XML: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn cmd_print_xml(_ctl: &Ctl) -> bool {
    PRINT_XML.with(|p| p.get())
}

fn cmd_detach_interface(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (_, current, persistent) = modify_flags(ctl, cmd, true)?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let typ = req_str(ctl, cmd, "type")?.to_string();
    let mac = opt_str(ctl, cmd, "mac")?.map(str::to_string);
    let print_xml = cmd.has("print-xml");
    PRINT_XML.with(|p| p.set(print_xml));
    let affect_config = cmd.has("config") || persistent;
    let mut ok = true;
    if affect_config {
        let doc = dom.xml_desc(DomainXmlFlags::INACTIVE)?;
        ok = detach_iface(ctl, &dom, &doc, &typ, mac.as_deref(), AFFECT_CONFIG, current)?;
    }
    let affect_live = cmd.has("live") || (persistent && dom.is_active().unwrap_or(false));
    if ok && (affect_live || !affect_config) {
        let doc = dom.xml_desc(DomainXmlFlags::empty())?;
        ok = detach_iface(ctl, &dom, &doc, &typ, mac.as_deref(), if affect_live { AFFECT_LIVE } else { 0 }, current)?;
    }
    if print_xml {
        return if ok { Ok(()) } else { Err(Fail::Reported) };
    }
    if !ok {
        return Err(ctl.fail_msg("Failed to detach interface"));
    }
    ctl.extra("Interface detached successfully\n");
    Ok(())
}

fn cmd_change_media(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    for (a, b2) in [("eject", "insert"), ("eject", "update"), ("insert", "update"), ("eject", "block")] {
        exclusive(ctl, cmd, a, b2)?;
    }
    let source = opt_str(ctl, cmd, "source")?;
    let (mut eject, insert, mut update) = (cmd.has("eject"), cmd.has("insert"), cmd.has("update"));
    if update && source.is_none() {
        update = false;
        eject = true;
    }
    let (action, done) = if eject {
        ("eject", "Successfully ejected media.")
    } else if insert {
        ("insert", "Successfully inserted media.")
    } else {
        ("update", "Successfully updated media.")
    };
    let _ = update;
    exclusive(ctl, cmd, "current", "live")?;
    exclusive(ctl, cmd, "current", "config")?;
    let mut flags = 0;
    if cmd.has("config") {
        flags |= AFFECT_CONFIG;
    }
    if cmd.has("live") {
        flags |= AFFECT_LIVE;
    }
    if cmd.has("force") {
        flags |= MODIFY_FORCE;
    }
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let path = req_str(ctl, cmd, "path")?;
    let doc = dom.xml_desc(if flags & AFFECT_CONFIG != 0 { DomainXmlFlags::INACTIVE } else { DomainXmlFlags::empty() })?;
    let mut disk = find_disk(ctl, &doc, path, true)?;
    // virshUpdateDiskXML
    if !matches!(attr(&disk, "device"), Some("cdrom" | "floppy")) {
        return Err(ctl.fail_msg(format!("The disk device '{path}' is not removable")));
    }
    let old = child(&disk, "source").cloned();
    let mut block = cmd.has("block");
    let new_source = if eject {
        if old.is_none() {
            return Err(ctl.fail_msg(format!("The disk device '{path}' doesn't have media")));
        }
        block = false;
        None
    } else {
        Some(source.ok_or_else(|| ctl.fail_msg("New disk media source was not specified"))?)
    };
    let mut policy = None;
    if let Some(src) = &old {
        let has_media = ["file", "dev", "dir", "pool", "name"].iter().any(|k| attr(src, k).is_some());
        if has_media && insert {
            return Err(ctl.fail_msg(format!("The disk device '{path}' already has media")));
        }
        policy = attr(src, "startupPolicy").map(str::to_string);
        disk.children.retain(|c| !matches!(c, XNode::El(x) if x.name == "source"));
    }
    if let Some(i) = disk.attrs.iter().position(|(k, _)| k == "type") {
        disk.attrs[i].1 = if block { "block" } else { "file" }.into();
    } else {
        disk.attrs.insert(0, ("type".into(), if block { "block" } else { "file" }.into()));
    }
    if let Some(src) = new_source {
        let mut s = El::new("source").attr(if block { "dev" } else { "file" }, src);
        if let Some(p) = policy {
            s.push_attr("startupPolicy", p);
        }
        let at = disk.children.iter().position(|c| matches!(c, XNode::El(x) if x.name == "target")).unwrap_or(disk.children.len());
        disk.children.insert(at, XNode::El(s));
    }
    let xml = disk.to_xml();
    if cmd.has("print-xml") {
        ctl.print(&xml);
        return Ok(());
    }
    dom.update_device_flags(&xml, flags).map_err(|e| ctl.fail(format!("Failed to complete action {action} on media"), e))?;
    ctl.print(done);
    Ok(())
}
