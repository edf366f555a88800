//! REST handlers under `/api/v1`: each parses its input, calls one `Service` operation
//! and returns its JSON. No handler holds a lock or state of its own.

use super::caller::Caller;
use super::error::{ApiError, ApiJson};
use super::AppState;
use crate::answers::{CodeSearchBody, DependenciesBody, ReferencesBody, SymbolSearchBody};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;

/// `POST /api/v1/repositories` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRepositoryBody {
    /// A git URL under the server's KOTA_GIT_BASE_URL.
    pub git_url: String,
    pub name: Option<String>,
    pub default_branch: Option<String>,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct JobAccepted {
    pub job_id: String,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct RepositoryList {
    pub repositories: Vec<crate::service::RepositoryView>,
}

pub async fn create_repository(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<CreateRepositoryBody>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_write()?;
    let created = state
        .service
        .create_repository(
            &caller.org,
            &body.git_url,
            body.name.as_deref(),
            body.default_branch.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list_repositories(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<RepositoryList>, ApiError> {
    Ok(Json(RepositoryList {
        repositories: state.service.repositories(&caller.org).await?,
    }))
}

pub async fn get_repository(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.service.repository(&caller.org, &id).await?))
}

pub async fn delete_repository(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    state.service.delete_repository(&caller.org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn index_repository(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_write()?;
    let job = state.service.index_repository(&caller.org, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(JobAccepted { job_id: job.id })))
}

pub async fn get_job(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.service.job_detail(&caller.org, &id).await?))
}

pub async fn search_code(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<CodeSearchBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.service.search_code(&caller.org, &body).await?))
}

pub async fn search_symbols(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<SymbolSearchBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        state.service.search_symbols(&caller.org, &body).await?,
    ))
}

pub async fn references(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<ReferencesBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        state.service.find_references(&caller.org, &body).await?,
    ))
}

pub async fn dependencies(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<DependenciesBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.service.dependencies(&caller.org, &body).await?))
}

/// Any path under `/api/v1` that names no route.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

pub async fn list_keys(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<crate::service::KeyList>, ApiError> {
    caller.require_write()?;
    Ok(Json(state.service.keys(&caller.org).await?))
}

pub async fn create_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<crate::service::CreateKeyBody>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_write()?;
    let created = state
        .service
        .create_key(&caller.org, caller.tier, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn revoke_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    state.service.revoke_key(&caller.org, &key_id).await?;
    state.auth.forget_key(&key_id).await;
    Ok(StatusCode::NO_CONTENT)
}
