//! Readers for the reference tables in `data/*.tsv` (protocol facts extracted from
//! libvirt 9.0's `.x` files).

use std::collections::HashMap;
use std::path::PathBuf;

/// `crates/rpc/data/<name>`.
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join(name)
}

/// Rows of a TSV file as column-name → value maps; `#` lines are comments and the
/// first other line is the header.
pub fn rows(name: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(data_path(name)).unwrap();
    let mut header: Option<Vec<String>> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<String> = line.split('\t').map(str::to_string).collect();
        match &header {
            None => header = Some(cols),
            Some(h) => out.push(h.iter().cloned().zip(cols.into_iter().chain(std::iter::repeat(String::new()))).collect()),
        }
    }
    out
}

/// A `name:type; name:type` field list.
pub fn fields(list: &str) -> Vec<(String, String)> {
    list.split(';')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let (n, t) = f.split_once(':').unwrap();
            (n.to_string(), t.to_string())
        })
        .collect()
}

/// One procedure row.
#[derive(Debug, Clone)]
pub struct Proc {
    pub num: i32,
    pub name: String,
    pub kind: String,
    pub args_struct: String,
    pub args: Vec<(String, String)>,
    pub ret_struct: String,
    pub ret: Vec<(String, String)>,
    pub msg_struct: String,
    pub msg: Vec<(String, String)>,
    pub priority: String,
    pub acl: String,
    pub aclfilter: String,
    pub stream: String,
    pub sparseflag: String,
}

/// The procedures of `remote_procs.tsv`, `qemu_procs.tsv`, ...
pub fn procs(file: &str) -> Vec<Proc> {
    rows(file)
        .into_iter()
        .map(|r| {
            let g = |k: &str| r.get(k).cloned().unwrap_or_default();
            let s = |k: &str| {
                let v = g(k);
                if v == "-" || v.is_empty() {
                    "void".to_string()
                } else {
                    v
                }
            };
            Proc {
                num: g("num").parse().unwrap(),
                name: g("name"),
                kind: g("kind"),
                args_struct: s("args_struct"),
                args: fields(&g("args")),
                ret_struct: s("ret_struct"),
                ret: fields(&g("ret")),
                msg_struct: s("msg_struct"),
                msg: fields(&g("msg")),
                priority: g("priority"),
                acl: g("acl"),
                aclfilter: g("aclfilter"),
                stream: g("stream"),
                sparseflag: g("sparseflag"),
            }
        })
        .collect()
}

/// One row of `remote_types.tsv`.
#[derive(Debug, Clone)]
pub struct TypeRow {
    pub file: String,
    pub kind: String,
    pub name: String,
    pub definition: String,
}

pub fn types() -> Vec<TypeRow> {
    rows("remote_types.tsv")
        .into_iter()
        .map(|r| TypeRow { file: r["file"].clone(), kind: r["kind"].clone(), name: r["name"].clone(), definition: r["definition"].clone() })
        .collect()
}

/// `(file, name, value, expr)` of `protocol_constants.tsv`.
pub fn constants() -> Vec<(String, String, u64, String)> {
    rows("protocol_constants.tsv")
        .into_iter()
        .map(|r| (r["file"].clone(), r["name"].clone(), r["value"].parse().unwrap(), r["expr"].clone()))
        .collect()
}

/// Enum members `NAME=value; ...`.
pub fn enum_members(def: &str) -> Vec<(String, i32)> {
    def.split(';')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let (n, v) = m.split_once('=').unwrap();
            (n.to_string(), v.parse().unwrap())
        })
        .collect()
}
