import shutil

import pytest
from PIL import Image

from command_line import parse_args, settings_from_args
from demos import models_panel
from demos.endpoints import bound
from engines import gan, ner
from engines import object_detection as od
from engines.runtime import ModelRuntime
from models.result_cache import ResultCache, approximate_bytes
from models.settings import Settings
from tasks import TASK_KEYS


def counting(module, method: str = "forward") -> list:
    """Count the calls of a loaded model's method (the calls go through; nothing is replaced)."""
    calls, original = [], getattr(module, method)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    setattr(module, method, counted)
    return calls


def test_least_recently_used_answers_leave_first_and_the_bound_holds():
    cache = ResultCache(max_bytes=3 * approximate_bytes("x" * 1000))
    for key in "abc":
        cache.answer(key, lambda: "x" * 1000)
    cache.answer("a", lambda: pytest.fail("a is kept"))  # a is now the most recently used
    cache.answer("d", lambda: "x" * 1000)  # b leaves
    assert (cache.hits, cache.misses, len(cache)) == (1, 4, 3)
    assert cache.bytes_used <= cache.max_bytes
    computed = []
    cache.answer("b", lambda: computed.append(1) or "x" * 1000)
    assert computed == [1]


def test_an_answer_larger_than_the_cache_is_given_but_not_kept_and_zero_keeps_nothing():
    small = ResultCache(max_bytes=100)
    assert small.answer("big", lambda: "x" * 1000) == "x" * 1000 and len(small) == 0
    off = ResultCache(max_bytes=0)
    assert [off.answer("k", lambda: 1) for _ in range(2)] == [1, 1]
    assert (off.hits, off.misses, len(off)) == (0, 0, 0)


def test_a_picture_is_counted_by_its_pixels():
    assert approximate_bytes(Image.new("RGB", (100, 50))) == 100 * 50 * 3
    assert approximate_bytes((Image.new("L", (10, 10)), {"a": 1.0})) > 100


def test_on_by_default_locally_off_by_default_in_public_and_the_operator_decides():
    assert Settings().result_cache_bytes == 64 * 2**20
    assert Settings(public=True).result_cache_bytes == 0
    assert Settings(public=True, result_cache_mb=8).result_cache_bytes == 8 * 2**20
    assert settings_from_args(parse_args(["--result-cache-mb", "0"])).result_cache_bytes == 0
    assert settings_from_args(parse_args(["--share"])).result_cache_bytes == 0


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "lots"])
def test_a_bad_size_is_refused_in_plain_words(value, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--result-cache-mb", value])
    assert "expected a size in MB from 0 to 1000000" in capsys.readouterr().err


def test_a_repeated_text_skips_the_model_and_a_new_one_does_not(runtime):
    first = ner.ner(runtime, ner.EXAMPLES[0])
    forwards = counting(runtime.load(runtime.default("ner")).model)
    assert ner.ner(runtime, ner.EXAMPLES[0]) == first
    assert forwards == []
    ner.ner(runtime, ner.EXAMPLES[1])
    assert forwards == [1]
    assert (runtime.results.hits, runtime.results.misses) == (1, 2)


def test_a_picture_is_known_by_its_content_and_a_new_setting_is_a_miss(runtime, tmp_path):
    od.detect(runtime, od.EXAMPLES[1], threshold=0.2)
    forwards = counting(runtime.load(runtime.default("object_detection")).model)
    same_picture = shutil.copy(od.EXAMPLES[1], tmp_path / "another-upload.jpg")  # a new path, as every upload has
    od.detect(runtime, str(same_picture), threshold=0.2)
    assert forwards == []
    od.detect(runtime, str(same_picture), threshold=0.3)
    od.detect(runtime, str(same_picture), threshold=0.3, max_boxes=2)
    assert forwards == [1, 1]


def test_a_seeded_gan_sample_is_kept_per_seed(runtime):
    first = gan.generate_gan(runtime, seed=3, count=4)
    forwards = counting(runtime.load(runtime.default("gan")))
    assert gan.generate_gan(runtime, seed=3, count=4).tobytes() == first.tobytes()
    assert forwards == []
    gan.generate_gan(runtime, seed=4, count=4)
    gan.interpolate_gan(runtime, seed_a=3, seed_b=4, frames=4)
    assert len(forwards) == 2


def test_the_same_request_to_another_model_is_a_miss():
    runtime = ModelRuntime(Settings(model_overrides={"ner": "/nowhere/tiny-ner"}))
    override, listed = runtime.choices("ner")[:2]
    answers = iter(["from the override", "from the listed model"])
    assert runtime.remembered(override, ("ner", "text"), lambda: next(answers)) == "from the override"
    assert runtime.remembered(listed, ("ner", "text"), lambda: next(answers)) == "from the listed model"
    assert runtime.remembered(override, ("ner", "text"), lambda: pytest.fail("kept")) == "from the override"


def test_a_refused_request_is_not_kept(runtime):
    with pytest.raises(Exception, match="enter some text"):
        bound(ner.ENDPOINTS[0], runtime)("   ")  # as both the API and the page call it
    assert (runtime.results.misses, len(runtime.results)) == (0, 0)


def test_with_the_cache_off_every_request_runs_the_model(tiny_model):
    runtime = ModelRuntime(Settings(model_overrides={t: tiny_model(t) for t in TASK_KEYS}, result_cache_mb=0))
    ner.ner(runtime, ner.EXAMPLES[0])
    forwards = counting(runtime.load(runtime.default("ner")).model)
    ner.ner(runtime, ner.EXAMPLES[0])
    assert forwards == [1]
    assert "off" in models_panel.summary(runtime)


def test_the_models_tab_shows_hits_and_misses(runtime):
    for _ in range(3):
        ner.ner(runtime, ner.EXAMPLES[0])
    assert "hits 2, misses 1 · answers kept 1" in models_panel.summary(runtime)


def test_served_twice_the_second_answer_is_a_hit_and_the_same(runtime, connect):
    from gradio_client import handle_file

    import app as hub_app

    client = connect(hub_app.build_app(runtime))
    answers = [client.predict(handle_file(od.EXAMPLES[1]), api_name="/detect_objects") for _ in range(2)]
    (first_picture, first_table), (second_picture, second_table) = answers
    assert first_table == second_table and first_table["data"]
    assert Image.open(first_picture["path"]).tobytes() == Image.open(second_picture["path"]).tobytes()
    assert (runtime.results.hits, runtime.results.misses) == (1, 1)


def test_an_upload_that_cannot_be_read_gets_the_tab_own_words(runtime, tmp_path):
    with pytest.raises(Exception, match="not an image that can be read"):
        od.detect(runtime, str(tmp_path / "gone.jpg"))
    assert len(runtime.results) == 0
