//! The interactive shell: rustyline line editing and history (in
//! `$XDG_CACHE_HOME/oxvirsh/history`), tab completion of command names, option names
//! and domain/network/pool names, driven by the same command table as the parser.

use crate::commands::TABLE;
use crate::parse::{self, Complete, OptKind};
use crate::Ctl;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::sync::{Arc, Mutex};

/// Completion candidates for a partial line; `names` looks object names up.
pub fn complete_line(line: &str, names: &dyn Fn(Complete) -> Vec<String>) -> (usize, Vec<String>) {
    let (words, cur, start) = parse::split_for_completion(line);
    let Some(first) = words.first() else {
        let mut v: Vec<String> = TABLE.iter().map(|c| c.name.to_string()).filter(|n| n.starts_with(&cur)).collect();
        v.sort();
        return (start, v);
    };
    let Some(def) = parse::find(TABLE, first) else { return (start, Vec::new()) };
    let given: Vec<&str> = words[1..].iter().filter_map(|w| w.strip_prefix("--")).collect();
    // Value of a named option?
    if let Some(prev) = words.last().and_then(|w| w.strip_prefix("--")) {
        if let Some(o) = def.opts.iter().find(|o| o.name == prev && !matches!(o.kind, OptKind::Bool)) {
            return (start, names(o.complete).into_iter().filter(|n| n.starts_with(&cur)).collect());
        }
    }
    if cur.starts_with('-') || cur.is_empty() {
        let mut v: Vec<String> = def
            .opts
            .iter()
            .filter(|o| !given.contains(&o.name) || o.kind == OptKind::Argv)
            .map(|o| format!("--{}", o.name))
            .filter(|n| n.starts_with(&cur))
            .collect();
        if cur.is_empty() {
            // Also offer names for the first positional that takes them.
            if let Some(o) = def.opts.iter().find(|o| o.complete != Complete::None && !given.contains(&o.name)) {
                let mut n = names(o.complete);
                n.append(&mut v);
                v = n;
            }
        }
        return (start, v);
    }
    let slot = def.opts.iter().find(|o| o.complete != Complete::None && !given.contains(&o.name));
    let v = slot.map(|o| names(o.complete)).unwrap_or_default().into_iter().filter(|n| n.starts_with(&cur)).collect();
    (start, v)
}

struct ShellHelper {
    conn: Arc<Mutex<Option<oxvirt::Connect>>>,
}

impl ShellHelper {
    fn names(&self, what: Complete) -> Vec<String> {
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let Some(conn) = guard.as_ref() else { return Vec::new() };
        match what {
            Complete::Domain => conn
                .list_all_domains(oxvirt::ListDomainsFlags::empty())
                .map(|v| v.iter().map(|d| d.name().to_string()).collect())
                .unwrap_or_default(),
            Complete::Network => conn
                .list_all_networks(oxvirt::ListNetworksFlags::empty())
                .map(|v| v.iter().map(|d| d.name().to_string()).collect())
                .unwrap_or_default(),
            Complete::Pool => conn
                .list_all_storage_pools(oxvirt::ListPoolsFlags::empty())
                .map(|v| v.iter().map(|d| d.name().to_string()).collect())
                .unwrap_or_default(),
            Complete::File | Complete::None => Vec::new(),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;
    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = line.get(..pos).unwrap_or(line);
        let (start, v) = complete_line(head, &|c| self.names(c));
        Ok((start, v.into_iter().map(|s| Pair { display: s.clone(), replacement: s }).collect()))
    }
}
impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

fn history_path() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(base.join("oxvirsh").join("history"))
}

/// Run the interactive shell; returns the exit code.
pub fn run(ctl: &mut Ctl) -> i32 {
    ctl.interactive = true;
    if !ctl.quiet {
        ctl.print("Welcome to oxvirsh, the virtualization interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n");
    }
    let shared = Arc::new(Mutex::new(ctl.conn.clone()));
    let mut ed: Editor<ShellHelper, rustyline::history::FileHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            ctl.error(&format!("cannot start line editor: {e}"));
            return 1;
        }
    };
    ed.set_helper(Some(ShellHelper { conn: shared.clone() }));
    let hist = history_path();
    if let Some(h) = &hist {
        let _ = ed.load_history(h);
    }
    let mut ok = true;
    loop {
        let prompt = if ctl.readonly { "oxvirsh > " } else { "oxvirsh # " };
        match ed.readline(prompt) {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = ed.add_history_entry(line.as_str());
                match parse::parse_str(TABLE, &line) {
                    Ok(cmds) => ok = ctl.run(&cmds),
                    Err(msgs) => {
                        for m in msgs {
                            ctl.error(&m);
                        }
                        ok = false;
                    }
                }
                *shared.lock().unwrap_or_else(|p| p.into_inner()) = ctl.conn.clone();
                if ctl.exit_requested {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => {
                ctl.print("\n");
                break;
            }
        }
    }
    if let Some(h) = &hist {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = ed.save_history(h);
    }
    i32::from(!ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: Complete) -> Vec<String> {
        match c {
            Complete::Domain => vec!["web".into(), "db".into()],
            _ => Vec::new(),
        }
    }

    #[test]
    fn completes_commands_options_and_domains() {
        let (s, v) = complete_line("domst", &names);
        assert_eq!(s, 0);
        assert_eq!(v, vec!["domstate"]);
        let (_, v) = complete_line("domstate --re", &names);
        assert_eq!(v, vec!["--reason"]);
        let (s, v) = complete_line("dominfo w", &names);
        assert_eq!((s, v), (8, vec!["web".to_string()]));
        let (_, v) = complete_line("list; dominfo --domain d", &names);
        assert_eq!(v, vec!["db"]);
    }
}
