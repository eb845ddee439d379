"""Writes the clean variants of the build-backend example projects of tests/tests/bindings.rs
(tests/fixtures/backends: each planted defect replaced by the fix on its PLANTED: marker) for
benches/backends_overhead.sh.

    python benches/backend_projects.py DIR KIND

KIND is nanobind, pybind11, cython-setuptools or cython-meson; DIR gets the project (module
nb_ext, pb_ext, cys_ext or cym_ext) with its pytest suite in tests/.
"""
import os
import sys

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "backends")

KINDS = {
    "nanobind": ("nb_ext", {"pyproject.toml": "scikit_build_core.toml", "CMakeLists.txt": "nanobind_CMakeLists.txt", "{m}.cpp": "nanobind_ext.cpp"}),
    "pybind11": ("pb_ext", {"pyproject.toml": "scikit_build_core.toml", "CMakeLists.txt": "pybind11_CMakeLists.txt", "{m}.cpp": "pybind11_ext.cpp", "{m}.pyi": "bindings.pyi"}),
    "cython-setuptools": ("cys_ext", {"setup.py": "cython_setup.py", "{m}.pyx": "cython_ext.pyx", "{m}.pyi": "bindings.pyi"}),
    "cython-meson": ("cym_ext", {"pyproject.toml": "mesonpy.toml", "meson.build": "cython_meson.build", "{m}.pyx": "cython_ext.pyx", "{m}.pyi": "bindings.pyi"}),
}


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


def main():
    out, kind = sys.argv[1:3]
    module, files = KINDS[kind]
    files = dict(files, **{"tests/test_ext.py": "bindings_test.py"})
    for dest, fixture in files.items():
        path = os.path.join(out, dest.replace("{m}", module))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(clean(fixture, module))


if __name__ == "__main__":
    main()
