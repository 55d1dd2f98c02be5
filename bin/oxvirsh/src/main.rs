//! `oxvirsh`: the virsh-compatible CLI.
//!
//! Layout: [`parse`] holds the table-driven command parser, [`table`] the virsh table
//! layout, [`commands`] the command table and handlers grouped by object kind,
//! [`shell`] the interactive mode, [`json`] the `--json` output helpers. `oxvirsh xml
//! ...` is the offline XML tool of `oxvirt-conf` and bypasses all of this.
//!
//! Layer: binary. Depends on the public API (`oxvirt`), `oxvirt-conf` for the offline
//! tool, and the drivers it registers.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod commands;
mod json;
mod parse;
mod shell;
mod table;

use oxvirt::Connect;
use parse::{Cmd, CmdResult, Fail, Needs};
use std::io::Write;

/// Register the drivers this binary can open URIs with.
fn register_drivers() {
    // The `test:///` driver: enable once `oxvirt_driver_test::register` lands on main.
    oxvirt_driver_secret::register();
    oxvirt_driver_test::register();
    oxvirt_driver_qemu::register();
    oxvirt_driver_remote::register();
}

/// The state shared by all commands (virsh's `vshControl`).
pub struct Ctl {
    /// Open connection, if any.
    pub conn: Option<Connect>,
    /// URI given with `-c` / `connect` (None: default).
    pub uri: Option<String>,
    /// `-r`.
    pub readonly: bool,
    /// `-q`: no informational messages.
    pub quiet: bool,
    /// In the interactive shell.
    pub interactive: bool,
    /// Set by `quit`/`exit`.
    pub exit_requested: bool,
    out: Box<dyn Write>,
}

impl Ctl {
    /// A controller writing to stdout.
    pub fn new() -> Ctl {
        Ctl {
            conn: None,
            uri: None,
            readonly: false,
            quiet: false,
            interactive: false,
            exit_requested: false,
            out: Box::new(std::io::stdout()),
        }
    }

    /// A controller writing into a buffer (tests).
    #[cfg(test)]
    pub fn with_output(out: Box<dyn Write>) -> Ctl {
        Ctl { out, ..Ctl::new() }
    }

    /// `vshPrint`: always printed.
    pub fn print(&mut self, s: &str) {
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.flush();
    }

    /// `vshTablePrintToStdout`: a table, without its header under `-q`.
    pub fn print_table(&mut self, t: &table::Table) {
        let out = t.render_with(!self.quiet);
        self.print(&out);
    }

    /// `vshPrintExtra`: suppressed by `-q`.
    pub fn extra(&mut self, s: &str) {
        if !self.quiet {
            self.print(s);
        }
    }

    /// `vshError`: `error: <msg>` on stderr.
    pub fn error(&self, msg: &str) {
        let _ = std::io::stdout().flush();
        eprintln!("error: {msg}");
    }

    /// Print `error: <context>` now and keep `e` to be printed as the last line.
    pub fn fail(&self, context: impl AsRef<str>, e: oxvirt::Error) -> Fail {
        self.error(context.as_ref());
        Fail::Api(e)
    }

    /// Print `error: <msg>` and fail without a library error.
    pub fn fail_msg(&self, msg: impl AsRef<str>) -> Fail {
        self.error(msg.as_ref());
        Fail::Reported
    }

    /// Open the connection (virsh's reconnect); reports virsh's messages on failure.
    pub fn connect(&mut self) -> Result<(), Fail> {
        let res = if self.readonly { Connect::open_read_only(self.uri.as_deref()) } else { Connect::open(self.uri.as_deref()) };
        match res {
            Ok(c) => {
                self.conn = Some(c);
                Ok(())
            }
            Err(e) => {
                self.conn = None;
                Err(self.fail("failed to connect to the hypervisor", e))
            }
        }
    }

    /// The open connection, connecting on first use.
    pub fn conn(&mut self) -> Result<Connect, Fail> {
        if self.conn.is_none() {
            self.connect()?;
        }
        self.conn.clone().ok_or(Fail::Reported)
    }

    /// Run parsed commands; returns the last command's success, like `vshCommandRun`.
    pub fn run(&mut self, cmds: &[Cmd]) -> bool {
        let mut ok = true;
        for cmd in cmds {
            let res: CmdResult = match cmd.def.needs {
                Needs::NoConn => (cmd.def.handler)(self, cmd),
                Needs::Conn => match self.conn() {
                    Ok(_) => (cmd.def.handler)(self, cmd),
                    Err(f) => Err(f),
                },
            };
            ok = res.is_ok();
            if let Err(Fail::Api(e)) = res {
                self.error(&e.message);
            }
            if self.exit_requested {
                return ok;
            }
            self.extra("\n");
        }
        ok
    }
}

impl Default for Ctl {
    fn default() -> Self {
        Ctl::new()
    }
}

