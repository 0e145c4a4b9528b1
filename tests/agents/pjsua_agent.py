#!/usr/bin/env python3
"""A small SIP agent on PJSIP's Python bindings (pjsua2), for madoguchi's end-to-end tests.

It plays one role for one test and then exits by itself:

  operator: registers with digest auth (UDP or TCP), rings or answers or rejects
            incoming calls, plays a WAV into the call, records what arrives,
            can put the call on hold and resume it, can hang up.
  caller:   no registration (the carrier trunk trusts the listener + source address),
            dials one URI, plays, records, hangs up.
  extension: a city extension behind the PBX trunk: no registration, answers (or
            rejects) what arrives, plays, records.
An operator can also dial (--dial, once registered) and transfer its call blind with
REFER (--xfer-to URI --xfer-after SECONDS), reporting the NOTIFYs it gets. Any role can
press keys during its call (--dtmf 4 --dtmf-after SECONDS, as RFC 4733 events or, with
--dtmf-method info, as SIP INFO).

Output: one JSON object per line on standard output, one line per event, e.g.
  {"event":"registered","code":200,"expiration":300}
  {"event":"incoming","from":"\"市代表\" <sip:+81246221111@…>","headers":{…}}
  {"event":"state","call":0,"state":"CONFIRMED"}
  {"event":"media","call":0,"status":"LOCAL_HOLD","dir":…}
  {"event":"tsx","call":0,"role":"uac","method":"INVITE","code":200,"state":"TERMINATED","sdp_dir":"recvonly"}
  {"event":"disconnected","call":0,"code":200,"reason":"Normal call clearing"}
  {"event":"exit","reason":"exit-after"}
PJSIP's own log (with every SIP message sent and received) goes to standard error.

Shutdown follows /work/shared/TESTING.md: Call objects are never deleted (that can abort
on an assertion); at exit the library is destroyed and the process ends with os._exit.
"""

import argparse
import ctypes
import json
import os
import re
import sys
import time

# Events go to the real standard output; everything the C library prints (its log
# writer uses printf) is sent to standard error instead, so stdout stays pure JSON lines.
_EVENTS = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)
try:
    # C stdio would fully buffer the (now redirected) stdout and os._exit would lose
    # the tail of the SIP trace: make it unbuffered.
    _libc = ctypes.CDLL(None)
    _libc.setvbuf(ctypes.c_void_p.in_dll(_libc, "stdout"), None, 2, 0)  # _IONBF
except Exception:  # not glibc: the trace may just be less complete
    _libc = None

import pjsua2 as pj  # noqa: E402  (after the fd juggling on purpose)

T0 = time.monotonic()


def emit(event, **kw):
    kw = {"event": event, "t": round(time.monotonic() - T0, 3), **kw}
    _EVENTS.write(json.dumps(kw, ensure_ascii=False) + "\n")
    _EVENTS.flush()


def parse_headers(whole_msg):
    """Header fields of a raw SIP message: name -> value (first occurrence, as sent,
    folded lines joined). Compact forms (f, t, v, m, i) are mapped to full names."""
    compact = {"f": "From", "t": "To", "v": "Via", "m": "Contact", "i": "Call-ID",
               "l": "Content-Length", "c": "Content-Type", "k": "Supported"}
    head = re.split(r"\r?\n\r?\n", whole_msg, maxsplit=1)[0]
    lines = re.split(r"\r?\n", head)[1:]
    out = {}
    last = None
    for line in lines:
        if line[:1] in (" ", "\t") and last:
            out[last] += " " + line.strip()
            continue
        if ":" not in line:
            continue
        name, value = line.split(":", 1)
        name = name.strip()
        name = compact.get(name.lower(), name)
        if name not in out:
            out[name] = value.strip()
            last = name
        else:
            last = None
    return out


