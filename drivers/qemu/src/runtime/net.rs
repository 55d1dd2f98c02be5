//! Tap-backed guest NICs: `<interface type='ethernet'>` and `<interface
//! type='bridge'>` (libvirt's `qemuInterfaceEthernetConnect`,
//! `qemuInterfaceBridgeConnect`, `virNetDevTapCreateInBridgePort` and the tap
//! teardown of `qemuProcessStop`).
//!
//! libvirt opens `/dev/net/tun` itself (`TUNSETIFF`) and passes the descriptor to
//! QEMU; that ioctl needs `unsafe`, which the workspace denies. Here the tap is made
//! *persistent* with iproute2 (`ip tuntap add ... user UID group GID`), owned by
//! QEMU's user so that QEMU, running without capabilities, may attach to it by name
//! (`-netdev tap,ifname=vnetN,script=no,downscript=no`). A persistent tap outlives
//! its QEMU, so every way a run ends deletes it: destroy, shutdown, a crash seen live
//! or after a daemon restart, a failed start. The names come from the live
//! definition (`<target dev>`), which the status file keeps.
//!
//! Names: no `<target dev>`, a name with a reserved prefix (`vnet`, `macvtap`,
//! `macvlan`) or a template with `%d` get the lowest free number (`vnetN`), chosen
//! under a process-wide lock and retried when another process takes it first. A
//! `managed='no'` target must exist and is used as it is and never deleted.

use super::process::sanitized_env;
use crate::error::QemuError;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::{DomainDef, Interface};
use oxvirt_conf::xml::{El, XNode};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

/// libvirt's `VIR_NET_GENERATED_VNET_PREFIX` (and the macvtap/macvlan prefixes,
/// which a tap may not take either).
pub const RESERVED_PREFIXES: [&str; 3] = ["vnet", "macvtap", "macvlan"];
/// The prefix of generated tap names.
pub const VNET_PREFIX: &str = "vnet";
/// `IFNAMSIZ - 1`.
const MAX_IFNAME: usize = 15;

/// Serializes name choice and creation within this process.
static ALLOC: Mutex<()> = Mutex::new(());

fn sys_err(msg: String) -> Error {
    Error::new(ErrorCode::SystemError, ErrorDomain::None, msg)
}

fn unsupported(msg: String) -> QemuError {
    QemuError::Unsupported(msg)
}

/// Whether `n` is backed by a host tap this module manages.
pub fn is_tap(n: &Interface) -> bool {
    matches!(n.iface_type.as_str(), "ethernet" | "bridge")
}

fn child<'a>(e: &'a El, name: &str) -> impl Iterator<Item = &'a El> + 'a {
    let name = name.to_string();
    e.children.iter().filter_map(move |c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
}

fn attr<'a>(e: &'a El, k: &str) -> Option<&'a str> {
    e.attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn other<'a>(n: &'a Interface, name: &str) -> Option<&'a El> {
    n.other.iter().find(|e| e.name == name)
}

/// `<target managed='no'>`: an existing device, used as it is.
pub fn unmanaged(n: &Interface) -> bool {
    other(n, "target").and_then(|t| attr(t, "managed")) == Some("no")
}

/// `<mtu size=..>`.
pub fn mtu(n: &Interface) -> Option<u32> {
    other(n, "mtu").and_then(|m| attr(m, "size")).and_then(|s| s.parse().ok()).filter(|m| *m > 0)
}

fn script(n: &Interface, name: &str) -> Option<String> {
    other(n, name).and_then(|s| attr(s, "path")).map(str::to_string)
}

/// libvirt's `qemuInterfaceIsVnetCompatModel`: models that use a virtio-net header.
pub fn vnet_hdr_model(n: &Interface) -> bool {
    matches!(n.model.as_deref(), Some("virtio" | "virtio-transitional" | "virtio-non-transitional" | "e1000e" | "vmxnet3"))
}

