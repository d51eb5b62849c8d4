//! Whether the signature behind a live deployment still binds its version as the registry
//! holds it now (21 CFR 11.70), as the resolve endpoint asks it. Checking reads the registry
//! and the decision log, which costs far more than resolving, so each deployment's verdict is
//! kept for an interval on each replica: a registry entry changed after signing stops being
//! resolved within that interval.

use countersign_domain::service::{ServiceError, Services};
use countersign_domain::Deployment;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Deployments whose verdict is kept at once; past that, expired ones are dropped, and while
/// it is still full new verdicts are not kept.
const MAX_ENTRIES: usize = 10_000;

pub struct SignatureChecks {
    interval: Duration,
    /// By the decision that made the deployment live: when it was checked and its verdict.
    verdicts: Mutex<HashMap<String, (Instant, bool)>>,
}

impl SignatureChecks {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            verdicts: Mutex::new(HashMap::new()),
        }
    }

    fn verdicts(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, bool)>> {
        self.verdicts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `deployment` is still signed, checked at most once per interval.
    pub async fn still_signed(
        &self,
        services: &Services,
        deployment: &Deployment,
    ) -> Result<bool, ServiceError> {
        if let Some((checked, verdict)) = self.verdicts().get(&deployment.decision_id) {
            if checked.elapsed() < self.interval {
                return Ok(*verdict);
            }
        }
        let verdict = services.still_signed(deployment).await?;
        let mut verdicts = self.verdicts();
        if verdicts.len() >= MAX_ENTRIES {
            verdicts.retain(|_, (checked, _)| checked.elapsed() < self.interval);
        }
        if verdicts.len() < MAX_ENTRIES {
            verdicts.insert(deployment.decision_id.clone(), (Instant::now(), verdict));
        }
        Ok(verdict)
    }
}
