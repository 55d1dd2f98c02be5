//! Host and shell commands: `capabilities`, `domcapabilities`, `nodeinfo`, `version`, `uri`,
//! `hostname`, `connect`, `event`, `help`, `quit`/`exit`.

use super::*;
use crate::json;
use crate::parse::{b, n, s, CmdDef, CmdResult, Complete, Needs, OptDef, OptKind, EMPTY_OK};
use oxvirt::event::{domain_event_id, lifecycle, DomainEventData};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");

macro_rules! cmd {
    ($name:expr, $group:expr, $help:expr, $opts:expr, $h:expr, $needs:expr) => {
        CmdDef { name: $name, group: $group, help: $help, opts: $opts, handler: $h, needs: $needs }
    };
}

/// Host and shell commands.
pub const CMDS: &[CmdDef] = &[
    cmd!("capabilities", "host", "capabilities", &[], cmd_capabilities, Needs::Conn),
    cmd!(
        "domcapabilities",
        "host",
        "domain capabilities",
        &[
            s("virttype", 0, "virtualization type (/domain/@type)"),
            s("emulatorbin", 0, "path to emulator binary (/domain/devices/emulator)"),
            s("arch", 0, "domain architecture (/domain/os/type/@arch)"),
            s("machine", 0, "machine type (/domain/os/type/@machine)"),
        ],
        cmd_domcapabilities,
        Needs::Conn
    ),
    cmd!("nodeinfo", "host", "node information", &[JSON], cmd_nodeinfo, Needs::Conn),
    cmd!("version", "host", "show version", &[b("daemon", "report daemon version too"), JSON], cmd_version, Needs::Conn),
    cmd!("uri", "host", "print the hypervisor canonical URI", &[], cmd_uri, Needs::Conn),
    cmd!("hostname", "host", "print the hypervisor hostname", &[], cmd_hostname, Needs::Conn),
    cmd!(
        "connect",
        "virsh",
        "(re)connect to hypervisor",
        &[
            OptDef { name: "name", kind: OptKind::Str, flags: EMPTY_OK, help: "hypervisor connection URI", complete: Complete::None },
            b("readonly", "read-only connection"),
        ],
        cmd_connect,
        Needs::NoConn
    ),
    cmd!(
        "event",
        "monitor",
        "Domain Events",
        &[
            OptDef { name: "domain", kind: OptKind::Str, flags: 0, help: "filter by domain name, id or uuid", complete: Complete::Domain },
            s("event", 0, "which event type to wait for"),
            b("all", "wait for all events instead of just one type"),
            b("loop", "loop until timeout or interrupt, rather than one-shot"),
            n("timeout", 0, "timeout seconds"),
            b("list", "list valid event types"),
            b("timestamp", "show timestamp for each printed event"),
        ],
        cmd_event,
        Needs::Conn
    ),
    cmd!(
        "help",
        "virsh",
        "print help",
        &[s("command", 0, "Prints global help, command specific help, or help for a group of related commands")],
        cmd_help,
        Needs::NoConn
    ),
    cmd!("quit", "virsh", "quit this interactive terminal", &[], cmd_quit, Needs::NoConn),
    cmd!("exit", "virsh", "quit this interactive terminal", &[], cmd_quit, Needs::NoConn),
];

fn cmd_capabilities(ctl: &mut Ctl, _cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let caps = conn.capabilities().map_err(|e| ctl.fail("failed to get capabilities", e))?;
    // virsh prints the document followed by a newline (`vshPrint(ctl, "%s\n", caps)`).
    ctl.print(&format!("{caps}\n"));
    Ok(())
}

fn cmd_domcapabilities(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let virttype = opt_str(ctl, cmd, "virttype")?;
    let emulator = opt_str(ctl, cmd, "emulatorbin")?;
    let arch = opt_str(ctl, cmd, "arch")?;
    let machine = opt_str(ctl, cmd, "machine")?;
    let conn = ctl.conn()?;
    let caps =
        conn.domain_capabilities(emulator, arch, machine, virttype, 0).map_err(|e| ctl.fail("failed to get emulator capabilities", e))?;
    // virsh prints the document followed by a newline (`vshPrint(ctl, "%s\n", caps)`).
    ctl.print(&format!("{caps}\n"));
    Ok(())
}

