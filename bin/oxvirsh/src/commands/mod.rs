//! The command table (every command oxvirsh knows, grouped like virsh's help groups)
//! and the helpers the handlers share: object lookups with virsh's messages, option
//! accessors that report virsh's errors, file reading and size formatting.

pub mod domain;
pub mod help_desc;
pub mod host;
pub mod hotplug;
pub mod iface;
pub mod info;
pub mod metadata;
pub mod network;
pub mod nodedev;
pub mod nwfilter;
pub mod secret;
pub mod snapshot;
pub mod storage;
pub mod tune;

use crate::parse::{Cmd, CmdDef, Fail};
use crate::Ctl;
use oxvirt::{Connect, Domain, Interface, NWFilter, Network, NodeDevice, Secret, StoragePool, StorageVol};

/// Every command, in help order.
pub static TABLE: &[CmdDef] = &concat_tables();

const fn concat_tables() -> [CmdDef; N_CMDS] {
    let groups: [&[CmdDef]; 13] = [
        domain::CMDS,
        hotplug::CMDS,
        info::CMDS,
        metadata::CMDS,
        tune::CMDS,
        snapshot::CMDS,
        network::CMDS,
        storage::CMDS,
        secret::CMDS,
        nwfilter::CMDS,
        iface::CMDS,
        nodedev::CMDS,
        host::CMDS,
    ];
    let mut out = [host::CMDS[0]; N_CMDS];
    let mut k = 0;
    let mut g = 0;
    while g < groups.len() {
        let mut i = 0;
        while i < groups[g].len() {
            out[k] = groups[g][i];
            k += 1;
            i += 1;
        }
        g += 1;
    }
    out
}

const N_CMDS: usize = domain::CMDS.len()
    + hotplug::CMDS.len()
    + info::CMDS.len()
    + metadata::CMDS.len()
    + tune::CMDS.len()
    + snapshot::CMDS.len()
    + network::CMDS.len()
    + storage::CMDS.len()
    + secret::CMDS.len()
    + nwfilter::CMDS.len()
    + iface::CMDS.len()
    + nodedev::CMDS.len()
    + host::CMDS.len();

/// Help groups: (keyword, title).
pub static GROUPS: &[(&str, &str)] = &[
    ("domain", "Domain Management"),
    ("monitor", "Domain Monitoring"),
    ("snapshot", "Snapshot"),
    ("network", "Networking"),
    ("pool", "Storage Pool"),
    ("volume", "Storage Volume"),
    ("secret", "Secret"),
    ("filter", "Network Filter"),
    ("interface", "Interface"),
    ("nodedev", "Node Device"),
    ("host", "Host and Hypervisor"),
    ("virsh", "Virsh itself"),
];

/// String option value; reports virsh's message for empty values.
pub fn opt_str<'a>(ctl: &Ctl, cmd: &'a Cmd, name: &str) -> Result<Option<&'a str>, Fail> {
    cmd.string(name).map_err(|m| ctl.fail_msg(m))
}

/// Required string option.
pub fn req_str<'a>(ctl: &Ctl, cmd: &'a Cmd, name: &str) -> Result<&'a str, Fail> {
    match opt_str(ctl, cmd, name)? {
        Some(v) => Ok(v),
        None => Err(ctl.fail_msg(format!("Failed to get option '{name}': Mandatory option not present"))),
    }
}

/// Fail when both options are given (`VSH_EXCLUSIVE_OPTIONS`).
pub fn exclusive(ctl: &Ctl, cmd: &Cmd, a: &str, b: &str) -> Result<(), Fail> {
    if cmd.has(a) && cmd.has(b) {
        return Err(ctl.fail_msg(format!("Options --{a} and --{b} are mutually exclusive")));
    }
    Ok(())
}

/// Fail when `a` is given without `b` (`VSH_REQUIRE_OPTION`).
pub fn require(ctl: &Ctl, cmd: &Cmd, a: &str, b: &str) -> Result<(), Fail> {
    if cmd.has(a) && !cmd.has(b) {
        return Err(ctl.fail_msg(format!("Option --{b} is required by option --{a}")));
    }
    Ok(())
}

