//! `parse_string(s: str)`: the demo's recursive-descent parser. Planted defect: a segfault on an
//! object key "\x00pyz3" nested three containers deep. Ordinary `ValueError`s are not findings.
#![no_main]
pyz3::fuzz_target!(
    module: "pyz3_demo",
    function: "parse_string",
    args: ["str"],
    link: pyz3_demo,
);
