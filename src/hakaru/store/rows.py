"""The lean row format of the ``calls`` records (store schema 4): what a record costs on disk.

Design choice: a million-step MAKER run records three million calls, and the store's size and
write time are set by the bytes of one row. Schema 3 kept one column per
:class:`~hakaru.types.CallRecord` field as the record holds it — the run id, the role, the
model, the status and the candidate as text in every row, the parents as a JSON list of
absolute ids, every float in 8 bytes — about 290 bytes a record. Schema 4 keeps the same
fields, one column each, in the table ``call_rows``, encoded so that nothing repeated is
stored twice and nothing derivable is stored at all:

- **the run** is the run's number (``runs.num``, a small integer) instead of its 12-character id;
- **text fields** (role, model, status, error kind, error, usage source, candidate, finish
  reason — every ``str`` field of the record, including fields added later) are ids into the
  table ``strings`` (``""`` is 0). The writer keeps a bounded memo of the texts it stored,
  so the k votes of a step that agree share one string; a text may be stored under several
  ids (after the memo is cleared, or by another process) — reading only maps ids to texts;
- **parents** are the distances back from the call's own id, comma-separated (``"3,2,1"``;
  ``""``: none): a vote's parents are the calls just before it;
- **sim_end** is ``""`` when it is what the session computes, ``sim_start + latency``
  (``sim_start`` for a cached call) — exactly, in the same floating-point operation;
- **None** in a number field (``dollars``, ``step``, ``vote``, ``reasoning_budget``) is ``""``,
  which no number column holds otherwise: Python's sqlite3 looks an adapter up for every NULL
  it binds, which cost more than the rest of the row's binding.

The marks take no bytes in a row: SQLite stores 0 and ``""`` in its header alone.

The view ``calls`` shows the rows as schema 3 stored them (run id, texts, parents as a JSON list,
sim_end), so SQL written against the old table still reads; writes go to ``call_rows``.
Decoding is exact: every record reads back equal to the one written (a test checks every field).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from hakaru.store.columns import FIELDS, sql_column, sql_type
from hakaru.types import CallRecord, RecordRow

__all__ = [
    "INTERNED",
    "OPTIONAL",
    "PHYSICAL",
    "RowCodec",
    "decode",
    "physical_column",
    "physical_columns_sql",
    "read_sql",
    "view_sql",
]

_TYPES = {f.name: str(f.type) for f in fields(CallRecord)}
#: The record's text fields, stored as ids into ``strings`` (``run_id`` is the run's number).
INTERNED: frozenset[str] = frozenset(
    name
    for name, annotation in _TYPES.items()
    if name != "run_id" and annotation in ("str", "CallStatus", "UsageSource")
)
#: The columns of ``call_rows`` in field order: the record's fields, ``run`` for ``run_id``.
PHYSICAL: tuple[str, ...] = tuple("run" if name == "run_id" else name for name in FIELDS)

_I_ID = FIELDS.index("id")
_I_PARENTS = FIELDS.index("parents")
_I_STATUS = FIELDS.index("status")
_I_LATENCY = FIELDS.index("latency")
_I_SIM_START = FIELDS.index("sim_start")
_I_SIM_END = FIELDS.index("sim_end")
_I_RUN = FIELDS.index("run_id")
_I_TEXT = tuple(i for i, name in enumerate(FIELDS) if name in INTERNED)
#: Number fields that may hold None (stored as "").
_OPTIONAL = tuple(
    name
    for name in FIELDS
    if "None" in _TYPES[name] and sql_type(name) in ("INTEGER", "REAL") and name != "sim_end"
)
_I_OPTIONAL = tuple(FIELDS.index(name) for name in _OPTIONAL)
OPTIONAL: tuple[str, ...] = _OPTIONAL
_MEMO = 1 << 16  # texts the writer remembers (the candidates of a long run are all distinct)


def physical_column(name: str, *, added: bool = False) -> str:
    """The definition of column ``name`` of ``call_rows``. ``added``: for a field new since
    the store was made — one with a number as its default gets it as the column's default,
    so that the rows stored before read back as that number (:func:`~.columns.sql_column`)."""
    if name == "run":
        return '"run" INTEGER NOT NULL'
    if name in INTERNED:
        return f'"{name}" INTEGER'
    if name in ("parents", "sim_end"):
        return f'"{name}" {"TEXT" if name == "parents" else "REAL"}'
    return sql_column(name) if added else f'"{name}" {sql_type(name)}'


def physical_columns_sql() -> str:
    """The column definitions of ``call_rows`` (without its key)."""
    return ", ".join(physical_column(name) for name in PHYSICAL)


def _text(name: str) -> str:
    return f"s_{name}"


def _selected(view: bool) -> list[str]:
    """The select list over ``call_rows c`` joined to one ``strings`` alias per text field."""
    out = []
    for name in PHYSICAL:
        if name in INTERNED:
            expr = f"{_text(name)}.text" if not view else f"COALESCE({_text(name)}.text, '')"
        elif name == "run":
            expr = "r.id" if view else "c.run"
        elif view and name == "parents":
            expr = (
                "CASE WHEN c.parents = '' THEN '[]' ELSE (SELECT json_group_array(c.id - "
                "value) FROM json_each('[' || c.parents || ']')) END"
            )
        elif view and name == "sim_end":
            status = f"{_text('status')}.text"
            expr = (
                f"COALESCE(NULLIF(c.sim_end, ''), CASE WHEN {status} = 'cached' "
                "THEN c.sim_start ELSE c.sim_start + c.latency END)"
            )
        elif view and name in _OPTIONAL:
            expr = f"NULLIF(c.\"{name}\", '')"
        else:
            expr = f'c."{name}"'
        out.append(f'{expr} AS "{"run_id" if view and name == "run" else name}"')
    return out


def _joins() -> str:
    return " ".join(
        f'LEFT JOIN strings {_text(name)} ON {_text(name)}.id = c."{name}"'
        for name in PHYSICAL
        if name in INTERNED
    )


def view_sql() -> str:
    """``CREATE VIEW calls``: the rows as schema 3 stored them (for SQL written against it)."""
    return (
        f"CREATE VIEW calls AS SELECT {', '.join(_selected(view=True))} FROM call_rows c "
        f"JOIN runs r ON r.num = c.run {_joins()}"
    )


def read_sql() -> str:
    """The query the store reads a run's records with (one parameter: the run's number)."""
    return (
        f"SELECT {', '.join(_selected(view=False))} FROM call_rows c {_joins()} "
        "WHERE c.run = ? ORDER BY c.id"
    )


def decode(row: Sequence[Any], run_id: str) -> CallRecord:
    """The record of a row of :func:`read_sql` (texts already joined) of run ``run_id``."""
    values = list(row)
    own = values[_I_ID]
    deltas = values[_I_PARENTS]
    values[_I_PARENTS] = () if not deltas else tuple(own - int(d) for d in deltas.split(","))
    for i in _I_TEXT:
        if values[i] is None:
            values[i] = ""
    for i in _I_OPTIONAL:
        if values[i] == "":
            values[i] = None
    if values[_I_SIM_END] == "":
        start = values[_I_SIM_START]
        values[_I_SIM_END] = start if values[_I_STATUS] == "cached" else start + values[_I_LATENCY]
    values[_I_RUN] = run_id
    return CallRecord(*values)


def _encoder_source() -> str:
    """The source of ``_encode_one(r, get, intern, run)``: one record row → one ``call_rows``
    row, written out field by field from :data:`FIELDS` (it runs once per stored call; a
    loop over the fields costs three times as much)."""
    lines = ["def _encode_one(r, get, intern, run):"]
    parts = []
    for i, name in enumerate(FIELDS):
        if name == "run_id":
            parts.append("run")
        elif name in INTERNED:
            lines.append(f"    t = r[{i}]")
            lines.append(f"    v{i} = (get(t) or intern(t)) if t else 0")
            parts.append(f"v{i}")
        elif name == "parents":
            lines.append(f"    p = r[{i}]")
            lines.append(f"    v{i} = ','.join(map(str, map(r[{_I_ID}].__sub__, p))) if p else ''")
            parts.append(f"v{i}")
        elif name == "sim_end":
            start, latency, status = _I_SIM_START, _I_LATENCY, _I_STATUS
            lines.append(f"    e = r[{i}]")
            lines.append(
                f"    v{i} = '' if e == (r[{start}] if r[{status}] == 'cached' "
                f"else r[{start}] + r[{latency}]) else e"
            )
            parts.append(f"v{i}")
        elif name in _OPTIONAL:
            parts.append(f"('' if r[{i}] is None else r[{i}])")
        else:
            parts.append(f"r[{i}]")
    lines.append(f"    return ({', '.join(parts)},)")
    return "\n".join(lines) + "\n"


_namespace: dict[str, Any] = {}
exec(_encoder_source(), _namespace)
_encode_one = _namespace["_encode_one"]


class RowCodec:
    """Encodes records into rows of ``call_rows``, interning their texts.

    Used inside one write transaction: :meth:`begin` with the next free id of ``strings``,
    :meth:`encode` per record, then :meth:`new_strings` (to insert before the rows) and
    :meth:`commit` — or :meth:`rollback`, which forgets the texts of a failed transaction.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}  # text → id, bounded by _MEMO
        self._new: list[tuple[int, str]] = []
        self._next = 1

    def begin(self, next_id: int) -> None:
        """Start a transaction; ``next_id`` is one above the largest id in ``strings``."""
        if len(self._ids) >= _MEMO:
            self._ids.clear()
        self._new = []
        self._next = next_id

    def _intern(self, text: str) -> int:
        i = self._next
        self._next = i + 1
        self._ids[text] = i
        self._new.append((i, text))
        return i

    def encode(self, records: Iterable[RecordRow], run: int) -> list[tuple[Any, ...]]:
        """The rows of ``call_rows`` for records (given as their rows, in
        :data:`~hakaru.types.RECORD_FIELDS` order) stored under the run numbered ``run``."""
        one, get, intern = _encode_one, self._ids.get, self._intern
        return [one(record, get, intern, run) for record in records]

    def new_strings(self) -> list[tuple[int, str]]:
        """The texts this transaction interned, as rows of ``strings``."""
        return self._new

    def commit(self) -> None:
        self._new = []

    def rollback(self) -> None:
        for _, text in self._new:
            self._ids.pop(text, None)
        self._new = []
