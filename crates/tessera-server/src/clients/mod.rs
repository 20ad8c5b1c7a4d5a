//! The clients this server serves: [`registration`], the one place a
//! [`Client`](crate::domain::Client) is built and checked, and
//! [`authentication`], which says who is calling and what it proved;
//! [`metadata`] reads and writes RFC 7591 client metadata.
//!
//! Below `oauth/` (which takes an
//! [`AuthenticatedClient`](authentication::AuthenticatedClient) as proof)
//! and above `store/` (which persists what registration built); the CLI
//! and the demo seed register through here (ARCHITECTURE.md, "Layers").

pub mod assertion;
pub mod authentication;
pub mod metadata;
pub mod registration;
