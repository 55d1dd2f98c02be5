//! Integration tests of oxvirt-conf: one binary, one module per XML kind.

#[path = "conf/domain.rs"]
mod domain;
