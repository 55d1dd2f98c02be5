//! Probing a QEMU binary over QMP into [`QemuCaps`], following libvirt 9.0's rules
//! (`virQEMUCapsInitQMPMonitor` and `virQEMUCapsInitQMPMonitorTCG`).
//!
//! The prober talks to anything implementing [`Monitor`]: the live QMP client
//! ([`crate::qmp::Qmp`]) or a recorded transcript ([`super::replies::Replay`]). Both
//! return the raw text of each reply, so the order of keys QEMU used (which the cache
//! document preserves for CPU properties) is not lost.

use super::{tables, CpuModel, CpuProp, CpuPropValue, Gic, HostCpu, Hyperv, Machine, QemuCaps, Sev, Sgx};
use crate::error::{QemuError, Result};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// Something that executes QMP commands.
pub trait Monitor {
    /// Execute `command` with optional `arguments`; returns the raw JSON text of the whole
    /// reply message (an object with `return` or `error`).
    fn execute_raw(&mut self, command: &str, arguments: Option<Value>) -> Result<String>;
}

/// A parsed QMP reply plus its raw text.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Command it answers.
    pub command: String,
    /// The whole reply message.
    pub value: Value,
    /// Its raw text.
    pub raw: String,
}

impl Reply {
    /// Parse the raw text of a reply to `command`.
    pub fn parse(command: &str, raw: String) -> Result<Reply> {
        let value: Value = serde_json::from_str(&raw).map_err(|e| QemuError::Monitor(format!("malformed reply to '{command}': {e}")))?;
        if !value.is_object() {
            return Err(QemuError::Monitor(format!("reply to '{command}' is not an object")));
        }
        Ok(Reply { command: command.to_string(), value, raw })
    }

    /// The QMP error class, if QEMU answered with an error.
    pub fn error_class(&self) -> Option<&str> {
        self.value.get("error").map(|e| e.get("class").and_then(Value::as_str).unwrap_or(""))
    }

    /// Whether QEMU answered with an error of `class`.
    pub fn has_error(&self, class: &str) -> bool {
        self.error_class() == Some(class)
    }

    /// The `return` member, or the QMP error as [`QemuError::Qmp`].
    pub fn ret(&self) -> Result<&Value> {
        if let Some(e) = self.value.get("error") {
            return Err(QemuError::Qmp {
                command: self.command.clone(),
                class: e.get("class").and_then(Value::as_str).unwrap_or("").to_string(),
                desc: e.get("desc").and_then(Value::as_str).unwrap_or("unknown error").to_string(),
            });
        }
        self.value.get("return").ok_or_else(|| QemuError::Monitor(format!("reply to '{}' has no 'return'", self.command)))
    }

    fn ret_array(&self) -> Result<&Vec<Value>> {
        self.ret()?.as_array().ok_or_else(|| bad(&self.command, "is not an array"))
    }

    fn ret_object(&self) -> Result<&Map<String, Value>> {
        self.ret()?.as_object().ok_or_else(|| bad(&self.command, "is not an object"))
    }
}

fn bad(command: &str, what: &str) -> QemuError {
    QemuError::Monitor(format!("reply to '{command}' {what}"))
}

/// Execute `command` and parse its reply.
pub fn execute(mon: &mut dyn Monitor, command: &str, arguments: Option<Value>) -> Result<Reply> {
    let raw = mon.execute_raw(command, arguments)?;
    Reply::parse(command, raw)
}

/// Names (`"name"` members) of the objects of an array reply.
fn names(reply: &Reply, key: &str) -> Result<Vec<String>> {
    Ok(reply.ret_array()?.iter().filter_map(|v| v.get(key).and_then(Value::as_str)).map(str::to_string).collect())
}

