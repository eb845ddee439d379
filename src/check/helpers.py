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
        try:
            if a == b:
                return True
        except Exception:
            pass  # elements whose __eq__ raises: matched one by one below
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


# Node types a type alias's value may contain (a call such as `TypeVar("T")` makes it no alias).
_ALIAS_NODES = ("Name", "Attribute", "Subscript", "BinOp", "BitOr", "Constant", "Tuple", "List",
                "Load", "Index", "UnaryOp", "USub")


def _stub_aliases(tree):
    """The stub's module-level type aliases, name -> value node: `X: TypeAlias = ...`, `type X =
    ...` (3.12+), and plain `X = ...` whose value is a type expression (a name, an attribute, a
    subscript or a `|` union). Aliases that refer to themselves, directly or through others, are
    left out: they stay names."""
    import ast

    aliases = {}
    for node in tree.body:
        name = value = None
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            ann = node.annotation
            if getattr(ann, "id", None) == "TypeAlias" or getattr(ann, "attr", None) == "TypeAlias":
                name, value = node.target.id, node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            v = node.value
            if isinstance(v, (ast.Name, ast.Attribute, ast.Subscript)) or (
                    isinstance(v, ast.BinOp) and isinstance(v.op, ast.BitOr)):
                name, value = node.targets[0].id, v
        elif type(node).__name__ == "TypeAlias" and not getattr(node, "type_params", None):
            name, value = node.name.id, node.value
        if name is None:
            continue
        if all(type(n).__name__ in _ALIAS_NODES for n in ast.walk(value)):
            aliases[name] = value
        else:
            aliases.pop(name, None)
    refs = {name: _names(value) for name, value in aliases.items()}

    def reaches(start):
        seen, todo = set(), list(refs[start])
        while todo:
            n = todo.pop()
            if n == start:
                return True
            if n in refs and n not in seen:
                seen.add(n)
                todo.extend(refs[n])
        return False

    return {name: value for name, value in aliases.items() if not reaches(name)}


def _forward_ref(node):
    """The expression in a quoted annotation (`"list[int]"`), or None."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return ast.parse(node.value.strip(), mode="eval").body
        except SyntaxError:
            return None
    return None


def _is_literal(node):
    """Whether `node` is a `Literal[...]` form, whose strings are values."""
    import ast

    base = node.value if isinstance(node, ast.Subscript) else None
    return isinstance(base, (ast.Name, ast.Attribute)) and (
        getattr(base, "id", None) == "Literal" or getattr(base, "attr", None) == "Literal")


def _names(node, out=None):
    """The bare names a type expression uses, forward references included (not the strings of
    `Literal[...]`, nor attribute names)."""
    import ast

    out = set() if out is None else out
    inner = _forward_ref(node)
    if isinstance(node, ast.Name):
        out.add(node.id)
    elif inner is not None:
        _names(inner, out)
    elif not (isinstance(node, ast.Attribute) or _is_literal(node)):
        for child in ast.iter_child_nodes(node):
            _names(child, out)
    return out


def _expand(node, aliases):
    """`node` with every alias name replaced by its value, recursively (aliases used in aliases
    too, quoted or not); `Literal[...]` and attribute bases (`np` in `np.int8`) are left alone."""
    import ast
    import copy

    if isinstance(node, ast.Name) and node.id in aliases:
        return _expand(copy.deepcopy(aliases[node.id]), aliases)
    inner = _forward_ref(node)
    if inner is not None:
        if _names(inner) & set(aliases):
            return _expand(inner, aliases)
        return node
    if isinstance(node, ast.Attribute) or _is_literal(node):
        return node
    for field, value in ast.iter_fields(node):
        if isinstance(value, list):
            setattr(node, field, [_expand(v, aliases) if isinstance(v, ast.AST) else v
                                  for v in value])
        elif isinstance(value, ast.AST):
            setattr(node, field, _expand(value, aliases))
    return node


def _parse_stub(path):
    """The stub's functions: name -> required positional parameters, (name, annotation)."""
    return {name: sig[0] for name, sig in _stub_signatures(path).items()}


_MUTABLE = ("MutableSequence", "MutableMapping", "MutableSet", "WriteableBuffer")


def _mutating(node, annotation):
    """Whether a stub's function is for changing its arguments: it returns `None` (it can only
    act through side effects), or a parameter is a `Mutable*` type or a writeable buffer."""
    if node.returns is not None and annotation(node.returns) == "None":
        return True
    args = node.args
    return any(a.annotation is not None and any(m in annotation(a.annotation) for m in _MUTABLE)
               for a in list(args.posonlyargs) + list(args.args))


