//! The `+tcp` and `+tls` transports (libvirt's `virNetSocketNewConnectTCP` and the
//! client side of `virNetTLSContext`), blocking like the rest of the remote driver.
//!
//! TLS uses rustls (ring provider). Credentials come from `?pkipath=DIR`
//! (`cacert.pem`, `cacrl.pem`, `clientcert.pem`, `clientkey.pem` in DIR) or libvirt's
//! default locations (`/etc/pki/CA/cacert.pem`, `/etc/pki/libvirt/clientcert.pem`,
//! `/etc/pki/libvirt/private/clientkey.pem`; `$HOME/.pki/libvirt/` first when not
//! root). The server certificate is verified against the CA and the host name of the
//! URI — its subjectAltName, or its CN when it has no DNS name, as GnuTLS does —
//! unless `?no_verify=1`. After the handshake the server sends one `\1` byte once it
//! has accepted our certificate.
//!
//! One TLS session serves a reader thread and writers on other threads: the session
//! state sits behind a mutex that is held only while records are processed, never
//! while the reader waits on the socket.

use crate::client::{io_text, Transport};
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// libvirtd's default TCP port.
pub const TCP_PORT: u16 = 16509;
/// libvirtd's default TLS port.
pub const TLS_PORT: u16 = 16514;

fn sys_error(msg: String) -> Error {
    Error::raw(ErrorCode::SystemError, ErrorDomain::Rpc, msg)
}

/// Open a TCP connection to `host:port`, trying each address the name resolves to.
pub fn connect_socket(host: &str, port: u16) -> Result<TcpStream> {
    let unable = |e: &std::io::Error| sys_error(format!("unable to connect to server at '{host}:{port}': {}", io_text(e)));
    let addrs =
        (host, port).to_socket_addrs().map_err(|e| sys_error(format!("Cannot resolve address for '{host}' service '{port}': {e}")))?;
    let mut last = None;
    for a in addrs {
        match TcpStream::connect(a) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => unable(&e),
        None => sys_error(format!("No addresses to connect to for '{host}'")),
    })
}

fn clone(s: &TcpStream) -> Result<TcpStream> {
    s.try_clone().map_err(|e| sys_error(format!("Unable to duplicate socket: {e}")))
}

/// The plain `+tcp` transport.
pub fn connect_tcp(host: &str, port: u16) -> Result<Transport> {
    let sock = connect_socket(host, port)?;
    let reader = clone(&sock)?;
    let closer = clone(&sock)?;
    Ok(Transport {
        reader: Box::new(reader),
        writer: Box::new(sock),
        closer: Box::new(move || {
            let _ = closer.shutdown(std::net::Shutdown::Both);
        }),
        unix: None,
    })
}

/// The client's credential files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles {
    /// CA certificate(s) that sign the server's certificate.
    pub ca: PathBuf,
    /// Revocation list, used when it exists.
    pub crl: PathBuf,
    /// Our certificate; optional (skipped when it or the key is missing).
    pub cert: PathBuf,
    /// Our private key.
    pub key: PathBuf,
}

impl ClientFiles {
    /// Where libvirt's client looks: `pkipath` (files used whether they exist or not),
    /// else `$HOME/.pki/libvirt` for non-root users where those files exist, else
    /// `/etc/pki`.
    pub fn locate(pkipath: Option<&str>, root: bool) -> ClientFiles {
        if let Some(dir) = pkipath {
            let d = Path::new(dir);
            return ClientFiles {
                ca: d.join("cacert.pem"),
                crl: d.join("cacrl.pem"),
                cert: d.join("clientcert.pem"),
                key: d.join("clientkey.pem"),
            };
        }
        let mut f = ClientFiles {
            ca: PathBuf::from("/etc/pki/CA/cacert.pem"),
            crl: PathBuf::from("/etc/pki/CA/cacrl.pem"),
            cert: PathBuf::from("/etc/pki/libvirt/clientcert.pem"),
            key: PathBuf::from("/etc/pki/libvirt/private/clientkey.pem"),
        };
        if !root {
            if let Some(home) = std::env::var_os("HOME") {
                let u = PathBuf::from(home).join(".pki/libvirt");
                if u.join("cacert.pem").exists() {
                    f.ca = u.join("cacert.pem");
                }
                if u.join("cacrl.pem").exists() {
                    f.crl = u.join("cacrl.pem");
                }
                if u.join("clientcert.pem").exists() && u.join("clientkey.pem").exists() {
                    f.cert = u.join("clientcert.pem");
                    f.key = u.join("clientkey.pem");
                }
            }
        }
        f
    }
}

