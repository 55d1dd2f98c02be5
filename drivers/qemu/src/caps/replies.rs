//! libvirt's QMP transcripts (`tests/qemucapabilitiesdata/*.replies`): a sequence of
//! JSON documents, each command (`{"execute": ...}`) followed by QEMU's reply. [`Replay`]
//! serves them to the prober as a [`Monitor`], checking that the prober sends exactly
//! the recorded commands and arguments, in order.

use super::probe::Monitor;
use crate::error::{QemuError, Result};
use serde_json::Value;
use std::collections::VecDeque;

/// One recorded exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The command as sent.
    pub request: Value,
    /// Raw text of the reply.
    pub reply: String,
}

/// Split a transcript into exchanges. Asynchronous events between a command and its
/// reply are skipped.
pub fn parse(text: &str) -> Result<Vec<Exchange>> {
    let mut out = Vec::new();
    let mut pending: Option<Value> = None;
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut start = 0;
    while let Some(item) = stream.next() {
        let v = item.map_err(|e| QemuError::Caps(format!("malformed QMP transcript: {e}")))?;
        let end = stream.byte_offset();
        let raw = text.get(start..end).unwrap_or("").trim().to_string();
        start = end;
        if v.get("execute").is_some() {
            if let Some(p) = pending.take() {
                return Err(QemuError::Caps(format!("QMP transcript has no reply to {p}")));
            }
            pending = Some(v);
        } else if v.get("event").is_some() {
            continue;
        } else {
            match pending.take() {
                Some(request) => out.push(Exchange { request, reply: raw }),
                None => return Err(QemuError::Caps("QMP transcript has a reply without a command".into())),
            }
        }
    }
    if let Some(p) = pending {
        return Err(QemuError::Caps(format!("QMP transcript has no reply to {p}")));
    }
    Ok(out)
}

/// A [`Monitor`] answering from a transcript.
#[derive(Debug, Default)]
pub struct Replay {
    queue: VecDeque<Exchange>,
}

impl Replay {
    /// A replay of `exchanges`.
    pub fn new(exchanges: Vec<Exchange>) -> Replay {
        Replay { queue: exchanges.into() }
    }

    /// Exchanges not used yet.
    pub fn remaining(&self) -> usize {
        self.queue.len()
    }
}

impl Monitor for Replay {
    fn execute_raw(&mut self, command: &str, arguments: Option<Value>) -> Result<String> {
        let Some(ex) = self.queue.pop_front() else {
            return Err(QemuError::Caps(format!("QMP transcript ended before command '{command}'")));
        };
        let expected = ex.request.get("execute").and_then(Value::as_str).unwrap_or("");
        if expected != command {
            return Err(QemuError::Caps(format!("QMP transcript expects command '{expected}' but got '{command}'")));
        }
        let want = ex.request.get("arguments").cloned().unwrap_or(Value::Null);
        let got = arguments.unwrap_or(Value::Null);
        if want != got {
            return Err(QemuError::Caps(format!("QMP transcript expects arguments {want} to '{command}' but got {got}")));
        }
        Ok(ex.reply)
    }
}

/// libvirt's test suite fakes the microcode version from the arch and version parts of
/// the transcript's name so that it is reproducible.
pub fn fake_microcode_version(arch: &str, version: &str) -> u64 {
    let sum = |s: &str| s.bytes().map(u64::from).sum::<u64>();
    sum(arch) * 100_000 + sum(version)
}

/// The release a transcript's QEMU version belongs to, as libvirt names its test files
/// (`caps_RELEASE.ARCH.replies`): the version itself for a release, the upcoming
/// release for a development snapshot (micro >= 50; QEMU makes three releases a year,
/// `X.0`, `X.1` and `X.2`, so `7.2.50` leads to `8.0.0`).
pub fn release_label(version: u64) -> String {
    let (major, minor, micro) = (version / 1_000_000, version / 1_000 % 1_000, version % 1_000);
    if micro < 50 {
        format!("{major}.{minor}.{micro}")
    } else if minor < 2 {
        format!("{major}.{}.0", minor + 1)
    } else {
        format!("{}.0.0", major + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_labels() {
        assert_eq!(release_label(7_002_050), "8.0.0");
        assert_eq!(release_label(6_001_050), "6.2.0");
        assert_eq!(release_label(6_002_092), "7.0.0");
        assert_eq!(release_label(5_002_000), "5.2.0");
    }

    #[test]
    fn fake_microcode_matches_libvirts_numbers() {
        assert_eq!(fake_microcode_version("x86_64", "8.0.0"), 43_100_244);
    }
}
