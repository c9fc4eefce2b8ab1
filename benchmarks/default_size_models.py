"""The hub's default architectures at their real sizes, with random weights, built offline.

Compute and memory are realistic; the answers are noise. Tokenizers are small ones trained here (their ids
fit the real vocabularies), so no download is needed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import tiny_detectors  # noqa: E402
import tiny_media_models as tmm  # noqa: E402
import tiny_models as tm  # noqa: E402


def ner_bert_base(directory: Path) -> Path:
    """dslim/bert-base-NER's shape: BERT-base (12 layers, 768 wide, 28,996-token vocabulary), 9 labels.

    The tokenizer learns the tab's examples as whole words, as the real 29k-word vocabulary mostly has them:
    the sequence length, which sets the compute, is then about the real one. (A few hundred word pieces split
    the first example into 57 tokens instead of 18, which made every forward three times too long.)"""
    from transformers import BertConfig, BertForTokenClassification

    from engines.ner import EXAMPLES

    corpus = [" ".join(words) for words, _ in tm.ner_sentences(200)] + EXAMPLES
    tokenizer = tm._wordpiece_tokenizer(corpus, 512, vocab_size=28_996)
    config = BertConfig(vocab_size=28_996, id2label=dict(enumerate(tm.NER_LABELS)),
                        label2id={label: i for i, label in enumerate(tm.NER_LABELS)})
    BertForTokenClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def distilbert_sst2(directory: Path) -> Path:
    """distilbert-base-uncased-finetuned-sst-2-english's shape: DistilBERT (6 layers, 768 wide, 30,522-token
    vocabulary), 2 labels; the tokenizer learns the tab's examples as whole words, as ner_bert_base's does."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from engines.sentiment import EXAMPLES

    tokenizer = tm._wordpiece_tokenizer([line for example in EXAMPLES for line in example.splitlines()] * 3, 512,
                                        vocab_size=30_522)
    labels = dict(enumerate(tm.SENTIMENT_LABELS))
    config = DistilBertConfig(vocab_size=30_522, id2label=labels, label2id={v: k for k, v in labels.items()})
    DistilBertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def opus_mt_en_de(directory: Path) -> Path:
    """Helsinki-NLP/opus-mt-en-de's shape: Marian 6+6 layers, 512 wide, 58,101-token vocabulary."""
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    tm.make_marian_model(directory, "en", "de", target_tokens=())
    # Its vocabulary file lists a token for every row, <pad> last, as the real one does (CTranslate2's converter
    # checks the count and leaves out that last <pad>).
    vocabulary = json.loads((directory / "vocab.json").read_text("utf-8"))
    words = vocabulary.pop("<pad>")  # the small vocabulary's last id: its words are those before
    vocabulary.update({f"filler{row}": row for row in range(words, 58_100)})
    vocabulary["<pad>"] = pad = 58_100
    (directory / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False), "utf-8")
    (directory / "tokenizer_config.json").unlink()  # it kept <pad>'s old id
    MarianTokenizer(str(directory / "source.spm"), str(directory / "target.spm"), str(directory / "vocab.json"),
                    model_max_length=512).save_pretrained(directory)
    # MarianConfig's own defaults are twice as wide and deep (355M parameters): every field of the shape is set.
    big = MarianConfig(vocab_size=58_101, d_model=512, encoder_layers=6, decoder_layers=6, encoder_attention_heads=8,
                       decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
                       max_position_embeddings=512, pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad,
                       forced_eos_token_id=0)
    model = MarianMTModel(big)
    # The random weights must answer in ids the small tokenizer built here can decode (the model's compute
    # stays that of the full vocabulary): the others are ruled out by the bias Marian adds to its logits.
    model.final_logits_bias[:, words:] = -1e9
    model.save_pretrained(directory)
    return directory


def qwen2_5_0_5b(directory: Path) -> Path:
    """Qwen/Qwen2.5-0.5B-Instruct's shape: 24 layers, 896 wide, 151,936-token vocabulary (~494M parameters)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tm.make_qwen2_chat_model(directory)
    small = Qwen2Config.from_pretrained(directory)
    config = Qwen2Config(
        vocab_size=151_936, hidden_size=896, intermediate_size=4_864, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, max_position_embeddings=32_768, tie_word_embeddings=True,
        eos_token_id=small.eos_token_id, pad_token_id=small.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.suppress_tokens = [small.eos_token_id]  # always generate the tokens asked for
    model.save_pretrained(directory)
    return directory


def resnet50(directory: Path) -> Path:
    return tmm.make_torchvision_classifier(directory, "resnet50", "IMAGENET1K_V2")


def ssdlite(directory: Path) -> Path:
    """torchvision's SSDlite320 MobileNet V3 is small enough that the tests' one is its real size."""
    return tiny_detectors.make_ssdlite_detector(directory)


def digit_cnn(directory: Path) -> Path:
    """The digit tab's CNN: the weights the project ships."""
    return ROOT / "assets" / "weights" / "digits-cnn"


def wav2vec2_base(directory: Path) -> Path:
    """facebook/wav2vec2-base-960h's shape: 12 layers, 768 wide, the standard convolutional front end."""
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    tmm.make_wav2vec2_ctc_model(directory)
    small = Wav2Vec2Config.from_pretrained(directory)
    Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=small.vocab_size, pad_token_id=0)).save_pretrained(directory)
    return directory


BUILDERS = {
    "ner": ner_bert_base,
    "sentiment": distilbert_sst2,
    "object_detection": ssdlite,
    "digits": digit_cnn,
    "translation": opus_mt_en_de,
    "image_classification": resnet50,
    "speech_to_text": wav2vec2_base,
    "text_generation": qwen2_5_0_5b,
}


def build_all(directory: Path, tasks=tuple(BUILDERS)) -> dict[str, Path]:
    torch.manual_seed(0)
    return {task: BUILDERS[task](directory / task) for task in tasks}