fn usage() -> String {
    "\n\
oxvirsh [options]... [<command_string>]\n\
oxvirsh [options]... <command> [args...]\n\
\n\
  options:\n\
    -c | --connect=URI      hypervisor connection URI\n\
    -h | --help             this help\n\
    -q | --quiet            quiet mode\n\
    -r | --readonly         connect readonly\n\
    -v | --version[=short]  program version\n\
    -V | --version=long     version and full options\n\
\n\
  commands (non interactive mode):\n\
\n\
  (specify help <group> for details about the commands in the group)\n\
\n\
  (specify help <command> for details about the command)\n\n"
        .to_string()
}

/// Whether `xml <args>` is `format --kind domain --driver qemu ...` (the QEMU driver's rules).
fn is_qemu_domain_format(args: &[String]) -> bool {
    let opt = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].as_str());
    args.first().map(String::as_str) == Some("format") && opt("--driver") == Some("qemu") && opt("--kind") == Some("domain")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("xml") && is_qemu_domain_format(&args[1..]) {
        match oxvirt_driver_qemu::tool::xml_format(&args[2..]) {
            Ok(out) => print!("{out}"),
            Err(e) => {
                eprintln!("error: {}", oxvirt_util::VirError::from(e));
                std::process::exit(1);
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("qemu") {
        match oxvirt_driver_qemu::tool::run(&args[1..]) {
            Ok(out) => print!("{out}"),
            Err(e) => {
                eprintln!("error: {}", oxvirt_util::VirError::from(e));
                std::process::exit(1);
            }
        }
        return;
    }
    // `domcapabilities --qemu-caps FILE ...` / `--testsuite`: the offline form.
    if args.first().map(String::as_str) == Some("domcapabilities") && oxvirt_driver_qemu::tool::is_offline_domcapabilities(&args[1..]) {
        match oxvirt_driver_qemu::tool::domcapabilities(&args[1..]) {
            Ok(out) => print!("{out}"),
            Err(e) => {
                eprintln!("error: {}", oxvirt_util::VirError::from(e));
                std::process::exit(1);
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("xml") {
        match oxvirt_conf::tool::run(&args[1..]) {
            Ok(out) => print!("{out}"),
            Err(e) => {
                eprintln!("error: {}", e.into_vir(oxvirt_util::ErrorDomain::Xml));
                std::process::exit(1);
            }
        }
        return;
    }
    if args.first().map(String::as_str) == Some("qemu") {
        match oxvirt_driver_qemu::tool::run(&args[1..]) {
            Ok(out) => print!("{out}"),
            Err(e) => {
                eprintln!("error: {}", oxvirt_util::VirError::from(e));
                std::process::exit(1);
            }
        }
        return;
    }
    register_drivers();
    std::process::exit(run_cli(&args));
}

/// Parse global options and run; returns the exit code.
fn run_cli(args: &[String]) -> i32 {
    let mut ctl = Ctl::new();
    let mut i = 0;
    let mut uri_given = false;
    while i < args.len() {
        let a = args[i].as_str();
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if a == "--" {
            i += 1;
            break;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n, Some(v.to_string())),
            _ => (a, None),
        };
        let value = |i: &mut usize| -> Option<String> {
            if let Some(v) = inline.clone() {
                return Some(v);
            }
            *i += 1;
            args.get(*i).cloned()
        };
        match name {
            "-c" | "--connect" => match value(&mut i) {
                Some(v) => {
                    ctl.uri = Some(v);
                    uri_given = true;
                }
                None => {
                    ctl.error(&format!("option '{name}' requires an argument"));
                    return 1;
                }
            },
            "-q" | "--quiet" => ctl.quiet = true,
            "-r" | "--readonly" => ctl.readonly = true,
            "-h" | "--help" => {
                print!("{}", usage());
                return 0;
            }
            "-v" | "--version" | "-V" => {
                println!("{}", oxvirt::Version::from_number(oxvirt::LIB_VERSION));
                return 0;
            }
            _ if a.starts_with("-c") && a.len() > 2 => {
                ctl.uri = Some(a[2..].to_string());
                uri_given = true;
            }
            _ => {
                ctl.error("unknown option");
                return 1;
            }
        }
        i += 1;
    }
    if !uri_given {
        if let Ok(v) = std::env::var("VIRSH_DEFAULT_CONNECT_URI") {
            if !v.is_empty() {
                ctl.uri = Some(v);
            }
        }
    }
    let rest = &args[i..];
    if rest.is_empty() {
        if uri_given {
            if let Err(Fail::Api(e)) = ctl.connect() {
                ctl.error(&e.message);
                return 1;
            }
        }
        return shell::run(&mut ctl);
    }
    let parsed = if rest.len() == 1 { parse::parse_str(commands::TABLE, &rest[0]) } else { parse::parse_argv(commands::TABLE, rest) };
    let cmds = match parsed {
        Ok(c) => c,
        Err(msgs) => {
            for m in msgs {
                ctl.error(&m);
            }
            return 1;
        }
    };
    // Like virsh, a URI given with -c is connected before any command runs.
    if uri_given {
        if let Err(f) = ctl.connect() {
            if let Fail::Api(e) = f {
                ctl.error(&e.message);
            }
            return 1;
        }
    }
    if ctl.run(&cmds) {
        0
    } else {
        1
    }
}
