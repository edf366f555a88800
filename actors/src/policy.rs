//! The restart policy, written once (ractor has none): job retries with exponential
//! backoff, and parking of repositories whose actor keeps crashing.
//!
//! Everything here is pure (time is passed in), so the policy is unit-tested without actors.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::ActorsConfig;

/// What to do with a job whose attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Back to the queue, runnable after this delay.
    RetryAfter(Duration),
    /// Out of attempts: fail for good.
    GiveUp,
}

impl RetryDecision {
    /// The `retry_after` argument of `JobQueue::fail`.
    pub fn retry_after(self) -> Option<Duration> {
        match self {
            RetryDecision::RetryAfter(delay) => Some(delay),
            RetryDecision::GiveUp => None,
        }
    }
}

/// `attempts` is the number of attempts already made (the queue counts one per claim).
/// Retry after `min(base * 2^(attempts-1), cap)` while `attempts < max_attempts`.
pub fn retry_decision(config: &ActorsConfig, attempts: u32) -> RetryDecision {
    if attempts >= config.max_attempts {
        return RetryDecision::GiveUp;
    }
    RetryDecision::RetryAfter(backoff(
        config.backoff_base,
        config.backoff_cap,
        attempts.saturating_sub(1),
    ))
}

/// `min(base * 2^n, cap)`, without overflow for large `n`.
pub fn backoff(base: Duration, cap: Duration, n: u32) -> Duration {
    let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// `delay` spread over `[delay·(1 − fraction), delay·(1 + fraction)]` by `unit` (uniform
/// in `[0, 1)`), never above `cap`.
pub fn jitter(delay: Duration, cap: Duration, fraction: f64, unit: f64) -> Duration {
    let fraction = fraction.clamp(0.0, 1.0);
    let unit = unit.clamp(0.0, 1.0);
    delay
        .mul_f64(1.0 - fraction + 2.0 * fraction * unit)
        .min(cap)
}

/// A number uniform enough in `[0, 1)` for spreading retries (std's randomly keyed
/// hasher over `salt` and the clock; not for anything secret).
pub fn random_unit(salt: &str) -> f64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    salt.hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The crashes of one repository's actor inside the park window.
#[derive(Debug, Default)]
pub struct CrashRecord {
    crashes: VecDeque<Instant>,
}

impl CrashRecord {
    /// Records a crash at `now`; returns the number of crashes inside the window
    /// (this one included). Crashes older than the window are forgotten.
    pub fn record(&mut self, now: Instant, window: Duration) -> u32 {
        self.crashes.push_back(now);
        while let Some(oldest) = self.crashes.front() {
            if now.duration_since(*oldest) > window {
                self.crashes.pop_front();
            } else {
                break;
            }
        }
        self.crashes.len() as u32
    }
}

/// The reason shown in `parked()` and given to every job of a parked repository.
pub fn parked_reason(crashes: u32) -> String {
    format!("repository parked after {crashes} crashes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ActorsConfig {
        ActorsConfig {
            max_attempts: 4,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(5),
            ..ActorsConfig::default()
        }
    }

    #[test]
    fn retries_double_from_base_up_to_cap_then_give_up() {
        let config = config();
        assert_eq!(
            retry_decision(&config, 1),
            RetryDecision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            retry_decision(&config, 2),
            RetryDecision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            retry_decision(&config, 3),
            RetryDecision::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(retry_decision(&config, 4), RetryDecision::GiveUp);
        assert_eq!(
            backoff(Duration::from_secs(1), Duration::from_secs(5), 3),
            Duration::from_secs(5)
        );
        assert_eq!(
            backoff(Duration::from_secs(1), Duration::from_secs(600), 200),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn jitter_spreads_a_delay_within_its_fraction_and_the_cap() {
        let second = Duration::from_secs(1);
        let cap = Duration::from_secs(10);
        assert_eq!(jitter(second, cap, 0.25, 0.0), Duration::from_millis(750));
        assert_eq!(jitter(second, cap, 0.25, 0.5), second);
        assert_eq!(jitter(second, cap, 0.0, 0.9), second);
        assert_eq!(jitter(cap, cap, 0.25, 0.99), cap);
        let spread: Vec<Duration> = (0..200)
            .map(|i| jitter(second, cap, 0.25, random_unit(&i.to_string())))
            .collect();
        assert!(spread
            .iter()
            .all(|d| *d >= Duration::from_millis(750) && *d <= Duration::from_millis(1250)));
        let distinct: std::collections::BTreeSet<_> = spread.iter().collect();
        assert!(distinct.len() > 100, "{distinct:?}");
    }

    #[test]
    fn crashes_outside_the_window_are_forgotten() {
        let start = Instant::now();
        let window = Duration::from_secs(10);
        let mut record = CrashRecord::default();
        assert_eq!(record.record(start, window), 1);
        assert_eq!(record.record(start + Duration::from_secs(5), window), 2);
        assert_eq!(record.record(start + Duration::from_secs(12), window), 2);
        assert_eq!(record.record(start + Duration::from_secs(40), window), 1);
    }
}
