//! The API's per-address rate limit, in a test binary of its own: exhausting the
//! anonymous bucket of 127.0.0.1 would make the other HTTP tests (which share one server
//! per process) see 429s.

mod common;
use common::*;

#[tokio::test]
async fn anonymous_api_clients_are_rate_limited_and_keys_are_not() {
    let mut c = client();
    let key = faq::auth::create_api_key(&server().app.db, "chatbot", "test").unwrap();
    // Anonymous clients get a bounded number of requests per minute per address.
    let mut limited = false;
    for _ in 0..(faq::web::API_ANON_PER_MIN + 5) {
        let r = c
            .get("/api/v1/faq/suggest?q=%E3%81%94%E3%81%BF")
            .await
            .unwrap();
        if r.status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "rate limit never applied");
    // A key has its own bucket.
    let r = c
        .request("GET", "/api/v1/faq/search?q=a", &[("x-api-key", &key)], b"")
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}
