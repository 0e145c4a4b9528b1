//! What kind of number a dialled string is in Japan's numbering plan, for the toll-fraud
//! rules of operators' calls and callbacks.
//!
//! Source: 総務省「電気通信番号制度」(電気通信番号計画, 2019-05-22):
//! 固定電話番号 0ABCDEFGHJ (10 digits); 付加的役務電話番号 0AB0DEFGHJ(K) with AB = 12
//! (0120 free dial), 17, 18 (0180 大量呼受付, caller pays per call), 57 (0570 統一番号,
//! "ナビダイヤル": the caller pays a rate set by the service, not covered by flat-rate
//! plans), 80 (0800 free dial, 11 digits), 99 (0990 情報料代理徴収: an information fee
//! on top, "ダイヤルQ2"); 020 data/M2M and pagers; 070/080/090 mobile (11 digits);
//! 050 IP telephony (11 digits); 0600 FMC; 091 特定接続; 00XY / 002YZ / 0091XY carrier
//! codes (事業者識別番号, they bypass the trunk's carrier and reach international
//! routes); 1XY service codes; 110/118/119 emergency; 010 the international prefix.

/// The kind of a number in national form (as `lookup::normalize_number` writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// 0ABCDEFGHJ: a fixed line (固定電話番号), 10 digits.
    Fixed,
    /// 070/080/090, 11 digits.
    Mobile,
    /// 050, 11 digits (特定IP電話番号).
    IpPhone,
    /// 0120 (10 digits) or 0800 (11 digits): the called party pays.
    FreeDial,
    /// 0570 統一番号 (ナビダイヤル).
    NaviDial,
    /// 0180 大量呼受付 (テレドーム).
    MassCalling,
    /// 0990 情報料代理徴収 (ダイヤルQ2).
    InformationFee,
    /// Another 0AB0 service (0170, …) or 020, 060, 091: not a person's line.
    OtherService,
    /// 00XY, 002YZ, 0091XY: a carrier selection code.
    CarrierCode,
    /// 010 or "+" other than +81.
    International,
    /// 110, 118, 119.
    Emergency,
    /// Other 1XY codes (104 directory enquiries, 117 time, 177 weather, …).
    ServiceCode,
    /// A Japanese prefix with the wrong number of digits.
    WrongLength,
    /// Not a number at all.
    Invalid,
}

/// The kind of `national`.
pub fn kind(national: &str) -> NumberKind {
    if national.starts_with('+') {
        return NumberKind::International;
    }
    if national.is_empty() || !national.bytes().all(|b| b.is_ascii_digit()) {
        return NumberKind::Invalid;
    }
    let len = national.len();
    let sized = |k: NumberKind, want: usize| {
        if len == want {
            k
        } else {
            NumberKind::WrongLength
        }
    };
    let p = |prefix: &str| national.starts_with(prefix);
    if p("010") {
        return NumberKind::International;
    }
    if p("00") {
        return NumberKind::CarrierCode;
    }
    if p("1") {
        return match national {
            "110" | "118" | "119" => NumberKind::Emergency,
            _ if len == 3 => NumberKind::ServiceCode,
            _ => NumberKind::Invalid,
        };
    }
    if !p("0") {
        return NumberKind::Invalid;
    }
    match () {
        _ if p("0120") => sized(NumberKind::FreeDial, 10),
        _ if p("0800") => sized(NumberKind::FreeDial, 11),
        _ if p("0570") => NumberKind::NaviDial,
        _ if p("0180") => NumberKind::MassCalling,
        _ if p("0990") => NumberKind::InformationFee,
        _ if p("0170") => NumberKind::OtherService,
        _ if p("070") || p("080") || p("090") => sized(NumberKind::Mobile, 11),
        _ if p("050") => sized(NumberKind::IpPhone, 11),
        _ if p("020") || p("060") || p("091") => NumberKind::OtherService,
        // 030 and 040 are not assigned to anything.
        _ if p("030") || p("040") => NumberKind::Invalid,
        _ => sized(NumberKind::Fixed, 10),
    }
}

impl NumberKind {
    /// What the operator's screen says when such a number is refused.
    pub fn refusal_ja(self) -> &'static str {
        match self {
            NumberKind::Fixed | NumberKind::Mobile | NumberKind::IpPhone => "この番号",
            NumberKind::FreeDial => "フリーダイヤル（0120・0800）",
            NumberKind::NaviDial => "ナビダイヤル（0570、通話料は発信者負担で割高）",
            NumberKind::MassCalling => "テレドーム（0180、1通話ごとに課金）",
            NumberKind::InformationFee => "情報料代理徴収番号（0990、情報料がかかる）",
            NumberKind::OtherService => "付加サービスやデータ通信用の番号",
            NumberKind::CarrierCode => "事業者識別番号（00XY）付きの番号",
            NumberKind::International => "国際電話",
            NumberKind::Emergency => "緊急通報番号",
            NumberKind::ServiceCode => "1XYの特番（104・117など、有料のものがある）",
            NumberKind::WrongLength => "桁数の合わない番号",
            NumberKind::Invalid => "電話番号として使えない番号",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberKind::*;

    #[test]
    fn kinds_of_the_numbering_plan() {
        for (n, k) in [
            ("0246221111", Fixed),
            ("0312345678", Fixed),
            ("0350001234", Fixed),
            ("09012345678", Mobile),
            ("07012345678", Mobile),
            ("08012345678", Mobile),
            ("05012345678", IpPhone),
            ("0120123456", FreeDial),
            ("08001234567", FreeDial),
            ("0570064444", NaviDial),
            ("0180993333", MassCalling),
            ("0990123456", InformationFee),
            ("0170123456", OtherService),
            ("02012345678", OtherService),
            ("0600123456", OtherService),
            ("0033010112", CarrierCode),
            ("00225551234", CarrierCode),
            ("0101212555", International),
            ("+12125551234", International),
            ("110", Emergency),
            ("119", Emergency),
            ("118", Emergency),
            ("117", ServiceCode),
            ("104", ServiceCode),
            ("024622111", WrongLength),
            ("090123456789", WrongLength),
            ("01201234567", WrongLength),
            ("0301234567", Invalid),
            ("2101", Invalid),
            ("1234", Invalid),
            ("", Invalid),
            ("09a", Invalid),
        ] {
            assert_eq!(kind(n), k, "{n}");
        }
    }
}
