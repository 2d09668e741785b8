"""Compare two OpenAPI 3.x documents and say whether the change is safe for clients.

Every rule answers one question: could code written against the old spec, or against
the client generated from it, fail against the new one? The answer depends on who
sends the value:

- What the client sends (parameters, request bodies) is checked by the server, so
  narrowing what the server accepts is breaking and widening it is additive.
- What the client receives (responses, webhook deliveries) is parsed by the client,
  so widening it is breaking (a strict client meets a type it cannot parse) and
  narrowing it is harmless (info).
- The generated client is part of the contract: a change that removes or renames a
  generated name (operationId → function, first tag → module, component schema →
  model, property → attribute, enum value → member) breaks code that uses that name.

=====================================================  ===========  ===========
change                                                 client sends client gets
=====================================================  ===========  ===========
property, parameter, header or body removed            breaking     breaking
... added, optional                                    additive     additive
... added, required                                    breaking     additive
... became required                                    breaking     info
... became optional                                    additive     breaking
narrowed: union type removed, number → integer,        breaking     info
  no longer nullable, now an enum
widened: new union type, integer → number,             additive     breaking
  now nullable, no longer an enum
other type change; format that changes the Python      breaking     breaking
  type (date, date-time, uuid, binary)
enum value removed (the generated member goes)         breaking     breaking
enum value added                                       additive     additive
constraint tightened (bounds, length, pattern, format) breaking     info
constraint loosened                                    additive     info
=====================================================  ===========  ===========

New response properties and enum values are additive although they widen a response:
Pacta's contract tells clients to expect them, and the generated enums keep unknown
values. Constraints are not checked by the generated client, so in responses they
are info. Changes inside error (non-2xx) responses are at most info, because the SDK
reads error bodies leniently (`status_error_from_response`).

Not directional: a removed operation, success status or media type is breaking, a
removed error status is info, and new ones are additive; a changed operationId or first
tag, a changed or removed security scheme, a removed component schema and a security
requirement the old credentials no longer meet are breaking.

Docs (summary, description, examples, deprecation) are info, reported once where they
are written: a description inside a component schema is reported under
``components.schemas.<Name>``, not at every use.

Local `$ref`s are resolved, so a change inside a referenced schema is reported where
a client meets it: ``GET /documents/{documentId} → 200 → Document.recipients[].email``.
A schema that contains itself is compared once per path, not endlessly.
"""

from __future__ import annotations

import argparse
import enum
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .specpull import SpecError

__all__ = ["Change", "ChangeKind", "InvalidSpecError", "SpecDiff", "diff_specs", "main"]

Json = Mapping[str, Any]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PATH_PARAM = re.compile(r"\{[^}]*\}")
_DOC_KEYS = ("summary", "description", "example", "examples")
# Formats that give a field another Python type in the generated client.
_TYPED_FORMATS = frozenset({"date", "date-time", "uuid", "binary"})
# +1: a larger value accepts less (a lower bound); -1: a smaller one does.
_BOUNDS = {
    "minimum": 1,
    "exclusiveMinimum": 1,
    "minLength": 1,
    "minItems": 1,
    "maximum": -1,
    "exclusiveMaximum": -1,
    "maxLength": -1,
    "maxItems": -1,
}


class InvalidSpecError(SpecError):
    """The input is not an OpenAPI 3.x document, or one of its `$ref`s leads nowhere."""


class ChangeKind(enum.Enum):
    """Breaking: existing client code may fail. Additive: new, nothing fails. Info: neither."""

    BREAKING = "breaking"
    ADDITIVE = "additive"
    INFO = "info"


@attrs.frozen
class Change:
    """One change, where a reader meets it: ``GET /documents → 200 → DocumentList.totalPages``."""

    kind: ChangeKind
    location: str
    message: str


