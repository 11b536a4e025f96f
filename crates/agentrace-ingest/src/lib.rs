//! Everything between a request body and the store: protocol adapters that
//! turn wire formats into the core model, and the pipeline that batches
//! pieces from concurrent requests into durable group commits.

pub mod langsmith;
pub mod native;
pub mod otlp;
pub mod pipeline;
pub mod rejection;

pub use pipeline::{Ingestor, PipelineConfig, SubmitError};
pub use rejection::{IngestOutcome, ItemRejection};
