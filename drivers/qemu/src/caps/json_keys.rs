//! Key order of a JSON object inside a document. `serde_json::Value` sorts object keys;
//! the cache document keeps QEMU's order of CPU properties, so the prober reads that
//! order from the raw reply text with this small scanner.

/// Keys, in document order, of the object reached by following `path` (object member
/// names) from the top-level value of `text`. `None` when the path does not lead to an
/// object or the text is not well-formed JSON.
pub fn object_keys(text: &str, path: &[&str]) -> Option<Vec<String>> {
    let mut s = Scanner { b: text.as_bytes(), pos: 0, found: None };
    s.value(Some(path))?;
    s.found
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    found: Option<Vec<String>>,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.pos;
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'\\' => self.pos += 1,
                b'"' => {
                    let raw = std::str::from_utf8(self.b.get(start..self.pos)?).ok()?;
                    return serde_json::from_str(raw).ok();
                }
                _ => {}
            }
        }
        None
    }

    /// Scan one value; `path` is `Some(rest)` while on the way to the target object.
    fn value(&mut self, path: Option<&[&str]>) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                let target = path.is_some_and(<[&str]>::is_empty);
                let mut keys = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        let k = self.string()?;
                        self.ws();
                        if self.peek() != Some(b':') {
                            return None;
                        }
                        self.pos += 1;
                        let sub = match path {
                            Some([first, rest @ ..]) if *first == k => Some(rest),
                            _ => None,
                        };
                        if target {
                            keys.push(k);
                        }
                        self.value(sub)?;
                        self.ws();
                        match self.peek()? {
                            b',' => self.pos += 1,
                            b'}' => {
                                self.pos += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                if target {
                    self.found = Some(keys);
                }
            }
            b'[' => {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.value(None)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                self.string()?;
            }
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace() {
                        break;
                    }
                    self.pos += 1;
                }
            }
        }
        Some(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_document_order() {
        let t = r#"{"return": {"model": {"name": "x", "props": {"z": 1, "a": [true, {"q": "}"}], "m\"": false}}}, "id": 1}"#;
        assert_eq!(object_keys(t, &["return", "model", "props"]).unwrap(), vec!["z", "a", "m\""]);
        assert_eq!(object_keys(t, &["nope"]), None);
        assert_eq!(object_keys("{\"a\": ", &["a"]), None);
    }
}
