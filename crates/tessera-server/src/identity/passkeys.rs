//! Passkeys (issue 19): registering a WebAuthn credential and signing in
//! with one, over the verifier in [`super::webauthn`] and
//! [`PasskeyStore`]. No HTTP here: the shells pass the browser's JSON
//! (`PublicKeyCredential.toJSON()`) and a browser binding, and send the
//! options back as JSON.
//!
//! - Challenges are 32 random bytes, stored as their SHA-256 only, for
//!   one purpose, bound to the browser (the caller's `binding`, e.g. the
//!   sign-in interaction's secret; stored hashed), and to a user when one
//!   is known; they live [`CHALLENGE_SECONDS`] and are spent by the first
//!   response that names them, good or bad ([WebAuthn §13.4.3]).
//! - The RP ID is the issuer's host and the origin the issuer's origin
//!   ([`RelyingParty::from_issuer`]); WebAuthn does not accept IP
//!   addresses as RP IDs ([WebAuthn §5.1.2]).
//! - The user handle is the user's id: random, not the username or e-mail
//!   ([WebAuthn §14.6.1]).
//! - A credential id is registered once, for anyone ([WebAuthn §7.1] step
//!   26); the signature counter moves by one conditional update.
//!
//! [WebAuthn §5.1.2]: https://www.w3.org/TR/webauthn-3/#rp-id
//! [WebAuthn §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
//! [WebAuthn §13.4.3]: https://www.w3.org/TR/webauthn-3/#sctn-cryptographic-challenges
//! [WebAuthn §14.6.1]: https://www.w3.org/TR/webauthn-3/#sctn-user-handle-privacy

use base64::Engine as _;
use serde::Deserialize;

use super::webauthn::options::{self, CreationOptions, RequestOptions, RpEntity};
use super::webauthn::{
    client_data, sha256, verify_assertion, verify_registration, Algorithm, Expected, StoredCredential,
    WebAuthnError,
};
use crate::domain::User;
use crate::store::{Added, ChallengePurpose, Passkey, PasskeyStore, StoreError, StoredChallenge};

/// How long a challenge lives, in seconds (the options' timeout).
pub const CHALLENGE_SECONDS: i64 = (options::TIMEOUT_MS / 1000) as i64;

/// The longest passkey name kept, in characters.
pub const MAX_NAME: usize = 64;

/// Why a passkey operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The response failed a WebAuthn check.
    #[error(transparent)]
    WebAuthn(#[from] WebAuthnError),
    /// The response is not the JSON `PublicKeyCredential.toJSON()` gives.
    #[error("malformed passkey response: {0}")]
    Malformed(&'static str),
    /// No live challenge issued to this browser (for this purpose and
    /// user) matches: unknown, expired, already used, or another's.
    #[error("no such challenge (expired, used, or not issued to this browser)")]
    Challenge,
    /// No passkey has this credential id (or not the expected user's).
    #[error("unknown passkey")]
    UnknownCredential,
    /// The user handle is not the passkey owner's ([WebAuthn §7.2] step 6).
    ///
    /// [WebAuthn §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
    #[error("the user handle is not the passkey owner's")]
    UserHandle,
    /// The credential id is registered already.
    #[error("this passkey is registered already")]
    AlreadyRegistered,
    /// Another sign-in moved the signature counter meanwhile.
    #[error("the passkey was used concurrently")]
    Concurrent,
    /// The issuer cannot be a WebAuthn relying party (an IP address, no
    /// host).
    #[error("the issuer's host cannot be a WebAuthn RP ID: {0}")]
    RelyingParty(String),
    /// The system RNG failed.
    #[error("no randomness")]
    Random,
    /// A stored passkey holds values out of range.
    #[error("corrupt passkey row")]
    Corrupt,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The relying party: the issuer as WebAuthn sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID: the issuer's host.
    pub id: String,
    /// The issuer's origin (`scheme://host[:port]`), which client data
    /// must name exactly.
    pub origin: String,
    /// A name for people.
    pub name: String,
}

impl RelyingParty {
    /// The relying party of `issuer` (a URL), named `name`. An IP address
    /// cannot be an RP ID ([WebAuthn §5.1.2]; use `localhost` in tests).
    ///
    /// [WebAuthn §5.1.2]: https://www.w3.org/TR/webauthn-3/#rp-id
    pub fn from_issuer(issuer: &str, name: &str) -> Result<RelyingParty, PasskeyError> {
        let url = url::Url::parse(issuer).map_err(|e| PasskeyError::RelyingParty(e.to_string()))?;
        let id = match url.host() {
            Some(url::Host::Domain(host)) if !host.is_empty() => host.to_owned(),
            Some(_) => return Err(PasskeyError::RelyingParty("an IP address".into())),
            None => return Err(PasskeyError::RelyingParty("no host".into())),
        };
        Ok(RelyingParty {
            id,
            origin: url.origin().ascii_serialization(),
            name: name.to_owned(),
        })
    }

    fn expected<'a>(&'a self, challenge: &'a [u8], uv: bool) -> Expected<'a> {
        Expected {
            challenge,
            origin: &self.origin,
            rp_id: &self.id,
            user_verification_required: uv,
            algorithms: &Algorithm::ALL,
        }
    }
}

fn b64_decode(text: &str, what: &'static str) -> Result<Vec<u8>, PasskeyError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| PasskeyError::Malformed(what))
}

/// The binding as stored: SHA-256 of the caller's binding, base64url.
fn binding_hash(binding: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(binding.as_bytes()))
}

