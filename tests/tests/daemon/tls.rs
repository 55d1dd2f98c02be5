//! `oxvirtd -l` with TCP and TLS on 127.0.0.1 (never another address), driven by real
//! `virsh` (GnuTLS) and by `oxvirsh` (the remote driver's rustls transport). A CA,
//! a server certificate and client certificates are made with the `openssl` CLI in
//! a scratch directory for each test.

use super::harness::{client_cmd, oxvirtd_bin, virsh, which, Daemon, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn openssl(dir: &Path, args: &[&str]) {
    which("openssl");
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA named `ca_name` in `dir` (`cacert.pem`, `cakey.pem`).
fn make_ca(dir: &Path, ca_name: &str) {
    std::fs::create_dir_all(dir).expect("pki dir");
    let subj = format!("/O=oxvirt test/CN={ca_name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "cakey.pem",
            "-out",
            "cacert.pem",
            "-subj",
            &subj,
            "-days",
            "2",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// A certificate `NAME{cert,key}.pem` in `out`, signed by the CA in `ca_dir`.
fn make_cert(ca_dir: &Path, out: &Path, name: &str, subj: &str, ext: &str) {
    std::fs::create_dir_all(out).expect("cert dir");
    let key = out.join(format!("{name}key.pem"));
    let cert = out.join(format!("{name}cert.pem"));
    let csr = out.join(format!("{name}.csr"));
    let extfile = out.join(format!("{name}.ext"));
    std::fs::write(&extfile, ext).expect("ext file");
    let s = |p: &PathBuf| p.display().to_string();
    openssl(ca_dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &s(&key), "-out", &s(&csr), "-subj", subj]);
    openssl(
        ca_dir,
        &[
            "x509",
            "-req",
            "-in",
            &s(&csr),
            "-CA",
            "cacert.pem",
            "-CAkey",
            "cakey.pem",
            "-CAcreateserial",
            "-out",
            &s(&cert),
            "-days",
            "2",
            "-extfile",
            &s(&extfile),
        ],
    );
}

const SERVER_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
                          extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n";
const CLIENT_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
                          extendedKeyUsage=clientAuth\n";

/// A client pkipath directory: the CA of `ca_dir` and a client certificate with `subj`.
fn client_dir(ca_dir: &Path, out: &Path, subj: &str) {
    make_cert(ca_dir, out, "client", subj, CLIENT_EXT);
    std::fs::copy(ca_dir.join("cacert.pem"), out.join("cacert.pem")).expect("copy CA");
}

/// Test PKI: `ca/` (CA + server cert), `good/` (allowed client), `intruder/` (client
/// whose DN is not allowed), `otherca/` (client trusting and signed by another CA).
pub(super) struct Pki {
    dir: TempDir,
}

impl Pki {
    pub(super) fn new() -> Pki {
        let dir = TempDir::new("pki");
        let ca = dir.0.join("ca");
        make_ca(&ca, "oxvirt test CA");
        make_cert(&ca, &ca, "server", "/O=oxvirt test/CN=localhost", SERVER_EXT);
        client_dir(&ca, &dir.0.join("good"), "/C=GB/O=oxvirt test/CN=client1");
        client_dir(&ca, &dir.0.join("intruder"), "/C=GB/O=oxvirt test/CN=intruder");
        let other = dir.0.join("other-ca");
        make_ca(&other, "another CA");
        client_dir(&other, &dir.0.join("otherca"), "/C=GB/O=oxvirt test/CN=client2");
        Pki { dir }
    }

    pub(super) fn path(&self, sub: &str) -> PathBuf {
        self.dir.0.join(sub)
    }
}

/// A free port on 127.0.0.1.
pub(super) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// `oxvirtd -l` with TLS (and TCP with `auth_tcp = "none"`) on 127.0.0.1.
fn start(pki: &Pki, tag: &str) -> (Daemon, u16, u16) {
    let (tcp, tls) = (free_port(), free_port());
    let ca = pki.path("ca");
    let conf = format!(
        "listen_addr = \"127.0.0.1\"\nlisten_tcp = 1\nlisten_tls = 1\nauth_tcp = \"none\"\ntcp_port = \"{tcp}\"\ntls_port = \"{tls}\"\n\
         ca_file = \"{ca}/cacert.pem\"\ncert_file = \"{ca}/servercert.pem\"\nkey_file = \"{ca}/serverkey.pem\"\n\
         tls_allowed_dn_list = [\"C=GB,O=oxvirt test,CN=client*\"]\n",
        ca = ca.display()
    );
    (Daemon::start_args(tag, &conf, &["--listen"]), tcp, tls)
}

pub(super) fn tls_uri(port: u16, pki: &Path) -> String {
    format!("test+tls://localhost:{port}/default?pkipath={}", pki.display())
}

/// The `oxvirsh` binary, built once.
pub(super) fn oxvirsh_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let daemon = oxvirtd_bin();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status =
            super::harness::cargo_cmd(&cargo).args(["build", "-q", "-p", "oxvirsh"]).current_dir(&root).status().expect("cargo build runs");
        assert!(status.success(), "building oxvirsh failed");
        daemon.with_file_name("oxvirsh")
    })
    .clone()
}

