//! The escaped form for text that databases cannot hold.
//!
//! PostgreSQL `TEXT` and `JSONB` reject the NUL character, and no UTF-8
//! column can hold bytes that are not UTF-8. agentrace never drops such data
//! and never fails a batch for it: it stores a reversible escaped form that
//! uses `␀` (U+2400 SYMBOL FOR NULL), a character that practically never
//! occurs in real text, as its escape character:
//!
//! | stored    | original                                              |
//! |-----------|-------------------------------------------------------|
//! | `␀0`      | U+0000 (NUL)                                          |
//! | `␀xHH`    | the byte 0xHH that was not part of valid UTF-8        |
//! | `␀uHHHH`  | a lone UTF-16 surrogate sent as a JSON `\uHHHH` escape |
//! | `␀␀`      | a literal `␀`                                         |
//!
//! Text without NUL, `␀` or invalid bytes is stored unchanged. [`unescape`]
//! restores the original bytes (a lone surrogate as its WTF-8 bytes).

use std::borrow::Cow;

use serde_json::Value;

pub const ESCAPE_CHAR: char = '\u{2400}';
const ESCAPE_UTF8: &[u8] = "\u{2400}".as_bytes();

fn push_escape(out: &mut Vec<u8>, tail: &str) {
    out.extend_from_slice(ESCAPE_UTF8);
    out.extend_from_slice(tail.as_bytes());
}

/// Escapes NUL and `␀` in valid UTF-8 text.
pub fn escape_str(text: &str) -> Cow<'_, str> {
    if !text.contains(['\0', ESCAPE_CHAR]) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        match character {
            '\0' => {
                escaped.push(ESCAPE_CHAR);
                escaped.push('0');
            }
            ESCAPE_CHAR => {
                escaped.push(ESCAPE_CHAR);
                escaped.push(ESCAPE_CHAR);
            }
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// Escapes arbitrary bytes: valid UTF-8 runs as [`escape_str`], every other
/// byte as `␀xHH`.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape_str(text);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape_str(chunk.valid()));
        for byte in chunk.invalid() {
            out.push(ESCAPE_CHAR);
            out.push_str(&format!("x{byte:02X}"));
        }
    }
    Cow::Owned(out)
}

