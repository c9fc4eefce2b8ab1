"""A real browser (Debian's Chromium driven by Playwright) uses every tab as a person would: open it, run its
first example, see a result; make it fail and read what it says; in English and Chinese, on a desktop and on a
phone. Screenshots go to $SCREENSHOT_DIR (default artifacts/screenshots) for CI to keep."""
import re
import time

import pytest

import demos
from conftest import SCREENSHOTS
from messages import say

pytestmark = pytest.mark.browser


def said(key: str, language: str = "en") -> str:
    return say(key, language) if key else None


# Every tab with examples of its own: its title, its run button (None: the example runs by pressing Enter in the
# chat box), where the result shows.
TABS = [(said(f"tab_{tab.TASK}"), said(tab.RUN_BUTTON), tab.RESULT) for tab in demos.TABS if hasattr(tab, "RESULT")]
SHOWS_A_RESULT = """selector => {
    const el = document.querySelector(selector);
    if (!el) return false;
    if (el.querySelector('[data-testid=status-tracker] .progress-text, .eta-bar, .generating')) return false;
    const typed = [...el.querySelectorAll('textarea')].map(t => t.value).join('');
    const copy = el.cloneNode(true);  // the shown value only: no label, timer or buttons
    copy.querySelectorAll('[data-testid=block-label], [data-testid=status-tracker], button').forEach(n => n.remove());
    return (copy.textContent + typed).replace(/\\s/g, '').length > 0;  // one character may be the answer: a digit
}"""

def failures_said(page) -> str:
    """What the shown tab says went wrong (its message area), and any error toast (not a warning: a tiny random
    chat model's reply may rightly stop at its token limit and say so)."""
    said = page.locator(".tab-message:visible .prose").all_inner_texts() + \
        page.locator(".toast-wrap .toast-body.error").all_inner_texts()
    return "\n".join(text for text in said if text.strip())


# Every (sub)tab a person can open: the path of tab names (English, Chinese), its run button, and how to run it so
# that it fails (a model id that is nowhere, offline; or nothing to work on).
def _in_both(key: str | None) -> tuple[str, str] | None:
    return (say(key, "en"), say(key, "zh")) if key else None


WHOLE_HUB = [
    *[((_in_both(f"tab_{tab.TASK}"), *([_in_both(f"tab_{section.TASK}")] if section is not tab else [])),
       _in_both(section.RUN_BUTTON))
      for tab in demos.TABS for section in getattr(tab, "SECTIONS", [tab])],
    ((_in_both("tab_chain"),), _in_both("chain_run")),  # with nothing to start from
    ((_in_both("tab_history"),), None),
    ((_in_both("tab_optimisation"),), _in_both("lab_run")),
    ((_in_both("tab_models"),), None),
]
NOTHING_TO_RUN = ("History", "Models")
NOWHERE = "nobody/no-such-model"
# What a person must never read: untranslated keys, JavaScript's and Python's leftovers.
UNREADABLE = r"__i18n__|\[object Object\]|\bundefined\b|\bNaN\b|Traceback \(most recent call last\)|File \"/"
READ_THE_PAGE = """unreadable => {
    const pattern = new RegExp(unreadable);
    const shown = [document.body.innerText];
    for (const el of document.querySelectorAll('input, textarea')) {
        if (el.offsetParent !== null) shown.push(el.value || '', el.placeholder || '');
    }
    return shown.join('\\n').split('\\n').filter(line => pattern.test(line));
}"""
# On a phone as on a desktop: the page must not scroll sideways, and nothing may be cut: no text ending in an ellipsis because
# it did not fit, no field whose value runs past its box, no block wider than the screen.
CUT_OR_SIDEWAYS = """() => {
    const found = [], width = window.innerWidth;
    if (document.documentElement.scrollWidth > width + 1) found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth}px`);
    for (const el of document.querySelectorAll('body *')) {
        if (el.offsetParent === null || el.closest('.toast-wrap, .visually-hidden')) continue;  // Gradio's tab-width probe
        // The lab's table (eleven columns) and the loaded models' (a model's id is long): on a phone they scroll
        // inside their own box, the page does not.
        const table = el.closest('#lab-table, #loaded-models');
        if (table && el !== table) continue;
        const style = getComputedStyle(el), name = `${el.tagName.toLowerCase()}.${el.className}`.slice(0, 60);
        const text = (el.value || el.innerText || '').trim().slice(0, 50);
        const rect = el.getBoundingClientRect();
        if (rect.width > 0 && (rect.right > width + 1 || rect.left < -1)) found.push(`wider than the screen: ${name} "${text}"`);
        else if (style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1) found.push(`cut: ${name} "${text}"`);
        else if ((el.tagName === 'INPUT' && el.type === 'text') && el.scrollWidth > el.clientWidth + 1) found.push(`cut: ${name} "${text}"`);
        else if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'TEXTAREA')
            found.push(`scrolls sideways: ${name} "${text}"`);
    }
    // A dropdown shows its choice in a one-line field: every choice it offers must fit there once chosen.
    const measure = document.createElement('canvas').getContext('2d');
    const translations = window.gradio_config.i18n_translations || {};
    const shown = label => {  // a translated label, as the page shows it in its language
        if (typeof label !== 'string' || !label.startsWith('__i18n__')) return label;
        const catalog = translations[(navigator.language || 'en').split('-')[0]] || translations.en || {};
        return catalog[JSON.parse(label.slice('__i18n__'.length)).key] ?? label;
    };
    for (const input of document.querySelectorAll('input[role=combobox]')) {
        if (input.offsetParent === null) continue;
        const dropdown = window.gradio_config.components.find(
            c => c.type === 'dropdown' && (c.props.choices || []).some(([label]) => shown(label) === input.value));
        if (!dropdown) continue;
        const style = getComputedStyle(input);
        measure.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        for (const [label] of dropdown.props.choices) {
            const needed = measure.measureText(shown(label)).width;
            if (needed > room + 1) found.push(`cut once chosen: "${shown(label)}" (${Math.round(needed)} px in ${Math.round(room)} px)`);
        }
    }
    return found;
}"""