def _sibling_stub(path, module, level):
    """The stub of `module` imported by the stub at `path` (`from module import ...`, `level`
    dots): beside it, or up `level - 1` directories for a relative import."""
    base = os.path.dirname(path)
    for _ in range(max(level - 1, 0)):
        base = os.path.dirname(base)
    parts = module.split(".") if module else []
    for c in (os.path.join(base, *parts) + ".pyi" if parts else None,
              os.path.join(base, *parts, "__init__.pyi")):
        if c and os.path.isfile(c) and os.path.abspath(c) != os.path.abspath(path):
            return c
    return None


def _stub_signatures(path, depth=0):
    """The stub's functions: name -> (required, optional, mutating): the positional parameters
    without and with defaults, each a list of (name, annotation), and whether the function is
    for changing its arguments. Functions the stub re-exports from another stub beside it
    (`from _impl import f as f`, `from _impl import *`, as typeshed's `operator` and `struct`
    do) are read from that stub."""
    import ast

    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        raise ValueError("stub %s does not parse: line %s: %s" % (path, e.lineno, e.msg))
    aliases = _stub_aliases(tree)

    def annotation(a):
        if a.annotation is None:
            return None
        return ast.unparse(_expand(a.annotation, aliases) if aliases else a.annotation)

    sigs = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = list(args.posonlyargs) + list(args.args)
            cut = len(positional) - len(args.defaults)
            sigs.setdefault(node.name, ([(a.arg, annotation(a)) for a in positional[:cut]],
                                        [(a.arg, annotation(a)) for a in positional[cut:]],
                                        _mutating(node, lambda n: ast.unparse(
                                            _expand(n, aliases) if aliases else n))))
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or depth > 8:
            continue
        wanted = [a.name for a in node.names if a.name == "*" or a.asname == a.name]
        other = _sibling_stub(path, node.module, node.level) if wanted else None
        if other is None:
            continue
        theirs = _stub_signatures(other, depth + 1)
        names = [n for n in theirs if not n.startswith("_")] if "*" in wanted else wanted
        for n in names:
            if n in theirs:
                sigs.setdefault(n, theirs[n])
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
    found = _stub_package(parts)
    if found is None and parts[0] in getattr(sys, "stdlib_module_names", ()):
        found = _typeshed_stdlib(parts)
    return found


def _typeshed_stdlib(parts):
    """The standard library's stub from a copy of typeshed that an installed tool ships (mypy,
    jedi): the standard library's C modules have no stubs beside them."""
    import importlib.util

    for tool, sub in (("mypy", ("typeshed", "stdlib")),
                      ("jedi", ("third_party", "typeshed", "stdlib"))):
        try:
            spec = importlib.util.find_spec(tool)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        root = os.path.join(list(spec.submodule_search_locations)[0], *sub)
        for c in (os.path.join(root, *parts) + ".pyi", os.path.join(root, *parts, "__init__.pyi")):
            if os.path.isfile(c):
                return c
    return None


def _stub_package(parts):
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
    stub_sigs = _stub_signatures(stub) if stub else {}
    names = list(getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")])
    # Named explicitly, any callable is described, `_private` ones too.
    names += [n for n in include if n not in names and hasattr(mod, n)]
    out = []
    for name in names:
        obj = getattr(mod, name, None)
        if obj is None or inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj):
            continue
        owner = getattr(obj, "__module__", None)
        # Imported from elsewhere: skipped, unless the stub declares it or it comes from one of
        # the package's own submodules (a package re-exporting its implementation's functions).
        if (owner not in (None, modname) and name not in stub_sigs
                and not str(owner).startswith(modname + ".")):
            continue
        if name in stub_sigs:
            required, optional, mutating = stub_sigs[name]
            out.append((name, required, "stub", optional, mutating))
            continue
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            out.append((name, None, "none", [], False))
            continue
        params, optional = [], []
        annotated = False
        for p in sig.parameters.values():
            if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                continue
            if p.annotation is p.empty:
                entry = (p.name, None)
            else:
                annotated = True
                ann = p.annotation if isinstance(p.annotation, str) else inspect.formatannotation(p.annotation)
                entry = (p.name, ann)
            (params if p.default is p.empty and not optional else optional).append(entry)
        source = "annotations" if annotated else (
            "text_signature" if getattr(obj, "__text_signature__", None) else "none")
        out.append((name, params, source, optional, False))
    return out, stub, module_file
