//! What an upstream identity means locally: the linking rules, as a pure
//! function ([`decide`]), checked in this order:
//!
//! 1. **Linked.** (provider, subject) is linked to a user: that user signs
//!    in. Identities are keyed by the provider's stable subject, never by
//!    email or username, which the person (or the next owner of a freed
//!    name) can change upstream.
//! 2. **No email.** Nothing to match: a new local user when
//!    `create_users`, else no account.
//! 3. **A trusted email.** The provider is `trust_email` *and* asserts the
//!    address verified: the identity is linked at once to the local user
//!    with that email, but only if that user's own email is verified too
//!    ([`Linking::LinkByEmail`]); with no such user, a new one
//!    ([`Linking::Create`], the email stored verified).
//! 4. **Otherwise the person chooses** ([`Linking::Choose`]): sign in to an
//!    existing account here with its password (which links the identity to
//!    it), or, when `create_users`, take a new account.
//!
//! Why a local email must be verified before anything links to it: an
//! unverified one is only what somebody typed (self-registration) or what
//! a provider we do not trust said. Linking to it would let an attacker
//! register the victim's address first and receive the victim's first
//! federated sign-in (account pre-hijacking: Sudhodanan and Paverd, "Pre-
//! hijacked accounts", USENIX Security 2022; OWASP ASVS V2.5). So an
//! account made from an email that is not both trusted and verified
//! stores it unverified ([`email_of_new_user`]).
//!
//! Why rule 4 does not look at the local users' emails at all: a page
//! shown only when an address is taken tells anyone with an upstream
//! account which addresses have accounts here. Every first sign-in with an
//! untrusted email sees the same page, naming the upstream account it
//! would link (so a person whose browser was signed in to the provider as
//! someone else, a login CSRF there, sees whose account it is before
//! proving their own).
//!
//! Roles named in `role_map` are managed by the provider: at every sign-in
//! of a *linked* identity they are set from the groups it asserts
//! ([`roles_after`]); other local roles are left alone.

use std::collections::BTreeMap;

use super::Profile;
use crate::store::User;

/// What to do with an upstream identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linking {
    /// 1: sign in as this user.
    Linked(String),
    /// 3: link to this user (whose verified email the trusted provider
    /// asserts verified), then sign in.
    LinkByEmail(String),
    /// 2, 3: a new user.
    Create,
    /// 2, without `create_users`: no account, and none may be made.
    NoAccount,
    /// 4: the person proves an existing account to link, or takes a new
    /// one (`may_create`).
    Choose {
        /// Whether a new account may be made.
        may_create: bool,
    },
}

/// The provider's rules that linking reads.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// `create_users`.
    pub create_users: bool,
    /// `trust_email`.
    pub trust_email: bool,
}

impl Rules {
    /// Whether `profile`'s email is one this server takes as the person's:
    /// the provider is trusted for emails and says it verified this one.
    pub fn trusts_email_of(self, profile: &Profile) -> bool {
        self.trust_email && profile.email_verified && profile.email.is_some()
    }
}

/// The decision for `profile`: `linked` is the user already linked to it,
/// `same_email` the local user with its email (looked at only for a
/// trusted email).
pub fn decide(linked: Option<&str>, same_email: Option<&User>, profile: &Profile, rules: Rules) -> Linking {
    // 1.
    if let Some(user_id) = linked {
        return Linking::Linked(user_id.to_owned());
    }
    // 2.
    if profile.email.is_none() {
        return match rules.create_users {
            true => Linking::Create,
            false => Linking::NoAccount,
        };
    }
    // 3.
    if rules.trusts_email_of(profile) {
        match same_email {
            Some(user) if user.email_verified => return Linking::LinkByEmail(user.id.clone()),
            None if rules.create_users => return Linking::Create,
            // Taken by an account that never proved it: not linked, and
            // not copied to a new account (the address is unique here).
            _ => {}
        }
    }
    // 4.
    Linking::Choose {
        may_create: rules.create_users,
    }
}

/// The email of a new user made from `profile`, and whether it counts as
/// verified: verified only when the provider is `trust_email` and asserts
/// it; `None` when the address is `taken` by another local account.
pub fn email_of_new_user(profile: &Profile, rules: Rules, taken: bool) -> (Option<String>, bool) {
    match &profile.email {
        Some(email) if !taken => (Some(email.clone()), rules.trusts_email_of(profile)),
        _ => (None, false),
    }
}

/// The user's roles after a sign-in asserting `groups`: the roles
/// `role_map` manages are replaced by those the groups map to.
pub fn roles_after(
    current: &[String],
    role_map: &BTreeMap<String, Vec<String>>,
    groups: &[String],
) -> Vec<String> {
    let managed = |r: &String| role_map.values().flatten().any(|m| m == r);
    let mut roles: Vec<String> = current.iter().filter(|r| !managed(r)).cloned().collect();
    for group in groups {
        for role in role_map.get(group).into_iter().flatten() {
            if !roles.contains(role) {
                roles.push(role.clone());
            }
        }
    }
    roles
}

