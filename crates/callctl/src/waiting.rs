//! Waiting in line: joining and leaving the ACD, the prompts and music the caller hears
//! meanwhile, overflow, and the callback key.

use crate::announce;
use crate::call::{AfterPlay, Call, Phase, Plan};
use crate::event::EventKind;
use crate::io::{Env, OverflowTo, QueueOut, Side};
use std::time::Duration;

impl Call {
    pub(crate) fn enqueue(&mut self) {
        let Plan::Queue {
            queue, priority, ..
        } = self.plan.clone()
        else {
            return;
        };
        let caller = self
            .a
            .as_ref()
            .and_then(|a| sip::SipHeaders::from_hdr(&a.invite).map(|f| f.uri.to_string()))
            .unwrap_or_else(|| self.caller.clone());
        let line = self.line.clone();
        self.queue(QueueOut::Enqueue {
            queue,
            priority,
            caller,
            line,
        });
    }

    pub(crate) fn on_enqueued(&mut self, r: Result<acd::EntryId, String>) {
        match r {
            Ok(entry) if self.phase != crate::call::Phase::Ending => {
                self.entry = Some(entry);
                if let Plan::Queue {
                    queue, priority, ..
                } = self.plan.clone()
                {
                    self.emit(EventKind::Queued { queue, priority });
                }
            }
            // The caller left while the queue was answering: forget the entry at once.
            Ok(entry) => self.queue(QueueOut::Abandon { entry }),
            Err(e) => {
                tracing::warn!(call = %self.uid, error = %e, "could not queue the call");
                self.fail_a(480);
            }
        }
    }

    /// Leave the ACD's books when the caller goes, whatever the reason.
    pub(crate) fn leave_queue(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.queue(QueueOut::Abandon { entry });
        }
    }

    pub(crate) fn hold_music(&mut self) {
        let music = match &self.plan {
            Plan::Queue { hold_music, .. } => hold_music.clone(),
            _ => announce::HOLD_MUSIC.to_string(),
        };
        if !music.is_empty() {
            self.play(Side::A, vec![music], AfterPlay::HoldMusic);
        }
    }

    pub(crate) fn on_announce(&mut self, position: usize, expected_wait: Option<Duration>) {
        let music_or_nothing = self
            .playing
            .is_none_or(|(_, after)| after == AfterPlay::HoldMusic);
        let answered = self.a.as_ref().is_some_and(|a| a.answered);
        if self.phase == Phase::Queue && answered && music_or_nothing {
            let mut names =
                announce::please_wait_announcement(Some(position as u32), expected_wait);
            names.push(announce::CALLBACK_OFFER.to_string());
            self.play(Side::A, names, AfterPlay::HoldMusic);
        }
    }

    /// The queue gave up on the caller (max wait or length). Typed: the ACD says where.
    pub(crate) fn on_overflow(&mut self, to: OverflowTo, env: &dyn Env) {
        let queue = match &self.plan {
            Plan::Queue { queue, .. } => queue.clone(),
            _ => String::new(),
        };
        tracing::info!(call = %self.uid, ?to, "overflow");
        match to {
            OverflowTo::Queue(name) => {
                // The ACD has moved the entry to `name`, keeping its arrival order: the
                // caller stays on the line and in line, under the same entry.
                self.emit(EventKind::Overflowed {
                    queue,
                    to: format!("queue:{name}"),
                });
                if let Plan::Queue {
                    queue, priority, ..
                } = &mut self.plan
                {
                    *queue = name.clone();
                    let priority = *priority;
                    self.emit(EventKind::Queued {
                        queue: name,
                        priority,
                    });
                }
            }
            OverflowTo::Callback => {
                self.emit(EventKind::Overflowed {
                    queue,
                    to: "callback".into(),
                });
                self.entry = None;
                self.outcome = "overflowed";
                self.overflowed_to_callback = true;
                self.cancel_all_ringing();
                // Offer the callback key; the caller stays on the line meanwhile.
                self.play(
                    Side::A,
                    vec![announce::CALLBACK_OFFER.to_string()],
                    AfterPlay::CallbackWindow,
                );
            }
            OverflowTo::Route(route) => {
                self.emit(EventKind::Overflowed {
                    queue,
                    to: route.clone(),
                });
                self.entry = None;
                self.outcome = "overflowed";
                self.cancel_all_ringing();
                // The message, then the guard room (like after hours).
                let dest = env.route_destination(&route);
                let target = dest.as_ref().map(|d| d.label.clone()).unwrap_or_default();
                self.emit(EventKind::AfterHours { target });
                let role = crate::io::Role::Department {
                    name: dest.as_ref().map(|d| d.label.clone()).unwrap_or_default(),
                };
                self.plan = Plan::Forward {
                    announce: vec![announce::AFTER_HOURS.to_string()],
                    dest,
                    role,
                };
                self.phase = Phase::Forward;
                self.play(
                    Side::A,
                    vec![announce::AFTER_HOURS.to_string()],
                    AfterPlay::Forward,
                );
            }
        }
    }

    /// The caller pressed a key. "1" while waiting asks for a callback (第3-1 ⑶ イ): the
    /// caller keeps their place, hears a confirmation and is released; the queue calls
    /// them back through the carrier trunk when an agent frees.
    pub(crate) fn on_digit(&mut self, d: char, env: &dyn Env) {
        if self.phase == Phase::Survey {
            return self.survey_digit(d);
        }
        if self.monitor_link {
            return self.supervisor_digit(d);
        }
        if d != '1' {
            return;
        }
        let waiting = self.phase == Phase::Queue && self.entry.is_some();
        if !(waiting || self.overflowed_to_callback) || self.phase == Phase::Ending {
            return;
        }
        // Toll fraud (issue 9): only the asserted caller number, and only a national
        // fixed or mobile one, is ever called back.
        let number = match env.callback_number(&self.caller) {
            Ok(n) => n,
            Err(reason) => {
                tracing::info!(call = %self.uid, %reason, "no callback to this number");
                let after = if waiting {
                    AfterPlay::HoldMusic
                } else {
                    AfterPlay::HangUp
                };
                self.play(
                    Side::A,
                    vec![announce::CALLBACK_UNAVAILABLE.to_string()],
                    after,
                );
                return;
            }
        };
        if let (true, Some(entry)) = (waiting, self.entry) {
            self.pending_callback = Some(number.clone());
            self.queue(QueueOut::RequestCallback { entry, number });
        } else {
            // After an overflow the request leaves the line: it is kept as an event for
            // the contact history, which tracks it until done.
            self.overflowed_to_callback = false;
            self.window_until = None;
            self.callback_taken(number);
        }
    }

    pub(crate) fn on_callback_accepted(&mut self, r: Result<(), String>) {
        let number = self.pending_callback.take().unwrap_or_default();
        match r {
            Ok(()) => {
                // The entry now lives on in line without this call.
                self.entry = None;
                self.callback_taken(number);
            }
            Err(e) => tracing::info!(call = %self.uid, error = %e, "callback not accepted"),
        }
    }

    fn callback_taken(&mut self, number: String) {
        tracing::info!(call = %self.uid, %number, "callback requested");
        self.outcome = "callback-requested";
        self.emit(EventKind::CallbackRequested { number });
        self.cancel_all_ringing();
        self.play(
            Side::A,
            vec![announce::CALLBACK_ACCEPTED.to_string()],
            AfterPlay::HangUp,
        );
    }
}
