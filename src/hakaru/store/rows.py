"""The lean row format of the call records (store schema 5): what a record costs on disk.

Design choice: a million-step MAKER run records three million calls, and the store's size and
write time are set by the bytes of one row and the columns bound to write it. Schema 3 kept one
column per :class:`~hakaru.types.CallRecord` field as the record holds it — about 290 bytes a
record; schema 4 interned every text (about 150 bytes at 20 disks, 27 columns bound per call).
Schema 5 keeps the same fields, encoded so that nothing repeated is stored twice and nothing
derivable is stored at all:

- **the key**: one integer, ``run number × 2^32 + call id``, is the rowid of ``call_rows``: the
  rows of a run are a range of keys, appended in key order (so their pages fill up), and the run
  and the id cost no column of their own (call ids are 0 … 2^32 − 1);
- **the kind**: the fields that repeat from call to call — role, model, attempt, status, error
  kind and text, usage source, size, finish reason, reasoning budget (:data:`KIND_FIELDS`) —
  are one row of the table ``kinds``, stored once; a call keeps its id. The writer keeps a
  bounded memo of the kinds it stored;
- **the candidate** (and any text field added to the record later) is an id into the table
  ``strings`` (``""`` is 0), with a bounded memo too, so the k votes of a step that agree share
  one string; a text or kind may be stored under several ids (after a memo is cleared, or by
  another process) — reading only maps ids back;
- **parents** are the distances back from the call's own id, comma-separated (``"3,2,1"``;
  ``""``: none): a vote's parents are the calls just before it;
- **sim_end** is ``""`` when it is what the session computes, ``sim_start + latency``
  (``sim_start`` for a cached call) — exactly, in the same floating-point operation;
- **None** in a number field (``dollars``, ``step``, ``vote``) is ``""``, which no number column
  holds otherwise: Python's sqlite3 looks an adapter up for every NULL it binds, which cost
  more than the rest of the row's binding.

The marks take no bytes in a row: SQLite stores 0 and ``""`` in its header alone.

The view ``calls`` shows the rows as schema 3 stored them (run id, texts, parents as a JSON list,
sim_end), so SQL written against the old table still reads; writes go to ``call_rows``.
Decoding is exact: every record reads back equal to the one written (a test checks every field).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from hakaru.errors import StoreError
from hakaru.store.columns import FIELDS, sql_column, sql_type
from hakaru.types import CallRecord, RecordRow

__all__ = [
    "INTERNED",
    "KIND_FIELDS",
    "OPTIONAL",
    "PHYSICAL",
    "RowCodec",
    "decode",
    "kinds_sql",
    "physical_column",
    "physical_columns_sql",
    "read_sql",
    "view_sql",
]

_TYPES = {f.name: str(f.type) for f in fields(CallRecord)}
#: The fields kept once per distinct combination in the table ``kinds`` (fixed by schema 5: a
#: field added to the record later gets a column of ``call_rows``).
KIND_FIELDS: tuple[str, ...] = (
    "role",
    "model",
    "attempt",
    "status",
    "error_kind",
    "error",
    "usage_source",
    "size",
    "finish_reason",
    "reasoning_budget",
)
#: The record's other text fields, stored as ids into ``strings``.
INTERNED: frozenset[str] = frozenset(
    name
    for name, annotation in _TYPES.items()
    if name not in ("run_id", *KIND_FIELDS) and annotation in ("str", "CallStatus", "UsageSource")
)
#: The columns of ``call_rows``: the key, the parents, the kind, then the record's other fields
#: in field order.
PHYSICAL: tuple[str, ...] = (
    "key",
    "parents",
    "kind",
    *(n for n in FIELDS if n not in ("id", "parents", "run_id", *KIND_FIELDS)),
)
#: Number fields of ``call_rows`` that may hold None (stored as "").
OPTIONAL: tuple[str, ...] = tuple(
    name
    for name in PHYSICAL[3:]
    if "None" in _TYPES[name] and sql_type(name) in ("INTEGER", "REAL") and name != "sim_end"
)
_ID_BITS = 32  # the key is run number << 32 | call id
_I = {name: FIELDS.index(name) for name in FIELDS}
_I_OPTIONAL = tuple(_I[name] for name in OPTIONAL)
_I_TEXT = tuple(_I[name] for name in INTERNED)
_I_KIND = _I[KIND_FIELDS[0]]
_MEMO = 1 << 12  # texts and kinds the writer remembers: a step's votes share texts, steps do not


def physical_column(name: str, *, added: bool = False) -> str:
    """The definition of column ``name`` of ``call_rows``. ``added``: for a field new since
    the store was made — one with a number as its default gets it as the column's default,
    so that the rows stored before read back as that number (:func:`~.columns.sql_column`)."""
    if name == "key":
        return '"key" INTEGER PRIMARY KEY'
    if name in ("kind", *INTERNED):
        return f'"{name}" INTEGER'
    if name in ("parents", "sim_end"):
        return f'"{name}" {"TEXT" if name == "parents" else "REAL"}'
    return sql_column(name) if added else f'"{name}" {sql_type(name)}'


def physical_columns_sql() -> str:
    """The column definitions of ``call_rows``."""
    return ", ".join(physical_column(name) for name in PHYSICAL)


def kinds_sql() -> str:
    """``CREATE TABLE kinds``: one row per distinct combination of :data:`KIND_FIELDS`."""
    columns = ", ".join(f'"{name}" {sql_type(name)}' for name in KIND_FIELDS)
    return f"CREATE TABLE IF NOT EXISTS kinds (id INTEGER PRIMARY KEY, {columns})"


def _text(name: str) -> str:
    return f"s_{name}"


def _selected(view: bool) -> list[str]:
    """The select list, in record field order, over ``call_rows c`` joined to ``kinds k`` and to
    one ``strings`` alias per interned field (and, for the view, ``runs r``)."""
    out = []
    for name in FIELDS:
        if name == "id":
            expr = f"c.key & {(1 << _ID_BITS) - 1}"
        elif name == "run_id":
            expr = "r.id" if view else f"c.key >> {_ID_BITS}"
        elif name in KIND_FIELDS:
            expr = f'k."{name}"'
        elif name in INTERNED:
            expr = f"{_text(name)}.text" if not view else f"COALESCE({_text(name)}.text, '')"
        elif view and name == "parents":
            expr = (
                "CASE WHEN c.parents = '' THEN '[]' ELSE (SELECT json_group_array("
                f"(c.key & {(1 << _ID_BITS) - 1}) - value) FROM json_each('[' || c.parents || ']'))"
                " END"
            )
        elif view and name == "sim_end":
            expr = (
                "COALESCE(NULLIF(c.sim_end, ''), CASE WHEN k.status = 'cached' "
                "THEN c.sim_start ELSE c.sim_start + c.latency END)"
            )
        elif view and name in OPTIONAL:
            expr = f"NULLIF(c.\"{name}\", '')"
        else:
            expr = f'c."{name}"'
        out.append(f'{expr} AS "{name}"')
    return out


def _joins() -> str:
    texts = " ".join(
        f'LEFT JOIN strings {_text(name)} ON {_text(name)}.id = c."{name}"'
        for name in sorted(INTERNED)
    )
    # LEFT: a row whose kind is missing (a damaged file) is read, and refused, not skipped
    return f"LEFT JOIN kinds k ON k.id = c.kind {texts}"


def view_sql() -> str:
    """``CREATE VIEW calls``: the rows as schema 3 stored them (for SQL written against it)."""
    return (
        f"CREATE VIEW calls AS SELECT {', '.join(_selected(view=True))} FROM runs r "
        # a key range, not r.num = c.key >> 32: a run's rows are then read by rowid range
        f"JOIN call_rows c ON c.key BETWEEN r.num << {_ID_BITS} "
        f"AND (r.num << {_ID_BITS}) + {(1 << _ID_BITS) - 1} {_joins()}"
    )


def read_sql(where: str = "") -> str:
    """The query the store reads a run's records with: two parameters, the run's first and
    last key (:func:`key_range`); ``where``: more conditions, ANDed."""
    extra = f" AND ({where})" if where else ""
    return (
        f"SELECT {', '.join(_selected(view=False))} FROM call_rows c {_joins()} "
        f"WHERE c.key BETWEEN ? AND ?{extra} ORDER BY c.key"
    )


def key_range(run: int) -> tuple[int, int]:
    """The first and last key of the run numbered ``run``."""
    return run << _ID_BITS, ((run + 1) << _ID_BITS) - 1


def key_of(run: int, call_id: int) -> int | None:
    """The key of call ``call_id`` of the run numbered ``run`` (None: no call can have that id)."""
    if not 0 <= call_id < 1 << _ID_BITS:
        return None
    return (run << _ID_BITS) | call_id


def decode(row: Sequence[Any], run_id: str) -> CallRecord:
    """The record of a row of :func:`read_sql` (kinds and texts already joined) of ``run_id``."""
    values = list(row)
    own = values[_I["id"]]
    if values[_I_KIND] is None:  # every kind has a role ("" at least): this one is missing
        raise StoreError(
            f"The run store is damaged: call {own} of run {run_id} names a kind of call (role, "
            "model, status, …) that the table kinds does not hold. Restore the file from a "
            "copy or re-run; `sqlite3 FILE 'PRAGMA integrity_check'` shows what else is wrong."
        )
    deltas = values[_I["parents"]]
    values[_I["parents"]] = () if not deltas else tuple(own - int(d) for d in deltas.split(","))
    for i in _I_TEXT:
        if values[i] is None:
            values[i] = ""
    for i in _I_OPTIONAL:
        if values[i] == "":
            values[i] = None
    if values[_I["sim_end"]] == "":
        start = values[_I["sim_start"]]
        cached = values[_I["status"]] == "cached"
        values[_I["sim_end"]] = start if cached else start + values[_I["latency"]]
    values[_I["run_id"]] = run_id
    return CallRecord(*values)


def _encoder_source() -> str:
    """The source of ``_encode_one(r, get, intern, kind, base)``: one record row → one
    ``call_rows`` row, written out field by field (it runs once per stored call; a loop over
    the fields costs three times as much)."""
    i = _I
    kind = ", ".join(f"r[{i[name]}]" for name in KIND_FIELDS)
    lines = [
        "def _encode_one(r, get, intern, kind_id, new_kind, base):",
        f"    own = r[{i['id']}]",
        f"    if own >> {_ID_BITS}:",
        "        raise _bad_id(own)",
        f"    p = r[{i['parents']}]",
        "    n = len(p)",
        # f-strings for the usual one to three parents: twice as fast as a join over a map
        "    parents = ('' if not n else str(own - p[0]) if n == 1 else"
        " f'{own - p[0]},{own - p[1]}' if n == 2 else"
        " f'{own - p[0]},{own - p[1]},{own - p[2]}' if n == 3 else"
        " ','.join(map(str, map(own.__sub__, p))))",
        f"    k = ({kind},)",
        "    kid = kind_id(k) or new_kind(k)",
    ]
    parts = ["base | own", "parents", "kid"]
    for name in PHYSICAL[3:]:
        j = i[name]
        if name in INTERNED:
            lines.append(f"    t = r[{j}]")
            lines.append(f"    v{j} = (get(t) or intern(t)) if t else 0")
            parts.append(f"v{j}")
        elif name == "sim_end":
            start, latency, status = i["sim_start"], i["latency"], i["status"]
            lines.append(f"    e = r[{j}]")
            lines.append(
                f"    v{j} = '' if e == (r[{start}] if r[{status}] == 'cached' "
                f"else r[{start}] + r[{latency}]) else e"
            )
            parts.append(f"v{j}")
        elif name in OPTIONAL:
            parts.append(f"('' if r[{j}] is None else r[{j}])")
        else:
            parts.append(f"r[{j}]")
    lines.append(f"    return ({', '.join(parts)},)")
    return "\n".join(lines) + "\n"


def _bad_id(call_id: int) -> StoreError:
    return StoreError(
        f"Call id {call_id} cannot be stored: a run store keeps call ids from 0 to "
        f"{(1 << _ID_BITS) - 1}. Number a run's calls from 0 or 1."
    )


_namespace: dict[str, Any] = {"_bad_id": _bad_id}
exec(_encoder_source(), _namespace)
_encode_one = _namespace["_encode_one"]


class RowCodec:
    """Encodes records into rows of ``call_rows``, storing their kinds and interning their texts.

    Used inside one write transaction: :meth:`begin` with the next free ids of ``strings`` and
    ``kinds``, :meth:`encode` per batch, then :meth:`new_strings` and :meth:`new_kinds` (to
    insert before the rows) and :meth:`commit` — or :meth:`rollback`, which forgets what a
    failed transaction stored.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}  # text → id, bounded by _MEMO
        self._kinds: dict[tuple[Any, ...], int] = {}  # kind → id, bounded by _MEMO
        self._new: list[tuple[int, str]] = []
        self._new_kinds: list[tuple[Any, ...]] = []
        self._next = 1
        self._next_kind = 1

    def begin(self, next_id: int, next_kind: int) -> None:
        """Start a transaction; ``next_id`` and ``next_kind`` are one above the largest ids in
        ``strings`` and ``kinds``."""
        if len(self._ids) >= _MEMO:
            self._ids.clear()
        if len(self._kinds) >= _MEMO:
            self._kinds.clear()
        self._new, self._new_kinds = [], []
        self._next, self._next_kind = next_id, next_kind

    def _intern(self, text: str) -> int:
        i = self._next
        self._next = i + 1
        self._ids[text] = i
        self._new.append((i, text))
        return i

    def _new_kind(self, kind: tuple[Any, ...]) -> int:
        i = self._next_kind
        self._next_kind = i + 1
        self._kinds[kind] = i
        self._new_kinds.append((i, *kind))
        return i

    def encode(self, records: Iterable[RecordRow], run: int) -> list[tuple[Any, ...]]:
        """The rows of ``call_rows`` for records (given as their rows, in
        :data:`~hakaru.types.RECORD_FIELDS` order) stored under the run numbered ``run``."""
        one, get, intern = _encode_one, self._ids.get, self._intern
        kind_id, new_kind, base = self._kinds.get, self._new_kind, run << _ID_BITS
        return [one(record, get, intern, kind_id, new_kind, base) for record in records]

    def new_strings(self) -> list[tuple[int, str]]:
        """The texts this transaction interned, as rows of ``strings``."""
        return self._new

    def new_kinds(self) -> list[tuple[Any, ...]]:
        """The kinds this transaction stored, as rows of ``kinds`` (id first)."""
        return self._new_kinds

    def commit(self) -> None:
        self._new, self._new_kinds = [], []

    def rollback(self) -> None:
        for _, text in self._new:
            self._ids.pop(text, None)
        for kind in self._new_kinds:
            self._kinds.pop(kind[1:], None)
        self._new, self._new_kinds = [], []
