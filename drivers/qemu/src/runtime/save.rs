//! Save, restore and managed save of running guests (libvirt's `qemu_saveimage.c`
//! and the save/restore parts of `qemu_driver.c`: `qemuDomainSaveInternal`,
//! `qemuDomainRestoreFlags`, `qemuDomainManagedSave*`, `qemuDomainSaveImage*`).
//!
//! A save image is libvirt's: a 92-byte header (`LibvirtQemudSave`, version 2, the
//! length of the data that follows, whether the guest was running, the compression
//! format, the cookie's offset; host byte order), the domain XML (NUL-terminated,
//! padded with 64 KiB of zeros so that the XML can be edited in place), then QEMU's
//! migration stream. Saving pauses the guest, writes the header with the "partial"
//! magic (`LibvirtQemudPart`) to a temporary file next to the target, hands QEMU that
//! file over the monitor (`getfd` + `migrate fd:NAME`), waits for `query-migrate` to
//! report completion, marks the header complete, syncs and renames the file into
//! place, then stops QEMU (shut off, reason `saved`). A failed save removes the
//! temporary file and resumes the guest. Restoring starts QEMU with `-incoming defer`
//! and feeds it the image through `getfd` + `migrate-incoming fd:NAME`
//! ([`Incoming`], used by `lifecycle.rs`). A managed save is a save to
//! `SAVE_DIR/NAME.save` ([`super::paths::Paths::save_dir`]); starting the domain
//! restores and then deletes it.

use super::domobj::{DomObj, Expect};
use super::{err, process, Driver};
use crate::qmp::Qmp;
use oxvirt::event::lifecycle as lc;
use oxvirt::types::reason;
use oxvirt::{DomainRef, DomainState, Error, ErrorCode, ErrorDomain, Result};
use oxvirt_conf::domain::{DomainDef, FormatOptions};
use oxvirt_util::uuid;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

/// The magic of a complete image (libvirt's `QEMU_SAVE_MAGIC`; ABI).
pub const MAGIC: &[u8; 16] = b"LibvirtQemudSave";
/// The magic of an image still being written (`QEMU_SAVE_PARTIAL`).
pub const PARTIAL: &[u8; 16] = b"LibvirtQemudPart";
/// The newest header version (`QEMU_SAVE_VERSION`).
pub const VERSION: u32 = 2;
/// The header's size: magic, five `uint32_t` and 14 unused ones.
pub const HEADER_LEN: usize = 16 + 4 * 5 + 4 * 14;
/// Room left after the XML so it can grow when edited (libvirt's 64 KiB).
const XML_PAD: usize = 64 * 1024;
/// The name the image's descriptor gets inside QEMU.
const FDNAME: &str = "migrate";
/// libvirt's `QEMU_DOMAIN_MIG_BANDWIDTH_MAX` (MiB/s) in bytes/s: a save is not throttled.
const MAX_BANDWIDTH: u64 = (i64::MAX as u64 / (1024 * 1024)) * 1024 * 1024;
/// How often a running migration is polled.
const POLL: Duration = Duration::from_millis(20);
/// How long QEMU gets to exit after a save before SIGKILL.
const TERM_WAIT: Duration = Duration::from_secs(3);

/// `VIR_DOMAIN_PAUSED_MIGRATION`: a restored guest that is not resumed.
pub(super) const PAUSED_MIGRATION: i32 = 2;
/// `VIR_DOMAIN_PAUSED_SAVE`.
const PAUSED_SAVE: i32 = 3;
/// `VIR_DOMAIN_RUNNING_SAVE_CANCELED`.
const RUNNING_SAVE_CANCELED: i32 = 7;

/// `VIR_DOMAIN_SAVE_RUNNING`.
pub const SAVE_RUNNING: u32 = 2;
/// `VIR_DOMAIN_SAVE_PAUSED`.
pub const SAVE_PAUSED: u32 = 4;
/// `VIR_DOMAIN_UNDEFINE_MANAGED_SAVE`.
const UNDEFINE_MANAGED_SAVE: u32 = 1;

/// The compression formats of the header (`virQEMUSaveFormat`).
const FORMATS: [&str; 5] = ["raw", "gzip", "bzip2", "xz", "lzop"];

fn failed(msg: impl AsRef<str>) -> Error {
    err(ErrorCode::OperationFailed, msg)
}

fn sys(what: &str, path: &Path, e: &std::io::Error) -> Error {
    err(ErrorCode::SystemError, format!("{what} '{}': {}", path.display(), oxvirt_util::error::io_text(e)))
}

