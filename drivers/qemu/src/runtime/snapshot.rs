//! Domain snapshots (libvirt's `qemu_snapshot.c` and the snapshot calls of
//! `qemu_driver.c`): internal snapshots of guests whose disks are qcow2, and
//! external disk-only snapshots (new qcow2 overlays).
//!
//! As libvirt 9.0 does with QEMU 7.2: a shut-off guest is snapshotted, reverted and
//! cleaned with `qemu-img snapshot -c/-a/-d` on each disk; a running or paused one
//! gets a full system checkpoint (disks and memory) with the monitor's `savevm`
//! (HMP through `human-monitor-command`; the guest is paused around it), loses one
//! with `delvm`, and is reverted by starting a new QEMU with `-loadvm NAME`.
//! A disk-only snapshot puts a new overlay on each disk: `qemu-img create` for a
//! shut-off guest, `blockdev-add` + a `transaction` of `blockdev-snapshot` for a
//! running one. External memory snapshots are refused with
//! `VIR_ERR_CONFIG_UNSUPPORTED` naming the element.
//!
//! Metadata is libvirt's: one `<domainsnapshot>` document per snapshot in
//! `SNAPSHOT_DIR/DOMNAME/SNAPNAME.xml` (written atomically, with `<active>` marking the
//! current one). The files are the store: every call reads the domain's directory,
//! so a restarted daemon (even after SIGKILL) sees exactly what was written, and
//! changes are serialized by one lock per driver process.

use super::domobj::{DomObj, Expect};
use super::Driver;
use oxvirt::event::lifecycle as lc;
use oxvirt::types::reason;
use oxvirt::{
    DomainRef, DomainState, Error, ErrorCode, ErrorDomain, Result, SnapshotCreateFlags, SnapshotDeleteFlags, SnapshotListFlags,
    SnapshotRef, SnapshotRevertFlags,
};
use oxvirt_conf::domain::{DomainDef, ParseOptions};
use oxvirt_conf::snapshot::{SnapshotDef, SnapshotDisk, SnapshotFormatOptions, SnapshotParseFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

const Q: ErrorDomain = ErrorDomain::Qemu;
/// `VIR_DOMAIN_PAUSED_SAVE`: the reason while `savevm` runs.
const PAUSED_SAVE: i32 = 3;
/// How long `savevm`/`delvm` may take (they write the guest's memory).
const SAVEVM_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a QEMU stopped for a revert gets after SIGTERM.
const TERM_WAIT: Duration = Duration::from_secs(3);

/// Makes the node names of overlays unique within a daemon's life.
static NODE_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Serializes snapshot metadata changes in this process.
static META: Mutex<()> = Mutex::new(());

/// How `Driver::start_full` starts a guest for a revert.
#[derive(Debug, Clone, Copy)]
pub(super) struct RevertStart<'a> {
    /// The internal snapshot QEMU loads (`-loadvm`), for a running or paused one.
    pub loadvm: Option<&'a str>,
}

fn no_snapshot(name: &str) -> Error {
    Error::new(ErrorCode::NoDomainSnapshot, Q, format!("no domain snapshot with matching name '{name}'"))
}

fn unsupported(msg: impl AsRef<str>) -> Error {
    Error::new(ErrorCode::ConfigUnsupported, Q, msg)
}

/// `VIR_ERR_CONFIG_UNSUPPORTED` raised by libvirt's `snapshot_conf.c`
/// (`VIR_FROM_DOMAIN_SNAPSHOT`): the disk alignment rules.
fn conf_unsupported(msg: impl AsRef<str>) -> Error {
    Error::new(ErrorCode::ConfigUnsupported, ErrorDomain::DomainSnapshot, msg)
}

/// libvirt's `virDomainSnapshotState` word of a domain state.
fn state_word(s: DomainState) -> &'static str {
    match s {
        DomainState::Running => "running",
        DomainState::Blocked => "blocked",
        DomainState::Paused => "paused",
        DomainState::Shutdown => "shutdown",
        DomainState::Shutoff => "shutoff",
        DomainState::Crashed => "crashed",
        DomainState::PmSuspended => "pmsuspended",
        _ => "nostate",
    }
}

/// `virDomainSnapshotIsExternal`.
fn is_external(def: &SnapshotDef) -> bool {
    def.memory.as_deref() == Some("external") || def.disks.iter().any(|d| d.snapshot.as_deref() == Some("external"))
}

/// The image format of a domain disk (`<driver type=>`), if given.
fn disk_format(d: &oxvirt_conf::domain::devices::Disk) -> Option<String> {
    d.driver.as_ref().and_then(|e| e.attrs.iter().find(|(k, _)| k == "type")).map(|(_, v)| v.clone())
}

/// The `snapshot` attribute of a domain disk.
fn disk_snapshot_attr(d: &oxvirt_conf::domain::devices::Disk) -> Option<String> {
    d.attrs.iter().find(|(k, _)| k == "snapshot").map(|(_, v)| v.clone())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The snapshots of one domain as stored (libvirt's `virDomainSnapshotObjList`).
#[derive(Debug, Default)]
pub(super) struct SnapList {
    /// By creation time, then name (parents before children).
    snaps: Vec<SnapshotDef>,
    /// The current snapshot.
    current: Option<String>,
}

impl SnapList {
    /// Read `dir` (missing: no snapshots). Unreadable files are skipped, as libvirt's
    /// `qemuDomainSnapshotLoad` does; more than one current means none.
    fn load(dir: &Path) -> SnapList {
        let mut list = SnapList::default();
        let Ok(rd) = std::fs::read_dir(dir) else { return list };
        let flags = SnapshotParseFlags { redefine: true, internal: true, offline: false };
        let mut currents = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("xml") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else { continue };
            let Ok(doc) = roxmltree::Document::parse(&text) else { continue };
            let Ok(def) = SnapshotDef::from_node_with(doc.root_element(), flags, Some("qemu")) else { continue };
            let Some(name) = def.name.clone() else { continue };
            if def.current {
                currents.push(name);
            }
            list.snaps.push(def);
        }
        list.snaps.sort_by(|a, b| (a.creation_time, &a.name).cmp(&(b.creation_time, &b.name)));
        if currents.len() == 1 {
            list.current = currents.pop();
        }
        // Parents before children (snapshots of one second sort by name otherwise).
        let mut ordered: Vec<SnapshotDef> = Vec::with_capacity(list.snaps.len());
        let mut rest = std::mem::take(&mut list.snaps);
        while !rest.is_empty() {
            let ready = rest.iter().position(|s| {
                s.parent
                    .as_ref()
                    .is_none_or(|p| ordered.iter().any(|o| o.name.as_ref() == Some(p)) || !rest.iter().any(|r| r.name.as_ref() == Some(p)))
            });
            // A parent cycle (hand-edited files) keeps the remaining order.
            let i = ready.unwrap_or(0);
            ordered.push(rest.remove(i));
        }
        list.snaps = ordered;
        // A parent that is gone makes a root (libvirt's virDomainSnapshotUpdateRelations).
        let names: Vec<String> = list.snaps.iter().filter_map(|s| s.name.clone()).collect();
        for s in &mut list.snaps {
            if s.parent.as_ref().is_some_and(|p| !names.contains(p)) {
                s.parent = None;
            }
        }
        list
    }

    fn get(&self, name: &str) -> Option<&SnapshotDef> {
        self.snaps.iter().find(|s| s.name.as_deref() == Some(name))
    }

    fn find(&self, name: &str) -> Result<&SnapshotDef> {
        self.get(name).ok_or_else(|| no_snapshot(name))
    }

    fn children(&self, parent: Option<&str>) -> Vec<&SnapshotDef> {
        self.snaps.iter().filter(|s| s.parent.as_deref() == parent).collect()
    }

    /// Every descendant of `name`, parents before children.
    fn descendants(&self, name: &str) -> Vec<&SnapshotDef> {
        let mut out: Vec<&SnapshotDef> = Vec::new();
        let mut queue = vec![name.to_string()];
        while let Some(n) = queue.pop() {
            for c in self.children(Some(&n)) {
                if let Some(cn) = &c.name {
                    queue.push(cn.clone());
                }
                out.push(c);
            }
        }
        out
    }

    /// `virDomainSnapshotObjListFilter` over `set`.
    fn filter<'a>(&'a self, set: Vec<&'a SnapshotDef>, flags: u32) -> Vec<&'a SnapshotDef> {
        let f = SnapshotListFlags::from_bits_truncate(flags);
        set.into_iter()
            .filter(|s| {
                let leaf = self.children(s.name.as_deref()).is_empty();
                if f.contains(SnapshotListFlags::LEAVES) != f.contains(SnapshotListFlags::NO_LEAVES)
                    && f.contains(SnapshotListFlags::LEAVES) != leaf
                {
                    return false;
                }
                // Every listed snapshot has metadata.
                if f.contains(SnapshotListFlags::NO_METADATA) && !f.contains(SnapshotListFlags::METADATA) {
                    return false;
                }
                let st = s.state.as_deref().unwrap_or("nostate");
                let want = SnapshotListFlags::INACTIVE | SnapshotListFlags::ACTIVE | SnapshotListFlags::DISK_ONLY;
                if f.intersects(want) {
                    let ok = (f.contains(SnapshotListFlags::INACTIVE) && st == "shutoff")
                        || (f.contains(SnapshotListFlags::DISK_ONLY) && st == "disk-snapshot")
                        || (f.contains(SnapshotListFlags::ACTIVE) && st != "shutoff" && st != "disk-snapshot");
                    if !ok {
                        return false;
                    }
                }
                let ext = is_external(s);
                if f.intersects(SnapshotListFlags::INTERNAL | SnapshotListFlags::EXTERNAL)
                    && !((f.contains(SnapshotListFlags::INTERNAL) && !ext) || (f.contains(SnapshotListFlags::EXTERNAL) && ext))
                {
                    return false;
                }
                true
            })
            .collect()
    }
}

/// The nearest ancestor of `snap` that snapshotted disk `disk` (libvirt's
/// `qemuSnapshotFindParentSnapForDisk`).
fn parent_snap_for_disk<'a>(list: &'a SnapList, snap: &SnapshotDef, disk: &str) -> Option<&'a SnapshotDef> {
    let mut cur = snap.parent.as_deref().and_then(|p| list.get(p));
    let mut hops = 0;
    while let Some(p) = cur {
        if p.disks.iter().any(|d| d.name == disk && d.snapshot.as_deref() != Some("no")) {
            return Some(p);
        }
        hops += 1;
        if hops > list.snaps.len() {
            return None;
        }
        cur = p.parent.as_deref().and_then(|n| list.get(n));
    }
    None
}

