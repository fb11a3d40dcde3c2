"""JSON Schema validation of every input document (study, workload, hardware, technology).

Schemas ship inside the package (``archsweep/schemas/<name>.schema.json``) and are used by
the CLI, the Snakemake workflow and the tests alike. All violations of a document are
reported at once, each with file, key path, value and what the schema allows.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsweep.load.document_cache import record_validated, source_digest, validated_marker
from archsweep.spec import job_option_table
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.job_option_table import JOB_OPTION_NAMES, JOB_OPTIONS, schema_fragment

if TYPE_CHECKING:
    import jsonschema
    from referencing import Registry

__all__ = ["load_schema", "validate_document", "format_key_path"]



#: Where the ``training:`` properties sit in the schemas that take a training job (a model file's default job, a
#: study's training entry): the job options' fragments are filled in there (:func:`load_schema`).
_JOB_OPTION_PLACES: dict[str, tuple[str, ...]] = {
    "workload": ("properties", "training", "properties"),
    "study": ("$defs", "training_workload", "properties", "training", "properties"),
}
#: The descriptions that list the job options name them with this placeholder.
_JOB_OPTIONS_MARK = "{job_options}"
_JOB_OPTIONS_MARK_OPTIONAL = "{job_options?}"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the shipped JSON Schema ``name`` (e.g. ``"study"``); the workload and study schemas with the
    training job options' properties filled in from :data:`archsweep.spec.job_option_table.JOB_OPTIONS` (their
    single source: :func:`~archsweep.spec.job_option_table.schema_fragment`)."""
    text = resources.files("archsweep.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    if name in _JOB_OPTION_PLACES:
        text = text.replace(_JOB_OPTIONS_MARK_OPTIONAL, ", ".join(f"{n}?" for n in JOB_OPTION_NAMES))
        text = text.replace(_JOB_OPTIONS_MARK, ", ".join(JOB_OPTION_NAMES))
    schema = json.loads(text)
    if name in _JOB_OPTION_PLACES:
        properties = schema
        for key in _JOB_OPTION_PLACES[name]:
            properties = properties[key]
        properties.update({option.name: schema_fragment(option) for option in JOB_OPTIONS})
    return schema


@cache
def _registry() -> Registry:
    """All shipped schemas (as :func:`load_schema` gives them), addressable by file name (``"$ref":
    "search.schema.json"``)."""
    from referencing import Registry, Resource  # imported by the first check that is not cached
    from referencing.jsonschema import DRAFT202012 as _DRAFT

    resources_ = []
    for entry in resources.files("archsweep.schemas").iterdir():
        if entry.name.endswith(".schema.json"):
            contents = load_schema(entry.name.removesuffix(".schema.json"))
            resources_.append((entry.name, Resource.from_contents(contents, default_specification=_DRAFT)))
    return Registry().with_resources(resources_)


def format_key_path(parts: Any) -> str:
    """``['hardware', 'clock', 'values', 2]`` -> ``hardware.clock.values[2]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed(error: jsonschema.ValidationError) -> str:
    validator, expected = error.validator, error.validator_value
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})] if isinstance(error.instance, dict) else []
        return f"no unknown key {extra}; known keys: {', '.join(allowed)}"
    if validator == "required":
        return f"required key(s) present: {', '.join(expected)}"
    if validator == "enum":
        return "one of " + ", ".join(map(str, expected))
    if validator == "type":
        return f"type {expected}"
    if validator in {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}:
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[validator]
        return f"a number {op} {expected}"
    if validator in {"minItems", "uniqueItems"}:  # an array: the item choices, where the schema lists them
        items = error.schema.get("items", {})
        choices = (" out of " + ", ".join(map(str, items["enum"]))) if isinstance(items, dict) and "enum" in items else ""
        return (f"at least {expected} item(s)" if validator == "minItems" else "each item once") + choices
    if validator in {"maxItems", "minLength", "minProperties"}:
        return f"{validator} {expected}"
    if validator == "pattern":
        return f"text matching {expected}"
    if validator in {"oneOf", "anyOf"}:
        descr = error.schema.get("description")
        return descr or "one of: " + " | ".join(_form(branch) for branch in expected)
    if validator == "not":
        return error.schema.get("description") or "not " + _form(expected)
    if validator == "maxProperties":
        keys = sorted(error.schema.get("properties", {}))
        return f"at most {expected} key(s)" + (f" out of {', '.join(keys)}" if keys else "")
    return error.message


def _form(schema: Any) -> str:
    """A short reading of one schema form for a message: its description, constant, choices, keys or type."""
    if not isinstance(schema, dict):
        return repr(schema)
    if "description" in schema and len(schema["description"]) <= 120:
        return str(schema["description"])
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if "required" in schema and set(schema) <= {"required"}:
        return "with key(s) " + ", ".join(schema["required"])
    if schema.get("type") == "object" or "properties" in schema:
        required = set(schema.get("required", ()))
        keys = [k if k in required else f"{k}?" for k in schema.get("properties", {})]
        return "{" + ", ".join(keys) + "}"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return "(" + " or ".join(_form(branch) for branch in schema[key]) + ")"
    if "type" in schema:
        bounds = [f"{op} {schema[k]}" for k, op in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                                    ("maximum", "<="), ("exclusiveMaximum", "<")) if k in schema]
        return f"{schema['type']}" + (f" {' and '.join(bounds)}" if bounds else "") + (
            f" matching {schema['pattern']}" if "pattern" in schema else "")
    return "the documented form"


def _branch_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For a ``oneOf``/``anyOf`` failure, the errors of the form the document came closest to,
    when they say more than "not one of the forms" (an unknown key, a value outside an enum):
    the branch with the fewest errors, its errors other than missing required keys. Else the
    error itself."""
    if error.validator not in {"oneOf", "anyOf"} or not error.context:
        return [error]
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
    # A branch of another type than the value (the integer form of a count given as text) says nothing
    # about the value: drop it when some branch takes the value's type.
    wrong_type = {k for k, v in branches.items() if any(e.validator in {"type", "const"} and not e.relative_path for e in v)}
    if wrong_type == set(branches):
        return [error]
    branches = {k: v for k, v in branches.items() if k not in wrong_type}
    informative = {k: [e for e in v if e.validator not in {"required", "const", "not"}] for k, v in branches.items()}
    candidates = [k for k, v in informative.items() if v and len(v) == len(branches[k]) - sum(
        e.validator == "required" for e in branches[k])]
    if not candidates:
        return [error]
    best = min(candidates, key=lambda k: (len(branches[k]), k))
    out: list[jsonschema.ValidationError] = []
    for sub in informative[best]:
        out.extend(_branch_errors(sub))
    return out


#: Longest description of a ``oneOf`` / ``anyOf`` that a message about one of its forms quotes.
_MAX_HINT = 600


def _forms_hint(error: jsonschema.ValidationError) -> str:
    """The described forms a value failed to match one of: "(forms: ...)", for an error inside a
    ``oneOf`` / ``anyOf`` branch whose schema describes its forms (empty otherwise)."""
    parent = error.parent
    while parent is not None and parent.validator not in {"oneOf", "anyOf"}:
        parent = parent.parent
    description = parent.schema.get("description", "") if parent is not None and isinstance(parent.schema, dict) else ""
    return f" (forms: {description})" if description and len(description) <= _MAX_HINT else ""


@cache
def _schemas_digest() -> str:
    """What a schema check depends on besides the document: the shipped schemas, the job options' table that
    fills them in, this module and the installed jsonschema (its module file's size and time)."""
    schemas = Path(str(resources.files("archsweep.schemas")))
    origin = find_spec("jsonschema")
    stamp = Path(origin.origin).stat() if origin is not None and origin.origin else None
    installed = f"jsonschema {stamp.st_size} {stamp.st_mtime_ns}" if stamp else "no jsonschema"
    return source_digest((Path(__file__), Path(job_option_table.__file__), *sorted(schemas.glob("*.schema.json"))),
                         installed)


def validate_document(document: Any, schema_name: str, file: str) -> None:
    """Validate ``document`` against schema ``schema_name``; raise with every problem. A pass is remembered in
    :mod:`archsweep.load.document_cache` where it is on, and the same content is not checked again.

    Raises:
        InputError: exactly one problem. InputErrors: several problems.
    """
    marker = validated_marker(document, schema_name, _schemas_digest)
    if marker is not None and marker.is_file():
        return
    _check(document, schema_name, file)
    record_validated(marker)


def _check(document: Any, schema_name: str, file: str) -> None:
    """:func:`validate_document` past the cache."""
    import jsonschema  # ~55 ms: imported by the first check that is not cached

    schema = load_schema(schema_name)
    validator = jsonschema.Draft202012Validator(schema, registry=_registry())
    problems: list[Problem] = []
    value: Any
    errors = [leaf for error in validator.iter_errors(document) for leaf in _branch_errors(error)]
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        key_path = format_key_path(error.absolute_path)
        if error.validator == "required":
            missing = [k for k in error.validator_value if k not in (error.instance or {})]
            key_path = format_key_path([*error.absolute_path, missing[0]]) if missing else key_path
            value = "<missing>"
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            extra = [k for k in error.instance if k not in known]
            key_path = format_key_path([*error.absolute_path, extra[0]]) if extra else key_path
            value = f"<unknown key {extra[0]!r}>" if extra else "<unknown key>"
        elif error.validator in {"minItems", "uniqueItems"} and isinstance(error.instance, list):
            # the array itself (short), shown as repr below
            value = error.instance if len(repr(error.instance)) <= 120 else f"<list of {len(error.instance)} items>"
        elif error.validator == "type" and not error.absolute_path:  # an empty file, a list, a bare value
            value = "<empty document>" if document is None else f"<{type(document).__name__}>"
        else:
            value = error.instance if not isinstance(error.instance, (dict, list)) else f"<{type(error.instance).__name__}>"
        if error.validator == "type" and not error.absolute_path and isinstance(error.schema, dict):
            keys = ", ".join(error.schema.get("required", ()))
            problems.append(Problem(file, key_path, value, f"a YAML mapping (a {schema_name} document"
                                                             + (f" with the keys {keys}, ...)" if keys else ")")))
            continue
        problems.append(Problem(file, key_path, value if isinstance(value, str) and value.startswith("<") else repr(value),
                                _allowed(error) + _forms_hint(error)))
    problems = list(dict.fromkeys(problems))  # two branches of one form can report the same problem
    if len(problems) == 1:
        raise InputError.from_problem(problems[0])
    if problems:
        raise InputErrors(problems)
