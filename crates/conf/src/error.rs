//! The conf layer's error enum; every variant maps to libvirt's code and domain.

use oxvirt_util::{ErrorCode, ErrorDomain, VirError};

/// Errors raised while parsing, validating or formatting XML.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// The document is not well-formed XML (`VIR_ERR_XML_DETAIL`, libvirt's wording
    /// is `(name_of_doc):LINE: message`).
    #[error("{0}")]
    Malformed(String),
    /// A required element or attribute is missing (`VIR_ERR_XML_ERROR`).
    #[error("{0}")]
    Missing(String),
    /// A value is present but not acceptable; carries the libvirt code to report
    /// (usually `VIR_ERR_XML_ERROR`, `VIR_ERR_INVALID_ARG` or
    /// `VIR_ERR_CONFIG_UNSUPPORTED`).
    #[error("{message}")]
    Invalid {
        /// libvirt error code to report.
        code: ErrorCode,
        /// Complete detail text (without libvirt's per-code prefix).
        message: String,
    },
    /// The document's root element is not the expected kind.
    #[error("unexpected root element <{found}>, expecting <{expected}>")]
    WrongRoot {
        /// Root element found.
        found: String,
        /// Root element expected.
        expected: String,
    },
    /// The requested kind or option is not implemented by this tool.
    #[error("{0}")]
    Unsupported(String),
    /// Reading an input file failed.
    #[error("cannot read '{path}'")]
    Io {
        /// File that could not be read.
        path: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for the conf layer.
pub type Result<T> = std::result::Result<T, ConfError>;

impl ConfError {
    /// `VIR_ERR_XML_ERROR` with a detail message.
    pub fn xml(message: impl Into<String>) -> Self {
        ConfError::Invalid { code: ErrorCode::XmlError, message: message.into() }
    }
    /// `VIR_ERR_INVALID_ARG` with a detail message.
    pub fn invalid_arg(message: impl Into<String>) -> Self {
        ConfError::Invalid { code: ErrorCode::InvalidArg, message: message.into() }
    }
    /// `VIR_ERR_CONFIG_UNSUPPORTED` with a detail message.
    pub fn unsupported_config(message: impl Into<String>) -> Self {
        ConfError::Invalid { code: ErrorCode::ConfigUnsupported, message: message.into() }
    }
    /// `VIR_ERR_INTERNAL_ERROR` with a detail message.
    pub fn internal(message: impl Into<String>) -> Self {
        ConfError::Invalid { code: ErrorCode::InternalError, message: message.into() }
    }

    /// The libvirt error code this error is reported with.
    pub fn code(&self) -> ErrorCode {
        match self {
            ConfError::Malformed(_) => ErrorCode::XmlDetail,
            ConfError::Missing(_) => ErrorCode::XmlError,
            ConfError::Invalid { code, .. } => *code,
            ConfError::WrongRoot { .. } => ErrorCode::XmlError,
            ConfError::Unsupported(_) => ErrorCode::ConfigUnsupported,
            ConfError::Io { .. } => ErrorCode::SystemError,
        }
    }

    /// Convert to the public error value, reported from `domain`.
    pub fn into_vir(self, domain: ErrorDomain) -> VirError {
        let code = self.code();
        let detail = match &self {
            ConfError::Io { source, .. } => format!("{self}: {source}"),
            _ => self.to_string(),
        };
        VirError::new(code, domain, detail)
    }
}

impl From<ConfError> for VirError {
    fn from(e: ConfError) -> VirError {
        e.into_vir(ErrorDomain::Xml)
    }
}
