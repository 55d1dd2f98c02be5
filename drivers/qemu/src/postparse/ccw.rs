//! CCW device numbers for s390 `s390-ccw-virtio` guests: virtio devices without an
//! address are put on the channel subsystem and numbered `fe.0.0000` upwards, skipping
//! the numbers that are given explicitly.

use super::{attr, child, el_set_address, pci::xml_err};
use crate::error::Result;
use oxvirt_conf::domain::{Address, DomainDef};
use oxvirt_conf::xml::El;
use std::collections::HashSet;

/// Channel subsystem of virtio-ccw devices.
const VIRTIO_CSSID: u32 = 0xfe;

/// A device slot in the order libvirt walks devices (`virDomainDeviceInfoIterate`).
#[derive(Clone, Copy)]
enum Slot {
    Disk(usize),
    Net(usize),
    Video(usize),
    Controller(usize),
    Input(usize),
    Balloon,
    Rng(usize),
    Other(usize),
}

fn is_virtio_model(m: Option<&str>) -> bool {
    matches!(m, Some("virtio" | "virtio-transitional" | "virtio-non-transitional"))
}

/// A CCW `<address>` element as an [`Address`].
fn ccw_of_el(e: &El) -> Option<Address> {
    let a = child(e, "address")?;
    if attr(a, "type") != Some("ccw") {
        return None;
    }
    let n = |k: &str| attr(a, k).and_then(|v| oxvirt_conf::xml::parse_uint(v, 0));
    Some(Address::Ccw { cssid: n("cssid")?, ssid: n("ssid")?, devno: n("devno")? })
}

/// Rank of an `other` device in the iteration order, or `None` for devices that never
/// get a CCW address.
fn other_rank(e: &El) -> Option<u8> {
    match e.name.as_str() {
        "hostdev" => Some(0),
        "filesystem" => Some(1),
        "memory" => Some(2),
        "vsock" => Some(3),
        _ => None,
    }
}

/// Whether an address-less `other` device goes on the channel subsystem.
fn other_primed(e: &El, vfio_ccw: bool) -> bool {
    match e.name.as_str() {
        "hostdev" => {
            let ty = attr(e, "type");
            (attr(e, "mode") == Some("subsys") && ty == Some("scsi_host"))
                || (vfio_ccw && ty == Some("mdev") && attr(e, "model") == Some("vfio-ccw"))
        }
        "filesystem" | "vsock" => true,
        "memory" => matches!(attr(e, "model"), Some("virtio-pmem" | "virtio-mem")),
        _ => false,
    }
}

fn slots(def: &DomainDef) -> Vec<Slot> {
    let d = &def.devices;
    let mut others: Vec<(u8, usize)> = d.other.iter().enumerate().filter_map(|(i, e)| other_rank(e).map(|r| (r, i))).collect();
    others.sort_by_key(|(r, i)| (*r, *i));
    let rank = |r: u8| others.iter().filter(move |(x, _)| *x == r).map(|(_, i)| Slot::Other(*i));
    let mut out: Vec<Slot> = Vec::new();
    out.extend((0..d.disks.len()).map(Slot::Disk));
    out.extend((0..d.interfaces.len()).map(Slot::Net));
    out.extend(rank(0));
    out.extend((0..d.videos.len()).map(Slot::Video));
    out.extend((0..d.controllers.len()).map(Slot::Controller));
    out.extend((0..d.inputs.len()).map(Slot::Input));
    out.extend(rank(1));
    if d.memballoon.is_some() {
        out.push(Slot::Balloon);
    }
    out.extend((0..d.rngs.len()).map(Slot::Rng));
    out.extend(rank(2));
    out.extend(rank(3));
    out
}

/// The current address of a slot, and whether an address-less device there is virtio.
fn inspect(def: &DomainDef, s: Slot, vfio_ccw: bool) -> (Option<Address>, bool) {
    let d = &def.devices;
    match s {
        Slot::Disk(i) => d.disks.get(i).map(|x| (x.info.address.clone(), x.target_bus == "virtio")),
        Slot::Net(i) => d.interfaces.get(i).map(|x| (x.info.address.clone(), is_virtio_model(x.model.as_deref()))),
        Slot::Video(i) => d.videos.get(i).map(|x| (x.info.address.clone(), x.model.as_deref() == Some("virtio"))),
        Slot::Controller(i) => {
            d.controllers.get(i).map(|x| (x.info.address.clone(), matches!(x.controller_type.as_str(), "virtio-serial" | "scsi")))
        }
        Slot::Input(i) => d.inputs.get(i).map(|x| (x.info.address.clone(), x.bus.as_deref() == Some("virtio"))),
        Slot::Balloon => d.memballoon.as_ref().map(|x| (x.info.address.clone(), x.model != "none")),
        Slot::Rng(i) => d.rngs.get(i).map(|x| (x.info.address.clone(), true)),
        Slot::Other(i) => d.other.get(i).map(|e| {
            let addr = child(e, "address").map(|_| ccw_of_el(e).unwrap_or_else(|| Address::Other(El::new("address"))));
            (addr, other_primed(e, vfio_ccw))
        }),
    }
    .unwrap_or((None, false))
}

