//! `nodedev` XML: typed model, parse and canonical format.

use crate::error::{ConfError, Result};
use crate::tool::ToolOptions;

/// `xml format --kind nodedev`: parse and print the canonical form.
pub fn tool_format(_text: &str, _opts: &ToolOptions) -> Result<String> {
    Err(ConfError::Unsupported("nodedev XML is not implemented yet".into()))
}
