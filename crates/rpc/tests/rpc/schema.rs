//! An independent, table-driven XDR encoder: it reads the field lists of the reference
//! tables and produces random wire bytes for any struct. The typed Rust decoders must
//! read those bytes completely and re-encode them identically, which checks field
//! order, field types and limits without trusting the generator.

use super::tsv;
use oxvirt_rpc::proto::{self, PayloadInfo};
use oxvirt_rpc::xdr::{Reader, Writer, XdrError};
use std::collections::HashMap;

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

pub struct Schema {
    pub structs: HashMap<String, Vec<(String, String)>>,
    pub typedefs: HashMap<String, String>,
    pub enums: HashMap<String, Vec<i32>>,
}

impl Schema {
    pub fn load() -> Self {
        let mut s = Schema { structs: HashMap::new(), typedefs: HashMap::new(), enums: HashMap::new() };
        for t in tsv::types() {
            match t.kind.as_str() {
                "struct" => {
                    s.structs.insert(t.name, tsv::fields(&t.definition));
                }
                "typedef" => {
                    s.typedefs.insert(t.name, t.definition);
                }
                "enum" => {
                    s.enums.insert(t.name, tsv::enum_members(&t.definition).into_iter().map(|(_, v)| v).collect());
                }
                _ => {}
            }
        }
        for file in ["remote_procs.tsv", "qemu_procs.tsv", "lxc_procs.tsv", "admin_procs.tsv"] {
            for p in tsv::procs(file) {
                for (name, fields) in [(p.args_struct, p.args), (p.ret_struct, p.ret), (p.msg_struct, p.msg)] {
                    if name != "void" {
                        s.structs.insert(name, fields);
                    }
                }
            }
        }
        s
    }

    fn word(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_be_bytes());
    }

    fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(b);
        out.resize(out.len() + (4 - b.len() % 4) % 4, 0);
    }

    /// Random wire bytes of type `ty`.
    pub fn gen(&self, ty: &str, rng: &mut Rng, out: &mut Vec<u8>) {
        if let Some(inner) = ty.strip_prefix('*') {
            let present = rng.below(2) as u32;
            Self::word(out, present);
            if present == 1 {
                self.gen(inner, rng, out);
            }
            return;
        }
        if let Some(open) = ty.find('<') {
            let base = &ty[..open];
            let max: u64 = ty[open + 1..ty.len() - 1].parse().unwrap();
            let n = rng.below(max.min(4) + 1);
            Self::word(out, n as u32);
            match base {
                "opaque" => Self::bytes(out, &(0..n).map(|_| rng.next() as u8).collect::<Vec<_>>()),
                "string" => Self::bytes(out, &(0..n).map(|_| b'a' + rng.below(26) as u8).collect::<Vec<_>>()),
                _ => (0..n).for_each(|_| self.gen(base, rng, out)),
            }
            return;
        }
        if let Some(open) = ty.find('[') {
            let base = &ty[..open];
            let n: usize = ty[open + 1..ty.len() - 1].parse().unwrap();
            match base {
                "opaque" => Self::bytes(out, &(0..n).map(|_| rng.next() as u8).collect::<Vec<_>>()),
                _ => (0..n).for_each(|_| self.gen(base, rng, out)),
            }
            return;
        }
        match ty {
            "int" | "unsigned int" => Self::word(out, rng.next() as u32),
            "hyper" | "unsigned hyper" => out.extend_from_slice(&rng.next().to_be_bytes()),
            // Any bit pattern round-trips through f64::from_bits/to_bits.
            "double" => out.extend_from_slice(&rng.next().to_be_bytes()),
            "bool" => Self::word(out, rng.below(2) as u32),
            // Widened items: what a correct encoder sends (sign/zero extension).
            "char" => Self::word(out, (rng.next() as i8) as i32 as u32),
            "unsigned char" => Self::word(out, u32::from(rng.next() as u8)),
            "short" => Self::word(out, (rng.next() as i16) as i32 as u32),
            "unsigned short" => Self::word(out, u32::from(rng.next() as u16)),
            "remote_typed_param_value" | "admin_typed_param_value" => {
                let d = 1 + rng.below(7) as u32;
                Self::word(out, d);
                let arm = match d {
                    1 | 2 | 6 => "int",
                    3 | 4 => "hyper",
                    5 => "double",
                    _ => "string<4194304>",
                };
                self.gen(arm, rng, out);
            }
            _ => {
                if let Some(def) = self.typedefs.get(ty) {
                    self.gen(def, rng, out);
                } else if let Some(vals) = self.enums.get(ty) {
                    Self::word(out, vals[rng.below(vals.len() as u64) as usize] as u32);
                } else if let Some(fields) = self.structs.get(ty) {
                    for (_, t) in fields {
                        self.gen(t, rng, out);
                    }
                } else {
                    panic!("schema: unknown type {ty}");
                }
            }
        }
    }

    /// Bytes of struct `name` up to field `idx`, with that field's count set to `count`.
    pub fn gen_with_count(&self, name: &str, idx: usize, count: u32, rng: &mut Rng) -> Vec<u8> {
        let mut out = Vec::new();
        for (_, t) in &self.structs[name][..idx] {
            self.gen(t, rng, &mut out);
        }
        Self::word(&mut out, count);
        out
    }
}

