#!/usr/bin/env python3
"""A softphone's busy-lamp keys on PJSIP's Python bindings (pjsua2), for madoguchi's
presence test: registers as an operator, subscribes to the presence (RFC 3856) of the
buddies given, and prints each state it is told, one JSON object per line:

  {"event":"registered","code":200}
  {"event":"buddy","uri":"sip:1002@…","status":"ONLINE","activity":"BUSY",
   "note":"通話中","sub":"ACTIVE"}
  {"event":"exit"}

Exits by itself after --exit-after seconds. PJSIP's log goes to standard error.
Shutdown as /work/shared/TESTING.md says: libDestroy, then os._exit.
"""

import argparse
import json
import os
import sys
import time

_EVENTS = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)

import pjsua2 as pj  # noqa: E402  (after the fd juggling on purpose)

STATUS = {
    pj.PJSUA_BUDDY_STATUS_UNKNOWN: "UNKNOWN",
    pj.PJSUA_BUDDY_STATUS_ONLINE: "ONLINE",
    pj.PJSUA_BUDDY_STATUS_OFFLINE: "OFFLINE",
}
ACTIVITY = {
    pj.PJRPID_ACTIVITY_UNKNOWN: "UNKNOWN",
    pj.PJRPID_ACTIVITY_AWAY: "AWAY",
    pj.PJRPID_ACTIVITY_BUSY: "BUSY",
}
T0 = time.monotonic()


def emit(event, **kw):
    kw = {"event": event, "t": round(time.monotonic() - T0, 3), **kw}
    _EVENTS.write(json.dumps(kw, ensure_ascii=False) + "\n")
    _EVENTS.flush()


class Account(pj.Account):
    def onRegState(self, prm):
        emit("registered" if prm.code == 200 else "registration", code=prm.code)


class Buddy(pj.Buddy):
    def report(self):
        bi = self.getInfo()
        ps = bi.presStatus
        emit("buddy", uri=bi.uri, status=STATUS.get(ps.status, str(ps.status)),
             activity=ACTIVITY.get(ps.activity, str(ps.activity)), note=ps.note,
             text=ps.statusText, sub=bi.subStateName, term=bi.subTermCode)

    def onBuddyState(self):
        self.report()

    def onBuddyEvSubState(self, prm):
        self.report()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--registrar", required=True, help="sip:127.0.0.1:PORT")
    p.add_argument("--buddy", action="append", default=[], help="sip:1002@127.0.0.1:PORT")
    p.add_argument("--sip-port", type=int, required=True)
    p.add_argument("--exit-after", type=float, default=60)
    a = p.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    epc = pj.EpConfig()
    epc.uaConfig.threadCnt = 0
    epc.uaConfig.mainThreadOnly = True
    epc.logConfig.level = 5
    epc.logConfig.consoleLevel = 5
    epc.logConfig.msgLogging = True
    ep.libInit(epc)
    tc = pj.TransportConfig()
    tc.port = a.sip_port
    tc.boundAddress = "127.0.0.1"
    tc.publicAddress = "127.0.0.1"
    tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
    ep.libStart()
    ep.audDevManager().setNullDev()

    host = a.registrar.split(":", 1)[1]
    acfg = pj.AccountConfig()
    acfg.idUri = "sip:%s@%s" % (a.user, host)
    acfg.regConfig.registrarUri = a.registrar
    acfg.regConfig.timeoutSec = 300
    acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", a.user, 0, a.password))
    acfg.sipConfig.transportId = tid
    acfg.natConfig.contactRewriteUse = 0
    acfg.natConfig.viaRewriteUse = 0
    acfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
    acc = Account()
    acc.create(acfg)

    # Subscribe once registered, as a phone does after start-up.
    while time.monotonic() - T0 < 15:
        ep.libHandleEvents(20)
        if acc.getInfo().regStatus == 200:
            break
    buddies = []
    for uri in a.buddy:
        bc = pj.BuddyConfig()
        bc.uri = uri
        bc.subscribe = True
        b = Buddy()
        b.create(acc, bc)
        buddies.append(b)   # kept alive until exit
        emit("subscribing", uri=uri)

    deadline = T0 + a.exit_after
    while time.monotonic() < deadline:
        ep.libHandleEvents(20)
    emit("exit")
    try:
        ep.libDestroy()
    except Exception:
        pass
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # noqa: BLE001 — a test agent must always end, and say why
        try:
            emit("fatal", error=repr(e))
        finally:
            os._exit(2)
