import pytest

from demos.endpoints import bound
from demos.sentiment import TABLE_HEADERS
from engines import sentiment
from engines.refusal import Refusal
from tiny_models import SENTIMENT_LABELS


def check_answer(lines, overall, rows):
    assert set(overall) == set(SENTIMENT_LABELS) and sum(overall.values()) == pytest.approx(1, abs=1e-3)
    assert [row[0] for row in rows] == lines
    for _, label, score in rows:
        assert label in SENTIMENT_LABELS and 0.5 <= score <= 1  # the likeliest of two classes


def test_one_text_gives_its_classes(runtime):
    text = sentiment.EXAMPLES[0]
    overall, rows = sentiment.classify_sentiment(runtime, text)
    check_answer([text], overall, rows)
    assert overall[rows[0][1]] == rows[0][2], "one line: the label is that line's"


def test_each_line_gets_a_row_and_the_label_is_their_average(runtime):
    text = "I love it.\n\n  The battery died.  \n这家餐厅的菜很好吃。"
    overall, rows = sentiment.classify_sentiment(runtime, text)
    check_answer(["I love it.", "The battery died.", "这家餐厅的菜很好吃。"], overall, rows)
    alone = [sentiment.classify_sentiment(runtime, row[0])[1][0] for row in rows]
    assert [row[1] for row in alone] == [row[1] for row in rows], "a line is classified as it is alone"
    assert [row[2] for row in alone] == pytest.approx([row[2] for row in rows], abs=1e-3)
    assert runtime.cache.load_count == 1


def test_lines_of_requests_waiting_together_are_classified_as_alone(runtime):
    classifier = runtime.load(runtime.default("sentiment"))
    requests = [["I love it.", "Awful."], ["Fine."], ["a " * 400]]  # the last is cut to the model's length
    together = sentiment.classify_lines(classifier, requests)
    assert [len(answer) for answer in together] == [2, 1, 1]
    for request, answer in zip(requests, together):
        assert answer == [pytest.approx(s, abs=1e-3) for s in sentiment.classify_lines(classifier, [request])[0]]


@pytest.mark.parametrize("bad, message", [(None, "enter some text"), ("  \n ", "enter some text"),
                                           ({"text": "hi"}, "The text must be sent as a string"), ("\ud800 hi", "invalid characters"),
                                           ("x" * 5001, "at most 5,000"), ("ok\n" * 65, "at most 64")])
def test_bad_text_is_refused_before_any_load(runtime, bad, message):
    with pytest.raises(Refusal, match=message):
        bound(sentiment.ENDPOINTS[0], runtime)(bad)  # as both the API and the page call it
    assert runtime.cache.load_count == 0


def test_examples_include_the_documents_sentence_and_chinese():
    assert sentiment.EXAMPLES[0] == "I love this product, it's amazing!"
    assert any("\u4e00" <= ch <= "\u9fff" for example in sentiment.EXAMPLES for ch in example)


def test_classify_sentiment_through_the_api(runtime, connect):
    from gradio_client.exceptions import AppError

    import app as hub_app

    client = connect(hub_app.build_app(runtime))
    model = runtime.default("sentiment").name
    label, table = client.predict("Great!\nAwful.", model, "", api_name="/classify_sentiment")
    assert label["label"] in SENTIMENT_LABELS and {c["label"] for c in label["confidences"]} == set(SENTIMENT_LABELS)
    assert table["headers"] == TABLE_HEADERS and [row[0] for row in table["data"]] == ["Great!", "Awful."]
    with pytest.raises(AppError, match="at most 64"):
        client.predict("ok\n" * 65, model, "", api_name="/classify_sentiment")
