//! Storage pool (`pool-*`) and volume (`vol-*`) commands.

use super::*;
use crate::json;
use crate::parse::{b, d, s, CmdDef, CmdResult, Needs, OptDef, FILE, POOL, REQ, REQ_OPT};
use crate::table::Table;
use oxvirt::{ListPoolsFlags, PoolBuildFlags, StoragePoolState, StreamChunk, VolCreateFlags, VolDeleteFlags, VolResizeFlags};
use oxvirt::{VolDownloadFlags, VolUploadFlags};

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");
const VOL: OptDef = d("vol", "vol name, key or path");
const POOL_OPT: OptDef = s("pool", 0, "pool name or uuid");
const BUILD: OptDef = b("build", "build the pool as normal");
const NO_OVERWRITE: OptDef = b("no-overwrite", "do not overwrite any existing data");
const OVERWRITE: OptDef = b("overwrite", "overwrite any existing data");

/// The options `pool-define-as` and `pool-create-as` share (virsh's
/// `VIRSH_COMMON_OPT_POOL_X_AS`), in virsh's positional order.
macro_rules! pool_x_as {
    ($($extra:expr),*) => {
        &[
            d("name", "name of the pool"),
            d("type", "type of the pool"),
            b("print-xml", "print XML document, but don't define/create"),
            s("source-host", 0, "source-host for underlying storage"),
            s("source-path", 0, "source path for underlying storage"),
            s("source-dev", 0, "source device for underlying storage"),
            s("source-name", 0, "source name for underlying storage"),
            s("target", 0, "target for underlying storage"),
            s("source-format", 0, "format for underlying storage"),
            s("auth-type", 0, "auth type to be used for underlying storage"),
            s("auth-username", 0, "auth username to be used for underlying storage"),
            s("secret-usage", 0, "auth secret usage to be used for underlying storage"),
            s("secret-uuid", 0, "auth secret UUID to be used for underlying storage"),
            s("adapter-name", 0, "adapter name to be used for underlying storage"),
            s("adapter-wwnn", 0, "adapter wwnn to be used for underlying storage"),
            s("adapter-wwpn", 0, "adapter wwpn to be used for underlying storage"),
            s("adapter-parent", 0, "adapter parent scsi_hostN to be used for underlying vHBA storage"),
            s("adapter-parent-wwnn", 0, "adapter parent scsi_hostN wwnn to be used for underlying vHBA storage"),
            s("adapter-parent-wwpn", 0, "adapter parent scsi_hostN wwpn to be used for underlying vHBA storage"),
            s("adapter-parent-fabric-wwn", 0, "adapter parent scsi_hostN fabric_wwn to be used for underlying vHBA storage"),
            s("source-protocol-ver", 0, "nfsvers value for NFS pool mount option"),
            s("source-initiator", 0, "initiator iqn for underlying storage"),
            $($extra),*
        ]
    };
}

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
    cmd!("pool-define-as", "pool", "define a pool from a set of args", pool_x_as!(), cmd_pool_define_as),
    cmd!("pool-create-as", "pool", "create a pool from a set of args", pool_x_as!(BUILD, NO_OVERWRITE, OVERWRITE), cmd_pool_create_as),
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
        "vol-clone",
        "volume",
        "clone a volume.",
        &[
            VOL,
            d("newname", "clone name"),
            POOL_OPT,
            b("prealloc-metadata", "preallocate metadata (for qcow2 instead of full allocation)"),
            b("reflink", "use btrfs COW lightweight copy"),
            b("print-xml", "print XML document rather than clone the volume"),
        ],
        cmd_vol_clone
    ),
    cmd!(
        "vol-resize",
        "volume",
        "resize a vol",
        &[
            VOL,
            d("capacity", "new capacity for the vol, as scaled integer (default bytes)"),
            POOL_OPT,
            b("allocate", "allocate the new capacity, rather than leaving it sparse"),
            b("delta", "use capacity as a delta to current size, rather than the new size"),
            b("shrink", "allow the resize to shrink the volume"),
        ],
        cmd_vol_resize
    ),
    cmd!(
        "vol-upload",
        "volume",
        "upload file contents to a volume",
        &[
            VOL,
            d("file", "file"),
            POOL_OPT,
            s("offset", 0, "volume offset to upload to"),
            s("length", 0, "amount of data to upload"),
            b("sparse", "preserve sparseness of volume"),
        ],
        cmd_vol_upload
    ),
    cmd!(
        "vol-download",
        "volume",
        "download volume contents to a file",
        &[
            VOL,
            d("file", "file"),
            POOL_OPT,
            s("offset", 0, "volume offset to download from"),
            s("length", 0, "amount of data to download"),
            b("sparse", "preserve sparseness of volume"),
        ],
        cmd_vol_download
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
                // virsh pads pool names to 20 columns here (`%-20s`).
                (true, true) => o += &format!("{:<36} {:<20}\n", p.uuid_string(), p.name()),
                (true, false) => o += &format!("{}\n", p.uuid_string()),
                _ => o += &format!("{:<20}\n", p.name()),
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
        ctl.print_table(&t);
        return Ok(());
    }
    let mut t = Table::new(&["Name", "State", "Autostart"]);
    for p in &pools {
        let active = if p.is_active().unwrap_or(false) { "active" } else { "inactive" };
        t.row(&[p.name(), active, auto(p)]);
    }
    ctl.print_table(&t);
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

