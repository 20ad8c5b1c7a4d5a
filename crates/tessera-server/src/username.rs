//! Usernames: one spelling per name, and no name that looks like another.
//!
//! A username is prepared as [RFC 8265 §3.3] (PRECIS `UsernameCaseMapped`)
//! does: compatibility (NFKC) normalisation, which maps full-width and
//! other compatibility forms to their plain letters, then lowercase
//! (Unicode default case conversion), then NFKC again. `Alice`, `ALICE`
//! and `ａｌｉｃｅ` are one user, whoever types which.
//!
//! A new username must then be:
//!
//! - 1 to 64 characters, with no spaces, controls or invisible
//!   (default-ignorable) characters;
//! - made of characters [UTS #39 §3.1] allows in identifiers (letters and
//!   digits of scripts in common use), plus `.`, `_`, `-`, `@` and `+` so
//!   email-like names work;
//! - of a single script ([UTS #39 §5.1]), so `pаypal` with a Cyrillic
//!   `а` is refused;
//! - not *confusable* with an existing one: its [UTS #39 §4] skeleton is
//!   stored (`username_key`, unique), so `раура` in Cyrillic cannot be
//!   registered next to a Latin `paypa`.
//!
//! [RFC 8265 §3.3]: https://www.rfc-editor.org/rfc/rfc8265#section-3.3
//! [UTS #39 §3.1]: https://www.unicode.org/reports/tr39/#General_Security_Profile
//! [UTS #39 §4]: https://www.unicode.org/reports/tr39/#Confusable_Detection
//! [UTS #39 §5.1]: https://www.unicode.org/reports/tr39/#Mixed_Script_Detection

use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, MixedScript};

/// The longest username, in characters.
pub const MAX_CHARS: usize = 64;

/// Why a username is refused, in words for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty or over [`MAX_CHARS`].
    #[error("use 1 to 64 characters")]
    Length,
    /// Spaces, controls, invisible or symbol characters.
    #[error("use letters, digits and . _ - @ + only")]
    Characters,
    /// Letters of more than one script.
    #[error("use letters of one script (for example not Latin and Cyrillic mixed)")]
    MixedScript,
}

impl UsernameError {
    /// The rule, as fixed text.
    pub fn message(self) -> &'static str {
        match self {
            UsernameError::Length => "username: use 1 to 64 characters",
            UsernameError::Characters => "username: use letters, digits and . _ - @ + only",
            UsernameError::MixedScript => "username: use letters of one script",
        }
    }
}

/// The username as stored and looked up: NFKC, lowercased, NFKC.
/// Never refuses; logins go through this too.
pub fn normalize(name: &str) -> String {
    let mapped: String = name.trim().nfkc().flat_map(char::to_lowercase).collect();
    let prepared: String = mapped.nfkc().collect();
    // Some compatibility characters decompose to a space first (`¨` is
    // " ̈"): trimmed again, so preparing twice changes nothing.
    prepared.trim().to_owned()
}

/// A new username, normalised and checked.
pub fn new_username(name: &str) -> Result<String, UsernameError> {
    let name = normalize(name);
    let count = name.chars().count();
    if count == 0 || count > MAX_CHARS {
        return Err(UsernameError::Length);
    }
    let allowed = |c: char| c.identifier_allowed() || matches!(c, '.' | '_' | '-' | '@' | '+');
    if !name.chars().all(allowed) {
        return Err(UsernameError::Characters);
    }
    if !name.is_single_script() {
        return Err(UsernameError::MixedScript);
    }
    Ok(name)
}

/// The UTS #39 skeleton of a (normalised) username: two names with the
/// same skeleton look alike, so only one of them may exist.
pub fn skeleton(name: &str) -> String {
    unicode_security::skeleton(name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_name() {
        assert_eq!(normalize("Alice"), "alice");
        assert_eq!(normalize("ＡＬＩＣＥ"), "alice", "full-width forms");
        assert_eq!(normalize("Ǆemal"), "džemal", "compatibility digraph");
        for tricky in ["\u{a8}x", "x\u{a8}", " ＡＢ ", "\u{130}"] {
            let once = normalize(tricky);
            assert_eq!(normalize(&once), once, "idempotent: {tricky:?}");
        }
        assert_eq!(new_username(" Bob ").unwrap(), "bob");
        assert_eq!(
            new_username("ann.lee+work@example.com").unwrap(),
            "ann.lee+work@example.com"
        );
        assert_eq!(
            new_username("Σοφία").unwrap(),
            "σοφία",
            "other scripts are welcome"
        );
        assert_eq!(new_username("山田").unwrap(), "山田");
    }

    #[test]
    fn refused() {
        assert_eq!(new_username(""), Err(UsernameError::Length));
        assert_eq!(new_username(&"a".repeat(65)), Err(UsernameError::Length));
        assert_eq!(new_username("a b"), Err(UsernameError::Characters));
        assert_eq!(
            new_username("a\u{200b}b"),
            Err(UsernameError::Characters),
            "zero-width space"
        );
        assert_eq!(
            new_username("a\u{202e}b"),
            Err(UsernameError::Characters),
            "bidi override"
        );
        assert_eq!(new_username("a<b"), Err(UsernameError::Characters));
        assert_eq!(
            new_username("p\u{430}ypal"),
            Err(UsernameError::MixedScript),
            "Cyrillic а in Latin"
        );
    }

    #[test]
    fn lookalikes_share_a_skeleton() {
        let latin = new_username("paypa").unwrap();
        let cyrillic = new_username("\u{440}\u{430}\u{443}\u{440}\u{430}").unwrap();
        assert_ne!(latin, cyrillic);
        assert_eq!(skeleton(&latin), skeleton(&cyrillic));
        assert_ne!(skeleton("alice"), skeleton("alicia"));
    }
}
