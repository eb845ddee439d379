# Python-side helpers of the pyz3 worker: result comparison and signature discovery.
# Executed once per worker into a private namespace; nothing here is imported by user code.
import math
import os
import sys

# `ast`, `importlib` and `inspect` are imported where used: only discovery needs them, and
# importing them costs more than the rest of a worker's start-up.


def pyz3_eq(a, b, tol=0.0):
    """NaN-aware deep equality with an optional relative/absolute float tolerance."""
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        if a == b:
            return True
        return tol > 0 and math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, complex) and isinstance(b, complex):
        return pyz3_eq(a.real, b.real, tol) and pyz3_eq(a.imag, b.imag, tol)
    np = sys.modules.get("numpy")
    if np is not None and (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            if a.dtype.kind in "fc":
                if tol > 0:
                    return bool(np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
                return bool(np.array_equal(a, b, equal_nan=True))
            if a.dtype.kind in "mM":
                # NaT equals NaT here, like NaN.
                return bool(np.array_equal(a.view("i8"), b.view("i8")))
            return bool(np.array_equal(a, b))
        except Exception:
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(
            pyz3_eq(x, y, tol) for x, y in zip(a, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        # In order first (NaN keys are only equal to themselves), then by lookup.
        if all(pyz3_eq(k1, k2, tol) and pyz3_eq(v1, v2, tol)
               for (k1, v1), (k2, v2) in zip(a.items(), b.items())):
            return True
        try:
            return all(k in b and pyz3_eq(v, b[k], tol) for k, v in a.items())
        except Exception:
            return repr(a) == repr(b)
    if isinstance(a, (set, frozenset)) and isinstance(b, (set, frozenset)):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        if a == b:
            return True
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if pyz3_eq(x, y, tol):
                    del rest[i]
                    break
            else:
                return False
        return True
    if type(a) is type(b) and type(a).__eq__ is object.__eq__:
        # Identity equality says nothing about behaviour: two fresh objects always differ.
        return True
    try:
        if a != a and b != b:
            # NaN-like values (Decimal('NaN'), numpy NaN scalars) equal themselves here.
            return type(a) is type(b)
        return bool(a == b)
    except Exception:
        # Values that refuse to compare (Decimal('sNaN'), an __eq__ that raises) show no
        # difference: Decimals by their text; anything else of one type is taken as equal
        # (its repr may hold an address, which differs between any two objects).
        if type(a) is not type(b):
            return False
        if type(a).__module__ == "decimal":
            return str(a) == str(b)
        return True


def pyz3_show(x, limit=2000):
    try:
        text = repr(x)
    except Exception as e:  # a broken __repr__ is itself worth seeing
        text = "<repr failed: %s: %s>" % (type(e).__name__, e)
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_stub(path):
    import ast

    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        raise ValueError("stub %s does not parse: line %s: %s" % (path, e.lineno, e.msg))
    sigs = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = list(args.posonlyargs) + list(args.args)
            if args.defaults:
                positional = positional[: len(positional) - len(args.defaults)]
            params = [(a.arg, ast.unparse(a.annotation) if a.annotation else None) for a in positional]
            sigs.setdefault(node.name, params)
    return sigs


def _find_stub(modname, module_file, stubs):
    parts = modname.split(".")
    if stubs:
        if os.path.isdir(stubs):
            candidates = [
                os.path.join(stubs, *parts) + ".pyi",
                os.path.join(stubs, *parts, "__init__.pyi"),
                os.path.join(stubs, parts[0] + "-stubs", *parts[1:]) + ".pyi",
                os.path.join(stubs, parts[0] + "-stubs", *parts[1:], "__init__.pyi"),
            ]
            for c in candidates:
                if os.path.isfile(c):
                    return c
            raise ValueError("no stub for %s under %s" % (modname, stubs))
        if not os.path.isfile(stubs):
            raise ValueError("stub %s does not exist" % stubs)
        return stubs
    if module_file:
        d = os.path.dirname(module_file)
        base = os.path.basename(module_file)
        package = base.startswith("__init__.")
        if package:
            candidates = [os.path.join(d, "__init__.pyi")]
        else:
            stem = base.split(".")[0]
            # `mod.pyi` beside `mod.cpython-*.so`, or a stub package `mod/__init__.pyi` beside it
            # (how some wheels ship the stubs of a single-file extension).
            candidates = [os.path.join(d, stem + ".pyi"), os.path.join(d, stem, "__init__.pyi")]
        for c in candidates:
            if os.path.isfile(c):
                return c
    # PEP 561 stub-only packages (`<top>-stubs`) on any sys.path entry.
    for root in sys.path:
        top = os.path.join(root or ".", parts[0] + "-stubs")
        if not os.path.isdir(top):
            continue
        for c in (
            os.path.join(top, *parts[1:]) + ".pyi" if len(parts) > 1 else None,
            os.path.join(top, *parts[1:], "__init__.pyi"),
        ):
            if c and os.path.isfile(c):
                return c
    return None


def pyz3_describe(modname, stubs=None, include=()):
    import importlib
    import inspect

    mod = importlib.import_module(modname)
    module_file = getattr(mod, "__file__", None)
    stub = _find_stub(modname, module_file, stubs)
    stub_sigs = _parse_stub(stub) if stub else {}
    names = list(getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")])
    # Named explicitly, any callable is described, `_private` ones too.
    names += [n for n in include if n not in names and hasattr(mod, n)]
    out = []
    for name in names:
        obj = getattr(mod, name, None)
        if obj is None or inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj):
            continue
        owner = getattr(obj, "__module__", None)
        if owner not in (None, modname) and name not in stub_sigs:
            continue  # imported from elsewhere
        if name in stub_sigs:
            out.append((name, stub_sigs[name], "stub"))
            continue
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            out.append((name, None, "none"))
            continue
        params = []
        annotated = False
        for p in sig.parameters.values():
            if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) or p.default is not p.empty:
                continue
            if p.annotation is p.empty:
                params.append((p.name, None))
            else:
                annotated = True
                ann = p.annotation if isinstance(p.annotation, str) else inspect.formatannotation(p.annotation)
                params.append((p.name, ann))
        source = "annotations" if annotated else (
            "text_signature" if getattr(obj, "__text_signature__", None) else "none")
        out.append((name, params, source))
    return out, stub, module_file
