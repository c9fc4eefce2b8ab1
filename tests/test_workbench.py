"""The workbench's engines without an app: the agreement measures, compare (a twin of each task's main endpoint)
and chain (engines/compare.py, chain.py, outcome.py), and what a history keeps (demos/workbench.py's records)."""
import json
import shutil
import uuid
import zipfile
from collections import Counter
from urllib.parse import parse_qs, urlparse

import pytest

import demos
from demos import workbench
from demos.endpoints import bound
from engines import chain, outcome
from engines.compare import FACTS_HEADERS, comparable, twin
from engines.media import upload_folder
from engines.outcome import Outcome, Table
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.settings import Settings
from tasks import EXAMPLES_DIR

DIGIT = EXAMPLES_DIR / "digits" / "drawn-3.png"


def uploaded(path) -> dict:
    """The file as the page sends an upload: a copy in Gradio's upload folder."""
    folder = upload_folder() / f"test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    return {"path": str(shutil.copy(path, folder / path.name)), "orig_name": path.name}


def test_the_measures_say_the_same_answer_agrees_fully_and_a_different_one_less():
    assert outcome.chrf("Guten Morgen.", "Guten Morgen.") == 1.0
    assert 0 < outcome.chrf("Guten Morgen, Anna.", "Guten Abend, Anna.") < 1
    assert outcome.chrf("abc", "xyz") == 0.0
    assert 0 < outcome.chrf("今天天气很好。", "今天天气不错。") < 1, "characters, so Chinese reads too"
    assert outcome.words("我们 go home!") == ["我", "们", "go", "home"]
    assert outcome.word_error_rate("the cat sat", "the cat sat") == 0.0
    assert outcome.word_error_rate("the cat sat", "a cat sat down") == pytest.approx(2 / 3)
    assert outcome.f1(Counter("ab"), Counter("ab")) == 1.0 and outcome.f1(Counter(), Counter()) == 1.0
    assert outcome.f1(Counter("ab"), Counter("bc")) == 0.5


def test_boxes_agree_when_their_labels_match_and_they_overlap_by_half():
    def boxes(*rows):
        return Outcome("", Table(["label", "score", "x0", "y0", "x1", "y1"], [list(row) for row in rows]))

    a = boxes(("cat", 0.9, 0, 0, 100, 100), ("dog", 0.8, 200, 200, 300, 300))
    assert outcome.boxes_agree(a, a).value == 1.0
    shifted = boxes(("cat", 0.7, 10, 10, 110, 110), ("cat", 0.6, 200, 200, 300, 300))
    assert outcome.boxes_agree(a, shifted).value == 0.5, "the cat overlaps (IoU 0.68); the dog is another label"
    assert outcome.boxes_agree(a, boxes(("cat", 0.9, 60, 60, 160, 160))).value == 0.0, "IoU 0.08: not the same"
    assert outcome.boxes_agree(boxes(), boxes()).value == 1.0


def test_each_task_with_two_models_has_a_compare_twin_with_its_inputs_and_the_second_model():
    twins = {endpoint.api_name: endpoint for endpoint in demos.COMPARE_ENDPOINTS}
    assert set(twins) == {"compare_classify_image", "compare_detect_objects", "compare_recognize_digit",
                          "compare_ner", "compare_classify_sentiment", "compare_translate", "compare_transcribe",
                          "compare_generate_gan", "compare_pix2pix", "compare_chat"}
    assert not comparable(demos.speech_to_text.ENDPOINTS[1]), "the live stream has no whole answer to compare"
    ner = twins["compare_ner"]
    assert list(ner.params) == ["text", "model", "custom_model", "second_model", "second_custom_model"]
    assert list(twins["compare_recognize_digit"].params) == ["image", "model", "second_model"]
    assert "second_model:" in ner.fn.__doc__ and "Compare two models" in ner.fn.__doc__


