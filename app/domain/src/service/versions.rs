//! Reading what is there: groups, versions with their logs, what is live where, a
//! group's history, and what pipelines resolve.

use super::*;

/// A version live in an environment, and since when (its deployment's approval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveVersion {
    pub version: VersionNumber,
    pub since: time::OffsetDateTime,
}

/// What is live in a group's environments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveState {
    pub versions: BTreeMap<Environment, LiveVersion>,
    /// Environments whose live value the log does not explain.
    pub drift: Vec<Drift>,
}

/// A version together with its decision log.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionRecord {
    pub version: ModelVersion,
    pub decisions: Vec<DecisionRecord>,
}

impl Services {
    /// Every model group with a summary, by name.
    pub async fn list_groups(&self) -> Result<Vec<GroupSummary>, ServiceError> {
        Ok(self.ports.registry.list_groups().await?)
    }

    /// One page of a group's versions, newest first; `NotFound` for a group with none.
    pub async fn list_versions(
        &self,
        group: &GroupName,
        page: PageRequest,
    ) -> Result<Page<ModelVersion>, ServiceError> {
        let listed = self.ports.registry.list_versions(group, page).await?;
        if listed.total == 0 {
            return Err(ServiceError::NotFound(format!(
                "There is no model group named {group}."
            )));
        }
        Ok(listed)
    }

