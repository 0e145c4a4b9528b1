//! Which prompt files speak a queue position or an expected wait (placeholder until the
//! prompt set lands; the prompts engineer replaces this file).

pub fn position_announcement(position: u32) -> Vec<String> {
    vec!["position-prefix".into(), format!("num/{}", position.min(99)), "position-suffix".into()]
}

pub fn wait_announcement(minutes: u32) -> Vec<String> {
    vec!["wait-prefix".into(), format!("min/{}", minutes.clamp(1, 60)), "wait-suffix-minutes".into()]
}
