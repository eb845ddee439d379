"""Builds a project's wheel through its PEP 517 backend (no isolation: the backend and its tools
come from this interpreter's environment) and unpacks it into an import directory.

argv: backend, source dir, wheel dir, lib dir, config settings (JSON), result path.
The result (JSON): the wheel's file name and the extension modules its file list holds, each by
dotted name and path in the lib dir. Exit 3 when the backend does not import.
"""

import importlib
import importlib.machinery
import json
import os
import shutil
import sys
import zipfile


def main():
    backend, source, wheel_dir, lib_dir, settings, result = sys.argv[1:7]
    os.chdir(source)
    module = backend.partition(":")[0]
    try:
        hooks = importlib.import_module(module)
    except ImportError as e:
        print("pyz3: cannot import the build backend %s: %s" % (backend, e), file=sys.stderr)
        sys.exit(3)
    os.makedirs(wheel_dir, exist_ok=True)
    for old in os.listdir(wheel_dir):
        if old.endswith(".whl"):
            os.remove(os.path.join(wheel_dir, old))
    name = hooks.build_wheel(wheel_dir, json.loads(settings))
    suffixes = sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True)
    modules = []
    with zipfile.ZipFile(os.path.join(wheel_dir, name)) as wheel:
        for info in wheel.infolist():
            parts = info.filename.split("/")
            if info.is_dir() or not parts[-1]:
                continue
            if parts[0].endswith(".data"):
                # Only the files that install into site-packages (not scripts, headers, data).
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            dest = os.path.join(lib_dir, *parts)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with wheel.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(dest, mode & 0o777)
            for suffix in suffixes:
                if parts[-1].endswith(suffix):
                    dotted = parts[:-1] + [parts[-1][: -len(suffix)]]
                    modules.append({"name": ".".join(dotted), "path": dest})
                    break
    with open(result, "w") as f:
        json.dump({"wheel": name, "modules": modules}, f)


main()
