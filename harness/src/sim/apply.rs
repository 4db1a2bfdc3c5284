//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Placeholder semantics until field ownership lands: apply merges the applied
//! configuration into the live object (create if absent) and records no managers.

use serde_json::Value;

use crate::sim::patch;
use crate::sim::resources::ResourceType;
use crate::sim::status::ApiError;

/// Record that `manager` wrote `new` (an Update operation) in `new`'s managedFields.
pub fn record_update(
    _t: &ResourceType,
    _old: Option<&Value>,
    _new: &mut Value,
    _manager: &str,
    _sub: Option<&str>,
) {
}

/// Apply `applied` as `manager` onto `live` (absent: create), returning the new object.
///
/// # Errors
/// `Conflict` when another manager owns a field with a different value and `force` is off.
pub fn apply(
    _t: &ResourceType,
    live: Option<&Value>,
    applied: &Value,
    _manager: &str,
    _force: bool,
    _sub: Option<&str>,
) -> Result<Value, ApiError> {
    let mut object = live.cloned().unwrap_or(Value::Null);
    patch::merge_patch(&mut object, applied);
    Ok(object)
}
