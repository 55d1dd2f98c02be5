//! SCRAM (RFC 5802, RFC 7677) for the daemon: the server side of the SASL mechanisms
//! `SCRAM-SHA-256` and `SCRAM-SHA-1`, and the stored credential a password database
//! keeps (salt, iteration count, StoredKey, ServerKey — never the password).
//!
//! Neither mechanism has a security layer (SSF 0), so they are only offered where the
//! transport is already secure (unix sockets and TLS), as cyrus-sasl does for libvirtd.
//! No channel binding (`-PLUS`) is offered; a client flag of `y` is therefore accepted.
//! Passwords are used as given (no SASLprep), as cyrus-sasl's plugin does.

use anyhow::{bail, Result};
pub use oxvirt_rpc::scram::Hash;
use oxvirt_util::base64;
use std::num::NonZeroU32;

/// Iterations used for new credentials (cyrus-sasl's default for SCRAM).
pub const DEFAULT_ITERATIONS: u32 = 10000;

/// What the server keeps for one user and mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// The mechanism's hash.
    pub hash: Hash,
    /// The salt.
    pub salt: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// `H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

/// `count` random bytes.
pub fn random_bytes(count: usize) -> Result<Vec<u8>> {
    oxvirt_rpc::scram::random_bytes(count).ok_or_else(|| anyhow::anyhow!("cannot read random bytes"))
}

impl StoredCredential {
    /// Derive the credential of `password` with `salt` and `iterations`.
    pub fn derive(hash: Hash, password: &[u8], salt: &[u8], iterations: u32) -> Result<StoredCredential> {
        let Some(n) = NonZeroU32::new(iterations) else { bail!("the iteration count must be positive") };
        let salted = hash.salted_password(password, salt, n);
        Ok(StoredCredential {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.h(&hash.client_key(&salted)),
            server_key: hash.server_key(&salted),
        })
    }

    /// A new credential of `password` with a random 16-byte salt.
    pub fn new(hash: Hash, password: &[u8]) -> Result<StoredCredential> {
        Self::derive(hash, password, &random_bytes(16)?, DEFAULT_ITERATIONS)
    }
}

/// The result of one step of the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge and wait for the client's next message.
    Continue(Vec<u8>),
    /// Authenticated as `identity`; send `out` (the server signature) as success data.
    Done {
        /// The server-final-message.
        out: Vec<u8>,
        /// The authenticated user name.
        identity: String,
    },
}

enum State {
    /// Waiting for the client-first-message.
    Start,
    /// The server-first-message was sent.
    SentFirst(Box<Sent>),
    Finished,
}

/// What the server remembers between its first and its final message.
struct Sent {
    cred: StoredCredential,
    /// False when the user is unknown: the exchange goes on with made-up values
    /// and fails at the end, so that user names cannot be probed.
    known: bool,
    user: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// One server-side SCRAM exchange.
pub struct ScramServer {
    hash: Hash,
    state: State,
}

/// A SCRAM `saslname` decoded (`=2C` is `,`, `=3D` is `=`).
fn decode_saslname(s: &str) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => bail!("invalid escape in a SCRAM user name"),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        bail!("empty SCRAM user name");
    }
    Ok(out)
}

