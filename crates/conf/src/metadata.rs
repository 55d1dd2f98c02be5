//! `<metadata>`: the application-owned XML every domain (and network) may carry,
//! one child per XML namespace, and the element part of `virDomainGetMetadata` /
//! `virDomainSetMetadata` (libvirt's `virXMLNodeSanitizeNamespaces`,
//! `virXMLExtractNamespaceXML` and `virXMLInjectNamespace`).
//!
//! The stored form is sanitized as libvirt keeps it: only namespaced children, the
//! first per namespace URI, each declaring its own namespace, formatted the way
//! libxml2 dumps a node (double-quoted attributes; see [`crate::xml::libxml_dump`]).

use crate::domain::DomainDef;
use crate::error::{ConfError, Result};
use crate::xml::{self, El, XNode};
use roxmltree::Node;

/// `VIR_DOMAIN_METADATA_DESCRIPTION`.
pub const DESCRIPTION: i32 = 0;
/// `VIR_DOMAIN_METADATA_TITLE`.
pub const TITLE: i32 = 1;
/// `VIR_DOMAIN_METADATA_ELEMENT`.
pub const ELEMENT: i32 = 2;

/// A parsed `<metadata>` element, sanitized: children without a namespace are
/// dropped, as is every child after the first of its namespace.
pub fn from_node(node: Node<'_, '_>) -> El {
    let mut e = El::new("metadata");
    let mut seen: Vec<&str> = Vec::new();
    for c in xml::elements(node) {
        let Some(ns) = c.tag_name().namespace() else {
            continue;
        };
        if seen.contains(&ns) {
            continue;
        }
        seen.push(ns);
        let mut ce = El::from_node(c);
        // The copy must declare its own namespace even if an ancestor did.
        let decl = match c.lookup_prefix(ns).filter(|p| !p.is_empty()) {
            Some(p) => format!("xmlns:{p}"),
            None => "xmlns".to_string(),
        };
        if !ce.attrs.iter().any(|(k, _)| *k == decl) {
            ce.attrs.insert(0, (decl, ns.to_string()));
        }
        e.push(ce);
    }
    e
}

/// `<metadata>` ready to be placed in a libvirt-formatted document: the children as
/// libxml2 dumps them.
pub fn format(md: &El) -> El {
    let mut e = El::new("metadata");
    e.children = md
        .children
        .iter()
        .map(|c| match c {
            XNode::El(ch) => XNode::Raw(xml::libxml_dump(ch)),
            other => other.clone(),
        })
        .collect();
    e
}

/// The prefix of a qualified name (`""` when unprefixed).
fn prefix(name: &str) -> &str {
    name.split_once(':').map_or("", |(p, _)| p)
}

/// The namespace URI a sanitized child declares for its own name.
fn ns_of(e: &El) -> Option<&str> {
    let decl = match prefix(&e.name) {
        "" => "xmlns".to_string(),
        p => format!("xmlns:{p}"),
    };
    e.attrs.iter().find(|(k, _)| *k == decl).map(|(_, v)| v.as_str())
}

/// The child of namespace `uri`, without that namespace (its prefix dropped from
/// every element in it and its declaration removed), as libxml2 formats it; `None`
/// when there is none.
pub fn get(md: Option<&El>, uri: &str) -> Option<String> {
    let found = md?.children.iter().find_map(|c| match c {
        XNode::El(e) if ns_of(e) == Some(uri) => Some(e),
        _ => None,
    })?;
    let mut copy = found.clone();
    let p = prefix(&found.name).to_string();
    let decl = if p.is_empty() { "xmlns".to_string() } else { format!("xmlns:{p}") };
    copy.attrs.retain(|(k, v)| !(*k == decl && v == uri));
    if !p.is_empty() {
        strip_prefix(&mut copy, &format!("{p}:"));
    }
    Some(xml::libxml_dump(&copy))
}

fn strip_prefix(e: &mut El, p: &str) {
    if let Some(local) = e.name.strip_prefix(p) {
        e.name = local.to_string();
    }
    for c in &mut e.children {
        if let XNode::El(ch) = c {
            strip_prefix(ch, p);
        }
    }
}

