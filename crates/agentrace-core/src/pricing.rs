//! What model calls cost: a price table per model, and the cost of a span's
//! tokens under it.
//!
//! The table ships with the binary (`data/prices.json`, list prices in US
//! dollars per million input, output, cache-read and cache-creation tokens
//! for the common OpenAI, Anthropic, Google and Mistral models); an override
//! file in the same format replaces or adds entries.
//!
//! # Matching a model name
//! Case-insensitively, after dropping a provider prefix up to the last `/`
//! (`openai/gpt-4o`, `models/gemini-2.0-flash`): the entry of that exact
//! name, else the longest entry the name extends with a version suffix —
//! `-` and a digit (a date or version: `gpt-4o-2024-08-06`,
//! `claude-3-5-sonnet-20241022`), `-v` and a digit, `-latest`, or anything
//! after `@` or `:`. So `gpt-4o-mini` never matches `gpt-4o`: `-mini` names
//! another model, not a version of it.
//!
//! # Cost
//! `prompt` includes cached tokens and `completion` includes reasoning
//! tokens (see [`TokenUsage`]), so per million tokens:
//! (prompt − cache_read − cache_creation) × input + cache_read × cache_read
//! price + cache_creation × cache_creation price + completion × output. A
//! model without cache prices bills cached tokens at its input price. Costs
//! are rounded to 1e-10 dollars, which both stores keep exactly.
//!
//! # One table per process
//! The table in use is process-wide: [`install`] it once at start, before
//! the first write; until then, and when nothing is installed, it is the
//! embedded one. Costs are computed where every backend merges a span with
//! what it has stored (`FoldedBatch::take_merged_spans` in
//! `agentrace-store`), far below anything that holds configuration, and one
//! `agentrace serve` process prices with one list (`--prices FILE`):
//! threading the same constant through every store and every batch would
//! change every layer for nothing. Code that needs another table (tests,
//! tools) calls [`PriceTable`]'s methods directly.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::model::{SpanPiece, TokenUsage};

const EMBEDDED: &str = include_str!("../data/prices.json");

/// Metadata key set to `true` on a span whose `cost_usd` agentrace computed
/// from its tokens (the client sent none). Such a cost is computed again
/// whenever the span changes, so a cost from partial token counts never
/// outlives the final ones, and a cost the client sends later replaces it.
pub const COMPUTED_COST_KEY: &str = "agentrace.cost_computed";

/// US dollars per million tokens of one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    /// A cached prompt token; the input price when `None`.
    pub cache_read: Option<f64>,
    /// A prompt token written to the cache; the input price when `None`.
    pub cache_creation: Option<f64>,
}

impl ModelPrice {
    /// The cost of `tokens` (see the module docs); `None` when they count
    /// neither prompt nor completion tokens.
    pub fn cost(&self, tokens: &TokenUsage) -> Option<f64> {
        if tokens.prompt.is_none() && tokens.completion.is_none() {
            return None;
        }
        let prompt = tokens.prompt.unwrap_or(0).max(0);
        let completion = tokens.completion.unwrap_or(0).max(0);
        // Counts that contradict each other are clamped, never billed twice.
        let cache_read = tokens.cache_read.unwrap_or(0).clamp(0, prompt);
        let cache_creation = tokens.cache_creation.unwrap_or(0).clamp(0, prompt - cache_read);
        let uncached = prompt - cache_read - cache_creation;
        let dollars = (uncached as f64 * self.input
            + cache_read as f64 * self.cache_read.unwrap_or(self.input)
            + cache_creation as f64 * self.cache_creation.unwrap_or(self.input)
            + completion as f64 * self.output)
            / 1_000_000.0;
        Some((dollars * 1e10).round() / 1e10)
    }
}

/// A price file that cannot be used, naming what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("price table: not JSON: {0}")]
    NotJson(String),
    #[error("price table: {0}")]
    Invalid(String),
    #[error("price table: model {model:?}: {problem}")]
    Entry { model: String, problem: String },
    #[error("a price table is already installed; install one at start, before the first write")]
    AlreadyInstalled,
}

