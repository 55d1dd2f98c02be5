//! XML plumbing shared by every model: parsing helpers over `roxmltree` and [`El`], a
//! small element tree that formats in libvirt's canonical style.
//!
//! Canonical style (libvirt's `virBuffer` + `virXMLFormatElement`): two-space indent,
//! attributes in single quotes, `<>&'"` escaped in both text and attributes, an element
//! with neither children nor text is self-closed, an element with only text is written
//! on one line.

use crate::error::{ConfError, Result};
use roxmltree::{Document, Node};

/// One XML node to format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XNode {
    /// An element.
    El(El),
    /// Character data (escaped when written).
    Text(String),
    /// Preformatted lines written verbatim, each indented to the child level. An empty
    /// string writes nothing but keeps the parent in `<a>`/`</a>` form (see
    /// [`El::keep_open`]).
    Raw(String),
}

/// An element under construction for output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct El {
    /// Qualified name as written (`prefix:local` when prefixed).
    pub name: String,
    /// Attributes in output order.
    pub attrs: Vec<(String, String)>,
    /// Children in output order.
    pub children: Vec<XNode>,
}

impl El {
    /// A new empty element.
    pub fn new(name: impl Into<String>) -> Self {
        El { name: name.into(), attrs: Vec::new(), children: Vec::new() }
    }

    /// Add an attribute.
    pub fn attr(mut self, k: impl Into<String>, v: impl ToString) -> Self {
        self.attrs.push((k.into(), v.to_string()));
        self
    }

    /// Add an attribute when the value is present.
    pub fn attr_opt<V: ToString>(mut self, k: &str, v: Option<V>) -> Self {
        if let Some(v) = v {
            self.attrs.push((k.to_string(), v.to_string()));
        }
        self
    }

    /// Add a child element.
    pub fn child(mut self, c: El) -> Self {
        self.children.push(XNode::El(c));
        self
    }

    /// Add a child element when present.
    pub fn child_opt(mut self, c: Option<El>) -> Self {
        if let Some(c) = c {
            self.children.push(XNode::El(c));
        }
        self
    }

    /// Add a child element only if it has attributes or children (libvirt's
    /// `virXMLFormatElement` drops empty elements).
    pub fn child_nonempty(mut self, c: El) -> Self {
        if !c.is_empty() {
            self.children.push(XNode::El(c));
        }
        self
    }

    /// Add `<name>text</name>`.
    pub fn text_child(self, name: &str, text: impl ToString) -> Self {
        self.child(El::new(name).text(text))
    }

    /// Add `<name>text</name>` when present.
    pub fn text_child_opt<V: ToString>(self, name: &str, text: Option<V>) -> Self {
        match text {
            Some(t) => self.text_child(name, t),
            None => self,
        }
    }

    /// Add character data.
    pub fn text(mut self, t: impl ToString) -> Self {
        self.children.push(XNode::Text(t.to_string()));
        self
    }

    /// Mutable push of a child element.
    pub fn push(&mut self, c: El) {
        self.children.push(XNode::El(c));
    }

    /// Mutable push of an attribute.
    pub fn push_attr(&mut self, k: impl Into<String>, v: impl ToString) {
        self.attrs.push((k.into(), v.to_string()));
    }

    /// Write the element as `<a ...>` and `</a>` on separate lines even when it has no
    /// children, as libvirt does for e.g. an empty network `<ip>`.
    pub fn keep_open(mut self) -> Self {
        self.children.push(XNode::Raw(String::new()));
        self
    }

