//! People and their proofs: the user lifecycle ([`users`], the one place a
//! user is made or changed), the login [`guard`] that throttles every
//! typed secret, with the [`device`] cookies that keep an account's owner
//! from being locked out; second [`factors`]: [`totp`] authenticators
//! and [`recovery`] codes; [`passkeys`] over the [`webauthn`] verifier;
//! [`email`] verification and password reset by mailed link;
//! and, as they come, "what this sign-in proved
//! so far" (ARCHITECTURE.md, "Layers").
//!
//! `identity` stands on [`crate::domain`] and [`crate::store`]; the
//! protocol (`oauth`) and the shells (`http`, `cli`) call it.

pub mod device;
pub mod email;
pub mod factors;
pub mod guard;
pub mod passkeys;
pub mod recovery;
pub mod totp;
pub mod users;
pub mod webauthn;
