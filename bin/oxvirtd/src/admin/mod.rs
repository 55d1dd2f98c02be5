//! The ADMIN program on the admin socket (libvirt's `admin_server_dispatch.c`), what
//! Debian's `virt-admin` talks to: servers and their clients, client information and
//! disconnection, client limits, the worker pool, and the daemon's log filters and
//! outputs.
//!
//! * [`registry`] — the client tables of the two servers, `libvirtd` and `admin`;
//! * [`logging`] — log filters and outputs in libvirt's syntax, used by the daemon's
//!   own messages.
//!
//! Worker pool: every call runs on tokio's blocking pool, which starts threads on
//! demand (`minWorkers` 0) up to 512 (`maxWorkers`) and has no priority workers. The
//! runtime's thread start/stop hooks ([`thread_started`], [`thread_stopped`]) count its
//! threads; the blocking ones are that count minus the I/O workers. tokio cannot resize
//! the pool at run time, so `SERVER_SET_THREADPOOL_PARAMETERS` accepts only the current
//! values.

pub mod logging;
pub mod registry;

use crate::dispatch::{args, ret, void, Reply};
use crate::server::Server;
use crate::session::Client;
use oxvirt::{Error, ErrorCode, ErrorDomain};
use oxvirt_rpc::proto::admin::*;
use oxvirt_rpc::proto::AdminTypedParamValue as V;
use oxvirt_rpc::Packet;
use registry::{ClientTable, Entry, SERVER_NAMES};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// tokio's default limit of blocking threads (the runtime does not change it).
const MAX_BLOCKING_THREADS: u32 = 512;

static RUNTIME_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Runtime hook: a runtime thread (I/O worker or blocking) started.
pub fn thread_started() {
    RUNTIME_THREADS.fetch_add(1, Ordering::SeqCst);
}

/// Runtime hook: a runtime thread stopped.
pub fn thread_stopped() {
    RUNTIME_THREADS.fetch_sub(1, Ordering::SeqCst);
}

fn no_server(name: &str) -> Error {
    Error::new(ErrorCode::NoServer, ErrorDomain::Admin, format!("no server with matching name '{name}' found"))
}

fn table<'a>(server: &'a Server, name: &str) -> Result<&'a Arc<ClientTable>, Error> {
    server.admin.server(name).ok_or_else(|| no_server(name))
}

fn client_entry(server: &Server, c: &AdminNonnullClient) -> Result<Arc<Entry>, Error> {
    table(server, &c.srv.name)?
        .get(c.id)
        .ok_or_else(|| Error::new(ErrorCode::NoClient, ErrorDomain::Admin, format!("no client with matching id '{}' found", c.id)))
}

fn check_flags(flags: u32, func: &str) -> Result<(), Error> {
    if flags != 0 {
        return Err(Error::unsupported_flags(ErrorDomain::Admin, func, u64::from(flags)));
    }
    Ok(())
}

fn wire_client(srv: &str, e: &Entry) -> AdminNonnullClient {
    // VIR_CLIENT_TRANS_UNIX: only unix sockets are served.
    AdminNonnullClient { srv: AdminNonnullServer { name: srv.to_string() }, id: e.id, timestamp: e.timestamp, transport: 0 }
}

fn param(field: &str, value: V) -> AdminTypedParam {
    AdminTypedParam { field: field.to_string(), value }
}

fn type_name(v: &V) -> &'static str {
    match v {
        V::Int(_) => "int",
        V::UInt(_) => "uint",
        V::LLong(_) => "llong",
        V::ULLong(_) => "ullong",
        V::Double(_) => "double",
        V::Boolean(_) => "boolean",
        V::String(_) => "string",
    }
}

