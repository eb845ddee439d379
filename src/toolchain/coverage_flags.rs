//! The compiler flags of a coverage build.
//!
//! For `project::build` (which passes them) and `coverage` (which reads what they
//! produce): Rust uses LLVM source-based coverage, C clang's or gcc's gcov.

/// `RUSTFLAGS` for a coverage build of a Rust crate: counters relocated at run time, so they
/// are kept in the profile file as they change (a crash loses nothing).
pub const RUST_FLAGS: [&str; 2] = [
    "-Cinstrument-coverage",
    "-Cllvm-args=-runtime-counter-relocation",
];

/// `CFLAGS` and `LDFLAGS` for a coverage build of C: clang's source-based coverage in
/// continuous mode, or gcc's gcov. Both without optimization, so lines map to code.
pub fn c_flags(clang: bool) -> (Vec<String>, Vec<String>) {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if clang {
        (
            strings(&[
                "-O0",
                "-g",
                "-fprofile-instr-generate",
                "-fcoverage-mapping",
                "-mllvm",
                "-runtime-counter-relocation",
            ]),
            strings(&["-fprofile-instr-generate"]),
        )
    } else {
        (
            strings(&["-O0", "-g", "--coverage"]),
            strings(&["--coverage"]),
        )
    }
}
