//! OTLP values into JSON, faithfully, with text escaped exactly once.
//!
//! `AnyValue` maps onto JSON without loss except for what JSON cannot hold:
//! kvlist → object (the last of duplicate keys wins, as OTLP asks), array →
//! array, int → number, bytes → standard base64 text, and a double that is
//! NaN or infinite → the string `"NaN"`, `"Infinity"` or `"-Infinity"` (the
//! spelling OTLP/JSON itself uses). An empty `AnyValue` is `null`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use agentrace_core::text::{escape_bytes, sanitize_json, unescape, ESCAPE_CHAR};
use base64::Engine;
use serde_json::{Map, Number, Value};

use super::wire::{AnyValue, KeyValue, Value as WireValue, WireForm};

/// The stored text of a wire text field (see [`WireForm`]).
pub fn text(form: WireForm, bytes: &[u8]) -> String {
    match form {
        WireForm::Protobuf => escape_bytes(bytes).into_owned(),
        // The JSON reader escaped while parsing and only ever stores UTF-8.
        WireForm::Json => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Like [`text`], consuming the bytes to avoid a copy in the common case.
pub fn into_text(form: WireForm, bytes: Vec<u8>) -> String {
    let needs_escaping = form == WireForm::Protobuf && matches!(escape_bytes(&bytes), Cow::Owned(_));
    if needs_escaping {
        return text(form, &bytes);
    }
    String::from_utf8(bytes).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

pub fn to_json(form: WireForm, value: AnyValue) -> Value {
    match value.value {
        None => Value::Null,
        Some(WireValue::String(bytes)) => Value::String(into_text(form, bytes)),
        Some(WireValue::Bool(flag)) => Value::Bool(flag),
        Some(WireValue::Int(number)) => Value::Number(number.into()),
        Some(WireValue::Double(number)) => double_to_json(number),
        Some(WireValue::Array(array)) => {
            Value::Array(array.values.into_iter().map(|item| to_json(form, item)).collect())
        }
        Some(WireValue::Kvlist(list)) => Value::Object(key_values_to_map(form, list.values).into_iter().collect()),
        Some(WireValue::Bytes(bytes)) => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    }
}

pub fn double_to_json(number: f64) -> Value {
    match Number::from_f64(number) {
        Some(number) => Value::Number(number),
        None if number.is_nan() => Value::String("NaN".into()),
        None if number > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// Attributes as a sorted map; the last of duplicate keys wins.
pub fn key_values_to_map(form: WireForm, key_values: Vec<KeyValue>) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for key_value in key_values {
        let value = key_value.value.map_or(Value::Null, |value| to_json(form, value));
        map.insert(into_text(form, key_value.key), value);
    }
    map
}

pub fn key_values_to_object(form: WireForm, key_values: Vec<KeyValue>) -> Map<String, Value> {
    key_values_to_map(form, key_values).into_iter().collect()
}

/// Parses JSON that arrived inside an (escaped) attribute string, so that
/// the parsed strings are escaped exactly once too: escaped tokens in the
/// text are first turned back into the original bytes.
pub fn parse_embedded_json(escaped: &str) -> Option<Value> {
    let parsed = if escaped.contains(ESCAPE_CHAR) {
        // A raw NUL is not valid inside a JSON string; as `\u0000` it is, and
        // sanitizing turns it back into its token.
        let mut original = Vec::with_capacity(escaped.len() + 16);
        for byte in unescape(escaped) {
            match byte {
                0 => original.extend_from_slice(b"\\u0000"),
                other => original.push(other),
            }
        }
        serde_json::from_slice(&sanitize_json(&original))
    } else {
        serde_json::from_slice(&sanitize_json(escaped.as_bytes()))
    };
    parsed.ok()
}

/// A JSON-valued attribute: structured values as they are, strings holding
/// a JSON object or array parsed, any other string kept as a string.
pub fn json_or_text(value: Value) -> Value {
    match value {
        Value::String(text) => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                if let Some(parsed) = parse_embedded_json(&text) {
                    return parsed;
                }
            }
            Value::String(text)
        }
        other => other,
    }
}

/// A token count sent as an int, an integral double or a numeric string.
pub fn as_count(value: &Value) -> Option<i64> {
    let count = match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number.as_f64().filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15).map(|float| float as i64)
        }),
        Value::String(text) => {
            let text = text.trim();
            text.parse::<i64>().ok().or_else(|| {
                text.parse::<f64>().ok().filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15).map(|f| f as i64)
            })
        }
        _ => None,
    }?;
    (count >= 0).then_some(count)
}

