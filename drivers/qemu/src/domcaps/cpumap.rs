//! libvirt's CPU model map (`/usr/share/libvirt/cpu_map`, shipped with libvirt):
//! which CPU models libvirt knows per architecture and their vendors, and for x86 the
//! CPUID/MSR bits of every feature and model, from which [`CpuMap::x86_decode`] finds
//! the host-model CPU the way libvirt's `x86Decode` does.
//!
//! The map is data libvirt reads at run time; it is read here from the same files.

use super::HostModel;
use crate::caps::{CpuModel, CpuPropValue};
use crate::error::{QemuError, Result};
use oxvirt_conf::xml;
use std::collections::BTreeMap;
use std::path::Path;

/// Key of one x86 data item: CPUID (`eax_in`, `ecx_in`) or an MSR index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Cpuid(u32, u32),
    Msr(u32),
}

/// x86 CPU data: registers per item (`eax, ebx, ecx, edx`; MSRs use `eax` and `edx`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Data(BTreeMap<Key, [u32; 4]>);

impl Data {
    fn add(&mut self, other: &Data) {
        for (k, v) in &other.0 {
            let e = self.0.entry(*k).or_insert([0; 4]);
            for i in 0..4 {
                e[i] |= v[i];
            }
        }
    }

    fn subtract(&mut self, other: &Data) {
        for (k, v) in self.0.iter_mut() {
            if let Some(o) = other.0.get(k) {
                for i in 0..4 {
                    v[i] &= !o[i];
                }
            }
        }
    }

    /// Whether every bit of `sub` is set here.
    fn contains(&self, sub: &Data) -> bool {
        sub.0.iter().filter(|(_, v)| v.iter().any(|r| *r != 0)).all(|(k, v)| match self.0.get(k) {
            Some(d) => (0..4).all(|i| d[i] & v[i] == v[i]),
            None => false,
        })
    }

    fn has_msr(&self) -> bool {
        self.0.iter().any(|(k, v)| matches!(k, Key::Msr(_)) && v.iter().any(|r| *r != 0))
    }
}

#[derive(Debug, Clone)]
struct Feature {
    name: String,
    data: Data,
}

#[derive(Debug, Clone)]
struct Vendor {
    name: String,
    data: Data,
}

#[derive(Debug, Clone)]
struct Signature {
    family: u32,
    model: u32,
    /// Allowed steppings as a bitmap (`None`: any).
    stepping: Option<u16>,
}

#[derive(Debug, Clone)]
struct Model {
    name: String,
    decode_host: bool,
    decode_guest: bool,
    vendor: Option<usize>,
    signatures: Vec<Signature>,
    data: Data,
    removed: Vec<String>,
}

/// The models (and vendors) of one architecture family of the map.
#[derive(Debug, Clone, Default)]
struct ArchMap {
    vendors: Vec<Vendor>,
    features: Vec<Feature>,
    models: Vec<Model>,
}

/// libvirt's CPU model map for x86 and ppc64.
#[derive(Debug, Clone, Default)]
pub struct CpuMap {
    x86: ArchMap,
    ppc64: ArchMap,
}

fn map_err(path: &Path, what: impl std::fmt::Display) -> QemuError {
    QemuError::Internal(format!("cannot load the CPU map '{}': {what}", path.display()))
}

fn num(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_steppings(s: &str) -> Option<u16> {
    let mut bits = 0u16;
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let v = part.trim().parse::<u32>().ok()?;
                (v, v)
            }
        };
        for i in a..=b.min(15) {
            bits |= 1 << i;
        }
    }
    Some(bits)
}

/// The CPUID leaf-0 data of a 12-character vendor string.
fn vendor_data(s: &str) -> Option<Data> {
    let b = s.as_bytes();
    if b.len() != 12 {
        return None;
    }
    let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut d = Data::default();
    d.0.insert(Key::Cpuid(0, 0), [0, w(0), w(8), w(4)]);
    Some(d)
}

/// libvirt's `x86MakeSignature`.
fn make_signature(family: u32, model: u32, stepping: u32) -> u32 {
    let mut sig = 0;
    let mut family = family;
    if family > 0xf {
        sig |= (family - 0xf) << 20;
        family = 0xf;
    }
    sig |= (model >> 4) << 16;
    sig |= family << 8;
    sig |= (model & 0xf) << 4;
    sig | (stepping & 0xf)
}

