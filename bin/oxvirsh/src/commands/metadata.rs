//! `desc` and `metadata`: a domain's title, description and application XML through
//! `virDomainGetMetadata`/`virDomainSetMetadata`, with virsh's messages. `--edit`
//! opens `$VISUAL`, `$EDITOR` or `vi` on a temporary file, as virsh does.

use super::*;
use crate::parse::{b, s, Argv, CmdDef, CmdResult, Needs, DOMAIN, REQ};
use oxvirt::ErrorCode;
use oxvirt_conf::metadata::{DESCRIPTION, ELEMENT, TITLE};

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "domain", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// The metadata commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "desc",
        "show or set domain's description or title",
        &[
            DOMAIN,
            b("live", "modify/get running state"),
            b("config", "modify/get persistent configuration"),
            b("current", "modify/get current state configuration"),
            b("title", "modify/get the title instead of description"),
            b("edit", "open an editor to modify the description"),
            Argv::opt("new-desc", "message"),
        ],
        cmd_desc
    ),
    cmd!(
        "metadata",
        "show or set domain's custom XML metadata",
        &[
            DOMAIN,
            s("uri", REQ, "URI of the namespace"),
            b("live", "modify/get running state"),
            b("config", "modify/get persistent configuration"),
            b("current", "modify/get current state configuration"),
            b("edit", "use an editor to change the metadata"),
            s("key", 0, "key to be used as a namespace identifier"),
            s("set", 0, "new metadata to set"),
            b("remove", "remove the metadata corresponding to an uri"),
        ],
        cmd_metadata
    ),
];

/// `virshGetDomainDescription`: "" when the domain has none.
fn description(dom: &Domain, typ: i32, flags: u32) -> Result<String, Fail> {
    match dom.metadata(typ, None, flags) {
        Ok(d) => Ok(d),
        Err(e) if e.code == ErrorCode::NoDomainMetadata => Ok(String::new()),
        Err(e) => Err(Fail::Api(e)),
    }
}

/// `vshEditFile`: `text` in a temporary file, edited by the user's editor.
fn edit(ctl: &Ctl, text: &str) -> Result<String, Fail> {
    let dir = std::env::var_os("TMPDIR").map(std::path::PathBuf::from).unwrap_or_else(|| "/tmp".into());
    let path = dir.join(format!("oxvirsh{}-{}.xml", std::process::id(), text.len()));
    std::fs::write(&path, text).map_err(|e| ctl.fail_msg(format!("Failed to create '{}': {e}", path.display())))?;
    let editor = std::env::var("VISUAL").or_else(|_| std::env::var("EDITOR")).unwrap_or_else(|_| "vi".into());
    let status = std::process::Command::new("sh").arg("-c").arg(format!("{editor} {}", path.display())).status();
    let edited = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    match status {
        Ok(st) if st.success() => {}
        _ => return Err(ctl.fail_msg(format!("{editor} {}: the editor failed", path.display()))),
    }
    edited.map_err(|e| ctl.fail_msg(format!("Failed to read '{}': {e}", path.display())))
}

fn cmd_desc(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?.bits();
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.state()?;
    let title = cmd.has("title");
    let typ = if title { TITLE } else { DESCRIPTION };
    // virsh queries with VIR_DOMAIN_XML_INACTIVE under --config (the same bit).
    let query = flags & oxvirt::DomainModFlags::CONFIG.bits();
    let words = cmd.all("new-desc");
    let what = if title { "title" } else { "description" };
    if !cmd.has("edit") && words.is_empty() {
        let desc = description(&dom, typ, query)?;
        if desc.is_empty() {
            let line = format!("No {what} for domain: {}", dom.name());
            ctl.extra(&line);
        } else {
            ctl.print(&desc);
        }
        return Ok(());
    }
    let current = description(&dom, typ, query)?;
    let mut new = if words.is_empty() { current.clone() } else { words.join(" ") };
    if cmd.has("edit") {
        let mut edited = edit(ctl, &new)?;
        if title && edited.ends_with('\n') {
            edited.pop();
        }
        if edited == current {
            let line = format!("Domain {what} not changed\n");
            ctl.extra(&line);
            return Ok(());
        }
        new = edited;
    }
    dom.set_metadata(typ, Some(&new), None, None, flags).map_err(|e| ctl.fail(format!("Failed to set new domain {what}"), e))?;
    let line = format!("Domain {what} updated successfully");
    ctl.extra(&line);
    Ok(())
}

fn cmd_metadata(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = mod_flags(ctl, cmd)?.bits();
    exclusive(ctl, cmd, "edit", "set")?;
    exclusive(ctl, cmd, "remove", "set")?;
    exclusive(ctl, cmd, "remove", "edit")?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let uri = req_str(ctl, cmd, "uri")?.to_string();
    let key = opt_str(ctl, cmd, "key")?.map(str::to_string);
    let set = opt_str(ctl, cmd, "set")?.map(str::to_string);
    let (edit_it, remove) = (cmd.has("edit"), cmd.has("remove"));
    if (set.is_some() || edit_it) && key.is_none() {
        return Err(ctl.fail_msg("namespace key is required when modifying metadata"));
    }
    if set.is_some() || remove {
        dom.set_metadata(ELEMENT, set.as_deref(), key.as_deref(), Some(&uri), flags)?;
        ctl.extra(if remove { "Metadata removed\n" } else { "Metadata modified\n" });
    } else if edit_it {
        let current = dom.metadata(ELEMENT, Some(&uri), flags).unwrap_or_else(|_| "\n".into());
        let edited = edit(ctl, &current)?;
        if edited == current {
            ctl.extra("Metadata not changed");
            return Ok(());
        }
        dom.set_metadata(ELEMENT, Some(&edited), key.as_deref(), Some(&uri), flags)?;
        ctl.extra("Metadata modified\n");
    } else {
        let data = dom.metadata(ELEMENT, Some(&uri), flags)?;
        ctl.print(&format!("{data}\n"));
    }
    Ok(())
}
