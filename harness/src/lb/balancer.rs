//! [`LoadBalancer`]: every endpoint of one run's load balancer model, started and stopped
//! together, as the local backend needs them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::global::{GlobalEndpoint, GlobalOptions};
use super::shared::{Error, Service};
use super::site::SiteEndpoint;
use crate::quay::SitePods;

/// Every endpoint of one run's load balancer model: a Quay and a Clair endpoint per site and
/// the two global endpoints in front of them.
#[derive(Debug)]
pub struct LoadBalancer {
    sites: Vec<(String, SiteEndpoint, SiteEndpoint)>,
    quay: GlobalEndpoint,
    clair: GlobalEndpoint,
}

impl LoadBalancer {
    /// Starts a Quay and a Clair endpoint for every `(site, pods)`, then the two global
    /// endpoints over them. Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// [`Error::Bind`]; whatever had started is stopped again (by `Drop`).
    pub async fn start(
        sites: Vec<(String, Arc<dyn SitePods>)>,
        opts: &GlobalOptions,
    ) -> Result<Self, Error> {
        let mut endpoints = Vec::new();
        for (site, pods) in sites {
            let quay = SiteEndpoint::start(&site, Service::Quay, Arc::clone(&pods)).await?;
            let clair = SiteEndpoint::start(&site, Service::Clair, pods).await?;
            endpoints.push((site, quay, clair));
        }
        let backends = |service: Service| -> Vec<(String, String)> {
            endpoints
                .iter()
                .map(|(site, quay, clair)| {
                    let endpoint = if service == Service::Quay {
                        quay
                    } else {
                        clair
                    };
                    (site.clone(), endpoint.url().to_owned())
                })
                .collect()
        };
        let quay = GlobalEndpoint::start(Service::Quay, backends(Service::Quay), opts).await?;
        let clair = GlobalEndpoint::start(Service::Clair, backends(Service::Clair), opts).await?;
        Ok(Self {
            sites: endpoints,
            quay,
            clair,
        })
    }

    /// The global Quay endpoint.
    #[must_use]
    pub fn quay(&self) -> &GlobalEndpoint {
        &self.quay
    }

    /// The global Clair endpoint.
    #[must_use]
    pub fn clair(&self) -> &GlobalEndpoint {
        &self.clair
    }

    /// One site's endpoint for `service`.
    #[must_use]
    pub fn site(&self, site: &str, service: Service) -> Option<&SiteEndpoint> {
        self.sites
            .iter()
            .find(|(name, ..)| name == site)
            .map(|(_, quay, clair)| match service {
                Service::Quay => quay,
                Service::Clair => clair,
            })
    }

    /// What `services.json` says about the load balancer.
    #[must_use]
    pub fn to_entry(&self) -> crate::services::LoadBalancerEntry {
        crate::services::LoadBalancerEntry {
            quay: self.quay.url().to_owned(),
            clair: self.clair.url().to_owned(),
            sites: self
                .sites
                .iter()
                .map(|(site, quay, clair)| {
                    (
                        site.clone(),
                        crate::services::SiteHealthEntry {
                            quay_health: quay.health_url(),
                            clair_health: clair.health_url(),
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// Stops the global endpoints, then the site endpoints.
    pub async fn stop(self) {
        self.quay.stop().await;
        self.clair.stop().await;
        for (_, quay, clair) in self.sites {
            quay.stop().await;
            clair.stop().await;
        }
    }
}