def sdp_direction(whole_msg):
    """The audio direction attribute of the SDP in a raw message (None: no SDP;
    "sendrecv" when the SDP has no direction attribute, RFC 3264 §5.1)."""
    parts = re.split(r"\r?\n\r?\n", whole_msg, maxsplit=1)
    if len(parts) < 2 or "v=0" not in parts[1]:
        return None
    m = re.findall(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", parts[1], re.M)
    return m[-1] if m else "sendrecv"


MEDIA_STATUS = {
    pj.PJSUA_CALL_MEDIA_NONE: "NONE",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "ACTIVE",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "LOCAL_HOLD",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "REMOTE_HOLD",
    pj.PJSUA_CALL_MEDIA_ERROR: "ERROR",
}
TSX_STATES = {
    pj.PJSIP_TSX_STATE_COMPLETED: "COMPLETED",
    pj.PJSIP_TSX_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_TSX_STATE_TERMINATED: "TERMINATED",
}


class Agent:
    def __init__(self, args):
        self.args = args
        self.calls = []           # every Call object ever made: kept alive, never deleted
        self.player = None
        self.recorder = None      # only the first answered call is recorded
        self.recorded_call = None
        self.ended = 0
        self.timers = []          # (due monotonic time, what, call)
        self.quit_reason = None
        self.dialled = False
        self.acc = None
        self.first_call = None


AG = None


class MyCall(pj.Call):
    def __init__(self, acc, call_id=pj.PJSUA_INVALID_ID):
        pj.Call.__init__(self, acc, call_id)
        self.n = len(AG.calls)
        AG.calls.append(self)
        self.confirmed = False
        self.done = False

    def onCallState(self, prm):
        ci = self.getInfo()
        state = ci.stateText
        emit("state", call=self.n, state=state, code=ci.lastStatusCode)
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.confirmed:
            self.confirmed = True
            now = time.monotonic()
            a = AG.args
            # Timed actions count from the moment the call is up.
            if a.hold_after is not None:
                AG.timers.append((now + a.hold_after, "hold", self))
            if a.unhold_after is not None:
                AG.timers.append((now + a.unhold_after, "unhold", self))
            if a.offerless_reinvite_after is not None:
                AG.timers.append((now + a.offerless_reinvite_after, "offerless", self))
            if a.hangup_after is not None:
                AG.timers.append((now + a.hangup_after, "hangup", self))
            if a.dtmf and a.dtmf_after is not None:
                AG.timers.append((now + a.dtmf_after, "dtmf", self))
            if a.xfer_to and a.xfer_after is not None:
                AG.timers.append((now + a.xfer_after, "xfer", self))
            if a.consult and a.consult_after is not None and AG.first_call is None:
                # Attended transfer, step 1: the citizen's call is up; consult later.
                AG.first_call = self
                AG.timers.append((now + a.consult_after, "consult", self))
            elif a.consult and AG.first_call is not None and self is not AG.first_call:
                # Step 2: the consult call is up; hand the citizen over with Replaces.
                AG.timers.append((now + (a.replaces_after or 2.0), "xfer_replaces", self))
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.done:
            self.done = True
            emit("disconnected", call=self.n, code=ci.lastStatusCode, reason=ci.lastReason)
            if AG.recorded_call is self and AG.recorder is not None:
                # Destroying the recorder writes the WAV header's final sizes.
                AG.recorder = None
                emit("recording_closed", call=self.n, path=AG.args.record)
            AG.ended += 1
            if AG.args.exit_after_calls and AG.ended >= AG.args.exit_after_calls:
                AG.timers.append((time.monotonic() + 0.5, "quit", None))

    def onCallMediaState(self, prm):
        ci = self.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            emit("media", call=self.n, status=MEDIA_STATUS.get(mi.status, str(mi.status)), dir=mi.dir)
            if mi.status not in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
                                 pj.PJSUA_CALL_MEDIA_LOCAL_HOLD):
                continue
            am = self.getAudioMedia(i)
            # (Re)connect on every media update: a re-INVITE may recreate the stream.
            if AG.player is not None:
                AG.player.startTransmit(am)
            if AG.args.record and AG.recorded_call in (None, self) and not self.done:
                if AG.recorder is None and AG.recorded_call is None:
                    AG.recorder = pj.AudioMediaRecorder()
                    AG.recorder.createRecorder(AG.args.record)
                    AG.recorded_call = self
                    emit("recording", call=self.n, path=AG.args.record)
                if AG.recorder is not None:
                    am.startTransmit(AG.recorder)

    def onCallTransferStatus(self, prm):
        # RFC 3515 NOTIFY bodies (sipfrag) as PJSIP reports them.
        emit("xfer_status", call=self.n, code=prm.statusCode, reason=prm.reason,
             final=bool(prm.finalNotify))
        if prm.finalNotify and 200 <= prm.statusCode < 300:
            # A transferor's phone leaves once the target answered (RFC 5589 §6).
            AG.timers.append((time.monotonic() + 0.2, "hangup", self))

    def onCallTsxState(self, prm):
        try:
            ev = prm.e
            if ev.type != pj.PJSIP_EVENT_TSX_STATE:
                return
            ts = ev.body.tsxState
            tsx = ts.tsx
            state = TSX_STATES.get(tsx.state)
            if state is None:
                return
            out = {
                "call": self.n,
                "role": "uac" if tsx.role == pj.PJSIP_ROLE_UAC else "uas",
                "method": tsx.method,
                "code": tsx.statusCode,
                "state": state,
            }
            if ts.type == pj.PJSIP_EVENT_RX_MSG:
                msg = ts.src.rdata.wholeMsg
                d = sdp_direction(msg)
                if d is not None:
                    out["sdp_dir"] = d
            emit("tsx", **out)
        except Exception as e:  # never let a trace detail break the call
            emit("error", where="onCallTsxState", error=repr(e))


