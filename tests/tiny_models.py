"""Tiny models of the real architectures, built offline: random or briefly trained weights, real label names.

They are saved to a directory and loaded by path through the hub's own loaders, so tests run the same code
that serves hub ids.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch

from tiny_detectors import make_ssdlite_detector
from tiny_media_models import make_ctranslate2_whisper, make_instruct_pix2pix_pipeline, make_torchvision_classifier

NER_LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

_PEOPLE = ["Alice", "Bob", "Angela", "Wolfgang", "Marie", "Tim", "李明", "王芳"]
_ORGS = ["Acme", "Siemens", "Apple", "Airbus", "Google", "华为"]
_PLACES = ["Paris", "Berlin", "London", "Shanghai", "Tokyo", "北京"]
_TEMPLATES = [
    "{PER} works for {ORG} in {LOC} .",
    "{PER} met {PER} at the {ORG} office .",
    "yesterday {PER} flew to {LOC} with friends .",
    "the company {ORG} opened a shop in {LOC} .",
    "{PER} 在 {LOC} 的 {ORG} 工作 。",
]


def ner_sentences(count: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """Sentences with word-level BIO tags, from templates: enough signal for a tiny model to learn."""
    rng = random.Random(seed)
    pools = {"PER": _PEOPLE, "ORG": _ORGS, "LOC": _PLACES}
    sentences = []
    for _ in range(count):
        words, tags = [], []
        for token in rng.choice(_TEMPLATES).split():
            kind = token.strip("{}") if token.startswith("{") else None
            words.append(rng.choice(pools[kind]) if kind else token)
            tags.append(f"B-{kind}" if kind else "O")
        sentences.append((words, tags))
    return sentences


def _wordpiece_tokenizer(corpus: list[str], model_max_length: int, vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=special))
    return BertTokenizerFast(tokenizer_object=tok, model_max_length=model_max_length, do_lower_case=False)


def make_ner_model(directory: Path, *, train_steps: int = 60, max_positions: int = 64, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT token classifier with the CoNLL label set, trained briefly on templates."""
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(seed)
    data = ner_sentences(200, seed)
    corpus = [" ".join(words) for words, _ in data] + ["Emmanuel Macron met Tim Cook in the European Union"]
    tokenizer = _wordpiece_tokenizer(corpus, max_positions)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=max_positions,
        id2label=dict(enumerate(NER_LABELS)), label2id={label: i for i, label in enumerate(NER_LABELS)},
    )
    model = BertForTokenClassification(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-3)
    label_id = config.label2id
    for step in range(train_steps):
        batch = data[(step * 16) % len(data):][:16]
        enc = tokenizer([w for w, _ in batch], is_split_into_words=True, padding=True, return_tensors="pt")
        labels = torch.full(enc["input_ids"].shape, -100)
        for row, (_, tags) in enumerate(batch):
            for position, word in enumerate(enc.word_ids(row)):
                if word is not None:
                    labels[row, position] = label_id[tags[word]]
        loss = model(**enc, labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


SENTIMENT_LABELS = ["NEGATIVE", "POSITIVE"]  # distilbert-base-uncased-finetuned-sst-2-english's


def make_sentiment_model(directory: Path) -> Path:
    """A random-weight 2-layer BERT sequence classifier with SST-2's labels and a WordPiece vocabulary trained here."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    corpus = ["I love this product , it is amazing !", "the battery died after two days .", "这家餐厅的菜很好吃。",
              "the film was far too long but the ending was good ."]
    tokenizer = _wordpiece_tokenizer(corpus * 4, model_max_length=64, vocab_size=200)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=64, id2label=dict(enumerate(SENTIMENT_LABELS)),
        label2id={label: i for i, label in enumerate(SENTIMENT_LABELS)},
    )
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


TRANSLATION_CORPUS = {
    "en": ["the cat sleeps on the sofa .", "we read books in the library .", "machine translation is useful .",
           "good morning , how are you ?", "the weather is lovely today ."],
    "de": ["die katze schläft auf dem sofa .", "wir lesen bücher in der bibliothek .", "guten morgen !"],
    "zh": ["猫在沙发上睡觉。", "我们在图书馆看书。", "机器翻译很有用。", "今天天气很好。"],
    "fr": ["le chat dort sur le canapé .", "nous lisons des livres ."],
}


def _train_sentencepiece(path: Path, sentences: list[str], vocab_size: int = 60) -> list[str]:
    """Train a sentencepiece model to `path`; returns its pieces."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences * 20), model_writer=model, vocab_size=vocab_size,
        hard_vocab_limit=False, character_coverage=1.0, model_type="unigram", minloglevel=2,
    )
    path.write_bytes(model.getvalue())
    processor = spm.SentencePieceProcessor(model_file=str(path))
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _seq2seq_sizes() -> dict:
    return dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128)


