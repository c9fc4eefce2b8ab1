"""Errors a person can act on. Their messages are shown in the UI as they are, so they are plain words."""


class ModelLoadError(RuntimeError):
    """A model could not be loaded (bad id, corrupt or refused weights...)."""


class ModelUnavailableError(ModelLoadError):
    """The model is not on this machine and the Hub cannot be reached."""


def how_to_get(task: str, source: str, is_default: bool) -> str:
    target = task if is_default else source
    return (
        f"The model '{source}' is not on this machine and the Hugging Face Hub cannot be reached "
        f"(no network, or offline mode). To get it: run `python app.py --download {target}` on a machine "
        f"with network and copy its Hugging Face cache (~/.cache/huggingface/hub) here, or point this "
        f"tab at a local copy with `python app.py --model {task}=/path/to/model`."
    )
