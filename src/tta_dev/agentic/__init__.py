"""Agentic development workflows: prompt files whose tool steps run, are checked and reported.

Four workflows (quality-gate fix, bug fix, feature implementation, performance) each have a
prompt file: Markdown a person or a coding agent follows, whose code blocks tagged
``step=ID`` the runner executes as ``Command`` primitives (independent ones together with
``|``, dependent ones in order with ``>>``). Each run returns a ``WorkflowReport``::

    from tta_dev.agentic import QualityGateFix, render_report

    report = await QualityGateFix(".").execute(None)
    print(render_report(report, "markdown"))

The prompt files ship in this package (``tta_dev/agentic/workflows``); a project's own
``.augment/workflows/<name>.prompt.md`` takes precedence.
"""

from tta_dev.agentic._command import (
    JOURNAL_KEY,
    Command,
    CommandResult,
    journal,
    strip_ansi,
    useful_tail,
)
from tta_dev.agentic._errors import AgenticError, CommandFailed, PromptFileError
from tta_dev.agentic._outputs import failed_node_ids, pytest_failure_section
from tta_dev.agentic._plan import SYSTEM_PROMPT, agent_prompt, with_fix_plan
from tta_dev.agentic._policy import PYTHON_TOOLS, ToolCall, classify_command
from tta_dev.agentic._prompts import (
    PROJECT_PROMPT_DIR,
    SHELL_LANGUAGES,
    WORKFLOW_NAMES,
    CodeBlock,
    PromptFile,
    PromptStep,
    code_blocks,
    load_prompt,
    parse_prompt,
    split_front_matter,
)
from tta_dev.agentic._report import (
    REPORT_FORMATS,
    BenchmarkChange,
    Failure,
    ModuleTests,
    WorkflowReport,
    render_report,
    report_data,
)
from tta_dev.agentic._workflows import (
    DEFAULT_ENV,
    BugFix,
    FeatureImplementation,
    PerformanceCheck,
    QualityGateFix,
    changed_module_tests,
    in_order,
    member_test_paths,
    read_benchmark_results,
    together,
)

__all__ = [
    "DEFAULT_ENV",
    "JOURNAL_KEY",
    "PROJECT_PROMPT_DIR",
    "PYTHON_TOOLS",
    "REPORT_FORMATS",
    "SHELL_LANGUAGES",
    "SYSTEM_PROMPT",
    "WORKFLOW_NAMES",
    "AgenticError",
    "BenchmarkChange",
    "BugFix",
    "CodeBlock",
    "Command",
    "CommandFailed",
    "CommandResult",
    "Failure",
    "FeatureImplementation",
    "ModuleTests",
    "PerformanceCheck",
    "PromptFile",
    "PromptFileError",
    "PromptStep",
    "QualityGateFix",
    "ToolCall",
    "WorkflowReport",
    "agent_prompt",
    "changed_module_tests",
    "classify_command",
    "code_blocks",
    "failed_node_ids",
    "in_order",
    "journal",
    "load_prompt",
    "member_test_paths",
    "parse_prompt",
    "pytest_failure_section",
    "read_benchmark_results",
    "render_report",
    "report_data",
    "split_front_matter",
    "strip_ansi",
    "together",
    "useful_tail",
    "with_fix_plan",
]
