//! Test-driver scaling: define, list and look up with up to 10,000 domains.
//!
//! `cargo bench -p oxvirt-driver-test --bench domains`. Listing should grow linearly
//! with the number of domains; lookup by name or UUID should stay flat (hash indexes).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use oxvirt::{Connect, DomainDefineFlags, ListDomainsFlags};

fn main() {
    oxvirt_driver_test::register();
    divan::main();
}

/// A private, empty test:/// state (a node file with no objects).
fn empty_conn() -> Connect {
    let path = std::env::temp_dir().join(format!("oxvirt-bench-node-{}.xml", std::process::id()));
    std::fs::write(&path, "<node>\n</node>\n").expect("write node file");
    let uri = format!("test://{}", path.display());
    Connect::open(Some(&uri)).expect("open empty node")
}

fn domain_xml(i: usize) -> String {
    format!("<domain type='test'><name>bench{i}</name><memory unit='KiB'>1024</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>")
}

fn populated(n: usize) -> (Connect, Vec<String>, Vec<[u8; 16]>) {
    let conn = empty_conn();
    let mut names = Vec::with_capacity(n);
    let mut uuids = Vec::with_capacity(n);
    for i in 0..n {
        let d = conn.domain_define_xml(&domain_xml(i), DomainDefineFlags::empty()).expect("define");
        names.push(d.name().to_string());
        uuids.push(d.uuid());
    }
    (conn, names, uuids)
}

const SIZES: &[usize] = &[100, 1_000, 10_000];

/// Define N domains into an empty state (XML parse + insert + indexes).
#[divan::bench(args = SIZES, sample_count = 10)]
fn define(bencher: divan::Bencher, n: usize) {
    let xmls: Vec<String> = (0..n).map(domain_xml).collect();
    bencher.with_inputs(empty_conn).counter(divan::counter::ItemsCount::new(n)).bench_values(|conn| {
        for x in &xmls {
            conn.domain_define_xml(x, DomainDefineFlags::empty()).expect("define");
        }
        conn
    });
}

/// `virConnectListAllDomains` over N domains.
#[divan::bench(args = SIZES, sample_count = 30)]
fn list_all(bencher: divan::Bencher, n: usize) {
    let (conn, _, _) = populated(n);
    bencher.counter(divan::counter::ItemsCount::new(n)).bench(|| conn.list_all_domains(ListDomainsFlags::empty()).expect("list").len());
}

/// One lookup by name among N domains.
#[divan::bench(args = SIZES)]
fn lookup_by_name(bencher: divan::Bencher, n: usize) {
    let (conn, names, _) = populated(n);
    let mut i = 0usize;
    bencher.bench_local(|| {
        i = (i + 7919) % names.len();
        conn.domain_lookup_by_name(&names[i]).expect("lookup")
    });
}

/// One lookup by UUID among N domains.
#[divan::bench(args = SIZES)]
fn lookup_by_uuid(bencher: divan::Bencher, n: usize) {
    let (conn, _, uuids) = populated(n);
    let mut i = 0usize;
    bencher.bench_local(|| {
        i = (i + 7919) % uuids.len();
        conn.domain_lookup_by_uuid(&uuids[i]).expect("lookup")
    });
}

/// The same name looked up repeatedly among N domains (cache-hot): separates the
/// algorithm's cost from the memory hierarchy's in `lookup_by_name`.
#[divan::bench(args = SIZES)]
fn lookup_same_name(bencher: divan::Bencher, n: usize) {
    let (conn, names, _) = populated(n);
    let name = &names[n / 2];
    bencher.bench_local(|| conn.domain_lookup_by_name(name).expect("lookup"));
}