/// The pool XML `pool-define-as`/`pool-create-as` build from their options, element
/// for element as virsh's `virshBuildPoolXML` writes it (values are not escaped, as in
/// virsh). Returns the pool name and the document.
fn build_pool_xml<'a>(ctl: &Ctl, cmd: &'a Cmd) -> Result<(&'a str, String), Fail> {
    exclusive(ctl, cmd, "secret-usage", "secret-uuid")?;
    let name = req_str(ctl, cmd, "name")?;
    let typ = req_str(ctl, cmd, "type")?;
    let o = |n: &str| opt_str(ctl, cmd, n);
    let (host, path, dev, src_name, format) =
        (o("source-host")?, o("source-path")?, o("source-dev")?, o("source-name")?, o("source-format")?);
    let target = o("target")?;
    let (auth_type, auth_user, secret_usage, secret_uuid) = (o("auth-type")?, o("auth-username")?, o("secret-usage")?, o("secret-uuid")?);
    let (adapter_name, wwnn, wwpn) = (o("adapter-name")?, o("adapter-wwnn")?, o("adapter-wwpn")?);
    let (parent, parent_wwnn, parent_wwpn, parent_fabric) =
        (o("adapter-parent")?, o("adapter-parent-wwnn")?, o("adapter-parent-wwpn")?, o("adapter-parent-fabric-wwn")?);
    let (proto_ver, initiator) = (o("source-protocol-ver")?, o("source-initiator")?);

    let mut x = format!("<pool type='{typ}'>\n  <name>{name}</name>\n");
    let fc_adapter = wwnn.zip(wwpn);
    if host.is_some()
        || path.is_some()
        || dev.is_some()
        || initiator.is_some()
        || format.is_some()
        || src_name.is_some()
        || fc_adapter.is_some()
        || adapter_name.is_some()
    {
        x += "  <source>\n";
        if let Some(h) = host {
            x += &format!("    <host name='{h}'/>\n");
        }
        if let Some(p) = path {
            x += &format!("    <dir path='{p}'/>\n");
        }
        if let Some(d) = dev {
            x += &format!("    <device path='{d}'/>\n");
        }
        if let Some(i) = initiator {
            x += &format!("    <initiator>\n      <iqn name='{i}'/>\n    </initiator>\n");
        }
        if let Some((wwnn, wwpn)) = fc_adapter {
            x += "    <adapter type='fc_host'";
            if let Some(p) = parent {
                x += &format!(" parent='{p}'");
            } else if let Some((pn, pp)) = parent_wwnn.zip(parent_wwpn) {
                x += &format!(" parent_wwnn='{pn}' parent_wwpn='{pp}'");
            } else if let Some(f) = parent_fabric {
                x += &format!(" parent_fabric_wwn='{f}'");
            }
            x += &format!(" wwnn='{wwnn}' wwpn='{wwpn}'/>\n");
        } else if let Some(a) = adapter_name {
            x += &format!("    <adapter type='scsi_host' name='{a}'/>\n");
        }
        if let (Some(t), Some(u), true) = (auth_type, auth_user, secret_usage.is_some() || secret_uuid.is_some()) {
            x += &format!("    <auth type='{t}' username='{u}'>\n");
            match secret_usage {
                Some(s) => x += &format!("      <secret usage='{s}'/>\n"),
                None => x += &format!("      <secret uuid='{}'/>\n", secret_uuid.unwrap_or_default()),
            }
            x += "    </auth>\n";
        }
        if let Some(f) = format {
            x += &format!("    <format type='{f}'/>\n");
        }
        if let Some(n) = src_name {
            x += &format!("    <name>{n}</name>\n");
        }
        if let Some(v) = proto_ver {
            x += &format!("    <protocol ver='{v}'/>\n");
        }
        x += "  </source>\n";
    }
    if let Some(t) = target {
        x += &format!("  <target>\n    <path>{t}</path>\n  </target>\n");
    }
    x += "</pool>\n";
    Ok((name, x))
}

