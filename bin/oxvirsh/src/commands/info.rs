//! Domain monitoring commands backed by the information and statistics calls:
//! `domblkstat`, `domifstat`, `dommemstat`, `domblkinfo`, `domstats`, `vcpuinfo`,
//! `domcontrol`, `domjobinfo`, `domblkerror`, `inject-nmi`, `send-key`, `screenshot`,
//! `dompmsuspend`, `dompmwakeup`, and the guest-agent ones
//! `domtime`, `domhostname`, `domifaddr`, `guestinfo`, `domfsinfo`, `domfsfreeze`,
//! `domfsthaw`, `set-user-password`, `guest-agent-timeout`, with virsh's output
//! layout and error lines.

use super::*;
use crate::parse::{b, d, n, s, Argv, CmdDef, CmdResult, Needs, DOMAIN, EMPTY_OK, REQ_OPT};
use crate::table::Table;
use oxvirt::stats::{guest_info_types as G, ifaddr_source, memstat, stats_flags as F, stats_types as T};
use oxvirt::{TypedParam, TypedValue};

macro_rules! cmd {
    ($name:expr, $group:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: $group, help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// The information commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "domblkstat",
        "monitor",
        "get device block stats for a domain",
        &[DOMAIN, s("device", EMPTY_OK, "block device"), b("human", "print a more human readable output")],
        cmd_domblkstat
    ),
    cmd!(
        "domifstat",
        "monitor",
        "get network interface stats for a domain",
        &[DOMAIN, d("interface", "interface device specified by name or MAC Address")],
        cmd_domifstat
    ),
    cmd!(
        "dommemstat",
        "monitor",
        "get memory statistics for a domain",
        &[
            DOMAIN,
            n("period", REQ_OPT, "period in seconds to set collection"),
            b("config", "affect next boot"),
            b("live", "affect running domain"),
            b("current", "affect current domain"),
        ],
        cmd_dommemstat
    ),
    cmd!(
        "domblkinfo",
        "monitor",
        "domain block device size information",
        &[DOMAIN, s("device", 0, "block device"), b("human", "Human readable output"), b("all", "display all block devices info")],
        cmd_domblkinfo
    ),
    cmd!(
        "domstats",
        "monitor",
        "get statistics about one or multiple domains",
        &[
            b("state", "report domain state"),
            b("cpu-total", "report domain physical cpu usage"),
            b("balloon", "report domain balloon statistics"),
            b("vcpu", "report domain virtual cpu information"),
            b("interface", "report domain network interface information"),
            b("block", "report domain block device statistics"),
            b("perf", "report domain perf event statistics"),
            b("iothread", "report domain IOThread information"),
            b("memory", "report domain memory usage"),
            b("dirtyrate", "report domain dirty rate information"),
            b("vm", "report hypervisor-specific statistics"),
            b("list-active", "list only active domains"),
            b("list-inactive", "list only inactive domains"),
            b("list-persistent", "list only persistent domains"),
            b("list-transient", "list only transient domains"),
            b("list-running", "list only running domains"),
            b("list-paused", "list only paused domains"),
            b("list-shutoff", "list only shutoff domains"),
            b("list-other", "list only domains in other states"),
            b("raw", "do not pretty-print the fields"),
            b("enforce", "enforce requested stats parameters"),
            b("backing", "add backing chain information to block stats"),
            b("nowait", "report only stats that are accessible instantly"),
            Argv::opt("domain", "list of domains to get stats for"),
        ],
        cmd_domstats
    ),
    cmd!("vcpuinfo", "domain", "detailed domain vcpu information", &[DOMAIN, b("pretty", "return human readable output")], cmd_vcpuinfo),
    cmd!(
        "domtime",
        "domain",
        "domain time",
        &[
            DOMAIN,
            b("now", "set to the time of the host running virsh"),
            b("pretty", "print domain's time in human readable form"),
            b("sync", "instead of setting given time, synchronize from domain's RTC"),
            n("time", REQ_OPT, "time to set"),
        ],
        cmd_domtime
    ),
    cmd!(
        "domhostname",
        "domain",
        "print the domain's hostname",
        &[DOMAIN, s("source", REQ_OPT, "address source: 'lease' or 'agent'")],
        cmd_domhostname
    ),
    cmd!(
        "domifaddr",
        "monitor",
        "Get network interfaces' addresses for a running domain",
        &[
            DOMAIN,
            s("interface", REQ_OPT, "network interface name"),
            b("full", "always display names and MACs of interfaces"),
            s("source", REQ_OPT, "address source: 'lease', 'agent', or 'arp'"),
        ],
        cmd_domifaddr
    ),
    cmd!(
        "guestinfo",
        "domain",
        "query information about the guest (via agent)",
        &[
            DOMAIN,
            b("user", "report active users"),
            b("os", "report operating system information"),
            b("timezone", "report timezone information"),
            b("hostname", "report hostname"),
            b("filesystem", "report filesystem information"),
            b("disk", "report disk information"),
            b("interface", "report interface information"),
        ],
        cmd_guestinfo
    ),
    cmd!("domcontrol", "monitor", "domain control interface state", &[DOMAIN], cmd_domcontrol),
    cmd!(
        "domjobinfo",
        "domain",
        "domain job information",
        &[
            DOMAIN,
            b("completed", "return statistics of a recently completed job"),
            b("keep-completed", "don't destroy statistics of a recently completed job when reading"),
            b("anystats", "print statistics for any kind of job (even failed ones)"),
            b("rawstats", "print the raw data returned by libvirt"),
        ],
        cmd_domjobinfo
    ),
    cmd!("domblkerror", "monitor", "Show errors on block devices", &[DOMAIN], cmd_domblkerror),
    cmd!("inject-nmi", "domain", "Inject NMI to the guest", &[DOMAIN], cmd_inject_nmi),
    // keys, screenshots, guest power management.
    cmd!(
        "send-key",
        "domain",
        "Send keycodes to the guest",
        &[
            DOMAIN,
            s("codeset", REQ_OPT, "the codeset of keycodes, default:linux"),
            n("holdtime", REQ_OPT, "the time (in milliseconds) how long the keys will be held"),
            crate::parse::OptDef {
                name: "keycode",
                kind: crate::parse::OptKind::Argv,
                flags: crate::parse::REQ,
                help: "the key code",
                complete: crate::parse::Complete::None,
            },
        ],
        cmd_send_key
    ),
    cmd!(
        "screenshot",
        "domain",
        "take a screenshot of a current domain console and store it into a file",
        &[DOMAIN, s("file", 0, "where to store the screenshot"), n("screen", 0, "ID of a screen to take screenshot of")],
        cmd_screenshot
    ),
    cmd!(
        "dompmsuspend",
        "domain",
        "suspend a domain gracefully using power management functions",
        &[
            DOMAIN,
            d("target", "mem(Suspend-to-RAM), disk(Suspend-to-Disk), hybrid(Hybrid-Suspend)"),
            n("duration", REQ_OPT, "duration in seconds"),
        ],
        cmd_dompmsuspend
    ),
    cmd!("dompmwakeup", "domain", "wakeup a domain from pmsuspended state", &[DOMAIN], cmd_dompmwakeup),
    cmd!(
        "domfsfreeze",
        "domain",
        "Freeze domain's mounted filesystems.",
        &[DOMAIN, Argv::opt("mountpoint", "mountpoint path to be frozen")],
        cmd_domfsfreeze
    ),
    cmd!(
        "domfsthaw",
        "domain",
        "Thaw domain's mounted filesystems.",
        &[DOMAIN, Argv::opt("mountpoint", "mountpoint path to be thawed")],
        cmd_domfsthaw
    ),
    cmd!("domfsinfo", "domain", "Get information of domain's mounted filesystems.", &[DOMAIN], cmd_domfsinfo),
    cmd!(
        "set-user-password",
        "domain",
        "set the user password inside the domain",
        &[DOMAIN, d("user", "the username"), d("password", "the new password"), b("encrypted", "the password is already encrypted")],
        cmd_set_user_password
    ),
    cmd!(
        "guest-agent-timeout",
        "domain",
        "Set the guest agent timeout",
        &[DOMAIN, n("timeout", REQ_OPT, "timeout seconds.")],
        cmd_guest_agent_timeout
    ),
    cmd!(
        "guestvcpus",
        "domain",
        "query or modify state of vcpu in the guest (via agent)",
        &[
            DOMAIN,
            s("cpulist", 0, "list of cpus to enable or disable"),
            b("enable", "enable cpus specified by cpulist"),
            b("disable", "disable cpus specified by cpulist"),
        ],
        cmd_guestvcpus
    ),
];

