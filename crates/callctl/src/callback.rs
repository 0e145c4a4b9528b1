//! A callback (第3-1 ⑶ イ): the citizen pressed the callback key and hung up; the ACD kept
//! their place; now that an agent is free the call rings the agent first and, once the
//! agent answers, calls the citizen through the carrier trunk on the line they dialled,
//! then bridges them. The citizen's leg takes relay side A (the recording's left).

use crate::call::{Call, Phase, Plan, Purpose};
use crate::event::EventKind;
use crate::io::{Env, MediaOut, QueueOut, Role, Side};

impl Call {
    pub(crate) fn callback_agent_answered(
        &mut self,
        i: usize,
        cfg: media::LegConfig,
        env: &dyn Env,
    ) {
        let Plan::Callback {
            entry,
            agent,
            citizen,
            ..
        } = self.plan.clone()
        else {
            return;
        };
        self.media(MediaOut::SetLeg { side: Side::B, cfg });
        self.bridged = Some(i);
        self.queue(QueueOut::Answered {
            entry,
            agent: agent.clone(),
        });
        self.emit(EventKind::Answered { agent });
        let Some(dest) = citizen else {
            self.fail_a(480);
            return;
        };
        let channel = match self.take_channel(env, &dest, false) {
            Ok(c) => c,
            Err(reason) => {
                tracing::warn!(call = %self.uid, %reason, "no channel for the callback");
                self.outcome = "callback-failed";
                self.bye_leg(i);
                self.operator_left(i);
                self.enter_ending(crate::event::Phase::Forward, crate::event::Party::Switch);
                return;
            }
        };
        let ring = self.timers.callback_ring;
        self.place(
            dest,
            Role::Citizen,
            Side::A,
            Purpose::CallbackCitizen,
            ring,
            channel,
        );
    }

    pub(crate) fn callback_citizen_answered(&mut self, i: usize, cfg: media::LegConfig) {
        tracing::info!(call = %self.uid, "callback connected");
        self.media(MediaOut::SetLeg { side: Side::A, cfg });
        self.phase = Phase::Talking;
        self.outcome = "callback";
        self.start_recording();
        if let Plan::Callback { agent, .. } = &self.plan {
            let label = agent.clone();
            self.media(MediaOut::RecordParty { label });
        }
        let party = self.legs[i].dest.label.clone();
        self.emit(EventKind::Connected { party });
        // The citizen is recorded too: they hear the notice first (issue 8).
        self.play(
            Side::A,
            vec![crate::announce::RECORDING_NOTICE.to_string()],
            crate::call::AfterPlay::Nothing,
        );
    }
}