fn cmd_pool_define_as(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let (name, xml) = build_pool_xml(ctl, cmd)?;
    if cmd.has("print-xml") {
        ctl.print(&xml);
        return Ok(());
    }
    let conn = ctl.conn()?;
    conn.storage_pool_define_xml(&xml, 0).map_err(|e| ctl.fail(format!("Failed to define pool {name}"), e))?;
    ctl.extra(&format!("Pool {name} defined\n"));
    Ok(())
}

fn cmd_pool_create_as(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let f = build_flags(ctl, cmd)?;
    let (name, xml) = build_pool_xml(ctl, cmd)?;
    if cmd.has("print-xml") {
        ctl.print(&xml);
        return Ok(());
    }
    let conn = ctl.conn()?;
    conn.storage_pool_create_xml(&xml, f).map_err(|e| ctl.fail(format!("Failed to create pool {name}"), e))?;
    ctl.extra(&format!("Pool {name} created\n"));
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
        ctl.print_table(&t);
        return Ok(());
    }
    let mut t = Table::new(&["Name", "Path"]);
    for v in &vols {
        t.row(&[v.name().to_string(), v.path().unwrap_or_default()]);
    }
    ctl.print_table(&t);
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

/// A volume size as virsh's `virshVolSize` reads it: leading blanks, an optional `+`,
/// decimal digits and an optional unit suffix (bytes by default, `virScaleInteger`).
/// `Err(None)` when there is no number (virsh then reports no library error),
/// `Err(Some(e))` for libvirt's unknown-suffix and overflow errors.
pub(crate) fn parse_vol_size(v: &str) -> Result<u64, Option<oxvirt::Error>> {
    use oxvirt::{Error, ErrorCode, ErrorDomain};
    let t = v.trim_start_matches(is_c_space);
    let t = t.strip_prefix('+').unwrap_or(t);
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let num: u64 = t[..end].parse().map_err(|_| None)?;
    let suffix = &t[end..];
    let unknown = || Some(Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("unknown suffix '{suffix}'")));
    let scale: u64 = if suffix.is_empty() || ["b", "byte", "bytes"].iter().any(|b| suffix.eq_ignore_ascii_case(b)) {
        1
    } else {
        let mut chars = suffix.chars();
        let unit = chars.next().map(|c| c.to_ascii_lowercase());
        let rest = chars.as_str();
        let base: u64 = if rest.is_empty() || rest.eq_ignore_ascii_case("ib") {
            1024
        } else if rest.eq_ignore_ascii_case("b") {
            1000
        } else {
            return Err(unknown());
        };
        let pow = match unit {
            Some('k') => 1,
            Some('m') => 2,
            Some('g') => 3,
            Some('t') => 4,
            Some('p') => 5,
            Some('e') => 6,
            _ => return Err(unknown()),
        };
        base.pow(pow)
    };
    num.checked_mul(scale)
        .ok_or_else(|| Some(Error::new(ErrorCode::Overflow, ErrorDomain::None, format!("value too large: {num}{suffix}"))))
}