/// `vshGetTypedParamValue`.
pub(super) fn param_value(p: &TypedParam) -> String {
    match &p.value {
        TypedValue::Int(v) => v.to_string(),
        TypedValue::UInt(v) => v.to_string(),
        TypedValue::LLong(v) => v.to_string(),
        TypedValue::ULLong(v) => v.to_string(),
        TypedValue::Double(v) => format!("{v:.6}"),
        TypedValue::Boolean(v) => yes_no(*v).to_string(),
        TypedValue::String(v) => v.clone(),
    }
}

fn int_opt(ctl: &Ctl, cmd: &Cmd, name: &str) -> Result<Option<i64>, Fail> {
    cmd.int(name).map_err(|m| ctl.fail_msg(m))
}

/// `vshPrettyCapacity` printed with `%.3lf %s`, as `domblkinfo --human` does.
fn pretty3(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.3} {}", UNITS[u])
}

/// `domblkstat`'s known fields: (typed-parameter name, legacy name, human label).
const BLKSTAT_FIELDS: [(&str, Option<&str>, &str); 9] = [
    ("rd_operations", Some("rd_req"), "number of read operations:"),
    ("rd_bytes", Some("rd_bytes"), "number of bytes read:"),
    ("wr_operations", Some("wr_req"), "number of write operations:"),
    ("wr_bytes", Some("wr_bytes"), "number of bytes written:"),
    ("errs", Some("errs"), "error count:"),
    ("flush_operations", None, "number of flush operations:"),
    ("rd_total_times", None, "total duration of reads (ns):"),
    ("wr_total_times", None, "total duration of writes (ns):"),
    ("flush_total_times", None, "total duration of flushes (ns):"),
];

