"""Tests run offline: no Hub, no analytics. Tiny models are built once per session and loaded by path."""
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pytest  # noqa: E402

from models.runtime import ModelRuntime  # noqa: E402
from models.settings import Settings  # noqa: E402
from tiny_models import make_ner_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_ner_dir(tmp_path_factory) -> Path:
    return make_ner_model(tmp_path_factory.mktemp("tiny-ner"))


@pytest.fixture
def runtime(tiny_ner_dir, tiny_marian_dir, tiny_chat_lm_dir, tiny_resnet_dir, tiny_whisper_dir,
            tiny_instruct_pix2pix_dir) -> ModelRuntime:
    """Every tab pointed at a tiny model (the GANs at the small ones we ship), as `python app.py --model
    TASK=DIR` would."""
    overrides = {
        "ner": tiny_ner_dir, "translation": tiny_marian_dir, "text_generation": tiny_chat_lm_dir,
        "image_classification": tiny_resnet_dir, "speech_to_text": tiny_whisper_dir,
        "gan": "assets:dcgan-digits", "pix2pix": "assets:pix2pix-scenes", "image_editing": tiny_instruct_pix2pix_dir,
    }
    return ModelRuntime(Settings(model_overrides={task: str(path) for task, path in overrides.items()}))


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache, so that no model is "already downloaded"."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.fixture
def connect():
    """Launch an app on a free port and hand back a gradio_client.Client; closed after the test."""
    from gradio_client import Client

    launched = []

    def _connect(app):
        app.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
        launched.append(app)
        return Client(app.local_url, verbose=False, download_files=False)

    yield _connect
    for app in launched:
        app.close()


@pytest.fixture(scope="session")
def tiny_marian_dir(tmp_path_factory) -> Path:
    from tiny_models import make_marian_model

    return make_marian_model(tmp_path_factory.mktemp("tiny-marian-en-zh"))


@pytest.fixture(scope="session")
def tiny_m2m100_dir(tmp_path_factory) -> Path:
    from tiny_models import make_m2m100_model

    return make_m2m100_model(tmp_path_factory.mktemp("tiny-m2m100"))


@pytest.fixture(scope="session")
def tiny_chat_lm_dir(tmp_path_factory) -> Path:
    from tiny_models import make_qwen2_chat_model

    return make_qwen2_chat_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory) -> Path:
    from tiny_models import make_gpt2_model

    return make_gpt2_model(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def tiny_resnet_dir(tmp_path_factory) -> Path:
    from tiny_models import make_torchvision_classifier

    return make_torchvision_classifier(tmp_path_factory.mktemp("random-resnet18"))


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory) -> Path:
    from tiny_models import make_vit_classifier

    return make_vit_classifier(tmp_path_factory.mktemp("tiny-vit"))


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory) -> Path:
    from tiny_models import make_whisper_model

    return make_whisper_model(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="session")
def tiny_ctc_dir(tmp_path_factory) -> Path:
    from tiny_models import make_wav2vec2_ctc_model

    return make_wav2vec2_ctc_model(tmp_path_factory.mktemp("tiny-wav2vec2"))


@pytest.fixture(scope="session")
def tiny_instruct_pix2pix_dir(tmp_path_factory) -> Path:
    from tiny_models import make_instruct_pix2pix_pipeline

    return make_instruct_pix2pix_pipeline(tmp_path_factory.mktemp("tiny-instruct-pix2pix"))
