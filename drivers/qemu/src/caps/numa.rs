//! The host's NUMA topology and caches for the `<capabilities>` host section, read from
//! sysfs as libvirt's `virCapabilitiesHostNUMAInitReal` and `virCapabilitiesInitCaches`
//! read them: per node its memory, page pools, distances and CPUs (with socket, die,
//! core and thread siblings), and the level-3-and-up cache banks.

use oxvirt_conf::capabilities::{CellCpu, NumaCell};
use oxvirt_conf::xml::El;
use std::path::Path;

/// Where the kernel describes CPUs and NUMA nodes.
pub const SYSTEM_DIR: &str = "/sys/devices/system";

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn read_u64(path: impl AsRef<Path>) -> Option<u64> {
    read(path)?.parse().ok()
}

/// A kernel CPU list (`0-3,8`) as ids.
pub fn parse_list(s: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    v.extend(a..=b);
                }
            }
            None => v.extend(part.parse::<u32>().ok()),
        }
    }
    v
}

/// Ids as libvirt's `virBitmapFormat` writes them (`0-3,8`).
pub fn format_list(ids: &[u32]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        out.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    out.join(",")
}

/// The CPU's topology ids, as libvirt's `virCapabilitiesFillCPUInfo`.
fn cell_cpu(sys: &Path, id: u32) -> CellCpu {
    let t = sys.join(format!("cpu/cpu{id}/topology")).display().to_string();
    let topology = (|| {
        let socket = read_u64(format!("{t}/physical_package_id"))? as u32;
        let die = read_u64(format!("{t}/die_id")).unwrap_or(0) as u32;
        let core = read_u64(format!("{t}/core_id"))? as u32;
        let siblings = format_list(&parse_list(&read(format!("{t}/thread_siblings_list"))?));
        Some((socket, die, core, siblings))
    })();
    CellCpu { id, topology }
}

