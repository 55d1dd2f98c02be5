//! `oxvirt-conf`: typed models of libvirt's XML formats (domain, network, storage pool
//! and volume, secret, nwfilter, interface, node device, snapshot, capabilities,
//! network port) with parsing, libvirt's canonical formatting and validation.
//!
//! Layer: conf. May depend on `oxvirt-util` only — never on the public API crate, a
//! driver, or a binary. Parsing goes through `roxmltree` (random access, like libvirt's
//! XPath-style parsers); formatting goes through [`xml::El`], which writes libvirt's
//! canonical form (two-space indent, `'` quotes, self-closed empty elements).

pub mod capabilities;
pub mod domain;
pub mod error;
pub mod interface;
pub mod metadata;
pub mod network;
pub mod networkport;
pub mod nodedev;
pub mod nwfilter;
pub mod secret;
pub mod snapshot;
pub mod storage;
pub mod tool;
pub mod xml;

pub use error::{ConfError, Result};