fn cmd_domblkstat(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let name = dom.name().to_string();
    let device = opt_str(ctl, cmd, "device")?.unwrap_or("").to_string();
    let human = cmd.has("human");
    let mut out = String::new();
    let mut dev = device.as_str();
    match dom.block_stats_flags(&device, 0) {
        Err(e) if !is_no_support(&e) => return Err(e.into()),
        Err(_) => {
            let st = dom.block_stats(&device).map_err(|e| ctl.fail(format!("Failed to get block stats {name} {device}"), e))?;
            if human {
                out += &format!("Device: {device}\n");
                dev = "";
            }
            for (i, v) in [st.rd_req, st.rd_bytes, st.wr_req, st.wr_bytes, st.errs].into_iter().enumerate() {
                if v >= 0 {
                    let (_, legacy, label) = BLKSTAT_FIELDS[i];
                    if human {
                        out += &format!("{dev} {label:<31} {v}\n");
                    } else {
                        out += &format!("{dev} {} {v}\n", legacy.unwrap_or(""));
                    }
                }
            }
        }
        Ok(mut params) => {
            if human {
                out += &format!("Device: {device}\n");
                dev = "";
            }
            for (field, legacy, label) in BLKSTAT_FIELDS {
                let Some(p) = params.iter_mut().find(|p| p.field == field) else { continue };
                let value = param_value(p);
                p.field.clear();
                if human {
                    out += &format!("{dev} {label:<31} {value}\n");
                } else {
                    out += &format!("{dev} {} {value}\n", legacy.unwrap_or(field));
                }
            }
            for p in params.iter().filter(|p| !p.field.is_empty()) {
                out += &format!("{dev} {} {}\n", p.field, param_value(p));
            }
        }
    }
    ctl.print(&out);
    Ok(())
}

fn cmd_domifstat(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let device = req_str(ctl, cmd, "interface")?.to_string();
    let st = dom.interface_stats(&device).map_err(|e| ctl.fail(format!("Failed to get interface stats {} {device}", dom.name()), e))?;
    let mut out = String::new();
    for (k, v) in [
        ("rx_bytes", st.rx_bytes),
        ("rx_packets", st.rx_packets),
        ("rx_errs", st.rx_errs),
        ("rx_drop", st.rx_drop),
        ("tx_bytes", st.tx_bytes),
        ("tx_packets", st.tx_packets),
        ("tx_errs", st.tx_errs),
        ("tx_drop", st.tx_drop),
    ] {
        if v >= 0 {
            out += &format!("{device} {k} {v}\n");
        }
    }
    ctl.print(&out);
    Ok(())
}

