"""Case studies: the structure search on the real data sets of ``shared/data/real``, against published models.

For each data set the script prepares the data (noise model and level, censored values; the choices and
their reasons are in ``CASES`` and in each report), runs the search with a wall-time budget, writes the
search's own files (result.json, model.tex, model.xml, fit.png; fit_observed.png without the latent
species), fits the published model (and its variants) with ``fit_rates`` to the same ``Dataset``, scores it
with the same ``reward``, plots it (published_fit.png), compares the two reaction sets, and writes
report.md::

    python experiments/case_studies/run.py [--time-limit 600] [--only NAME ...] [--seed 0] [--out DIR]

Outputs go to ``experiments/case_studies/out/<data set>/`` (git-ignored), with a summary table of all data
sets in ``out/summary.md`` and ``out/summary.json``. The search budget is ``--time-limit`` seconds per data
set (default 600); with the fits of the published models, the plots and the final polishing of the search
each data set stays within 15 minutes on 2 cores.

The data sets, their sources and the published models are described in ``shared/data/real/README.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import math
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from mcts_crn.config import FitConfig, SearchConfig
from mcts_crn.crn import Crn, parse_reactions
from mcts_crn.data import Dataset
from mcts_crn.data.experiment import Experiment
from mcts_crn.fit import FitResult, fit_rates
from mcts_crn.render.ode import ode_text
from mcts_crn.render.plots import plot_fit
from mcts_crn.render.report import write_outputs
from mcts_crn.reward import reward_parts
from mcts_crn.search.evaluators import PRIORS
from mcts_crn.search.run import SearchResult, run_search

HERE = Path(__file__).resolve().parent
DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
"""The shared real data sets (``/work/shared/data/real`` next to the checkout)."""
WALL_LIMIT = 900.0
"""Each data set (search, polishing, published fits, plots, report) must finish within this many seconds."""
PUBLISHED_STARTS = 16
"""Random starts of the published models' fits (the search's fits use ``FitConfig().num_starts``, warm started
from the parent network; a published model is fitted from scratch, so it gets more starts)."""

logger = logging.getLogger("case_studies")


# --------------------------------------------------------------------------- what is compared


@dataclasses.dataclass(frozen=True)
class PublishedFit:
    """One published mass-action model to fit to the data.

    Attributes
    ----------
    label : str
        Row name in the comparison table.
    reactions : tuple of str
        Reaction texts over the data's species names; any other species is latent.
    known_initial : Mapping[str, float]
        Initial amounts of latent species to set in every experiment, on top of what the prepared data set
        knows; NaN removes a known value (then it is fitted). Latent species known nowhere are fitted.
    warm_start : Mapping[str, float]
        ``{reaction text: rate}`` from the literature, the first start of the fit (empty: default start).
    fit_config : Mapping[str, object]
        Changes to ``FitConfig`` for this fit (e.g. ``latent_initial``), beyond ``num_starts``.
    note : str
    """

    label: str
    reactions: tuple[str, ...]
    known_initial: Mapping[str, float] = dataclasses.field(default_factory=dict)
    warm_start: Mapping[str, float] = dataclasses.field(default_factory=dict)
    fit_config: Mapping[str, object] = dataclasses.field(default_factory=dict)
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Feature:
    """A mechanism feature of a large published model, tested on a found CRN by a structural predicate."""

    name: str
    published: str
    present: Callable[[Crn], bool]
    test: str


@dataclasses.dataclass(frozen=True)
class CaseStudy:
    """One data set: how it is prepared, searched and compared.

    Attributes
    ----------
    name : str
        File stem in ``DATA_DIR`` and output folder name.
    title, source : str
        What the data are and where they come from (markdown).
    noise : float, mapping or None
        Noise levels (None: estimated by ``estimate_noise``).
    noise_model : str
    noise_reason : str
    latent, max_reactions : int
        Search limits (``max_order`` is 2 everywhere).
    prepare : callable, optional
        ``(species, experiments) -> (experiments, notes)``: censoring and known initial values, applied
        before the noise is set.
    published : tuple of PublishedFit
        Models fitted to the same data (the first is "the" published model of the summary).
    published_reference : str
    comparison_kind : str
        ``"mechanistic"``: a published mass-action model fitted here; ``"baseline"``: a phenomenological
        model fitted here; ``"features"``: a large published model whose observables are not single species,
        compared by mechanism features only.
    features : tuple of Feature
    notes : tuple of str
        Caveats for the report.
    """

    name: str
    title: str
    source: str
    noise: float | Mapping[str, float] | None
    noise_model: str
    noise_reason: str
    latent: int
    max_reactions: int
    published: tuple[PublishedFit, ...]
    published_reference: str
    comparison_kind: str = "mechanistic"
    prepare: Callable | None = None
    features: tuple[Feature, ...] = ()
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- data preparation


def _replace_values(experiments: Sequence[Experiment], column: int, where: Callable[[np.ndarray], np.ndarray]
                    ) -> tuple[list[Experiment], int]:
    """Experiments with the values of one column set to missing where ``where(values)`` holds."""
    out, count = [], 0
    for x in experiments:
        values = np.array(x.values)
        hit = ~np.isnan(values[:, column]) & where(values[:, column])
        count += int(hit.sum())
        values[hit, column] = np.nan
        out.append(Experiment(x.name, x.times, values, dict(x.initial_values)))
    return out, count


def _with_initial(experiments: Sequence[Experiment], values: Callable[[Experiment], Mapping[str, float]]
                  ) -> list[Experiment]:
    return [Experiment(x.name, x.times, x.values, {**x.initial_values, **values(x)}) for x in experiments]


HIV_FLOOR = 50.1187234
"""The viral-load floor of the Liang (2010) data: 10^1.7 copies/mL, the assay's detection limit."""


def prepare_liang(species, experiments):
    column = species.index("virus")
    out, count = _replace_values(experiments, column, lambda v: np.isclose(v, HIV_FLOOR, rtol=1e-6))
    return out, [f"{count} viral loads at the assay floor {HIV_FLOOR:g} copies/mL (= 10^1.7, from day 154.62 in "
                 "patient 1 and day 166.67 in patient 2) are censored values (the load is at most the floor), "
                 "not measurements; they are treated as missing. The CD4 counts of those days are kept."]


def prepare_malaria(species, experiments):
    column = species.index("asexual_parasites")
    out, count = _replace_values(experiments, column, lambda v: v == 0)
    return out, [f"{count} zero counts are below the detection limit (< 10 parasites/uL, Simpson et al. 2002): "
                 "censored values that a relative-error model cannot represent, so they are treated as missing."]


def prepare_influenza(species, experiments):
    return _with_initial(experiments, lambda x: {"S": 760.0}), [
        "The published SIR model's susceptibles S start at 760 (763 boys, 3 ill on day 0); this is set as a "
        "known initial value of S. The search's latent species (X1, ...) get fitted initial values."]


EGF_DOSES = {"1": 0.1, "2": 0.3, "3": 1.0, "4": 3.0, "5": 10.0, "6": 30.0}
"""EGF concentration (ng/mL) of each experiment (README: PEtab conditions condition_step_00_1 ... _30_0)."""


