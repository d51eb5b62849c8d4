//! Whether a signer may sign now (21 CFR 11.200): the record they confirmed, how recently
//! and how strongly they authenticated.

use super::*;

/// Whether `signing` lets its signer sign `effect` now (21 CFR 11.200): they confirmed
/// exactly the record the effect signs, they authenticated recently enough for its
/// environment (or after the portal sent them to authenticate again), and in the
/// authentication context the environment needs. A missing `auth_time` asks for a sign-in
/// first; missing again after one, it is refused: freshness cannot be shown. With an
/// identity provider, its evidence must show the same (see [`check_evidence`]).
pub fn check_signing(
    policy: &Policy,
    effect: &DecisionEffect,
    signing: &Signing,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let environment = &effect.record.environment;
    if signing.reviewed_digest != effect.signed.digest() {
        return Err(Refusal::ReviewedRecordChanged {
            environment: environment.clone(),
        });
    }
    check_authentication(
        policy,
        environment,
        &signing.authentication,
        signing.reauthentication_asked_at,
        now,
    )?;
    check_evidence(policy, &effect.record.decided_by, signing, now)
}

/// With an identity provider, the signature keeps its evidence of the sign-in it relies
/// on: the provider's token about the signer, the authentication it states the one the
/// freshness rule was checked on, and, when the signer was sent to sign in for this
/// signature, a nonce committing to the record confirmed. A session the portal did not
/// start from a provider's answer (one minted with the session key) has none.
fn check_evidence(
    policy: &Policy,
    signer: &Person,
    signing: &Signing,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let Some(provider) = policy.identity_provider() else {
        return Ok(());
    };
    let evidence = signing
        .evidence
        .as_ref()
        .ok_or(Refusal::NoProviderEvidence)?;
    evidence
        .check(
            provider,
            signer,
            &signing.reviewed_digest,
            signing.reauthentication_asked_at,
            now,
        )
        .map_err(Refusal::ProviderEvidence)?;
    if evidence.authentication().ok().as_ref() != Some(&signing.authentication) {
        return Err(Refusal::ProviderEvidence(
            EvidenceProblem::AuthenticationDiffers,
        ));
    }
    Ok(())
}

/// The freshness and context half of [`check_signing`], which a page also asks before
/// offering to sign (to send the person to the provider first, when they must be).
pub fn check_authentication(
    policy: &Policy,
    environment: &Environment,
    authentication: &Authentication,
    asked_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let max_age = policy.signing_max_age(environment);
    let again = || Refusal::ReauthenticationRequired {
        environment: environment.clone(),
        max_age_seconds: max_age.whole_seconds(),
    };
    let at = match (authentication.at, asked_at) {
        (Some(at), _) => at,
        (None, None) => return Err(again()),
        (None, Some(_)) => return Err(Refusal::AuthenticationTimeMissing),
    };
    let in_the_future = at > now + PROVIDER_CLOCK_SKEW;
    // A sign-in asked for and dated after the signature is no evidence of anything: the
    // provider's clock or its token is wrong. (Not asked for, it sends the signer to sign in
    // again, as a stale one does.)
    if in_the_future && asked_at.is_some() {
        return Err(Refusal::AuthenticationInTheFuture {
            auth_time: at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        });
    }
    let recent = !in_the_future && now - at <= max_age && max_age > time::Duration::ZERO;
    let since_asked = asked_at.is_some_and(|asked| at >= asked - PROVIDER_CLOCK_SKEW);
    if !recent && !since_asked {
        return Err(match asked_at {
            Some(_) => Refusal::NotReauthenticated {
                auth_time: at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            },
            None => again(),
        });
    }
    if let Some(context) = policy.signing_context(environment) {
        if !authentication.satisfies(context) {
            return Err(match asked_at {
                Some(_) => Refusal::AuthenticationContextMissing {
                    environment: environment.clone(),
                    context: context.to_owned(),
                },
                None => again(),
            });
        }
    }
    Ok(())
}
