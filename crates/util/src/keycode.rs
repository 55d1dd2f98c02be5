//! Key codes of libvirt's codesets (`virKeycodeSet`) and their names, for
//! `virDomainSendKey` (libvirt's `virkeycode.c`).
//!
//! The facts come from keycodemapdb's `keymaps.csv` (libvirt 9.0,
//! `src/keycodemapdb`), reduced by `data/keymaps-tsv.py` to `data/keymaps.tsv`: one
//! row per Linux key code with its names and its codes in the other sets. As in
//! keycodemapdb, the Linux code is the master: each codeset is a column of that table
//! (a key without a code in a set has the set's code of `KEY_RESERVED`, else 0),
//! translation finds the first row holding the value in the source column, and three
//! sets are derived from AT set 1: `xt` is set 1 itself, `xt_kbd` encodes an `0xe0`
//! prefix as `0x100`, QEMU's `qnum` as `0x80`.

use std::sync::OnceLock;

/// `virKeycodeSet`, by number.
pub const CODESETS: [&str; 10] = ["linux", "xt", "atset1", "atset2", "atset3", "os_x", "xt_kbd", "usb", "win32", "qnum"];
/// `VIR_KEYCODE_SET_LINUX`.
pub const LINUX: u32 = 0;
/// `VIR_KEYCODE_SET_QNUM`.
pub const QNUM: u32 = 9;

const TSV: &str = include_str!("../data/keymaps.tsv");

/// One key: its code in every codeset (by `virKeycodeSet` number) and its names.
struct Key {
    codes: [Option<u32>; 10],
    names: [Option<&'static str>; 3],
}

/// The table, parsed once.
fn table() -> &'static [Key] {
    static T: OnceLock<Vec<Key>> = OnceLock::new();
    T.get_or_init(|| {
        let mut keys = Vec::new();
        for line in TSV.lines().skip(1) {
            let f: Vec<&'static str> = line.split('\t').collect();
            let cell = |i: usize| f.get(i).copied().filter(|s| !s.is_empty());
            let num = |i: usize| cell(i).and_then(|s| s.parse::<u32>().ok());
            let Some(linux) = num(1) else { continue };
            let at1 = num(4);
            // Set 1 with an 0xe0 prefix, re-encoded.
            let derive = |high: u32| at1.map(|a| if a > 0x7f { high | (a & 0x7f) } else { a });
            keys.push(Key {
                codes: [Some(linux), at1, at1, num(5), num(6), num(3), derive(0x100), num(7), num(9), derive(0x80)],
                names: [cell(0), cell(2), cell(8)],
            });
        }
        keys
    })
}

/// The code of row `k` in `set`, with keycodemapdb's default for missing cells.
fn code(keys: &[Key], k: &Key, set: usize) -> u32 {
    k.codes[set].or_else(|| keys.first().and_then(|r| r.codes[set])).unwrap_or(0)
}

/// `virKeycodeValueFromString`: the code of key `name` in `codeset`; only `linux`,
/// `os_x` and `win32` have names.
pub fn from_name(codeset: u32, name: &str) -> Option<u32> {
    let slot = match codeset {
        0 => 0,
        5 => 1,
        8 => 2,
        _ => return None,
    };
    let keys = table();
    keys.iter().find(|k| k.names[slot] == Some(name)).map(|k| code(keys, k, codeset as usize))
}

/// `virKeycodeValueTranslate`: `value` of codeset `from` in codeset `to`.
pub fn translate(from: u32, to: u32, value: u32) -> Option<u32> {
    let (from, to) = (usize::try_from(from).ok()?, usize::try_from(to).ok()?);
    if from >= CODESETS.len() || to >= CODESETS.len() {
        return None;
    }
    let keys = table();
    keys.iter().find(|k| code(keys, k, from) == value).map(|k| code(keys, k, to))
}

/// `virKeycodeSetTypeFromString`.
pub fn codeset_from_name(name: &str) -> Option<u32> {
    CODESETS.iter().position(|n| *n == name).and_then(|i| u32::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_translations_follow_keycodemapdb() {
        assert_eq!(from_name(LINUX, "KEY_A"), Some(30));
        assert_eq!(from_name(LINUX, "KEY_LEFTCTRL"), Some(29));
        assert_eq!(from_name(5, "ANSI_A"), Some(0));
        assert_eq!(from_name(8, "VK_RETURN"), Some(0x0d));
        assert_eq!(from_name(QNUM, "KEY_A"), None);
        assert_eq!(from_name(LINUX, "KEY_NOPE"), None);
        // Linux → qnum: plain set-1 codes and 0xe0-prefixed ones.
        assert_eq!(translate(LINUX, QNUM, 30), Some(0x1e));
        assert_eq!(translate(LINUX, QNUM, 96), Some(0x9c)); // KEY_KPENTER, e0 1c
        assert_eq!(translate(LINUX, QNUM, 97), Some(0x9d)); // KEY_RIGHTCTRL, e0 1d
        assert_eq!(translate(LINUX, 6, 97), Some(0x11d)); // xt_kbd
        assert_eq!(translate(2, QNUM, 0xe01c), Some(0x9c)); // atset1
        assert_eq!(translate(1, QNUM, 0x1e), Some(0x1e)); // xt = set 1
        assert_eq!(translate(7, QNUM, 4), Some(0x1e)); // usb 'a'
        assert_eq!(translate(QNUM, LINUX, 0x1e), Some(30));
        assert_eq!(translate(LINUX, QNUM, 0xffff), None);
        assert_eq!(translate(10, QNUM, 1), None);
        assert_eq!(codeset_from_name("os_x"), Some(5));
        assert_eq!(codeset_from_name("osx"), None);
    }
}
