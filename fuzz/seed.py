#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, deterministically, from the golden
vectors (tests/golden/autobahn_vectors.json: every message in JSON, MessagePack and CBOR
as Autobahn|Python writes them).

Usage: fuzz/seed.py TARGET DIR  -- writes TARGET's seeds into DIR (created if missing).

The structured targets (router, client) take no seeds: their inputs are `arbitrary`
scripts, which libFuzzer finds from scratch quickly.
"""

import hashlib
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERIALIZERS = ["json", "msgpack", "cbor"]  # the order of wamp::Serializer::ALL
RAWSOCKET_IDS = {"json": 1, "msgpack": 2, "cbor": 3}


def vectors():
    with open(os.path.join(ROOT, "tests", "golden", "autobahn_vectors.json")) as f:
        return json.load(f)


def frames(ser):
    return [bytes.fromhex(v[ser]) for v in vectors() if v.get(ser)]


# Minimal MessagePack and CBOR writers for the typed payload seeds (the golden vectors
# have no payloads shaped like the target's structs).
def msgpack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if v < 0 and v >= -32:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v) if v < 0 else b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(msgpack(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(msgpack(k) + msgpack(x) for k, x in v.items())
    raise TypeError(v)


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    return bytes([major << 5 | 27]) + struct.pack(">Q", n)


def cbor(v):
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return cbor_head(3, len(b)) + b
    if isinstance(v, bytes):
        return cbor_head(2, len(v)) + v
    if isinstance(v, list):
        return cbor_head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return cbor_head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)


def encode(ser, v):
    if ser == "json":
        # Binary in WAMP's JSON convention: NUL + base64.
        def conv(x):
            if isinstance(x, bytes):
                import base64

                return "\0" + base64.b64encode(x).decode()
            if isinstance(x, list):
                return [conv(y) for y in x]
            if isinstance(x, dict):
                return {k: conv(y) for k, y in x.items()}
            return x

        return json.dumps(conv(v), separators=(",", ":")).encode()
    return msgpack(v) if ser == "msgpack" else cbor(v)


TYPED_ARGS = [
    [3],
    [-7, "name", [{"x": 1.5, "y": 2.0}], True, 255, b"\x00\x01\x02"],
    [1, None, [], False, 0, None, "extra", 4],
    [2.5],
    ["not a number"],
]
TYPED_KWARGS = [
    {},
    {"user-name": "alice"},
    {"user-name": "bob", "tags": {"a": 1, "b": -2}, "shape": {"kind": "circle", "center": {"x": 0, "y": 1}, "r": 2.5},
     "limit": 3, "scores": [1.0, None, 2], "big": 12345678901234567890},
    {"user-name": "c", "shape": {"kind": "rect", "w": 3, "h": 4}, "nested": {"user-name": "d", "shape": {"kind": "empty"}}},
    {"user-name": 5},
]


def seeds(target):
    """(name, bytes) pairs."""
    if target == "decode_message":
        for i, ser in enumerate(SERIALIZERS):
            for f in frames(ser):
                yield bytes([i]) + f
    elif target == "convert":
        for i, ser in enumerate(SERIALIZERS):
            for to in range(3):
                for f in frames(ser):
                    yield bytes([i + 3 * to]) + f
    elif target == "typed_payload":
        for i, ser in enumerate(SERIALIZERS):
            for a in TYPED_ARGS:
                for k in TYPED_KWARGS:
                    args, kwargs = encode(ser, a), (encode(ser, k) if k else b"")
                    if len(args) > 255:
                        continue
                    yield bytes([i, len(args)]) + args + kwargs
    elif target == "rawsocket":
        for i, ser in enumerate(SERIALIZERS):
            fs = frames(ser)
            handshake = bytes([0x7F, 0xF0 | RAWSOCKET_IDS[ser], 0, 0])
            body = b"".join(b"\x00" + struct.pack(">I", len(f))[1:] + f for f in fs[:12])
            ping = b"\x01\x00\x00\x04ping"
            # Router side (bit 0 clear), with and without the small limit and PINGs.
            for flags in (0, 8, 16):
                yield bytes([flags]) + handshake + body + ping
            # Client side: bit 0 set, serializer in bits 1-2; the router's answer first.
            yield bytes([1 | (i << 1)]) + handshake + body
    elif target == "websocket":
        for i, ser in enumerate(SERIALIZERS):
            opcode = 1 if ser == "json" else 2
            out = b""
            for f in frames(ser)[:12]:
                out += ws_frame(opcode, f)
            out += ws_frame(9, b"ping") + ws_frame(8, struct.pack(">H", 1000))
            yield bytes([i + 1]) + out
            yield bytes([i + 1 + 4]) + out
        # The whole request from the fuzzer (selector 0).
        request = (
            "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: wamp.2.cbor, wamp.2.json\r\n\r\n"
        ).encode()
        yield b"\x00" + request + ws_frame(2, frames("cbor")[0])
    else:
        raise SystemExit(f"no seeds for {target}")


def ws_frame(opcode, payload, mask=b"\x01\x02\x03\x04"):
    """One final, masked client frame."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def main():
    target, out = sys.argv[1], sys.argv[2]
    if target in ("router", "client"):
        return
    os.makedirs(out, exist_ok=True)
    for data in seeds(target):
        name = "seed-" + hashlib.sha1(data).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
