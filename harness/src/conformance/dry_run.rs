//! `conformance --dry-run`: what a run would create where (the backend, every site's
//! kubeconfig context, each selected scenario's namespaces and objects, the labels, the
//! working directories), built from the options and the target file alone. It starts no
//! backend, runs no Terraform and contacts no cluster, so it is the same on every call: the
//! run's random prefix is shown as [`PREFIX`].

use std::fmt::Write as _;

use super::capability::Capability;
use super::namespaces::{PART_OF, PART_OF_LABEL, RUN_LABEL, SCENARIO_LABEL};
use super::{Backend, Error, Options, Target, scenarios, select};

/// The run's prefix as the dry run shows it (a run draws six random hex digits).
pub const PREFIX: &str = "cf-XXXXXX";

/// What a run with `opts` would do, as text.
///
/// # Errors
/// [`Error::NothingSelected`], or the target file is missing or wrong.
pub fn dry_run(opts: &Options) -> Result<String, Error> {
    let catalogue = scenarios::catalogue();
    let selected: Vec<_> = catalogue
        .iter()
        .filter(|s| select::is_selected(&s.id, &opts.include, &opts.skip))
        .collect();
    if selected.is_empty() {
        return Err(Error::NothingSelected {
            include: opts.include.clone(),
            skip: opts.skip.clone(),
        });
    }
    let target = super::load_target(opts)?;
    let present: Vec<Capability> = match opts.backend {
        Backend::Local => Capability::ALL.to_vec(),
        Backend::Existing | Backend::Kind => Vec::new(),
    };
    let mut out =
        String::from("# conformance dry run: nothing was started, created, changed or contacted\n");
    let _ = writeln!(out, "backend: {}", opts.backend.name());
    let contexts: Vec<String> = match &target {
        Some(target) => describe_target(&mut out, target),
        None => {
            let sites = crate::local::DEFAULT_SITES;
            let _ = writeln!(
                out,
                "the local backend would start for the run and stop after, in {}: PostgreSQL, \
                 Redis and an S3 server per site as local processes, and simulated clusters \
                 (contexts {}) with Quay Operator models, all inside this process",
                state(opts, "local"),
                sites.join(", ")
            );
            sites.iter().map(|s| (*s).to_owned()).collect()
        }
    };
    let terraform = if !opts.terraform.is_empty() {
        let paths: Vec<String> = opts
            .terraform
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        paths.join(", ")
    } else if let Some(t) = target.as_ref().filter(|t| !t.terraform.is_empty()) {
        let paths: Vec<String> = t
            .terraform
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        paths.join(", ")
    } else {
        "the repository's pinned Terraform (.cache/terraform/1.0.3/terraform), else terraform on PATH"
            .to_owned()
    };
    let _ = writeln!(out, "terraform: {terraform} (one suite each)");
    let _ = writeln!(
        out,
        "scenarios at once: {} (a scenario marked \"alone\" runs by itself)",
        opts.parallel.max(1)
    );
    let _ = writeln!(
        out,
        "working directories: {}/<terraform version>/<scenario id> (terraform state and \
         variables, mode 0600 where secret)",
        state(opts, "conformance")
    );
    let _ = writeln!(
        out,
        "run prefix: {PREFIX} (six random hex digits, new for each run)\n\
         labels on each namespace of the run, after every apply: {PART_OF_LABEL}={PART_OF}, \
         {RUN_LABEL}={PREFIX}, {SCENARIO_LABEL}=<scenario id>\n\
         after each scenario: terraform destroy of what it applied, then its namespaces deleted \
         on every site (only those named {PREFIX}-* with the run's label or the provider's), \
         except after a failure with --keep-on-failure; at the end, any namespace of the run \
         still there is deleted too\n"
    );
    let sites = contexts.join(", ");
    for scenario in selected {
        let _ = write!(out, "{}", scenario.id);
        if let Some(missing) = scenario.needs.iter().find(|c| !present.contains(c)) {
            let _ = writeln!(out, ": skipped, needs {missing}");
            continue;
        }
        if scenario.runs_alone(&present) {
            out.push_str(" (alone)");
        }
        out.push('\n');
        if scenario.namespaces.is_empty() {
            let _ = writeln!(
                out,
                "  namespaces named {PREFIX}-* when it runs, on contexts among {sites}"
            );
        }
        for suffix in &scenario.namespaces {
            let objects = if scenario.id.starts_with("BADINPUT-") {
                "none: the plan must be refused before anything is written".to_owned()
            } else {
                "what quay_georep_site applies (the Namespace, the config bundle Secret, the \
                 QuayRegistry)"
                    .to_owned()
            };
            let _ = writeln!(
                out,
                "  namespace {PREFIX}-{suffix} on contexts among {sites}: {objects}"
            );
        }
    }
    Ok(out)
}

/// Writes the target's sites and global names; returns the sites' context names.
fn describe_target(out: &mut String, target: &Target) -> Vec<String> {
    let _ = writeln!(
        out,
        "target: {} ({:?}, operator {:?} {}/{})",
        target.name,
        target.platform,
        target.operator.method,
        target.operator.namespace,
        target.operator.name
    );
    for site in &target.sites {
        let _ = writeln!(
            out,
            "  site {}: context {} in {} (storage location {})",
            site.name,
            site.context,
            site.kubeconfig.display(),
            site.location
        );
    }
    let _ = writeln!(
        out,
        "  global name {}{}",
        target.global.quay_hostname,
        target.global.quay_endpoint.as_deref().map_or_else(
            || ", no global endpoint to reach".to_owned(),
            |e| format!(" at {e}")
        )
    );
    target.sites.iter().map(|s| s.context.clone()).collect()
}