fn not_running() -> Error {
    Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running")
}

/// The fixed header of a save image (`virQEMUSaveHeader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version (2).
    pub version: u32,
    /// Bytes of XML, cookie and padding after the header.
    pub data_len: u32,
    /// Whether the guest is resumed after a restore.
    pub was_running: bool,
    /// Compression of the migration stream (0 = raw).
    pub compressed: u32,
    /// Offset of the cookie within the data (0 = none).
    pub cookie_offset: u32,
}

impl Header {
    /// The header's bytes with `magic`, in host byte order as libvirt writes them.
    pub fn encode(&self, magic: &[u8; 16]) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..16].copy_from_slice(magic);
        let words = [self.version, self.data_len, u32::from(self.was_running), self.compressed, self.cookie_offset];
        for (i, w) in words.iter().enumerate() {
            out[16 + 4 * i..20 + 4 * i].copy_from_slice(&w.to_ne_bytes());
        }
        out
    }

    /// Decode and check a header as `qemuSaveImageOpen` does. `Err((corrupt, e))`:
    /// `corrupt` is true for an incomplete image (a managed save of one is dropped).
    pub fn decode(buf: &[u8]) -> std::result::Result<Header, (bool, Error)> {
        if buf.len() < HEADER_LEN {
            return Err((true, failed("failed to read qemu header")));
        }
        let magic = &buf[..16];
        if magic != MAGIC {
            if magic == PARTIAL {
                return Err((true, failed("save image is incomplete")));
            }
            return Err((false, failed("image magic is incorrect")));
        }
        let word = |i: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&buf[16 + 4 * i..20 + 4 * i]);
            u32::from_ne_bytes(w)
        };
        let mut words: Vec<u32> = (0..5).map(word).collect();
        if words[0] > VERSION {
            // Written on a host of the other byte order.
            words = words.iter().map(|w| w.swap_bytes()).collect();
        }
        if words[0] > VERSION {
            return Err((false, failed(format!("image version is not supported ({} > {VERSION})", words[0]))));
        }
        // libvirt reads the length as a signed int.
        if words[1] as i32 <= 0 {
            return Err((false, failed(format!("invalid header data length: {}", words[1] as i32))));
        }
        Ok(Header { version: words[0], data_len: words[1], was_running: words[2] != 0, compressed: words[3], cookie_offset: words[4] })
    }
}

/// The libvirt part of an image: header, XML and cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageData {
    /// The header.
    pub header: Header,
    /// The domain XML.
    pub xml: String,
    /// libvirt's save cookie (`<cookie>...</cookie>`), kept as is.
    pub cookie: Option<String>,
}

/// A C string within `bytes`: up to the first NUL.
fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl ImageData {
    /// New data for a save of `xml` (no cookie: libvirt then takes the saved CPU as is).
    pub fn new(xml: String, was_running: bool) -> ImageData {
        ImageData { header: Header { version: VERSION, data_len: 0, was_running, compressed: 0, cookie_offset: 0 }, xml, cookie: None }
    }

    /// The header (with `magic`) and data as `virQEMUSaveDataWrite` writes them. A
    /// header that already has a length (read from an image) keeps it: the new data
    /// must fit in it.
    pub fn encode(&mut self, magic: &[u8; 16]) -> Result<Vec<u8>> {
        let xml_len = self.xml.len() + 1;
        let cookie_len = self.cookie.as_ref().map(|c| c.len() + 1).unwrap_or(0);
        let len = xml_len + cookie_len;
        if self.header.data_len == 0 {
            self.header.data_len = u32::try_from(len + XML_PAD).map_err(|_| failed("domain XML too large for a save image"))?;
        } else if len > self.header.data_len as usize {
            return Err(failed("new xml too large to fit in file"));
        }
        self.header.cookie_offset = if self.cookie.is_some() { u32::try_from(xml_len).unwrap_or(0) } else { 0 };
        let mut out = Vec::with_capacity(HEADER_LEN + self.header.data_len as usize);
        out.extend_from_slice(&self.header.encode(magic));
        out.extend_from_slice(self.xml.as_bytes());
        out.push(0);
        if let Some(c) = &self.cookie {
            out.extend_from_slice(c.as_bytes());
            out.push(0);
        }
        out.resize(HEADER_LEN + self.header.data_len as usize, 0);
        Ok(out)
    }

    /// Read the header, XML and cookie from `f` (positioned at the start); leaves it
    /// at the migration stream. `Err((corrupt, e))` as [`Header::decode`].
    pub fn read(f: &mut impl Read) -> std::result::Result<ImageData, (bool, Error)> {
        let mut buf = [0u8; HEADER_LEN];
        read_full(f, &mut buf).map_err(|_| (true, failed("failed to read qemu header")))?;
        let header = Header::decode(&buf)?;
        let data_len = header.data_len as usize;
        let xml_len = if header.cookie_offset != 0 { header.cookie_offset as usize } else { data_len };
        if xml_len > data_len {
            return Err((false, failed("failed to read domain XML")));
        }
        let xml = read_n(f, xml_len).ok_or_else(|| (false, failed("failed to read domain XML")))?;
        let cookie = if data_len > xml_len {
            let c = read_n(f, data_len - xml_len).ok_or_else(|| (false, failed("failed to read cookie")))?;
            Some(c_str(&c))
        } else {
            None
        };
        Ok(ImageData { header, xml: c_str(&xml), cookie })
    }
}

