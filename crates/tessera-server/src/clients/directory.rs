//! Where a client is found: the store first (registered by the operator
//! or at the registration endpoint); then, when `client_metadata_documents`
//! is on and the `client_id` is a URL, its metadata document
//! ([`super::metadata_document`]). Also the keys clients publish at a
//! `jwks_uri` ([`super::jwks_uri`]). Both fetch through one
//! [`Outbound`] fetcher.
//!
//! Every place that looks a client up by the `client_id` a request names
//! (`/authorize`, `/par`, `/token` and the other client-authenticated
//! endpoints, `/userinfo`) asks here.

use std::sync::Arc;

use super::jwks_uri::{KeysError, RemoteKeys};
use super::metadata_document::{self, Documents};
use super::outbound::Outbound;
use crate::domain::Client;
use crate::store::{ClientStore, StoreError};

/// The directory of clients. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    outbound: Outbound,
    /// `Some` when `client_metadata_documents` is on.
    documents: Option<Documents>,
    keys: RemoteKeys,
    /// The access-token lifetime of clients described by documents.
    access_token_ttl: i64,
}

/// The store alone: no documents, no fetched keys. For tests and tools
/// that never fetch.
pub static STORE_ONLY: Directory = Directory { inner: None };

impl Directory {
    /// A directory fetching through `outbound`; `documents` turns client
    /// ID metadata documents on; clients they describe get access tokens
    /// living `access_token_ttl` seconds.
    pub fn new(outbound: Outbound, documents: bool, access_token_ttl: i64) -> Directory {
        Directory {
            inner: Some(Arc::new(Inner {
                outbound,
                documents: documents.then(Documents::default),
                keys: RemoteKeys::default(),
                access_token_ttl,
            })),
        }
    }

    /// Whether clients may be known by their metadata documents
    /// (discovery's `client_id_metadata_document_supported`).
    pub fn documents_supported(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.documents.is_some())
    }

    /// The client `id` names, at `now`: registered, or described by its
    /// document. A document that cannot be had or is refused makes the
    /// client unknown (`None`); why goes to the audit log.
    pub async fn client<S: ClientStore>(
        &self,
        store: &S,
        id: &str,
        now: i64,
    ) -> Result<Option<Client>, StoreError> {
        if let Some(client) = store.client(id).await? {
            return Ok(Some(client));
        }
        let Some(inner) = &self.inner else {
            return Ok(None);
        };
        let Some(documents) = inner.documents.as_ref().filter(|_| metadata_document::is_url(id)) else {
            return Ok(None);
        };
        match documents
            .resolve(&inner.outbound, id, inner.access_token_ttl, now)
            .await
        {
            Ok(client) => Ok(Some(client)),
            Err(e) => {
                tracing::info!(target: "audit", client_id = %id, "client metadata document refused: {e}");
                Ok(None)
            }
        }
    }

    /// The client's key set from its `jwks_uri`: kept, or fetched now.
    pub async fn keys(&self, client_id: &str, uri: &str) -> Result<Arc<str>, KeysError> {
        match &self.inner {
            Some(inner) => inner.keys.current(Some(&inner.outbound), client_id, uri).await,
            None => Err(KeysError::Unconfigured),
        }
    }

    /// The client's key set fetched again for a key it did not hold, or
    /// `None` if that was done too recently ([`super::jwks_uri`]).
    pub async fn refreshed_keys(
        &self,
        client_id: &str,
        uri: &str,
        stale: &Arc<str>,
    ) -> Result<Option<Arc<str>>, KeysError> {
        match &self.inner {
            Some(inner) => {
                inner
                    .keys
                    .refreshed(Some(&inner.outbound), client_id, uri, stale)
                    .await
            }
            None => Err(KeysError::Unconfigured),
        }
    }

    /// Fetches of `jwks_uri`s made so far (for tests).
    pub fn key_fetches(&self) -> u64 {
        self.inner.as_ref().map_or(0, |i| i.keys.fetches())
    }
}
