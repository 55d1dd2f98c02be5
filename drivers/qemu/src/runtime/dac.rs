//! The DAC security driver (libvirt's `security_dac.c`): which uid/gid a guest's QEMU
//! runs as, and the ownership of the host files it uses.
//!
//! The ids come from `qemu.conf` (`user`, `group`) unless the domain has a
//! `<seclabel model='dac'>` of its own: `type='static'` with `<label>+UID:+GID</label>`
//! (or `user:group` names) runs QEMU as that, and does not relabel unless
//! `relabel='yes'`; `type='none'` keeps the default ids and relabels nothing.
//!
//! With `dynamic_ownership = 1`, before QEMU starts, disk images, the kernel, initrd
//! and dtb of direct boot, and `file` chardev outputs are chowned to the QEMU user and
//! group, and given back after it stops, as libvirt does:
//! * a read-only or `<shareable/>` disk is chowned but never given back (other guests
//!   may use it), and its owner is not remembered;
//! * a disk whose `<source>` has `<seclabel model='dac' relabel='no'/>` is left alone;
//! * with `remember_owner = 1` the original owner is remembered, with a reference
//!   count, so that the last guest to stop gives the file back to its original
//!   owner; with `remember_owner = 0` (or nothing remembered) the file goes back to
//!   `root:root`.
//!
//! libvirt keeps the remembered owner in extended attributes of the file
//! (`trusted.libvirt.security.dac`, `ref_dac`, `timestamp_dac`). Here it is kept in
//! one file in the driver's state directory (`dac-owners`: `REFCOUNT UID GID PATH`
//! lines, written atomically, removed when empty), so it survives a daemon restart
//! like the domain status files and needs no xattr support from the file system;
//! it does not survive a host reboot, like libvirt's xattrs, which carry the boot time.

use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::DomainDef;
use oxvirt_conf::xml::{El, XNode};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Serializes read-modify-write cycles of owner stores (one per driver instance).
static STORE_LOCK: Mutex<()> = Mutex::new(());

/// What the DAC driver does for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The uid QEMU runs as.
    pub uid: u32,
    /// The gid QEMU runs as.
    pub gid: u32,
    /// Whether the guest's files are chowned (and given back).
    pub relabel: bool,
}

