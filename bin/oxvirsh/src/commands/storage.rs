//! Storage pool (`pool-*`) and volume (`vol-*`) commands.

use super::*;
use crate::json;
use crate::parse::{b, d, s, CmdDef, CmdResult, Needs, OptDef, FILE, POOL, REQ, REQ_OPT};
use crate::table::Table;
use oxvirt::{ListPoolsFlags, PoolBuildFlags, StoragePoolState, VolCreateFlags, VolDeleteFlags};

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");
const VOL: OptDef = d("vol", "vol name, key or path");
const POOL_OPT: OptDef = s("pool", 0, "pool name or uuid");

macro_rules! cmd {
    ($name:expr, $group:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: $group, help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Pool and volume commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "pool-list",
        "pool",
        "list pools",
        &[
            b("inactive", "list inactive pools"),
            b("all", "list inactive & active pools"),
            b("transient", "list transient pools"),
            b("persistent", "list persistent pools"),
            b("autostart", "list pools with autostart enabled"),
            b("no-autostart", "list pools with autostart disabled"),
            s("type", 0, "only list pool of specified type(s) (if supported)"),
            b("details", "display extended details for pools"),
            b("uuid", "list UUID of active pools only"),
            b("name", "list name of active pools only"),
            JSON,
        ],
        cmd_pool_list
    ),
    cmd!("pool-info", "pool", "storage pool information", &[POOL, b("bytes", "Reture pool info in bytes"), JSON], cmd_pool_info),
    cmd!(
        "pool-dumpxml",
        "pool",
        "pool information in XML",
        &[POOL, b("inactive", "show inactive defined XML"), s("xpath", REQ_OPT, "xpath expression"), b("wrap", "wrap xpath results")],
        cmd_pool_dumpxml
    ),
    cmd!("pool-uuid", "pool", "convert a pool name to pool UUID", &[POOL], cmd_pool_uuid),
    cmd!("pool-name", "pool", "convert a pool UUID to pool name", &[POOL], cmd_pool_name),
    cmd!(
        "pool-start",
        "pool",
        "start a (previously defined) inactive pool",
        &[
            POOL,
            b("build", "build the pool as normal"),
            b("no-overwrite", "do not overwrite an existing pool"),
            b("overwrite", "overwrite any existing data")
        ],
        cmd_pool_start
    ),
    cmd!("pool-destroy", "pool", "destroy (stop) a pool", &[POOL], cmd_pool_destroy),
    cmd!(
        "pool-define",
        "pool",
        "define an inactive persistent storage pool from an XML file",
        &[FILE, b("validate", "validate the XML")],
        cmd_pool_define
    ),
    cmd!(
        "pool-create",
        "pool",
        "create a pool from an XML file",
        &[
            FILE,
            b("build", "build the pool as normal"),
            b("no-overwrite", "do not overwrite an existing pool"),
            b("overwrite", "overwrite any existing data")
        ],
        cmd_pool_create
    ),
    cmd!(
        "pool-build",
        "pool",
        "build a pool",
        &[POOL, b("no-overwrite", "do not overwrite any existing data"), b("overwrite", "overwrite any existing data")],
        cmd_pool_build
    ),
    cmd!("pool-undefine", "pool", "undefine an inactive pool", &[POOL], cmd_pool_undefine),
    cmd!("pool-autostart", "pool", "autostart a pool", &[POOL, b("disable", "disable autostarting")], cmd_pool_autostart),
    cmd!("pool-refresh", "pool", "refresh a pool", &[POOL], cmd_pool_refresh),
    cmd!("vol-list", "volume", "list vols", &[POOL, b("details", "display extended details for volumes"), JSON], cmd_vol_list),
    cmd!(
        "vol-info",
        "volume",
        "storage vol information",
        &[VOL, POOL_OPT, b("bytes", "sizes are represented in bytes"), b("physical", "return the physical size"), JSON],
        cmd_vol_info
    ),
    cmd!(
        "vol-path",
        "volume",
        "returns the volume path for a given volume name or key",
        &[d("vol", "volume name or key"), POOL_OPT],
        cmd_vol_path
    ),
    cmd!(
        "vol-key",
        "volume",
        "returns the volume key for a given volume name or path",
        &[d("vol", "volume name or path"), POOL_OPT],
        cmd_vol_key
    ),
    cmd!("vol-name", "volume", "returns the volume name for a given volume key or path", &[d("vol", "volume key or path")], cmd_vol_name),
    cmd!(
        "vol-pool",
        "volume",
        "returns the storage pool for a given volume key or path",
        &[d("vol", "volume key or path"), b("uuid", "return the pool uuid rather than pool name")],
        cmd_vol_pool
    ),
    cmd!(
        "vol-dumpxml",
        "volume",
        "vol information in XML",
        &[VOL, POOL_OPT, s("xpath", REQ_OPT, "xpath expression"), b("wrap", "wrap xpath results")],
        cmd_vol_dumpxml
    ),
    cmd!(
        "vol-create",
        "volume",
        "create a vol from an XML file",
        &[
            POOL,
            FILE,
            b("prealloc-metadata", "preallocate metadata (for qcow2 instead of full allocation)"),
            b("validate", "validate the XML")
        ],
        cmd_vol_create
    ),
    cmd!(
        "vol-create-as",
        "volume",
        "create a volume from a set of args",
        &[
            s("pool", REQ, "pool name"),
            s("name", REQ, "name of the volume"),
            s("capacity", REQ, "size of the vol, as scaled integer (default bytes)"),
            s("allocation", 0, "initial allocation size, as scaled integer (default bytes)"),
            s("format", 0, "file format type raw,bochs,qcow,qcow2,qed,vmdk"),
            s("backing-vol", 0, "the backing volume if taking a snapshot"),
            s("backing-vol-format", 0, "format of backing volume if taking a snapshot"),
            b("prealloc-metadata", "preallocate metadata (for qcow2 instead of full allocation)"),
            b("print-xml", "print XML document, but don't define/create"),
        ],
        cmd_vol_create_as
    ),
    cmd!(
        "vol-delete",
        "volume",
        "delete a vol",
        &[VOL, POOL_OPT, b("delete-snapshots", "delete snapshots associated with volume")],
        cmd_vol_delete
    ),
];

