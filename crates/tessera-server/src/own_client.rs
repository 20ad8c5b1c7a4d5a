//! How Tessera's own pages sign a person in: each is a first-party client
//! of Tessera's own ([`OwnClient`]: the account page, `/account`, and the
//! admin console, `/admin`), signed in through the normal authorization
//! code flow with PKCE ([RFC 6749 §4.1], [RFC 7636]). The interaction at
//! `/authorize` decides what the sign-in needs (a password, a second
//! factor, a step-up), exactly as for any app; the pages never check a
//! password themselves.
//!
//! The flow keeps nothing on the server before the callback:
//!
//! - `state` names where to go next and a random nonce;
//! - the PKCE `code_verifier` is derived from the browser's binding secret
//!   (the `HttpOnly` cookie every interaction is bound to), the client's
//!   purpose and that `state` ([`crate::oauth::interaction::csrf_token`]),
//!   so only the browser that started the sign-in can finish it: a code or
//!   a `state` carried to another browser yields a verifier that does not
//!   match;
//! - the callback redeems the code through the token endpoint's own logic
//!   (single use, client, `redirect_uri`, PKCE), and the code must have
//!   been issued to the SSO session the browser now holds.
//!
//! After that the page reads the SSO session: who is signed in, and when.
//! A change may ask more of it ([`Need`]): a sign-in at most [`FRESH_FOR`]
//! seconds old (else asked again with `max_age`, [OpenID Connect Core
//! §3.1.2.1]), and two factors (else asked with `acr_values`
//! `urn:tessera:acr:2fa`, which steps the session up).
//!
//! Forms carry a CSRF token derived from the binding secret, the client's
//! purpose and the session's `sid` ([`OwnClient::form_token`]): good in
//! this browser, for this sign-in, on this client's pages only.
//!
//! [RFC 6749 §4.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
//! [OpenID Connect Core §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest

use base64::Engine;

use crate::clients::registration::{self, ClientType, NewClient, RegistrationError};
use crate::domain::{Acr, Amr, GrantType, Scope};
use crate::oauth::interaction::csrf_token;
use crate::oauth::token::{self, TokenContext};
use crate::oauth::OAuthError;
use crate::store::{
    AssertionStore, AttemptStore, ClientStore, CodeStore, DpopProofStore, FactorStore, RefreshTokenStore,
    ResourceStore, Session, SessionStore, StoreError, UserStore,
};

/// How old a sign-in may be for a change (seconds).
pub const FRESH_FOR: i64 = 300;

/// Why a sign-in to one of Tessera's own pages failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The callback's `state` is not one this browser started.
    #[error("this sign-in was not started by this browser")]
    NotThisBrowser,
    /// The code could not be redeemed (expired, used, or not this
    /// client's).
    #[error("the sign-in could not be completed: {0}")]
    Code(OAuthError),
    /// The system RNG failed.
    #[error("no randomness")]
    Random,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sign-in is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone signed in (a session of any age is kept).
    SignedIn,
    /// A sign-in at most [`FRESH_FOR`] seconds old (`max_age`).
    Fresh,
    /// A fresh sign-in with two factors (`max_age` and `acr_values`
    /// `urn:tessera:acr:2fa`).
    FreshTwoFactors,
}

/// One of Tessera's own first-party clients: its registration and the
/// paths of its pages.
#[derive(Clone, Copy, Debug)]
pub struct OwnClient {
    /// Its client id.
    pub client_id: &'static str,
    /// Its display name.
    pub name: &'static str,
    /// Its first page (where a person starts again).
    pub home: &'static str,
    /// The callback's path (the client's one redirect URI, under the
    /// issuer).
    pub callback: &'static str,
    /// What its PKCE verifiers and CSRF tokens are derived for, so a
    /// token of one client's pages is no good on another's.
    pub purpose: &'static str,
}

impl OwnClient {
    /// The client's registration for `issuer`: public, first-party (no
    /// consent screen), the code grant with PKCE, `openid` only, its one
    /// redirect URI the issuer's callback.
    pub fn new_client(&self, issuer: &str) -> NewClient {
        NewClient {
            client_type: ClientType::Public,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scope::from_tokens(["openid"]),
            redirect_uris: vec![format!("{issuer}{}", self.callback)],
            first_party: true,
            ..NewClient::new(self.name, 300)
        }
    }

