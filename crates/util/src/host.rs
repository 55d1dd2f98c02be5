//! Host CPU time and free memory for the node calls of any hypervisor driver (libvirt's
//! `virhostcpu.c` `virHostCPUGetStatsLinux` and `virhostmem.c`
//! `virHostMemGetCellsFree`/`GetInfo`/`GetFreePages` with libnuma's
//! `numa_node_size64`), read from `/proc/stat` and the NUMA nodes in sysfs.
//!
//! Every reader takes the text or directory it reads, so tests run over fixed input;
//! [`PROC_STAT`] and [`NODE_DIR`] are the host's.

use crate::{ErrorCode, ErrorDomain, VirError};
use std::path::Path;

/// libvirt reports these host errors from no particular domain (`VIR_FROM_NONE`).
const D: ErrorDomain = ErrorDomain::None;

/// The host's CPU time counters.
pub const PROC_STAT: &str = "/proc/stat";
/// The host's memory counters.
pub const MEMINFO: &str = "/proc/meminfo";
/// The host's NUMA nodes.
pub const NODE_DIR: &str = "/sys/devices/system/node";

fn internal(msg: String) -> VirError {
    VirError::new(ErrorCode::InternalError, D, msg)
}

fn read(path: &Path) -> Result<String, VirError> {
    std::fs::read_to_string(path).map_err(|e| VirError::new(ErrorCode::SystemError, D, format!("cannot read {}: {e}", path.display())))
}

/// `virNodeGetCPUStats` from a `/proc/stat` text: `kernel`, `user`, `idle`, `iowait`
/// in nanoseconds, of logical CPU `cpu` or of all CPUs when `cpu` is -1.
pub fn cpu_stats(proc_stat: &str, cpu: i32) -> Result<Vec<(String, u64)>, VirError> {
    let header = if cpu == -1 { "cpu ".to_string() } else { format!("cpu{cpu} ") };
    let tick_ns = 1_000_000_000 / rustix::param::clock_ticks_per_second().max(1);
    for line in proc_stat.lines().filter(|l| l.starts_with(&header)) {
        let v: Vec<u64> = line.split_whitespace().skip(1).map_while(|f| f.parse().ok()).collect();
        if v.len() < 4 {
            continue;
        }
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        return Ok(vec![
            ("kernel".into(), (at(2) + at(5) + at(6)) * tick_ns),
            ("user".into(), (at(0) + at(1)) * tick_ns),
            ("idle".into(), at(3) * tick_ns),
            ("iowait".into(), at(4) * tick_ns),
        ]);
    }
    Err(VirError::raw(ErrorCode::InvalidArg, D, "Invalid cpuNum in virHostCPUGetStatsLinux"))
}

/// `virNodeGetMemoryStats` from `/proc/meminfo` (cell -1: `total`, `free`, `buffers`,
/// `cached`) or a node's `meminfo` (`total`, `free`), in KiB, in the file's order.
pub fn memory_stats(meminfo: &str) -> Vec<(String, u64)> {
    const FIELDS: [(&str, &str); 4] = [("MemTotal:", "total"), ("MemFree:", "free"), ("Buffers:", "buffers"), ("Cached:", "cached")];
    let mut out = Vec::new();
    for line in meminfo.lines() {
        // A node's lines start "Node N ".
        let line = match line.strip_prefix("Node ") {
            Some(rest) => rest.split_once(' ').map_or("", |(_, r)| r),
            None => line,
        };
        let mut w = line.split_whitespace();
        let (Some(hdr), Some(val)) = (w.next(), w.next().and_then(|v| v.parse::<u64>().ok())) else { continue };
        if let Some((_, field)) = FIELDS.iter().find(|(h, _)| *h == hdr) {
            out.push((field.to_string(), val));
        }
    }
    out
}