/// A non-empty string value.
pub fn as_text(value: &Value) -> Option<&str> {
    value.as_str().filter(|text| !text.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::otlp::wire::{ArrayValue, KeyValueList};

    fn string(text: &[u8]) -> AnyValue {
        AnyValue { value: Some(WireValue::String(text.to_vec())) }
    }

    #[test]
    fn every_variant_maps_faithfully() {
        let list = AnyValue {
            value: Some(WireValue::Kvlist(KeyValueList {
                values: vec![
                    KeyValue { key: b"k".to_vec(), value: Some(string(b"first")) },
                    KeyValue { key: b"k".to_vec(), value: Some(string(b"last")) },
                    KeyValue { key: b"n".to_vec(), value: Some(AnyValue { value: Some(WireValue::Int(i64::MAX)) }) },
                    KeyValue { key: b"empty".to_vec(), value: Some(AnyValue { value: None }) },
                    KeyValue {
                        key: b"items".to_vec(),
                        value: Some(AnyValue {
                            value: Some(WireValue::Array(ArrayValue {
                                values: vec![
                                    AnyValue { value: Some(WireValue::Bool(true)) },
                                    AnyValue { value: Some(WireValue::Double(f64::NAN)) },
                                    AnyValue { value: Some(WireValue::Double(f64::NEG_INFINITY)) },
                                    AnyValue { value: Some(WireValue::Double(0.5)) },
                                    AnyValue { value: Some(WireValue::Bytes(vec![0xde, 0xad, 0xbe, 0xef])) },
                                ],
                            })),
                        }),
                    },
                ],
            })),
        };
        assert_eq!(
            to_json(WireForm::Protobuf, list),
            json!({"k": "last", "n": i64::MAX, "empty": null, "items": [true, "NaN", "-Infinity", 0.5, "3q2+7w=="]})
        );
    }

    #[test]
    fn protobuf_text_is_escaped_once_and_embedded_json_too() {
        let raw = b"{\"a\": \"x\0y\", \"b\": \"\\u0000\"}\xFF";
        let stored = to_json(WireForm::Protobuf, string(raw));
        let Value::String(stored) = stored else { panic!("a string") };
        assert_eq!(stored, "{\"a\": \"x\u{2400}0y\", \"b\": \"\\u0000\"}\u{2400}xFF");
        let embedded = "{\"a\": \"x\u{2400}0y\", \"b\": \"\\u0000\", \"c\": \"\u{2400}\u{2400}\"}";
        assert_eq!(
            parse_embedded_json(embedded),
            Some(json!({"a": "x\u{2400}0y", "b": "\u{2400}0", "c": "\u{2400}\u{2400}"}))
        );
    }

    #[test]
    fn counts_accept_ints_doubles_and_numeric_strings() {
        assert_eq!(as_count(&json!(412)), Some(412));
        assert_eq!(as_count(&json!(412.0)), Some(412));
        assert_eq!(as_count(&json!(" 412 ")), Some(412));
        assert_eq!(as_count(&json!("412.0")), Some(412));
        assert_eq!(as_count(&json!(412.5)), None);
        assert_eq!(as_count(&json!(-1)), None);
        assert_eq!(as_count(&json!("many")), None);
    }
}
