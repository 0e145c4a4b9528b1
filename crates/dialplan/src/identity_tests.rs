use super::*;

#[test]
fn a_trusted_trunks_asserted_identity_wins_over_from() {
    let pai = r#""Iwaki, Taro" <sip:+81246221234@carrier.example;user=phone>, <tel:+81246221234>"#;
    assert_eq!(
        asserted_caller(Some(pai), "09900000000", true).as_deref(),
        Some("0246221234")
    );
    // A tel URI alone, or the second entry when the first has no number.
    assert_eq!(
        asserted_caller(Some("<tel:+81-90-1234-5678>"), "anonymous", true).as_deref(),
        Some("09012345678")
    );
    assert_eq!(
        asserted_caller(
            Some("<sip:anonymous@anonymous.invalid>, <tel:0312345678>"),
            "x",
            true
        )
        .as_deref(),
        Some("0312345678")
    );
    // A display name with a comma inside quotes is one entry.
    assert_eq!(
        asserted_caller(Some(r#""a, <b>" <sip:0311112222@h>"#), "x", true).as_deref(),
        Some("0311112222")
    );
}

#[test]
fn untrusted_or_missing_assertions_fall_back_to_from() {
    let pai = "<sip:+81246221234@carrier.example>";
    assert_eq!(
        asserted_caller(Some(pai), "0312345678", false).as_deref(),
        Some("0312345678")
    );
    assert_eq!(
        asserted_caller(None, "%2B81312345678", true).as_deref(),
        Some("0312345678")
    );
    assert_eq!(asserted_caller(Some("garbage"), "anonymous", true), None);
    assert_eq!(asserted_caller(None, "anonymous", false), None);
}

#[test]
fn privacy_id_withholds_the_number() {
    assert!(withholds_identity(&["id"]));
    assert!(withholds_identity(&["header; ID"]));
    assert!(withholds_identity(&["none", "user"]));
    assert!(!withholds_identity(&["none"]));
    assert!(!withholds_identity(&[]));
}

#[test]
fn diversion_gives_the_bottom_most_number() {
    // Two diversions: 7101 forwarded to 7999, which forwarded to the center. The
    // newest is on top; the citizen dialled the bottom one.
    let d = [
        "<sip:+81246227999@carrier.example>;reason=unconditional;counter=1",
        "<sip:+81246227101@carrier.example;user=phone>;reason=no-answer;counter=1",
    ];
    assert_eq!(original_dialled(&d, &[]).as_deref(), Some("0246227101"));
    // The same as one comma-separated header line.
    let one = [d.join(", ")];
    let one: Vec<&str> = one.iter().map(String::as_str).collect();
    assert_eq!(original_dialled(&one, &[]).as_deref(), Some("0246227101"));
    assert_eq!(
        original_dialled(&["<tel:0246227101>;reason=user-busy"], &[]).as_deref(),
        Some("0246227101")
    );
}

#[test]
fn history_info_gives_the_entry_indexed_1() {
    let hi = [
        "<sip:+81246221111@center.example?Reason=SIP%3Bcause%3D302>;index=1.1;mp=1",
        "<sip:+81246227101@carrier.example?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%22>;index=1",
    ];
    assert_eq!(original_dialled(&[], &hi).as_deref(), Some("0246227101"));
    // Without indices, the first entry.
    assert_eq!(
        original_dialled(&[], &["<sip:0246227201@c>", "<sip:0246221111@c>"]).as_deref(),
        Some("0246227201")
    );
    // History-Info is preferred over Diversion.
    assert_eq!(
        original_dialled(&["<sip:0246227301@c>"], &hi).as_deref(),
        Some("0246227101")
    );
    // A History-Info without a number leaves the Diversion.
    assert_eq!(
        original_dialled(&["<sip:0246227301@c>"], &["<sip:center@c>;index=1"]).as_deref(),
        Some("0246227301")
    );
}

#[test]
fn no_diversion_or_garbage_gives_none() {
    assert_eq!(original_dialled(&[], &[]), None);
    for bad in [
        "",
        "<",
        ">",
        ",,,",
        "<mailto:x@y>",
        "<sip:@>;index=1",
        "\"unterminated",
    ] {
        assert_eq!(original_dialled(&[bad], &[bad]), None, "{bad:?}");
    }
}
