"""Tiny models of the real image, speech and diffusion architectures, built offline (tests/tiny_models.py has the
text ones and the table of every task's): random weights, real label names and processors."""
from __future__ import annotations

from pathlib import Path

import torch


def make_torchvision_classifier(directory: Path, architecture: str = "resnet18", weights: str = "IMAGENET1K_V1") -> Path:
    """A torchvision ResNet with random weights but the real ImageNet category list and preprocessing,
    in the hub's local torchvision format (config.json + model.safetensors)."""
    import json

    from safetensors.torch import save_file
    from torchvision import models

    from models.vision import ARCHITECTURE_KEY, WEIGHTS_KEY

    torch.manual_seed(0)
    model = models.get_model(architecture, weights=None, num_classes=1000)
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps({ARCHITECTURE_KEY: architecture, WEIGHTS_KEY: weights}))
    return directory


def make_vit_classifier(directory: Path) -> Path:
    """A 2-layer ViT on 32x32 images with a few ImageNet-style labels and its image processor."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels = ["tabby cat", "espresso", "space shuttle", "goldfish", "banana"]
    config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )
    ViTForImageClassification(config).save_pretrained(directory)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(directory)
    return directory


WHISPER_LANGUAGES = ["en", "zh", "de", "fr"]
EOS_PULL = 0.6


def make_whisper_model(directory: Path) -> Path:
    """A random-weight 2-layer Whisper with a byte-level BPE trained here, its special and timestamp tokens,
    and a generation config of its own (timestamps need no_timestamps_token_id, lang_to_id, task_to_id)."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizer,
    )

    from tiny_models import LM_CORPUS  # the language models' corpus: a vocabulary of ordinary words

    torch.manual_seed(0)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train_from_iterator(LM_CORPUS * 5, trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    trained = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    tokenizer = WhisperTokenizer(vocab=trained["vocab"], merges=merges)
    # Whisper's layout, which faster-whisper relies on: every text token comes before <|endoftext|>.
    specials = ["<|endoftext|>", "<|startoftranscript|>", *[f"<|{code}|>" for code in WHISPER_LANGUAGES], "<|translate|>",
                "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
    tokenizer.add_special_tokens({"additional_special_tokens": specials})
    tokenizer.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(1501)])  # timestamps follow the specials
    ids = tokenizer.convert_tokens_to_ids
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=80, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_source_positions=1500, max_target_positions=448, pad_token_id=ids("<|endoftext|>"),
        bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|endoftext|>"),
        decoder_start_token_id=ids("<|startoftranscript|>"),
    )
    model = WhisperForConditionalGeneration(config)
    with torch.no_grad():  # <|endoftext|> made likely, so that random weights end a text within a few tokens as a
        # trained model does, rather than run each of the decoding's fallbacks to the 448-token limit
        direction = torch.nn.functional.normalize(torch.randn(config.d_model), dim=0)
        model.model.decoder.layer_norm.bias.copy_(direction)
        model.model.decoder.embed_tokens.weight[ids("<|endoftext|>")] = EOS_PULL * direction
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids("<|startoftranscript|>"), eos_token_id=ids("<|endoftext|>"),
        pad_token_id=ids("<|endoftext|>"), bos_token_id=ids("<|endoftext|>"),
        no_timestamps_token_id=ids("<|notimestamps|>"), is_multilingual=True, max_initial_timestamp_index=50,
        lang_to_id={f"<|{code}|>": ids(f"<|{code}|>") for code in WHISPER_LANGUAGES},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        max_length=448, begin_suppress_tokens=[ids("<|endoftext|>")], suppress_tokens=[],
    )
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(directory)
    return directory


def make_ctranslate2_whisper(directory: Path) -> Path:
    """The tiny Whisper above in CTranslate2's format, int8, made by CTranslate2's own converter, as the
    `Systran/faster-whisper-*` models are made from OpenAI's."""
    from ctranslate2.converters import TransformersConverter

    source = make_whisper_model(directory / "transformers")
    converter = TransformersConverter(str(source), copy_files=["tokenizer.json", "preprocessor_config.json"])
    return Path(converter.convert(str(directory / "ctranslate2"), quantization="int8", force=True))


def make_wav2vec2_ctc_model(directory: Path) -> Path:
    """A random-weight 2-layer wav2vec 2.0 CTC model with a character vocabulary, like wav2vec2-base-960h."""
    import json

    from transformers import Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    torch.manual_seed(0)
    directory.mkdir(parents=True, exist_ok=True)
    letters = ["<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONISRHDLUMCWFGYPBVKXJQZ'"]
    (directory / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(letters)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(directory / "vocab.json"), word_delimiter_token="|")
    config = Wav2Vec2Config(
        vocab_size=len(letters), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
        conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, pad_token_id=0, ctc_loss_reduction="mean",
    )
    Wav2Vec2ForCTC(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, return_attention_mask=False).save_pretrained(directory)
    return directory


def _clip_tokenizer():
    """A CLIP BPE tokenizer with characters for words and no merges: tiny, yet the real class; saved with the
    pipeline in its usual files."""
    from transformers import CLIPTokenizer

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'")
    vocab = {token: index for index, token in enumerate(letters + [f"{c}</w>" for c in letters])}
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def make_instruct_pix2pix_pipeline(directory: Path) -> Path:
    """A tiny StableDiffusionInstructPix2PixPipeline (UNet with 8 input channels: noise + image latents), saved
    as diffusers saves the real one."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = _clip_tokenizer()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=77, projection_dim=32, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=8, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8)
    # four blocks: the VAE scales by 8 like Stable Diffusion's, so the UNet works on small latents
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        norm_num_groups=4, sample_size=64)
    pipeline = StableDiffusionInstructPix2PixPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=EulerAncestralDiscreteScheduler(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    out = directory / "pipeline"
    pipeline.save_pretrained(out, safe_serialization=True)
    return out
