//! Unit tests of the store: resource versions, generations, finalizers, garbage collection
//! and continue tokens, on the store alone (no HTTP, no locks).

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;

fn store() -> Store {
    Store::new("site-a", 100)
}

fn builtin(store: &Store, group: &str, plural: &str) -> Arc<ResourceType> {
    let version = "v1";
    store
        .catalog
        .get(group, version, plural)
        .unwrap_or_else(|| panic!("built-in {plural}"))
}

fn configmaps(store: &Store) -> Arc<ResourceType> {
    builtin(store, "", "configmaps")
}

fn create_cm(store: &mut Store, name: &str, metadata: Value) -> Value {
    let t = configmaps(store);
    let mut meta = metadata;
    meta["name"] = json!(name);
    store
        .create(
            &t,
            "default",
            json!({"metadata": meta, "data": {"k": "v"}}),
            &WriteOptions::default(),
        )
        .unwrap()
}

fn rv(object: &Value) -> u64 {
    object::resource_version(object).parse().unwrap()
}

fn generation(object: &Value) -> i64 {
    object["metadata"]["generation"].as_i64().unwrap()
}

fn replace(
    store: &mut Store,
    t: &ResourceType,
    name: &str,
    body: Value,
    sub: Subresource,
) -> Value {
    store
        .replace(t, "default", name, body, sub, &WriteOptions::default())
        .unwrap()
        .0
}

#[test]
fn every_write_takes_the_next_resource_version_and_reads_take_none() {
    let mut store = store();
    let start = store.resource_version();
    let a = create_cm(&mut store, "a", json!({}));
    let b = create_cm(&mut store, "b", json!({}));
    assert_eq!((rv(&a), rv(&b)), (start + 1, start + 2));
    let t = configmaps(&store);
    store.get(&t, "default", "a").unwrap();
    store.list(&t, None, &ListOptions::default()).unwrap();
    assert_eq!(store.resource_version(), start + 2, "reads do not write");

    let mut changed = a.clone();
    changed["data"]["k"] = json!("w");
    let updated = replace(&mut store, &t, "a", changed, Subresource::Main);
    assert_eq!(rv(&updated), start + 3);
    let page = store
        .list(&t, Some("default"), &ListOptions::default())
        .unwrap();
    assert_eq!(
        page.resource_version,
        start + 3,
        "a list carries the current version"
    );
}

#[test]
fn a_no_op_replace_keeps_the_resource_version_and_a_stale_one_conflicts() {
    let mut store = store();
    let t = configmaps(&store);
    let a = create_cm(&mut store, "a", json!({}));
    let (same, changed) = store
        .replace(
            &t,
            "default",
            "a",
            a.clone(),
            Subresource::Main,
            &WriteOptions::default(),
        )
        .unwrap();
    assert!(!changed);
    assert_eq!(rv(&same), rv(&a));

    let mut first = a.clone();
    first["data"]["k"] = json!("w");
    replace(&mut store, &t, "a", first, Subresource::Main);
    let mut stale = a;
    stale["data"]["k"] = json!("x");
    let err = store
        .replace(
            &t,
            "default",
            "a",
            stale,
            Subresource::Main,
            &WriteOptions::default(),
        )
        .unwrap_err();
    assert_eq!(err.code(), 409, "{err:?}");
}

#[test]
fn dry_run_stores_nothing_and_takes_no_resource_version() {
    let mut store = store();
    let t = configmaps(&store);
    let before = store.resource_version();
    let dry = WriteOptions {
        dry_run: true,
        ..WriteOptions::default()
    };
    store
        .create(&t, "default", json!({"metadata": {"name": "a"}}), &dry)
        .unwrap();
    assert_eq!(store.resource_version(), before);
    assert_eq!(store.get(&t, "default", "a").unwrap_err().code(), 404);
}

