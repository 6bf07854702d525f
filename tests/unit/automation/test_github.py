from __future__ import annotations

import logging

import httpx
import pytest

from tta_dev.automation import (
    PR_MARKER,
    AddAssignees,
    AddLabels,
    GitHubClient,
    GitHubError,
    RequestReviewers,
    UpsertComment,
    apply_actions,
    run_actions,
    token_from_env,
)

from .conftest import TOKEN, Answer, FakeGitHub

REPO = "octo/widgets"
BASE = f"/repos/{REPO}"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(
    github: FakeGitHub, sleeps: Sleeps | None = None, *, attempts: int = 5, max_wait: float = 120
) -> GitHubClient:
    return GitHubClient(
        REPO,
        TOKEN,
        base_url=github.url,
        sleep=sleeps or Sleeps(),
        backoff=0.5,
        attempts=attempts,
        max_wait=max_wait,
    )


async def test_writes_are_the_exact_requests(github: FakeGitHub) -> None:
    github.on("POST", f"{BASE}/issues/7/labels", Answer(200, []))
    github.on("POST", f"{BASE}/issues/7/assignees", Answer(201, {}))
    github.on("POST", f"{BASE}/pulls/7/requested_reviewers", Answer(201, {}))
    async with client(github) as gh:
        await gh.add_labels(7, ["bug", "size/S"])
        await gh.add_assignees(7, ["alice"])
        await gh.request_reviewers(7, ["bob"], ["core-team"])
    assert [(s.method, s.path, s.body) for s in github.seen] == [
        ("POST", f"{BASE}/issues/7/labels", {"labels": ["bug", "size/S"]}),
        ("POST", f"{BASE}/issues/7/assignees", {"assignees": ["alice"]}),
        (
            "POST",
            f"{BASE}/pulls/7/requested_reviewers",
            {"reviewers": ["bob"], "team_reviewers": ["core-team"]},
        ),
    ]
    for seen in github.seen:
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["accept"] == "application/vnd.github+json"
        assert seen.headers["x-github-api-version"] == "2022-11-28"
        assert seen.headers["content-type"] == "application/json"


async def test_comment_is_created_once_then_updated_in_place(github: FakeGitHub) -> None:
    comments = f"{BASE}/issues/3/comments"
    github.on("GET", f"{comments}?per_page=100", Answer(200, [{"id": 1, "body": "hi"}]))
    github.on("POST", comments, Answer(201, {"id": 2}))
    async with client(github) as gh:
        assert await gh.upsert_comment(3, "report v1", PR_MARKER) == "created"
    assert github.seen[-1].body == {"body": f"{PR_MARKER}\nreport v1"}

    # The comment list now holds ours: the next run edits it instead of adding one.
    github.answers.clear()
    mine = {"id": 99, "body": f"{PR_MARKER}\nreport v1"}
    github.on("GET", f"{comments}?per_page=100", Answer(200, [{"id": 1, "body": "hi"}, mine]))
    github.on("PATCH", f"{BASE}/issues/comments/99", Answer(200, {}))
    github.seen.clear()
    async with client(github) as gh:
        assert await gh.upsert_comment(3, "report v2", PR_MARKER) == "updated"
        assert await gh.upsert_comment(3, f"{PR_MARKER}\nreport v1", PR_MARKER) == "unchanged"
    assert [(s.method, s.path) for s in github.seen] == [
        ("GET", f"{comments}?per_page=100"),
        ("PATCH", f"{BASE}/issues/comments/99"),
        ("GET", f"{comments}?per_page=100"),
    ]
    assert github.seen[1].body == {"body": f"{PR_MARKER}\nreport v2"}


