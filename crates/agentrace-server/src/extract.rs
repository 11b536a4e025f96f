//! `QueryPairs`: a route's query string as decoded name and value pairs,
//! in order. The read routes parse them with [`crate::params`], which needs
//! what a typed `Query<T>` would hide: repeated names, `metadata.KEY`
//! names, and which names were not understood.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::params::ParameterError;
use crate::ApiError;

pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|rejection| ParameterError::new("query", rejection.body_text()))?;
        Ok(QueryPairs(pairs))
    }
}
