//! Virtual networks (`virNetworkDriver`).

use crate::conn::TestConn;
use crate::state::State;
use oxvirt::driver::{check_flags, NetworkDriver};
use oxvirt::event::object_lifecycle as ol;
use oxvirt::*;
use oxvirt_conf::network::NetworkDef;
use oxvirt_util::uuid::{self, Uuid};

const D: ErrorDomain = ErrorDomain::Test;

/// One network.
#[derive(Debug, Clone)]
pub(crate) struct NetObj {
    /// Current definition (live while active).
    pub def: NetworkDef,
    /// Persistent definition defined while active.
    pub new_def: Option<NetworkDef>,
    /// Running.
    pub active: bool,
    /// Has a persistent configuration.
    pub persistent: bool,
    /// Autostart flag.
    pub autostart: bool,
}

impl NetObj {
    fn nref(&self) -> NetworkRef {
        NetworkRef { name: self.def.name.clone(), uuid: self.def.uuid }
    }
}

fn parse(xml: &str) -> Result<NetworkDef> {
    NetworkDef::parse(xml).map_err(|e| e.into_vir(ErrorDomain::Network))
}

fn event(n: &NetObj, ev: i32) -> Event {
    Event::Network { net: n.nref(), event: ev, detail: 0 }
}

impl State {
    fn net_index(&self, n: &NetworkRef) -> Result<usize> {
        self.networks.iter().position(|o| o.def.uuid == n.uuid).ok_or_else(|| {
            Error::new(ErrorCode::NoNetwork, D, format!("no network with matching uuid '{}' ({})", uuid::format(&n.uuid), n.name))
        })
    }

    /// Add or update a network as `virNetworkObjAssignDef` does. `live` makes the
    /// definition the running one.
    pub(crate) fn net_assign(&mut self, def: NetworkDef, live: bool) -> Result<usize> {
        if let Some(i) = self.networks.iter().position(|o| o.def.uuid == def.uuid) {
            let o = &mut self.networks[i];
            if o.def.name != def.name {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Network,
                    format!("network '{}' is already defined with uuid {}", o.def.name, uuid::format(&o.def.uuid)),
                ));
            }
            if live {
                if o.active {
                    return Err(Error::new(
                        ErrorCode::OperationInvalid,
                        ErrorDomain::Network,
                        format!("network is already active as '{}'", o.def.name),
                    ));
                }
                let old = std::mem::replace(&mut o.def, def);
                o.new_def = Some(old);
            } else if o.active {
                o.new_def = Some(def);
            } else {
                o.def = def;
            }
            return Ok(i);
        }
        if let Some(o) = self.networks.iter().find(|o| o.def.name == def.name) {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Network,
                format!("network '{}' already exists with uuid {}", def.name, uuid::format(&o.def.uuid)),
            ));
        }
        self.networks.push(NetObj { def, new_def: None, active: false, persistent: false, autostart: false });
        Ok(self.networks.len() - 1)
    }
}

fn filter(o: &NetObj, flags: u32) -> bool {
    use ListNetworksFlags as L;
    let f = L::from_bits_truncate(flags);
    let pair = |a: L, b: L, v: bool| !(f.contains(a) ^ f.contains(b)) || f.contains(a) == v;
    pair(L::ACTIVE, L::INACTIVE, o.active)
        && pair(L::PERSISTENT, L::TRANSIENT, o.persistent)
        && pair(L::AUTOSTART, L::NO_AUTOSTART, o.autostart)
}

