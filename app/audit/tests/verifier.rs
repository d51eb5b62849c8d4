//! The verifier against trails written the way the portal writes them (the workflow's own
//! decisions, appended through `Head`, a checkpoint signed after each append), and against
//! every way of tampering with one that the issue names.

use countersign_audit::bundle::Bundle;
use countersign_audit::entry::{entry_hash, Entry};
use countersign_audit::{verify, Head, Notary};
use countersign_domain::audit::{AuditEvent, AuditRecord};
use countersign_domain::signature::{Authentication, IdentityEvidence};
use countersign_domain::testing::{approver, person, registration};
use countersign_domain::workflow::{self, DecisionRequest};
use countersign_domain::*;
use proptest::prelude::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

const GROUP: &str = "churn";

struct Trail {
    policy: Arc<Policy>,
    notary: Notary,
    head: Head,
    entries: Vec<String>,
    checkpoints: Vec<String>,
    version: ModelVersion,
    decisions: Vec<DecisionRecord>,
    now: OffsetDateTime,
    /// How each decision's signer shows their sign-in at the identity provider, if at all.
    sign_in: Option<SignIn>,
}

/// The identity provider's evidence for `who` signing `record_digest`, sent to sign in at
/// `asked` (see `verifier/evidence.rs`).
type SignIn = fn(who: &str, record_digest: &str, asked: OffsetDateTime) -> IdentityEvidence;

fn key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Notary::generate_key("portal.example.com"))
}

impl Trail {
    /// Version 7 of churn, registered by dana, seen by the portal, its dev approval asked.
    fn new(policy: Policy) -> Self {
        Self::registered(policy, registration(GROUP, person("dana")))
    }

    /// As [`Trail::new`], but registered by a pipeline whose word alone names dana.
    fn declared(policy: Policy) -> Self {
        let mut declared = registration(GROUP, person("dana"));
        declared.registrant_verified = false;
        Self::registered(policy, declared)
    }

    fn registered(policy: Policy, registration: Registration) -> Self {
        let now = time::macros::datetime!(2026-11-30 06:00 UTC);
        let version = workflow::register(&policy, registration, now)
            .into_version(VersionNumber::new(7).unwrap(), "arn:churn/7".into());
        let mut trail = Self {
            policy: Arc::new(policy),
            notary: Notary::from_key(key()).unwrap(),
            head: Head::default(),
            entries: Vec::new(),
            checkpoints: Vec::new(),
            version: version.clone(),
            decisions: Vec::new(),
            now,
            sign_in: None,
        };
        trail.append("dana", AuditEvent::RegistrationSeen(Box::new(version)));
        trail.append(
            "countersign",
            AuditEvent::ApprovalRequested {
                version: VersionNumber::new(7).unwrap(),
                environment: Environment::parse("dev").unwrap(),
            },
        );
        trail
    }

    fn append(&mut self, actor: &str, event: AuditEvent) {
        self.now += Duration::seconds(30);
        let record = AuditRecord {
            group: GroupName::parse(GROUP).unwrap(),
            key: AuditRecord::key_of(&event),
            at: self.now,
            actor: actor.into(),
            event,
            policy: self.policy.clone(),
        };
        let (entries, head) = self.head.append(&record).unwrap();
        self.entries.extend(entries.into_iter().map(|e| e.text));
        self.checkpoints.push(
            self.notary
                .sign(GROUP, head.size, head.root().unwrap(), self.now),
        );
        self.head = head;
    }

    /// `who` decides `env` as the portal lets them, signing in again for it.
    fn decide(&mut self, who: &str, env: &str, choice: Choice) -> Result<(), Refusal> {
        self.decide_under(&self.policy.clone(), who, env, choice)
    }

