//! Hand-rolled JSON writing for user payloads, the hot path of 25k-user bulk listings.
//! serde's generic serializers are compiled at this crate's debug opt-level, which made big lists take seconds.

use std::fmt::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::Value;

/// Appends `s` as a JSON string literal.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    if is_plain(s.as_bytes()) {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Nothing to escape. A plain indexed loop: iterator adaptors cost ~5x more unoptimised.
fn is_plain(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x20 || c == b'"' || c == b'\\' {
            return false;
        }
        i += 1;
    }
    true
}

/// Naive ISO without chrono's strftime parser (slow unoptimised): `2027-01-01T00:00:00`.
pub(crate) fn naive_iso(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Appends a JSON array, writing each item with `f`.
pub(crate) fn array<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut f: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        f(out, item);
    }
    out.push(']');
}

/// Appends a JSON object with one member per item: `key` names it, `f` writes its value.
pub(crate) fn map<'k, T>(
    out: &mut String,
    items: impl IntoIterator<Item = (&'k str, T)>,
    mut f: impl FnMut(&mut String, T),
) {
    out.push('{');
    for (i, (key, item)) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, key);
        out.push(':');
        f(out, item);
    }
    out.push('}');
}

/// An object being written; fields are appended in call order and `end` closes it.
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    /// Keys are literals in this crate, so they are written without escaping.
    fn key(&mut self, k: &'static str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.out
    }

    pub fn str(&mut self, k: &'static str, v: &str) -> &mut Self {
        string(self.key(k), v);
        self
    }

    pub fn opt_str(&mut self, k: &'static str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    pub fn int(&mut self, k: &'static str, v: i64) -> &mut Self {
        let out = self.key(k);
        let _ = write!(out, "{v}");
        self
    }

    pub fn opt_int(&mut self, k: &'static str, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(k, v),
            None => self.null(k),
        }
    }

    pub fn bool(&mut self, k: &'static str, v: bool) -> &mut Self {
        self.key(k).push_str(if v { "true" } else { "false" });
        self
    }

    pub fn null(&mut self, k: &'static str) -> &mut Self {
        self.key(k).push_str("null");
        self
    }

    /// A `serde_json::Value`, through its `Display` (compiled optimised inside serde_json).
    pub fn value(&mut self, k: &'static str, v: &Value) -> &mut Self {
        let out = self.key(k);
        let _ = write!(out, "{v}");
        self
    }

    pub fn ints(&mut self, k: &'static str, v: &[i64]) -> &mut Self {
        array(self.key(k), v, |o, i| {
            let _ = write!(o, "{i}");
        });
        self
    }

    pub fn strs<S: AsRef<str>>(&mut self, k: &'static str, v: &[S]) -> &mut Self {
        array(self.key(k), v, |o, s| string(o, s.as_ref()));
        self
    }

    /// A field whose value `f` writes itself (nested objects, arrays).
    pub fn with(&mut self, k: &'static str, f: impl FnOnce(&mut String)) -> &mut Self {
        f(self.key(k));
        self
    }

    pub fn end(&mut self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_valid_json() {
        let mut s = String::new();
        Obj::new(&mut s)
            .str("a", "q\"uote\\\n\u{1}é")
            .int("b", -5)
            .opt_int("c", None)
            .bool("d", true)
            .ints("e", &[1, 2])
            .strs("f", &["x"])
            .value("g", &json!({"k": [1]}))
            .with("h", |o| Obj::new(o).str("i", "j").end())
            .end();
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v,
            json!({"a": "q\"uote\\\n\u{1}é", "b": -5, "c": null, "d": true, "e": [1, 2],
                   "f": ["x"], "g": {"k": [1]}, "h": {"i": "j"}})
        );
        let t = DateTime::from_timestamp(1_801_440_000, 0).unwrap();
        assert_eq!(naive_iso(t), t.format("%Y-%m-%dT%H:%M:%S").to_string());
    }
}
