//! The daemon's log filters and outputs, in libvirt's syntax (`log_filters`,
//! `log_outputs`, `virt-admin daemon-log-filters/-outputs`).
//!
//! A filter is `PRIO:MATCH`; as in libvirt, MATCH is kept as the glob `*MATCH*` (so it
//! matches any module name containing it, and reads back that way); an output is `PRIO:stderr` or `PRIO:file:PATH`.
//! Priorities: 1 debug, 2 info, 3 warning, 4 error. A message of module M and priority
//! P is kept when P ≥ the priority of the first filter matching M (or the default
//! priority when none matches), and written to every output whose priority is ≤ P.
//! With no outputs set, the default output is `N:stderr`, N being the default
//! priority (3, or 2 with `-v`). `syslog` and `journald` outputs are refused: oxvirtd
//! cannot write to them.

use oxvirt::{Error, ErrorCode, ErrorDomain};
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Message priorities, numbered as libvirt's `virLogPriority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// 1
    Debug = 1,
    /// 2
    Info = 2,
    /// 3
    Warning = 3,
    /// 4
    Error = 4,
}

impl Priority {
    fn from_number(n: u32) -> Option<Priority> {
        Some(match n {
            1 => Priority::Debug,
            2 => Priority::Info,
            3 => Priority::Warning,
            4 => Priority::Error,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Priority::Debug => "debug",
            Priority::Info => "info",
            Priority::Warning => "warning",
            Priority::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    priority: Priority,
    pattern: String,
}

#[derive(Debug)]
enum Dest {
    Stderr,
    File(String, File),
}

#[derive(Debug)]
struct Output {
    priority: Priority,
    dest: Dest,
}

#[derive(Debug)]
struct State {
    default_priority: Priority,
    filters: Vec<Filter>,
    outputs: Vec<Output>,
}

static STATE: Mutex<State> = Mutex::new(State { default_priority: Priority::Warning, filters: Vec::new(), outputs: Vec::new() });

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

fn invalid(detail: String) -> Error {
    Error::new(ErrorCode::InvalidArg, ErrorDomain::None, detail)
}

fn parse_priority(s: &str) -> Option<Priority> {
    s.parse::<u32>().ok().and_then(Priority::from_number)
}

fn parse_filters(src: &str) -> Result<Vec<Filter>, Error> {
    let mut out = Vec::new();
    for item in src.split(' ').filter(|s| !s.is_empty()) {
        let mut parts = item.split(':');
        let (Some(prio), Some(pattern)) = (parts.next(), parts.next()) else {
            return Err(invalid(format!("Malformed format for filter '{item}'")));
        };
        let priority = parse_priority(prio).ok_or_else(|| invalid(format!("Invalid priority '{prio}' for filter '{item}'")))?;
        // A leading '+' once asked for stack traces; libvirt ignores it now.
        let pattern = pattern.strip_prefix('+').unwrap_or(pattern);
        if pattern.is_empty() {
            return Err(invalid(format!("Invalid match string '{pattern}'")));
        }
        out.push(Filter { priority, pattern: format!("*{pattern}*") });
    }
    Ok(out)
}

fn parse_outputs(src: &str) -> Result<Vec<Output>, Error> {
    let mut out: Vec<Output> = Vec::new();
    for item in src.split(' ').filter(|s| !s.is_empty()) {
        let parts: Vec<&str> = item.split(':').collect();
        if parts.len() < 2 {
            return Err(invalid(format!("Malformed format for log output '{item}'")));
        }
        let priority =
            parse_priority(parts[0]).ok_or_else(|| invalid(format!("Invalid log priority '{}' for log output '{item}'", parts[0])))?;
        let wrong_shape =
            || invalid(format!("Log output '{item}' does not meet the format requirements for destination type '{}'", parts[1]));
        let dest = match parts[1] {
            "stderr" if parts.len() == 2 => Dest::Stderr,
            "file" if parts.len() == 3 => {
                let path = std::path::absolute(parts[2]).map_err(|e| invalid(format!("Invalid log file '{}': {e}", parts[2])))?;
                let file = File::options().create(true).append(true).open(&path).map_err(|e| {
                    Error::new(ErrorCode::SystemError, ErrorDomain::None, format!("failed to open {}: {e}", path.display()))
                })?;
                Dest::File(path.display().to_string(), file)
            }
            "stderr" | "file" => return Err(wrong_shape()),
            "syslog" | "journald" => {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    ErrorDomain::None,
                    format!("log output '{item}': oxvirtd writes logs to stderr and files only"),
                ))
            }
            other => return Err(invalid(format!("Invalid log destination '{other}' for log output '{item}'"))),
        };
        // A later output to the same destination replaces an earlier one.
        out.retain(|o| !same_dest(&o.dest, &dest));
        out.push(Output { priority, dest });
    }
    Ok(out)
}

fn same_dest(a: &Dest, b: &Dest) -> bool {
    match (a, b) {
        (Dest::Stderr, Dest::Stderr) => true,
        (Dest::File(x, _), Dest::File(y, _)) => x == y,
        _ => false,
    }
}

/// Set the default priority (`log_level`; `-v` makes it 2) and the configured filters
/// and outputs at startup.
pub fn init(default_priority: u32, filters: Option<&str>, outputs: Option<&str>) -> Result<(), Error> {
    let prio = Priority::from_number(default_priority).ok_or_else(|| invalid(format!("Invalid log level '{default_priority}'")))?;
    state().default_priority = prio;
    set_filters(filters)?;
    set_outputs(outputs)
}

/// Replace the filters (none or empty: no filters).
pub fn set_filters(src: Option<&str>) -> Result<(), Error> {
    let filters = parse_filters(src.unwrap_or(""))?;
    state().filters = filters;
    Ok(())
}

/// Replace the outputs (none or empty: the default output).
pub fn set_outputs(src: Option<&str>) -> Result<(), Error> {
    let outputs = match src.filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_outputs(s)?,
        None => {
            let prio = state().default_priority;
            vec![Output { priority: prio, dest: Dest::Stderr }]
        }
    };
    state().outputs = outputs;
    Ok(())
}

