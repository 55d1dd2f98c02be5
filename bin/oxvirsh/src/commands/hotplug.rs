//! Device hotplug commands: `attach-device`, `detach-device`, `detach-device-alias`,
//! `update-device`, `attach-disk`, `detach-disk`, `attach-interface`,
//! `detach-interface` and `change-media`, with virsh 9.0's options, the XML virsh
//! builds (or finds in the domain's XML), its choice between the legacy and the flags
//! calls, and its messages.

use super::*;
use crate::parse::{b, s, CmdDef, CmdResult, Needs, DOMAIN, FILE as FILE_OPT, REQ};
use oxvirt::DomainXmlFlags;

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "domain", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// `VIRSH_COMMON_OPT_FILE(N_("XML file"))`.
const FILE: crate::parse::OptDef = crate::parse::OptDef { help: "XML file", ..FILE_OPT };
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
            s("iothread", 0, "IOThread to be used by supported device"),
            s("cache", 0, "cache mode of disk device"),
            s("io", 0, "io policy of disk device"),
            s("type", 0, "target device type"),
            crate::parse::alias("shareable", "mode=shareable"),
            s("mode", 0, "mode of device reading and writing"),
            s("sourcetype", 0, "type of source (block|file|network)"),
            s("serial", 0, "serial of disk device"),
            s("wwn", 0, "wwn of disk device"),
            s("alias", 0, "custom alias name of disk device"),
            b("rawio", "needs rawio capability"),
            s("address", 0, "address of disk device"),
            b("multifunction", "use multifunction pci under specified address"),
            b("print-xml", "print XML document rather than attach the disk"),
            s("source-protocol", 0, "protocol used by disk device source"),
            s("source-host-name", 0, "host name for source of disk device"),
            s("source-host-transport", 0, "host transport for source of disk device"),
            s("source-host-socket", 0, "host socket for source of disk device"),
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
            s("inbound", 0, "control domain's incoming traffics"),
            s("outbound", 0, "control domain's outgoing traffics"),
            PERSISTENT,
            CONFIG,
            LIVE,
            CURRENT,
            b("print-xml", "print XML document rather than attach the interface"),
            b("managed", "libvirt will automatically detach/attach the device from/to host"),
            s("source-mode", 0, "mode attribute of <source/> element"),
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

/// `virshAddressParse`: `TYPE:N.N.N[.N]` (any one character between the numbers).
fn parse_address(text: &str) -> Option<(&str, Vec<u64>)> {
    let (ty, rest) = text.split_once(':')?;
    let (count, radix) = match ty {
        "pci" => (4, 16),
        "sata" | "ide" | "scsi" => (3, 10),
        "ccw" => (3, 16),
        "usb" => (2, 10),
        _ => return None,
    };
    let mut nums = Vec::new();
    let mut rest = rest;
    for i in 0..count {
        if i > 0 {
            let mut it = rest.chars();
            it.next()?;
            rest = it.as_str();
        }
        let end = rest.find(|c: char| !c.is_digit(radix)).unwrap_or(rest.len());
        nums.push(u64::from_str_radix(&rest[..end], radix).ok().filter(|v| *v <= u64::from(u32::MAX) || ty != "pci")?);
        rest = &rest[end..];
    }
    Some((ty, nums))
}

/// `cmdAttachDiskFormatAddress`: the `<address>` line of `--address`.
fn address_xml(ctl: &Ctl, text: &str, target: &str, multifunction: bool) -> Result<String, Fail> {
    let (ty, n) = parse_address(text).ok_or_else(|| ctl.fail_msg("Invalid address."))?;
    if target.starts_with("vd") && !matches!(ty, "pci" | "ccw") {
        return Err(ctl.fail_msg("expecting a pci:0000.00.00.00 or ccw:00.0.0000 address."));
    }
    if target.starts_with("sd") && !matches!(ty, "scsi" | "usb" | "sata") {
        return Err(ctl.fail_msg("expecting a scsi:00.00.00 or usb:00.00 or sata:00.00.00 address."));
    }
    if target.starts_with("hd") && ty != "ide" {
        return Err(ctl.fail_msg("expecting an ide:00.00.00 address."));
    }
    Ok(match ty {
        "pci" => format!(
            "<address type='pci' domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'{}/>\n",
            n[0],
            n[1],
            n[2],
            n[3],
            if multifunction { " multifunction='on'" } else { "" }
        ),
        "ccw" => format!("<address type='ccw' cssid='0x{:02x}' ssid='0x{:01x}' devno='0x{:04x}'/>\n", n[0], n[1], n[2]),
        "usb" => format!("<address type='usb' bus='{}' port='{}'/>\n", n[0], n[1]),
        _ => format!("<address type='drive' controller='{}' bus='{}' unit='{}'/>\n", n[0], n[1], n[2]),
    })
}

