//! Storage pool and volume XML: typed models, parse and canonical format.

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;

/// `xml format --kind pool`.
pub fn tool_format_pool(_text: &str, _opts: &ToolOptions) -> Result<String> {
    Err(ConfError::Unsupported("pool XML is not implemented yet".into()))
}

/// `xml format --kind vol --pool POOL.xml`.
pub fn tool_format_vol(_text: &str, _pool: Option<&str>, _opts: &ToolOptions) -> Result<String> {
    Err(ConfError::Unsupported("volume XML is not implemented yet".into()))
}
