"""The CBV 2.0 EPCIS event hash ID of an event given as EPCIS 2.0 JSON, without network access.

The event hash ID (GS1 CBV 2.0, section 8.9) is ``ni:///sha-256;<hex>?ver=CBV2.0``: the SHA-256
of a *pre-hash string* built from the event's fields in a canonical order, with values
canonicalised (timestamps in UTC at millisecond precision, numbers without trailing zeros, CBV
URNs and bare CBV words as their web URIs, EPC URIs and GS1 Digital Links as constrained canonical
Digital Links, namespaced keys as ``{namespace}local``).

The published example hashes are those of the reference implementation
(github.com/RalphTro/epcis-event-hash-generator); where it departs from the written algorithm,
this module follows it, so that both give the same hash:

* the list fields of the ordered pass that hold pairs (``bizTransactionList``, ``sourceList``,
  ``destinationList``) are appended after it, with the event's other remaining fields, sorted as
  strings (so ``destinationList`` comes before ``sourceList``);
* in those pairs the type comes first when the JSON gives it first (the input's key order);
* a bare string anywhere in an event becomes the one CBV / GS1 vocabulary URI that the event's
  vocabulary-typed fields expand to and that ends in ``-value`` or ``/value``;
* any value that reads as a number is written as one (``1.0`` becomes ``1``, ``0012`` ``12``).

The JSON-LD expansion the reference runs is replaced by the term definitions of the EPCIS 2.0
context, vendored in ``io/epcis_data/epcis-context.jsonld`` (the file served at
https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld; its SHA-256 is the name of the
reference implementation's cached copy). Prefixes of user extensions come from the document's own
``@context`` objects; a remote context other than the EPCIS one is never fetched.

Tests hold this module to the reference repository's example documents and hashes (MIT, vendored
in ``tests/io/data/epcis_hash``).

References
----------
GS1 (2022). Core Business Vocabulary (CBV) Standard 2.0, section 8.9 (EPCIS event hash ID).
GS1 (2022). EPC Tag Data Standard 2.0, section 6 (EPC URIs) and GS1 Digital Link URI Syntax 1.2,
section 4.11 (canonical GS1 Digital Link URIs).
IETF RFC 6920 (2013). Naming Things with Hashes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Final

CONTEXT_FILE: Final = "epcis-context.jsonld"
EPCIS_CONTEXT_URL: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
VERSION: Final = "CBV2.0"
VOCABULARY_ROOTS: Final = ("https://ref.gs1.org/cbv", "https://gs1.org/voc")
IGNORED_KEYS: Final = ("#text", "rdfs:comment", "comment")
NOT_HASHED: Final = ("recordTime", "eventID", "type", "errorDeclaration")
PAIR_LISTS: Final = ("sourceList", "destinationList", "bizTransactionList")
PAIR_KEYS: Final = ("bizTransaction", "source", "destination")
CBV_URNS: Final = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)

_QUANTITY: Final = (("epcClass", None), ("quantity", None), ("uom", None))
_SENSOR_METADATA: Final = tuple(
    (k, None)
    for k in (
        "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
        "dataProcessingMethod", "bizRules",
    )
)  # fmt: skip
_SENSOR_REPORT: Final = tuple(
    (k, None)
    for k in (
        "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
        "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
        "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev",
        "percRank", "percValue", "uom", "coordinateReferenceSystem",
    )
)  # fmt: skip
Order = tuple[tuple[str, "Order | None"], ...]
# the canonical property order of the reference implementation (the pair lists are matched by
# name only, so they fall through to the remainder, see the module docstring)
PROPERTY_ORDER: Final[Order] = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", (("epc", None),)),
    ("inputEPCList", (("epc", None),)),
    ("childEPCs", (("epc", None),)),
    ("quantityList", (("quantityElement", _QUANTITY),)),
    ("childQuantityList", (("quantityElement", _QUANTITY),)),
    ("inputQuantityList", (("quantityElement", _QUANTITY),)),
    ("outputEPCList", (("epc", None),)),
    ("outputQuantityList", (("quantityElement", _QUANTITY),)),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
    ("bizTransactionList", ()),
    ("sourceList", ()),
    ("destinationList", ()),
    (
        "sensorElementList",
        (
            (
                "sensorElement",
                (("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT)),
            ),
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# the event as a tree of (name, value, children)
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """One element of an event: its name, its text value and its children."""

    name: str
    value: str = ""
    children: list[Node | Pair] = field(default_factory=list)

    def key(self) -> tuple[Any, ...]:
        """A sort key of the node: name, value, then the keys of its children.

        Returns
        -------
        tuple
            Comparable key.
        """
        return (self.name, self.value, [c.key() for c in self.children])


@dataclass(eq=False)
class Pair:
    """An identifier and its type (a business transaction, a source, a destination)."""

    first: Node
    second: Node

    def key(self) -> tuple[Any, ...]:
        """A sort key of the pair: the keys of its two nodes.

        Returns
        -------
        tuple
            Comparable key.
        """
        return (self.first.key(), self.second.key())


def _namespaced(text: Any, prefixes: dict[str, str], *, value: bool = False) -> Any:
    """``prefix:local`` as ``{namespace}local`` (a key) or ``namespacelocal`` (a value)."""
    if not isinstance(text, str):
        return text
    head, sep, tail = text.partition(":")
    if sep and head in prefixes:
        return (prefixes[head] if value else "{" + prefixes[head] + "}") + tail
    return text


def _scalar(value: Any) -> str:
    """A JSON scalar as the text the reference gives it (Python's ``str``)."""
    return str(value)


def _tree(obj: Any, prefixes: dict[str, str], ignore: tuple[str, ...] = ()) -> Node:
    if isinstance(obj, list):
        return Node("", "", [_tree(child, prefixes) for child in obj])
    if not isinstance(obj, dict):
        return Node("", _scalar(_namespaced(obj, prefixes, value=True)))
    node = Node(str(obj["type"]) if "type" in obj else "")
    for key, val in obj.items():
        if key in IGNORED_KEYS or key in ignore or key.startswith("@xmlns"):
            continue
        child = _tree(val, prefixes)
        name = str(_namespaced(key, prefixes))
        if isinstance(val, list):
            for element in child.children:
                assert isinstance(element, Node)
                node.children.append(Node(name, element.value, element.children))
        else:
            node.children.append(Node(name, child.value, child.children))
    if not any(k in obj for k in PAIR_KEYS):
        node.children.sort(key=lambda c: c.key())
    return node


def _corrected(node: Node) -> Node:
    """The JSON form brought to the element structure of the XML binding (list elements named,
    identifier-type pairs, ``childEPCs``, input / output / child quantities)."""
    children: list[Node | Pair] = []
    lists: dict[str, list[Node]] = {}
    rest: list[Node | Pair] = []
    for child in node.children:
        if isinstance(child, Node) and child.name.endswith("List"):
            lists.setdefault(child.name, []).append(
                Node(child.name[:-4], child.value, child.children)
            )
        else:
            rest.append(child)
    for name, elements in lists.items():
        if name in PAIR_LISTS:
            pairs: list[Node | Pair] = []
            for e in elements:
                if len(e.children) < 2:
                    raise ValueError(f"{name}: an entry needs its identifier and its type")
                first, second = e.children[0], e.children[1]
                assert isinstance(first, Node) and isinstance(second, Node)
                pairs.append(Pair(first, second))
            rest.append(Node(name, "", pairs))
        else:
            rest.append(Node(name, "", list(elements)))
    epcs = [c for c in rest if isinstance(c, Node) and c.name == "childEPCs"]
    rest = [c for c in rest if not (isinstance(c, Node) and c.name == "childEPCs")]
    if epcs:
        rest.append(Node("childEPCs", "", [Node("epc", c.value, c.children) for c in epcs]))
    for child in rest:
        if isinstance(child, Node) and child.name not in PAIR_LISTS:
            children.append(_corrected(child))
        else:
            children.append(child)
    name = node.name
    if name in ("inputEPC", "outputEPC"):
        name = "epc"
    elif name in ("inputQuantity", "outputQuantity", "childQuantity") or (
        name == "quantity" and node.children
    ):
        name = "quantityElement"
    return Node(name, node.value, children)


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------


def utc_millisecond_time(text: str) -> str:
    """An ISO 8601 timestamp in UTC at millisecond precision with ``Z`` (CBV 2.0 8.9 rules 8-9).

    The text is returned unchanged when it is no timestamp.

    Parameters
    ----------
    text : str
        A timestamp with an offset, or any text.

    Returns
    -------
    str
        ``YYYY-MM-DDTHH:MM:SS.fffZ``, or ``text``.

    Examples
    --------
    >>> utc_millisecond_time("2020-03-04T11:00:30.000+01:00")
    '2020-03-04T10:00:30.000Z'

    References
    ----------
    .. [1] GS1 Core Business Vocabulary (CBV) 2.0 (2022), section 8.9 (event hash ID).
    """
    m = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|z|[+-]\d{2}:?\d{2})?", text
    )
    if m is None:
        return text
    micro = int((m.group(3) or "0")[:6].ljust(6, "0"))
    zone = m.group(4) or "Z"
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    try:
        moment = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{zone}")
    except ValueError:
        return text
    moment = moment.astimezone(UTC) + timedelta(microseconds=round(micro, -3))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(text: str) -> str:
    """A value that reads as a number, without trailing zeros (rule 6); others unchanged."""
    try:
        number = float(text)
        return str(int(number)) if int(number) == number else str(number)
    except (ValueError, OverflowError):
        return text


