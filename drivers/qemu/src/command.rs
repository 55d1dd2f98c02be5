//! Domain definition → QEMU command line (libvirt's `qemuBuildCommandLine`), the
//! modern way: `-blockdev` for storage, `-device`/`-object`/`-netdev` in JSON when the
//! binary accepts it, `-audiodev`, `-sandbox`.
//!
//! The input is a definition that went through [`crate::postparse::post_parse`], so
//! every device has its model and address.

use crate::error::{QemuError, Result};
use crate::postparse::{machine_of, Setup};
use oxvirt_conf::domain::{Address, Chardev, ChrSource, Disk, DomainDef};
use oxvirt_conf::xml::{El, XNode};

mod validate;

/// A QEMU process to start: environment, binary and arguments.
#[derive(Debug, Clone, Default)]
pub struct Command {
    /// Environment variables in order.
    pub env: Vec<(String, String)>,
    /// The emulator binary.
    pub binary: String,
    /// Arguments.
    pub args: Vec<String>,
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && !s.chars().any(|c| "\"'\\ \t\n$`|&;<>()*?[]#~!{}".contains(c)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Command {
    /// The command on one line, variables first, each word shell-quoted where needed
    /// (libvirt's `virCommandToString(cmd, false)`, what `virConnectDomainXMLToNative`
    /// returns).
    pub fn to_line(&self) -> String {
        let env = self.env.iter().map(|(k, v)| format!("{k}={}", shell_quote(v)));
        let words = std::iter::once(shell_quote(&self.binary)).chain(self.args.iter().map(|a| shell_quote(a)));
        env.chain(words).collect::<Vec<_>>().join(" ")
    }

    /// The command in the layout of libvirt's `.args` test files: one variable or
    /// option (with its value) per line, lines joined with ` \`.
    pub fn to_args_file(&self) -> String {
        let mut lines: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={}", shell_quote(v))).collect();
        lines.push(shell_quote(&self.binary));
        for a in &self.args {
            let q = shell_quote(a);
            match lines.last_mut() {
                Some(l) if !a.starts_with('-') && l.starts_with('-') => {
                    l.push(' ');
                    l.push_str(&q);
                }
                _ => lines.push(q),
            }
        }
        let mut out = lines.join(" \\\n");
        out.push('\n');
        out
    }

    fn arg(&mut self, a: impl Into<String>) {
        self.args.push(a.into());
    }

    fn opt(&mut self, o: &str, v: impl Into<String>) {
        self.args.push(o.to_string());
        self.args.push(v.into());
    }
}

/// A property value of a device, object or backend.
#[derive(Debug, Clone)]
enum V {
    S(String),
    N(i64),
    B(bool),
    O(Props),
}

/// Ordered properties (QEMU's keyval or JSON syntax).
#[derive(Debug, Clone, Default)]
struct Props(Vec<(String, V)>);

impl Props {
    fn s(mut self, k: &str, v: impl Into<String>) -> Self {
        self.0.push((k.into(), V::S(v.into())));
        self
    }
    fn n(mut self, k: &str, v: i64) -> Self {
        self.0.push((k.into(), V::N(v)));
        self
    }
    fn b(mut self, k: &str, v: bool) -> Self {
        self.0.push((k.into(), V::B(v)));
        self
    }
    fn o(mut self, k: &str, v: Props) -> Self {
        self.0.push((k.into(), V::O(v)));
        self
    }
    fn push_s(&mut self, k: &str, v: impl Into<String>) {
        self.0.push((k.into(), V::S(v.into())));
    }
    fn push_n(&mut self, k: &str, v: i64) {
        self.0.push((k.into(), V::N(v)));
    }
    fn push_b(&mut self, k: &str, v: bool) {
        self.0.push((k.into(), V::B(v)));
    }
    fn push_o(&mut self, k: &str, v: Props) {
        self.0.push((k.into(), V::O(v)));
    }

    fn json(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::Value::String(k.clone()).to_string());
            out.push(':');
            match v {
                V::S(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
                V::N(n) => out.push_str(&n.to_string()),
                V::B(b) => out.push_str(if *b { "true" } else { "false" }),
                V::O(o) => out.push_str(&o.json()),
            }
        }
        out.push('}');
        out
    }

    /// keyval syntax; `lead` is the key whose value is written bare first.
    fn keyval(&self, lead: &str) -> String {
        let mut parts = Vec::new();
        for (k, v) in &self.0 {
            let val = match v {
                V::S(s) => s.replace(',', ",,"),
                V::N(n) => n.to_string(),
                V::B(b) => if *b { "on" } else { "off" }.to_string(),
                V::O(_) => continue,
            };
            if k == lead {
                parts.insert(0, val);
            } else {
                parts.push(format!("{k}={val}"));
            }
        }
        parts.join(",")
    }
}

fn attr<'a>(e: &'a El, k: &str) -> Option<&'a str> {
    e.attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn child<'a>(e: &'a El, name: &str) -> Option<&'a El> {
    e.children.iter().find_map(|c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
}

fn elements<'a>(e: &'a El, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
    e.children.iter().filter_map(move |c| match c {
        XNode::El(x) if x.name == name => Some(x),
        _ => None,
    })
}