fn attr<'a>(e: &'a El, k: &str) -> Option<&'a str> {
    e.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn child_text(e: &El, name: &str) -> Option<String> {
    e.children.iter().find_map(|c| match c {
        XNode::El(x) if x.name == name => Some(
            x.children
                .iter()
                .filter_map(|t| match t {
                    XNode::Text(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect::<String>(),
        ),
        _ => None,
    })
}

/// libvirt's `virParseOwnershipIds`: `+UID:+GID`, or user and group names.
pub fn parse_ownership(label: &str) -> Result<(u32, u32)> {
    let fail = || Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("Failed to parse uid and gid from '{label}'"));
    let (u, g) = label.trim().split_once(':').ok_or_else(fail)?;
    let id = |s: &str, user: bool| -> Option<u32> {
        if let Some(n) = s.strip_prefix('+') {
            return n.parse().ok();
        }
        let named = if user {
            nix::unistd::User::from_name(s).ok().flatten().map(|x| x.uid.as_raw())
        } else {
            nix::unistd::Group::from_name(s).ok().flatten().map(|x| x.gid.as_raw())
        };
        named.or_else(|| s.parse().ok())
    };
    Ok((id(u, true).ok_or_else(fail)?, id(g, false).ok_or_else(fail)?))
}

/// The DAC label of `def`, given `qemu.conf`'s user and group.
pub fn domain_label(def: &DomainDef, user: u32, group: u32) -> Result<Label> {
    let dac = def.other.iter().find(|e| e.name == "seclabel" && attr(e, "model") == Some("dac"));
    let Some(sl) = dac else { return Ok(Label { uid: user, gid: group, relabel: true }) };
    let ty = attr(sl, "type").unwrap_or("dynamic");
    let relabel_attr = attr(sl, "relabel").map(|v| v == "yes");
    match ty {
        "none" => Ok(Label { uid: user, gid: group, relabel: false }),
        "static" => {
            let label =
                child_text(sl, "label").ok_or_else(|| Error::new(ErrorCode::XmlError, ErrorDomain::Domain, "security label is missing"))?;
            let (uid, gid) = parse_ownership(&label)?;
            Ok(Label { uid, gid, relabel: relabel_attr.unwrap_or(false) })
        }
        "dynamic" => Ok(Label { uid: user, gid: group, relabel: relabel_attr.unwrap_or(true) }),
        other => Err(Error::new(ErrorCode::XmlError, ErrorDomain::Domain, format!("invalid security type '{other}'"))),
    }
}

/// libvirt's `virSecurityDACGenLabel` as the live XML shows it: a domain without a
/// DAC `<seclabel>` gets `<seclabel type='dynamic' model='dac' relabel='yes'>` with
/// `<label>` and `<imagelabel>` `+UID:+GID`; a dynamic one gets the two labels.
pub fn add_live_label(def: &mut DomainDef, label: &Label) {
    let text = format!("+{}:+{}", label.uid, label.gid);
    let labels = |e: &mut El| {
        e.children.retain(|c| !matches!(c, XNode::El(x) if x.name == "label" || x.name == "imagelabel"));
        e.push(El::new("label").text(&text));
        e.push(El::new("imagelabel").text(&text));
    };
    if def.other.iter().any(|e| e.name == "seclabel" && attr(e, "model").is_none()) {
        return;
    }
    match def.other.iter_mut().find(|e| e.name == "seclabel" && attr(e, "model") == Some("dac")) {
        Some(e) if attr(e, "type").unwrap_or("dynamic") == "dynamic" => labels(e),
        Some(_) => {}
        None => {
            let mut e = El::new("seclabel").attr("type", "dynamic").attr("model", "dac").attr("relabel", "yes");
            labels(&mut e);
            def.other.push(e);
        }
    }
}

/// A file the label covers: its path and whether its owner is remembered and given
/// back (false for read-only and shared disks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledFile {
    /// The host path.
    pub path: PathBuf,
    /// Remember and restore the original owner.
    pub restore: bool,
}

/// The host files `def` uses that the DAC driver labels, in libvirt's order (disks,
/// chardevs, kernel/initrd/dtb), each once.
pub fn files_of(def: &DomainDef) -> Vec<LabelledFile> {
    let mut out: Vec<LabelledFile> = Vec::new();
    let mut add = |path: &str, restore: bool| {
        if path.is_empty() || out.iter().any(|f| f.path == Path::new(path)) {
            return;
        }
        out.push(LabelledFile { path: PathBuf::from(path), restore });
    };
    for d in &def.devices.disks {
        if !matches!(d.disk_type.as_str(), "file" | "block") {
            continue;
        }
        let Some(path) = d.source.path.as_deref() else { continue };
        let no_relabel = d.source.raw.as_ref().is_some_and(|raw| {
            raw.children.iter().any(|c| {
                matches!(c, XNode::El(l) if l.name == "seclabel"
                    && attr(l, "model").is_none_or(|m| m == "dac")
                    && attr(l, "relabel") == Some("no"))
            })
        });
        if no_relabel {
            continue;
        }
        add(path, !d.readonly && !d.shareable);
    }
    for c in &def.devices.chardevs {
        if c.source.chr_type == "file" {
            if let Some(p) = &c.source.path {
                add(p, true);
            }
        }
    }
    for p in [&def.os.kernel, &def.os.initrd, &def.os.dtb].into_iter().flatten() {
        add(p, true);
    }
    out
}

/// The remembered owners: `(refcount, uid, gid, path)`.
fn read_store(store: &Path) -> Vec<(u32, u32, u32, PathBuf)> {
    let text = std::fs::read_to_string(store).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(4, ' ');
            let r = it.next()?.parse().ok()?;
            let u = it.next()?.parse().ok()?;
            let g = it.next()?.parse().ok()?;
            Some((r, u, g, PathBuf::from(it.next()?)))
        })
        .collect()
}

