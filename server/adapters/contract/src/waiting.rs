//! The waiting index's promises: a row per version, a slower writer never undoing a newer
//! change, one read for what waits, and the scan making it true again.

use super::*;
use time::OffsetDateTime;

fn row(group: &GroupName, version: u32, revision: u64, step: Option<&str>) -> WaitingRow {
    WaitingRow {
        group: group.clone(),
        version: VersionNumber::new(version).unwrap(),
        revision,
        step: step.map(|document| KeptStep {
            // Whole milliseconds: the precision both stores keep the time in.
            since: OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
                + time::Duration::milliseconds(i64::from(version)),
            document: document.to_owned(),
        }),
    }
}

async fn kept_in(services: &Subject, group: &GroupName) -> Vec<WaitingRow> {
    let mut rows: Vec<_> = services
        .ports
        .registry
        .kept_waiting()
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.group == *group)
        .collect();
    rows.sort_by_key(|row| row.version);
    rows
}

pub async fn the_waiting_index_keeps_a_row_per_version_and_never_an_older_one(services: &Subject) {
    let group = unique_group("waiting-index");
    let registry = &services.ports.registry;
    let first = row(&group, 1, 3, Some("step at revision 3"));
    registry.keep_waiting(&first).await.unwrap();
    registry
        .keep_waiting(&row(&group, 2, 1, Some("another version")))
        .await
        .unwrap();
    assert_eq!(
        kept_in(services, &group).await,
        vec![first.clone(), row(&group, 2, 1, Some("another version"))],
        "each row reads back as written, the document untouched"
    );

    registry
        .keep_waiting(&row(&group, 1, 2, Some("older")))
        .await
        .unwrap();
    assert_eq!(
        kept_in(services, &group).await[0],
        first,
        "a row for an earlier revision leaves the later one as it is"
    );

    let rewritten = row(&group, 1, 3, Some("read again at revision 3"));
    registry.keep_waiting(&rewritten).await.unwrap();
    assert_eq!(
        kept_in(services, &group).await[0],
        rewritten,
        "the same revision read again replaces the row"
    );

    registry
        .keep_waiting(&row(&group, 1, 4, None))
        .await
        .unwrap();
    registry
        .keep_waiting(&row(&group, 1, 3, Some("late writer")))
        .await
        .unwrap();
    let versions: Vec<u32> = kept_in(services, &group)
        .await
        .iter()
        .map(|row| row.version.get())
        .collect();
    assert_eq!(
        versions,
        vec![2],
        "a version nothing waits on is not read back, and a late writer does not bring it back"
    );
}

pub async fn a_fresh_replica_reads_what_waits_from_the_index_and_the_scan_repairs_it(
    services: &Subject,
) {
    let group = unique_group("waiting-repair");
    let lost = register(services, &group).await;
    let damaged = register(services, &group).await;
    let kept = register(services, &group).await;
    let registry = &services.ports.registry;
    // A write lost to a failure, a row this portal cannot read, a version the registry no
    // longer has.
    registry
        .keep_waiting(&row(&group, lost.version.get(), lost.revision, None))
        .await
        .unwrap();
    registry
        .keep_waiting(&row(
            &group,
            damaged.version.get(),
            damaged.revision,
            Some("{\"not\": \"a step\""),
        ))
        .await
        .unwrap();
    registry
        .keep_waiting(&row(&group, 99, 0, Some("{}")))
        .await
        .unwrap();

    let replica = Services::new(
        services.ports.clone(),
        services.policy().clone(),
        Arc::new(RandomIds),
    );
    let waiting_in = |snapshot: &countersign_domain::service::WaitingSnapshot| {
        snapshot
            .steps()
            .filter(|step| step.group == group)
            .map(|step| step.version.get())
            .collect::<BTreeSet<_>>()
    };
    let read = replica.waiting_steps().await.unwrap();
    assert_eq!(
        waiting_in(&read),
        BTreeSet::from([damaged.version.get(), kept.version.get()]),
        "what the index holds, an unreadable row read from the registry; \
         the lost row and the phantom's unreadable row until the scan"
    );

    let rewritten = replica.repair_waiting_index().await.unwrap();
    assert!(rewritten >= 3, "rewrote {rewritten} rows");
    let versions: BTreeSet<u32> = kept_in(services, &group)
        .await
        .iter()
        .map(|row| row.version.get())
        .collect();
    assert_eq!(
        versions,
        BTreeSet::from([
            lost.version.get(),
            damaged.version.get(),
            kept.version.get()
        ]),
        "after the scan the index holds what the registry says waits, and nothing else"
    );
    let again = Services::new(
        services.ports.clone(),
        services.policy().clone(),
        Arc::new(RandomIds),
    );
    let steps = again.waiting_steps().await.unwrap();
    let ours: Vec<_> = steps.steps().filter(|s| s.group == group).collect();
    assert_eq!(ours.len(), 3);
    let first = first_env(services);
    assert!(ours.iter().all(|step| step.waiting.environment == first));
}
