//! Transport behaviour: concurrent calls, connection errors, close.

#![allow(clippy::unwrap_used)]

use crate::daemon::Daemon;
use oxvirt::*;

#[test]
fn concurrent_calls_from_many_threads() {
    let d = Daemon::start();
    let c = d.open();
    std::thread::scope(|s| {
        for t in 0..8 {
            let c = c.clone();
            s.spawn(move || {
                for i in 0..50 {
                    if (t + i) % 2 == 0 {
                        assert_eq!(c.domain_lookup_by_name("test").unwrap().id(), Some(1));
                    } else {
                        assert_eq!(c.domain_lookup_by_name("nope").unwrap_err().code, ErrorCode::NoDomain);
                    }
                }
            });
        }
    });
}

#[test]
fn missing_socket_is_a_system_error() {
    oxvirt_driver_remote::register();
    let e = Connect::open(Some("test+unix:///default?socket=/nonexistent/oxvirt-sock")).unwrap_err();
    assert_eq!((e.code, e.domain), (ErrorCode::SystemError, ErrorDomain::Rpc));
    assert_eq!(e.message, "Failed to connect socket to '/nonexistent/oxvirt-sock': No such file or directory");
    // No CA certificate in the named pkipath: refused before any connection.
    let e = Connect::open(Some("test+tls://host.invalid/default?pkipath=/nonexistent")).unwrap_err();
    assert_eq!((e.code, e.domain), (ErrorCode::SystemError, ErrorDomain::Rpc));
    assert_eq!(e.message, "Cannot read CA certificate '/nonexistent/cacert.pem': No such file or directory");
    let e = Connect::open(Some("test+bogus:///default")).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
}

#[test]
fn unknown_driver_error_from_libvirtd() {
    let d = Daemon::start();
    oxvirt_driver_remote::register();
    let e = Connect::open(Some(&format!("bogus+unix:///system?socket={}", d.socket()))).unwrap_err();
    assert_eq!((e.code, e.domain), (ErrorCode::NoConnect, ErrorDomain::None));
    assert_eq!(e.message, "no connection driver available for bogus:///system");
}

#[test]
fn ext_transport_through_nc() {
    // `ext` runs a command whose stdin/stdout is the connection; a tiny script
    // bridging to the socket stands in for a tunnel.
    let d = Daemon::start();
    let Some(bridge) = ["/usr/bin/socat", "/bin/nc", "/usr/bin/nc"].iter().find(|p| std::path::Path::new(p).exists()) else {
        panic!("neither socat nor nc is installed");
    };
    let script = std::env::temp_dir().join(format!("oxvirt-ext-{}.sh", std::process::id()));
    let body = if bridge.ends_with("socat") {
        format!("#!/bin/sh\nexec {bridge} - UNIX-CONNECT:{}\n", d.socket())
    } else {
        format!("#!/bin/sh\nexec {bridge} -U {}\n", d.socket())
    };
    std::fs::write(&script, body).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    oxvirt_driver_remote::register();
    let c = Connect::open(Some(&format!("test+ext:///default?command={}", script.display()))).unwrap();
    assert_eq!(c.list_all_domains(ListDomainsFlags::empty()).unwrap().len(), 1);
    drop(c);
    let _ = std::fs::remove_file(&script);
}

#[test]
fn ssh_transport_with_a_stand_in_ssh() {
    // `?command=` replaces the ssh binary; the stand-in records its arguments and
    // bridges to the daemon's socket the way `ssh host nc -U socket` would.
    let d = Daemon::start();
    let bridge = ["/usr/bin/socat", "/bin/nc", "/usr/bin/nc"].iter().find(|p| std::path::Path::new(p).exists()).unwrap();
    let dir = std::env::temp_dir().join(format!("oxvirt-ssh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("ssh");
    let args_file = dir.join("args");
    let exec = if bridge.ends_with("socat") {
        format!("exec {bridge} - UNIX-CONNECT:{}", d.socket())
    } else {
        format!("exec {bridge} -U {}", d.socket())
    };
    std::fs::write(&script, format!("#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > {}\n{exec}\n", args_file.display())).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    oxvirt_driver_remote::register();
    let uri = format!("test+ssh://admin@example.invalid:2222/default?command={}&socket=/run/x-sock&no_tty=1", script.display());
    let c = Connect::open(Some(&uri)).unwrap();
    assert_eq!(c.domain_lookup_by_name("test").unwrap().id(), Some(1));
    drop(c);
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args[..10], ["-p", "2222", "-l", "admin", "-T", "-e", "none", "-o", "BatchMode=yes", "--"]);
    assert_eq!(args[10], "example.invalid");
    assert!(
        args[11].starts_with("sh -c ")
            && args[11].contains(" -U ")
            && args[11].contains("/run/x-sock")
            && !args[11].contains("virt-ssh-helper"),
        "{}",
        args[11]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
