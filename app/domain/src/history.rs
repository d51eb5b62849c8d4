//! A model group's history: what was live in each environment and when, from the deployment
//! records; and every decision, from the log.

use crate::environment::{Environment, Environments};
use crate::model::*;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One stretch of time a version was live in an environment.
#[derive(Clone, Debug, PartialEq)]
pub struct LivePeriod {
    pub environment: Environment,
    pub version: VersionNumber,
    pub from: OffsetDateTime,
    /// When the next deployment replaced it; `None` while it is live.
    pub until: Option<OffsetDateTime>,
    pub deployed_by: Person,
    pub decision_id: String,
}

/// The periods of each environment in promotion order, newest first within each, from a
/// group's deployments (newest first): each lasts until the next one in its environment.
pub fn live_periods(environments: &Environments, deployments: &[Deployment]) -> Vec<LivePeriod> {
    environments
        .iter()
        .flat_map(|env| {
            let mut newer: Option<OffsetDateTime> = None;
            deployments
                .iter()
                .filter(move |d| &d.environment == env)
                .map(move |d| {
                    let period = LivePeriod {
                        environment: d.environment.clone(),
                        version: d.version,
                        from: d.approved_at,
                        until: newer,
                        deployed_by: d.approved_by.clone(),
                        decision_id: d.decision_id.clone(),
                    };
                    newer = Some(d.approved_at);
                    period
                })
        })
        .collect()
}

/// An environment whose live value is not the one the decision log last deployed there:
/// written, replaced or deleted outside the portal (or a decision interrupted before it went
/// live, which the next read of its version completes).
#[derive(Clone, Debug, PartialEq)]
pub enum Drift {
    /// Something is live where no decision in the log deployed anything.
    Unlogged { live: Deployment },
    /// The log deployed `logged`, but nothing is live: deleted outside the portal.
    Deleted { logged: Deployment },
    /// What is live is not the log's newest deployment there.
    Replaced {
        live: Deployment,
        logged: Box<Deployment>,
    },
}

impl Drift {
    pub fn environment(&self) -> &Environment {
        match self {
            Drift::Unlogged { live } | Drift::Replaced { live, .. } => &live.environment,
            Drift::Deleted { logged } => &logged.environment,
        }
    }

    /// The decision whose deployment was replaced or deleted outside the portal, if one was.
    pub fn logged_decision(&self) -> Option<&str> {
        match self {
            Drift::Unlogged { .. } => None,
            Drift::Deleted { logged } => Some(&logged.decision_id),
            Drift::Replaced { logged, .. } => Some(&logged.decision_id),
        }
    }

    /// One sentence for the page and the server log.
    pub fn explain(&self) -> String {
        let env = self.environment();
        let named = |d: &Deployment| format!("version {} (decision {})", d.version, d.decision_id);
        match self {
            Drift::Unlogged { live } => format!(
                "{env}: {} is live, but no decision in the log deployed anything to {env}.",
                named(live)
            ),
            Drift::Deleted { logged } => format!(
                "{env}: the log deployed {}, but nothing is live there: the live value was deleted outside the portal.",
                named(logged)
            ),
            Drift::Replaced { live, logged } if live.decision_id != logged.decision_id => format!(
                "{env}: {} is live, but the newest deployment in the log is {}.",
                named(live),
                named(logged)
            ),
            Drift::Replaced { live, logged } => format!(
                "{env}: the live value claims decision {} but differs from what it deployed ({}).",
                live.decision_id,
                differences(live, logged).join(", ")
            ),
        }
    }
}

/// The fields in which a live value differs from the logged deployment, live value first.
fn differences(live: &Deployment, logged: &Deployment) -> Vec<String> {
    let mut found = Vec::new();
    let mut compare = |field: &str, live: String, logged: String| {
        if live != logged {
            found.push(format!("{field} {live:?}, logged {logged:?}"));
        }
    };
    compare(
        "version",
        live.version.to_string(),
        logged.version.to_string(),
    );
    compare("ARN", live.arn.clone(), logged.arn.clone());
    compare("image", live.image_uri.clone(), logged.image_uri.clone());
    compare(
        "model data",
        live.model_data_url.clone(),
        logged.model_data_url.clone(),
    );
    compare(
        "approver",
        live.approved_by.email.clone(),
        logged.approved_by.email.clone(),
    );
    compare(
        "approval time",
        live.approved_at.to_string(),
        logged.approved_at.to_string(),
    );
    found
}

/// The environments whose live value (`live`, per environment) is not the newest deployment
/// there in the group's log (`deployments`, newest first), in promotion order.
pub fn drift(
    environments: &Environments,
    live: &BTreeMap<Environment, Deployment>,
    deployments: &[Deployment],
) -> Vec<Drift> {
    environments
        .iter()
        .filter_map(|env| {
            let logged = deployments.iter().find(|d| &d.environment == env);
            match (live.get(env), logged) {
                (Some(live), Some(logged)) if live == logged => None,
                (None, None) => None,
                (Some(live), None) => Some(Drift::Unlogged { live: live.clone() }),
                (None, Some(logged)) => Some(Drift::Deleted {
                    logged: logged.clone(),
                }),
                (Some(live), Some(logged)) => Some(Drift::Replaced {
                    live: live.clone(),
                    logged: Box::new(logged.clone()),
                }),
            }
        })
        .collect()
}

/// Everything that happened to a group's versions.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupHistory {
    pub group: GroupName,
    /// Per environment in promotion order, newest period first.
    pub live: Vec<LivePeriod>,
    /// Every decision, oldest first.
    pub decisions: Vec<DecisionRecord>,
    /// Environments whose live value the log does not explain.
    pub drift: Vec<Drift>,
}

#[cfg(test)]
mod tests;