/// The user handle of a user: their id's bytes (random, no personal data).
pub fn user_handle(user_id: &str) -> &[u8] {
    user_id.as_bytes()
}

async fn new_challenge(
    store: &impl PasskeyStore,
    purpose: ChallengePurpose,
    binding: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<Vec<u8>, PasskeyError> {
    let text = crate::random::base64url(32).ok_or(PasskeyError::Random)?;
    let challenge = b64_decode(&text, "challenge").map_err(|_| PasskeyError::Random)?;
    store
        .put_challenge(&StoredChallenge {
            hash: sha256(&challenge).to_vec(),
            purpose,
            binding: binding_hash(binding),
            user_id: user_id.map(str::to_owned),
            expires_at: now + CHALLENGE_SECONDS,
        })
        .await?;
    Ok(challenge)
}

/// Spends the challenge `client_data_json` claims to answer: the
/// challenge bytes and the stored row.
async fn take_challenge(
    store: &impl PasskeyStore,
    client_data_json: &[u8],
    purpose: ChallengePurpose,
    binding: &str,
    now: i64,
) -> Result<(Vec<u8>, StoredChallenge), PasskeyError> {
    let challenge = client_data::challenge(client_data_json)?;
    let taken = store
        .take_challenge(&sha256(&challenge), purpose, &binding_hash(binding), now)
        .await?
        .ok_or(PasskeyError::Challenge)?;
    Ok((challenge, taken))
}

/// Starts registering a passkey for `user`: the options for
/// `navigator.credentials.create()`.
pub async fn begin_registration(
    store: &impl PasskeyStore,
    user: &User,
    rp: &RelyingParty,
    binding: &str,
    now: i64,
) -> Result<CreationOptions, PasskeyError> {
    let challenge = new_challenge(store, ChallengePurpose::Register, binding, Some(&user.id), now).await?;
    let existing: Vec<Vec<u8>> = store
        .passkeys(&user.id)
        .await?
        .into_iter()
        .map(|p| p.credential_id)
        .collect();
    let display = user.name.as_deref().unwrap_or(&user.username);
    Ok(options::creation(
        RpEntity {
            id: rp.id.clone(),
            name: rp.name.clone(),
        },
        user_handle(&user.id),
        &user.username,
        display,
        &challenge,
        &existing,
    ))
}

/// `RegistrationResponseJSON` ([WebAuthn §5.1]); unknown members ignored.
///
/// [WebAuthn §5.1]: https://www.w3.org/TR/webauthn-3/#dictdef-registrationresponsejson
#[derive(Deserialize)]
struct RegistrationJson {
    id: String,
    #[serde(rename = "rawId")]
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: AttestationJson,
}

#[derive(Deserialize)]
struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    attestation_object: String,
}

/// `AuthenticationResponseJSON` ([WebAuthn §5.1]); unknown members ignored.
///
/// [WebAuthn §5.1]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticationresponsejson
#[derive(Deserialize)]
struct AuthenticationJson {
    id: String,
    #[serde(rename = "rawId")]
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: AssertionJson,
}

#[derive(Deserialize)]
struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
    #[serde(rename = "userHandle")]
    user_handle: Option<String>,
}

