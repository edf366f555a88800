//! The behaviour every store backend must show, written once over the store traits.
//!
//! Each backend's own tests call [`run_all`] on a fresh, migrated, empty store (SQLite in
//! `sqlite::tests`; Postgres runs the same suite). Edge cases are named in the tests:
//! another organization's ids, fenced claims after a lost lease, retries not due yet,
//! glob and substring symbol patterns with their ranking, an update dropped before commit,
//! names and paths with tabs, newlines, backslashes, quotes and non-ASCII text, a batch of
//! 50,000 symbols, a reader during an unfinished update.

use super::*;
use crate::engine::model::{FileAnalysis, ImportKind, Reference, ReferenceKind, Symbol};
use std::time::Duration;

/// Runs every conformance test on `store`.
pub(crate) async fn run_all(store: &dyn Store) {
    repositories_are_scoped_to_their_organization(store).await;
    jobs_are_claimed_once_and_fenced_by_their_token(store).await;
    retries_wait_and_releases_give_the_attempt_back(store).await;
    one_repository_runs_one_job_at_a_time(store).await;
    expired_jobs_are_rescued_once_then_failed_when_out_of_attempts(store).await;
    keys_are_found_revoked_and_counted(store).await;
    keys_keep_permissions_limits_and_members(store).await;
    leases_never_take_a_window_past_its_limit(store).await;
    usage_records_land_per_organization(store).await;
    index_updates_are_atomic_and_symbols_follow_the_pattern_rules(store).await;
    names_and_paths_hold_any_character(store).await;
    a_large_batch_round_trips_exactly(store).await;
    a_reader_during_an_unfinished_update_sees_the_old_commit(store).await;
    webhook_deliveries_dedupe_coalesce_and_follow_their_job(store).await;
    usage_rolls_up_by_hour_idempotently_and_retention_keeps_what_is_not_rolled_up(store).await;
    retention_deletes_only_settled_old_events_and_deliveries(store).await;
    vitals_count_the_queue_and_alerts_open_once(store).await;
}

/// Supabase users (`auth.users` ids) the suite makes members; a backend with a real
/// `auth.users` table creates them before [`run_all`].
pub(crate) const MEMBER_USER_IDS: [&str; 2] = [
    "7d1c7a52-3a0e-4d8e-9f2b-1b8f5c1e0a01",
    "7d1c7a52-3a0e-4d8e-9f2b-1b8f5c1e0a02",
];

async fn org(store: &dyn Store, name: &str) -> OrganizationId {
    store.ensure_organization(name).await.unwrap()
}

async fn repository(store: &dyn Store, org: &OrganizationId, url: &str) -> Repository {
    store
        .create_repository(
            org,
            NewRepository {
                name: url.rsplit('/').next().unwrap().to_string(),
                git_url: url.to_string(),
                default_branch: None,
            },
        )
        .await
        .unwrap()
}

fn near_now(time: Timestamp) -> bool {
    let now = Timestamp::now().as_offset_date_time();
    (now - time.as_offset_date_time()).abs() < ::time::Duration::seconds(60)
}

