//! Calls answered by the guest agent, as libvirt's QEMU driver makes them: the
//! guest's clock (`guest-get-time`, `guest-set-time`), host name
//! (`guest-get-host-name`), interface addresses (`guest-network-get-interfaces`),
//! `virDomainGetGuestInfo` (users, OS, time zone, host name, file systems, disks,
//! interfaces) and shutdown/reboot in agent mode (`guest-shutdown`).
//!
//! Before a command the agent must be usable the way `qemuDomainAgentAvailable`
//! decides: the domain running, an agent channel configured
//! (`VIR_ERR_ARGUMENT_UNSUPPORTED` "QEMU guest agent is not configured" otherwise) and
//! the guest side of the channel open (`VIR_ERR_AGENT_UNRESPONSIVE` "QEMU guest agent
//! is not connected" otherwise); QEMU's `query-chardev` tells the latter
//! (`frontend-open` of the channel's chardev). Replies are parsed here with
//! libvirt's field names and error wording.

use super::domobj::DomObj;
use super::Driver;
use crate::agent::{self, AgentError, Session};
use oxvirt::stats::{guest_info_types as G, ifaddr_source, IP_ADDR_TYPE_IPV4, IP_ADDR_TYPE_IPV6};
use oxvirt::*;
use oxvirt_conf::domain::DomainDef;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

const D: ErrorDomain = ErrorDomain::Qemu;

/// How long the handshake may take once the guest side is open.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a command may take by default (libvirt's `QEMU_AGENT_WAIT_TIME`).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Response timeouts set with `virDomainAgentSetResponseTimeout`, by domain.
static TIMEOUTS: Mutex<Vec<(oxvirt_util::uuid::Uuid, i32)>> = Mutex::new(Vec::new());

/// The reply timeout of `u`'s agent: `None` blocks (-2).
fn reply_timeout(u: &oxvirt_util::uuid::Uuid) -> Option<Duration> {
    let t = TIMEOUTS.lock().unwrap_or_else(PoisonError::into_inner).iter().find(|(x, _)| x == u).map(|(_, t)| *t);
    match t {
        Some(-2) => None,
        Some(t) if t >= 0 => Some(Duration::from_secs(t.unsigned_abs().into())),
        _ => Some(REPLY_TIMEOUT),
    }
}

/// `virDomainAgentSetResponseTimeout`.
pub fn set_response_timeout(drv: &Driver, d: &DomainRef, timeout: i32, flags: u32) -> Result<()> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainAgentSetResponseTimeout", D)?;
    if timeout < -2 {
        return Err(Error::new(ErrorCode::InvalidArg, D, format!("guest agent timeout '{timeout}' is less than the minimum '-2'")));
    }
    drv.doms().by_ref(d)?;
    let mut t = TIMEOUTS.lock().unwrap_or_else(PoisonError::into_inner);
    t.retain(|(u, _)| *u != d.uuid);
    if timeout != -1 {
        t.push((d.uuid, timeout));
    }
    Ok(())
}
/// How long `guest-shutdown` may take (libvirt's `VIR_DOMAIN_QEMU_AGENT_COMMAND_SHUTDOWN`).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

fn internal(msg: impl AsRef<str>) -> Error {
    Error::new(ErrorCode::InternalError, D, msg)
}

/// The chardev label QEMU gives the agent channel (`charchannelN`, N counting channels;
/// `char` + its alias once hotplug recorded one).
fn agent_chardev(def: &DomainDef) -> Option<String> {
    let is_agent = |c: &&oxvirt_conf::domain::Chardev| {
        c.device == "channel" && c.target.as_ref().is_some_and(|t| t.attrs.iter().any(|(k, v)| k == "name" && v == agent::AGENT_CHANNEL))
    };
    if let Some(alias) = def.devices.chardevs.iter().find(is_agent).and_then(|c| c.info.alias.as_deref()) {
        return Some(format!("char{alias}"));
    }
    let n = def
        .devices
        .chardevs
        .iter()
        .filter(|c| c.device == "channel")
        .position(|c| c.target.as_ref().is_some_and(|t| t.attrs.iter().any(|(k, v)| k == "name" && v == agent::AGENT_CHANNEL)))?;
    Some(format!("charchannel{n}"))
}

/// Whether QEMU says the guest opened chardev `label` (`query-chardev` `frontend-open`).
pub fn frontend_open(reply: &Value, label: &str) -> bool {
    reply
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .find(|c| c.get("label").and_then(Value::as_str) == Some(label))
        .and_then(|c| c.get("frontend-open").and_then(Value::as_bool))
        .unwrap_or(false)
}

/// What an agent exchange needs: the socket, the per-domain agent lock, the monitor
/// (to ask whether the guest side is open) and the run's id.
struct Target {
    uuid: oxvirt_util::uuid::Uuid,
    socket: PathBuf,
    lock: Arc<Mutex<()>>,
    qmp: Option<Arc<crate::qmp::Qmp>>,
    label: Option<String>,
    id: i32,
}

/// `qemuDomainAgentAvailable` with `reportError`: the errors libvirt gives.
fn available(o: &DomObj, need_running: bool) -> Result<Target> {
    if !o.is_active() || (need_running && o.state != DomainState::Running) {
        return Err(Error::new(ErrorCode::OperationInvalid, D, "domain is not running"));
    }
    let socket = o.agent_socket().ok_or_else(|| Error::new(ErrorCode::ArgumentUnsupported, D, "QEMU guest agent is not configured"))?;
    Ok(Target {
        uuid: o.def.uuid,
        socket,
        lock: o.agent.clone(),
        qmp: o.run.as_ref().and_then(|r| r.qmp.clone()),
        label: agent_chardev(&o.def),
        id: o.id,
    })
}

