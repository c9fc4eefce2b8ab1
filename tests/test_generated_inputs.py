"""Hostile requests generated from each endpoint's declared inputs (engines/params.py), sent as raw JSON: one input
broken at a time, the others as the checks accept them. Each is refused in plain words, never with HTTP 5xx, an
empty message or the generic one; a wrong type is refused in words that name the input; and the server answers a
good request right after. Also the shape of a request itself (request_shape.py)."""
import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import demos
import messages
from demos.endpoints import SOMETHING_WENT_WRONG
from demos.image_classification import EXAMPLES as PHOTOS
from engines.params import Conversation, Name, OneOf, Optional, Real, SomeOf, Text, Upload, Whole
from raw_api import call, launch, upload

CASES = 100
UPLOADED = "an uploaded file"  # in a generated request: the test puts a real upload there
NOT_TEXT = st.one_of(st.booleans(), st.integers(), st.floats(), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
NOT_A_NUMBER = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                         st.sampled_from([float("nan"), float("inf"), float("-inf")]))
LONE_SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)


def accepted(param):
    """A value the input's check lets through (what it does not have to be: a real file, a listed model)."""
    if isinstance(param, OneOf):  # SomeOf too
        return [param.choices[0]] if isinstance(param, SomeOf) else param.choices[0]
    if isinstance(param, (Whole, Real)):
        return param.low
    if isinstance(param, Upload):
        return UPLOADED if param.required else None
    if isinstance(param, Optional):
        return accepted(param.param)
    return {Text: "hello", Name: "", Conversation: []}[type(param)]


def broken(param) -> st.SearchStrategy:
    """(value, whether it is of the wrong type) for values the input's check must refuse."""
    wrong_type = {Text: NOT_TEXT, Name: NOT_TEXT, OneOf: NOT_TEXT, Whole: NOT_A_NUMBER, Real: NOT_A_NUMBER,
                  SomeOf: NOT_TEXT.filter(lambda v: not isinstance(v, list))}
    if isinstance(param, Upload):
        return st.sampled_from([None, "", {"path": None}, {}]).map(lambda v: (v, False))
    if isinstance(param, Optional):  # left out (None, blank) is allowed
        return broken(param.param).filter(lambda case: case[0] is not None and case[0] not in ("", " \n\t "))
    if isinstance(param, Text):
        wrong_value = st.one_of(
            st.integers(1, 100).map(lambda n: "a" * (param.max_chars + n)),
            st.sampled_from(["", " \n\t ", "\x00\x01\x1b", "\x7f\x9f"]),
            LONE_SURROGATES.map(lambda s: "hello " + s),
            *([st.just("ok\n" * (param.max_lines + 1))] if param.max_lines else []))
    elif isinstance(param, Name):
        wrong_value = st.one_of(st.integers(1, 50).map(lambda n: "m" * (200 + n)), LONE_SURROGATES)
    elif isinstance(param, SomeOf):
        wrong_value = st.one_of(st.just([]), st.lists(st.text(max_size=4).filter(lambda v: v not in param.choices),
                                                      min_size=1, max_size=3),
                                st.lists(st.integers(), min_size=1, max_size=2))
    elif isinstance(param, OneOf):
        wrong_value = st.text(max_size=6).filter(lambda v: v not in param.choices)
    elif isinstance(param, Whole):
        wrong_value = st.one_of(st.integers(max_value=param.low - 1), st.integers(min_value=param.high + 1),
                                st.just(10**400), st.floats(param.low, param.high).filter(lambda v: v != int(v)))
    else:
        wrong_value = st.one_of(st.floats(max_value=param.low, exclude_max=True, allow_infinity=False),
                                st.floats(min_value=param.high, exclude_min=True, allow_infinity=False),
                                st.just(-10**400))
    return st.one_of(wrong_type[type(param)].map(lambda v: (v, True)), wrong_value.map(lambda v: (v, False)))


# The routes a client can start an event by (gradio_routes.EVENT): by name with a list, by name with keywords, and
# the direct call; the page's queue/join is test_a_request_not_shaped_as_the_endpoints_inputs_gets_a_422's.
ROUTES = ("call", "call/v2", "run")


