//! How the account page signs a person in: as [`ACCOUNT`], one of
//! Tessera's own first-party clients ([`crate::own_client`]), through the
//! normal authorization code flow with PKCE. The interaction at
//! `/authorize` decides what the sign-in needs (a password, a second
//! factor, a step-up), exactly as for any app; the page never checks a
//! password itself. A change needs a sign-in at most [`FRESH_FOR`]
//! seconds old (else asked again with `max_age`, OpenID Connect Core
//! §3.1.2.1).

use super::AccountError;
use crate::own_client::{self, OwnClient};
use crate::store::{Session, SessionStore};

pub use crate::own_client::{fresh, FRESH_FOR};

/// The account page's client id.
pub const CLIENT_ID: &str = "tessera-account";

/// The callback's path (the client's one redirect URI, under the issuer).
pub const CALLBACK: &str = "/account/callback";

/// The account page as a client of Tessera's own.
pub const ACCOUNT: OwnClient = OwnClient {
    client_id: CLIENT_ID,
    name: "Your account",
    home: "/account",
    callback: CALLBACK,
    purpose: "account",
};

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

    /// Its name in the sign-in's `state`.
    pub fn name(self) -> &'static str {
        match self {
            Then::Account => "account",
            Then::AddAuthenticator => "totp",
            Then::AddPasskey => "passkey",
            Then::Password => "password",
        }
    }

    /// The place named `name` in a sign-in's `state`.
    pub fn parse(name: &str) -> Option<Then> {
        Then::ALL.into_iter().find(|t| t.name() == name)
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

/// Who is signed in: the unexpired SSO session the browser's session
/// cookie names, if any.
pub async fn signed_in<S: SessionStore>(
    store: &S,
    cookie: Option<&str>,
    now: i64,
) -> Result<Option<Session>, AccountError> {
    Ok(own_client::signed_in(store, cookie, now).await?)
}

/// The CSRF token of the account page's forms ([`OwnClient::form_token`]).
pub fn form_token(binding: &str, session: &Session) -> String {
    ACCOUNT.form_token(binding, session)
}

/// Whether `sent` is [`form_token`] (constant-time); no binding, no form.
pub fn form_ok(binding: Option<&str>, session: &Session, sent: &str) -> bool {
    ACCOUNT.form_ok(binding, session, sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::own_client::Need;

    #[test]
    fn the_account_url_names_the_place_and_asks_for_a_fresh_sign_in() {
        let url = ACCOUNT
            .start(
                "https://id.example",
                "binding-a",
                Then::AddAuthenticator.name(),
                Need::Fresh,
            )
            .unwrap_or_default();
        assert!(url.starts_with("https://id.example/authorize?response_type=code&client_id=tessera-account&"));
        assert!(url.contains("&state=totp."), "{url}");
        assert!(url.ends_with("&code_challenge_method=S256&max_age=300"), "{url}");
        assert_eq!(
            ACCOUNT.new_client("https://id.example").redirect_uris,
            ["https://id.example/account/callback"]
        );
        for then in Then::ALL {
            assert_eq!(Then::parse(then.name()), Some(then));
        }
    }
}
