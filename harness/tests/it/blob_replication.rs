//! Blob replication on the sites' real S3 buckets: pushed through one site, readable from
//! every default location with that location's own keys.

use bytes::Bytes;
use georep_harness::blobs::{self, digest_of};

use crate::local_sites::{GeoSites, set_quay_replicas, until};

#[tokio::test]
async fn a_blob_pushed_in_us_east_is_readable_from_eu_west_and_ap_south() {
    let geo = GeoSites::installed("blob-push", &["us-east", "eu-west", "ap-south"]).await;
    let env = &geo.env;
    let content = Bytes::from_static(b"a layer pushed through us-east");
    let pushed = env.push_blob("us-east", content.clone()).await.unwrap();
    assert_eq!(pushed.location, "us_east");
    assert_eq!(pushed.digest, digest_of(&content));
    let hex = pushed.digest.strip_prefix("sha256:").unwrap();
    assert_eq!(
        pushed.key,
        format!("datastorage/registry/sha256/{}/{hex}", &hex[..2])
    );

    let storage = env.site_storage("ap-south").await.unwrap();
    for location in ["eu_west", "ap_south"] {
        let bucket = storage.location(location).unwrap();
        let bytes = until(&format!("the blob in {location}"), async || {
            bucket.get(&pushed.digest).await.unwrap()
        })
        .await;
        assert_eq!(bytes, content, "{location} holds the same content");
        assert_eq!(digest_of(&bytes), pushed.digest);
        assert!(bucket.contains(&pushed.digest).await.unwrap());
        // The other location's keys do not open this bucket: the copy used its own.
        let mut foreign = bucket.clone();
        foreign.target.keys = storage.location("us_east").unwrap().target.keys;
        assert!(foreign.get(&pushed.digest).await.is_err(), "{location}");
    }
    assert!(env.replication().copied().len() >= 2);
    assert!(env.replication().last_error().is_none());
    geo.env.stop().await.unwrap();
}

#[tokio::test]
async fn a_push_through_a_site_without_ready_quay_pods_is_refused() {
    let geo = GeoSites::installed("blob-down", &["us-east"]).await;
    let site = &geo.env.sites()[0];
    set_quay_replicas(site, 0).await;
    until("us-east scaled down", async || {
        site.operator.ready_quay_pods().is_empty().then_some(())
    })
    .await;
    let storage = geo.env.site_storage("us-east").await.unwrap();
    assert_eq!(
        storage.ready_quay_pods, 0,
        "the cluster shows no ready quay pod"
    );
    let err = blobs::push(&storage, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, blobs::Error::NotServing { .. }), "{err}");
    assert!(err.to_string().contains("no ready quay pods"), "{err}");
    geo.env.stop().await.unwrap();
}
