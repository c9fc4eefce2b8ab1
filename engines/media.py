"""Uploaded files -> model-ready inputs, with the checks that keep bad files from reaching a model."""
from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engines.refusal import refuse

MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels: any real photo; refuses decompression bombs before decoding
# A 360° panorama is about 8:1. Beyond 20:1 a picture is a strip, and scaling its short side up to a model's
# input asks for its long side times that scale: a 100,000x1 PNG (300 KB) would become 19.7 GB at 256 px.
MAX_ASPECT_RATIO = 20


def upload_folder() -> Path:
    """Where Gradio keeps uploads (its gradio.utils.get_upload_folder, without importing gradio here)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def client_file(value) -> Path | None:
    """The file a client sent, as a server path; None when it sent none. Only Gradio's uploads are accepted
    (examples are uploads too: Gradio copies them there), whatever shape the value has: a file object with or
    without Gradio's `meta`, or a bare path. So no request can make the server read a file of its choosing."""
    if isinstance(value, dict):
        value = value.get("path")
    if value is None or value == "":
        return None
    not_an_upload = refuse("refuse_not_an_upload")
    if not isinstance(value, str):
        raise not_an_upload
    try:  # resolve() follows symbolic links: a link inside the folder to a file outside it is not an upload
        path, uploads = Path(value).resolve(), upload_folder()
    except (ValueError, OSError):  # NUL bytes, lone surrogates, names too long
        raise not_an_upload from None
    if not path.is_relative_to(uploads):
        raise not_an_upload
    return path


def drawing_file(value) -> Path | None:
    """The file of a sketchpad's value: its composite (the strokes on their background), else its background;
    or of a plain upload."""
    if isinstance(value, dict) and ("composite" in value or "background" in value):
        value = value.get("composite") or value.get("background")
    return client_file(value)


FRAME_TYPES = ("image/jpeg", "image/png", "image/webp")


def data_url_image(value, decode_at_least: int | None = None) -> Image.Image:
    """The picture of a webcam frame as the page streams it: `{"url": "data:image/jpeg;base64,..."}` (or the bare
    URL), decoded with open_image's checks. Only data URLs: no address a client names is ever fetched."""
    import base64
    import binascii

    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str) or not url.startswith("data:"):
        raise refuse("refuse_not_a_frame")
    header, _, payload = url.partition(",")
    if header.removeprefix("data:").removesuffix(";base64") not in FRAME_TYPES or not header.endswith(";base64"):
        raise refuse("refuse_not_a_frame")
    try:
        picture = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise refuse("refuse_unreadable_image") from None
    return open_image(io.BytesIO(picture), decode_at_least)


def upload_path(upload: Path | str | None) -> Path:
    """The file to read (a client's, as `client_file` vetted it, or the server's own examples)."""
    if not upload:
        raise refuse("refuse_no_upload")
    return Path(upload)


