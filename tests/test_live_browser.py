"""The live tabs in a real browser: Chromium's fake microphone plays the English example clip and a pause, and its
fake camera shows the example photos, as a person's would. On the tiny models the words are not English (the
opt-in tests/test_real_whisper.py checks them on whisper-base): here the page must show live text while the clip
plays, close it into segments on Stop, offer the transcript, box the camera's frames, and keep a visitor to one
stream."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PageTimeout

from conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from demos.live import ENDED_AFTER_S
from engines.speech_to_text import EXAMPLES as CLIPS
from messages import say

pytestmark = pytest.mark.browser
PHOTOS = Path(__file__).resolve().parent.parent / "assets" / "examples" / "images"


def camera_file(path: Path, side: tuple[int, int] = (640, 480), frames_each: int = 10) -> Path:
    """The example photos as a Y4M video (4:2:0), which Chromium's fake camera plays in a loop."""
    width, height = side
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode())
        for photo in sorted(PHOTOS.glob("*.jpg")):
            planes = np.asarray(Image.open(photo).convert("RGB").resize(side).convert("YCbCr"))
            frame = b"FRAME\n" + planes[:, :, 0].tobytes() + planes[::2, ::2, 1].tobytes() + \
                planes[::2, ::2, 2].tobytes()
            video.write(frame * frames_each)
    return path


def microphone_file(path: Path) -> Path:
    """The English example followed by two seconds of silence, which Chromium's fake microphone plays in a loop: a
    person speaking a sentence at a time."""
    import soundfile

    samples, rate = soundfile.read(CLIPS[0], dtype="int16")
    soundfile.write(path, np.concatenate([samples, np.zeros(2 * rate, np.int16)]), rate, subtype="PCM_16")
    return path


def devices_browser_launched(playwright, folder: Path):
    """Chromium with a fake microphone and camera (made from the examples), allowed without asking."""
    video, audio = camera_file(folder / "photos.y4m"), microphone_file(folder / "sentences.wav")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-audio-capture={audio}", f"--use-file-for-fake-video-capture={video}"])


@pytest.fixture(scope="module")
def devices_browser(playwright, tmp_path_factory):
    browser = devices_browser_launched(playwright, tmp_path_factory.mktemp("devices"))
    yield browser
    browser.close()


def new_page(browser, locale: str, viewport: tuple[int, int]):
    context = browser.new_context(locale=locale, viewport={"width": viewport[0], "height": viewport[1]},
                                  permissions=["microphone", "camera"])
    return context.new_page()


def open_live(page, url: str, tab_key: str, language: str) -> None:
    from test_browser import open_tab

    page.goto(url)
    page.wait_for_selector("button[role=tab]")
    open_tab(page, say(tab_key, language))
    page.get_by_role("tab", name=say("speech_mode_live", language), exact=True).locator("visible=true").click()


def transcript(page) -> str:
    return page.locator("#speech-to-text-output textarea").input_value()


# A Gradio table's rows as shown: its <table> holds the header and a hidden row that sizes the columns (each the
# widest value of its column), and the rows are a grid of their own.
TABLE_ROWS = "[role=row]:has([role=gridcell])"


def segment_rows(page) -> list[list[str]]:
    """The segments table's rows, as their cells' text."""
    return page.locator("#speech-segments").evaluate(
        f"e => [...e.querySelectorAll('{TABLE_ROWS}')].map(r => [...r.querySelectorAll('[role=gridcell]')]"
        ".map(c => c.textContent.trim()))")


# On a busy 2-core machine the browser, on the same CPU as the server, sends the clip at a third of its speed or
# less, and a random model may read an utterance as no words: text can take two utterances, 30 s or more.
LIVE_TEXT_WAIT_MS = 60_000


def start_recording(page) -> None:
    """Record once the page knows its microphone (its list of devices is filled), as a person clicks once the tab
    shows it, until the page sends its stream. On a starved CPU, Chromium's fake microphone sometimes starts (the
    page shows Stop) yet the page never sends a chunk: the server is never asked (seen in the browser's requests).
    A person would press Stop and Record again; so does this, three times at most."""
    microphone = page.locator("#speech-live-microphone")
    microphone.locator("select.mic-select option").first.wait_for(state="attached", timeout=30_000)
    for _ in range(3):
        try:
            with page.expect_request(lambda sent: sent.method == "POST" and "/queue/join" in sent.url,
                                     timeout=15_000):
                microphone.locator(".record-button").click()
            return
        except PageTimeout:
            microphone.locator(".stop-button").click()
            microphone.locator(".record-button").wait_for(timeout=30_000)
    raise AssertionError("the page sent no stream in three recordings")