/// A `qemu-img snapshot OP NAME PATH` run, failing as libvirt's `virCommandRun`.
fn qemu_img_snapshot(op: &str, name: &str, path: &str) -> Result<()> {
    let out = std::process::Command::new("qemu-img")
        .args(["snapshot", op, name, path])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::new(ErrorCode::SystemError, Q, format!("Cannot run qemu-img: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let status = out.status.code().map_or_else(|| "fatal signal".to_string(), |c| format!("status {c}"));
    Err(Error::new(
        ErrorCode::InternalError,
        Q,
        format!(
            "Child process (qemu-img snapshot {op} {name} {path}) unexpected exit {status}: {}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        ),
    ))
}

/// The disks `qemu-img` works on for `snap` (libvirt's
/// `qemuDomainSnapshotForEachQcow2`): devices of kind `disk` with an internal
/// snapshot. Refuses what is not a local qcow2 file.
fn qcow2_paths(def: &DomainDef, snap: &SnapshotDef) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, d) in def.devices.disks.iter().enumerate() {
        let internal = snap.disks.get(i).is_none_or(|s| s.snapshot.as_deref() == Some("internal"));
        if d.device != "disk" || !internal {
            continue;
        }
        if !matches!(d.disk_type.as_str(), "file" | "block") {
            return Err(Error::new(
                ErrorCode::OperationInvalid,
                Q,
                format!("can't manipulate inactive snapshots of disk '{}'", d.target_dev),
            ));
        }
        if disk_format(d).is_some_and(|f| f != "qcow2") {
            return Err(Error::new(
                ErrorCode::OperationInvalid,
                Q,
                format!("Disk device '{}' does not support snapshotting", d.target_dev),
            ));
        }
        if let Some(p) = d.source.path.clone() {
            out.push(p);
        }
    }
    Ok(out)
}

/// Run `qemu-img snapshot OP` on every disk of `snap`. With `try_all` failures are
/// skipped (revert, delete); creation rolls back what it made.
fn for_each_qcow2(def: &DomainDef, snap: &SnapshotDef, op: &str, try_all: bool) -> Result<()> {
    let name = snap.name.as_deref().unwrap_or_default();
    let paths = qcow2_paths(def, snap)?;
    let mut first_err = None;
    for (i, p) in paths.iter().enumerate() {
        if let Err(e) = qemu_img_snapshot(op, name, p) {
            if try_all {
                first_err.get_or_insert(e);
                continue;
            }
            if op == "-c" {
                for done in &paths[..i] {
                    let _ = qemu_img_snapshot("-d", name, done);
                }
            }
            return Err(e);
        }
    }
    match first_err {
        Some(e) if op == "-a" => Err(e),
        _ => Ok(()),
    }
}

/// The `<disks>` of a new internal snapshot (libvirt's `virDomainSnapshotAlignDisks`
/// with the uniform internal rule), and the checks of `qemuSnapshotPrepare`.
fn align_internal_disks(snap: &mut SnapshotDef, dom: &DomainDef, active: bool) -> Result<()> {
    let asked = std::mem::take(&mut snap.disks);
    let mut out: Vec<Option<SnapshotDisk>> = vec![None; dom.devices.disks.len()];
    for a in asked {
        let idx = dom.devices.disks.iter().position(|d| d.target_dev == a.name);
        let Some(i) = idx else { return Err(conf_unsupported(format!("no disk named '{}'", a.name))) };
        if out[i].is_some() {
            return Err(conf_unsupported(format!("disk '{}' specified twice", a.name)));
        }
        let domdisk = &dom.devices.disks[i];
        let dom_no = disk_snapshot_attr(domdisk).as_deref() == Some("no");
        let mut a = a;
        match a.snapshot.as_deref() {
            None => a.snapshot = Some(if dom_no { "no" } else { "internal" }.into()),
            Some("external") | Some("manual") => {
                return Err(unsupported(format!(
                    "external disk snapshots (<disk name='{}' snapshot='{}'/>) are not supported by this driver",
                    a.name,
                    a.snapshot.as_deref().unwrap_or_default()
                )))
            }
            Some("internal") => {}
            Some("no") if dom_no => {}
            Some(_) => return Err(conf_unsupported(format!("disk '{}' must use snapshot mode 'internal'", a.name))),
        }
        if let Some(p) = a.path() {
            return Err(conf_unsupported(format!("file '{p}' for disk '{}' requires use of external snapshot mode", a.name)));
        }
        a.name = domdisk.target_dev.clone();
        out[i] = Some(a);
    }
    let mut found_internal = false;
    let mut forbid_internal = false;
    for (i, d) in dom.devices.disks.iter().enumerate() {
        let empty = d.source.path.as_deref().is_none_or(str::is_empty) && d.source.name.is_none();
        let disk = match out[i].take() {
            Some(x) => x,
            None => SnapshotDisk {
                name: d.target_dev.clone(),
                snapshot: Some(if empty { "no".into() } else { disk_snapshot_attr(d).unwrap_or_else(|| "internal".into()) }),
                disk_type: "file".into(),
                format: None,
                metadata_cache_max_size: 0,
                source: None,
                delete_in_progress: false,
            },
        };
        match disk.snapshot.as_deref() {
            Some("internal") => {
                found_internal = true;
                if !active && !matches!(d.disk_type.as_str(), "file" | "block") {
                    return Err(Error::new(
                        ErrorCode::InternalError,
                        Q,
                        format!("internal inactive snapshots are not supported on '{}' disks", d.disk_type),
                    ));
                }
                if let Some(f) = disk_format(d).filter(|f| f != "qcow2") {
                    return Err(unsupported(format!("internal snapshot for disk {} unsupported for storage type {f}", d.target_dev)));
                }
            }
            Some("external") | Some("manual") => {
                return Err(unsupported(format!(
                    "external disk snapshots (<disk name='{}' snapshot='external'/>) are not supported by this driver",
                    d.target_dev
                )))
            }
            _ => {
                if !empty && !d.readonly {
                    forbid_internal = true;
                }
            }
        }
        snap.disks.push(disk);
    }
    let memory_internal = snap.memory.as_deref() == Some("internal");
    if !found_internal && !memory_internal {
        return Err(unsupported("nothing selected for snapshot"));
    }
    if (memory_internal && !found_internal) || (found_internal && forbid_internal) {
        return Err(unsupported("internal and full system snapshots require all disks to be selected for snapshot"));
    }
    Ok(())
}

/// The `<disks>` of a new external disk-only snapshot (libvirt's
/// `virDomainSnapshotAlignDisks` with external defaults, its default file names —
/// the disk's path without its suffix, then `.SNAPNAME` — and the checks of
/// `qemuSnapshotPrepare`/`qemuSnapshotPrepareDiskExternal` for local files).
fn align_external_disks(snap: &mut SnapshotDef, dom: &DomainDef, active: bool, reuse: bool) -> Result<()> {
    let asked = std::mem::take(&mut snap.disks);
    let mut out: Vec<Option<SnapshotDisk>> = vec![None; dom.devices.disks.len()];
    for a in asked {
        let Some(i) = dom.devices.disks.iter().position(|d| d.target_dev == a.name) else {
            return Err(conf_unsupported(format!("no disk named '{}'", a.name)));
        };
        if out[i].is_some() {
            return Err(conf_unsupported(format!("disk '{}' specified twice", a.name)));
        }
        let domdisk = &dom.devices.disks[i];
        let mut a = a;
        if a.snapshot.is_none() {
            a.snapshot = Some(disk_snapshot_attr(domdisk).unwrap_or_else(|| "external".into()));
        }
        if a.path().is_some() && a.snapshot.as_deref() != Some("external") {
            return Err(conf_unsupported(format!(
                "file '{}' for disk '{}' requires use of external snapshot mode",
                a.path().unwrap_or_default(),
                a.name
            )));
        }
        a.name = domdisk.target_dev.clone();
        out[i] = Some(a);
    }
    let snap_name = snap.name.clone().unwrap_or_default();
    let mut external = 0;
    for (i, d) in dom.devices.disks.iter().enumerate() {
        let empty = d.source.path.as_deref().is_none_or(str::is_empty) && d.source.name.is_none();
        let mut disk = out[i].take().unwrap_or_else(|| SnapshotDisk {
            name: d.target_dev.clone(),
            snapshot: Some(if empty { "no".into() } else { disk_snapshot_attr(d).unwrap_or_else(|| "external".into()) }),
            disk_type: "file".into(),
            format: None,
            metadata_cache_max_size: 0,
            source: None,
            delete_in_progress: false,
        });
        match disk.snapshot.as_deref() {
            Some("external") => {}
            Some("internal") if active => {
                return Err(unsupported(format!(
                    "active qemu domains require external disk snapshots; disk {} requested internal",
                    d.target_dev
                )))
            }
            Some("internal") => return Err(unsupported("mixing internal and external targets for a snapshot is not yet supported")),
            Some("manual") => {
                return Err(unsupported(format!(
                    "manual disk snapshots (<disk name='{}' snapshot='manual'/>) are not supported by this driver",
                    d.target_dev
                )))
            }
            _ => {
                snap.disks.push(disk);
                continue;
            }
        }
        match disk.format.as_deref() {
            None => disk.format = Some("qcow2".into()),
            Some("qcow2") | Some("qed") => {}
            Some(other) => return Err(unsupported(format!("external snapshot format for disk {} is unsupported: {other}", d.target_dev))),
        }
        if disk.disk_type != "file" {
            return Err(unsupported(format!(
                "external {} snapshots (<disk name='{}' type='{}'/>) are not supported by this driver",
                disk.disk_type, d.target_dev, disk.disk_type
            )));
        }
        if disk.path().is_none() {
            let Some(orig) = d.source.path.as_deref().filter(|p| !p.is_empty()) else {
                return Err(conf_unsupported(format!("cannot generate external snapshot name for disk '{}' without source", d.target_dev)));
            };
            if !std::fs::metadata(orig).is_ok_and(|m| m.is_file()) {
                return Err(conf_unsupported(format!(
                    "source for disk '{}' is not a regular file; refusing to generate external snapshot name",
                    d.target_dev
                )));
            }
            let base = match orig.rfind('.') {
                Some(dot) if !orig[dot..].contains('/') => &orig[..dot],
                _ => orig,
            };
            let path = format!("{base}.{snap_name}");
            disk.source = Some(oxvirt_conf::domain::devices::DiskSource { path: Some(path), ..Default::default() });
        }
        let path = disk.path().unwrap_or_default().to_string();
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if reuse {
                    return Err(Error::new(
                        ErrorCode::SystemError,
                        Q,
                        format!("missing existing file for disk {}: {path}: {e}", d.target_dev),
                    ));
                }
            }
            Err(e) => return Err(Error::new(ErrorCode::SystemError, Q, format!("unable to stat for disk {}: {path}: {e}", d.target_dev))),
            Ok(m) if !m.is_file() => {
                return Err(unsupported(format!(
                    "mismatch between configured type for snapshot disk '{}' and the type of existing file '{path}'",
                    d.target_dev
                )))
            }
            Ok(m) if !reuse && m.len() > 0 => {
                return Err(unsupported(format!(
                    "external snapshot file for disk {} already exists and is not a block device: {path}",
                    d.target_dev
                )))
            }
            Ok(_) => {}
        }
        if let Some(other) = snap.disks.iter().find(|x| x.path() == Some(path.as_str())) {
            return Err(conf_unsupported(format!(
                "cannot generate external snapshot name for disk '{}': collision with disk '{}'",
                d.target_dev, other.name
            )));
        }
        external += 1;
        snap.disks.push(disk);
    }
    if external == 0 {
        return Err(unsupported("disk-only snapshots require at least one disk to be selected for snapshot"));
    }
    Ok(())
}

