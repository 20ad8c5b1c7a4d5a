//! Protocol logic: plain functions over the store traits and a clock, no
//! HTTP types. The `http` module is a thin shell around these.

pub mod access_token;
pub mod acr;
pub mod authorize;
pub mod authorize_error;
pub mod claims;
pub mod client_auth;
pub mod code;
pub mod dpop;
pub mod dynamic_registration;
/// Device cookies, now part of the login guard ([`crate::identity::device`]).
pub use crate::identity::device;
pub mod error;
pub mod first_party;
pub mod grant;
pub mod id_token;
pub mod interaction;
pub mod introspect;
pub mod logout;
pub mod origins;
pub mod par;
pub mod params;
pub mod revoke;
pub mod sign_in;
/// Per-address counting, now part of the login guard ([`crate::identity::guard`]).
pub use crate::identity::guard as throttle;
pub mod token;
pub mod upstream;
pub mod user_tokens;
pub mod userinfo;
pub mod verified_tokens;

pub use crate::domain::Scope;
pub use client_auth::{authenticate, AuthenticatedClient};
pub use error::OAuthError;
pub use params::Params;
