use std::collections::BTreeSet;

use serde_json::json;

use super::job::backfill_job;
use super::*;
use crate::georep::site::Convergence;
use crate::georep::upgrade::JobState;

const HASH: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const OTHER: &str = "sha256:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

fn input() -> LocationInput {
    LocationInput {
        location: Some("eu_west".to_owned()),
        sites: Some(vec![
            "us_east/quay/registry".to_owned(),
            "ap_south/quay/registry".to_owned(),
        ]),
        config_hash: Some(HASH.to_owned()),
        backfill_site: None,
    }
}

fn request() -> LocationRequest {
    validate(&input()).unwrap()
}

fn all() -> BTreeSet<String> {
    ["us_east", "ap_south", "eu_west"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn serving(hash: &str) -> SiteView {
    SiteView::Observed(SiteFacts {
        config_hash: Some(hash.to_owned()),
        storage: ConfigStorage {
            locations: all(),
            default_locations: all(),
            replication: true,
        },
        convergence: Convergence::Converged,
        unfinished_rollout: None,
    })
}

fn observation(views: [SiteView; 2], job: Option<JobState>) -> Observation {
    Observation {
        sites: request().sites().iter().cloned().zip(views).collect(),
        job,
    }
}

fn summaries(issues: &[crate::georep::issue::Issue]) -> Vec<String> {
    issues.iter().map(|i| i.summary.clone()).collect()
}

#[test]
fn the_backfill_runs_on_the_first_site_unless_another_is_named() {
    assert_eq!(
        request().backfill_site().to_string(),
        "us_east/quay/registry"
    );
    let mut named = input();
    named.backfill_site = Some("ap_south/quay/registry".to_owned());
    assert_eq!(
        validate(&named).unwrap().backfill_site().to_string(),
        "ap_south/quay/registry"
    );
}

#[test]
fn bad_arguments_are_refused_at_their_attribute() {
    let mut bad = input();
    bad.location = Some("EU".to_owned());
    bad.config_hash = Some("abc".to_owned());
    bad.backfill_site = Some("eu_west/quay/registry".to_owned());
    let issues = validate(&bad).unwrap_err();
    assert_eq!(
        summaries(&issues),
        [
            "Invalid Location",
            "Invalid Config Hash",
            "Backfill Site Not Among Sites"
        ]
    );
    let issues = validate(&LocationInput::default()).unwrap_err();
    assert_eq!(
        summaries(&issues),
        ["Missing Location", "Missing Sites", "Missing Config Hash"]
    );
}

#[test]
fn the_job_name_is_short_stable_and_differs_per_config() {
    let name = request().job_name();
    assert!(name.starts_with("backfill-eu-west-"), "{name}");
    assert_eq!(name, request().job_name());
    let mut other = input();
    other.config_hash = Some(OTHER.to_owned());
    assert_ne!(validate(&other).unwrap().job_name(), name);
    let mut long = input();
    long.location = Some("a".repeat(64));
    assert!(validate(&long).unwrap().job_name().len() <= 63);
}

#[test]
fn it_waits_for_every_site_to_serve_the_config_before_the_backfill() {
    let next = step(
        &request(),
        &observation([serving(HASH), serving(OTHER)], None),
        false,
    );
    assert!(
        matches!(&next, Next::WaitForSites(why) if why.contains("ap_south") && why.contains("sha256:ffeedd")),
        "{next:?}"
    );
    let unreachable = SiteView::Unreachable("connection refused".to_owned());
    assert!(matches!(
        step(&request(), &observation([serving(HASH), unreachable], None), false),
        Next::WaitForSites(why) if why.contains("connection refused")
    ));
    let mut rolling = serving(HASH);
    if let SiteView::Observed(facts) = &mut rolling {
        facts.unfinished_rollout = Some("Deployment registry-quay-app is rolling out".into());
    }
    assert!(matches!(
        step(&request(), &observation([serving(HASH), rolling], None), false),
        Next::WaitForSites(why) if why.contains("rolling out")
    ));
    assert_eq!(
        step(
            &request(),
            &observation([serving(HASH), serving(HASH)], None),
            false
        ),
        Next::StartBackfill
    );
}

#[test]
fn a_config_without_the_location_or_without_replication_stops_at_once() {
    let mut lacking = serving(HASH);
    if let SiteView::Observed(facts) = &mut lacking {
        facts.storage.locations = BTreeSet::from(["us_east".to_owned()]);
    }
    let next = step(
        &request(),
        &observation([lacking, serving(HASH)], None),
        false,
    );
    let Next::Fail(err) = next else {
        panic!("{next:?}")
    };
    assert!(
        err.to_string()
            .contains("no storage location eu_west (it has us_east)")
    );
    let mut off = serving(HASH);
    if let SiteView::Observed(facts) = &mut off {
        facts.storage.replication = false;
    }
    assert!(matches!(
        step(&request(), &observation([off, serving(HASH)], None), false),
        Next::Fail(LocationError::ReplicationOff { .. })
    ));
    let mut not_default = serving(HASH);
    if let SiteView::Observed(facts) = &mut not_default {
        facts.storage.default_locations.remove("eu_west");
    }
    let next = step(
        &request(),
        &observation([serving(HASH), not_default], None),
        false,
    );
    assert!(
        matches!(&next, Next::Fail(err) if err.to_string().contains("add \"eu_west\" to default_locations")),
        "{next:?}"
    );
}

#[test]
fn the_job_is_the_record_a_failed_one_from_before_is_replaced_one_failing_now_stops() {
    let ready = || [serving(HASH), serving(HASH)];
    assert!(matches!(
        step(
            &request(),
            &observation(ready(), Some(JobState::Active)),
            false
        ),
        Next::WaitForBackfill(_)
    ));
    assert_eq!(
        step(
            &request(),
            &observation(ready(), Some(JobState::Succeeded)),
            false
        ),
        Next::Done
    );
    let failed = || {
        Some(JobState::Failed {
            message: "could not connect to the database".to_owned(),
        })
    };
    assert_eq!(
        step(&request(), &observation(ready(), failed()), false),
        Next::RestartBackfill
    );
    let next = step(&request(), &observation(ready(), failed()), true);
    assert!(
        matches!(&next, Next::Fail(err) if err.to_string().contains("could not connect")),
        "{next:?}"
    );
}

#[test]
fn the_job_runs_the_tool_with_the_quay_app_image_env_and_config_but_not_its_labels() {
    let deployment = json!({"spec": {"template": {
        "metadata": {"labels": {"quay-component": "quay-app"}},
        "spec": {
            "serviceAccountName": "registry-quay-app",
            "volumes": [{"name": "configvolume", "secret": {"secretName": "registry-quay-config-secret-abc"}}],
            "containers": [{"name": "sidecar", "image": "busybox"}, {
                "name": "quay-app",
                "image": "quay.io/projectquay/quay:3.15.2",
                "command": ["/quay-registry/quay-entrypoint.sh"],
                "env": [{"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "us_east"}],
                "volumeMounts": [{"name": "configvolume", "mountPath": "/conf/stack"}],
                "readinessProbe": {"httpGet": {"path": "/health/instance"}},
                "ports": [{"containerPort": 8443}],
            }],
        },
    }}});
    let job = backfill_job(&request(), &deployment).unwrap();
    assert_eq!(job["metadata"]["name"], request().job_name());
    assert_eq!(job["metadata"]["namespace"], "quay");
    assert_eq!(
        job["metadata"]["annotations"][JOB_CONFIG_HASH_ANNOTATION],
        HASH
    );
    let pod = &job["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["command"][0], "/bin/bash");
    let script = container["command"][2].as_str().unwrap();
    assert!(script.contains("certs_install.sh") && script.contains("client_certs.sh"));
    assert!(script.ends_with(&format!("exec python -m {BACKFILL_MODULE}")));
    assert_eq!(
        container["terminationMessagePolicy"],
        "FallbackToLogsOnError"
    );
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(container["image"], "quay.io/projectquay/quay:3.15.2");
    assert_eq!(container["env"][0]["value"], "us_east");
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/conf/stack");
    assert!(container.get("readinessProbe").is_none() && container.get("ports").is_none());
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "registry-quay-config-secret-abc"
    );
    assert_eq!(pod["serviceAccountName"], "registry-quay-app");
    assert!(
        job["spec"]["template"]["metadata"]["labels"]
            .get("quay-component")
            .is_none()
    );
    let empty = json!({"spec": {"template": {"spec": {"containers": []}}}});
    assert!(backfill_job(&request(), &empty).is_err());
}

#[test]
fn the_plan_names_the_sites_the_config_and_the_job() {
    let steps = plan_steps(&request());
    assert!(steps[0].contains("us_east/quay/registry, ap_south/quay/registry"));
    assert!(steps[0].contains("sha256:001122334455"));
    assert!(steps[1].contains(&request().job_name()));
    assert!(steps[1].contains(BACKFILL_MODULE));
}

#[test]
fn a_config_yaml_gives_its_locations_default_locations_and_replication_switch() {
    let storage = ConfigStorage::of(
        "DISTRIBUTED_STORAGE_CONFIG:\n  us_east: [RadosGWStorage, {}]\n  eu_west: [S3Storage, {}]\n\
         DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [us_east]\nFEATURE_STORAGE_REPLICATION: true\n",
    )
    .unwrap();
    assert_eq!(
        storage.locations.into_iter().collect::<Vec<_>>(),
        ["eu_west", "us_east"]
    );
    assert_eq!(
        storage.default_locations.into_iter().collect::<Vec<_>>(),
        ["us_east"]
    );
    assert!(storage.replication);
    let none = ConfigStorage::of("SERVER_HOSTNAME: quay.example\n").unwrap();
    assert!(none.locations.is_empty() && !none.replication);
    assert!(ConfigStorage::of("- a list").is_none());
}