/// C's `isspace` in the C locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// [`parse_vol_size`] with virsh's messages on failure.
fn vol_size(ctl: &Ctl, v: &str) -> Result<u64, Fail> {
    parse_vol_size(v).map_err(|e| {
        let msg = format!("Malformed size {v}");
        match e {
            Some(e) => ctl.fail(msg, e),
            None => ctl.fail_msg(msg),
        }
    })
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

fn cmd_vol_clone(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let orig = lookup_vol(ctl, &conn, cmd, "vol")?;
    let mut flags = VolCreateFlags::empty();
    if cmd.has("prealloc-metadata") {
        flags |= VolCreateFlags::PREALLOC_METADATA;
    }
    if cmd.has("reflink") {
        flags |= VolCreateFlags::REFLINK;
    }
    let pool = orig.pool().map_err(|_| ctl.fail_msg("failed to get parent pool"))?;
    let newname = req_str(ctl, cmd, "newname")?;
    let orig_xml = orig.xml_desc(0)?;
    let Some(xml) = clone_xml(&orig_xml, newname) else {
        return Err(ctl.fail_msg("Failed to allocate XML buffer"));
    };
    if cmd.has("print-xml") {
        ctl.print(&xml);
        return Ok(());
    }
    let v = pool.vol_create_xml_from(&xml, &orig, flags).map_err(|e| ctl.fail(format!("Failed to clone vol from {}", orig.name()), e))?;
    ctl.extra(&format!("Vol {} cloned from {}\n", v.name(), orig.name()));
    Ok(())
}

/// The document virsh's `virshMakeCloneXML` derives from a volume's XML: the same tree
/// with `/volume/name` set to `newname`, written back as libxml2 serialises a parsed
/// document (blanks kept, `"` around attribute values, childless elements as `<x/>`,
/// no final newline). `newname` is taken as libxml2's `xmlNodeSetContent` takes it:
/// character and predefined entity references are decoded, and any other `&` leaves
/// the name empty. `None` when the XML does not parse or has no `/volume/name`.
pub(crate) fn clone_xml(orig: &str, newname: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(orig).ok()?;
    let root = doc.root_element();
    if !root.has_tag_name("volume") {
        return None;
    }
    let name_el = root.children().find(|n| n.is_element() && n.has_tag_name("name"))?;
    let content = decode_refs(newname).unwrap_or_default();
    let mut out = String::new();
    serialise(root, Some((name_el.id(), &content)), &mut out);
    Some(out)
}

/// Decode `&amp;`-style and `&#NN;` references; `None` on any other `&`.
fn decode_refs(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out += &rest[..i];
        let after = &rest[i + 1..];
        let end = after.find(';')?;
        let ent = &after[..end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = match ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X")) {
                    Some(h) => u32::from_str_radix(h, 16).ok()?,
                    None => ent.strip_prefix('#')?.parse().ok()?,
                };
                char::from_u32(n)?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out += rest;
    Some(out)
}

fn serialise(node: roxmltree::Node<'_, '_>, replace: Option<(roxmltree::NodeId, &str)>, out: &mut String) {
    if node.is_text() {
        escape_text(node.text().unwrap_or_default(), out);
        return;
    }
    if !node.is_element() {
        return;
    }
    let tag = qualified(node.tag_name().name(), node.tag_name().namespace().and_then(|ns| node.lookup_prefix(ns)));
    out.push('<');
    out.push_str(&tag);
    for a in node.attributes() {
        let prefix = a.namespace().and_then(|ns| node.lookup_prefix(ns));
        out.push(' ');
        out.push_str(&qualified(a.name(), prefix));
        out.push_str("=\"");
        escape_attr(a.value(), out);
        out.push('"');
    }
    if let Some((_, text)) = replace.filter(|(id, _)| *id == node.id()) {
        if text.is_empty() {
            out.push_str("/>");
        } else {
            out.push('>');
            escape_text(text, out);
            out.push_str(&format!("</{tag}>"));
        }
        return;
    }
    if !node.has_children() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in node.children() {
        serialise(c, replace, out);
    }
    out.push_str(&format!("</{tag}>"));
}

fn qualified(name: &str, prefix: Option<&str>) -> String {
    match prefix {
        Some(p) if !p.is_empty() => format!("{p}:{name}"),
        _ => name.to_string(),
    }
}

/// libxml2's escaping of text content.
fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// libxml2's escaping of attribute values.
fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn cmd_vol_resize(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let mut flags = VolResizeFlags::empty();
    if cmd.has("allocate") {
        flags |= VolResizeFlags::ALLOCATE;
    }
    if cmd.has("shrink") {
        flags |= VolResizeFlags::SHRINK;
    }
    let mut delta = cmd.has("delta");
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let mut size = req_str(ctl, cmd, "capacity")?.trim_start_matches(is_c_space);
    if let Some(rest) = size.strip_prefix('-') {
        // The API takes sizes as unsigned; virsh reads a negative one as a shrinking delta.
        if !cmd.has("shrink") {
            return Err(ctl.fail_msg("negative size requires --shrink"));
        }
        size = rest;
        delta = true;
    }
    if delta {
        flags |= VolResizeFlags::DELTA;
    }
    let capacity = vol_size(ctl, size)?;
    let how = if delta { "by" } else { "to" };
    v.resize(capacity, flags).map_err(|e| ctl.fail(format!("Failed to change size of volume '{}' {how} {size}", v.name()), e))?;
    ctl.extra(&format!("Size of volume '{}' successfully changed {how} {size}\n", v.name()));
    Ok(())
}

/// Size of the blocks `vol-upload --sparse` examines: an all-zero block is sent as a hole.
const SPARSE_BLOCK: usize = 4096;

/// The next piece of `file` for a stream: at most [`oxvirt::stream::CHUNK`] bytes, or,
/// when `sparse`, a run of all-zero blocks as a hole.
fn next_piece(file: &mut std::fs::File, sparse: bool, held: &mut Vec<u8>) -> std::io::Result<StreamChunk> {
    use std::io::Read;
    // Refill: keep up to one chunk buffered so runs can be cut at block boundaries.
    while held.len() < oxvirt::stream::CHUNK {
        let mut buf = vec![0u8; oxvirt::stream::CHUNK - held.len()];
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        held.extend_from_slice(&buf[..n]);
    }
    if held.is_empty() {
        return Ok(StreamChunk::Eof);
    }
    if !sparse {
        return Ok(StreamChunk::Data(std::mem::take(held)));
    }
    let zero = |b: &[u8]| b.iter().all(|x| *x == 0);
    let blocks: Vec<&[u8]> = held.chunks(SPARSE_BLOCK).collect();
    let hole = zero(blocks[0]);
    let run: usize = blocks.iter().take_while(|b| zero(b) == hole).map(|b| b.len()).sum();
    let rest = held.split_off(run);
    let piece = std::mem::replace(held, rest);
    Ok(if hole { StreamChunk::Hole(piece.len() as u64) } else { StreamChunk::Data(piece) })
}

fn stream_opts(ctl: &Ctl, cmd: &Cmd) -> Result<(u64, u64), Fail> {
    let offset = cmd.uint("offset").map_err(|m| ctl.fail_msg(m))?.unwrap_or(0);
    let length = match cmd.get("length") {
        // virsh reads a negative length as its two's complement (`-1`: no limit).
        Some(v) if v.trim_start().starts_with('-') => crate::parse::parse_int(v)
            .map(|n| n as u64)
            .ok_or_else(|| ctl.fail_msg(format!("Numeric value '{v}' for <length> option is malformed or out of range")))?,
        _ => cmd.uint("length").map_err(|m| ctl.fail_msg(m))?.unwrap_or(0),
    };
    Ok((offset, length))
}

fn cmd_vol_upload(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let (offset, length) = stream_opts(ctl, cmd)?;
    let file = req_str(ctl, cmd, "file")?.to_string();
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let mut f = std::fs::File::open(&file).map_err(|_| ctl.fail_msg(format!("cannot read {file}")))?;
    let sparse = cmd.has("sparse");
    let flags = if sparse { VolUploadFlags::SPARSE_STREAM } else { VolUploadFlags::empty() };
    let st = v.upload(offset, length, flags).map_err(|e| ctl.fail(format!("cannot upload to volume {}", v.name()), e))?;
    let mut held = Vec::new();
    let r = st.send_all(|| {
        next_piece(&mut f, sparse, &mut held)
            .map_err(|e| oxvirt::Error::new(oxvirt::ErrorCode::SystemError, oxvirt::ErrorDomain::None, format!("cannot read {file}: {e}")))
    });
    r.map_err(|e| ctl.fail(format!("cannot send data to volume {}", v.name()), e))?;
    Ok(())
}

fn cmd_vol_download(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    use std::io::{Seek, SeekFrom, Write};
    let conn = ctl.conn()?;
    let (offset, length) = stream_opts(ctl, cmd)?;
    let file = req_str(ctl, cmd, "file")?.to_string();
    let v = lookup_vol(ctl, &conn, cmd, "vol")?;
    let sparse = cmd.has("sparse");
    // Like virsh: create the file if it is new (and remove it again on failure),
    // otherwise truncate it.
    let (mut f, created) = match std::fs::OpenOptions::new().write(true).create_new(true).open(&file) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match std::fs::OpenOptions::new().write(true).truncate(true).open(&file) {
                Ok(f) => (f, false),
                Err(_) => return Err(ctl.fail_msg(format!("cannot create {file}"))),
            }
        }
        Err(_) => return Err(ctl.fail_msg(format!("cannot create {file}"))),
    };
    let flags = if sparse { VolDownloadFlags::SPARSE_STREAM } else { VolDownloadFlags::empty() };
    let io = |e: std::io::Error| {
        oxvirt::Error::new(oxvirt::ErrorCode::SystemError, oxvirt::ErrorDomain::None, format!("cannot write {file}: {e}"))
    };
    let r = v.download(offset, length, flags).map_err(|e| (format!("cannot download from volume {}", v.name()), e)).and_then(|st| {
        st.recv_all(|c| match c {
            StreamChunk::Data(d) => f.write_all(&d).map_err(io),
            StreamChunk::Hole(n) => f.seek(SeekFrom::Current(i64::try_from(n).unwrap_or(i64::MAX))).map(|_| ()).map_err(io),
            StreamChunk::Eof => Ok(()),
        })
        .and_then(|()| {
            // A trailing hole still counts towards the file's size.
            let end = f.stream_position().map_err(io)?;
            f.set_len(end).map_err(io)
        })
        .map_err(|e| (format!("cannot receive data from volume {}", v.name()), e))
    });
    if let Err((ctx, e)) = r {
        drop(f);
        if created {
            let _ = std::fs::remove_file(&file);
        }
        return Err(ctl.fail(ctx, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_pieces_cut_holes_at_blocks() {
        let dir = std::env::temp_dir().join(format!("oxvirsh-pieces-{}", std::process::id()));
        let mut data = vec![1u8; 3 * SPARSE_BLOCK];
        data[SPARSE_BLOCK..2 * SPARSE_BLOCK].fill(0);
        data.extend(vec![0u8; 10]);
        std::fs::write(&dir, &data).unwrap();
        let mut f = std::fs::File::open(&dir).unwrap();
        let mut held = Vec::new();
        let mut got = Vec::new();
        loop {
            match next_piece(&mut f, true, &mut held).unwrap() {
                StreamChunk::Eof => break,
                StreamChunk::Data(d) => got.push(('d', d.len())),
                StreamChunk::Hole(n) => got.push(('h', n as usize)),
            }
        }
        let _ = std::fs::remove_file(&dir);
        assert_eq!(got, [('d', SPARSE_BLOCK), ('h', SPARSE_BLOCK), ('d', SPARSE_BLOCK), ('h', 10)]);
    }

    #[test]
    fn vol_sizes_read_as_virsh() {
        let ok = |v: &str| parse_vol_size(v).ok();
        assert_eq!(ok("1073741824"), Some(1 << 30));
        assert_eq!(ok("2G"), Some(2 << 30));
        assert_eq!(ok("2GiB"), Some(2 << 30));
        assert_eq!(ok("2gib"), Some(2 << 30));
        assert_eq!(ok("2GB"), Some(2_000_000_000));
        assert_eq!(ok("10m"), Some(10 << 20));
        assert_eq!(ok("1K"), Some(1024));
        assert_eq!(ok("1k"), Some(1024));
        assert_eq!(ok("3T"), Some(3 << 40));
        assert_eq!(ok("1P"), Some(1 << 50));
        assert_eq!(ok("15E"), Some(15 << 60));
        assert_eq!(ok("7b"), Some(7));
        assert_eq!(ok("7Bytes"), Some(7));
        assert_eq!(ok("7byte"), Some(7));
        assert_eq!(ok("  \t+5M"), Some(5 << 20));
        assert_eq!(ok("0"), Some(0));
        assert_eq!(ok("0E"), Some(0));
        // No number: virsh's "Malformed size" alone.
        for v in ["", "G", "-1", "+", "18446744073709551616"] {
            assert!(matches!(parse_vol_size(v), Err(None)), "{v}");
        }
        // libvirt's virScaleInteger errors.
        let err = |v: &str| match parse_vol_size(v) {
            Err(Some(e)) => (e.code, e.message),
            r => panic!("{v}: {r:?}"),
        };
        assert_eq!(err("1x"), (oxvirt::ErrorCode::InvalidArg, "invalid argument: unknown suffix 'x'".to_string()));
        assert_eq!(err("1GX"), (oxvirt::ErrorCode::InvalidArg, "invalid argument: unknown suffix 'GX'".to_string()));
        assert_eq!(err("1 G"), (oxvirt::ErrorCode::InvalidArg, "invalid argument: unknown suffix ' G'".to_string()));
        assert_eq!(err("17E"), (oxvirt::ErrorCode::Overflow, "numerical overflow: value too large: 17E".to_string()));
    }

    #[test]
    fn clone_xml_as_virsh_writes_it() {
        let orig = "<volume type='file'>\n  <name>a.img</name>\n  <capacity unit='bytes'>10</capacity>\n  <target>\n    <path>/p/a&amp;\"b</path>\n    <format type='raw'/>\n    <label>x</label>\n  </target>\n</volume>\n";
        let want = "<volume type=\"file\">\n  <name>b&amp;&lt;.img</name>\n  <capacity unit=\"bytes\">10</capacity>\n  <target>\n    <path>/p/a&amp;\"b</path>\n    <format type=\"raw\"/>\n    <label>x</label>\n  </target>\n</volume>";
        assert_eq!(clone_xml(orig, "b&amp;&#60;.img").as_deref(), Some(want));
        // An entity libxml2 cannot resolve empties the name.
        assert!(clone_xml(orig, "x&y").is_some_and(|x| x.contains("<name/>")));
        assert_eq!(clone_xml("<pool><name>x</name></pool>", "y"), None);
        assert_eq!(clone_xml("<volume/>", "y"), None);
        assert_eq!(clone_xml("<volume", "y"), None);
    }
}
