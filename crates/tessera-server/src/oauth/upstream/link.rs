//! What an upstream identity means locally: the linking rules, as a pure
//! function ([`decide`]), checked in this order:
//!
//! 1. **Linked.** (provider, subject) is linked to a user: that user signs
//!    in. Identities are keyed by the provider's stable subject, never by
//!    email or username, which the person (or the next owner of a freed
//!    name) can change upstream.
//! 2. **Email of a local user.** A local user has the email the provider
//!    gives (compared without ASCII case):
//!    - the provider is `trust_email` *and* asserts the address verified:
//!      the identity is linked to that user;
//!    - otherwise it is never linked silently: the person proves the local
//!      account with its password, or (when `create_users`) takes a new
//!      account without that email ([`Linking::Prove`]).
//! 3. **New.** `create_users`: a new local user, its username from the
//!    provider's (de-duplicated), `email_verified` only as the provider
//!    asserts it.
//! 4. Otherwise no account: refused.
//!
//! Roles named in `role_map` are managed by the provider: at every sign-in
//! they are set from the groups it asserts ([`roles_after`]); other local
//! roles are left alone.

use std::collections::BTreeMap;

use super::Profile;
use crate::store::User;

/// What to do with an upstream identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linking {
    /// 1: sign in as this user.
    Linked(String),
    /// 2, trusted and verified: link to this user, then sign in.
    LinkByEmail(String),
    /// 2, otherwise: the person proves this user's password to link, or
    /// takes a new account (`may_create`).
    Prove {
        /// The local user with the email.
        user_id: String,
        /// Whether a new account may be made instead.
        may_create: bool,
    },
    /// 3: a new user.
    Create,
    /// 4: no account, and none may be made.
    NoAccount,
}

/// The provider's rules that linking reads.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// `create_users`.
    pub create_users: bool,
    /// `trust_email`.
    pub trust_email: bool,
}

/// The decision for `profile`: `linked` is the user already linked to it,
/// `same_email` the local user with its email.
pub fn decide(linked: Option<&str>, same_email: Option<&User>, profile: &Profile, rules: Rules) -> Linking {
    // 1.
    if let Some(user_id) = linked {
        return Linking::Linked(user_id.to_owned());
    }
    // 2.
    if let Some(user) = same_email.filter(|_| profile.email.is_some()) {
        return if rules.trust_email && profile.email_verified {
            Linking::LinkByEmail(user.id.clone())
        } else {
            Linking::Prove {
                user_id: user.id.clone(),
                may_create: rules.create_users,
            }
        };
    }
    // 3, 4.
    if rules.create_users {
        Linking::Create
    } else {
        Linking::NoAccount
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
            password_hash: String::new(),
            created_at: 0,
            failed_logins: 0,
            locked_until: None,
            disabled_at: None,
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
        let open = Rules {
            create_users: true,
            trust_email: false,
        };
        let trusting = Rules {
            create_users: true,
            trust_email: true,
        };
        let closed = Rules {
            create_users: false,
            trust_email: false,
        };
        let mail = Some("ann@example.com");
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
                "trusted and verified email links",
                None,
                Some(&ann),
                profile(mail, true),
                trusting,
                Linking::LinkByEmail("ann".into()),
            ),
            (
                "trusted but unverified must prove",
                None,
                Some(&ann),
                profile(mail, false),
                trusting,
                Linking::Prove {
                    user_id: "ann".into(),
                    may_create: true,
                },
            ),
            (
                "verified but not trusted must prove",
                None,
                Some(&ann),
                profile(mail, true),
                open,
                Linking::Prove {
                    user_id: "ann".into(),
                    may_create: true,
                },
            ),
            (
                "must prove, no new accounts",
                None,
                Some(&ann),
                profile(mail, true),
                closed,
                Linking::Prove {
                    user_id: "ann".into(),
                    may_create: false,
                },
            ),
            (
                "new person is created",
                None,
                None,
                profile(Some("new@example.com"), true),
                open,
                Linking::Create,
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
