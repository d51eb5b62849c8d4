//! The waiting index's promises: a row per version, a slower writer never undoing a newer
//! change, one read for what waits, and the scan making it true again.

use super::*;
use countersign_domain::service::WaitingStep;
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
    let mut rows = Vec::new();
    services
        .ports
        .registry
        .kept_waiting(&mut |row| {
            if row.group == *group {
                rows.push(row);
            }
        })
        .await
        .unwrap();
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

/// What `services` reads as waiting in `group`.
async fn waiting_in(services: &Services, group: &GroupName) -> Vec<WaitingStep> {
    let snapshot = services.waiting_steps().await.unwrap();
    snapshot
        .steps()
        .filter(|step| step.group == *group)
        .collect()
}

pub async fn a_fresh_replica_reads_what_waits_from_the_index_and_the_scan_repairs_it(
    services: &Subject,
) {
    let group = unique_group("waiting-repair");
    let lost = register(services, &group).await;
    let damaged = register(services, &group).await;
    let kept = register(services, &group).await;
    let stale = register(services, &group).await;
    let registry = &services.ports.registry;
    let replica = || {
        Services::new(
            services.ports.clone(),
            services.policy().clone(),
            Arc::new(RandomIds),
        )
    };
    // A write lost to a failure, a row this portal cannot read, a version the registry no
    // longer has, and a row that reads but says less than the version does.
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
    let mut understated = waiting_in(&replica(), &group)
        .await
        .into_iter()
        .find(|step| step.version == stale.version)
        .expect("the stale version waits");
    understated.waiting.needed += 1;
    registry
        .keep_waiting(&WaitingRow {
            group: group.clone(),
            version: stale.version,
            revision: stale.revision,
            step: Some(understated.kept()),
        })
        .await
        .unwrap();

    let versions = |steps: &[WaitingStep]| {
        steps
            .iter()
            .map(|s| s.version.get())
            .collect::<BTreeSet<_>>()
    };
    let read = waiting_in(&replica(), &group).await;
    assert_eq!(
        versions(&read),
        BTreeSet::from([
            damaged.version.get(),
            kept.version.get(),
            stale.version.get()
        ]),
        "what the index holds, an unreadable row read from the registry; \
         the lost row and the phantom's unreadable row until the scan"
    );

    let rewritten = replica().repair_waiting_index(false).await.unwrap();
    assert!(rewritten >= 3, "rewrote {rewritten} rows");
    let kept_versions: BTreeSet<u32> = kept_in(services, &group)
        .await
        .iter()
        .map(|row| row.version.get())
        .collect();
    let all = BTreeSet::from([
        lost.version.get(),
        damaged.version.get(),
        kept.version.get(),
        stale.version.get(),
    ]);
    assert_eq!(
        kept_versions, all,
        "after the scan the index holds what the registry says waits, and nothing else"
    );
    let needed = |steps: &[WaitingStep]| {
        steps
            .iter()
            .find(|step| step.version == stale.version)
            .map(|step| step.waiting.needed)
    };
    assert_eq!(
        needed(&waiting_in(&replica(), &group).await),
        Some(understated.waiting.needed),
        "a row kept and listed is not read by a routine scan"
    );

    replica().repair_waiting_index(true).await.unwrap();
    let after = waiting_in(&replica(), &group).await;
    assert_eq!(versions(&after), all);
    assert_eq!(
        needed(&after),
        Some(understated.waiting.needed - 1),
        "the thorough scan at start reads every version and rewrites what differs"
    );
    let first = first_env(services);
    assert!(after.iter().all(|step| step.waiting.environment == first));
}

/// Reminders read only the versions whose steps wait long enough: the index says since when.
pub async fn follow_ups_read_only_the_versions_waiting_long_enough(services: &Subject) {
    let group = unique_group("follow-ups");
    let waiting = register(services, &group).await;
    let calls = Arc::new(Calls::default());
    let counted = Services::new(
        counted(&services.ports, &calls),
        services.policy().clone(),
        Arc::new(RandomIds),
    );
    let rules = |after: time::Duration| notification::FollowUps {
        remind_after: Some(after),
        escalate_after: None,
        escalated_in: Default::default(),
    };
    counted
        .follow_up(&rules(time::Duration::days(3650)))
        .await
        .unwrap();
    let reads = |calls: &std::collections::BTreeMap<&str, usize>| {
        calls
            .iter()
            .filter(|(name, _)| name.starts_with("registry.find_version"))
            .map(|(_, count)| count)
            .sum::<usize>()
    };
    let nothing_late = calls.take();
    assert_eq!(
        reads(&nothing_late),
        0,
        "no step waits ten years: no version is read ({nothing_late:?})"
    );

    let due = counted
        .follow_up(&rules(time::Duration::ZERO))
        .await
        .unwrap();
    let all_late = calls.take();
    assert!(
        reads(&all_late) >= 1,
        "a late step's version is read to write its reminder ({all_late:?})"
    );
    assert!(
        due >= 1,
        "the reminder of {} {} is due",
        group,
        waiting.version
    );
}
