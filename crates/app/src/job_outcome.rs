//! How one attempt at a job ended: what the runner (`jobs`) and the job bodies it runs
//! (`webhooks::deliver`, ...) agree on.

use time::OffsetDateTime;

/// How one attempt ended.
pub(crate) enum Outcome {
    Done,
    /// A periodic job: run again at this time.
    Again(OffsetDateTime),
}

/// Why an attempt failed; the message goes to `last_error` (never a secret).
pub(crate) struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Failure(err.to_string())
    }
}
