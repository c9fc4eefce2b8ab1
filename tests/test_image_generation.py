import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from demos.endpoints import bound
from demos.image_classification import EXAMPLES as PHOTOS
from engines import gan, image_editing, pix2pix
from engines.context import Context
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.diffusion import needs_offload
from models.gan_networks import DCGANGenerator, Pix2PixUNet
from models.settings import Settings

# The huggan checkpoints' parameter names and shapes, written out from their published layout (not from our
# classes): huggan/dcgan-mnist (1 channel, hidden size 64) and huggan/pix2pix-* (RGB, 64 features).
DCGAN_HUB_LAYOUT = {
    "model.0.weight": (100, 512, 4, 4), "model.3.weight": (512, 256, 4, 4), "model.6.weight": (256, 128, 4, 4),
    "model.9.weight": (128, 64, 4, 4), "model.12.weight": (64, 1, 4, 4),
    **{f"model.{i}.{name}": (width,) for i, width in [(1, 512), (4, 256), (7, 128), (10, 64)]
       for name in ("weight", "bias", "running_mean", "running_var")},
    **{f"model.{i}.num_batches_tracked": () for i in (1, 4, 7, 10)},
}
PIX2PIX_HUB_LAYOUT = {
    **{f"down{i}.model.0.weight": shape for i, shape in enumerate(
        [(64, 3), (128, 64), (256, 128), (512, 256), (512, 512), (512, 512), (512, 512), (512, 512)], start=1)},
    **{f"up{i}.model.0.weight": shape for i, shape in enumerate(
        [(512, 512), (1024, 512), (1024, 512), (1024, 512), (1024, 256), (512, 128), (256, 64)], start=1)},
    "final.2.weight": (3, 128), "final.2.bias": (3,),
}


def hub_state_dict(layout: dict) -> dict:
    generator = torch.Generator().manual_seed(0)
    state = {}
    for name, shape in layout.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(100)
        else:
            full = shape + (4, 4) if len(shape) == 2 else shape
            state[name] = torch.randn(full, generator=generator) * 0.02
    return state


@pytest.fixture
def offline_runtime(hf_cache) -> ModelRuntime:
    """No hub model downloaded: the tabs use the weights the project ships."""
    return ModelRuntime()


def test_generators_have_the_documented_shapes():
    assert DCGANGenerator(num_channels=1, hidden_size=8)(torch.randn(3, 100, 1, 1)).shape == (3, 1, 64, 64)
    out = Pix2PixUNet(features=4)(torch.rand(2, 3, 256, 256) * 2 - 1)
    assert out.shape == (2, 3, 256, 256) and out.min() >= -1 and out.max() <= 1


def test_hub_dcgan_checkpoint_loads_strictly_through_the_loader(tmp_path):
    torch.save(hub_state_dict(DCGAN_HUB_LAYOUT), tmp_path / "pytorch_model.bin")  # as the hub repo holds it
    rt = ModelRuntime(Settings(model_overrides={"gan": str(tmp_path)}))
    generator = rt.load(rt.default("gan"))
    assert set(generator.state_dict()) == set(DCGAN_HUB_LAYOUT)
    assert gan.generate_gan(rt, seed=0, count=4).size == (4 * 64 + 3 * 2, 64)


def test_hub_pix2pix_layout_matches_strictly():
    model = Pix2PixUNet()
    state = hub_state_dict(PIX2PIX_HUB_LAYOUT)
    model.load_state_dict(state, strict=True)
    assert Pix2PixUNet.arguments_for(state) == {"in_channels": 3, "out_channels": 3, "features": 64}


def test_generators_load_with_the_hub_mixin(tmp_path):
    Pix2PixUNet(features=4).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["features"] == 4
    assert Pix2PixUNet.from_pretrained(tmp_path, strict=True).down1.model[0].out_channels == 4


def test_bundled_dcgan_is_the_offline_default_and_loads_once(offline_runtime):
    assert offline_runtime.default("gan").bundled
    grid = gan.generate_gan(offline_runtime, seed=7, count=16)
    assert grid.size == (8 * 64 + 7 * 2, 2 * 64 + 2) and grid.mode == "L"
    again, other = gan.generate_gan(offline_runtime, seed=7, count=16), gan.generate_gan(offline_runtime, seed=8, count=16)
    assert np.array_equal(np.asarray(grid), np.asarray(again)), "the same seed gives the same images"
    assert not np.array_equal(np.asarray(grid), np.asarray(other))
    assert offline_runtime.cache.load_count == 1


