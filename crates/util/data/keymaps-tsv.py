#!/usr/bin/env python3
"""Extract the key code facts oxvirt needs from keycodemapdb's keymaps.csv
(libvirt 9.0: src/keycodemapdb/data/keymaps.csv) into keymaps.tsv: one row per
Linux key code, ascending; later CSV rows of a key fill or replace its cells, empty
cells stay empty. Usage: keymaps-tsv.py keymaps.csv > keymaps.tsv
"""
import csv
import sys

# CSV column → TSV column, in TSV order.
COLS = [
    ("Linux Name", "linux_name"),
    ("Linux Keycode", "linux"),
    ("OS-X Name", "osx_name"),
    ("OS-X Keycode", "osx"),
    ("AT set1 keycode", "atset1"),
    ("AT set2 keycode", "atset2"),
    ("AT set3 keycode", "atset3"),
    ("USB Keycodes", "usb"),
    ("Win32 Name", "win32_name"),
    ("Win32 Keycode", "win32"),
]


def num(v):
    return str(int(v, 16) if v.startswith("0x") else int(v)) if v else ""


def main():
    rows = {}
    with open(sys.argv[1], newline="") as f:
        reader = csv.DictReader(f)
        for r in reader:
            linux = int(num(r["Linux Keycode"]))
            cur = rows.setdefault(linux, {})
            for src, dst in COLS:
                v = r[src].strip()
                if v:
                    cur[dst] = v if dst.endswith("_name") else num(v)
    print("\t".join(dst for _, dst in COLS))
    for linux in sorted(rows):
        print("\t".join(rows[linux].get(dst, "") for _, dst in COLS))


main()