    /// As [`Trail::decide`], but with the workflow asked under `policy`: a decision the
    /// portal's rules (those recorded) would refuse.
    fn decide_under(
        &mut self,
        policy: &Policy,
        who: &str,
        env: &str,
        choice: Choice,
    ) -> Result<(), Refusal> {
        let request = DecisionRequest::new(
            Environment::parse(env).unwrap(),
            choice,
            "looked at the runs",
        );
        let stamp = Stamp {
            id: format!("d-{}", self.decisions.len()),
            at: self.now + Duration::seconds(30),
        };
        let mut effect = workflow::decide(
            policy,
            &self.version,
            &self.decisions,
            &approver(who),
            &request,
            stamp,
        )?;
        let asked = self.now;
        if let Some(signature) = &mut effect.record.signature {
            signature.authentication = Some(Authentication::at(asked + Duration::seconds(5)));
            if let Some(sign_in) = self.sign_in {
                signature.identity_evidence = Some(sign_in(who, &signature.record_digest, asked));
                signature.groups = vec!["approvers".into()];
            }
        }
        self.version = workflow::apply(&self.version, &effect);
        self.decisions.push(effect.record.clone());
        self.append(
            who,
            AuditEvent::Decided {
                record: Box::new(effect.record),
                signed: Box::new(effect.signed),
                reauthentication_asked_at: Some(asked),
            },
        );
        Ok(())
    }

    fn bundle(&self) -> Bundle {
        Bundle::of(
            GROUP,
            &self.notary.origin(GROUP),
            self.notary.public_key(),
            self.entries.clone(),
            0,
            u64::MAX,
            self.checkpoints.clone(),
        )
    }
}

fn policy() -> Policy {
    Policy::new(Environments::default(), "approvers")
}

/// The default rules, but no environment asks for one approver more where the registrant is
/// not established.
fn without_the_extra_approver() -> Policy {
    policy()
        .with_extra_approval_without_registrant(Vec::new())
        .unwrap()
}

/// dev, test and uat approved by three people; prod by two (it needs two).
fn promoted() -> Trail {
    let mut trail = Trail::new(policy().with_required_approvals("prod", 2).unwrap());
    trail.decide("alice", "dev", Choice::Approve).unwrap();
    trail.decide("bob", "test", Choice::Approve).unwrap();
    trail.decide("carol", "uat", Choice::Approve).unwrap();
    trail.decide("alice", "prod", Choice::Approve).unwrap();
    trail.decide("bob", "prod", Choice::Approve).unwrap();
    trail
}

fn violation(bundle: &Bundle) -> (Option<u64>, String) {
    let v = verify(bundle, None).expect_err("the verifier must refuse it");
    (v.entry, v.message)
}

