//! `tessera keys generate | public` (offline) and `tessera keys list |
//! rotate | revoke` (on the server's store).

use crate::audit::{self, Actor, AuditKind, Event};
use std::io::Write;

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use tessera_jwt::{Algorithm, Jwks, SigningKey};

use super::{input, Failure};

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a private signing key (kid = RFC 7638 thumbprint).
    Generate(GenerateArgs),
    /// Print the public JWKS of one or more private key files.
    Public(PublicArgs),
    /// List the server's signing keys and their state (uses --database).
    List(StoreArgs),
    /// Rotate the server's signing key: the new key is published now and
    /// signs in 6 minutes; the old one stays published for a day.
    Rotate(RotateArgs),
    /// Emergency: revoke a leaked signing key. It leaves the JWKS and stops
    /// signing, and introspection refuses what it signed, at once; if it was
    /// signing, a new key signs at once (no publish-ahead wait). Running
    /// nodes see it within a second (they poll the keys' state).
    Revoke(RevokeArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct RevokeArgs {
    /// The kid of the key to revoke (see `tessera keys list`). A kid is
    /// base64url and may start with `-`: it is taken as the kid all the same.
    #[arg(allow_hyphen_values = true)]
    kid: String,
    #[command(flatten)]
    config: super::serve::ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    #[command(flatten)]
    config: super::serve::ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    /// Algorithm of the key to rotate (default: the configured token_alg).
    #[arg(long)]
    alg: Option<Algorithm>,
    #[command(flatten)]
    config: super::serve::ConfigArgs,
}

/// How a private key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyFormat {
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    Pem,
    /// PKCS#8 DER (binary).
    Der,
    /// A private JWK (JSON), which also records `alg` and `kid`.
    Jwk,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// Algorithm the key is bound to: RS256, RS384, RS512, PS256, PS384,
    /// PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512.
    #[arg(long)]
    alg: Algorithm,
    /// RSA modulus size in bits (2048, 3072 or 4096).
    #[arg(long, default_value_t = 2048)]
    bits: usize,
    /// Write the key to this file (mode 0600) instead of standard output.
    #[arg(long)]
    out: Option<String>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
    /// Output format. Default: pem, except jwk for algorithms PKCS#8 cannot
    /// name (HS*, PS*, RS384, RS512), so the key stays bound to its algorithm.
    #[arg(long, value_enum)]
    format: Option<KeyFormat>,
    /// Key id to record (jwk format only; default: the RFC 7638 thumbprint).
    #[arg(long)]
    kid: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PublicArgs {
    /// Private key file (PEM, DER or private JWK); repeat for a set.
    #[arg(long, required = true)]
    key: Vec<String>,
    /// Algorithm for RSA PEM/DER keys, which do not record one (default RS256).
    #[arg(long)]
    alg: Option<Algorithm>,
}

pub(crate) fn run(cmd: KeysCommand) -> Result<(), Failure> {
    match cmd {
        KeysCommand::Generate(args) => generate(args),
        KeysCommand::Public(args) => public(args),
        KeysCommand::List(args) => server_keys(args.config, None, false),
        KeysCommand::Rotate(args) => server_keys(args.config, args.alg, true),
        KeysCommand::Revoke(args) => revoke(args),
    }
    .map_err(Failure::Usage)
}

/// `keys list` and `keys rotate`, on the server's store.
fn server_keys(config: super::serve::ConfigArgs, alg: Option<Algorithm>, rotate: bool) -> anyhow::Result<()> {
    use crate::store::{KeyStore, Store};
    let config = config.load(None, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open(&config.database).await?;
        let now = tessera_jwt::UnixTime::now().as_secs();
        if rotate {
            let master = crate::server::master_key(&config)?;
            let alg = match alg {
                Some(a) => a,
                None => config.algorithm()?,
            };
            let key = crate::keys::rotate(&store, &master, alg, now).await?;
            let event = Event::new(AuditKind::KeyRotated, now, Actor::Cli, "signing key rotated")
                .with("kid", key.kid.as_str())
                .with("alg", key.alg.as_str());
            audit::record(&store, event).await;
            eprintln!(
                "new {} key {} is published now and signs from {} ({} s from now)",
                key.alg,
                key.kid,
                key.activates_at,
                key.activates_at - now
            );
        }
        // Oldest first, revoked keys among the others.
        let mut keys: Vec<_> = store
            .keys()
            .await?
            .into_iter()
            .map(|k| {
                let state = match k.retired_at {
                    Some(r) if r <= now => {
                        if now < r + crate::keys::RETIRED_PUBLISHED_FOR {
                            "retired (still published)"
                        } else {
                            "retired"
                        }
                    }
                    _ if k.activates_at > now => "published, not yet signing",
                    _ => "signing",
                };
                serde_json::json!({"kid": k.kid, "alg": k.alg, "state": state, "created_at": k.created_at,
                                   "activates_at": k.activates_at, "retired_at": k.retired_at})
            })
            .chain(store.revoked_keys().await?.into_iter().map(|(k, revoked_at)| {
                serde_json::json!({"kid": k.kid, "alg": k.alg, "state": "revoked", "created_at": k.created_at,
                                   "activates_at": k.activates_at, "retired_at": k.retired_at,
                                   "revoked_at": revoked_at})
            }))
            .collect();
        keys.sort_by_key(|k| (k["created_at"].as_i64(), k["kid"].as_str().map(str::to_owned)));
        println!("{}", serde_json::to_string_pretty(&keys)?);
        Ok(())
    })
}

