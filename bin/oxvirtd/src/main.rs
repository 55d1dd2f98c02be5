//! `oxvirtd`: the daemon (served over libvirt's wire protocol by the daemon issue).

fn main() {
    eprintln!("oxvirtd: the RPC daemon is not implemented yet (see the daemon issue)");
    std::process::exit(1);
}
