use super::*;
use crate::notify::OutboxOnly;

#[test]
fn retries_back_off_exponentially_up_to_an_hour() {
    let delivery = Delivery {
        outbox: Arc::new(countersign_local_store::LocalStore::open_in_memory().unwrap()),
        transport: Arc::new(OutboxOnly),
        clock: Arc::new(SystemClock),
        wake: Arc::new(Notify::new()),
        retry_after: Duration::from_secs(30),
        attempts: 8,
    };
    let waits: Vec<u64> = (1..=9).map(|n| delivery.backoff(n).as_secs()).collect();
    assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
}