/// The filters as libvirt prints them (`"1:qemu 3:remote "`, each followed by a
/// space) and their number.
pub fn filters() -> (String, usize) {
    let s = state();
    (s.filters.iter().map(|f| format!("{}:{} ", f.priority as u32, f.pattern)).collect(), s.filters.len())
}

/// The outputs as libvirt prints them (space-separated) and their number.
pub fn outputs() -> (String, usize) {
    let s = state();
    let text = s
        .outputs
        .iter()
        .map(|o| match &o.dest {
            Dest::Stderr => format!("{}:stderr", o.priority as u32),
            Dest::File(p, _) => format!("{}:file:{p}", o.priority as u32),
        })
        .collect::<Vec<_>>()
        .join(" ");
    (text, s.outputs.len())
}

/// Whether `text` matches the glob `pattern` (`*` and `?`, as GLib's `g_pattern_match`).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..])),
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

fn matches(pattern: &str, module: &str) -> bool {
    glob(pattern.as_bytes(), module.as_bytes())
}

/// Log a message of `module` (`rpc.server`, `admin`, `daemon`, ...).
pub fn log(priority: Priority, module: &str, msg: fmt::Arguments<'_>) {
    let mut s = state();
    let min = s.filters.iter().find(|f| matches(&f.pattern, module)).map(|f| f.priority).unwrap_or(s.default_priority);
    if priority < min {
        return;
    }
    let line = format!("{}: {}: {} : {} : {}\n", timestamp(), std::process::id(), priority.word(), module, msg);
    for o in s.outputs.iter_mut().filter(|o| priority >= o.priority) {
        let _ = match &mut o.dest {
            Dest::Stderr => std::io::stderr().write_all(line.as_bytes()),
            Dest::File(_, f) => f.write_all(line.as_bytes()),
        };
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm+0000` (UTC), libvirt's log timestamp.
fn timestamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}+0000", rem / 3600, rem % 3600 / 60, rem % 60, now.subsec_millis())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_print_like_libvirt() {
        let f = parse_filters(" 1:qemu  3:+remote ").unwrap();
        assert_eq!(
            f,
            vec![
                Filter { priority: Priority::Debug, pattern: "*qemu*".into() },
                Filter { priority: Priority::Warning, pattern: "*remote*".into() }
            ]
        );
        for bad in ["qemu", "5:qemu", "x:qemu", "1:+", "1:"] {
            let e = parse_filters(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidArg, "{bad}");
        }
    }

    #[test]
    fn outputs_parse() {
        assert_eq!(parse_outputs("2:stderr 3:stderr").unwrap().len(), 1);
        for bad in ["stderr", "0:stderr", "1:stderr:x", "1:file", "1:nowhere"] {
            assert_eq!(parse_outputs(bad).unwrap_err().code, ErrorCode::InvalidArg, "{bad}");
        }
        assert_eq!(parse_outputs("1:journald").unwrap_err().code, ErrorCode::ConfigUnsupported);
    }

    #[test]
    fn matching() {
        assert!(matches("*rpc*", "rpc.server"));
        assert!(matches("*server*", "rpc.server"));
        assert!(!matches("*qemu*", "rpc.server"));
        assert!(glob(b"a?c*", b"abcdef"));
    }

    #[test]
    fn timestamp_shape() {
        let t = timestamp();
        assert_eq!(t.len(), "2024-01-01 00:00:00.000+0000".len(), "{t}");
    }
}