fn connected(t: &Target) -> bool {
    let (Some(q), Some(label)) = (&t.qmp, &t.label) else { return false };
    q.execute("query-chardev", None).map(|r| frontend_open(&r, label)).unwrap_or(false)
}

fn agent_err(e: AgentError) -> Error {
    e.into()
}

/// Open a session on `d`'s agent after libvirt's availability checks; the agent lock
/// is held while the closure runs.
fn with_agent<R>(drv: &Driver, d: &DomainRef, need_running: bool, f: impl FnOnce(&mut Session, &Target) -> Result<R>) -> Result<R> {
    drv.refresh(&d.uuid);
    let t = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        if !o.is_active() {
            return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
        }
        available(o, need_running)?
    };
    let _agent = t.lock.lock().unwrap_or_else(PoisonError::into_inner);
    if !connected(&t) {
        return Err(Error::new(ErrorCode::AgentUnresponsive, D, "QEMU guest agent is not connected"));
    }
    let mut s = Session::open(&t.socket, SYNC_TIMEOUT).map_err(agent_err)?;
    s.set_reply_timeout(reply_timeout(&t.uuid));
    f(&mut s, &t)
}

/// Run `name` with `args`; `Ok(None)` when the agent lacks the command and
/// `report_unsupported` is false (libvirt's -2), the `return` value otherwise.
fn exec(s: &mut Session, name: &str, args: Option<Value>, report_unsupported: bool) -> Result<Option<Value>> {
    let cmd = match args {
        Some(a) => json!({"execute": name, "arguments": a}),
        None => json!({"execute": name}),
    };
    let reply = s.exec(&cmd).map_err(agent_err)?;
    if let Some((class, desc)) = agent::reply_error(&reply) {
        if !report_unsupported && (class == "CommandNotFound" || class == "CommandDisabled") {
            return Ok(None);
        }
        return Err(internal(format!("unable to execute QEMU agent command '{name}': {desc}")));
    }
    reply.get("return").cloned().map(Some).ok_or_else(|| internal(format!("unable to execute QEMU agent command '{name}'")))
}

fn exec_required(s: &mut Session, name: &str, args: Option<Value>) -> Result<Value> {
    exec(s, name, args, true)?.ok_or_else(|| internal(format!("unable to execute QEMU agent command '{name}'")))
}

/// `virDomainGetTime`.
pub fn get_time(drv: &Driver, d: &DomainRef, flags: u32) -> Result<(i64, u32)> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainGetTime", D)?;
    with_agent(drv, d, true, |s, _| {
        let v = exec_required(s, "guest-get-time", None)?;
        let ns = v.as_u64().ok_or_else(|| internal("malformed return value"))?;
        Ok(((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32))
    })
}

/// `virDomainSetTime` (`VIR_DOMAIN_TIME_SYNC`: the guest reads its RTC).
pub fn set_time(drv: &Driver, d: &DomainRef, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
    oxvirt::driver::check_flags(flags, 1, "qemuDomainSetTime", D)?;
    let sync = flags & 1 != 0;
    if !sync && seconds > i64::MAX / 1_000_000_000 {
        return Err(Error::new(ErrorCode::InvalidArg, D, format!("Time '{seconds}' is too big for guest agent")));
    }
    with_agent(drv, d, true, |s, _| {
        let args = (!sync).then(|| json!({"time": seconds * 1_000_000_000 + i64::from(nseconds)}));
        exec_required(s, "guest-set-time", args)?;
        Ok(())
    })?;
    // Reset the RTC's interrupt reinjection, as libvirt does after setting the time
    // on x86; an older QEMU without the command is not an error here.
    let _ = drv.monitor_query(d, super::domobj::Expect::Nothing, |_| Ok(()), |q| q.execute("rtc-reset-reinjection", None));
    Ok(())
}

/// `virDomainGetHostname` (`VIR_DOMAIN_GET_HOSTNAME_LEASE` = 1, `_AGENT` = 2; none:
/// the agent).
pub fn hostname(drv: &Driver, d: &DomainRef, flags: u32) -> Result<String> {
    oxvirt::driver::check_flags(flags, 3, "qemuDomainGetHostname", D)?;
    if flags == 3 {
        // virReportInvalidArg: the message has no "invalid argument" prefix.
        return Err(Error::raw(
            ErrorCode::InvalidArg,
            D,
            "Flags 'VIR_DOMAIN_GET_HOSTNAME_LEASE' and 'VIR_DOMAIN_GET_HOSTNAME_AGENT' are mutually exclusive",
        ));
    }
    if flags == 1 {
        return Err(Error::new(ErrorCode::NoHostname, D, format!("no hostname found for domain {}", d.name)));
    }
    with_agent(drv, d, true, |s, _| host_name(s, true)).and_then(|h| h.ok_or_else(|| internal("malformed return value")))
}

fn host_name(s: &mut Session, report_unsupported: bool) -> Result<Option<String>> {
    let Some(v) = exec(s, "guest-get-host-name", None, report_unsupported)? else { return Ok(None) };
    if !v.is_object() {
        return Err(internal("malformed return value"));
    }
    v.get("host-name")
        .and_then(Value::as_str)
        .map(|h| Some(h.to_string()))
        .ok_or_else(|| internal("'host-name' missing in guest-get-host-name reply"))
}