class MyAccount(pj.Account):
    def onRegState(self, prm):
        name = "registered" if prm.expiration > 0 and prm.code // 100 == 2 else "registration"
        emit(name, code=prm.code, reason=prm.reason, expiration=prm.expiration)
        if name == "registered" and AG.args.dial and not AG.dialled:
            AG.dialled = True
            AG.timers.append((time.monotonic() + 0.3, "dial", None))

    def onIncomingCall(self, prm):
        call = MyCall(self, prm.callId)
        msg = prm.rdata.wholeMsg
        h = parse_headers(msg)
        emit("incoming", call=call.n, src=prm.rdata.srcAddress, headers=h, sdp_dir=sdp_direction(msg),
             **{"from": h.get("From", "")})
        op = pj.CallOpParam(True)
        a = AG.args
        if a.reject:
            op.statusCode = a.reject
            call.answer(op)
        elif a.auto_answer:
            op.statusCode = 200
            call.answer(op)
        else:
            op.statusCode = 180
            call.answer(op)


def run_timers(acc):
    now = time.monotonic()
    due = [t for t in AG.timers if t[0] <= now]
    AG.timers = [t for t in AG.timers if t[0] > now]
    for _, what, call in due:
        try:
            if what == "quit":
                AG.quit_reason = AG.quit_reason or "calls-ended"
            elif what == "dial":
                c = MyCall(acc)
                emit("dialing", call=c.n, uri=AG.args.dial)
                c.makeCall(AG.args.dial, pj.CallOpParam(True))
            elif call is None or call.done:
                continue
            elif what == "hold":
                emit("action", call=call.n, action="hold")
                call.setHold(pj.CallOpParam(True))
            elif what == "unhold":
                emit("action", call=call.n, action="unhold")
                op = pj.CallOpParam(True)
                op.opt.flag = pj.PJSUA_CALL_UNHOLD
                call.reinvite(op)
            elif what == "offerless":
                # A re-INVITE without SDP: the switch must offer in its 2xx and take our
                # answer from the ACK (RFC 3261 §14.2).
                emit("action", call=call.n, action="offerless_reinvite")
                op = pj.CallOpParam(True)
                op.opt.flag = pj.PJSUA_CALL_NO_SDP_OFFER
                call.reinvite(op)
            elif what == "consult":
                c = MyCall(acc)
                emit("dialing", call=c.n, uri=AG.args.consult)
                c.makeCall(AG.args.consult, pj.CallOpParam(True))
            elif what == "xfer_replaces":
                emit("action", call=AG.first_call.n, action="xfer_replaces", consult=call.n)
                AG.first_call.xferReplaces(call, pj.CallOpParam(True))
            elif what == "xfer":
                emit("action", call=call.n, action="xfer", to=AG.args.xfer_to)
                call.xfer(AG.args.xfer_to, pj.CallOpParam(True))
            elif what == "dtmf":
                # RFC 4733 events in the media, or SIP INFO (RFC 6086, dtmf-relay).
                prm = pj.CallSendDtmfParam()
                prm.digits = AG.args.dtmf
                prm.method = (pj.PJSUA_DTMF_METHOD_SIP_INFO if AG.args.dtmf_method == "info"
                              else pj.PJSUA_DTMF_METHOD_RFC2833)
                emit("action", call=call.n, action="dtmf", digits=AG.args.dtmf,
                     method=AG.args.dtmf_method)
                call.sendDtmf(prm)
            elif what == "hangup":
                emit("action", call=call.n, action="hangup")
                call.hangup(pj.CallOpParam(True))
        except pj.Error as e:
            emit("error", where=what, error=e.info())
        except Exception as e:
            emit("error", where=what, error=repr(e))


