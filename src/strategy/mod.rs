//! proptest strategies that generate the value model, one family per file.
//!
//! For users' property tests and for every pyz3 command that needs inputs. Every strategy yields
//! [`crate::value::Value`] (or, in [`typed`], Rust types that convert to Python), needs no GIL,
//! is deterministic for a fixed seed, draws edge values on purpose and shrinks toward the simplest
//! failing input. [`from_type`] builds a strategy from a Python type expression.

pub mod annotation;
pub mod any;
mod array_shrink;
pub mod bigint;
pub mod buffer;
pub mod collections;
pub mod container;
pub mod datetime;
pub mod enums;
pub mod hostile;
pub mod leaf;
pub mod numbers;
pub mod numpy;
pub mod rng;
pub mod scalar;
pub mod seeded;
pub mod shape;
mod size;
pub mod text;
pub mod typed;
pub mod value_strategy;

pub use annotation::{from_type, from_type_expr, Registry, TypeStrategy};
pub use any::{any_value, hashable};
pub use seeded::{seeded_runner, seeded_runner_with};
pub use shape::{ArrayKind, Shape};
pub(crate) use size::w;
pub use size::{Size, LEAF_BUDGET};

pub use value_strategy::ValueStrategy;