/// Point domain disk `disk` at the new overlay `snap` (qcow2/qed over what it had).
fn switch_disk_to_overlay(def: &mut DomainDef, snap: &SnapshotDisk) {
    let Some(disk) = def.devices.disks.iter_mut().find(|x| x.target_dev == snap.name) else { return };
    disk.source.path = snap.path().map(str::to_string);
    if let Some(drv) = disk.driver.as_mut() {
        match drv.attrs.iter_mut().find(|(k, _)| k == "type") {
            Some(t) => t.1 = snap.format.clone().unwrap_or_else(|| "qcow2".into()),
            None => drv.push_attr("type", snap.format.as_deref().unwrap_or("qcow2")),
        }
    } else {
        disk.driver =
            Some(oxvirt_conf::xml::El::new("driver").attr("name", "qemu").attr("type", snap.format.as_deref().unwrap_or("qcow2")));
    }
    // The chain below is in the overlay's header now.
    disk.other.retain(|e| e.name != "backingStore");
}

/// `qemu-img create -f FMT -o backing_fmt=...,backing_file=... OVERLAY`, as libvirt
/// runs it for an offline external snapshot (commas in paths doubled).
fn qemu_img_overlay(snap: &SnapshotDisk, base: &str, base_fmt: &str, size: Option<u64>) -> Result<()> {
    let fmt = snap.format.as_deref().unwrap_or("qcow2");
    let path = snap.path().unwrap_or_default();
    let mut args = vec![
        "create".to_string(),
        "-f".into(),
        fmt.into(),
        "-o".into(),
        format!("backing_fmt={base_fmt},backing_file={}", base.replace(',', ",,")),
    ];
    if size.is_some() {
        // QEMU holds the backing image: do not open it, the size is given.
        args.push("-u".into());
    }
    args.push(path.replace(',', ",,"));
    if let Some(sz) = size {
        args.push(sz.to_string());
    }
    let out = std::process::Command::new("qemu-img")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::new(ErrorCode::SystemError, Q, format!("Cannot run qemu-img: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::InternalError,
        Q,
        format!(
            "Child process (qemu-img {}) unexpected exit status {}: {}",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).trim_end()
        ),
    ))
}

/// The virtual size of image `path` (`qemu-img info -U`).
fn image_size(path: &str) -> Result<u64> {
    let out = std::process::Command::new("qemu-img")
        .args(["info", "-U", "--output=json", path])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::new(ErrorCode::SystemError, Q, format!("Cannot run qemu-img: {e}")))?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.get("virtual-size").and_then(serde_json::Value::as_u64).ok_or_else(|| {
        Error::new(
            ErrorCode::InternalError,
            Q,
            format!("cannot read the size of '{path}': {}", String::from_utf8_lossy(&out.stderr).trim_end()),
        )
    })
}

impl Driver {
    /// The snapshot metadata directory of domain `name`.
    fn snap_dir(&self, name: &str) -> PathBuf {
        self.paths.snapshot_dir().join(name)
    }

    /// The stored snapshots of domain `name`.
    pub(super) fn snapshots_of(&self, name: &str) -> SnapList {
        SnapList::load(&self.snap_dir(name))
    }