@attrs.frozen
class SpecDiff:
    """The changes from one spec to the next, ordered by kind, location and message.

    The order does not depend on key order in the documents, so reports are diffable.
    """

    changes: tuple[Change, ...]

    @property
    def breaking(self) -> tuple[Change, ...]:
        return self._of(ChangeKind.BREAKING)

    @property
    def additive(self) -> tuple[Change, ...]:
        return self._of(ChangeKind.ADDITIVE)

    @property
    def info(self) -> tuple[Change, ...]:
        return self._of(ChangeKind.INFO)

    def summary(self) -> str:
        if not self.changes:
            return "No changes."
        return ", ".join(f"{len(self._of(kind))} {kind.value}" for kind in ChangeKind)

    def to_text(self) -> str:
        lines = [self.summary()]
        for kind, changes in self._sections():
            lines += ["", f"{kind.value.capitalize()} ({len(changes)}):"]
            lines += [f"  {change.location}: {change.message}" for change in changes]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """A PR body: breaking changes in full, the rest folded away."""
        if not self.changes:
            verdict = "No changes."
        elif self.breaking:
            verdict = f"**Breaking changes: review before merging.** {self.summary()}"
        else:
            verdict = f"No breaking changes: {self.summary()}"
        lines = ["## OpenAPI spec changes", "", verdict]
        for kind, changes in self._sections():
            title = f"{kind.value.capitalize()} ({len(changes)})"
            items = [f"- `{change.location}`: {change.message}" for change in changes]
            if kind is ChangeKind.BREAKING:
                lines += ["", f"### {title}", "", *items]
            else:
                lines += ["", f"<details><summary>{title}</summary>", "", *items, "", "</details>"]
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        counts = {kind.value: len(self._of(kind)) for kind in ChangeKind}
        changes = [
            {"kind": c.kind.value, "location": c.location, "message": c.message}
            for c in self.changes
        ]
        return json.dumps({**counts, "changes": changes}, indent=2, ensure_ascii=False)

    def _of(self, kind: ChangeKind) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.kind is kind)

    def _sections(self) -> list[tuple[ChangeKind, tuple[Change, ...]]]:
        return [(kind, self._of(kind)) for kind in ChangeKind if self._of(kind)]


def diff_specs(old: Mapping[str, Any], new: Mapping[str, Any]) -> SpecDiff:
    """Compare two OpenAPI 3.x documents parsed from JSON; raises `InvalidSpecError`."""
    differ = _Differ(_Spec("old", old), _Spec("new", new))
    differ.run()
    rank = list(ChangeKind)
    ordered = sorted(set(differ.changes), key=lambda c: (rank.index(c.kind), c.location, c.message))
    return SpecDiff(tuple(ordered))


# What a change is, in what the client sends and in what it receives.
_Rule = tuple[ChangeKind, ChangeKind]
_BREAKS: _Rule = (ChangeKind.BREAKING, ChangeKind.BREAKING)
_EXTENDS: _Rule = (ChangeKind.ADDITIVE, ChangeKind.ADDITIVE)
_NARROWS: _Rule = (ChangeKind.BREAKING, ChangeKind.INFO)
_WIDENS: _Rule = (ChangeKind.ADDITIVE, ChangeKind.BREAKING)
_LOOSENS: _Rule = (ChangeKind.ADDITIVE, ChangeKind.INFO)
_ADDS_REQUIRED: _Rule = (ChangeKind.BREAKING, ChangeKind.ADDITIVE)


class _Direction(enum.Enum):
    SENT = "sent"  # by the client: parameters, request bodies
    RECEIVED = "received"  # by the client: success responses, webhook deliveries
    ERROR = "error"  # received, but read leniently: nothing in it can break a client


@attrs.frozen
class _Where:
    """Where a schema is used: the location prefix and who sends it."""

    prefix: str
    direction: _Direction

    def at(self, path: str) -> str:
        return _at(self.prefix, path)


@attrs.frozen(eq=False)
class _Variant:
    """One alternative a schema allows: a single type, from a union branch or a type list."""

    type: str
    schema: Json  # with `allOf` merged in
    origin: Json  # the node in the document, which identifies it on cycles
    ref: str | None

    @property
    def label(self) -> str:
        return self.ref.rsplit("/", 1)[-1] if self.ref else self.type


@attrs.frozen
class _Operation:
    location: str
    raw: Json
    params: dict[tuple[str, str], Json]