def open_tab(page, name: str) -> None:
    """Click a tab by its name; on a phone, tabs that do not fit are behind the tab bar's overflow button."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    item = page.locator(".overflow-dropdown button:visible").filter(has_text=re.compile(f"^{re.escape(name)}$"))
    overflow_buttons = page.locator(".overflow-menu > button:visible")  # the tab bar's "…"; nested bars have their own
    for index in range(overflow_buttons.count()):
        overflow_buttons.nth(index).click()
        if item.count():
            item.first.click()
            return
        overflow_buttons.nth(index).click()  # not in this bar: close it again
    raise AssertionError(f"no tab named {name!r} on the page")


def run_and_fail(page, button: str | None, chinese: bool) -> None:
    """Run the shown tab so that it fails: its custom model field names a model that is nowhere; the lab is left
    with no technique to measure."""
    custom = page.locator("[placeholder^='owner/name']:visible")
    if custom.count():
        custom.first.fill(NOWHERE)
    for technique in page.locator("#lab-techniques input[type=checkbox]:visible").all():
        technique.uncheck()
    if button is None:
        box = page.locator("textarea:visible").last  # the chat's message box
        box.fill("你好" if chinese else "Hello")
        box.press("Enter")
    else:
        page.get_by_role("button", name=button, exact=True).click()


# How long a failure's message must stay, and its tab's inputs be free again: longer than a flash.
STAYS_S = 5


# English, the longer texts, on both screens; Chinese on the narrower one, where its lines wrap most.
@pytest.mark.parametrize("locale, viewport", [("en-US", (1280, 1000)), ("en-US", (390, 844)), ("zh-CN", (390, 844))],
                         ids=["english-desktop", "english-phone", "chinese-phone"])
def test_every_tab_reads_right_to_a_person(browser, url, locale, viewport):
    """Every tab, opened and then made to fail: nothing unreadable on screen, the failure said in plain words
    beside the outputs and still there later, every input usable again, nothing cut or sideways. Every tab is made
    to fail first; then each is opened again, STAYS_S or more after its failure (the other tabs' turns are that
    wait; only the last tabs wait out the rest), and read again."""
    chinese = locale.startswith("zh")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(locale=locale, viewport={"width": viewport[0], "height": viewport[1]})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    problems, failed = [], []
    for path, button in WHOLE_HUB:
        names = [name[chinese] for name in path]
        for name in names:
            open_tab(page, name)
        page.wait_for_timeout(300)
        where = " / ".join(names)
        problems += [f"{where}: unreadable text: {line[:120]}" for line in page.evaluate(READ_THE_PAGE, UNREADABLE)]
        problems += [f"{where}: {finding}" for finding in page.evaluate(CUT_OR_SIDEWAYS)]
        if path[0][0] in NOTHING_TO_RUN:
            continue
        inputs = page.locator("textarea:visible:enabled, input:visible:enabled, button:visible:enabled").count()
        run_and_fail(page, button and button[chinese], chinese)
        message = page.locator(".tab-message:visible .prose").first
        try:
            message.filter(has_text="⚠").wait_for(timeout=30_000)
            said = message.inner_text()
        except Exception:
            problems.append(f"{where}: the failure is not said beside the outputs")
            said = None
        failed.append((path, names, button, where, inputs, said, time.monotonic()))

    for path, names, button, where, inputs, said, failed_at in failed:  # each tab again, STAYS_S after its failure
        for name in names:
            open_tab(page, name)
        page.wait_for_timeout(max(300, (failed_at + STAYS_S - time.monotonic()) * 1000))
        after_s = time.monotonic() - failed_at
        if said is not None:
            if page.locator(".tab-message:visible .prose").first.inner_text() != said:
                problems.append(f"{where}: the failure's message did not stay: {said[:80]}")
            if len(said.split("·", 1)[-1].strip(" ⚠")) < 5:
                problems.append(f"{where}: the failure is not said in plain words: {said!r}")
            if chinese != bool(re.search(r"[\u4e00-\u9fff]", said)):
                problems.append(f"{where}: the failure is not in the page's language: {said[:80]}")
        usable = page.locator("textarea:visible:enabled, input:visible:enabled, button:visible:enabled").count()
        if usable < inputs:
            problems.append(f"{where}: {inputs - usable} inputs or buttons are still disabled {after_s:.0f} s after "
                            "the failure")
        if button is None and page.locator("textarea:visible").last.input_value() != ("你好" if chinese else "Hello"):
            problems.append(f"{where}: the message that failed is not back in its box")
        problems += [f"{where}: unreadable text after the failure: {line[:120]}"
                     for line in page.evaluate(READ_THE_PAGE, UNREADABLE)]
        problems += [f"{where} after the failure: {finding}" for finding in page.evaluate(CUT_OR_SIDEWAYS)]
        page.screenshot(path=str(SCREENSHOTS / f"person-{locale}-{viewport[0]}-{path[-1][0].split()[0].lower()}.png"),
                        full_page=True)
    page.close()
    assert not problems, "\n".join(dict.fromkeys(problems))


def test_every_tab_runs_its_first_example(browser, url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    for title, button, result in TABS:
        page.get_by_role("tab", name=title).click()
        page.locator(".gallery-item:visible, tr.tr-body:visible").first.click()
        page.wait_for_timeout(1500)  # the example's file reaches the input (no event marks it; SSE keeps the network busy)
        if button:
            page.get_by_role("button", name=button, exact=True).click()
        else:
            page.locator("textarea:visible").last.press("Enter")
        page.wait_for_function(SHOWS_A_RESULT, arg=result, timeout=60_000)
        assert not failures_said(page), f"{title}: the example failed: {failures_said(page)[:300]}"
        # A label whose i18n key is one of Gradio's own namespaces (image, audio, file...) shows as this.
        assert "[object Object]" not in page.locator("body").inner_text(), f"{title}: a label shows [object Object]"
        page.screenshot(path=str(SCREENSHOTS / f"{title.lower().replace(' ', '-')}.png"), full_page=True)
    page.close()


def test_dark_mode(browser, url):
    page = browser.new_page()
    page.goto(url + "?__theme=dark")
    page.wait_for_selector("button[role=tab]")
    assert "dark" in page.evaluate("document.body.className")
    page.screenshot(path=str(SCREENSHOTS / "dark-mode.png"))
    page.close()


def test_a_chinese_browser_gets_chinese_labels(browser, url):
    page = browser.new_page(locale="zh-CN")
    page.goto(url)
    page.get_by_role("tab", name="图像分类").wait_for()
    page.get_by_role("button", name="分类", exact=True).wait_for()
    page.get_by_text("照片里是 1000 个 ImageNet 类别中的哪一个").wait_for()
    page.get_by_role("tab", name="翻译").click()
    page.get_by_role("button", name="翻译", exact=True).click()  # with no text: the error is in Chinese too
    page.get_by_text("请先输入文本。").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "chinese-ui.png"))
    page.close()


# Pointer moves along a stroke. The pad's brush fills each move's segment with its dots (Gradio 6.31: one dot every
# third of its size), so more moves draw the same line; each move drawn costs the headless browser a render of the
# whole stroke (0.15 s, 0.4 s on a busy machine): at 12 a stroke, the drags were most of these tests' time.
DRAG_STEPS = 3


def test_gan_tab_samples_paints_a_drawing_and_edits(browser, url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.goto(url)
    page.get_by_role("tab", name="GAN / pix2pix").click()
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_selector("#gan-output img", timeout=60_000)
    page.get_by_role("button", name="Interpolate", exact=True).click()
    page.wait_for_selector("#gan-interpolation-output img", timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "gan-sampling.png"), full_page=True)
    for output in ("#gan-output", "#gan-interpolation-output"):  # the label and buttons above the pictures
        picture = page.locator(f"{output} img").bounding_box()
        for part in ("[data-testid=block-label]", ".top-panel"):
            assert not overlaps(page.locator(f"{output} {part}").bounding_box(), picture), f"{output} {part}"

    page.get_by_role("tab", name="pix2pix", exact=True).click()
    page.get_by_role("button", name="Run pix2pix", exact=True).click()  # nothing drawn yet
    page.get_by_text("Please draw something or upload a picture first.").wait_for(timeout=30_000)
    canvas = page.locator("#pix2pix-input canvas").first
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    # a horizon and a box standing on it, inside the white pad (the canvas element is wider)
    for start, end in [((0.27, 0.6), (0.73, 0.6)), ((0.4, 0.6), (0.4, 0.45)), ((0.4, 0.45), (0.5, 0.45)),
                       ((0.5, 0.45), (0.5, 0.6))]:
        page.mouse.move(x0 + start[0] * w, y0 + start[1] * h)
        page.mouse.down()
        page.mouse.move(x0 + end[0] * w, y0 + end[1] * h, steps=DRAG_STEPS)
        page.mouse.up()
    page.get_by_role("button", name="Run pix2pix", exact=True).click()
    page.wait_for_selector("#pix2pix-output img", timeout=60_000)
    assert not failures_said(page), failures_said(page)
    page.screenshot(path=str(SCREENSHOTS / "pix2pix-drawing.png"), full_page=True)

    page.get_by_role("tab", name="Edit by instruction").click()
    page.locator("tr.tr-body:visible, .gallery-item:visible").first.click()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Edit", exact=True).click()
    page.wait_for_selector("#image-editing-output img", timeout=60_000)
    assert not failures_said(page), failures_said(page)
    page.screenshot(path=str(SCREENSHOTS / "image-editing.png"), full_page=True)
    page.close()


def test_the_optimisation_lab_measures_plots_and_measures_again(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, said("tab_optimisation"))
    measure = page.get_by_role("button", name=said("lab_run"), exact=True)
    measure.click()  # the digit CNN, every technique
    page.get_by_text("Done in").wait_for(timeout=120_000)
    table = page.locator("#lab-table").inner_text()
    for variant in ("original", "L1 unstructured pruning · 50%", "channel pruning · 50%", "int8", "half precision",
                    "distilled student"):
        assert variant in table
    points = page.locator("#lab-latency-plot circle.point")
    assert points.count() == 6, "one point per variant"
    assert page.locator("#lab-sparsity-plot polyline").count() == 2, "one line per pruning"
    assert page.locator("#lab-latency-plot .lab-chart svg").bounding_box()["height"] > 150, "drawn at its size"
    page.screenshot(path=str(SCREENSHOTS / "optimisation-lab.png"), full_page=True)

    for technique in page.locator("#lab-techniques input[type=checkbox]").all():
        technique.uncheck()
    measure.click()
    page.locator(".tab-message:visible").get_by_text("Pick at least one of the techniques.").wait_for(timeout=30_000)
    assert points.count() == 6, "the last measurements stay"

    page.locator("#lab-techniques").get_by_label("int8", exact=True).check()
    measure.click()
    page.wait_for_function("() => document.querySelectorAll('#lab-latency-plot circle.point').length === 2",
                           timeout=60_000)
    assert not failures_said(page), "the message went with the run that put it there"
    page.close()


def overlaps(a: dict, b: dict) -> bool:
    """Whether two bounding boxes (Playwright's {x, y, width, height}) share any area."""
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def drag(page, pad: str, strokes) -> None:
    """Drag the mouse along each stroke ((x, y) to (x, y), as fractions of the pad's drawing canvas), as a person
    draws: no tool clicked first."""
    box = page.locator(f"#{pad} .pixi-target canvas").first.bounding_box()
    for start, end in strokes:
        page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=DRAG_STEPS)
        page.mouse.up()


