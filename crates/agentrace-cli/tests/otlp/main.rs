//! OTLP end to end: the real router, gRPC services, pipeline and stores on
//! both backends, fed the captured exporter requests and hand-made ones
//! over OTLP/HTTP (protobuf, JSON, gzip, deflate) and OTLP/gRPC, and driven
//! by the real OpenTelemetry Python SDK and exporters.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/python.rs"]
mod python_venv;

mod clients;
mod grpc;
mod http;
mod support;