def test_interpolation_starts_and_ends_at_the_two_seeds(offline_runtime):
    strip = np.asarray(gan.interpolate_gan(offline_runtime, seed_a=3, seed_b=4, frames=5)).astype(int)
    assert strip.shape == (64, 5 * 64 + 4 * 2)
    first, last = (np.asarray(gan.generate_gan(offline_runtime, seed=seed, count=1)).astype(int) for seed in (3, 4))
    assert np.abs(strip[:, :64] - first).max() <= 1 and np.abs(strip[:, -64:] - last).max() <= 1


def test_slerp_keeps_the_latent_length():
    a, b = gan.latents(1, 1, 100), gan.latents(2, 1, 100)
    path = gan.slerp(a, b, torch.linspace(0, 1, 9))
    assert torch.allclose(path[0], a[0], atol=1e-5) and torch.allclose(path[-1], b[0], atol=1e-5)
    norms = path.flatten(1).norm(dim=1)
    assert norms.min() > 0.9 * min(a.norm(), b.norm())


def test_bundled_pix2pix_paints_the_example_sketches(offline_runtime):
    assert offline_runtime.default("pix2pix").bundled and pix2pix.SKETCHES
    picture = pix2pix.translate_image(offline_runtime, pix2pix.SKETCHES[0])
    assert picture.size == (256, 256) and picture.mode == "RGB"
    assert np.asarray(picture).std() > 5, "a scene, not a flat colour"


def sketch_file(tmp_path, image: Image.Image) -> str:
    path = tmp_path / "composite.png"
    image.save(path)
    return str(path)


def test_an_empty_sketch_is_refused(tmp_path):
    with pytest.raises(Refusal, match="empty"):
        pix2pix.picture_from(sketch_file(tmp_path, Image.new("RGBA", (512, 512), (0, 0, 0, 0))))
    with pytest.raises(Refusal, match="draw something"):
        pix2pix.picture_from(pix2pix.drawing_file({"background": None, "layers": [], "composite": None}))


def test_strokes_on_a_transparent_pad_become_black_on_white(tmp_path):
    pad = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    pad.paste((0, 0, 0, 255), (100, 250, 400, 256))
    picture = pix2pix.picture_from(sketch_file(tmp_path, pad))
    assert picture.getpixel((10, 10)) == (255, 255, 255) and picture.getpixel((200, 252)) == (0, 0, 0)
    batch = pix2pix.to_unet_input(picture)
    assert batch.shape == (1, 3, 256, 256) and batch.min() == -1 and batch.max() == 1


def test_training_scripts_run_a_few_steps(tmp_path):
    from training import train_dcgan, train_pix2pix

    assert train_dcgan.main(["--steps", "2", "--batch-size", "4", "--hidden-size", "4", "--out", str(tmp_path / "d")]) == 0
    assert train_pix2pix.main(["--steps", "2", "--batch-size", "1", "--features", "2", "--out", str(tmp_path / "p")]) == 0
    assert DCGANGenerator.from_pretrained(tmp_path / "d", strict=True).latent_dim == 100
    assert Pix2PixUNet.from_pretrained(tmp_path / "p", strict=True)(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 256, 256)


@pytest.mark.slow
def test_quality_script_reports_both_figures(tmp_path):
    from training import quality

    out = tmp_path / "quality.json"
    quality.main(["--samples", "20", "--pairs", "2", "--classifier-steps", "2", "--out", str(out),
                  "--samples-dir", str(tmp_path)])
    results = json.loads(out.read_text())
    assert 0 <= results["dcgan"]["classifier_held_out_accuracy"] <= 1
    assert len(results["dcgan"]["digit_shares_of_recognised"]) == 10
    assert results["pix2pix"]["ratio_to_best_baseline"] > 0
    assert (tmp_path / "pix2pix-scenes.png").exists()


def test_the_committed_quality_figures_meet_the_targets():
    results = json.loads((Path(__file__).parent.parent / "training/quality.json").read_text())
    assert results["dcgan"]["samples"] == 1000 and results["dcgan"]["recognised_share"] >= 0.8
    assert min(results["dcgan"]["digit_shares_of_recognised"]) >= 0.04
    assert results["pix2pix"]["pairs"] == 200 and results["pix2pix"]["ratio_to_best_baseline"] <= 0.5
    student = results["digits_student"]
    assert student["times_fewer_parameters"] >= 5 and student["uci_points_lost"] <= 2 and student["meets_target"]


