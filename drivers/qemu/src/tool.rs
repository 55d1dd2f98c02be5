//! Offline entry points behind `oxvirsh qemu ...` (the corpus's `qemu argv`,
//! `qemu caps-from-replies`, `qemu host-capabilities` families) and
//! `oxvirsh xml format --driver qemu`, and the offline `oxvirsh domcapabilities
//! --qemu-caps FILE ...` / `--testsuite --preset NAME` (the corpus's `domcapabilities`
//! family).

use crate::error::{QemuError, Result};
use crate::postparse::{post_parse, Setup};
use oxvirt_conf::domain::{DomainDef, FormatOptions, ParseOptions};

/// Run `oxvirsh qemu <args>`; returns the text to print.
pub fn run(args: &[String]) -> Result<String> {
    match args.first().map(String::as_str) {
        Some("argv") => argv(&args[1..]),
        Some("caps-from-replies") => caps_tool::caps_from_replies(&args[1..]),
        Some("host-capabilities") => caps_tool::host_capabilities(&args[1..]),
        Some("domcapabilities") => domcapabilities(&args[1..]),
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

/// Whether `domcapabilities <args>` is the offline form (it names a capabilities file
/// or the test suite) rather than a call on a connection.
pub fn is_offline_domcapabilities(args: &[String]) -> bool {
    args.iter().any(|a| a == "--qemu-caps" || a == "--testsuite")
}

/// `domcapabilities --qemu-caps FILE --arch A --virttype T --emulator PATH [--machine M]
/// [--testsuite] [--firmware-root DIR]` or `domcapabilities --testsuite --preset NAME`:
/// the `<domainCapabilities>` document of a `<qemuCaps>` cache file. With
/// `--testsuite`, the host is libvirt's `domaincapstest` host (firmware descriptors from
/// `--firmware-root`, by default the `qemufirmwaredata` directory next to the caps
/// file's directory).
pub fn domcapabilities(args: &[String]) -> Result<String> {
    use crate::domcaps;
    const USAGE: &str = "domcapabilities --qemu-caps FILE [--arch A] [--virttype T] [--emulator PATH] [--machine M] \
                         [--testsuite] [--firmware-root DIR] | --testsuite --preset NAME";
    let (mut file, mut arch, mut virttype, mut emulator, mut machine, mut preset, mut fwroot) = (None, None, None, None, None, None, None);
    let mut testsuite = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or_else(|| QemuError::Unsupported(format!("option '{a}' needs a value; usage: {USAGE}")));
        match a.as_str() {
            "--qemu-caps" => file = Some(val()?),
            "--arch" => arch = Some(val()?),
            "--virttype" => virttype = Some(val()?),
            "--emulator" | "--emulatorbin" => emulator = Some(val()?),
            "--machine" => machine = Some(val()?),
            "--preset" => preset = Some(val()?),
            "--firmware-root" => fwroot = Some(val()?),
            "--testsuite" => testsuite = true,
            other => return Err(QemuError::Unsupported(format!("unknown option '{other}'; usage: {USAGE}"))),
        }
    }
    if let Some(p) = preset {
        return Ok(domcaps::preset(&p)?.format());
    }
    let file = file.ok_or_else(|| QemuError::Unsupported(format!("usage: {USAGE}")))?;
    let caps = crate::caps::QemuCaps::parse(&read(&file)?)?;
    let arch = arch.unwrap_or_else(|| caps.arch.clone());
    domcaps::check_names(Some(&arch), virttype.as_deref()).map_err(|e| QemuError::Unsupported(e.message))?;
    let emulator = emulator.unwrap_or_else(|| format!("/usr/bin/qemu-system-{arch}"));
    let cpu_dir = std::env::var_os("OXVIRT_CPU_MAP_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| domcaps::CPU_MAP_DIR.into());
    let cpu_map = domcaps::cpumap::CpuMap::load(&cpu_dir).ok();
    if testsuite {
        // domaincapstest: the machine is resolved for the binary's own virt type, the
        // document filled for the requested one.
        let virttype = virttype.unwrap_or_else(|| "kvm".into());
        let own = domcaps::caps_virttype(&caps);
        let machine = match machine {
            Some(m) => Some(domcaps::canonical_machine(&caps, own, &m)),
            None => domcaps::preferred_machine(&caps, own),
        };
        let root = match fwroot {
            Some(r) => std::path::PathBuf::from(r),
            None => std::path::Path::new(&file)
                .parent()
                .and_then(std::path::Path::parent)
                .map(|p| p.join("qemufirmwaredata"))
                .unwrap_or_else(|| "qemufirmwaredata".into()),
        };
        let env = domcaps::HostEnv::testsuite(&arch, caps.version, &root, cpu_map);
        return Ok(domcaps::fill(&caps, &emulator, &arch, &virttype, machine.as_deref(), &env)?.format());
    }
    let mut env = domcaps::HostEnv::probe(false);
    env.cpu_map = cpu_map;
    let (arch, virttype, machine) =
        domcaps::resolve_args(&caps, &emulator, Some(&arch), virttype.as_deref(), machine.as_deref(), &env.host_arch)
            .map_err(|e| QemuError::Unsupported(e.message))?;
    Ok(domcaps::fill(&caps, &emulator, &arch, &virttype, machine.as_deref(), &env)?.format())
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
