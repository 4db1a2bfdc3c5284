//! One site's endpoint for one service, standing in for the site's Route: what the global
//! load balancer health-checks and forwards to.
//!
//! A Quay endpoint answers [`Service::health_path`] (`/health/instance`) with a
//! [`QuayHealth`] of one ready quay-app pod (the pods take turns, as a Service spreads
//! requests), so a site mid-rollout shows both versions; a Clair endpoint answers `/healthz`
//! with a [`ClairHealth`]. Any other path gets 404 naming the site. With no ready pod of the
//! service, every request gets 503 with a [`Unavailable`] body, as an OpenShift router answers
//! for a Route without endpoints.
//!
//! The `server_hostname` reported is the pod's effective `SERVER_HOSTNAME`: the global name
//! when the shared config sets one, else the Route host the operator generated, so a site
//! that would identify itself by its own Route name shows it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::shared::{Error, HttpServer, Service, json_response};
use crate::quay::SitePods;

/// The `/health/instance` answer of a site with a ready quay pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuayHealth {
    /// Always 200, as Quay's own answer carries it.
    pub status_code: u16,
    /// The site (cluster) name.
    pub site: String,
    /// The site's storage location.
    pub location: String,
    /// The pod that answered.
    pub pod: String,
    /// Its Quay version.
    pub version: String,
    /// sha256 of the `config.yaml` it runs with.
    pub config_hash: String,
    /// Its effective `SERVER_HOSTNAME` (`None`: its pod template does not say).
    pub server_hostname: Option<String>,
    /// How many quay-app pods of the site are ready.
    pub ready_pods: usize,
}

/// The `/healthz` answer of a site with a ready Clair pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClairHealth {
    /// Always 200.
    pub status_code: u16,
    /// The site (cluster) name.
    pub site: String,
    /// How many clair-app pods of the site are ready.
    pub ready_pods: usize,
}

/// The 503 body of a site without ready pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// Always 503.
    pub status_code: u16,
    /// The site.
    pub site: String,
    /// The service (`quay`, `clair`).
    pub service: String,
    /// Why: no ready pods.
    pub error: String,
}

/// A running site endpoint.
#[derive(Debug)]
pub struct SiteEndpoint {
    site: String,
    service: Service,
    server: HttpServer,
}

impl SiteEndpoint {
    /// Serves `service` of `site` from `pods` on a free loopback port.
    ///
    /// # Errors
    /// [`Error::Bind`].
    pub async fn start(
        site: &str,
        service: Service,
        pods: Arc<dyn SitePods>,
    ) -> Result<Self, Error> {
        let name = site.to_owned();
        let turn = Arc::new(AtomicUsize::new(0));
        let server = HttpServer::start(
            &format!("{service} endpoint of site {site}"),
            move |request| {
                let response = answer(&name, service, pods.as_ref(), &turn, request.uri().path());
                async move { response }
            },
        )
        .await?;
        Ok(Self {
            site: site.to_owned(),
            service,
            server,
        })
    }

    /// The site.
    #[must_use]
    pub fn site(&self) -> &str {
        &self.site
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// The URL a load balancer health-checks.
    #[must_use]
    pub fn health_url(&self) -> String {
        format!("{}{}", self.server.url(), self.service.health_path())
    }

    /// Stops serving (open requests may finish).
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn answer(
    site: &str,
    service: Service,
    pods: &dyn SitePods,
    turn: &AtomicUsize,
    path: &str,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let unavailable = || {
        let body = Unavailable {
            status_code: 503,
            site: site.to_owned(),
            service: service.to_string(),
            error: format!("site {site} has no ready {service} pods"),
        };
        json_response(StatusCode::SERVICE_UNAVAILABLE, &json!(body))
    };
    let body = match service {
        Service::Quay => {
            let ready = pods.quay();
            let Some(pod) = ready.get(turn.fetch_add(1, Ordering::Relaxed) % ready.len().max(1))
            else {
                return unavailable();
            };
            json!(QuayHealth {
                status_code: 200,
                site: site.to_owned(),
                location: pod.location.clone(),
                pod: pod.pod.clone(),
                version: pod.version.to_string(),
                config_hash: pod.config_hash.clone(),
                server_hostname: pod.server_hostname.clone(),
                ready_pods: ready.len(),
            })
        }
        Service::Clair => {
            let ready = pods.clair();
            if ready == 0 {
                return unavailable();
            }
            json!(ClairHealth {
                status_code: 200,
                site: site.to_owned(),
                ready_pods: ready,
            })
        }
    };
    if path == service.health_path() {
        json_response(StatusCode::OK, &body)
    } else {
        json_response(
            StatusCode::NOT_FOUND,
            &json!({"status_code": 404, "site": site, "error": format!("{path} is not modelled")}),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::lb::get;
    use crate::quay::ServingPod;

    /// Pods set by the test.
    #[derive(Debug, Default)]
    pub(crate) struct FakePods {
        pub(crate) quay: Mutex<Vec<ServingPod>>,
        pub(crate) clair: Mutex<usize>,
    }

    impl SitePods for FakePods {
        fn quay(&self) -> Vec<ServingPod> {
            self.quay.lock().unwrap().clone()
        }

        fn clair(&self) -> usize {
            *self.clair.lock().unwrap()
        }
    }

    pub(crate) fn serving(site: &str, pod: &str) -> ServingPod {
        ServingPod {
            site: site.to_owned(),
            pod: pod.to_owned(),
            version: "3.15.2".parse().unwrap(),
            database: "127.0.0.1:5432/quay".to_owned(),
            revision: None,
            config_hash: "abc".to_owned(),
            config_shape: crate::quay::ConfigShape::default(),
            replication: true,
            location: site.replace('-', "_"),
            preference: Some(site.replace('-', "_")),
            server_hostname: Some("quay.global.example".to_owned()),
        }
    }

    #[tokio::test]
    async fn answers_503_without_ready_pods_and_the_pod_report_with_them() {
        let pods = Arc::new(FakePods::default());
        let quay = SiteEndpoint::start("us-east", Service::Quay, pods.clone())
            .await
            .unwrap();
        let none = get(&quay.health_url()).await.unwrap();
        assert_eq!(none.status, 503);
        assert_eq!(none.json()["error"], "site us-east has no ready quay pods");

        pods.quay.lock().unwrap().push(serving("us-east", "p-0"));
        let health: QuayHealth =
            serde_json::from_slice(&get(&quay.health_url()).await.unwrap().body).unwrap();
        assert_eq!(health.site, "us-east");
        assert_eq!(health.location, "us_east");
        assert_eq!(health.version, "3.15.2");
        assert_eq!(
            health.server_hostname.as_deref(),
            Some("quay.global.example")
        );
        let other = get(&format!("{}/v2/", quay.url())).await.unwrap();
        assert_eq!(other.status, 404);
        quay.stop().await;
    }

    #[tokio::test]
    async fn clair_endpoint_follows_the_ready_clair_pods() {
        let pods = Arc::new(FakePods::default());
        let clair = SiteEndpoint::start("eu-west", Service::Clair, pods.clone())
            .await
            .unwrap();
        assert!(clair.health_url().ends_with("/healthz"));
        assert_eq!(get(&clair.health_url()).await.unwrap().status, 503);
        *pods.clair.lock().unwrap() = 2;
        let answer = get(&clair.health_url()).await.unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["ready_pods"], 2);
        clair.stop().await;
    }
}
