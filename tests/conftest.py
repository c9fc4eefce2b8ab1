"""Tests run offline: no Hub, no analytics. Tiny models are built once per session and loaded by path."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
# A Hugging Face home of the session's own: what the tests convert to CTranslate2 (kept beside the Hub cache) goes
# there, and the user's downloads do not change which model a tab starts on.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="demo-hub-tests-hf-")
atexit.register(shutil.rmtree, os.environ["HF_HOME"], ignore_errors=True)
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
ROOT = Path(__file__).resolve().parent.parent

import pytest  # noqa: E402

from engines.runtime import ModelRuntime  # noqa: E402
from models.settings import Settings  # noqa: E402
from raw_api import serve_here  # noqa: E402
from tasks import TASK_KEYS  # noqa: E402
from tiny_media_models import make_whisper_model  # noqa: E402
from tiny_models import tiny_source  # noqa: E402

# A test that asks for one of these (or for any tiny_* model) builds tiny models or launches a server: the fast
# tier (-m "not slow") leaves it out, as it leaves out the tests marked slow by hand (subprocesses).
SLOW_FIXTURES = {"runtime", "connect", "url", "browser", "playwright"}


def pytest_collection_modifyitems(items):
    for item in items:
        fixtures = set(item.fixturenames)
        if fixtures & SLOW_FIXTURES or any(name.startswith("tiny_") for name in fixtures) \
                or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """task -> its tiny model's source (tests/tiny_models.py), each built once per session, when first asked for."""
    built: dict[str, str] = {}

    def source(task: str) -> str:
        if task not in built:
            built[task] = tiny_source(task, tmp_path_factory.mktemp(f"tiny-{task}"))
        return built[task]

    return source


@pytest.fixture
def runtime(tiny_model) -> ModelRuntime:
    """Every task on its tiny model, as `python app.py --model TASK=DIR` would serve it."""
    return ModelRuntime(Settings(model_overrides={task: tiny_model(task) for task in TASK_KEYS}))


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
        launched.append(app)
        return Client(serve_here(app), verbose=False, download_files=False)

    yield _connect
    for app in launched:
        app.close()


CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "artifacts" / "screenshots"))  # CI keeps them


CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def playwright():
    """Playwright, once per session (a second sync instance cannot start beside the first), for Debian's Chromium
    (never `playwright install`)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium for the browser tests")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright):
    """Debian's Chromium, headless, driven by Playwright."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def url(tiny_model, tiny_m2m100_dir):
    """The whole hub on the tiny models, served on 127.0.0.1; its address. One app per test module, on a runtime
    of its own made as `runtime` makes one: each test opens a page of its own, and none needs a fresh app (models
    are loaded or not, answers cached or not, alike for what the tests check)."""
    import app as hub_app

    # M2M100 translates any pair, so the first example (English to German) works on the tiny model too
    settings = Settings(model_overrides={**{task: tiny_model(task) for task in TASK_KEYS},
                                         "translation": str(tiny_m2m100_dir)})
    app = hub_app.build_app(ModelRuntime(settings))
    yield serve_here(app)
    app.close()


@pytest.fixture(scope="session")
def tiny_m2m100_dir(tmp_path_factory) -> Path:
    from tiny_models import make_m2m100_model

    return make_m2m100_model(tmp_path_factory.mktemp("tiny-m2m100"))


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory) -> Path:
    from tiny_models import make_gpt2_model

    return make_gpt2_model(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory) -> Path:
    from tiny_media_models import make_vit_classifier

    return make_vit_classifier(tmp_path_factory.mktemp("tiny-vit"))


@pytest.fixture(scope="session")
def tiny_ctc_dir(tmp_path_factory) -> Path:
    from tiny_media_models import make_wav2vec2_ctc_model

    return make_wav2vec2_ctc_model(tmp_path_factory.mktemp("tiny-wav2vec2"))


@pytest.fixture(scope="session")
def tiny_ner_dir(tiny_model) -> Path:
    return Path(tiny_model("ner"))


@pytest.fixture(scope="session")
def tiny_marian_dir(tiny_model) -> Path:
    return Path(tiny_model("translation"))


@pytest.fixture(scope="session")
def tiny_chat_lm_dir(tiny_model) -> Path:
    return Path(tiny_model("text_generation"))


@pytest.fixture(scope="session")
def tiny_resnet_dir(tiny_model) -> Path:
    return Path(tiny_model("image_classification"))


@pytest.fixture(scope="session")
def tiny_faster_whisper_dir(tiny_model) -> Path:
    """The speech tab's default engine: Whisper in CTranslate2's format."""
    return Path(tiny_model("speech_to_text"))


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory) -> Path:
    """The same tiny Whisper for transformers (PyTorch), as `openai/whisper-*` are."""
    return make_whisper_model(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="session")
def tiny_instruct_pix2pix_dir(tiny_model) -> Path:
    return Path(tiny_model("image_editing"))


@pytest.fixture(scope="session")
def tiny_overrides(tiny_model, tiny_ctc_dir):
    """Every task on its tiny model, speech on the CTC one (it answers at once), as the raw-API tests serve them."""
    return {**{task: tiny_model(task) for task in TASK_KEYS}, "speech_to_text": str(tiny_ctc_dir)}
