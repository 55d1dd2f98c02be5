//! Node device commands (`nodedev-*`).

use super::*;
use crate::json;
use crate::parse::{b, d, s, CmdDef, CmdResult, Needs, OptDef, REQ_OPT};
use oxvirt::ListNodeDevicesFlags;

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "nodedev", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Node device commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "nodedev-list",
        "enumerate devices on this host",
        &[
            b("tree", "list devices in a tree"),
            s("cap", 0, "capability names, separated by comma"),
            b("inactive", "list inactive devices"),
            b("all", "list inactive & active devices"),
            JSON
        ],
        cmd_list
    ),
    cmd!(
        "nodedev-dumpxml",
        "node device details in XML",
        &[
            d("device", "device name or wwn pair in 'wwnn,wwpn' format"),
            s("xpath", REQ_OPT, "xpath expression"),
            b("wrap", "wrap xpath results")
        ],
        cmd_dumpxml
    ),
];

/// Capability names in the bit order of `VIR_CONNECT_LIST_NODE_DEVICES_CAP_*`.
const CAPS: &[&str] = oxvirt_conf::nodedev::CAP_TYPES;

fn cmd_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    exclusive(ctl, cmd, "inactive", "all")?;
    let mut f = ListNodeDevicesFlags::empty();
    if cmd.has("inactive") {
        f |= ListNodeDevicesFlags::INACTIVE;
    } else if cmd.has("all") {
        f |= ListNodeDevicesFlags::INACTIVE | ListNodeDevicesFlags::ACTIVE;
    } else {
        f |= ListNodeDevicesFlags::ACTIVE;
    }
    if let Some(caps) = opt_str(ctl, cmd, "cap")? {
        for c in caps.split(',') {
            match CAPS.iter().position(|x| *x == c) {
                Some(i) => f |= ListNodeDevicesFlags::from_bits_retain(1 << i),
                None => return Err(ctl.fail_msg(format!("Invalid capability type '{c}'"))),
            }
        }
    }
    let devs = conn.list_all_node_devices(f).map_err(|e| ctl.fail("Failed to list node devices", e))?;
    let mut entries: Vec<(String, Option<String>)> = devs.iter().map(|d| (d.name().to_string(), d.parent().ok().flatten())).collect();
    entries.sort();
    if cmd.has("json") {
        let arr = entries.iter().map(|(n, p)| json::obj(vec![("name", json::str(n)), ("parent", json::opt_str(p.as_deref()))])).collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    if cmd.has("tree") {
        let mut out = String::new();
        let roots: Vec<&String> =
            entries.iter().filter(|(_, p)| p.as_ref().is_none_or(|p| !entries.iter().any(|(n, _)| n == p))).map(|(n, _)| n).collect();
        for r in roots {
            tree(&entries, r, "", &mut out, 0);
        }
        ctl.print(&out);
        return Ok(());
    }
    let mut out = String::new();
    for (n, _) in &entries {
        out += n;
        out.push('\n');
    }
    ctl.print(&out);
    Ok(())
}

/// virsh's tree layout: children indented under `+- `, `|` continuing siblings.
fn tree(entries: &[(String, Option<String>)], name: &str, indent: &str, out: &mut String, depth: usize) {
    if depth > 64 {
        return;
    }
    out.push_str(name);
    out.push('\n');
    let kids: Vec<&String> = entries.iter().filter(|(_, p)| p.as_deref() == Some(name)).map(|(n, _)| n).collect();
    for (i, k) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        out.push_str(indent);
        out.push_str("  |\n");
        out.push_str(indent);
        out.push_str("  +- ");
        let next = format!("{indent}{}", if last { "     " } else { "  |  " });
        tree(entries, k, &next, out, depth + 1);
    }
}

fn cmd_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let d = lookup_nodedev(ctl, &conn, cmd, "device")?;
    let xml = d.xml_desc(0)?;
    ctl.print(&xml);
    Ok(())
}