def test_instruct_pix2pix_runs_two_steps_with_progress(tiny_instruct_pix2pix_dir):
    rt = ModelRuntime(Settings(model_overrides={"image_editing": str(tiny_instruct_pix2pix_dir)}))
    steps = []
    photo = Image.new("RGB", (900, 600), (30, 120, 200))
    context = Context.starting(rt.settings.request_timeout_s, progress=lambda f, m: steps.append(m))
    result = image_editing.edit(rt, photo, "make it red", steps=2, seed=1, context=context)
    assert result.size == image_editing.edit_size(900, 600) == (512, 344)
    assert [m for m in steps if m.startswith("Step")] == ["Step 1 of 2", "Step 2 of 2"]
    again = image_editing.edit(rt, photo, "make it red", steps=2, seed=1)
    assert np.array_equal(np.asarray(result), np.asarray(again)) and rt.cache.load_count == 1


@pytest.mark.parametrize("arguments, words", [
    ({"instruction": ""}, "enter some text"),
    ({"instruction": "x" * 501}, "at most 500"),
    ({"steps": 0}, "from 1 to 100"),
    ({"steps": 10**6}, "from 1 to 100"),
    ({"steps": 2.5}, "whole number"),
    ({"image_guidance": 0}, "between 1 and 5"),
    ({"text_guidance": float("nan")}, "must be a number"),
    ({"seed": -3}, "seed must be a whole number"),
])
def test_edit_settings_are_checked_before_any_model_loads(arguments, words):
    rt = ModelRuntime()
    handler = bound(image_editing.ENDPOINTS[0], rt)  # as both the API and the page call it
    request = {"image": {"path": "any upload"}, "instruction": "make it red", **arguments}
    with pytest.raises(Refusal, match=words):
        handler(**request)
    assert rt.cache.load_count == 0


def test_a_gpu_short_of_memory_offloads_and_a_roomy_one_does_not():
    assert needs_offload(weights_bytes=4 * 2**30, free_accelerator_bytes=5 * 2**30)
    assert not needs_offload(weights_bytes=2 * 2**30, free_accelerator_bytes=20 * 2**30)


def test_the_tab_through_the_api(hf_cache, tiny_instruct_pix2pix_dir, connect):
    from gradio_client import handle_file

    import app as hub_app

    rt = ModelRuntime(Settings(model_overrides={"image_editing": str(tiny_instruct_pix2pix_dir)}))
    client = connect(hub_app.build_app(rt))
    grid = Image.open(client.predict("", "", 5, 4, api_name="/generate_gan")["path"])
    assert grid.size == (4 * 64 + 3 * 2, 64)
    sketch = {"background": None, "layers": [], "composite": handle_file(pix2pix.SKETCHES[1])}
    assert Image.open(client.predict(sketch, "", "", api_name="/pix2pix")["path"]).size == (256, 256)
    photo = next(p for p in PHOTOS if p.endswith("rocket.jpg"))  # 640x427: scaled down to 512 wide
    edited = client.predict(handle_file(photo), "make it red", "", "", 2, 1.5, 7.5, 0, api_name="/edit_image")
    assert Image.open(edited["path"]).size == image_editing.edit_size(640, 427) == (512, 344)


def test_the_hub_default_comes_first_once_downloaded(hf_cache):
    rt = ModelRuntime()
    assert rt.default("pix2pix").source == "assets:pix2pix-scenes"
    assert rt.configured_default("pix2pix").source == "huggan/pix2pix-edge2shoes", "what --download fetches"
    (hf_cache / "models--huggan--pix2pix-edge2shoes" / "snapshots" / "0123abc").mkdir(parents=True)
    assert rt.default("pix2pix").source == "huggan/pix2pix-edge2shoes"
    assert [s.source for s in rt.choices("pix2pix")][-1] == "assets:pix2pix-scenes"


def test_missing_bundled_weights_are_reported_in_plain_words(monkeypatch, tmp_path):
    from models import hub_files
    from models.errors import ModelLoadError

    monkeypatch.setattr(hub_files, "BUNDLED_WEIGHTS", tmp_path)
    rt = ModelRuntime(Settings(model_overrides={"gan": "assets:dcgan-digits"}))
    with pytest.raises(ModelLoadError, match="bundled weights 'assets:dcgan-digits' are missing"):
        rt.load(rt.default("gan"))
