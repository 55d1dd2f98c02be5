//! The offline XML tool behind `oxvirsh xml ...`: the interface of libvirt's
//! xml2xml test programs (see `check_xml2xml.sh` in the conformance corpus).
//!
//! `format --kind KIND [OPTIONS] FILE` parses FILE as KIND and prints the canonical
//! form; `validate FILE` detects the kind from the root element and parses it.

use crate::error::{ConfError, Result};

/// Options of `xml format`, as the corpus manifests give them.
#[derive(Debug, Clone, Default)]
pub struct ToolOptions {
    /// Object kind: domain, network, pool, vol, secret, nwfilter, interface, nodedev,
    /// snapshot, networkport, capabilities.
    pub kind: String,
    /// Format the inactive (persistent) definition.
    pub inactive: bool,
    /// Driver whose defaults apply (`test`, `qemu`, `lxc`).
    pub driver: Option<String>,
    /// Parent pool XML file for volumes.
    pub pool: Option<String>,
    /// Volumes: omit capacity (libvirt's `VIR_VOL_XML_PARSE_NO_CAPACITY`).
    pub no_capacity: bool,
    /// Snapshots: parse as a redefinition.
    pub redefine: bool,
    /// Snapshots: format as internal.
    pub internal: bool,
    /// Snapshots: the owning domain's UUID.
    pub domain_uuid: Option<String>,
    /// Snapshots: fixed creation time.
    pub creation_time: Option<String>,
    /// Snapshots: record the state as running.
    pub set_state_running: bool,
    /// Options this tool does not know yet, kept for the kind's own use.
    pub extra: Vec<(String, Option<String>)>,
}

/// Run the tool with arguments after `xml` (e.g. `["format", "--kind", "network", "f.xml"]`).
/// Returns the text to print on stdout.
pub fn run(args: &[String]) -> Result<String> {
    let (sub, rest) =
        args.split_first().ok_or_else(|| ConfError::invalid_arg("usage: xml format --kind KIND [OPTIONS] FILE | xml validate FILE"))?;
    match sub.as_str() {
        "format" => {
            let (opts, file) = parse_options(rest)?;
            let text = read(&file)?;
            format(&text, &opts)
        }
        "validate" => {
            let file = rest.last().ok_or_else(|| ConfError::invalid_arg("xml validate: missing FILE"))?;
            let text = read(file)?;
            let kind = detect_kind(&text)?;
            let opts = ToolOptions { kind: kind.to_string(), ..Default::default() };
            format(&text, &opts)?;
            Ok(format!("{file}: valid {kind} XML\n"))
        }
        other => Err(ConfError::invalid_arg(format!("unknown xml subcommand '{other}' (expected format or validate)"))),
    }
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| ConfError::Io { path: path.to_string(), source })
}

/// Parse `--kind K [--inactive] [--driver D] ... FILE`.
pub fn parse_options(args: &[String]) -> Result<(ToolOptions, String)> {
    let mut o = ToolOptions::default();
    let mut file = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| -> Result<String> {
            it.next().cloned().ok_or_else(|| ConfError::invalid_arg(format!("option '{name}' needs a value")))
        };
        match a.as_str() {
            "--kind" => o.kind = val(a)?,
            "--inactive" => o.inactive = true,
            "--driver" => o.driver = Some(val(a)?),
            "--pool" => o.pool = Some(val(a)?),
            "--no-capacity" => o.no_capacity = true,
            "--redefine" => o.redefine = true,
            "--internal" => o.internal = true,
            "--domain-uuid" => o.domain_uuid = Some(val(a)?),
            "--creation-time" => o.creation_time = Some(val(a)?),
            "--set-state-running" => o.set_state_running = true,
            s if s.starts_with("--") => {
                let (k, v) = match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (s.to_string(), None),
                };
                o.extra.push((k, v));
            }
            _ => {
                if file.replace(a.clone()).is_some() {
                    return Err(ConfError::invalid_arg("more than one input file given"));
                }
            }
        }
    }
    let file = file.ok_or_else(|| ConfError::invalid_arg("missing input FILE"))?;
    if o.kind.is_empty() {
        o.kind = detect_kind(&read(&file)?)?.to_string();
    }
    Ok((o, file))
}

/// Map a document's root element to the tool's kind name.
pub fn detect_kind(text: &str) -> Result<&'static str> {
    let doc = crate::xml::parse_doc(text)?;
    Ok(match doc.root_element().tag_name().name() {
        "domain" => "domain",
        "network" => "network",
        "pool" => "pool",
        "volume" => "vol",
        "secret" => "secret",
        "filter" => "nwfilter",
        "interface" => "interface",
        "device" => "nodedev",
        "domainsnapshot" => "snapshot",
        "networkport" => "networkport",
        "capabilities" => "capabilities",
        other => return Err(ConfError::unsupported_config(format!("unknown XML document root <{other}>"))),
    })
}

/// Parse `text` as `opts.kind` and return the canonical XML.
pub fn format(text: &str, opts: &ToolOptions) -> Result<String> {
    match opts.kind.as_str() {
        "domain" => crate::domain::tool_format(text, opts),
        "network" => crate::network::tool_format(text, opts),
        "networkport" => crate::networkport::tool_format(text, opts),
        "pool" => crate::storage::tool_format_pool(text, opts),
        "vol" => {
            let pool = match &opts.pool {
                Some(p) => Some(read(p)?),
                None => None,
            };
            crate::storage::tool_format_vol(text, pool.as_deref(), opts)
        }
        "secret" => crate::secret::tool_format(text, opts),
        "nwfilter" => crate::nwfilter::tool_format(text, opts),
        "interface" => crate::interface::tool_format(text, opts),
        "nodedev" => crate::nodedev::tool_format(text, opts),
        "snapshot" => crate::snapshot::tool_format(text, opts),
        "capabilities" => crate::capabilities::tool_format(text, opts),
        other => Err(ConfError::Unsupported(format!("xml format: kind '{other}' is not supported"))),
    }
}
