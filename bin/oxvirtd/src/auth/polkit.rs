//! polkit authorization of unix-socket clients (`auth_unix_* = "polkit"`): the
//! client's pid, uid and process start time (`SO_PEERCRED` and `/proc/PID/stat`) are
//! checked against action `org.libvirt.unix.manage` (read-only socket:
//! `org.libvirt.unix.monitor`) by polkit's own `pkcheck`, which asks polkitd over the
//! system D-Bus — the question libvirt 9.0 asks polkitd directly
//! (`CheckAuthorization` on a `unix-process` subject, interaction allowed).

use oxvirt::{Error, ErrorCode, ErrorDomain};
use std::process::{Command, Stdio};

/// The `pkcheck` program (`OXVIRTD_PKCHECK` overrides, for tests).
fn pkcheck() -> String {
    std::env::var("OXVIRTD_PKCHECK").unwrap_or_else(|_| "pkcheck".to_string())
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`), as libvirt's `virProcessGetStartTime` reads it.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

fn parse_start_time(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain anything.
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields from 3 (state) on; the start time is field 22.
    rest.split_ascii_whitespace().nth(22 - 3)?.parse().ok()
}

/// The action checked for a client.
pub fn action(read_only: bool) -> &'static str {
    if read_only {
        "org.libvirt.unix.monitor"
    } else {
        "org.libvirt.unix.manage"
    }
}

/// Ask polkit whether process `pid` (started at `start`, running as `uid`) may do
/// `action`. The errors are libvirt's (`virPolkitCheckAuth`).
pub fn check(action: &str, pid: i32, start: u64, uid: u32) -> Result<(), Error> {
    let out = Command::new(pkcheck())
        .arg("--action-id")
        .arg(action)
        .arg("--process")
        .arg(format!("{pid},{start},{uid}"))
        .arg("--allow-user-interaction")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(ErrorCode::InternalError, ErrorDomain::Polkit, format!("Unable to run pkcheck: {e}")))?;
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(Error::new(ErrorCode::AuthFailed, ErrorDomain::Polkit, "access denied by policy")),
        Some(2) => Err(Error::new(
            ErrorCode::AuthUnavailable,
            ErrorDomain::Polkit,
            format!("no polkit agent available to authenticate action '{action}'"),
        )),
        Some(3) => Err(Error::new(ErrorCode::AuthCancelled, ErrorDomain::Polkit, "user cancelled authentication process")),
        _ => {
            let msg = String::from_utf8_lossy(&out.stderr);
            Err(Error::new(ErrorCode::InternalError, ErrorDomain::Polkit, format!("polkit check failed: {}", msg.trim())))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn start_time_field() {
        let stat = "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(stat), Some(987654));
        assert!(start_time(std::process::id() as i32).is_some_and(|t| t > 0));
        assert_eq!(parse_start_time("garbage"), None);
    }
}
