#!/usr/bin/env python3
"""Generate tests/golden/autobahn_vectors.json with Autobahn|Python.

    $XBAR_VENV/bin/python tests/golden/generate.py [OUTFILE]

Every case is built with autobahn.wamp.message classes, marshal()ed, and
serialized with autobahn's JsonSerializer / MsgPackSerializer / CBORSerializer.
Output: JSON list of {"name", "message", "json", "msgpack", "cbor"} where
"message" is msg.marshal() with bytes written as "\\u0000"+base64 (WAMP JSON
binary convention) and json/msgpack/cbor are lowercase hex of autobahn's bytes.

Each case is also round-tripped through autobahn (unserialize -> marshal must
give back the same value) so that only forms autobahn itself accepts and
reproduces end up in the file.

Variants deliberately left out (autobahn rejects / drops / mangles them):
  * CALL disclose_me, PUBLISH disclose_me: message.Call/Publish have no such
    option (parse() silently drops unknown options, the ctor has no kwarg).
  * kwargs without args (args=None): marshal() then emits `null` in the args
    slot ([48, id, {}, "proc", null, {...}]); we use args=[] instead.
  * WELCOME with authrole but no authmethod: marshal() emits "authmethod": null
    (it tests `if self.authrole:` before writing authmethod); we always set both.
  * WELCOME resumed/resumable=False, GOODBYE resumable=False: dropped by
    marshal() (truthiness test), so not representable.
  * SUBSCRIBE/REGISTER with explicit match="exact" / invoke="single": marshal()
    omits these defaults; the vectors only contain the omitted form.
  * Empty kwargs {} (with or without args) and empty args []: marshal() drops
    them (trailing); "args+{}" is therefore identical to "args only" and not
    listed separately.
  * Integers outside [-2^63, 2^64-1]: msgpack cannot encode them.
  * IDs > 2^53: autobahn's parse() rejects them (check_or_raise_id).
  * CANCEL mode other than skip/kill/killnowait, INTERRUPT mode other than
    kill/killnowait: rejected by the ctor.
  * ERROR for request types other than SUBSCRIBE, UNSUBSCRIBE, PUBLISH,
    REGISTER, UNREGISTER, CALL, INVOCATION: rejected by parse().
  * Payload-passthru (E2EE "payload" + enc_algo) forms, HELLO resume*,
    REGISTER concurrency/force_reregister, UNSUBSCRIBE/UNREGISTER forward_for:
    autobahn/Crossbar extensions, not generated.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _abenv  # noqa: E402
from _abenv import SERIALIZERS, to_json_form  # noqa: E402
from autobahn.wamp import message as m  # noqa: E402
from autobahn.wamp import role as r  # noqa: E402

ID_MAX = 2**53  # largest WAMP ID
SESSION = 9129137332
TOPIC = "com.myapp.topic1"
PROC = "com.myapp.add2"

ARGS = [1, "two", 3.5, True, None]
KWARGS = {"a": 23, "b": "hello", "c": False}

BIGINTS = [0, 1, -1, 2**31, -(2**31) - 1, 2**53, 2**53 + 1, -(2**53),
           2**63 - 1, -(2**63), 2**63, 2**64 - 1]
BIGINT_KW = {"u64_max": 2**64 - 1, "i64_min": -(2**63), "above_i64": 2**63 + 7,
             "id_max": ID_MAX, "neg": -42}
FLOATS = [0.0, -0.0, 1.0, 1.5, -2.25, 3.141592653589793, 1e300, -1e-300,
          5e-324, 1.7976931348623157e308, 0.1]
FLOAT_KW = {"half": 0.5, "one": 1.0, "int_one": 1, "neg": -7.125}
UNICODE = ["", "héllo wörld", "日本語テキスト", "emoji 🎉🚀", "\u0001\u001f ctrl",
           "quote \" backslash \\ slash /", "\u2028\u2029", "\U0010ffff"]
UNICODE_KW = {"ключ": "значение", "名前": "値", "": "empty key", "e\u0301": "combining"}
NESTED = [[1, [2, [3, [4, []]]]], {"a": {"b": {"c": [1, {"d": None}]}}}, [], {}]
NESTED_KW = {"list": [[], [[]], [{}]], "map": {"x": {"y": {"z": [1, 2, 3]}}},
             "mixed": [{"k": [True, False, None]}, 1.25, "s"]}
BINARY = [b"\x00\x01\x02\x03\xfe\xff", b"", b"hello", b"\x00"]
BINARY_KW = {"blob": b"\xde\xad\xbe\xef", "empty": b"",
             "nested": {"l": [b"\x01", {"b": b"\xff" * 20}]}}
LONG_ARGS = ["x" * 300, list(range(40)), {f"k{i:02d}": i for i in range(20)}]

FF = [{"session": 123, "authid": "bob", "authrole": "user"}]

# Payload variants shared by all app-payload messages: (suffix, args, kwargs)
PAYLOADS = [
    ("args", ARGS, None),
    ("args_kwargs", ARGS, KWARGS),
    ("kwargs_only", [], KWARGS),
    ("bigints", BIGINTS, BIGINT_KW),
    ("floats", FLOATS, FLOAT_KW),
    ("unicode", UNICODE, UNICODE_KW),
    ("nested", NESTED, NESTED_KW),
    ("binary", BINARY, BINARY_KW),
]


def build_cases():
    C = []

    def add(name, fn):
        C.append((name, fn))

    # ---------------- HELLO 1
    add("hello_minimal", lambda: m.Hello(
        "realm1", {"subscriber": r.RoleSubscriberFeatures()}))
    add("hello_all_roles", lambda: m.Hello("realm1", {
        "subscriber": r.RoleSubscriberFeatures(),
        "publisher": r.RolePublisherFeatures(),
        "caller": r.RoleCallerFeatures(),
        "callee": r.RoleCalleeFeatures(),
    }))
    add("hello_roles_features", lambda: m.Hello("com.example.realm", {
        "subscriber": r.RoleSubscriberFeatures(publisher_identification=True,
                                               pattern_based_subscription=True),
        "publisher": r.RolePublisherFeatures(publisher_exclusion=True,
                                             subscriber_blackwhite_listing=True),
        "caller": r.RoleCallerFeatures(progressive_call_results=True,
                                       call_canceling=True, call_timeout=False),
        "callee": r.RoleCalleeFeatures(pattern_based_registration=True,
                                       shared_registration=True,
                                       caller_identification=True),
    }))
    add("hello_auth", lambda: m.Hello(
        "realm1",
        {"caller": r.RoleCallerFeatures(), "callee": r.RoleCalleeFeatures()},
        authmethods=["wampcra", "ticket", "anonymous"],
        authid="joe", authrole="frontend",
        authextra={"pubkey": "a3f0c2", "channel_binding": None, "n": 1,
                   "nested": {"l": [1, "x"]}}))
    add("hello_unicode_authid", lambda: m.Hello(
        "realm1", {"publisher": r.RolePublisherFeatures()},
        authmethods=["ticket"], authid="jöé 日本"))

    # ---------------- WELCOME 2
    add("welcome_minimal", lambda: m.Welcome(
        SESSION, {"broker": r.RoleBrokerFeatures()}))
    add("welcome_session_max", lambda: m.Welcome(
        ID_MAX, {"broker": r.RoleBrokerFeatures(), "dealer": r.RoleDealerFeatures()}))
    add("welcome_roles_features", lambda: m.Welcome(SESSION, {
        "broker": r.RoleBrokerFeatures(publisher_identification=True,
                                       pattern_based_subscription=True,
                                       subscriber_blackwhite_listing=True,
                                       publisher_exclusion=True),
        "dealer": r.RoleDealerFeatures(caller_identification=True,
                                       progressive_call_results=True,
                                       call_canceling=True, call_timeout=True,
                                       shared_registration=False),
    }))
    add("welcome_auth", lambda: m.Welcome(
        SESSION, {"broker": r.RoleBrokerFeatures(), "dealer": r.RoleDealerFeatures()},
        realm="realm1", authid="joe", authrole="frontend", authmethod="wampcra",
        authprovider="static", authextra={"x": 1, "y": [True, None]}))
    add("welcome_custom_attr", lambda: m.Welcome(
        SESSION, {"dealer": r.RoleDealerFeatures()},
        authid="joe", authrole="user", authmethod="ticket",
        custom={"x_cb_node": "node1", "x_cb_worker": "worker1"}))

    # ---------------- ABORT 3
    add("abort_minimal", lambda: m.Abort("wamp.error.no_such_realm"))
    add("abort_message", lambda: m.Abort(
        "wamp.error.not_authorized", message="The realm does not exist. — ü"))

    # ---------------- CHALLENGE 4
    add("challenge_ticket", lambda: m.Challenge("ticket", {}))
    add("challenge_wampcra", lambda: m.Challenge("wampcra", {
        "challenge": '{"nonce":"LHRTC9zeOIrt_9U3","authprovider":"userdb",'
                     '"authid":"peter","timestamp":"2014-06-22T16:36:25.448Z",'
                     '"authrole":"user","authmethod":"wampcra","session":3251278072152162}',
        "salt": "salt123", "keylen": 32, "iterations": 1000}))
    add("challenge_cryptosign", lambda: m.Challenge("cryptosign", {
        "challenge": "a" * 64, "channel_binding": None}))

    # ---------------- AUTHENTICATE 5
    add("authenticate_ticket", lambda: m.Authenticate("secret!!!", {}))
    add("authenticate_extra", lambda: m.Authenticate(
        "gir1mSx+deCDUV7wRM5SGIn/+R/ClqLZuH4m7FJeBVI=", {"nonce": "x", "n": 7}))

    # ---------------- GOODBYE 6
    add("goodbye_default", lambda: m.Goodbye())
    add("goodbye_and_out", lambda: m.Goodbye("wamp.close.goodbye_and_out"))
    add("goodbye_message", lambda: m.Goodbye(
        "wamp.close.system_shutdown", message="The host is shutting down now."))

    # ---------------- ERROR 8
    add("error_subscribe", lambda: m.Error(
        m.Subscribe.MESSAGE_TYPE, 713845233, "wamp.error.not_authorized"))
    add("error_unsubscribe", lambda: m.Error(
        m.Unsubscribe.MESSAGE_TYPE, 85346237, "wamp.error.no_such_subscription"))
    add("error_publish", lambda: m.Error(
        m.Publish.MESSAGE_TYPE, 239714735, "wamp.error.not_authorized"))
    add("error_register", lambda: m.Error(
        m.Register.MESSAGE_TYPE, 25349185, "wamp.error.procedure_already_exists"))
    add("error_unregister", lambda: m.Error(
        m.Unregister.MESSAGE_TYPE, 788923562, "wamp.error.no_such_registration"))
    add("error_call", lambda: m.Error(
        m.Call.MESSAGE_TYPE, 7814135, "com.myapp.error.object_write_protected"))
    add("error_invocation", lambda: m.Error(
        m.Invocation.MESSAGE_TYPE, 6131533, "com.myapp.error.object_write_protected"))
    add("error_call_request_max", lambda: m.Error(
        m.Call.MESSAGE_TYPE, ID_MAX, "wamp.error.canceled"))
    for suffix, a, kw in PAYLOADS:
        add(f"error_call_{suffix}", lambda a=a, kw=kw: m.Error(
            m.Call.MESSAGE_TYPE, 7814135, "com.myapp.error.object_write_protected",
            args=a, kwargs=kw))
    add("error_invocation_args_kwargs", lambda: m.Error(
        m.Invocation.MESSAGE_TYPE, 6131533, "com.myapp.error.object_write_protected",
        args=["Object is write protected."], kwargs={"severity": 3}))
    add("error_call_callee_disclosed", lambda: m.Error(
        m.Call.MESSAGE_TYPE, 7814135, "wamp.error.runtime_error",
        args=["oops"], callee=SESSION, callee_authid="svc", callee_authrole="backend"))

    # ---------------- PUBLISH 16
    add("publish_minimal", lambda: m.Publish(239714735, TOPIC))
    for suffix, a, kw in PAYLOADS:
        add(f"publish_{suffix}", lambda a=a, kw=kw: m.Publish(
            239714735, TOPIC, args=a, kwargs=kw))
    add("publish_long_args", lambda: m.Publish(1, TOPIC, args=LONG_ARGS))
    add("publish_request_max", lambda: m.Publish(ID_MAX, TOPIC, args=[1]))
    add("publish_unicode_topic", lambda: m.Publish(1, "com.myapp.tôpïc.日本"))
    add("publish_acknowledge", lambda: m.Publish(1, TOPIC, acknowledge=True))
    add("publish_exclude_me_false", lambda: m.Publish(
        2, TOPIC, args=["x"], exclude_me=False))
    add("publish_exclude_eligible", lambda: m.Publish(
        3, TOPIC, args=[1], exclude=[7891255, 1245751], eligible=[ID_MAX, 1]))
    add("publish_exclude_eligible_auth", lambda: m.Publish(
        4, TOPIC, exclude_authid=["bob"], exclude_authrole=["guest"],
        eligible_authid=["alice", "carol"], eligible_authrole=["admin"]))
    add("publish_retain", lambda: m.Publish(5, TOPIC, args=[42], retain=True))
    add("publish_all_options", lambda: m.Publish(
        6, TOPIC, args=ARGS, kwargs=KWARGS, acknowledge=True, exclude_me=False,
        exclude=[11, 12], eligible=[13, 14, 15], retain=True))

    # ---------------- PUBLISHED 17
    add("published", lambda: m.Published(239714735, 4429313566))
    add("published_max", lambda: m.Published(ID_MAX, ID_MAX))
    add("published_zero_one", lambda: m.Published(1, 0))

    # ---------------- SUBSCRIBE 32
    add("subscribe_exact", lambda: m.Subscribe(713845233, TOPIC))
    add("subscribe_prefix", lambda: m.Subscribe(2, "com.myapp", match="prefix"))
    add("subscribe_wildcard", lambda: m.Subscribe(3, "com..topic1", match="wildcard"))
    add("subscribe_get_retained", lambda: m.Subscribe(4, TOPIC, get_retained=True))
    add("subscribe_request_max", lambda: m.Subscribe(ID_MAX, TOPIC))

    # ---------------- SUBSCRIBED 33
    add("subscribed", lambda: m.Subscribed(713845233, 5512315355))
    add("subscribed_max", lambda: m.Subscribed(ID_MAX, ID_MAX))

    # ---------------- UNSUBSCRIBE 34
    add("unsubscribe", lambda: m.Unsubscribe(85346237, 5512315355))
    add("unsubscribe_max", lambda: m.Unsubscribe(ID_MAX, ID_MAX))

    # ---------------- UNSUBSCRIBED 35
    add("unsubscribed", lambda: m.Unsubscribed(85346237))
    add("unsubscribed_revoked", lambda: m.Unsubscribed(
        0, subscription=5512315355, reason="wamp.subscription.revoked"))

    # ---------------- EVENT 36
    add("event_minimal", lambda: m.Event(5512315355, 4429313566))
    for suffix, a, kw in PAYLOADS:
        add(f"event_{suffix}", lambda a=a, kw=kw: m.Event(
            5512315355, 4429313566, args=a, kwargs=kw))
    add("event_ids_max", lambda: m.Event(ID_MAX, ID_MAX, args=[1]))
    add("event_publisher", lambda: m.Event(
        5512315355, 4429313566, args=["hi"], publisher=3335656,
        publisher_authid="alice", publisher_authrole="user"))
    add("event_topic", lambda: m.Event(
        5512315355, 4429313566, args=[1], topic="com.myapp.topic1.sub"))
    add("event_publisher_topic_kwargs", lambda: m.Event(
        5512315355, 4429313566, args=ARGS, kwargs=KWARGS, publisher=ID_MAX,
        publisher_authid="alice", publisher_authrole="user", topic=TOPIC))
    add("event_retained", lambda: m.Event(1, 2, args=[42], retained=True))

    # ---------------- CALL 48
    add("call_minimal", lambda: m.Call(7814135, PROC))
    for suffix, a, kw in PAYLOADS:
        add(f"call_{suffix}", lambda a=a, kw=kw: m.Call(7814135, PROC, args=a, kwargs=kw))
    add("call_long_args", lambda: m.Call(1, PROC, args=LONG_ARGS))
    add("call_request_max", lambda: m.Call(ID_MAX, PROC, args=[23, 7]))
    add("call_timeout", lambda: m.Call(1, PROC, args=[23, 7], timeout=1000))
    add("call_timeout_zero", lambda: m.Call(2, PROC, timeout=0))
    add("call_receive_progress", lambda: m.Call(3, PROC, args=[1], receive_progress=True))
    add("call_all_options", lambda: m.Call(
        4, PROC, args=ARGS, kwargs=KWARGS, timeout=2**31, receive_progress=True))
    add("call_unicode_procedure", lambda: m.Call(5, "com.myapp.prøcédure.日本"))

    # ---------------- CANCEL 49
    add("cancel_default", lambda: m.Cancel(7814135))
    add("cancel_skip", lambda: m.Cancel(7814135, mode="skip"))
    add("cancel_kill", lambda: m.Cancel(7814135, mode="kill"))
    add("cancel_killnowait", lambda: m.Cancel(ID_MAX, mode="killnowait"))

    # ---------------- RESULT 50
    add("result_empty", lambda: m.Result(7814135))
    for suffix, a, kw in PAYLOADS:
        add(f"result_{suffix}", lambda a=a, kw=kw: m.Result(7814135, args=a, kwargs=kw))
    add("result_request_max", lambda: m.Result(ID_MAX, args=[30]))
    add("result_progress", lambda: m.Result(7814135, progress=True))
    add("result_progress_args", lambda: m.Result(
        7814135, args=[0.25], kwargs={"stage": "load"}, progress=True))
    add("result_progress_false", lambda: m.Result(7814135, args=[1.0], progress=False))
    add("result_callee_disclosed", lambda: m.Result(
        7814135, args=[30], callee=SESSION, callee_authid="svc",
        callee_authrole="backend"))

    # ---------------- REGISTER 64
    add("register_exact", lambda: m.Register(25349185, PROC))
    add("register_prefix", lambda: m.Register(2, "com.myapp.", match="prefix"))
    add("register_prefix_nodot", lambda: m.Register(3, "com.myapp", match="prefix"))
    add("register_wildcard", lambda: m.Register(4, "com..add2", match="wildcard"))
    for inv in ("roundrobin", "random", "first", "last"):
        add(f"register_invoke_{inv}", lambda inv=inv: m.Register(5, PROC, invoke=inv))
    add("register_wildcard_roundrobin", lambda: m.Register(
        6, "com.myapp..add", match="wildcard", invoke="roundrobin"))
    add("register_request_max", lambda: m.Register(ID_MAX, PROC))

    # ---------------- REGISTERED 65
    add("registered", lambda: m.Registered(25349185, 2103333224))
    add("registered_max", lambda: m.Registered(ID_MAX, ID_MAX))

    # ---------------- UNREGISTER 66
    add("unregister", lambda: m.Unregister(788923562, 2103333224))
    add("unregister_max", lambda: m.Unregister(ID_MAX, ID_MAX))

    # ---------------- UNREGISTERED 67
    add("unregistered", lambda: m.Unregistered(788923562))
    add("unregistered_revoked", lambda: m.Unregistered(
        0, registration=2103333224, reason="wamp.registration.revoked"))

    # ---------------- INVOCATION 68
    add("invocation_minimal", lambda: m.Invocation(6131533, 9823526))
    for suffix, a, kw in PAYLOADS:
        add(f"invocation_{suffix}", lambda a=a, kw=kw: m.Invocation(
            6131533, 9823526, args=a, kwargs=kw))
    add("invocation_ids_max", lambda: m.Invocation(ID_MAX, ID_MAX, args=[1]))
    add("invocation_caller", lambda: m.Invocation(
        6131533, 9823526, args=[23, 7], caller=3335656, caller_authid="alice",
        caller_authrole="user"))
    add("invocation_procedure", lambda: m.Invocation(
        6131533, 9823526, args=[1], procedure="com.myapp.add2.v2"))
    add("invocation_receive_progress", lambda: m.Invocation(
        6131533, 9823526, args=[1], receive_progress=True))
    add("invocation_timeout", lambda: m.Invocation(6131533, 9823526, timeout=5000))
    add("invocation_all_details", lambda: m.Invocation(
        6131533, 9823526, args=ARGS, kwargs=KWARGS, timeout=1000,
        receive_progress=True, caller=ID_MAX, caller_authid="alice",
        caller_authrole="user", procedure="com.myapp.add2"))

    # ---------------- INTERRUPT 69
    add("interrupt_default", lambda: m.Interrupt(6131533))
    add("interrupt_kill", lambda: m.Interrupt(6131533, mode="kill"))
    add("interrupt_killnowait", lambda: m.Interrupt(ID_MAX, mode="killnowait"))
    add("interrupt_kill_reason", lambda: m.Interrupt(
        6131533, mode="kill", reason="wamp.error.canceled"))

    # ---------------- YIELD 70
    add("yield_empty", lambda: m.Yield(6131533))
    for suffix, a, kw in PAYLOADS:
        add(f"yield_{suffix}", lambda a=a, kw=kw: m.Yield(6131533, args=a, kwargs=kw))
    add("yield_request_max", lambda: m.Yield(ID_MAX, args=[30]))
    add("yield_progress", lambda: m.Yield(6131533, progress=True))
    add("yield_progress_args", lambda: m.Yield(
        6131533, args=[0.5], kwargs={"stage": "crunch"}, progress=True))
    add("yield_progress_false", lambda: m.Yield(6131533, args=[1], progress=False))

    return C


def same(a, b):
    """Exact structural equality (bool/int/float not conflated, -0.0 != 0.0)."""
    if type(a) is not type(b):
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            pass
        else:
            return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "autobahn_vectors.json")
    cases = build_cases()
    names = [n for n, _ in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate case names: {dup}"

    seen_types = set()
    vectors = []
    for name, fn in cases:
        msg = fn()
        raw = msg.marshal()
        seen_types.add(raw[0])
        entry = {"name": name, "message": to_json_form(raw)}
        for key, cls, is_bin in SERIALIZERS:
            ser = cls()
            data, is_binary = ser.serialize(msg)
            assert is_binary == is_bin, (name, key)
            # self-check: autobahn must read its own bytes back to the same message
            msgs = cls().unserialize(data, is_binary)
            assert len(msgs) == 1, (name, key)
            back = msgs[0].marshal()
            if not same(back, raw):
                raise SystemExit(f"{name}/{key}: autobahn round-trip mismatch:\n"
                                 f"  built  {raw!r}\n  reread {back!r}")
            entry[key] = data.hex()
        vectors.append(entry)

    want = {1, 2, 3, 4, 5, 6, 8, 16, 17, 32, 33, 34, 35, 36,
            48, 49, 50, 64, 65, 66, 67, 68, 69, 70}
    assert seen_types == want, f"missing types: {sorted(want - seen_types)}"

    text = json.dumps(vectors, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)
    v = _abenv.versions()
    print(f"wrote {len(vectors)} cases to {out_path} "
          f"(autobahn {v['autobahn']}, msgpack {v['msgpack']} via {v['msgpack_backend']}, "
          f"cbor2 {v['cbor2']}, json via {v['json_backend']}, python {v['python']})")


if __name__ == "__main__":
    main()