pub(super) fn oxvirsh(uri: &str, cmd: &[&str], home: &Path) -> Output {
    client_cmd("timeout", home).arg("30").arg(oxvirsh_bin()).arg("-c").arg(uri).args(cmd).output().expect("oxvirsh runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `text` with the wall-clock dependent `CPU time:` line masked.
fn masked(b: &[u8]) -> String {
    text(b).lines().map(|l| if l.starts_with("CPU time:") { "CPU time: @NONDET@" } else { l }).collect::<Vec<_>>().join("\n")
}

#[test]
fn virsh_over_tls_and_tcp_matches_in_process() {
    let pki = Pki::new();
    let (d, tcp, tls) = start(&pki, "tls-virsh");
    let home = TempDir::new("tls-virsh-home");
    for line in ["list --all", "dominfo test", "net-list --all"] {
        let theirs = virsh("test:///default", line, &home.0);
        assert!(theirs.status.success(), "in-process virsh {line}: {}", text(&theirs.stderr));
        for uri in [tls_uri(tls, &pki.path("good")), format!("test+tcp://127.0.0.1:{tcp}/default")] {
            let ours = virsh(&uri, line, &home.0);
            assert_eq!(
                (ours.status.code(), masked(&ours.stdout), text(&ours.stderr)),
                (theirs.status.code(), masked(&theirs.stdout), text(&theirs.stderr)),
                "virsh -c {uri} {line}"
            );
        }
    }
    drop(d);
}

#[test]
fn oxvirsh_over_tls_and_tcp() {
    let pki = Pki::new();
    let (_d, tcp, tls) = start(&pki, "tls-oxvirsh");
    let home = TempDir::new("tls-oxvirsh-home");
    let expected = virsh("test:///default", "list --all", &home.0);
    for uri in [
        tls_uri(tls, &pki.path("good")),
        // The certificate names 127.0.0.1 in its subjectAltName too.
        format!("test+tls://127.0.0.1:{tls}/default?pkipath={}", pki.path("good").display()),
        format!("test+tcp://127.0.0.1:{tcp}/default"),
    ] {
        let ours = oxvirsh(&uri, &["list", "--all"], &home.0);
        assert_eq!((ours.status.code(), text(&ours.stdout)), (Some(0), text(&expected.stdout)), "oxvirsh -c {uri}: {}", text(&ours.stderr));
        // A mutating call and a second call on the same session.
        let ours = oxvirsh(&uri, &["domstate", "test"], &home.0);
        assert_eq!(text(&ours.stdout), "running\n\n", "{}", text(&ours.stderr));
    }
}

#[test]
fn client_dn_not_in_allowed_list_is_refused() {
    let pki = Pki::new();
    let (_d, _tcp, tls) = start(&pki, "tls-dn");
    let home = TempDir::new("tls-dn-home");
    let uri = tls_uri(tls, &pki.path("intruder"));
    let want = "error: failed to connect to the hypervisor\nerror: server verification (of our certificate or IP address) failed\n";
    let theirs = virsh(&uri, "list", &home.0);
    assert_eq!((theirs.status.code(), text(&theirs.stderr)), (Some(1), want.to_string()));
    let ours = oxvirsh(&uri, &["list"], &home.0);
    assert_eq!((ours.status.code(), text(&ours.stderr)), (Some(1), want.to_string()));
}

#[test]
fn wrong_ca_is_a_clear_error() {
    let pki = Pki::new();
    let (_d, _tcp, tls) = start(&pki, "tls-ca");
    let home = TempDir::new("tls-ca-home");
    let uri = tls_uri(tls, &pki.path("otherca"));
    let ours = oxvirsh(&uri, &["list"], &home.0);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(
        text(&ours.stderr),
        "error: failed to connect to the hypervisor\n\
         error: authentication failed: Failed to verify peer's certificate: The certificate hasn't got a known issuer.\n"
    );
    // libvirt's client says the same, without the reason (it logs that separately).
    let theirs = virsh(&uri, "list", &home.0);
    assert!(text(&theirs.stderr).contains("error: authentication failed: Failed to verify peer's certificate"), "{}", text(&theirs.stderr));
    // With no_verify the server certificate is accepted, but the server still
    // refuses our certificate from the other CA.
    let ours = oxvirsh(&format!("{uri}&no_verify=1"), &["list"], &home.0);
    assert!(text(&ours.stderr).contains("server verification (of our certificate or IP address) failed"), "{}", text(&ours.stderr));
}

#[test]
fn tcp_with_sasl_offers_no_mechanism() {
    let tcp = free_port();
    let conf = format!("listen_addr = \"127.0.0.1\"\nlisten_tcp = 1\nlisten_tls = 0\ntcp_port = \"{tcp}\"\n");
    let _d = Daemon::start_args("tls-sasl", &conf, &["--listen"]);
    // auth_tcp defaults to "sasl"; plain TCP needs a SASL security layer (SSF 56),
    // which oxvirtd's SCRAM mechanisms lack, so nobody can authenticate.
    let home = TempDir::new("tls-sasl-home");
    let out = virsh(&format!("test+tcp://127.0.0.1:{tcp}/default"), "list", &home.0);
    assert_eq!(text(&out.stderr), "error: failed to connect to the hypervisor\nerror: authentication failed: authentication failed\n");
}
