//! The error value shared by every layer: libvirt's code, domain and message.

use crate::errnum::{ErrorCode, ErrorDomain, ErrorLevel};
use std::fmt;

/// An error as libvirt reports it: a numeric code, the subsystem (domain) that raised
/// it, and a message that already carries libvirt's per-code prefix
/// (e.g. `Domain not found: no domain with matching name 'foo'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirError {
    /// `virErrorNumber`.
    pub code: ErrorCode,
    /// `virErrorDomain`.
    pub domain: ErrorDomain,
    /// `virErrorLevel`; always `Error` for failures.
    pub level: ErrorLevel,
    /// Full human-readable message.
    pub message: String,
}

impl VirError {
    /// Build an error whose message is libvirt's prefix for `code` followed by `detail`.
    pub fn new(code: ErrorCode, domain: ErrorDomain, detail: impl AsRef<str>) -> Self {
        let detail = detail.as_ref();
        let message = if detail.is_empty() {
            prefix(code, false).to_string()
        } else {
            let p = prefix(code, true);
            if p.contains("%s") {
                p.replacen("%s", detail, 1)
            } else {
                format!("{p}: {detail}")
            }
        };
        VirError { code, domain, level: ErrorLevel::Error, message }
    }

    /// Build an error with a message used verbatim (no prefix added).
    pub fn raw(code: ErrorCode, domain: ErrorDomain, message: impl Into<String>) -> Self {
        VirError { code, domain, level: ErrorLevel::Error, message: message.into() }
    }

    /// `VIR_ERR_INTERNAL_ERROR`.
    pub fn internal(domain: ErrorDomain, detail: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InternalError, domain, detail)
    }

    /// `VIR_ERR_INVALID_ARG`.
    pub fn invalid_arg(domain: ErrorDomain, detail: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidArg, domain, detail)
    }

    /// `VIR_ERR_OPERATION_INVALID`.
    pub fn operation_invalid(domain: ErrorDomain, detail: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::OperationInvalid, domain, detail)
    }

    /// `VIR_ERR_NO_SUPPORT` for an API the driver does not implement.
    pub fn no_support(domain: ErrorDomain, api: &str) -> Self {
        Self::new(ErrorCode::NoSupport, domain, api)
    }

    /// Unsupported flag bits, worded as libvirt's `virCheckFlags`.
    pub fn unsupported_flags(domain: ErrorDomain, func: &str, bits: u64) -> Self {
        // virCheckFlags reports through virReportInvalidArg: the text has no prefix.
        Self::raw(ErrorCode::InvalidArg, domain, format!("unsupported flags (0x{bits:x}) in function {func}"))
    }
}

impl fmt::Display for VirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VirError {}

