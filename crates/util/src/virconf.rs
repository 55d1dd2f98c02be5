//! Parser for libvirt's configuration-file syntax (`libvirtd.conf`, `libvirt.conf`,
//! `qemu.conf`): a sequence of `name = value` entries where a value is an integer, a
//! string in double or single quotes (or triple double quotes, which may span lines), or
//! a `[ ... ]` list of values. `#` starts a comment that runs to the end of the line;
//! entries end at a newline or `;`. Later entries override earlier ones with the same
//! name.

use std::fmt;

/// One configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfValue {
    /// An integer (`max_clients = 5000`).
    Int(i64),
    /// A string (`unix_sock_dir = "/run/libvirt"`).
    Str(String),
    /// A list (`tls_allowed_dn_list = ["DN1", "DN2"]`).
    List(Vec<ConfValue>),
}

impl ConfValue {
    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ConfValue::Int(_) => "integer",
            ConfValue::Str(_) => "string",
            ConfValue::List(_) => "list",
        }
    }
}

/// A syntax error, with the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration file syntax error: {file}:{line}: {what}")]
pub struct ConfError {
    /// The file name given to [`VirConf::parse`].
    pub file: String,
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

/// A parsed configuration file: the entries in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirConf {
    entries: Vec<(String, ConfValue)>,
}

impl VirConf {
    /// Parse `text`; `file` only labels errors.
    pub fn parse(file: &str, text: &str) -> Result<VirConf, ConfError> {
        let mut p = Parser { s: text.as_bytes(), pos: 0, line: 1, file };
        let mut entries = Vec::new();
        loop {
            p.skip_blank_and_comments(true);
            if p.at_end() {
                break;
            }
            if p.peek() == Some(b';') {
                p.pos += 1;
                continue;
            }
            let name = p.name()?;
            p.skip_blank_and_comments(false);
            if p.peek() != Some(b'=') {
                return Err(p.err(format!("expecting '=' after '{name}'")));
            }
            p.pos += 1;
            p.skip_blank_and_comments(false);
            let value = p.value()?;
            p.skip_blank_and_comments(false);
            match p.peek() {
                None => {}
                Some(b'\n') => {
                    p.pos += 1;
                    p.line += 1;
                }
                Some(b';') => p.pos += 1,
                Some(c) => return Err(p.err(format!("expecting a separator, got '{}'", c as char))),
            }
            entries.push((name, value));
        }
        Ok(VirConf { entries })
    }

