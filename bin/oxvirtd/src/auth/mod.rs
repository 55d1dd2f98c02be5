//! Client authentication, as libvirtd does it: each listener requires an auth method
//! (`auth_unix_rw`, `auth_unix_ro`, `auth_tcp`, `auth_tls`; the admin socket none);
//! until a client has authenticated, every call but `AUTH_LIST`, `AUTH_SASL_INIT`,
//! `AUTH_SASL_START`, `AUTH_SASL_STEP` and `AUTH_POLKIT` is refused with
//! `VIR_ERR_RPC` "authentication required" (libvirt's `needAuth` check, made before
//! the arguments are decoded).
//!
//! * [`scram`] — SASL `SCRAM-SHA-256` / `SCRAM-SHA-1`, server side;
//! * [`passwd`] — the SCRAM credential file (`sasl_passwd_file`);
//! * [`polkit`] — polkit checks through `pkcheck`.
//!
//! A failed SASL exchange answers `VIR_ERR_AUTH_FAILED` "authentication failed", and
//! the client may start again with `AUTH_SASL_INIT`; polkit answers polkit's own
//! errors. A root client of a polkit socket is let in at `AUTH_LIST`, as libvirtd does.

pub mod passwd;
pub mod polkit;
pub mod scram;

use crate::admin::registry::Cred;
use crate::config::Config;
use crate::dispatch::{args, ret, Reply};
use crate::server::{Server, SocketKind};
use crate::session::Client;
use oxvirt::{Error, ErrorCode, ErrorDomain};
use oxvirt_rpc::message::ADMIN_PROGRAM;
use oxvirt_rpc::proto::remote::*;
use oxvirt_rpc::proto::{ProcInfo, Program};
use std::sync::{Mutex, MutexGuard};

/// Log at `priority` in the `auth` module.
macro_rules! log {
    ($prio:ident, $($arg:tt)*) => {
        crate::admin::logging::log(crate::admin::logging::Priority::$prio, "auth", format_args!($($arg)*))
    };
}

/// An authentication method of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// No authentication.
    None,
    /// SASL.
    Sasl,
    /// polkit (unix sockets only).
    Polkit,
}

impl Method {
    /// The config value's method (`"none"`, `"sasl"`, `"polkit"`).
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "none" => Some(Method::None),
            "sasl" => Some(Method::Sasl),
            "polkit" => Some(Method::Polkit),
            _ => None,
        }
    }

    fn wire(self) -> RemoteAuthType {
        match self {
            Method::None => RemoteAuthType::None,
            Method::Sasl => RemoteAuthType::Sasl,
            Method::Polkit => RemoteAuthType::Polkit,
        }
    }
}

/// Which kind of listener a client came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A unix socket.
    Unix(SocketKind),
    /// Plain TCP.
    Tcp,
    /// TLS.
    Tls,
}

impl Transport {
    /// The method this transport requires under `cfg`.
    pub fn method(self, cfg: &Config) -> Method {
        let s = match self {
            Transport::Unix(SocketKind::Admin) => return Method::None,
            Transport::Unix(SocketKind::ReadWrite) => &cfg.auth_unix_rw,
            Transport::Unix(SocketKind::ReadOnly) => &cfg.auth_unix_ro,
            Transport::Tcp => &cfg.ip.auth_tcp,
            Transport::Tls => &cfg.ip.auth_tls,
        };
        // The configuration is validated when read; anything else fails closed.
        Method::parse(s).unwrap_or(Method::Sasl)
    }

    /// libvirt's `virNetServerClientIsSecure`: TLS or a local socket. SASL mechanisms
    /// without a security layer (SSF 0) are only offered on secure transports; plain
    /// TCP needs an SSF of at least 56, which no mechanism of oxvirtd has.
    pub fn secure(self) -> bool {
        !matches!(self, Transport::Tcp)
    }
}

/// A SASL exchange in progress.
struct SaslSession {
    /// Set by `AUTH_SASL_START`.
    scram: Option<scram::ScramServer>,
}

struct State {
    method: Method,
    transport: Transport,
    cred: Option<Cred>,
    sasl: Option<SaslSession>,
    /// The SASL user name, once authenticated.
    identity: Option<String>,
}

/// A client's authentication state.
pub struct ClientAuth {
    state: Mutex<State>,
}