async def test_comment_search_reads_every_page(github: FakeGitHub) -> None:
    comments = f"{BASE}/issues/3/comments"
    page2 = f"{comments}?per_page=100&page=2"
    github.on(
        "GET",
        f"{comments}?per_page=100",
        Answer(200, [{"id": 1, "body": "x"}], {"link": f'<{{url}}{page2}>; rel="next"'}),
    )
    github.on("GET", page2, Answer(200, [{"id": 5, "body": f"old {PR_MARKER}"}]))
    github.on("PATCH", f"{BASE}/issues/comments/5", Answer(200, {}))
    async with client(github) as gh:
        assert await gh.upsert_comment(3, f"{PR_MARKER} new", PR_MARKER) == "updated"
    assert [s.method for s in github.seen] == ["GET", "GET", "PATCH"]


async def test_next_page_on_another_host_is_refused(github: FakeGitHub) -> None:
    github.on(
        "GET",
        f"{BASE}/issues/3/comments?per_page=100",
        Answer(200, [], {"link": '<https://evil.example/steal?page=2>; rel="next"'}),
    )
    async with client(github) as gh:
        with pytest.raises(GitHubError, match="not under the API URL"):
            await gh.upsert_comment(3, "x", PR_MARKER)
    assert len(github.seen) == 1


async def test_5xx_is_retried_with_backoff(github: FakeGitHub) -> None:
    path = f"{BASE}/issues/7/labels"
    github.on("POST", path, Answer(502, {"message": "bad gateway"}), Answer(500), Answer(200, []))
    sleeps = Sleeps()
    async with client(github, sleeps) as gh:
        await gh.add_labels(7, ["bug"])
    assert len(github.seen) == 3
    assert all(s.body == {"labels": ["bug"]} for s in github.seen)
    assert sleeps.waits == [0.5, 1.0]


@pytest.mark.parametrize(
    ("answer", "wait"),
    [
        (Answer(403, {"message": "secondary rate limit"}, {"retry-after": "7"}), 7.0),
        (Answer(429, {"message": "slow down"}, {"retry-after": "3"}), 3.0),
        (Answer(429, {"message": "slow down"}), 60.0),
        (Answer(403, {"message": "You have exceeded a secondary rate limit"}), 60.0),
        (Answer(403, {}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "x"}), 60.0),
    ],
)
async def test_rate_limits_wait_what_github_asks(
    github: FakeGitHub, answer: Answer, wait: float
) -> None:
    path = f"{BASE}/issues/7/labels"
    github.on("POST", path, answer, Answer(200, []))
    sleeps = Sleeps()
    async with client(github, sleeps) as gh:
        await gh.add_labels(7, ["bug"])
    assert sleeps.waits == [wait]
    assert len(github.seen) == 2


async def test_a_wait_past_max_wait_is_reported_not_slept(github: FakeGitHub) -> None:
    github.on("POST", f"{BASE}/issues/7/labels", Answer(429, {}, {"retry-after": "3600"}))
    sleeps = Sleeps()
    async with client(github, sleeps, max_wait=100) as gh:
        with pytest.raises(GitHubError, match="wait 3600 s") as caught:
            await gh.add_labels(7, ["bug"])
    assert caught.value.status == 429
    assert sleeps.waits == []


async def test_plain_403_and_404_are_not_retried(github: FakeGitHub) -> None:
    github.on(
        "POST", f"{BASE}/issues/7/labels", Answer(403, {"message": "Resource not accessible"})
    )
    async with client(github) as gh:
        with pytest.raises(GitHubError, match=r"403 Resource not accessible.*permissions"):
            await gh.add_labels(7, ["bug"])
        with pytest.raises(GitHubError, match="404 Not Found"):
            await gh.add_assignees(8, ["a"])
    assert len(github.seen) == 2


async def test_gives_up_after_the_attempts(github: FakeGitHub) -> None:
    github.on("POST", f"{BASE}/issues/7/labels", Answer(503, {"message": "down"}))
    async with client(github, attempts=3) as gh:
        with pytest.raises(GitHubError, match=r"503 down.*gave up after 3 attempts") as caught:
            await gh.add_labels(7, ["bug"])
    assert caught.value.status == 503
    assert len(github.seen) == 3


async def test_transport_errors_are_retried() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json=[])

    gh = GitHubClient(
        REPO, TOKEN, transport=httpx.MockTransport(handler), sleep=Sleeps(), backoff=0.1
    )
    async with gh:
        await gh.add_labels(1, ["x"])
    assert calls == [f"{BASE}/issues/1/labels"] * 2


