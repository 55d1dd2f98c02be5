//! Data streams through oxvirtd: volume upload and download with real libvirt-python
//! (plain and sparse), real `virsh vol-upload`/`vol-download`, oxvirsh through the
//! remote driver, and clients that vanish in the middle of a stream.

use super::harness::{client_cmd, virsh, Daemon, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PYTHON: &str = "/usr/bin/python3";

/// The `oxvirsh` binary, built once per test run (`OXVIRSH` overrides).
pub(super) fn oxvirsh_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("OXVIRSH") {
            return PathBuf::from(p);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status =
            Command::new(cargo).args(["build", "-q", "-p", "oxvirsh"]).current_dir(&root).status().expect("cargo build -p oxvirsh runs");
        assert!(status.success(), "building oxvirsh failed");
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
        target.join("debug").join("oxvirsh")
    })
    .clone()
}

fn python(d: &Daemon, script: &str) -> std::process::Output {
    let home = TempDir::new("py-home");
    client_cmd(PYTHON, &home.0).arg("-c").arg(script).arg(d.uri()).output().expect("python runs")
}

fn run_python(d: &Daemon, script: &str) -> String {
    let out = python(d, script);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "script failed:\nstdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Upload 1 MiB of random bytes, download it, compare; then offset/length and errors.
#[test]
fn python_upload_download_round_trip() {
    let d = Daemon::start("st-py");
    let out = run_python(
        &d,
        r#"
import sys, os, libvirt
c = libvirt.open(sys.argv[1])
p = c.storagePoolLookupByName("default-pool")
v = p.createXML("<volume><name>up.img</name><capacity>1048576</capacity></volume>", 0)
data = os.urandom(1 << 20)
st = c.newStream(0)
v.upload(st, 0, 0, 0)
off = 0
while off < len(data):
    off += st.send(data[off:off + 100000])
st.finish()

def download(offset, length, flags=0):
    st = c.newStream(0)
    v.download(st, offset, length, flags)
    got = bytearray()
    while True:
        b = st.recv(262144)
        if not b:
            break
        got += b
    st.finish()
    return bytes(got)

assert download(0, 0) == data
assert download(4096, 10) == data[4096:4106]
assert download(len(data) - 5, 0) == data[-5:]
# A partial upload at an offset.
st = c.newStream(0)
v.upload(st, 10, 3, 0)
st.send(b"xyz")
st.finish()
assert download(8, 6) == data[8:10] + b"xyz" + data[13:14]
# More than the requested length fails the stream with the server's error.
st = c.newStream(0)
v.upload(st, 0, 2, 0)
try:
    st.send(b"abcd")
    st.finish()
    raise SystemExit("overlong upload succeeded")
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED, (e.get_error_code(), str(e))
# An aborted download.
st = c.newStream(0)
v.download(st, 0, 0, 0)
assert len(st.recv(1000)) == 1000
st.abort()
# The opening call fails on a volume that is gone: no stream exists, the
# connection goes on.
v2 = p.createXML("<volume><name>gone.img</name><capacity>4096</capacity></volume>", 0)
v2.delete(0)
try:
    v2.download(c.newStream(0), 0, 0, 0)
    raise SystemExit("download of a deleted volume succeeded")
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL, e.get_error_code()
assert download(0, 3) == data[:3]
print("ok")
"#,
    );
    assert_eq!(out.trim(), "ok");
}

/// Sparse streams: `sparseSendAll` with holes, `sparseRecvAll` receiving holes.
#[test]
fn python_sparse_round_trip() {
    let d = Daemon::start("st-sparse");
    let out = run_python(
        &d,
        r#"
import sys, os, libvirt
c = libvirt.open(sys.argv[1])
p = c.storagePoolLookupByName("default-pool")
size = 1 << 20
v = p.createXML("<volume><name>sp.img</name><capacity>%d</capacity></volume>" % size, 0)
# data 64 KiB, hole 512 KiB, data 64 KiB, hole to the end
layout = [(True, 65536), (False, 524288), (True, 65536), (False, size - 655360)]
chunks = [os.urandom(n) if d else bytes(n) for d, n in layout]
want = b"".join(chunks)
state = {"pos": 0}

def section(pos):
    start = 0
    for (d, n) in layout:
        if pos < start + n:
            return d, start + n - pos
        start += n
    return False, 0

def handler(st, nbytes, opaque):
    d, left = section(state["pos"])
    n = min(nbytes, left)
    b = want[state["pos"]:state["pos"] + n]
    state["pos"] += n
    return b

def hole_handler(st, opaque):
    d, left = section(state["pos"])
    return [1 if d else 0, left]

def skip_handler(st, length, opaque):
    state["pos"] += length
    return 0

st = c.newStream(0)
v.upload(st, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
st.sparseSendAll(handler, hole_handler, skip_handler, None)
st.finish()

got = bytearray()
holes = []
def recv_handler(st, buf, opaque):
    got.extend(buf)
    return len(buf)
def recv_hole(st, length, opaque):
    holes.append(length)
    got.extend(bytes(length))
    return 0
st = c.newStream(0)
v.download(st, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
st.sparseRecvAll(recv_handler, recv_hole, None)
st.finish()
assert bytes(got) == want, len(got)
assert holes == [524288, size - 655360], holes
# The same volume downloaded without the flag: all data, no holes.
st = c.newStream(0)
v.download(st, 0, 0, 0)
plain = bytearray()
while True:
    b = st.recv(262144)
    if not b:
        break
    plain += b
st.finish()
assert bytes(plain) == want
print("ok", len(holes))
"#,
    );
    assert_eq!(out.trim(), "ok 2");
}

/// Real `virsh vol-upload` / `vol-download` (plain and `--sparse`), in one virsh
/// process so that `test:///default` keeps the volume between the commands.
#[test]
fn virsh_vol_upload_download() {
    let d = Daemon::start("st-virsh");
    let home = TempDir::new("virsh-home");
    let scratch = TempDir::new("st-files");
    let src = scratch.0.join("src.img");
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&src, &data).expect("write source");
    // A sparse source: data, a 256 KiB hole, data.
    let sparse = scratch.0.join("sparse.img");
    let mut sdata = vec![0u8; 1 << 20];
    sdata[..4096].copy_from_slice(&data[..4096]);
    sdata[(1 << 20) - 4096..].copy_from_slice(&data[..4096]);
    std::fs::write(&sparse, &sdata).expect("write sparse source");
    let (out1, out2) = (scratch.0.join("out1.img"), scratch.0.join("out2.img"));
    let line = format!(
        "vol-create-as default-pool v.img 1M; vol-upload v.img {} --pool default-pool; vol-download v.img {} --pool default-pool; \
         vol-upload v.img {} --pool default-pool --sparse; vol-download v.img {} --pool default-pool --sparse",
        src.display(),
        out1.display(),
        sparse.display(),
        out2.display()
    );
    let out = virsh(&d.uri(), &line, &home.0);
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read(&out1).expect("downloaded file") == data, "plain round trip differs");
    assert!(std::fs::read(&out2).expect("downloaded sparse file") == sdata, "sparse round trip differs");
}

/// oxvirsh through the remote driver (`test+unix://`), the same round trip.
#[test]
fn oxvirsh_vol_upload_download() {
    let d = Daemon::start("st-oxvirsh");
    let home = TempDir::new("oxvirsh-home");
    let scratch = TempDir::new("st-oxfiles");
    let src = scratch.0.join("src.img");
    let mut data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8).collect();
    data[100_000..400_000].fill(0);
    std::fs::write(&src, &data).expect("write source");
    let (out1, out2) = (scratch.0.join("out1.img"), scratch.0.join("out2.img"));
    let line = format!(
        "vol-create-as default-pool o.img 1M; vol-upload o.img {} --pool default-pool; vol-download o.img {} --pool default-pool; \
         vol-upload --sparse o.img {} --pool default-pool; vol-download --sparse o.img {} --pool default-pool",
        src.display(),
        out1.display(),
        src.display(),
        out2.display()
    );
    let bin = oxvirsh_bin();
    let out = client_cmd(&bin.display().to_string(), &home.0).args(["-c", &d.uri(), &line]).output().expect("oxvirsh runs");
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read(&out1).expect("downloaded file") == data, "plain round trip differs");
    assert!(std::fs::read(&out2).expect("downloaded sparse file") == data, "sparse round trip differs");
}