def test_compare_runs_both_models_side_by_side_and_a_second_compare_loads_nothing():
    """The two digit models the project ships (real weights, offline)."""
    runtime = ModelRuntime(Settings())
    compare = bound(twin(demos.digits.ENDPOINTS[0]), runtime)
    drawing = {"background": None, "layers": [], "composite": uploaded(DIGIT)}
    first_scores, first_field, second_scores, second_field, facts, agreement = compare(
        drawing, "assets:digits-cnn", "assets:digits-cnn-student")
    assert max(first_scores, key=first_scores.get) == "3" and max(second_scores, key=second_scores.get) == "3"
    assert first_field.size == second_field.size
    assert facts["headers"] == FACTS_HEADERS
    (a, model_a, seconds_a, mb_a, cached_a), (b, model_b, seconds_b, mb_b, cached_b) = facts["data"]
    assert (a, model_a, b, model_b) == ("A", "assets:digits-cnn", "B", "assets:digits-cnn-student")
    assert seconds_a > 0 and seconds_b > 0 and mb_a > mb_b > 0, "the student is the smaller model"
    assert not cached_a and not cached_b
    assert agreement == "**Agreement:** both models give the same top label."
    loads = runtime.cache.load_count
    *_, facts, _ = compare(drawing, "assets:digits-cnn", "assets:digits-cnn-student")
    assert runtime.cache.load_count == loads == 2
    assert [row[4] for row in facts["data"]] == [True, True], "the same request again: both answers remembered"


@pytest.mark.parametrize("second, words", [("m" * 300, "model"), (["a"], "model"), ("no/such-model", "no/such")])
def test_a_bad_second_model_is_refused_in_plain_words(second, words):
    runtime = ModelRuntime(Settings())
    compare = bound(twin(demos.digits.ENDPOINTS[0]), runtime)
    with pytest.raises(Exception, match=words) as refused:
        compare({"background": None, "layers": [], "composite": uploaded(DIGIT)}, "assets:digits-cnn", second)
    assert hasattr(refused.value, "text"), "said in the catalog's words"


def test_a_chain_hands_each_answer_to_the_next_step(runtime):
    run = bound(chain.ENDPOINTS[0], runtime)
    text, table, steps = run("translation → ner", "Good morning, Anna.", None, None, "en", "zh")
    assert [step["task"] for step in steps] == ["translation", "ner"]
    translated = steps[0]["text"]
    assert translated and steps[1]["table"]["headers"] == ["entity", "type", "score", "start", "end"]
    assert [row[0] for row in table["data"]] == [translated[row[3]:row[4]] for row in table["data"]], \
        "the entities are the translation's"
    assert all(step["model"] and step["seconds"] > 0 for step in steps)
    assert text == "; ".join(f"{row[0]} ({row[1]})" for row in table["data"])


def test_a_detection_hands_on_each_box_cut_out_and_classified(runtime):
    run = bound(chain.ENDPOINTS[0], runtime)
    photo = uploaded(EXAMPLES_DIR / "images" / "cat.jpg")
    _, table, steps = run("object_detection, image_classification", None, None, photo, "en", "de", 0.05)
    boxes = steps[0]["table"]["data"]
    assert 0 < len(boxes) <= chain.MAX_CROPS
    assert table["headers"] == ["box", "box score", "class", "probability"]
    assert [row[:2] for row in table["data"]] == [box[:2] for box in boxes], "one row per box, in its order"
    labels = set(runtime.load(runtime.default("image_classification")).labels)
    assert all(row[2] in labels for row in table["data"])


@pytest.mark.parametrize("arguments, words", [
    (("ner → translation", "Hello", None, None, "en", "de"), "steps must be one of"),
    ((["ner"], "Hello", None, None, "en", "de"), "steps must be one of"),
    (("translation → ner", None, None, None, "en", "de"), "Translation starts this chain: it needs the text"),
    (("speech_to_text → ner", "Hello", None, None, "en", "de"), "Speech to text starts this chain: it needs the audio"),
    (("translation → ner", "Hello", None, None, "en", "en"), "Source and target language are the same"),
    (("translation → ner", "x" * 6000, None, None, "en", "zh"), "Step 1 (Translation) failed: The text is 6,000"),
])
def test_a_chain_that_cannot_run_is_refused_naming_the_step(runtime, arguments, words):
    with pytest.raises(Refusal, match=words.replace("(", r"\(").replace(")", r"\)")):
        bound(chain.ENDPOINTS[0], runtime)(*arguments)
    assert runtime.cache.load_count == 0, "before any model work"


def test_a_step_that_fails_names_its_step_and_says_why_in_the_callers_language(runtime):
    from demos.endpoints import shown_error

    text = "\n".join(["Hello."] * 65)  # sentiment reads at most 64 lines; the translation keeps them
    with pytest.raises(Refusal) as refused:
        bound(chain.ENDPOINTS[0], runtime)("translation → sentiment", text, None, None, "en", "zh")
    assert refused.value.text("en").startswith("Step 2 (Sentiment) failed: ")
    assert shown_error(refused.value, "zh").startswith("⚠ 第 2 步（情感分析）失败：")


