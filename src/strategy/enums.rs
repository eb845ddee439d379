//! Strategies for enum members: of a user's `Enum` class, and of generated Enum/IntEnum/Flag classes.

use std::sync::Arc;

use proptest::prelude::*;
#[cfg(feature = "embed")]
use pyo3::prelude::*;

use super::ValueStrategy;
use crate::value::{EnumClass, EnumKind, EnumMember, GeneratedEnum, MemberRef, Value};

const NAMES: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

/// A generated enum class definition of the given kind with 1..=6 members.
pub fn generated_enum(kind: EnumKind) -> BoxedStrategy<Arc<GeneratedEnum>> {
    (1usize..=NAMES.len(), 0u8..4)
        .prop_map(move |(n, name)| {
            let members = (0..n)
                .map(|i| {
                    let v = match kind {
                        EnumKind::Flag => 1i64 << i,
                        _ => i as i64 + 1,
                    };
                    (NAMES[i].to_string(), v)
                })
                .collect();
            Arc::new(GeneratedEnum {
                name: format!("{}{}", kind.python_name(), name),
                kind,
                members,
            })
        })
        .boxed()
}

/// Members of generated Enum, IntEnum and Flag classes (Flag values include combinations and 0).
pub fn generated_member() -> ValueStrategy {
    members_of_kinds(vec![EnumKind::Enum, EnumKind::IntEnum, EnumKind::Flag])
}

/// Members of generated classes of one kind (`enum.IntEnum` gives IntEnum members only).
pub fn generated_member_of(kind: EnumKind) -> ValueStrategy {
    members_of_kinds(vec![kind])
}

fn members_of_kinds(kinds: Vec<EnumKind>) -> ValueStrategy {
    let kind = proptest::sample::select(kinds);
    (kind.prop_flat_map(generated_enum), any::<u64>())
        .prop_map(|(def, pick)| {
            let n = def.members.len();
            let member = if def.kind == EnumKind::Flag && pick % 3 == 0 {
                let mask = (pick >> 2) as i64 & ((1i64 << n) - 1);
                match def.members.iter().find(|m| m.1 == mask) {
                    Some(m) => MemberRef::Name(m.0.clone()),
                    None => MemberRef::Value(mask),
                }
            } else {
                MemberRef::Name(def.members[(pick as usize) % n].0.clone())
            };
            Value::Enum(EnumMember {
                class: EnumClass::Generated(def),
                member,
            })
        })
        .boxed()
        .into()
}

#[cfg(feature = "embed")]
/// Members of a user's enum class, given as `module:Class` or `module.Class`.
///
/// Reads the member names once (with the GIL); the strategy itself needs no Python.
pub fn member_of(py: Python<'_>, path: &str) -> PyResult<ValueStrategy> {
    let (module, qualname) = match path.split_once(':') {
        Some((m, q)) => (m.to_string(), q.to_string()),
        None => {
            let (m, q) = path.rsplit_once('.').ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "enum class `{path}` must be written module:Class or module.Class"
                ))
            })?;
            (m.to_string(), q.to_string())
        }
    };
    let class = EnumClass::User { module, qualname };
    let cls = class.class(py)?;
    // Aliases (`B = A`) are skipped: `Cls['B']` is the member named `A`.
    let mut names = Vec::new();
    for item in cls
        .getattr("__members__")?
        .call_method0("items")?
        .try_iter()?
    {
        let (name, member): (String, Bound<'_, PyAny>) = item?.extract()?;
        if member
            .getattr("_name_")?
            .extract::<Option<String>>()?
            .as_deref()
            == Some(&name)
        {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "enum class `{path}` has no members"
        )));
    }
    Ok(proptest::sample::select(names)
        .prop_map(move |n| {
            Value::Enum(EnumMember {
                class: class.clone(),
                member: MemberRef::Name(n),
            })
        })
        .boxed()
        .into())
}
