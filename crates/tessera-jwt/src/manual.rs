//! # The manual: attacks on JWT libraries and what stops each here
//!
//! Each section names a class of attack seen in real JWT libraries, the rule
//! that rules it out in this crate, and the test that would fail if the rule
//! were removed (`tests/attacks.rs` unless noted).
//!
//! ## `alg: none` (unsecured JWTs)
//! A library that reads `alg` from the header and honours `none` accepts any
//! token with an empty signature. Here `none` is not an [`Algorithm`] at
//! all; the header parser refuses it in any letter case with
//! [`Error::AlgorithmNone`] ([RFC 8725 §2.1]). Test: `alg_none_is_refused`.
//!
//! ## Key confusion (RS256 → HS256)
//! A verifier that lets the header choose the algorithm can be told to
//! check an HMAC made with the *public* RSA key as the secret. Here each
//! key carries its own algorithm; a header that disagrees gets
//! [`Error::AlgorithmMismatch`], and the key's algorithm is the only one
//! ever run ([RFC 8725 §3.1]). Test: `rsa_public_key_as_hmac_secret_is_refused`.
//!
//! ## Psychic signatures (CVE-2022-21449)
//! Java accepted ECDSA signatures with `r = s = 0` for any message. Here
//! ECDSA signatures must be the fixed `r || s` form of the exact length
//! ([RFC 7518 §3.4]) and aws-lc checks `0 < r, s < n`. Tests:
//! `psychic_ecdsa_signature_is_refused` and the Wycheproof suite
//! (`tests/wycheproof.rs`), which includes out-of-range and DER-encoded
//! signatures.
//!
//! ## Embedded keys and key URLs (CVE-2018-0114, `jku`/`x5u`)
//! Libraries that verified a token with the `jwk` in its own header, or
//! fetched the key from a `jku`/`x5u` URL it names, let the signer pick the
//! key that checks its signature. Here those members are skipped unread;
//! keys come only from the [`KeySet`] the application built
//! ([RFC 8725 §3.10]). Test: `embedded_jwk_and_jku_are_ignored`.
//!
//! ## DPoP proofs: the one embedded key that is read, and why it is not this hole
//! A DPoP proof ([RFC 9449]) must carry its key in the `jwk` header, and
//! [`dpop::verify`] checks the proof's signature with it. That is only
//! safe because the proof is never believed about *who* signed it: the
//! embedded-key attack works when a verifier takes "the signature checks
//! with the key in the token" to mean "the issuer signed this". A proof
//! claims no issuer and grants nothing by itself. The server bound the
//! token to the key's RFC 7638 thumbprint when it issued it (`cnf.jkt`),
//! so the proof shows only that the sender holds the private half of the
//! key the token is bound to; a proof made with the attacker's own key
//! verifies, and then fails the comparison with the binding. For that
//! reason the entry point is separate ([`dpop::verify`], never
//! [`KeySet`]), returns only the thumbprint of the key ([`dpop::Proof::jkt`]),
//! and refuses a `jwk` with private members and symmetric algorithms (a
//! public key used as an HMAC secret would let anyone sign). Tests:
//! `rfc_9449_4_3_checks` in `src/dpop.rs`.
//!
//! ## `kid` injection
//! Libraries that used `kid` as a file path or in SQL were tricked into
//! using `/dev/null` or a chosen row as the key. Here `kid` is compared
//! byte for byte with the keys already in memory; an unknown one is
//! [`Error::UnknownKid`], shown cut and escaped so it cannot forge a log
//! line. Test: `kid_injection_finds_no_key`.
//!
//! ## Parser differentials
//! A token whose bytes can be read two ways (duplicate member names, lenient
//! base64 with padding or stray bits) lets two components disagree about
//! what was signed ([RFC 8725 §2.10]). Here base64url is strict and repeated
//! member names are refused in the header and the claims. Tests:
//! `non_canonical_base64_is_refused`, `duplicate_claims_are_refused`.
//!
//! ## Claim type confusion
//! A verifier that checks only the claims its rules name accepts `"sub": 42`
//! or `"exp": "1700000000"`; a relying party that then compares loosely
//! (`42 == "42"` in JavaScript or PHP, or a database that casts) takes the
//! number for another user's id, and a string `exp` may be skipped or read
//! as zero. Here the registered claims are typed ([RFC 7519 §4.1]) whatever
//! the [`Validation`] checks and whatever the caller's claims type: `iss`,
//! `sub` and `jti` are strings, `aud` a string or an array of strings, and
//! `exp`, `nbf` and `iat` JSON numbers (NumericDate, [RFC 7519 §2]:
//! fractions are allowed and floored to the second). Anything else is
//! [`Error::InvalidClaim`], on verify and from [`Signer::sign`]. Tests:
//! `tests/rfc7519_4_1_types.rs`.
//!
//! ## Unknown critical extensions
//! A header may mark extensions `crit`; a verifier that ignores one it does
//! not understand may accept what the signer meant to restrict. None are
//! understood here, so any `crit` is refused ([RFC 7515 §4.1.11]). Test:
//! `crit_is_refused`.
//!
//! ## Cross-JWT confusion
//! An ID token replayed as an access token verifies with the same key.
//! [`Validation::typ`] makes the header type part of the check; the server
//! sets `typ: at+jwt` on access tokens and guards require it
//! ([RFC 8725 §3.11], [RFC 9068 §4]). Test: `wrong_typ_is_refused`.
//!
//! ## Weak RSA keys in a key set
//! A JWKS can carry an RSA key that verifies signatures yet protects
//! nothing: exponent `e = 1` (the "signature" is the padded message), or a
//! modulus from Infineon's RSALib (ROCA, CVE-2017-15361), which can be
//! factored. Such keys are refused when loaded, as are RSA keys under 2048
//! bits ([RFC 7518 §3.3]). Tests: `roca_and_exponent_one_keys_are_refused`
//! (`tests/keys.rs`) and Wycheproof's JWK cases.
//!
//! ## Resource exhaustion
//! Tokens longer than [`Validation::max_token_len`] (16 KiB by default) are
//! refused before any decoding; the duplicate-name check switches to a hash
//! set for large objects so it stays linear. Property tests feed random and
//! mutated tokens (`tests/properties.rs`).
//!
//! # Why each default
//!
//! | default | value | why |
//! |---|---|---|
//! | `exp` required | yes | a token without expiry is a permanent credential |
//! | leeway | 60 s | clocks on a fleet drift by seconds, not minutes |
//! | max token size | 16 KiB | larger than any sane JWT; bounds the work an attacker can cause |
//! | `aud` present, none expected | refused | RFC 7519 §4.1.3 says MUST reject |
//! | RSA key size | ≥ 2048 bits | RFC 7518 §3.3 |
//! | HMAC key size | ≥ hash size | RFC 7518 §3.2 |
//! | `kid` | RFC 7638 thumbprint | stable, derived from the key, no registry needed |
//! | RSA JWK without `alg` | `RS256` | the only RSA algorithm RFC 7518 recommends; PS256 must be named |
//!
//! # Non-features
//!
//! - JWE (encrypted tokens) and the JSON serialization of JWS.
//! - Unencoded payloads (RFC 7797, `b64: false`): they need `crit`.
//! - Fetching keys: that is `tessera-guard`'s job, from a configured URL.
//! - Choosing a key by trying every key: without a `kid`, only a set with
//!   exactly one key for the token's algorithm can verify it.
//!
//! [`Algorithm`]: crate::Algorithm
//! [`Error::AlgorithmNone`]: crate::Error::AlgorithmNone
//! [`Error::AlgorithmMismatch`]: crate::Error::AlgorithmMismatch
//! [`Error::UnknownKid`]: crate::Error::UnknownKid
//! [`Error::InvalidClaim`]: crate::Error::InvalidClaim
//! [`Signer::sign`]: crate::Signer::sign
//! [`Validation`]: crate::Validation
//! [`KeySet`]: crate::KeySet
//! [`dpop::verify`]: crate::dpop::verify
//! [`dpop::Proof::jkt`]: crate::dpop::Proof::jkt
//! [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449
//! [`Validation::typ`]: crate::Validation::typ
//! [`Validation::max_token_len`]: crate::Validation::max_token_len
//! [RFC 7515 §4.1.11]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11
//! [RFC 7518 §3.3]: https://www.rfc-editor.org/rfc/rfc7518#section-3.3
//! [RFC 7518 §3.4]: https://www.rfc-editor.org/rfc/rfc7518#section-3.4
//! [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2
//! [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
//! [RFC 8725 §2.1]: https://www.rfc-editor.org/rfc/rfc8725#section-2.1
//! [RFC 8725 §2.10]: https://www.rfc-editor.org/rfc/rfc8725#section-2.10
//! [RFC 8725 §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1
//! [RFC 8725 §3.10]: https://www.rfc-editor.org/rfc/rfc8725#section-3.10
//! [RFC 8725 §3.11]: https://www.rfc-editor.org/rfc/rfc8725#section-3.11
//! [RFC 9068 §4]: https://www.rfc-editor.org/rfc/rfc9068#section-4
