"""What a workload is, and the registry that names them.

A workload is a problem of a size (``n``, ``k``, …) with several *variants* — decompositions of
the same problem into LLM calls — and an analytic cost model (calls, depth, … as formulas of its
parameters) to compare measurements with. It runs on any backend through a :class:`Session`, so
every primitive it spends is counted. Workloads declare the simulated models they need (with the
capability sets of the paper's Def. 2.3); on a real backend the user's model stands in for them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from hakaru.errors import ConfigError

if TYPE_CHECKING:
    from hakaru.backends.sim import SimModel
    from hakaru.session import Session

__all__ = [
    "MAX_PARAM",
    "Models",
    "Param",
    "Params",
    "Workload",
    "WorkloadResult",
    "available_workloads",
    "get_workload",
    "register_workload",
]


#: The largest value a parameter takes unless its workload says otherwise: a run of that size
#: still fits in memory and finishes (tree-sum at n = 10^7 makes about 3.3 million calls).
MAX_PARAM = 10_000_000

#: A workload's parameter values: name → value.
Params = Mapping[str, int]
#: Who plays each role: role → model name; ``None`` for the workload's simulated models.
Models = Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class Param:
    """One integer parameter of a workload, and the range a run can take. An ``optional``
    one is left out of a run's parameters unless given (the workload reads its default), so
    adding it changes no stored run's parameters."""

    name: str
    default: int
    help: str
    minimum: int = 1
    maximum: int = MAX_PARAM
    optional: bool = False


@dataclass(slots=True)
class WorkloadResult:
    """The outcome of one run: whether the answer is right, and workload-specific details."""

    correct: bool
    answer: Any = None
    expected: Any = None
    details: dict[str, Any] = field(default_factory=dict)


class Workload(ABC):
    """Base class: set ``name``, ``variants``, ``params``, ``roles``; implement ``run`` and
    ``analytic``."""

    name: ClassVar[str]
    description: ClassVar[str]
    variants: ClassVar[tuple[str, ...]]
    params: ClassVar[tuple[Param, ...]]
    #: Every role its calls play (``Request.role``), in any variant: a caller's choice of
    #: models (``run(models=)``) names a model for each.
    roles: ClassVar[tuple[str, ...]]
    #: The paper's intuitive ("optimistic") design and its careful ("optimized") one, when the
    #: workload has such a pair (Meyerson & Qiu, Table 1); reports compare these two.
    optimistic: ClassVar[str | None] = None
    optimized: ClassVar[str | None] = None

    @property
    def default_variant(self) -> str:
        return self.variants[0]

    def resolve(self, variant: str | None, values: Mapping[str, Any]) -> tuple[str, dict[str, int]]:
        """Check the variant and parameters; fill defaults. Errors say what is valid."""
        variant = variant or self.default_variant
        if variant not in self.variants:
            raise ConfigError(
                f"Workload '{self.name}' has no variant '{variant}'. "
                f"Choose one of: {', '.join(self.variants)}"
            )
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"Workload '{self.name}' has no parameter {', '.join(map(repr, unknown))}. "
                f"Its parameters: {', '.join(known)}"
            )
        out: dict[str, int] = {}
        for p in self.params:
            if p.optional and p.name not in values:
                continue
            raw = values.get(p.name, p.default)
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"Parameter {p.name} of '{self.name}' must be an integer, not {raw!r}"
                ) from None
            if value < p.minimum:
                raise ConfigError(
                    f"Parameter {p.name} of '{self.name}' is {value}; it must be at least "
                    f"{p.minimum}"
                )
            if value > p.maximum:
                raise ConfigError(
                    f"Parameter {p.name} of '{self.name}' is {value:,}; it must be at most "
                    f"{p.maximum:,} (a larger run does not fit in memory or time). Give a "
                    "smaller value"
                )
            out[p.name] = value
        return variant, out

    @abstractmethod
    def sim_models(self, variant: str, params: Mapping[str, int]) -> list[SimModel]:
        """The simulated models this variant uses (added to the sim backend)."""

    @abstractmethod
    def model_for(self, variant: str, params: Mapping[str, int], role: str) -> str:
        """The simulated model name that plays ``role``."""

    def model(
        self,
        role: str,
        variant: str,
        params: Params,
        models: Models = None,
        *,
        default: str | None = None,
    ) -> str:
        """The model that plays ``role``: the caller's choice in ``models`` (role → model, as
        ``run`` receives it), else the simulated one — ``default`` where the role alone does
        not name it (routing's specialist of each task), else :meth:`model_for`.

        >>> wl = get_workload("tree-sum")
        >>> wl.model("adder", "tree", {"n": 8, "fan_in": 2})
        'sim-adder-2'
        >>> wl.model("adder", "tree", {"n": 8, "fan_in": 2}, {"adder": "gpt-x", "generalist": "y"})
        'gpt-x'
        """
        if models is None:
            return default if default is not None else self.model_for(variant, params, role)
        try:
            return models[role]
        except KeyError:
            raise ConfigError(
                f"No model is given for role '{role}' of workload '{self.name}'. Give one for "
                f"each of its roles: {', '.join(self.roles)}"
            ) from None

    @abstractmethod
    async def run(
        self, session: Session, variant: str, params: Params, *, seed: int, models: Models = None
    ) -> WorkloadResult:
        """Solve one instance (drawn from ``seed``). ``models`` maps each of :attr:`roles` to a
        model name (``None``: the simulated models); :meth:`model` reads it."""

    @abstractmethod
    def analytic(self, variant: str, params: Mapping[str, int]) -> dict[str, float]:
        """Predicted figures (at least ``calls`` and ``depth``) with no errors."""

    def analytic_roles(
        self, variant: str, params: Mapping[str, int]
    ) -> dict[str, dict[str, float]]:
        """Predicted figures per role (role → figures); empty when not modelled."""
        return {}


_REGISTRY: dict[str, type[Workload]] = {}


def register_workload(cls: type[Workload]) -> type[Workload]:
    """Class decorator: make a workload available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    # Every module of this package registers its workloads when imported; importing them all
    # here means a new workload needs no edit anywhere else.
    import importlib
    import pkgutil

    import hakaru.workloads as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"hakaru.workloads.{info.name}")


def available_workloads() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def get_workload(name: str) -> Workload:
    """A workload by name; unknown names give the list of known ones."""
    _load_builtins()
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ConfigError(
            f"Unknown workload '{name}'. Choose one of: {', '.join(sorted(_REGISTRY))}"
        ) from None
