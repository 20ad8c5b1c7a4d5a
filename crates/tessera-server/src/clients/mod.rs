//! The clients this server serves: [`registration`], the one place a
//! [`Client`](crate::domain::Client) is built and checked, and
//! [`authentication`], which says who is calling and what it proved.
//!
//! Below `oauth/` (which takes an
//! [`AuthenticatedClient`](authentication::AuthenticatedClient) as proof)
//! and above `store/` (which persists what registration built); the CLI
//! and the demo seed register through here (ARCHITECTURE.md, "Layers").

pub mod authentication;
pub mod registration;

/// A fresh SQLite store in a temporary file, for this module's tests.
#[cfg(test)]
async fn test_store(name: &str) -> crate::store::Store {
    let dir = std::env::temp_dir().join(format!("tessera-clients-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    crate::store::Store::open(&format!("sqlite://{}/t.db", dir.display()))
        .await
        .unwrap()
}
