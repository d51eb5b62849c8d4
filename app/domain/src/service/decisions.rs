//! Deciding: a decision or rollback prepared for the confirmation step, then signed,
//! and every signing attempt recorded.

use super::*;

/// What a signature did, for its signer to be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedOutcome {
    Rejected,
    /// The version is live in the environment now.
    Approved,
    /// The approval is recorded; the step needs another approver.
    ApprovalRecorded,
    /// The environment is back on `to`; the record's version is rolled back there.
    RolledBack {
        to: VersionNumber,
    },
}

/// A signature made: its record, and what it did.
#[derive(Clone, Debug)]
pub struct Signed {
    pub record: DecisionRecord,
    pub outcome: SignedOutcome,
}

/// A decision or rollback computed for the confirmation step, not applied.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Everything it would change; `effect.signed` is what the signer confirms.
    pub effect: DecisionEffect,
    /// The version whose people are told once it is applied (for a rollback, the version it
    /// withdraws, if any).
    told_about: Option<ModelVersion>,
}

impl Services {
    /// What `what` would do if `actor` signed it now: the whole effect, whose `signed` is
    /// what the confirmation step shows and whose record digest the signer confirms.
    /// Refused with the reason, as signing it would be; nothing is written.
    pub async fn prepare(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
    ) -> Result<Prepared, ServiceError> {
        match what {
            SigningRequest::Decide { version, request } => {
                let record = self.version_record(group, *version).await?;
                let live = self
                    .ports
                    .parameters
                    .deployed(group, &request.environment)
                    .await?;
                let effect = workflow::decide(
                    &self.policy,
                    &record.version,
                    &record.decisions,
                    actor,
                    request,
                    self.stamp(),
                )?
                .replacing(live.as_ref());
                Ok(Prepared {
                    effect,
                    told_about: Some(record.version),
                })
            }
            SigningRequest::RollBack(request) => {
                let target = self.find_version(group, request.target).await?;
                let target_history = self
                    .ports
                    .audit
                    .decisions_for_version(group, request.target)
                    .await?;
                let live_deployment = self
                    .ports
                    .parameters
                    .deployed(group, &request.environment)
                    .await?;
                let live = match &live_deployment {
                    Some(deployment) => Some(self.find_version(group, deployment.version).await?),
                    None => None,
                };
                let effect = workflow::rollback(
                    &self.policy,
                    live.as_ref(),
                    &target,
                    &target_history,
                    actor,
                    request,
                    self.stamp(),
                )?
                .replacing(live_deployment.as_ref());
                // The registrant of the version a rollback withdraws is told.
                Ok(Prepared {
                    effect,
                    told_about: live,
                })
            }
        }
    }

    /// Signs and applies `what` (a decision, or a rollback under rule 9) as a whole, if the
    /// ceremony holds: the signer confirmed exactly the record it signs now and
    /// authenticated recently enough ([`workflow::check_signing`]). The signature keeps
    /// how they had authenticated.
    pub async fn sign(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
        signing: &Signing,
    ) -> Result<DecisionEffect, ServiceError> {
        let signed = match self.prepare(actor, group, what).await {
            Ok(prepared) => self.sign_prepared(actor, prepared, signing).await,
            Err(e) => Err(e),
        };
        self.kept_if_refused(actor, group, what, signed).await
    }

    /// What `actor` chose to sign, prepared for the confirmation step: [`Self::prepare`],
    /// and a refusal (not an approver, their own version, a step already decided) kept in
    /// the trail as an attempt, as a refusal when signing is.
    pub async fn choose(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
    ) -> Result<Prepared, ServiceError> {
        let prepared = self.prepare(actor, group, what).await;
        self.kept_if_refused(actor, group, what, prepared).await
    }

    /// `result`, after keeping it as a refused attempt if it is a refusal.
    async fn kept_if_refused<T>(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
        result: Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        if let Err(ServiceError::Refused(refusal)) = &result {
            let outcome = AttemptOutcome::Refused {
                reason: refusal.to_string(),
            };
            // A refusal nobody could record is a gap in the trail: say so, not the refusal.
            self.record_attempt(&actor.person, group, what, outcome)
                .await?;
        }
        result
    }

    /// Signs what `actor` confirmed and kept pending, with the ceremony's evidence: the
    /// confirmation step, and the way back from signing in again, both end here.
    pub async fn sign_pending(
        &self,
        actor: &Actor,
        pending: &PendingSignature,
        signing: &Signing,
    ) -> Result<Signed, ServiceError> {
        let effect = self
            .sign(actor, &pending.group, &pending.request, signing)
            .await?;
        let record = effect.record;
        let outcome = match (record.verdict, record.resulting_state) {
            (Verdict::Reject, _) => SignedOutcome::Rejected,
            (Verdict::Approve, StepState::Approved) => SignedOutcome::Approved,
            (Verdict::Approve, _) => SignedOutcome::ApprovalRecorded,
            (Verdict::Rollback, _) => SignedOutcome::RolledBack {
                to: pending.request.version(),
            },
        };
        Ok(Signed { record, outcome })
    }

