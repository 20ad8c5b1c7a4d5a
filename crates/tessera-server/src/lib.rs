//! # tessera-server
//!
//! The Tessera authorization server: library and the `tessera` binary.
//! Vocabulary and entities live in [`domain`], client registration and
//! authentication in [`clients`], protocol rules in [`oauth`] (no HTTP
//! types), storage in [`store`] (SQLite or PostgreSQL), the thin HTTP
//! layer in [`http`], pages in [`ui`], the person's own page in [`account`], and the commands in
//! [`cli`]. ARCHITECTURE.md walks a token
//! request and a browser sign-in through them file by file.

#![forbid(unsafe_code)]

pub mod account;
pub mod admin;
pub mod audit;
pub mod cli;
pub mod client_addr;
pub mod clients;
pub mod config;
pub mod console;
pub mod domain;
#[cfg(test)]
mod fixtures;
pub mod health;
pub mod http;
pub mod identity;
pub mod keys;
pub mod listener;
pub mod mail;
pub mod oauth;
pub mod own_client;
pub mod password;
pub mod random;
pub mod server;
pub mod store;
pub mod ui;
pub mod username;
