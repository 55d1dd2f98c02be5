//! Authentication (`crate::auth` of oxvirtd) with real clients: SASL SCRAM with real
//! `virsh` and libvirt-python (cyrus-sasl's SCRAM plugin from libsasl2-modules) on a
//! unix socket and over TLS, credentials from libvirt's `auth.conf` or an `openAuth`
//! callback; calls before authentication, compared with a real libvirtd 9.0; and
//! polkit with a private system bus and a real polkitd, the clients running as
//! unprivileged users (`setpriv`), compared with libvirtd as well.
//!
//! The polkit fixture changes nothing on the host: `dbus-daemon` listens on a private
//! socket, and polkitd runs in its own mount namespace where our test action
//! definitions and rules are bind-mounted over polkit's directories.

use super::harness::{client_cmd, oxvirtd_bin, which, Daemon, TempDir};
use super::malformed::{error_of, Raw};
use super::tls::{free_port, oxvirsh, oxvirsh_bin, tls_uri, Pki};
use oxvirt_rpc::proto::remote::{RemoteAuthListRet, RemoteAuthType, RemoteConnectOpenArgs, RemoteError};
use oxvirt_rpc::{Decode, MessageStatus};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What real virsh prints when SASL fails (libvirt's doubled message).
const SASL_FAILED: &str = "error: failed to connect to the hypervisor\nerror: authentication failed: authentication failed\n";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `oxvirtd --sasl-passwd USER` with the daemon's configuration, password on stdin.
fn add_user(d: &Daemon, user: &str, password: &str) {
    let mut child = Command::new(oxvirtd_bin())
        .arg("-f")
        .arg(d.dir.0.join("oxvirtd.conf"))
        .args(["--sasl-passwd", user])
        .stdin(Stdio::piped())
        .spawn()
        .expect("oxvirtd --sasl-passwd runs");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("write password");
    assert!(child.wait().expect("wait").success(), "oxvirtd --sasl-passwd {user} failed");
}

/// An `auth.conf` giving `user`/`password` for host `localhost`.
fn auth_file(dir: &Path, name: &str, user: &str, password: &str) -> PathBuf {
    let p = dir.join(name);
    let conf = format!("[credentials-test]\nauthname={user}\npassword={password}\n\n[auth-libvirt-localhost]\ncredentials=test\n");
    std::fs::write(&p, conf).expect("write auth.conf");
    p
}

/// `virsh -c URI LINE` with `LIBVIRT_AUTH_FILE`.
fn virsh_auth(uri: &str, line: &str, home: &Path, auth: &Path) -> Output {
    which("virsh");
    client_cmd("timeout", home).env("LIBVIRT_AUTH_FILE", auth).args(["30", "virsh", "-c", uri, line]).output().expect("virsh runs")
}

/// libvirt-python: `openAuth` with a callback answering `user`/`password`, then list
/// the domains. Prints the names, or `ERR code domain message`.
fn python_open_auth(uri: &str, user: &str, password: &str, home: &Path) -> String {
    let script = format!(
        r#"
import libvirt
def cb(creds, data):
    for c in creds:
        if c[0] == libvirt.VIR_CRED_AUTHNAME:
            c[4] = {user:?}
        elif c[0] == libvirt.VIR_CRED_PASSPHRASE:
            c[4] = {password:?}
        else:
            return -1
    return 0
libvirt.registerErrorHandler(lambda *a: None, None)
try:
    c = libvirt.openAuth({uri:?}, [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], cb, None], 0)
    print(",".join(d.name() for d in c.listAllDomains()))
    c.close()
except libvirt.libvirtError as e:
    print("ERR", e.get_error_code(), e.get_error_domain(), e.get_error_message())
"#
    );
    let out = client_cmd("/usr/bin/python3", home).arg("-c").arg(script).output().expect("python3 runs");
    assert!(out.status.success(), "python failed: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

const SASL_CONF: &str = "auth_unix_rw = \"sasl\"\nauth_unix_ro = \"none\"\nsasl_allowed_username_list = [\"fred\", \"adm*\"]\n";

#[test]
fn sasl_on_unix_socket_with_virsh_and_python() {
    let d = Daemon::start_with("auth-sasl", SASL_CONF);
    add_user(&d, "fred", "fred's secret");
    add_user(&d, "admin2", "pw2");
    add_user(&d, "bob", "bobpw");
    let home = TempDir::new("auth-sasl-home");
    let uri = d.uri();
    let good = auth_file(&home.0, "good.conf", "fred", "fred's secret");
    let out = virsh_auth(&uri, "list --name", &home.0, &good);
    assert_eq!((out.status.code(), text(&out.stdout), text(&out.stderr)), (Some(0), "test\n\n".into(), String::new()));
    // A glob of sasl_allowed_username_list.
    let out = virsh_auth(&uri, "domstate test", &home.0, &auth_file(&home.0, "adm.conf", "admin2", "pw2"));
    assert_eq!(text(&out.stdout), "running\n\n", "{}", text(&out.stderr));
    // Wrong password, unknown user, and a valid user outside the allowed list.
    for (user, pw) in [("fred", "wrong"), ("nobody", "x"), ("bob", "bobpw")] {
        let out = virsh_auth(&uri, "list", &home.0, &auth_file(&home.0, "bad.conf", user, pw));
        assert_eq!((out.status.code(), text(&out.stderr)), (Some(1), SASL_FAILED.to_string()), "{user}/{pw}");
    }
    // The default auth.conf location ($XDG_CONFIG_HOME/libvirt/auth.conf).
    std::fs::create_dir_all(home.0.join(".config/libvirt")).expect("config dir");
    auth_file(&home.0.join(".config/libvirt"), "auth.conf", "fred", "fred's secret");
    let out = super::harness::virsh(&uri, "list --name", &home.0);
    assert_eq!(text(&out.stdout), "test\n\n", "{}", text(&out.stderr));
    std::fs::remove_file(home.0.join(".config/libvirt/auth.conf")).expect("remove auth.conf");
    // libvirt-python with a credential callback.
    assert_eq!(python_open_auth(&uri, "fred", "fred's secret", &home.0), "test");
    // VIR_ERR_AUTH_FAILED (45) from VIR_FROM_RPC (7).
    assert_eq!(python_open_auth(&uri, "fred", "nope", &home.0), "ERR 45 7 authentication failed: authentication failed");
    // The read-only socket has its own setting (none here).
    let ro = format!("test+unix:///default?socket={}", d.sock_ro().display());
    let out = super::harness::virsh(&ro, "list --name", &home.0);
    assert_eq!(text(&out.stdout), "test\n\n", "{}", text(&out.stderr));
}

/// `virt-admin` sees the SASL user name of an authenticated client
/// (`client-info`'s `sasl_user_name`) and counts clients still authenticating
/// (`srv-clients-info`'s `nclients_unauth`).
#[test]
fn virt_admin_shows_sasl_identity_and_unauthenticated_clients() {
    let d = Daemon::start_with("auth-admin", SASL_CONF);
    add_user(&d, "fred", "pw");
    let home = TempDir::new("auth-admin-home");
    which("virt-admin");
    let admin = format!("libvirtd:///system?socket={}", d.dir.0.join("libvirt-admin-sock").display());
    let script = format!(
        r#"
import libvirt, socket, struct, subprocess
def cb(creds, data):
    for c in creds:
        c[4] = "fred" if c[0] == libvirt.VIR_CRED_AUTHNAME else "pw"
    return 0
c = libvirt.openAuth({uri:?}, [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], cb, None], 0)
# A second client that stops after AUTH_LIST (answered, so it is registered).
s = socket.socket(socket.AF_UNIX)
s.connect({sock:?})
s.sendall(struct.pack(">IIIiiIi", 28, 0x20008086, 1, 66, 0, 1, 0))
hdr = s.recv(28)
assert len(hdr) == 28, hdr
def admin(*args):
    out = subprocess.run(["virt-admin", "-c", {admin:?}] + list(args), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout
info = admin("client-info", "libvirtd", "1")
limits = admin("srv-clients-info", "libvirtd")
print({{k.strip(): v.strip() for k, v in (l.split(":", 1) for l in (info + limits).splitlines() if ":" in l)}})
"#,
        uri = d.uri(),
        sock = d.sock().display().to_string(),
    );
    let out = client_cmd("/usr/bin/python3", &home.0).arg("-c").arg(script).output().expect("python3 runs");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for want in ["'sasl_user_name': 'fred'", "'nclients_unauth': '1'", "'nclients': '2'", "'readonly': 'no'"] {
        assert!(stdout.contains(want), "{want} missing in {stdout}");
    }
}

#[test]
fn read_only_socket_with_sasl() {
    let d = Daemon::start_with("auth-ro", "auth_unix_rw = \"none\"\nauth_unix_ro = \"sasl\"\n");
    add_user(&d, "ro", "ropw");
    let home = TempDir::new("auth-ro-home");
    let ro = format!("test+unix:///default?socket={}", d.sock_ro().display());
    let out = virsh_auth(&ro, "list --name", &home.0, &auth_file(&home.0, "a.conf", "ro", "ropw"));
    assert_eq!(text(&out.stdout), "test\n\n", "{}", text(&out.stderr));
    let out = virsh_auth(&ro, "list", &home.0, &auth_file(&home.0, "b.conf", "ro", "bad"));
    assert_eq!(text(&out.stderr), SASL_FAILED);
    // Still read-only after authenticating.
    let out = virsh_auth(&ro, "destroy test", &home.0, &auth_file(&home.0, "a.conf", "ro", "ropw"));
    assert!(text(&out.stderr).contains("operation forbidden: read only access prevents virDomainDestroy"), "{}", text(&out.stderr));
    // The read-write socket needs nothing.
    let out = super::harness::virsh(&d.uri(), "list --name", &home.0);
    assert_eq!(text(&out.stdout), "test\n\n", "{}", text(&out.stderr));
}

#[test]
fn sasl_over_tls() {
    let pki = Pki::new();
    let port = free_port();
    let ca = pki.path("ca");
    let conf = format!(
        "listen_addr = \"127.0.0.1\"\nlisten_tcp = 0\nlisten_tls = 1\ntls_port = \"{port}\"\nauth_tls = \"sasl\"\n\
         ca_file = \"{ca}/cacert.pem\"\ncert_file = \"{ca}/servercert.pem\"\nkey_file = \"{ca}/serverkey.pem\"\n\
         auth_unix_rw = \"none\"\nsasl_allowed_username_list = [\"fred\"]\n",
        ca = ca.display()
    );
    let d = Daemon::start_args("auth-tls", &conf, &["--listen"]);
    add_user(&d, "fred", "tls-pw");
    let home = TempDir::new("auth-tls-home");
    let uri = tls_uri(port, &pki.path("good"));
    let out = virsh_auth(&uri, "list --name", &home.0, &auth_file(&home.0, "good.conf", "fred", "tls-pw"));
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "test\n\n".into()), "{}", text(&out.stderr));
    let out = virsh_auth(&uri, "list", &home.0, &auth_file(&home.0, "bad.conf", "fred", "nope"));
    assert_eq!(text(&out.stderr), SASL_FAILED);
    assert_eq!(python_open_auth(&uri, "fred", "tls-pw", &home.0), "test");
    // oxvirsh (the remote driver's SCRAM client) over TLS.
    let out = oxvirsh_auth(&uri, &["list", "--name"], &home.0, &auth_file(&home.0, "good.conf", "fred", "tls-pw"));
    assert_eq!(text(&out.stdout), "test\n\n", "{}", text(&out.stderr));
    let out = oxvirsh_auth(&uri, &["list"], &home.0, &auth_file(&home.0, "bad.conf", "fred", "nope"));
    assert_eq!(text(&out.stderr), SASL_FAILED);
}

