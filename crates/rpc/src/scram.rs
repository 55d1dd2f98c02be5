//! The primitives of SASL SCRAM (RFC 5802, RFC 7677) both ends of libvirt's SASL
//! authentication need: the mechanisms `SCRAM-SHA-256` and `SCRAM-SHA-1`, their hash,
//! HMAC and salted-password (PBKDF2) functions, the keys derived from a password, and
//! random nonces. The client (`drivers/remote`) and the server (`oxvirtd`) build their
//! message exchanges on these.

use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hash {
    /// `SCRAM-SHA-1`.
    Sha1,
    /// `SCRAM-SHA-256`.
    Sha256,
}

impl Hash {
    /// Every supported hash, strongest (preferred) first.
    pub const ALL: [Hash; 2] = [Hash::Sha256, Hash::Sha1];

    /// The SASL mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            Hash::Sha1 => "SCRAM-SHA-1",
            Hash::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// The hash of a mechanism name (case-insensitive, as SASL names are).
    pub fn from_mechanism(name: &str) -> Option<Hash> {
        Hash::ALL.into_iter().find(|h| h.mechanism().eq_ignore_ascii_case(name))
    }

    /// `HMAC(key, data)`.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Hash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => hmac::HMAC_SHA256,
        };
        hmac::sign(&hmac::Key::new(alg, key), data).as_ref().to_vec()
    }

    /// `H(data)`.
    pub fn h(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Hash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => &digest::SHA256,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }

    /// The output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
        }
    }

    /// `SaltedPassword := Hi(password, salt, iterations)` (PBKDF2 with this hash).
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
        let alg = match self {
            Hash::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            Hash::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        };
        let mut out = vec![0u8; self.output_len()];
        pbkdf2::derive(alg, iterations, salt, password, &mut out);
        out
    }

    /// `ClientKey := HMAC(SaltedPassword, "Client Key")`.
    pub fn client_key(self, salted: &[u8]) -> Vec<u8> {
        self.hmac(salted, b"Client Key")
    }

    /// `ServerKey := HMAC(SaltedPassword, "Server Key")`.
    pub fn server_key(self, salted: &[u8]) -> Vec<u8> {
        self.hmac(salted, b"Server Key")
    }
}

/// `count` random bytes from the system's generator (`None` if it fails).
pub fn random_bytes(count: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; count];
    SystemRandom::new().fill(&mut b).ok()?;
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7677_keys() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = oxvirt_util::base64::decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let n = NonZeroU32::new(4096).expect("iterations");
        let salted = Hash::Sha256.salted_password(b"pencil", &salt, n);
        assert_eq!(salted.len(), Hash::Sha256.output_len());
        let stored = Hash::Sha256.h(&Hash::Sha256.client_key(&salted));
        assert_eq!(stored.len(), 32);
        assert_eq!(Hash::from_mechanism("scram-sha-1"), Some(Hash::Sha1));
        assert_eq!(random_bytes(24).map(|b| b.len()), Some(24));
    }
}
