//! Device cookies: a browser that has signed in to an account before is
//! not locked out of it by strangers' failures.
//!
//! The account lock ([`super::guard`]) stops online guessing, but anyone
//! who knows a username can keep it locked (five wrong guesses every five
//! minutes) and so refuse its owner: a lock by trickle. OWASP's answer
//! ("Blocking Brute Force Attacks", *device cookies*; Authentication Cheat
//! Sheet, "Account Lockout": lockout "can be abused to lock users out"): a
//! browser that signed in to an account successfully gets a cookie signed
//! by the server for that account, and an attempt carrying a valid one is
//! counted on its own, per account *and* device, rather than against the
//! lock strangers share.
//!
//! - The cookie is `DEVICE_ID.ISSUED_AT.TAG`: a random 128-bit device id,
//!   the time it was issued, and HMAC-SHA256 over both and the account's
//!   user id (aws-lc-rs), with a key derived from the master key
//!   ([`crate::keys::MasterKey::device_cookie_key`]), so every node knows
//!   the same devices. It names no account: it is checked against the
//!   account the form names, and another account's cookie, a forged one or
//!   an expired one counts for nothing.
//! - A device has its own small budget: [`DEVICE_FAILURES`] attempts
//!   without success per [`guard::WINDOW_SECS`](super::guard::WINDOW_SECS),
//!   reserved before the hash like every other count, so a stolen device
//!   cookie is worth a few guesses, no more. Past it the device is a
//!   stranger again.
//! - A fresh cookie (new id, new time) replaces it at every password
//!   sign-in, on the login page and at `POST /api/v1/login`; it lives
//!   [`DEVICE_TTL`].
//! - The token endpoint's password grant carries no cookie: it keeps the
//!   plain lock.

use aws_lc_rs::hmac;
use base64::Engine;

/// How long a device cookie is good for, in seconds (180 days): the
/// browser is known as long as its owner keeps signing in from it.
pub const DEVICE_TTL: i64 = 180 * 24 * 3600;

/// Attempts without success a known device may make per window before it
/// counts as a stranger.
pub const DEVICE_FAILURES: i64 = 5;

/// A device id's length in base64url characters (16 random bytes).
const ID_LEN: usize = 22;

/// The key that signs and checks device cookies.
pub struct DeviceKey(hmac::Key);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey([redacted])")
    }
}

/// A device the server recognised for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device(String);

impl Device {
    /// The bucket its budget is counted in, per account and device.
    pub fn bucket(&self, user_id: &str) -> String {
        format!("device:{user_id}:{}", self.0)
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn signed(user_id: &str, device: &str, issued_at: i64) -> Vec<u8> {
    format!("tessera-device\0{user_id}\0{device}\0{issued_at}").into_bytes()
}

impl DeviceKey {
    /// A key of its own: a server built without a master key (cookies
    /// are recognised by this process only).
    pub fn random() -> Option<DeviceKey> {
        hmac::Key::generate(hmac::HMAC_SHA256, &aws_lc_rs::rand::SystemRandom::new())
            .ok()
            .map(DeviceKey)
    }

    /// The key derived from the master key.
    pub fn new(key: hmac::Key) -> DeviceKey {
        DeviceKey(key)
    }

    /// A new cookie value for a browser that just signed in to `user_id`
    /// with its password (`None`: no randomness).
    pub fn issue(&self, user_id: &str, now: i64) -> Option<String> {
        let device = crate::random::base64url(16)?;
        let tag = hmac::sign(&self.0, &signed(user_id, &device, now));
        Some(format!("{device}.{now}.{}", b64().encode(tag.as_ref())))
    }

    /// The device, if `cookie` was issued by this server for `user_id`
    /// and has not expired. The tag is checked in constant time.
    pub fn recognise(&self, cookie: &str, user_id: &str, now: i64) -> Option<Device> {
        let mut parts = cookie.split('.');
        let (Some(device), Some(issued_at), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let issued: i64 = issued_at.parse().ok()?;
        if device.len() != ID_LEN || issued.to_string() != issued_at {
            return None;
        }
        // Issued in the future (beyond a minute of clock skew between
        // nodes) or too long ago: not a device any more.
        if issued > now + 60 || now >= issued.saturating_add(DEVICE_TTL) {
            return None;
        }
        let tag = b64().decode(tag).ok()?;
        hmac::verify(&self.0, &signed(user_id, device, issued), &tag).ok()?;
        Some(Device(device.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_good_for_its_account_and_its_lifetime_only() {
        let key = DeviceKey::random().unwrap();
        let cookie = key.issue("u-ann", 1_000).unwrap();
        let device = key.recognise(&cookie, "u-ann", 1_000).unwrap();
        assert_eq!(
            key.recognise(&cookie, "u-ann", 1_000 + DEVICE_TTL - 1),
            Some(device.clone())
        );
        assert!(device.bucket("u-ann").starts_with("device:u-ann:"));
        assert_eq!(key.recognise(&cookie, "u-bob", 1_000), None, "another account");
        assert_eq!(
            key.recognise(&cookie, "u-ann", 1_000 + DEVICE_TTL),
            None,
            "expired"
        );
        assert_eq!(key.recognise(&cookie, "u-ann", 900), None, "from the future");
        let other = DeviceKey::random().unwrap();
        assert_eq!(
            other.recognise(&cookie, "u-ann", 1_000),
            None,
            "another server's key"
        );
        // Any change to the id, the time or the tag.
        let (id, rest) = cookie.split_once('.').unwrap();
        let (_, tag) = rest.split_once('.').unwrap();
        let swapped = match id.strip_prefix('A') {
            Some(rest) => format!("B{rest}"),
            None => format!("A{}", &id[1..]),
        };
        for forged in [
            format!("{swapped}.1000.{tag}"),
            format!("{id}.1001.{tag}"),
            format!("{id}.01000.{tag}"),
            format!("{id}.1000.{}", &tag[1..]),
            format!("{cookie}.x"),
            String::new(),
            "..".into(),
        ] {
            assert_eq!(key.recognise(&forged, "u-ann", 1_000), None, "{forged}");
        }
    }
}