/// `<state dir>/<sub>`, or a new temporary directory's.
fn state(opts: &Options, sub: &str) -> String {
    opts.state_dir.as_ref().map_or_else(
        || format!("<a new temporary directory>/{sub}"),
        |dir| dir.join(sub).display().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::target::tests::sample;

    #[test]
    fn a_local_dry_run_names_every_namespace_and_starts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let mut opts = Options::new(Backend::Local);
        opts.state_dir = Some(state.clone());
        opts.parallel = 4;
        let text = dry_run(&opts).unwrap();
        assert!(!state.exists(), "the dry run made {}", state.display());
        assert!(
            text.contains("contexts us-east, eu-west, ap-south"),
            "{text}"
        );
        assert!(text.contains("scenarios at once: 4"), "{text}");
        assert!(
            text.contains(
                "SCEN-three-sites (alone)\n  namespace cf-XXXXXX-three-sites on contexts among \
                 us-east, eu-west, ap-south: what quay_georep_site applies"
            ),
            "{text}"
        );
        assert!(text.contains("GLB-quay-and-clair (alone)\n"), "{text}");
        assert!(
            text.contains("conformance.quay-georep.io/run=cf-XXXXXX"),
            "{text}"
        );
        assert!(
            text.lines()
                .filter(|l| l.starts_with("BADINPUT-"))
                .all(|l| l.ends_with("(alone)")),
            "bad inputs count every cluster's writes on the local backend: {text}"
        );
        assert!(
            !text.contains("skipped"),
            "local has every capability: {text}"
        );
    }

    #[test]
    fn an_existing_dry_run_names_the_targets_contexts_and_the_skips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target.yaml");
        sample().save(&path).unwrap();
        let mut opts = Options::new(Backend::Existing);
        opts.target = Some(path);
        opts.include = vec!["AC3-*".to_owned(), "BADINPUT-unknown_cluster".to_owned()];
        let text = dry_run(&opts).unwrap();
        assert!(
            text.contains(
                "  site eu-west: context eu-west in /tmp/kubeconfig (storage location eu_west)"
            ),
            "{text}"
        );
        assert!(
            text.contains("AC3-storage-preference: skipped, needs simulated-push"),
            "{text}"
        );
        assert!(
            text.contains(
                "BADINPUT-unknown_cluster\n  namespace cf-XXXXXX-bad-input on contexts among \
                 us-east, eu-west, ap-south: none: the plan must be refused"
            ),
            "{text}"
        );
        assert!(text.contains("no global endpoint to reach"), "{text}");
    }

    #[test]
    fn a_kind_dry_run_without_the_backend_up_says_how_to_bring_it_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = Options::new(Backend::Kind);
        opts.state_dir = Some(dir.path().to_owned());
        let err = dry_run(&opts).unwrap_err().to_string();
        assert!(err.contains("georep-harness up --backend kind"), "{err}");
        sample()
            .save(&dir.path().join(crate::conformance::local::TARGET_FILE))
            .unwrap();
        let text = dry_run(&opts).unwrap();
        assert!(text.contains("backend: kind\ntarget: sample"), "{text}");
    }

    #[tokio::test]
    async fn a_dry_run_against_the_clusters_of_up_creates_nothing_on_them() {
        let state = tempfile::tempdir().unwrap();
        let args = crate::cli::up::UpArgs {
            sites: crate::local::DEFAULT_SITES.map(str::to_owned).to_vec(),
            flavour: crate::sim::Flavour::Openshift,
            state_dir: Some(state.path().to_owned()),
            ready_file: None,
            plain_http: false,
            quay_version: crate::quay::Catalogue::builtin().newest().version,
            backend: crate::backend::BackendArgs::default(),
        };
        let running = crate::cli::up::start(&args).await.unwrap();
        let target = Target::load(&running.target).unwrap();
        let snapshot = async || {
            let mut all = Vec::new();
            for site in &target.sites {
                let client = super::super::Context::client(site).await.unwrap();
                let namespaces: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(
                    client.clone(),
                    &crate::quay::api_resource("v1", "Namespace"),
                );
                let registries: kube::Api<kube::api::DynamicObject> =
                    kube::Api::all_with(client, &crate::quay::quay_registry_resource());
                let lp = kube::api::ListParams::default();
                let mut names: Vec<String> = namespaces
                    .list(&lp)
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .filter_map(|n| n.metadata.name)
                    .collect();
                names.sort();
                let registries = registries.list(&lp).await.unwrap().items.len();
                all.push((site.name.clone(), names, registries));
            }
            all
        };
        let before = snapshot().await;
        let work = state.path().join("dry");
        let mut opts = Options::new(Backend::Existing);
        opts.target = Some(running.target.clone());
        opts.state_dir = Some(work.clone());
        let text = dry_run(&opts).unwrap();
        assert!(text.contains("cf-XXXXXX-three-sites"), "{text}");
        assert_eq!(snapshot().await, before, "the dry run changed a cluster");
        assert!(!work.exists(), "the dry run made {}", work.display());
        running.env.stop().await.unwrap();
    }
}
