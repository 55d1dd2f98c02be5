//! Procedures that take or return file descriptors (libvirtd's hand-written
//! dispatchers around `virNetMessageDupFD`/`virNetMessageAddFD`):
//! `DOMAIN_OPEN_GRAPHICS`, `DOMAIN_OPEN_GRAPHICS_FD`, `DOMAIN_CREATE_WITH_FILES`,
//! `DOMAIN_CREATE_XML_WITH_FILES` and `DOMAIN_FD_ASSOCIATE`, and the QEMU program's
//! `DOMAIN_MONITOR_COMMAND_WITH_FILES`.
//!
//! The call's descriptors arrive as `OwnedFd`s and are moved into the API call that
//! uses them; on every other path (lookup or argument errors, a driver error, a
//! procedure that takes none) they are closed by dropping, as libvirtd closes
//! `msg->fds` after dispatch.

use super::conv::{dom, wire_dom};
use super::{args, ret, void};
use oxvirt::*;
use oxvirt_rpc::proto::remote::*;
use std::os::fd::OwnedFd;

/// A reply's payload and the descriptors that follow it (`REPLY_WITH_FDS` when any).
pub type FdReply = std::result::Result<(Vec<u8>, Vec<OwnedFd>), Error>;

/// Whether `proc` is one of the procedures served here.
pub fn handles(proc: RemoteProcedure) -> bool {
    use RemoteProcedure as P;
    matches!(
        proc,
        P::DomainOpenGraphics | P::DomainOpenGraphicsFd | P::DomainCreateWithFiles | P::DomainCreateXmlWithFiles | P::DomainFdAssociate
    )
}

/// Whether QEMU-program procedure `n` is served here.
pub fn handles_qemu(n: i32) -> bool {
    n == oxvirt_rpc::proto::qemu::QemuProcedure::DomainMonitorCommandWithFiles as i32
}

/// `QEMU_PROC_DOMAIN_MONITOR_COMMAND_WITH_FILES` with the call's descriptors.
pub fn dispatch_qemu(payload: &[u8], fds: Vec<OwnedFd>, conn: &Connect) -> FdReply {
    use oxvirt_rpc::proto::qemu::{QemuDomainMonitorCommandWithFilesArgs, QemuDomainMonitorCommandWithFilesRet};
    let a: QemuDomainMonitorCommandWithFilesArgs = args(payload)?;
    let d = conn.domain_from_ref(dom(&a.dom));
    let (result, out) = d.qemu_monitor_command_with_files(&a.cmd, fds, a.flags)?;
    Ok((ret(&QemuDomainMonitorCommandWithFilesRet { result })?, out))
}

/// libvirtd's error when a call lacks the descriptor at `slot`.
fn no_fd(slot: usize) -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, format!("No FD available at slot {slot}"))
}

fn plain(r: super::Reply) -> FdReply {
    r.map(|payload| (payload, Vec::new()))
}

/// Serve `proc` (one of [`handles`]) with the call's descriptors `fds`.
pub fn dispatch(proc: RemoteProcedure, payload: &[u8], mut fds: Vec<OwnedFd>, conn: &Connect) -> FdReply {
    use RemoteProcedure as P;
    match proc {
        P::DomainOpenGraphics => {
            let a: RemoteDomainOpenGraphicsArgs = args(payload)?;
            let d = conn.domain_from_ref(dom(&a.dom));
            if fds.is_empty() {
                return Err(no_fd(0));
            }
            let fd = fds.swap_remove(0);
            drop(fds);
            plain(d.open_graphics(a.idx, fd, DomainOpenGraphicsFlags::from_bits_retain(a.flags)).and_then(|()| void()))
        }
        P::DomainOpenGraphicsFd => {
            drop(fds);
            let a: RemoteDomainOpenGraphicsFdArgs = args(payload)?;
            let d = conn.domain_from_ref(dom(&a.dom));
            let fd = d.open_graphics_fd(a.idx, DomainOpenGraphicsFlags::from_bits_retain(a.flags))?;
            Ok((Vec::new(), vec![fd]))
        }
        P::DomainCreateXmlWithFiles => {
            let a: RemoteDomainCreateXmlWithFilesArgs = args(payload)?;
            let d = conn.domain_create_xml_with_files(&a.xml_desc, fds, DomainCreateFlags::from_bits_retain(a.flags))?;
            plain(ret(&RemoteDomainCreateXmlWithFilesRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainCreateWithFiles => {
            let a: RemoteDomainCreateWithFilesArgs = args(payload)?;
            let d = conn.domain_from_ref(dom(&a.dom));
            d.create_with_files(fds, DomainCreateFlags::from_bits_retain(a.flags))?;
            plain(ret(&RemoteDomainCreateWithFilesRet { dom: wire_dom(&d.raw()) }))
        }
        P::DomainFdAssociate => {
            let a: RemoteDomainFdAssociateArgs = args(payload)?;
            let d = conn.domain_from_ref(dom(&a.dom));
            plain(d.fd_associate(&a.name, fds, DomainFdAssociateFlags::from_bits_retain(a.flags)).and_then(|()| void()))
        }
        _ => Err(crate::session::unknown_procedure(proc as i32)),
    }
}