fn cmd_dommemstat(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    exclusive(ctl, cmd, "current", "live")?;
    exclusive(ctl, cmd, "current", "config")?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut flags = mod_flags(ctl, cmd)?;
    if !cmd.has("current") && !cmd.has("live") && !cmd.has("config") && dom.is_active().unwrap_or(false) {
        flags |= oxvirt::DomainModFlags::LIVE;
    }
    if let Some(period) = int_opt(ctl, cmd, "period")? {
        let period = i32::try_from(period).unwrap_or(-1);
        if period < 0 {
            return Err(ctl.fail_msg(format!("Invalid collection period value '{period}'")));
        }
        dom.set_memory_stats_period(period, flags).map_err(|e| ctl.fail("Unable to change balloon collection period.", e))?;
        return Ok(());
    }
    let stats =
        dom.memory_stats(memstat::NR, 0).map_err(|e| ctl.fail(format!("Failed to get memory statistics for domain {}", dom.name()), e))?;
    let mut out = String::new();
    for st in stats {
        let name = match st.tag {
            memstat::SWAP_IN => "swap_in",
            memstat::SWAP_OUT => "swap_out",
            memstat::MAJOR_FAULT => "major_fault",
            memstat::MINOR_FAULT => "minor_fault",
            memstat::UNUSED => "unused",
            memstat::AVAILABLE => "available",
            memstat::USABLE => "usable",
            memstat::ACTUAL_BALLOON => "actual",
            memstat::RSS => "rss",
            memstat::LAST_UPDATE => "last_update",
            memstat::DISK_CACHES => "disk_caches",
            memstat::HUGETLB_PGALLOC => "hugetlb_pgalloc",
            memstat::HUGETLB_PGFAIL => "hugetlb_pgfail",
            _ => continue,
        };
        out += &format!("{name} {}\n", st.val);
    }
    ctl.print(&out);
    Ok(())
}

/// `cmdDomblkinfoGet`: the three sizes as virsh prints them.
fn blkinfo_cells(i: &oxvirt::BlockInfo, human: bool) -> [String; 3] {
    if i.capacity == 0 && i.allocation == 0 && i.physical == 0 {
        return ["-".into(), "-".into(), "-".into()];
    }
    let f = |v: u64| if human { pretty3(v) } else { v.to_string() };
    [f(i.capacity), f(i.allocation), f(i.physical)]
}

fn cmd_domblkinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    exclusive(ctl, cmd, "all", "device")?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let all = cmd.has("all");
    let device = cmd.get("device").filter(|d| !d.is_empty()).map(str::to_string);
    if !all && device.is_none() {
        return Err(ctl.fail_msg("command 'domblkinfo' requires <device> option"));
    }
    let human = cmd.has("human");
    if all {
        let xml = dom.xml_desc(oxvirt::DomainXmlFlags::empty())?;
        let def = oxvirt_conf::domain::DomainDef::parse(&xml, &oxvirt_conf::domain::ParseOptions::default())
            .map_err(|e| Fail::Api(e.into_vir(oxvirt::ErrorDomain::Domain)))?;
        let mut t = Table::new(&["Target", "Capacity", "Allocation", "Physical"]);
        for disk in &def.devices.disks {
            let has_source = disk.source.path.is_some() || disk.source.protocol.is_some() || disk.source.name.is_some();
            let info = if has_source { dom.block_info(&disk.target_dev, 0)? } else { oxvirt::BlockInfo::default() };
            let [c, a, p] = blkinfo_cells(&info, human);
            t.row(&[disk.target_dev.as_str(), &c, &a, &p]);
        }
        ctl.print_table(&t);
        return Ok(());
    }
    let info = dom.block_info(device.as_deref().unwrap_or(""), 0)?;
    let [c, a, p] = blkinfo_cells(&info, human);
    ctl.print(&format!("{:<15} {c}\n{:<15} {a}\n{:<15} {p}\n", "Capacity:", "Allocation:", "Physical:"));
    Ok(())
}

