//! Identifiers as validated newtypes, so that a store never sees an empty or
//! oversized id and every adapter applies the same rule.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest id accepted, in bytes. OTLP ids are 32 (trace) and 16 (span) hex
/// characters, LangSmith ids are 36-character UUIDs; 128 leaves room for
/// clients that compose their own ids.
pub const MAX_ID_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("is {0} bytes long; at most {MAX_ID_LEN} are allowed")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacter,
}

fn validate(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty);
    }
    if raw.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(raw.len()));
    }
    if raw.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, IdError> {
                let raw = raw.into();
                validate(&raw)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                Self::parse(raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A trace's id: OTLP hex, a LangSmith root-run UUID, or any client string.
    TraceId
);
id_type!(
    /// A span's id, unique within its trace.
    SpanId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_long_and_control_ids() {
        assert_eq!(TraceId::parse(""), Err(IdError::Empty));
        assert_eq!(SpanId::parse("x".repeat(129)), Err(IdError::TooLong(129)));
        assert_eq!(SpanId::parse("a\nb"), Err(IdError::ControlCharacter));
        assert_eq!(TraceId::parse("trace_456").unwrap().as_str(), "trace_456");
    }
}
