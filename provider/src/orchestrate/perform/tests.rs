//! Tests of the component and operator edits the actions make.

use super::*;

#[test]
fn scale_down_keeps_other_overrides_and_unmanages_the_hpa() {
    let components = vec![
        json!({"kind": "quay", "managed": true, "overrides": {"replicas": 3, "env": [{"name": "A", "value": "b"}]}}),
        json!({"kind": "mirror", "managed": true}),
        json!({"kind": "postgres", "managed": false}),
        json!({"kind": "horizontalpodautoscaler", "managed": true}),
    ];
    let zero = BTreeMap::from([(Component::Quay, Some(0)), (Component::Mirror, Some(0))]);
    let edited = edited_components(&components, &zero, false);
    assert_eq!(edited[0]["overrides"]["replicas"], json!(0));
    assert_eq!(edited[0]["overrides"]["env"][0]["name"], json!("A"));
    assert_eq!(edited[1]["overrides"]["replicas"], json!(0));
    assert_eq!(edited[2], components[2]);
    assert_eq!(edited[3]["managed"], json!(false));
}

#[test]
fn restore_removes_replicas_that_were_absent() {
    let components = vec![json!({"kind": "quay", "managed": true, "overrides": {"replicas": 0}})];
    let original = BTreeMap::from([(Component::Quay, None)]);
    let edited = edited_components(&components, &original, true);
    assert_eq!(edited[0]["overrides"], json!({}));
    assert_eq!(
        edited[1],
        json!({"kind": "horizontalpodautoscaler", "managed": true})
    );
}

#[test]
fn operator_image_quay_version_and_component_images_are_set_on_the_operator_container() {
    let template = json!({"spec": {"containers": [
        {"name": "sidecar", "image": "s"},
        {"name": "quay-operator", "image": "old", "env": [
            {"name": "QUAY_VERSION", "value": "3.14.8"},
            {"name": "X", "value": "y"},
            {"name": "RELATED_IMAGE_COMPONENT_QUAY", "value": "quay.io/projectquay/quay:3.14.8"},
        ]},
    ]}});
    let images = RelatedImages::from([
        (
            "RELATED_IMAGE_COMPONENT_QUAY".to_owned(),
            "quay.io/projectquay/quay:3.15.7".to_owned(),
        ),
        (
            "RELATED_IMAGE_COMPONENT_CLAIR".to_owned(),
            "quay.io/projectquay/clair:4.8.0".to_owned(),
        ),
    ]);
    let edited = operator_template(&template, "new", "3.15.7", &images).unwrap();
    let containers = &edited["spec"]["containers"];
    assert_eq!(containers[0], template["spec"]["containers"][0]);
    assert_eq!(containers[1]["image"], json!("new"));
    assert_eq!(
        containers[1]["env"],
        json!([
            {"name": "QUAY_VERSION", "value": "3.15.7"},
            {"name": "X", "value": "y"},
            {"name": "RELATED_IMAGE_COMPONENT_QUAY", "value": "quay.io/projectquay/quay:3.15.7"},
            {"name": "RELATED_IMAGE_COMPONENT_CLAIR", "value": "quay.io/projectquay/clair:4.8.0"},
        ])
    );
    let empty = json!({"spec": {"containers": []}});
    assert!(operator_template(&empty, "new", "3.15.7", &images).is_none());
}

#[test]
fn a_quay_version_read_from_the_pod_annotation_is_set_there() {
    let template = json!({
        "metadata": {"annotations": {"quay-version": "3.14.8", "olm.targetNamespaces": ""}},
        "spec": {"containers": [{"name": "quay-operator", "image": "old", "env": [
            {"name": "QUAY_VERSION", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['quay-version']"}}},
        ]}]},
    });
    let edited = operator_template(&template, "new", "3.15.7", &RelatedImages::new()).unwrap();
    assert_eq!(
        edited["metadata"]["annotations"],
        json!({"quay-version": "3.15.7", "olm.targetNamespaces": ""})
    );
    assert_eq!(
        edited["spec"]["containers"][0]["env"],
        template["spec"]["containers"][0]["env"]
    );
}
