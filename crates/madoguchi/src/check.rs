//! `madoguchi check FILE`: every error of a configuration at once, each as
//! `FILE:LINE:COL: what to fix`, so one edit round fixes them all; then warnings that do
//! not stop a start (weak operators' passwords, `dialplan::passwords`, never showing a
//! password; an RTP range too small for `max_calls`, `dialplan::capacity`; an RTP range
//! the kernel may hand out as ephemeral ports, `media::ephemeral`).

use std::path::Path;

/// Prints the errors (or `FILE: OK`) and exits 1 when there is any.
pub fn run(file: &Path) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{name}: cannot read the configuration file: {e}");
            std::process::exit(1);
        }
    };
    let errors: Vec<String> = match dialplan::check(&text, &name) {
        // What only the ACD checks; the dialplan checks the same rules with lines, so
        // this is a backstop that names the file.
        Ok(cfg) => match switch::check_queues(&cfg) {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!("{name}: queues: {e}")],
        },
        Err(list) => list.iter().map(ToString::to_string).collect(),
    };
    if errors.is_empty() {
        if let Ok(cfg) = dialplan::check(&text, &name) {
            for w in dialplan::passwords::warnings(&cfg, &text, &name) {
                eprintln!("{w}");
            }
            let r = cfg.media.rtp_ports;
            let pairs = media::ports::pairs_in(r.first, r.last);
            for w in dialplan::capacity::warnings(&cfg, pairs, &text, &name) {
                eprintln!("{w}");
            }
            if let Some(c) = media::ephemeral::check(r.first..=r.last) {
                let w = dialplan::capacity::rtp_ports_warning(&text, &name, &c.to_string());
                eprintln!("{w}");
            }
        }
        println!("{name}: OK");
        return Ok(());
    }
    for e in &errors {
        eprintln!("{e}");
    }
    if errors.len() > 1 {
        eprintln!("{} errors", errors.len());
    }
    std::process::exit(1);
}
