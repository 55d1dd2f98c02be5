//! The generator of `src/consts.rs` and `src/proto/{virnet,remote,qemu,lxc,admin}.rs`
//! from the reference tables in `data/`. Its output is checked in; the test below
//! fails when a checked-in file differs from what the tables produce, and
//! `OXVIRT_REGENERATE=1` rewrites the files instead.

use super::tsv::{self, Proc, TypeRow};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

const STRING_MAX: u32 = 4_194_304;

/// File descriptor use per procedure (protocol brief §8; not an annotation of the .x).
fn fds(program: &str, num: i32) -> &'static str {
    match (program, num) {
        ("remote", 249 | 309 | 310 | 443) => "Call",
        ("remote", 343) => "Reply",
        ("qemu", 7) => "Both",
        ("lxc", 1) => "Reply",
        _ => "None",
    }
}

pub fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    match out.as_str() {
        "type" | "match" | "fn" | "in" | "mod" | "ref" | "use" | "impl" | "loop" | "move" | "where" | "static" | "const" | "struct" => {
            format!("r#{out}")
        }
        _ => out,
    }
}

/// Name → kind of every XDR type the tables define.
pub struct Types {
    pub kinds: HashMap<String, String>,
}

impl Types {
    pub fn load() -> Self {
        let mut kinds = HashMap::new();
        for t in tsv::types() {
            kinds.insert(t.name.clone(), t.kind.clone());
        }
        for file in ["remote_procs.tsv", "qemu_procs.tsv", "lxc_procs.tsv", "admin_procs.tsv"] {
            for p in tsv::procs(file) {
                for s in [&p.args_struct, &p.ret_struct, &p.msg_struct] {
                    if s != "void" {
                        kinds.insert(s.clone(), "struct".to_string());
                    }
                }
            }
        }
        Types { kinds }
    }

    /// Rust type and optional bound of an XDR type in table notation.
    pub fn rust(&self, xdr: &str) -> (String, Option<u32>) {
        if let Some(inner) = xdr.strip_prefix('*') {
            let (t, b) = self.rust(inner);
            assert!(b.is_none(), "bounded optional {xdr}");
            return (format!("Option<{t}>"), None);
        }
        if let Some(open) = xdr.find('<') {
            let base = &xdr[..open];
            let n: u32 = xdr[open + 1..xdr.len() - 1].parse().unwrap();
            return match base {
                "opaque" => ("Vec<u8>".into(), Some(n)),
                "char" => ("Vec<i8>".into(), Some(n)),
                "string" => {
                    assert_eq!(n, STRING_MAX, "string bound in {xdr}");
                    ("String".into(), None)
                }
                _ => {
                    let (t, b) = self.rust(base);
                    assert!(b.is_none(), "nested bound in {xdr}");
                    (format!("Vec<{t}>"), Some(n))
                }
            };
        }
        if let Some(open) = xdr.find('[') {
            let base = &xdr[..open];
            let n: u32 = xdr[open + 1..xdr.len() - 1].parse().unwrap();
            return match base {
                "opaque" => (format!("[u8; {n}]"), None),
                "char" => (format!("[i8; {n}]"), None),
                _ => panic!("fixed array of {base} is not supported: {xdr}"),
            };
        }
        let prim = match xdr {
            "int" => "i32",
            "unsigned int" => "u32",
            "hyper" => "i64",
            "unsigned hyper" => "u64",
            "double" => "f64",
            "bool" => "bool",
            "char" => "i8",
            "unsigned char" => "u8",
            "short" => "i16",
            "unsigned short" => "u16",
            _ => "",
        };
        if !prim.is_empty() {
            return (prim.into(), None);
        }
        assert!(self.kinds.contains_key(xdr), "unknown XDR type {xdr}");
        (camel(xdr), None)
    }
}

