//! Host interface commands (`iface-*`).

use super::*;
use crate::json;
use crate::parse::{b, d, s, CmdDef, CmdResult, Needs, OptDef, FILE, REQ_OPT};
use crate::table::Table;
use oxvirt::{InterfaceXmlFlags, ListInterfacesFlags};

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");
const IFACE: OptDef = d("interface", "interface name or MAC address");

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "interface", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Interface commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "iface-list",
        "list physical host interfaces",
        &[b("inactive", "list inactive interfaces"), b("all", "list inactive & active interfaces"), JSON],
        cmd_list
    ),
    cmd!(
        "iface-dumpxml",
        "interface information in XML",
        &[IFACE, b("inactive", "show inactive defined XML"), s("xpath", REQ_OPT, "xpath expression"), b("wrap", "wrap xpath results")],
        cmd_dumpxml
    ),
    cmd!("iface-mac", "convert an interface name to interface MAC address", &[d("interface", "interface name")], cmd_mac),
    cmd!("iface-name", "convert an interface MAC address to interface name", &[d("interface", "interface mac")], cmd_name),
    cmd!(
        "iface-define",
        "define an inactive persistent physical host interface from an XML file",
        &[FILE, b("validate", "validate the XML")],
        cmd_define
    ),
    cmd!("iface-undefine", "undefine a physical host interface (remove it from configuration)", &[IFACE], cmd_undefine),
    cmd!("iface-start", "start a physical host interface (enable it / \"if-up\")", &[IFACE], cmd_start),
    cmd!("iface-destroy", "destroy a physical host interface (disable it / \"if-down\")", &[IFACE], cmd_destroy),
];

fn cmd_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let mut f = ListInterfacesFlags::ACTIVE;
    if cmd.has("inactive") {
        f = ListInterfacesFlags::INACTIVE;
    }
    if cmd.has("all") {
        f = ListInterfacesFlags::ACTIVE | ListInterfacesFlags::INACTIVE;
    }
    let mut list = conn.list_all_interfaces(f).map_err(|e| ctl.fail("Failed to list interfaces", e))?;
    list.sort_by(|a, b| a.name().cmp(b.name()));
    if cmd.has("json") {
        let arr = list
            .iter()
            .map(|i| {
                json::obj(vec![
                    ("name", json::str(i.name())),
                    ("active", i.is_active().map(json::Value::Bool).unwrap_or(json::Value::Null)),
                    ("mac", json::str(i.mac())),
                ])
            })
            .collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    let mut t = Table::new(&["Name", "State", "MAC Address"]);
    for i in &list {
        let st = if i.is_active().unwrap_or(false) { "active" } else { "inactive" };
        t.row(&[i.name(), st, i.mac()]);
    }
    ctl.print_table(&t);
    Ok(())
}

fn cmd_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let i = lookup_iface(ctl, &conn, cmd, "interface")?;
    let f = if cmd.has("inactive") { InterfaceXmlFlags::INACTIVE } else { InterfaceXmlFlags::empty() };
    let xml = i.xml_desc(f)?;
    ctl.print(&xml);
    Ok(())
}

fn cmd_mac(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let i = lookup_iface(ctl, &conn, cmd, "interface")?;
    ctl.print(&format!("{}\n", i.mac()));
    Ok(())
}

fn cmd_name(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let i = lookup_iface(ctl, &conn, cmd, "interface")?;
    ctl.print(&format!("{}\n", i.name()));
    Ok(())
}

fn cmd_define(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let i = conn
        .interface_define_xml(&xml, u32::from(cmd.has("validate")))
        .map_err(|e| ctl.fail(format!("Failed to define interface from {file}"), e))?;
    ctl.extra(&format!("Interface {} defined from {file}\n", i.name()));
    Ok(())
}

fn cmd_undefine(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let i = lookup_iface(ctl, &conn, cmd, "interface")?;
    i.undefine().map_err(|e| ctl.fail(format!("Failed to undefine interface {}", i.name()), e))?;
    ctl.extra(&format!("Interface {} undefined\n", i.name()));
    Ok(())
}

fn cmd_start(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let i = lookup_iface(ctl, &conn, cmd, "interface")?;
    i.create(0).map_err(|e| ctl.fail(format!("Failed to start interface {}", i.name()), e))?;
    ctl.extra(&format!("Interface {} started\n", i.name()));
    Ok(())
}

fn cmd_destroy(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let i = lookup_iface(ctl, &conn, cmd, "interface")?;
    i.destroy(0).map_err(|e| ctl.fail(format!("Failed to destroy interface {}", i.name()), e))?;
    ctl.extra(&format!("Interface {} destroyed\n", i.name()));
    Ok(())
}