def canonical_value(text: str) -> str:
    """Canonical form of a value (CBV 2.0 8.9 rules 6, 14, 17, 18).

    CBV URNs as web URIs, numbers without trailing zeros, EPC URIs and Digital Links as
    constrained canonical GS1 Digital Links.

    Parameters
    ----------
    text : str
        A value of an event field.

    Returns
    -------
    str
        The canonical text.

    Examples
    --------
    >>> canonical_value("urn:epcglobal:cbv:bizstep:shipping"), canonical_value("10.500")
    ('https://ref.gs1.org/cbv/BizStep-shipping', '10.5')

    References
    ----------
    .. [1] GS1 Core Business Vocabulary (CBV) 2.0 (2022), section 8.9 (event hash ID).
    """
    for urn, uri in CBV_URNS:
        text = text.replace(urn, uri)
    text = _number(text)
    link = digital_link(text)
    return text if link is None else link


# --------------------------------------------------------------------------------------------
# the pre-hash string
# --------------------------------------------------------------------------------------------


def _ordered(children: list[Node | Pair], order: Order) -> str:
    """The pre-hash string of ``children`` in ``order``; the elements used are taken out of
    ``children`` (what stays goes to the remainder)."""
    out = ""
    extensions = _extensions(children)
    for name, sub in order:
        matching = [c for c in children if isinstance(c, Node) and c.name == name]
        values: list[str] = []
        for child in matching:
            text = _element(child, sub)
            if text:
                values.append(text)
            if not child.children:
                children.remove(child)
        values.sort()
        if "".join(values):
            out = "".join([out, *values]) if out else "".join(values)
    if extensions:
        out += _generic(extensions)
    return out


