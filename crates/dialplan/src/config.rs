//! The configuration model: one type per table of `dialplans/default.toml`.
//!
//! Unknown keys are refused (`deny_unknown_fields`) so that a typo is an error at start,
//! not a setting silently ignored. Cross-references (a queue's agents, a number's
//! queue, …) are checked by `validate` after parsing.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::config_cluster::Cluster;
pub use crate::config_dialing::{Dialing, Fax, OfficeDays};
use crate::values::{Cidr, ClockTime, Codec, MonthDay, Strategy, TrunkKind};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub switch: Switch,
    pub sip: Sip,
    pub http: Http,
    pub media: Media,
    #[serde(rename = "trunk", default)]
    pub trunks: Vec<Trunk>,
    #[serde(rename = "number", default)]
    pub numbers: Vec<Number>,
    #[serde(rename = "queue", default)]
    pub queues: Vec<Queue>,
    #[serde(rename = "agent", default)]
    pub agents: Vec<Agent>,
    pub hours: Hours,
    #[serde(rename = "department", default)]
    pub departments: Vec<Department>,
    /// City staff dialling "9" from an extension (spec 第2-7 ⑵ キ); optional.
    #[serde(default)]
    pub staff_line: Option<StaffLine>,
    /// Call recording (spec 第2-7 ⑶ イ, 第3-1 ⑹).
    #[serde(default)]
    pub recording: Recording,
    /// Supervisors who may search, play and delete recordings on the web. None
    /// configured: one `supervisor` account is created with a random password written
    /// to `data_dir/supervisor-password.txt`.
    #[serde(rename = "supervisor", default)]
    pub supervisors: Vec<Supervisor>,
    /// What operators may dial, callback numbers, pause reasons (`config_dialing`).
    #[serde(default)]
    pub dialing: Dialing,
    /// The FAX number, received 24 h (第2-7 ⑴ イ, 第3-1 ⑵ ウ); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<Fax>,
    /// One node of several behind a front proxy (`[cluster]`); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
}

/// `[recording]`: every call is recorded; kept `retention_days`, deleted after approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Below this much free disk space new calls are not recorded (an alarm is raised).
    #[serde(default = "default_min_free_mb")]
    pub min_free_mb: u64,
    /// Threads for the recordings' file work (creating each file, writing its audio,
    /// the fsyncs, the final hash). Calls never wait for them; when the disk is slow the
    /// work queues in front of them and the audio waits in memory. More let fsyncs
    /// overlap on a disk with many queues; fewer keep threads from spinning on the day
    /// folder's lock while they create files in it (benches/README.md). 1–64.
    #[serde(default = "default_disk_threads")]
    pub disk_threads: usize,
}

impl Default for Recording {
    fn default() -> Self {
        Recording {
            retention_days: default_retention_days(),
            min_free_mb: default_min_free_mb(),
            disk_threads: default_disk_threads(),
        }
    }
}

fn default_disk_threads() -> usize {
    8
}

fn default_retention_days() -> u32 {
    92
}

fn default_min_free_mb() -> u64 {
    1024
}

/// `[[supervisor]]`: a web login for the recordings (argon2 PHC hash, from
/// `madoguchi hash-password`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Supervisor {
    pub user: String,
    pub password_hash: String,
}

/// `[switch]`: where the program keeps its files, and its overall limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub data_dir: PathBuf,
    pub recordings_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// Beyond this many calls, new INVITEs get 503 with Retry-After.
    pub max_calls: u32,
    /// Admission control: while the SIP core is this late (its backlog times the
    /// time it takes per message), new INVITEs get 503 with Retry-After at once, so
    /// that the calls already accepted keep their pace. Well under T1 (500 ms): a
    /// caller then never has to retransmit its INVITE for lack of an answer.
    #[serde(default = "default_max_queue_delay_ms")]
    pub max_queue_delay_ms: u32,
}

fn default_max_queue_delay_ms() -> u32 {
    100
}

/// `[sip]`: where operators' softphones register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sip {
    pub listen: Vec<SocketAddr>,
    /// The realm of digest authentication.
    pub domain: String,
    pub max_message_bytes: usize,
    /// SIP over TLS for operators' phones elsewhere (RFC 3261 §26.2, `sips:` and
    /// `;transport=tls`); none = no TLS listener.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_listen: Vec<SocketAddr>,
    /// The TLS certificate chain and key (PEM). Without them a self-signed certificate
    /// is generated into `data_dir/tls/` at first start (key 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Media of calls whose SIP runs over TLS: SRTP keyed in the SDP (RFC 4568 SDES).
    #[serde(default, skip_serializing_if = "TlsSrtp::is_default")]
    pub tls_srtp: TlsSrtp,
}

