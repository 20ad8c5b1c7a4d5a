//! Google Project Wycheproof JOSE test vectors, run against the verifier.
//!
//! Source: <https://github.com/google/wycheproof>, commit
//! `507bb993e90a87d0a62591a5284bc34a3f1c5c22` (2024-03-26),
//! `testvectors/json_web_signature_test.json` and
//! `testvectors/json_web_key_test.json`, Apache-2.0. They are copied
//! unmodified into `tests/vectors/wycheproof/` (see the README there).
//!
//! What this proves:
//!
//! - **JWS file** (23 groups, 401 cases). For each group, the group's
//!   `public` JWK (or, when there is none, its `private` JWK) is loaded with
//!   [`VerifyingKey::from_jwk`] into a one-key [`KeySet`], and every case's
//!   compact JWS goes through [`KeySet::verify_signature`]. A `valid` case must
//!   verify. An `invalid` case must be refused. If the key cannot be loaded,
//!   the token is refused, so that counts as a refusal, but only for
//!   `invalid` cases. For a `valid` case, a key that fails to load is a
//!   failure. The cases cover HS256, ES256 (including r/s edge values),
//!   RS256/384/512 (including about 200 malformed PKCS #1 paddings),
//!   PS256/384/512 (salt, hash and padding changes), `alg: none`, key
//!   confusion, embedded `jwk` headers, keys for encryption only (`use`,
//!   `key_ops`), strict base64url, and the RFC 7520 examples.
//! - **JWK file** (25 groups, 26 cases). Each group holds a JWK Set, not a
//!   single key, with a JWS to check against it. The set is loaded the way an
//!   application loads an issuer's JWKS, with [`KeySet::from_jwks_json`], and
//!   the JWS is checked with the same rule as above. That loader skips keys
//!   that are not for signatures or that have an unsupported `alg`, so such a
//!   key gives an empty set and the token is refused (`UnknownKid`). A
//!   malformed signature key makes the whole set fail to load. The cases
//!   cover mixed and duplicate-`kid` sets, short and empty HMAC keys, 1024-bit
//!   and exponent-1 RSA keys, a ROCA key, curve, `kty` and `alg` mismatches,
//!   an invalid point, and AES keys.
//!
//! No `oct` key in either file lacks `alg`, so this test never guesses an
//! HMAC key's algorithm from a token. Every HMAC key loads with the `alg`
//! written in the vector.
//!
//! Cases are not asserted one at a time. Each disagreement is collected and
//! all of them are printed at once. Each file's case count is asserted
//! exactly, so a case cannot drop out without notice.
//!
//! A case is skipped only when [`SKIPPED`] lists it with a reason. A skipped
//! case still runs, and the library's result must match the result pinned in
//! the table. A changed result fails the test, so the table cannot go stale
//! or hide a change. Run with `--nocapture` to see the per-file summary and
//! every skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use serde_json::Value;
use tessera_jwt::{Error, Jwk, KeyError, KeySet, VerifyingKey, DEFAULT_MAX_TOKEN_LEN};

const JWS_VECTORS: &str = include_str!("vectors/wycheproof/json_web_signature_test.json");
const JWK_VECTORS: &str = include_str!("vectors/wycheproof/json_web_key_test.json");

/// Which Wycheproof file a case comes from (tcIds restart in each file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum File {
    Jws,
    Jwk,
}

impl File {
    fn name(self) -> &'static str {
        match self {
            File::Jws => "json_web_signature_test.json",
            File::Jwk => "json_web_key_test.json",
        }
    }

    fn text(self) -> &'static str {
        match self {
            File::Jws => JWS_VECTORS,
            File::Jwk => JWK_VECTORS,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Refused,
}

/// A case this test does not hold the library to Wycheproof's label for.
struct Skip {
    file: File,
    tc_id: u64,
    /// What the library does with the case today. The test checks it.
    library: Outcome,
    reason: &'static str,
}

