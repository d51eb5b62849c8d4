//! The portal's own trail: sign-ins, sign-outs, failed sign-ins, start-ups, kept as a
//! group's trail is (chained, checkpointed, verifiable offline) under
//! [`crate::model::SYSTEM_TRAIL`].

use super::*;
use crate::audit::SystemEvent;
use sha2::{Digest, Sha256};

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

    /// Like [`Self::record_system_event`], but kept once a minute: the same event by the same
    /// actor again within the minute appends nothing (someone refused, reloading a page).
    pub async fn record_system_event_once_a_minute(
        &self,
        actor: &str,
        event: SystemEvent,
    ) -> Result<(), ServiceError> {
        let minute = self.clock.now().unix_timestamp().div_euclid(60);
        let mut hasher = Sha256::new();
        for part in [
            actor,
            &serde_json::to_string(&event).expect("an event serialises"),
            &minute.to_string(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let id = hex::encode(hasher.finalize());
        self.keep_system_event(actor, id, event).await
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
