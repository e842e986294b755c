"""Templates of messages: loading (database row or shipped file), validation, rendering.

A message template is a subject, an HTML body and an optional plain-text body, in Django
template syntax. The plain-text part, when not written by hand, is derived from the HTML
*template source* once (links become "label: url"), so each recipient costs two small renders
and the layout (logo, colours, footer) is pasted around the body as a pre-rendered string.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Variable, VariableNode
from django.template.defaulttags import ForNode, IfNode, WithNode
from django.template.loader_tags import ExtendsNode, IncludeNode
from django.utils import translation
from django.utils.translation import gettext as _

from .catalog import sample_context
from .queries import template_source

EMAILS_DIR = Path(__file__).resolve().parent / "templates" / "notifications" / "emails"
LOCALES = ("en", "pt-BR")

# Validation parses with debug engines (errors carry their line); rendering uses plain ones.
_html_engine = Engine(debug=True, autoescape=True)
_text_engine = Engine(debug=True, autoescape=False)
_html_renderer = Engine(autoescape=True)
_text_renderer = Engine(autoescape=False)


class TemplateError(ValueError):
    """A template that cannot be saved: the message says what and on which line."""

    def __init__(self, message: str, part: str = "html", line: int | None = None):
        super().__init__(message)
        self.part = part
        self.line = line


@dataclass(frozen=True)
class Source:
    subject: str
    html: str
    text: str  # "" = derived from the HTML


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str  # the body, without the layout
    text: str


def default_source(key: str, locale: str) -> Source:
    """The template shipped with Assina: ``emails/<key>.<locale>.html`` whose first line is
    ``Subject: ...``; an optional ``.txt`` next to it is the hand-written plain text."""
    path = EMAILS_DIR / f"{key}.{locale}.html"
    text_path = path.with_suffix(".txt")
    return _shipped_source(path, path.stat().st_mtime_ns, text_path.stat().st_mtime_ns if text_path.exists() else None)


@lru_cache(maxsize=128)
def _shipped_source(path: Path, _html_mtime: int, _text_mtime: int | None) -> Source:
    """Read once per version of the files (their modification times are part of the key)."""
    raw = path.read_text(encoding="utf-8")
    first, _sep, body = raw.partition("\n")
    if not first.startswith("Subject:"):
        raise RuntimeError(f"{path} must start with a 'Subject:' line")
    text_path = path.with_suffix(".txt")
    return Source(first[len("Subject:"):].strip(), body.strip() + "\n",
                  text_path.read_text(encoding="utf-8") if text_path.exists() else "")


def html_to_text_source(source: str) -> str:
    """Plain text from an HTML template source (template tags are kept as they are)."""
    out = re.sub(r"(?is)<(style|head|script)\b.*?</\1>", "", source)
    out = re.sub(r'(?is)<a\b[^>]*?href="([^"]*)"[^>]*>(.*?)</a>',
                 lambda m: _link_text(re.sub(r"<[^>]+>", "", m.group(2)).strip(), m.group(1)), out)
    out = re.sub(r"(?i)<br\s*/?>", "\n", out)
    out = re.sub(r"(?i)<li\b[^>]*>", "- ", out)
    out = re.sub(r"(?i)</(p|h[1-6]|div|tr|table|ul|ol)>", "\n\n", out)
    out = re.sub(r"(?i)</li>", "\n", out)
    out = re.sub(r"(?i)</t[dh]>", "  ", out)
    out = re.sub(r"<[^>]+>", "", out)
    out = html_lib.unescape(out)
    lines = [line.strip() for line in out.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _link_text(label: str, url: str) -> str:
    return url if not label or label == url else f"{label}: {url}"


_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


class _Part:
    """One part of a template. A part made only of text and plain ``{{ a.b }}`` variables (most
    campaigns) is rendered by joining strings, which is what Django would output for string and
    integer values, without its per-node machinery: a campaign to 100,000 customers spends its
    time here. Anything else (tags, filters, other values) is rendered by Django."""

    def __init__(self, source: str, engine: Engine, escape: bool):
        self.template = engine.from_string(source)
        self.escape = escape
        self.pieces = self._plain(self.template.nodelist)

    @staticmethod
    def _plain(nodelist):
        from django.template.base import TextNode

        pieces = []
        for node in nodelist:
            if isinstance(node, TextNode):
                pieces.append(node.s)
            elif isinstance(node, VariableNode) and not node.filter_expression.filters \
                    and isinstance(node.filter_expression.var, Variable) and node.filter_expression.var.lookups:
                pieces.append(node.filter_expression.var.lookups)
            else:
                return None
        return pieces

    def render(self, context: dict) -> str:
        if self.pieces is not None:
            out = []
            append, escape = out.append, self.escape
            for piece in self.pieces:
                if piece.__class__ is str:
                    append(piece)
                    continue
                value = context
                for name in piece:
                    value = value.get(name) if value.__class__ is dict else None
                kind = value.__class__
                if kind is str:
                    append(html_lib.escape(value) if escape else value)
                elif kind is int:
                    append(str(value))
                else:
                    break  # not a plain string or number (a safe string, a list...): Django decides
            else:
                return "".join(out)
        return self.template.render(Context(context, autoescape=self.escape))


class CompiledTemplate:
    """The three parts of a template, parsed once; ``render`` is what each recipient costs."""

    def __init__(self, source: Source):
        self.source = source
        self.subject = _Part(source.subject, _text_renderer, False)
        self.html = _Part(source.html, _html_renderer, True)
        self.text = _Part(source.text or html_to_text_source(source.html), _text_renderer, False)

    def render(self, context: dict) -> Rendered:
        return Rendered(
            " ".join(self.subject.render(context).split()),
            self.html.render(context),
            _BLANK_LINES.sub("\n\n", self.text.render(context)).strip() + "\n",
        )


# --- validation -----------------------------------------------------------------------------

_ALWAYS = {"forloop", "True", "False", "None"}


def validate(key: str, source: Source) -> None:
    """Refuse a template that does not parse, uses a variable the message does not have, or fails
    to render with sample values. Raises ``TemplateError`` naming the part and the line."""
    sample = sample_context(key)
    for part, text, engine in (("subject", source.subject, _text_engine), ("html", source.html, _html_engine),
                               ("text", source.text, _text_engine)):
        if not text:
            continue
        if part == "subject" and "\n" in text.strip():
            raise TemplateError(_("the subject must be a single line"), part, 1)
        try:
            template = engine.from_string(text)
        except TemplateSyntaxError as exc:
            line = getattr(exc, "template_debug", {}).get("line")
            raise TemplateError(_("line %(line)s: %(error)s") % {"line": line or "?", "error": exc}, part, line) from None
        _check_nodes(template.nodelist, dict(sample), part)
        try:
            template.render(Context(sample))
        except Exception as exc:  # noqa: BLE001 - any render failure makes the template unusable
            line = getattr(exc, "template_debug", {}).get("line")
            raise TemplateError(_("line %(line)s: %(error)s") % {"line": line or "?", "error": exc}, part, line) from None


def _check_nodes(nodelist, scope: dict, part: str) -> None:
    for node in nodelist:
        line = getattr(getattr(node, "token", None), "lineno", None)
        if isinstance(node, (IncludeNode, ExtendsNode)) or type(node).__name__ in ("LoadNode", "SsiNode"):
            raise TemplateError(_("line %(line)s: {%% include %%}, {%% extends %%} and {%% load %%} are not allowed in messages")
                                % {"line": line}, part, line)
        if isinstance(node, VariableNode):
            _check_expression(node.filter_expression, scope, part, line)
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                if condition is not None:
                    _check_condition(condition, scope, part, line)
                _check_nodes(body, scope, part)
            continue
        elif isinstance(node, ForNode):
            item = _check_expression(node.sequence, scope, part, line)
            element = item[0] if isinstance(item, list) and item else None
            inner = dict(scope)
            for index, name in enumerate(node.loopvars):
                inner[name] = element[index] if len(node.loopvars) > 1 and isinstance(element, (list, tuple)) else element
            _check_nodes(node.nodelist_loop, inner, part)
            _check_nodes(node.nodelist_empty, scope, part)
            continue
        elif isinstance(node, WithNode):
            inner = dict(scope)
            for name, expression in node.extra_context.items():
                inner[name] = _check_expression(expression, scope, part, line)
            _check_nodes(node.nodelist, inner, part)
            continue
        for attr in getattr(node, "child_nodelists", ()):
            child = getattr(node, attr, None)
            if child:
                _check_nodes(child, scope, part)


def _check_condition(condition, scope: dict, part: str, line: int | None) -> None:
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        _check_expression(value, scope, part, line)
    for side in ("first", "second"):
        child = getattr(condition, side, None)
        if child is not None:
            _check_condition(child, scope, part, line)


def _check_expression(expression: FilterExpression, scope: dict, part: str, line: int | None):
    """Check a variable (and its filters' arguments) exists; returns its sample value if known."""
    for _func, args in expression.filters:
        for is_variable, arg in args:
            if is_variable and isinstance(arg, Variable):
                _check_variable(arg, scope, part, line)
    if isinstance(expression.var, Variable):
        return _check_variable(expression.var, scope, part, line)
    return expression.var


_UNKNOWN = object()


def _check_variable(variable: Variable, scope: dict, part: str, line: int | None):
    if variable.lookups is None:
        return variable.literal
    name = variable.lookups[0]
    if name in _ALWAYS:
        return _UNKNOWN
    if name not in scope:
        raise TemplateError(_("line %(line)s: unknown variable %(name)s") % {"line": line, "name": repr(variable.var)}, part, line)
    value = scope[name]
    for lookup in variable.lookups[1:]:
        if isinstance(value, dict):
            if lookup not in value:
                raise TemplateError(_("line %(line)s: unknown variable %(name)s") % {"line": line, "name": repr(variable.var)},
                                    part, line)
            value = value[lookup]
        else:
            return _UNKNOWN
    return value


# --- templates in use -------------------------------------------------------------------------

def load_source(key: str, locale: str) -> Source:
    """The template in use: the database row when there is one, else the shipped file."""
    # Every producing pass reads its templates (thousands of passes in a simulation).
    row = template_source(key, locale)
    return Source(*row) if row else default_source(key, locale)


@lru_cache(maxsize=256)
def compiled(source: Source) -> CompiledTemplate:
    """Parsing is the costly part of a template, and a source's parse never changes: keyed by
    the text itself, an edited template is parsed anew while the others are reused."""
    return CompiledTemplate(source)


class TemplateCache:
    """Compiled templates for one producing pass (a pass reads each template once)."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, str], CompiledTemplate] = {}

    def get(self, key: str, locale: str) -> CompiledTemplate:
        locale = message_locale(locale)
        found = self._compiled.get((key, locale))
        if found is None:
            found = self._compiled[(key, locale)] = compiled(load_source(key, locale))
        return found


def message_locale(locale: str | None) -> str:
    """One of the message languages for a customer locale ('pt-BR', 'pt', 'en-US'...)."""
    return "pt-BR" if (locale or "").lower().startswith("pt") else "en"


def django_language(locale: str | None) -> str:
    """The Django language code ('pt-br' or 'en') that speaks to a customer of this locale."""
    return "pt-br" if message_locale(locale) == "pt-BR" else "en"


# --- layout -------------------------------------------------------------------------------------

_BODY = "\x00BODY\x00"
_UNSUBSCRIBE = "\x00UNSUBSCRIBE\x00"
_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


def branding() -> dict:
    color = settings.ASSINA_BRAND_COLOR if _COLOR.match(settings.ASSINA_BRAND_COLOR) else "#2563eb"
    return {"name": settings.ASSINA_BUSINESS_NAME, "logo_url": settings.ASSINA_BUSINESS_LOGO_URL,
            "color": color, "url": settings.ASSINA_BASE_URL}


@lru_cache(maxsize=16)
def _layout(locale: str, marketing: bool, brand: tuple) -> tuple[str, str]:
    """The HTML and text layouts in ``locale`` with placeholders for the body and the link."""
    from django.template.loader import render_to_string

    context = {"business": dict(brand), "marketing": marketing, "body": _BODY, "unsubscribe_url": _UNSUBSCRIBE,
               "html_lang": "pt-BR" if locale == "pt-BR" else "en"}
    with translation.override("pt-br" if locale == "pt-BR" else "en"):
        html = render_to_string("notifications/email_layout.html", context)
        text = render_to_string("notifications/email_layout.txt", context)
    return html, text


def layout(locale: str, marketing: bool) -> tuple[list[str], list[str]]:
    """The HTML and text layouts split around the body and the unsubscribe link."""
    html, text = _layout(locale, marketing, tuple(branding().items()))
    return ([p.split(_UNSUBSCRIBE) for p in html.split(_BODY)], [p.split(_UNSUBSCRIBE) for p in text.split(_BODY)])


def wrap(rendered: Rendered, locale: str, *, marketing: bool, unsubscribe_url: str = "", frame=None) -> tuple[str, str]:
    """The full HTML and text of a message: the layout around the rendered body. ``frame`` is
    ``layout(locale, marketing)``, computed once by callers that wrap many messages."""
    html_parts, text_parts = frame or layout(locale, marketing)
    escaped = html_lib.escape(unsubscribe_url)
    return (rendered.html.join(escaped.join(p) for p in html_parts),
            rendered.text.strip().join(unsubscribe_url.join(p) for p in text_parts))
