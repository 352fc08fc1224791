//! The OpenAPI 3 document of this API, generated from the handlers and
//! types above, served at `/api/v1/openapi.json`.

use axum::{Json, Router, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::startup::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchyard API", description = "Workflows, runs and credentials of the signed-in account. \
        Authenticate with the session cookie (browsers) or `Authorization: Bearer <token>` (scripts). \
        Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}`."),
    servers((url = "/api/v1")),
    paths(
        super::auth::register, super::auth::login, super::auth::logout, super::auth::me, super::auth::change_password,
        super::tokens::list, super::tokens::create, super::tokens::revoke,
        super::connections::list, super::connections::create, super::connections::read, super::connections::update,
        super::connections::remove, super::connections::test, super::connections::authorize, super::connections::usage,
        super::apis::list, super::apis::search, super::apis::read, super::apis::import, super::apis::remove,
        super::workflows::list, super::workflows::create, super::workflows::read, super::workflows::update,
        super::workflows::remove, super::workflows::activate, super::workflows::pause, super::workflows::validate,
        super::workflows::execute, super::workflows::versions, super::workflows::version, super::workflows::audit,
        super::workflows::regenerate_webhook, super::workflows::duplicate, super::events::post_event, super::events::list, super::events::preview_schedule,
        super::executions::list, super::executions::read, super::executions::log, super::executions::steps, super::executions::cancel,
        super::executions::retry, super::live::execution_events, super::live::owner_stream,
        super::dead_letters::list, super::dead_letters::redrive, super::dead_letters::redrive_all,
        super::catalogue::kinds, super::retention::preview,
        super::templates::list, super::templates::read, super::templates::use_template,
        super::workflow_import::import, super::workflow_export::export,
        super::alerts::account, super::alerts::set_account, super::alerts::workflow, super::alerts::set_workflow,
        super::alerts::inherit, super::alerts::channels, super::alerts::create_channel, super::alerts::update_channel,
        super::alerts::remove_channel, super::alerts::test_channel, super::alerts::notifications, super::alerts::read,
        super::ai::analyze, super::ai::analyze_stream, super::ai::generate, super::ai::generate_stream,
        super::ai::modify, super::ai::modify_stream, super::ai::suggest_next, super::ai::suggest_next_stream,
    ),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("switchyard_session"))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
