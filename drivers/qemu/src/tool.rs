//! Offline entry points behind `oxvirsh qemu ...` (the corpus's `qemu argv`,
//! `qemu caps-from-replies`, `qemu host-capabilities` families) and
//! `oxvirsh xml format --driver qemu`.

use crate::error::{QemuError, Result};
use crate::postparse::{post_parse, Setup};
use oxvirt_conf::domain::{DomainDef, FormatOptions, ParseOptions};

/// Run `oxvirsh qemu <args>`; returns the text to print.
pub fn run(args: &[String]) -> Result<String> {
    match args.first().map(String::as_str) {
        Some("argv") => argv(&args[1..]),
        Some("caps-from-replies") => caps_tool::caps_from_replies(&args[1..]),
        Some("host-capabilities") => caps_tool::host_capabilities(&args[1..]),
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
    post_parse(&mut def, &mut setup.caps, fake)?;
    Ok((def, setup))
}

/// `qemu argv [OPTIONS] FILE`: the QEMU command line of a domain, in the layout of
/// libvirt's `.args` test files.
pub fn argv(args: &[String]) -> Result<String> {
    let (def, setup) = load(args)?;
    crate::command::build(&def, &setup, &crate::command::RunPaths::test_suite(&def)).map(|c| c.to_args_file())
}

/// `xml format --kind domain --driver qemu [OPTIONS] FILE`: the definition as the QEMU
/// driver stores it.
pub fn xml_format(args: &[String]) -> Result<String> {
    let (def, setup) = load(args)?;
    let fopts = FormatOptions { id: def.id, inactive: setup.inactive, secure: true };
    Ok(def.format(&fopts))
}

/// `caps-from-replies` and `host-capabilities`.
mod caps_tool {
    use crate::caps::{host, probe, replies, QemuCaps};
    use crate::error::{QemuError, Result};

    struct Opts {
        arch: Option<String>,
        binary: Option<String>,
        file: String,
    }

    fn opts(args: &[String], usage: &str) -> Result<Opts> {
        let (mut arch, mut binary, mut file) = (None, None, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--arch" => arch = it.next().cloned(),
                "--binary" => binary = it.next().cloned(),
                "--testsuite" => {}
                f if !f.starts_with("--") => file = Some(f.to_string()),
                other => return Err(QemuError::Unsupported(format!("unknown option '{other}'; usage: {usage}"))),
            }
        }
        let file = file.ok_or_else(|| QemuError::Unsupported(format!("usage: {usage}")))?;
        Ok(Opts { arch, binary, file })
    }

    fn read(path: &str) -> Result<String> {
        std::fs::read_to_string(path).map_err(|source| QemuError::Io { path: path.to_string(), source })
    }

    /// `caps_VERSION.ARCH.EXT` → (VERSION, ARCH).
    fn name_parts(path: &str) -> Option<(String, String)> {
        let base = std::path::Path::new(path).file_stem()?.to_str()?;
        let rest = base.strip_prefix("caps_")?;
        let (version, arch) = rest.rsplit_once('.')?;
        Some((version.to_string(), arch.to_string()))
    }

    pub fn caps_from_replies(args: &[String]) -> Result<String> {
        let o = opts(args, "qemu caps-from-replies [--arch A] [--binary B] [--testsuite] FILE.replies")?;
        let parts = name_parts(&o.file);
        let arch = o.arch.or_else(|| parts.as_ref().map(|p| p.1.clone())).unwrap_or_default();
        let binary = o.binary.unwrap_or_else(|| format!("/usr/bin/qemu-system-{arch}"));
        let mut mon = replies::Replay::new(replies::parse(&read(&o.file)?)?);
        let mut caps = QemuCaps { emulator: binary, ..Default::default() };
        probe::execute(&mut mon, "qmp_capabilities", None)?.ret()?;
        probe::probe_main(&mut caps, &mut mon)?;
        if caps.has("kvm") {
            probe::execute(&mut mon, "qmp_capabilities", None)?.ret()?;
            probe::probe_tcg(&mut caps, &mut mon)?;
            // The test suite's label for the transcript: from its name when it has
            // libvirt's, else from the QEMU version it records.
            let version = parts.map(|p| p.0).unwrap_or_else(|| replies::release_label(caps.version));
            caps.microcode_version = replies::fake_microcode_version(&arch, &version);
        }
        Ok(caps.format())
    }

    pub fn host_capabilities(args: &[String]) -> Result<String> {
        let o = opts(args, "qemu host-capabilities [--arch A] [--testsuite] CAPS.xml")?;
        let full = QemuCaps::parse(&read(&o.file)?)?;
        let arch = o.arch.or_else(|| name_parts(&o.file).map(|p| p.1)).unwrap_or_else(|| full.arch.clone());
        // libvirt's qemucaps2xml test keeps only the flags of the cache document.
        let caps = QemuCaps { flags: full.flags, ..Default::default() };
        Ok(host::test_host_capabilities(&caps, &arch).format())
    }
}