fn cmd_pool_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let mut flags = ListPoolsFlags::ACTIVE;
    if cmd.has("inactive") {
        flags = ListPoolsFlags::INACTIVE;
    }
    if cmd.has("all") {
        flags = ListPoolsFlags::ACTIVE | ListPoolsFlags::INACTIVE;
    }
    for (o, f) in [
        ("persistent", ListPoolsFlags::PERSISTENT),
        ("transient", ListPoolsFlags::TRANSIENT),
        ("autostart", ListPoolsFlags::AUTOSTART),
        ("no-autostart", ListPoolsFlags::NO_AUTOSTART),
    ] {
        if cmd.has(o) {
            flags |= f;
        }
    }
    if let Some(types) = opt_str(ctl, cmd, "type")? {
        const TYPES: [&str; 14] = [
            "dir",
            "fs",
            "netfs",
            "logical",
            "disk",
            "iscsi",
            "scsi",
            "mpath",
            "rbd",
            "sheepdog",
            "gluster",
            "zfs",
            "vstorage",
            "iscsi-direct",
        ];
        for t in types.split(',') {
            match TYPES.iter().position(|x| *x == t) {
                Some(i) => flags |= ListPoolsFlags::from_bits_retain(1 << (6 + i)),
                None => return Err(ctl.fail_msg(format!("Invalid pool type '{t}'"))),
            }
        }
    }
    let mut pools = conn.list_all_storage_pools(flags).map_err(|e| ctl.fail("Failed to list pools", e))?;
    pools.sort_by(|a, b| a.name().cmp(b.name()));
    if cmd.has("json") {
        let arr = pools
            .iter()
            .map(|p| {
                let info = p.info().ok();
                json::obj(vec![
                    ("name", json::str(p.name())),
                    ("uuid", json::str(&p.uuid_string())),
                    ("state", info.map(|i| json::str(i.state.as_str())).unwrap_or(json::Value::Null)),
                    ("autostart", p.autostart().map(json::Value::Bool).unwrap_or(json::Value::Null)),
                    ("persistent", p.is_persistent().map(json::Value::Bool).unwrap_or(json::Value::Null)),
                    ("capacity", info.map(|i| json::num(i.capacity)).unwrap_or(json::Value::Null)),
                    ("allocation", info.map(|i| json::num(i.allocation)).unwrap_or(json::Value::Null)),
                    ("available", info.map(|i| json::num(i.available)).unwrap_or(json::Value::Null)),
                ])
            })
            .collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    let (u, nm) = (cmd.has("uuid"), cmd.has("name"));
    if u || nm {
        let mut o = String::new();
        for p in &pools {
            match (u, nm) {
                (true, true) => o += &format!("{:<36} {}\n", p.uuid_string(), p.name()),
                (true, false) => o += &format!("{}\n", p.uuid_string()),
                _ => o += &format!("{}\n", p.name()),
            }
        }
        ctl.print(&o);
        return Ok(());
    }
    let auto = |p: &oxvirt::StoragePool| match p.autostart() {
        Ok(true) => "yes",
        Ok(false) => "no",
        Err(_) => "-",
    };
    if cmd.has("details") {
        let mut t = Table::new(&["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"]);
        for p in &pools {
            let info = p.info().ok();
            let st = info.map(|i| i.state.as_str()).unwrap_or("unknown");
            let active = info.map(|i| i.state != StoragePoolState::Inactive).unwrap_or(false);
            let sz = |v: Option<u64>| if active { v.map(pretty_capacity).unwrap_or_else(|| "-".into()) } else { "-".into() };
            t.row(&[
                p.name().to_string(),
                st.to_string(),
                auto(p).to_string(),
                p.is_persistent().map(yes_no).unwrap_or("unknown").to_string(),
                sz(info.map(|i| i.capacity)),
                sz(info.map(|i| i.allocation)),
                sz(info.map(|i| i.available)),
            ]);
        }
        ctl.print(&t.render());
        return Ok(());
    }
    let mut t = Table::new(&["Name", "State", "Autostart"]);
    for p in &pools {
        let active = if p.is_active().unwrap_or(false) { "active" } else { "inactive" };
        t.row(&[p.name(), active, auto(p)]);
    }
    ctl.print(&t.render());
    Ok(())
}