/// `guest-network-get-interfaces` → interfaces (`qemuAgentGetAllInterfaceAddresses`:
/// aliases `eth0:1` fold into `eth0`).
pub fn parse_interfaces(v: &Value) -> Result<Vec<DomainInterface>> {
    let arr = v.as_array().ok_or_else(|| internal("qemu agent didn't return an array of interfaces"))?;
    let mut out: Vec<DomainInterface> = Vec::new();
    for obj in arr {
        let name = obj.get("name").and_then(Value::as_str).ok_or_else(|| internal("qemu agent didn't provide 'name' field"))?;
        let ifname = name.split(':').next().unwrap_or(name).to_string();
        let idx = match out.iter().position(|i| i.name == ifname) {
            Some(i) => i,
            None => {
                let hwaddr = obj.get("hardware-address").and_then(Value::as_str).map(str::to_string);
                out.push(DomainInterface { name: ifname, hwaddr, addrs: Vec::new() });
                out.len() - 1
            }
        };
        let Some(addrs) = obj.get("ip-addresses") else { continue };
        let addrs = addrs.as_array().ok_or_else(|| internal("Malformed ip-addresses array"))?;
        for a in addrs {
            let typ = a
                .get("ip-address-type")
                .and_then(Value::as_str)
                .ok_or_else(|| internal(format!("qemu agent didn't provide 'ip-address-type' field for interface '{name}'")))?;
            let typ = match typ {
                "ipv4" => IP_ADDR_TYPE_IPV4,
                "ipv6" => IP_ADDR_TYPE_IPV6,
                other => return Err(internal(format!("unknown ip address type '{other}'"))),
            };
            let addr = a
                .get("ip-address")
                .and_then(Value::as_str)
                .ok_or_else(|| internal(format!("qemu agent didn't provide 'ip-address' field for interface '{name}'")))?;
            let prefix = a
                .get("prefix")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| internal("malformed 'prefix' field"))?;
            out[idx].addrs.push(IpAddress { typ, addr: addr.to_string(), prefix });
        }
    }
    Ok(out)
}

/// `virDomainInterfaceAddresses`.
pub fn interface_addresses(drv: &Driver, d: &DomainRef, source: u32, flags: u32) -> Result<Vec<DomainInterface>> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainInterfaceAddresses", D)?;
    drv.refresh(&d.uuid);
    let def = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        if !o.is_active() {
            return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"));
        }
        o.def.clone()
    };
    match source {
        ifaddr_source::LEASE => {
            // Leases come from libvirt networks' DHCP servers; other interface types
            // have none.
            if def.devices.interfaces.iter().any(|n| n.iface_type == "network") {
                return Err(Error::new(ErrorCode::NoSupport, D, "DHCP leases of virtual networks are not available"));
            }
            Ok(Vec::new())
        }
        ifaddr_source::AGENT => with_agent(drv, d, true, |s, _| {
            let v = exec_required(s, "guest-network-get-interfaces", None)?;
            parse_interfaces(&v)
        }),
        ifaddr_source::ARP => {
            let table = std::fs::read_to_string("/proc/net/arp").unwrap_or_default();
            Ok(parse_arp(&table, &def))
        }
        other => Err(Error::new(ErrorCode::ArgumentUnsupported, D, format!("Unknown IP address data source {other}"))),
    }
}

/// `/proc/net/arp` entries whose MAC is one of the domain's interfaces
/// (`virDomainNetARPInterfaces`).
pub fn parse_arp(table: &str, def: &DomainDef) -> Vec<DomainInterface> {
    let mut out = Vec::new();
    for n in &def.devices.interfaces {
        for line in table.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 4 && f[3].eq_ignore_ascii_case(&n.mac) {
                out.push(DomainInterface {
                    name: n.target_dev.clone().unwrap_or_default(),
                    hwaddr: Some(n.mac.to_lowercase()),
                    addrs: vec![IpAddress { typ: IP_ADDR_TYPE_IPV4, addr: f[0].to_string(), prefix: 0 }],
                });
            }
        }
    }
    out
}

