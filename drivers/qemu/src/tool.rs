//! Offline entry points behind `oxvirsh qemu ...` (the corpus's `qemu argv`,
//! `qemu caps-from-replies`, `qemu host-capabilities` families) and
//! `oxvirsh xml format --driver qemu`.

use crate::error::{QemuError, Result};
use crate::postparse::{post_parse, PostParseOptions, Setup};
use oxvirt_conf::domain::{DomainDef, FormatOptions, ParseOptions};

/// Run `oxvirsh qemu <args>`; returns the text to print.
pub fn run(args: &[String]) -> Result<String> {
    match args.first().map(String::as_str) {
        Some("argv") => argv(&args[1..]),
        Some(other) => Err(QemuError::Unsupported(format!("qemu {other}: not implemented yet"))),
        None => Err(QemuError::Unsupported("usage: qemu argv|caps-from-replies|host-capabilities [OPTIONS] FILE".into())),
    }
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| QemuError::Io { path: path.to_string(), source })
}

/// Parse a domain file with the QEMU driver's rules applied.
fn load(args: &[String]) -> Result<(DomainDef, Setup)> {
    let (mut setup, file) = Setup::from_args(args)?;
    let text = read(&file)?;
    let popts = ParseOptions { driver: Some("qemu".into()), inactive: setup.inactive };
    let mut def = DomainDef::parse_without_implicit(&text, &popts)?;
    let fake = setup.fake;
    post_parse(&mut def, &mut setup.caps, fake, &PostParseOptions { inactive: setup.inactive, cpu_types: setup.cpu_types.clone() })?;
    Ok((def, setup))
}

/// `qemu argv [OPTIONS] FILE`: the QEMU command line of a domain, in the layout of
/// libvirt's `.args` test files.
pub fn argv(args: &[String]) -> Result<String> {
    let (def, setup) = load(args)?;
    crate::command::build(&def, &setup).map(|c| c.to_args_file())
}

/// `xml format --kind domain --driver qemu [OPTIONS] FILE`: the definition as the QEMU
/// driver stores it.
pub fn xml_format(args: &[String]) -> Result<String> {
    let (def, setup) = load(args)?;
    let fopts = FormatOptions { id: def.id, inactive: setup.inactive, secure: true };
    Ok(def.format(&fopts))
}
