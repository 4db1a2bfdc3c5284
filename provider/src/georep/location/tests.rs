use std::collections::BTreeSet;

use serde_json::json;

use super::job::{ONLY_COPY_CHECK_ENV, OVERRIDE_CONFIG_ENV, REMOVED_LOCATION_ENV, location_job};
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
        ..LocationInput::default()
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
            preference: None,
        },
        convergence: Convergence::Converged,
        unfinished_rollout: None,
        preference: None,
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
    assert_eq!(request().job_site().to_string(), "us_east/quay/registry");
    let mut named = input();
    named.job_site = Some("ap_south/quay/registry".to_owned());
    assert_eq!(
        validate(&named).unwrap().job_site().to_string(),
        "ap_south/quay/registry"
    );
}

#[test]
fn bad_arguments_are_refused_at_their_attribute() {
    let mut bad = input();
    bad.location = Some("EU".to_owned());
    bad.config_hash = Some("abc".to_owned());
    bad.job_site = Some("eu_west/quay/registry".to_owned());
    let issues = validate(&bad).unwrap_err();
    assert_eq!(
        summaries(&issues),
        [
            "Invalid Location",
            "Invalid Config Hash",
            "Job Site Not Among Sites"
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
        Next::StartJob
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
        Next::WaitForJob(_)
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
        Next::RestartJob
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
    let job = location_job(&request(), &deployment).unwrap();
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
    assert!(location_job(&request(), &empty).is_err());
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

fn removal() -> LocationRequest {
    validate(&LocationInput {
        direction: Direction::Remove,
        ..input()
    })
    .unwrap()
}

/// A site serving the config without `eu_west`, preferring `own`.
fn serving_without_eu_west(own: &str) -> SiteView {
    let kept: BTreeSet<String> = ["us_east", "ap_south"].map(str::to_owned).into();
    SiteView::Observed(SiteFacts {
        config_hash: Some(HASH.to_owned()),
        storage: ConfigStorage {
            locations: kept.clone(),
            default_locations: kept,
            replication: true,
            preference: None,
        },
        convergence: Convergence::Converged,
        unfinished_rollout: None,
        preference: Some(own.to_owned()),
    })
}

fn removal_observation(views: [SiteView; 2], job: Option<JobState>) -> Observation {
    Observation {
        sites: removal().sites().iter().cloned().zip(views).collect(),
        job,
    }
}

#[test]
fn a_removal_runs_its_job_once_every_site_serves_the_config_without_the_location() {
    let ready = || {
        [
            serving_without_eu_west("us_east"),
            serving_without_eu_west("ap_south"),
        ]
    };
    assert_eq!(
        step(&removal(), &removal_observation(ready(), None), false),
        Next::StartJob
    );
    assert_eq!(
        step(
            &removal(),
            &removal_observation(ready(), Some(JobState::Succeeded)),
            false
        ),
        Next::Done
    );
    let failed = Some(JobState::Failed {
        message: "blobs placed only in storage location eu_west: 3; nothing was deleted".to_owned(),
    });
    let next = step(&removal(), &removal_observation(ready(), failed), true);
    assert!(
        matches!(&next, Next::Fail(err) if err.to_string().starts_with("the removal Job remove-eu-west-")
            && err.to_string().contains("eu_west: 3; nothing was deleted")),
        "{next:?}"
    );
    // Still rolling the new config out: wait, whatever the Job.
    let next = step(
        &removal(),
        &removal_observation([serving_without_eu_west("us_east"), serving(OTHER)], None),
        false,
    );
    assert!(
        matches!(&next, Next::WaitForSites(why) if why.contains("ap_south")),
        "{next:?}"
    );
}

#[test]
fn a_removal_is_refused_while_the_config_names_the_location_or_a_site_prefers_it() {
    // The requested config still has eu_west: the tool would run while pods can write there.
    let next = step(
        &removal(),
        &removal_observation([serving(HASH), serving(HASH)], None),
        false,
    );
    assert!(
        matches!(&next, Next::Fail(LocationError::ConfigStillNamesLocation { location, .. }) if location == "eu_west"),
        "{next:?}"
    );
    assert!(next_text(&next).contains("remove storage \"eu_west\" from data.quay_georep_config"));
    // A site whose pushes go to eu_west (its own location) must go first.
    let next = step(
        &removal(),
        &removal_observation(
            [
                serving_without_eu_west("us_east"),
                serving_without_eu_west("eu_west"),
            ],
            None,
        ),
        false,
    );
    assert!(
        matches!(&next, Next::Fail(LocationError::SitePrefersLocation { site, .. }) if site.cluster() == "ap_south"),
        "{next:?}"
    );
    // Quay's tool exits without removing anything when replication is off.
    let mut off = serving_without_eu_west("us_east");
    if let SiteView::Observed(facts) = &mut off {
        facts.storage.replication = false;
    }
    let next = step(
        &removal(),
        &removal_observation([off, serving_without_eu_west("ap_south")], None),
        false,
    );
    assert!(next_text(&next).contains("removal tool exits"), "{next:?}");
}

fn next_text(next: &Next) -> String {
    match next {
        Next::Fail(err) => err.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_removal_job_checks_for_only_copies_then_runs_quays_tool_with_pushes_off_for_itself() {
    let deployment = json!({"spec": {"template": {"spec": {
        "containers": [{
            "name": "quay-app",
            "image": "quay.io/projectquay/quay:3.15.2",
            "env": [
                {"name": "QUAY_DISTRIBUTED_STORAGE_PREFERENCE", "value": "us_east"},
                {"name": OVERRIDE_CONFIG_ENV, "value": "{\"DEBUGLOG\": true}"},
            ],
        }],
    }}}});
    let job = location_job(&removal(), &deployment).unwrap();
    assert!(
        job["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("remove-eu-west-")
    );
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let script = container["command"][2].as_str().unwrap();
    assert!(script.contains(&format!(
        "python -m {REMOVAL_MODULE} \"${REMOVED_LOCATION_ENV}\""
    )));
    assert!(script.contains(&format!("python -c \"${ONLY_COPY_CHECK_ENV}\"")));
    assert!(
        script.contains("echo y |"),
        "the tool's confirmation is answered"
    );
    assert!(
        script.contains("grep -qxF \"Deleted location"),
        "success is read from its output"
    );
    let env = container["env"].as_array().unwrap();
    let value = |name: &str| {
        env.iter()
            .filter(|var| var["name"] == name)
            .map(|var| var["value"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(value(REMOVED_LOCATION_ENV), ["eu_west"]);
    assert_eq!(value("QUAY_DISTRIBUTED_STORAGE_PREFERENCE"), ["us_east"]);
    let overrides = value(OVERRIDE_CONFIG_ENV);
    assert_eq!(overrides.len(), 1, "one variable, merged");
    let overrides: serde_json::Value = serde_json::from_str(&overrides[0]).unwrap();
    // Pushes off, but not read-only: that would make Quay's models refuse the tool's deletes.
    assert_eq!(overrides, json!({"DEBUGLOG": true, "DISABLE_PUSHES": true}));
    assert!(value(ONLY_COPY_CHECK_ENV)[0].contains("ImageStoragePlacement"));
    // The backfill Job of an addition sets none of this.
    let backfill = location_job(&request(), &deployment).unwrap();
    let env = backfill["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(!env.contains(REMOVED_LOCATION_ENV) && !env.contains("DISABLE_PUSHES"));
}

#[test]
fn a_removal_plan_says_what_is_checked_deleted_and_left() {
    let steps = plan_steps(&removal());
    assert!(
        steps[0].contains("without storage location eu_west"),
        "{steps:?}"
    );
    assert!(steps[1].contains(REMOVAL_MODULE) && steps[1].contains("nothing is deleted"));
    assert!(steps[2].contains("bucket of eu_west is left"));
}

#[test]
fn the_removal_job_site_is_named_run_site() {
    let issues = validate(&LocationInput {
        direction: Direction::Remove,
        job_site: Some("eu_west/quay/registry".to_owned()),
        ..input()
    })
    .unwrap_err();
    assert_eq!(issues[0].path.to_string(), "run_site");
}

/// Runs [`job::REMOVAL_SCRIPT`] under bash with stand-ins for the image's init scripts and
/// `python`: the check exits `check`, the tool prints `tool_output` (after reading its
/// confirmation) and exits 0, as Quay's does even on failure. Returns the exit code and
/// what the stand-in tool read on its standard input.
#[cfg(unix)]
fn run_removal_script(check: i32, tool_output: &str) -> (i32, String) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let init = dir.path().join("conf/init");
    std::fs::create_dir_all(&init).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let answered = dir.path().join("answered");
    let scripts = [
        (
            init.join("certs_install.sh"),
            "#!/bin/sh\nexit 0\n".to_owned(),
        ),
        (
            init.join("client_certs.sh"),
            "#!/bin/sh\nexit 0\n".to_owned(),
        ),
        (
            bin.join("python"),
            format!(
                "#!/bin/bash\nif [ \"$1\" = -c ]; then exit {check}; fi\n\
                 [ \"$2\" = util.removelocation ] || exit 99\n\
                 read -r answer; printf '%s' \"$answer\" > '{}'\n\
                 printf 'WARNING: sure? [y/n] %s\\n' '{tool_output}'\nexit 0\n",
                answered.display()
            ),
        ),
    ];
    for (path, text) in scripts {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let status = std::process::Command::new("bash")
        .args(["-c", job::REMOVAL_SCRIPT])
        .env("QUAYPATH", dir.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env(REMOVED_LOCATION_ENV, "eu_west")
        .env(ONLY_COPY_CHECK_ENV, "print('check')")
        .status()
        .unwrap();
    let answer = std::fs::read_to_string(&answered).unwrap_or_default();
    (status.code().unwrap_or(-1), answer)
}

#[cfg(unix)]
#[test]
fn the_removal_script_fails_unless_the_tool_says_it_deleted_the_location() {
    // The check passes, the tool deletes: success, the confirmation answered "y".
    assert_eq!(
        run_removal_script(0, "Removed 0 temporary blobs\nDeleted location eu_west"),
        (0, "y".to_owned())
    );
    // The tool's own failure exits 0; the script must not.
    let (code, _) = run_removal_script(0, "Error removing storage location: no such row");
    assert_ne!(code, 0);
    // Another location's line is not this one's.
    let (code, _) = run_removal_script(0, "Deleted location eu_west_2");
    assert_ne!(code, 0);
    // Only copies: the tool never runs.
    assert_eq!(
        run_removal_script(1, "Deleted location eu_west"),
        (1, String::new())
    );
    // Already gone (an earlier run removed it): success without the tool.
    assert_eq!(run_removal_script(3, ""), (0, String::new()));
}

#[test]
fn each_direction_is_undone_by_the_other_whose_jobs_have_their_own_prefix() {
    assert_eq!(Direction::Add.opposite(), Direction::Remove);
    assert_eq!(Direction::Remove.opposite(), Direction::Add);
    assert_ne!(Direction::Add.job_prefix(), Direction::Remove.job_prefix());
}
