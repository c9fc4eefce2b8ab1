"""Live speech to text: audio arrives in short chunks while the person speaks, and the text is shown as it forms.

The policy is whisper_streaming's LocalAgreement (Macháček et al., 2023), on the speech tab's own engine: the open
utterance is read again each time enough new audio has come, and the words that two readings in a row agree on
become stable; the rest of the latest reading is the tentative tail. Beyond it:
- Silence is never read: the Silero voice-activity detector (shipped with faster-whisper) marks speech per 32 ms
  window, and a pause of PAUSE_S closes the utterance as a segment with its times. A stable word never changes:
  each reading reads the whole open utterance, and its words are aligned after the stable ones by their last.
- The newest reading's last word is never agreed on (the audio may end inside it), and an utterance's first
  reading waits for MIN_FIRST_READING_S of it: a word's start alone reads as another word.
- Each reading reads the open utterance after the one closed before it (when that ended less than CONTEXT_GAP_S
  earlier), as the file mode reads a sentence among its neighbours. The closing reading decodes with the file
  mode's beam, the others greedily.
- On CTranslate2 the encoder reads the utterance's own length rather than Whisper's 30 s window
  (engines/speech_to_text.py): most of a reading's time on a CPU.
- The engine's share of the time is capped: a reading starts no sooner than its predecessor's duration divided
  by BUSY_SHARE after that one started, so two live streams fit on one device.
- Every reading is bounded: an utterance is closed at MAX_UTTERANCE_S, and a reading may write at most a few
  tokens per second of audio (a hallucinating model cannot loop for the rest of its window).

`LiveTranscript` is the policy (no threads, no model); `LiveTranscriber` drives one stream on a runtime's torch
threads; both know nothing of Gradio (the speech tab, its API and the benchmark use them alike)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy as np

from engines.media import SAMPLE_RATE

CHUNK_S = 0.1  # how often the page sends the microphone's audio (Gradio 6's recorder sends a tenth of a second)
MAX_CHUNK_S = 5.0  # a chunk longer than this is refused: a reading's work is bounded by its audio
PAUSE_S = 0.6  # this much silence after speech closes an utterance
LEAD_IN_S = 0.3  # kept before the first speech window: a word's onset is often below the detector's threshold
CONTEXT_GAP_S = 3.0  # an utterance closed at most this long before the open one is read with it
MAX_UTTERANCE_S = 20.0  # an utterance this long is closed without a pause
MAX_READING_S = 25.0  # a reading's audio, its context included (Whisper reads 30 s at most, with silence after)
MIN_NEW_AUDIO_S = 0.3  # a reading waits for at least this much audio it has not read
HELD_BACK_WORDS = 1  # the newest reading's last word is not agreed on yet: the audio may end inside it
MIN_FIRST_READING_S = 1.0  # and an utterance's first, for this much of it: a word's start alone reads as another
BUSY_SHARE = 0.6  # at most this share of the stream's time is spent reading
VAD_WINDOW = 512  # samples per voice-activity decision (32 ms at 16 kHz), as Silero VAD takes them
SPEECH_PROBABILITY = 0.5
PROMPT_CHARACTERS = 200  # of the text before an utterance, given to the model as context
TOKENS_PER_SECOND = 6  # a reading may write this many tokens per second of audio, plus TOKEN_ALLOWANCE
TOKEN_ALLOWANCE = 8
LIVE_LIMIT_S = 2 * 60  # a live stream's length (the page and README say it): 1,200 chunks, each a file
LIVE_STREAMS = 2  # live streams at once, of each live tab: each holds a worker of the server while it lasts

# Reads `samples` (the open utterance after its context), given the text before them, with the file mode's beam
# when the reading closes the utterance; returns their words.
Recognize = Callable[[np.ndarray, str, bool], list[str]]


@dataclass
class LiveView:
    stable: str  # never changes once shown: every closed segment and the agreed start of the open one
    tentative: str  # the latest reading's words beyond the stable ones
    segments: list[list] = field(default_factory=list)  # closed utterances: [start s, end s, text]

    @property
    def text(self) -> str:
        return " ".join(part for part in (self.stable, self.tentative) if part)


class LiveTranscript:
    """One stream's audio and text, and the LocalAgreement policy. `hear` takes audio, `reading` says what to read
    next, `read` takes what the model heard in it; thread-safe (audio comes on one thread, readings end on
    another).

    Speech is heard as spans, [start, end] of its windows, a new span after each pause: the first span is the open
    utterance, and a later one waits for it to close (a reading in flight may not see a pause before speech goes
    on). The audio kept is the open utterance with a lead-in, after the utterance closed before it (its context)
    where no more than CONTEXT_GAP_S of silence lies between them: a reading reads both, and its words are aligned
    after the context's."""

    def __init__(self, speech_probabilities: Callable[[np.ndarray], np.ndarray]):
        self._speech_probabilities = speech_probabilities
        self._lock = threading.Lock()
        self.audio = np.zeros(0, np.float32)  # the context, then the open utterance (or the latest lead-in)
        self.start = 0.0  # the stream's time at self.audio[0]
        self.heard = 0.0  # the stream's time at the end of all audio received
        self._undecided = np.zeros(0, np.float32)  # samples short of a whole voice-activity window
        self.spans: list[list[float]] = []  # speech not yet closed: the open utterance's, then any after a pause
        self.context: list[str] = []  # the words of the closed utterance kept before it
        self.context_to = 0.0  # where that utterance's speech ended
        self.agreed: list[str] = []  # the open utterance's stable words
        self.latest: list[str] = []  # the latest reading's words after `agreed`
        self.read_to = 0.0  # the stream's time up to which the open utterance was last read
        self.segments: list[list] = []

    def hear(self, samples: np.ndarray) -> None:
        with self._lock:
            windows = np.concatenate([self._undecided, samples.astype(np.float32)])
            whole = len(windows) // VAD_WINDOW * VAD_WINDOW
            self._undecided = windows[whole:]
            if whole:
                speech = self._speech_probabilities(windows[:whole]) >= SPEECH_PROBABILITY
                for index in np.flatnonzero(speech):
                    at = self.heard - len(windows) / SAMPLE_RATE + (len(samples) + index * VAD_WINDOW) / SAMPLE_RATE
                    if self.spans and at - self.spans[-1][1] < PAUSE_S:
                        self.spans[-1][1] = at + VAD_WINDOW / SAMPLE_RATE
                    else:
                        self.spans.append([at, at + VAD_WINDOW / SAMPLE_RATE])
            self.audio = np.concatenate([self.audio, samples.astype(np.float32)])
            self.heard += len(samples) / SAMPLE_RATE
            if not self.spans:
                self._keep_lead_in()

    def _keep_lead_in(self) -> None:
        """No speech to read: keep the context while it is near enough, and a lead-in."""
        if self.context and self.heard - self.context_to > CONTEXT_GAP_S:
            self.context = []
        if not self.context:
            self._drop_until(self.heard - LEAD_IN_S)

    def _drop_until(self, time_s: float) -> None:
        cut = int(round((time_s - self.start) * SAMPLE_RATE))
        if cut > 0:
            self.audio = self.audio[cut:]
            self.start += cut / SAMPLE_RATE

    def _samples(self, start: float, end: float) -> np.ndarray:
        return self.audio[max(0, int(round((start - self.start) * SAMPLE_RATE))):
                          int(round((end - self.start) * SAMPLE_RATE))]

    def pause_heard(self) -> bool:
        """Whether the open utterance has ended: a pause after its speech, or its length at MAX_UTTERANCE_S."""
        if not self.spans:
            return False
        start, end = self.spans[0]
        return len(self.spans) > 1 or self.heard - end >= PAUSE_S or end - start >= MAX_UTTERANCE_S

    def reading(self, final: bool = False) -> tuple[np.ndarray, bool, float] | None:
        """(samples, closes, up to) to read next, or None when there is nothing new to read. A reading that
        closes the utterance (a pause was heard, or `final`) reads up to its last speech, after its context."""
        with self._lock:
            if not self.spans:
                return None
            start, end = self.spans[0]
            closes = final or self.pause_heard()
            if not closes and (self.heard - self.read_to < MIN_NEW_AUDIO_S
                               or self.heard - start < MIN_FIRST_READING_S):
                return None
            up_to = min(self.heard, end + LEAD_IN_S) if closes else self.heard
            if self.context and up_to - self.start > MAX_READING_S:  # the context does not fit beside it
                self.context = []
                self._drop_until(start - LEAD_IN_S)
            return self._samples(self.start, up_to), closes, up_to

    def read(self, words: list[str], closes: bool, up_to: float) -> None:
        """The words the model read in the reading `reading` gave."""
        with self._lock:
            heard = _after([*self.context, *self.agreed], words)
            if closes:
                start, end = self.spans.pop(0)
                text = " ".join([*self.agreed, *heard]).strip()
                if text:
                    self.segments.append([round(start, 2), round(min(end, up_to), 2), text])
                    self._drop_until(start - LEAD_IN_S)
                    self.context, self.context_to = text.split(), min(end, up_to)
                self.agreed, self.latest, self.read_to = [], [], up_to
                if self.spans:  # the next utterance: its context and lead-in kept, nothing between
                    self._drop_until(self.spans[0][0] - LEAD_IN_S if not self.context else self.start)
                else:
                    self._keep_lead_in()
                return
            agree, most = 0, min(len(heard) - HELD_BACK_WORDS, len(self.latest))
            while agree < most and _same(heard[agree], self.latest[agree]):
                agree += 1
            self.agreed += heard[:agree]
            self.latest = heard[agree:]
            self.read_to = up_to

    def prompt(self) -> str:
        """The text before what a reading reads (the open utterance, after its context), as its context."""
        with self._lock:
            texts = [text for _, _, text in self.segments]
            return " ".join(texts[:-1] if self.context else texts)[-PROMPT_CHARACTERS:]

    def view(self) -> LiveView:
        with self._lock:
            stable = " ".join([*(text for _, _, text in self.segments), *self.agreed])
            return LiveView(stable, " ".join(self.latest), [list(segment) for segment in self.segments])


