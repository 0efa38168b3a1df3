#!/usr/bin/env python3
"""
Autobahn|Python as the other WAMP peer of the Rust client (tests/tests/autobahn_peer.rs).

    peer.py {callee,caller,peer} URL SERIALIZER PREFIX

URL is ws://host:port/path, or tcp://host:port / rs://host:port for RawSocket. SERIALIZER is
json, msgpack or cbor. Every URI used is PREFIX + ".py.*" (ours) or PREFIX + ".rs.*" (the
Rust peer's).

callee  registers PREFIX.py.{echo.LABEL,progress,slow,fail} and subscribes to
        PREFIX.py.topic.LABEL (LABEL: each payload in payloads.json), prints
        {"key": "ready"}, then reports every invocation and event it sees until stdin is
        closed.
caller  calls PREFIX.rs.{echo.LABEL,progress,slow,fail} and publishes to
        PREFIX.rs.topic.LABEL (the Rust peer must have registered and subscribed already),
        reporting each outcome, then prints {"key": "done"}. The slow callee must send one
        progressive result once it runs: the cancel cases wait for it.
peer    both: callee set-up, "ready", the caller cases, "done", then serves until stdin is
        closed.

Output: one JSON object per line on stdout, each with a "key". Values received from the Rust
peer are printed "typed": bytes as {"$bytes": HEX}, so that the Rust side can tell bytes
from strings. The payloads to send come from payloads.json beside this script
({"$bytes": HEX} and {"$bytes_range": N} there mean bytes).

Never hangs: every wait has a timeout, and a watchdog (PEER_LIFETIME seconds, default 90)
ends the process with status 3. Exit status 0 on success; 2 on usage or connection errors.
A failed case is reported on its line ({"key": ..., "error": "..."}), not by the status.
"""
import asyncio
import contextlib
import io
import json
import os
import signal
import sys
import time
import traceback

import txaio

txaio.use_asyncio()
with contextlib.redirect_stderr(io.StringIO()):  # optional serializers may warn at import
    from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
    from autobahn.asyncio.wamp import ApplicationSession
    from autobahn.asyncio.websocket import WampWebSocketClientFactory
    from autobahn.wamp import message
    from autobahn.wamp.exception import ApplicationError
    from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
    from autobahn.wamp.types import (
        CallOptions,
        CallResult,
        ComponentConfig,
        PublishOptions,
        RegisterOptions,
    )

HERE = os.path.dirname(os.path.abspath(__file__))
REALM = os.environ.get("XBAR_REALM", "realm1")
SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}
STEP = 10  # seconds: the limit for any single wait


def out(key, **fields):
    fields["key"] = key
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def typed(v):
    """A received value as JSON, with bytes kept apart from strings."""
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return [typed(x) for x in v]
    if isinstance(v, dict):
        return {k: typed(x) for k, x in v.items()}
    return v


def untyped(v):
    """A payloads.json value as what to send: {"$bytes": ...} and {"$bytes_range": N} to bytes."""
    if isinstance(v, dict):
        if set(v) == {"$bytes"}:
            return bytes.fromhex(v["$bytes"])
        if set(v) == {"$bytes_range"}:
            return bytes(i % 256 for i in range(v["$bytes_range"]))
        return {k: untyped(x) for k, x in v.items()}
    if isinstance(v, list):
        return [untyped(x) for x in v]
    return v


with open(os.path.join(HERE, "payloads.json"), encoding="utf-8") as f:
    PAYLOADS = {name: (untyped(p["args"]), untyped(p["kwargs"])) for name, p in json.load(f).items()}


def split_result(res):
    """A call's result as (args, kwargs), however Autobahn chose to hand it over."""
    if isinstance(res, CallResult):
        return list(res.results), dict(res.kwresults)
    if res is None:
        return [], {}
    return [res], {}


class Session(ApplicationSession):
    def __init__(self):
        super().__init__(ComponentConfig(realm=REALM))
        loop = asyncio.get_running_loop()
        self.joined = loop.create_future()
        self.gone = loop.create_future()

    def onConnect(self):
        self.join(REALM)

    def onUserError(self, fail, msg):
        # Raising ApplicationError and being cancelled are what our handlers are meant to do.
        if isinstance(getattr(fail, "value", None), (ApplicationError, asyncio.CancelledError)):
            return
        super().onUserError(fail, msg)

    def onJoin(self, details):
        if not self.joined.done():
            self.joined.set_result(details)

    def onLeave(self, details):
        if not self.joined.done():
            self.joined.set_exception(Exception(f"ABORT {details.reason} {details.message or ''}"))
        self.disconnect()

    def onDisconnect(self):
        if not self.joined.done():
            self.joined.set_exception(Exception("connection closed before WELCOME"))
        if not self.gone.done():
            self.gone.set_result(True)