/// The children of a tap interface the driver honours; anything else is refused,
/// naming the element, before any device is made.
pub fn check(n: &Interface) -> crate::error::Result<()> {
    let ty = n.iface_type.as_str();
    for e in &n.other {
        let ok = match e.name.as_str() {
            "target" | "mtu" => true,
            "script" | "downscript" => {
                if ty != "ethernet" {
                    // libvirt's qemuBuildHostNetProps wording.
                    return Err(unsupported(format!("scripts are not supported on interfaces of type {ty}")));
                }
                true
            }
            _ => false,
        };
        if !ok {
            return Err(unsupported(format!("<interface type='{ty}'> element <{}> is not supported by this driver yet", e.name)));
        }
    }
    if let Some(src) = &n.source_raw {
        for c in src.children.iter().filter_map(|c| if let XNode::El(x) = c { Some(x) } else { None }) {
            if ty == "ethernet" && matches!(c.name.as_str(), "ip" | "route") {
                continue;
            }
            return Err(unsupported(format!("<interface type='{ty}'> source element <{}> is not supported by this driver yet", c.name)));
        }
    }
    if unmanaged(n) && n.target_dev.is_none() {
        return Err(QemuError::Internal("target dev must be supplied when managed='no'".into()));
    }
    Ok(())
}

/// Whether `name` is to be generated (libvirt's template rule plus its reserved
/// prefixes): none, `vnet*`/`macvtap*`/`macvlan*`, or exactly one `%d`.
pub fn is_template(name: Option<&str>) -> bool {
    match name {
        None => true,
        Some(n) => RESERVED_PREFIXES.iter().any(|p| n.starts_with(p)) || (n.matches('%').count() == 1 && n.contains("%d")),
    }
}

/// The lowest free name for `template` (`None` or a reserved prefix: `vnetN`;
/// otherwise the template with `%d` replaced) among `taken`, skipping `skip`.
pub fn lowest_free(template: Option<&str>, taken: &[String], skip: &[String]) -> Option<String> {
    let pattern = match template {
        Some(t) if t.contains("%d") && !RESERVED_PREFIXES.iter().any(|p| t.starts_with(p)) => t.to_string(),
        _ => format!("{VNET_PREFIX}%d"),
    };
    (0..100_000u32)
        .map(|i| pattern.replacen("%d", &i.to_string(), 1))
        .take_while(|n| n.len() <= MAX_IFNAME)
        .find(|n| !taken.contains(n) && !skip.contains(n))
}

/// The tap's MAC: the guest's with the first byte 0xFE (0xFA when it already is
/// 0xFE), so the kernel never sees its own address as a source and a bridge never
/// takes the tap's address as its own.
pub fn tap_mac(guest: &str) -> String {
    match guest.split_once(':') {
        Some((first, rest)) => {
            let b = if first.eq_ignore_ascii_case("fe") { "fa" } else { "fe" };
            format!("{b}:{rest}")
        }
        None => guest.to_string(),
    }
}

/// The `ip tuntap add` arguments of a tap for QEMU's `owner` (uid, gid).
pub fn tuntap_add_args(name: &str, owner: Option<(u32, u32)>, vnet_hdr: bool) -> Vec<String> {
    let mut a: Vec<String> = ["tuntap", "add", "dev", name, "mode", "tap"].iter().map(|s| s.to_string()).collect();
    if let Some((uid, gid)) = owner {
        a.extend(["user".to_string(), uid.to_string(), "group".to_string(), gid.to_string()]);
    }
    if vnet_hdr {
        a.push("vnet_hdr".into());
    }
    a
}

/// The MTU in `ip -o link show` output.
pub fn parse_mtu(text: &str) -> Option<u32> {
    let mut words = text.split_whitespace();
    while let Some(w) = words.next() {
        if w == "mtu" {
            return words.next()?.parse().ok();
        }
    }
    None
}

/// The names of this network namespace's devices (`/proc/net/dev` is per namespace,
/// unlike a `/sys` mounted elsewhere).
pub fn device_names() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
    text.lines().skip(2).filter_map(|l| l.split_once(':')).map(|(n, _)| n.trim().to_string()).collect()
}

