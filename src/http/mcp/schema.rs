//! Lean tool schemas: what schemars emits, minus what tells an agent nothing.

/// `schema` without what tells an agent nothing: `$schema`, the `format` (and a
/// `minimum: 0`) schemars puts on numbers, and `default: null`. Types, descriptions,
/// `required` and enums are kept, so a client validates arguments exactly as before.
pub(super) fn lean_schema(
    schema: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                let integer_format = map.get("format").and_then(|f| f.as_str()).is_some_and(|f| {
                    matches!(
                        f,
                        "uint"
                            | "uint8"
                            | "uint16"
                            | "uint32"
                            | "uint64"
                            | "int32"
                            | "int64"
                            | "double"
                            | "float"
                    )
                });
                if integer_format {
                    map.remove("format");
                    if map.get("minimum").and_then(|m| m.as_f64()) == Some(0.0) {
                        map.remove("minimum");
                    }
                }
                if map.get("default").is_some_and(|d| d.is_null()) {
                    map.remove("default");
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value = serde_json::Value::Object(schema.clone());
    if let serde_json::Value::Object(map) = &mut value {
        map.remove("$schema");
    }
    walk(&mut value);
    match value {
        serde_json::Value::Object(map) => map,
        _ => schema.clone(),
    }
}