fn cmd_domstats(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let mut stats = 0;
    for (opt, bit) in [
        ("state", T::STATE),
        ("cpu-total", T::CPU_TOTAL),
        ("balloon", T::BALLOON),
        ("vcpu", T::VCPU),
        ("interface", T::INTERFACE),
        ("block", T::BLOCK),
        ("perf", T::PERF),
        ("iothread", T::IOTHREAD),
        ("memory", T::MEMORY),
        ("dirtyrate", T::DIRTYRATE),
        ("vm", T::VM),
    ] {
        if cmd.has(opt) {
            stats |= bit;
        }
    }
    let mut flags = 0;
    for (opt, bit) in [
        ("list-active", F::ACTIVE),
        ("list-inactive", F::INACTIVE),
        ("list-persistent", F::PERSISTENT),
        ("list-transient", F::TRANSIENT),
        ("list-running", F::RUNNING),
        ("list-paused", F::PAUSED),
        ("list-shutoff", F::SHUTOFF),
        ("list-other", F::OTHER),
        ("enforce", F::ENFORCE_STATS),
        ("backing", F::BACKING),
        ("nowait", F::NOWAIT),
    ] {
        if cmd.has(opt) {
            flags |= bit;
        }
    }
    let mut doms = Vec::new();
    for name in cmd.all("domain") {
        doms.push(lookup_domain_str(ctl, &conn, name)?);
    }
    let records = conn.all_domain_stats(&doms, stats, flags)?;
    let mut out = String::new();
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out += &format!("Domain: '{}'\n", r.dom.name);
        for p in &r.params {
            out += &format!("  {}={}\n", p.field, param_value(p));
        }
    }
    ctl.print(&out);
    Ok(())
}

fn cmd_vcpuinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let node = conn.node_info()?;
    let maxcpu = (node.nodes * node.sockets * node.cores * node.threads) as usize;
    let info = dom.info()?;
    let maplen = maxcpu.div_ceil(8);
    let (vcpus, maps) = dom.vcpus(info.nr_virt_cpu as i32, maplen as i32)?;
    let mut out = String::new();
    for (i, v) in vcpus.iter().enumerate() {
        out += &kv("VCPU:", v.number);
        out += &kv("CPU:", v.cpu);
        let state = match v.state {
            0 => "offline",
            1 => "running",
            2 => "blocked",
            _ => "no state",
        };
        out += &kv("State:", state);
        if v.cpu_time != 0 {
            out += &kv("CPU time:", format!("{:.1}s", v.cpu_time as f64 / 1e9));
        }
        let map = maps.get(i * maplen..(i + 1) * maplen).unwrap_or(&[]);
        let used = |c: usize| map.get(c / 8).is_some_and(|b| b & (1 << (c % 8)) != 0);
        let aff = if cmd.has("pretty") {
            format!("{} (out of {maxcpu})", cpu_list((0..maxcpu).filter(|c| used(*c))))
        } else {
            (0..maxcpu).map(|c| if used(c) { 'y' } else { '-' }).collect()
        };
        out += &kv("CPU Affinity:", aff);
        if i + 1 < vcpus.len() {
            out.push('\n');
        }
    }
    ctl.print(&out);
    Ok(())
}

/// `virBitmapFormat`: ranges like `0-3,5`.
fn cpu_list(cpus: impl Iterator<Item = usize>) -> String {
    let mut parts: Vec<(usize, usize)> = Vec::new();
    for c in cpus {
        match parts.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => parts.push((c, c)),
        }
    }
    parts.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(",")
}

fn cmd_domtime(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    exclusive(ctl, cmd, "time", "now")?;
    exclusive(ctl, cmd, "time", "sync")?;
    exclusive(ctl, cmd, "now", "sync")?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let time = int_opt(ctl, cmd, "time")?;
    let (now, sync) = (cmd.has("now"), cmd.has("sync"));
    if time.is_some() || now || sync {
        let mut seconds = time.unwrap_or(0);
        if now {
            seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        }
        dom.set_time(seconds, 0, u32::from(sync))?;
        return Ok(());
    }
    let (seconds, _) = dom.time(0)?;
    if cmd.has("pretty") {
        ctl.print(&format!("Time: {}", utc_string(seconds)));
    } else {
        ctl.print(&format!("Time: {seconds}"));
    }
    Ok(())
}

