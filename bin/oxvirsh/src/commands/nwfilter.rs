//! Network filter commands (`nwfilter-*`).

use super::*;
use crate::json;
use crate::parse::{b, d, s, CmdDef, CmdResult, Needs, OptDef, FILE, REQ_OPT};
use crate::table::Table;

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");
const FILTER: OptDef = d("nwfilter", "network filter name or uuid");

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "filter", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Network filter commands.
pub const CMDS: &[CmdDef] = &[
    cmd!("nwfilter-list", "list network filters", &[JSON], cmd_list),
    cmd!(
        "nwfilter-dumpxml",
        "network filter information in XML",
        &[FILTER, s("xpath", REQ_OPT, "xpath expression"), b("wrap", "wrap xpath results")],
        cmd_dumpxml
    ),
    cmd!("nwfilter-define", "define or update a network filter from an XML file", &[FILE, b("validate", "validate the XML")], cmd_define),
    cmd!("nwfilter-undefine", "undefine a network filter", &[FILTER], cmd_undefine),
];

fn cmd_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let mut list = match conn.list_all_nwfilters(0) {
        Ok(l) => l,
        Err(e) if is_no_support(&e) => return Err(ctl.fail("Failed to count network filters", count_fallback("virConnectNumOfNWFilters"))),
        Err(e) => return Err(ctl.fail("Failed to list network filters", e)),
    };
    list.sort_by(|a, b| a.name().cmp(b.name()));
    if cmd.has("json") {
        let arr = list.iter().map(|f| json::obj(vec![("uuid", json::str(&f.uuid_string())), ("name", json::str(f.name()))])).collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    let mut t = Table::new(&["UUID", "Name"]);
    for f in &list {
        t.row(&[f.uuid_string(), f.name().to_string()]);
    }
    ctl.print_table(&t);
    Ok(())
}

fn cmd_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let f = lookup_nwfilter(ctl, &conn, cmd, "nwfilter")?;
    let xml = f.xml_desc(0)?;
    ctl.print(&xml);
    Ok(())
}

fn cmd_define(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let f = conn
        .nwfilter_define_xml(&xml, u32::from(cmd.has("validate")))
        .map_err(|e| ctl.fail(format!("Failed to define network filter from {file}"), e))?;
    ctl.extra(&format!("Network filter {} defined from {file}\n", f.name()));
    Ok(())
}

fn cmd_undefine(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let f = lookup_nwfilter(ctl, &conn, cmd, "nwfilter")?;
    let name = f.name().to_string();
    f.undefine().map_err(|e| ctl.fail(format!("Failed to undefine network filter {name}"), e))?;
    ctl.extra(&format!("Network filter {name} undefined\n"));
    Ok(())
}
