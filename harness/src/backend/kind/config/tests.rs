use super::*;

fn repo_configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../kind-configs")
}

fn sites() -> Vec<String> {
    crate::local::DEFAULT_SITES.map(String::from).to_vec()
}

/// The us-east config with `edit` applied to its text, parsed as `site.yaml`.
fn edited(site: &str, edit: impl Fn(String) -> String) -> (PathBuf, Cluster) {
    let path = repo_configs().join("us-east.yaml");
    let text = edit(std::fs::read_to_string(&path).unwrap());
    let path = PathBuf::from(format!("{site}.yaml"));
    let cluster = Cluster::parse(&path, &text).unwrap();
    (path, cluster)
}

fn rule_of(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Rule { rule, .. }) => rule,
        other => panic!("expected a broken rule, got {other:?}"),
    }
}

#[test]
fn the_three_site_configs_parse_and_keep_every_rule() {
    let configs = read_sites(&repo_configs(), &sites()).unwrap();
    let names: Vec<_> = configs.iter().map(|(_, c)| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["georep-us-east", "georep-eu-west", "georep-ap-south"]
    );
    assert_eq!(configs[0].1.kind_context(), "kind-georep-us-east");
    let https: Vec<_> = configs
        .iter()
        .map(|(_, c)| c.ingress_host_port(443).unwrap())
        .collect();
    assert_eq!(https, [18443, 28443, 38443]);
    for (path, cluster) in &configs {
        assert_eq!(cluster.nodes.len(), 1, "{}", path.display());
        assert!(cluster.nodes[0].is_ingress_ready(), "{}", path.display());
        assert!(
            cluster.nodes[0]
                .image
                .starts_with("kindest/node:v1.35.8@sha256:"),
            "every site runs the same pinned node image: {}",
            cluster.nodes[0].image
        );
    }
}

#[test]
fn a_config_with_an_unknown_field_is_refused() {
    let text = std::fs::read_to_string(repo_configs().join("us-east.yaml"))
        .unwrap()
        .replace("  podSubnet:", "  podSubnett:");
    let err = Cluster::parse(Path::new("typo.yaml"), &text).unwrap_err();
    assert!(
        err.to_string().contains("typo.yaml") && err.to_string().contains("podSubnett"),
        "{err}"
    );
}

#[test]
fn two_sites_with_overlapping_subnets_are_refused() {
    let a = edited("a", |t| t);
    let b = edited("b", |t| {
        t.replace("georep-us-east", "georep-b")
            .replace("36441", "36449")
            .replace("18080", "19080")
            .replace("18443", "19443")
            .replace("10.10.0.0/16", "10.50.0.0/16")
            .replace("10.110.0.0/16", "10.110.0.0/24")
    });
    let rule = rule_of(check_sites(&[a.clone(), b]));
    assert!(
        rule.contains("10.110.0.0/24 overlaps 10.110.0.0/16 of a.yaml"),
        "{rule}"
    );
    let own = edited("c", |t| t.replace("10.110.0.0/16", "10.10.128.0/17"));
    let rule = rule_of(check_sites(&[own]));
    assert!(rule.contains("overlaps 10.10.0.0/16 of c.yaml"), "{rule}");
}

#[test]
fn two_sites_publishing_the_same_host_port_are_refused() {
    let a = edited("a", |t| t);
    let b = edited("b", |t| {
        t.replace("georep-us-east", "georep-b")
            .replace("36441", "36449")
            .replace("10.10.0.0/16", "10.50.0.0/16")
            .replace("10.110.0.0/16", "10.150.0.0/16")
            .replace("18080", "19080")
    });
    let rule = rule_of(check_sites(&[a, b]));
    assert_eq!(rule, "host port 127.0.0.1:18443 is already used by a.yaml");
}

#[test]
fn an_unpinned_node_image_is_refused() {
    let config = edited("a", |t| {
        t.replace(
            "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
            "kindest/node:v1.35.8",
        )
    });
    let rule = rule_of(check_sites(&[config]));
    assert!(
        rule.contains("node image kindest/node:v1.35.8 is not pinned"),
        "{rule}"
    );
}

#[test]
fn a_second_control_plane_is_refused() {
    let config = edited("a", |t| {
        format!(
            "{t}  - role: control-plane\n    image: kindest/node:v1.35.8@sha256:{}\n",
            "0".repeat(64)
        )
    });
    assert_eq!(
        rule_of(check_sites(&[config])),
        "has 2 control-plane nodes, needs exactly one"
    );
}

#[test]
fn an_api_server_off_loopback_is_refused() {
    let config = edited("a", |t| {
        t.replace(
            "apiServerAddress: \"127.0.0.1\"",
            "apiServerAddress: \"0.0.0.0\"",
        )
    });
    assert_eq!(
        rule_of(check_sites(&[config])),
        "apiServerAddress 0.0.0.0 is not loopback (127.0.0.1)"
    );
}

#[test]
fn a_cluster_without_an_ingress_ready_node_is_refused() {
    let config = edited("a", |t| {
        t.replace("ingress-ready: \"true\"", "ingress-ready: \"false\"")
    });
    assert_eq!(
        rule_of(check_sites(&[config])),
        "no node labelled ingress-ready=true publishes container port 80"
    );
}

#[test]
fn pinned_images_need_a_version_tag_and_a_full_digest() {
    let digest = "a".repeat(64);
    assert!(is_pinned_image(&format!(
        "kindest/node:v1.35.8@sha256:{digest}"
    )));
    assert!(!is_pinned_image("kindest/node:v1.35.8"));
    assert!(!is_pinned_image(&format!(
        "kindest/node:latest@sha256:{digest}"
    )));
    assert!(!is_pinned_image("kindest/node:v1.35.8@sha256:abc"));
    assert!(!is_pinned_image(&format!("kindest/node@sha256:{digest}")));
}
