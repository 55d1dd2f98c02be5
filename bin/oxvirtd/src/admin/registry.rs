//! The daemon's client lists, as the ADMIN program sees them: two servers, as in
//! libvirtd — `libvirtd` (clients of the read-write and read-only sockets) and `admin`
//! (clients of the admin socket) — each numbering its clients from 1, with the peer's
//! credentials (`SO_PEERCRED`), the connection time, and a way to disconnect them.

use super::logging::{log, Priority};
use crate::server::SocketKind;
use crate::session::Client;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// The servers, in the order `CONNECT_LIST_SERVERS` reports them.
pub const SERVER_NAMES: [&str; 2] = ["libvirtd", "admin"];

/// libvirtd's default `max_anonymous_clients`.
const DEFAULT_UNAUTH_MAX: u32 = 20;
/// libvirtd's default `admin_max_clients`.
const DEFAULT_ADMIN_MAX: usize = 5000;

/// The peer's identity from `SO_PEERCRED` (none for TCP and TLS clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cred {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Process id, when the kernel reports one.
    pub pid: Option<i32>,
}

/// One connected client.
pub struct Entry {
    /// Its id within its server (from 1).
    pub id: u64,
    /// Connection time, seconds since the epoch.
    pub timestamp: i64,
    /// The socket it came in on.
    pub kind: SocketKind,
    /// Peer credentials (none if the kernel refused them).
    pub cred: Option<Cred>,
    session: Weak<Client>,
    close: Notify,
}

impl Entry {
    /// Whether the client is read-only: it came in on the read-only socket or opened
    /// its connection with `VIR_CONNECT_RO`.
    pub fn read_only(&self) -> bool {
        self.kind == SocketKind::ReadOnly || self.session.upgrade().and_then(|c| c.conn().ok()).is_some_and(|c| c.is_read_only())
    }

    /// The SASL user name the client authenticated as.
    pub fn sasl_user_name(&self) -> Option<String> {
        self.session.upgrade().and_then(|c| c.auth.sasl_user_name())
    }

    /// Whether the client still has to authenticate.
    pub fn unauthenticated(&self) -> bool {
        self.session.upgrade().is_some_and(|c| !c.auth.authenticated())
    }

    /// Ask the client's reader to disconnect it.
    pub fn close(&self) {
        self.close.notify_one();
    }
}

/// The clients of one server.
pub struct ClientTable {
    /// The server's name.
    pub name: &'static str,
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<Entry>>>,
    /// `nclients_unauth_max` (kept and reported; unauthenticated clients are not
    /// limited separately).
    pub unauth_max: AtomicU32,
    /// `nclients_max` of the admin server (the `libvirtd` server's is `max_clients`).
    pub max: AtomicUsize,
}

impl ClientTable {
    fn new(name: &'static str) -> ClientTable {
        ClientTable {
            name,
            next_id: AtomicU64::new(1),
            clients: Mutex::new(BTreeMap::new()),
            // The admin server takes no unauthenticated clients.
            unauth_max: AtomicU32::new(if name == "admin" { 0 } else { DEFAULT_UNAUTH_MAX }),
            max: AtomicUsize::new(DEFAULT_ADMIN_MAX),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Entry>>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connected clients, by id.
    pub fn list(&self) -> Vec<Arc<Entry>> {
        self.lock().values().cloned().collect()
    }

    /// Number of connected clients.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Number of connected clients still waiting to authenticate.
    pub fn count_unauth(&self) -> usize {
        self.lock().values().filter(|e| e.unauthenticated()).count()
    }

    /// The client with this id.
    pub fn get(&self, id: u64) -> Option<Arc<Entry>> {
        self.lock().get(&id).cloned()
    }

    /// The entry of a session.
    pub fn find(&self, client: &Arc<Client>) -> Option<Arc<Entry>> {
        self.lock().values().find(|e| e.session.as_ptr() == Arc::as_ptr(client)).cloned()
    }
}

/// Both servers' client tables.
pub struct Registry {
    tables: [Arc<ClientTable>; 2],
}

impl Default for Registry {
    fn default() -> Self {
        Registry { tables: SERVER_NAMES.map(|n| Arc::new(ClientTable::new(n))) }
    }
}

/// A client's place in its server's table; removes it when dropped.
pub struct Registration {
    table: Arc<ClientTable>,
    entry: Arc<Entry>,
}

impl Registration {
    /// Resolves when the client must be disconnected (`CLIENT_CLOSE`, the admin
    /// client's own `CONNECT_CLOSE`, or refused at connection time).
    pub async fn closed(&self) {
        self.entry.close.notified().await
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.table.lock().remove(&self.entry.id);
        log(Priority::Info, "rpc.server", format_args!("server {}: client {} disconnected", self.table.name, self.entry.id));
    }
}

/// The daemon's effective uid (the owner of `/proc/self`).
fn euid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

impl Registry {
    /// The table of the server named `name`.
    pub fn server(&self, name: &str) -> Option<&Arc<ClientTable>> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The table of the server that owns connections on `kind`.
    pub fn table_of(&self, kind: SocketKind) -> &Arc<ClientTable> {
        &self.tables[usize::from(kind == SocketKind::Admin)]
    }

    /// Add a newly connected client. Admin clients of another user than the daemon's
    /// (as libvirtd) and admin clients beyond the admin server's `nclients_max` are
    /// disconnected at once.
    pub fn register(&self, kind: SocketKind, cred: Option<Cred>, client: &Arc<Client>) -> Registration {
        let table = self.table_of(kind).clone();
        let id = table.next_id.fetch_add(1, Ordering::SeqCst);
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let entry = Arc::new(Entry {
            id,
            timestamp: i64::try_from(timestamp).unwrap_or(i64::MAX),
            kind,
            cred,
            session: Arc::downgrade(client),
            close: Notify::new(),
        });
        let mut clients = table.lock();
        if kind == SocketKind::Admin {
            let uid = cred.map(|c| c.uid);
            if uid.is_none() || uid != euid() {
                log(Priority::Warning, "admin", format_args!("Disallowing admin client with uid {uid:?}"));
                entry.close();
            } else if clients.len() >= table.max.load(Ordering::SeqCst) {
                log(Priority::Warning, "admin", format_args!("too many admin clients, dropping the new one"));
                entry.close();
            }
        }
        clients.insert(id, entry.clone());
        drop(clients);
        log(
            Priority::Info,
            "rpc.server",
            format_args!(
                "server {}: client {id} connected (pid {:?}, uid {:?})",
                table.name,
                cred.and_then(|c| c.pid),
                cred.map(|c| c.uid)
            ),
        );
        Registration { table, entry }
    }
}
