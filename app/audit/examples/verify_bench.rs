//! `make bench`'s audit figures: how long appending and verifying a trail of 100 000 entries
//! take (a checkpoint signed after every append, as the portal does), and the bundle's
//! size. Figures, not pass/fail. `cargo run --release -p countersign-audit --example verify_bench [entries]`.

use countersign_audit::bundle::Bundle;
use countersign_audit::{verify, Head, Notary};
use countersign_domain::audit::{AuditEvent, AuditRecord};
use countersign_domain::testing::{approver, person, registration};
use countersign_domain::workflow::{self, DecisionRequest};
use countersign_domain::*;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let wanted: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let policy = Arc::new(Policy::new(Environments::default(), "approvers"));
    let notary = Notary::from_key(&Notary::generate_key("bench.example")).unwrap();
    let group = GroupName::parse("bench").unwrap();
    let mut at = time::macros::datetime!(2026-01-01 00:00 UTC);
    let mut trail = Trail {
        head: Head::default(),
        entries: Vec::new(),
        checkpoints: Vec::new(),
        appending: std::time::Duration::ZERO,
        signing: std::time::Duration::ZERO,
        notary,
        policy: policy.clone(),
        group,
    };
    // Each version: seen, its dev approval requested, approved by Alice (signing in again).
    let mut n = 0;
    while trail.head.size < wanted {
        n += 1;
        at += time::Duration::minutes(1);
        let version = workflow::register(&policy, registration("bench", person("dana")), at)
            .into_version(VersionNumber::new(n).unwrap(), format!("arn:bench/{n}"));
        trail.append(
            AuditEvent::RegistrationSeen(Box::new(version.clone())),
            "dana",
            at,
        );
        let dev = policy.environments().first().clone();
        let requested = AuditEvent::ApprovalRequested {
            version: version.version,
            environment: dev.clone(),
        };
        trail.append(requested, "countersign", at);
        let request = DecisionRequest::new(dev, Choice::Approve, "metrics hold up");
        let stamp = Stamp {
            id: format!("d-{n}"),
            at: at + time::Duration::seconds(20),
        };
        let mut effect =
            workflow::decide(&policy, &version, &[], &approver("alice"), &request, stamp).unwrap();
        if let Some(signature) = &mut effect.record.signature {
            signature.authentication = Some(signature::Authentication::at(
                at + time::Duration::seconds(10),
            ));
        }
        let decided = AuditEvent::Decided {
            record: Box::new(effect.record),
            signed: Box::new(effect.signed),
            reauthentication_asked_at: Some(at),
        };
        trail.append(decided, "alice", at + time::Duration::seconds(20));
    }
    let Trail {
        entries,
        checkpoints,
        appending,
        signing,
        notary,
        ..
    } = trail;
    let count = entries.len();
    let bundle = Bundle::of(
        "bench",
        &notary.origin("bench"),
        notary.public_key(),
        entries,
        0,
        u64::MAX,
        checkpoints,
    );
    let bytes = serde_json::to_vec(&bundle).unwrap().len();
    let started = Instant::now();
    let verified = verify(&bundle, Some(notary.public_key())).expect("the trail verifies");
    let took = started.elapsed();
    println!(
        "   append (head, entries, root)  {:>8.1} µs each ({} appends)",
        appending.as_secs_f64() * 1e6 / bundle.checkpoints.len() as f64,
        bundle.checkpoints.len()
    );
    println!(
        "   sign a checkpoint             {:>8.1} µs each",
        signing.as_secs_f64() * 1e6 / bundle.checkpoints.len() as f64
    );
    println!(
        "   verify {count} entries, {} checkpoints, {} decisions: {:.2} s ({:.1} MB bundle)",
        verified.checkpoints,
        verified.decisions_checked,
        took.as_secs_f64(),
        bytes as f64 / 1e6
    );
}

struct Trail {
    head: Head,
    entries: Vec<String>,
    checkpoints: Vec<String>,
    appending: std::time::Duration,
    signing: std::time::Duration,
    notary: Notary,
    policy: Arc<Policy>,
    group: GroupName,
}

impl Trail {
    fn append(&mut self, event: AuditEvent, actor: &str, at: time::OffsetDateTime) {
        let record = AuditRecord {
            group: self.group.clone(),
            key: AuditRecord::key_of(&event),
            at,
            actor: actor.into(),
            event,
            policy: self.policy.clone(),
        };
        let started = Instant::now();
        let (new, next) = self.head.append(&record).unwrap();
        self.appending += started.elapsed();
        let started = Instant::now();
        let root = next.root().unwrap();
        self.checkpoints
            .push(self.notary.sign(self.group.as_str(), next.size, root, at));
        self.signing += started.elapsed();
        self.entries.extend(new.into_iter().map(|e| e.text));
        self.head = next;
    }
}
