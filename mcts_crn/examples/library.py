"""A library of published models in mass-action form, with seeded synthetic data.

Each ``ExampleModel`` carries its reactions, citation, rate constants, initial conditions of one or more
experiments, time grid and the species a modeller would measure (the others are latent). ``make_dataset``
simulates it and adds seeded multiplicative Gaussian noise, giving the ``Dataset`` that ``--example NAME``
and the recovery studies use.

Where a published model is not mass action (a Michaelis-Menten or saturating term), the mass-action
mechanism it abbreviates is used instead and the note says so; where a paper gives dimensional values in
units that would make the numbers span many decades, the model is written in scaled units and the note
says which.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from mcts_crn.crn import Crn
from mcts_crn.data import Dataset, Experiment
from mcts_crn.data.noise import check_noise_model


@dataclasses.dataclass(frozen=True)
class ExampleModel:
    """A published model with everything needed to make synthetic data.

    Attributes
    ----------
    name : str
        Registry key (``--example NAME``).
    title, citation, note : str
        What it is, the reference, and how the mass-action form relates to the published one.
    reactions : str
        Reaction text (``Crn.from_text``), one reaction a line.
    rates : tuple of float, [R]
        Rate constants in reaction order.
    initial : tuple of dict
        One ``{species: amount}`` per experiment; species not named start at 0.
    observed : tuple of str
        Measured species; the rest are latent.
    t_end : float
        End of the observation window (start 0).
    num_times : int
        Number of observation times per experiment.
    log_times : bool
        Observation times log-spaced from ``t_end * 1e-6`` (stiff models with several time scales).
    """

    name: str
    title: str
    citation: str
    reactions: str
    rates: tuple[float, ...]
    initial: tuple[Mapping[str, float], ...]
    observed: tuple[str, ...]
    t_end: float
    num_times: int = 41
    log_times: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        crn = self.crn  # the reaction text and the observed species parse
        if len(self.rates) != crn.num_reactions:
            raise ValueError(f"{len(self.rates)} rates for {crn.num_reactions} reactions")

    @property
    def crn(self) -> Crn:
        """The true network, with the unobserved species latent."""
        return Crn.from_text(self.reactions, observed=self.observed)

    @property
    def rates_array(self) -> np.ndarray:
        """Rate constants, float64 [R]."""
        return np.asarray(self.rates, dtype=np.float64)

    def x0(self, experiment: int = 0) -> np.ndarray:
        """Initial amounts of one experiment, float64 [S] in ``crn.species`` order."""
        values = self.initial[experiment]
        return np.array([float(values.get(s, 0.0)) for s in self.crn.species], dtype=np.float64)

    @property
    def times(self) -> np.ndarray:
        """Observation times, float64 [T], starting at 0."""
        if self.log_times:
            return np.concatenate([[0.0], np.geomspace(self.t_end * 1e-6, self.t_end, self.num_times - 1)])
        return np.linspace(0.0, self.t_end, self.num_times)

    def trajectories(self) -> list[np.ndarray]:
        """Noise-free trajectories, one float64 [T, S] array per experiment."""
        from mcts_crn.simulate import simulate

        crn = self.crn
        out = []
        for e in range(len(self.initial)):
            states = np.asarray(simulate(crn, self.rates_array, self.x0(e), self.times, rtol=1e-10, atol=1e-12))
            if not np.isfinite(states).all():
                raise RuntimeError(f"example {self.name!r}: simulation of experiment {e} failed")
            out.append(states)
        return out

    def make_dataset(self, *, noise: float = 0.05, rng: np.random.Generator | int | None = None,
                     observed: tuple[str, ...] | None = None, noise_model: str = "relative") -> Dataset:
        """Synthetic data: the model's trajectories with Gaussian noise.

        Relative noise (default): ``y = max(0, x (1 + noise * eps))``; absolute noise:
        ``y = max(0, x + noise * m_j * eps)`` with ``m_j`` the largest value of species j's noise-free
        trajectories over all experiments, so that ``noise`` is a fraction of the species' range either way.
        ``eps ~ N(0, 1)`` is drawn from ``rng`` (a Generator or a seed), so the same seed gives the same
        data. The noise is recorded as given (in the species' units under absolute noise). Every
        experiment's known initial amounts (all species, latent ones included) are stored in the data set.

        Parameters
        ----------
        noise : float
            Noise level (0.05 = 5%).
        rng : np.random.Generator or int, optional
        observed : tuple of str, optional
            Species to include as data columns; default ``self.observed``.
        noise_model : str
            ``"relative"`` or ``"absolute"``.
        """
        check_noise_model(noise_model)
        rng = np.random.default_rng(rng)
        crn = self.crn
        observed = tuple(observed or self.observed)
        columns = [crn.species_index(s) for s in observed]
        clean = [states[:, columns] for states in self.trajectories()]
        largest = np.max([c.max(axis=0) for c in clean], axis=0)
        sigma_unit = np.where(largest > 0, largest, 1.0) if noise_model == "absolute" else None
        experiments = []
        for e, signal in enumerate(clean):
            eps = rng.standard_normal(signal.shape)
            noisy = signal * (1.0 + noise * eps) if sigma_unit is None else signal + noise * sigma_unit * eps
            initial = {s: float(v) for s, v in zip(crn.species, self.x0(e))}
            experiments.append(Experiment(name=str(e + 1), times=self.times, values=np.maximum(0.0, noisy),
                                          initial_values=initial))
        levels = np.full(len(observed), max(noise, 1e-12)) * (1.0 if sigma_unit is None else sigma_unit)
        return Dataset(species=observed, experiments=tuple(experiments), noise=levels, noise_model=noise_model,
                       noise_given=True,
                       source=f"example:{self.name} ({'' if sigma_unit is None else 'absolute '}noise {noise:g})")


EXAMPLES: dict[str, ExampleModel] = {}


def _register(model: ExampleModel) -> None:
    EXAMPLES[model.name] = model


_register(ExampleModel(
    name="michaelis_menten",
    title="Michaelis-Menten enzyme kinetics with an explicit enzyme-substrate complex",
    citation="Michaelis L, Menten ML (1913) Biochem Z 49:333-369; Briggs GE, Haldane JBS (1925) Biochem J "
             "19:338-339",
    reactions="E + S -> C\nC -> E + S\nC -> E + P",
    rates=(1.0, 0.5, 0.3),
    initial=({"E": 1.0, "S": 10.0}, {"E": 1.0, "S": 5.0}, {"E": 1.0, "S": 2.0}),
    observed=("S", "P"),
    t_end=40.0,
    note="Scaled units (enzyme total 1). Only substrate and product are measured: enzyme E and complex C are "
         "latent, as in a progress-curve assay.",
))

_register(ExampleModel(
    name="lotka_volterra",
    title="Lotka-Volterra predator-prey",
    citation="Lotka AJ (1925) Elements of Physical Biology; Volterra V (1926) Nature 118:558-560",
    reactions="X -> 2 X\nX + Y -> 2 Y\nY -> 0",
    rates=(1.0, 0.1, 1.5),
    initial=({"X": 10.0, "Y": 5.0},),
    observed=("X", "Y"),
    t_end=15.0,
    num_times=61,
    note="Prey X grows, predator Y converts prey into predators and dies; conversion efficiency 1.",
))

_register(ExampleModel(
    name="sir",
    title="SIR epidemic",
    citation="Kermack WO, McKendrick AG (1927) Proc R Soc A 115:700-721",
    reactions="S + I -> 2 I\nI -> R",
    rates=(0.5, 0.1),
    initial=({"S": 0.99, "I": 0.01},),
    observed=("S", "I", "R"),
    t_end=80.0,
    note="Population fractions (N = 1), R0 = beta / gamma = 5, infectious period 10 days.",
))

_register(ExampleModel(
    name="seir",
    title="SEIR epidemic with a latent (exposed) class",
    citation="Anderson RM, May RM (1991) Infectious Diseases of Humans, Oxford University Press, ch. 6",
    reactions="S + I -> E + I\nE -> I\nI -> R",
    rates=(0.6, 0.2, 0.1),
    initial=({"S": 0.99, "I": 0.01},),
    observed=("S", "I", "R"),
    t_end=120.0,
    note="Population fractions; incubation 5 days, infectious period 10 days, R0 = 6. The exposed class E is "
         "not measured (latent).",
))

_register(ExampleModel(
    name="hiv",
    title="HIV target-cell-limited model (uninfected T cells, infected cells, virus)",
    citation="Perelson AS, Neumann AU, Markowitz M, Leonard JM, Ho DD (1996) Science 271:1582-1586; "
             "Nowak MA, May RM (2000) Virus Dynamics, Oxford University Press",
    reactions="0 -> T\nT -> 0\nT + V -> I + V\nI -> 0\nI -> I + V\nV -> 0",
    rates=(10.0, 0.1, 0.002, 0.5, 50.0, 5.0),
    initial=({"T": 100.0, "V": 1.0},),
    observed=("T", "V"),
    t_end=100.0,
    note="Scaled units; R0 = lambda beta p / (d delta c) = 4. Infection does not consume virions (the standard "
         "form). Infected cells I are not measured (latent).",
))

_register(ExampleModel(
    name="malaria",
    title="Within-host malaria: red blood cells, infected red cells, merozoites",
    citation="Anderson RM, May RM, Gupta S (1989) Parasitology 99:S59-S79",
    reactions="0 -> X\nX -> 0\nX + M -> Y\nY -> 2 M\nM -> 0",
    rates=(0.0415, 0.0083, 2.0, 0.5, 2.0),
    initial=({"X": 5.0, "M": 0.001},),
    observed=("X", "Y"),
    t_end=60.0,
    num_times=61,
    note="Red cells X in 10^6/uL, life span 120 days, 2-day schizogony. The burst size is 2 here (a "
         "second-order product, inside the search's order limit) where the paper has about 16, and the "
         "invasion rate is raised to keep R0 = 10; the first wave peaks near day 30 with severe anaemia. "
         "Merozoites M are not measured (latent).",
))

_register(ExampleModel(
    name="tumour_growth",
    title="Logistic tumour growth in mass-action form",
    citation="Verhulst PF (1838) Corresp Math Phys 10:113-121; Benzekry S et al. (2014) PLoS Comput Biol "
             "10:e1003800",
    reactions="T -> 2 T\n2 T -> T",
    rates=(0.3, 3e-4),
    initial=({"T": 10.0}, {"T": 50.0}),
    observed=("T",),
    t_end=40.0,
    note="Growth rate 0.3/day and carrying capacity K = k1 / k2 = 1000 (cells x 10^6, scaled); two "
         "experiments with different initial sizes.",
))

_register(ExampleModel(
    name="tumour_immune",
    title="Tumour-immune interaction with an effector-tumour complex (Kuznetsov type)",
    citation="Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS (1994) Bull Math Biol 56:295-321",
    reactions="0 -> E\nE -> 0\nT -> 2 T\n2 T -> T\nE + T -> C\nC -> E\nC -> T",
    rates=(1.0, 0.1, 0.5, 0.001, 0.02, 1.0, 0.02),
    initial=({"E": 10.0, "T": 20.0},),
    observed=("E", "T"),
    t_end=60.0,
    num_times=61,
    note="The mass-action core of Kuznetsov et al. (1994): effector source and death, logistic tumour growth "
         "(K = 500), and effector-tumour binding into the complex C (latent), which either lyses the tumour cell "
         "(C -> E) or inactivates the effector (C -> T). Scaled units, rates chosen here (not the paper's) to "
         "show early immune pressure, escape and a slowly building complex pool; the paper's saturating "
         "recruitment term is left out (not mass action).",
))

_register(ExampleModel(
    name="brusselator",
    title="Brusselator (autocatalytic oscillator)",
    citation="Prigogine I, Lefever R (1968) J Chem Phys 48:1695-1700",
    reactions="0 -> X\nX -> Y\n2 X + Y -> 3 X\nX -> 0",
    rates=(1.0, 2.5, 1.0, 1.0),
    initial=({"X": 1.0, "Y": 1.0},),
    observed=("X", "Y"),
    t_end=20.0,
    num_times=81,
    note="A = 1, B = 2.5 > 1 + A^2: a stable limit cycle. The autocatalytic step is third order, so a search "
         "needs --max-order 3 to reach it.",
))

_register(ExampleModel(
    name="robertson",
    title="Robertson's stiff chemical kinetics",
    citation="Robertson HH (1966) in Numerical Analysis: an Introduction, Academic Press, 178-182",
    reactions="A -> B\n2 B -> B + C\nB + C -> A + C",
    rates=(0.04, 3e7, 1e4),
    initial=({"A": 1.0},),
    observed=("A", "B", "C"),
    t_end=1e5,
    num_times=41,
    log_times=True,
    note="Rates span 9 decades; observation times log-spaced. B stays below 4e-5.",
))

_register(ExampleModel(
    name="phosphorylation_cycle",
    title="Phosphorylation-dephosphorylation cycle with enzyme complexes (Goldbeter-Koshland)",
    citation="Goldbeter A, Koshland DE (1981) PNAS 78:6840-6844",
    reactions="E + S -> ES\nES -> E + S\nES -> E + Sp\nF + Sp -> FSp\nFSp -> F + Sp\nFSp -> F + S",
    rates=(2.0, 1.0, 0.5, 2.0, 1.0, 0.3),
    initial=({"S": 10.0, "E": 1.0, "F": 1.0}, {"S": 5.0, "Sp": 5.0, "E": 1.0, "F": 1.0}),
    observed=("S", "Sp", "E", "F"),
    t_end=40.0,
    note="Kinase E, phosphatase F; the complexes ES and FSp are not measured (latent).",
))

_register(ExampleModel(
    name="dimerisation",
    title="Reversible dimerisation",
    citation="e.g. Gillespie DT (1977) J Phys Chem 81:2340-2361 (dimerisation test system)",
    reactions="2 M -> D\nD -> 2 M",
    rates=(0.2, 0.5),
    initial=({"M": 10.0}, {"M": 4.0, "D": 2.0}),
    observed=("M", "D"),
    t_end=10.0,
    note="Two experiments with different starting monomer and dimer amounts.",
))


def example_names() -> list[str]:
    """Names of the built-in example models."""
    return list(EXAMPLES)


def get_example(name: str) -> ExampleModel:
    """The example model called ``name``; ValueError listing the names otherwise."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise ValueError(f"no example {name!r}; choose one of {', '.join(EXAMPLES)}") from None
