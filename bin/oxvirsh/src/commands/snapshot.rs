//! Domain snapshot commands (`snapshot-*`).

use super::*;
use crate::json;
use crate::parse::{b, d, s, Argv, CmdDef, CmdResult, Needs, OptDef, DOMAIN, REQ_OPT};
use crate::table::Table;
use oxvirt::{DomainSnapshot, SnapshotCreateFlags, SnapshotDeleteFlags, SnapshotListFlags, SnapshotRevertFlags};

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");
const SNAP: OptDef = s("snapshotname", 0, "snapshot name");
const CURRENT: OptDef = b("current", "use the current snapshot");

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "snapshot", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Snapshot commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "snapshot-create",
        "create a snapshot from XML",
        &[
            DOMAIN,
            s("xmlfile", 0, "domain snapshot XML"),
            b("redefine", "redefine metadata for existing snapshot"),
            CURRENT,
            b("no-metadata", "take snapshot but create no metadata"),
            b("halt", "halt domain after snapshot is created"),
            b("disk-only", "capture disk state but not vm state"),
            b("reuse-external", "reuse any existing external files"),
            b("quiesce", "quiesce guest's file systems"),
            b("atomic", "require atomic operation"),
            b("live", "take a live snapshot"),
            b("validate", "validate the XML against the schema"),
        ],
        cmd_create
    ),
    cmd!(
        "snapshot-create-as",
        "create a snapshot from a set of args",
        &[
            DOMAIN,
            s("name", 0, "name of snapshot"),
            s("description", 0, "description of snapshot"),
            b("print-xml", "print XML document rather than create"),
            b("no-metadata", "take snapshot but create no metadata"),
            b("halt", "halt domain after snapshot is created"),
            b("disk-only", "capture disk state but not vm state"),
            b("reuse-external", "reuse any existing external files"),
            b("quiesce", "quiesce guest's file systems"),
            b("atomic", "require atomic operation"),
            b("live", "take a live snapshot"),
            b("validate", "validate the XML against the schema"),
            s("memspec", REQ_OPT, "memory attributes: [file=]name[,snapshot=type]"),
            Argv::opt("diskspec", "disk attributes: disk[,snapshot=type][,driver=type][,file=name]"),
        ],
        cmd_create_as
    ),
    cmd!(
        "snapshot-list",
        "List snapshots for a domain",
        &[
            DOMAIN,
            b("parent", "add a column showing parent snapshot"),
            b("roots", "list only snapshots without parents"),
            b("leaves", "list only snapshots without children"),
            b("no-leaves", "list only snapshots that are not leaves (with children)"),
            b("metadata", "list only snapshots that have metadata that would prevent undefine"),
            b("no-metadata", "list only snapshots that have no metadata managed by libvirt"),
            b("inactive", "filter by snapshots taken while inactive"),
            b("active", "filter by snapshots taken while active (full system snapshots)"),
            b("disk-only", "filter by disk-only snapshots"),
            b("internal", "filter by internal snapshots"),
            b("external", "filter by external snapshots"),
            b("tree", "list snapshots in a tree"),
            s("from", 0, "limit list to children of given snapshot"),
            CURRENT,
            b("descendants", "with --from, list all descendants"),
            b("name", "list snapshot names only"),
            b("topological", "sort list topologically rather than by name"),
            JSON,
        ],
        cmd_list
    ),
    cmd!("snapshot-info", "snapshot information", &[DOMAIN, SNAP, CURRENT, JSON], cmd_info),
    cmd!(
        "snapshot-current",
        "Get or set the current snapshot",
        &[
            DOMAIN,
            b("name", "list the name, rather than the full xml"),
            b("security-info", "include security sensitive information in XML dump"),
            s("snapshotname", 0, "name of existing snapshot to make current")
        ],
        cmd_current
    ),
    cmd!(
        "snapshot-delete",
        "Delete a domain snapshot",
        &[
            DOMAIN,
            SNAP,
            CURRENT,
            b("children", "delete snapshot and all children"),
            b("children-only", "delete children but not snapshot"),
            b("metadata", "delete only libvirt metadata, leaving snapshot contents behind")
        ],
        cmd_delete
    ),
    cmd!(
        "snapshot-revert",
        "Revert a domain to a snapshot",
        &[
            DOMAIN,
            SNAP,
            CURRENT,
            b("running", "after reverting, change state to running"),
            b("paused", "after reverting, change state to paused"),
            b("force", "try harder on risky reverts"),
            b("reset-nvram", "re-initialize NVRAM from its pristine template")
        ],
        cmd_revert
    ),
    cmd!("snapshot-parent", "Get the name of the parent of a snapshot", &[DOMAIN, SNAP, CURRENT], cmd_parent),
    cmd!(
        "snapshot-dumpxml",
        "Dump XML for a domain snapshot",
        &[
            DOMAIN,
            d("snapshotname", "snapshot name"),
            b("security-info", "include security sensitive information in XML dump"),
            s("xpath", REQ_OPT, "xpath expression"),
            b("wrap", "wrap xpath results")
        ],
        cmd_dumpxml
    ),
];

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;").replace('"', "&quot;")
}