def prepare_egf(species, experiments):
    return _with_initial(experiments, lambda x: {"X1": EGF_DOSES[x.name]}), [
        "The EGF dose is not a column of the data but is known per experiment (0.1, 0.3, 1, 3, 10, 30 ng/mL). "
        "Without it no network could tell the six experiments apart (every observed species starts at 0). "
        "It is given to the search as the known initial amount of the first latent species X1 (in ng/mL), so "
        "X1 is the EGF input wherever the search uses a latent species (search limited to 1 latent species, "
        "so the label is unambiguous). Further latent species (receptor, unphosphorylated Akt/S6) are not "
        "available to the search in this setting."]


# --------------------------------------------------------------------------- structural predicates


def _sides(crn: Crn):
    for r in range(crn.num_reactions):
        yield r, crn.reactants[r], crn.products[r]


def _has(crn: Crn, test: Callable[[np.ndarray, np.ndarray, Crn], bool]) -> bool:
    return any(test(a, b, crn) for _, a, b in _sides(crn))


def _idx(crn: Crn, name: str) -> int | None:
    return crn.species.index(name) if name in crn.species else None


def makes(name: str, *, from_latent: bool = False):
    """A reaction that produces ``name`` (net), optionally from a latent species."""
    def test(a, b, crn):
        i = _idx(crn, name)
        if i is None or b[i] <= a[i]:
            return False
        if from_latent and not any(a[j] > b[j] for j in range(crn.num_species) if crn.latent[j]):
            return False
        return True
    return lambda crn: _has(crn, test)


def consumes(name: str, *, into_latent: bool = False, decay: bool = False):
    """A reaction that uses up ``name`` (net), optionally into a latent species / into nothing."""
    def test(a, b, crn):
        i = _idx(crn, name)
        if i is None or a[i] <= b[i]:
            return False
        if into_latent and not any(b[j] > a[j] for j in range(crn.num_species) if crn.latent[j]):
            return False
        if decay and b.sum() > 0:
            return False
        return True
    return lambda crn: _has(crn, test)


def latent_complex(crn: Crn) -> bool:
    """Saturation by mass action: a latent species made by binding (order 2 -> 1) and released again."""
    for i in np.flatnonzero(crn.latent):
        bound = _has(crn, lambda a, b, c, i=i: a.sum() == 2 and b[i] > a[i] and b.sum() == 1)
        released = _has(crn, lambda a, b, c, i=i: a[i] > b[i] and b.sum() >= 2)
        if bound and released:
            return True
    return False


def cascade(upstream: str, downstream: str):
    """``upstream`` drives ``downstream``: a reaction that makes ``downstream`` with ``upstream`` as a reactant
    (as catalyst or via a latent complex that ``upstream`` forms)."""
    def present(crn: Crn) -> bool:
        i, j = _idx(crn, upstream), _idx(crn, downstream)
        if i is None or j is None:
            return False
        direct = _has(crn, lambda a, b, c: a[i] > 0 and b[j] > a[j])
        via = any(_has(crn, lambda a, b, c, k=k: a[i] > 0 and b[k] > a[k])
                  and _has(crn, lambda a, b, c, k=k: a[k] > 0 and b[j] > a[j]) for k in np.flatnonzero(crn.latent))
        return direct or via
    return present


def latent_uses(crn: Crn) -> bool:
    return crn.num_latent > 0


def infection(infected: str):
    """Autocatalytic growth of ``infected`` with a second reactant: ``X + I -> 2 I (+ ...)``."""
    def test(a, b, crn):
        i = _idx(crn, infected)
        return i is not None and a[i] >= 1 and b[i] > a[i] and a.sum() == 2 and a[i] < 2
    return lambda crn: _has(crn, test)


def latent_stage_before(observed: str):
    """An intermediate (latent) stage that turns into ``observed`` (e.g. exposed or undetected infectious)."""
    def test(a, b, crn):
        i = _idx(crn, observed)
        return (i is not None and b[i] > a[i]
                and any(a[j] > b[j] for j in range(crn.num_species) if crn.latent[j]))
    return lambda crn: _has(crn, test)


# --------------------------------------------------------------------------- the data sets


