//! Secret commands (`secret-*`).

use super::*;
use crate::json;
use crate::parse::{b, d, s, CmdDef, CmdResult, Needs, OptDef, FILE, REQ_OPT};
use crate::table::Table;
use oxvirt::ListSecretsFlags;

const JSON: OptDef = b("json", "print machine-readable JSON (see docs/oxvirsh-json.md)");
const SECRET: OptDef = d("secret", "secret UUID");

macro_rules! cmd {
    ($name:expr, $help:expr, $opts:expr, $h:expr) => {
        CmdDef { name: $name, group: "secret", help: $help, opts: $opts, handler: $h, needs: Needs::Conn }
    };
}

/// Secret commands.
pub const CMDS: &[CmdDef] = &[
    cmd!(
        "secret-list",
        "list secrets",
        &[
            b("ephemeral", "list ephemeral secrets"),
            b("no-ephemeral", "list non-ephemeral secrets"),
            b("private", "list private secrets"),
            b("no-private", "list non-private secrets"),
            JSON,
        ],
        cmd_list
    ),
    cmd!("secret-define", "define or modify a secret from an XML file", &[FILE, b("validate", "validate the XML")], cmd_define),
    cmd!("secret-undefine", "undefine a secret", &[SECRET], cmd_undefine),
    cmd!(
        "secret-dumpxml",
        "secret attributes in XML",
        &[SECRET, s("xpath", REQ_OPT, "xpath expression"), b("wrap", "wrap xpath results")],
        cmd_dumpxml
    ),
    cmd!(
        "secret-set-value",
        "set a secret value",
        &[
            SECRET,
            s("file", REQ_OPT, "read value from file"),
            b("plain", "read the value as plain text"),
            b("interactive", "read value from the terminal"),
            s("base64", 0, "base64-encoded secret value")
        ],
        cmd_set_value
    ),
    cmd!("secret-get-value", "output a secret value", &[SECRET, b("plain", "get value without converting to base64")], cmd_get_value),
];

fn usage_str(t: i32) -> &'static str {
    match t {
        1 => "volume",
        2 => "ceph",
        3 => "iscsi",
        4 => "tls",
        5 => "vtpm",
        _ => "none",
    }
}

fn cmd_list(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let mut f = ListSecretsFlags::empty();
    for (o, b) in [
        ("ephemeral", ListSecretsFlags::EPHEMERAL),
        ("no-ephemeral", ListSecretsFlags::NO_EPHEMERAL),
        ("private", ListSecretsFlags::PRIVATE),
        ("no-private", ListSecretsFlags::NO_PRIVATE),
    ] {
        if cmd.has(o) {
            f |= b;
        }
    }
    let mut secrets = match conn.list_all_secrets(f) {
        Ok(s) => s,
        // virsh falls back to the old counting API, which such a driver lacks too.
        Err(e) if is_no_support(&e) && f.is_empty() => {
            return Err(ctl.fail("Failed to count secrets", count_fallback("virConnectNumOfSecrets")))
        }
        Err(e) if is_no_support(&e) => return Err(ctl.fail_msg("Filtering is not supported by this libvirt")),
        Err(e) => return Err(ctl.fail("Failed to list node secrets", e)),
    };
    secrets.sort_by_key(|s| s.uuid_string());
    if cmd.has("json") {
        let arr = secrets
            .iter()
            .map(|s| {
                json::obj(vec![
                    ("uuid", json::str(&s.uuid_string())),
                    ("usage_type", json::str(usage_str(s.usage_type()))),
                    ("usage_id", json::str(s.usage_id())),
                ])
            })
            .collect();
        ctl.print(&json::render(&json::Value::Array(arr)));
        return Ok(());
    }
    let mut t = Table::new(&["UUID", "Usage"]);
    for s in &secrets {
        let usage = if s.usage_type() != 0 { format!("{} {}", usage_str(s.usage_type()), s.usage_id()) } else { "Unused".to_string() };
        t.row(&[s.uuid_string(), usage]);
    }
    ctl.print_table(&t);
    Ok(())
}

fn cmd_define(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let file = req_str(ctl, cmd, "file")?;
    let xml = read_file(ctl, file)?;
    let s = conn
        .secret_define_xml(&xml, u32::from(cmd.has("validate")))
        .map_err(|e| ctl.fail(format!("Failed to set attributes from {file}"), e))?;
    ctl.extra(&format!("Secret {} created\n", s.uuid_string()));
    Ok(())
}

fn cmd_undefine(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let s = lookup_secret(ctl, &conn, cmd, "secret")?;
    let u = s.uuid_string();
    s.undefine().map_err(|e| ctl.fail(format!("Failed to delete secret {u}"), e))?;
    ctl.extra(&format!("Secret {u} deleted\n"));
    Ok(())
}

fn cmd_dumpxml(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let s = lookup_secret(ctl, &conn, cmd, "secret")?;
    let xml = s.xml_desc(0)?;
    ctl.print(&xml);
    Ok(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn b64_encode(data: &[u8]) -> String {
    oxvirt_util::base64::encode(data)
}

/// Base64 decoding as lenient as glib's `g_base64_decode` (which virsh uses): stops at
/// the first `=`, no group-length check (`oxvirt_util::base64::decode` is strict, for
/// files); None on a byte outside the alphabet.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|x| *x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn cmd_set_value(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let s = lookup_secret(ctl, &conn, cmd, "secret")?;
    let value = if let Some(v) = opt_str(ctl, cmd, "base64")? {
        b64_decode(v).ok_or_else(|| ctl.fail_msg("Invalid base64 data"))?
    } else if let Some(f) = opt_str(ctl, cmd, "file")? {
        let raw = std::fs::read(f).map_err(|e| ctl.fail_msg(format!("Failed to read {f}: {e}")))?;
        if cmd.has("plain") {
            raw
        } else {
            b64_decode(&String::from_utf8_lossy(&raw)).ok_or_else(|| ctl.fail_msg("Invalid base64 data"))?
        }
    } else {
        return Err(ctl.fail_msg("Input secret value is missing"));
    };
    s.set_value(&value, 0).map_err(|e| ctl.fail("Failed to set secret value", e))?;
    ctl.extra("Secret value set\n");
    Ok(())
}

fn cmd_get_value(ctl: &mut Ctl, cmd: &Cmd) -> CmdResult {
    let conn = ctl.conn()?;
    let s = lookup_secret(ctl, &conn, cmd, "secret")?;
    let v = s.value(0)?;
    if cmd.has("plain") {
        ctl.print(&String::from_utf8_lossy(&v));
    } else {
        ctl.print(&format!("{}\n", b64_encode(&v)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "abcd", "secret value"] {
            assert_eq!(b64_decode(&b64_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(b64_encode(b"abc"), "YWJj");
        assert_eq!(b64_encode(b"ab"), "YWI=");
        assert!(b64_decode("***").is_none());
    }
}