class _Spec:
    """One document, validated, with `$ref` resolution."""

    def __init__(self, label: str, doc: object) -> None:
        if not isinstance(doc, Mapping):
            raise InvalidSpecError(f"{label} spec: not a JSON object")
        version = doc.get("openapi")
        if not (isinstance(version, str) and version.startswith("3.")):
            raise InvalidSpecError(
                f"{label} spec: not an OpenAPI 3.x document (`openapi` is {version!r})",
                field="openapi",
            )
        if not isinstance(doc.get("paths"), Mapping):
            raise InvalidSpecError(f"{label} spec: `paths` is missing", field="paths")
        self.label = label
        self.doc: Json = doc

    def resolve(self, node: Any) -> tuple[Json, str | None]:
        """The object `node` stands for, and the first `$ref` followed to reach it."""
        first: str | None = None
        followed: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if ref in followed:
                raise InvalidSpecError(f"{self.label} spec: `$ref` loop at {ref}", field=ref)
            followed.add(ref)
            first = first or ref
            node = self._lookup(ref)
        return (node if isinstance(node, Mapping) else {}), first

    def member(self, node: Json, key: str) -> Json | None:
        return self.resolve(node[key])[0] if key in node else None

    def variants(self, schema: Any, seen: frozenset[int] = frozenset()) -> list[_Variant]:
        """The alternatives `schema` allows, with `null` as a variant of its own."""
        node, ref = self.resolve(schema)
        if id(node) in seen:  # a union that contains itself adds nothing
            return []
        seen = seen | {id(node)}
        merged = self._merge_all_of(node, seen)
        branches = [*_list(merged, "anyOf"), *_list(merged, "oneOf")]
        if branches:
            found = [v for branch in branches for v in self.variants(branch, seen)]
        else:
            found = [_Variant(t, merged, node, ref) for t in _types(merged)]
        if merged.get("nullable") is True:  # OpenAPI 3.0
            found.append(_Variant("null", {}, node, None))
        return found

    def properties(self, schema: Json, direction: _Direction) -> dict[str, Any]:
        """The properties that travel in `direction`: readOnly ones are never sent."""
        hidden = "readOnly" if direction is _Direction.SENT else "writeOnly"
        return {
            name: prop
            for name, prop in _map(schema, "properties").items()
            if not (_map_of(prop).get(hidden) is True or self.resolve(prop)[0].get(hidden) is True)
        }

    def _lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise InvalidSpecError(
                f"{self.label} spec: only local `$ref`s are supported, not {ref}", field=ref
            )
        node: Any = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise InvalidSpecError(f"{self.label} spec: `$ref` {ref} leads nowhere", field=ref)
            node = node[part]
        return node

    def _merge_all_of(self, node: Json, seen: frozenset[int]) -> Json:
        """`allOf` composes one schema from parts; clients see the composition."""
        parts = _list(node, "allOf")
        if not parts:
            return node
        sources: list[Json] = [{k: v for k, v in node.items() if k != "allOf"}]
        for part in parts:
            resolved, _ = self.resolve(part)
            if id(resolved) not in seen:
                sources.append(self._merge_all_of(resolved, seen | {id(resolved)}))
        merged: dict[str, Any] = {}
        for source in sources:
            for key, value in source.items():
                if key == "properties" and isinstance(value, Mapping):
                    merged["properties"] = {**value, **merged.get("properties", {})}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged


class _Differ:
    def __init__(self, old: _Spec, new: _Spec) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []

    def run(self) -> None:
        self._security_schemes()
        self._security(self.old.doc.get("security"), self.new.doc.get("security"), "security")
        self._component_schemas()
        self._servers()
        self._error_schema()
        self._argument_order()
        self._endpoints(webhooks=False)
        self._endpoints(webhooks=True)

    def _add(self, kind: ChangeKind, location: str, message: str) -> None:
        self.changes.append(Change(kind, location, message))

    def _emit(self, direction: _Direction, location: str, message: str, rule: _Rule) -> None:
        kind = rule[0] if direction is _Direction.SENT else rule[1]
        if direction is _Direction.ERROR and kind is ChangeKind.BREAKING:
            kind = ChangeKind.INFO
        self._add(kind, location, message)

    def _report(self, where: _Where, path: str, message: str, rule: _Rule) -> None:
        self._emit(where.direction, where.at(path), message, rule)

    # Document level

    def _security_schemes(self) -> None:
        old = _map(_map(self.old.doc, "components"), "securitySchemes")
        new = _map(_map(self.new.doc, "components"), "securitySchemes")
        for name in sorted(old.keys() | new.keys()):
            location = f"components.securitySchemes.{name}"
            if name not in new:
                self._add(ChangeKind.BREAKING, location, "security scheme removed")
            elif name not in old:
                self._add(ChangeKind.ADDITIVE, location, "security scheme added")
            else:
                a, b = self.old.resolve(old[name])[0], self.new.resolve(new[name])[0]
                if _scheme_identity(a) != _scheme_identity(b):
                    before, after = _describe_scheme(a), _describe_scheme(b)
                    message = f"changed: {before} → {after}" if before != after else "changed"
                    self._add(ChangeKind.BREAKING, location, message)
                self._docs(a, b, location)

    def _security(self, old_raw: Any, new_raw: Any, location: str) -> None:
        old, new = _alternatives(old_raw), _alternatives(new_raw)
        if old == new:
            return
        # Breaking only if some client's credentials no longer meet any alternative.
        lost = any(not any(_satisfies(have, need) for need in new) for have in old)
        message = f"security changed: {_describe_security(old)} → {_describe_security(new)}"
        self._add(ChangeKind.BREAKING if lost else ChangeKind.ADDITIVE, location, message)

    def _component_schemas(self) -> None:
        old = _map(_map(self.old.doc, "components"), "schemas")
        new = _map(_map(self.new.doc, "components"), "schemas")
        for name in sorted(old.keys() | new.keys()):
            location = f"components.schemas.{name}"
            if name not in new:
                self._add(ChangeKind.BREAKING, location, "schema removed (the model goes)")
            elif name not in old:
                self._add(ChangeKind.ADDITIVE, location, "schema added")
            else:
                self._schema_docs(old[name], new[name], "", location)

    def _servers(self) -> None:
        """The SDK's base URL is the server's: a moved API (`/api/v1` → `/api/v2`) breaks it."""
        old, new = _server_urls(self.old.doc), _server_urls(self.new.doc)
        for url in sorted(old - new):
            self._add(ChangeKind.BREAKING, "servers", f"server {_code(url)} removed or moved")
        for url in sorted(new - old):
            self._add(ChangeKind.ADDITIVE, "servers", f"server {_code(url)} added")

    def _error_schema(self) -> None:
        """The SDK types its errors by `Error.code` and reads `message` and `details`
        (error bodies are otherwise only info), so losing one of them is breaking."""
        old = self.old.resolve(_map(_map(self.old.doc, "components"), "schemas").get("Error"))[0]
        new = self.new.resolve(_map(_map(self.new.doc, "components"), "schemas").get("Error"))[0]
        if not old:
            return
        location = "components.schemas.Error"
        if not new:
            self._add(
                ChangeKind.BREAKING, location, "the error schema the SDK types errors by is gone"
            )
            return
        old_props, new_props = _map(old, "properties"), _map(new, "properties")
        required = set(_list(new, "required"))
        for name in ("code", "message", "details"):
            if name not in old_props:
                continue
            if name not in new_props:
                self._add(
                    ChangeKind.BREAKING, location, f"`{name}` removed: the SDK types errors by it"
                )
            elif name in set(_list(old, "required")) and name not in required:
                self._add(ChangeKind.BREAKING, location, f"`{name}` no longer required")
            elif _types(self.old.resolve(old_props[name])[0]) != _types(
                self.new.resolve(new_props[name])[0]
            ):
                self._add(ChangeKind.BREAKING, location, f"`{name}` changed type")

    def _argument_order(self) -> None:
        """Generated models take required properties first, in the spec's key order, then
        the optional ones: reordering keys reorders constructor arguments, which breaks
        positional callers although no property changed."""
        old = _map(_map(self.old.doc, "components"), "schemas")
        new = _map(_map(self.new.doc, "components"), "schemas")
        for name in sorted(old.keys() & new.keys()):
            a, b = _constructor_order(old[name]), _constructor_order(new[name])
            common = set(a) & set(b)
            a_kept, b_kept = [p for p in a if p in common], [p for p in b if p in common]
            if a_kept != b_kept:
                self._add(
                    ChangeKind.BREAKING,
                    f"components.schemas.{name}",
                    "constructor arguments reordered "
                    f"({', '.join(a_kept)} → {', '.join(b_kept)}): breaks positional callers",
                )

    # Operations and webhooks

    def _endpoints(self, *, webhooks: bool) -> None:
        old, new = self._operations(self.old, webhooks), self._operations(self.new, webhooks)
        what = "webhook" if webhooks else "operation"
        for key in sorted(old.keys() | new.keys()):
            if key not in new:
                self._add(ChangeKind.BREAKING, old[key].location, f"{what} removed")
            elif key not in old:
                self._add(ChangeKind.ADDITIVE, new[key].location, f"{what} added")
            elif webhooks:  # Pacta sends these, so the client receives the "request"
                self._docs(old[key].raw, new[key].raw, new[key].location)
                self._parameters(old[key], new[key], _Direction.RECEIVED)
                self._body(old[key], new[key], _Direction.RECEIVED)
            else:
                self._operation(old[key], new[key])

    def _operations(self, spec: _Spec, webhooks: bool) -> dict[tuple[str, str], _Operation]:
        found: dict[tuple[str, str], _Operation] = {}
        for name, raw_item in _map(spec.doc, "webhooks" if webhooks else "paths").items():
            item, _ = spec.resolve(raw_item)
            for method in _METHODS:
                op = item.get(method)
                if not isinstance(op, Mapping):
                    continue
                params: dict[tuple[str, str], Json] = {}
                for raw in [*_list(item, "parameters"), *_list(op, "parameters")]:
                    param, _ = spec.resolve(raw)
                    if isinstance(param.get("name"), str) and isinstance(param.get("in"), str):
                        params[(param["in"], param["name"])] = param
                if webhooks:
                    key, location = (name, method), f"webhook {method.upper()} {name}"
                else:  # a renamed path parameter is the same URL
                    key, location = (
                        (_PATH_PARAM.sub("{}", name), method),
                        f"{method.upper()} {name}",
                    )
                found[key] = _Operation(location, op, params)
        return found

    def _operation(self, old: _Operation, new: _Operation) -> None:
        a, b, location = old.raw, new.raw, new.location
        if a.get("operationId") != b.get("operationId"):
            before, after = _code(a.get("operationId")), _code(b.get("operationId"))
            message = f"operationId renamed {before} → {after} (the generated function is renamed)"
            self._add(ChangeKind.BREAKING, location, message)
        if _first_tag(a) != _first_tag(b):
            before, after = _code(_first_tag(a)), _code(_first_tag(b))
            message = f"tag changed {before} → {after} (the generated function moves)"
            self._add(ChangeKind.BREAKING, location, message)
        self._docs(a, b, location)
        if "security" in a or "security" in b:  # else the document's security applies
            self._security(
                a.get("security", self.old.doc.get("security")),
                b.get("security", self.new.doc.get("security")),
                f"{location} → security",
            )
        self._parameters(old, new, _Direction.SENT)
        self._body(old, new, _Direction.SENT)
        self._responses(a, b, location)

    def _parameters(self, old: _Operation, new: _Operation, direction: _Direction) -> None:
        for key in sorted(old.params.keys() | new.params.keys()):
            a, b = old.params.get(key), new.params.get(key)
            location = f"{new.location} → {key[0]} {key[1]}"
            self._presence(direction, location, "parameter", _required(a), _required(b))
            if a is not None and b is not None:
                self._docs(a, b, location)
                self._schemas(a.get("schema"), b.get("schema"), _Where(location, direction))

    def _body(self, old: _Operation, new: _Operation, direction: _Direction) -> None:
        a, b = self.old.member(old.raw, "requestBody"), self.new.member(new.raw, "requestBody")
        location = f"{new.location} → body"
        self._presence(direction, location, "request body", _required(a), _required(b))
        if a is not None and b is not None:
            self._docs(a, b, location)
            self._content(a, b, location, direction)

    def _responses(self, old: Json, new: Json, location: str) -> None:
        a, b = _map(old, "responses"), _map(new, "responses")
        for status in sorted(a.keys() | b.keys()):
            here = f"{location} → {status}"
            success = str(status).startswith("2")
            if status not in b:
                kind = ChangeKind.BREAKING if success else ChangeKind.INFO
                self._add(kind, here, f"{'success ' if success else ''}response removed")
            elif status not in a:
                self._add(ChangeKind.ADDITIVE, here, "response added")
            else:
                ra, rb = self.old.resolve(a[status])[0], self.new.resolve(b[status])[0]
                direction = _Direction.RECEIVED if success else _Direction.ERROR
                self._docs(ra, rb, here)
                self._headers(ra, rb, here, direction)
                self._content(ra, rb, here, direction)

    def _headers(self, old: Json, new: Json, location: str, direction: _Direction) -> None:
        a, b = _map(old, "headers"), _map(new, "headers")
        for name in sorted(a.keys() | b.keys()):
            ha, hb = self.old.member(a, name), self.new.member(b, name)
            here = f"{location} → header {name}"
            self._presence(direction, here, "header", _required(ha), _required(hb))
            if ha is not None and hb is not None:
                self._docs(ha, hb, here)
                self._schemas(ha.get("schema"), hb.get("schema"), _Where(here, direction))

    def _content(self, old: Json, new: Json, location: str, direction: _Direction) -> None:
        a, b = _map(old, "content"), _map(new, "content")
        for media in sorted(a.keys() | b.keys()):
            if media not in b:
                self._emit(direction, location, f"media type `{media}` removed", _BREAKS)
            elif media not in a:
                self._emit(direction, location, f"media type `{media}` added", _EXTENDS)
            else:
                here = location if media == "application/json" else f"{location} {media}"
                ma, mb = _map_of(a[media]), _map_of(b[media])
                self._docs(ma, mb, here)
                self._schemas(ma.get("schema"), mb.get("schema"), _Where(here, direction))

    def _presence(
        self,
        direction: _Direction,
        location: str,
        what: str,
        old_required: bool | None,
        new_required: bool | None,
    ) -> None:
        """A member that appeared, went, or changed requiredness (None: absent)."""
        if old_required is None and new_required is None:
            return
        if new_required is None:
            self._emit(direction, location, f"{what} removed", _BREAKS)
        elif old_required is None:
            if new_required:
                self._emit(direction, location, f"{what} added (required)", _ADDS_REQUIRED)
            else:
                self._emit(direction, location, f"{what} added (optional)", _EXTENDS)
        elif new_required and not old_required:
            self._emit(direction, location, f"{what} now required", _NARROWS)
        elif old_required and not new_required:
            self._emit(direction, location, f"{what} no longer required", _WIDENS)

    # Schemas

    def _schemas(self, old: Any, new: Any, where: _Where) -> None:
        self._schema(old, new, where, "", frozenset())
        self._schema_docs(old, new, where.prefix, "")

    def _schema(
        self, old: Any, new: Any, where: _Where, path: str, stack: frozenset[tuple[int, int]]
    ) -> None:
        old_all, new_all = self.old.variants(old), self.new.variants(new)
        path = path or _root_name(old_all, new_all)
        old_null = any(v.type == "null" for v in old_all)
        new_null = any(v.type == "null" for v in new_all)
        if new_null and not old_null:
            self._report(where, path, "now nullable", _WIDENS)
        elif old_null and not new_null:
            self._report(where, path, "no longer nullable", _NARROWS)
        olds = [v for v in old_all if v.type != "null"]
        news = [v for v in new_all if v.type != "null"]
        pairs, removed, added = _match(olds, news)
        if len(removed) == 1 and len(added) == 1:
            a, b = removed[0], added[0]
            before, after = (a.label, b.label) if a.label != b.label else (a.type, b.type)
            message = f"type changed `{before}` → `{after}`"
            self._report(where, path, message, _type_change_rule(a.type, b.type))
        else:
            for v in removed:
                self._report(where, path, f"type `{v.label}` removed", _NARROWS)
            for v in added:
                self._report(where, path, f"type `{v.label}` added", _WIDENS)
        union = len(olds) > 1 or len(news) > 1
        for a, b in pairs:
            self._variant(a, b, where, f"{path}<{b.label}>" if union else path, stack)

    def _variant(
        self, a: _Variant, b: _Variant, where: _Where, path: str, stack: frozenset[tuple[int, int]]
    ) -> None:
        key = (id(a.origin), id(b.origin))
        if key in stack:  # a schema that contains itself: its changes are already reported
            return
        stack = stack | {key}
        self._enum(a.schema, b.schema, where, path)
        self._constraints(a, b, where, path)
        if a.type == "object":
            self._object(a.schema, b.schema, where, path, stack)
        elif a.type == "array":
            self._schema(a.schema.get("items"), b.schema.get("items"), where, f"{path}[]", stack)

    def _object(
        self, old: Json, new: Json, where: _Where, path: str, stack: frozenset[tuple[int, int]]
    ) -> None:
        a = self.old.properties(old, where.direction)
        b = self.new.properties(new, where.direction)
        a_required, b_required = set(_list(old, "required")), set(_list(new, "required"))
        for name in sorted(a.keys() | b.keys()):
            here = f"{path}.{name}" if path else name
            self._presence(
                where.direction,
                where.at(here),
                "property",
                name in a_required if name in a else None,
                name in b_required if name in b else None,
            )
            if name in a and name in b:
                self._schema(a[name], b[name], where, here, stack)
        extra_a, extra_b = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(extra_a, Mapping) and isinstance(extra_b, Mapping):
            self._schema(extra_a, extra_b, where, f"{path}{{}}", stack)

    def _enum(self, old: Json, new: Json, where: _Where, path: str) -> None:
        a, b = _enum_values(old), _enum_values(new)
        if a is None and b is not None:
            values = ", ".join(_code(b[key]) for key in sorted(b))
            self._report(where, path, f"now limited to {values}", _NARROWS)
        elif a is not None and b is None:
            self._report(where, path, "no longer limited to an enum", _WIDENS)
        elif a is not None and b is not None:
            for key in sorted(a.keys() - b.keys()):
                self._report(where, path, f"enum value {_code(a[key])} removed", _BREAKS)
            for key in sorted(b.keys() - a.keys()):
                self._report(where, path, f"enum value {_code(b[key])} added", _EXTENDS)

    def _constraints(self, a: _Variant, b: _Variant, where: _Where, path: str) -> None:
        for key, sign in _BOUNDS.items():
            x, y = _number(a.schema.get(key)), _number(b.schema.get(key))
            if x != y:
                tighter = y is not None and (x is None or (y - x) * sign > 0)
                message = f"`{key}` {_code(x)} → {_code(y)}"
                self._report(where, path, message, _NARROWS if tighter else _LOOSENS)
        x, y = a.schema.get("pattern"), b.schema.get("pattern")
        if x != y:
            message = f"`pattern` {_code(x)} → {_code(y)}"
            self._report(where, path, message, _LOOSENS if y is None else _NARROWS)
        x, y = a.schema.get("format"), b.schema.get("format")
        if a.type == "string" and x != y:
            message = f"`format` {_code(x)} → {_code(y)}"
            if x in _TYPED_FORMATS or y in _TYPED_FORMATS:
                self._report(where, path, f"{message} (the generated type changes)", _BREAKS)
            else:
                self._report(where, path, message, _LOOSENS if y is None else _NARROWS)

    # Docs

    def _docs(self, old: Json, new: Json, location: str) -> None:
        changed = [key for key in _DOC_KEYS if old.get(key) != new.get(key)]
        if changed:
            self._add(ChangeKind.INFO, location, f"{', '.join(changed)} changed")
        was, now = bool(old.get("deprecated")), bool(new.get("deprecated"))
        if was != now:
            self._add(ChangeKind.INFO, location, "deprecated" if now else "no longer deprecated")

    def _schema_docs(self, old: Any, new: Any, prefix: str, path: str) -> None:
        """Docs of a schema as written: a `$ref`'s target has its own entry in components."""
        if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
            return
        self._docs(old, new, _at(prefix, path))
        if "$ref" in old or "$ref" in new:
            return
        a, b = _map(old, "properties"), _map(new, "properties")
        for name in sorted(a.keys() & b.keys()):
            self._schema_docs(a[name], b[name], prefix, f"{path}.{name}" if path else name)
        self._schema_docs(old.get("items"), new.get("items"), prefix, f"{path}[]")
        extra_a, extra_b = old.get("additionalProperties"), new.get("additionalProperties")
        self._schema_docs(extra_a, extra_b, prefix, f"{path}{{}}")
        for key in ("allOf", "anyOf", "oneOf"):
            for part_a, part_b in zip(_list(old, key), _list(new, key), strict=False):
                self._schema_docs(part_a, part_b, prefix, path)


