#!/usr/bin/env python3
"""`pyz3 check` on real extensions: the table of docs/real-world.md.

Runs `pyz3 check MODULE --json` on each extension below, as a new user would (no options but
`--cases`), and prints the markdown table: package, version, functions checked, cases per
function, time, and the findings by kind. With `--write`, replaces the table in
docs/real-world.md (between its `<!-- table -->` markers).

Installs nothing: the packages come from requirements.txt (`scripts/setup.sh` installs them into
.venv), and the standard library's stubs from the copy of typeshed inside mypy, which pyz3 finds
by itself. Usage, from the repository root:

    cargo build --release
    .venv/bin/python benches/real_world.py [--pyz3 target/release/pyz3] [--cases 2000] [--write]
"""

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IN_PLACE = ["iadd", "iand", "iconcat", "ifloordiv", "ilshift", "imatmul", "imod", "imul", "ior",
            "ipow", "irshift", "isub", "itruediv", "ixor"]

# (package on PyPI or "stdlib", module, cases (None: --cases), other options). The extensions
# of issue 19: two with known defects, the others to be checked without a false alarm. The
# options are what a user declares: functions meant to change their arguments (the in-place
# operators, the heap pops), and for math a shorter time limit (its factorial, comb and perm are
# slow on huge ints, and every call over the limit costs the limit).
TARGETS = [
    ("mmh3", "mmh3", 200, []),
    ("ujson", "ujson", None, []),
    ("orjson", "orjson", None, []),
    ("xxhash", "xxhash", None, []),
    ("jiter", "jiter", None, []),
    ("msgpack", "msgpack", None, []),
    ("regex", "regex", None, []),
    ("stdlib", "binascii", None, []),
    ("stdlib", "zlib", None, []),
    ("stdlib", "math", None, ["--timeout-ms", "100"]),
    ("stdlib", "cmath", None, []),
    ("stdlib", "operator", None, [a for f in IN_PLACE for a in ("--mutates", f)]),
    ("stdlib", "_bisect", None, []),
    ("stdlib", "_heapq", None, [a for f in ("heappop", "heappushpop", "heapreplace")
                                for a in ("--mutates", f)]),
    ("stdlib", "unicodedata", None, []),
    ("stdlib", "struct", None, []),
    ("stdlib", "_json", None, []),
]


def version(package):
    if package == "stdlib":
        return "%d.%d.%d" % sys.version_info[:3]
    return importlib.metadata.version(package)


def check(pyz3, module, cases, options, workdir):
    report = os.path.join(workdir, module + ".json")
    started = time.monotonic()
    run = subprocess.run(
        [pyz3, "check", module, "--cases", str(cases), "--json", report,
         "--repro-dir", os.path.join(workdir, "repro"), "--python", sys.executable] + options,
        cwd=workdir, capture_output=True, text=True, timeout=3600)
    elapsed = time.monotonic() - started
    if run.returncode not in (0, 1):
        raise SystemExit("pyz3 check %s failed (exit %d): %s" % (
            module, run.returncode, run.stderr.strip().splitlines()[-1:]))
    with open(report) as f:
        return json.load(f), elapsed


def row(package, module, cases, result, elapsed):
    functions = result["functions"]
    findings = {}
    for f in functions:
        for x in f["findings"]:
            # A `|` would end the table cell.
            findings.setdefault(x["kind"], []).append("`%s%s`" % (
                f["name"], call_args(x["input"]).replace("|", "\\|")))
    found = "; ".join("%s: %s" % (k, ", ".join(v)) for k, v in sorted(findings.items())) or "none"
    slow = len(result.get("slow", []))
    name = module if package == "stdlib" else package
    return "| %s | %s | %d | %d | %.0f s | %s | %d |" % (
        name, version(package), len(functions), cases, elapsed, found, slow)


def call_args(source):
    return source[:-2] + ")" if source.endswith(",)") else source


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pyz3", default=os.path.join(ROOT, "target", "release", "pyz3"))
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--write", action="store_true", help="rewrite the table in docs/real-world.md")
    ap.add_argument("--only", action="append", help="check only these modules")
    args = ap.parse_args()
    lines = [
        "| extension | version | functions | cases each | time | findings | slow inputs |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as workdir:
        for package, module, cases, options in TARGETS:
            if args.only and module not in args.only:
                continue
            n = cases or args.cases
            result, elapsed = check(os.path.abspath(args.pyz3), module, n, options, workdir)
            lines.append(row(package, module, n, result, elapsed))
            print(lines[-1], file=sys.stderr, flush=True)
    table = "\n".join(lines)
    print(table)
    if args.write:
        path = os.path.join(ROOT, "docs", "real-world.md")
        with open(path) as f:
            text = f.read()
        start, end = text.index("<!-- table -->"), text.index("<!-- /table -->")
        text = text[:start] + "<!-- table -->\n" + table + "\n" + text[end:]
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)


if __name__ == "__main__":
    main()
