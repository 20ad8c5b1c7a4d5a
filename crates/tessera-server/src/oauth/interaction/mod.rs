//! Browser sign-in as protocol code: the interaction record and the rules
//! that decide each step.
//!
//! `/authorize` checks the authorization request once and stores it as an
//! [`Interaction`] with a random id. Every later step (the password form
//! now; an upstream provider or a second factor later; consent) names the
//! interaction by id, never the raw request, and is accepted only from the
//! browser that started it:
//!
//! - **Browser binding.** The browser holds a random binding secret in an
//!   `HttpOnly` cookie, `__Host-tessera_browser` on https issuers (the
//!   `__Host-` prefix, RFC 6265bis §4.1.3.2, means only this exact host can
//!   have set it: a sibling subdomain cannot plant it), `SameSite=Lax`. The
//!   interaction stores the secret's SHA-256, and a step whose cookie does
//!   not match is refused. Two cookies of that name are refused too (one
//!   would be planted).
//! - **CSRF.** A form's token is derived from the binding secret and the
//!   interaction id ([`csrf_token`]): no cookie of its own to plant, and a
//!   token is good for one interaction in one browser only.
//! - **Expiry.** An interaction lives [`INTERACTION_TTL`] and ends when its
//!   code is issued or it is refused.
//!
//! What happens next is [`policy::decide`]'s decision, made afresh at every
//! step from a snapshot. What a sign-in proved (who, which methods, when:
//! [`crate::domain::Proofs`]) is recorded on the interaction; the SSO
//! session is made from it only once the policy finds it enough, and the
//! interaction records that session's `sid`, which is what lets
//! `prompt=login` and `max_age` be satisfied by a sign-in *in this
//! interaction* and by nothing else.

pub mod flow;
pub mod policy;
pub mod upstream;

use base64::Engine;

use super::client_auth::hash_secret;
use super::OAuthError;
use crate::store::{Interaction, InteractionStore};

/// How long a sign-in may take, in seconds.
pub const INTERACTION_TTL: i64 = 600;

/// The binding cookie's name: `__Host-` prefixed on https issuers (a
/// browser accepts such a cookie only with `Secure`, `Path=/` and no
/// `Domain`), plain on http development issuers, where browsers would drop
/// a `Secure` cookie.
pub fn binding_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-tessera_browser"
    } else {
        "tessera_browser"
    }
}

/// A new binding secret (256 bits).
pub fn new_binding() -> Result<String, OAuthError> {
    crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))
}

/// This browser's binding secret: the one it presented (if well-formed:
/// 32 random bytes, base64url), or a new one, returned a second time as
/// the value to give the browser.
pub fn binding_for(presented: Option<&str>) -> Result<(String, Option<String>), OAuthError> {
    match presented.filter(|b| b.len() == 43) {
        Some(existing) => Ok((existing.to_owned(), None)),
        None => {
            let fresh = new_binding()?;
            Ok((fresh.clone(), Some(fresh)))
        }
    }
}

/// The CSRF token of a form for `purpose` (an interaction id, or a fixed
/// name for forms outside an interaction), in the browser holding
/// `binding`: base64url(SHA-256 of both). Unforgeable without the binding
/// secret, which only the browser's `HttpOnly` cookie holds.
pub fn csrf_token(binding: &str, purpose: &str) -> String {
    let mut input = Vec::with_capacity(binding.len() + purpose.len() + 16);
    input.extend_from_slice(b"tessera-csrf\0");
    input.extend_from_slice(binding.as_bytes());
    input.push(0);
    input.extend_from_slice(purpose.as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Whether `sent` is the CSRF token for `purpose` in this browser
/// (constant-time).
pub fn csrf_ok(binding: &str, purpose: &str, sent: &str) -> bool {
    let expected = csrf_token(binding, purpose);
    aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), sent.as_bytes()).is_ok()
}

/// Why a step cannot resume its interaction.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// No such interaction, or it expired or ended.
    #[error("this sign-in has expired or was already completed")]
    Gone,
    /// Another browser's interaction, or a form from elsewhere.
    #[error("this form did not come from this browser's sign-in")]
    NotThisBrowser,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Stores a new interaction for a checked request (`raw`: its parameters as
/// received), bound to the browser holding `binding`; its id.
pub async fn begin<S: InteractionStore>(
    store: &S,
    raw: &str,
    client_id: &str,
    binding: &str,
    now: i64,
) -> Result<String, OAuthError> {
    let id = crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))?;
    store
        .create_interaction(&Interaction {
            id_hash: hash_secret(&id),
            binding_hash: hash_secret(binding),
            client_id: client_id.to_owned(),
            request: raw.to_owned(),
            created_at: now,
            expires_at: now + INTERACTION_TTL,
            user_id: None,
            proofs: crate::domain::Proofs::none(),
            session_sid: None,
            consented: false,
        })
        .await?;
    Ok(id)
}

/// The interaction `id`, if it is alive, was started by the browser holding
/// `binding`, and the form's `csrf` is its token.
pub async fn resume<S: InteractionStore>(
    store: &S,
    id: &str,
    binding: Option<&str>,
    csrf: &str,
    now: i64,
) -> Result<Interaction, ResumeError> {
    let interaction = store
        .interaction(&hash_secret(id), now)
        .await?
        .ok_or(ResumeError::Gone)?;
    let Some(binding) = binding else {
        return Err(ResumeError::NotThisBrowser);
    };
    let same_browser =
        aws_lc_rs::constant_time::verify_slices_are_equal(&hash_secret(binding), &interaction.binding_hash)
            .is_ok();
    if !same_browser || !csrf_ok(binding, id, csrf) {
        return Err(ResumeError::NotThisBrowser);
    }
    Ok(interaction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_per_browser_and_per_interaction() {
        let t = csrf_token("binding-a", "interaction-1");
        assert_eq!(t.len(), 43);
        assert!(csrf_ok("binding-a", "interaction-1", &t));
        assert!(!csrf_ok("binding-b", "interaction-1", &t), "another browser");
        assert!(!csrf_ok("binding-a", "interaction-2", &t), "another interaction");
        assert!(!csrf_ok("binding-a", "interaction-1", ""));
        assert_eq!(binding_cookie_name(true), "__Host-tessera_browser");
    }
}
