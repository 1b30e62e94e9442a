//! The endpoint pool: spreads requests over endpoints, bounds the requests in flight on each,
//! and stops sending to an endpoint that keeps failing until a health probe finds it well.
//!
//! Each endpoint is in one of three states:
//! - *healthy*: takes requests, up to its concurrency limit; the least loaded one is chosen;
//! - *paused* until a time: it answered 429 with `Retry-After`; it takes requests again then;
//! - *down*: it failed `failures_to_down` times in a row (connection refused, timeouts, 5xx,
//!   broken replies). No request goes to it; a probe (`GET /health`, else `GET /v1/models`)
//!   runs after a cool-down that doubles on each failed probe, and a successful probe makes it
//!   healthy again.
//!
//! [`EndpointPool::acquire`] waits for a free slot. When every endpoint is down it waits at most
//! `unhealthy_wait`, then fails, so a run against dead endpoints ends instead of hanging.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Endpoint;

/// Health settings of the pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthPolicy {
    /// Consecutive failures that take an endpoint out of rotation.
    pub failures_to_down: u32,
    /// First wait before probing a down endpoint; doubled after each failed probe.
    pub first_probe_after: Duration,
    /// The longest wait between probes.
    pub max_probe_interval: Duration,
    /// How long a request waits for an endpoint when all are down.
    pub unhealthy_wait: Duration,
    /// Timeout of one probe.
    pub probe_timeout: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            failures_to_down: 3,
            first_probe_after: Duration::from_millis(500),
            max_probe_interval: Duration::from_secs(15),
            unhealthy_wait: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Health {
    Healthy,
    Paused { until: Instant },
    Down { next_probe: Instant, interval: Duration, probing: bool },
}

#[derive(Debug)]
struct Slot {
    in_flight: usize,
    consecutive_failures: u32,
    health: Health,
    last_error: Option<String>,
}

struct Inner {
    endpoints: Vec<Endpoint>,
    slots: Mutex<Vec<Slot>>,
    changed: Notify,
    turn: AtomicUsize,
    policy: HealthPolicy,
    client: reqwest::Client,
}

/// A set of endpoints that requests are spread over.
#[derive(Clone)]
pub struct EndpointPool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EndpointPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointPool").field("endpoints", &self.inner.endpoints).finish()
    }
}

/// The right to send one request to one endpoint; dropping it frees the slot.
pub struct Lease {
    inner: Arc<Inner>,
    index: usize,
}

impl EndpointPool {
    /// A pool over `endpoints`, all starting healthy except those in `down` (index, reason).
    pub fn new(endpoints: Vec<Endpoint>, policy: HealthPolicy, client: reqwest::Client) -> Self {
        let slots = endpoints
            .iter()
            .map(|_| Slot { in_flight: 0, consecutive_failures: 0, health: Health::Healthy, last_error: None })
            .collect();
        EndpointPool {
            inner: Arc::new(Inner {
                endpoints,
                slots: Mutex::new(slots),
                changed: Notify::new(),
                turn: AtomicUsize::new(0),
                policy,
                client,
            }),
        }
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.inner.endpoints
    }

    /// The sum of the endpoints' concurrency limits.
    pub fn total_concurrency(&self) -> usize {
        self.inner.endpoints.iter().map(|e| e.max_concurrency).sum()
    }

    /// Takes an endpoint out of rotation from the start (it did not answer when the run began).
    pub fn mark_down(&self, index: usize, reason: String) {
        let mut slots = self.inner.slots.lock().expect("pool lock");
        let slot = &mut slots[index];
        slot.consecutive_failures = self.inner.policy.failures_to_down;
        slot.last_error = Some(reason);
        slot.health = Health::Down {
            next_probe: Instant::now() + self.inner.policy.first_probe_after,
            interval: self.inner.policy.first_probe_after,
            probing: false,
        };
    }

    /// Whether endpoint `index` is currently taking requests (for tests and logs).
    pub fn is_healthy(&self, index: usize) -> bool {
        matches!(self.inner.slots.lock().expect("pool lock")[index].health, Health::Healthy)
    }

