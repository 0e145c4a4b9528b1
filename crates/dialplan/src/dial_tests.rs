use super::*;
use crate::load::default_config;

/// 1001 may dial outside (default configuration); 1002 may not.
const ALLOWED: &str = "1001";
const NOT_ALLOWED: &str = "1002";

fn status(d: &Dial) -> Option<u16> {
    match d {
        Dial::Refused { status, .. } => Some(*status),
        _ => None,
    }
}

fn outside(national: &str) -> Dial {
    Dial::Outside {
        national: national.into(),
        trunk: "carrier".into(),
    }
}

#[test]
fn four_digits_are_an_extension_on_the_pbx_with_its_department() {
    let cfg = default_config();
    match classify(&cfg, NOT_ALLOWED, "2101") {
        Dial::Extension {
            extension,
            trunk,
            department,
        } => {
            assert_eq!((extension.as_str(), trunk.as_str()), ("2101", "pbx"));
            assert_eq!(department.map(|d| d.label), Some("市民課".to_string()));
        }
        other => panic!("{other:?}"),
    }
    // An extension outside the directory still goes to the PBX.
    assert_eq!(
        classify(&cfg, NOT_ALLOWED, "3456"),
        Dial::Extension {
            extension: "3456".into(),
            trunk: "pbx".into(),
            department: None
        }
    );
}

#[test]
fn a_department_by_name_label_or_its_own_number_goes_over_the_pbx() {
    let cfg = default_config();
    for dialled in [
        "hoken-nenkin",
        "保険年金課",
        "%E4%BF%9D%E9%99%BA%E5%B9%B4%E9%87%91%E8%AA%B2",
        "0246227301",
        "+81246227301",
    ] {
        match classify(&cfg, NOT_ALLOWED, dialled) {
            Dial::Extension {
                extension, trunk, ..
            } => assert_eq!(
                (extension.as_str(), trunk.as_str()),
                ("2301", "pbx"),
                "{dialled}"
            ),
            other => panic!("{dialled}: {other:?}"),
        }
    }
}

#[test]
fn the_extension_pattern_is_configurable() {
    let mut cfg = default_config();
    cfg.dialing.extension_patterns = vec!["2[1-3]XX".into()];
    assert!(matches!(
        classify(&cfg, NOT_ALLOWED, "2345"),
        Dial::Extension { .. }
    ));
    // Not an extension any more, and too short to be a number.
    assert_eq!(status(&classify(&cfg, NOT_ALLOWED, "2456")), Some(404));
    // Directory entries stay reachable whatever the pattern.
    assert!(matches!(
        classify(&cfg, NOT_ALLOWED, "2999"),
        Dial::Extension { .. }
    ));
}

#[test]
fn another_operators_id_is_not_sent_to_the_pbx() {
    let cfg = default_config();
    let d = classify(&cfg, ALLOWED, "1003");
    assert_eq!(status(&d), Some(404), "{d:?}");
}

#[test]
fn outside_numbers_need_the_operators_permission() {
    let cfg = default_config();
    assert_eq!(classify(&cfg, ALLOWED, "0312345678"), outside("0312345678"));
    assert_eq!(
        classify(&cfg, ALLOWED, "+81-90-1234-5678"),
        outside("09012345678")
    );
    let d = classify(&cfg, NOT_ALLOWED, "0312345678");
    assert_eq!(status(&d), Some(403));
    let Dial::Refused { reason_ja, .. } = d else {
        unreachable!()
    };
    assert!(
        reason_ja.contains("外線発信が許可されていません"),
        "{reason_ja}"
    );
}

#[test]
fn toll_fraud_prefixes_are_refused_by_default() {
    let cfg = default_config();
    for (n, want) in [
        ("0570064444", 403),
        ("0180993333", 403),
        ("0990123456", 403),
        ("0033010112345", 403),
        ("010441234567890", 403),
        ("+442071234567", 403),
        ("02012345678", 403),
        ("117", 403),
        ("024622111", 484),
        ("090123456789", 484),
    ] {
        assert_eq!(status(&classify(&cfg, ALLOWED, n)), Some(want), "{n}");
    }
    // Free dial costs the city nothing.
    assert_eq!(classify(&cfg, ALLOWED, "0120123456"), outside("0120123456"));
    assert_eq!(
        classify(&cfg, ALLOWED, "05012345678"),
        outside("05012345678")
    );
}

#[test]
fn emergency_numbers_need_no_permission() {
    let mut cfg = default_config();
    assert_eq!(classify(&cfg, NOT_ALLOWED, "119"), outside("119"));
    assert_eq!(classify(&cfg, NOT_ALLOWED, "110"), outside("110"));
    cfg.dialing.emergency_numbers.clear();
    assert_eq!(status(&classify(&cfg, NOT_ALLOWED, "119")), Some(403));
    // With the permission but no emergency list, 1XY codes are refused.
    assert_eq!(status(&classify(&cfg, ALLOWED, "119")), Some(403));
}

#[test]
fn configured_prefixes_win_longest_first() {
    let mut cfg = default_config();
    cfg.dialing.allow_prefixes = vec!["0570".into(), "010".into()];
    cfg.dialing.deny_prefixes = vec!["0570064".into(), "0246".into()];
    assert_eq!(classify(&cfg, ALLOWED, "0570123456"), outside("0570123456"));
    assert_eq!(status(&classify(&cfg, ALLOWED, "0570064444")), Some(403));
    assert_eq!(status(&classify(&cfg, ALLOWED, "0246229999")), Some(403));
    assert_eq!(
        classify(&cfg, ALLOWED, "+442071234567"),
        outside("010442071234567")
    );
    // A tie is a deny.
    cfg.dialing.allow_prefixes = vec!["0312".into()];
    cfg.dialing.deny_prefixes = vec!["0312".into()];
    assert_eq!(status(&classify(&cfg, ALLOWED, "0312345678")), Some(403));
    // An allowed prefix does not lift the operator's permission.
    cfg.dialing.allow_prefixes = vec!["0570".into()];
    assert_eq!(
        status(&classify(&cfg, NOT_ALLOWED, "0570123456")),
        Some(403)
    );
}

