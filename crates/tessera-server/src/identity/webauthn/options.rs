//! The options the browser's `navigator.credentials.create()` and
//! `get()` take, in the JSON shapes of [WebAuthn §5.4]
//! (`PublicKeyCredentialCreationOptionsJSON`) and [WebAuthn §5.5]
//! (`PublicKeyCredentialRequestOptionsJSON`): binary members as
//! base64url without padding, so the page script can pass them to
//! `PublicKeyCredential.parseCreationOptionsFromJSON()` /
//! `parseRequestOptionsFromJSON()` ([WebAuthn §5.1.9]) or decode them by
//! hand.
//!
//! [WebAuthn §5.4]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialcreationoptionsjson
//! [WebAuthn §5.5]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialrequestoptionsjson
//! [WebAuthn §5.1.9]: https://www.w3.org/TR/webauthn-3/#sctn-parseCreationOptionsFromJSON

use base64::Engine as _;
use serde::Serialize;

use super::cose::Algorithm;

/// How long the browser waits for the person, in milliseconds (the
/// challenge lives as long, [WebAuthn §15.4]).
///
/// [WebAuthn §15.4]: https://www.w3.org/TR/webauthn-3/#sctn-timeout-recommended-range
pub const TIMEOUT_MS: u32 = 300_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `PublicKeyCredentialRpEntity` ([WebAuthn §5.4.2]).
///
/// [WebAuthn §5.4.2]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialrpentity
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RpEntity {
    /// The RP ID.
    pub id: String,
    /// A name for people.
    pub name: String,
}

/// `PublicKeyCredentialUserEntityJSON` ([WebAuthn §5.4.3]).
///
/// [WebAuthn §5.4.3]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialuserentityjson
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserEntity {
    /// The user handle, base64url: opaque, no personal data.
    pub id: String,
    /// The account name (the username).
    pub name: String,
    /// The name shown (the display name, or the username).
    #[serde(rename = "displayName")]
    pub display_name: String,
}

/// `PublicKeyCredentialParameters` ([WebAuthn §5.3]).
///
/// [WebAuthn §5.3]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialparameters
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CredentialParameters {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The COSE algorithm identifier.
    pub alg: i64,
}

/// `PublicKeyCredentialDescriptorJSON` ([WebAuthn §5.8.3]).
///
/// [WebAuthn §5.8.3]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialdescriptorjson
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The credential id, base64url.
    pub id: String,
}

impl CredentialDescriptor {
    /// The descriptor of the credential with this id.
    pub fn new(credential_id: &[u8]) -> CredentialDescriptor {
        CredentialDescriptor {
            kind: "public-key",
            id: b64(credential_id),
        }
    }
}

/// `AuthenticatorSelectionCriteria` ([WebAuthn §5.4.4]).
///
/// [WebAuthn §5.4.4]: https://www.w3.org/TR/webauthn-3/#dictdef-authenticatorselectioncriteria
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuthenticatorSelection {
    /// `required`: a discoverable credential (a passkey), usable without a
    /// username.
    #[serde(rename = "residentKey")]
    pub resident_key: &'static str,
    /// The Level 1 spelling of the same, for older browsers.
    #[serde(rename = "requireResidentKey")]
    pub require_resident_key: bool,
    /// `required`: the authenticator verifies the person.
    #[serde(rename = "userVerification")]
    pub user_verification: &'static str,
}

/// `PublicKeyCredentialCreationOptionsJSON` ([WebAuthn §5.4]).
///
/// [WebAuthn §5.4]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialcreationoptionsjson
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CreationOptions {
    /// The relying party.
    pub rp: RpEntity,
    /// The account.
    pub user: UserEntity,
    /// The challenge, base64url.
    pub challenge: String,
    /// ES256, EdDSA, RS256.
    #[serde(rename = "pubKeyCredParams")]
    pub pub_key_cred_params: Vec<CredentialParameters>,
    /// Milliseconds.
    pub timeout: u32,
    /// The account's credentials (one authenticator registers once).
    #[serde(rename = "excludeCredentials")]
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// A discoverable credential with user verification.
    #[serde(rename = "authenticatorSelection")]
    pub authenticator_selection: AuthenticatorSelection,
    /// `none`.
    pub attestation: &'static str,
}