/// `oxvirsh -c URI ARGS` with `LIBVIRT_AUTH_FILE`.
fn oxvirsh_auth(uri: &str, args: &[&str], home: &Path, auth: &Path) -> Output {
    client_cmd("timeout", home)
        .env("LIBVIRT_AUTH_FILE", auth)
        .arg("30")
        .arg(oxvirsh_bin())
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .expect("oxvirsh runs")
}

#[test]
fn oxvirsh_authenticates_to_oxvirtd() {
    let d = Daemon::start_with("auth-oxvirsh", SASL_CONF);
    add_user(&d, "fred", "pw, with = signs");
    add_user(&d, "bob", "bobpw");
    let home = TempDir::new("auth-oxvirsh-home");
    let uri = d.uri();
    let good = auth_file(&home.0, "good.conf", "fred", "pw, with = signs");
    let out = oxvirsh_auth(&uri, &["list", "--name"], &home.0, &good);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "test\n\n".into()), "{}", text(&out.stderr));
    // Both mechanisms, chosen with ?auth=sasl.MECH as libvirt's client allows.
    for mech in ["SCRAM-SHA-1", "SCRAM-SHA-256"] {
        let out = oxvirsh_auth(&format!("{uri}&auth=sasl.{mech}"), &["list", "--name"], &home.0, &good);
        assert_eq!(text(&out.stdout), "test\n\n", "{mech}: {}", text(&out.stderr));
    }
    // The same failures as real virsh.
    for (user, pw) in [("fred", "wrong"), ("bob", "bobpw")] {
        let conf = auth_file(&home.0, "bad.conf", user, pw);
        let ours = oxvirsh_auth(&uri, &["list"], &home.0, &conf);
        let theirs = virsh_auth(&uri, "list", &home.0, &conf);
        assert_eq!((ours.status.code(), text(&ours.stderr)), (Some(1), SASL_FAILED.to_string()), "{user}");
        assert_eq!(text(&theirs.stderr), SASL_FAILED, "{user}");
    }
    // No credentials at all: libvirt's message when nothing can supply them.
    let out = oxvirsh(&uri, &["list"], &home.0);
    assert_eq!(
        text(&out.stderr),
        "error: failed to connect to the hypervisor\nerror: authentication failed: No authentication callback available\n"
    );
    // A mechanism the server does not offer.
    let out = oxvirsh_auth(&format!("{uri}&auth=sasl.GSSAPI"), &["list"], &home.0, &good);
    assert!(text(&out.stderr).contains("authentication failed: SASL mechanism GSSAPI not supported by server"), "{}", text(&out.stderr));
}