fn write_store(store: &Path, entries: &[(u32, u32, u32, PathBuf)]) -> Result<()> {
    if entries.is_empty() {
        let _ = std::fs::remove_file(store);
        return Ok(());
    }
    let mut text = String::new();
    for (r, u, g, p) in entries {
        text.push_str(&format!("{r} {u} {g} {}\n", p.display()));
    }
    oxvirt_util::fs::atomic_write(store, text.as_bytes())
        .map_err(|e| Error::new(ErrorCode::SystemError, ErrorDomain::Security, format!("cannot write '{}': {e}", store.display())))
}

/// libvirt's `virSecurityDACSetOwnershipInternal`: chown unless already owned so;
/// file systems that refuse (`EPERM`, `EROFS`, `EOPNOTSUPP`) are not an error.
fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    let md = std::fs::metadata(path)
        .map_err(|e| Error::new(ErrorCode::SystemError, ErrorDomain::Security, format!("unable to stat: {}: {e}", path.display())))?;
    if md.uid() == uid && md.gid() == gid {
        return Ok(());
    }
    match std::os::unix::fs::chown(path, Some(uid), Some(gid)) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(1 | 30 | 95 | 22)) => Ok(()),
        Err(e) => Err(Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Security,
            format!("unable to set user and group to '{uid}:{gid}' on '{}': {e}", path.display()),
        )),
    }
}

/// Chown `files` to `uid:gid`, remembering original owners in `store` when
/// `remember`. On failure the files labelled so far are given back.
pub fn set_labels(store: &Path, files: &[LabelledFile], uid: u32, gid: u32, remember: bool) -> Result<()> {
    let _lock = STORE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let mut entries = read_store(store);
    let mut done: Vec<&LabelledFile> = Vec::new();
    let mut result = Ok(());
    for f in files {
        let md = match std::fs::metadata(&f.path) {
            Ok(m) => m,
            Err(e) => {
                result =
                    Err(Error::new(ErrorCode::SystemError, ErrorDomain::Security, format!("unable to stat: {}: {e}", f.path.display())));
                break;
            }
        };
        if remember && f.restore {
            match entries.iter_mut().find(|e| e.3 == f.path) {
                Some(e) => e.0 += 1,
                None => entries.push((1, md.uid(), md.gid(), f.path.clone())),
            }
        }
        if let Err(e) = chown(&f.path, uid, gid) {
            result = Err(e);
            break;
        }
        done.push(f);
    }
    if result.is_err() {
        // Undo: give back what this call changed.
        for f in done.iter().filter(|f| f.restore) {
            restore_one(&mut entries, f, remember);
        }
        if remember {
            if let Some(f) = files.get(done.len()).filter(|f| f.restore) {
                // Its count was raised before the chown failed.
                if let Some(e) = entries.iter_mut().find(|e| e.3 == f.path) {
                    e.0 = e.0.saturating_sub(1);
                }
                entries.retain(|e| e.0 > 0);
            }
        }
    }
    write_store(store, &entries)?;
    result
}

fn restore_one(entries: &mut Vec<(u32, u32, u32, PathBuf)>, f: &LabelledFile, remember: bool) {
    let (uid, gid) = match entries.iter().position(|e| e.3 == f.path).filter(|_| remember) {
        Some(i) => {
            entries[i].0 = entries[i].0.saturating_sub(1);
            if entries[i].0 > 0 {
                return;
            }
            let e = entries.remove(i);
            (e.1, e.2)
        }
        None => (0, 0),
    };
    let _ = chown(&f.path, uid, gid);
}

/// Give `files` back (libvirt's `virSecurityDACRestoreAllLabel`): files not to be
/// restored are skipped; a remembered owner is restored when its count drops to
/// zero; without one the file goes to `root:root`. Errors are ignored, as libvirt
/// only logs them.
pub fn restore_labels(store: &Path, files: &[LabelledFile], remember: bool) {
    let _lock = STORE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let mut entries = read_store(store);
    // A file deleted meanwhile still gives up its count.
    for f in files.iter().filter(|f| f.restore) {
        restore_one(&mut entries, f, remember);
    }
    let _ = write_store(store, &entries);
}

