//! Access tokens this node has already verified, so that checking the same
//! token again (introspection, userinfo, revocation, the admin API: a
//! resource server asks about one token on every call it receives) costs a
//! hash lookup instead of a signature verification.
//!
//! What a hit skips is only the work whose answer cannot change: the
//! signature, the header (`typ`, `alg`, `kid`) and the issuer were checked
//! against the key set this cache belongs to, and a token's bytes never
//! change. What can change is checked on every use, hit or miss:
//!
//! - time: a hit is taken only while `now < exp` (RFC 7519 §4.1.4, no
//!   leeway, as the verification itself), and `nbf`/`iat` only ever become
//!   more valid as time passes;
//! - revocation of the token or of its key: the caller reads both from the
//!   store after every lookup (`introspect::active_token`);
//! - the key set: the cache lives in the [`crate::keys::KeyRing`] whose keys
//!   verified its entries, so a key that leaves the set (a reload after
//!   rotation or revocation) takes its tokens' entries with it.
//!
//! The map is tessera-jwt's [`Remembered`], the one `tessera-guard` keeps
//! too: it holds the token's SHA-256, so no bearer token that a memory dump
//! could replay; only tokens that passed verification go in (a caller
//! cannot fill it with junk), from their second verification on (a token
//! checked once costs no hashing and pushes no other out); bounded: when
//! full, expired entries go first, then everything.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use tessera_jwt::remembered::Remembered;

/// How many verified tokens one node remembers: a few MiB of claims.
pub const CAPACITY: usize = 4096;

/// A token's verified claims, and what every later use still checks.
#[derive(Debug)]
pub struct Verified {
    /// The claims, as the verification returned them.
    pub claims: Map<String, Value>,
    /// `exp`: the entry is used while `now < exp`.
    pub exp: i64,
    /// The revocation id of the key that signed it
    /// ([`crate::store::key_revocation_jti`] of its `kid`).
    pub key_jti: String,
    /// The introspection answer for it while active (RFC 7662 §2.2), the
    /// same for every caller allowed to ask: rendered on first use.
    pub introspection: OnceLock<String>,
}

impl Verified {
    /// An entry for claims that expire at `exp`, signed by the key whose
    /// revocation id is `key_jti`.
    pub fn new(claims: Map<String, Value>, exp: i64, key_jti: String) -> Verified {
        Verified {
            claims,
            exp,
            key_jti,
            introspection: OnceLock::new(),
        }
    }
}

/// The cache: a token's [`Verified`] entry, found only for the same bytes
/// (its SHA-256 is compared), counting while `now < exp`.
pub type VerifiedTokens = Remembered<Arc<Verified>>;

/// An empty cache, for a new key ring.
pub fn empty() -> VerifiedTokens {
    Remembered::new(CAPACITY)
}
