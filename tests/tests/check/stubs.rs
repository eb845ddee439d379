//! Stub types that need no fallback, and type aliases substituted into annotations.

use super::*;

#[test]
fn stub_buffer_any_str_and_alias_types_need_no_fallback() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("m.py"),
        "def size(data):\n    if type(data) is bytearray and len(data) == 3:\n        raise SystemError('planted: a bytearray of length 3')\n    return len(bytes(data))\n\n\
def join(a, b):\n    return a + b\n\n\
def count(p):\n    return len(p[0]) + p[1]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("m.pyi"),
        "from typing import AnyStr\nfrom typing_extensions import TypeAlias\nfrom _typeshed import ReadableBuffer\n\n\
Key = str | bytes\nPair: TypeAlias = tuple[Key, int]\n\n\
def size(data: ReadableBuffer) -> int: ...\n\
def join(a: AnyStr, b: AnyStr) -> AnyStr: ...\n\
def count(p: Pair) -> int: ...\n",
    )
    .unwrap();
    // `join` raises TypeError if its arguments ever mix str and bytes, `count` unless `p` is a
    // (sized, int) pair.
    let out = Pyz3::new(dir)
        .args([
            "check",
            "m.py",
            "--property",
            "join=exception is None",
            "--property",
            "count=exception is None",
            "--json",
            "r.json",
        ])
        .run();
    let err = out.stderr_text();
    assert_eq!(out.status.code(), Some(1), "{err}");
    for unwanted in ["unknown", "any-value", "any value", "warning"] {
        assert!(!err.contains(unwanted), "`{unwanted}` on stderr:\n{err}");
    }
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let by_fn = findings_by_function(&report);
    let get = |n: &str| by_fn.iter().find(|f| f.0 == n).unwrap().clone();
    assert_eq!(get("join").2, vec![], "{err}");
    assert_eq!(get("count").2, vec![], "{err}");
    assert_eq!(
        get("size").2,
        vec![(
            "system-error".to_string(),
            "(bytearray(b'\\x00\\x00\\x00'),)".to_string()
        )]
    );
}

/// `_parse_stub` of helpers.py run by `python` on a stub with this text: each function's
/// `[name, annotation]` pairs.
fn parse_stub_in(python: &Path, stub: &str) -> Json {
    let tmp = Project::new();
    let path = tmp.path().join("s.pyi");
    std::fs::write(&path, stub).unwrap();
    let program = concat!(
        "import json, sys\n",
        "exec(open(sys.argv[1]).read())\n",
        "print(json.dumps(_parse_stub(sys.argv[2])))\n"
    );
    let out = Command::new(python)
        .args(["-c", program])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/src/check/helpers.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", out.stderr_text());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stub_type_aliases_are_substituted_into_annotations() {
    let stub = r#"
import typing
from typing import Literal, TypeAlias, TypeVar
import numpy as np

T = TypeVar("T")
Num = int | float
Pair: TypeAlias = tuple[int, "Num"]
Opt = typing.Optional[Num]
Quoted: typing.TypeAlias = "list[Num]"
Lit = Literal["Num", 1]
Json: TypeAlias = dict[str, "Json"] | list["Json"] | str | int | float | bool | None
Doc = list[Json]
A = list["B"]
B = dict[str, A]
LIMIT = 3
Later = Num
Later = set[int]

def f(a: Pair, b: Opt, c: "dict[Num, Pair]", d: Lit, e: Json, g: Doc, h: A, i: np.int8,
      j: T, k: Num | None, l: Quoted, m: LIMIT, n: Later) -> None: ...
"#;
    let want = serde_json::json!({"f": [
        ["a", "tuple[int, int | float]"],
        ["b", "typing.Optional[int | float]"],
        ["c", "dict[int | float, tuple[int, int | float]]"],
        ["d", "Literal['Num', 1]"],
        ["e", "Json"],
        ["g", "list[Json]"],
        ["h", "A"],
        ["i", "np.int8"],
        ["j", "T"],
        ["k", "int | float | None"],
        ["l", "list[int | float]"],
        ["m", "LIMIT"],
        ["n", "set[int]"],
    ]});
    assert_eq!(parse_stub_in(&venv_python(), stub), want);
    // `type X = ...` (3.12+), on the free-threaded 3.13; generic ones are left alone.
    let stub = "type Num = int | float\ntype Rec = list[Rec] | int\ntype G[T] = list[T]\n\
        def f(a: list[Num], b: Rec, c: G[int]) -> None: ...\n";
    assert_eq!(
        parse_stub_in(&crate::interpreters::ft_python(), stub),
        serde_json::json!({"f": [["a", "list[int | float]"], ["b", "Rec"], ["c", "G[int]"]]})
    );
}