#[test]
fn feature_codes_and_pause_reasons() {
    let cfg = default_config();
    let f = |s: &str| classify(&cfg, NOT_ALLOWED, s);
    assert_eq!(f("*21"), Dial::Feature(Feature::Login));
    assert_eq!(f("%2A22"), Dial::Feature(Feature::Logout));
    assert_eq!(f("*23"), Dial::Feature(Feature::Pause { reason: None }));
    assert_eq!(
        f("*232"),
        Dial::Feature(Feature::Pause {
            reason: Some("研修".into())
        })
    );
    assert_eq!(
        f("*231"),
        Dial::Feature(Feature::Pause {
            reason: Some("休憩".into())
        })
    );
    assert_eq!(f("*24"), Dial::Feature(Feature::Resume));
    assert_eq!(f("*25"), Dial::Feature(Feature::EndWrapUp));
    let Dial::Refused { status, reason_ja } = f("*239") else {
        panic!("a reason that is not configured")
    };
    assert_eq!(status, 404);
    assert!(reason_ja.contains("*231 休憩"), "{reason_ja}");
    for bad in ["*230", "*2310", "*26", "*", "**21"] {
        assert_eq!(status_of(&cfg, bad), Some(404), "{bad}");
    }
}

fn status_of(cfg: &Config, s: &str) -> Option<u16> {
    status(&classify(cfg, NOT_ALLOWED, s))
}

#[test]
fn nonsense_and_unknown_operators_are_refused_not_panicking() {
    let cfg = default_config();
    assert_eq!(status(&classify(&cfg, "9999", "2101")), Some(403));
    for bad in [
        "", "   ", "abc", "%", "%zz", "%FF%FE", "sip:2101", "0246-22-",
    ] {
        let d = classify(&cfg, ALLOWED, bad);
        assert!(matches!(d, Dial::Refused { .. }), "{bad:?}: {d:?}");
    }
}

#[test]
fn callbacks_ring_fixed_and_mobile_numbers_only() {
    let cfg = default_config();
    for (n, want) in [
        ("0246221234", "0246221234"),
        ("+81-90-1234-5678", "09012345678"),
        ("07012345678", "07012345678"),
        ("05012345678", "05012345678"),
    ] {
        assert_eq!(callback_number_allowed(&cfg, n).as_deref(), Ok(want), "{n}");
    }
    for (n, kind) in [
        ("0120123456", NumberKind::FreeDial),
        ("0570064444", NumberKind::NaviDial),
        ("0990123456", NumberKind::InformationFee),
        ("0180993333", NumberKind::MassCalling),
        ("+12125551234", NumberKind::International),
        ("0101212555", NumberKind::International),
        ("0033123456", NumberKind::CarrierCode),
        ("119", NumberKind::Emergency),
        ("1234", NumberKind::Invalid),
        ("024622123", NumberKind::WrongLength),
        ("anonymous", NumberKind::Invalid),
    ] {
        let e = callback_number_allowed(&cfg, n).unwrap_err();
        assert_eq!(e.kind, kind, "{n}");
        assert!(!e.reason_ja.is_empty());
    }
}

#[test]
fn callback_prefixes_change_the_default() {
    let mut cfg = default_config();
    cfg.dialing.callback_deny_prefixes = vec!["090".into()];
    cfg.dialing.callback_allow_prefixes = vec!["0120".into()];
    assert!(callback_number_allowed(&cfg, "09012345678").is_err());
    assert_eq!(
        callback_number_allowed(&cfg, "0120123456").as_deref(),
        Ok("0120123456")
    );
    // The operators' lists do not apply to callbacks.
    cfg.dialing.allow_prefixes = vec!["0570".into()];
    assert!(callback_number_allowed(&cfg, "0570064444").is_err());
}

#[test]
fn supervisors_join_an_operators_call_with_31_32_33() {
    let mut cfg = default_config();
    cfg.agents
        .iter_mut()
        .find(|a| a.id == "1004")
        .unwrap()
        .supervisor = true;
    let sv = |code: &str| classify(&cfg, "1004", code);
    assert_eq!(
        sv("*311001"),
        Dial::Supervise {
            agent: "1001".into(),
            mode: SuperviseMode::Listen
        }
    );
    assert_eq!(
        sv("*321002"),
        Dial::Supervise {
            agent: "1002".into(),
            mode: SuperviseMode::Whisper
        }
    );
    assert_eq!(
        sv("*331003"),
        Dial::Supervise {
            agent: "1003".into(),
            mode: SuperviseMode::Barge
        }
    );
    // Not an operator, or oneself: refused with the reason.
    assert_eq!(status(&sv("*319999")), Some(404));
    assert_eq!(status(&sv("*311004")), Some(403));
    // Without an operator it is not a supervision code (the usual "no such code").
    assert_eq!(status(&sv("*31")), Some(404));
    // An ordinary operator may not listen in.
    match classify(&cfg, NOT_ALLOWED, "*311001") {
        Dial::Refused { status, reason_ja } => {
            assert_eq!(status, 403);
            assert!(reason_ja.contains("監督者"), "{reason_ja}");
        }
        other => panic!("{other:?}"),
    }
    // The operators' own codes are unchanged.
    assert_eq!(sv("*21"), Dial::Feature(Feature::Login));
}