fn exists(name: &str) -> bool {
    device_names().iter().any(|n| n == name)
}

/// iproute2's `ip`.
fn ip_bin() -> &'static str {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].into_iter().find(|p| Path::new(p).exists()).unwrap_or("ip")
}

/// Run `ip ARGS`; the error is ip's own message.
fn ip(args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new(ip_bin()).args(args).stdin(Stdio::null()).output().map_err(|e| format!("cannot execute '{}': {e}", ip_bin()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if msg.is_empty() { format!("ip exited with {}", out.status) } else { msg })
    }
}

/// libvirt's `virNetDevRunEthernetScript`: `SCRIPT IFNAME`, its exit status checked.
fn run_script(path: &str, ifname: &str) -> Result<()> {
    if path.is_empty() {
        return Ok(());
    }
    let home = std::env::temp_dir();
    let out = Command::new(path)
        .arg(ifname)
        .env_clear()
        .envs(sanitized_env(&home))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| sys_err(format!("Cannot run '{path} {ifname}': {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(Error::new(
        ErrorCode::InternalError,
        ErrorDomain::None,
        format!("Child process ({path} {ifname}) unexpected exit status {code}: {stderr}"),
    ))
}

/// Delete tap `name` (its QEMU is gone); a device already gone is fine.
pub fn delete_tap(name: &str) {
    if exists(name) {
        let _ = ip(&["tuntap", "del", "dev", name, "mode", "tap"]);
    }
}

/// Create managed tap `name` (or a generated one when `n.target_dev` is a template):
/// returns the name made.
fn create_tap(n: &Interface, owner: Option<(u32, u32)>, made: &[String]) -> Result<String> {
    let _lock = ALLOC.lock().unwrap_or_else(PoisonError::into_inner);
    let template = is_template(n.target_dev.as_deref());
    let mut tried: Vec<String> = made.to_vec();
    for _ in 0..64 {
        let name = if template {
            lowest_free(n.target_dev.as_deref(), &device_names(), &tried).ok_or_else(|| {
                Error::new(ErrorCode::InternalError, ErrorDomain::None, format!("no unused {VNET_PREFIX} names available"))
            })?
        } else {
            n.target_dev.clone().unwrap_or_default()
        };
        match ip(&tuntap_add_args(&name, owner, vnet_hdr_model(n)).iter().map(String::as_str).collect::<Vec<_>>()) {
            Ok(_) => return Ok(name),
            // Another process took the name between the look and the creation.
            Err(_) if template && exists(&name) => tried.push(name),
            Err(e) => return Err(sys_err(format!("Unable to create tap device {name}: {e}"))),
        }
    }
    Err(Error::new(ErrorCode::InternalError, ErrorDomain::None, format!("no unused {VNET_PREFIX} names available")))
}

/// Host-side `<ip>`/`<route>` of an ethernet interface's `<source>` (libvirt's
/// `virNetDevIPInfoAddToDev`).
fn add_host_ips(n: &Interface, ifname: &str) -> Result<()> {
    let Some(src) = &n.source_raw else { return Ok(()) };
    let default_prefix = |addr: &str| -> u32 {
        if addr.contains(':') {
            return 64;
        }
        match addr.split('.').next().and_then(|o| o.parse::<u32>().ok()).unwrap_or(0) {
            0..=127 => 8,
            128..=191 => 16,
            _ => 24,
        }
    };
    for e in child(src, "ip") {
        let Some(addr) = attr(e, "address") else { continue };
        let prefix = attr(e, "prefix").and_then(|p| p.parse().ok()).unwrap_or_else(|| default_prefix(addr));
        let local = format!("{addr}/{prefix}");
        let mut args = vec!["addr", "add", local.as_str()];
        if let Some(peer) = attr(e, "peer") {
            args.extend(["peer", peer]);
        }
        args.extend(["dev", ifname]);
        ip(&args).map_err(|m| sys_err(format!("Failed to add IP address {local} to {ifname}: {m}")))?;
    }
    for e in child(src, "route") {
        let Some(addr) = attr(e, "address") else { continue };
        let prefix = attr(e, "prefix").and_then(|p| p.parse().ok()).unwrap_or_else(|| default_prefix(addr));
        let dest = format!("{addr}/{prefix}");
        let mut args = vec!["route", "add", dest.as_str()];
        if let Some(gw) = attr(e, "gateway") {
            args.extend(["via", gw]);
        }
        args.extend(["dev", ifname]);
        if let Some(m) = attr(e, "metric") {
            args.extend(["metric", m]);
        }
        ip(&args).map_err(|m| sys_err(format!("Failed to add route {dest} to {ifname}: {m}")))?;
    }
    Ok(())
}