/// `virDomainGetGuestInfo`.
pub fn guest_info(drv: &Driver, d: &DomainRef, types: u32, flags: u32) -> Result<Vec<TypedParam>> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainGetGuestInfo", D)?;
    let supported = G::USERS | G::OS | G::TIMEZONE | G::HOSTNAME | G::FILESYSTEM | G::DISKS | G::INTERFACES;
    if types & !supported != 0 {
        return Err(Error::new(ErrorCode::InvalidArg, D, format!("unsupported guest information types '0x{:x}'", types & !supported)));
    }
    let wanted = if types == 0 { supported } else { types };
    let report = types != 0;
    let (mut p, fs, disks, ifaces, def) = with_agent(drv, d, true, |s, _| {
        let mut p = TypedParamList::default();
        if wanted & G::USERS != 0 {
            if let Some(v) = exec(s, "guest-get-users", None, report)? {
                users(&v, &mut p)?;
            }
        }
        if wanted & G::OS != 0 {
            if let Some(v) = exec(s, "guest-get-osinfo", None, report)? {
                os_info(&v, &mut p)?;
            }
        }
        if wanted & G::TIMEZONE != 0 {
            if let Some(v) = exec(s, "guest-get-timezone", None, report)? {
                timezone(&v, &mut p)?;
            }
        }
        if wanted & G::HOSTNAME != 0 {
            if let Some(h) = host_name(s, report)? {
                p.string("hostname", h);
            }
        }
        let fs = if wanted & G::FILESYSTEM != 0 { exec(s, "guest-get-fsinfo", None, report)? } else { None };
        let disks = if wanted & G::DISKS != 0 { exec(s, "guest-get-disks", None, report)? } else { None };
        let ifaces = if wanted & G::INTERFACES != 0 {
            exec(s, "guest-network-get-interfaces", None, report)?.map(|v| parse_interfaces(&v)).transpose()?
        } else {
            None
        };
        let def = drv.doms().by_ref(d).map(|o| o.def.clone())?;
        Ok((p, fs, disks, ifaces, def))
    })?;
    if let Some(v) = fs {
        fs_info(&v, &def, &mut p)?;
    }
    if let Some(v) = disks {
        disk_info(&v, &def, &mut p)?;
    }
    if let Some(ifaces) = ifaces.filter(|i| !i.is_empty()) {
        p.uint("if.count", ifaces.len() as u32);
        for (i, f) in ifaces.iter().enumerate() {
            p.string(format!("if.{i}.name"), f.name.clone());
            p.string(format!("if.{i}.hwaddr"), f.hwaddr.clone().unwrap_or_default());
            p.uint(format!("if.{i}.addr.count"), f.addrs.len() as u32);
            for (j, a) in f.addrs.iter().enumerate() {
                p.string(format!("if.{i}.addr.{j}.type"), if a.typ == IP_ADDR_TYPE_IPV6 { "ipv6" } else { "ipv4" });
                p.string(format!("if.{i}.addr.{j}.addr"), a.addr.clone());
                p.uint(format!("if.{i}.addr.{j}.prefix"), a.prefix);
            }
        }
    }
    Ok(p.0)
}

/// `guest-get-users` → `user.*` (`qemuAgentGetUsers`).
pub fn users(v: &Value, p: &mut TypedParamList) -> Result<()> {
    let arr = v.as_array().ok_or_else(|| internal("guest-get-users reply was missing return data"))?;
    p.uint("user.count", arr.len() as u32);
    for (i, e) in arr.iter().enumerate() {
        let user = e.get("user").and_then(Value::as_str).ok_or_else(|| internal("'user' missing in reply of guest-get-users"))?;
        p.string(format!("user.{i}.name"), user);
        if let Some(dom) = e.get("domain").and_then(Value::as_str) {
            p.string(format!("user.{i}.domain"), dom);
        }
        let t = e.get("login-time").and_then(Value::as_f64).ok_or_else(|| internal("'login-time' missing in reply of guest-get-users"))?;
        p.ullong(format!("user.{i}.login-time"), (t * 1000.0) as u64);
    }
    Ok(())
}

/// `guest-get-osinfo` → `os.*` (`qemuAgentGetOSInfo`).
pub fn os_info(v: &Value, p: &mut TypedParamList) -> Result<()> {
    if !v.is_object() {
        return Err(internal("guest-get-osinfo reply was missing return data"));
    }
    for (k, name) in [
        ("id", "os.id"),
        ("name", "os.name"),
        ("pretty-name", "os.pretty-name"),
        ("version", "os.version"),
        ("version-id", "os.version-id"),
        ("machine", "os.machine"),
        ("variant", "os.variant"),
        ("variant-id", "os.variant-id"),
        ("kernel-release", "os.kernel-release"),
        ("kernel-version", "os.kernel-version"),
    ] {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            p.string(name, s);
        }
    }
    Ok(())
}

/// `guest-get-timezone` → `timezone.*` (`qemuAgentGetTimezone`).
pub fn timezone(v: &Value, p: &mut TypedParamList) -> Result<()> {
    if !v.is_object() {
        return Err(internal("guest-get-timezone reply was missing return data"));
    }
    if let Some(z) = v.get("zone").and_then(Value::as_str) {
        p.string("timezone.name", z);
    }
    let off = v
        .get("offset")
        .and_then(Value::as_i64)
        .and_then(|o| i32::try_from(o).ok())
        .ok_or_else(|| internal("'offset' missing in reply of guest-get-timezone"))?;
    p.int("timezone.offset", off);
    Ok(())
}

/// The guest-side disk address of an agent reply → the domain's disk target
/// (`virDomainDiskByAddress`, PCI function of a virtio disk only).
fn disk_target(addr: &Value, def: &DomainDef) -> Option<String> {
    let pci = addr.get("pci-controller")?;
    let (dom, bus, slot, func) =
        (pci.get("domain")?.as_u64()?, pci.get("bus")?.as_u64()?, pci.get("slot")?.as_u64()?, pci.get("function")?.as_u64()?);
    def.devices.disks.iter().find_map(|d| match &d.info.address {
        Some(oxvirt_conf::domain::Address::Pci { domain, bus: b, slot: s, function: f, .. })
            if u64::from(*domain) == dom && u64::from(*b) == bus && u64::from(*s) == slot && u64::from(*f) == func =>
        {
            Some(d.target_dev.clone())
        }
        _ => None,
    })
}

