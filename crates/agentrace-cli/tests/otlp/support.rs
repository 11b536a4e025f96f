//! What the OTLP tests share: the captured requests, small hand-made
//! requests, compression, and a gRPC client that sends message bytes as
//! they are (so tests control exactly what goes on the wire).

use std::io::Write;
use std::path::PathBuf;

use agentrace_ingest::otlp::wire::{
    AnyValue, ExportTraceServiceRequest, KeyValue, ResourceSpans, ScopeSpans, Span, Value as WireValue,
};
use axum::http::uri::PathAndQuery;
use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// The captured exporter requests, shared with the adapter's own tests.
pub fn fixture(file: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../agentrace-ingest/tests/fixtures/otlp").join(file);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

/// HTTP's `deflate`: the zlib format, as the Python exporter sends it.
pub fn deflate(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

pub const GENAI_TRACE: &str = "f1a70001000000000000000000000001";
pub const GENAI_FAILED_TRACE: &str = "f1a70001000000000000000000000002";

pub fn trace_id(n: u8) -> Vec<u8> {
    let mut id = vec![0xe2, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    id[15] = n;
    id
}

pub fn trace_hex(n: u8) -> String {
    hex(&trace_id(n))
}

pub fn span_id(n: u8) -> Vec<u8> {
    vec![0x5e, 0xe0, 0, 0, 0, 0, 0, n]
}

pub fn span_hex(n: u8) -> String {
    hex(&span_id(n))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A finished span `n` of trace `trace`, with `attributes`.
pub fn span(trace: u8, n: u8, parent: Option<u8>, name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: span_id(n),
        parent_span_id: parent.map(span_id).unwrap_or_default(),
        name: name.as_bytes().to_vec(),
        start_time_unix_nano: 1_768_471_200_000_000_000 + u64::from(n) * 1_000_000,
        end_time_unix_nano: 1_768_471_201_000_000_000 - u64::from(n) * 1_000_000,
        attributes,
        ..Span::default()
    }
}

pub fn text(key: &str, value: &[u8]) -> KeyValue {
    KeyValue { key: key.as_bytes().to_vec(), value: Some(AnyValue { value: Some(WireValue::String(value.to_vec())) }) }
}

pub fn int(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.as_bytes().to_vec(), value: Some(AnyValue { value: Some(WireValue::Int(value)) }) }
}

pub fn request(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}

pub const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
pub const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// Sends one unary OTLP/gRPC export of `message`, compressed with `compression` when given.
pub async fn grpc_export(
    url: &str,
    method: &'static str,
    message: Vec<u8>,
    compression: Option<CompressionEncoding>,
) -> Result<Bytes, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect to the gRPC server");
    let mut client = tonic::client::Grpc::new(channel).max_encoding_message_size(usize::MAX);
    if let Some(encoding) = compression {
        client = client.send_compressed(encoding);
    }
    client.ready().await.expect("ready");
    let response =
        client.unary(tonic::Request::new(Bytes::from(message)), PathAndQuery::from_static(method), RawCodec).await?;
    Ok(response.into_inner())
}

/// Message bytes in and out, untouched.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, destination: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        destination.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(source.copy_to_bytes(source.remaining())))
    }
}