SHOWN_DIGIT = "#digits-output [data-testid=label-output-value], #digits-output h2"  # gr.Label's top class
SHOWS_DIGIT = """([selector, digit]) => document.querySelector(selector)?.textContent.trim() === digit"""


def test_the_digit_pad_reads_the_example_it_shows(browser, url):
    """An example picked and Recognise pressed at once: the answer is the digit the pad shows. The pad's value
    lands after the click (and the page re-reads the old one meanwhile): the run read the previous drawing."""
    from demos import digits

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, said("tab_digits"))
    examples = page.locator("#digits-examples .gallery-item")
    run = page.get_by_role("button", name=said(digits.RUN_BUTTON), exact=True)
    examples.first.wait_for()
    for index in (0, 1, 2, 3, 1, 0, 2):  # each a different digit from the one before
        digit = re.search(r"(\d)\.\w+$", digits.EXAMPLES[index]).group(1)
        examples.nth(index).click()
        run.click()  # at once, as a person does
        try:
            page.wait_for_function(SHOWS_DIGIT, arg=[SHOWN_DIGIT, digit], timeout=20_000)
        except Exception:
            shown = page.locator(SHOWN_DIGIT).all_inner_texts()
            raise AssertionError(f"the pad shows the example {digit}, the answer is {shown} "
                                 f"{failures_said(page)}") from None
    assert not failures_said(page), failures_said(page)
    page.close()