/// Prices by model name (lower case).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    /// The table shipped with agentrace.
    pub fn embedded() -> PriceTable {
        PriceTable::parse(EMBEDDED).expect("the embedded price table is valid (a unit test checks)")
    }

    /// The embedded table with the entries of an override file (same
    /// format) replacing or adding to its own.
    pub fn embedded_with_overrides(overrides: &str) -> Result<PriceTable, PricingError> {
        Ok(PriceTable::embedded().with_overrides(PriceTable::parse(overrides)?))
    }

    /// Reads a price file: `{"models": {"NAME": {"input": n, "output": n,
    /// "cache_read": n, "cache_creation": n}, …}}` (the last two optional;
    /// prices are non-negative numbers). `about` and `as_of` may hold text.
    pub fn parse(text: &str) -> Result<PriceTable, PricingError> {
        let document: Value = serde_json::from_str(text).map_err(|error| PricingError::NotJson(error.to_string()))?;
        let Value::Object(document) = document else {
            return Err(PricingError::Invalid("the file must hold a JSON object with a \"models\" object".into()));
        };
        for (key, value) in &document {
            match key.as_str() {
                "models" => {}
                "about" | "as_of" if value.is_string() => {}
                "about" | "as_of" => return Err(PricingError::Invalid(format!("{key:?} must be text"))),
                other => {
                    return Err(PricingError::Invalid(format!(
                        "unknown key {other:?}: expected \"models\" (and optionally \"about\", \"as_of\")"
                    )))
                }
            }
        }
        let Some(Value::Object(entries)) = document.get("models") else {
            return Err(PricingError::Invalid("\"models\" must be an object of model names to prices".into()));
        };
        let mut models = BTreeMap::new();
        for (name, entry) in entries {
            let entry_error = |problem: String| PricingError::Entry { model: name.clone(), problem };
            let key = name.trim().to_lowercase();
            if key.is_empty() || key.contains('/') {
                return Err(entry_error(
                    "a model name must be non-empty and hold no '/' (provider prefixes are dropped before matching)"
                        .into(),
                ));
            }
            let Value::Object(fields) = entry else {
                return Err(entry_error("must be an object such as {\"input\": 2.5, \"output\": 10}".into()));
            };
            let price = model_price(fields).map_err(entry_error)?;
            if models.insert(key, price).is_some() {
                return Err(entry_error("named twice (names match case-insensitively)".into()));
            }
        }
        Ok(PriceTable { models })
    }

    /// This table with `overrides`' entries replacing or adding to its own.
    pub fn with_overrides(mut self, overrides: PriceTable) -> PriceTable {
        self.models.extend(overrides.models);
        self
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The entry a model name matches (see the module docs), with its name.
    pub fn lookup(&self, model: &str) -> Option<(&str, &ModelPrice)> {
        let lowered = model.trim().to_lowercase();
        let name = lowered.rsplit('/').next().unwrap_or_default();
        if let Some((key, price)) = self.models.get_key_value(name) {
            return Some((key, price));
        }
        // Longest first: every place a version suffix could start.
        name.char_indices()
            .rev()
            .filter(|&(index, _)| index > 0 && is_version_suffix(&name[index..]))
            .find_map(|(index, _)| self.models.get_key_value(&name[..index]).map(|(key, price)| (key.as_str(), price)))
    }

    /// What `tokens` of `model` cost; `None` for a model the table does not
    /// price or tokens that count nothing.
    pub fn cost(&self, model: &str, tokens: &TokenUsage) -> Option<f64> {
        self.lookup(model)?.1.cost(tokens)
    }
}

fn is_version_suffix(rest: &str) -> bool {
    let digit_at = |index: usize| rest.as_bytes().get(index).is_some_and(u8::is_ascii_digit);
    match rest.as_bytes().first() {
        Some(b'@' | b':') => true,
        Some(b'-') => digit_at(1) || (rest.as_bytes().get(1) == Some(&b'v') && digit_at(2)) || rest == "-latest",
        _ => false,
    }
}

