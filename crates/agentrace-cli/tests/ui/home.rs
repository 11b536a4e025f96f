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
