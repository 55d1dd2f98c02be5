//! Where the QEMU driver keeps its files, for `qemu:///system`, `qemu:///session`
//! and the embedded driver `qemu:///embed?root=DIR` (libvirt's
//! `virQEMUDriverConfigNew` layout).

use std::path::{Path, PathBuf};

/// The directories of one driver instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The URI this instance answers to (`qemu:///system`, `qemu:///embed?root=...`).
    pub uri: String,
    /// Persistent domain definitions (`NAME.xml`).
    pub config_dir: PathBuf,
    /// Autostart symlinks (`NAME.xml` → the config file).
    pub autostart_dir: PathBuf,
    /// Status files of running domains (`NAME.xml`).
    pub state_dir: PathBuf,
    /// Per-domain private directories (`domain-ID-NAME/`: monitor socket, master key).
    pub lib_dir: PathBuf,
    /// QEMU logs (`NAME.log`).
    pub log_dir: PathBuf,
    /// Caches (capabilities).
    pub cache_dir: PathBuf,
    /// Whether this is the privileged (`system`) instance.
    pub privileged: bool,
    /// The driver's settings file (`qemu.conf`, in the base config directory).
    pub qemu_conf: PathBuf,
    /// The root of an embedded driver (`qemu:///embed?root=`, or `OXVIRT_QEMU_ROOT`):
    /// it makes names seen host-wide (cgroups) unique per root, as libvirt's
    /// `virDomainDriverGenerateMachineName`.
    pub root: Option<PathBuf>,
}

fn env_dir(var: &str, fallback: impl FnOnce() -> PathBuf) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => fallback(),
    }
}

fn home() -> PathBuf {
    env_dir("HOME", || PathBuf::from("/"))
}

impl Paths {
    /// `qemu:///system`.
    pub fn system() -> Paths {
        let config_base = PathBuf::from("/etc/libvirt");
        Paths {
            uri: "qemu:///system".into(),
            config_dir: config_base.join("qemu"),
            autostart_dir: config_base.join("qemu/autostart"),
            state_dir: PathBuf::from("/run/libvirt/qemu"),
            lib_dir: PathBuf::from("/var/lib/libvirt/qemu"),
            log_dir: PathBuf::from("/var/log/libvirt/qemu"),
            cache_dir: PathBuf::from("/var/cache/libvirt/qemu"),
            privileged: true,
            qemu_conf: config_base.join("qemu.conf"),
            root: None,
        }
    }

    /// `qemu:///session` of the current user (XDG directories).
    pub fn session() -> Paths {
        let config_base = env_dir("XDG_CONFIG_HOME", || home().join(".config")).join("libvirt");
        let cache = env_dir("XDG_CACHE_HOME", || home().join(".cache")).join("libvirt");
        let run = match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(v) if !v.is_empty() => PathBuf::from(v).join("libvirt"),
            _ => cache.join("run"),
        };
        Paths {
            uri: "qemu:///session".into(),
            config_dir: config_base.join("qemu"),
            autostart_dir: config_base.join("qemu/autostart"),
            state_dir: run.join("qemu/run"),
            lib_dir: config_base.join("qemu/lib"),
            log_dir: cache.join("qemu/log"),
            cache_dir: cache.join("qemu/cache"),
            privileged: false,
            qemu_conf: config_base.join("qemu.conf"),
            root: None,
        }
    }

    /// `qemu:///embed?root=ROOT`: everything below `root`.
    pub fn embed(root: &Path) -> Paths {
        Paths {
            uri: format!("qemu:///embed?root={}", root.display()),
            config_dir: root.join("etc/qemu"),
            autostart_dir: root.join("etc/qemu/autostart"),
            state_dir: root.join("run/qemu"),
            lib_dir: root.join("lib/qemu"),
            log_dir: root.join("log/qemu"),
            cache_dir: root.join("cache/qemu"),
            privileged: false,
            qemu_conf: root.join("etc/qemu.conf"),
            root: Some(root.to_path_buf()),
        }
    }

    /// Persistent configuration of `name`.
    pub fn config_file(&self, name: &str) -> PathBuf {
        self.config_dir.join(format!("{name}.xml"))
    }

    /// Autostart link of `name`.
    pub fn autostart_link(&self, name: &str) -> PathBuf {
        self.autostart_dir.join(format!("{name}.xml"))
    }

    /// Status file of running `name`.
    pub fn status_file(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.xml"))
    }

    /// Log file of `name`.
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir.join(format!("{name}.log"))
    }

    /// Private directory of running domain `id`/`name` (libvirt's
    /// `domain-<short name>`, the name cut to 20 bytes).
    pub fn domain_lib_dir(&self, id: i32, name: &str) -> PathBuf {
        let mut end = name.len().min(20);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        self.lib_dir.join(format!("domain-{id}-{}", &name[..end]))
    }

    /// Managed save images, `NAME.save` (libvirt's `saveDir`: `LIB_DIR/save`, for the
    /// session `CONFIG_DIR/save`); created when the first one is written.
    pub fn save_dir(&self) -> PathBuf {
        if self.uri == "qemu:///session" {
            self.config_dir.join("save")
        } else {
            self.lib_dir.join("save")
        }
    }

    /// Snapshot metadata, `DOMNAME/SNAPNAME.xml` (libvirt's `snapshotDir`:
    /// `LIB_DIR/snapshot`, for the session `CONFIG_DIR/snapshot`); created when the
    /// first snapshot is written.
    pub fn snapshot_dir(&self) -> PathBuf {
        if self.uri == "qemu:///session" {
            self.config_dir.join("snapshot")
        } else {
            self.lib_dir.join("snapshot")
        }
    }

    /// Where the original owners of files chowned for running guests are kept
    /// (see `dac.rs`).
    pub fn dac_store(&self) -> PathBuf {
        self.state_dir.join("dac-owners")
    }

    /// Create every directory.
    pub fn create_all(&self) -> std::io::Result<()> {
        for d in [&self.config_dir, &self.autostart_dir, &self.state_dir, &self.lib_dir, &self.log_dir, &self.cache_dir] {
            std::fs::create_dir_all(d)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn embed_layout_is_libvirts() {
        let p = Paths::embed(Path::new("/r"));
        assert_eq!(p.config_file("a"), PathBuf::from("/r/etc/qemu/a.xml"));
        assert_eq!(p.status_file("a"), PathBuf::from("/r/run/qemu/a.xml"));
        assert_eq!(p.log_file("a"), PathBuf::from("/r/log/qemu/a.log"));
        assert_eq!(p.domain_lib_dir(3, "abcdefghijklmnopqrstuvwxyz"), PathBuf::from("/r/lib/qemu/domain-3-abcdefghijklmnopqrst"));
        assert_eq!(p.uri, "qemu:///embed?root=/r");
        assert_eq!(p.qemu_conf, PathBuf::from("/r/etc/qemu.conf"));
        assert_eq!(p.save_dir(), PathBuf::from("/r/lib/qemu/save"));
        assert_eq!(Paths::system().save_dir(), PathBuf::from("/var/lib/libvirt/qemu/save"));
        assert_eq!(Paths::system().snapshot_dir(), PathBuf::from("/var/lib/libvirt/qemu/snapshot"));
        assert_eq!(p.snapshot_dir(), PathBuf::from("/r/lib/qemu/snapshot"));
        assert_eq!(Paths::system().qemu_conf, PathBuf::from("/etc/libvirt/qemu.conf"));
    }
}
