//! Host interfaces with change transactions (`virInterfaceDriver`).

use crate::conn::TestConn;
use crate::state::State;
use oxvirt::driver::{check_flags, InterfaceDriver};
use oxvirt::*;
use oxvirt_conf::interface::InterfaceDef;

const D: ErrorDomain = ErrorDomain::Test;

/// One interface.
#[derive(Debug, Clone)]
pub(crate) struct IfaceObj {
    /// Definition.
    pub def: InterfaceDef,
    /// Up.
    pub active: bool,
}

impl IfaceObj {
    fn iref(&self) -> InterfaceRef {
        InterfaceRef { name: self.def.name.clone(), mac: self.def.mac.clone().unwrap_or_default() }
    }
}

impl State {
    fn iface_index(&self, name: &str) -> Result<usize> {
        self.ifaces
            .iter()
            .position(|o| o.def.name == name)
            .ok_or_else(|| Error::new(ErrorCode::NoInterface, D, format!("no interface with matching name '{name}'")))
    }

    /// Add or replace an interface definition (`virInterfaceObjListAssignDef`).
    pub(crate) fn iface_assign(&mut self, def: InterfaceDef) -> usize {
        if let Some(i) = self.ifaces.iter().position(|o| o.def.name == def.name) {
            self.ifaces[i].def = def;
            return i;
        }
        self.ifaces.push(IfaceObj { def, active: false });
        self.ifaces.len() - 1
    }
}

fn no_transaction() -> Error {
    Error::new(ErrorCode::OperationInvalid, D, "no transaction running, nothing to be committed.")
}

impl InterfaceDriver for TestConn {
    fn list_all_interfaces(&self, flags: u32) -> Result<Vec<InterfaceRef>> {
        check_flags(flags, 0x3, "testConnectListAllInterfaces", D)?;
        let f = ListInterfacesFlags::from_bits_truncate(flags);
        self.with(|st| {
            Ok(st
                .ifaces
                .iter()
                .filter(|o| {
                    !(f.contains(ListInterfacesFlags::ACTIVE) ^ f.contains(ListInterfacesFlags::INACTIVE))
                        || f.contains(ListInterfacesFlags::ACTIVE) == o.active
                })
                .map(IfaceObj::iref)
                .collect())
        })
    }

    fn interface_lookup_by_name(&self, name: &str) -> Result<InterfaceRef> {
        self.with(|st| Ok(st.ifaces[st.iface_index(name)?].iref()))
    }

    fn interface_lookup_by_mac(&self, mac: &str) -> Result<InterfaceRef> {
        self.with(|st| {
            let found: Vec<&IfaceObj> =
                st.ifaces.iter().filter(|o| o.def.mac.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(mac))).collect();
            match found.as_slice() {
                [] => Err(Error::new(ErrorCode::NoInterface, D, format!("no interface with matching mac '{mac}'"))),
                [one] => Ok(one.iref()),
                _ => Err(Error::new(ErrorCode::MultipleInterfaces, D, "")),
            }
        })
    }

    fn interface_define_xml(&self, xml: &str, flags: u32) -> Result<InterfaceRef> {
        check_flags(flags, 1, "testInterfaceDefineXML", D)?;
        let def = InterfaceDef::parse(xml).map_err(|e| e.into_vir(ErrorDomain::Interface))?;
        self.with(|st| {
            let i = st.iface_assign(def);
            Ok(st.ifaces[i].iref())
        })
    }

    fn interface_undefine(&self, i: &InterfaceRef) -> Result<()> {
        self.with(|st| {
            let idx = st.iface_index(&i.name)?;
            st.ifaces.remove(idx);
            Ok(())
        })
    }

    fn interface_create(&self, i: &InterfaceRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testInterfaceCreate", D)?;
        self.with(|st| {
            let idx = st.iface_index(&i.name)?;
            if st.ifaces[idx].active {
                return Err(Error::new(ErrorCode::OperationInvalid, D, ""));
            }
            st.ifaces[idx].active = true;
            Ok(())
        })
    }

    fn interface_destroy(&self, i: &InterfaceRef, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testInterfaceDestroy", D)?;
        self.with(|st| {
            let idx = st.iface_index(&i.name)?;
            if !st.ifaces[idx].active {
                return Err(Error::new(ErrorCode::OperationInvalid, D, ""));
            }
            st.ifaces[idx].active = false;
            Ok(())
        })
    }

    fn interface_get_xml_desc(&self, i: &InterfaceRef, flags: u32) -> Result<String> {
        check_flags(flags, 0, "testInterfaceGetXMLDesc", D)?;
        self.with(|st| Ok(st.ifaces[st.iface_index(&i.name)?].def.format()))
    }

    fn interface_is_active(&self, i: &InterfaceRef) -> Result<bool> {
        self.with(|st| Ok(st.ifaces[st.iface_index(&i.name)?].active))
    }

    fn interface_change_begin(&self, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testInterfaceChangeBegin", D)?;
        self.with(|st| {
            if st.iface_backup.is_some() {
                return Err(Error::new(ErrorCode::OperationInvalid, D, "there is another transaction running."));
            }
            st.iface_backup = Some(st.ifaces.clone());
            Ok(())
        })
    }

    fn interface_change_commit(&self, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testInterfaceChangeCommit", D)?;
        self.with(|st| st.iface_backup.take().map(|_| ()).ok_or_else(no_transaction))
    }

    fn interface_change_rollback(&self, flags: u32) -> Result<()> {
        check_flags(flags, 0, "testInterfaceChangeRollback", D)?;
        self.with(|st| {
            let backup = st
                .iface_backup
                .take()
                .ok_or_else(|| Error::new(ErrorCode::OperationInvalid, D, "no transaction running, nothing to rollback."))?;
            st.ifaces = backup;
            Ok(())
        })
    }
}