/// Every payload struct the tables reference, with its `PayloadInfo`.
pub fn all_payloads() -> Vec<PayloadInfo> {
    let mut v: Vec<PayloadInfo> = Vec::new();
    for prog in [&proto::remote::PROGRAM, &proto::qemu::PROGRAM, &proto::lxc::PROGRAM, &proto::admin::PROGRAM] {
        for p in prog.procedures {
            v.extend([p.args, p.ret, p.msg].into_iter().flatten());
        }
    }
    v.extend(proto::remote::HELPER_STRUCTS);
    v.extend(proto::virnet::HELPER_STRUCTS);
    v.extend(proto::admin::HELPER_STRUCTS);
    v.sort_by_key(|p| p.xdr_name);
    v.dedup_by_key(|p| p.xdr_name);
    v
}

#[test]
fn every_struct_round_trips_schema_bytes() {
    let schema = Schema::load();
    let payloads = all_payloads();
    assert!(payloads.len() > 700, "only {} payload structs", payloads.len());
    let mut rng = Rng::new(7);
    for info in &payloads {
        let fields = &schema.structs[info.xdr_name];
        let joined: Vec<String> = fields.iter().map(|(n, t)| format!("{n}:{t}")).collect();
        assert_eq!(info.fields, joined.as_slice(), "fields of {}", info.xdr_name);
        for _ in 0..8 {
            let mut bytes = Vec::new();
            schema.gen(info.xdr_name, &mut rng, &mut bytes);
            let mut r = Reader::new(&bytes);
            let value = (info.decode)(&mut r).unwrap_or_else(|e| panic!("{}: {e}", info.xdr_name));
            assert_eq!(r.remaining(), 0, "{} left bytes", info.xdr_name);
            assert_eq!(value.xdr_name(), info.xdr_name);
            let mut w = Writer::new();
            value.encode_dyn(&mut w).unwrap();
            assert_eq!(w.as_bytes(), bytes.as_slice(), "{} re-encodes differently", info.xdr_name);
            // Every strict prefix is a clean error, never a panic.
            for cut in [0, bytes.len() / 2, bytes.len().saturating_sub(1)] {
                if cut < bytes.len() {
                    assert!((info.decode)(&mut Reader::new(&bytes[..cut])).is_err(), "{} accepted {cut} bytes", info.xdr_name);
                }
            }
        }
    }
}

#[test]
fn every_declared_maximum_is_enforced() {
    let schema = Schema::load();
    let mut rng = Rng::new(11);
    let mut checked = 0;
    for info in all_payloads() {
        for (idx, (_, ty)) in schema.structs[info.xdr_name].iter().enumerate() {
            let Some(open) = ty.find('<') else { continue };
            let max: u32 = ty[open + 1..ty.len() - 1].parse().unwrap();
            let bytes = schema.gen_with_count(info.xdr_name, idx, max + 1, &mut rng);
            let err = (info.decode)(&mut Reader::new(&bytes)).unwrap_err();
            assert_eq!(err, XdrError::TooLong { len: u64::from(max) + 1, max }, "{}.{idx}", info.xdr_name);
            // Exactly the maximum is accepted as far as the count goes (the items are
            // missing, so the failure must be truncation, not the bound).
            let bytes = schema.gen_with_count(info.xdr_name, idx, max, &mut rng);
            let err = (info.decode)(&mut Reader::new(&bytes)).unwrap_err();
            assert!(matches!(err, XdrError::Truncated { .. }), "{}.{idx}: {err:?}", info.xdr_name);
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} bounded fields");
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng::new(3);
    for info in all_payloads() {
        for len in [0usize, 3, 4, 8, 17, 64, 200] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = (info.decode)(&mut Reader::new(&bytes));
            // Huge counts must fail before allocating.
            let mut big = vec![0x7f, 0xff, 0xff, 0xff];
            big.extend_from_slice(&bytes);
            let _ = (info.decode)(&mut Reader::new(&big));
        }
    }
}
