//! How the account page signs a person in: as a first-party client of
//! Tessera's own, [`CLIENT_ID`], through the normal authorization code
//! flow with PKCE ([RFC 6749 §4.1], [RFC 7636]). The interaction at
//! `/authorize` decides what the sign-in needs (a password, a second
//! factor, a step-up), exactly as for any app; the page never checks a
//! password itself.
//!
//! The flow keeps nothing on the server before the callback:
//!
//! - `state` names where to go next and a random nonce;
//! - the PKCE `code_verifier` is derived from the browser's binding secret
//!   (the `HttpOnly` cookie every interaction is bound to) and that
//!   `state` ([`crate::oauth::interaction::csrf_token`]), so only the
//!   browser that started the sign-in can finish it: a code or a `state`
//!   carried to another browser yields a verifier that does not match;
//! - the callback redeems the code through the token endpoint's own logic
//!   (single use, client, `redirect_uri`, PKCE), and the code must have
//!   been issued to the SSO session the browser now holds.
//!
//! After that the page reads the SSO session: who is signed in, and when
//! ([`FRESH_FOR`] for changes: a sign-in older than that is asked again
//! with `max_age`, OpenID Connect Core §3.1.2.1).
//!
//! [RFC 6749 §4.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636

use base64::Engine;

use super::AccountError;
use crate::clients::registration::{self, ClientType, NewClient, RegistrationError};
use crate::domain::{GrantType, Scope};
use crate::oauth::interaction::csrf_token;
use crate::oauth::token::{self, TokenContext};
use crate::oauth::OAuthError;
use crate::store::{
    AssertionStore, AttemptStore, ClientStore, CodeStore, DpopProofStore, FactorStore, RefreshTokenStore,
    ResourceStore, Session, SessionStore, UserStore,
};

/// The account page's client id.
pub const CLIENT_ID: &str = "tessera-account";

/// The callback's path (the client's one redirect URI, under the issuer).
pub const CALLBACK: &str = "/account/callback";

/// How old a sign-in may be for a change to how the user signs in
/// (seconds).
pub const FRESH_FOR: i64 = 300;

/// Where the person goes once signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// The account page.
    Account,
    /// Adding an authenticator app.
    AddAuthenticator,
    /// Adding a passkey.
    AddPasskey,
    /// Changing the password.
    Password,
}

impl Then {
    /// Every place, for parsing.
    const ALL: [Then; 4] = [
        Then::Account,
        Then::AddAuthenticator,
        Then::AddPasskey,
        Then::Password,
    ];

    fn name(self) -> &'static str {
        match self {
            Then::Account => "account",
            Then::AddAuthenticator => "totp",
            Then::AddPasskey => "passkey",
            Then::Password => "password",
        }
    }

    /// The page's path.
    pub fn path(self) -> &'static str {
        match self {
            Then::Account => "/account",
            Then::AddAuthenticator => "/account/totp",
            Then::AddPasskey => "/account/passkey",
            Then::Password => "/account/password",
        }
    }
}

/// The account client's registration for `issuer`: public, first-party
/// (no consent screen), the code grant with PKCE, `openid` only, its one
/// redirect URI the issuer's [`CALLBACK`].
pub fn new_client(issuer: &str) -> NewClient {
    NewClient {
        client_type: ClientType::Public,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: Scope::from_tokens(["openid"]),
        redirect_uris: vec![format!("{issuer}{CALLBACK}")],
        first_party: true,
        ..NewClient::new("Your account", 300)
    }
}

