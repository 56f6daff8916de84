use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint refused the write (for example an email already registered).
    #[error("a record with the same unique value already exists")]
    Conflict,
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a fault was injected for a test")]
    InjectedFault,
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    /// R19: the document number (by its blind index) is approved on another live
    /// account.
    #[error("the document is verified on another account")]
    DocumentHeld,
    /// The database refused a text value (PostgreSQL: NUL or an invalid byte sequence).
    /// The edge refuses such text first; this keeps a miss from becoming a 500.
    #[error("the database refused a text value")]
    InvalidText,
    /// The database stayed busy longer than the operation waits (SQLite's WAL
    /// truncation while readers hold old frames).
    #[error("the database is busy: {0}")]
    Busy(String),
}

impl From<sqlx::Error> for StoreError {
    /// The one place unique violations become [`StoreError::Conflict`], on both backends.
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return StoreError::Conflict;
            }
            // 22021 character_not_in_repertoire (NUL), 22P05 untranslatable_character.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return StoreError::InvalidText;
            }
        }
        StoreError::Database(err)
    }
}
