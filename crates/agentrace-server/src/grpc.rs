//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`
//! and `…logs.v1.LogsService/Export`, on their own port (4317 by default).
//!
//! The services are written by hand on tonic's server machinery with a
//! codec that hands over the message bytes undecoded: the body then goes
//! through exactly the same decoding and conversion as OTLP/HTTP protobuf
//! (`agentrace_ingest::otlp`), including its tolerance of invalid UTF-8.
//!
//! What the OTLP specification asks of a gRPC receiver, and how:
//! - gzip-compressed messages are accepted, and deflate ones, which the
//!   Python exporter also offers (tonic refuses compressed messages with
//!   UNIMPLEMENTED unless told otherwise, and the exporter drops the data);
//! - the size cap is the HTTP body limit, applied after decompression;
//!   over it the answer is RESOURCE_EXHAUSTED without retry information,
//!   which exporters do not retry (tonic says OUT_OF_RANGE for a plain
//!   message over the cap, which exporters *would* retry, so that code is
//!   rewritten);
//! - a full ingest queue answers UNAVAILABLE with a `google.rpc.RetryInfo`,
//!   both in `grpc-status-details-bin` and in the `google.rpc.retryinfo-bin`
//!   trailer the Python exporter reads.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use agentrace_ingest::otlp::wire::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse, ExportTracePartialSuccess, ExportTraceServiceResponse,
    ProtoAny, ProtoDuration, RetryInfo, RpcStatus, RETRY_INFO_TYPE_URL,
};
use agentrace_ingest::otlp::{self, Encoding, ExportError, PartialSuccess};
use agentrace_ingest::{Ingestor, SubmitError};
use agentrace_store::StoreError;
use axum::http::{self, HeaderValue};
use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::server::NamedService;
use tonic::{Code, Status};

const TRACE_SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
const LOGS_SERVICE: &str = "opentelemetry.proto.collector.logs.v1.LogsService";

/// How long a client throttled by a full queue should wait.
const RETRY_DELAY_SECONDS: i64 = 1;

/// Serves OTLP/gRPC on `listener` until `shutdown` resolves; requests in
/// flight then finish (their data is committed) before this returns.
pub async fn serve_grpc(
    listener: tokio::net::TcpListener,
    ingestor: Ingestor,
    max_message_bytes: usize,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let exporter = Exporter { ingestor, max_message_bytes };
    tonic::transport::Server::builder()
        .add_service(TraceService(exporter.clone()))
        .add_service(LogsService(exporter))
        .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), shutdown)
        .await
}

#[derive(Clone)]
struct Exporter {
    ingestor: Ingestor,
    max_message_bytes: usize,
}

#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Logs,
}

#[derive(Clone)]
pub struct TraceService(Exporter);

#[derive(Clone)]
pub struct LogsService(Exporter);

impl NamedService for TraceService {
    const NAME: &'static str = TRACE_SERVICE;
}

impl NamedService for LogsService {
    const NAME: &'static str = LOGS_SERVICE;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send + 'static>>;

macro_rules! export_service {
    ($service:ident, $signal:expr, $path:expr) => {
        impl<B> tower::Service<http::Request<B>> for $service
        where
            B: http_body::Body + Send + 'static,
            B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
        {
            type Response = http::Response<tonic::body::Body>;
            type Error = Infallible;
            type Future = BoxFuture<Self::Response>;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: http::Request<B>) -> Self::Future {
                let exporter = self.0.clone();
                let known = request.uri().path() == $path;
                Box::pin(async move {
                    if !known {
                        return Ok(Status::unimplemented("unknown method").into_http());
                    }
                    Ok(exporter.serve($signal, request).await)
                })
            }
        }
    };
}

export_service!(TraceService, Signal::Traces, "/opentelemetry.proto.collector.trace.v1.TraceService/Export");
export_service!(LogsService, Signal::Logs, "/opentelemetry.proto.collector.logs.v1.LogsService/Export");

