//! Waiting for a deadline that may not exist: the sans-IO cores (SIP transactions, the
//! ACD, a call's state machine) answer "when next?" with `Option<Instant>`, and `None`
//! means nothing is due, so the branch of the `select!` must never fire.

/// Sleeps until `deadline`, or forever when there is none. Takes std or tokio instants.
pub(crate) async fn sleep_until<T: Into<tokio::time::Instant>>(deadline: Option<T>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_deadline_wakes_and_none_never_does() {
        let t0 = tokio::time::Instant::now();
        sleep_until(Some(std::time::Instant::now() + Duration::from_secs(3))).await;
        assert!(t0.elapsed() >= Duration::from_secs(3));
        let never = tokio::time::timeout(
            Duration::from_secs(3600),
            sleep_until::<tokio::time::Instant>(None),
        );
        assert!(never.await.is_err(), "no deadline must not wake");
    }
}
