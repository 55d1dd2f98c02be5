//! Dispatch of the node device procedures (`NODE_DEVICE_*`, `NODE_NUM_OF_DEVICES`,
//! `NODE_LIST_DEVICES`, `CONNECT_LIST_ALL_NODE_DEVICES`).

use super::network::{check_count, check_max, count, first, unsupported, unsupported_rw};
use super::{args, conv, ret, void, Reply};
use oxvirt::driver::check_flags;
use oxvirt::{Connect, Error, ErrorDomain, ListNodeDevicesFlags as F, NodeDevice, NodeDeviceRef};
use oxvirt_rpc::consts::{REMOTE_NODE_DEVICE_CAPS_LIST_MAX, REMOTE_NODE_DEVICE_LIST_MAX};
use oxvirt_rpc::proto::remote::*;

/// Capability names (`virNodeDevCapType`) and the list-all flag selecting each.
const CAPS: [(&str, F); 22] = [
    ("system", F::CAP_SYSTEM),
    ("pci", F::CAP_PCI_DEV),
    ("usb_device", F::CAP_USB_DEV),
    ("usb", F::CAP_USB_INTERFACE),
    ("net", F::CAP_NET),
    ("scsi_host", F::CAP_SCSI_HOST),
    ("scsi_target", F::CAP_SCSI_TARGET),
    ("scsi", F::CAP_SCSI),
    ("storage", F::CAP_STORAGE),
    ("fc_host", F::CAP_FC_HOST),
    ("vports", F::CAP_VPORTS),
    ("scsi_generic", F::CAP_SCSI_GENERIC),
    ("drm", F::CAP_DRM),
    ("mdev_types", F::CAP_MDEV_TYPES),
    ("mdev", F::CAP_MDEV),
    ("ccw", F::CAP_CCW_DEV),
    ("css", F::CAP_CSS_DEV),
    ("vdpa", F::CAP_VDPA),
    ("ap_card", F::CAP_AP_CARD),
    ("ap_queue", F::CAP_AP_QUEUE),
    ("ap_matrix", F::CAP_AP_MATRIX),
    ("vpd", F::CAP_VPD),
];

/// Serve `proc` if it belongs to this module.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], conn: &Connect) -> Option<Reply> {
    use RemoteProcedure as P;
    let p = payload;
    let c = conn;
    const D: ErrorDomain = ErrorDomain::Nodedev;
    Some(match proc {
        P::ConnectListAllNodeDevices => list_all(p, c),
        P::NodeNumOfDevices => args::<RemoteNodeNumOfDevicesArgs>(p)
            .and_then(|a| devices(c, a.cap.as_deref(), a.flags, "virNodeNumOfDevices"))
            .and_then(|d| ret(&RemoteNodeNumOfDevicesRet { num: count(d.len()) })),
        P::NodeListDevices => list_names(p, c),
        P::NodeDeviceLookupByName => args::<RemoteNodeDeviceLookupByNameArgs>(p)
            .and_then(|a| c.node_device_lookup_by_name(&a.name))
            .and_then(|d| ret(&RemoteNodeDeviceLookupByNameRet { dev: wire(&d) })),
        P::NodeDeviceGetXmlDesc => args::<RemoteNodeDeviceGetXmlDescArgs>(p)
            .and_then(|a| dev(c, a.name).xml_desc(a.flags))
            .and_then(|xml| ret(&RemoteNodeDeviceGetXmlDescRet { xml })),
        P::NodeDeviceGetParent => get_parent(p, c),
        P::NodeDeviceNumOfCaps => args::<RemoteNodeDeviceNumOfCapsArgs>(p)
            .and_then(|a| dev(c, a.name).list_caps())
            .and_then(|caps| ret(&RemoteNodeDeviceNumOfCapsRet { num: count(caps.len()) })),
        P::NodeDeviceListCaps => list_caps(p, c),
        P::NodeDeviceCreateXml => args::<RemoteNodeDeviceCreateXmlArgs>(p)
            .and_then(|a| c.node_device_create_xml(&a.xml_desc, a.flags))
            .and_then(|d| ret(&RemoteNodeDeviceCreateXmlRet { dev: wire(&d) })),
        P::NodeDeviceDefineXml => args::<RemoteNodeDeviceDefineXmlArgs>(p)
            .and_then(|a| c.node_device_define_xml(&a.xml_desc, a.flags))
            .and_then(|d| ret(&RemoteNodeDeviceDefineXmlRet { dev: wire(&d) })),
        P::NodeDeviceDestroy => args::<RemoteNodeDeviceDestroyArgs>(p).and_then(|a| dev(c, a.name).destroy()).and_then(|()| void()),
        P::NodeDeviceUndefine => {
            args::<RemoteNodeDeviceUndefineArgs>(p).and_then(|a| dev(c, a.name).undefine(a.flags)).and_then(|()| void())
        }
        // Not in the `oxvirt` API yet (detach/reattach/reset belong to the
        // hypervisor driver in libvirt).
        P::NodeDeviceDettach => unsupported_rw::<RemoteNodeDeviceDettachArgs>(p, c, "virNodeDeviceDettach", D),
        P::NodeDeviceDetachFlags => unsupported_rw::<RemoteNodeDeviceDetachFlagsArgs>(p, c, "virNodeDeviceDetachFlags", D),
        P::NodeDeviceReAttach => unsupported_rw::<RemoteNodeDeviceReAttachArgs>(p, c, "virNodeDeviceReAttach", D),
        P::NodeDeviceReset => unsupported_rw::<RemoteNodeDeviceResetArgs>(p, c, "virNodeDeviceReset", D),
        P::NodeDeviceLookupScsiHostByWwn => {
            unsupported::<RemoteNodeDeviceLookupScsiHostByWwnArgs>(p, "virNodeDeviceLookupSCSIHostByWWN", D)
        }
        P::NodeDeviceCreate => unsupported_rw::<RemoteNodeDeviceCreateArgs>(p, c, "virNodeDeviceCreate", D),
        P::NodeDeviceGetAutostart => unsupported::<RemoteNodeDeviceGetAutostartArgs>(p, "virNodeDeviceGetAutostart", D),
        P::NodeDeviceSetAutostart => unsupported_rw::<RemoteNodeDeviceSetAutostartArgs>(p, c, "virNodeDeviceSetAutostart", D),
        P::NodeDeviceIsPersistent => unsupported::<RemoteNodeDeviceIsPersistentArgs>(p, "virNodeDeviceIsPersistent", D),
        P::NodeDeviceIsActive => unsupported::<RemoteNodeDeviceIsActiveArgs>(p, "virNodeDeviceIsActive", D),
        _ => return None,
    })
}

