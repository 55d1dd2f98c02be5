//! `oxvirtd`: the daemon, a drop-in for `libvirtd` speaking libvirt's wire protocol.
//!
//! * [`config`] — `libvirtd.conf` settings;
//! * [`server`] — listeners, per-client I/O tasks, keepalive, limits (the threading
//!   model is described there and in `docs/daemon.md`);
//! * [`session`] — per-client state and the calls libvirtd handles before dispatch;
//! * [`events`] — event registration and delivery;
//! * [`dispatch`] — procedures mapped to the public `oxvirt` API;
//! * [`admin`] — the ADMIN program (`virt-admin`) and the daemon's log filters;
//! * [`tcp`], [`tls`] — TCP and TLS listeners (`--listen`);
//! * [`auth`] — client authentication: SASL (SCRAM) and polkit.
//!
//! Layer: binary; may use every library crate.

mod admin;
mod auth;
mod config;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod coverage;
mod dispatch;
mod events;
mod outbox;
mod server;
mod session;
mod stream;
mod tcp;
mod tls;

use anyhow::{bail, Context, Result};
use config::Config;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str = "\
Usage:
  oxvirtd [options]

Options:
  -h | --help            Display program help.
  -v | --verbose         Verbose messages.
  -d | --daemon          Run as a daemon & write PID file.
  -l | --listen          Listen for TCP/IP connections.
  -t | --timeout <secs>  Exit after timeout period.
  -f | --config <file>   Configuration file.
  -V | --version         Display version information.
  -p | --pid-file <file> Change name of PID file.
       --socket-dir <dir> Directory of the unix sockets (overrides unix_sock_dir).
       --sasl-passwd <user>
                         Add or replace a SASL user in sasl_passwd_file (password
                         read from stdin) and exit.
       --sasl-passwd-delete <user>
                         Remove a SASL user from sasl_passwd_file and exit.
";

/// Command-line options (libvirtd's, plus `--socket-dir`).
#[derive(Debug, Default)]
struct Opts {
    verbose: bool,
    daemon: bool,
    listen: bool,
    timeout: Option<u64>,
    config: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    socket_dir: Option<PathBuf>,
    sasl_passwd: Option<String>,
    sasl_passwd_delete: Option<String>,
}

