"""The puzzle itself: states and moves, the strategy, closed forms, a checking simulator.

Pure Python with no prompts and no parsing, so the oracle, the calibration sampler and the final
verification all share one definition of the puzzle. :func:`next_move` is the strategy the prompt
states (total on every state: it never raises); :func:`state_at` and :func:`move_at` jump to any
step in O(N) without simulating; :class:`HanoiSimulator` refuses illegal moves and says why.
"""

from __future__ import annotations

from collections.abc import Sequence

from hakaru.errors import ConfigError

Move = tuple[int, int, int]  # (disk, from peg, to peg)
State = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]  # pegs, bottom → top
Candidate = tuple[Move, State]

MAX_DISKS = 40  # 2^40 − 1 steps is far beyond any run; the bound keeps payloads sane


def solution_length(disks: int) -> int:
    """Moves of the optimal solution, 2^N − 1 (the MDAP's number of steps s).

    >>> solution_length(20)
    1048575
    """
    return (1 << disks) - 1


def _direction(disks: int) -> int:
    """Peg offset of disk 1 per move: +1 (clockwise) for even N, −1 for odd N."""
    return 1 if disks % 2 == 0 else 2


def initial_state(disks: int) -> State:
    """All disks on peg 0, largest at the bottom.

    >>> initial_state(3)
    ((3, 2, 1), (), ())
    """
    _check_disks(disks)
    return (tuple(range(disks, 0, -1)), (), ())


def _check_disks(disks: int) -> None:
    if not 1 <= disks <= MAX_DISKS:
        raise ConfigError(
            f"Towers of Hanoi needs 1 to {MAX_DISKS} disks; got {disks}. "
            "The paper's run uses 20 (1,048,575 steps)."
        )


def next_move(previous: Sequence[int] | None, state: State, disks: int) -> Move:
    """The strategy's next move (the oracle). Total on every state: it never raises.

    >>> next_move(None, initial_state(4), 4), next_move((1, 0, 1), ((4, 3, 2), (1,), ()), 4)
    ((1, 0, 1), (2, 0, 2))
    """
    one = next((i for i in range(3) if state[i] and state[i][-1] == 1), -1)
    if one < 0:  # disk 1 buried or missing: only a corrupted state gets here
        one = next((i for i in range(3) if 1 in state[i]), 0)
    if previous is None or previous[0] != 1:
        return (1, one, (one + _direction(disks)) % 3)
    a, b = (one + 1) % 3, (one + 2) % 3
    pa, pb = state[a], state[b]
    if pa and (not pb or pa[-1] < pb[-1]):
        return (pa[-1], a, b)
    if pb:
        return (pb[-1], b, a)
    return (1, one, (one + _direction(disks)) % 3)  # both other pegs empty: the tower is done


def apply_move(state: State, move: Move) -> State:
    """The state after ``move``, which must be legal (see :class:`HanoiSimulator` to check)."""
    disk, src, dst = move
    pegs = list(state)
    pegs[src] = pegs[src][:-1]
    pegs[dst] = (*pegs[dst], disk)
    return (pegs[0], pegs[1], pegs[2])


def _moved(state: State, disk: int, src: int, dst: int) -> State:
    pegs = [list(p) for p in state]
    if disk in pegs[src]:
        pegs[src].remove(disk)
    pegs[dst].append(disk)
    return (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


def state_at(disks: int, t: int) -> State:
    """The state after the first ``t`` moves of the strategy, in O(N) (no simulation).

    Disk d moves every 2^d moves, first at move 2^(d−1), always one peg in its own direction
    (disk 1's direction, reversed for every other disk).

    >>> state_at(4, 3)
    ((4, 3), (), (2, 1))
    """
    _check_disks(disks)
    if not 0 <= t <= solution_length(disks):
        raise ConfigError(f"Step {t} is outside 0..{solution_length(disks)} for {disks} disks.")
    pegs: list[list[int]] = [[], [], []]
    d1 = _direction(disks)
    for d in range(disks, 0, -1):
        moves = (t + (1 << (d - 1))) >> d
        direction = d1 if d % 2 else 3 - d1
        pegs[(direction * moves) % 3].append(d)
    return (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


def move_at(disks: int, t: int) -> Move:
    """The ``t``-th move of the strategy (1-based).

    >>> [move_at(4, t) for t in (1, 2, 3, 4)]
    [(1, 0, 1), (2, 0, 2), (1, 1, 2), (3, 0, 1)]
    """
    if not 1 <= t <= solution_length(disks):
        raise ConfigError(f"Move {t} is outside 1..{solution_length(disks)} for {disks} disks.")
    d = (t & -t).bit_length()
    d1 = _direction(disks)
    direction = d1 if d % 2 else 3 - d1
    src = (direction * ((t - 1 + (1 << (d - 1))) >> d)) % 3
    return (d, src, (src + direction) % 3)


class HanoiSimulator:
    """A legality-checking simulator (MAKER's ``TowerOfHanoi``), used to verify a run.

    ``act`` returns ``None`` for a legal move and the reason otherwise (the state is then left
    unchanged). It checks the disk id, the peg range, from ≠ to, a non-empty source, that the
    disk is on top, and that no disk lands on a smaller one.

    >>> sim = HanoiSimulator(2)
    >>> sim.act((1, 0, 1)), sim.act((2, 0, 1))
    (None, 'illegal move: cannot place disk 2 on the smaller disk 1')
    """

    def __init__(self, disks: int, state: State | None = None, moves: int = 0) -> None:
        _check_disks(disks)
        self.disks = disks
        self.pegs = [list(p) for p in (state or initial_state(disks))]
        self.moves = moves

    @property
    def state(self) -> State:
        return (tuple(self.pegs[0]), tuple(self.pegs[1]), tuple(self.pegs[2]))

    def act(self, move: Sequence[int]) -> str | None:
        if len(move) != 3 or not all(type(x) is int for x in move):
            return f"a move has three integers [disk, from, to], not {list(move)}"
        disk, src, dst = move
        if not 1 <= disk <= self.disks:
            return f"disk {disk} does not exist (disks are 1..{self.disks})"
        if src not in (0, 1, 2) or dst not in (0, 1, 2):
            return f"pegs are 0, 1 or 2; the move {list(move)} names another"
        if src == dst:
            return f"the move {list(move)} does not change pegs"
        source, target = self.pegs[src], self.pegs[dst]
        if not source:
            return f"peg {src} is empty"
        if source[-1] != disk:
            return f"disk {disk} is not on top of peg {src} (the top is {source[-1]})"
        if target and target[-1] < disk:
            return f"illegal move: cannot place disk {disk} on the smaller disk {target[-1]}"
        target.append(source.pop())
        self.moves += 1
        return None

    def is_solved(self) -> bool:
        """Every disk on peg 2, largest at the bottom."""
        return self.pegs[2] == list(range(self.disks, 0, -1))
