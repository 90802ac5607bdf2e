"""Configuration: one frozen dataclass per layer.

Every config is immutable and built either directly or with ``from_dict``, which rejects unknown keys so
that a typo in a JSON config or a command line never passes silently.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

C = TypeVar("C", bound="_Config")


@dataclasses.dataclass(frozen=True)
class _Config:
    """Base class: ``from_dict`` / ``to_dict`` with unknown-key rejection."""

    @classmethod
    def from_dict(cls: type[C], values: Mapping[str, Any] | None = None) -> C:
        values = dict(values or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown keys {unknown}; known keys are {sorted(names)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class DataConfig(_Config):
    """Reading and validating data sets.

    Attributes
    ----------
    noise_floor : float
        Smallest relative noise level an estimate may return (guards against a zero estimate on
        perfectly smooth or constant data). For absolute noise the floor is this fraction of the
        species' scale (its largest observed absolute value).
    scale_floor : float
        Under relative noise, the fraction of a species' scale below which the noise stops shrinking
        with the amount: sigma = noise * max(|y|, scale_floor * scale). Keeps zeros and values near
        a detection limit from getting a vanishing error bar.
    fallback_noise : float
        Relative noise level (for absolute noise: this fraction of the species' scale) used when a
        species has too few observations to estimate its noise; a warning is logged.
    """

    noise_floor: float = 1e-3
    scale_floor: float = 1e-2
    fallback_noise: float = 0.1


@dataclasses.dataclass(frozen=True)
class CrnConfig(_Config):
    """Limits of the reaction-network space.

    Attributes
    ----------
    max_order : int
        Largest number of molecules on either side of a candidate reaction.
    """

    max_order: int = 2


@dataclasses.dataclass(frozen=True)
class SimulateConfig(_Config):
    """ODE integration settings (``mcts_crn.simulate``).

    Attributes
    ----------
    method : str
        A key of ``mcts_crn.simulate.METHODS``: ``"auto"`` (Dormand-Prince 5(4), switching once to the
        L-stable Rosenbrock method Rodas4 when the problem turns out stiff), ``"dopri5"`` or ``"rodas4"``.
    rtol, atol : float
        Relative and absolute tolerance of the local error test, ``|err_i| <= atol + rtol |x_i|`` in an RMS
        norm over the states (and, separately, over the sensitivities when they are computed).
    max_steps : int
        Largest number of attempted steps (accepted and rejected) of one simulation; beyond it the
        simulation fails with status "too many steps" (a runaway network fails fast).
    """

    method: str = "auto"
    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 100_000


@dataclasses.dataclass(frozen=True)
class FitConfig(_Config):
    """Fitting rate constants (and unknown initial values) to data (``mcts_crn.fit.fit_rates``).

    Parameters are optimized in log space, in rescaled units (time by the data's time span, amounts by the
    largest observed species scale); bounds below are in those units.

    Attributes
    ----------
    optimizer : str
        ``"lm"`` (default): Levenberg-Marquardt on the weighted residuals with the exact Jacobian from the
        forward sensitivities, all starts advanced in lock step with one batched simulation per
        iteration. ``"lbfgs"``: scipy L-BFGS-B on the loss with its exact gradient ``2 J^T r``.
        ``"evolution"``: scipy differential evolution (population simulated in one batched call) in a box
        of ``evolution_decades`` around the first start, polished by ``"lm"``; for hard cases.
    num_starts : int
        Starts per fit: the warm or default start, then seeded random perturbations of it. The first
        start runs alone; the others run (together) only if it does not end within the noise
        (``accept_chi2``). 1 means the first start only (no wide screen either).
    start_spread : float
        Random starts multiply each parameter of the first start by ``exp(u)``, ``u ~ U(-ln s, ln s)``.
    screen_size : int
        For a network with fitted latent initial values, when neither the first start, its perturbations
        nor the time continuation end within the noise, this many seeded starting points drawn over wide
        ranges (Latin hypercube in log space, ``screen_rate_range`` and ``screen_initial_range``) are
        scored by their loss on the first ``screen_window`` of the time span (one batched simulation
        without sensitivities); the best ``screen_starts`` are optimized on that window for
        ``screen_window_iterations`` iterations, and the best ``screen_keep`` of those (by the window's
        loss) on all the data. This finds the basin of networks with latent species fitted from a cold
        start (their initial values and the rates of their reactions are what the data inform least;
        networks of observed species only fit without it); 0 disables it.
    screen_starts, screen_window_iterations, screen_keep : int
        See ``screen_size``; ``screen_window_iterations = 0`` skips the window's optimization (the best
        ``screen_keep`` points of the screen go straight to all the data).
    screen_window : float
        Fraction of the time span (from each experiment's start) on which the screen scores and first
        optimizes its points; 1 is all of it. The early window tells the basins apart: a point that gets
        the first phase right (a growth rate, an onset) is usually in the right basin, while on the whole
        span the loss of the later, mistimed dynamics dominates.
    screen_rate_range : tuple of float
        Range of the screened rescaled rate constants (turnovers per time span at the data's amount
        scale); a reaction of order two or more has it divided by the typical amounts of its reactants
        other than the scarcest (observed species: their scale; latent ones: the amount scale).
    screen_initial_range : tuple of float
        Range of the screened rescaled latent initial values (fractions of the amount scale).
    accept_chi2 : float
        Early exit: once a converged start has ``chi2 / N`` at or below this value, the remaining starts
        are dropped (a fit within the noise cannot be improved in any way that matters).
    max_iterations : int
        Largest number of iterations per start.
    max_simulations : int
        Largest number of (batched, per parameter set) simulations per fit.
    max_failures : int
        A start is abandoned after this many consecutive failed integrations (early stop).
    max_step : float
        Largest change of a log parameter in one Levenberg-Marquardt step.
    initial_damping : float
        Levenberg-Marquardt's first ``lambda`` (relative to the scaled ``diag(J^T J)``).
    ftol, xtol, gtol : float
        Convergence: relative decrease of the loss, relative step in log parameters, and the largest
        scaled gradient component.
    log_rate_bounds, log_initial_bounds : tuple of float
        Natural-log bounds of the rescaled rate constants and unknown initial values.
    default_rate : float
        Rescaled rate constant of a reaction without a warm start value when no warm start is given
        (1: each reaction turns over about once in the observation window at amounts of the data's scale).
    new_reaction_rate : float
        Rescaled start value of a reaction that a warm start does not cover (a reaction added by the
        search): small, so that the first start reproduces the parent network's fit.
    default_initial : float
        Rescaled start value of a latent initial value that nothing else informs.
    latent_initial : str
        ``"shared"``: one fitted initial value per unknown latent species, the same in every experiment;
        ``"per_experiment"``: one per unknown latent species and experiment.
    fit_observed_initial : bool
        Fit the initial value of an observed species without a known initial value (one per species and
        experiment, starting at its first observation); False fixes it at the first observation.
    continuation_chi2 : float
        When the best start ends with ``chi2 / N`` above this, the fit is retried by time continuation:
        fit the observations in the first ``continuation_windows`` fractions of the time span in turn,
        each warm started from the last, then the whole data (from the first start and from the best
        point). Oscillations and switches create local minima that this avoids (the short window sees
        only one phase of the dynamics).
    continuation_windows : tuple of float
        Increasing fractions of the time span; empty disables the continuation.
    holdout : bool
        With two or more experiments, also refit without the last one (warm started) and record how well
        that fit predicts it (``FitResult.holdout_chi2``), for the reward's robustness term.
    holdout_predictive : bool
        Measure that prediction against its own uncertainty (the refit's Fisher information about the
        rate constants; ``mcts_crn.fit.fit._holdout``) instead of as a plain chi-square.
    weights : str
        Under relative noise, the signal size in ``sigma = noise * max(|y~|, floor)``: ``"smoothed"``
        (default), a local straight-line fit to the 5 nearest observations (in log scale where positive;
        the observation itself where the line misses it by more than 3 noise levels), which removes most
        of the downward bias of ``"observed"``, the observation itself as in ``Dataset.sigmas`` (see
        ``mcts_crn.fit.problem``).
    rtol : float
        Relative tolerance of the integrator (1e-5: the simulation error stays orders of magnitude below
        any realistic noise level, with about half the steps of 1e-6).
    atol : float
        Absolute tolerance, as a fraction of the smallest observed species' scale.
    max_steps : int
        Largest number of integrator steps per simulation (a runaway network fails fast).
    method : str
        Integration method, a key of ``mcts_crn.simulate.METHODS``.
    parallel : bool
        Spread each batched simulation over threads.
    evolution_decades : float
        Half-width (in decades) of the differential-evolution box around the first start.
    evolution_popsize, evolution_maxiter : int
        Population size multiplier and generations of differential evolution.
    """

    optimizer: str = "lm"
    num_starts: int = 4
    start_spread: float = 10.0
    screen_size: int = 256
    screen_starts: int = 8
    screen_window_iterations: int = 20
    screen_keep: int = 3
    screen_window: float = 0.2
    screen_rate_range: tuple[float, float] = (1e-2, 1e4)
    screen_initial_range: tuple[float, float] = (1e-4, 1.0)
    accept_chi2: float = 1.5
    max_iterations: int = 100
    max_simulations: int = 2000
    max_failures: int = 8
    max_step: float = 3.0
    initial_damping: float = 1e-2
    ftol: float = 1e-6
    xtol: float = 1e-7
    gtol: float = 1e-6
    log_rate_bounds: tuple[float, float] = (-25.0, 35.0)
    log_initial_bounds: tuple[float, float] = (-20.0, 10.0)
    default_rate: float = 1.0
    new_reaction_rate: float = 0.05
    default_initial: float = 0.1
    latent_initial: str = "shared"
    fit_observed_initial: bool = True
    continuation_chi2: float = 4.0
    continuation_windows: tuple[float, ...] = (0.2, 0.5)
    holdout: bool = True
    holdout_predictive: bool = True
    weights: str = "smoothed"
    rtol: float = 1e-5
    atol: float = 1e-6
    max_steps: int = 20_000
    method: str = "auto"
    parallel: bool = False
    evolution_decades: float = 3.0
    evolution_popsize: int = 15
    evolution_maxiter: int = 200

    def __post_init__(self) -> None:
        if self.optimizer not in ("lm", "lbfgs", "evolution"):
            raise ValueError(f"optimizer must be 'lm', 'lbfgs' or 'evolution', got {self.optimizer!r}")
        if self.weights not in ("smoothed", "observed"):
            raise ValueError(f"weights must be 'smoothed' or 'observed', got {self.weights!r}")
        if self.latent_initial not in ("shared", "per_experiment"):
            raise ValueError(f"latent_initial must be 'shared' or 'per_experiment', got {self.latent_initial!r}")
        if self.num_starts < 1 or self.max_iterations < 1 or self.max_simulations < 1:
            raise ValueError("num_starts, max_iterations and max_simulations must be at least 1")
        if self.screen_size < 0 or self.screen_window_iterations < 0 or min(self.screen_starts, self.screen_keep) < 1:
            raise ValueError("screen_size and screen_window_iterations must be at least 0, screen_starts and "
                             "screen_keep at least 1")
        if not 0.0 < self.screen_window <= 1.0:
            raise ValueError(f"screen_window must be in (0, 1], got {self.screen_window}")
        for name in ("screen_rate_range", "screen_initial_range"):
            low, high = getattr(self, name)
            if not 0.0 < low < high:
                raise ValueError(f"{name} must be (low, high) with 0 < low < high, got {(low, high)}")
            object.__setattr__(self, name, (float(low), float(high)))
        windows = tuple(float(w) for w in self.continuation_windows)
        if any(not 0.0 < w < 1.0 for w in windows) or list(windows) != sorted(windows):
            raise ValueError(f"continuation_windows must increase within (0, 1), got {windows}")
        object.__setattr__(self, "continuation_windows", windows)
        for name in ("log_rate_bounds", "log_initial_bounds"):
            low, high = getattr(self, name)
            if not low < high:
                raise ValueError(f"{name} must be (low, high) with low < high, got {(low, high)}")
            object.__setattr__(self, name, (float(low), float(high)))


@dataclasses.dataclass(frozen=True)
class RewardConfig(_Config):
    """Scoring a fitted network (``mcts_crn.reward.reward``); the formula is in that function's docstring.

    Attributes
    ----------
    complexity_weight : float
        Penalty per parameter in units of ``ln N`` (1 is the BIC).
    unsupported_weight : float
        Extra penalty, in units of ``ln N``, per rate constant whose relative standard error exceeds
        ``unsupported_se`` (a rate the data do not determine).
    unsupported_se : float
        Standard error of ``ln k`` above which a rate counts as unsupported (3: not even its order of
        magnitude is known; a rate fitted to zero, at its lower bound, has an infinite one).
    holdout_weight : float
        Weight of the generalization gap: how much more chi-square the held-out experiment has when
        predicted by a refit to the other experiments than under the full fit.
    holdout_tolerance : float
        Part of the generalization gap that is not penalized, in units of ``sqrt(2 N_h)`` (the standard
        deviation of the held-out chi-square).
    exponent : float
        ``reward = (1 + s) ** -exponent`` for the penalized chi-square per point ``s``.
    """

    complexity_weight: float = 2.0
    unsupported_weight: float = 1.0
    unsupported_se: float = 3.0
    holdout_weight: float = 1.0
    holdout_tolerance: float = 2.0
    exponent: float = 0.5


@dataclasses.dataclass(frozen=True)
class SearchConfig(_Config):
    """The structure search (``mcts_crn.search.run_search``).

    Attributes
    ----------
    num_simulations : int or None
        Budget in tree simulations (each adds at most one node, hence at most one fit); None: until
        ``time_limit``.
    time_limit : float or None
        Budget in seconds of wall time; None: until ``num_simulations``. With both, whichever ends first.
    max_fits : int or None
        Budget in fits (``SearchResult.num_fit_calls``: the tree's fits, its playouts', polishing's
        screening fits and the cold refits of new best networks), the same unit of cost whatever the prior
        and playout depth. Without a time limit the fits made are the search's clock, as the time is with
        one: the tree search ends at ``1 - polish_fraction`` of the budget (or earlier: ``tree_patience``),
        the climbs share the fits up to 98% of it, and the rest prunes the best network. The search is the
        same on any machine. The last step may pass it by a few fits. With other budgets, whichever ends
        first.
    max_latent, max_order, max_reactions : int
        The action space (``mcts_crn.crn.ActionSpace``).
    forbidden, required : tuple of str
        User constraints: reaction texts never to add, and ones that must be present before stopping.
    c_puct, beta, fpu, pw_c, pw_alpha : float
        Selection (``mcts_crn.search.tree.PuctParams``): exploration weight, weight of the best value in
        Q, first-play urgency (None: the parent's Q), progressive widening constant and exponent.
    batch_size : int
        Leaves selected (with virtual loss) and evaluated together.
    workers : int
        Processes that fit at once: the new networks of a batch of leaves and their playouts, polishing's
        screens and full fits and pruning's run ahead of the search in this many processes. Each fit's seed
        is its index in the order the search takes the results, so the result does not depend on
        ``workers`` (within a budget of simulations or fits; a time limit reaches further with more).
    max_children : int
        Edges kept per node: the legal actions with the highest priors (progressive widening rarely
        reaches further).
    value_weight : float
        A leaf's value is ``(1 - w) * reward + w * v`` when the evaluator predicts ``v``; the reward alone
        otherwise.
    dirichlet_alpha, dirichlet_fraction : float
        Root exploration noise (self-play): priors ``(1 - f) p + f Dir(alpha)``; ``alpha = 0`` turns it off.
    top_k : int
        Alternatives reported beside the best network.
    rollout_depth : int
        After a new state is fitted, a greedy playout follows the evaluator's highest prior for up to this
        many edits, fitting each network on the way (all are cached and reported as candidates); the
        state's value is the best reward met (the parts of a mechanism are rarely good networks alone,
        so a state's own reward is a poor guide to what lies below it). 0 turns playouts off.
    polish : int
        After the tree search, a local search (hill climbing) from the ``polish`` best complete networks:
        among the neighbours of a network (one reaction removed; two reactions with equal reactants merged;
        one reaction routed through a new latent intermediate, made by a new latent producer, driven by a
        new latent free stage, bound in a new latent complex, or catalysed by a new latent enzyme; the
        reverse of a reaction added; one coefficient changed by one; one of the ``polish_additions``
        reactions of highest prior added; ``search.moves``) take the one that raises the reward most,
        while one does. The MDP only
        adds one reaction at a time, and a mechanism with latent species pays off only when all its steps
        are there; these moves add them together. With a time limit or ``max_fits``, polishing starts from
        the best network, then, in turn, from the best network of the size whose best mechanism move gains
        most and from the runners-up of earlier climbs, until the time (or 98% of the fits) is up. With a
        budget in simulations alone, it climbs from the ``polish`` best networks in turn and may make as many
        fits (screening fits included) as the tree search made. 0 turns it off.
    polish_climbs : int
        With a time limit (or ``max_fits``), the climbs that share the polishing time (or fits), each in a
        slot (the slot that has used the least takes the next step; a new climb starts in the slot of one
        that ended): a climb from
        a large network takes long steps and would otherwise leave none for the small networks that a
        mechanism move turns into the truth. 1 climbs from one network at a time.
    polish_refits : int
        Polishing ranks all neighbours by a cheap fit (the warm start only, no hold-out refit) and fits
        this many of the best in full.
    polish_beam : int
        Width of the beam search that polishing turns into where hill climbing stalls (moves that lower the
        reward are then kept, so the climb can pass between two good networks); 1 is hill climbing alone.
    polish_beam_steps : int
        Steps the widened beam may take without beating the network where the climb stalled.
    polish_min_gain : float
        Smallest rise of the ranked reward that counts as a step of the climb (smaller ones are moves
        over a plateau of networks that fit alike, which would use up the time), except for a step to a
        simpler network (lower ``search.run.complexity``): any rise counts there, since the complexity
        bounds how many such steps there can be: the Brusselator's ``X -> X + Y`` beside ``X -> 0`` steps
        to the published ``X -> Y``, which fits alike).
    polish_fraction : float
        With a time limit (or ``max_fits``), the share of it kept for polishing (the tree search gets the
        rest, or less: ``tree_patience``). Its last 2% of the whole time (or of the fits) prunes the best
        network: its single removals are screened and the best fitted, while one ranks higher (also
        without a time limit, after polishing).
    polish_interleave : float
        During the tree search, the share of its fits that climbs take (``polish``'s climbs, one at a
        time, each from the best complete network found so far that no climb has reached): after each
        batch of simulations, climb steps run while the climbs' fits are below this share of all fits
        made. A climb from an early best network reaches mechanisms that the tree would reach only after
        many more simulations (or never). 0: climbs only after the tree search.
    tree_patience : float
        With a time limit, the tree search also ends, and polishing starts, once its best complete network
        has not risen in rank by more than ``polish_min_gain`` for this share of the time limit: a tree
        that has stalled spends the rest of its share on edits of one reaction around networks it already
        holds, while the climbs that reach latent mechanisms wait (the Brusselator's tree found nothing
        better after its 8th fit and spent 288 of 480 s before polishing found the truth at once). With
        ``max_fits`` and no time limit, the same share of the fits: fits are then the clock, so the search
        is the same on any machine. 0 turns it off; so does a budget in simulations alone (fixed split).
    simplicity : float
        Subtracted from the reward per unit of complexity when networks are ranked (the best, the
        alternatives, polishing), not in the reported reward. The complexity is ten per reaction, twice the
        molecules each reaction creates or destroys and the molecules on their two sides
        (``search.run.complexity``). Far below any real difference in fit (5e-5 is a change of chi-square
        of about 0.025 at 100 points), it decides between networks that fit alike, such as equivalent ODEs
        (``0 -> 3 X`` against ``0 -> X`` at a third of the rate; ``2 T -> 0`` against ``2 T -> T`` at half
        the rate; an enzyme mechanism against its form with the free enzyme eliminated by conservation),
        for the network with fewer reactions, then the one closest to conserving molecules, then the one
        with fewer molecules. A convention: no data can tell such networks apart.
    """

    num_simulations: int | None = 300
    time_limit: float | None = None
    max_fits: int | None = None
    max_latent: int = 0
    max_order: int = 2
    max_reactions: int = 8
    forbidden: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    c_puct: float = 1.25
    beta: float = 0.5
    fpu: float | None = None
    pw_c: float = 2.0
    pw_alpha: float = 0.5
    batch_size: int = 1
    workers: int = 1
    max_children: int = 64
    value_weight: float = 0.5
    dirichlet_alpha: float = 0.0
    dirichlet_fraction: float = 0.25
    top_k: int = 5
    rollout_depth: int = 2
    polish: int = 3
    polish_additions: int = 8
    polish_refits: int = 4
    polish_beam: int = 3
    polish_beam_steps: int = 4
    polish_climbs: int = 2
    polish_min_gain: float = 1e-3
    polish_fraction: float = 0.4
    polish_interleave: float = 0.0
    tree_patience: float = 0.25
    simplicity: float = 5e-5

    def __post_init__(self) -> None:
        object.__setattr__(self, "forbidden", tuple(self.forbidden))
        object.__setattr__(self, "required", tuple(self.required))
        if self.num_simulations is None and self.time_limit is None and self.max_fits is None:
            raise ValueError("give num_simulations, time_limit or max_fits (or several)")
        if self.max_fits is not None and self.max_fits < 1:
            raise ValueError(f"max_fits must be >= 1, got {self.max_fits}")
        if self.num_simulations is not None and self.num_simulations < 1:
            raise ValueError(f"num_simulations must be >= 1, got {self.num_simulations}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ValueError(f"time_limit must be > 0, got {self.time_limit}")
        if self.batch_size < 1 or self.max_children < 1 or self.top_k < 0:
            raise ValueError("batch_size and max_children must be >= 1 and top_k >= 0")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.polish_climbs < 1:
            raise ValueError(f"polish_climbs must be >= 1, got {self.polish_climbs}")
        if self.polish_beam < 1 or self.polish_refits < 1:
            raise ValueError(f"polish_beam and polish_refits must be >= 1, got {self.polish_beam} and "
                             f"{self.polish_refits}")
        if self.simplicity < 0:
            raise ValueError(f"simplicity must be >= 0, got {self.simplicity}")
        if not 0.0 <= self.polish_fraction < 1.0:
            raise ValueError(f"polish_fraction must be in [0, 1), got {self.polish_fraction}")
        if not 0.0 <= self.polish_interleave < 1.0:
            raise ValueError(f"polish_interleave must be in [0, 1), got {self.polish_interleave}")
        if not 0.0 <= self.tree_patience <= 1.0:
            raise ValueError(f"tree_patience must be in [0, 1], got {self.tree_patience}")


@dataclasses.dataclass(frozen=True)
class ModelConfig(_Config):
    """The GNN prior (``mcts_crn.model``): feature sizes and architecture.

    Attributes
    ----------
    hidden : int
        Width of every embedding and hidden layer.
    num_layers : int
        Rounds of message passing (species -> reactions -> species, then the graph embedding).
    grid_points : int
        Points of the normalized-time grid on which trajectories and residuals are resampled.
    max_coefficient : int
        Stoichiometric coefficients above this share the embedding of this value.
    heuristic_features : bool
        Give each action the log prior of a fast score-test heuristic (the direct-effect score test of
        ``mcts_crn.model.FeatureBuilder.direct_score``: numpy only, no simulation) as an input feature.
    heuristic_skip : bool
        Add that log prior to the action's logit with a learned weight that starts at 1 (with the output
        layer initialized at zero, the untrained model is then the fast heuristic).
    use_value : bool
        Return the value head's estimate to the search (else NaN: the search uses the reward alone).
    """

    hidden: int = 64
    num_layers: int = 3
    grid_points: int = 8
    max_coefficient: int = 3
    heuristic_features: bool = True
    heuristic_skip: bool = True
    use_value: bool = True

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.num_layers < 0 or self.grid_points < 2 or self.max_coefficient < 1:
            raise ValueError("need hidden >= 1, num_layers >= 0, grid_points >= 2 and max_coefficient >= 1")


@dataclasses.dataclass(frozen=True)
class TaskConfig(_Config):
    """Random training and evaluation tasks (``mcts_crn.learn.tasks.generate_task``).

    Attributes
    ----------
    min_species, max_species : int
        Species of the true network (observed and latent).
    max_latent : int
        Most latent (unmeasured) species of a task; at least one species is always observed.
    latent_probability : float
        Probability that a task has latent species at all (then 1 .. max_latent of them).
    min_reactions, max_reactions : int
        Reactions of the true network.
    max_order : int
        Most molecules on either side of a reaction.
    noise_range : tuple of float
        Relative noise level, drawn log-uniformly in this range.
    max_experiments : int
        Experiments (initial conditions) per task, 1 .. this.
    num_times : int
        Observation times per experiment, evenly spaced in [0, t_end].
    t_end : float
        End of the observation window (rates are drawn around 1 / t_end scale).
    rate_range : tuple of float
        First-order-equivalent rate constants, log-uniform (second-order rates are divided by the typical
        amount).
    min_variation : float
        Every observed species must change by this fraction of its largest value (else "flat").
    max_growth : float
        Any species exceeding this multiple of the largest initial amount "blows up".
    known_initial : bool
        Store the observed species' initial amounts as known (the experimenter set them); latent
        initial amounts are always fitted.
    max_tries : int
        Random draws per task before giving up.
    """

    min_species: int = 2
    max_species: int = 6
    max_latent: int = 1
    latent_probability: float = 0.25
    min_reactions: int = 2
    max_reactions: int = 4
    max_order: int = 2
    noise_range: tuple[float, float] = (0.01, 0.10)
    max_experiments: int = 2
    num_times: int = 31
    t_end: float = 10.0
    rate_range: tuple[float, float] = (0.1, 1.5)
    min_variation: float = 0.1
    max_growth: float = 20.0
    known_initial: bool = True
    max_tries: int = 1000

    def __post_init__(self) -> None:
        object.__setattr__(self, "noise_range", tuple(float(v) for v in self.noise_range))
        object.__setattr__(self, "rate_range", tuple(float(v) for v in self.rate_range))
        if not 1 <= self.min_species <= self.max_species:
            raise ValueError(f"need 1 <= min_species <= max_species, got {self.min_species}, {self.max_species}")
        if not 1 <= self.min_reactions <= self.max_reactions:
            raise ValueError("need 1 <= min_reactions <= max_reactions")
        if not 0 < self.noise_range[0] <= self.noise_range[1]:
            raise ValueError(f"noise_range must be (low, high) with 0 < low <= high, got {self.noise_range}")
        if not 0 < self.rate_range[0] <= self.rate_range[1]:
            raise ValueError(f"rate_range must be (low, high) with 0 < low <= high, got {self.rate_range}")
        if self.max_latent < 0 or self.max_experiments < 1 or self.num_times < 3:
            raise ValueError("need max_latent >= 0, max_experiments >= 1 and num_times >= 3")


@dataclasses.dataclass(frozen=True)
class TrainConfig(_Config):
    """Self-play and training (``mcts_crn.learn``, ``python -m mcts_crn.train``).

    Attributes
    ----------
    iterations : int
        Rounds of (self-play games, then training steps, then a checkpoint).
    games_per_iteration : int
        Self-play games (one task, one search each) per iteration.
    workers : int
        Processes playing games; 1 plays in process.
    simulations : int
        Tree simulations per self-play search.
    extra_reactions : int
        A task's search may build networks of up to (true reactions + this) reactions.
    dirichlet_alpha, dirichlet_fraction : float
        Root exploration noise of self-play searches (``SearchConfig``).
    prior_temperature : float
        Self-play priors are ``softmax(logits / T)`` (T > 1 flattens them).
    visit_temperature : float
        Policy targets are ``N(a) ** (1 / T)`` normalized over the legal actions.
    min_visits : int
        A tree node becomes a training sample when its edges hold at least this many visits.
    demonstrations : bool
        Also fit the states along a random build order of each task's true network and store them, with
        the remaining true edits as the policy target (the generator knows the answer).
    demonstration_tasks : int
        Tasks per iteration that are not searched: only the states along a random build order of their
        true network are fitted and stored, as ``demonstrations`` (about 20 times cheaper than a game).
        They widen the range of tasks the policy learns from, which self-play games alone leave narrow.
    visit_weight, best_weight, truth_weight : float
        Weights of the parts of the policy target: the visit distribution, and uniform distributions over
        the legal edits that lead to the best network the search found / to the true network (where the
        state lies on such a path); ``mcts_crn.learn.policy_target``.
    value_weight : float
        Weight of the value loss.
    learning_rate, weight_decay : float
        Adam settings.
    batch_size : int
        Samples per training step.
    steps_per_iteration : int
        Training steps per iteration.
    replay_window : int
        Training draws from the newest this many samples.
    fit_starts : int
        ``FitConfig.num_starts`` of self-play fits.
    """

    iterations: int = 8
    games_per_iteration: int = 40
    workers: int = 1
    simulations: int = 60
    extra_reactions: int = 2
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float = 0.25
    prior_temperature: float = 1.0
    visit_temperature: float = 1.0
    min_visits: int = 3
    demonstrations: bool = True
    demonstration_tasks: int = 0
    visit_weight: float = 0.5
    best_weight: float = 0.25
    truth_weight: float = 1.0
    value_weight: float = 1.0
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 64
    steps_per_iteration: int = 200
    replay_window: int = 50_000
    fit_starts: int = 2

    def __post_init__(self) -> None:
        if (self.iterations < 0 or self.games_per_iteration < 0 or self.demonstration_tasks < 0 or self.workers < 1
                or self.simulations < 1):
            raise ValueError("need iterations >= 0, games_per_iteration >= 0, demonstration_tasks >= 0, "
                             "workers >= 1, simulations >= 1")
        if self.prior_temperature <= 0 or self.visit_temperature <= 0:
            raise ValueError("temperatures must be > 0")
        if self.batch_size < 1 or self.steps_per_iteration < 0 or self.replay_window < 1 or self.fit_starts < 1:
            raise ValueError("need batch_size >= 1, steps_per_iteration >= 0, replay_window >= 1, fit_starts >= 1")