fn string_array(reply: &Reply) -> Result<Vec<String>> {
    Ok(reply.ret_array()?.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

fn process_string_flags(caps: &mut QemuCaps, table: &[(&str, &str)], values: &[String]) {
    for (value, flag) in table {
        if !caps.has(flag) && values.iter().any(|v| v == value) {
            caps.set(flag);
        }
    }
}

/// libvirt's architecture name for QEMU's `query-target` arch.
pub fn arch_from_qemu(arch: &str) -> &str {
    match arch {
        "i386" => "i686",
        "arm" => "armv7l",
        other => other,
    }
}

fn is_x86(arch: &str) -> bool {
    matches!(arch, "i686" | "x86_64")
}

fn is_arm(arch: &str) -> bool {
    matches!(arch, "armv6l" | "armv7l" | "armv7b" | "aarch64")
}

fn is_ppc64(arch: &str) -> bool {
    matches!(arch, "ppc64" | "ppc64le")
}

/// The machine type libvirt prefers as default for `arch` over QEMU's own choice.
pub fn preferred_machine(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "alpha" => "clipper",
        "armv6l" | "armv7l" | "armv7b" | "aarch64" => "integratorcp",
        "cris" => "axis-dev88",
        "i686" | "x86_64" => "pc",
        "lm32" => "lm32-evr",
        "m68k" => "mcf5208evb",
        "microblaze" | "microblazeel" => "petalogix-s3adsp1800",
        "mips" | "mipsel" | "mips64" | "mips64el" => "malta",
        "or32" => "or1k-sim",
        "ppc" | "ppcle" => "g3beige",
        "ppc64" | "ppc64le" => "pseries",
        "ppcemb" => "bamboo",
        "riscv32" | "riscv64" => "spike_v1.10",
        "s390x" => "s390-ccw-virtio",
        "sh4" | "sh4eb" => "shix",
        "sparc" => "SS-5",
        "sparc64" => "sun4u",
        "unicore32" => "puv3",
        "xtensa" | "xtensaeb" => "sim",
        _ => return None,
    })
}

/// x86 CPU feature spellings where libvirt and QEMU differ: (libvirt, QEMU).
const X86_FEATURE_NAMES: &[(&str, &str)] = &[
    ("cmp_legacy", "cmp-legacy"),
    ("ds_cpl", "ds-cpl"),
    ("fxsr_opt", "fxsr-opt"),
    ("kvm_pv_eoi", "kvm-pv-eoi"),
    ("kvm_pv_unhalt", "kvm-pv-unhalt"),
    ("lahf_lm", "lahf-lm"),
    ("nodeid_msr", "nodeid-msr"),
    ("pclmuldq", "pclmulqdq"),
    ("perfctr_core", "perfctr-core"),
    ("perfctr_nb", "perfctr-nb"),
    ("tsc_adjust", "tsc-adjust"),
];

/// The name the cache document uses for a CPU feature QEMU reported: QEMU's spelling,
/// after a round trip through libvirt's spelling.
pub fn canonical_feature(arch: &str, qemu: &str) -> String {
    if !is_x86(arch) {
        return qemu.to_string();
    }
    let libvirt = X86_FEATURE_NAMES.iter().find(|(_, q)| *q == qemu).map(|(l, _)| *l).unwrap_or(qemu);
    X86_FEATURE_NAMES.iter().find(|(l, _)| *l == libvirt).map(|(_, q)| *q).unwrap_or(libvirt).to_string()
}

/// Hyper-V enlightenments in libvirt's order.
pub const HYPERV_FEATURES: &[&str] = &[
    "relaxed",
    "vapic",
    "spinlocks",
    "vpindex",
    "runtime",
    "synic",
    "stimer",
    "reset",
    "vendor_id",
    "frequencies",
    "reenlightenment",
    "tlbflush",
    "ipi",
    "evmcs",
    "avic",
];

/// POWER CPU model names as libvirt spells them (QEMU reports them in lower case).
const PPC64_MODELS: &[&str] = &["POWER6", "POWER7", "POWER8", "POWER9", "POWER10", "POWERPC_e5500", "POWERPC_e6500"];

/// The accelerator name the main probe stores its data under.
fn main_accel(caps: &QemuCaps) -> &'static str {
    if caps.has("kvm") {
        "kvm"
    } else if caps.has("hvf") {
        "hvf"
    } else {
        "tcg"
    }
}

