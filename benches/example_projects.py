"""Writes the clean variants of the sanitizer example projects (tests/fixtures/sanitize: each
planted defect replaced by the fix on its PLANTED: marker) for the benchmark scripts.

    python benches/example_projects.py WORK RUST_MODULE C_MODULE

WORK/rs is a PyO3 crate named RUST_MODULE, WORK/c a setuptools C extension named C_MODULE; each
has its pytest suite in tests/.
"""
import os
import sys

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "sanitize")


def clean(name, module):
    out, fix = [], None
    text = open(os.path.join(FIXTURES, name)).read().replace("{module}", module)
    for line in text.splitlines():
        if fix is not None:
            out.append(line[: len(line) - len(line.lstrip())] + fix)
            fix = None
        elif "PLANTED: " in line:
            fix = line.split("PLANTED: ", 1)[1]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    work, rs_module, c_module = sys.argv[1:4]
    rs = os.path.join(work, "rs")
    put(
        os.path.join(rs, "Cargo.toml"),
        f'[package]\nname = "{rs_module}"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[lib]\ncrate-type = ["cdylib"]\n\n[dependencies]\npyo3 = "0.30"\n\n[workspace]\n',
    )
    put(os.path.join(rs, "src/lib.rs"), clean("pyo3_lib.rs", rs_module))
    put(os.path.join(rs, "tests/test_ext.py"), clean("pyo3_test.py", rs_module))
    c = os.path.join(work, "c")
    put(
        os.path.join(c, "setup.py"),
        "from setuptools import Extension, setup\n"
        f'setup(name="{c_module}", version="0.1", ext_modules=[Extension("{c_module}", ["{c_module}.c"])])\n',
    )
    put(os.path.join(c, f"{c_module}.c"), clean("c_ext.c", c_module))
    put(os.path.join(c, "tests/test_ext.py"), clean("c_test.py", c_module))


if __name__ == "__main__":
    main()
