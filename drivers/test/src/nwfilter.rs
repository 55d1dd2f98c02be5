//! Network filters (`virNWFilterDriver`). libvirt's test driver has none; this keeps
//! definitions in memory with libvirt's nwfilter driver rules for names and UUIDs.

use crate::conn::TestConn;
use crate::state::State;
use oxvirt::driver::{check_flags, NWFilterDriver};
use oxvirt::*;
use oxvirt_conf::nwfilter::NWFilterDef;
use oxvirt_util::uuid::{self, Uuid};

const D: ErrorDomain = ErrorDomain::Nwfilter;

/// One filter.
#[derive(Debug, Clone)]
pub(crate) struct NWFilterObj {
    /// Definition.
    pub def: NWFilterDef,
}

impl NWFilterObj {
    fn fref(&self) -> NWFilterRef {
        NWFilterRef { name: self.def.name.clone(), uuid: self.def.uuid }
    }
}

impl State {
    fn nwfilter_index(&self, f: &NWFilterRef) -> Result<usize> {
        self.nwfilters
            .iter()
            .position(|o| o.def.uuid == f.uuid)
            .ok_or_else(|| Error::new(ErrorCode::NoNwfilter, D, format!("no nwfilter with matching uuid '{}'", uuid::format(&f.uuid))))
    }
}

impl NWFilterDriver for TestConn {
    fn list_all_nwfilters(&self, flags: u32) -> Result<Vec<NWFilterRef>> {
        check_flags(flags, 0, "nwfilterConnectListAllNWFilters", D)?;
        self.with(|st| Ok(st.nwfilters.iter().map(NWFilterObj::fref).collect()))
    }

    fn nwfilter_lookup_by_name(&self, name: &str) -> Result<NWFilterRef> {
        self.with(|st| {
            st.nwfilters
                .iter()
                .find(|o| o.def.name == name)
                .map(NWFilterObj::fref)
                .ok_or_else(|| Error::new(ErrorCode::NoNwfilter, D, format!("no nwfilter with matching name '{name}'")))
        })
    }

    fn nwfilter_lookup_by_uuid(&self, u: &Uuid) -> Result<NWFilterRef> {
        self.with(|st| {
            st.nwfilters
                .iter()
                .find(|o| o.def.uuid == *u)
                .map(NWFilterObj::fref)
                .ok_or_else(|| Error::new(ErrorCode::NoNwfilter, D, format!("no nwfilter with matching uuid '{}'", uuid::format(u))))
        })
    }

    fn nwfilter_define_xml(&self, xml: &str, flags: u32) -> Result<NWFilterRef> {
        check_flags(flags, 1, "nwfilterDefineXMLFlags", D)?;
        let mut def = NWFilterDef::parse(xml).map_err(|e| e.into_vir(D))?;
        self.with(|st| {
            if let Some(o) = st.nwfilters.iter().find(|o| o.def.uuid == def.uuid && def.uuid_specified) {
                if o.def.name != def.name {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        D,
                        format!("filter with same UUID but different name ('{}') already exists", o.def.name),
                    ));
                }
            }
            if let Some(i) = st.nwfilters.iter().position(|o| o.def.name == def.name) {
                if def.uuid_specified && st.nwfilters[i].def.uuid != def.uuid {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        D,
                        format!("filter '{}' already exists with uuid {}", def.name, uuid::format(&st.nwfilters[i].def.uuid)),
                    ));
                }
                def.uuid = st.nwfilters[i].def.uuid;
                st.nwfilters[i].def = def;
                return Ok(st.nwfilters[i].fref());
            }
            st.nwfilters.push(NWFilterObj { def });
            Ok(st.nwfilters[st.nwfilters.len() - 1].fref())
        })
    }

    fn nwfilter_undefine(&self, f: &NWFilterRef) -> Result<()> {
        self.with(|st| {
            let i = st.nwfilter_index(f)?;
            st.nwfilters.remove(i);
            Ok(())
        })
    }

    fn nwfilter_get_xml_desc(&self, f: &NWFilterRef, flags: u32) -> Result<String> {
        check_flags(flags, 0, "nwfilterGetXMLDesc", D)?;
        self.with(|st| Ok(st.nwfilters[st.nwfilter_index(f)?].def.format()))
    }
}