def _extensions(children: list[Node | Pair]) -> list[Node | Pair]:
    """User extensions inside a standard field (not at event level): taken out, appended after
    the field's own elements."""
    if len(children) <= 1:
        return []
    names = [c.name for c in children if isinstance(c, Node)]
    if any("eventTime" in n or "action" in n for n in names):
        return []
    found: list[Node | Pair] = [
        c for c in children if isinstance(c, Node) and "{" in c.name and "/}" in c.name
    ]
    for c in found:
        children.remove(c)
    return found


def _element(child: Node, sub: Order | None) -> str:
    inner = _ordered(child.children, sub) if sub else ""
    text = ""
    if child.value:
        text = child.value.strip()
        name = child.name.lower()
        text = (
            utc_millisecond_time(text)
            if "time" in name and "offset" not in name
            else (canonical_value(text))
        )
        if text:
            text = "=" + text
    return child.name + text + inner if text or inner else ""


def _generic(children: Iterable[Node | Pair]) -> str:
    """Elements outside the canonical order: ``key=value`` and their children, sorted."""
    items = list(children)
    values: list[str] = []
    for child in items:
        if isinstance(child, Pair):
            values.append(_generic([child.first, child.second]))
            continue
        text = child.value.strip()
        if text:
            text = "=" + canonical_value(text)
        values.append(child.name + text + _generic(child.children))
    if len(items) > 1 and not any(isinstance(c, Node) and c.name in PAIR_KEYS for c in items):
        values.sort()
    return "".join(values)


