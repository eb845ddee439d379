//! Checking a whole module: what `pyz3 check MODULE` does between reading its options and
//! printing the report.
//!
//! [`ModulePlan::discover`] imports the module and lists its callables; [`ModulePlan::validate`]
//! refuses options naming callables the module lacks and starts every oracle and property once,
//! so a typo costs no work; [`ModulePlan::run`] checks each function with
//! [`check_function`](super::check_function), one failure never costing the others' findings.
//! Notes, warnings, per-function errors and each function's progress go to a
//! [`Progress`]; nothing is printed here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::discover::{describe, Discovery, ModuleSpec};
use super::runner::{check_function, import_limit, run_report, validate, CheckOptions};
use super::FunctionReport;
use crate::report::{printable, Progress, RunReport};
use crate::target::Target;
use crate::Error;

/// What to check in a module, and how each function is to be judged.
#[derive(Clone, Debug)]
pub struct ModulePlan {
    /// The module (its name, and the directory of a module given as a file).
    pub spec: ModuleSpec,
    /// What discovery found in it.
    pub found: Discovery,
    /// The functions to check; empty for every function discovery found.
    pub wanted: Vec<String>,
    /// Oracles by function name (`module:callable`).
    pub oracles: BTreeMap<String, String>,
    /// Properties by function name (Python expressions).
    pub properties: BTreeMap<String, String>,
    /// Functions that mutate their arguments by design.
    pub mutates: Vec<String>,
    /// Functions whose results may differ between identical calls.
    pub nondeterministic: Vec<String>,
    /// Relative tolerance for float comparisons against oracles.
    pub float_tolerance: f64,
}

/// What checking a module gave.
#[derive(Debug, Default)]
pub struct ModuleRun {
    /// One report per function checked.
    pub reports: Vec<FunctionReport>,
    /// Functions whose check failed (pyz3 could not run it), with the reason.
    pub failed: Vec<(String, Error)>,
}

