#!/usr/bin/env python3
"""Checks the contracts in this folder against wamp-contract.schema.json.

Run it with a Python that has `jsonschema` (and `tomli` before Python 3.11), e.g.:

    python3 -m venv /tmp/schema-venv && /tmp/schema-venv/bin/pip install jsonschema tomli
    /tmp/schema-venv/bin/python schemas/check.py            # every *.wamp.toml / *.wamp.json here
    /tmp/schema-venv/bin/python schemas/check.py FILE...    # given contract files

Besides validating each file it checks the schema itself, that every TOML contract starts
with the `#:schema ./wamp-contract.schema.json` line, and (with no FILE given) that a set of
deliberately broken contracts is rejected. This is only the schema's view: cross-references
(type names, imports, captures vs params, `since` <= version) are the generator's checks
(`wamp codegen check`). Exit status 0 when everything is as expected.
"""

import copy
import json
import pathlib
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

import jsonschema

HERE = pathlib.Path(__file__).resolve().parent
SCHEMA_PATH = HERE / "wamp-contract.schema.json"
SCHEMA_LINE = "#:schema ./wamp-contract.schema.json"


def load(path):
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".wamp.toml"):
        if text.splitlines()[0].strip() != SCHEMA_LINE:
            raise ValueError(f"first line is not `{SCHEMA_LINE}`")
        return tomllib.loads(text)
    return json.loads(text)


def errors_of(validator, doc):
    return sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))


def where(error):
    return ".".join(str(p) for p in error.absolute_path) or "(top)"


# Each case: a name, and a change to a valid base contract that the schema must refuse.
BASE = {
    "contract": {"name": "base", "version": "1.0.0", "uri_prefix": "com.example.base"},
    "types": {"Point": {"fields": {"x": "f64", "y": "f64"}}},
    "errors": {"Oops": {"uri": ".error.oops"}},
    "procedures": {"ping": {"uri": ".ping", "result": {"args": ["pong: string"]}}},
    "topics": {"tick": {"uri": ".tick.{n}", "params": {"n": "u32"}}},
}


