"""Project automation: PR analysis, issue routing, CODEOWNERS, a GitHub REST client.

Everything here reads the workspace through :mod:`tta_dev.workspace` and returns frozen
dataclasses; rendering is separate, and nothing is written to GitHub unless asked
(``apply_actions(..., apply=True)``, ``--apply`` in the scripts). The GitHub client needs
the ``automation`` extra (httpx); the analysis itself does not.
"""

from tta_dev.automation._codeowners import (
    CODEOWNERS_LOCATIONS,
    Codeowners,
    CodeownersError,
    CodeownersRule,
    Owner,
    find_codeowners,
    load_codeowners,
    parse_codeowners,
)
from tta_dev.automation._github import (
    DEFAULT_API_URL,
    ISSUE_MARKER,
    PR_MARKER,
    Action,
    ActionResult,
    AddAssignees,
    AddLabels,
    GitHubClient,
    GitHubError,
    RequestReviewers,
    UpsertComment,
    apply_actions,
    describe_action,
    run_actions,
    token_from_env,
)

__all__ = [
    "CODEOWNERS_LOCATIONS",
    "DEFAULT_API_URL",
    "ISSUE_MARKER",
    "PR_MARKER",
    "Action",
    "ActionResult",
    "AddAssignees",
    "AddLabels",
    "Codeowners",
    "CodeownersError",
    "CodeownersRule",
    "GitHubClient",
    "GitHubError",
    "Owner",
    "RequestReviewers",
    "UpsertComment",
    "apply_actions",
    "describe_action",
    "find_codeowners",
    "load_codeowners",
    "parse_codeowners",
    "run_actions",
    "token_from_env",
]
