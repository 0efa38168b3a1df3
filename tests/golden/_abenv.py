"""Shared helpers for generate.py / check.py (Autobahn|Python golden vectors).

Run with the Crossbar/Autobahn venv python:
    $XBAR_VENV/bin/python tests/golden/generate.py
(XBAR_VENV defaults to ~/.cache/wamp-interop/xbar)
"""

import base64
import importlib.metadata
import os
import sys
import tempfile

# ujson would make autobahn drop the WAMP binary convention -> refuse.
if "AUTOBAHN_USE_UJSON" in os.environ or "AUTOBAHN_USE_UMSGPACK" in os.environ:
    sys.exit("unset AUTOBAHN_USE_UJSON / AUTOBAHN_USE_UMSGPACK: the vectors must "
             "be made with autobahn's default stdlib-json / msgpack backends")

missing = []
for mod in ("msgpack", "cbor2"):
    try:
        __import__(mod)
    except ImportError:
        missing.append(mod)
if missing:
    sys.exit(f"missing python packages in {sys.prefix}: {', '.join(missing)} "
             f"(autobahn needs them for its MsgPack/CBOR serializers; install "
             f"them into that venv yourself, this script will not)")


import txaio  # noqa: E402

txaio.use_asyncio()  # Serializer.__init__ needs a txaio framework for time_ns()


def _quiet_import():
    """autobahn.wamp.serializer imports the optional `bjdata` (UBJSON) package,
    which in this venv prints a NumPy-ABI traceback on stderr even though the
    import goes on. Swallow that noise; re-emit it if the import really fails."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            import autobahn  # noqa: F401
            from autobahn.wamp import message, role, serializer  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            tmp.seek(0)
            sys.stderr.write(tmp.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


_quiet_import()

import autobahn  # noqa: E402
from autobahn.wamp import message, role, serializer  # noqa: E402,F401

for name in ("JsonSerializer", "MsgPackSerializer", "CBORSerializer"):
    if not hasattr(serializer, name):
        sys.exit(f"autobahn.wamp.serializer has no {name} (backend library missing?)")

# (manifest key, serializer class, is_binary)
SERIALIZERS = [
    ("json", serializer.JsonSerializer, False),
    ("msgpack", serializer.MsgPackSerializer, True),
    ("cbor", serializer.CBORSerializer, True),
]


def versions():
    out = {"autobahn": autobahn.__version__, "python": sys.version.split()[0]}
    for dist in ("msgpack", "cbor2"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "?"
    out["msgpack_backend"] = serializer.MsgPackObjectSerializer.MSGPACK_MODULE.__name__
    out["cbor_backend"] = serializer.CBORObjectSerializer.CBOR_MODULE.__name__
    out["json_backend"] = serializer.JsonObjectSerializer.JSON_MODULE.__name__
    return out


# --- WAMP JSON binary convention: bytes <-> "\u0000" + base64 (std alphabet, padded)

def to_json_form(obj):
    """marshal() output -> plain JSON-able value (bytes -> "\\x00"+base64)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return "\x00" + base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, (list, tuple)):
        return [to_json_form(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_json_form(v) for k, v in obj.items()}
    return obj


def from_json_form(obj):
    """manifest "message" -> python value with real bytes (strict base64)."""
    if isinstance(obj, str):
        if obj.startswith("\x00"):
            return base64.b64decode(obj[1:].encode("ascii"), validate=True)
        return obj
    if isinstance(obj, list):
        return [from_json_form(x) for x in obj]
    if isinstance(obj, dict):
        return {k: from_json_form(v) for k, v in obj.items()}
    return obj