    /// True when the element has no attributes and no children.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty() && self.children.is_empty()
    }

    /// Format with a trailing newline, starting at indent level 0.
    pub fn to_xml(&self) -> String {
        let mut s = String::with_capacity(256);
        self.write(&mut s, 0);
        s
    }

    /// Format into `out` at `level` (two spaces per level), ending with a newline.
    pub fn write(&self, out: &mut String, level: usize) {
        indent(out, level);
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("='");
            escape_into(out, v);
            out.push('\'');
        }
        if self.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push('>');
        let only_text = self.children.iter().all(|c| matches!(c, XNode::Text(_)));
        if only_text {
            for c in &self.children {
                if let XNode::Text(t) = c {
                    escape_into(out, t);
                }
            }
        } else {
            out.push('\n');
            for c in &self.children {
                match c {
                    XNode::El(e) => e.write(out, level + 1),
                    XNode::Text(t) => {
                        indent(out, level + 1);
                        escape_into(out, t);
                        out.push('\n');
                    }
                    XNode::Raw(r) => {
                        for line in r.lines() {
                            indent(out, level + 1);
                            out.push_str(line);
                            out.push('\n');
                        }
                    }
                }
            }
            indent(out, level);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }

    /// Copy a parsed subtree verbatim (names with their prefixes, attributes, text
    /// trimmed of layout whitespace). Namespace declarations on `node` are kept so the
    /// subtree stays self-contained, as libvirt does for `<metadata>` children.
    pub fn from_node(node: Node<'_, '_>) -> El {
        let mut e = El::new(qname(node));
        let parent_ns: Vec<(Option<&str>, &str)> =
            node.parent_element().map(|p| p.namespaces().map(|n| (n.name(), n.uri())).collect()).unwrap_or_default();
        for ns in node.namespaces() {
            if parent_ns.contains(&(ns.name(), ns.uri())) {
                continue;
            }
            match ns.name() {
                Some(p) => e.push_attr(format!("xmlns:{p}"), ns.uri()),
                None => e.push_attr("xmlns", ns.uri()),
            }
        }
        for a in node.attributes() {
            let name = match a.namespace().and_then(|u| node.lookup_prefix(u)) {
                Some(p) if !p.is_empty() => format!("{p}:{}", a.name()),
                _ => a.name().to_string(),
            };
            e.push_attr(name, a.value());
        }
        let has_el = node.children().any(|c| c.is_element());
        for c in node.children() {
            if c.is_element() {
                e.push(El::from_node(c));
            } else if c.is_text() {
                let t = c.text().unwrap_or("");
                if has_el {
                    if !t.trim().is_empty() {
                        e.children.push(XNode::Text(t.trim().to_string()));
                    }
                } else if !t.is_empty() {
                    e.children.push(XNode::Text(t.to_string()));
                }
            }
        }
        e
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Escape `<>&'"` the way libvirt's `virBufferEscapeString` does.
pub fn escape_into(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Escaped copy of `s`.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    escape_into(&mut o, s);
    o
}

/// The element name with its namespace prefix as written, if any.
pub fn qname(node: Node<'_, '_>) -> String {
    let tag = node.tag_name();
    match tag.namespace().and_then(|u| node.lookup_prefix(u)) {
        Some(p) if !p.is_empty() => format!("{p}:{}", tag.name()),
        _ => tag.name().to_string(),
    }
}

/// Parse a document, mapping syntax errors to `VIR_ERR_XML_DETAIL` with a location.
pub fn parse_doc(text: &str) -> Result<Document<'_>> {
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    Document::parse_with_options(text, opts).map_err(|e| ConfError::Malformed(format!("XML error: {e}")))
}

/// Parse and check the root element's name.
pub fn parse_root<'a>(text: &'a str, expected: &str) -> Result<Document<'a>> {
    let doc = parse_doc(text)?;
    let root = doc.root_element();
    if root.tag_name().name() != expected {
        return Err(ConfError::WrongRoot { found: root.tag_name().name().to_string(), expected: expected.to_string() });
    }
    Ok(doc)
}

/// First child element called `name` (no namespace match required).
pub fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace().is_none())
}

/// All child elements called `name`.
pub fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace().is_none())
}

/// All child elements.
pub fn elements<'a, 'i: 'a>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(|c| c.is_element())
}

/// Attribute value (no namespace).
pub fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name)
}

/// Attribute value as an owned string.
pub fn attr_s(node: Node<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_string)
}

/// Concatenated text of a node (all text children, untrimmed).
pub fn text_of(node: Node<'_, '_>) -> String {
    node.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect()
}

/// Text of the child element `name`, if present.
pub fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(text_of)
}

/// Text of a child element, trimmed; None when absent or blank.
pub fn child_text_trim(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|c| text_of(c).trim().to_string()).filter(|s| !s.is_empty())
}

/// Parse an unsigned integer attribute, naming it in the error.
pub fn attr_u64(node: Node<'_, '_>, name: &str) -> Result<Option<u64>> {
    match node.attribute(name) {
        None => Ok(None),
        Some(v) => parse_u64(v.trim())
            .map(Some)
            .ok_or_else(|| ConfError::xml(format!("invalid value '{v}' for attribute '{name}' of element '{}'", node.tag_name().name()))),
    }
}

/// Parse an unsigned integer accepting decimal, `0x` hex and leading-zero octal like
/// libvirt's `virStrToLong_ui`.
pub fn parse_u64(v: &str) -> Option<u64> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if v.len() > 1 && v.starts_with('0') {
        u64::from_str_radix(&v[1..], 8).ok()
    } else {
        v.parse().ok()
    }
}