/// The first probe, against a QEMU started with the best accelerator (libvirt's
/// `virQEMUCapsInitQMPMonitor`). `caps.emulator` should already be set.
pub fn probe_main(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    let v = execute(mon, "query-version", None)?;
    let ret = v.ret_object()?;
    let q = ret.get("qemu").ok_or_else(|| bad("query-version", "has no 'qemu'"))?;
    let part = |k: &str| q.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (major, minor, micro) = (part("major"), part("minor"), part("micro"));
    if (major, minor) < (4, 2) {
        return Err(QemuError::Unsupported(format!("QEMU version >= 4.2.0 is required, but {major}.{minor}.{micro} found")));
    }
    caps.version = major * 1_000_000 + minor * 1_000 + micro;
    caps.package = ret.get("package").and_then(Value::as_str).ok_or_else(|| bad("query-version", "has no 'package'"))?.to_string();
    caps.has_package = true;

    let t = execute(mon, "query-target", None)?;
    let arch = t.ret()?.get("arch").and_then(Value::as_str).ok_or_else(|| bad("query-target", "has no 'arch'"))?;
    caps.arch = arch_from_qemu(arch).to_string();

    init_basic_arch(caps);
    if caps.version < 5_002_000 {
        caps.set("enable-fips");
    }

    probe_schema(caps, mon)?;
    let c = execute(mon, "query-commands", None)?;
    process_string_flags(caps, tables::COMMANDS, &names(&c, "name")?);

    let k = execute(mon, "query-kvm", None)?;
    let kr = k.ret()?;
    if kr.get("enabled").and_then(Value::as_bool) == Some(true) && kr.get("present").and_then(Value::as_bool) == Some(true) {
        caps.set("kvm");
    }
    let accel = main_accel(caps);

    let types = execute(mon, "qom-list-types", None)?;
    process_string_flags(caps, tables::OBJECT_TYPES, &names(&types, "name")?);
    probe_device_props(caps, mon)?;
    probe_object_props(caps, mon)?;
    probe_machines(caps, accel, mon)?;
    probe_machine_props(caps, accel, mon)?;
    probe_cpu_definitions(caps, accel, mon)?;
    probe_tpm(caps, mon)?;
    probe_command_line(caps, mon)?;
    let m = execute(mon, "query-migrate-capabilities", None)?;
    process_string_flags(caps, tables::MIGRATION, &names(&m, "capability")?);
    probe_gic(caps, mon)?;
    probe_sev(caps, mon)?;
    probe_sgx(caps, mon)?;
    init_process_caps(caps);
    probe_host_cpu(caps, accel, mon)
}

/// The second probe, against a QEMU started with TCG, done when the first one found
/// KVM (libvirt's `virQEMUCapsInitQMPMonitorTCG`).
pub fn probe_tcg(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    probe_cpu_definitions(caps, "tcg", mon)?;
    probe_host_cpu(caps, "tcg", mon)?;
    probe_machines(caps, "tcg", mon)
}

fn init_basic_arch(caps: &mut QemuCaps) {
    let flags: &[&str] = match caps.arch.as_str() {
        "i686" | "x86_64" => &["no-acpi", "no-hpet"],
        "aarch64" => &["no-acpi", "aarch64-off", "gic-version"],
        "s390" | "s390x" => &["aes-key-wrap", "dea-key-wrap", "loadparm"],
        _ => &[],
    };
    for f in flags {
        caps.set(f);
    }
}

fn init_process_caps(caps: &mut QemuCaps) {
    if is_x86(&caps.arch) && caps.has("query-cpu-model-expansion") {
        caps.set("cpu-cache");
    }
    if caps.has("cpu-unavailable-features") {
        caps.set("canonical-cpu-features");
    }
    if matches!(caps.arch.as_str(), "sparc" | "m68k" | "mips") {
        caps.set("ncr53c90");
    }
    if caps.has("blockdev-reopen") && caps.has("migration-param.block-bitmap-mapping") {
        caps.set("incremental-backup");
    }
    if caps.has("object.qapified") {
        caps.set("compat-deprecated");
    }
    if caps.has("machine-hpet") {
        caps.clear("no-hpet");
    }
}

