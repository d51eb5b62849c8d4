//! The portal's own trail: sign-ins, sign-outs, failed sign-ins, start-ups, kept as a
//! group's trail is (chained, checkpointed, verifiable offline) under
//! [`crate::model::SYSTEM_TRAIL`].

use super::*;
use crate::audit::SystemEvent;

/// How much of a refused request's address is kept.
const ADDRESS_KEPT_CHARS: usize = 200;

impl Services {
    /// Keeps `event`, caused by `actor` (a person's identifier, or the portal's), in the
    /// portal's own trail.
    pub async fn record_system_event(
        &self,
        actor: &str,
        event: SystemEvent,
    ) -> Result<(), ServiceError> {
        let id = self.ids.new_id();
        self.keep_system_event(actor, id, event).await
    }

    /// Keeps, once a minute per person and address, that `person` (signed in, in none of
    /// the groups that may look) was refused `what`. The address is the request's: only its
    /// first [`ADDRESS_KEPT_CHARS`] characters are kept.
    pub async fn note_access_refused(
        &self,
        person: &Person,
        what: &str,
    ) -> Result<(), ServiceError> {
        let mut what = what.to_owned();
        if what.len() > ADDRESS_KEPT_CHARS {
            what.truncate(what.floor_char_boundary(ADDRESS_KEPT_CHARS));
        }
        let event = SystemEvent::AccessRefused {
            person: person.clone(),
            what,
        };
        let serialised = serde_json::to_string(&event).expect("an event serialises");
        let id = crate::audit::id_within_its_minute(
            [person.subject.as_str(), &serialised],
            self.clock.now(),
        );
        let event = AuditEvent::System { id, event };
        self.record_once(&GroupName::system_trail(), &person.subject, event)
            .await
    }

    async fn keep_system_event(
        &self,
        actor: &str,
        id: String,
        event: SystemEvent,
    ) -> Result<(), ServiceError> {
        let event = AuditEvent::System { id, event };
        self.record(&GroupName::system_trail(), actor, event).await
    }
}
