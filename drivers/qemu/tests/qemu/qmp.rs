//! The live prober end to end: the QMP client against a fake QEMU that replays a whole
//! libvirt transcript over a unix socket, probed by the same code as the replay tool.

use oxvirt_driver_qemu::caps::{probe, replies, QemuCaps};
use oxvirt_driver_qemu::qmp::Qmp;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::time::Duration;

#[test]
fn live_probe_over_qmp_matches_the_cache_document() {
    let Some(root) = super::caps::corpus() else { return };
    let data = root.join("qemucapabilitiesdata");
    let text = std::fs::read_to_string(data.join("caps_8.0.0.x86_64.replies")).unwrap();
    let exchanges = replies::parse(&text).unwrap();
    let dir = std::env::temp_dir().join(format!("oxvirt-qmp-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("qmp.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        writeln!(s, r#"{{"QMP": {{"version": {{}}, "capabilities": []}}}}"#).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        for ex in exchanges {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 {
                return;
            }
            let cmd: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(cmd["execute"], ex.request["execute"]);
            // One line per message, QEMU's key order kept, the client's id.
            let id = format!("\"{}\"", ex.request["id"].as_str().unwrap());
            let reply = ex.reply.replace('\n', " ").replace(&id, &cmd["id"].to_string());
            writeln!(s, "{reply}").unwrap();
        }
    });
    let mut qmp = Qmp::connect(&sock, Duration::from_secs(10), Box::new(|_| {})).unwrap();
    let mut caps = QemuCaps { emulator: "/usr/bin/qemu-system-x86_64".into(), ..Default::default() };
    probe::probe_main(&mut caps, &mut qmp).unwrap();
    qmp.execute("qmp_capabilities", None).unwrap();
    probe::probe_tcg(&mut caps, &mut qmp).unwrap();
    caps.microcode_version = replies::fake_microcode_version("x86_64", "8.0.0");
    drop(qmp);
    server.join().unwrap();
    let want = std::fs::read_to_string(data.join("caps_8.0.0.x86_64.xml")).unwrap();
    assert_eq!(caps.format(), want);
    std::fs::remove_dir_all(&dir).unwrap();
}