/// `virTypedParamsValidate` for parameters that are all `uint`: the values of the
/// `allowed` names that are present, in `allowed` order.
fn validate_uints(params: &[AdminTypedParam], allowed: &[&str]) -> Result<Vec<Option<u32>>, Error> {
    let mut out = vec![None; allowed.len()];
    for p in params {
        let Some(i) = allowed.iter().position(|a| *a == p.field) else {
            return Err(Error::new(ErrorCode::ArgumentUnsupported, ErrorDomain::Admin, format!("parameter '{}' not supported", p.field)));
        };
        if out[i].is_some() {
            return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Admin, format!("parameter '{}' occurs multiple times", p.field)));
        }
        match p.value {
            V::UInt(v) => out[i] = Some(v),
            ref other => {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    ErrorDomain::Admin,
                    format!("invalid type '{}' for parameter '{}', expected 'uint'", type_name(other), p.field),
                ))
            }
        }
    }
    Ok(out)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Worker pool figures: (min, max, current, free, priority, queue depth).
fn pool_figures(server: &Server) -> [u32; 6] {
    let workers = tokio::runtime::Handle::try_current().map(|h| h.metrics().num_workers()).unwrap_or(0);
    let blocking = RUNTIME_THREADS.load(Ordering::SeqCst).saturating_sub(workers);
    let busy = server.calls_in_flight.load(Ordering::SeqCst);
    let max = MAX_BLOCKING_THREADS as usize;
    [0, MAX_BLOCKING_THREADS, to_u32(blocking), to_u32(blocking.saturating_sub(busy)), 0, to_u32(busy.saturating_sub(max))]
}

const POOL_NAMES: [&str; 6] = ["minWorkers", "maxWorkers", "nWorkers", "freeWorkers", "prioWorkers", "jobQueueDepth"];

fn user_name(uid: u32) -> Option<String> {
    name_of("/etc/passwd", uid)
}

fn group_name(gid: u32) -> Option<String> {
    name_of("/etc/group", gid)
}

/// The name whose third `:`-field is `id` in a passwd-style file.
fn name_of(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == id).then(|| name.to_string())
    })
}

/// `CLIENT_GET_INFO`'s parameters for a local (unix socket) client, in libvirt's order.
fn client_info(e: &Entry) -> Vec<AdminTypedParam> {
    let mut out = vec![param("readonly", V::Boolean(i32::from(e.read_only())))];
    if let Some(name) = e.sasl_user_name() {
        out.push(param("sasl_user_name", V::String(name)));
    }
    if let Some(c) = e.cred {
        out.push(param("unix_user_id", V::Int(c.uid as i32)));
        if let Some(n) = user_name(c.uid) {
            out.push(param("unix_user_name", V::String(n)));
        }
        out.push(param("unix_group_id", V::Int(c.gid as i32)));
        if let Some(n) = group_name(c.gid) {
            out.push(param("unix_group_name", V::String(n)));
        }
        if let Some(pid) = c.pid {
            out.push(param("unix_process_id", V::Int(pid)));
        }
    }
    out
}