/// `[sip] tls_srtp`: like Asterisk's `media_encryption=sdes`. SIP over plain UDP/TCP
/// never carries keys (they would travel in clear), whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsSrtp {
    /// Offer RTP/SAVP with a key; refuse plain RTP offers (488).
    #[default]
    Mandatory,
    /// Offer RTP/AVP with a key (best effort: a phone without SRTP ignores it and
    /// answers plain); accept either.
    Optional,
    /// Plain RTP on TLS legs too.
    Off,
}

impl TlsSrtp {
    fn is_default(&self) -> bool {
        *self == TlsSrtp::default()
    }
}

/// `[http]`: the API, /metrics and web pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    pub listen: SocketAddr,
    /// HTTPS on the ops port, with the switch's certificate (`[sip] tls_cert`/`tls_key`,
    /// or the self-signed one generated into `data_dir/tls/`). Off: plain HTTP, for
    /// loopback or behind a TLS front proxy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
}

/// `[media]`: RTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// The address written in our SDP (c=).
    pub address: IpAddr,
    pub rtp_ports: PortRange,
    pub codecs: Vec<Codec>,
}

/// `rtp_ports = [FIRST, LAST]`: RTP on even ports, RTCP on the odd port above each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(u16, u16)", into = "(u16, u16)")]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl From<(u16, u16)> for PortRange {
    fn from((first, last): (u16, u16)) -> Self {
        PortRange { first, last }
    }
}

impl From<PortRange> for (u16, u16) {
    fn from(r: PortRange) -> Self {
        (r.first, r.last)
    }
}

impl PortRange {
    /// How many RTP/RTCP pairs fit, i.e. how many media streams at once.
    pub fn pairs(self) -> u32 {
        if self.last <= self.first {
            return 0;
        }
        // Each pair is an even port and the odd one above it, both within the range.
        (u32::from(self.last) - u32::from(self.first)).div_ceil(2)
    }
}

/// `[[trunk]]`: a SIP peer known by listener and source address, never by a header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trunk {
    pub name: String,
    pub kind: TrunkKind,
    pub listen: SocketAddr,
    /// Source addresses accepted on `listen`.
    pub peers: Vec<Cidr>,
    /// Where we send calls we place on this trunk.
    pub proxy: SocketAddr,
    /// Simultaneous calls the trunk carries (48 for the two PRI spans, 第2-7 ⑴ エ).
    pub channels: u32,
    /// Channels kept free for operators' transfers (第2-7 ⑴ オ).
    #[serde(default)]
    pub reserve_for_transfers: u32,
}

/// `[[number]]`: a number citizens dial, shown to the operator (第2-7 ⑴ ア).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Number {
    /// National form, e.g. "0246221111" (separators and E.164 are accepted in the file).
    pub number: String,
    /// What the operator sees, e.g. "小名浜支所".
    pub name: String,
    pub queue: String,
    /// Set when this is a department's own number (ダイヤルイン) that the carrier
    /// forwards to the center (第2-7 ⑴ カ): the `[[department]]` it belongs to, so the
    /// operator sees whose number the citizen dialled. Diverted calls are matched by
    /// their original number (Diversion / History-Info, `lookup::original_dialled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Ask the citizen to rate the call 1–5 when the operator hangs up first (the
    /// satisfaction survey, spec 第1-8 ⑸). Off unless said.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub survey: bool,
}

/// `[[queue]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub name: String,
    pub strategy: Strategy,
    /// Agent ids, each defined by an `[[agent]]`.
    pub agents: Vec<String>,
    pub ring_timeout_secs: u32,
    pub wrapup_secs: u32,
    /// Prompts (file names under the prompts folder, without `.wav`) played in order when
    /// a caller reaches the queue. The caller is answered first, so the announcements are
    /// part of the recorded call. Empty: the caller hears ringing until an operator answers.
    #[serde(default = "default_greeting")]
    pub greeting: Vec<String>,
    /// Play the please-wait message with position and expected wait this often; 0 = never.
    #[serde(default = "default_announce_every")]
    pub announce_every_secs: u32,
    /// Music on hold between announcements (a prompt name); empty for silence.
    #[serde(default = "default_hold_music")]
    pub hold_music: String,
    /// Pause an operator who let a call ring out, so the next caller is not offered to
    /// an empty seat (Asterisk's autopause).
    #[serde(default)]
    pub pause_on_no_answer: bool,
    /// A caller who waited this long leaves the queue by `overflow`; 0 = no limit.
    #[serde(default)]
    pub max_wait_secs: u32,
    /// With this many in line, a new caller goes by `overflow` at once; 0 = no limit.
    #[serde(default)]
    pub max_len: u32,
    /// Where overflowing callers go: "after-hours" (the message, then the guard room),
    /// "callback" (offer to be called back), or "queue:NAME" (another queue, keeping
    /// their place in time). Required when a limit is set.
    #[serde(default)]
    pub overflow: Option<String>,
}

