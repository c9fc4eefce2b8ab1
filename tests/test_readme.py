"""The README is the user's manual: its Spaces front matter and its code blocks must stay true."""
import re
import subprocess
import sys

import app as hub_app
from conftest import ROOT
from tasks import TASK_KEYS, default_spec

README = (ROOT / "README.md").read_text()


def block(language: str) -> str:
    """The first code block in `language` of the section "Use it from code"."""
    section = README[README.index("## Use it from code"):]
    code = section[section.index(f"```{language}\n") + len(f"```{language}\n"):]
    return code[: code.index("```")]


def test_the_top_install_takes_pytorchs_cpu_build_and_the_gpu_install_is_named():
    """A CPU-only machine following the first command must not download the CUDA build (several GB)."""
    top = README[README.index("```bash\n") + len("```bash\n"):]
    installed = re.match(r"pip install -r (\S+) && python app.py", top).group(1)
    lines = (ROOT / installed).read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines and "-r requirements.txt" in lines
    assert "With an NVIDIA GPU, install `requirements.txt` instead" in README


def test_spaces_front_matter_is_in_sync_with_the_registry():
    out = subprocess.run([sys.executable, "scripts/spaces_readme.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    assert README.startswith("---\ntitle: ") and "sdk: gradio" in README and "  - dslim/bert-base-NER" in README


def test_the_readme_gradio_client_examples_run(runtime, connect, tiny_marian_dir, monkeypatch):
    code = block("python")
    client = connect(hub_app.build_app(runtime))
    monkeypatch.chdir(ROOT)
    namespace = {}
    exec(code.replace("http://127.0.0.1:7860/", client.src), namespace)  # noqa: S102 - our own README
    assert namespace["table"]["headers"][0] == "entity" and len(namespace["top5"]["confidences"]) == 5
    assert isinstance(namespace["chinese"], str) and isinstance(namespace["reply"], str)
    assert namespace["story"].startswith("Once upon a time") and isinstance(namespace["segments"], dict)
    assert namespace["boxes"]["headers"][0] == "object" and namespace["lines"]["headers"][0] == "text"
    assert namespace["digit"]["label"] == "7", "the digit tab runs the model we ship, on the example drawing"
    assert namespace["label_b"]["label"] == "7" and [row[0] for row in namespace["facts"]["data"]] == ["A", "B"]
    assert [step["task"] for step in namespace["steps"]] == ["translation", "ner"]
    assert namespace["measurements"]["headers"][0] == "variant" and "<svg" in namespace["charts"][0]


def test_the_readme_curl_examples_run(runtime, connect):
    """Every `call` of the curl block answers "event: complete" against the app on tiny models (the block's
    model names replaced by the runtime's, which serves tiny ones in their place)."""
    script = block("bash")
    for task in TASK_KEYS:
        script = script.replace(default_spec(task).source, runtime.default(task).name)
    script = script.replace('"opus-mt"', f'"{runtime.default("translation").name}"')
    script = script.replace('"distilbert/distilgpt2"', f'"{runtime.default("text_generation").name}"')
    client = connect(hub_app.build_app(runtime))
    script = script.replace("http://127.0.0.1:7860/", client.src)
    calls = re.findall(r"^call (\w+)", script, flags=re.MULTILINE)
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    events = re.findall(r"^event: (\w+)", out.stdout, flags=re.MULTILINE)
    assert events.count("error") == 0, out.stdout[-2000:]
    assert {"ner", "classify_image", "detect_objects", "classify_sentiment", "recognize_digit"} <= set(calls)
    assert '"assets:dcgan-digits"' in block("bash"), "the GAN line works offline as written: our bundled model"
    assert events.count("complete") == len(calls), out.stdout[-2000:]
