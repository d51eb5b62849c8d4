//! Work that runs beside requests: mail delivery, and the reconciliation scan that finds
//! versions whose event was lost, repairs the waiting index and reminds (then escalates)
//! steps waiting too long.

use crate::backend::Backing;
use crate::config::Config;
use crate::notify::{ChatOrMail, Delivery, OutboxOnly, Smtp, Transport};
use crate::startup::StartupError;
use secrecy::ExposeSecret;
use std::sync::Arc;

/// How often what requests freed is handed back: a burst of pages leaves tens of megabytes
/// freed in the heap, which the next burst would reuse but nothing else can.
const GIVE_BACK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts the background work: mail delivery, and the reconciliation scan when it is on.
pub fn start_background_work(config: &Config, backing: &Backing) -> Result<(), StartupError> {
    let mail: Arc<dyn Transport> = match &config.mail.smtp_url {
        Some(url) => Arc::new(Smtp::new(url.expose_secret(), &config.mail.from)?),
        None => Arc::new(OutboxOnly),
    };
    let transport: Arc<dyn Transport> =
        Arc::new(ChatOrMail::new(mail, config.mail.webhooks.clone()));
    let delivery = Delivery::new(
        &config.mail,
        backing.outbox.clone(),
        transport,
        backing.services.clock(),
        backing.wake.clone(),
    );
    tokio::spawn(delivery.run());
    tokio::spawn(read_waiting_steps_ahead(backing.services.clone()));
    tokio::spawn(crate::memory::give_back_freed_every(GIVE_BACK_EVERY));
    let services = backing.services.clone();
    let Some(interval) = config.scan_interval else {
        // Once at start even so: a store written by an older portal has no waiting index.
        tokio::spawn(async move {
            repair_waiting_index(&services, true).await;
            crate::memory::give_back_freed();
        });
        return Ok(());
    };
    let follow_ups = config.follow_ups.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        // At start every version is read again: the rules may have changed since the rows
        // were written. Later scans read only where the index and the registry disagree.
        let mut thorough = true;
        loop {
            ticks.tick().await;
            match services.reconcile().await {
                Ok(checked) => tracing::debug!(checked, "reconciliation scan"),
                Err(e) => {
                    tracing::warn!(error = %e, "reconciliation scan failed; next in {interval:?}")
                }
            }
            repair_waiting_index(&services, std::mem::take(&mut thorough)).await;
            match services.follow_up(&follow_ups).await {
                Ok(due) => tracing::debug!(due, "reminders and escalations"),
                Err(e) => {
                    tracing::warn!(error = %e, "reminders and escalations failed; next in {interval:?}")
                }
            }
            crate::memory::give_back_freed();
        }
    });
    Ok(())
}

/// Makes the waiting index true again where the registry changed around the portal.
async fn repair_waiting_index(services: &countersign_domain::service::Services, thorough: bool) {
    match services.repair_waiting_index(thorough).await {
        Ok(0) => {}
        Ok(rewritten) => tracing::info!(rewritten, "waiting index repaired"),
        Err(e) => tracing::warn!(error = %e, "repairing the waiting index failed"),
    }
}

/// Reads what waits again before the kept reading goes stale, when pages ask for it: no
/// request then waits for a reading (on AWS, a read per waiting version).
async fn read_waiting_steps_ahead(services: countersign_domain::service::Services) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        ticks.tick().await;
        match services.read_waiting_again_if_due().await {
            Ok(true) => crate::memory::give_back_freed(),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reading the waiting steps failed; pages will read them")
            }
        }
    }
}