fn probe_schema(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    let r = execute(mon, "query-qmp-schema", None)?;
    let mut schema: HashMap<&str, &Value> = HashMap::new();
    for e in r.ret_array()? {
        if let Some(n) = e.get("name").and_then(Value::as_str) {
            schema.insert(n, e);
        }
    }
    for (query, flag) in tables::SCHEMA_QUERIES {
        if super::schema::path_exists(query, &schema) {
            caps.set(flag);
        }
    }
    Ok(())
}

fn probe_device_props(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    for (device, props, cond) in tables::DEVICE_PROPS {
        if cond.is_some_and(|c| !caps.has(c)) {
            continue;
        }
        let r = execute(mon, "device-list-properties", Some(json!({ "typename": device })))?;
        if r.has_error("DeviceNotFound") {
            continue;
        }
        let list = r.ret_array()?;
        for (prop, flag) in props.iter() {
            let Some(entry) = list.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(prop)) else {
                continue;
            };
            caps.set(flag);
            if *flag == "virtio-blk-pci.scsi" && entry.get("default-value").and_then(Value::as_bool) == Some(false) {
                caps.set("virtio-blk-pci.scsi.default.disabled");
            }
        }
    }
    Ok(())
}

fn object_props(mon: &mut dyn Monitor, typename: &str) -> Result<Vec<String>> {
    let r = execute(mon, "qom-list-properties", Some(json!({ "typename": typename })))?;
    if r.has_error("DeviceNotFound") {
        return Ok(Vec::new());
    }
    names(&r, "name")
}

fn probe_object_props(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    for (typ, props, cond) in tables::OBJECT_PROPS {
        if cond.is_some_and(|c| !caps.has(c)) {
            continue;
        }
        let values = object_props(mon, typ)?;
        process_string_flags(caps, props, &values);
    }
    Ok(())
}

fn probe_machines(caps: &mut QemuCaps, accel: &str, mon: &mut dyn Monitor) -> Result<()> {
    let r = execute(mon, "query-machines", None)?;
    let preferred = preferred_machine(&caps.arch);
    let mut list: Vec<Machine> = Vec::new();
    let (mut pref_idx, mut def_idx) = (None, None);
    for m in r.ret_array()? {
        let Some(name) = m.get("name").and_then(Value::as_str) else {
            return Err(bad("query-machines", "has an entry without 'name'"));
        };
        if name == "none" {
            continue;
        }
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let b = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mach = Machine {
            accel: accel.to_string(),
            name: name.to_string(),
            alias: s("alias"),
            max_cpus: m.get("cpu-max").and_then(Value::as_u64).and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
            default: b("is-default"),
            default_cpu: s("default-cpu-type"),
            default_ram_id: s("default-ram-id"),
            deprecated: b("deprecated"),
            hotplug_cpus: b("hotpluggable-cpus"),
            numa_mem_supported: m.get("numa-mem-supported").map(|v| v.as_bool().unwrap_or(false)).unwrap_or(true),
        };
        if preferred.is_some_and(|p| mach.alias.as_deref() == Some(p) || mach.name == p) {
            pref_idx = Some(list.len());
        }
        if mach.default {
            def_idx = Some(list.len());
        }
        list.push(mach);
    }
    if let Some(i) = pref_idx.or(def_idx) {
        let m = list.remove(i);
        list.insert(0, m);
    }
    caps.machines.retain(|m| m.accel != accel);
    caps.machines.extend(list);
    Ok(())
}

fn probe_machine_props(caps: &mut QemuCaps, accel: &str, mon: &mut dyn Monitor) -> Result<()> {
    for (typ, props, _) in tables::MACHINE_PROPS {
        let canon = caps.canonical_machine(accel, typ).map(|m| m.name.clone()).unwrap_or_else(|| typ.to_string());
        if canon != "none" && !caps.machines.iter().any(|m| m.accel == accel && m.name == canon) {
            continue;
        }
        let values = object_props(mon, &format!("{canon}-machine"))?;
        process_string_flags(caps, props, &values);
    }
    Ok(())
}

