//! The audit trail's promises: each event kept once, in order, and verifying.

use super::*;

/// `group`'s trail exported whole and verified with the subject's key.
pub async fn verified_trail(
    services: &Subject,
    group: &GroupName,
) -> (Vec<Entry>, countersign_audit::Verified) {
    let bundle = export(services, group).await;
    let verified = countersign_audit::verify(&bundle, Some(services.audit.notary.public_key()))
        .unwrap_or_else(|v| panic!("the trail of {group} verifies: {v}"));
    let entries = bundle
        .entries
        .iter()
        .map(|e| Entry::parse(e).unwrap())
        .collect();
    (entries, verified)
}

/// `group`'s trail as `countersign audit export` writes it.
pub async fn export(services: &Subject, group: &GroupName) -> countersign_audit::Bundle {
    services
        .audit
        .bundle(group, Period::default())
        .await
        .unwrap()
}

pub(super) fn kind(entry: &Entry) -> &'static str {
    match entry.event {
        EventJson::PolicyInForce { .. } => "policy",
        EventJson::RegistrationSeen { .. } => "registration",
        EventJson::ApprovalRequested { .. } => "approval request",
        EventJson::Decided { .. } => "decision",
        EventJson::SigningAttempted { .. } => "attempt",
        EventJson::ReportReceived { .. } => "report",
        EventJson::PromotionRequested { .. } => "promotion request",
        EventJson::System { .. } => "system",
        EventJson::DriftSeen { .. } => "drift",
        EventJson::SignatureNoLongerBinds { .. } => "unbound",
    }
}

// Proves: AT-01.
pub async fn the_audit_trail_keeps_each_event_once_in_order_and_verifies(services: &Subject) {
    let group = unique_group("trail");
    let version = register(services, &group).await;
    assert!(
        services
            .version_changed(&group, version.version)
            .await
            .unwrap(),
        "asked again, as an event or the scan does"
    );
    let dev = first_env(services);
    services
        .decide(
            &approver("alice", services),
            &group,
            version.version,
            &DecisionRequest::new(dev.clone(), Choice::Approve, "fine"),
        )
        .await
        .unwrap();
    let what = countersign_domain::service::SigningRequest::Decide {
        version: version.version,
        request: DecisionRequest::new(dev, Choice::Approve, ""),
    };
    let refused = AttemptOutcome::Refused {
        reason: "already decided".into(),
    };
    services
        .record_attempt(&person("bob"), &group, &what, refused)
        .await
        .unwrap();

    let (entries, verified) = verified_trail(services, &group).await;
    let kinds: Vec<&str> = entries.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "policy",
            "registration",
            "approval request",
            "decision",
            "attempt"
        ],
        "each event once, in the order it happened"
    );
    assert_eq!(verified.decisions_checked, 1);
    assert_eq!(entries[3].actor, "alice");
    let keys: BTreeSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys.len(), entries.len());
    let tail = services.ports.trail.entries(&group, 3).await.unwrap();
    assert_eq!(tail.len(), 2, "read from an entry on");
    assert_eq!(Entry::parse(&tail[0]).unwrap(), entries[3]);
    let keys = [
        entries[3].key.clone(),
        "decision/none".into(),
        entries[0].key.clone(),
        entries[3].key.clone(),
    ];
    let keyed: Vec<Entry> = services
        .ports
        .trail
        .entries_keyed(&group, &keys)
        .await
        .unwrap()
        .iter()
        .map(|text| Entry::parse(text).unwrap())
        .collect();
    assert_eq!(
        keyed,
        [entries[0].clone(), entries[3].clone()],
        "read by key, oldest first, once each, a key the trail lacks left out"
    );
    assert!(services
        .ports
        .trail
        .entries(&unique_group("none"), 0)
        .await
        .unwrap()
        .is_empty());
    let publisher = &services.audit.publisher;
    let newest = publisher.newest_published(&group).await.unwrap().unwrap();
    assert_eq!(
        countersign_audit::checkpoint::size_of(&newest),
        Some(entries.len() as u64),
        "the newest checkpoint names the whole trail"
    );
    assert_eq!(
        Some(newest),
        largest(publisher.published(&group).await.unwrap()),
        "the one of all published that names the most entries"
    );
    assert_eq!(
        publisher
            .newest_published(&unique_group("none"))
            .await
            .unwrap(),
        None
    );
}

pub async fn appends_racing_in_one_group_take_a_place_each(services: &Subject) {
    let group = unique_group("racing-trail");
    let version = register(services, &group).await;
    let what = countersign_domain::service::SigningRequest::Decide {
        version: version.version,
        request: DecisionRequest::new(first_env(services), Choice::Approve, ""),
    };
    let alice = person("alice");
    // Eight different attempts: identical ones within a minute are kept once.
    let refused = |n: usize| AttemptOutcome::Refused {
        reason: format!("refusal {n}"),
    };
    let racing = (0..8).map(|n| services.record_attempt(&alice, &group, &what, refused(n)));
    for appended in futures::future::join_all(racing).await {
        appended.unwrap();
    }
    let (entries, verified) = verified_trail(services, &group).await;
    assert_eq!(entries.len(), 3 + 8);
    assert_eq!(verified.entries, 11);
}

