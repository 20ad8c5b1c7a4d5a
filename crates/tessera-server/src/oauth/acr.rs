//! The authentication level an authorization request asks for
//! ([`RequestedAcr`]), from its `acr_values` ([OpenID Connect Core
//! §3.1.2.1]: space-separated, in order of preference, voluntary) and
//! from the `acr` member of its `claims` parameter's `id_token` object
//! ([OpenID Connect Core §5.5], [§5.5.1.1]: `essential`, `value`,
//! `values`).
//!
//! Only what decides the sign-in is read: `claims` must be a JSON object
//! (else `invalid_request`), and its `id_token` member, when present, one
//! too; every other member (`userinfo`, other claims, unknown members) is
//! accepted and ignored. Unknown `acr` values are ignored (§3.1.2.1: the
//! parameter is a request, not an order) — except that an essential `acr`
//! that names values, none of them one of ours, can never be met and is
//! refused at once ([`AcrError::UnmeetableEssential`]). Of the levels named,
//! the lowest is asked for: a sign-in that reaches a higher one satisfies
//! it.
//!
//! [OpenID Connect Core §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
//! [OpenID Connect Core §5.5]: https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter
//! [§5.5.1.1]: https://openid.net/specs/openid-connect-core-1_0.html#acrSemantics

use serde_json::Value;

use super::Params;
use crate::domain::RequestedAcr;

/// Why the requested level cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AcrError {
    /// `claims` is not a JSON object (OpenID Connect Core §5.5).
    #[error("claims must be a JSON object")]
    ClaimsNotAnObject,
    /// `claims.id_token` is not a JSON object.
    #[error("claims.id_token must be a JSON object")]
    IdTokenNotAnObject,
    /// `claims.id_token.acr` is neither null nor an object (§5.5.1), or
    /// its `essential`, `value` or `values` has the wrong type.
    #[error("claims.id_token.acr must be null or an object with a boolean essential, a string value or an array of string values")]
    MalformedAcr,
    /// An essential `acr` names only values this server never reaches.
    #[error("the essential acr values are not ones this server offers")]
    UnmeetableEssential,
}

/// The level the request's `acr_values` and `claims` ask for, if any:
/// the stricter of the two ([`RequestedAcr::stricter`]).
pub fn requested(params: &Params) -> Result<Option<RequestedAcr>, AcrError> {
    let voluntary = params
        .get("acr_values")
        .and_then(|v| RequestedAcr::lowest_of(v.split(' ').filter(|s| !s.is_empty()), false));
    let claimed = match params.get("claims") {
        Some(claims) => from_claims(claims)?,
        None => None,
    };
    Ok(RequestedAcr::stricter(voluntary, claimed))
}