/// `%Y-%m-%d %H:%M:%S` of a UNIX time in UTC (civil-from-days).
fn utc_string(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn cmd_domhostname(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let flags = match opt_str(ctl, cmd, "source")? {
        None => 0,
        Some("lease") => 1,
        Some("agent") => 2,
        Some(other) => return Err(ctl.fail_msg(format!("Unknown data source '{other}'"))),
    };
    let host = dom.hostname(flags).map_err(|e| ctl.fail("failed to get hostname", e))?;
    ctl.print(&format!("{host}\n"));
    Ok(())
}

fn cmd_domifaddr(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let iface = opt_str(ctl, cmd, "interface")?.map(str::to_string);
    let source = match opt_str(ctl, cmd, "source")? {
        None | Some("lease") => ifaddr_source::LEASE,
        Some("agent") => ifaddr_source::AGENT,
        Some("arp") => ifaddr_source::ARP,
        Some(other) => return Err(ctl.fail_msg(format!("Unknown data source '{other}'"))),
    };
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let ifaces = dom.interface_addresses(source, 0).map_err(|e| ctl.fail("Failed to query for interfaces addresses", e))?;
    ctl.extra(&format!(" {:<10} {:<20} {:<8}     {}\n{}\n", "Name", "MAC address", "Protocol", "Address", "-".repeat(79)));
    let full = cmd.has("full");
    let mut out = String::new();
    for i in &ifaces {
        if iface.as_deref().is_some_and(|want| want != i.name) {
            continue;
        }
        if i.addrs.is_empty() {
            out += &format!(" {:<10} {:<17}    {:<12} {}\n", i.name, i.hwaddr.as_deref().unwrap_or("N/A"), "N/A", "N/A");
            continue;
        }
        for (j, a) in i.addrs.iter().enumerate() {
            let typ = if a.typ == oxvirt::stats::IP_ADDR_TYPE_IPV6 { "ipv6" } else { "ipv4" };
            let addr = format!("{typ:<12} {}/{}", a.addr, a.prefix);
            if full || j == 0 {
                out += &format!(" {:<10} {:<17}    {addr}\n", i.name, i.hwaddr.as_deref().unwrap_or(""));
            } else {
                out += &format!(" {:<10} {:<17}    {addr}\n", "-", "-");
            }
        }
    }
    ctl.print(&out);
    Ok(())
}

fn cmd_guestinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let mut types = 0;
    for (opt, bit) in [
        ("user", G::USERS),
        ("os", G::OS),
        ("timezone", G::TIMEZONE),
        ("hostname", G::HOSTNAME),
        ("filesystem", G::FILESYSTEM),
        ("disk", G::DISKS),
        ("interface", G::INTERFACES),
    ] {
        if cmd.has(opt) {
            types |= bit;
        }
    }
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let params = dom.guest_info(types, 0)?;
    let out: String = params.iter().map(|p| format!("{:<20}: {}\n", p.field, param_value(p))).collect();
    ctl.print(&out);
    Ok(())
}

fn cmd_domcontrol(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let info = dom.control_info(0)?;
    let state = match info.state {
        0 => "ok",
        1 => "background job",
        2 => "occupied",
        3 => "error",
        _ => "unknown",
    };
    let line = if info.state != 0 && info.state != 3 {
        format!("{state} ({:.3}s)\n", info.state_time as f64 / 1000.0)
    } else if info.state == 3 && info.details > 0 {
        let why = match info.details {
            1 => "unknown",
            2 => "monitor failure",
            3 => "internal (locking) error",
            _ => "unknown",
        };
        format!("{state}: {why}\n")
    } else {
        format!("{state}\n")
    };
    ctl.print(&line);
    Ok(())
}

fn cmd_domjobinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    require(ctl, cmd, "keep-completed", "completed")?;
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut flags = 0;
    if cmd.has("completed") {
        flags |= 1;
    }
    if cmd.has("keep-completed") {
        flags |= 2;
    }
    let rawstats = cmd.has("rawstats");
    let (typ, params) = match dom.job_stats(flags) {
        Ok(v) => v,
        Err(e) if is_no_support(&e) => {
            if flags != 0 || rawstats {
                // virsh reports the library error last, as for any failed call.
                return Err(ctl.fail("Optional flags or --rawstats are not supported by the daemon", e));
            }
            (dom.job_info()?.typ, Vec::new())
        }
        Err(e) => return Err(e.into()),
    };
    if rawstats {
        let mut out = format!("Job type: {typ}\n\n");
        for p in &params {
            out += &format!("{}: {}\n", p.field, param_value(p));
        }
        ctl.print(&out);
        return Ok(());
    }
    let name = match typ {
        0 => "None",
        1 => "Bounded",
        2 => "Unbounded",
        3 => "Completed",
        4 => "Failed",
        5 => "Cancelled",
        _ => "unknown",
    };
    ctl.print(&format!("{:<17} {name:<12}\n", "Job type:"));
    Ok(())
}