/// The value of attribute `name` (`name=value`) in `part`.
fn attr(part: Option<&str>, name: char) -> Result<&str> {
    match part.and_then(|p| p.strip_prefix(name)).and_then(|p| p.strip_prefix('=')) {
        Some(v) => Ok(v),
        None => bail!("SCRAM message lacks attribute '{name}'"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ScramServer {
    /// A new exchange for `hash`.
    pub fn new(hash: Hash) -> ScramServer {
        ScramServer { hash, state: State::Start }
    }

    /// Process the client's message (`None`: SASL's "no data", as opposed to empty).
    /// `lookup` finds the credential of a user for a mechanism's hash.
    pub fn step(&mut self, data: Option<&[u8]>, lookup: &dyn Fn(&str, Hash) -> Option<StoredCredential>) -> Result<Step> {
        match std::mem::replace(&mut self.state, State::Finished) {
            // No initial response: ask for the client-first-message with an empty
            // challenge.
            State::Start if data.is_none_or(|d| d.is_empty()) => {
                self.state = State::Start;
                Ok(Step::Continue(Vec::new()))
            }
            State::Start => self.first(data.unwrap_or_default(), lookup),
            State::SentFirst(sent) => {
                let Sent { cred, known, user, gs2_header, client_first_bare, server_first, nonce } = *sent;
                let Some(data) = data else { bail!("SCRAM client-final-message missing") };
                let text = std::str::from_utf8(data)?;
                let (without_proof, proof) = match text.rfind(",p=") {
                    Some(i) => (&text[..i], &text[i + 3..]),
                    None => bail!("SCRAM client-final-message without proof"),
                };
                let mut parts = without_proof.split(',');
                let cbind = attr(parts.next(), 'c')?;
                if base64::decode(cbind).as_deref() != Some(gs2_header.as_bytes()) {
                    bail!("SCRAM channel binding mismatch");
                }
                if attr(parts.next(), 'r')? != nonce {
                    bail!("SCRAM nonce mismatch");
                }
                let Some(proof) = base64::decode(proof) else { bail!("SCRAM proof is not base64") };
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let signature = self.hash.hmac(&cred.stored_key, auth_message.as_bytes());
                if proof.len() != signature.len() {
                    bail!("SCRAM proof has the wrong length");
                }
                let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
                if !known || !constant_time_eq(&self.hash.h(&client_key), &cred.stored_key) {
                    bail!("SCRAM authentication failed for '{user}'");
                }
                let server_sig = self.hash.hmac(&cred.server_key, auth_message.as_bytes());
                Ok(Step::Done { out: format!("v={}", base64::encode(&server_sig)).into_bytes(), identity: user })
            }
            State::Finished => bail!("SCRAM exchange already finished"),
        }
    }

    fn first(&mut self, data: &[u8], lookup: &dyn Fn(&str, Hash) -> Option<StoredCredential>) -> Result<Step> {
        let text = std::str::from_utf8(data)?;
        // gs2-header: cbind flag, authzid, then the bare message.
        let mut it = text.splitn(3, ',');
        let flag = it.next().unwrap_or_default();
        let authzid = it.next().unwrap_or_default();
        let Some(bare) = it.next() else { bail!("SCRAM client-first-message is malformed") };
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => bail!("SCRAM channel binding is not supported"),
            _ => bail!("SCRAM client-first-message has a bad channel binding flag"),
        }
        let gs2_header = format!("{flag},{authzid},");
        let mut parts = bare.split(',');
        let first = parts.next();
        if first.is_some_and(|p| p.starts_with("m=")) {
            bail!("SCRAM mandatory extensions are not supported");
        }
        let user = decode_saslname(attr(first, 'n')?)?;
        let client_nonce = attr(parts.next(), 'r')?;
        if client_nonce.is_empty() || !client_nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
            bail!("SCRAM client nonce is invalid");
        }
        if !authzid.is_empty() {
            // Only authorizing as oneself is allowed (no proxy authorization).
            let authzid = decode_saslname(attr(Some(authzid), 'a')?)?;
            if authzid != user {
                bail!("SCRAM authorization identity '{authzid}' differs from the user '{user}'");
            }
        }
        let (cred, known) = match lookup(&user, self.hash) {
            Some(c) if c.hash == self.hash => (c, true),
            _ => {
                let len = self.hash.output_len();
                let fake = StoredCredential {
                    hash: self.hash,
                    salt: random_bytes(16)?,
                    iterations: DEFAULT_ITERATIONS,
                    stored_key: random_bytes(len)?,
                    server_key: random_bytes(len)?,
                };
                (fake, false)
            }
        };
        let nonce = format!("{client_nonce}{}", base64::encode(&random_bytes(18)?));
        let server_first = format!("r={nonce},s={},i={}", base64::encode(&cred.salt), cred.iterations);
        let out = server_first.clone().into_bytes();
        let client_first_bare = bare.to_string();
        self.state = State::SentFirst(Box::new(Sent { cred, known, user, gs2_header, client_first_bare, server_first, nonce }));
        Ok(Step::Continue(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 7677's example exchange (user "user", password "pencil").
    #[test]
    fn rfc7677_sha256_vector() {
        let salt = base64::decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let cred = StoredCredential::derive(Hash::Sha256, b"pencil", &salt, 4096).unwrap();
        let client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let sig = Hash::Sha256.hmac(&cred.stored_key, auth.as_bytes());
        let server_sig = Hash::Sha256.hmac(&cred.server_key, auth.as_bytes());
        assert_eq!(base64::encode(&server_sig), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        // ClientProof from the RFC: ClientKey = proof ^ sig must hash to StoredKey.
        let proof = base64::decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=").unwrap();
        let client_key: Vec<u8> = proof.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        assert_eq!(Hash::Sha256.h(&client_key), cred.stored_key);
    }

    /// A full exchange driven by a hand-rolled client.
    fn exchange(hash: Hash, password: &[u8], user: &str) -> Result<Step> {
        let stored = StoredCredential::new(hash, b"secret").unwrap();
        let lookup = move |u: &str, _: Hash| (u == "fred").then(|| stored.clone());
        let mut s = ScramServer::new(hash);
        let cf_bare = format!("n={user},r=abcdef");
        let Step::Continue(sf) = s.step(Some(format!("n,,{cf_bare}").as_bytes()), &lookup)? else { panic!("continue") };
        let sf = String::from_utf8(sf).unwrap();
        let mut p = sf.split(',');
        let nonce = p.next().unwrap().strip_prefix("r=").unwrap().to_string();
        let salt = base64::decode(p.next().unwrap().strip_prefix("s=").unwrap()).unwrap();
        let iters: u32 = p.next().unwrap().strip_prefix("i=").unwrap().parse().unwrap();
        let mine = StoredCredential::derive(hash, password, &salt, iters).unwrap();
        let salted = hash.salted_password(password, &salt, NonZeroU32::new(iters).unwrap());
        let client_key = hash.client_key(&salted);
        let without = format!("c=biws,r={nonce}");
        let auth = format!("{cf_bare},{sf},{without}");
        let sig = hash.hmac(&mine.stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let step = s.step(Some(format!("{without},p={}", base64::encode(&proof)).as_bytes()), &lookup)?;
        if let Step::Done { out, .. } = &step {
            let v = hash.hmac(&mine.server_key, auth.as_bytes());
            assert_eq!(out, format!("v={}", base64::encode(&v)).as_bytes());
        }
        Ok(step)
    }

    #[test]
    fn right_password_authenticates() {
        for h in Hash::ALL {
            assert!(matches!(exchange(h, b"secret", "fred").unwrap(), Step::Done { identity, .. } if identity == "fred"));
        }
    }

    #[test]
    fn wrong_password_or_unknown_user_fails() {
        assert!(exchange(Hash::Sha256, b"wrong", "fred").is_err());
        assert!(exchange(Hash::Sha256, b"secret", "bob").is_err());
        assert!(exchange(Hash::Sha1, b"wrong", "fred").is_err());
    }

    #[test]
    fn malformed_messages_fail() {
        let lookup = |_: &str, _: Hash| None;
        for bad in ["", "x,,n=a,r=b", "p=tls-unique,,n=a,r=b", "n,,m=x,n=a,r=b", "n,,n=a", "n,,n=a=zz,r=b", "n,a=other,n=a,r=b"] {
            let mut s = ScramServer::new(Hash::Sha256);
            let r = s.step(Some(bad.as_bytes()), &lookup);
            assert!(r.is_err() || bad.is_empty(), "{bad:?} accepted");
        }
        assert_eq!(decode_saslname("a=2Cb=3D").unwrap(), "a,b=");
    }
}
