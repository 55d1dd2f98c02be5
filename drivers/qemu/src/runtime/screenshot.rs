//! `virDomainScreenshot` (libvirt's `qemuDomainScreenshot`): QMP `screendump` into a
//! fresh file of the run's private directory (`qemu.screendump.XXXXXX`, mode 0600,
//! owned by QEMU's user on the privileged driver), PNG when the binary's `screendump`
//! takes `format` (`screenshot-format-png`), else PPM. The file is read through the
//! descriptor that created it, removed, and its contents go to the client as a
//! download stream.

use super::domobj::Expect;
use super::{dac, Driver};
use oxvirt::driver::check_flags;
use oxvirt::{DomainRef, Error, ErrorCode, ErrorDomain, Result, StreamChunk, StreamDriver};
use serde_json::json;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const D: ErrorDomain = ErrorDomain::Qemu;

/// The image file, read to its end.
struct ImageStream {
    file: File,
}

impl StreamDriver for ImageStream {
    fn recv(&mut self, max: usize) -> Result<StreamChunk> {
        let mut buf = vec![0u8; max.clamp(1, oxvirt::stream::CHUNK)];
        let n = self
            .file
            .read(&mut buf)
            .map_err(|e| Error::new(ErrorCode::SystemError, ErrorDomain::Streams, format!("cannot read the screenshot: {e}")))?;
        if n == 0 {
            return Ok(StreamChunk::Eof);
        }
        buf.truncate(n);
        Ok(StreamChunk::Data(buf))
    }
}

/// A new empty file `dir/qemu.screendump.XXXXXX` (as `g_mkstemp_full`), open for
/// reading: the image is read through this descriptor, so a path replaced meanwhile
/// in the directory (which QEMU's user owns) is never followed.
fn temp_file(dir: &Path) -> Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..100 {
        let mut rnd = [0u8; 6];
        let _ = getrandom_bytes(&mut rnd);
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let suffix: String = rnd.iter().map(|b| CHARS[usize::from(*b) % CHARS.len()] as char).collect();
        let path = dir.join(format!("qemu.screendump.{suffix}"));
        match std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => last = Some(e),
        }
    }
    let e = last.map(|e| e.to_string()).unwrap_or_default();
    Err(Error::new(ErrorCode::SystemError, D, format!("g_mkstemp(\"{}/qemu.screendump.XXXXXX\") failed: {e}", dir.display())))
}

/// Random bytes from the kernel (`/dev/urandom`).
fn getrandom_bytes(buf: &mut [u8]) -> std::io::Result<()> {
    File::open("/dev/urandom")?.read_exact(buf)
}

/// Removes the temporary file whatever happens.
struct Unlink(PathBuf);

impl Drop for Unlink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `virDomainScreenshot`: the MIME type and the image's stream.
pub fn screenshot(drv: &Driver, d: &DomainRef, screen: u32, flags: u32) -> Result<(String, Box<dyn StreamDriver>)> {
    check_flags(flags, 0, "qemuDomainScreenshot", D)?;
    drv.refresh(&d.uuid);
    let (lib_dir, def) = {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        let run = o.run.as_ref().filter(|_| o.is_active());
        // virDomainObjCheckActive: VIR_FROM_DOMAIN.
        let Some(run) = run else { return Err(Error::new(ErrorCode::OperationInvalid, ErrorDomain::Domain, "domain is not running")) };
        (run.lib_dir.clone(), o.def.clone())
    };
    if def.devices.videos.is_empty() {
        return Err(Error::new(ErrorCode::OperationInvalid, D, "no screens to take screenshot from"));
    }
    let caps = super::capscache::lookup(&Driver::emulator_of(&def), &drv.paths.cache_dir)?;
    let mut device = None;
    let mut head = screen;
    if screen > 0 {
        if !caps.has("screendump_device") {
            return Err(Error::new(ErrorCode::OperationUnsupported, D, "qemu does not allow specifying screen ID"));
        }
        for (i, v) in def.devices.videos.iter().enumerate() {
            let heads: u32 = v.model_attrs.iter().find(|(k, _)| k == "heads").and_then(|(_, h)| h.parse().ok()).unwrap_or(1);
            if head < heads {
                device = Some(v.info.alias.clone().unwrap_or_else(|| format!("video{i}")));
                break;
            }
            head -= heads;
        }
        if device.is_none() {
            return Err(Error::new(ErrorCode::OperationInvalid, D, "no such screen ID"));
        }
    }
    let png = caps.has("screenshot-format-png");
    let (path, file) = temp_file(&lib_dir)?;
    let _unlink = Unlink(path.clone());
    if drv.paths.privileged {
        let label = dac::domain_label(&def, drv.qemu_conf.user, drv.qemu_conf.group)?;
        // Through the descriptor: the directory belongs to QEMU's user.
        std::os::unix::fs::fchown(&file, Some(label.uid), Some(label.gid)).map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                D,
                format!("unable to set ownership of '{}' to {}:{}: {e}", path.display(), label.uid, label.gid),
            )
        })?;
    }
    let mut args = json!({ "filename": path.to_string_lossy() });
    if let Some(dev) = device {
        args["device"] = json!(dev);
    }
    if head > 0 {
        args["head"] = json!(head);
    }
    if png {
        args["format"] = json!("png");
    }
    drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("screendump", Some(args)))?;
    let mime = if png { "image/png" } else { "image/x-portable-pixmap" };
    Ok((mime.to_string(), Box::new(ImageStream { file })))
}