/// libvirt's message prefix for an error code (`virErrorMsg`). `with_info` selects the
/// variant used when a detail string follows.
pub fn prefix(code: ErrorCode, with_info: bool) -> &'static str {
    use ErrorCode as C;
    let (bare, info): (&str, &str) = match code {
        C::Ok => ("", ""),
        C::InternalError => ("internal error", "internal error: %s"),
        C::NoMemory => ("out of memory", "out of memory: %s"),
        C::NoSupport => {
            ("this function is not supported by the connection driver", "this function is not supported by the connection driver: %s")
        }
        C::UnknownHost => ("unknown host", "unknown host %s"),
        C::NoConnect => ("no connection driver available", "no connection driver available for %s"),
        C::InvalidConn => ("invalid connection pointer in", "invalid connection pointer in %s"),
        C::InvalidDomain => ("invalid domain pointer in", "invalid domain pointer in %s"),
        C::InvalidArg => ("invalid argument", "invalid argument: %s"),
        C::OperationFailed => ("operation failed", "operation failed: %s"),
        C::GetFailed => ("GET operation failed", "GET operation failed: %s"),
        C::PostFailed => ("POST operation failed", "POST operation failed: %s"),
        C::HttpError => ("got unknown HTTP error code", "got unknown HTTP error code %s"),
        C::SexprSerial => ("failed to serialize S-Expr", "failed to serialize S-Expr: %s"),
        C::NoXen => ("could not use Xen hypervisor entry", "could not use Xen hypervisor entry %s"),
        C::XenCall => ("failed Xen syscall", "failed Xen syscall %s"),
        C::OsType => ("unknown OS type", "unknown OS type %s"),
        C::NoKernel => ("missing kernel information", "missing kernel information: %s"),
        C::NoRoot => ("missing root device information", "missing root device information in %s"),
        C::NoSource => ("missing source information for device", "missing source information for device %s"),
        C::NoTarget => ("missing target information for device", "missing target information for device %s"),
        C::NoName => ("missing name information", "missing name information in %s"),
        C::NoOs => ("missing operating system information", "missing operating system information for %s"),
        C::NoDevice => ("missing devices information", "missing devices information for %s"),
        C::NoXenstore => ("could not connect to Xen Store", "could not connect to Xen Store %s"),
        C::DriverFull => ("too many drivers registered", "too many drivers registered in %s"),
        C::CallFailed => ("library call failed", "library call failed: %s"),
        C::XmlError => ("XML description is invalid or not well formed", "XML error: %s"),
        C::DomExist => ("this domain exists already", "domain %s exists already"),
        C::OperationDenied => ("operation forbidden for read only access", "operation forbidden: %s"),
        C::OpenFailed => ("failed to open configuration file", "failed to open configuration file %s"),
        C::ReadFailed => ("failed to read configuration file", "failed to read configuration file %s"),
        C::ParseFailed => ("failed to parse configuration file", "failed to parse configuration file %s"),
        C::ConfSyntax => ("configuration file syntax error", "configuration file syntax error: %s"),
        C::WriteFailed => ("failed to write configuration file", "failed to write configuration file: %s"),
        C::InvalidNetwork => ("invalid network pointer in", "invalid network pointer in %s"),
        C::NetworkExist => ("this network exists already", "network %s exists already"),
        C::WarNoNetwork => ("Failed to find the network", "Failed to find the network: %s"),
        C::NoDomain => ("Domain not found", "Domain not found: %s"),
        C::NoNetwork => ("Network not found", "Network not found: %s"),
        C::InvalidMac => ("invalid MAC address", "invalid MAC address: %s"),
        C::AuthFailed => ("authentication failed", "authentication failed: %s"),
        C::InvalidStoragePool => ("invalid storage pool pointer in", "invalid storage pool pointer in %s"),
        C::InvalidStorageVol => ("invalid storage volume pointer in", "invalid storage volume pointer in %s"),
        C::WarNoStorage => ("Failed to find a storage driver", "Failed to find a storage driver: %s"),
        C::NoStoragePool => ("Storage pool not found", "Storage pool not found: %s"),
        C::NoStorageVol => ("Storage volume not found", "Storage volume not found: %s"),
        C::WarNoNode => ("Failed to find a node driver", "Failed to find a node driver: %s"),
        C::InvalidNodeDevice => ("invalid node device pointer", "invalid node device pointer in %s"),
        C::NoNodeDevice => ("Node device not found", "Node device not found: %s"),
        C::NoSecurityModel => ("Security model not found", "Security model not found: %s"),
        C::OperationInvalid => ("Requested operation is not valid", "Requested operation is not valid: %s"),
        C::WarNoInterface => ("Failed to find the interface", "Failed to find the interface: %s"),
        C::NoInterface => ("Interface not found", "Interface not found: %s"),
        C::InvalidInterface => ("invalid interface pointer in", "invalid interface pointer in %s"),
        C::MultipleInterfaces => ("multiple matching interfaces found", "multiple matching interfaces found: %s"),
        C::WarNoNwfilter => ("Failed to start the nwfilter driver", "Failed to start the nwfilter driver: %s"),
        C::InvalidNwfilter => ("Invalid network filter", "Invalid network filter: %s"),
        C::NoNwfilter => ("Network filter not found", "Network filter not found: %s"),
        C::BuildFirewall => ("Error while building firewall", "Error while building firewall: %s"),
        C::WarNoSecret => ("Failed to find a secret storage driver", "Failed to find a secret storage driver: %s"),
        C::InvalidSecret => ("Invalid secret", "Invalid secret: %s"),
        C::NoSecret => ("Secret not found", "Secret not found: %s"),
        C::ConfigUnsupported => ("unsupported configuration", "unsupported configuration: %s"),
        C::OperationTimeout => ("Timed out during operation", "Timed out during operation: %s"),
        C::MigratePersistFailed => {
            ("Failed to make domain persistent after migration", "Failed to make domain persistent after migration: %s")
        }
        C::HookScriptFailed => ("Hook script execution failed", "Hook script execution failed: %s"),
        C::InvalidDomainSnapshot => ("Invalid domain snapshot", "Invalid domain snapshot: %s"),
        C::NoDomainSnapshot => ("Domain snapshot not found", "Domain snapshot not found: %s"),
        C::InvalidStream => ("invalid stream pointer", "invalid stream pointer in %s"),
        C::ArgumentUnsupported => ("argument unsupported", "argument unsupported: %s"),
        C::StorageProbeFailed => ("Storage pool probe failed", "Storage pool probe failed: %s"),
        C::StoragePoolBuilt => ("Storage pool already built", "Storage pool already built: %s"),
        C::SnapshotRevertRisky => ("revert requires force", "revert requires force: %s"),
        C::OperationAborted => ("operation aborted", "operation aborted: %s"),
        C::AuthCancelled => ("authentication cancelled", "authentication cancelled: %s"),
        C::NoDomainMetadata => ("metadata not found", "metadata not found: %s"),
        C::MigrateUnsafe => ("Unsafe migration", "Unsafe migration: %s"),
        C::Overflow => ("numerical overflow", "numerical overflow: %s"),
        C::BlockCopyActive => ("block copy still active", "block copy still active: %s"),
        C::OperationUnsupported => ("Operation not supported", "Operation not supported: %s"),
        C::Ssh => ("SSH transport error", "SSH transport error: %s"),
        C::AgentUnresponsive => ("Guest agent is not responding", "Guest agent is not responding: %s"),
        C::ResourceBusy => ("resource busy", "resource busy: %s"),
        C::AccessDenied => ("access denied", "access denied: %s"),
        C::DbusService => ("error from service", "error from service: %s"),
        C::StorageVolExist => ("this storage volume exists already", "storage volume %s exists already"),
        C::CpuIncompatible => ("the CPU is incompatible with host CPU", "the CPU is incompatible with host CPU: %s"),
        C::XmlInvalidSchema => ("XML document failed to validate against schema", "XML document failed to validate against schema: %s"),
        C::MigrateFinishOk => ("migration successfully aborted", "migration successfully aborted: %s"),
        C::AuthUnavailable => ("authentication unavailable", "authentication unavailable: %s"),
        C::NoServer => ("Server not found", "Server not found: %s"),
        C::NoClient => ("Client not found", "Client not found: %s"),
        C::AgentUnsynced => {
            ("guest agent replied with wrong id to guest-sync command", "guest agent replied with wrong id to guest-sync command: %s")
        }
        C::Libssh => ("libssh transport error", "libssh transport error: %s"),
        C::DeviceMissing => ("device not found", "device not found: %s"),
        C::InvalidNwfilterBinding => ("Invalid network filter binding", "Invalid network filter binding: %s"),
        C::NoNwfilterBinding => ("Network filter binding not found", "Network filter binding not found: %s"),
        C::InvalidDomainCheckpoint => ("Invalid domain checkpoint", "Invalid domain checkpoint: %s"),
        C::NoDomainCheckpoint => ("Domain checkpoint not found", "Domain checkpoint not found: %s"),
        C::NoDomainBackup => ("Domain backup job id not found", "Domain backup job id not found: %s"),
        C::InvalidNetworkPort => ("Invalid network port pointer", "Invalid network port pointer: %s"),
        C::NetworkPortExist => ("this network port exists already", "network port %s exists already"),
        C::NoNetworkPort => ("network port not found", "network port not found: %s"),
        C::NoHostname => ("no hostname found", "no hostname found: %s"),
        C::CheckpointInconsistent => ("checkpoint inconsistent", "checkpoint inconsistent: %s"),
        C::MultipleDomains => ("multiple matching domains found", "multiple matching domains found: %s"),
        _ => ("unknown error", "%s"),
    };
    if with_info {
        info
    } else {
        bare
    }
}

/// An I/O error's text as libvirt prints it: the strerror wording, without Rust's
/// " (os error N)" suffix.
pub fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
