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
    /// `virNodeGetCPUMap`: (number of host CPUs, bitmap of the online ones, online count).
    pub fn node_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        self.hv().node_get_cpu_map(flags)
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
