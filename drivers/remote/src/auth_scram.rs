//! The client side of SASL `SCRAM-SHA-256` / `SCRAM-SHA-1` (RFC 5802, RFC 7677), the
//! mechanisms oxvirtd offers and libvirtd offers with cyrus-sasl's SCRAM plugin. No
//! channel binding (`n,,`), no authorization identity; the server's signature is
//! verified before the exchange counts as complete.

use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
pub use oxvirt_rpc::scram::Hash;
use std::num::NonZeroU32;

/// The value of `part` after `prefix` (`r=`, `s=`, `i=`).
fn attr<'a>(part: Option<&'a str>, prefix: &str) -> Result<&'a str> {
    part.and_then(|p| p.strip_prefix(prefix)).ok_or_else(|| failed("malformed server-first-message"))
}

fn failed(detail: &str) -> Error {
    Error::new(ErrorCode::AuthFailed, ErrorDomain::Remote, format!("Failed to step SASL negotiation: {detail}"))
}

/// Iteration counts accepted from a server (RFC 7677's minimum is 4096; the cap keeps
/// a hostile server from making the client spin).
const MAX_ITERATIONS: u32 = 1 << 24;

/// One client-side SCRAM exchange.
pub struct ScramClient {
    hash: Hash,
    password: Vec<u8>,
    client_first_bare: String,
    nonce: String,
    /// `ServerSignature`, known after [`ScramClient::client_final`].
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// Start an exchange as `user`.
    pub fn new(hash: Hash, user: &str, password: &str) -> Result<ScramClient> {
        let raw = oxvirt_rpc::scram::random_bytes(18).ok_or_else(|| failed("cannot read random bytes"))?;
        let nonce = base64::encode(&raw);
        let name = user.replace('=', "=3D").replace(',', "=2C");
        Ok(ScramClient {
            hash,
            password: password.as_bytes().to_vec(),
            client_first_bare: format!("n={name},r={nonce}"),
            nonce,
            server_signature: None,
        })
    }

    /// The client-first-message.
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final-message answering the server-first-message.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>> {
        let sf = std::str::from_utf8(server_first).map_err(|_| failed("server-first-message is not text"))?;
        let mut parts = sf.split(',');
        let nonce = attr(parts.next(), "r=")?;
        let salt = base64::decode(attr(parts.next(), "s=")?).ok_or_else(|| failed("salt is not base64"))?;
        let iterations = attr(parts.next(), "i=")?
            .parse::<u32>()
            .ok()
            .filter(|i| *i <= MAX_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| failed("invalid iteration count"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(failed("the server's nonce does not extend ours"));
        }
        let salted = self.hash.salted_password(&self.password, &salt, iterations);
        let client_key = self.hash.client_key(&salted);
        let stored_key = self.hash.h(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{sf},{without_proof}", self.client_first_bare);
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let server_key = self.hash.server_key(&salted);
        self.server_signature = Some(self.hash.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", base64::encode(&proof)).into_bytes())
    }

    /// Check the server-final-message.
    pub fn verify(&self, server_final: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(server_final).map_err(|_| failed("server-final-message is not text"))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(failed(&format!("server error: {e}")));
        }
        let v = text.split(',').next().and_then(|v| v.strip_prefix("v=")).ok_or_else(|| failed("malformed server-final-message"))?;
        match (&self.server_signature, base64::decode(v)) {
            (Some(want), Some(got)) if *want == got => Ok(()),
            _ => Err(failed("the server's signature is wrong")),
        }
    }
}

use oxvirt_util::base64;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 7677's example, with the client nonce fixed.
    #[test]
    fn rfc7677_exchange() {
        let mut c = ScramClient::new(Hash::Sha256, "user", "pencil").unwrap();
        c.nonce = "rOprNGfwEbeRWgbNEkqO".into();
        c.client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO".into();
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let fin = c.client_final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").unwrap();
        assert_eq!(
            String::from_utf8(fin).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
        assert!(c.verify(b"v=AAAA").is_err());
        assert!(c.verify(b"e=invalid-proof").is_err());
    }

    #[test]
    fn rejects_bad_server_messages() {
        let mut c = ScramClient::new(Hash::Sha1, "a,b=c", "pw").unwrap();
        assert!(String::from_utf8(c.client_first()).unwrap().starts_with("n,,n=a=2Cb=3Dc,r="));
        assert!(c.client_final(b"r=other,s=AAAA,i=4096").is_err());
        let n = c.nonce.clone();
        assert!(c.client_final(format!("r={n}x,s=AAAA,i=0").as_bytes()).is_err());
        assert!(c.client_final(format!("r={n}x,s=!!,i=4096").as_bytes()).is_err());
        assert!(c.client_final(format!("r={n}x,s=AAAA,i=4096").as_bytes()).is_ok());
    }

    #[test]
    fn base64_round_trip() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(base64::decode(&base64::encode(data)).unwrap(), data);
        }
        assert_eq!(base64::encode(b"foobar"), "Zm9vYmFy");
        assert!(base64::decode("Zm9=vYmFy").is_none());
    }
}