def broken_cases():
    def case(name, change):
        doc = copy.deepcopy(BASE)
        change(doc)
        return name, doc

    def put(*path_and_value):
        *path, key, value = path_and_value

        def change(doc):
            node = doc
            for p in path:
                node = node.setdefault(p, {})
            node[key] = value

        return change

    def drop(*path):
        def change(doc):
            node = doc
            for p in path[:-1]:
                node = node[p]
            del node[path[-1]]

        return change

    def both(*changes):
        def change(doc):
            for c in changes:
                c(doc)

        return change

    return [
        case("missing [contract]", drop("contract")),
        case("missing contract.version", drop("contract", "version")),
        case("contract name not lower snake case", put("contract", "name", "Calculator")),
        case("version not semver", put("contract", "version", "2.1")),
        case("unknown top-level key", put("services", {})),
        case("unknown contract key", put("contract", "author", "me")),
        case("uri_prefix with uppercase", put("contract", "uri_prefix", "com.Example")),
        case("type name with a dash", put("types", "Bad-Name", {"type": "f64"})),
        case("type named like a built-in", put("types", "string", {"type": "f64"})),
        case("type with two kinds", put("types", "Both", {"type": "f64", "enum": ["a"]})),
        case("type with no kind", put("types", "Empty", {"doc": "nothing"})),
        case("open on a struct", put("types", "Point", "open", True)),
        case("empty enum", put("types", "E", {"enum": []})),
        case("duplicate enum value", put("types", "E", {"enum": ["a", "a"]})),
        case("enum entry with unknown key", put("types", "E", {"enum": [{"value": "a", "label": "A"}]})),
        case("bad type expression (map key)", put("types", "Point", "fields", "x", "map<u8, f64>")),
        case("bad type expression (??)", put("types", "Point", "fields", "x", "f64??")),
        case("bad type expression (unclosed)", put("types", "Point", "fields", "x", "list<f64")),
        case("default on a required field", put("types", "Point", "fields", "x", {"type": "f64", "default": 0})),
        case("null default", put("types", "Point", "fields", "x", {"type": "f64?", "default": None})),
        case("union without tag", put("types", "U", {"union": {"variants": {"p": "Point"}}})),
        case("union variant not a name", put("types", "U", {"union": {"tag": "kind", "variants": {"p": "list<Point>"}}})),
        case("positional without a type", put("procedures", "ping", "args", ["a"])),
        case("positional table without name", put("procedures", "ping", "args", [{"type": "f64"}])),
        case("since not semver", put("procedures", "ping", "since", "yesterday")),
        case("procedure without uri", drop("procedures", "ping", "uri")),
        case("procedure URI with uppercase", put("procedures", "ping", "uri", ".Ping")),
        case("procedure URI with empty component", put("procedures", "ping", "uri", "com..ping")),
        case("procedure URI with a capture", put("procedures", "ping", "uri", ".ping.{x}")),
        case("unknown procedure key", put("procedures", "ping", "retries", 3)),
        case("invoke policy unknown", put("procedures", "ping", "invoke", "fastest")),
        case("cancel mode unknown", put("procedures", "ping", "cancel", "abort")),
        case("timeout_ms zero", put("procedures", "ping", "timeout_ms", 0)),
        case("timeout_ms not an integer", put("procedures", "ping", "timeout_ms", "5s")),
        case("empty result table", put("procedures", "ping", "result", {})),
        case("result with unknown key", put("procedures", "ping", "result", {"value": "f64"})),
        case("errors not a list", put("procedures", "ping", "errors", "Oops")),
        case("error without uri", put("errors", "Bad", {"kwargs": {"x": "f64"}})),
        case("topic with captures but no params", drop("topics", "tick", "params")),
        case("topic params without captures", put("topics", "tick", "uri", ".tick")),
        case("topic capture not a whole component", put("topics", "tick", "uri", ".tick_{n}")),
        case("topic param of type f64", put("topics", "tick", "params", "n", "f64")),
        case("topic param optional", put("topics", "tick", "params", "n", "u32?")),
        case("retain not a bool", put("topics", "tick", "retain", "yes")),
        case("import path not a contract file", put("imports", "geo", "geo.toml")),
        case(
            "relative URI without uri_prefix",
            both(drop("contract", "uri_prefix"), put("procedures", "ping", "uri", ".ping")),
        ),
    ]


def main(argv):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = 0

    files = [pathlib.Path(a) for a in argv] or sorted(
        p for p in HERE.iterdir() if p.name.endswith((".wamp.toml", ".wamp.json"))
    )
    for path in files:
        try:
            doc = load(path)
        except Exception as e:  # a parse error is a failure too
            print(f"FAIL {path.name}: {e}")
            failures += 1
            continue
        errs = errors_of(validator, doc)
        if errs:
            failures += 1
            print(f"FAIL {path.name}")
            for e in errs:
                print(f"     {where(e)}: {e.message[:300]}")
        else:
            print(f"ok   {path.name}")

    if not argv:
        # calculator_json.wamp.json is calculator.wamp.toml in the JSON form: the same tree
        # but for "$schema" and the contract's name and doc.
        pair = [HERE / "calculator.wamp.toml", HERE / "calculator_json.wamp.json"]
        if all(p.exists() for p in pair):
            toml_doc, json_doc = (load(p) for p in pair)
            json_doc.pop("$schema", None)
            for d in (toml_doc, json_doc):
                d["contract"].pop("name", None)
                d["contract"].pop("doc", None)
            if toml_doc == json_doc:
                print("ok   calculator_json.wamp.json has the tree of calculator.wamp.toml")
            else:
                failures += 1
                print("FAIL calculator_json.wamp.json differs from calculator.wamp.toml")

        base_errs = errors_of(validator, BASE)
        if base_errs:
            failures += 1
            print(f"FAIL the base of the broken cases is itself invalid: {base_errs[0].message}")
        for name, doc in broken_cases():
            errs = errors_of(validator, doc)
            if errs:
                print(f"ok   rejected: {name} ({where(errs[0])})")
            else:
                failures += 1
                print(f"FAIL accepted: {name}")

    print("all as expected" if failures == 0 else f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