// Proves: AT-04.
/// What pages show of a decision is its trail entry, compared field by field with the log's
/// row: the log keeps every decision exactly as the entry does (times, the signature and how
/// its signer authenticated included), so nothing anybody left alone is flagged.
pub async fn the_log_tells_each_decision_as_the_trail_does(services: &Subject) {
    use countersign_audit::desk::Standing;
    use countersign_domain::service::SigningRequest;
    use countersign_domain::signature::{Authentication, Signing};
    let group = unique_group("alike");
    let first = register(services, &group).await;
    let second = register(services, &group).await;
    let env = first_env(services);
    let what = SigningRequest::Decide {
        version: first.version,
        request: DecisionRequest::new(env.clone(), Choice::Approve, "signed with care"),
    };
    let alice = approver("alice", services);
    let prepared = services.prepare(&alice, &group, &what).await.unwrap();
    let signing = Signing {
        reviewed_digest: prepared.effect.signed.digest(),
        authentication: Authentication {
            at: Some(services.now().replace_nanosecond(0).unwrap()),
            acr: Some("c1".into()),
            amr: vec!["pwd".into(), "mfa".into()],
            acrs: Vec::new(),
        },
        reauthentication_asked_at: None,
        evidence: None,
    };
    services
        .sign(&alice, &group, &what, &signing)
        .await
        .unwrap();
    services
        .decide(
            &approver("bob", services),
            &group,
            second.version,
            &DecisionRequest::new(env, Choice::Reject, "not this one"),
        )
        .await
        .unwrap();

    let decisions = services
        .ports
        .audit
        .decisions_for_group(&group)
        .await
        .unwrap();
    assert_eq!(decisions.len(), 2);
    let check = services.audit.check(&group, &decisions).await.unwrap();
    let standings: Vec<&Standing> = check.decisions.iter().map(|d| &d.standing).collect();
    assert_eq!(standings, [&Standing::Recorded, &Standing::Recorded]);
    assert!(check.holds(), "{:?}", check.verdict);

    // A page showing one of them compares that one, and still names a row the trail lacks
    // wherever it would be shown.
    let shown = BTreeSet::from([decisions[1].id.as_str()]);
    let page = services
        .audit
        .check_page(&group, &decisions, &shown)
        .await
        .unwrap();
    let ids: Vec<&str> = page
        .decisions
        .iter()
        .map(|d| d.record.id.as_str())
        .collect();
    assert_eq!(ids, [decisions[1].id.as_str()]);
    assert!(page.holds());
    let mut written_around = decisions[0].clone();
    written_around.id = "written-around-the-portal".into();
    written_around.decided_at = decisions[1].decided_at;
    let with_a_stranger = [decisions.clone(), vec![written_around]].concat();
    let page = services
        .audit
        .check_page(&group, &with_a_stranger, &shown)
        .await
        .unwrap();
    let standings: Vec<(&str, &Standing)> = page
        .decisions
        .iter()
        .map(|d| (d.record.id.as_str(), &d.standing))
        .collect();
    assert!(
        standings.contains(&("written-around-the-portal", &Standing::NotInTrail)),
        "{standings:?}"
    );
    assert!(!page.holds());
}

// Proves: AT-07.
pub async fn the_portals_own_trail_keeps_what_happened_to_it_and_verifies(services: &Subject) {
    use countersign_domain::audit::SystemEvent;
    let system = GroupName::system_trail();
    let before = export(services, &system).await.entries.len();
    let alice = person("alice");
    services
        .record_system_event(
            &alice.subject,
            SystemEvent::SignedIn {
                person: alice.clone(),
                through: "the identity provider".into(),
            },
        )
        .await
        .unwrap();
    services
        .record_system_event(
            countersign_domain::audit::PORTAL_ACTOR,
            SystemEvent::SignInFailed {
                reason: "the provider refused: access_denied".into(),
            },
        )
        .await
        .unwrap();

    let (entries, _) = verified_trail(services, &system).await;
    let new: Vec<&Entry> = entries[before..]
        .iter()
        .filter(|e| kind(e) == "system")
        .collect();
    assert_eq!(new.len(), 2, "each event once, in the order it happened");
    assert_eq!(new[0].actor, "alice");
    assert!(
        new[0].key.starts_with("system/signed_in/"),
        "{}",
        new[0].key
    );
    assert_eq!(
        new[1].event,
        EventJson::System {
            what: SystemEvent::SignInFailed {
                reason: "the provider refused: access_denied".into()
            }
        }
    );
    assert_ne!(new[0].key, new[1].key);
    assert!(
        GroupName::parse(countersign_domain::SYSTEM_TRAIL).is_err(),
        "no model group can share the portal's trail"
    );
}

/// The subject's trail, its appends counted.
struct CountedAppends {
    trail: Arc<dyn AuditTrail>,
    appends: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl AuditTrail for CountedAppends {
    async fn append(&self, record: &AuditRecord) -> Result<Appended, PortError> {
        self.appends
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.trail.append(record).await
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

pub async fn an_event_met_again_is_appended_once_and_then_not_even_looked_up(services: &Subject) {
    let counted = Arc::new(CountedAppends {
        trail: services.ports.trail.clone(),
        appends: Default::default(),
    });
    let ports = Ports {
        trail: counted.clone(),
        ..services.ports.clone()
    };
    let replica = Services::new(ports, services.policy().clone(), Arc::new(super::RandomIds));
    let system = GroupName::system_trail();
    let before = export(services, &system).await.entries.len();
    let outsider = person(unique_group("outsider").as_str());
    for _ in 0..3 {
        replica
            .note_access_refused(&outsider, "/models")
            .await
            .unwrap();
    }
    let appends = || counted.appends.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(appends(), 1, "met three times, appended once");
    replica
        .note_access_refused(&outsider, "/inbox")
        .await
        .unwrap();
    assert_eq!(appends(), 2, "another address is another refusal");
    let (entries, _) = verified_trail(services, &system).await;
    let kept = entries[before..]
        .iter()
        .filter(|e| e.actor == outsider.subject)
        .count();
    assert_eq!(kept, 2, "kept in the trail, once each");
}
