#!/usr/bin/env python3
"""
Autobahn|Python implementing and calling the calculator and telemetry contracts
(schemas/calculator.wamp.toml, schemas/telemetry.wamp.toml) BY HAND, as a Python team would
from the contract's documentation: positional args, kwargs, error URIs and payloads, and
progressive results exactly as the contract lays them out. The Rust side uses the code
generated from the same contracts (tests/tests/autobahn_contract.rs).

    contract_peer.py {callee,caller} URL SERIALIZER

callee  registers com.example.calc.{add,divide,sqrt} and subscribes to the telemetry
        pattern, prints {"key": "ready"}, reports every telemetry event it gets, and serves
        until stdin is closed.
caller  calls the Rust callee of the calculator (add, divide with and without precision and
        progress, divide by zero, a wrong argument type, sqrt of a negative number),
        publishes one telemetry event, reports each outcome, then prints {"key": "done"}.

Output: one JSON object per line with a "key"; a failed case has an "error".
"""
import asyncio
import os
import signal
import sys
import traceback

import txaio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer import SERIALIZERS, STEP, close, connect, out, split_result, wait_for_stdin_eof, watchdog  # noqa: E402

from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.types import CallOptions, PublishOptions, RegisterOptions, SubscribeOptions  # noqa: E402

CALC = "com.example.calc."
TELEMETRY = "com.example.telemetry."


async def serve(session):
    def add(a, b):
        return float(a) + float(b)

    async def divide(a, b, precision=6, details=None):
        if b == 0:
            raise ApplicationError(CALC + "error.divide_by_zero", dividend=float(a))
        if details is not None and details.progress:
            for done in (1, 2, 3):
                details.progress(done=done, total=3)
        return round(float(a) / float(b), precision)

    def sqrt(x):
        if x < 0:
            raise ApplicationError(CALC + "error.negative_input", float(x))
        return float(x) ** 0.5

    def on_telemetry(value, ts_ms, unit=None, details=None):
        out("event", topic=details.topic, value=value, ts_ms=ts_ms, unit=unit)

    await asyncio.wait_for(asyncio.gather(
        session.register(add, CALC + "add"),
        session.register(divide, CALC + "divide", options=RegisterOptions(details_arg="details", invoke="roundrobin")),
        session.register(sqrt, CALC + "sqrt"),
        session.subscribe(on_telemetry, TELEMETRY + ".", options=SubscribeOptions(match="wildcard", details_arg="details")),
    ), STEP)


async def case(key, coro):
    try:
        fields = await asyncio.wait_for(coro, STEP)
        out(key, **fields)
    except BaseException as e:  # noqa: BLE001
        out(key, error=f"{type(e).__name__}: {e}", trace=traceback.format_exc())


async def expect_error(coro):
    try:
        await coro
    except ApplicationError as e:
        return {"uri": e.error, "args": list(e.args), "kwargs": dict(e.kwargs)}
    raise AssertionError("no error")


async def call_all(session):
    async def result(*args, **kwargs):
        return dict(zip(("args", "kwargs"), split_result(await session.call(*args, **kwargs))))

    await case("add", result(CALC + "add", 2, 3.5))
    await case("divide", result(CALC + "divide", 10, 4))
    await case("divide-precision", result(CALC + "divide", 1, 3, precision=2))
    await case("divide-extra", result(CALC + "divide", 9, 4, "extra", precision=1, unknown="ignored"))
    await case("divide-zero", expect_error(session.call(CALC + "divide", 7, 0)))
    await case("divide-bad-type", expect_error(session.call(CALC + "divide", "x", 1)))
    await case("sqrt-negative", expect_error(session.call(CALC + "sqrt", -4)))

    progress = []
    opts = CallOptions(on_progress=lambda *a, **kw: progress.append(kw))

    async def progressive():
        final = await session.call(CALC + "divide", 1, 4, options=opts)
        return {"progress": progress, "final": split_result(final)[0]}

    await case("divide-progress", progressive())

    async def publish():
        await session.publish(
            TELEMETRY + "pump-7.temperature", value=21.5, ts_ms=1700000000000, unit="C",
            options=PublishOptions(acknowledge=True, exclude_me=True))
        return {}

    await case("published", publish())


LIFETIME = int(os.environ.get("PEER_LIFETIME", "90"))


async def main(mode, url, serializer):
    txaio.config.loop = asyncio.get_running_loop()
    try:
        session = await connect(url, serializer)
    except BaseException as e:
        sys.stderr.write(f"contract_peer.py: cannot join at {url}: {type(e).__name__}: {e}\n")
        return 2
    try:
        if mode == "callee":
            await serve(session)
            out("ready")
            await wait_for_stdin_eof(LIFETIME)
        else:
            out("ready")
            await call_all(session)
            out("done")
    except asyncio.TimeoutError:
        sys.stderr.write(f"contract_peer.py: timed out:\n{traceback.format_exc()}\n")
        return 3
    finally:
        await close(session)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("callee", "caller") or sys.argv[3] not in SERIALIZERS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(LIFETIME + 10)
    sys.exit(asyncio.run(main(*sys.argv[1:])))
