"""Symbolic ODE systems of a CRN: sympy expressions, pretty text, LaTeX, and reactions with rates.

Mass action: reaction ``r`` with reactant coefficients ``a_r`` runs at ``v_r = k_r prod_i x_i^{a_ri}`` and
``dx_i/dt = sum_r (b_ri - a_ri) v_r`` (``b`` the product coefficients).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy

from mcts_crn.crn import Crn


def species_symbols(crn: Crn) -> list[sympy.Symbol]:
    """One non-negative real symbol per species, named as the species."""
    return [sympy.Symbol(name, nonnegative=True, real=True) for name in crn.species]


def rate_symbols(crn: Crn) -> list[sympy.Symbol]:
    """One positive symbol per reaction: ``k1, k2, ...`` in reaction order."""
    return [sympy.Symbol(f"k{r + 1}", positive=True) for r in range(crn.num_reactions)]


def _rate_values(crn: Crn, rates: Sequence[float] | np.ndarray | None, digits: int | None) -> list[sympy.Expr]:
    if rates is None:
        return list(rate_symbols(crn))
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    if rates.shape != (crn.num_reactions,):
        raise ValueError(f"rates has shape {rates.shape}, expected ({crn.num_reactions},)")
    if digits is None:
        return [sympy.Float(float(k)) for k in rates]
    return [sympy.Float(float(f"{k:.{digits}g}"), digits) for k in rates]


def ode_system(crn: Crn, rates: Sequence[float] | np.ndarray | None = None, *,
               digits: int | None = None) -> dict[str, sympy.Expr]:
    """The mass-action ODE right-hand sides as sympy expressions.

    Parameters
    ----------
    crn : Crn
    rates : array_like, float64 [R], optional
        Fitted rate constants; default symbolic ``k1 .. kR``.
    digits : int, optional
        Round numeric rates to this many significant digits (for printing).

    Returns
    -------
    dict
        Species name -> ``dx/dt`` expression, in species order.
    """
    x = species_symbols(crn)
    k = _rate_values(crn, rates, digits)
    fluxes = []
    for r in range(crn.num_reactions):
        term = k[r]
        for i in np.flatnonzero(crn.reactants[r]):
            term = term * x[i] ** int(crn.reactants[r, i])
        fluxes.append(term)
    net = crn.stoichiometry
    return {name: sympy.expand(sum((int(net[r, i]) * fluxes[r] for r in range(crn.num_reactions)),
                                   sympy.Integer(0)))
            for i, name in enumerate(crn.species)}


def ode_text(crn: Crn, rates=None, *, digits: int = 4, pretty: bool = False) -> str:
    """The ODE system as text, one ``dX/dt = ...`` line a species (``pretty=True``: sympy's 2-D layout)."""
    system = ode_system(crn, rates, digits=digits if rates is not None else None)
    t = sympy.Symbol("t")
    if pretty:
        eqs = [sympy.Eq(sympy.Derivative(sympy.Function(n)(t), t), e) for n, e in system.items()]
        return "\n\n".join(sympy.pretty(eq, use_unicode=False) for eq in eqs)
    return "\n".join(f"d{name}/dt = {sympy.sstr(expr)}" for name, expr in system.items())


def ode_latex(crn: Crn, rates=None, *, digits: int = 4) -> str:
    r"""The ODE system as a LaTeX ``aligned`` block: ``\frac{dX}{dt} &= ... \\``."""
    system = ode_system(crn, rates, digits=digits if rates is not None else None)
    lines = [rf"\frac{{d{sympy.latex(sympy.Symbol(n))}}}{{dt}} &= {sympy.latex(e)}" for n, e in system.items()]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def reactions_with_rates(crn: Crn, rates=None, stderr=None, *, digits: int = 4) -> list[str]:
    """Reaction lines with their rate constants, e.g. ``E + S -> C    k1 = 1.002 ± 0.013``.

    ``stderr`` [R] (standard errors of the rates) is optional; without ``rates`` the symbols are shown.
    """
    texts = crn.reactions_text()
    width = max((len(s) for s in texts), default=0)
    lines = []
    for r, text in enumerate(texts):
        label = f"k{r + 1}"
        if rates is None:
            value = label
        else:
            value = f"{label} = {float(rates[r]):.{digits}g}"
            if stderr is not None and np.isfinite(stderr[r]):
                value += f" ± {float(stderr[r]):.2g}"
        lines.append(f"{text.ljust(width)}    {value}")
    return lines