fn read_certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(sys_error(format!("Cannot read {what} '{}': {}", path.display(), io_text(&e))));
    }
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| sys_error(format!("Unable to load {what} '{}': {e}", path.display())))?;
    if certs.is_empty() {
        return Err(sys_error(format!("Unable to load {what} '{}': no PEM certificate in the file", path.display())));
    }
    Ok(certs)
}

/// The rustls client configuration for `files`; `verify` false accepts any server
/// certificate (`?no_verify=1`).
pub fn client_config(files: &ClientFiles, verify: bool) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in read_certs("CA certificate", &files.ca)? {
        roots.add(c).map_err(|e| sys_error(format!("Unable to set x509 CA certificate: {}: {e}", files.ca.display())))?;
    }
    let crls = if files.crl.exists() {
        CertificateRevocationListDer::pem_file_iter(&files.crl)
            .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| sys_error(format!("Unable to set x509 certificate revocation list: {}: {e}", files.crl.display())))?
    } else {
        Vec::new()
    };
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .build()
        .map_err(|e| sys_error(format!("Unable to set up certificate verification: {e}")))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| sys_error(format!("Unable to set TLS protocol versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(LibvirtServerVerifier { inner, verify }));
    // Our certificate is optional, as in libvirt: without it the server decides.
    let config = if files.cert.exists() && files.key.exists() {
        let certs = read_certs("certificate", &files.cert)?;
        let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
            sys_error(format!("Unable to set x509 key and certificate: {}, {}: {e}", files.key.display(), files.cert.display()))
        })?;
        builder.with_client_auth_cert(certs, key).map_err(|e| {
            sys_error(format!("Unable to set x509 key and certificate: {}, {}: {e}", files.key.display(), files.cert.display()))
        })?
    } else {
        builder.with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// webpki's verification, plus GnuTLS's CN fallback for certificates without a DNS
/// subjectAltName, and `no_verify`.
#[derive(Debug)]
struct LibvirtServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verify: bool,
}

/// True when `cert` has no DNS subjectAltName and its CN equals `host`.
fn cn_matches(cert: &[u8], host: &str) -> bool {
    use x509_cert::der::{Decode, Tagged};
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;
    let Ok(c) = x509_cert::Certificate::from_der(cert) else { return false };
    let tbs = &c.tbs_certificate;
    let san_oid = x509_cert::der::oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME;
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id == san_oid {
            if let Ok(san) = SubjectAltName::from_der(ext.extn_value.as_bytes()) {
                if san.0.iter().any(|n| matches!(n, GeneralName::DnsName(_))) {
                    return false;
                }
            }
        }
    }
    let cn_oid = x509_cert::der::oid::db::rfc4519::CN;
    tbs.subject.0.iter().flat_map(|rdn| rdn.0.iter()).filter(|a| a.oid == cn_oid).any(|a| {
        let tag = u8::from(a.value.tag());
        // UTF8String, PrintableString, IA5String
        matches!(tag, 0x0c | 0x13 | 0x16)
            && std::str::from_utf8(a.value.value()).is_ok_and(|cn| cn.eq_ignore_ascii_case(host.trim_end_matches('.')))
    })
}

impl ServerCertVerifier for LibvirtServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(v) => Ok(v),
            // webpki checks the chain before the name, so the chain is good here.
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }))
                if matches!(server_name, ServerName::DnsName(d) if cn_matches(end_entity, d.as_ref())) =>
            {
                Ok(ServerCertVerified::assertion())
            }
            Err(_) if !self.verify => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// libvirt's wording for a rejected server certificate.
fn cert_reason(e: &CertificateError, host: &str) -> String {
    match e {
        CertificateError::UnknownIssuer => "The certificate hasn't got a known issuer.".into(),
        CertificateError::Revoked => "The certificate has been revoked.".into(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "The certificate has expired.".into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "The certificate is not yet activated.".into(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("Certificate [session] owner does not match the hostname {host}")
        }
        CertificateError::BadSignature => "The certificate is not trusted.".into(),
        other => format!("Invalid certificate ({other:?})"),
    }
}

/// The error of a failed handshake.
fn handshake_error(e: &std::io::Error, host: &str) -> Error {
    let tls = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(ce)) => {
            Error::new(ErrorCode::AuthFailed, ErrorDomain::Rpc, format!("Failed to verify peer's certificate: {}", cert_reason(ce, host)))
        }
        // The server refused our certificate during the handshake (TLS 1.2).
        Some(rustls::Error::AlertReceived(_)) => verification_failed(),
        _ => Error::raw(ErrorCode::AuthFailed, ErrorDomain::Rpc, format!("TLS handshake failed {e}")),
    }
}