fn cmd_nodeinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let i = conn.node_info().map_err(|e| ctl.fail("failed to get node information", e))?;
    if cmd.has("json") {
        let v = json::obj(vec![
            ("cpu_model", json::str(&i.model)),
            ("cpus", json::num(i.cpus)),
            ("mhz", json::num(i.mhz)),
            ("sockets", json::num(i.sockets)),
            ("cores", json::num(i.cores)),
            ("threads", json::num(i.threads)),
            ("numa_cells", json::num(i.nodes)),
            ("memory_kib", json::num(i.memory_kib)),
        ]);
        ctl.print(&json::render(&v));
        return Ok(());
    }
    let line = |l: &str, v: String| format!("{l:<20} {v}\n");
    let mut o = String::new();
    o += &line("CPU model:", i.model.clone());
    o += &line("CPU(s):", i.cpus.to_string());
    o += &line("CPU frequency:", format!("{} MHz", i.mhz));
    o += &line("CPU socket(s):", i.sockets.to_string());
    o += &line("Core(s) per socket:", i.cores.to_string());
    o += &line("Thread(s) per core:", i.threads.to_string());
    o += &line("NUMA cell(s):", i.nodes.to_string());
    o += &line("Memory size:", format!("{} KiB", i.memory_kib));
    ctl.print(&o);
    Ok(())
}

fn cmd_version(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let lib = oxvirt::Version::from_number(oxvirt::LIB_VERSION);
    let typ = conn.get_type().map_err(|e| ctl.fail("failed to get hypervisor type", e))?;
    let api = oxvirt::Version::from_number(conn.lib_version());
    let hv = conn.version().map_err(|e| ctl.fail("failed to get the hypervisor version", e))?;
    if cmd.has("json") {
        let v = json::obj(vec![
            ("library", json::str(&lib.to_string())),
            ("api_type", json::str(&typ)),
            ("api", json::str(&api.to_string())),
            ("hypervisor", if hv == 0 { json::Value::Null } else { json::str(&oxvirt::Version::from_number(hv).to_string()) }),
        ]);
        ctl.print(&json::render(&v));
        return Ok(());
    }
    let mut o = format!("Compiled against library: libvirt {lib}\nUsing library: libvirt {lib}\nUsing API: {typ} {api}\n");
    if hv == 0 {
        o += &format!("Cannot extract running {typ} hypervisor version\n");
    } else {
        o += &format!("Running hypervisor: {typ} {}\n", oxvirt::Version::from_number(hv));
    }
    ctl.print(&o);
    Ok(())
}

fn cmd_uri(ctl: &mut Ctl, _cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    ctl.print(&format!("{}\n", conn.uri()));
    Ok(())
}

fn cmd_hostname(ctl: &mut Ctl, _cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let h = conn.hostname().map_err(|e| ctl.fail("failed to get hostname", e))?;
    ctl.print(&format!("{h}\n"));
    Ok(())
}

fn cmd_connect(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    if let Some(n) = cmd.get("name") {
        ctl.uri = if n.is_empty() { None } else { Some(n.to_string()) };
    }
    ctl.readonly = cmd.has("readonly");
    ctl.conn = None;
    ctl.connect()
}

fn cmd_quit(ctl: &mut Ctl, _cmd: &Cmd) -> CmdResult {
    ctl.exit_requested = true;
    Ok(())
}

/// virsh's names of domain event ids, in id order.
pub const EVENT_NAMES: [&str; 27] = [
    "lifecycle",
    "reboot",
    "rtc-change",
    "watchdog",
    "io-error",
    "graphics",
    "io-error-reason",
    "control-error",
    "block-job",
    "disk-change",
    "tray-change",
    "pm-wakeup",
    "pm-suspend",
    "balloon-change",
    "pm-suspend-disk",
    "device-removed",
    "block-job-2",
    "tunable",
    "agent-lifecycle",
    "device-added",
    "migration-iteration",
    "job-completed",
    "device-removal-failed",
    "metadata-change",
    "block-threshold",
    "memory-failure",
    "memory-device-size-change",
];

/// Words virsh prints for a lifecycle (event, detail).
pub fn lifecycle_words(event: i32, detail: i32) -> (&'static str, &'static str) {
    let (e, details): (&str, &[&str]) = match event {
        lifecycle::DEFINED => ("Defined", &["Added", "Updated", "Renamed", "Snapshot"]),
        lifecycle::UNDEFINED => ("Undefined", &["Removed", "Renamed"]),
        lifecycle::STARTED => ("Started", &["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"]),
        lifecycle::SUSPENDED => (
            "Suspended",
            &["Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error", "Post-copy", "Post-copy Error"],
        ),
        lifecycle::RESUMED => ("Resumed", &["Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"]),
        lifecycle::STOPPED => ("Stopped", &["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"]),
        lifecycle::SHUTDOWN => ("Shutdown", &["Finished", "Finished after guest request", "Finished after host request"]),
        lifecycle::PMSUSPENDED => ("PMSuspended", &["Memory", "Disk"]),
        lifecycle::CRASHED => ("Crashed", &["Core Dump"]),
        _ => ("unknown", &[]),
    };
    let d = usize::try_from(detail).ok().and_then(|i| details.get(i)).copied().unwrap_or("unknown");
    (e, d)
}

