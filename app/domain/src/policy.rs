//! Who may decide what: approver groups, required approvals, and the four-eyes exemption.

use crate::environment::{Environment, Environments};
use crate::model::{ModelVersion, Person, Verdict};
use crate::signature::IdentityProvider;
use std::collections::{BTreeMap, BTreeSet};

/// The person asking, with the groups the identity provider says they belong to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    pub person: Person,
    pub groups: BTreeSet<String>,
}

/// The promotion policy, built from configuration once at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    environments: Environments,
    approver_groups: BTreeMap<Environment, BTreeSet<String>>,
    required_approvals: BTreeMap<Environment, u8>,
    self_approval_allowed: BTreeSet<Environment>,
    /// Environments where a version nobody could be established as the registrant of needs
    /// one approval more than configured: four-eyes cannot be checked, so a second person
    /// stands in for it.
    /// `None`: every environment where nobody may approve their own version.
    extra_approval_without_registrant: Option<BTreeSet<Environment>>,
    /// Groups whose members may see the portal at all; empty means every signed-in person.
    viewer_groups: BTreeSet<String>,
    /// Groups whose members review the audit trail and who has access (EU GMP Annex 11 §9,
    /// §12); empty means nobody.
    audit_reviewer_groups: BTreeSet<String>,
    /// The meanings a signature may carry, per environment and verdict, the first the one
    /// offered first; unset: [`crate::signature::default_meaning`].
    meanings: BTreeMap<(Environment, Verdict), Vec<String>>,
    /// Environments where every decision, approvals included, needs a reason (rejections
    /// and rollbacks always do).
    reason_required: BTreeSet<Environment>,
    /// How recently a signer must have authenticated, per environment; unset: 0 (always
    /// again) in the last environment, [`DEFAULT_SIGNING_MAX_AGE`] elsewhere.
    signing_max_age: BTreeMap<Environment, time::Duration>,
    /// The authentication context a signature in an environment needs (`acr` / Entra `acrs`).
    signing_context: BTreeMap<Environment, String>,
    /// The identity provider people sign in at; `None` with the development sign-in.
    /// With one, every signature keeps its evidence of the signer's sign-in.
    identity_provider: Option<IdentityProvider>,
}

/// How recently a signer must have authenticated outside the last environment, unless
/// configured.
pub const DEFAULT_SIGNING_MAX_AGE: time::Duration = time::Duration::seconds(300);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{setting} names environment {environment:?}, which is not one of the configured environments ({known})")]
    UnknownEnvironment {
        setting: &'static str,
        environment: String,
        known: String,
    },
    #[error("required approvals for {0} must be between 1 and 10")]
    RequiredApprovalsOutOfRange(String),
    #[error(
        "the signature meanings of {0} must each be a non-blank text of at most 200 characters"
    )]
    BadMeaning(String),
    #[error("the signing max age of {0} must be 0 or more seconds")]
    NegativeMaxAge(String),
    #[error("the signing authentication context of {0} must be one word of at most 100 characters, like c1")]
    BadContext(String),
}

impl Policy {
    /// A policy where members of `approver_group` may decide every environment, one approval
    /// each, nobody may approve their own version, and a version without an established
    /// registrant needs one approval more in every environment.
    pub fn new(environments: Environments, approver_group: &str) -> Self {
        let approver_groups = environments
            .iter()
            .map(|e| (e.clone(), BTreeSet::from([approver_group.to_owned()])))
            .collect();
        Self {
            approver_groups,
            required_approvals: BTreeMap::new(),
            self_approval_allowed: BTreeSet::new(),
            extra_approval_without_registrant: None,
            reason_required: BTreeSet::from([environments.last().clone()]),
            environments,
            viewer_groups: BTreeSet::new(),
            audit_reviewer_groups: BTreeSet::new(),
            meanings: BTreeMap::new(),
            signing_max_age: BTreeMap::new(),
            signing_context: BTreeMap::new(),
            identity_provider: None,
        }
    }

    /// People sign in at `provider`: every signature keeps its evidence.
    pub fn with_identity_provider(mut self, provider: IdentityProvider) -> Self {
        self.identity_provider = Some(provider);
        self
    }

    pub fn identity_provider(&self) -> Option<&IdentityProvider> {
        self.identity_provider.as_ref()
    }

