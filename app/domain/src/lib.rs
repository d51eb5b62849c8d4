//! The workflow core of Countersign.
//!
//! Everything that decides *what* happens to a model version lives here: the ordered
//! environments, the state of each promotion step, who may decide which step, and the
//! complete effect of a decision. It does no I/O and knows no framework, so the same
//! rules run in the server, in tests, and (compiled to WASM) in the browser.
//!
//! The [`ports`] module names what the core needs from the outside world (a model
//! registry, a parameter store, a decision log); adapters elsewhere implement them.
//! The [`service`] module is the one place that strings the rules and the ports together.

pub mod audit;
pub mod comparison;
pub mod document;
pub mod environment;
pub mod history;
pub mod identity;
pub mod model;
pub mod notification;
pub mod policy;
pub mod ports;
pub mod report;
pub mod service;
pub mod signature;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod workflow;

pub use document::{DeploymentDocument, ReportDocument};
pub use environment::{Environment, Environments};
pub use history::{GroupHistory, LivePeriod};
pub use identity::Attribution;
pub use model::*;
pub use notification::Notice;
pub use policy::{Actor, Policy};
pub use report::{InferenceReport, ReportDraft, ReportRefusal, RunId};
pub use signature::{AttemptOutcome, Signature, SignedContent, SigningAttempt};
pub use workflow::{DecisionEffect, DecisionRequest, Reason, Refusal, RollbackRequest};