impl Default for ClientAuth {
    fn default() -> Self {
        ClientAuth {
            state: Mutex::new(State {
                method: Method::None,
                transport: Transport::Unix(SocketKind::ReadWrite),
                cred: None,
                sasl: None,
                identity: None,
            }),
        }
    }
}

impl ClientAuth {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Set the listener's requirement for a new client (before any call is read).
    pub fn setup(&self, cfg: &Config, transport: Transport, cred: Option<Cred>) {
        let mut s = self.lock();
        s.method = transport.method(cfg);
        s.transport = transport;
        s.cred = cred;
    }

    /// True once no further authentication is needed.
    pub fn authenticated(&self) -> bool {
        self.lock().method == Method::None
    }

    /// The SASL user name the client authenticated as (`virt-admin client-info`'s
    /// `sasl_user_name`).
    pub fn sasl_user_name(&self) -> Option<String> {
        self.lock().identity.clone()
    }
}

/// The procedures allowed before authentication.
fn is_auth_procedure(n: i32) -> bool {
    use RemoteProcedure as P;
    matches!(RemoteProcedure::from_number(n), Some(P::AuthList | P::AuthSaslInit | P::AuthSaslStart | P::AuthSaslStep | P::AuthPolkit))
}

/// libvirtd's refusal of a call before authentication, or `None` when the call may
/// proceed.
pub fn gate(client: &Client, program: &Program, procedure: &ProcInfo) -> Option<Error> {
    if program.number == ADMIN_PROGRAM || client.auth.authenticated() {
        return None;
    }
    if program.number == oxvirt_rpc::message::REMOTE_PROGRAM && is_auth_procedure(procedure.number) {
        return None;
    }
    Some(Error::raw(ErrorCode::Rpc, ErrorDomain::Rpc, "authentication required"))
}

/// `AUTH_LIST`: the method still required (none once authenticated). A root client of
/// a polkit socket is authenticated here.
pub fn auth_list(client: &Client) -> Reply {
    let mut s = client.auth.lock();
    if s.method == Method::Polkit && s.cred.is_some_and(|c| c.uid == 0) {
        log!(Info, "Bypass polkit auth for privileged client pid:{},uid:0", s.cred.and_then(|c| c.pid).unwrap_or(-1));
        s.method = Method::None;
    }
    ret(&RemoteAuthListRet { types: vec![s.method.wire()] })
}

/// The message of libvirtd's answer when a dispatcher fails without reporting an
/// error (`virNetMessageSaveError`).
pub const NO_ERROR_SET: &str = "Library function returned error but did not set virError";

/// That answer.
fn no_error_set() -> Error {
    Error::raw(ErrorCode::InternalError, ErrorDomain::Rpc, NO_ERROR_SET)
}

/// libvirtd's answer to any failed SASL step.
fn sasl_failed() -> Error {
    Error::new(ErrorCode::AuthFailed, ErrorDomain::Rpc, "authentication failed")
}

/// The mechanisms offered on `transport`, comma-separated, as cyrus-sasl lists them.
fn mechanisms(transport: Transport) -> Option<String> {
    transport.secure().then(|| scram::Hash::ALL.iter().map(|h| h.mechanism()).collect::<Vec<_>>().join(","))
}

/// `AUTH_SASL_INIT`, `AUTH_SASL_START`, `AUTH_SASL_STEP` and `AUTH_POLKIT`.
pub fn dispatch(server: &Server, client: &Client, proc: RemoteProcedure, payload: &[u8]) -> Reply {
    use RemoteProcedure as P;
    match proc {
        P::AuthList => auth_list(client),
        P::AuthSaslInit => {
            let mut s = client.auth.lock();
            if s.method != Method::Sasl || s.sasl.is_some() {
                log!(Error, "client tried invalid SASL init request");
                return Err(sasl_failed());
            }
            let Some(mechlist) = mechanisms(s.transport) else {
                log!(Error, "no SASL mechanism meets the minimum SSF of 56 required on plain TCP");
                return Err(sasl_failed());
            };
            s.sasl = Some(SaslSession { scram: None });
            ret(&RemoteAuthSaslInitRet { mechlist })
        }
        P::AuthSaslStart => {
            let a: RemoteAuthSaslStartArgs = args(payload)?;
            let data = (a.nil == 0).then(|| from_xdr_chars(&a.data));
            let (complete, out) = sasl_step(server, client, Some(&a.mech), data.as_deref())?;
            ret(&RemoteAuthSaslStartRet { complete, nil: 0, data: to_xdr_chars(&out) })
        }
        P::AuthSaslStep => {
            let a: RemoteAuthSaslStepArgs = args(payload)?;
            let data = (a.nil == 0).then(|| from_xdr_chars(&a.data));
            let (complete, out) = sasl_step(server, client, None, data.as_deref())?;
            ret(&RemoteAuthSaslStepRet { complete, nil: 0, data: to_xdr_chars(&out) })
        }
        P::AuthPolkit => polkit_check(client),
        _ => Err(crate::session::unknown_procedure(proc as i32)),
    }
}