fn create_flags(cmd: &Cmd) -> SnapshotCreateFlags {
    let mut f = SnapshotCreateFlags::empty();
    for (o, b) in [
        ("redefine", SnapshotCreateFlags::REDEFINE),
        ("current", SnapshotCreateFlags::CURRENT),
        ("no-metadata", SnapshotCreateFlags::NO_METADATA),
        ("halt", SnapshotCreateFlags::HALT),
        ("disk-only", SnapshotCreateFlags::DISK_ONLY),
        ("reuse-external", SnapshotCreateFlags::REUSE_EXT),
        ("quiesce", SnapshotCreateFlags::QUIESCE),
        ("atomic", SnapshotCreateFlags::ATOMIC),
        ("live", SnapshotCreateFlags::LIVE),
        ("validate", SnapshotCreateFlags::VALIDATE),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    f
}

fn cmd_create(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let from = opt_str(ctl, cmd, "xmlfile")?;
    let xml = match from {
        Some(f) => read_file(ctl, f)?,
        None => "<domainsnapshot/>".to_string(),
    };
    let snap = dom.snapshot_create_xml(&xml, create_flags(cmd))?;
    match from {
        Some(f) => ctl.extra(&format!("Domain snapshot {} created from '{f}'", snap.name())),
        None => ctl.extra(&format!("Domain snapshot {} created", snap.name())),
    }
    Ok(())
}

fn cmd_create_as(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut xml = String::from("<domainsnapshot>\n");
    if let Some(n) = opt_str(ctl, cmd, "name")? {
        xml += &format!("  <name>{}</name>\n", xml_escape(n));
    }
    if let Some(d) = opt_str(ctl, cmd, "description")? {
        xml += &format!("  <description>{}</description>\n", xml_escape(d));
    }
    if let Some(m) = opt_str(ctl, cmd, "memspec")? {
        let mut file = "";
        let mut snapshot = "external";
        for part in m.split(',') {
            match part.split_once('=') {
                Some(("file", v)) => file = v,
                Some(("snapshot", v)) => snapshot = v,
                None if file.is_empty() => file = part,
                _ => return Err(ctl.fail_msg(format!("unable to parse memspec: {m}"))),
            }
        }
        xml += &format!("  <memory snapshot='{}' file='{}'/>\n", xml_escape(snapshot), xml_escape(file));
    }
    let disks = cmd.all("diskspec");
    if !disks.is_empty() {
        xml += "  <disks>\n";
        for d in disks {
            let mut parts = d.split(',');
            let name = parts.next().unwrap_or_default();
            let mut snapshot = None;
            let mut file = None;
            for p in parts {
                match p.split_once('=') {
                    Some(("snapshot", v)) => snapshot = Some(v),
                    Some(("file", v)) => file = Some(v),
                    Some(("driver", _)) | Some(("stype", _)) => {}
                    _ => return Err(ctl.fail_msg(format!("unable to parse diskspec: {d}"))),
                }
            }
            xml += &format!("    <disk name='{}'", xml_escape(name));
            if let Some(s) = snapshot {
                xml += &format!(" snapshot='{}'", xml_escape(s));
            }
            match file {
                Some(f) => xml += &format!(">\n      <source file='{}'/>\n    </disk>\n", xml_escape(f)),
                None => xml += "/>\n",
            }
        }
        xml += "  </disks>\n";
    }
    xml += "</domainsnapshot>\n";
    if cmd.has("print-xml") {
        // virsh prints the document (which ends in a newline) plus a newline.
        ctl.print(&format!("{xml}\n"));
        return Ok(());
    }
    let snap = dom.snapshot_create_xml(&xml, create_flags(cmd))?;
    ctl.extra(&format!("Domain snapshot {} created", snap.name()));
    Ok(())
}

/// The snapshot named by `snapshotname` or `--current` (virsh's `virshLookupSnapshot`).
fn lookup_snap(ctl: &Ctl, cmd: &Cmd, dom: &oxvirt::Domain) -> Result<DomainSnapshot, Fail> {
    let name = opt_str(ctl, cmd, "snapshotname")?;
    if cmd.has("current") && name.is_some() {
        return Err(ctl.fail_msg("--snapshotname and --current are mutually exclusive"));
    }
    match name {
        Some(n) => Ok(dom.snapshot_lookup_by_name(n)?),
        None => current(ctl, dom),
    }
}

fn current(ctl: &Ctl, dom: &oxvirt::Domain) -> Result<DomainSnapshot, Fail> {
    match dom.has_current_snapshot() {
        Ok(true) => Ok(dom.snapshot_current()?),
        Ok(false) => Err(ctl.fail_msg(format!("domain '{}' has no current snapshot", dom.name()))),
        Err(e) => Err(Fail::Api(e)),
    }
}

/// (creation time seconds, state) from a snapshot's XML.
fn snap_meta(s: &DomainSnapshot) -> (Option<i64>, String, String) {
    let xml = s.xml_desc(0).unwrap_or_default();
    let body = match (xml.find("<domain"), xml.find("<domainsnapshot")) {
        (Some(d), Some(ds)) if d > ds => &xml[..d],
        _ => xml.as_str(),
    };
    let t = xml_text(body, "creationTime").and_then(|t| t.trim().parse().ok());
    let st = xml_text(body, "state").unwrap_or_default();
    let external = st == "disk-snapshot" || body.contains("<memory snapshot='external'") || body.contains("snapshot='external'");
    (t, st, if external { "external".into() } else { "internal".into() })
}

/// `YYYY-MM-DD HH:MM:SS +0000` for a Unix time (UTC).
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000", secs / 3600, secs % 3600 / 60, secs % 60)
}