/// `read_exact` that also fails on a short file.
fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<()> {
    f.read_exact(buf)
}

/// Exactly `n` bytes, or `None` at a short read. The buffer grows with what is read,
/// so a header claiming a huge length costs no more memory than the file has.
fn read_n(f: &mut impl Read, n: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    f.take(n as u64).read_to_end(&mut v).ok()?;
    (v.len() == n).then_some(v)
}

/// An open image: the file (at the migration stream) and its libvirt data.
pub(super) struct OpenImage {
    pub(super) file: File,
    pub(super) data: ImageData,
}

/// Open and check image `path` (`qemuSaveImageOpen`). With `unlink_corrupt`, an
/// incomplete image is removed and `Ok(None)` returned.
fn open_image(path: &Path, write: bool, unlink_corrupt: bool) -> Result<Option<OpenImage>> {
    let mut file = std::fs::OpenOptions::new().read(true).write(write).open(path).map_err(|e| sys("Failed to open file", path, &e))?;
    match ImageData::read(&mut file) {
        Ok(data) => Ok(Some(OpenImage { file, data })),
        Err((true, _)) if unlink_corrupt => {
            std::fs::remove_file(path).map_err(|e| {
                err(ErrorCode::SystemError, format!("cannot remove corrupt file: {}: {}", path.display(), oxvirt_util::error::io_text(&e)))
            })?;
            Ok(None)
        }
        Err((_, e)) => Err(e),
    }
}

/// The XML stored in an image for running `def`: the inactive form, without what
/// this run gave it (the agent channel's socket in the run's private directory, the
/// ptys), as libvirt's migratable XML.
pub(super) fn image_xml(def: &DomainDef, lib_dir: &Path) -> String {
    let mut def = def.clone();
    for c in def.devices.chardevs.iter_mut() {
        let generated = c.source.path.as_deref().is_some_and(|p| Path::new(p).starts_with(lib_dir));
        if (c.device == "channel" && c.source.chr_type == "unix" && generated) || c.source.chr_type == "pty" {
            c.source.path = None;
        }
    }
    def.id = None;
    def.format(&FormatOptions { id: None, inactive: true, secure: true })
}

/// The definition stored in an image, parsed with the driver's rules. libvirt
/// writes the default cgroup partition (`<resource><partition>/machine`), where
/// this driver puts every guest anyway; it is dropped so that images written by
/// libvirtd restore here.
fn image_def(drv: &Driver, xml: &str) -> Result<DomainDef> {
    use oxvirt_conf::xml::XNode;
    let mut def = drv.parse_def(xml)?;
    def.other.retain(|e| {
        let default_partition = |c: &XNode| match c {
            XNode::El(p) => {
                p.name == "partition"
                    && p.children.iter().all(|t| matches!(t, XNode::Text(t) if t.trim() == "/machine" || t.trim().is_empty()))
            }
            XNode::Text(t) => t.trim().is_empty(),
            _ => false,
        };
        !(e.name == "resource" && e.attrs.is_empty() && e.children.iter().all(default_partition))
    });
    Ok(def)
}

