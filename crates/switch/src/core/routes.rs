//! Which call owns which transaction and dialog: the core's only call state (DESIGN §2).
//!
//! Each call keeps the keys that lead to it, so that its end removes exactly those.
//! The tables used to be scanned whole at every call end (three `retain`s over every
//! live entry), O(live calls) per call on the one core task (issue 10 goal 3).

use crate::event::{CallEvent, CallRef};
use sip::transaction::{ClientTxId, ServerTxId};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// A call's client transactions beyond which finished ones are pruned from its list
/// (a long call's re-INVITEs and INFOs; most calls have a handful).
const PRUNE_AT: usize = 32;

/// What the core holds for one live call.
struct Slot {
    /// The call task's inbox. Unbounded, so that no event is ever dropped: neither the
    /// core nor the queue task may wait on a call task (the call task waits on them,
    /// and a bounded channel both ways deadlocks). What one call can receive is bounded
    /// by its own dialogs (retransmissions stay in the transaction layer) and the ACD's
    /// one offer at a time; how many calls there are is bounded by admission control.
    events: mpsc::UnboundedSender<CallEvent>,
    invite: Option<ServerTxId>,
    dialogs: Vec<(String, String)>,
    client: Vec<ClientTxId>,
}

#[derive(Default)]
pub(super) struct Routes {
    calls: HashMap<CallRef, Slot>,
    /// A client transaction's call and the Via branch it was sent with.
    client_tx: HashMap<ClientTxId, (CallRef, String)>,
    invite_tx: HashMap<ServerTxId, CallRef>,
    /// (Call-ID, our tag) → call.
    dialogs: HashMap<(String, String), CallRef>,
}

impl Routes {
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub fn contains(&self, call: CallRef) -> bool {
        self.calls.contains_key(&call)
    }

    /// A new call, with the INVITE transaction it answers (none for calls we place).
    pub fn add_call(
        &mut self,
        call: CallRef,
        events: mpsc::UnboundedSender<CallEvent>,
        invite: Option<ServerTxId>,
    ) {
        if let Some(tx) = invite {
            self.invite_tx.insert(tx, call);
        }
        self.calls.insert(
            call,
            Slot {
                events,
                invite,
                dialogs: Vec::new(),
                client: Vec::new(),
            },
        );
    }

    /// The inbox of a live call.
    pub fn events(&self, call: CallRef) -> Option<&mpsc::UnboundedSender<CallEvent>> {
        self.calls.get(&call).map(|s| &s.events)
    }

    /// Every live call's inbox (shutdown).
    pub fn all_events(&self) -> impl Iterator<Item = &mpsc::UnboundedSender<CallEvent>> {
        self.calls.values().map(|s| &s.events)
    }

    pub fn bind_dialog(&mut self, call: CallRef, call_id: String, local_tag: String) {
        let key = (call_id, local_tag);
        if let Some(slot) = self.calls.get_mut(&call) {
            slot.dialogs.push(key.clone());
        }
        self.dialogs.insert(key, call);
    }

    pub fn dialog(&self, call_id: String, local_tag: String) -> Option<CallRef> {
        self.dialogs.get(&(call_id, local_tag)).copied()
    }

    pub fn add_client_tx(&mut self, call: CallRef, id: ClientTxId, branch: String) {
        if let Some(slot) = self.calls.get_mut(&call) {
            if slot.client.len() >= PRUNE_AT {
                let live = &self.client_tx;
                slot.client.retain(|t| live.contains_key(t));
            }
            slot.client.push(id);
        }
        self.client_tx.insert(id, (call, branch));
    }

    /// The call and branch of a client transaction; `finished` forgets it (its final
    /// response or its timeout).
    pub fn client_tx(&mut self, id: ClientTxId, finished: bool) -> Option<(CallRef, String)> {
        if finished {
            self.client_tx.remove(&id)
        } else {
            self.client_tx.get(&id).cloned()
        }
    }

