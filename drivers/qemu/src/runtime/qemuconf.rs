//! `qemu.conf`: the driver's host-integration settings (libvirt's
//! `virQEMUDriverConfigLoadFile`), read once when a driver instance starts.
//!
//! The file is in libvirt's configuration syntax (`oxvirt_util::virconf`). Keys this
//! driver does not use are ignored, as libvirt ignores keys it does not know; keys it
//! uses are checked with libvirt's rules and messages (a bool must be 0 or 1, a user
//! must exist, a cgroup controller must be one libvirt knows, ...). A missing file
//! means the defaults.

use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_util::virconf::VirConf;
use std::path::Path;

/// libvirt's cgroup controller names (`virCgroupController`), in its order.
pub const CGROUP_CONTROLLERS: [&str; 10] =
    ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "net_cls", "perf_event", "name=systemd"];

/// The settings of `qemu.conf` this driver honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConf {
    /// `user`: the uid QEMU runs as (privileged driver only).
    pub user: u32,
    /// `group`: the gid QEMU runs as.
    pub group: u32,
    /// `dynamic_ownership`: chown the guest's files to `user:group` while it runs.
    pub dynamic_ownership: bool,
    /// `remember_owner`: restore the original owners when the guest stops.
    pub remember_owner: bool,
    /// `cgroup_controllers`: the controllers to use; `None` is every one available.
    pub cgroup_controllers: Option<Vec<String>>,
    /// `seccomp_sandbox`: -1 (default) and 1 turn QEMU's sandbox on, 0 turns it off.
    pub seccomp_sandbox: i64,
    /// `security_driver`: the names listed (`none`, `dac`).
    pub security_drivers: Vec<String>,
}

impl Default for QemuConf {
    /// libvirt's built-in defaults (upstream's `root:root`; distributions often build
    /// libvirt with another default user, which `qemu.conf` expresses here).
    fn default() -> QemuConf {
        QemuConf {
            user: 0,
            group: 0,
            dynamic_ownership: true,
            remember_owner: true,
            cgroup_controllers: None,
            seccomp_sandbox: -1,
            security_drivers: Vec::new(),
        }
    }
}

fn conf_err(code: ErrorCode, msg: impl AsRef<str>) -> Error {
    Error::new(code, ErrorDomain::Conf, msg)
}

/// libvirt's `virGetUserID`/`virGetGroupID`: `+N` is a number, a name is looked up,
/// a plain number that names no one is taken as the id.
fn parse_id(value: &str, user: bool) -> Result<u32> {
    let what = if user { "user" } else { "group" };
    let fail = || Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("Failed to parse {what} '{value}'"));
    if let Some(n) = value.strip_prefix('+') {
        return n.parse::<u32>().map_err(|_| fail());
    }
    let found = if user {
        nix::unistd::User::from_name(value).ok().flatten().map(|u| u.uid.as_raw())
    } else {
        nix::unistd::Group::from_name(value).ok().flatten().map(|g| g.gid.as_raw())
    };
    match found {
        Some(id) => Ok(id),
        None => value.parse::<u32>().map_err(|_| fail()),
    }
}

impl QemuConf {
    /// Read `path`; a file that does not exist (or cannot be read) gives the defaults,
    /// as in libvirt.
    pub fn load(path: &Path) -> Result<QemuConf> {
        match std::fs::read_to_string(path) {
            Ok(text) => QemuConf::parse(&path.display().to_string(), &text),
            Err(_) => Ok(QemuConf::default()),
        }
    }

