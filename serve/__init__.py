"""The hub's own models as a service on Ray Serve: one deployment per task, built from the task records and
loaders the hub runs in-process, answering the Hugging Face Inference API's contract (OpenAI's chat completions
for text generation). `python -m serve.config > serve.yaml && serve run serve.yaml` starts them; the hub then
runs with `--backend all=URL`.

Each task's engine (engines/<task>.py) holds what its worker answers; contract.py turns requests and answers into
HTTP, free of Ray (tests call it directly); workers.py makes deployments of it; config.py writes Serve's config.
Nothing here imports gradio or the tabs (tests/test_layers.py)."""
