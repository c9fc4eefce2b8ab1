"""The workbench in a real browser and through the API, on the tiny models (one app for the module): two models
side by side, an answer sent on to the next tab, a chain, and the history (reopen, run again, downloads, a link)."""
import json
import re
import zipfile

import pytest

from conftest import SCREENSHOTS
from engines.chain import ARROW
from engines.object_detection import EXAMPLES as PHOTOS
from messages import say
from test_browser import failures_said, open_tab

pytestmark = pytest.mark.browser
ROWS = "[role=row]:has([role=gridcell])"  # a Gradio table's shown rows (its <table> also holds a sizing row)


def words(key: str, chinese: bool) -> str:
    return say(key, "zh" if chinese else "en")


def shown_rows(page, selector: str) -> list[list[str]]:
    return [row.locator("[role=gridcell]").all_inner_texts() for row in page.locator(f"{selector} {ROWS}").all()]


@pytest.mark.parametrize("locale, viewport", [("en-US", (1280, 1000)), ("zh-CN", (390, 844))],
                         ids=["english-desktop", "chinese-phone"])
def test_two_digit_models_side_by_side_and_the_history_keeps_reopens_and_downloads(browser, url, locale, viewport):
    chinese = locale.startswith("zh")
    page = browser.new_page(locale=locale, viewport={"width": viewport[0], "height": viewport[1]},
                            accept_downloads=True)
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, words("tab_digits", chinese))
    page.locator("#digits-examples .gallery-item").nth(int(chinese)).click()  # a drawing the other run left unread
    page.wait_for_timeout(1500)  # the example reaches the pad (no event marks it)
    page.get_by_role("button", name=words("digits_run", chinese), exact=True).click()
    page.locator(".compare:visible .label-wrap").click()
    page.locator(".compare:visible").get_by_role("button", name=words("compare_run", chinese), exact=True).click()
    facts = page.locator(".compare:visible .table-wrap").last
    page.wait_for_function("el => el.innerText.includes('assets:digits-cnn')", arg=facts.element_handle(),
                           timeout=60_000)
    rows = shown_rows(page, ".compare:visible")[-2:]
    assert [row[0] for row in rows] == ["A", "B"] and rows[0][1] != rows[1][1], "the second model is another"
    facts_models = [row[1] for row in rows]
    assert rows[0][4] == "true" and rows[1][4] == "false", "A's answer is the page's run's, from the result cache"
    assert float(rows[1][2]) > 0, "B's time"
    agreement = page.locator(".compare:visible .prose.compare-agreement").inner_text()
    assert agreement.startswith("一致程度" if chinese else "Agreement"), agreement
    labels = page.locator(".compare:visible [data-testid=label-output-value]").all_inner_texts()
    assert len(labels) == 2 and all(re.fullmatch(r"\d", label.strip()) for label in labels), labels
    page.screenshot(path=str(SCREENSHOTS / f"workbench-compare-{locale}-{viewport[0]}.png"), full_page=True)

    open_tab(page, words("tab_history", chinese))
    table = page.locator("#history-table")
    table.locator(ROWS).first.wait_for()
    rows = shown_rows(page, "#history-table")
    assert [row[:3] for row in rows] == [["2", rows[0][1], "digits"], ["1", rows[1][1], "digits"]], "newest first"
    assert rows[0][3] == f"{rows[1][3]} / {facts_models[1]}", "the comparison's two models"
    with page.expect_download() as download:
        page.get_by_role("button", name=words("history_download_json", chinese), exact=True).click()
    kept = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert kept["endpoint"] == "compare_recognize_digit" and kept["answer"]["table"]["headers"][:2] == ["run", "model"]
    assert re.fullmatch(r"A: \d · B: \d", kept["answer"]["text"]) and kept["seconds"] > 0
    assert kept["inputs"]["image"].endswith(".png"), "a file by its name, never the server's path"
    page.get_by_role("button", name=words("history_run_again", chinese), exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('#history-table [role=row]:has([role=gridcell])')"
                           ".length === 3", timeout=60_000)
    assert [row[0] for row in shown_rows(page, "#history-table")] == ["3", "2", "1"], "run again: kept anew"
    with page.expect_download() as download:
        page.get_by_role("button", name=words("history_download_all", chinese), exact=True).click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert {"results.json", "result-1-recognize_digit.csv", "result-1-recognize_digit.png",
                "result-2-compare_recognize_digit.csv", "result-3-compare_recognize_digit.png"} <= \
            set(archive.namelist())
    page.screenshot(path=str(SCREENSHOTS / f"workbench-history-{locale}-{viewport[0]}.png"), full_page=True)
    assert not failures_said(page), failures_said(page)
    page.close()


def test_an_answer_is_sent_on_a_chain_runs_and_a_link_reopens_its_text(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, say("tab_translation"))
    page.locator("button:visible", has_text="en → de").first.click()
    page.get_by_role("button", name=say("translation_run"), exact=True).click()
    page.wait_for_function("() => document.querySelector('#translation-output textarea').value.length > 0",
                           timeout=60_000)
    translated = page.locator("#translation-output textarea").input_value()
    page.get_by_role("button", name=say("send_to_ner"), exact=True).click()
    text = page.get_by_label(say("ner_text")).locator("visible=true")
    text.wait_for()
    assert text.input_value() == translated and page.get_by_role("tab", name=say("tab_ner")).get_attribute(
        "aria-selected") == "true"

    open_tab(page, say("tab_object_detection"))
    page.locator(".gallery-item:visible").first.click()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name=say("send_boxes_to_chain"), exact=True).click()
    assert page.locator("#chain-steps input").input_value() == say(
        "chain_of_2", a=say("tab_object_detection"), b=say("tab_image_classification"))
    page.get_by_role("button", name=say("chain_run"), exact=True).click()
    page.locator(f"#chain-table {ROWS}").first.wait_for(timeout=60_000)
    boxes = shown_rows(page, "#chain-table")
    assert boxes and all(len(row) == 4 for row in boxes), "each box: its label, score, class and probability"
    page.screenshot(path=str(SCREENSHOTS / "workbench-chain-en-US-1280.png"), full_page=True)

    # A link carries a text and its settings; what a check refuses is left out, and the page says nothing of it.
    page.goto(url + "?run=ner&text=Hello%20Anna%20in%20Paris&model=someone%2Felse")
    text = page.get_by_label(say("ner_text")).locator("visible=true")
    page.wait_for_function("el => el.value === 'Hello Anna in Paris'", arg=text.element_handle(), timeout=30_000)
    assert page.get_by_role("tab", name=say("tab_ner")).get_attribute("aria-selected") == "true"
    assert "someone/else" not in page.locator("body").inner_text()
    page.close()


def test_the_api_compares_and_chains_as_a_client_does(url):
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    *answers, facts, agreement = client.predict("Alice lives in Paris.", None, "", None, "",
                                                api_name="/compare_ner")
    assert len(answers) == 4 and [row[0] for row in facts["data"]] == ["A", "B"]
    assert agreement.startswith("**Agreement:**")
    text, table, steps = client.predict(ARROW.join(("object_detection", "image_classification")), None, None,
                                        handle_file(PHOTOS[0]), "en", "de", 0.05, api_name="/run_chain")
    assert [step["task"] for step in steps] == ["object_detection", "image_classification"]
    assert len(table["data"]) == len(steps[0]["table"]["data"])
    with pytest.raises(Exception, match="Step 1 .Translation. failed: The text is 6,000 characters long"):
        client.predict("translation → ner", "x" * 6000, None, None, "en", "de", 0.5, api_name="/run_chain")
