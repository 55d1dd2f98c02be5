//! `oxvirt`: the public API — libvirt's object model in Rust.
//!
//! [`Connect::open`] resolves a URI (`driver[+transport]://[user@][host][:port]/path[?query]`,
//! `LIBVIRT_DEFAULT_URI`, `uri_aliases`) to a registered driver and returns a
//! connection; handles ([`Domain`], [`Network`], [`StoragePool`], [`StorageVol`],
//! [`Secret`], [`NWFilter`], [`Interface`], [`NodeDevice`], [`DomainSnapshot`]) call
//! through it; bulk data (volume upload/download) moves through a [`Stream`]. Errors are [`Error`], carrying libvirt's numeric code and domain.
//!
//! Layer: public API. May depend on `oxvirt-util` and `oxvirt-conf`; drivers implement
//! the traits in [`driver`] and register themselves; the API never depends on a driver.

pub mod connect;
pub mod driver;
pub mod event;
pub mod flags;
pub mod stats;
pub mod stream;
pub mod typedparam;
pub mod types;
pub mod uri;

pub use connect::{Connect, Domain, DomainSnapshot, Interface, NWFilter, Network, NodeDevice, Secret, StoragePool, StorageVol};
pub use event::{DomainEventData, Event, EventBus, EventClass};
pub use flags::*;
pub use oxvirt_util::{ErrorCode, ErrorDomain, ErrorLevel};
pub use stats::{
    BlockInfo, BlockStats, ControlInfo, DiskError, DomainInterface, DomainStatsRecord, FsInfo, InterfaceStats, IpAddress, JobInfo,
    MemoryStat, TypedParamList, VcpuInfo,
};
pub use stream::{Stream, StreamChunk, StreamDriver};
pub use typedparam::{TypedParam, TypedType, TypedValue};
pub use types::*;

/// The public error: libvirt's code, domain, level and message.
pub type Error = oxvirt_util::VirError;

/// Result alias of the public API.
pub type Result<T> = std::result::Result<T, Error>;
