"""Object detection: the COCO objects in a photo, boxed and labelled, with their scores."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from engines import contract
from engines.context import Context
from engines.endpoint import BATCHED, Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from engines.media import client_file, data_url_image, open_image, upload_path
from engines.outcome import Outcome, Table, boxes_agree
from engines.params import PICKED_MODEL, TYPED_MODEL, Real, Upload, Whole
from engines.runtime import ModelRuntime
from models.detection import MAX_DETECTIONS, SCORE_FLOOR, Detection
from tasks import task

TASK = "object_detection"
EXAMPLES = [str(path) for path in task(TASK).example_files()]
# The picture is reduced to this long side before detection: every detector here reads at most 1,333 pixels,
# and the answer's picture (with its boxes drawn) stays a few hundred kilobytes.
MAX_SIDE = 1333
DEFAULT_THRESHOLD, DEFAULT_MAX_BOXES = 0.5, 20
# One colour per class, picked by the label's letters: the same class has the same colour in every picture.
_PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#800000",
            "#469990", "#000075", "#808000"]


def _colour(label: str) -> str:
    return _PALETTE[sum(label.encode()) % len(_PALETTE)]


def draw_boxes(picture: Image.Image, detections: list[Detection]) -> Image.Image:
    """The picture with each detection's box and "label score" drawn on it."""
    drawn = picture.copy()
    draw = ImageDraw.Draw(drawn)
    width = max(2, round(max(picture.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(picture.size) / 45)))
    caption_height = font.getbbox("Ag0.9")[3] + 2 * width  # one line of any caption
    for detection in reversed(detections):  # the likeliest drawn last, on top
        colour = _colour(detection.label)
        x0, y0, x1, y1 = detection.box
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        caption = f"{detection.label} {detection.score:.2f}"
        top = y0 - caption_height if y0 >= caption_height else y0  # above the box, or inside it at the top edge
        draw.rectangle((x0, top, x0 + draw.textlength(caption, font=font) + 2 * width, top + caption_height),
                       fill=colour)
        draw.text((x0 + width, top + width), caption, fill="white", font=font)
    return drawn


class DetectorHere(Engine):
    kind = LOCAL

    def detections(self, image: Path | Image.Image, threshold: float,
                   context: Context) -> tuple[Image.Image, list[Detection]]:
        """The picture as the detector read it (at most MAX_SIDE) and all its detections, likeliest first, with the
        requests that wait with it (each keeps those that reach its own threshold: `reaching`)."""
        detector = self.runtime.load(self.spec, context)
        picture = open_image(image, decode_at_least=detector.input_side)
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
        return picture, self.runtime.run_batched(self.spec, picture, detector.detect)


class DetectorRemote(Engine):
    kind = REMOTE

    def detections(self, image: Path | Image.Image, threshold: float,
                   context: Context) -> tuple[Image.Image, list[Detection]]:
        """The picture as sent and the engine's detections that reach `threshold`, likeliest first."""
        # Decoded in full (the engine's detector, which a large JPEG's reduced decoding depends on, is not known
        # here), reduced as for a detector here, and sent losslessly: the engine detects on this very picture.
        picture = open_image(image)
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
        sent = contract.png_bytes(picture)
        return picture, self.backend.call(
            lambda client: detections_of(client.object_detection(sent, threshold=threshold)),
            context.progress, context.deadline)


def detections_of(answer) -> list[Detection]:
    """The contract's [{label, score, box: {xmin, ymin, xmax, ymax}}] as detections, in the engine's order."""
    return [Detection(str(item.label), float(item.score),
                      (int(item.box.xmin), int(item.box.ymin), int(item.box.xmax), int(item.box.ymax)))
            for item in answer]


KINDS = {LOCAL: DetectorHere, REMOTE: DetectorRemote}


def reaching(found: list[Detection], threshold: float) -> list[Detection]:
    """The detections whose score reaches the threshold, in their order."""
    return [d for d in found if d.score >= threshold]


def shown(picture: Image.Image, found: list[Detection], threshold: float, max_boxes: int):
    """The picture with the boxes that reach the threshold drawn (at most max_boxes), and their table rows."""
    kept = reaching(found, threshold)[:max_boxes]
    return draw_boxes(picture, kept), [[d.label, d.score, *d.box] for d in kept]