fn cmd_domblkerror(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let (count, _) = dom.disk_errors(0, 0)?;
    let errors = if count > 0 { dom.disk_errors(count as u32, 0)?.1 } else { Vec::new() };
    if errors.is_empty() {
        ctl.print("No errors found\n");
        return Ok(());
    }
    let mut out = String::new();
    for e in errors {
        let what = match e.error {
            0 => "no error",
            1 => "unspecified error",
            2 => "no space",
            _ => "unknown error",
        };
        out += &format!("{}: {what}\n", e.disk);
    }
    ctl.print(&out);
    Ok(())
}

fn cmd_inject_nmi(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.inject_nmi(0)?;
    Ok(())
}

// send-key, screenshot, dompmsuspend, dompmwakeup.
/// virsh's `virshKeyCodeGetInt`: a number (C's base 0) up to 0xffff.
fn keycode_number(s: &str) -> Option<u32> {
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    };
    v.filter(|v| *v <= 0xffff)
}

fn cmd_send_key(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mut codeset_name = cmd.get("codeset").unwrap_or("linux");
    let holdtime = match cmd.uint("holdtime").map_err(|m| ctl.fail_msg(m))? {
        Some(h) => u32::try_from(h).map_err(|_| ctl.fail_msg("Numeric value for <holdtime> option is malformed or out of range"))?,
        None => 0,
    };
    // The qnum codeset was called rfb once.
    if codeset_name == "rfb" {
        codeset_name = "qnum";
    }
    let Some(codeset) = oxvirt_util::keycode::codeset_from_name(codeset_name) else {
        return Err(ctl.fail_msg(format!("unknown codeset: '{codeset_name}'")));
    };
    let mut keys = Vec::new();
    for k in cmd.all("keycode") {
        if keys.len() == oxvirt::types::SEND_KEY_MAX_KEYS {
            return Err(ctl.fail_msg("too many keycodes"));
        }
        match keycode_number(k).or_else(|| oxvirt_util::keycode::from_name(codeset, k)) {
            Some(v) => keys.push(v),
            None => return Err(ctl.fail_msg(format!("invalid keycode: '{k}'"))),
        }
    }
    dom.send_key(codeset, holdtime, &keys, 0)?;
    Ok(())
}

fn cmd_screenshot(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let screen = match cmd.uint("screen").map_err(|m| ctl.fail_msg(m))? {
        Some(v) => u32::try_from(v).map_err(|_| ctl.fail_msg("Numeric value for <screen> option is malformed or out of range"))?,
        None => 0,
    };
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let (mime, stream) = dom.screenshot(screen, 0).map_err(|e| ctl.fail(format!("could not take a screenshot of {}", dom.name()), e))?;
    let file = match cmd.get("file") {
        Some(f) => f.to_string(),
        None => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let stamp = super::snapshot::format_time(i64::try_from(now).unwrap_or(0));
            let stamp = stamp.trim_end_matches(" +0000").replacen(' ', "-", 1);
            let ext = match mime.as_str() {
                "image/x-portable-pixmap" => ".ppm",
                "image/png" => ".png",
                _ => "",
            };
            format!("{}-{stamp}{ext}", dom.name())
        }
    };
    use std::io::Write;
    let (mut out, created) = match std::fs::OpenOptions::new().write(true).create_new(true).open(&file) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match std::fs::OpenOptions::new().write(true).truncate(true).open(&file) {
                Ok(f) => (f, false),
                Err(_) => return Err(ctl.fail_msg(format!("cannot create file {file}"))),
            }
        }
        Err(_) => return Err(ctl.fail_msg(format!("cannot create file {file}"))),
    };
    let res = stream.recv_all(|chunk| {
        if let oxvirt::StreamChunk::Data(d) = chunk {
            out.write_all(&d).map_err(|e| {
                oxvirt::Error::new(oxvirt::ErrorCode::SystemError, oxvirt::ErrorDomain::None, format!("cannot write data: {e}"))
            })?;
        }
        Ok(())
    });
    if let Err(e) = res {
        if created {
            let _ = std::fs::remove_file(&file);
        }
        return Err(ctl.fail(format!("could not receive data from domain '{}'", dom.name()), e));
    }
    ctl.extra(&format!("Screenshot saved to {file}, with type of {mime}\n"));
    Ok(())
}