    /// How recently a signer in `environment` must have authenticated (0: always again).
    pub fn with_signing_max_age(
        mut self,
        environment: &str,
        max_age: time::Duration,
    ) -> Result<Self, PolicyError> {
        let env = self.known("signing max age", environment)?;
        if max_age.is_negative() {
            return Err(PolicyError::NegativeMaxAge(environment.to_owned()));
        }
        self.signing_max_age.insert(env, max_age);
        Ok(self)
    }

    /// How recently a signer in `environment` must have authenticated.
    pub fn signing_max_age(&self, environment: &Environment) -> time::Duration {
        match self.signing_max_age.get(environment) {
            Some(age) => *age,
            None if environment == self.environments.last() => time::Duration::ZERO,
            None => DEFAULT_SIGNING_MAX_AGE,
        }
    }

    /// The authentication context (an `acr` value, or an Entra ID authentication context
    /// such as `c1`) a signature in `environment` needs.
    pub fn with_signing_context(
        mut self,
        environment: &str,
        context: &str,
    ) -> Result<Self, PolicyError> {
        let env = self.known("signing authentication context", environment)?;
        let context = context.trim();
        if context.is_empty() || context.len() > 100 || context.contains(char::is_whitespace) {
            return Err(PolicyError::BadContext(environment.to_owned()));
        }
        self.signing_context.insert(env, context.to_owned());
        Ok(self)
    }

    pub fn signing_context(&self, environment: &Environment) -> Option<&str> {
        self.signing_context.get(environment).map(String::as_str)
    }

    /// The meanings a signature in `environment` may carry for `verdict`, in the order
    /// offered (replacing the default, one per verdict).
    pub fn with_meanings(
        mut self,
        environment: &str,
        verdict: Verdict,
        meanings: impl IntoIterator<Item = String>,
    ) -> Result<Self, PolicyError> {
        let env = self.known("signature meanings", environment)?;
        let meanings: Vec<String> = meanings.into_iter().map(|m| m.trim().to_owned()).collect();
        if meanings.is_empty()
            || meanings
                .iter()
                .any(|m| m.is_empty() || m.chars().count() > 200)
        {
            return Err(PolicyError::BadMeaning(environment.to_owned()));
        }
        self.meanings.insert((env, verdict), meanings);
        Ok(self)
    }

    /// The meanings a signature in `environment` may carry for `verdict`, the first offered
    /// first.
    pub fn meanings(&self, environment: &Environment, verdict: Verdict) -> Vec<String> {
        self.meanings
            .get(&(environment.clone(), verdict))
            .cloned()
            .unwrap_or_else(|| vec![crate::signature::default_meaning(verdict, environment)])
    }

    /// The environments where every decision needs a reason (replacing the default, the
    /// last environment; none: only rejections and rollbacks need one).
    pub fn with_reason_required(
        mut self,
        environments: impl IntoIterator<Item = String>,
    ) -> Result<Self, PolicyError> {
        self.reason_required = self.known_all("reason required", environments)?;
        Ok(self)
    }

    /// Whether every decision in `environment`, approvals included, needs a reason.
    pub fn reason_required(&self, environment: &Environment) -> bool {
        self.reason_required.contains(environment)
    }

    /// Restricts the portal to members of these groups (approvers may always see it).
    pub fn with_viewer_groups(mut self, groups: impl IntoIterator<Item = String>) -> Self {
        self.viewer_groups = groups.into_iter().collect();
        self
    }

    /// Whether viewer groups are named: without, anyone signed in may see the portal.
    pub fn names_viewers(&self) -> bool {
        !self.viewer_groups.is_empty()
    }

    /// Whether the actor may see the portal: a viewer group member, an approver anywhere, or
    /// an audit reviewer.
    pub fn may_view(&self, actor: &Actor) -> bool {
        self.viewer_groups.is_empty()
            || !self.viewer_groups.is_disjoint(&actor.groups)
            || self.approves_anything(actor)
            || self.reviews_audit(actor)
    }

    /// The groups whose members review the audit trail and access.
    pub fn with_audit_reviewer_groups(mut self, groups: impl IntoIterator<Item = String>) -> Self {
        self.audit_reviewer_groups = groups.into_iter().collect();
        self
    }

