//! The RPC server: unix-socket listeners, one reader and one writer task per client,
//! keepalive, and the `max_clients` / `max_client_requests` limits.
//!
//! Threading model: a tokio runtime with two worker threads runs the I/O (accept
//! loops, per-client readers and writers, keepalive timers). Each call is decoded by
//! the client's reader and executed on tokio's blocking pool
//! (`tokio::task::spawn_blocking`), so a slow driver call never blocks the I/O, other
//! calls of the same client, or other clients (the few calls that touch no driver are
//! answered by the reader itself, `session::try_inline`). Replies, events and
//! keepalive packets reach the socket through the client's [`Out`]: written directly
//! by their producer on unix sockets, by a writer task for TCP/TLS (`crate::outbox`).
//!
//! fd passing: unix-socket readers use `recvmsg` and an
//! [`oxvirt_rpc::frame::FdFrameDecoder`], which hands each `CALL_WITH_FDS` packet over
//! with its descriptors as `OwnedFd`s (closed on every path that does not give them
//! to a driver). A TCP/TLS client announcing descriptors is dropped, as libvirtd does.

use crate::admin::registry::Cred;
use crate::auth::Transport;
use crate::config::Config;
use crate::outbox::{Out, Outbox};
use crate::session::{self, Client};
use anyhow::{bail, Context, Result};
use oxvirt_rpc::dispatch::{classify, Incoming};
use oxvirt_rpc::frame::FdFrameDecoder;
use oxvirt_rpc::message::Header;
use oxvirt_rpc::proto::keepalive::{KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG};
use oxvirt_rpc::proto::{Program, ADMIN_SOCKET_PROGRAMS, MAIN_SOCKET_PROGRAMS};
use oxvirt_rpc::{MessageStatus, MessageType, Packet};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch, Semaphore};

/// The three sockets of the monolithic daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `libvirt-sock`: read-write connections.
    ReadWrite,
    /// `libvirt-sock-ro`: every connection is forced read-only.
    ReadOnly,
    /// `libvirt-admin-sock`: the ADMIN program.
    Admin,
}

impl SocketKind {
    /// The socket's file name inside the socket directory.
    pub fn file_name(self) -> &'static str {
        match self {
            SocketKind::ReadWrite => "libvirt-sock",
            SocketKind::ReadOnly => "libvirt-sock-ro",
            SocketKind::Admin => "libvirt-admin-sock",
        }
    }

    fn programs(self) -> &'static [&'static Program] {
        match self {
            SocketKind::Admin => &ADMIN_SOCKET_PROGRAMS,
            _ => &MAIN_SOCKET_PROGRAMS,
        }
    }

    fn perms(self, cfg: &Config) -> u32 {
        match self {
            SocketKind::ReadWrite => cfg.unix_sock_rw_perms,
            SocketKind::ReadOnly => cfg.unix_sock_ro_perms,
            SocketKind::Admin => cfg.unix_sock_admin_perms,
        }
    }
}

/// Daemon-wide state shared by every client.
pub struct Server {
    /// Current settings (replaced on SIGHUP; limits and keepalive apply to new clients).
    pub cfg: RwLock<Config>,
    /// Connected clients.
    pub clients: AtomicUsize,
    /// Calls being executed.
    pub calls_in_flight: AtomicUsize,
    /// Daemon-wide counter for event callback ids (libvirtd starts at 0).
    pub next_callback_id: AtomicI32,
    /// Free client slots (`max_clients`).
    pub(crate) slots: Arc<Semaphore>,
    slots_total: Mutex<usize>,
    /// When the last client went away (for `--timeout`).
    pub idle_since: Mutex<Instant>,
    shutdown: watch::Sender<bool>,
    /// Client lists of the `libvirtd` and `admin` servers (the ADMIN program's view).
    pub admin: crate::admin::registry::Registry,
}

impl Server {
    /// A server with `cfg`.
    pub fn new(cfg: Config) -> Arc<Server> {
        let max = cfg.max_clients;
        let (shutdown, _) = watch::channel(false);
        Arc::new(Server {
            cfg: RwLock::new(cfg),
            clients: AtomicUsize::new(0),
            calls_in_flight: AtomicUsize::new(0),
            next_callback_id: AtomicI32::new(0),
            slots: Arc::new(Semaphore::new(max)),
            slots_total: Mutex::new(max),
            idle_since: Mutex::new(Instant::now()),
            shutdown,
            admin: Default::default(),
        })
    }

