//! Stand-alone build of `oxvirsh xml ...` for fast iteration on the conf crate:
//! `cargo run -p oxvirt-conf --example xmltool -- xml format --kind network FILE`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match args.first().map(String::as_str) {
        Some("xml") => &args[1..],
        _ => &args[..],
    };
    match oxvirt_conf::tool::run(args) {
        Ok(out) => print!("{out}"),
        Err(e) => {
            eprintln!("error: {}", e.into_vir(oxvirt_util::ErrorDomain::Xml));
            std::process::exit(1);
        }
    }
}