impl ModulePlan {
    /// Imports the module in `options.interpreter` (within the import limit) and lists its
    /// callables, with signatures from `stubs` when given. `wanted` functions are listed even
    /// when their names start with `_`; naming one the module lacks is an error.
    pub fn discover(
        mut spec: ModuleSpec,
        wanted: Vec<String>,
        stubs: Option<&Path>,
        options: &CheckOptions,
    ) -> crate::Result<ModulePlan> {
        spec.include = wanted.clone();
        let found = describe(&options.interpreter, &spec, stubs, import_limit(options))?;
        let plan = ModulePlan {
            spec,
            found,
            wanted,
            oracles: BTreeMap::new(),
            properties: BTreeMap::new(),
            mutates: Vec::new(),
            nondeterministic: Vec::new(),
            float_tolerance: 0.0,
        };
        for w in &plan.wanted {
            plan.require(w, |known| {
                format!(
                    "`{}` has no callable `{w}` (it has: {})",
                    plan.spec.module,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            })?;
        }
        Ok(plan)
    }

    /// The names discovery found.
    pub fn known(&self) -> Vec<&str> {
        self.found
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .collect()
    }

    fn require(&self, name: &str, message: impl FnOnce(&[&str]) -> String) -> crate::Result<()> {
        let known = self.known();
        if known.contains(&name) {
            Ok(())
        } else {
            Err(Error::Usage(message(&known)))
        }
    }

    /// Where the module was imported from, so reproducers run from anywhere.
    pub fn import_root(&self) -> Option<PathBuf> {
        self.found.import_root(&self.spec)
    }

    /// Refuses options that name a callable the module does not have, and starts every oracle
    /// and property once: options that name code are checked before any function runs.
    pub fn validate(&self, options: &CheckOptions) -> crate::Result<()> {
        for name in self
            .oracles
            .keys()
            .chain(self.properties.keys())
            .chain(&self.mutates)
            .chain(&self.nondeterministic)
        {
            self.require(name, |_| {
                format!(
                    "option names `{name}`, which `{}` does not have",
                    self.spec.module
                )
            })?;
        }
        for info in &self.found.functions {
            if self.oracles.contains_key(&info.name) || self.properties.contains_key(&info.name) {
                let target = Target {
                    module: self.spec.module.clone(),
                    path: self.import_root(),
                    function: info.name.clone(),
                    oracle: self.oracles.get(&info.name).cloned(),
                    property: self.properties.get(&info.name).cloned(),
                    ..Target::default()
                };
                validate(&target, options)?;
            }
        }
        Ok(())
    }

    /// The targets to check, in discovery order. Functions without a signature, and those
    /// needing NumPy where it is not importable, are skipped with a warning.
    pub fn targets(&self, options: &CheckOptions, progress: &mut dyn Progress) -> Vec<Target> {
        let import_root = self.import_root();
        let numpy = options.interpreter.numpy;
        let mut numpy_warned = false;
        let mut out = Vec::new();
        for info in &self.found.functions {
            if !self.wanted.is_empty() && !self.wanted.contains(&info.name) {
                continue;
            }
            // The name as the terminal shows it: a target's names may hold escape sequences.
            let shown = printable(&info.name);
            let Some(params) = &info.params else {
                progress.warn(&format!("{shown}: signature unknown, skipped (add a stub)"));
                continue;
            };
            let params: Vec<(String, Option<String>)> =
                params.iter().chain(&info.optional).cloned().collect();
            let untyped: Vec<&str> = params
                .iter()
                .filter(|p| p.1.is_none())
                .map(|p| p.0.as_str())
                .collect();
            if !untyped.is_empty() {
                progress.note(&format!(
                    "note: {shown}: no type for {} (from {}): generating any value; a stub \
                     narrows it",
                    printable(&untyped.join(", ")),
                    info.source
                ));
            }
            let param_names: Vec<String> = params.iter().map(|p| p.0.clone()).collect();
            let param_types: Vec<String> = params
                .iter()
                .map(|p| p.1.clone().unwrap_or_else(|| "Any".into()))
                .collect();
            if !numpy {
                match super::cases::numpy_use(&param_names, &param_types) {
                    Err(param) => {
                        progress.warn(&format!(
                            "{shown}: parameter `{}` is a NumPy array and NumPy is not \
                             importable in {}: skipped",
                            printable(&param),
                            options.interpreter.executable.display()
                        ));
                        continue;
                    }
                    Ok(true) if !numpy_warned => {
                        numpy_warned = true;
                        progress.warn(&format!(
                            "NumPy is not importable in {}: values for `Any` and buffer \
                             parameters include no arrays",
                            options.interpreter.executable.display()
                        ));
                    }
                    Ok(_) => {}
                }
            }
            let declared = self.nondeterministic.contains(&info.name);
            let random = !declared && random_by_name(&info.name);
            if random {
                progress.note(&format!(
                    "note: {shown}: random by its name: not checked for determinism (results of \
                     two equal calls may differ)"
                ));
            }
            out.push(Target {
                module: self.spec.module.clone(),
                path: import_root.clone(),
                function: info.name.clone(),
                param_names,
                param_types,
                optional: info.optional.len(),
                oracle: self.oracles.get(&info.name).cloned(),
                property: self.properties.get(&info.name).cloned(),
                mutates: info.mutating || self.mutates.contains(&info.name),
                nondeterministic: declared || random,
                float_tolerance: self.float_tolerance,
                ..Target::default()
            });
        }
        out
    }

    /// Checks every target in turn. Each function's cases are one progress step
    /// (`checking f (200 cases)`); its warnings go to `progress` as they come, and a function
    /// whose check fails is reported through [`Progress::error`] and kept in
    /// [`ModuleRun::failed`] while the others go on.
    pub fn run(&self, options: &CheckOptions, progress: &mut dyn Progress) -> ModuleRun {
        let mut run = ModuleRun::default();
        for target in self.targets(options, progress) {
            let shown = printable(&target.function);
            let total = options.cases;
            progress.start(
                &if options.threads > 0 {
                    format!(
                        "checking {shown} ({total} cases, then {} threads at once)",
                        options.threads
                    )
                } else {
                    format!("checking {shown} ({total} cases)")
                },
                Some(total),
            );
            let result = check_function(&target, options, &mut |done| {
                if done % 8 == 0 || done == total {
                    progress.advance(done);
                }
            });
            progress.finish();
            match result {
                Ok(report) => {
                    for w in &report.warnings {
                        progress.warn(&format!("{shown}: {}", printable(w)));
                    }
                    run.reports.push(report);
                }
                Err(e) => {
                    progress.error(&format!("{shown}: {}", printable(&format!("{e:#}"))));
                    run.failed.push((target.function.clone(), e));
                }
            }
        }
        run
    }

    /// The run report of `run` (not yet naming the interpreter: [`RunReport::ran_in`]); an
    /// error when nothing at all was checked, saying why.
    pub fn report(&self, run: &ModuleRun) -> crate::Result<RunReport> {
        if run.reports.is_empty() && run.failed.is_empty() {
            let functions = &self.found.functions;
            return Err(Error::Usage(format!(
                "no function of `{}` was checked: {}",
                self.spec.module,
                if functions.is_empty() {
                    "it has no public callable (name one with MODULE:FUNC or --function)"
                        .to_string()
                } else {
                    format!(
                        "none of its {} callables has a signature pyz3 can read (add a stub: \
                         --stubs)",
                        functions.len()
                    )
                }
            )));
        }
        Ok(run_report(&self.spec.module, &run.reports))
    }
}

/// Whether a function's name says its results are random (`urandom`, `random_k`, `randint`,
/// `shuffle`, `uuid4`): two equal calls are meant to differ, as if declared
/// `--nondeterministic`.
pub fn random_by_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let name = name.trim_start_matches('_');
    name.contains("random")
        || name.contains("shuffle")
        || name.starts_with("uuid")
        || name.starts_with("rand")
}