/// The entry whose event is the decision `id`.
fn seq_of_decision(bundle: &Bundle, id: &str) -> usize {
    bundle
        .entries
        .iter()
        .position(|e| e.contains(&format!(r#""key":"decision/{id}""#)))
        .unwrap()
}

#[test]
fn a_trail_written_as_the_portal_writes_it_verifies() {
    let trail = promoted();
    let verified = verify(&trail.bundle(), Some(trail.notary.public_key())).unwrap();
    // A policy entry, the registration, the request, five decisions.
    assert_eq!(verified.entries, 8);
    assert_eq!(
        verified.checkpoints, 7,
        "one per append (the first wrote two entries)"
    );
    assert_eq!(verified.decisions_checked, 5);
    assert_eq!(verified.last.unwrap().0, 7);
    assert_eq!(
        verified.headline(),
        "verified up to entry 7 at 2026-11-30 06:03:30 UTC",
        "to the second, in UTC, for people"
    );
    let first = Entry::parse(&trail.entries[0]).unwrap();
    assert!(matches!(
        first.event,
        countersign_audit::EventJson::PolicyInForce { .. }
    ));
}

#[test]
fn a_reason_edited_in_place_is_caught_at_its_entry() {
    let mut bundle = promoted().bundle();
    let at = seq_of_decision(&bundle, "d-2");
    bundle.entries[at] = bundle.entries[at].replace("looked at the runs", "looked at the run!");
    assert_eq!(violation(&bundle).0, Some(at as u64));
    assert!(
        violation(&bundle).1.contains("changed after it was signed"),
        "{:?}",
        violation(&bundle)
    );
}

#[test]
fn a_deleted_entry_is_caught_where_it_is_missing() {
    let mut bundle = promoted().bundle();
    bundle.entries.remove(4);
    assert_eq!(violation(&bundle).0, Some(4));
}

#[test]
fn two_swapped_entries_are_caught() {
    let mut bundle = promoted().bundle();
    bundle.entries.swap(3, 4);
    assert_eq!(violation(&bundle).0, Some(3));
}

#[test]
fn a_log_rewritten_whole_without_the_key_does_not_match_its_checkpoints() {
    // Entry 5 removed, the later ones renumbered and relinked: a consistent chain.
    let trail = promoted();
    let mut entries: Vec<Entry> = trail
        .entries
        .iter()
        .map(|e| Entry::parse(e).unwrap())
        .collect();
    entries.remove(5);
    let mut previous = countersign_audit::entry::NO_PREVIOUS.to_owned();
    let mut texts = Vec::new();
    for (seq, mut entry) in entries.into_iter().enumerate() {
        entry.seq = seq as u64;
        entry.previous = previous;
        let text = entry.canonical();
        previous = hex::encode(entry_hash(&text).0);
        texts.push(text);
    }
    let mut bundle = trail.bundle();
    bundle.entries = texts;
    let (entry, message) = violation(&bundle);
    assert_eq!(entry, Some(5), "{message}");
}

#[test]
fn a_truncated_tail_is_caught_against_a_published_checkpoint() {
    let mut bundle = promoted().bundle();
    bundle.entries.truncate(6);
    let (entry, message) = violation(&bundle);
    assert_eq!(entry, Some(6));
    assert!(message.contains("tail was cut off"), "{message}");
}

#[test]
fn an_entry_appended_without_the_key_is_caught() {
    let trail = promoted();
    let mut bundle = trail.bundle();
    let mut forged = Entry::parse(bundle.entries.last().unwrap()).unwrap();
    forged.seq += 1;
    forged.key = "decision/forged".into();
    forged.previous = hex::encode(entry_hash(bundle.entries.last().unwrap()).0);
    bundle.entries.push(forged.canonical());
    let (entry, message) = violation(&bundle);
    assert_eq!(entry, Some(8));
    assert!(message.contains("appended without the key"), "{message}");
}

#[test]
fn a_checkpoint_signed_by_another_key_is_caught() {
    let trail = promoted();
    let mut bundle = trail.bundle();
    let other = Notary::from_key(&Notary::generate_key("portal.example.com")).unwrap();
    let head = &trail.head;
    *bundle.checkpoints.last_mut().unwrap() =
        other.sign(GROUP, head.size, head.root().unwrap(), trail.now);
    let (_, message) = violation(&bundle);
    assert!(
        message.starts_with("checkpoint 7 of 7: it is not signed by the audit key"),
        "{message}"
    );
    // A bundle re-signed whole by another key fails against the key the auditor trusts.
    bundle.public_key = other.public_key().into();
    assert!(verify(&bundle, Some(trail.notary.public_key())).is_err());
}

#[test]
fn consistent_checkpoints_over_a_decision_that_breaks_four_eyes_are_caught() {
    let mut trail = Trail::new(policy());
    let lenient = policy().allowing_self_approval("dev").unwrap();
    trail
        .decide_under(&lenient, "dana", "dev", Choice::Approve)
        .unwrap();
    let bundle = trail.bundle();
    let (entry, message) = violation(&bundle);
    assert_eq!(entry, Some(seq_of_decision(&bundle, "d-0") as u64));
    assert!(message.contains("four-eyes"), "{message}");
}

#[test]
fn the_rules_replayed_catch_order_missing_approvals_and_stale_sign_ins() {
    // test decided before dev was approved.
    let mut trail = Trail::new(policy());
    let mut skipping = trail.version.clone();
    skipping
        .steps
        .set(&Environment::parse("dev").unwrap(), StepState::Approved);
    let real = std::mem::replace(&mut trail.version, skipping);
    trail.decide("bob", "test", Choice::Approve).unwrap();
    trail.version = real;
    assert!(violation(&trail.bundle())
        .1
        .contains("before dev was approved"));

    // prod approved by one where the rules in force need two.
    let mut trail = Trail::new(policy().with_required_approvals("prod", 2).unwrap());
    for (who, env) in [("alice", "dev"), ("bob", "test"), ("carol", "uat")] {
        trail.decide(who, env, Choice::Approve).unwrap();
    }
    trail
        .decide_under(&policy(), "alice", "prod", Choice::Approve)
        .unwrap();
    assert!(
        violation(&trail.bundle())
            .1
            .contains("after 1 of the 2 approvals"),
        "{:?}",
        violation(&trail.bundle())
    );

    // A sign-in an hour old, without being sent to sign in again, in dev (max age 300 s).
    let mut trail = Trail::new(policy());
    trail.decide("alice", "dev", Choice::Approve).unwrap();
    let mut bundle = trail.bundle();
    let at = bundle.entries.len() - 1;
    let mut entry = Entry::parse(&bundle.entries[at]).unwrap();
    if let countersign_audit::EventJson::Decided {
        decision,
        reauthentication_asked_at,
        ..
    } = &mut entry.event
    {
        *reauthentication_asked_at = None;
        decision.signature.as_mut().unwrap().authentication =
            Some(Authentication::at(decision.decided_at - Duration::hours(1)));
    }
    bundle.entries[at] = entry.canonical();
    let bundle = resealed(&trail, bundle, |_| {});
    let (entry, message) = violation(&bundle);
    assert_eq!(entry, Some(at as u64));
    assert!(message.contains("fresh enough sign-in"), "{message}");
}

#[test]
fn an_unverified_registrant_needs_the_extra_approval_the_rules_in_force_name() {
    let mut trail = Trail::declared(policy());
    trail
        .decide_under(
            &without_the_extra_approver(),
            "alice",
            "dev",
            Choice::Approve,
        )
        .unwrap();
    let (_, message) = violation(&trail.bundle());
    assert!(message.contains("after 1 of the 2 approvals"), "{message}");

    let mut trail = Trail::declared(policy());
    trail.decide("alice", "dev", Choice::Approve).unwrap();
    trail.decide("bob", "dev", Choice::Approve).unwrap();
    verify(&trail.bundle(), None).expect("two approvals are what it needs");
}

#[test]
fn a_registration_written_before_verification_was_recorded_counts_anyone_named() {
    // The same trail as an earlier portal wrote it: no `registrant_verified`, one approval.
    let mut trail = Trail::declared(policy());
    trail
        .decide_under(
            &without_the_extra_approver(),
            "alice",
            "dev",
            Choice::Approve,
        )
        .unwrap();
    let bundle = resealed(&trail, trail.bundle(), |entry| {
        if let countersign_audit::EventJson::RegistrationSeen {
            registrant_verified,
            ..
        } = &mut entry.event
        {
            *registrant_verified = None;
        }
        if let countersign_audit::EventJson::PolicyInForce { environments, .. } = &mut entry.event {
            for rules in environments.iter_mut() {
                rules.extra_approval_without_registrant = rules.environment == "prod";
            }
        }
    });
    verify(&bundle, None).expect("anyone named established the registrant then");
}

#[test]
fn a_portal_asking_for_the_extra_approval_the_trail_does_not_need_is_stricter_not_wrong() {
    // dana established at registration, but the portal read her as declared when it
    // decided (a version registered before the upgrade, or a seal removed since): dev
    // stayed pending after one approval, and was approved after two.
    let mut trail = Trail::new(policy());
    let mut as_the_portal_read_it = trail.version.clone();
    as_the_portal_read_it.attributed_to = Attribution::declared(&person("dana"));
    let verified = std::mem::replace(&mut trail.version, as_the_portal_read_it);
    trail.decide("alice", "dev", Choice::Approve).unwrap();
    trail.decide("bob", "dev", Choice::Approve).unwrap();
    assert!(verified.attributed_to.is_verified());
    verify(&trail.bundle(), None).expect("one approval more than needed is never a breach");

    // Still pending once it has every approval even the stricter reading needs: a breach.
    let mut trail = Trail::declared(policy());
    let stricter = policy().with_required_approvals("dev", 2).unwrap();
    for who in ["alice", "bob"] {
        trail
            .decide_under(&stricter, who, "dev", Choice::Approve)
            .unwrap();
    }
    let (_, message) = violation(&trail.bundle());
    assert!(
        message.contains("PendingManualApproval after 2 of the 2"),
        "{message}"
    );
}

/// `bundle` with `edit` applied to each entry, chained and signed again as by the key's
/// holder, so that only the rules can object.
fn resealed(trail: &Trail, mut bundle: Bundle, mut edit: impl FnMut(&mut Entry)) -> Bundle {
    let mut head = Head::default();
    let mut checkpoints = Vec::new();
    let mut previous = countersign_audit::entry::NO_PREVIOUS.to_owned();
    for text in bundle.entries.iter_mut() {
        let mut entry = Entry::parse(text).unwrap();
        edit(&mut entry);
        entry.previous = previous;
        *text = entry.canonical();
        previous = hex::encode(entry_hash(text).0);
        head = reseal(&head, text);
        checkpoints.push(
            trail
                .notary
                .sign(GROUP, head.size, head.root().unwrap(), trail.now),
        );
    }
    bundle.checkpoints = checkpoints;
    bundle
}

/// The head after one more entry of exactly `text` (for a key holder's re-sealing).
fn reseal(head: &Head, text: &str) -> Head {
    let mut tree = head.tree().unwrap();
    let hash = entry_hash(text);
    tree.push(hash);
    Head {
        size: head.size + 1,
        last: Some(hex::encode(hash.0)),
        frontier: tree.to_hex(),
        policy: head.policy.clone(),
    }
}

#[test]
fn a_bundle_of_part_of_a_trail_verifies_from_its_checkpoint() {
    let trail = promoted();
    let part = Bundle::of(
        GROUP,
        &trail.notary.origin(GROUP),
        trail.notary.public_key(),
        trail.entries.clone(),
        5,
        7,
        trail.checkpoints[3..6].to_vec(),
    );
    let verified = verify(&part, None).unwrap();
    assert_eq!((verified.first_seq, verified.entries), (5, 2));
    let mut forged = part.clone();
    forged.start.frontier.reverse();
    let (_, message) = violation(&forged);
    assert!(
        message.contains("do not match their checkpoint"),
        "{message}"
    );
    let mut unvouched = part.clone();
    unvouched.checkpoints.remove(0);
    assert!(violation(&unvouched).1.contains("no checkpoint vouches"));
}

#[derive(Clone, Debug)]
enum Step {
    Approve(&'static str),
    Reject(&'static str),
    Attempt(&'static str),
    Report(u8),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let who = prop::sample::select(vec!["alice", "bob", "carol", "dana"]);
    let step = prop_oneof![
        4 => who.clone().prop_map(Step::Approve),
        1 => who.clone().prop_map(Step::Reject),
        1 => who.prop_map(Step::Attempt),
        1 => (0u8..3).prop_map(Step::Report),
    ];
    prop::collection::vec(step, 0..14)
}

/// A trail of whatever the workflow allowed of `steps`.
fn trail_of(steps: &[Step]) -> Trail {
    let mut trail = Trail::new(policy().with_required_approvals("uat", 2).unwrap());
    for (i, step) in steps.iter().enumerate() {
        let awaiting = trail
            .version
            .steps
            .awaiting(trail.policy.environments())
            .map(|e| e.to_string());
        match (step, awaiting) {
            (Step::Approve(who), Some(env)) => {
                let _ = trail.decide(who, &env, Choice::Approve);
            }
            (Step::Reject(who), Some(env)) => {
                let _ = trail.decide(who, &env, Choice::Reject);
            }
            (Step::Attempt(who), env) => {
                let attempt = SigningAttempt {
                    id: format!("a-{i}"),
                    group: GROUP.into(),
                    version: 7,
                    environment: env.unwrap_or_else(|| "dev".into()),
                    verdict: "approve".into(),
                    by: person(who),
                    at: trail.now,
                    outcome: AttemptOutcome::Refused {
                        reason: "the record changed".into(),
                    },
                };
                trail.append(who, AuditEvent::SigningAttempted(Box::new(attempt)));
            }
            (Step::Report(n), _) => {
                trail.append(
                    "batch",
                    AuditEvent::PromotionRequested {
                        version: VersionNumber::new(7).unwrap(),
                        environment: Environment::parse(["test", "uat", "prod"][*n as usize])
                            .unwrap(),
                    },
                );
            }
            _ => {}
        }
    }
    trail
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_trail_the_portal_writes_verifies(steps in steps()) {
        let trail = trail_of(&steps);
        let verified = verify(&trail.bundle(), Some(trail.notary.public_key()));
        prop_assert!(verified.is_ok(), "{:?}", verified);
    }

    #[test]
    fn no_single_byte_changed_anywhere_verifies(
        steps in steps(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        to in 0x20u8..0x7f,
    ) {
        let trail = trail_of(&steps);
        let mut bundle = trail.bundle();
        let texts = bundle.entries.len() + bundle.checkpoints.len();
        let i = which.index(texts);
        let text = if i < bundle.entries.len() {
            &mut bundle.entries[i]
        } else {
            &mut bundle.checkpoints[i - bundle.entries.len()]
        };
        let mut bytes = text.clone().into_bytes();
        let at = at.index(bytes.len());
        prop_assume!(bytes[at].is_ascii() && bytes[at] != to);
        bytes[at] = to;
        *text = String::from_utf8(bytes).unwrap();
        prop_assert!(verify(&bundle, Some(trail.notary.public_key())).is_err());
    }
}

#[test]
fn the_log_is_shown_as_the_trail_holds_it_and_every_disagreement_is_named() {
    use countersign_audit::desk::{reconcile, Standing};
    let trail = promoted();
    let group = trail.decisions[0].group.clone();
    let alike = reconcile(&group, &trail.entries, &trail.decisions);
    assert_eq!(alike.len(), trail.decisions.len());
    assert!(
        alike.iter().all(|d| d.standing == Standing::Recorded),
        "{alike:?}"
    );

    let mut log = trail.decisions.clone();
    let removed = log.remove(1);
    let rewritten = &mut log[0];
    let (true_reason, true_signer) = (rewritten.reason.clone(), rewritten.decided_by.clone());
    rewritten.reason = Some("forged after the fact".into());
    rewritten.decided_by.name = "Somebody Else".into();
    let mut lost = trail.decisions[0].clone();
    lost.id = "lost".into();
    let mut back_dated = lost.clone();
    back_dated.id = "back-dated".into();
    back_dated.decided_at = time::macros::datetime!(2020-01-01 00:00 UTC);
    // A version the trail never saw, decided before it began.
    let mut before = back_dated.clone();
    before.id = "before-the-trail".into();
    before.version = VersionNumber::new(3).unwrap();
    log.extend([lost, back_dated, before]);

    let shown = reconcile(&group, &trail.entries, &log);
    let standing = |id: &str| {
        let found = shown.iter().find(|d| d.record.id == id);
        found
            .map(|d| d.standing.clone())
            .expect("every decision is shown")
    };
    assert_eq!(
        standing(&trail.decisions[0].id),
        Standing::Differs(vec!["reason", "signer"])
    );
    let first = shown
        .iter()
        .find(|d| d.record.id == trail.decisions[0].id)
        .unwrap();
    assert_eq!(
        (&first.record.reason, &first.record.decided_by),
        (&true_reason, &true_signer),
        "a rewritten row is shown as the trail holds it"
    );
    assert!(first
        .alert()
        .unwrap()
        .contains("differs from the audit trail in its reason, signer"));
    assert_eq!(standing(&removed.id), Standing::NotInLog);
    assert_eq!(standing("lost"), Standing::NotInTrail);
    assert_eq!(
        standing("before-the-trail"),
        Standing::BeforeTheTrail,
        "decisions from before the trail are not expected in it"
    );
    assert_eq!(
        standing("back-dated"),
        Standing::NotInTrail,
        "dated before the trail, about a step the trail first saw undecided"
    );
    assert_eq!(shown.len(), trail.decisions.len() + 3);
    assert!(
        shown
            .windows(2)
            .all(|w| w[0].record.decided_at <= w[1].record.decided_at),
        "oldest first, the trail's decisions the log lacks placed by their time"
    );
}

// Proves: AT-05.
#[test]
fn a_bundle_must_extend_every_checkpoint_the_auditor_kept() {
    use countersign_audit::verify_extending;
    let trail = promoted();
    let bundle = trail.bundle();
    let early = trail.checkpoints[2].clone();
    let last = trail.checkpoints.last().unwrap().clone();
    let verified = verify_extending(
        &bundle,
        Some(key_public(&trail)),
        &[early.clone(), last.clone()],
    )
    .expect("the trail grew from what was kept");
    assert_eq!(verified.seen, 2);
    assert!(verified
        .summary()
        .contains("checkpoints you kept: the bundle extends 2 of them"));

    // Rolled back by one decision, its checkpoint removed too: it verifies on its own.
    let kept = trail.entries.len() - 1;
    let rolled_back = Bundle::of(
        GROUP,
        &trail.notary.origin(GROUP),
        trail.notary.public_key(),
        trail.entries[..kept].to_vec(),
        0,
        u64::MAX,
        trail.checkpoints[..trail.checkpoints.len() - 1].to_vec(),
    );
    assert!(verify(&rolled_back, Some(key_public(&trail))).is_ok());
    let refused = verify_extending(&rolled_back, Some(key_public(&trail)), &[last])
        .expect_err("it does not extend the last checkpoint kept");
    assert!(refused.message.contains("the bundle holds"), "{refused}");

    // Another history written under the same key from the same start: a fork.
    let mut other = Trail::new(policy().with_required_approvals("prod", 2).unwrap());
    other.decide("alice", "dev", Choice::Reject).unwrap();
    other.decide("bob", "dev", Choice::Approve).unwrap_or(());
    let forked = verify_extending(
        &other.bundle(),
        Some(key_public(&trail)),
        &[trail.checkpoints[2].clone()],
    )
    .expect_err("the same size with another root");
    assert!(forked.message.contains("forked or rewritten"), "{forked}");
}

fn key_public(trail: &Trail) -> &str {
    trail.notary.public_key()
}

#[test]
fn checkpoints_kept_as_text_read_back_one_by_one() {
    let trail = promoted();
    let text = trail.checkpoints[1..3].concat();
    assert_eq!(
        countersign_audit::kept_checkpoints(&text).unwrap(),
        trail.checkpoints[1..3]
    );
    let bundle_text = serde_json::to_string(&trail.bundle()).unwrap();
    assert_eq!(
        countersign_audit::kept_checkpoints(&bundle_text).unwrap(),
        trail.checkpoints
    );
    assert!(countersign_audit::kept_checkpoints("nothing here").is_err());
}

#[test]
fn entry_times_may_not_go_backwards_beyond_the_stated_skew() {
    let mut trail = Trail::new(policy());
    trail.decide("alice", "dev", Choice::Approve).unwrap();
    trail.now -= countersign_audit::verify::TIME_SKEW + Duration::seconds(31);
    trail.append(
        "countersign",
        AuditEvent::PromotionRequested {
            version: VersionNumber::new(7).unwrap(),
            environment: Environment::parse("test").unwrap(),
        },
    );
    let (entry, message) = violation(&trail.bundle());
    assert_eq!(entry, Some(4));
    assert!(
        message.contains("the trail's times go backwards"),
        "{message}"
    );

    let mut within = Trail::new(policy());
    within.decide("alice", "dev", Choice::Approve).unwrap();
    within.now -= Duration::seconds(60);
    within.append(
        "countersign",
        AuditEvent::PromotionRequested {
            version: VersionNumber::new(7).unwrap(),
            environment: Environment::parse("test").unwrap(),
        },
    );
    assert!(
        verify(&within.bundle(), None).is_ok(),
        "a skew within the bound is accepted"
    );
}

#[test]
fn a_bundle_whose_origin_names_another_key_fails() {
    let trail = Trail::new(policy());
    let mut bundle = Bundle::of(
        GROUP,
        "someone.example/audit/churn",
        trail.notary.public_key(),
        Vec::new(),
        0,
        0,
        Vec::new(),
    );
    let (_, message) = violation(&bundle);
    assert!(message.contains("does not name the key"), "{message}");
    bundle.origin = trail.notary.origin(GROUP);
    assert!(verify(&bundle, None).is_ok());
}

#[path = "verifier/evidence.rs"]
mod evidence;
#[path = "verifier/progress.rs"]
mod progress;