#[test]
fn generation_moves_on_spec_changes_only() {
    let mut store = store();
    let t = builtin(&store, "apps", "deployments");
    let body = json!({
        "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}}},
    });
    let created = store
        .create(&t, "default", body, &WriteOptions::default())
        .unwrap();
    assert_eq!(generation(&created), 1);

    let mut labelled = created.clone();
    labelled["metadata"]["labels"] = json!({"team": "quay"});
    let labelled = replace(&mut store, &t, "d", labelled, Subresource::Main);
    assert_eq!(
        generation(&labelled),
        1,
        "metadata changes keep the generation"
    );

    let mut status = labelled.clone();
    status["status"] = json!({"replicas": 1});
    let status = replace(&mut store, &t, "d", status, Subresource::Status);
    assert_eq!(generation(&status), 1, "status changes keep the generation");
    assert!(rv(&status) > rv(&labelled), "but take a resource version");

    let mut scaled = status.clone();
    scaled["spec"]["replicas"] = json!(3);
    let scaled = replace(&mut store, &t, "d", scaled, Subresource::Main);
    assert_eq!(generation(&scaled), 2);
    assert_eq!(
        scaled["status"],
        json!({"replicas": 1}),
        "the main resource keeps status"
    );
}

#[test]
fn finalizers_hold_a_deleted_object_until_the_last_is_removed() {
    let mut store = store();
    let t = configmaps(&store);
    create_cm(
        &mut store,
        "held",
        json!({"finalizers": ["example.com/a", "example.com/b"]}),
    );
    let marked = store
        .delete(&t, "default", "held", &DeleteOptions::default(), false)
        .unwrap();
    assert!(object::is_terminating(&marked), "{marked:#}");
    let still = store.get(&t, "default", "held").unwrap();
    assert!(object::is_terminating(&still));

    let mut adding = still.clone();
    adding["metadata"]["finalizers"] = json!(["example.com/a", "example.com/b", "example.com/c"]);
    let err = store
        .replace(
            &t,
            "default",
            "held",
            adding,
            Subresource::Main,
            &WriteOptions::default(),
        )
        .unwrap_err();
    assert_eq!(err.code(), 403, "no new finalizer once deleting: {err:?}");

    let mut one_left = still;
    one_left["metadata"]["finalizers"] = json!(["example.com/b"]);
    replace(&mut store, &t, "held", one_left.clone(), Subresource::Main);
    assert!(
        store.get(&t, "default", "held").is_ok(),
        "one finalizer still holds it"
    );

    let before = store.resource_version();
    let mut none_left = store.get(&t, "default", "held").unwrap();
    none_left["metadata"]["finalizers"] = json!([]);
    replace(&mut store, &t, "held", none_left, Subresource::Main);
    assert_eq!(store.get(&t, "default", "held").unwrap_err().code(), 404);
    let kinds: Vec<EventType> = store
        .events_since(before)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventType::Deleted],
        "removed for good with one event"
    );
}

#[test]
fn an_object_without_finalizers_goes_at_once() {
    let mut store = store();
    let t = configmaps(&store);
    create_cm(&mut store, "plain", json!({}));
    store
        .delete(&t, "default", "plain", &DeleteOptions::default(), false)
        .unwrap();
    assert_eq!(store.get(&t, "default", "plain").unwrap_err().code(), 404);
}

fn owned_by(owner: &Value) -> Value {
    json!({"ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "name": object::name(owner), "uid": object::uid(owner),
    }]})
}

#[test]
fn dependents_go_with_their_owner_unless_orphaned() {
    let mut store = store();
    let t = configmaps(&store);
    let owner = create_cm(&mut store, "owner", json!({}));
    create_cm(&mut store, "dependent", owned_by(&owner));
    store
        .delete(&t, "default", "owner", &DeleteOptions::default(), false)
        .unwrap();
    assert_eq!(
        store.get(&t, "default", "dependent").unwrap_err().code(),
        404
    );

    let owner = create_cm(&mut store, "owner2", json!({}));
    create_cm(&mut store, "kept", owned_by(&owner));
    let orphan = DeleteOptions {
        orphan: true,
        ..DeleteOptions::default()
    };
    store
        .delete(&t, "default", "owner2", &orphan, false)
        .unwrap();
    let kept = store.get(&t, "default", "kept").unwrap();
    assert!(
        kept.pointer("/metadata/ownerReferences")
            .is_none_or(|r| r == &json!([])),
        "orphaned dependents lose their owner reference: {kept:#}"
    );
}

