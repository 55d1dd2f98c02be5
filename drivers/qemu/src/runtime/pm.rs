//! Guest power management (libvirt's `qemuDomainPMSuspendForDuration`,
//! `qemuDomainPMWakeup` and the SUSPEND, SUSPEND_DISK and WAKEUP handlers of
//! `qemu_process.c`), and the BALLOON_CHANGE and TUNABLE events to clients.
//!
//! A suspend goes through the guest agent (`guest-suspend-ram|disk|hybrid`) after
//! libvirt's checks: the agent available, QEMU's `query-current-machine`
//! `wakeup-suspend-support`, and the definition's `<pm>` not disabling the state.
//! The guest entering S3 makes QEMU send SUSPEND: a running domain becomes
//! `pmsuspended` (reason unknown) with a PMSUSPEND event and a lifecycle
//! PMSUSPENDED/MEMORY event (SUSPEND_DISK: PMSUSPEND_DISK and PMSUSPENDED/DISK).
//! `system_wakeup` wakes it; QEMU's WAKEUP gives a PMWAKEUP event and, for a
//! `pmsuspended` domain, the state running (reason wakeup) with STARTED/WAKEUP.

use super::domobj::{DomObj, Expect};
use super::Driver;
use oxvirt::driver::check_flags;
use oxvirt::event::lifecycle as lc;
use oxvirt::{DomainEventData, DomainRef, DomainState, Error, ErrorCode, ErrorDomain, Event, Result};
use serde_json::Value;

const D: ErrorDomain = ErrorDomain::Qemu;

/// `VIR_DOMAIN_PMSUSPENDED_UNKNOWN`.
const PMSUSPENDED_UNKNOWN: i32 = 0;
/// `VIR_DOMAIN_RUNNING_WAKEUP`.
const RUNNING_WAKEUP: i32 = 8;

/// The agent command of a `virNodeSuspendTarget`.
const AGENT_COMMANDS: [&str; 3] = ["guest-suspend-ram", "guest-suspend-disk", "guest-suspend-hybrid"];

/// Whether the definition's `<pm>` has `<NAME enabled='no'/>`.
fn pm_disabled(o: &DomObj, name: &str) -> bool {
    o.def.other.iter().filter(|e| e.name == "pm").flat_map(|pm| pm.children.iter()).any(|c| match c {
        oxvirt_conf::xml::XNode::El(e) => e.name == name && e.attrs.iter().any(|(k, v)| k == "enabled" && v == "no"),
        _ => false,
    })
}

/// `virDomainPMSuspendForDuration`.
pub fn suspend(drv: &Driver, d: &DomainRef, target: u32, duration: u64, flags: u32) -> Result<()> {
    check_flags(flags, 0, "qemuDomainPMSuspendForDuration", D)?;
    if duration != 0 {
        return Err(Error::new(ErrorCode::ArgumentUnsupported, D, "Duration not supported. Use 0 for now"));
    }
    let Some(command) = AGENT_COMMANDS.get(target as usize).copied() else {
        return Err(Error::new(ErrorCode::InvalidArg, D, format!("Unknown suspend target: {target}")));
    };
    super::guestinfo::agent_ready(drv, d)?;
    let info = drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("query-current-machine", None))?;
    let Some(wakeup) = info.get("wakeup-suspend-support").and_then(Value::as_bool) else {
        return Err(Error::new(ErrorCode::InternalError, D, "malformed qemu-current-machine reply"));
    };
    if !wakeup {
        return Err(Error::new(ErrorCode::OperationUnsupported, D, "Domain does not have suspend support"));
    }
    {
        let doms = drv.doms();
        let o = doms.by_ref(d)?;
        if pm_disabled(o, "suspend-to-mem") && target != 1 {
            return Err(Error::new(ErrorCode::InternalError, D, "S3 state is disabled for this domain"));
        }
        if pm_disabled(o, "suspend-to-disk") && target == 1 {
            return Err(Error::new(ErrorCode::InternalError, D, "S4 state is disabled for this domain"));
        }
    }
    super::guestinfo::agent_suspend(drv, d, command)
}

/// `virDomainPMWakeup`: `system_wakeup`.
pub fn wakeup(drv: &Driver, d: &DomainRef, flags: u32) -> Result<()> {
    check_flags(flags, 0, "qemuDomainPMWakeup", D)?;
    drv.monitor_query(d, Expect::Nothing, |_| Ok(()), |q| q.execute("system_wakeup", None))?;
    Ok(())
}

fn emit(drv: &Driver, o: &DomObj, data: DomainEventData) {
    drv.bus.emit(Event::Domain { dom: o.dref(), data });
}

/// QEMU's SUSPEND (`disk` false) or SUSPEND_DISK.
pub(super) fn suspended(drv: &Driver, o: &mut DomObj, disk: bool) {
    emit(drv, o, if disk { DomainEventData::PmSuspendDisk { reason: 0 } } else { DomainEventData::PmSuspend { reason: 0 } });
    if o.state == DomainState::Running {
        o.state = DomainState::PmSuspended;
        o.reason = PMSUSPENDED_UNKNOWN;
        // VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY / _DISK.
        emit(drv, o, DomainEventData::Lifecycle { event: lc::PMSUSPENDED, detail: i32::from(disk) });
        drv.save_status(o);
    }
}

/// QEMU's WAKEUP.
pub(super) fn woke_up(drv: &Driver, o: &mut DomObj) {
    emit(drv, o, DomainEventData::PmWakeup { reason: 0 });
    if o.state == DomainState::PmSuspended {
        o.state = DomainState::Running;
        o.reason = RUNNING_WAKEUP;
        emit(drv, o, DomainEventData::Lifecycle { event: lc::STARTED, detail: lc::STARTED_WAKEUP });
        drv.save_status(o);
    }
}

/// QEMU's BALLOON_CHANGE (after `tune::balloon_changed` updated the definition):
/// the BALLOON_CHANGE event with the balloon's size in KiB.
pub(super) fn balloon_event(drv: &Driver, o: &DomObj, data: &Value) {
    if let Some(actual) = data.get("actual").and_then(Value::as_u64) {
        emit(drv, o, DomainEventData::BalloonChange { actual: actual >> 10 });
    }
}

/// libvirt's TUNABLE event (`virDomainEventTunableNewFromDom`) of live changes:
/// `cputune.*` of `schedinfo`, `vcpupin`, `emulatorpin`.
pub(super) fn tunable_event(drv: &Driver, d: &DomainRef, params: Vec<oxvirt::TypedParam>) {
    let dom = drv.doms().by_ref(d).map(DomObj::dref).unwrap_or_else(|_| d.clone());
    drv.bus.emit(Event::Domain { dom, data: DomainEventData::Tunable { params } });
}
