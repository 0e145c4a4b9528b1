//! Waiting in line: joining and leaving the ACD, the prompts and music the caller hears
//! meanwhile, and the callback key.

use super::{AfterPlay, Call, Phase, Plan};
use crate::queue::QueueCmd;
use sip::SipHeaders;
use tokio::time::Instant;

impl Call {
    pub(super) async fn enqueue(&mut self) {
        let Plan::Queue {
            queue, priority, ..
        } = self.s.plan.clone()
        else {
            return;
        };
        let (reply, rx) = tokio::sync::oneshot::channel();
        let caller = self
            .s
            .invite
            .from_hdr()
            .map(|f| f.uri.to_string())
            .unwrap_or_default();
        self.tell_queue(QueueCmd::Enqueue {
            call: self.s.call,
            queue,
            priority,
            caller,
            events: self.s.events.clone(),
            reply,
        })
        .await;
        match rx.await {
            Ok(Ok(entry)) => self.entry = Some(entry),
            other => {
                tracing::warn!(call = self.s.call.0, ?other, "could not queue the call");
                self.fail_a(480).await;
            }
        }
    }

    /// Leave the ACD's books when the call ends, whatever the reason.
    pub(super) async fn leave_queue(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.tell_queue(QueueCmd::Abandon { entry }).await;
        }
    }

    /// Play prompts to the caller, one after another, then do `after`.
    pub(super) fn play(&mut self, names: &[String], after: AfterPlay) {
        match self.media.play_to_a(&self.s.shared, names) {
            Some((handle, len)) => self.playing = Some((Some(handle), Instant::now() + len, after)),
            // Nothing playable (missing files are logged): move on at once.
            None => self.playing = Some((None, Instant::now(), after)),
        }
    }

    pub(super) fn stop_playback(&mut self) {
        if let Some((Some(h), _, _)) = self.playing.take() {
            h.stop();
        }
    }

    pub(super) async fn on_playback_end(&mut self) {
        let Some((_, _, after)) = self.playing.take() else {
            return;
        };
        if self.phase != Phase::Waiting {
            return;
        }
        match after {
            AfterPlay::Enqueue => {
                self.hold_music();
                self.enqueue().await;
            }
            AfterPlay::HoldMusic => self.hold_music(),
            AfterPlay::Forward => self.forward().await,
            AfterPlay::HangUp => self.fail_a(480).await,
        }
    }

    pub(super) fn hold_music(&mut self) {
        if let Plan::Queue { hold_music, .. } = &self.s.plan {
            if !hold_music.is_empty() {
                let names = [hold_music.clone()];
                self.play(&names, AfterPlay::HoldMusic);
            }
        }
    }

    /// The caller pressed a key. "1" while waiting in line asks for a callback
    /// (第3-1 ⑶ イ): the caller keeps their place, hears a confirmation and is released;
    /// the queue calls them back through the carrier trunk when an agent frees.
    pub(super) async fn on_digit(&mut self, d: media::DtmfDigit) {
        if d.leg != media::Leg::A || d.digit != '1' || self.phase != Phase::Waiting {
            return;
        }
        let Some(entry) = self.entry else { return };
        let number = self
            .s
            .invite
            .from_hdr()
            .and_then(|f| f.uri.user())
            .unwrap_or_default();
        let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
        // A withheld or non-numeric caller id cannot be called back.
        if digits.len() < 10 || !(number.starts_with('0') || number.starts_with('+')) {
            self.play(
                &[crate::announce::CALLBACK_UNAVAILABLE.to_string()],
                AfterPlay::HoldMusic,
            );
            return;
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tell_queue(QueueCmd::RequestCallback {
            entry,
            number: number.clone(),
            reply,
        })
        .await;
        match rx.await {
            Ok(Ok(())) => {
                tracing::info!(call = self.s.call.0, %number, "callback requested");
                // The entry now lives on in line without this call.
                self.entry = None;
                self.outcome = "callback-requested";
                self.cancel_all_offers().await;
                self.play(
                    &[crate::announce::CALLBACK_ACCEPTED.to_string()],
                    AfterPlay::HangUp,
                );
            }
            other => tracing::info!(call = self.s.call.0, ?other, "callback not accepted"),
        }
    }
}
