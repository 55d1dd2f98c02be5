//! Offline entry points behind `oxvirsh qemu ...` (the corpus's `qemu argv`,
//! `qemu caps-from-replies`, `qemu host-capabilities` families) and
//! `oxvirsh xml format --driver qemu`.

use crate::error::{QemuError, Result};

/// Run `oxvirsh qemu <args>`; returns the text to print.
pub fn run(args: &[String]) -> Result<String> {
    match args.first().map(String::as_str) {
        Some(other) => Err(QemuError::Unsupported(format!("qemu {other}: not implemented yet"))),
        None => Err(QemuError::Unsupported("usage: qemu argv|caps-from-replies|host-capabilities [OPTIONS] FILE".into())),
    }
}