    /// A copy of the current settings.
    pub fn config(&self) -> Config {
        self.cfg.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Apply reloaded settings (SIGHUP). The socket paths and permissions stay as
    /// bound; `max_clients` grows or shrinks the pool of free slots.
    pub fn reload(&self, new: Config) {
        let mut total = self.slots_total.lock().unwrap_or_else(|p| p.into_inner());
        if new.max_clients > *total {
            self.slots.add_permits(new.max_clients - *total);
        } else {
            let fewer = *total - new.max_clients;
            self.slots.forget_permits(fewer);
        }
        *total = new.max_clients;
        *self.cfg.write().unwrap_or_else(|p| p.into_inner()) = new;
    }

    /// Stop accepting and disconnect every client.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// A bound listener.
pub struct Listener {
    /// Which socket.
    pub kind: SocketKind,
    /// Its path.
    pub path: PathBuf,
    listener: std::os::unix::net::UnixListener,
}

/// Bind the read-write, read-only and admin sockets in `cfg.unix_sock_dir` with the
/// configured permissions. A socket another daemon still answers on is an error; a
/// stale socket file is replaced.
pub fn bind_all(cfg: &Config) -> Result<Vec<Listener>> {
    let dir = &cfg.unix_sock_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create directory {}", dir.display()))?;
    let mut out = Vec::new();
    for kind in [SocketKind::ReadWrite, SocketKind::ReadOnly, SocketKind::Admin] {
        let path = dir.join(kind.file_name());
        out.push(bind_one(kind, &path, kind.perms(cfg), cfg.unix_sock_group.as_deref())?);
    }
    Ok(out)
}

fn bind_one(kind: SocketKind, path: &Path, perms: u32, group: Option<&str>) -> Result<Listener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("Failed to bind socket to '{}': another daemon is listening there", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("Failed to remove stale socket {}", path.display()))?;
    }
    let listener =
        std::os::unix::net::UnixListener::bind(path).with_context(|| format!("Failed to bind socket to '{}'", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(perms))
        .with_context(|| format!("Failed to change permissions of {}", path.display()))?;
    if let Some(g) = group {
        chown_group(path, g)?;
    }
    listener.set_nonblocking(true).context("Failed to make the socket non-blocking")?;
    Ok(Listener { kind, path: path.to_path_buf(), listener })
}

fn chown_group(path: &Path, group: &str) -> Result<()> {
    let gid = match group.parse::<u32>() {
        Ok(g) => g,
        Err(_) => lookup_group(group)?,
    };
    std::os::unix::fs::chown(path, None, Some(gid)).with_context(|| format!("Failed to change group of {}", path.display()))
}

/// The gid of `name` from /etc/group.
fn lookup_group(name: &str) -> Result<u32> {
    let text = std::fs::read_to_string("/etc/group").context("Failed to read /etc/group")?;
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let n = f.next()?;
            let gid = f.nth(1)?.parse::<u32>().ok()?;
            (n == name).then_some(gid)
        })
        .next()
        .with_context(|| format!("Failed to look up group '{name}'"))
}

