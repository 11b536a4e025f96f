//! The attributes of one span while the normalizers read them.
//!
//! A normalizer *takes* an attribute when its value lands in a column;
//! whatever nobody takes becomes the span's metadata. Taking only what is
//! used keeps every attribute exactly once: in a column or in metadata.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde_json::{Map, Value};

use super::value::parse_embedded_json;

#[derive(Debug, Default)]
pub struct Attributes {
    map: BTreeMap<String, Value>,
}

impl Attributes {
    pub fn new(map: BTreeMap<String, Value>) -> Self {
        Attributes { map }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn take(&mut self, key: &str) -> Option<Value> {
        match self.map.get(key) {
            Some(value) if !value.is_null() => self.map.remove(key),
            _ => None,
        }
    }

    /// Takes `key` when `convert` accepts its value; otherwise leaves it.
    pub fn take_if<T>(&mut self, key: &str, convert: impl FnOnce(&Value) -> Option<T>) -> Option<T> {
        let converted = convert(self.get(key)?)?;
        self.map.remove(key);
        Some(converted)
    }

    /// The first of `keys` whose value `convert` accepts, taken.
    pub fn take_first<T>(&mut self, keys: &[&str], convert: impl Fn(&Value) -> Option<T>) -> Option<T> {
        keys.iter().find_map(|key| self.take_if(key, &convert))
    }

    /// Rewrites the value of `key`, when present.
    pub fn replace(&mut self, key: &str, rewrite: impl FnOnce(Value) -> Value) {
        if let Some(value) = self.map.get_mut(key) {
            *value = rewrite(std::mem::take(value));
        }
    }

    /// Whether any attribute key starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.map
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .next()
            .is_some_and(|(key, _)| key.starts_with(prefix))
    }

    /// Takes the attributes `prefix.N.rest…` (OpenInference and OpenLLMetry
    /// flatten lists this way) and rebuilds the list: numeric path segments
    /// become array positions, the others object keys, and a list element
    /// that only wraps one object (`message`, `document`, `tool_call`, …) is
    /// unwrapped. `None` when no such attribute exists.
    pub fn take_flattened(&mut self, prefix: &str) -> Option<Value> {
        let start = format!("{prefix}.");
        let keys: Vec<String> = self
            .map
            .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(&start))
            .filter(|(key, _)| key[start.len()..].starts_with(|c: char| c.is_ascii_digit()))
            .map(|(key, _)| key.clone())
            .collect();
        if keys.is_empty() {
            return None;
        }
        let mut tree = Tree::Branch(BTreeMap::new());
        for key in keys {
            let value = self.map.remove(&key).unwrap_or(Value::Null);
            tree.insert(key[start.len()..].split('.'), value);
        }
        Some(tree.into_json())
    }

    /// Takes every attribute that names a flattened list and rebuilds it
    /// under its list name (`llm.tools.0.tool.json_schema` → `llm.tools`).
    pub fn take_all_flattened(&mut self, prefixes: &[&str]) -> Vec<(String, Value)> {
        prefixes.iter().filter_map(|prefix| Some(((*prefix).to_owned(), self.take_flattened(prefix)?))).collect()
    }

    pub fn into_metadata(self) -> Map<String, Value> {
        self.map.into_iter().collect()
    }
}

/// A path tree built from flattened keys.
enum Tree {
    Leaf(Value),
    Branch(BTreeMap<String, Tree>),
}

impl Tree {
    fn insert<'a>(&mut self, mut segments: impl Iterator<Item = &'a str>, value: Value) {
        let Some(segment) = segments.next() else {
            *self = Tree::Leaf(value);
            return;
        };
        if let Tree::Leaf(_) = self {
            *self = Tree::Branch(BTreeMap::new());
        }
        let Tree::Branch(children) = self else { unreachable!("made a branch above") };
        children.entry(segment.to_owned()).or_insert_with(|| Tree::Branch(BTreeMap::new())).insert(segments, value);
    }

    fn into_json(self) -> Value {
        match self {
            Tree::Leaf(value) => value,
            Tree::Branch(children) => {
                let all_numeric = !children.is_empty() && children.keys().all(|key| key.parse::<usize>().is_ok());
                if all_numeric {
                    let mut items: Vec<(usize, Tree)> =
                        children.into_iter().map(|(key, child)| (key.parse().unwrap_or(0), child)).collect();
                    items.sort_by_key(|(index, _)| *index);
                    Value::Array(items.into_iter().map(|(_, child)| unwrap_element(child.into_json())).collect())
                } else {
                    Value::Object(
                        children
                            .into_iter()
                            .map(|(key, child)| {
                                let value = child.into_json();
                                let value = if EMBEDDED_JSON_LEAVES.contains(&key.as_str()) {
                                    parse_leaf(value)
                                } else {
                                    value
                                };
                                (key, value)
                            })
                            .collect(),
                    )
                }
            }
        }
    }
}

/// Leaves of flattened lists that hold JSON as text (tool call arguments,
/// document metadata) and are worth reading as JSON.
const EMBEDDED_JSON_LEAVES: &[&str] = &["arguments", "metadata", "json_schema"];

fn parse_leaf(value: Value) -> Value {
    match &value {
        Value::String(text) if text.trim_start().starts_with(['{', '[']) => parse_embedded_json(text).unwrap_or(value),
        _ => value,
    }
}

/// `{"message": {...}}` → `{...}`: OpenInference wraps every list element
/// in an object named after the element's kind.
fn unwrap_element(value: Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.values().next().is_some_and(Value::is_object) => {
            map.into_iter().next().map_or(Value::Null, |(_, inner)| inner)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flattened_lists_are_rebuilt_and_taken() {
        let mut attributes = Attributes::new(
            [
                ("llm.output_messages.0.message.role", json!("assistant")),
                ("llm.output_messages.0.message.tool_calls.0.tool_call.id", json!("call_1")),
                ("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", json!("get_weather")),
                (
                    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
                    json!("{\"city\": \"Lisbon\"}"),
                ),
                ("llm.output_messages.10.message.role", json!("user")),
                ("llm.output_messages.2.message.role", json!("tool")),
                ("llm.output_messages_extra", json!(1)),
                ("llm.model_name", json!("gpt-4o-mini")),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
        );
        assert!(attributes.has_prefix("llm.output_messages."));
        assert_eq!(
            attributes.take_flattened("llm.output_messages"),
            Some(json!([
                {"role": "assistant", "tool_calls": [
                    {"id": "call_1", "function": {"name": "get_weather", "arguments": {"city": "Lisbon"}}}
                ]},
                {"role": "tool"},
                {"role": "user"}
            ]))
        );
        assert_eq!(attributes.take_flattened("llm.output_messages"), None);
        assert_eq!(
            attributes.into_metadata(),
            json!({"llm.output_messages_extra": 1, "llm.model_name": "gpt-4o-mini"}).as_object().unwrap().clone()
        );
    }
}
