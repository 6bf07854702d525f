"""A small GitHub REST client for the automation: labels, reviewers, assignees, one comment.

Writes are *actions* (frozen dataclasses) so a run can show what it would do before doing
it: :func:`run_actions` describes them (dry run, the default) or performs them with a
:class:`GitHubClient`::

    actions = [AddLabels(12, ("bug",)), UpsertComment(12, "Routed to core.", ISSUE_MARKER)]
    for result in apply_actions(actions, apply=args.apply):
        print(result)

The base URL comes from ``GITHUB_API_URL`` (GitHub Enterprise sets it), the token from
``GITHUB_TOKEN`` or ``GH_TOKEN``, the repository from ``GITHUB_REPOSITORY``. Server errors
(5xx) and secondary rate limits (403/429 with ``Retry-After`` or
``x-ratelimit-remaining: 0``) are retried with the project's :class:`Retry`, waiting at
least what GitHub asks. The token is sent in one header and nowhere else: it is not in
any URL, error, ``repr`` or log line, and pagination never follows a link to another host.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from tta_dev._redact import shown_url
from tta_dev.errors import TtaDevError
from tta_dev.primitives import Retry, RetryExhausted, WorkflowContext, step

if TYPE_CHECKING:  # httpx is the `automation` extra: imported when a client is made
    import httpx

__all__ = [
    "DEFAULT_API_URL",
    "ISSUE_MARKER",
    "PR_MARKER",
    "Action",
    "ActionResult",
    "AddAssignees",
    "AddLabels",
    "GitHubClient",
    "GitHubError",
    "RequestReviewers",
    "UpsertComment",
    "apply_actions",
    "describe_action",
    "run_actions",
    "token_from_env",
]

DEFAULT_API_URL = "https://api.github.com"
#: Hidden markers that find the bot's own comment again (one per purpose, never two).
PR_MARKER = "<!-- tta-dev:pr-analysis -->"
ISSUE_MARKER = "<!-- tta-dev:issue-routing -->"
API_VERSION = "2022-11-28"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class GitHubError(TtaDevError):
    """A GitHub request failed for good, or the client was set up wrongly (one line)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# -- actions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AddLabels:
    """Add ``labels`` to issue or pull request ``number`` (existing labels stay)."""

    number: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class AddAssignees:
    """Assign ``logins`` to issue or pull request ``number``."""

    number: int
    logins: tuple[str, ...]


@dataclass(frozen=True)
class RequestReviewers:
    """Request reviews on pull request ``number`` from ``users`` and ``teams`` (team slugs)."""

    number: int
    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpsertComment:
    """Create, or update in place, the one comment on ``number`` that carries ``marker``."""

    number: int
    body: str
    marker: str


Action = AddLabels | AddAssignees | RequestReviewers | UpsertComment
Outcome = Literal["dry-run", "done", "created", "updated", "unchanged", "skipped"]


@dataclass(frozen=True)
class ActionResult:
    """What happened to one action."""

    action: Action
    outcome: Outcome

    def __str__(self) -> str:
        prefix = "would" if self.outcome == "dry-run" else self.outcome
        return f"{prefix}: {describe_action(self.action)}"


def describe_action(action: Action) -> str:
    """One line saying what ``action`` does (the dry run prints these)."""
    if isinstance(action, AddLabels):
        return f"add labels {', '.join(action.labels) or '(none)'} to #{action.number}"
    if isinstance(action, AddAssignees):
        return f"assign {', '.join(action.logins) or '(nobody)'} to #{action.number}"
    if isinstance(action, RequestReviewers):
        who = [*action.users, *(f"team {t}" for t in action.teams)]
        return f"request reviews from {', '.join(who) or '(nobody)'} on #{action.number}"
    size = len(action.body.encode("utf-8", "surrogatepass"))
    return f"create or update the {action.marker} comment on #{action.number} ({size} bytes)"


def _is_empty(action: Action) -> bool:
    if isinstance(action, AddLabels):
        return not action.labels
    if isinstance(action, AddAssignees):
        return not action.logins
    if isinstance(action, RequestReviewers):
        return not action.users and not action.teams
    return False


# -- the client ------------------------------------------------------------------------


def token_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """``GITHUB_TOKEN``, else ``GH_TOKEN`` (as the ``gh`` command reads it), else ``None``."""
    source = os.environ if env is None else env
    return source.get("GITHUB_TOKEN") or source.get("GH_TOKEN") or None


