//! `countersign iq`: the installation qualification (GAMP 5; EU GMP Annex 11 §4.8). Checks
//! this deployment against what the README requires of one that keeps GxP records, item by
//! item, with the portal's own settings and credentials, and changes nothing: the GxP
//! profile, the store (on AWS the table's recovery, protection, encryption and TTL, the
//! audit bucket's Object Lock, the secrets' KMS key and the reads the portal's role makes;
//! the embedded store is for evaluation), and the identity provider's claims.

use crate::backend::Backing;
use crate::config::Config;

/// One item and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub item: String,
    pub passed: bool,
    pub detail: String,
}

impl Check {
    pub fn new(item: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            item: item.into(),
            passed,
            detail: detail.into(),
        }
    }
}

/// Every item, in the order printed.
pub async fn qualify(config: &Config, backing: &Backing) -> Vec<Check> {
    let mut checks = vec![Check::new(
        "the GxP profile is on",
        config.gxp,
        if config.gxp {
            "COUNTERSIGN_GXP=true: start-up refused no setting"
        } else {
            "off: set COUNTERSIGN_GXP=true, which refuses settings a QA unit would not accept"
        },
    )];
    checks.extend(backing.installation_checks(config).await);
    checks.extend(provider_checks(config).await);
    checks
}

/// The identity provider answers its discovery document and lists the claims a signature
/// needs: when people last authenticated, their printed name and the identity claim.
async fn provider_checks(config: &Config) -> Vec<Check> {
    let item = "the identity provider gives the claims signatures need";
    let Some(oidc) = &config.sign_in.oidc else {
        return vec![Check::new(
            item,
            false,
            "no identity provider: the development sign-in lets anyone be anyone (set COUNTERSIGN_OIDC_ISSUER)",
        )];
    };
    let url = format!(
        "{}/.well-known/openid-configuration",
        oidc.issuer.trim_end_matches('/')
    );
    let document = async {
        reqwest::Client::new()
            .get(&url)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await?
            .error_for_status()?
            .json::<serde_json::Value>()
            .await
    }
    .await;
    let document = match document {
        Ok(document) => document,
        Err(e) => return vec![Check::new(item, false, format!("{url}: {e}"))],
    };
    let Some(listed) = document["claims_supported"].as_array() else {
        return vec![Check::new(
            item,
            true,
            "the provider lists no claims_supported; each sign-in's token is checked for them",
        )];
    };
    let listed: Vec<&str> = listed.iter().filter_map(|c| c.as_str()).collect();
    let missing: Vec<&str> = ["auth_time", "name", oidc.identity_claim.as_str()]
        .into_iter()
        .filter(|claim| !listed.contains(claim))
        .collect();
    vec![Check::new(
        item,
        missing.is_empty(),
        if missing.is_empty() {
            format!(
                "{} lists auth_time, name and {}",
                oidc.issuer, oidc.identity_claim
            )
        } else {
            format!("{} does not list {}", oidc.issuer, missing.join(", "))
        },
    )]
}

/// Prints each item as `PASS`/`FAIL`, then a summary; whether every item passed.
pub fn report(checks: &[Check]) -> bool {
    for check in checks {
        let verdict = if check.passed { "PASS" } else { "FAIL" };
        println!("{verdict}  {}: {}", check.item, check.detail);
    }
    let passed = checks.iter().filter(|c| c.passed).count();
    println!(
        "installation qualification: {passed} of {} items passed",
        checks.len()
    );
    passed == checks.len()
}
