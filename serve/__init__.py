"""The hub's own models as a service on Ray Serve: one deployment per task, built from the task records and
loaders the hub runs in-process, answering the Hugging Face Inference API's contract (OpenAI's chat completions
for text generation). `serve run serve/config.yaml` starts them; the hub then runs with `--backend all=URL`.

contract.py holds what each task answers, free of Ray (tests call it directly); workers.py makes deployments
of it."""
