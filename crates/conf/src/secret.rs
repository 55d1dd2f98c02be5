//! `<secret>` XML: typed model, parse and canonical format (libvirt's `secret_conf.c`
//! behaviour: `ephemeral`/`private` default to `no`, a missing UUID is generated,
//! the usage element depends on the usage type).

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;
use crate::xml::{self, El};
use oxvirt_util::uuid::{self, Uuid};
use roxmltree::Node;

/// What a secret is used for (`<usage type=...>`), with its usage ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretUsage {
    /// `type='none'`: no usage (not formatted).
    None,
    /// `type='volume'`: `<volume>PATH</volume>`.
    Volume(String),
    /// `type='ceph'`: `<name>NAME</name>`.
    Ceph(String),
    /// `type='iscsi'`: `<target>TARGET</target>`.
    Iscsi(String),
    /// `type='tls'`: `<name>NAME</name>`.
    Tls(String),
    /// `type='vtpm'`: `<name>NAME</name>`.
    Vtpm(String),
}

impl SecretUsage {
    /// The `VIR_SECRET_USAGE_TYPE_*` number: none 0, volume 1, ceph 2, iscsi 3, tls 4,
    /// vtpm 5.
    pub fn usage_type(&self) -> i32 {
        match self {
            SecretUsage::None => 0,
            SecretUsage::Volume(_) => 1,
            SecretUsage::Ceph(_) => 2,
            SecretUsage::Iscsi(_) => 3,
            SecretUsage::Tls(_) => 4,
            SecretUsage::Vtpm(_) => 5,
        }
    }

    /// The usage ID (volume path, ceph/tls/vtpm name, iSCSI target); empty for none.
    pub fn usage_id(&self) -> String {
        match self {
            SecretUsage::None => String::new(),
            SecretUsage::Volume(s)
            | SecretUsage::Ceph(s)
            | SecretUsage::Iscsi(s)
            | SecretUsage::Tls(s)
            | SecretUsage::Vtpm(s) => s.clone(),
        }
    }

    /// The `type` attribute value.
    pub fn type_name(&self) -> &'static str {
        match self {
            SecretUsage::None => "none",
            SecretUsage::Volume(_) => "volume",
            SecretUsage::Ceph(_) => "ceph",
            SecretUsage::Iscsi(_) => "iscsi",
            SecretUsage::Tls(_) => "tls",
            SecretUsage::Vtpm(_) => "vtpm",
        }
    }

    /// Build from a usage type number and ID (None for an unknown type).
    pub fn from_type(usage_type: i32, id: &str) -> Option<SecretUsage> {
        let id = id.to_string();
        Some(match usage_type {
            0 => SecretUsage::None,
            1 => SecretUsage::Volume(id),
            2 => SecretUsage::Ceph(id),
            3 => SecretUsage::Iscsi(id),
            4 => SecretUsage::Tls(id),
            5 => SecretUsage::Vtpm(id),
            _ => return None,
        })
    }
}

/// A parsed `<secret>` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDef {
    /// `ephemeral='yes'`: the value is kept in memory only.
    pub ephemeral: bool,
    /// `private='yes'`: the value cannot be read back through the API.
    pub private: bool,
    /// The secret's UUID (generated when the XML has none).
    pub uuid: Uuid,
    /// Free-form description.
    pub description: Option<String>,
    /// What the secret is for.
    pub usage: Option<SecretUsage>,
}

fn parse_yes_no(node: Node<'_, '_>, name: &str) -> Result<bool> {
    match node.attribute(name) {
        None | Some("") => Ok(false),
        Some("yes") => Ok(true),
        Some("no") => Ok(false),
        Some(_) => Err(ConfError::xml(format!("invalid value of '{name}'"))),
    }
}

impl SecretDef {
    /// Parse a `<secret>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let doc = xml::parse_root(text, "secret")?;
        Self::from_node(doc.root_element())
    }

    /// Parse from the `<secret>` element.
    pub fn from_node(node: Node<'_, '_>) -> Result<Self> {
        let ephemeral = parse_yes_no(node, "ephemeral")?;
        let private = parse_yes_no(node, "private")?;
        let uuid = match xml::child_string(node, "uuid") {
            None => uuid::generate(),
            Some(s) => {
                uuid::parse(&s).ok_or_else(|| ConfError::internal("malformed uuid element"))?
            }
        };
        let description = xml::child_string(node, "description");
        let usage = match xml::child(node, "usage") {
            None => None,
            Some(u) => Some(parse_usage(u)?),
        };
        Ok(SecretDef {
            ephemeral,
            private,
            uuid,
            description,
            usage,
        })
    }

    /// The canonical element tree.
    pub fn to_el(&self) -> El {
        let mut e = El::new("secret")
            .attr("ephemeral", xml::yes_no(self.ephemeral))
            .attr("private", xml::yes_no(self.private))
            .text_child("uuid", uuid::format(&self.uuid))
            .text_child_opt("description", self.description.as_deref());
        if let Some(u) = &self.usage {
            let child = match u {
                SecretUsage::None => None,
                SecretUsage::Volume(s) => Some(("volume", s)),
                SecretUsage::Ceph(s) | SecretUsage::Tls(s) | SecretUsage::Vtpm(s) => {
                    Some(("name", s))
                }
                SecretUsage::Iscsi(s) => Some(("target", s)),
            };
            if let Some((name, id)) = child {
                e.push(
                    El::new("usage")
                        .attr("type", u.type_name())
                        .text_child(name, id),
                );
            }
        }
        e
    }

    /// The canonical XML text.
    pub fn format(&self) -> String {
        self.to_el().to_xml()
    }
}

fn parse_usage(u: Node<'_, '_>) -> Result<SecretUsage> {
    let ty = match u.attribute("type") {
        None | Some("") => return Err(ConfError::xml("unknown secret usage type")),
        Some(t) => t,
    };
    let need = |child: &str, what: &str| -> Result<String> {
        xml::child_string(u, child).ok_or_else(|| {
            ConfError::internal(format!("{what} usage specified, but {child} is missing"))
        })
    };
    Ok(match ty {
        "none" => SecretUsage::None,
        "volume" => SecretUsage::Volume(xml::child_string(u, "volume").ok_or_else(|| {
            ConfError::internal("volume usage specified, but volume path is missing")
        })?),
        "ceph" => SecretUsage::Ceph(need("name", "Ceph")?),
        "iscsi" => SecretUsage::Iscsi(need("target", "iSCSI")?),
        "tls" => SecretUsage::Tls(need("name", "TLS")?),
        "vtpm" => SecretUsage::Vtpm(need("name", "vTPM")?),
        other => {
            return Err(ConfError::unsupported_config(format!(
                "unknown secret usage type {other}"
            )))
        }
    })
}

/// `xml format --kind secret`: parse and print the canonical form.
pub fn tool_format(text: &str, _opts: &ToolOptions) -> Result<String> {
    Ok(SecretDef::parse(text)?.format())
}
