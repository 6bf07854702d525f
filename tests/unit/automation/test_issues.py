"""The issue router on a synthetic workspace shaped like real ones (a hub and plugins)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tta_dev.automation import (
    IssueRoutingError,
    PriorityRule,
    RoutingConfig,
    RoutingIndex,
    build_routing_index,
    classify_issue_type,
    issue_route_data,
    render_issue_route,
    route_issue,
    routing_config,
)
from tta_dev.workspace import load_workspace


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _plugin(name: str, module: str, code: str = "") -> dict[str, str]:
    folder = f"plugins/acme-plugin-{name}"
    return {
        f"{folder}/pyproject.toml": (
            f'[project]\nname = "acme-plugin-{name}"\nversion = "1.0"\n'
            'dependencies = ["acme-core"]\n'
            f'keywords = ["acme", "{name}"]\n'
        ),
        f"{folder}/src/acme/plugins/{module}/__init__.py": code,
    }


def make_workspace(root: Path, routing: str = "") -> Path:
    _write(
        root,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["packages/*", "plugins/*", "examples/*"]\n'
                + routing
            ),
            "packages/core/pyproject.toml": (
                '[project]\nname = "acme-core"\nversion = "1.0"\n'
                '[project.scripts]\nacme-run = "acme.core.cli:main"\n'
            ),
            "packages/core/src/acme/core/__init__.py": (
                "class SessionManager:\n    pass\n\n\ndef run_pipeline():\n    pass\n"
                "\n\nclass Store:\n    pass\n"
            ),
            "packages/core/src/acme/core/session.py": "def _private_helper():\n    pass\n",
            **_plugin(
                "redis", "redis", "class RedisStore:\n    pass\n\n\nclass Store:\n    pass\n"
            ),
            **_plugin("requests", "requests", "class RequestsTracer:\n    pass\n"),
            **_plugin("aiohttp-client", "aiohttp_client"),
            **_plugin("aiohttp-server", "aiohttp_server"),
            "examples/demo/pyproject.toml": (
                '[project]\nname = "acme-example-demo"\nversion = "0"\n'
                'dependencies = ["acme-core", "acme-plugin-redis"]\n'
            ),
            "examples/demo/agent.py": "class DemoAgent:\n    pass\n",
        },
    )
    return root


@pytest.fixture
def index(tmp_path: Path) -> RoutingIndex:
    return build_routing_index(load_workspace(make_workspace(tmp_path)))


def top(index: RoutingIndex, title: str, body: str = "") -> str | None:
    route = route_issue(index, title, body)
    return route.component.member if route.component else None


def test_the_index_knows_names_short_names_commands_and_definitions(index: RoutingIndex) -> None:
    assert index.hub == "acme-core"
    aliases = index.aliases_of("acme-plugin-redis")
    assert {"acme-plugin-redis", "acme.plugins.redis", "redis"} <= set(aliases)
    assert "acme-run" in index.aliases_of("acme-core")
    assert index.symbols["RedisStore"] == "acme-plugin-redis"
    assert index.symbols["SessionManager"] == "acme-core"
    assert index.symbols["run_pipeline"] == "acme-core"
    assert "Store" not in index.symbols  # defined in two members
    assert "_private_helper" not in index.symbols
    assert "agent" not in index.aliases_of("acme-example-demo")  # a lone module, not a name


@pytest.mark.parametrize(
    "title",
    [
        "acme-plugin-redis drops keys",
        "acme_plugin_redis drops keys",
        "acme.plugins.redis drops keys",
        "acme plugin redis drops keys",
        "Redis plugin drops keys",
        "RedisStore drops keys",
    ],
)
def test_every_spelling_of_a_member_routes_to_it(index: RoutingIndex, title: str) -> None:
    assert top(index, title) == "acme-plugin-redis"


def test_the_longest_name_wins(index: RoutingIndex) -> None:
    assert top(index, "acme-plugin-aiohttp-client leaks sockets") == "acme-plugin-aiohttp-client"
    assert top(index, "aiohttp server returns 500") == "acme-plugin-aiohttp-server"
    route = route_issue(index, "aiohttp is slow")  # shared by two members: split between them
    assert {c.member for c in route.components[:2]} == {
        "acme-plugin-aiohttp-client",
        "acme-plugin-aiohttp-server",
    }


def test_whole_words_only(index: RoutingIndex) -> None:
    assert top(index, "redistribute the load") == "acme-core"  # the hub, as a guess
    route = route_issue(index, "redistribute the load")
    assert route.components[0].evidence[0].kind == "prior"
    assert route.components[0].confidence < 0.35


def test_a_common_word_names_a_member_weakly_unless_in_code_or_beside_a_role_word(
    index: RoutingIndex,
) -> None:
    # In a small workspace a bare common word is a weak clue: never enough for a label.
    bare = route_issue(index, "too many requests are slow")
    assert all(c.confidence < 0.35 for c in bare.components)
    assert bare.labels == ("bug",)
    for title in ("the requests plugin is slow", "`requests` is slow"):
        route = route_issue(index, title)
        assert route.component is not None
        assert route.component.member == "acme-plugin-requests"
        assert route.component.confidence >= 0.35


def test_among_many_members_a_bare_common_word_names_none(tmp_path: Path) -> None:
    files = {"pyproject.toml": '[tool.uv.workspace]\nmembers = ["plugins/*"]\n'}
    for name in ["requests", "logging", *[f"p{i}x" for i in range(12)]]:
        files.update(_plugin(name, name))
    _write(tmp_path, files)
    index = build_routing_index(load_workspace(tmp_path))
    assert route_issue(index, "too many requests are slow").components == ()
    assert top(index, "requests instrumentation plugin is slow") == "acme-plugin-requests"


def test_the_last_traceback_frame_outside_the_hub_decides(index: RoutingIndex) -> None:
    body = (
        "Traceback (most recent call last):\n"
        '  File "/venv/lib/site-packages/acme/core/session.py", line 10, in run\n'
        '  File "/venv/lib/site-packages/acme/plugins/requests/__init__.py", line 3, in f\n'
        '  File "/venv/lib/site-packages/acme/core/util.py", line 7, in g\n'
        "ValueError: boom\n"
    )
    route = route_issue(index, "it fails", body)
    assert route.component is not None
    assert route.component.member == "acme-plugin-requests"
    assert any(e.kind == "raised in" for e in route.component.evidence)
    only_core = body.replace("plugins/requests/__init__", "core/other")
    assert top(index, "it fails", only_core) == "acme-core"


def test_windows_and_escaped_paths_and_repository_links(index: RoutingIndex) -> None:
    escaped = (
        '"File \\"C:\\\\venv\\\\Lib\\\\site-packages\\\\acme\\\\plugins\\\\redis\\\\x.py\\", line 4'
    )
    assert top(index, "it fails", escaped) == "acme-plugin-redis"
    link = (
        "see https://github.com/acme/acme-core/blob/main/plugins/acme-plugin-requests/src/x.py#L3"
    )
    assert top(index, "wrong header", link) == "acme-plugin-requests"


def test_a_pasted_package_list_is_weak_evidence(index: RoutingIndex) -> None:
    body = (
        "SessionManager never closes.\n\n```\n"
        "acme-core==1.0\nacme-plugin-redis==1.0\nacme-plugin-requests==1.0\nhttpx==0.28\n```\n"
    )
    route = route_issue(index, "session leak", body)
    assert route.component is not None
    assert route.component.member == "acme-core"
    weak = {c.member: c.score for c in route.components}
    assert weak["acme-plugin-redis"] < 1.0
    # The same name in a sentence is strong.
    assert top(index, "leak", "The acme-plugin-redis store never closes.") == "acme-plugin-redis"


def test_names_the_issue_defines_itself_are_not_evidence(index: RoutingIndex) -> None:
    body = "```python\nclass RedisStore:\n    pass\n```\nmy RedisStore breaks"
    assert top(index, "it breaks", body) == "acme-core"


def test_examples_names_count_little(index: RoutingIndex) -> None:
    assert top(index, "the demo is broken", "acme.plugins.redis fails") == "acme-plugin-redis"


def test_every_component_has_evidence_and_a_confidence(index: RoutingIndex) -> None:
    route = route_issue(index, "acme-plugin-redis and the requests plugin both fail")
    assert [c.confidence for c in route.components] == sorted(
        (c.confidence for c in route.components), reverse=True
    )
    for match in route.components:
        assert 0 <= match.confidence <= 1
        assert match.evidence
        assert all(e.weight > 0 for e in match.evidence)


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Agent crashes on start", "", "bug"),
        ("x", "### Steps to reproduce\n1. run it\n### Expected behavior\nworks", "bug"),
        ("x", 'Traceback (most recent call last):\n  File "a.py", line 1\nKeyError: 1', "bug"),
        ("Add support for Valkey", "", "feature"),
        ("x", "### Feature request\nIt would be nice to have retries.", "feature"),
        ("[Feature] retries", "", "feature"),
        ("Typo in the README", "", "docs"),
        ("docs: wrong default in the guide", "", "docs"),
        ("How do I configure retries?", "", "question"),
        ("Is it possible to pause a session?", "", "question"),
        ("", "", "bug"),
    ],
)
def test_issue_types(title: str, body: str, expected: str) -> None:
    kind, confidence, evidence = classify_issue_type(title, body)
    assert kind == expected
    assert 0 <= confidence <= 1
    assert evidence


def test_type_words_are_whole_words() -> None:
    kind, _, evidence = classify_issue_type("The address field", "Our address is shown.")
    assert all("add" not in e.detail.split() for e in evidence)
    assert kind != "feature"


def test_type_words_in_code_and_links_do_not_count() -> None:
    body = "Please add retries.\n```python\nraise Exception('error error error')\n```\nhttps://x.dev/docs/errors"
    assert classify_issue_type("Retries", body)[0] == "feature"


def test_labels_owners_and_priority(index: RoutingIndex) -> None:
    seen: list[str] = []

    def owners_of(path: str) -> tuple[tuple[str, ...], str | None]:
        seen.append(path)
        return ("@alice", "@acme/redis-team"), "CODEOWNERS line 3 (/plugins/acme-plugin-redis/)"

    route = route_issue(
        index,
        "acme-plugin-redis crashes in production",
        'Traceback (most recent call last):\n  File "/v/acme/plugins/redis/x.py", line 1\n',
        number=7,
        owners_of=owners_of,
    )
    assert seen == ["plugins/acme-plugin-redis/pyproject.toml"]
    assert route.labels == ("bug", "component: acme-plugin-redis", "priority: high")
    assert route.owners == ("@alice", "@acme/redis-team")
    assert route.owners_evidence[0].startswith("plugins/acme-plugin-redis/pyproject.toml: ")
    assert route.priority == "high"
    assert "crashes" in route.priority_evidence[0]
    assert route.component is not None
    assert route.owners_confidence == route.component.confidence
    assert route.priority_confidence == route.type_confidence  # the rule names a type


def test_no_owners_or_component_label_below_the_confidence_threshold(index: RoutingIndex) -> None:
    route = route_issue(index, "something is off", owners_of=lambda path: (("@x",), "line 1 (*)"))
    assert route.owners == ()
    assert route.labels == ("bug",)


def test_routing_config_from_pyproject(tmp_path: Path) -> None:
    routing = (
        "[tool.tta-dev.routing]\n"
        'priority = [{ priority = "urgent", words = ["data loss"], components = ["acme-plugin-redis"] },'
        ' { priority = "later", types = ["question"] }]\n'
        'default-priority = "p2"\n'
        'type-labels = { feature = "kind/feature" }\n'
        'component-label = "area/{member}"\n'
        "min-confidence = 0.1\n"
    )
    workspace = load_workspace(make_workspace(tmp_path, routing))
    config = routing_config(workspace)
    index = build_routing_index(workspace)
    route = route_issue(index, "redis plugin: data-loss on restart", config=config)
    assert route.priority == "urgent"
    assert route.labels == ("bug", "area/acme-plugin-redis", "priority: urgent")
    assert route_issue(index, "Add retries to redis plugin", config=config).labels[0] == (
        "kind/feature"
    )
    assert route_issue(index, "How do I use it?", config=config).priority == "later"
    assert route_issue(index, "redis plugin broke", config=config).priority == "p2"


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        ("priority = 3\n", "`priority` must be a list of tables"),
        ("priority = [{ words = ['x'] }]\n", "`priority` (a string) is required"),
        ("priority = [{ priority = 'h', types = ['bugs'] }]\n", "type 'bugs' is not one of"),
        ("priority = [{ priority = 'h', pattern = '(a+)+$' }]\n", "unknown key(s) pattern"),
        ("min-confidence = 'high'\n", "`min-confidence` must be a number"),
        ("type-labels = { chore = 'x' }\n", "`type-labels` maps bug"),
    ],
)
def test_bad_routing_config_is_one_line(tmp_path: Path, routing: str, message: str) -> None:
    workspace = load_workspace(make_workspace(tmp_path, "[tool.tta-dev.routing]\n" + routing))
    with pytest.raises(IssueRoutingError, match="routing") as caught:
        routing_config(workspace)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_priority_words_are_literal_whole_words() -> None:
    rule = PriorityRule("high", words=("crash", "a.b"))
    assert rule.matches("it crashes", "bug", None) is None
    assert rule.matches("a crash!", "bug", None) == "'crash'"
    assert rule.matches("axb", "bug", None) is None


def test_the_json_contract_and_renderings(index: RoutingIndex) -> None:
    route = route_issue(index, "redis plugin | broken\u2028<b>", "RedisStore fails", number=3)
    data = issue_route_data(route)
    assert {"number", "type", "labels", "components", "owners", "priority"} <= set(data)
    assert data["number"] == 3
    assert data["components"][0]["member"] == "acme-plugin-redis"
    assert {"member", "confidence", "evidence"} <= set(data["components"][0])
    json.dumps(data)
    markdown = render_issue_route(route, "markdown")
    assert "<b>" not in markdown
    assert "\u2028" not in markdown
    text = render_issue_route(route, "text")
    assert "\u2028" not in text
    assert text.startswith("issue 3\n")


def test_an_empty_config_means_the_defaults() -> None:
    config = RoutingConfig()
    assert config.type_labels["feature"] == "enhancement"
    assert config.default_priority == "normal"


def test_a_meta_package_name_goes_to_the_member_shipping_that_import(tmp_path: Path) -> None:
    # pydantic-ai's shape: the root ships no code, its dependencies are dynamic (only the
    # lock has them), and the import name users write belongs to another member.
    from tests.unit.workspace.builders import lock_toml, member_package

    _write(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "acme-ai"\nversion = "1.0"\ndynamic = ["dependencies"]\n'
                '[tool.uv.workspace]\nmembers = ["slim", "graph", "evals"]\n'
            ),
            "slim/pyproject.toml": '[project]\nname = "acme-ai-slim"\nversion = "1.0"\n',
            "slim/acme_ai/__init__.py": "",
            "graph/pyproject.toml": '[project]\nname = "acme-graph"\nversion = "1.0"\ndynamic = ["dependencies"]\n',
            "graph/acme_graph/__init__.py": "class GraphRunner:\n    pass\n",
            "evals/pyproject.toml": '[project]\nname = "acme-evals"\nversion = "1.0"\ndynamic = ["dependencies"]\n',
            "evals/acme_evals/__init__.py": "",
            "uv.lock": lock_toml(
                [
                    member_package("acme-ai", ".", dependencies=[{"name": "acme-ai-slim"}]),
                    member_package("acme-ai-slim", "slim"),
                    member_package("acme-graph", "graph", dependencies=[{"name": "acme-ai-slim"}]),
                    member_package("acme-evals", "evals", dependencies=[{"name": "acme-ai-slim"}]),
                ],
                members=["acme-ai", "acme-ai-slim", "acme-evals", "acme-graph"],
            ),
        },
    )
    index = build_routing_index(load_workspace(tmp_path))
    assert index.hub == "acme-ai-slim"
    assert top(index, "acme-ai agent crashes") == "acme-ai-slim"
    assert top(index, "nothing named here") == "acme-ai-slim"
    assert top(index, "GraphRunner loses state") == "acme-graph"


def test_a_single_member_workspace_routes_to_its_member(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "solo"\nversion = "1.0"\n',
            "src/solo/__init__.py": "",
        },
    )
    index = build_routing_index(load_workspace(tmp_path))
    assert top(index, "something broke") == "solo"
