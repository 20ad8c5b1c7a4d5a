//! One module per grant type, each read top to bottom in the order its
//! RFC section lists the checks.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;

pub use crate::domain::GrantType;
