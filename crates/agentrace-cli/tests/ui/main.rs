//! Browser tests of the web UI: headless Chromium, driven through
//! chromedriver, against the real `agentrace serve` seeded with known
//! traces through the ingest API. Every test saves a screenshot under
//! `target/ui-screenshots/` and fails on any browser console error.

mod harness;
mod home;
mod layout;
mod seed;
mod session;
mod stats;
mod trace;
mod traces;
