//! Every page at 1280×800 and at a 390-pixel phone width, and in dark mode.

use serde_json::{json, Value};

use crate::harness::{run, Page, Store, DESKTOP, PHONE};
use crate::seed;

/// Each page, and an element its rendered content must show.
const PAGES: [(&str, &str, &str); 6] = [
    ("traces", "/", "#view tr.trace-row"),
    ("trace", "/traces/checkout-1?span=llm-plan", ".span-detail .message"),
    ("error-trace", "/traces/failing-1?span=refund-tool", ".span-detail .error-text"),
    ("sessions", "/sessions", "#view tr.session-row"),
    ("session", "/sessions/sess-a", "#view .turn"),
    ("stats", "/stats", "[data-chart=tokens] svg"),
];

async fn seed_all(page: &Page) {
    let base = seed::now_ms() - 12 * 60_000;
    for batch in seed::all_traces(base) {
        page.ingest(batch).await;
    }
}

async fn every_page_fits(page: &Page, size: (u32, u32), label: &str) {
    page.set_viewport(size).await;
    for (name, path, content) in PAGES {
        page.open(path).await;
        page.find(content).await;
        assert_eq!(page.eval("window.innerWidth").await, json!(size.0));
        assert!(!page.scrolls_horizontally().await, "{path} scrolls sideways at {label}");
        page.screenshot(&format!("layout-{label}-{name}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_1280_by_800() {
    run("layout-1280", Store::Sqlite, |page| async move {
        seed_all(&page).await;
        every_page_fits(&page, DESKTOP, "1280").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_390_pixel_phone() {
    run("layout-390", Store::Sqlite, |page| async move {
        seed_all(&page).await;
        every_page_fits(&page, PHONE, "390").await;
        // The tree and its detail stack instead of sitting side by side.
        page.open("/traces/checkout-1").await;
        page.find(".span-detail").await;
        let stacked = page
            .eval("document.querySelector('.detail-panel').getBoundingClientRect().top >= document.querySelector('.tree-section').getBoundingClientRect().bottom")
            .await;
        assert_eq!(stacked, json!(true));
    })
    .await;
}

/// Relative luminance (0 black … 1 white) of a computed CSS colour.
async fn luminance(page: &Page, css: &str, property: &str) -> f64 {
    let color = page
        .eval(&format!(
            "getComputedStyle(document.querySelector({})).getPropertyValue({})",
            json!(css),
            json!(property)
        ))
        .await;
    let text = color.as_str().unwrap_or_else(|| panic!("{css} {property}: {color}"));
    let channels: Vec<f64> = text
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .take(3)
        .map(|part| part.trim().parse::<f64>().unwrap_or_else(|_| panic!("{css} {property} is {text}")) / 255.0)
        .collect();
    let linear = |c: f64| if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
    0.2126 * linear(channels[0]) + 0.7152 * linear(channels[1]) + 0.0722 * linear(channels[2])
}

async fn assert_dark(page: &Page, what: &str) {
    let background = luminance(page, "body", "background-color").await;
    let text = luminance(page, "body", "color").await;
    assert!(background < 0.05, "{what}: dark background, luminance {background}");
    assert!(text > 0.6, "{what}: light text, luminance {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dark_mode_renders() {
    run("dark-mode", Store::Sqlite, |page| async move {
        seed_all(&page).await;
        page.prefer_color_scheme("dark").await;
        for (name, path, content) in PAGES {
            page.open(path).await;
            page.find(content).await;
            assert_dark(&page, path).await;
            page.screenshot(&format!("dark-{name}")).await;
        }
        // Chart text and the panels follow the theme too.
        assert!(luminance(&page, "[data-chart=traces] .chart-text", "fill").await > 0.3, "chart labels are light");
        assert!(luminance(&page, ".chart-card", "background-color").await < 0.05, "chart cards are dark");
        page.open("/traces/checkout-1").await;
        page.find(".span-detail").await;
        assert!(luminance(&page, ".detail-panel", "background-color").await < 0.05);

        // The toggle overrides the system preference, and is remembered.
        page.prefer_color_scheme("light").await;
        page.open("/").await;
        assert!(luminance(&page, "body", "background-color").await > 0.8, "light by default");
        page.click("#theme-toggle").await;
        assert_eq!(page.eval("document.documentElement.dataset.theme").await, json!("dark"));
        assert_dark(&page, "toggled").await;
        page.open("/stats").await;
        assert_dark(&page, "toggled, after navigation").await;
        page.client.refresh().await.expect("reload");
        page.wait_for_view().await;
        assert_eq!(page.eval("document.documentElement.dataset.theme").await, json!("dark"));
        assert_dark(&page, "toggled, after reload").await;
        let label: Value = page.eval("document.getElementById('theme-toggle').getAttribute('aria-label')").await;
        assert_eq!(label, json!("Colour theme: dark"));
    })
    .await;
}
