//! Issue item 16: the data folder is created 0700 and the database, its
//! WAL and SHM files and the master key 0600 (they hold password hashes,
//! sealed keys and personal data); looser existing files are reported.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use std::os::unix::fs::PermissionsExt;

use tessera_server::store::{loose_permissions, Store};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_data_folder_and_files_are_private() {
    let base = std::env::temp_dir().join(format!("tessera-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let dir = base.join("data");
    let db = dir.join("tessera.db");
    let url = format!("sqlite://{}", db.display());
    // A real start: the store, then the master key beside it.
    let server = support::start(&url, "ES256").await;
    server.stop().await;
    assert_eq!(mode(&dir), 0o700, "data folder");
    for name in ["tessera.db", "tessera.db-wal", "tessera.db-shm", "master.key"] {
        let path = dir.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        } else {
            assert!(name.ends_with("-shm") || name.ends_with("-wal"), "{name} missing");
        }
    }
    assert!(
        loose_permissions(&url).is_empty(),
        "{:?}",
        loose_permissions(&url)
    );
    // A database made world-readable by hand is reported.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let found = loose_permissions(&url);
    assert!(
        found.iter().any(|w| w.contains("tessera.db has mode 644")),
        "{found:?}"
    );
    drop(Store::open(&url).await.unwrap());
    let _ = std::fs::remove_dir_all(&base);
}
