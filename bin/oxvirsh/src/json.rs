//! `--json` output: small constructors over `serde_json::Value` and the renderer
//! (pretty-printed, one trailing newline). The schema is documented in
//! `docs/oxvirsh-json.md`.

pub use serde_json::Value;

/// A JSON object from (key, value) pairs (rendered with keys sorted).
pub fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

/// A JSON string.
pub fn str(s: &str) -> Value {
    Value::String(s.to_string())
}

/// A JSON number.
pub fn num<N: Into<serde_json::Number>>(n: N) -> Value {
    Value::Number(n.into())
}

/// Optional string: `null` when absent.
pub fn opt_str(s: Option<&str>) -> Value {
    s.map(str).unwrap_or(Value::Null)
}

/// Render with a trailing newline.
pub fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_types() {
        let v = obj(vec![("name", str("web")), ("id", num(1u32)), ("title", Value::Null)]);
        let r = render(&v);
        assert!(r.contains("\"title\": null"));
        assert!(r.ends_with("}\n"));
    }
}