/// Parse `yes`/`no` (also `on`/`off`), naming the attribute in the error.
pub fn attr_yes_no(node: Node<'_, '_>, name: &str) -> Result<Option<bool>> {
    match node.attribute(name) {
        None => Ok(None),
        Some("yes") | Some("on") => Ok(Some(true)),
        Some("no") | Some("off") => Ok(Some(false)),
        Some(v) => Err(ConfError::xml(format!("invalid value '{v}' for attribute '{name}' of element '{}'", node.tag_name().name()))),
    }
}

/// `yes`/`no` for output.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Scale a value with a libvirt unit (`b`, `KiB`, `M`, `GB`, ...) to bytes.
pub fn scale_to_bytes(value: u64, unit: Option<&str>) -> Result<u64> {
    let unit = unit.unwrap_or("b");
    let mult: u64 = match unit {
        "b" | "byte" | "bytes" => 1,
        "KB" => 1000,
        "k" | "K" | "KiB" => 1024,
        "MB" => 1000u64.pow(2),
        "M" | "MiB" | "m" => 1024u64.pow(2),
        "GB" => 1000u64.pow(3),
        "G" | "GiB" | "g" => 1024u64.pow(3),
        "TB" => 1000u64.pow(4),
        "T" | "TiB" | "t" => 1024u64.pow(4),
        "PB" => 1000u64.pow(5),
        "P" | "PiB" | "p" => 1024u64.pow(5),
        "EB" => 1000u64.pow(6),
        "E" | "EiB" | "e" => 1024u64.pow(6),
        other => return Err(ConfError::xml(format!("unknown suffix '{other}'"))),
    };
    value.checked_mul(mult).ok_or_else(|| ConfError::xml("value too large"))
}

/// XPath `string()` of a node: all descendant text, concatenated.
pub fn string_value(node: Node<'_, '_>) -> String {
    node.descendants().filter(|c| c.is_text()).filter_map(|c| c.text()).collect()
}

/// libvirt's `virXPathString("string(./name)")`: the string value of the first child
/// element `name`, or None when absent or empty.
pub fn child_string(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(string_value).filter(|s| !s.is_empty())
}

/// The error libvirt's `virXMLProp*` helpers report for a bad attribute value.
pub fn invalid_prop(node: Node<'_, '_>, name: &str, value: &str) -> ConfError {
    ConfError::xml(format!("Invalid value for attribute '{name}' in element '{}': '{value}'.", node.tag_name().name()))
}

/// libvirt's `virXMLPropTristateBool`: absent is None, `yes`/`no` only.
pub fn prop_tristate(node: Node<'_, '_>, name: &str) -> Result<Option<bool>> {
    match node.attribute(name) {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(v) => Err(invalid_prop(node, name, v)),
    }
}

/// libvirt's `virStrToLong_ui` with base 10 (`base == 10`) or auto-detected base
/// (`base == 0`): the whole string must be a number that fits in `u32`.
pub fn parse_uint(v: &str, base: u32) -> Option<u32> {
    let t = v.trim_start();
    let t = t.strip_prefix('+').unwrap_or(t);
    let n = if base == 0 { parse_u64(t)? } else { t.parse::<u64>().ok()? };
    u32::try_from(n).ok()
}

/// libvirt's `virXMLPropUInt`: absent is None; an unparsable value is
/// `VIR_ERR_XML_ERROR` naming the attribute and element.
pub fn prop_uint(node: Node<'_, '_>, name: &str, base: u32) -> Result<Option<u32>> {
    match node.attribute(name) {
        None => Ok(None),
        Some(v) => parse_uint(v, base).map(Some).ok_or_else(|| {
            ConfError::xml(format!(
                "Invalid value for attribute '{name}' in element '{}': '{v}'. Expected non-negative integer value",
                node.tag_name().name()
            ))
        }),
    }
}

/// Format `e` the way libxml2's `xmlNodeDump` does with formatting on (used by libvirt
/// for `<metadata>`): double-quoted attributes, two-space indent, mixed content kept
/// on one line. The result has no leading indent and no trailing newline.
pub fn libxml_dump(e: &El) -> String {
    let mut out = String::new();
    libxml_write(e, &mut out, 0, true);
    out
}