CASES: tuple[CaseStudy, ...] = (
    CaseStudy(
        name="lynx_hare_hudson_bay_1900_1920",
        title="Canada lynx and snowshoe hare pelts, Hudson's Bay Company, 1900-1920",
        source=("Numbers of pelts (thousands) collected per year; `stan-dev/example-models`, "
                "`knitr/lotka-volterra/hudson-bay-lynx-hare.csv` (B. Carpenter's Stan case study), traced to "
                "Hewitt (1921) via Howard (2009) and Mahaffy's lecture notes. Time is the calendar year; the "
                "fit starts each trajectory at the first time (1900)."),
        noise=0.25, noise_model="relative",
        noise_reason=("Relative 25%: the posterior scale of the multiplicative (log-normal) measurement error in "
                      "Carpenter's Stan case study is about 0.25 for both species; pelt counts are a proxy for "
                      "population sizes, so errors of a quarter are realistic. (The pseudo-residual estimate, "
                      "0.23-0.26, agrees but is inflated by the yearly sampling of a 10-year cycle.)"),
        latent=0, max_reactions=6,
        published=(
            PublishedFit("Lotka-Volterra (mass action, 3 reactions)",
                         ("hare -> 2 hare", "hare + lynx -> 2 lynx", "lynx -> 0"),
                         warm_start={"hare -> 2 hare": 0.55, "hare + lynx -> 2 lynx": 0.025, "lynx -> 0": 0.80},
                         note=("One predation reaction converts a hare into a lynx, so the hare loss and the "
                               "lynx gain per encounter share one rate constant. Start: Carpenter's posterior "
                               "means (alpha 0.55, beta 0.028, delta 0.024, gamma 0.80 per year).")),
            PublishedFit("Lotka-Volterra (4 parameters: beta != delta)",
                         ("hare -> 2 hare", "hare + lynx -> lynx", "hare + lynx -> 2 lynx", "lynx -> 0"),
                         warm_start={"hare -> 2 hare": 0.55, "hare + lynx -> lynx": 0.004,
                                     "hare + lynx -> 2 lynx": 0.024, "lynx -> 0": 0.80},
                         note=("Carpenter's form dH/dt = aH - bHL, dL/dt = dHL - gL with b != d written as mass "
                               "action: predation without conversion (rate b - d) plus predation with conversion "
                               "(rate d).")),
        ),
        published_reference="Lotka (1925), Volterra (1926); B. Carpenter, Stan case study 'Predator-Prey "
                            "Population Dynamics: the Lotka-Volterra model in Stan'",
        notes=("Pelt counts are harvests, not censuses, and the 21 years cover two cycles only.",),
    ),
    CaseStudy(
        name="influenza_boarding_school_1978",
        title="Influenza outbreak in an English boarding school, January-February 1978",
        source=("Boys confined to bed (`in_bed`) and convalescent boys (`convalescent`) per day among 763 "
                "boys; R package *outbreaks* (`reconverse/outbreaks`, `influenza_england_1978_school`), values "
                "from De Vries et al. (2006), originally Anonymous (1978), BMJ 1:578. The data set of the Stan "
                "boarding-school SIR case study."),
        noise=None, noise_model="absolute",
        noise_reason=("Absolute noise, estimated from the data (about 12 boys for `in_bed`, 11 for "
                      "`convalescent`): the values were read from a figure and differ between sources by a few "
                      "boys, and daily counts of a few hundred boys scatter by 10-20 at the peak. Relative noise "
                      "does not suit these counts: `convalescent` is 0 on days 0-3, and relative noise gives a "
                      "zero the error bar noise x 1% of the series' maximum (the library's scale floor, 0.2 boys "
                      "at 10%), so the zeros become hard constraints; the published SIR fit then moves in_bed(0) "
                      "from 3 to 0.006 and misses the peak by two days (chi2/N 25 at 10% relative noise)."),
        latent=1, max_reactions=6,
        prepare=prepare_influenza,
        published=(
            PublishedFit("SIR, S latent, S(0) = 760 known",
                         ("S + in_bed -> 2 in_bed", "in_bed -> convalescent", "convalescent -> 0"),
                         note=("Susceptibles S are latent with the known initial value 760. `convalescent -> 0` "
                               "is the return to class.")),
            PublishedFit("SIR, S latent, S(0) fitted",
                         ("S + in_bed -> 2 in_bed", "in_bed -> convalescent", "convalescent -> 0"),
                         known_initial={"S": float("nan")},
                         note="The same network with S(0) fitted, as the search's latent species are."),
        ),
        published_reference="SIR model as in De Vries et al. (2006), ch. 9, and the Stan case study "
                            "(Grinsztajn, Semenova, Margossian, Riou 2021)",
    ),
    CaseStudy(
        name="hiv_perelson1996_petab",
        title="HIV-1 plasma RNA after the start of a protease inhibitor, one patient",
        source=("HIV-1 RNA copies/mL over 7 days; PEtab benchmark collection "
                "(`Benchmarking-Initiative/Benchmark-Models-PEtab`, `Perelson_Science1996`), from Perelson et al. "
                "(1996), Science 271:1582."),
        noise=None, noise_model="relative",
        noise_reason=("Estimated relative noise (the pseudo-residual estimate, about 20%): the sampling is dense "
                      "relative to the decay, so the scatter about local lines is measurement error, and 20% "
                      "(0.08 log10) is in the range of the assay's reported variability. (The PEtab problem "
                      "uses log10-normal noise with a fitted s.d.)"),
        latent=1, max_reactions=5,
        published=(
            PublishedFit("virion clearance with infected-cell decay",
                         ("I -> 0", "I -> I + virus", "virus -> 0"),
                         note=("Infected cells I (latent, initial value fitted) produce virions V and die; "
                               "after the drug, new infections are neglected (Perelson et al. 1996). The data "
                               "column `virus` is V. Only the product of the production rate and I(0) is "
                               "identifiable, and V(t) is a sum of two exponentials that is symmetric in the "
                               "two decay rates: the data cannot tell the infected-cell death rate from the "
                               "virion clearance rate (Perelson et al. assume clearance is the faster).")),
        ),
        published_reference="Perelson, Neumann, Markowitz, Leonard, Ho (1996), Science 271:1582",
    ),
    CaseStudy(
        name="hiv_liang2010",
        title="HIV-1 viral load and CD4+ T cells in two patients on antiretroviral therapy",
        source=("Viral load and total CD4+ T-cell counts after the start of a four-drug regimen combined with "
                "an immune-based therapy, patients 1 and 2 (experiments 1 and 2); `AndrasHartmann/HIV-PSO`, "
                "`data/Liang2010/set1.csv`, `set2.csv`, from Liang, Miao and Wu (2010), Ann Appl Stat 4:460."),
        noise=None, noise_model="relative",
        noise_reason=("Estimated relative noise (after censoring the floor values): the viral load is sampled "
                      "densely in the first days, so its pseudo-residuals measure assay scatter; the CD4 "
                      "series is short and its estimate is rougher. Both come out at 15-20%, typical for "
                      "these assays."),
        latent=1, max_reactions=8,
        prepare=prepare_liang,
        published=(
            PublishedFit("target-cell model (constant parameters)",
                         ("0 -> cd4_t_cells", "cd4_t_cells -> 0", "cd4_t_cells + virus -> I + virus", "I -> 0",
                          "I -> I + virus", "virus -> 0"),
                         note=("T = cd4_t_cells, V = virus, infected cells I latent (one initial value shared "
                               "by both patients, as for the search's latent species). The infection step keeps "
                               "V (V catalyses T -> I), as in the usual T' = s - dT - kTV form.")),
            PublishedFit("target-cell model, I(0) per patient",
                         ("0 -> cd4_t_cells", "cd4_t_cells -> 0", "cd4_t_cells + virus -> I + virus", "I -> 0",
                          "I -> I + virus", "virus -> 0"),
                         fit_config={"latent_initial": "per_experiment"},
                         note="The same network with one fitted I(0) per patient."),
        ),
        published_reference="Liang, Miao and Wu (2010), Ann Appl Stat 4:460-483 (the model's structure with "
                             "constant parameters; Perelson and Nelson 1999)",
        notes=("The therapy reduces infection and virion production; Liang et al. let the infection rate vary "
               "in time. A constant-parameter network can only represent the treated state.",),
    ),
    CaseStudy(
        name="malaria_malariatherapy_untreated",
        title="P. falciparum asexual parasites in five untreated malariatherapy patients, days 1-60",
        source=("Daily counts of circulating asexual parasites (per uL, by convention) of patients 16, 18, 23, "
                "24 and 29 (experiments), who received no drug; `greischarlab/extraordinaryPMRs`, `Asexual.csv`, "
                "historical malariatherapy records (see Simpson et al. 2002, Parasitology 124:247)."),
        noise=0.3, noise_model="relative",
        noise_reason=("Relative 30%: thick-smear counts of historical records are rough (counting error and "
                      "sampling at a fixed time of day during a 48-hour cycle of sequestration). The "
                      "pseudo-residual estimate (43%) counts the 48-hour oscillation, which is dynamics, as "
                      "noise, so a somewhat smaller level is used. Note the library's relative-noise floor "
                      "(1% of the largest count over all patients): counts below it get a constant error bar, "
                      "so the early growth phase at low densities weighs little in the fit."),
        latent=2, max_reactions=8,
        prepare=prepare_malaria,
        comparison_kind="baseline",
        published=(
            PublishedFit("constant PMR (P -> 2 P, P -> 0)",
                         ("asexual_parasites -> 2 asexual_parasites", "asexual_parasites -> 0"),
                         note=("Constant multiplication minus clearance, what the source repository's parasite "
                               "multiplication rate (PMR) assumes. Only the difference of the two rates is "
                               "identifiable from the data, so each rate's standard error is infinite.")),
        ),
        published_reference=("a phenomenological baseline (constant parasite multiplication rate, as computed "
                             "in `greischarlab/extraordinaryPMRs`), not a published mechanistic model of these "
                             "patients"),
        notes=("All five patients share the rate constants (the experiments are patients, not doses); each "
               "patient's initial density is fitted. Between-patient variation of the rates is not modelled.",
               "Mass-action networks have no explicit delay; the 48-hour cycle can only be approached by a "
               "chain of latent stages."),
    ),
    CaseStudy(
        name="pyridine_denitrogenation",
        title="Catalytic denitrogenation of pyridine (6 species)",
        source=("Concentrations (pyridine starts at 1) of pyridine, piperidine, pentylamine, N-pentylpiperidine, "
                "dipentylamine and ammonia in one batch run; `ysfoo/crn-inference`, `test/pyridine/data.txt`, "
                "as tabulated by Schittkowski (2009) from Bock (1981). Pentane, the seventh species, is not "
                "measured."),
        noise=0.02, noise_model="relative",
        noise_reason=("Relative 2%: the values are tabulated to two significant digits (rounding alone gives "
                      "0.3-1.7% relative error) and they scatter by about 2% about Bock's network (its chi2/N "
                      "is 0.11 at 5%). The pseudo-residual estimates (1-5% for the smooth series, 30% for "
                      "pyridine) are upper bounds here: at the coarse sampling the curvature of the fast decays "
                      "counts as noise."),
        latent=0, max_reactions=12,
        published=(
            PublishedFit("Bock (1981) network without pentane (11 reactions)",
                         ("pyridine -> piperidine", "piperidine -> pentylamine",
                          "piperidine + pentylamine -> n_pentylpiperidine + ammonia",
                          "2 pentylamine -> dipentylamine + ammonia", "n_pentylpiperidine -> dipentylamine",
                          "pentylamine -> ammonia", "n_pentylpiperidine -> piperidine",
                          "dipentylamine -> pentylamine", "piperidine -> pyridine",
                          "n_pentylpiperidine + ammonia -> piperidine + pentylamine",
                          "dipentylamine + ammonia -> 2 pentylamine"),
                         note=("Bock's network as used by Schittkowski (2009) and the gold standard of the "
                               "crn-inference repository, with the unmeasured product pentane dropped "
                               "(`pentylamine -> ammonia` stands for pentylamine -> ammonia + pentane). "
                               "Hydrogen is in excess and not a species.")),
        ),
        published_reference="Bock (1981); Schittkowski (2009), test problem collection; the gold standard of "
                            "`ysfoo/crn-inference`",
    ),
    CaseStudy(
        name="jakstat_boehm2014",
        title="STAT5A/STAT5B phosphorylation after Epo stimulation (JAK/STAT)",
        source=("Phosphorylated fraction of STAT5A and STAT5B and relative STAT5A abundance (%), BaF3 cells, "
                "mass spectrometry; PEtab benchmark collection, `Boehm_JProteomeRes2014`, from Boehm et al. "
                "(2014), J Proteome Res, doi:10.1021/pr5006923."),
        noise={"pSTAT5A_rel": 3.85, "pSTAT5B_rel": 6.59, "rSTAT5A_rel": 3.15}, noise_model="absolute",
        noise_reason=("Absolute noise in percentage points, 3.85 / 6.59 / 3.15 for pSTAT5A_rel / pSTAT5B_rel / "
                      "rSTAT5A_rel: the measurement standard deviations fitted in the PEtab benchmark problem "
                      "(`parameters_Boehm_JProteomeRes2014.tsv`), i.e. the published error model."),
        latent=2, max_reactions=8,
        comparison_kind="features",
        published=(),
        published_reference="Boehm et al. (2014), J Proteome Res 13:5685 (PEtab `Boehm_JProteomeRes2014`)",
        features=(
            Feature("phosphorylation of STAT5A",
                    "STAT5A -> pApA / pApB driven by Epo (k_phos x Epo(t))",
                    makes("pSTAT5A_rel", from_latent=True),
                    "a reaction turns a latent pool into pSTAT5A_rel"),
            Feature("phosphorylation of STAT5B", "STAT5B -> pApB / pBpB driven by Epo",
                    makes("pSTAT5B_rel", from_latent=True),
                    "a reaction turns a latent pool into pSTAT5B_rel"),
            Feature("phosphorylation coupled to dimerisation",
                    "2 STAT5A -> pApA, STAT5A + STAT5B -> pApB, 2 STAT5B -> pBpB (second order in monomers)",
                    lambda crn: any(_has(crn, lambda a, b, c, s=s: _idx(c, s) is not None and a.sum() == 2
                                         and b[_idx(c, s)] > a[_idx(c, s)])
                                    for s in ("pSTAT5A_rel", "pSTAT5B_rel")),
                    "a second-order reaction makes a phosphorylated species"),
            Feature("decaying stimulus", "Epo(t) = 1.25e-7 exp(-Epo_degradation t) (an input, not a species)",
                    lambda crn: any(consumes(s, decay=True)(crn) for s in crn.latent_species),
                    "a latent species decays (`X -> 0`)"),
            Feature("nuclear import and export with dephosphorylation",
                    "pXpY -> nucpXpY -> monomers (a cycle back to unphosphorylated STAT5)",
                    lambda crn: consumes("pSTAT5A_rel", into_latent=True)(crn)
                    or consumes("pSTAT5B_rel", into_latent=True)(crn),
                    "a phosphorylated species returns into a latent pool"),
            Feature("saturation (Michaelis-Menten)", "none: the published model is mass action",
                    latent_complex, "a latent complex formed by binding and released again"),
        ),
        notes=("The observables are ratios of sums of model species (e.g. pSTAT5A_rel = 100 (pApB + 2 pApA) / "
               "(pApB + STAT5A + 2 pApA)), not single species; the found network treats each percentage as an "
               "amount, so its reactions are a phenomenological description of the percentages.",
               "The published model (8 species, 9 reactions, a time-dependent Epo input) is not fitted here.",
               "The first latent species of the search is not forced to be any particular molecule."),
    ),
    CaseStudy(
        name="egf_akt_fujita2010",
        title="EGF-stimulated phosphorylation of EGFR, Akt and S6 at six EGF doses",
        source=("pEGFR, pAkt and pS6 (western blot, arbitrary units) in PC12 cells after a step of EGF held for "
                "3600 s, at 0.1, 0.3, 1, 3, 10 and 30 ng/mL (experiments 1-6); PEtab benchmark collection, "
                "`Fujita_SciSignal2010`, from Fujita et al. (2010), Sci Signal, doi:10.1126/scisignal.2000810."),
        noise=0.2, noise_model="relative",
        noise_reason=("Relative 20%: typical for quantified western blots (loading and exposure). The "
                      "pseudo-residual estimate (30-40%) is inflated by the sharp pEGFR/pAkt peaks between the "
                      "coarse samples (0, 60, 120, 300 s ...)."),
        latent=1, max_reactions=8,
        prepare=prepare_egf,
        comparison_kind="features",
        published=(),
        published_reference="Fujita et al. (2010), Sci Signal 3:ra56 (PEtab `Fujita_SciSignal2010`)",
        features=(
            Feature("receptor activation by EGF", "EGF + EGFR <-> EGF_EGFR -> pEGFR",
                    lambda crn: cascade("X1", "pEGFR")(crn),
                    "a reaction makes pEGFR with the EGF input X1 as a reactant"),
            Feature("EGFR -> Akt cascade", "pEGFR + Akt <-> pEGFR_Akt -> pEGFR + pAkt",
                    cascade("pEGFR", "pAkt"), "a reaction makes pAkt with pEGFR as a reactant"),
            Feature("Akt -> S6 cascade", "pAkt + S6 <-> pAkt_S6 -> pAkt + pS6",
                    cascade("pAkt", "pS6"), "a reaction makes pS6 with pAkt as a reactant"),
            Feature("enzyme-substrate complexes (saturation)",
                    "pEGFR_Akt and pAkt_S6 complexes (Michaelis-Menten-like saturation)",
                    latent_complex, "a latent complex formed by binding and released again"),
            Feature("dephosphorylation of Akt and S6", "pAkt -> Akt, pS6 -> S6",
                    lambda crn: any(consumes(s)(crn) for s in ("pAkt", "pS6")),
                    "pAkt or pS6 is used up by some reaction"),
            Feature("pEGFR degradation (receptor desensitisation)", "pEGFR -> 0",
                    consumes("pEGFR", decay=True), "`pEGFR -> 0`"),
            Feature("EGFR turnover", "0 -> EGFR, EGFR -> 0", lambda crn: False,
                    "not representable: EGFR is not a species of the search in this setting"),
        ),
        notes=("The observables are scaled sums of model species (`s1 (pEGFR + pEGFR_Akt)`, `s2 (pAkt + "
               "pAkt_S6)`, `s3 pS6`, one unknown scale each), not single species; the found network treats each "
               "readout as an amount.",
               "The published model (10 species, 9 reactions plus turnover; mass action) is not fitted here: it "
               "needs latent receptor, Akt and S6 pools and observation scales."),
    ),
    CaseStudy(
        name="covid19_lagos_okuonghae2020",
        title="COVID-19 in Lagos, Nigeria, early 2020: active and cumulative detected cases",
        source=("Active (currently infected, detected) and cumulative detected cases per day (days 0-47, days 4 "
                "and 11 absent); PEtab benchmark collection, `Okuonghae_ChaosSolitonsFractals2020`, from "
                "Okuonghae and Omame (2020), Chaos Solitons Fractals, doi:10.1016/j.chaos.2020.110032."),
        noise=0.1, noise_model="relative",
        noise_reason=("Relative 10%: daily reported counts scatter with testing and reporting delays by far "
                      "more than Poisson noise; the pseudo-residual estimates (3-4%) are low because cumulative "
                      "series are smooth by construction, and would let every day-to-day reporting wobble "
                      "count as signal."),
        latent=2, max_reactions=8,
        comparison_kind="features",
        published=(),
        published_reference="Okuonghae and Omame (2020), Chaos Solitons Fractals 139:110032 (PEtab "
                            "`Okuonghae_ChaosSolitonsFractals2020`)",
        features=(
            Feature("transmission (mass action in the infectious classes)",
                    "susceptible -> exposed at rate beta S (I + eta A ...)/N",
                    lambda crn: any(infection(s)(crn) for s in crn.species)
                    or _has(crn, lambda a, b, c: a.sum() == 2 and (b > a).any() and (a > b).any()
                            and any(a[j] > b[j] for j in range(c.num_species) if c.latent[j])),
                    "a second-order reaction that turns a (latent) susceptible pool into another class"),
            Feature("latent susceptible pool", "susceptible (14.4 million, not observed)",
                    latent_uses, "the network has a latent species"),
            Feature("exposed / undetected infectious stages", "exposed, asymptomatic, symptomatic (not observed)",
                    latent_stage_before("active_cases"),
                    "a latent species turns into active_cases"),
            Feature("detection feeding the cumulative count",
                    "detected_cumulative' = detection flow into `detected`",
                    lambda crn: makes("cumulative_cases")(crn),
                    "some reaction makes cumulative_cases"),
            Feature("recovery / death of detected cases", "detected -> recovered, detected -> deceased",
                    consumes("active_cases"), "active_cases is used up by some reaction"),
        ),
        notes=("The observables are model species here (detected and detected_cumulative), but the published "
               "model has 8 compartments with fixed population size and reporting parameters and is not fitted.",
               "cumulative_cases - active_cases is the number of detected cases that recovered or died, so a "
               "network in which one flow makes both and `active_cases` is removed can describe the data "
               "without any infection dynamics (a constant or self-amplifying source); such a network says "
               "nothing about transmission."),
    ),
)
CASE_BY_NAME = {case.name: case for case in CASES}


