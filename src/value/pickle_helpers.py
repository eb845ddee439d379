"""Helpers that pickles written by pyz3 (Rust) call while they are unpickled.

Install this source as the module ``_pyz3`` before calling ``pickle.loads``:

    import sys, types
    m = types.ModuleType('_pyz3')
    exec(PICKLE_HELPERS, m.__dict__)
    sys.modules['_pyz3'] = m

Importing it only defines two functions and an empty cache; NumPy is imported when the first
array is unpickled. Works on CPython 3.9 and later, with or without the GIL.
"""

_enum_classes = {}


def enum_class(kind, name, members):
    """The generated class ``enum.<kind>(name, list(members), module='pyz3_generated')``.

    ``kind`` is 'Enum', 'IntEnum' or 'Flag'; ``members`` a tuple of (name, int value) pairs.
    Created once per process and then reused, so members of one definition share a class.
    """
    key = (kind, name, members)
    cls = _enum_classes.get(key)
    if cls is None:
        if kind not in ('Enum', 'IntEnum', 'Flag'):
            raise ValueError('unknown enum kind %r' % (kind,))
        import enum
        cls = getattr(enum, kind)(name, list(members), module='pyz3_generated')
        # setdefault is atomic with or without the GIL: racing threads all get the first class.
        cls = _enum_classes.setdefault(key, cls)
    return cls


def ndarray(data, dtype, shape, order, steps, writeable):
    """A NumPy array built from the raw bytes of its elements.

    ``data`` holds the elements in C order (for a strided view: the view's elements, reversed
    along the axes with a negative step), ``dtype`` is a ``dtype.str`` such as '>i4' and
    ``shape`` a tuple. With ``steps`` None the array is a contiguous copy in ``order`` ('C' or
    'F'); otherwise it is the view ``base[::steps[0], ::steps[1], ...]`` of a base contiguous
    in ``order`` in which each element is repeated ``abs(step)`` times along each axis.
    ``writeable`` False clears ``flags.writeable``.
    """
    import numpy

    a = numpy.frombuffer(data, dtype).reshape(shape)
    if steps is None:
        a = a.copy(order)
    else:
        for axis, step in enumerate(steps):
            if abs(step) > 1:
                a = a.repeat(abs(step), axis)
        a = a.copy(order)[tuple(slice(None, None, step) for step in steps)]
    if not writeable:
        a.flags.writeable = False
    return a


_hostile_classes = {}


def hostile(source, name, payload):
    """An instance of the hostile class defined by ``source`` (Python written by pyz3, the
    same text a reproducer shows), built from ``payload`` for int/str/list/dict subclasses.
    Each class is defined once per process, in this module, where its helpers live."""
    cls = _hostile_classes.get(source)
    if cls is None:
        ns = globals()
        exec(source, ns)
        cls = _hostile_classes.setdefault(source, ns[name])
    if payload is None:
        return cls()
    return cls(payload)
