//! `oxvirt-util`: the bottom layer of oxvirt, usable from every other crate.
//!
//! Holds libvirt's error numbering and the error value that crosses every layer
//! ([`VirError`]), atomic file writes, UUID helpers, the parser of libvirt's
//! configuration-file syntax ([`virconf`]), control groups v1/v2 ([`cgroup`]) and fd
//! passing over unix sockets ([`fdpass`]), host CPU time and free memory ([`host`]), key
//! codes of libvirt's codesets ([`keycode`]). It depends on nothing of
//! oxvirt's own and must stay that way.

pub mod base64;
pub mod cgroup;
pub mod errnum;
pub mod error;
pub mod fdpass;
pub mod fs;
pub mod host;
pub mod keycode;
pub mod uuid;
pub mod virconf;

pub use errnum::{ErrorCode, ErrorDomain, ErrorLevel};
pub use error::VirError;