impl NetworkDriver for TestConn {
    fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        check_flags(flags, 0x3f, "testConnectListAllNetworks", D)?;
        self.with(|st| Ok(st.networks.iter().filter(|o| filter(o, flags)).map(NetObj::nref).collect()))
    }

    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        self.with(|st| {
            st.networks
                .iter()
                .find(|o| o.def.name == name)
                .map(NetObj::nref)
                .ok_or_else(|| Error::new(ErrorCode::NoNetwork, D, format!("no network with matching name '{name}'")))
        })
    }

    fn network_lookup_by_uuid(&self, u: &Uuid) -> Result<NetworkRef> {
        self.with(|st| {
            st.networks
                .iter()
                .find(|o| o.def.uuid == *u)
                .map(NetObj::nref)
                .ok_or_else(|| Error::new(ErrorCode::NoNetwork, D, format!("no network with matching uuid '{}'", uuid::format(u))))
        })
    }

    fn network_define_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        check_flags(flags, 1, "testNetworkDefineXMLFlags", D)?;
        let def = parse(xml)?;
        self.with(|st| {
            let i = st.net_assign(def, false)?;
            st.networks[i].persistent = true;
            let ev = event(&st.networks[i], ol::DEFINED);
            let r = st.networks[i].nref();
            st.emit(ev);
            Ok(r)
        })
    }

    fn network_create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        check_flags(flags, 1, "testNetworkCreateXMLFlags", D)?;
        let def = parse(xml)?;
        self.with(|st| {
            let i = st.net_assign(def, true)?;
            st.networks[i].active = true;
            let ev = event(&st.networks[i], ol::STARTED);
            let r = st.networks[i].nref();
            st.emit(ev);
            Ok(r)
        })
    }

    fn network_undefine(&self, n: &NetworkRef) -> Result<()> {
        self.with(|st| {
            let i = st.net_index(n)?;
            if st.networks[i].active {
                return Err(Error::new(ErrorCode::OperationInvalid, D, format!("Network '{}' is still running", n.name)));
            }
            let ev = event(&st.networks[i], ol::UNDEFINED);
            st.networks.remove(i);
            st.emit(ev);
            Ok(())
        })
    }

    fn network_create(&self, n: &NetworkRef) -> Result<()> {
        self.with(|st| {
            let i = st.net_index(n)?;
            let o = &mut st.networks[i];
            if o.active {
                return Err(Error::new(ErrorCode::OperationInvalid, D, format!("Network '{}' is already running", n.name)));
            }
            o.active = true;
            if o.persistent && o.new_def.is_none() {
                o.new_def = Some(o.def.clone());
            }
            let ev = event(o, ol::STARTED);
            st.emit(ev);
            Ok(())
        })
    }

    fn network_destroy(&self, n: &NetworkRef) -> Result<()> {
        self.with(|st| {
            let i = st.net_index(n)?;
            let o = &mut st.networks[i];
            o.active = false;
            if let Some(nd) = o.new_def.take() {
                o.def = nd;
            }
            let ev = event(o, ol::STOPPED);
            if !o.persistent {
                st.networks.remove(i);
            }
            st.emit(ev);
            Ok(())
        })
    }

    fn network_get_xml_desc(&self, n: &NetworkRef, flags: u32) -> Result<String> {
        check_flags(flags, NetworkXmlFlags::INACTIVE.bits(), "testNetworkGetXMLDesc", D)?;
        self.with(|st| {
            let o = &st.networks[st.net_index(n)?];
            let inactive = flags != 0;
            let def = if inactive { o.new_def.as_ref().unwrap_or(&o.def) } else { &o.def };
            Ok(def.format_with(inactive))
        })
    }

    fn network_get_bridge_name(&self, n: &NetworkRef) -> Result<String> {
        self.with(|st| {
            let o = &st.networks[st.net_index(n)?];
            o.def
                .bridge
                .as_ref()
                .and_then(|b| b.name.clone())
                .ok_or_else(|| Error::internal(D, format!("network '{}' does not have a bridge name.", n.name)))
        })
    }

    fn network_get_autostart(&self, n: &NetworkRef) -> Result<bool> {
        self.with(|st| Ok(st.networks[st.net_index(n)?].autostart))
    }

    fn network_set_autostart(&self, n: &NetworkRef, on: bool) -> Result<()> {
        self.with(|st| {
            let i = st.net_index(n)?;
            st.networks[i].autostart = on;
            Ok(())
        })
    }

    fn network_is_active(&self, n: &NetworkRef) -> Result<bool> {
        self.with(|st| Ok(st.networks[st.net_index(n)?].active))
    }

    fn network_is_persistent(&self, n: &NetworkRef) -> Result<bool> {
        self.with(|st| Ok(st.networks[st.net_index(n)?].persistent))
    }
}