/// Makes sure the account client is registered for `issuer` (at start;
/// nodes racing to do it all end with the same row). A row for another
/// issuer (the issuer changed) is replaced.
pub async fn ensure_client<S: ClientStore>(
    store: &S,
    issuer: &str,
    now: i64,
) -> Result<(), RegistrationError> {
    let wanted = new_client(issuer);
    if let Some(existing) = store.client(CLIENT_ID).await.map_err(RegistrationError::Store)? {
        if existing.redirect_uris == wanted.redirect_uris {
            return Ok(());
        }
        store
            .delete_client(CLIENT_ID)
            .await
            .map_err(RegistrationError::Store)?;
    }
    match registration::register_with_id(store, CLIENT_ID, wanted, now).await {
        Ok(_) | Err(RegistrationError::IdTaken(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The PKCE verifier of the sign-in `state` in the browser holding
/// `binding` (43 base64url characters: RFC 7636 §4.1).
fn verifier(binding: &str, state: &str) -> String {
    csrf_token(binding, &format!("account-pkce:{state}"))
}

/// The `/authorize` URL (under `issuer`) that signs the browser holding
/// `binding` in to the account page and then goes to `then`; `fresh` asks
/// for a sign-in again unless the last one is at most [`FRESH_FOR`] old.
pub fn start(issuer: &str, binding: &str, then: Then, fresh: bool) -> Result<String, AccountError> {
    let nonce = crate::random::base64url(16).ok_or(AccountError::Random)?;
    let state = format!("{}.{nonce}", then.name());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier(binding, &state).as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    let redirect_uri = format!("{issuer}{CALLBACK}");
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if fresh {
        query.append_pair("max_age", &FRESH_FOR.to_string());
    }
    Ok(format!("{issuer}/authorize?{}", query.finish()))
}

/// The callback: redeems `code` for the sign-in this browser started with
/// `state`, and says where to go. `session` is the SSO session the browser
/// holds now; the code must have been issued to it.
pub async fn finish<S>(
    ctx: &TokenContext<'_, S>,
    binding: Option<&str>,
    code: &str,
    state: &str,
    session: Option<&Session>,
) -> Result<Then, AccountError>
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
        .split_once('.')
        .and_then(|(name, _)| Then::ALL.into_iter().find(|t| t.name() == name))
        .ok_or(AccountError::NotThisBrowser)?;
    let (Some(binding), Some(session)) = (binding, session) else {
        return Err(AccountError::NotThisBrowser);
    };
    let issued = ctx
        .store
        .code(&crate::clients::authentication::hash_secret(code))
        .await?
        .ok_or(AccountError::Code(OAuthError::InvalidCode))?;
    if issued.sid != session.sid {
        return Err(AccountError::NotThisBrowser);
    }
    let redirect_uri = format!("{}{CALLBACK}", ctx.issue.issuer);
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("code", code)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("code_verifier", &verifier(binding, state))
        .finish();
    token::handle(ctx, body.as_bytes(), None, &[])
        .await
        .map_err(AccountError::Code)?;
    Ok(then)
}

/// Who is signed in: the unexpired SSO session the browser's session
/// cookie names, if any.
pub async fn signed_in<S: SessionStore>(
    store: &S,
    cookie: Option<&str>,
    now: i64,
) -> Result<Option<Session>, AccountError> {
    match cookie {
        Some(value) => Ok(store
            .session(&crate::clients::authentication::hash_secret(value), now)
            .await?),
        None => Ok(None),
    }
}

/// The CSRF token of the account page's forms in the browser holding
/// `binding`, for `session`: good for this browser and this sign-in only
/// (a new sign-in makes the page's old forms stale).
pub fn form_token(binding: &str, session: &Session) -> String {
    csrf_token(binding, &format!("account:{}", session.sid))
}

/// Whether `sent` is [`form_token`] (constant-time); no binding, no form.
pub fn form_ok(binding: Option<&str>, session: &Session, sent: &str) -> bool {
    binding.is_some_and(|b| crate::oauth::interaction::csrf_ok(b, &format!("account:{}", session.sid), sent))
}

/// Whether `session`'s sign-in is recent enough for a change.
pub fn fresh(session: &Session, now: i64) -> bool {
    now - session.auth_time <= FRESH_FOR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_public_first_party_and_calls_back_under_the_issuer() {
        let client = new_client("https://id.example");
        assert_eq!(client.redirect_uris, ["https://id.example/account/callback"]);
        assert!(client.first_party);
        assert_eq!(client.client_type, ClientType::Public);
        assert!(registration::validate(&client).is_ok());
    }

    #[test]
    fn the_verifier_belongs_to_one_browser_and_one_state() {
        let a = verifier("binding-a", "account.n1");
        assert_eq!(a.len(), 43);
        assert_ne!(a, verifier("binding-b", "account.n1"));
        assert_ne!(a, verifier("binding-a", "account.n2"));
        let url = start("https://id.example", "binding-a", Then::AddAuthenticator, true).unwrap_or_default();
        assert!(url.starts_with("https://id.example/authorize?response_type=code&client_id=tessera-account&"));
        assert!(url.contains("&state=totp."), "{url}");
        assert!(url.ends_with("&code_challenge_method=S256&max_age=300"), "{url}");
    }
}
