//! Pickle throughput for typical argument tuples: written by Rust, read by CPython.
//!
//! For each tuple three figures: `to_pickle` (Rust writes the bytes of the argument tuple),
//! `pickle.loads` (CPython rebuilds the objects from them, helper module installed) and, for
//! scale, `to_python` (the embedded interpreter builds the same objects directly).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyModule, PyTuple};
use pyz3::value::*;

fn cases() -> Vec<(&'static str, Vec<Value>)> {
    let ints = Value::List((0..8).map(|i| Value::int(i * 1_000_003 - 4)).collect());
    let dict = Value::Dict(
        (0..8)
            .map(|k| {
                let floats = (0..8).map(|i| Value::Float(k as f64 * 0.37 + i as f64 / 3.0));
                (
                    Value::str(&format!("key{k}")),
                    Value::List(floats.collect()),
                )
            })
            .collect(),
    );
    let array = Value::Array(NdArray {
        dtype: DType::native(DKind::Float(8)),
        shape: vec![100],
        data: ArrayData::Float((0..100).map(|i| i as f64 * 0.5).collect()),
        layout: Layout::Contiguous(Order::C),
        writeable: true,
    });
    vec![
        ("list_of_8_ints", vec![ints]),
        ("dict_str_list_float", vec![dict]),
        ("float64_array_100", vec![array]),
    ]
}

fn bench(c: &mut Criterion) {
    if std::env::var_os("VIRTUAL_ENV").is_none() && std::env::var_os("PYZ3_VENV").is_none() {
        // SAFETY: before the interpreter starts, single-threaded.
        unsafe { std::env::set_var("PYZ3_VENV", concat!(env!("CARGO_MANIFEST_DIR"), "/.venv")) };
    }
    pyz3::py::init();
    for (name, args) in cases() {
        let mut group = c.benchmark_group(format!("pickle/{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("to_pickle", |b| b.iter(|| args_pickle(&args).unwrap()));
        let bytes = args_pickle(&args).unwrap();
        pyz3::py::with_python(|py| {
            let m = PyModule::new(py, PICKLE_HELPERS_MODULE).unwrap();
            let code = std::ffi::CString::new(PICKLE_HELPERS).unwrap();
            py.run(&code, Some(&m.dict()), None).unwrap();
            py.import("sys")
                .unwrap()
                .getattr("modules")
                .unwrap()
                .set_item(PICKLE_HELPERS_MODULE, m)
                .unwrap();
            let loads = py.import("pickle").unwrap().getattr("loads").unwrap();
            let data = PyBytes::new(py, &bytes);
            group.bench_function("pickle.loads", |b| {
                b.iter(|| loads.call1((&data,)).unwrap())
            });
            group.bench_function("to_python", |b| {
                b.iter(|| PyTuple::new(py, args.iter().map(|a| a.to_python(py).unwrap())).unwrap())
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