/// Clients that exit in the middle of an upload or a download leave the daemon
/// serving, and the volume usable.
#[test]
fn client_vanishing_mid_stream() {
    let mut d = Daemon::start("st-vanish");
    for script in [
        // Upload: half the data, then exit without finish or abort.
        r#"
import sys, os, libvirt
c = libvirt.open(sys.argv[1])
v = c.storagePoolLookupByName("default-pool").createXML("<volume><name>gone.img</name><capacity>4194304</capacity></volume>", 0)
st = c.newStream(0)
v.upload(st, 0, 0, 0)
for i in range(8):
    st.send(os.urandom(262144))
os._exit(0)
"#,
        // Download: one chunk of 4 MiB, then exit.
        r#"
import sys, os, libvirt
c = libvirt.open(sys.argv[1])
v = c.storagePoolLookupByName("default-pool").createXML("<volume><name>gone.img</name><capacity>4194304</capacity></volume>", 0)
st = c.newStream(0)
v.download(st, 0, 0, 0)
st.recv(1000)
os._exit(0)
"#,
    ] {
        let out = python(&d, script);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(d.alive(), "daemon died after a client vanished mid-stream");
    }
    let out = run_python(
        &d,
        r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
v = c.storagePoolLookupByName("default-pool").createXML("<volume><name>after.img</name><capacity>8192</capacity></volume>", 0)
st = c.newStream(0)
v.upload(st, 0, 0, 0)
st.send(b"still serving")
st.finish()
st = c.newStream(0)
v.download(st, 0, 13, 0)
assert st.recv(100) == b"still serving"
assert st.recv(100) == b""
st.finish()
print("ok")
"#,
    );
    assert_eq!(out.trim(), "ok");
    assert!(d.alive());
}