fn cmd_dompmsuspend(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let duration = cmd.uint("duration").map_err(|m| ctl.fail_msg(m))?.unwrap_or(0);
    let target = match cmd.get("target").unwrap_or("") {
        "mem" => 0,
        "disk" => 1,
        "hybrid" => 2,
        _ => return Err(ctl.fail_msg("Invalid target")),
    };
    dom.pm_suspend_for_duration(target, duration, 0).map_err(|e| ctl.fail(format!("Domain '{}' could not be suspended", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' successfully suspended\n", dom.name()));
    Ok(())
}

fn cmd_dompmwakeup(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.pm_wakeup(0).map_err(|e| ctl.fail(format!("Domain '{}' could not be woken up", dom.name()), e))?;
    ctl.extra(&format!("Domain '{}' successfully woken up\n", dom.name()));
    Ok(())
}

fn fs_freeze_thaw(ctl: &mut Ctl, cmd: &Cmd, freeze: bool) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let mountpoints: Vec<String> = cmd.all("mountpoint").into_iter().map(str::to_string).collect();
    if freeze {
        let n = dom.fs_freeze(&mountpoints, 0).map_err(|e| ctl.fail("Unable to freeze filesystems", e))?;
        ctl.extra(&format!("Froze {n} filesystem(s)\n"));
    } else {
        let n = dom.fs_thaw(&mountpoints, 0).map_err(|e| ctl.fail("Unable to thaw filesystems", e))?;
        ctl.extra(&format!("Thawed {n} filesystem(s)\n"));
    }
    Ok(())
}

fn cmd_domfsfreeze(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    fs_freeze_thaw(ctl, cmd, true)
}

fn cmd_domfsthaw(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    fs_freeze_thaw(ctl, cmd, false)
}

fn cmd_domfsinfo(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let info = dom.fs_info(0).map_err(|e| ctl.fail("Unable to get filesystem information", e))?;
    if info.is_empty() {
        ctl.extra("No filesystems are mounted in the domain");
        return Ok(());
    }
    let mut t = Table::new(&["Mountpoint", "Name", "Type", "Target"]);
    for f in &info {
        t.row(&[f.mountpoint.as_str(), &f.name, &f.fstype, &f.dev_aliases.join(",")]);
    }
    ctl.print_table(&t);
    Ok(())
}

fn cmd_set_user_password(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let flags = u32::from(cmd.has("encrypted"));
    let user = req_str(ctl, cmd, "user")?.to_string();
    let password = req_str(ctl, cmd, "password")?.to_string();
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    dom.set_user_password(&user, &password, flags)?;
    ctl.extra(&format!("Password set successfully for {user} in {}", dom.name()));
    Ok(())
}

fn cmd_guest_agent_timeout(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    let timeout = int_opt(ctl, cmd, "timeout")?.map(|t| i32::try_from(t).unwrap_or(i32::MIN)).unwrap_or(-2);
    dom.agent_set_response_timeout(timeout, 0)?;
    Ok(())
}

fn cmd_guestvcpus(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    exclusive(ctl, cmd, "enable", "disable")?;
    require(ctl, cmd, "enable", "cpulist")?;
    require(ctl, cmd, "disable", "cpulist")?;
    let cpulist = opt_str(ctl, cmd, "cpulist")?.map(str::to_string);
    let (enable, disable) = (cmd.has("enable"), cmd.has("disable"));
    if cpulist.is_some() && !(enable || disable) {
        return Err(ctl.fail_msg("One of options --enable or --disable is required by option --cpulist"));
    }
    let conn = ctl.conn()?;
    let dom = lookup_domain(ctl, &conn, cmd, "domain")?;
    if let Some(list) = cpulist {
        dom.set_guest_vcpus(&list, i32::from(enable), 0)?;
        return Ok(());
    }
    let out: String = dom.guest_vcpus(0)?.iter().map(|p| format!("{:<15}: {}\n", p.field, param_value(p))).collect();
    ctl.print(&out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_cpu_lists() {
        assert_eq!(utc_string(627_319_920), "1989-11-17 15:32:00");
        assert_eq!(utc_string(0), "1970-01-01 00:00:00");
        assert_eq!(cpu_list([0, 1, 2, 5, 7, 8].into_iter()), "0-2,5,7-8");
    }
}