/// `--config`/`--live`/`--current` to `DomainModFlags`.
pub fn mod_flags(ctl: &Ctl, cmd: &Cmd) -> Result<oxvirt::DomainModFlags, Fail> {
    exclusive(ctl, cmd, "current", "live")?;
    exclusive(ctl, cmd, "current", "config")?;
    let mut f = oxvirt::DomainModFlags::empty();
    if cmd.has("config") {
        f |= oxvirt::DomainModFlags::CONFIG;
    }
    if cmd.has("live") {
        f |= oxvirt::DomainModFlags::LIVE;
    }
    Ok(f)
}

/// Read a local file as virsh does (`virFileReadAll`).
pub fn read_file(ctl: &Ctl, path: &str) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
            _ => {
                let s = e.to_string();
                s.split(" (os error").next().unwrap_or(&s).to_string()
            }
        };
        ctl.fail_msg(format!("Failed to open file '{path}': {why}"))
    })
}

/// `vshPrettyCapacity`: bytes with two decimals and a binary unit.
pub fn pretty_capacity(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", UNITS[u])
}

/// A label/value line as virsh prints info (`%-15s %s`).
pub fn kv(label: &str, value: impl std::fmt::Display) -> String {
    format!("{label:<15} {value}\n")
}

/// virsh prints booleans as yes/no.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn looks_like_uuid(s: &str) -> bool {
    oxvirt_util::uuid::parse(s).is_some()
}

/// Find a domain by id, UUID or name (`virshCommandOptDomain`).
pub fn lookup_domain(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<Domain, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    lookup_domain_str(ctl, conn, name)
}

/// Find a domain from a string.
pub fn lookup_domain_str(ctl: &Ctl, conn: &Connect, name: &str) -> Result<Domain, Fail> {
    if let Ok(id) = name.parse::<i32>() {
        if id >= 0 {
            if let Ok(d) = conn.domain_lookup_by_id(id) {
                return Ok(d);
            }
        }
    }
    if looks_like_uuid(name) {
        if let Ok(d) = conn.domain_lookup_by_uuid_string(name) {
            return Ok(d);
        }
    }
    conn.domain_lookup_by_name(name).map_err(|_| ctl.fail_msg(format!("failed to get domain '{name}'")))
}

/// Find a network by UUID or name.
pub fn lookup_network(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<Network, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    if let Some(u) = oxvirt_util::uuid::parse(name) {
        if let Ok(n) = conn.network_lookup_by_uuid(&u) {
            return Ok(n);
        }
    }
    conn.network_lookup_by_name(name).map_err(|e| ctl.fail(format!("failed to get network '{name}'"), e))
}

/// Find a pool by UUID or name.
pub fn lookup_pool_str(ctl: &Ctl, conn: &Connect, name: &str) -> Result<StoragePool, Fail> {
    if let Some(u) = oxvirt_util::uuid::parse(name) {
        if let Ok(p) = conn.storage_pool_lookup_by_uuid(&u) {
            return Ok(p);
        }
    }
    conn.storage_pool_lookup_by_name(name).map_err(|e| ctl.fail(format!("failed to get pool '{name}'"), e))
}

/// Find a pool named by option `opt`.
pub fn lookup_pool(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<StoragePool, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    lookup_pool_str(ctl, conn, name)
}

/// Find a volume: by name in `--pool` if given, then by key, then by path.
pub fn lookup_vol(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<StorageVol, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    let pool = match opt_str(ctl, cmd, "pool")? {
        Some(p) => Some(lookup_pool_str(ctl, conn, p)?),
        None => None,
    };
    if let Some(p) = &pool {
        if let Ok(v) = p.vol_lookup_by_name(name) {
            return Ok(v);
        }
    }
    if let Ok(v) = conn.storage_vol_lookup_by_key(name) {
        return Ok(v);
    }
    conn.storage_vol_lookup_by_path(name).map_err(|e| {
        // virsh hints at --pool when the command has that option and it was not given.
        let has_pool_opt = cmd.def.opts.iter().any(|o| o.name == "pool");
        if pool.is_none() && has_pool_opt {
            ctl.fail(format!("failed to get vol '{name}', specifying --pool might help"), e)
        } else {
            ctl.fail(format!("failed to get vol '{name}'"), e)
        }
    })
}

