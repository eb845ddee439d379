import gc


def clear(c):
    if c is not None:
        c.clear()


# The helpers use the base types' own methods: a hostile list or dict's overridden __len__,
# __getitem__ or __iter__ must not run (and act again) inside them.
def pop_from(c):
    if isinstance(c, dict):
        if dict.__len__(c):
            c.popitem()
    elif isinstance(c, list):
        if list.__len__(c):
            c.pop()
    elif c:
        c.pop()


def delete_half(c):
    if isinstance(c, list):
        del c[list.__len__(c) // 2:]
    elif isinstance(c, bytearray):
        del c[len(c) // 2:]
    elif isinstance(c, dict):
        keys = list(dict.keys(c))
        for k in keys[len(keys) // 2:]:
            dict.pop(c, k, None)
    elif isinstance(c, set):
        for x in list(c)[len(c) // 2:]:
            c.discard(x)


def append_to(c):
    if isinstance(c, list):
        c.extend(range(64))
    elif isinstance(c, bytearray):
        c.extend(bytes(64))
    elif isinstance(c, dict):
        for i in range(64):
            c[-1000000 - i] = i
    elif isinstance(c, set):
        c.update(range(-1000000, -999936))


def remove_from(c, x):
    if isinstance(c, list):
        for i in range(list.__len__(c) - 1, -1, -1):
            if list.__getitem__(c, i) is x:
                del c[i]
    elif isinstance(c, dict):
        for k, v in list(dict.items(c)):
            if k is x or v is x:
                dict.pop(c, k, None)
    elif isinstance(c, set):
        c.discard(x)


def replace_items(c):
    """Puts a new object (a new int) in place of every item of a list, every value of a dict and
    every byte of a bytearray: the length stays, the references the container held go."""
    if isinstance(c, list):
        for i in range(list.__len__(c)):
            list.__setitem__(c, i, 10 ** 20 + i)
    elif isinstance(c, dict):
        for i, k in enumerate(list(dict.keys(c))):
            dict.__setitem__(c, k, 10 ** 20 + i)
    elif isinstance(c, bytearray):
        c[:] = bytes(len(c))
    elif isinstance(c, set):
        n = len(c)
        c.clear()
        c.update(10 ** 20 + i for i in range(n))


class RaisesOnBool:
    """What a hostile __eq__ or __lt__ returns: asking whether it is true raises."""
    def __bool__(self):
        raise ValueError("raised by __bool__")


def call_again(o):
    """Calls the function under test again with the arguments of the call under way."""
    again = o.__dict__.get("again")
    if again is not None:
        again[0](*again[1])


def bind(args, f=None):
    """Arms the hostile objects in a call's arguments: each acts on the nearest list, dict, set
    or bytearray (of exactly that type) that holds it (an argument itself: on the first argument
    that is one), and calls `f(*args)` again when it is told to. Returns how many it armed."""
    def mutable(x):
        # Exactly these types: a subclass may walk itself in C code of its own (OrderedDict's
        # repr in CPython 3.11 reads a freed key when its hash clears it), and making that code
        # fail is not the extension's fault.
        return type(x) in (list, dict, set, bytearray)
    first = next((a for a in args if mutable(a)), None)
    stack = [(a, first) for a in args]
    seen = set()
    armed = []
    while stack:
        o, holder = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        inner = o if mutable(o) else holder
        if isinstance(o, dict):
            items = [x for kv in dict.items(o) for x in kv]
        elif isinstance(o, list):
            items = list(list.__iter__(o))
        elif type(o) in (tuple, set, frozenset):
            items = list(o)
        else:
            items = ()
        stack.extend((x, inner) for x in items)
        if "armed" in type(o).__dict__:
            armed.append((o, inner if inner is not o else holder))
    for o, target in armed:
        if target is o:
            # A container never acts on itself: on the first other container argument.
            target = next((a for a in args if mutable(a) and a is not o), None)
        o.target = target
        if f is not None:
            o.again = (f, args)
        o.armed = True
    return len(armed)
