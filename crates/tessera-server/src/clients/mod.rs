//! The clients this server serves: [`registration`], the one place a
//! [`Client`](crate::domain::Client) is built and checked,
//! [`authentication`], which says who is calling and what it proved,
//! [`metadata`], which reads and writes RFC 7591 client metadata, and
//! [`directory`], where a client is found: the store, or its client ID
//! [`metadata_document`]. What a client points the server at (its
//! document, its [`jwks_uri`]) is fetched by [`outbound`], which reaches
//! only the public internet.
//!
//! Below `oauth/` (which takes an
//! [`AuthenticatedClient`](authentication::AuthenticatedClient) as proof)
//! and above `store/` (which persists what registration built); the CLI
//! and the demo seed register through here (ARCHITECTURE.md, "Layers").

pub mod assertion;
pub mod authentication;
pub mod directory;
pub mod jwks_uri;
pub mod metadata;
pub mod metadata_document;
pub mod outbound;
pub mod registration;