# --------------------------------------------------------------------------- loading and fitting


def load_dataset(case: CaseStudy, data_dir: Path = DATA_DIR) -> tuple[Dataset, list[str]]:
    """The data set of a case with its preparation and noise applied, and notes on what was changed."""
    path = data_dir / f"{case.name}.csv"
    raw = Dataset.from_csv(path, noise=1.0, noise_model=case.noise_model)
    notes: list[str] = []
    experiments = list(raw.experiments)
    if case.prepare is not None:
        experiments, notes = case.prepare(raw.species, experiments)
    placeholder = dataclasses.replace(raw, experiments=tuple(experiments))
    dataset = placeholder.with_noise(case.noise, case.noise_model)
    return dataset, notes


def published_crn(fit_spec: PublishedFit, dataset: Dataset) -> Crn:
    return Crn.from_text("\n".join(fit_spec.reactions), observed=dataset.species)


def published_dataset(fit_spec: PublishedFit, dataset: Dataset) -> Dataset:
    """The data set with this fit's known initial values (NaN removes a value: fitted instead)."""
    if not fit_spec.known_initial:
        return dataset
    experiments = []
    for x in dataset.experiments:
        initial = dict(x.initial_values)
        for name, value in fit_spec.known_initial.items():
            if math.isnan(value):
                initial.pop(name, None)
            else:
                initial[name] = value
        experiments.append(Experiment(x.name, x.times, x.values, initial))
    return dataclasses.replace(dataset, experiments=tuple(experiments))


