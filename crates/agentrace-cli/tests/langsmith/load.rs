//! The SDK re-sends a multipart body it has not seen acknowledged within
//! 10 s. Under concurrent load every request must be answered (after its
//! commit) far inside that, or retries would pile up on a busy server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::TestApp;

crate::on_both_backends!(multipart_requests_are_acknowledged_far_inside_the_sdk_timeout);

const CLIENTS: usize = 16;
const REQUESTS_PER_CLIENT: usize = 12;
/// Half the SDK's read timeout.
const WORST_ACCEPTABLE: Duration = Duration::from_secs(5);

/// The captured whole-scenario body (7 runs in 3 traces, an attachment),
/// with every id moved to a prefix of its own: `01a21f73` is the first
/// eight hex digits of every id in it, so the body keeps its length.
fn body_with_own_ids(number: usize) -> Vec<u8> {
    let mut body = crate::fixture("04_multipart_plain.multipart");
    let prefix = format!("{number:08x}");
    let mut start = 0;
    while let Some(offset) = body[start..].windows(8).position(|window| window == b"01a21f73") {
        body[start + offset..start + offset + 8].copy_from_slice(prefix.as_bytes());
        start += offset + 8;
    }
    body
}

async fn multipart_requests_are_acknowledged_far_inside_the_sdk_timeout(app: TestApp) {
    let app = Arc::new(app);
    let clients = (0..CLIENTS).map(|client| {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            for request in 0..REQUESTS_PER_CLIENT {
                let body = body_with_own_ids(client * REQUESTS_PER_CLIENT + request + 1);
                let started = Instant::now();
                let reply = app
                    .post_raw("/runs/multipart", "multipart/form-data; boundary=22c960dd0ff24654b2280cd544f4c15b", body)
                    .await;
                slowest = slowest.max(started.elapsed());
                assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
            }
            slowest
        })
    });
    let slowest = futures::future::join_all(clients).await.into_iter().map(Result::unwrap).max().unwrap();
    assert!(slowest < WORST_ACCEPTABLE, "the slowest acknowledgement took {slowest:?}");
    assert_eq!(app.store.count_spans().await.unwrap(), (CLIENTS * REQUESTS_PER_CLIENT * 7) as u64);
}