/// `guest-get-fsinfo` → `fs.*` (`qemuAgentFSInfoFormatParams`).
pub fn fs_info(v: &Value, def: &DomainDef, p: &mut TypedParamList) -> Result<()> {
    let arr = v.as_array().ok_or_else(|| internal("guest-get-fsinfo reply was missing return data"))?;
    if arr.is_empty() {
        return Ok(());
    }
    p.uint("fs.count", arr.len() as u32);
    for (i, e) in arr.iter().enumerate() {
        let s = |k: &str| {
            e.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| internal(format!("'{k}' missing in reply of guest-get-fsinfo")))
        };
        p.string(format!("fs.{i}.name"), s("name")?);
        p.string(format!("fs.{i}.mountpoint"), s("mountpoint")?);
        p.string(format!("fs.{i}.fstype"), s("type")?);
        if let Some(t) = e.get("total-bytes").and_then(Value::as_u64) {
            p.ullong(format!("fs.{i}.total-bytes"), t);
        }
        if let Some(u) = e.get("used-bytes").and_then(Value::as_u64) {
            p.ullong(format!("fs.{i}.used-bytes"), u);
        }
        let disks = e.get("disk").and_then(Value::as_array).ok_or_else(|| internal("'disk' missing in reply of guest-get-fsinfo"))?;
        p.uint(format!("fs.{i}.disk.count"), disks.len() as u32);
        for (j, dk) in disks.iter().enumerate() {
            if let Some(t) = disk_target(dk, def) {
                p.string(format!("fs.{i}.disk.{j}.alias"), t);
            }
            if let Some(s) = dk.get("serial").and_then(Value::as_str) {
                p.string(format!("fs.{i}.disk.{j}.serial"), s);
            }
            if let Some(s) = dk.get("dev").and_then(Value::as_str) {
                p.string(format!("fs.{i}.disk.{j}.device"), s);
            }
        }
    }
    Ok(())
}

/// `guest-get-disks` → `disk.*` (`qemuAgentDiskInfoFormatParams`).
pub fn disk_info(v: &Value, def: &DomainDef, p: &mut TypedParamList) -> Result<()> {
    let arr = v.as_array().ok_or_else(|| internal("guest-get-disks reply was missing return data"))?;
    if arr.is_empty() {
        return Ok(());
    }
    p.uint("disk.count", arr.len() as u32);
    for (i, e) in arr.iter().enumerate() {
        let name = e.get("name").and_then(Value::as_str).ok_or_else(|| internal("'name' missing in reply of guest-get-disks"))?;
        p.string(format!("disk.{i}.name"), name);
        p.boolean(format!("disk.{i}.partition"), e.get("partition").and_then(Value::as_bool).unwrap_or(false));
        if let Some(deps) = e.get("dependencies").and_then(Value::as_array).filter(|d| !d.is_empty()) {
            p.uint(format!("disk.{i}.dependency.count"), deps.len() as u32);
            for (j, dep) in deps.iter().enumerate() {
                p.string(format!("disk.{i}.dependency.{j}.name"), dep.as_str().unwrap_or(""));
            }
        }
        if let Some(addr) = e.get("address") {
            if let Some(s) = addr.get("serial").and_then(Value::as_str) {
                p.string(format!("disk.{i}.serial"), s);
            }
            if let Some(t) = disk_target(addr, def) {
                p.string(format!("disk.{i}.alias"), t);
            }
        }
        if let Some(a) = e.get("alias").and_then(Value::as_str) {
            p.string(format!("disk.{i}.guest_alias"), a);
        }
    }
    Ok(())
}

/// Shutdown (`reboot` false) or reboot through the agent (`guest-shutdown`,
/// `qemuDomainShutdownFlagsAgent` / `qemuDomainRebootAgent`). It succeeds once the
/// guest acts: the agent answers, its channel closes, the guest side of the channel
/// goes away (the guest is rebooting) or the domain stops.
pub fn agent_shutdown(drv: &Driver, d: &DomainRef, reboot: bool) -> Result<()> {
    let mode = if reboot { "reboot" } else { "powerdown" };
    with_agent(drv, d, true, |s, t| {
        let cmd = json!({"execute": "guest-shutdown", "arguments": {"mode": mode}});
        let gone = || {
            let doms = drv.doms();
            let same_run = doms.by_ref(d).map(|o| o.is_active() && o.id == t.id).unwrap_or(false);
            drop(doms);
            !same_run || !connected(t)
        };
        match s.exec_until_gone(&cmd, SHUTDOWN_TIMEOUT, gone).map_err(agent_err)? {
            Some(reply) => match agent::reply_error(&reply) {
                Some((_, desc)) => Err(internal(format!("unable to execute QEMU agent command 'guest-shutdown': {desc}"))),
                None => Ok(()),
            },
            None => Ok(()),
        }
    })
}

// the agent side of virDomainPMSuspendForDuration.
/// `qemuDomainAgentAvailable(vm, true)`: running, configured and connected, or
/// libvirt's errors.
pub(super) fn agent_ready(drv: &Driver, d: &DomainRef) -> Result<()> {
    drv.refresh(&d.uuid);
    let t = {
        let doms = drv.doms();
        available(doms.by_ref(d)?, true)?
    };
    if !connected(&t) {
        return Err(Error::new(ErrorCode::AgentUnresponsive, D, "QEMU guest agent is not connected"));
    }
    Ok(())
}

