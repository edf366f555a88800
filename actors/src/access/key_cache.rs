//! KeyCacheActor: a moka cache with a TTL in front of the credential lookup.
//!
//! Entries are keyed by a hash of the whole presented credential, never by a key id
//! alone, so a known key id with a wrong secret always reaches the real check; failed
//! lookups are cached too (negative entries), so a stream of wrong keys costs one lookup
//! per distinct key per TTL. Lookup errors (the database is down) are not cached.
//! The actor never awaits a lookup: a miss is answered by a spawned task, and concurrent
//! misses of one credential share one lookup (moka's `try_get_with`).

use async_trait::async_trait;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// Turns a presented credential into an identity: the root package's port.
#[async_trait]
pub trait CredentialLookup: Send + Sync + 'static {
    type Identity: Clone + Send + Sync + 'static;
    /// `Ok(None)`: not a valid credential (cached as such for the TTL).
    async fn lookup(&self, credential: &str) -> Result<Option<Self::Identity>, String>;
    /// The key id whose revocation must drop this identity from the cache.
    fn key_id(identity: &Self::Identity) -> Option<&str>;
}

pub enum KeyCacheMsg<I> {
    Resolve {
        fingerprint: String,
        credential: String,
        reply: RpcReplyPort<Result<Option<I>, String>>,
    },
    /// A key was revoked: drop its entries now.
    Forget { key_id: String },
}

pub struct KeyCacheActor<L>(PhantomData<fn() -> L>);

impl<L> KeyCacheActor<L> {
    pub fn new() -> Self {
        KeyCacheActor(PhantomData)
    }
}

impl<L> Default for KeyCacheActor<L> {
    fn default() -> Self {
        Self::new()
    }
}

pub struct KeyCacheState<L: CredentialLookup> {
    lookup: Arc<L>,
    cache: moka::future::Cache<String, Option<L::Identity>>,
}

impl<L: CredentialLookup> Actor for KeyCacheActor<L> {
    type Msg = KeyCacheMsg<L::Identity>;
    type State = KeyCacheState<L>;
    type Arguments = (Arc<L>, Duration);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (lookup, ttl): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(KeyCacheState {
            lookup,
            cache: moka::future::Cache::builder()
                .max_capacity(200_000)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            KeyCacheMsg::Resolve {
                fingerprint,
                credential,
                reply,
            } => {
                if let Some(hit) = state.cache.get(&fingerprint).await {
                    let _ = reply.send(Ok(hit));
                    return Ok(());
                }
                let cache = state.cache.clone();
                let lookup = Arc::clone(&state.lookup);
                tokio::spawn(async move {
                    let found = cache
                        .try_get_with(fingerprint, async move { lookup.lookup(&credential).await })
                        .await
                        .map_err(|e| e.to_string());
                    let _ = reply.send(found);
                });
            }
            KeyCacheMsg::Forget { key_id } => {
                let _ = state.cache.invalidate_entries_if(move |_, entry| {
                    entry
                        .as_ref()
                        .and_then(|identity| L::key_id(identity))
                        .is_some_and(|id| id == key_id)
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// Credentials `good-<id>` are valid for key `<id>`; counts lookups; can fail.
    #[derive(Default)]
    struct FakeLookup {
        lookups: AtomicU64,
        down: AtomicBool,
    }

    #[async_trait]
    impl CredentialLookup for FakeLookup {
        type Identity = String;
        async fn lookup(&self, credential: &str) -> Result<Option<String>, String> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.down.load(Ordering::SeqCst) {
                return Err("database down".into());
            }
            Ok(credential.strip_prefix("good-").map(str::to_string))
        }
        fn key_id(identity: &String) -> Option<&str> {
            Some(identity)
        }
    }

    async fn resolve(
        actor: &ActorRef<KeyCacheMsg<String>>,
        credential: &str,
    ) -> Result<Option<String>, String> {
        ractor::call!(actor, |reply| KeyCacheMsg::Resolve {
            fingerprint: format!("fp:{credential}"),
            credential: credential.into(),
            reply,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hits_misses_negatives_and_forgetting() {
        let lookup = Arc::new(FakeLookup::default());
        let (actor, _) = Actor::spawn(
            None,
            KeyCacheActor::<FakeLookup>::new(),
            (Arc::clone(&lookup), Duration::from_secs(60)),
        )
        .await
        .unwrap();
        // Concurrent misses of one credential share one lookup.
        let many =
            futures_util::future::join_all((0..10).map(|_| resolve(&actor, "good-k1"))).await;
        assert!(many.iter().all(|r| r == &Ok(Some("k1".to_string()))));
        assert_eq!(lookup.lookups.load(Ordering::SeqCst), 1);
        // A wrong credential is cached as such.
        assert_eq!(resolve(&actor, "bad").await, Ok(None));
        assert_eq!(resolve(&actor, "bad").await, Ok(None));
        assert_eq!(lookup.lookups.load(Ordering::SeqCst), 2);
        // Forgetting a key id drops its entries at once.
        actor
            .cast(KeyCacheMsg::Forget {
                key_id: "k1".into(),
            })
            .unwrap();
        assert_eq!(resolve(&actor, "good-k1").await, Ok(Some("k1".to_string())));
        assert_eq!(lookup.lookups.load(Ordering::SeqCst), 3);
        // Errors are answered, never cached.
        lookup.down.store(true, Ordering::SeqCst);
        assert!(resolve(&actor, "good-k2").await.is_err());
        lookup.down.store(false, Ordering::SeqCst);
        assert_eq!(resolve(&actor, "good-k2").await, Ok(Some("k2".to_string())));
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl() {
        let lookup = Arc::new(FakeLookup::default());
        let (actor, _) = Actor::spawn(
            None,
            KeyCacheActor::<FakeLookup>::new(),
            (Arc::clone(&lookup), Duration::from_millis(200)),
        )
        .await
        .unwrap();
        resolve(&actor, "good-k").await.unwrap();
        resolve(&actor, "good-k").await.unwrap();
        assert_eq!(lookup.lookups.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        resolve(&actor, "good-k").await.unwrap();
        assert_eq!(lookup.lookups.load(Ordering::SeqCst), 2);
    }
}
