//! Redaction of script output beyond the exact match of [`Secrets::redact`] (F7 of the 2026-12 review):
//! common encodings of each secret are registered as secrets of the same name, `observed` is redacted
//! string by string (keys too) rather than on its JSON text, and a script's output is redacted whole
//! before anything cuts it to a tail.
//!
//! What cannot be caught: a secret split across strings or lines (`"RelayK" "ey-77"`), printed
//! partly, transformed (hashed, reversed, compressed, encrypted), or in an encoding not listed in
//! [`encodings`]. Redaction is a safety net for scripts that print too much, not a sandbox.

use base64::Engine as _;
use serde_json::Value;

use crate::host::Outcome;
use crate::support::secrets::Secrets;

/// The shortest run of base64 characters, taken from the middle of an encoding, that is redacted as a
/// secret: shorter runs would match unrelated base64 text by chance.
const MIN_BASE64_CORE: usize = 8;

/// Add `value` under `name`, and then its common encodings under the same name, so that every
/// [`Secrets::redact`] also replaces them. The encodings are added only once the value itself was
/// accepted: `Secrets::get` must keep returning the value, never an encoding of it.
pub fn add_secret(secrets: &mut Secrets, name: &str, value: &str) {
    secrets.add(name, value);
    if secrets.get(name) != Some(value) {
        return;
    }
    for e in encodings(value) {
        secrets.add(name, &e);
    }
}

/// The forms of `value` a script is likely to print besides the value itself:
/// - base64, standard and URL-safe, with and without padding;
/// - the base64 characters that depend on the value's bytes only, at each of the three alignments, so
///   that the value is caught inside the base64 of a longer text (`base64("key=VALUE")`);
/// - JSON string escaping (`"` → `\"`, `\` → `\\`, controls), and the `\u00XX` escaping of
///   `<`, `>`, `&` and `'` that PowerShell's `ConvertTo-Json` uses;
/// - hexadecimal, lower and upper case.
pub fn encodings(value: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = value.as_bytes();
    let mut out = vec![
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ];
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(bytes);
            let text = engine.encode(&shifted);
            // Character c holds bits [6c, 6c + 6) of the stream; the value holds bits
            // [8·offset, 8·(offset + len)). Keep the characters that lie wholly inside the value.
            let first = (8 * offset).div_ceil(6);
            let end = 8 * (offset + bytes.len()) / 6;
            if end > first && end - first >= MIN_BASE64_CORE {
                out.push(text[first..end].to_string());
            }
        }
    }
    // A JSON string is always quoted: its escaped text is what lies between the quotes.
    let quoted = serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into());
    let json = quoted[1..quoted.len() - 1].to_string();
    let ps = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    out.push(json);
    out.push(ps);
    let hex = crate::support::hashing::hex(bytes);
    out.push(hex.to_ascii_uppercase());
    out.push(hex);
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|e| !e.is_empty() && e != value && seen.insert(e.clone()));
    out
}

/// `v` with every string redacted, object keys included, and any number whose text holds a secret
/// replaced by the redacted text: each string is redacted as the script meant it, not as JSON escaped
/// it (a secret holding `"` or `\` is caught).
pub fn value(secrets: &Secrets, v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(secrets.redact(&s)),
        Value::Number(n) => {
            let text = n.to_string();
            let red = secrets.redact(&text);
            if red == text {
                Value::Number(n)
            } else {
                Value::String(red)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|x| value(secrets, x)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, x)| (secrets.redact(&k), value(secrets, x)))
                .collect(),
        ),
        other => other,
    }
}

/// A script's outcome with its whole stdout and stderr redacted: build a [`crate::host::ProcessError`]
/// from this, so that its cut to the last 4000 bytes never halves a secret.
pub fn outcome(secrets: &Secrets, o: &Outcome) -> Outcome {
    Outcome {
        stdout: secrets.redact(&o.stdout),
        stderr: secrets.redact(&o.stderr),
        ..o.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets(v: &str) -> Secrets {
        let mut s = Secrets::default();
        add_secret(&mut s, "k", v);
        s
    }

    #[test]
    fn get_still_returns_the_value() {
        let s = secrets("RelayKey-Plain-77");
        assert_eq!(s.get("k"), Some("RelayKey-Plain-77"));
    }

    #[test]
    fn base64_forms_are_redacted_at_every_alignment() {
        let key = "RelayKey-Plain-77";
        let s = secrets(key);
        let std = base64::engine::general_purpose::STANDARD;
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for prefix in ["", "k", "ke", "key", "agent_key="] {
            for text in [
                std.encode(format!("{prefix}{key} and more")),
                url.encode(format!("{prefix}{key}\u{fffe}>>?")),
            ] {
                let red = s.redact(&text);
                assert!(red.contains("<secret:k>"), "{prefix:?}: {text} -> {red}");
            }
        }
        assert_eq!(s.redact(&std.encode(key)), "<secret:k>");
    }

    #[test]
    fn json_and_hex_forms_are_redacted() {
        let key = "Rel\"ay\\Key <77>";
        let s = secrets(key);
        let json = serde_json::to_string(key).unwrap();
        assert_eq!(s.redact(&json), "\"<secret:k>\"");
        assert_eq!(s.redact("Rel\\\"ay\\\\Key \\u003c77\\u003e"), "<secret:k>");
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(s.redact(&hex), "<secret:k>");
    }

    #[test]
    fn observed_is_redacted_string_by_string_keys_too() {
        let key = "Rel\"ay\\Key 77";
        let s = secrets(key);
        let v = json!({"raw": key, key: 1, "list": [format!("a {key} b"), {"deep": key}], "n": 3});
        let red = value(&s, v);
        let text = red.to_string();
        assert!(!text.contains("Rel"), "{text}");
        assert_eq!(red["raw"], "<secret:k>");
        assert_eq!(red["<secret:k>"], 1);
        assert_eq!(red["list"][0], "a <secret:k> b");
        assert_eq!(red["list"][1]["deep"], "<secret:k>");
        assert_eq!(red["n"], 3);
        let n = secrets("98765432109");
        assert_eq!(value(&n, json!(98765432109u64)), json!("<secret:k>"));
    }

    #[test]
    fn an_outcome_is_redacted_before_its_tail_is_cut() {
        let key = "3f9a0c7e-51b2-4d6e-9c0a-6b2f1e8d4a37";
        let s = secrets(key);
        let stderr = format!("{}{key}{}", "x".repeat(100), "y".repeat(3990));
        let o = Outcome {
            code: Some(1),
            stdout: String::new(),
            stderr,
            timed_out: false,
            duration: std::time::Duration::ZERO,
        };
        let e = crate::host::ProcessError::from_outcome("c", &outcome(&s, &o)).to_string();
        for w in key.as_bytes().windows(6) {
            assert!(!e.contains(std::str::from_utf8(w).unwrap()), "{e}");
        }
    }
}