fn signature_parts(sig: u32) -> (u32, u32, u32) {
    (((sig >> 20) & 0xff) + ((sig >> 8) & 0xf), ((sig >> 12) & 0xf0) + ((sig >> 4) & 0xf), sig & 0xf)
}

fn signatures_match(sigs: &[Signature], sig: u32) -> bool {
    let (f, m, s) = signature_parts(sig);
    sigs.iter().any(|x| x.family == f && x.model == m && x.stepping.is_none_or(|b| b & (1 << s) != 0))
}

impl ArchMap {
    fn parse_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| map_err(path, e))?;
        let doc = roxmltree::Document::parse(&text).map_err(|e| map_err(path, e))?;
        for n in doc.root_element().children().filter(|n| n.is_element()) {
            let name = n.attribute("name").unwrap_or_default().to_string();
            match n.tag_name().name() {
                "vendor" => {
                    if let Some(d) = n.attribute("string").and_then(vendor_data) {
                        self.vendors.push(Vendor { name, data: d });
                    } else {
                        self.vendors.push(Vendor { name, data: Data::default() });
                    }
                }
                "feature" => {
                    let mut data = Data::default();
                    for c in n.children().filter(|c| c.is_element()) {
                        let a = |k: &str| c.attribute(k).and_then(num).unwrap_or(0);
                        match c.tag_name().name() {
                            "cpuid" => {
                                let e = data.0.entry(Key::Cpuid(a("eax_in"), a("ecx_in"))).or_insert([0; 4]);
                                e[0] |= a("eax");
                                e[1] |= a("ebx");
                                e[2] |= a("ecx");
                                e[3] |= a("edx");
                            }
                            "msr" => {
                                let e = data.0.entry(Key::Msr(a("index"))).or_insert([0; 4]);
                                e[0] |= a("eax");
                                e[3] |= a("edx");
                            }
                            _ => {}
                        }
                    }
                    self.features.push(Feature { name, data });
                }
                "model" => self.parse_model(n, name),
                _ => {}
            }
        }
        Ok(())
    }

    fn parse_model(&mut self, n: roxmltree::Node<'_, '_>, name: String) {
        let mut m = Model {
            name,
            decode_host: true,
            decode_guest: true,
            vendor: None,
            signatures: Vec::new(),
            data: Data::default(),
            removed: Vec::new(),
        };
        if let Some(d) = xml::child(n, "decode") {
            m.decode_host = d.attribute("host") != Some("off");
            m.decode_guest = d.attribute("guest") != Some("off");
        }
        if let Some(parent) = xml::child(n, "model").and_then(|p| p.attribute("name")) {
            if let Some(p) = self.models.iter().find(|x| x.name == parent) {
                m.vendor = p.vendor;
                m.signatures = p.signatures.clone();
                m.data = p.data.clone();
            }
        }
        let sigs: Vec<Signature> = xml::children(n, "signature")
            .map(|s| Signature {
                family: s.attribute("family").and_then(num).unwrap_or(0),
                model: s.attribute("model").and_then(num).unwrap_or(0),
                stepping: s.attribute("stepping").and_then(parse_steppings),
            })
            .collect();
        if !sigs.is_empty() {
            m.signatures = sigs;
        }
        if let Some(v) = xml::child(n, "vendor").and_then(|v| v.attribute("name")) {
            m.vendor = self.vendors.iter().position(|x| x.name == v);
        }
        for f in xml::children(n, "feature") {
            let Some(fname) = f.attribute("name") else { continue };
            if f.attribute("removed") == Some("yes") {
                m.removed.push(fname.to_string());
            } else if let Some(feat) = self.features.iter().find(|x| x.name == fname) {
                m.data.add(&feat.data);
            }
        }
        self.models.push(m);
    }

    fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }
}

