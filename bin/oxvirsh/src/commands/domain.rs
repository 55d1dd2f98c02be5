//! Domain commands: listing and information (`list`, `dominfo`, `domstate`, `domid`,
//! `domname`, `domuuid`, `dumpxml`), lifecycle (`define` ... `managedsave`) and
//! tuning (`autostart`, `setmem`, `setmaxmem`, `setvcpus`).

use super::*;
use crate::json;
use crate::parse::{alias, b, d, n, s, CmdDef, CmdResult, Complete, Fail, Needs, OptDef, OptKind, DOMAIN, FILE, REQ, REQ_OPT};
use crate::table::Table;
use oxvirt::{
    DomainCreateFlags, DomainDefineFlags, DomainDestroyFlags, DomainModFlags, DomainRebootFlags, DomainSaveRestoreFlags,
    DomainShutdownFlags, DomainState, DomainUndefineFlags, DomainXmlFlags, ListDomainsFlags, SnapshotListFlags,
};

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");
const CONFIG: OptDef = b("config", "affect next boot");
const LIVE: OptDef = b("live", "affect running domain");
const CURRENT: OptDef = b("current", "affect current domain");

macro_rules! cmd {
    ($name:expr, $group:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: $group, help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Domain commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "list",
        "monitor",
        "list domains",
        &[
            b("inactive", "list inactive domains"),
            b("all", "list inactive & active domains"),
            b("transient", "list transient domains"),
            b("persistent", "list persistent domains"),
            b("with-snapshot", "list domains with existing snapshot"),
            b("without-snapshot", "list domains without a snapshot"),
            b("with-checkpoint", "list domains with existing checkpoint"),
            b("without-checkpoint", "list domains without a checkpoint"),
            b("state-running", "list domains in running state"),
            b("state-paused", "list domains in paused state"),
            b("state-shutoff", "list domains in shutoff state"),
            b("state-other", "list domains in other states"),
            b("autostart", "list domains with autostart enabled"),
            b("no-autostart", "list domains with autostart disabled"),
            b("with-managed-save", "list domains with managed save state"),
            b("without-managed-save", "list domains without managed save"),
            b("uuid", "list uuid's only"),
            b("name", "list domain names only"),
            b("id", "list domain IDs only"),
            b("table", "list table (default)"),
            b("managed-save", "mark inactive domains with managed save state"),
            b("title", "show domain title"),
            JSON,
        ],
        cmd_list
    ),
    cmd!("dominfo", "monitor", "domain information", &[DOMAIN, JSON], cmd_dominfo),
    cmd!("domstate", "monitor", "domain state", &[DOMAIN, b("reason", "also print reason for the state"), JSON], cmd_domstate),
    cmd!("domid", "domain", "convert a domain name or UUID to domain id", &[DOMAIN], cmd_domid),
    cmd!("domname", "domain", "convert a domain id or UUID to domain name", &[OptDef { help: "domain id or uuid", ..DOMAIN }], cmd_domname),
    cmd!("domuuid", "domain", "convert a domain name or id to domain UUID", &[DOMAIN], cmd_domuuid),
    cmd!(
        "dumpxml",
        "domain",
        "domain information in XML",
        &[
            DOMAIN,
            b("inactive", "show inactive defined XML"),
            b("security-info", "include security sensitive information in XML dump"),
            b("update-cpu", "update guest CPU according to host CPU"),
            b("migratable", "provide XML suitable for migrations"),
            s("xpath", REQ_OPT, "xpath expression to filter the XML document"),
            b("wrap", "wrap xpath results in a common root element"),
        ],
        cmd_dumpxml
    ),
    cmd!(
        "domxml-to-native",
        "domain",
        "Convert domain XML to native guest configuration",
        &[
            OptDef { name: "format", kind: OptKind::Data, flags: REQ, help: "target config data type format", complete: Complete::None },
            s("domain", REQ_OPT, "domain name, id or uuid"),
            s("xml", 0, "xml data file to export from"),
        ],
        cmd_domxml_to_native
    ),
    cmd!(
        "define",
        "domain",
        "define (but don't start) a domain from an XML file",
        &[FILE, b("validate", "validate the XML against the schema")],
        cmd_define
    ),
    cmd!(
        "undefine",
        "domain",
        "undefine a domain",
        &[
            DOMAIN,
            b("managed-save", "remove domain managed state file"),
            s("storage", 0, "remove associated storage volumes"),
            b("remove-all-storage", "remove all associated storage volumes"),
            alias("delete-snapshots", "delete-storage-volume-snapshots"),
            b("delete-storage-volume-snapshots", "delete snapshots associated with volume(s)"),
            b("wipe-storage", "wipe data on the removed volumes"),
            b("snapshots-metadata", "remove all domain snapshot metadata"),
            b("checkpoints-metadata", "remove all domain checkpoint metadata"),
            b("nvram", "remove nvram file"),
            b("keep-nvram", "keep nvram file"),
            b("tpm", "remove TPM state"),
            b("keep-tpm", "keep TPM state"),
        ],
        cmd_undefine
    ),
    cmd!(
        "create",
        "domain",
        "create a domain from an XML file",
        &[
            FILE,
            b("console", "attach to console after creation"),
            b("paused", "leave the guest paused after creation"),
            b("autodestroy", "automatically destroy the guest when virsh disconnects"),
            s("pass-fds", 0, "pass file descriptors N,M,... to the guest"),
            b("validate", "validate the XML against the schema"),
            b("reset-nvram", "re-initialize NVRAM from its pristine template"),
        ],
        cmd_create
    ),
    cmd!(
        "start",
        "domain",
        "start a (previously defined) inactive domain",
        &[
            DOMAIN,
            b("console", "attach to console after creation"),
            b("paused", "leave the guest paused after creation"),
            b("autodestroy", "automatically destroy the guest when virsh disconnects"),
            b("bypass-cache", "avoid file system cache when loading"),
            b("force-boot", "force fresh boot by discarding any managed save"),
            s("pass-fds", 0, "pass file descriptors N,M,... to the guest"),
            b("reset-nvram", "re-initialize NVRAM from its pristine template"),
        ],
        cmd_start
    ),
    cmd!(
        "destroy",
        "domain",
        "destroy (stop) a domain",
        &[DOMAIN, b("graceful", "terminate gracefully"), b("remove-logs", "remove domain logs")],
        cmd_destroy
    ),
    cmd!(
        "shutdown",
        "domain",
        "gracefully shutdown a domain",
        &[DOMAIN, s("mode", 0, "shutdown mode: acpi|agent|initctl|signal|paravirt")],
        cmd_shutdown
    ),
    cmd!("reboot", "domain", "reboot a domain", &[DOMAIN, s("mode", 0, "shutdown mode: acpi|agent|initctl|signal|paravirt")], cmd_reboot),
    cmd!("suspend", "domain", "suspend a domain", &[DOMAIN], cmd_suspend),
    cmd!("resume", "domain", "resume a domain", &[DOMAIN], cmd_resume),
    cmd!(
        "save",
        "domain",
        "save a domain state to a file",
        &[
            DOMAIN,
            d("file", "where to save the data"),
            b("bypass-cache", "avoid file system cache when saving"),
            s("xml", 0, "filename containing updated XML for the target"),
            b("running", "set domain to be running on restore"),
            b("paused", "set domain to be paused on restore"),
            b("verbose", "display the progress of save"),
        ],
        cmd_save
    ),
    cmd!(
        "restore",
        "domain",
        "restore a domain from a saved state in a file",
        &[
            d("file", "the state to restore"),
            b("bypass-cache", "avoid file system cache when restoring"),
            s("xml", 0, "filename containing updated XML for the target"),
            b("running", "restore domain into running state"),
            b("paused", "restore domain into paused state"),
            b("reset-nvram", "re-initialize NVRAM from its pristine template"),
        ],
        cmd_restore
    ),
    cmd!(
        "managedsave",
        "domain",
        "managed save of a domain state",
        &[
            DOMAIN,
            b("bypass-cache", "avoid file system cache when saving"),
            b("running", "set domain to be running on next start"),
            b("paused", "set domain to be paused on next start"),
            b("verbose", "display the progress of save"),
        ],
        cmd_managedsave
    ),
    cmd!("autostart", "domain", "autostart a domain", &[DOMAIN, b("disable", "disable autostarting")], cmd_autostart),
    cmd!(
        "setmem",
        "domain",
        "change memory allocation",
        &[DOMAIN, alias("kilobytes", "size"), n("size", REQ, "new memory size, as scaled integer (default KiB)"), CONFIG, LIVE, CURRENT],
        cmd_setmem
    ),
    cmd!(
        "setmaxmem",
        "domain",
        "change maximum memory limit",
        &[
            DOMAIN,
            alias("kilobytes", "size"),
            n("size", REQ, "new maximum memory size, as scaled integer (default KiB)"),
            CONFIG,
            LIVE,
            CURRENT
        ],
        cmd_setmaxmem
    ),
    cmd!(
        "setvcpus",
        "domain",
        "change number of virtual CPUs",
        &[
            DOMAIN,
            n("count", REQ, "number of virtual CPUs"),
            b("maximum", "set maximum limit on next boot"),
            CONFIG,
            LIVE,
            CURRENT,
            b("guest", "modify cpu state in the guest"),
            b("hotpluggable", "make added vcpus hot(un)pluggable"),
        ],
        cmd_setvcpus
    ),
];