def _after(agreed: list[str], words: list[str]) -> list[str]:
    """A reading's words after the stable ones (and its context's): after the last stretch of words both have
    (difflib), counting on past it the stable words the reading does not have. A reading may add, drop or read
    differently a word among them."""
    from difflib import SequenceMatcher

    if not agreed:
        return words
    both = [block for block in SequenceMatcher(None, [_bare(word) for word in agreed], [_bare(word) for word in words],
                                               autojunk=False).get_matching_blocks() if block.size]
    if not both:
        return words[len(agreed):]
    last = both[-1]
    return words[last.b + last.size + len(agreed) - (last.a + last.size):]


def _same(word: str, other: str) -> bool:
    """Two readings agree on a word whatever its case and punctuation ("world," and "World")."""
    return _bare(word) == _bare(other)


def _bare(word: str) -> str:
    return "".join(character for character in word.casefold() if character.isalnum())


class LiveTranscriber:
    """One live stream on a runtime: `feed` each chunk of audio as it comes (on the request's thread), `finish` at
    the end. Readings run on the runtime's torch threads, one at a time per stream, so a chunk's answer never
    waits for a model and other requests take turns with them."""

    def __init__(self, submit: Callable[..., Future], recognize: Recognize, speech_probabilities):
        """`submit` runs a reading in the background (the runtime's torch threads for a model in this process)."""
        self.submit, self.recognize = submit, recognize
        self.transcript = LiveTranscript(speech_probabilities)
        self._turn = threading.Lock()  # a chunk's feed and the stream's finish (Stop) may come on two threads
        self._reading: Future | None = None
        self._next_at = 0.0  # time.monotonic() before which no reading starts (BUSY_SHARE)
        self.busy_s = 0.0  # the time spent reading (the benchmark reports its share)
        self.readings = 0

    def feed(self, samples: np.ndarray) -> LiveView:
        """The text so far, at once: a reading in flight shows with a later chunk. The page's next chunk replaces
        this one if it comes before this answer (Gradio keeps a stream's newest input only)."""
        with self._turn:
            if self._reading is not None and self._reading.done():
                self._collect(0)
            self.transcript.hear(samples)
            if self._reading is None and time.monotonic() >= self._next_at:
                self._start_reading()
            return self.transcript.view()

    def finish(self) -> LiveView:
        """The text once the stream ends: the reading in flight, then one that closes each utterance left."""
        with self._turn:
            if self._reading is not None:
                self._collect(None)
            while self.transcript.spans:
                self._start_reading(final=True)
                self._collect(None)
            return self.transcript.view()

    def _start_reading(self, final: bool = False) -> None:
        reading = self.transcript.reading(final)
        if reading is not None:
            self._reading = self.submit(self._read, *reading, self.transcript.prompt())

    def _read(self, samples, closes, up_to, prompt) -> None:
        started = time.monotonic()
        heard = self.recognize(samples, prompt, closes)
        spent = time.monotonic() - started
        self.busy_s += spent
        self.readings += 1
        self._next_at = started + spent / BUSY_SHARE
        self.transcript.read(heard, closes, up_to)

    def _collect(self, wait: float | None) -> None:
        try:
            self._reading.result(timeout=wait)
        except FutureTimeout:
            return
        finally:
            if self._reading.done():
                self._reading = None


def chunks_of(samples: np.ndarray, seconds: float = CHUNK_S) -> Iterator[np.ndarray]:
    step = int(seconds * SAMPLE_RATE)
    for start in range(0, len(samples), step):
        yield samples[start:start + step]


def token_limit(samples: np.ndarray) -> int:
    return int(TOKENS_PER_SECOND * len(samples) / SAMPLE_RATE) + TOKEN_ALLOWANCE


def silero_speech_probabilities() -> Callable[[np.ndarray], np.ndarray]:
    """Silero VAD (faster-whisper's copy, on onnxruntime, one thread): the probability of speech per window."""
    from faster_whisper.vad import get_vad_model

    model = get_vad_model()
    return lambda samples: model(samples, num_samples=VAD_WINDOW).reshape(-1)
