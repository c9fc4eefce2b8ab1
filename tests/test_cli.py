"""The command line as its user meets it (issue #15): quick answers, help texts, the model list, the start-up
summary, plain one-line errors, and download advice that fits the failure."""
import os
import re
import socket
import subprocess
import sys
import threading

import pytest

import app as hub_app
import command_line
from benchmarks.serving import free_port
from conftest import ROOT
from engines.runtime import ModelRuntime
from models.errors import ModelUnavailableError
from models.registry import TORCHVISION_CHECKPOINTS
from models.settings import Settings
from tasks import MODEL_SPECS, TASK_KEYS, default_spec, specs_for

HEAVY_MODULES = ("gradio", "torch", "transformers", "demos", "http_guard")


def run_app(*flags, env=None, timeout=60):
    return subprocess.run([sys.executable, "app.py", *flags], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.fixture
def torch_cache(tmp_path, monkeypatch):
    """An empty torch hub cache, so that no torchvision weights are "already downloaded"."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.mark.parametrize("flags", [["--help"], ["--version"], ["--list-models"], ["--port", "not-a-port"]])
def test_quick_commands_answer_without_importing_gradio_or_torch(flags):
    code = (
        "import sys, app\n"
        "try:\n    app.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print('heavy:', sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, *flags], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "heavy: []", out.stderr


@pytest.mark.parametrize("given, for_torch, for_ctranslate2", [(None, "PASSIVE", None), ("ACTIVE", "ACTIVE", "ACTIVE")])
def test_idle_torch_threads_sleep_and_ctranslate2s_spin_unless_the_operator_says(given, for_torch, for_ctranslate2):
    """Set before torch loads (its libgomp reads it then; main() stops at the runtime's import here), and left out
    while CTranslate2 loads its own libgomp."""
    code = ("import os, sys, app\nsys.modules['engines.runtime'] = None\n"
            f"try:\n    app.main(['--port', '{free_port()}'])\nexcept ImportError:\n    pass\n"
            "from models.ctranslate2_models import import_ctranslate2\n"
            "from models.torch_threads import openmp_default_policy\n"
            "with openmp_default_policy():\n    inside = os.environ.get('OMP_WAIT_POLICY')\n"
            "torch_before = 'torch' in sys.modules\nimport_ctranslate2()\n"
            "print(os.environ.get('OMP_WAIT_POLICY'), inside, torch_before, 'ctranslate2' in sys.modules)")
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**env, **({"OMP_WAIT_POLICY": given} if given else {})})
    assert out.stdout.split() == [for_torch, str(for_ctranslate2), "False", "True"], out.stderr


def test_help_gives_every_option_a_text_and_every_value_its_default():
    out = run_app("--help")
    assert out.returncode == 0, out.stderr
    lines = out.stdout[out.stdout.index("options:"):].splitlines()[1:]
    for number, line in enumerate(lines):
        option = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if option and not option.group(2):  # a long option's text starts on the next line
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert re.match(r"^\s{3,}\S", following) and not following.lstrip().startswith("-"), line
    for action in command_line.build_parser()._actions:
        assert action.help, action.option_strings
        if action.nargs != 0:  # switches are off unless given; an option taking a value says what it defaults to
            assert "(default" in action.help, action.option_strings


def test_version_prints_the_hubs_version_and_exits_0():
    out = run_app("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{hub_app.TITLE} {hub_app.__version__} (gradio ")


def _status_column_starts(text: str) -> set[int]:
    table = text.split("\n\n")[0].splitlines()
    statuses = [(line, re.search(r"(?:on this machine|not downloaded).*", line)) for line in table[1:]]
    return {found.start() for line, found in statuses if found}


def test_list_models_with_an_empty_cache_says_what_to_download(hf_cache, torch_cache, capsys):
    assert hub_app.main(["--list-models"]) == 0
    listing = capsys.readouterr().out
    for task in TASK_KEYS:
        default = default_spec(task)
        expected = "on this machine (bundled)" if default.bundled else f"not downloaded: python app.py --download {task}"
        assert re.search(rf"^{task} +\* {re.escape(default.source)} .* {re.escape(expected)}$", listing, re.M), task
        for spec in specs_for(task):
            assert spec.source in listing
    assert re.search(r"^ +assets:dcgan-digits +4 MB  on this machine \(bundled\)$", listing, re.M)
    assert len(_status_column_starts(listing)) == 1  # one aligned status column

    (hf_cache / "models--dslim--bert-base-NER" / "snapshots" / "0123abc").mkdir(parents=True)
    torch_cache.mkdir(parents=True)
    (torch_cache / TORCHVISION_CHECKPOINTS["torchvision:resnet50:IMAGENET1K_V2"]).write_bytes(b"weights")
    assert hub_app.main(["--list-models"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^ner +\* dslim/bert-base-NER +430 MB  on this machine$", listing, re.M)
    assert re.search(r"^image_classification +\* torchvision:resnet50:IMAGENET1K_V2 +98 MB  on this machine$",
                     listing, re.M)


def test_list_models_shows_a_model_override_as_its_tasks_default(hf_cache, torch_cache, tmp_path, capsys):
    assert hub_app.main(["--list-models", "--model", f"ner={tmp_path}", "--model", "translation=someone/opus"]) == 0
    listing = capsys.readouterr().out
    assert re.search(rf"^ner +\* {re.escape(str(tmp_path))} +-  on this machine$", listing, re.M)
    assert re.search(r"^ +dslim/bert-base-NER +430 MB  not downloaded$", listing, re.M)  # listed, no longer starred
    # `--download translation` would fetch the registry's default, not the operator's model
    assert re.search(r"^translation +\* someone/opus +\?  not downloaded: python app.py --download someone/opus$",
                     listing, re.M)


def test_startup_summary_has_one_row_per_tab(hf_cache, torch_cache, tmp_path):
    runtime = ModelRuntime(Settings(device="cpu", model_overrides={"ner": str(tmp_path)}))
    heading, header, *rows = hub_app.startup_summary(runtime).splitlines()
    assert "cpu" in heading and "--list-models" in heading
    assert [row.split()[0] for row in rows] == list(TASK_KEYS)
    by_task = dict(zip(TASK_KEYS, rows))
    assert by_task["ner"].endswith("  on this machine") and str(tmp_path) in by_task["ner"]
    assert by_task["translation"].endswith("not downloaded: python app.py --download translation")
    assert by_task["gan"].endswith("(until then the tab uses assets:dcgan-digits)")
    assert "GPU recommended" in by_task["image_editing"]


@pytest.mark.slow
def test_the_app_prints_the_summary_then_its_own_address_lines(tmp_path):
    port = free_port()
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "TORCH_HOME": str(tmp_path / "torch"),
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, "app.py", "--offline", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(120, server.kill)
    watchdog.start()
    printed = []
    try:
        for line in server.stdout:
            printed.append(line)
            if line.startswith("Add --share"):
                break
    finally:
        watchdog.cancel()
        server.terminate()
        server.wait(timeout=30)
    output = "".join(printed)
    assert output.index("Each tab's default model") < output.index(f"Serving on http://127.0.0.1:{port}/")
    assert "not downloaded: python app.py --download ner" in output
    assert "share=True" not in output and "Traceback" not in output


def test_a_model_directory_that_does_not_exist_is_refused_at_once(capsys):
    with pytest.raises(SystemExit) as exited:
        hub_app.parse_args(["--model", "ner=./nope"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "'./nope' does not exist; it should be a model directory" in error and "Traceback" not in error
    assert hub_app.parse_args(["--model", "ner=someone/ner-model"]).model == [("ner", "someone/ner-model")]


def in_use(port: int) -> str:
    return f"error: port {port} on 127.0.0.1 is in use; choose another with --port N (or stop what uses it)\n"


def test_a_taken_port_is_one_plain_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_app("--port", str(port), env={"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"})
    assert out.returncode == 2
    assert out.stderr == in_use(port)
    assert "Traceback" not in out.stdout + out.stderr


def test_a_port_taken_just_before_the_launch_is_one_plain_line_too(capsys):
    app = hub_app.build_app(ModelRuntime(Settings(device="cpu")))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert hub_app.serve(app, hub_app.parse_args(["--port", str(port)]), Settings()) == 2
    assert capsys.readouterr().err == in_use(port)


@pytest.mark.parametrize("task, english_parts, chinese_parts, not_named", [
    ("image_classification",
     ["download.pytorch.org cannot be reached", "python app.py --download image_classification",
      "torch hub cache (~/.cache/torch/hub/checkpoints, or $TORCH_HOME/hub/checkpoints)"],
     ["无法连接 download.pytorch.org", "torch hub 缓存（~/.cache/torch/hub/checkpoints，或 $TORCH_HOME/hub/checkpoints）"],
     "huggingface"),
    ("ner",
     ["the Hugging Face Hub cannot be reached", "Hugging Face cache (~/.cache/huggingface/hub, or $HF_HOME/hub)"],
     ["Hugging Face 缓存（~/.cache/huggingface/hub"],
     "torch"),
], ids=["torchvision-weights-in-torchs-cache", "hub-models-in-the-hugging-face-cache"])
def test_offline_advice_names_where_the_weights_come_from(hf_cache, torch_cache, task, english_parts, chinese_parts,
                                                          not_named):
    runtime = ModelRuntime(Settings(device="cpu", offline=True))
    with pytest.raises(ModelUnavailableError) as raised:
        runtime.load(runtime.spec(task))
    english, chinese = str(raised.value), raised.value.text("zh")
    assert all(part in english for part in english_parts), english
    assert all(part in chinese for part in chinese_parts), chinese
    assert not_named not in english + chinese


def test_torchvision_weights_are_looked_for_where_torch_keeps_them(monkeypatch, tmp_path):
    import torch.hub

    from engines.availability import torch_hub_dir
    from models.vision import weights_url

    for source, file_name in TORCHVISION_CHECKPOINTS.items():
        assert weights_url(source).rsplit("/", 1)[-1] == file_name
    assert set(TORCHVISION_CHECKPOINTS) == {s.source for s in MODEL_SPECS if s.source.startswith("torchvision:")}
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert str(torch_hub_dir()) == torch.hub.get_dir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert str(torch_hub_dir()) == torch.hub.get_dir()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert str(torch_hub_dir()) == torch.hub.get_dir()


def test_download_in_offline_mode_says_offline_mode_is_on(hf_cache, capsys):
    # The tests run with HF_HUB_OFFLINE=1, as a user who set it would.
    assert hub_app.download_models(ModelRuntime(Settings(device="cpu")), ["ner"]) == 1
    error = capsys.readouterr().err
    assert "offline mode is on (HF_HUB_OFFLINE=1 in the environment)" in error and "Unset HF_HUB_OFFLINE" in error
    assert "--download ner" not in error
    assert hub_app.download_models(ModelRuntime(Settings(device="cpu", offline=True)), ["ner"]) == 1
    assert "--offline is on" in capsys.readouterr().err


@pytest.mark.slow
def test_download_without_network_says_what_could_not_be_reached(tmp_path):
    unreachable = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the connection is refused at once
    env = {"HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf"), "TORCH_HOME": str(tmp_path / "torch"),
           "HF_ENDPOINT": unreachable, "https_proxy": unreachable, "HTTPS_PROXY": unreachable}
    for variable in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        env[variable] = ""
    out = run_app("--download", "ner", "image_classification", env=env, timeout=120)
    assert out.returncode == 1
    assert f"dslim/bert-base-NER: could not be downloaded: the Hugging Face Hub ({unreachable}) could not be reached " \
           "from this machine" in out.stderr
    assert "torchvision:resnet50:IMAGENET1K_V2: could not be downloaded: download.pytorch.org could not be reached" \
           in out.stderr
    assert "HF_ENDPOINT" in out.stderr and "copy its torch hub cache (~/.cache/torch/hub/checkpoints there)" in out.stderr
    assert "--download" not in out.stderr and "Traceback" not in out.stderr


def test_download_takes_the_torchvision_sources_the_list_shows():
    source = "torchvision:mobilenet_v3_large:IMAGENET1K_V2"
    assert hub_app.parse_args(["--download", source]).download == [source]


def test_help_names_every_batched_tab():
    import demos
    from engines.endpoint import BATCHED

    batched = {endpoint.task for endpoint in demos.ENDPOINTS if endpoint.run == BATCHED}
    text = next(action.help for action in command_line.build_parser()._actions
                if "--max-batch-size" in action.option_strings)
    assert batched and all(task in text for task in batched), (batched, text)
