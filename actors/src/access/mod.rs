//! The request path's two actors: [`KeyCacheActor`] (who is calling) and
//! [`RateLimiterActor`] (may they, now). Both answer from memory: a handler sends a
//! message and awaits the reply, and the actors' own loops never wait on I/O — a cache
//! miss or a new block of a rate window is fetched by a spawned task that replies (or
//! reports back) when the database answers.
//!
//! [`AccessActors`] is the handle the HTTP layer holds. The rate limiter is sharded by
//! subject (`hash(subject) % shards`): one subject's state lives in one actor, so its
//! count is exact, and different subjects never queue behind each other's mailbox.
//!
//! Supervision: each actor is respawned by the handle when a call finds it dead (a
//! panic), with its state rebuilt from the database (the key cache refills on misses, a
//! rate window leases a fresh block: at worst a window admits fewer, never more).

mod key_cache;
mod rate_limiter;

pub use key_cache::{CredentialLookup, KeyCacheActor, KeyCacheMsg};
pub use rate_limiter::{
    Admission, LeaseAnswer, LeaseAsk, Limited, Limits, RateLimiterActor, RateMsg, Window,
    WindowLeaser,
};

use ractor::{Actor, ActorRef};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Errors of the access actors: only ever that an actor could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("the {0} actor is unavailable")]
    Unavailable(&'static str),
    /// The lookup behind the cache failed (the database is unreachable).
    #[error("credential lookup failed: {0}")]
    Lookup(String),
}

/// The handle to the key cache and the rate-limiter shards. Cheap to clone.
pub struct AccessActors<L: CredentialLookup, W: WindowLeaser> {
    lookup: Arc<L>,
    leaser: Arc<W>,
    ttl: Duration,
    key_cache: Mutex<ActorRef<KeyCacheMsg<L::Identity>>>,
    limiters: Vec<Mutex<ActorRef<RateMsg>>>,
}

impl<L: CredentialLookup, W: WindowLeaser> AccessActors<L, W> {
    /// Starts the key cache (entries trusted for `ttl`, negative ones included) and
    /// `shards` rate limiters.
    pub async fn start(
        lookup: Arc<L>,
        leaser: Arc<W>,
        ttl: Duration,
        shards: usize,
    ) -> Result<AccessActors<L, W>, ractor::SpawnErr> {
        let key_cache = Self::spawn_key_cache(&lookup, ttl).await?;
        let mut limiters = Vec::new();
        for _ in 0..shards.max(1) {
            limiters.push(Mutex::new(Self::spawn_limiter(&leaser).await?));
        }
        Ok(AccessActors {
            lookup,
            leaser,
            ttl,
            key_cache: Mutex::new(key_cache),
            limiters,
        })
    }

    async fn spawn_key_cache(
        lookup: &Arc<L>,
        ttl: Duration,
    ) -> Result<ActorRef<KeyCacheMsg<L::Identity>>, ractor::SpawnErr> {
        let (actor, _) =
            Actor::spawn(None, KeyCacheActor::<L>::new(), (Arc::clone(lookup), ttl)).await?;
        Ok(actor)
    }

    async fn spawn_limiter(leaser: &Arc<W>) -> Result<ActorRef<RateMsg>, ractor::SpawnErr> {
        let (actor, _) =
            Actor::spawn(None, RateLimiterActor::<W>::new(), Arc::clone(leaser)).await?;
        Ok(actor)
    }

    /// The identity behind a presented credential (`None`: not a valid credential).
    /// `fingerprint` is a hash of the whole credential: the cache key.
    pub async fn resolve(
        &self,
        fingerprint: String,
        credential: String,
    ) -> Result<Option<L::Identity>, AccessError> {
        let actor = self.live_key_cache().await?;
        let reply = ractor::call!(actor, |reply| KeyCacheMsg::Resolve {
            fingerprint,
            credential,
            reply,
        })
        .map_err(|_| AccessError::Unavailable("key cache"))?;
        reply.map_err(AccessError::Lookup)
    }

    /// Forgets every cached entry of this key id on this instance, at once.
    pub async fn forget_key(&self, key_id: String) {
        if let Ok(actor) = self.live_key_cache().await {
            let _ = actor.cast(KeyCacheMsg::Forget { key_id });
        }
    }

    /// Counts one request of `subject` against its windows.
    pub async fn admit(
        &self,
        subject: String,
        organization: String,
        limits: Limits,
    ) -> Result<Admission, AccessError> {
        let shard = shard_of(&subject, self.limiters.len());
        let actor = self.live_limiter(shard).await?;
        ractor::call!(actor, |reply| RateMsg::Admit {
            subject,
            organization,
            limits,
            reply,
        })
        .map_err(|_| AccessError::Unavailable("rate limiter"))
    }

    /// Gives every unspent leased block back to the database (at shutdown).
    pub async fn release_leases(&self) {
        for limiter in &self.limiters {
            let actor = limiter.lock().await.clone();
            let _ = ractor::call!(actor, |reply| RateMsg::Release { reply });
        }
    }

    /// Stops the actors.
    pub async fn stop(&self) {
        self.key_cache.lock().await.stop(None);
        for limiter in &self.limiters {
            limiter.lock().await.stop(None);
        }
    }

    async fn live_key_cache(&self) -> Result<ActorRef<KeyCacheMsg<L::Identity>>, AccessError> {
        let mut actor = self.key_cache.lock().await;
        if !is_alive(actor.get_status()) {
            tracing::warn!("key cache actor was down; respawning it");
            *actor = Self::spawn_key_cache(&self.lookup, self.ttl)
                .await
                .map_err(|_| AccessError::Unavailable("key cache"))?;
        }
        Ok(actor.clone())
    }

    async fn live_limiter(&self, shard: usize) -> Result<ActorRef<RateMsg>, AccessError> {
        let mut actor = self.limiters[shard].lock().await;
        if !is_alive(actor.get_status()) {
            tracing::warn!(shard, "rate limiter actor was down; respawning it");
            *actor = Self::spawn_limiter(&self.leaser)
                .await
                .map_err(|_| AccessError::Unavailable("rate limiter"))?;
        }
        Ok(actor.clone())
    }
}

fn is_alive(status: ractor::ActorStatus) -> bool {
    !matches!(
        status,
        ractor::ActorStatus::Stopped | ractor::ActorStatus::Stopping
    )
}

fn shard_of(subject: &str, shards: usize) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    subject.hash(&mut hasher);
    (hasher.finish() % shards.max(1) as u64) as usize
}