impl CpuMap {
    /// Load the map from `dir` (its `index.xml` and the files it includes).
    pub fn load(dir: &Path) -> Result<CpuMap> {
        let index = dir.join("index.xml");
        let text = std::fs::read_to_string(&index).map_err(|e| map_err(&index, e))?;
        let doc = roxmltree::Document::parse(&text).map_err(|e| map_err(&index, e))?;
        let mut map = CpuMap::default();
        for arch in xml::children(doc.root_element(), "arch") {
            let target = match arch.attribute("name") {
                Some("x86") => &mut map.x86,
                Some("ppc64") => &mut map.ppc64,
                _ => continue,
            };
            for inc in xml::children(arch, "include") {
                if let Some(f) = inc.attribute("filename") {
                    target.parse_file(&dir.join(f))?;
                }
            }
        }
        Ok(map)
    }

    fn arch_map(&self, arch: &str) -> Option<&ArchMap> {
        match arch {
            "i686" | "x86_64" => Some(&self.x86),
            "ppc64" | "ppc64le" => Some(&self.ppc64),
            _ => None,
        }
    }

    /// The model names libvirt knows for `arch` (`virCPUGetModels`), or `None` when its
    /// CPU driver has no list (every QEMU model is then allowed).
    pub fn models_for(&self, arch: &str) -> Option<Vec<&str>> {
        self.arch_map(arch).map(|m| m.models.iter().map(|x| x.name.as_str()).collect())
    }

    /// The vendor of model `name` (`virCPUGetVendorForModel`).
    pub fn vendor_of(&self, arch: &str, name: &str) -> Option<String> {
        let m = self.arch_map(arch)?;
        let model = m.models.iter().find(|x| x.name == name)?;
        model.vendor.and_then(|v| m.vendors.get(v)).map(|v| v.name.clone())
    }