fn cmd_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    for (a, b) in [
        ("tree", "name"),
        ("parent", "roots"),
        ("parent", "tree"),
        ("roots", "tree"),
        ("roots", "from"),
        ("roots", "current"),
        ("leaves", "tree"),
        ("from", "current"),
    ] {
        exclusive(ctl, cmd, a, b)?;
    }
    let mut f = SnapshotListFlags::empty();
    for (o, b) in [
        ("roots", SnapshotListFlags::ROOTS),
        ("leaves", SnapshotListFlags::LEAVES),
        ("no-leaves", SnapshotListFlags::NO_LEAVES),
        ("metadata", SnapshotListFlags::METADATA),
        ("no-metadata", SnapshotListFlags::NO_METADATA),
        ("inactive", SnapshotListFlags::INACTIVE),
        ("active", SnapshotListFlags::ACTIVE),
        ("disk-only", SnapshotListFlags::DISK_ONLY),
        ("internal", SnapshotListFlags::INTERNAL),
        ("external", SnapshotListFlags::EXTERNAL),
        ("topological", SnapshotListFlags::TOPOLOGICAL),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    let mut snaps = if let Some(from) = opt_str(ctl, cmd, "from")? {
        let s = dom.snapshot_lookup_by_name(from)?;
        let mut cf = f;
        if cmd.has("descendants") {
            cf |= SnapshotListFlags::ROOTS;
        }
        s.list_all_children(cf)?
    } else if cmd.has("current") {
        let s = current(ctl, &dom)?;
        let mut cf = f;
        if cmd.has("descendants") {
            cf |= SnapshotListFlags::ROOTS;
        }
        s.list_all_children(cf)?
    } else {
        dom.list_all_snapshots(f)?
    };
    if !cmd.has("topological") {
        snaps.sort_by(|a, b| a.name().cmp(b.name()));
    }
    if cmd.has("json") {
        let arr = snaps
            .iter()
            .map(|s| {
                let (t, st, _) = snap_meta(s);
                json::obj(vec![
                    ("name", json::str(s.name())),
                    ("creation_time", t.map(json::num).unwrap_or(json::Value::Null)),
                    ("state", json::str(&st)),
                    ("parent", s.parent().ok().map(|p| json::str(p.name())).unwrap_or(json::Value::Null)),
                ])
            })
            .collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    if cmd.has("name") {
        let mut o = String::new();
        for s in &snaps {
            o += s.name();
            o.push('\n');
        }
        ctl.print(&o);
        return Ok(());
    }
    if cmd.has("tree") {
        let entries: Vec<(String, Option<String>)> =
            snaps.iter().map(|s| (s.name().to_string(), s.parent().ok().map(|p| p.name().to_string()))).collect();
        let mut out = String::new();
        for (n, p) in &entries {
            if p.as_ref().is_none_or(|p| !entries.iter().any(|(x, _)| x == p)) {
                tree(&entries, n, "", &mut out, 0);
            }
        }
        ctl.print(&out);
        return Ok(());
    }
    let mut t = if cmd.has("parent") {
        Table::new(&["Name", "Creation Time", "State", "Parent"])
    } else {
        Table::new(&["Name", "Creation Time", "State"])
    };
    for s in &snaps {
        let (tm, st, _) = snap_meta(s);
        let when = tm.map(format_time).unwrap_or_default();
        if cmd.has("parent") {
            let p = s.parent().ok().map(|p| p.name().to_string()).unwrap_or_default();
            t.row(&[s.name().to_string(), when, st, p]);
        } else {
            t.row(&[s.name().to_string(), when, st]);
        }
    }
    ctl.print_table(&t);
    Ok(())
}

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

fn cmd_info(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let s = lookup_snap(ctl, cmd, &dom)?;
    let is_current = s.is_current().ok();
    let (_, st, loc) = snap_meta(&s);
    let parent = s.parent().ok().map(|p| p.name().to_string());
    let children = s.list_all_children(SnapshotListFlags::empty()).map(|v| v.len()).ok();
    let desc = s.list_all_children(SnapshotListFlags::ROOTS).map(|v| v.len()).ok();
    let meta = s.has_metadata().ok();
    if cmd.has("json") {
        let v = json::obj(vec![
            ("name", json::str(s.name())),
            ("domain", json::str(dom.name())),
            ("current", is_current.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("state", json::str(&st)),
            ("location", json::str(&loc)),
            ("parent", json::opt_str(parent.as_deref())),
            ("children", children.map(|c| json::num(c as u64)).unwrap_or(json::Value::Null)),
            ("descendants", desc.map(|c| json::num(c as u64)).unwrap_or(json::Value::Null)),
            ("metadata", meta.map(json::Value::Bool).unwrap_or(json::Value::Null)),
        ]);
        ctl.print(&json::render(&v));
        return Ok(());
    }
    let mut o = String::new();
    o += &kv("Name:", s.name());
    o += &kv("Domain:", dom.name());
    if let Some(c) = is_current {
        o += &kv("Current:", yes_no(c));
    }
    o += &kv("State:", &st);
    o += &kv("Location:", &loc);
    o += &kv("Parent:", parent.as_deref().unwrap_or("-"));
    if let Some(c) = children {
        o += &kv("Children:", c);
    }
    if let Some(c) = desc {
        o += &kv("Descendants:", c);
    }
    if let Some(m) = meta {
        o += &kv("Metadata:", yes_no(m));
    }
    ctl.print(&o);
    Ok(())
}

fn cmd_current(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    if let Some(name) = opt_str(ctl, cmd, "snapshotname")? {
        let s = dom.snapshot_lookup_by_name(name)?;
        let xml = s.xml_desc(0)?;
        dom.snapshot_create_xml(&xml, SnapshotCreateFlags::REDEFINE | SnapshotCreateFlags::CURRENT)?;
        ctl.extra(&format!("Snapshot {name} set as current"));
        return Ok(());
    }
    let s = current(ctl, &dom)?;
    if cmd.has("name") {
        ctl.print(s.name());
    } else {
        let xml = s.xml_desc(u32::from(cmd.has("security-info")))?;
        ctl.print(&xml);
    }
    Ok(())
}

fn cmd_delete(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let s = lookup_snap(ctl, cmd, &dom)?;
    let mut f = SnapshotDeleteFlags::empty();
    for (o, b) in [
        ("children", SnapshotDeleteFlags::CHILDREN),
        ("children-only", SnapshotDeleteFlags::CHILDREN_ONLY),
        ("metadata", SnapshotDeleteFlags::METADATA_ONLY),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    let name = s.name().to_string();
    s.delete(f).map_err(|e| ctl.fail(format!("Failed to delete snapshot {name}"), e))?;
    if cmd.has("children-only") {
        ctl.extra(&format!("Domain snapshot {name} children deleted\n"));
    } else {
        ctl.extra(&format!("Domain snapshot {name} deleted\n"));
    }
    Ok(())
}

fn cmd_revert(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let s = lookup_snap(ctl, cmd, &dom)?;
    let mut f = SnapshotRevertFlags::empty();
    for (o, b) in [
        ("running", SnapshotRevertFlags::RUNNING),
        ("paused", SnapshotRevertFlags::PAUSED),
        ("force", SnapshotRevertFlags::FORCE),
        ("reset-nvram", SnapshotRevertFlags::RESET_NVRAM),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    let name = s.name().to_string();
    s.revert(f).map_err(|e| ctl.fail(format!("Failed to revert snapshot {name}"), e))?;
    ctl.extra(&format!("Domain snapshot {name} reverted\n"));
    Ok(())
}

fn cmd_parent(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let s = lookup_snap(ctl, cmd, &dom)?;
    match s.parent() {
        Ok(p) => {
            ctl.print(p.name());
            Ok(())
        }
        Err(_) => Err(ctl.fail_msg(format!("snapshot '{}' has no parent", s.name()))),
    }
}

fn cmd_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let name = req_str(ctl, cmd, "snapshotname")?;
    let s = dom.snapshot_lookup_by_name(name)?;
    let xml = s.xml_desc(u32::from(cmd.has("security-info")))?;
    ctl.print(&xml);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 +0000");
        assert_eq!(format_time(1_795_670_324), "2026-11-26 05:18:44 +0000");
    }
}
