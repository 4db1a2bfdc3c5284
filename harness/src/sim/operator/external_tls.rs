//! Quay's certificate from a Secret of its own: an unmanaged `tls` component with
//! `secretRef` (a `kubernetes.io/tls` Secret with `tls.crt` and `tls.key`) instead of
//! `ssl.cert`/`ssl.key` in the config bundle.
//!
//! Follows upstream `controllers/quay/features.go` (`checkExternalTLSSecret`: the bundle must
//! not also hold `ssl.cert` or `ssl.key`; the Secret is read and checked by
//! `pkg/tls/validate.go` `FetchAndValidate`, labelled `quay.redhat.com/tls-secret=true`, and
//! its pair's hash, the last 8 hex digits of sha256(cert + key), is annotated as
//! `quay.redhat.com/tls-secret-hash` on every Deployment and pod template by
//! `pkg/middleware/middleware.go`, so a rotated certificate rolls the pods); a failure blocks
//! the rollout with `ConfigInvalid` and "external TLS secret error: ...". The pair then
//! stands where the bundle's would (`qctx.TLSCert`): [`with_pair`] gives the model a bundle
//! carrying it as `ssl.cert`/`ssl.key`, which never reach the rendered config Secret.
//! `controllers/quay/quayregistry_controller.go` (`hasNecessaryConfig`) skips the bundle's
//! TLS check for such a component; `pkg/cmpstatus/tls.go` reports `ComponentTLSReady` from
//! the Secret ([`condition_message`]).
//!
//! A change of a labelled Secret reconciles the registries naming it at once
//! (`findQuayRegistriesForSecret` in `controllers/quay/quayregistry_controller.go`;
//! [`watched`], [`registries_of`]); a Secret recreated without the label waits for the next
//! resync.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::components::Blocked;
use crate::quay::Bundle;

/// The label the operator puts on the Secret it reads (`v1.TLSSecretLabel`).
pub const LABEL: &str = "quay.redhat.com/tls-secret";
/// The annotation with the pair's hash (`v1.TLSSecretHashAnnotation`).
pub const HASH_ANNOTATION: &str = "quay.redhat.com/tls-secret-hash";

/// `secretRef.name` of the `tls` component in `spec`, if set.
#[must_use]
pub fn secret_ref(spec: &Value) -> Option<String> {
    spec["components"]
        .as_array()?
        .iter()
        .find(|c| c["kind"] == "tls")?["secretRef"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

/// A certificate and key read from the Secret, with their hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// `tls.crt`.
    pub cert: Vec<u8>,
    /// `tls.key`.
    pub key: Vec<u8>,
    /// Last 8 hex digits of sha256(cert + key).
    pub hash: String,
}

/// What the Secret is: absent, or its `type` and data.
#[derive(Debug, Clone, Copy)]
pub enum Found<'a> {
    /// No such Secret.
    Missing,
    /// The Secret's `type` and `data`.
    Secret(&'a str, &'a std::collections::BTreeMap<String, Vec<u8>>),
}

/// Why the pair cannot be used, in upstream's words (`FetchAndValidate`).
fn read(name: &str, found: Found<'_>) -> Result<Pair, String> {
    let Found::Secret(type_, data) = found else {
        return Err(format!(
            "unable to get TLS secret \"{name}\": secrets \"{name}\" not found"
        ));
    };
    if type_ != "kubernetes.io/tls" {
        return Err(format!(
            "TLS secret \"{name}\" must be type \"kubernetes.io/tls\", got \"{type_}\""
        ));
    }
    let get = |key: &str| data.get(key).filter(|v| !v.is_empty()).cloned();
    let cert = get("tls.crt").ok_or(format!("TLS secret \"{name}\" missing or empty tls.crt"))?;
    let key = get("tls.key").ok_or(format!("TLS secret \"{name}\" missing or empty tls.key"))?;
    let digest = hex::encode(
        Sha256::new()
            .chain_update(&cert)
            .chain_update(&key)
            .finalize(),
    );
    Ok(Pair {
        hash: digest[digest.len() - 8..].to_owned(),
        cert,
        key,
    })
}

/// Checks the bundle against the Secret `name` and reads the pair (`checkExternalTLSSecret`).
///
/// # Errors
/// [`Blocked`] `ConfigInvalid` when the bundle also holds a certificate or key, or the
/// Secret is missing, of another type, or lacks a key.
pub fn pair(bundle: &Bundle, name: &str, found: Found<'_>) -> Result<Pair, Blocked> {
    let blocked = |why: String| Blocked {
        reason: "ConfigInvalid",
        message: format!("external TLS secret error: {why}"),
    };
    for key in ["ssl.cert", "ssl.key"] {
        if bundle.data.contains_key(key) {
            return Err(blocked(format!(
                "tls component secretRef and {key} in configBundleSecret are mutually exclusive"
            )));
        }
    }
    read(name, found).map_err(blocked)
}