    /// Write `snap` of domain `dom_name`/`uuid` (libvirt's `qemuDomainSnapshotWriteMetadata`).
    fn write_snap(&self, dom_name: &str, uuid: &oxvirt_util::uuid::Uuid, snap: &SnapshotDef, current: bool) -> Result<()> {
        let dir = self.snap_dir(dom_name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::new(ErrorCode::SystemError, Q, format!("cannot create snapshot directory '{}': {e}", dir.display())))?;
        let mut def = snap.clone();
        def.current = current;
        let text = def.format(&SnapshotFormatOptions { domain_uuid: Some(oxvirt_util::uuid::format(uuid)), internal: true, secure: true });
        let file = dir.join(format!("{}.xml", def.name.as_deref().unwrap_or_default()));
        oxvirt_util::fs::atomic_write(&file, text.as_bytes()).map_err(|e| {
            Error::new(
                ErrorCode::InternalError,
                Q,
                format!("unable to save metadata for snapshot {}: {e}", def.name.as_deref().unwrap_or_default()),
            )
        })
    }

    /// Make `name` the current snapshot (`None`: no current), rewriting the old
    /// current's file (libvirt's `qemuSnapshotSetCurrent`).
    fn set_current(&self, obj_name: &str, uuid: &oxvirt_util::uuid::Uuid, list: &SnapList, name: Option<&str>) -> Result<()> {
        if let Some(old) = list.current.as_deref().filter(|o| Some(*o) != name) {
            if let Some(s) = list.get(old) {
                self.write_snap(obj_name, uuid, s, false)?;
            }
        }
        if let Some(s) = name.and_then(|n| list.get(n)) {
            self.write_snap(obj_name, uuid, s, true)?;
        }
        Ok(())
    }

    /// Domain name, UUID, persistence, state and definitions of `d`.
    fn snap_domain(&self, d: &DomainRef) -> Result<(String, oxvirt_util::uuid::Uuid)> {
        let doms = self.doms();
        let o = doms.by_ref(d)?;
        Ok((o.def.name.clone(), o.def.uuid))
    }

    /// Stop active `d` for a snapshot (shut off, `from snapshot`, STOPPED/FROM_SNAPSHOT).
    /// A transient domain stays in the list (as a defined-but-inactive object) so the
    /// revert can start it again.
    fn stop_for_snapshot(&self, d: &DomainRef) -> Result<()> {
        let job = self.job_of(&d.uuid).ok_or_else(|| super::domobj::no_domain_ref(d))?;
        let _job = job.lock().unwrap_or_else(PoisonError::into_inner);
        let (pid, transient) = {
            let mut doms = self.doms();
            let obj = doms.by_ref_mut(d)?;
            let transient = !obj.persistent;
            let Some(run) = obj.run.as_mut() else { return Ok(()) };
            run.being_destroyed = true;
            (run.pid, transient)
        };
        let _ = super::process::terminate(pid, false, TERM_WAIT);
        let mut doms = self.doms();
        // A transient domain stays (with its snapshots) for the revert to start it:
        // it counts as persistent while it stops.
        if transient {
            if let Some(o) = doms.get_mut(&d.uuid) {
                o.persistent = true;
            }
        }
        self.stop_locked(&mut doms, &d.uuid, reason::SHUTOFF_FROM_SNAPSHOT, lc::STOPPED_FROM_SNAPSHOT);
        if transient {
            if let Some(o) = doms.get_mut(&d.uuid) {
                o.persistent = false;
            }
        }
        Ok(())
    }

