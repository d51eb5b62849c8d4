use super::*;

#[test]
fn addresses_match_the_route_table_and_escape_what_they_carry() {
    assert_eq!(
        version_at("churn", 7, "prod"),
        "/models/churn/versions/7?environment=prod"
    );
    assert_eq!(page(&group("churn"), 2), "/models/churn?page=2");
    assert_eq!(
        sign_in("/models/churn/versions/7?environment=prod"),
        "/sign-in?return_to=/models/churn/versions/7%3Fenvironment%3Dprod"
    );
    assert_eq!(matching(MODELS, "churn eu"), "/models?q=churn%20eu");
    assert_eq!(matching(INBOX, ""), "/inbox");
    assert_eq!(page(&matching(INBOX, "fraud"), 2), "/inbox?q=fraud&page=2");
}