fn parse_args() -> Result<Option<Opts>> {
    use lexopt::prelude::*;
    let mut o = Opts::default();
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => {
                print!("{USAGE}");
                return Ok(None);
            }
            Short('V') | Long("version") => {
                println!("oxvirtd (oxvirt) {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Short('v') | Long("verbose") => o.verbose = true,
            Short('d') | Long("daemon") => o.daemon = true,
            Short('l') | Long("listen") => o.listen = true,
            Short('t') | Long("timeout") => {
                let v: String = p.value()?.parse()?;
                match v.parse::<u64>() {
                    Ok(t) if t > 0 => o.timeout = Some(t),
                    _ => bail!("Invalid value for timeout"),
                }
            }
            Short('f') | Long("config") => o.config = Some(p.value()?.into()),
            Short('p') | Long("pid-file") => o.pid_file = Some(p.value()?.into()),
            Long("socket-dir") => o.socket_dir = Some(p.value()?.into()),
            Long("sasl-passwd") => o.sasl_passwd = Some(p.value()?.string()?),
            Long("sasl-passwd-delete") => o.sasl_passwd_delete = Some(p.value()?.string()?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Some(o))
}

fn default_pid_file() -> PathBuf {
    if config::privileged() {
        PathBuf::from("/var/run/libvirtd.pid")
    } else {
        config::default_socket_dir().join("libvirtd.pid")
    }
}

fn load_config(o: &Opts) -> Result<Config> {
    let mut cfg = match &o.config {
        Some(p) => Config::load(p, true)?,
        None => Config::load(&config::default_config_file(), false)?,
    };
    if let Some(d) = &o.socket_dir {
        cfg.unix_sock_dir = d.clone();
    }
    Ok(cfg)
}

/// Environment variable that marks the background copy started by `--daemon`.
const DAEMON_CHILD_ENV: &str = "OXVIRTD_DAEMON_CHILD";

/// `--daemon`: start this program again in the background (new process group, stdio on
/// /dev/null except stdout, which is a pipe) and exit once it reports "ready" there,
/// i.e. once its sockets are bound and the pid file is written.
fn daemonize() -> Result<()> {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().context("Failed to find the daemon's executable")?;
    let args = std::env::args_os().skip(1).filter(|a| a != "-d" && a != "--daemon");
    let mut child = Command::new(exe)
        .args(args)
        .env(DAEMON_CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("Failed to start the daemon process")?;
    let out = child.stdout.take().context("no pipe to the daemon process")?;
    let mut line = String::new();
    let _ = std::io::BufReader::new(out).read_line(&mut line);
    if line.trim() == "ready" {
        std::process::exit(0);
    }
    let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
    bail!("the daemon process failed to start (exit status {status}); run without --daemon to see why")
}

fn main() {
    let opts = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => return,
        Err(e) => {
            eprintln!("oxvirtd: {e:#}\n\n{USAGE}");
            std::process::exit(1);
        }
    };
    if let Err(e) = run(opts) {
        eprintln!("oxvirtd: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(opts: Opts) -> Result<()> {
    let cfg = load_config(&opts)?;
    if let Some(user) = &opts.sasl_passwd {
        return auth::passwd::set_user_from_stdin(&cfg.sasl_passwd_file, user);
    }
    if let Some(user) = &opts.sasl_passwd_delete {
        return auth::passwd::delete_user(&cfg.sasl_passwd_file, user);
    }
    // libvirtd's default priority is 3 (warning); -v lowers it to 2 (info).
    admin::logging::init(if opts.verbose { 2 } else { 3 }, cfg.log_filters.as_deref(), cfg.log_outputs.as_deref())
        .context("Can't initialize logging")?;
    if opts.daemon && std::env::var_os(DAEMON_CHILD_ENV).is_none() {
        return daemonize();
    }
    oxvirt_driver_secret::register();
    oxvirt_driver_test::register();
    oxvirt_driver_qemu::register();
    if let Err(e) = oxvirt_driver_qemu::runtime::state_initialize() {
        eprintln!("oxvirtd: warning: the QEMU driver is not available: {e}");
    }
    let listeners = server::bind_all(&cfg)?;
    let ip_listeners = tcp::bind_all(&cfg, opts.listen)?;
    let pid_file = opts.pid_file.clone().unwrap_or_else(default_pid_file);
    if let Some(dir) = pid_file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    oxvirt_util::fs::atomic_write(&pid_file, format!("{}\n", std::process::id()).as_bytes())
        .with_context(|| format!("Failed to write pid file {}", pid_file.display()))?;
    for l in &listeners {
        admin::logging::log(admin::logging::Priority::Info, "daemon", format_args!("listening on {} ({:?})", l.path.display(), l.kind));
    }
    for l in &ip_listeners {
        admin::logging::log(admin::logging::Priority::Info, "daemon", format_args!("listening on {} ({})", l.addr, l.kind()));
    }
    if std::env::var_os(DAEMON_CHILD_ENV).is_some() {
        // Tell the parent (see `daemonize`) that startup succeeded; later writes to
        // the closed pipe fail harmlessly.
        println!("ready");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(admin::thread_started)
        .on_thread_stop(admin::thread_stopped)
        .enable_all()
        .build()
        .context("Failed to start the runtime")?;
    let srv = server::Server::new(cfg);
    let result = rt.block_on(async {
        spawn_signal_handlers(srv.clone(), opts.config.clone(), opts.socket_dir.clone())?;
        if let Some(t) = opts.timeout {
            spawn_idle_timer(srv.clone(), Duration::from_secs(t));
        }
        tcp::spawn(&srv, ip_listeners)?;
        server::serve(srv.clone(), listeners).await
    });
    let _ = std::fs::remove_file(&pid_file);
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

fn spawn_signal_handlers(srv: Arc<server::Server>, config: Option<PathBuf>, socket_dir: Option<PathBuf>) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { srv.shutdown(); return; }
                _ = int.recv() => { srv.shutdown(); return; }
                _ = hup.recv() => {
                    let o = Opts { config: config.clone(), socket_dir: socket_dir.clone(), ..Opts::default() };
                    match load_config(&o) {
                        Ok(c) => srv.reload(c),
                        Err(e) => eprintln!("oxvirtd: reloading the configuration failed: {e:#}"),
                    }
                }
            }
        }
    });
    Ok(())
}

fn spawn_idle_timer(srv: Arc<server::Server>, timeout: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let idle = srv.clients.load(std::sync::atomic::Ordering::SeqCst) == 0
                && srv.idle_since.lock().map(|t| t.elapsed() >= timeout).unwrap_or(false);
            if idle {
                srv.shutdown();
                return;
            }
        }
    });
}
