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