/// oxvirsh against libvirtd 9.0 using cyrus-sasl's SCRAM-SHA-256 (server side) with a
/// private sasldb made by `saslpasswd2` and `SASL_CONF_PATH` pointing at a private
/// `libvirt.conf`.
#[test]
fn oxvirsh_authenticates_to_libvirtd_with_scram() {
    assert!(Path::new("/usr/sbin/saslpasswd2").exists(), "saslpasswd2 is required (Debian package sasl2-bin)");
    let sasl = TempDir::new("auth-lv-sasl");
    let db = sasl.0.join("passwd.db");
    std::fs::write(sasl.0.join("libvirt.conf"), format!("mech_list: scram-sha-256\nsasldb_path: {}\n", db.display())).expect("conf");
    let mut child = Command::new("/usr/sbin/saslpasswd2")
        .args(["-p", "-c", "-a", "libvirt", "-f"])
        .arg(&db)
        .arg("fred")
        .stdin(Stdio::piped())
        .spawn()
        .expect("saslpasswd2 runs");
    child.stdin.take().expect("stdin").write_all(b"lv-secret").expect("password");
    assert!(child.wait().expect("wait").success(), "saslpasswd2 failed");
    let conf_path = sasl.0.display().to_string();
    let lv = Libvirtd::start(
        "auth-lv",
        "auth_unix_rw = \"sasl\"\nauth_unix_ro = \"none\"\nsasl_allowed_username_list = [\"fred\"]\n",
        &[("SASL_CONF_PATH", &conf_path)],
    );
    let home = TempDir::new("auth-lv-home");
    let uri = format!("test+unix:///default?socket={}", lv.sock().display());
    let good = auth_file(&home.0, "good.conf", "fred", "lv-secret");
    for out in [virsh_auth(&uri, "list --name", &home.0, &good), oxvirsh_auth(&uri, &["list", "--name"], &home.0, &good)] {
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "test\n\n".into()), "{}", text(&out.stderr));
    }
    let bad = auth_file(&home.0, "bad.conf", "fred", "wrong");
    let theirs = virsh_auth(&uri, "list", &home.0, &bad);
    let ours = oxvirsh_auth(&uri, &["list"], &home.0, &bad);
    assert_eq!(text(&theirs.stderr), SASL_FAILED);
    assert_eq!(text(&ours.stderr), SASL_FAILED);
}

