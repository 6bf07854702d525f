"""The optional fix-plan step: the rendered prompt and context, for a model or for an agent."""

from __future__ import annotations

from dataclasses import replace

from tta_dev.agentic._prompts import PromptFile, split_front_matter
from tta_dev.agentic._report import WorkflowReport, render_report
from tta_dev.primitives import LLM, LLMError, LLMProvider, LLMRequest, WorkflowContext

__all__ = ["SYSTEM_PROMPT", "agent_prompt", "with_fix_plan"]

SYSTEM_PROMPT = (
    "You are a careful Python engineer working in a uv project. Every command you suggest "
    "runs through `uv run`, `uvx` or `uv run nox`; dependencies change with `uv add`."
)


def agent_prompt(prompt: PromptFile, report: WorkflowReport) -> str:
    """The workflow's instructions followed by what this run found, as one Markdown text."""
    _, body, _ = split_front_matter(prompt.text)
    found = render_report(replace(report, agent_prompt=None, fix_plan=None), "markdown")
    return (
        f"Follow the workflow below in the project at `{report.root}` and make its failing "
        "steps pass. Answer with a short numbered fix plan: the files to change, what to "
        "change, and the commands that verify it.\n\n"
        f"## The workflow ({prompt.source})\n\n{body.strip()}\n\n"
        f"## What this run found\n\n{found.strip()}\n"
    )


async def with_fix_plan(
    prompt: PromptFile,
    report: WorkflowReport,
    provider: LLMProvider | None,
    *,
    model: str | None,
    context: WorkflowContext,
) -> WorkflowReport:
    """The report with a model's fix plan (``provider`` given) or the prompt for an agent.

    A passing run needs neither. A provider that fails leaves a note and the prompt.
    """
    if report.ok:
        return report
    text = agent_prompt(prompt, report)
    if provider is None:
        return replace(report, agent_prompt=text)
    llm = LLM(provider, model=model, name="fix-plan")
    try:
        response = await llm.execute(
            LLMRequest(text, system=SYSTEM_PROMPT, max_tokens=1200), context
        )
    except LLMError as exc:
        note = f"the model gave no fix plan ({str(exc).splitlines()[0]}); the prompt is below"
        return replace(report, agent_prompt=text, notes=(*report.notes, note))
    return replace(report, fix_plan=response.text.strip())
