use super::*;
use countersign_domain::service::{Ports, Services};
use countersign_domain::testing::{approver, person};
use countersign_domain::workflow::{self, DecisionRequest};
use countersign_local_store::LocalStore;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts reads of the live parameter, as SSM's quota would.
struct CountingStore {
    inner: LocalStore,
    reads: AtomicUsize,
}

#[async_trait]
impl ParameterStore for CountingStore {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        // Slow enough that concurrent misses overlap.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.inner.live(group, environment).await
    }

    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError> {
        self.inner.history(group).await
    }
}

/// A new version of `churn` with `image`, registered straight in the store.
async fn register(store: &LocalStore, policy: &Policy, image: &str) -> ModelVersion {
    let registration = Registration {
        image_uri: image.into(),
        ..countersign_domain::testing::registration("churn", person("dana"))
    };
    store
        .register(workflow::register(
            policy,
            registration,
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap()
}

/// Registers a version with `image` and has alice approve it for dev, through `cache`.
async fn approve(store: &LocalStore, cache: &ResolveCache, policy: &Policy, image: &str) {
    let version = register(store, policy, image).await;
    let alice = approver("alice");
    let dev = Environment::parse("dev").unwrap();
    // Read past the cache, so that the test counts only the reads it means to.
    let live = store.live(&version.group, &dev).await.unwrap();
    let request = DecisionRequest::new(dev, Choice::Approve, "");
    let effect = workflow::decide(
        policy,
        &version,
        &[],
        &alice,
        &request,
        Stamp {
            id: uuid::Uuid::new_v4().to_string(),
            at: time::OffsetDateTime::now_utc(),
        },
    )
    .unwrap()
    .replacing(live.as_ref());
    let entry =
        countersign_domain::audit::AuditRecord::decided(&effect, None, Arc::new(policy.clone()));
    cache.commit(&effect, &entry).await.unwrap();
}

#[tokio::test]
async fn a_burst_reads_once_and_a_decision_is_seen_at_once() {
    let store = LocalStore::open_in_memory().unwrap();
    let counting = Arc::new(CountingStore {
        inner: store.clone(),
        reads: AtomicUsize::new(0),
    });
    let cache = Arc::new(ResolveCache::new(
        counting.clone(),
        Arc::new(store.clone()),
        Duration::from_secs(3600),
    ));
    let policy = Policy::new(Environments::default(), "approvers");
    let group = GroupName::parse("churn").unwrap();
    let dev = Environment::parse("dev").unwrap();

    assert_eq!(cache.live(&group, &dev).await.unwrap(), None);
    assert_eq!(
        cache.live(&group, &dev).await.unwrap(),
        None,
        "nothing live is cached too"
    );
    assert_eq!(counting.reads.load(Ordering::SeqCst), 1);

    approve(&store, &cache, &policy, "img:1").await;
    let burst = (0..50).map(|_| {
        let cache = cache.clone();
        let (group, dev) = (group.clone(), dev.clone());
        tokio::spawn(async move { cache.live(&group, &dev).await.unwrap() })
    });
    for resolved in futures::future::join_all(burst).await {
        assert_eq!(
            resolved.unwrap().unwrap().image_uri,
            "img:1",
            "the decision is seen at once"
        );
    }
    assert_eq!(
        counting.reads.load(Ordering::SeqCst),
        2,
        "fifty concurrent requests, one read"
    );

    approve(&store, &cache, &policy, "img:2").await;
    let live = cache.live(&group, &dev).await.unwrap().unwrap();
    assert_eq!(live.image_uri, "img:2");
}

#[tokio::test]
async fn entries_expire_so_other_replicas_decisions_show() {
    let store = LocalStore::open_in_memory().unwrap();
    let cache = ResolveCache::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Duration::from_millis(50),
    );
    let other_replica = ResolveCache::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Duration::from_millis(50),
    );
    let policy = Policy::new(Environments::default(), "approvers");
    let group = GroupName::parse("churn").unwrap();
    let dev = Environment::parse("dev").unwrap();
    assert_eq!(cache.live(&group, &dev).await.unwrap(), None);
    approve(&store, &other_replica, &policy, "img:1").await;
    assert_eq!(
        cache.live(&group, &dev).await.unwrap(),
        None,
        "still cached here"
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(
        cache.live(&group, &dev).await.unwrap().is_some(),
        "expired and read again"
    );
}

#[tokio::test]
async fn made_up_groups_never_grow_the_cache_past_its_capacity() {
    let store = LocalStore::open_in_memory().unwrap();
    let cache = ResolveCache::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Duration::from_secs(60),
    )
    .with_capacity(8);
    let dev = Environment::parse("dev").unwrap();
    for n in 0..50 {
        let group = GroupName::parse(&format!("made-up-{n}")).unwrap();
        assert_eq!(cache.live(&group, &dev).await.unwrap(), None);
    }
    assert_eq!(cache.entries.lock().unwrap().len(), 8);
}

/// This replica's cache still holds "nothing live" after another replica's approval:
/// its pages must not call that drift, and its next decision must not be a conflict.
#[tokio::test]
async fn a_lagging_cache_shows_no_drift_and_causes_no_conflict() {
    let store = LocalStore::open_in_memory().unwrap();
    let here = Arc::new(ResolveCache::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Duration::from_secs(3600),
    ));
    let mut ports = Ports::of(Arc::new(store.clone()));
    ports.parameters = here.clone();
    ports.committer = here.clone();
    let policy = Policy::new(Environments::default(), "approvers");
    let services = Services::new(ports, policy.clone(), Arc::new(crate::backend::RandomIds));
    let other_replica = ResolveCache::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Duration::from_secs(3600),
    );
    let group = GroupName::parse("churn").unwrap();
    let dev = Environment::parse("dev").unwrap();
    assert!(
        services.resolve(&group, &dev).await.is_err(),
        "nothing live yet, cached"
    );

    approve(&store, &other_replica, &policy, "img:1").await;

    assert!(
        services.resolve(&group, &dev).await.is_err(),
        "pipelines asking here see it once the interval has passed"
    );
    let state = services.live_state(&group).await.unwrap();
    assert_eq!(state.drift, vec![], "the store agrees with the log");
    assert_eq!(state.versions.get(&dev).map(|v| v.version.get()), Some(1));

    let second = register(&store, &policy, "img:2").await;
    let approved = services
        .decide(
            &approver("alice"),
            &group,
            second.version,
            &workflow::DecisionRequest::new(dev.clone(), Choice::Approve, ""),
        )
        .await
        .expect("computed against what the store holds, not the cache");
    assert!(
        approved.replaces.is_some(),
        "it replaces the other replica's deployment"
    );
    assert_eq!(
        services.resolve(&group, &dev).await.unwrap().version,
        second.version
    );
}
