//! Just enough of the Kubernetes protobuf wire format to accept the typed-client requests
//! kubectl 1.32 sends as protobuf: `create namespace`, `create secret generic` and
//! `create configmap`.
//!
//! Decodes the `k8s\0` + `runtime.Unknown` envelope and the `Namespace` / `Secret` /
//! `ConfigMap` messages (metadata name, generateName, namespace, labels, annotations; data,
//! binaryData and type) into JSON objects. Everything else is refused (415); replies are
//! always JSON.

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// A protobuf body that cannot be decoded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The body lacks the `k8s\0` magic prefix.
    #[error("protobuf body lacks the k8s magic prefix")]
    Magic,
    /// The wire data is truncated or malformed.
    #[error("malformed protobuf at byte {offset}")]
    Malformed {
        /// Where decoding stopped.
        offset: usize,
    },
    /// The kind is not one we decode.
    #[error("protobuf bodies are not supported for kind {kind}")]
    UnsupportedKind {
        /// The kind sent.
        kind: String,
    },
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

enum Field<'a> {
    Varint,
    Bytes(&'a [u8]),
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .data
                .get(self.pos)
                .ok_or(Error::Malformed { offset: self.pos })?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error::Malformed { offset: self.pos })
    }

    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, Error> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => {
                self.varint()?;
                Field::Varint
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| Error::Malformed { offset: self.pos })?;
                let end = self.pos.checked_add(len).filter(|e| *e <= self.data.len());
                let end = end.ok_or(Error::Malformed { offset: self.pos })?;
                let bytes = &self.data[self.pos..end];
                self.pos = end;
                Field::Bytes(bytes)
            }
            _ => return Err(Error::Malformed { offset: self.pos }),
        };
        Ok(Some((key >> 3, field)))
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn map_entry(bytes: &[u8]) -> Result<(String, Vec<u8>), Error> {
    let mut r = Reader::new(bytes);
    let (mut key, mut value) = (String::new(), Vec::new());
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(b)) => key = text(b),
            (2, Field::Bytes(b)) => value = b.to_vec(),
            _ => {}
        }
    }
    Ok((key, value))
}

fn object_meta(bytes: &[u8]) -> Result<Value, Error> {
    let mut r = Reader::new(bytes);
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    while let Some((n, f)) = r.next()? {
        if let Field::Bytes(b) = f {
            match n {
                1 if !b.is_empty() => drop(meta.insert("name".into(), json!(text(b)))),
                2 if !b.is_empty() => drop(meta.insert("generateName".into(), json!(text(b)))),
                3 if !b.is_empty() => drop(meta.insert("namespace".into(), json!(text(b)))),
                11 => {
                    let (k, v) = map_entry(b)?;
                    labels.insert(k, json!(text(&v)));
                }
                12 => {
                    let (k, v) = map_entry(b)?;
                    annotations.insert(k, json!(text(&v)));
                }
                _ => {}
            }
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    Ok(Value::Object(meta))
}

/// Decode a protobuf-encoded `Namespace` or `Secret` into its JSON form.
///
/// # Errors
/// [`Error::Magic`], [`Error::Malformed`], or [`Error::UnsupportedKind`] for other kinds.
pub fn decode(expected_kind: &str, body: &[u8]) -> Result<Value, Error> {
    let payload = body.strip_prefix(b"k8s\0").ok_or(Error::Magic)?;
    let mut envelope = Reader::new(payload);
    let mut raw: &[u8] = &[];
    while let Some((n, f)) = envelope.next()? {
        if let (2, Field::Bytes(b)) = (n, f) {
            raw = b;
        }
    }
    let mut r = Reader::new(raw);
    let mut object = json!({"apiVersion": "v1", "kind": expected_kind});
    let b64 = base64::engine::general_purpose::STANDARD;
    match expected_kind {
        "Namespace" | "Secret" | "ConfigMap" => {}
        other => {
            return Err(Error::UnsupportedKind {
                kind: other.to_owned(),
            });
        }
    }
    while let Some((n, f)) = r.next()? {
        let Field::Bytes(b) = f else { continue };
        match (expected_kind, n) {
            (_, 1) => object["metadata"] = object_meta(b)?,
            ("Secret", 2) => {
                let (k, v) = map_entry(b)?;
                object["data"][k] = json!(b64.encode(v));
            }
            ("Secret", 3) if !b.is_empty() => object["type"] = json!(text(b)),
            ("ConfigMap", 2) => {
                let (k, v) = map_entry(b)?;
                object["data"][k] = json!(text(&v));
            }
            ("ConfigMap", 3) => {
                let (k, v) = map_entry(b)?;
                object["binaryData"][k] = json!(b64.encode(v));
            }
            _ => {}
        }
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_namespace_kubectl_create_sends() {
        let mut body = b"k8s\0".to_vec();
        body.extend_from_slice(&[0x0a, 0x0f, 0x0a, 0x02, b'v', b'1', 0x12, 0x09]);
        body.extend_from_slice(b"Namespace");
        body.extend_from_slice(&[
            0x12, 0x1b, 0x0a, 0x13, 0x0a, 0x03, b'f', b'o', b'o', 0x12, 0x00, 0x1a, 0x00, 0x22,
            0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x12, 0x00, 0x1a, 0x02, 0x0a,
            0x00, 0x1a, 0x00, 0x22, 0x00,
        ]);
        let ns = decode("Namespace", &body).unwrap();
        assert_eq!(ns["metadata"]["name"], "foo");
        assert_eq!(ns["kind"], "Namespace");
    }

    #[test]
    fn rejects_body_without_magic() {
        assert_eq!(decode("Namespace", b"{}"), Err(Error::Magic));
    }
}
