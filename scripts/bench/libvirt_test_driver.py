#!/usr/bin/python3
"""Reference figures for docs/benchmarks.md: libvirt 9.0's own test driver (in-process,
through libvirt-python) doing what `cargo bench -p oxvirt-driver-test` does — define N
domains, list them all, look them up by name and UUID. Python call overhead (~1 µs per
call) is included, so per-call lookups are an upper bound for libvirt.

    /usr/bin/python3 scripts/bench/libvirt_test_driver.py
"""
import os
import statistics
import tempfile
import time

import libvirt


def domain_xml(i):
    return ("<domain type='test'><name>bench%d</name><memory unit='KiB'>1024</memory>"
            "<vcpu>1</vcpu><os><type>hvm</type></os></domain>" % i)


def empty_conn():
    fd, path = tempfile.mkstemp(suffix=".xml")
    os.write(fd, b"<node>\n</node>\n")
    os.close(fd)
    return libvirt.open("test://" + path)


def median(f, reps):
    xs = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        xs.append(time.perf_counter() - t)
    return statistics.median(xs)


for n in (100, 1000, 10000):
    conn = empty_conn()
    t = time.perf_counter()
    doms = [conn.defineXML(domain_xml(i)) for i in range(n)]
    define = time.perf_counter() - t
    names = [d.name() for d in doms]
    uuids = [d.UUID() for d in doms]
    lst = median(lambda: conn.listAllDomains(0), 15)
    k = 2000
    idx = [(j * 7919) % n for j in range(k)]
    by_name = median(lambda: [conn.lookupByName(names[i]) for i in idx], 5) / k
    by_uuid = median(lambda: [conn.lookupByUUID(uuids[i]) for i in idx], 5) / k
    print("n=%-6d define %8.2f ms (%6.1f k/s)  listAll %8.3f ms  lookupByName %6.2f us  lookupByUUID %6.2f us"
          % (n, define * 1e3, n / define / 1e3, lst * 1e3, by_name * 1e6, by_uuid * 1e6))
    conn.close()