fn probe_cpu_definitions(caps: &mut QemuCaps, accel: &str, mon: &mut dyn Monitor) -> Result<()> {
    if !caps.has("query-cpu-definitions") {
        return Ok(());
    }
    let r = execute(mon, "query-cpu-definitions", None)?;
    caps.cpu_models.retain(|c| c.accel != accel);
    if r.has_error("GenericError") {
        return Ok(());
    }
    let arch = caps.arch.clone();
    for d in r.ret_array()? {
        let Some(name) = d.get("name").and_then(Value::as_str) else {
            return Err(bad("query-cpu-definitions", "has an entry without 'name'"));
        };
        let mut name = name.to_string();
        if is_ppc64(&arch) {
            if let Some(m) = PPC64_MODELS.iter().find(|m| m.eq_ignore_ascii_case(&name)) {
                name = (*m).to_string();
            }
        }
        let (usable, blockers) = match d.get("unavailable-features").and_then(Value::as_array) {
            Some(f) if !f.is_empty() => {
                (Some(false), Some(f.iter().filter_map(Value::as_str).map(|q| canonical_feature(&arch, q)).collect()))
            }
            Some(_) => (Some(true), None),
            None => (None, None),
        };
        caps.cpu_models.push(CpuModel {
            accel: accel.to_string(),
            name,
            typename: d.get("typename").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string),
            usable,
            deprecated: d.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
            blockers,
        });
    }
    if caps.cpu_models.iter().any(|c| c.accel == accel && c.name == "max") {
        caps.set("cpu-max");
    }
    Ok(())
}

fn probe_tpm(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    let r = execute(mon, "query-tpm-models", None)?;
    if r.has_error("CommandNotFound") {
        return Ok(());
    }
    let models = string_array(&r)?;
    for (model, flag) in [("tpm-tis", "tpm-tis"), ("tpm-crb", "tpm-crb"), ("tpm-spapr", "tpm-spapr")] {
        if models.iter().any(|m| m == model) {
            caps.set(flag);
        }
    }
    let r = execute(mon, "query-tpm-types", None)?;
    if r.has_error("CommandNotFound") {
        return Ok(());
    }
    let types = string_array(&r)?;
    for (typ, flag) in [("passthrough", "tpm-passthrough"), ("emulator", "tpm-emulator")] {
        if types.iter().any(|t| t == typ) {
            caps.set(flag);
        }
    }
    Ok(())
}

fn probe_command_line(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    let r = execute(mon, "query-command-line-options", None)?;
    let mut options: HashMap<&str, &Value> = HashMap::new();
    for o in r.ret_array()? {
        if let (Some(name), Some(params)) = (o.get("option").and_then(Value::as_str), o.get("parameters")) {
            options.insert(name, params);
        }
    }
    for (option, param, flag) in tables::COMMAND_LINE {
        let Some(params) = options.get(option) else { continue };
        match param {
            None => caps.set(flag),
            Some(p) => {
                let found = params.as_array().is_some_and(|a| a.iter().any(|x| x.get("name").and_then(Value::as_str) == Some(p)));
                if found {
                    caps.set(flag);
                }
            }
        }
    }
    Ok(())
}

