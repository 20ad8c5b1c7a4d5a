//! Feeds arbitrary bytes to the client ID metadata document parser, as the
//! document fetched from a fixed `client_id`, and the first line of them
//! as a `client_id` to check. Any panic is a bug; an accepted document
//! must describe the client whose URL it was fetched from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_server::clients::metadata_document::{check_client_id, parse};

const CLIENT_ID: &str = "https://app.example/oauth/client.json";

fuzz_target!(|data: &[u8]| {
    if let Ok(client) = parse(CLIENT_ID, data, 900, 0) {
        assert_eq!(client.id, CLIENT_ID);
        assert!(!client.first_party);
        assert!(!client.redirect_uris.is_empty());
    }
    if let Some(line) = data.split(|b| *b == b'\n').next() {
        if let Ok(id) = std::str::from_utf8(line) {
            if check_client_id(id).is_ok() {
                assert!(id.starts_with("https://") || id.starts_with("http://"));
                assert!(!id.contains('#'));
            }
        }
    }
});