    /// Parse the text of `file`.
    pub fn parse(file: &str, text: &str) -> Result<QemuConf> {
        let conf = VirConf::parse(file, text).map_err(|e| conf_err(ErrorCode::ConfSyntax, format!("{}:{}: {}", e.file, e.line, e.what)))?;
        let mut c = QemuConf::default();
        let get_bool = |key: &str| -> Result<Option<bool>> {
            match conf.get(key) {
                None => Ok(None),
                Some(oxvirt_util::virconf::ConfValue::Int(0)) => Ok(Some(false)),
                Some(oxvirt_util::virconf::ConfValue::Int(1)) => Ok(Some(true)),
                Some(oxvirt_util::virconf::ConfValue::Int(_)) => {
                    Err(conf_err(ErrorCode::InternalError, format!("{file}: value for '{key}' parameter must be 0 or 1")))
                }
                Some(_) => Err(conf_err(ErrorCode::InternalError, format!("{file}: expected a bool for '{key}' parameter"))),
            }
        };
        let get_str = |key: &str| -> Result<Option<String>> {
            conf.get_str(key)
                .map(|v| v.map(str::to_string))
                .map_err(|_| conf_err(ErrorCode::InternalError, format!("{file}: expected a string for '{key}' parameter")))
        };
        let get_list = |key: &str, allow_string: bool| -> Result<Option<Vec<String>>> {
            if !allow_string && matches!(conf.get(key), Some(oxvirt_util::virconf::ConfValue::Str(_))) {
                return Err(conf_err(ErrorCode::InternalError, format!("{file}: expected a string list for '{key}' parameter")));
            }
            conf.get_str_list(key).map_err(|_| {
                let what = if allow_string { "a string or string list" } else { "a string list" };
                conf_err(ErrorCode::InternalError, format!("{file}: expected {what} for '{key}' parameter"))
            })
        };

        if let Some(names) = get_list("security_driver", true)? {
            for (i, n) in names.iter().enumerate() {
                if names[i + 1..].contains(n) {
                    return Err(conf_err(ErrorCode::ConfSyntax, format!("Duplicate security driver {n}")));
                }
                if n != "none" && n != "dac" {
                    return Err(Error::new(
                        ErrorCode::ConfigUnsupported,
                        ErrorDomain::Security,
                        format!("Security driver {n} not enabled"),
                    ));
                }
            }
            c.security_drivers = names;
        }
        if let Some(u) = get_str("user")? {
            c.user = parse_id(&u, true)?;
        }
        if let Some(g) = get_str("group")? {
            c.group = parse_id(&g, false)?;
        }
        if let Some(b) = get_bool("dynamic_ownership")? {
            c.dynamic_ownership = b;
        }
        if let Some(b) = get_bool("remember_owner")? {
            c.remember_owner = b;
        }
        if let Some(list) = get_list("cgroup_controllers", false)? {
            if let Some(bad) = list.iter().find(|n| !CGROUP_CONTROLLERS.contains(&n.as_str())) {
                return Err(conf_err(ErrorCode::ConfSyntax, format!("Unknown cgroup controller '{bad}'")));
            }
            c.cgroup_controllers = Some(list);
        }
        match conf.get("seccomp_sandbox") {
            None => {}
            Some(oxvirt_util::virconf::ConfValue::Int(n)) if i32::try_from(*n).is_ok() => c.seccomp_sandbox = *n,
            Some(oxvirt_util::virconf::ConfValue::Int(_)) => {
                return Err(conf_err(
                    ErrorCode::InternalError,
                    format!("{file}: value for 'seccomp_sandbox' parameter must be in range {}:{}", i32::MIN, i32::MAX),
                ))
            }
            Some(_) => {
                return Err(conf_err(
                    ErrorCode::InternalError,
                    format!("{file}: expected a signed integer for 'seccomp_sandbox' parameter"),
                ))
            }
        }
        Ok(c)
    }

    /// Whether cgroup controller `name` may be used.
    pub fn controller_allowed(&self, name: &str) -> bool {
        self.cgroup_controllers.as_ref().is_none_or(|l| l.iter().any(|c| c == name))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_known_keys() {
        let c = QemuConf::parse("q.conf", "").unwrap();
        assert_eq!(c, QemuConf::default());
        let c = QemuConf::parse(
            "q.conf",
            "user = \"+107\"\ngroup = \"root\"\ndynamic_ownership = 0\nremember_owner = 0\n\
             cgroup_controllers = [ \"cpu\", \"memory\" ]\nseccomp_sandbox = 0\nsecurity_driver = \"none\"\nvnc_listen = \"0.0.0.0\"\n",
        )
        .unwrap();
        assert_eq!((c.user, c.group, c.dynamic_ownership, c.remember_owner, c.seccomp_sandbox), (107, 0, false, false, 0));
        assert!(c.controller_allowed("memory") && !c.controller_allowed("blkio"));
        assert_eq!(c.security_drivers, vec!["none".to_string()]);
    }

    #[test]
    fn bad_values_give_libvirts_errors() {
        let e = |t: &str| QemuConf::parse("q.conf", t).unwrap_err();
        let x = e("dynamic_ownership = 2");
        assert_eq!(x.code, ErrorCode::InternalError);
        assert!(x.message.contains("q.conf: value for 'dynamic_ownership' parameter must be 0 or 1"), "{}", x.message);
        assert!(e("remember_owner = \"yes\"").message.contains("expected a bool for 'remember_owner'"));
        let x = e("cgroup_controllers = [ \"cpu\", \"bogus\" ]");
        assert_eq!(x.code, ErrorCode::ConfSyntax);
        assert!(x.message.contains("Unknown cgroup controller 'bogus'"), "{}", x.message);
        let x = e("user = \"no-such-user-oxvirt\"");
        assert_eq!(x.code, ErrorCode::InvalidArg);
        assert!(x.message.contains("Failed to parse user 'no-such-user-oxvirt'"), "{}", x.message);
        assert_eq!(e("security_driver = \"selinux\"").code, ErrorCode::ConfigUnsupported);
        assert_eq!(e("security_driver = [ \"dac\", \"dac\" ]").code, ErrorCode::ConfSyntax);
        assert_eq!(e("user = ").code, ErrorCode::ConfSyntax);
        assert!(e("seccomp_sandbox = \"1\"").message.contains("expected a signed integer"));
    }
}