async def connect(url, serializer):
    loop = asyncio.get_running_loop()
    session = Session()
    ser = SERIALIZERS[serializer]()
    scheme, rest = url.split("://", 1)
    host, port = rest.split("/", 1)[0].rsplit(":", 1)
    if scheme == "ws":
        factory = WampWebSocketClientFactory(lambda: session, url=url, serializers=[ser])
    elif scheme in ("tcp", "rs"):
        factory = WampRawSocketClientFactory(lambda: session, serializer=ser)
    else:
        raise ValueError(f"unsupported URL scheme {scheme!r} (ws, tcp, rs)")
    transport, _ = await asyncio.wait_for(loop.create_connection(factory, host, int(port)), STEP)
    try:
        await asyncio.wait_for(session.joined, STEP)
    except BaseException:
        transport.abort()
        raise
    return session


async def close(session):
    if session.is_attached():
        session.leave()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(session.gone, 3)


# --- callee and subscriber -------------------------------------------------------------


async def setup_callee(session, prefix):
    p = prefix + ".py."

    def echo(label):
        def handler(*args, **kwargs):
            out("echo:" + label, args=typed(args), kwargs=typed(kwargs),
                types=[type(a).__name__ for a in args])
            return CallResult(*args, **kwargs)
        return handler

    async def progress(n, details=None):
        wanted = details.progress is not None
        out(f"progress:{n}", wanted=wanted)
        if wanted:
            for i in range(n):
                details.progress(i, "step ü", i=i)
                await asyncio.sleep(0.01)
        return CallResult("done", n, total=n)

    async def slow(tag):
        out("slow_started:" + tag)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            out("slow_cancelled:" + tag)
            raise
        out("slow_finished:" + tag)
        return "finished"

    def fail():
        raise ApplicationError("com.example.err", "a", 1, code=17)

    def on_event(label):
        def handler(*args, **kwargs):
            out("event:" + label, args=typed(args), kwargs=typed(kwargs))
        return handler

    with_details = RegisterOptions(details=True)
    await asyncio.wait_for(asyncio.gather(
        *[session.register(echo(label), p + "echo." + label) for label in PAYLOADS],
        *[session.subscribe(on_event(label), p + "topic." + label) for label in PAYLOADS],
        session.register(progress, p + "progress", options=with_details),
        session.register(slow, p + "slow"),
        session.register(fail, p + "fail"),
    ), STEP)


async def wait_for_stdin_eof(limit):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await asyncio.wait_for(reader.read(), limit)


# --- caller and publisher --------------------------------------------------------------


async def case(key, coro):
    """Runs one caller case; its failure is reported on its line, not raised."""
    try:
        fields = await coro
        out(key, **fields)
    except BaseException as e:  # noqa: BLE001 (CancelledError included: report it)
        out(key, error=f"{type(e).__name__}: {e}", trace=traceback.format_exc())


def call_with_id(session, procedure, *args, **kwargs):
    """Starts a call; returns its future and its request ID (to CANCEL it by hand)."""
    before = set(session._call_reqs)
    fut = session.call(procedure, *args, **kwargs)
    new = set(session._call_reqs) - before
    if len(new) != 1:
        raise RuntimeError(f"cannot tell the request ID of the call to {procedure}")
    return fut, new.pop()