fn cmd_pool_info(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let info = p.info()?;
    let pers = p.is_persistent().ok();
    let auto = p.autostart().ok();
    if cmd.has("json") {
        let v = json::obj(vec![
            ("name", json::str(p.name())),
            ("uuid", json::str(&p.uuid_string())),
            ("state", json::str(info.state.as_str())),
            ("persistent", pers.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("autostart", auto.map(json::Value::Bool).unwrap_or(json::Value::Null)),
            ("capacity", json::num(info.capacity)),
            ("allocation", json::num(info.allocation)),
            ("available", json::num(info.available)),
        ]);
        ctl.print(&json::render(&v));
        return Ok(());
    }
    let mut o = String::new();
    o += &kv("Name:", p.name());
    o += &kv("UUID:", p.uuid_string());
    o += &kv("State:", info.state.as_str());
    o += &kv("Persistent:", pers.map(yes_no).unwrap_or("unknown"));
    o += &kv("Autostart:", auto.map(yes_no).unwrap_or("no autostart"));
    if matches!(info.state, StoragePoolState::Running | StoragePoolState::Degraded) {
        let f = |v: u64| if cmd.has("bytes") { v.to_string() } else { pretty_capacity(v) };
        o += &kv("Capacity:", f(info.capacity));
        o += &kv("Allocation:", f(info.allocation));
        o += &kv("Available:", f(info.available));
    }
    ctl.print(&o);
    Ok(())
}

fn cmd_pool_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let xml = p.xml_desc(u32::from(cmd.has("inactive")))?;
    ctl.print(&xml);
    Ok(())
}

fn cmd_pool_uuid(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    ctl.print(&format!("{}\n", p.uuid_string()));
    Ok(())
}

fn cmd_pool_name(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    ctl.print(&format!("{}\n", p.name()));
    Ok(())
}

fn build_flags(ctl: &Ctl, cmd: &Cmd) -> Result<u32, Fail> {
    exclusive(ctl, cmd, "overwrite", "no-overwrite")?;
    let mut f = 0;
    if cmd.has("build") {
        f |= 1;
    }
    if cmd.has("overwrite") {
        f |= 2;
    }
    if cmd.has("no-overwrite") {
        f |= 4;
    }
    Ok(f)
}

fn cmd_pool_start(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let f = build_flags(ctl, cmd)?;
    p.create(f).map_err(|e| ctl.fail(format!("Failed to start pool {}", p.name()), e))?;
    ctl.extra(&format!("Pool {} started\n", p.name()));
    Ok(())
}

fn cmd_pool_destroy(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    p.destroy().map_err(|e| ctl.fail(format!("Failed to destroy pool {}", p.name()), e))?;
    ctl.extra(&format!("Pool {} destroyed\n", p.name()));
    Ok(())
}

