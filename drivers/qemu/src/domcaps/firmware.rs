//! QEMU firmware descriptors (`docs/interop/firmware.json` of QEMU): JSON files in
//! `/usr/share/qemu/firmware`, `/etc/qemu/firmware` and (unprivileged)
//! `$XDG_CONFIG_HOME/qemu/firmware`. A file in a later directory replaces one of the
//! same name in an earlier one, an empty file hides it, and files are taken in name
//! order — libvirt's `qemuFirmwareFetchConfigs`. [`supported`] is libvirt's
//! `qemuFirmwareGetSupported`: which firmware kinds serve a machine type.

use crate::error::{QemuError, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the descriptors offer for one machine type and architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supported {
    /// A BIOS firmware matches.
    pub bios: bool,
    /// A UEFI firmware matches.
    pub efi: bool,
    /// A matching firmware requires SMM (secure boot capable).
    pub secure: bool,
    /// Executables (flash or memory images) of the matching firmwares, in order.
    pub executables: Vec<String>,
}

/// The descriptor files to read, in name order, later directories overriding.
pub fn descriptor_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            by_name.insert(name, e.path());
        }
    }
    by_name.into_values().filter(|p| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false)).collect()
}

/// GLib's `g_pattern_match_simple`: `*` and `?` wildcards.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn qemu_arch(a: &str) -> &str {
    match a {
        "i386" => "i686",
        other => other,
    }
}

fn parse_err(path: &Path, what: impl std::fmt::Display) -> QemuError {
    QemuError::Internal(format!("cannot parse firmware descriptor '{}': {what}", path.display()))
}

/// libvirt's `qemuFirmwareGetSupported` over the descriptors in `dirs`.
pub fn supported(dirs: &[PathBuf], machine: &str, arch: &str) -> Result<Supported> {
    let mut out = Supported::default();
    for path in descriptor_files(dirs) {
        let mut text = std::fs::read_to_string(&path).map_err(|e| parse_err(&path, e))?;
        // A symbolic link stored as a file holding its target (how the test corpus keeps
        // libvirt's linked descriptors): follow it.
        let trimmed = text.trim();
        if !trimmed.starts_with('{') && !trimmed.contains('\n') {
            if let Some(target) = path.parent().map(|d| d.join(trimmed)).filter(|t| t.is_file()) {
                text = std::fs::read_to_string(&target).map_err(|e| parse_err(&target, e))?;
            }
        }
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| parse_err(&path, e))?;
        let matches = v["targets"].as_array().into_iter().flatten().any(|t| {
            t["architecture"].as_str().map(qemu_arch) == Some(arch)
                && t["machines"].as_array().into_iter().flatten().filter_map(|m| m.as_str()).any(|m| glob_match(m, machine))
        });
        if !matches {
            continue;
        }
        for i in v["interface-types"].as_array().into_iter().flatten().filter_map(|i| i.as_str()) {
            match i {
                "uefi" => out.efi = true,
                "bios" => out.bios = true,
                _ => {}
            }
        }
        if v["features"].as_array().into_iter().flatten().any(|f| f.as_str() == Some("requires-smm")) {
            out.secure = true;
        }
        let mapping = &v["mapping"];
        let exe = match mapping["device"].as_str() {
            Some("flash") => mapping["executable"]["filename"].as_str(),
            Some("memory") => mapping["filename"].as_str(),
            _ => None,
        };
        if let Some(e) = exe {
            if !out.executables.iter().any(|x| x == e) {
                out.executables.push(e.to_string());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_glib() {
        assert!(glob_match("pc-q35-*", "pc-q35-8.0"));
        assert!(glob_match("pc-i440fx-*", "pc-i440fx-8.0"));
        assert!(!glob_match("pc-q35-*", "pc-i440fx-8.0"));
        assert!(glob_match("virt-?.?", "virt-5.2"));
        assert!(glob_match("*", ""));
    }
}
