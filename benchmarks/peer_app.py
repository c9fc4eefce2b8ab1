"""The app a user would otherwise write, as Gradio's docs show it: one gr.Interface around a transformers pipeline
(a torchvision model for photos), Gradio's default queue. benchmarks/peers.py times the hub against it.

    python benchmarks/peer_app.py --port 7861 --task ner --model DIR

Plain on purpose: it stands for a user's app, not ours. Each function's name is its API name.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import gradio as gr
import numpy as np
import torch


def ner_app(model_dir: str) -> gr.Interface:
    from transformers import pipeline

    recognizer = pipeline("token-classification", model=model_dir, aggregation_strategy="simple")

    def ner(text):
        return {"text": text, "entities": recognizer(text)}

    return gr.Interface(ner, gr.Textbox(), gr.HighlightedText())


def image_classification_app(model_dir: str) -> gr.Interface:
    from safetensors.torch import load_file
    from torchvision.models import ResNet50_Weights, resnet50

    # The directory holds a ResNet-50 state dict (tests/tiny_media_models.py's format); the class names and the
    # preprocessing are those of the weights it stands for.
    weights = ResNet50_Weights.IMAGENET1K_V2
    model = resnet50()
    model.load_state_dict(load_file(Path(model_dir) / "model.safetensors"))
    model.eval()
    preprocess, labels = weights.transforms(), weights.meta["categories"]

    def classify(image):
        with torch.no_grad():
            probabilities = model(preprocess(image).unsqueeze(0))[0].softmax(dim=0)
        return {labels[i]: float(probabilities[i]) for i in range(len(labels))}

    return gr.Interface(classify, gr.Image(type="pil"), gr.Label(num_top_classes=5))


def translation_app(model_dir: str) -> gr.Interface:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    # transformers 5 has no translation pipeline.
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)

    def translate(text):
        inputs = tokenizer(text, return_tensors="pt")
        # The hub's decoding (engines/translation.py), so that both do the same work: 4 beams, and a length bound
        # a random-weight model always reaches.
        output = model.generate(**inputs, num_beams=4, max_new_tokens=3 * inputs["input_ids"].shape[1] + 16)
        return tokenizer.decode(output[0], skip_special_tokens=True)

    return gr.Interface(translate, gr.Textbox(), gr.Textbox())


def speech_to_text_app(model_dir: str) -> gr.Interface:
    from transformers import pipeline

    transcriber = pipeline("automatic-speech-recognition", model=model_dir)

    # Gradio's speech-recognition guide, numpy audio: the pipeline would need ffmpeg to read a file path, and
    # this machine has none.
    def transcribe(audio):
        sample_rate, samples = audio
        if samples.ndim > 1:
            samples = samples.mean(axis=1)
        samples = samples.astype(np.float32)
        samples /= np.max(np.abs(samples))
        return transcriber({"sampling_rate": sample_rate, "raw": samples})["text"]

    return gr.Interface(transcribe, gr.Audio(type="numpy"), gr.Textbox())


APPS = {"ner": ner_app, "image_classification": image_classification_app, "translation": translation_app,
        "speech_to_text": speech_to_text_app}
API_NAMES = {"ner": "/ner", "image_classification": "/classify", "translation": "/translate",
             "speech_to_text": "/transcribe"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--task", choices=APPS, required=True)
    parser.add_argument("--model", required=True, help="the model's directory")
    args = parser.parse_args()
    APPS[args.task](args.model).launch(server_name="127.0.0.1", server_port=args.port)


if __name__ == "__main__":
    main()