def pre_hash_string(
    event: dict[str, Any], context: Any = None, *, ignore_fields: Iterable[str] = ()
) -> str:
    """The canonical pre-hash string of one EPCIS 2.0 JSON event.

    Parameters
    ----------
    event : dict of str to Any
        One EPCIS 2.0 JSON event.
    context : Any, optional
        The document's ``@context``, for the prefixes of user extensions and the CBV vocabulary.
    ignore_fields : iterable of str, optional
        Event-level keys, as written, left out of the hash.

    Returns
    -------
    str
        The pre-hash string (hashed by :func:`event_hash_id`).

    Examples
    --------
    >>> event = {"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30.000+01:00",
    ...          "eventTimeZoneOffset": "+01:00", "action": "OBSERVE",
    ...          "epcList": ["urn:epc:id:sgtin:4012345.011111.987"]}
    >>> print(pre_hash_string(event))
    eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00epcListepc=https://id.gs1.org/01/04012345111118/21/987action=OBSERVE

    References
    ----------
    .. [1] GS1 Core Business Vocabulary (CBV) 2.0 (2022), section 8.9 (event hash ID).
    """
    prefixes = document_prefixes(context)
    expanded = _bare_words(event, context)
    node = _corrected(_tree(expanded, prefixes, tuple(ignore_fields)))
    children = node.children
    ordered = _ordered(children, PROPERTY_ORDER)
    rest = [c for c in children if not (isinstance(c, Node) and c.name in NOT_HASHED)]
    return "eventType=" + node.name + ordered + (_generic(rest) if rest else "")


def event_hash_id(
    event: dict[str, Any], context: Any = None, *, ignore_fields: Iterable[str] = ()
) -> str:
    """The CBV 2.0 event hash ID: ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920).

    Parameters
    ----------
    event : dict of str to Any
        One EPCIS 2.0 JSON event.
    context : Any, optional
        The document's ``@context``.
    ignore_fields : iterable of str, optional
        Event-level keys, as written, left out of the hash.

    Returns
    -------
    str
        The hash ID: SHA-256 of the UTF-8 :func:`pre_hash_string`.

    References
    ----------
    .. [1] GS1 Core Business Vocabulary (CBV) 2.0 (2022), section 8.9 (event hash ID).
    .. [2] RFC 6920, Naming Things with Hashes, 2013.

    Examples
    --------
    >>> import hashlib
    >>> event = {"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30.000+01:00",
    ...          "eventTimeZoneOffset": "+01:00", "action": "OBSERVE"}
    >>> digest = hashlib.sha256(pre_hash_string(event).encode()).hexdigest()
    >>> event_hash_id(event) == f"ni:///sha-256;{digest}?ver=CBV2.0"
    True
    """
    text = pre_hash_string(event, context, ignore_fields=ignore_fields)
    return f"ni:///sha-256;{hashlib.sha256(text.encode('utf-8')).hexdigest()}?ver={VERSION}"


def document_hash_ids(document: dict[str, Any], *, ignore_fields: Iterable[str] = ()) -> list[str]:
    """The event hash ID of every event of an EPCIS document (or query document).

    Parameters
    ----------
    document : dict of str to Any
        An EPCIS 2.0 JSON document or query document.
    ignore_fields : iterable of str, optional
        Event-level keys left out of the hash.

    Returns
    -------
    list of str
        One hash ID per event, in document order.

    References
    ----------
    .. [1] GS1 Core Business Vocabulary (CBV) 2.0 (2022), section 8.9 (event hash ID).
    """
    body = document.get("epcisBody", {})
    if "eventList" in body:
        events = body["eventList"]
    elif "queryResults" in body:
        events = body["queryResults"]["resultsBody"]["eventList"]
    else:
        events = [body["event"]]
    context = document.get("@context")
    ignore = tuple(ignore_fields)
    return [event_hash_id(e, context, ignore_fields=ignore) for e in events]


