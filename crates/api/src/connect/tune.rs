//! Handle methods of the tuning and pinning calls (scheduler, memory and blkio
//! parameters, vCPU and emulator pinning) and of the node's CPU statistics, CPU map and
//! CPU model names, with the argument checks libvirt's public API makes before the
//! driver is called.

use super::{Connect, Domain};
use crate::flags::DomainModFlags;
use crate::typedparam::{TypedParam, TYPED_PARAM_STRING_OKAY};
use crate::{Error, Result};
use oxvirt_util::{ErrorCode, ErrorDomain};

/// `VIR_NODE_CPU_STATS_ALL_CPUS`.
pub const NODE_CPU_STATS_ALL_CPUS: i32 = -1;
/// `VIR_NODE_MEMORY_STATS_ALL_CELLS`.
pub const NODE_MEMORY_STATS_ALL_CELLS: i32 = -1;

fn live_config_exclusive(flags: DomainModFlags) -> Result<()> {
    crate::typedparam::live_config_exclusive(flags.bits())
}

/// libvirt's `virCheckPositiveArgGoto` message.
fn positive(name: &str, value: i64, func: &str) -> Result<()> {
    if value <= 0 {
        return Err(Error::raw(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("{name} in {func} must be greater than zero")));
    }
    Ok(())
}

impl Connect {
    /// `virDomainSaveImageDefineXML` (`VIR_DOMAIN_SAVE_RUNNING` 2, `..._PAUSED` 4).
    pub fn domain_save_image_define_xml(&self, path: &str, dxml: &str, flags: u32) -> Result<()> {
        self.check_rw("virDomainSaveImageDefineXML")?;
        if flags & 6 == 6 {
            return Err(Error::raw(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
            ));
        }
        self.hv().domain_save_image_define_xml(path, dxml, flags)
    }
    /// `virNodeGetCPUStats`: every statistic of `cpu` (or of all CPUs with
    /// [`NODE_CPU_STATS_ALL_CPUS`]) as (field, value) pairs, in the driver's order.
    pub fn node_cpu_stats(&self, cpu: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        if cpu < 0 && cpu != NODE_CPU_STATS_ALL_CPUS {
            return Err(Error::raw(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                format!("cpuNum in virNodeGetCPUStats only accepts {NODE_CPU_STATS_ALL_CPUS} as a negative value"),
            ));
        }
        self.hv().node_get_cpu_stats(cpu, flags)
    }
    /// `virNodeGetMemoryStats`: every statistic of NUMA cell `cell` (or of the whole
    /// host with [`NODE_MEMORY_STATS_ALL_CELLS`]) in KiB, in the driver's order.
    pub fn node_memory_stats(&self, cell: i32, flags: u32) -> Result<Vec<(String, u64)>> {
        if cell < 0 && cell != NODE_MEMORY_STATS_ALL_CELLS {
            return Err(Error::raw(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                format!("cellNum in virNodeGetMemoryStats only accepts {NODE_MEMORY_STATS_ALL_CELLS} as a negative value"),
            ));
        }
        self.hv().node_get_memory_stats(cell, flags)
    }
    /// `virNodeGetCPUMap`: (number of host CPUs, bitmap of the online ones, online count).
    pub fn node_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        self.hv().node_get_cpu_map(flags)
    }
    /// `virNodeGetFreePages`: free pages of each size in `pages` (KiB) for `cell_count`
    /// cells from `start_cell`, cell-major, and the driver's return value.
    pub fn node_free_pages(&self, pages: &[u32], start_cell: i32, cell_count: u32, flags: u32) -> Result<(Vec<u64>, i32)> {
        if pages.is_empty() {
            return Err(Error::raw(ErrorCode::InvalidArg, ErrorDomain::Domain, "npages in virNodeGetFreePages must not be zero"));
        }
        if cell_count == 0 {
            return Err(Error::raw(ErrorCode::InvalidArg, ErrorDomain::Domain, "cellCount in virNodeGetFreePages must not be zero"));
        }
        self.hv().node_get_free_pages(pages, start_cell, cell_count, flags)
    }
    /// `virConnectGetCPUModelNames`: the CPU models known for `arch` (empty: any model
    /// is accepted).
    pub fn cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<String>> {
        self.hv().connect_get_cpu_model_names(arch, flags)
    }
}