/// Every skip, with its reason. Each one was checked by hand against the
/// RFCs and the vector bytes. None of them is an algorithm the library lacks,
/// and no PSS case needed a skip: every `valid` PS256/384/512 vector uses a
/// salt as long as the hash, which is what aws-lc-rs requires.
const SKIPPED: &[Skip] = &[
    // RFC 7520 examples. The RFC's RSA and P-521 keys (Figures 3 and 4) have
    // no `alg`. Wycheproof added one that the example token does not use.
    Skip {
        file: File::Jws,
        tc_id: 346,
        library: Outcome::Refused,
        reason: "vector defect: RFC 7520 Fig. 20 is signed PS384 but the group's key says \
                 alg PS256; a key is bound to its alg (RFC 7517 §4.4, RFC 8725 §3.1), so \
                 AlgorithmMismatch is correct (verifies once alg agrees: see \
                 rfc7520_figures_verify_when_key_alg_agrees_with_token)",
    },
    Skip {
        file: File::Jws,
        tc_id: 350,
        library: Outcome::Refused,
        reason: "vector defect: as tcId 346 (Fig. 20 is PS384, key says PS256), with key_ops",
    },
    Skip {
        file: File::Jws,
        tc_id: 347,
        library: Outcome::Refused,
        reason: "vector defect: the P-521 key says alg \"ES521\", which is not a registered \
                 JWS alg (RFC 7518 §3.1 names ES512); an unknown alg is refused on load \
                 (verifies with ES512: see rfc7520_figures_verify_when_key_alg_agrees_with_token)",
    },
    Skip {
        file: File::Jws,
        tc_id: 351,
        library: Outcome::Refused,
        reason: "vector defect: as tcId 347 (key alg \"ES521\"), with key_ops",
    },
    // The `base64` group. The Wycheproof harness for jose4j suppresses these
    // cases too. Its comment says "JWS requires that base64 encodings do not
    // include white space and other extra characters".
    Skip {
        file: File::Jws,
        tc_id: 367,
        library: Outcome::Accepted,
        reason: "vector defect: the jws string is byte-for-byte tcId 357 (valid ValidMac), \
                 no padding anywhere, yet labelled invalid",
    },
    Skip {
        file: File::Jws,
        tc_id: 370,
        library: Outcome::Accepted,
        reason: "vector defect: the jws string is byte-for-byte tcId 357 (valid ValidMac), \
                 no padding anywhere, yet labelled invalid",
    },
    Skip {
        file: File::Jws,
        tc_id: 372,
        library: Outcome::Refused,
        reason: "vector defect: labelled valid, but a '?' is inserted in the header segment, \
                 which is not base64url (RFC 7515 §2, §7.1); accepting it is the malleability \
                 Wycheproof's own harness calls a bug",
    },
    Skip {
        file: File::Jws,
        tc_id: 373,
        library: Outcome::Refused,
        reason: "vector defect: labelled valid, but a '?' is inserted in the payload segment \
                 and the MAC is tcId 357's, computed over the input without the '?' \
                 (RFC 7515 §5.2 verifies the MAC over the bytes received)",
    },
    // JWK file.
    Skip {
        file: File::Jwk,
        tc_id: 1,
        library: Outcome::Accepted,
        reason: "flagged Ambiguous by Wycheproof (MixedKeySet: 'not well defined by the RFCs'): \
                 the library loads a private JWK as its public half by design, and keeps the \
                 HS256 and ES256 keys apart by kid + alg binding; policy choice, reported",
    },
];

/// Verifies one JWS case: the group's public JWK (else its private JWK)
/// as the only trusted key. `Err` says which stage refused and why.
fn verify_with_group_jwk(group: &Value, token: &str) -> Result<(), String> {
    let jwk = group
        .get("public")
        .or_else(|| group.get("private"))
        .ok_or("group has neither a public nor a private key")?;
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| format!("JWK does not parse: {e}"))?;
    let key = VerifyingKey::from_jwk(&jwk).map_err(|e| format!("key refused on load: {e:?}"))?;
    let keys = KeySet::new(vec![key]).map_err(|e| format!("key set refused: {e:?}"))?;
    keys.verify_signature(token, DEFAULT_MAX_TOKEN_LEN)
        .map(drop)
        .map_err(|e| format!("token refused: {e:?}"))
}

/// Verifies one JWK-file case: the group's public JWK Set (else its private
/// one) loaded as an application loads an issuer's JWKS.
fn verify_with_group_jwks(group: &Value, token: &str) -> Result<(), String> {
    let jwks = group
        .get("public")
        .or_else(|| group.get("private"))
        .ok_or("group has neither a public nor a private key set")?;
    let json = serde_json::to_vec(jwks).map_err(|e| format!("JWKS does not serialize: {e}"))?;
    let keys = KeySet::from_jwks_json(&json).map_err(|e| format!("key set refused on load: {e:?}"))?;
    let loaded = keys.keys().len();
    keys.verify_signature(token, DEFAULT_MAX_TOKEN_LEN)
        .map(drop)
        .map_err(|e| format!("token refused: {e:?} ({loaded} key(s) loaded)"))
}

fn str_of<'v>(v: &'v Value, name: &str) -> &'v str {
    v.get(name).and_then(Value::as_str).unwrap_or("<missing>")
}

#[derive(Default)]
struct Report {
    groups: usize,
    cases: usize,
    declared_cases: u64,
    ran: usize,
    passed: usize,
    skipped: Vec<String>,
    failures: Vec<String>,
}