@dataclasses.dataclass(frozen=True)
class FittedModel:
    label: str
    crn: Crn
    fit: FitResult
    reward: float
    parts: object
    seconds: float
    spec: PublishedFit | None = None


def fit_published(fit_spec: PublishedFit, dataset: Dataset, seed: np.random.SeedSequence) -> FittedModel:
    crn = published_crn(fit_spec, dataset)
    data = published_dataset(fit_spec, dataset)
    config = FitConfig(num_starts=PUBLISHED_STARTS).replace(**dict(fit_spec.fit_config))
    start = time.perf_counter()
    fit = fit_rates(crn, data, config=config, rng=seed, warm_start=dict(fit_spec.warm_start) or None)
    parts = reward_parts(fit, crn, data)
    return FittedModel(fit_spec.label, crn, fit, parts.reward, parts, time.perf_counter() - start, fit_spec)


# --------------------------------------------------------------------------- comparing reaction sets


def reaction_key(text: str, rename: Mapping[str, str] | None = None) -> tuple:
    """Name-based key of one reaction (species renamed by ``rename``)."""
    _, ((lhs, rhs),) = parse_reactions(text)
    rename = rename or {}
    side = lambda s: tuple(sorted(Counter({rename.get(k, k): v for k, v in s.items()}).items()))  # noqa: E731
    return side(lhs), side(rhs)


