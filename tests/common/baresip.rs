//! baresip agents (Debian's `baresip`): one process per agent with its own config
//! folder, SIP on a kernel-chosen port, and a leased RTP block.

use super::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A baresip instance with its own config folder.
pub struct Baresip {
    pub child: Child,
    pub dir: PathBuf,
    _rtp: PortLease,
}

pub struct BaresipOpts<'a> {
    pub name: &'a str,
    pub account: String,
    pub tone: &'a Path,
    pub commands: Vec<String>,
    pub quit_after: Option<u64>,
}

impl Baresip {
    pub fn start(base: &Path, o: BaresipOpts) -> Baresip {
        Baresip::start_with(base, o, "")
    }

    /// Like `start`, with more lines for baresip's config (e.g. a UDP console to press
    /// keys during a call: `module cons.so` + `cons_listen 127.0.0.1:PORT`).
    pub fn start_with(base: &Path, o: BaresipOpts, extra_config: &str) -> Baresip {
        let dir = base.join(o.name);
        std::fs::create_dir_all(dir.join("snd")).unwrap();
        // SIP on a port the kernel picks (the switch learns it from REGISTER or the
        // INVITE's Via/Contact); RTP needs a range, so a leased block.
        let lease = ports::lease(20);
        let rtp = lease.base;
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:0\n\
             net_interface 127.0.0.1\n\
             rtp_ports {}-{}\n\
             audio_player alsa,null\n\
             audio_alert alsa,null\n\
             audio_source aufile,{}\n\
             audio_buffer 20-160\n\
             jitter_buffer_delay 1-10\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module alsa.so\n\
             module aufile.so\n\
             module sndfile.so\n\
             snd_path {}\n\
             module_tmp uuid.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             call_local_timeout 120\n{}",
            rtp,
            rtp + 19,
            o.tone.display(),
            dir.join("snd").display(),
            extra_config
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("accounts"), format!("{}\n", o.account)).unwrap();
        let log = std::fs::File::create(dir.join("baresip.log")).unwrap();
        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(&dir).arg("-s");
        for c in &o.commands {
            cmd.arg("-e").arg(c);
        }
        if let Some(t) = o.quit_after {
            cmd.arg("-t").arg(t.to_string());
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("baresip must be installed: run .ci/run or apt-get install baresip-core");
        Baresip {
            child,
            dir,
            _rtp: lease,
        }
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("baresip.log")).unwrap_or_default())
            .to_string()
    }

    /// Wait (bounded) until the agent's log contains `needle`; fail with the log tail.
    pub fn wait_log(&self, what: &str, secs: u64, needle: &str) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for {what} ({needle:?}); baresip log tail:\n{}",
            tail(&self.log(), 40)
        );
    }

    /// Wait (bounded) for the process to exit by itself.
    pub fn wait_exit(&mut self, secs: u64) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The received-audio dumps (`dump-*-dec.wav`) the sndfile module wrote.
    pub fn received_wavs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.join("snd"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.retain(|p| p.to_string_lossy().ends_with("-dec.wav"));
        v.sort();
        v
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A baresip operator registered as `id` (password `madoguchi-<id>`), auto-answering and
/// playing `tone`; it quits (with BYE) after `quit_after` seconds.
pub fn baresip_operator(sw: &Switch, id: &str, tone: &Path, quit_after: u64) -> Baresip {
    Baresip::start(
        &sw.dir,
        BaresipOpts {
            name: &format!("op{id}"),
            account: format!("<sip:{id}@{};transport=udp>;auth_pass=madoguchi-{id};regint=60;answermode=auto;audio_codecs=PCMU,PCMA", sw.sip),
            tone,
            commands: vec![],
            quit_after: Some(quit_after),
        },
    )
}

/// A baresip citizen dialling `number` on the carrier trunk (no registration: the trunk is
/// trusted by listener and source), playing `tone`, hanging up after `secs`.
pub fn baresip_caller(
    sw: &Switch,
    name: &str,
    number: &str,
    tone: &Path,
    secs: u64,
    codec: &str,
) -> Baresip {
    Baresip::start(
        &sw.dir,
        BaresipOpts {
            name,
            account: format!("<sip:0312345678@127.0.0.1>;regint=0;audio_codecs={codec}"),
            tone,
            commands: vec![format!("/dial sip:{number}@{}", sw.trunk)],
            quit_after: Some(secs),
        },
    )
}
