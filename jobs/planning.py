"""Which engines a job runs, and in which stage: only engines that can change its answer, cheap ones first.

The API leaves out every engine the job's voting gives no say (:meth:`KindVoting.can_change_answer`)
unless the client named it. When the voting has a cascade, the first-stage engines read every crop and
the others read only the crops the first stage is unsure of (:mod:`ensemble.cascade`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ensemble.calibration import calibrations_from_dict
from ensemble.kinds import KindVoting, job_kind, voting_for
from jobs.options import JobOptions


def voting_rule(options: JobOptions) -> KindVoting:
    """How this job votes: its preset's voting for the job's kind, else the job's own weights and method.

    A request that names ``weights`` or ``method`` carries no per-kind votings (the API leaves them out),
    so what the client asked for is what is used.
    """
    kinds = {kind: KindVoting.from_dict(data) for kind, data in options.kinds.items()}
    chosen = voting_for(kinds, job_kind(options.mode, options.content)) if kinds else None
    if chosen is not None:
        return chosen
    return KindVoting(dict(options.weights), options.method, calibrations_from_dict(options.calibration))


@dataclass(frozen=True)
class Stages:
    """The engines of each stage: ``later`` is empty when every engine runs at once."""

    first: tuple[str, ...]
    later: tuple[str, ...] = ()


def without_silent_engines(options: JobOptions, named: bool) -> JobOptions:
    """``options`` with the engines that cannot change the answer moved to ``skipped_engines``.

    ``named``: the client listed the engines itself, so every one of them runs.
    """
    if named:
        return options
    rule = voting_rule(options)
    kind = job_kind(options.mode, options.content)
    # A cascade's first stage answers the crops it is sure of, whatever weight the full vote gives it.
    first = set(rule.cascade.first) if rule.cascade is not None and options.cascade else set()
    running = tuple(name for name in options.engines if name in first or rule.can_change_answer(name))
    if not running:
        return options
    reason = f"weight 0 for {kind} jobs in this voting: it cannot change the answer"
    skipped = {name: reason for name in options.engines if name not in running}
    return replace(options, engines=running, skipped_engines={**options.skipped_engines, **skipped})


def stages(options: JobOptions, rule: KindVoting | None = None) -> Stages:
    """The job's stages: its voting's cascade split, or every engine in one stage (``rule``: the job's
    :func:`voting_rule`, when the caller has it already)."""
    cascade = (rule or voting_rule(options)).cascade
    plan = cascade.plan(options.engines) if cascade is not None and options.cascade else None
    if plan is None:
        return Stages(tuple(options.engines))
    return Stages(tuple(plan[0]), tuple(plan[1]))
