//! Fuzz every XML parser of oxvirt-conf: any input must give Ok or an error, never a
//! panic, and whatever parses must format to XML that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxvirt_conf::tool::{format, ToolOptions};

const KINDS: &[&str] = &["domain", "network", "networkport", "pool", "secret", "nwfilter", "interface", "nodedev", "snapshot", "capabilities"];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let kind = KINDS[sel as usize % KINDS.len()];
    let opts = ToolOptions { kind: kind.to_string(), ..Default::default() };
    if let Ok(out) = format(text, &opts) {
        assert!(format(&out, &opts).is_ok(), "canonical output of {kind} does not re-parse");
    }
});
