"""Uploaded files -> model-ready inputs, with the checks that keep bad files from reaching a model."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from demos.common import refuse

MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels: any real photo; refuses decompression bombs before decoding


def upload_path(upload) -> Path:
    """The server-side path of an upload, as the handler receives it (a path, or Gradio's file payload)."""
    if isinstance(upload, dict):
        upload = upload.get("path")
    if not upload:
        raise refuse("Please upload a file first.")
    return Path(upload)


def open_image(upload) -> Image.Image:
    """An RGB image, upright as its EXIF says; refuses non-images, corrupt files and oversized images."""
    if isinstance(upload, Image.Image):
        image = upload
    else:
        path = upload_path(upload)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(path)  # reads the header only
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise refuse(
                        f"The image is {image.width:,}×{image.height:,} pixels; at most "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels are accepted."
                    )
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise refuse(f"The image is too large; at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels are accepted.") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise refuse("This file is not an image that can be read (or it is damaged). Try a PNG, JPEG or WebP.") from None
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise refuse(f"The image is too large; at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels are accepted.")
    return to_rgb(ImageOps.exif_transpose(image))


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
    return image.convert("RGB")
