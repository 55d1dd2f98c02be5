//! `virDomainSendKey` (libvirt's `qemuDomainSendKey`): key codes of any codeset are
//! translated to QEMU's `qnum` numbers (`oxvirt_util::keycode`, keycodemapdb's facts)
//! and pressed together with QMP `send-key`, each as a `number` key value, with
//! `hold-time` when one is given.

use super::domobj::Expect;
use super::Driver;
use oxvirt::driver::check_flags;
use oxvirt::{DomainRef, Error, ErrorCode, ErrorDomain, Result};
use oxvirt_util::keycode;
use serde_json::{json, Value};

const D: ErrorDomain = ErrorDomain::Qemu;

/// The QMP arguments of `send-key` for `keycodes` of `codeset` (libvirt's
/// translation and `qemuMonitorJSONSendKey` checks and shape).
pub(crate) fn send_key_args(codeset: u32, holdtime: u32, keycodes: &[u32]) -> Result<Value> {
    let mut keys = Vec::with_capacity(keycodes.len());
    for &k in keycodes {
        let q = if codeset == keycode::QNUM {
            k
        } else {
            keycode::translate(codeset, keycode::QNUM, k).ok_or_else(|| {
                let set = keycode::CODESETS.get(codeset as usize).copied().unwrap_or("unknown");
                Error::new(ErrorCode::InternalError, D, format!("cannot translate keycode {k} of {set} codeset to qnum keycode"))
            })?
        };
        keys.push(q);
    }
    if let Some((i, k)) = keys.iter().enumerate().find(|(_, k)| **k > 0xffff) {
        return Err(Error::new(ErrorCode::OperationFailed, D, format!("keycode {i} is invalid: 0x{k:X}")));
    }
    let mut args = json!({ "keys": keys.iter().map(|k| json!({ "type": "number", "data": k })).collect::<Vec<_>>() });
    if holdtime > 0 {
        args["hold-time"] = json!(holdtime);
    }
    Ok(args)
}

/// `virDomainSendKey`.
pub fn send_key(drv: &Driver, d: &DomainRef, codeset: u32, holdtime: u32, keycodes: &[u32], flags: u32) -> Result<()> {
    check_flags(flags, 0, "qemuDomainSendKey", D)?;
    let args = send_key_args(codeset, holdtime, keycodes)?;
    drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("send-key", Some(args)))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_qnum_numbers() {
        // ctrl-alt-delete by Linux names' codes: 29, 56, 111 (delete is e0 53).
        let a = send_key_args(keycode::LINUX, 0, &[29, 56, 111]).unwrap();
        assert_eq!(
            a,
            json!({"keys": [{"type": "number", "data": 0x1d}, {"type": "number", "data": 0x38}, {"type": "number", "data": 0xd3}]})
        );
        let a = send_key_args(keycode::QNUM, 200, &[0x1e]).unwrap();
        assert_eq!(a, json!({"keys": [{"type": "number", "data": 0x1e}], "hold-time": 200}));
        let e = send_key_args(keycode::LINUX, 0, &[30, 9999]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InternalError);
        assert!(e.message.ends_with("cannot translate keycode 9999 of linux codeset to qnum keycode"), "{}", e.message);
        let e = send_key_args(keycode::QNUM, 0, &[1, 0x10000]).unwrap_err();
        assert_eq!(e.code, ErrorCode::OperationFailed);
        assert!(e.message.ends_with("keycode 1 is invalid: 0x10000"), "{}", e.message);
    }
}
