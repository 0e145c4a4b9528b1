//! What a busy-lamp shows, and the two documents that carry it: PIDF with RPID
//! activities for the `presence` package (RFC 3863, RFC 4480; RFC 3856) and
//! dialog-info for the `dialog` package (RFC 4235), which most desk phones' BLF keys use.

use recorder::http::esc;
use std::collections::BTreeMap;

/// An operator's state as a colleague's phone shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lamp {
    Offline,
    Idle,
    Ringing,
    Talking,
    WrapUp,
    Paused(Option<String>),
}

/// Every operator's lamp and every queue's line, as the queue task last published them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Board {
    pub agents: BTreeMap<String, Lamp>,
    /// Callers waiting per queue.
    pub queues: BTreeMap<String, usize>,
}

impl Board {
    pub fn from_snapshot(s: &acd::Snapshot) -> Board {
        use acd::AgentStatus as S;
        Board {
            agents: s
                .agents
                .iter()
                .map(|a| {
                    let lamp = match a.status {
                        S::LoggedOut => Lamp::Offline,
                        S::Available => Lamp::Idle,
                        S::Ringing => Lamp::Ringing,
                        S::OnCall => Lamp::Talking,
                        S::WrapUp => Lamp::WrapUp,
                        S::Paused => Lamp::Paused(a.pause_reason.clone()),
                    };
                    (a.name.clone(), lamp)
                })
                .collect(),
            queues: s
                .queues
                .iter()
                .map(|q| (q.name.clone(), q.waiting))
                .collect(),
        }
    }
}

/// What one subscription watches, and what it last saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    Agent(Lamp),
    Queue(usize),
}

/// The event packages we notify (RFC 6665 §7.2: the package names the body format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Package {
    Presence,
    Dialog,
}

impl Package {
    pub fn parse(token: &str) -> Option<Package> {
        match token.trim().to_ascii_lowercase().as_str() {
            "presence" => Some(Package::Presence),
            "dialog" => Some(Package::Dialog),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Package::Presence => "presence",
            Package::Dialog => "dialog",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Package::Presence => "application/pidf+xml",
            Package::Dialog => "application/dialog-info+xml",
        }
    }
}

/// The words under a lamp (PIDF `<note>`: softphones show it next to the name).
fn note(v: &View) -> String {
    match v {
        View::Agent(Lamp::Offline) => "ログアウト".into(),
        View::Agent(Lamp::Idle) => "受付可".into(),
        View::Agent(Lamp::Ringing) => "呼出中".into(),
        View::Agent(Lamp::Talking) => "通話中".into(),
        View::Agent(Lamp::WrapUp) => "後処理中".into(),
        View::Agent(Lamp::Paused(None)) => "離席中".into(),
        View::Agent(Lamp::Paused(Some(r))) => format!("離席中（{r}）"),
        View::Queue(0) => "待ち呼なし".into(),
        View::Queue(n) => format!("待ち呼 {n} 件"),
    }
}

/// RFC 3863 PIDF, with the RFC 4480 activity in a data-model person element (RFC 4479),
/// laid out as PJSIP writes it so that phones built on it read the activity. An
/// operator logged out is `closed`; on a call `busy` and `on-the-phone`; paused `away`.
pub fn pidf(entity: &str, v: &View) -> String {
    let basic = if matches!(v, View::Agent(Lamp::Offline)) {
        "closed"
    } else {
        "open"
    };
    let activities = match v {
        View::Agent(Lamp::Ringing | Lamp::Talking) => "<rpid:busy/><rpid:on-the-phone/>",
        View::Agent(Lamp::WrapUp) => "<rpid:busy/>",
        View::Agent(Lamp::Paused(_)) => "<rpid:away/>",
        View::Queue(n) if *n > 0 => "<rpid:busy/>",
        _ => "",
    };
    let note = esc(&note(v));
    let entity = esc(entity);
    let person = if activities.is_empty() {
        String::new()
    } else {
        format!(
            " <dm:person id=\"p1\">\n  <rpid:activities>{activities}</rpid:activities>\n  \
             <dm:note>{note}</dm:note>\n </dm:person>\n"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <presence entity=\"{entity}\" xmlns=\"urn:ietf:params:xml:ns:pidf\" \
         xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
         xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\">\n \
         <tuple id=\"t1\">\n  <status><basic>{basic}</basic></status>\n  \
         <contact>{entity}</contact>\n  <note>{note}</note>\n </tuple>\n{person}</presence>\n"
    )
}

/// RFC 4235 dialog-info, always a full state (§4.1). An operator ringing is one `early`
/// dialog, on a call one `confirmed`; otherwise no dialog (the lamp is off). A queue
/// with callers waiting shows one `confirmed` dialog, so the key lights while anyone
/// waits. `version` starts at 0 and goes up by one per NOTIFY of the subscription.
pub fn dialog_info(entity: &str, version: u32, v: &View) -> String {
    let state = match v {
        View::Agent(Lamp::Ringing) => Some("early"),
        View::Agent(Lamp::Talking) => Some("confirmed"),
        View::Queue(n) if *n > 0 => Some("confirmed"),
        _ => None,
    };
    let entity = esc(entity);
    let dialog = state
        .map(|s| {
            format!(
                " <dialog id=\"madoguchi-1\" direction=\"recipient\">\n  \
                 <state>{s}</state>\n </dialog>\n"
            )
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"{version}\" \
         state=\"full\" entity=\"{entity}\">\n{dialog}</dialog-info>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_talking_operator_is_open_and_busy_a_logged_out_one_closed() {
        let b = pidf("sip:1002@example", &View::Agent(Lamp::Talking));
        assert!(b.contains("<basic>open</basic>"), "{b}");
        assert!(b.contains("<rpid:busy/>") && b.contains("通話中"), "{b}");
        let b = pidf("sip:1002@example", &View::Agent(Lamp::Offline));
        assert!(
            b.contains("<basic>closed</basic>") && !b.contains("rpid:busy"),
            "{b}"
        );
        let b = pidf("sip:1002@example", &View::Agent(Lamp::Idle));
        assert!(
            b.contains("<basic>open</basic>") && !b.contains("activities"),
            "{b}"
        );
    }

    #[test]
    fn a_pause_reason_is_escaped_into_the_note() {
        let b = pidf(
            "sip:1002@example",
            &View::Agent(Lamp::Paused(Some("<研修> & 会議".into()))),
        );
        assert!(b.contains("<rpid:away/>"), "{b}");
        assert!(b.contains("離席中（&lt;研修&gt; &amp; 会議）"), "{b}");
    }

    #[test]
    fn dialog_info_shows_a_dialog_only_while_ringing_or_talking() {
        let b = dialog_info("sip:1002@x", 3, &View::Agent(Lamp::Talking));
        assert!(b.contains("version=\"3\"") && b.contains("<state>confirmed</state>"));
        let b = dialog_info("sip:1002@x", 4, &View::Agent(Lamp::Ringing));
        assert!(b.contains("<state>early</state>"));
        for idle in [Lamp::Idle, Lamp::WrapUp, Lamp::Offline] {
            assert!(!dialog_info("sip:1002@x", 0, &View::Agent(idle)).contains("<dialog "));
        }
        assert!(dialog_info("sip:general@x", 0, &View::Queue(2)).contains("confirmed"));
        assert!(!dialog_info("sip:general@x", 0, &View::Queue(0)).contains("<dialog "));
    }
}