/// `keys revoke KID`: see [`crate::keys::revoke`]. Prints what it did on
/// stdout as JSON, a summary on stderr.
fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let config = args.config.load(None, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let done = runtime.block_on(async {
        let store = crate::store::Store::open(&config.database).await?;
        let master = crate::server::master_key(&config)?;
        let now = tessera_jwt::UnixTime::now().as_secs();
        let done = crate::keys::revoke(&store, &master, &args.kid, now).await?;
        let event = Event::new(AuditKind::KeyRevoked, now, Actor::Cli, "signing key revoked")
            .with("kid", done.key.kid.as_str())
            .with("alg", done.key.alg.as_str());
        audit::record(&store, event).await;
        anyhow::Ok(done)
    })?;
    let reload = crate::keys::CHECK_EVERY.as_secs();
    eprintln!(
        "revoked {} key {}: introspection refuses the tokens it signed from now on; \
         running servers drop it from their JWKS within {reload} s",
        done.key.alg, done.key.kid
    );
    if let Some(new) = &done.replacement {
        eprintln!(
            "new {} key {} signs in its place now (servers sign with it within {reload} s); \
             relying parties that cached the JWKS must fetch it again",
            new.alg, new.kid
        );
    }
    if done.rotation_cancelled {
        eprintln!(
            "it was not signing yet: the rotation it belonged to is cancelled and the current key signs on; \
             run `tessera keys rotate` again"
        );
    }
    let out = serde_json::json!({
        "revoked": done.key.kid,
        "alg": done.key.alg,
        "replacement": done.replacement.as_ref().map(|k| k.kid.as_str()),
        "rotation_cancelled": done.rotation_cancelled,
    });
    println!("{out}");
    Ok(())
}

/// Whether PKCS#8 alone determines the algorithm: the curve does for EC and
/// Ed25519 keys, and an RSA key loads as RS256 by default.
fn pkcs8_names(alg: Algorithm) -> bool {
    !alg.is_symmetric()
        && !matches!(
            alg,
            Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 | Algorithm::RS384 | Algorithm::RS512
        )
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let format = args.format.unwrap_or(if pkcs8_names(args.alg) {
        KeyFormat::Pem
    } else {
        KeyFormat::Jwk
    });
    if args.alg.is_symmetric() && format != KeyFormat::Jwk {
        bail!(
            "{} keys are secrets without a PKCS#8 form: use --format jwk",
            args.alg
        );
    }
    if args.kid.is_some() && format != KeyFormat::Jwk {
        bail!("--kid is recorded only in --format jwk (PEM and DER keys use the thumbprint)");
    }
    let key = match args.alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => SigningKey::generate_rsa(args.alg, args.bits)?,
        alg => SigningKey::generate(alg)?,
    };
    let key = match args.kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    };
    let bytes: zeroize::Zeroizing<Vec<u8>> = match format {
        KeyFormat::Pem => zeroize::Zeroizing::new(key.to_pkcs8_pem()?.as_bytes().to_vec()),
        KeyFormat::Der => key.to_pkcs8_der()?,
        KeyFormat::Jwk => {
            let mut json = serde_json::to_vec_pretty(&key.to_private_jwk()?)?;
            json.push(b'\n');
            zeroize::Zeroizing::new(json)
        }
    };
    match &args.out {
        Some(path) => {
            write_private(path, &bytes, args.force)?;
            eprintln!("wrote {} key {} to {path}", key.algorithm(), key.kid());
        }
        None => {
            if format == KeyFormat::Der {
                bail!("DER is binary: use --out FILE");
            }
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &str, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {path} (use --force to overwrite)"))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {path}"))?;
    Ok(())
}

/// Loads a private key file of any supported form.
pub(crate) fn load_signing_key(path: &str, alg: Option<Algorithm>) -> anyhow::Result<SigningKey> {
    let bytes = zeroize::Zeroizing::new(input::read_file(path)?);
    SigningKey::decode(&bytes, alg).with_context(|| format!("cannot load key {path}"))
}

fn public(args: PublicArgs) -> anyhow::Result<()> {
    let mut jwks = Jwks::default();
    for path in &args.key {
        let key = load_signing_key(path, args.alg)?;
        jwks.keys.push(
            key.public_jwk()
                .with_context(|| format!("{path}: no public form"))?,
        );
    }
    println!("{}", serde_json::to_string_pretty(&jwks)?);
    Ok(())
}
