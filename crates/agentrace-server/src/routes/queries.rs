//! The read API's lists, sessions, statistics and projects, and deleting a
//! trace. Each handler extracts the path and query and hands them to
//! [`crate::read`], which the CLI shares.

use agentrace_core::StoredSpan;
use agentrace_store::query::{Page, SessionDetail, SessionSummary, TraceSummary};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::extract::QueryPairs;
use crate::read::{self, ProjectsResponse, StatsResponse};
use crate::{ApiError, AppState};

pub async fn list_traces(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<Page<TraceSummary>>, ApiError> {
    Ok(Json(read::traces(&*state.store, &query.0).await?))
}

pub async fn list_spans(State(state): State<AppState>, query: QueryPairs) -> Result<Json<Page<StoredSpan>>, ApiError> {
    Ok(Json(read::spans(&*state.store, &query.0).await?))
}

pub async fn list_sessions(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<Page<SessionSummary>>, ApiError> {
    Ok(Json(read::sessions(&*state.store, &query.0).await?))
}

pub async fn get_session(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    query: QueryPairs,
) -> Result<Json<SessionDetail>, ApiError> {
    Ok(Json(read::session(&*state.store, &session_id, &query.0).await?))
}

pub async fn stats(State(state): State<AppState>, query: QueryPairs) -> Result<Json<StatsResponse>, ApiError> {
    Ok(Json(read::stats(&*state.store, &query.0).await?))
}

pub async fn list_projects(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<ProjectsResponse>, ApiError> {
    Ok(Json(read::projects(&*state.store, &query.0).await?))
}

pub async fn delete_trace(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    query: QueryPairs,
) -> Result<StatusCode, ApiError> {
    read::delete_trace(&*state.store, &trace_id, &query.0).await?;
    Ok(StatusCode::NO_CONTENT)
}
