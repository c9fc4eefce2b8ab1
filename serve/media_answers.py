"""What the workers of the media tasks, translation and the GAN answer (serve/contract.py's ANSWERS lists them):
each request is checked with its tab's own parameter checks, and answered by the same `..._here` function the
tab runs in-process, so the hub gives the same answers pointed at a worker as running the model itself.

Media come as the raw bytes of the file (or base64 in `{"inputs", "parameters"}`, as the InferenceClient sends
them when there are parameters) and are read by the tabs' own readers, with their checks. Model work of tabs
that run on a torch thread is handed to one here, as the hub's endpoint does (demos/endpoints.py).
"""
from __future__ import annotations

import base64
import inspect
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from serve import contract


@contextmanager
def media_file(data: bytes) -> Iterator[Path]:
    """The request's bytes as a file for the tab's own reader (it opens files, as it opens uploads)."""
    with tempfile.TemporaryDirectory(prefix="demo-hub-worker-") as folder:
        path = Path(folder) / "input"
        path.write_bytes(data)
        yield path


def checked(endpoint, given: dict, names: dict[str, str]) -> list:
    """The endpoint's inputs `names` (its input -> the contract's name for it) read from `given` and checked by the
    tab's own checks; one not given takes the tab function's default."""
    if not isinstance(given, dict):
        raise contract.BadRequest('"parameters" must be an object')
    defaults = inspect.signature(endpoint.fn).parameters
    values = []
    for name, key in names.items():
        default = defaults[name].default
        values.append(endpoint.params[name].check(given.get(key, None if default is inspect.Parameter.empty
                                                            else default)))
    return values


def png_reply(picture) -> contract.Reply:
    from demos.gan import png_bytes

    return contract.Reply(200, png_bytes(picture), "image/png")


def image_classification(runtime, request: contract.Request):
    """Contract's image-classification: [{label, score}], likeliest first; at most the five the tab shows
    (`top_k`, 1 to 5, default 5)."""
    from demos.image_classification import TASK, TOP_K, classes_here
    from demos.params import Whole

    top_k = Whole("param_top_k", 1, TOP_K).check(request.parameters.get("top_k", TOP_K))
    with media_file(request.inputs) as path:
        scores = classes_here(runtime, runtime.default(TASK), path)
    return [{"label": label, "score": score} for label, score in list(scores.items())[:top_k]]


def digits(runtime, request: contract.Request):
    """Contract's image-classification of a picture of one digit (any picture the tab takes: the field is made
    here, as the tab makes it): [{label: "0".."9", score}], likeliest first, all ten unless `top_k` (1 to 10)."""
    from demos.digits import TASK, digits_here, field_of
    from demos.params import Whole
    from models.digit_network import DIGITS

    top_k = Whole("param_top_k", 1, len(DIGITS)).check(request.parameters.get("top_k", len(DIGITS)))
    with media_file(request.inputs) as path:
        field = field_of(path)
    scores = digits_here(runtime, runtime.default(TASK), field)
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:top_k]
    return [{"label": digit, "score": score} for digit, score in ranked]


def object_detection(runtime, request: contract.Request):
    """Contract's object-detection: [{label, score, box: {xmin, ymin, xmax, ymax}}], likeliest first, those at or
    above `threshold` (0.05 to 1, default 0.5), at most 100. The tab reduces a picture to 1,333 pixels on its long
    side before detecting; boxes are given in the sent picture's pixels (exactly, for one no larger)."""
    from demos.object_detection import ENDPOINTS, TASK, detections_here

    threshold, = checked(ENDPOINTS[0], request.parameters, {"threshold": "threshold"})
    with media_file(request.inputs) as path:
        picture, found = detections_here(runtime, runtime.default(TASK), path)
        width, height = upright_size(path)
    scale_x, scale_y = width / picture.width, height / picture.height
    return [{"label": d.label, "score": d.score,
             "box": {"xmin": min(round(d.box[0] * scale_x), width), "ymin": min(round(d.box[1] * scale_y), height),
                     "xmax": min(round(d.box[2] * scale_x), width), "ymax": min(round(d.box[3] * scale_y), height)}}
            for d in found if d.score >= threshold]


def upright_size(path: Path) -> tuple[int, int]:
    """A picture's size once turned upright as its EXIF says (as the tab's reader turns it)."""
    from PIL import Image

    with Image.open(path) as picture:
        width, height = picture.size
        turned = picture.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (height, width) if turned else (width, height)


