//! The home page before any trace has arrived, and how it turns into the
//! trace list when the first one does.

use crate::harness::{run, Store, PHONE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_state_shows_this_servers_address() {
    run("empty-state", Store::Sqlite, |page| async move {
        page.open("/").await;
        page.find(".onboarding").await;
        let address = page.texts(".server-address").await;
        assert_eq!(address, std::slice::from_ref(&page.base_url));
        let otlp = page.texts("#setup-otlp").await;
        assert_eq!(otlp, [format!("export OTEL_EXPORTER_OTLP_ENDPOINT={}", page.base_url)]);
        // OTLP/gRPC: this server's own gRPC port, on the host the browser reached.
        let mut grpc = url::Url::parse(&page.base_url).expect("base URL");
        grpc.set_port(Some(page.grpc_port)).expect("a port");
        let grpc_origin = grpc.origin().ascii_serialization();
        page.find("#setup-otlp-grpc").await;
        let otlp_grpc = page.texts("#setup-otlp-grpc").await;
        assert_eq!(
            otlp_grpc,
            [format!("export OTEL_EXPORTER_OTLP_ENDPOINT={grpc_origin}\nexport OTEL_EXPORTER_OTLP_PROTOCOL=grpc")]
        );
        let langsmith = page.texts("#setup-langsmith").await;
        assert_eq!(langsmith, [format!("export LANGSMITH_ENDPOINT={}\nexport LANGSMITH_TRACING=true", page.base_url)]);
        let curl = page.texts("#setup-curl").await.concat();
        assert!(curl.starts_with(&format!("curl -s {}/api/v1/ingest", page.base_url)), "{curl}");
        assert!(!page.scrolls_horizontally().await, "the empty state fits 1280 px");
        page.set_viewport(PHONE).await;
        page.wait_until("the narrow layout", "window.innerWidth === 390").await;
        assert!(!page.scrolls_horizontally().await, "the empty state fits 390 px");
    })
    .await;
}