/// Whether `key` is an XML NCName (a namespace prefix libxml2 accepts).
fn is_ncname(key: &str) -> bool {
    let mut chars = key.chars();
    let Some(first) = chars.next() else { return false };
    (first.is_alphabetic() || first == '_') && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Replace the child of namespace `uri` by `value` (an XML element put in that
/// namespace under prefix `key`), or remove it when `value` is `None`. An empty
/// `<metadata/>` stays, as in libvirt.
pub fn set(md: &mut Option<El>, value: Option<&str>, key: Option<&str>, uri: &str) -> Result<()> {
    let new = match value {
        Some(text) => {
            let doc =
                xml::parse_doc(text).map_err(|e| ConfError::Malformed(e.to_string().replacen("XML error: ", "(metadata_xml): ", 1)))?;
            let key = key.unwrap_or("");
            if !is_ncname(key) {
                return Err(ConfError::internal("failed to validate prefix for a new XML namespace"));
            }
            let mut root = inject(doc.root_element(), key);
            let at = root.attrs.iter().take_while(|(k, _)| k == "xmlns" || k.starts_with("xmlns:")).count();
            root.attrs.insert(at, (format!("xmlns:{key}"), uri.to_string()));
            Some(root)
        }
        None => None,
    };
    let md = md.get_or_insert_with(|| El::new("metadata"));
    md.children.retain(|c| !matches!(c, XNode::El(e) if ns_of(e) == Some(uri)));
    if let Some(n) = new {
        md.push(n);
    }
    Ok(())
}

/// `node` as an element tree where every element without a namespace is put under
/// prefix `key` (libvirt's `virXMLAddElementNamespace`).
fn inject(node: Node<'_, '_>, key: &str) -> El {
    let mut e = El::from_node(node);
    e.children.clear();
    if node.tag_name().namespace().is_none() {
        e.name = format!("{key}:{}", node.tag_name().name());
    }
    let has_el = node.children().any(|c| c.is_element());
    for c in node.children() {
        if c.is_element() {
            e.push(inject(c, key));
        } else if let Some(t) = c.text().filter(|_| c.is_text()) {
            if !has_el {
                e.children.push(XNode::Text(t.to_string()));
            } else if !t.trim().is_empty() {
                e.children.push(XNode::Text(t.trim().to_string()));
            }
        }
    }
    e
}

fn unknown_type(typ: i32) -> ConfError {
    ConfError::invalid_arg(format!("unknown metadata type '{typ}'"))
}

/// `virDomainGetMetadata` on one definition: the title, the description or the
/// element of namespace `uri` (`VIR_ERR_NO_DOMAIN_METADATA` when absent).
pub fn domain_get(def: &DomainDef, typ: i32, uri: Option<&str>) -> Result<String> {
    let found = match typ {
        DESCRIPTION => def.description.clone(),
        TITLE => def.title.clone(),
        ELEMENT => get(def.metadata.as_ref(), uri.unwrap_or("")),
        _ => return Err(unknown_type(typ)),
    };
    found.ok_or_else(|| ConfError::Invalid {
        code: oxvirt_util::ErrorCode::NoDomainMetadata,
        message: "Requested metadata element is not present".into(),
    })
}

/// `virDomainSetMetadata` on one definition; an empty or absent title or description
/// removes it.
pub fn domain_set(def: &mut DomainDef, typ: i32, value: Option<&str>, key: Option<&str>, uri: Option<&str>) -> Result<()> {
    let text = || value.filter(|v| !v.is_empty()).map(str::to_string);
    match typ {
        DESCRIPTION => def.description = text(),
        TITLE => def.title = text(),
        ELEMENT => set(&mut def.metadata, value, key, uri.unwrap_or(""))?,
        _ => return Err(unknown_type(typ)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> El {
        let doc = xml::parse_doc(text).expect("well-formed");
        from_node(doc.root_element())
    }

    #[test]
    fn sanitizing_keeps_the_first_child_per_namespace() {
        let md = parsed("<metadata xmlns:a='http://a/'><a:x>1</a:x><plain/><a:y/><b:z xmlns:b='http://b/' k='v'/></metadata>");
        let out: Vec<String> = format(&md).children.iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(out.len(), 2);
        assert_eq!(get(Some(&md), "http://a/").as_deref(), Some("<x>1</x>"));
        assert_eq!(get(Some(&md), "http://b/").as_deref(), Some("<z k=\"v\"/>"));
        assert_eq!(get(Some(&md), "http://c/"), None);
    }

    #[test]
    fn set_injects_the_namespace_and_replaces_the_old_child() {
        let mut md = None;
        set(&mut md, Some("<foo a=\"1\"><bar>text</bar><baz/></foo>"), Some("ex"), "http://example.org/").expect("accepted");
        let m = md.as_ref().expect("accepted");
        assert_eq!(
            xml::libxml_dump(&format(m)),
            "<metadata><ex:foo xmlns:ex=\"http://example.org/\" a=\"1\">\n  <ex:bar>text</ex:bar>\n  <ex:baz/>\n</ex:foo></metadata>"
        );
        assert_eq!(get(md.as_ref(), "http://example.org/").as_deref(), Some("<foo a=\"1\">\n  <bar>text</bar>\n  <baz/>\n</foo>"));
        // Elements already in another namespace keep it; its declaration comes first.
        set(&mut md, Some("<foo xmlns:o=\"http://other/\" o:at=\"2\"><o:x/><bar/></foo>"), Some("ex"), "http://example.org/")
            .expect("accepted");
        assert_eq!(md.as_ref().expect("metadata").children.len(), 1);
        assert_eq!(
            get(md.as_ref(), "http://example.org/").as_deref(),
            Some("<foo xmlns:o=\"http://other/\" o:at=\"2\">\n  <o:x/>\n  <bar/>\n</foo>")
        );
        set(&mut md, None, None, "http://example.org/").expect("accepted");
        assert_eq!(md.as_ref().expect("metadata").to_xml(), "<metadata/>\n");
    }

    #[test]
    fn bad_keys_and_documents_are_refused_as_libvirt_does() {
        let mut md = None;
        let e = set(&mut md, Some("<a/>"), Some("1x"), "http://x/").expect_err("refused");
        assert_eq!(e.to_string(), "failed to validate prefix for a new XML namespace");
        assert_eq!(e.code(), oxvirt_util::ErrorCode::InternalError);
        let e = set(&mut md, Some("<a"), Some("x"), "http://x/").expect_err("refused");
        assert!(e.to_string().starts_with("(metadata_xml): "), "{e}");
        assert!(md.is_none(), "a refused value changes nothing");
    }
}