/// XDR `char<>` data as bytes.
fn from_xdr_chars(d: &[i8]) -> Vec<u8> {
    d.iter().map(|b| b.to_ne_bytes()[0]).collect()
}

/// Bytes as XDR `char<>` data.
fn to_xdr_chars(d: &[u8]) -> Vec<i8> {
    d.iter().map(|b| i8::from_ne_bytes([*b])).collect()
}

/// One SASL step (`mech` set: the start). `(complete, data)` on success; on failure the
/// exchange is dropped.
fn sasl_step(server: &Server, client: &Client, mech: Option<&str>, data: Option<&[u8]>) -> Result<(i32, Vec<u8>), Error> {
    let mut s = client.auth.lock();
    let valid = s.method == Method::Sasl && s.sasl.as_ref().is_some_and(|x| x.scram.is_some() == mech.is_none());
    if !valid {
        log!(Error, "client tried invalid SASL {} request", if mech.is_some() { "start" } else { "step" });
        s.sasl = None;
        return Err(sasl_failed());
    }
    let cfg = server.config();
    let result = (|| -> anyhow::Result<scram::Step> {
        let sasl = s.sasl.as_mut().ok_or_else(|| anyhow::anyhow!("no SASL session"))?;
        if let Some(m) = mech {
            let Some(hash) = scram::Hash::from_mechanism(m) else { anyhow::bail!("unsupported SASL mechanism '{m}'") };
            sasl.scram = Some(scram::ScramServer::new(hash));
        }
        let scram = sasl.scram.as_mut().ok_or_else(|| anyhow::anyhow!("no SASL mechanism"))?;
        let db = passwd::PasswdDb::load(&cfg.sasl_passwd_file)?;
        scram.step(data, &|user, hash| db.lookup(user, hash))
    })();
    match result {
        Ok(scram::Step::Continue(out)) => Ok((0, out)),
        Ok(scram::Step::Done { out, identity }) => {
            s.sasl = None;
            if let Some(acl) = &cfg.sasl_allowed_username_list {
                if !acl.iter().any(|p| crate::tls::glob_match(p, &identity)) {
                    log!(Error, "SASL client identity '{identity}' not allowed by ACL");
                    return Err(sasl_failed());
                }
            }
            log!(Info, "SASL authentication of '{identity}' succeeded");
            s.method = Method::None;
            s.identity = Some(identity);
            Ok((1, out))
        }
        Err(e) => {
            log!(Error, "SASL authentication failed: {e:#}");
            s.sasl = None;
            Err(sasl_failed())
        }
    }
}

/// `AUTH_POLKIT`: ask polkit about the peer process of a unix socket.
fn polkit_check(client: &Client) -> Reply {
    let (cred, read_only) = {
        let s = client.auth.lock();
        if s.method != Method::Polkit {
            log!(Error, "client tried invalid PolicyKit init request");
            // libvirtd answers this without setting an error.
            return Err(no_error_set());
        }
        (s.cred, s.transport == Transport::Unix(SocketKind::ReadOnly))
    };
    let Some(Cred { uid, pid: Some(pid), .. }) = cred else { return Err(no_error_set()) };
    let Some(start) = polkit::start_time(pid).filter(|t| *t != 0) else {
        log!(Warning, "Failing polkit auth due to missing client (pid={pid}) start time");
        return Err(no_error_set());
    };
    let action = polkit::action(read_only);
    log!(Info, "Checking PID {pid} running as {uid}");
    polkit::check(action, pid, start, uid)?;
    log!(Info, "Policy allowed action {action} from pid {pid}, uid {uid}");
    client.auth.lock().method = Method::None;
    ret(&RemoteAuthPolkitRet { complete: 1 })
}