def wait_for_live_text(page) -> None:
    """Until the live transcript shows a word; else what the page said instead."""
    try:
        page.wait_for_function("() => document.querySelector('#speech-to-text-output textarea').value.trim()",
                               timeout=LIVE_TEXT_WAIT_MS)
    except PageTimeout:
        raise AssertionError(f"no live text in {LIVE_TEXT_WAIT_MS // 1000} s; the page says {message(page)!r}, "
                             f"tentative {page.locator('#speech-live-tentative').inner_text()!r}") from None


def message(page) -> str:
    return "\n".join(page.locator(".tab-message:visible .prose").all_inner_texts()).strip()


def start_camera(page) -> None:
    camera = page.locator("#detection-live-camera")
    camera.locator("[title='grant webcam access'] button").click()
    camera.locator("button.capture-button").click()


@pytest.mark.parametrize("locale, viewport", [("en-US", (1280, 1000)), ("zh-CN", (390, 844))],
                         ids=["english-desktop", "chinese-phone"])
def test_live_speech_shows_text_while_the_clip_plays(devices_browser, url, locale, viewport):
    language = locale[:2]
    page = new_page(devices_browser, locale, viewport)
    open_live(page, url, "tab_speech_to_text", language)
    start_recording(page)
    wait_for_live_text(page)
    seen = [transcript(page)]
    page.wait_for_timeout(3000)
    seen.append(transcript(page))
    assert seen[1].startswith(seen[0]), "stable text only grows"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"live-speech-{locale}-{viewport[0]}.png", full_page=True)
    page.locator("#speech-live-microphone .stop-button").click()
    download = page.get_by_role("button", name=say("speech_live_download", language))
    download.wait_for(timeout=30_000)
    with page.expect_download() as downloaded:
        download.click()
    # one line per segment, or the (empty) transcript alone when no utterance had words
    lines = Path(downloaded.value.path()).read_text(encoding="utf-8").splitlines() if transcript(page) else []
    page.wait_for_function(f"n => document.querySelectorAll('#speech-segments {TABLE_ROWS}').length == n",
                           arg=len(lines), timeout=10_000)
    rows = segment_rows(page)
    assert all(len(row) == 3 and float(row[0]) < float(row[1]) and row[2] for row in rows), rows
    assert [f"[{float(start):.2f}–{float(end):.2f}]" for start, end, _ in rows] == \
        [line.split(" ", 1)[0] for line in lines], "the download holds the table's segments"
    assert page.locator("#speech-live-tentative").inner_text().strip() == "", "nothing is left tentative"
    assert message(page) == ""
    page.screenshot(path=SCREENSHOTS / f"live-speech-stopped-{locale}-{viewport[0]}.png", full_page=True)
    page.context.close()


def test_one_live_stream_per_visitor_and_a_closed_tab_ends_its_stream(devices_browser, url):
    """A visitor speaking in one window who turns the camera on in another is refused in words; once the first
    window is closed mid-stream (no Stop is sent), its stream ends and the camera's frames are boxed."""
    speaking, watching = (new_page(devices_browser, "en-US", (1280, 1000)) for _ in range(2))
    open_live(speaking, url, "tab_speech_to_text", "en")
    start_recording(speaking)
    wait_for_live_text(speaking)
    open_live(watching, url, "tab_object_detection", "en")
    start_camera(watching)
    watching.locator(".tab-message:visible .prose").filter(
        has_text=say("refuse_one_live_stream")[:40]).first.wait_for(timeout=30_000)
    assert watching.locator("#detection-live-output img").count() == 0
    speaking.context.close()
    watching.locator("#detection-live-output img").first.wait_for(timeout=(ENDED_AFTER_S + 30) * 1000)
    assert message(watching) == "", "the refusal goes once the camera's frames are boxed"
    watching.context.close()


@pytest.mark.parametrize("locale, viewport", [("en-US", (1280, 1000)), ("zh-CN", (390, 844))],
                         ids=["english-desktop", "chinese-phone"])
def test_live_detection_boxes_the_cameras_frames(devices_browser, url, locale, viewport):
    language = locale[:2]
    page = new_page(devices_browser, locale, viewport)
    open_live(page, url, "tab_object_detection", language)
    start_camera(page)
    frames = page.locator("#detection-live-output img")
    frames.first.wait_for(timeout=30_000)
    page.wait_for_function(f"() => document.querySelectorAll('#object-detection-output {TABLE_ROWS}').length > 0",
                           timeout=30_000)
    first = frames.first.get_attribute("src")
    page.wait_for_timeout(1500)
    assert frames.first.get_attribute("src") != first, "the boxed picture follows the camera"
    assert first.startswith("data:image/jpeg;base64,")
    assert message(page) == ""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"live-detection-{locale}-{viewport[0]}.png", full_page=True)
    page.context.close()