/// `PublicKeyCredentialRequestOptionsJSON` ([WebAuthn §5.5]).
///
/// [WebAuthn §5.5]: https://www.w3.org/TR/webauthn-3/#dictdef-publickeycredentialrequestoptionsjson
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestOptions {
    /// The challenge, base64url.
    pub challenge: String,
    /// Milliseconds.
    pub timeout: u32,
    /// The RP ID.
    #[serde(rename = "rpId")]
    pub rp_id: String,
    /// Empty for a discoverable sign-in (the authenticator offers its
    /// passkeys for this RP); the account's for a second factor.
    #[serde(rename = "allowCredentials")]
    pub allow_credentials: Vec<CredentialDescriptor>,
    /// `required` or `preferred`.
    #[serde(rename = "userVerification")]
    pub user_verification: &'static str,
}

/// The creation options for `user_handle` (opaque bytes), `name` and
/// `display_name`, with `challenge`, excluding `existing` credential ids.
pub fn creation(
    rp: RpEntity,
    user_handle: &[u8],
    name: &str,
    display_name: &str,
    challenge: &[u8],
    existing: &[Vec<u8>],
) -> CreationOptions {
    CreationOptions {
        rp,
        user: UserEntity {
            id: b64(user_handle),
            name: name.to_owned(),
            display_name: display_name.to_owned(),
        },
        challenge: b64(challenge),
        pub_key_cred_params: Algorithm::ALL
            .iter()
            .map(|a| CredentialParameters {
                kind: "public-key",
                alg: a.cose_id(),
            })
            .collect(),
        timeout: TIMEOUT_MS,
        exclude_credentials: existing.iter().map(|id| CredentialDescriptor::new(id)).collect(),
        authenticator_selection: AuthenticatorSelection {
            resident_key: "required",
            require_resident_key: true,
            user_verification: "required",
        },
        attestation: "none",
    }
}

/// The request options with `challenge` for `rp_id`, allowing `allowed`
/// credential ids (none: any discoverable one).
pub fn request(
    rp_id: &str,
    challenge: &[u8],
    allowed: &[Vec<u8>],
    user_verification_required: bool,
) -> RequestOptions {
    RequestOptions {
        challenge: b64(challenge),
        timeout: TIMEOUT_MS,
        rp_id: rp_id.to_owned(),
        allow_credentials: allowed.iter().map(|id| CredentialDescriptor::new(id)).collect(),
        user_verification: if user_verification_required {
            "required"
        } else {
            "preferred"
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_options_have_the_level_3_json_shape() {
        let rp = RpEntity {
            id: "localhost".into(),
            name: "Tessera".into(),
        };
        let options = creation(
            rp,
            b"\x01\x02\xff",
            "alice",
            "Alice",
            b"\xfb\xff",
            &[b"\xfa".to_vec()],
        );
        let json = serde_json::to_value(&options).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "rp": {"id": "localhost", "name": "Tessera"},
                "user": {"id": "AQL_", "name": "alice", "displayName": "Alice"},
                "challenge": "-_8",
                "pubKeyCredParams": [
                    {"type": "public-key", "alg": -7},
                    {"type": "public-key", "alg": -8},
                    {"type": "public-key", "alg": -257}
                ],
                "timeout": 300000,
                "excludeCredentials": [{"type": "public-key", "id": "-g"}],
                "authenticatorSelection": {
                    "residentKey": "required",
                    "requireResidentKey": true,
                    "userVerification": "required"
                },
                "attestation": "none"
            })
        );
    }

    #[test]
    fn request_options_have_the_level_3_json_shape() {
        let json = serde_json::to_value(request("localhost", b"\x00", &[], true)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "challenge": "AA",
                "timeout": 300000,
                "rpId": "localhost",
                "allowCredentials": [],
                "userVerification": "required"
            })
        );
        let json = serde_json::to_value(request("localhost", b"\x00", &[b"ab".to_vec()], false)).unwrap();
        assert_eq!(
            json["allowCredentials"],
            serde_json::json!([{"type": "public-key", "id": "YWI"}])
        );
        assert_eq!(json["userVerification"], "preferred");
    }
}
