//! The OpenAPI document of every route, served at `/api/v1/openapi.json`.
//! It is written by hand (so it can explain the merge rules and limits);
//! a test checks it against the route table so the two cannot drift.

use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    #[test]
    fn document_and_route_table_list_the_same_routes() {
        let document: Value = serde_json::from_str(super::DOCUMENT).expect("the document is JSON");
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .filter(|key| *key != "parameters")
                    .map(move |method| (method.to_uppercase(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> =
            crate::routes::ROUTES.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect();
        assert_eq!(documented, routed);
    }
}
