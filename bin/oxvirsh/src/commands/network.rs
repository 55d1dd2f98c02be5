//! Virtual network commands (`net-*`).

use super::*;
use crate::json;
use crate::parse::{b, CmdDef, CmdResult, Needs, OptDef, FILE, NETWORK, REQ_OPT};
use crate::table::Table;
use oxvirt::{ListNetworksFlags, NetworkXmlFlags};

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "network", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Network commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "net-list",
        "list networks",
        &[
            b("inactive", "list inactive networks"),
            b("all", "list inactive & active networks"),
            b("persistent", "list persistent networks"),
            b("transient", "list transient networks"),
            b("autostart", "list networks with autostart enabled"),
            b("no-autostart", "list networks with autostart disabled"),
            b("uuid", "list uuid's only"),
            b("name", "list network names only"),
            b("table", "list table (default)"),
            JSON,
        ],
        cmd_list
    ),
    cmd!("net-info", "network information", &[NETWORK, JSON], cmd_info),
    cmd!(
        "net-dumpxml",
        "network information in XML",
        &[
            NETWORK,
            b("inactive", "show inactive defined XML"),
            crate::parse::s("xpath", REQ_OPT, "xpath expression to filter the XML document"),
            b("wrap", "wrap xpath results in a common root element"),
        ],
        cmd_dumpxml
    ),
    cmd!("net-uuid", "convert a network name to network UUID", &[NETWORK], cmd_uuid),
    cmd!("net-name", "convert a network UUID to network name", &[NETWORK], cmd_name),
    cmd!("net-start", "start a (previously defined) inactive network", &[NETWORK], cmd_start),
    cmd!("net-destroy", "destroy (stop) a network", &[NETWORK], cmd_destroy),
    cmd!(
        "net-define",
        "define an inactive persistent virtual network from an XML file",
        &[FILE, b("validate", "validate the XML against the schema")],
        cmd_define
    ),
    cmd!("net-undefine", "undefine a persistent network", &[NETWORK], cmd_undefine),
    cmd!("net-create", "create a network from an XML file", &[FILE, b("validate", "validate the XML against the schema")], cmd_create),
    cmd!("net-autostart", "autostart a network", &[NETWORK, b("disable", "disable autostarting")], cmd_autostart),
];

fn cmd_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    exclusive(ctl, cmd, "table", "name")?;
    exclusive(ctl, cmd, "table", "uuid")?;
    let mut flags = ListNetworksFlags::ACTIVE;
    if cmd.has("inactive") {
        flags = ListNetworksFlags::INACTIVE;
    }
    if cmd.has("all") {
        flags = ListNetworksFlags::ACTIVE | ListNetworksFlags::INACTIVE;
    }
    for (o, f) in [
        ("persistent", ListNetworksFlags::PERSISTENT),
        ("transient", ListNetworksFlags::TRANSIENT),
        ("autostart", ListNetworksFlags::AUTOSTART),
        ("no-autostart", ListNetworksFlags::NO_AUTOSTART),
    ] {
        if cmd.has(o) {
            flags |= f;
        }
    }
    let mut nets = conn.list_all_networks(flags).map_err(|e| ctl.fail("Failed to list networks", e))?;
    nets.sort_by(|a, b| a.name().cmp(b.name()));
    if cmd.has("json") {
        let arr = nets
            .iter()
            .map(|n| {
                json::obj(vec![
                    ("name", json::str(n.name())),
                    ("uuid", json::str(&n.uuid_string())),
                    ("active", n.is_active().map(json::Value::Bool).unwrap_or(json::Value::Null)),
                    ("autostart", n.autostart().map(json::Value::Bool).unwrap_or(json::Value::Null)),
                    ("persistent", n.is_persistent().map(json::Value::Bool).unwrap_or(json::Value::Null)),
                ])
            })
            .collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    let (u, nm) = (cmd.has("uuid"), cmd.has("name"));
    if u || nm {
        let mut o = String::new();
        for n in &nets {
            match (u, nm) {
                (true, true) => o += &format!("{}  {}\n", n.uuid_string(), n.name()),
                (true, false) => o += &format!("{}\n", n.uuid_string()),
                _ => o += &format!("{}\n", n.name()),
            }
        }
        ctl.print(&o);
        return Ok(());
    }
    let mut t = Table::new(&["Name", "State", "Autostart", "Persistent"]);
    for n in &nets {
        let active = if n.is_active().unwrap_or(false) { "active" } else { "inactive" };
        let auto = match n.autostart() {
            Ok(true) => "yes",
            Ok(false) => "no",
            Err(_) => "-",
        };
        let pers = n.is_persistent().map(yes_no).unwrap_or("-");
        t.row(&[n.name(), active, auto, pers]);
    }
    ctl.print_table(&t);
    Ok(())
}

