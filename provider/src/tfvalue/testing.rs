//! proptest strategies for types and values, shared by the tests of this crate.
//!
//! [`arb_type`] generates types of bounded depth; [`arb_value`] generates values that conform
//! to a given type, with null (and, if asked, unknown) at any depth and every number
//! representation (integers, floats, infinities, long decimals). Test-only: not compiled into
//! the provider.

use proptest::prelude::*;

use super::number::Number;
use super::types::Type;
use super::value::Value;

/// Any type, up to three levels of nesting.
pub(crate) fn arb_type() -> BoxedStrategy<Type> {
    arb_type_with(true)
}

/// Any type; without `dynamic` anywhere when `dynamic` is false.
pub(crate) fn arb_type_with(dynamic: bool) -> BoxedStrategy<Type> {
    let leaf = if dynamic {
        prop_oneof![
            Just(Type::Bool),
            Just(Type::Number),
            Just(Type::String),
            Just(Type::Dynamic)
        ]
        .boxed()
    } else {
        prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String)].boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            proptest::collection::btree_map("[a-z_]{1,6}", inner.clone(), 0..4)
                .prop_map(Type::Object),
            proptest::collection::vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
    .boxed()
}

/// Any number cty can hold (no NaN).
pub(crate) fn arb_number() -> BoxedStrategy<Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from_i64),
        any::<u64>().prop_map(Number::from_u64),
        any::<f64>()
            .prop_filter("cty has no NaN", |f| !f.is_nan())
            .prop_map(Number::from_f64),
        Just(Number::from_f64(f64::INFINITY)),
        Just(Number::from_f64(f64::NEG_INFINITY)),
        "-?[0-9]{1,30}(\\.[0-9]{1,30})?(e-?[0-9]{1,3})?"
            .prop_map(|text| text.parse::<Number>().expect("the pattern is decimal text")),
    ]
    .boxed()
}

/// A value conforming to `ty`: null, unknown (when `unknowns`), or a known value whose parts
/// are again any of these.
pub(crate) fn arb_value(ty: Type, unknowns: bool) -> BoxedStrategy<Value> {
    let known = arb_known_value(ty, unknowns, 2);
    if unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn arb_nested(ty: &Type, unknowns: bool, dynamic_budget: u32) -> BoxedStrategy<Value> {
    let known = arb_known_value(ty.clone(), unknowns, dynamic_budget);
    if unknowns {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

/// A known, non-null value of `ty`; `dynamic_budget` bounds how often a dynamic value may
/// carry a type that is itself dynamic somewhere.
fn arb_known_value(ty: Type, unknowns: bool, dynamic_budget: u32) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => ".{0,8}".prop_map(Value::String).boxed(),
        Type::Dynamic => arb_type_with(dynamic_budget > 0)
            .prop_filter("a dynamic value carries a concrete type", |t| {
                *t != Type::Dynamic
            })
            .prop_flat_map(move |concrete| {
                let budget = dynamic_budget.saturating_sub(1);
                arb_known_value(concrete.clone(), unknowns, budget)
                    .prop_map(move |v| Value::Dynamic(concrete.clone(), Box::new(v)))
            })
            .boxed(),
        Type::List(elem) => {
            proptest::collection::vec(arb_nested(&elem, unknowns, dynamic_budget), 0..4)
                .prop_map(Value::List)
                .boxed()
        }
        Type::Set(elem) => {
            proptest::collection::vec(arb_nested(&elem, unknowns, dynamic_budget), 0..4)
                .prop_map(Value::Set)
                .boxed()
        }
        Type::Map(elem) => proptest::collection::btree_map(
            ".{0,4}",
            arb_nested(&elem, unknowns, dynamic_budget),
            0..4,
        )
        .prop_map(Value::Map)
        .boxed(),
        Type::Object(attrs) => attrs
            .into_iter()
            .map(|(name, attr_ty)| {
                arb_nested(&attr_ty, unknowns, dynamic_budget)
                    .prop_map(move |v| (name.clone(), v))
                    .boxed()
            })
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
            .boxed(),
        Type::Tuple(elems) => elems
            .iter()
            .map(|t| arb_nested(t, unknowns, dynamic_budget))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
    }
}

mod tests {
    use super::*;

    proptest! {
        #[test]
        fn generated_values_conform_to_their_type(
            (ty, value) in arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t, true)))
        ) {
            prop_assert!(value.conforms_to(&ty).is_ok(), "{value:?} vs {ty:?}");
        }
    }
}
