//! Whether each signature on a group's decisions still applies to its record as the
//! registry holds it now: what exports print beside each signature (21 CFR 11.70, 11.50).

use super::*;

/// How a signature stands against the registry's record now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// The record is as it was signed.
    Binds,
    /// The record changed after signing: the signature no longer applies to it.
    NoLongerBinds,
    /// The registry no longer holds the version signed.
    RecordGone,
}

impl Binding {
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Binds => "binds",
            Binding::NoLongerBinds => "no_longer_binds",
            Binding::RecordGone => "record_gone",
        }
    }

    pub fn holds(self) -> bool {
        self == Binding::Binds
    }
}

impl Services {
    /// For each signed decision in `decisions` (all of one group), keyed by decision id, how
    /// its signature stands against the version it signed as the registry holds it now.
    /// Each version is read once; a signature found broken is kept in the group's trail, once.
    pub async fn signatures_now(
        &self,
        group: &GroupName,
        decisions: &[DecisionRecord],
    ) -> Result<BTreeMap<String, Binding>, ServiceError> {
        let mut signed: BTreeMap<VersionNumber, Vec<&DecisionRecord>> = BTreeMap::new();
        for decision in decisions.iter().filter(|d| d.signature.is_some()) {
            signed
                .entry(decision.signed_version())
                .or_default()
                .push(decision);
        }
        let numbers: Vec<VersionNumber> = signed.keys().copied().collect();
        let versions: Vec<(VersionNumber, Option<ModelVersion>)> = stream::iter(numbers)
            .map(|number| async move {
                let found = self.ports.registry.find_version(group, number).await?;
                Ok::<_, PortError>((number, found))
            })
            .buffer_unordered(CONCURRENT_READS)
            .try_collect()
            .await?;
        let mut standing = BTreeMap::new();
        for (number, version) in versions {
            let of_version = &signed[&number];
            for decision in of_version {
                let binding = match &version {
                    None => Binding::RecordGone,
                    Some(v) if crate::signature::still_binds(decision, v) => Binding::Binds,
                    Some(_) => Binding::NoLongerBinds,
                };
                standing.insert(decision.id.clone(), binding);
            }
            if let Some(version) = &version {
                let owned: Vec<DecisionRecord> = of_version.iter().map(|d| (*d).clone()).collect();
                self.keep_signatures_no_longer_binding(version, &owned)
                    .await?;
            }
        }
        Ok(standing)
    }
}