    /// `virDomainSnapshotCreateXML`.
    pub(super) fn snapshot_create(self: &Arc<Self>, d: &DomainRef, xml: &str, flags: u32) -> Result<SnapshotRef> {
        use SnapshotCreateFlags as F;
        let f = F::from_bits_truncate(flags);
        if f.contains(F::QUIESCE) && !f.contains(F::DISK_ONLY) {
            return Err(Error::raw(
                ErrorCode::InvalidArg,
                Q,
                "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'",
            ));
        }
        if f.contains(F::LIVE) && f.contains(F::REDEFINE) {
            return Err(Error::raw(
                ErrorCode::InvalidArg,
                Q,
                "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_LIVE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' are mutually exclusive",
            ));
        }
        self.refresh(&d.uuid);
        let (persistent, active, state) = {
            let doms = self.doms();
            let o = doms.by_ref(d)?;
            (o.persistent, o.is_active(), o.state)
        };
        if !persistent && f.contains(F::HALT) {
            return Err(Error::new(ErrorCode::OperationInvalid, Q, "cannot halt after transient domain snapshot"));
        }
        let redefine = f.contains(F::REDEFINE);
        let offline = f.contains(F::DISK_ONLY) || !active;
        // libvirt's virXMLParse wording for a wrong root element.
        if let Ok(d0) = roxmltree::Document::parse(xml) {
            let root = d0.root_element().tag_name().name();
            if root != "domainsnapshot" {
                return Err(Error::new(
                    ErrorCode::XmlError,
                    ErrorDomain::Xml,
                    format!("expecting root element of 'domainsnapshot', not '{root}'"),
                ));
            }
        }
        let doc = oxvirt_conf::xml::parse_root(xml, "domainsnapshot").map_err(|e| e.into_vir(ErrorDomain::DomainSnapshot))?;
        let mut def =
            SnapshotDef::from_node_with(doc.root_element(), SnapshotParseFlags { redefine, internal: false, offline }, Some("qemu"))
                .map_err(|e| e.into_vir(ErrorDomain::DomainSnapshot))?;
        if !redefine {
            let now = now_secs();
            def.creation_time = Some(now);
            if def.name.is_none() {
                def.name = Some(now.to_string());
            }
        }
        let name = def.name.clone().unwrap_or_default();
        if !f.contains(F::NO_METADATA) {
            if name.contains('/') {
                return Err(Error::new(ErrorCode::XmlDetail, Q, format!("invalid snapshot name '{name}': name can't contain '/'")));
            }
            if name.starts_with('.') {
                return Err(Error::new(ErrorCode::XmlDetail, Q, format!("invalid snapshot name '{name}': name can't start with '.'")));
            }
        }
        if f.contains(F::LIVE) && (!active || def.memory.as_deref() != Some("external")) {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                Q,
                "live snapshot creation is supported only during full system snapshots",
            ));
        }
        let st = if redefine { def.state.clone().unwrap_or_default() } else { state_word(state).to_string() };
        match st.as_str() {
            "running" | "paused" | "shutdown" | "shutoff" | "crashed" => {}
            "disk-snapshot" if redefine => {}
            "pmsuspended" => {
                return Err(Error::new(ErrorCode::OperationUnsupported, Q, "qemu doesn't support taking snapshots of PMSUSPENDED guests"))
            }
            other => return Err(Error::new(ErrorCode::InternalError, Q, format!("Invalid domain state {other}"))),
        }
        let _meta = META.lock().unwrap_or_else(PoisonError::into_inner);
        let (dom_name, uuid) = self.snap_domain(d)?;
        let list = self.snapshots_of(&dom_name);
        if redefine {
            return self.snapshot_redefine(d, &dom_name, &uuid, &list, def, f);
        }
        if list.get(&name).is_some() {
            return Err(Error::new(ErrorCode::OperationFailed, ErrorDomain::Domain, format!("domain moment {name} already exists")));
        }
        // What is refused before anything is done: external snapshots (not
        // implemented here) and libvirt's qemuSnapshotCreateAlignDisks/Prepare rules.
        if def.memory.as_deref() == Some("external") {
            return Err(unsupported("external memory snapshots (<memory snapshot='external'/>) are not supported by this driver"));
        }
        let asks_external = def.disks.iter().any(|x| x.snapshot.as_deref() == Some("external") || x.path().is_some());
        let (dom_def, inactive_def, lib_dir) = {
            let doms = self.doms();
            let o = doms.by_ref(d)?;
            let lib = o.run.as_ref().map(|r| r.lib_dir.clone());
            (o.def.clone(), if o.is_active() { o.new_def.clone() } else { None }, lib)
        };
        // The embedded definition is the inactive form of what runs, without this
        // run's private paths (libvirt's migratable XML).
        let snap_dom = match &lib_dir {
            Some(l) => {
                let text = super::save::image_xml(&dom_def, l);
                DomainDef::parse(&text, &ParseOptions { driver: Some("qemu".into()), inactive: true })
                    .map_err(|e| e.into_vir(ErrorDomain::Domain))?
            }
            None => {
                let mut x = dom_def.clone();
                x.id = None;
                x
            }
        };
        // External disk-only snapshots (an offline one is disk-only by nature).
        if f.contains(F::DISK_ONLY) || (asks_external && !active) {
            def.state = Some(if active { "disk-snapshot" } else { "shutoff" }.into());
            def.memory = Some("no".into());
            align_external_disks(&mut def, &dom_def, active, f.contains(F::REUSE_EXT))?;
            def.domain = Some(snap_dom);
            def.inactive_domain = inactive_def;
            def.parent = if f.contains(F::NO_METADATA) { None } else { list.current.clone() };
            if active {
                // --quiesce: the guest agent freezes the file systems around it
                // (thawed only when it froze any, as libvirt).
                let frozen = if f.contains(F::QUIESCE) { super::guestinfo::fs_freeze(self, d, &[], 0, true)? } else { 0 };
                let made = self.external_live(d, &def, f.contains(F::REUSE_EXT));
                if frozen > 0 {
                    let thawed = super::guestinfo::fs_freeze(self, d, &[], 0, false);
                    if made.is_ok() {
                        thawed?;
                    }
                }
                made?;
            } else {
                self.external_offline(d, &def, f.contains(F::REUSE_EXT))?;
            }
            if !f.contains(F::NO_METADATA) {
                self.set_current(&dom_name, &uuid, &list, None)?;
                self.write_snap(&dom_name, &uuid, &def, true)?;
            }
            if f.contains(F::HALT) && active {
                self.stop_for_snapshot(d)?;
            }
            return Ok(SnapshotRef { domain: self.current_ref(d), name });
        }
        if asks_external {
            return Err(unsupported("mixing internal and external targets for a snapshot is not yet supported"));
        }
        def.state = Some(st.clone());
        if active && def.memory.as_deref() == Some("no") {
            return Err(Error::new(ErrorCode::OperationUnsupported, Q, "internal snapshot of a running VM must include the memory state"));
        }
        def.memory = Some(if st == "shutoff" { "no" } else { "internal" }.into());
        align_internal_disks(&mut def, &dom_def, active)?;
        def.domain = Some(snap_dom);
        def.inactive_domain = inactive_def;
        def.parent = if f.contains(F::NO_METADATA) { None } else { list.current.clone() };

        if active {
            self.savevm(d, &name, f.contains(F::HALT))?;
        } else {
            for_each_qcow2(&dom_def, &def, "-c", false)?;
        }
        if !f.contains(F::NO_METADATA) {
            self.set_current(&dom_name, &uuid, &list, None)?;
            self.write_snap(&dom_name, &uuid, &def, true)?;
        }
        Ok(SnapshotRef { domain: self.current_ref(d), name })
    }

    /// An offline external snapshot (libvirt's `qemuSnapshotCreateInactiveExternal`):
    /// `qemu-img create` of each overlay over the current image, then the
    /// persistent definition points at the overlays.
    fn external_offline(&self, d: &DomainRef, snap: &SnapshotDef, reuse: bool) -> Result<()> {
        let mut def = self.doms().by_ref(d)?.def.clone();
        let mut created: Vec<String> = Vec::new();
        for sd in snap.disks.iter().filter(|x| x.snapshot.as_deref() == Some("external")) {
            let Some(disk) = def.devices.disks.iter().find(|x| x.target_dev == sd.name) else { continue };
            if !reuse {
                let base = disk.source.path.clone().unwrap_or_default();
                let path = sd.path().unwrap_or_default().to_string();
                let fresh = !Path::new(&path).exists();
                if let Err(e) = qemu_img_overlay(sd, &base, disk.driver_type().unwrap_or("raw"), None) {
                    for c in &created {
                        let _ = std::fs::remove_file(c);
                    }
                    return Err(e);
                }
                if fresh {
                    created.push(path);
                }
            }
        }
        for sd in snap.disks.iter().filter(|x| x.snapshot.as_deref() == Some("external")) {
            switch_disk_to_overlay(&mut def, sd);
        }
        let persistent = {
            let mut doms = self.doms();
            let o = doms.by_ref_mut(d)?;
            o.def = def.clone();
            o.persistent
        };
        if persistent {
            self.save_config(&def)?;
        }
        Ok(())
    }

    /// A disk-only snapshot of a running guest (libvirt's
    /// `qemuSnapshotCreateActiveExternal` without memory): each overlay is created
    /// with `qemu-img` (the size given, the busy base not opened), added with
    /// `blockdev-add` (storage and format nodes, no backing yet), and all of them
    /// become the disks' tops in one `transaction` of `blockdev-snapshot`. The live
    /// definition and, when it names the same image, the persistent one follow.
    fn external_live(&self, d: &DomainRef, snap: &SnapshotDef, reuse: bool) -> Result<()> {
        let live = self.doms().by_ref(d)?.def.clone();
        let qmp_of = || -> Result<Arc<crate::qmp::Qmp>> {
            self.doms()
                .by_ref(d)?
                .run
                .as_ref()
                .and_then(|r| r.qmp.clone())
                .ok_or_else(|| Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running"))
        };
        let blocks = self.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("query-block", None))?;
        // The privileged driver gives QEMU's user the new tops (as at start) and the
        // old tops their owners back once they left the definition.
        let label = if self.paths.privileged && self.qemu_conf.dynamic_ownership {
            super::dac::domain_label(&live, self.qemu_conf.user, self.qemu_conf.group).ok().filter(|l| l.relabel)
        } else {
            None
        };
        let store = self.paths.dac_store();
        let remember = self.qemu_conf.remember_owner;
        let mut labelled: Vec<super::dac::LabelledFile> = Vec::new();
        let mut old_tops: Vec<super::dac::LabelledFile> = Vec::new();
        let stamp = now_secs();
        let mut added: Vec<String> = Vec::new();
        let mut created: Vec<String> = Vec::new();
        let mut actions = Vec::new();
        let result = (|| -> Result<()> {
            for (i, sd) in snap.disks.iter().enumerate().filter(|(_, x)| x.snapshot.as_deref() == Some("external")) {
                let Some(disk) = live.devices.disks.iter().find(|x| x.target_dev == sd.name) else { continue };
                let base = disk.source.path.clone().unwrap_or_default();
                let top = blocks
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b.get("inserted"))
                    .find(|ins| ins.get("file").and_then(serde_json::Value::as_str) == Some(base.as_str()))
                    .and_then(|ins| ins.get("node-name").and_then(serde_json::Value::as_str))
                    .map(str::to_string)
                    .ok_or_else(|| Error::new(ErrorCode::InternalError, Q, format!("cannot find the block node of disk '{}'", sd.name)))?;
                let path = sd.path().unwrap_or_default().to_string();
                if !reuse {
                    let fresh = !Path::new(&path).exists();
                    qemu_img_overlay(sd, &base, disk.driver_type().unwrap_or("raw"), Some(image_size(&base)?))?;
                    if fresh {
                        created.push(path.clone());
                    }
                }
                // QEMU node names have at most 31 characters.
                if let Some(l) = &label {
                    let f = super::dac::LabelledFile { path: PathBuf::from(&path), restore: true };
                    super::dac::set_labels(&store, std::slice::from_ref(&f), l.uid, l.gid, remember)?;
                    labelled.push(f);
                    old_tops.push(super::dac::LabelledFile { path: PathBuf::from(&base), restore: !disk.readonly && !disk.shareable });
                }
                let seq = NODE_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10_000;
                let node = format!("snap{:x}{seq}-{i}", stamp & 0xff_ffff);
                let qmp = qmp_of()?;
                qmp.execute(
                    "blockdev-add",
                    Some(serde_json::json!({"driver": "file", "filename": path, "node-name": format!("{node}-storage"), "auto-read-only": true, "discard": "unmap"})),
                )?;
                added.push(format!("{node}-storage"));
                qmp.execute(
                    "blockdev-add",
                    Some(serde_json::json!({"driver": sd.format.as_deref().unwrap_or("qcow2"), "node-name": format!("{node}-format"), "read-only": false, "file": format!("{node}-storage"), "backing": null})),
                )?;
                added.push(format!("{node}-format"));
                actions.push(serde_json::json!({"type": "blockdev-snapshot", "data": {"node": top, "overlay": format!("{node}-format")}}));
            }
            qmp_of()?.execute("transaction", Some(serde_json::json!({ "actions": actions })))?;
            Ok(())
        })();
        if let Err(e) = result {
            if let Ok(qmp) = qmp_of() {
                for n in added.iter().rev() {
                    let _ = qmp.execute("blockdev-del", Some(serde_json::json!({ "node-name": n })));
                }
            }
            super::dac::restore_labels(&store, &labelled, remember);
            for c in &created {
                let _ = std::fs::remove_file(c);
            }
            return Err(e);
        }
        super::dac::restore_labels(&store, &old_tops, remember);
        let persistent_def = {
            let mut doms = self.doms();
            let o = doms.by_ref_mut(d)?;
            for sd in snap.disks.iter().filter(|x| x.snapshot.as_deref() == Some("external")) {
                let live_path = o.def.devices.disks.iter().find(|x| x.target_dev == sd.name).and_then(|x| x.source.path.clone());
                switch_disk_to_overlay(&mut o.def, sd);
                if let Some(nd) = o.new_def.as_mut() {
                    let same = nd.devices.disks.iter().find(|x| x.target_dev == sd.name).and_then(|x| x.source.path.clone()) == live_path;
                    if same {
                        switch_disk_to_overlay(nd, sd);
                    }
                }
            }
            self.save_status(o);
            o.persistent.then(|| o.persistent_def().clone())
        };
        if let Some(def) = persistent_def {
            self.save_config(&def)?;
        }
        Ok(())
    }

    /// The reference of `d` now (its id changes with start and stop).
    fn current_ref(&self, d: &DomainRef) -> DomainRef {
        self.doms().get(&d.uuid).map_or_else(|| d.clone(), DomObj::dref)
    }

    /// `REDEFINE`: store `def` as given (libvirt's `qemuSnapshotRedefine`).
    fn snapshot_redefine(
        &self,
        d: &DomainRef,
        dom_name: &str,
        uuid: &oxvirt_util::uuid::Uuid,
        list: &SnapList,
        def: SnapshotDef,
        flags: SnapshotCreateFlags,
    ) -> Result<SnapshotRef> {
        let current = flags.contains(SnapshotCreateFlags::CURRENT);
        let disk_only = flags.contains(SnapshotCreateFlags::DISK_ONLY);
        let name = def.name.clone().unwrap_or_default();
        let arg = |m: String| Error::new(ErrorCode::InvalidArg, ErrorDomain::DomainSnapshot, m);
        // libvirt's virDomainSnapshotCheckCycles (virdomainmomentobjlist.c).
        if let Some(p) = def.parent.as_deref() {
            if p == name {
                return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("cannot set moment {name} as its own parent")));
            }
            let Some(mut other) = list.get(p) else {
                return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("parent {p} for moment {name} not found")));
            };
            let mut hops = 0;
            while let Some(pp) = other.parent.as_deref() {
                if pp == name {
                    return Err(Error::new(
                        ErrorCode::InvalidArg,
                        ErrorDomain::Domain,
                        format!("parent {} would create cycle to {name}", other.name.as_deref().unwrap_or_default()),
                    ));
                }
                hops += 1;
                match list.get(pp) {
                    Some(o) if hops <= list.snaps.len() => other = o,
                    _ => break,
                }
            }
        }
        // virDomainSnapshotRedefineValidate.
        let st = def.state.as_deref().unwrap_or_default();
        if disk_only && st != "disk-snapshot" {
            return Err(arg(format!("disk-only flag for snapshot {name} requires disk-snapshot state")));
        }
        if let Some(dom) = &def.domain {
            if dom.uuid != *uuid {
                return Err(arg(format!("definition for snapshot {name} must use uuid {}", oxvirt_util::uuid::format(uuid))));
            }
        }
        if let Some(other) = list.get(&name) {
            let ost = other.state.as_deref().unwrap_or_default();
            let online = |s: &str| s == "running" || s == "paused";
            if online(ost) != online(st) {
                return Err(arg(format!("cannot change between online and offline snapshot state in snapshot {name}")));
            }
            if (ost == "disk-snapshot") != (st == "disk-snapshot") {
                return Err(arg(format!("cannot change between disk only and full system in snapshot {name}")));
            }
        }
        let was_current = list.current.as_deref() == Some(name.as_str());
        if current {
            self.set_current(dom_name, uuid, list, None)?;
        }
        self.write_snap(dom_name, uuid, &def, current || was_current)?;
        Ok(SnapshotRef { domain: self.current_ref(d), name })
    }

    /// The `savevm` of running or paused `d`, pausing a running guest around it
    /// (libvirt's `qemuSnapshotCreateActiveInternal`); `halt` stops QEMU afterwards.
    fn savevm(self: &Arc<Self>, d: &DomainRef, name: &str, halt: bool) -> Result<()> {
        let running = self.doms().by_ref(d)?.state == DomainState::Running;
        if running {
            self.monitor_job(
                d,
                Expect::Stop,
                |_| Ok(()),
                |q| q.execute("stop", None),
                |drv, o| {
                    o.state = DomainState::Paused;
                    o.reason = PAUSED_SAVE;
                    drv.emit(o, lc::SUSPENDED, lc::SUSPENDED_PAUSED);
                },
            )?;
        }
        let cmd = format!("savevm \"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
        let reply = self.monitor_query(
            d,
            Expect::Nothing,
            |_| Ok(()),
            |q| q.execute_timeout("human-monitor-command", Some(serde_json::json!({ "command-line": cmd })), SAVEVM_TIMEOUT),
        );
        let result = match reply {
            Ok(v) => {
                let text = v.as_str().unwrap_or_default().to_string();
                if text.contains("Error while creating snapshot")
                    || text.contains("Could not open VM state file")
                    || text.contains("State blocked by non-migratable device")
                    || text.contains("Error: ")
                    || (text.contains("Error") && text.contains("while writing VM"))
                {
                    Err(Error::new(ErrorCode::OperationFailed, Q, format!("Failed to take snapshot: {text}")))
                } else if text.contains("No block device can accept snapshots") {
                    Err(Error::new(ErrorCode::OperationInvalid, Q, "this domain does not have a device to take snapshots"))
                } else {
                    Ok(())
                }
            }
            Err(e) => Err(e),
        };
        if result.is_ok() && halt {
            return self.stop_for_snapshot(d);
        }
        if running {
            let resumed = self.monitor_job(
                d,
                Expect::Resume,
                |_| Ok(()),
                |q| q.execute("cont", None),
                |drv, o| {
                    o.state = DomainState::Running;
                    o.reason = reason::RUNNING_UNPAUSED;
                    drv.emit(o, lc::RESUMED, lc::RESUMED_UNPAUSED);
                },
            );
            if let Err(e) = resumed {
                if let Ok(o) = self.doms().by_ref(d) {
                    self.emit(o, lc::SUSPENDED, lc::SUSPENDED_API_ERROR);
                }
                return result.and(Err(e));
            }
        }
        result
    }

    /// `virDomainListAllSnapshots`.
    pub(super) fn snapshot_list(&self, d: &DomainRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        let (name, _) = self.snap_domain(d)?;
        let list = self.snapshots_of(&name);
        let set: Vec<&SnapshotDef> =
            if flags & SnapshotListFlags::ROOTS.bits() != 0 { list.children(None) } else { list.snaps.iter().collect() };
        let dref = self.current_ref(d);
        Ok(list
            .filter(set, flags)
            .into_iter()
            .map(|s| SnapshotRef { domain: dref.clone(), name: s.name.clone().unwrap_or_default() })
            .collect())
    }

    /// `virDomainSnapshotListAllChildren` (`ROOTS` bit: all descendants).
    pub(super) fn snapshot_children(&self, s: &SnapshotRef, flags: u32) -> Result<Vec<SnapshotRef>> {
        let (name, _) = self.snap_domain(&s.domain)?;
        let list = self.snapshots_of(&name);
        list.find(&s.name)?;
        let set = if flags & SnapshotListFlags::ROOTS.bits() != 0 { list.descendants(&s.name) } else { list.children(Some(&s.name)) };
        let dref = self.current_ref(&s.domain);
        Ok(list
            .filter(set, flags)
            .into_iter()
            .map(|c| SnapshotRef { domain: dref.clone(), name: c.name.clone().unwrap_or_default() })
            .collect())
    }

    /// Look up one snapshot: its definition and whether it is current.
    pub(super) fn snapshot_get(&self, s: &SnapshotRef) -> Result<(SnapshotDef, bool, String)> {
        let (name, uuid) = self.snap_domain(&s.domain)?;
        let list = self.snapshots_of(&name);
        let def = list.find(&s.name)?.clone();
        Ok((def, list.current.as_deref() == Some(s.name.as_str()), oxvirt_util::uuid::format(&uuid)))
    }

    /// `virDomainSnapshotCurrent` (`None`: no current snapshot).
    pub(super) fn snapshot_current_name(&self, d: &DomainRef) -> Result<Option<String>> {
        let (name, _) = self.snap_domain(d)?;
        Ok(self.snapshots_of(&name).current)
    }

    /// `virDomainRevertToSnapshot` (libvirt's `qemuSnapshotRevert`).
    pub(super) fn snapshot_revert(self: &Arc<Self>, s: &SnapshotRef, flags: u32) -> Result<()> {
        use SnapshotRevertFlags as F;
        let f = F::from_bits_truncate(flags);
        let _meta = META.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&s.domain.uuid);
        let (dom_name, uuid) = self.snap_domain(&s.domain)?;
        let list = self.snapshots_of(&dom_name);
        let snap = list.find(&s.name)?.clone();
        let st = snap.state.clone().unwrap_or_default();
        let live_snap = st == "running" || st == "paused";
        let (persistent, has_managed) = {
            let doms = self.doms();
            let o = doms.by_ref(&s.domain)?;
            (o.persistent, self.managed_save_path(&o.def.name).exists())
        };
        if !persistent && !live_snap && !f.intersects(F::RUNNING | F::PAUSED) {
            return Err(Error::new(
                ErrorCode::OperationInvalid,
                Q,
                "transient domain needs to request run or pause to revert to inactive snapshot",
            ));
        }
        if is_external(&snap) {
            return Err(unsupported("revert to external snapshot not supported yet"));
        }
        let Some(mut config) = snap.domain.clone() else {
            return Err(Error::new(
                ErrorCode::SnapshotRevertRisky,
                Q,
                format!("snapshot '{}' lacks domain '{dom_name}' rollback info", s.name),
            ));
        };
        if !f.contains(F::FORCE) && has_managed && !live_snap {
            return Err(Error::new(
                ErrorCode::SnapshotRevertRisky,
                Q,
                "snapshot without memory state, removal of existing managed saved state strongly recommended to avoid corruption",
            ));
        }
        if st == "pmsuspended" {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                Q,
                "qemu doesn't support reversion of snapshot taken in PMSUSPENDED state",
            ));
        }
        if !matches!(st.as_str(), "running" | "paused" | "shutdown" | "shutoff" | "crashed") {
            return Err(Error::new(
                ErrorCode::InternalError,
                Q,
                format!("Invalid target domain state '{st}'. Refusing snapshot reversion"),
            ));
        }
        config.name = dom_name.clone();
        let mut inactive = match &snap.inactive_domain {
            Some(i) => i.clone(),
            None => config.clone(),
        };
        inactive.name = dom_name.clone();
        inactive.id = None;
        config.id = None;

        // Every revert starts from a stopped guest (transitions 4-9 of libvirt).
        self.stop_for_snapshot(&s.domain)?;
        if !live_snap {
            for_each_qcow2(&config, &snap, "-a", true)?;
        }
        // The snapshot's inactive definition becomes the persistent one.
        {
            let mut doms = self.doms();
            let o = doms.by_ref_mut(&s.domain)?;
            o.def = inactive.clone();
            o.new_def = None;
        }
        if persistent {
            self.save_config(&inactive)?;
        }
        if live_snap {
            let paused = !f.contains(F::RUNNING) && (st == "paused" || f.contains(F::PAUSED));
            self.start_full(&uuid, paused, Some(config), None, Some(RevertStart { loadvm: Some(&s.name) }))?;
        } else if f.intersects(F::RUNNING | F::PAUSED) {
            self.start_full(&uuid, f.contains(F::PAUSED), None, None, Some(RevertStart { loadvm: None }))?;
        }
        self.set_current(&dom_name, &uuid, &list, Some(&s.name))?;
        if persistent {
            if let Ok(o) = self.doms().by_ref(&s.domain) {
                self.emit(o, lc::DEFINED, lc::DEFINED_FROM_SNAPSHOT);
            }
        }
        Ok(())
    }

    /// `virDomainSnapshotDelete` (libvirt's `qemuSnapshotDelete` for internal snapshots).
    pub(super) fn snapshot_delete(self: &Arc<Self>, s: &SnapshotRef, flags: u32) -> Result<()> {
        use SnapshotDeleteFlags as F;
        let f = F::from_bits_truncate(flags);
        let metadata_only = f.contains(F::METADATA_ONLY);
        let _meta = META.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&s.domain.uuid);
        let (dom_name, uuid) = self.snap_domain(&s.domain)?;
        let list = self.snapshots_of(&dom_name);
        let snap = list.find(&s.name)?.clone();
        let with_children = f.intersects(F::CHILDREN | F::CHILDREN_ONLY);
        let victims: Vec<SnapshotDef> = {
            let mut v: Vec<SnapshotDef> = if with_children { list.descendants(&s.name).into_iter().cloned().collect() } else { Vec::new() };
            // Children before their parents.
            v.reverse();
            if !f.contains(F::CHILDREN_ONLY) {
                v.push(snap.clone());
            }
            v
        };
        if !metadata_only {
            if with_children {
                let ext = list.descendants(&s.name).into_iter().filter(|c| is_external(c)).count();
                if ext > 0 {
                    return Err(unsupported("deletion of external children disk snapshots not supported"));
                }
            }
            if is_external(&snap) && f.contains(F::CHILDREN) {
                return Err(unsupported("deletion of external disk snapshots with children not supported"));
            }
            if is_external(&snap) && !with_children {
                // libvirt's qemuSnapshotDeleteExternalPrepare checks what it can
                // before its block commit; the commit itself is not done here.
                for sd in snap.disks.iter().filter(|x| x.snapshot.as_deref() != Some("no")) {
                    if sd.delete_in_progress {
                        return Err(Error::new(
                            ErrorCode::OperationInvalid,
                            Q,
                            format!("snapshot disk '{}' was target of not completed snapshot delete", sd.name),
                        ));
                    }
                    if let Some(p) = parent_snap_for_disk(&list, &snap, &sd.name) {
                        if !is_external(p) {
                            return Err(Error::new(
                                ErrorCode::OperationUnsupported,
                                Q,
                                "deleting external snapshot that has internal snapshot as parent not supported",
                            ));
                        }
                    }
                }
            }
            if victims.iter().any(is_external) {
                return Err(unsupported("deletion of external disk snapshots is not supported by this driver"));
            }
        }
        let (active, cur_def) = {
            let doms = self.doms();
            let o = doms.by_ref(&s.domain)?;
            (o.is_active(), o.def.clone())
        };
        // libvirt's qemuSnapshotDeleteValidate: `delvm` works on the images the
        // guest runs on, which must be the snapshot's.
        if !metadata_only && active && !is_external(&snap) {
            for sd in &snap.disks {
                let now = cur_def.devices.disks.iter().find(|x| x.target_dev == sd.name).and_then(|x| x.source.path.as_deref());
                let then = snap
                    .domain
                    .as_ref()
                    .and_then(|dd| dd.devices.disks.iter().find(|x| x.target_dev == sd.name))
                    .and_then(|x| x.source.path.as_deref());
                if now != then {
                    return Err(Error::new(
                        ErrorCode::OperationUnsupported,
                        Q,
                        format!(
                            "disk image '{}' for internal snapshot '{}' is not the same as disk image currently used by VM",
                            sd.name, s.name
                        ),
                    ));
                }
            }
        }
        let dir = self.snap_dir(&dom_name);
        let mut current = list.current.clone();
        let doomed = |n: &Option<String>| victims.iter().any(|x| &x.name == n);
        for v in &victims {
            let vname = v.name.clone().unwrap_or_default();
            if !metadata_only {
                if active {
                    // libvirt goes on whatever delvm answers.
                    let cmd = format!("delvm \"{}\"", vname.replace('\\', "\\\\").replace('"', "\\\""));
                    let _ = self.monitor_query(
                        &s.domain,
                        Expect::Nothing,
                        |_| Ok(()),
                        |q| q.execute_timeout("human-monitor-command", Some(serde_json::json!({ "command-line": cmd })), SAVEVM_TIMEOUT),
                    );
                } else {
                    let def = v.domain.as_ref().unwrap_or(&cur_def);
                    for_each_qcow2(def, v, "-d", true)?;
                }
            }
            if vname == s.name {
                // libvirt's qemuSnapshotDiscardMetadata with update_parent: the
                // children move to the parent, which becomes current if this was.
                for c in list.children(Some(&vname)) {
                    if doomed(&c.name) {
                        continue;
                    }
                    let mut c = c.clone();
                    c.parent = v.parent.clone();
                    let is_cur = current.is_some() && current == c.name;
                    self.write_snap(&dom_name, &uuid, &c, is_cur)?;
                }
                if current.as_deref() == Some(vname.as_str()) {
                    current = None;
                    if let Some(p) = v.parent.as_deref().and_then(|p| list.get(p)) {
                        self.write_snap(&dom_name, &uuid, p, true)?;
                        current = p.name.clone();
                    }
                }
            } else if current.as_deref() == Some(vname.as_str()) {
                current = None;
            }
            let file = dir.join(format!("{vname}.xml"));
            let _ = std::fs::remove_file(&file);
        }
        self.prune_snap_dirs(&dom_name);
        Ok(())
    }

    /// For `virDomainUndefineFlags` of an inactive domain (libvirt's rule): refuse
    /// while it has snapshots, unless `SNAPSHOTS_METADATA` (0x2), which drops them.
    pub(super) fn undefine_snapshots(&self, name: &str, active: bool, flags: u32) -> Result<()> {
        if active {
            return Ok(());
        }
        let _meta = META.lock().unwrap_or_else(PoisonError::into_inner);
        let n = self.snapshots_of(name).snaps.len();
        if n == 0 {
            return Ok(());
        }
        if flags & 2 == 0 {
            return Err(Error::new(ErrorCode::OperationInvalid, Q, format!("cannot delete inactive domain with {n} snapshots")));
        }
        let _ = std::fs::remove_dir_all(self.snap_dir(name));
        self.prune_snap_dirs(name);
        Ok(())
    }

    /// Forget every snapshot of domain `name` (libvirt's
    /// `qemuSnapshotDiscardAllMetadata` when a transient domain goes away).
    pub(super) fn drop_snapshot_metadata(&self, name: &str) {
        let _ = std::fs::remove_dir_all(self.snap_dir(name));
        self.prune_snap_dirs(name);
    }

    /// Remove the snapshot directories of `name` and of the driver once empty.
    fn prune_snap_dirs(&self, name: &str) {
        let _ = std::fs::remove_dir(self.snap_dir(name));
        let _ = std::fs::remove_dir(self.paths.snapshot_dir());
    }

    /// The number of snapshots of domain `name` (for `list --with-snapshot`).
    pub(super) fn snapshot_count(&self, name: &str) -> usize {
        self.snapshots_of(name).snaps.len()
    }
}