/// Find a secret by UUID (or usage id).
pub fn lookup_secret(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<Secret, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    let res = conn.secret_lookup_by_uuid_string(name);
    res.map_err(|e| ctl.fail(format!("failed to get secret '{name}'"), e))
}

/// Find a network filter by UUID or name.
pub fn lookup_nwfilter(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<NWFilter, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    if let Some(u) = oxvirt_util::uuid::parse(name) {
        if let Ok(n) = conn.nwfilter_lookup_by_uuid(&u) {
            return Ok(n);
        }
    }
    conn.nwfilter_lookup_by_name(name).map_err(|e| ctl.fail(format!("failed to get nwfilter '{name}'"), e))
}

/// Find a host interface by name or MAC.
pub fn lookup_iface(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<Interface, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    let by_mac = name.len() == 17 && name.chars().filter(|c| *c == ':').count() == 5;
    let res = if by_mac { conn.interface_lookup_by_mac(name) } else { conn.interface_lookup_by_name(name) };
    res.map_err(|e| ctl.fail(format!("failed to get interface '{name}'"), e))
}

/// Find a node device by name.
pub fn lookup_nodedev(ctl: &Ctl, conn: &Connect, cmd: &Cmd, opt: &str) -> Result<NodeDevice, Fail> {
    let name = req_str(ctl, cmd, opt)?;
    conn.node_device_lookup_by_name(name).map_err(Fail::Api)
}

/// The libvirt error virsh reports when its list call falls back to the old
/// counting API of a driver that lacks it.
pub fn count_fallback(api: &str) -> oxvirt::Error {
    oxvirt::Error::new(oxvirt::ErrorCode::NoSupport, oxvirt::ErrorDomain::None, api)
}

/// Text of the first `<tag>` element in `xml` (a plain scan: enough for the few
/// values oxvirsh reads from XML documents the API returns), entities decoded.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let at = from + i + open.len();
        let rest = &xml[at..];
        match rest.chars().next() {
            Some('>') => {
                let body = &rest[1..];
                let end = body.find(&format!("</{tag}>"))?;
                return Some(unescape(&body[..end]));
            }
            Some('/') => return Some(String::new()),
            Some(c) if c.is_whitespace() => {
                let gt = rest.find('>')?;
                if rest[..gt].ends_with('/') {
                    return Some(String::new());
                }
                let body = &rest[gt + 1..];
                let end = body.find(&format!("</{tag}>"))?;
                return Some(unescape(&body[..end]));
            }
            _ => from = at,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// True when `e` is `VIR_ERR_NO_SUPPORT`.
pub fn is_no_support(e: &oxvirt::Error) -> bool {
    e.code == oxvirt::ErrorCode::NoSupport
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_like_virsh() {
        assert_eq!(pretty_capacity(0), "0.00 B");
        assert_eq!(pretty_capacity(107374182400), "100.00 GiB");
        assert_eq!(pretty_capacity(1536), "1.50 KiB");
    }

    #[test]
    fn table_has_unique_names_and_valid_options() {
        let mut names: Vec<&str> = TABLE.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for c in TABLE {
            assert!(GROUPS.iter().any(|(k, _)| *k == c.group), "{} has unknown group", c.name);
            let mut seen_optional_positional = false;
            for o in c.opts {
                let positional = matches!(o.kind, crate::parse::OptKind::Data);
                if positional && seen_optional_positional {
                    panic!("{}: required positional after optional one", c.name);
                }
                if matches!(o.kind, crate::parse::OptKind::Str | crate::parse::OptKind::Int) && o.flags & crate::parse::REQ_OPT == 0 {
                    seen_optional_positional = o.flags & crate::parse::REQ == 0;
                }
            }
        }
    }
}
