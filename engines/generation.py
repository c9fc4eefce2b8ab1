"""Generating text that streams and stops: the sampling settings, checked, and generate() on a torch thread whose
stream, closed, stops the model within one step (or at the server's time limit)."""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from engines.context import Context
from engines.params import Real, Whole
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from models.backends import OUT_OF_TIME
from models.ctranslate2_models import Generator
from models.llama_cpp_models import LlamaCppModel
from tasks import MAX_SEED

MAX_NEW_TOKENS = 1024
MIN_TEMPERATURE, MIN_TOP_P = 0.01, 0.01
# The sampling settings of every endpoint that generates text, as their functions take them.
SAMPLING_PARAMS = {"max_new_tokens": Whole("param_max_new_tokens", 1, MAX_NEW_TOKENS),
                   "temperature": Real("param_temperature", 0.0, 2.0), "top_p": Real("param_top_p", MIN_TOP_P, 1.0),
                   "seed": Whole("param_seed", 0, MAX_SEED)}

# Seeding the global generator and sampling must not interleave between two requests.
_SAMPLING_LOCK = threading.Lock()


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = 0


DEFAULT_SAMPLING = Sampling()  # the one place the defaults are: the endpoints, the sliders and the workers read it


def sampling(max_new_tokens: int, temperature: float, top_p: float, seed: int) -> Sampling:
    """The settings as SAMPLING_PARAMS checked them. A temperature under MIN_TEMPERATURE picks the likeliest
    tokens, as 0 does: dividing the scores by it would overflow them (5e-324 makes every score infinite)."""
    return Sampling(max_new_tokens, temperature if temperature >= MIN_TEMPERATURE else 0.0, top_p, seed)


class StopSignal:
    """A stopping criterion that ends generate() once set; it also counts the steps that really ran."""

    def __init__(self):
        self.event = threading.Event()
        self.steps, self.last_token = 0, None

    def __call__(self, input_ids, scores, **kwargs):
        self.steps += 1
        self.last_token = int(input_ids[0, -1])
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class PastDeadline:
    """A stopping criterion that ends generate() at a time.monotonic() deadline: where one request makes several
    generate() calls (a long recording's chunks), their time together is bounded, not only each call's."""

    def __init__(self, deadline: float):
        self.deadline = deadline

    def __call__(self, input_ids, scores, **kwargs):
        return torch.full((input_ids.shape[0],), time.monotonic() > self.deadline, dtype=torch.bool,
                          device=input_ids.device)


def fit_context(lm, input_ids: torch.Tensor, max_new_tokens: int, context: Context) -> torch.Tensor:
    """Keep the prompt's last tokens when prompt and reply would not fit the model's context; say so."""
    budget = lm.context_length - max_new_tokens
    if budget < 1:
        raise refuse("refuse_context_too_short", context=lm.context_length)
    if input_ids.shape[1] > budget:
        context.warning("warning_prompt_cut", tokens=input_ids.shape[1] - budget)
        input_ids = input_ids[:, -budget:]
    return input_ids


def say_how_it_ended(reason: str, max_new_tokens: int, context: Context) -> None:
    """A reply that stopped before its end says why, under it, as a warning; the text so far stays. `reason`: a
    finish reason as OpenAI's API names them ("length": at the token limit), or OUT_OF_TIME."""
    if reason == OUT_OF_TIME:
        context.warning("warning_reply_out_of_time", seconds=context.timeout_s)
    elif reason == "length":
        context.warning("warning_reply_token_limit", tokens=max_new_tokens)


def _ids(value) -> list:
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


def stream_generate(runtime: ModelRuntime, lm, input_ids: torch.Tensor, sampling: Sampling,
                    context: Context) -> Iterator[str]:
    """Yield the growing generated text, generated on a torch thread. Closing the iterator stops the model
    within one step; so does the request's deadline."""
    from transformers import StoppingCriteriaList, TextIteratorStreamer

    stop = StopSignal()
    tokenizer = lm.tokenizer
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    sampling_kwargs = (
        {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p}
        if sampling.temperature > 0
        else {"do_sample": False}
    )
    input_ids = input_ids.to(lm.model.device)
    failures: list[BaseException] = []
    out_of_time = threading.Event()

    def generate():
        try:
            with _SAMPLING_LOCK, torch.inference_mode():
                torch.manual_seed(sampling.seed)
                lm.model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    max_new_tokens=sampling.max_new_tokens,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([stop]),
                    max_time=max(0.0, context.left()),
                    pad_token_id=tokenizer.eos_token_id if tokenizer.pad_token_id is None else tokenizer.pad_token_id,
                    **sampling_kwargs,
                )
                if context.out_of_time():
                    out_of_time.set()
        except BaseException as error:  # handed to the consumer, which raises it in the request
            failures.append(error)
            streamer.end()

    job = runtime.torch_threads.submit(generate)
    text = ""
    try:
        for piece in streamer:
            if piece:
                text += piece
                yield text
        job.result()  # generate() has returned (the streamer ends just before): failures and time are known
        if failures:
            raise failures[0]
        ends = {lm.tokenizer.eos_token_id, *_ids(lm.model.generation_config.eos_token_id)}
        at_token_limit = stop.steps >= sampling.max_new_tokens and stop.last_token not in ends
        say_how_it_ended(OUT_OF_TIME if out_of_time.is_set() else "length" if at_token_limit else "stop",
                         sampling.max_new_tokens, context)
        if not text:
            yield text
    finally:
        stop.event.set()
        if not job.cancel():  # not started yet (waiting for the device): it never will
            job.result()
        lm.tokens_generated += stop.steps