/// Escapes every string and object key of a JSON value in place.
pub fn escape_json_value(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(escaped) = escape_str(text) {
                *text = escaped;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(escape_json_value),
        Value::Object(map) => {
            let needs_key_escape = map.keys().any(|key| matches!(escape_str(key), Cow::Owned(_)));
            if needs_key_escape {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    escape_json_value(&mut item);
                    map.insert(escape_str(&key).into_owned(), item);
                }
            } else {
                map.values_mut().for_each(escape_json_value);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Restores the original bytes of escaped text.
pub fn unescape(stored: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(stored.len());
    let mut rest = stored;
    while let Some(position) = rest.find(ESCAPE_CHAR) {
        out.extend_from_slice(&rest.as_bytes()[..position]);
        let after = &rest[position + ESCAPE_CHAR.len_utf8()..];
        let (decoded_len, consumed) = decode_token(after, &mut out);
        if decoded_len == 0 {
            // A lone ␀ not followed by a token cannot come from escaping;
            // keep it literally rather than lose it.
            out.extend_from_slice(ESCAPE_UTF8);
        }
        rest = &after[consumed..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// Decodes the token after an escape character; returns (bytes written, chars consumed).
fn decode_token(after: &str, out: &mut Vec<u8>) -> (usize, usize) {
    let bytes = after.as_bytes();
    match bytes.first() {
        Some(b'0') => {
            out.push(0);
            (1, 1)
        }
        Some(_) if after.starts_with(ESCAPE_CHAR) => {
            out.extend_from_slice(ESCAPE_UTF8);
            (ESCAPE_UTF8.len(), ESCAPE_UTF8.len())
        }
        Some(b'x') if bytes.len() >= 3 => match u8::from_str_radix(&after[1..3], 16) {
            Ok(byte) => {
                out.push(byte);
                (1, 3)
            }
            Err(_) => (0, 0),
        },
        Some(b'u') if bytes.len() >= 5 && after.is_char_boundary(5) => {
            match u16::from_str_radix(&after[1..5], 16) {
                Ok(unit) => {
                    // WTF-8: a surrogate encoded as if it were a scalar value.
                    let unit = u32::from(unit);
                    out.push(0xE0 | (unit >> 12) as u8);
                    out.push(0x80 | ((unit >> 6) & 0x3F) as u8);
                    out.push(0x80 | (unit & 0x3F) as u8);
                    (3, 5)
                }
                Err(_) => (0, 0),
            }
        }
        _ => (0, 0),
    }
}

/// Rewrites a JSON document so that after parsing, every string is already
/// in the escaped form: `\u0000`, `\u2400`, lone surrogate escapes, a raw
/// `␀` and bytes that are not UTF-8 are turned into their tokens inside
/// strings. Outside strings nothing changes, so malformed JSON stays
/// malformed and the parser reports it.
pub fn sanitize_json(body: &[u8]) -> Cow<'_, [u8]> {
    if !json_needs_sanitizing(body) {
        return Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut index = 0;
    let mut in_string = false;
    while index < body.len() {
        let byte = body[index];
        if !in_string {
            if byte == b'"' {
                in_string = true;
            }
            out.push(byte);
            index += 1;
            continue;
        }
        match byte {
            b'"' => {
                in_string = false;
                out.push(byte);
                index += 1;
            }
            b'\\' => index = copy_json_escape(body, index, &mut out),
            _ => index = copy_string_char(body, index, &mut out),
        }
    }
    Cow::Owned(out)
}

fn json_needs_sanitizing(body: &[u8]) -> bool {
    if std::str::from_utf8(body).is_err() {
        return true;
    }
    if body.windows(3).any(|window| window == ESCAPE_UTF8) {
        return true;
    }
    body.windows(6).any(|window| {
        window[0] == b'\\'
            && window[1] == b'u'
            && parse_hex4(&window[2..6])
                .is_some_and(|unit| unit == 0 || unit == 0x2400 || (0xD800..=0xDFFF).contains(&unit))
    })
}

fn parse_hex4(digits: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(digits).ok()?;
    u16::from_str_radix(text, 16).ok()
}

/// Copies one escape sequence starting at `index` (a backslash); returns the next index.
fn copy_json_escape(body: &[u8], index: usize, out: &mut Vec<u8>) -> usize {
    let unit =
        (body.get(index + 1) == Some(&b'u')).then(|| body.get(index + 2..index + 6).and_then(parse_hex4)).flatten();
    let Some(unit) = unit else {
        let end = (index + 2).min(body.len());
        out.extend_from_slice(&body[index..end]);
        return end;
    };
    match unit {
        0 => push_escape(out, "0"),
        0x2400 => push_escape(out, "\u{2400}"),
        0xD800..=0xDBFF => {
            let low = (body.get(index + 6..index + 8) == Some(b"\\u"))
                .then(|| body.get(index + 8..index + 12).and_then(parse_hex4))
                .flatten()
                .filter(|low| (0xDC00..=0xDFFF).contains(low));
            if low.is_some() {
                out.extend_from_slice(&body[index..index + 12]);
                return index + 12;
            }
            push_escape(out, &format!("u{unit:04X}"));
        }
        0xDC00..=0xDFFF => push_escape(out, &format!("u{unit:04X}")),
        _ => out.extend_from_slice(&body[index..index + 6]),
    }
    index + 6
}

/// Copies one character of string content; returns the next index.
fn copy_string_char(body: &[u8], index: usize, out: &mut Vec<u8>) -> usize {
    let width = utf8_char_width(body[index]);
    let candidate = body.get(index..index + width.max(1));
    match candidate.and_then(|bytes| std::str::from_utf8(bytes).ok()) {
        Some(_) if width > 0 => {
            let bytes = &body[index..index + width];
            if bytes == ESCAPE_UTF8 {
                push_escape(out, "\u{2400}");
            } else {
                out.extend_from_slice(bytes);
            }
            index + width
        }
        _ => {
            push_escape(out, &format!("x{:02X}", body[index]));
            index + 1
        }
    }
}

fn utf8_char_width(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched() {
        assert!(matches!(escape_str("héllo 世界 🦀 C:\\path"), Cow::Borrowed(_)));
        let with_pair = br#"{"a":"\u4e16\ud83e\udd80"}"#;
        assert_eq!(sanitize_json(with_pair).as_ref(), with_pair.as_slice());
    }

    #[test]
    fn nul_escape_char_and_invalid_bytes_round_trip() {
        let original: &[u8] = b"a\0b\xE2\x90\x80c\xFF\xFEd";
        let escaped = escape_bytes(original);
        assert_eq!(escaped, "a\u{2400}0b\u{2400}\u{2400}c\u{2400}xFF\u{2400}xFEd");
        assert_eq!(unescape(&escaped), original);
    }

    #[test]
    fn json_sanitizing_escapes_inside_strings_only() {
        let body: &[u8] = b"{\"k\\u0000\":\"x\\u0000y\\u2400\xFF\\ud800z\\ud83e\\udd80\"}";
        let sanitized = sanitize_json(body);
        let value: Value = serde_json::from_slice(&sanitized).unwrap();
        let (key, text) = value.as_object().unwrap().iter().next().unwrap();
        assert_eq!(key, "k\u{2400}0");
        assert_eq!(text, "x\u{2400}0y\u{2400}\u{2400}\u{2400}xFF\u{2400}uD800z🦀");
        assert_eq!(unescape(text.as_str().unwrap()), b"x\0y\xE2\x90\x80\xFF\xED\xA0\x80z\xF0\x9F\xA6\x80");
    }

    #[test]
    fn malformed_json_stays_malformed() {
        let sanitized = sanitize_json(b"{\"a\": \xFF}");
        assert!(serde_json::from_slice::<Value>(&sanitized).is_err());
    }
}