def open_image(upload, decode_at_least: int | None = None) -> Image.Image:
    """An RGB image, upright as its EXIF says; refuses non-images, corrupt files and oversized images.

    `decode_at_least`: the shorter side the caller will scale the image to. A JPEG much larger than that is
    then decoded at 1/2, 1/4 or 1/8 of its size, keeping both sides at least twice it (the margin Pillow's
    thumbnail keeps), in a fraction of the time of a full decode."""
    megapixels = MAX_IMAGE_PIXELS // 1_000_000
    source = upload if isinstance(upload, (Image.Image, io.BytesIO)) else upload_path(upload)
    unreadable = refuse("refuse_unreadable_image")
    too_large = refuse("refuse_image_too_large", megapixels=megapixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:  # Image.open reads the header only: the size is checked before any pixel is decoded
            image = source if isinstance(source, Image.Image) else Image.open(source)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise unreadable from None
        check_image_size(image.width, image.height, decode_at_least)
        opened_here = image is not source
        if opened_here and decode_at_least:
            image.draft(None, (2 * decode_at_least, 2 * decode_at_least))
        try:
            image.load()
        except (OSError, SyntaxError, ValueError):
            raise unreadable from None
    if opened_here:  # our own image: turned in place, without a copy (36 MB for a 12-megapixel photo)
        ImageOps.exif_transpose(image, in_place=True)
    else:  # the caller's image stays as it was
        image = ImageOps.exif_transpose(image)
    return to_rgb(image)


def check_image_size(width: int, height: int, scaled_side: int | None = None) -> None:
    """Refuses, before any pixel is decoded, an image over MAX_IMAGE_PIXELS, a strip over MAX_ASPECT_RATIO, and
    one whose short side scaled to `scaled_side` (what the caller's model takes) would be over MAX_IMAGE_PIXELS."""
    megapixels = MAX_IMAGE_PIXELS // 1_000_000
    if width * height > MAX_IMAGE_PIXELS:
        raise refuse("refuse_image_pixels", width=width, height=height, megapixels=megapixels)
    short, long = sorted((width, height))
    if long > MAX_ASPECT_RATIO * short:
        raise refuse("refuse_image_strip", width=width, height=height, max_ratio=MAX_ASPECT_RATIO)
    if scaled_side and scaled_side * scaled_side * long / short > MAX_IMAGE_PIXELS:
        raise refuse("refuse_image_scaled_too_large", width=width, height=height, megapixels=megapixels)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode as 8-bit RGB: transparency over white, 16/32-bit and float scaled to their range."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


SAMPLE_RATE = 16_000
MAX_AUDIO_SECONDS = 600
MAX_DECODED_AUDIO_MB = 256  # 10 minutes of 48 kHz stereo fit; 10 minutes of 8-channel 96 kHz do not
SILENCE_PEAK = 1e-3  # below this peak amplitude (full scale 1.0) there is nothing to hear


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Any PCM array (int16/int32/float, mono or channels-last) as mono float32 in [-1, 1], at its own rate."""
    samples = np.asarray(samples)
    if samples.dtype.kind in "iu":
        info = np.iinfo(samples.dtype)
        samples = (samples.astype(np.float64) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    samples = samples.astype(np.float32)
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Any PCM array (see to_mono) as mono float32 in [-1, 1] at 16 kHz."""
    samples = to_mono(samples)
    if sample_rate != SAMPLE_RATE and samples.size:
        import librosa  # imported on first audio request only: it is slow to import

        samples = librosa.resample(samples, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    return samples.astype(np.float32)


def check_audio_size(frames: int, sample_rate: float, channels: int, max_seconds: float = MAX_AUDIO_SECONDS) -> None:
    """Refuses audio over `max_seconds`, or over MAX_DECODED_AUDIO_MB once decoded (float32, every channel)."""
    seconds = frames / sample_rate if sample_rate else 0
    if seconds > max_seconds:
        if max_seconds < 60:
            raise refuse("refuse_audio_chunk_too_long", seconds=seconds, max_seconds=max_seconds)
        raise refuse("refuse_audio_too_long", minutes=seconds / 60, max_minutes=round(max_seconds / 60))
    decoded_mb = frames * channels * 4 / 2**20
    if decoded_mb > MAX_DECODED_AUDIO_MB:
        raise refuse("refuse_audio_too_large", size_mb=decoded_mb, channels=channels, rate=sample_rate,
                     max_mb=MAX_DECODED_AUDIO_MB)


class StreamResampler:
    """A live stream's chunks as mono float32 16 kHz samples, resampled as one signal (soxr's stream): chunks
    resampled one by one would each start and end with the filter's edge, ten times a second."""

    def __init__(self):
        self._stream, self._rate = None, None

    def __call__(self, upload, max_seconds: float) -> np.ndarray:
        samples, rate = read_audio(upload, max_seconds, silence_refused=False, keep_rate=True)
        if self._rate is None:
            import soxr

            self._rate = rate
            self._stream = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, "float32")
        if rate != self._rate:
            raise refuse("refuse_audio_chunk_rate", rate=rate, first=self._rate)
        return samples if self._stream is None else self._stream.resample_chunk(samples)


def read_audio(upload, max_seconds: float = MAX_AUDIO_SECONDS, silence_refused: bool = True,
               keep_rate: bool = False):
    """Mono float32 16 kHz samples of an upload or a (sample_rate, array) pair, at most `max_seconds`; refuses what
    holds no speech, unless `silence_refused` is False (a live stream's chunk may be a pause). `keep_rate`: mono
    float32 samples at the file's own rate, and that rate."""
    if isinstance(upload, tuple):
        sample_rate, samples = upload
    else:
        import soundfile

        path = upload_path(upload)
        try:
            header = soundfile.info(path)  # the duration and size, before a sample is decoded
            check_audio_size(header.frames, header.samplerate, header.channels, max_seconds)
            samples, sample_rate = soundfile.read(path, always_2d=True, dtype="float32")
        except (soundfile.LibsndfileError, RuntimeError, OSError, TypeError):
            raise refuse("refuse_unreadable_audio") from None
        samples = samples if samples.shape[1] > 1 else samples[:, 0]
    if not np.all(np.isfinite(samples)):
        raise refuse("refuse_audio_not_finite")
    check_audio_size(len(samples), sample_rate, samples.shape[1] if samples.ndim > 1 else 1, max_seconds)
    if keep_rate:
        return to_mono(samples), int(sample_rate)
    audio = to_mono_16k(samples, int(sample_rate))
    if silence_refused and (audio.size == 0 or float(np.abs(audio).max()) < SILENCE_PEAK):
        raise refuse("refuse_no_speech")
    return audio