fn struct_entry(types: &Types, out: &mut String, doc: &str, name: &str, fields: &[(String, String)]) {
    writeln!(out, "    /// {doc}").unwrap();
    writeln!(out, "    {} = \"{name}\" {{", camel(name)).unwrap();
    for (f, t) in fields {
        let (rt, bound) = types.rust(t);
        let bound = bound.map(|n| format!(" [{n}]")).unwrap_or_default();
        writeln!(out, "        {}: {rt}{bound} = \"{f}:{t}\",", snake(f)).unwrap();
    }
    writeln!(out, "    }}").unwrap();
}

fn helper_types(types: &Types, out: &mut String, rows: &[TypeRow]) {
    for t in rows.iter().filter(|t| t.kind == "typedef") {
        let (rt, bound) = types.rust(&t.definition);
        assert!(bound.is_none(), "bounded typedef {}", t.name);
        writeln!(out, "/// `{}`: `{}`.\npub type {} = {rt};", t.name, t.definition, camel(&t.name)).unwrap();
    }
    for t in rows.iter().filter(|t| t.kind == "enum") {
        let members = tsv::enum_members(&t.definition);
        let prefix = common_prefix(members.iter().map(|(n, _)| n.as_str()));
        writeln!(out, "\nxdr_enum! {{\n    /// `{}` ({}).\n    {} = \"{}\" {{", t.name, t.file, camel(&t.name), t.name).unwrap();
        for (n, v) in &members {
            writeln!(out, "        {} = {v} \"{n}\",", camel(&n[prefix..].to_lowercase())).unwrap();
        }
        writeln!(out, "    }}\n}}").unwrap();
    }
    let structs: Vec<&TypeRow> = rows.iter().filter(|t| t.kind == "struct").collect();
    if !structs.is_empty() {
        writeln!(out, "\nxdr_struct! {{").unwrap();
        for t in &structs {
            struct_entry(types, out, &format!("`{}` ({}).", t.name, t.file), &t.name, &tsv::fields(&t.definition));
        }
        writeln!(out, "}}").unwrap();
    }
    writeln!(
        out,
        "\n/// The helper structs above, for table-driven checks.\npub static HELPER_STRUCTS: [super::PayloadInfo; {}] = [",
        structs.len()
    )
    .unwrap();
    for t in &structs {
        writeln!(out, "    super::payload::<{}>(),", camel(&t.name)).unwrap();
    }
    writeln!(out, "];").unwrap();
}

fn common_prefix<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    let names: Vec<&str> = names.collect();
    let first = names.first().copied().unwrap_or("");
    let mut len = first.rfind('_').map_or(0, |i| i + 1);
    while len > 0 && !names.iter().all(|n| n.len() > len && n.starts_with(&first[..len])) {
        len = first[..len - 1].rfind('_').map_or(0, |i| i + 1);
    }
    len
}

struct ProgramSpec {
    module: &'static str,
    file: &'static str,
    xfile: &'static str,
    program_const: &'static str,
    number: &'static str,
    enum_name: &'static str,
    proc_prefix: &'static str,
    imports: &'static str,
}

const PROGRAMS: [ProgramSpec; 4] = [
    ProgramSpec {
        module: "remote",
        file: "remote_procs.tsv",
        xfile: "remote_protocol.x",
        program_const: "REMOTE_PROGRAM",
        number: "crate::message::REMOTE_PROGRAM",
        enum_name: "RemoteProcedure",
        proc_prefix: "REMOTE_PROC_",
        imports: "use super::RemoteTypedParamValue;\n",
    },
    ProgramSpec {
        module: "qemu",
        file: "qemu_procs.tsv",
        xfile: "qemu_protocol.x",
        program_const: "QEMU_PROGRAM",
        number: "crate::message::QEMU_PROGRAM",
        enum_name: "QemuProcedure",
        proc_prefix: "QEMU_PROC_",
        imports: "#[allow(unused_imports)]\nuse super::remote::*;\n",
    },
    ProgramSpec {
        module: "lxc",
        file: "lxc_procs.tsv",
        xfile: "lxc_protocol.x",
        program_const: "LXC_PROGRAM",
        number: "crate::message::LXC_PROGRAM",
        enum_name: "LxcProcedure",
        proc_prefix: "LXC_PROC_",
        imports: "#[allow(unused_imports)]\nuse super::remote::*;\n",
    },
    ProgramSpec {
        module: "admin",
        file: "admin_procs.tsv",
        xfile: "admin_protocol.x",
        program_const: "ADMIN_PROGRAM",
        number: "crate::message::ADMIN_PROGRAM",
        enum_name: "AdminProcedure",
        proc_prefix: "ADMIN_PROC_",
        imports: "use super::AdminTypedParamValue;\n",
    },
];