fn cmd_pool_define(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let p = conn
        .storage_pool_define_xml(&xml, u32::from(cmd.has("validate")))
        .map_err(|e| ctl.fail(format!("Failed to define pool from {file}"), e))?;
    ctl.extra(&format!("Pool {} defined from {file}\n", p.name()));
    Ok(())
}

fn cmd_pool_create(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let f = build_flags(ctl, cmd)?;
    let xml = read_file(ctl, file)?;
    let p = conn.storage_pool_create_xml(&xml, f).map_err(|e| ctl.fail(format!("Failed to create pool from {file}"), e))?;
    ctl.extra(&format!("Pool {} created from {file}\n", p.name()));
    Ok(())
}

fn cmd_pool_build(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let mut f = PoolBuildFlags::empty();
    if cmd.has("no-overwrite") {
        f |= PoolBuildFlags::NO_OVERWRITE;
    }
    if cmd.has("overwrite") {
        f |= PoolBuildFlags::OVERWRITE;
    }
    p.build(f).map_err(|e| ctl.fail(format!("Failed to build pool {}", p.name()), e))?;
    ctl.extra(&format!("Pool {} built\n", p.name()));
    Ok(())
}

fn cmd_pool_undefine(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    p.undefine().map_err(|e| ctl.fail(format!("Failed to undefine pool {}", p.name()), e))?;
    ctl.extra(&format!("Pool {} has been undefined\n", p.name()));
    Ok(())
}

fn cmd_pool_autostart(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let on = !cmd.has("disable");
    if let Err(e) = p.set_autostart(on) {
        let what = if on { "mark" } else { "unmark" };
        return Err(ctl.fail(format!("failed to {what} pool {} as autostarted", p.name()), e));
    }
    ctl.extra(&format!("Pool {} {} as autostarted\n", p.name(), if on { "marked" } else { "unmarked" }));
    Ok(())
}

fn cmd_pool_refresh(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    p.refresh(0).map_err(|e| ctl.fail(format!("Failed to refresh pool {}", p.name()), e))?;
    ctl.extra(&format!("Pool {} refreshed\n", p.name()));
    Ok(())
}

fn cmd_vol_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let mut vols = p.list_all_volumes(0).map_err(|e| ctl.fail("Failed to list storage volumes", e))?;
    vols.sort_by(|a, b| a.name().cmp(b.name()));
    if cmd.has("json") {
        let arr = vols
            .iter()
            .map(|v| {
                let info = v.info().ok();
                json::obj(vec![
                    ("name", json::str(v.name())),
                    ("path", v.path().map(|p| json::str(&p)).unwrap_or(json::Value::Null)),
                    ("type", info.map(|i| json::str(i.vol_type.as_str())).unwrap_or(json::Value::Null)),
                    ("capacity", info.map(|i| json::num(i.capacity)).unwrap_or(json::Value::Null)),
                    ("allocation", info.map(|i| json::num(i.allocation)).unwrap_or(json::Value::Null)),
                ])
            })
            .collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    if cmd.has("details") {
        let mut t = Table::new(&["Name", "Path", "Type", "Capacity", "Allocation"]);
        for v in &vols {
            let info = v.info().ok();
            t.row(&[
                v.name().to_string(),
                v.path().unwrap_or_else(|_| "unknown".into()),
                info.map(|i| i.vol_type.as_str().to_string()).unwrap_or_else(|| "unknown".into()),
                info.map(|i| pretty_capacity(i.capacity)).unwrap_or_else(|| "unknown".into()),
                info.map(|i| pretty_capacity(i.allocation)).unwrap_or_else(|| "unknown".into()),
            ]);
        }
        ctl.print(&t.render());
        return Ok(());
    }
    let mut t = Table::new(&["Name", "Path"]);
    for v in &vols {
        t.row(&[v.name().to_string(), v.path().unwrap_or_default()]);
    }
    ctl.print(&t.render());
    Ok(())
}

fn cmd_vol_info(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let info = v.info()?;
    if cmd.has("json") {
        let j = json::obj(vec![
            ("name", json::str(v.name())),
            ("type", json::str(info.vol_type.as_str())),
            ("capacity", json::num(info.capacity)),
            ("allocation", json::num(info.allocation)),
        ]);
        ctl.print(&json::render(&j));
        return Ok(());
    }
    let f = |x: u64| if cmd.has("bytes") { format!("{x} bytes") } else { pretty_capacity(x) };
    let mut o = String::new();
    o += &kv("Name:", v.name());
    o += &kv("Type:", info.vol_type.as_str());
    o += &kv("Capacity:", f(info.capacity));
    o += &kv(if cmd.has("physical") { "Physical:" } else { "Allocation:" }, f(info.allocation));
    ctl.print(&o);
    Ok(())
}