/// Set up a new managed tap: MAC, MTU (bridge: its own or the bridge's), bridge
/// port, up, scripts and host addresses.
fn setup_tap(n: &Interface, name: &str) -> Result<()> {
    let mac = tap_mac(&n.mac);
    ip(&["link", "set", "dev", name, "address", &mac]).map_err(|e| sys_err(format!("Cannot set interface MAC on '{name}': {e}")))?;
    let set_mtu = |m: u32| {
        ip(&["link", "set", "dev", name, "mtu", &m.to_string()]).map_err(|e| sys_err(format!("Cannot set interface MTU on '{name}': {e}")))
    };
    if let Some(br) = n.source_bridge.as_deref().filter(|_| n.iface_type == "bridge") {
        match mtu(n) {
            Some(m) => {
                set_mtu(m)?;
            }
            None => {
                let text = ip(&["-o", "link", "show", "dev", br])
                    .map_err(|_| sys_err(format!("Cannot get interface MTU on '{br}': No such device")))?;
                if let Some(m) = parse_mtu(&text) {
                    set_mtu(m)?;
                }
            }
        }
        if !exists(br) {
            return Err(sys_err(format!("Unable to add bridge {br} port {name}: No such device")));
        }
        ip(&["link", "set", "dev", name, "master", br]).map_err(|e| sys_err(format!("Unable to add bridge {br} port {name}: {e}")))?;
    } else if let Some(m) = mtu(n) {
        set_mtu(m)?;
    }
    ip(&["link", "set", "dev", name, "up"]).map_err(|e| sys_err(format!("Cannot set interface flags on '{name}': {e}")))?;
    Ok(())
}

/// Make the taps of `def`'s tap-backed interfaces before QEMU starts, writing
/// generated names into the definition (`<target dev>`). `made` collects every tap
/// created, also when a later one fails, so the caller deletes them.
pub fn prepare(def: &mut DomainDef, owner: Option<(u32, u32)>, made: &mut Vec<String>) -> Result<()> {
    for n in def.devices.interfaces.iter().filter(|n| is_tap(n)) {
        check(n)?;
    }
    for i in 0..def.devices.interfaces.len() {
        let n = &def.devices.interfaces[i];
        if !is_tap(n) {
            continue;
        }
        let name = if unmanaged(n) {
            let name = n.target_dev.clone().unwrap_or_default();
            if !exists(&name) {
                return Err(QemuError::Internal("target managed='no' but specified dev doesn't exist".into()).into());
            }
            name
        } else {
            let name = create_tap(n, owner, made)?;
            made.push(name.clone());
            setup_tap(n, &name)?;
            name
        };
        if let Some(s) = script(n, "script").filter(|_| n.iface_type == "ethernet") {
            run_script(&s, &name)?;
        }
        if n.iface_type == "ethernet" {
            add_host_ips(n, &name)?;
        }
        def.devices.interfaces[i].target_dev = Some(name);
    }
    Ok(())
}

