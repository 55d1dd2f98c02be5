//! Queries into the QMP schema (`query-qmp-schema`), with libvirt's query language:
//! `command/arg-type/member`, `+variant`, `*member-with-default`, `^enum-value`,
//! `$feature` and `!json-type` steps separated by `/`.

use serde_json::Value;
use std::collections::HashMap;

/// Schema entries by name.
pub type Schema<'a> = HashMap<&'a str, &'a Value>;

/// Outcome of a traversal step: found (1), not found (0) or malformed (error).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Found,
    NotFound,
    Bad,
}

struct Ctx<'q> {
    queries: &'q [&'q str],
    pos: usize,
    depth: usize,
}

impl<'q> Ctx<'q> {
    fn next(&mut self) -> &'q str {
        let q = self.queries.get(self.pos).copied().unwrap_or("");
        self.pos += 1;
        q
    }
    fn has_next(&self) -> bool {
        self.pos < self.queries.len()
    }
}

/// Whether `query` names something present in `schema`.
pub fn path_exists(query: &str, schema: &Schema<'_>) -> bool {
    let parts: Vec<&str> = query.split('/').collect();
    let Some(cmd) = parts.first() else { return false };
    if !schema.contains_key(cmd) {
        return false;
    }
    let mut ctx = Ctx { queries: &parts, pos: 1, depth: 0 };
    traverse(cmd, &mut ctx, schema) == Step::Found
}

fn find_named<'a>(arr: Option<&'a Value>, key: &str, name: &str) -> Option<&'a Value> {
    arr?.as_array()?.iter().find(|e| e.get(key).and_then(Value::as_str) == Some(name))
}

fn has_feature(feature: &str, elem: &Value) -> Step {
    let Some(features) = elem.get("features").and_then(Value::as_array) else { return Step::NotFound };
    for f in features {
        match f.as_str() {
            None => return Step::Bad,
            Some(s) if s == feature => return Step::Found,
            Some(_) => {}
        }
    }
    Step::NotFound
}

fn split_modifier(q: &str) -> (Option<char>, &str) {
    match q.chars().next() {
        Some(c) if !c.is_ascii_alphabetic() => (Some(c), &q[c.len_utf8()..]),
        _ => (None, q),
    }
}

fn traverse(name: &str, ctx: &mut Ctx<'_>, schema: &Schema<'_>) -> Step {
    ctx.depth += 1;
    if ctx.depth > 1000 {
        return Step::Bad;
    }
    let Some(cur) = schema.get(name).copied() else { return Step::Bad };
    if !ctx.has_next() {
        return Step::Found;
    }
    let Some(meta) = cur.get("meta-type").and_then(Value::as_str) else { return Step::Bad };
    match meta {
        "object" => {
            let (m, q) = split_modifier(ctx.next());
            match m {
                Some('^') | Some('!') => Step::NotFound,
                Some('$') => {
                    if ctx.has_next() {
                        Step::Bad
                    } else {
                        has_feature(q, cur)
                    }
                }
                _ => {
                    let obj = if m == Some('+') {
                        find_named(cur.get("variants"), "case", q)
                    } else {
                        let o = find_named(cur.get("members"), "name", q);
                        if m == Some('*') && o.is_some_and(|o| o.get("default").is_none()) {
                            return Step::NotFound;
                        }
                        o
                    };
                    match obj.and_then(|o| o.get("type")).and_then(Value::as_str) {
                        Some(t) => traverse(t, ctx, schema),
                        None => Step::NotFound,
                    }
                }
            }
        }
        "array" => match cur.get("element-type").and_then(Value::as_str) {
            Some(t) => traverse(t, ctx, schema),
            None => Step::Bad,
        },
        "command" | "event" => {
            let (m, q) = split_modifier(ctx.next());
            match m {
                Some('^') | Some('!') | Some('+') | Some('*') => Step::NotFound,
                Some('$') => {
                    if ctx.has_next() {
                        Step::Bad
                    } else {
                        has_feature(q, cur)
                    }
                }
                _ => match cur.get(q).and_then(Value::as_str) {
                    Some(t) => traverse(t, ctx, schema),
                    None => Step::NotFound,
                },
            }
        }
        "enum" => {
            let q = ctx.next().to_string();
            let Some(value) = q.strip_prefix('^') else { return Step::NotFound };
            let mut feature = None;
            if ctx.has_next() {
                let f = ctx.next().to_string();
                match f.strip_prefix('$') {
                    Some(f) if !ctx.has_next() => feature = Some(f.to_string()),
                    _ => return Step::Bad,
                }
            }
            if let Some(members) = cur.get("members").and_then(Value::as_array) {
                for m in members {
                    let Some(n) = m.get("name").and_then(Value::as_str) else { return Step::Bad };
                    if n == value {
                        return match &feature {
                            Some(f) => has_feature(f, m),
                            None => Step::Found,
                        };
                    }
                }
                return Step::NotFound;
            }
            if feature.is_some() {
                return Step::NotFound;
            }
            match cur.get("values").and_then(Value::as_array) {
                Some(vals) => {
                    if vals.iter().any(|v| v.as_str() == Some(value)) {
                        Step::Found
                    } else {
                        Step::NotFound
                    }
                }
                None => Step::Bad,
            }
        }
        "builtin" => {
            let q = ctx.next().to_string();
            let Some(t) = q.strip_prefix('!') else { return Step::NotFound };
            if ctx.has_next() {
                return Step::Bad;
            }
            match cur.get("json-type").and_then(Value::as_str) {
                Some(j) if j == t => Step::Found,
                Some(_) => Step::NotFound,
                None => Step::Bad,
            }
        }
        "alternate" => {
            let Some(members) = cur.get("members").and_then(Value::as_array) else { return Step::Bad };
            let (pos, depth) = (ctx.pos, ctx.depth);
            for m in members {
                let Some(t) = m.get("type").and_then(Value::as_str) else { continue };
                ctx.pos = pos;
                ctx.depth = depth;
                let r = traverse(t, ctx, schema);
                if r != Step::NotFound {
                    return r;
                }
            }
            Step::NotFound
        }
        _ => Step::NotFound,
    }
}
