//! RateLimiterActor: admits or refuses each request of a subject (an API key or a
//! Supabase user) against a short burst limit and its shared windows.
//!
//! - **Burst**: governor, in process (a token bucket per subject).
//! - **Hourly limit and monthly quota**: the windows live in the database, shared by
//!   every instance. This actor leases a block of a window's budget with one atomic
//!   statement ([`WindowLeaser::lease`]) and spends it in memory, so the sum admitted
//!   by all instances never exceeds the limit, and a request pays no database round trip
//!   while the block lasts. A new block is fetched in the background when the current
//!   one runs low; blocks shrink as the window fills (an eighth of what is left, at most
//!   [`MAX_BLOCK`]), so budget parked on one instance stays small. A window the database
//!   reports spent is refused from memory until it resets (the database's clock decides).
//! - **Database unreachable**: requests are admitted while this instance still holds
//!   leased budget; past it they are answered "unavailable" (fail closed, as the seeds'
//!   service did) until a lease succeeds again.
//!
//! The actor never awaits the database: leases run in spawned tasks that report back
//! with a message, and requests that need the new block wait in the subject's queue.

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest block of a window one lease takes.
pub const MAX_BLOCK: u64 = 100;
/// After a failed lease, requests are refused from memory this long before another try.
const RETRY_FAILED_LEASE: Duration = Duration::from_secs(1);
/// Subjects idle this long are forgotten (their unspent block is given back).
const IDLE: Duration = Duration::from_secs(2 * 3600);

/// A window of the shared budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Hour,
    Month,
}

/// What a lease asks the database for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseAsk {
    pub subject: String,
    pub organization: String,
    pub window: Window,
    pub limit: u64,
    pub want: u64,
}

/// What the database granted (see the root package's `LeaseGrant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseAnswer {
    pub granted: u64,
    pub leased: u64,
    /// Unix seconds, database clock.
    pub resets_at: i64,
    /// Unix seconds, database clock.
    pub now: i64,
}

/// The root package's port to the `rate_limits` table.
#[async_trait]
pub trait WindowLeaser: Send + Sync + 'static {
    async fn lease(&self, ask: LeaseAsk) -> Result<LeaseAnswer, String>;
    async fn give_back(&self, subject: &str, window: Window, unspent: u64) -> Result<(), String>;
}

/// A subject's limits, as its key or tier says (sent with every request, so a changed
/// limit applies at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_hour: u64,
    pub per_month: Option<u64>,
    /// Requests per second the burst bucket refills, and its size.
    pub burst_per_second: u32,
    pub burst: u32,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Burst,
    Hour,
    Month,
}

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted {
        limit: u64,
        remaining: u64,
        /// Unix seconds.
        reset: i64,
    },
    Refused {
        why: Limited,
        limit: u64,
        reset: i64,
        retry_after: u64,
    },
    /// No budget held and the database could not lease more.
    Unavailable,
}

pub enum RateMsg {
    Admit {
        subject: String,
        organization: String,
        limits: Limits,
        reply: RpcReplyPort<Admission>,
    },
    /// A lease task's result.
    Leased {
        subject: String,
        window: Window,
        answer: Result<LeaseAnswer, String>,
    },
    /// Give unspent blocks back (shutdown).
    Release { reply: RpcReplyPort<()> },
    /// Forget idle subjects.
    Sweep,
}

/// One window's budget on this instance.
#[derive(Debug, Default)]
struct Budget {
    limit: u64,
    /// Requests this instance may still admit in the window.
    local: u64,
    /// Leased in the window by all instances, as of the last lease.
    leased: u64,
    /// Unix seconds, database clock; 0 before the first lease.
    resets_at: i64,
    /// The database reported the window spent.
    spent: bool,
    /// A lease is in flight.
    pending: bool,
    /// When the last lease failed (database unreachable); cleared by a success.
    failed_at: Option<std::time::Instant>,
    /// Database clock minus local clock, seconds.
    offset: i64,
}

impl Budget {
    fn now(&self) -> i64 {
        unix_now() + self.offset
    }

    /// The window has turned over since the last lease: start afresh.
    fn roll(&mut self) {
        if self.resets_at != 0 && self.now() >= self.resets_at {
            *self = Budget {
                limit: self.limit,
                pending: self.pending,
                offset: self.offset,
                ..Budget::default()
            };
        }
    }

    fn want(&self) -> u64 {
        let left = self.limit.saturating_sub(self.leased);
        (left / 8).clamp(1, MAX_BLOCK)
    }

    fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.leased) + self.local
    }

    fn retry_after(&self) -> u64 {
        (self.resets_at - self.now()).max(1) as u64
    }
}

