import pytest
from PIL import Image

from demos.endpoints import bound
from demos.object_detection import TABLE_HEADERS
from engines import object_detection as od
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.detection import MAX_DETECTIONS
from models.settings import Settings
from tiny_detectors import coco_categories, make_rtdetr_detector

COCO_CLASSES = set(coco_categories()) - {"__background__", "N/A"}


@pytest.fixture(scope="module")
def tiny_rtdetr_dir(tmp_path_factory):
    return make_rtdetr_detector(tmp_path_factory.mktemp("tiny-rtdetr"))


def check_detections(picture, rows, threshold, max_boxes):
    assert isinstance(picture, Image.Image) and len(rows) <= max_boxes
    for label, score, x0, y0, x1, y1 in rows:
        assert label in COCO_CLASSES
        assert threshold <= score <= 1
        assert 0 <= x0 < x1 <= picture.width and 0 <= y0 < y1 <= picture.height
    assert [row[1] for row in rows] == sorted((row[1] for row in rows), reverse=True)


def test_ssdlite_boxes_are_inside_the_picture_and_labelled_from_coco(runtime):
    picture, rows = od.detect(runtime, od.EXAMPLES[1], threshold=0.05, max_boxes=MAX_DETECTIONS)
    assert picture.size == Image.open(od.EXAMPLES[1]).size
    assert rows, "the tiny SSDlite favours a few classes, so it finds boxes"
    check_detections(picture, rows, 0.05, MAX_DETECTIONS)
    assert picture.tobytes() != Image.open(od.EXAMPLES[1]).convert("RGB").tobytes(), "the boxes are drawn"


def test_threshold_and_box_count_are_honoured_without_a_second_load(runtime):
    _, low = od.detect(runtime, od.EXAMPLES[1], threshold=0.05, max_boxes=MAX_DETECTIONS)
    picture, high = od.detect(runtime, od.EXAMPLES[1], threshold=0.35, max_boxes=MAX_DETECTIONS)
    check_detections(picture, high, 0.35, MAX_DETECTIONS)
    assert len(high) < len(low) and high == [row for row in low if row[1] >= 0.35]
    _, three = od.detect(runtime, od.EXAMPLES[1], threshold=0.05, max_boxes=3)
    assert three == low[:3]
    assert runtime.cache.load_count == 1


def test_requests_waiting_together_share_a_forward_and_keep_their_own_thresholds(runtime):
    from concurrent.futures import ThreadPoolExecutor

    od.detect(runtime, od.EXAMPLES[1])  # loaded first, so that the requests below wait for the forward together
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda t: od.detect(runtime, od.EXAMPLES[1], threshold=t, max_boxes=100)[1],
                                [0.05, 0.2, 0.35, 0.5]))
    for threshold, rows in zip([0.05, 0.2, 0.35, 0.5], answers):
        assert rows == [row for row in answers[0] if row[1] >= threshold]


def test_a_large_photo_is_reduced_and_its_boxes_fit_it(runtime, tmp_path):
    photo = tmp_path / "large.jpg"
    Image.open(od.EXAMPLES[2]).resize((4000, 3000)).save(photo)
    picture, rows = od.detect(runtime, str(photo), threshold=0.05, max_boxes=10)
    assert max(picture.size) <= od.MAX_SIDE
    check_detections(picture, rows, 0.05, 10)


def test_rt_detr_from_transformers(tiny_rtdetr_dir):
    rt = ModelRuntime(Settings(model_overrides={"object_detection": str(tiny_rtdetr_dir)}))
    picture, rows = od.detect(rt, od.EXAMPLES[0], threshold=0.05, max_boxes=MAX_DETECTIONS)
    assert rows, "the tiny RT-DETR favours a few classes, so it finds boxes"
    check_detections(picture, rows, 0.05, MAX_DETECTIONS)
    assert rt.load(rt.default("object_detection")).input_side == 320


@pytest.mark.parametrize("threshold, max_boxes, message", [
    ("high", 20, "lowest score must be a number"), (float("nan"), 20, "must be a number"),
    (0.0, 20, "between 0.05 and 1"), (1.5, 20, "between 0.05 and 1"), (0.5, 0, "whole number from 1 to 100"),
    (0.5, 2.5, "whole number"), (0.5, 10**400, "whole number"), (0.5, None, "number of boxes must be a number"),
])
def test_bad_settings_are_refused_in_plain_words_before_any_load(runtime, threshold, max_boxes, message):
    with pytest.raises(Refusal, match=message):
        # as both the API and the page call it
        bound(od.ENDPOINTS[0], runtime)({"path": od.EXAMPLES[0]}, threshold=threshold, max_boxes=max_boxes)
    assert runtime.cache.load_count == 0


def test_no_photo_and_a_non_image_are_refused(runtime, tmp_path):
    with pytest.raises(Refusal, match="upload a file"):
        od.detect(runtime, None)
    assert runtime.cache.load_count == 0, "no photo is refused before any load"
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(Refusal, match="not an image"):
        od.detect(runtime, str(text))


def test_boxes_are_drawn_with_their_labels():
    picture = Image.new("RGB", (200, 100), "white")
    detections = [od.Detection("cat", 0.9, (10, 5, 90, 95)), od.Detection("dog", 0.6, (100, 40, 190, 90))]
    drawn = od.draw_boxes(picture, detections)
    assert drawn.size == picture.size and picture.getpixel((10, 50)) == (255, 255, 255), "the input is not changed"
    assert drawn.getpixel((10, 50)) != (255, 255, 255) and drawn.getpixel((190, 60)) != (255, 255, 255)


def test_detect_objects_through_the_api(runtime, connect):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    import app as hub_app

    client = connect(hub_app.build_app(runtime))
    model = runtime.default("object_detection").name
    picture, table = client.predict(handle_file(od.EXAMPLES[1]), model, "", 0.05, 5, api_name="/detect_objects")
    assert Image.open(picture["path"]).size == Image.open(od.EXAMPLES[1]).size
    assert table["headers"] == TABLE_HEADERS and 0 < len(table["data"]) <= 5
    assert {row[0] for row in table["data"]} <= COCO_CLASSES
    with pytest.raises(AppError, match="between 0.05 and 1"):
        client.predict(handle_file(od.EXAMPLES[1]), model, "", 7, 5, api_name="/detect_objects")
