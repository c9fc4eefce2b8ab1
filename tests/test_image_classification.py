import io

import numpy as np
import pytest
import torch
from PIL import Image

from engines import image_classification as ic
from engines.media import check_image_size, open_image, to_rgb
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.settings import Settings


def runtime_for(directory):
    return ModelRuntime(Settings(model_overrides={"image_classification": str(directory)}))


def check_top5(result, labels):
    assert len(result) == 5 and set(result) <= set(labels)
    assert all(0 <= p <= 1 for p in result.values()) and sum(result.values()) <= 1.0001
    assert list(result.values()) == sorted(result.values(), reverse=True)


def test_torchvision_resnet_with_real_categories(tiny_resnet_dir):
    rt = runtime_for(tiny_resnet_dir)
    result = ic.classify(rt, ic.EXAMPLES[0])
    classifier = rt.load(rt.default("image_classification"))
    assert len(classifier.labels) == 1000 and "tabby" in classifier.labels
    check_top5(result, classifier.labels)
    ic.classify(rt, ic.EXAMPLES[1])
    assert rt.cache.load_count == 1


def test_torchvision_preprocessing_matches_the_weights_own_transform(tiny_resnet_dir):
    from torchvision.models import get_model_weights

    rt = runtime_for(tiny_resnet_dir)
    classifier = rt.load(rt.default("image_classification"))
    transform = get_model_weights("resnet18")["IMAGENET1K_V1"].transforms()
    pictures = [open_image(path) for path in ic.EXAMPLES]
    batch = classifier.preprocess(pictures)
    reference = torch.stack([transform(picture) for picture in pictures])
    assert batch.shape == reference.shape == (len(pictures), 3, 224, 224)
    one_step = 1 / (255 * min(transform.std))  # an 8-bit rounding of the resized pixels
    assert (batch - reference).abs().max() <= one_step * 1.01
    assert (batch - reference).abs().mean() < one_step / 100
    assert classifier.input_side == 256


def test_hugging_face_vit(tiny_vit_dir):
    rt = runtime_for(tiny_vit_dir)
    check_top5(ic.classify(rt, ic.EXAMPLES[0]), rt.load(rt.default("image_classification")).labels)
    assert rt.load(rt.default("image_classification")).input_side == 32


def test_a_large_photo_is_decoded_at_a_fraction_of_its_size(tiny_resnet_dir, tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.open(ic.EXAMPLES[2]).resize((2400, 1600)).save(photo)
    assert open_image(str(photo)).size == (2400, 1600)
    assert open_image(str(photo), decode_at_least=100).size == (300, 200)  # 1/8: both sides still >= 2 x 100
    assert open_image(str(photo), decode_at_least=256).size == (1200, 800)  # 1/2: 1/4 would leave 400 < 2 x 256
    assert open_image(str(photo), decode_at_least=900).size == (2400, 1600)
    png = tmp_path / "photo.png"
    Image.open(photo).save(png)
    assert open_image(str(png), decode_at_least=256).size == (2400, 1600)  # only JPEG decodes at a scale
    rt = runtime_for(tiny_resnet_dir)
    check_top5(ic.classify(rt, str(photo)), rt.load(rt.default("image_classification")).labels)


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "CMYK", "I;16", "I", "F", "LA", "1"])
def test_every_image_mode_becomes_rgb(mode, tmp_path):
    source = Image.new("RGB", (20, 10), (200, 30, 30))
    if mode == "I;16":
        image = Image.fromarray((np.arange(200).reshape(10, 20) * 300).astype(np.uint16))
    elif mode in ("I", "F"):
        image = Image.fromarray(np.arange(200, dtype=np.float32 if mode == "F" else np.int32).reshape(10, 20))
    else:
        image = source.convert(mode)
    rgb = to_rgb(image)
    assert rgb.mode == "RGB" and rgb.size == (20, 10)
    if mode in ("I;16", "I", "F"):
        assert np.asarray(rgb).max() == 255, "the 16/32-bit range is scaled, not clipped"


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert to_rgb(image).getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_respected(tmp_path):
    image = Image.new("RGB", (30, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90°: stored 30x10, shown 10x30
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    assert open_image(str(path)).size == (10, 30)
    assert open_image(str(path), decode_at_least=2).size == (5, 15)  # decoded at 1/2, then turned upright
    opened = Image.open(path)
    assert open_image(opened).size == (10, 30) and opened.size == (30, 10), "the caller's image is not changed"


def test_corrupt_empty_and_non_image_files_are_refused(tmp_path):
    cases = {"empty.png": b"", "text.png": b"hello, I am not a picture", "cut.png": None}
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "PNG")
    cases["cut.png"] = buffer.getvalue()[:40]
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(Refusal, match="not an image that can be read"):
            open_image(str(tmp_path / name))
    with pytest.raises(Refusal, match="upload a file"):
        open_image(None)


def png_claiming(width, height):
    """A PNG whose header claims width x height RGB pixels, with no pixel data."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(png_claiming(30000, 30000))  # past Pillow's own bomb limit
    with pytest.raises(Refusal, match="too large; at most 40 megapixels"):
        open_image(str(tmp_path / "bomb.png"))


def test_image_over_our_pixel_limit_is_refused_with_its_size(tmp_path):
    (tmp_path / "big.png").write_bytes(png_claiming(7000, 6000))  # 42 MP: under Pillow's limit, over ours
    with pytest.raises(Refusal, match="7,000×6,000 pixels; at most 40 megapixels"):
        open_image(str(tmp_path / "big.png"))


def test_strips_and_pictures_too_large_once_scaled_are_refused_before_decoding(tmp_path):
    (tmp_path / "strip.png").write_bytes(png_claiming(100_000, 1))  # 19.7 GB once its short side is 256 px
    with pytest.raises(Refusal, match="100,000×1 pixels: a strip, not a picture"):
        open_image(str(tmp_path / "strip.png"))
    check_image_size(4_000, 200)  # a 20:1 panorama is a picture
    with pytest.raises(Refusal, match="scaled to this model's input it would be over 40"):
        check_image_size(4_000, 200, scaled_side=2_000)  # 2,000 x 40,000 pixels