/// `qemuAgentSuspend`: `guest-suspend-ram`, `-disk` or `-hybrid`. The agent answers
/// only when it fails; success is the guest leaving the running state (QEMU's
/// SUSPEND event, or the end of the run after suspend-to-disk), which is what
/// libvirt's agent awaits (`QEMU_AGENT_EVENT_SUSPEND`), within the agent's timeout.
pub(super) fn agent_suspend(drv: &Driver, d: &DomainRef, command: &str) -> Result<()> {
    with_agent(drv, d, true, |s, t| {
        let cmd = json!({ "execute": command });
        let gone = || {
            let doms = drv.doms();
            doms.by_ref(d).map(|o| !(o.is_active() && o.id == t.id && o.state == DomainState::Running)).unwrap_or(true)
        };
        let wait = reply_timeout(&t.uuid).unwrap_or(Duration::from_secs(86_400));
        match s.exec_until_gone(&cmd, wait, gone).map_err(agent_err)? {
            Some(reply) => match agent::reply_error(&reply) {
                Some((_, desc)) => Err(internal(format!("unable to execute QEMU agent command '{command}': {desc}"))),
                None => Ok(()),
            },
            None => Ok(()),
        }
    })
}

/// `virDomainFSFreeze` (`freeze`) / `virDomainFSThaw`: `guest-fsfreeze-freeze`,
/// `-freeze-list` with mount points, `-thaw`; the number of file systems.
pub fn fs_freeze(drv: &Driver, d: &DomainRef, mountpoints: &[String], flags: u32, freeze: bool) -> Result<i32> {
    oxvirt::driver::check_flags(flags, 0, if freeze { "qemuDomainFSFreeze" } else { "qemuDomainFSThaw" }, D)?;
    with_agent(drv, d, true, |s, _| {
        let v = if !freeze {
            exec_required(s, "guest-fsfreeze-thaw", None)?
        } else if mountpoints.is_empty() {
            exec_required(s, "guest-fsfreeze-freeze", None)?
        } else {
            exec_required(s, "guest-fsfreeze-freeze-list", Some(json!({ "mountpoints": mountpoints })))?
        };
        v.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| internal("malformed return value"))
    })
}

/// `virDomainGetFSInfo`: `guest-get-fsinfo`, disks matched to the definition's targets.
pub fn get_fs_info(drv: &Driver, d: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainGetFSInfo", D)?;
    let (v, def) = with_agent(drv, d, true, |s, _| {
        let v = exec_required(s, "guest-get-fsinfo", None)?;
        Ok((v, drv.doms().by_ref(d).map(|o| o.def.clone())?))
    })?;
    parse_fs_info(&v, &def)
}

/// `guest-get-fsinfo` → [`FsInfo`] (`qemuAgentGetFSInfo` + `qemuAgentFSInfoToPublic`).
pub fn parse_fs_info(v: &Value, def: &DomainDef) -> Result<Vec<FsInfo>> {
    let arr = v.as_array().ok_or_else(|| internal("guest-get-fsinfo reply was missing return data"))?;
    arr.iter()
        .map(|e| {
            let s = |k: &str| {
                e.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| internal(format!("'{k}' missing in reply of guest-get-fsinfo")))
            };
            let disks = e.get("disk").and_then(Value::as_array).ok_or_else(|| internal("'disk' missing in reply of guest-get-fsinfo"))?;
            Ok(FsInfo {
                mountpoint: s("mountpoint")?,
                name: s("name")?,
                fstype: s("type")?,
                dev_aliases: disks.iter().filter_map(|dk| disk_target(dk, def)).collect(),
            })
        })
        .collect()
}

/// Standard base64 with padding (the agent's `guest-set-user-password` wants it).
fn base64(data: &[u8]) -> String {
    oxvirt_util::base64::encode(data)
}

/// `virDomainSetUserPassword` (`VIR_DOMAIN_PASSWORD_ENCRYPTED` = 1: already crypted).
pub fn set_user_password(drv: &Driver, d: &DomainRef, user: &str, password: &str, flags: u32) -> Result<()> {
    oxvirt::driver::check_flags(flags, 1, "qemuDomainSetUserPassword", D)?;
    with_agent(drv, d, true, |s, _| {
        let args = json!({"username": user, "password": base64(password.as_bytes()), "crypted": flags & 1 != 0});
        exec_required(s, "guest-set-user-password", Some(args))?;
        Ok(())
    })
}

/// The largest vCPU id the guest-vCPU calls accept (libvirt's `QEMU_GUEST_VCPU_MAX_ID`).
const GUEST_VCPU_MAX_ID: u32 = 4096;

/// `guest-get-vcpus` → (logical id, online, can-offline) per vCPU (`qemuAgentGetVCPUs`).
pub fn parse_guest_vcpus(v: &Value) -> Result<Vec<(u32, bool, bool)>> {
    let arr = v.as_array().ok_or_else(|| internal("guest agent didn't return an array"))?;
    arr.iter()
        .map(|e| {
            let id = e
                .get("logical-id")
                .and_then(Value::as_u64)
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| internal("'logical-id' missing in reply of guest-get-vcpus"))?;
            let online =
                e.get("online").and_then(Value::as_bool).ok_or_else(|| internal("'online' missing in reply of guest-get-vcpus"))?;
            let off = e
                .get("can-offline")
                .and_then(Value::as_bool)
                .ok_or_else(|| internal("'can-offline' missing in reply of guest-get-vcpus"))?;
            Ok((id, online, off))
        })
        .collect()
}