fn cmd_event(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    if cmd.has("list") {
        let mut o = String::new();
        for n in EVENT_NAMES {
            o += n;
            o.push('\n');
        }
        ctl.print(&o);
        return Ok(());
    }
    let conn = ctl.conn()?;
    let ids: Vec<i32> = if cmd.has("all") {
        if cmd.has("event") {
            return Err(ctl.fail_msg("Options --event and --all are mutually exclusive"));
        }
        (0..domain_event_id::LAST).collect()
    } else {
        match opt_str(ctl, cmd, "event")? {
            Some(e) => match EVENT_NAMES.iter().position(|n| *n == e) {
                Some(i) => vec![i as i32],
                None => return Err(ctl.fail_msg(format!("unknown event type {e}"))),
            },
            None => return Err(ctl.fail_msg("one of --list, --all, or --event <type> is required")),
        }
    };
    let timeout = match cmd.int("timeout").map_err(|m| ctl.fail_msg(m))? {
        Some(t) if t < 1 || t > i64::from(i32::MAX) / 1000 => return Err(ctl.fail_msg(format!("invalid timeout {t}"))),
        Some(t) => Some(Duration::from_secs(t as u64)),
        None => None,
    };
    let dom = match opt_str(ctl, cmd, "domain")? {
        Some(d) => Some(lookup_domain_str(ctl, &conn, d)?),
        None => None,
    };
    let stamp = cmd.has("timestamp");
    let (tx, rx) = mpsc::channel::<String>();
    let mut regs = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let tx = tx.clone();
        let r = conn.domain_event_register_any(dom.as_ref(), id, move |d, data| {
            let line = match data {
                DomainEventData::Lifecycle { event, detail } => {
                    let (e, dt) = lifecycle_words(*event, *detail);
                    format!("event 'lifecycle' for domain '{}': {e} {dt}\n", d.name())
                }
                DomainEventData::Reboot => format!("event 'reboot' for domain '{}'\n", d.name()),
                DomainEventData::MetadataChange { typ, nsuri } => {
                    let t = ["description", "title", "element"].get(*typ as usize).copied().unwrap_or("unknown");
                    format!("event 'metadata-change' for domain '{}': type {t}, uri {}\n", d.name(), nsuri.as_deref().unwrap_or("(null)"))
                }
                DomainEventData::DeviceAdded { alias } => format!("event 'device-added' for domain '{}': {alias}\n", d.name()),
                DomainEventData::DeviceRemoved { alias } => format!("event 'device-removed' for domain '{}': {alias}\n", d.name()),
                // PM, balloon and tunable events, as virsh prints them.
                DomainEventData::PmWakeup { .. } => format!("event 'pm-wakeup' for domain '{}'\n", d.name()),
                DomainEventData::PmSuspend { .. } => format!("event 'pm-suspend' for domain '{}'\n", d.name()),
                DomainEventData::PmSuspendDisk { .. } => format!("event 'pm-suspend-disk' for domain '{}'\n", d.name()),
                DomainEventData::BalloonChange { actual } => format!("event 'balloon-change' for domain '{}': {actual}KiB\n", d.name()),
                DomainEventData::Tunable { params } => {
                    let mut o = format!("event 'tunable' for domain '{}':\n", d.name());
                    for p in params {
                        o += &format!("\t{}: {}\n", p.field, super::info::param_value(p));
                    }
                    o
                }
            };
            let _ = tx.send(line);
        });
        match r {
            Ok(id) => regs.push(id),
            // Like virsh, with --all only the first registration must succeed.
            Err(_) if i > 0 => {}
            Err(e) => return Err(Fail::Api(e)),
        }
    }
    let start = Instant::now();
    let mut count = 0;
    let timed_out = loop {
        let left = match timeout {
            Some(t) => match t.checked_sub(start.elapsed()) {
                Some(l) => l,
                None => break true,
            },
            None => Duration::from_secs(3600),
        };
        match rx.recv_timeout(left) {
            Ok(line) => {
                count += 1;
                if stamp {
                    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                    let t = crate::commands::snapshot::format_time(now as i64);
                    ctl.print(&format!("{}: {line}", t.trim_end_matches(" +0000")));
                } else {
                    ctl.print(&line);
                }
                if !cmd.has("loop") {
                    break false;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if timeout.is_some() => break true,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break false,
        }
    };
    for id in regs {
        let _ = conn.event_deregister(id);
    }
    if timed_out {
        ctl.print("event loop timed out\n");
    }
    ctl.print(&format!("events received: {count}\n"));
    if count == 0 {
        // virsh reports failure when no event arrived.
        return Err(Fail::Reported);
    }
    Ok(())
}

/// virsh's option type for `o`: a required `Str` is what virsh calls `DATA`.
fn help_kind(o: &OptDef) -> OptKind {
    match o.kind {
        OptKind::Str if o.flags & crate::parse::REQ != 0 => OptKind::Data,
        k => k,
    }
}

/// Options `help` documents: not aliases, and not oxvirsh's `--json` extension
/// (described in docs/oxvirsh-json.md), so the text stays virsh's.
fn help_opts(def: &CmdDef) -> impl Iterator<Item = &OptDef> {
    def.opts.iter().filter(|o| !matches!(o.kind, OptKind::Alias(_)) && o.name != "json")
}

/// True when some option before an `Argv` can be given without its name, which
/// makes virsh show the `Argv` option with its name too.
fn has_shortopt(def: &CmdDef) -> bool {
    help_opts(def).any(|o| matches!(help_kind(o), OptKind::Int | OptKind::Str | OptKind::Data) && o.flags & crate::parse::REQ_OPT == 0)
}

fn synopsis(def: &CmdDef) -> String {
    let mut s = format!("    {}", def.name);
    let mut shortopt = false;
    let req = |o: &OptDef| o.flags & crate::parse::REQ != 0;
    for o in help_opts(def) {
        let kind = help_kind(o);
        let part = match kind {
            OptKind::Bool => format!("[--{}]", o.name),
            OptKind::Int if req(o) => format!("<{}>", o.name),
            OptKind::Int => format!("[--{} <number>]", o.name),
            OptKind::Str => format!("[--{} <string>]", o.name),
            OptKind::Data if req(o) => format!("<{}>", o.name),
            OptKind::Data => format!("[<{}>]", o.name),
            OptKind::Argv if shortopt && req(o) => format!("{{[--{}] <string>}}...", o.name),
            OptKind::Argv if shortopt => format!("[[--{}] <string>]...", o.name),
            OptKind::Argv if req(o) => format!("<{}>...", o.name),
            OptKind::Argv => format!("[<{}>]...", o.name),
            OptKind::Alias(_) => continue,
        };
        if matches!(kind, OptKind::Int | OptKind::Str | OptKind::Data) && o.flags & crate::parse::REQ_OPT == 0 {
            shortopt = true;
        }
        s.push(' ');
        s.push_str(&part);
    }
    s
}

fn cmd_help(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let Some(name) = cmd.get("command") else {
        let mut o = String::from("Grouped commands:\n\n");
        for (key, title) in GROUPS {
            let cmds: Vec<&CmdDef> = TABLE.iter().filter(|c| c.group == *key).collect();
            if cmds.is_empty() {
                continue;
            }
            o += &format!(" {title} (help keyword '{key}'):\n");
            for c in cmds {
                o += &format!("    {:<30} {}\n", c.name, c.help);
            }
            o.push('\n');
        }
        ctl.print(&o);
        return Ok(());
    };
    if let Some((key, title)) = GROUPS.iter().find(|(k, _)| *k == name) {
        let mut o = format!(" {title} (help keyword '{key}'):\n");
        for c in TABLE.iter().filter(|c| c.group == *key) {
            o += &format!("    {:<30} {}\n", c.name, c.help);
        }
        o.push('\n');
        ctl.print(&o);
        return Ok(());
    }
    let Some(def) = crate::parse::find(TABLE, name) else {
        return Err(ctl.fail_msg(format!("command or command group '{name}' doesn't exist")));
    };
    let mut o = format!("  NAME\n    {} - {}\n\n  SYNOPSIS\n{}\n", def.name, def.help, synopsis(def));
    if let Some(desc) = super::help_desc::description(def.name) {
        o += &format!("\n  DESCRIPTION\n    {desc}\n");
    }
    let shortopt = has_shortopt(def);
    let mut opts = help_opts(def).peekable();
    if opts.peek().is_some() {
        o += "\n  OPTIONS\n";
        for opt in opts {
            let left = match help_kind(opt) {
                OptKind::Bool => format!("--{}", opt.name),
                OptKind::Int if opt.flags & crate::parse::REQ != 0 => format!("[--{}] <number>", opt.name),
                OptKind::Int => format!("--{} <number>", opt.name),
                OptKind::Str => format!("--{} <string>", opt.name),
                OptKind::Data => format!("[--{}] <string>", opt.name),
                OptKind::Argv if shortopt => format!("[--{}] <string>", opt.name),
                OptKind::Argv => format!("<{}>", opt.name),
                OptKind::Alias(_) => continue,
            };
            o += &format!("    {left:<15}  {}\n", opt.help);
        }
    }
    o.push('\n');
    ctl.print(&o);
    Ok(())
}