def _server_urls(doc: Json) -> set[str]:
    return {
        str(server.get("url")).rstrip("/")
        for server in _list(doc, "servers")
        if isinstance(server, Mapping) and "url" in server
    }


def _constructor_order(schema: Any) -> list[str]:
    if not isinstance(schema, Mapping):
        return []
    names = list(_map(schema, "properties"))
    required = set(_list(schema, "required"))
    return [n for n in names if n in required] + [n for n in names if n not in required]


def _at(prefix: str, path: str) -> str:
    return " → ".join(part for part in (prefix, path) if part)


def _map(node: Any, key: str) -> Json:
    return _map_of(node.get(key)) if isinstance(node, Mapping) else {}


def _map_of(value: Any) -> Json:
    return value if isinstance(value, Mapping) else {}


def _list(node: Any, key: str) -> Sequence[Any]:
    value = node.get(key) if isinstance(node, Mapping) else None
    return value if isinstance(value, list) else []


def _required(member: Json | None) -> bool | None:
    return None if member is None else bool(member.get("required"))


def _first_tag(op: Json) -> str | None:
    """openapi-python-client names a function's module after the operation's first tag."""
    tags = _list(op, "tags")
    return tags[0] if tags and isinstance(tags[0], str) else None


def _code(value: object) -> str:
    if value is None:
        return "none"
    return f"`{value if isinstance(value, str) else json.dumps(value)}`"