fn cmd_vol_path(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let p = v.path()?;
    ctl.print(&format!("{p}\n"));
    Ok(())
}

fn cmd_vol_key(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    ctl.print(&format!("{}\n", v.key()));
    Ok(())
}

fn cmd_vol_name(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    ctl.print(&format!("{}\n", v.name()));
    Ok(())
}

fn cmd_vol_pool(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let p = v.pool().map_err(|e| ctl.fail("failed to get parent pool", e))?;
    if cmd.has("uuid") {
        ctl.print(&format!("{}\n", p.uuid_string()));
    } else {
        ctl.print(&format!("{}\n", p.name()));
    }
    Ok(())
}

fn cmd_vol_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let xml = v.xml_desc(0)?;
    ctl.print(&xml);
    Ok(())
}

fn cmd_vol_create(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let mut f = VolCreateFlags::empty();
    if cmd.has("prealloc-metadata") {
        f |= VolCreateFlags::PREALLOC_METADATA;
    }
    if cmd.has("validate") {
        f |= VolCreateFlags::VALIDATE;
    }
    let v = p.vol_create_xml(&xml, f).map_err(|e| ctl.fail(format!("Failed to create vol from {file}"), e))?;
    ctl.extra(&format!("Vol {} created from {file}\n", v.name()));
    Ok(())
}

/// A volume size as virsh reads it: a number of bytes with an optional unit suffix.
fn vol_size(ctl: &Ctl, v: &str) -> Result<u64, Fail> {
    crate::parse::parse_scaled(v, 1).ok_or_else(|| ctl.fail_msg(format!("Malformed size {v}")))
}

fn cmd_vol_create_as(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let p = lookup_pool(ctl, &conn, cmd, "pool")?;
    let name = req_str(ctl, cmd, "name")?;
    let capacity = vol_size(ctl, req_str(ctl, cmd, "capacity")?)?;
    let allocation = opt_str(ctl, cmd, "allocation")?.map(|a| vol_size(ctl, a)).transpose()?;
    let format = opt_str(ctl, cmd, "format")?;
    let backing = opt_str(ctl, cmd, "backing-vol")?;
    let backing_format = opt_str(ctl, cmd, "backing-vol-format")?;
    let mut xml = format!("<volume>\n  <name>{name}</name>\n  <capacity>{capacity}</capacity>\n");
    if let Some(a) = allocation {
        xml += &format!("  <allocation>{a}</allocation>\n");
    }
    if let Some(f) = format {
        xml += &format!("  <target>\n    <format type='{f}'/>\n  </target>\n");
    }
    if let Some(bv) = backing {
        // The backing volume: by name in this pool, else by key, else by path.
        let vol = p
            .vol_lookup_by_name(bv)
            .or_else(|_| conn.storage_vol_lookup_by_key(bv))
            .or_else(|_| conn.storage_vol_lookup_by_path(bv))
            .map_err(|_| ctl.fail_msg(format!("failed to get vol '{bv}'")))?;
        xml += &format!("  <backingStore>\n    <path>{}</path>\n", vol.path()?);
        if let Some(f) = backing_format {
            xml += &format!("    <format type='{f}'/>\n");
        }
        xml += "  </backingStore>\n";
    }
    xml += "</volume>\n";
    if cmd.has("print-xml") {
        ctl.print(&xml);
        return Ok(());
    }
    let f = if cmd.has("prealloc-metadata") { VolCreateFlags::PREALLOC_METADATA } else { VolCreateFlags::empty() };
    p.vol_create_xml(&xml, f).map_err(|e| ctl.fail(format!("Failed to create vol {name}"), e))?;
    ctl.extra(&format!("Vol {name} created\n"));
    Ok(())
}

fn cmd_vol_delete(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let f = if cmd.has("delete-snapshots") { VolDeleteFlags::WITH_SNAPSHOTS } else { VolDeleteFlags::empty() };
    let name = v.name().to_string();
    v.delete(f).map_err(|e| ctl.fail(format!("Failed to delete vol {name}"), e))?;
    ctl.extra(&format!("Vol {name} deleted\n"));
    Ok(())
}
