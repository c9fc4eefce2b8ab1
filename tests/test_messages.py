"""The catalogs of messages/: every language says every text with the same parameters, every text is used, the
code says no text of its own, and adding a language is one file. Fast: no model is loaded."""
import ast
import pickle
import re
import shutil
import string
from pathlib import Path
from types import SimpleNamespace

import pytest

import messages
from messages import LANGUAGES, Term, catalog, say

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(path for package in ("demos", "engines", "models", "serve", "web")
                    for path in (ROOT / package).glob("*.py")), ROOT / "app.py", ROOT / "command_line.py"])
KEY = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# The calls that take a catalog key, and at which position.
KEY_ARGUMENT = {"ui_text": 0, "refuse": 0, "Refusal": 0, "ModelLoadError": 0,
                "ModelUnavailableError": 0, "say": 0, "Term": 0, "seed_field": 0,
                # an endpoint's declared inputs (engines/params.py) name themselves first
                "Text": 0, "Name": 0, "OneOf": 0, "SomeOf": 0, "Whole": 0, "Real": 0, "Upload": 0, "Conversation": 0}


@pytest.fixture
def own_folder(tmp_path):
    """A catalog folder of the test's own (a copy of messages/), read instead of messages/ until the test ends."""
    for path in messages.FOLDER.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    original = messages.FOLDER
    messages.load_folder(tmp_path)
    yield tmp_path
    messages.load_folder(original)


