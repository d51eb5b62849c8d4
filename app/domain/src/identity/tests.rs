use super::*;

fn person(subject: &str, email: &str) -> Person {
    Person {
        subject: subject.into(),
        name: "Someone".into(),
        email: email.into(),
    }
}

#[test]
fn identifiers_are_trimmed_case_folded_and_never_blank() {
    assert_eq!(
        person(" Dana.Scientist@Example.COM ", "").identifiers(),
        BTreeSet::from(["dana.scientist@example.com".to_owned()])
    );
    assert!(person(" ", "").identifiers().is_empty());
    assert_eq!(
        normalised_identifier("\tÉLODIE@example.com"),
        Some("élodie@example.com".into())
    );
}

#[test]
fn two_records_are_one_person_when_any_identifier_meets() {
    let signer = person("0f1e2d3c-oid", "dana.scientist@example.com");
    assert!(signer.is_same_person_as(&person("someone-else", "Dana.Scientist@Example.com")));
    assert!(signer.is_same_person_as(&person("0F1E2D3C-OID", "")));
    assert!(!signer.is_same_person_as(&person("bob", "bob@example.com")));
    assert!(
        !person("", "").is_same_person_as(&person("", "")),
        "blank records are nobody, not everybody"
    );
}

#[test]
fn an_attribution_includes_everyone_it_names() {
    let attribution = Attribution::declared(&person("dana", ""))
        .and("Sam@Example.com")
        .and(" ");
    assert!(attribution.includes(&person("x", "sam@example.com")));
    assert!(attribution.includes(&person("DANA", "")));
    assert!(!attribution.includes(&person("alice", "alice@example.com")));
    assert!(attribution.names_anyone());
    assert!(!Attribution::nobody().names_anyone());
    assert!(!Attribution::nobody().includes(&person("", "")));
}

#[test]
fn only_a_verified_identifier_establishes_the_registrant() {
    let declared = Attribution::declared(&person("ghost", "ghost@example.com"));
    assert!(
        !declared.is_verified(),
        "a declared name is the declarer's word alone"
    );
    assert!(declared
        .clone()
        .and("sam@example.com")
        .and_verified_when(false)
        .includes(&person("sam", "sam@example.com")));
    assert!(declared
        .clone()
        .and_verified("dana@example.com")
        .is_verified());
    assert!(
        !declared.and_verified(" ").is_verified(),
        "a blank identifier verifies nobody"
    );
    assert!(Attribution::declared(&person("dana", ""))
        .and_verified_when(true)
        .is_verified());
    assert!(
        !Attribution::declared(&person(" ", ""))
            .and_verified_when(true)
            .is_verified(),
        "vouching for nobody establishes nobody"
    );
}
