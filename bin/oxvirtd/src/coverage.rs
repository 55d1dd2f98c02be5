//! `docs/rpc-coverage.md`: for every REMOTE procedure, whether oxvirtd serves it, which
//! drivers implement it, and which tests name it — computed from the code by the test
//! below, never written by hand.
//!
//! How each column is found:
//!
//! * **served** — `dispatch`: [`dispatch_call`] answers it (`Some`) on a `test:///`
//!   connection, with an empty payload; `daemon`: otherwise, the server itself
//!   ([`session::handle_call`] on an opened client, with an all-zero payload) answers
//!   something else than "unknown procedure"; `no`: neither (clients get
//!   `VIR_ERR_RPC` "unknown procedure: N" and fall back as from `VIR_ERR_NO_SUPPORT`).
//!   Events are `sent` when `events.rs` builds that message, else `not sent`.
//! * **test driver** — a served `dispatch` call, made with an all-zero payload on a
//!   private copy of the default test node, does not fail with `VIR_ERR_NO_SUPPORT`
//!   (the driver traits' default): the test driver implements the method.
//! * **remote driver** — `drivers/remote/src` names the procedure: the client side
//!   sends (or, for events, receives) it.
//! * **tests** — test sources that name the procedure (`REMOTE_PROC_*` or
//!   `RemoteProcedure::Variant`/`P::Variant`) or list it in a `// covers:` marker;
//!   every unserved procedure is covered by `daemon/admin.rs`, which sends each one
//!   to a running oxvirtd and waits for its error reply.
//!
//! `OXVIRT_REGENERATE=1 cargo test -p oxvirtd coverage` rewrites the file; otherwise
//! the test fails when the committed file is stale.

use crate::dispatch::dispatch_call;
use crate::server::{Server, SocketKind};
use crate::session::{self, Client};
use oxvirt::{Connect, ErrorCode};
use oxvirt_rpc::message::{Header, REMOTE_PROGRAM};
use oxvirt_rpc::proto::remote::RemoteError;
use oxvirt_rpc::proto::remote::{RemoteConnectOpenArgs, RemoteProcedure, PROCEDURES, PROGRAM};
use oxvirt_rpc::proto::ProcKind;
use oxvirt_rpc::{Decode, Encode, FrameDecoder, MessageStatus, Packet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How the daemon answers a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Dispatch,
    Daemon,
    No,
    EventSent,
    EventNotSent,
}

impl Served {
    fn text(self) -> &'static str {
        match self {
            Served::Dispatch => "dispatch",
            Served::Daemon => "daemon",
            Served::No => "**no**",
            Served::EventSent => "event, sent",
            Served::EventNotSent => "event, not sent",
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn test_node_uri() -> String {
    format!("test://{}/drivers/test/src/data/default_node.xml", root().display())
}

/// Enough zero bytes to decode as any argument struct with empty strings and arrays.
const ZEROS: [u8; 4096] = [0; 4096];

fn variant(p: RemoteProcedure) -> String {
    format!("{p:?}")
}

/// Whether `text` names `word` as a whole identifier after `::`.
fn names(text: &str, word: &str) -> bool {
    let pat = format!("::{word}");
    text.match_indices(&pat).any(|(i, _)| !text[i + pat.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// (path relative to the workspace, text) of every file under `dirs`.
fn sources(dirs: &[&str]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for d in dirs {
        rust_files(&root().join(d), &mut files);
    }
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let rel = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            Some((rel.trim_start_matches("./").to_string(), text))
        })
        .collect()
}

/// Whether a test file covers `name` (`REMOTE_PROC_X`) of `variant`.
fn covers(text: &str, name: &str, variant: &str) -> bool {
    let short = name.trim_start_matches("REMOTE_PROC_");
    text.contains(name)
        || names(text, variant)
        || text.lines().filter_map(|l| l.trim().strip_prefix("// covers:")).any(|l| l.split([',', ' ']).any(|w| w == short || w == name))
}

/// Run `f` on a helper thread; a call that does not come back within 10 s is a bug.
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("{what} did not answer within 10 s"))
}

/// The server's answer to `proc` on a fresh, opened client: `None` for "unknown
/// procedure".
fn server_answers(proc: i32) -> bool {
    let server = Server::new(crate::config::Config::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = Arc::new(Client::new(SocketKind::ReadWrite, tx));
    let call = |procedure: i32, payload: Vec<u8>| {
        let info = PROGRAM.procedures.iter().find(|i| i.number == procedure).expect("procedure in the table");
        let p = Packet { header: Header::call(REMOTE_PROGRAM, procedure, 1), nfds: 0, payload };
        session::handle_call(&server, &client, &PROGRAM, info, &p, Vec::new());
    };
    let open = RemoteConnectOpenArgs { name: Some(test_node_uri()), flags: 0 }.to_bytes().expect("encode");
    call(RemoteProcedure::ConnectOpen as i32, open);
    let _ = rx.try_recv();
    call(proc, ZEROS.to_vec());
    let mut dec = FrameDecoder::new();
    let mut unknown = false;
    while let Ok(bytes) = rx.try_recv() {
        dec.push(&bytes);
        while let Ok(Some(pkt)) = dec.next_packet() {
            if pkt.header.serial == 1 && pkt.header.status == MessageStatus::ERROR {
                let e = RemoteError::from_bytes(&pkt.payload).expect("remote_error");
                unknown |= e.message.as_deref() == Some(&format!("unknown procedure: {proc}"));
            }
        }
    }
    client.teardown();
    !unknown
}

struct Row {
    number: i32,
    name: &'static str,
    served: Served,
    test_driver: Option<bool>,
    remote: bool,
    tests: Vec<String>,
}

fn rows() -> Vec<Row> {
    oxvirt_driver_test::register();
    let probe = Connect::open(Some(&test_node_uri())).expect("open the test node");
    let events_rs = include_str!("events.rs");
    let remote_src = sources(&["drivers/remote/src"]);
    let tests = sources(&["tests/tests", "bin/oxvirtd/src/dispatch/tests", "drivers/remote/tests"]);
    let mut out = Vec::new();
    for info in PROCEDURES.iter() {
        let Some(rp) = RemoteProcedure::from_number(info.number) else { continue };
        let var = variant(rp);
        let served = match info.kind {
            ProcKind::Event if names(events_rs, &var) => Served::EventSent,
            ProcKind::Event => Served::EventNotSent,
            ProcKind::Call if dispatch_call(rp, &[], &probe).is_some() => Served::Dispatch,
            ProcKind::Call if bounded(info.name, move || server_answers(info.number)) => Served::Daemon,
            ProcKind::Call => Served::No,
        };
        let test_driver = (served == Served::Dispatch).then(|| {
            let uri = test_node_uri();
            bounded(info.name, move || {
                let conn = Connect::open(Some(&uri)).expect("open the test node");
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch_call(rp, &ZEROS, &conn)));
                !matches!(r, Ok(Some(Err(ref e))) if e.code == ErrorCode::NoSupport)
            })
        });
        let remote = remote_src.iter().any(|(_, t)| names(t, &var));
        let mut covered: Vec<String> = tests.iter().filter(|(_, t)| covers(t, info.name, &var)).map(|(p, _)| p.clone()).collect();
        if served == Served::No {
            covered.push("tests/tests/daemon/admin.rs (error reply)".to_string());
        }
        out.push(Row { number: info.number, name: info.name, served, test_driver, remote, tests: covered });
    }
    out
}

