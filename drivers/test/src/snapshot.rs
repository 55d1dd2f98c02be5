//! Snapshot metadata of one domain: a forest ordered by creation, with one
//! optional current snapshot (libvirt's `virDomainSnapshotObjList`).

use oxvirt::{Error, ErrorCode, ErrorDomain, Result, SnapshotListFlags};
use oxvirt_conf::domain::DomainDef;
use oxvirt_conf::snapshot::SnapshotDef;

/// One snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Snap {
    /// Name (always set once stored).
    pub name: String,
    /// The parsed definition (parent, state, creation time...).
    pub def: SnapshotDef,
    /// The domain definition to roll back to.
    pub dom: Option<DomainDef>,
}

impl Snap {
    /// Parent name.
    pub fn parent(&self) -> Option<&str> {
        self.def.parent.as_deref()
    }

    /// The domain state recorded at creation (`running`, `paused`, `shutoff`...).
    pub fn state(&self) -> &str {
        self.def.state.as_deref().unwrap_or("nostate")
    }
}

/// Snapshots of one domain.
#[derive(Debug, Clone, Default)]
pub(crate) struct SnapList {
    snaps: Vec<Snap>,
    /// The current snapshot's name.
    pub current: Option<String>,
}

/// `VIR_ERR_NO_DOMAIN_SNAPSHOT` for `name`.
pub(crate) fn no_snapshot(name: &str) -> Error {
    Error::new(ErrorCode::NoDomainSnapshot, ErrorDomain::Test, format!("no domain snapshot with matching name '{name}'"))
}

impl SnapList {
    /// Number of snapshots.
    pub fn len(&self) -> usize {
        self.snaps.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.snaps.is_empty()
    }

    /// By name.
    pub fn get(&self, name: &str) -> Option<&Snap> {
        self.snaps.iter().find(|s| s.name == name)
    }

    /// By name, or libvirt's error.
    pub fn find(&self, name: &str) -> Result<&Snap> {
        self.get(name).ok_or_else(|| no_snapshot(name))
    }

    /// Add or replace (redefinition) a snapshot.
    pub fn insert(&mut self, snap: Snap) {
        if let Some(s) = self.snaps.iter_mut().find(|s| s.name == snap.name) {
            *s = snap;
        } else {
            self.snaps.push(snap);
        }
    }

    /// Direct children of `name` (roots for `None`).
    pub fn children(&self, name: Option<&str>) -> Vec<&Snap> {
        self.snaps.iter().filter(|s| s.parent() == name).collect()
    }

    /// All descendants of `name`, parents before children.
    pub fn descendants(&self, name: &str) -> Vec<&Snap> {
        let mut out: Vec<&Snap> = Vec::new();
        let mut queue = vec![name.to_string()];
        while let Some(n) = queue.pop() {
            for c in self.children(Some(&n)) {
                queue.push(c.name.clone());
                out.push(c);
            }
        }
        out
    }

    /// Remove one snapshot by name.
    pub fn remove(&mut self, name: &str) {
        self.snaps.retain(|s| s.name != name);
        if self.current.as_deref() == Some(name) {
            self.current = None;
        }
    }

    /// Re-parent the children of `name` onto `new_parent`.
    pub fn reparent_children(&mut self, name: &str, new_parent: Option<String>) {
        for s in self.snaps.iter_mut().filter(|s| s.def.parent.as_deref() == Some(name)) {
            s.def.parent = new_parent.clone();
        }
    }

    /// Filter a set of snapshots by `virDomainSnapshotListFlags` filter bits.
    pub fn filter<'a>(&'a self, snaps: Vec<&'a Snap>, flags: u32) -> Vec<&'a Snap> {
        let f = SnapshotListFlags::from_bits_truncate(flags);
        snaps
            .into_iter()
            .filter(|s| {
                let leaf = self.children(Some(&s.name)).is_empty();
                if f.contains(SnapshotListFlags::LEAVES) != f.contains(SnapshotListFlags::NO_LEAVES)
                    && f.contains(SnapshotListFlags::LEAVES) != leaf
                {
                    return false;
                }
                // Every snapshot of the test driver has metadata.
                if f.contains(SnapshotListFlags::NO_METADATA) && !f.contains(SnapshotListFlags::METADATA) {
                    return false;
                }
                let st = s.state();
                let want_state = SnapshotListFlags::INACTIVE | SnapshotListFlags::ACTIVE | SnapshotListFlags::DISK_ONLY;
                if f.intersects(want_state) {
                    let ok = (f.contains(SnapshotListFlags::INACTIVE) && st == "shutoff")
                        || (f.contains(SnapshotListFlags::DISK_ONLY) && st == "disk-snapshot")
                        || (f.contains(SnapshotListFlags::ACTIVE) && st != "shutoff" && st != "disk-snapshot");
                    if !ok {
                        return false;
                    }
                }
                // All test-driver snapshots are internal.
                if f.contains(SnapshotListFlags::EXTERNAL) && !f.contains(SnapshotListFlags::INTERNAL) {
                    return false;
                }
                true
            })
            .collect()
    }

    /// Snapshots of the domain per `virDomainListAllSnapshots` flags.
    pub fn list(&self, flags: u32) -> Vec<&Snap> {
        let all: Vec<&Snap> = if flags & SnapshotListFlags::ROOTS.bits() != 0 { self.children(None) } else { self.snaps.iter().collect() };
        self.filter(all, flags)
    }
}
