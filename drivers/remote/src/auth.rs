//! Authentication at connection open (`remoteAuthenticate`, `remoteAuthSASL`,
//! `remoteAuthPolkit`): `AUTH_LIST`, then the first listed method (or the one
//! `?auth=` names: `sasl`, `sasl.MECH`, `polkit`). polkit is just the `AUTH_POLKIT`
//! call — the server decides. SASL runs SCRAM ([`crate::auth_scram`]) with credentials
//! from libvirt's `auth.conf` ([`crate::auth_conf`]; service `libvirt`, the URI's
//! host or `localhost`), the authname falling back to the URI's user.
//!
//! As libvirt's client, SASL mechanisms without a security layer (SCRAM) are only
//! used on secure transports: unix sockets, ssh and TLS — not plain TCP or `ext`,
//! which need an SSF of 56.

use crate::auth_conf::AuthConfig;
use crate::auth_scram::{Hash, ScramClient};
use crate::client::Void;
use crate::RemoteConn;
use oxvirt::uri::Uri;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_rpc::proto::remote::*;

fn auth_failed(detail: impl AsRef<str>) -> Error {
    Error::new(ErrorCode::AuthFailed, ErrorDomain::Remote, detail)
}

/// `remoteAuthenticate`. `secure`: whether the transport protects the session.
pub(crate) fn authenticate(conn: &RemoteConn, uri: &Uri, secure: bool) -> Result<()> {
    let types = match conn.call::<_, RemoteAuthListRet>(RemoteProcedure::AuthList, &Void) {
        Ok(r) => r.types,
        // Servers without AUTH_LIST predate authentication.
        Err(e) if e.code == ErrorCode::NoSupport => return Ok(()),
        Err(e) => return Err(e),
    };
    if types.is_empty() {
        return Ok(());
    }
    let wanted = uri.param("auth");
    let mut mech = None;
    let chosen = match wanted {
        Some(w) => {
            let want = if w.eq_ignore_ascii_case("sasl") {
                RemoteAuthType::Sasl
            } else if let Some(m) = w.get(..5).filter(|p| p.eq_ignore_ascii_case("sasl.")).and_then(|_| w.get(5..)) {
                mech = Some(m);
                RemoteAuthType::Sasl
            } else if w.eq_ignore_ascii_case("polkit") {
                RemoteAuthType::Polkit
            } else {
                return Err(auth_failed(format!("unknown authentication type {w}")));
            };
            if !types.contains(&want) {
                return Err(auth_failed(format!("requested authentication type {w} rejected")));
            }
            want
        }
        None => types[0],
    };
    match chosen {
        RemoteAuthType::None => Ok(()),
        RemoteAuthType::Polkit => conn.call::<_, RemoteAuthPolkitRet>(RemoteProcedure::AuthPolkit, &Void).map(|_| ()),
        RemoteAuthType::Sasl => sasl(conn, uri, mech, secure),
    }
}

/// XDR `char<>` data as bytes.
fn bytes(d: &[i8]) -> Vec<u8> {
    d.iter().map(|b| b.to_ne_bytes()[0]).collect()
}

/// Bytes as XDR `char<>` data.
fn chars(d: &[u8]) -> Vec<i8> {
    d.iter().map(|b| i8::from_ne_bytes([*b])).collect()
}

/// The authname and password for `uri`.
fn credentials(uri: &Uri) -> Result<(String, String)> {
    let config = AuthConfig::locate(uri).map(|p| AuthConfig::load(&p)).transpose()?;
    let lookup = |name: &str| -> Result<Option<String>> {
        match &config {
            Some(c) => c.lookup("libvirt", uri.server.as_deref(), name),
            None => Ok(None),
        }
    };
    let user = match lookup("authname")? {
        Some(u) => Some(u),
        None => lookup("username")?.or_else(|| uri.user.clone()),
    };
    match (user, lookup("password")?) {
        (Some(u), Some(p)) => Ok((u, p)),
        // libvirt asks the application's callback for what the file lacks; oxvirt's
        // connections have none.
        _ => Err(auth_failed("No authentication callback available")),
    }
}

/// `remoteAuthSASL` with SCRAM.
fn sasl(conn: &RemoteConn, uri: &Uri, wanted: Option<&str>, secure: bool) -> Result<()> {
    let init: RemoteAuthSaslInitRet = conn.call(RemoteProcedure::AuthSaslInit, &Void)?;
    let offered: Vec<&str> = init.mechlist.split([',', ' ']).filter(|m| !m.is_empty()).collect();
    if let Some(w) = wanted {
        if !init.mechlist.contains(w) {
            return Err(auth_failed(format!("SASL mechanism {w} not supported by server")));
        }
    }
    let candidates: Vec<&str> = match wanted {
        Some(w) => vec![w],
        None => offered,
    };
    // SCRAM has no security layer (SSF 0): only on secure transports.
    let hash = Hash::ALL
        .into_iter()
        .filter(|_| secure)
        .find(|h| candidates.iter().any(|m| m.eq_ignore_ascii_case(h.mechanism())))
        .ok_or_else(|| auth_failed("Failed to start SASL negotiation: -4 (SASL(-4): no mechanism available: No worthy mechs found)"))?;
    let (user, password) = credentials(uri)?;
    let mut scram = ScramClient::new(hash, &user, &password)?;
    let start: RemoteAuthSaslStartRet = conn.call(
        RemoteProcedure::AuthSaslStart,
        &RemoteAuthSaslStartArgs { mech: hash.mechanism().to_string(), nil: 0, data: chars(&scram.client_first()) },
    )?;
    if start.complete != 0 {
        return Err(auth_failed("Failed to step SASL negotiation: the server finished before the exchange did"));
    }
    let fin = scram.client_final(&bytes(&start.data))?;
    let step: RemoteAuthSaslStepRet = conn.call(RemoteProcedure::AuthSaslStep, &RemoteAuthSaslStepArgs { nil: 0, data: chars(&fin) })?;
    scram.verify(&bytes(&step.data))?;
    if step.complete == 0 {
        // A server that sends its signature without SASL_SUCCESS_DATA waits for an
        // empty response.
        let last: RemoteAuthSaslStepRet = conn.call(RemoteProcedure::AuthSaslStep, &RemoteAuthSaslStepArgs { nil: 0, data: Vec::new() })?;
        if last.complete == 0 {
            return Err(auth_failed("Failed to step SASL negotiation: the server did not finish"));
        }
    }
    Ok(())
}
