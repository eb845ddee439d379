//! `leak_reference(xs: list[int])`: planted reference leak, reported as a `refcount` finding.
#![no_main]
pyz3::fuzz_target!(
    module: "pyz3_demo",
    function: "leak_reference",
    args: ["list[int]"],
    link: pyz3_demo,
);
