//! # tessera-server
//!
//! The Tessera authorization server: library and the `tessera` binary.
//! So far the binary holds the offline key and token tools ([`cli`]); the
//! OAuth endpoints, store and UI arrive in their own modules (`oauth/`,
//! `store/`, `http/`, `ui/`) as described in the design document.

#![forbid(unsafe_code)]

pub mod cli;
pub mod client_addr;
pub mod config;
pub mod http;
pub mod keys;
pub mod listener;
pub mod oauth;
pub mod password;
pub mod random;
pub mod server;
pub mod store;
pub mod ui;
pub mod username;
