//! An MCP server ([Model Context Protocol], Streamable HTTP transport, the
//! official Rust SDK `rmcp`) protected by [`tessera_guard`], as the MCP
//! authorization spec has it:
//!
//! - The server is an OAuth 2.0 resource server. Its identifier (RFC 8707)
//!   is the URL of its MCP endpoint, e.g. `https://notes.example/mcp`.
//! - It serves its protected resource metadata ([RFC 9728]) at
//!   `/.well-known/oauth-protected-resource/mcp`: the resource, the
//!   authorization server (Tessera), the scopes.
//! - A request without a valid token gets 401 with
//!   `WWW-Authenticate: Bearer resource_metadata="..."`, from which an MCP
//!   client discovers Tessera, registers or identifies itself, signs the
//!   user in and asks for a token with `resource` set to this server.
//! - A token must name this server alone as its audience: one Tessera
//!   issued for another API is refused (the guard checks `aud` against the
//!   resource identifier), so a token is never passed through to another
//!   service (the spec's "confused deputy" rule).
//!
//! The one tool, `whoami`, answers with what the token says: the user, the
//! client and the granted scopes.
//!
//! [Model Context Protocol]: https://modelcontextprotocol.io/specification
//! [RFC 9728]: https://www.rfc-editor.org/rfc/rfc9728

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler};
use tessera_guard::{Claims, Guard};

/// The scope a token needs to use the tools.
pub const SCOPE: &str = "notes:read";

/// Where the MCP endpoint is served on the server's host.
pub const MCP_PATH: &str = "/mcp";

/// The MCP server: its tools.
#[derive(Clone, Debug, Default)]
pub struct Notes;

impl Notes {
    fn whoami() -> Tool {
        let schema = serde_json::json!({ "type": "object", "properties": {}, "additionalProperties": false });
        let schema = match schema {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        Tool::new(
            "whoami",
            "Says whom the access token was issued for: the user, the client and the scopes.",
            Arc::new(schema),
        )
    }
}

impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("A demo MCP server behind Tessera: call whoami.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![Notes::whoami()]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != "whoami" {
            return Err(ErrorData::invalid_params(
                format!("no tool {:?}", request.name),
                None,
            ));
        }
        // The guard put the verified claims in the HTTP request's
        // extensions; rmcp hands the request's parts to the handler.
        let claims = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Claims>());
        let Some(claims) = claims else {
            return Err(ErrorData::internal_error(
                "the request carried no verified token",
                None,
            ));
        };
        let scopes: Vec<&str> = claims.scopes().collect();
        let text = format!(
            "user {} via client {} with scope \"{}\"",
            claims.subject(),
            claims.client_id().unwrap_or("(none)"),
            scopes.join(" ")
        );
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

/// The whole server: the MCP endpoint behind the guard (scope [`SCOPE`]),
/// and the protected resource metadata open to all.
///
/// `guard` must have been built with [`tessera_guard::GuardBuilder::resource`]:
/// its identifier is this server's MCP URL.
pub fn app(guard: &Guard) -> anyhow::Result<Router> {
    let Some(metadata) = guard.resource_metadata().cloned() else {
        anyhow::bail!("the guard names no resource: build it with GuardBuilder::resource");
    };
    let mcp = StreamableHttpService::new(
        || Ok(Notes),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let protected = Router::new()
        .nest_service(MCP_PATH, mcp)
        .layer(guard.layer().scope(SCOPE));
    let served = metadata.clone();
    Ok(Router::new()
        .route(
            &metadata.path(),
            get(move || {
                let served = served.clone();
                async move { served.response::<axum::body::Body>() }
            }),
        )
        .merge(protected))
}
