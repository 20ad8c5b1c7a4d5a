//! People and their proofs: the user lifecycle ([`users`], the one place a
//! user is made or changed), the login [`guard`] that throttles every
//! typed secret, with the [`device`] cookies that keep an account's owner
//! from being locked out; and, as they come, second factors and "what this
//! sign-in proved so far" (ARCHITECTURE.md, "Layers").
//!
//! `identity` stands on [`crate::domain`] and [`crate::store`]; the
//! protocol (`oauth`) and the shells (`http`, `cli`) call it.

pub mod device;
pub mod guard;
pub mod users;