def main():
    global AG
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--role", choices=["operator", "caller", "extension"], required=True)
    p.add_argument("--registrar", help="sip:HOST:PORT of the switch's agents' listener")
    p.add_argument("--user", default="0312345678")
    p.add_argument("--password")
    p.add_argument("--transport", choices=["udp", "tcp", "tls"], default="udp")
    p.add_argument("--srtp", choices=["disabled", "optional", "mandatory"], default="disabled",
                   help="SRTP with SDES keys (RFC 4568); needs --transport tls")
    p.add_argument("--dial", help="URI a caller dials at start")
    p.add_argument("--play", help="WAV file sent into the call (looped)")
    p.add_argument("--record", help="WAV file of the audio that arrives")
    p.add_argument("--auto-answer", action="store_true")
    p.add_argument("--reject", type=int, help="answer every incoming call with this status")
    p.add_argument("--hangup-after", type=float, help="seconds after the call is up")
    p.add_argument("--hold-after", type=float, help="seconds after the call is up")
    p.add_argument("--unhold-after", type=float, help="seconds after the call is up")
    p.add_argument("--offerless-reinvite-after", type=float,
                   help="seconds after the call is up: a re-INVITE without SDP")
    p.add_argument("--xfer-to", help="URI to transfer the call to (blind REFER)")
    p.add_argument("--xfer-after", type=float, help="seconds after the call is up")
    p.add_argument("--consult", help="attended transfer: URI of the consult call")
    p.add_argument("--consult-after", type=float, help="seconds after the first call is up")
    p.add_argument("--replaces-after", type=float, help="seconds after the consult call is up")
    p.add_argument("--dtmf", help="keys to press once the call is up (see --dtmf-after)")
    p.add_argument("--dtmf-after", type=float, help="seconds after the call is up")
    p.add_argument("--dtmf-method", choices=["rfc2833", "info"], default="rfc2833")
    p.add_argument("--exit-after", type=float, default=30.0, help="hard bound on the run")
    p.add_argument("--exit-after-calls", type=int, default=0,
                   help="exit once this many calls have ended (0: only --exit-after)")
    p.add_argument("--sip-port", type=int, required=True)
    p.add_argument("--rtp-port", type=int, required=True)
    p.add_argument("--log-level", type=int, default=5)
    a = p.parse_args()
    if a.role == "operator" and not (a.registrar and a.password):
        p.error("an operator needs --registrar and --password")
    if a.role == "caller" and not a.dial:
        p.error("a caller needs --dial")
    if a.role == "extension":
        a.dial = None     # an extension only answers
    AG = Agent(a)

    ep = pj.Endpoint()
    ep.libCreate()
    epc = pj.EpConfig()
    # All callbacks on this (the main) thread, from libHandleEvents below: no Python
    # code runs on PJSIP's worker threads.
    epc.uaConfig.threadCnt = 0
    epc.uaConfig.mainThreadOnly = True
    epc.uaConfig.userAgent = "madoguchi-e2e-pjsua2/" + ep.libVersion().full
    epc.logConfig.level = a.log_level
    epc.logConfig.consoleLevel = a.log_level
    epc.logConfig.msgLogging = True
    epc.medConfig.ecTailLen = 0       # no echo canceller: it would only alter test tones
    epc.medConfig.noVad = True
    ep.libInit(epc)

    tc = pj.TransportConfig()
    tc.port = a.sip_port
    tc.boundAddress = "127.0.0.1"
    tc.publicAddress = "127.0.0.1"
    ttype = {"tcp": pj.PJSIP_TRANSPORT_TCP, "tls": pj.PJSIP_TRANSPORT_TLS}.get(
        a.transport, pj.PJSIP_TRANSPORT_UDP)
    tid = ep.transportCreate(ttype, tc)
    ep.libStart()
    ep.audDevManager().setNullDev()

    # G.711 only: the switch offers and answers PCMU/PCMA, so nothing else is useful.
    for c in ep.codecEnum2():
        cid = c.codecId
        ep.codecSetPriority(cid, 0 if not (cid.startswith("PCMU/") or cid.startswith("PCMA/")) else
                            (200 if cid.startswith("PCMU/") else 190))

    acfg = pj.AccountConfig()
    host = "127.0.0.1"
    if a.registrar:
        host = a.registrar.split(":", 1)[1].split(";")[0]   # "127.0.0.1:PORT"
    acfg.idUri = "sip:%s@%s" % (a.user, host)
    if a.role == "operator":
        reg = a.registrar + ("" if a.transport == "udp" else ";transport=" + a.transport)
        acfg.regConfig.registrarUri = reg
        acfg.regConfig.timeoutSec = 300
        acfg.regConfig.retryIntervalSec = 2
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", a.user, 0, a.password))
    acfg.sipConfig.transportId = tid
    # Loopback only: no address rewriting, no ICE/STUN, plain RTP.
    acfg.natConfig.contactRewriteUse = 0
    acfg.natConfig.viaRewriteUse = 0
    acfg.natConfig.sdpNatRewriteUse = 0
    acfg.natConfig.iceEnabled = False
    acfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
    acfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
    acfg.mediaConfig.srtpUse = {
        "optional": pj.PJMEDIA_SRTP_OPTIONAL,
        "mandatory": pj.PJMEDIA_SRTP_MANDATORY,
    }.get(a.srtp, pj.PJMEDIA_SRTP_DISABLED)
    acfg.mediaConfig.transportConfig.port = a.rtp_port
    acfg.mediaConfig.transportConfig.portRange = 16
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
    acc = MyAccount()
    acc.create(acfg)

    if a.play:
        AG.player = pj.AudioMediaPlayer()
        AG.player.createPlayer(a.play)     # loops by default

    # With --sip-port 0 the kernel chose the port: report the one bound, which the
    # harness waits for (no port is probed free beforehand).
    bound = int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
    emit("started", role=a.role, sip_port=bound, transport=a.transport, pid=os.getpid())

    if a.role == "caller":
        call = MyCall(acc)
        emit("dialing", call=call.n, uri=a.dial)
        try:
            call.makeCall(a.dial, pj.CallOpParam(True))
        except pj.Error as e:
            emit("error", where="makeCall", error=e.info())
            AG.quit_reason = "dial-failed"

    deadline = T0 + a.exit_after
    while AG.quit_reason is None:
        if time.monotonic() >= deadline:
            AG.quit_reason = "exit-after"
            break
        ep.libHandleEvents(20)
        run_timers(acc)

    # Orderly end: hang up what is still up (BYE/CANCEL), let those transactions go
    # out, then destroy the library (closes the recorder's WAV, unregisters).
    live = [c for c in AG.calls if not c.done]
    for c in live:
        try:
            c.hangup(pj.CallOpParam(True))
        except Exception:
            pass
    t_end = time.monotonic() + (1.5 if live else 0.2)
    while time.monotonic() < t_end and any(not c.done for c in live):
        ep.libHandleEvents(20)
    AG.recorder = None
    AG.player = None
    emit("exit", reason=AG.quit_reason)
    try:
        ep.libDestroy()
    except Exception:
        pass
    if _libc is not None:
        _libc.fflush(None)
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # noqa: BLE001 — a test agent must always end, and say why
        try:
            emit("fatal", error=repr(e))
        finally:
            os._exit(2)
