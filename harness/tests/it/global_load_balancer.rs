//! The global load balancer model of the local backend: every site's health endpoint and the
//! global Quay and Clair endpoints in front of them, against real converged sites.

use georep_harness::lb::site::QuayHealth;
use georep_harness::lb::{BackendState, Service, get};
use georep_harness::services::{SERVICES_JSON, ServicesFile};

use georep_harness::quay::api_resource;
use kube::api::{Api, DynamicObject, ListParams};

use crate::local_sites::{GLOBAL_HOSTNAME, GeoSites, NS, install, set_quay_replicas, until};

/// One test for four checks of one converged three-site environment (each site's health,
/// the global Quay and Clair names, `services.json`): they only read it, and each check on
/// its own would install three sites again (services, clusters, three migrations), the
/// slowest set-up of the suite.
#[tokio::test]
async fn every_site_reports_its_version_config_hash_and_the_global_hostname() {
    let geo = GeoSites::installed("lb-health", &["us-east", "eu-west", "ap-south"]).await;
    let env = &geo.env;
    let mut hashes = Vec::new();
    for site in env.sites() {
        let endpoint = env.load_balancer().site(&site.name, Service::Quay).unwrap();
        let answer = get(&endpoint.health_url()).await.unwrap();
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let health: QuayHealth = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(health.site, site.name);
        assert_eq!(health.location, site.location);
        assert_eq!(health.version, site.operator.version().to_string());
        assert_eq!(
            Some(health.config_hash.clone()),
            site.operator.config_hash(),
            "the hash the site's pods run with"
        );
        assert_eq!(
            health.server_hostname.as_deref(),
            Some(GLOBAL_HOSTNAME),
            "site {} must identify itself with the global hostname, not its Route name",
            site.name
        );
        hashes.push(health.config_hash);
    }
    hashes.dedup();
    assert_eq!(hashes.len(), 1, "one config everywhere");

    // The global names answer from the sites, and services.json says where they are.
    until("every site routed", async || {
        (env.global_quay().routed_sites().len() == 3).then_some(())
    })
    .await;
    let global = get(&format!("{}/health/instance", env.global_quay_url()))
        .await
        .unwrap();
    assert_eq!(global.status, 200);
    assert_eq!(global.json()["server_hostname"], GLOBAL_HOSTNAME);
    assert_eq!(global.json()["site"].as_str(), global.site.as_deref());
    let clair = until("clair routed", async || {
        let a = get(&format!("{}/healthz", env.global_clair_url()))
            .await
            .unwrap();
        (a.status == 200).then_some(a)
    })
    .await;
    assert!(clair.site.is_some());
    let file: ServicesFile = serde_json::from_str(
        &std::fs::read_to_string(env.state_dir().join(SERVICES_JSON)).unwrap(),
    )
    .unwrap();
    let lb = file.load_balancer.expect("services.json has load_balancer");
    assert_eq!(lb.quay, env.global_quay_url());
    assert_eq!(lb.clair, env.global_clair_url());
    assert!(
        lb.sites["eu-west"]
            .quay_health
            .ends_with("/health/instance")
    );
    assert!(env.ledger().is_empty(), "{:?}", env.ledger().violations());
    geo.env.stop().await.unwrap();
}

#[tokio::test]
async fn global_endpoint_drops_a_scaled_down_site_and_takes_it_back() {
    let geo = GeoSites::installed("lb-scale", &["us-east", "eu-west"]).await;
    let env = &geo.env;
    until("both routed", async || {
        (env.global_quay().routed_sites() == ["us-east", "eu-west"]).then_some(())
    })
    .await;
    let sample = env.global_quay().sample(6).await.unwrap();
    assert_eq!(sample.answered.len(), 2, "both sites answer: {sample:?}");

    let eu_west = &env.sites()[1];
    set_quay_replicas(eu_west, 0).await;
    until("eu-west out", async || {
        (env.global_quay().routed_sites() == ["us-east"]).then_some(())
    })
    .await;
    let sample = env.global_quay().sample(6).await.unwrap();
    assert_eq!(sample.unavailable, 0, "{sample:?}");
    assert_eq!(sample.answered.keys().collect::<Vec<_>>(), ["us-east"]);
    let (_, state) = &env.global_quay().states()[1];
    assert!(
        matches!(state, BackendState::Unhealthy { reason } if reason.contains("503")),
        "{state:?}"
    );
    let site_answer = get(&env
        .load_balancer()
        .site("eu-west", Service::Quay)
        .unwrap()
        .health_url())
    .await
    .unwrap();
    assert_eq!(site_answer.status, 503);

    set_quay_replicas(eu_west, 2).await;
    until("eu-west back", async || {
        (env.global_quay().routed_sites().len() == 2).then_some(())
    })
    .await;
    let sample = env.global_quay().sample(6).await.unwrap();
    assert_eq!(
        sample.answered.len(),
        2,
        "both sites answer again: {sample:?}"
    );
    geo.env.stop().await.unwrap();
}

#[tokio::test]
async fn global_endpoint_answers_503_when_no_site_is_ready() {
    let geo = GeoSites::start("lb-none", &["us-east"]).await;
    let env = &geo.env;
    until("checked", async || {
        (env.global_quay().states()[0].1 != BackendState::Unchecked).then_some(())
    })
    .await;
    for url in [
        format!("{}/health/instance", env.global_quay_url()),
        format!("{}/healthz", env.global_clair_url()),
    ] {
        let answer = get(&url).await.unwrap();
        assert_eq!(answer.status, 503, "{url}");
        let body = answer.json();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("no site is ready to serve"),
            "{body:#}"
        );
        assert_eq!(body["sites"]["us-east"]["state"], "unhealthy", "{body:#}");
    }
    geo.env.stop().await.unwrap();
}

#[tokio::test]
async fn a_site_without_a_global_hostname_identifies_itself_with_its_route_host() {
    let geo = GeoSites::start("lb-route-host", &["us-east"]).await;
    let mut config = geo.config();
    config.as_object_mut().unwrap().remove("SERVER_HOSTNAME");
    let site = &geo.env.sites()[0];
    install(site, &config).await;
    let routes: Api<DynamicObject> = Api::namespaced_with(
        site.cluster.client().await.unwrap(),
        NS,
        &api_resource("route.openshift.io/v1", "Route"),
    );
    let route_host =
        routes.list(&ListParams::default()).await.unwrap().items[0].data["spec"]["host"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_ne!(route_host, GLOBAL_HOSTNAME);
    let endpoint = geo
        .env
        .load_balancer()
        .site("us-east", Service::Quay)
        .unwrap();
    let health: QuayHealth =
        serde_json::from_slice(&get(&endpoint.health_url()).await.unwrap().body).unwrap();
    assert_eq!(health.server_hostname, Some(route_host));
    geo.env.stop().await.unwrap();
}
