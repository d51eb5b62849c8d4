//! The audit trail as a portal runs it: every append (a decision's too) signed as a
//! checkpoint and published apart from the trail (`notarise`), and the export an auditor
//! verifies offline (`AuditDesk`). The only part of this crate that does I/O, and only through ports.

mod check;
mod published;
mod reconcile;
mod turns;
pub use check::TrailCheck;
pub use reconcile::{reconcile, AttestedDecision, Standing};

use crate::bundle::Bundle;
use crate::checkpoint::{self, Notary};
use countersign_domain::audit::{Appended, AuditRecord, SystemEvent};
use countersign_domain::ports::{
    AuditTrail, CheckpointPublisher, Clock, DecisionCommitter, PortError,
};
use countersign_domain::service::Ports;
use countersign_domain::DecisionEffect;
use countersign_domain::{GroupName, Person};
use std::sync::Arc;
use time::OffsetDateTime;
use tlog_tiles::Hash;

/// The trail, and the committer that appends decisions to it, each append followed by a
/// signed checkpoint, published. A checkpoint that cannot be published is logged, not fatal:
/// the entry is kept, and the next append's checkpoint covers it too. A checkpoint is only
/// signed for a tree that grew from the newest one published (`published.rs`).
pub struct Notarised {
    trail: Arc<dyn AuditTrail>,
    committer: Arc<dyn DecisionCommitter>,
    notary: Arc<Notary>,
    publisher: Arc<dyn CheckpointPublisher>,
    clock: Arc<dyn Clock>,
    published: published::Published,
}

/// Makes `ports`' trail and committer sign and publish a checkpoint after each append; the
/// desk that exports what they keep.
pub fn notarise(
    ports: &mut Ports,
    notary: Arc<Notary>,
    publisher: Arc<dyn CheckpointPublisher>,
    clock: Arc<dyn Clock>,
) -> AuditDesk {
    let notarised = Arc::new(Notarised {
        trail: ports.trail.clone(),
        committer: ports.committer.clone(),
        notary: notary.clone(),
        publisher: publisher.clone(),
        clock,
        published: published::Published::default(),
    });
    ports.trail = notarised.clone();
    ports.committer = notarised;
    AuditDesk {
        notary,
        publisher,
        trail: ports.trail.clone(),
        progress: Arc::default(),
        verifying: Arc::default(),
    }
}

impl Notarised {
    async fn checkpoint(&self, group: &GroupName, appended: &Appended) {
        if !appended.new {
            return;
        }
        let checked = self
            .published
            .may_sign(
                group,
                appended,
                self.trail.as_ref(),
                self.publisher.as_ref(),
                self.notary.public_key(),
            )
            .await;
        match checked {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::error!(
                    group = group.as_str(),
                    size = appended.size,
                    "the audit checkpoint was not signed: what was published could not be read to check the trail extends it (the next append's will cover it): {e}"
                );
                return;
            }
        }
        let now = self.clock.now();
        let root = Hash(appended.root);
        let note = self.notary.sign(group.as_str(), appended.size, root, now);
        match self.publisher.publish(group, &note).await {
            Ok(()) => self.published.published(group, appended),
            Err(e) => tracing::error!(
                group = group.as_str(),
                size = appended.size,
                "the audit checkpoint was not published (the next append's will cover it): {e}"
            ),
        }
    }
}

#[async_trait::async_trait]
impl AuditTrail for Notarised {
    async fn append(&self, record: &AuditRecord) -> Result<Appended, PortError> {
        let _turn = self.published.turn(&record.group).await;
        self.published.refuse_if_stopped(&record.group)?;
        let appended = self.trail.append(record).await?;
        self.checkpoint(&record.group, &appended).await;
        Ok(appended)
    }

    async fn entries(&self, group: &GroupName, from: u64) -> Result<Vec<String>, PortError> {
        self.trail.entries(group, from).await
    }

    async fn entries_keyed(
        &self,
        group: &GroupName,
        keys: &[String],
    ) -> Result<Vec<String>, PortError> {
        self.trail.entries_keyed(group, keys).await
    }
}

#[async_trait::async_trait]
impl DecisionCommitter for Notarised {
    async fn commit(
        &self,
        effect: &DecisionEffect,
        entry: &AuditRecord,
    ) -> Result<Appended, PortError> {
        let _turn = self.published.turn(&entry.group).await;
        self.published.refuse_if_stopped(&entry.group)?;
        let appended = self.committer.commit(effect, entry).await?;
        self.checkpoint(&entry.group, &appended).await;
        Ok(appended)
    }
}

/// What exports and checks a group's trail: the trail, the key's public half and where
/// checkpoints are published.
#[derive(Clone)]
pub struct AuditDesk {
    pub notary: Arc<Notary>,
    pub publisher: Arc<dyn CheckpointPublisher>,
    pub trail: Arc<dyn AuditTrail>,
    /// How far this replica verified each group's trail: a view verifies only what was
    /// appended since (a trail of 100 000 entries takes seconds to verify whole).
    progress: Arc<check::Remembered>,
    /// A group's trail is verified by one viewer at a time; the others wait for its verdict.
    verifying: Arc<turns::Turns>,
}

/// How many groups' verified progress a replica remembers.
const TRAILS_REMEMBERED: usize = 256;