fn cmd_info(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    let active = n.is_active().ok();
    let pers = n.is_persistent().ok();
    let auto = n.autostart().ok();
    let bridge = n.bridge_name().ok();
    if cmd.has("json") {
        let v = json::obj(vec![
            ("name", json::str(n.name())),
            ("uuid", json::str(&n.uuid_string())),
            ("active", active.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("persistent", pers.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("autostart", auto.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("bridge", json::opt_str(bridge.as_deref())),
        ]);
        ctl.print(&json::render(&v));
        return Ok(());
    }
    let mut o = String::new();
    o += &kv("Name:", n.name());
    o += &kv("UUID:", n.uuid_string());
    if let Some(a) = active {
        o += &kv("Active:", yes_no(a));
    }
    o += &kv("Persistent:", pers.map(yes_no).unwrap_or("unknown"));
    o += &kv("Autostart:", auto.map(yes_no).unwrap_or("unknown"));
    if let Some(b) = bridge {
        o += &kv("Bridge:", b);
    }
    ctl.print(&o);
    Ok(())
}

fn cmd_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    let f = if cmd.has("inactive") { NetworkXmlFlags::INACTIVE } else { NetworkXmlFlags::empty() };
    let xml = n.xml_desc(f)?;
    ctl.print(&xml);
    Ok(())
}

fn cmd_uuid(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    ctl.print(&format!("{}\n", n.uuid_string()));
    Ok(())
}

fn cmd_name(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    ctl.print(&format!("{}\n", n.name()));
    Ok(())
}

fn cmd_start(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    n.create().map_err(|e| ctl.fail(format!("Failed to start network {}", n.name()), e))?;
    ctl.extra(&format!("Network {} started\n", n.name()));
    Ok(())
}

fn cmd_destroy(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    n.destroy().map_err(|e| ctl.fail(format!("Failed to destroy network {}", n.name()), e))?;
    ctl.extra(&format!("Network {} destroyed\n", n.name()));
    Ok(())
}

fn cmd_define(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let flags = u32::from(cmd.has("validate"));
    let n = conn.network_define_xml(&xml, flags).map_err(|e| ctl.fail(format!("Failed to define network from {file}"), e))?;
    ctl.extra(&format!("Network {} defined from {file}\n", n.name()));
    Ok(())
}

fn cmd_create(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let flags = u32::from(cmd.has("validate"));
    let n = conn.network_create_xml(&xml, flags).map_err(|e| ctl.fail(format!("Failed to create network from {file}"), e))?;
    ctl.extra(&format!("Network {} created from {file}\n", n.name()));
    Ok(())
}

fn cmd_undefine(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    n.undefine().map_err(|e| ctl.fail(format!("Failed to undefine network {}", n.name()), e))?;
    ctl.extra(&format!("Network {} has been undefined\n", n.name()));
    Ok(())
}

fn cmd_autostart(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let n = lookup_network(ctl, &conn, cmd, "network")?;
    let on = !cmd.has("disable");
    if let Err(e) = n.set_autostart(on) {
        let what = if on { "mark" } else { "unmark" };
        return Err(ctl.fail(format!("failed to {what} network {} as autostarted", n.name()), e));
    }
    ctl.extra(&format!("Network {} {} as autostarted\n", n.name(), if on { "marked" } else { "unmarked" }));
    Ok(())
}
