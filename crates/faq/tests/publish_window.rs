//! The service judges publish windows by its injected clock, not by the machine's date
//! (issue 14: the fixtures' future entry FAQ-0011 opens on 2027-04-01). A service whose
//! calendar reads that day shows the entry; one day earlier it is still hidden. Had the
//! service read the real date, one of the two would be wrong on any day of the year.

mod common;
use common::*;

async fn status_on(date: &str, path: &str) -> u16 {
    let cfg = faq::FaqConfig {
        data_dir: fresh_dir(&format!("window-{date}")),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_password: Some(ADMIN_PW.into()),
        clock: faq::clock::Clock::starting_on_jst(date).expect("a date"),
        ..faq::FaqConfig::default()
    };
    let dir = cfg.data_dir.clone();
    let running = faq::start(cfg).await.expect("service starts");
    let mut c = Client::new(running.addr, &running.cert_path).expect("client");
    let status = c.get(path).await.unwrap().status;
    let _ = std::fs::remove_dir_all(dir);
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_entry_opens_on_its_first_day_by_the_services_calendar() {
    assert_eq!(
        status_on("2027-03-31", "/faq/FAQ-0011").await,
        404,
        "FAQ-0011 shown before its window opens"
    );
    assert_eq!(
        status_on("2027-04-01", "/faq/FAQ-0011").await,
        200,
        "FAQ-0011 hidden on the day its window opens"
    );
}
