//! `oxvirt-tests`: holds the cross-crate test suites in `tests/tests/` (one binary).