/// Chown a path the driver creates for the guest (its private directory, master key)
/// to the QEMU user; nothing is remembered, the path goes away with the run.
pub fn set_path_owner(path: &Path, uid: u32, gid: u32) -> Result<()> {
    chown(path, uid, gid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use oxvirt_conf::domain::ParseOptions;

    fn def(xml: &str) -> DomainDef {
        DomainDef::parse(xml, &ParseOptions { driver: Some("qemu".into()), inactive: true }).unwrap()
    }

    #[test]
    fn labels_follow_seclabel_and_disk_rules() {
        let d = def("<domain type='qemu'><name>a</name><memory>65536</memory>\
            <os><type>hvm</type><kernel>/k</kernel><initrd>/i</initrd></os>\
            <seclabel type='static' model='dac'><label>+107:+108</label></seclabel>\
            <devices>\
            <disk type='file' device='disk'><source file='/rw.img'/><target dev='vda' bus='virtio'/></disk>\
            <disk type='file' device='disk'><source file='/ro.img'/><target dev='vdb' bus='virtio'/><readonly/></disk>\
            <disk type='file' device='disk'><source file='/sh.img'/><target dev='vdc' bus='virtio'/><shareable/></disk>\
            <disk type='file' device='disk'><source file='/no.img'><seclabel model='dac' relabel='no'/></source><target dev='vdd' bus='virtio'/></disk>\
            <serial type='file'><source path='/s.log'/></serial>\
            </devices></domain>");
        assert_eq!(domain_label(&d, 0, 0).unwrap(), Label { uid: 107, gid: 108, relabel: false });
        let f: Vec<(String, bool)> = files_of(&d).into_iter().map(|f| (f.path.display().to_string(), f.restore)).collect();
        let want = [("/rw.img", true), ("/ro.img", false), ("/sh.img", false), ("/s.log", true), ("/k", true), ("/i", true)];
        assert_eq!(f, want.iter().map(|(p, r)| (p.to_string(), *r)).collect::<Vec<_>>());
        let plain = def("<domain type='qemu'><name>a</name><memory>65536</memory><os><type>hvm</type></os></domain>");
        assert_eq!(domain_label(&plain, 5, 6).unwrap(), Label { uid: 5, gid: 6, relabel: true });
        assert!(parse_ownership("+1").is_err());
        assert_eq!(parse_ownership("+1:+2").unwrap(), (1, 2));
    }

    #[test]
    fn remembered_owners_are_reference_counted() {
        let dir = std::env::temp_dir().join(format!("oxvirt-dac-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("a.img");
        std::fs::write(&img, b"").unwrap();
        let me = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        let store = dir.join("dac-owners");
        let files = [LabelledFile { path: img.clone(), restore: true }];
        // Owned by ourselves: chown to the same ids always works, even unprivileged.
        set_labels(&store, &files, me.0, me.1, true).unwrap();
        set_labels(&store, &files, me.0, me.1, true).unwrap();
        assert!(std::fs::read_to_string(&store).unwrap().starts_with("2 "));
        restore_labels(&store, &files, true);
        assert!(std::fs::read_to_string(&store).unwrap().starts_with("1 "));
        restore_labels(&store, &files, true);
        assert!(!store.exists(), "an empty store is removed");
        let missing = [LabelledFile { path: dir.join("missing.img"), restore: true }];
        let e = set_labels(&store, &missing, me.0, me.1, true).unwrap_err();
        assert!(e.message.contains("unable to stat"), "{}", e.message);
        assert!(!store.exists());
        // A file removed while in use leaves no entry behind.
        set_labels(&store, &files, me.0, me.1, true).unwrap();
        std::fs::remove_file(&img).unwrap();
        restore_labels(&store, &files, true);
        assert!(!store.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