# --------------------------------------------------------------------------------------------
# contexts: prefixes and the CBV vocabulary
# --------------------------------------------------------------------------------------------


def document_prefixes(context: Any) -> dict[str, str]:
    """Prefixes the document's ``@context`` declares.

    Its inline objects declare them. A string entry is a reference to a remote context (JSON-LD
    1.1, section 3.1): it names no prefix itself and is never fetched, so it declares none here
    (the EPCIS context's own terms come from its vendored copy).

    Parameters
    ----------
    context : Any
        The ``@context`` value (a string, an object or a list of them).

    Returns
    -------
    dict of str to str
        Prefix -> namespace.

    Examples
    --------
    >>> document_prefixes([EPCIS_CONTEXT_URL, {"ex": "https://example.org/ns/"}])
    {'ex': 'https://example.org/ns/'}
    """
    entries = context if isinstance(context, list) else [context]
    out: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, dict):
            out.update({k: v for k, v in entry.items() if isinstance(v, str)})
    return out


@cache
def _epcis_context() -> dict[str, Any]:
    text = (resources.files("greenstream.io") / "epcis_data" / CONTEXT_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)["@context"]
    return loaded


def _expand_iri(text: str, prefixes: dict[str, str]) -> str:
    head, sep, tail = text.partition(":")
    if sep and head in prefixes and not tail.startswith("//"):
        return prefixes[head] + tail
    return text


@dataclass(frozen=True)
class _Scope:
    """Active term definitions: prefixes, and for each vocabulary-typed term its word map."""

    prefixes: dict[str, str]
    terms: dict[str, Any]


def _merge(scope: _Scope, context: Any) -> _Scope:
    prefixes = dict(scope.prefixes)
    terms = dict(scope.terms)
    for part in context if isinstance(context, list) else [context]:
        if not isinstance(part, dict):
            continue
        for k, v in part.items():
            if k.startswith("@"):
                continue
            if isinstance(v, str):
                terms[k] = v
                if v.endswith(("/", "#", ":")):
                    prefixes[k] = v
            elif isinstance(v, dict):
                terms[k] = v
    return _Scope(prefixes, terms)


def _root_scope(context: Any) -> _Scope:
    return _root_scope_of(json.dumps(context, sort_keys=True))


@cache
def _root_scope_of(context_json: str) -> _Scope:
    """The EPCIS context and the document's inline objects (one merge per distinct context)."""
    context = json.loads(context_json)
    scope = _merge(_Scope({}, {}), _epcis_context())
    for part in context if isinstance(context, list) else [context]:
        if isinstance(part, dict):
            scope = _merge(scope, part)
    return scope


def _vocabulary_value(text: str, definition: dict[str, Any], scope: _Scope) -> str:
    """A value of a ``@vocab``-typed term expanded as JSON-LD would: a term of the scoped
    context, else a compact IRI, else the scoped ``@vocab`` + value."""
    inner = _merge(scope, definition.get("@context", {}))
    mapped = inner.terms.get(text)
    if isinstance(mapped, str):
        return _expand_iri(mapped, inner.prefixes)
    if ":" in text:
        return _expand_iri(text, inner.prefixes)
    for part in (
        (definition.get("@context") or [{}])
        if isinstance(definition.get("@context"), list)
        else [definition.get("@context") or {}]
    ):
        if isinstance(part, dict) and isinstance(part.get("@vocab"), str):
            return _expand_iri(part["@vocab"], inner.prefixes) + text
    return text


