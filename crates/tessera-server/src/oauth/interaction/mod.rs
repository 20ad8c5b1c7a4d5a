//! Browser sign-in as protocol code: the interaction record and the rules
//! that decide each step.
//!
//! `/authorize` checks the authorization request once and stores the
//! checked request, with its [`Origin`], as an [`Interaction`] with a
//! random id. Every later step (the password form, an upstream provider,
//! a second factor later, consent) names the interaction by id, never the
//! raw request (which is not parsed again: only what can change since, the
//! client's registration and the session, is checked again), and is
//! accepted only from the browser that started it, with one of the honest
//! proofs of [`StepProof`]:
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

pub mod enroll;
pub mod flow;
#[cfg(test)]
mod flow_tests;
pub mod policy;
pub mod upstream;

use base64::Engine;

use super::authorize::AuthorizationRequest;
use super::client_auth::hash_secret;
use super::OAuthError;
use crate::store::{Interaction, InteractionStore};

/// How long a sign-in may take, in seconds.
pub const INTERACTION_TTL: i64 = 600;

/// What started an interaction, which picks its last step.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `/authorize`: the last step sends the browser back to the client
    /// with a code (RFC 6749 §4.1.2). (The device grant is a further
    /// origin.)
    Authorize,
    /// `/authorize` with a pushed request's `request_uri` (RFC 9126 §4):
    /// the last step uses the pushed request up, then sends the code.
    Pushed {
        /// The `request_uri`'s SHA-256, base64url.
        request_uri_hash: String,
    },
}

/// What an interaction keeps of what started it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Started {
    origin: Origin,
    /// The checked request ([`AuthorizationRequest::to_kept`]).
    request: String,
}

/// How a step shows it comes from the browser that started the
/// interaction, besides that browser's binding cookie, which every step
/// needs. No step makes up a proof to pass its own check.
#[derive(Clone, Copy, Debug)]
pub enum StepProof<'a> {
    /// A form of one of the interaction's pages: the interaction id and
    /// the form's CSRF token ([`csrf_token`]).
    Form {
        /// The interaction id.
        interaction: &'a str,
        /// The CSRF token.
        csrf: &'a str,
    },
    /// Back from an upstream provider: a trip that was bound to this
    /// browser's binding and to the interaction, checked and taken (single
    /// use) by the callback.
    Trip(&'a BoundTrip),
    /// A page reached by a link (a `GET` that changes nothing, such as the
    /// sign-up page): the binding cookie alone, which a cross-site
    /// top-level navigation carries, so the step may only show a page.
    Link {
        /// The interaction id.
        interaction: &'a str,
    },
}

impl StepProof<'_> {
    /// The interaction the step names.
    pub fn interaction(&self) -> &str {
        match self {
            StepProof::Form { interaction, .. } | StepProof::Link { interaction } => interaction,
            StepProof::Trip(trip) => &trip.interaction,
        }
    }
}

/// An upstream trip that came back to the browser it left from: made only
/// by the callback step of [`upstream`], after it matched the trip's
/// binding to the browser's and took the trip.
#[derive(Debug)]
pub struct BoundTrip {
    interaction: String,
}

impl BoundTrip {
    /// Only this module and its steps can make one.
    fn taken(interaction: String) -> BoundTrip {
        BoundTrip { interaction }
    }
}

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

/// Stores a new interaction for a checked `request` from `origin`, bound
/// to the browser holding `binding`; its id.
pub async fn begin<S: InteractionStore>(
    store: &S,
    origin: Origin,
    request: &AuthorizationRequest,
    binding: &str,
    now: i64,
) -> Result<String, OAuthError> {
    let id = crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))?;
    let kept = request
        .to_kept()
        .map_err(|e| OAuthError::Internal(format!("keeping the request: {e}")))?;
    let started = serde_json::to_string(&Started {
        origin,
        request: kept,
    })
    .map_err(|e| OAuthError::Internal(format!("keeping the request: {e}")))?;
    store
        .create_interaction(&Interaction {
            id_hash: hash_secret(&id),
            binding_hash: hash_secret(binding),
            client_id: request.client().id.clone(),
            request: started,
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

/// The interaction a step names, if it is alive, was started by the
/// browser holding `binding`, and the step's `proof` holds; with its origin
/// and its kept request (not yet checked against the client as it is now).
pub async fn resume<S: InteractionStore>(
    store: &S,
    proof: StepProof<'_>,
    binding: Option<&str>,
    now: i64,
) -> Result<(Interaction, Origin, String), ResumeError> {
    let id = proof.interaction();
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
    let proven = match proof {
        StepProof::Form { interaction, csrf } => csrf_ok(binding, interaction, csrf),
        StepProof::Trip(_) | StepProof::Link { .. } => true,
    };
    if !same_browser || !proven {
        return Err(ResumeError::NotThisBrowser);
    }
    // A request kept by an older version cannot be read: that sign-in
    // starts again (interactions live minutes).
    let started: Started = serde_json::from_str(&interaction.request).map_err(|e| {
        tracing::info!("an interaction's kept request cannot be read: {e}");
        ResumeError::Gone
    })?;
    Ok((interaction, started.origin, started.request))
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
