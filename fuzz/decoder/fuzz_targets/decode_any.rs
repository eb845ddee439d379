//! Fuzzes pyz3's own decoder: any bytes must decode, for the any-value shape, into a value that
//! converts to a Python object and back to an equal value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pyz3::strategy::Shape;

pyz3::asan_defaults!();

fuzz_target!(|data: &[u8]| {
    let mut r = pyz3::fuzz::Reader::new(data);
    let value = pyz3::fuzz::decode::decode(&Shape::Any, &mut r);
    pyz3::py::with_python(|py| {
        let obj = value.to_python(py).expect("every decoded value converts to Python");
        let back = pyz3::value::Value::from_python(&obj).expect("and back");
        assert_eq!(back, value, "round trip through Python");
    });
});
