//! Sign-ins, sign-outs and sign-ins that did not complete, kept in the portal's own trail
//! (21 CFR 11.10(e), EU GMP Annex 11 §12.4). A sign-in that cannot be kept is refused: a
//! session nobody could account for later is not started. A sign-out or a failure that
//! cannot be kept is logged: neither is held up for it.

use super::*;
use countersign_domain::audit::SystemEvent;
use countersign_domain::service::Services;

/// Who a failed sign-in is attributed to: nobody was signed in.
const NOBODY_SIGNED_IN: &str = "anonymous";

/// How someone signed in, as the trail says it.
pub enum SignedInThrough {
    IdentityProvider,
    DevelopmentSignIn,
}

impl Sessions {
    /// Keeps sign-ins, sign-outs and failed sign-ins in `services`' system trail.
    pub fn with_system_trail(mut self, services: Services) -> Self {
        self.system_trail = Some(services);
        self
    }

    /// Keeps `person`'s sign-in; the page to answer with if it could not be kept.
    pub(crate) async fn signed_in(
        &self,
        person: &Person,
        through: SignedInThrough,
    ) -> Result<(), Response> {
        let through = match through {
            SignedInThrough::IdentityProvider => "the identity provider",
            SignedInThrough::DevelopmentSignIn => "the development sign-in",
        };
        let event = SystemEvent::SignedIn {
            person: person.clone(),
            through: through.into(),
        };
        self.keep(&person.subject, event).await.map_err(|()| {
            crate::auth::plain_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in not recorded",
                "Your sign-in could not be recorded, so you are not signed in. Try again in a moment.",
                ("/sign-in", "Sign in again"),
            )
        })
    }

    pub(crate) async fn signed_out(&self, person: &Person) {
        let event = SystemEvent::SignedOut {
            person: person.clone(),
        };
        let _logged = self.keep(&person.subject, event).await;
    }

    /// Keeps a sign-in that did not complete, and why (text the portal wrote, never what the
    /// request said).
    pub(crate) async fn sign_in_failed(&self, reason: String) {
        let event = SystemEvent::SignInFailed { reason };
        let _logged = self.keep(NOBODY_SIGNED_IN, event).await;
    }

    async fn keep(&self, actor: &str, event: SystemEvent) -> Result<(), ()> {
        let Some(services) = &self.system_trail else {
            return Ok(());
        };
        let kind = event.kind();
        services
            .record_system_event(actor, event)
            .await
            .map_err(|error| {
                tracing::error!(%error, kind, "not kept in the portal's own trail");
            })
    }
}