impl Domain {
    /// `virDomainGetSchedulerParameters` (the driver sees no flags).
    pub fn scheduler_parameters(&self) -> Result<Vec<TypedParam>> {
        self.hv().domain_get_scheduler_parameters(&self.r(), 0)
    }
    /// `virDomainGetSchedulerParametersFlags` (libvirt adds
    /// `VIR_TYPED_PARAM_STRING_OKAY`, which libvirt's test driver then refuses).
    pub fn scheduler_parameters_flags(&self, flags: DomainModFlags) -> Result<Vec<TypedParam>> {
        live_config_exclusive(flags)?;
        self.hv().domain_get_scheduler_parameters(&self.r(), flags.bits() | TYPED_PARAM_STRING_OKAY)
    }
    /// `virDomainSetSchedulerParametersFlags`; `virDomainSetSchedulerParameters` passes
    /// no flags.
    pub fn set_scheduler_parameters(&self, params: &[TypedParam], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetSchedulerParametersFlags")?;
        live_config_exclusive(flags)?;
        self.hv().domain_set_scheduler_parameters(&self.r(), params, flags.bits())
    }
    /// `virDomainGetMemoryParameters` (libvirt adds `VIR_TYPED_PARAM_STRING_OKAY`).
    pub fn memory_parameters(&self, flags: DomainModFlags) -> Result<Vec<TypedParam>> {
        live_config_exclusive(flags)?;
        self.hv().domain_get_memory_parameters(&self.r(), flags.bits() | TYPED_PARAM_STRING_OKAY)
    }
    /// `virDomainSetMemoryParameters`.
    pub fn set_memory_parameters(&self, params: &[TypedParam], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetMemoryParameters")?;
        positive("nparams", params.len() as i64, "virDomainSetMemoryParameters")?;
        self.hv().domain_set_memory_parameters(&self.r(), params, flags.bits())
    }
    /// `virDomainGetBlkioParameters` (libvirt adds `VIR_TYPED_PARAM_STRING_OKAY`).
    pub fn blkio_parameters(&self, flags: DomainModFlags) -> Result<Vec<TypedParam>> {
        live_config_exclusive(flags)?;
        self.hv().domain_get_blkio_parameters(&self.r(), flags.bits() | TYPED_PARAM_STRING_OKAY)
    }
    /// `virDomainPinVcpuFlags`; with no flags, `virDomainPinVcpu`.
    pub fn pin_vcpu(&self, vcpu: u32, cpumap: &[u8], flags: DomainModFlags) -> Result<()> {
        let api = if flags.is_empty() { "virDomainPinVcpu" } else { "virDomainPinVcpuFlags" };
        self.conn.check_rw(api)?;
        positive("maplen", cpumap.len() as i64, api)?;
        self.hv().domain_pin_vcpu(&self.r(), vcpu, cpumap, flags.bits())
    }
    /// `virDomainGetVcpuPinInfo`: the maps of the first `ncpumaps` vCPUs, `maplen`
    /// bytes each, and how many vCPUs were filled in.
    pub fn vcpu_pin_info(&self, ncpumaps: i32, maplen: i32, flags: DomainModFlags) -> Result<(Vec<u8>, i32)> {
        positive("ncpumaps", i64::from(ncpumaps), "virDomainGetVcpuPinInfo")?;
        positive("maplen", i64::from(maplen), "virDomainGetVcpuPinInfo")?;
        if ncpumaps.checked_mul(maplen).is_none() {
            return Err(Error::new(ErrorCode::Overflow, ErrorDomain::Domain, format!("input too large: {ncpumaps} * {maplen}")));
        }
        live_config_exclusive(flags)?;
        self.hv().domain_get_vcpu_pin_info(&self.r(), ncpumaps, maplen, flags.bits())
    }
    /// `virDomainPinEmulator`.
    pub fn pin_emulator(&self, cpumap: &[u8], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainPinEmulator")?;
        positive("maplen", cpumap.len() as i64, "virDomainPinEmulator")?;
        self.hv().domain_pin_emulator(&self.r(), cpumap, flags.bits())
    }
    /// `virDomainGetEmulatorPinInfo`: the emulator threads' map (`maplen` bytes).
    pub fn emulator_pin_info(&self, maplen: i32, flags: DomainModFlags) -> Result<Vec<u8>> {
        positive("maplen", i64::from(maplen), "virDomainGetEmulatorPinInfo")?;
        live_config_exclusive(flags)?;
        self.hv().domain_get_emulator_pin_info(&self.r(), maplen, flags.bits()).map(|(m, _)| m)
    }
}