impl Exporter {
    async fn serve<B>(self, signal: Signal, request: http::Request<B>) -> http::Response<tonic::body::Body>
    where
        B: http_body::Body + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    {
        let mut grpc = tonic::server::Grpc::new(RawCodec)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Deflate)
            .max_decoding_message_size(self.max_message_bytes);
        let ingestor = self.ingestor.clone();
        let export = tower::service_fn(move |request: tonic::Request<Bytes>| {
            let ingestor = ingestor.clone();
            async move { export(&ingestor, signal, request.into_inner()).await.map(tonic::Response::new) }
        });
        let mut response = grpc.unary(export, request).await;
        let headers = response.headers_mut();
        if headers.get(Status::GRPC_STATUS).is_some_and(|code| code == "11") {
            headers.insert(Status::GRPC_STATUS, HeaderValue::from_static("8"));
        }
        response
    }
}

async fn export(ingestor: &Ingestor, signal: Signal, message: Bytes) -> Result<Bytes, Status> {
    let result = match signal {
        Signal::Traces => otlp::export_traces(ingestor, &message, Encoding::Protobuf).await,
        Signal::Logs => otlp::export_logs(ingestor, &message, Encoding::Protobuf).await,
    };
    match result {
        Ok(partial_success) => Ok(encode_response(signal, partial_success)),
        Err(error) => Err(status_of(error)),
    }
}

fn encode_response(signal: Signal, partial_success: Option<PartialSuccess>) -> Bytes {
    let encoded = match signal {
        Signal::Traces => ExportTraceServiceResponse {
            partial_success: partial_success.map(|partial| ExportTracePartialSuccess {
                rejected_spans: partial.rejected,
                error_message: partial.message,
            }),
        }
        .encode_to_vec(),
        Signal::Logs => ExportLogsServiceResponse {
            partial_success: partial_success.map(|partial| ExportLogsPartialSuccess {
                rejected_log_records: partial.rejected,
                error_message: partial.message,
            }),
        }
        .encode_to_vec(),
    };
    Bytes::from(encoded)
}

fn status_of(error: ExportError) -> Status {
    match error {
        ExportError::Decode(error) => Status::invalid_argument(error.to_string()),
        ExportError::Submit(SubmitError::QueueFull) => retryable("the ingest queue is full; retry later"),
        ExportError::Submit(SubmitError::ShuttingDown) => retryable("the server is shutting down"),
        ExportError::Submit(SubmitError::Store(error)) => match error {
            StoreError::Unavailable(_) | StoreError::Busy(_) => {
                tracing::warn!(%error, "store temporarily unavailable");
                retryable("the store is unavailable; retry later")
            }
            StoreError::Rejected(message) => {
                Status::invalid_argument(format!("the store rejected the data: {message}"))
            }
            // Writes ask no query; should one fail this way, it is a bug.
            StoreError::InvalidQuery(cause) | StoreError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Status::internal("internal error")
            }
        },
    }
}

/// UNAVAILABLE with a `RetryInfo` of [`RETRY_DELAY_SECONDS`].
fn retryable(message: &str) -> Status {
    let retry_info =
        RetryInfo { retry_delay: Some(ProtoDuration { seconds: RETRY_DELAY_SECONDS, nanos: 0 }) }.encode_to_vec();
    let details = RpcStatus {
        code: Code::Unavailable as i32,
        message: message.to_owned(),
        details: vec![ProtoAny { type_url: RETRY_INFO_TYPE_URL.to_owned(), value: retry_info.clone() }],
    };
    let mut metadata = MetadataMap::new();
    metadata.insert_bin("google.rpc.retryinfo-bin", MetadataValue::from_bytes(&retry_info));
    Status::with_details_and_metadata(Code::Unavailable, message, Bytes::from(details.encode_to_vec()), metadata)
}

/// Moves message bytes in and out untouched: decoding is the adapter's.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

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
    type Error = Status;

    fn encode(&mut self, item: Bytes, destination: &mut EncodeBuf<'_>) -> Result<(), Status> {
        destination.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(source.copy_to_bytes(source.remaining())))
    }
}
