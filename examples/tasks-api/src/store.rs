//! Storage: one SQLite table of tasks, each with its owner.
//!
//! Every query that reads or changes one task names the owner in its
//! `WHERE` clause, so a task of another user is simply not found: the
//! ownership rule lives in the SQL, not in a check a handler could forget.
//!
//! Ids are SQLite `INTEGER PRIMARY KEY AUTOINCREMENT`: never reused, even
//! after a delete, so an old `/tasks/{id}` URL cannot come to name someone's
//! new task. They are numbers in the JSON.
//!
//! Plain runtime SQL with bound parameters (`sqlx::query`), so nothing needs
//! a database to compile.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, SqlitePool};

/// A task as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Chosen by the database; never reused.
    pub id: i64,
    /// What to do (1 to 1000 characters, checked by the routes).
    pub description: String,
    /// Whether it is done.
    pub done: bool,
}

/// A task with its owner, for the administrators' list of everyone's tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OwnedTask {
    /// The `sub` of the token that created it.
    pub owner: String,
    /// The task itself.
    #[serde(flatten)]
    pub task: Task,
}

/// A storage failure. The API answers a generic 500; the detail is logged.
#[derive(Debug)]
pub struct StoreError(sqlx::Error);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database error: {}", self.0)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError(e)
    }
}

/// The schema, applied at every start (idempotent).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    done        INTEGER NOT NULL CHECK (done IN (0, 1))
);
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks (owner, id);";

/// The task database: a small connection pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
}

impl Db {
    /// Opens `url` (`sqlite://PATH`), creating the folder and the file on
    /// first start, and creates the table if it is missing.
    pub async fn open(url: &str) -> Result<Db, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL lets readers and the one writer proceed together; a busy
            // timeout makes a second writer wait instead of failing.
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        if let Some(parent) = options.get_filename().parent() {
            if !parent.as_os_str().is_empty() && !Path::new(parent).exists() {
                std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        Ok(Db { pool })
    }

    /// The owner's tasks, oldest first.
    pub async fn list(&self, owner: &str) -> Result<Vec<Task>, StoreError> {
        let rows = sqlx::query("SELECT id, description, done FROM tasks WHERE owner = ? ORDER BY id")
            .bind(owner)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task).collect()
    }

    /// Every task of every owner, oldest first.
    pub async fn list_all(&self) -> Result<Vec<OwnedTask>, StoreError> {
        let rows = sqlx::query("SELECT id, owner, description, done FROM tasks ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(OwnedTask {
                    owner: row.try_get("owner")?,
                    task: task(row)?,
                })
            })
            .collect()
    }

    /// The owner's task `id`; `None` when the owner has no such task
    /// (whether or not someone else has).
    pub async fn get(&self, owner: &str, id: i64) -> Result<Option<Task>, StoreError> {
        let row = sqlx::query("SELECT id, description, done FROM tasks WHERE id = ? AND owner = ?")
            .bind(id)
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task).transpose()
    }

    /// Adds a task for `owner`.
    pub async fn create(&self, owner: &str, description: &str, done: bool) -> Result<Task, StoreError> {
        let row = sqlx::query(
            "INSERT INTO tasks (owner, description, done) VALUES (?, ?, ?) RETURNING id, description, done",
        )
        .bind(owner)
        .bind(description)
        .bind(done)
        .fetch_one(&self.pool)
        .await?;
        task(&row)
    }

    /// Replaces the description and state of the owner's task `id`; `None`
    /// when the owner has no such task (whether or not someone else has).
    pub async fn replace(
        &self,
        owner: &str,
        id: i64,
        description: &str,
        done: bool,
    ) -> Result<Option<Task>, StoreError> {
        let row = sqlx::query(
            "UPDATE tasks SET description = ?, done = ? WHERE id = ? AND owner = ? \
             RETURNING id, description, done",
        )
        .bind(description)
        .bind(done)
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task).transpose()
    }

    /// Deletes the owner's task `id`; `false` when the owner has no such task.
    pub async fn delete(&self, owner: &str, id: i64) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM tasks WHERE id = ? AND owner = ?")
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}

/// Reads a task from a row with `id`, `description` and `done`.
fn task(row: &SqliteRow) -> Result<Task, StoreError> {
    Ok(Task {
        id: row.try_get("id")?,
        description: row.try_get("description")?,
        done: row.try_get("done")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file in a fresh, not yet existing, nested folder.
    fn url(name: &str) -> (std::path::PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("tasks-api-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}/nested/tasks.db", dir.display());
        (dir, url)
    }

    #[tokio::test]
    async fn creates_the_folder_and_keeps_owners_apart() {
        let (dir, url) = url("owners");
        let db = Db::open(&url).await.unwrap();
        assert!(dir.join("nested/tasks.db").exists());
        let a = db.create("alice", "milk", false).await.unwrap();
        let b = db.create("bob", "bread", true).await.unwrap();
        assert_eq!(db.list("alice").await.unwrap(), vec![a.clone()]);
        assert_eq!(db.get("bob", a.id).await.unwrap(), None);
        assert_eq!(db.replace("bob", a.id, "mine now", true).await.unwrap(), None);
        assert!(!db.delete("bob", a.id).await.unwrap());
        assert_eq!(
            db.list("alice").await.unwrap(),
            vec![a.clone()],
            "bob changed nothing"
        );
        let all = db.list_all().await.unwrap();
        assert_eq!(
            all.iter().map(|t| t.owner.as_str()).collect::<Vec<_>>(),
            ["alice", "bob"]
        );
        assert!(db.delete("bob", b.id).await.unwrap());
        // Ids are never reused, and the data outlives the pool.
        drop(db);
        let db = Db::open(&url).await.unwrap();
        let c = db.create("bob", "again", false).await.unwrap();
        assert!(c.id > b.id);
        assert_eq!(db.list("alice").await.unwrap(), [a]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
