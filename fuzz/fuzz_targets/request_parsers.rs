//! Feeds arbitrary bytes to the server's request parsers: the form and
//! query parser every endpoint uses (repeated parameters, empty values,
//! invalid UTF-8), the scope parser and narrowing, the forwarding
//! headers behind trusted proxies (RFC 7239), and username preparation.
//! Any panic is a bug; the invariants checked below are the parsers'
//! promises.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use tessera_server::client_addr::{client_ip, Cidr, ForwardedHeader};
use tessera_server::oauth::{Params, Scope};

fuzz_target!(|data: &[u8]| {
    // Forms and queries.
    if let Ok(params) = Params::parse(data) {
        for name in ["grant_type", "scope", "client_id", "code", "redirect_uri"] {
            if let Some(value) = params.get(name) {
                assert!(!value.is_empty(), "empty values count as absent");
            }
        }
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Scope.
    let allowed = Scope::from_tokens(Scope::from_stored(text).tokens().take(8));
    if let Ok(requested) = Scope::parse(text) {
        // A parsed scope prints as it parses, with each token once.
        assert_eq!(Scope::parse(requested.as_str()).as_ref(), Ok(&requested));
        if let Some(granted) = allowed.narrow(Some(&requested)) {
            assert!(allowed.covers(&granted) && granted == requested);
        }
    }
    // Forwarding headers: the answer is the peer or an address from the
    // header, never a panic.
    let peer: IpAddr = [10, 0, 0, 1].into();
    let proxies: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!())];
    let values: Vec<&str> = text.split('\n').collect();
    for header in [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded, ForwardedHeader::XRealIp] {
        let _ = client_ip(peer, header, &values, &proxies);
    }
    let _ = text.parse::<ForwardedHeader>();
    let _ = text.parse::<Cidr>();
    // Usernames: preparation is idempotent.
    let once = tessera_server::username::normalize(text);
    assert_eq!(tessera_server::username::normalize(&once), once);
    let _ = tessera_server::username::new_username(text);
});