/// A handle for a device named on the wire, without a lookup (libvirtd's
/// `get_nonnull_node_device_name`).
fn dev(conn: &Connect, name: String) -> NodeDevice {
    conn.node_device_from_ref(NodeDeviceRef { name })
}

fn wire(d: &NodeDevice) -> RemoteNonnullNodeDevice {
    conv::wire_nodedev(d.raw())
}

/// The devices having capability `cap` (all of them for `None`), as the old
/// `virNodeNumOfDevices`/`virNodeListDevices` select them. Drivers take no flags
/// there; an unknown capability name matches nothing.
fn devices(conn: &Connect, cap: Option<&str>, flags: u32, api: &str) -> Result<Vec<NodeDevice>, Error> {
    check_flags(flags, 0, api, ErrorDomain::Nodedev)?;
    match cap {
        None => conn.list_all_node_devices(F::empty()),
        Some(name) => match CAPS.iter().find(|(n, _)| *n == name) {
            Some((_, bit)) => conn.list_all_node_devices(*bit),
            None => Ok(Vec::new()),
        },
    }
}

fn list_all(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteConnectListAllNodeDevicesArgs = args(p)?;
    let devs = conn.list_all_node_devices(F::from_bits_retain(a.flags))?;
    let n = check_count(devs.len(), "node_device", REMOTE_NODE_DEVICE_LIST_MAX)?;
    let devices = if a.need_results != 0 { devs.iter().map(wire).collect() } else { Vec::new() };
    ret(&RemoteConnectListAllNodeDevicesRet { devices, ret: n })
}

fn list_names(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNodeListDevicesArgs = args(p)?;
    let max = check_max(a.maxnames, "names", REMOTE_NODE_DEVICE_LIST_MAX, "REMOTE_NODE_DEVICE_LIST_MAX")?;
    let devs = first(devices(conn, a.cap.as_deref(), a.flags, "virNodeListDevices")?, max);
    ret(&RemoteNodeListDevicesRet { names: devs.iter().map(|d| d.name().to_string()).collect() })
}

/// libvirtd looks the device up first, then answers a device without a parent with
/// a null `parentName` rather than an error.
fn get_parent(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNodeDeviceGetParentArgs = args(p)?;
    let d = conn.node_device_lookup_by_name(&a.name)?;
    ret(&RemoteNodeDeviceGetParentRet { parent_name: d.parent().ok().flatten() })
}

fn list_caps(p: &[u8], conn: &Connect) -> Reply {
    let a: RemoteNodeDeviceListCapsArgs = args(p)?;
    let max = check_max(a.maxnames, "names", REMOTE_NODE_DEVICE_CAPS_LIST_MAX, "REMOTE_NODE_DEVICE_CAPS_LIST_MAX")?;
    let caps = dev(conn, a.name).list_caps()?;
    ret(&RemoteNodeDeviceListCapsRet { names: first(caps, max) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/nodedev.rs"]
mod tests;
