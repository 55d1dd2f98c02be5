//! `virDomainGetMetadata`/`virDomainSetMetadata` on QEMU domains (libvirt's
//! `qemuDomainGetMetadata`/`qemuDomainSetMetadata`): the title, description and
//! application XML of the live and/or persistent definition, saved in the status file
//! and the config file, with a METADATA_CHANGE event. Unlike libvirt no job is taken:
//! the change never waits for a busy or hung monitor.

use super::Driver;
use oxvirt::driver::check_flags;
use oxvirt::*;
use oxvirt_conf::domain::DomainDef;
use oxvirt_conf::metadata;

const D: ErrorDomain = ErrorDomain::Qemu;

fn conf_err(e: oxvirt_conf::error::ConfError) -> Error {
    e.into_vir(ErrorDomain::Domain)
}

/// `virDomainGetMetadata`.
pub fn get(drv: &Driver, d: &DomainRef, typ: i32, uri: Option<&str>, flags: u32) -> Result<String> {
    check_flags(flags, 3, "qemuDomainGetMetadata", D)?;
    drv.refresh(&d.uuid);
    let doms = drv.doms();
    let o = doms.by_ref(d)?;
    let (live, _) = o.impact(flags)?;
    let def = if live { &o.def } else { o.persistent_def() };
    metadata::domain_get(def, typ, uri).map_err(conf_err)
}

/// `virDomainSetMetadata`.
pub fn set(drv: &Driver, d: &DomainRef, typ: i32, value: Option<&str>, key: Option<&str>, uri: Option<&str>, flags: u32) -> Result<()> {
    check_flags(flags, 3, "qemuDomainSetMetadata", D)?;
    drv.refresh(&d.uuid);
    let ev = {
        let mut doms = drv.doms();
        let o = doms.by_ref_mut(d)?;
        let (live, config) = o.impact(flags)?;
        let change = |def: &mut DomainDef| metadata::domain_set(def, typ, value, key, uri).map_err(conf_err);
        if live {
            change(&mut o.def)?;
            drv.save_status(o);
        }
        if config {
            let def = o.new_def.as_mut().unwrap_or(&mut o.def);
            change(def)?;
            drv.save_config(def)?;
        }
        Event::Domain { dom: o.dref(), data: DomainEventData::MetadataChange { typ, nsuri: uri.map(str::to_string) } }
    };
    drv.bus.emit(ev);
    Ok(())
}
