//! Host facts: the capabilities document and the host name.

use crate::state::Cell;
use oxvirt::{Error, ErrorCode, ErrorDomain, Result};
use std::fmt::Write;

/// Page sizes (KiB) the fake host offers.
const PAGE_SIZES: [u64; 4] = [4, 8, 2048, 1024 * 1024];

/// The capabilities XML of libvirt's test driver for the given NUMA cells.
pub(crate) fn capabilities_xml(cells: &[Cell]) -> String {
    let mut s = String::from("<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n      <features>\n        <pae/>\n        <nonpae/>\n      </features>\n");
    for p in PAGE_SIZES {
        let _ = writeln!(s, "      <pages unit='KiB' size='{p}'/>");
    }
    s.push_str("    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n");
    if !cells.is_empty() {
        let _ = writeln!(s, "    <topology>\n      <cells num='{}'>", cells.len());
        let mut cpu_id = 0u32;
        for (i, c) in cells.iter().enumerate() {
            let _ = writeln!(s, "        <cell id='{i}'>\n          <memory unit='KiB'>{}</memory>", c.mem_kib);
            // Cell 1 uses the second page size as its base pages.
            let base = if i == 1 { PAGE_SIZES[1] } else { PAGE_SIZES[0] };
            let _ = writeln!(s, "          <pages unit='KiB' size='{base}'>{}</pages>", c.mem_kib / base);
            for p in &PAGE_SIZES[2..] {
                let _ = writeln!(s, "          <pages unit='KiB' size='{p}'>0</pages>");
            }
            let _ = writeln!(s, "          <cpus num='{}'>", c.ncpus);
            for core in 0..c.ncpus {
                let _ = writeln!(s, "            <cpu id='{cpu_id}' socket_id='{i}' die_id='0' core_id='{core}' siblings='{cpu_id}'/>");
                cpu_id += 1;
            }
            s.push_str("          </cpus>\n        </cell>\n");
        }
        s.push_str("      </cells>\n    </topology>\n");
    }
    s.push_str("    <secmodel>\n      <model>testSecurity</model>\n      <doi></doi>\n    </secmodel>\n  </host>\n\n");
    for os in ["hvm", "xen"] {
        let _ = write!(
            s,
            "  <guest>\n    <os_type>{os}</os_type>\n    <arch name='i686'>\n      <wordsize>32</wordsize>\n      <emulator>/usr/bin/test-hv</emulator>\n      <domain type='test'/>\n    </arch>\n    <features>\n      <pae/>\n      <nonpae/>\n    </features>\n  </guest>\n\n"
        );
    }
    s.push_str("</capabilities>\n");
    s
}

/// The machine's host name (libvirt's `virGetHostname`).
pub(crate) fn hostname() -> Result<String> {
    let from_file = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    from_file
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .ok_or_else(|| Error::new(ErrorCode::SystemError, ErrorDomain::Test, "cannot determine host name"))
}