async def run_caller(session, prefix):
    r = prefix + ".rs."

    async def echo(label):
        args, kwargs = PAYLOADS[label]
        res = await asyncio.wait_for(session.call(r + "echo." + label, *args, **kwargs), STEP)
        args, kwargs = split_result(res)
        return {"args": typed(args), "kwargs": typed(kwargs)}

    async def progress():
        seen = []
        res = await asyncio.wait_for(session.call(
            r + "progress", 3,
            options=CallOptions(on_progress=lambda *a, **kw: seen.append({"args": typed(a), "kwargs": typed(kw)})),
        ), STEP)
        args, kwargs = split_result(res)
        return {"progress": seen, "args": typed(args), "kwargs": typed(kwargs)}

    async def no_progress():
        res = await asyncio.wait_for(session.call(r + "progress", 2), STEP)
        args, kwargs = split_result(res)
        return {"args": typed(args), "kwargs": typed(kwargs)}

    async def fail():
        try:
            res = await asyncio.wait_for(session.call(r + "fail"), STEP)
        except ApplicationError as e:
            return {"error": None, "uri": e.error, "args": typed(list(e.args)), "kwargs": typed(e.kwargs)}
        return {"error": f"the call succeeded with {typed(split_result(res))}"}

    def started_signal():
        """CallOptions whose on_progress resolves a future: the Rust slow callee sends one
        progressive result once its handler runs, so that we cancel a running handler, not an
        invocation still on its way."""
        started = asyncio.get_running_loop().create_future()

        def on_progress(*args, **kwargs):
            if not started.done():
                started.set_result(time.monotonic())
        return started, CallOptions(on_progress=on_progress)

    async def cancel_future():
        # Autobahn's own way: cancelling the call's future sends CANCEL (no mode given).
        started, options = started_signal()
        t0 = time.monotonic()
        fut = session.call(r + "slow", "future", options=options)
        await asyncio.wait_for(asyncio.shield(started), STEP)
        fut.cancel()
        try:
            res = await asyncio.wait_for(fut, STEP)
        except asyncio.CancelledError:
            return {"error": None, "outcome": "CancelledError", "started_after": started.result() - t0}
        return {"error": f"the canceled call returned {typed(split_result(res))}"}

    async def cancel_mode(mode):
        # CANCEL with an explicit mode, keeping the future to receive the dealer's ERROR.
        started, options = started_signal()
        t0 = time.monotonic()
        fut, request = call_with_id(session, r + "slow", mode, options=options)
        await asyncio.wait_for(asyncio.shield(started), STEP)
        session._transport.send(message.Cancel(request, mode=mode))
        try:
            res = await asyncio.wait_for(fut, STEP)
        except ApplicationError as e:
            return {"error": None, "uri": e.error, "args": typed(list(e.args)),
                    "started_after": started.result() - t0}
        return {"error": f"the canceled call returned {typed(split_result(res))}"}

    async def cancel_timeout():
        # The dealer's own call timeout. Crossbar reads CALL.Options.timeout in seconds and
        # rounds the deadline down to a whole second: 2 fires after 1 to 2 s (1 could fire
        # before the callee even started).
        try:
            res = await asyncio.wait_for(
                session.call(r + "slow", "timeout", options=CallOptions(timeout=2)), STEP)
        except ApplicationError as e:
            return {"error": None, "uri": e.error, "args": typed(list(e.args))}
        return {"error": f"the call returned {typed(split_result(res))}"}

    async def publish():
        ack = PublishOptions(acknowledge=True)
        for label in PAYLOADS:
            args, kwargs = PAYLOADS[label]
            await asyncio.wait_for(
                session.publish(r + "topic." + label, *args, options=ack, **kwargs), STEP)
        return {"error": None}

    await asyncio.gather(
        *[case("rpc:" + label, echo(label)) for label in PAYLOADS],
        case("rpc:progress", progress()),
        case("rpc:no-progress", no_progress()),
        case("rpc:fail", fail()),
        case("cancel:future", cancel_future()),
        case("cancel:kill", cancel_mode("kill")),
        case("cancel:killnowait", cancel_mode("killnowait")),
        case("cancel:timeout", cancel_timeout()),
        case("publish", publish()),
    )
    out("done")


# --- main ------------------------------------------------------------------------------


def watchdog(signum, frame):
    sys.stderr.write(f"peer.py: watchdog: still running after {LIFETIME} s, giving up\n")
    sys.stderr.flush()
    os._exit(3)


LIFETIME = int(os.environ.get("PEER_LIFETIME", "90"))


async def main(mode, url, serializer, prefix):
    txaio.config.loop = asyncio.get_running_loop()
    try:
        session = await connect(url, serializer)
    except BaseException as e:
        sys.stderr.write(f"peer.py: cannot join {REALM} at {url} with {serializer}: {type(e).__name__}: {e}\n")
        return 2
    try:
        if mode in ("callee", "peer"):
            await setup_callee(session, prefix)
        out("ready", session=session._session_id)
        if mode in ("caller", "peer"):
            await run_caller(session, prefix)
        if mode in ("callee", "peer"):
            await wait_for_stdin_eof(LIFETIME)
    except asyncio.TimeoutError:
        sys.stderr.write(f"peer.py: timed out:\n{traceback.format_exc()}\n")
        return 3
    finally:
        await close(session)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("callee", "caller", "peer") or sys.argv[3] not in SERIALIZERS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(LIFETIME + 10)
    sys.exit(asyncio.run(main(*sys.argv[1:])))
