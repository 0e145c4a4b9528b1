#!/usr/bin/env bash
# Tests of the tests (issue 14): break one behaviour at a time and check that the test
# written for it goes red. Each mutant is a literal text substitution in one file, the
# test command that must then FAIL, and a note. A mutant whose text is no longer in the
# file is reported STALE (the code moved: update the mutant), never counted as caught.
#
# Usage: scripts/mutants.sh [NAME...]   (default: all). Needs a clean work tree; every
# file is restored after its mutant, also on Ctrl-C. Not part of .ci/run: each mutant
# rebuilds the switch, so a full run takes 10–30 min on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0

if ! git diff --quiet; then
  echo "mutants.sh: the work tree has changes; commit or stash them first" >&2
  exit 2
fi

# name | file | text | replacement | test command (run with cargo test)
MUTANTS=(
  "answered-label|crates/switch/src/core/commands.rs|.with_label_values(&[outcome])|.with_label_values(&[if outcome == \"answered\" { \"unanswered\" } else { outcome }])|-p madoguchi --test call_baresip"
  "relay-drops-caller|crates/media/src/forward.rs|        let to = from.other();|        if from == Leg::A { return outcome; }\n        let to = from.other();|-p madoguchi --test call_baresip caller_hangs_up_each_side_hears_the_other"
  "digest-replay|crates/sip/src/auth/server.rs|NcVerdict::Unknown \| NcVerdict::Reused => AuthOutcome::Replayed { user: r.username },|NcVerdict::Unknown \| NcVerdict::Reused => AuthOutcome::Ok { user: r.username },|-p madoguchi --test security_digest"
  "no-crash-repair|crates/recorder/src/repair.rs|for row in self.catalogue().in_state(State::Recording)? {|for row in self.catalogue().in_state(State::Recording)?.into_iter().take(0) {|-p madoguchi --test recording_e2e kill_9"
  "no-glare-491|crates/callctl/src/inbound.rs|.is_some_and(\|st\| st.awaiting_ack_answer)|.is_some_and(\|_\| false)|-p callctl --test reinvite"
  "queue-limit-ignored|crates/acd/src/queue.rs|self.cfg.max_len.is_some_and(\|max\| self.line.len() >= max)|false|-p acd --test day_simulation"
  "metrics-route-gone|crates/switch/src/http.rs|.route(\"/metrics\", get(metrics))|.route(\"/metrics-gone\", get(metrics))|-p madoguchi --test bad_input"
  "ack-answer-ignored|crates/callctl/src/inbound.rs|if !std::mem::take(&mut st.awaiting_ack_answer) \|\| body.is_empty() {|if true {|-p callctl --test reinvite offerless"
  "guard-room-not-bridged|crates/callctl/src/legs.rs|Purpose::Offer \| Purpose::Forward \| Purpose::Dial => self.connect(i, cfg),|Purpose::Offer \| Purpose::Dial => self.connect(i, cfg),\n            Purpose::Forward => { let _ = cfg; self.bye_leg(i); }|-p madoguchi --test queue_e2e the_guard_room_forward_is_answered_and_bridged_both_ways"
  "callback-loses-place|crates/acd/src/acd.rs|        e.callback = Some(number.clone());|        e.callback = Some(number.clone());\n        let (qi, old) = (e.queue, e.place());\n        e.seq += 1_000_000;\n        let new = e.place();\n        if self.queues[qi].line.remove(&old).is_some() { self.queues[qi].line.insert(new, entry); }\n        if self.queues[qi].ready.remove(&old) { self.queues[qi].ready.insert(new); }|-p madoguchi --test queue_e2e a_caller_who_presses_1"
  "faq-clock-ignored|crates/faq/src/clock.rs|        date_of(self.now(), JST_OFFSET)|        today_jst()|-p faq --test publish_window"
)

want=("$@")
caught=0; missed=0; stale=0
restore() { [ -n "${CUR:-}" ] && git checkout -q -- "$CUR"; CUR=; }
trap 'restore; exit 130' INT TERM

for m in "${MUTANTS[@]}"; do
  IFS='|' read -r name file text repl cmd <<<"$(printf '%s' "$m" | sed 's/\\|/\x1f/g')"
  text=${text//$'\x1f'/|}; repl=${repl//$'\x1f'/|}
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  if ! grep -qF -- "$text" "$file"; then
    echo "STALE   $name: text not found in $file"; stale=$((stale + 1)); continue
  fi
  CUR=$file
  python3 - "$file" "$text" "$repl" <<'EOF'
import sys
p, old, new = sys.argv[1], sys.argv[2], sys.argv[3].replace("\\n", "\n")
s = open(p).read()
open(p, "w").write(s.replace(old, new, 1))
EOF
  log=target/mutants-$name.log
  # shellcheck disable=SC2086
  if timeout 1800 cargo test $cmd >"$log" 2>&1; then
    echo "MISSED  $name: \`cargo test $cmd\` passed with the behaviour broken ($log)"
    missed=$((missed + 1))
  elif grep -q "^error\[" "$log"; then
    echo "STALE   $name: the mutant does not compile ($log)"; stale=$((stale + 1))
  else
    echo "CAUGHT  $name: \`cargo test $cmd\` failed: $(grep -a -m1 -E '^test .* FAILED' "$log")"
    caught=$((caught + 1))
  fi
  restore
done
echo "mutants: $caught caught, $missed missed, $stale stale"
[ "$missed" -eq 0 ] && [ "$stale" -eq 0 ]
