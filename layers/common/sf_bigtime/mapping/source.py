"""Where a stack's mapping comes from: an SSM parameter, a file in the layer, or the bundled default,
with the stack's template parameters (TriggerStages, …) on top.

There is one way to a stack's mapping, :meth:`MappingSource.for_stack`: the worker, ``sf-bigtime check``
and ``sf-bigtime config check`` all use it, so what the operator checks is what the worker runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sf_bigtime.mapping.load import mapping_from_text
from sf_bigtime.mapping.model import Mapping, MappingError

MAPPING_CACHE_SECONDS = 300


def resolve_mapping_path(path: str | Path) -> Path:
    """Relative paths are relative to the folder that holds the ``sf_bigtime`` package: the repository's
    ``layers/common/`` locally, ``/opt/python/`` in Lambda (where the layer's files land)."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    return Path(__file__).resolve().parents[2] / candidate


class MappingSource:
    """The stack's mapping: an SSM parameter (re-read at most every five minutes, through Powertools
    Parameters' cache), a file, or the bundled default; ``overrides`` (from template parameters such as
    TriggerStages) are merged on top. :meth:`load` validates; a changed parameter is validated again and
    an invalid one raises rather than being half-applied.

    ``ssm`` is a boto3 SSM client to read the parameter with (the operator's session); without one,
    Powertools' default client is used (the function's own role in Lambda)."""

    def __init__(
        self,
        parameter: str | None = None,
        file: str | None = None,
        overrides: dict[str, Any] | None = None,
        *,
        max_age: int = MAPPING_CACHE_SECONDS,
        ssm: Any = None,
    ) -> None:
        if parameter and file:
            raise MappingError(
                "settings",
                [
                    (
                        "",
                        "set the mapping's SSM parameter or its file (MAPPING_PARAMETER or "
                        "MAPPING_FILE), not both",
                    )
                ],
            )
        self.parameter, self.file, self.overrides, self.max_age = parameter, file, overrides or {}, max_age
        self.ssm = ssm
        self._provider: Any = None  # Powertools SSMProvider over ``ssm``, made on the first read
        self._text: str | None = None
        self._mapping: Mapping | None = None
        self.read_error: str | None = None  # set when a refresh could not read the parameter

    @classmethod
    def for_stack(
        cls,
        *,
        parameter: str | None = None,
        file: str | None = None,
        trigger_stages: Sequence[str] = (),
        project_url: str | None = None,
        ssm: Any = None,
    ) -> MappingSource:
        """The mapping a stack names: its SSM parameter or file (template parameters MappingParameterName
        and MappingFile; empty means unset), with TriggerStages replacing ``trigger.stages`` and a BigTime
        project URL replacing ``write_back.project_url`` when given."""
        overrides: dict[str, Any] = {}
        if trigger_stages:
            overrides["trigger"] = {"stages": list(trigger_stages), "any_won": False}
        if project_url:
            overrides["write_back"] = {"project_url": project_url}
        return cls(parameter or None, file or None, overrides, ssm=ssm)

    @property
    def name(self) -> str:
        if self.parameter:
            return f"SSM parameter {self.parameter}"
        return f"file {resolve_mapping_path(self.file)}" if self.file else "(bundled default)"

    def load(self) -> Mapping:
        if self.parameter:
            try:
                text = self._read_parameter(self.parameter)
                self.read_error = None
            except MappingError as exc:
                if self._mapping is None:
                    raise
                # SSM unreachable for a moment: keep working with the mapping already validated.
                self.read_error = str(exc)
                return self._mapping
        elif self.file:
            path = resolve_mapping_path(self.file)
            try:
                text = path.read_text(encoding="utf-8") if self._text is None else self._text
            except OSError as exc:
                raise MappingError(self.name, [("", f"cannot be read: {exc.strerror or exc}")]) from None
        else:
            text = ""
        if self._mapping is None or text != self._text:
            self._mapping = mapping_from_text(text, self.name, self.overrides)
            self._text = text
        return self._mapping

    def _read_parameter(self, name: str) -> str:
        from aws_lambda_powertools.utilities.parameters import SSMProvider, get_parameter

        try:
            if self.ssm is None:
                value = get_parameter(name, max_age=self.max_age, decrypt=True)
            else:
                self._provider = self._provider or SSMProvider(boto3_client=self.ssm)
                value = self._provider.get(name, max_age=self.max_age, decrypt=True)
        except Exception as exc:  # GetParameterError wraps ParameterNotFound, AccessDenied, network errors
            cause = exc.__cause__ or exc
            raise MappingError(
                self.name, [("", f"cannot be read: {type(cause).__name__}: {cause}")]
            ) from None
        return str(value)