/// `virValidateWWN`: 16 hex digits, optionally after `0x`.
fn valid_wwn(w: &str) -> bool {
    let h = w.strip_prefix("0x").unwrap_or(w);
    h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit())
}

fn cmd_attach_disk(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, current, persistent) = modify_flags(ctl, cmd, true)?;
    require(ctl, cmd, "source-host-name", "source-protocol")?;
    require(ctl, cmd, "source-host-transport", "source-protocol")?;
    require(ctl, cmd, "source-host-socket", "source-protocol")?;
    require(ctl, cmd, "source-host-socket", "source-host-transport")?;
    exclusive(ctl, cmd, "source-host-name", "source-host-socket")?;
    let opt = |n: &str| opt_str(ctl, cmd, n);
    let source = cmd.string("source").map_err(|m| ctl.fail_msg(m))?.unwrap_or("");
    let target = req_str(ctl, cmd, "target")?;
    let (driver, subdriver, iothread, cache, io) = (opt("driver")?, opt("subdriver")?, opt("iothread")?, opt("cache")?, opt("io")?);
    let (device, mode, serial, wwn, straddr) = (opt("type")?, opt("mode")?, opt("serial")?, opt("wwn")?, opt("address")?);
    let (targetbus, alias, stype, protocol) = (opt("targetbus")?, opt("alias")?, opt("sourcetype")?, opt("source-protocol")?);
    let (host_name, host_transport, host_socket) = (opt("source-host-name")?, opt("source-host-transport")?, opt("source-host-socket")?);
    let kind = match stype {
        Some(k @ ("file" | "block" | "network")) => k,
        Some(other) => return Err(ctl.fail_msg(format!("Unknown source type: '{other}'"))),
        None if protocol.is_some() => "network",
        None => {
            use std::os::unix::fs::FileTypeExt;
            let blk = !matches!(driver, Some("file" | "tap"))
                && !source.is_empty()
                && std::fs::metadata(source).is_ok_and(|m| m.file_type().is_block_device());
            if blk {
                "block"
            } else {
                "file"
            }
        }
    };
    if (kind == "network") != protocol.is_some() {
        return Err(ctl.fail_msg("--source-protocol option requires --sourcetype network"));
    }
    if let Some(m) = mode.filter(|m| *m != "readonly" && *m != "shareable") {
        return Err(ctl.fail_msg(format!("No support for {m} in command 'attach-disk'")));
    }
    if let Some(w) = wwn.filter(|w| !valid_wwn(w)) {
        // virValidateWWN reports through libvirt's error machinery.
        return Err(Fail::Api(oxvirt::Error::new(
            oxvirt::ErrorCode::InternalError,
            oxvirt::ErrorDomain::None,
            format!("Malformed wwn: {w}"),
        )));
    }
    let mut xml = format!("<disk type='{kind}'");
    if let Some(d) = device {
        xml.push_str(&format!(" device='{}'", esc(d)));
    }
    if cmd.has("rawio") {
        xml.push_str(" rawio='yes'");
    }
    xml.push_str(">\n");
    let drv: String = [("name", driver), ("type", subdriver), ("iothread", iothread), ("cache", cache), ("io", io)]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!(" {k}='{}'", esc(v))))
        .collect();
    if !drv.is_empty() {
        xml.push_str(&format!("  <driver{drv}/>\n"));
    }
    match kind {
        "network" => {
            let mut attrs = format!(" protocol='{}'", esc(protocol.unwrap_or("")));
            if !source.is_empty() {
                attrs.push_str(&format!(" name='{}'", esc(source)));
            }
            let mut host = String::new();
            for (k, v) in [("transport", host_transport), ("socket", host_socket)] {
                if let Some(v) = v {
                    host.push_str(&format!(" {k}='{}'", esc(v)));
                }
            }
            if let Some(h) = host_name {
                let (name, port) = match h.split_once(':') {
                    Some((n, p)) => (n, Some(p)),
                    None => (h, None),
                };
                host.push_str(&format!(" name='{}'", esc(name)));
                if let Some(p) = port {
                    host.push_str(&format!(" port='{}'", esc(p)));
                }
            }
            if host.is_empty() {
                xml.push_str(&format!("  <source{attrs}/>\n"));
            } else {
                xml.push_str(&format!("  <source{attrs}>\n    <host{host}/>\n  </source>\n"));
            }
        }
        _ if !source.is_empty() => {
            xml.push_str(&format!("  <source {}='{}'/>\n", if kind == "block" { "dev" } else { "file" }, esc(source)))
        }
        _ => {}
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
    if let Some(w) = wwn {
        xml.push_str(&format!("  <wwn>{w}</wwn>\n"));
    }
    if let Some(a) = straddr {
        xml.push_str("  ");
        xml.push_str(&address_xml(ctl, a, target, cmd.has("multifunction"))?);
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

/// `virshParseRateStr`: `average,peak,burst,floor` (empty fields allowed).
fn parse_rate(ctl: &Ctl, text: &str) -> Result<[u64; 4], Fail> {
    let tok: Vec<&str> = text.split(',').collect();
    if tok.len() > 4 {
        return Err(ctl.fail_msg(format!("Rate string '{text}' has too many fields")));
    }
    let mut out = [0u64; 4];
    for (i, name) in ["average", "peak", "burst", "floor"].iter().enumerate() {
        if let Some(t) = tok.get(i).filter(|t| !t.is_empty()) {
            out[i] = t.parse().map_err(|_| ctl.fail_msg(format!("field '{name}' is malformed")))?;
        }
    }
    Ok(out)
}

fn cmd_attach_interface(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (mut flags, current, persistent) = modify_flags(ctl, cmd, true)?;
    let typ = req_str(ctl, cmd, "type")?;
    let source = req_str(ctl, cmd, "source")?;
    let opt = |n: &str| opt_str(ctl, cmd, n);
    let (target, mac, script, model, alias) = (opt("target")?, opt("mac")?, opt("script")?, opt("model")?, opt("alias")?);
    let (inbound, outbound, source_mode) = (opt("inbound")?, opt("outbound")?, opt("source-mode")?);
    if !oxvirt_conf::domain::devices::IFACE_TYPES.contains(&typ) {
        return Err(ctl.fail_msg(format!("No support for {typ} in command 'attach-interface'")));
    }
    if let Some(m) = source_mode.filter(|m| *m != "server" && *m != "client") {
        return Err(ctl.fail_msg(format!("Invalid source mode: {m}")));
    }
    let inbound = match inbound {
        Some(t) => {
            let r = parse_rate(ctl, t)?;
            if r[0] == 0 && r[3] == 0 {
                return Err(ctl.fail_msg("either inbound average or floor is mandatory"));
            }
            Some(r)
        }
        None => None,
    };
    let outbound = match outbound {
        Some(t) => {
            let r = parse_rate(ctl, t)?;
            if r[0] == 0 {
                return Err(ctl.fail_msg("outbound average is mandatory"));
            }
            if r[3] != 0 {
                return Err(ctl.fail_msg("outbound floor is unsupported yet"));
            }
            Some(r)
        }
        None => None,
    };
    let mut xml = format!("<interface type='{typ}'{}>\n", if cmd.has("managed") { " managed='yes'" } else { "" });
    match typ {
        "network" | "bridge" => xml.push_str(&format!("  <source {typ}='{source}'/>\n")),
        "direct" => xml.push_str(&format!("  <source dev='{source}'/>\n")),
        "hostdev" => {
            let addr = format!("pci:{source}");
            match parse_address(&addr) {
                Some(("pci", n)) => xml.push_str(&format!(
                    "  <source>\n    <address type='pci' domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'/>\n  </source>\n",
                    n[0], n[1], n[2], n[3]
                )),
                _ => return Err(ctl.fail_msg(format!("cannot parse pci address '{source}' for network interface"))),
            }
        }
        "vhostuser" => match source_mode {
            Some(m) => xml.push_str(&format!("  <source type='unix' path='{source}' mode='{m}'/>\n")),
            None => return Err(ctl.fail_msg("source-mode is mandatory")),
        },
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
    if inbound.is_some() || outbound.is_some() {
        xml.push_str("  <bandwidth>\n");
        if let Some(r) = inbound.filter(|r| r[0] > 0 || r[3] > 0) {
            xml.push_str("    <inbound");
            for (i, k) in ["average", "peak", "burst", "floor"].iter().enumerate() {
                if r[i] > 0 {
                    xml.push_str(&format!(" {k}='{}'", r[i]));
                }
            }
            xml.push_str("/>\n");
        }
        if let Some(r) = outbound.filter(|r| r[0] > 0) {
            xml.push_str("    <outbound");
            for (i, k) in ["average", "peak", "burst"].iter().enumerate() {
                if r[i] > 0 {
                    xml.push_str(&format!(" {k}='{}'", r[i]));
                }
            }
            xml.push_str("/>\n");
        }
        xml.push_str("  </bandwidth>\n");
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

/// An owned XML node as libxml2 keeps it (whitespace text included), so the XML virsh
/// sends or prints (`virXMLNodeToString`: double-quoted attributes, the document's own
/// indentation) comes out the same.
#[derive(Debug, Clone)]
enum X {
    Text(String),
    Comment(String),
    El { name: String, attrs: Vec<(String, String)>, kids: Vec<X> },
}

impl X {
    fn from_node(n: roxmltree::Node<'_, '_>) -> X {
        if n.is_text() {
            return X::Text(n.text().unwrap_or("").to_string());
        }
        if n.is_comment() {
            return X::Comment(n.text().unwrap_or("").to_string());
        }
        X::El {
            name: n.tag_name().name().to_string(),
            attrs: n.attributes().map(|a| (a.name().to_string(), a.value().to_string())).collect(),
            kids: n.children().filter(|c| c.is_element() || c.is_text() || c.is_comment()).map(X::from_node).collect(),
        }
    }

    fn name(&self) -> Option<&str> {
        match self {
            X::El { name, .. } => Some(name),
            _ => None,
        }
    }

    fn attr(&self, k: &str) -> Option<&str> {
        match self {
            X::El { attrs, .. } => attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    fn kids(&self) -> &[X] {
        match self {
            X::El { kids, .. } => kids,
            _ => &[],
        }
    }

    fn child(&self, name: &str) -> Option<&X> {
        self.kids().iter().find(|k| k.name() == Some(name))
    }

    /// `xmlNodeDump` without formatting.
    fn dump(&self, out: &mut String) {
        match self {
            X::Text(t) => {
                for c in t.chars() {
                    match c {
                        '&' => out.push_str("&amp;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        '\r' => out.push_str("&#13;"),
                        c => out.push(c),
                    }
                }
            }
            X::Comment(t) => {
                out.push_str("<!--");
                out.push_str(t);
                out.push_str("-->");
            }
            X::El { name, attrs, kids } => {
                out.push('<');
                out.push_str(name);
                for (k, v) in attrs {
                    out.push_str(&format!(" {k}=\""));
                    for c in v.chars() {
                        match c {
                            '&' => out.push_str("&amp;"),
                            '<' => out.push_str("&lt;"),
                            '>' => out.push_str("&gt;"),
                            '"' => out.push_str("&quot;"),
                            '\n' => out.push_str("&#10;"),
                            '\r' => out.push_str("&#13;"),
                            '\t' => out.push_str("&#9;"),
                            c => out.push(c),
                        }
                    }
                    out.push('"');
                }
                if kids.is_empty() {
                    out.push_str("/>");
                } else {
                    out.push('>');
                    for k in kids {
                        k.dump(out);
                    }
                    out.push_str(&format!("</{name}>"));
                }
            }
        }
    }

    fn to_xml(&self) -> String {
        let mut out = String::new();
        self.dump(&mut out);
        out
    }
}

/// The `<devices>` children called `name` of a domain document.
fn devices(doc: &str, name: &str) -> Option<Vec<X>> {
    let d = roxmltree::Document::parse(doc).ok()?;
    let devs = d.root_element().children().find(|c| c.has_tag_name("devices"))?;
    Some(devs.children().filter(|c| c.has_tag_name(name)).map(X::from_node).collect())
}

/// `virshFindDisk`: the disk whose target or source is `path` (`changeable`: only
/// cdroms and floppies), without its `<backingStore>`.
fn find_disk(ctl: &Ctl, doc: &str, path: &str, changeable: bool) -> Result<X, Fail> {
    let disks = devices(doc, "disk").filter(|d| !d.is_empty()).ok_or_else(|| ctl.fail_msg("Failed to get disk information"))?;
    for mut d in disks {
        if changeable && d.attr("device").is_some_and(|v| v != "cdrom" && v != "floppy") {
            continue;
        }
        let src = d.child("source");
        let hit = d.child("target").and_then(|t| t.attr("dev")) == Some(path)
            || ["file", "dev", "dir", "name"].iter().any(|k| src.and_then(|s| s.attr(k)) == Some(path));
        if hit {
            if let X::El { kids, .. } = &mut d {
                if let Some(i) = kids.iter().position(|k| k.name() == Some("backingStore")) {
                    kids.remove(i);
                }
            }
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
    let nodes: Vec<X> = devices(doc, "interface").unwrap_or_default().into_iter().filter(|i| i.attr("type") == Some(typ)).collect();
    if nodes.is_empty() {
        ctl.error(&format!("No interface found whose type is {typ}"));
        return Ok(false);
    }
    let found = match mac {
        Some(mac) => {
            let want = mac.to_ascii_lowercase();
            let hits: Vec<&X> = nodes
                .iter()
                .filter(|n| n.child("mac").and_then(|m| m.attr("address")).is_some_and(|a| a.to_ascii_lowercase() == want))
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
    if !matches!(disk.attr("device"), Some("cdrom" | "floppy")) {
        return Err(ctl.fail_msg(format!("The disk device '{path}' is not removable")));
    }
    let X::El { attrs, kids, .. } = &mut disk else { return Err(ctl.fail_msg("Failed to get disk information")) };
    let src_pos = kids.iter().position(|k| k.name() == Some("source"));
    let target_pos = kids.iter().position(|k| k.name() == Some("target"));
    // The last text node before <target>: the indentation of the new <source>.
    let indent = kids[..target_pos.unwrap_or(kids.len())].iter().rev().find_map(|k| match k {
        X::Text(t) => Some(t.clone()),
        _ => None,
    });
    let mut block = cmd.has("block");
    let new_source = if eject {
        if src_pos.is_none() {
            return Err(ctl.fail_msg(format!("The disk device '{path}' doesn't have media")));
        }
        block = false;
        None
    } else {
        Some(source.ok_or_else(|| ctl.fail_msg("New disk media source was not specified"))?)
    };
    let mut policy = None;
    if let Some(i) = src_pos {
        let src = &kids[i];
        let has_media = ["file", "dev", "dir", "pool", "name"].iter().any(|k| src.attr(k).is_some());
        if has_media && insert {
            return Err(ctl.fail_msg(format!("The disk device '{path}' already has media")));
        }
        policy = src.attr("startupPolicy").map(str::to_string);
        kids.remove(i);
    }
    let ty = if block { "block" } else { "file" }.to_string();
    match attrs.iter().position(|(k, _)| k == "type") {
        Some(i) => attrs[i].1 = ty,
        None => attrs.push(("type".into(), ty)),
    }
    if let Some(src) = new_source {
        let mut a = vec![(if block { "dev" } else { "file" }.to_string(), src.to_string())];
        if let Some(p) = policy {
            a.push(("startupPolicy".into(), p));
        }
        let at = kids.iter().position(|k| k.name() == Some("target")).unwrap_or(kids.len());
        kids.insert(at, X::El { name: "source".into(), attrs: a, kids: Vec::new() });
        if let Some(t) = indent {
            kids.insert(at + 1, X::Text(t));
        }
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