/// An empty list for a missing or non-array member (the exact case and
/// group counts asserted in [`check`] catch that).
fn array_of<'v>(v: &'v Value, name: &str) -> &'v [Value] {
    v.get(name).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn parse(file: File) -> Result<Value, String> {
    serde_json::from_str(file.text()).map_err(|e| format!("{} is not JSON: {e}", file.name()))
}

fn run(file: File, verify: fn(&Value, &str) -> Result<(), String>) -> Report {
    let mut report = Report::default();
    let doc = match parse(file) {
        Ok(doc) => doc,
        Err(e) => {
            report.failures.push(e);
            return report;
        }
    };
    report.declared_cases = doc.get("numberOfTests").and_then(Value::as_u64).unwrap_or(0);
    let mut skip_used = vec![false; SKIPPED.len()];
    for group in array_of(&doc, "testGroups") {
        report.groups += 1;
        let group_comment = str_of(group, "comment");
        for case in array_of(group, "tests") {
            report.cases += 1;
            let tc_id = case.get("tcId").and_then(Value::as_u64).unwrap_or(0);
            let comment = str_of(case, "comment");
            let result = str_of(case, "result");
            let flags = case.get("flags").map(Value::to_string).unwrap_or_default();
            let label = format!(
                "{} tcId {tc_id} [group {group_comment:?}, comment {comment:?}, flags {flags}]",
                file.name()
            );
            let Some(token) = case.get("jws").and_then(Value::as_str) else {
                report
                    .failures
                    .push(format!("{label}: no compact \"jws\" string"));
                continue;
            };
            let expected = match result {
                "valid" => Outcome::Accepted,
                "invalid" => Outcome::Refused,
                other => {
                    report.failures.push(format!("{label}: unknown result {other:?}"));
                    continue;
                }
            };
            let got = verify(group, token);
            let outcome = if got.is_ok() {
                Outcome::Accepted
            } else {
                Outcome::Refused
            };
            let detail = got.err().unwrap_or_else(|| "verified".to_owned());

            if let Some((skip, used)) = SKIPPED
                .iter()
                .zip(skip_used.iter_mut())
                .find(|(s, _)| s.file == file && s.tc_id == tc_id)
            {
                *used = true;
                if outcome == skip.library {
                    report.skipped.push(format!(
                        "{label}: Wycheproof says {result}, library {outcome:?} ({detail}); {}",
                        skip.reason
                    ));
                } else {
                    report.failures.push(format!(
                        "{label}: listed in SKIPPED as {:?} but the library now gives \
                         {outcome:?} ({detail}); re-check the entry",
                        skip.library
                    ));
                }
                continue;
            }

            report.ran += 1;
            if outcome == expected {
                report.passed += 1;
            } else {
                report.failures.push(format!(
                    "{label}: Wycheproof expects {result}, library {outcome:?}: {detail}"
                ));
            }
        }
    }
    for (skip, used) in SKIPPED.iter().zip(&skip_used) {
        if skip.file == file && !used {
            report.failures.push(format!(
                "SKIPPED names {} tcId {}, which is not in the file",
                file.name(),
                skip.tc_id
            ));
        }
    }
    report
}

/// Prints the summary, adds count mismatches to the failures, and asserts
/// that nothing failed.
fn check(file: File, report: Report, groups: usize, ran: usize) {
    let Report {
        groups: seen_groups,
        cases,
        declared_cases,
        ran: seen_ran,
        passed,
        skipped,
        mut failures,
    } = report;
    println!(
        "{}: {seen_groups} groups, {cases} cases ({declared_cases} declared), {seen_ran} run, \
         {passed} as expected, {} skipped, {} failed",
        file.name(),
        skipped.len(),
        failures.len()
    );
    for s in &skipped {
        println!("  skipped: {s}");
    }
    if u64::try_from(cases).ok() != Some(declared_cases) {
        failures.push(format!(
            "{}: counted {cases} cases but numberOfTests says {declared_cases}",
            file.name()
        ));
    }
    if seen_groups != groups {
        failures.push(format!(
            "{}: {seen_groups} groups, expected {groups}",
            file.name()
        ));
    }
    if seen_ran != ran || seen_ran + skipped.len() != cases {
        failures.push(format!(
            "{}: {seen_ran} cases run and {} skipped of {cases}; expected {ran} run",
            file.name(),
            skipped.len()
        ));
    }
    assert!(
        failures.is_empty(),
        "{} Wycheproof disagreement(s) in {}:\n{}",
        failures.len(),
        file.name(),
        failures.join("\n")
    );
}