    /// Makes sure the client is registered for `issuer` (at start; nodes
    /// racing to do it all end with the same row). A row for another
    /// issuer (the issuer changed) is replaced.
    pub async fn ensure_client<S: ClientStore>(
        &self,
        store: &S,
        issuer: &str,
        now: i64,
    ) -> Result<(), RegistrationError> {
        let wanted = self.new_client(issuer);
        if let Some(existing) = store
            .client(self.client_id)
            .await
            .map_err(RegistrationError::Store)?
        {
            if existing.redirect_uris == wanted.redirect_uris {
                return Ok(());
            }
            store
                .delete_client(self.client_id)
                .await
                .map_err(RegistrationError::Store)?;
        }
        match registration::register_with_id(store, self.client_id, wanted, now).await {
            Ok(_) | Err(RegistrationError::IdTaken(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The PKCE verifier of the sign-in `state` in the browser holding
    /// `binding` (43 base64url characters: RFC 7636 §4.1).
    fn verifier(&self, binding: &str, state: &str) -> String {
        csrf_token(binding, &format!("{}-pkce:{state}", self.purpose))
    }

    /// The `/authorize` URL (under `issuer`) that signs the browser
    /// holding `binding` in to this client's pages and then goes to
    /// `then` (a word without `.`, read back by [`OwnClient::finish`]),
    /// asking for what `need` says.
    pub fn start(&self, issuer: &str, binding: &str, then: &str, need: Need) -> Result<String, SignInError> {
        let nonce = crate::random::base64url(16).ok_or(SignInError::Random)?;
        let state = format!("{then}.{nonce}");
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            self.verifier(binding, &state).as_bytes(),
        );
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        let redirect_uri = format!("{issuer}{}", self.callback);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", "openid")
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if need != Need::SignedIn {
            query.append_pair("max_age", &FRESH_FOR.to_string());
        }
        if need == Need::FreshTwoFactors {
            query.append_pair("acr_values", Acr::TwoFactors.as_str());
        }
        Ok(format!("{issuer}/authorize?{}", query.finish()))
    }

    /// The callback: redeems `code` for the sign-in this browser started
    /// with `state`, and says where to go (`then` of [`OwnClient::start`],
    /// read by `place`). `session` is the SSO session the browser holds
    /// now; the code must have been issued to it.
    pub async fn finish<S, T>(
        &self,
        ctx: &TokenContext<'_, S>,
        binding: Option<&str>,
        code: &str,
        state: &str,
        session: Option<&Session>,
        place: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, SignInError>
    where
        S: ClientStore
            + AssertionStore
            + UserStore
            + AttemptStore
            + RefreshTokenStore
            + CodeStore
            + ResourceStore
            + DpopProofStore
            + FactorStore,
    {
        let then = state
            .rsplit_once('.')
            .and_then(|(then, _)| place(then))
            .ok_or(SignInError::NotThisBrowser)?;
        let (Some(binding), Some(session)) = (binding, session) else {
            return Err(SignInError::NotThisBrowser);
        };
        let issued = ctx
            .store
            .code(&crate::clients::authentication::hash_secret(code))
            .await?
            .ok_or(SignInError::Code(OAuthError::InvalidCode))?;
        if issued.sid != session.sid {
            return Err(SignInError::NotThisBrowser);
        }
        let redirect_uri = format!("{}{}", ctx.issue.issuer, self.callback);
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("client_id", self.client_id)
            .append_pair("code", code)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("code_verifier", &self.verifier(binding, state))
            .finish();
        token::handle(ctx, body.as_bytes(), None, &[])
            .await
            .map_err(SignInError::Code)?;
        Ok(then)
    }

    /// The CSRF token of this client's forms in the browser holding
    /// `binding`, for `session`: good for this browser, this sign-in and
    /// this client's pages only (a new sign-in makes the old forms stale).
    pub fn form_token(&self, binding: &str, session: &Session) -> String {
        csrf_token(binding, &format!("{}:{}", self.purpose, session.sid))
    }

    /// Whether `sent` is [`OwnClient::form_token`] (constant-time); no
    /// binding, no form.
    pub fn form_ok(&self, binding: Option<&str>, session: &Session, sent: &str) -> bool {
        binding.is_some_and(|b| {
            crate::oauth::interaction::csrf_ok(b, &format!("{}:{}", self.purpose, session.sid), sent)
        })
    }
}

/// Who is signed in: the unexpired SSO session the browser's session
/// cookie names, if any.
pub async fn signed_in<S: SessionStore>(
    store: &S,
    cookie: Option<&str>,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    match cookie {
        Some(value) => Ok(store
            .session(&crate::clients::authentication::hash_secret(value), now)
            .await?),
        None => Ok(None),
    }
}

/// Whether `session`'s sign-in is recent enough for a change.
pub fn fresh(session: &Session, now: i64) -> bool {
    now - session.auth_time <= FRESH_FOR
}

/// Whether `session` holds two factors now: as the interaction policy
/// weighs a session for a step-up, a second factor proven more than
/// `second_factor_max_age` seconds ago no longer counts.
pub fn two_factors(session: &Session, now: i64, second_factor_max_age: i64) -> bool {
    Amr::of(
        session
            .proofs
            .proofs()
            .iter()
            .filter(|p| p.method.is_first_factor() || now - p.at < second_factor_max_age)
            .map(|p| p.method),
    )
    .two_factors()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Method, Proofs};

    const PAGE: OwnClient = OwnClient {
        client_id: "tessera-page",
        name: "A page",
        home: "/page",
        callback: "/page/callback",
        purpose: "page",
    };

    #[test]
    fn the_client_is_public_first_party_and_calls_back_under_the_issuer() {
        let client = PAGE.new_client("https://id.example");
        assert_eq!(client.redirect_uris, ["https://id.example/page/callback"]);
        assert!(client.first_party);
        assert_eq!(client.client_type, ClientType::Public);
        assert!(registration::validate(&client).is_ok());
    }

    #[test]
    fn the_verifier_belongs_to_one_browser_one_state_and_one_client() {
        let a = PAGE.verifier("binding-a", "home.n1");
        assert_eq!(a.len(), 43);
        assert_ne!(a, PAGE.verifier("binding-b", "home.n1"));
        assert_ne!(a, PAGE.verifier("binding-a", "home.n2"));
        let other = OwnClient {
            purpose: "other",
            ..PAGE
        };
        assert_ne!(a, other.verifier("binding-a", "home.n1"));
    }

    #[test]
    fn the_url_asks_for_what_is_needed() {
        let url = |need| {
            PAGE.start("https://id.example", "b", "home", need)
                .unwrap_or_default()
        };
        let plain = url(Need::SignedIn);
        assert!(plain.starts_with("https://id.example/authorize?response_type=code&client_id=tessera-page&"));
        assert!(plain.contains("&state=home."), "{plain}");
        assert!(plain.ends_with("&code_challenge_method=S256"), "{plain}");
        assert!(url(Need::Fresh).ends_with("&code_challenge_method=S256&max_age=300"));
        assert!(url(Need::FreshTwoFactors).ends_with("&max_age=300&acr_values=urn%3Atessera%3Aacr%3A2fa"));
    }

    fn session(proofs: Proofs) -> Session {
        Session {
            id_hash: vec![],
            sid: "s".into(),
            user_id: "u".into(),
            auth_time: 100,
            expires_at: 1000,
            client_ip: None,
            proofs,
        }
    }

    #[test]
    fn two_factors_count_only_while_the_second_is_young() {
        let pwd = Proofs::none().with(Method::Password, 10);
        assert!(!two_factors(&session(pwd.clone()), 20, 60));
        let both = session(pwd.with(Method::Otp, 50));
        assert!(two_factors(&both, 100, 60));
        assert!(!two_factors(&both, 110, 60));
        assert!(two_factors(
            &session(Proofs::none().with(Method::Passkey, 10)),
            20,
            60
        ));
    }

    #[test]
    fn form_tokens_belong_to_one_client() {
        let s = session(Proofs::none());
        let token = PAGE.form_token("b", &s);
        assert!(PAGE.form_ok(Some("b"), &s, &token));
        assert!(!PAGE.form_ok(None, &s, &token));
        assert!(!PAGE.form_ok(Some("c"), &s, &token));
        let other = OwnClient {
            purpose: "other",
            ..PAGE
        };
        assert!(!other.form_ok(Some("b"), &s, &token));
    }
}
