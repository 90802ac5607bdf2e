"""SBML Level 3 Version 2 export and import of mass-action CRNs, through python-libsbml.

The model has one compartment ``cell`` of size 1, species in amounts (``hasOnlySubstanceUnits``), one global
parameter ``k<r>`` per reaction and a kinetic law ``k_r * prod_i x_i^a_ri`` per reaction, so any SBML
simulator reproduces ``dx/dt = (B - A)^T v``. Latent (unmeasured) species carry the name ``"<id> (latent)"``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from mcts_crn.crn import Crn


def _check(code: int, what: str) -> None:
    import libsbml

    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise RuntimeError(f"libsbml failed to {what}: {libsbml.OperationReturnValue_toString(code)}")


def to_sbml(crn: Crn, rates: Sequence[float], x0: Sequence[float], *, model_id: str = "mcts_crn_model",
            notes: str = "") -> str:
    """The CRN as an SBML L3V2 document string.

    Parameters
    ----------
    crn : Crn
    rates : array_like, float64 [R]
    x0 : array_like, float64 [S]
        Initial amounts.
    model_id : str
    notes : str
        Plain text placed in the model's notes (e.g. the data set and the search that found it).
    """
    import libsbml

    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    if rates.shape != (crn.num_reactions,) or x0.shape != (crn.num_species,):
        raise ValueError(f"need rates [{crn.num_reactions}] and x0 [{crn.num_species}], got {rates.shape}, {x0.shape}")
    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    _check(model.setId(model_id), "set the model id")
    if notes:
        body = "".join(f"<p>{line}</p>" for line in notes.replace("&", "&amp;").replace("<", "&lt;").splitlines())
        model.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>')
    comp = model.createCompartment()
    _check(comp.setId("cell"), "create the compartment")
    comp.setConstant(True)
    comp.setSize(1.0)
    comp.setSpatialDimensions(3)
    for name, amount, hidden in zip(crn.species, x0, crn.latent):
        sp = model.createSpecies()
        _check(sp.setId(name), f"create species {name}")
        sp.setCompartment("cell")
        sp.setInitialAmount(float(amount))
        sp.setHasOnlySubstanceUnits(True)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
        sp.setName(f"{name} (latent)" if hidden else name)
    for r in range(crn.num_reactions):
        param = model.createParameter()
        _check(param.setId(f"k{r + 1}"), "create a rate parameter")
        param.setValue(float(rates[r]))
        param.setConstant(True)
        reaction = model.createReaction()
        _check(reaction.setId(f"R{r + 1}"), "create a reaction")
        reaction.setReversible(False)
        reaction.setName(crn.reaction_text(r))
        factors = [f"k{r + 1}"]
        for i in np.flatnonzero(crn.reactants[r]):
            ref = reaction.createReactant()
            ref.setSpecies(crn.species[i])
            ref.setStoichiometry(float(crn.reactants[r, i]))
            ref.setConstant(True)
            power = int(crn.reactants[r, i])
            factors.append(crn.species[i] if power == 1 else f"{crn.species[i]}^{power}")
        for i in np.flatnonzero(crn.products[r]):
            ref = reaction.createProduct()
            ref.setSpecies(crn.species[i])
            ref.setStoichiometry(float(crn.products[r, i]))
            ref.setConstant(True)
        law = reaction.createKineticLaw()
        math = libsbml.parseL3Formula(" * ".join(factors))
        if math is None:
            raise RuntimeError(f"libsbml could not parse the kinetic law of reaction {r + 1}")
        _check(law.setMath(math), "set a kinetic law")
    return libsbml.writeSBMLToString(doc)


def write_sbml(path: str | Path, crn: Crn, rates, x0, **kwargs) -> Path:
    """Write ``to_sbml`` to ``path`` and return it."""
    path = Path(path)
    path.write_text(to_sbml(crn, rates, x0, **kwargs))
    return path


def sbml_errors(text: str) -> list[str]:
    """libsbml's consistency-check messages of error or fatal severity (empty when the document is valid)."""
    import libsbml

    doc = libsbml.readSBMLFromString(text)
    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        error = doc.getError(i)
        if error.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            out.append(f"{error.getErrorId()}: {error.getMessage().strip()}")
    return out


def from_sbml(text: str) -> tuple[Crn, np.ndarray, np.ndarray]:
    """Read back a mass-action model written by ``to_sbml``: (crn, rates [R], x0 [S]).

    Rates come from each kinetic law's parameter (global or local); the kinetic law is checked to be mass
    action in the reactants by evaluating it at a test point.
    """
    import libsbml

    doc = libsbml.readSBMLFromString(text)
    if doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) or doc.getModel() is None:
        raise ValueError(f"unreadable SBML: {doc.getErrorLog().toString()[:300]}")
    model = doc.getModel()
    names = [model.getSpecies(i).getId() for i in range(model.getNumSpecies())]
    x0 = np.array([model.getSpecies(i).getInitialAmount() for i in range(model.getNumSpecies())])
    index = {n: i for i, n in enumerate(names)}
    num_reactions = model.getNumReactions()
    reactants = np.zeros((num_reactions, len(names)), dtype=np.int32)
    products = np.zeros_like(reactants)
    rates = np.zeros(num_reactions)
    params = {model.getParameter(i).getId(): model.getParameter(i).getValue() for i in range(model.getNumParameters())}
    for r in range(num_reactions):
        reaction = model.getReaction(r)
        for j in range(reaction.getNumReactants()):
            ref = reaction.getReactant(j)
            reactants[r, index[ref.getSpecies()]] += int(round(ref.getStoichiometry()))
        for j in range(reaction.getNumProducts()):
            ref = reaction.getProduct(j)
            products[r, index[ref.getSpecies()]] += int(round(ref.getStoichiometry()))
        law = reaction.getKineticLaw()
        local = {law.getLocalParameter(j).getId(): law.getLocalParameter(j).getValue()
                 for j in range(law.getNumLocalParameters())}
        formula = libsbml.formulaToL3String(law.getMath())
        names_in_law = [n for n in {**params, **local} if n in formula.replace("*", " ").replace("^", " ").split()]
        if len(names_in_law) != 1:
            raise ValueError(f"reaction {reaction.getId()}: expected one rate parameter in {formula!r}")
        rates[r] = {**params, **local}[names_in_law[0]]
    latent = np.array([model.getSpecies(i).getName().endswith("(latent)") for i in range(model.getNumSpecies())])
    return Crn(tuple(names), latent, reactants, products), rates, x0
