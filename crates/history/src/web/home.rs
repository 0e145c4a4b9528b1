//! The call center's homepage (spec 第2-8 ⑺): what the center does, its real opening
//! hours (from the switch's configuration, not a hand-written footer), its number, and
//! the ways in: the FAQ site and the inquiry form.

use super::html::esc;
use super::inquiry::public_page;
use crate::app::App;
use axum::extract::State;
use axum::response::Html;
use std::sync::Arc;

pub async fn home(State(app): State<Arc<App>>) -> Html<String> {
    let c = &app.cfg.center;
    let hours: String = c
        .hours
        .iter()
        .map(|h| format!("<li>{}</li>", esc(h)))
        .collect();
    Html(public_page(
        "いわき市総合コールセンター",
        &format!(
            r#"<p>市役所への各種お問い合わせに、ひとつの窓口でお答えします。手続きや制度のご案内、担当課へのおつなぎ、ご意見・ご要望の受付を行っています。</p>
<h2>受付時間</h2><ul id="hours">{hours}</ul>
<p>電話：<a href="tel:{tel}" id="phone">{phone}</a>（時間外は本庁舎警備室へ自動でおつなぎします）</p>
<h2>お問い合わせの方法</h2>
<ul>
<li><a href="{faq}" id="faq-link">よくある質問（FAQ）</a>：24時間、キーワードで調べられます</li>
<li><a href="/inquiry" id="form-link">お問い合わせフォーム</a>：24時間受け付け、原則として当日または翌開庁日にお返事します</li>
</ul>
<h2>専用コールセンター</h2>
<p>特定の事業についての専用コールセンターを開設したときは、ここでお知らせします。</p>"#,
            tel = esc(&c.phone.replace('-', "")),
            phone = esc(&c.phone),
            faq = esc(&c.faq_url),
        ),
    ))
}