/// `ComponentTLSReady`'s message for a `tls` with `secretRef` (`pkg/cmpstatus/tls.go`):
/// `Ok` ready with "Using externally managed TLS certificate", `Err` not ready with why.
///
/// # Errors
/// The reason the component is not ready.
pub fn condition_message(bundle: &Bundle, name: &str, found: Found<'_>) -> Result<String, String> {
    for key in ["ssl.cert", "ssl.key"] {
        if bundle.data.contains_key(key) {
            return Err(format!(
                "tls component secretRef and {key} in configBundleSecret are mutually exclusive"
            ));
        }
    }
    match (found, read(name, found)) {
        (Found::Missing, _) => Err("External TLS secret not found".to_owned()),
        (_, Err(why)) => Err(why),
        (_, Ok(_)) => Ok("Using externally managed TLS certificate".to_owned()),
    }
}

/// `bundle` with `pair` as its `ssl.cert`/`ssl.key`: the certificate the rest of the model
/// uses (the Route's passthrough, `EXTERNAL_TLS_TERMINATION`, the host check).
#[must_use]
pub fn with_pair(mut bundle: Bundle, pair: &Pair) -> Bundle {
    bundle.data.insert("ssl.cert".into(), pair.cert.clone());
    bundle.data.insert("ssl.key".into(), pair.key.clone());
    bundle
}

/// Annotates every rendered Deployment and its pod template with the pair's hash.
pub fn annotate(objects: &mut [Value], hash: &str) {
    for object in objects.iter_mut().filter(|o| o["kind"] == "Deployment") {
        for meta in ["/metadata", "/spec/template/metadata"] {
            if let Some(meta) = object.pointer_mut(meta).filter(|m| m.is_object()) {
                if !meta["annotations"].is_object() {
                    meta["annotations"] = serde_json::json!({});
                }
                meta["annotations"][HASH_ANNOTATION] = Value::String(hash.to_owned());
            }
        }
    }
}

/// The Secrets the registry controller watches: those the operator labelled.
#[must_use]
pub fn watched() -> kube::runtime::watcher::Config {
    kube::runtime::watcher::Config::default().labels(&format!("{LABEL}=true"))
}

/// The registries among `registries` (`QuayRegistry` objects of resource `ar`) whose `tls`
/// names `secret` in its `secretRef`, as references to reconcile.
#[must_use]
pub fn registries_of(
    registries: &[std::sync::Arc<kube::api::DynamicObject>],
    secret: &k8s_openapi::api::core::v1::Secret,
    ar: &kube::api::ApiResource,
) -> Vec<kube::runtime::reflector::ObjectRef<kube::api::DynamicObject>> {
    use kube::ResourceExt as _;
    registries
        .iter()
        .filter(|r| {
            r.namespace() == secret.namespace()
                && secret_ref(&r.data["spec"]).as_deref() == Some(secret.name_any().as_str())
        })
        .map(|r| kube::runtime::reflector::ObjectRef::from_obj_with(r.as_ref(), ar.clone()))
        .collect()
}

/// What [`resolve`] found for one reconcile.
#[derive(Debug)]
pub struct Resolved {
    /// The bundle the model goes on with: carrying the Secret's pair, or blocked.
    pub bundle: Result<Bundle, Blocked>,
    /// The pair's hash for [`annotate`], when a pair is used.
    pub hash: Option<String>,
    /// `ComponentTLSReady` for a `tls` with `secretRef` ([`condition_message`]).
    pub condition: Option<Result<String, String>>,
}

/// Reads the Secret of the `tls` component's `secretRef` in `spec` (if any) for `bundle`,
/// and labels it [`LABEL`] when it is used.
///
/// # Errors
/// Reading or labelling the Secret failed (a missing Secret is not an error: it blocks).
pub async fn resolve(
    client: &kube::Client,
    ns: &str,
    spec: &Value,
    bundle: Result<Bundle, Blocked>,
) -> Result<Resolved, kube::Error> {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, Patch, PatchParams};

    let (Some(name), Ok(b)) = (secret_ref(spec), &bundle) else {
        return Ok(Resolved {
            bundle,
            hash: None,
            condition: None,
        });
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = secrets.get_opt(&name).await?;
    let data: std::collections::BTreeMap<String, Vec<u8>> = secret
        .iter()
        .flat_map(|s| s.data.iter().flatten())
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let type_ = secret
        .as_ref()
        .and_then(|s| s.type_.clone())
        .unwrap_or_default();
    let found = match &secret {
        Some(_) => Found::Secret(&type_, &data),
        None => Found::Missing,
    };
    let condition = Some(condition_message(b, &name, found));
    let (bundle, hash) = match pair(b, &name, found) {
        Ok(pair) => {
            let labelled = secret
                .as_ref()
                .and_then(|s| s.metadata.labels.as_ref())
                .and_then(|l| l.get(LABEL))
                .is_some_and(|v| v == "true");
            if !labelled {
                let patch = serde_json::json!({"metadata": {"labels": {LABEL: "true"}}});
                secrets
                    .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await?;
            }
            (Ok(with_pair(b.clone(), &pair)), Some(pair.hash))
        }
        Err(blocked) => (Err(blocked), None),
    };
    Ok(Resolved {
        bundle,
        hash,
        condition,
    })
}

#[cfg(test)]
mod tests;