fn set(def: &mut DomainDef, s: Slot, a: Address) {
    let d = &mut def.devices;
    let info = match s {
        Slot::Disk(i) => d.disks.get_mut(i).map(|x| &mut x.info),
        Slot::Net(i) => d.interfaces.get_mut(i).map(|x| &mut x.info),
        Slot::Video(i) => d.videos.get_mut(i).map(|x| &mut x.info),
        Slot::Controller(i) => d.controllers.get_mut(i).map(|x| &mut x.info),
        Slot::Input(i) => d.inputs.get_mut(i).map(|x| &mut x.info),
        Slot::Balloon => d.memballoon.as_mut().map(|x| &mut x.info),
        Slot::Rng(i) => d.rngs.get_mut(i).map(|x| &mut x.info),
        Slot::Other(i) => {
            if let Some(e) = d.other.get_mut(i) {
                el_set_address(e, &a);
            }
            None
        }
    };
    if let Some(info) = info {
        info.address = Some(a);
    }
}

fn devno_str(cssid: u32, ssid: u32, devno: u32) -> String {
    format!("{cssid:x}.{ssid:x}.{devno:04x}")
}

/// libvirt's `qemuDomainAssignS390Addresses` for `s390-ccw` machines.
pub fn assign_ccw_addresses(def: &mut DomainDef, vfio_ccw: bool) -> Result<()> {
    let arch = def.os.arch.as_deref().unwrap_or("");
    let machine = def.os.machine.as_deref().unwrap_or("");
    if !arch.starts_with("s390") || !machine.starts_with("s390-ccw") {
        return Ok(());
    }
    let all = slots(def);
    let mut used = HashSet::new();
    let mut todo = Vec::new();
    for s in all {
        match inspect(def, s, vfio_ccw) {
            (Some(Address::Ccw { cssid, ssid, devno }), _) if !used.insert((cssid, ssid, devno)) => {
                return Err(xml_err(format!("The CCW devno '{}' is in use already", devno_str(cssid, ssid, devno))));
            }
            (None, true) => todo.push(s),
            _ => {}
        }
    }
    let mut next: u32 = 0;
    for s in todo {
        while used.contains(&(VIRTIO_CSSID, 0, next)) {
            next += 1;
            if next > 0xffff {
                return Err(crate::error::QemuError::Internal("There are no more free CCW devnos.".into()));
            }
        }
        used.insert((VIRTIO_CSSID, 0, next));
        set(def, s, Address::Ccw { cssid: VIRTIO_CSSID, ssid: 0, devno: next });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(devices: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>g</name><memory>1024</memory>\
             <os><type arch='s390x' machine='s390-ccw-virtio'>hvm</type></os><devices>{devices}</devices></domain>"
        );
        match DomainDef::parse(&xml, &oxvirt_conf::domain::ParseOptions::default()) {
            Ok(d) => d,
            Err(e) => panic!("bad test XML: {e}"),
        }
    }

    #[test]
    fn auto_devnos_skip_explicit_ones() {
        let mut d = domain(
            "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>\
             <disk type='file'><source file='/b'/><target dev='vdb' bus='virtio'/>\
             <address type='ccw' cssid='0xfe' ssid='0' devno='0'/></disk>\
             <memballoon model='virtio'/>",
        );
        assign_ccw_addresses(&mut d, false).expect("assign");
        assert_eq!(d.devices.disks[0].info.address, Some(Address::Ccw { cssid: 0xfe, ssid: 0, devno: 1 }));
        assert_eq!(
            d.devices.memballoon.as_ref().and_then(|m| m.info.address.clone()),
            Some(Address::Ccw { cssid: 0xfe, ssid: 0, devno: 2 })
        );
    }

    #[test]
    fn duplicate_devno_is_rejected() {
        let mut d = domain(
            "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/>\
             <address type='ccw' cssid='0xfe' ssid='0' devno='3'/></disk>\
             <disk type='file'><source file='/b'/><target dev='vdb' bus='virtio'/>\
             <address type='ccw' cssid='0xfe' ssid='0' devno='0x3'/></disk>",
        );
        let e = assign_ccw_addresses(&mut d, false).expect_err("duplicate");
        assert!(e.to_string().contains("fe.0.0003"), "{e}");
    }

    #[test]
    fn non_virtio_devices_stay_unaddressed() {
        let mut d = domain("<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk>");
        assign_ccw_addresses(&mut d, false).expect("assign");
        assert_eq!(d.devices.disks[0].info.address, None);
    }
}
