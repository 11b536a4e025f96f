//! OTLP/gRPC: `TraceService/Export` and `LogsService/Export`, plain and
//! gzip- or deflate-compressed, through the same conversion as OTLP/HTTP; the size cap
//! and backpressure answered with the codes exporters act on correctly.

use std::time::Duration;

use agentrace_ingest::otlp::wire::{
    ExportLogsServiceRequest, ExportTraceServiceResponse, ResourceLogs, RetryInfo, RpcStatus, ScopeLogs,
};
use agentrace_ingest::PipelineConfig;
use agentrace_server::Limits;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::Code;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::support::*;

const GZIP: CompressionEncoding = CompressionEncoding::Gzip;
const DEFLATE: CompressionEncoding = CompressionEncoding::Deflate;

async fn exports_plain_and_gzip_are_stored(app: TestApp) {
    let reply =
        grpc_export(&app.grpc_url, TRACE_EXPORT, fixture("genai.http-protobuf.bin"), None).await.expect("export");
    assert!(reply.is_empty(), "a full success is the empty ExportTraceServiceResponse");
    let reply = grpc_export(&app.grpc_url, TRACE_EXPORT, fixture("openinference.http-protobuf.bin"), Some(GZIP))
        .await
        .expect("gzip export");
    assert!(reply.is_empty());
    let genai = app.trace(GENAI_TRACE).await;
    assert_eq!(genai["spans"].as_array().unwrap().len(), 5);
    assert_eq!(genai["stats"]["total_tokens"], 412 + 38 + 980 + 211);
    let openinference = app.trace("f1a70002000000000000000000000001").await;
    assert_eq!(openinference["spans"].as_array().unwrap().len(), 7);
    assert_eq!(openinference["trace"]["session_id"], "sess_fixture_oi_01");
}

async fn invalid_spans_and_bodies_are_reported(app: TestApp) {
    let mut zero = span(20, 2, Some(1), "zero", Vec::new());
    zero.span_id = vec![0; 8];
    let reply = grpc_export(
        &app.grpc_url,
        TRACE_EXPORT,
        request(vec![zero, span(20, 1, None, "root", Vec::new())]),
        Some(DEFLATE),
    )
    .await
    .expect("export");
    let partial = ExportTraceServiceResponse::decode(reply).unwrap().partial_success.expect("partial_success");
    assert_eq!(partial.rejected_spans, 1);
    assert_eq!(app.span_ids(&trace_hex(20)).await, [span_hex(1)]);

    let error = grpc_export(&app.grpc_url, TRACE_EXPORT, b"\x0a\xff\xff\xff".to_vec(), None).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
}

async fn log_records_join_their_spans_over_grpc(app: TestApp) {
    let chat = span(21, 1, None, "chat", vec![text("gen_ai.operation.name", b"chat")]);
    grpc_export(&app.grpc_url, TRACE_EXPORT, request(vec![chat]), None).await.expect("export");
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![crate::http::details_record(21, 1)],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    let reply = grpc_export(&app.grpc_url, LOGS_EXPORT, logs.encode_to_vec(), Some(GZIP)).await.expect("logs export");
    assert!(reply.is_empty());
    let trace = app.trace(&trace_hex(21)).await;
    assert_eq!(trace["spans"][0]["events"][0]["name"], "gen_ai.client.inference.operation.details");
    assert_eq!(trace["spans"][0]["output"][0]["role"], "assistant");
}

on_both_backends!(
    exports_plain_and_gzip_are_stored,
    invalid_spans_and_bodies_are_reported,
    log_records_join_their_spans_over_grpc
);

/// Over the cap, plain or compressed: RESOURCE_EXHAUSTED, which exporters
/// do not retry (OUT_OF_RANGE, tonic's own code for it, they would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_the_limit_are_resource_exhausted() {
    let app = TestApp::spawn_with(Backend::Sqlite, Limits { max_body_bytes: 4096 }, PipelineConfig::default()).await;
    let big = request(vec![span(22, 1, None, "big", vec![text("blob", &[b'a'; 10_000])])]);
    for compressed in [None, Some(GZIP), Some(DEFLATE)] {
        let error = grpc_export(&app.grpc_url, TRACE_EXPORT, big.clone(), compressed).await.unwrap_err();
        assert_eq!(error.code(), Code::ResourceExhausted, "compressed: {compressed:?}: {error:?}");
    }
    let small = request(vec![span(22, 1, None, "small", Vec::new())]);
    grpc_export(&app.grpc_url, TRACE_EXPORT, small, Some(GZIP)).await.expect("a message under the cap passes");
}

/// A full queue: UNAVAILABLE with a one-second RetryInfo, in the status
/// details and in the trailer the Python exporter reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_unavailable_with_retry_info() {
    let pipeline = PipelineConfig { queue_items: 1, linger: Duration::from_secs(1), ..PipelineConfig::default() };
    let app = std::sync::Arc::new(TestApp::spawn_with(Backend::Sqlite, Limits::default(), pipeline).await);
    let requests = (0..8u8).map(|index| {
        let url = app.grpc_url.clone();
        tokio::spawn(async move {
            grpc_export(&url, TRACE_EXPORT, request(vec![span(30 + index, 1, None, "queued", Vec::new())]), None).await
        })
    });
    let replies: Vec<_> = futures::future::join_all(requests).await.into_iter().map(Result::unwrap).collect();
    assert!(replies.iter().any(Result::is_ok));
    let refused: Vec<&tonic::Status> = replies.iter().filter_map(|reply| reply.as_ref().err()).collect();
    assert!(!refused.is_empty());
    for status in refused {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let details = RpcStatus::decode(status.details()).expect("google.rpc.Status details");
        assert_eq!(details.details[0].type_url, "type.googleapis.com/google.rpc.RetryInfo");
        let retry_info = RetryInfo::decode(details.details[0].value.as_slice()).unwrap();
        assert_eq!(retry_info.retry_delay.unwrap().seconds, 1);
        let trailer = status.metadata().get_bin("google.rpc.retryinfo-bin").expect("retry info trailer");
        let trailer = RetryInfo::decode(trailer.to_bytes().unwrap()).unwrap();
        assert_eq!(trailer.retry_delay.unwrap().seconds, 1);
    }
}
