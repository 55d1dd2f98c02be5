//! The daemon's TLS context (libvirt's server-side `virNetTLSContext`): x509 server
//! credentials, client-certificate verification against the CA (and CRL), and the
//! `tls_allowed_dn_list` check on the client certificate's Distinguished Name, which
//! is formatted as libvirt (GnuTLS's `gnutls_x509_crt_get_dn`) formats it.
//!
//! The handshake itself is `tokio-rustls` with the `ring` provider. As with libvirtd,
//! the DN check runs after the handshake; a client that passes it receives one
//! encrypted `\1` byte before any RPC traffic, a client that fails is disconnected.

use crate::tcp::IpConfig;
use anyhow::{bail, Context, Result};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// libvirt's system-wide PKI directory.
const PKI_DIR: &str = "/etc/pki";

/// Where the server's credentials are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFiles {
    /// CA certificate(s) that sign client certificates.
    pub ca: PathBuf,
    /// Certificate revocation list; used when the file exists.
    pub crl: PathBuf,
    /// The server's certificate (chain).
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

impl ServerFiles {
    /// The files libvirtd uses: `ca_file`/`cert_file`/`key_file`/`crl_file` when any
    /// of the first three is set (then all three must be), else the default locations
    /// (`/etc/pki/CA/cacert.pem`, `/etc/pki/libvirt/servercert.pem`,
    /// `/etc/pki/libvirt/private/serverkey.pem`), for a non-root daemon preferring
    /// `$HOME/.pki/libvirt/` where those files exist.
    pub fn locate(ip: &IpConfig, privileged: bool) -> Result<ServerFiles> {
        if ip.ca_file.is_some() || ip.cert_file.is_some() || ip.key_file.is_some() {
            let Some(ca) = &ip.ca_file else { bail!("No CA certificate path set to match server key/cert") };
            let Some(cert) = &ip.cert_file else { bail!("No server certificate path set to match server key") };
            let Some(key) = &ip.key_file else { bail!("No server key path set to match server cert") };
            let crl = ip.crl_file.clone().unwrap_or_default();
            return Ok(ServerFiles { ca: ca.clone(), crl, cert: cert.clone(), key: key.clone() });
        }
        let mut files = ServerFiles {
            ca: Path::new(PKI_DIR).join("CA/cacert.pem"),
            crl: Path::new(PKI_DIR).join("CA/cacrl.pem"),
            cert: Path::new(PKI_DIR).join("libvirt/servercert.pem"),
            key: Path::new(PKI_DIR).join("libvirt/private/serverkey.pem"),
        };
        if !privileged {
            if let Some(home) = std::env::var_os("HOME") {
                let user = PathBuf::from(home).join(".pki/libvirt");
                if user.join("cacert.pem").exists() {
                    files.ca = user.join("cacert.pem");
                }
                if user.join("cacrl.pem").exists() {
                    files.crl = user.join("cacrl.pem");
                }
                if user.join("serverkey.pem").exists() && user.join("servercert.pem").exists() {
                    files.key = user.join("serverkey.pem");
                    files.cert = user.join("servercert.pem");
                }
            }
        }
        Ok(files)
    }
}

/// The server side of TLS: rustls configuration plus libvirt's post-handshake checks.
pub struct TlsContext {
    config: Arc<ServerConfig>,
    allowed_dn: Option<Vec<String>>,
    require_valid: bool,
}

fn check_file(what: &str, path: &Path) -> Result<()> {
    if let Err(e) = std::fs::metadata(path) {
        bail!("Cannot read {what} '{}': {e}", path.display());
    }
    Ok(())
}

fn load_certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    check_file(what, path)?;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("Unable to load {what} '{}': {e}", path.display()))?;
    if certs.is_empty() {
        bail!("Unable to load {what} '{}': no PEM certificate in the file", path.display());
    }
    Ok(certs)
}

impl TlsContext {
    /// Load the credentials of `files` and build the context: client certificates
    /// are required and verified unless `tls_no_verify_certificate` is set.
    pub fn new(ip: &IpConfig, files: &ServerFiles) -> Result<TlsContext> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ca = load_certs("CA certificate", &files.ca)?;
        let mut roots = RootCertStore::empty();
        for c in ca {
            roots.add(c).with_context(|| format!("Unable to set x509 CA certificate: {}", files.ca.display()))?;
        }
        let crls = if files.crl.as_os_str().is_empty() || !files.crl.exists() {
            Vec::new()
        } else {
            CertificateRevocationListDer::pem_file_iter(&files.crl)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| anyhow::anyhow!("Unable to set x509 certificate revocation list: {}: {e}", files.crl.display()))?
        };
        let certs = load_certs("certificate", &files.cert)?;
        check_file("private key", &files.key)?;
        let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
            anyhow::anyhow!("Unable to set x509 key and certificate: {}, {}: {e}", files.key.display(), files.cert.display())
        })?;
        let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .with_crls(crls)
            .build()
            .context("Unable to set up client certificate verification")?;
        let require_valid = !ip.tls_no_verify_certificate;
        let verifier: Arc<dyn ClientCertVerifier> = if require_valid { webpki } else { Arc::new(AcceptAnyClient(webpki)) };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("Unable to set TLS protocol versions")?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| {
                anyhow::anyhow!("Unable to set x509 key and certificate: {}, {}: {e}", files.key.display(), files.cert.display())
            })?;
        // No TLS 1.3 session tickets: libvirt's client waits for the confirmation byte
        // with one poll and one read, and a ticket record arriving first makes that
        // read come back empty ("Unable to read TLS confirmation").
        config.send_tls13_tickets = 0;
        Ok(TlsContext { config: Arc::new(config), allowed_dn: ip.tls_allowed_dn_list.clone(), require_valid })
    }

    /// The acceptor for new connections.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }

    /// libvirt's checks after the handshake: the client certificate's DN must match
    /// an entry of `tls_allowed_dn_list` (when set). The chain itself was verified
    /// during the handshake. Ignored with `tls_no_verify_certificate`, as in libvirtd.
    pub fn check_peer(&self, peer: Option<&[CertificateDer<'_>]>) -> std::result::Result<(), String> {
        if !self.require_valid {
            return Ok(());
        }
        let Some(first) = peer.and_then(|c| c.first()) else {
            return Err("The certificate has no peers".into());
        };
        let Some(acl) = &self.allowed_dn else { return Ok(()) };
        let dn = format_dn(first).ok_or_else(|| "Failed to get certificate [session] distinguished name".to_string())?;
        if acl.iter().any(|pattern| glob_match(pattern, &dn)) {
            return Ok(());
        }
        Err(format!("the client certificate's Distinguished Name '{dn}' matches no entry of tls_allowed_dn_list"))
    }
}