/// The state word virsh prints.
pub fn state_str(s: DomainState) -> &'static str {
    s.as_str()
}

fn id_str(d: &oxvirt::Domain) -> String {
    d.id().map(|i| i.to_string()).unwrap_or_else(|| "-".into())
}

fn cmd_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let mut flags = ListDomainsFlags::ACTIVE;
    if cmd.has("inactive") || cmd.has("state-shutoff") {
        flags = ListDomainsFlags::INACTIVE;
    }
    if cmd.has("all") {
        flags = ListDomainsFlags::INACTIVE | ListDomainsFlags::ACTIVE;
    }
    let filters = [
        ("persistent", ListDomainsFlags::PERSISTENT),
        ("transient", ListDomainsFlags::TRANSIENT),
        ("with-managed-save", ListDomainsFlags::MANAGEDSAVE),
        ("without-managed-save", ListDomainsFlags::NO_MANAGEDSAVE),
        ("autostart", ListDomainsFlags::AUTOSTART),
        ("no-autostart", ListDomainsFlags::NO_AUTOSTART),
        ("with-snapshot", ListDomainsFlags::HAS_SNAPSHOT),
        ("without-snapshot", ListDomainsFlags::NO_SNAPSHOT),
        ("with-checkpoint", ListDomainsFlags::HAS_CHECKPOINT),
        ("without-checkpoint", ListDomainsFlags::NO_CHECKPOINT),
        ("state-running", ListDomainsFlags::RUNNING),
        ("state-paused", ListDomainsFlags::PAUSED),
        ("state-shutoff", ListDomainsFlags::SHUTOFF),
        ("state-other", ListDomainsFlags::OTHER),
    ];
    for (name, f) in filters {
        if cmd.has(name) {
            flags |= f;
        }
    }
    exclusive(ctl, cmd, "table", "name")?;
    exclusive(ctl, cmd, "table", "uuid")?;
    exclusive(ctl, cmd, "table", "id")?;
    let (opt_uuid, opt_name, opt_id) = (cmd.has("uuid"), cmd.has("name"), cmd.has("id"));
    let opt_table = cmd.has("table") || (!opt_uuid && !opt_name && !opt_id);
    let mut doms = conn.list_all_domains(flags).map_err(|e| ctl.fail("Failed to list domains", e))?;
    // Running domains by id first, then inactive ones by name (virsh's sorter).
    doms.sort_by(|a, b| match (a.id(), b.id()) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name().to_lowercase().cmp(&b.name().to_lowercase()),
    });
    if cmd.has("json") {
        let mut arr = Vec::new();
        for d in &doms {
            let st = d.state().ok();
            arr.push(json::obj(vec![
                ("id", d.id().map(json::num).unwrap_or(json::Value::Null)),
                ("name", json::str(d.name())),
                ("uuid", json::str(&d.uuid_string())),
                ("state", st.map(|(s, _)| json::str(state_str(s))).unwrap_or(json::Value::Null)),
                ("title", if cmd.has("title") { json::str(&title_of(d)) } else { json::Value::Null }),
            ]));
        }
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    let mut table = if cmd.has("title") { Table::new(&["Id", "Name", "State", "Title"]) } else { Table::new(&["Id", "Name", "State"]) };
    let mut out = String::new();
    for d in &doms {
        let id = id_str(d);
        if opt_table {
            let Ok((mut st, _)) = d.state() else { continue };
            let mut word = state_str(st);
            if cmd.has("managed-save") && st == DomainState::Shutoff && d.has_managed_save().unwrap_or(false) {
                word = "saved";
                st = DomainState::Shutoff;
            }
            let _ = st;
            if cmd.has("title") {
                table.row(&[id.as_str(), d.name(), word, title_of(d).as_str()]);
            } else {
                table.row(&[id.as_str(), d.name(), word]);
            }
        } else {
            let mut sep = "";
            if opt_uuid {
                out.push_str(&d.uuid_string());
                sep = " ";
            }
            if opt_id {
                if d.id().is_none() && !opt_uuid && !opt_name {
                    continue;
                }
                out.push_str(sep);
                out.push_str(&id);
                sep = " ";
            }
            if opt_name {
                out.push_str(sep);
                out.push_str(d.name());
            }
            out.push('\n');
        }
    }
    if opt_table {
        out = table.render_with(!ctl.quiet);
    }
    ctl.print(&out);
    Ok(())
}

