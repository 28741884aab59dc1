"""Row scope: which rows a user may see. Every metric query takes one; there is no default.

A scope is `all`, or lists of regions, teams and reps (a user with several lists sees their union). Values are
the dimension values of CONTRACTS.md: a region's label, a team's label, a rep's id or name. Rows with no
region, team or owner (campaign spend, say) fall under `unassigned` and are seen by `all` scopes only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """An immutable, hashable row scope (safe as a cache key)."""

    everything: bool = False
    regions: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    reps: frozenset[str] = frozenset()

    @classmethod
    def all(cls) -> Scope:
        """The unrestricted scope. The only way to ask for every row; use it deliberately."""
        return cls(everything=True)

    @classmethod
    def of(cls, *, regions=(), teams=(), reps=()) -> Scope:  # noqa: ANN001 - iterables of str
        """A restricted scope; an empty one sees nothing."""
        return cls(False, frozenset(map(str, regions)), frozenset(map(str, teams)), frozenset(map(str, reps)))

    @property
    def is_empty(self) -> bool:
        return not self.everything and not (self.regions or self.teams or self.reps)

    @property
    def reps_only(self) -> bool:
        """True when the scope is a list of reps and nothing wider (a rep sees their own rows, not a team's)."""
        return not self.everything and bool(self.reps) and not (self.regions or self.teams)

    @property
    def breakdown(self) -> str:
        """The level one level under what the scope sees whole: `rep` for one team or a list of reps, else `team`."""
        one_team = len(self.teams) == 1 and not (self.regions or self.reps)
        return "rep" if not self.everything and (self.reps_only or one_team) else "team"

    @property
    def label(self) -> str:
        """`all`, or e.g. `regions=East,West; reps=S001` as printed in the JSON output."""
        if self.everything:
            return "all"
        parts = [
            f"{name}={','.join(sorted(values))}"
            for name, values in (("regions", self.regions), ("teams", self.teams), ("reps", self.reps))
            if values
        ]
        return "; ".join(parts) or "none"

    def narrowed(self, other: Scope) -> Scope:
        """The rows both scopes allow (used when an admin views the app as another user)."""
        if self.everything:
            return other
        if other.everything:
            return self
        raise ValueError("intersection of two restricted scopes is not supported; view as one user at a time")