def _collect(obj: Any, scope: _Scope, out: set[str]) -> None:
    """The expanded values of vocabulary-typed (and IRI-typed) fields of ``obj``."""
    if isinstance(obj, list):
        for item in obj:
            _collect(item, scope, out)
        return
    if not isinstance(obj, dict):
        return
    for key, val in obj.items():
        definition = scope.terms.get(key)
        if not isinstance(definition, dict):
            if key == "type" and isinstance(val, str):
                out.add(_expand_iri(val, scope.prefixes))
            _collect(val, scope, out)
            continue
        inner = _merge(scope, definition["@context"]) if "@context" in definition else scope
        typed = definition.get("@type")
        for item in val if isinstance(val, list) else [val]:
            if isinstance(item, str) and typed == "@vocab":
                out.add(_vocabulary_value(item, definition, scope))
            elif isinstance(item, str) and typed == "@id":
                out.add(_expand_iri(item, scope.prefixes))
            else:
                _collect(item, inner, out)


def _bare_words(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The event with every bare string that names exactly one expanded CBV / GS1 vocabulary
    value (ending in ``-word`` or ``/word``) replaced by that value."""
    expanded: set[str] = set()
    _collect(event, _root_scope(context), expanded)
    vocabulary = sorted(v for v in expanded if v.startswith(VOCABULARY_ROOTS))

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            hits = [v for v in vocabulary if v.endswith("-" + value) or v.endswith("/" + value)]
            return hits[0] if len(hits) == 1 else value
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    swapped: dict[str, Any] = swap(event)
    return swapped


# --------------------------------------------------------------------------------------------
# EPC URIs and GS1 Digital Links
# --------------------------------------------------------------------------------------------

_ENCODED = {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
_DL_KEYS: Final = (
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010",
    "8017", "8018",
)  # fmt: skip
_DL_ALIASES: Final = (
    ("/gtin/", "/01/"), ("/itip/", "/8006/"), ("/cpid/", "/8010/"), ("/gln/", "/414/"),
    ("/party/", "/417/"), ("/gsrnp/", "/8017/"), ("/gsrn/", "/8018/"), ("/gcn/", "/255/"),
    ("/sscc/", "/00/"), ("/gdti/", "/253/"), ("/ginc/", "/401/"), ("/gsin/", "/402/"),
    ("/grai/", "/8003/"), ("/giai/", "/8004/"), ("/cpv/", "/22/"), ("/lot/", "/10/"),
    ("/ser/", "/21/"),
)  # fmt: skip
_AI_CHARS = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
_CANONICAL: Final = tuple(
    re.compile(p)
    for p in (
        r"https://id\.gs1\.org/00/\d{18}$",
        rf"https://id\.gs1\.org/01/\d{{14}}/21/{_AI_CHARS}{{0,20}}$",
        rf"https://id\.gs1\.org/01/\d{{14}}/10/{_AI_CHARS}{{0,20}}$",
        r"https://id\.gs1\.org/01/\d{14}$",
        rf"https://id\.gs1\.org/01/\d{{14}}/235/{_AI_CHARS}{{0,28}}$",
        rf"https://id\.gs1\.org/253/\d{{13}}{_AI_CHARS}{{0,17}}$",
        r"https://id\.gs1\.org/255/\d{13}\d{0,12}$",
        rf"https://id\.gs1\.org/401/{_AI_CHARS}{{0,30}}$",
        r"https://id\.gs1\.org/402/\d{17}$",
        r"https://id\.gs1\.org/414/\d{13}$",
        rf"https://id\.gs1\.org/414/\d{{13}}/254/{_AI_CHARS}{{0,20}}$",
        r"https://id\.gs1\.org/417/\d{13}$",
        rf"https://id\.gs1\.org/8003/\d{{14}}{_AI_CHARS}{{0,16}}$",
        rf"https://id\.gs1\.org/8004/{_AI_CHARS}{{0,30}}$",
        rf"https://id\.gs1\.org/8006/\d{{18}}/21/{_AI_CHARS}{{0,20}}$",
        rf"https://id\.gs1\.org/8006/\d{{18}}/10/{_AI_CHARS}{{0,20}}$",
        r"https://id\.gs1\.org/8006/\d{18}$",
        r"https://id\.gs1\.org/8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}/8011/\d{0,12}$",
        r"https://id\.gs1\.org/8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}$",
        r"https://id\.gs1\.org/8017/\d{18}$",
        r"https://id\.gs1\.org/8018/\d{18}$",
    )
)


def _web_safe(text: str) -> str:
    """Percent-encode what GS1 Digital Link (table 7-1) asks for and EPC URIs leave plain."""
    return "".join(_ENCODED.get(ch, ch) for ch in text)


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit (GS1 General Specifications 7.9.1): weights 3, 1 from the right.

    Parameters
    ----------
    digits : str
        The digits without the check digit.

    Returns
    -------
    str
        The check digit, one character.

    Examples
    --------
    >>> check_digit("629104150021")
    '3'
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _split_cp(body: str, total: int) -> tuple[str, str, str] | None:
    """``company.reference.rest`` with a company prefix of 6-12 digits and ``total`` digits in
    prefix + reference; ``None`` when the shape differs."""
    m = re.fullmatch(r"(\d{6,12})\.(\d*)(?:\.(.*))?", body)
    if m is None or len(m.group(1)) + len(m.group(2)) != total:
        return None
    return m.group(1), m.group(2), m.group(3) if m.group(3) is not None else ""


def _gtin(company: str, item: str) -> str:
    """GTIN-14 from an SGTIN's company prefix and indicator + item reference."""
    raw = item[:1] + company + item[1:]
    return raw + check_digit(raw)


def _epc_to_link(uri: str) -> str | None:
    """An EPC URI, EPC class URI or EPC pattern URI as a canonical GS1 Digital Link (TDS 2.0)."""
    m = re.fullmatch(r"urn:epc:(id|class|idpat):([a-z]+):(.+)", uri)
    if m is None:
        return None
    kind, scheme, body = m.groups()
    base = "https://id.gs1.org/"
    if kind == "id":
        if scheme in ("sgtin", "upui"):
            p = _split_cp(body, 13)
            if p is None or not p[2]:
                return None
            ai = "21" if scheme == "sgtin" else "235"
            return f"{base}01/{_gtin(p[0], p[1])}/{ai}/{_web_safe(p[2])}"
        if scheme == "sscc":
            p = _split_cp(body, 17)
            if p is None or p[2]:
                return None
            raw = p[1][:1] + p[0] + p[1][1:]
            return f"{base}00/{raw}{check_digit(raw)}"
        if scheme in ("sgln", "pgln"):
            p = _split_cp(body, 12)
            if p is None:
                return None
            gln = p[0] + p[1] + check_digit(p[0] + p[1])
            if scheme == "pgln":
                return None if p[2] else f"{base}417/{gln}"
            return f"{base}414/{gln}" + ("" if p[2] == "0" else f"/254/{_web_safe(p[2])}")
        if scheme == "grai":
            p = _split_cp(body, 12)
            if p is None or not p[2]:
                return None
            raw = "0" + p[0] + p[1]
            return f"{base}8003/{raw}{check_digit(raw)}{_web_safe(p[2])}"
        if scheme in ("giai", "ginc"):
            q = re.fullmatch(r"(\d{6,12})\.(.+)", body)
            if q is None:
                return None
            ai = "8004" if scheme == "giai" else "401"
            return f"{base}{ai}/{q.group(1)}{_web_safe(q.group(2))}"
        if scheme in ("gsrn", "gsrnp"):
            p = _split_cp(body, 17)
            if p is None or p[2]:
                return None
            raw = p[0] + p[1]
            return f"{base}{'8018' if scheme == 'gsrn' else '8017'}/{raw}{check_digit(raw)}"
        if scheme in ("gdti", "sgcn"):
            p = _split_cp(body, 12)
            if p is None:
                return None
            raw = p[0] + p[1]
            ai = "253" if scheme == "gdti" else "255"
            serial = _web_safe(p[2]) if scheme == "gdti" else p[2]
            return f"{base}{ai}/{raw}{check_digit(raw)}{serial}"
        if scheme == "gsin":
            p = _split_cp(body, 16)
            if p is None or p[2]:
                return None
            raw = p[0] + p[1]
            return f"{base}402/{raw}{check_digit(raw)}"
        if scheme == "cpi":
            q = re.fullmatch(r"(\d{6,12})\.(.+)\.(\d+)", body)
            if q is None:
                return None
            return f"{base}8010/{_web_safe(q.group(1) + q.group(2))}/8011/{q.group(3)}"
        if scheme == "itip":
            q = re.fullmatch(r"(\d{6,12})\.(\d+)\.(\d{2})\.(\d{2})\.(.+)", body)
            if q is None or len(q.group(1)) + len(q.group(2)) != 13:
                return None
            gtin = _gtin(q.group(1), q.group(2))
            return f"{base}8006/{gtin}{q.group(3)}{q.group(4)}/21/{_web_safe(q.group(5))}"
        return None
    if kind == "class" and scheme == "lgtin":
        p = _split_cp(body, 13)
        if p is None or not p[2]:
            return None
        return f"{base}01/{_gtin(p[0], p[1])}/10/{_web_safe(p[2])}"
    if kind == "idpat" and body.endswith(".*"):
        body = body[:-2]
        if scheme in ("sgtin", "upui"):
            p = _split_cp(body, 13)
            return None if p is None or p[2] else f"{base}01/{_gtin(p[0], p[1])}"
        if scheme in ("grai", "gdti", "sgcn"):
            p = _split_cp(body, 12)
            if p is None or p[2]:
                return None
            raw = ("0" if scheme == "grai" else "") + p[0] + p[1]
            ai = {"grai": "8003", "gdti": "253", "sgcn": "255"}[scheme]
            return f"{base}{ai}/{raw}{check_digit(raw)}"
        if scheme == "cpi":
            q = re.fullmatch(r"(\d{6,12})\.(.+)", body)
            return None if q is None else f"{base}8010/{_web_safe(q.group(1) + q.group(2))}"
        if scheme == "itip":
            q = re.fullmatch(r"(\d{6,12})\.(\d+)\.(\d{2})\.(\d{2})", body)
            if q is None or len(q.group(1)) + len(q.group(2)) != 13:
                return None
            return f"{base}8006/{_gtin(q.group(1), q.group(2))}{q.group(3)}{q.group(4)}"
    return None


def _link_to_canonical(uri: str) -> str | None:
    """A GS1 Digital Link URI as a constrained canonical one: id.gs1.org, no query string, the
    finest key level only (rule 18)."""
    path = re.fullmatch(r"https?://[^/?#]*(/[^?#]*)(?:[?#].*)?", uri)
    if path is None:
        return None
    tail = path.group(1)
    for alias, ai in _DL_ALIASES:
        tail = tail.replace(alias, ai)
    start = -1
    for ai in _DL_KEYS:
        at = tail.find(f"/{ai}/")
        if at != -1 and (start == -1 or at < start):
            start = at
    if start == -1:
        return None
    uri = "https://id.gs1.org" + tail[start:]
    gtin = re.match(r"https://id\.gs1\.org/01/(\d+)", uri)
    if gtin is not None and len(gtin.group(1)) in (8, 12, 13):
        uri = uri.replace("/01/", "/01/" + "0" * (14 - len(gtin.group(1))), 1)
    uri = (
        re.sub(r"/22/[^/]*", "", uri) if re.match(r"https://id\.gs1\.org/(01|8006)/", uri) else uri
    )
    if re.match(rf"https://id\.gs1\.org/(01/\d{{14}}|8006/\d{{18}})/10/{_AI_CHARS}*/21/", uri):
        uri = re.sub(r"/10/[^/]*", "", uri, count=1)
    return uri if any(p.match(uri) for p in _CANONICAL) else None


def digital_link(uri: str) -> str | None:
    """The constrained canonical GS1 Digital Link of an EPC URI, else None.

    Accepts an EPC URI, EPC class or pattern URI, or GS1 Digital Link URI.

    Parameters
    ----------
    uri : str
        The identifier.

    Returns
    -------
    str or None
        The Digital Link, or None for anything else.

    References
    ----------
    .. [1] GS1 Digital Link URI Syntax 1.2; GS1 EPC Tag Data Standard 2.0.

    Examples
    --------
    >>> digital_link("urn:epc:id:sgtin:4012345.011111.987")
    'https://id.gs1.org/01/04012345111118/21/987'
    """
    if uri.startswith("urn:epc:"):
        return _epc_to_link(uri)
    if uri.startswith(("http://", "https://")):
        return _link_to_canonical(uri)
    return None
