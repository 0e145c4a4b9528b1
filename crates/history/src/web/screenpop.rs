//! The operator's desktop screen pop: `/desk/phone` shows, within a second of the
//! operator's phone ringing, the dialled line, the caller's number and their earlier
//! contacts, with a link to the record form already filled in. The page listens on
//! `/desk/events` (Server-Sent Events), fed by the switch's event feed.

use super::html::{desk_page, esc};
use super::{Staff, WebResult};
use crate::app::App;
use crate::auth::Role;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AgentQuery {
    agent: String,
}

/// Whose phone this desk follows: an operator their own agent id; a supervisor may
/// choose one (`?agent=`) or follow all.
fn follows(staff: &Staff, q: &AgentQuery) -> Option<String> {
    if staff.0.role >= Role::Supervisor {
        (!q.agent.is_empty()).then(|| q.agent.clone())
    } else if staff.0.agent_id.is_empty() {
        Some(staff.0.login.clone())
    } else {
        Some(staff.0.agent_id.clone())
    }
}

pub async fn events(
    State(app): State<Arc<App>>,
    staff: Staff,
    Query(q): Query<AgentQuery>,
) -> Response {
    let only = follows(&staff, &q);
    let rx = app.ringing.subscribe();
    let stream =
        futures_util::stream::unfold((rx, only, true), |(mut rx, only, first)| async move {
            if first {
                return Some((
                    Ok::<_, Infallible>("retry: 2000\n: ok\n\n".to_string()),
                    (rx, only, false),
                ));
            }
            loop {
                match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
                    Err(_) => return Some((Ok(": keep-alive\n\n".to_string()), (rx, only, false))),
                    Ok(Ok(ev)) => {
                        if only.as_ref().is_some_and(|a| a != &ev.agent) {
                            continue;
                        }
                        let data = serde_json::to_string(&*ev).unwrap_or_default();
                        return Some((
                            Ok(format!("event: ringing\ndata: {data}\n\n")),
                            (rx, only, false),
                        ));
                    }
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                }
            }
        });
    (
        [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

pub async fn phone(staff: Staff, Query(q): Query<AgentQuery>) -> WebResult {
    let agent = follows(&staff, &q).unwrap_or_default();
    let body = format!(
        r#"<p class="muted">着信すると、ここに発信者の情報が表示されます（{who}）。</p>
<section id="pop" data-agent="{agent}" hidden aria-live="assertive" class="notice">
<h2>着信中</h2>
<p>着信回線：<strong id="pop-line"></strong></p>
<p>発信者番号：<strong id="pop-caller"></strong></p>
<p><a class="button" id="pop-new" href="/desk/contacts/new">この通話の応対記録を作成</a></p>
<h3>過去の応対</h3><ul id="pop-history"></ul>
</section>
<script src="/static/desk.js" defer></script>"#,
        who = if agent.is_empty() {
            "全オペレーター".to_string()
        } else {
            format!("オペレーター {}", esc(&agent))
        },
        agent = esc(&agent),
    );
    Ok(Html(desk_page("電話応対", &staff.0, &body)).into_response())
}

pub const SCRIPT: &str = r#"
// Screen pop: listens for the operator's phone ringing and shows who calls on which line.
(function(){
  var box=document.getElementById('pop'); if(!box)return;
  var agent=box.getAttribute('data-agent');
  var es=new EventSource('/desk/events'+(agent?'?agent='+encodeURIComponent(agent):''));
  // Marks the page as listening (and shows when the connection drops).
  es.onopen=function(){box.setAttribute('data-connected','1');};
  es.onerror=function(){box.setAttribute('data-connected','0');};
  es.addEventListener('ringing',function(e){
    var ev=JSON.parse(e.data);
    document.getElementById('pop-line').textContent=ev.line+'（'+ev.dialled+'）';
    document.getElementById('pop-caller').textContent=ev.caller||'非通知';
    document.getElementById('pop-new').href='/desk/contacts/new?channel=phone&line='+encodeURIComponent(ev.dialled)+'&caller='+encodeURIComponent(ev.caller)+'&call_id='+encodeURIComponent(ev.call);
    var list=document.getElementById('pop-history'); list.textContent='';
    box.hidden=false;
    if(!ev.caller)return;
    fetch('/api/v1/contacts?caller='+encodeURIComponent(ev.caller)).then(function(r){return r.json();}).then(function(j){
      (j.contacts||[]).slice(0,10).forEach(function(c){
        var li=document.createElement('li'); var a=document.createElement('a');
        a.href='/desk/contacts/'+c.id; a.textContent=new Date(c.started_at*1000).toLocaleString('ja-JP')+' '+c.category+' '+c.summary.slice(0,40);
        li.appendChild(a); list.appendChild(li);
      });
      if(!list.children.length){var li=document.createElement('li'); li.textContent='記録はありません'; list.appendChild(li);}
    });
  });
})();
"#;
