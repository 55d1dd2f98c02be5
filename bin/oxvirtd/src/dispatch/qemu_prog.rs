//! The QEMU program (`qemu_protocol.x`, libvirt-qemu's calls): monitor and guest-agent
//! pass-through (`virsh qemu-monitor-command`, `virsh qemu-agent-command`), served
//! through the public API like the REMOTE program. The monitor command with files is
//! served by `fds.rs` (it carries descriptors); procedures not listed (attach, monitor
//! events) answer "unknown procedure".

use super::conv::dom;
use super::{args, ret, Reply};
use oxvirt::Connect;
use oxvirt_rpc::proto::qemu::*;

/// Run QEMU-program procedure `n`; `None` when this module does not serve it.
pub fn dispatch(n: i32, payload: &[u8], conn: &Connect) -> Option<Reply> {
    Some(match QemuProcedure::from_number(n)? {
        QemuProcedure::DomainMonitorCommand => args::<QemuDomainMonitorCommandArgs>(payload).and_then(|a| {
            let result = conn.domain_from_ref(dom(&a.dom)).qemu_monitor_command(&a.cmd, a.flags)?;
            ret(&QemuDomainMonitorCommandRet { result })
        }),
        QemuProcedure::DomainAgentCommand => args::<QemuDomainAgentCommandArgs>(payload).and_then(|a| {
            let result = conn.domain_from_ref(dom(&a.dom)).qemu_agent_command(&a.cmd, a.timeout, a.flags)?;
            ret(&QemuDomainAgentCommandRet { result })
        }),
        _ => return None,
    })
}