/// `tls_no_verify_certificate`: ask for a client certificate, accept any or none.
#[derive(Debug)]
struct AcceptAnyClient(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for AcceptAnyClient {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// GnuTLS's short name of a DN attribute.
fn attr_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.6" => "C",
        "2.5.4.8" => "ST",
        "2.5.4.7" => "L",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.3" => "CN",
        "2.5.4.9" => "street",
        "2.5.4.17" => "postalCode",
        "2.5.4.5" => "serialNumber",
        "2.5.4.12" => "title",
        "2.5.4.4" => "surName",
        "2.5.4.42" => "givenName",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.13" => "description",
        "2.5.4.41" => "name",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "EMAIL",
        _ => return None,
    })
}

/// RFC 4514 escaping as GnuTLS does it.
fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special =
            matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') || (i == 0 && (c == ' ' || c == '#')) || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The text of a DN attribute value, or `None` for a non-string type.
fn string_value(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, NumericString, VisibleString
        0x0c | 0x13 | 0x16 | 0x12 | 0x1a => std::str::from_utf8(bytes).ok().map(str::to_string),
        // TeletexString: treated as Latin-1
        0x14 => Some(bytes.iter().map(|b| char::from(*b)).collect()),
        // BMPString (UCS-2 big-endian)
        0x1e => {
            let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString (UCS-4 big-endian)
        0x1c => bytes.chunks_exact(4).map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        _ => None,
    }
}

/// The subject DN of a DER certificate as libvirt shows it (GnuTLS's
/// `gnutls_x509_crt_get_dn`): RDNs in certificate order separated by `,`, values of a
/// multi-valued RDN joined by `+`, GnuTLS's attribute names, RFC 4514 escaping, and
/// unknown attributes as `OID=#hex`.
pub fn format_dn(cert_der: &[u8]) -> Option<String> {
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der).ok()?;
    let mut rdns = Vec::new();
    for rdn in cert.tbs_certificate.subject.0.iter() {
        let mut parts = Vec::new();
        for atv in rdn.0.iter() {
            let oid = atv.oid.to_string();
            let known = attr_name(&oid);
            let text = string_value(u8::from(x509_cert::der::Tagged::tag(&atv.value)), atv.value.value());
            let part = match (known, text) {
                (Some(name), Some(t)) => format!("{name}={}", escape_value(&t)),
                (name, _) => {
                    let der = atv.value.to_der().ok()?;
                    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{}=#{hex}", name.map(str::to_string).unwrap_or(oid))
                }
            };
            parts.push(part);
        }
        rdns.push(parts.join("+"));
    }
    Some(rdns.join(","))
}

/// GLib's `g_pattern_match_simple`: `*` matches any run of characters (also empty),
/// `?` exactly one; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dn_is_formatted_like_gnutls() {
        // Expected text printed by `virt-pki-query-dn` (GnuTLS) for this certificate.
        let pem = include_str!("tls_dn_test.pem");
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(
            format_dn(&der).unwrap(),
            "C=GB,O=A\\+B\\;x\\<y\\>z\\\"q,CN=c1+OU=u1,CN=\\ lead#,DC=ex,UID=u,serialNumber=42,title=T,surName=s,givenName=g,street=st,postalCode=pc"
        );
        assert!(format_dn(b"junk").is_none());
    }

    #[test]
    fn glob() {
        assert!(glob_match("C=GB,ST=London,L=London,O=Red Hat,CN=*", "C=GB,ST=London,L=London,O=Red Hat,CN=client1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*b*d", "abcbd"));
        assert!(!glob_match("CN=client", "CN=client2"));
        assert!(!glob_match("", "x"));
    }

    #[test]
    fn explicit_files_must_come_together() {
        let mut ip = IpConfig::default();
        assert_eq!(ServerFiles::locate(&ip, true).unwrap().ca, PathBuf::from("/etc/pki/CA/cacert.pem"));
        assert_eq!(ServerFiles::locate(&ip, true).unwrap().key, PathBuf::from("/etc/pki/libvirt/private/serverkey.pem"));
        ip.cert_file = Some("/x/cert.pem".into());
        let e = ServerFiles::locate(&ip, true).unwrap_err().to_string();
        assert_eq!(e, "No CA certificate path set to match server key/cert");
        ip.ca_file = Some("/x/ca.pem".into());
        assert_eq!(ServerFiles::locate(&ip, true).unwrap_err().to_string(), "No server key path set to match server cert");
    }
}