const HEADER: &str = "// @generated by crates/rpc/tests/rpc/codegen.rs from crates/rpc/data/*.tsv.\n\
// Do not edit: run `OXVIRT_REGENERATE=1 cargo test -p oxvirt-rpc` after changing the tables.\n";

fn payload(s: &str) -> String {
    if s == "void" {
        "None".into()
    } else {
        format!("Some(payload::<{}>())", camel(s))
    }
}

fn program_module(types: &Types, spec: &ProgramSpec, rows: &[TypeRow]) -> String {
    let procs: Vec<Proc> = tsv::procs(spec.file);
    let own: Vec<TypeRow> = rows.iter().filter(|t| t.file == spec.xfile).cloned().collect();
    let has_enum = own.iter().any(|t| t.kind == "enum");
    let mut out = String::new();
    writeln!(
        out,
        "//! The {} program ({}): payload structs and procedure table.\n{HEADER}\n\
         #[allow(unused_imports)]\n\
         use super::{{payload, FdPassing, Priority, ProcInfo, ProcKind, Program, StreamDirection, StreamInfo}};\n\
         use crate::xdr::{}xdr_struct{};\n{}",
        spec.module.to_uppercase(),
        spec.xfile,
        if has_enum { "{xdr_enum, " } else { "" },
        if has_enum { "}" } else { "" },
        spec.imports
    )
    .unwrap();
    helper_types(types, &mut out, &own);

    // Procedure structs, deduplicated by name.
    let mut seen: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    writeln!(out, "\nxdr_struct! {{").unwrap();
    for p in &procs {
        for (s, f, what) in
            [(&p.args_struct, &p.args, "arguments"), (&p.ret_struct, &p.ret, "return value"), (&p.msg_struct, &p.msg, "event message")]
        {
            if s == "void" {
                continue;
            }
            if let Some(prev) = seen.get(s) {
                assert_eq!(prev, f, "struct {s} defined twice differently");
                continue;
            }
            seen.insert(s.clone(), f.clone());
            struct_entry(types, &mut out, &format!("`{s}`: {what} of `{}` ({}).", p.name, p.num), s, f);
        }
    }
    writeln!(out, "}}").unwrap();

    // Procedure enum.
    let variant = |p: &Proc| camel(&p.name.trim_start_matches(spec.proc_prefix).to_lowercase());
    writeln!(
        out,
        "\n/// The {} procedures, numbered as on the wire.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\npub enum {} {{",
        spec.program_const, spec.enum_name
    )
    .unwrap();
    for p in &procs {
        writeln!(out, "    /// `{}`\n    {} = {},", p.name, variant(p), p.num).unwrap();
    }
    writeln!(out, "}}\n\nimpl {} {{", spec.enum_name).unwrap();
    writeln!(
        out,
        "    /// The procedure with this number.\n    pub fn from_number(number: i32) -> Option<Self> {{\n        Some(match number {{"
    )
    .unwrap();
    for p in &procs {
        writeln!(out, "            {} => Self::{},", p.num, variant(p)).unwrap();
    }
    writeln!(out, "            _ => return None,\n        }})\n    }}\n").unwrap();
    writeln!(out, "    /// The table entry of this procedure.\n    pub fn info(self) -> &'static ProcInfo {{\n        match self {{")
        .unwrap();
    for (i, p) in procs.iter().enumerate() {
        writeln!(out, "            Self::{} => &PROCEDURES[{i}],", variant(p)).unwrap();
    }
    writeln!(out, "        }}\n    }}\n}}").unwrap();

    // Procedure table.
    writeln!(
        out,
        "\n/// Every {} procedure, sorted by number.\npub static PROCEDURES: [ProcInfo; {}] = [",
        spec.program_const,
        procs.len()
    )
    .unwrap();
    for p in &procs {
        let stream = match p.stream.split_once(':') {
            Some(("readstream", n)) => format!("Some(StreamInfo {{ direction: StreamDirection::Read, param: {n} }})"),
            Some(("writestream", n)) => format!("Some(StreamInfo {{ direction: StreamDirection::Write, param: {n} }})"),
            None => "None".into(),
            Some(other) => panic!("stream annotation {other:?}"),
        };
        let sparse = if p.sparseflag.is_empty() { "None".into() } else { format!("Some(\"{}\")", p.sparseflag) };
        let acl = if p.acl == "none" { String::new() } else { p.acl.clone() };
        writeln!(
            out,
            "    ProcInfo {{\n        number: {},\n        name: \"{}\",\n        kind: ProcKind::{},\n        args: {},\n        ret: {},\n        msg: {},\n        \
             priority: Priority::{},\n        acl: \"{}\",\n        aclfilter: \"{}\",\n        stream: {stream},\n        sparse_flag: {sparse},\n        fds: FdPassing::{},\n    }},",
            p.num,
            p.name,
            if p.kind == "event" { "Event" } else { "Call" },
            payload(&p.args_struct),
            payload(&p.ret_struct),
            payload(&p.msg_struct),
            if p.priority == "high" { "High" } else { "Low" },
            acl,
            p.aclfilter,
            fds(spec.module, p.num),
        )
        .unwrap();
    }
    writeln!(out, "];\n").unwrap();
    writeln!(
        out,
        "/// The {} program.\npub static PROGRAM: Program = Program {{\n    name: \"{}\",\n    number: {},\n    version: 1,\n    procedures: &PROCEDURES,\n}};",
        spec.program_const, spec.program_const, spec.number
    )
    .unwrap();
    out
}

