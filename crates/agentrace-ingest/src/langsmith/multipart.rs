//! A `multipart/form-data` reader for the bodies the LangSmith SDK sends to
//! `/runs/multipart`.
//!
//! Those bodies are already in memory (the size limit applies to the
//! decoded body) and hold only named parts without file names, so this is a
//! small slice-based reader rather than a streaming form parser. A part's
//! `Content-Length` header, when present, is trusted to find its end, so
//! attachment bytes that happen to contain the boundary cannot cut a part
//! short; parts without one (file-backed attachments) end at the next
//! boundary.

use memchr::memmem;

/// One part of the body. `name` and `content_type` are raw header bytes;
/// the caller escapes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: &'a [u8],
    pub content_type: Option<&'a [u8]>,
    pub content: &'a [u8],
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut parameters = content_type.split(';');
    let media_type = parameters.next()?.trim();
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters
        .find_map(|parameter| {
            let (key, value) = parameter.split_once('=')?;
            key.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
        })
        .filter(|boundary| !boundary.is_empty() && boundary.len() <= 200)
}

/// Splits `body` into its parts, in body order.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let next_delimiter = memmem::Finder::new(delimiter);
    let Some(first) = next_delimiter.find(body) else {
        return Err(format!("the body does not contain the boundary {boundary:?}"));
    };
    let mut position = first + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[position..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let Some(after_line) = skip_line_end(rest) else {
            return Err(format!("part {}: the boundary is not followed by a line break", parts.len()));
        };
        position += after_line;
        let headers_end = memmem::find(&body[position..], b"\r\n\r\n")
            .map(|end| (end, end + 4))
            .or_else(|| memmem::find(&body[position..], b"\n\n").map(|end| (end, end + 2)));
        let Some((headers_len, content_offset)) = headers_end else {
            return Err(format!("part {}: its headers never end", parts.len()));
        };
        let headers = parse_headers(&body[position..position + headers_len]);
        let Some(name) = headers.name else {
            return Err(format!("part {}: Content-Disposition gives no name", parts.len()));
        };
        let content_start = position + content_offset;
        let (content_end, next_position) = find_content_end(body, content_start, headers.length, delimiter)
            .ok_or_else(|| format!("part {} ({}): the closing boundary is missing", parts.len(), show(name)))?;
        parts.push(Part { name, content_type: headers.content_type, content: &body[content_start..content_end] });
        position = next_position;
    }
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Skips optional transport padding and one line break; returns the bytes consumed.
fn skip_line_end(rest: &[u8]) -> Option<usize> {
    let padding = rest.iter().take_while(|byte| **byte == b' ' || **byte == b'\t').count();
    match &rest[padding..] {
        [b'\r', b'\n', ..] => Some(padding + 2),
        [b'\n', ..] => Some(padding + 1),
        _ => None,
    }
}

/// Where a part's content ends and where the text after the next delimiter starts.
fn find_content_end(body: &[u8], start: usize, length: Option<usize>, delimiter: &[u8]) -> Option<(usize, usize)> {
    if let Some(length) = length {
        let end = start.checked_add(length)?;
        if let Some(after) = body.get(end..) {
            for line_break in [&b"\r\n"[..], &b"\n"[..]] {
                if after.starts_with(line_break) && after[line_break.len()..].starts_with(delimiter) {
                    return Some((end, end + line_break.len() + delimiter.len()));
                }
            }
        }
        // A wrong Content-Length: fall back to searching for the boundary.
    }
    let mut search_from = start;
    loop {
        let found = search_from + memmem::find(&body[search_from..], delimiter)?;
        let line_break = if found >= start + 2 && &body[found - 2..found] == b"\r\n" {
            2
        } else if found > start && body[found - 1] == b'\n' {
            1
        } else if found == start {
            0
        } else {
            // The boundary text inside content, not at a line start: keep looking.
            search_from = found + 1;
            continue;
        };
        return Some((found - line_break, found + delimiter.len()));
    }
}

#[derive(Default)]
struct Headers<'a> {
    name: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    length: Option<usize>,
}

fn parse_headers(block: &[u8]) -> Headers<'_> {
    let mut headers = Headers::default();
    for line in block.split(|byte| *byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|byte| *byte == b':') else { continue };
        let (key, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if key.eq_ignore_ascii_case(b"content-disposition") {
            headers.name = disposition_name(value);
        } else if key.eq_ignore_ascii_case(b"content-type") {
            headers.content_type = Some(value);
        } else if key.eq_ignore_ascii_case(b"content-length") {
            headers.length = std::str::from_utf8(value).ok().and_then(|text| text.trim().parse().ok());
        }
    }
    headers
}

/// The `name` parameter of `form-data; name="post.<id>"`.
fn disposition_name(value: &[u8]) -> Option<&[u8]> {
    let mut rest = value;
    while let Some(start) = memmem::find(rest, b"name=") {
        let preceded_by_separator = start == 0 || matches!(rest[start - 1], b';' | b' ' | b'\t');
        let after = &rest[start + 5..];
        if !preceded_by_separator {
            rest = after;
            continue;
        }
        return Some(match after.strip_prefix(b"\"") {
            Some(quoted) => &quoted[..quoted.iter().position(|byte| *byte == b'"').unwrap_or(quoted.len())],
            None => &after[..after.iter().position(|byte| *byte == b';').unwrap_or(after.len())],
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_boundary_of_a_form_data_type() {
        assert_eq!(boundary("multipart/form-data; boundary=abc123").as_deref(), Some("abc123"));
        assert_eq!(boundary("Multipart/Form-Data;boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn splits_parts_with_and_without_content_length() {
        let body = b"--xyz\r\n\
            Content-Disposition: form-data; name=\"post.1\"\r\n\
            Content-Type: application/json\r\n\
            Content-Length: 10\r\n\r\n\
            {\"id\":\"1\"}\r\n\
            --xyz\r\n\
            Content-Disposition: form-data; name=\"attachment.1.file\"\r\n\
            Content-Type: image/png; length=12\r\n\r\n\
            \x89PNG\r\n--xy\0z\r\n\
            --xyz--\r\n";
        let parts = parse(body, "xyz").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, b"post.1");
        assert_eq!(parts[0].content, b"{\"id\":\"1\"}");
        assert_eq!(parts[1].name, b"attachment.1.file");
        assert_eq!(parts[1].content_type, Some(&b"image/png; length=12"[..]));
        assert_eq!(parts[1].content, b"\x89PNG\r\n--xy\0z");
    }

    #[test]
    fn content_length_protects_bytes_that_look_like_a_boundary() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"attachment.1.x\"\r\nContent-Length: 9\r\n\r\n\
            a\r\n--b\r\nz\r\n--b--";
        let parts = parse(body, "b").unwrap();
        assert_eq!(parts[0].content, b"a\r\n--b\r\nz");
    }

    #[test]
    fn a_wrong_content_length_falls_back_to_the_boundary() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"post.1\"\r\nContent-Length: 3\r\n\r\n[1,2]\r\n--b--";
        assert_eq!(parse(body, "b").unwrap()[0].content, b"[1,2]");
    }

    #[test]
    fn broken_bodies_are_errors() {
        assert!(parse(b"no boundary here", "b").is_err());
        assert!(parse(b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nunterminated", "b").is_err());
        assert!(parse(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "b").is_err());
    }
}
