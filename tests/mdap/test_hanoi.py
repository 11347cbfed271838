"""Towers of Hanoi as in MAKER: the strategy, the simulator, the parsers (F8 oracles), the oracle
the simulated LLM answers from, and its wrong and malformed answers."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hakaru import RedFlag
from hakaru.backends.sim import SimBackend, SimModel
from hakaru.errors import ConfigError
from hakaru.mdap.hanoi import (
    HANOI_MODELS,
    HanoiSimulator,
    HanoiStepKind,
    HanoiTask,
    apply_move,
    initial_state,
    move_at,
    next_move,
    parse_flag,
    parse_repair,
    solution_length,
    state_at,
)
from hakaru.mdap.hanoi.parsers import _MOVE, _STATE, _last
from hakaru.session import Session
from hakaru.tasks import task_kind
from hakaru.tokenizer import count_tokens
from hakaru.types import Message

S20 = [list(range(20, 1, -1)), [1], []]


def fmt(state: object) -> str:
    return str(state).replace("(", "[").replace(")", "]").replace(",]", "]")


def play(disks: int) -> list[tuple[int, int, int]]:
    """The strategy applied step by step from the start (the iterative oracle)."""
    state, prev, moves = initial_state(disks), None, []
    for _ in range(solution_length(disks)):
        move = next_move(prev, state, disks)
        state, prev = apply_move(state, move), move
        moves.append(move)
    return moves


# -- F8: the puzzle ------------------------------------------------------------------------------


def test_f8_facts() -> None:
    assert solution_length(20) == 1_048_575
    assert [move_at(20, t) for t in (1, 2, 3, 4)] == [(1, 0, 1), (2, 0, 2), (1, 1, 2), (3, 0, 1)]
    assert sum(1 for t in range(1, 2**16) if move_at(16, t)[0] == 1) == 2**15
    assert sum(1 for t in range(1, 2**20, 2)) == 524_288  # disk 1 moves on every odd step


def test_four_disk_solution() -> None:
    assert play(4) == [
        (1, 0, 1), (2, 0, 2), (1, 1, 2), (3, 0, 1), (1, 2, 0), (2, 2, 1), (1, 0, 1), (4, 0, 2),
        (1, 1, 2), (2, 1, 0), (1, 2, 0), (3, 1, 2), (1, 0, 1), (2, 0, 2), (1, 1, 2),
    ]  # fmt: skip


def test_three_disks_is_the_system_prompts_example() -> None:
    # odd N: disk 1 goes counter-clockwise, which is the paper's 3-disk example
    assert play(3) == [(1, 0, 2), (2, 0, 1), (1, 2, 1), (3, 0, 2), (1, 1, 0), (2, 1, 2), (1, 0, 2)]


def test_paper_clockwise_rule_ends_on_peg_1_for_odd_n() -> None:
    # The prompt's clockwise rule alone (no direction switch): peg 2 for even n, peg 1 for odd.
    for disks, goal in ((3, 1), (4, 2), (5, 1), (6, 2)):
        pegs: list[list[int]] = [list(range(disks, 0, -1)), [], []]
        prev: tuple[int, int, int] | None = None
        for _ in range(solution_length(disks)):
            one = next(i for i in range(3) if pegs[i] and pegs[i][-1] == 1)
            if prev is None or prev[0] != 1:
                move = (1, one, (one + 1) % 3)
            else:
                a, b = (one + 1) % 3, (one + 2) % 3
                src, dst = (
                    (a, b) if pegs[a] and (not pegs[b] or pegs[a][-1] < pegs[b][-1]) else (b, a)
                )
                move = (pegs[src][-1], src, dst)
            pegs[move[2]].append(pegs[move[1]].pop())
            prev = move
        assert len(pegs[goal]) == disks


@pytest.mark.parametrize("disks", range(1, 11))
def test_closed_forms_match_the_strategy_and_the_simulator(disks: int) -> None:
    moves = play(disks)
    sim = HanoiSimulator(disks)
    state = initial_state(disks)
    for t, move in enumerate(moves, start=1):
        assert move_at(disks, t) == move
        assert sim.act(move) is None
        state = apply_move(state, move)
        assert state_at(disks, t) == state == sim.state
    assert sim.is_solved() and sim.moves == solution_length(disks)
    assert state_at(disks, 0) == initial_state(disks)


def test_simulator_rejects_every_kind_of_illegal_move() -> None:
    sim = HanoiSimulator(3)
    cases = {
        (1, 0): "a move has three integers [disk, from, to], not [1, 0]",
        (4, 0, 1): "disk 4 does not exist (disks are 1..3)",
        (1, 0, 3): "pegs are 0, 1 or 2; the move [1, 0, 3] names another",
        (1, 0, 0): "the move [1, 0, 0] does not change pegs",
        (1, 1, 0): "peg 1 is empty",
        (2, 0, 1): "disk 2 is not on top of peg 0 (the top is 1)",
    }
    for move, reason in cases.items():
        assert sim.act(move) == reason
    assert sim.act((1, 0, 1)) is None
    assert sim.act((2, 0, 1)) == "illegal move: cannot place disk 2 on the smaller disk 1"
    assert sim.moves == 1 and not sim.is_solved()


def test_bad_sizes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="Towers of Hanoi needs 1 to 40 disks; got 0"):
        HanoiTask(0)
    with pytest.raises(ConfigError, match="Step 16 is outside 0..15 for 4 disks"):
        state_at(4, 16)


# -- F8: the strict flag parser ------------------------------------------------------------------


def test_flag_parser_accepts_the_format() -> None:
    text = f"move = [1, 0, 1]\nnext_state = {fmt(S20)}"
    assert parse_flag(text, 20) == ((1, 0, 1), (tuple(range(20, 1, -1)), (1,), ()))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("move = [1, 0]\nnext_state = [[2], [1], []]", "the move has 2 integers, not 3"),
        ("move = [1, 0, 1]\nnext_state = [[2], [], []]", "disks 1..2 exactly once (missing [1]"),
        ("move = [1, 0, 1]\nnext_state = [[2, 1], [1], []]", "(missing [], extra or repeated [1])"),
        ("move = [1, 0, 1]\nnext_state = [[3, 2], [1], []]", "(missing [], extra or repeated [3])"),
        ("move = [1, 0, 1]\nthe next state is [[2], [1], []]", "no 'next_state = [[...], [..."),
        ("move = [1, 0, 1]\nnext_state = [[2], [1], [], []]", "no 'next_state = [[...], [..."),
        ("move = (1, 0, 1)\nnext_state = [[2], [1], []]", "no 'move = [...]' in the response"),
        ("move = [1, 0, x]\nnext_state = [[2], [1], []]", "move holds 'x', not a list of integers"),
        ("move = [1, 0, 1]\nnext_state = [[2.0], [1], []]", "next_state holds '2.0'"),
        ("move = [1, 0, 1.5]\nnext_state = [[2], [1], []]", "move holds '1.5'"),
        ("remove = [1, 0, 1]\nnext_state = [[2], [1], []]", "no 'move = [...]' in the response"),
    ],
)  # fmt: skip
def test_flag_parser_flags(text: str, reason: str) -> None:
    with pytest.raises(RedFlag) as err:
        parse_flag(text, 2)
    assert reason in err.value.reason


def test_flag_parser_takes_the_last_move_and_state_any_case() -> None:
    text = (
        "move = [2, 0, 1]\nnext_state = [[2], [], [1]]\nWait, let me fix that.\n"
        "MOVE = [1, 0, 1]\nNext_State = [[2], [1], []]\nnext_move = [9, 9, 9]"
    )
    assert parse_flag(text, 2) == ((1, 0, 1), ((2,), (1,), ()))


def test_flag_parser_does_not_check_legality() -> None:
    # a well-formed wrong answer still votes (MAKER: legality is the voters' job)
    assert parse_flag("move = [2, 0, 1]\nnext_state = [[1], [2], []]", 2) == (
        (2, 0, 1),
        ((1,), (2,), ()),
    )


FRAGMENTS = st.sampled_from(
    [
        "move = [1, 0, 1]", "Move=[2,0,2]", "remove = [1, 2, 3]", "move = [1, 0]", "next_state = ",
        "next_state = [[2], [1], []]", "NEXT_STATE=[[1],[2],[]]", "xnext_state = [[2],[],[1]]",
        "[[", "]]", "[", "]", ", ", "\n", " ", "move", "_move = [3, 3, 3]", "é", "ſ", "2",
        "next_state = [[2],[1],[]]]", "move = [move = [1,1,1]",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=12))
def test_fast_last_match_equals_the_plain_regex(parts: list[str]) -> None:
    text = "".join(parts)
    low = text.lower() if text.isascii() else None
    for slow in (_MOVE, _STATE):
        fast = re.compile(slow.pattern.replace("(?is)\\b", ""), re.S)
        matches = list(slow.finditer(text))
        expected = matches[-1].group(1) if matches else None
        assert _last(slow, fast, text, low) == expected


def test_repairing_parser_reads_what_the_flag_parser_rejects() -> None:
    assert parse_repair("move = [1, 0]\nnext_state = [[2], [1], []]") == ((1, 0), ((2,), (1,), ()))
    assert parse_repair("move = [1, 0, 1]\nnext_state = [[2], [1], [], []] oops") == (
        (1, 0, 1),
        ((2,), (1,), (), ()),
    )
    assert parse_repair("move = [1, 0, 1]\nnext_state = [[2], [1], []") == (
        (1, 0, 1),
        ((2,), (1,), ()),
    )
    for bad in (
        "no answer",
        "move = [1, 0, 1] and no state",
        "move = [1, 0, 1]\nnext_state = [[x]]",
    ):
        with pytest.raises(RedFlag):
            parse_repair(bad)


# -- the task kind: prompt, oracle, wrong and malformed answers ------------------------------------


def test_prompt_carries_strategy_previous_move_and_state_only() -> None:
    kind = task_kind("hanoi-step")
    assert isinstance(kind, HanoiStepKind)
    system, user = kind.messages(kind.payload(20, state_at(20, 5), move_at(20, 5)))
    assert system.role == "system" and "EXACT FORMAT" in system.content
    assert "20 disks" in system.content and "moves = [[1, 0, 2], [2, 0, 1]" in system.content
    assert "move disk 1 clockwise one peg (0 -> 1 -> 2 -> 0)" in user.content
    assert "Previous move: [1, 2, 0]" in user.content
    assert f"Current state: {fmt(state_at(20, 5))}" in user.content
    first = kind.messages(kind.payload(3, initial_state(3), None))[1].content
    assert "Previous move: None" in first and "counter-clockwise" in first


@pytest.mark.parametrize("reasoning", [0, 40, 450])
def test_render_parses_back_with_realistic_lengths(reasoning: int) -> None:
    kind = HanoiStepKind(name=f"hanoi-step-test-{reasoning}", reasoning_tokens=reasoning)
    payload = kind.payload(20, state_at(20, 77), move_at(20, 77))
    answer = kind.solve(payload)
    text = kind.render(answer)
    assert parse_flag(text, 20) == answer == HanoiTask(20).truth(move_at(20, 77), state_at(20, 77))
    assert kind.parse(text) == answer
    assert reasoning + 60 < count_tokens(text) < reasoning + 110


def test_wrong_answers_are_well_formed_and_wrong() -> None:
    kind = task_kind("hanoi-step")
    rng = random.Random(0)
    kinds_seen = set()
    for t in range(0, 63, 3):
        payload = kind.payload(6, state_at(6, t), None if t == 0 else move_at(6, t))
        truth = kind.solve(payload)
        for _ in range(10):
            wrong = kind.wrong(payload, truth, rng)
            assert wrong != truth
            assert parse_flag(kind.render(wrong), 6) == wrong
            kinds_seen.add((wrong[0] != truth[0], wrong[1] != truth[1]))
    assert kinds_seen >= {(True, True), (False, True), (True, False)}


def test_malformed_answers_are_all_flagged() -> None:
    kind = task_kind("hanoi-step")
    rng = random.Random(1)
    repaired = 0
    for t in range(0, 60, 3):
        payload = kind.payload(6, state_at(6, t), None if t == 0 else move_at(6, t))
        truth = kind.solve(payload)
        for _ in range(6):
            text = kind.malformed(payload, truth, rng)
            with pytest.raises(RedFlag):
                parse_flag(text, 6)
            with contextlib.suppress(RedFlag):
                repaired += parse_repair(text) != truth
    assert repaired > 0  # the repairing parser lets some of them vote, all wrongly


def test_sim_backend_answers_hanoi_steps_and_errs_per_its_model() -> None:
    perfect = SimModel("hanoi-perfect", capabilities=frozenset({"*"}))
    task = HanoiTask(8)

    async def main() -> tuple[int, int]:
        backend = SimBackend(seed=3, models=[perfect, *HANOI_MODELS.values()])
        async with Session(backend) as s:
            right = wrong = 0
            for t in range(1, 256, 5):
                prev, state = task.input_at(t)
                req = task.kind.request("hanoi-perfect", task.payload(prev, state))
                r = await s.call(req)
                assert parse_flag(r.text, 8) == task.truth(prev, state)
                req = task.kind.request(
                    "sim-hanoi-nano", task.payload(prev, state), temperature=0.1
                )
                for _ in range(4):
                    try:
                        cand = parse_flag((await s.call(req)).text, 8)
                    except RedFlag:
                        continue
                    right += cand == task.truth(prev, state)
                    wrong += cand != task.truth(prev, state)
            return right, wrong

    right, wrong = asyncio.run(main())
    assert 0.85 < right / (right + wrong) < 1.0


def test_payload_lists_are_accepted_too() -> None:
    kind = task_kind("hanoi-step")
    as_lists = {"disks": 4, "state": [[4, 3, 2], [1], []], "previous_move": [1, 0, 1]}
    assert kind.messages(as_lists) == kind.messages(
        kind.payload(4, ((4, 3, 2), (1,), ()), (1, 0, 1))
    )
    assert kind.solve(as_lists) == ((2, 0, 2), ((4, 3), (1,), (2,)))
    with pytest.raises(ConfigError, match="The 'hanoi-step' task needs a payload"):
        kind.solve({"disks": 4, "state": "[[1], [2]]"})


def test_a_custom_kind_is_registered_for_the_simulated_backend() -> None:
    verbose = HanoiStepKind(name="hanoi-step-verbose", reasoning_tokens=450)
    task = HanoiTask(3, verbose)
    assert task_kind("hanoi-step-verbose") is verbose

    async def main() -> int:
        async with Session(SimBackend(models=HANOI_MODELS.values())) as s:
            req = task.kind.request("sim-hanoi-mini", task.payload(*task.start()))
            return (await s.call(req)).usage.output_tokens

    assert 480 < asyncio.run(main()) < 520  # about MAKER's 540 output tokens


def test_recognise_reads_the_payload_back_from_the_prompt() -> None:
    from hakaru.proxy.prompts import recognise

    kind = task_kind("hanoi-step")
    assert isinstance(kind, HanoiStepKind)
    for disks, t in ((20, 0), (20, 777), (3, 5)):
        payload = kind.payload(disks, state_at(disks, t), None if t == 0 else move_at(disks, t))
        assert kind.recognise(kind.messages(payload)) == payload
        task = recognise(kind.messages(payload))  # what the simulated HTTP server does
        assert task is not None and task.kind == "hanoi-step" and dict(task.payload) == payload
    assert kind.recognise((Message("user", "Add these numbers: 1, 2"),)) is None