/// `virNodeGetMemoryStats` of the host (`cell` -1) or of NUMA cell `cell`.
pub fn node_memory_stats(meminfo: &Path, nodes: &Path, cell: i32) -> Result<Vec<(String, u64)>, VirError> {
    let path = if cell == -1 {
        meminfo.to_path_buf()
    } else {
        let last = last_node(&numa_nodes(nodes))?;
        if cell < 0 || cell as u32 > last {
            return Err(VirError::raw(
                ErrorCode::InvalidArg,
                D,
                format!("cellNum in virHostMemGetStats must be less than or equal to {last}"),
            ));
        }
        nodes.join(format!("node{cell}/meminfo"))
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| VirError::new(ErrorCode::SystemError, D, format!("cannot open {}: {}", path.display(), crate::error::io_text(&e))))?;
    Ok(memory_stats(&text))
}

/// The NUMA node numbers below `nodes` (`node0`, `node1`, ...), ascending.
pub fn numa_nodes(nodes: &Path) -> Vec<u32> {
    let mut ids: Vec<u32> = std::fs::read_dir(nodes)
        .map(|rd| rd.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("node")?.parse().ok()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// (total, free) bytes of NUMA node `n` (`nodeN/meminfo`, as libnuma reads it).
pub fn node_memory(nodes: &Path, n: u32) -> Result<(u64, u64), VirError> {
    let text = read(&nodes.join(format!("node{n}/meminfo")))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.split_once(&format!(" {name}:")).map(|(_, v)| v))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    Ok((field("MemTotal"), field("MemFree")))
}

fn last_node(nodes: &[u32]) -> Result<u32, VirError> {
    nodes.last().copied().ok_or_else(|| internal("no NUMA node found".into()))
}

/// `virNodeGetCellsFreeMemory`: free bytes of at most `max` nodes from `start`.
pub fn cells_free_memory(nodes: &Path, start: i32, max: i32) -> Result<Vec<u64>, VirError> {
    let ids = numa_nodes(nodes);
    let last = last_node(&ids)?;
    if start < 0 || start as u32 > last {
        return Err(internal(format!("start cell {start} out of range (0-{last})")));
    }
    let end = (i64::from(start) + i64::from(max) - 1).min(i64::from(last));
    (i64::from(start)..=end).map(|n| node_memory(nodes, n as u32).map(|(_, free)| free)).collect()
}

/// `virNodeGetFreeMemory`: free bytes over every node.
pub fn free_memory(nodes: &Path) -> Result<u64, VirError> {
    let ids = numa_nodes(nodes);
    last_node(&ids)?;
    ids.iter().try_fold(0u64, |sum, n| Ok(sum + node_memory(nodes, *n)?.1))
}

/// `virNodeGetFreePages`: per cell from `start` (at most `count` cells), per size in
/// `pages` (KiB), the free pages; the system page size counts free memory.
pub fn free_pages(nodes: &Path, pages: &[u32], start: i32, count: u32) -> Result<Vec<u64>, VirError> {
    let ids = numa_nodes(nodes);
    let last = i64::from(last_node(&ids)?);
    if i64::from(start) > last || start < 0 {
        return Err(internal(format!("start cell {start} out of range (0-{last})")));
    }
    let end = last.min(i64::from(start) + i64::from(count) - 1);
    let system_kib = (rustix::param::page_size() / 1024) as u32;
    let op_failed = |msg: String| VirError::new(ErrorCode::OperationFailed, D, msg);
    let mut counts = Vec::new();
    for cell in i64::from(start)..=end {
        let cell = cell as u32;
        for &size in pages {
            let free = if size == system_kib {
                node_memory(nodes, cell)?.1 / (u64::from(size) * 1024)
            } else {
                let path = nodes.join(format!("node{cell}/hugepages/hugepages-{size}kB/free_hugepages"));
                if !path.exists() {
                    return Err(if nodes.join(format!("node{cell}")).exists() {
                        op_failed(format!("page size {size} is not available on node {cell}"))
                    } else {
                        op_failed(format!("NUMA node {cell} is not available"))
                    });
                }
                let text = read(&path)?;
                text.trim().parse().map_err(|_| internal(format!("unable to parse: {text}")))?
            };
            counts.push(free);
        }
    }
    if counts.is_empty() {
        return Err(internal("no suitable info found".into()));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_stats_sum_as_libvirt_does() {
        let stat = "cpu  100 5 20 1000 7 1 2 0 0 0\ncpu0 50 0 10 500 3 1 1 0 0 0\nintr 1 2\n";
        let tick = 1_000_000_000 / rustix::param::clock_ticks_per_second();
        let all = cpu_stats(stat, -1).expect("all CPUs");
        assert_eq!(
            all,
            [("kernel".to_string(), 23 * tick), ("user".into(), 105 * tick), ("idle".into(), 1000 * tick), ("iowait".into(), 7 * tick)]
        );
        assert_eq!(cpu_stats(stat, 0).expect("cpu0")[0].1, 12 * tick);
        let e = cpu_stats(stat, 1).expect_err("no cpu1");
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::InvalidArg, "Invalid cpuNum in virHostCPUGetStatsLinux"));
    }

    /// A scratch directory removed on drop.
    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn fake_nodes(tag: &str) -> Scratch {
        let dir = Scratch(std::env::temp_dir().join(format!("oxvirt-host-{}-{tag}", std::process::id())));
        let _ = std::fs::remove_dir_all(&dir.0);
        for (n, free) in [(0, 1000u64), (1, 3000)] {
            let node = dir.0.join(format!("node{n}"));
            std::fs::create_dir_all(node.join("hugepages/hugepages-2048kB")).expect("mkdir");
            std::fs::write(node.join("meminfo"), format!("Node {n} MemTotal:       8000 kB\nNode {n} MemFree:        {free} kB\n"))
                .expect("meminfo");
            std::fs::write(node.join("hugepages/hugepages-2048kB/free_hugepages"), format!("{}\n", n + 4)).expect("free");
        }
        std::fs::write(dir.0.join("online"), "0-1\n").expect("online");
        dir
    }

    #[test]
    fn free_memory_per_node_and_in_total() {
        let dir = fake_nodes("mem");
        let p = &dir.0;
        assert_eq!(numa_nodes(p), [0, 1]);
        assert_eq!(free_memory(p).expect("free"), 4000 * 1024);
        assert_eq!(cells_free_memory(p, 0, 8).expect("cells"), [1000 * 1024, 3000 * 1024]);
        assert_eq!(cells_free_memory(p, 1, 1).expect("cell 1"), [3000 * 1024]);
        let e = cells_free_memory(p, 2, 1).expect_err("out of range");
        assert_eq!(e.message, "internal error: start cell 2 out of range (0-1)");
    }

    #[test]
    fn memory_stats_of_the_host_and_of_a_cell() {
        let host = "MemTotal:       24684084 kB\nMemFree:         6070232 kB\nMemAvailable:   1 kB\nBuffers:           91596 kB\nCached:         17143356 kB\nSwapCached: 0 kB\n";
        let got = memory_stats(host);
        let want = [("total", 24684084u64), ("free", 6070232), ("buffers", 91596), ("cached", 17143356)];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v)));
        let dir = fake_nodes("memstats");
        let cell = node_memory_stats(Path::new(MEMINFO), &dir.0, 1).expect("cell 1");
        assert_eq!(cell, [("total".to_string(), 8000), ("free".to_string(), 3000)]);
        let e = node_memory_stats(Path::new(MEMINFO), &dir.0, 2).expect_err("no cell 2");
        assert_eq!(e.message, "cellNum in virHostMemGetStats must be less than or equal to 1");
    }

    #[test]
    fn free_pages_of_the_system_size_and_huge_pages() {
        let dir = fake_nodes("pages");
        let p = &dir.0;
        let sys = (rustix::param::page_size() / 1024) as u32;
        let got = free_pages(p, &[sys, 2048], 0, 2).expect("pages");
        assert_eq!(got, [1000 / u64::from(sys), 4, 3000 / u64::from(sys), 5]);
        let e = free_pages(p, &[1_048_576], 0, 1).expect_err("no 1G pages");
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::OperationFailed, "operation failed: page size 1048576 is not available on node 0")
        );
    }
}
