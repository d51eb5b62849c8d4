//! What pages read: each page's use case makes the same calls through the ports however many
//! rows it shows, on every backend.

use super::*;
use countersign_domain::service::Notifications;

/// The review page and the inbox, read through counted ports: the review of a version costs
/// the same calls with one version and no runs as with four versions and three runs, and the
/// inbox reads what is live once per group and environment its steps wait in, not per step,
/// and only for the groups its filter keeps.
pub async fn page_reads_cost_the_same_calls_however_many_rows_they_show(services: &Subject) {
    let calls = Arc::new(Calls::default());
    let counted = Services::new(
        counted(&services.ports, &calls),
        services.policy().clone(),
        Arc::new(RandomIds),
    );
    let notifications = Notifications::new(services.outbox.clone(), &counted);
    let group = unique_group("pages");
    let first = register(services, &group).await;
    let review = || counted.review(&group, first.version, 12, &notifications);

    let alone = review().await.expect("a review");
    assert!(alone.reports.is_empty());
    let few_rows = calls.take();
    assert_eq!(
        few_rows.get("parameters.live").copied(),
        Some(services.policy().environments().iter().count()),
        "what is live is read once per environment, the one the step waits in too"
    );

    for _ in 0..3 {
        register(services, &group).await;
    }
    let env = first_env(services);
    for run in ["run-1", "run-2", "run-3"] {
        services
            .ports
            .reports
            .add_report(&report(services, &first, &env, run, 0.9))
            .await
            .expect("a report is kept");
    }
    let busier = review().await.expect("a review");
    assert_eq!(busier.reports.len(), 3);
    let beside = busier.waiting.as_ref().expect("dev waits");
    assert_eq!((&beside.environment, beside.recent.len()), (&env, 4));
    assert_eq!(
        calls.take(),
        few_rows,
        "the review page's calls do not grow with its rows"
    );

    let alice = approver("alice", services);
    let everything = counted
        .inbox_rows(&alice, &GroupFilter::default(), whole())
        .await
        .expect("the inbox");
    assert_eq!(
        everything
            .items
            .iter()
            .filter(|row| row.record.version.group == group)
            .count(),
        4,
        "every version of the group waits for dev"
    );
    calls.take();
    let filter = GroupFilter::new(&format!(" {} ", group.as_str().to_uppercase()));
    let rows = counted
        .inbox_rows(&alice, &filter, whole())
        .await
        .expect("the inbox filtered by group")
        .items;
    assert!(
        rows.len() == 4 && rows.iter().all(|row| row.record.version.group == group),
        "the filter keeps the group's steps and only them, whatever the case: {rows:?}"
    );
    let places: BTreeSet<_> = rows
        .iter()
        .map(|row| (&row.record.version.group, &row.waiting.environment))
        .collect();
    assert_eq!(
        calls.take().get("parameters.live").copied().unwrap_or(0),
        places.len(),
        "what is live is read once per group and environment, not per step"
    );

    let page = |offset| PageRequest { offset, limit: 3 };
    let first_page = counted.inbox_rows(&alice, &filter, page(0)).await.unwrap();
    let second_page = counted.inbox_rows(&alice, &filter, page(3)).await.unwrap();
    assert_eq!(
        (
            first_page.total,
            first_page.items.len(),
            second_page.items.len()
        ),
        (4, 3, 1),
        "a page holds its rows, and each counts the whole inbox"
    );
    let paged: Vec<_> = first_page
        .items
        .iter()
        .chain(&second_page.items)
        .map(|row| row.record.version.version)
        .collect();
    let whole: Vec<_> = rows.iter().map(|row| row.record.version.version).collect();
    assert_eq!(
        paged, whole,
        "the pages, one after the other, are the inbox"
    );
}

fn whole() -> PageRequest {
    PageRequest {
        offset: 0,
        limit: u32::MAX,
    }
}