def parameters(text: str) -> set[str]:
    return {re.split(r"[.\[]", field)[0] for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def called_name(node: ast.Call) -> str | None:
    return getattr(node.func, "id", None) or getattr(node.func, "attr", None)


def parsed_sources():
    return [(path, ast.parse(path.read_text("utf-8"))) for path in SOURCES]


def test_english_comes_first_and_every_language_is_a_file():
    assert LANGUAGES[0] == "en" and "zh" in LANGUAGES
    assert set(LANGUAGES) == {path.stem for path in (ROOT / "messages").glob("*.toml")}


def test_every_language_has_every_key_with_the_same_parameters():
    english = catalog("en")
    for language in LANGUAGES:
        texts = catalog(language)
        assert set(texts) == set(english), (language, set(english) - set(texts), set(texts) - set(english))
        for key, text in texts.items():
            assert parameters(text) == parameters(english[key]), f"{language}.toml, {key}"
            assert text.strip() == text and text, f"{language}.toml, {key}: empty, or blanks around it"


def test_keys_are_snake_case_without_dots_and_never_a_gradio_namespace():
    from demos.i18n import GRADIO_NAMESPACES

    for key in catalog("en"):
        assert KEY.match(key), key
        assert key not in GRADIO_NAMESPACES, key


def test_a_key_written_twice_in_one_file_is_an_error(own_folder):
    with (own_folder / "zh.toml").open("a", encoding="utf-8") as file:
        file.write('\nrefuse_no_text = "again"\n')
    with pytest.raises(ValueError, match=r"zh\.toml.*(overwrite|[Dd]uplicate)"):
        catalog("zh")


def test_a_dotted_key_is_an_error(own_folder):
    with (own_folder / "zh.toml").open("a", encoding="utf-8") as file:
        file.write('\nrefuse.nested = "x"\n')
    with pytest.raises(ValueError, match=r"zh\.toml.*'refuse'"):
        catalog("zh")


def test_every_key_is_used_in_the_code():
    """A key counts as used where the code writes it as a string. The tab titles are built from the tabs' and
    the tasks' keys (f"tab_{...TASK}"), so those keys come from demos.TABS and the task records; Gradio's missing
    texts from demos.i18n.GRADIO_GAPS."""
    import demos
    from demos.i18n import GRADIO_GAPS
    from tasks import TASK_KEYS

    literals = {node.value for _, tree in parsed_sources() for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    built = {f"tab_{key}" for key in [tab.TASK for tab in (*demos.TABS, demos.CHAIN)] + list(TASK_KEYS)} | \
        {f"gradio_{space}_{key}" for space, keys in GRADIO_GAPS.items() for key in keys}
    unused = set(catalog("en")) - literals - built
    assert not unused, f"keys no code uses: {sorted(unused)}"


def test_every_key_the_code_names_is_in_the_catalog():
    english = catalog("en")
    named = []
    for path, tree in parsed_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and called_name(node) in KEY_ARGUMENT:
                position = KEY_ARGUMENT[called_name(node)]
                if len(node.args) > position and isinstance(node.args[position], ast.Constant):
                    named.append((path.name, node.lineno, node.args[position].value))
    assert len(named) > 100
    assert [entry for entry in named if entry[2] not in english] == []


def test_the_code_writes_no_chinese():
    for path in SOURCES:
        assert not re.search(r"[\u4e00-\u9fff]", path.read_text("utf-8")), path


def test_say_fills_parameters_in_the_language_asked_for():
    assert say("refuse_text_too_long", length=12345, max_chars=10000) == (
        "The text is 12,345 characters long; this tab takes at most 10,000. Please shorten it.")
    assert say("refuse_not_a_number", "zh", name=Term("param_seed")) == "种子必须是数字。"
    assert say("refuse_not_a_number", name=Term("param_seed")) == "The seed must be a number."
    with pytest.raises(KeyError):
        say("no_such_key")
    with pytest.raises(KeyError):
        say("refuse_no_text", "xx")  # no such catalog


def test_a_text_missing_in_another_language_is_said_in_english(own_folder):
    (own_folder / "zh.toml").write_text('refuse_no_text = "请先输入文本。"\n', encoding="utf-8")
    messages.load_folder(own_folder)
    assert say("refuse_no_text", "zh") == "请先输入文本。"
    assert say("refuse_no_upload", "zh") == "Please upload a file first."


def test_the_browsers_first_language_is_the_one_spoken():
    from demos.endpoints import language_of

    def asking(header):
        return SimpleNamespace(headers={"accept-language": header} if header is not None else {})

    assert language_of(asking("zh-CN,zh;q=0.9,en;q=0.5")) == "zh"
    assert language_of(asking("fr-FR,zh;q=0.5")) == "en", "the page is in English for a French browser"
    assert language_of(asking("en-US,zh;q=0.9")) == "en"
    assert language_of(asking("fr")) == "en"
    assert language_of(asking(None)) == language_of(None) == "en"


def test_errors_keep_their_key_and_say_it_in_any_language():
    from engines.refusal import Refusal, refuse
    from models.errors import ModelLoadError, unavailable

    refusal = refuse("refuse_not_a_whole_number", name=Term("param_frame_count"), low=2, high=16)
    assert isinstance(refusal, Refusal)
    assert str(refusal) == "The number of frames must be a whole number from 2 to 16."
    assert refusal.text("zh") == "帧数必须是 2 到 16 之间的整数。"
    error = ModelLoadError("load_no_such_model", name="owner/model")
    assert str(error) == "There is no model named 'owner/model' on the Hugging Face Hub."
    assert error.text("zh") == "Hugging Face Hub 上没有名为“owner/model”的模型。"
    offline = unavailable("ner", "dslim/bert-base-NER", True)
    for copy in (pickle.loads(pickle.dumps(refusal)), pickle.loads(pickle.dumps(offline))):
        assert type(copy).__name__ in ("Refusal", "ModelUnavailableError") and copy.text("zh")
    assert pickle.loads(pickle.dumps(offline)).text("zh") == offline.text("zh")


def test_handlers_run_in_the_request_language_and_fail_in_it():
    from demos.endpoints import shown_error, user_errors
    from engines.refusal import refuse

    chinese = SimpleNamespace(headers={"accept-language": "zh-CN,zh;q=0.9"})

    def plain(x):
        return messages.current_language()

    def streaming(x):
        yield messages.current_language()
        yield messages.current_language()
        raise refuse("refuse_no_text")

    assert user_errors(plain)(1, request=chinese) == "zh"
    assert user_errors(plain)(1) == "en"
    stream = user_errors(streaming)(1, request=chinese)
    assert [next(stream), next(stream)] == ["zh", "zh"]
    with pytest.raises(Exception, match="请先输入文本。"):
        next(stream)
    assert messages.current_language() == "en"
    assert shown_error(refuse("refuse_no_text"), "zh") == "⚠ 请先输入文本。"


def test_translations_have_the_same_keys_in_every_language():
    import app
    from demos.i18n import translations
    from engines.runtime import ModelRuntime
    from models.settings import Settings

    app.build_app(ModelRuntime(Settings(device="cpu")))
    texts = translations().translations
    assert list(texts) == list(LANGUAGES)
    for language in LANGUAGES:
        assert set(texts[language]) == set(texts["en"]), language
    assert texts["zh"]["tab_ner"] == "命名实体" and texts["en"]["hub_intro"].startswith("# Deep Learning Demo Hub\n")
    assert "picker_custom_model_hint_ner" in texts["en"]  # one page key per variant of a parameterised text


def test_adding_a_language_is_one_file(own_folder):
    """A third catalog, xx.toml, and nothing else: the page, the errors and the browser's choice know it."""
    from demos.endpoints import language_of
    from demos.i18n import translations, ui_text
    from engines.refusal import refuse

    english = (own_folder / "en.toml").read_text("utf-8")
    (own_folder / "xx.toml").write_text(english.replace('refuse_no_text = "Please enter some text first."',
                                                        'refuse_no_text = "xx: enter text"'), encoding="utf-8")
    messages.load_folder(own_folder)
    assert messages.LANGUAGES == ("en", "xx", "zh")
    ui_text("tab_ner")
    texts = translations().translations
    assert set(texts) == {"en", "xx", "zh"} and texts["xx"]["tab_ner"] == "Named entities"
    assert language_of(SimpleNamespace(headers={"accept-language": "xx"})) == "xx"
    assert refuse("refuse_no_text").text("xx") == "xx: enter text"


def test_every_bundled_model_is_labelled_in_every_language():
    from demos.common import BUNDLED_LABELS, choice
    from tasks import MODEL_SPECS

    bundled = {spec.source: spec for spec in MODEL_SPECS if spec.bundled}
    assert set(BUNDLED_LABELS) == set(bundled)
    for source, spec in bundled.items():
        label, name = choice(spec, spec.label)
        assert name == spec.name and messages.say(BUNDLED_LABELS[source], "en", size="") == spec.label
        assert messages.say(BUNDLED_LABELS[source], "zh", size="") != spec.label