    /// The version live in `environment`, if any.
    pub async fn live_version(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<ModelVersion>, ServiceError> {
        let Some(deployment) = self.ports.parameters.live(group, environment).await? else {
            return Ok(None);
        };
        Ok(self
            .ports
            .registry
            .find_version(group, deployment.version)
            .await?)
    }

    /// One version, or `NotFound` naming it.
    pub async fn find_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<ModelVersion, ServiceError> {
        let found = self.ports.registry.find_version(group, version).await?;
        found.ok_or_else(|| no_such_version(group, version))
    }

    pub async fn version_record(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<VersionRecord, ServiceError> {
        let found = self
            .ports
            .registry
            .find_version_and_decisions(group, version)
            .await?;
        let Some((version, decisions)) = found else {
            return Err(no_such_version(group, version));
        };
        let decisions = match decisions {
            Some(decisions) => decisions,
            None => {
                self.ports
                    .audit
                    .decisions_for_version(&version.group, version.version)
                    .await?
            }
        };
        self.keep_signatures_no_longer_binding(&version, &decisions)
            .await?;
        Ok(VersionRecord { version, decisions })
    }

    /// Keeps, in the group's trail, each signature on `version` (an approval or a rejection;
    /// a rollback signs the version it puts back) the registry's record no longer matches:
    /// changed outside the portal after signing. Once per digest seen.
    pub(super) async fn keep_signatures_no_longer_binding(
        &self,
        version: &ModelVersion,
        decisions: &[DecisionRecord],
    ) -> Result<(), ServiceError> {
        let signed_here =
            |d: &&DecisionRecord| d.version == version.version && d.verdict != Verdict::Rollback;
        for decision in decisions.iter().filter(signed_here) {
            let (Some(signature), Some(digest_now)) = (
                &decision.signature,
                crate::signature::digest_now(decision, version),
            ) else {
                continue;
            };
            if digest_now == signature.record_digest {
                continue;
            }
            let event = AuditEvent::SignatureNoLongerBinds {
                version: version.version,
                environment: decision.environment.clone(),
                decision_id: decision.id.clone(),
                signed_digest: signature.record_digest.clone(),
                digest_now,
            };
            self.record_once(&version.group, crate::audit::PORTAL_ACTOR, event)
                .await?;
        }
        Ok(())
    }

    /// What was live in each environment and when, and every decision, for one group.
    pub async fn group_history(&self, group: &GroupName) -> Result<GroupHistory, ServiceError> {
        let (deployments, live) = self.deployments_and_live(group).await?;
        let environments = self.policy.environments();
        Ok(GroupHistory {
            group: group.clone(),
            live: crate::history::live_periods(environments, &deployments),
            decisions: self.ports.audit.decisions_for_group(group).await?,
            drift: crate::history::drift(environments, &live, &deployments),
        })
    }

    /// The version live in each environment that has one, and where that is not what the
    /// log last deployed.
    pub async fn live_state(&self, group: &GroupName) -> Result<LiveState, ServiceError> {
        let (deployments, live) = self.deployments_and_live(group).await?;
        Ok(LiveState {
            drift: crate::history::drift(self.policy.environments(), &live, &deployments),
            versions: live
                .into_iter()
                .map(|(env, deployment)| {
                    let live = LiveVersion {
                        version: deployment.version,
                        since: deployment.approved_at,
                    };
                    (env, live)
                })
                .collect(),
        })
    }

    /// The group's logged deployments and what is live in each environment. Live values
    /// come through the cache, which may lag a decision another replica just took; where
    /// they disagree with the log, both are read again from the store itself, so that drift
    /// is only reported when the store shows it.
    pub(super) async fn deployments_and_live(
        &self,
        group: &GroupName,
    ) -> Result<(Vec<Deployment>, BTreeMap<Environment, Deployment>), ServiceError> {
        let environments = self.policy.environments();
        let deployments = self.ports.parameters.history(group).await?;
        let live = self.live_deployments(group, false).await?;
        if crate::history::drift(environments, &live, &deployments).is_empty() {
            return Ok((deployments, live));
        }
        let deployments = self.ports.parameters.history(group).await?;
        let live = self.live_deployments(group, true).await?;
        for drift in crate::history::drift(environments, &live, &deployments) {
            self.keep_drift(group, drift).await?;
        }
        Ok((deployments, live))
    }

    /// Keeps `drift`, read from the store itself, in the group's trail: once per state seen
    /// (its entry's key is made from what differs), however often pages and pipelines meet it.
    async fn keep_drift(&self, group: &GroupName, drift: Drift) -> Result<(), ServiceError> {
        let event = AuditEvent::DriftSeen(Box::new(drift));
        self.record_once(group, crate::audit::PORTAL_ACTOR, event)
            .await
    }

    pub(super) async fn live_deployments(
        &self,
        group: &GroupName,
        uncached: bool,
    ) -> Result<BTreeMap<Environment, Deployment>, ServiceError> {
        let mut live = BTreeMap::new();
        for env in self.policy.environments().iter() {
            let parameters = &self.ports.parameters;
            let deployment = if uncached {
                parameters.live_uncached(group, env).await?
            } else {
                parameters.live(group, env).await?
            };
            if let Some(deployment) = deployment {
                live.insert(env.clone(), deployment);
            }
        }
        Ok(live)
    }

    /// Whether the signature that made `deployment` live still applies to its version as
    /// the registry holds it now (21 CFR 11.70). A deployment whose decision is not in the
    /// log, or was signed before signatures were recorded, has nothing to check.
    pub async fn still_signed(&self, deployment: &Deployment) -> Result<bool, ServiceError> {
        let record = self
            .version_record(&deployment.group, deployment.version)
            .await?;
        let made_live = |d: &DecisionRecord| d.id == deployment.decision_id;
        let decision = match record.decisions.iter().find(|d| made_live(d)) {
            Some(decision) => Some(decision.clone()),
            // A rollback is logged under the version it withdrew, not the one it put back.
            None => self
                .ports
                .audit
                .decisions_for_group(&deployment.group)
                .await?
                .into_iter()
                .find(made_live),
        };
        // A deployment no decision in the log made was not signed by anyone.
        Ok(decision.is_some_and(|d| crate::signature::still_binds(&d, &record.version)))
    }

    /// The model live in an environment, as pipelines resolve it: the portal's own record
    /// of what it deployed there (the guard), while the live value pipelines read agrees. A
    /// live value no decision of the portal ever deployed (written outside it) is
    /// [`ServiceError::Drift`], never served. A live value missing, or one the portal
    /// deployed earlier (a decision on its way live, or one put back), leaves the signed
    /// record served: the pages report it as drift until the next read completes it.
    pub async fn resolve(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Deployment, ServiceError> {
        let parameters = &self.ports.parameters;
        let not_found = || {
            ServiceError::NotFound(format!(
                "no version of {group} is approved for {environment}"
            ))
        };
        match parameters.live_and_deployed(group, environment).await? {
            (Some(live), Some(deployed)) if live == deployed => return Ok(deployed),
            (None, None) => return Err(not_found()),
            _ => {}
        }
        // They disagree through the cache: read both again from the store before judging.
        let (live, deployed) = futures::try_join!(
            parameters.live_uncached(group, environment),
            parameters.deployed(group, environment)
        )?;
        match (live, deployed) {
            (Some(live), Some(deployed)) if live == deployed => Ok(deployed),
            (None, None) => Err(not_found()),
            (None, Some(deployed)) => Ok(deployed),
            (Some(live), None) => {
                self.refused_for_drift(group, Drift::Unlogged { live })
                    .await
            }
            (Some(live), Some(deployed)) => {
                if parameters.history(group).await?.contains(&live) {
                    Ok(deployed)
                } else {
                    let drift = Drift::Replaced {
                        live,
                        logged: Box::new(deployed),
                    };
                    self.refused_for_drift(group, drift).await
                }
            }
        }
    }

    /// Never serves a live value the log does not explain: kept in the trail, and refused.
    async fn refused_for_drift(
        &self,
        group: &GroupName,
        drift: Drift,
    ) -> Result<Deployment, ServiceError> {
        self.keep_drift(group, drift.clone()).await?;
        Err(ServiceError::Drift(Box::new(drift)))
    }
}
