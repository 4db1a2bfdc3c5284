//! Property tests of every resource's and data source's validation against arbitrary
//! Terraform values of its schema's type: huge, fractional and negative numbers, odd strings,
//! nulls and unknowns anywhere. Validation must never panic and never report a provider bug:
//! whatever Terraform can send gets diagnostics at its attributes.

use proptest::prelude::*;

use super::georep_config_data_source::GeoRepConfigDataSource;
use super::georep_location_resource::GeoRepLocationResource;
use super::georep_site_manifests_data_source::GeoRepSiteManifestsDataSource;
use super::georep_site_resource::GeoRepSiteResource;
use super::georep_upgrade_resource::GeoRepUpgradeResource;
use super::provider_data::ProviderData;
use crate::framework::{DataSource, Resource};
use crate::tfvalue::{Diagnostics, Number, Type, Value};

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Number(Number::from_i64(0))),
        Just(Value::Number(Number::from_i64(-1))),
        Just(Value::Number(Number::from_i64(443))),
        Just(Value::Number(Number::from_i64(65_536))),
        Just(Value::Number(Number::from_i64(i64::MAX))),
        Just(Value::Number(Number::from_i64(i64::MIN))),
        Just(Value::Number(Number::from_u64(u64::MAX))),
        Just(Value::Number(Number::from_f64(0.5))),
        Just(Value::Number(Number::from_f64(1e30))),
        Just(Value::Number(Number::from_f64(-1e300))),
        any::<i64>().prop_map(|i| Value::Number(Number::from_i64(i))),
    ]
}

fn arb_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(String::new()),
        Just("99999999999999999999h".to_owned()),
        Just("18446744073709551615s".to_owned()),
        Just("1h".to_owned()),
        Just("olm".to_owned()),
        Just("deployment".to_owned()),
        Just("us_east".to_owned()),
        Just("us_east/quay/registry".to_owned()),
        Just("3.15.7".to_owned()),
        Just("3.15".to_owned()),
        Just("/".to_owned()),
        Just("../..".to_owned()),
        Just("quay.example.com:99999".to_owned()),
        Just("postgresql://u:p@h:5432/d".to_owned()),
        Just("postgresql://u:p/?#@h/".to_owned()),
        Just("https://clair.example.com".to_owned()),
        Just("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_owned()),
        Just("é€😀\u{0}".to_owned()),
        "[ -~]{0,24}",
    ]
    .prop_map(Value::String)
}

fn arb_leaf(ty: &Type) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().boxed(),
        Type::String => arb_string().boxed(),
        _ => prop_oneof![
            arb_string().prop_map(|s| Value::Dynamic(Type::String, Box::new(s))),
            arb_number().prop_map(|n| Value::Dynamic(Type::Number, Box::new(n))),
        ]
        .boxed(),
    }
}

/// A value of type `ty`, with nulls and unknowns at any level.
fn arb_value(ty: &Type) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::List(inner) => proptest::collection::vec(arb_value(inner), 0..3)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(inner) => proptest::collection::vec(arb_value(inner), 0..3)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(inner) => proptest::collection::btree_map("[a-z_]{0,8}", arb_value(inner), 0..3)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attributes) => {
            let mut object: BoxedStrategy<Vec<(String, Value)>> = Just(Vec::new()).boxed();
            for (name, ty) in attributes {
                let name = name.clone();
                object = (object, arb_value(ty))
                    .prop_map(move |(mut fields, value)| {
                        fields.push((name.clone(), value));
                        fields
                    })
                    .boxed();
            }
            object
                .prop_map(|fields| Value::Object(fields.into_iter().collect()))
                .boxed()
        }
        Type::Tuple(items) => {
            let mut tuple: BoxedStrategy<Vec<Value>> = Just(Vec::new()).boxed();
            for ty in items {
                tuple = (tuple, arb_value(ty))
                    .prop_map(|(mut values, value)| {
                        values.push(value);
                        values
                    })
                    .boxed();
            }
            tuple.prop_map(Value::Tuple).boxed()
        }
        leaf => arb_leaf(leaf),
    };
    prop_oneof![
        1 => Just(Value::Null),
        1 => Just(Value::Unknown),
        6 => known,
    ]
    .boxed()
}

fn assert_no_provider_bug(diags: &Diagnostics, what: &str) {
    for diag in diags.iter() {
        assert!(
            !diag.summary.starts_with("Provider Bug"),
            "{what}: {}: {}",
            diag.summary,
            diag.detail
        );
    }
}

/// Validation, then (when it passed) what plan and apply read from the same value.
fn check_resource(resource: &dyn Resource<ProviderData>, config: &Value) {
    let mut diags = Diagnostics::default();
    resource.validate(config, &mut diags);
    assert_no_provider_bug(&diags, resource.type_name());
}

fn check_data_source(source: &dyn DataSource<ProviderData>, config: &Value) {
    let mut diags = Diagnostics::default();
    source.validate(config, &mut diags);
    assert_no_provider_bug(&diags, source.type_name());
}

fn value_of(schema: &crate::tfvalue::Schema) -> BoxedStrategy<Value> {
    match schema.block.value_type() {
        Type::Object(attributes) => arb_value(&Type::Object(attributes))
            .prop_filter("a configuration is an object", |v| {
                matches!(v, Value::Object(_))
            })
            .boxed(),
        other => arb_value(&other),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_shared_config_value_gets_diagnostics_not_a_panic(
        config in value_of(&GeoRepConfigDataSource.schema())
    ) {
        check_data_source(&GeoRepConfigDataSource, &config);
    }

    #[test]
    fn any_site_value_gets_diagnostics_not_a_panic(
        config in value_of(&GeoRepSiteResource.schema())
    ) {
        check_resource(&GeoRepSiteResource, &config);
        let mut diags = Diagnostics::default();
        let _ = super::georep_site_model::site(
            &config,
            None,
            super::georep_site_model::Warnings::Report,
            &mut diags,
        );
        assert_no_provider_bug(&diags, "quay_georep_site");
    }

    #[test]
    fn any_site_manifests_value_gets_diagnostics_not_a_panic(
        config in value_of(&GeoRepSiteManifestsDataSource.schema())
    ) {
        check_data_source(&GeoRepSiteManifestsDataSource, &config);
    }

    #[test]
    fn any_upgrade_value_gets_diagnostics_not_a_panic(
        config in value_of(&GeoRepUpgradeResource.schema())
    ) {
        check_resource(&GeoRepUpgradeResource, &config);
        let _ = super::timeouts::get(
            &config,
            super::timeouts::Operation::Create,
            std::time::Duration::from_secs(1),
        );
    }

    #[test]
    fn any_location_value_gets_diagnostics_not_a_panic(
        config in value_of(&GeoRepLocationResource::ADD.schema())
    ) {
        check_resource(&GeoRepLocationResource::ADD, &config);
    }

    #[test]
    fn any_location_removal_value_gets_diagnostics_not_a_panic(
        config in value_of(&GeoRepLocationResource::REMOVE.schema())
    ) {
        check_resource(&GeoRepLocationResource::REMOVE, &config);
    }
}