#[test]
fn an_object_written_for_an_owner_already_gone_is_collected() {
    let mut store = store();
    let t = configmaps(&store);
    let owner = create_cm(&mut store, "owner", json!({}));
    store
        .delete(&t, "default", "owner", &DeleteOptions::default(), false)
        .unwrap();
    create_cm(&mut store, "late", owned_by(&owner));
    assert_eq!(store.get(&t, "default", "late").unwrap_err().code(), 404);
}

#[test]
fn deleting_a_namespace_deletes_what_it_holds_then_itself() {
    let mut store = store();
    let namespaces = builtin(&store, "", "namespaces");
    let t = configmaps(&store);
    store
        .create(
            &namespaces,
            "",
            json!({"metadata": {"name": "team"}}),
            &WriteOptions::default(),
        )
        .unwrap();
    store
        .create(
            &t,
            "team",
            json!({"metadata": {"name": "a"}}),
            &WriteOptions::default(),
        )
        .unwrap();
    store
        .delete(&namespaces, "", "team", &DeleteOptions::default(), false)
        .unwrap();
    assert_eq!(store.get(&t, "team", "a").unwrap_err().code(), 404);
    assert_eq!(store.get(&namespaces, "", "team").unwrap_err().code(), 404);
}

#[test]
fn continue_tokens_page_through_every_object_once_in_name_order() {
    let mut store = store();
    let t = configmaps(&store);
    for name in ["e", "a", "d", "b", "c"] {
        create_cm(&mut store, name, json!({}));
    }
    let mut seen = Vec::new();
    let mut opts = ListOptions {
        limit: 2,
        ..ListOptions::default()
    };
    let mut remaining = Vec::new();
    loop {
        let page = store.list(&t, Some("default"), &opts).unwrap();
        seen.extend(page.items.iter().map(|o| object::name(o).to_owned()));
        remaining.push(page.remaining);
        match page.continue_token {
            Some(token) => opts.continue_token = Some(token),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(remaining, [3, 1, 0]);
}

#[test]
fn a_continue_token_resumes_after_its_object_in_the_current_state() {
    let mut store = store();
    let t = configmaps(&store);
    for name in ["a", "b", "c"] {
        create_cm(&mut store, name, json!({}));
    }
    let first = store
        .list(
            &t,
            Some("default"),
            &ListOptions {
                limit: 1,
                ..ListOptions::default()
            },
        )
        .unwrap();
    // No list snapshots (the module table says so): a later object shows on the next page.
    create_cm(&mut store, "bb", json!({}));
    let rest = store
        .list(
            &t,
            Some("default"),
            &ListOptions {
                continue_token: first.continue_token,
                ..ListOptions::default()
            },
        )
        .unwrap();
    let names: Vec<&str> = rest.items.iter().map(object::name).collect();
    assert_eq!(names, ["b", "bb", "c"]);
}

#[test]
fn an_unreadable_continue_token_is_a_bad_request() {
    let store = store();
    let t = configmaps(&store);
    let opts = ListOptions {
        continue_token: Some("not a token".into()),
        ..ListOptions::default()
    };
    assert_eq!(store.list(&t, None, &opts).unwrap_err().code(), 400);
}

#[test]
fn the_history_keeps_the_newest_events_and_an_older_version_is_gone() {
    let mut store = Store::new("site-a", 2);
    for name in ["a", "b", "c"] {
        create_cm(&mut store, name, json!({}));
    }
    let now = store.resource_version();
    let kept: Vec<u64> = store
        .events_since(now - 2)
        .unwrap()
        .iter()
        .map(|e| e.rv)
        .collect();
    assert_eq!(kept, [now - 1, now]);
    assert_eq!(store.events_since(0).unwrap_err().code(), 410);
}
