//! What to call: one extension function, where it is, how its parameters are typed and what is
//! declared about it.
//!
//! For every capability that calls a function of the module under test: the checker
//! ([`crate::check`], whose worker setup is built from it), the fuzzer ([`crate::fuzz`], which
//! passes it to its targets as JSON and keeps it beside each artifact) and the reproducer writer
//! ([`crate::report::repro`]). A target says nothing of how it is run (cases, time limits,
//! interpreter): those are each capability's options.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::strategy::{Registry, Shape, Size, ValueStrategy};
use crate::value::Value;

/// One function to call: where it is, its parameters, and what is declared about it.
///
/// Serialized (for fuzz targets, artifact sidecars and the checker's worker) without the parts
/// that only live in this process ([`Target::strategies`], [`Target::rust_property`]); fields
/// left at their defaults are omitted, and missing ones read as defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Target {
    /// Module to import (`pkg.mod`).
    pub module: String,
    /// Directory to put first on `sys.path` (for a module given as a file path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The callable's name in the module (dotted for attributes of classes).
    pub function: String,
    /// Parameter names, in order (for messages and reproducers).
    #[serde(default)]
    pub param_names: Vec<String>,
    /// One type expression per parameter (`"str"`, `"list[int]"`, ...).
    #[serde(default)]
    pub param_types: Vec<String>,
    /// How many of the last parameters have defaults: checked cases pass none, some or all of
    /// them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub optional: usize,
    /// `module:callable` computing the expected result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oracle: Option<String>,
    /// Python expression that must hold (names: parameters, `args`, `result`, `exception`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Declared to mutate its arguments.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mutates: bool,
    /// Declared nondeterministic.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nondeterministic: bool,
    /// Relative and absolute tolerance for float comparisons with the oracle.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub float_tolerance: f64,
    /// Skip the reference-count check.
    #[serde(default)]
    pub no_refcount: bool,
    /// `pyz3 fuzz`: inputs never select hostile values (`--no-hostile`; see
    /// [`crate::fuzz::decode::decode_args_with`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_hostile: bool,
    /// A property written in Rust: given the arguments and what the call returned (or raised),
    /// `Err(message)` is a `property-failed` finding. The checker runs it in the calling
    /// process's embedded interpreter, after the worker has run the same case safely; cases are
    /// then sent one by one. (Feature `embed`; not serialized.)
    #[cfg(feature = "embed")]
    #[serde(skip)]
    pub rust_property: Option<RustProperty>,
    /// Strategies for the arguments, overriding `param_types` (any [`ValueStrategy`] works:
    /// the checker generates cases here either way). Not serialized.
    #[serde(skip)]
    pub strategies: Option<Vec<ValueStrategy>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

impl Target {
    /// A target calling `module.function` with arguments of the given type expressions
    /// (parameters named `arg0`, `arg1`, ...).
    pub fn new(module: &str, function: &str, types: &[&str]) -> Self {
        Target {
            module: module.into(),
            function: function.into(),
            param_names: (0..types.len()).map(|i| format!("arg{i}")).collect(),
            param_types: types.iter().map(|t| t.to_string()).collect(),
            ..Target::default()
        }
    }

    /// Adds a property (see [`Target::property`]).
    pub fn with_property(mut self, expr: &str) -> Self {
        self.property = Some(expr.into());
        self
    }

    /// `module.function`: the name runs and directories are named after.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.module, self.function)
    }

    /// Whether `other` names the same function (module and function; the rest may differ).
    pub fn same_function(&self, other: &Target) -> bool {
        self.module == other.module && self.function == other.function
    }

    /// The argument shapes, with the warnings of any part that fell back to any value.
    pub fn shapes(&self) -> crate::Result<(Vec<Shape>, Vec<String>)> {
        let registry = Registry::new(Size::default());
        let mut shapes = Vec::new();
        let mut warnings = Vec::new();
        for t in &self.param_types {
            let (s, w) = registry.shape(t)?;
            shapes.push(s);
            warnings.extend(w);
        }
        Ok((shapes, warnings))
    }

    /// The call as Python source (`parse_string('[[{}]]')`) and the imports it needs.
    pub fn call_source(&self, args: &[Value]) -> (String, Vec<String>) {
        let mut imports = Vec::new();
        let parts: Vec<String> = args
            .iter()
            .map(|a| {
                let src = a.python_source();
                for i in src.imports {
                    if !imports.contains(&i) {
                        imports.push(i);
                    }
                }
                src.expr
            })
            .collect();
        let name = self.function.rsplit('.').next().unwrap_or(&self.function);
        (format!("{name}({})", parts.join(", ")), imports)
    }
}

#[cfg(feature = "embed")]
pub use rust_property::{RustProperty, RustPropertyFn};

#[cfg(feature = "embed")]
mod rust_property {
    use std::sync::Arc;

    use pyo3::prelude::*;

    use crate::value::Value;

    /// The signature of a Rust property.
    pub type RustPropertyFn = dyn for<'py> Fn(Python<'py>, &[Value], &PyResult<Bound<'py, PyAny>>) -> Result<(), String>
        + Send
        + Sync;

    /// A property written in Rust (see [`super::Target::rust_property`]).
    #[derive(Clone)]
    pub struct RustProperty(pub Arc<RustPropertyFn>);

    impl RustProperty {
        /// Wraps a closure: `Ok(())` when the property holds, `Err(why)` when it does not.
        pub fn new(
            f: impl for<'py> Fn(
                    Python<'py>,
                    &[Value],
                    &PyResult<Bound<'py, PyAny>>,
                ) -> Result<(), String>
                + Send
                + Sync
                + 'static,
        ) -> Self {
            RustProperty(Arc::new(f))
        }
    }

    impl std::fmt::Debug for RustProperty {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("RustProperty")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_fuzz_spec_json_reads_as_a_target() {
        // What `pyz3 fuzz` wrote into sidecars before targets were one type.
        let old = r#"{"module":"m","function":"f","param_names":["s"],"param_types":["str"],
                      "no_refcount":false}"#;
        let t: Target = serde_json::from_str(old).unwrap();
        assert_eq!((t.module.as_str(), t.function.as_str()), ("m", "f"));
        assert_eq!(t.param_types, ["str"]);
        assert!(t.oracle.is_none() && !t.mutates && t.optional == 0);
    }

    #[test]
    fn defaults_are_left_out_and_set_fields_round_trip() {
        let t = Target::new("m", "f", &["int"]).with_property("result is None");
        let json = serde_json::to_string(&t).unwrap();
        assert!(
            !json.contains("oracle") && !json.contains("mutates"),
            "{json}"
        );
        let back: Target = serde_json::from_str(&json).unwrap();
        assert_eq!(back.property.as_deref(), Some("result is None"));
        assert_eq!(back.param_names, ["arg0"]);
    }
}
