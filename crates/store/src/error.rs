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
}

impl From<sqlx::Error> for StoreError {
    /// The one place unique violations become [`StoreError::Conflict`], on both backends.
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return StoreError::Conflict;
            }
        }
        StoreError::Database(err)
    }
}