/// The credential id of a response: `rawId`, which `id` must spell the
/// same, of type `public-key`.
fn credential_id(id: &str, raw_id: &str, kind: &str) -> Result<Vec<u8>, PasskeyError> {
    if kind != "public-key" {
        return Err(PasskeyError::Malformed("type is not public-key"));
    }
    let raw = b64_decode(raw_id, "rawId")?;
    if b64_decode(id, "id")? != raw {
        return Err(PasskeyError::Malformed("id and rawId differ"));
    }
    Ok(raw)
}

/// A passkey name as kept: trimmed, control characters dropped, at most
/// [`MAX_NAME`] characters; "Passkey" if nothing is left.
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME)
        .collect();
    if cleaned.is_empty() {
        "Passkey".to_owned()
    } else {
        cleaned
    }
}

/// Finishes registering a passkey for `user` from the browser's
/// `PublicKeyCredential.toJSON()` (`response_json`), named `name`:
/// [WebAuthn §7.1] with user verification required, then stored.
///
/// [WebAuthn §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
pub async fn finish_registration(
    store: &impl PasskeyStore,
    user: &User,
    rp: &RelyingParty,
    binding: &str,
    response_json: &str,
    name: &str,
    now: i64,
) -> Result<Passkey, PasskeyError> {
    let response: RegistrationJson = serde_json::from_str(response_json)
        .map_err(|_| PasskeyError::Malformed("not a registration response"))?;
    let raw_id = credential_id(&response.id, &response.raw_id, &response.kind)?;
    let client_data_json = b64_decode(&response.response.client_data_json, "clientDataJSON")?;
    let attestation_object = b64_decode(&response.response.attestation_object, "attestationObject")?;

    // The challenge: issued to this browser, for registration, for this
    // user; spent now whatever follows.
    let (challenge, taken) =
        take_challenge(store, &client_data_json, ChallengePurpose::Register, binding, now).await?;
    if taken.user_id.as_deref() != Some(user.id.as_str()) {
        return Err(PasskeyError::Challenge);
    }
    let credential = verify_registration(
        &client_data_json,
        &attestation_object,
        &rp.expected(&challenge, true),
    )?;
    if credential.credential_id != raw_id {
        return Err(PasskeyError::Malformed("rawId is not the attested credential id"));
    }
    let passkey = Passkey {
        id: crate::random::base64url(16).ok_or(PasskeyError::Random)?,
        user_id: user.id.clone(),
        credential_id: credential.credential_id,
        public_key: credential.public_key_cose,
        alg: credential.alg.cose_id(),
        sign_count: i64::from(credential.sign_count),
        backup_eligible: credential.backup_eligible,
        backup_state: credential.backup_state,
        user_verified: credential.user_verified,
        name: clean_name(name),
        created_at: now,
        last_used_at: None,
    };
    match store.add_passkey(&passkey).await? {
        Added::Added => Ok(passkey),
        Added::AlreadyRegistered => Err(PasskeyError::AlreadyRegistered),
    }
}

/// Starts a sign-in: the options for `navigator.credentials.get()`.
/// With `user_id` (a second factor after a password, or a step-up) the
/// user's passkeys are listed; without (passwordless, discoverable
/// credentials, conditional UI) none are. User verification is always
/// required: Tessera counts every passkey sign-in as two factors and as
/// phishing-resistant (`acr` `phr`), which a presence test alone is not.
pub async fn begin_authentication(
    store: &impl PasskeyStore,
    rp: &RelyingParty,
    binding: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<RequestOptions, PasskeyError> {
    let challenge = new_challenge(store, ChallengePurpose::Authenticate, binding, user_id, now).await?;
    let allowed: Vec<Vec<u8>> = match user_id {
        Some(user_id) => store
            .passkeys(user_id)
            .await?
            .into_iter()
            .map(|p| p.credential_id)
            .collect(),
        None => Vec::new(),
    };
    Ok(options::request(&rp.id, &challenge, &allowed, true))
}

/// A passkey sign-in that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySignIn {
    /// Who signed in.
    pub user_id: String,
    /// With which passkey (Tessera's id).
    pub passkey_id: String,
    /// Whether the authenticator verified the person (UV): with it, a
    /// passkey is two factors in one.
    pub user_verified: bool,
}

