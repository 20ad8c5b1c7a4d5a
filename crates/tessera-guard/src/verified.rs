//! Tokens this guard has verified with its current keys, so that the same
//! token on the next request (a client sends it with every call until it
//! expires) costs a hash lookup instead of a signature verification.
//!
//! A hit skips only what cannot change for the same bytes and the same
//! keys: the signature, the header (`typ`, `alg`, `kid`), `iss`, `aud` and
//! the required claims. Time is checked on every hit: an entry counts only
//! while `now < exp + leeway`, the rule the verification itself applies
//! (RFC 7519 §4.1.4); `nbf` and `iat` only become more valid as time passes.
//! The cache lives in the key snapshot ([`crate::jwks`]) whose keys verified
//! its entries, so new keys (a rotation, a removed key) start an empty
//! one. The route's scopes and roles, and a DPoP proof, are checked on
//! every request after it, as before.
//!
//! The map itself is tessera-jwt's [`Remembered`], the one the server's
//! introspection keeps too: it holds the token's SHA-256, never the token;
//! only verified tokens go in, from their second verification on (a token
//! used once costs no hashing and pushes no other out); at most
//! [`CAPACITY`], expired ones dropped first, then all.

use tessera_jwt::remembered::Remembered;

use crate::Claims;

/// How many verified tokens one guard remembers.
pub const CAPACITY: usize = 4096;

/// Verified claims, each counting while `now < exp + leeway`.
pub(crate) type Verified = Remembered<Claims>;

/// An empty cache, for a new key snapshot.
pub(crate) fn empty() -> Verified {
    Remembered::new(CAPACITY)
}
