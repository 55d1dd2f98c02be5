//! The QEMU driver's error enum, mapped to libvirt's codes (domain `VIR_FROM_QEMU`).

use oxvirt_util::{ErrorCode, ErrorDomain, VirError};

/// Errors of the QEMU driver.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// Invalid or unreadable XML (conf layer).
    #[error(transparent)]
    Conf(#[from] oxvirt_conf::ConfError),
    /// Valid configuration this driver or binary cannot honour.
    #[error("{0}")]
    Unsupported(String),
    /// Malformed capabilities data or QMP transcript.
    #[error("{0}")]
    Caps(String),
    /// QEMU answered a QMP command with an error.
    #[error("unable to execute QEMU command '{command}': {desc}")]
    Qmp {
        /// Command that failed.
        command: String,
        /// QMP error class (`GenericError`, `CommandNotFound`, ...).
        class: String,
        /// QEMU's description.
        desc: String,
    },
    /// The monitor did not answer in time.
    #[error("QEMU monitor did not answer '{command}' within {timeout_ms} ms")]
    Timeout {
        /// Command that timed out.
        command: String,
        /// Timeout in milliseconds.
        timeout_ms: u64,
    },
    /// The monitor connection failed or QEMU spoke something that is not QMP.
    #[error("QEMU monitor: {0}")]
    Monitor(String),
    /// Anything else, reported as an internal error.
    #[error("{0}")]
    Internal(String),
    /// Reading an input failed.
    #[error("cannot read '{path}'")]
    Io {
        /// File that could not be read.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of the QEMU driver.
pub type Result<T> = std::result::Result<T, QemuError>;

impl From<QemuError> for VirError {
    fn from(e: QemuError) -> VirError {
        match e {
            QemuError::Conf(c) => c.into_vir(ErrorDomain::Domain),
            QemuError::Unsupported(m) => VirError::new(ErrorCode::ConfigUnsupported, ErrorDomain::Qemu, m),
            e @ QemuError::Qmp { .. } => VirError::new(ErrorCode::InternalError, ErrorDomain::Qemu, e.to_string()),
            e @ QemuError::Timeout { .. } => VirError::new(ErrorCode::OperationTimeout, ErrorDomain::Qemu, e.to_string()),
            e @ QemuError::Monitor(_) => VirError::new(ErrorCode::OperationFailed, ErrorDomain::Qemu, e.to_string()),
            QemuError::Caps(m) | QemuError::Internal(m) => VirError::new(ErrorCode::InternalError, ErrorDomain::Qemu, m),
            QemuError::Io { path, source } => {
                VirError::new(ErrorCode::SystemError, ErrorDomain::Qemu, format!("cannot read '{path}': {source}"))
            }
        }
    }
}
