//! Recovery codes: ten single-use codes a person keeps on paper for the
//! day their authenticator is gone, accepted wherever a second factor is
//! asked.
//!
//! - A code is 50 random bits (aws-lc-rs's system RNG) written as ten
//!   characters of [Crockford's base32] in two groups, `xxxxx-xxxxx`.
//! - Typed input is forgiving as Crockford's decoding is: case does not
//!   matter, `I` and `L` read as `1`, `O` as `0`, and hyphens and spaces
//!   are optional ([`normalize`]).
//! - Only HMAC-SHA-256 of the user id and the normalised code is stored,
//!   under a key derived from the master key
//!   ([`crate::keys::MasterKey::recovery_code_key`]): a database dump
//!   alone gives no code, and 50 bits are out of reach of online guessing
//!   behind the login guard.
//! - Using a code deletes its row in one statement, so of two racing uses
//!   exactly one wins (`store::FactorStore::consume_recovery_code`).
//!
//! [Crockford's base32]: https://www.crockford.com/base32.html

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

/// How many codes a set has.
pub const COUNT: usize = 10;

/// Crockford's alphabet: digits and letters without I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a code, without the hyphen (10 x 5 = 50 bits).
const LEN: usize = 10;

/// A new code, `xxxxx-xxxxx` in lowercase (`None` only if the system RNG
/// fails).
pub fn generate() -> Option<Zeroizing<String>> {
    let mut raw = Zeroizing::new([0u8; 8]);
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), raw.as_mut()).ok()?;
    let value = u64::from_be_bytes(*raw) >> 14; // the top 50 bits
    let mut out = Zeroizing::new(String::with_capacity(LEN + 1));
    for i in (0..LEN).rev() {
        let symbol = ALPHABET.get(((value >> (5 * i)) & 31) as usize).copied()?;
        out.push(char::from(symbol.to_ascii_lowercase()));
        if i == LEN / 2 {
            out.push('-');
        }
    }
    Some(out)
}

/// A set of [`COUNT`] new codes.
pub fn generate_set() -> Option<Vec<Zeroizing<String>>> {
    (0..COUNT).map(|_| generate()).collect()
}

/// The canonical form of typed input (ten uppercase Crockford symbols),
/// or `None` if it cannot be a code: case folded, `I`/`L` -> `1`,
/// `O` -> `0`, hyphens and spaces dropped.
pub fn normalize(input: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(LEN));
    for c in input.trim().chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if out.len() == LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == LEN).then_some(out)
}

/// What is stored for `user_id`'s code (already [`normalize`]d):
/// HMAC-SHA-256 over a label, the user id and the code, so a stored hash
/// is worth nothing for another account.
pub fn hash(key: &hmac::Key, user_id: &str, normalized: &str) -> Vec<u8> {
    let message = Zeroizing::new(format!("tessera-recovery\0{user_id}\0{normalized}"));
    hmac::sign(key, message.as_bytes()).as_ref().to_vec()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_two_groups_of_five_crockford_symbols_and_differ() {
        let set = generate_set().unwrap();
        assert_eq!(set.len(), COUNT);
        for code in &set {
            assert_eq!(code.len(), 11, "{}", code.as_str());
            assert_eq!(&code[5..6], "-");
            assert!(code
                .chars()
                .filter(|&c| c != '-')
                .all(|c| ALPHABET.contains(&(c.to_ascii_uppercase() as u8))));
            assert_eq!(
                normalize(code).unwrap().as_str(),
                code.replace('-', "").to_uppercase()
            );
        }
        let distinct: std::collections::HashSet<_> = set.iter().map(|c| c.as_str().to_owned()).collect();
        assert_eq!(distinct.len(), COUNT);
    }

    #[test]
    fn input_is_normalised_the_crockford_way() {
        for input in [
            "abcde-12345",
            "ABCDE12345",
            " abcde 12345 ",
            "abcde-1234-5",
            "AbCdE-i2345",
            "abcde-l2345",
        ] {
            assert_eq!(normalize(input).unwrap().as_str(), "ABCDE12345", "{input:?}");
        }
        assert_eq!(normalize("0o0o0-00000").unwrap().as_str(), "0000000000");
        for bad in [
            "",
            "abcde-1234",
            "abcde-123456",
            "abcde-1234u",
            "abcde_12345",
            "abcdé-12345",
        ] {
            assert!(normalize(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_hash_is_keyed_and_bound_to_the_user() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).unwrap();
        let other = hmac::Key::generate(hmac::HMAC_SHA256, &rng).unwrap();
        let h = hash(&key, "u1", "ABCDE12345");
        assert_eq!(h.len(), 32);
        assert_eq!(h, hash(&key, "u1", "ABCDE12345"));
        assert_ne!(h, hash(&key, "u2", "ABCDE12345"));
        assert_ne!(h, hash(&key, "u1", "ABCDE12346"));
        assert_ne!(h, hash(&other, "u1", "ABCDE12345"));
    }
}