    pub fn invite_tx(&self, id: ServerTxId) -> Option<CallRef> {
        self.invite_tx.get(&id).copied()
    }

    /// Forgets a call and every key that leads to it. A key another call has taken
    /// over since (a dialog bound again) stays with that call.
    pub fn end_call(&mut self, call: CallRef) {
        let Some(slot) = self.calls.remove(&call) else {
            return;
        };
        if let Some(tx) = slot.invite {
            if self.invite_tx.get(&tx) == Some(&call) {
                self.invite_tx.remove(&tx);
            }
        }
        for key in slot.dialogs {
            if self.dialogs.get(&key) == Some(&call) {
                self.dialogs.remove(&key);
            }
        }
        for id in slot.client {
            if matches!(self.client_tx.get(&id), Some((c, _)) if *c == call) {
                self.client_tx.remove(&id);
            }
        }
    }

    /// Entries in the three key tables (a test's view of "nothing left behind").
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.client_tx.len() + self.invite_tx.len() + self.dialogs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (Vec<ServerTxId>, Vec<ClientTxId>) {
        (
            (1..=2).map(ServerTxId::from_raw).collect(),
            (1..=6).map(ClientTxId::from_raw).collect(),
        )
    }

    #[test]
    fn a_call_end_removes_its_keys_and_only_its_keys() {
        let (server, client) = ids();
        let mut r = Routes::default();
        let (tx, _rx) = mpsc::unbounded_channel();
        let (a, b) = (CallRef(1), CallRef(2));
        r.add_call(a, tx.clone(), Some(server[0]));
        r.add_call(b, tx, Some(server[1]));
        r.bind_dialog(a, "cid-a".into(), "tag-a".into());
        r.bind_dialog(b, "cid-b".into(), "tag-b".into());
        // A dialog key taken over by b (bound again) stays with b when a ends.
        r.bind_dialog(a, "cid-x".into(), "tag-x".into());
        r.bind_dialog(b, "cid-x".into(), "tag-x".into());
        for (i, id) in client.iter().enumerate() {
            r.add_client_tx(if i % 2 == 0 { a } else { b }, *id, format!("z9hG4bK{i}"));
        }
        // a's first client transaction already finished.
        assert_eq!(r.client_tx(client[0], true).map(|(c, _)| c), Some(a));

        r.end_call(a);
        assert!(!r.contains(a) && r.contains(b));
        assert_eq!(r.invite_tx(server[0]), None);
        assert_eq!(r.invite_tx(server[1]), Some(b));
        assert_eq!(r.dialog("cid-a".into(), "tag-a".into()), None);
        assert_eq!(r.dialog("cid-x".into(), "tag-x".into()), Some(b));
        assert_eq!(r.dialog("cid-b".into(), "tag-b".into()), Some(b));
        for (i, id) in client.iter().enumerate() {
            let owner = r.client_tx(*id, false).map(|(c, _)| c);
            assert_eq!(owner, if i % 2 == 0 { None } else { Some(b) }, "tx {i}");
        }

        r.end_call(b);
        assert!(r.is_empty());
        assert_eq!(r.keys(), 0, "keys left behind after every call ended");
    }

    #[test]
    fn a_long_call_keeps_a_bounded_list_of_its_transactions() {
        let mut r = Routes::default();
        let (tx, _rx) = mpsc::unbounded_channel();
        let call = CallRef(7);
        r.add_call(call, tx, None);
        // An hour of session refreshes and INFOs: 1,000 requests, each answered.
        for n in 0..1_000 {
            let id = ClientTxId::from_raw(n);
            r.add_client_tx(call, id, format!("z9hG4bK{n}"));
            assert!(r.client_tx(id, true).is_some());
        }
        let open = ClientTxId::from_raw(5_000);
        r.add_client_tx(call, open, "z9hG4bKopen".into());
        assert!(r.calls[&call].client.len() <= PRUNE_AT + 1);
        r.end_call(call);
        assert_eq!(r.keys(), 0);
    }
}
