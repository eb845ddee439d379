//! Generation throughput: values generated and turned into live Python objects, per shape.
//!
//! For each shape three figures: `generate` (value model only, no Python), `generate+convert`
//! (what a property test pays per case), and `floor` (the same Python objects built through pyo3
//! from values already in memory: the cost no generator can go below). The side-by-side figures
//! against Hypothesis come from `benches/compare_hypothesis.py`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use proptest::strategy::{Strategy, ValueTree};
use pyz3::strategy::from_type;

const SHAPES: &[(&str, &str)] = &[
    (
        "nested",
        "list[dict[str, list[int | float | str]] | collections.Counter[str] | collections.deque[int]]",
    ),
    ("float64_arrays", "numpy.typing.NDArray[numpy.float64]"),
    ("int64_arrays", "numpy.typing.NDArray[numpy.int64]"),
    ("int", "int"),
    ("list_int", "list[int]"),
];

fn bench(c: &mut Criterion) {
    if std::env::var_os("VIRTUAL_ENV").is_none() && std::env::var_os("PYZ3_VENV").is_none() {
        // SAFETY: before the interpreter starts, single-threaded.
        unsafe { std::env::set_var("PYZ3_VENV", concat!(env!("CARGO_MANIFEST_DIR"), "/.venv")) };
    }
    pyz3::py::init();
    for (name, expr) in SHAPES {
        let strategy = from_type(expr).expect("benchmark type expressions parse");
        let mut group = c.benchmark_group(*name);
        group.throughput(Throughput::Elements(1));
        let mut runner = pyz3::sample::seeded_runner(1);
        group.bench_function("generate", |b| {
            b.iter(|| strategy.generate(&mut runner).unwrap())
        });
        let mut runner = pyz3::sample::seeded_runner(4);
        group.bench_function("generate_tree", |b| {
            b.iter(|| strategy.new_tree(&mut runner).unwrap().current())
        });
        let mut runner = pyz3::sample::seeded_runner(2);
        pyz3::py::with_python(|py| {
            group.bench_function("generate+convert", |b| {
                b.iter(|| {
                    strategy
                        .generate(&mut runner)
                        .unwrap()
                        .to_python(py)
                        .unwrap()
                })
            });
            let values: Vec<_> = pyz3::sample::sample(&strategy, 1000, 3).collect();
            let mut i = 0;
            group.bench_function("floor", |b| {
                b.iter_batched(
                    || {
                        i = (i + 1) % values.len();
                        &values[i]
                    },
                    |v| v.to_python(py).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
