"""Red-flag resampling: a flagged response is discarded and resampled, never repaired.

MAKER (Meyerson et al., arXiv 2511.09030: red-flagging; docs/papers.md): a response that shows a
sign of confusion — it fails the strict parser, or ran past ``max_tokens`` — is thrown away and
drawn again. The first sample uses the first temperature of the schedule (default 0, the model's
best guess); resamples use the next ones (default 0.1), because at temperature 0 a model repeats
its mistake. Every flagged attempt is a recorded call (status ``flagged``), so red-flagging's cost
is counted like any other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hakaru.errors import RedFlag, StepFailed
from hakaru.types import Request, Response

if TYPE_CHECKING:
    from hakaru.session import Session

__all__ = ["flag_truncated", "sample_valid"]


def flag_truncated(parse: Callable[[str], Any]) -> Callable[[Response], Any]:
    """A validator: flag responses cut at ``max_tokens``, then parse strictly."""

    def validate(response: Response) -> Any:
        if response.truncated:
            raise RedFlag(f"response truncated at {response.usage.output_tokens} output tokens")
        return parse(response.text)

    return validate


async def sample_valid(
    session: Session,
    request: Request,
    parse: Callable[[str], Any],
    *,
    max_flagged: int = 10,
    temperatures: Sequence[float] = (0.0, 0.1),
) -> Response:
    """Call until a response passes ``parse`` (and is not truncated); return it.

    ``response.parsed`` holds the parsed value. After ``max_flagged`` flagged responses in a row
    it raises :class:`~hakaru.errors.StepFailed`.
    """
    validate = flag_truncated(parse)
    last = ""
    for i in range(max_flagged):
        temperature = temperatures[min(i, len(temperatures) - 1)]
        try:
            return await session.call(replace(request, temperature=temperature), validate=validate)
        except RedFlag as flag:
            last = flag.reason
    raise StepFailed(
        f"Model '{request.model}' gave {max_flagged} flagged responses in a row "
        f"(role '{request.role}'); the last: {last}. Use a more reliable model, raise "
        "max_flagged, or check the prompt"
    )