    /// Keeps a signature that was not made, in the audit log beside the decisions.
    pub async fn record_attempt(
        &self,
        by: &Person,
        group: &GroupName,
        what: &SigningRequest,
        outcome: AttemptOutcome,
    ) -> Result<(), ServiceError> {
        let (version, verdict) = match what {
            SigningRequest::Decide { version, request } => {
                (*version, Verdict::from(request.choice))
            }
            SigningRequest::RollBack(request) => (request.target, Verdict::Rollback),
        };
        let mut attempt = SigningAttempt {
            id: String::new(),
            group: group.to_string(),
            version: version.get(),
            environment: what.environment().to_string(),
            verdict: verdict.as_str().to_owned(),
            by: by.clone(),
            at: self.clock.now(),
            outcome,
        };
        attempt.id = attempt.id_within_its_minute();
        self.ports.audit.record_attempt(&attempt).await?;
        let event = AuditEvent::SigningAttempted(Box::new(attempt));
        self.record(group, &by.subject, event).await
    }

    /// The attempts to sign something about one version, oldest first.
    pub async fn attempts_for_version(
        &self,
        group: &GroupName,
        version: VersionNumber,
    ) -> Result<Vec<SigningAttempt>, ServiceError> {
        Ok(self
            .ports
            .audit
            .attempts_for_version(group, version)
            .await?)
    }

    pub(super) async fn sign_prepared(
        &self,
        actor: &Actor,
        prepared: Prepared,
        signing: &Signing,
    ) -> Result<DecisionEffect, ServiceError> {
        let Prepared {
            mut effect,
            told_about,
        } = prepared;
        workflow::check_signing(&self.policy, &effect, signing, self.clock.now())?;
        let environment = effect.record.environment.clone();
        if let Some(signature) = &mut effect.record.signature {
            signature.authentication = Some(signing.authentication.clone());
            signature.identity_evidence = signing.evidence.clone();
            signature.groups = self
                .policy
                .approver_groups(&environment)
                .filter(|group| actor.groups.contains(*group))
                .map(str::to_owned)
                .collect();
        }
        // The decision and its audit entry, in one transaction.
        let entry = AuditRecord::decided(
            &effect,
            signing.reauthentication_asked_at,
            self.policy.clone(),
        );
        self.ports.committer.commit(&effect, &entry).await?;
        self.waiting_changed(&effect.record.group, effect.record.version)
            .await;
        if let Some(version) = told_about {
            self.notices
                .notice(Notice::Decided {
                    version: workflow::apply(&version, &effect),
                    record: Box::new(effect.record.clone()),
                })
                .await;
        }
        Ok(effect)
    }

    /// Takes a decision as a person who has just signed in and confirmed what the
    /// decision signs: for tests, which are about the decision, not the ceremony.
    #[cfg(any(test, feature = "testing"))]
    pub async fn decide(
        &self,
        actor: &Actor,
        group: &GroupName,
        version: VersionNumber,
        request: &workflow::DecisionRequest,
    ) -> Result<DecisionEffect, ServiceError> {
        let what = SigningRequest::Decide {
            version,
            request: request.clone(),
        };
        self.sign_as_just_confirmed(actor, group, &what).await
    }

    /// A rollback, as [`Services::decide`] takes a decision (for tests).
    #[cfg(any(test, feature = "testing"))]
    pub async fn rollback(
        &self,
        actor: &Actor,
        group: &GroupName,
        request: &workflow::RollbackRequest,
    ) -> Result<DecisionEffect, ServiceError> {
        let what = SigningRequest::RollBack(request.clone());
        self.sign_as_just_confirmed(actor, group, &what).await
    }

    /// Signs `what` as someone who confirmed it and authenticated this moment, having been
    /// sent to do so: demo data, and tests that are not about the ceremony.
    pub async fn sign_as_just_confirmed(
        &self,
        actor: &Actor,
        group: &GroupName,
        what: &SigningRequest,
    ) -> Result<DecisionEffect, ServiceError> {
        let prepared = self.prepare(actor, group, what).await?;
        let now = self.clock.now();
        let signing = Signing {
            reviewed_digest: prepared.effect.signed.digest(),
            authentication: Authentication::at(now),
            reauthentication_asked_at: Some(now),
            evidence: None,
        };
        self.sign_prepared(actor, prepared, &signing).await
    }
}
