//! The shared secret driver behind `qemu:///system` in oxvirtd, driven by libvirt-python
//! and Debian's `virsh` 9.0: define, binary values, list, lookup by usage, private and
//! conflicting secrets, undefine, and the `<uuid>.xml`/`<uuid>.base64` files (mode
//! 0600) below a private root (`OXVIRT_SECRET_ROOT`, with `OXVIRT_QEMU_ROOT` for the
//! QEMU driver). On `test:///default` secrets stay unsupported, as with libvirt, whose
//! test driver takes no shared drivers.

use super::harness::{client_cmd, oxvirtd_bin, virsh, TempDir};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";
const PY_UUID: &str = "6d1a3c52-1f0e-4b7a-9a55-0c2c1c0a7e01";
const SH_UUID: &str = "6d1a3c52-1f0e-4b7a-9a55-0c2c1c0a7e02";

/// oxvirtd with private QEMU and secret roots; killed on drop.
struct SecretDaemon {
    child: Child,
    dir: TempDir,
}

impl SecretDaemon {
    fn start() -> SecretDaemon {
        let dir = TempDir::new("secrets");
        std::fs::write(dir.0.join("oxvirtd.conf"), "").expect("write config");
        let child = Self::spawn(&dir.0);
        let d = SecretDaemon { child, dir };
        d.wait_for_socket();
        d
    }