impl Domain {
    /// `virDomainSetBlkioParameters`.
    pub fn set_blkio_parameters(&self, params: &[TypedParam], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetBlkioParameters")?;
        self.hv().domain_set_blkio_parameters(&self.r(), params, flags.bits())
    }
    /// `virDomainGetNumaParameters` (libvirt adds `VIR_TYPED_PARAM_STRING_OKAY`).
    pub fn numa_parameters(&self, flags: DomainModFlags) -> Result<Vec<TypedParam>> {
        // (libvirt's virDomainGetNumaParameters leaves the live/config check to the driver)
        self.hv().domain_get_numa_parameters(&self.r(), flags.bits() | TYPED_PARAM_STRING_OKAY)
    }
    /// `virDomainSetNumaParameters`.
    pub fn set_numa_parameters(&self, params: &[TypedParam], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetNumaParameters")?;
        self.hv().domain_set_numa_parameters(&self.r(), params, flags.bits())
    }
    /// `virDomainGetPerfEvents`.
    pub fn perf_events(&self, flags: DomainModFlags) -> Result<Vec<TypedParam>> {
        self.hv().domain_get_perf_events(&self.r(), flags.bits())
    }
    /// `virDomainSetPerfEvents`.
    pub fn set_perf_events(&self, params: &[TypedParam], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetPerfEvents")?;
        self.hv().domain_set_perf_events(&self.r(), params, flags.bits())
    }
    /// `virDomainSetLifecycleAction`: `typ` is `VIR_DOMAIN_LIFECYCLE_*` (poweroff 0,
    /// reboot 1, crash 2), `action` `VIR_DOMAIN_LIFECYCLE_ACTION_*` (destroy 0 ...
    /// coredump-restart 5).
    pub fn set_lifecycle_action(&self, typ: u32, action: u32, flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetLifecycleAction")?;
        if typ >= 3 {
            return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("invalid lifecycle type '{typ}'")));
        }
        if action >= 6 {
            return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, format!("invalid lifecycle action '{action}'")));
        }
        self.hv().domain_set_lifecycle_action(&self.r(), typ, action, flags.bits())
    }
    /// `virDomainMemoryPeek`: `flags` must be exactly `VIR_MEMORY_VIRTUAL` (1) or
    /// `VIR_MEMORY_PHYSICAL` (2).
    pub fn memory_peek(&self, start: u64, size: u32, flags: u32) -> Result<Vec<u8>> {
        self.conn.check_rw("virDomainMemoryPeek")?;
        if flags != 1 && flags != 2 {
            return Err(Error::raw(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                "flags in virDomainMemoryPeek should either be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL",
            ));
        }
        self.hv().domain_memory_peek(&self.r(), start, size, flags)
    }
    /// `virDomainGetMessages` (`VIR_DOMAIN_MESSAGE_DEPRECATION` 1, `..._TAINTING` 2).
    pub fn messages(&self, flags: u32) -> Result<Vec<String>> {
        self.hv().domain_get_messages(&self.r(), flags)
    }
    /// `virDomainCoreDumpWithFormat`; `virDomainCoreDump` is `dumpformat` 0 (raw).
    pub fn core_dump(&self, to: &str, dumpformat: u32, flags: u32) -> Result<()> {
        self.conn.check_rw(if dumpformat == 0 { "virDomainCoreDump" } else { "virDomainCoreDumpWithFormat" })?;
        self.hv().domain_core_dump(&self.r(), to, dumpformat, flags)
    }
    /// `virDomainGetInterfaceParameters` (libvirt adds `VIR_TYPED_PARAM_STRING_OKAY`).
    pub fn interface_parameters(&self, device: &str, flags: DomainModFlags) -> Result<Vec<TypedParam>> {
        // (like virDomainGetNumaParameters, no live/config check before the driver)
        self.hv().domain_get_interface_parameters(&self.r(), device, flags.bits() | TYPED_PARAM_STRING_OKAY)
    }
    /// `virDomainSetInterfaceParameters`.
    pub fn set_interface_parameters(&self, device: &str, params: &[TypedParam], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetInterfaceParameters")?;
        self.hv().domain_set_interface_parameters(&self.r(), device, params, flags.bits())
    }
    /// `virDomainGetIOThreadInfo`: (IOThread id, cpumap) of each IOThread.
    pub fn iothread_info(&self, flags: DomainModFlags) -> Result<Vec<(u32, Vec<u8>)>> {
        self.hv().domain_get_iothread_info(&self.r(), flags.bits())
    }
    /// `virDomainAddIOThread`.
    pub fn add_iothread(&self, id: u32, flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainAddIOThread")?;
        self.hv().domain_add_iothread(&self.r(), id, flags.bits())
    }
    /// `virDomainDelIOThread`.
    pub fn del_iothread(&self, id: u32, flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainDelIOThread")?;
        self.hv().domain_del_iothread(&self.r(), id, flags.bits())
    }
    /// `virDomainPinIOThread`.
    pub fn pin_iothread(&self, id: u32, cpumap: &[u8], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainPinIOThread")?;
        positive("maplen", cpumap.len() as i64, "virDomainPinIOThread")?;
        self.hv().domain_pin_iothread(&self.r(), id, cpumap, flags.bits())
    }
    /// `virDomainSetIOThreadParams` (`poll_max_ns`, `poll_grow`, `poll_shrink`, ...).
    pub fn set_iothread_params(&self, id: u32, params: &[TypedParam], flags: DomainModFlags) -> Result<()> {
        self.conn.check_rw("virDomainSetIOThreadParams")?;
        self.hv().domain_set_iothread_params(&self.r(), id, params, flags.bits())
    }
}