async def test_token_never_shown(
    github: FakeGitHub, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    # A server that echoes the token back in its error message.
    github.on("POST", f"{BASE}/issues/7/labels", Answer(401, {"message": f"bad {TOKEN}"}))
    github.on("POST", f"{BASE}/issues/8/labels", Answer(500, {"message": f"oops {TOKEN}"}))
    gh = client(github, attempts=2)
    messages = [repr(gh)]
    async with gh:
        for number in (7, 8):
            with pytest.raises(GitHubError) as caught:
                await gh.add_labels(number, ["bug"])
            messages.append(str(caught.value))
    out = capsys.readouterr()
    shown = "\n".join([*messages, caplog.text, out.out, out.err])
    assert "bad ***" in shown
    assert TOKEN not in shown
    assert github.seen[0].headers["authorization"] == f"Bearer {TOKEN}"


async def test_token_and_client_from_env(github: FakeGitHub) -> None:
    assert token_from_env({"GH_TOKEN": "b"}) == "b"
    assert token_from_env({"GITHUB_TOKEN": "a", "GH_TOKEN": "b"}) == "a"
    assert token_from_env({}) is None
    env = {"GITHUB_REPOSITORY": REPO, "GH_TOKEN": TOKEN, "GITHUB_API_URL": github.url + "/"}
    gh = GitHubClient.from_env(env=env)
    assert gh.repo == REPO
    assert gh.base_url == github.url
    await gh.aclose()
    with pytest.raises(GitHubError, match="GITHUB_TOKEN"):
        GitHubClient.from_env(env={"GITHUB_REPOSITORY": REPO})
    with pytest.raises(GitHubError, match="GITHUB_REPOSITORY"):
        GitHubClient.from_env(env={"GITHUB_TOKEN": TOKEN})
    with pytest.raises(GitHubError, match="owner/name"):
        GitHubClient("../x", TOKEN)
    with pytest.raises(GitHubError, match="http"):
        GitHubClient(REPO, TOKEN, base_url="file:///etc")


async def test_bad_numbers_are_refused_before_any_request(github: FakeGitHub) -> None:
    async with client(github) as gh:
        for bad in (0, -1, True):
            with pytest.raises(GitHubError, match="not an issue"):
                await gh.add_labels(bad, ["x"])
    assert github.seen == []


def test_dry_run_sends_nothing_and_says_what_it_would_do(github: FakeGitHub) -> None:
    actions = [
        AddLabels(4, ("bug", "size/M")),
        AddAssignees(4, ()),
        RequestReviewers(4, ("bob",), ("core",)),
        UpsertComment(4, "hello", PR_MARKER),
    ]
    results = apply_actions(actions, env={"GITHUB_API_URL": github.url})
    assert [str(r) for r in results] == [
        "would: add labels bug, size/M to #4",
        "skipped: assign (nobody) to #4",
        "would: request reviews from bob, team core on #4",
        f"would: create or update the {PR_MARKER} comment on #4 (5 bytes)",
    ]
    assert github.seen == []


def test_apply_performs_in_order(github: FakeGitHub) -> None:
    github.on("POST", f"{BASE}/issues/4/labels", Answer(200, []))
    github.on("GET", f"{BASE}/issues/4/comments?per_page=100", Answer(200, []))
    github.on("POST", f"{BASE}/issues/4/comments", Answer(201, {}))
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}
    actions = [AddLabels(4, ("bug",)), AddAssignees(4, ()), UpsertComment(4, "hi", PR_MARKER)]
    results = apply_actions(actions, apply=True, env=env)
    assert [r.outcome for r in results] == ["done", "skipped", "created"]
    assert [s.method for s in github.seen] == ["POST", "GET", "POST"]


async def test_run_actions_without_client_is_a_dry_run() -> None:
    results = await run_actions([AddLabels(1, ("a",))], None)
    assert results[0].outcome == "dry-run"