/// `virBitmapFormat`: `0-3,5`.
fn format_ids(mut ids: Vec<u32>) -> String {
    ids.sort_unstable();
    ids.dedup();
    let mut parts: Vec<(u32, u32)> = Vec::new();
    for c in ids {
        match parts.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => parts.push((c, c)),
        }
    }
    parts.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(",")
}

/// `virBitmapParse` of a CPU list (`0-3,^2`), ids below `max`.
pub fn parse_ids(s: &str, max: u32) -> Result<Vec<u32>> {
    let bad = || Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("Failed to parse bitmap '{s}'"));
    let mut set = std::collections::BTreeSet::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(bad());
        }
        let (neg, body) = match part.strip_prefix('^') {
            Some(b) => (true, b),
            None => (false, part),
        };
        let (a, b) = match body.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().map_err(|_| bad())?, b.trim().parse::<u32>().map_err(|_| bad())?),
            None => {
                let v = body.parse::<u32>().map_err(|_| bad())?;
                (v, v)
            }
        };
        if a > b || b >= max || (neg && a != b) {
            return Err(bad());
        }
        for i in a..=b {
            if neg {
                set.remove(&i);
            } else {
                set.insert(i);
            }
        }
    }
    Ok(set.into_iter().collect())
}

/// `virDomainGetGuestVcpus`: `vcpus`, `online`, `offlinable` CPU lists.
pub fn get_guest_vcpus(drv: &Driver, d: &DomainRef, flags: u32) -> Result<Vec<TypedParam>> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainGetGuestVcpus", D)?;
    let info = with_agent(drv, d, true, |s, _| parse_guest_vcpus(&exec_required(s, "guest-get-vcpus", None)?))?;
    if let Some((id, _, _)) = info.iter().find(|(id, _, _)| *id >= GUEST_VCPU_MAX_ID) {
        return Err(internal(format!("vcpu id '{id}' reported by guest agent is out of range")));
    }
    let mut p = TypedParamList::default();
    p.string("vcpus", format_ids(info.iter().map(|v| v.0).collect()));
    p.string("online", format_ids(info.iter().filter(|v| v.1).map(|v| v.0).collect()));
    p.string("offlinable", format_ids(info.iter().filter(|v| v.2).map(|v| v.0).collect()));
    Ok(p.0)
}

/// `virDomainSetGuestVcpus`: `guest-set-vcpus` for the vCPUs of `cpumap`, resent for
/// those the agent did not process yet (it stops at the first failure).
pub fn set_guest_vcpus(drv: &Driver, d: &DomainRef, cpumap: &str, state: i32, flags: u32) -> Result<()> {
    oxvirt::driver::check_flags(flags, 0, "qemuDomainSetGuestVcpus", D)?;
    if state != 0 && state != 1 {
        return Err(Error::raw(ErrorCode::InvalidArg, D, "unsupported state value"));
    }
    let mut wanted = parse_ids(cpumap, GUEST_VCPU_MAX_ID)?;
    with_agent(drv, d, true, |s, _| {
        let info = parse_guest_vcpus(&exec_required(s, "guest-get-vcpus", None)?)?;
        let mut todo = Vec::new();
        for (id, _, offlinable) in &info {
            if !wanted.contains(id) {
                continue;
            }
            if state == 0 && !offlinable {
                return Err(Error::new(ErrorCode::OperationUnsupported, D, format!("vCPU '{id}' is not offlinable")));
            }
            todo.push(*id);
            wanted.retain(|w| w != id);
        }
        if !wanted.is_empty() {
            return Err(Error::new(ErrorCode::InvalidArg, D, format!("guest is missing vCPUs '{}'", format_ids(wanted.clone()))));
        }
        while !todo.is_empty() {
            let list: Vec<Value> = todo.iter().map(|id| json!({"logical-id": id, "online": state == 1})).collect();
            let done = exec_required(s, "guest-set-vcpus", Some(json!({ "vcpus": list })))?;
            let n = done.as_u64().map(|n| n as usize).filter(|n| *n <= todo.len());
            match n {
                Some(0) | None => return Err(internal("guest agent returned malformed or invalid return value")),
                Some(n) => {
                    todo.drain(..n);
                }
            }
        }
        Ok(())
    })
}

/// `qemuDomainAgentAvailable` with errors, for `virDomainQemuAgentCommand`: running,
/// configured, and the guest side of the channel open.
pub fn require_available(drv: &Driver, d: &DomainRef) -> Result<()> {
    let t = available(drv.doms().by_ref(d)?, true)?;
    if !connected(&t) {
        return Err(Error::new(ErrorCode::AgentUnresponsive, D, "QEMU guest agent is not connected"));
    }
    Ok(())
}

/// Whether the agent of `d` is usable right now (libvirt's `priv->agent` being set).
fn agent_connected(drv: &Driver, d: &DomainRef) -> bool {
    let t = {
        let doms = drv.doms();
        match doms.by_ref(d).ok().map(|o| available(o, true)) {
            Some(Ok(t)) => t,
            _ => return false,
        }
    };
    connected(&t)
}

