//! The MCP authorization profile end to end, with real clients nobody here
//! wrote: the official MCP TypeScript SDK's client (npm
//! `@modelcontextprotocol/sdk`) and headless Chromium.
//!
//! Tessera and this MCP server run in-process on loopback ports. The SDK
//! client has no registration: it connects, gets 401 with
//! `resource_metadata`, reads the server's protected resource metadata
//! (RFC 9728) and Tessera's metadata (RFC 8414), comes in by dynamic
//! registration (RFC 7591) or by a client ID metadata document, sends the
//! user through Tessera's sign-in and consent pages, exchanges the code
//! with PKCE and `resource` (RFC 8707), and calls the tool with a token
//! whose audience is this server alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use std::path::PathBuf;

use serde_json::Value;
use tessera_guard::Guard;
use tessera_server::config::DynamicRegistration;
use tessera_server::domain::{Resource, Scope};
use tessera_server::store::{ResourceStore, Store, UserStore};
use tessera_testkit as support;

const PASSWORD: &str = "correct horse battery";

/// Where the browser tests' node scripts and packages are.
fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/tessera-server/tests/browser")
}

/// Serves the MCP server for tokens of `issuer`; its resource identifier.
async fn serve_mcp(issuer: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        mcp_server::MCP_PATH
    );
    let guard = Guard::builder(issuer, &resource)
        .resource(&resource, &[mcp_server::SCOPE])
        .build()
        .await
        .unwrap();
    let app = mcp_server::app(&guard).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    resource
}

/// Runs the SDK client script; its report.
async fn agent(mcp_url: &str, mode: &str, extra: &[String]) -> Value {
    let mut args = vec![
        "mcp.mjs".to_owned(),
        mcp_url.to_owned(),
        mode.to_owned(),
        "ann".to_owned(),
        PASSWORD.to_owned(),
        support::free_port().to_string(),
    ];
    args.extend_from_slice(extra);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(scripts())
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "mcp.mjs {mode} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Registers the MCP server as a resource and ann as a user.
async fn seed(database: &str, resource: &str) {
    let store = Store::open(database).await.unwrap();
    store
        .create_resource(&Resource {
            identifier: resource.to_owned(),
            name: "Notes (MCP)".into(),
            scopes: Scope::parse(mcp_server::SCOPE).unwrap(),
            created_at: 0,
        })
        .await
        .unwrap();
    store
        .create_user(&support::user("u-ann", "ann", PASSWORD, &["user"]))
        .await
        .unwrap();
}

/// What both ways in must show: the tool reached with a token for this
/// server alone, after a consent page that names the API and says the
/// client is not a registered app.
fn assert_reached_the_tool(report: &Value, resource: &str) {
    assert_eq!(report["resource"], resource, "{report}");
    assert_eq!(report["scope"], mcp_server::SCOPE, "{report}");
    let claims = &report["access_token_claims"];
    assert_eq!(
        claims["aud"], resource,
        "the token's audience is this server alone: {report}"
    );
    assert_eq!(claims["scope"], mcp_server::SCOPE, "{report}");
    assert_eq!(claims["sub"], "u-ann", "{report}");
    assert_eq!(report["tools"], serde_json::json!(["whoami"]), "{report}");
    let whoami = report["whoami"].as_str().unwrap();
    assert!(whoami.starts_with("user u-ann via client "), "{whoami}");
    assert!(
        whoami.ends_with(&format!("with scope \"{}\"", mcp_server::SCOPE)),
        "{whoami}"
    );
    let consent = report["consent_text"].as_str().unwrap();
    assert!(
        consent.contains("Notes (MCP)"),
        "the consent page names the API: {consent}"
    );
    assert!(consent.contains(resource), "{consent}");
}

fn ready() -> bool {
    support::chromium(&scripts()).is_some() && {
        let sdk = scripts().join("node_modules/@modelcontextprotocol/sdk");
        assert!(
            sdk.exists() || std::env::var_os("CI").is_none(),
            "CI must have npm ci'd {}",
            sdk.display()
        );
        sdk.exists()
    }
}

/// An MCP client with no registration comes in by dynamic registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_registers_itself_and_calls_a_tool() {
    if !ready() {
        return;
    }
    let db = support::sqlite_url();
    let tessera = support::start_configured(&db, "ES256", None, |c| {
        c.dynamic_registration = DynamicRegistration::Open;
    })
    .await;
    let resource = serve_mcp(&tessera.issuer).await;
    seed(&db, &resource).await;

    let report = agent(&resource, "dcr", &[]).await;
    assert_reached_the_tool(&report, &resource);
    let client_id = report["client_id"].as_str().unwrap();
    assert_eq!(report["registered_client_id"], client_id, "{report}");
    assert!(
        report["consent_text"]
            .as_str()
            .unwrap()
            .contains("registered itself"),
        "{report}"
    );
    tessera.stop().await;
}

/// An MCP client with no registration comes in by its client ID metadata
/// document, published over https (the SDK takes no other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_known_by_its_metadata_document_calls_a_tool() {
    if !ready() {
        return;
    }
    let tls = support::self_signed_certificate("mcp-cimd");
    let db = support::sqlite_url();
    let cert = tls.join("cert.pem").display().to_string();
    let tessera = support::start_configured(&db, "ES256", None, |c| {
        c.client_metadata_documents = true;
        c.client_metadata_allow_hosts = vec!["127.0.0.1".into()];
        c.outbound_ca_file = Some(cert);
    })
    .await;
    let resource = serve_mcp(&tessera.issuer).await;
    seed(&db, &resource).await;

    let doc_port = support::free_port().to_string();
    let report = agent(&resource, "cimd", &[tls.display().to_string(), doc_port.clone()]).await;
    assert_reached_the_tool(&report, &resource);
    assert_eq!(
        report["client_id"],
        format!("https://127.0.0.1:{doc_port}/agent.json"),
        "the client_id is the document's URL: {report}"
    );
    assert!(report["document_fetches"].as_u64().unwrap() >= 1, "{report}");
    let consent = report["consent_text"].as_str().unwrap();
    assert!(consent.contains("From 127.0.0.1"), "{consent}");
    assert!(
        consent.contains("not an app registered with this server"),
        "{consent}"
    );
    tessera.stop().await;
}
