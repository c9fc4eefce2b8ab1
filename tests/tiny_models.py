"""Tiny models of the real architectures, built offline: random or briefly trained weights, real label names.

They are saved to a directory and loaded by path through the hub's own loaders, so tests run the same code
that serves hub ids.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch

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


def _wordpiece_tokenizer(corpus: list[str], model_max_length: int):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=400, special_tokens=special))
    return BertTokenizerFast(tokenizer_object=tok, model_max_length=model_max_length)


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