/// Usernames to try for a new user, best first: the provider's username,
/// else the email's local part, else `user`, prepared as a username is
/// (RFC 8265, UTS #39); then with `-2` … `-9`. The caller adds a random
/// suffix if all are taken.
pub fn usernames(profile: &Profile) -> Vec<String> {
    let wanted = profile
        .username
        .clone()
        .or_else(|| {
            profile
                .email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let base = crate::username::new_username(&wanted)
        .ok()
        .filter(|b| b.chars().count() <= 40)
        .unwrap_or_else(|| "user".to_owned());
    std::iter::once(base.clone())
        .chain((2..=9).map(|n| format!("{base}-{n}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> User {
        User {
            id: id.into(),
            username: id.into(),
            email: Some(format!("{id}@example.com")),
            email_verified: true,
            name: None,
            roles: vec![],
            credentials: vec![],
            created_at: 0,
            failed_logins: 0,
            locked_until: None,
            disabled_at: None,
            require_mfa: false,
        }
    }

    fn profile(email: Option<&str>, verified: bool) -> Profile {
        Profile {
            subject: "42".into(),
            email: email.map(str::to_owned),
            email_verified: verified,
            ..Profile::default()
        }
    }

    /// The linking rules, row by row.
    #[test]
    fn linking_rules() {
        let ann = user("ann");
        let squatter = User {
            email_verified: false,
            ..user("squatter")
        };
        let open = Rules {
            create_users: true,
            trust_email: false,
        };
        let trusting = Rules {
            create_users: true,
            trust_email: true,
        };
        let trusting_closed = Rules {
            create_users: false,
            trust_email: true,
        };
        let closed = Rules {
            create_users: false,
            trust_email: false,
        };
        let mail = Some("ann@example.com");
        let choose = Linking::Choose { may_create: true };
        let prove_only = Linking::Choose { may_create: false };
        // (name, linked user, local user with the email, profile, rules, decision)
        type Row<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a User>,
            Profile,
            Rules,
            Linking,
        );
        let table: Vec<Row> = vec![
            (
                "linked wins over everything",
                Some("bob"),
                Some(&ann),
                profile(mail, true),
                trusting,
                Linking::Linked("bob".into()),
            ),
            (
                "trusted and verified email links to a verified local email",
                None,
                Some(&ann),
                profile(mail, true),
                trusting,
                Linking::LinkByEmail("ann".into()),
            ),
            (
                "pre-hijacking: never to a local email nobody verified",
                None,
                Some(&squatter),
                profile(mail, true),
                trusting,
                choose.clone(),
            ),
            (
                "trusted and verified, nobody has it: created",
                None,
                None,
                profile(mail, true),
                trusting,
                Linking::Create,
            ),
            (
                "trusted and verified, nobody has it, closed: prove only",
                None,
                None,
                profile(mail, true),
                trusting_closed,
                prove_only.clone(),
            ),
            (
                "trusted but unverified: the person chooses",
                None,
                Some(&ann),
                profile(mail, false),
                trusting,
                choose.clone(),
            ),
            (
                "verified but not trusted: the person chooses",
                None,
                Some(&ann),
                profile(mail, true),
                open,
                choose.clone(),
            ),
            (
                "not trusted, nobody has it: the same choice (no oracle)",
                None,
                None,
                profile(Some("new@example.com"), true),
                open,
                choose,
            ),
            (
                "not trusted, closed: prove only",
                None,
                Some(&ann),
                profile(mail, true),
                closed,
                prove_only,
            ),
            (
                "no email is created",
                None,
                None,
                profile(None, false),
                open,
                Linking::Create,
            ),
            (
                "no account without create_users",
                None,
                None,
                profile(None, false),
                closed,
                Linking::NoAccount,
            ),
        ];
        for (name, linked, same, p, rules, want) in table {
            assert_eq!(decide(linked, same, &p, rules), want, "{name}");
        }
    }

    /// A new account's email counts as verified only on a trusted
    /// provider's verified word, and is left out when another account has
    /// it.
    #[test]
    fn a_new_users_email() {
        let trusting = Rules {
            create_users: true,
            trust_email: true,
        };
        let open = Rules {
            create_users: true,
            trust_email: false,
        };
        let mail = Some("ann@example.com");
        let ann = || Some("ann@example.com".to_owned());
        assert_eq!(
            email_of_new_user(&profile(mail, true), trusting, false),
            (ann(), true)
        );
        assert_eq!(
            email_of_new_user(&profile(mail, false), trusting, false),
            (ann(), false)
        );
        assert_eq!(
            email_of_new_user(&profile(mail, true), open, false),
            (ann(), false)
        );
        assert_eq!(
            email_of_new_user(&profile(mail, true), trusting, true),
            (None, false)
        );
        assert_eq!(
            email_of_new_user(&profile(None, false), open, false),
            (None, false)
        );
    }

    #[test]
    fn mapped_roles_follow_the_groups() {
        let map: BTreeMap<String, Vec<String>> = [
            ("admins".to_owned(), vec!["admin".to_owned()]),
            (
                "staff".to_owned(),
                vec!["tasks:write".to_owned(), "reader".to_owned()],
            ),
        ]
        .into();
        let current = vec!["admin".to_owned(), "local-only".to_owned()];
        assert_eq!(
            roles_after(&current, &map, &["staff".to_owned()]),
            ["local-only", "tasks:write", "reader"],
            "admin is managed and no longer asserted; local-only is not managed"
        );
        assert_eq!(roles_after(&current, &map, &[]), ["local-only"]);
    }

    #[test]
    fn usernames_come_from_the_provider_prepared() {
        let p = Profile {
            username: Some("Octo.Cat".into()),
            ..Profile::default()
        };
        let names = usernames(&p);
        assert_eq!(names[0], "octo.cat");
        assert_eq!(names[1], "octo.cat-2");
        let from_email = Profile {
            email: Some("Jane@example.com".into()),
            ..Profile::default()
        };
        assert_eq!(usernames(&from_email)[0], "jane");
        let mixed = Profile {
            username: Some("pаypal".into()), // Cyrillic а: mixed scripts
            ..Profile::default()
        };
        assert_eq!(usernames(&mixed)[0], "user");
    }
}