fn model_price(fields: &Map<String, Value>) -> Result<ModelPrice, String> {
    for key in fields.keys() {
        if !matches!(key.as_str(), "input" | "output" | "cache_read" | "cache_creation") {
            return Err(format!("unknown field {key:?}: expected input, output, cache_read, cache_creation"));
        }
    }
    let price = |field: &str| -> Result<Option<f64>, String> {
        match fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => match number.as_f64() {
                Some(value) if value.is_finite() && value >= 0.0 => Ok(Some(value)),
                _ => {
                    Err(format!("{field:?} must be a non-negative number of dollars per million tokens, not {number}"))
                }
            },
            Some(other) => {
                Err(format!("{field:?} must be a non-negative number of dollars per million tokens, not {other}"))
            }
        }
    };
    let required = |field: &str| price(field)?.ok_or_else(|| format!("{field:?} is missing"));
    Ok(ModelPrice {
        input: required("input")?,
        output: required("output")?,
        cache_read: price("cache_read")?,
        cache_creation: price("cache_creation")?,
    })
}

static INSTALLED: OnceLock<PriceTable> = OnceLock::new();

/// Makes `table` the process's price table (see the module docs). Fails
/// when one is installed already, or when a write already priced spans with
/// the embedded one.
pub fn install(table: PriceTable) -> Result<(), PricingError> {
    INSTALLED.set(table).map_err(|_| PricingError::AlreadyInstalled)
}

/// The process's price table: the installed one, else the embedded one.
pub fn installed() -> &'static PriceTable {
    INSTALLED.get_or_init(PriceTable::embedded)
}