fn markdown(rows: &[Row]) -> String {
    let count = |s: Served| rows.iter().filter(|r| r.served == s).count();
    let calls = rows.iter().filter(|r| !matches!(r.served, Served::EventSent | Served::EventNotSent)).count();
    let tested = rows.iter().filter(|r| r.served != Served::No && !r.tests.is_empty()).count();
    let mut s = String::new();
    s.push_str("# REMOTE procedure coverage\n\n");
    s.push_str("<!-- @generated by bin/oxvirtd/src/coverage.rs: OXVIRT_REGENERATE=1 cargo test -p oxvirtd coverage -->\n\n");
    s.push_str(
        "Every procedure of libvirt 9.0's REMOTE program, computed from the code (see\n\
         `bin/oxvirtd/src/coverage.rs` for how each column is found). **served**: `dispatch` —\n\
         through the public API (`bin/oxvirtd/src/dispatch/`); `daemon` — by the server itself\n\
         (`session.rs`, `events.rs`); **no** — answered `VIR_ERR_RPC` \"unknown procedure: N\"\n\
         at once, which libvirt clients treat as `VIR_ERR_NO_SUPPORT`. **test driver**: the\n\
         test driver implements the API behind it (`yes`/`no`; `—` for daemon calls).\n\
         **remote driver**: our client side uses it. The QEMU driver (`drivers/qemu`) implements\n\
         no API yet. **tests**: test files that name the procedure.\n\n",
    );
    s.push_str(&format!(
        "Summary: {calls} calls — {} dispatched, {} by the daemon, {} unserved; {} of the served calls named by a test; \
         {} event messages, {} sent.\n\n",
        count(Served::Dispatch),
        count(Served::Daemon),
        count(Served::No),
        tested,
        count(Served::EventSent) + count(Served::EventNotSent),
        count(Served::EventSent),
    ));
    s.push_str("| # | procedure | served | test driver | remote driver | tests |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let td = match r.test_driver {
            Some(true) => "yes",
            Some(false) => "no",
            None => "—",
        };
        let tests = if r.tests.is_empty() { "—".to_string() } else { r.tests.join("<br>") };
        s.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            r.number,
            r.name.trim_start_matches("REMOTE_PROC_"),
            r.served.text(),
            td,
            if r.remote { "yes" } else { "no" },
            tests
        ));
    }
    s
}

#[test]
fn rpc_coverage_doc_is_fresh() {
    let text = markdown(&rows());
    let path = root().join("docs/rpc-coverage.md");
    if std::env::var_os("OXVIRT_REGENERATE").is_some() {
        std::fs::write(&path, &text).expect("write docs/rpc-coverage.md");
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(old == text, "docs/rpc-coverage.md is stale: run `OXVIRT_REGENERATE=1 cargo test -p oxvirtd coverage` and commit it");
}

#[test]
fn names_matches_whole_identifiers() {
    assert!(names("P::DomainGetInfo,", "DomainGetInfo"));
    assert!(!names("P::DomainGetInfoX", "DomainGetInfo"));
    assert!(covers("// covers: DOMAIN_GET_INFO, NODE_GET_INFO", "REMOTE_PROC_NODE_GET_INFO", "NodeGetInfo"));
}
