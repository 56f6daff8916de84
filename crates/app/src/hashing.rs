//! argon2id off the async runtime, on a fixed pool of threads (one per core by default).
//! Each thread owns one [`PasswordHasher`] and so one 19 MiB work area that it reuses:
//! memory stays bounded however many logins arrive, and the runtime's threads never
//! stall on a hash. Waiting requests queue on a semaphore, not on threads.

use offboard_core::PasswordHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Semaphore};
use zeroize::Zeroizing;

/// A password in flight to a worker, wiped when dropped.
type Secret = Zeroizing<String>;

/// At most this many hash jobs wait in the channel per worker; more callers wait
/// asynchronously for a permit.
const QUEUE_PER_WORKER: usize = 64;

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
#[error("the password hashing pool has stopped")]
pub struct PoolStopped;

impl HashingPool {
    pub fn start(workers: usize) -> Self {
        let workers = workers.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..workers {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(receiver));
            if let Err(err) = spawned {
                tracing::error!(%err, "could not start a password hashing thread");
            }
        }
        let dummy_hash =
            Arc::new(PasswordHasher::new().hash(&offboard_core::crypto::random_token()));
        Self {
            sender,
            permits: Arc::new(Semaphore::new(workers * QUEUE_PER_WORKER)),
            dummy_hash,
            verifications: Arc::new(AtomicU64::new(0)),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, PoolStopped> {
        let _permit = self.permits.acquire().await.map_err(|_| PoolStopped)?;
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job::Hash {
                password: Zeroizing::new(password.to_owned()),
                reply,
            })
            .map_err(|_| PoolStopped)?;
        answer.await.map_err(|_| PoolStopped)
    }

    /// Verifies against `phc`, or against the dummy hash when there is no account, and
    /// answers false in that case.
    pub async fn verify(&self, phc: Option<&str>, password: &str) -> Result<bool, PoolStopped> {
        let _permit = self.permits.acquire().await.map_err(|_| PoolStopped)?;
        let (reply, answer) = oneshot::channel();
        let target = phc.unwrap_or(&self.dummy_hash).to_owned();
        self.sender
            .send(Job::Verify {
                phc: target,
                password: Zeroizing::new(password.to_owned()),
                reply,
            })
            .map_err(|_| PoolStopped)?;
        let matched = answer.await.map_err(|_| PoolStopped)?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        Ok(matched && phc.is_some())
    }
}

impl HashingPool {
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
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