    /// The host-model CPU of QEMU's host CPU expansion `props` (libvirt names, as
    /// (name, value)) among the QEMU models `hv` of the accelerator, as libvirt's
    /// `virQEMUCapsInitCPUModelX86` + `x86Decode` find it; MSR features are dropped
    /// when `drop_msr`.
    pub fn x86_decode(&self, props: &[(String, CpuPropValue)], hv: &[&CpuModel], drop_msr: bool) -> Option<HostModel> {
        let map = &self.x86;
        let mut data = Data::default();
        let (mut fam, mut model, mut step) = (0u32, 0u32, 0u32);
        for (name, value) in props {
            match value {
                CpuPropValue::Bool(true) => {
                    if let Some(f) = map.feature(name) {
                        data.add(&f.data);
                    }
                }
                CpuPropValue::Str(s) if name == "vendor" => {
                    if let Some(d) = vendor_data(s) {
                        data.add(&d);
                    }
                }
                CpuPropValue::Number(n) => {
                    let n = u32::try_from(*n).unwrap_or(0);
                    match name.as_str() {
                        "family" => fam = n,
                        "model" => model = n,
                        "stepping" => step = n,
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let mut leaf1 = Data::default();
        leaf1.0.insert(Key::Cpuid(1, 0), [make_signature(fam, model, step), 0, 0, 0]);
        data.add(&leaf1);

        // The vendor: its bits are removed from the data.
        let mut vendor = None;
        for (i, v) in map.vendors.iter().enumerate() {
            if !v.data.0.is_empty() && data.contains(&v.data) {
                data.subtract(&v.data);
                vendor = Some(i);
                break;
            }
        }
        let signature = data.0.get(&Key::Cpuid(1, 0)).map_or(0, |r| r[0] & 0x0fff_3fff);
        if vendor.and_then(|v| map.vendors.get(v)).is_some_and(|v| v.name == "Intel") {
            let (f, m, s) = signature_parts(signature);
            if f == 6 && ((m == 63 && s < 4) || m == 60 || m == 69 || m == 70) {
                for n in ["hle", "rtm"] {
                    if let Some(feat) = map.feature(n) {
                        data.subtract(&feat.data);
                    }
                }
            }
        }

        let mut best: Option<(&Model, Vec<(&'static str, String)>)> = None;
        for cand in map.models.iter().rev() {
            let Some(hv_model) = hv.iter().find(|h| h.name == cand.name) else { continue };
            if let (Some(v), Some(cv)) = (vendor, cand.vendor) {
                if v != cv {
                    continue;
                }
            }
            let features = self.x86_to_cpu(&data, cand, hv_model.blockers.as_ref());
            if !cand.decode_guest {
                continue;
            }
            let better = match &best {
                None => true,
                Some((cur, cur_feats)) => {
                    if signature != 0 && signatures_match(&cur.signatures, signature) && !signatures_match(&cand.signatures, signature) {
                        false
                    } else if signature != 0
                        && !signatures_match(&cur.signatures, signature)
                        && signatures_match(&cand.signatures, signature)
                    {
                        true
                    } else {
                        candidate_is_better(cur_feats, &features)
                    }
                }
            };
            if better {
                best = Some((cand, features));
            }
        }
        let (m, mut features) = best?;
        if drop_msr {
            features.retain(|(_, n)| !map.feature(n).is_some_and(|f| f.data.has_msr()));
        }
        Some(HostModel {
            model: m.name.clone(),
            fallback: "forbid",
            vendor: vendor.and_then(|v| map.vendors.get(v)).map(|v| v.name.clone()),
            features,
        })
    }

    /// libvirt's `x86DataToCPU` for a guest CPU: required features (host minus model),
    /// disabled ones (model minus host, plus QEMU's blockers the host lacks), then the
    /// model's removed features.
    fn x86_to_cpu(&self, data: &Data, model: &Model, blockers: Option<&Vec<String>>) -> Vec<(&'static str, String)> {
        let map = &self.x86;
        let mut copy = data.clone();
        let mut model_data = model.data.clone();
        copy.subtract(&model.data);
        model_data.subtract(data);
        for b in blockers.into_iter().flatten() {
            if let Some(f) = map.feature(super::x86_feature_from_qemu(b)) {
                if !copy.contains(&f.data) {
                    model_data.add(&f.data);
                }
            }
        }
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for (policy, d) in [("require", &mut copy), ("disable", &mut model_data)] {
            for f in &map.features {
                if !f.data.0.values().any(|r| r.iter().any(|x| *x != 0)) {
                    continue;
                }
                if d.contains(&f.data) {
                    d.subtract(&f.data);
                    out.push((policy, f.name.clone()));
                }
            }
        }
        for r in &model.removed {
            if !out.iter().any(|(_, n)| n == r) {
                out.push(("disable", r.clone()));
            }
        }
        out
    }
}

/// The host CPU decoded from raw CPUID/MSR data (`virCPUx86GetHost` + `x86Decode` for
/// a `VIR_CPU_TYPE_HOST` definition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCpu {
    /// Model name.
    pub model: String,
    /// Vendor name, if known.
    pub vendor: Option<String>,
    /// Family, model, stepping of CPUID leaf 1.
    pub signature: (u32, u32, u32),
    /// Features the host has beyond the model, in the map's order.
    pub features: Vec<String>,
    /// Whether the host has the feature named `invtsc`.
    pub invtsc: bool,
}

impl CpuMap {
    /// Decode the host CPU from `cpuid(leaf, subleaf) -> [eax, ebx, ecx, edx]` and
    /// `msr(index)` as libvirt's x86 host decoding does: the basic and extended CPUID
    /// ranges (the leaves the map's features use, up to each range's maximum), the MSRs
    /// the map's features use that `msr` gives (libvirt reads only
    /// `IA32_ARCH_CAPABILITIES`, when CPUID has it), then the model whose features
    /// are all present on the host with the fewest extra ones (matching signatures
    /// preferred; models marked `<decode host='off'/>` skipped).
    pub fn x86_decode_host(&self, cpuid: impl Fn(u32, u32) -> [u32; 4], msr: impl Fn(u32) -> Option<u64>) -> Option<HostCpu> {
        let map = &self.x86;
        let max_basic = cpuid(0, 0)[0];
        let max_ext = cpuid(0x8000_0000, 0)[0];
        let mut data = Data::default();
        data.0.insert(Key::Cpuid(0, 0), cpuid(0, 0));
        data.0.insert(Key::Cpuid(1, 0), cpuid(1, 0));
        for f in &map.features {
            for k in f.data.0.keys() {
                if let Key::Cpuid(leaf, sub) = *k {
                    let in_range = if leaf >= 0x8000_0000 { leaf <= max_ext } else { leaf < 0x4000_0000 && leaf <= max_basic };
                    if in_range && !data.0.contains_key(k) {
                        data.0.insert(*k, cpuid(leaf, sub));
                    }
                }
            }
        }
        let msrs: std::collections::BTreeSet<u32> =
            map.features.iter().flat_map(|f| f.data.0.keys()).filter_map(|k| if let Key::Msr(i) = k { Some(*i) } else { None }).collect();
        for index in msrs {
            if let Some(v) = msr(index) {
                data.0.insert(Key::Msr(index), [(v & 0xffff_ffff) as u32, 0, 0, (v >> 32) as u32]);
            }
        }
        let invtsc = map.feature("invtsc").is_some_and(|f| data.contains(&f.data));
        let mut vendor = None;
        for (i, v) in map.vendors.iter().enumerate() {
            if !v.data.0.is_empty() && data.contains(&v.data) {
                vendor = Some(i);
                break;
            }
        }
        let signature = data.0.get(&Key::Cpuid(1, 0)).map_or(0, |r| r[0] & 0x0fff_3fff);
        let (sf, sm, ss) = signature_parts(signature);
        if vendor.and_then(|v| map.vendors.get(v)).is_some_and(|v| v.name == "Intel")
            && sf == 6
            && ((sm == 63 && ss < 4) || sm == 60 || sm == 69 || sm == 70)
        {
            for n in ["hle", "rtm"] {
                if let Some(feat) = map.feature(n) {
                    data.subtract(&feat.data);
                }
            }
        }
        // Vendor bits are not features: take them out before comparing with models.
        let mut bare = data.clone();
        if let Some(v) = vendor.and_then(|v| map.vendors.get(v)) {
            bare.subtract(&v.data);
        }
        let mut best: Option<(&Model, Vec<String>)> = None;
        for cand in map.models.iter().rev() {
            if let (Some(v), Some(cv)) = (vendor, cand.vendor) {
                if v != cv {
                    continue;
                }
            }
            if !cand.decode_host || !bare.contains(&cand.data) {
                continue;
            }
            let mut extra = bare.clone();
            extra.subtract(&cand.data);
            let mut feats = Vec::new();
            for f in &map.features {
                if f.data.0.values().any(|r| r.iter().any(|x| *x != 0)) && extra.contains(&f.data) {
                    extra.subtract(&f.data);
                    feats.push(f.name.clone());
                }
            }
            let better = match &best {
                None => true,
                Some((cur, cur_feats)) => {
                    let cur_match = signature != 0 && signatures_match(&cur.signatures, signature);
                    let cand_match = signature != 0 && signatures_match(&cand.signatures, signature);
                    if cur_match && !cand_match {
                        false
                    } else if !cur_match && cand_match {
                        true
                    } else {
                        feats.len() < cur_feats.len()
                    }
                }
            };
            if better {
                best = Some((cand, feats));
            }
        }
        let (m, features) = best?;
        Some(HostCpu {
            model: m.name.clone(),
            vendor: vendor.and_then(|v| map.vendors.get(v)).map(|v| v.name.clone()),
            signature: (sf, sm, ss),
            features,
            invtsc,
        })
    }
}

/// libvirt's `virCPUx86CompareCandidateFeatureList` for guest CPUs (each disabled
/// feature costs an increasing penalty), without a preferred model.
fn candidate_is_better(current: &[(&'static str, String)], candidate: &[(&'static str, String)]) -> bool {
    fn score(f: &[(&'static str, String)]) -> (usize, usize) {
        let mut enabled = f.len();
        let mut disabled = 0;
        let mut penalty = 2;
        let mut i = 0;
        // libvirt's loop bound shrinks as disabled features are found.
        while i < enabled {
            if f[i].0 == "disable" {
                enabled -= 1;
                disabled += penalty;
                penalty += 1;
            }
            i += 1;
        }
        (enabled + disabled, disabled)
    }
    let (cur, cur_dis) = score(current);
    let (cand, cand_dis) = score(candidate);
    cand < cur || (cand == cur && cand_dis < cur_dis)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip() {
        let sig = make_signature(23, 49, 0);
        assert_eq!(signature_parts(sig), (23, 49, 0));
        assert_eq!(parse_steppings("0-4"), Some(0b1_1111));
    }

    #[test]
    fn data_subset_and_subtract() {
        let mut a = vendor_data("AuthenticAMD").unwrap();
        let b = vendor_data("AuthenticAMD").unwrap();
        assert!(a.contains(&b));
        a.subtract(&b);
        assert!(!a.contains(&b));
    }
}