fn virnet_module(types: &Types, rows: &[TypeRow]) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "//! The helper types of `virnetprotocol.x` (the header and its enums are in\n//! [`crate::message`]).\n{HEADER}\nuse crate::xdr::xdr_struct;\n"
    )
    .unwrap();
    // The header struct and its two enums are hand-written in `message.rs`.
    let own: Vec<TypeRow> =
        rows.iter().filter(|t| t.file == "virnetprotocol.x" && t.kind != "enum" && t.name != "virNetMessageHeader").cloned().collect();
    helper_types(types, &mut out, &own);
    out
}

fn consts_module() -> String {
    let mut out = String::new();
    writeln!(out, "//! Every `const` of libvirt's `.x` files: message sizes and string/array maxima.\n{HEADER}").unwrap();
    for (file, name, value, expr) in tsv::constants() {
        let v = u32::try_from(value).unwrap();
        writeln!(out, "/// `{expr}` ({file}).\npub const {name}: u32 = {v};").unwrap();
    }
    out
}

/// Every generated file: path relative to the crate and expected content.
pub fn generated_files() -> Vec<(PathBuf, String)> {
    let types = Types::load();
    let rows = tsv::types();
    let mut files =
        vec![(PathBuf::from("src/consts.rs"), consts_module()), (PathBuf::from("src/proto/virnet.rs"), virnet_module(&types, &rows))];
    for spec in &PROGRAMS {
        files.push((PathBuf::from(format!("src/proto/{}.rs", spec.module)), program_module(&types, spec, &rows)));
    }
    files
}

#[test]
fn generated_code_is_fresh() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let regenerate = std::env::var_os("OXVIRT_REGENERATE").is_some();
    let mut stale = Vec::new();
    for (path, content) in generated_files() {
        let full = root.join(&path);
        let current = std::fs::read_to_string(&full).unwrap_or_default();
        if current != content {
            if regenerate {
                std::fs::write(&full, content).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(stale.is_empty(), "generated files are stale: {stale:?}; run OXVIRT_REGENERATE=1 cargo test -p oxvirt-rpc");
}
