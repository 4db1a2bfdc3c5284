//! What `demo` reports: per site what it runs and whether it converged, what the global
//! endpoint answered, and whether the run passed; printed as plain text.
//!
//! Pure: the demo fills a [`Report`] from the clusters; this module only judges and prints it.

use std::fmt;
use std::time::Duration;

/// One `status.conditions` entry of a `QuayRegistry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `Available`, `ComponentsCreated`, ...
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
}

/// What one site runs after the apply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteReport {
    /// The site name (kubectl context).
    pub site: String,
    /// Why the site could not be read, if it could not.
    pub error: Option<String>,
    /// Whether a `QuayRegistry` exists.
    pub registry_found: bool,
    /// Its conditions.
    pub conditions: Vec<Condition>,
    /// `status.currentVersion`.
    pub current_version: Option<String>,
    /// The hosts of the Routes in the registry's namespace.
    pub route_hosts: Vec<String>,
    /// `spec.configBundleSecret`.
    pub bundle_secret: Option<String>,
    /// Ready `quay-app` pods.
    pub ready_quay_pods: usize,
    /// The storage locations the quay component prefers, in order.
    pub storage_preference: Vec<String>,
    /// The `config.yaml` hash the `quay-app` pods run with.
    pub config_hash: Option<String>,
}

impl SiteReport {
    fn condition(&self, kind: &str) -> Option<&str> {
        self.conditions
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.status.as_str())
    }

    /// Whether the operator reports the site converged: `Available=True`, a current version,
    /// no `RolloutBlocked=True`, and at least one ready quay pod.
    #[must_use]
    pub fn converged(&self) -> bool {
        self.error.is_none()
            && self.condition("Available") == Some("True")
            && self.condition("RolloutBlocked") != Some("True")
            && self.current_version.is_some()
            && self.ready_quay_pods > 0
    }
}

/// What the global Quay endpoint answered to `GET /health/instance` after the apply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalAnswer {
    /// The endpoint (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The sites it routed to when asked.
    pub routed_sites: Vec<String>,
    /// The HTTP status (`None`: no answer).
    pub status: Option<u16>,
    /// The site that answered.
    pub site: Option<String>,
    /// The version it reported.
    pub version: Option<String>,
    /// The `SERVER_HOSTNAME` it reported.
    pub server_hostname: Option<String>,
    /// The body's error, or why there was no answer.
    pub error: Option<String>,
}

impl fmt::Display for GlobalAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routed = if self.routed_sites.is_empty() {
            "no site".to_owned()
        } else {
            self.routed_sites.join(", ")
        };
        write!(f, "global endpoint {} (routes to {routed}): ", self.url)?;
        match self.status {
            None => write!(f, "NO ANSWER")?,
            Some(200) => write!(
                f,
                "200 from site {}, version {}, SERVER_HOSTNAME {}",
                or_none(self.site.as_deref()),
                or_none(self.version.as_deref()),
                or_none(self.server_hostname.as_deref())
            )?,
            Some(status) => write!(f, "{status}")?,
        }
        if let Some(error) = &self.error {
            write!(f, " ({error})")?;
        }
        Ok(())
    }
}

/// Everything the demo found, and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Whether `terraform apply` succeeded.
    pub apply_succeeded: bool,
    /// The error diagnostics of a failed apply (summaries only).
    pub apply_errors: Vec<String>,
    /// The `config_hash` output of Terraform.
    pub terraform_config_hash: Option<String>,
    /// Per site, in order.
    pub sites: Vec<SiteReport>,
    /// The safety ledger's violations, one JSON object each.
    pub violations: Vec<String>,
    /// What the global Quay endpoint answered.
    pub global: Option<GlobalAnswer>,
}

impl Report {
    /// Whether every site runs with the same config hash (and at least one has one).
    #[must_use]
    pub fn same_config_everywhere(&self) -> bool {
        let mut hashes = self.sites.iter().map(|s| s.config_hash.as_deref());
        match hashes.next() {
            Some(Some(first)) => hashes.all(|h| h == Some(first)),
            _ => false,
        }
    }

