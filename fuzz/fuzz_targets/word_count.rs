//! `word_count(s: str) -> dict[str, int]`: correct, so a run finds nothing; the property checks
//! that the counts add up to the number of words.
#![no_main]
pyz3::fuzz_target!(
    module: "pyz3_demo",
    function: "word_count",
    args: ["str"],
    link: pyz3_demo,
    property: "exception is not None or sum(result.values()) == len(arg0.split())",
);
