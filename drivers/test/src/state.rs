//! The state behind one `test:///` URI: every object list, the node description and
//! the event bus. One [`Driver`] is shared by all connections of `test:///default`;
//! each node-file connection has its own.

use crate::domlist::DomList;
use crate::iface::IfaceObj;
use crate::network::NetObj;
use crate::nodedev::NodeDevObj;
use crate::nwfilter::NWFilterObj;
use crate::secret::SecretObj;
use crate::storage::PoolObj;
use oxvirt::{Event, EventBus, NodeInfo};
use std::sync::{Mutex, MutexGuard};

/// One NUMA cell of the fake host.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    /// Memory in KiB.
    pub mem_kib: u64,
    /// Free memory in KiB.
    pub free_kib: u64,
    /// CPUs in the cell.
    pub ncpus: u32,
}

/// Everything a test driver instance knows.
pub(crate) struct State {
    pub node_info: NodeInfo,
    pub cells: Vec<Cell>,
    pub domains: DomList,
    pub next_dom_id: i32,
    pub networks: Vec<NetObj>,
    pub pools: Vec<PoolObj>,
    pub ifaces: Vec<IfaceObj>,
    pub iface_backup: Option<Vec<IfaceObj>>,
    pub nodedevs: Vec<NodeDevObj>,
    pub secrets: Vec<SecretObj>,
    pub nwfilters: Vec<NWFilterObj>,
    /// Events raised by the current call, emitted after it returns.
    pub events: Vec<Event>,
}

impl State {
    /// An empty state with libvirt's default node description.
    pub fn new() -> State {
        State {
            node_info: default_node_info(),
            cells: Vec::new(),
            domains: DomList::default(),
            next_dom_id: 1,
            networks: Vec::new(),
            pools: Vec::new(),
            ifaces: Vec::new(),
            iface_backup: None,
            nodedevs: Vec::new(),
            secrets: Vec::new(),
            nwfilters: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Queue an event for emission once the current call has finished.
    pub fn emit(&mut self, ev: Event) {
        self.events.push(ev);
    }
}

/// libvirt's fixed node description of the test driver.
pub(crate) fn default_node_info() -> NodeInfo {
    NodeInfo { model: "i686".into(), memory_kib: 3 * 1024 * 1024, cpus: 16, mhz: 1400, nodes: 2, sockets: 2, cores: 2, threads: 2 }
}

/// A driver instance: the locked state and the event bus of its connections.
pub(crate) struct Driver {
    state: Mutex<State>,
    /// Event dispatcher shared by every connection of this instance.
    pub bus: EventBus,
}

impl Driver {
    /// Wrap a loaded state.
    pub fn new(state: State) -> Driver {
        Driver { state: Mutex::new(state), bus: EventBus::new() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` with the state locked, then emit the events it queued (in order),
    /// whether it succeeded or not.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> oxvirt::Result<R>) -> oxvirt::Result<R> {
        let mut st = self.lock();
        let r = f(&mut st);
        let events = std::mem::take(&mut st.events);
        // The bus only queues; callbacks run on its own thread, never under our lock.
        for ev in events {
            self.bus.emit(ev);
        }
        r
    }
}