def net_change(key: tuple) -> tuple:
    lhs, rhs = dict(key[0]), dict(key[1])
    names = sorted(set(lhs) | set(rhs))
    return tuple((n, rhs.get(n, 0) - lhs.get(n, 0)) for n in names if rhs.get(n, 0) != lhs.get(n, 0))


def same_direction(a: tuple, b: tuple) -> bool:
    """Two reactions change at least one species in common, and every such species in the same direction."""
    da, db = dict(net_change(a)), dict(net_change(b))
    common = set(da) & set(db)
    return bool(common) and all((da[n] > 0) == (db[n] > 0) for n in common)


@dataclasses.dataclass(frozen=True)
class Agreement:
    """How a found reaction set matches a published one (found texts use the found names).

    ``same``: equal after naming the latent species; ``same_reactants``: same reactants (so the same rate
    law) but other products, changing the species they both change in the same direction;
    ``same_net_change``: the same net change from other reactants; the rest are in one network only.
    """

    mapping: dict[str, str]
    same: list[tuple[str, str]]
    same_reactants: list[tuple[str, str]]
    same_net_change: list[tuple[str, str]]
    only_found: list[str]
    only_published: list[str]

    def score(self) -> tuple:
        return len(self.same), len(self.same_reactants), len(self.same_net_change), -len(self.mapping)


def _pair_off(found: dict, published: dict, match: Callable[[tuple, tuple], bool]) -> tuple[list, dict, dict]:
    """Greedily pair found and published reactions whose keys ``match``; returns pairs and the leftovers."""
    pairs, found_left, published_left = [], {}, dict(published)
    for text, key in found.items():
        hit = next((pt for pt, pk in published_left.items() if match(key, pk)), None)
        if hit is None:
            found_left[text] = key
        else:
            pairs.append((text, hit))
            del published_left[hit]
    return pairs, found_left, published_left


def compare_reactions(found: Crn, published: Crn) -> Agreement:
    """Match the found reactions to the published ones, trying every naming of the found latent species.

    A found latent species may stand for any published latent species or for none; the naming with the most
    equal reactions (then reactions with equal reactants, then equal net changes) wins.
    """
    found_latent = list(found.latent_species)
    choices = list(published.latent_species) + [None] * len(found_latent)
    published_keys = {t: reaction_key(t) for t in published.reactions_text()}
    best: Agreement | None = None
    for perm in sorted(set(itertools.permutations(choices, len(found_latent))), key=str):
        mapping = {f: p for f, p in zip(found_latent, perm) if p is not None}
        found_keys = {t: reaction_key(t, mapping) for t in found.reactions_text()}
        same, f_left, p_left = _pair_off(found_keys, published_keys, lambda a, b: a == b)
        reactants, f_left, p_left = _pair_off(f_left, p_left, lambda a, b: a[0] == b[0] and same_direction(a, b))
        net, f_left, p_left = _pair_off(f_left, p_left, lambda a, b: net_change(a) == net_change(b))
        candidate = Agreement(mapping, same, reactants, net, list(f_left), list(p_left))
        if best is None or candidate.score() > best.score():
            best = candidate
    assert best is not None
    return best


# --------------------------------------------------------------------------- report


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "inf" if value is not None and value > 0 else "n/a"
    return f"{value:.{digits}g}"


def rate_table(crn: Crn, fit: FitResult) -> list[str]:
    lines = ["| reaction | k | s.e. of ln k | k x/÷ exp(2 s.e.) |", "|---|---:|---:|---|"]
    for text, k, se in zip(crn.reactions_text(), fit.rates, fit.rate_se):
        if math.isfinite(se) and 2 * se < 50:  # beyond a factor e^50 the interval says nothing
            factor = math.exp(2 * se)
            span = f"{_fmt(k / factor, 3)} - {_fmt(k * factor, 3)}"
        else:
            span = "not determined"
        lines.append(f"| `{text}` | {_fmt(k)} | {_fmt(se, 3)} | {span} |")
    initial = [(name, value, se) for name, value, se in
               zip(fit.param_names[crn.num_reactions:], fit.params[crn.num_reactions:],
                   fit.param_se[crn.num_reactions:])]
    if initial:
        lines += ["", "Fitted initial values (s.e. of the natural log):", ""]
        lines += [", ".join(f"`{name}` = {_fmt(value)} ({_fmt(se, 2)})" for name, value, se in initial)]
    return lines


def parts_line(parts) -> str:
    return (f"accuracy chi2/N {_fmt(parts.accuracy)}, hold-out {_fmt(parts.generalization, 3)}, "
            f"complexity {_fmt(parts.complexity, 3)}, unsupported rates {parts.num_unsupported} "
            f"({_fmt(parts.robustness, 3)}); penalized score {_fmt(parts.score)}")


