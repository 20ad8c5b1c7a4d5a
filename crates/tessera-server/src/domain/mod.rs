//! The vocabulary and the entities every other layer speaks of, with no
//! I/O: [`Scope`], the sign-in [`Method`]s and their RFC 8176 `amr`
//! values, [`User`]s and their [`Credential`]s and second [`Factor`]s, [`GrantType`], client
//! authentication [`AuthMethod`]s, and [`Client`] with its
//! [`ClientCredentials`].
//!
//! Everything imports `domain`; `domain` imports nothing of the server.
//! So `store/` persists these types without knowing the protocol, and
//! `oauth/` speaks of them without knowing how they are stored
//! (ARCHITECTURE.md, "Layers").

pub mod auth_method;
pub mod client;
pub mod credential;
pub mod factor;
pub mod grant_type;
pub mod method;
pub mod proof;
pub mod resource;
pub mod scope;
pub mod user;

pub use auth_method::AuthMethod;
pub use client::{
    Client, ClientCredentials, ClientKeys, Provenance, SecretMethod, ADMIN_AUDIENCE, ADMIN_ROLE,
};
pub use credential::{Credential, CredentialError, CredentialKind, CredentialType, PasswordHash};
pub use factor::{Factor, FactorKind};
pub use grant_type::GrantType;
pub use method::Method;
pub use proof::{Acr, Amr, Proof, Proofs, RequestedAcr};
pub use resource::{Approval, Registry, Resource, Resources, Target, TargetError};
pub use scope::{Scope, ScopeError};
pub use user::User;
