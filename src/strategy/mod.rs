//! proptest strategies that generate the value model, one family per file.
//!
//! For users' property tests and for every pyz3 command that needs inputs. Every strategy yields
//! [`crate::value::Value`] (or, in [`typed`], Rust types that convert to Python), needs no GIL,
//! is deterministic for a fixed seed, draws edge values on purpose and shrinks toward the simplest
//! failing input. [`from_type`] builds a strategy from a Python type expression.

pub mod annotation;
pub mod any;
pub mod bigint;
pub mod collections;
pub mod container;
pub mod datetime;
pub mod enums;
pub mod numbers;
pub mod numpy;
pub mod scalar;
mod size;
pub mod text;
pub mod typed;

pub use annotation::{from_type, from_type_expr, Registry, TypeStrategy};
pub use any::{any_value, hashable};
pub use size::Size;

/// The type every value strategy has: boxed, so strategies compose freely.
pub type ValueStrategy = proptest::strategy::BoxedStrategy<crate::value::Value>;

/// A union weight that is never zero.
pub(crate) fn w(x: u32) -> u32 {
    x.max(1)
}