fn default_greeting() -> Vec<String> {
    vec!["greeting".into(), "recording-notice".into()]
}

fn default_announce_every() -> u32 {
    30
}

fn default_hold_music() -> String {
    "hold-music".into()
}

/// `[[agent]]`: an operator; `id` is the SIP user name of the softphone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    pub id: String,
    pub name: String,
    /// Digest password. Missing or empty: `serve` generates a random one at first start
    /// into `data_dir/agent-passwords.txt` (see `passwords`) and fills it in here.
    #[serde(default)]
    pub password: String,
    /// May place calls to outside numbers over the carrier (toll fraud: off unless said).
    #[serde(default)]
    pub outside_calls: bool,
    /// A supervisor (SV): may listen to, whisper to or barge in on operators' calls with
    /// `*31`/`*32`/`*33` + the operator's id (spec 第2-7 ⑵ ウ). Off unless said.
    #[serde(default)]
    pub supervisor: bool,
}

/// `[hours]`: the opening hours of spec §2 (第1-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// Minutes east of UTC (540 = JST; Japan has no daylight saving time).
    pub timezone_offset_minutes: i32,
    /// Monday to Friday, unless a national holiday.
    pub weekday: DailyHours,
    pub weekend_and_holidays: DailyHours,
    /// Days closed every year (29 December – 3 January).
    #[serde(default)]
    pub closed_dates: Vec<MonthDay>,
    /// The `[[department]]` that takes calls outside hours (the guard room, 第2-7 ⑵ ク).
    pub after_hours_target: String,
}

/// `["08:30", "19:00"]`: open from the first time until (not including) the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(ClockTime, ClockTime)", into = "(ClockTime, ClockTime)")]
pub struct DailyHours {
    pub open: ClockTime,
    pub close: ClockTime,
}

impl From<(ClockTime, ClockTime)> for DailyHours {
    fn from((open, close): (ClockTime, ClockTime)) -> Self {
        DailyHours { open, close }
    }
}

impl From<DailyHours> for (ClockTime, ClockTime) {
    fn from(h: DailyHours) -> Self {
        (h.open, h.close)
    }
}

/// `[[department]]`: a place operators transfer to, reached over a trunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub name: String,
    /// What people see, e.g. "本庁舎警備室".
    pub label: String,
    /// Extension (or outside number) dialled on `trunk`.
    pub extension: String,
    pub trunk: String,
    /// The department's own outside number (ダイヤルイン), e.g. "0246-22-7101", as
    /// written: read to a caller when the department is closed (第3-1 ⑵ イ); an operator
    /// dialling it reaches the extension over the PBX instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_number: Option<String>,
    /// Office hours, e.g. ["08:30", "17:15"]; absent: all day (the guard room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<DailyHours>,
    /// The days `hours` apply on: "office" (default with hours: weekdays that are not
    /// holidays nor `[hours] closed_dates`) or "every-day" (default without hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<OfficeDays>,
}

/// `[staff_line]`: the short code city staff dial from any extension to reach the
/// center (spec 第2-7 ⑵ キ: today "9" reaches the switchboard, after hours the guard room).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffLine {
    /// Digits dialled on the pbx trunk, e.g. "9".
    pub code: String,
    /// What the operator sees, e.g. "職員連絡用".
    pub name: String,
    pub queue: String,
    /// Queue priority of these calls; citizens' calls have 0, larger is answered first.
    #[serde(default)]
    pub priority: u8,
}

impl Config {
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }

    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }

    pub fn department(&self, name: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::PortRange;

    #[test]
    fn port_pairs_need_both_ports_in_range() {
        assert_eq!(
            PortRange {
                first: 20000,
                last: 29999
            }
            .pairs(),
            5000
        );
        assert_eq!(
            PortRange {
                first: 20000,
                last: 29998
            }
            .pairs(),
            4999
        );
        assert_eq!(
            PortRange {
                first: 20000,
                last: 20001
            }
            .pairs(),
            1
        );
        assert_eq!(
            PortRange {
                first: 20000,
                last: 20000
            }
            .pairs(),
            0
        );
    }
}