struct Subject {
    organization: String,
    limits: Limits,
    burst: DefaultDirectRateLimiter,
    hour: Budget,
    month: Budget,
    waiting: VecDeque<RpcReplyPort<Admission>>,
    last_seen: std::time::Instant,
}

fn burst_limiter(limits: Limits) -> DefaultDirectRateLimiter {
    let per_second = NonZeroU32::new(limits.burst_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limits.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub struct RateLimiterActor<W>(PhantomData<fn() -> W>);

impl<W> RateLimiterActor<W> {
    pub fn new() -> Self {
        RateLimiterActor(PhantomData)
    }
}

impl<W> Default for RateLimiterActor<W> {
    fn default() -> Self {
        Self::new()
    }
}

pub struct RateState<W> {
    leaser: Arc<W>,
    subjects: HashMap<String, Subject>,
}

/// What one window says about a request right now.
enum Verdict {
    Ok,
    Refuse(Limited),
    NeedLease,
    Unavailable,
}

fn window_verdict(budget: &mut Budget, which: Limited) -> Verdict {
    budget.roll();
    if budget.local > 0 {
        Verdict::Ok
    } else if budget.spent {
        Verdict::Refuse(which)
    } else if !budget.pending
        && budget
            .failed_at
            .is_some_and(|at| at.elapsed() < RETRY_FAILED_LEASE)
    {
        Verdict::Unavailable
    } else {
        Verdict::NeedLease
    }
}

impl<W: WindowLeaser> RateState<W> {
    fn start_lease(&self, myself: &ActorRef<RateMsg>, subject: &str, window: Window) {
        let Some(entry) = self.subjects.get(subject) else {
            return;
        };
        let budget = match window {
            Window::Hour => &entry.hour,
            Window::Month => &entry.month,
        };
        let ask = LeaseAsk {
            subject: subject.to_string(),
            organization: entry.organization.clone(),
            window,
            limit: budget.limit,
            want: budget.want(),
        };
        let leaser = Arc::clone(&self.leaser);
        let myself = myself.clone();
        tokio::spawn(async move {
            let subject = ask.subject.clone();
            let answer = leaser.lease(ask).await;
            let _ = myself.cast(RateMsg::Leased {
                subject,
                window,
                answer,
            });
        });
    }

    /// Decides the oldest waiting requests of `subject` for as long as they can be decided.
    fn serve_waiting(&mut self, myself: &ActorRef<RateMsg>, key: &str) {
        loop {
            let Some(subject) = self.subjects.get_mut(key) else {
                return;
            };
            if subject.waiting.is_empty() {
                return;
            }
            let monthly = subject.limits.per_month.is_some();
            let hour = window_verdict(&mut subject.hour, Limited::Hour);
            let month = if monthly {
                window_verdict(&mut subject.month, Limited::Month)
            } else {
                Verdict::Ok
            };
            let answer = match (&hour, &month) {
                (Verdict::Refuse(why), _) | (_, Verdict::Refuse(why)) => {
                    let budget = if *why == Limited::Hour {
                        &subject.hour
                    } else {
                        &subject.month
                    };
                    Some(Admission::Refused {
                        why: *why,
                        limit: budget.limit,
                        reset: budget.resets_at,
                        retry_after: budget.retry_after(),
                    })
                }
                (Verdict::Unavailable, _) | (_, Verdict::Unavailable) => {
                    Some(Admission::Unavailable)
                }
                (Verdict::Ok, Verdict::Ok) => {
                    subject.hour.local -= 1;
                    if monthly {
                        subject.month.local -= 1;
                    }
                    Some(Admission::Admitted {
                        limit: subject.hour.limit,
                        remaining: subject.hour.remaining(),
                        reset: subject.hour.resets_at,
                    })
                }
                _ => None,
            };
            let mut leases = Vec::new();
            for (verdict, budget, window) in [
                (&hour, &mut subject.hour, Window::Hour),
                (&month, &mut subject.month, Window::Month),
            ] {
                let low = budget.local <= budget.want() / 4 && !budget.spent;
                let needed = matches!(verdict, Verdict::NeedLease)
                    || (answer.is_some() && low && budget.resets_at != 0);
                if needed && !budget.pending && (window == Window::Hour || monthly) {
                    budget.pending = true;
                    leases.push(window);
                }
            }
            let decided = match answer {
                Some(answer) => {
                    if let Some(reply) = subject.waiting.pop_front() {
                        let _ = reply.send(answer);
                    }
                    true
                }
                None => false,
            };
            for window in leases {
                self.start_lease(myself, key, window);
            }
            if !decided {
                return;
            }
        }
    }
}

impl<W: WindowLeaser> Actor for RateLimiterActor<W> {
    type Msg = RateMsg;
    type State = RateState<W>;
    type Arguments = Arc<W>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        leaser: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        myself.send_interval(Duration::from_secs(600), || RateMsg::Sweep);
        Ok(RateState {
            leaser,
            subjects: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RateMsg::Admit {
                subject,
                organization,
                limits,
                reply,
            } => {
                let entry = state
                    .subjects
                    .entry(subject.clone())
                    .or_insert_with(|| Subject {
                        organization: organization.clone(),
                        limits,
                        burst: burst_limiter(limits),
                        hour: Budget::default(),
                        month: Budget::default(),
                        waiting: VecDeque::new(),
                        last_seen: std::time::Instant::now(),
                    });
                if entry.limits.burst != limits.burst
                    || entry.limits.burst_per_second != limits.burst_per_second
                {
                    entry.burst = burst_limiter(limits);
                }
                entry.limits = limits;
                entry.hour.limit = limits.per_hour;
                entry.month.limit = limits.per_month.unwrap_or(0);
                entry.last_seen = std::time::Instant::now();
                if entry.burst.check().is_err() {
                    let _ = reply.send(Admission::Refused {
                        why: Limited::Burst,
                        limit: entry.hour.limit,
                        reset: entry.hour.resets_at.max(unix_now()),
                        retry_after: 1,
                    });
                    return Ok(());
                }
                entry.waiting.push_back(reply);
                state.serve_waiting(&myself, &subject);
            }
            RateMsg::Leased {
                subject,
                window,
                answer,
            } => {
                if let Some(entry) = state.subjects.get_mut(&subject) {
                    let budget = match window {
                        Window::Hour => &mut entry.hour,
                        Window::Month => &mut entry.month,
                    };
                    budget.pending = false;
                    match answer {
                        Ok(answer) => {
                            let offset = answer.now - unix_now();
                            if answer.resets_at != budget.resets_at {
                                // A new window: what was left of the old one is gone.
                                budget.local = 0;
                            }
                            budget.offset = offset;
                            budget.local += answer.granted;
                            budget.leased = answer.leased;
                            budget.resets_at = answer.resets_at;
                            budget.spent = answer.granted == 0 && answer.leased >= budget.limit;
                            budget.failed_at = None;
                        }
                        Err(error) => {
                            tracing::warn!(%error, %subject, "rate window lease failed");
                            budget.failed_at = Some(std::time::Instant::now());
                        }
                    }
                    state.serve_waiting(&myself, &subject);
                }
            }
            RateMsg::Release { reply } => {
                for (subject, entry) in &mut state.subjects {
                    for (budget, window) in [
                        (&mut entry.hour, Window::Hour),
                        (&mut entry.month, Window::Month),
                    ] {
                        budget.roll();
                        if budget.local > 0 {
                            let unspent = std::mem::take(&mut budget.local);
                            if let Err(error) =
                                state.leaser.give_back(subject, window, unspent).await
                            {
                                tracing::warn!(%error, "unspent rate budget not returned");
                            }
                        }
                    }
                }
                let _ = reply.send(());
            }
            RateMsg::Sweep => {
                let idle: Vec<String> = state
                    .subjects
                    .iter()
                    .filter(|(_, s)| s.last_seen.elapsed() > IDLE && s.waiting.is_empty())
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in idle {
                    state.subjects.remove(&key);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Mutex;

    /// One shared window in memory, leased atomically, standing in for the database
    /// table (the real statement is tested by the store conformance suite on SQLite and
    /// Postgres); it can be switched off to play an unreachable database.
    #[derive(Default)]
    struct FakeWindows {
        leased: Mutex<HashMap<(String, Window), u64>>,
        leases: AtomicU64,
        down: AtomicBool,
    }

    #[async_trait]
    impl WindowLeaser for FakeWindows {
        async fn lease(&self, ask: LeaseAsk) -> Result<LeaseAnswer, String> {
            if self.down.load(Ordering::SeqCst) {
                return Err("connection refused".into());
            }
            self.leases.fetch_add(1, Ordering::SeqCst);
            let mut leased = self.leased.lock().map_err(|e| e.to_string())?;
            let total = leased.entry((ask.subject, ask.window)).or_default();
            let granted = ask.want.min(ask.limit.saturating_sub(*total));
            *total += granted;
            let now = unix_now();
            Ok(LeaseAnswer {
                granted,
                leased: *total,
                resets_at: now - now % 3600 + 3600,
                now,
            })
        }

        async fn give_back(
            &self,
            subject: &str,
            window: Window,
            unspent: u64,
        ) -> Result<(), String> {
            let mut leased = self.leased.lock().map_err(|e| e.to_string())?;
            let total = leased.entry((subject.to_string(), window)).or_default();
            *total = total.saturating_sub(unspent);
            Ok(())
        }
    }

    fn limits(per_hour: u64, per_month: Option<u64>) -> Limits {
        Limits {
            per_hour,
            per_month,
            burst_per_second: 1_000_000,
            burst: 1_000_000,
        }
    }

    async fn limiter(windows: &Arc<FakeWindows>) -> ActorRef<RateMsg> {
        let (actor, _) = Actor::spawn(None, RateLimiterActor::new(), Arc::clone(windows))
            .await
            .unwrap();
        actor
    }

    async fn admit(actor: &ActorRef<RateMsg>, subject: &str, limits: Limits) -> Admission {
        ractor::call!(actor, |reply| RateMsg::Admit {
            subject: subject.into(),
            organization: "org".into(),
            limits,
            reply,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn two_instances_never_admit_more_than_the_window_together() {
        let windows = Arc::new(FakeWindows::default());
        let (a, b) = (limiter(&windows).await, limiter(&windows).await);
        let mut admitted = 0;
        let mut refused = 0;
        for i in 0..1_000 {
            let actor = if i % 3 == 0 { &a } else { &b };
            match admit(actor, "key:k", limits(257, None)).await {
                Admission::Admitted { .. } => admitted += 1,
                Admission::Refused {
                    why, retry_after, ..
                } => {
                    assert_eq!(why, Limited::Hour);
                    assert!((1..=3600).contains(&retry_after));
                    refused += 1;
                }
                Admission::Unavailable => panic!("the database is up"),
            }
        }
        assert!(admitted <= 257, "admitted {admitted} of a 257 window");
        // Budget parked on one instance may refuse a few early, never many.
        assert!(
            admitted >= 257 - 2 * MAX_BLOCK as i32,
            "admitted only {admitted}"
        );
        assert_eq!(admitted + refused, 1_000);
        // Leases come in blocks: far fewer database trips than requests.
        assert!(windows.leases.load(Ordering::SeqCst) < 100);
    }

    #[tokio::test]
    async fn a_monthly_quota_refuses_with_its_own_reason() {
        let windows = Arc::new(FakeWindows::default());
        let actor = limiter(&windows).await;
        let mut outcomes = Vec::new();
        for _ in 0..5 {
            outcomes.push(admit(&actor, "key:q", limits(100, Some(3))).await);
        }
        let admitted = outcomes
            .iter()
            .filter(|a| matches!(a, Admission::Admitted { .. }))
            .count();
        assert_eq!(admitted, 3);
        assert!(matches!(
            outcomes[4],
            Admission::Refused {
                why: Limited::Month,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn the_burst_bucket_refuses_at_once_and_refills() {
        let windows = Arc::new(FakeWindows::default());
        let actor = limiter(&windows).await;
        let tight = Limits {
            per_hour: 1_000,
            per_month: None,
            burst_per_second: 5,
            burst: 3,
        };
        for _ in 0..3 {
            assert!(matches!(
                admit(&actor, "key:b", tight).await,
                Admission::Admitted { .. }
            ));
        }
        assert!(matches!(
            admit(&actor, "key:b", tight).await,
            Admission::Refused {
                why: Limited::Burst,
                ..
            }
        ));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(matches!(
            admit(&actor, "key:b", tight).await,
            Admission::Admitted { .. }
        ));
    }

    #[tokio::test]
    async fn an_unreachable_database_spends_held_budget_then_fails_closed() {
        let windows = Arc::new(FakeWindows::default());
        let actor = limiter(&windows).await;
        assert!(matches!(
            admit(&actor, "key:d", limits(1_000, None)).await,
            Admission::Admitted { .. }
        ));
        windows.down.store(true, Ordering::SeqCst);
        let mut admitted = 1;
        let mut unavailable = 0;
        for _ in 0..300 {
            match admit(&actor, "key:d", limits(1_000, None)).await {
                Admission::Admitted { .. } => admitted += 1,
                Admission::Unavailable => unavailable += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(
            admitted <= 1 + 2 * MAX_BLOCK as usize,
            "admitted {admitted} with the database down"
        );
        assert!(unavailable > 0);
        windows.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(RETRY_FAILED_LEASE + Duration::from_millis(100)).await;
        assert!(matches!(
            admit(&actor, "key:d", limits(1_000, None)).await,
            Admission::Admitted { .. }
        ));
    }

    #[tokio::test]
    async fn released_budget_goes_back_to_the_window() {
        let windows = Arc::new(FakeWindows::default());
        let actor = limiter(&windows).await;
        admit(&actor, "key:r", limits(800, None)).await;
        let held = windows.leased.lock().unwrap()[&("key:r".to_string(), Window::Hour)];
        assert!(held > 1);
        ractor::call!(actor, |reply| RateMsg::Release { reply }).unwrap();
        assert_eq!(
            windows.leased.lock().unwrap()[&("key:r".to_string(), Window::Hour)],
            1
        );
    }
}
