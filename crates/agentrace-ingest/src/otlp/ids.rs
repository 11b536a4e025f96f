//! Trace and span ids as OTLP sends them, checked and written as lowercase
//! hex (the form every OTel tool prints, so users can paste ids between
//! them). Protobuf carries the raw bytes; OTLP/JSON carries hex text, in
//! any case, and a generic proto3 JSON encoder would send base64, which is
//! read too rather than losing the span.

use super::json::decode_base64;
use super::wire::WireForm;

pub const TRACE_ID_BYTES: usize = 16;
pub const SPAN_ID_BYTES: usize = 8;

/// The message for an id made only of zero bytes, which OTLP defines as invalid.
pub const ALL_ZERO: &str = "is all zeros, which OTLP defines as an invalid id";

/// The id in lowercase hex; `Ok(None)` when absent (empty).
pub fn decode_id(form: WireForm, raw: &[u8], expected_bytes: usize) -> Result<Option<String>, String> {
    let bytes = match form {
        WireForm::Protobuf => {
            if raw.is_empty() {
                return Ok(None);
            }
            if raw.len() != expected_bytes {
                return Err(format!("is {} bytes long; must be {expected_bytes}", raw.len()));
            }
            raw.to_vec()
        }
        WireForm::Json => {
            let text = std::str::from_utf8(raw).unwrap_or_default().trim();
            if text.is_empty() {
                return Ok(None);
            }
            from_json_text(text, expected_bytes)?
        }
    };
    if bytes.iter().all(|byte| *byte == 0) {
        return Err(ALL_ZERO.to_owned());
    }
    Ok(Some(hex::encode(bytes)))
}

fn from_json_text(text: &str, expected_bytes: usize) -> Result<Vec<u8>, String> {
    if text.len() == expected_bytes * 2 {
        if let Ok(bytes) = hex::decode(text) {
            return Ok(bytes);
        }
    }
    if let Some(bytes) = decode_base64(text).filter(|bytes| bytes.len() == expected_bytes) {
        return Ok(bytes);
    }
    let shown: String = text.chars().take(40).collect();
    Err(format!("is {shown:?}; must be {} hex characters", expected_bytes * 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_ids_are_checked_by_length_and_zero() {
        assert_eq!(decode_id(WireForm::Protobuf, &[], 8), Ok(None));
        assert_eq!(decode_id(WireForm::Protobuf, &[0xAB; 8], 8), Ok(Some("abababababababab".into())));
        assert_eq!(decode_id(WireForm::Protobuf, &[1; 7], 8), Err("is 7 bytes long; must be 8".into()));
        assert_eq!(decode_id(WireForm::Protobuf, &[0; 16], 16), Err(ALL_ZERO.into()));
    }

    #[test]
    fn json_ids_accept_any_case_and_base64() {
        let upper = b"0AF7651916CD43DD8448EB211C80319C";
        assert_eq!(decode_id(WireForm::Json, upper, 16), Ok(Some("0af7651916cd43dd8448eb211c80319c".into())));
        assert_eq!(decode_id(WireForm::Json, b"q61rbxkgMzE=", 8), Ok(Some("abad6b6f19203331".into())));
        assert_eq!(decode_id(WireForm::Json, b"", 8), Ok(None));
        assert_eq!(decode_id(WireForm::Json, b"0000000000000000", 8), Err(ALL_ZERO.into()));
        assert!(decode_id(WireForm::Json, b"not-an-id", 8).unwrap_err().contains("16 hex characters"));
    }
}