/// `VIR_ERR_NO_DOMAIN_SNAPSHOT` "the domain does not have a current snapshot".
pub(super) fn no_current() -> Error {
    Error::new(ErrorCode::NoDomainSnapshot, Q, "the domain does not have a current snapshot")
}

/// `VIR_ERR_NO_DOMAIN_SNAPSHOT` for a snapshot without a parent.
pub(super) fn no_parent(name: &str) -> Error {
    Error::new(ErrorCode::NoDomainSnapshot, Q, format!("snapshot '{name}' does not have a parent"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn dom(disks: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>t</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory>65536</memory>\
             <os><type arch='x86_64'>hvm</type></os><devices>{disks}</devices></domain>"
        );
        DomainDef::parse(&xml, &ParseOptions { driver: None, inactive: true }).expect("domain parses")
    }

    fn disk(dev: &str, format: &str, extra: &str) -> String {
        format!(
            "<disk type='file' device='disk'{extra}><driver name='qemu' type='{format}'/><source file='/i/{dev}.img'/>\
             <target dev='{dev}' bus='virtio'/></disk>"
        )
    }

    fn snap(xml: &str) -> SnapshotDef {
        SnapshotDef::parse(xml, SnapshotParseFlags { redefine: false, internal: false, offline: true }).expect("snapshot parses")
    }

    #[test]
    fn internal_disks_are_aligned_and_checked_as_libvirt() {
        let two = dom(&(disk("vda", "qcow2", "") + &disk("vdb", "qcow2", "")));
        let mut s = snap("<domainsnapshot/>");
        s.memory = Some("no".into());
        align_internal_disks(&mut s, &two, false).unwrap();
        let got: Vec<(&str, Option<&str>)> = s.disks.iter().map(|d| (d.name.as_str(), d.snapshot.as_deref())).collect();
        assert_eq!(got, [("vda", Some("internal")), ("vdb", Some("internal"))]);

        let raw = dom(&disk("vda", "raw", ""));
        let mut s = snap("<domainsnapshot/>");
        let e = align_internal_disks(&mut s, &raw, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::ConfigUnsupported);
        assert!(e.message.contains("internal snapshot for disk vda unsupported for storage type raw"), "{}", e.message);

        let mut s = snap("<domainsnapshot><disks><disk name='vdz'/></disks></domainsnapshot>");
        let e = align_internal_disks(&mut s, &two, false).unwrap_err();
        assert!(e.message.contains("no disk named 'vdz'"), "{}", e.message);

        let mut s = snap("<domainsnapshot><disks><disk name='vdb' snapshot='no'/></disks></domainsnapshot>");
        let e = align_internal_disks(&mut s, &two, false).unwrap_err();
        assert!(e.message.contains("must use snapshot mode 'internal'"), "{}", e.message);

        // A disk the domain excludes (snapshot='no') makes the internal snapshot partial.
        let excl = dom(&(disk("vda", "qcow2", "") + &disk("vdb", "qcow2", " snapshot='no'")));
        let mut s = snap("<domainsnapshot/>");
        let e = align_internal_disks(&mut s, &excl, false).unwrap_err();
        assert!(e.message.contains("require all disks to be selected"), "{}", e.message);

        let mut s = snap("<domainsnapshot><disks><disk name='vda' snapshot='external'/></disks></domainsnapshot>");
        let e = align_internal_disks(&mut s, &two, false).unwrap_err();
        assert!(e.message.contains("snapshot='external'"), "{}", e.message);

        let none = dom("");
        let mut s = snap("<domainsnapshot/>");
        s.memory = Some("no".into());
        let e = align_internal_disks(&mut s, &none, false).unwrap_err();
        assert!(e.message.contains("nothing selected for snapshot"), "{}", e.message);
    }

    fn stored(name: &str, parent: Option<&str>, state: &str, time: i64, active: bool) -> String {
        let parent = parent.map(|p| format!("<parent><name>{p}</name></parent>")).unwrap_or_default();
        format!(
            "<domainsnapshot><name>{name}</name><state>{state}</state>{parent}<creationTime>{time}</creationTime>\
             <memory snapshot='{}'/><domain><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></domain><active>{}</active></domainsnapshot>",
            if state == "shutoff" { "no" } else { "internal" },
            i32::from(active)
        )
    }

    #[test]
    fn the_stored_tree_loads_and_filters() {
        let dir = std::env::temp_dir().join(format!("oxvirt-qsnap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (n, p, st, t, cur) in [
            ("a", None, "shutoff", 1, false),
            ("b", Some("a"), "running", 2, true),
            ("c", Some("b"), "running", 3, false),
            ("d", Some("gone"), "shutoff", 4, false),
        ] {
            std::fs::write(dir.join(format!("{n}.xml")), stored(n, p, st, t, cur)).unwrap();
        }
        std::fs::write(dir.join("junk.xml"), "<domainsnapshot").unwrap();
        std::fs::write(dir.join("note.txt"), "x").unwrap();
        let l = SnapList::load(&dir);
        let names = |v: Vec<&SnapshotDef>| v.into_iter().filter_map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(l.snaps.iter().collect()), ["a", "b", "c", "d"]);
        assert_eq!(l.current.as_deref(), Some("b"));
        // A missing parent makes a root.
        assert_eq!(names(l.children(None)), ["a", "d"]);
        assert_eq!(names(l.descendants("a")), ["b", "c"]);
        let all = || l.snaps.iter().collect::<Vec<_>>();
        assert_eq!(names(l.filter(all(), SnapshotListFlags::LEAVES.bits())), ["c", "d"]);
        assert_eq!(names(l.filter(all(), SnapshotListFlags::NO_LEAVES.bits())), ["a", "b"]);
        assert_eq!(names(l.filter(all(), SnapshotListFlags::INACTIVE.bits())), ["a", "d"]);
        assert_eq!(names(l.filter(all(), SnapshotListFlags::ACTIVE.bits())), ["b", "c"]);
        assert_eq!(names(l.filter(all(), SnapshotListFlags::INTERNAL.bits())), ["a", "b", "c", "d"]);
        assert!(l.filter(all(), SnapshotListFlags::EXTERNAL.bits()).is_empty());
        assert!(l.filter(all(), SnapshotListFlags::NO_METADATA.bits()).is_empty());
        assert_eq!(l.find("zz").unwrap_err().code, ErrorCode::NoDomainSnapshot);

        // Two claiming to be current: none is.
        std::fs::write(dir.join("c.xml"), stored("c", Some("b"), "running", 3, true)).unwrap();
        assert_eq!(SnapList::load(&dir).current, None);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(SnapList::load(&dir).snaps.is_empty());
    }
}
