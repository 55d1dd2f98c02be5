//! `oxvirt-driver-test`: the `test:///` driver.