/// Settles a merged span's cost. `sent_cost` is the cost the incoming
/// piece carried, if any.
///
/// - A cost the client sent is kept (between two sent costs the merge rules
///   chose) and beats a computed one at any stage of the span's life.
/// - A model_call or embedding span with a model and tokens but no sent
///   cost gets the cost of its (merged, so latest) tokens under `table`,
///   marked with [`COMPUTED_COST_KEY`]; computed again on every change.
/// - A model the table does not price leaves the cost empty (statistics
///   count such spans as unpriced), removing a computed one.
pub fn settle_cost(span: &mut SpanPiece, sent_cost: Option<f64>, table: &PriceTable) {
    let computed_before = span.metadata.get(COMPUTED_COST_KEY) == Some(&Value::Bool(true));
    if sent_cost.is_some() {
        if computed_before {
            span.cost_usd = sent_cost;
        }
        span.metadata.remove(COMPUTED_COST_KEY);
        return;
    }
    if span.cost_usd.is_some() && !computed_before {
        return;
    }
    let billed = span.span_type.is_some_and(|kind| kind.counts_tokens());
    let computed = match (&span.model, &span.tokens) {
        (Some(model), Some(tokens)) if billed => table.cost(model, tokens),
        _ => None,
    };
    match computed {
        Some(cost) => {
            span.cost_usd = Some(cost);
            span.metadata.insert(COMPUTED_COST_KEY.into(), Value::Bool(true));
        }
        None => {
            if computed_before {
                span.cost_usd = None;
            }
            span.metadata.remove(COMPUTED_COST_KEY);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::{SpanId, TraceId};
    use crate::model::SpanType;

    fn tokens(prompt: i64, completion: i64) -> TokenUsage {
        TokenUsage { prompt: Some(prompt), completion: Some(completion), ..TokenUsage::default() }
    }

    fn priced_as(table: &PriceTable, model: &str) -> Option<String> {
        table.lookup(model).map(|(name, _)| name.to_owned())
    }

    #[test]
    fn the_embedded_table_prices_the_common_models() {
        let table = PriceTable::embedded();
        assert!(table.len() >= 40, "{} entries", table.len());
        for model in [
            "gpt-4o",
            "gpt-4o-mini",
            "o3-mini",
            "claude-3-5-sonnet",
            "claude-sonnet-4",
            "gemini-2.5-pro",
            "mistral-large",
        ] {
            assert_eq!(priced_as(&table, model).as_deref(), Some(model));
        }
        // $2.50 in and $10 out per million: 1,000 in and 500 out.
        assert_eq!(table.cost("gpt-4o", &tokens(1_000, 500)), Some(0.0075));
        assert_eq!(table.cost("claude-3-5-haiku", &tokens(1_000_000, 0)), Some(0.8));
    }

    #[test]
    fn exact_names_win_over_prefixes() {
        let table = PriceTable::embedded();
        assert_eq!(priced_as(&table, "gpt-4o-mini").as_deref(), Some("gpt-4o-mini"));
        assert_eq!(priced_as(&table, "gemini-2.0-flash-lite").as_deref(), Some("gemini-2.0-flash-lite"));
        assert_eq!(priced_as(&table, "GPT-4o").as_deref(), Some("gpt-4o"), "names match case-insensitively");
    }

    #[test]
    fn dated_and_versioned_names_find_their_base_entry() {
        let table = PriceTable::embedded();
        for (model, base) in [
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
            ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
            ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-sonnet-4-20250514", "claude-sonnet-4"),
            ("gemini-1.5-pro-002", "gemini-1.5-pro"),
            ("gemini-2.0-flash-001", "gemini-2.0-flash"),
            ("mistral-large-2411", "mistral-large"),
            ("gpt-4-0613", "gpt-4"),
            ("o3-mini-2025-01-31", "o3-mini"),
            ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
        ] {
            assert_eq!(priced_as(&table, model).as_deref(), Some(base), "{model}");
        }
    }

    #[test]
    fn a_longer_name_is_not_a_version_of_a_shorter_one() {
        let only_base = PriceTable::parse(r#"{"models": {"gpt-4o": {"input": 2.5, "output": 10}}}"#).unwrap();
        assert_eq!(priced_as(&only_base, "gpt-4o-mini"), None);
        assert_eq!(priced_as(&only_base, "gpt-4o-mini-2024-07-18"), None);
        assert_eq!(priced_as(&only_base, "gpt-4o-audio-preview"), None);
        assert_eq!(priced_as(&only_base, "gpt-4"), None);
        assert_eq!(priced_as(&only_base, "xgpt-4o"), None);
        assert_eq!(priced_as(&PriceTable::embedded(), "house-model-7"), None);
    }

    #[test]
    fn provider_prefixes_are_dropped() {
        let table = PriceTable::embedded();
        assert_eq!(priced_as(&table, "openai/gpt-4o").as_deref(), Some("gpt-4o"));
        assert_eq!(priced_as(&table, "models/gemini-2.0-flash").as_deref(), Some("gemini-2.0-flash"));
        assert_eq!(priced_as(&table, "anthropic/claude-3-5-sonnet-20241022").as_deref(), Some("claude-3-5-sonnet"));
    }

    #[test]
    fn cached_tokens_are_billed_at_their_own_prices() {
        let table = PriceTable::parse(
            r#"{"models": {
                "cached": {"input": 3, "output": 15, "cache_read": 0.3, "cache_creation": 3.75},
                "uncached": {"input": 2, "output": 8}
            }}"#,
        )
        .unwrap();
        let usage = TokenUsage {
            prompt: Some(10_000),
            completion: Some(1_000),
            cache_read: Some(6_000),
            cache_creation: Some(2_000),
            reasoning: Some(400),
            total: None,
        };
        // 2,000 uncached × 3 + 6,000 × 0.3 + 2,000 × 3.75 + 1,000 × 15, per million.
        assert_eq!(table.cost("cached", &usage), Some(0.0303));
        // Without cache prices every prompt token costs the input price.
        assert_eq!(table.cost("uncached", &usage), Some(0.028));
        // Only prompt tokens (an embedding); no counts at all.
        assert_eq!(table.cost("uncached", &TokenUsage { prompt: Some(500), ..TokenUsage::default() }), Some(0.001));
        assert_eq!(table.cost("uncached", &TokenUsage { reasoning: Some(5), ..TokenUsage::default() }), None);
        // Cached counts larger than the prompt are clamped to it.
        let contradictory = TokenUsage { prompt: Some(100), cache_read: Some(500), ..TokenUsage::default() };
        assert_eq!(table.cost("cached", &contradictory), Some(0.00003));
    }

    #[test]
    fn an_override_file_replaces_and_extends_entries() {
        let table = PriceTable::embedded_with_overrides(
            r#"{"as_of": "2026-01-01", "models": {
                "gpt-4o": {"input": 1, "output": 2},
                "House-Model": {"input": 0.5, "output": 0.5, "cache_read": 0.05}
            }}"#,
        )
        .unwrap();
        assert_eq!(table.cost("gpt-4o-2024-08-06", &tokens(1_000_000, 1_000_000)), Some(3.0));
        assert_eq!(table.cost("house-model", &tokens(2_000_000, 0)), Some(1.0));
        assert_eq!(table.cost("claude-3-5-sonnet", &tokens(1_000_000, 0)), Some(3.0), "other entries stay");
        assert_eq!(table.len(), PriceTable::embedded().len() + 1);
    }

    #[test]
    fn an_invalid_override_is_refused_naming_the_entry() {
        let refused = |text: &str| PriceTable::embedded_with_overrides(text).unwrap_err().to_string();
        assert_eq!(
            refused(r#"{"models": {"gpt-4o": {"input": "cheap", "output": 10}}}"#),
            r#"price table: model "gpt-4o": "input" must be a non-negative number of dollars per million tokens, not "cheap""#
        );
        assert_eq!(
            refused(r#"{"models": {"house": {"input": 1}}}"#),
            r#"price table: model "house": "output" is missing"#
        );
        assert_eq!(
            refused(r#"{"models": {"house": {"input": -1, "output": 1}}}"#),
            r#"price table: model "house": "input" must be a non-negative number of dollars per million tokens, not -1"#
        );
        assert_eq!(
            refused(r#"{"models": {"house": {"input": 1, "output": 1, "cached": 0.1}}}"#),
            r#"price table: model "house": unknown field "cached": expected input, output, cache_read, cache_creation"#
        );
        assert!(refused(r#"{"models": {"openai/gpt-4o": {"input": 1, "output": 1}}}"#)
            .starts_with(r#"price table: model "openai/gpt-4o": a model name must be non-empty"#));
        assert!(refused(r#"{"models": {"A": {"input": 1, "output": 1}, "a": {"input": 2, "output": 2}}}"#)
            .contains("named twice"));
        assert!(refused(r#"{"model": {}}"#).starts_with(r#"price table: unknown key "model""#));
        assert!(refused("{\"models\": {\n").starts_with("price table: not JSON: "));
        assert!(refused("[]").starts_with("price table: the file must hold a JSON object"));
    }

    fn call(model: &str, usage: Option<TokenUsage>, cost: Option<f64>) -> SpanPiece {
        let mut span = SpanPiece::new(TraceId::parse("t").unwrap(), SpanId::parse("s").unwrap());
        span.span_type = Some(SpanType::ModelCall);
        span.model = Some(model.into());
        span.tokens = usage;
        span.cost_usd = cost;
        span
    }

    #[test]
    fn computed_costs_follow_the_tokens_and_give_way_to_sent_ones() {
        let table = PriceTable::embedded();
        let mut span = call("gpt-4o", Some(TokenUsage { prompt: Some(1_000), ..TokenUsage::default() }), None);
        settle_cost(&mut span, None, &table);
        assert_eq!(span.cost_usd, Some(0.0025));
        assert_eq!(span.metadata.get(COMPUTED_COST_KEY), Some(&json!(true)));
        // Final tokens: computed again.
        span.tokens = Some(tokens(1_000, 500));
        settle_cost(&mut span, None, &table);
        assert_eq!(span.cost_usd, Some(0.0075));
        // The client's own figure replaces the computed one and stays.
        span.cost_usd = Some(0.002);
        settle_cost(&mut span, Some(0.5), &table);
        assert_eq!((span.cost_usd, span.metadata.get(COMPUTED_COST_KEY)), (Some(0.5), None));
        settle_cost(&mut span, None, &table);
        assert_eq!(span.cost_usd, Some(0.5));

        let mut unknown = call("house-model-7", Some(tokens(10, 10)), None);
        settle_cost(&mut unknown, None, &table);
        assert_eq!((unknown.cost_usd, unknown.metadata.get(COMPUTED_COST_KEY)), (None, None));
        let mut agent = call("gpt-4o", Some(tokens(10, 10)), None);
        agent.span_type = Some(SpanType::Agent);
        settle_cost(&mut agent, None, &table);
        assert_eq!(agent.cost_usd, None, "an agent span may repeat its calls' usage: never priced");
        let mut renamed = call("gpt-4o", Some(tokens(10, 10)), None);
        settle_cost(&mut renamed, None, &table);
        renamed.model = Some("house-model-7".into());
        settle_cost(&mut renamed, None, &table);
        assert_eq!(renamed.cost_usd, None, "a computed cost goes when its model is no longer priced");
    }
}
