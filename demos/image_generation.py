"""GAN / pix2pix: sample digits from a DCGAN, walk between two seeds, turn a line drawing into a picture with
a pix2pix U-Net, and edit a photo by instruction with InstructPix2Pix (diffusers, GPU recommended)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos.common import (
    clean_text,
    message_area,
    model_picker,
    on_device,
    progress_callback,
    refuse,
    require_number,
    serve,
    whole_number,
)
from demos.i18n import ui_text
from demos.media import MAX_IMAGE_PIXELS, client_file, open_image
from models.gan import Pix2PixUNet, image_grid, to_images
from models.runtime import ModelRuntime
from models.torch_threads import runs_on_torch_thread

TASK = "image_generation"  # the tab; its models belong to the tasks below
GAN, PIX2PIX, EDITING = "gan", "pix2pix", "image_editing"
TITLE, TITLE_ZH = "GAN / pix2pix", "GAN / pix2pix"
MAX_SEED = 2**31 - 1
MAX_IMAGES = 64
MAX_FRAMES = 16
MAX_STEPS = 100
MAX_INSTRUCTION_CHARS = 500
EDIT_SIDE = 512  # Stable Diffusion 1.5's native resolution: larger inputs are scaled down to it
SKETCHES = sorted(str(p) for p in (Path(__file__).parent.parent / "assets/examples/sketches").glob("*.png"))
PHOTOS = sorted(str(p) for p in (Path(__file__).parent.parent / "assets/examples/images").glob("*.jpg"))


def latents(seed: int, count: int, dim: int) -> torch.Tensor:
    """`count` latent vectors (count, dim, 1, 1) drawn from N(0, 1) by their own generator: same seed, same images."""
    return torch.randn(count, dim, 1, 1, generator=torch.Generator().manual_seed(seed))


def slerp(a: torch.Tensor, b: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """Points on the great circle from a to b: Gaussian latents keep their typical length along the way,
    where a straight line would pass through unlikely, too-short vectors in the middle."""
    a_flat, b_flat = a.flatten(), b.flatten()
    cos = torch.dot(a_flat, b_flat) / (a_flat.norm() * b_flat.norm())
    angle = torch.arccos(cos.clamp(-1.0, 1.0))
    if angle.abs() < 1e-4:  # (nearly) the same direction: a straight line is the same path
        weights_a, weights_b = 1 - fractions, fractions
    else:
        weights_a, weights_b = torch.sin((1 - fractions) * angle) / torch.sin(angle), torch.sin(fractions * angle) / torch.sin(angle)
    return weights_a.view(-1, 1, 1, 1) * a + weights_b.view(-1, 1, 1, 1) * b


def _generate(generator, noise: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        parameter = next(generator.parameters())
        return generator(noise.to(device=parameter.device, dtype=parameter.dtype))


@runs_on_torch_thread
def sample_grid(runtime: ModelRuntime, seed, count, model=None, custom_model=None, progress=None) -> Image.Image:
    """`count` samples of the DCGAN from one seed, as a grid."""
    seed = whole_number(seed, 0, MAX_SEED, "seed", "种子")
    count = whole_number(count, 1, MAX_IMAGES, "number of images", "图像数量")
    generator = runtime.load(runtime.spec(GAN, model, custom_model), progress)
    images = _generate(generator, latents(seed, count, generator.latent_dim))
    return image_grid(images, columns=min(count, 8))


@runs_on_torch_thread
def interpolation_strip(runtime: ModelRuntime, seed_a, seed_b, frames, model=None, custom_model=None,
                        progress=None) -> Image.Image:
    """`frames` images along the way from seed A's latent vector to seed B's, in one row."""
    seed_a = whole_number(seed_a, 0, MAX_SEED, "first seed", "第一个种子")
    seed_b = whole_number(seed_b, 0, MAX_SEED, "second seed", "第二个种子")
    frames = whole_number(frames, 2, MAX_FRAMES, "number of frames", "帧数")
    generator = runtime.load(runtime.spec(GAN, model, custom_model), progress)
    dim = generator.latent_dim
    path = slerp(latents(seed_a, 1, dim), latents(seed_b, 1, dim), torch.linspace(0, 1, frames))
    return image_grid(_generate(generator, path), columns=frames)


def drawing_file(value) -> Path | None:
    """The file of a sketchpad's value: its composite (the strokes on their background), else its background."""
    if isinstance(value, dict) and ("composite" in value or "background" in value):
        value = value.get("composite") or value.get("background")
    return client_file(value)


