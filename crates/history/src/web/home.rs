//! The call center's homepage (spec 第2-8 ⑺): what the center does, its real opening
//! hours (from the switch's configuration, not a hand-written footer), its number, and
//! the ways in: the FAQ site and the inquiry form, with the FAQ site's access ranking
//! (its API, fetched at most once a minute).

use super::html::esc;
use super::inquiry::public_page;
use crate::app::{blocking, App};
use crate::peers::FaqHit;
use axum::extract::State;
use axum::response::Html;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a fetched ranking is shown before it is asked again: a busy homepage must
/// not become load on the FAQ site.
const RANKING_TTL: Duration = Duration::from_secs(60);
const RANKING_SHOWN: usize = 5;

/// The ranking, from the cache or the FAQ site; empty when it is not configured or does
/// not answer (the homepage is shown without it).
async fn ranking(app: &Arc<App>) -> Vec<FaqHit> {
    if app.faq.is_none() {
        return Vec::new();
    }
    if let Some((at, hits)) = app
        .ranking
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
    {
        if at.elapsed() < RANKING_TTL {
            return hits.clone();
        }
    }
    let got = blocking(app, |a| a.faq.as_ref().map(|f| f.ranking(RANKING_SHOWN))).await;
    match got {
        Some(Ok(hits)) => {
            *app.ranking.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), hits.clone()));
            hits
        }
        Some(Err(e)) => {
            tracing::warn!("the FAQ ranking for the homepage: {e}");
            Vec::new()
        }
        None => Vec::new(),
    }
}

pub async fn home(State(app): State<Arc<App>>) -> Html<String> {
    let hits = ranking(&app).await;
    let ranking_html = if hits.is_empty() {
        String::new()
    } else {
        let items: String = hits
            .iter()
            .map(|h| {
                format!(
                    r#"<li><a href="{}">{}</a></li>"#,
                    esc(&h.url),
                    esc(&h.question)
                )
            })
            .collect();
        format!(r#"<h2>よく見られている質問（この1週間）</h2><ol id="faq-ranking">{items}</ol>"#)
    };
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
{ranking_html}
<h2>専用コールセンター</h2>
<p>特定の事業についての専用コールセンターを開設したときは、ここでお知らせします。</p>"#,
            tel = esc(&c.phone.replace('-', "")),
            phone = esc(&c.phone),
            faq = esc(&c.faq_url),
        ),
    ))
}