/// Wait for the migration QEMU runs (either side) to end: `query-migrate` until
/// `completed`; a failure is libvirt's "`job`: error".
fn wait_migration(qmp: &Qmp, job: &str) -> Result<()> {
    loop {
        let v = qmp.execute("query-migrate", None)?;
        match v.get("status").and_then(Value::as_str).unwrap_or("") {
            "completed" => return Ok(()),
            "failed" | "cancelled" => {
                let desc = v.get("error-desc").and_then(Value::as_str).unwrap_or("unexpectedly failed");
                return Err(failed(format!("{job}: {desc}")));
            }
            _ => std::thread::sleep(POLL),
        }
    }
}

/// A restore for `Driver::start`: QEMU starts with `-incoming defer` and loads
/// `file` (at the migration stream); the guest is resumed when `was_running`.
pub(super) struct Incoming {
    /// The image, positioned at QEMU's stream.
    pub(super) file: File,
    /// The header's (or the flags') running state.
    pub(super) was_running: bool,
}

/// Feed `inc` to a QEMU started with `-incoming defer` and wait until it is loaded.
pub(super) fn load_incoming(qmp: &Qmp, inc: &Incoming) -> Result<()> {
    qmp.execute_with_fd("getfd", Some(json!({ "fdname": FDNAME })), inc.file.as_fd())?;
    if let Err(e) = qmp.execute("migrate-incoming", Some(json!({ "uri": format!("fd:{FDNAME}") }))) {
        let _ = qmp.execute("closefd", Some(json!({ "fdname": FDNAME })));
        return Err(e.into());
    }
    wait_migration(qmp, "domain restore job")
}

/// The temporary name a save is written under, next to `path`.
fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.oxvirt-partial"))
}

