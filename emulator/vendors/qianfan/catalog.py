"""The evaluable models every namespace sees (legacy /eval/model/list), fixed by the namespace seed.

Ids follow the vendor's shapes: models `am-...`, versions `amv-...`, each with the deprecated integer id.
Evaluation tasks may name models outside this list (user models the emulator does not track); they are
evaluated under a name derived from their id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from emulator.core.ids import derived_hex

# (model name, source, model type, train type, versions)
PRESETS = (
    ("ERNIE-4.0-8K", "PlatformPreset", 0, "ernieBot_4", ("ERNIE-4.0-8K-0613", "ERNIE-4.0-8K-Latest")),
    ("ERNIE-3.5-8K", "PlatformPreset", 0, "ernieBot", ("ERNIE-3.5-8K-0329", "ERNIE-3.5-8K-0701")),
    ("ERNIE-Speed-128K", "PlatformPreset", 0, "ernieSpeed", ("ERNIE-Speed-128K",)),
    ("ERNIE-Lite-8K", "PlatformPreset", 0, "ernieLite", ("ERNIE-Lite-8K-0922",)),
    ("Llama-2-7b-chat", "PlatformPreset", 0, "llama2-7b", ("Llama-2-7B-Chat",)),
    ("customer-service-sft", "UserCreate", 0, "ernieSpeed", ("V1", "V2", "V3")),
)


@dataclass(frozen=True)
class Version:
    id: str
    int_id: int
    version: str
    model: "Model"


@dataclass(frozen=True)
class Model:
    id: str
    int_id: int
    name: str
    source: str
    model_type: int
    train_type: str
    versions: tuple[Version, ...]


def _short(*key: object) -> str:
    return derived_hex(*key, nbytes=8)[:12]


@lru_cache(maxsize=256)
def models(seed: int) -> tuple[Model, ...]:
    found = []
    for number, (name, source, model_type, train_type, versions) in enumerate(PRESETS):
        model = Model(f"am-{_short(seed, 'model', name)}", 1000 + number, name, source, model_type, train_type, ())
        vs = tuple(Version(f"amv-{_short(seed, 'version', name, v)}", 20000 + number * 10 + i, v, model)
                   for i, v in enumerate(versions))
        object.__setattr__(model, "versions", vs)
        found.append(model)
    return tuple(found)


def find_version(seed: int, ref: str | int) -> Version | None:
    for model in models(seed):
        for version in model.versions:
            if ref in (version.id, version.int_id, str(version.int_id)):
                return version
    return None


def find_model(seed: int, ref: str | int) -> Model | None:
    for model in models(seed):
        if ref in (model.id, model.int_id, str(model.int_id)):
            return model
    return None