    /// Apply succeeded, every site converged with the same config, the global endpoint
    /// answered 200, and the ledger is empty.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.global.as_ref().is_some_and(|g| g.status == Some(200))
            && self.apply_succeeded
            && !self.sites.is_empty()
            && self.sites.iter().all(SiteReport::converged)
            && self.same_config_everywhere()
            && self.violations.is_empty()
    }

    /// The one-line summary printed last.
    #[must_use]
    pub fn summary(&self, elapsed: Duration) -> String {
        let converged = self.sites.iter().filter(|s| s.converged()).count();
        format!(
            "demo {}: apply {}, {converged}/{} sites converged, config {}, {} safety violations ({:.1}s)",
            if self.passed() { "PASSED" } else { "FAILED" },
            if self.apply_succeeded { "ok" } else { "failed" },
            self.sites.len(),
            if self.same_config_everywhere() {
                "identical"
            } else {
                "differs"
            },
            self.violations.len(),
            elapsed.as_secs_f64()
        )
    }
}

/// The conditions, with the `Component<X>Ready` ones counted rather than listed unless one
/// is not `True`.
fn conditions_line(conditions: &[Condition]) -> String {
    let is_component =
        |c: &&Condition| c.kind.starts_with("Component") && c.kind.ends_with("Ready");
    let mut parts: Vec<String> = conditions
        .iter()
        .filter(|c| !is_component(c) || c.status != "True")
        .map(|c| format!("{}={}", c.kind, c.status))
        .collect();
    let components = conditions.iter().filter(is_component).count();
    if components > 0 {
        let ready = conditions
            .iter()
            .filter(is_component)
            .filter(|c| c.status == "True")
            .count();
        parts.push(format!("({ready}/{components} components ready)"));
    }
    parts.join(" ")
}