def translation(runtime, request: contract.Request):
    """Contract's translation: [{translation_text}] for `inputs`, the tab's own text, from `src_lang` to
    `tgt_lang` (codes of the tab's languages; a model of one pair takes its own pair when they are left out). A
    pair the model lacks is refused in the tab's words."""
    from demos.common import refuse
    from demos.translation import ENDPOINTS, TASK, translation_here

    spec = runtime.default(TASK)
    source, target = spec.pair or (None, None)
    text, = checked(ENDPOINTS[0], {"text": request.inputs}, {"text": "text"})
    source, target = checked(ENDPOINTS[0], {"src_lang": source, "tgt_lang": target, **request.parameters},
                             {"source": "src_lang", "target": "tgt_lang"})
    if source == target:
        raise refuse("refuse_same_languages")
    if spec.pair is not None and spec.pair != (source, target):
        raise refuse("refuse_model_lacks_pair", source=source, target=target)
    return [{"translation_text": translation_here(runtime, spec, text, source, target)}]


def speech_to_text(runtime, request: contract.Request):
    """Contract's automatic-speech-recognition: {text, chunks: [{timestamp: [start, end or null], text}]}, the
    model's own text and chunks (the tab rounds and bounds their times). Parameters: `language` ("auto" or one
    of the tab's codes) and `task` ("transcribe" or "translate"), given as such or, as Hugging Face's Whisper
    endpoints take them, in `generate_kwargs`."""
    from demos.media import read_audio
    from demos.speech_to_text import ENDPOINTS, TASK, transcript_here

    options = request.parameters.get("generate_kwargs") or {}
    if not isinstance(options, dict):
        raise contract.BadRequest('"generate_kwargs" must be an object')
    language, task = checked(ENDPOINTS[0], {**options, **request.parameters}, {"language": "language",
                                                                                "task": "task"})
    with media_file(request.inputs) as path:
        samples = read_audio(path)
    text, chunks = runtime.torch_threads.run(transcript_here, runtime, runtime.default(TASK), samples, language, task)
    return {"text": text, "chunks": [{"timestamp": [start, end], "text": words} for start, end, words in chunks]}


def pix2pix(runtime, request: contract.Request):
    """Contract's image-to-image: the U-Net's 256x256 picture (PNG) for a drawing or photo."""
    from demos.pix2pix import TASK, picture_from, pix2pix_here, unet_picture

    with media_file(request.inputs) as path:
        picture = unet_picture(picture_from(path))
    return png_reply(runtime.torch_threads.run(pix2pix_here, runtime, runtime.default(TASK), picture))


def image_editing(runtime, request: contract.Request):
    """Contract's image-to-image with a prompt: the photo edited as `prompt` says (PNG, at most 512 pixels on its
    long side). Parameters as the tab's: `num_inference_steps` (1-100, default 20), `guidance_scale` (the text's,
    1-20, default 7.5), `image_guidance_scale` (1-5, default 1.5), `seed` (default 0)."""
    from demos.image_editing import ENDPOINTS, TASK, edited_here, prepared

    instruction, steps, image_guidance, text_guidance, seed = checked(ENDPOINTS[0], request.parameters, {
        "instruction": "prompt", "steps": "num_inference_steps", "image_guidance": "image_guidance_scale",
        "text_guidance": "guidance_scale", "seed": "seed"})
    with media_file(request.inputs) as path:
        picture = prepared(path)
    return png_reply(runtime.torch_threads.run(edited_here, runtime, runtime.default(TASK), picture, instruction,
                                               steps, image_guidance, text_guidance, seed))


def gan(runtime, request: contract.Request):
    """Our own contract (the Inference API has no GAN sampling): `{"inputs": {"seed", "count"}}` samples `count`
    images (1-64) for `seed`; `{"inputs": {"seed_a", "seed_b", "frames"}}` walks from one seed's latent vector to
    the other's in `frames` images (2-16); absent ones take the tab's defaults. Answers `{"images": [base64 PNG,
    ...]}`, one picture per image (the hub lays them out)."""
    from demos.gan import ENDPOINTS, TASK, frames_here, png_bytes, samples_here
    from models.gan_networks import to_images

    inputs = request.inputs
    if not isinstance(inputs, dict):
        raise contract.BadRequest('"inputs" must be an object: {"seed", "count"} or {"seed_a", "seed_b", "frames"}')
    spec = runtime.default(TASK)
    if {"seed_a", "seed_b", "frames"} & inputs.keys():
        walk = checked(ENDPOINTS[1], inputs, {"seed_a": "seed_a", "seed_b": "seed_b", "frames": "frames"})
        batch = runtime.torch_threads.run(frames_here, runtime, spec, *walk)
    else:
        sampling = checked(ENDPOINTS[0], inputs, {"seed": "seed", "count": "count"})
        batch = runtime.torch_threads.run(samples_here, runtime, spec, *sampling)
    return {"images": [base64.b64encode(png_bytes(image)).decode("ascii") for image in to_images(batch)]}


MEDIA_ANSWERS = {
    # task: (answer, whether its inputs are media bytes)
    "image_classification": (image_classification, True),
    "object_detection": (object_detection, True),
    "digits": (digits, True),
    "translation": (translation, False),
    "speech_to_text": (speech_to_text, True),
    "pix2pix": (pix2pix, True),
    "image_editing": (image_editing, True),
    "gan": (gan, False),
}