    /// Waits for a free slot on a usable endpoint, preferring one other than `avoid` (the
    /// endpoint that just failed this request). Fails with a one-line description of every
    /// endpoint when all have been down for `unhealthy_wait`.
    pub async fn acquire(&self, avoid: Option<usize>) -> Result<Lease, String> {
        let inner = &self.inner;
        let mut all_down_since: Option<Instant> = None;
        loop {
            let notified = inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = Instant::now();
            let wake;
            {
                let mut slots = inner.slots.lock().expect("pool lock");
                let mut any_usable = false;
                let mut next_wake: Option<Instant> = None;
                for (index, slot) in slots.iter_mut().enumerate() {
                    match slot.health {
                        Health::Paused { until } if until <= now => slot.health = Health::Healthy,
                        Health::Paused { until } => next_wake = Some(next_wake.map_or(until, |w| w.min(until))),
                        Health::Down { next_probe, interval, probing: false } if next_probe <= now => {
                            slot.health = Health::Down { next_probe, interval, probing: true };
                            self.spawn_probe(index);
                        }
                        Health::Down { next_probe, probing: false, .. } => {
                            next_wake = Some(next_wake.map_or(next_probe, |w| w.min(next_probe)))
                        }
                        _ => {}
                    }
                    if !matches!(slot.health, Health::Down { .. }) {
                        any_usable = true;
                    }
                }
                let start = inner.turn.fetch_add(1, Ordering::Relaxed);
                let n = slots.len();
                let pick = (0..n)
                    .map(|k| (start + k) % n)
                    .filter(|&i| matches!(slots[i].health, Health::Healthy))
                    .filter(|&i| slots[i].in_flight < inner.endpoints[i].max_concurrency)
                    .min_by_key(|&i| {
                        // Least loaded first (in-flight share of the limit), the avoided one last.
                        let load = slots[i].in_flight * 1000 / inner.endpoints[i].max_concurrency.max(1);
                        (Some(i) == avoid && n > 1, load)
                    });
                if let Some(index) = pick {
                    slots[index].in_flight += 1;
                    return Ok(Lease { inner: inner.clone(), index });
                }
                if any_usable {
                    all_down_since = None;
                } else {
                    let since = *all_down_since.get_or_insert(now);
                    if now.duration_since(since) >= inner.policy.unhealthy_wait {
                        return Err(format!(
                            "no endpoint is healthy after waiting {:.0}s: {}",
                            inner.policy.unhealthy_wait.as_secs_f64(),
                            self.describe_locked(&slots)
                        ));
                    }
                    let limit = since + inner.policy.unhealthy_wait;
                    next_wake = Some(next_wake.map_or(limit, |w| w.min(limit)));
                }
                wake = next_wake;
            }
            match wake {
                Some(at) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    fn describe_locked(&self, slots: &[Slot]) -> String {
        slots
            .iter()
            .zip(&self.inner.endpoints)
            .map(|(s, e)| format!("{} ({})", e.base, s.last_error.as_deref().unwrap_or("no error")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn spawn_probe(&self, index: usize) {
        let pool = self.clone();
        tokio::spawn(async move {
            let inner = &pool.inner;
            let result = probe(&inner.client, &inner.endpoints[index], inner.policy.probe_timeout).await;
            {
                let mut slots = inner.slots.lock().expect("pool lock");
                let slot = &mut slots[index];
                match result {
                    Ok(()) => {
                        tracing::info!("endpoint {} is healthy again", inner.endpoints[index].base);
                        slot.health = Health::Healthy;
                        slot.consecutive_failures = 0;
                    }
                    Err(e) => {
                        let interval = match slot.health {
                            Health::Down { interval, .. } => (interval * 2).min(inner.policy.max_probe_interval),
                            _ => inner.policy.first_probe_after,
                        };
                        slot.last_error = Some(format!("health probe: {e}"));
                        slot.health = Health::Down { next_probe: Instant::now() + interval, interval, probing: false };
                    }
                }
            }
            inner.changed.notify_waiters();
        });
    }
}

/// `GET /health`, falling back to `GET /v1/models` for servers without a health route.
pub async fn probe(client: &reqwest::Client, endpoint: &Endpoint, timeout: Duration) -> Result<(), String> {
    let get = |url: String| async move {
        match tokio::time::timeout(timeout, client.get(&url).send()).await {
            Err(_) => Err(format!("{url}: no reply within {:.1}s", timeout.as_secs_f64())),
            Ok(Err(e)) => Err(format!("{url}: {}", super::client::describe_reqwest_error(&e))),
            Ok(Ok(resp)) => Ok(resp.status()),
        }
    };
    let status = get(endpoint.health_url()).await?;
    if status.is_success() {
        return Ok(());
    }
    let models = get(endpoint.models_url()).await?;
    if models.is_success() {
        Ok(())
    } else {
        Err(format!("{}: status {}", endpoint.health_url(), status.as_u16()))
    }
}

impl Lease {
    /// The endpoint's position in the pool.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoints[self.index]
    }

    /// The request succeeded: the endpoint's failure count starts again.
    pub fn succeeded(&self) {
        let mut slots = self.inner.slots.lock().expect("pool lock");
        slots[self.index].consecutive_failures = 0;
    }

    /// The request failed through the endpoint's fault; after too many in a row it goes down.
    pub fn failed(&self, error: &str) {
        let mut slots = self.inner.slots.lock().expect("pool lock");
        let policy = self.inner.policy;
        let slot = &mut slots[self.index];
        slot.consecutive_failures += 1;
        slot.last_error = Some(error.to_string());
        if slot.consecutive_failures >= policy.failures_to_down && !matches!(slot.health, Health::Down { .. }) {
            tracing::warn!(
                "endpoint {} is out of rotation after {} failures in a row (last: {error}); probing it from now on",
                self.endpoint().base,
                slot.consecutive_failures
            );
            slot.health = Health::Down {
                next_probe: Instant::now() + policy.first_probe_after,
                interval: policy.first_probe_after,
                probing: false,
            };
        }
    }

    /// The endpoint asked to be left alone for `wait` (429 with `Retry-After`).
    pub fn pause(&self, wait: Duration) {
        let mut slots = self.inner.slots.lock().expect("pool lock");
        let slot = &mut slots[self.index];
        if matches!(slot.health, Health::Healthy) {
            slot.health = Health::Paused { until: Instant::now() + wait };
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.inner.slots.lock() {
            slots[self.index].in_flight -= 1;
        }
        self.inner.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server that answers every request with 200 (what a health probe wants).
    async fn healthy_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let _ =
                        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
                });
            }
        });
        url
    }

    fn policy() -> HealthPolicy {
        HealthPolicy {
            failures_to_down: 3,
            first_probe_after: Duration::from_millis(50),
            max_probe_interval: Duration::from_millis(200),
            unhealthy_wait: Duration::from_millis(400),
            probe_timeout: Duration::from_secs(2),
        }
    }

    fn endpoint(url: &str, limit: usize) -> Endpoint {
        Endpoint { base: url.to_string(), max_concurrency: limit }
    }

    #[tokio::test]
    async fn a_failing_endpoint_leaves_rotation_until_a_probe_finds_it_well() {
        let url = healthy_server().await;
        let pool = EndpointPool::new(vec![endpoint(&url, 4), endpoint(&url, 4)], policy(), reqwest::Client::new());
        for _ in 0..3 {
            let lease = pool.acquire(Some(1)).await.unwrap();
            assert_eq!(lease.index(), 0, "the avoided endpoint comes last");
            lease.failed("connection refused");
        }
        assert!(!pool.is_healthy(0));
        for _ in 0..5 {
            assert_eq!(pool.acquire(None).await.unwrap().index(), 1, "nothing goes to a down endpoint");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pool.is_healthy(0) {
            assert!(Instant::now() < deadline, "the probe never restored the endpoint");
            // Acquiring is what schedules probes of down endpoints.
            drop(pool.acquire(None).await.unwrap());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn all_endpoints_down_fails_after_the_wait_naming_each() {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let pool = EndpointPool::new(vec![endpoint(&closed, 2)], policy(), reqwest::Client::new());
        pool.mark_down(0, "connection refused".into());
        let started = Instant::now();
        let err = pool.acquire(None).await.err().expect("no endpoint can be had");
        assert!(started.elapsed() >= Duration::from_millis(400));
        assert!(err.contains("no endpoint is healthy") && err.contains(&closed), "{err}");
    }

    #[tokio::test]
    async fn concurrency_per_endpoint_is_bounded_and_pauses_are_respected() {
        let url = healthy_server().await;
        let pool = EndpointPool::new(vec![endpoint(&url, 2)], policy(), reqwest::Client::new());
        let a = pool.acquire(None).await.unwrap();
        let _b = pool.acquire(None).await.unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(100), pool.acquire(None)).await.is_err(), "a third slot");
        drop(a);
        let c = tokio::time::timeout(Duration::from_secs(5), pool.acquire(None)).await.expect("a freed slot").unwrap();
        c.pause(Duration::from_millis(300));
        drop(c);
        let started = Instant::now();
        let _d = pool.acquire(None).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250), "the pause was not respected");
    }
}