def picture_from(drawing) -> Image.Image:
    """The picture of a drawing or upload (transparent parts white)."""
    if not drawing:
        raise refuse("Please draw something or upload a picture first.", "请先画点什么或上传一张图片。")
    picture = open_image(drawing)
    pixels = np.asarray(picture.convert("L"))
    if int(pixels.max()) - int(pixels.min()) < 16:
        raise refuse("The drawing is empty: draw some lines (black on white) or upload a picture.",
                     "画板是空的：请画几条线（白底黑线）或上传一张图片。")
    return picture


def to_unet_input(picture: Image.Image) -> torch.Tensor:
    """As the huggan pix2pix checkpoints were trained: 256x256 bicubic, RGB in [-1, 1], shape (1, 3, 256, 256)."""
    side = Pix2PixUNet.SIDE
    pixels = np.asarray(picture.convert("RGB").resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32)
    return torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0) / 127.5 - 1


@runs_on_torch_thread
def translate_image(runtime: ModelRuntime, value, model=None, custom_model=None, progress=None) -> Image.Image:
    """The pix2pix U-Net's picture for a drawing or photo (256x256)."""
    picture = picture_from(value)
    generator = runtime.load(runtime.spec(PIX2PIX, model, custom_model), progress)
    return to_images(_generate(generator, to_unet_input(picture)))[0]


def edit_size(width: int, height: int) -> tuple[int, int]:
    """At most EDIT_SIDE on the long side, both sides multiples of 8 (the VAE works on 8x8 blocks)."""
    scale = min(1.0, EDIT_SIDE / max(width, height))
    return max(64, round(width * scale / 8) * 8), max(64, round(height * scale / 8) * 8)


def check_guidance(value, low: float, high: float, name: str, chinese_name: str) -> float:
    number = float(require_number(value, name, chinese_name))
    if not low <= number <= high:
        raise refuse(f"The {name} must be between {low:g} and {high:g}.", f"{chinese_name}必须在 {low:g} 到 {high:g} 之间。")
    return number


@runs_on_torch_thread
def edit(runtime: ModelRuntime, image, instruction, steps=20, image_guidance=1.5, text_guidance=7.5, seed=0,
         model=None, custom_model=None, progress=None) -> Image.Image:
    """The photo changed as the instruction says (InstructPix2Pix)."""
    picture = open_image(image)  # first, as the page asks for it first: an empty form hears of the photo
    instruction = clean_text(instruction, MAX_INSTRUCTION_CHARS)
    steps = whole_number(steps, 1, MAX_STEPS, "number of steps", "步数")
    image_guidance = check_guidance(image_guidance, 1.0, 5.0, "image guidance", "图像引导强度")
    text_guidance = check_guidance(text_guidance, 1.0, 20.0, "text guidance", "文本引导强度")
    seed = whole_number(seed, 0, MAX_SEED, "seed", "种子")
    picture = picture.resize(edit_size(*picture.size), Image.Resampling.LANCZOS)
    editor = runtime.load(runtime.spec(EDITING, model, custom_model), progress)

    def report_step(pipeline, step, timestep, tensors):
        if progress is not None:
            progress((step + 1) / steps, f"Step {step + 1} of {steps}")
        return tensors

    with torch.inference_mode():
        result = editor(
            instruction, image=picture, num_inference_steps=steps, image_guidance_scale=image_guidance,
            guidance_scale=text_guidance, generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=report_step,
        )
    return result.images[0]


def _seed_field(label_key: str, english: str, chinese: str, value: int) -> gr.Number:
    return gr.Number(value=value, precision=0, minimum=0, maximum=MAX_SEED, label=ui_text(label_key, english, chinese))


