"""Errors a person can act on. Their messages are shown in the UI as they are, so they are plain words: texts of
the catalogs in messages/, in the language of whoever reads them."""
from messages import Said, Term, say
from models.registry import TORCHVISION


def quoted(value: object, limit: int = 100) -> str:
    """A client's value as a message may repeat it: cut short, and without what UTF-8 cannot carry (lone
    surrogates), since answers are sent as UTF-8 JSON."""
    return str(value)[:limit].encode("utf-8", "replace").decode("utf-8")


class ModelLoadError(Said, RuntimeError):
    """A model could not be loaded (bad id, corrupt or refused weights...): the catalog text `key` (messages/)
    with `params`. str(error) is the English text, for the log and the command line; `text(language)` says it
    in any catalog language."""

    def __init__(self, key: str, **params):
        super().__init__(say(key, **params))
        self.key, self.params = key, params


class ModelUnavailableError(ModelLoadError):
    """The model is not on this machine and where it comes from (the Hub, download.pytorch.org) cannot be reached."""


def unavailable(task: str, source: str, is_default: bool) -> ModelUnavailableError:
    """The offline guidance: which model is missing, where it comes from, and the three ways to get it."""
    # torchvision's weights come from download.pytorch.org into torch's hub cache, not from the Hugging Face Hub.
    # The folders are named as their defaults are, never as this server has them: clients see these messages.
    if source.startswith(TORCHVISION):
        site, cache = Term("load_site_torchvision"), Term("load_cache_torchvision")
    else:
        site, cache = Term("load_site_hub"), Term("load_cache_hub")
    return ModelUnavailableError("load_unavailable", source=source, site=site, cache=cache, task=task,
                                 target=task if is_default else source)


# What a loader's exception says about the model's files, by the exception's class and words (the libraries
# raise plain OSError, ValueError and RuntimeError for most of these).
_WRONG_KIND_WORDS = ("Unrecognized configuration class", "Unrecognized model", "Missing key(s) in state_dict",
                     "Unexpected key(s) in state_dict", "size mismatch", "does not recognize this architecture")
_MISSING_WORDS = ("does not appear to have a file named", "Can't load", "No such file", "no file named",
                  "Couldn't instantiate the backend tokenizer")
_OUT_OF_MEMORY_WORDS = ("out of memory", "can't allocate memory", "not enough memory")
_CORRUPT_WORDS = ("PytorchStreamReader", "failed reading zip archive", "invalid load key", "Error while deserializing")
_CORRUPT_TYPES = ("SafetensorError", "JSONDecodeError", "UnicodeDecodeError", "UnpicklingError", "EOFError",
                  "BadZipFile", "HeaderTooLarge", "DecodeError")


def load_failure(error: Exception, name: str) -> ModelLoadError:
    """A loader's unexpected exception as the plain words it deserves: the model's files are missing or
    corrupt, it is of another kind, memory ran out, or (anything else) this server has a bug."""
    kind, words = type(error).__name__, str(error)
    if isinstance(error, MemoryError) or kind == "OutOfMemoryError" or any(w in words for w in _OUT_OF_MEMORY_WORDS):
        return ModelLoadError("load_out_of_memory", name=name)
    if isinstance(error, FileNotFoundError) or any(w in words for w in _MISSING_WORDS):
        key = "load_files_missing"
    elif any(w in words for w in _WRONG_KIND_WORDS) or (isinstance(error, KeyError) and "model_type" in words):
        key = "load_wrong_kind"
    elif kind in _CORRUPT_TYPES or any(w in words for w in _CORRUPT_WORDS) or isinstance(error, OSError):
        key = "load_corrupt"
    else:
        key = "load_internal"
    return ModelLoadError(key, name=name, error_type=kind)
