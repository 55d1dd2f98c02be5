#!/usr/bin/python3
"""Summarise scripts/bench/daemon_vs_libvirtd.sh results (one JSON line per run,
tagged "daemon": floor|oxvirtd|libvirtd) as the markdown table of docs/benchmarks.md.
Medians over repeated runs of the same bench."""
import json
import statistics
import sys


def load(path):
    rows = {}
    for line in open(path):
        d = json.loads(line)
        rows.setdefault((d["bench"], d["daemon"]), []).append(d)
    return rows


def med(rows, key, f):
    vals = []
    for r in rows.get(key, []):
        try:
            vals.append(f(r))
        except (KeyError, TypeError, IndexError, StopIteration):
            pass
    return statistics.median(vals) if vals else None


def main():
    rows = load(sys.argv[1])
    rpc = lambda d, f: med(rows, ("rpc_latency", d), f)
    c1 = lambda r: r["concurrent_process"]["1"]["calls_per_s"]
    c8 = lambda r: r["concurrent_process"]["8"]["calls_per_s"]
    p50 = lambda r: r["single_conn"]["getLibVersion"]["median_us"]
    p99 = lambda r: r["single_conn"]["getLibVersion"]["p99_us"]
    s10k = lambda r: next(s for s in r["scale"] if s["n"] == 10000)["listAllDomains"]["median_ms"]
    ev = lambda r: r["test"]["suspend_to_SUSPENDED"]["from_call_median_us"]
    ready = lambda r: r["results"]["custom"]["ready_ms"]
    rss = lambda r: r["results"]["custom"]["idle_rss_kib"]
    anon = lambda r: r["results"]["custom"]["idle_rss_anon_kib"]
    busy = [r["cpu_busy_before"] for v in rows.values() for r in v]

    def fmt(v, unit=""):
        return "n/a" if v is None else ("%.0f%s" % (v, unit) if v >= 100 else "%.3g%s" % (v, unit))

    def ratio(a, b):
        return "n/a" if a is None or b is None or b == 0 else "%.2f" % (a / b)

    lines = [
        "| metric | floor | libvirtd 9.0 | oxvirtd | oxvirtd / libvirtd | target | met |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(name, f_floor, f_lv, f_ox, target, ok):
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt(f_floor), fmt(f_lv), fmt(f_ox), ratio(f_ox, f_lv), target, ok))

    for label, f in (("calls/s, 1 connection (getLibVersion)", c1), ("calls/s, 8 connections", c8)):
        fl, lv, ox = rpc("floor", f), rpc("libvirtd", f), rpc("oxvirtd", f)
        okv = ox is not None and fl is not None and ox >= 0.8 * fl
        row(label, fl, lv, ox, "≥ 80%% of floor (oxvirtd/floor = %s)" % ratio(ox, fl), "yes" if okv else "no")
    fl, lv, ox = rpc("floor", p50), rpc("libvirtd", p50), rpc("oxvirtd", p50)
    row("latency median, µs (1 conn)", fl, lv, ox, "-", "-")
    fl99, lv99, ox99 = rpc("floor", p99), rpc("libvirtd", p99), rpc("oxvirtd", p99)
    row("latency p99, µs (1 conn)", fl99, lv99, ox99, "≤ libvirtd median (%s µs)" % fmt(lv),
        "yes" if ox99 is not None and lv is not None and ox99 <= lv else "no")
    lv, ox = med(rows, ("test_driver_scale", "libvirtd"), s10k), med(rows, ("test_driver_scale", "oxvirtd"), s10k)
    row("listAllDomains of 10,000, ms", None, lv, ox, "< 10 ms", "yes" if ox is not None and ox < 10 else "no")
    lv, ox = med(rows, ("events", "libvirtd"), ev), med(rows, ("events", "oxvirtd"), ev)
    row("suspend → lifecycle event, µs (median)", None, lv, ox, "-", "-")
    lv, ox = med(rows, ("daemon_footprint", "libvirtd"), ready), med(rows, ("daemon_footprint", "oxvirtd"), ready)
    row("start-to-ready, ms", None, lv, ox, "< 50 ms", "yes" if ox is not None and ox < 50 else "no")
    lv, ox = med(rows, ("daemon_footprint", "libvirtd"), rss), med(rows, ("daemon_footprint", "oxvirtd"), rss)
    row("idle RSS (VmRSS), KiB", None, lv, ox, "< 1/4 of libvirtd", "yes" if ox and lv and ox < lv / 4 else "no")
    lv, ox = med(rows, ("daemon_footprint", "libvirtd"), anon), med(rows, ("daemon_footprint", "oxvirtd"), anon)
    row("idle RssAnon, KiB", None, lv, ox, "-", "-")
    print("\n".join(lines))
    print("\ncpu_busy_before over all runs: median %.2f, max %.2f" % (statistics.median(busy), max(busy)))


if __name__ == "__main__":
    main()