fn libxml_write(e: &El, out: &mut String, level: usize, format: bool) {
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        for ch in v.chars() {
            match ch {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '"' => out.push_str("&quot;"),
                '\n' => out.push_str("&#10;"),
                '\r' => out.push_str("&#13;"),
                '\t' => out.push_str("&#9;"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    // libxml2 only indents children when none of them is text.
    let format = format && e.children.iter().all(|c| matches!(c, XNode::El(_)));
    for c in &e.children {
        match c {
            XNode::El(ch) => {
                if format {
                    out.push('\n');
                    indent(out, level + 1);
                }
                libxml_write(ch, out, level + 1, format);
            }
            XNode::Text(t) => {
                for ch in t.chars() {
                    match ch {
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        '&' => out.push_str("&amp;"),
                        '\r' => out.push_str("&#13;"),
                        c => out.push(c),
                    }
                }
            }
            XNode::Raw(r) => out.push_str(r),
        }
    }
    if format {
        out.push('\n');
        indent(out, level);
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

/// Scale `value` by a libvirt unit suffix the way `virScaleInteger` does: no unit means
/// `default_scale`; `b`/`byte`/`bytes` (any case) mean 1; a single letter or `XiB`
/// means powers of 1024; `XB` means powers of 1000. Fails with `VIR_ERR_INVALID_ARG`
/// on an unknown suffix and `VIR_ERR_OVERFLOW` when the result exceeds `limit`.
pub fn scale_integer(value: u64, unit: Option<&str>, default_scale: u64, limit: u64) -> Result<u64> {
    let unit = unit.unwrap_or("");
    let scale = if unit.is_empty() {
        default_scale.max(1)
    } else if unit.eq_ignore_ascii_case("b") || unit.eq_ignore_ascii_case("byte") || unit.eq_ignore_ascii_case("bytes") {
        1
    } else {
        let mut chars = unit.chars();
        let first = chars.next().map(|c| c.to_ascii_lowercase());
        let rest = chars.as_str();
        let base: u64 = if rest.is_empty() || rest.eq_ignore_ascii_case("ib") {
            1024
        } else if rest.eq_ignore_ascii_case("b") {
            1000
        } else {
            return Err(ConfError::invalid_arg(format!("unknown suffix '{unit}'")));
        };
        let exp = match first {
            Some('k') => 1,
            Some('m') => 2,
            Some('g') => 3,
            Some('t') => 4,
            Some('p') => 5,
            Some('e') => 6,
            _ => return Err(ConfError::invalid_arg(format!("unknown suffix '{unit}'"))),
        };
        base.pow(exp)
    };
    if value != 0 && value > limit / scale {
        return Err(ConfError::Invalid { code: oxvirt_util::ErrorCode::Overflow, message: format!("value too large: {value}{unit}") });
    }
    Ok(value * scale)
}

/// Clean a file path like libvirt's `virFileSanitizePath`: collapse repeated `/`, drop
/// a trailing `/`, keep a leading `//`; URIs (`scheme://...`) are returned unchanged.
pub fn sanitize_path(path: &str) -> String {
    if let Some(i) = path.find("://") {
        if path.find('/').is_some_and(|j| j > i) {
            return path.to_string();
        }
    }
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    if b.len() >= 2 && b[0] == b'/' && b[1] == b'/' && b.get(2) != Some(&b'/') {
        out.push_str("//");
        rest = &path[2..];
    }
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '/' {
            out.push(c);
            continue;
        }
        while chars.peek() == Some(&'/') {
            chars.next();
        }
        if !out.is_empty() && chars.peek().is_none() {
            break;
        }
        out.push('/');
    }
    out
}

/// XPath `string(./name)` as libvirt's `virXPathString` returns it: the text of the
/// first child element `name` (all descendant text, untrimmed), `None` when absent or
/// empty.
pub fn xpath_string(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(descendant_text).filter(|s| !s.is_empty())
}

/// All descendant text of a node, concatenated (XPath `string(.)`).
pub fn descendant_text(node: Node<'_, '_>) -> String {
    node.descendants().filter(|c| c.is_text()).filter_map(|c| c.text()).collect()
}

/// Attribute value, `None` when absent (libvirt's `virXMLPropString`).
pub fn prop(node: Node<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_string)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn formats_canonically() {
        let e = El::new("domain")
            .attr("type", "test")
            .text_child("name", "a<b>'c'")
            .child(El::new("devices").child(El::new("disk").attr("x", "\"q\"")));
        assert_eq!(
            e.to_xml(),
            "<domain type='test'>\n  <name>a&lt;b&gt;&apos;c&apos;</name>\n  <devices>\n    <disk x='&quot;q&quot;'/>\n  </devices>\n</domain>\n"
        );
    }

    #[test]
    fn copies_foreign_subtree() {
        let doc = parse_doc("<metadata><app1:foo xmlns:app1='http://a/'>fooish</app1:foo></metadata>").unwrap();
        let n = doc.root_element().first_element_child().unwrap();
        assert_eq!(El::from_node(n).to_xml(), "<app1:foo xmlns:app1='http://a/'>fooish</app1:foo>\n");
    }

    #[test]
    fn malformed_is_xml_detail() {
        let e = parse_doc("<domain><name>").unwrap_err();
        assert_eq!(e.code(), oxvirt_util::ErrorCode::XmlDetail);
    }
}