def detect(runtime: ModelRuntime, image, model=None, custom_model=None, threshold=DEFAULT_THRESHOLD,
           max_boxes=DEFAULT_MAX_BOXES, context: Context | None = None) -> tuple[Image.Image, list[list]]:
    """The picture with its boxes drawn, and one table row per object. Requests waiting together share one
    forward pass; each keeps the boxes that reach its own threshold."""
    image = upload_path(image)  # no photo is refused before any load
    engine = runtime.engine(TASK, model, custom_model)
    return runtime.remembered(engine.spec, ("detect", image, threshold, max_boxes),
                              lambda: shown(*engine.detections(image, threshold, runtime.context(context)),
                                            threshold, max_boxes))


LIVE_SIDE = 640  # a webcam frame is reduced to this long side: boxes at the rate the camera sends, on a CPU


def detect_frame(runtime: ModelRuntime, frame, model=None, custom_model=None, threshold=DEFAULT_THRESHOLD,
                 max_boxes=DEFAULT_MAX_BOXES, context: Context | None = None) -> tuple[Image.Image, list[list]]:
    """A webcam frame (a data URL, as the page streams it) with its boxes drawn, and their table rows. Frames wait
    for no one: the page's live stream sends the newest frame once this one is answered, so stale ones are
    dropped, never queued."""
    picture = data_url_image(frame)
    picture.thumbnail((LIVE_SIDE, LIVE_SIDE))
    engine = runtime.engine(TASK, model, custom_model)
    return shown(*engine.detections(picture, threshold, runtime.context(context)), threshold, max_boxes)


def detect_objects(runtime: ModelRuntime, image: dict, model: str | None = None, custom_model: str | None = None,
                   threshold: float = DEFAULT_THRESHOLD, max_boxes: int = DEFAULT_MAX_BOXES,
                   context: Context | None = None):
    """Find the objects of the 80 COCO classes (people, vehicles, animals, furniture...) in a photo; returns the
    photo with labelled boxes and a table of them (label, score, box corners in the returned photo's pixels).

    Args:
        image: the photo (PNG, JPEG, WebP...; at most 40 megapixels); it is reduced to 1,333 pixels on its long side.
        model: a listed model, e.g. torchvision:ssdlite320_mobilenet_v3_large:COCO_V1 or PekingU/rtdetr_r18vd.
        custom_model: optional Hugging Face id of another object-detection model.
        threshold: the lowest score a box is shown with, from 0.05 to 1.
        max_boxes: at most this many boxes, the likeliest first, from 1 to 100.
    """
    return detect(runtime, client_file(image), model, custom_model, threshold, max_boxes, context)


def read_boxes(answer) -> Outcome:
    """The boxes counted by label ("2 × person, 1 × dog"), their table and the boxed picture."""
    picture, rows = answer
    counts = Counter(row[0] for row in rows)
    return Outcome(", ".join(f"{count} × {label}" for label, count in counts.most_common()),
                   Table(["label", "score", "x0", "y0", "x1", "y1"], rows), picture)


ENDPOINTS = (Endpoint("detect_objects", detect_objects, TASK,
                      {"image": Upload("param_image", required=True), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL,
                       "threshold": Real("param_score_threshold", SCORE_FLOOR, 1.0),
                       "max_boxes": Whole("param_max_boxes", 1, MAX_DETECTIONS)}, run=BATCHED,
                      sample=lambda model: (Path(EXAMPLES[0]), model, "", DEFAULT_THRESHOLD, DEFAULT_MAX_BOXES),
                      reads=read_boxes, agreement=boxes_agree),)

MEDIA_INPUTS = True


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's object-detection: [{label, score, box: {xmin, ymin, xmax, ymax}}], likeliest first, those at or
    above `threshold` (0.05 to 1, default 0.5), at most 100. The tab reduces a picture to 1,333 pixels on its long
    side before detecting; boxes are given in the sent picture's pixels (exactly, for one no larger)."""
    threshold, = contract.checked(ENDPOINTS[0], request.parameters, {"threshold": "threshold"})
    with contract.media_file(request.inputs) as path:
        picture, found = runtime.engine(TASK).detections(path, threshold, context)
        width, height = upright_size(path)
    scale_x, scale_y = width / picture.width, height / picture.height
    return [{"label": d.label, "score": d.score,
             "box": {"xmin": min(round(d.box[0] * scale_x), width), "ymin": min(round(d.box[1] * scale_y), height),
                     "xmax": min(round(d.box[2] * scale_x), width), "ymax": min(round(d.box[3] * scale_y), height)}}
            for d in reaching(found, threshold)]


def upright_size(path: Path) -> tuple[int, int]:
    """A picture's size once turned upright as its EXIF says (as the engine's reader turns it)."""
    with Image.open(path) as picture:
        width, height = picture.size
        turned = picture.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (height, width) if turned else (width, height)