fn text(e: &El) -> String {
    e.children
        .iter()
        .filter_map(|c| match c {
            XNode::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

use crate::caps::probe::HYPERV_FEATURES;

/// x86 CPU feature names whose QEMU spelling differs from libvirt's.
fn translate_feature(name: &str) -> &str {
    match name {
        "cmp_legacy" => "cmp-legacy",
        "ds_cpl" => "ds-cpl",
        "fxsr_opt" => "fxsr-opt",
        "kvm_pv_eoi" => "kvm-pv-eoi",
        "kvm_pv_unhalt" => "kvm-pv-unhalt",
        "lahf_lm" => "lahf-lm",
        "nodeid_msr" => "nodeid-msr",
        "pclmuldq" => "pclmulqdq",
        "perfctr_core" => "perfctr-core",
        "perfctr_nb" => "perfctr-nb",
        "tsc_adjust" => "tsc-adjust",
        n => n,
    }
}

fn unsupported(msg: impl Into<String>) -> QemuError {
    QemuError::Unsupported(msg.into())
}

/// The `-netdev` of tap-backed NIC `i` (libvirt's `qemuBuildHostNetProps` for
/// ethernet and bridge). With `tap_fds` as in libvirt's test suite: the tap passed as
/// descriptor 3 and, for virtio models, vhost-net as 44; otherwise the runtime's
/// persistent tap, which QEMU opens by name (see `runtime/net.rs`), without vhost-net.
fn tap_netdev_props(n: &oxvirt_conf::domain::Interface, i: usize, tap_fds: bool) -> Props {
    let mut p = Props::default().s("type", "tap");
    if tap_fds {
        p.push_s("fd", "3");
        if matches!(n.model.as_deref(), Some("virtio" | "virtio-transitional" | "virtio-non-transitional")) {
            p.push_b("vhost", true);
            p.push_s("vhostfd", "44");
        }
    } else {
        if let Some(name) = &n.target_dev {
            p.push_s("ifname", name);
        }
        p.push_s("script", "no");
        p.push_s("downscript", "no");
    }
    p.push_s("id", format!("hostnet{i}"));
    p
}

/// `<driver cache>` as (direct, no-flush, write-cache).
fn disk_cache(disk: &Disk) -> Option<(bool, bool, bool)> {
    let c = disk.driver.as_ref().and_then(|d| attr(d, "cache"))?;
    Some(match c {
        "writeback" => (false, false, true),
        "none" => (true, false, true),
        "writethrough" => (false, false, false),
        "directsync" => (true, false, false),
        "unsafe" => (false, true, true),
        _ => return None,
    })
}

/// The `-blockdev` nodes of `disk` (storage `libvirt-NODE-storage`, then format
/// `libvirt-NODE-format`), libvirt's `qemuBlockStorageSourceGetBackendProps` and
/// `qemuBlockStorageSourceGetFormatProps` for the file and block sources this driver
/// supports; shared by the command line and hotplug (`blockdev-add`).
fn blockdev_props(disk: &Disk, node: usize) -> Result<[Props; 2]> {
    let path = disk.source.path.clone().unwrap_or_default();
    if !disk.other.iter().all(|o| matches!(o.name.as_str(), "backingStore")) || disk.serial.is_some() {
        return Err(unsupported("disk options are not supported by this driver yet"));
    }
    if let Some(drv) = &disk.driver {
        if drv.attrs.iter().any(|(k, _)| !matches!(k.as_str(), "name" | "type" | "cache")) {
            return Err(unsupported("disk driver options are not supported by this driver yet"));
        }
    }
    let driver = match (disk.disk_type.as_str(), disk.device.as_str()) {
        ("block", "cdrom") => "host_cdrom",
        ("block", _) => "host_device",
        ("file", _) => "file",
        (t, _) => return Err(unsupported(format!("disk type '{t}' is not supported yet"))),
    };
    let cache = disk_cache(disk);
    let cache_props = |(direct, noflush, _): (bool, bool, bool)| Props::default().b("direct", direct).b("no-flush", noflush);
    let mut p = Props::default().s("driver", driver).s("filename", path).s("node-name", format!("libvirt-{node}-storage"));
    if let Some(c) = cache {
        p = p.o("cache", cache_props(c));
    }
    p = p.b("auto-read-only", true).s("discard", "unmap");
    let ro = disk.readonly || disk.device == "cdrom";
    let mut f = Props::default().s("node-name", format!("libvirt-{node}-format")).b("read-only", ro);
    if let Some(c) = cache {
        f = f.o("cache", cache_props(c));
    }
    let fmt = disk.driver_type().unwrap_or("raw").to_string();
    f = f.s("driver", fmt).s("file", format!("libvirt-{node}-storage"));
    Ok([p, f])
}

/// The `-device` of `disk` (libvirt's `qemuBuildDiskDeviceProps`), its id the alias
/// libvirt gives it; shared by the command line and hotplug (`device_add`).
fn disk_device_props(def: &DomainDef, disk: &Disk, node: Option<usize>, boot: Option<u32>) -> Result<Props> {
    let cd = disk.device == "cdrom";
    let mut p = Props::default();
    let drive = |p: &mut Props| {
        if let Some(n) = node {
            p.push_s("drive", format!("libvirt-{n}-format"));
        }
    };
    match (disk.target_bus.as_str(), &disk.info.address) {
        ("ide", Some(Address::Drive { controller, bus, unit, .. })) => {
            p.push_s("driver", if cd { "ide-cd" } else { "ide-hd" });
            p.push_s("bus", format!("ide.{bus}"));
            p.push_n("unit", *unit as i64);
            drive(&mut p);
            p.push_s("id", format!("ide{controller}-{bus}-{unit}"));
        }
        ("sata", Some(Address::Drive { controller, bus, unit, .. })) => {
            p.push_s("driver", if cd { "ide-cd" } else { "ide-hd" });
            if *controller == 0 && crate::postparse::is_q35(def) {
                p.push_s("bus", format!("ide.{unit}"));
            } else {
                p.push_s("bus", format!("sata{controller}.{unit}"));
            }
            drive(&mut p);
            p.push_s("id", format!("sata{controller}-{bus}-{unit}"));
        }
        ("scsi", Some(Address::Drive { controller, bus, target, unit })) => {
            let lsi = def
                .devices
                .controllers
                .iter()
                .any(|c| c.controller_type == "scsi" && c.index == Some(*controller) && c.model.as_deref() == Some("lsilogic"));
            p.push_s("driver", if cd { "scsi-cd" } else { "scsi-hd" });
            if lsi {
                p.push_s("bus", format!("scsi{controller}.{bus}"));
                p.push_n("scsi-id", *unit as i64);
            } else {
                p.push_s("bus", format!("scsi{controller}.0"));
                p.push_n("channel", *bus as i64);
                p.push_n("scsi-id", *target as i64);
                p.push_n("lun", *unit as i64);
            }
            p.push_s("device_id", format!("drive-scsi{controller}-{bus}-{unit}"));
            drive(&mut p);
            p.push_s("id", format!("scsi{controller}-{bus}-{unit}"));
        }
        ("virtio", a) => {
            p.push_s("driver", virtio_driver("virtio-blk", a));
            dev_addr(def, a, &mut p);
            drive(&mut p);
            let idx = crate::postparse::disk_index(&disk.target_dev).unwrap_or(0);
            p.push_s("id", format!("virtio-disk{idx}"));
        }
        (bus, _) => return Err(unsupported(format!("disk bus '{bus}' is not supported by this driver yet"))),
    }
    if let Some(b) = boot {
        p.push_n("bootindex", b as i64);
    }
    if let Some((_, _, wc)) = disk_cache(disk) {
        p.push_s("write-cache", if wc { "on" } else { "off" });
    }
    Ok(p)
}

/// The `-netdev` of user-mode NIC `i`.
fn user_netdev_props(i: usize) -> Props {
    Props::default().s("type", "user").s("id", format!("hostnet{i}"))
}

/// The `-device` of NIC `n` named `net{i}` on backend `hostnet{i}` (libvirt's
/// `qemuBuildNicDevProps`); shared by the command line and hotplug (`device_add`).
fn net_device_props(def: &DomainDef, n: &oxvirt_conf::domain::Interface, i: usize, boot: Option<u32>) -> Result<Props> {
    let model = n.model.clone().unwrap_or_else(|| "rtl8139".into());
    let virtio = virtio_driver("virtio-net", &n.info.address);
    let driver = match model.as_str() {
        "virtio" => virtio.as_str(),
        "e1000" | "rtl8139" | "e1000e" | "vmxnet3" => model.as_str(),
        other => return Err(unsupported(format!("interface model '{other}'"))),
    };
    let mut p = Props::default().s("driver", driver);
    if let Some(mtu) = crate::runtime::net::mtu(n).filter(|_| model == "virtio") {
        p.push_n("host_mtu", i64::from(mtu));
    }
    p.push_s("netdev", format!("hostnet{i}"));
    p.push_s("id", format!("net{i}"));
    p.push_s("mac", &n.mac);
    if let Some(b) = boot {
        p.push_n("bootindex", b as i64);
    }
    dev_addr(def, &n.info.address, &mut p);
    rom_props(&n.info.extra, &mut p);
    Ok(p)
}

/// QMP arguments for hotplug (`qemu_hotplug.c`), built by the same property builders
/// as the command line.
pub mod hotplug {
    use super::*;
    use serde_json::Value;

    fn value(p: &Props) -> Value {
        serde_json::from_str(&p.json()).unwrap_or(Value::Null)
    }

    /// The `blockdev-add` arguments (storage node, then format node) of `disk` with
    /// node names `libvirt-NODE-storage`/`-format`.
    pub fn disk_blockdevs(disk: &Disk, node: usize) -> Result<Vec<Value>> {
        Ok(blockdev_props(disk, node)?.iter().map(value).collect())
    }

    /// The `device_add` arguments of `disk` (address assigned) in `def`, on format
    /// node `libvirt-NODE-format` (none for an empty drive).
    pub fn disk_device(def: &DomainDef, disk: &Disk, node: Option<usize>) -> Result<Value> {
        disk_device_props(def, disk, node, None).map(|p| value(&p))
    }

    /// The `chardev-add` backend of a character device's host side (libvirt's
    /// `qemuChardevGetBackendProps`), for the types this driver runs.
    pub fn chardev_backend(s: &oxvirt_conf::domain::ChrSource) -> Result<Value> {
        let path = s.path.clone().unwrap_or_default();
        Ok(match s.chr_type.as_str() {
            "null" | "pty" | "vc" | "stdio" => serde_json::json!({ "type": s.chr_type, "data": {} }),
            "file" => {
                let mut data = serde_json::json!({ "out": path });
                if let Some(a) = &s.append {
                    data["append"] = Value::Bool(a == "on");
                }
                serde_json::json!({ "type": "file", "data": data })
            }
            "pipe" => serde_json::json!({ "type": "pipe", "data": { "device": path } }),
            "dev" => serde_json::json!({ "type": "serial", "data": { "device": path } }),
            "unix" | "tcp" => {
                if s.tls.is_some() || s.reconnect.is_some() {
                    return Err(unsupported("chardev TLS/reconnect is not supported by this driver yet"));
                }
                let addr = if s.chr_type == "unix" {
                    serde_json::json!({ "type": "unix", "data": { "path": path } })
                } else {
                    serde_json::json!({ "type": "inet", "data": {
                        "host": s.host.clone().unwrap_or_default(), "port": s.service.clone().unwrap_or_default() } })
                };
                let mut data = serde_json::json!({ "addr": addr, "server": s.listen });
                if s.listen {
                    data["wait"] = Value::Bool(false);
                }
                if s.protocol.as_deref() == Some("telnet") {
                    data["telnet"] = Value::Bool(true);
                }
                serde_json::json!({ "type": "socket", "data": data })
            }
            other => return Err(unsupported(format!("chardev type '{other}' is not supported by this driver yet"))),
        })
    }

    /// The `device_add` arguments of virtio channel `c` (address assigned) with alias
    /// `alias` on chardev `char{alias}`, as the command line's `virtserialport`.
    pub fn channel_device(c: &oxvirt_conf::domain::Chardev, alias: &str) -> Result<Value> {
        let mut p = Props::default().s("driver", "virtserialport");
        if let Some(Address::VirtioSerial { controller, bus, port }) = c.info.address {
            p = p.s("bus", format!("virtio-serial{controller}.{bus}")).n("nr", port as i64);
        }
        p = p.s("chardev", format!("char{alias}")).s("id", alias);
        if let Some(n) = c.target.as_ref().and_then(|t| attr(t, "name")) {
            p = p.s("name", n);
        }
        Ok(value(&p))
    }

    /// The `netdev_add` and `device_add` arguments of NIC `n` of `def` with alias
    /// `net{idx}` (backend `hostnet{idx}`); a tap NIC's tap is `n.target_dev`.
    pub fn net(def: &DomainDef, n: &oxvirt_conf::domain::Interface, idx: usize) -> Result<(Value, Value)> {
        let netdev = match n.iface_type.as_str() {
            "user" if n.other.is_empty() => user_netdev_props(idx),
            "ethernet" | "bridge" => {
                crate::runtime::net::check(n)?;
                tap_netdev_props(n, idx, false)
            }
            _ => return Err(unsupported(format!("interface type '{}' is not supported by this driver yet", n.iface_type))),
        };
        let dev = net_device_props(def, n, idx, None)?;
        Ok((value(&netdev), value(&dev)))
    }
}

struct Builder<'a> {
    def: &'a DomainDef,
    setup: &'a Setup,
    cmd: Command,
    run: &'a RunPaths,
}

/// Where the files of one run are, as the command line names them: libvirt's test
/// suite's placeholders for the offline tool ([`RunPaths::test_suite`]), the real
/// private directory and sockets for the runtime ([`RunPaths::real`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPaths {
    /// The domain's private directory (`master-key.aes`, `HOME` of QEMU).
    pub lib_dir: String,
    /// The monitor socket QEMU listens on; `None`: a descriptor passed by the caller
    /// (the test suite's fake descriptor 1729).
    pub monitor: Option<String>,
    /// Whether listening unix chardevs get their `<source path>` (`true`) or, as in
    /// libvirt, a pre-opened descriptor (the test suite's 1729).
    pub listen_paths: bool,
    /// Whether taps are descriptors passed by the caller (the test suite's `fd=3`,
    /// vhost-net `44`) rather than persistent devices QEMU opens by name.
    pub tap_fds: bool,
}

impl RunPaths {
    /// libvirt's test suite's values: `/tmp/lib/domain--1-SHORTNAME`, descriptor 1729.
    pub fn test_suite(def: &DomainDef) -> RunPaths {
        // libvirt's short domain name: at most 20 characters.
        let short: String = def.name.chars().take(20).collect();
        RunPaths { lib_dir: format!("/tmp/lib/domain--1-{short}"), monitor: None, listen_paths: false, tap_fds: true }
    }

    /// A live run: QEMU binds the monitor and listening chardevs at their paths.
    pub fn real(lib_dir: &std::path::Path, monitor: &std::path::Path) -> RunPaths {
        RunPaths {
            lib_dir: lib_dir.display().to_string(),
            monitor: Some(monitor.display().to_string()),
            listen_paths: true,
            tap_fds: false,
        }
    }
}

/// Build the command line of `def` (after post-parse) for the binary in `setup.caps`,
/// naming the run's files as `run` says.
pub fn build(def: &DomainDef, setup: &Setup, run: &RunPaths) -> Result<Command> {
    validate::validate(def, setup)?;
    let mut b = Builder { def, setup, cmd: Command::default(), run };
    b.check_supported()?;
    b.build()?;
    Ok(b.cmd)
}

/// The QEMU bus name of PCI bus `bus` (the alias of the controller with that index).
fn pci_bus_name(def: &DomainDef, bus: u32) -> String {
    let c = def.devices.controllers.iter().find(|c| c.controller_type == "pci" && c.index == Some(bus));
    match c.and_then(|c| c.model.as_deref()) {
        Some("pcie-root") => "pcie.0".to_string(),
        _ => format!("pci.{bus}"),
    }
}

fn pci_addr(def: &DomainDef, a: &Option<Address>, p: &mut Props) {
    if let Some(Address::Pci { bus, slot, function, multifunction, .. }) = a {
        p.push_s("bus", pci_bus_name(def, *bus));
        match multifunction.as_deref() {
            Some("on") => p.push_b("multifunction", true),
            Some("off") => p.push_b("multifunction", false),
            _ => {}
        }
        if *function != 0 {
            p.push_s("addr", format!("0x{slot:x}.0x{function:x}"));
        } else {
            p.push_s("addr", format!("0x{slot:x}"));
        }
    }
}

/// Device address properties of any address type (libvirt's
/// `qemuBuildDeviceAddressProps`).
fn dev_addr(def: &DomainDef, a: &Option<Address>, p: &mut Props) {
    match a {
        Some(Address::Pci { .. }) => pci_addr(def, a, p),
        Some(Address::Ccw { cssid, ssid, devno }) => p.push_s("devno", format!("{cssid:x}.{ssid:x}.{devno:04x}")),
        Some(Address::Usb { bus, port }) => {
            p.push_s("bus", format!("usb.{bus}"));
            if let Some(port) = port {
                p.push_s("port", port.clone());
            }
        }
        Some(Address::Other(e)) => {
            let num = |k: &str| attr(e, k).and_then(|v| oxvirt_conf::xml::parse_uint(v, 0));
            match attr(e, "type") {
                Some("spapr-vio") => {
                    if let Some(r) = num("reg") {
                        p.push_n("reg", r as i64);
                    }
                }
                Some("isa") => {
                    if let Some(v) = num("iobase") {
                        p.push_n("iobase", v as i64);
                    }
                    if let Some(v) = num("irq") {
                        p.push_n("irq", v as i64);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// The `loadparm` of the disk, or else the interface, that boots first (libvirt's
/// `qemuAppendLoadparmMachineParm`).
fn boot_loadparm(def: &DomainDef) -> Option<&str> {
    let d = &def.devices;
    fn first(info: &oxvirt_conf::domain::DeviceInfo) -> Option<&str> {
        info.boot_order.filter(|o| *o == 1).and(info.boot_loadparm.as_deref())
    }
    d.disks.iter().find_map(|x| first(&x.info)).or_else(|| d.interfaces.iter().find_map(|x| first(&x.info)))
}

/// The QEMU driver name of virtio device `base` (`virtio-blk`, ...) for the bus its
/// address puts it on: `-ccw` on the channel subsystem, `-device` on virtio-mmio,
/// `-pci` otherwise.
fn virtio_driver(base: &str, a: &Option<Address>) -> String {
    let suffix = match a {
        Some(Address::Ccw { .. }) => "ccw",
        Some(Address::Other(e)) if attr(e, "type") == Some("virtio-mmio") => "device",
        _ => "pci",
    };
    format!("{base}-{suffix}")
}

/// `rombar`/`romfile` from a device's `<rom>` (libvirt's `qemuBuildRomProps`).
fn rom_props(extra: &[El], p: &mut Props) {
    let Some(rom) = extra.iter().find(|e| e.name == "rom") else { return };
    if attr(rom, "enabled") == Some("no") {
        p.push_s("romfile", "");
        return;
    }
    match attr(rom, "bar") {
        Some("on") => p.push_n("rombar", 1),
        Some("off") => p.push_n("rombar", 0),
        _ => {}
    }
    if let Some(f) = attr(rom, "file") {
        p.push_s("romfile", f);
    }
}

/// A PCI `<address>` element as an [`Address`].
fn pci_address_el(a: &El) -> Option<Address> {
    if attr(a, "type").is_some_and(|t| t != "pci") {
        return None;
    }
    let n = |k: &str| attr(a, k).and_then(|v| oxvirt_conf::xml::parse_uint(v, 0)).unwrap_or(0);
    Some(Address::Pci {
        domain: n("domain"),
        bus: n("bus"),
        slot: n("slot"),
        function: n("function"),
        multifunction: attr(a, "multifunction").map(str::to_string),
        zpci: None,
    })
}

/// A tristate attribute (`yes`/`no`, `on`/`off`) as a boolean property, if set.
fn push_tristate(e: &El, k: &str, prop: &str, p: &mut Props) {
    match attr(e, k) {
        Some("yes" | "on") => p.push_b(prop, true),
        Some("no" | "off") => p.push_b(prop, false),
        _ => {}
    }
}

/// A positive number attribute as a property; zero and absent values are left out.
fn push_positive(e: &El, k: &str, prop: &str, p: &mut Props) {
    if let Some(n) = attr(e, k).and_then(|v| v.parse::<i64>().ok()).filter(|n| *n > 0) {
        p.push_n(prop, n);
    }
}

/// Properties of one direction (`<input>`/`<output>`) of an `<audio>` backend.
fn audio_direction(ty: &str, io: Option<&El>) -> Option<Props> {
    let io = io?;
    let mut p = Props::default();
    push_tristate(io, "mixingEngine", "mixing-engine", &mut p);
    push_tristate(io, "fixedSettings", "fixed-settings", &mut p);
    push_positive(io, "voices", "voices", &mut p);
    push_positive(io, "bufferLength", "buffer-length", &mut p);
    if attr(io, "fixedSettings") == Some("yes") {
        if let Some(s) = child(io, "settings") {
            push_positive(s, "frequency", "frequency", &mut p);
            push_positive(s, "channels", "channels", &mut p);
            if let Some(f) = attr(s, "format") {
                p.push_s("format", f);
            }
        }
    }
    match ty {
        "alsa" => {
            if let Some(d) = attr(io, "dev") {
                p.push_s("dev", d);
            }
        }
        "coreaudio" | "sdl" => push_positive(io, "bufferCount", "buffer-count", &mut p),
        "jack" => {
            for (k, prop) in [("serverName", "server-name"), ("clientName", "client-name"), ("connectPorts", "connect-ports")] {
                if let Some(v) = attr(io, k) {
                    p.push_s(prop, v);
                }
            }
            push_tristate(io, "exactName", "exact-name", &mut p);
        }
        "oss" => {
            if let Some(d) = attr(io, "dev") {
                p.push_s("dev", d);
            }
            push_positive(io, "bufferCount", "buffer-count", &mut p);
            push_tristate(io, "tryPoll", "try-poll", &mut p);
        }
        "pulseaudio" => {
            for (k, prop) in [("name", "name"), ("streamName", "stream-name")] {
                if let Some(v) = attr(io, k) {
                    p.push_s(prop, v);
                }
            }
            push_positive(io, "latency", "latency", &mut p);
        }
        _ => {}
    }
    (!p.0.is_empty()).then_some(p)
}

/// The `-audiodev` properties of an `<audio>` element (libvirt's
/// `qemuBuildAudioCommandLineArg`), and an environment variable it needs.
fn audiodev_props(a: &El) -> Result<(Props, Option<(String, String)>)> {
    let id = attr(a, "id").unwrap_or("1");
    let ty = attr(a, "type").unwrap_or("none");
    let driver = match ty {
        "none" | "alsa" | "coreaudio" | "jack" | "oss" | "sdl" | "spice" | "dbus" => ty,
        "pulseaudio" => "pa",
        "file" => "wav",
        o => return Err(unsupported(format!("audio type '{o}' is not supported by this driver yet"))),
    };
    let mut p = Props::default().s("id", format!("audio{id}")).s("driver", driver);
    push_positive(a, "timerPeriod", "timer-period", &mut p);
    let mut env = None;
    match ty {
        "oss" => {
            push_tristate(a, "tryMMap", "try-mmap", &mut p);
            push_tristate(a, "exclusive", "exclusive", &mut p);
            if let Some(n) = attr(a, "dspPolicy").and_then(|v| v.parse::<i64>().ok()) {
                p.push_n("dsp-policy", n);
            }
        }
        "pulseaudio" => {
            if let Some(s) = attr(a, "serverName") {
                p.push_s("server", s);
            }
        }
        "sdl" => env = attr(a, "driver").map(|d| ("SDL_AUDIODRIVER".to_string(), d.to_string())),
        "file" => {
            if let Some(s) = attr(a, "path") {
                p.push_s("path", s);
            }
        }
        _ => {}
    }
    if let Some(i) = audio_direction(ty, child(a, "input")) {
        p.push_o("in", i);
    }
    if let Some(o) = audio_direction(ty, child(a, "output")) {
        p.push_o("out", o);
    }
    Ok((p, env))
}

/// virtio options of a `<driver>` element (`iommu`, `ats`, `packed`, `page_per_vq`).
fn virtio_opts(driver: Option<&El>, p: &mut Props) {
    let Some(d) = driver else { return };
    for (k, prop) in [("iommu", "iommu_platform"), ("ats", "ats"), ("packed", "packed"), ("page_per_vq", "page-per-vq")] {
        if let Some(v) = attr(d, k) {
            p.push_b(prop, v == "on");
        }
    }
}

impl Builder<'_> {
    fn has(&self, f: &str) -> bool {
        self.setup.caps.has(f)
    }

    fn device(&mut self, p: Props) {
        let v = if self.has("device.json+hotplug") { p.json() } else { p.keyval("driver") };
        self.cmd.opt("-device", v);
    }

    fn object(&mut self, p: Props) {
        let v = if self.has("object.qapified") { p.json() } else { p.keyval("qom-type") };
        self.cmd.opt("-object", v);
    }

    fn netdev(&mut self, p: Props) {
        let v = if self.has("netdev.json") { p.json() } else { p.keyval("type") };
        self.cmd.opt("-netdev", v);
    }

    /// Reject what this builder cannot express yet, naming the element.
    fn check_supported(&self) -> Result<()> {
        let d = &self.def.devices;
        for e in &d.other {
            if !matches!(e.name.as_str(), "audio" | "hostdev" | "panic") {
                return Err(unsupported(format!("<{}> is not supported by this driver yet", e.name)));
            }
        }
        if !d.smartcards.is_empty() || !d.redirdevs.is_empty() {
            return Err(unsupported("<smartcard>/<redirdev> are not supported by this driver yet"));
        }
        if self.def.os.loader.is_some() || self.def.os.nvram.is_some() || self.def.os.firmware.is_some() {
            return Err(unsupported("<loader> is not supported by this driver yet"));
        }
        // `vcpus`: hotpluggable vCPUs, see smp().
        if let Some(e) =
            self.def.other.iter().find(|e| !matches!(e.name.as_str(), "pm" | "seclabel" | "keywrap" | "memtune" | "blkiotune" | "vcpus"))
        {
            return Err(unsupported(format!("<{}> is not supported by this driver yet", e.name)));
        }
        if self.def.max_memory_kib.is_some() {
            return Err(unsupported("<maxMemory> is not supported by this driver yet"));
        }
        Ok(())
    }

    fn build(&mut self) -> Result<()> {
        let def = self.def;
        let lib = self.run.lib_dir.clone();
        self.cmd.env = vec![
            ("LC_ALL".into(), "C".into()),
            ("PATH".into(), "/bin".into()),
            ("HOME".into(), lib.clone()),
            ("USER".into(), "test".into()),
            ("LOGNAME".into(), "test".into()),
            ("XDG_DATA_HOME".into(), format!("{lib}/.local/share")),
            ("XDG_CACHE_HOME".into(), format!("{lib}/.cache")),
            ("XDG_CONFIG_HOME".into(), format!("{lib}/.config")),
        ];
        self.cmd.binary = def.devices.emulator.clone().unwrap_or_default();
        self.cmd.opt("-name", format!("guest={},debug-threads=on", def.name.replace(',', ",,")));
        self.cmd.arg("-S");
        self.object(
            Props::default().s("qom-type", "secret").s("id", "masterKey0").s("format", "raw").s("file", format!("{lib}/master-key.aes")),
        );
        self.machine()?;
        self.cmd.opt("-accel", if def.virt_type == "kvm" { "kvm" } else { "tcg" });
        self.cpu()?;
        self.memory();
        self.smp()?;
        self.cmd.opt("-uuid", oxvirt_util::uuid::format(&def.uuid));
        if let Some(g) = &def.genid {
            // An empty <genid/> asks for a generated one; the test suite's
            // generator yields the bytes 0..15 as a version-4 UUID.
            let guid = match text(g).trim() {
                "" if self.setup.deterministic_ids => "00010203-0405-4607-8809-0a0b0c0d0e0f".to_string(),
                "" => oxvirt_util::uuid::format(&oxvirt_util::uuid::generate()),
                t => t.to_string(),
            };
            self.device(Props::default().s("driver", "vmgenid").s("guid", guid).s("id", "vmgenid0"));
        }
        if def.devices.graphics.is_empty() {
            self.cmd.opt("-display", "none");
        }
        self.cmd.arg("-no-user-config");
        self.cmd.arg("-nodefaults");
        let monitor = match &self.run.monitor {
            Some(path) => format!("path={}", path.replace(',', ",,")),
            None => "fd=1729".to_string(),
        };
        self.cmd.opt("-chardev", format!("socket,id=charmonitor,{monitor},server=on,wait=off"));
        self.cmd.opt("-mon", "chardev=charmonitor,id=monitor,mode=control");
        self.clock()?;
        if !self.has("set-action") && def.on_reboot == "destroy" {
            self.cmd.arg("-no-reboot");
        } else {
            self.cmd.arg("-no-shutdown");
        }
        if self.has("no-acpi") && !self.feature("acpi") {
            self.cmd.arg("-no-acpi");
        }
        self.pm();
        self.boot();
        self.controllers()?;
        self.disks()?;
        self.nets()?;
        self.chardevs()?;
        self.inputs()?;
        self.audio()?;
        self.graphics()?;
        self.videos()?;
        self.hostdevs()?;
        if let Some(uri) = &self.setup.migrate_from {
            let uri = if uri == "stdio" { format!("fd:{}", self.setup.migrate_fd.as_deref().unwrap_or("0")) } else { uri.clone() };
            self.cmd.opt("-incoming", uri);
        }
        self.memballoon();
        self.rngs()?;
        if self.def.features.as_ref().and_then(|f| child(f, "vmcoreinfo")).is_some_and(|v| attr(v, "state") != Some("off")) {
            self.device(Props::default().s("driver", "vmcoreinfo"));
        }
        // libvirt's qemuBuildSeccompSandboxCommandLine: qemu.conf's seccomp_sandbox
        // 0 turns the sandbox off, anything else (default -1) turns it on.
        if self.has("seccomp-sandbox") {
            if self.setup.conf("seccomp_sandbox").and_then(|v| v.trim().parse::<i64>().ok()) == Some(0) {
                self.cmd.opt("-sandbox", "off");
            } else {
                self.cmd.opt("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
            }
        }
        self.panics();
        self.cmd.opt("-msg", "timestamp=on");
        Ok(())
    }

    fn pm(&mut self) {
        let Some(pm) = self.def.other.iter().find(|e| e.name == "pm") else { return };
        let dev = if crate::postparse::is_q35(self.def) { "ICH9-LPC" } else { "PIIX4_PM" };
        for (el, prop) in [("suspend-to-mem", "disable_s3"), ("suspend-to-disk", "disable_s4")] {
            if let Some(v) = child(pm, el).and_then(|e| attr(e, "enabled")) {
                self.cmd.opt("-global", format!("{dev}.{prop}={}", if v == "no" { 1 } else { 0 }));
            }
        }
    }

    fn feature(&self, name: &str) -> bool {
        self.def.features.as_ref().is_some_and(|f| child(f, name).is_some())
    }

    fn machine(&mut self) -> Result<()> {
        let def = self.def;
        let mut m = def.os.machine.clone().unwrap_or_default();
        m.push_str(",usb=off");
        if let Some(k) = def.other.iter().find(|e| e.name == "keywrap") {
            for cipher in ["aes", "dea"] {
                let Some(c) = elements(k, "cipher").find(|c| attr(c, "name") == Some(cipher)) else { continue };
                let prop = format!("{cipher}-key-wrap");
                if !self.has(&prop) {
                    return Err(unsupported(format!("{prop} is not available with this QEMU binary")));
                }
                m.push_str(&format!(",{prop}={}", attr(c, "state").unwrap_or("on")));
            }
        }
        if let Some(f) = &def.features {
            if let Some(v) = child(f, "vmport") {
                m.push_str(&format!(",vmport={}", attr(v, "state").unwrap_or("on")));
            }
            if let Some(s) = child(f, "smm") {
                m.push_str(&format!(",smm={}", if attr(s, "state") == Some("off") { "off" } else { "on" }));
            }
        }
        let arch = def.os.arch.as_deref().unwrap_or("");
        if (arch == "aarch64" || arch == "armv7l") && def.os.machine.as_deref().is_some_and(|m| m.starts_with("virt")) {
            let gic = def.features.as_ref().and_then(|f| child(f, "gic")).and_then(|g| attr(g, "version")).unwrap_or("2");
            m.push_str(&format!(",gic-version={gic}"));
        }
        let dump = match def.memory_dump_core.as_deref() {
            Some("on") => "on",
            Some(_) => "off",
            None => {
                if self.setup.conf("dump_guest_core") == Some("1") {
                    "on"
                } else {
                    "off"
                }
            }
        };
        m.push_str(&format!(",dump-guest-core={dump}"));
        if let Some(ram) = machine_of(def, &self.setup.caps).and_then(|m| m.default_ram_id.clone()) {
            m.push_str(&format!(",memory-backend={ram}"));
        }
        if self.has("loadparm") {
            if let Some(lp) = boot_loadparm(def) {
                // libvirt keeps loadparm in upper case.
                m.push_str(&format!(",loadparm={}", lp.to_ascii_uppercase()));
            }
        }
        for t in self.timers() {
            if attr(t, "name") == Some("hpet") && self.has("machine-hpet") {
                if let Some(p) = attr(t, "present") {
                    m.push_str(&format!(",hpet={}", if p == "yes" { "on" } else { "off" }));
                }
            }
        }
        self.cmd.opt("-machine", m);
        Ok(())
    }

    fn cpu(&mut self) -> Result<()> {
        let def = self.def;
        let arch = def.os.arch.as_deref().unwrap_or("");
        let x86 = crate::postparse::is_x86(arch);
        let mut model = String::new();
        if let Some(cpu) = &def.cpu {
            let mode = attr(cpu, "mode").unwrap_or("custom");
            match mode {
                "host-passthrough" => model.push_str("host"),
                "custom" => {
                    if let Some(m) = child(cpu, "model") {
                        model.push_str(text(m).trim());
                    }
                }
                other => return Err(unsupported(format!("CPU mode '{other}' is not supported by this driver yet"))),
            }
            if !model.is_empty() {
                for f in elements(cpu, "feature") {
                    let name = attr(f, "name").unwrap_or_default();
                    let name = if x86 { translate_feature(name) } else { name };
                    match attr(f, "policy").unwrap_or("require") {
                        "require" | "force" => model.push_str(&format!(",{name}=on")),
                        "disable" | "forbid" => model.push_str(&format!(",{name}=off")),
                        _ => {}
                    }
                }
            }
            if child(cpu, "numa").is_some() {
                return Err(unsupported("CPU NUMA is not supported by this driver yet"));
            }
        } else if arch == "i686" && def.devices.emulator.as_deref().is_some_and(|e| e.contains("x86_64")) {
            model.push_str("qemu32");
        }
        let mut flags = String::new();
        for t in self.timers() {
            match attr(t, "name") {
                Some("kvmclock") => {
                    if let Some(p) = attr(t, "present") {
                        flags.push_str(&format!(",kvmclock={}", if p == "yes" { "on" } else { "off" }));
                    }
                }
                Some("hypervclock") if attr(t, "present") == Some("yes") => flags.push_str(",hv-time=on"),
                Some("tsc") => {
                    if let Some(f) = attr(t, "frequency").filter(|f| *f != "0") {
                        flags.push_str(&format!(",tsc-frequency={f}"));
                    }
                }
                Some("armvtimer") => match attr(t, "tickpolicy") {
                    Some("delay") => flags.push_str(",kvm-no-adjvtime=off"),
                    Some("discard") => flags.push_str(",kvm-no-adjvtime=on"),
                    _ => {}
                },
                _ => {}
            }
        }
        let on_off = |v: Option<&str>| if v == Some("off") { "off" } else { "on" };
        if let Some(f) = &def.features {
            if let Some(eoi) = child(f, "apic").and_then(|a| attr(a, "eoi")) {
                flags.push_str(&format!(",kvm-pv-eoi={}", on_off(Some(eoi))));
            }
            if let Some(p) = child(f, "pvspinlock") {
                flags.push_str(&format!(",kvm-pv-unhalt={}", on_off(attr(p, "state"))));
            }
            if let Some(h) = child(f, "hyperv") {
                if attr(h, "mode") == Some("passthrough") {
                    flags.push_str(",hv-passthrough=on");
                }
                for name in HYPERV_FEATURES {
                    let Some(e) = child(h, name) else { continue };
                    if attr(e, "state") != Some("on") {
                        continue;
                    }
                    match *name {
                        "spinlocks" => {
                            let r = attr(e, "retries").and_then(|r| r.parse::<u32>().ok()).unwrap_or(0);
                            flags.push_str(&format!(",hv-spinlocks=0x{r:x}"));
                        }
                        "vendor_id" => flags.push_str(&format!(",hv-vendor-id={}", attr(e, "value").unwrap_or(""))),
                        n => flags.push_str(&format!(",hv-{n}=on")),
                    }
                    if *name == "stimer" && child(e, "direct").and_then(|d| attr(d, "state")) == Some("on") {
                        flags.push_str(",hv-stimer-direct=on");
                    }
                }
            }
        }
        if self.def.devices.other.iter().any(|e| e.name == "panic" && attr(e, "model") == Some("hyperv")) {
            flags.push_str(",hv-crash");
        }
        if let Some(k) = def.features.as_ref().and_then(|f| child(f, "kvm")) {
            let st = |n: &str| child(k, n).and_then(|e| attr(e, "state"));
            if st("hidden") == Some("on") {
                flags.push_str(",kvm=off");
            }
            if st("hint-dedicated") == Some("on") {
                flags.push_str(",kvm-hint-dedicated=on");
            }
            if st("poll-control") == Some("on") {
                flags.push_str(",kvm-poll-control=on");
            }
            if st("pv-ipi") == Some("off") {
                flags.push_str(",kvm-pv-ipi=off");
            }
        }
        if let Some(p) = def.features.as_ref().and_then(|f| child(f, "pmu")) {
            if !arch.starts_with("ppc64") {
                flags.push_str(&format!(",pmu={}", on_off(attr(p, "state"))));
            }
        }
        if let Some(cpu) = &def.cpu {
            let mode = attr(cpu, "mode").unwrap_or("custom");
            if let Some(c) = child(cpu, "cache") {
                let (mut host_off, mut l3_off) = (false, false);
                match attr(c, "mode") {
                    Some("emulate") => {
                        flags.push_str(",l3-cache=on");
                        host_off = true;
                    }
                    Some("passthrough") => {
                        flags.push_str(",host-cache-info=on");
                        l3_off = true;
                    }
                    Some("disable") => {
                        host_off = true;
                        l3_off = true;
                    }
                    _ => {}
                }
                if host_off && matches!(mode, "host-passthrough" | "maximum") && self.has("cpu-cache") {
                    flags.push_str(",host-cache-info=off");
                }
                if l3_off && self.has("cpu-cache") {
                    flags.push_str(",l3-cache=off");
                }
            }
            if let Some(m) = child(cpu, "maxphysaddr") {
                match attr(m, "mode") {
                    Some("passthrough") => flags.push_str(",host-phys-bits=on"),
                    Some("emulate") => flags.push_str(&format!(",phys-bits={}", attr(m, "bits").unwrap_or("0"))),
                    _ => {}
                }
            }
        }
        if model.is_empty() && !flags.is_empty() {
            model = match arch {
                "i686" => "qemu32".to_string(),
                "x86_64" => "qemu64".to_string(),
                a => return Err(unsupported(format!("CPU flags requested but can't determine default CPU for arch {a}"))),
            };
        }
        if !model.is_empty() {
            self.cmd.opt("-cpu", format!("{model}{flags}"));
        }
        Ok(())
    }

    fn memory(&mut self) {
        let def = self.def;
        self.cmd.opt("-m", def.memory_kib.div_ceil(1024).to_string());
        if let Some(ram) = machine_of(def, &self.setup.caps).and_then(|m| m.default_ram_id.clone()) {
            self.object(
                Props::default()
                    .s("qom-type", "memory-backend-ram")
                    .s("id", ram)
                    .n("size", (def.memory_kib.div_ceil(1024) * 1024 * 1024) as i64),
            );
        }
        self.cmd.opt("-overcommit", "mem-lock=off");
    }

    fn smp(&mut self) -> Result<()> {
        let def = self.def;
        // libvirt's qemuBuildSmpCommandLine: the enabled non-hotpluggable vCPUs; the
        // enabled hotpluggable ones are added over QMP during start (runtime/tune.rs).
        let boot = crate::runtime::tune::boot_vcpus(def);
        let mut s = boot.to_string();
        if boot != def.vcpus_max {
            s.push_str(&format!(",maxcpus={}", def.vcpus_max));
        }
        let topo = def.cpu.as_ref().and_then(|c| child(c, "topology"));
        match topo {
            Some(t) => {
                let n = |k: &str| attr(t, k).and_then(|v| v.parse::<u32>().ok()).unwrap_or(1);
                if n("dies") != 1 && !self.has("smp-dies") {
                    return Err(unsupported("Only 1 die per socket is supported"));
                }
                s.push_str(&format!(",sockets={}", n("sockets")));
                if self.has("smp-dies") {
                    s.push_str(&format!(",dies={}", n("dies")));
                }
                s.push_str(&format!(",cores={},threads={}", n("cores"), n("threads")));
            }
            None => s.push_str(&format!(",sockets={},cores=1,threads=1", def.vcpus_max)),
        }
        self.cmd.opt("-smp", s);
        Ok(())
    }

    fn timers(&self) -> Vec<&El> {
        match &self.def.clock {
            Some(c) => c
                .children
                .iter()
                .filter_map(|n| match n {
                    XNode::El(x) if x.name == "timer" => Some(x),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        }
    }

    fn clock(&mut self) -> Result<()> {
        let offset = self.def.clock.as_ref().and_then(|c| attr(c, "offset")).unwrap_or("utc");
        let mut rtc = match offset {
            "utc" => "base=utc".to_string(),
            "localtime" => "base=localtime".to_string(),
            other => return Err(unsupported(format!("clock offset '{other}' is not supported by this driver yet"))),
        };
        let timers: Vec<El> = self.timers().into_iter().cloned().collect();
        if let Some(t) = timers.iter().find(|t| attr(t, "name") == Some("rtc")) {
            match attr(t, "track") {
                None => {}
                Some("guest") => rtc.push_str(",clock=vm"),
                Some("wall") => rtc.push_str(",clock=host"),
                Some("realtime") => rtc.push_str(",clock=rt"),
                Some(o) => return Err(unsupported(format!("unsupported rtc timer track '{o}'"))),
            }
            match attr(t, "tickpolicy") {
                None | Some("delay") => {}
                Some("catchup") => rtc.push_str(",driftfix=slew"),
                Some(o) => return Err(unsupported(format!("unsupported rtc timer tickpolicy '{o}'"))),
            }
        }
        self.cmd.opt("-rtc", rtc);
        for t in &timers {
            match attr(t, "name").unwrap_or("") {
                "rtc" | "tsc" | "kvmclock" | "hypervclock" | "armvtimer" => {}
                "pit" => match attr(t, "tickpolicy") {
                    None | Some("delay") => {
                        if self.has("kvm-pit-lost-tick-policy") {
                            self.cmd.opt("-global", "kvm-pit.lost_tick_policy=delay");
                        }
                    }
                    Some("catchup") => {}
                    Some("discard") => {
                        if self.has("kvm-pit-lost-tick-policy") {
                            self.cmd.opt("-global", "kvm-pit.lost_tick_policy=discard");
                        }
                    }
                    Some(o) => return Err(unsupported(format!("unsupported pit tickpolicy '{o}'"))),
                },
                "hpet" => {
                    if self.has("no-hpet") && attr(t, "present") == Some("no") {
                        self.cmd.arg("-no-hpet");
                    }
                }
                o => return Err(unsupported(format!("clock timer '{o}' is not supported by this driver yet"))),
            }
        }
        Ok(())
    }

    fn boot(&mut self) {
        let mut s = String::new();
        for o in &self.def.os.other {
            if o.name == "bootmenu" {
                if attr(o, "enable") == Some("yes") {
                    s.push_str("menu=on,");
                    if let Some(t) = attr(o, "timeout") {
                        s.push_str(&format!("splash-time={t},"));
                    }
                } else {
                    s.push_str("menu=off,");
                }
            }
        }
        if let Some(t) = self.def.os.other.iter().find(|o| o.name == "bios").and_then(|b| attr(b, "rebootTimeout")) {
            s.push_str(&format!("reboot-timeout={t},"));
        }
        s.push_str("strict=on");
        self.cmd.opt("-boot", s);
    }

    /// Boot index of each disk and interface from `<os><boot dev>` or per-device `<boot>`.
    fn boot_indexes(&self) -> (Vec<Option<u32>>, Vec<Option<u32>>) {
        let d = &self.def.devices;
        let mut disks: Vec<Option<u32>> = d.disks.iter().map(|x| x.info.boot_order).collect();
        let mut nets: Vec<Option<u32>> = d.interfaces.iter().map(|x| x.info.boot_order).collect();
        let mut n = 1;
        for dev in &self.def.os.boot_devs {
            let found = match dev.as_str() {
                "hd" => d.disks.iter().position(|x| x.device == "disk" || x.device == "lun").map(|i| (true, i)),
                "cdrom" => d.disks.iter().position(|x| x.device == "cdrom").map(|i| (true, i)),
                "fd" => d.disks.iter().position(|x| x.device == "floppy").map(|i| (true, i)),
                "network" => (!d.interfaces.is_empty()).then_some((false, 0)),
                _ => None,
            };
            match found {
                Some((true, i)) => disks[i] = Some(n),
                Some((false, i)) => nets[i] = Some(n),
                None => continue,
            }
            n += 1;
        }
        (disks, nets)
    }

    fn controllers(&mut self) -> Result<()> {
        let d = &self.def.devices;
        let def = self.def;
        let i440 = crate::postparse::is_i440fx(def);
        let q35 = crate::postparse::is_q35(def);
        let pseries = def.os.machine.as_deref().is_some_and(|m| m.starts_with("pseries"));
        let mut legacy_usb = false;
        for ty in ["pci", "usb", "scsi", "ide", "sata", "virtio-serial"] {
            for c in d.controllers.iter().filter(|c| c.controller_type == ty) {
                let idx = c.index.unwrap_or(0);
                let model = c.model.as_deref();
                if ty == "pci" && model == Some("pci-root") && idx == 0 {
                    if let Some(h) = c.other.iter().find(|e| e.name == "target").and_then(|t| attr(t, "hotplug")) {
                        self.cmd.opt("-global", format!("PIIX4_PM.acpi-root-pci-hotplug={h}"));
                    }
                }
                let skip = match (ty, model) {
                    ("pci", Some("pcie-root")) => true,
                    ("pci", Some("pci-root")) => !pseries || idx == 0,
                    ("sata", _) => idx == 0 && q35,
                    ("ide", _) => idx == 0 && i440,
                    _ => false,
                };
                if skip {
                    continue;
                }
                if ty == "pci" {
                    let p = self.pci_controller(c)?;
                    self.device(p);
                    continue;
                }
                let virtio_scsi = virtio_driver("virtio-scsi", &c.info.address);
                let virtio_serial = virtio_driver("virtio-serial", &c.info.address);
                let driver = match (ty, model) {
                    ("usb", None) => {
                        legacy_usb = true;
                        continue;
                    }
                    ("usb", Some("none")) => continue,
                    ("usb", Some(m)) => match m {
                        "piix3-uhci" => "piix3-usb-uhci",
                        "piix4-uhci" => "piix4-usb-uhci",
                        "ehci" => "usb-ehci",
                        "ich9-ehci1" => "ich9-usb-ehci1",
                        "ich9-uhci1" => "ich9-usb-uhci1",
                        "ich9-uhci2" => "ich9-usb-uhci2",
                        "ich9-uhci3" => "ich9-usb-uhci3",
                        "vt82c686b-uhci" => "vt82c686b-usb-uhci",
                        "pci-ohci" => "pci-ohci",
                        "nec-xhci" => "nec-usb-xhci",
                        "qemu-xhci" => "qemu-xhci",
                        other => return Err(unsupported(format!("USB controller model '{other}'"))),
                    },
                    ("scsi", Some("lsilogic")) => "lsi",
                    ("scsi", Some("virtio-scsi")) => virtio_scsi.as_str(),
                    ("scsi", Some("lsisas1068")) => "mptsas1068",
                    ("scsi", Some("lsisas1078")) => "megasas",
                    ("scsi", m) => return Err(unsupported(format!("SCSI controller model '{}'", m.unwrap_or("default")))),
                    ("sata", _) => "ahci",
                    ("virtio-serial", _) => virtio_serial.as_str(),
                    _ => return Err(unsupported(format!("controller type '{ty}'"))),
                };
                let allowed_attrs: &[&str] = if ty == "usb" { &["ports"] } else { &[] };
                if !c.other.is_empty() || c.attrs.iter().any(|(k, _)| !allowed_attrs.contains(&k.as_str())) {
                    return Err(unsupported(format!("options of controller '{ty}' are not supported yet")));
                }
                let id = match ty {
                    "usb" if idx == 0 => "usb".to_string(),
                    _ => format!("{ty}{idx}"),
                };
                let mut p = Props::default().s("driver", driver);
                if let Some(ports) = c.attrs.iter().find(|(k, _)| k == "ports").and_then(|(_, v)| v.parse::<i64>().ok()) {
                    p.push_n("p2", ports);
                    p.push_n("p3", ports);
                }
                let master = c.info.extra.iter().find(|e| e.name == "master").and_then(|m| attr(m, "startport"));
                match master {
                    Some(sp) if ty == "usb" => {
                        p.push_s("masterbus", format!("{id}.0"));
                        p.push_n("firstport", sp.parse::<i64>().unwrap_or(0));
                    }
                    _ => p.push_s("id", id),
                }
                if c.info.address.is_some() && !matches!(c.info.address, Some(Address::Pci { .. } | Address::Ccw { .. })) {
                    return Err(unsupported("controller address type"));
                }
                dev_addr(self.def, &c.info.address, &mut p);
                self.device(p);
            }
        }
        if legacy_usb {
            self.cmd.arg("-usb");
        }
        Ok(())
    }

    /// The `-device` of a PCI controller (bridge, root port, switch port, expander).
    fn pci_controller(&self, c: &oxvirt_conf::domain::Controller) -> Result<Props> {
        let idx = c.index.unwrap_or(0);
        let model = c.model.as_deref().unwrap_or("");
        let name = c.other.iter().find(|e| e.name == "model").and_then(|m| attr(m, "name")).unwrap_or("");
        let target = c.other.iter().find(|e| e.name == "target");
        let t = |k: &str| target.and_then(|t| attr(t, k)).and_then(|v| oxvirt_conf::xml::parse_uint(v, 0)).map(|v: u32| v as i64);
        let id = format!("pci.{idx}");
        let mut p = Props::default().s("driver", name);
        match model {
            "pci-bridge" => p = p.n("chassis_nr", t("chassisNr").unwrap_or(idx as i64)).s("id", id),
            "pci-expander-bus" | "pcie-expander-bus" => {
                p = p.n("bus_nr", t("busNr").unwrap_or(0)).s("id", id);
                if let Some(n) = target.and_then(|t| {
                    t.children.iter().find_map(|c| match c {
                        XNode::El(x) if x.name == "node" => Some(text(x)),
                        _ => None,
                    })
                }) {
                    p.push_n("numa_node", n.trim().parse::<i64>().unwrap_or(0));
                }
            }
            "dmi-to-pci-bridge" | "pcie-switch-upstream-port" | "pcie-to-pci-bridge" => p = p.s("id", id),
            "pcie-root-port" | "pcie-switch-downstream-port" => {
                p = p.n("port", t("port").unwrap_or(0)).n("chassis", t("chassis").unwrap_or(idx as i64)).s("id", id);
                match target.and_then(|t| attr(t, "hotplug")) {
                    Some("on") => p.push_b("hotplug", true),
                    Some("off") => p.push_b("hotplug", false),
                    _ => {}
                }
            }
            "pci-root" => p = p.n("index", t("index").unwrap_or(0)).s("id", id),
            other => return Err(unsupported(format!("PCI controller model '{other}' is not supported by this driver yet"))),
        }
        pci_addr(self.def, &c.info.address, &mut p);
        Ok(p)
    }

    fn disks(&mut self) -> Result<()> {
        let d = &self.def.devices;
        let (boot, _) = self.boot_indexes();
        let total = d.disks.iter().filter(|x| x.source.path.is_some() || x.disk_type == "network").count();
        let mut n = total;
        for (i, disk) in d.disks.iter().enumerate() {
            let node = if disk.source.path.is_some() {
                let node = n;
                n -= 1;
                self.blockdev(disk, node)?;
                Some(node)
            } else if disk.disk_type == "file" || disk.disk_type == "block" {
                None
            } else {
                return Err(unsupported(format!("disk type '{}' is not supported yet", disk.disk_type)));
            };
            self.disk_device(disk, node, boot[i])?;
        }
        Ok(())
    }

    fn blockdev(&mut self, disk: &Disk, node: usize) -> Result<()> {
        for p in blockdev_props(disk, node)? {
            self.cmd.opt("-blockdev", p.json());
        }
        Ok(())
    }

    fn disk_device(&mut self, disk: &Disk, node: Option<usize>, boot: Option<u32>) -> Result<()> {
        let p = disk_device_props(self.def, disk, node, boot)?;
        self.device(p);
        Ok(())
    }

    fn nets(&mut self) -> Result<()> {
        let (_, boot) = self.boot_indexes();
        for (i, n) in self.def.devices.interfaces.iter().enumerate() {
            match n.iface_type.as_str() {
                "user" if n.other.is_empty() => self.netdev(user_netdev_props(i)),
                "ethernet" | "bridge" => self.tap_netdev(n, i)?,
                _ => return Err(unsupported(format!("interface type '{}' is not supported by this driver yet", n.iface_type))),
            }
            let p = net_device_props(self.def, n, i, boot[i])?;
            self.device(p);
        }
        Ok(())
    }

    /// The host side of a tap-backed NIC (see [`tap_netdev_props`]).
    fn tap_netdev(&mut self, n: &oxvirt_conf::domain::Interface, i: usize) -> Result<()> {
        crate::runtime::net::check(n)?;
        self.netdev(tap_netdev_props(n, i, self.run.tap_fds));
        Ok(())
    }

    fn chardev_backend(&self, s: &ChrSource, id: &str) -> Result<String> {
        let esc = |v: &str| v.replace(',', ",,");
        Ok(match s.chr_type.as_str() {
            "pty" => format!("pty,id={id}"),
            "null" => format!("null,id={id}"),
            "vc" => format!("vc,id={id}"),
            "stdio" => format!("stdio,id={id}"),
            "file" => {
                let mut v = format!("file,id={id},path={}", esc(s.path.as_deref().unwrap_or("")));
                if let Some(a) = &s.append {
                    v.push_str(&format!(",append={a}"));
                }
                v
            }
            "pipe" => format!("pipe,id={id},path={}", esc(s.path.as_deref().unwrap_or(""))),
            "dev" => format!("serial,id={id},path={}", esc(s.path.as_deref().unwrap_or(""))),
            "unix" => {
                // Listening sockets are created by libvirt and passed as a descriptor
                // (the test suite's fake descriptor is 1729); the runtime lets QEMU
                // bind the path itself.
                let mut v = if s.listen && !self.run.listen_paths {
                    format!("socket,id={id},fd=1729")
                } else {
                    format!("socket,id={id},path={}", esc(s.path.as_deref().unwrap_or("")))
                };
                if s.listen {
                    v.push_str(",server=on,wait=off");
                }
                v
            }
            "tcp" => {
                if s.tls.is_some() || s.reconnect.is_some() {
                    return Err(unsupported("chardev TLS/reconnect is not supported by this driver yet"));
                }
                let mut v = format!("socket,id={id},host={},port={}", s.host.as_deref().unwrap_or(""), s.service.as_deref().unwrap_or(""));
                if s.protocol.as_deref() == Some("telnet") {
                    v.push_str(",telnet=on");
                }
                if s.listen {
                    v.push_str(",server=on,wait=off");
                }
                v
            }
            "udp" => {
                let find = |mode: &str| s.raw_sources.iter().find(|e| attr(e, "mode") == Some(mode));
                let (mut host, mut port, mut laddr, mut lport) = ("", "", "", "0");
                if let Some(c) = find("connect") {
                    host = attr(c, "host").unwrap_or("");
                    port = attr(c, "service").unwrap_or("");
                }
                if let Some(b) = find("bind") {
                    laddr = attr(b, "host").unwrap_or("");
                    lport = attr(b, "service").unwrap_or("0");
                }
                format!("udp,id={id},host={host},port={port},localaddr={laddr},localport={lport}")
            }
            other => return Err(unsupported(format!("chardev type '{other}' is not supported by this driver yet"))),
        })
    }

    fn chardevs(&mut self) -> Result<()> {
        let d = &self.def.devices;
        let mut channel_n = 0;
        let mut console_n = 0;
        let serials: Vec<&Chardev> = d.chardevs.iter().filter(|c| c.device == "serial").collect();
        let channels: Vec<&Chardev> = d.chardevs.iter().filter(|c| c.device == "channel").collect();
        let consoles: Vec<&Chardev> = d.chardevs.iter().filter(|c| c.device == "console").collect();
        if d.chardevs.iter().any(|c| c.device == "parallel") || d.chardevs.iter().any(|c| c.source.log.is_some()) {
            return Err(unsupported("<parallel> is not supported by this driver yet"));
        }
        for (serial_n, c) in serials.into_iter().enumerate() {
            let serial_n = serial_n as u32;
            let id = format!("charserial{serial_n}");
            let be = self.chardev_backend(&c.source, &id)?;
            self.cmd.opt("-chardev", be);
            let model = c.target.as_ref().and_then(|t| child(t, "model")).and_then(|m| attr(m, "name")).map(str::to_string);
            let port = c.target_port().unwrap_or(serial_n);
            let arch = self.def.os.arch.as_deref().unwrap_or("");
            let platform = match model.as_deref() {
                None => true,
                Some("pl011") => arch.starts_with("arm") || arch == "aarch64",
                Some("16550a") => arch.starts_with("riscv"),
                _ => false,
            };
            if platform {
                self.cmd.opt("-serial", format!("chardev:{id}"));
                continue;
            }
            let model = model.unwrap_or_default();
            let cap = match model.as_str() {
                "isa-serial" | "usb-serial" | "pci-serial" | "spapr-vty" | "sclpconsole" | "sclplmconsole" => Some(model.as_str()),
                "isa-debugcon" => None,
                other => return Err(unsupported(format!("serial target model '{other}' is not supported by this driver yet"))),
            };
            if let Some(cap) = cap {
                if self.setup.fake && cap != "isa-serial" && !self.has(cap) {
                    return Err(unsupported(format!("'{cap}' is not supported in this QEMU binary")));
                }
            }
            let mut p = Props::default().s("driver", &model).s("chardev", &id).s("id", format!("serial{serial_n}"));
            if model == "isa-serial" {
                p.push_n("index", port as i64);
            }
            dev_addr(self.def, &c.info.address, &mut p);
            self.device(p);
        }
        for c in channels {
            let id = format!("charchannel{channel_n}");
            if c.target_type() != Some("virtio") {
                return Err(unsupported("<channel> target type is not supported by this driver yet"));
            }
            let be = self.chardev_backend(&c.source, &id)?;
            self.cmd.opt("-chardev", be);
            let name = c.target.as_ref().and_then(|t| attr(t, "name")).map(str::to_string);
            let mut p = Props::default().s("driver", "virtserialport");
            if let Some(Address::VirtioSerial { controller, bus, port }) = c.info.address {
                p = p.s("bus", format!("virtio-serial{controller}.{bus}")).n("nr", port as i64);
            }
            p = p.s("chardev", &id).s("id", format!("channel{channel_n}"));
            if let Some(n) = name {
                p = p.s("name", n);
            }
            self.device(p);
            channel_n += 1;
        }
        for c in consoles {
            match c.target_type() {
                None | Some("serial") => {}
                Some("virtio") => {
                    let id = format!("charconsole{console_n}");
                    let be = self.chardev_backend(&c.source, &id)?;
                    self.cmd.opt("-chardev", be);
                    let mut p = Props::default().s("driver", "virtconsole");
                    if let Some(Address::VirtioSerial { controller, bus, port }) = c.info.address {
                        p = p.s("bus", format!("virtio-serial{controller}.{bus}")).n("nr", port as i64);
                    }
                    self.device(p.s("chardev", &id).s("id", format!("console{console_n}")));
                }
                Some(t @ ("sclp" | "sclplm")) => {
                    let id = format!("charconsole{console_n}");
                    let be = self.chardev_backend(&c.source, &id)?;
                    self.cmd.opt("-chardev", be);
                    let driver = if t == "sclp" { "sclpconsole" } else { "sclplmconsole" };
                    self.device(Props::default().s("driver", driver).s("chardev", &id).s("id", format!("console{console_n}")));
                }
                Some(o) => return Err(unsupported(format!("console target type '{o}'"))),
            }
            console_n += 1;
        }
        Ok(())
    }

    fn inputs(&mut self) -> Result<()> {
        for (i, inp) in self.def.devices.inputs.iter().enumerate() {
            match (inp.input_type.as_str(), inp.bus.as_deref()) {
                (_, Some("ps2")) => {}
                (t @ ("tablet" | "mouse" | "keyboard"), Some("usb")) => {
                    let driver = match t {
                        "tablet" => "usb-tablet",
                        "mouse" => "usb-mouse",
                        _ => "usb-kbd",
                    };
                    let mut p = Props::default().s("driver", driver).s("id", format!("input{i}")).s("bus", "usb.0");
                    match &inp.info.address {
                        Some(Address::Usb { port: Some(port), .. }) => p.push_s("port", port.clone()),
                        _ => p.push_s("port", "1"),
                    }
                    self.device(p);
                }
                (t, b) => return Err(unsupported(format!("input '{t}' on bus '{}' is not supported by this driver yet", b.unwrap_or("")))),
            }
        }
        Ok(())
    }

    fn audio(&mut self) -> Result<()> {
        for a in self.def.devices.other.iter().filter(|e| e.name == "audio") {
            let (props, env) = audiodev_props(a)?;
            if let Some(e) = env {
                self.cmd.env.push(e);
            }
            self.cmd.opt("-audiodev", props.json());
        }
        Ok(())
    }

    fn graphics(&mut self) -> Result<()> {
        for g in &self.def.devices.graphics {
            if g.graphics_type != "vnc" || !g.other.is_empty() || g.websocket.is_some() {
                return Err(unsupported(format!("graphics type '{}' is not supported by this driver yet", g.graphics_type)));
            }
            if g.attrs.iter().any(|(k, _)| k != "keymap" && k != "passwd") {
                return Err(unsupported("VNC options are not supported by this driver yet"));
            }
            let l = g.listens.first();
            let mut s = match l.map(|l| l.listen_type.as_str()) {
                Some("socket") => format!("vnc=unix:{}", l.and_then(|l| l.socket.clone()).unwrap_or_default().replace(',', ",,")),
                Some("none") => "none".to_string(),
                _ => {
                    let addr = l.and_then(|l| l.address.clone()).unwrap_or_else(|| "127.0.0.1".into());
                    let addr = if addr.contains(':') { format!("[{addr}]") } else { addr };
                    let port = if g.autoport { 0 } else { (g.port - 5900).max(0) };
                    format!("{addr}:{port}")
                }
            };
            if g.attrs.iter().any(|(k, _)| k == "passwd") {
                s.push_str(",password=on");
            }
            if let Some(a) = self.def.devices.other.iter().find(|e| e.name == "audio") {
                s.push_str(&format!(",audiodev=audio{}", attr(a, "id").unwrap_or("1")));
            }
            self.cmd.opt("-vnc", s);
            if let Some((_, k)) = g.attrs.iter().find(|(k, _)| k == "keymap") {
                self.cmd.opt("-k", k.clone());
            }
        }
        Ok(())
    }

    fn videos(&mut self) -> Result<()> {
        for (i, v) in self.def.devices.videos.iter().enumerate() {
            let model = v.model.clone().unwrap_or_default();
            let num = |k: &str| v.model_attrs.iter().find(|(a, _)| a == k).and_then(|(_, x)| x.parse::<i64>().ok());
            let accel3d = v.model_children.iter().find(|c| c.name == "acceleration").and_then(|a| attr(a, "accel3d")) == Some("yes");
            if v.driver.as_ref().and_then(|d| attr(d, "name")) == Some("vhostuser")
                || v.model_children.iter().any(|c| c.name == "resolution")
            {
                return Err(unsupported("video backend options are not supported by this driver yet"));
            }
            let primary = i == 0;
            let vga_ok = model != "virtio" || self.has("virtio-vga");
            let ccw = matches!(v.info.address, Some(Address::Ccw { .. }));
            let mmio = matches!(&v.info.address, Some(Address::Other(e)) if attr(e, "type") == Some("virtio-mmio"));
            let bus_suffix = if ccw {
                "-ccw"
            } else if mmio {
                "-device"
            } else {
                "-pci"
            };
            let driver = match (model.as_str(), primary && vga_ok) {
                ("none", _) => continue,
                ("cirrus", true) => "cirrus-vga".to_string(),
                ("vga", true) => "VGA".to_string(),
                ("vmvga", true) => "vmware-svga".to_string(),
                ("qxl", true) => "qxl-vga".to_string(),
                ("qxl", false) => "qxl".to_string(),
                ("bochs", true) => "bochs-display".to_string(),
                ("ramfb", true) => "ramfb".to_string(),
                ("virtio", true) => if accel3d && self.has("virtio-vga-gl") { "virtio-vga-gl" } else { "virtio-vga" }.to_string(),
                ("virtio", false) => {
                    let base = if accel3d && self.has("virtio-gpu-gl-pci") { "virtio-gpu-gl" } else { "virtio-gpu" };
                    format!("{base}{bus_suffix}")
                }
                (m, _) => return Err(unsupported(format!("video model '{m}' is not supported by this driver yet"))),
            };
            let mut p = Props::default().s("driver", &driver);
            if model == "virtio" {
                virtio_opts(v.driver.as_ref(), &mut p);
            }
            p.push_s("id", format!("video{i}"));
            if model == "virtio" && accel3d && self.has("virtio-gpu.virgl") {
                p.push_b("virgl", true);
            }
            if model == "qxl" || model == "virtio" {
                if let Some(h) = num("heads").filter(|h| *h > 0) {
                    p.push_n("max_outputs", h);
                }
            }
            match model.as_str() {
                "qxl" => {
                    if let Some(r) = num("ram").filter(|x| *x > 0) {
                        p.push_n("ram_size", r * 1024);
                    }
                    if let Some(r) = num("vram").filter(|x| *x > 0) {
                        p.push_n("vram_size", r * 1024);
                    }
                    if self.has("qxl.vram64_size_mb") {
                        p.push_n("vram64_size_mb", num("vram64").unwrap_or(0) / 1024);
                    }
                    if self.has("qxl.vgamem_mb") {
                        p.push_n("vgamem_mb", num("vgamem").unwrap_or(0) / 1024);
                    }
                }
                "vga" if self.has("VGA.vgamem_mb") => {
                    if let Some(r) = num("vram").filter(|x| *x > 0) {
                        p.push_n("vgamem_mb", r / 1024);
                    }
                }
                "vmvga" if self.has("vmware-svga.vgamem_mb") => {
                    if let Some(r) = num("vram").filter(|x| *x > 0) {
                        p.push_n("vgamem_mb", r / 1024);
                    }
                }
                "bochs" => {
                    if let Some(r) = num("vram").filter(|x| *x > 0) {
                        p.push_n("vgamem", r * 1024);
                    }
                }
                _ => {}
            }
            dev_addr(self.def, &v.info.address, &mut p);
            self.device(p);
        }
        Ok(())
    }

    /// `<hostdev>`: PCI devices and mediated devices through VFIO.
    fn hostdevs(&mut self) -> Result<()> {
        let hostdevs: Vec<&El> = self.def.devices.other.iter().filter(|e| e.name == "hostdev").collect();
        for (i, h) in hostdevs.into_iter().enumerate() {
            if attr(h, "mode").unwrap_or("subsystem") != "subsystem" {
                return Err(unsupported("hostdev mode 'capabilities' is not supported by this driver yet"));
            }
            let ty = attr(h, "type").unwrap_or("");
            let src = child(h, "source");
            let addr = child(h, "address").and_then(pci_address_el);
            let boot = child(h, "boot").and_then(|b| attr(b, "order")).and_then(|o| o.parse::<i64>().ok());
            let extra: Vec<El> = h
                .children
                .iter()
                .filter_map(|c| match c {
                    XNode::El(x) => Some(x.clone()),
                    _ => None,
                })
                .collect();
            if child(h, "teaming").is_some() || extra.iter().any(|e| e.name == "address" && attr(e, "type").is_some_and(|t| t != "pci")) {
                return Err(unsupported("hostdev options are not supported by this driver yet"));
            }
            let mut p = match ty {
                "pci" => {
                    if child(h, "driver").and_then(|d| attr(d, "name")).is_some_and(|n| n != "vfio") {
                        return Err(unsupported("only VFIO PCI passthrough is supported"));
                    }
                    let Some(sa) = src.and_then(|s| child(s, "address")) else {
                        return Err(unsupported("PCI hostdev without a source address"));
                    };
                    let n = |k: &str| attr(sa, k).and_then(|v| oxvirt_conf::xml::parse_uint(v, 0)).unwrap_or(0);
                    let host = format!("{:04x}:{:02x}:{:02x}.{:x}", n("domain"), n("bus"), n("slot"), n("function"));
                    let mut p = Props::default().s("driver", "vfio-pci").s("host", host).s("id", format!("hostdev{i}"));
                    if let Some(b) = boot {
                        p.push_n("bootindex", b);
                    }
                    p
                }
                "mdev" if attr(h, "model") == Some("vfio-pci") => {
                    let uuid = src.and_then(|s| child(s, "address")).and_then(|a| attr(a, "uuid")).unwrap_or("");
                    let ramfb = attr(h, "ramfb") == Some("on");
                    let mut p = Props::default()
                        .s("driver", if ramfb { "vfio-pci-nohotplug" } else { "vfio-pci" })
                        .s("id", format!("hostdev{i}"))
                        .s("sysfsdev", format!("/sys/bus/mdev/devices/{uuid}"));
                    if let Some(d) = attr(h, "display") {
                        p.push_s("display", d);
                    }
                    if ramfb {
                        p.push_b("ramfb", true);
                    }
                    if let Some(b) = boot {
                        p.push_n("bootindex", b);
                    }
                    p
                }
                other => return Err(unsupported(format!("hostdev type '{other}' is not supported by this driver yet"))),
            };
            pci_addr(self.def, &addr, &mut p);
            rom_props(&extra, &mut p);
            self.device(p);
        }
        Ok(())
    }

    /// `<panic model='isa'>` is the pvpanic device; the other models need no device.
    fn panics(&mut self) {
        let x86 = crate::postparse::is_x86(self.def.os.arch.as_deref().unwrap_or(""));
        let panics: Vec<&El> = self.def.devices.other.iter().filter(|e| e.name == "panic").collect();
        for pa in panics {
            let isa = match attr(pa, "model") {
                Some(m) => m == "isa",
                None => x86,
            };
            if !isa {
                continue;
            }
            let mut p = Props::default().s("driver", "pvpanic");
            if let Some(io) = child(pa, "address").filter(|a| attr(a, "type") == Some("isa")).and_then(|a| attr(a, "iobase")) {
                if let Some(v) = oxvirt_conf::xml::parse_uint(io, 0) {
                    p.push_n("ioport", v as i64);
                }
            }
            self.device(p);
        }
    }

    fn memballoon(&mut self) {
        let Some(m) = &self.def.devices.memballoon else { return };
        let driver = match m.model.as_str() {
            "virtio" => "virtio-balloon-pci",
            "virtio-transitional" => "virtio-balloon-pci-transitional",
            "virtio-non-transitional" => "virtio-balloon-pci-non-transitional",
            _ => return,
        };
        let driver = match (&m.info.address, driver) {
            (Some(Address::Ccw { .. }), _) => "virtio-balloon-ccw",
            (Some(Address::Other(e)), _) if attr(e, "type") == Some("virtio-mmio") => "virtio-balloon-device",
            (_, d) => d,
        };
        let mut p = Props::default().s("driver", driver);
        virtio_opts(m.other.iter().find(|e| e.name == "driver"), &mut p);
        p.push_s("id", "balloon0");
        for (k, prop) in [("autodeflate", "deflate-on-oom"), ("freePageReporting", "free-page-reporting")] {
            if let Some((_, v)) = m.attrs.iter().find(|(a, _)| a == k) {
                p.push_b(prop, v == "on");
            }
        }
        dev_addr(self.def, &m.info.address, &mut p);
        self.device(p);
    }

    fn rngs(&mut self) -> Result<()> {
        for (i, r) in self.def.devices.rngs.iter().enumerate() {
            if r.model != "virtio" || r.rate.is_some() || r.driver.is_some() {
                return Err(unsupported("RNG options are not supported by this driver yet"));
            }
            let id = format!("objrng{i}");
            match r.backend_model.as_str() {
                "builtin" => self.object(Props::default().s("qom-type", "rng-builtin").s("id", &id)),
                "random" => self.object(
                    Props::default()
                        .s("qom-type", "rng-random")
                        .s("id", &id)
                        .s("filename", r.backend_path.clone().unwrap_or_else(|| "/dev/urandom".into())),
                ),
                "egd" => {
                    let src = r.backend_source.clone().unwrap_or_default();
                    let cid = format!("charrng{i}");
                    let be = self.chardev_backend(&src, &cid)?;
                    self.cmd.opt("-chardev", be);
                    self.object(Props::default().s("qom-type", "rng-egd").s("id", &id).s("chardev", cid));
                }
                o => return Err(unsupported(format!("RNG backend '{o}'"))),
            }
            let mut p = Props::default().s("driver", virtio_driver("virtio-rng", &r.info.address)).s("rng", &id).s("id", format!("rng{i}"));
            dev_addr(self.def, &r.info.address, &mut p);
            self.device(p);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_layout_groups_values() {
        let c = Command {
            env: vec![("LC_ALL".into(), "C".into())],
            binary: "/usr/bin/qemu".into(),
            args: vec!["-S".into(), "-device".into(), "{\"a\":1}".into()],
        };
        assert_eq!(c.to_args_file(), "LC_ALL=C \\\n/usr/bin/qemu \\\n-S \\\n-device '{\"a\":1}'\n");
    }

    fn el(xml: &str) -> El {
        match oxvirt_conf::xml::parse_doc(xml) {
            Ok(d) => El::from_node(d.root_element()),
            Err(e) => panic!("bad test XML: {e}"),
        }
    }

    #[test]
    fn audiodev_minimal_has_no_directions() {
        let (p, env) = audiodev_props(&el("<audio id='2' type='pulseaudio'/>")).expect("props");
        assert_eq!(p.json(), r#"{"id":"audio2","driver":"pa"}"#);
        assert!(env.is_none());
    }

    #[test]
    fn audiodev_settings_need_fixed_settings() {
        let a = el("<audio id='1' type='oss' timerPeriod='20' exclusive='no'>\
            <input voices='0' fixedSettings='no' bufferCount='3'><settings frequency='8000'/></input>\
            <output fixedSettings='yes' tryPoll='yes'><settings channels='1' format='u8'/></output></audio>");
        let (p, _) = audiodev_props(&a).expect("props");
        assert_eq!(
            p.json(),
            r#"{"id":"audio1","driver":"oss","timer-period":20,"exclusive":false,"in":{"fixed-settings":false,"buffer-count":3},"out":{"fixed-settings":true,"channels":1,"format":"u8","try-poll":true}}"#
        );
    }

    #[test]
    fn audiodev_sdl_driver_goes_to_environment() {
        let (p, env) = audiodev_props(&el("<audio id='1' type='sdl' driver='alsa'/>")).expect("props");
        assert_eq!(p.json(), r#"{"id":"audio1","driver":"sdl"}"#);
        assert_eq!(env, Some(("SDL_AUDIODRIVER".to_string(), "alsa".to_string())));
    }

    fn iface(xml: &str) -> oxvirt_conf::domain::Interface {
        let dom =
            format!("<domain type='qemu'><name>g</name><memory>1024</memory><os><type>hvm</type></os><devices>{xml}</devices></domain>");
        match DomainDef::parse(&dom, &oxvirt_conf::domain::ParseOptions::default()) {
            Ok(d) => d.devices.interfaces[0].clone(),
            Err(e) => panic!("bad test XML: {e}"),
        }
    }

    #[test]
    fn tap_netdev_is_a_descriptor_for_the_test_suite_and_a_name_at_run_time() {
        let virtio = iface("<interface type='bridge'><source bridge='br0'/><target dev='vnet3'/><model type='virtio'/></interface>");
        assert_eq!(tap_netdev_props(&virtio, 0, true).keyval("type"), "tap,fd=3,vhost=on,vhostfd=44,id=hostnet0");
        assert_eq!(tap_netdev_props(&virtio, 0, true).json(), r#"{"type":"tap","fd":"3","vhost":true,"vhostfd":"44","id":"hostnet0"}"#);
        assert_eq!(tap_netdev_props(&virtio, 1, false).keyval("type"), "tap,ifname=vnet3,script=no,downscript=no,id=hostnet1");
        let eth = iface("<interface type='ethernet'><model type='e1000'/></interface>");
        assert_eq!(tap_netdev_props(&eth, 2, true).keyval("type"), "tap,fd=3,id=hostnet2");
        assert_eq!(tap_netdev_props(&eth, 2, false).json(), r#"{"type":"tap","script":"no","downscript":"no","id":"hostnet2"}"#);
    }

    #[test]
    fn hotplug_arguments_are_the_command_lines_properties() {
        let xml = "<domain type='qemu'><name>g</name><memory>1024</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>\
            <disk type='file'><driver name='qemu' type='qcow2' cache='none'/><source file='/a,b.qcow2'/><target dev='vdc' bus='virtio'/>\
            <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></disk>\
            <controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='5' model='pcie-root-port'/>\
            <interface type='user'><mac address='52:54:00:00:00:07'/><model type='virtio'/>\
            <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></interface>\
            </devices></domain>";
        let def = match DomainDef::parse(xml, &oxvirt_conf::domain::ParseOptions::default()) {
            Ok(d) => d,
            Err(e) => panic!("bad test XML: {e}"),
        };
        let disk = &def.devices.disks[0];
        let nodes = hotplug::disk_blockdevs(disk, 4).map(|v| v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            nodes.ok(),
            Some(vec![
                r#"{"auto-read-only":true,"cache":{"direct":true,"no-flush":false},"discard":"unmap","driver":"file","filename":"/a,b.qcow2","node-name":"libvirt-4-storage"}"#.to_string(),
                r#"{"cache":{"direct":true,"no-flush":false},"driver":"qcow2","file":"libvirt-4-storage","node-name":"libvirt-4-format","read-only":false}"#.to_string(),
            ])
        );
        let dev = hotplug::disk_device(&def, disk, Some(4)).map(|v| v.to_string());
        assert_eq!(
            dev.ok().as_deref(),
            Some(
                r#"{"addr":"0x0","bus":"pci.5","drive":"libvirt-4-format","driver":"virtio-blk-pci","id":"virtio-disk2","write-cache":"on"}"#
            )
        );
        let net = hotplug::net(&def, &def.devices.interfaces[0], 3).map(|(a, b)| (a.to_string(), b.to_string()));
        assert_eq!(
            net.ok(),
            Some((
                r#"{"id":"hostnet3","type":"user"}"#.to_string(),
                r#"{"addr":"0x0","bus":"pci.5","driver":"virtio-net-pci","id":"net3","mac":"52:54:00:00:00:07","netdev":"hostnet3"}"#
                    .to_string()
            ))
        );
    }

    #[test]
    fn loadparm_comes_from_the_first_boot_device() {
        let xml = "<domain type='qemu'><name>g</name><memory>1024</memory><os><type arch='s390x'>hvm</type></os><devices>\
            <disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/><boot order='2' loadparm='x'/></disk>\
            <interface type='user'><mac address='52:54:00:00:00:01'/><boot order='1' loadparm='net1'/></interface>\
            </devices></domain>";
        let def = match DomainDef::parse(xml, &oxvirt_conf::domain::ParseOptions::default()) {
            Ok(d) => d,
            Err(e) => panic!("bad test XML: {e}"),
        };
        assert_eq!(boot_loadparm(&def), Some("net1"));
    }
}
