//! The input type of a pyz3 fuzz target.
//!
//! For [`fuzz_target!`](crate::fuzz_target) (behind the `embed` feature): what `cargo fuzz run`
//! and `cargo fuzz fmt` print for a failing input is the decoded call as Python source.

use super::decode::decode_args_with;

/// A fuzz input: the raw bytes (borrowed from libFuzzer's buffer: no copy per input), whose
/// `Debug` is the decoded call as Python source (what `cargo fuzz run` and `cargo fuzz fmt`
/// print for a failing input).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Input<'a>(pub &'a [u8]);

impl<'a> arbitrary::Arbitrary<'a> for Input<'a> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.bytes(u.len())?))
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.take_rest()))
    }
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::runtime::TARGET.with(|cell| match cell.get() {
            Some(t) => {
                let args = decode_args_with(&t.shapes, self.0, !t.spec.no_hostile);
                let (call, imports) = t.spec.call_source(&args);
                for i in imports {
                    writeln!(f, "import {i}")?;
                }
                write!(f, "{call}")
            }
            None => write!(f, "{:?}", self.0),
        })
    }
}