    fn spawn(dir: &Path) -> Child {
        Command::new(oxvirtd_bin())
            .arg("--socket-dir")
            .arg(dir)
            .arg("-f")
            .arg(dir.join("oxvirtd.conf"))
            .arg("-p")
            .arg(dir.join("oxvirtd.pid"))
            .env("OXVIRT_QEMU_ROOT", dir.join("qemu-root"))
            .env("OXVIRT_SECRET_ROOT", dir.join("secrets"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start oxvirtd")
    }

    fn wait_for_socket(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.sock().exists() {
            assert!(Instant::now() < deadline, "oxvirtd did not create its socket");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill the daemon and start a new one over the same roots.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.sock());
        self.child = Self::spawn(&self.dir.0);
        self.wait_for_socket();
    }

    fn sock(&self) -> PathBuf {
        self.dir.0.join("libvirt-sock")
    }

    fn uri(&self, driver: &str, path: &str) -> String {
        format!("{driver}+unix://{path}?socket={}", self.sock().display())
    }

    fn qemu_uri(&self) -> String {
        self.uri("qemu", "/system")
    }

    fn secret_file(&self, uuid: &str, ext: &str) -> PathBuf {
        self.dir.0.join("secrets").join(format!("{uuid}.{ext}"))
    }

    fn virsh(&self, uri: &str, line: &str) -> Output {
        virsh(uri, line, &self.dir.0)
    }

    fn virsh_ok(&self, line: &str) -> String {
        let out = self.virsh(&self.qemu_uri(), line);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "virsh {line} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    /// Run a libvirt-python script with `uri` as argv[1]; it must succeed.
    fn python(&self, uri: &str, script: &str) -> String {
        assert!(Path::new(PYTHON).exists(), "{PYTHON} with python3-libvirt is required");
        let out = client_cmd(PYTHON, &self.dir.0).arg("-c").arg(script).arg(uri).output().expect("python runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "script failed:\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }
}

impl Drop for SecretDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

const PY_DEFINE: &str = r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
U = '6d1a3c52-1f0e-4b7a-9a55-0c2c1c0a7e01'
s = c.secretDefineXML("<secret ephemeral='no' private='no'><uuid>%s</uuid><usage type='ceph'><name>client.py</name></usage></secret>" % U)
s.setValue(b'\x00binary\xffvalue')
assert s.value() == b'\x00binary\xffvalue', s.value()
assert U in [x.UUIDString() for x in c.listAllSecrets()]
found = c.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_CEPH, 'client.py')
assert found.UUIDString() == U and found.usageID() == 'client.py'
try:
    c.secretDefineXML("<secret><usage type='ceph'><name>client.py</name></usage></secret>")
    raise SystemExit('conflicting usage accepted')
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR, e.get_error_code()
    assert 'a secret with UUID %s already defined for use with client.py' % U in str(e), str(e)
p = c.secretDefineXML("<secret ephemeral='yes' private='yes'><usage type='ceph'><name>client.private</name></usage></secret>")
p.setValue(b'hidden')
try:
    p.value()
    raise SystemExit('private value returned')
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_INVALID_SECRET, e.get_error_code()
    assert 'secret is private' in str(e), str(e)
assert [x.UUIDString() for x in c.listAllSecrets(libvirt.VIR_CONNECT_LIST_SECRETS_PRIVATE)] == [p.UUIDString()]
p.undefine()
print('defined')
"#;

const PY_UNDEFINE: &str = r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
s = c.secretLookupByUUIDString('6d1a3c52-1f0e-4b7a-9a55-0c2c1c0a7e01')
assert s.value() == b'\x00binary\xffvalue'
s.undefine()
try:
    c.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_CEPH, 'client.py')
    raise SystemExit('still there')
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_NO_SECRET, e.get_error_code()
print('undefined')
"#;

#[test]
fn secrets_on_qemu_system_with_python_and_virsh() {
    let d = SecretDaemon::start();

    // libvirt-python.
    assert!(d.python(&d.qemu_uri(), PY_DEFINE).contains("defined"));
    let xml = d.secret_file(PY_UUID, "xml");
    let b64 = d.secret_file(PY_UUID, "base64");
    assert_eq!((mode(&xml), mode(&b64)), (0o600, 0o600));
    assert_eq!(std::fs::read_to_string(&b64).expect("read base64 file"), "AGJpbmFyef92YWx1ZQ==");
    assert!(std::fs::read_to_string(&xml).expect("read xml file").contains("<name>client.py</name>"));
    // The ephemeral private secret left no file.
    let files = || {
        let mut v: Vec<String> = std::fs::read_dir(d.dir.0.join("secrets"))
            .expect("read secrets dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(files(), vec![format!("{PY_UUID}.base64"), format!("{PY_UUID}.xml")]);

    // Real virsh.
    let file = d.dir.0.join("secret.xml");
    std::fs::write(
        &file,
        format!("<secret ephemeral='no' private='no'><uuid>{SH_UUID}</uuid><usage type='volume'><volume>/var/lib/x.img</volume></usage></secret>"),
    )
    .expect("write secret.xml");
    let out = d.virsh_ok(&format!("secret-define {}", file.display()));
    assert!(out.contains(&format!("Secret {SH_UUID} created")), "{out}");
    let out = d.virsh_ok(&format!("secret-set-value {SH_UUID} --base64 c2VjcmV0AA=="));
    assert!(out.contains("Secret value set"), "{out}");
    assert_eq!(d.virsh_ok(&format!("secret-get-value {SH_UUID}")).trim(), "c2VjcmV0AA==");
    let value_file = d.dir.0.join("value.b64");
    std::fs::write(&value_file, "b3RoZXI=").expect("write value file");
    d.virsh_ok(&format!("secret-set-value {SH_UUID} --file {}", value_file.display()));
    assert_eq!(d.virsh_ok(&format!("secret-get-value {SH_UUID}")).trim(), "b3RoZXI=");
    assert_eq!(std::fs::read_to_string(d.secret_file(SH_UUID, "base64")).expect("read base64"), "b3RoZXI=");
    let list = d.virsh_ok("secret-list");
    assert!(list.contains(&format!("{SH_UUID}   volume /var/lib/x.img")), "{list}");
    assert!(list.contains(&format!("{PY_UUID}   ceph client.py")), "{list}");

    assert!(d.python(&d.qemu_uri(), PY_UNDEFINE).contains("undefined"));
    assert_eq!(files(), vec![format!("{SH_UUID}.base64"), format!("{SH_UUID}.xml")]);
    d.virsh_ok(&format!("secret-undefine {SH_UUID}"));
    assert!(files().is_empty());

    // test:///default has no secret driver (libvirt's test driver takes no shared ones).
    let test_uri = d.uri("test", "/default");
    let out = d.virsh(&test_uri, "secret-list");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // virsh falls back from virConnectListAllSecrets to virConnectNumOfSecrets.
    assert!(err.contains("this function is not supported by the connection driver: virConnectNumOfSecrets"), "{err}");
    d.python(
        &test_uri,
        r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
try:
    c.secretDefineXML("<secret/>")
    raise SystemExit('test driver accepted a secret')
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT, e.get_error_code()
"#,
    );
}

#[test]
fn secrets_survive_a_daemon_restart() {
    let mut d = SecretDaemon::start();
    let file = d.dir.0.join("secret.xml");
    std::fs::write(&file, format!("<secret><uuid>{SH_UUID}</uuid><usage type='tls'><name>tls0</name></usage></secret>"))
        .expect("write secret.xml");
    d.virsh_ok(&format!("secret-define {}", file.display()));
    d.virsh_ok(&format!("secret-set-value {SH_UUID} --base64 AP8A/w=="));
    d.restart();
    assert_eq!(d.virsh_ok(&format!("secret-get-value {SH_UUID}")).trim(), "AP8A/w==");
    assert!(d.virsh_ok("secret-list").contains("tls tls0"));
}