/// Serve one ADMIN call. `None`: the reply was already queued.
pub fn call(server: &Arc<Server>, client: &Arc<Client>, n: i32, p: &Packet) -> Option<Reply> {
    use AdminProcedure as P;
    let payload = &p.payload;
    let Some(proc) = AdminProcedure::from_number(n) else { return Some(Err(crate::session::unknown_procedure(n))) };
    logging::log(logging::Priority::Debug, "admin", format_args!("call {}", proc.info().name));
    Some(match proc {
        P::ConnectOpen => {
            args::<AdminConnectOpenArgs>(payload).and_then(|a| check_flags(a.flags, "adminDispatchConnectOpen")).and_then(|_| void())
        }
        P::ConnectClose => {
            // The reply is queued before the reader lets the connection go.
            if let Some(e) = server.admin.table_of(client.kind).find(client) {
                e.close();
            }
            void()
        }
        P::ConnectGetLibVersion => ret(&AdminConnectGetLibVersionRet { lib_ver: oxvirt::LIB_VERSION }),
        P::ConnectListServers => list_servers(payload),
        P::ConnectLookupServer => (|| {
            let a: AdminConnectLookupServerArgs = args(payload)?;
            check_flags(a.flags, "adminConnectLookupServer")?;
            if !SERVER_NAMES.contains(&a.name.as_str()) {
                return Err(Error::new(ErrorCode::NoServer, ErrorDomain::Rpc, format!("No server named '{}'", a.name)));
            }
            ret(&AdminConnectLookupServerRet { srv: AdminNonnullServer { name: a.name } })
        })(),
        P::ServerGetThreadpoolParameters => (|| {
            let a: AdminServerGetThreadpoolParametersArgs = args(payload)?;
            table(server, &a.srv.name)?;
            check_flags(a.flags, "adminServerGetThreadPoolParameters")?;
            let params = POOL_NAMES.iter().zip(pool_figures(server)).map(|(n, v)| param(n, V::UInt(v))).collect();
            ret(&AdminServerGetThreadpoolParametersRet { params })
        })(),
        P::ServerSetThreadpoolParameters => (|| {
            let a: AdminServerSetThreadpoolParametersArgs = args(payload)?;
            table(server, &a.srv.name)?;
            check_flags(a.flags, "adminServerSetThreadPoolParameters")?;
            let v = validate_uints(&a.params, &["minWorkers", "maxWorkers", "prioWorkers"])?;
            let cur = pool_figures(server);
            let min = v[0].unwrap_or(cur[0]);
            let max = v[1].unwrap_or(cur[1]);
            if min > max {
                return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Admin, "minWorkers cannot be larger than maxWorkers"));
            }
            if min != cur[0] || max != cur[1] || v[2].is_some_and(|p| p != cur[4]) {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    ErrorDomain::Admin,
                    "oxvirtd's worker pool (tokio's blocking pool: minWorkers 0, maxWorkers 512, prioWorkers 0) cannot be resized at run time",
                ));
            }
            void()
        })(),
        P::ServerListClients => (|| {
            let a: AdminServerListClientsArgs = args(payload)?;
            let t = table(server, &a.srv.name)?;
            check_flags(a.flags, "adminServerListClients")?;
            let all = t.list();
            // need_results is a yes/no question, as in libvirtd.
            let clients = if a.need_results != 0 { all.iter().map(|e| wire_client(t.name, e)).collect() } else { Vec::new() };
            ret(&AdminServerListClientsRet { clients, ret: to_u32(all.len()) })
        })(),
        P::ServerLookupClient => (|| {
            let a: AdminServerLookupClientArgs = args(payload)?;
            let t = table(server, &a.srv.name)?;
            check_flags(a.flags, "adminServerLookupClient")?;
            let e = t
                .get(a.id)
                .ok_or_else(|| Error::new(ErrorCode::NoClient, ErrorDomain::Rpc, format!("No client with matching ID '{}'", a.id)))?;
            ret(&AdminServerLookupClientRet { clnt: wire_client(t.name, &e) })
        })(),
        P::ClientGetInfo => (|| {
            let a: AdminClientGetInfoArgs = args(payload)?;
            let e = client_entry(server, &a.clnt)?;
            check_flags(a.flags, "adminClientGetInfo")?;
            ret(&AdminClientGetInfoRet { params: client_info(&e) })
        })(),
        P::ClientClose => (|| {
            let a: AdminClientCloseArgs = args(payload)?;
            let e = client_entry(server, &a.clnt)?;
            check_flags(a.flags, "adminClientClose")?;
            logging::log(logging::Priority::Info, "admin", format_args!("closing client {} of server {}", e.id, a.clnt.srv.name));
            e.close();
            void()
        })(),
        P::ServerGetClientLimits => (|| {
            let a: AdminServerGetClientLimitsArgs = args(payload)?;
            let t = table(server, &a.srv.name)?;
            check_flags(a.flags, "adminServerGetClientLimits")?;
            let max = if t.name == "admin" { t.max.load(Ordering::SeqCst) } else { server.config().max_clients };
            let params = vec![
                param("nclients_max", V::UInt(to_u32(max))),
                param("nclients", V::UInt(to_u32(t.count()))),
                param("nclients_unauth_max", V::UInt(t.unauth_max.load(Ordering::SeqCst))),
                param("nclients_unauth", V::UInt(to_u32(t.count_unauth()))),
            ];
            ret(&AdminServerGetClientLimitsRet { params })
        })(),
        P::ServerSetClientLimits => set_client_limits(server, payload),
        P::ConnectGetLoggingOutputs => (|| {
            let a: AdminConnectGetLoggingOutputsArgs = args(payload)?;
            check_flags(a.flags, "adminConnectGetLoggingOutputs")?;
            let (outputs, n) = logging::outputs();
            ret(&AdminConnectGetLoggingOutputsRet { outputs, noutputs: to_u32(n) })
        })(),
        P::ConnectGetLoggingFilters => (|| {
            let a: AdminConnectGetLoggingFiltersArgs = args(payload)?;
            check_flags(a.flags, "adminConnectGetLoggingFilters")?;
            let (filters, n) = logging::filters();
            ret(&AdminConnectGetLoggingFiltersRet { filters: (n > 0).then_some(filters), nfilters: to_u32(n) })
        })(),
        P::ConnectSetLoggingOutputs => (|| {
            let a: AdminConnectSetLoggingOutputsArgs = args(payload)?;
            check_flags(a.flags, "adminConnectSetLoggingOutputs")?;
            logging::set_outputs(a.outputs.as_deref())?;
            void()
        })(),
        P::ConnectSetLoggingFilters => (|| {
            let a: AdminConnectSetLoggingFiltersArgs = args(payload)?;
            check_flags(a.flags, "adminConnectSetLoggingFilters")?;
            logging::set_filters(a.filters.as_deref())?;
            void()
        })(),
        P::ServerUpdateTlsFiles => (|| {
            let a: AdminServerUpdateTlsFilesArgs = args(payload)?;
            table(server, &a.srv.name)?;
            check_flags(a.flags, "adminServerUpdateTlsFiles")?;
            Err(Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, "no tls service found, unable to update tls files"))
        })(),
        P::ConnectSetDaemonTimeout => (|| {
            let a: AdminConnectSetDaemonTimeoutArgs = args(payload)?;
            check_flags(a.flags, "adminConnectSetDaemonTimeout")?;
            Err(Error::new(
                ErrorCode::OperationUnsupported,
                ErrorDomain::Admin,
                "changing the daemon's timeout at run time is not implemented; use --timeout",
            ))
        })(),
    })
}

