//! Admission control: a bounded number of chat requests admitted at once (running or waiting for
//! the engine), and a bound on the request bytes they hold. A request beyond either is refused at
//! once with 429 and a `Retry-After` estimated from how long requests take, instead of queueing
//! without end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What admitting costs and how much there is.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionLimits {
    /// Chat requests admitted at once (those on the engine and those waiting for it).
    pub max_queue: usize,
    /// Requests the engine runs together (its batch size); the queue drains this many at a time.
    pub engine_batch: usize,
    /// Request body bytes the admitted requests may hold together.
    pub max_queued_bytes: usize,
}

/// The server's admission state.
#[derive(Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    limits: AdmissionLimits,
    /// Mean service time of recent requests, in microseconds (an exponential average).
    mean_service_us: AtomicU64,
}

/// An admitted request's share; dropping it gives the share back.
#[derive(Debug)]
pub struct Ticket {
    _slot: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
}

/// A refused admission: which bound was reached and when to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// One line for the client.
    pub message: String,
    /// Seconds for `Retry-After`.
    pub retry_after_s: u64,
}

/// Body bytes are counted in KiB so that large budgets fit a semaphore.
fn kib(bytes: usize) -> u32 {
    bytes.div_ceil(1024).min(u32::MAX as usize) as u32
}

impl Admission {
    /// An empty queue.
    pub fn new(limits: AdmissionLimits) -> Self {
        Admission {
            slots: Arc::new(Semaphore::new(limits.max_queue.max(1))),
            bytes: Arc::new(Semaphore::new(kib(limits.max_queued_bytes).max(1) as usize)),
            limits,
            mean_service_us: AtomicU64::new(0),
        }
    }

    /// Requests admitted now.
    pub fn admitted(&self) -> usize {
        self.limits.max_queue.max(1) - self.slots.available_permits()
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.limits.max_queue.max(1)
    }

    /// Admits a request whose body is (at most) `body_bytes`, or says why not.
    pub fn try_admit(&self, body_bytes: usize) -> Result<Ticket, Busy> {
        let slot = self.slots.clone().try_acquire_owned().map_err(|_| Busy {
            message: format!(
                "the server is busy: {} requests are queued or running (bench serve --max-queue); retry later",
                self.capacity()
            ),
            retry_after_s: self.retry_after_s(),
        })?;
        let bytes = self.bytes.clone().try_acquire_many_owned(kib(body_bytes).max(1)).map_err(|_| Busy {
            message: format!(
                "the server is busy: the queued requests hold {} MiB of bodies (bench serve --max-queued-body-mb); retry later",
                self.limits.max_queued_bytes >> 20
            ),
            retry_after_s: self.retry_after_s(),
        })?;
        Ok(Ticket { _slot: slot, _bytes: bytes })
    }

    /// Folds one request's service time into the average.
    pub fn record_service(&self, took: Duration) {
        let us = took.as_micros().min(u64::MAX as u128) as u64;
        let old = self.mean_service_us.load(Ordering::Relaxed);
        let new = if old == 0 { us } else { (old * 7 + us) / 8 };
        self.mean_service_us.store(new, Ordering::Relaxed);
    }

    /// When a refused client may expect room: the queue ahead of it, served a batch at a time at
    /// the mean service time, between 1 s and 60 s.
    pub fn retry_after_s(&self) -> u64 {
        let mean = Duration::from_micros(self.mean_service_us.load(Ordering::Relaxed));
        let rounds = self.admitted().max(1).div_ceil(self.limits.engine_batch.max(1));
        let wait = mean.mul_f64(rounds as f64);
        wait.as_secs_f64().ceil().clamp(1.0, 60.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bounded_by_count_and_bytes() {
        let admission = Admission::new(AdmissionLimits { max_queue: 2, engine_batch: 1, max_queued_bytes: 10 << 20 });
        let a = admission.try_admit(1 << 20).unwrap();
        let _b = admission.try_admit(1 << 20).unwrap();
        assert_eq!(admission.admitted(), 2);
        let busy = admission.try_admit(1).unwrap_err();
        assert!(busy.message.contains("--max-queue") && busy.retry_after_s >= 1, "{busy:?}");
        drop(a);
        let big = admission.try_admit(10 << 20).unwrap_err();
        assert!(big.message.contains("--max-queued-body-mb"), "{big:?}");
        assert_eq!(admission.admitted(), 1, "a refused request holds nothing");
        assert!(admission.try_admit(8 << 20).is_ok());
    }

    #[test]
    fn retry_after_follows_the_service_time() {
        let admission = Admission::new(AdmissionLimits { max_queue: 8, engine_batch: 1, max_queued_bytes: 1 << 30 });
        assert_eq!(admission.retry_after_s(), 1);
        admission.record_service(Duration::from_secs(4));
        let _held: Vec<Ticket> = (0..3).map(|_| admission.try_admit(10).unwrap()).collect();
        assert_eq!(admission.retry_after_s(), 12);
        admission.record_service(Duration::from_secs(3600));
        assert_eq!(admission.retry_after_s(), 60);
    }

    #[test]
    fn a_batching_engine_drains_the_queue_a_batch_at_a_time() {
        let admission = Admission::new(AdmissionLimits { max_queue: 16, engine_batch: 4, max_queued_bytes: 1 << 30 });
        admission.record_service(Duration::from_secs(2));
        let _held: Vec<Ticket> = (0..9).map(|_| admission.try_admit(10).unwrap()).collect();
        // Nine admitted, four at a time: three rounds of two seconds.
        assert_eq!(admission.retry_after_s(), 6);
    }
}