/// Finishes a sign-in from the browser's `PublicKeyCredential.toJSON()`
/// (`response_json`): [WebAuthn §7.2], then the counter recorded.
///
/// [WebAuthn §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
pub async fn finish_authentication(
    store: &impl PasskeyStore,
    rp: &RelyingParty,
    binding: &str,
    response_json: &str,
    now: i64,
) -> Result<PasskeySignIn, PasskeyError> {
    let response: AuthenticationJson = serde_json::from_str(response_json)
        .map_err(|_| PasskeyError::Malformed("not an authentication response"))?;
    let raw_id = credential_id(&response.id, &response.raw_id, &response.kind)?;
    let client_data_json = b64_decode(&response.response.client_data_json, "clientDataJSON")?;
    let authenticator_data = b64_decode(&response.response.authenticator_data, "authenticatorData")?;
    let signature = b64_decode(&response.response.signature, "signature")?;
    let handle = response
        .response
        .user_handle
        .as_deref()
        .filter(|h| !h.is_empty())
        .map(|h| b64_decode(h, "userHandle"))
        .transpose()?;

    let (challenge, taken) = take_challenge(
        store,
        &client_data_json,
        ChallengePurpose::Authenticate,
        binding,
        now,
    )
    .await?;

    // §7.2 steps 5-6: the credential, and whose it is.
    let passkey = store
        .passkey_by_credential_id(&raw_id)
        .await?
        .ok_or(PasskeyError::UnknownCredential)?;
    match (&taken.user_id, &handle) {
        // The user was identified first: the passkey is theirs (it was in
        // allowCredentials), and a user handle, if any, is theirs too.
        (Some(user_id), _) if *user_id != passkey.user_id => return Err(PasskeyError::UnknownCredential),
        (Some(_), Some(handle)) if handle.as_slice() != user_handle(&passkey.user_id) => {
            return Err(PasskeyError::UserHandle)
        }
        (Some(_), _) => {}
        // Not identified: the user handle must be present and the owner's.
        (None, Some(handle)) if handle.as_slice() == user_handle(&passkey.user_id) => {}
        (None, _) => return Err(PasskeyError::UserHandle),
    }

    let stored_count = u32::try_from(passkey.sign_count).map_err(|_| PasskeyError::Corrupt)?;
    let verified = verify_assertion(
        &client_data_json,
        &authenticator_data,
        &signature,
        &StoredCredential {
            public_key_cose: &passkey.public_key,
            sign_count: stored_count,
            backup_eligible: passkey.backup_eligible,
        },
        &rp.expected(&challenge, true),
    )?;
    if !store
        .record_passkey_use(
            &passkey.id,
            passkey.sign_count,
            i64::from(verified.sign_count),
            verified.backup_state,
            now,
        )
        .await?
    {
        return Err(PasskeyError::Concurrent);
    }
    Ok(PasskeySignIn {
        user_id: passkey.user_id,
        passkey_id: passkey.id,
        user_verified: verified.user_verified,
    })
}

/// The user's passkeys, oldest first.
pub async fn list(store: &impl PasskeyStore, user_id: &str) -> Result<Vec<Passkey>, PasskeyError> {
    Ok(store.passkeys(user_id).await?)
}

/// Renames the user's passkey `id` (see [`clean_name`]); whether it was
/// theirs.
pub async fn rename(
    store: &impl PasskeyStore,
    user_id: &str,
    id: &str,
    name: &str,
) -> Result<bool, PasskeyError> {
    Ok(store.rename_passkey(user_id, id, &clean_name(name)).await?)
}

/// Removes the user's passkey `id`; whether it was theirs.
pub async fn remove(store: &impl PasskeyStore, user_id: &str, id: &str) -> Result<bool, PasskeyError> {
    Ok(store.delete_passkey(user_id, id).await?)
}

/// How many passkeys the user has.
pub async fn count(store: &impl PasskeyStore, user_id: &str) -> Result<i64, PasskeyError> {
    Ok(store.passkey_count(user_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuer_host_and_origin() {
        let rp = RelyingParty::from_issuer("https://id.example:8443/tenant", "Tessera").unwrap();
        assert_eq!(rp.id, "id.example");
        assert_eq!(rp.origin, "https://id.example:8443");
        let rp = RelyingParty::from_issuer("https://localhost/", "Tessera").unwrap();
        assert_eq!(
            (rp.id.as_str(), rp.origin.as_str()),
            ("localhost", "https://localhost")
        );
        for bad in ["https://127.0.0.1:8443", "https://[::1]/", "not a url"] {
            assert!(RelyingParty::from_issuer(bad, "Tessera").is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("  My key\u{7}  "), "My key");
        assert_eq!(clean_name(" \n "), "Passkey");
        assert_eq!(clean_name(&"x".repeat(100)).chars().count(), MAX_NAME);
    }
}
