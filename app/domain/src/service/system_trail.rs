//! The portal's own trail: sign-ins, sign-outs, failed sign-ins, start-ups, kept as a
//! group's trail is (chained, checkpointed, verifiable offline) under
//! [`crate::model::SYSTEM_TRAIL`].

use super::*;
use crate::audit::SystemEvent;

impl Services {
    /// Keeps `event`, caused by `actor` (a person's identifier, or the portal's), in the
    /// portal's own trail.
    pub async fn record_system_event(
        &self,
        actor: &str,
        event: SystemEvent,
    ) -> Result<(), ServiceError> {
        let id = self.ids.new_id();
        self.record(
            &GroupName::system_trail(),
            actor,
            AuditEvent::System { id, event },
        )
        .await
    }
}