#[test]
fn json_web_signature_vectors() {
    // 401 cases, 8 skipped in SKIPPED: 393 run.
    check(File::Jws, run(File::Jws, verify_with_group_jwk), 23, 393);
}

#[test]
fn json_web_key_vectors() {
    // 26 cases, 1 skipped in SKIPPED (Ambiguous): 25 run.
    check(File::Jwk, run(File::Jwk, verify_with_group_jwks), 25, 25);
}

/// The group and the case with this tcId.
fn find_case(file: File, tc_id: u64) -> Result<(Value, Value), String> {
    let doc = parse(file)?;
    for group in array_of(&doc, "testGroups") {
        for case in array_of(group, "tests") {
            if case.get("tcId").and_then(Value::as_u64) == Some(tc_id) {
                return Ok((group.clone(), case.clone()));
            }
        }
    }
    Err(format!("{} has no tcId {tc_id}", file.name()))
}

/// The four skipped RFC 7520 cases fail only because of the `alg` Wycheproof
/// wrote into the key. With the `alg` that RFC 7520 signs with (Fig. 20:
/// PS384, Fig. 27: ES512), the same key and token verify. This shows the
/// PS384 and ES512 (P-521) signatures check out, and that the refusals come
/// from key/alg binding, not the crypto.
#[test]
fn rfc7520_figures_verify_when_key_alg_agrees_with_token() {
    for (tc_id, alg) in [(346, "PS384"), (350, "PS384"), (347, "ES512"), (351, "ES512")] {
        let (group, case) = find_case(File::Jws, tc_id).expect("case exists");
        let token = case.get("jws").and_then(Value::as_str).expect("jws");
        let as_written: Jwk =
            serde_json::from_value(group.get("public").expect("public").clone()).expect("public JWK parses");

        // As written: refused for exactly the reason given in SKIPPED.
        match VerifyingKey::from_jwk(&as_written) {
            Err(KeyError::UnsupportedAlgorithm(name)) => {
                assert_eq!((alg, name.as_str()), ("ES512", "ES521"), "tcId {tc_id}");
            }
            Ok(key) => {
                let refused = KeySet::new(vec![key])
                    .expect("one key")
                    .verify_signature(token, DEFAULT_MAX_TOKEN_LEN);
                assert!(
                    matches!(refused, Err(Error::AlgorithmMismatch { .. })),
                    "tcId {tc_id}: {refused:?}"
                );
            }
            Err(e) => panic!("tcId {tc_id}: unexpected key error {e:?}"),
        }

        // With the alg RFC 7520 uses: verifies.
        let mut fixed = as_written.clone();
        fixed.alg = Some(alg.to_owned());
        let key = VerifyingKey::from_jwk(&fixed)
            .unwrap_or_else(|e| panic!("tcId {tc_id}: key with alg {alg} refused: {e:?}"));
        let verified = KeySet::new(vec![key])
            .expect("one key")
            .verify_signature(token, DEFAULT_MAX_TOKEN_LEN)
            .unwrap_or_else(|e| panic!("tcId {tc_id}: RFC 7520 token refused with alg {alg}: {e:?}"));
        assert_eq!(verified.header().alg.name(), alg, "tcId {tc_id}");
    }
}

/// JWK-file tcId 4 (`jws_duplicate_kid`) passes, but not through the rule it
/// targets. Its second key's `k` ends in `e`, whose low bits are not zero,
/// so strict base64url refuses that key before the duplicate-`kid` check
/// runs. This test checks that cause, then the rule itself, using the
/// group's first key twice.
#[test]
fn duplicate_kid_vector_and_the_rule_it_targets() {
    let (group, _) = find_case(File::Jwk, 4).expect("case exists");
    let keys = group
        .get("private")
        .and_then(|k| k.get("keys"))
        .and_then(Value::as_array)
        .expect("private.keys");
    let jwks: Vec<Jwk> = keys
        .iter()
        .map(|k| serde_json::from_value(k.clone()).expect("JWK parses"))
        .collect();
    let [first, second] = jwks.as_slice() else {
        panic!("expected two keys, found {}", jwks.len());
    };
    assert_eq!(first.kid, second.kid);
    assert!(
        matches!(VerifyingKey::from_jwk(second), Err(KeyError::JwkMember("k"))),
        "second key's non-canonical base64url k must be refused"
    );
    let key = VerifyingKey::from_jwk(first).expect("first key loads");
    match KeySet::new(vec![key.clone(), key]) {
        Err(KeyError::DuplicateKid(kid)) => assert_eq!(kid, "kid-aes-sign"),
        other => panic!("two keys with one kid must be refused, got {other:?}"),
    }
}