/// Run the accept loops until [`Server::shutdown`]; then wait (at most 5 s) for
/// running calls to finish and remove the socket files.
pub async fn serve(server: Arc<Server>, listeners: Vec<Listener>) -> Result<()> {
    let mut tasks = Vec::new();
    let mut paths = Vec::new();
    for l in listeners {
        let tl = UnixListener::from_std(l.listener).context("Failed to register the socket with the runtime")?;
        paths.push(l.path);
        tasks.push(tokio::spawn(accept_loop(server.clone(), l.kind, tl)));
    }
    let mut stop = server.shutdown_signal();
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    for t in &tasks {
        t.abort();
    }
    for p in &paths {
        let _ = std::fs::remove_file(p);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.calls_in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the client tasks close their sockets themselves: dropped with the runtime,
    // a unix client's write half would shut down before the socket closes, and a
    // libvirt client waking in between reports its close reason as an error, not EOF.
    while server.clients.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn accept_loop(server: Arc<Server>, kind: SocketKind, listener: UnixListener) {
    let mut stop = server.shutdown_signal();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => return,
        };
        // max_clients: while every slot is taken, the accepted client waits unserved
        // and this listener stops accepting (new connections wait in the backlog), as
        // libvirtd does. Admin clients do not count.
        let slot = if kind == SocketKind::Admin {
            None
        } else {
            tokio::select! {
                s = server.slots.clone().acquire_owned() => match s { Ok(s) => Some(s), Err(_) => return },
                _ = stop.changed() => return,
            }
        };
        match accepted {
            Ok((stream, _)) => {
                let server = server.clone();
                tokio::spawn(async move {
                    let cred = stream.peer_cred().ok().map(|c| Cred { uid: c.uid(), gid: c.gid(), pid: c.pid() });
                    run_unix_client(server, kind, stream, cred).await;
                    drop(slot);
                });
            }
            Err(e) => {
                eprintln!("oxvirtd: accept failed on {}: {e}", kind.file_name());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Encode a packet; an oversized reply becomes an RPC error reply.
pub fn encode(p: &Packet) -> Vec<u8> {
    match p.to_bytes() {
        Ok(b) => b,
        Err(e) => {
            let err = oxvirt_rpc::proto::remote::RemoteError::from_vir_error(&e.to_vir_error());
            Packet::with_body(p.header.reply(MessageStatus::ERROR), &err).and_then(|p| p.to_bytes()).unwrap_or_default()
        }
    }
}

/// Serve one client on a TCP socket or a TLS session: replies go through a channel to
/// a writer task that owns the stream's write half.
pub(crate) async fn run_client<S>(server: Arc<Server>, transport: Transport, stream: S, cred: Option<Cred>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, mut wr) = tokio::io::split(stream);
    let rd = ClientReader::Stream(rd);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(buf) = rx.recv().await {
            if wr.write_all(&buf).await.is_err() {
                break;
            }
        }
    });
    serve_client(server, transport, rd, Out::Channel(tx), writer, cred).await;
}

/// Serve one unix-socket client: replies are written by the thread that produced them
/// when nothing is queued before them (`crate::outbox`).
async fn run_unix_client(server: Arc<Server>, kind: SocketKind, stream: UnixStream, cred: Option<Cred>) {
    let (rd, wr) = stream.into_split();
    let (out, drain) = Outbox::open(wr);
    let writer = tokio::spawn(drain);
    serve_client(server, Transport::Unix(kind), ClientReader::<tokio::net::unix::OwnedReadHalf>::Unix(rd), Out::Direct(out), writer, cred)
        .await;
}

/// A client's read side: unix sockets read with `recvmsg` to collect descriptors.
enum ClientReader<R> {
    Unix(tokio::net::unix::OwnedReadHalf),
    Stream(R),
}

impl<R: AsyncRead + Unpin> ClientReader<R> {
    fn passes_fds(&self) -> bool {
        matches!(self, ClientReader::Unix(_))
    }

    /// Read bytes and the descriptors that came with them; `Ok((0, _))` at end of file.
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<(usize, Vec<OwnedFd>)> {
        match self {
            ClientReader::Stream(r) => r.read(buf).await.map(|n| (n, Vec::new())),
            ClientReader::Unix(r) => loop {
                let sock = r.as_ref();
                sock.readable().await?;
                match sock.try_io(tokio::io::Interest::READABLE, || oxvirt_util::fdpass::recv_with_fds(sock, buf)) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    other => return other,
                }
            },
        }
    }
}

