//! The model live in each environment, cached in memory, so that a burst of pipelines
//! resolving their model reaches the parameter store (SSM, whose default throughput quota is
//! small) once per environment and interval instead of once per request.
//!
//! A decision committed through this replica drops the cached environment at once: the cache
//! wraps the committer as well as the parameter store. A decision taken on another replica
//! shows here within the interval. Concurrent misses for one environment share one read;
//! failed reads are not cached. The cache holds at most [`MAX_ENTRIES`] environments: past
//! that, expired entries are dropped, and while it is still full new reads go uncached, so a
//! flood of made-up group names cannot grow it.

use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Which value of an environment: the live one pipelines read, or the portal's own record
/// of what it deployed, as resolving reads it (it serves the latter only while the two
/// agree; a decision reads the latter past the cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Read {
    Live,
    Deployed,
}

type Key = (GroupName, Environment, Read);

/// Environments held at once; a few hundred groups of four environments fit many times over.
pub const MAX_ENTRIES: usize = 10_000;

struct Entry {
    created: Instant,
    value: Arc<OnceCell<Option<Deployment>>>,
}

pub struct ResolveCache {
    parameters: Arc<dyn ParameterStore>,
    committer: Arc<dyn DecisionCommitter>,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl ResolveCache {
    pub fn new(
        parameters: Arc<dyn ParameterStore>,
        committer: Arc<dyn DecisionCommitter>,
        ttl: Duration,
    ) -> Self {
        Self {
            parameters,
            committer,
            ttl,
            capacity: MAX_ENTRIES,
            entries: Mutex::new(HashMap::new()),
        }
    }

    #[cfg(test)]
    fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The cell holding the environment's live deployment: the current one, or a new empty
    /// one when there is none or it has expired.
    fn cell(&self, key: &Key) -> Arc<OnceCell<Option<Deployment>>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some(entry) if entry.created.elapsed() < self.ttl => entry.value.clone(),
            _ => {
                let value = Arc::new(OnceCell::new());
                if entries.len() >= self.capacity {
                    entries.retain(|_, entry| entry.created.elapsed() < self.ttl);
                }
                if entries.len() >= self.capacity {
                    return value;
                }
                entries.insert(
                    key.clone(),
                    Entry {
                        created: Instant::now(),
                        value: value.clone(),
                    },
                );
                value
            }
        }
    }

    fn forget(&self, group: &GroupName, environment: &Environment) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for read in [Read::Live, Read::Deployed] {
            entries.remove(&(group.clone(), environment.clone(), read));
        }
    }
}

#[async_trait]
impl ParameterStore for ResolveCache {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        let cell = self.cell(&(group.clone(), environment.clone(), Read::Live));
        cell.get_or_try_init(|| self.parameters.live(group, environment))
            .await
            .cloned()
    }

    async fn live_uncached(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        self.parameters.live_uncached(group, environment).await
    }

    async fn deployed(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        // Past the cache: what a decision replaces must be current.
        self.parameters.deployed(group, environment).await
    }

    async fn live_and_deployed(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<(Option<Deployment>, Option<Deployment>), PortError> {
        let deployed = async {
            let cell = self.cell(&(group.clone(), environment.clone(), Read::Deployed));
            cell.get_or_try_init(|| self.parameters.deployed(group, environment))
                .await
                .cloned()
        };
        tokio::try_join!(self.live(group, environment), deployed)
    }

    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError> {
        self.parameters.history(group).await
    }
}

#[async_trait]
impl DecisionCommitter for ResolveCache {
    async fn commit(
        &self,
        effect: &DecisionEffect,
        entry: &countersign_domain::audit::AuditRecord,
    ) -> Result<countersign_domain::audit::Appended, PortError> {
        let result = self.committer.commit(effect, entry).await;
        // Dropped whatever the outcome: a failed commit may still have applied in part
        // (the AWS backend completes it on the next read).
        self.forget(&effect.record.group, &effect.record.environment);
        result
    }
}

#[cfg(test)]
mod tests;
