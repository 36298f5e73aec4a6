"""Find the line of a rule file that an error is about.

pySigma reports errors by file only, so the line is looked up in the YAML node tree: the rule
section the error class names (``level``, ``logsource``, ``detection``...) and, inside it, the
first key or value that holds the offending text (a modifier, a field, a quoted value).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

# pySigma error classes named after something other than their section key.
_SECTIONS = {
    "identifier": "id",
    "tag": "tags",
    "modifier": "detection",
    "type": "detection",
    "value": "detection",
    "regularexpression": "detection",
    "placeholder": "detection",
    "condition": "detection",
    "detection": "detection",
}
_QUOTED = re.compile(r"'([^']+)'")
_DUPLICATE = re.compile(r"Duplicate key '(.*)'")


def error_line(text: str, error: Exception) -> int | None:
    """The 1-based line in ``text`` (a rule file) that a pySigma error is about, if found."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        return error.problem_mark.line + 1
    message = str(error.args[0]) if error.args else str(error)
    duplicate = _DUPLICATE.match(message)
    if duplicate:
        return find_line(text, None, key=duplicate.group(1), nth=2)
    section = _section(type(error).__name__, message)
    if section == "detection" and "condition" in message.lower():
        return find_line(text, section, key="condition")
    quoted = _QUOTED.search(message)
    token = quoted.group(1) if quoted else None
    if type(error).__name__ == "SigmaModifierError" and token:
        token = f"|{token}"
    return find_line(text, section, token=token)


def find_line(
    text: str,
    section: str | None,
    *,
    token: str | None = None,
    key: str | None = None,
    nth: int = 1,
) -> int | None:
    """The line of the ``nth`` node under top-level key ``section`` (anywhere when ``None``)
    that is the key ``key`` or holds ``token``; else of ``section`` itself."""
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    for root in documents:
        line = _in_document(root, section, token, key, nth)
        if line is not None:
            return line
    return None


def _in_document(
    root: yaml.Node | None, section: str | None, token: str | None, key: str | None, nth: int
) -> int | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    scope: yaml.Node = root
    section_line = None
    if section is not None:
        for key_node, value_node in root.value:
            if key_node.value == section:
                scope, section_line = value_node, key_node.start_mark.line + 1
                break
        else:
            return None
    if token is None and key is None:
        return section_line
    for node, is_key in _scalars(scope):
        text = str(node.value)
        if (key is not None and is_key and text == key) or (token is not None and token in text):
            nth -= 1
            if nth == 0:
                return node.start_mark.line + 1
    return section_line


def _scalars(node: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, bool]]:
    """Every scalar below ``node`` in document order, flagged when it is a mapping key.

    Aliased nodes are visited once, so recursive or exploding anchors cannot hang the search.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, is_key = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            yield current, is_key
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, False) for item in reversed(current.value))
        elif isinstance(current, yaml.MappingNode):
            for key_node, value_node in reversed(current.value):
                stack.append((value_node, False))
                stack.append((key_node, True))


def _section(class_name: str, message: str) -> str | None:
    if not class_name.startswith("Sigma"):
        return None
    name = class_name.removeprefix("Sigma").removesuffix("Error").lower()
    if name == "modified" and "windash" in message:  # pySigma's windash limit uses this class
        return "detection"
    return _SECTIONS.get(name, name or None)
