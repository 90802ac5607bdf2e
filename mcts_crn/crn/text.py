"""Reaction text: one reaction a line, ``E + S -> C``, ``2 A -> B``, ``0 -> T``, ``V -> 0``, ``# comments``.

A side is ``0`` (or empty) for no species, otherwise terms joined by ``+``; a term is an optional positive
integer coefficient (``2 A``, ``2A`` or ``2*A``) and a species name (a Python identifier). ``A <-> B`` is
shorthand for the two reactions ``A -> B`` and ``B -> A``.
"""
from __future__ import annotations

import re
from typing import Sequence

_TERM = re.compile(r"^(?:(\d+)\s*\*?\s*)?([A-Za-z_][A-Za-z0-9_]*)$")
_EMPTY_SIDES = {"", "0", "∅"}

Side = dict[str, int]


def _parse_side(side: str, line_number: int, line: str) -> Side:
    side = side.strip()
    if side in _EMPTY_SIDES:
        return {}
    counts: Side = {}
    for term in side.split("+"):
        match = _TERM.match(term.strip())
        if match is None:
            raise ValueError(f"line {line_number}: cannot read term {term.strip()!r} in {line.strip()!r}; "
                             "expected e.g. 'A', '2 A' or '0'")
        coefficient = int(match.group(1)) if match.group(1) else 1
        if coefficient == 0:
            raise ValueError(f"line {line_number}: zero coefficient in {line.strip()!r}")
        name = match.group(2)
        counts[name] = counts.get(name, 0) + coefficient
    return counts


def parse_reactions(text: str) -> tuple[list[str], list[tuple[Side, Side]]]:
    """Parse reaction text into species in order of first appearance and (reactants, products) pairs.

    Raises
    ------
    ValueError
        Naming the 1-based line for a line without exactly one arrow, a bad term, or a no-op reaction.
    """
    order: dict[str, None] = {}
    reactions: list[tuple[Side, Side]] = []
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        reversible = "<->" in line
        parts = line.split("<->") if reversible else line.split("->")
        if len(parts) != 2:
            raise ValueError(f"line {line_number}: expected one '->' (or '<->') in {raw.strip()!r}")
        lhs = _parse_side(parts[0], line_number, raw)
        rhs = _parse_side(parts[1], line_number, raw)
        if lhs == rhs:
            raise ValueError(f"line {line_number}: reaction {raw.strip()!r} changes nothing")
        for name in list(lhs) + list(rhs):
            order.setdefault(name, None)
        reactions.append((lhs, rhs))
        if reversible:
            reactions.append((rhs, lhs))
    return list(order), reactions


def format_side(counts: Sequence[int], species: Sequence[str]) -> str:
    """Format one side, ``[S] int`` coefficients, as ``2 A + B`` (``0`` when empty)."""
    terms = [name if c == 1 else f"{c} {name}" for name, c in zip(species, counts) if c > 0]
    return " + ".join(terms) if terms else "0"


def format_reaction(reactants: Sequence[int], products: Sequence[int], species: Sequence[str]) -> str:
    """Format one reaction from ``[S]`` reactant and product coefficients."""
    return f"{format_side(reactants, species)} -> {format_side(products, species)}"
