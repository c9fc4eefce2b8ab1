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
def runtime(tiny_ner_dir) -> ModelRuntime:
    return ModelRuntime(Settings(model_overrides={"ner": str(tiny_ner_dir)}))


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
