//! `oxvirt`: the public API.
