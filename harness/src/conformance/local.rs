//! The `local` backend as the suite sees it: the [`Target`] of a running [`LocalEnv`] (what
//! `georep-harness up` writes into its state dir, so the `existing` backend can run against
//! it too) and the capabilities only the simulated clusters have.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::capability::{
    Capabilities, FaultInjection, PushFuture, Pushed, SafetyLedger, SimulatedPush, SlowMigrations,
    WriteCounters,
};
use super::target::{GlobalTarget, OperatorInstall, OperatorMethod, Platform, SiteTarget, Target};
use crate::local::LocalEnv;
use crate::sim::Flavour;
use crate::sim::apiserver::{FaultKind, FaultRule};

/// The global Quay name of the local backend's sites.
pub const GLOBAL_QUAY_HOSTNAME: &str = "quay.global.example.test";
/// The global Clair name.
pub const GLOBAL_CLAIR_HOSTNAME: &str = "clair.global.example.test";
/// The name of the target file `up` writes into its state dir.
pub const TARGET_FILE: &str = "conformance-target.yaml";

/// The target of `env`'s clusters: one context per site in its `kubeconfig`, its services,
/// and its global load balancer model.
#[must_use]
pub fn target(env: &LocalEnv) -> Target {
    let mut services = env.services().to_file();
    services.load_balancer = Some(env.load_balancer().to_entry());
    let first = env.sites().first();
    let platform = match first.map(|s| s.cluster.flavour()) {
        Some(Flavour::Kubernetes) => Platform::Kubernetes,
        _ => Platform::Openshift,
    };
    let operator = first.map_or(
        OperatorInstall {
            method: OperatorMethod::Deployment,
            namespace: crate::local::OPERATOR_NAMESPACE_KUBERNETES.to_owned(),
            name: crate::local::OPERATOR_SUBSCRIPTION.to_owned(),
        },
        |site| {
            let (namespace, name) = site.operator_install();
            OperatorInstall {
                method: if site.olm.is_some() {
                    OperatorMethod::Olm
                } else {
                    OperatorMethod::Deployment
                },
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            }
        },
    );
    Target {
        name: "local".to_owned(),
        platform,
        sites: env
            .sites()
            .iter()
            .map(|s| SiteTarget {
                name: s.name.clone(),
                location: s.location.clone(),
                kubeconfig: env.kubeconfig().to_owned(),
                context: s.name.clone(),
            })
            .collect(),
        services,
        global: GlobalTarget {
            quay_hostname: GLOBAL_QUAY_HOSTNAME.to_owned(),
            clair_hostname: Some(GLOBAL_CLAIR_HOSTNAME.to_owned()),
            quay_endpoint: Some(env.global_quay_url().to_owned()),
            clair_endpoint: Some(env.global_clair_url().to_owned()),
        },
        operator,
        terraform: Vec::new(),
        provider_dir: None,
    }
}

/// Every capability, backed by `env`. `migration_time` is the time per revision `env`'s
/// operator models were started with.
#[must_use]
pub fn capabilities(env: &Arc<LocalEnv>, migration_time: Duration) -> Capabilities {
    let local = Arc::new(Local {
        env: Arc::clone(env),
        migration_time,
    });
    Capabilities {
        ledger: Some(local.clone()),
        faults: Some(local.clone()),
        writes: Some(local.clone()),
        migrations: Some(local.clone()),
        push: Some(local),
    }
}

struct Local {
    env: Arc<LocalEnv>,
    migration_time: Duration,
}

impl Local {
    fn site(&self, name: &str) -> Result<&crate::local::LocalSite, String> {
        self.env.site(name).map_err(|e| e.to_string())
    }
}

impl SafetyLedger for Local {
    fn violations(&self) -> Vec<String> {
        self.env
            .ledger()
            .violations()
            .iter()
            .map(|v| serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}")))
            .collect()
    }
}

impl WriteCounters for Local {
    fn reset(&self) {
        for site in self.env.sites() {
            site.cluster.faults().reset_counters();
        }
    }

    fn writes(&self) -> Vec<(String, u64)> {
        self.env
            .sites()
            .iter()
            .map(|s| (s.name.clone(), s.cluster.faults().counters().writes))
            .collect()
    }
}

impl FaultInjection for Local {
    fn fail_requests(
        &self,
        site: &str,
        verb: &str,
        resource: &str,
        status: u16,
        count: u32,
    ) -> Result<(), String> {
        let fault = match status {
            500 => FaultKind::InternalError,
            429 => FaultKind::TooManyRequests {
                retry_after_seconds: 1,
            },
            409 => FaultKind::Conflict,
            other => return Err(format!("the simulated clusters cannot answer {other}")),
        };
        self.site(site)?.cluster.faults().inject(FaultRule {
            verb: Some(verb.to_owned()),
            resource: Some(resource.to_owned()),
            name: None,
            count,
            fault,
        });
        Ok(())
    }

    fn set_unreachable(&self, site: &str, unreachable: bool) -> Result<(), String> {
        self.site(site)?
            .cluster
            .faults()
            .set_unreachable(unreachable);
        Ok(())
    }

    fn set_latency(&self, site: &str, latency: Duration) -> Result<(), String> {
        self.site(site)?.cluster.faults().set_latency(latency);
        Ok(())
    }

    fn drop_watches(&self, site: &str) -> Result<(), String> {
        self.site(site)?.cluster.faults().close_watches();
        Ok(())
    }

    fn remaining(&self, site: &str) -> Result<u64, String> {
        Ok(self
            .site(site)?
            .cluster
            .faults()
            .rules()
            .iter()
            .map(|r| u64::from(r.count))
            .sum())
    }

    fn clear_requests(&self, site: &str) -> Result<(), String> {
        self.site(site)?.cluster.faults().clear();
        Ok(())
    }

    fn clear(&self) {
        for site in self.env.sites() {
            site.cluster.faults().clear();
            site.cluster.faults().set_unreachable(false);
        }
    }
}

impl SlowMigrations for Local {
    fn time_per_revision(&self) -> Duration {
        self.migration_time
    }

    fn set_time_per_revision(&self, time: Duration) {
        self.env.set_migration_time_per_revision(time);
    }
}

impl SimulatedPush for Local {
    fn push<'a>(&'a self, site: &'a str, bytes: Vec<u8>) -> PushFuture<'a> {
        Box::pin(async move {
            let pushed = self
                .env
                .push_blob(site, Bytes::from(bytes))
                .await
                .map_err(|e| crate::errors::chain(&e))?;
            Ok(Pushed {
                digest: pushed.digest,
                location: pushed.location,
                key: pushed.key,
            })
        })
    }
}