fn probe_gic(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    if !matches!(caps.arch.as_str(), "aarch64" | "armv6l" | "armv7l") {
        return Ok(());
    }
    let r = execute(mon, "query-gic-capabilities", None)?;
    if r.has_error("CommandNotFound") {
        return Ok(());
    }
    caps.gic.clear();
    for g in r.ret_array()? {
        let version = g.get("version").and_then(Value::as_u64).ok_or_else(|| bad("query-gic-capabilities", "lacks 'version'"))?;
        caps.gic.push(Gic {
            version: u32::try_from(version).unwrap_or(0),
            kernel: g.get("kernel").and_then(Value::as_bool).unwrap_or(false),
            emulated: g.get("emulated").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    Ok(())
}

fn probe_sev(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    if !caps.has("sev-guest") {
        return Ok(());
    }
    let r = execute(mon, "query-sev-capabilities", None)?;
    if r.has_error("GenericError") {
        caps.clear("sev-guest");
        return Ok(());
    }
    let o = r.ret_object()?;
    let n = |k: &str| {
        o.get(k).and_then(Value::as_u64).and_then(|v| u32::try_from(v).ok()).ok_or_else(|| bad("query-sev-capabilities", "lacks a number"))
    };
    let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| bad("query-sev-capabilities", "lacks a string"));
    caps.sev = Some(Sev {
        cbitpos: n("cbitpos")?,
        reduced_phys_bits: n("reduced-phys-bits")?,
        pdh: s("pdh")?,
        cert_chain: s("cert-chain")?,
        cpu0_id: o.get("cpu0-id").and_then(Value::as_str).map(str::to_string),
    });
    Ok(())
}

fn probe_sgx(caps: &mut QemuCaps, mon: &mut dyn Monitor) -> Result<()> {
    if !caps.has("sgx-epc") {
        return Ok(());
    }
    let r = execute(mon, "query-sgx-capabilities", None)?;
    if r.has_error("GenericError") {
        caps.clear("sgx-epc");
        return Ok(());
    }
    let o = r.ret_object()?;
    let b = |k: &str| o.get(k).and_then(Value::as_bool).ok_or_else(|| bad("query-sgx-capabilities", "lacks a boolean"));
    let mut sgx = Sgx { flc: b("flc")?, sgx1: b("sgx1")?, sgx2: b("sgx2")?, ..Default::default() };
    let Some(sections) = o.get("sections").and_then(Value::as_array) else {
        // QEMU before 7.0 reports no sections; libvirt does not use SGX there.
        return Ok(());
    };
    let mut sum = 0;
    for s in sections {
        let size = s.get("size").and_then(Value::as_u64).unwrap_or(0) / 1024;
        let node = s.get("node").and_then(Value::as_u64).and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
        sum += size;
        sgx.sections.push((node, size));
    }
    sgx.section_size = match o.get("section-size").and_then(Value::as_u64) {
        Some(s) => s / 1024,
        None => sum,
    };
    caps.sgx = Some(sgx);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expansion {
    Static,
    StaticFull,
    Full,
}

/// One `query-cpu-model-expansion` result: model name and properties in QEMU's order.
struct Expanded {
    name: String,
    props: Vec<(String, Value)>,
    model: Value,
}

fn expand_one(mon: &mut dyn Monitor, typ: &str, model: Value, fail_no_props: bool) -> Result<Option<Expanded>> {
    let r = execute(mon, "query-cpu-model-expansion", Some(json!({ "type": typ, "model": model })))?;
    if r.has_error("GenericError") {
        return Ok(None);
    }
    let o = r.ret_object()?;
    let model = o.get("model").filter(|m| m.is_object()).ok_or_else(|| bad("query-cpu-model-expansion", "lacks 'model'"))?;
    let name = model.get("name").and_then(Value::as_str).ok_or_else(|| bad("query-cpu-model-expansion", "lacks 'name'"))?;
    let props = match model.get("props").and_then(Value::as_object) {
        Some(p) => {
            let order = super::json_keys::object_keys(&r.raw, &["return", "model", "props"]).unwrap_or_default();
            let mut out: Vec<(String, Value)> = Vec::with_capacity(p.len());
            let mut seen = HashSet::new();
            for k in order.iter().chain(p.keys()) {
                if let Some(v) = p.get(k) {
                    if seen.insert(k.clone()) {
                        out.push((k.clone(), v.clone()));
                    }
                }
            }
            out
        }
        None if fail_no_props => return Err(bad("query-cpu-model-expansion", "lacks 'props'")),
        None => Vec::new(),
    };
    Ok(Some(Expanded { name: name.to_string(), props, model: model.clone() }))
}

fn expand(mon: &mut dyn Monitor, typ: Expansion, model: Value, fail_no_props: bool) -> Result<Option<Expanded>> {
    let first = if typ == Expansion::Full { "full" } else { "static" };
    let Some(e) = expand_one(mon, first, model, fail_no_props)? else { return Ok(None) };
    if typ == Expansion::StaticFull {
        return expand_one(mon, "full", e.model, fail_no_props);
    }
    Ok(Some(e))
}

fn to_props(e: &Expanded) -> Vec<CpuProp> {
    e.props
        .iter()
        .filter_map(|(k, v)| {
            let value = match v {
                Value::String(s) => CpuPropValue::Str(s.clone()),
                Value::Bool(b) => CpuPropValue::Bool(*b),
                Value::Number(n) => CpuPropValue::Number(n.as_i64()?),
                _ => return None,
            };
            Some(CpuProp { name: k.clone(), value, migratable: None })
        })
        .collect()
}

fn probe_host_cpu(caps: &mut QemuCaps, accel: &str, mon: &mut dyn Monitor) -> Result<()> {
    if !caps.has("query-cpu-model-expansion") {
        return Ok(());
    }
    let accelerated = accel != "tcg";
    let model = if accelerated { "host" } else { "max" };
    let arch = caps.arch.clone();
    let typ = if is_x86(&arch) && !caps.has("canonical-cpu-features") {
        Expansion::StaticFull
    } else if is_arm(&arch) {
        Expansion::Full
    } else {
        Expansion::Static
    };
    let fail_no_props = !matches!(arch.as_str(), "s390" | "s390x");
    let info = expand(mon, typ, json!({ "name": model }), fail_no_props)?;
    let mut host =
        info.as_ref().map(|e| HostCpu { accel: accel.to_string(), model: e.name.clone(), migratability: false, props: to_props(e) });
    if let Some(h) = host.as_mut().filter(|_| is_x86(&arch)) {
        let nm = expand(mon, typ, json!({ "name": model, "props": { "migratable": false } }), fail_no_props)?;
        if let Some(nm) = nm {
            let nm_props = to_props(&nm);
            let idx: HashMap<&str, usize> = h.props.iter().enumerate().map(|(i, p)| (p.name.as_str(), i)).collect();
            let mut updates = Vec::new();
            for p in &nm_props {
                let Some(&i) = idx.get(p.name.as_str()) else { continue };
                if let (CpuPropValue::Bool(mine), CpuPropValue::Bool(theirs)) = (&h.props[i].value, &p.value) {
                    if *mine {
                        updates.push((i, true, true));
                    } else if *theirs {
                        updates.push((i, true, false));
                    }
                }
            }
            for (i, value, migratable) in updates {
                h.props[i].value = CpuPropValue::Bool(value);
                h.props[i].migratable = Some(migratable);
            }
            h.migratability = true;
        }
    }
    if accelerated && (is_x86(&arch) || is_arm(&arch)) {
        let full = expand(mon, Expansion::Full, json!({ "name": model, "props": { "migratable": false, "hv-passthrough": true } }), true)?;
        if let Some(full) = full {
            probe_hyperv(caps, &full);
        }
    }
    caps.host_cpus.retain(|h| h.accel != accel);
    if let Some(h) = host {
        caps.host_cpus.push(h);
    }
    Ok(())
}

fn probe_hyperv(caps: &mut QemuCaps, full: &Expanded) {
    let mut found = vec![false; HYPERV_FEATURES.len()];
    for (name, value) in &full.props {
        let Some(hv) = name.strip_prefix("hv-") else { continue };
        let idx = HYPERV_FEATURES.iter().position(|f| *f == hv).or_else(|| {
            let u = hv.replace('-', "_");
            HYPERV_FEATURES.iter().position(|f| *f == u)
        });
        let Some(idx) = idx else { continue };
        let on = match value {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_i64().is_some_and(|v| v > 0),
            Value::String(_) => true,
            _ => false,
        };
        if on {
            found[idx] = true;
        }
    }
    if !found.iter().any(|f| *f) {
        return;
    }
    caps.hyperv = Some(Hyperv {
        supported: Some(true),
        caps: HYPERV_FEATURES.iter().zip(found).filter(|(_, f)| *f).map(|(n, _)| (*n).to_string()).collect(),
    });
}
