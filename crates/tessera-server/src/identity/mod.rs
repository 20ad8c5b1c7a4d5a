//! People and their proofs: the user lifecycle ([`users`], the one place a
//! user is made or changed) and, as they come, the login guard that
//! throttles every typed secret, second factors and "what this sign-in
//! proved so far" (ARCHITECTURE.md, "Layers").
//!
//! `identity` stands on [`crate::domain`] and [`crate::store`]; the
//! protocol (`oauth`) and the shells (`http`, `cli`) call it.

pub mod users;