def _gan_section(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text(
        "gan_intro",
        f"A DCGAN turns random vectors into 64×64 digits. The same seed gives the same images. Up to {MAX_IMAGES} "
        f"images at once; the strip walks from one seed's vector to another's in up to {MAX_FRAMES} frames.",
        f"DCGAN 把随机向量变成 64×64 的数字图像，同一种子得到相同的图像。一次最多 {MAX_IMAGES} 张；"
        f"插值条从一个种子的向量走到另一个种子的向量，最多 {MAX_FRAMES} 帧。",
    ))
    with gr.Row():
        with gr.Column():
            model, custom_model = model_picker(runtime, GAN)
            seed = _seed_field("gan_seed", "Seed", "种子", 0)
            count = gr.Slider(1, MAX_IMAGES, value=16, step=1, label=ui_text("gan_count", "Number of images", "图像数量"))
            generate = gr.Button(ui_text("gan_generate", "Generate", "生成"), variant="primary")
        with gr.Column():
            grid = gr.Image(label=ui_text("gan_samples", "Samples", "样本"), type="pil", format="png", elem_id="gan-output")
    with gr.Row():
        with gr.Column():
            with gr.Row():
                seed_a = _seed_field("gan_seed_a", "From seed", "起始种子", 1)
                seed_b = _seed_field("gan_seed_b", "To seed", "目标种子", 2)
            frames = gr.Slider(2, MAX_FRAMES, value=8, step=1, label=ui_text("gan_frames", "Frames", "帧数"))
            interpolate = gr.Button(ui_text("gan_interpolate", "Interpolate", "插值"))
        with gr.Column():
            strip = gr.Image(label=ui_text("gan_strip", "From one seed to the other", "从一个种子到另一个"),
                             type="pil", format="png", elem_id="gan-interpolation-output")
    message = message_area()

    def generate_gan(model: str, custom_model: str, seed: int, count: int, progress=gr.Progress()):
        """Sample images from a DCGAN generator; returns them as one grid picture.

        Args:
            model: a listed GAN, e.g. huggan/dcgan-mnist or assets:dcgan-digits (bundled, works offline).
            custom_model: optional Hugging Face id of another DCGAN generator (safetensors).
            seed: 0 to 2147483647; the same seed gives the same images.
            count: how many images, 1 to 64.
        """
        return sample_grid(runtime, seed, count, model, custom_model, progress_callback(progress))

    def interpolate_gan(model: str, custom_model: str, seed_a: int, seed_b: int, frames: int,
                        progress=gr.Progress()):
        """Walk from one seed's latent vector to another's; returns the frames in one row.

        Args:
            model: a listed GAN, e.g. huggan/dcgan-mnist or assets:dcgan-digits.
            custom_model: optional Hugging Face id of another DCGAN generator.
            seed_a: the first seed.
            seed_b: the last seed.
            frames: how many images along the way, 2 to 16.
        """
        return interpolation_strip(runtime, seed_a, seed_b, frames, model, custom_model, progress_callback(progress))

    serve(generate.click, generate_gan, [model, custom_model, seed, count], [grid], message, api_name="generate_gan",
          **on_device(runtime))
    serve(interpolate.click, interpolate_gan, [model, custom_model, seed_a, seed_b, frames], [strip], message,
          api_name="interpolate_gan", **on_device(runtime))


def _pix2pix_section(runtime: ModelRuntime) -> None:
    megapixels = MAX_IMAGE_PIXELS // 1_000_000
    gr.Markdown(ui_text(
        "pix2pix_intro",
        f"A pix2pix U-Net paints a picture from a line drawing (black lines on white) or turns one kind of photo into "
        f"another. Draw on the pad or upload a picture (up to {megapixels} megapixels); it is scaled to 256×256. "
        f"The bundled model draws landscapes: try a horizon, a circle on a stick (a tree), a box with a roof.",
        f"pix2pix U-Net 根据线稿（白底黑线）画出图片，或把一种照片变成另一种。在画板上画，或上传图片（最多 "
        f"{megapixels} 百万像素）；图片会缩放到 256×256。内置模型画风景：试试画一条地平线、一根棍上的圆（树）、带屋顶的方框。",
    ))
    with gr.Row():
        with gr.Column():
            sketch = gr.Sketchpad(
                label=ui_text("pix2pix_input", "Drawing or picture", "线稿或图片"), type="filepath",
                sources=("upload", "clipboard"), canvas_size=(512, 512), layers=False, format="png",
                brush=gr.Brush(colors=["#000000"], default_size=3, color_mode="fixed"), height=420, elem_id="pix2pix-input",
            )
            model, custom_model = model_picker(runtime, PIX2PIX)
            run = gr.Button(ui_text("pix2pix_run", "Run pix2pix", "运行 pix2pix"), variant="primary")
        with gr.Column():
            output = gr.Image(label=ui_text("pix2pix_output", "Result", "结果"), type="pil", format="png",
                              elem_id="pix2pix-output")
            message = message_area()
    if SKETCHES:
        gr.Examples(examples=SKETCHES, inputs=[sketch])

    def pix2pix(drawing: dict, model: str, custom_model: str, progress=gr.Progress()):
        """Turn a line drawing (black on white) or a photo into a picture with a pix2pix U-Net (256x256).

        Args:
            drawing: the sketchpad's value ({"background", "layers", "composite"}); its composite is used.
            model: a listed pix2pix model, e.g. huggan/pix2pix-edge2shoes or assets:pix2pix-scenes (works offline).
            custom_model: optional Hugging Face id of another pix2pix U-Net generator (safetensors).
        """
        return translate_image(runtime, drawing_file(drawing), model, custom_model, progress_callback(progress))

    serve(run.click, pix2pix, [sketch, model, custom_model], [output], message, api_name="pix2pix", **on_device(runtime))


