//! The access review (EU GMP Annex 11 §12; 21 CFR 11.10(d), (g)): per environment who may
//! sign (the approver groups) and who did in a period, and when each person last signed in.

use super::*;
use time::OffsetDateTime;

/// One person's signatures in an environment within the period.
#[derive(Clone, Debug, PartialEq)]
pub struct SignerActivity {
    pub person: Person,
    pub signatures: u32,
    pub last_signed: OffsetDateTime,
}

/// Who may sign in an environment, and who did.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvironmentAccess {
    pub environment: Environment,
    pub approver_groups: Vec<String>,
    pub required_approvals: u8,
    /// Everyone who signed a decision there within the period, by most signatures.
    pub signers: Vec<SignerActivity>,
}

/// The access review of a period (either end open).
#[derive(Clone, Debug, PartialEq)]
pub struct AccessReview {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub environments: Vec<EnvironmentAccess>,
    /// Each person's last sign-in, newest first.
    pub last_sign_ins: Vec<(Person, OffsetDateTime)>,
}

impl Services {
    /// The access review of the period from `from` to `to`: the policy's approver groups,
    /// every group's decisions read (a few groups at a time) for who signed, and
    /// `sign_ins`, each sign-in the portal's own trail holds, for each person's last.
    pub async fn access_review(
        &self,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        sign_ins: Vec<(Person, OffsetDateTime)>,
    ) -> Result<AccessReview, ServiceError> {
        let groups = self.ports.registry.list_groups().await?;
        let decisions: Vec<Vec<DecisionRecord>> = stream::iter(groups)
            .map(
                |summary| async move { self.ports.audit.decisions_for_group(&summary.group).await },
            )
            .buffer_unordered(CONCURRENT_READS)
            .try_collect()
            .await?;
        let within =
            |at: OffsetDateTime| from.is_none_or(|f| at >= f) && to.is_none_or(|t| at <= t);
        let mut signed: BTreeMap<(Environment, String), SignerActivity> = BTreeMap::new();
        for decision in decisions.iter().flatten() {
            if decision.signature.is_none() || !within(decision.decided_at) {
                continue;
            }
            let key = (
                decision.environment.clone(),
                decision.decided_by.subject.clone(),
            );
            let activity = signed.entry(key).or_insert_with(|| SignerActivity {
                person: decision.decided_by.clone(),
                signatures: 0,
                last_signed: decision.decided_at,
            });
            activity.signatures += 1;
            if decision.decided_at >= activity.last_signed {
                activity.last_signed = decision.decided_at;
                activity.person = decision.decided_by.clone();
            }
        }
        let environments = self
            .policy
            .environments()
            .iter()
            .map(|environment| {
                let mut signers: Vec<SignerActivity> = signed
                    .iter()
                    .filter(|((env, _), _)| env == environment)
                    .map(|(_, activity)| activity.clone())
                    .collect();
                signers.sort_by(|a, b| {
                    b.signatures
                        .cmp(&a.signatures)
                        .then(a.person.name.cmp(&b.person.name))
                });
                EnvironmentAccess {
                    environment: environment.clone(),
                    approver_groups: self
                        .policy
                        .approver_groups(environment)
                        .map(str::to_owned)
                        .collect(),
                    required_approvals: self.policy.required_approvals(environment),
                    signers,
                }
            })
            .collect();
        let mut last: BTreeMap<String, (Person, OffsetDateTime)> = BTreeMap::new();
        for (person, at) in sign_ins {
            let known = last
                .get(&person.subject)
                .is_some_and(|(_, seen)| *seen >= at);
            if !known {
                last.insert(person.subject.clone(), (person, at));
            }
        }
        let mut last_sign_ins: Vec<(Person, OffsetDateTime)> = last.into_values().collect();
        last_sign_ins.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
        Ok(AccessReview {
            from,
            to,
            environments,
            last_sign_ins,
        })
    }
}