/// What libvirt's client reports when the server closes instead of confirming.
fn verification_failed() -> Error {
    Error::raw(ErrorCode::Rpc, ErrorDomain::Rpc, "server verification (of our certificate or IP address) failed")
}

fn lock(m: &Mutex<ClientConnection>) -> MutexGuard<'_, ClientConnection> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn tls_io(e: rustls::Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

/// Send whatever TLS records the session has queued.
fn flush_records(conn: &mut ClientConnection, sock: &mut TcpStream) -> std::io::Result<()> {
    while conn.wants_write() {
        conn.write_tls(sock)?;
    }
    Ok(())
}

/// The `+tls` transport: connect, handshake, wait for the server's confirmation.
pub fn connect_tls(host: &str, port: u16, pkipath: Option<&str>, verify: bool, root: bool) -> Result<Transport> {
    let files = ClientFiles::locate(pkipath, root);
    let config = client_config(&files, verify)?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| Error::new(ErrorCode::InvalidArg, ErrorDomain::Rpc, format!("invalid host name '{host}': {e}")))?;
    let mut sock = connect_socket(host, port)?;
    let mut conn = ClientConnection::new(config, name).map_err(|e| sys_error(format!("Failed to start TLS session: {e}")))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            return Err(handshake_error(&e, host));
        }
    }
    // The confirmation byte: the server closes instead when it refuses us.
    let mut byte = [0u8; 1];
    let confirmed = {
        let mut s = rustls::Stream::new(&mut conn, &mut sock);
        matches!(s.read(&mut byte), Ok(1)) && byte[0] == 1
    };
    if !confirmed {
        return Err(verification_failed());
    }
    let conn = Arc::new(Mutex::new(conn));
    let reader = TlsReader { conn: conn.clone(), sock: clone(&sock)?, wsock: clone(&sock)?, raw: vec![0; 64 * 1024], pos: 0, len: 0 };
    let closer = clone(&sock)?;
    Ok(Transport {
        reader: Box::new(reader),
        writer: Box::new(TlsWriter { conn, sock }),
        closer: Box::new(move || {
            let _ = closer.shutdown(std::net::Shutdown::Both);
        }),
        unix: None,
    })
}

/// The read half of a TLS session.
struct TlsReader {
    conn: Arc<Mutex<ClientConnection>>,
    sock: TcpStream,
    wsock: TcpStream,
    raw: Vec<u8>,
    pos: usize,
    len: usize,
}

impl Read for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            {
                let mut c = lock(&self.conn);
                match c.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if self.pos < self.len {
                    let mut rest = &self.raw[self.pos..self.len];
                    let n = c.read_tls(&mut rest)?;
                    self.pos += n;
                    let processed = c.process_new_packets();
                    // Alerts and key updates go out at once.
                    let _ = flush_records(&mut c, &mut self.wsock);
                    processed.map_err(tls_io)?;
                    continue;
                }
            }
            // Wait for more records without holding the session.
            let n = self.sock.read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.pos = 0;
            self.len = n;
        }
    }
}

/// The write half of a TLS session.
struct TlsWriter {
    conn: Arc<Mutex<ClientConnection>>,
    sock: TcpStream,
}

impl Write for TlsWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut c = lock(&self.conn);
        let n = c.writer().write(data)?;
        flush_records(&mut c, &mut self.sock)?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut c = lock(&self.conn);
        c.writer().flush()?;
        flush_records(&mut c, &mut self.sock)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn credential_locations() {
        let f = ClientFiles::locate(Some("/d"), true);
        assert_eq!(f.ca, PathBuf::from("/d/cacert.pem"));
        assert_eq!(f.cert, PathBuf::from("/d/clientcert.pem"));
        assert_eq!(f.key, PathBuf::from("/d/clientkey.pem"));
        let f = ClientFiles::locate(None, true);
        assert_eq!(f.ca, PathBuf::from("/etc/pki/CA/cacert.pem"));
        assert_eq!(f.cert, PathBuf::from("/etc/pki/libvirt/clientcert.pem"));
        assert_eq!(f.key, PathBuf::from("/etc/pki/libvirt/private/clientkey.pem"));
    }

    #[test]
    fn missing_ca_is_reported_like_libvirt() {
        let f = ClientFiles::locate(Some("/nonexistent-oxvirt-pki"), true);
        let e = client_config(&f, true).unwrap_err();
        assert_eq!(e.code, ErrorCode::SystemError);
        assert_eq!(e.message, "Cannot read CA certificate '/nonexistent-oxvirt-pki/cacert.pem': No such file or directory");
    }
}
