//! The vocabulary and the entities every other layer speaks of, with no
//! I/O: [`Scope`], the sign-in [`Method`]s and their RFC 8176 `amr`
//! values, [`GrantType`], client authentication [`AuthMethod`]s, and
//! [`Client`] with its [`ClientCredentials`]; (as they move here) users and
//! their credentials.
//!
//! Everything imports `domain`; `domain` imports nothing of the server.
//! So `store/` persists these types without knowing the protocol, and
//! `oauth/` speaks of them without knowing how they are stored
//! (ARCHITECTURE.md, "Layers").

pub mod auth_method;
pub mod client;
pub mod grant_type;
pub mod method;
pub mod proof;
pub mod scope;

pub use auth_method::AuthMethod;
pub use client::{Client, ClientCredentials, ClientKeys, SecretMethod};
pub use grant_type::GrantType;
pub use method::Method;
pub use proof::{Amr, Proof, Proofs};
pub use scope::{Scope, ScopeError};