def _number(value: object) -> float | None:
    """A numeric bound; OpenAPI 3.0's boolean `exclusiveMinimum` is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _types(schema: Json) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list) and declared:
        return [t for t in declared if isinstance(t, str)]
    if "properties" in schema or "additionalProperties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    values = _enum_values(schema)
    if values:
        return list(dict.fromkeys(_json_type(v) for v in values.values()))
    return ["any"]


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "string"


def _enum_values(schema: Json) -> dict[str, Any] | None:
    """The allowed values keyed by their JSON text; `null` is nullability, not a value."""
    if isinstance(schema.get("enum"), list):
        values = schema["enum"]
    elif "const" in schema:
        values = [schema["const"]]
    else:
        return None
    return {json.dumps(v, sort_keys=True): v for v in values if v is not None}


def _type_change_rule(old: str, new: str) -> _Rule:
    if _wider(old, new):
        return _NARROWS
    if _wider(new, old):
        return _WIDENS
    return _BREAKS


def _wider(a: str, b: str) -> bool:
    """Does type `a` allow every value of type `b`, and more?"""
    return (a == "any" and b != "any") or (a, b) == ("number", "integer")


def _root_name(old: list[_Variant], new: list[_Variant]) -> str:
    """Name a location after the schema it refers to: ``Document.title``."""
    for variants in (new, old):
        named = [v for v in variants if v.type != "null"]
        if len(named) == 1 and named[0].ref:
            return named[0].label
    return ""


def _match(
    olds: list[_Variant], news: list[_Variant]
) -> tuple[list[tuple[_Variant, _Variant]], list[_Variant], list[_Variant]]:
    """Pair old and new variants by name and type, then by type; the rest went or came."""
    olds, news = list(olds), list(news)
    pairs: list[tuple[_Variant, _Variant]] = []
    keys: tuple[Callable[[_Variant], object], ...] = (lambda v: (v.label, v.type), lambda v: v.type)
    for key in keys:
        for a in list(olds):
            b = next((b for b in news if key(b) == key(a)), None)
            if b is not None:
                pairs.append((a, b))
                olds.remove(a)
                news.remove(b)
    return pairs, olds, news


_Alternative = frozenset[tuple[str, frozenset[str]]]


def _alternatives(raw: Any) -> frozenset[_Alternative]:
    """A security requirement: any one alternative will do, each needs all its schemes."""
    if not isinstance(raw, list) or not raw:
        return frozenset({frozenset()})
    return frozenset(
        frozenset(
            (name, frozenset(scopes if isinstance(scopes, list) else []))
            for name, scopes in alternative.items()
        )
        for alternative in raw
        if isinstance(alternative, Mapping)
    )


def _satisfies(have: _Alternative, need: _Alternative) -> bool:
    """Do credentials that met `have` also meet `need`?"""
    scopes = dict(have)
    return all(name in scopes and wanted <= scopes[name] for name, wanted in need)


def _describe_security(alternatives: frozenset[_Alternative]) -> str:
    def describe(alternative: _Alternative) -> str:
        schemes = sorted(alternative, key=lambda item: item[0])
        parts = [f"`{name}`" + (f" [{', '.join(sorted(s))}]" if s else "") for name, s in schemes]
        return " + ".join(parts) or "no auth"

    return " or ".join(sorted(describe(a) for a in alternatives))


def _scheme_identity(scheme: Json) -> str:
    return json.dumps({k: v for k, v in scheme.items() if k != "description"}, sort_keys=True)


def _describe_scheme(scheme: Json) -> str:
    kind = scheme.get("type")
    if kind == "apiKey":
        return f"apiKey in {scheme.get('in')} {_code(scheme.get('name'))}"
    if kind == "http":
        return f"http {_code(scheme.get('scheme'))}"
    return _code(kind)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tools.specdiff OLD NEW`: exit 0 nothing breaking, 1 breaking, 2 bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.specdiff",
        description=(
            "Compare two OpenAPI 3.x documents (JSON) and report breaking, additive and "
            "info changes. Exits 1 if any change is breaking, 2 on bad input."
        ),
    )
    parser.add_argument("old", metavar="OLD", help="the current spec, a JSON file or - for stdin")
    parser.add_argument("new", metavar="NEW", help="the candidate spec, a JSON file or - for stdin")
    parser.add_argument("--markdown", metavar="FILE", type=Path, help="also write a PR-body report")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # usage errors and --help
        return int(exit_.code or 0)
    if args.old == "-" and args.new == "-":
        return _fail("only one of OLD and NEW can be - (stdin)")
    try:
        diff = diff_specs(_load_json(args.old), _load_json(args.new))
    except SpecError as exc:
        return _fail(str(exc))
    if args.markdown is not None:
        try:
            args.markdown.write_text(diff.to_markdown(), encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write {args.markdown}: {exc.strerror or exc}")
    sys.stdout.write(diff.to_json() + "\n" if args.json else diff.to_text())
    return 1 if diff.breaking else 0


def _load_json(name: str) -> Any:
    label = "stdin" if name == "-" else name
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read {label}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"cannot read {label}: not UTF-8 text") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{label} is not JSON: {exc}") from exc


def _fail(message: str) -> int:
    print(f"specdiff: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