def _token_stream(runtime: ModelRuntime, lm, sampling: Sampling, context: Context,
                  produce: Callable[[Callable[[int], bool]], None]) -> Iterator[str]:
    """The growing text of the tokens that `produce(on_token)` generates on a torch thread, handing each to
    `on_token`, which answers True when the generation must end: the iterator was closed (Stop), the request's time
    is up, or the token limit is reached. How it ended is said as stream_generate says it."""
    handed: queue.Queue = queue.Queue()
    stop = threading.Event()
    ended = {"reason": "stop", "tokens": 0}

    # on_token holds nothing of the model: CTranslate2 lets go of its callback on its own thread, and had that
    # been the model's last reference (a closed runtime), the model would join that thread from itself (an abort).
    def on_token(token: int) -> bool:
        ended["tokens"] += 1
        handed.put(token)
        if context.out_of_time():
            ended["reason"] = OUT_OF_TIME
        elif ended["tokens"] >= sampling.max_new_tokens:
            ended["reason"] = "length"
        return stop.is_set() or ended["reason"] != "stop"

    def generate():
        try:
            produce(on_token)
        finally:
            lm.tokens_generated += ended["tokens"]
            handed.put(None)

    job = runtime.torch_threads.submit(generate)
    ids: list[int] = []
    text = ""
    try:
        while (token := handed.get()) is not None:
            ids.append(token)
            grown = lm.tokenizer.decode(ids, skip_special_tokens=True)
            if grown != text and not grown.endswith("\ufffd"):  # a character's bytes may come in several tokens
                text = grown
                yield text
        job.result()  # its failure, raised here in the request
        say_how_it_ended(ended["reason"], sampling.max_new_tokens, context)
        whole = lm.tokenizer.decode(ids, skip_special_tokens=True)
        if whole != text or not text:
            yield whole
    finally:
        stop.set()
        if not job.cancel():
            job.result()


def stream_generate_ctranslate2(runtime: ModelRuntime, lm: Generator, input_ids: torch.Tensor, sampling: Sampling,
                                context: Context) -> Iterator[str]:
    """stream_generate's contract on CTranslate2. Its sampling is not seeded (CTranslate2's generator is per thread,
    seeded once): a sampled reply varies from run to run; temperature 0 repeats."""
    greedy = sampling.temperature == 0
    end_tokens = frozenset(lm.end_tokens)

    def produce(on_token):
        # An end token ends the reply there: it is not text, and not the limit's doing.
        lm.generate(lm.tokenizer.convert_ids_to_tokens(input_ids[0].tolist()),
                    lambda step: step.token in end_tokens or on_token(step.token_id),
                    max_length=sampling.max_new_tokens, sampling_topk=1 if greedy else 0,
                    sampling_topp=1.0 if greedy else sampling.top_p,
                    sampling_temperature=1.0 if greedy else sampling.temperature)

    yield from _token_stream(runtime, lm, sampling, context, produce)


def stream_generate_llama_cpp(runtime: ModelRuntime, lm: LlamaCppModel, input_ids: torch.Tensor,
                              sampling: Sampling, context: Context) -> Iterator[str]:
    """stream_generate's contract on llama.cpp, seeded as PyTorch is: the same seed repeats a sampled reply."""

    def produce(on_token):
        with lm.lock:  # one llama.cpp context: one generation at a time
            lm.llm.set_seed(sampling.seed)
            tokens = lm.llm.generate(input_ids[0].tolist(), top_k=0, top_p=sampling.top_p, min_p=0.0,
                                     temp=sampling.temperature, repeat_penalty=1.0, reset=True)
            for token in tokens:
                if token in lm.end_ids or on_token(token):
                    break

    yield from _token_stream(runtime, lm, sampling, context, produce)
