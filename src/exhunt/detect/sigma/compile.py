"""Compiling pySigma's rule objects into :class:`CompiledSigmaRule`.

The only module, with the loader, that needs pySigma: a compiled rule (and a cache of them)
loads without it.
"""

from __future__ import annotations

from pathlib import Path

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from exhunt.detect.sigma.locate import error_line, find_line
from exhunt.detect.sigma.metadata import CUSTOM_FIELD, MetadataError, custom_field, rule_info
from exhunt.detect.sigma.regex import RegexError
from exhunt.detect.sigma.rule import CompiledSigmaRule
from exhunt.detect.sigma.translate import TranslationError, translate_rule
from exhunt.exceptions import RuleError

_LOGSOURCE_KEYS = ("product", "category", "service")


def compile_rule(rule: SigmaRule, path: Path, index: int, text: str) -> CompiledSigmaRule:
    """Compile the ``index``-th rule of the file at ``path`` (whose content is ``text``).

    Raises:
        RuleError: naming the file and, where it can be found, the line.
    """
    try:
        custom = custom_field(rule)
        info = rule_info(rule, path, index, custom)
        tree = translate_rule(rule)
        return CompiledSigmaRule(info, path, custom, logsource_of(rule), tree)
    except MetadataError as error:
        line = find_line(text, CUSTOM_FIELD, key=error.key)
        raise RuleError(str(error), str(path), line) from error
    except TranslationError as error:
        line = find_line(text, "detection", token=error.token) if error.token else None
        raise RuleError(str(error), str(path), line) from error
    except RegexError as error:
        raise RuleError(str(error), str(path), find_line(text, "detection")) from error
    except SigmaError as error:
        raise RuleError(sigma_message(error), str(path), error_line(text, error)) from error


def logsource_of(rule: SigmaRule) -> dict[str, str | None]:
    """The rule's log source attributes, lower-cased."""
    values = {key: getattr(rule.logsource, key, None) for key in _LOGSOURCE_KEYS}
    return {key: str(value).lower() if value else None for key, value in values.items()}


def sigma_message(error: Exception) -> str:
    """A pySigma error's message without the file location pySigma appends."""
    return str(error.args[0]) if error.args else type(error).__name__