def test_the_pix2pix_pad_sends_the_example_it_shows(browser, url):
    """The same race on the pix2pix pad: the run sends the example picked, its own file."""
    import json
    from pathlib import Path

    from demos import pix2pix

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, said("tab_image_generation"))
    open_tab(page, said("tab_pix2pix"))
    examples = page.locator("#pix2pix-examples .gallery-item")
    run = page.get_by_role("button", name=said(pix2pix.RUN_BUTTON), exact=True)
    examples.first.wait_for()
    for index in (0, 1, 2, 0):
        with page.expect_request(lambda request: "/queue/join" in request.url, timeout=30_000) as sent:
            examples.nth(index).click()
            run.click()
        drawing = json.loads(sent.value.post_data)["data"][0]
        assert Path((drawing.get("composite") or {}).get("path", "")).name == Path(pix2pix.SKETCHES[index]).name, \
            f"the pad shows {Path(pix2pix.SKETCHES[index]).name}, the run sent {drawing}"
        page.wait_for_selector("#pix2pix-output img", timeout=60_000)
        page.wait_for_function("() => !document.querySelector('#pix2pix-output .eta-bar, .progress-text')")
    assert not failures_said(page), failures_said(page)
    page.close()


def test_a_fresh_pad_takes_a_drag_as_drawing(browser, url):
    """'Draw one digit with the mouse': a drag on a fresh pad draws (the pad starts on its brush), it selects no
    text, and Recognise reads it; the pix2pix pad likewise."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1090})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, said("tab_digits"))
    page.locator("#digits-pad .pixi-target canvas").first.wait_for()
    page.wait_for_timeout(1000)  # the pad readies its canvas
    drag(page, "digits-pad", [((0.41, 0.28), (0.59, 0.28)), ((0.59, 0.28), (0.47, 0.74))])  # a 7
    assert page.evaluate("() => String(getSelection())") == "", "the drag selected the page's text"
    page.get_by_role("button", name=said("digits_run"), exact=True).click()
    page.wait_for_function(SHOWS_A_RESULT, arg="#digits-output", timeout=60_000)
    assert not failures_said(page), f"the drawing was not read: {failures_said(page)}"
    assert page.locator(SHOWN_DIGIT).first.inner_text().strip() == "7", "the 7 drawn is read"
    page.screenshot(path=str(SCREENSHOTS / "digits-drawn-7.png"), full_page=True)

    open_tab(page, said("tab_image_generation"))
    open_tab(page, said("tab_pix2pix"))
    page.locator("#pix2pix-input .pixi-target canvas").first.wait_for()
    page.wait_for_timeout(1000)
    drag(page, "pix2pix-input", [((0.3, 0.6), (0.7, 0.6)), ((0.4, 0.6), (0.4, 0.45)), ((0.4, 0.45), (0.5, 0.45))])
    assert page.evaluate("() => String(getSelection())") == "", "the drag selected the page's text"
    page.get_by_role("button", name=said("pix2pix_run"), exact=True).click()
    page.wait_for_selector("#pix2pix-output img", timeout=60_000)
    assert not failures_said(page), f"the drawing was not read: {failures_said(page)}"
    page.close()


def test_on_a_phone_the_pads_tools_and_the_labels_leave_the_pictures_clear(browser, url):
    """390×844: a pad's tool bar is beside its drawing canvas, not over its left edge; the GAN's label and buttons
    are above its samples, not over the first and last."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    problems = []
    for path, pad in (([said("tab_digits")], "digits-pad"),
                      ([said("tab_image_generation"), said("tab_pix2pix")], "pix2pix-input")):
        for name in path:
            open_tab(page, name)
        canvas = page.locator(f"#{pad} .pixi-target canvas").first
        canvas.wait_for()
        page.wait_for_timeout(1000)
        page.locator(f"#{pad}").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"phone-{pad}.png"))
        toolbar = page.locator(f"#{pad} .toolbar-wrap").bounding_box()
        if overlaps(toolbar, canvas.bounding_box()):
            problems.append(f"{pad}: the tool bar {toolbar} is over the drawing canvas {canvas.bounding_box()}")

    open_tab(page, said("tab_gan"))
    page.get_by_role("button", name=said("gan_generate"), exact=True).click()
    page.get_by_role("button", name=said("gan_interpolate"), exact=True).click()
    for output in ("#gan-output", "#gan-interpolation-output"):
        picture = page.locator(f"{output} img")
        picture.wait_for(timeout=60_000)
        # measured once the picture is decoded and laid out at its size (before, its box is a placeholder's)
        page.wait_for_function("selector => { const img = document.querySelector(selector);"
                               " return img && img.complete && img.naturalWidth > 0; }", arg=f"{output} img",
                               timeout=60_000)
        page.wait_for_timeout(500)
        for part in ("[data-testid=block-label]", ".top-panel"):
            box = page.locator(f"{output} {part}").bounding_box()
            if box and overlaps(box, picture.bounding_box()):
                problems.append(f"{output}: {part} {box} is over the picture {picture.bounding_box()}")
    page.locator("#gan-output").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "phone-gan-sampling.png"))
    page.close()
    assert not problems, "\n".join(problems)


TICK_SIZES = """() => [...document.querySelectorAll('.lab-chart svg')].map(svg => {
    const scale = svg.getScreenCTM().a;  // the SVG scales with its box: its text too
    return Math.min(...[...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale));
})"""


def test_on_a_phone_the_lab_charts_numbers_are_readable(browser, url):
    """390×844: the charts' tick numbers and axis titles are 11 px or more on screen (they were about 8)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, said("tab_optimisation"))
    techniques = page.locator("#lab-techniques")
    techniques.get_by_label(said("lab_technique_int8"), exact=True).wait_for()
    for technique in techniques.locator("input[type=checkbox]").all():
        technique.uncheck()
    for name in ("lab_technique_int8", "lab_technique_unstructured"):  # both charts drawn, sooner than with all
        techniques.get_by_label(said(name), exact=True).check()
    page.get_by_role("button", name=said("lab_run"), exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('#lab-sparsity-plot polyline').length === 1",
                           timeout=120_000)
    sizes = page.evaluate(TICK_SIZES)
    page.locator("#lab-latency-plot").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "phone-optimisation-lab.png"))
    page.close()
    assert len(sizes) == 2 and min(sizes) >= 11, f"the charts' smallest text, in px on screen: {sizes}"
