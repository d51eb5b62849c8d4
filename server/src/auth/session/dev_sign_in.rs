//! The development sign-in: demo identities anyone on this machine may choose, for the
//! laptop setup only (the configuration refuses it anywhere else).

use super::*;

/// A demo identity of the development sign-in.
#[derive(Clone, Debug)]
pub struct DemoIdentity {
    pub actor: Actor,
    pub description: &'static str,
}

pub(super) fn demo(
    subject: &str,
    name: &str,
    groups: &[&str],
    description: &'static str,
) -> DemoIdentity {
    DemoIdentity {
        actor: Actor {
            person: Person {
                subject: subject.into(),
                name: name.into(),
                email: format!("{subject}@example.com"),
            },
            groups: groups.iter().map(|g| g.to_string()).collect(),
        },
        description,
    }
}

/// Two approvers, in the first environment's approver group, and a data scientist.
pub fn demo_identities(policy: &Policy) -> Vec<DemoIdentity> {
    let approver_group = policy
        .approver_groups(policy.environments().first())
        .next()
        .unwrap_or("approvers");
    vec![
        demo("alice", "Alice Approver", &[approver_group], "approver"),
        demo("bob", "Bob Reviewer", &[approver_group], "second approver"),
        demo(
            "dana",
            "Dana Scientist",
            &["data-scientists"],
            "data scientist; registers models",
        ),
    ]
}

#[derive(Deserialize)]
pub struct DevSignIn {
    subject: String,
    #[serde(default)]
    return_to: String,
}

/// `POST /auth/dev/sign-in`: starts a session for one of the demo identities.
pub async fn dev_sign_in(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
    Form(form): Form<DevSignIn>,
) -> Response {
    let Some(identity) = sessions
        .dev_identities
        .iter()
        .find(|d| d.actor.person.subject == form.subject)
    else {
        return (StatusCode::NOT_FOUND, "no such development identity").into_response();
    };
    tracing::info!(subject = %identity.actor.person.subject, "development sign-in");
    if let Err(refused) = sessions
        .signed_in(&identity.actor.person, SignedInThrough::DevelopmentSignIn)
        .await
    {
        return refused;
    }
    let jar = sessions.start(&headers, &identity.actor);
    (jar, Redirect::to(safe_return_path(&form.return_to))).into_response()
}