/// The level the `claims` parameter's `id_token.acr` asks for.
fn from_claims(claims: &str) -> Result<Option<RequestedAcr>, AcrError> {
    let Ok(Value::Object(claims)) = serde_json::from_str::<Value>(claims) else {
        return Err(AcrError::ClaimsNotAnObject);
    };
    let acr = match claims.get("id_token") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(id_token)) => id_token.get("acr"),
        Some(_) => return Err(AcrError::IdTokenNotAnObject),
    };
    let acr = match acr {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(acr)) => acr,
        Some(_) => return Err(AcrError::MalformedAcr),
    };
    let essential = match acr.get("essential") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(AcrError::MalformedAcr),
    };
    let mut named: Vec<&str> = Vec::new();
    match acr.get("value") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) => named.push(v),
        Some(_) => return Err(AcrError::MalformedAcr),
    }
    match acr.get("values") {
        None | Some(Value::Null) => {}
        Some(Value::Array(values)) => {
            for v in values {
                named.push(v.as_str().ok_or(AcrError::MalformedAcr)?);
            }
        }
        Some(_) => return Err(AcrError::MalformedAcr),
    }
    let level = RequestedAcr::lowest_of(named.iter().copied(), essential);
    if essential && !named.is_empty() && level.is_none() {
        return Err(AcrError::UnmeetableEssential);
    }
    Ok(level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Acr;

    fn of(pairs: &[(&str, &str)]) -> Result<Option<RequestedAcr>, AcrError> {
        let params = Params::from_pairs(pairs.iter().map(|(k, v)| (*k, Some(*v))));
        requested(&params)
    }

    const TWO: &str = "urn:tessera:acr:2fa";

    fn level(level: Acr, essential: bool) -> Option<RequestedAcr> {
        Some(RequestedAcr { level, essential })
    }

    /// OpenID Connect Core §3.1.2.1 and §5.5.1.1, row by row.
    #[test]
    fn requested_levels() {
        type Row<'a> = (
            &'a str,
            Vec<(&'a str, &'a str)>,
            Result<Option<RequestedAcr>, AcrError>,
        );
        let rows: Vec<Row<'_>> = vec![
            ("nothing", vec![], Ok(None)),
            (
                "acr_values 2fa",
                vec![("acr_values", TWO)],
                Ok(level(Acr::TwoFactors, false)),
            ),
            (
                "the lowest of several",
                vec![("acr_values", "urn:tessera:acr:2fa urn:tessera:acr:1fa")],
                Ok(level(Acr::OneFactor, false)),
            ),
            (
                "unknown values ignored",
                vec![("acr_values", "urn:other:gold  0")],
                Ok(None),
            ),
            (
                "phishing-resistant",
                vec![("acr_values", "phr")],
                Ok(level(Acr::PhishingResistant, false)),
            ),
            (
                "essential value",
                vec![(
                    "claims",
                    r#"{"id_token":{"acr":{"essential":true,"value":"urn:tessera:acr:2fa"}}}"#,
                )],
                Ok(level(Acr::TwoFactors, true)),
            ),
            (
                "essential values, unknown ones ignored",
                vec![(
                    "claims",
                    r#"{"id_token":{"acr":{"essential":true,"values":["urn:other:gold","urn:tessera:acr:2fa"]}}}"#,
                )],
                Ok(level(Acr::TwoFactors, true)),
            ),
            (
                "voluntary claim",
                vec![(
                    "claims",
                    r#"{"id_token":{"acr":{"values":["urn:tessera:acr:2fa"]}}}"#,
                )],
                Ok(level(Acr::TwoFactors, false)),
            ),
            (
                "other members ignored",
                vec![(
                    "claims",
                    r#"{"userinfo":{"email":null},"id_token":{"email":{"essential":true},"acr":null},"x":1}"#,
                )],
                Ok(None),
            ),
            (
                "essential without values asks only for the claim",
                vec![("claims", r#"{"id_token":{"acr":{"essential":true}}}"#)],
                Ok(None),
            ),
            (
                "essential with only unknown values",
                vec![(
                    "claims",
                    r#"{"id_token":{"acr":{"essential":true,"values":["urn:other:gold"]}}}"#,
                )],
                Err(AcrError::UnmeetableEssential),
            ),
            (
                "claims essential, acr_values voluntary: the stricter at one level",
                vec![
                    ("acr_values", TWO),
                    (
                        "claims",
                        r#"{"id_token":{"acr":{"essential":true,"value":"urn:tessera:acr:2fa"}}}"#,
                    ),
                ],
                Ok(level(Acr::TwoFactors, true)),
            ),
            (
                "not JSON",
                vec![("claims", "{")],
                Err(AcrError::ClaimsNotAnObject),
            ),
            (
                "not an object",
                vec![("claims", "[]")],
                Err(AcrError::ClaimsNotAnObject),
            ),
            (
                "id_token not an object",
                vec![("claims", r#"{"id_token":5}"#)],
                Err(AcrError::IdTokenNotAnObject),
            ),
            (
                "acr a string",
                vec![("claims", r#"{"id_token":{"acr":"x"}}"#)],
                Err(AcrError::MalformedAcr),
            ),
            (
                "essential not a boolean",
                vec![("claims", r#"{"id_token":{"acr":{"essential":"yes"}}}"#)],
                Err(AcrError::MalformedAcr),
            ),
            (
                "values not strings",
                vec![("claims", r#"{"id_token":{"acr":{"values":[1]}}}"#)],
                Err(AcrError::MalformedAcr),
            ),
        ];
        for (name, pairs, want) in rows {
            assert_eq!(of(&pairs), want, "{name}");
        }
    }
}
