//! `oxvirsh`: the virsh-compatible CLI.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("xml") {
        match oxvirt_conf::tool::run(&args[1..]) {
            Ok(out) => print!("{out}"),
            Err(e) => {
                eprintln!("error: {}", e.into_vir(oxvirt_util::ErrorDomain::Xml));
                std::process::exit(1);
            }
        }
    }
}
