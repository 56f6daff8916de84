//! argon2id off the async runtime, on a fixed pool of threads (one per core by default).
//! Each thread owns one [`PasswordHasher`] and so one 19 MiB work area that it reuses:
//! memory stays bounded however many logins arrive, and the runtime's threads never
//! stall on a hash.
//!
//! The queue in front of the threads is bounded (`password_queue` jobs per thread): a
//! caller takes a place with [`HashingPool::reserve`] before any other work, and when
//! every place is taken it is refused at once ([`HashError::Busy`], a 503 with
//! `Retry-After`) instead of waiting without end. A login storm then costs the callers
//! it refuses almost nothing, the accepted ones wait at most a full queue's worth of
//! hashes, and the threads run at the lowest priority so the rest of the service (a
//! session check, a page) is served first whenever both want a core.

use offboard_core::PasswordHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use zeroize::Zeroizing;

/// A password in flight to a worker, wiped when dropped.
type Secret = Zeroizing<String>;

/// Hash jobs admitted per worker thread (running or waiting) unless configured. The
/// last one admitted waits for the ones before it: at 4 per worker and argon2id at
/// 15-45 ms per hash (45 when every core is busy), about 200 ms at worst, which keeps
/// an accepted login's p99 under half a second in a storm (docs/performance.md).
pub const DEFAULT_QUEUE_PER_WORKER: usize = 4;

enum Job {
    Hash {
        password: Secret,
        reply: oneshot::Sender<String>,
    },
    Verify {
        phc: String,
        password: Secret,
        reply: oneshot::Sender<bool>,
    },
}

#[derive(Clone)]
pub struct HashingPool {
    sender: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    /// Verified for unknown accounts so a failed login costs the same either way.
    dummy_hash: Arc<String>,
    /// Password verifications performed (real and dummy), for tests and metrics.
    verifications: Arc<AtomicU64>,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every place in the queue is taken: refuse now, the caller retries in a moment.
    #[error("the password hashing queue is full")]
    Busy,
    #[error("the password hashing pool has stopped")]
    Stopped,
}

/// A place in the hashing queue, taken before the request does anything else and given
/// back when dropped. One reservation is good for one hash or verification.
pub struct Reservation {
    pool: HashingPool,
    _permit: OwnedSemaphorePermit,
}

impl HashingPool {
    /// `workers` threads (at least one), each admitting `queue_per_worker` jobs.
    pub fn start(workers: usize, queue_per_worker: usize) -> Self {
        let workers = workers.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..workers {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    worker(receiver)
                });
            if let Err(err) = spawned {
                tracing::error!(%err, "could not start a password hashing thread");
            }
        }
        let dummy_hash =
            Arc::new(PasswordHasher::new().hash(&offboard_core::crypto::random_token()));
        Self {
            sender,
            permits: Arc::new(Semaphore::new(workers * queue_per_worker.max(1))),
            dummy_hash,
            verifications: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Takes a place in the queue, or answers [`HashError::Busy`] at once when it is full.
    pub fn reserve(&self) -> Result<Reservation, HashError> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => Ok(Reservation {
                pool: self.clone(),
                _permit: permit,
            }),
            Err(TryAcquireError::NoPermits) => {
                crate::metrics::password_queue_refused();
                Err(HashError::Busy)
            }
            Err(TryAcquireError::Closed) => Err(HashError::Stopped),
        }
    }

    /// Reserves and hashes (sign-up, a new password).
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        self.reserve()?.hash(password).await
    }

    /// Reserves and verifies; see [`Reservation::verify`].
    pub async fn verify(&self, phc: Option<&str>, password: &str) -> Result<bool, HashError> {
        self.reserve()?.verify(phc, password).await
    }
}

impl Reservation {
    pub async fn hash(self, password: &str) -> Result<String, HashError> {
        let (reply, answer) = oneshot::channel();
        self.pool
            .sender
            .send(Job::Hash {
                password: Zeroizing::new(password.to_owned()),
                reply,
            })
            .map_err(|_| HashError::Stopped)?;
        answer.await.map_err(|_| HashError::Stopped)
    }

    /// Verifies against `phc`, or against the dummy hash when there is no account, and
    /// answers false in that case.
    pub async fn verify(self, phc: Option<&str>, password: &str) -> Result<bool, HashError> {
        let pool = &self.pool;
        let (reply, answer) = oneshot::channel();
        let target = phc.unwrap_or(&pool.dummy_hash).to_owned();
        pool.sender
            .send(Job::Verify {
                phc: target,
                password: Zeroizing::new(password.to_owned()),
                reply,
            })
            .map_err(|_| HashError::Stopped)?;
        let matched = answer.await.map_err(|_| HashError::Stopped)?;
        pool.verifications.fetch_add(1, Ordering::Relaxed);
        Ok(matched && phc.is_some())
    }
}

impl HashingPool {
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

/// The hashing threads yield to every other thread of the machine (nice 19 on Linux):
/// they still use every idle cycle, but a request that needs a core briefly gets it.
fn lower_priority() {
    use thread_priority::{set_current_thread_priority, ThreadPriority};
    if let Err(err) = set_current_thread_priority(ThreadPriority::Min) {
        tracing::warn!(
            ?err,
            "could not lower the password hashing thread's priority"
        );
    }
}

fn worker(receiver: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut hasher = PasswordHasher::new();
    loop {
        let job = {
            let Ok(guard) = receiver.lock() else { return };
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return, // every sender dropped: the server is shutting down
            }
        };
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(hasher.hash(&password));
            }
            Job::Verify {
                phc,
                password,
                reply,
            } => {
                let _ = reply.send(hasher.verify(&phc, &password));
            }
        }
    }
}