/// The agent part of `virDomainShutdownFlags` / `virDomainReboot` (`flags`:
/// `ACPI_POWER_BTN` = 1, `GUEST_AGENT` = 2): the agent is used when asked for, or
/// when no mode is given and it is connected. `Ok(true)`: done through the agent;
/// `Ok(false)`: the caller goes on with ACPI; an error when the agent alone was
/// asked for and failed. `reboot` is the API; the action follows the domain's
/// `on_poweroff` / `on_reboot` as libvirt's.
pub fn shutdown_by_agent(drv: &Driver, d: &DomainRef, flags: u32, reboot: bool) -> Result<bool> {
    let agent_requested = flags & 2 != 0;
    let acpi_requested = flags & 1 != 0;
    let use_agent = agent_requested || (flags == 0 && agent_connected(drv, d));
    if !use_agent {
        return Ok(false);
    }
    let (on_poweroff, on_reboot) = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        (o.def.on_poweroff.clone(), o.def.on_reboot.clone())
    };
    let is_reboot = if reboot {
        !matches!(on_reboot.as_str(), "destroy" | "preserve")
    } else {
        matches!(on_poweroff.as_str(), "restart" | "rename-restart")
    };
    let forced = agent_requested && !acpi_requested;
    match agent_shutdown(drv, d, is_reboot) {
        Ok(()) => Ok(true),
        Err(e) if forced => Err(e),
        Err(_) => {
            // Not forced: ACPI follows, unless the guest went away meanwhile.
            drv.refresh(&d.uuid);
            let active = drv.doms().by_ref(d).map(|o| o.is_active()).unwrap_or(false);
            Ok(!active)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_fold_aliases_and_check_fields() {
        let v = json!([
            {"name": "lo", "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8}], "hardware-address": "00:00:00:00:00:00"},
            {"name": "eth0", "hardware-address": "52:54:00:aa:bb:cc", "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "10.0.2.15", "prefix": 24}]},
            {"name": "eth0:1", "ip-addresses": [{"ip-address-type": "ipv6", "ip-address": "fe80::1", "prefix": 64}]}
        ]);
        let i = parse_interfaces(&v).unwrap();
        assert_eq!(i.len(), 2);
        assert_eq!(i[1].name, "eth0");
        assert_eq!(i[1].hwaddr.as_deref(), Some("52:54:00:aa:bb:cc"));
        assert_eq!(
            i[1].addrs.iter().map(|a| (a.typ, a.addr.as_str(), a.prefix)).collect::<Vec<_>>(),
            vec![(0, "10.0.2.15", 24), (1, "fe80::1", 64)]
        );
        let e = parse_interfaces(&json!([{"name": "x", "ip-addresses": [{"ip-address-type": "ipx"}]}])).unwrap_err();
        assert_eq!(e.message, "internal error: unknown ip address type 'ipx'");
        assert!(parse_interfaces(&json!({})).is_err());
    }

    #[test]
    fn guest_info_groups_use_libvirts_names() {
        let mut p = TypedParamList::default();
        users(&json!([{"user": "root", "login-time": 1.5}]), &mut p).unwrap();
        os_info(&json!({"id": "tiny", "name": "Tiny", "kernel-release": "6.1"}), &mut p).unwrap();
        timezone(&json!({"zone": "UTC", "offset": 0}), &mut p).unwrap();
        let names: Vec<&str> = p.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(
            names,
            ["user.count", "user.0.name", "user.0.login-time", "os.id", "os.name", "os.kernel-release", "timezone.name", "timezone.offset"]
        );
        assert_eq!(p.0[2].value, TypedValue::ULLong(1500));
        assert!(timezone(&json!({"zone": "UTC"}), &mut p).is_err());
    }

    #[test]
    fn base64_and_fs_info() {
        assert_eq!(base64(b"secret"), "c2VjcmV0");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        let def = DomainDef::parse(
            "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os><devices><disk type='file' device='disk'><source file='/x'/><target dev='vda' bus='virtio'/><address type='pci' domain='0' bus='0' slot='4' function='0'/></disk></devices></domain>",
            &Default::default(),
        )
        .unwrap();
        let v = json!([{"name": "vda1", "mountpoint": "/", "type": "ext4",
            "disk": [{"bus-type": "virtio", "bus": 0, "unit": 0, "target": 0, "pci-controller": {"domain": 0, "bus": 0, "slot": 4, "function": 0}}]}]);
        let fs = parse_fs_info(&v, &def).unwrap();
        assert_eq!(
            fs,
            vec![FsInfo { mountpoint: "/".into(), name: "vda1".into(), fstype: "ext4".into(), dev_aliases: vec!["vda".into()] }]
        );
    }

    #[test]
    fn guest_vcpu_lists() {
        assert_eq!(parse_ids("0-3,^2", 4096).unwrap(), vec![0, 1, 3]);
        assert_eq!(parse_ids("5", 4096).unwrap(), vec![5]);
        assert_eq!(parse_ids("x", 4096).unwrap_err().message, "invalid argument: Failed to parse bitmap 'x'");
        assert_eq!(format_ids(vec![3, 0, 1, 7]), "0-1,3,7");
        assert_eq!(format_ids(vec![]), "");
        let v = parse_guest_vcpus(&json!([{"logical-id": 0, "online": true, "can-offline": false}])).unwrap();
        assert_eq!(v, vec![(0, true, false)]);
    }

    #[test]
    fn frontend_open_reads_query_chardev() {
        let r = json!([{"label": "charchannel0", "filename": "unix:/x", "frontend-open": true}, {"label": "charserial0", "frontend-open": false}]);
        assert!(frontend_open(&r, "charchannel0"));
        assert!(!frontend_open(&r, "charserial0"));
        assert!(!frontend_open(&r, "nope"));
    }
}