def make_marian_model(directory: Path, source: str = "en", target: str = "zh", target_tokens=(">>cmn_Hans<<",)) -> Path:
    """A random-weight Marian translation model with source/target sentencepiece models trained here.

    `target_tokens` makes it multi-target like opus-mt-en-zh, which wants e.g. >>cmn_Hans<< first.
    """
    import json

    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    torch.manual_seed(0)
    directory.mkdir(parents=True, exist_ok=True)
    pieces = _train_sentencepiece(directory / "source.spm", TRANSLATION_CORPUS[source])
    pieces += _train_sentencepiece(directory / "target.spm", TRANSLATION_CORPUS[target])
    tokens = ["</s>", "<unk>", *target_tokens]
    tokens += [p for p in dict.fromkeys(pieces) if p not in ("<unk>", "<s>", "</s>")] + ["<pad>"]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False))
    pad = len(tokens) - 1
    config = MarianConfig(
        vocab_size=len(tokens), pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad,
        forced_eos_token_id=0, **_seq2seq_sizes(),
    )
    MarianMTModel(config).save_pretrained(directory)
    MarianTokenizer(
        str(directory / "source.spm"), str(directory / "target.spm"), str(directory / "vocab.json"),
        model_max_length=128,
    ).save_pretrained(directory)
    return directory


def make_m2m100_model(directory: Path) -> Path:
    """A random-weight M2M100 with a sentencepiece model trained here; its tokenizer adds the __xx__ codes."""
    import json

    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    torch.manual_seed(0)
    directory.mkdir(parents=True, exist_ok=True)
    sentences = [s for corpus in TRANSLATION_CORPUS.values() for s in corpus]
    pieces = _train_sentencepiece(directory / "sentencepiece.bpe.model", sentences, vocab_size=120)
    tokens = ["<s>", "<pad>", "</s>", "<unk>"] + [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False))
    tokenizer = M2M100Tokenizer(
        str(directory / "vocab.json"), str(directory / "sentencepiece.bpe.model"), model_max_length=128
    )
    config = M2M100Config(
        # the __xx__ language codes are numbered after the pieces
        vocab_size=max(*tokenizer.get_vocab().values(), *tokenizer.lang_code_to_id.values()) + 1, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
        **_seq2seq_sizes(),
    )
    M2M100ForConditionalGeneration(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
LM_CORPUS = [
    "Once upon a time there was a small neural network that wanted to learn.",
    "Gradient descent walks downhill on the loss surface, one step at a time.",
    "深度学习模型从数据中学习。卷积神经网络用于图像识别。",
    "The quick brown fox jumps over the lazy dog. Hello, world!",
]


def _byte_level_tokenizer(special: list[str], **kwargs):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(LM_CORPUS * 5, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)


def _never_ends(model, eos_token_id: int) -> None:
    """Random weights would end at a random step; these tiny models never end on their own, so a short
    output in a test can only come from max_new_tokens or the Stop signal."""
    model.generation_config.eos_token_id = eos_token_id
    model.generation_config.suppress_tokens = [eos_token_id]


def make_qwen2_chat_model(directory: Path, max_positions: int = 2048) -> Path:
    """A random-weight Qwen2 chat model: byte-level BPE trained here, ChatML chat template."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = _byte_level_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], eos_token="<|im_end|>", pad_token="<|endoftext|>",
        model_max_length=max_positions,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=max_positions,
        tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    _never_ends(model, tokenizer.eos_token_id)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def make_llama_chat_model(directory: Path, max_positions: int = 2048) -> Path:
    """A random-weight Llama chat model, SmolLM2's architecture: byte-level BPE trained here, ChatML template."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = _byte_level_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], eos_token="<|im_end|>", bos_token="<|im_start|>",
        pad_token="<|endoftext|>", unk_token="<|endoftext|>", model_max_length=max_positions,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=max_positions,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    _never_ends(model, tokenizer.eos_token_id)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def make_gpt2_model(directory: Path, max_positions: int = 128) -> Path:
    """A random-weight GPT-2 (plain completion, no chat template), like distilgpt2."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tokenizer = _byte_level_tokenizer(
        ["<|endoftext|>"], eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="<|endoftext|>",
        model_max_length=max_positions,
    )
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=max_positions,
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    _never_ends(model, tokenizer.eos_token_id)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


# Each task's small model of its architecture, as the tests' runtime serves it (tasks.py lists the tasks): a
# factory (directory -> model directory), or the source of the small weights the project ships.
TINY = {
    "image_classification": make_torchvision_classifier,
    "object_detection": make_ssdlite_detector,
    "digits": "assets:digits-cnn",
    "ner": make_ner_model,
    "sentiment": make_sentiment_model,
    "translation": make_marian_model,
    "speech_to_text": make_ctranslate2_whisper,
    "gan": "assets:dcgan-digits",
    "pix2pix": "assets:pix2pix-scenes",
    "image_editing": make_instruct_pix2pix_pipeline,
    "text_generation": make_qwen2_chat_model,
}


def tiny_source(task: str, directory: Path) -> str:
    """The task's tiny model as `--model TASK=SOURCE` takes it, built in `directory` where it is built."""
    made = TINY[task]
    return made if isinstance(made, str) else str(made(directory))


def put_in_hf_cache(cache: Path, repo_id: str, files_from: Path, link: bool = False) -> None:
    """Lay a model out as huggingface_hub's cache does after a download (`link`: its files linked, not copied)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for f in files_from.iterdir():
        if link:
            (snapshot / f.name).symlink_to(f.resolve())
        else:
            (snapshot / f.name).write_bytes(f.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