async fn repositories_are_scoped_to_their_organization(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let other = org(store, "other").await;
    assert_eq!(
        org(store, "acme").await,
        acme,
        "ensure_organization is idempotent"
    );
    let repo = repository(store, &acme, "https://example.com/acme/one").await;
    assert_eq!(repo.status, RepositoryStatus::Pending);
    assert!(near_now(repo.created_at));
    assert_eq!(repo.last_indexed_at, None);

    assert_eq!(
        store.repository(&acme, &repo.id).await.unwrap(),
        Some(repo.clone())
    );
    assert_eq!(store.repository(&other, &repo.id).await.unwrap(), None);
    assert!(store.repositories(&other).await.unwrap().is_empty());
    assert_eq!(
        store
            .repository_by_url(&acme, "https://example.com/acme/one")
            .await
            .unwrap()
            .map(|r| r.id),
        Some(repo.id.clone())
    );
    assert!(matches!(
        store
            .create_repository(
                &acme,
                NewRepository {
                    name: "again".into(),
                    git_url: "https://example.com/acme/one".into(),
                    default_branch: None,
                },
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    // The same URL in another organization is another repository.
    let theirs = repository(store, &other, "https://example.com/acme/one").await;
    assert_ne!(theirs.id, repo.id);

    assert!(!store.delete_repository(&other, &repo.id).await.unwrap());
    assert!(store.repository(&acme, &repo.id).await.unwrap().is_some());
    assert!(store.delete_repository(&acme, &repo.id).await.unwrap());
    assert_eq!(store.repository_unscoped(&repo.id).await.unwrap(), None);
    assert!(store.delete_repository(&other, &theirs.id).await.unwrap());
}

/// Claims until the queue is empty, settling each as succeeded (test isolation).
async fn drain(store: &dyn Store) {
    while let Some(claim) = store
        .claim_job("drain", Duration::from_secs(60))
        .await
        .unwrap()
    {
        store
            .finish_job(&claim.job.id, &claim.token, &JobOutcome::Succeeded)
            .await
            .unwrap();
    }
}

async fn jobs_are_claimed_once_and_fenced_by_their_token(store: &dyn Store) {
    drain(store).await;
    let acme = org(store, "acme").await;
    let other = org(store, "other").await;
    let repo = repository(store, &acme, "https://example.com/acme/jobs").await;
    let queued = store
        .enqueue_job(&repo.id, JobType::FullIndex, Some("main"))
        .await
        .unwrap();
    assert_eq!(queued.status, JobStatus::Queued);
    assert_eq!(queued.job_type, JobType::FullIndex);
    assert_eq!(queued.attempts, 0);
    assert!(near_now(queued.queued_at));
    assert_eq!(store.job(&other, &queued.id).await.unwrap(), None);
    assert_eq!(store.queue_depth().await.unwrap().queued, 1);

    // A short lease that lapses: the first worker dies silently.
    let first = store
        .claim_job("worker-a", Duration::from_millis(200))
        .await
        .unwrap()
        .expect("a job is claimable");
    assert_eq!(first.job.id, queued.id);
    assert_eq!(first.job.status, JobStatus::Running);
    assert_eq!(first.job.attempts, 1);
    assert_eq!(first.job.revision.as_deref(), Some("main"));
    assert!(store
        .claim_job("worker-b", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());
    store
        .heartbeat_job(&first.job.id, &first.token, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(matches!(
        store
            .heartbeat_job(
                &first.job.id,
                &ClaimToken::new_random(),
                Duration::from_secs(1)
            )
            .await,
        Err(StoreError::LeaseLost)
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;

    // An expired lease comes back through the rescuer only, never by a claim.
    assert!(store
        .claim_job("worker-b", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.rescue_expired_jobs(3).await.unwrap(),
        Rescued {
            requeued: 1,
            failed: 0
        }
    );
    let second = store
        .claim_job("worker-b", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a rescued job is claimable again");
    assert_eq!(second.job.id, queued.id);
    assert_eq!(second.job.attempts, 2);
    assert_ne!(second.token, first.token);

    // The stale worker can neither extend nor overwrite the new claim.
    assert!(matches!(
        store
            .heartbeat_job(&first.job.id, &first.token, Duration::from_secs(600))
            .await,
        Err(StoreError::LeaseLost)
    ));
    assert!(matches!(
        store
            .finish_job(
                &first.job.id,
                &first.token,
                &JobOutcome::Failed {
                    error: "stale".into()
                }
            )
            .await,
        Err(StoreError::LeaseLost)
    ));
    let now = store.job(&acme, &queued.id).await.unwrap().unwrap();
    assert_eq!((now.status, now.error), (JobStatus::Running, None));

    store
        .finish_job(&second.job.id, &second.token, &JobOutcome::Succeeded)
        .await
        .unwrap();
    let done = store.job(&acme, &queued.id).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    assert!(done.finished_at.is_some_and(near_now));
    // A settled claim cannot be settled again.
    assert!(matches!(
        store
            .finish_job(&second.job.id, &second.token, &JobOutcome::Succeeded)
            .await,
        Err(StoreError::LeaseLost)
    ));
    assert_eq!(store.recent_jobs(&acme, 10).await.unwrap()[0].id, queued.id);
    assert!(store.recent_jobs(&other, 10).await.unwrap().is_empty());

    // The job's story, oldest first, and only for its own organization.
    let events = store.job_events(&acme, &queued.id).await.unwrap();
    let story: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        story,
        [
            event::QUEUED,
            event::CLAIMED,
            event::RESCUED,
            event::CLAIMED,
            event::SUCCEEDED
        ]
    );
    assert_eq!(events[1].message.as_deref(), Some("attempt 1 by worker-a"));
    let rescued = events[2].message.as_deref().unwrap_or_default();
    assert!(
        rescued.contains("lease expired during attempt 1 of 3")
            && rescued.contains("worker-a")
            && rescued.ends_with("requeued"),
        "{rescued}"
    );
    assert!(events.iter().all(|e| near_now(e.created_at)));
    assert!(store
        .job_events(&other, &queued.id)
        .await
        .unwrap()
        .is_empty());
}

/// The rescuer: a job whose worker died goes back to the queue once (a second pass finds
/// nothing), a job under a live lease is left alone, and a job that died on its last
/// attempt fails with the rescuer's explanation.
async fn expired_jobs_are_rescued_once_then_failed_when_out_of_attempts(store: &dyn Store) {
    drain(store).await;
    let acme = org(store, "acme").await;
    let dying = repository(store, &acme, "https://example.com/acme/dying").await;
    let alive = repository(store, &acme, "https://example.com/acme/alive").await;
    let job = store
        .enqueue_job(&dying.id, JobType::FullIndex, None)
        .await
        .unwrap();
    store
        .enqueue_job(&alive.id, JobType::FullIndex, None)
        .await
        .unwrap();
    let mut live = None;
    for _ in 0..2 {
        let claim = store
            .claim_job("w", Duration::from_millis(150))
            .await
            .unwrap()
            .unwrap();
        if claim.job.repository_id == alive.id.0 {
            store
                .heartbeat_job(&claim.job.id, &claim.token, Duration::from_secs(60))
                .await
                .unwrap();
            live = Some(claim);
        }
    }
    let live = live.expect("the live job was claimed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // max_attempts 2: the first death requeues.
    assert_eq!(
        store.rescue_expired_jobs(2).await.unwrap(),
        Rescued {
            requeued: 1,
            failed: 0
        }
    );
    assert_eq!(
        store.rescue_expired_jobs(2).await.unwrap(),
        Rescued::default()
    );
    let requeued = store.job(&acme, &job.id).await.unwrap().unwrap();
    assert_eq!((requeued.status, requeued.attempts), (JobStatus::Queued, 1));
    // The second death is the last attempt: failed, with the story in the error.
    let claim = store
        .claim_job("w2", Duration::from_millis(150))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.job.id, job.id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.rescue_expired_jobs(2).await.unwrap(),
        Rescued {
            requeued: 0,
            failed: 1
        }
    );
    let failed = store.job(&acme, &job.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.finished_at.is_some_and(near_now));
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("attempt 2 of 2")
            && error.contains("w2")
            && error.ends_with("out of attempts"),
        "{error}"
    );
    // The dead worker's token is void.
    assert!(matches!(
        store
            .finish_job(&job.id, &claim.token, &JobOutcome::Succeeded)
            .await,
        Err(StoreError::LeaseLost)
    ));
    let story: Vec<String> = store
        .job_events(&acme, &job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        story,
        [
            event::QUEUED,
            event::CLAIMED,
            event::RESCUED,
            event::CLAIMED,
            event::RESCUED
        ]
    );
    // The live job was untouched and still settles with its token.
    store
        .finish_job(&live.job.id, &live.token, &JobOutcome::Succeeded)
        .await
        .unwrap();
    drain(store).await;
}

async fn retries_wait_and_releases_give_the_attempt_back(store: &dyn Store) {
    drain(store).await;
    let acme = org(store, "acme").await;
    let repo = repository(store, &acme, "https://example.com/acme/retries").await;
    let job = store
        .enqueue_job(&repo.id, JobType::IncrementalUpdate, None)
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let claim = store.claim_job("w", lease).await.unwrap().unwrap();
    store
        .finish_job(
            &job.id,
            &claim.token,
            &JobOutcome::Retry {
                error: "flaky".into(),
                after: Duration::from_millis(300),
            },
        )
        .await
        .unwrap();
    let waiting = store.job(&acme, &job.id).await.unwrap().unwrap();
    assert_eq!(waiting.status, JobStatus::Queued);
    assert_eq!(waiting.error.as_deref(), Some("flaky"));
    let retry = store.job_events(&acme, &job.id).await.unwrap();
    assert_eq!(
        (retry[2].event_type.as_str(), retry[2].message.as_deref()),
        (event::RETRY, Some("flaky; retry in 0.3 s"))
    );
    assert!(
        store.claim_job("w", lease).await.unwrap().is_none(),
        "a retry is not claimable before it is due"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = store.claim_job("w", lease).await.unwrap().unwrap();
    assert_eq!(again.job.attempts, 2);
    store
        .finish_job(&job.id, &again.token, &JobOutcome::Released)
        .await
        .unwrap();
    let released = store.job(&acme, &job.id).await.unwrap().unwrap();
    assert_eq!((released.status, released.attempts), (JobStatus::Queued, 1));
    let last = store.claim_job("w", lease).await.unwrap().unwrap();
    store
        .finish_job(
            &job.id,
            &last.token,
            &JobOutcome::Failed {
                error: "broken".into(),
            },
        )
        .await
        .unwrap();
    let failed = store.job(&acme, &job.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("broken"));
    assert!(store.queue_depth().await.unwrap().failed_recent >= 1);
}

async fn one_repository_runs_one_job_at_a_time(store: &dyn Store) {
    drain(store).await;
    let acme = org(store, "acme").await;
    let one = repository(store, &acme, "https://example.com/acme/serial-1").await;
    let two = repository(store, &acme, "https://example.com/acme/serial-2").await;
    for repo in [&one, &one, &two] {
        store
            .enqueue_job(&repo.id, JobType::FullIndex, None)
            .await
            .unwrap();
    }
    let lease = Duration::from_secs(60);
    let a = store.claim_job("w", lease).await.unwrap().unwrap();
    let b = store.claim_job("w", lease).await.unwrap().unwrap();
    assert_ne!(a.job.repository_id, b.job.repository_id);
    assert!(store.claim_job("w", lease).await.unwrap().is_none());
    assert_eq!(store.queue_depth().await.unwrap().running, 2);
    for claim in [a, b] {
        store
            .finish_job(&claim.job.id, &claim.token, &JobOutcome::Succeeded)
            .await
            .unwrap();
    }
    drain(store).await;
}

async fn keys_are_found_revoked_and_counted(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let other = org(store, "other").await;
    let before = store.count_keys().await.unwrap();
    let key = ApiKeyRecord {
        key_id: "conformancekey".into(),
        organization_id: acme.0.clone(),
        user_id: None,
        name: "ci".into(),
        tier: Tier::Solo,
        key_hash: "00".repeat(32),
        permissions: Permissions::READ_WRITE,
        rate_limit: None,
        monthly_quota: None,
        is_admin: false,
        usage_count: 0,
        last_used_at: None,
        expires_at: None,
        revoked_at: None,
        created_at: Timestamp::now(),
    };
    store.create_key(&acme, &key).await.unwrap();
    assert_eq!(store.count_keys().await.unwrap(), before + 1);
    let found = store.key("conformancekey").await.unwrap().unwrap();
    assert_eq!((found.tier, found.name.as_str()), (Tier::Solo, "ci"));
    assert!(store.keys(&other).await.unwrap().is_empty());
    store
        .record_key_usage(&[("conformancekey".into(), 3)])
        .await
        .unwrap();
    let used = store.key("conformancekey").await.unwrap().unwrap();
    assert_eq!(used.usage_count, 3);
    assert!(used.last_used_at.is_some_and(near_now));
    assert!(!store.revoke_key(&other, "conformancekey").await.unwrap());
    assert!(store.revoke_key(&acme, "conformancekey").await.unwrap());
    let revoked = store.key("conformancekey").await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some_and(near_now));
    assert!(store.key("nosuchkey").await.unwrap().is_none());
}

async fn keys_keep_permissions_limits_and_members(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let other = org(store, "other").await;
    let [alice, bob] = MEMBER_USER_IDS;
    let key = ApiKeyRecord {
        key_id: "readonlykey".into(),
        organization_id: acme.0.clone(),
        user_id: Some(alice.to_string()),
        name: "reader".into(),
        tier: Tier::Free,
        key_hash: "11".repeat(32),
        permissions: Permissions::READ_ONLY,
        rate_limit: Some(7),
        monthly_quota: Some(1_000),
        is_admin: false,
        usage_count: 0,
        last_used_at: None,
        expires_at: Some(Timestamp::parse("2031-01-02T03:04:05.678Z").unwrap()),
        revoked_at: None,
        created_at: Timestamp::now(),
    };
    store.create_key(&acme, &key).await.unwrap();
    let found = store.key("readonlykey").await.unwrap().unwrap();
    assert_eq!(found.permissions, Permissions::READ_ONLY);
    assert_eq!(
        (found.rate_limit, found.monthly_quota),
        (Some(7), Some(1_000))
    );
    assert_eq!(found.user_id.as_deref(), Some(alice));
    assert_eq!(found.expires_at, key.expires_at);
    assert!(store
        .key_by_lookup_hash(&"22".repeat(32))
        .await
        .unwrap()
        .is_none());

    assert!(store.user_organizations(bob).await.unwrap().is_empty());
    store.add_member(&other, bob).await.unwrap();
    store.add_member(&acme, bob).await.unwrap();
    store.add_member(&acme, bob).await.unwrap(); // joining twice is joining once
    let orgs = store.user_organizations(bob).await.unwrap();
    assert_eq!(orgs.len(), 2);
    assert!(orgs.contains(&acme) && orgs.contains(&other));
}

async fn leases_never_take_a_window_past_its_limit(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let lease = |want: u64| LeaseRequest {
        subject: "key:conformance-lease".into(),
        organization: acme.clone(),
        kind: WindowKind::Hour,
        limit: 10,
        want,
    };
    let first = store.lease_window(&lease(4)).await.unwrap();
    assert_eq!((first.granted, first.leased), (4, 4));
    assert!(first.resets_at > first.now && first.resets_at - first.now <= 3600);
    assert_eq!(first.resets_at % 3600, 0, "hour windows end on the hour");
    let second = store.lease_window(&lease(4)).await.unwrap();
    assert_eq!((second.granted, second.leased), (4, 8));
    let third = store.lease_window(&lease(4)).await.unwrap();
    assert_eq!((third.granted, third.leased), (2, 10), "only what is left");
    let spent = store.lease_window(&lease(4)).await.unwrap();
    assert_eq!((spent.granted, spent.leased), (0, 10));
    // Many leases at once still sum to the limit exactly.
    let many = futures::future::join_all((0..20).map(|i| {
        let request = LeaseRequest {
            subject: "key:conformance-race".into(),
            organization: acme.clone(),
            kind: WindowKind::Month,
            limit: 25,
            want: 1 + i % 3,
        };
        async move { store.lease_window(&request).await.unwrap().granted }
    }))
    .await;
    assert_eq!(many.iter().sum::<u64>(), 25);
    store
        .return_lease("key:conformance-race", WindowKind::Month, 5)
        .await
        .unwrap();
    let after = store
        .lease_window(&LeaseRequest {
            subject: "key:conformance-race".into(),
            organization: acme.clone(),
            kind: WindowKind::Month,
            limit: 25,
            want: 100,
        })
        .await
        .unwrap();
    assert_eq!((after.granted, after.leased), (5, 25));
    assert!(after.resets_at - after.now <= 31 * 86_400);
}

async fn usage_records_land_per_organization(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let other = org(store, "other").await;
    let before = store.usage_count(&acme).await.unwrap();
    let event = |n: u16| UsageEvent {
        key_id: Some("conformancekey".into()),
        user_id: None,
        organization: acme.clone(),
        endpoint: "/api/v1/search/code".into(),
        method: "POST".into(),
        status: 200 + n % 2,
        response_ms: u32::from(n),
        at: Timestamp::now(),
    };
    let batch: Vec<UsageEvent> = (0..450).map(event).collect();
    store.record_usage(&batch).await.unwrap();
    assert_eq!(store.usage_count(&acme).await.unwrap(), before + 450);
    assert_eq!(store.usage_count(&other).await.unwrap(), 0);
}

fn file(path: &str, symbols: &[(&str, &str, u32)], references: &[(&str, u32)]) -> FileUpdate {
    FileUpdate {
        file: FileRecord {
            path: path.to_string(),
            content_hash: format!("{:040x}", path.len()),
            language: Some("rust".into()),
            size_bytes: 100,
            skipped: None,
        },
        analysis: FileAnalysis {
            symbols: symbols
                .iter()
                .map(|(name, kind, line)| Symbol {
                    name: name.to_string(),
                    kind: kind.to_string(),
                    line_start: *line,
                    line_end: *line + 1,
                })
                .collect(),
            references: references
                .iter()
                .map(|(name, line)| Reference {
                    name: name.to_string(),
                    kind: ReferenceKind::Call,
                    line: *line,
                    column: 5,
                })
                .collect(),
            imports: Vec::new(),
        },
        imports: vec![ResolvedImport {
            spec: "./lib".into(),
            kind: ImportKind::Path,
            line: 1,
            targets: if path == "src/main.rs" {
                vec!["src/lib.rs".into()]
            } else {
                Vec::new()
            },
        }],
    }
}

async fn names(store: &dyn Store, org: &OrganizationId, pattern: &str) -> Vec<String> {
    store
        .search_symbols(
            org,
            &SymbolQuery {
                pattern: SymbolPattern::parse(pattern).unwrap(),
                kind: None,
                repository: None,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|hit| hit.name)
        .collect()
}

async fn index_updates_are_atomic_and_symbols_follow_the_pattern_rules(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let other = org(store, "other").await;
    let repo = repository(store, &acme, "https://example.com/acme/records").await;

    // An update dropped before commit leaves nothing behind.
    let mut dropped = store.begin_update(&repo.id).await.unwrap();
    dropped
        .upsert_files(&[file("src/gone.rs", &[("gone", "function", 1)], &[])])
        .await
        .unwrap();
    drop(dropped);
    assert!(store.files(&repo.id).await.unwrap().is_empty());

    let mut update = store.begin_update(&repo.id).await.unwrap();
    update
        .upsert_files(&[
            file(
                "src/lib.rs",
                &[
                    ("get_user", "function", 1),
                    ("get_group", "function", 3),
                    ("set_user", "function", 5),
                    ("ParseError", "struct", 7),
                    ("parse_args", "function", 9),
                    ("reparse", "function", 11),
                    ("parse", "function", 13),
                    ("a%b_c", "function", 15),
                ],
                &[],
            ),
            file(
                "src/main.rs",
                &[("main", "function", 1)],
                &[("get_user", 2)],
            ),
        ])
        .await
        .unwrap();
    update.commit("0123456789abcdef").await.unwrap();
    let committed = store.repository(&acme, &repo.id).await.unwrap().unwrap();
    assert_eq!(committed.status, RepositoryStatus::Ready);
    assert_eq!(
        committed.last_indexed_commit.as_deref(),
        Some("0123456789abcdef")
    );
    assert!(committed.last_indexed_at.is_some_and(near_now));
    assert_eq!(store.files(&repo.id).await.unwrap().len(), 2);

    // The rules of `SymbolPattern`.
    assert_eq!(
        names(store, &acme, "parse").await,
        ["parse", "ParseError", "parse_args", "reparse"]
    );
    assert_eq!(names(store, &acme, "PARSE").await[0], "parse");
    assert_eq!(
        names(store, &acme, "get_*").await,
        ["get_user", "get_group"]
    );
    assert_eq!(
        names(store, &acme, "*_user").await,
        ["get_user", "set_user"]
    );
    assert_eq!(
        names(store, &acme, "?et_user").await,
        ["get_user", "set_user"]
    );
    assert_eq!(names(store, &acme, "*error").await, ["ParseError"]);
    assert_eq!(names(store, &acme, "a%b_c").await, ["a%b_c"]);
    assert!(names(store, &acme, "a_b%c").await.is_empty());
    assert!(names(store, &acme, "get")
        .await
        .contains(&"get_user".to_string()));
    assert!(names(store, &other, "get").await.is_empty());

    let uses = store
        .find_references(&acme, "get_user", None, 10)
        .await
        .unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!((uses[0].path.as_str(), uses[0].line), ("src/main.rs", 2));
    assert!(store
        .find_references(&other, "get_user", None, 10)
        .await
        .unwrap()
        .is_empty());
    let edges = store
        .edges(
            &repo.id,
            &["src/main.rs".to_string()],
            EdgeDirection::Dependencies,
        )
        .await
        .unwrap();
    assert_eq!(
        edges,
        [("src/main.rs".to_string(), "src/lib.rs".to_string())]
    );
    let in_file = store
        .symbols_in_file(&repo.id, "src/main.rs")
        .await
        .unwrap();
    assert_eq!(in_file.len(), 1);

    // A second run deletes a file with its records.
    let mut update = store.begin_update(&repo.id).await.unwrap();
    update
        .delete_files(&["src/main.rs".to_string()])
        .await
        .unwrap();
    update.commit("fedcba9876543210").await.unwrap();
    assert!(store
        .find_references(&acme, "get_user", None, 10)
        .await
        .unwrap()
        .is_empty());
    let recent = store.recent_files(&repo.id, 10).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert!(near_now(recent[0].1));
    store.delete_repository(&acme, &repo.id).await.unwrap();
}

/// Symbols of one file, as `symbols_in_file` returns them: (name, kind, start, end).
async fn symbols_of(
    store: &dyn Store,
    id: &RepositoryId,
    path: &str,
) -> Vec<(String, String, u32, u32)> {
    store
        .symbols_in_file(id, path)
        .await
        .unwrap()
        .into_iter()
        .map(|hit| (hit.name, hit.kind, hit.line_start, hit.line_end))
        .collect()
}

/// Bulk writes (Postgres: `COPY`'s text format) must carry every character but NUL.
async fn names_and_paths_hold_any_character(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let repo = repository(store, &acme, "https://example.com/acme/characters").await;
    let path = "dir\twith tab/new\nline/back\\slash/\"quote's\"/\\N/ünïcödé 名前 🦀.rs";
    let names = [
        "tab\there",
        "new\nline",
        "back\\slash",
        "\\N",
        "\\.",
        "quote'\"s",
        "crlf\r\n",
        "ünïcödé_名前_🦀",
        "comma,semi;pipe|",
    ];
    let symbols: Vec<(&str, &str, u32)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (*name, "function", i as u32 * 10 + 1))
        .collect();
    let mut update = store.begin_update(&repo.id).await.unwrap();
    let mut special = file(path, &symbols, &[("back\\slash", 3), ("tab\there", 4)]);
    special.file.language = Some("lang\twith\\odd\nname".into());
    special.imports[0].spec = "./spec\twith\\odd\nchars".into();
    special.imports[0].targets = vec!["target\t\\\n.rs".into()];
    update.upsert_files(&[special]).await.unwrap();
    update.commit("characters").await.unwrap();

    let files = store.files(&repo.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, path);
    assert_eq!(files[0].language.as_deref(), Some("lang\twith\\odd\nname"));
    let stored = symbols_of(store, &repo.id, path).await;
    let expected: Vec<(String, String, u32, u32)> = symbols
        .iter()
        .map(|(name, kind, line)| (name.to_string(), kind.to_string(), *line, *line + 1))
        .collect();
    assert_eq!(stored, expected);
    for name in names {
        // Patterns hold no control characters: `?` stands for each.
        let pattern = name.replace(char::is_control, "?");
        let found = names_in(store, &acme, &repo.id, &pattern).await;
        assert_eq!(found.first().map(String::as_str), Some(name), "{name:?}");
    }
    assert_eq!(
        names_in(store, &acme, &repo.id, "ÜNÏCÖDÉ_名前_🦀").await,
        Vec::<String>::new(),
        "only ASCII letters match in another case"
    );
    assert_eq!(
        names_in(store, &acme, &repo.id, "*CÖDÉ_名前_🦀").await,
        Vec::<String>::new()
    );
    assert_eq!(
        names_in(store, &acme, &repo.id, "ÜNÏcödé_名前_🦀").await,
        Vec::<String>::new()
    );
    assert_eq!(
        names_in(store, &acme, &repo.id, "Back\\Sl?sh").await,
        ["back\\slash"]
    );
    let uses = store
        .find_references(&acme, "back\\slash", Some(&repo.id), 10)
        .await
        .unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0].path, path);
    assert_eq!(
        store
            .edges(&repo.id, &[path.to_string()], EdgeDirection::Dependencies)
            .await
            .unwrap(),
        [(path.to_string(), "target\t\\\n.rs".to_string())]
    );
    assert_eq!(
        store
            .edges(
                &repo.id,
                &["target\t\\\n.rs".to_string()],
                EdgeDirection::Dependents
            )
            .await
            .unwrap(),
        [("target\t\\\n.rs".to_string(), path.to_string())]
    );
    store.delete_repository(&acme, &repo.id).await.unwrap();
}

/// Names of symbols in one repository matching `pattern`.
async fn names_in(
    store: &dyn Store,
    org: &OrganizationId,
    id: &RepositoryId,
    pattern: &str,
) -> Vec<String> {
    store
        .search_symbols(
            org,
            &SymbolQuery {
                pattern: SymbolPattern::parse(pattern).unwrap(),
                kind: None,
                repository: Some(id.clone()),
                limit: 100,
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|hit| hit.name)
        .collect()
}

/// 50,000 symbols (and as many references) in one batch come back exactly.
async fn a_large_batch_round_trips_exactly(store: &dyn Store) {
    const FILES: usize = 50;
    const SYMBOLS_PER_FILE: usize = 1_000;
    let acme = org(store, "acme").await;
    let repo = repository(store, &acme, "https://example.com/acme/large").await;
    let updates: Vec<FileUpdate> = (0..FILES)
        .map(|f| {
            let names: Vec<String> = (0..SYMBOLS_PER_FILE)
                .map(|s| format!("sym_{f}_{s}\t\\{}", if s % 7 == 0 { "é" } else { "" }))
                .collect();
            let symbols: Vec<(&str, &str, u32)> = names
                .iter()
                .enumerate()
                .map(|(s, name)| {
                    (
                        name.as_str(),
                        if s % 2 == 0 { "function" } else { "struct" },
                        s as u32 + 1,
                    )
                })
                .collect();
            let references: Vec<(&str, u32)> = names
                .iter()
                .enumerate()
                .map(|(s, name)| (name.as_str(), s as u32 + 2))
                .collect();
            file(&format!("src/large/file_{f:03}.rs"), &symbols, &references)
        })
        .collect();
    let mut update = store.begin_update(&repo.id).await.unwrap();
    update.upsert_files(&updates).await.unwrap();
    update.commit("large").await.unwrap();

    assert_eq!(store.files(&repo.id).await.unwrap().len(), FILES);
    let mut total = 0;
    for expected in &updates {
        let stored = symbols_of(store, &repo.id, &expected.file.path).await;
        let wanted: Vec<(String, String, u32, u32)> = expected
            .analysis
            .symbols
            .iter()
            .map(|s| (s.name.clone(), s.kind.clone(), s.line_start, s.line_end))
            .collect();
        assert_eq!(stored, wanted, "{}", expected.file.path);
        total += stored.len();
    }
    assert_eq!(total, FILES * SYMBOLS_PER_FILE);
    let uses = store
        .find_references(&acme, "sym_49_999\t\\", Some(&repo.id), 10)
        .await
        .unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!(
        (uses[0].path.as_str(), uses[0].line),
        ("src/large/file_049.rs", 1001)
    );
    assert_eq!(
        names_in(store, &acme, &repo.id, "SYM_7_700?\\é").await,
        ["sym_7_700\t\\é"]
    );
    store.delete_repository(&acme, &repo.id).await.unwrap();
}

/// Until `commit`, readers see the previous commit whole: its repository row, files,
/// symbols, references and import edges, even after the update wrote every batch.
async fn a_reader_during_an_unfinished_update_sees_the_old_commit(store: &dyn Store) {
    let acme = org(store, "acme").await;
    let repo = repository(store, &acme, "https://example.com/acme/snapshots").await;
    let mut update = store.begin_update(&repo.id).await.unwrap();
    let mut main = file(
        "src/main.rs",
        &[("old_main", "function", 1)],
        &[("old_call", 2)],
    );
    main.imports[0].targets = Vec::new(); // ./lib does not exist yet
    update
        .upsert_files(&[
            main,
            file("src/old.rs", &[("old_only", "function", 1)], &[]),
        ])
        .await
        .unwrap();
    update.commit("old-commit").await.unwrap();

    let old_files: Vec<String> = store
        .files(&repo.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(old_files, ["src/main.rs", "src/old.rs"]);
    let old_repository = store.repository(&acme, &repo.id).await.unwrap().unwrap();

    // The next run: main.rs changes, old.rs goes, lib.rs appears and ./lib resolves.
    let mut update = store.begin_update(&repo.id).await.unwrap();
    update
        .delete_files(&["src/old.rs".to_string()])
        .await
        .unwrap();
    let mut main = file(
        "src/main.rs",
        &[("new_main", "function", 1)],
        &[("new_call", 2)],
    );
    main.imports[0].targets = Vec::new();
    update
        .upsert_files(&[main, file("src/lib.rs", &[("new_lib", "function", 1)], &[])])
        .await
        .unwrap();
    let resolve = |import: &StoredImport| -> Vec<String> {
        if import.spec == "./lib" && import.path == "src/main.rs" {
            vec!["src/lib.rs".to_string()]
        } else {
            Vec::new()
        }
    };
    update.reresolve_imports(&resolve).await.unwrap();

    let check_old = || async {
        assert_eq!(
            store.repository(&acme, &repo.id).await.unwrap().unwrap(),
            old_repository
        );
        let files: Vec<String> = store
            .files(&repo.id)
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(files, old_files);
        assert_eq!(
            names_in(store, &acme, &repo.id, "old_*").await,
            ["old_main", "old_only"]
        );
        assert!(names_in(store, &acme, &repo.id, "new_*").await.is_empty());
        assert_eq!(
            store
                .find_references(&acme, "old_call", None, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(store
            .find_references(&acme, "new_call", None, 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .edges(
                &repo.id,
                &["src/main.rs".to_string()],
                EdgeDirection::Dependencies
            )
            .await
            .unwrap()
            .is_empty());
        assert_eq!(symbols_of(store, &repo.id, "src/old.rs").await.len(), 1);
    };
    // Read concurrently with the open update (another connection, while it is pending).
    check_old().await;

    update.commit("new-commit").await.unwrap();
    let now = store.repository(&acme, &repo.id).await.unwrap().unwrap();
    assert_eq!(now.last_indexed_commit.as_deref(), Some("new-commit"));
    let files: Vec<String> = store
        .files(&repo.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(files, ["src/lib.rs", "src/main.rs"]);
    assert!(names_in(store, &acme, &repo.id, "old_*").await.is_empty());
    assert_eq!(
        names_in(store, &acme, &repo.id, "new_*").await,
        ["new_lib", "new_main"]
    );
    assert!(store
        .find_references(&acme, "old_call", None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .edges(
                &repo.id,
                &["src/main.rs".to_string()],
                EdgeDirection::Dependencies
            )
            .await
            .unwrap(),
        [("src/main.rs".to_string(), "src/lib.rs".to_string())]
    );
    assert_eq!(
        store
            .edges(
                &repo.id,
                &["src/lib.rs".to_string()],
                EdgeDirection::Dependents
            )
            .await
            .unwrap(),
        [("src/lib.rs".to_string(), "src/main.rs".to_string())]
    );
    assert!(symbols_of(store, &repo.id, "src/old.rs").await.is_empty());
    store.delete_repository(&acme, &repo.id).await.unwrap();
}

/// A NUL in a symbol name: every backend keeps the other characters and finds the
/// symbol; `stored_as` is how the backend spells it (SQLite keeps the NUL, Postgres text
/// cannot hold one and stores U+FFFD instead).
pub(crate) async fn nul_in_names(store: &dyn Store, stored_as: &str) {
    let acme = org(store, "acme").await;
    let repo = repository(store, &acme, "https://example.com/acme/nul").await;
    let mut update = store.begin_update(&repo.id).await.unwrap();
    update
        .upsert_files(&[file("src/nul.rs", &[("nul\0name", "function", 1)], &[])])
        .await
        .unwrap();
    update.commit("nul").await.unwrap();
    assert_eq!(
        symbols_of(store, &repo.id, "src/nul.rs").await,
        [(stored_as.to_string(), "function".to_string(), 1, 2)]
    );
    if !stored_as.contains('\0') {
        // (SQLite's LIKE stops at a NUL: there a name with one is not found by pattern.)
        assert_eq!(
            names_in(store, &acme, &repo.id, "nul*name").await,
            [stored_as]
        );
    }
    store.delete_repository(&acme, &repo.id).await.unwrap();
}

/// Webhook deliveries: a redelivery changes nothing; a push coalesces into a queued (never
/// a running) job; delivery ids are per repository and reads per organization; deliveries
/// follow their job's claim and outcome; secret rotation keeps the previous version for
/// its grace period only, and only the owner can rotate.
async fn webhook_deliveries_dedupe_coalesce_and_follow_their_job(store: &dyn Store) {
    use crate::store::webhooks::*;
    drain(store).await;
    let mine = org(store, "webhooks-mine").await;
    let other = org(store, "webhooks-other").await;
    let a = repository(store, &mine, "https://example.com/hooks/a").await;
    let b = repository(store, &other, "https://example.com/hooks/b").await;
    let push = |revision: &str| DeliveryAction::Enqueue {
        revision: revision.to_string(),
    };
    let target = store.webhook_target(&a.id).await.unwrap().unwrap();
    assert_eq!((target.secret_version, target.previous_version), (0, None));
    assert!(store
        .webhook_target(&RepositoryId::new_random())
        .await
        .unwrap()
        .is_none());

    let DeliveryOutcome::Queued { job_id: first } = store
        .record_delivery(&a.id, "d1", "push", &push("r1"))
        .await
        .unwrap()
    else {
        panic!("the first push queues a job")
    };
    assert_eq!(
        store
            .record_delivery(&a.id, "d1", "push", &push("r1"))
            .await
            .unwrap(),
        DeliveryOutcome::Duplicate {
            job_id: Some(first.clone())
        }
    );
    assert_eq!(
        store
            .record_delivery(&a.id, "d2", "push", &push("r2"))
            .await
            .unwrap(),
        DeliveryOutcome::Coalesced {
            job_id: first.clone()
        }
    );
    let job = store.job(&mine, &first).await.unwrap().unwrap();
    assert_eq!(job.revision.as_deref(), Some("r2"));
    assert_eq!(job.job_type, JobType::IncrementalUpdate);
    // Another repository's delivery with the same id is its own, with its own job.
    let DeliveryOutcome::Queued { job_id: theirs } = store
        .record_delivery(&b.id, "d1", "push", &push("r1"))
        .await
        .unwrap()
    else {
        panic!("another repository's delivery id is not a duplicate")
    };
    assert_ne!(theirs, first);
    assert_eq!(
        store
            .record_delivery(
                &a.id,
                "p1",
                "ping",
                &DeliveryAction::Ignore {
                    reason: "ping".into()
                }
            )
            .await
            .unwrap(),
        DeliveryOutcome::Ignored {
            reason: "ping".into()
        }
    );
    assert_eq!(
        store
            .record_delivery(
                &a.id,
                "p1",
                "ping",
                &DeliveryAction::Ignore {
                    reason: "ping".into()
                }
            )
            .await
            .unwrap(),
        DeliveryOutcome::Duplicate { job_id: None }
    );
    let seen = store.deliveries(&mine, &a.id, 10).await.unwrap();
    let ids: Vec<&str> = seen.iter().map(|d| d.delivery_id.as_str()).collect();
    assert_eq!(ids, ["p1", "d2", "d1"]);
    assert_eq!(seen[0].status, "processed");
    assert_eq!(seen[0].ignored_reason.as_deref(), Some("ping"));
    assert!(seen[0].processed_at.is_some());
    assert!(seen[1..]
        .iter()
        .all(|d| d.status == "queued" && d.job_id.as_deref() == Some(first.as_str())));
    assert!(store
        .deliveries(&other, &a.id, 10)
        .await
        .unwrap()
        .is_empty());

    // Claimed: processing; a push meanwhile queues a new job instead of joining it.
    let mut claims = Vec::new();
    while let Some(claim) = store.claim_job("w", Duration::from_secs(60)).await.unwrap() {
        claims.push(claim);
    }
    assert_eq!(claims.len(), 2);
    let status = |list: &[DeliveryRecord], id: &str| {
        list.iter()
            .find(|d| d.delivery_id == id)
            .map(|d| d.status.clone())
            .unwrap()
    };
    let seen = store.deliveries(&mine, &a.id, 10).await.unwrap();
    assert_eq!(status(&seen, "d1"), "processing");
    assert_eq!(status(&seen, "d2"), "processing");
    let DeliveryOutcome::Queued { job_id: next } = store
        .record_delivery(&a.id, "d3", "push", &push("r3"))
        .await
        .unwrap()
    else {
        panic!("a push while the job runs queues a new one")
    };
    assert_ne!(next, first);
    for claim in &claims {
        let outcome = if claim.job.id == first {
            JobOutcome::Succeeded
        } else {
            JobOutcome::Failed {
                error: "boom".into(),
            }
        };
        store
            .finish_job(&claim.job.id, &claim.token, &outcome)
            .await
            .unwrap();
    }
    let seen = store.deliveries(&mine, &a.id, 10).await.unwrap();
    assert_eq!(status(&seen, "d1"), "processed");
    assert_eq!(status(&seen, "d2"), "processed");
    assert_eq!(status(&seen, "d3"), "queued");
    let failed = store.deliveries(&other, &b.id, 10).await.unwrap();
    assert_eq!(failed[0].status, "failed");
    assert_eq!(failed[0].error_message.as_deref(), Some("boom"));
    // A retry puts the delivery back in the queue.
    let claim = store
        .claim_job("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.job.id, next);
    store
        .finish_job(
            &claim.job.id,
            &claim.token,
            &JobOutcome::Retry {
                error: "later".into(),
                after: Duration::from_secs(3600),
            },
        )
        .await
        .unwrap();
    let seen = store.deliveries(&mine, &a.id, 10).await.unwrap();
    assert_eq!(status(&seen, "d3"), "queued");

    // Rotation: the owner only; the previous version verifies during its grace period.
    assert_eq!(
        store
            .rotate_webhook_secret(&other, &a.id, Duration::from_secs(3600))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .rotate_webhook_secret(&mine, &a.id, Duration::from_secs(3600))
            .await
            .unwrap(),
        Some(1)
    );
    let target = store.webhook_target(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (target.secret_version, target.previous_version),
        (1, Some(0))
    );
    assert_eq!(
        store
            .rotate_webhook_secret(&mine, &a.id, Duration::ZERO)
            .await
            .unwrap(),
        Some(2)
    );
    let target = store.webhook_target(&a.id).await.unwrap().unwrap();
    assert_eq!((target.secret_version, target.previous_version), (2, None));
    assert_eq!(
        store.webhook_secret_version(&mine, &a.id).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.webhook_secret_version(&other, &a.id).await.unwrap(),
        None
    );
    drain(store).await;
}

/// Two queued jobs of one repository, the first claimed: the id of the second, which
/// the backend's own test then tries to mark running behind the claim's back (the
/// database must refuse: `indexing_jobs_one_running`).
pub(crate) async fn a_running_job_and_its_queued_sibling(store: &dyn Store) -> String {
    let acme = org(store, "acme").await;
    let repo = repository(store, &acme, "https://example.com/acme/siblings").await;
    let first = store
        .enqueue_job(&repo.id, JobType::FullIndex, None)
        .await
        .unwrap();
    let second = store
        .enqueue_job(&repo.id, JobType::FullIndex, None)
        .await
        .unwrap();
    let claim = store
        .claim_job("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.job.id, first.id);
    second.id
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn usage_of(
    org: &OrganizationId,
    user: Option<&str>,
    endpoint: &str,
    status: u16,
    ms: u32,
    when: &str,
) -> UsageEvent {
    UsageEvent {
        key_id: None,
        user_id: user.map(str::to_string),
        organization: org.clone(),
        endpoint: endpoint.to_string(),
        method: "GET".to_string(),
        status,
        response_ms: ms,
        at: at(when),
    }
}

fn hour(start: &str, subject: &str, endpoint: &str, counts: [u64; 4], max: u32) -> UsageHour {
    UsageHour {
        hour_start: at(start),
        subject: subject.to_string(),
        endpoint: endpoint.to_string(),
        requests: counts[0],
        client_errors: counts[1],
        server_errors: counts[2],
        total_response_ms: counts[3],
        max_response_ms: max,
    }
}

/// Hours in 2020, long before any other record of the suite, with `now` passed in.
async fn usage_rolls_up_by_hour_idempotently_and_retention_keeps_what_is_not_rolled_up(
    store: &dyn Store,
) {
    let acme = org(store, "upkeep-usage").await;
    let [one, two] = MEMBER_USER_IDS;
    let (u1, u2) = (format!("user:{one}"), format!("user:{two}"));
    store
        .record_usage(&[
            usage_of(&acme, Some(one), "/search", 200, 10, "2020-01-01T10:05:00Z"),
            usage_of(&acme, Some(one), "/search", 404, 30, "2020-01-01T10:30:00Z"),
            usage_of(
                &acme,
                Some(one),
                "/files",
                500,
                5,
                "2020-01-01T10:59:59.999Z",
            ),
            usage_of(&acme, Some(two), "/search", 200, 7, "2020-01-01T11:00:00Z"),
            usage_of(&acme, None, "/search", 200, 2, "2020-01-01T11:15:00Z"),
            usage_of(&acme, Some(one), "/search", 200, 1, "2020-01-01T12:10:00Z"),
        ])
        .await
        .unwrap();
    let day = || {
        let acme = acme.clone();
        async move {
            store
                .usage_hours(
                    &acme,
                    at("2020-01-01T00:00:00Z"),
                    at("2020-01-02T00:00:00Z"),
                )
                .await
                .unwrap()
        }
    };
    // Nothing rolled up yet: retention keeps every raw record.
    let nothing = Retention {
        usage_before: at("2030-01-01T00:00:00Z"),
        job_events_before: at("2000-01-01T00:00:00Z"),
        deliveries_before: at("2000-01-01T00:00:00Z"),
    };
    assert_eq!(store.delete_expired(&nothing).await.unwrap().usage, 0);

    // At 12:30 the hours 10 and 11 are complete; 12 is not.
    let rolled = store
        .roll_up_usage(at("2020-01-01T12:30:00Z"))
        .await
        .unwrap();
    assert_eq!(rolled.rolled_up_to, Some(at("2020-01-01T12:00:00Z")));
    let expected = vec![
        hour("2020-01-01T10:00:00Z", &u1, "/files", [1, 0, 1, 5], 5),
        hour("2020-01-01T10:00:00Z", &u1, "/search", [2, 1, 0, 40], 30),
        hour(
            "2020-01-01T11:00:00Z",
            "anonymous",
            "/search",
            [1, 0, 0, 2],
            2,
        ),
        hour("2020-01-01T11:00:00Z", &u2, "/search", [1, 0, 0, 7], 7),
    ];
    assert_eq!(day().await, expected);
    // Rolling the same hours again gives the same totals.
    store
        .roll_up_usage(at("2020-01-01T12:30:00Z"))
        .await
        .unwrap();
    assert_eq!(day().await, expected, "a roll-up is idempotent");
    // An earlier `now` never moves the watermark back.
    let earlier = store
        .roll_up_usage(at("2020-01-01T11:30:00Z"))
        .await
        .unwrap();
    assert_eq!(earlier.rolled_up_to, Some(at("2020-01-01T12:00:00Z")));
    assert_eq!(day().await, expected);

    // A late batch for 11:00 is counted when the last hours are rolled again.
    store
        .record_usage(&[usage_of(
            &acme,
            Some(two),
            "/search",
            200,
            3,
            "2020-01-01T11:30:00Z",
        )])
        .await
        .unwrap();
    store
        .roll_up_usage(at("2020-01-01T13:10:00Z"))
        .await
        .unwrap();
    let expected = vec![
        hour("2020-01-01T10:00:00Z", &u1, "/files", [1, 0, 1, 5], 5),
        hour("2020-01-01T10:00:00Z", &u1, "/search", [2, 1, 0, 40], 30),
        hour(
            "2020-01-01T11:00:00Z",
            "anonymous",
            "/search",
            [1, 0, 0, 2],
            2,
        ),
        hour("2020-01-01T11:00:00Z", &u2, "/search", [2, 0, 0, 10], 7),
        hour("2020-01-01T12:00:00Z", &u1, "/search", [1, 0, 0, 1], 1),
    ];
    assert_eq!(day().await, expected);

    // Retention: only records before the cutoff and outside the re-roll margin (the
    // watermark, 13:00, less two hours) go: the three of 10:00.
    let before = store.usage_count(&acme).await.unwrap();
    let deleted = store.delete_expired(&nothing).await.unwrap();
    assert_eq!(
        deleted,
        Deleted {
            usage: 3,
            job_events: 0,
            deliveries: 0
        }
    );
    assert_eq!(store.usage_count(&acme).await.unwrap(), before - 3);
    let cutoff_first = Retention {
        usage_before: at("2020-01-01T10:30:00Z"),
        ..nothing
    };
    assert_eq!(store.delete_expired(&cutoff_first).await.unwrap().usage, 0);
    // The summary outlives its raw records, and rolling again does not change it.
    store
        .roll_up_usage(at("2020-01-01T13:10:00Z"))
        .await
        .unwrap();
    assert_eq!(day().await, expected);
    let other = org(store, "upkeep-usage-other").await;
    assert!(store
        .usage_hours(
            &other,
            at("2020-01-01T00:00:00Z"),
            at("2020-01-02T00:00:00Z")
        )
        .await
        .unwrap()
        .is_empty());
}

async fn retention_deletes_only_settled_old_events_and_deliveries(store: &dyn Store) {
    use crate::store::webhooks::*;
    drain(store).await;
    let acme = org(store, "upkeep-retention").await;
    let done = repository(store, &acme, "https://example.com/upkeep/done").await;
    let waiting = repository(store, &acme, "https://example.com/upkeep/waiting").await;
    let push = DeliveryAction::Enqueue {
        revision: "r1".to_string(),
    };
    let DeliveryOutcome::Queued { job_id: finished } = store
        .record_delivery(&done.id, "old-1", "push", &push)
        .await
        .unwrap()
    else {
        panic!("a push queues a job")
    };
    let claim = store
        .claim_job("upkeep", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.job.id, finished);
    store
        .finish_job(&claim.job.id, &claim.token, &JobOutcome::Succeeded)
        .await
        .unwrap();
    let DeliveryOutcome::Queued { job_id: queued } = store
        .record_delivery(&waiting.id, "new-1", "push", &push)
        .await
        .unwrap()
    else {
        panic!("a push queues a job")
    };
    let now = Timestamp::now();
    let events = |id: String| {
        let acme = acme.clone();
        async move { store.job_events(&acme, &id).await.unwrap().len() }
    };
    assert!(events(finished.clone()).await > 0 && events(queued.clone()).await > 0);

    // A cutoff an hour ago: the job finished after it, nothing of it goes.
    let hour_ago = Retention {
        usage_before: at("2000-01-01T00:00:00Z"),
        job_events_before: crate::store::upkeep::shifted(now, -3600),
        deliveries_before: crate::store::upkeep::shifted(now, -3600),
    };
    store.delete_expired(&hour_ago).await.unwrap();
    assert!(events(finished.clone()).await > 0);
    assert_eq!(
        store.deliveries(&acme, &done.id, 10).await.unwrap().len(),
        1
    );

    // A cutoff an hour ahead (the clock moved on): the finished job's events and its
    // processed delivery go; the queued job keeps its events and its waiting delivery.
    let hour_ahead = Retention {
        job_events_before: crate::store::upkeep::shifted(now, 3600),
        deliveries_before: crate::store::upkeep::shifted(now, 3600),
        ..hour_ago
    };
    let deleted = store.delete_expired(&hour_ahead).await.unwrap();
    assert!(
        deleted.job_events >= 1 && deleted.deliveries >= 1,
        "{deleted:?}"
    );
    assert_eq!(events(finished.clone()).await, 0);
    assert!(events(queued.clone()).await > 0);
    assert!(store
        .deliveries(&acme, &done.id, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .deliveries(&acme, &waiting.id, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // The job itself stays (its row is the record of what ran).
    assert!(store.job(&acme, &finished).await.unwrap().is_some());
    drain(store).await;
}

async fn vitals_count_the_queue_and_alerts_open_once(store: &dyn Store) {
    drain(store).await;
    let acme = org(store, "upkeep-vitals").await;
    let hour = Duration::from_secs(3600);
    let now = Timestamp::now();
    let start = store.vitals(now, hour, hour).await.unwrap();
    let a = repository(store, &acme, "https://example.com/upkeep/vitals-a").await;
    let b = repository(store, &acme, "https://example.com/upkeep/vitals-b").await;
    let c = repository(store, &acme, "https://example.com/upkeep/vitals-c").await;
    store
        .enqueue_job(&a.id, JobType::FullIndex, None)
        .await
        .unwrap();
    let failing = store
        .claim_job("upkeep", Duration::from_secs(600))
        .await
        .unwrap()
        .unwrap();
    store
        .finish_job(
            &failing.job.id,
            &failing.token,
            &JobOutcome::Failed {
                error: "boom".into(),
            },
        )
        .await
        .unwrap();
    store
        .enqueue_job(&b.id, JobType::FullIndex, None)
        .await
        .unwrap();
    let running = store
        .claim_job("upkeep", Duration::from_secs(600))
        .await
        .unwrap()
        .unwrap();
    store
        .enqueue_job(&c.id, JobType::FullIndex, None)
        .await
        .unwrap();

    let now = Timestamp::now();
    let seen = store.vitals(now, hour, hour).await.unwrap();
    assert_eq!(seen.queued, start.queued + 1);
    assert_eq!(seen.finished_recent, start.finished_recent + 1);
    assert_eq!(seen.failed_recent, start.failed_recent + 1);
    assert_eq!(seen.stuck, start.stuck, "running for less than an hour");
    let later = crate::store::upkeep::shifted(now, 2 * 3600);
    let seen_later = store.vitals(later, hour, hour).await.unwrap();
    assert!(
        seen_later.stuck > seen.stuck,
        "running for two hours by then"
    );
    assert_eq!(
        seen_later.failed_recent, 0,
        "the failure is older than the window"
    );

    assert!(store
        .open_alert("queue_depth", "9 queued", now)
        .await
        .unwrap());
    assert!(!store
        .open_alert("queue_depth", "10 queued", now)
        .await
        .unwrap());
    assert!(store
        .open_alert("stuck_jobs", "1 stuck", now)
        .await
        .unwrap());
    assert_eq!(
        store.open_alerts().await.unwrap(),
        vec!["queue_depth".to_string(), "stuck_jobs".to_string()]
    );
    assert!(store.close_alert("queue_depth").await.unwrap());
    assert!(!store.close_alert("queue_depth").await.unwrap());
    assert!(store.close_alert("stuck_jobs").await.unwrap());
    assert!(store.open_alerts().await.unwrap().is_empty());

    store
        .finish_job(&running.job.id, &running.token, &JobOutcome::Succeeded)
        .await
        .unwrap();
    drain(store).await;
}