def endpoint_requests():
    """(route, endpoint, data, broken input's name, whether its value is of the wrong type)."""
    def one_broken(endpoint):
        names = list(endpoint.params)
        return st.sampled_from(names).flatmap(lambda name: broken(endpoint.params[name]).map(
            lambda case: (endpoint.api_name,
                          [case[0] if other == name else accepted(endpoint.params[other]) for other in names],
                          endpoint.params[name], case[1])))

    return st.tuples(st.sampled_from(ROUTES), st.sampled_from(demos.ENDPOINTS).flatmap(one_broken))


def send(base: str, route: str, api_name: str, data: list) -> str:
    """The refusal's or the error's message of a request through `route`, None when it ran to completion."""
    if route == "call":
        status, answer = call(base, api_name, data)
        assert status in (200, 422), answer  # 422: refused before Gradio read it (request_shape.py)
        return error_message(answer) if status == 200 else json.loads(answer)["detail"]
    names = next(endpoint for endpoint in demos.ENDPOINTS if endpoint.api_name == api_name).params
    body = dict(zip(names, data)) if route == "call/v2" else {"data": data}
    posted = httpx.post(f"{base}/gradio_api/{route}/{api_name}", content=json.dumps(body),
                        headers={"Content-Type": "application/json"}, timeout=120)
    if route == "run":  # answered at once: the error with HTTP 500, as Gradio answers every failed direct call
        assert posted.status_code in (200, 422, 500), posted.text
        return None if posted.status_code == 200 else posted.json().get("error") or posted.json().get("detail")
    assert posted.status_code in (200, 422), posted.text
    if posted.status_code == 422:
        return posted.json()["detail"]
    answer = httpx.get(f"{base}/gradio_api/{route}/{api_name}/{posted.json()['event_id']}", timeout=120).text
    return error_message(answer)


@pytest.fixture(scope="module")
def served(tiny_overrides):
    overrides = {task: source for task, source in tiny_overrides.items() if task != "image_editing"}
    app, runtime, base = launch(overrides)
    yield base, runtime.default("ner").name, upload(base, PHOTOS[0])
    app.close()


def error_message(answer: str) -> str | None:
    """The message of an event stream's error, None when it ended otherwise."""
    lines = answer.strip().splitlines()
    if len(lines) < 2 or lines[-2] != "event: error":
        return None
    return json.loads(lines[-1].removeprefix("data: "))["error"]


@settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(request=endpoint_requests())
def test_a_broken_input_is_refused_in_plain_words_and_the_server_keeps_serving(served, request):
    base, ner_model, uploaded = served
    route, (api_name, data, param, wrong_type) = request
    message = send(base, route, api_name, [uploaded if value == UPLOADED else value for value in data])
    assert message, f"{route}/{api_name} {data!r}: no plain error"
    assert message != messages.say(SOMETHING_WENT_WRONG) and "Traceback" not in message and 'File "' not in message
    if wrong_type:
        assert messages.say(param.name) in message, f"{api_name}: the message names the input: {message}"
    status, answer = call(base, "ner", ["Alice is in Paris.", ner_model, ""])
    assert answer.count("event: complete") == 1, "a good request right after it is answered"


@pytest.mark.parametrize("body, words", [
    ('{"data": NaN}', "must be a list of this endpoint's 3 inputs"),
    ('{"data": {"text": "Alice"}}', "must be a list of this endpoint's 3 inputs"),
    ('{"data": null}', "must be a list"),
    ('{"data": []}', "This endpoint takes 3 inputs; the request sent 0."),
    ('{"data": ["Alice"]}', "This endpoint takes 3 inputs; the request sent 1."),
])
def test_a_request_not_shaped_as_the_endpoints_inputs_gets_a_422_in_plain_words(served, body, words):
    base, ner_model, _ = served
    by_index = f', "fn_index": {ner_index(base)}, "session_hash": "s"}}'  # as the page sends it
    for path, content in (("/gradio_api/call/ner", body), ("/gradio_api/queue/join", body[:-1] + by_index)):
        answer = httpx.post(base + path, content=content, headers={"Content-Type": "application/json"}, timeout=30)
        assert answer.status_code == 422 and words in answer.json()["detail"], answer.text
    assert call(base, "ner", ["Alice is in Paris.", ner_model, ""])[1].count("event: complete") == 1


def ner_index(base: str) -> int:
    config = httpx.get(base + "/config", timeout=30).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == "ner")
