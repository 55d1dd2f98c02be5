//! The status file of a running domain (libvirt's `<domstatus>`, written by
//! `virDomainObjFormat` with the QEMU driver's private data): state, reason, pid,
//! monitor socket, private directory and the live definition.

use oxvirt::types::state_reason_str;
use oxvirt::DomainState;
use oxvirt_conf::domain::{DomainDef, FormatOptions, ParseOptions};
use oxvirt_conf::xml::escape as escape_attr;
use std::path::PathBuf;

/// What a status file records.
#[derive(Debug, Clone)]
pub struct Status {
    /// State.
    pub state: DomainState,
    /// Reason of the state.
    pub reason: i32,
    /// QEMU's pid.
    pub pid: i32,
    /// Monitor socket.
    pub monitor: PathBuf,
    /// The domain's private directory.
    pub lib_dir: PathBuf,
    /// The live definition (with its id).
    pub def: DomainDef,
}

/// `virDomainStateTypeToString`.
fn state_word(s: DomainState) -> &'static str {
    match s {
        DomainState::NoState => "nostate",
        DomainState::Running => "running",
        DomainState::Blocked => "blocked",
        DomainState::Paused => "paused",
        DomainState::Shutdown => "shutdown",
        DomainState::Shutoff => "shutoff",
        DomainState::Crashed => "crashed",
        DomainState::PmSuspended => "pmsuspended",
    }
}

const STATES: [DomainState; 8] = [
    DomainState::NoState,
    DomainState::Running,
    DomainState::Blocked,
    DomainState::Paused,
    DomainState::Shutdown,
    DomainState::Shutoff,
    DomainState::Crashed,
    DomainState::PmSuspended,
];

impl Status {
    /// The status document.
    pub fn format(&self) -> String {
        let mut out = format!(
            "<domstatus state='{}' reason='{}' pid='{}'>\n",
            state_word(self.state),
            escape_attr(state_reason_str(self.state, self.reason)),
            self.pid
        );
        out.push_str(&format!("  <monitor path='{}' type='unix'/>\n", escape_attr(&self.monitor.display().to_string())));
        out.push_str(&format!("  <libDir path='{}'/>\n", escape_attr(&self.lib_dir.display().to_string())));
        let dom = self.def.format(&FormatOptions { id: self.def.id, inactive: false, secure: true });
        for line in dom.lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("</domstatus>\n");
        out
    }

    /// Parse a status document; the error says why it is unusable.
    pub fn parse(text: &str) -> Result<Status, String> {
        let doc = roxmltree::Document::parse(text).map_err(|e| format!("malformed status XML: {e}"))?;
        let root = doc.root_element();
        if !root.has_tag_name("domstatus") {
            return Err(format!("expected <domstatus>, found <{}>", root.tag_name().name()));
        }
        let state_s = root.attribute("state").unwrap_or("nostate");
        let state = STATES.iter().copied().find(|s| state_word(*s) == state_s).ok_or_else(|| format!("unknown state '{state_s}'"))?;
        let reason_s = root.attribute("reason").unwrap_or("unknown");
        let reason = (0..16).find(|r| state_reason_str(state, *r) == reason_s).unwrap_or(0);
        let pid: i32 = root.attribute("pid").and_then(|p| p.parse().ok()).filter(|p| *p > 0).ok_or("missing or invalid pid")?;
        let child_path = |name: &str| {
            root.children()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.attribute("path"))
                .map(PathBuf::from)
                .ok_or(format!("no <{name} path=...>"))
        };
        let monitor = child_path("monitor")?;
        let lib_dir = child_path("libDir")?;
        let dom = root.children().find(|n| n.has_tag_name("domain")).ok_or("no <domain>")?;
        let def = DomainDef::parse(&text[dom.range()], &ParseOptions { driver: Some("qemu".into()), inactive: false })
            .map_err(|e| format!("bad live definition: {e}"))?;
        Ok(Status { state, reason, pid, monitor, lib_dir, def })
    }
}
