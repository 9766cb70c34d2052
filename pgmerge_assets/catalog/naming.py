"""What names and types say to a person reading a schema: which column names identify a row, which
column name points at which table's ids, and how a type counts in a key. Pure: no database."""

from __future__ import annotations

import re
from typing import TypeVar

from pgmerge_assets.catalog.introspect import INTEGER_TYPES

K = TypeVar("K")

TEXT_TYPES = ("text", "character varying", "character", "citext", "name")
TIME_TYPES = ("timestamp", "date", "time")
KEY_NAMES = ("name", "title", "email", "code", "isbn", "purl", "slug", "login", "username", "handle", "sku",
             "identifier", "url", "key", "label")
PERSON_NAMES = ("first", "last", "middle", "given", "family", "sur", "full", "display", "nick")
SELF_NAMES = ("reports_to", "parent", "parent_id", "manager_id", "supervisor_id", "boss_id", "superior_id")


def kind(type_: str) -> str | None:
    """How a column's type counts in a key: text, integer, number, time, uuid; None if never a key part."""
    if type_.endswith("[]"):
        return None
    if type_.startswith(TEXT_TYPES):
        return "text"
    if type_ in INTEGER_TYPES:
        return "integer"
    if type_.startswith("numeric"):
        return "number"
    if type_.startswith(TIME_TYPES):
        return "time"
    if type_ == "uuid":
        return "uuid"
    return None


def _words(name: str) -> list[str]:
    """snake_case and CamelCase alike: lower-case words."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def key_name(column: str) -> int:
    """How surely a column's name says it identifies a row: 2 for name, title, email, code, isbn, purl…;
    1 for a person's first or last name (people share them); 0 otherwise."""
    words = _words(column)
    if not any(w in KEY_NAMES for w in words):
        return 0
    return 1 if any(w in PERSON_NAMES for w in words) else 2


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def points_at(column: str, own: K, tables: dict[K, str]) -> K | None:
    """Which of `tables` (key -> table name; those with ids) a column's name says it holds ids of:
    `<table>_id`, `<Table>Id`, `manager_<table>_id` (the last words name the table), or the table itself for
    names like `reports_to` and `parent_id`; None when the name says nothing."""
    words = _words(column)
    if len(words) > 1 and words[-1] == "id":
        by_name: dict[str, list[K]] = {}
        for key, name in tables.items():
            by_name.setdefault(_singular("".join(_words(name))), []).append(key)
        for start in range(len(words) - 1):
            found = by_name.get(_singular("".join(words[start:-1])))
            if found:
                return own if own in found else found[0]
    if "_".join(words) in SELF_NAMES and own in tables:
        return own
    return None
