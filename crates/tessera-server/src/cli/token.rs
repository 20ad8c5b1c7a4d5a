//! `tessera token sign | decode | verify`: an offline JWT tool that never
//! trusts the token it reads.

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::{Map, Value};
use tessera_jwt::{danger, Algorithm, Jwk, KeySet, Signer, UnixTime, Validation, VerifyingKey};

use super::{input, keys, Failure};

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Sign a claims set and print the compact JWT.
    Sign(SignArgs),
    /// Print a token's header and claims WITHOUT verifying anything.
    Decode(DecodeArgs),
    /// Verify a token against a JWKS; print its claims (exit 0) or why it
    /// was refused (exit 1).
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct SignArgs {
    /// Private key file (PEM, DER or private JWK).
    #[arg(long)]
    key: String,
    /// Algorithm for RSA PEM/DER keys, which do not record one (default RS256).
    #[arg(long)]
    alg: Option<Algorithm>,
    /// Claims as a JSON object, `@FILE`, or `-` for standard input.
    #[arg(long)]
    claims: String,
    /// The `typ` header, e.g. `at+jwt` for access tokens (RFC 9068).
    #[arg(long)]
    typ: Option<String>,
    /// Set `exp` this far from now (e.g. 90s, 15m, 12h, 7d) and `iat` to
    /// now unless the claims have one.
    #[arg(long, value_parser = parse_duration)]
    expires_in: Option<i64>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DecodeArgs {
    /// The token, or `-` to read it from standard input.
    token: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// JWKS file (`{"keys": [...]}`) or a single JWK; for HS* a JWK with `k`.
    #[arg(long)]
    jwks: String,
    /// Required issuer (`iss`), compared exactly.
    #[arg(long)]
    issuer: Option<String>,
    /// Accepted audience (`aud`); repeat to accept several. A token with
    /// `aud` is refused when none is given (RFC 7519 §4.1.3).
    #[arg(long)]
    audience: Vec<String>,
    /// Required `typ` header (e.g. `at+jwt`).
    #[arg(long)]
    typ: Option<String>,
    /// Allowed clock skew in seconds for exp/nbf/iat.
    #[arg(long, default_value_t = tessera_jwt::DEFAULT_LEEWAY_SECS)]
    leeway: u64,
    /// Claim that must be present; repeat for several.
    #[arg(long)]
    require: Vec<String>,
    /// The token, or `-` to read it from standard input.
    token: String,
}

pub(crate) fn run(cmd: TokenCommand) -> Result<(), Failure> {
    match cmd {
        TokenCommand::Sign(args) => sign(args).map_err(Failure::Usage),
        TokenCommand::Decode(args) => decode(args),
        TokenCommand::Verify(args) => verify(args),
    }
}

/// `90`, `90s`, `15m`, `12h`, `7d` as seconds.
fn parse_duration(s: &str) -> Result<i64, String> {
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 15m"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    n.checked_mul(scale).ok_or_else(|| format!("{s:?} is too long"))
}

fn sign(args: SignArgs) -> anyhow::Result<()> {
    let key = keys::load_signing_key(&args.key, args.alg)?;
    let text = input::inline_or_file(&args.claims)?;
    let mut claims: Map<String, Value> = match serde_json::from_str(&text).context("--claims is not JSON")? {
        Value::Object(map) => map,
        _ => bail!("--claims must be a JSON object"),
    };
    if let Some(secs) = args.expires_in {
        let now = UnixTime::now().as_secs();
        claims.insert("exp".into(), Value::from(now.saturating_add(secs)));
        claims.entry("iat").or_insert_with(|| Value::from(now));
    }
    let token = Signer::new(key, args.typ.as_deref()).sign(&claims)?;
    println!("{token}");
    Ok(())
}

fn decode(args: DecodeArgs) -> Result<(), Failure> {
    let token = input::arg_or_stdin(&args.token)?;
    let decoded =
        danger::decode_unverified(&token, tessera_jwt::DEFAULT_MAX_TOKEN_LEN).map_err(Failure::Refused)?;
    let out = serde_json::json!({
        "warning": "UNVERIFIED: the signature and claims were not checked; do not trust these values",
        "header": decoded.header,
        "claims": decoded.claims,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(anyhow::Error::from)?
    );
    Ok(())
}

/// Loads a JWKS document, or a single (public or secret) JWK.
fn load_keys(path: &str) -> anyhow::Result<KeySet> {
    let bytes = zeroize::Zeroizing::new(input::read_file(path)?);
    let value: Value = serde_json::from_slice(&bytes).with_context(|| format!("{path} is not JSON"))?;
    if value.get("keys").is_some() {
        return KeySet::from_jwks_json(&bytes).with_context(|| format!("{path}: invalid JWKS"));
    }
    let jwk: Jwk = serde_json::from_value(value).with_context(|| format!("{path}: not a JWK or JWKS"))?;
    let key = VerifyingKey::from_jwk(&jwk).with_context(|| format!("{path}: invalid JWK"))?;
    Ok(KeySet::new(vec![key])?)
}

fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let keys = load_keys(&args.jwks)?;
    if keys.keys().is_empty() {
        return Err(Failure::Usage(anyhow::anyhow!(
            "{}: no signature keys",
            args.jwks
        )));
    }
    let token = input::arg_or_stdin(&args.token)?;
    let mut validation = Validation::new().leeway(args.leeway);
    if let Some(issuer) = &args.issuer {
        validation = validation.issuer(issuer);
    }
    for audience in &args.audience {
        validation = validation.audience(audience);
    }
    if let Some(typ) = &args.typ {
        validation = validation.typ(typ);
    }
    for claim in &args.require {
        validation = validation.require(claim);
    }
    let verified = keys
        .verify::<Value>(&token, &validation, UnixTime::now())
        .map_err(Failure::Refused)?;
    println!("{}", verified.claims());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::parse_duration("90"), Ok(90));
        assert_eq!(super::parse_duration("15m"), Ok(900));
        assert_eq!(super::parse_duration("2h"), Ok(7200));
        assert_eq!(super::parse_duration("1d"), Ok(86_400));
        assert!(super::parse_duration("1w").is_err());
        assert!(super::parse_duration("m").is_err());
        assert!(super::parse_duration("99999999999999999999d").is_err());
    }
}