fn list_servers(payload: &[u8]) -> Reply {
    let a: AdminConnectListServersArgs = args(payload)?;
    check_flags(a.flags, "adminConnectListServers")?;
    // need_results is a yes/no question, as in libvirtd.
    let servers =
        if a.need_results != 0 { SERVER_NAMES.iter().map(|n| AdminNonnullServer { name: n.to_string() }).collect() } else { Vec::new() };
    ret(&AdminConnectListServersRet { servers, ret: to_u32(SERVER_NAMES.len()) })
}

fn set_client_limits(server: &Server, payload: &[u8]) -> Reply {
    let a: AdminServerSetClientLimitsArgs = args(payload)?;
    let t = table(server, &a.srv.name)?;
    check_flags(a.flags, "adminServerSetClientLimits")?;
    let v = validate_uints(&a.params, &["nclients_max", "nclients_unauth_max"])?;
    let cur_max = if t.name == "admin" { to_u32(t.max.load(Ordering::SeqCst)) } else { to_u32(server.config().max_clients) };
    let max = v[0].unwrap_or(cur_max);
    let unauth = v[1].unwrap_or(t.unauth_max.load(Ordering::SeqCst));
    if max < unauth {
        return Err(Error::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Rpc,
            "The overall maximum number of clients waiting for authentication must not be less than the overall maximum number of clients",
        ));
    }
    if let Some(m) = v[0] {
        if t.name == "admin" {
            t.max.store(m as usize, Ordering::SeqCst);
        } else {
            let mut cfg = server.config();
            cfg.max_clients = m as usize;
            server.reload(cfg);
        }
    }
    if let Some(u) = v[1] {
        t.unauth_max.store(u, Ordering::SeqCst);
    }
    void()
}