/// The reader side of a client: read packets, answer keepalive, run calls; at the end,
/// let running calls answer, tear the session down and wait for `writer` to flush.
async fn serve_client<R>(
    server: Arc<Server>,
    transport: Transport,
    mut rd: ClientReader<R>,
    out: Out,
    mut writer: tokio::task::JoinHandle<()>,
    cred: Option<Cred>,
) where
    R: AsyncRead + Unpin,
{
    let cfg = server.config();
    server.clients.fetch_add(1, Ordering::SeqCst);
    let kind = match transport {
        Transport::Unix(k) => k,
        Transport::Tcp | Transport::Tls => SocketKind::ReadWrite,
    };
    let client = Arc::new(Client::new(kind, out));
    client.auth.setup(&cfg, transport, cred);
    let registration = server.admin.register(kind, cred, &client);
    let requests = Arc::new(Semaphore::new(cfg.max_client_requests));
    let mut stop = server.shutdown_signal();
    let mut dec = FdFrameDecoder::<OwnedFd>::new(MessageType::CALL_WITH_FDS, rd.passes_fds());
    let mut buf = vec![0u8; 64 * 1024];
    let interval = if cfg.keepalive_interval > 0 { Some(Duration::from_secs(cfg.keepalive_interval.unsigned_abs())) } else { None };
    let mut tick = tokio::time::interval(interval.unwrap_or(Duration::from_secs(3600)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_rx = Instant::now();
    let mut unanswered: u32 = 0;
    'conn: loop {
        tokio::select! {
            r = rd.read(&mut buf) => {
                let (n, fds) = match r { Ok((0, _)) | Err(_) => break 'conn, Ok(r) => r };
                last_rx = Instant::now();
                unanswered = 0;
                dec.push(&buf[..n], fds);
                loop {
                    match dec.next_packet() {
                        Ok(Some((p, fds))) => handle_packet(&server, &client, kind, &requests, p, fds).await,
                        Ok(None) => break,
                        Err(_) => break 'conn,
                    }
                }
            }
            _ = tick.tick(), if interval.is_some() => {
                let Some(iv) = interval else { continue };
                if client.keepalive_enabled() && last_rx.elapsed() >= iv {
                    if unanswered >= cfg.keepalive_count {
                        // No sign of life for interval × (count + 1): drop the client.
                        break 'conn;
                    }
                    unanswered += 1;
                    client.send(encode(&Packet { header: Header::keepalive(KEEPALIVE_PROC_PING), nfds: 0, payload: Vec::new() }));
                }
            }
            _ = stop.changed() => break 'conn,
            _ = registration.closed() => break 'conn,
        }
    }
    // Let calls already read finish and answer (bounded), then deregister events and
    // close the hypervisor connection off the I/O threads.
    let all = u32::try_from(cfg.max_client_requests).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(5), requests.acquire_many(all)).await;
    let c = client.clone();
    let _ = tokio::task::spawn_blocking(move || c.teardown()).await;
    // Dropping the last sender (or outbox handle) lets the writer flush what is
    // queued and stop.
    drop(client);
    if tokio::time::timeout(Duration::from_secs(1), &mut writer).await.is_err() {
        writer.abort();
    }
    if server.clients.fetch_sub(1, Ordering::SeqCst) == 1 {
        *server.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
}

async fn handle_packet(
    server: &Arc<Server>,
    client: &Arc<Client>,
    kind: SocketKind,
    requests: &Arc<Semaphore>,
    p: Packet,
    fds: Vec<OwnedFd>,
) {
    match classify(kind.programs(), &p.header) {
        Incoming::Ping => {
            client.send(encode(&Packet { header: Header::keepalive(KEEPALIVE_PROC_PONG), nfds: 0, payload: Vec::new() }));
        }
        Incoming::Stream => crate::stream::incoming(client, p).await,
        Incoming::Pong | Incoming::Ignore => {}
        Incoming::ReplyError(e) => {
            let body = e.to_remote_error();
            if let Ok(pkt) = Packet::with_body(p.header.reply(MessageStatus::ERROR), &body) {
                client.send(encode(&pkt));
            }
        }
        Incoming::Call { program, procedure } if session::try_inline(client, program, procedure, &p) => {}
        Incoming::Call { program, procedure } => {
            // max_client_requests: stop reading this client until a slot frees up.
            let Ok(permit) = requests.clone().acquire_owned().await else { return };
            let server = server.clone();
            let client = client.clone();
            server.calls_in_flight.fetch_add(1, Ordering::SeqCst);
            tokio::task::spawn_blocking(move || {
                session::handle_call(&server, &client, program, procedure, &p, fds);
                server.calls_in_flight.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
            });
        }
    }
}