def write_report(case: CaseStudy, dataset: Dataset, prep_notes: list[str], result: SearchResult,
                 best_parts, published: list[FittedModel], agreements: list[Agreement | None],
                 time_limit: float, timings: dict[str, float], out: Path, errors: list[str]) -> None:
    lines = [f"# {case.title}", "", f"Data set `{case.name}` (`shared/data/real/{case.name}.csv`).", "",
             "## Data and source", "", case.source, "",
             f"{dataset.num_experiments} experiment(s), species {', '.join(f'`{s}`' for s in dataset.species)}, "
             f"{dataset.num_points} observed values.", ""]
    lines += ["Noise: " + case.noise_reason,
              f"Levels used ({dataset.noise_model}): "
              + ", ".join(f"`{s}` {v:.3g}" for s, v in zip(dataset.species, dataset.noise)) + "."]
    for note in prep_notes:
        lines += ["", "Preparation: " + note]
    config = result.config
    lines += ["", "## Search", "",
              f"Heuristic (score-test) prior, wall-time budget {time_limit:g} s, up to {config.max_latent} latent "
              f"species, reactions of order <= {config.max_order}, at most {config.max_reactions} reactions. "
              f"{result.num_simulations} simulations, {result.num_fits} networks fitted, search time "
              f"{result.elapsed:.0f} s (tree search {timings['loop']:.0f} s, then polishing of the best networks "
              f"{timings['polish']:.0f} s; wall time of the whole case study {timings['total']:.0f} s). "
              f"Seed entropy {result.seed_entropy}.", ""]
    best = result.best
    if best is None:
        lines += ["**No complete network was fitted.**", ""]
    else:
        fit = best.fit
        lines += ["## Best network", "", "```", *best.crn.reactions_text(), "```", ""]
        if best.crn.latent_species:
            lines += [f"Latent species: {', '.join(best.crn.latent_species)}.", ""]
        lines += [f"Reward **{best.reward:.4f}**, chi2/N **{fit.chi2_per_point:.3g}**, {fit.num_params} "
                  f"parameters ({best.crn.num_reactions} rate constants, {fit.num_params - best.crn.num_reactions}"
                  f" fitted initial values); found as fit {result.num_fits_to_best} of {result.num_fits}.",
                  "", parts_line(best_parts) + ".", "", "Fitted rate constants (data units; time unit of the "
                  "data), standard errors from the Fisher information:", ""]
        lines += rate_table(best.crn, fit)
        lines += ["", "ODEs:", "", "```", ode_text(best.crn, fit.rates, digits=4), "```", "",
                  "![best network: data and model](fit.png)", ""]
        if best.crn.num_latent:
            lines += ["![best network: observed species only](fit_observed.png)", ""]
        if result.alternatives:
            lines += ["### Alternatives", "", "| rank | reward | chi2/N | parameters | reactions |",
                      "|---:|---:|---:|---:|---|"]
            for rank, c in enumerate(result.alternatives, start=2):
                lines.append(f"| {rank} | {c.reward:.4f} | {_fmt(c.fit.chi2_per_point, 3)} | {c.fit.num_params} | "
                             + "; ".join(f"`{t}`" for t in c.crn.reactions_text()) + " |")
            lines.append("")
    lines += ["## Published model", "", f"Reference: {case.published_reference}.", ""]
    if case.comparison_kind == "baseline":
        lines += ["This comparison model is a **phenomenological baseline**, not a published mechanistic "
                  "model for these patients.", ""]
    if published:
        lines += ["| model | reactions | parameters | chi2/N | reward | fit time |", "|---|---:|---:|---:|---:|---:|"]
        if best is not None:
            lines.append(f"| **found (search)** | {best.crn.num_reactions} | {best.fit.num_params} | "
                         f"{_fmt(best.fit.chi2_per_point, 4)} | {best.reward:.4f} | |")
        for model in published:
            lines.append(f"| {model.label} | {model.crn.num_reactions} | {model.fit.num_params} | "
                         f"{_fmt(model.fit.chi2_per_point, 4)} | {model.reward:.4f} | {model.seconds:.1f} s |")
        lines.append("")
        if best is not None:
            for model in published:
                if not model.fit.success:
                    continue
                verdict = "higher than" if best.reward > model.reward else "lower than" if best.reward < model.reward \
                    else "equal to"
                fit_word = "lower" if best.fit.chi2_per_point < model.fit.chi2_per_point else "higher"
                lines.append(f"- vs {model.label}: the found network's reward is {verdict} the published model's "
                             f"({best.reward:.3f} vs {model.reward:.3f}); its chi2/N is {fit_word} "
                             f"({best.fit.chi2_per_point:.3g} vs {model.fit.chi2_per_point:.3g}) with "
                             f"{best.fit.num_params} vs {model.fit.num_params} parameters.")
            lines.append("")
        for model, agreement in zip(published, agreements):
            lines += [f"### {model.label}", "", "```", *model.crn.reactions_text(), "```", ""]
            if model.spec is not None and model.spec.note:
                lines += [model.spec.note, ""]
            if not model.fit.success:
                lines += [f"**The fit failed:** {model.fit.message}", ""]
                continue
            lines += [parts_line(model.parts) + ".", ""]
            lines += rate_table(model.crn, model.fit)
            lines += [""]
            if agreement is not None:
                mapping = ", ".join(f"{k} = {v}" for k, v in agreement.mapping.items())
                lines += ["Comparison with the best network" + (f" (latent species matched: {mapping})"
                                                               if mapping else "") + ":", ""]
                lines += [f"- agree ({len(agreement.same)}): "
                          + (", ".join(f"`{a}`" for a, _ in agreement.same) or "none")]
                if agreement.same_reactants:
                    lines += [f"- same reactants (rate law), other products, same direction "
                              f"({len(agreement.same_reactants)}): "
                              + ", ".join(f"found `{a}` vs published `{b}`" for a, b in agreement.same_reactants)]
                if agreement.same_net_change:
                    lines += [f"- same net change, different reactants ({len(agreement.same_net_change)}): "
                              + ", ".join(f"found `{a}` vs published `{b}`" for a, b in agreement.same_net_change)]
                lines += [f"- only in the found network ({len(agreement.only_found)}): "
                          + (", ".join(f"`{a}`" for a in agreement.only_found) or "none"),
                          f"- only in the published model ({len(agreement.only_published)}): "
                          + (", ".join(f"`{a}`" for a in agreement.only_published) or "none"), ""]
        lines += ["![published model: data and model](published_fit.png)", ""]
    if case.features:
        lines += ["### Mechanism features of the published model", "",
                  "The published model is large and its observables are not single species, so it is not "
                  "fitted here; the table says which of its mechanism features the found network contains "
                  "(tested structurally on the reactions).", "",
                  "| feature | in the published model | in the found network | test |", "|---|---|---|---|"]
        for feature in case.features:
            present = best is not None and feature.present(best.crn)
            lines.append(f"| {feature.name} | {feature.published} | {'yes' if present else 'no'} | {feature.test} |")
        lines.append("")
    if case.notes:
        lines += ["## Caveats", ""] + [f"- {note}" for note in case.notes] + [""]
    if errors:
        lines += ["## Errors", ""] + ["```\n" + e + "\n```" for e in errors] + [""]
    lines += ["## Files", "", "result.json, model.tex, model.xml (SBML), fit.png: the search's own output. "
              "fit_observed.png (with latent species): the same without them. published_fit.png: the first "
              "published model fitted to the same data. published.json: the published models' fits. Plots "
              "have linear axes (the library's `plot_fit` has no log scale).", ""]
    (out / "report.md").write_text("\n".join(lines))


# --------------------------------------------------------------------------- one case


