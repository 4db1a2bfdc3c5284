//! One storage location, with a bucket of its own, per benchmarked site: the provider refuses
//! two sites with one location (each site prefers its own storage), so `size` sites over the
//! three clusters need `size` locations. The first site on each cluster keeps the cluster's
//! own location and bucket; the others get `<location>_<i>` with the bucket `<bucket>-<i>`
//! on the same S3 server, made here.

use serde_json::{Map, Value};

use crate::services::s3_client::{S3Client, S3Error, S3Keys};
use crate::services::secret::Secret;

/// A site's own bucket could not be created.
#[derive(Debug, thiserror::Error)]
#[error("create bucket {bucket}")]
pub struct BucketError {
    /// The bucket.
    pub bucket: String,
    /// What the S3 server said.
    #[source]
    pub source: Box<S3Error>,
}

/// The location of site `i` when sites go round-robin onto `clusters`.
#[must_use]
pub fn site_location(i: usize, clusters: &[String]) -> String {
    let cluster = &clusters[i % clusters.len()];
    if i < clusters.len() {
        cluster.clone()
    } else {
        format!("{cluster}_{i}")
    }
}

/// The `storage` variable for `size` sites on `clusters`: `base` (the clusters' own entries,
/// by location, as `LocalEnv::tfvars` writes them), and one per extra location with its own
/// bucket, created on its cluster's S3 server.
///
/// # Errors
/// [`BucketError`] when a bucket cannot be created.
pub async fn storage(
    base: &Map<String, Value>,
    clusters: &[String],
    size: usize,
) -> Result<Value, BucketError> {
    let mut storage = base.clone();
    for i in clusters.len()..size {
        let cluster = &clusters[i % clusters.len()];
        let Some(entry) = base.get(cluster) else {
            continue;
        };
        let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
        let bucket = format!("{}-{i}", text("bucket"));
        let endpoint = format!("http://{}:{}", text("hostname"), entry["port"]);
        let keys = S3Keys {
            access_key: text("access_key"),
            secret_key: Secret::new(text("secret_key")),
        };
        let created = match S3Client::new(&endpoint, &text("region"), &keys) {
            Ok(s3) => s3.create_bucket(&bucket).await,
            Err(e) => Err(e),
        };
        created.map_err(|source| BucketError {
            bucket: bucket.clone(),
            source: Box::new(source),
        })?;
        let mut own = entry.clone();
        own["bucket"] = Value::String(bucket);
        storage.insert(site_location(i, clusters), own);
    }
    Ok(Value::Object(storage))
}

#[cfg(test)]
mod tests {
    use super::site_location;

    #[test]
    fn every_site_gets_a_location_of_its_own() {
        let clusters = ["us_east".to_owned(), "eu_west".to_owned()];
        let all: Vec<String> = (0..5).map(|i| site_location(i, &clusters)).collect();
        assert_eq!(
            all,
            ["us_east", "eu_west", "us_east_2", "eu_west_3", "us_east_4"]
        );
    }
}
