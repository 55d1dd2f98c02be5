//! Throughput of oxvirt-conf's XML parsers and canonical formatters over libvirt's own
//! test corpora (the conformance corpus under `$OXVIRT_SHARED/conformance/corpus`,
//! default `<workspace>/../shared`).
//!
//! Run with `cargo bench -p oxvirt-conf --bench xml`. Each iteration processes the
//! whole corpus of its kind; divan reports docs/s (items) and bytes/s. Bytes are the
//! input XML for parse and parse+format, the canonical output for format only. Files
//! the parser rejects (libvirt's corpora contain deliberately invalid ones) are left
//! out and counted on stderr before the run.

use divan::counter::{BytesCount, ItemsCount};
use divan::{black_box, Bencher};
use oxvirt_conf::domain::{DomainDef, FormatOptions, ParseOptions};
use oxvirt_conf::network::NetworkDef;
use oxvirt_conf::storage::PoolDef;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn main() {
    let c = corpus();
    let sets = [
        ("domain", c.domains.docs.len(), c.domains.bytes, c.domains.skipped),
        ("network", c.networks.docs.len(), c.networks.bytes, c.networks.skipped),
        ("pool", c.pools.docs.len(), c.pools.bytes, c.pools.skipped),
    ];
    for (name, docs, bytes, skipped) in sets {
        eprintln!("{name}: {docs} documents ({bytes} bytes) parse, {skipped} skipped (rejected by the parser)");
    }
    eprintln!("domain: canonical output of the parsed documents is {} bytes", c.formatted_bytes);
    divan::main();
}

/// One domain input document: its text and the parse options it needs.
struct DomainDoc {
    text: String,
    opts: ParseOptions,
}

/// The documents of one kind that parse.
struct Set<T> {
    docs: Vec<T>,
    bytes: usize,
    skipped: usize,
}

struct Corpus {
    domains: Set<DomainDoc>,
    /// The parsed domains, for the format-only bench.
    parsed: Vec<DomainDef>,
    /// Size of their canonical output.
    formatted_bytes: usize,
    networks: Set<String>,
    pools: Set<String>,
}

fn corpus_root() -> PathBuf {
    let shared = std::env::var_os("OXVIRT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("conformance/corpus")
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let rd = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read corpus directory {} ({e}); set OXVIRT_SHARED to the shared folder", dir.display()));
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "xml")).collect();
    v.sort();
    v
}

fn load<T>(dirs: &[&str], mut make: impl FnMut(&str, String) -> Option<T>) -> Set<T> {
    let root = corpus_root();
    let mut set = Set { docs: Vec::new(), bytes: 0, skipped: 0 };
    for d in dirs {
        for p in xml_files(&root.join(d)) {
            let Ok(text) = std::fs::read_to_string(&p) else {
                set.skipped += 1;
                continue;
            };
            let len = text.len();
            match make(d, text) {
                Some(doc) => {
                    set.bytes += len;
                    set.docs.push(doc);
                }
                None => set.skipped += 1,
            }
        }
    }
    set
}

fn domain_opts(dir: &str) -> ParseOptions {
    // libvirt's qemuxml2argv inputs are read by the QEMU driver; the generic ones not.
    let driver = (dir == "qemuxml2argvdata").then(|| "qemu".to_string());
    ParseOptions { driver, inactive: false }
}

fn format_opts(def: &DomainDef) -> FormatOptions {
    FormatOptions { id: def.id, inactive: false, secure: true }
}

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let domains = load(&["qemuxml2argvdata", "genericxml2xmlindata"], |dir, text| {
            let opts = domain_opts(dir);
            DomainDef::parse(&text, &opts).ok().map(|_| DomainDoc { text, opts })
        });
        let parsed: Vec<DomainDef> = domains.docs.iter().filter_map(|d| DomainDef::parse(&d.text, &d.opts).ok()).collect();
        let formatted_bytes = parsed.iter().map(|d| d.format(&format_opts(d)).len()).sum();
        let networks = load(&["networkxml2xmlin"], |_, text| NetworkDef::parse(&text).ok().map(|_| text));
        let pools = load(&["storagepoolxml2xmlin"], |_, text| PoolDef::parse(&text).ok().map(|_| text));
        Corpus { domains, parsed, formatted_bytes, networks, pools }
    })
}

/// Domain XML → `DomainDef`.
#[divan::bench(sample_count = 30)]
fn domain_parse(b: Bencher) {
    let c = corpus();
    b.counter(BytesCount::new(c.domains.bytes)).counter(ItemsCount::new(c.domains.docs.len())).bench(|| {
        for d in &c.domains.docs {
            black_box(DomainDef::parse(black_box(&d.text), &d.opts).ok());
        }
    });
}

/// `DomainDef` → canonical XML text.
#[divan::bench(sample_count = 30)]
fn domain_format(b: Bencher) {
    let c = corpus();
    b.counter(BytesCount::new(c.formatted_bytes)).counter(ItemsCount::new(c.parsed.len())).bench(|| {
        for d in &c.parsed {
            black_box(black_box(d).format(&format_opts(d)));
        }
    });
}

/// Domain XML → `DomainDef` → canonical XML (what `xml format --kind domain` does).
#[divan::bench(sample_count = 30)]
fn domain_parse_format(b: Bencher) {
    let c = corpus();
    b.counter(BytesCount::new(c.domains.bytes)).counter(ItemsCount::new(c.domains.docs.len())).bench(|| {
        for d in &c.domains.docs {
            if let Ok(def) = DomainDef::parse(black_box(&d.text), &d.opts) {
                black_box(def.format(&format_opts(&def)));
            }
        }
    });
}

/// Network XML → `NetworkDef` → canonical XML.
#[divan::bench]
fn network_parse_format(b: Bencher) {
    let c = corpus();
    b.counter(BytesCount::new(c.networks.bytes)).counter(ItemsCount::new(c.networks.docs.len())).bench(|| {
        for t in &c.networks.docs {
            if let Ok(def) = NetworkDef::parse(black_box(t)) {
                black_box(def.format());
            }
        }
    });
}

/// Storage pool XML → `PoolDef` → canonical XML.
#[divan::bench]
fn pool_parse_format(b: Bencher) {
    let c = corpus();
    b.counter(BytesCount::new(c.pools.bytes)).counter(ItemsCount::new(c.pools.docs.len())).bench(|| {
        for t in &c.pools.docs {
            if let Ok(def) = PoolDef::parse(black_box(t)) {
                black_box(def.format());
            }
        }
    });
}