def _editing_section(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text(
        "editing_intro",
        f"**GPU recommended.** InstructPix2Pix (Stable Diffusion 1.5, a ~4 GB download) edits a photo as you tell it, "
        f"e.g. “make it winter”. On a CPU one edit takes minutes. Photos are scaled to at most {EDIT_SIDE} pixels "
        f"on the long side; instructions up to {MAX_INSTRUCTION_CHARS} characters; up to {MAX_STEPS} steps.",
        f"**建议使用 GPU。** InstructPix2Pix（Stable Diffusion 1.5，约 4 GB）按你的指令修改照片，例如“变成冬天”。"
        f"在 CPU 上一次修改需要几分钟。照片的长边最多缩放到 {EDIT_SIDE} 像素；指令最多 {MAX_INSTRUCTION_CHARS} 个字符；"
        f"最多 {MAX_STEPS} 步。",
    ))
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ui_text("editing_image", "Photo", "照片"), type="filepath",
                             sources=["upload", "clipboard", "webcam"], height=320)
            instruction = gr.Textbox(label=ui_text("editing_instruction", "Instruction", "指令"),
                                     placeholder=ui_text("editing_hint", "make it look like a watercolor painting", "变成水彩画风格"),
                                     max_lines=3)
            model, custom_model = model_picker(runtime, EDITING)
            with gr.Accordion(ui_text("editing_settings", "Settings", "设置"), open=False):
                steps = gr.Slider(1, MAX_STEPS, value=20, step=1, label=ui_text("editing_steps", "Steps", "步数"))
                image_guidance = gr.Slider(1.0, 5.0, value=1.5, step=0.1, label=ui_text(
                    "editing_image_guidance", "Image guidance (higher: closer to the photo)", "图像引导（越高越接近原图）"))
                text_guidance = gr.Slider(1.0, 20.0, value=7.5, step=0.5, label=ui_text(
                    "editing_text_guidance", "Text guidance (higher: follows the instruction more)", "文本引导（越高越遵循指令）"))
                seed = _seed_field("editing_seed", "Seed", "种子", 0)
            run = gr.Button(ui_text("editing_run", "Edit", "修改"), variant="primary")
        with gr.Column():
            output = gr.Image(label=ui_text("editing_output", "Edited photo", "修改后的照片"), type="pil", format="png",
                              elem_id="image-editing-output")
            message = message_area()
    if PHOTOS:
        examples = gr.Examples(examples=[[PHOTOS[0], "make it look like a watercolor painting"]],
                               inputs=[image, instruction])
        examples.dataset.headers = ["Photo / 照片", "Instruction / 指令"]  # Gradio shows translated labels raw here

    def edit_image(image: dict, instruction: str, model: str, custom_model: str, steps: int, image_guidance: float,
                   text_guidance: float, seed: int, progress=gr.Progress()):
        """Edit a photo as an instruction says, with InstructPix2Pix (diffusers; slow without a GPU).

        Args:
            image: the photo (at most 40 megapixels; scaled to at most 512 pixels on its long side).
            instruction: what to change, e.g. "make it winter" (at most 500 characters).
            model: a listed model, e.g. timbrooks/instruct-pix2pix.
            custom_model: optional Hugging Face id of another InstructPix2Pix pipeline (safetensors).
            steps: denoising steps, 1 to 100.
            image_guidance: 1 to 5; higher stays closer to the photo.
            text_guidance: 1 to 20; higher follows the instruction more.
            seed: 0 to 2147483647.
        """
        return edit(runtime, client_file(image), instruction, steps, image_guidance, text_guidance, seed, model,
                    custom_model, progress_callback(progress))

    serve(run.click, edit_image, [image, instruction, model, custom_model, steps, image_guidance, text_guidance, seed],
          [output], message, api_name="edit_image", **on_device(runtime))


def build(runtime: ModelRuntime) -> None:
    with gr.Tabs():
        with gr.Tab(ui_text("tab_gan", "GAN sampling", "GAN 采样")):
            _gan_section(runtime)
        with gr.Tab(ui_text("tab_pix2pix", "pix2pix", "pix2pix")):
            _pix2pix_section(runtime)
        with gr.Tab(ui_text("tab_image_editing", "Edit by instruction", "按指令修改")):
            _editing_section(runtime)