/// The end of a run of `def`: an ethernet interface's `<downscript>` runs, and every
/// managed tap goes (libvirt's `qemuProcessStop` and `qemuExtDevicesStop`).
pub fn teardown(def: &DomainDef) {
    for n in def.devices.interfaces.iter().filter(|n| is_tap(n)) {
        let Some(name) = n.target_dev.as_deref() else { continue };
        if n.iface_type == "ethernet" {
            if let Some(s) = script(n, "downscript") {
                let _ = run_script(&s, name);
            }
        }
        if !unmanaged(n) {
            delete_tap(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn generated_names_take_the_lowest_free_number() {
        assert_eq!(lowest_free(None, &names(&["lo", "eth0"]), &[]).as_deref(), Some("vnet0"));
        assert_eq!(lowest_free(None, &names(&["vnet0", "vnet2"]), &[]).as_deref(), Some("vnet1"));
        assert_eq!(lowest_free(None, &names(&["vnet0"]), &names(&["vnet1"])).as_deref(), Some("vnet2"));
        // A reserved prefix is a request for a generated name, whatever follows it.
        assert_eq!(lowest_free(Some("vnet7"), &names(&["vnet0"]), &[]).as_deref(), Some("vnet1"));
        assert_eq!(lowest_free(Some("mytap%d"), &names(&["mytap0"]), &[]).as_deref(), Some("mytap1"));
        // Names never exceed IFNAMSIZ - 1.
        assert_eq!(lowest_free(Some("averyveryverylong%d"), &[], &[]), None);
    }

    #[test]
    fn templates_and_fixed_names() {
        assert!(is_template(None));
        assert!(is_template(Some("vnet3")));
        assert!(is_template(Some("macvtap0")));
        assert!(is_template(Some("tap%d")));
        assert!(!is_template(Some("mytap0")));
        assert!(!is_template(Some("a%d%d")));
    }

    #[test]
    fn tap_mac_flips_the_first_byte() {
        assert_eq!(tap_mac("52:54:00:12:34:56"), "fe:54:00:12:34:56");
        assert_eq!(tap_mac("fe:54:00:12:34:56"), "fa:54:00:12:34:56");
    }

    #[test]
    fn tuntap_arguments() {
        assert_eq!(tuntap_add_args("vnet0", None, false).join(" "), "tuntap add dev vnet0 mode tap");
        assert_eq!(tuntap_add_args("vnet1", Some((107, 108)), true).join(" "), "tuntap add dev vnet1 mode tap user 107 group 108 vnet_hdr");
    }

    #[test]
    fn mtu_of_ip_link_output() {
        let line = "4: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff";
        assert_eq!(parse_mtu(line), Some(1450));
        assert_eq!(parse_mtu("nothing"), None);
    }

    fn iface(xml: &str) -> Interface {
        let dom =
            format!("<domain type='qemu'><name>t</name><memory>1024</memory><os><type>hvm</type></os><devices>{xml}</devices></domain>");
        let def =
            DomainDef::parse(&dom, &oxvirt_conf::domain::ParseOptions { driver: Some("qemu".into()), inactive: false }).expect("parse");
        def.devices.interfaces[0].clone()
    }

    #[test]
    fn what_a_tap_interface_may_carry() {
        let ok =
            iface("<interface type='ethernet'><target dev='t0' managed='no'/><mtu size='9000'/><script path='/bin/true'/></interface>");
        assert!(check(&ok).is_ok());
        assert!(unmanaged(&ok));
        assert_eq!(mtu(&ok), Some(9000));
        let ovs = iface("<interface type='bridge'><source bridge='br0'/><virtualport type='openvswitch'/></interface>");
        let e = Error::from(check(&ovs).expect_err("openvswitch refused"));
        assert_eq!(e.code, ErrorCode::ConfigUnsupported);
        assert!(e.message.contains("<virtualport>"), "{}", e.message);
        let sc = iface("<interface type='bridge'><source bridge='br0'/><script path='/bin/true'/></interface>");
        assert!(check(&sc).expect_err("script on bridge").to_string().contains("scripts are not supported on interfaces of type bridge"));
        let noname = iface("<interface type='ethernet'><target managed='no'/></interface>");
        assert!(check(&noname).expect_err("managed=no needs a name").to_string().contains("target dev must be supplied"));
    }
}
