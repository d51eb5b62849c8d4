use super::*;

#[test]
fn waiting_reads_in_the_largest_natural_unit() {
    assert_eq!(waited(time::Duration::minutes(1)), "1 minute");
    assert_eq!(waited(time::Duration::minutes(59)), "59 minutes");
    assert_eq!(waited(time::Duration::hours(47)), "47 hours");
    assert_eq!(waited(time::Duration::hours(72)), "3 days");
    assert_eq!(waited(time::Duration::seconds(-5)), "0 minutes");
}

#[test]
fn differences_read_to_the_precision_of_their_figures() {
    assert_eq!(difference(0.93, 0.91), "+0.02");
    assert_eq!(difference(0.25, 0.3), "-0.05");
    assert_eq!(difference(120.0, 95.5), "+24.5");
    assert_eq!(difference(0.5, 0.5), "0.0");
    assert_eq!(difference(3.0, 1.0), "+2");
}

// Proves: SIG-05.
#[test]
fn times_are_shown_in_utc_to_the_second() {
    let one = time::macros::datetime!(2026-12-07 10:14:05 +01:00);
    let two = one + time::Duration::seconds(20);
    assert_eq!(display_time(one), "2026-12-07 09:14:05 UTC");
    assert_ne!(
        display_time(one),
        display_time(two),
        "two signatures in one minute never read as simultaneous"
    );
}