    /// The value of `name` (the last entry wins).
    pub fn get(&self, name: &str) -> Option<&ConfValue> {
        self.entries.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Every entry in file order.
    pub fn entries(&self) -> &[(String, ConfValue)] {
        &self.entries
    }

    /// `name` as an integer; `Err` names the key when it has another type.
    pub fn get_int(&self, name: &str) -> Result<Option<i64>, TypeError> {
        match self.get(name) {
            None => Ok(None),
            Some(ConfValue::Int(i)) => Ok(Some(*i)),
            Some(v) => Err(TypeError { key: name.to_string(), expected: "integer", found: v.type_name() }),
        }
    }

    /// `name` as a string.
    pub fn get_str(&self, name: &str) -> Result<Option<&str>, TypeError> {
        match self.get(name) {
            None => Ok(None),
            Some(ConfValue::Str(s)) => Ok(Some(s)),
            Some(v) => Err(TypeError { key: name.to_string(), expected: "string", found: v.type_name() }),
        }
    }

    /// `name` as a list of strings; a single string counts as a one-element list.
    pub fn get_str_list(&self, name: &str) -> Result<Option<Vec<String>>, TypeError> {
        match self.get(name) {
            None => Ok(None),
            Some(ConfValue::Str(s)) => Ok(Some(vec![s.clone()])),
            Some(ConfValue::List(items)) => items
                .iter()
                .map(|i| match i {
                    ConfValue::Str(s) => Ok(s.clone()),
                    other => Err(TypeError { key: name.to_string(), expected: "string list", found: other.type_name() }),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(TypeError { key: name.to_string(), expected: "string list", found: v.type_name() }),
        }
    }
}

/// A key whose value has the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key '{key}' must be a {expected}, not a {found}")]
pub struct TypeError {
    /// The key.
    pub key: String,
    /// The expected type.
    pub expected: &'static str,
    /// The type found.
    pub found: &'static str,
}

impl fmt::Display for ConfValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfValue::Int(i) => write!(f, "{i}"),
            ConfValue::Str(s) => write!(f, "\"{s}\""),
            ConfValue::List(items) => {
                f.write_str("[ ")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(" ]")
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
    file: &'a str,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn err(&self, what: String) -> ConfError {
        ConfError { file: self.file.to_string(), line: self.line, what }
    }

    /// Skip spaces, tabs, carriage returns and comments; newlines too if `newlines`.
    fn skip_blank_and_comments(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' if newlines => {
                    self.pos += 1;
                    self.line += 1;
                }
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn name(&mut self) -> Result<String, ConfError> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.pos += 1,
            _ => return Err(self.err("expecting a name".to_string())),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn value(&mut self) -> Result<ConfValue, ConfError> {
        match self.peek() {
            Some(b'"') | Some(b'\'') => self.string().map(ConfValue::Str),
            Some(b'[') => self.list(),
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => self.int(),
            Some(c) => Err(self.err(format!("expecting a value, got '{}'", c as char))),
            None => Err(self.err("expecting a value".to_string())),
        }
    }

    fn int(&mut self) -> Result<ConfValue, ConfError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-') | Some(b'+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        text.parse::<i64>().map(ConfValue::Int).map_err(|_| self.err(format!("invalid integer '{text}'")))
    }

    fn string(&mut self) -> Result<String, ConfError> {
        let triple = self.s[self.pos..].starts_with(b"\"\"\"");
        if triple {
            self.pos += 3;
            let start = self.pos;
            loop {
                if self.at_end() {
                    return Err(self.err("unterminated string".to_string()));
                }
                if self.s[self.pos..].starts_with(b"\"\"\"") {
                    let v = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                    self.pos += 3;
                    return Ok(v);
                }
                if self.s[self.pos] == b'\n' {
                    self.line += 1;
                }
                self.pos += 1;
            }
        }
        let quote = self.s[self.pos];
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == quote {
                let v = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                self.pos += 1;
                return Ok(v);
            }
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
        Err(self.err("unterminated string".to_string()))
    }

    fn list(&mut self) -> Result<ConfValue, ConfError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_blank_and_comments(true);
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(ConfValue::List(items));
                }
                None => return Err(self.err("unterminated list".to_string())),
                _ => {}
            }
            items.push(self.value()?);
            self.skip_blank_and_comments(true);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                _ => return Err(self.err("expecting ',' or ']' in a list".to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_value() {
        let text = r#"
# a comment
max_clients = 5000   # trailing comment
unix_sock_dir = "/tmp/x"
single = 'quoted'
neg = -1
list = [ "a", "b",   # comment in a list
         "c" ]
empty = []
a = 1; b = 2
multi = """line1
line2"""
"#;
        let c = VirConf::parse("t.conf", text).expect("parses");
        assert_eq!(c.get_int("max_clients"), Ok(Some(5000)));
        assert_eq!(c.get_str("unix_sock_dir"), Ok(Some("/tmp/x")));
        assert_eq!(c.get_str("single"), Ok(Some("quoted")));
        assert_eq!(c.get_int("neg"), Ok(Some(-1)));
        assert_eq!(c.get_str_list("list"), Ok(Some(vec!["a".into(), "b".into(), "c".into()])));
        assert_eq!(c.get("empty"), Some(&ConfValue::List(vec![])));
        assert_eq!(c.get_int("a"), Ok(Some(1)));
        assert_eq!(c.get_int("b"), Ok(Some(2)));
        assert_eq!(c.get_str("multi"), Ok(Some("line1\nline2")));
        assert_eq!(c.get("missing"), None);
    }

    #[test]
    fn last_entry_wins() {
        let c = VirConf::parse("t", "x = 1\nx = 2\n").expect("parses");
        assert_eq!(c.get_int("x"), Ok(Some(2)));
        assert_eq!(c.entries().len(), 2);
    }

    #[test]
    fn type_errors_name_the_key() {
        let c = VirConf::parse("t", "x = \"s\"").expect("parses");
        let e = c.get_int("x").expect_err("wrong type");
        assert_eq!(e.to_string(), "config key 'x' must be a integer, not a string");
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        for (text, line) in
            [("a = 1\nb 2\n", 2), ("a = \"x\n", 1), ("a = [1, 2\n", 2), ("= 3", 1), ("a = 1 2", 1), ("a = 99999999999999999999", 1)]
        {
            let e = VirConf::parse("f.conf", text).expect_err(text);
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().starts_with("configuration file syntax error: f.conf:"), "{e}");
        }
    }

    #[test]
    fn the_shipped_libvirtd_conf_shape_parses() {
        let text = "#listen_tls = 0\nunix_sock_group = \"libvirt\"\nunix_sock_ro_perms = \"0777\"\nlog_outputs=\"3:syslog:libvirtd\"\ntls_allowed_dn_list = [\"DN1\", \"DN2\"]\nkeepalive_interval = 5\n";
        let c = VirConf::parse("libvirtd.conf", text).expect("parses");
        assert_eq!(c.get_str("unix_sock_ro_perms"), Ok(Some("0777")));
        assert_eq!(c.get_str("log_outputs"), Ok(Some("3:syslog:libvirtd")));
        assert_eq!(c.get_int("keepalive_interval"), Ok(Some(5)));
        assert_eq!(c.get("listen_tls"), None);
    }
}
