//! One open `test:///` connection: a handle on a driver instance that implements
//! every driver trait.

use crate::state::{Driver, State};
use oxvirt::Result;
use std::sync::Arc;

/// A connection to a test driver instance (libvirt's `conn->privateData`).
pub struct TestConn {
    pub(crate) drv: Arc<Driver>,
}

impl std::fmt::Debug for TestConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestConn").finish_non_exhaustive()
    }
}

impl TestConn {
    pub(crate) fn new(drv: Arc<Driver>) -> TestConn {
        TestConn { drv }
    }

    /// Run `f` under the state lock and emit the events it queued.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        self.drv.with(f)
    }
}
