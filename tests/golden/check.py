#!/usr/bin/env python3
"""Check WAMP encodings produced by another implementation against Autobahn|Python.

    $XBAR_VENV/bin/python tests/golden/check.py FILE

FILE: JSON list of {"name", "message", "json"?, "msgpack"?, "cbor"?} where
"message" is the WAMP message in JSON form (bytes as "\\u0000"+base64) and
json/msgpack/cbor are hex of the encodings to check (each optional).

For every (case, encoding) present:
  1. hex-decode; the bytes must decode as exactly one WAMP message with
     autobahn's Serializer.unserialize(payload, is_binary) (which also runs the
     autobahn message class' parse() validation);
  2. raw check: the bytes, decoded by autobahn's object serializer alone (no
     message parsing), must equal "message" exactly;
  3. autobahn check: msg.marshal() of the parsed message must equal "message",
     modulo the normalisations listed below.
Equality is strict: dict key order is ignored, but bool/int/float/str/bytes/None
are never conflated (1 != 1.0 != True), floats compare bit-exactly
(-0.0 != 0.0), and a str starting with U+0000 is NOT equal to bytes (the
"message" side is converted to bytes, the decoded side must really be binary,
except for JSON where autobahn itself maps "\\u0000..." strings to bytes).
For CBOR, trailing bytes after the first item are an error (cbor2.loads would
silently ignore them); msgpack already rejects trailing data.

Allowed normalisations (autobahn check only, nothing else):
  For the app-payload messages ERROR, PUBLISH, EVENT, CALL, RESULT,
  INVOCATION, YIELD -- and only when the element is the last one of the message:
    N1. a trailing empty Arguments|kwargs dict {} may be absent;
    N2. then, a trailing empty Arguments|list [] may be absent
        (so [..., [], {}] == [..., []] == [...]).
  (autobahn's marshal() drops these; [..., [], {"k": 1}] is kept as is.)
Anything else autobahn drops or rewrites is reported as a failure, notably:
unknown options/details (e.g. CALL "disclose_me"), SUBSCRIBE/REGISTER
"match":"exact" and REGISTER "invoke":"single" given explicitly, WELCOME
"resumed"/"resumable" false, GOODBYE "resumable" false, UNSUBSCRIBE /
UNREGISTER trailing {} options.

Output: one line per failed (case, serializer): "FAIL <name> [<serializer>]
<difference>[; <difference>...]" (at most 5 differences per check), then a
final line "N passed, M failed". Exit status 0 iff M == 0.
"""

import io
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _abenv import SERIALIZERS, from_json_form  # noqa: E402
import cbor2  # noqa: E402

# message type -> index of the Arguments|list element
ARGS_INDEX = {8: 5, 16: 4, 36: 4, 48: 4, 50: 3, 68: 4, 70: 3}


def normalise(msg):
    """Apply N1/N2 to a (python-form) WAMP message list; returns a new list."""
    if not isinstance(msg, list) or not msg or type(msg[0]) is not int:
        return msg
    ai = ARGS_INDEX.get(msg[0])
    if ai is None:
        return msg
    msg = list(msg)
    if len(msg) == ai + 2 and isinstance(msg[-1], dict) and not msg[-1]:
        msg.pop()
    if len(msg) == ai + 1 and isinstance(msg[-1], list) and not msg[-1]:
        msg.pop()
    return msg


def tname(v):
    if v is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes",
            list: "list", tuple: "list", dict: "map"}.get(type(v), type(v).__name__)


def show(v, limit=80):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


def diff(exp, got, path="$", out=None, limit=5):
    """Collect up to `limit` differences between expected and got."""
    if out is None:
        out = []
    if len(out) >= limit:
        return out
    te, tg = tname(exp), tname(got)
    if te != tg:
        out.append(f"{path}: expected {te} {show(exp)}, got {tg} {show(got)}")
    elif te == "float":
        same = (math.isnan(exp) and math.isnan(got)) or (
            exp == got and math.copysign(1.0, exp) == math.copysign(1.0, got))
        if not same:
            out.append(f"{path}: expected {exp!r}, got {got!r}")
    elif te == "list":
        if len(exp) != len(got):
            out.append(f"{path}: expected list of length {len(exp)}, got {len(got)}"
                       f" (expected {show(exp)}, got {show(got)})")
        for i, (a, b) in enumerate(zip(exp, got)):
            diff(a, b, f"{path}[{i}]", out, limit)
    elif te == "map":
        for k in exp:
            if k not in got:
                out.append(f"{path}: key {k!r} missing (expected {show(exp[k])})")
        for k in got:
            if k not in exp:
                out.append(f"{path}: unexpected key {k!r} = {show(got[k])}")
        for k in exp:
            if k in got:
                diff(exp[k], got[k], f"{path}[{k!r}]", out, limit)
    elif te in ("null", "bool", "int", "str", "bytes"):
        if exp != got:
            out.append(f"{path}: expected {show(exp)}, got {show(got)}")
    else:
        out.append(f"{path}: unsupported decoded type {te} {show(got)}")
    return out[:limit]


def check_one(name, key, cls, is_binary, hexstr, expected):
    """Return list of failure strings for one (case, encoding)."""
    try:
        payload = bytes.fromhex(hexstr)
    except (TypeError, ValueError) as e:
        return [f"bad hex: {e}"]
    errors = []

    # --- raw decode (autobahn object serializer only)
    objser = cls()._serializer
    try:
        raws = objser.unserialize(payload)
    except Exception as e:
        return [f"cannot decode: {type(e).__name__}: {e}"]
    if len(raws) != 1:
        return [f"decoded {len(raws)} items, expected exactly 1"]
    if key == "cbor":
        dec = cbor2.CBORDecoder(io.BytesIO(payload))
        dec.decode()
        rest = len(payload) - dec.fp.tell()
        if rest:
            errors.append(f"{rest} trailing byte(s) after the CBOR item")
    for d in diff(expected, raws[0]):
        errors.append(f"raw: {d}")

    # --- autobahn WAMP message parse + marshal
    try:
        msgs = cls().unserialize(payload, is_binary)
    except Exception as e:
        errors.append(f"autobahn rejected message: {type(e).__name__}: {e}")
        return errors
    if len(msgs) != 1:
        errors.append(f"autobahn returned {len(msgs)} messages, expected 1")
        return errors
    try:
        got = msgs[0].marshal()
    except Exception as e:
        errors.append(f"autobahn marshal() failed: {type(e).__name__}: {e}")
        return errors
    for d in diff(normalise(expected), normalise(got)):
        errors.append(f"autobahn: {d}")
    return errors


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check.py FILE")
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    if not isinstance(cases, list):
        sys.exit("FILE must contain a JSON list")

    passed = failed = 0
    for i, case in enumerate(cases):
        name = case.get("name", f"#{i}") if isinstance(case, dict) else f"#{i}"
        if not isinstance(case, dict) or "message" not in case:
            print(f"FAIL {name} [-] entry has no \"message\"")
            failed += 1
            continue
        try:
            expected = from_json_form(case["message"])
        except Exception as e:
            print(f"FAIL {name} [-] bad binary string in \"message\": {e}")
            failed += 1
            continue
        present = [s for s in SERIALIZERS if s[0] in case]
        if not present:
            print(f"FAIL {name} [-] no json/msgpack/cbor encoding given")
            failed += 1
            continue
        for key, cls, is_binary in present:
            errs = check_one(name, key, cls, is_binary, case[key], expected)
            if errs:
                failed += 1
                print(f"FAIL {name} [{key}] " + "; ".join(errs))
            else:
                passed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