/// The domain's `<title>` (first line), or empty.
fn title_of(d: &oxvirt::Domain) -> String {
    let xml = d.xml_desc(DomainXmlFlags::empty()).unwrap_or_default();
    let t = xml_text(&xml, "title").unwrap_or_default();
    t.lines().next().unwrap_or("").to_string()
}

fn cmd_dominfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let info = dom.info()?;
    let os = dom.os_type().ok();
    let persistent = dom.is_persistent().ok();
    let autostart = dom.autostart().ok();
    let managed = dom.has_managed_save().ok();
    // virsh: a driver without a security model is fine (NO_SUPPORT), any other
    // failure ends the command after the lines printed so far.
    let (sec, sec_err) = match conn.node_security_model() {
        Ok(m) => (Some(m).filter(|m| !m.model.is_empty()), None),
        Err(e) if is_no_support(&e) => (None, None),
        Err(e) => (None, Some(e)),
    };
    let (label, label_err) = match &sec {
        Some(_) => match dom.security_label() {
            Ok(l) => (Some(l).filter(|l| !l.label.is_empty()), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    if cmd.has("json") {
        let v = json::obj(vec![
            ("id", dom.id().map(json::num).unwrap_or(json::Value::Null)),
            ("name", json::str(dom.name())),
            ("uuid", json::str(&dom.uuid_string())),
            ("os_type", os.as_deref().map(json::str).unwrap_or(json::Value::Null)),
            ("state", json::str(state_str(info.state))),
            ("vcpus", json::num(info.nr_virt_cpu)),
            ("cpu_time_ns", json::num(info.cpu_time_ns)),
            ("max_memory_kib", json::num(info.max_mem_kib)),
            ("used_memory_kib", json::num(info.memory_kib)),
            ("persistent", persistent.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("autostart", autostart.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("managed_save", managed.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("security_model", sec.as_ref().map(|s| json::str(&s.model)).unwrap_or(json::Value::Null)),
            ("security_doi", sec.as_ref().map(|s| json::str(&s.doi)).unwrap_or(json::Value::Null)),
            ("security_label", label.as_ref().map(|l| json::str(&l.label)).unwrap_or(json::Value::Null)),
        ]);
        ctl.print(&json::render(&v));
        return Ok(());
    }
    let mut o = String::new();
    o += &kv("Id:", id_str(&dom));
    o += &kv("Name:", dom.name());
    o += &kv("UUID:", dom.uuid_string());
    if let Some(os) = &os {
        o += &kv("OS Type:", os);
    }
    o += &kv("State:", state_str(info.state));
    o += &kv("CPU(s):", info.nr_virt_cpu);
    if info.cpu_time_ns != 0 {
        o += &kv("CPU time:", format!("{:.1}s", info.cpu_time_ns as f64 / 1e9));
    }
    if info.max_mem_kib != u64::from(u32::MAX) && info.max_mem_kib != u64::MAX {
        o += &kv("Max memory:", format!("{} KiB", info.max_mem_kib));
    } else {
        o += &kv("Max memory:", "no limit");
    }
    o += &kv("Used memory:", format!("{} KiB", info.memory_kib));
    o += &kv("Persistent:", persistent.map(yes_no).unwrap_or("unknown"));
    if let Some(a) = autostart {
        o += &kv("Autostart:", if a { "enable" } else { "disable" });
    }
    o += &kv("Managed save:", managed.map(yes_no).unwrap_or("unknown"));
    if let Some(s) = &sec {
        o += &kv("Security model:", &s.model);
        o += &kv("Security DOI:", &s.doi);
        if let Some(l) = &label {
            o += &kv("Security label:", format!("{} ({})", l.label, if l.enforcing { "enforcing" } else { "permissive" }));
        }
    }
    ctl.print(&o);
    match sec_err.or(label_err) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn cmd_domstate(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let (st, reason) = dom.state()?;
    if cmd.has("json") {
        let v = json::obj(vec![
            ("state", json::str(state_str(st))),
            ("reason", json::str(oxvirt::state_reason_str(st, reason))),
            ("reason_code", json::num(reason)),
        ]);
        ctl.print(&json::render(&v));
    } else if cmd.has("reason") {
        ctl.print(&format!("{} ({})\n", state_str(st), oxvirt::state_reason_str(st, reason)));
    } else {
        ctl.print(&format!("{}\n", state_str(st)));
    }
    Ok(())
}

fn cmd_domid(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    ctl.print(&format!("{}\n", id_str(&dom)));
    Ok(())
}

fn cmd_domname(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    ctl.print(&format!("{}\n", dom.name()));
    Ok(())
}

fn cmd_domuuid(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    ctl.print(&format!("{}\n", dom.uuid_string()));
    Ok(())
}

fn cmd_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut f = DomainXmlFlags::empty();
    for (o, b) in [
        ("inactive", DomainXmlFlags::INACTIVE),
        ("security-info", DomainXmlFlags::SECURE),
        ("update-cpu", DomainXmlFlags::UPDATE_CPU),
        ("migratable", DomainXmlFlags::MIGRATABLE),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    if cmd.has("xpath") {
        return Err(ctl.fail_msg("--xpath is not supported by oxvirsh"));
    }
    let xml = dom.xml_desc(f)?;
    ctl.print(&xml);
    Ok(())
}

/// virsh's `domxml-to-native FORMAT (--domain DOM | --xml FILE)`.
fn cmd_domxml_to_native(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let format = req_str(ctl, cmd, "format")?;
    let file = opt_str(ctl, cmd, "xml")?;
    if cmd.has("domain") && file.is_some() {
        return Err(ctl.fail_msg("Options --domain and --xml are mutually exclusive"));
    }
    let conn = ctl.conn()?;
    let xml = if cmd.has("domain") {
        let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
        dom.xml_desc(DomainXmlFlags::INACTIVE).map_err(|e| ctl.fail("failed to retrieve XML", e))?
    } else if let Some(f) = file {
        read_file(ctl, f)?
    } else {
        return Err(ctl.fail_msg("need either domain or domain XML"));
    };
    let native = conn.domain_xml_to_native(format, &xml, 0).map_err(Fail::Api)?;
    ctl.print(&native);
    Ok(())
}

fn cmd_define(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let flags = if cmd.has("validate") { DomainDefineFlags::VALIDATE } else { DomainDefineFlags::empty() };
    let dom = conn.domain_define_xml(&xml, flags).map_err(|e| ctl.fail(format!("Failed to define domain from {file}"), e))?;
    ctl.extra(&format!("Domain '{}' defined from {file}\n", dom.name()));
    Ok(())
}

fn cmd_undefine(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut f = DomainUndefineFlags::empty();
    for (o, b) in [
        ("managed-save", DomainUndefineFlags::MANAGED_SAVE),
        ("snapshots-metadata", DomainUndefineFlags::SNAPSHOTS_METADATA),
        ("checkpoints-metadata", DomainUndefineFlags::CHECKPOINTS_METADATA),
        ("nvram", DomainUndefineFlags::NVRAM),
        ("keep-nvram", DomainUndefineFlags::KEEP_NVRAM),
        ("tpm", DomainUndefineFlags::TPM),
        ("keep-tpm", DomainUndefineFlags::KEEP_TPM),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    exclusive(ctl, cmd, "nvram", "keep-nvram")?;
    exclusive(ctl, cmd, "tpm", "keep-tpm")?;
    let name = dom.name().to_string();
    // virsh's flow: learn whether managed save or snapshot metadata exist, drop the
    // flags that do not matter, and use virDomainUndefineFlags only when that is safe;
    // otherwise undefine piecewise with its own refusals.
    let mut ms_safe = cmd.has("managed-save");
    let mut snap_safe = cmd.has("snapshots-metadata");
    let (mut has_ms, mut has_snaps, mut has_snap_meta) = (false, 0, 0);
    if !dom.is_active()? {
        has_ms = match dom.has_managed_save() {
            Ok(v) => v,
            Err(e) if is_no_support(&e) => false,
            Err(e) => return Err(e.into()),
        };
        has_snaps = match dom.snapshot_num(SnapshotListFlags::empty()) {
            Ok(n) => n,
            Err(e) if is_no_support(&e) => 0,
            Err(e) => return Err(e.into()),
        };
        if has_snaps > 0 {
            match dom.snapshot_num(SnapshotListFlags::METADATA) {
                Ok(n) => {
                    has_snap_meta = n;
                    ms_safe = true;
                    snap_safe = true;
                }
                Err(_) => has_snap_meta = has_snaps,
            }
        }
    }
    if !has_ms {
        f.remove(DomainUndefineFlags::MANAGED_SAVE);
        ms_safe = true;
    }
    if has_snaps == 0 {
        snap_safe = true;
    }
    if has_snap_meta == 0 {
        f.remove(DomainUndefineFlags::SNAPSHOTS_METADATA);
        snap_safe = true;
    }
    let nvram = cmd.has("nvram");
    let mut done = false;
    if (ms_safe && snap_safe) || nvram {
        match dom.undefine(f) {
            Ok(()) => done = true,
            Err(e) if nvram || !matches!(e.code, oxvirt::ErrorCode::NoSupport | oxvirt::ErrorCode::InvalidArg) => {
                return Err(ctl.fail(format!("Failed to undefine domain '{name}'"), e));
            }
            Err(_) => {}
        }
    }
    if !done {
        if has_ms {
            if !cmd.has("managed-save") {
                return Err(ctl.fail_msg("Refusing to undefine while domain managed save image exists"));
            }
            dom.managed_save_remove()?;
        }
        if has_snap_meta > 0 {
            return Err(ctl.fail_msg(if cmd.has("snapshots-metadata") {
                format!("Unable to remove metadata of {has_snap_meta} snapshots")
            } else {
                format!("Refusing to undefine while {has_snap_meta} snapshots exist")
            }));
        }
        dom.undefine(DomainUndefineFlags::empty()).map_err(|e| ctl.fail(format!("Failed to undefine domain '{name}'"), e))?;
    }
    ctl.extra(&format!("Domain '{name}' has been undefined\n"));
    Ok(())
}

fn create_flags(cmd: &Cmd) -> DomainCreateFlags {
    let mut f = DomainCreateFlags::empty();
    for (o, b) in [
        ("paused", DomainCreateFlags::START_PAUSED),
        ("autodestroy", DomainCreateFlags::AUTODESTROY),
        ("bypass-cache", DomainCreateFlags::BYPASS_CACHE),
        ("force-boot", DomainCreateFlags::FORCE_BOOT),
        ("validate", DomainCreateFlags::VALIDATE),
        ("reset-nvram", DomainCreateFlags::RESET_NVRAM),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    f
}

fn cmd_create(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let dom = conn.domain_create_xml(&xml, create_flags(cmd)).map_err(|e| ctl.fail(format!("Failed to create domain from {file}"), e))?;
    ctl.extra(&format!("Domain '{}' created from {file}\n", dom.name()));
    Ok(())
}

fn cmd_start(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    if dom.id().is_some() || dom.is_active().unwrap_or(false) {
        return Err(ctl.fail_msg("Domain is already active"));
    }
    let mut f = create_flags(cmd);
    // virsh emulates --force-boot for drivers that reject it: drop the managed save
    // image, then start without the flag.
    if f.contains(DomainCreateFlags::FORCE_BOOT) {
        match dom.create(f) {
            Ok(()) => {
                ctl.extra(&format!("Domain '{}' started\n", dom.name()));
                return Ok(());
            }
            Err(e) if !matches!(e.code, oxvirt::ErrorCode::NoSupport | oxvirt::ErrorCode::InvalidArg) => return Err(e.into()),
            Err(_) => {}
        }
        if dom.has_managed_save().unwrap_or(false) {
            dom.managed_save_remove()?;
        }
        f.remove(DomainCreateFlags::FORCE_BOOT);
    }
    dom.create(f).map_err(|e| ctl.fail(format!("Failed to start domain '{}'", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' started\n", dom.name()));
    Ok(())
}

fn cmd_destroy(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let f = if cmd.has("graceful") { DomainDestroyFlags::GRACEFUL } else { DomainDestroyFlags::empty() };
    dom.destroy(f).map_err(|e| ctl.fail(format!("Failed to destroy domain '{}'", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' destroyed\n", dom.name()));
    Ok(())
}

fn power_mode(ctl: &Ctl, cmd: &Cmd) -> Result<u32, Fail> {
    let mut bits = 0;
    if let Some(modes) = opt_str(ctl, cmd, "mode")? {
        for m in modes.split(',') {
            bits |= match m {
                "acpi" => 1,
                "agent" => 2,
                "initctl" => 4,
                "signal" => 8,
                "paravirt" => 16,
                _ => {
                    return Err(
                        ctl.fail_msg(format!("Unknown mode {m} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'"))
                    )
                }
            };
        }
    }
    Ok(bits)
}

fn cmd_shutdown(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let bits = power_mode(ctl, cmd)?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.shutdown(DomainShutdownFlags::from_bits_retain(bits))
        .map_err(|e| ctl.fail(format!("Failed to shutdown domain '{}'", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' is being shutdown\n", dom.name()));
    Ok(())
}

fn cmd_reboot(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let bits = power_mode(ctl, cmd)?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.reboot(DomainRebootFlags::from_bits_retain(bits)).map_err(|e| ctl.fail(format!("Failed to reboot domain '{}'", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' is being rebooted\n", dom.name()));
    Ok(())
}

fn cmd_suspend(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.suspend().map_err(|e| ctl.fail(format!("Failed to suspend domain '{}'", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' suspended\n", dom.name()));
    Ok(())
}

fn cmd_resume(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.resume().map_err(|e| ctl.fail(format!("Failed to resume domain '{}'", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' resumed\n", dom.name()));
    Ok(())
}

fn save_flags(ctl: &Ctl, cmd: &Cmd) -> Result<DomainSaveRestoreFlags, Fail> {
    exclusive(ctl, cmd, "running", "paused")?;
    let mut f = DomainSaveRestoreFlags::empty();
    for (o, b) in [
        ("bypass-cache", DomainSaveRestoreFlags::BYPASS_CACHE),
        ("running", DomainSaveRestoreFlags::RUNNING),
        ("paused", DomainSaveRestoreFlags::PAUSED),
        ("reset-nvram", DomainSaveRestoreFlags::RESET_NVRAM),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    Ok(f)
}

fn cmd_save(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let to = req_str(ctl, cmd, "file")?;
    let f = save_flags(ctl, cmd)?;
    let xml = match opt_str(ctl, cmd, "xml")? {
        Some(p) => Some(read_file(ctl, p)?),
        None => None,
    };
    let name = dom.name().to_string();
    dom.save(to, xml.as_deref(), f).map_err(|e| ctl.fail(format!("Failed to save domain '{name}' to {to}"), e))?;
    ctl.extra(&format!("\nDomain '{name}' saved to {to}\n"));
    Ok(())
}

fn cmd_restore(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let from = req_str(ctl, cmd, "file")?;
    let f = save_flags(ctl, cmd)?;
    let xml = match opt_str(ctl, cmd, "xml")? {
        Some(p) => Some(read_file(ctl, p)?),
        None => None,
    };
    conn.domain_restore(from, xml.as_deref(), f).map_err(|e| ctl.fail(format!("Failed to restore domain from {from}"), e))?;
    ctl.extra(&format!("Domain restored from {from}\n"));
    Ok(())
}

fn cmd_managedsave(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let f = save_flags(ctl, cmd)?;
    let name = dom.name().to_string();
    dom.managed_save(f).map_err(|e| ctl.fail(format!("Failed to save domain '{name}' state"), e))?;
    ctl.extra(&format!("\nDomain '{name}' state saved by libvirt\n"));
    Ok(())
}

fn cmd_autostart(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let on = !cmd.has("disable");
    let name = dom.name().to_string();
    if let Err(e) = dom.set_autostart(on) {
        let what = if on { "mark" } else { "unmark" };
        return Err(ctl.fail(format!("Failed to {what} domain '{name}' as autostarted"), e));
    }
    ctl.extra(&format!("Domain '{name}' {} as autostarted\n", if on { "marked" } else { "unmarked" }));
    Ok(())
}

fn scaled_kib(ctl: &Ctl, cmd: &Cmd, name: &str) -> Result<u64, Fail> {
    let v = req_str(ctl, cmd, name)?;
    let bytes = crate::parse::parse_scaled(v, 1024)
        .ok_or_else(|| ctl.fail_msg(format!("Scaled numeric value '{v}' for <{name}> option is malformed or out of range")))?;
    Ok(bytes.div_ceil(1024))
}

fn cmd_setmem(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let f = mod_flags(ctl, cmd)?;
    let kib = scaled_kib(ctl, cmd, "size")?;
    dom.set_memory(kib, f)?;
    Ok(())
}

fn cmd_setmaxmem(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let f = mod_flags(ctl, cmd)?;
    let kib = scaled_kib(ctl, cmd, "size")?;
    let given = cmd.has("config") || cmd.has("live") || cmd.has("current");
    let res = if given { dom.set_memory(kib, f | DomainModFlags::MAXIMUM) } else { dom.set_max_memory(kib) };
    res.map_err(|e| ctl.fail("Unable to change MaxMemorySize", e))?;
    Ok(())
}

fn cmd_setvcpus(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    // virsh checks the option combinations before looking the domain up.
    let mut f = mod_flags(ctl, cmd)?;
    exclusive(ctl, cmd, "guest", "config")?;
    require(ctl, cmd, "maximum", "config")?;
    for (o, b) in [("guest", DomainModFlags::GUEST), ("maximum", DomainModFlags::MAXIMUM), ("hotpluggable", DomainModFlags::HOTPLUGGABLE)] {
        if cmd.has(o) {
            f |= b;
        }
    }
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let count = cmd.uint("count").map_err(|m| ctl.fail_msg(m))?.unwrap_or(0);
    let count = u32::try_from(count)
        .map_err(|_| ctl.fail_msg(format!("Numeric value '{count}' for <count> option is malformed or out of range")))?;
    if count == 0 {
        return Err(ctl.fail_msg("Can't set 0 processors for a VM"));
    }
    // Without any option virsh uses the older `virDomainSetVcpus` (live only).
    if f.is_empty() && !cmd.has("current") {
        dom.set_vcpus_live(count)?;
    } else {
        dom.set_vcpus(count, f)?;
    }
    Ok(())
}