def kept(history, number, text="Angela lives in Paris."):
    answer = ({"text": text, "entities": []}, [["Angela", "PER", 0.9, 0, 6], ["Paris", "LOC", 0.8, 16, 21]])
    return workbench.remembered(history, demos.ner.ENDPOINTS[0], "dslim/bert-base-NER",
                                {"text": text, "model": "dslim/bert-base-NER", "custom_model": "someone/model"},
                                answer, 0.25)


def test_a_history_keeps_the_last_results_and_downloads_them():
    history = []
    for number in range(workbench.MAX_KEPT + 5):
        history = kept(history, number, f"Angela lives in Paris ({number}).")
    assert len(history) == workbench.MAX_KEPT and history[0].number == 6 and history[-1].number == 55
    entry = history[-1]
    assert entry.row()[2:5] == ["ner", "dslim/bert-base-NER", "Angela lives in Paris (54)."]
    assert workbench.zip_of(history) == workbench.zip_of(history), "looked at again, nothing new is written"
    assert len({entry.folder for entry in history}) == 1 and history[0].folder != kept([], 0)[0].folder, \
        "one folder per session, named at random"
    with zipfile.ZipFile(workbench.zip_of(history)) as archive:
        names = archive.namelist()
        assert names[0] == "results.json" and len(names) == 1 + workbench.MAX_KEPT  # each a CSV; no pictures
        results = json.loads(archive.read("results.json"))
        assert results[-1]["answer"]["table"]["data"][1][:2] == ["Paris", "LOC"]
        assert archive.read("result-55-ner.csv").decode().splitlines()[0] == "entity,type,score,start,end"


def test_a_results_link_holds_its_text_and_settings_and_opening_one_checks_them_as_a_request():
    entry = kept([], 0)[-1]
    link = workbench.link_text(entry)
    query = parse_qs(urlparse(link[link.index("(") + 1:-1]).query)
    assert query == {"run": ["ner"], "text": ["Angela lives in Paris."], "model": ["dslim/bert-base-NER"]}
    runtime, endpoint = ModelRuntime(Settings()), demos.ner.ENDPOINTS[0]
    assert workbench.from_link(runtime, endpoint, "text", "Hello Paris") == "Hello Paris"
    assert workbench.from_link(runtime, endpoint, "text", "x" * 20_000) is None, "too long: left out"
    assert workbench.from_link(runtime, endpoint, "text", "\ud800") is None
    assert workbench.from_link(runtime, endpoint, "model", "someone/else") is None, "not a listed model"
    assert workbench.from_link(runtime, endpoint, "model", "dslim/bert-base-NER") == "dslim/bert-base-NER"
    assert workbench.from_link(runtime, endpoint, "custom_model", "someone/model") is None, "never an id to load"
    detect = demos.object_detection.ENDPOINTS[0]
    assert workbench.from_link(runtime, detect, "threshold", "0.3") == 0.3
    assert workbench.from_link(runtime, detect, "threshold", "7") is None
    assert workbench.from_link(runtime, detect, "image", "/etc/passwd") is None, "never a file"


def test_a_kept_completion_runs_again_and_is_kept_anew(runtime):
    """A streamed answer (the completion) is kept once whole, and Run again keeps it again."""
    import gradio as gr

    from demos import text_generation

    with gr.Blocks():
        bench = workbench.Workbench(runtime)
        with gr.Tabs() as bench.tabs:
            building = bench.open()
            with gr.Tab("text"):
                text_generation.build(runtime)
            bench.close(building)
    served = bench.served["complete"]
    keep = bench.keeping(served.endpoint, served.handler)
    parts = list(keep("Once upon a time", None, "", 4, 0.0, 0.9, 1, [], lambda *_, **__: None))
    history = parts[-1][-1]
    assert [entry.api_name for entry in history] == ["complete"] and history[0].outcome.text.startswith("Once")
    history, rows, *_ = bench.run_again(history, 1)
    assert [entry.number for entry in history] == [1, 2] and [row[0] for row in rows] == [2, 1]
    assert history[1].outcome.text == history[0].outcome.text, "temperature 0: the same completion"