/// Which part of a trail to export: entries at or after `from` and at or before `to`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

/// A date (its first moment, UTC) or an RFC 3339 time.
pub fn parse_start(text: &str) -> Result<time::OffsetDateTime, String> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    time::Date::parse(text, &Iso8601::DATE)
        .map(|date| date.midnight().assume_utc())
        .map_err(|_| format!("{text:?} is neither a date (2026-07-01) nor an RFC 3339 time"))
}

/// As [`parse_start`], a date meaning its last moment.
pub fn parse_end(text: &str) -> Result<time::OffsetDateTime, String> {
    let at = parse_start(text)?;
    if text.len() == 10 {
        Ok(at + time::Duration::days(1) - time::Duration::nanoseconds(1))
    } else {
        Ok(at)
    }
}

impl Period {
    /// The period of the dates `from` and `to` (`YYYY-MM-DD`, as a form's date fields send
    /// them; empty: open), `to` through the end of its day; refused when it ends before it
    /// begins.
    pub fn of_dates(from: &str, to: &str) -> Result<Self, String> {
        let date = |text: &str, parse: fn(&str) -> Result<OffsetDateTime, String>| match text.trim()
        {
            "" => Ok(None),
            text if text.len() == 10 => parse(text).map(Some),
            text => Err(format!("{text:?} is not a date (2026-07-01)")),
        };
        let period = Self {
            from: date(from, parse_start)?,
            to: date(to, parse_end)?,
        };
        match (period.from, period.to) {
            (Some(from), Some(to)) if to < from => Err("The period ends before it begins.".into()),
            _ => Ok(period),
        }
    }

    /// The period `from` and `to` name (each a date or an RFC 3339 time), either open.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, String> {
        Ok(Self {
            from: from.map(parse_start).transpose()?,
            to: to.map(parse_end).transpose()?,
        })
    }
}

impl AuditDesk {
    /// Each of `groups`' trails within `period`, verified, with its exceptions for the
    /// audit-trail review, a few trails at a time.
    pub async fn review(
        &self,
        groups: Vec<GroupName>,
        period: Period,
    ) -> Result<Vec<crate::review::TrailInPeriod>, PortError> {
        use futures::{StreamExt, TryStreamExt};
        futures::stream::iter(groups)
            .map(|group| async move {
                let bundle = self.bundle(&group, period).await?;
                Ok::<_, PortError>(crate::review::review(&bundle, self.notary.public_key()))
            })
            .buffered(check::GROUPS_READ_AT_ONCE)
            .try_collect()
            .await
    }

    /// Every sign-in the portal's own trail holds: who, and when.
    pub async fn sign_ins(&self) -> Result<Vec<(Person, time::OffsetDateTime)>, PortError> {
        let entries = self.trail.entries(&GroupName::system_trail(), 0).await?;
        Ok(entries
            .iter()
            .filter_map(|text| crate::Entry::parse(text).ok())
            .filter_map(|entry| match entry.event {
                crate::EventJson::System {
                    what: SystemEvent::SignedIn { person, .. },
                } => Some((person, entry.at)),
                _ => None,
            })
            .collect())
    }

    /// The bundle of `group`'s trail in `period`, with the published checkpoints that cover
    /// it.
    pub async fn bundle(&self, group: &GroupName, period: Period) -> Result<Bundle, PortError> {
        let entries = self.trail.entries(group, 0).await?;
        // Times are read only to find a period's ends.
        let time_of = |text: &String| {
            serde_json::from_str::<crate::Entry>(text)
                .ok()
                .map(|e| e.at)
        };
        let from = match period.from {
            Some(from) => entries
                .iter()
                .position(|text| time_of(text).is_some_and(|at| at >= from))
                .unwrap_or(entries.len()),
            None => 0,
        };
        let to = match period.to {
            Some(to) => entries
                .iter()
                .rposition(|text| time_of(text).is_some_and(|at| at <= to))
                .map_or(0, |last| last + 1),
            None => entries.len(),
        };
        // The bundle starts where a checkpoint vouches for what came before it.
        let published = self.publisher.published(group).await?;
        let sizes: Vec<u64> = published
            .iter()
            .filter_map(|note| checkpoint::size_of(note))
            .collect();
        let from = sizes
            .iter()
            .copied()
            .filter(|&size| size <= from as u64)
            .max()
            .unwrap_or(0);
        // ... and ends where one covers it (an append of two entries is checkpointed once).
        let to = (to as u64).max(from);
        let to = if to == from {
            to
        } else {
            sizes
                .iter()
                .copied()
                .filter(|&size| size >= to)
                .min()
                .unwrap_or(to)
        };
        // Up to the end of the trail, every checkpoint: one naming more entries than the
        // store holds is how a cut tail shows.
        let last = if period.to.is_some() { to } else { u64::MAX };
        let checkpoints = published
            .into_iter()
            .filter(|note| {
                checkpoint::size_of(note).is_some_and(|size| (from..=last).contains(&size))
            })
            .collect();
        Ok(Bundle::of(
            group.as_str(),
            &self.notary.origin(group.as_str()),
            self.notary.public_key(),
            entries,
            from,
            to,
            checkpoints,
        ))
    }
}
