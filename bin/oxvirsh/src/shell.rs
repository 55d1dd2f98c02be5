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

/// virsh's prompt on a read-write connection (`VIRSH_PROMPT_RW`): scripts that drive
/// `virsh` through a pipe see the prompt, so a drop-in replacement prints the same.
pub const PROMPT_RW: &str = "virsh # ";
/// virsh's prompt on a read-only connection (`VIRSH_PROMPT_RO`).
pub const PROMPT_RO: &str = "virsh > ";

/// The program name as virsh takes it for its banner: `argv[0]` after the last `/`.
fn progname() -> String {
    let arg0 = std::env::args().next().unwrap_or_default();
    match arg0.rsplit_once('/') {
        Some((_, base)) => base.to_string(),
        None => arg0,
    }
}

/// Parse and run one input line, as virsh's loop does for a non-empty line.
fn run_line(ctl: &mut Ctl, line: &str) {
    match parse::parse_str(TABLE, line) {
        Ok(cmds) => {
            ctl.run(&cmds);
        }
        Err(msgs) => {
            for m in msgs {
                ctl.error(&m);
            }
        }
    }
}

/// Run the interactive shell; returns the exit code, which is 0 as in virsh whatever
/// the commands did.
pub fn run(ctl: &mut Ctl) -> i32 {
    use std::io::IsTerminal;
    ctl.interactive = true;
    if !ctl.quiet {
        ctl.print(&format!(
            "Welcome to {}, the virtualization interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n",
            progname()
        ));
    }
    if std::io::stdin().is_terminal() {
        run_terminal(ctl);
    } else {
        run_piped(ctl, &mut std::io::stdin().lock());
    }
    0
}

/// Input from a pipe or file: like readline without a terminal, print the prompt and
/// echo each line read, then run it; at the end (EOF or `quit`) print a newline.
fn run_piped(ctl: &mut Ctl, input: &mut dyn std::io::BufRead) {
    loop {
        ctl.print(if ctl.readonly { PROMPT_RO } else { PROMPT_RW });
        let mut buf = Vec::new();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let line = String::from_utf8_lossy(&buf).into_owned();
        ctl.print(&format!("{line}\n"));
        if !line.is_empty() {
            run_line(ctl, &line);
        }
        if ctl.exit_requested {
            break;
        }
    }
    ctl.print("\n");
}

/// Input from a terminal: rustyline editing, history and completion.
fn run_terminal(ctl: &mut Ctl) {
    let shared = Arc::new(Mutex::new(ctl.conn.clone()));
    let mut ed: Editor<ShellHelper, rustyline::history::FileHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            ctl.error(&format!("cannot start line editor: {e}"));
            return;
        }
    };
    ed.set_helper(Some(ShellHelper { conn: shared.clone() }));
    let hist = history_path();
    if let Some(h) = &hist {
        let _ = ed.load_history(h);
    }
    loop {
        let prompt = if ctl.readonly { PROMPT_RO } else { PROMPT_RW };
        match ed.readline(prompt) {
            Ok(line) => {
                if !line.is_empty() {
                    let _ = ed.add_history_entry(line.as_str());
                    run_line(ctl, &line);
                }
                *shared.lock().unwrap_or_else(|p| p.into_inner()) = ctl.conn.clone();
                if ctl.exit_requested {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => break,
        }
    }
    ctl.print("\n");
    if let Some(h) = &hist {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = ed.save_history(h);
    }
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

    fn piped(input: &str, readonly: bool) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Buf::default();
        let mut ctl = Ctl::with_output(Box::new(out.clone()));
        ctl.quiet = true;
        ctl.readonly = readonly;
        run_piped(&mut ctl, &mut input.as_bytes());
        let v = out.0.lock().unwrap().clone();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn piped_sessions_echo_like_readline() {
        // Blank lines are echoed and skipped; a last line without newline still runs;
        // quit stops reading; the session ends with a newline either way.
        assert_eq!(piped("\n  \nquit\nhelp\n", false), "virsh # \nvirsh #   \nvirsh # quit\n\n");
        assert_eq!(piped("", true), "virsh > \n");
        assert_eq!(piped("exit", false), "virsh # exit\n\n");
    }

    #[test]
    fn completes_commands_options_and_domains() {
        let (s, v) = complete_line("domst", &names);
        assert_eq!(s, 0);
        assert_eq!(v, vec!["domstate", "domstats"]);
        let (_, v) = complete_line("domstate --re", &names);
        assert_eq!(v, vec!["--reason"]);
        let (s, v) = complete_line("dominfo w", &names);
        assert_eq!((s, v), (8, vec!["web".to_string()]));
        let (_, v) = complete_line("list; dominfo --domain d", &names);
        assert_eq!(v, vec!["db"]);
    }
}
