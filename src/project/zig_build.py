"""Builds a pyZ3 project's Zig extension modules in pyz3's build directory (not the project's).

Run by the project's interpreter: argv = project directory, build directory, import directory,
Zig optimize mode, result file, extra flags for the modules' C sources (a JSON list), and
`thread` for ThreadSanitizer (else `-`). The pyZ3 framework reads its own `[tool.pyz3]` table (its
`ext_module` entries; other keys, pyz3's among them, are ignored by its model) and generates the
build script; here the script goes into the build directory with the sources' paths made relative
to it, so the framework's generated `build.zig`, `pyz3.build.zig`, Zig's cache and the installed
modules stay out of the project. The modules and their package's Python files are then copied
into the import directory. Exit 3: the framework is missing; 4: Zig is missing; 5: a
self-managed build; 6: the framework's generated build script is not of the shape known here
(`--sanitize thread` only); 1: the build failed (Zig's output on stderr).

The framework has no option for Zig's ThreadSanitizer. Under `thread` its generated `build.zig`
is rewritten as it is written: each `_ = pyz3.addPythonModule(.{ ... });` keeps the module it
returns, sets `sanitize_thread` on the module's library and has LLVM compile it (Zig's own x86-64
backend, its default for `Debug`, ignores the option). Zig then instruments the Zig code and links
a runtime of its own, whose entry points are interposed by the runtime pyz3 preloads.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

PY_FILES = (".py", ".pyi", ".typed")


def copy_python_files(src, dest):
    for path in src.rglob("*"):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix not in PY_FILES:
            continue
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


ADD_MODULE = "_ = pyz3.addPythonModule("


class UnknownShape(Exception):
    pass


def with_sanitize_thread(text):
    """The generated build script with `sanitize_thread` set on every module's library."""
    if ADD_MODULE not in text:
        raise UnknownShape
    parts, i = [], 0
    while ADD_MODULE in text:
        start = text.index(ADD_MODULE)
        end = text.find("});", start)
        if end < 0:
            raise UnknownShape
        end += len("});")
        name = f"pyz3_thread_module_{i}"
        call = text[start + len(ADD_MODULE) : end]
        parts.append(text[:start])
        parts.append(f"const {name} = pyz3.addPythonModule({call}\n")
        parts.append(f"    {name}.library_step.root_module.sanitize_thread = true;\n")
        # Zig's own x86-64 backend (its default for Debug) does not instrument for TSan.
        parts.append(f"    {name}.library_step.use_llvm = true;")
        text, i = text[end:], i + 1
    return "".join(parts) + text


def sanitize_thread(buildzig):
    """Makes the framework write its build scripts through `with_sanitize_thread`."""
    generate = buildzig.generate_build_zig

    def generate_with_thread(fileobj, conf=None):
        buf = io.StringIO()
        generate(buf, conf)
        fileobj.write(with_sanitize_thread(buf.getvalue()))

    buildzig.generate_build_zig = generate_with_thread


def main():
    project, out, lib, optimize, result, c_flags, thread = sys.argv[1:8]
    c_flags = json.loads(c_flags)
    project, out, lib = Path(project).resolve(), Path(out).resolve(), Path(lib).resolve()
    try:
        from pyz3 import buildzig, config
    except ImportError:
        return 3
    try:
        import ziglang  # noqa: F401
    except ImportError:
        return 4
    with open(project / "pyproject.toml", "rb") as f:
        table = tomllib.load(f).get("tool", {}).get("pyz3", {})
    conf = config.ToolPydust(**table)
    if conf.self_managed:
        return 5
    out.mkdir(parents=True, exist_ok=True)

    def rel(p):
        return Path(os.path.relpath(project / p, out)).as_posix()

    modules = [
        m.model_copy(
            update={
                "root": Path(rel(m.root)),
                "c_sources": [rel(s) for s in m.c_sources],
                "c_include_dirs": [rel(d) for d in m.c_include_dirs],
                "c_flags": list(m.c_flags) + c_flags,
            }
        )
        for m in conf.ext_modules
    ]
    conf = conf.model_copy(update={"ext_modules": modules, "build_zig": out / "build.zig"})
    # The framework's build script finds Python's headers and its own sources relative to the
    # working directory, which must be the build root.
    os.chdir(out)
    if thread == "thread":
        sanitize_thread(buildzig)
    try:
        buildzig.zig_build(
            [
                "install",
                f"-Dpython-exe={sys.executable}",
                f"-Doptimize={optimize}",
                # Zig builds for the host's CPU unless told otherwise; gcc, clang and rustc build
                # for the architecture's baseline. The baseline keeps a module runnable under
                # valgrind (instruction counts): valgrind cannot run AVX-512 code.
                "-Dcpu=baseline",
                "--prefix",
                str(out / "zig-out"),
            ],
            conf=conf,
        )
    except UnknownShape:
        return 6
    except subprocess.CalledProcessError as e:
        print(f"zig build failed with exit status {e.returncode}", file=sys.stderr)
        return 1
    built = []
    for m in conf.ext_modules:
        # The framework installs each module beside the build root's parent of `zig-out`.
        so = out / m.install_path
        if not so.is_file():
            print(f"zig build made no {so}", file=sys.stderr)
            return 1
        top = m.name.split(".")[0]
        if "." in m.name and (project / top).is_dir():
            copy_python_files(project / top, lib / top)
        dest = lib / m.install_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(so, dest)
        built.append({"name": m.name, "path": str(dest)})
    with open(result, "w") as f:
        json.dump({"modules": built}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
