//! When to try a request again, and how long to wait first: exponential backoff with jitter,
//! and a server's `Retry-After` honoured.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Retry settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: one attempt only).
    pub max_retries: u32,
    /// The first backoff; doubled on each retry.
    pub base: Duration,
    /// The longest backoff.
    pub cap: Duration,
    /// The longest `Retry-After` that is honoured; a server asking for more is waited for this
    /// long (another endpoint may take the sample sooner).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry): `base * 2^retry`, capped,
    /// with "equal jitter" (half fixed, half uniform random) so clients that failed together do
    /// not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << retry.min(20)).min(self.cap);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0.0..=1.0);
        half + half.mul_f64(jitter)
    }

    /// The wait a `Retry-After` value asks for, capped at [`RetryPolicy::max_retry_after`].
    pub fn retry_after(&self, asked: Duration) -> Duration {
        asked.min(self.max_retry_after)
    }
}

/// Parses a `Retry-After` header: delay seconds, or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(date.timestamp().max(0) as u64);
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy { base: Duration::from_millis(100), cap: Duration::from_secs(1), ..Default::default() };
        for retry in 0..8 {
            let full = Duration::from_millis(100 * (1 << retry)).min(Duration::from_secs(1));
            let samples: Vec<Duration> = (0..50).map(|_| p.backoff(retry)).collect();
            assert!(samples.iter().all(|d| *d >= full / 2 && *d <= full), "retry {retry}: {samples:?}");
            assert!(samples.iter().any(|d| *d != samples[0]), "retry {retry} has no jitter");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let later = chrono::Utc::now() + chrono::Duration::seconds(30);
        let d = parse_retry_after(&later.to_rfc2822()).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30), "{d:?}");
        assert_eq!(parse_retry_after("soon"), None);
        let p = RetryPolicy::default();
        assert_eq!(p.retry_after(Duration::from_secs(3600)), p.max_retry_after);
    }
}