/// A real libvirtd 9.0 with its own socket directory and `config` (plus
/// `unix_sock_dir`); only the drivers built into libvirt.so are loaded.
struct Libvirtd {
    child: Child,
    dir: TempDir,
}

impl Libvirtd {
    fn start(tag: &str, config: &str, env: &[(&str, &str)]) -> Libvirtd {
        const BIN: &str = "/usr/sbin/libvirtd";
        assert!(Path::new(BIN).exists(), "{BIN} is required (Debian package libvirt-daemon)");
        let dir = TempDir::new(tag);
        std::fs::create_dir_all(dir.0.join("drivers")).expect("drivers dir");
        let conf = dir.0.join("libvirtd.conf");
        std::fs::write(&conf, format!("unix_sock_dir = \"{}\"\n{config}", dir.0.display())).expect("write config");
        let log = std::fs::File::create(dir.0.join("log")).expect("log");
        let child = Command::new(BIN)
            .arg("-f")
            .arg(&conf)
            .arg("--pid-file")
            .arg(dir.0.join("pid"))
            .env("LIBVIRT_DRIVER_DIR", dir.0.join("drivers"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("libvirtd starts");
        let mut d = Libvirtd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(d.sock()).is_err() {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("libvirtd exited with {st}: {}", std::fs::read_to_string(d.dir.0.join("log")).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "libvirtd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn sock(&self) -> PathBuf {
        self.dir.0.join("libvirt-sock")
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Arguments given as raw XDR bytes.
struct RawArgs(Vec<u8>);

impl oxvirt_rpc::Encode for RawArgs {
    fn encode(&self, w: &mut oxvirt_rpc::xdr::Writer) -> Result<(), oxvirt_rpc::XdrError> {
        w.put_padded(&self.0);
        Ok(())
    }
}

/// The answers to calls made before authenticating on a SASL socket.
fn before_auth(sock: &Path) -> Vec<Result<Vec<u8>, RemoteError>> {
    let mut raw = Raw::connect(sock);
    let mut out = Vec::new();
    let open = RemoteConnectOpenArgs { name: Some("test:///default".into()), flags: 0 };
    for (proc, payload) in [
        // AUTH_LIST
        (66, Vec::new()),
        // CONNECT_OPEN, CONNECT_GET_LIB_VERSION, CONNECT_SUPPORTS_FEATURE(keepalive)
        (1, oxvirt_rpc::Encode::to_bytes(&open).expect("encode")),
        (157, Vec::new()),
        (60, 10i32.to_be_bytes().to_vec()),
        // A procedure that does not exist, and undecodable arguments of a real one.
        (9999, Vec::new()),
        (23, vec![1, 2]),
        // AUTH_SASL_STEP before AUTH_SASL_INIT.
        (69, vec![0, 0, 0, 0, 0, 0, 0, 0]),
        // AUTH_POLKIT on a SASL socket: libvirtd's dispatcher fails without setting an
        // error, and the worker thread's stale last error (if any) goes out instead,
        // so only ours is checked (last).
        (70, Vec::new()),
    ] {
        let p = raw.call(proc, &RawArgs(payload));
        out.push(if p.header.status == MessageStatus::OK { Ok(p.payload) } else { Err(error_of(&p)) });
    }
    out
}

#[test]
fn calls_before_authentication_are_refused_like_libvirtd() {
    let ours = Daemon::start_with("auth-pre", "auth_unix_rw = \"sasl\"\n");
    let theirs = Libvirtd::start("auth-pre-lv", "auth_unix_rw = \"sasl\"\nauth_unix_ro = \"none\"\n", &[]);
    let mut a = before_auth(&ours.sock());
    let mut b = before_auth(&theirs.sock());
    let polkit = a.pop().expect("AUTH_POLKIT answer").expect_err("AUTH_POLKIT refused");
    b.pop();
    assert_eq!(a, b);
    assert_eq!(
        (polkit.code, polkit.domain, polkit.message.as_deref()),
        (1, 7, Some("Library function returned error but did not set virError"))
    );
    let list = RemoteAuthListRet::from_bytes(a[0].as_ref().expect("AUTH_LIST answers")).expect("decodes");
    assert_eq!(list.types, vec![RemoteAuthType::Sasl]);
    let e = a[1].as_ref().expect_err("CONNECT_OPEN refused");
    assert_eq!((e.code, e.domain, e.message.as_deref()), (39, 7, Some("authentication required")));
}

/// A private system bus and a real polkitd that sees only our test action
/// definitions and rules: `nobody` may manage and monitor, `daemon` may only monitor
/// (the read-only socket), everybody else is denied.
struct Polkit {
    dir: TempDir,
    bus: Child,
    polkitd: Child,
}

const POLICY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD polkit Policy Configuration 1.0//EN"
 "http://www.freedesktop.org/software/polkit/policyconfig-1.dtd">
<policyconfig>
  <action id="org.libvirt.unix.monitor">
    <description>oxvirt test: monitor</description>
    <message>oxvirt test: monitor</message>
    <defaults><allow_any>no</allow_any><allow_inactive>no</allow_inactive><allow_active>no</allow_active></defaults>
  </action>
  <action id="org.libvirt.unix.manage">
    <description>oxvirt test: manage</description>
    <message>oxvirt test: manage</message>
    <defaults><allow_any>no</allow_any><allow_inactive>no</allow_inactive><allow_active>no</allow_active></defaults>
  </action>
</policyconfig>
"#;

const RULES: &str = r#"polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.libvirt.unix.") != 0) {
        return polkit.Result.NOT_HANDLED;
    }
    if (subject.user == "nobody") {
        return polkit.Result.YES;
    }
    if (subject.user == "daemon" && action.id == "org.libvirt.unix.monitor") {
        return polkit.Result.YES;
    }
    return polkit.Result.NO;
});
"#;

impl Polkit {
    fn start() -> Polkit {
        for p in ["dbus-daemon", "pkcheck", "unshare", "setpriv"] {
            which(p);
        }
        const POLKITD: &str = "/usr/lib/polkit-1/polkitd";
        assert!(Path::new(POLKITD).exists(), "{POLKITD} is required (Debian package polkitd)");
        let dir = TempDir::new("polkit");
        for sub in ["actions", "rules", "empty"] {
            std::fs::create_dir_all(dir.0.join(sub)).expect("polkit dirs");
        }
        std::fs::write(dir.0.join("actions/org.libvirt.unix.policy"), POLICY).expect("policy");
        std::fs::write(dir.0.join("rules/50-oxvirt-test.rules"), RULES).expect("rules");
        let bus_conf = format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig><type>system</type>\
             <listen>unix:path={}/bus</listen><auth>EXTERNAL</auth><policy context=\"default\"><allow user=\"*\"/>\
             <allow own=\"*\"/><allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>\n",
            dir.0.display()
        );
        std::fs::write(dir.0.join("bus.conf"), bus_conf).expect("bus.conf");
        let bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", dir.0.join("bus.conf").display()))
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !dir.0.join("bus").exists() {
            assert!(Instant::now() < deadline, "dbus-daemon did not create its socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        let d = dir.0.display();
        let script = format!(
            "mount --bind {d}/actions /usr/share/polkit-1/actions && mount --bind {d}/rules /etc/polkit-1/rules.d && \
             mount --bind {d}/empty /usr/share/polkit-1/rules.d && exec {POLKITD} --no-debug"
        );
        let polkitd = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .env("DBUS_SYSTEM_BUS_ADDRESS", format!("unix:path={d}/bus"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.0.join("polkitd.log")).expect("log"))
            .spawn()
            .expect("polkitd starts");
        let pk = Polkit { dir, bus, polkitd };
        // Ready once pkcheck gets an answer (exit 0-3) rather than an error (127).
        loop {
            let st = Command::new("pkcheck")
                .args(["--action-id", "org.libvirt.unix.monitor", "--process", &std::process::id().to_string()])
                .env("DBUS_SYSTEM_BUS_ADDRESS", pk.address())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("pkcheck runs");
            if matches!(st.code(), Some(0..=3)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "polkitd did not answer: {}",
                std::fs::read_to_string(pk.dir.0.join("polkitd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pk
    }

    fn address(&self) -> String {
        format!("unix:path={}/bus", self.dir.0.display())
    }
}

impl Drop for Polkit {
    fn drop(&mut self) {
        for c in [&mut self.polkitd, &mut self.bus] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Run `program ARGS` as user `uid` (its own group, no supplementary groups).
fn run_as(uid: u32, program: &Path, args: &[&str], home: &Path) -> Output {
    client_cmd("setpriv", home)
        .args([&format!("--reuid={uid}"), &format!("--regid={uid}"), "--clear-groups", "timeout", "30"])
        .arg(program)
        .args(args)
        .output()
        .expect("setpriv runs")
}

/// Real virsh run as user `uid`.
fn virsh_as(uid: u32, uri: &str, line: &str, home: &Path) -> Output {
    run_as(uid, Path::new("virsh"), &["-c", uri, line], home)
}

#[test]
fn polkit_allows_and_denies_like_libvirtd() {
    use std::os::unix::fs::PermissionsExt;
    let pk = Polkit::start();
    let bus = pk.address();
    let env = [("DBUS_SYSTEM_BUS_ADDRESS", bus.as_str())];
    let auth = "auth_unix_rw = \"polkit\"\nauth_unix_ro = \"polkit\"\n";
    let ours = Daemon::start_env("auth-polkit", auth, &[], &env);
    let theirs = Libvirtd::start("auth-polkit-lv", auth, &env);
    let home = TempDir::new("auth-polkit-home");
    std::fs::set_permissions(&home.0, std::fs::Permissions::from_mode(0o777)).expect("chmod home");
    let (nobody, daemon) = (65534, 1);
    let denied = "error: failed to connect to the hypervisor\nerror: authentication failed: access denied by policy\n";
    for dir in [ours.dir.0.clone(), theirs.dir.0.clone()] {
        let rw = format!("test+unix:///default?socket={}/libvirt-sock", dir.display());
        let ro = format!("test+unix:///default?socket={}/libvirt-sock-ro", dir.display());
        // Allowed by the rules: org.libvirt.unix.manage.
        let out = virsh_as(nobody, &rw, "list --name", &home.0);
        assert_eq!((text(&out.stdout), text(&out.stderr)), ("test\n\n".into(), String::new()), "{rw}");
        // Denied manage, allowed monitor (the read-only socket's action).
        let out = virsh_as(daemon, &rw, "list", &home.0);
        assert_eq!((out.status.code(), text(&out.stderr)), (Some(1), denied.to_string()), "{rw}");
        let out = virsh_as(daemon, &ro, "list --name", &home.0);
        assert_eq!(text(&out.stdout), "test\n\n", "{ro}: {}", text(&out.stderr));
        // Root is let in without asking polkit.
        let out = super::harness::virsh(&rw, "list --name", &home.0);
        assert_eq!(text(&out.stdout), "test\n\n", "{rw}: {}", text(&out.stderr));
        // oxvirsh: the same answers.
        let out = run_as(nobody, &oxvirsh_bin(), &["-c", &rw, "list", "--name"], &home.0);
        assert_eq!(text(&out.stdout), "test\n\n", "oxvirsh {rw}: {}", text(&out.stderr));
        let out = run_as(daemon, &oxvirsh_bin(), &["-c", &rw, "list"], &home.0);
        assert_eq!(text(&out.stderr), denied, "oxvirsh {rw}");
    }
}