fn or_none(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.apply_succeeded {
            writeln!(f, "terraform apply: ok")?;
        } else {
            writeln!(f, "terraform apply: FAILED")?;
            for error in &self.apply_errors {
                writeln!(f, "  error: {error}")?;
            }
        }
        for s in &self.sites {
            let state = if s.converged() {
                "converged"
            } else {
                "NOT converged"
            };
            writeln!(f, "site {}: {state}", s.site)?;
            if let Some(error) = &s.error {
                writeln!(f, "  cannot read: {error}")?;
                continue;
            }
            if !s.registry_found {
                writeln!(f, "  no QuayRegistry")?;
                continue;
            }
            writeln!(
                f,
                "  conditions:         {}",
                conditions_line(&s.conditions)
            )?;
            writeln!(
                f,
                "  currentVersion:     {}",
                or_none(s.current_version.as_deref())
            )?;
            let hosts = if s.route_hosts.is_empty() {
                "-".to_owned()
            } else {
                s.route_hosts.join(", ")
            };
            writeln!(f, "  route host:         {hosts}")?;
            writeln!(
                f,
                "  bundle secret:      {}",
                or_none(s.bundle_secret.as_deref())
            )?;
            writeln!(f, "  ready quay pods:    {}", s.ready_quay_pods)?;
            writeln!(
                f,
                "  storage preference: {}",
                if s.storage_preference.is_empty() {
                    "-".to_owned()
                } else {
                    s.storage_preference.join(" > ")
                }
            )?;
        }
        if self.same_config_everywhere() {
            let hash = self
                .sites
                .first()
                .and_then(|s| s.config_hash.as_deref())
                .unwrap_or_default();
            writeln!(f, "config hash: {hash} on every site")?;
        } else {
            writeln!(f, "config hash: DIFFERS between sites")?;
            for s in &self.sites {
                writeln!(f, "  {}: {}", s.site, or_none(s.config_hash.as_deref()))?;
            }
        }
        if let Some(hash) = &self.terraform_config_hash {
            writeln!(f, "terraform config_hash output: {hash}")?;
        }
        if let Some(global) = &self.global {
            writeln!(f, "{global}")?;
        }
        if self.violations.is_empty() {
            writeln!(f, "safety ledger: no safety violations")?;
        } else {
            writeln!(f, "safety ledger: {} violations", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "  {v}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converged_site(name: &str, hash: &str) -> SiteReport {
        SiteReport {
            site: name.into(),
            error: None,
            registry_found: true,
            conditions: vec![
                Condition {
                    kind: "Available".into(),
                    status: "True".into(),
                },
                Condition {
                    kind: "RolloutBlocked".into(),
                    status: "False".into(),
                },
            ],
            current_version: Some("3.15.2".into()),
            route_hosts: vec!["quay.global.example.test".into()],
            bundle_secret: Some("quay-config-abc123".into()),
            ready_quay_pods: 2,
            storage_preference: vec!["us_east".into(), "eu_west".into()],
            config_hash: Some(hash.into()),
        }
    }

    fn report(sites: Vec<SiteReport>) -> Report {
        Report {
            apply_succeeded: true,
            sites,
            global: Some(GlobalAnswer {
                url: "http://127.0.0.1:1".into(),
                routed_sites: vec!["us-east".into(), "eu-west".into()],
                status: Some(200),
                site: Some("eu-west".into()),
                version: Some("3.15.2".into()),
                server_hostname: Some("quay.global.example.test".into()),
                error: None,
            }),
            ..Report::default()
        }
    }

    #[test]
    fn shows_the_global_answer_and_fails_without_one() {
        let r = report(vec![converged_site("us-east", "h1")]);
        assert!(
            r.to_string().contains(
                "global endpoint http://127.0.0.1:1 (routes to us-east, eu-west): 200 from site \
                 eu-west, version 3.15.2, SERVER_HOSTNAME quay.global.example.test"
            ),
            "{r}"
        );
        let mut down = r.clone();
        down.global = Some(GlobalAnswer {
            url: "http://127.0.0.1:1".into(),
            status: Some(503),
            error: Some("no site is ready to serve quay".into()),
            ..GlobalAnswer::default()
        });
        assert!(!down.passed());
        assert!(
            down.to_string()
                .contains("(routes to no site): 503 (no site is ready to serve quay)"),
            "{down}"
        );
    }

    #[test]
    fn passes_when_every_site_converged_with_one_config_and_no_violations() {
        let r = report(vec![
            converged_site("us-east", "h1"),
            converged_site("eu-west", "h1"),
        ]);
        assert!(r.passed());
        let text = r.to_string();
        assert!(text.contains("site us-east: converged"), "{text}");
        assert!(
            text.contains("storage preference: us_east > eu_west"),
            "{text}"
        );
        assert!(text.contains("config hash: h1 on every site"), "{text}");
        assert!(text.contains("no safety violations"), "{text}");
        assert!(
            r.summary(Duration::ZERO)
                .starts_with("demo PASSED: apply ok, 2/2 sites converged")
        );
    }

    #[test]
    fn counts_ready_components_and_lists_the_unready_one() {
        let c = |kind: &str, status: &str| Condition {
            kind: kind.into(),
            status: status.into(),
        };
        let line = conditions_line(&[
            c("Available", "True"),
            c("ComponentQuayReady", "True"),
            c("ComponentRouteReady", "False"),
            c("RolloutBlocked", "False"),
        ]);
        assert_eq!(
            line,
            "Available=True ComponentRouteReady=False RolloutBlocked=False (1/2 components ready)"
        );
    }

    #[test]
    fn fails_when_a_site_runs_another_config() {
        let r = report(vec![
            converged_site("us-east", "h1"),
            converged_site("eu-west", "h2"),
        ]);
        assert!(!r.passed());
        assert!(r.to_string().contains("config hash: DIFFERS"));
        assert!(r.summary(Duration::ZERO).contains("config differs"));
    }

    #[test]
    fn fails_on_a_ledger_violation() {
        let mut r = report(vec![converged_site("us-east", "h1")]);
        r.violations
            .push(r#"{"kind":"concurrent_migrations"}"#.into());
        assert!(!r.passed());
        assert!(r.to_string().contains("safety ledger: 1 violations"));
    }

    #[test]
    fn a_blocked_rollout_is_not_converged() {
        let mut site = converged_site("us-east", "h1");
        site.conditions[1].status = "True".into();
        assert!(!site.converged());
        assert!(!report(vec![site]).passed());
    }

    #[test]
    fn a_failed_apply_fails_and_lists_its_errors() {
        let mut r = report(vec![converged_site("us-east", "h1")]);
        r.apply_succeeded = false;
        r.apply_errors.push("QuayRegistry did not converge".into());
        assert!(!r.passed());
        assert!(
            r.to_string()
                .contains("error: QuayRegistry did not converge")
        );
    }
}