def run_case(case: CaseStudy, *, time_limit: float, seed: np.random.SeedSequence, out_root: Path,
             prior: str = "heuristic", progress: bool = False) -> dict:
    start = time.perf_counter()
    out = out_root / case.name
    out.mkdir(parents=True, exist_ok=True)
    search_seed, fit_seed = seed.spawn(2)
    errors: list[str] = []
    dataset, prep_notes = load_dataset(case)
    logger.info("%s: %s", case.name, dataset.summary().splitlines()[1])
    config = SearchConfig(num_simulations=None, time_limit=time_limit, max_latent=case.latent, max_order=2,
                          max_reactions=case.max_reactions, top_k=5)
    loop_end = [start]

    def tick(num_simulations: int, best: object) -> None:
        loop_end[0] = time.perf_counter()

    result = run_search(dataset, config=config, evaluator=PRIORS[prior](), rng=search_seed, progress=progress,
                        callback=tick)
    search_seconds = time.perf_counter() - start
    write_outputs(result, dataset, out, extra_config={
        "prior": prior, "case_study": case.name, "time_limit": time_limit,
        "data": str(DATA_DIR / f"{case.name}.csv")})
    best = result.best
    best_parts = reward_parts(best.fit, best.crn, dataset) if best is not None else None
    if best is not None and best.crn.num_latent:
        plot_fit(out / "fit_observed.png", dataset, best.crn, best.fit.rates, best.fit.x0, show_latent=False,
                 title=f"best network, observed species only: reward {best.reward:.3f}")

    published: list[FittedModel] = []
    agreements: list[Agreement | None] = []
    for spec, child in zip(case.published, fit_seed.spawn(max(len(case.published), 1))):
        try:
            model = fit_published(spec, dataset, child)
        except Exception:  # noqa: BLE001 - a failure here is a finding to report, not a reason to stop
            errors.append(f"fit of the published model {spec.label!r} raised:\n{traceback.format_exc()}")
            continue
        published.append(model)
        agreements.append(compare_reactions(best.crn, model.crn) if best is not None else None)
    if published and published[0].fit.success:
        first = published[0]
        plot_fit(out / "published_fit.png", published_dataset(first.spec, dataset), first.crn, first.fit.rates,
                 first.fit.x0, title=f"{first.label}: reward {first.reward:.3f}")
    (out / "published.json").write_text(json.dumps([{
        "label": m.label, "reactions": m.crn.reactions_text(), "latent": list(m.crn.latent_species),
        "success": bool(m.fit.success), "message": m.fit.message,
        "rates": [float(k) for k in m.fit.rates], "rate_se_log": [float(s) if math.isfinite(s) else None
                                                                  for s in m.fit.rate_se],
        "param_names": list(m.fit.param_names), "params": [float(p) for p in m.fit.params],
        "chi2": m.fit.loss if math.isfinite(m.fit.loss) else None,
        "chi2_per_point": m.fit.chi2_per_point if math.isfinite(m.fit.loss) else None,
        "num_params": int(m.fit.num_params), "reward": m.reward, "seconds": m.seconds}
        for m in published], indent=1) + "\n")
    total = time.perf_counter() - start
    timings = {"search": search_seconds, "loop": loop_end[0] - start, "polish": search_seconds - (loop_end[0] - start),
               "total": total}
    write_report(case, dataset, prep_notes, result, best_parts, published, agreements, time_limit, timings, out,
                 errors)
    if total > WALL_LIMIT:
        logger.warning("%s took %.0f s, over the %.0f s limit per data set", case.name, total, WALL_LIMIT)
    summary = {
        "name": case.name, "time_limit": time_limit, "search_seconds": result.elapsed,
        "loop_seconds": timings["loop"], "polish_seconds": timings["polish"],
        "wall_seconds": total, "num_fits": result.num_fits, "num_simulations": result.num_simulations,
        "noise_model": dataset.noise_model, "noise": dict(zip(dataset.species, dataset.noise.tolist())),
        "best": None if best is None else {
            "reactions": best.crn.reactions_text(), "chi2_per_point": best.fit.chi2_per_point,
            "reward": best.reward, "num_params": int(best.fit.num_params)},
        "published": [{"label": m.label, "num_reactions": m.crn.num_reactions,
                       "chi2_per_point": m.fit.chi2_per_point if m.fit.success else None,
                       "reward": m.reward, "num_params": int(m.fit.num_params),
                       "agree": [a for a, _ in g.same] if g else [],
                       "same_reactants": [list(p) for p in g.same_reactants] if g else [],
                       "same_net_change": [list(p) for p in g.same_net_change] if g else [],
                       "only_found": g.only_found if g else [], "only_published": g.only_published if g else []}
                      for m, g in zip(published, agreements)],
        "features": {f.name: bool(best is not None and f.present(best.crn)) for f in case.features},
        "errors": errors,
    }
    return summary


def write_summary(summaries: list[dict]) -> list[str]:
    """The summary table of all data sets run so far (markdown lines)."""
    for s in summaries:  # rows written before the command was recorded ran with every data set
        s.setdefault("command", f"python experiments/case_studies/run.py --time-limit {s['time_limit']:g}")
    commands = list(dict.fromkeys(s["command"] for s in summaries))
    lines = ["# Case studies: summary", "", "Commands (each row says which budget it ran with):", ""]
    lines += [f"- `{c}`" for c in commands] + [""]
    lines += ["| data set | best network | chi2/N | reward | P | published | chi2/N | reward | P | agree "
              "| budget s | wall s |",
              "|---|---|---:|---:|---:|---|---:|---:|---:|---|---:|---:|"]
    for s in summaries:
        best = s.get("best")
        pub = s["published"][0] if s.get("published") else None
        feats = s.get("features") or {}
        cells = [s["name"]]
        if best:
            cells += ["; ".join(f"`{t}`" for t in best["reactions"]), _fmt(best["chi2_per_point"], 3),
                      f"{best['reward']:.3f}", str(best["num_params"])]
        else:
            cells += ["(none)", "", "", ""]
        if pub:
            agree = f"{len(pub['agree'])} of {pub['num_reactions']}"
            if pub["same_reactants"]:
                agree += f" (+{len(pub['same_reactants'])} same reactants)"
            cells += [pub["label"], _fmt(pub["chi2_per_point"], 3), f"{pub['reward']:.3f}", str(pub["num_params"]),
                      agree]
        elif s.get("errors") and not best:
            cells += ["(the case study failed: see its report.md)", "", "", "", ""]
        else:
            cells += ["(features only)", "", "", "", f"features {sum(feats.values())}/{len(feats)}" if feats else ""]
        cells += [_fmt(s.get("time_limit", float("nan")), 3), _fmt(s["wall_seconds"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=600.0, metavar="S",
                        help="search wall-time budget per data set in seconds (default 600)")
    parser.add_argument("--only", action="append", choices=sorted(CASE_BY_NAME), metavar="NAME",
                        help="run only this data set (repeatable; default all)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--prior", choices=sorted(PRIORS), default="heuristic")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="output folder (default out/ here)")
    parser.add_argument("--progress", action="store_true", help="a progress bar per search")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.time_limit <= 0 or args.time_limit > WALL_LIMIT - 60:
        parser.error(f"--time-limit must be in (0, {WALL_LIMIT - 60:g}] to stay within {WALL_LIMIT:g} s per data set")
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = dict(zip((c.name for c in CASES), np.random.SeedSequence(args.seed).spawn(len(CASES))))
    names = args.only or [c.name for c in CASES]
    summaries = []
    summary_path = args.out / "summary.json"
    previous = {s["name"]: s for s in json.loads(summary_path.read_text())} if summary_path.exists() else {}
    command = "python experiments/case_studies/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for name in names:
        logger.info("case study %s: search for %g s", name, args.time_limit)
        try:
            summary = run_case(CASE_BY_NAME[name], time_limit=args.time_limit, seed=seeds[name], out_root=args.out,
                               prior=args.prior, progress=args.progress)
        except Exception:  # noqa: BLE001 - report the failure of one data set and go on with the others
            error = traceback.format_exc()
            logger.error("case study %s failed:\n%s", name, error)
            (args.out / name).mkdir(parents=True, exist_ok=True)
            (args.out / name / "report.md").write_text(
                f"# {CASE_BY_NAME[name].title}\n\nThe case study failed with this error:\n\n```\n{error}```\n")
            summary = {"name": name, "time_limit": args.time_limit, "best": None, "published": [], "features": {},
                       "wall_seconds": float("nan"), "errors": [error]}
        summary["command"] = command
        previous[name] = summary
        logger.info("%s done in %.0f s", name, summary["wall_seconds"])
        ordered = [previous[c.name] for c in CASES if c.name in previous]
        (args.out / "summary.md").write_text("\n".join(write_summary(ordered)) + "\n")
        summary_path.write_text(json.dumps(ordered, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
