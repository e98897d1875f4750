"""The fake Slack Web API answers the real slack_sdk and a real slack-bolt app as Slack would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientSession
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.slack.fake_slack import (
    Call,
    FakeSlack,
    interactivity_body,
    load_payload,
    serving,
    signed_request,
)

TOKEN, SECRET = "xoxb-test-token", "test-signing-secret"
MENTION_TS = "1700000000.000100"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def web_client(fake: FakeSlack, token: str = TOKEN, **options: Any) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.url, **options)


def test_auth_test_answers_as_the_bot_and_records_the_token(fake: FakeSlack) -> None:
    answer = asyncio.run(web_client(fake).auth_test())

    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == ("UBOT", "BBOT", "T1")
    assert fake.calls == [Call("auth.test", {}, TOKEN)]


def test_a_posted_message_can_be_updated_and_read_back(fake: FakeSlack) -> None:
    async def scenario() -> Any:
        client = web_client(fake)
        posted = await client.chat_postMessage(channel="C1", text="Looking…", thread_ts=MENTION_TS)
        await client.chat_update(channel="C1", ts=posted["ts"], text="Open *Settings*.")
        return posted

    posted = asyncio.run(scenario())

    assert posted["ts"] == "1700000100.000100"
    assert posted["message"]["thread_ts"] == MENTION_TS
    assert fake.message("C1", posted["ts"])["text"] == "Open *Settings*."  # type: ignore[index]
    assert [call.method for call in fake.calls] == ["chat.postMessage", "chat.update"]
    assert fake.calls_to("chat.update")[0].params == {"channel": "C1", "ts": posted["ts"], "text": "Open *Settings*."}


def test_conversations_replies_returns_the_thread_that_was_set(fake: FakeSlack) -> None:
    thread = [{"type": "message", "user": "U1", "text": "<@UBOT> hi", "ts": MENTION_TS}]
    fake.set_replies("C1", MENTION_TS, thread)

    answer = asyncio.run(web_client(fake).conversations_replies(channel="C1", ts=MENTION_TS))

    assert answer["messages"] == thread
    assert fake.calls_to("conversations.replies")[0].params == {"channel": "C1", "ts": MENTION_TS}


def test_a_rate_limited_call_is_retried_by_slack_sdk(fake: FakeSlack) -> None:
    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    client = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])

    answer = asyncio.run(client.chat_postMessage(channel="C1", text="hello"))

    assert answer["ok"] and len(fake.calls_to("chat.postMessage")) == 2


def test_a_rate_limited_call_without_retries_shows_slacks_429(fake: FakeSlack) -> None:
    fake.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        asyncio.run(web_client(fake).chat_postMessage(channel="C1", text="hello"))

    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["Retry-After"] == "7"


def test_an_invalid_token_gets_invalid_auth(fake: FakeSlack) -> None:
    fake.invalid_tokens.add("xoxb-revoked")

    with pytest.raises(SlackApiError) as raised:
        asyncio.run(web_client(fake, token="xoxb-revoked").auth_test())

    assert raised.value.response["error"] == "invalid_auth"


def test_native_streaming_builds_one_message(fake: FakeSlack) -> None:
    async def scenario() -> Any:
        stream = await web_client(fake).chat_stream(
            channel="C1", thread_ts=MENTION_TS, recipient_team_id="T1", recipient_user_id="U1", buffer_size=1
        )
        await stream.append(markdown_text="Open ")
        await stream.append(markdown_text="*Settings*.")
        return await stream.stop(blocks=[{"type": "context", "elements": [{"type": "mrkdwn", "text": "Sources"}]}])

    stopped = asyncio.run(scenario())

    assert [call.method for call in fake.calls] == ["chat.startStream", "chat.appendStream", "chat.stopStream"]
    assert fake.calls[0].params["chunks"] == [{"type": "markdown_text", "text": "Open "}]
    assert stopped["message"]["text"] == "Open *Settings*."
    assert stopped["message"]["thread_ts"] == MENTION_TS and stopped["message"]["blocks"]


def test_streaming_can_be_switched_off_to_test_the_fallback(fake: FakeSlack) -> None:
    fake.disable_streaming()

    with pytest.raises(SlackApiError) as raised:
        asyncio.run(web_client(fake).chat_startStream(channel="C1", thread_ts=MENTION_TS, markdown_text="Open"))

    assert raised.value.response["error"] == "not_allowed"
    assert asyncio.run(web_client(fake).chat_postMessage(channel="C1", text="Open"))["ok"]


def test_users_and_conversations_info_have_defaults_and_overrides(fake: FakeSlack) -> None:
    fake.set_user("U2", locale="de-DE", tz="Europe/Vienna")
    fake.set_channel("C2", is_ext_shared=True)

    async def scenario() -> list[Any]:
        client = web_client(fake)
        return [await client.users_info(user="U2"), await client.conversations_info(channel="D1"),
                await client.conversations_info(channel="C2")]  # fmt: skip

    user, dm, shared = asyncio.run(scenario())

    assert user["user"]["locale"] == "de-DE" and user["user"]["id"] == "U2"
    assert dm["channel"]["is_im"] and dm["channel"]["is_private"]
    assert shared["channel"]["is_ext_shared"] and not shared["channel"]["is_private"]


def test_signed_request_passes_slack_sdks_own_verifier() -> None:
    body = json.dumps(load_payload("app_mention"))

    headers = signed_request(body, secret=SECRET, retry_num=1)

    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


def support_app(fake: FakeSlack) -> AsyncApp:
    """A bolt app wired as supportbot's will be: the token lives on the client, which points at the fake."""
    app = AsyncApp(signing_secret=SECRET, client=web_client(fake))

    @app.event("app_mention")
    async def answer(event: dict[str, Any], say: AsyncSay) -> None:
        await say(text="Open *Settings*.", thread_ts=event.get("thread_ts", event["ts"]))

    @app.command("/kb")
    async def kb(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(f"kb: {command['text']} ok")

    @app.action("feedback_helpful")
    async def helpful(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(text="Thanks for the feedback!", replace_original=False)

    return app


async def deliver(base: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with ClientSession() as http, http.post(f"{base}/slack/events", data=body, headers=headers) as response:
        return response.status, await response.text()


def test_bolt_app_answers_a_signed_mention_in_its_thread(fake: FakeSlack) -> None:
    body = json.dumps(load_payload("app_mention"))

    async def scenario() -> tuple[int, list[Call]]:
        async with serving(support_app(fake).web_app()) as base:
            status, _ = await deliver(base, body, signed_request(body, secret=SECRET))
            return status, await fake.wait_for_async("chat.postMessage")

    status, posts = asyncio.run(scenario())

    assert status == 200
    assert posts[0].params["channel"] == "C1" and posts[0].params["thread_ts"] == MENTION_TS
    assert posts[0].token == TOKEN and fake.calls_to("auth.test")  # bolt authorizes with auth.test first


def test_bolt_app_rejects_a_bad_signature(fake: FakeSlack) -> None:
    body = json.dumps(load_payload("app_mention"))

    async def scenario() -> int:
        async with serving(support_app(fake).web_app()) as base:
            status, _ = await deliver(base, body, signed_request(body, secret="not-the-secret"))
            return status

    assert asyncio.run(scenario()) == 401
    assert not fake.calls_to("chat.postMessage")


def test_bolt_app_takes_a_slash_command_and_a_button_click(fake: FakeSlack) -> None:
    command = urlencode(load_payload("slash_kb"))
    click = interactivity_body(load_payload("block_actions_feedback") | {"response_url": fake.response_url})
    form = "application/x-www-form-urlencoded"

    async def scenario() -> tuple[tuple[int, str], tuple[int, str], list[Call]]:
        async with serving(support_app(fake).web_app()) as base:
            kb = await deliver(base, command, signed_request(command, secret=SECRET, content_type=form))
            clicked = await deliver(base, click, signed_request(click, secret=SECRET, content_type=form))
            return kb, clicked, await fake.wait_for_async("response_url")

    (kb_status, kb_text), (click_status, _), responses = asyncio.run(scenario())

    assert (kb_status, kb_text) == (200, "kb: status ok")
    assert click_status == 200
    assert responses[0].params["text"] == "Thanks for the feedback!"