/// Memory of a node in KiB, from its `meminfo`.
fn node_memory_kib(sys: &Path, node: u32) -> u64 {
    let text = read(sys.join(format!("node/node{node}/meminfo"))).unwrap_or_default();
    text.lines()
        .find(|l| l.contains("MemTotal:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The host's NUMA cells (libvirt's `virCapabilitiesHostNUMAInitReal`) described
/// below `sys` (normally [`SYSTEM_DIR`]); `None` without NUMA information.
pub fn cells(sys: &Path, page_sizes: &[u32]) -> Option<Vec<NumaCell>> {
    let node_dir = sys.join("node").display().to_string();
    let online = parse_list(&read(format!("{node_dir}/online"))?);
    let mut cells = Vec::new();
    for node in online {
        let memory_kib = node_memory_kib(sys, node);
        let mut pages = Vec::new();
        let mut huge = Vec::new();
        for size in page_sizes.iter().skip(1) {
            let nr = read_u64(format!("{node_dir}/node{node}/hugepages/hugepages-{size}kB/nr_hugepages")).unwrap_or(0);
            huge.push((*size, nr));
        }
        // The system page pool: the node's memory less its huge pages (virNumaGetPageInfo).
        let huge_kib: u64 = huge.iter().map(|(s, n)| u64::from(*s) * n).sum();
        if let Some(sys) = page_sizes.first() {
            pages.push((*sys, memory_kib.saturating_sub(huge_kib) / u64::from(*sys).max(1)));
        }
        pages.extend(huge);
        let distances = match read(format!("{node_dir}/node{node}/distance")) {
            Some(d) => {
                // The kernel writes one value per online node.
                let ids = parse_list(&read(format!("{node_dir}/online")).unwrap_or_else(|| "0".into()));
                d.split_whitespace().zip(ids).filter_map(|(v, id)| Some((id, v.parse().ok()?))).filter(|(_, v)| *v != 0).collect()
            }
            None => Vec::new(),
        };
        let cpus =
            parse_list(&read(format!("{node_dir}/node{node}/cpulist")).unwrap_or_default()).into_iter().map(|c| cell_cpu(sys, c)).collect();
        cells.push(NumaCell { id: node, memory_kib, pages, distances, caches: Vec::new(), cpus });
    }
    Some(cells)
}

/// The cells libvirt makes up where the kernel describes no NUMA nodes
/// (`virCapabilitiesHostNUMAInitFake`): per node of the node information one cell —
/// all with id 0, as libvirt — holding the host's memory and its online CPUs numbered
/// socket by socket, core by core, thread by thread (die 0).
pub fn fake_cells(sys: &Path, nodes: u32, sockets: u32, cores: u32, threads: u32, memory_kib: u64) -> Vec<NumaCell> {
    let mut id = 0;
    let mut cells = Vec::new();
    for _ in 0..nodes {
        let mut cpus = Vec::new();
        for socket in 0..sockets {
            for core in 0..cores {
                let siblings = format_list(&(id..id + threads).collect::<Vec<_>>());
                for _ in 0..threads {
                    // A CPU without an `online` file (cpu0, usually) cannot go offline.
                    let online = read(sys.join(format!("cpu/cpu{id}/online"))).is_none_or(|v| v != "0");
                    if online {
                        cpus.push(CellCpu { id, topology: Some((socket, 0, core, siblings.clone())) });
                    }
                    id += 1;
                }
            }
        }
        cells.push(NumaCell { id: 0, memory_kib, cpus, ..Default::default() });
    }
    cells
}

/// libvirt's `virFormatIntPretty`: the largest binary unit dividing `bytes` exactly.
fn pretty_size(mut bytes: u64) -> (u64, &'static str) {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut i = 0;
    while bytes != 0 && bytes.is_multiple_of(1024) && i + 1 < units.len() {
        bytes /= 1024;
        i += 1;
    }
    (bytes, units[i])
}

/// Parse a sysfs cache size (`32768K`) to bytes.
fn scaled(s: &str) -> Option<u64> {
    let (num, mul) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1024),
        'M' => (&s[..s.len() - 1], 1024 * 1024),
        'G' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mul)
}

/// The `<cache>` element: one `<bank>` per distinct level-3-or-higher cache of the
/// online CPUs described below `sys` (normally [`SYSTEM_DIR`]), ordered by level then id
/// as libvirt sorts them; `None` when there is none.
pub fn cache(sys: &Path) -> Option<El> {
    let cpu_dir = sys.join("cpu").display().to_string();
    struct Bank {
        id: u32,
        level: u32,
        kind: &'static str,
        size: u64,
        cpus: String,
    }
    let mut banks: Vec<Bank> = Vec::new();
    for cpu in parse_list(&read(format!("{cpu_dir}/online"))?) {
        let dir = format!("{cpu_dir}/cpu{cpu}/cache");
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        let mut idx: Vec<String> =
            rd.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| n.starts_with("index")).collect();
        idx.sort();
        for i in idx {
            let p = format!("{dir}/{i}");
            let Some(level) = read_u64(format!("{p}/level")) else { continue };
            if level < 3 {
                continue;
            }
            let (Some(id), Some(kind), Some(size), Some(list)) = (
                read_u64(format!("{p}/id")),
                read(format!("{p}/type")),
                read(format!("{p}/size")).as_deref().and_then(scaled),
                read(format!("{p}/shared_cpu_list")),
            ) else {
                continue;
            };
            let kind = match kind.as_str() {
                "Unified" => "both",
                "Instruction" => "code",
                "Data" => "data",
                _ => continue,
            };
            let level = level as u32;
            let id = id as u32;
            if banks.iter().any(|b| b.level == level && b.id == id && b.kind == kind) {
                continue;
            }
            banks.push(Bank { id, level, kind, size, cpus: format_list(&parse_list(&list)) });
        }
    }
    if banks.is_empty() {
        return None;
    }
    banks.sort_by_key(|b| (b.level, b.id));
    let mut c = El::new("cache");
    for b in banks {
        let (size, unit) = pretty_size(b.size);
        c.push(
            El::new("bank")
                .attr("id", b.id)
                .attr("level", b.level)
                .attr("type", b.kind)
                .attr("size", size)
                .attr("unit", unit)
                .attr("cpus", b.cpus),
        );
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_cells_number_cpus_by_topology() {
        let cells = fake_cells(Path::new("/nonexistent"), 1, 1, 2, 2, 1024);
        assert_eq!(cells.len(), 1);
        let ids: Vec<_> = cells[0].cpus.iter().map(|c| (c.id, c.topology.clone())).collect();
        assert_eq!(ids[3], (3, Some((0, 0, 1, "2-3".to_string()))));
        assert_eq!(cells[0].memory_kib, 1024);
    }

    #[test]
    fn lists_and_sizes() {
        assert_eq!(parse_list("0-2,5"), vec![0, 1, 2, 5]);
        assert_eq!(format_list(&[5, 0, 1, 2, 7, 8]), "0-2,5,7-8");
        assert_eq!(pretty_size(32 * 1024 * 1024), (32, "MiB"));
        assert_eq!(scaled("32768K"), Some(32 * 1024 * 1024));
    }
}
