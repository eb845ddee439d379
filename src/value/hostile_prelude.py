import gc


def clear(c):
    if c is not None:
        c.clear()


def pop_from(c):
    if isinstance(c, dict):
        if c:
            c.popitem()
    elif c:
        c.pop()


def delete_half(c):
    if isinstance(c, (list, bytearray)):
        del c[len(c) // 2:]
    elif isinstance(c, dict):
        for k in list(c)[len(c) // 2:]:
            c.pop(k, None)
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
        for i in range(len(c) - 1, -1, -1):
            if c[i] is x:
                del c[i]
    elif isinstance(c, dict):
        for k, v in list(dict.items(c)):
            if k is x or v is x:
                del c[k]
    elif isinstance(c, set):
        c.discard(x)


def bind(args):
    """Arms the hostile objects in a call's arguments: each acts on the nearest list, dict, set
    or bytearray that holds it (an argument itself: on the first argument that is one).
    Returns how many it armed."""
    def mutable(x):
        return isinstance(x, (list, dict, set, bytearray))
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
        o.target = target
        o.armed = True
    return len(armed)