/// Write the image of the guest behind `qmp` to `path`: header and XML, QEMU's
/// stream, then the complete magic; synced and renamed into place. Nothing is left
/// at `path` or beside it on failure.
fn write_image(qmp: &Qmp, path: &Path, data: &mut ImageData) -> Result<()> {
    let tmp = partial_path(path);
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| sys("Failed to create file", path, &e))?;
        let head = data.encode(PARTIAL)?;
        f.write_all(&head).map_err(|e| sys("failed to write header to domain save file", path, &e))?;
        f.flush().map_err(|e| sys("failed to write header to domain save file", path, &e))?;
        // QEMU writes the stream at the descriptor's offset, after the header.
        f.seek(SeekFrom::Start(head.len() as u64)).map_err(|e| sys("cannot seek in", path, &e))?;
        if let Err(e) = qmp.execute("migrate-set-parameters", Some(json!({ "max-bandwidth": MAX_BANDWIDTH }))) {
            return Err(Error::from(e));
        }
        qmp.execute_with_fd("getfd", Some(json!({ "fdname": FDNAME })), f.as_fd())?;
        if let Err(e) = qmp.execute("migrate", Some(json!({ "uri": format!("fd:{FDNAME}") }))) {
            let _ = qmp.execute("closefd", Some(json!({ "fdname": FDNAME })));
            return Err(e.into());
        }
        wait_migration(qmp, "domain save job")?;
        f.write_all_at(&data.header.encode(MAGIC), 0).map_err(|e| sys("failed to write header to domain save file", path, &e))?;
        f.sync_all().map_err(|e| sys("unable to close", path, &e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| sys("cannot rename the save image to", path, &e))?;
        if let Some(dir) = path.parent().and_then(|d| File::open(d).ok()) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The name and UUID check of a replacement XML (the part of libvirt's ABI
/// stability check that needs no device model).
fn check_same_domain(old: &DomainDef, new: &DomainDef) -> Result<()> {
    if old.name != new.name {
        return Err(err(ErrorCode::ConfigUnsupported, format!("Target domain name '{}' does not match source '{}'", new.name, old.name)));
    }
    if old.uuid != new.uuid {
        return Err(err(
            ErrorCode::ConfigUnsupported,
            format!("Target domain uuid {} does not match source {}", uuid::format(&new.uuid), uuid::format(&old.uuid)),
        ));
    }
    Ok(())
}

impl Driver {
    /// The managed save image of `name` (libvirt's `SAVE_DIR/NAME.save`).
    pub(super) fn managed_save_path(&self, name: &str) -> PathBuf {
        self.paths.save_dir().join(format!("{name}.save"))
    }

    /// `virDomainSaveFlags` (`managed`: `virDomainManagedSave`): save running `d` to
    /// `path` and shut it off.
    pub(super) fn save_domain(&self, d: &DomainRef, path: Option<&Path>, dxml: Option<&str>, flags: u32) -> Result<()> {
        let job = self.job_of(&d.uuid).ok_or_else(|| super::domobj::no_domain_ref(d))?;
        let _job = job.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&d.uuid);
        let (qmp, pid, was_running, def, lib_dir, name) = {
            let doms = self.doms();
            let obj = doms.by_ref(d)?;
            let run = obj.run.as_ref().ok_or_else(not_running)?;
            if path.is_none() && !obj.persistent {
                return Err(err(ErrorCode::OperationInvalid, "cannot do managed save for transient domain"));
            }
            let qmp = run.qmp.clone().ok_or_else(not_running)?;
            (qmp, run.pid, obj.state == DomainState::Running, obj.def.clone(), run.lib_dir.clone(), obj.def.name.clone())
        };
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let dir = self.paths.save_dir();
                std::fs::create_dir_all(&dir).map_err(|e| sys("cannot create", &dir, &e))?;
                self.managed_save_path(&name)
            }
        };
        let xml = match dxml {
            Some(x) => {
                let new = self.parse_def(x)?;
                check_same_domain(&def, &new)?;
                image_xml(&new, &lib_dir)
            }
            None => image_xml(&def, &lib_dir),
        };
        if was_running {
            self.pause_for_save(d, &qmp)?;
        }
        let header_running = if flags & SAVE_RUNNING != 0 {
            true
        } else if flags & SAVE_PAUSED != 0 {
            false
        } else {
            was_running
        };
        let mut data = ImageData::new(xml, header_running);
        if let Err(e) = write_image(&qmp, &path, &mut data) {
            if was_running {
                self.resume_after_failed_save(d, &qmp);
            }
            return Err(e);
        }
        // The guest is in the image: stop QEMU (libvirt's qemuProcessStop, `saved`).
        {
            let mut doms = self.doms();
            if let Some(run) = doms.get_mut(&d.uuid).and_then(|o| o.run.as_mut()) {
                run.being_destroyed = true;
            }
        }
        let _ = process::terminate(pid, false, TERM_WAIT);
        let mut doms = self.doms();
        self.stop_locked(&mut doms, &d.uuid, reason::SHUTOFF_SAVED, lc::STOPPED_SAVED);
        Ok(())
    }

    /// Pause running `d` for a save (state paused/`save`, SUSPENDED/PAUSED).
    fn pause_for_save(&self, d: &DomainRef, qmp: &Arc<Qmp>) -> Result<()> {
        self.with_run(d, |_, o| {
            if let Some(r) = o.run.as_mut() {
                r.expect(Expect::Stop, true);
            }
        });
        if let Err(e) = qmp.execute("stop", None) {
            self.with_run(d, |_, o| {
                if let Some(r) = o.run.as_mut() {
                    r.expect(Expect::Stop, false);
                }
            });
            return Err(e.into());
        }
        let mut quit = false;
        self.with_run(d, |drv, o| {
            if o.run.is_none() {
                quit = true;
                return;
            }
            o.state = DomainState::Paused;
            o.reason = PAUSED_SAVE;
            drv.emit(o, lc::SUSPENDED, lc::SUSPENDED_PAUSED);
            drv.save_status(o);
        });
        if quit {
            return Err(err(ErrorCode::InternalError, "guest unexpectedly quit"));
        }
        Ok(())
    }

    /// Resume `d` after a failed save (running/`save canceled`).
    fn resume_after_failed_save(&self, d: &DomainRef, qmp: &Arc<Qmp>) {
        self.with_run(d, |_, o| {
            if let Some(r) = o.run.as_mut() {
                r.expect(Expect::Resume, true);
            }
        });
        let ok = qmp.execute("cont", None).is_ok();
        self.with_run(d, |drv, o| {
            if o.run.is_none() {
                return;
            }
            if ok {
                o.state = DomainState::Running;
                o.reason = RUNNING_SAVE_CANCELED;
                drv.emit(o, lc::RESUMED, lc::RESUMED_UNPAUSED);
            } else {
                if let Some(r) = o.run.as_mut() {
                    r.expect(Expect::Resume, false);
                }
                drv.emit(o, lc::SUSPENDED, lc::SUSPENDED_API_ERROR);
            }
            drv.save_status(o);
        });
    }

    /// Run `f` on `d`'s object under the list lock, if it is still there.
    fn with_run(&self, d: &DomainRef, f: impl FnOnce(&Driver, &mut DomObj)) {
        let mut doms = self.doms();
        if let Some(o) = doms.get_mut(&d.uuid) {
            f(self, o);
        }
    }

    /// `virDomainRestoreFlags`: start the guest saved in `path`.
    pub(super) fn restore_domain(self: &Arc<Self>, path: &Path, dxml: Option<&str>, flags: u32) -> Result<()> {
        let Some(img) = open_image(path, false, false)? else {
            return Err(failed("save image is incomplete"));
        };
        let mut def = image_def(self, &img.data.xml)?;
        if let Some(x) = dxml {
            let new = image_def(self, x)?;
            check_same_domain(&def, &new)?;
            def = new;
        }
        let was_running = if flags & SAVE_RUNNING != 0 {
            true
        } else if flags & SAVE_PAUSED != 0 {
            false
        } else {
            img.data.header.was_running
        };
        let u = def.uuid;
        {
            let mut doms = self.doms();
            super::hypervisor::check_conflict(&doms, &def.name, &u)?;
            match doms.get(&u) {
                Some(o) if o.is_active() => {
                    return Err(Error::new(
                        ErrorCode::OperationInvalid,
                        ErrorDomain::Domain,
                        format!("domain '{}' is already active", o.def.name),
                    ))
                }
                Some(_) => {}
                None => doms.insert(DomObj::new(def.clone())),
            }
        }
        let (file, decompressor) = stream_of(img)?;
        let r = self.start_restoring(&u, false, Some(def), Some(Incoming { file, was_running }));
        reap_decompressor(decompressor, r.is_err());
        if r.is_err() {
            let mut doms = self.doms();
            if doms.get(&u).is_some_and(|o| !o.persistent && !o.is_active()) {
                doms.remove(&u);
            }
        }
        r.map(|_| ())
    }

    /// The start-from-managed-save hook of `Driver::start` (libvirt's
    /// `qemuDomainObjStart`): `None` when `u` has no (complete) managed save image,
    /// else the result of restoring it; the image is deleted once restored.
    pub(super) fn start_managed(self: &Arc<Self>, u: &oxvirt_util::uuid::Uuid, paused: bool) -> Option<Result<DomainRef>> {
        let (name, cur) = {
            let doms = self.doms();
            let o = doms.get(u)?;
            if o.is_active() {
                return None;
            }
            (o.def.name.clone(), o.def.uuid)
        };
        let path = self.managed_save_path(&name);
        if !path.exists() {
            return None;
        }
        let run = || -> Result<Option<DomainRef>> {
            // An incomplete image is dropped and the guest boots (libvirt's rule).
            let Some(img) = open_image(&path, false, true)? else { return Ok(None) };
            let def = image_def(self, &img.data.xml)?;
            if def.name != name || def.uuid != cur {
                return Err(failed(format!(
                    "cannot restore domain '{name}' uuid {} from a file which belongs to domain '{}' uuid {}",
                    uuid::format(&cur),
                    def.name,
                    uuid::format(&def.uuid)
                )));
            }
            let was_running = img.data.header.was_running;
            let (file, decompressor) = stream_of(img)?;
            let r = self.start_restoring(u, paused, Some(def), Some(Incoming { file, was_running }));
            reap_decompressor(decompressor, r.is_err());
            let r = r?;
            let _ = std::fs::remove_file(&path);
            Ok(Some(r))
        };
        match run() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// `virDomainSaveImageGetXMLDesc`.
    pub(super) fn save_image_xml(&self, path: &Path, flags: u32) -> Result<String> {
        let Some(img) = open_image(path, false, false)? else {
            return Err(failed("save image is incomplete"));
        };
        let def = self.parse_def(&img.data.xml)?;
        Ok(def.format(&FormatOptions { id: None, inactive: false, secure: flags & 1 != 0 }))
    }

    /// `virDomainSaveImageDefineXML`: replace the XML (and with `flags` the running
    /// state) in image `path`, in place.
    pub(super) fn save_image_define(&self, path: &Path, dxml: &str, flags: u32) -> Result<()> {
        let state = if flags & SAVE_RUNNING != 0 {
            Some(true)
        } else if flags & SAVE_PAUSED != 0 {
            Some(false)
        } else {
            None
        };
        let Some(mut img) = open_image(path, true, false)? else {
            return Err(failed("save image is incomplete"));
        };
        if img.data.xml == dxml && state.is_none_or(|s| s == img.data.header.was_running) {
            return Ok(());
        }
        let def = self.parse_def(&img.data.xml)?;
        let new = self.parse_def(dxml)?;
        check_same_domain(&def, &new)?;
        if let Some(s) = state {
            img.data.header.was_running = s;
        }
        img.data.xml = new.format(&FormatOptions { id: None, inactive: true, secure: true });
        let bytes = img.data.encode(MAGIC)?;
        img.file.write_all_at(&bytes, 0).map_err(|e| sys("failed to write header data to", path, &e))?;
        img.file.sync_all().map_err(|e| sys("failed to write header data to", path, &e))
    }

    /// `VIR_DOMAIN_START_FORCE_BOOT`: drop the managed save image of `d` so that the
    /// start boots (`qemuDomainObjStart`).
    pub(super) fn force_boot(&self, d: &DomainRef) -> Result<()> {
        let name = self.doms().by_ref(d)?.def.name.clone();
        let path = self.managed_save_path(&name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(err(
                ErrorCode::SystemError,
                format!("cannot remove managed save file {}: {}", path.display(), oxvirt_util::error::io_text(&e)),
            )),
            _ => Ok(()),
        }
    }

    /// The managed save image of `d`, or libvirt's error when it has none.
    fn managed_image_of(&self, d: &DomainRef) -> Result<PathBuf> {
        let name = self.doms().by_ref(d)?.def.name.clone();
        let path = self.managed_save_path(&name);
        if !path.exists() {
            return Err(err(ErrorCode::OperationInvalid, "domain does not have managed save image"));
        }
        Ok(path)
    }

    /// `virDomainManagedSaveGetXMLDesc`.
    pub(super) fn managed_save_xml(&self, d: &DomainRef, flags: u32) -> Result<String> {
        let path = self.managed_image_of(d)?;
        self.save_image_xml(&path, flags)
    }

    /// `virDomainManagedSaveDefineXML`.
    pub(super) fn managed_save_define(&self, d: &DomainRef, dxml: Option<&str>, flags: u32) -> Result<()> {
        let path = self.managed_image_of(d)?;
        let dxml = dxml.ok_or_else(|| err(ErrorCode::InvalidArg, "dxml in virDomainManagedSaveDefineXML must not be NULL"))?;
        self.save_image_define(&path, dxml, flags)
    }

    /// `virDomainManagedSaveRemove`.
    pub(super) fn managed_save_remove(&self, d: &DomainRef) -> Result<()> {
        let name = self.doms().by_ref(d)?.def.name.clone();
        let path = self.managed_save_path(&name);
        std::fs::remove_file(&path).map_err(|e| sys("Failed to remove managed save file", &path, &e))
    }

    /// `virDomainHasManagedSaveImage`.
    pub(super) fn has_managed_save(&self, d: &DomainRef) -> Result<bool> {
        let name = self.doms().by_ref(d)?.def.name.clone();
        Ok(self.managed_save_path(&name).exists())
    }

    /// What `virDomainUndefineFlags` does about a managed save image of `name`: with
    /// `VIR_DOMAIN_UNDEFINE_MANAGED_SAVE` it goes, otherwise the undefine is refused.
    pub(super) fn undefine_managed_save(&self, name: &str, flags: u32) -> Result<()> {
        let path = self.managed_save_path(name);
        if !path.exists() {
            return Ok(());
        }
        if flags & UNDEFINE_MANAGED_SAVE == 0 {
            return Err(err(ErrorCode::OperationInvalid, "Refusing to undefine while domain managed save image exists"));
        }
        std::fs::remove_file(&path).map_err(|_| err(ErrorCode::InternalError, "Failed to remove domain managed save image"))
    }
}

