//! `null_without_error(x: int)`: planted NULL return without an exception for `x >= 7`,
//! reported as a `system-error` finding.
#![no_main]
pyz3::fuzz_target!(
    module: "pyz3_demo",
    function: "null_without_error",
    args: ["int"],
    link: pyz3_demo,
);
