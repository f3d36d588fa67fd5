"""Read YAML keeping the line of every key and value (PyYAML's compose keeps `start_mark`)."""

from __future__ import annotations

import yaml

_SCALAR_LOADER = yaml.SafeLoader("")


class LineDict(dict):
    """A mapping that remembers its own line and the line of each key."""

    line: int = 0

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict = {}
        self.duplicates: list[tuple[str, int, int]] = []  # (key, first line, repeat line)

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that remembers its own line and the line of each item."""

    line: int = 0

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class YamlProblem(Exception):
    """The text is not valid YAML; `line` is 1-based."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


def load(text: str):
    """Parse one YAML document into LineDict/LineList/scalars, or raise YamlProblem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or str(exc)
        if exc.context_mark is not None and "end of stream" in message:
            # An unclosed quote or bracket: point at where it was opened, not at the file's end.
            mark, message = exc.context_mark, f"{exc.context}, {message}"
        line = mark.line + 1 if mark else 1
        raise YamlProblem(line, message) from None
    except yaml.YAMLError as exc:  # pragma: no cover - other YAML errors carry no mark
        raise YamlProblem(1, str(exc)) from None
    return None if node is None else _convert(node)


def _convert(node):
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = LineDict(line)
        for key_node, value_node in node.value:
            key = _convert(key_node)
            if isinstance(key, (LineDict, LineList)):
                key = str(key)
            key_line = key_node.start_mark.line + 1
            if key in out:
                out.duplicates.append((key, out.key_lines[key], key_line))
                continue
            out[key] = _convert(value_node)
            out.key_lines[key] = key_line
        return out
    if isinstance(node, yaml.SequenceNode):
        out = LineList(line)
        for item in node.value:
            out.append(_convert(item))
            out.item_lines.append(item.start_mark.line + 1)
        return out
    return _scalar(node)


def _scalar(node: yaml.ScalarNode):
    """Plain YAML 1.2-like scalars: yes/no/on/off stay words, true/false are booleans."""
    tag = node.tag
    if tag.endswith(":bool") and node.value.lower() not in ("true", "false"):
        return node.value
    if tag.endswith((":int", ":float", ":bool", ":null")):
        return _SCALAR_LOADER.construct_object(node)
    return node.value