class _Retryable(Exception):
    """A response worth trying again, after at least ``wait`` seconds."""

    def __init__(self, status: int | None, wait: float, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.wait = wait


@dataclass
class _Wait:
    """The wait the last retryable response asked for (read by Retry's sleep)."""

    seconds: float = 0.0


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    json: Any = None
    params: Mapping[str, str] = field(default_factory=lambda: cast("dict[str, str]", {}))


class GitHubClient:
    """Async GitHub REST calls for one repository (``owner/name``).

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); ``sleep``
    replaces ``asyncio.sleep`` between retries. A retry waits the longer of the backoff
    and GitHub's ``Retry-After``; a wait longer than ``max_wait`` seconds is not waited
    out but reported.
    """

    def __init__(
        self,
        repo: str,
        token: str | None,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        attempts: int = 5,
        backoff: float = 1.0,
        max_wait: float = 120.0,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        import httpx

        if not _REPO.match(repo) or {".", ".."} & set(repo.split("/")):
            raise GitHubError(f"{repo!r} is not a repository: pass owner/name")
        base = (base_url or DEFAULT_API_URL).rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise GitHubError(f"GITHUB_API_URL {shown_url(base)!r} is not an http(s) URL")
        self.repo = repo
        self.base_url = base
        self._token = token
        self._attempts = attempts
        self._backoff = backoff
        self._max_wait = max_wait
        self._sleep = sleep
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "tta-dev-automation",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            headers=headers, transport=transport, timeout=timeout, follow_redirects=False
        )

    @classmethod
    def from_env(
        cls, repo: str | None = None, env: Mapping[str, str] | None = None, **kwargs: Any
    ) -> GitHubClient:
        """A client from ``GITHUB_REPOSITORY``, ``GITHUB_API_URL`` and the token variables."""
        source = os.environ if env is None else env
        name = repo or source.get("GITHUB_REPOSITORY") or ""
        if not name:
            raise GitHubError("no repository: pass --repo=owner/name or set GITHUB_REPOSITORY")
        token = token_from_env(source)
        if not token:
            raise GitHubError("no token: set GITHUB_TOKEN (or GH_TOKEN) to write to GitHub")
        return cls(name, token, base_url=source.get("GITHUB_API_URL") or None, **kwargs)

    def __repr__(self) -> str:
        return f"GitHubClient({self.repo!r}, base_url={shown_url(self.base_url)!r})"

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- the public calls ----------------------------------------------------------------

    async def add_labels(self, number: int, labels: Sequence[str]) -> None:
        """Add ``labels`` to issue or pull request ``number``."""
        path = f"/repos/{self.repo}/issues/{_number(number)}/labels"
        await self._call(_Request("POST", self._url(path), {"labels": list(labels)}))

    async def add_assignees(self, number: int, logins: Sequence[str]) -> None:
        """Assign ``logins`` to issue or pull request ``number``."""
        path = f"/repos/{self.repo}/issues/{_number(number)}/assignees"
        await self._call(_Request("POST", self._url(path), {"assignees": list(logins)}))

    async def request_reviewers(
        self, number: int, users: Sequence[str] = (), teams: Sequence[str] = ()
    ) -> None:
        """Request reviews on pull request ``number`` from ``users`` and team slugs ``teams``."""
        path = f"/repos/{self.repo}/pulls/{_number(number)}/requested_reviewers"
        body = {"reviewers": list(users), "team_reviewers": list(teams)}
        await self._call(_Request("POST", self._url(path), body))

    async def upsert_comment(
        self, number: int, body: str, marker: str
    ) -> Literal["created", "updated", "unchanged"]:
        """Create the comment holding ``marker`` on ``number``, or update it in place.

        The marker is put at the top of ``body`` when missing. The first comment that
        holds it (every page is read) is updated; there is never a second one.
        """
        if not marker:
            raise GitHubError("a comment marker must not be empty")
        text = body if marker in body else f"{marker}\n{body}"
        existing = await self._find_comment(number, marker)
        if existing is None:
            path = f"/repos/{self.repo}/issues/{_number(number)}/comments"
            await self._call(_Request("POST", self._url(path), {"body": text}))
            return "created"
        comment_id, current = existing
        if current == text:
            return "unchanged"
        path = f"/repos/{self.repo}/issues/comments/{comment_id}"
        await self._call(_Request("PATCH", self._url(path), {"body": text}))
        return "updated"

    async def perform(self, action: Action) -> ActionResult:
        """Carry out one action."""
        if _is_empty(action):
            return ActionResult(action, "skipped")
        if isinstance(action, AddLabels):
            await self.add_labels(action.number, action.labels)
        elif isinstance(action, AddAssignees):
            await self.add_assignees(action.number, action.logins)
        elif isinstance(action, RequestReviewers):
            await self.request_reviewers(action.number, action.users, action.teams)
        else:
            return ActionResult(
                action, await self.upsert_comment(action.number, action.body, action.marker)
            )
        return ActionResult(action, "done")

    # -- plumbing ------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    async def _find_comment(self, number: int, marker: str) -> tuple[int, str] | None:
        url: str | None = self._url(f"/repos/{self.repo}/issues/{_number(number)}/comments")
        params = {"per_page": "100"}
        while url is not None:
            response = await self._call(_Request("GET", url, params=params))
            items = response.json()
            if not isinstance(items, list):
                raise GitHubError("GitHub answered the comment list with something else")
            for item in cast("list[Any]", items):
                if not isinstance(item, dict):
                    continue
                comment = cast("dict[str, Any]", item)
                text = comment.get("body")
                if isinstance(text, str) and marker in text:
                    return int(comment["id"]), text
            url = self._next_page(response.headers.get("link", ""))
            params = {}  # the next link carries its own query
        return None

    def _next_page(self, link: str) -> str | None:
        match = _NEXT_LINK.search(link)
        if match is None:
            return None
        url = match.group(1)
        # The token goes only to the API we were given, never to a host a header names.
        if not url.startswith(self.base_url + "/"):
            raise GitHubError(f"GitHub's next page {shown_url(url)!r} is not under the API URL")
        return url

    async def _call(self, request: _Request) -> httpx.Response:
        wait = _Wait()

        async def once(req: _Request) -> httpx.Response:
            return await self._send(req, wait)

        async def pause(backoff: float) -> None:
            await self._sleep(max(backoff, wait.seconds))

        retry = Retry(
            step(once),
            attempts=self._attempts,
            backoff=self._backoff,
            max_delay=60.0,
            jitter=0.0,
            retry_on=_retry_worthy,
            sleep=pause,
            name="github",
        )
        try:
            return await retry.execute(request, WorkflowContext("github"))
        except RetryExhausted as exc:
            last = exc.last_error
            status = last.status if isinstance(last, _Retryable) else None
            raise GitHubError(f"{last} (gave up after {exc.attempts} attempts)", status) from None

    async def _send(self, request: _Request, wait: _Wait) -> httpx.Response:
        import httpx

        where = f"{request.method} {shown_url(request.url)}"
        try:
            response = await self._http.request(
                request.method, request.url, json=request.json, params=request.params or None
            )
        except httpx.TransportError as exc:
            wait.seconds = 0.0
            raise _Retryable(None, 0.0, f"{where}: {type(exc).__name__}") from None
        status = response.status_code
        if status < 300:
            return response
        message = self._message(response)
        retry_wait = _retry_wait(response, message)
        if status >= 500 or retry_wait is not None:
            seconds = retry_wait or 0.0
            if seconds > self._max_wait:
                raise GitHubError(
                    f"{where}: {status} rate limited; GitHub asks to wait {seconds:.0f} s"
                    f" (more than {self._max_wait:.0f} s): try again later",
                    status,
                )
            wait.seconds = seconds
            raise _Retryable(status, seconds, f"{where}: {status} {message}")
        hint = " (check the token and its permissions)" if status in {401, 403, 404} else ""
        raise GitHubError(f"{where}: {status} {message}{hint}", status)

    def _message(self, response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            data = None
        text = ""
        if isinstance(data, dict):
            text = str(cast("dict[str, Any]", data).get("message") or "")
        if not text:
            text = response.reason_phrase or "error"
        text = " ".join(text.split())[:200]
        if self._token:
            text = text.replace(self._token, "***")
        return text


def _retry_worthy(exc: BaseException) -> bool:
    return isinstance(exc, _Retryable)


def _number(number: int) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise GitHubError(f"{number!r} is not an issue or pull request number")
    return number


def _retry_wait(response: httpx.Response, message: str) -> float | None:
    """Seconds GitHub asks us to wait, for a (secondary) rate limit; ``None`` if it is not one.

    GitHub's rules: honour ``Retry-After``; with ``x-ratelimit-remaining: 0`` wait until
    ``x-ratelimit-reset``; a secondary limit without either header: wait at least a minute.
    """
    status = response.status_code
    if status not in {403, 429}:
        return None
    headers = response.headers
    after = headers.get("retry-after")
    if after is not None:
        return _seconds(after)
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        return max(0.0, float(reset) - time.time()) if reset.isdigit() else 60.0
    if status == 429 or "secondary rate limit" in message.lower():
        return 60.0
    return None


def _seconds(value: str) -> float:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 60.0
    return max(0.0, when.timestamp() - time.time())


# -- running actions -------------------------------------------------------------------


async def run_actions(
    actions: Sequence[Action], client: GitHubClient | None
) -> tuple[ActionResult, ...]:
    """Perform ``actions`` in order with ``client``; with ``None``, describe them (dry run)."""
    if client is None:
        return tuple(ActionResult(a, "skipped" if _is_empty(a) else "dry-run") for a in actions)
    return tuple([await client.perform(a) for a in actions])


def apply_actions(
    actions: Sequence[Action],
    *,
    apply: bool = False,
    repo: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[ActionResult, ...]:
    """Dry run (``apply=False``) or perform ``actions`` with a client from the environment.

    The one call a script needs: it raises :class:`GitHubError` (one line) when the
    environment lacks a token or repository, or GitHub refuses.
    """
    if not apply:
        return asyncio.run(run_actions(actions, None))

    async def go() -> tuple[ActionResult, ...]:
        async with GitHubClient.from_env(repo, env) as client:
            return await run_actions(actions, client)

    return asyncio.run(go())