/// The stream QEMU loads: the image itself (at its migration data), or for a
/// compressed image the output of libvirt's decompressor for the format (`PROG -dc`,
/// lzop also with `--ignore-warn`) reading it.
fn stream_of(img: OpenImage) -> Result<(File, Option<std::process::Child>)> {
    let n = img.data.header.compressed;
    if n == 0 {
        return Ok((img.file, None));
    }
    let prog = FORMATS.get(n as usize).ok_or_else(|| failed(format!("Invalid compressed save format {n}")))?;
    let mut cmd = std::process::Command::new(prog);
    cmd.arg("-dc");
    if *prog == "lzop" {
        cmd.arg("--ignore-warn");
    }
    let mut child = cmd
        .stdin(std::process::Stdio::from(img.file))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| err(ErrorCode::SystemError, format!("Cannot run decompressor '{prog}': {}", oxvirt_util::error::io_text(&e))))?;
    let out = child.stdout.take().ok_or_else(|| err(ErrorCode::InternalError, format!("no output pipe from '{prog}'")))?;
    Ok((File::from(std::os::fd::OwnedFd::from(out)), Some(child)))
}

/// Reap a decompressor in the background (killed first when the restore failed);
/// it ends once QEMU, the last reader of its pipe, is done with it.
fn reap_decompressor(child: Option<std::process::Child>, failed: bool) {
    let Some(mut child) = child else { return };
    if failed {
        let _ = child.kill();
    }
    let _ = std::thread::Builder::new().name("qemu-restore-decompressor".into()).spawn(move || {
        let _ = child.wait();
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_libvirts() {
        let mut d = ImageData::new("<domain/>".into(), true);
        let bytes = d.encode(MAGIC).unwrap();
        assert_eq!(HEADER_LEN, 92);
        assert_eq!(&bytes[..16], b"LibvirtQemudSave");
        assert_eq!(u32::from_le_bytes(bytes[16..20].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize, 10 + 64 * 1024);
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 1);
        assert_eq!(bytes.len(), 92 + 10 + 64 * 1024);
        let back = ImageData::read(&mut &bytes[..]).unwrap();
        assert_eq!(back.xml, "<domain/>");
        assert!(back.header.was_running && back.cookie.is_none());
    }

    #[test]
    fn cookies_and_edits_keep_the_length() {
        let mut d = ImageData::new("<domain/>".into(), false);
        d.cookie = Some("<cookie/>".into());
        let bytes = d.encode(MAGIC).unwrap();
        let mut back = ImageData::read(&mut &bytes[..]).unwrap();
        assert_eq!(back.cookie.as_deref(), Some("<cookie/>"));
        assert_eq!(back.header.cookie_offset, 10);
        back.xml = "x".repeat(70 * 1024);
        let e = back.encode(MAGIC).err().map(|e| e.message).unwrap_or_default();
        assert_eq!(e, "operation failed: new xml too large to fit in file");
    }

    #[test]
    fn any_prefix_or_mutation_reads_without_panic() {
        let mut d = ImageData::new("<domain type='qemu'><name>x</name></domain>".into(), true);
        d.cookie = Some("<cookie/>".into());
        let good = d.encode(MAGIC).unwrap();
        for n in (0..200).chain([good.len() - 1, good.len()]) {
            let _ = ImageData::read(&mut &good[..n.min(good.len())]);
        }
        // A cheap deterministic generator: every header byte set to a few values.
        for i in 16..HEADER_LEN {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut m = good.clone();
                m[i] = v;
                let _ = ImageData::read(&mut &m[..]);
            }
        }
    }

    #[test]
    fn bad_headers_fail_as_libvirt() {
        let msg = |b: &[u8]| ImageData::read(&mut &b[..]).err().map(|(c, e)| (c, e.code, e.message)).unwrap();
        assert_eq!(msg(b"short"), (true, ErrorCode::OperationFailed, "operation failed: failed to read qemu header".into()));
        let mut d = ImageData::new("<domain/>".into(), false);
        let good = d.encode(MAGIC).unwrap();
        let mut partial = good.clone();
        partial[..16].copy_from_slice(PARTIAL);
        assert_eq!(msg(&partial).2, "operation failed: save image is incomplete");
        assert!(msg(&partial).0);
        let mut bad = good.clone();
        bad[..16].copy_from_slice(b"NotLibvirtImage!");
        assert_eq!(msg(&bad), (false, ErrorCode::OperationFailed, "operation failed: image magic is incorrect".into()));
        let mut v3 = good.clone();
        v3[16..20].copy_from_slice(&3u32.to_ne_bytes());
        // 3 swapped is still > 2.
        assert_eq!(msg(&v3).2, "operation failed: image version is not supported (50331648 > 2)");
        let mut swapped = good.clone();
        for i in 0..5 {
            let w: [u8; 4] = swapped[16 + 4 * i..20 + 4 * i].try_into().unwrap();
            swapped[16 + 4 * i..20 + 4 * i].copy_from_slice(&u32::from_ne_bytes(w).swap_bytes().to_ne_bytes());
        }
        assert_eq!(ImageData::read(&mut &swapped[..]).unwrap().xml, "<domain/>");
        let mut zero = good.clone();
        zero[20..24].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(msg(&zero).2, "operation failed: invalid header data length: 0");
        let mut huge = good;
        huge[20..24].copy_from_slice(&0x7fff_0000u32.to_ne_bytes());
        assert_eq!(msg(&huge).2, "operation failed: failed to read domain XML");
    }
}