    /// Whether the actor reviews the audit trail and who has access.
    pub fn reviews_audit(&self, actor: &Actor) -> bool {
        !self.audit_reviewer_groups.is_disjoint(&actor.groups)
    }

    /// Whether the actor may decide some environment.
    pub fn approves_anything(&self, actor: &Actor) -> bool {
        self.environments
            .iter()
            .any(|env| self.is_approver(actor, env))
    }

    fn known(&self, setting: &'static str, name: &str) -> Result<Environment, PolicyError> {
        self.environments
            .find(name)
            .cloned()
            .ok_or_else(|| PolicyError::UnknownEnvironment {
                setting,
                environment: name.to_owned(),
                known: self.environments.to_string(),
            })
    }

    fn known_all(
        &self,
        setting: &'static str,
        names: impl IntoIterator<Item = String>,
    ) -> Result<BTreeSet<Environment>, PolicyError> {
        names
            .into_iter()
            .map(|name| self.known(setting, &name))
            .collect()
    }

    pub fn with_approver_groups(
        mut self,
        environment: &str,
        groups: impl IntoIterator<Item = String>,
    ) -> Result<Self, PolicyError> {
        let env = self.known("approver groups", environment)?;
        self.approver_groups
            .insert(env, groups.into_iter().collect());
        Ok(self)
    }

    pub fn with_required_approvals(
        mut self,
        environment: &str,
        count: u8,
    ) -> Result<Self, PolicyError> {
        let env = self.known("required approvals", environment)?;
        if !(1..=10).contains(&count) {
            return Err(PolicyError::RequiredApprovalsOutOfRange(environment.into()));
        }
        self.required_approvals.insert(env, count);
        Ok(self)
    }

    pub fn allowing_self_approval(mut self, environment: &str) -> Result<Self, PolicyError> {
        let env = self.known("self-approval", environment)?;
        self.self_approval_allowed.insert(env);
        Ok(self)
    }

    /// The environments where a version without an established registrant needs one
    /// approval more (replacing the default, every environment where nobody may approve
    /// their own version; none turns it off).
    pub fn with_extra_approval_without_registrant(
        mut self,
        environments: impl IntoIterator<Item = String>,
    ) -> Result<Self, PolicyError> {
        self.extra_approval_without_registrant =
            Some(self.known_all("extra approval without registrant", environments)?);
        Ok(self)
    }

    /// How many distinct approvals `env` of this version needs: as configured, plus one
    /// where nobody could be established as its registrant and the policy says so.
    pub fn approvals_needed(&self, env: &Environment, version: &ModelVersion) -> u8 {
        let configured = self.required_approvals(env);
        if !version.attributed_to.is_verified() && self.extra_approval_without_registrant(env) {
            configured + 1
        } else {
            configured
        }
    }

    pub fn environments(&self) -> &Environments {
        &self.environments
    }

    pub fn required_approvals(&self, env: &Environment) -> u8 {
        self.required_approvals.get(env).copied().unwrap_or(1)
    }

    /// Whether a version nobody could be established as the registrant of needs one approval
    /// more in `env`: by default wherever four-eyes holds, since there the missing approver
    /// stands in for the registrant who might be approving their own version.
    pub fn extra_approval_without_registrant(&self, env: &Environment) -> bool {
        match &self.extra_approval_without_registrant {
            Some(environments) => environments.contains(env),
            None => !self.self_approval_allowed(env),
        }
    }

    pub fn self_approval_allowed(&self, env: &Environment) -> bool {
        self.self_approval_allowed.contains(env)
    }

    pub fn approver_groups(&self, env: &Environment) -> impl Iterator<Item = &str> {
        self.approver_groups
            .get(env)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Every group a rule looks at: approver groups of any environment, viewer groups and
    /// audit reviewer groups.
    /// Membership in any other group changes nothing a person may do.
    pub fn groups_in_use(&self) -> impl Iterator<Item = &str> {
        self.approver_groups
            .values()
            .flatten()
            .chain(&self.viewer_groups)
            .chain(&self.audit_reviewer_groups)
            .map(String::as_str)
    }

    /// Whether the actor belongs to a group allowed to decide `env`.
    pub fn is_approver(&self, actor: &Actor, env: &Environment) -> bool {
        self.approver_groups
            .get(env)
            .is_some_and(|groups| !groups.is_disjoint(&actor.groups))
    }
}

#[cfg(test)]
mod tests;
