//! The vocabulary and the entities every other layer speaks of, with no
//! I/O: [`Scope`], the sign-in [`Method`]s and their RFC 8176 `amr`
//! values, [`User`]s and their [`Credential`]s, and (as they move here)
//! grant types, client authentication methods and clients.
//!
//! Everything imports `domain`; `domain` imports nothing of the server.
//! So `store/` persists these types without knowing the protocol, and
//! `oauth/` speaks of them without knowing how they are stored
//! (ARCHITECTURE.md, "Layers").

pub mod credential;
pub mod method;
pub mod proof;
pub mod scope;
pub mod user;

pub use credential::{Credential, CredentialError, CredentialKind, CredentialType, PasswordHash};
pub use method::Method;
pub use proof::{Amr, Proof, Proofs};
pub use scope::{Scope, ScopeError};
pub use user::User;
