"""The commands a Markdown guide tells people to run: every ```bash block, split into single commands
(pipelines, ``&&``, ``$( … )`` and ``( … )`` included), with variable assignments and ``export`` removed."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
_SEPARATORS = {"|", "||", "&&", ";", "(", ")", "$("}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# How the guide invokes tools from the repository's own environments.
_ALIASES = {
    ".venv-sam/bin/sam": "sam",
    ".venv/bin/sf-bigtime": "sf-bigtime",
    ".sf-cli/node_modules/.bin/sf": "sf",
}


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    line: str  # the logical line it came from, for messages
    cwd: str  # the directory the guide has `cd`-ed into ("." = repository root)

    @property
    def tool(self) -> str:
        return self.words[0]


def bash_blocks(markdown: str) -> list[str]:
    return _FENCE.findall(markdown)


def logical_lines(block: str) -> list[str]:
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line.replace("$(", " $( "), posix=True, punctuation_chars="|&;()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens: list[str] = []
    for token in lexer:
        if tokens and tokens[-1] == "$" and token == "(":
            tokens[-1] = "$("
        else:
            tokens.append(token)
    return tokens


def commands(markdown: str) -> list[Command]:
    """The commands in order; ``cd`` carries over to later lines and blocks (one terminal session), except
    inside a subshell ``( … )``."""
    found: list[Command] = []
    cwd = Path(".")
    for block in bash_blocks(markdown):
        for line in logical_lines(block):
            here = cwd
            current: list[str] = []
            for token in [*_tokens(line), ";"]:
                if token not in _SEPARATORS:
                    current.append(token)
                    continue
                words = current
                current = []
                if words and words[0] == "export":
                    words = words[1:]
                while words and _ASSIGNMENT.match(words[0]):
                    words = words[1:]
                if not words:
                    continue
                words = [_ALIASES.get(words[0], words[0]), *words[1:]]
                found.append(Command(tuple(words), line, str(here)))
                if words[0] == "cd" and len(words) == 2:
                    here = here.parent if words[1] == ".." else here / words[1]
            if "(" not in line.replace("$(", ""):
                cwd = here
    return found


def flags(words: tuple[str, ...]) -> list[str]:
    """``--name`` and ``-x`` options of a command (``--name=value`` reduced to ``--name``)."""
    return [w.split("=", 1)[0] for w in words[1:] if re.match(r"^--?[A-Za-z]", w)]


def option_values(words: tuple[str, ...], option: str) -> list[str]:
    """The values following ``option`` (an option may take several, up to the next option)."""
    values: list[str] = []
    for i, word in enumerate(words):
        if word == option:
            for value in words[i + 1 :]:
                if value.startswith("-"):
                    break
                values.append(value)
        elif word.startswith(option + "="):
            values.append(word.split("=", 1)[1])
    return values


_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_TOOLS = ("sam ", "aws ", "sf ", "sf-bigtime ", ".venv-sam/bin/sam ", ".venv/bin/sf-bigtime ")


def inline_commands(markdown: str) -> list[Command]:
    """Commands written in running text as inline code (``sam deploy …``) rather than in a bash block."""
    prose = _FENCE.sub("", markdown)
    found: list[Command] = []
    for span in _INLINE.findall(prose):
        if span.startswith(_TOOLS):
            found += [c for c in commands(f"```bash\n{span}\n```\n")]
    return found
